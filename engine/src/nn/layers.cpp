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

bool ProjectionImpl::takesBaseOutput() const
{
    return !adapter || merged || adapter->addsToBase();
}

at::Tensor ProjectionImpl::forwardOnBase(const at::Tensor& input, const at::Tensor& baseOutput)
{
    if (adapter && !merged) {
        return adapter->forwardOnBase(*this, input, baseOutput);
    }
    return baseOutput;
}

namespace {

/// Whether `tensors` are contiguous blocks that follow each other in one storage.
bool areConsecutive(const std::vector<at::Tensor>& tensors)
{
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const at::Tensor& t = tensors[i];
        if (!t.defined() || !t.is_contiguous()) {
            return false;
        }
        if (i > 0) {
            const at::Tensor& previous = tensors[i - 1];
            if (!t.storage().is_alias_of(previous.storage()) ||
                t.storage_offset() != previous.storage_offset() + previous.numel() ||
                t.scalar_type() != previous.scalar_type()) {
                return false;
            }
        }
    }
    return true;
}

bool canPack(const std::vector<ProjectionImpl*>& projections)
{
    if (projections.size() < 2) {
        return false;
    }
    const ProjectionImpl& first = *projections.front();
    for (const ProjectionImpl* p : projections) {
        if (p->layout != WeightLayout::OutIn || p->inFeatures != first.inFeatures ||
            p->weight.scalar_type() != first.weight.scalar_type() ||
            p->weight.device() != first.weight.device() ||
            p->bias.defined() != first.bias.defined()) {
            return false;
        }
    }
    return true;
}

/// Replaces the data of each tensor by its block of one new buffer holding them all (their values
/// copied, or left uninitialised).
void packInto(const std::vector<at::Tensor*>& tensors, bool isKeepingValues)
{
    std::vector<at::Tensor> parts;
    std::int64_t totalRows = 0;
    for (const at::Tensor* t : tensors) {
        parts.push_back(*t);
        totalRows += t->size(0);
    }
    if (areConsecutive(parts)) {
        return;
    }
    std::vector<std::int64_t> shape = parts.front().sizes().vec();
    shape[0] = totalRows;
    const at::Tensor buffer =
        isKeepingValues ? at::cat(parts, 0) : at::empty(shape, parts.front().options());
    std::int64_t offset = 0;
    for (at::Tensor* t : tensors) {
        const std::int64_t rows = t->size(0);
        t->set_data(buffer.narrow(0, offset, rows));
        offset += rows;
    }
}

} // namespace

void packProjections(const std::vector<ProjectionImpl*>& projections, bool isKeepingValues)
{
    if (!canPack(projections)) {
        return;
    }
    const at::NoGradGuard noGrad;
    std::vector<at::Tensor*> weights;
    std::vector<at::Tensor*> biases;
    for (ProjectionImpl* p : projections) {
        weights.push_back(&p->weight);
        biases.push_back(&p->bias);
    }
    packInto(weights, isKeepingValues);
    if (projections.front()->bias.defined()) {
        packInto(biases, isKeepingValues);
    }
}

