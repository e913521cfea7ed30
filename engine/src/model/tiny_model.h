// SPDX-License-Identifier: MIT
#pragma once

#include "model_config.h"

#include "nn/decoder.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace ftw::model {

/// A tiny config of `arch` for tests and demos: vocabulary 259 (the 256 bytes and three special
/// tokens of tinyTokenizerJson()), hidden 64, 2 layers, 4 heads
/// (2 KV heads where the architecture has GQA), MLP 128, 64 positions. Each architecture keeps its
/// distinguishing features (Qwen2 biases and tied embeddings, Qwen3 q/k norms and head_dim 32,
/// Llama 3 rope scaling, GPT-2 Conv1D and learned positions).
[[nodiscard]] ModelConfig tinyConfig(ArchId arch);

/// config.json text for `config`, with the field names of its architecture.
[[nodiscard]] std::string configJson(const ModelConfig& config);

/// A byte-level BPE tokenizer.json for tiny models: one token per byte (ids 0-255 in byte order, no
/// merges), then <|begin_of_text|> 256, <|end_of_text|> 257 and <|pad|> 258 as special tokens.
[[nodiscard]] std::string tinyTokenizerJson();
/// The matching tokenizer_config.json (BOS added, EOS <|end_of_text|>).
[[nodiscard]] std::string tinyTokenizerConfigJson();

/// How initializeRandom() draws the weights: matrices and embeddings from N(0, weightStd^2), norm
/// weights 1 + N(0, normNoiseStd^2), biases from N(0, biasStd^2).
struct RandomInit {
    double weightStd = 0.08;
    double normNoiseStd = 0.1;
    double biasStd = 0.05;
};

/// The initialisation of a model trained from scratch (Llama's and GPT-2's initializer_range):
/// weights N(0, 0.02^2), norm weights 1, biases 0.
[[nodiscard]] RandomInit pretrainingInit();

/// Fills every parameter with seeded random values. The default (for tests) keeps norm weights
/// near 1 and biases small but non-zero, so that every code path matters.
void initializeRandom(nn::DecoderImpl& decoder, std::uint64_t seed, const RandomInit& init = {});

/// Writes config.json and model.safetensors (f32) of a decoder of `config` with initializeRandom()
/// weights into `dir` (created if needed) through the real writer. Returns the decoder it wrote,
/// in eval mode. Throws Error{Io} when writing fails.
nn::Decoder writeRandomModel(const std::filesystem::path& dir, const ModelConfig& config,
                             std::uint64_t seed, const RandomInit& init = {});

/// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json of a random tiny
/// model of `arch` into `dir` (created if needed) through the real writer. Returns the decoder it
/// wrote.
nn::Decoder writeTinyModel(const std::filesystem::path& dir, ArchId arch, std::uint64_t seed);

} // namespace ftw::model
