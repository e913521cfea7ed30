// SPDX-License-Identifier: MIT
#include "clover_adapter.h"

#include "decomposition.h"
#include "reparam.h"

#include "core/check.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>

namespace ftw::clover {
namespace {

/// The layer's output projection for the V-O path: "...self_attn.o_proj" next to v_proj, GPT-2's
/// "...attn.c_proj" next to c_attn.
const nn::ProjectionImpl* outputProjection(nn::DecoderImpl& decoder,
                                           const model::ProjectionSpec& spec)
{
    const std::string& name = spec.name;
    const std::string parent = name.substr(0, name.rfind('.') + 1);
    const std::string wanted = parent + (spec.kind == "attn.c_attn" ? "c_proj" : "o_proj");
    for (const auto& item : decoder.named_modules()) {
        if (item.key() == wanted) {
            if (const auto* p = dynamic_cast<const nn::ProjectionImpl*>(item.value().get())) {
                return p;
            }
        }
    }
    throw Error(ErrorCode::InvalidArgument, "clover: the V-O path of '" + name +
                                                "' needs its output projection '" + wanted +
                                                "', which the model does not have");
}

at::Tensor blockProduct(const at::Tensor& blocks, const at::Tensor& matrices)
{
    return at::einsum("ngb,gbc->ngc", {blocks, matrices});
}

} // namespace

CloverAdapter::CloverAdapter(adapters::Target target, std::vector<SegmentPlan> plans,
                             const std::vector<bool>& isValueOutput, double dropout)
    : ModuleAdapter(std::move(target))
    , m_inFeatures(this->target().spec.in)
    , m_hasBiasRow(this->target().spec.hasBias)
    , m_dropout(dropout)
{
    FTW_CHECK(plans.size() == isValueOutput.size(), ErrorCode::Internal,
              "clover: one path per segment");
    const std::int64_t rows = m_inFeatures + (m_hasBiasRow ? 1 : 0);
    for (std::size_t i = 0; i < plans.size(); ++i) {
        const SegmentPlan& p = plans[i];
        Segment s;
        s.plan = p;
        s.basis = at::zeros({rows, p.width()});
        s.core = adapters::trainableLeaf(at::zeros({p.groups, p.blockSize, p.blockSize}));
        if (isValueOutput[i]) {
            s.post = at::zeros({p.groups, p.blockSize, p.blockSize});
        }
        m_segments.push_back(std::move(s));
    }
}

void CloverAdapter::init(const nn::ProjectionImpl& base, const nn::ProjectionImpl* output)
{
    const torch::NoGradGuard noGrad;
    for (Segment& s : m_segments) {
        const std::int64_t b = s.plan.blockSize;
        std::vector<at::Tensor> bases;
        std::vector<at::Tensor> cores;
        std::vector<at::Tensor> posts;
        for (std::int64_t g = 0; g < s.plan.groups; ++g) {
            const at::Tensor w = outputColumns(base, s.plan.start + g * b, b, m_hasBiasRow);
            if (!s.post.defined()) {
                const ThinQr qr = thinQr(w);
                bases.push_back(qr.q);
                cores.push_back(qr.r);
                continue;
            }
            FTW_CHECK(output != nullptr, ErrorCode::Internal,
                      "clover: a V-O segment needs its output projection");
            const AbsorbedPair pair = absorbDecomposeWithQr(w, inputRows(*output, g * b, b).t());
            const at::Tensor diagonal = pair.second.r.diagonal().abs();
            FTW_CHECK(diagonal.min().item<double>() > 1e-10 * diagonal.max().item<double>(),
                      ErrorCode::InvalidArgument,
                      "clover: head " + std::to_string(g) + " of the output projection of '" +
                          target().spec.name +
                          "' is rank-deficient, so its V-O core cannot be expressed through it");
            // T = V^T pinv(W_O^h) = (R2^-1 Q2^T V)^T with W_O^h^T = Q2 R2, so T W_O^h = V^T.
            const at::Tensor projected = at::matmul(pair.second.q.t(), pair.svd.v);
            posts.push_back(at::linalg_solve(pair.second.r, projected).t());
            bases.push_back(pair.svd.u);
            cores.push_back(at::diag(pair.svd.s));
        }
        s.basis.copy_(at::cat(bases, 1));
        s.core.copy_(at::stack(cores));
        if (s.post.defined()) {
            s.post.copy_(at::stack(posts));
        }
    }
}

at::Tensor CloverAdapter::segmentOutput(const Segment& s, const at::Tensor& input,
                                        bool training) const
{
    const at::Tensor x = input.to(s.basis.scalar_type());
    at::Tensor projected = at::matmul(x, s.basis.narrow(0, 0, m_inFeatures));
    if (m_hasBiasRow) {
        projected = projected + s.basis[m_inFeatures];
    }
    projected = dropout(projected, m_dropout, training);
    const std::vector<std::int64_t> shape = projected.sizes().vec();
    at::Tensor blocks = projected.reshape({-1, s.plan.groups, s.plan.blockSize});
    blocks = blockProduct(blocks, s.core);
    if (s.post.defined()) {
        blocks = blockProduct(blocks, s.post);
    }
    return blocks.reshape(shape);
}

at::Tensor CloverAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    const at::ScalarType type = at::promote_types(input.scalar_type(), base.weight.scalar_type());
    const at::Tensor weight = base.weightOutIn();
    std::vector<at::Tensor> parts;
    std::int64_t next = 0;
    auto plain = [&](std::int64_t start, std::int64_t width) {
        if (width <= 0) {
            return;
        }
        const c10::optional<at::Tensor> bias =
            base.bias.defined() ? c10::optional<at::Tensor>(base.bias.narrow(0, start, width))
                                : c10::nullopt;
        parts.push_back(at::linear(input, weight.narrow(0, start, width), bias).to(type));
    };
    for (const Segment& s : m_segments) {
        plain(next, s.plan.start - next);
        parts.push_back(segmentOutput(s, input, base.is_training()).to(type));
        next = s.plan.start + s.plan.width();
    }
    plain(next, base.outFeatures - next);
    return parts.size() == 1 ? parts.front() : at::cat(parts, -1);
}

