// SPDX-License-Identifier: MIT
// `ftw allocate`: HeteroLoRA's zero-cost proxies and static allocation, and the run config that
// trains it (optionally trained right away).
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>

namespace ftw::cli {
namespace {

using nlohmann::json;

/// "1.234e-02", or "-" where the proxy was not computed.
std::string score(const json& value)
{
    if (!value.is_number()) {
        return "-";
    }
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.3e", value.get<double>());
    return buffer.data();
}

/// The ranks of --ranks. Returns: InvalidArgument naming a value that is not a rank.
Expected<std::vector<std::int64_t>> parseRanks(const std::string& list)
{
    std::vector<std::int64_t> ranks;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty()) {
            continue;
        }
        std::size_t used = 0;
        std::int64_t rank = -1;
        try {
            rank = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || rank < 0) {
            return ErrorInfo{ErrorCode::InvalidArgument,
                             "--ranks: '" + item + "' is not a rank (0 or more)",
                             {}};
        }
        ranks.push_back(rank);
    }
    return ranks;
}

/// The AllocateSpec of the options. Returns: the error of the run config or of an option.
Expected<AllocateSpec> allocateSpecFromOptions(const AllocateCliOptions& o)
{
    if (o.budgetParams && o.train.budgetFraction) {
        return ErrorInfo{ErrorCode::InvalidArgument,
                         "give either --budget-fraction or --budget-params, not both",
                         {}};
    }
    TrainCliOptions trainOptions = o.train;
    trainOptions.method.reset(); // the candidates are plain LoRA modules at rank r
    // HeteroLoRA's own settings are set on the spec below (lora refuses them).
    trainOptions.isShortcuts = false;
    trainOptions.isSeparateBudgets = false;
    Expected<TrainSpec> train = trainSpecFromOptions(trainOptions);
    if (!train) {
        return train.error();
    }
    AllocateSpec spec;
    spec.train = std::move(*train);
    spec.train.adapter.method = AdapterMethod::Lora;
    spec.train.adapter.shortcuts = spec.train.adapter.shortcuts || o.train.isShortcuts;
    spec.train.adapter.separateBudgets =
        spec.train.adapter.separateBudgets || o.train.isSeparateBudgets;
    // Absolute paths, so that the written run config works from any folder.
    spec.train.modelDir = std::filesystem::absolute(spec.train.modelDir);
    spec.train.data.path = std::filesystem::absolute(spec.train.data.path);
    spec.runName = "allocate " + spec.train.runName;
    if (o.batches) {
        spec.train.adapter.scoreBatches = *o.batches;
    }
    if (o.scoreWarmup) {
        spec.train.adapter.scoreWarmupSteps = *o.scoreWarmup;
    }
    spec.budgetParams = o.budgetParams.value_or(0);
    Expected<std::vector<std::int64_t>> ranks = parseRanks(o.ranks);
    if (!ranks) {
        return ranks.error();
    }
    spec.rankSet = std::move(*ranks);
    return spec;
}

void printAllocation(const CliContext& ctx, const JobResult& result)
{
    const json output = jobResultJson(result)["output"];
    if (!output.contains("modules")) {
        return;
    }
    const std::string proxy = output.value("proxy", "");
    std::array<char, 200> line{};
    std::snprintf(line.data(), line.size(), "%5s  %-21s %10s %10s %10s %10s  %s\n", "layer",
                  "module", "grad-norm", "snip", "synflow", "random", "rank");
    ctx.out << line.data();
    for (const json& m : output["modules"]) {
        const bool isOn = m.value("enabled", false);
        const std::string rank = isOn ? std::to_string(m.value("rank", 0)) : std::string("off");
        std::snprintf(line.data(), line.size(), "%5lld  %-21s %10s %10s %10s %10s  %s\n",
                      static_cast<long long>(m.value("layer", -1)), m.value("module", "").c_str(),
                      score(m["grad_norm"]).c_str(), score(m["snip"]).c_str(),
                      score(m["synflow"]).c_str(), score(m["random"]).c_str(), rank.c_str());
        ctx.out << line.data();
    }
    const json budget = output.value("budget", json::object());
    std::string limit;
    if (budget.value("units", json()).is_number()) {
        limit = std::to_string(budget["units"].get<std::int64_t>()) + " modules";
    } else if (budget.value("params", json()).is_number()) {
        limit = formatGrouped(budget["params"].get<std::int64_t>()) + " parameters";
    }
    ctx.out << "run " << result.runId << ": " << proxy << " switched on "
            << output.value("enabled", 0) << " of " << output.value("candidates", 0) << " modules, "
            << formatGrouped(output.value("trainable_params", std::int64_t{0}))
            << " trainable parameters (budget " << limit << "; every module at rank "
            << output.value("rank", 0) << ": "
            << formatGrouped(output.value("candidate_params", std::int64_t{0})) << ")\n";
}

