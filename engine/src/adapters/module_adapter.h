// SPDX-License-Identifier: MIT
#pragma once

#include "targets.h"

#include "nn/layers.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace ftw::adapters {

/// A tensor of an adapter with its name relative to the adapted module, as PEFT saves it
/// ("lora_A.weight", "lora_magnitude_vector", "vera_lambda_b", "miss_block", "lora_E").
struct NamedTensor {
    std::string name;
    at::Tensor tensor;
};

/// One method's adapter over one frozen projection: forward, the delta weight, merge and unmerge,
/// and its tensors. Every delta is formed in [out, in] orientation; a Conv1D weight ([in, out]) is
/// updated through its transposed view, as PEFT's fan_in_fan_out does.
class ModuleAdapter : public nn::ProjectionAdapter {
public:
    explicit ModuleAdapter(Target target) : m_target(std::move(target)) {}

    [[nodiscard]] const Target& target() const { return m_target; }

    /// dW [out, in] in fp32 such that the merged weight is W + dW, for the current W [out, in].
    [[nodiscard]] virtual at::Tensor deltaWeight(const at::Tensor& weightOutIn) const = 0;

    /// W <- W + dW, computed in fp32 and rounded once to the base dtype. Sets base.merged.
    virtual void merge(nn::ProjectionImpl& base);
    /// W <- W - dW (the inverse of merge). Clears base.merged.
    virtual void unmerge(nn::ProjectionImpl& base);

    /// Every tensor the adapter saves, by its PEFT name relative to the module.
    [[nodiscard]] virtual std::vector<NamedTensor> tensors() const = 0;
    /// The tensors that train (a subset of tensors()); by default all of them.
    [[nodiscard]] virtual std::vector<NamedTensor> trainable() const { return tensors(); }

    /// Moves every tensor to `device`, keeping values and requires_grad.
    virtual void to(const c10::Device& device) = 0;

    /// False while the module is switched off (a HeteroLoRA unit not chosen): its branch is
    /// skipped in forward (so it gets no gradient), its delta is zero, the saved adapter leaves it
    /// out, and its tensors are kept for when it is switched on again.
    [[nodiscard]] virtual bool isEnabled() const { return true; }

protected:
    /// Applies the inverted dropout of `p` to the adapter branch's input while training.
    [[nodiscard]] static at::Tensor dropout(const at::Tensor& x, double p, bool training);

private:
    Target m_target;
};

/// A fresh fp32 leaf tensor that trains.
[[nodiscard]] at::Tensor trainableLeaf(const at::Tensor& values);

/// Replaces a tensor by a copy on `device` that keeps requires_grad (for ModuleAdapter::to).
void moveLeaf(at::Tensor& tensor, const c10::Device& device);

/// Writes `weightOutIn` (fp32, [out, in]) into the base layer's stored weight in its dtype and
/// layout.
void storeWeight(nn::ProjectionImpl& base, const at::Tensor& weightOutIn);

/// The base layer's weight as fp32 [out, in] (a copy).
[[nodiscard]] at::Tensor weightFloat(const nn::ProjectionImpl& base);

} // namespace ftw::adapters
