// SPDX-License-Identifier: MIT
#pragma once

#include "adapters/lora.h"

namespace ftw::heterolora {

/// A HeteroLoRA unit (seed-papers.md 3.2, 3.4): a LoRA module that can be switched off. While off
/// its branch is skipped in forward, so the output is the base layer's and A and B get no
/// gradient (AdamW skips a tensor without one, weight decay included); its delta is zero for
/// merges, and A and B keep their values for when it is switched on again.
class GatedLoraAdapter : public adapters::LoraAdapter {
public:
    GatedLoraAdapter(adapters::Target target, double dropout);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    [[nodiscard]] bool isEnabled() const override { return m_isEnabled; }
    void setEnabled(bool isEnabled) { m_isEnabled = isEnabled; }

private:
    bool m_isEnabled = true;
};

} // namespace ftw::heterolora
