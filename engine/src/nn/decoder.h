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

#include <memory>
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

/// Optional additions to the residual stream of every pre-LN block, for HeteroLoRA's LoRA-adapted
/// shortcut connections (seed-papers.md 3.5). A block computes
///   h_mid = h_in + Attn(LN1(h_in)),  h_out = h_mid + FFN(LN2(h_mid));
/// with hooks it replaces h_mid by middle(...) before LN2 reads it, and h_out by output(...), so
/// whatever they add enters the residual stream before the next normalisation (with nothing added
/// the model is exactly the base model). No hooks (the default) costs nothing.
class ResidualHooks {
public:
    virtual ~ResidualHooks() = default;
    /// The h_mid of block `layer`: `mid` (h_in + Attn(LN1(h_in))) plus what the hooks add from
    /// `input` (h_in) and `previousMid` (the h_mid of block layer - 1; undefined in block 0).
    virtual at::Tensor middle(std::int64_t layer, const at::Tensor& input,
                              const at::Tensor& previousMid, const at::Tensor& mid) = 0;
    /// The h_out of block `layer`: `output` (h_mid + FFN(LN2(h_mid))) plus what the hooks add
    /// from `input` (h_in) and `mid` (h_mid).
    virtual at::Tensor output(std::int64_t layer, const at::Tensor& input, const at::Tensor& mid,
                              const at::Tensor& output) = 0;
};

/// One block's call into ResidualHooks: the decoder sets the hooks, the layer and the previous
/// block's h_mid; the block leaves its own h_mid in `mid`.
struct ResidualHookCall {
    ResidualHooks* hooks = nullptr;
    std::int64_t layer = 0;
    at::Tensor previousMid;
    at::Tensor mid;
};

/// One decoder block of the Llama family (llama, mistral, qwen2, qwen3). Registered names follow
/// the checkpoint: self_attn.{q,k,v,o}_proj, self_attn.{q,k}_norm (Qwen3), mlp.{gate,up,down}_proj,
/// input_layernorm, post_attention_layernorm.
class LlamaBlockImpl : public torch::nn::Module {
public:
    explicit LlamaBlockImpl(const model::ModelConfig& config);
    /// `hook`, when given, adds the residual hooks' terms (see ResidualHooks).
    /// `rope`: the ropeTable() of the positions of `hidden`.
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& rope, at::Tensor* cacheKeys,
                       at::Tensor* cacheValues, ResidualHookCall* hook = nullptr);
    /// Packs q, k and v, and gate and up, for one product each (nn::packProjections()).
    void packProjections(bool isKeepingValues = true);

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
    /// `hook`, when given, adds the residual hooks' terms (see ResidualHooks).
    at::Tensor forward(const at::Tensor& hidden, at::Tensor* cacheKeys, at::Tensor* cacheValues,
                       ResidualHookCall* hook = nullptr);

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
    /// Packs the projections of each block that read the same input (Llama family: q, k, v and
    /// gate, up) into one buffer each, so that one matrix product computes their base outputs.
    /// Loading a model does it (before reading the weights into the packed buffers); call it again
    /// after moving the decoder to another device. Without `isKeepingValues` the weights of
    /// newly packed projections are left uninitialised.
    void packProjections(bool isKeepingValues = true);

    [[nodiscard]] const model::ModelConfig& config() const { return m_config; }

    /// Activation checkpointing: when set, training forwards (gradients on, no cache) keep only
    /// each block's input and recompute the block in the backward pass.
    bool isCheckpointingBlocks = false;
    /// Additions to every block's residual stream (HeteroLoRA's shortcuts), installed by the
    /// adapter library; null for none. Blocks are not checkpointed while hooks are installed.
    std::shared_ptr<ResidualHooks> residualHooks;

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
