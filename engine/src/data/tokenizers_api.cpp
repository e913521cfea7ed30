// SPDX-License-Identifier: MIT
// The public tokenizer functions of ftw/tokenizers.h over data::Tokenizer.
#include <ftw/tokenizers.h>

#include "tokenizer.h"

#include "core/api_guard.h"

namespace ftw {

Expected<TokenizedText> tokenize(const std::filesystem::path& tokenizerFile, std::string_view text)
{
    return core::captureErrors([&] {
        const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
        TokenizedText result;
        result.ids = tokenizer.encode(text);
        for (const std::int64_t id : result.ids) {
            result.tokens.push_back(tokenizer.idToToken(id));
        }
        return result;
    });
}

} // namespace ftw
