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

/// What trainTokenizer() learns from and where it writes.
struct TokenizerTrainingRequest {
    std::filesystem::path dataFile; ///< UTF-8 text, one example a line; blank lines are skipped
    std::filesystem::path outDir;   ///< gets tokenizer.json and tokenizer_config.json (replaced)
    /// Every id: the 256 byte tokens, the merged tokens and the special tokens <|begin_of_text|>,
    /// <|end_of_text|> and <|pad|> (the last three ids).
    std::int64_t vocabSize = 4096;
    /// Drop each line's first field, up to and including its first space (the "Ge1:1 " reference
    /// of a Bible listing); a line with no space is dropped whole.
    bool isDropFirstField = false;
    std::int64_t modelMaxLength = 1024; ///< tokenizer_config.json's model_max_length
};

/// What trainTokenizer() did.
struct TokenizerTrainingReport {
    std::filesystem::path tokenizerFile; ///< <outDir>/tokenizer.json
    std::filesystem::path configFile;    ///< <outDir>/tokenizer_config.json
    std::int64_t vocabSize = 0;          ///< ids, special tokens included
    std::int64_t mergeCount = 0;         ///< merge rules
    std::int64_t specialTokenCount = 0;  ///< added at the end of the ids
    std::int64_t lineCount = 0;          ///< non-blank lines trained on
    std::int64_t corpusBytes = 0;        ///< their UTF-8 bytes, without line breaks
    std::int64_t distinctWords = 0;      ///< distinct pre-tokens counted
    std::int64_t corpusTokens = 0;       ///< the lines encoded by the written file, no BOS
    double trainSeconds = 0.0;           ///< reading, counting and merging
    double totalSeconds = 0.0;           ///< also writing and re-encoding the corpus
};

/// Trains a byte-level BPE tokenizer (GPT-2's pre-tokenizer and byte mapping) on a text file and
/// writes it as a Hugging Face tokenizer.json + tokenizer_config.json, each through a temporary
/// name renamed when complete; then loads the written file and encodes the corpus with it to
/// measure the compression. Deterministic: the same file and settings write the same bytes. Runs
/// on the calling thread (a few seconds for 4 MB). Returns: NotFound when the data file is
/// missing, InvalidArgument naming vocab_size when it is below 256 + 3, or naming the file when it
/// has no text or a line is not UTF-8; Io when the output cannot be written.
[[nodiscard]] Expected<TokenizerTrainingReport>
trainTokenizer(const TokenizerTrainingRequest& request);

} // namespace ftw
