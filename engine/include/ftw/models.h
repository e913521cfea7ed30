// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ftw {

/// One tensor of a model's weights as stored.
struct ModelTensor {
    std::string name;
    std::string dtype; ///< "F32", "BF16", ...
    std::vector<std::int64_t> shape;
};

/// What a model folder holds, read from config.json and the safetensors headers (no weights are
/// loaded, so this is fast for any size).
struct ModelSummary {
    std::filesystem::path folder;
    std::string architecture; ///< config.json model_type: llama, mistral, qwen2, qwen3, gpt2
    std::int64_t vocabSize = 0;
    std::int64_t hiddenSize = 0;
    std::int64_t intermediateSize = 0;
    std::int64_t numLayers = 0;
    std::int64_t numHeads = 0;
    std::int64_t numKvHeads = 0;
    std::int64_t headDim = 0;
    std::int64_t maxPositions = 0;
    bool hasTiedEmbeddings = false;
    std::string configDtype;         ///< torch_dtype: "F32", "F16" or "BF16"
    std::int64_t parameterCount = 0; ///< elements of all stored tensors
    std::int64_t weightBytes = 0;
    int shardCount = 0;
    std::vector<std::string> adapterTargets; ///< projection kinds, e.g. "self_attn.q_proj"
    bool hasTokenizer = false;               ///< tokenizer.json present
    std::vector<ModelTensor> tensors;        ///< sorted by name
};

/// The architectures FTW builds (config.json model_type values).
[[nodiscard]] std::vector<std::string> supportedArchitectures();

/// Reads a Hugging Face model folder's config.json and weight headers. Returns: ModelFormat naming
/// the file and field when something is malformed (pickle-only folders included), NotFound when the
/// folder has no config.json or no weights.
[[nodiscard]] Expected<ModelSummary> inspectModel(const std::filesystem::path& modelDir);

/// The base model an adapter folder names (adapter_config.json's base_model_name_or_path), where
/// that is a model folder here (one holding config.json; a relative path is taken from the
/// working folder). Returns: NotFound naming the file and field when the adapter has no
/// adapter_config.json, names no base model, or names one that is not a folder here (a hub id,
/// another machine's path); ModelFormat when the file is not a JSON object.
[[nodiscard]] Expected<std::filesystem::path>
adapterBaseModel(const std::filesystem::path& adapterDir);

/// Writes a small random model of `architecture` (config.json + model.safetensors) into `outDir`,
/// seeded. Returns: InvalidArgument for an unknown architecture, Io when writing fails.
[[nodiscard]] Status makeTinyModel(const std::filesystem::path& outDir,
                                   std::string_view architecture, std::uint64_t seed);

} // namespace ftw
