// SPDX-License-Identifier: MIT
#pragma once

#include "data/dataset.h"
#include "data/tokenizer.h"

#include <ftw/run_config.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace ftw::train {

/// A dataset file read, rendered and tokenized as a run config says.
struct EncodedDataset {
    std::vector<data::RenderedExample> rendered;  ///< one per record
    std::vector<data::TokenizedExample> examples; ///< after truncation or packing
    data::DatasetStats stats;
    std::int64_t padId = 0;
    std::vector<std::int64_t> bosIds;  ///< what is prepended to each example (empty or one id)
    std::vector<std::int64_t> stopIds; ///< EOS ids of the tokenizer and config.json
};

/// Reads `config.path` with the tokenizer of `modelDir` (tokenizer.json, tokenizer_config.json).
/// Throws Error{ModelFormat} naming the file and line of a bad record, Error{InvalidConfig} when
/// nothing is left to train on.
[[nodiscard]] EncodedDataset encodeDataset(const DataConfig& config,
                                           const std::filesystem::path& modelDir,
                                           const data::Tokenizer& tokenizer,
                                           const std::vector<std::int64_t>& modelEosIds);

/// The seeded train/validation split of the encoded examples (validation capped at
/// config.maxValidationExamples). The same config and seed always give the same split.
struct TrainingSplit {
    std::vector<data::TokenizedExample> train;
    std::vector<data::TokenizedExample> validation;
};
[[nodiscard]] TrainingSplit splitExamples(const EncodedDataset& dataset, const DataConfig& config,
                                          std::uint64_t seed);

/// Right-padded token ids and labels (-100 where the loss does not look) of a micro-batch.
struct Batch {
    at::Tensor inputIds;            ///< [batch, length] int64
    at::Tensor labels;              ///< [batch, length] int64, the ids where trained, else -100
    std::int64_t tokens = 0;        ///< real (non-pad) tokens
    std::int64_t trainedTokens = 0; ///< tokens the loss predicts (trained, not first)
};
[[nodiscard]] Batch collate(std::span<const data::TokenizedExample* const> examples,
                            std::int64_t padId);

/// Sum over the predicted positions of the next-token cross-entropy, in fp32: position t of
/// `logits` [batch, length, vocab] predicts labels[:, t + 1].
[[nodiscard]] at::Tensor sumCrossEntropy(const at::Tensor& logits, const at::Tensor& labels);

/// The example order of `epoch`: a permutation of 0..count-1 drawn from (seed, epoch) alone, so a
/// resumed run sees the same order.
[[nodiscard]] std::vector<std::size_t> epochOrder(std::size_t count, std::uint64_t seed,
                                                  std::int64_t epoch);

} // namespace ftw::train
