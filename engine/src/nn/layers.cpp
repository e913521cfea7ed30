// SPDX-License-Identifier: MIT
#include "layers.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <numbers>

namespace ftw::nn {

ProjectionImpl::ProjectionImpl(std::int64_t in, std::int64_t out, bool hasBias,
                               WeightLayout weightLayout)
    : inFeatures(in), outFeatures(out), layout(weightLayout)
{
    const auto shape = layout == WeightLayout::InOut ? std::vector<std::int64_t>{in, out}
                                                     : std::vector<std::int64_t>{out, in};
    weight = register_parameter("weight", at::empty(shape));
    if (hasBias) {
        bias = register_parameter("bias", at::zeros({out}));
    }
}

at::Tensor ProjectionImpl::forward(const at::Tensor& input)
{
    if (adapter && !merged) {
        return adapter->forward(*this, input);
    }
    return baseForward(input);
}

at::Tensor ProjectionImpl::baseForward(const at::Tensor& input)
{
    if (layout == WeightLayout::InOut) {
        at::Tensor output = at::matmul(input, weight);
        return bias.defined() ? output + bias : output;
    }
    return at::linear(input, weight,
                      bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt);
}

at::Tensor ProjectionImpl::weightOutIn() const
{
    return layout == WeightLayout::InOut ? weight.t() : weight;
}

RmsNormImpl::RmsNormImpl(std::int64_t dim, double epsilon) : eps(epsilon)
{
    weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RmsNormImpl::forward(const at::Tensor& input)
{
    const at::Tensor x = input.to(at::kFloat);
    const at::Tensor normed = x * at::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * normed.to(input.scalar_type());
}

at::Tensor ropeInverseFrequencies(const RopeOptions& o)
{
    at::Tensor inv = 1.0 / at::pow(o.theta, at::arange(0, o.headDim, 2, at::kDouble) /
                                                static_cast<double>(o.headDim));
    if (o.scalingFactor > 0.0) {
        const double lowFreqWavelen = static_cast<double>(o.originalMaxPositions) / o.lowFreqFactor;
        const double highFreqWavelen =
            static_cast<double>(o.originalMaxPositions) / o.highFreqFactor;
        const at::Tensor wavelen = 2.0 * std::numbers::pi / inv;
        at::Tensor scaled = at::where(wavelen > lowFreqWavelen, inv / o.scalingFactor, inv);
        const at::Tensor smooth =
            (static_cast<double>(o.originalMaxPositions) / wavelen - o.lowFreqFactor) /
            (o.highFreqFactor - o.lowFreqFactor);
        const at::Tensor smoothed = (1.0 - smooth) * scaled / o.scalingFactor + smooth * scaled;
        const at::Tensor isMedium = (wavelen >= highFreqWavelen) & (wavelen <= lowFreqWavelen);
        scaled = at::where(isMedium, smoothed, scaled);
        inv = scaled;
    }
    return inv.to(at::kFloat);
}

at::Tensor ropeTable(const at::Tensor& inverseFrequencies, std::int64_t start, std::int64_t length,
                     const c10::Device& device)
{
    const at::Tensor positions =
        at::arange(start, start + length, at::TensorOptions().dtype(at::kFloat).device(device));
    const at::Tensor freqs = at::outer(positions, inverseFrequencies.to(device));
    const at::Tensor angles = at::cat({freqs, freqs}, -1); // [length, headDim]
    return at::stack({angles.cos(), angles.sin()});
}

at::Tensor applyRope(const at::Tensor& x, const at::Tensor& table)
{
    const at::Tensor rows = table.to(x.scalar_type());
    const at::Tensor cos = rows[0];
    const at::Tensor sin = rows[1];
    const std::int64_t half = x.size(-1) / 2;
    const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
    return x * cos + rotated * sin;
}

at::Tensor geluTanh(const at::Tensor& x)
{
    const double c = std::sqrt(2.0 / std::numbers::pi);
    return 0.5 * x * (1.0 + at::tanh(c * (x + 0.044715 * x.pow(3))));
}

at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
{
    const std::int64_t batch = q.size(0);
    const std::int64_t heads = q.size(1);
    const std::int64_t queries = q.size(2);
    const std::int64_t dim = q.size(3);
    const std::int64_t kvHeads = k.size(1);
    const std::int64_t groups = heads / kvHeads;
    const std::int64_t total = k.size(2);
    // Query i sits at absolute position total - queries + i and sees keys 0 .. that position.
    const at::Tensor allowed =
        at::ones({queries, total}, at::TensorOptions().dtype(at::kBool).device(q.device()))
            .tril(total - queries);
#if TORCH_VERSION_MAJOR >= 2
    const at::Tensor keys = groups > 1 ? k.repeat_interleave(groups, 1) : k;
    const at::Tensor values = groups > 1 ? v.repeat_interleave(groups, 1) : v;
    if (queries == total) {
        return at::scaled_dot_product_attention(q, keys, values, {}, 0.0, /*is_causal=*/true);
    }
    return at::scaled_dot_product_attention(q, keys, values, allowed, 0.0, /*is_causal=*/false);
#else
    // Query head h uses KV head h / groups: fold a KV head's query heads into its rows
    // ([B, Hkv, groups * T, D], row g * T + i), one product per KV head.
    const at::Tensor grouped = q.reshape({batch, kvHeads, groups * queries, dim});
    at::Tensor scores =
        at::matmul(grouped, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dim));
    const at::Tensor hidden = (groups > 1 ? allowed.repeat({groups, 1}) : allowed).logical_not();
    scores.masked_fill_(hidden, -std::numeric_limits<float>::infinity());
    const at::Tensor weights = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
    return at::matmul(weights, v).view({batch, heads, queries, dim});
#endif
}

} // namespace ftw::nn
