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

/// Fills every parameter with seeded random values (norm weights near 1, biases small but non-zero,
/// so that every code path matters).
void initializeRandom(nn::DecoderImpl& decoder, std::uint64_t seed);

/// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json of a random tiny
/// model of `arch` into `dir` (created if needed) through the real writer. Returns the decoder it
/// wrote.
nn::Decoder writeTinyModel(const std::filesystem::path& dir, ArchId arch, std::uint64_t seed);

} // namespace ftw::model
