// SPDX-License-Identifier: MIT
// `ftw sweep`: one run config trained once per method at an equal trainable-parameter budget.
#include "cli.h"
#include "commands.h"
#include "job_run.h"

#include <ftw/sweep.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>

namespace ftw::cli {
namespace {

std::string cell(const nlohmann::json& value, const char* format)
{
    if (!value.is_number()) {
        return "-";
    }
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), format, value.get<double>());
    return buffer.data();
}

void printSweep(const CliContext& ctx, const JobResult& result)
{
    const nlohmann::json output = jobResultJson(result)["output"];
    if (!output.contains("runs")) {
        return;
    }
    std::array<char, 160> line{};
    std::snprintf(line.data(), line.size(), "%-10s %-14s %12s %8s %6s %-10s %10s\n", "method",
                  "setting", "trainable", "vs target", "run", "status", "best eval");
    ctx.out << line.data();
    for (const nlohmann::json& run : output["runs"]) {
        const std::string setting =
            run.value("fixed", false)
                ? std::string("fixed")
                : run.value("knob", "") + " " + std::to_string(run.value("value", 0));
        std::snprintf(line.data(), line.size(), "%-10s %-14s %12s %7s%% %6lld %-10s %10s\n",
                      run.value("method", "").c_str(), setting.c_str(),
                      cell(run.value("trainable_params", nlohmann::json()), "%.0f").c_str(),
                      cell(100.0 * run.value("relative_error", 0.0), "%+.1f").c_str(),
                      static_cast<long long>(run.value("run_id", 0)),
                      run.value("status", "").c_str(),
                      cell(run.value("best_eval_loss", nlohmann::json()), "%.4f").c_str());
        ctx.out << line.data();
        if (run.value("at_limit", false)) {
            ctx.out << "           (out of reach: the nearest valid " << run.value("knob", "")
                    << " is as far as this method's count gets on these modules)\n";
        }
    }
    ctx.out << "target " << cell(output.value("target_params", nlohmann::json()), "%.0f")
            << " trainable parameters; group " << output.value("group_id", 0)
            << ": compare them with `ftw runs compare` or in the workbench's Compare page\n";
}

/// The methods of --methods, in order. Returns: InvalidArgument naming an unknown method.
Expected<std::vector<AdapterMethod>> parseMethods(const std::string& list)
{
    std::vector<AdapterMethod> methods;
    std::stringstream in(list);
    std::string name;
    while (std::getline(in, name, ',')) {
        if (name.empty()) {
            continue;
        }
        const std::optional<AdapterMethod> method = parseAdapterMethod(name);
        if (!method) {
            return ErrorInfo{
                ErrorCode::InvalidArgument, "--methods: unknown method '" + name + "'", {}};
        }
        methods.push_back(*method);
    }
    return methods;
}

} // namespace

void addSweepCommand(CLI::App& app, SweepCliOptions& o, std::string& databasePath, bool& isJson,
                     std::function<int(const CliContext&)>& action)
{
    CLI::App* sweep = app.add_subcommand(
        "sweep", "train one config once per method at an equal trainable-parameter budget");
    addTrainSpecOptions(*sweep, o.train);
    sweep->add_option("--methods", o.methods, "comma-separated methods, e.g. lora,dora,vera,bone")
        ->required();
    auto* params = sweep
                       ->add_option("--target-params", o.targetParams,
                                    "trainable parameters every method is matched to")
                       ->check(CLI::PositiveNumber);
    sweep
        ->add_option("--target-percent", o.targetPercent,
                     "or a percentage of the base model's parameters")
        ->check(CLI::Range(0.0, 100.0))
        ->excludes(params);
    sweep
        ->add_option("--target-method", o.targetMethod,
                     "or the count of this method at the config's settings, e.g. clover")
        ->excludes(params);
    sweep->add_option("--db", databasePath, "SQLite run store");
    sweep->add_flag("--json", isJson, "print JSON instead of text");
    sweep->callback([&] { action = [&o](const CliContext& c) { return cli::sweep(c, o); }; });
}

int sweep(const CliContext& ctx, const SweepCliOptions& options)
{
    if (!options.targetParams && !options.targetPercent && !options.targetMethod) {
        return fail(ctx, "give the budget with --target-params N, --target-percent P or "
                         "--target-method METHOD");
    }
    if (options.targetPercent && options.targetMethod) {
        return fail(ctx, "give either --target-percent or --target-method, not both");
    }
    const Expected<std::vector<AdapterMethod>> methods = parseMethods(options.methods);
    if (!methods) {
        return fail(ctx, methods.error().message);
    }
    Expected<TrainSpec> base = trainSpecFromOptions(options.train);
    if (!base) {
        return fail(ctx, base.error().message);
    }
    SweepSpec spec;
    spec.runName = options.train.name.value_or("sweep");
    spec.base = std::move(*base);
    spec.methods = *methods;
    if (options.targetMethod) {
        const Expected<std::vector<AdapterMethod>> target = parseMethods(*options.targetMethod);
        if (!target || target->size() != 1) {
            return fail(ctx, "--target-method: expected one method, not '" + *options.targetMethod +
                                 "'");
        }
        spec.targetMethod = target->front();
    } else {
        spec.target = options.targetParams
                          ? BudgetTarget{BudgetTargetKind::Parameters, *options.targetParams}
                          : BudgetTarget{BudgetTargetKind::PercentOfBase, *options.targetPercent};
    }
    // Refuse a bad plan before anything is recorded, with the solver's reason.
    if (const auto runs = sweepRunSpecs(spec); !runs) {
        return fail(ctx, runs.error().message);
    }
    return runJobAndReport(ctx, spec, [&ctx](const JobResult& result) { printSweep(ctx, result); });
}

} // namespace ftw::cli
