// SPDX-License-Identifier: MIT
#include "regex.h"

#include <ftw/error.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>

namespace ftw::data {

struct Regex::Impl {
    pcre2_code* code = nullptr;
    ~Impl() { pcre2_code_free(code); }
};

namespace {

std::string pcre2Message(int code)
{
    std::array<PCRE2_UCHAR, 256> buffer{};
    pcre2_get_error_message(code, buffer.data(), buffer.size());
    return reinterpret_cast<const char*>(buffer.data());
}

} // namespace

Regex::Regex(const std::string& pattern) : m_impl(std::make_unique<Impl>())
{
    int error = 0;
    PCRE2_SIZE offset = 0;
    m_impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (m_impl->code == nullptr) {
        throw Error(ErrorCode::ModelFormat,
                    "the regular expression '" + pattern + "' does not compile at offset " +
                        std::to_string(offset) + ": " + pcre2Message(error));
    }
    pcre2_jit_compile(m_impl->code,
                      PCRE2_JIT_COMPLETE); // optional speed-up; ignored if unavailable
}

Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

std::vector<std::pair<std::size_t, std::size_t>> Regex::findAll(std::string_view text) const
{
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    pcre2_match_data* data = pcre2_match_data_create_from_pattern(m_impl->code, nullptr);
    std::size_t start = 0;
    std::uint32_t options = 0;
    while (start <= text.size()) {
        const int rc = pcre2_match(m_impl->code, reinterpret_cast<PCRE2_SPTR>(text.data()),
                                   text.size(), start, options, data, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) {
            break;
        }
        if (rc < 0) {
            pcre2_match_data_free(data);
            throw Error(ErrorCode::InvalidArgument, "cannot split the text: " + pcre2Message(rc));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
        const std::size_t begin = ovector[0];
        const std::size_t end = ovector[1];
        if (end > begin) {
            matches.emplace_back(begin, end);
            start = end;
            options = PCRE2_NO_UTF_CHECK;
        } else {
            // An empty match: move on by one character (UTF-8 aware) to avoid looping forever.
            std::size_t next = begin + 1;
            while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) {
                ++next;
            }
            start = next;
            options = PCRE2_NO_UTF_CHECK;
        }
    }
    pcre2_match_data_free(data);
    return matches;
}

} // namespace ftw::data
