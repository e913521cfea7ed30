// SPDX-License-Identifier: MIT
#include "sweep_job.h"

#include "train_job.h"

#include "core/api_guard.h"
#include "storage/run_repository.h"

#include <ftw/error.h>
#include <ftw/log.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace ftw {

AdapterConfig applyBudgetMatch(AdapterConfig adapter, const BudgetMatch& match)
{
    adapter.method = match.method;
    if (match.method == AdapterMethod::AdaLora) {
        adapter.r = 0;
        adapter.initR = match.value;
        adapter.targetR = std::min(adapter.targetR, match.value);
    } else if (match.method != AdapterMethod::Full) {
        adapter.r = match.value;
    }
    return adapter;
}

Expected<SweepPlan> planSweep(const SweepSpec& spec)
{
    return core::captureErrors([&] {
        if (spec.methods.empty()) {
            throw Error(ErrorCode::InvalidArgument, "sweep: give at least one method");
        }
        std::set<AdapterMethod> seen;
        for (const AdapterMethod method : spec.methods) {
            if (!seen.insert(method).second) {
                throw Error(ErrorCode::InvalidArgument, "sweep: method '" +
                                                            std::string(adapterMethodName(method)) +
                                                            "' is listed twice");
            }
        }
        BudgetTarget target = spec.target;
        if (spec.targetMethod) {
            AdapterConfig adapter = spec.base.adapter;
            adapter.method = *spec.targetMethod;
            const Expected<BudgetReport> report = computeBudget(spec.base.modelDir, adapter);
            if (!report) {
                throw Error(report.error().code,
                            "sweep: the target method '" +
                                std::string(adapterMethodName(*spec.targetMethod)) +
                                "': " + report.error().message);
            }
            target = {BudgetTargetKind::Parameters, static_cast<double>(report->trainableParams)};
        }
        const Expected<std::vector<BudgetMatch>> matches =
            solveBudget(spec.base.modelDir, spec.base.adapter, target);
        if (!matches) {
            throw Error(matches.error().code, "sweep: " + matches.error().message);
        }
        SweepPlan plan;
        plan.targetParams = target.value;
        if (target.kind == BudgetTargetKind::PercentOfBase) {
            // Full fine-tuning's match counts every parameter of the base.
            const auto full = std::find_if(matches->begin(), matches->end(), [](const auto& m) {
                return m.method == AdapterMethod::Full;
            });
            plan.targetParams =
                full == matches->end()
                    ? 0.0
                    : target.value / 100.0 * static_cast<double>(full->trainableParams);
        }
        for (const AdapterMethod method : spec.methods) {
            const std::string name(adapterMethodName(method));
            const auto match =
                std::find_if(matches->begin(), matches->end(),
                             [&](const BudgetMatch& m) { return m.method == method; });
            if (match == matches->end()) {
                throw Error(ErrorCode::InvalidArgument,
                            "sweep: the budget solver has no setting to choose for '" + name +
                                "'; leave it out of the sweep");
            }
            if (!match->unavailable.empty()) {
                throw Error(ErrorCode::InvalidArgument,
                            "sweep: '" + name + "' cannot be used here: " + match->unavailable);
            }
            SweepRun run{spec.base, *match};
            run.spec.adapter = applyBudgetMatch(run.spec.adapter, *match);
            run.spec.runName = spec.runName + "-" + name;
            plan.runs.push_back(std::move(run));
        }
        return plan;
    });
}

Expected<std::vector<TrainSpec>> sweepRunSpecs(const SweepSpec& spec)
{
    Expected<SweepPlan> plan = planSweep(spec);
    if (!plan) {
        return plan.error();
    }
    std::vector<TrainSpec> runs;
    for (SweepRun& run : plan->runs) {
        runs.push_back(std::move(run.spec));
    }
    return runs;
}

