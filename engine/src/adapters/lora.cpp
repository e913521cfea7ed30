// SPDX-License-Identifier: MIT
#include "lora.h"

#include "randomized_svd.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

namespace ftw::adapters {

LoraAdapter::LoraAdapter(Target target, double dropout)
    : ModuleAdapter(std::move(target)), m_dropout(dropout)
{
    const Target& t = this->target();
    m_a = trainableLeaf(at::zeros({t.r, t.spec.in}));
    m_b = trainableLeaf(at::zeros({t.spec.out, t.r}));
}

at::Tensor LoraAdapter::loraProduct(const at::Tensor& x) const
{
    return at::linear(at::linear(x.to(m_a.scalar_type()), m_a), m_b);
}

at::Tensor LoraAdapter::loraBranch(const at::Tensor& x) const
{
    return loraProduct(x) * target().scaling;
}

at::Tensor LoraAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    return forwardOnBase(base, input, base.baseForward(input));
}

at::Tensor LoraAdapter::forwardOnBase(nn::ProjectionImpl& base, const at::Tensor& input,
                                      const at::Tensor& output)
{
    const at::Tensor x = dropout(input, m_dropout, base.is_training());
    const at::Tensor down = at::linear(x.to(m_a.scalar_type()), m_a);
    // output + scaling * down B^T as one matrix product that accumulates into the base output
    // (no separate add over [tokens, out]).
    const std::int64_t out = output.size(-1);
    const at::ScalarType type = output.scalar_type();
    return at::addmm(output.reshape({-1, out}), down.reshape({-1, down.size(-1)}).to(type),
                     m_b.t().to(type), /*beta=*/1.0, /*alpha=*/target().scaling)
        .view(output.sizes());
}

at::Tensor LoraAdapter::scaledProduct() const
{
    return at::matmul(m_b.to(at::kFloat), m_a.to(at::kFloat)) * target().scaling;
}

at::Tensor LoraAdapter::deltaWeight(const at::Tensor& /*weightOutIn*/) const
{
    const torch::NoGradGuard noGrad;
    return scaledProduct();
}

void LoraAdapter::merge(nn::ProjectionImpl& base)
{
    if (!accumulateIntoWeight(base, 1.0)) {
        ModuleAdapter::merge(base);
        return;
    }
    base.merged = true;
}

void LoraAdapter::unmerge(nn::ProjectionImpl& base)
{
    if (!accumulateIntoWeight(base, -1.0)) {
        ModuleAdapter::unmerge(base);
        return;
    }
    base.merged = false;
}

bool LoraAdapter::accumulateIntoWeight(nn::ProjectionImpl& base, double sign) const
{
    const torch::NoGradGuard noGrad;
    at::Tensor weight = base.weightOutIn();
    if (weight.scalar_type() != at::kFloat) {
        return false;
    }
    weight.addmm_(m_b.to(at::kFloat), m_a.to(at::kFloat), /*beta=*/1.0,
                  /*alpha=*/sign * target().scaling);
    return true;
}

std::vector<NamedTensor> LoraAdapter::tensors() const
{
    return {{"lora_A.weight", m_a}, {"lora_B.weight", m_b}};
}

void LoraAdapter::to(const c10::Device& device)
{
    moveLeaf(m_a, device);
    moveLeaf(m_b, device);
    moveLeaf(m_initialA, device);
    moveLeaf(m_initialB, device);
}

void LoraAdapter::initDefault(bool gaussian, at::Generator generator)
{
    const torch::NoGradGuard noGrad;
    const Target& t = target();
    if (gaussian) {
        m_a.normal_(0.0, 1.0 / static_cast<double>(t.r), generator);
    } else {
        // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / 6), bound gain * sqrt(3 / fan_in).
        const double bound = 1.0 / std::sqrt(static_cast<double>(t.spec.in));
        m_a.uniform_(-bound, bound, generator);
    }
    m_b.zero_();
}

void LoraAdapter::setFactors(const at::Tensor& a, const at::Tensor& b)
{
    const torch::NoGradGuard noGrad;
    m_a.copy_(a);
    m_b.copy_(b);
}

void LoraAdapter::startFromResidual(nn::ProjectionImpl& base, const at::Tensor& a,
                                    const at::Tensor& b)
{
    const torch::NoGradGuard noGrad;
    // The factors are rounded to the base dtype first (PEFT 1.7), then the residual uses them.
    const at::ScalarType baseType = base.weight.scalar_type();
    const at::Tensor a0 = a.to(baseType).to(at::kFloat);
    const at::Tensor b0 = b.to(baseType).to(at::kFloat);
    setFactors(a0, b0);
    m_initialA = a0.clone();
    m_initialB = b0.clone();
    storeWeight(base, weightFloat(base) - at::matmul(b0, a0) * target().scaling);
}

void LoraAdapter::initPissa(nn::ProjectionImpl& base, int niter, at::Generator generator)
{
    const at::Tensor w = weightFloat(base);
    const std::int64_t r = target().r;
    at::Tensor u;
    at::Tensor s;
    at::Tensor vh;
    if (niter > 0) {
        at::Tensor v;
        std::tie(u, s, v) = randomizedSvd(w, r, niter, generator);
        vh = v.t();
    } else {
        std::tie(u, s, vh) = at::linalg_svd(w, /*full_matrices=*/false);
        u = u.narrow(1, 0, r);
        s = s.narrow(0, 0, r);
        vh = vh.narrow(0, 0, r);
    }
    const at::Tensor root = at::sqrt(s / target().scaling);
    startFromResidual(base, root.unsqueeze(1) * vh, u * root.unsqueeze(0));
}

