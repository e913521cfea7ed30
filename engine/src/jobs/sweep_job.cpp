// SPDX-License-Identifier: MIT
#include "sweep_job.h"

#include "train_job.h"

#include "core/api_guard.h"
#include "storage/run_repository.h"

#include <ftw/error.h>
#include <ftw/log.h>

#include <nlohmann/json.hpp>

#include <algorithm>
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

Expected<std::vector<TrainSpec>> sweepRunSpecs(const SweepSpec& spec)
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
        const Expected<std::vector<BudgetMatch>> matches =
            solveBudget(spec.base.modelDir, spec.base.adapter, spec.target);
        if (!matches) {
            throw Error(matches.error().code, "sweep: " + matches.error().message);
        }
        std::vector<TrainSpec> runs;
        for (const AdapterMethod method : spec.methods) {
            const std::string name(adapterMethodName(method));
            const auto match =
                std::find_if(matches->begin(), matches->end(),
                             [&](const BudgetMatch& m) { return m.method == method; });
            if (match == matches->end() || match->isFixed) {
                throw Error(ErrorCode::InvalidArgument,
                            "sweep: the budget solver has no setting to choose for '" + name +
                                "'; leave it out of the sweep");
            }
            if (!match->unavailable.empty()) {
                throw Error(ErrorCode::InvalidArgument,
                            "sweep: '" + name + "' cannot be used here: " + match->unavailable);
            }
            TrainSpec run = spec.base;
            run.adapter = applyBudgetMatch(run.adapter, *match);
            run.runName = spec.runName + "-" + name;
            runs.push_back(std::move(run));
        }
        return runs;
    });
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
            Expected<std::vector<TrainSpec>> runs = sweepRunSpecs(spec);
            if (!runs) {
                throw Error(runs.error().code, runs.error().message);
            }
            // Every member's settings are checked before the first one trains.
            for (const TrainSpec& run : *runs) {
                if (const Status valid = validateTrainSpec(run); !valid) {
                    throw Error(valid.error().code,
                                "sweep run '" + run.runName + "': " + valid.error().message);
                }
            }
            nlohmann::json methods = nlohmann::json::array();
            for (const AdapterMethod method : spec.methods) {
                methods.push_back(std::string(adapterMethodName(method)));
            }
            const nlohmann::json config = {
                {"methods", methods},
                {"target", targetJson(spec.target)},
                {"base", nlohmann::json::parse(runConfigJson(spec.base))}};
            const std::int64_t groupId = storage::RunRepository(ctx.database())
                                             .createGroup("sweep", spec.runName, config.dump());
            ctx.log(LogLevel::Info,
                    "sweep '" + spec.runName + "': " + std::to_string(runs->size()) +
                        " runs at an equal budget (group " + std::to_string(groupId) + ")");

            nlohmann::json members = nlohmann::json::array();
            std::vector<std::string> failures;
            for (std::size_t i = 0; i < runs->size(); ++i) {
                const TrainSpec& run = (*runs)[i];
                ctx.throwIfCancelled();
                const std::unique_ptr<JobContext> member = ctx.memberContext(groupId);
                Job train = makeTrainJob(run);
                JobResult result = JobRunner::runGuarded(train, *member);
                result.runId = member->runId();
                member->recordOutcome(result);
                const std::string method(adapterMethodName(run.adapter.method));
                nlohmann::json entry = {
                    {"method", method},
                    {"knob", run.adapter.method == AdapterMethod::AdaLora ? "init_r" : "r"},
                    {"value", run.adapter.method == AdapterMethod::AdaLora ? run.adapter.initR
                                                                           : run.adapter.r},
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
                                            std::to_string(runs->size()) + " (" + run.runName +
                                            ", run " + std::to_string(result.runId) +
                                            "): " + std::string(jobStatusName(result.status)));
                ctx.setOutputJson(nlohmann::json{{"group_id", groupId}, {"runs", members}}.dump());
                if (result.status == JobStatus::Cancelled) {
                    throw Cancelled();
                }
                if (result.status == JobStatus::Failed) {
                    failures.push_back(run.runName + ": " + result.error.message);
                }
            }
            if (!failures.empty()) {
                std::string message = "sweep: " + std::to_string(failures.size()) + " of " +
                                      std::to_string(runs->size()) + " runs failed";
                for (const std::string& failure : failures) {
                    message += "; " + failure;
                }
                throw Error(ErrorCode::Internal, message);
            }
        }};
}

} // namespace jobs
} // namespace ftw
