// SPDX-License-Identifier: MIT
#pragma once

#include "module_adapter.h"

#include <ATen/core/Generator.h>

#include <array>
#include <map>
#include <memory>

namespace ftw::adapters {

/// AdaLoRA's SVD-form update (adapter-methods.md 10): dW = P diag(E) Q * alpha / (init_r + 1e-5)
/// with lora_A = Q [r, in], lora_E [r, 1], lora_B = P [out, r]. Pruned directions have E = 0.
class AdaLoraAdapter : public ModuleAdapter {
public:
    AdaLoraAdapter(Target target, double dropout);

    /// A, B ~ N(0, 0.02), E = 0 (the update starts at zero).
    void initDefault(at::Generator generator);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    [[nodiscard]] std::vector<NamedTensor> tensors() const override;
    void to(const c10::Device& device) override;

    [[nodiscard]] at::Tensor& a() { return m_a; }
    [[nodiscard]] at::Tensor& e() { return m_e; }
    [[nodiscard]] at::Tensor& b() { return m_b; }

private:
    double m_dropout;
    at::Tensor m_a;
    at::Tensor m_e;
    at::Tensor m_b;
};

/// AdaLoRA's budget schedule and importance-driven pruning (RankAllocator): call
/// updateAndAllocate(step) after backward() and before the gradients are cleared.
class AdaLoraAllocator {
public:
    /// The AdaLoRA fields of the adapter config: init_r, target_r, tinit, tfinal, deltaT, beta1,
    /// beta2, orth_reg_weight, total_step.
    using Settings = AdapterConfig;

    AdaLoraAllocator(Settings settings,
                     std::vector<std::pair<std::string, std::shared_ptr<AdaLoraAdapter>>> modules);

    /// The total rank budget at `step` and whether directions are masked at that step.
    struct Budget {
        std::int64_t budget = 0;
        bool mask = false;
    };
    [[nodiscard]] Budget budgetAt(std::int64_t step) const;

    /// orth_reg_weight * mean over every A and B of ||P P^T - I||_F (A A^T for A, B^T B for B).
    [[nodiscard]] at::Tensor orthogonalRegularizer() const;

    /// Updates the importance EMAs from the current gradients and masks E to the budget.
    void updateAndAllocate(std::int64_t step);

    /// The allocator's state for a checkpoint: the importance and uncertainty EMAs and the kept
    /// directions, as named CPU tensors ("adalora.<module>.importance.<part>", ...).
    [[nodiscard]] std::vector<std::pair<std::string, at::Tensor>> state() const;
    /// Restores what state() returned; names of other tensors are ignored.
    void loadState(const std::vector<std::pair<std::string, at::Tensor>>& state);

    /// Kept directions per module, keyed as PEFT's rank_pattern ("<module>.lora_E"); empty until
    /// the first masking.
    [[nodiscard]] const std::map<std::string, std::vector<bool>>& rankPattern() const
    {
        return m_rankPattern;
    }

private:
    void updateImportance();
    void maskToBudget(std::int64_t budget);
    void applyRankPattern();

    Settings m_settings;
    std::vector<std::pair<std::string, std::shared_ptr<AdaLoraAdapter>>> m_modules;
    /// Per module, the EMAs of importance and uncertainty of A, E and B (undefined until the
    /// first gradient).
    std::vector<std::array<at::Tensor, 3>> m_averageImportance;
    std::vector<std::array<at::Tensor, 3>> m_averageUncertainty;
    std::map<std::string, std::vector<bool>> m_rankPattern;
};

} // namespace ftw::adapters
