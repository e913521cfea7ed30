// SPDX-License-Identifier: MIT
#pragma once

#include "layers.h"

#include "model/model_config.h"

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

namespace ftw::nn {

/// Keys and values of past positions, one pair per layer; grows with each forward that gets it.
struct KvCache {
    std::vector<at::Tensor> keys;
    std::vector<at::Tensor> values;

    /// Positions already cached (0 when empty).
    [[nodiscard]] std::int64_t length() const
    {
        return keys.empty() || !keys.front().defined() ? 0 : keys.front().size(2);
    }
};

/// One decoder block of the Llama family (llama, mistral, qwen2, qwen3). Registered names follow
/// the checkpoint: self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm (Qwen3), mlp.{gate,up,down}_proj,
/// input_layernorm, post_attention_layernorm.
class LlamaBlockImpl : public torch::nn::Module {
public:
    explicit LlamaBlockImpl(const model::ModelConfig& config);
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& inverseFrequencies,
                       std::int64_t start, at::Tensor* cacheKeys, at::Tensor* cacheValues);

    std::int64_t numHeads;
    std::int64_t numKvHeads;
    std::int64_t headDim;
    RmsNorm inputLayernorm{nullptr};
    RmsNorm postAttentionLayernorm{nullptr};
    Projection qProj{nullptr};
    Projection kProj{nullptr};
    Projection vProj{nullptr};
    Projection oProj{nullptr};
    RmsNorm qNorm{nullptr};
    RmsNorm kNorm{nullptr};
    Projection gateProj{nullptr};
    Projection upProj{nullptr};
    Projection downProj{nullptr};
};
TORCH_MODULE(LlamaBlock);

/// One GPT-2 block: ln_1, attn.c_attn (fused q/k/v), attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj, all
/// projections stored as Conv1D ([in, out]).
class Gpt2BlockImpl : public torch::nn::Module {
public:
    explicit Gpt2BlockImpl(const model::ModelConfig& config);
    at::Tensor forward(const at::Tensor& hidden, at::Tensor* cacheKeys, at::Tensor* cacheValues);

    std::int64_t numHeads;
    std::int64_t headDim;
    torch::nn::LayerNorm ln1{nullptr};
    torch::nn::LayerNorm ln2{nullptr};
    Projection cAttn{nullptr};
    Projection attnCProj{nullptr};
    Projection cFc{nullptr};
    Projection mlpCProj{nullptr};
};
TORCH_MODULE(Gpt2Block);

/// A causal language model of any supported architecture. Parameter names are the checkpoint's
/// (`model.layers.0.self_attn.q_proj.weight`, `transformer.h.0.attn.c_attn.weight`), so
/// named_parameters() is the file's state dict. Tied embeddings have no separate lm_head.
class DecoderImpl : public torch::nn::Module {
public:
    explicit DecoderImpl(const model::ModelConfig& config);

    /// tokens [batch, seq] (int64) -> logits [batch, seq, vocab]. With a cache, the tokens continue
    /// the cached positions and the cache is extended.
    at::Tensor forward(const at::Tensor& tokens, KvCache* cache = nullptr);
    /// Logits from input embeddings [batch, seq, hidden] given in place of the token embeddings
    /// (Hugging Face's inputs_embeds; GPT-2 still adds its position embeddings). No cache. Used by
    /// HeteroLoRA's SYNFLOW proxy, which feeds all-ones embeddings.
    at::Tensor forwardEmbeddings(const at::Tensor& embeddings);

    /// Names of every linear projection an adapter can wrap, e.g.
    /// "model.layers.3.self_attn.q_proj".
    [[nodiscard]] std::vector<std::string> projectionNames() const;

    [[nodiscard]] const model::ModelConfig& config() const { return m_config; }

    /// Activation checkpointing: when set, training forwards (gradients on, no cache) keep only
    /// each block's input and recompute the block in the backward pass.
    bool isCheckpointingBlocks = false;

private:
    /// The final hidden states from the input embeddings `hidden` [batch, seq, hidden].
    at::Tensor forwardLlama(at::Tensor hidden, KvCache* cache);
    at::Tensor forwardGpt2(at::Tensor hidden, KvCache* cache);
    at::Tensor logitsOf(const at::Tensor& hidden);
    [[nodiscard]] bool shouldCheckpoint(const KvCache* cache) const;

    model::ModelConfig m_config;
    std::shared_ptr<torch::nn::Module> m_body; // "model" (Llama family) or "transformer" (GPT-2)
    torch::nn::Embedding m_embed{nullptr};
    torch::nn::Embedding m_positions{nullptr}; // GPT-2 only
    torch::nn::ModuleList m_layers{nullptr};
    RmsNorm m_norm{nullptr};
    torch::nn::LayerNorm m_lnF{nullptr};
    Projection m_lmHead{nullptr}; // absent when embeddings are tied
    at::Tensor m_inverseFrequencies;
};
TORCH_MODULE(Decoder);

} // namespace ftw::nn
