// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ftw {

struct DatasetPreviewRequest {
    std::filesystem::path dataFile; ///< .jsonl, .json, .csv or .txt
    std::filesystem::path modelDir; ///< optional: its tokenizer gives tokens, masks and counts
    std::string format = "auto";    ///< auto, text, alpaca, prompt-completion, chat
    std::string chatTemplate =
        "auto";    ///< auto (from tokenizer_config.json), chatml, llama3, llama2, mistral, plain
    int limit = 5; ///< examples to return rendered
    std::int64_t maxLength = 512; ///< sequence length for truncation or packing
    bool isPacking = false;
};

/// A run of rendered text that is (or is not) trained on.
struct PreviewSegment {
    std::string text;
    bool isTrained = false;
};

struct PreviewExample {
    std::size_t line = 0;
    std::vector<PreviewSegment> segments;
    std::vector<std::int64_t> ids;       ///< empty without a model
    std::vector<std::uint8_t> isTrained; ///< per id
};

struct DatasetPreview {
    std::string format;       ///< the format used (detected or chosen)
    std::string chatTemplate; ///< the template used for chat records
    std::size_t records = 0;
    std::vector<PreviewExample> examples; ///< the first `limit` records
    bool hasTokens = false;               ///< a model's tokenizer was used
    std::size_t examplesAfterLength = 0;  ///< after truncation or packing, fully masked dropped
    std::size_t truncated = 0;
    std::size_t fullyMasked = 0;
    std::size_t tokens = 0;
    std::size_t trainedTokens = 0;
    std::vector<std::int64_t>
        lengths; ///< token count of each record with something to train on, before truncation
};

/// Reads, renders and (with a model) tokenizes a dataset as training would. Returns: ModelFormat
/// naming the file and line of a malformed row, InvalidConfig for an unknown format or template,
/// NotFound for a missing file.
[[nodiscard]] Expected<DatasetPreview> previewDataset(const DatasetPreviewRequest& request);

} // namespace ftw
