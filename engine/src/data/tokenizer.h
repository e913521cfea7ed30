// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw::data {

/// A Hugging Face `tokenizer.json` with a BPE model: byte-level BPE (GPT-2, Llama 3, Qwen2
/// patterns) and SentencePiece-style BPE with byte fallback (Llama 2, Mistral, TinyLlama); added
/// and special tokens; normalizers Prepend, Replace and Sequence; pre-tokenizers ByteLevel, Split
/// (PCRE2 with Unicode classes), Metaspace and Sequence; decoders ByteLevel, Replace, ByteFallback,
/// Fuse, Strip, Metaspace and Sequence. Immutable once loaded; encode() and decode() are
/// thread-safe.
class Tokenizer {
public:
    /// Throws Error{ModelFormat} naming the file and the field for malformed or unsupported content
    /// (for example a Unigram or WordPiece model), Error{NotFound} when the file is missing.
    static Tokenizer fromFile(const std::filesystem::path& path);
    /// The same from JSON text; `source` names it in errors.
    static Tokenizer fromJsonText(std::string_view json, const std::string& source);

    /// Token ids of `text` (UTF-8), without BOS/EOS. Added tokens in the text become their ids.
    /// Throws Error{InvalidArgument} when the text is not valid UTF-8.
    [[nodiscard]] std::vector<std::int64_t> encode(std::string_view text) const;
    /// Text of `ids`; special tokens are dropped when `skipSpecialTokens`. Unknown ids are skipped.
    [[nodiscard]] std::string decode(const std::vector<std::int64_t>& ids,
                                     bool skipSpecialTokens = false) const;
    /// The pieces that the normalizer and pre-tokenizer make of `text`, as the model sees them
    /// (byte-level characters after a ByteLevel step), without looking for added tokens: what a
    /// BPE trainer counts. Throws Error{InvalidArgument} when the text is not valid UTF-8.
    [[nodiscard]] std::vector<std::string> preTokenize(std::string_view text) const;

    [[nodiscard]] std::optional<std::int64_t> tokenToId(std::string_view token) const;
    /// "" for an id outside the vocabulary.
    [[nodiscard]] std::string idToToken(std::int64_t id) const;
    /// One more than the largest id (vocabulary and added tokens).
    [[nodiscard]] std::int64_t vocabSize() const;
    [[nodiscard]] bool isSpecial(std::int64_t id) const;
    /// The special token a TemplateProcessing post-processor puts first for a single sequence
    /// (Llama 3's <|begin_of_text|>), if it does.
    [[nodiscard]] std::optional<std::int64_t> templateBosId() const;

    /// The BOS id to prepend: from tokenizer_config.json's add_bos_token and bos_token when it
    /// says, else from the post-processor template.
    [[nodiscard]] std::optional<std::int64_t>
    bosIdToAdd(std::optional<bool> addBosToken, const std::optional<std::string>& bosToken) const;

private:
    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl);
    std::shared_ptr<const Impl> m_impl;
};

} // namespace ftw::data
