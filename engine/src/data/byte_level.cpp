// SPDX-License-Identifier: MIT
#include "byte_level.h"

#include <array>
#include <map>

namespace ftw::data {
namespace {

struct ByteTables {
    std::array<char32_t, 256> toChar{};
    std::map<char32_t, unsigned char> toByte;
};

const ByteTables& tables()
{
    static const ByteTables t = [] {
        ByteTables result;
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool isPrintable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            result.toChar[static_cast<std::size_t>(b)] =
                isPrintable ? static_cast<char32_t>(b) : next++;
            result.toByte[result.toChar[static_cast<std::size_t>(b)]] =
                static_cast<unsigned char>(b);
        }
        return result;
    }();
    return t;
}

/// Decodes one UTF-8 character at `i`; returns its length, or 0 when the sequence is invalid.
std::size_t decodeUtf8(std::string_view text, std::size_t i, char32_t& codePoint)
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    if (lead < 0x80) {
        codePoint = lead;
        return 1;
    }
    if ((lead & 0xE0) == 0xC0) {
        length = 2;
        codePoint = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        codePoint = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        codePoint = lead & 0x07;
    } else {
        return 0;
    }
    if (i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return 0;
        }
        codePoint = (codePoint << 6U) | (byte(i + k) & 0x3FU);
    }
    // Reject overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    constexpr std::array<char32_t, 5> kSmallest{0, 0, 0x80, 0x800, 0x10000};
    if (codePoint < kSmallest[length] || (codePoint >= 0xD800 && codePoint <= 0xDFFF) ||
        codePoint > 0x10FFFF) {
        return 0;
    }
    return length;
}

} // namespace

void appendUtf8(std::string& out, char32_t c)
{
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6U));
        out += static_cast<char>(0x80 | (c & 0x3FU));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12U));
        out += static_cast<char>(0x80 | ((c >> 6U) & 0x3FU));
        out += static_cast<char>(0x80 | (c & 0x3FU));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18U));
        out += static_cast<char>(0x80 | ((c >> 12U) & 0x3FU));
        out += static_cast<char>(0x80 | ((c >> 6U) & 0x3FU));
        out += static_cast<char>(0x80 | (c & 0x3FU));
    }
}

std::string bytesToByteLevel(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char b : bytes) {
        appendUtf8(out, tables().toChar[static_cast<unsigned char>(b)]);
    }
    return out;
}

std::optional<std::string> byteLevelToBytes(std::string_view text)
{
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        char32_t c = 0;
        const std::size_t length = decodeUtf8(text, i, c);
        const auto it = length == 0 ? tables().toByte.end() : tables().toByte.find(c);
        if (it == tables().toByte.end()) {
            return std::nullopt;
        }
        out += static_cast<char>(it->second);
        i += length;
    }
    return out;
}

std::vector<std::string> utf8Characters(std::string_view text)
{
    std::vector<std::string> characters;
    std::size_t i = 0;
    while (i < text.size()) {
        char32_t c = 0;
        std::size_t length = decodeUtf8(text, i, c);
        if (length == 0) {
            length = 1;
        }
        characters.emplace_back(text.substr(i, length));
        i += length;
    }
    return characters;
}

} // namespace ftw::data
