// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ftw::data {

/// The special tokens a trained tokenizer gets, in id order after the vocabulary.
inline constexpr const char* kBeginOfTextToken = "<|begin_of_text|>";
inline constexpr const char* kEndOfTextToken = "<|end_of_text|>";
inline constexpr const char* kPadToken = "<|pad|>";

/// How trainByteLevelBpe() trains.
struct BpeTrainingOptions {
    /// Every id of the tokenizer: the 256 byte tokens, the merged tokens and the special tokens.
    std::int64_t vocabSize = 4096;
    std::vector<std::string> specialTokens{kBeginOfTextToken, kEndOfTextToken, kPadToken};
};

/// A trained byte-level BPE vocabulary. Tokens are written in GPT-2's byte-to-character mapping
/// (byte_level.h), as tokenizer.json stores them.
struct BpeVocabulary {
    /// id -> token: the 256 single bytes (id = byte value), then one token per new merge result.
    std::vector<std::string> tokens;
    /// The merges in rank order (first = applied first); each result is in `tokens`.
    std::vector<std::pair<std::string, std::string>> merges;
    /// Special tokens, with ids tokens.size(), tokens.size() + 1, ...
    std::vector<std::string> specialTokens;
    std::int64_t corpusBytes = 0;   ///< UTF-8 bytes of the lines trained on
    std::int64_t corpusTokens = 0;  ///< the training lines' tokens after the last merge
    std::int64_t preTokenCount = 0; ///< pre-tokens (words) in the training lines
    std::int64_t distinctWords = 0; ///< distinct pre-tokens

    /// tokens.size() + specialTokens.size().
    [[nodiscard]] std::int64_t size() const;
};

/// Trains GPT-2-style byte-level BPE on `lines` (UTF-8 text, one example each; no newline needed):
/// each line is split by the ByteLevel pre-tokenizer that the written tokenizer.json names (FTW's
/// Tokenizer does the splitting, so training and encoding agree), the pre-tokens are counted, and
/// the most frequent adjacent pair is merged until the vocabulary has `vocabSize` ids or no pair
/// is left. Ties go to the pair whose tokens come first in byte order (left token, then right), so
/// the same lines always give the same vocabulary. Pair counts are kept incrementally with a
/// pair -> words index.
/// Throws Error{InvalidArgument} naming `vocab_size` when it is below 256 + the special tokens,
/// when the lines hold no text, and when a line is not valid UTF-8 (naming the line, 1-based).
[[nodiscard]] BpeVocabulary trainByteLevelBpe(const std::vector<std::string>& lines,
                                              const BpeTrainingOptions& options);

/// The Hugging Face tokenizer.json of `vocabulary`: a BPE model, the ByteLevel pre-tokenizer and
/// decoder, the special tokens as added tokens and a TemplateProcessing post-processor that puts
/// the first special token (<|begin_of_text|>) before every sequence, as Llama 3's does.
[[nodiscard]] std::string tokenizerJson(const BpeVocabulary& vocabulary);

/// Its tokenizer_config.json: bos/eos/pad (the first, second and third special tokens, where
/// there are that many), model_max_length, tokenizer_class PreTrainedTokenizerFast.
[[nodiscard]] std::string tokenizerConfigJson(const BpeVocabulary& vocabulary,
                                              std::int64_t modelMaxLength);

/// Writes tokenizer.json and tokenizer_config.json into `dir` (created if missing; files there are
/// replaced), each through a temporary name that is renamed when complete. Throws Error{Io}.
void writeTokenizerFiles(const std::filesystem::path& dir, const BpeVocabulary& vocabulary,
                         std::int64_t modelMaxLength);

} // namespace ftw::data
