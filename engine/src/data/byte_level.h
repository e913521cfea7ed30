// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw::data {

/// GPT-2's reversible byte-to-character mapping: printable bytes map to themselves, the others to
/// U+0100 onwards. Byte-level BPE vocabularies are written in these characters.

/// Every byte of `bytes` as its mapped character, UTF-8 encoded.
[[nodiscard]] std::string bytesToByteLevel(std::string_view bytes);

/// The inverse: mapped characters back to bytes; std::nullopt if `text` has a character outside the
/// mapping (or is not valid UTF-8).
[[nodiscard]] std::optional<std::string> byteLevelToBytes(std::string_view text);

/// Appends the UTF-8 encoding of `codePoint`.
void appendUtf8(std::string& out, char32_t codePoint);

/// Splits UTF-8 text into its characters (each a UTF-8 substring). Invalid sequences become single
/// bytes.
[[nodiscard]] std::vector<std::string> utf8Characters(std::string_view text);

} // namespace ftw::data
