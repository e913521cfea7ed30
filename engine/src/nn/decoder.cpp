// SPDX-License-Identifier: MIT
#include "decoder.h"

#include "block_checkpoint.h"

#include <ATen/ATen.h>

#include <memory>

namespace ftw::nn {
namespace {

using model::ArchId;
using model::ModelConfig;

/// An empty module that only groups children under a checkpoint name ("self_attn", "mlp", ...).
std::shared_ptr<torch::nn::Module> group(torch::nn::Module& parent, const std::string& name)
{
    return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

/// [batch, seq, heads * dim] -> [batch, heads, seq, dim]
at::Tensor splitHeads(const at::Tensor& x, std::int64_t heads, std::int64_t dim)
{
    return x.view({x.size(0), x.size(1), heads, dim}).transpose(1, 2);
}

/// [batch, heads, seq, dim] -> [batch, seq, heads * dim]
at::Tensor mergeHeads(const at::Tensor& x)
{
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

/// Appends this step's keys and values to the layer's cache (when there is one) and returns the
/// full keys and values to attend over.
std::pair<at::Tensor, at::Tensor> extendCache(at::Tensor k, at::Tensor v, at::Tensor* cacheKeys,
                                              at::Tensor* cacheValues)
{
    if (cacheKeys == nullptr) {
        return {k, v};
    }
    if (cacheKeys->defined()) {
        k = at::cat({*cacheKeys, k}, 2);
        v = at::cat({*cacheValues, v}, 2);
    }
    *cacheKeys = k;
    *cacheValues = v;
    return {k, v};
}

/// h_mid with the residual hooks' terms (and kept for the next block), or `mid` without hooks.
at::Tensor middleOf(ResidualHookCall* hook, const at::Tensor& input, const at::Tensor& mid)
{
    if (hook == nullptr) {
        return mid;
    }
    hook->mid = hook->hooks->middle(hook->layer, input, hook->previousMid, mid);
    return hook->mid;
}

/// h_out with the residual hooks' terms, or `output` without hooks.
at::Tensor outputOf(ResidualHookCall* hook, const at::Tensor& input, const at::Tensor& mid,
                    const at::Tensor& output)
{
    return hook == nullptr ? output : hook->hooks->output(hook->layer, input, mid, output);
}

/// An embedding table left uninitialised, as the projections are: a checkpoint or an explicit
/// initialisation fills it (torch::nn::Embedding's own N(0, 1) draw would take about a second
/// for a 150k vocabulary, at every load).
torch::nn::Embedding embedding(std::int64_t count, std::int64_t dim)
{
    return torch::nn::Embedding(
        torch::nn::EmbeddingOptions(count, dim)._weight(at::empty({count, dim})));
}

torch::nn::LayerNorm layerNorm(std::int64_t dim, double eps)
{
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

} // namespace

LlamaBlockImpl::LlamaBlockImpl(const ModelConfig& c)
    : numHeads(c.numHeads), numKvHeads(c.numKvHeads), headDim(c.headDim)
{
    const std::int64_t h = c.hiddenSize;
    const WeightLayout linear = WeightLayout::OutIn;
    auto attn = group(*this, "self_attn");
    qProj =
        attn->register_module("q_proj", Projection(h, numHeads * headDim, c.hasQkvBias, linear));
    kProj =
        attn->register_module("k_proj", Projection(h, numKvHeads * headDim, c.hasQkvBias, linear));
    vProj =
        attn->register_module("v_proj", Projection(h, numKvHeads * headDim, c.hasQkvBias, linear));
    oProj =
        attn->register_module("o_proj", Projection(numHeads * headDim, h, c.hasOutputBias, linear));
    if (c.hasQkNorm) {
        qNorm = attn->register_module("q_norm", RmsNorm(headDim, c.normEps));
        kNorm = attn->register_module("k_norm", RmsNorm(headDim, c.normEps));
    }
    auto mlp = group(*this, "mlp");
    gateProj =
        mlp->register_module("gate_proj", Projection(h, c.intermediateSize, c.hasMlpBias, linear));
    upProj =
        mlp->register_module("up_proj", Projection(h, c.intermediateSize, c.hasMlpBias, linear));
    downProj =
        mlp->register_module("down_proj", Projection(c.intermediateSize, h, c.hasMlpBias, linear));
    inputLayernorm = register_module("input_layernorm", RmsNorm(h, c.normEps));
    postAttentionLayernorm = register_module("post_attention_layernorm", RmsNorm(h, c.normEps));
}

at::Tensor LlamaBlockImpl::forward(const at::Tensor& hidden, const at::Tensor& rope,
                                   at::Tensor* cacheKeys, at::Tensor* cacheValues,
                                   ResidualHookCall* hook)
{
    const at::Tensor x = inputLayernorm(hidden);
    at::Tensor q;
    at::Tensor k;
    at::Tensor v;
    if (const auto base = packedBaseForward({qProj.get(), kProj.get(), vProj.get()}, x)) {
        q = qProj->forwardOnBase(x, (*base)[0]);
        k = kProj->forwardOnBase(x, (*base)[1]);
        v = vProj->forwardOnBase(x, (*base)[2]);
    } else {
        q = qProj(x);
        k = kProj(x);
        v = vProj(x);
    }
    q = splitHeads(q, numHeads, headDim);
    k = splitHeads(k, numKvHeads, headDim);
    v = splitHeads(v, numKvHeads, headDim);
    if (qNorm) {
        q = qNorm(q);
        k = kNorm(k);
    }
    q = applyRope(q, rope);
    k = applyRope(k, rope);
    std::tie(k, v) = extendCache(k, v, cacheKeys, cacheValues);
    const at::Tensor attended = oProj(mergeHeads(causalAttention(q, k, v)));
    const at::Tensor mid = middleOf(hook, hidden, hidden + attended);
    const at::Tensor y = postAttentionLayernorm(mid);
    at::Tensor gate;
    at::Tensor up;
    if (const auto base = packedBaseForward({gateProj.get(), upProj.get()}, y)) {
        gate = gateProj->forwardOnBase(y, (*base)[0]);
        up = upProj->forwardOnBase(y, (*base)[1]);
    } else {
        gate = gateProj(y);
        up = upProj(y);
    }
    return outputOf(hook, hidden, mid, mid + downProj(at::silu(gate) * up));
}

void LlamaBlockImpl::packProjections(bool isKeepingValues)
{
    nn::packProjections({qProj.get(), kProj.get(), vProj.get()}, isKeepingValues);
    nn::packProjections({gateProj.get(), upProj.get()}, isKeepingValues);
}

Gpt2BlockImpl::Gpt2BlockImpl(const ModelConfig& c) : numHeads(c.numHeads), headDim(c.headDim)
{
    const std::int64_t h = c.hiddenSize;
    const WeightLayout conv1d = WeightLayout::InOut;
    ln1 = register_module("ln_1", layerNorm(h, c.normEps));
    auto attn = group(*this, "attn");
    cAttn = attn->register_module("c_attn", Projection(h, 3 * h, true, conv1d));
    attnCProj = attn->register_module("c_proj", Projection(h, h, true, conv1d));
    ln2 = register_module("ln_2", layerNorm(h, c.normEps));
    auto mlp = group(*this, "mlp");
    cFc = mlp->register_module("c_fc", Projection(h, c.intermediateSize, true, conv1d));
    mlpCProj = mlp->register_module("c_proj", Projection(c.intermediateSize, h, true, conv1d));
}

at::Tensor Gpt2BlockImpl::forward(const at::Tensor& hidden, at::Tensor* cacheKeys,
                                  at::Tensor* cacheValues, ResidualHookCall* hook)
{
    const std::vector<at::Tensor> qkv = cAttn(ln1(hidden)).chunk(3, -1);
    const at::Tensor q = splitHeads(qkv[0], numHeads, headDim);
    auto [k, v] = extendCache(splitHeads(qkv[1], numHeads, headDim),
                              splitHeads(qkv[2], numHeads, headDim), cacheKeys, cacheValues);
    const at::Tensor mid =
        middleOf(hook, hidden, hidden + attnCProj(mergeHeads(causalAttention(q, k, v))));
    return outputOf(hook, hidden, mid, mid + mlpCProj(geluTanh(cFc(ln2(mid)))));
}

DecoderImpl::DecoderImpl(const ModelConfig& c) : m_config(c)
{
    m_layers = torch::nn::ModuleList();
    if (c.arch == ArchId::Gpt2) {
        m_body = register_module("transformer", std::make_shared<torch::nn::Module>());
        m_embed = m_body->register_module("wte", embedding(c.vocabSize, c.hiddenSize));
        m_positions = m_body->register_module("wpe", embedding(c.maxPositions, c.hiddenSize));
        for (std::int64_t i = 0; i < c.numLayers; ++i) {
            m_layers->push_back(Gpt2Block(c));
        }
        m_body->register_module("h", m_layers);
        m_lnF = m_body->register_module("ln_f", layerNorm(c.hiddenSize, c.normEps));
    } else {
        m_body = register_module("model", std::make_shared<torch::nn::Module>());
        m_embed = m_body->register_module("embed_tokens", embedding(c.vocabSize, c.hiddenSize));
        for (std::int64_t i = 0; i < c.numLayers; ++i) {
            m_layers->push_back(LlamaBlock(c));
        }
        m_body->register_module("layers", m_layers);
        m_norm = m_body->register_module("norm", RmsNorm(c.hiddenSize, c.normEps));
        RopeOptions rope;
        rope.headDim = c.headDim;
        rope.theta = c.ropeTheta;
        if (c.ropeScaling) {
            rope.scalingFactor = c.ropeScaling->factor;
            rope.lowFreqFactor = c.ropeScaling->lowFreqFactor;
            rope.highFreqFactor = c.ropeScaling->highFreqFactor;
            rope.originalMaxPositions = c.ropeScaling->originalMaxPositions;
        }
        m_inverseFrequencies = ropeInverseFrequencies(rope);
    }
    if (!c.tieWordEmbeddings) {
        m_lmHead = register_module(
            "lm_head", Projection(c.hiddenSize, c.vocabSize, false, WeightLayout::OutIn));
    }
}

at::Tensor DecoderImpl::forward(const at::Tensor& tokens, KvCache* cache)
{
    if (cache != nullptr && cache->keys.empty()) {
        cache->keys.resize(static_cast<std::size_t>(m_config.numLayers));
        cache->values.resize(static_cast<std::size_t>(m_config.numLayers));
    }
    const at::Tensor embeddings = m_embed(tokens);
    return logitsOf(m_config.arch == ArchId::Gpt2 ? forwardGpt2(embeddings, cache)
                                                  : forwardLlama(embeddings, cache));
}

at::Tensor DecoderImpl::forwardEmbeddings(const at::Tensor& embeddings)
{
    const at::Tensor hidden = embeddings.to(m_embed->weight.scalar_type());
    return logitsOf(m_config.arch == ArchId::Gpt2 ? forwardGpt2(hidden, nullptr)
                                                  : forwardLlama(hidden, nullptr));
}

at::Tensor DecoderImpl::logitsOf(const at::Tensor& hidden)
{
    return m_lmHead ? m_lmHead(hidden) : at::matmul(hidden, m_embed->weight.t());
}

at::Tensor DecoderImpl::forwardLlama(at::Tensor hidden, KvCache* cache)
{
    const std::int64_t start = cache != nullptr ? cache->length() : 0;
    const at::Tensor rope = ropeTable(m_inverseFrequencies, start, hidden.size(1), hidden.device());
    ResidualHookCall call{residualHooks.get(), 0, {}, {}};
    ResidualHookCall* hook = residualHooks ? &call : nullptr;
    for (std::size_t i = 0; i < m_layers->size(); ++i) {
        at::Tensor* keys = cache != nullptr ? &cache->keys[i] : nullptr;
        at::Tensor* values = cache != nullptr ? &cache->values[i] : nullptr;
        LlamaBlockImpl& block = *m_layers->ptr<LlamaBlockImpl>(i);
        call.layer = static_cast<std::int64_t>(i);
        hidden = shouldCheckpoint(cache) ? checkpointedBlock(block, hidden, rope)
                                         : block.forward(hidden, rope, keys, values, hook);
        call.previousMid = call.mid;
    }
    return m_norm(hidden);
}

at::Tensor DecoderImpl::forwardGpt2(at::Tensor hidden, KvCache* cache)
{
    const std::int64_t start = cache != nullptr ? cache->length() : 0;
    const at::Tensor positions =
        at::arange(start, start + hidden.size(1),
                   at::TensorOptions().dtype(at::kLong).device(hidden.device()));
    hidden = hidden + m_positions(positions);
    ResidualHookCall call{residualHooks.get(), 0, {}, {}};
    ResidualHookCall* hook = residualHooks ? &call : nullptr;
    for (std::size_t i = 0; i < m_layers->size(); ++i) {
        at::Tensor* keys = cache != nullptr ? &cache->keys[i] : nullptr;
        at::Tensor* values = cache != nullptr ? &cache->values[i] : nullptr;
        Gpt2BlockImpl& block = *m_layers->ptr<Gpt2BlockImpl>(i);
        call.layer = static_cast<std::int64_t>(i);
        hidden = shouldCheckpoint(cache) ? checkpointedBlock(block, hidden)
                                         : block.forward(hidden, keys, values, hook);
        call.previousMid = call.mid;
    }
    return m_lnF(hidden);
}

bool DecoderImpl::shouldCheckpoint(const KvCache* cache) const
{
    // The checkpointed recomputation runs a block alone, without the residual hooks' state.
    return isCheckpointingBlocks && !residualHooks && cache == nullptr && is_training() &&
           at::GradMode::is_enabled();
}

void DecoderImpl::packProjections(bool isKeepingValues)
{
    if (m_config.arch == ArchId::Gpt2) {
        return; // c_attn already holds q, k and v in one product
    }
    for (std::size_t i = 0; i < m_layers->size(); ++i) {
        m_layers->ptr<LlamaBlockImpl>(i)->packProjections(isKeepingValues);
    }
}

std::vector<std::string> DecoderImpl::projectionNames() const
{
    std::vector<std::string> names;
    for (const auto& item : named_modules()) {
        if (std::dynamic_pointer_cast<ProjectionImpl>(item.value())) {
            names.push_back(item.key());
        }
    }
    return names;
}

} // namespace ftw::nn