std::vector<at::Tensor> CloverAdapter::foldedSegments() const
{
    const torch::NoGradGuard noGrad;
    std::vector<at::Tensor> folded;
    for (const Segment& s : m_segments) {
        const std::int64_t rows = s.basis.size(0);
        at::Tensor blocks =
            s.basis.view({rows, s.plan.groups, s.plan.blockSize}).permute({1, 0, 2});
        blocks = at::bmm(blocks, s.core);
        if (s.post.defined()) {
            blocks = at::bmm(blocks, s.post);
        }
        folded.push_back(blocks.permute({1, 0, 2}).reshape({rows, s.plan.width()}));
    }
    return folded;
}

at::Tensor CloverAdapter::deltaWeight(const at::Tensor& weightOutIn) const
{
    const torch::NoGradGuard noGrad;
    at::Tensor delta = at::zeros(weightOutIn.sizes(), weightOutIn.options().dtype(at::kFloat));
    const std::vector<at::Tensor> folded = foldedSegments();
    for (std::size_t i = 0; i < m_segments.size(); ++i) {
        const SegmentPlan& p = m_segments[i].plan;
        const at::Tensor rows = folded[i].narrow(0, 0, m_inFeatures).t().to(delta.device());
        delta.narrow(0, p.start, p.width())
            .copy_(rows - weightOutIn.narrow(0, p.start, p.width()).to(at::kFloat));
    }
    return delta;
}

void CloverAdapter::merge(nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    const std::vector<at::Tensor> folded = foldedSegments();
    for (std::size_t i = 0; i < m_segments.size(); ++i) {
        Segment& s = m_segments[i];
        s.unmerged = outputColumns(base, s.plan.start, s.plan.width(), m_hasBiasRow).to(at::kFloat);
        setOutputColumns(base, s.plan.start, folded[i]);
    }
    base.merged = true;
}

void CloverAdapter::unmerge(nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    for (Segment& s : m_segments) {
        if (s.unmerged.defined()) {
            setOutputColumns(base, s.plan.start, s.unmerged);
            s.unmerged = at::Tensor();
        }
    }
    base.merged = false;
}

std::vector<adapters::NamedTensor> CloverAdapter::tensors() const
{
    std::vector<adapters::NamedTensor> all;
    for (const Segment& s : m_segments) {
        const std::string prefix = "clover_" + s.plan.role + "_";
        all.push_back({prefix + "basis", s.basis});
        all.push_back({prefix + "core", s.core});
        if (s.post.defined()) {
            all.push_back({prefix + "post", s.post});
        }
    }
    return all;
}

std::vector<adapters::NamedTensor> CloverAdapter::trainable() const
{
    std::vector<adapters::NamedTensor> cores;
    for (const Segment& s : m_segments) {
        cores.push_back({"clover_" + s.plan.role + "_core", s.core});
    }
    return cores;
}

void CloverAdapter::to(const c10::Device& device)
{
    for (Segment& s : m_segments) {
        adapters::moveLeaf(s.basis, device);
        adapters::moveLeaf(s.core, device);
        adapters::moveLeaf(s.post, device);
        adapters::moveLeaf(s.unmerged, device);
    }
}

std::shared_ptr<CloverAdapter> makeCloverAdapter(const adapters::Target& target,
                                                 nn::ProjectionImpl& base, nn::DecoderImpl& decoder,
                                                 bool initialise, double dropout)
{
    std::vector<SegmentPlan> plans = planSegments(target.spec);
    const bool isVoAbsorbed = voPathOf(decoder.config()) == VoPath::Absorbed;
    std::vector<bool> isValueOutput;
    for (const SegmentPlan& p : plans) {
        isValueOutput.push_back(p.role == "v" && isVoAbsorbed);
    }
    const bool needsOutput =
        std::find(isValueOutput.begin(), isValueOutput.end(), true) != isValueOutput.end();
    auto adapter =
        std::make_shared<CloverAdapter>(target, std::move(plans), isValueOutput, dropout);
    if (initialise) {
        adapter->init(base, needsOutput ? outputProjection(decoder, target.spec) : nullptr);
    }
    return adapter;
}

} // namespace ftw::clover
