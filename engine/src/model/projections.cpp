// SPDX-License-Identifier: MIT
#include "projections.h"

namespace ftw::model {
namespace {

void addBlockProjections(const ModelConfig& c, std::int64_t layer,
                         std::vector<ProjectionSpec>& specs)
{
    const std::int64_t h = c.hiddenSize;
    auto add = [&](const std::string& prefix, const std::string& kind, std::int64_t in,
                   std::int64_t out, bool bias, bool conv1d) {
        specs.push_back(ProjectionSpec{prefix + std::to_string(layer) + "." + kind, kind, layer, in,
                                       out, bias, conv1d, c.headDim});
    };
    if (c.arch == ArchId::Gpt2) {
        const std::string prefix = "transformer.h.";
        add(prefix, "attn.c_attn", h, 3 * h, true, true);
        add(prefix, "attn.c_proj", h, h, true, true);
        add(prefix, "mlp.c_fc", h, c.intermediateSize, true, true);
        add(prefix, "mlp.c_proj", c.intermediateSize, h, true, true);
        return;
    }
    const std::string prefix = "model.layers.";
    const std::int64_t q = c.numHeads * c.headDim;
    const std::int64_t kv = c.numKvHeads * c.headDim;
    add(prefix, "self_attn.q_proj", h, q, c.hasQkvBias, false);
    add(prefix, "self_attn.k_proj", h, kv, c.hasQkvBias, false);
    add(prefix, "self_attn.v_proj", h, kv, c.hasQkvBias, false);
    add(prefix, "self_attn.o_proj", q, h, c.hasOutputBias, false);
    add(prefix, "mlp.gate_proj", h, c.intermediateSize, c.hasMlpBias, false);
    add(prefix, "mlp.up_proj", h, c.intermediateSize, c.hasMlpBias, false);
    add(prefix, "mlp.down_proj", c.intermediateSize, h, c.hasMlpBias, false);
}

} // namespace

std::vector<ProjectionSpec> projectionSpecs(const ModelConfig& config)
{
    std::vector<ProjectionSpec> specs;
    for (std::int64_t layer = 0; layer < config.numLayers; ++layer) {
        addBlockProjections(config, layer, specs);
    }
    if (!config.tieWordEmbeddings) {
        specs.push_back(ProjectionSpec{"lm_head", "lm_head", -1, config.hiddenSize,
                                       config.vocabSize, false, false});
    }
    return specs;
}

std::int64_t modelParameterCount(const ModelConfig& c)
{
    std::int64_t total = c.vocabSize * c.hiddenSize; // token embeddings
    for (const ProjectionSpec& p : projectionSpecs(c)) {
        total += p.in * p.out + (p.hasBias ? p.out : 0);
    }
    const std::int64_t h = c.hiddenSize;
    if (c.arch == ArchId::Gpt2) {
        total += c.maxPositions * h;      // wpe
        total += c.numLayers * 2 * 2 * h; // ln_1, ln_2 (weight and bias)
        total += 2 * h;                   // ln_f
        return total;
    }
    total += c.numLayers * 2 * h; // input_layernorm, post_attention_layernorm
    if (c.hasQkNorm) {
        total += c.numLayers * 2 * c.headDim;
    }
    total += h; // final norm
    return total;
}

} // namespace ftw::model
