// SPDX-License-Identifier: MIT
#pragma once

#include "dtype.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw::model {

/// The architectures FTW builds. The default value means "not known".
enum class ArchId { Unknown, Llama, Mistral, Qwen2, Qwen3, Gpt2 };

/// The `model_type` of config.json ("llama", "gpt2", ...).
[[nodiscard]] std::string_view archName(ArchId arch);
/// ArchId::Unknown for a model_type FTW does not build.
[[nodiscard]] ArchId parseArch(std::string_view modelType);
[[nodiscard]] std::vector<ArchId> allArchIds();

/// Llama 3's rope_scaling (`"rope_type": "llama3"`).
struct RopeScaling {
    std::string type;
    double factor = 1.0;
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    std::int64_t originalMaxPositions = 8192;

    bool operator==(const RopeScaling&) const = default;
};

/// The hyper-parameters of a decoder, read from config.json and normalised across architectures.
struct ModelConfig {
    ArchId arch = ArchId::Unknown;
    std::int64_t vocabSize = 0;
    std::int64_t hiddenSize = 0;
    std::int64_t intermediateSize = 0;
    std::int64_t numLayers = 0;
    std::int64_t numHeads = 0;
    std::int64_t numKvHeads = 0;
    std::int64_t headDim = 0;
    std::int64_t maxPositions = 0;
    double normEps = 1e-6;      ///< rms_norm_eps, or layer_norm_epsilon for GPT-2
    double ropeTheta = 10000.0; ///< unused by GPT-2
    std::optional<RopeScaling> ropeScaling;
    bool tieWordEmbeddings = false;
    bool hasQkvBias = false;    ///< Qwen2 always; Llama-family `attention_bias`
    bool hasOutputBias = false; ///< o_proj bias (Llama `attention_bias`); GPT-2 always
    bool hasMlpBias = false;
    bool hasQkNorm = false;   ///< Qwen3's per-head RMSNorm of q and k
    std::string hiddenAct;    ///< "silu", "gelu_new", ...
    DType dtype = DType::F32; ///< torch_dtype of the stored weights
    std::optional<std::int64_t> bosTokenId;
    std::vector<std::int64_t> eosTokenIds;

    bool operator==(const ModelConfig&) const = default;
};

/// Parses config.json. Throws Error{ModelFormat} naming the file and the field for an unsupported
/// model_type, a missing or mistyped field, or inconsistent sizes (heads not dividing the hidden
/// size, KV heads not dividing heads).
[[nodiscard]] ModelConfig parseModelConfig(const std::filesystem::path& configPath);
/// The config.json of a model folder. Throws Error{NotFound} naming the folder when it has none,
/// and what parseModelConfig throws otherwise.
[[nodiscard]] ModelConfig readModelFolderConfig(const std::filesystem::path& modelDir);
/// The same from JSON text; `source` names it in errors.
[[nodiscard]] ModelConfig parseModelConfigText(std::string_view json, const std::string& source);

} // namespace ftw::model
