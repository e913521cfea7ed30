// SPDX-License-Identifier: MIT
#pragma once

#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw::data {

/// How the records of a dataset are read. Auto (the default) detects it from the first record.
enum class DatasetFormat { Auto, Text, Alpaca, PromptCompletion, Chat };
/// How chat messages become text. Auto picks from tokenizer_config.json's chat_template.
enum class ChatTemplate { Auto, ChatMl, Llama3, Llama2, Mistral, Plain };

[[nodiscard]] std::string_view datasetFormatName(DatasetFormat format);
/// "auto", "text", "alpaca", "prompt-completion", "chat"; throws Error{InvalidConfig} otherwise.
[[nodiscard]] DatasetFormat parseDatasetFormat(std::string_view name);
[[nodiscard]] std::string_view chatTemplateName(ChatTemplate chatTemplate);
/// "auto", "chatml", "llama3", "llama2", "mistral", "plain"; throws Error{InvalidConfig} otherwise.
[[nodiscard]] ChatTemplate parseChatTemplate(std::string_view name);
/// The family of a Jinja chat_template text (Plain when it is empty or unrecognised).
[[nodiscard]] ChatTemplate detectChatTemplate(std::string_view jinjaTemplate);

/// Field names in the records, for files whose columns are named differently.
struct ColumnMapping {
    std::string text = "text";
    std::string instruction = "instruction";
    std::string input = "input";
    std::string output = "output";
    std::string prompt = "prompt";
    std::string completion = "completion";
    std::string messages = "messages";
    std::string role = "role";
    std::string content = "content";
};

/// One record of a dataset file and the line (or array item) it came from.
struct SourceRecord {
    nlohmann::json fields;
    std::size_t line = 0;
};

/// A piece of rendered text, trained on or not (prompts and user turns are not, by default).
struct Segment {
    std::string text;
    bool isTrained = false;
};

struct RenderedExample {
    std::vector<Segment> segments;
    bool shouldAppendEos = true; ///< chat templates end turns with their own tokens
    std::size_t line = 0;
};

/// Reads `.jsonl`, `.json` (an array of objects), `.csv` (a header row) or `.txt` (one record per
/// non-empty line). Throws Error{ModelFormat} naming the file and line for a malformed row,
/// Error{InvalidConfig} for another extension, Error{NotFound} for a missing file.
[[nodiscard]] std::vector<SourceRecord> readRecords(const std::filesystem::path& file);

/// The format the fields of `record` fit. Throws Error{ModelFormat} naming the file, the line and
/// the fields found when none fits.
[[nodiscard]] DatasetFormat detectFormat(const SourceRecord& record, const ColumnMapping& columns,
                                         const std::filesystem::path& file);

/// Renders a record as segments. Throws Error{ModelFormat} naming the file, line and field when a
/// field the format needs is missing or not text.
[[nodiscard]] RenderedExample renderExample(const SourceRecord& record, DatasetFormat format,
                                            const ColumnMapping& columns, ChatTemplate chatTemplate,
                                            const std::filesystem::path& file);

struct EncodeOptions {
    std::int64_t maxLength = 512;
    bool isPacking = false;            ///< concatenate examples and cut into maxLength chunks
    bool isCompletionOnly = true;      ///< train only on trained segments (else on every token)
    std::optional<std::int64_t> bosId; ///< prepended to each example when set
    std::optional<std::int64_t> eosId; ///< appended (trained) when the example asks for it
};

struct TokenizedExample {
    std::vector<std::int64_t> ids;
    std::vector<std::uint8_t> isTrained; ///< 1 where the loss covers the token
    std::size_t line = 0;
};

struct DatasetStats {
    std::size_t records = 0;
    std::size_t examples = 0;    ///< after truncation or packing, without the fully masked ones
    std::size_t truncated = 0;   ///< examples cut at maxLength
    std::size_t fullyMasked = 0; ///< examples dropped because no trained token was left
    std::size_t tokens = 0;
    std::size_t trainedTokens = 0;
};

/// Tokenizes rendered examples, applies the loss mask, truncates or packs to maxLength, drops
/// examples with nothing to train on, and counts what happened in `stats`.
[[nodiscard]] std::vector<TokenizedExample>
encodeExamples(const std::vector<RenderedExample>& examples, const Tokenizer& tokenizer,
               const EncodeOptions& options, DatasetStats& stats);

/// A deterministic train/validation split of `count` items: the same seed gives the same split.
struct SplitIndices {
    std::vector<std::size_t> train;
    std::vector<std::size_t> validation;
};
[[nodiscard]] SplitIndices splitIndices(std::size_t count, double validationRatio,
                                        std::uint64_t seed);

} // namespace ftw::data
