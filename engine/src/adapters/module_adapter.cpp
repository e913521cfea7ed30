// SPDX-License-Identifier: MIT
#include "module_adapter.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace ftw::adapters {

void ModuleAdapter::merge(nn::ProjectionImpl& base)
{
    const at::Tensor weight = weightFloat(base);
    storeWeight(base, weight + deltaWeight(weight));
    base.merged = true;
}

void ModuleAdapter::unmerge(nn::ProjectionImpl& base)
{
    const at::Tensor weight = weightFloat(base);
    storeWeight(base, weight - deltaWeight(weight));
    base.merged = false;
}

at::Tensor ModuleAdapter::dropout(const at::Tensor& x, double p, bool training)
{
    return training && p > 0.0 ? at::dropout(x, p, /*train=*/true) : x;
}

at::Tensor trainableLeaf(const at::Tensor& values)
{
    return values.to(at::kFloat).detach().clone().set_requires_grad(true);
}

void moveLeaf(at::Tensor& tensor, const c10::Device& device)
{
    if (!tensor.defined() || tensor.device() == device) {
        return;
    }
    const bool grad = tensor.requires_grad();
    tensor = tensor.detach().to(device).set_requires_grad(grad);
}

void storeWeight(nn::ProjectionImpl& base, const at::Tensor& weightOutIn)
{
    const torch::NoGradGuard noGrad;
    base.weightOutIn().copy_(weightOutIn.to(base.weight.scalar_type()));
}

at::Tensor weightFloat(const nn::ProjectionImpl& base)
{
    const torch::NoGradGuard noGrad;
    return base.weightOutIn().to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
}

} // namespace ftw::adapters