/// Writes the run config to a temporary name beside `path` and renames it when complete.
bool writeConfig(const CliContext& ctx, const std::string& path, const json& config)
{
    const std::string partial = path + ".partial";
    {
        std::ofstream out(partial);
        out << config.dump(2) << '\n';
        if (!out.flush()) {
            (void)fail(ctx, "cannot write the run config to '" + path + "'");
            return false;
        }
    }
    std::error_code error;
    std::filesystem::rename(partial, path, error);
    if (error) {
        std::filesystem::remove(partial, error);
        (void)fail(ctx, "cannot write the run config to '" + path + "': " + error.message());
        return false;
    }
    return true;
}

} // namespace

void addAllocateCommand(CLI::App& app, AllocateCliOptions& o, std::string& databasePath,
                        bool& isJson, std::function<int(const CliContext&)>& action)
{
    CLI::App* allocate = app.add_subcommand(
        "allocate", "HeteroLoRA: score the target modules with a zero-cost proxy and choose which "
                    "to adapt (and at which rank) under a budget");
    addTrainSpecOptions(*allocate, o.train);
    allocate
        ->add_option("--budget-params", o.budgetParams,
                     "a budget of trainable parameters instead of --budget-fraction")
        ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
    allocate->add_option("--ranks", o.ranks,
                         "comma-separated ranks to choose from (0 is off), e.g. 0,2,4,8; "
                         "default: on at --r or off");
    allocate->add_option("--batches", o.batches, "training batches each proxy reads")
        ->check(CLI::Range(1, 1'000'000));
    allocate
        ->add_option("--score-warmup", o.scoreWarmup,
                     "throwaway AdamW steps before SNIP and SYNFLOW (B is 0 at init)")
        ->check(CLI::Range(0, 1'000'000));
    allocate->add_option("--out-config", o.outConfig,
                         "also write the allocated run config (for `ftw train --config`) here");
    allocate->add_flag("--train", o.isTrain, "train the allocated config right after");
    allocate->add_option("--db", databasePath, "SQLite run store");
    allocate->add_flag("--json", isJson, "print JSON instead of text");
    allocate->callback([&] { action = [&o](const CliContext& c) { return cli::allocate(c, o); }; });
}

int allocate(const CliContext& ctx, const AllocateCliOptions& options)
{
    Expected<AllocateSpec> spec = allocateSpecFromOptions(options);
    if (!spec) {
        return fail(ctx, spec.error().message);
    }
    const std::optional<JobResult> allocation = runJob(ctx, *spec);
    if (!allocation) {
        return kExitFailure;
    }
    json combined = {{"allocate", jobResultJson(*allocation)}};
    const json output = combined["allocate"]["output"];
    if (allocation->status == JobStatus::Succeeded && !options.outConfig.empty() &&
        !writeConfig(ctx, options.outConfig, output["config"])) {
        return kExitFailure;
    }
    if (!ctx.isJson) {
        printAllocation(ctx, *allocation);
    }
    if (allocation->status != JobStatus::Succeeded) {
        if (ctx.isJson) {
            ctx.out << combined["allocate"].dump(2) << '\n';
        }
        return exitCodeFor(ctx, *allocation);
    }
    const std::string configPath =
        options.outConfig.empty() ? output.value("config_path", "") : options.outConfig;
    if (!options.isTrain) {
        if (ctx.isJson) {
            ctx.out << combined["allocate"].dump(2) << '\n';
        } else {
            ctx.out << "run config: " << configPath << "\ntrain it with `ftw train --config "
                    << configPath << "`\n";
        }
        return kExitOk;
    }
    Expected<TrainSpec> train = parseRunConfig(output["config"].dump(), configPath);
    if (!train) {
        return fail(ctx, train.error().message);
    }
    const std::optional<JobResult> trained = runJob(ctx, *train);
    if (!trained) {
        return kExitFailure;
    }
    if (ctx.isJson) {
        combined["train"] = jobResultJson(*trained);
        ctx.out << combined.dump(2) << '\n';
    } else if (trained->status == JobStatus::Succeeded) {
        const json trainOutput = jobResultJson(*trained)["output"];
        ctx.out << "trained as run " << trained->runId << " in "
                << formatDuration(static_cast<std::int64_t>(trained->elapsedMs));
        if (trainOutput.contains("eval_loss") && trainOutput["eval_loss"].is_number()) {
            ctx.out << ": eval loss " << formatFixed(trainOutput["eval_loss"].get<double>(), 4);
        }
        ctx.out << "\nadapter: " << trainOutput.value("adapter_dir", "") << '\n';
    }
    return exitCodeFor(ctx, *trained);
}

} // namespace ftw::cli