void LoraAdapter::initOlora(nn::ProjectionImpl& base)
{
    const at::Tensor w = weightFloat(base);
    const std::int64_t r = target().r;
    auto [q, rMatrix] = at::linalg_qr(w, "reduced");
    startFromResidual(base, rMatrix.narrow(0, 0, r), q.narrow(1, 0, r));
}

void LoraAdapter::initLoraGa(nn::ProjectionImpl& base, const at::Tensor& gradOutIn,
                             const std::string& direction, const std::string& scale, double gamma,
                             at::Generator generator)
{
    const Target& t = target();
    const std::int64_t r = t.r;
    const at::Tensor g = gradOutIn.to(at::kFloat);
    const std::int64_t k = std::min(t.spec.in, t.spec.out);
    auto [u, s, v] = randomizedSvd(g, std::min(4 * r, k), 4, generator);
    const at::Tensor vh = v.t();

    const auto longs = at::TensorOptions().dtype(at::kLong);
    at::Tensor aIndex;
    at::Tensor bIndex;
    if (direction == "ArB2r") {
        aIndex = at::arange(0, r, longs);
        bIndex = at::arange(r, 2 * r, longs);
    } else if (direction == "A2rBr") {
        aIndex = at::arange(r, 2 * r, longs);
        bIndex = at::arange(0, r, longs);
    } else if (direction == "ArBr") {
        aIndex = at::arange(1, 2 * r, 2, longs);
        bIndex = at::arange(0, 2 * r, 2, longs);
    } else { // random: the same indices for A and B, as PEFT does
        aIndex = at::randperm(2 * r, generator, longs).narrow(0, 0, r);
        bIndex = aIndex;
    }
    at::Tensor a = vh.index_select(0, aIndex);
    const at::Tensor sB = s.index_select(0, bIndex);
    at::Tensor b = u.index_select(1, bIndex) * sB.unsqueeze(0);
    if (scale == "stable") {
        b = b * (std::pow(static_cast<double>(t.spec.out), 0.25) / std::sqrt(gamma));
    } else if (scale == "weight_svd") {
        const double first = sB[0].item<double>();
        if (first != 0.0) {
            const at::Tensor sw = std::get<1>(randomizedSvd(weightFloat(base), r, 4, generator));
            b = b * (sw[0].item<double>() / first);
        }
    } else if (scale == "gd_scale") {
        a = a / t.scaling;
        b = b / t.scaling;
    }
    startFromResidual(base, a, b);
}

DoraAdapter::DoraAdapter(Target target, double dropout) : LoraAdapter(std::move(target), dropout)
{
    m_magnitude = trainableLeaf(at::ones({this->target().spec.out}));
}

void DoraAdapter::initMagnitude(const nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    m_magnitude.copy_(at::linalg_vector_norm(weightFloat(base) + scaledProduct(), 2, {1}));
}

void DoraAdapter::setMagnitude(const at::Tensor& magnitude)
{
    const torch::NoGradGuard noGrad;
    m_magnitude.copy_(magnitude);
}

at::Tensor DoraAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    const at::Tensor output = base.baseForward(input);
    const at::Tensor x = input.to(a().scalar_type());
    const at::Tensor weight = base.weightOutIn().detach().to(x.scalar_type());
    const at::Tensor full = weight + at::matmul(b(), a()) * target().scaling;
    const at::Tensor norm = at::linalg_vector_norm(full, 2, {1}).detach();
    const at::Tensor gain = m_magnitude / norm;
    const bool dropping = base.is_training() && m_dropout > 0.0;
    const at::Tensor dropped = dropout(x, m_dropout, base.is_training());
    // The base product without bias: recomputed on the dropped input, else taken from `output`.
    at::Tensor plain;
    if (dropping) {
        plain = at::linear(dropped, weight);
    } else {
        plain = base.bias.defined() ? output.to(x.scalar_type()) - base.bias.to(x.scalar_type())
                                    : output.to(x.scalar_type());
    }
    const at::Tensor update = (gain - 1.0) * plain + gain * loraBranch(dropped);
    return output + update.to(output.scalar_type());
}

at::Tensor DoraAdapter::deltaWeight(const at::Tensor& weightOutIn) const
{
    const torch::NoGradGuard noGrad;
    const at::Tensor full = weightOutIn.to(at::kFloat) + scaledProduct();
    const at::Tensor gain = m_magnitude.to(at::kFloat) / at::linalg_vector_norm(full, 2, {1});
    return gain.unsqueeze(1) * full - weightOutIn.to(at::kFloat);
}

void DoraAdapter::merge(nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    const at::Tensor full = weightFloat(base) + scaledProduct();
    m_mergeNorm = at::linalg_vector_norm(full, 2, {1});
    storeWeight(base, (m_magnitude.to(at::kFloat) / m_mergeNorm).unsqueeze(1) * full);
    base.merged = true;
}

void DoraAdapter::unmerge(nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    const at::Tensor gain = (m_magnitude.to(at::kFloat) / m_mergeNorm).unsqueeze(1);
    storeWeight(base, weightFloat(base) / gain - scaledProduct());
    base.merged = false;
}

std::vector<NamedTensor> DoraAdapter::tensors() const
{
    std::vector<NamedTensor> all = LoraAdapter::tensors();
    all.push_back({"lora_magnitude_vector", m_magnitude});
    return all;
}

void DoraAdapter::to(const c10::Device& device)
{
    LoraAdapter::to(device);
    moveLeaf(m_magnitude, device);
    moveLeaf(m_mergeNorm, device);
}

} // namespace ftw::adapters
