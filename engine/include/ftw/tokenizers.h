// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ftw {

/// Text as a tokenizer sees it.
struct TokenizedText {
    std::vector<std::int64_t> ids;
    std::vector<std::string> tokens; ///< the vocabulary entry of each id
};

/// Tokenizes UTF-8 `text` (no BOS/EOS) with a Hugging Face tokenizer.json. Returns: NotFound when
/// the file is missing, ModelFormat naming the file and field when it is malformed or unsupported,
/// InvalidArgument when the text is not valid UTF-8.
[[nodiscard]] Expected<TokenizedText> tokenize(const std::filesystem::path& tokenizerFile,
                                               std::string_view text);

} // namespace ftw
