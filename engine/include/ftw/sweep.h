// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/adapter_config.h>
#include <ftw/budget.h>
#include <ftw/expected.h>
#include <ftw/run_config.h>

#include <optional>
#include <string>
#include <vector>

namespace ftw {

/// An equal-budget sweep: the same run config trained once per method, each method's rank or
/// block size set by the budget solver (solveBudget) to the trainable-parameter count closest to
/// `target`, one after another on the same data and seed. Its runs are recorded as one group of
/// kind "sweep" (RunStore::groups()), named "<runName>-<method>".
struct SweepSpec {
    std::string runName = "sweep"; ///< the group's name and the prefix of its runs' names
    TrainSpec base;                ///< everything but the method and its knob
    std::vector<AdapterMethod> methods;
    BudgetTarget target;
    /// Set: the target is this method's trainable count at `base`'s settings instead of `target`
    /// (for example CLOVER's fixed count, so that every other method is matched to it).
    std::optional<AdapterMethod> targetMethod;
};

/// One run of a sweep: its config and the solver's match that set its knob (for a method with
/// nothing to choose, CLOVER and full fine-tuning, a fixed match with its count).
struct SweepRun {
    TrainSpec spec;
    BudgetMatch match;
};

/// The plan of a sweep: the target in trainable parameters and the runs in order.
struct SweepPlan {
    double targetParams = 0.0;
    std::vector<SweepRun> runs;
};

/// `adapter` with the method and knob of `match`: r (the LoRA family, VeRA), the block size (Bone,
/// Bat; also r) or AdaLoRA's init_r (r 0, target_r lowered to init_r when larger). Full fine-tuning
/// has no knob. Pure.
[[nodiscard]] AdapterConfig applyBudgetMatch(AdapterConfig adapter, const BudgetMatch& match);

/// The plan of a sweep: for each method of `spec.methods`, in that order, `spec.base` with
/// applyBudgetMatch() of the solver's match, named "<runName>-<method>"; CLOVER and full
/// fine-tuning run at their fixed counts. Returns the errors of solveBudget() and computeBudget();
/// InvalidArgument when no method is given, a method is listed twice, or a method cannot adapt the
/// targets, naming it.
[[nodiscard]] Expected<SweepPlan> planSweep(const SweepSpec& spec);

/// The run configs of planSweep(), in order.
[[nodiscard]] Expected<std::vector<TrainSpec>> sweepRunSpecs(const SweepSpec& spec);

} // namespace ftw
