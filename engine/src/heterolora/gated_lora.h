// SPDX-License-Identifier: MIT
#pragma once

#include "adapters/lora.h"

namespace ftw::heterolora {

/// What HeteroLoRA needs of a unit (seed-papers.md 3.2): a LoRA pair A [r, in], B [out, r] with
/// its scaling, that can be switched on and off. Either a module's LoRA (GatedLoraAdapter) or a
/// LoRA-adapted shortcut connection (ShortcutLora, shortcuts.h).
class SwitchableLora {
public:
    virtual ~SwitchableLora() = default;

    /// The unit's shape, rank, alpha and scaling (a shortcut's spec is D x D, kind "shortcut.*").
    [[nodiscard]] virtual const adapters::Target& target() const = 0;
    [[nodiscard]] virtual const at::Tensor& a() const = 0;
    [[nodiscard]] virtual const at::Tensor& b() const = 0;
    /// Sets A and B (fp32 copies).
    virtual void setFactors(const at::Tensor& a, const at::Tensor& b) = 0;
    [[nodiscard]] virtual bool isEnabled() const = 0;
    virtual void setEnabled(bool isEnabled) = 0;
};

/// A HeteroLoRA unit (seed-papers.md 3.2, 3.4): a LoRA module that can be switched off. While off
/// its branch is skipped in forward, so the output is the base layer's and A and B get no
/// gradient (AdamW skips a tensor without one, weight decay included); its delta is zero for
/// merges, and A and B keep their values for when it is switched on again.
class GatedLoraAdapter : public adapters::LoraAdapter, public SwitchableLora {
public:
    GatedLoraAdapter(adapters::Target target, double dropout);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    /// Its forward() decides whether the branch runs: it always computes the base itself.
    [[nodiscard]] bool addsToBase() const override { return false; }
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    [[nodiscard]] bool isEnabled() const override { return m_isEnabled; }
    void setEnabled(bool isEnabled) override { m_isEnabled = isEnabled; }

    [[nodiscard]] const adapters::Target& target() const override
    {
        return adapters::LoraAdapter::target();
    }
    [[nodiscard]] const at::Tensor& a() const override { return adapters::LoraAdapter::a(); }
    [[nodiscard]] const at::Tensor& b() const override { return adapters::LoraAdapter::b(); }
    void setFactors(const at::Tensor& a, const at::Tensor& b) override
    {
        adapters::LoraAdapter::setFactors(a, b);
    }

private:
    bool m_isEnabled = true;
};

} // namespace ftw::heterolora
