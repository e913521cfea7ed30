// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/adapter_config.h>
#include <ftw/budget.h>
#include <ftw/expected.h>
#include <ftw/run_config.h>

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
};

/// `adapter` with the method and knob of `match`: r (the LoRA family, VeRA), the block size (Bone,
/// Bat; also r) or AdaLoRA's init_r (r 0, target_r lowered to init_r when larger). Full fine-tuning
/// has no knob. Pure.
[[nodiscard]] AdapterConfig applyBudgetMatch(AdapterConfig adapter, const BudgetMatch& match);

/// The runs of a sweep: for each method of `spec.methods`, in that order, `spec.base` with
/// applyBudgetMatch() of the solver's match, named "<runName>-<method>". Returns the errors of
/// solveBudget(); InvalidArgument when no method is given, a method is listed twice, or the solver
/// cannot serve a method (full fine-tuning has nothing to set; a method that cannot adapt the
/// targets), naming it.
[[nodiscard]] Expected<std::vector<TrainSpec>> sweepRunSpecs(const SweepSpec& spec);

} // namespace ftw
