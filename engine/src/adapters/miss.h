// SPDX-License-Identifier: MIT
#pragma once

#include "module_adapter.h"

namespace ftw::adapters {

/// Bone, PEFT's MiSS default (adapter-methods.md 9.1): M [r, out], zeros at init. The input is
/// right-padded to a multiple of r, folded into blocks of r and summed: y = base(x) + x_bar M, the
/// same as dW[o, i] = M[i mod r, o].
class BoneAdapter : public ModuleAdapter {
public:
    BoneAdapter(Target target, double dropout);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    [[nodiscard]] std::vector<NamedTensor> tensors() const override;
    void to(const c10::Device& device) override;

    [[nodiscard]] at::Tensor& block() { return m_block; }

private:
    double m_dropout;
    at::Tensor m_block;
};

/// Bat (9.3): T [out/r, r, r], zeros at init; every r x r block W_ba of W becomes
/// W_ba (I + T_b) + T_b. The forward rebuilds the weight; unmerge goes through (I + T_b)^-1.
class BatAdapter : public ModuleAdapter {
public:
    explicit BatAdapter(Target target);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    void merge(nn::ProjectionImpl& base) override;
    void unmerge(nn::ProjectionImpl& base) override;
    [[nodiscard]] std::vector<NamedTensor> tensors() const override;
    void to(const c10::Device& device) override;

    [[nodiscard]] at::Tensor& block() { return m_block; }

private:
    /// W' for W [out, in] in W's dtype, differentiable in T.
    [[nodiscard]] at::Tensor transformed(const at::Tensor& weightOutIn) const;

    at::Tensor m_block;
};

} // namespace ftw::adapters
