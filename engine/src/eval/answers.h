// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_config.h>

#include <optional>
#include <string>
#include <string_view>

namespace ftw::data {
class Regex;
} // namespace ftw::data

namespace ftw::eval {

/// The answer in `text` for exact-match accuracy (spec: the GSM8K `####` convention, a regular
/// expression, or the first line), trimmed of surrounding white space. std::nullopt when the text
/// holds no answer (no "####", no match). `regex` is used by AnswerExtraction::Regex only: the
/// answer is its first match (use lookarounds, e.g. `(?<=answer: )\d+`, to leave context out).
[[nodiscard]] std::optional<std::string>
extractAnswer(std::string_view text, AnswerExtraction extraction, const data::Regex* regex);

} // namespace ftw::eval