namespace jobs {
namespace {

nlohmann::json targetJson(const BudgetTarget& target)
{
    const char* kind = target.kind == BudgetTargetKind::Parameters      ? "parameters"
                       : target.kind == BudgetTargetKind::PercentOfBase ? "percent_of_base"
                                                                        : "none";
    return {{"kind", kind}, {"value", target.value}};
}

} // namespace

Job makeSweepJob(const SweepSpec& spec)
{
    return Job{
        JobKind::Sweep, spec.runName, [spec](JobContext& ctx) {
            const Expected<SweepPlan> plan = planSweep(spec);
            if (!plan) {
                throw Error(plan.error().code, plan.error().message);
            }
            const std::vector<SweepRun>& runs = plan->runs;
            // Every member's settings are checked before the first one trains.
            for (const SweepRun& run : runs) {
                if (const Status valid = validateTrainSpec(run.spec); !valid) {
                    throw Error(valid.error().code,
                                "sweep run '" + run.spec.runName + "': " + valid.error().message);
                }
            }
            nlohmann::json methods = nlohmann::json::array();
            for (const AdapterMethod method : spec.methods) {
                methods.push_back(std::string(adapterMethodName(method)));
            }
            const nlohmann::json config = {
                {"methods", methods},
                {"target", targetJson(spec.target)},
                {"target_method", spec.targetMethod
                                      ? nlohmann::json(adapterMethodName(*spec.targetMethod))
                                      : nlohmann::json(nullptr)},
                {"target_params", plan->targetParams},
                {"base", nlohmann::json::parse(runConfigJson(spec.base))}};
            const std::int64_t groupId = storage::RunRepository(ctx.database())
                                             .createGroup("sweep", spec.runName, config.dump());
            ctx.log(LogLevel::Info, "sweep '" + spec.runName + "': " + std::to_string(runs.size()) +
                                        " runs at an equal budget (group " +
                                        std::to_string(groupId) + ")");

            nlohmann::json members = nlohmann::json::array();
            std::vector<std::string> failures;
            for (std::size_t i = 0; i < runs.size(); ++i) {
                const TrainSpec& run = runs[i].spec;
                const BudgetMatch& match = runs[i].match;
                ctx.throwIfCancelled();
                const std::unique_ptr<JobContext> member = ctx.memberContext(groupId);
                Job train = makeTrainJob(run);
                JobResult result = JobRunner::runGuarded(train, *member);
                result.runId = member->runId();
                member->recordOutcome(result);
                const std::string method(adapterMethodName(run.adapter.method));
                nlohmann::json entry = {
                    {"method", method},
                    {"knob", match.knob},
                    {"value", run.adapter.method == AdapterMethod::AdaLora ? run.adapter.initR
                                                                           : run.adapter.r},
                    {"fixed", match.isFixed},
                    {"planned_params", match.trainableParams},
                    {"relative_error", match.relativeError},
                    {"step_params", match.stepParams},
                    {"at_limit", match.isAtLimit},
                    // A knob one step away would not come closer; a fixed method (CLOVER, full)
                    // is matched only when its count is the target (--target-method).
                    {"within_one_step",
                     std::abs(static_cast<double>(match.trainableParams) - plan->targetParams) <=
                         static_cast<double>(match.isFixed ? 0 : match.stepParams)},
                    {"run_id", result.runId},
                    {"status", std::string(jobStatusName(result.status))}};
                if (result.runId > 0) {
                    const auto stored =
                        storage::RunRepository(ctx.database()).findRun(result.runId);
                    if (stored && stored->summary.trainableParams) {
                        entry["trainable_params"] = *stored->summary.trainableParams;
                    }
                    if (stored && stored->summary.bestEvalLoss) {
                        entry["best_eval_loss"] = *stored->summary.bestEvalLoss;
                    }
                }
                members.push_back(entry);
                ctx.log(LogLevel::Info, "sweep run " + std::to_string(i + 1) + "/" +
                                            std::to_string(runs.size()) + " (" + run.runName +
                                            ", run " + std::to_string(result.runId) +
                                            "): " + std::string(jobStatusName(result.status)));
                ctx.setOutputJson(nlohmann::json{
                    {"group_id", groupId},
                    {"target_params", plan->targetParams},
                    {"runs", members}}.dump());
                if (result.status == JobStatus::Cancelled) {
                    throw Cancelled();
                }
                if (result.status == JobStatus::Failed) {
                    failures.push_back(run.runName + ": " + result.error.message);
                }
            }
            if (!failures.empty()) {
                std::string message = "sweep: " + std::to_string(failures.size()) + " of " +
                                      std::to_string(runs.size()) + " runs failed";
                for (const std::string& failure : failures) {
                    message += "; " + failure;
                }
                throw Error(ErrorCode::Internal, message);
            }
        }};
}

} // namespace jobs
} // namespace ftw
