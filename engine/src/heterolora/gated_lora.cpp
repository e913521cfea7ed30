// SPDX-License-Identifier: MIT
#include "gated_lora.h"

#include <ATen/ATen.h>

namespace ftw::heterolora {

GatedLoraAdapter::GatedLoraAdapter(adapters::Target target, double dropout)
    : LoraAdapter(std::move(target), dropout)
{
}

at::Tensor GatedLoraAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    return m_isEnabled ? LoraAdapter::forward(base, input) : base.baseForward(input);
}

at::Tensor GatedLoraAdapter::deltaWeight(const at::Tensor& weightOutIn) const
{
    if (m_isEnabled) {
        return LoraAdapter::deltaWeight(weightOutIn);
    }
    return at::zeros({target().spec.out, target().spec.in},
                     at::TensorOptions().dtype(at::kFloat).device(weightOutIn.device()));
}

} // namespace ftw::heterolora