std::optional<std::vector<at::Tensor>>
packedBaseForward(const std::vector<ProjectionImpl*>& projections, const at::Tensor& input)
{
    if (!canPack(projections)) {
        return std::nullopt;
    }
    std::vector<at::Tensor> weights;
    std::vector<at::Tensor> biases;
    std::vector<std::int64_t> sizes;
    std::int64_t total = 0;
    const bool isRecording = at::GradMode::is_enabled();
    for (const ProjectionImpl* p : projections) {
        // A weight that trains (full fine-tuning) must get its own gradient: the packed product
        // reads the buffer through one view of the first weight.
        const bool trains =
            p->weight.requires_grad() || (p->bias.defined() && p->bias.requires_grad());
        if (!p->takesBaseOutput() || (isRecording && trains)) {
            return std::nullopt;
        }
        weights.push_back(p->weight);
        biases.push_back(p->bias);
        sizes.push_back(p->outFeatures);
        total += p->outFeatures;
    }
    const bool hasBias = biases.front().defined();
    if (!areConsecutive(weights) || (hasBias && !areConsecutive(biases))) {
        return std::nullopt;
    }
    const std::int64_t in = projections.front()->inFeatures;
    const at::Tensor weight = weights.front().as_strided({total, in}, {in, 1});
    const at::Tensor bias = hasBias ? biases.front().as_strided({total}, {1}) : at::Tensor();
    const at::Tensor output =
        at::linear(input, weight, hasBias ? c10::optional<at::Tensor>(bias) : c10::nullopt);
    return output.split_with_sizes(sizes, -1);
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

namespace {

/// -inf where a query may not look, 0 where it may: query i (of `queries`) sits at position
/// total - queries + i and sees keys 0 .. that position; rows repeated `groups` times for folded
/// query heads: [groups * queries, total] fp32. Added to the scores (an add has no backward work,
/// where a masked fill has). Cached per thread: every layer of a forward pass asks for the same.
[[maybe_unused]] const at::Tensor& futureMask(std::int64_t queries, std::int64_t total,
                                              std::int64_t groups, const c10::Device& device)
{
    struct Cached {
        std::int64_t queries = -1;
        std::int64_t total = -1;
        std::int64_t groups = -1;
        c10::Device device{c10::kCPU};
        at::Tensor mask;
    };
    thread_local Cached cached;
    if (cached.queries != queries || cached.total != total || cached.groups != groups ||
        cached.device != device || !cached.mask.defined()) {
        const at::Tensor future =
            at::full({queries, total}, -std::numeric_limits<float>::infinity(),
                     at::TensorOptions().dtype(at::kFloat).device(device))
                .triu(total - queries + 1);
        cached = Cached{queries, total, groups, device,
                        groups > 1 ? future.repeat({groups, 1}) : future};
    }
    return cached.mask;
}

} // namespace

// scaled_dot_product_attention takes enable_gqa from LibTorch 2.5.
#define FTW_SDPA_HAS_ENABLE_GQA                                                                    \
    (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5))

bool isGroupedAttentionFused(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
{
#if FTW_SDPA_HAS_ENABLE_GQA
    if (q.size(1) == k.size(1) || q.size(2) != k.size(2)) {
        return false; // not grouped, or a generation step (which needs a mask)
    }
    // Only the flash kernel takes enable_gqa; asked of any other, SDPA falls back to its math
    // kernel, which holds the whole score matrix. PyTorch's own choice decides, with this input's
    // device, dtype, head size and the enabled kernels.
    constexpr std::int64_t kFlashAttention = 1; // at::SDPBackend::flash_attention
    return at::_fused_sdp_choice(q, k, v, {}, 0.0, /*is_causal=*/true, std::nullopt,
                                 /*enable_gqa=*/true) == kFlashAttention;
#else
    (void)q;
    (void)k;
    (void)v;
    return false;
#endif
}

at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
{
    const std::int64_t queries = q.size(2);
    const std::int64_t total = k.size(2);
    const std::int64_t groups = q.size(1) / k.size(1);
#if FTW_SDPA_HAS_ENABLE_GQA
    if (isGroupedAttentionFused(q, k, v)) {
        // K and V stay one per KV head: their copies per query head are neither made nor kept
        // for the backward pass.
        return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true, std::nullopt,
                                                /*enable_gqa=*/true);
    }
#endif
#if TORCH_VERSION_MAJOR >= 2
    const at::Tensor keys = groups > 1 ? k.repeat_interleave(groups, 1) : k;
    const at::Tensor values = groups > 1 ? v.repeat_interleave(groups, 1) : v;
    if (queries == total) {
        return at::scaled_dot_product_attention(q, keys, values, {}, 0.0, /*is_causal=*/true);
    }
    // Query i sits at absolute position total - queries + i and sees keys 0 .. that position.
    const at::Tensor allowed =
        at::ones({queries, total}, at::TensorOptions().dtype(at::kBool).device(q.device()))
            .tril(total - queries);
    return at::scaled_dot_product_attention(q, keys, values, allowed, 0.0, /*is_causal=*/false);
#else
    const std::int64_t batch = q.size(0);
    const std::int64_t heads = q.size(1);
    const std::int64_t dim = q.size(3);
    // Query head h uses KV head h / groups: fold a KV head's query heads into its rows
    // ([B, Hkv, groups * T, D], row g * T + i), one product per KV head.
    const at::Tensor grouped = q.reshape({batch, k.size(1), groups * queries, dim});
    at::Tensor scores = at::matmul(grouped, k.transpose(-2, -1));
    scores.mul_(1.0 / std::sqrt(static_cast<double>(dim))); // in place: mm keeps no output
    scores.add_(futureMask(queries, total, groups, q.device()));
    const at::Tensor weights = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
    return at::matmul(weights, v).view({batch, heads, queries, dim});
#endif
}

} // namespace ftw::nn
