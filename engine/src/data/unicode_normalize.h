// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace ftw::data {

/// Unicode normalisation forms used by tokenizer.json normalizers.
enum class NormalForm { Unknown, Nfc, Nfd, Nfkc, Nfkd };

/// Normalises UTF-8 text (through ICU). Throws Error{InvalidArgument} for invalid UTF-8.
[[nodiscard]] std::string normalizeUnicode(std::string_view text, NormalForm form);

} // namespace ftw::data
