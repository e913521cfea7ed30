// SPDX-License-Identifier: MIT
#include "answers.h"

#include "core/check.h"
#include "data/regex.h"

#include <algorithm>

namespace ftw::eval {
namespace {

std::string_view trim(std::string_view text)
{
    const auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && isSpace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && isSpace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

} // namespace

std::optional<std::string> extractAnswer(std::string_view text, AnswerExtraction extraction,
                                         const data::Regex* regex)
{
    switch (extraction) {
    case AnswerExtraction::Gsm8k: {
        const std::size_t marker = text.rfind("####");
        if (marker == std::string_view::npos) {
            return std::nullopt;
        }
        std::string_view rest = trim(text.substr(marker + 4));
        rest = rest.substr(0, std::min(rest.size(), rest.find('\n')));
        std::string answer(trim(rest));
        std::erase(answer, ',');
        return answer;
    }
    case AnswerExtraction::Regex: {
        FTW_CHECK(regex != nullptr, ErrorCode::InvalidArgument, "regex extraction needs a pattern");
        const auto matches = regex->findAll(text);
        if (matches.empty()) {
            return std::nullopt;
        }
        const auto [begin, end] = matches.front();
        return std::string(trim(text.substr(begin, end - begin)));
    }
    case AnswerExtraction::FirstLine: {
        std::string_view rest = text;
        while (!rest.empty()) {
            const std::size_t newline = rest.find('\n');
            const std::string_view line = trim(rest.substr(0, newline));
            if (!line.empty()) {
                return std::string(line);
            }
            if (newline == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(newline + 1);
        }
        return std::nullopt;
    }
    case AnswerExtraction::Full:
        return std::string(trim(text));
    case AnswerExtraction::None:
        break;
    }
    return std::nullopt;
}

} // namespace ftw::eval
