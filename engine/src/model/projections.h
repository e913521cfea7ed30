// SPDX-License-Identifier: MIT
#pragma once

#include "model_config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftw::model {

/// One linear projection of a decoder as config.json alone describes it: the module an adapter
/// wraps, with its shape. The decoder builds exactly these (checked in tests).
struct ProjectionSpec {
    std::string name;        ///< "model.layers.3.self_attn.q_proj", "transformer.h.0.attn.c_attn"
    std::string kind;        ///< the name inside its block: "self_attn.q_proj", "attn.c_attn"
    std::int64_t layer = -1; ///< block index; -1 for lm_head
    std::int64_t in = 0;
    std::int64_t out = 0;
    bool hasBias = false;
    bool conv1d = false; ///< stored as GPT-2's Conv1D, [in, out]
    /// The model's attention head width (head_dim), for methods that work per head (CLOVER).
    std::int64_t headDim = 0;
};

/// Every projection of the blocks in layer order, then lm_head when the embeddings are untied.
[[nodiscard]] std::vector<ProjectionSpec> projectionSpecs(const ModelConfig& config);

/// The number of elements of every weight the decoder holds (embeddings, norms, biases and
/// projections; a tied lm_head counted once), from config.json alone.
[[nodiscard]] std::int64_t modelParameterCount(const ModelConfig& config);

} // namespace ftw::model
