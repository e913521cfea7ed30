// SPDX-License-Identifier: MIT
#include "reparam.h"

#include "core/check.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>
#include <map>
#include <string>

namespace ftw::clover {
namespace {

using model::ArchId;

/// The four attention projections of one layer; GPT-2's fused c_attn serves as q, k and v at
/// offsets 0, D and 2D.
struct LayerAccess {
    nn::ProjectionImpl* q = nullptr;
    std::int64_t qOffset = 0;
    nn::ProjectionImpl* k = nullptr;
    std::int64_t kOffset = 0;
    nn::ProjectionImpl* v = nullptr;
    std::int64_t vOffset = 0;
    nn::ProjectionImpl* o = nullptr;
};

std::vector<LayerAccess> layerAccess(nn::DecoderImpl& decoder)
{
    std::map<std::string, nn::ProjectionImpl*> byName;
    for (const auto& item : decoder.named_modules()) {
        if (auto* p = dynamic_cast<nn::ProjectionImpl*>(item.value().get())) {
            byName.emplace(item.key(), p);
        }
    }
    const model::ModelConfig& c = decoder.config();
    auto find = [&](const std::string& name) {
        const auto it = byName.find(name);
        FTW_CHECK(it != byName.end(), ErrorCode::Internal,
                  "clover: the decoder has no projection '" + name + "'");
        return it->second;
    };
    std::vector<LayerAccess> layers;
    for (std::int64_t i = 0; i < c.numLayers; ++i) {
        LayerAccess a;
        if (c.arch == ArchId::Gpt2) {
            const std::string prefix = "transformer.h." + std::to_string(i) + ".attn.";
            a.q = a.k = a.v = find(prefix + "c_attn");
            a.kOffset = c.hiddenSize;
            a.vOffset = 2 * c.hiddenSize;
            a.o = find(prefix + "c_proj");
        } else {
            const std::string prefix = "model.layers." + std::to_string(i) + ".self_attn.";
            a.q = find(prefix + "q_proj");
            a.k = find(prefix + "k_proj");
            a.v = find(prefix + "v_proj");
            a.o = find(prefix + "o_proj");
        }
        layers.push_back(a);
    }
    return layers;
}

at::Tensor zeroDropped(const at::Tensor& factor, const at::Tensor& keep)
{
    return keep.defined() ? factor * keep.to(at::kDouble).unsqueeze(0) : factor;
}

const at::Tensor& keptOrUndefined(const std::vector<std::vector<at::Tensor>>& kept,
                                  std::size_t layer, std::size_t head)
{
    static const at::Tensor none;
    return kept.empty() ? none : kept.at(layer).at(head);
}

} // namespace

QkPath qkPathOf(const model::ModelConfig& config)
{
    // Only absolute positions leave nothing between Q and K (2.6); RoPE and q/k norms do not.
    return config.arch == ArchId::Gpt2 && !config.hasQkNorm ? QkPath::Absorbed : QkPath::KeyQr;
}

VoPath voPathOf(const model::ModelConfig& config)
{
    return config.numKvHeads == config.numHeads ? VoPath::Absorbed : VoPath::ValueQr;
}

at::Tensor outputColumns(const nn::ProjectionImpl& p, std::int64_t start, std::int64_t width,
                         bool withBias)
{
    const torch::NoGradGuard noGrad;
    at::Tensor columns = p.weightOutIn().narrow(0, start, width).t().to(at::kDouble);
    if (withBias && p.bias.defined()) {
        columns = at::cat({columns, p.bias.narrow(0, start, width).to(at::kDouble).unsqueeze(0)});
    }
    return columns.contiguous();
}

void setOutputColumns(nn::ProjectionImpl& p, std::int64_t start, const at::Tensor& factor)
{
    const torch::NoGradGuard noGrad;
    const std::int64_t width = factor.size(1);
    const bool hasBiasRow = factor.size(0) == p.inFeatures + 1;
    FTW_CHECK(factor.size(0) == p.inFeatures || (hasBiasRow && p.bias.defined()),
              ErrorCode::Internal, "clover: a head factor does not fit its projection");
    p.weightOutIn()
        .narrow(0, start, width)
        .copy_(factor.narrow(0, 0, p.inFeatures).t().to(p.weight.scalar_type()));
    if (hasBiasRow) {
        p.bias.narrow(0, start, width).copy_(factor[p.inFeatures].to(p.bias.scalar_type()));
    }
}

at::Tensor inputRows(const nn::ProjectionImpl& p, std::int64_t start, std::int64_t width)
{
    const torch::NoGradGuard noGrad;
    return p.weightOutIn().narrow(1, start, width).t().to(at::kDouble).contiguous();
}

void setInputRows(nn::ProjectionImpl& p, std::int64_t start, const at::Tensor& rows)
{
    const torch::NoGradGuard noGrad;
    p.weightOutIn().narrow(1, start, rows.size(0)).copy_(rows.t().to(p.weight.scalar_type()));
}

ModelDecomposition decompose(nn::DecoderImpl& decoder)
{
    const model::ModelConfig& c = decoder.config();
    ModelDecomposition result;
    result.qkPath = qkPathOf(c);
    result.voPath = voPathOf(c);
    result.numHeads = c.numHeads;
    result.numKvHeads = c.numKvHeads;
    result.headDim = c.headDim;
    result.hiddenSize = c.hiddenSize;
    result.hasQkvBias = c.hasQkvBias || c.arch == ArchId::Gpt2;
    const std::int64_t d = c.headDim;
    for (const LayerAccess& a : layerAccess(decoder)) {
        LayerDecomposition layer;
        if (result.qkPath == QkPath::Absorbed) {
            for (std::int64_t h = 0; h < c.numHeads; ++h) {
                layer.qk.push_back(absorbDecompose(outputColumns(*a.q, a.qOffset + h * d, d),
                                                   outputColumns(*a.k, a.kOffset + h * d, d)));
            }
        } else {
            for (std::int64_t g = 0; g < c.numKvHeads; ++g) {
                layer.keys.push_back(thinQr(outputColumns(*a.k, a.kOffset + g * d, d)));
            }
        }
        if (result.voPath == VoPath::Absorbed) {
            for (std::int64_t h = 0; h < c.numHeads; ++h) {
                layer.vo.push_back(absorbDecompose(outputColumns(*a.v, a.vOffset + h * d, d),
                                                   inputRows(*a.o, h * d, d).t()));
            }
        } else {
            for (std::int64_t g = 0; g < c.numKvHeads; ++g) {
                layer.values.push_back(thinQr(outputColumns(*a.v, a.vOffset + g * d, d)));
            }
            for (std::int64_t h = 0; h < c.numHeads; ++h) {
                layer.outputHeads.push_back(inputRows(*a.o, h * d, d));
            }
        }
        result.layers.push_back(std::move(layer));
    }
    return result;
}

void writeFolded(nn::DecoderImpl& decoder, const ModelDecomposition& dec,
                 const KeptDirections& kept)
{
    const std::vector<LayerAccess> access = layerAccess(decoder);
    FTW_CHECK(access.size() == dec.layers.size(), ErrorCode::InvalidArgument,
              "clover: the decomposition was made for another model");
    const std::int64_t d = dec.headDim;
    const std::int64_t groupSize = dec.numHeads / dec.numKvHeads;
    for (std::size_t i = 0; i < access.size(); ++i) {
        const LayerAccess& a = access[i];
        const LayerDecomposition& layer = dec.layers[i];
        for (std::size_t h = 0; h < layer.qk.size(); ++h) {
            const ThinSvd& svd = layer.qk[h];
            const at::Tensor root = svd.s.sqrt().unsqueeze(0);
            const at::Tensor& keep = keptOrUndefined(kept.qk, i, h);
            const auto offset = static_cast<std::int64_t>(h) * d;
            setOutputColumns(*a.q, a.qOffset + offset, zeroDropped(svd.u * root, keep));
            setOutputColumns(*a.k, a.kOffset + offset, zeroDropped(svd.v * root, keep));
        }
        for (std::size_t g = 0; g < layer.keys.size(); ++g) {
            const ThinQr& qr = layer.keys[g];
            setOutputColumns(*a.k, a.kOffset + static_cast<std::int64_t>(g) * d,
                             at::matmul(qr.q, qr.r));
        }
        for (std::size_t h = 0; h < layer.vo.size(); ++h) {
            const ThinSvd& svd = layer.vo[h];
            const at::Tensor& keep = keptOrUndefined(kept.vo, i, h);
            const auto offset = static_cast<std::int64_t>(h) * d;
            setOutputColumns(*a.v, a.vOffset + offset,
                             zeroDropped(svd.u * svd.s.unsqueeze(0), keep));
            setInputRows(*a.o, offset, zeroDropped(svd.v, keep).t());
        }
        for (std::size_t g = 0; g < layer.values.size(); ++g) {
            const ThinQr& qr = layer.values[g];
            setOutputColumns(*a.v, a.vOffset + static_cast<std::int64_t>(g) * d, qr.q);
            for (std::int64_t j = 0; j < groupSize; ++j) {
                const auto h = static_cast<std::int64_t>(g) * groupSize + j;
                setInputRows(*a.o, h * d,
                             at::matmul(qr.r, layer.outputHeads.at(static_cast<std::size_t>(h))));
            }
        }
    }
}

KeptDirections cloverKept(const ModelDecomposition& dec, const PruneOptions& options)
{
    const bool byRatio = options.ratio > 0.0;
    const bool byThreshold = options.threshold > 0.0;
    FTW_CHECK(byRatio != byThreshold, ErrorCode::InvalidArgument,
              "clover pruning takes either a ratio or a threshold (exactly one, > 0)");
    FTW_CHECK(!byRatio || options.ratio < 1.0, ErrorCode::InvalidArgument,
              "clover pruning ratio must be in (0, 1), not " + std::to_string(options.ratio));
    FTW_CHECK(std::isfinite(options.threshold), ErrorCode::InvalidArgument,
              "clover pruning threshold must be a finite number");
    FTW_CHECK(dec.qkPath == QkPath::Absorbed || dec.voPath == VoPath::Absorbed,
              ErrorCode::InvalidArgument,
              "clover pruning needs an absorbed pair, and this model has none: RoPE (or a q/k "
              "norm) forbids absorbing Q-K and grouped-query attention forbids absorbing V-O");
    const auto removed =
        static_cast<std::int64_t>(std::llround(options.ratio * static_cast<double>(dec.headDim)));
    auto keepOf = [&](const ThinSvd& svd) {
        if (byThreshold) {
            return svd.s > options.threshold;
        }
        // S is descending: keep the first d - removed.
        return at::arange(svd.s.size(0), at::kLong) < (svd.s.size(0) - removed);
    };
    KeptDirections kept;
    for (const LayerDecomposition& layer : dec.layers) {
        std::vector<at::Tensor> qk;
        std::vector<at::Tensor> vo;
        for (const ThinSvd& svd : layer.qk) {
            qk.push_back(keepOf(svd));
        }
        for (const ThinSvd& svd : layer.vo) {
            vo.push_back(keepOf(svd));
        }
        kept.qk.push_back(std::move(qk));
        kept.vo.push_back(std::move(vo));
    }
    return kept;
}

namespace {

/// Keeps the `count` entries with the largest score (bool [n]).
at::Tensor keepLargest(const at::Tensor& score, std::int64_t count)
{
    at::Tensor keep = at::zeros({score.size(0)}, at::kBool);
    if (count > 0) {
        const at::Tensor top = std::get<1>(score.topk(count));
        keep.index_fill_(0, top, true);
    }
    return keep;
}

std::int64_t keptCount(const at::Tensor& keep)
{
    return keep.sum().item<std::int64_t>();
}

} // namespace

KeptDirections vanillaKept(nn::DecoderImpl& decoder, const ModelDecomposition& dec,
                           const KeptDirections& clover)
{
    const std::vector<LayerAccess> access = layerAccess(decoder);
    const std::int64_t d = dec.headDim;
    KeptDirections kept;
    for (std::size_t i = 0; i < access.size(); ++i) {
        const LayerAccess& a = access[i];
        std::vector<at::Tensor> qk;
        std::vector<at::Tensor> vo;
        if (!clover.qk.empty()) {
            for (std::size_t h = 0; h < clover.qk.at(i).size(); ++h) {
                const auto offset = static_cast<std::int64_t>(h) * d;
                const at::Tensor score = outputColumns(*a.q, a.qOffset + offset, d).norm(2, {0}) *
                                         outputColumns(*a.k, a.kOffset + offset, d).norm(2, {0});
                qk.push_back(keepLargest(score, keptCount(clover.qk[i][h])));
            }
        }
        if (!clover.vo.empty()) {
            for (std::size_t h = 0; h < clover.vo.at(i).size(); ++h) {
                const auto offset = static_cast<std::int64_t>(h) * d;
                const at::Tensor score = outputColumns(*a.v, a.vOffset + offset, d).norm(2, {0}) *
                                         inputRows(*a.o, offset, d).norm(2, {1});
                vo.push_back(keepLargest(score, keptCount(clover.vo[i][h])));
            }
        }
        kept.qk.push_back(std::move(qk));
        kept.vo.push_back(std::move(vo));
    }
    return kept;
}

void writeVanillaPruned(nn::DecoderImpl& decoder, const ModelDecomposition& dec,
                        const KeptDirections& kept)
{
    const std::vector<LayerAccess> access = layerAccess(decoder);
    const std::int64_t d = dec.headDim;
    for (std::size_t i = 0; i < access.size(); ++i) {
        const LayerAccess& a = access[i];
        for (std::size_t h = 0; !kept.qk.empty() && h < kept.qk.at(i).size(); ++h) {
            const auto offset = static_cast<std::int64_t>(h) * d;
            const at::Tensor& keep = kept.qk[i][h];
            setOutputColumns(*a.q, a.qOffset + offset,
                             zeroDropped(outputColumns(*a.q, a.qOffset + offset, d), keep));
            setOutputColumns(*a.k, a.kOffset + offset,
                             zeroDropped(outputColumns(*a.k, a.kOffset + offset, d), keep));
        }
        for (std::size_t h = 0; !kept.vo.empty() && h < kept.vo.at(i).size(); ++h) {
            const auto offset = static_cast<std::int64_t>(h) * d;
            const at::Tensor& keep = kept.vo[i][h];
            setOutputColumns(*a.v, a.vOffset + offset,
                             zeroDropped(outputColumns(*a.v, a.vOffset + offset, d), keep));
            setInputRows(*a.o, offset, zeroDropped(inputRows(*a.o, offset, d).t(), keep).t());
        }
    }
}

PruneCount countPruned(const ModelDecomposition& dec, const KeptDirections& kept)
{
    PruneCount count;
    const std::int64_t bias = dec.hasQkvBias ? 1 : 0;
    const std::int64_t outputs = dec.hiddenSize; // W_O's output features
    count.qkParamsPerDirection = 2 * (dec.hiddenSize + bias);
    count.voParamsPerDirection = dec.hiddenSize + bias + outputs;
    for (std::size_t i = 0; i < dec.layers.size(); ++i) {
        const LayerDecomposition& layer = dec.layers[i];
        for (std::size_t h = 0; h < layer.qk.size(); ++h) {
            count.qkDirections += dec.headDim;
            if (!kept.qk.empty()) {
                count.qkRemovedDirections += dec.headDim - keptCount(kept.qk.at(i).at(h));
            }
        }
        for (std::size_t h = 0; h < layer.vo.size(); ++h) {
            count.voDirections += dec.headDim;
            if (!kept.vo.empty()) {
                count.voRemovedDirections += dec.headDim - keptCount(kept.vo.at(i).at(h));
            }
        }
    }
    count.qkParams = count.qkDirections * count.qkParamsPerDirection;
    count.voParams = count.voDirections * count.voParamsPerDirection;
    count.qkRemovedParams = count.qkRemovedDirections * count.qkParamsPerDirection;
    count.voRemovedParams = count.voRemovedDirections * count.voParamsPerDirection;
    return count;
}

} // namespace ftw::clover
