// SPDX-License-Identifier: MIT
#include "miss.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace ftw::adapters {

BoneAdapter::BoneAdapter(Target target, double dropout)
    : ModuleAdapter(std::move(target)), m_dropout(dropout)
{
    m_block = trainableLeaf(at::zeros({this->target().r, this->target().spec.out}));
}

at::Tensor BoneAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    const at::Tensor output = base.baseForward(input);
    const std::int64_t r = target().r;
    const std::int64_t in = target().spec.in;
    at::Tensor x = dropout(input, m_dropout, base.is_training()).to(m_block.scalar_type());
    const std::int64_t padded = (in + r - 1) / r * r;
    if (padded != in) {
        x = at::constant_pad_nd(x, {0, padded - in});
    }
    std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
    shape.push_back(padded / r);
    shape.push_back(r);
    const at::Tensor folded = x.reshape(shape).sum(-2); // [..., r]
    return output + at::matmul(folded, m_block).to(output.scalar_type());
}

at::Tensor BoneAdapter::deltaWeight(const at::Tensor& /*weightOutIn*/) const
{
    const torch::NoGradGuard noGrad;
    const std::int64_t r = target().r;
    const std::int64_t in = target().spec.in;
    const std::int64_t copies = (in + r - 1) / r;
    return m_block.to(at::kFloat).t().repeat({1, copies}).narrow(1, 0, in).contiguous();
}

std::vector<NamedTensor> BoneAdapter::tensors() const
{
    return {{"miss_block", m_block}};
}

void BoneAdapter::to(const c10::Device& device)
{
    moveLeaf(m_block, device);
}

BatAdapter::BatAdapter(Target target) : ModuleAdapter(std::move(target))
{
    const std::int64_t r = this->target().r;
    m_block = trainableLeaf(at::zeros({this->target().spec.out / r, r, r}));
}

at::Tensor BatAdapter::transformed(const at::Tensor& w) const
{
    const std::int64_t r = target().r;
    const std::int64_t out = w.size(0);
    const std::int64_t in = w.size(1);
    // [out/r, r, in/r, r] -> [out/r, in/r, r, r]: block (b, a) is W_ba.
    const at::Tensor blocks = w.reshape({out / r, r, in / r, r}).permute({0, 2, 1, 3});
    const at::Tensor t = m_block.to(w.scalar_type()).unsqueeze(1); // [out/r, 1, r, r]
    const at::Tensor updated = at::matmul(blocks, t) + blocks + t;
    return updated.permute({0, 2, 1, 3}).reshape({out, in});
}

at::Tensor BatAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    const at::Tensor weight = transformed(base.weightOutIn().detach().to(m_block.scalar_type()));
    const at::Tensor x = input.to(weight.scalar_type());
    const at::Tensor output =
        at::linear(x, weight,
                   base.bias.defined() ? c10::optional<at::Tensor>(base.bias.to(x.scalar_type()))
                                       : c10::nullopt);
    return output.to(input.scalar_type());
}

at::Tensor BatAdapter::deltaWeight(const at::Tensor& weightOutIn) const
{
    const torch::NoGradGuard noGrad;
    const at::Tensor w = weightOutIn.to(at::kFloat);
    return transformed(w) - w;
}

void BatAdapter::merge(nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    storeWeight(base, transformed(weightFloat(base)));
    base.merged = true;
}

void BatAdapter::unmerge(nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    const std::int64_t r = target().r;
    const at::Tensor w = weightFloat(base);
    const std::int64_t out = w.size(0);
    const std::int64_t in = w.size(1);
    const at::Tensor t = m_block.to(at::kFloat).unsqueeze(1);
    const at::Tensor inverse = at::linalg_inv(t + at::eye(r, t.options())); // (I + T_b)^-1
    const at::Tensor blocks = w.reshape({out / r, r, in / r, r}).permute({0, 2, 1, 3});
    const at::Tensor original = at::matmul(blocks - t, inverse);
    storeWeight(base, original.permute({0, 2, 1, 3}).reshape({out, in}));
    base.merged = false;
}

std::vector<NamedTensor> BatAdapter::tensors() const
{
    return {{"miss_block", m_block}};
}

void BatAdapter::to(const c10::Device& device)
{
    moveLeaf(m_block, device);
}

} // namespace ftw::adapters
