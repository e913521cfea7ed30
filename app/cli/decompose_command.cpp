// SPDX-License-Identifier: MIT
// `ftw decompose`: CLOVER's absorb-decompose of a model's attention, the lossless check, pruning
// by singular value next to vanilla pruning, and the folded model written as a folder.
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

namespace ftw::cli {
namespace {

using nlohmann::json;

/// "1.23e-05": three significant digits; "-" when there is no number.
std::string shortNumber(const json& value)
{
    if (!value.is_number()) {
        return "-";
    }
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.3g", value.get<double>());
    return buffer.data();
}

std::string lossText(const json& value)
{
    return value.is_number() ? formatFixed(value.get<double>(), 4) : std::string("-");
}

/// The DecomposeSpec of the options. Returns: InvalidArgument naming the option that is wrong.
Expected<DecomposeSpec> decomposeSpecFromOptions(const DecomposeCliOptions& o)
{
    if (o.pruneRatio && o.pruneThreshold) {
        return ErrorInfo{ErrorCode::InvalidArgument,
                         "give either --prune-ratio or --prune-threshold, not both",
                         {}};
    }
    if (o.pruneRatio && !(*o.pruneRatio > 0.0 && *o.pruneRatio < 1.0)) {
        return ErrorInfo{ErrorCode::InvalidArgument,
                         "--prune-ratio: expected a share of each head's directions in (0, 1), "
                         "not " +
                             std::to_string(*o.pruneRatio),
                         {}};
    }
    if (o.pruneThreshold && !(std::isfinite(*o.pruneThreshold) && *o.pruneThreshold > 0.0)) {
        return ErrorInfo{ErrorCode::InvalidArgument,
                         "--prune-threshold: expected a singular value above 0, not " +
                             std::to_string(*o.pruneThreshold),
                         {}};
    }
    DecomposeSpec spec = o.spec;
    // Absolute paths, so that the run records where its model, output and data are.
    spec.modelDir = std::filesystem::absolute(spec.modelDir);
    if (!spec.outputDir.empty()) {
        spec.outputDir = std::filesystem::absolute(spec.outputDir);
    }
    if (!spec.evalData.path.empty()) {
        spec.evalData.path = std::filesystem::absolute(spec.evalData.path);
    }
    spec.pruneRatio = o.pruneRatio.value_or(0.0);
    spec.pruneThreshold = o.pruneThreshold.value_or(0.0);
    return spec;
}

void printLayers(const CliContext& ctx, const json& output)
{
    std::array<char, 160> line{};
    std::snprintf(line.data(), line.size(), "%5s  %-9s %-9s %12s %12s  %s\n", "layer", "Q-K", "V-O",
                  "Q-K removed", "V-O removed", "singular values Q-K | V-O");
    ctx.out << line.data();
    auto range = [](const json& r) {
        return r.is_array() ? shortNumber(r[0]) + ".." + shortNumber(r[1]) : std::string("-");
    };
    for (const json& layer : output.value("layers", json::array())) {
        std::snprintf(line.data(), line.size(), "%5lld  %-9s %-9s %12lld %12lld  %s | %s\n",
                      static_cast<long long>(layer.value("layer", 0)),
                      layer.value("qk_path", "").c_str(), layer.value("vo_path", "").c_str(),
                      static_cast<long long>(layer.value("qk_directions_removed", 0)),
                      static_cast<long long>(layer.value("vo_directions_removed", 0)),
                      range(layer["qk_singular_range"]).c_str(),
                      range(layer["vo_singular_range"]).c_str());
        ctx.out << line.data();
    }
}

void printMethods(const CliContext& ctx, const json& output)
{
    std::array<char, 200> line{};
    std::snprintf(line.data(), line.size(), "%-9s %20s %20s %15s %15s %10s\n", "method",
                  "directions removed", "parameters removed", "max |dlogits|", "mean |dlogits|",
                  "eval loss");
    ctx.out << line.data();
    for (const json& m : output.value("methods", json::array())) {
        std::snprintf(line.data(), line.size(), "%-9s %20s %20s %15s %15s %10s\n",
                      m.value("method", "").c_str(),
                      formatGrouped(m.value("directions_removed", std::int64_t{0})).c_str(),
                      formatGrouped(m.value("params_removed", std::int64_t{0})).c_str(),
                      shortNumber(m["max_abs_dlogits"]).c_str(),
                      shortNumber(m["mean_abs_dlogits"]).c_str(), lossText(m["eval_loss"]).c_str());
        ctx.out << line.data();
    }
}

void printDecomposition(const CliContext& ctx, const JobResult& result)
{
    const json output = jobResultJson(result)["output"];
    if (!output.contains("methods")) {
        return;
    }
    ctx.out << "CLOVER on " << output.value("model", "") << " (" << output.value("arch", "") << ", "
            << output.value("layers_count", 0) << " layers x " << output.value("heads", 0)
            << " heads of " << output.value("head_dim", 0) << ")\n";
    printLayers(ctx, output);
    ctx.out << "reparameterisation: max |dlogits| "
            << shortNumber(output["reparameterisation"]["max_abs_dlogits"]) << " over "
            << output.value("compared_tokens", 0) << " tokens (fp32)\n";
    const std::string mode = output.value("mode", "");
    if (mode == "ratio") {
        ctx.out << "pruning " << shortNumber(output["prune_ratio"])
                << " of each head's directions (smallest singular values)\n";
    } else if (mode == "threshold") {
        ctx.out << "pruning every direction with singular value <= "
                << shortNumber(output["prune_threshold"]) << '\n';
    }
    printMethods(ctx, output);
    const json params = output.value("params", json::object());
    ctx.out << "parameters: " << formatGrouped(params.value("model_before", std::int64_t{0}))
            << " -> " << formatGrouped(params.value("model_after", std::int64_t{0}))
            << " (absorbed attention pairs: "
            << formatGrouped(params.value("absorbed_attention_before", std::int64_t{0})) << " -> "
            << formatGrouped(params.value("absorbed_attention_after", std::int64_t{0})) << ")\n";
    if (output["eval"].is_object()) {
        ctx.out << "eval loss: mean next-token cross-entropy over "
                << formatGrouped(output["eval"].value("tokens", std::int64_t{0}))
                << " trained tokens of " << output["eval"].value("data", "") << '\n';
    }
    if (output["output"].is_object()) {
        ctx.out << "wrote the folded model to " << output["output"].value("path", "")
                << " (original shapes: removed directions are zero; reloaded max |dlogits| "
                << shortNumber(output["output"]["reloaded_max_abs_dlogits"]) << ")\n";
    }
    ctx.out << "run " << result.runId << " in "
            << formatDuration(static_cast<std::int64_t>(result.elapsedMs))
            << "; see it with `ftw runs show " << result.runId << "`\n";
}

} // namespace

void addDecomposeCommand(CLI::App& app, DecomposeCliOptions& o, std::string& databasePath,
                         bool& isJson, std::function<int(const CliContext&)>& action)
{
    CLI::App* command = app.add_subcommand(
        "decompose", "CLOVER: absorb-decompose the attention heads, check that nothing changes, "
                     "prune by singular value next to vanilla pruning, write the folded model");
    command->add_option("--model", o.spec.modelDir, "model folder (Hugging Face layout)")
        ->required();
    command->add_option("--out", o.spec.outputDir,
                        "write the folded (pruned) model here; it must not exist or be empty");
    command->add_option("--prune-ratio", o.pruneRatio,
                        "remove this share of each head's directions, in (0, 1)");
    command->add_option("--prune-threshold", o.pruneThreshold,
                        "remove every direction with a singular value at most this");
    command->add_option("--data", o.spec.evalData.path,
                        "dataset (.jsonl, .json, .csv, .txt) to compare eval losses on");
    command
        ->add_option("--format", o.spec.evalData.format,
                     "auto, text, alpaca, prompt-completion or chat")
        ->capture_default_str();
    command->add_option("--max-length", o.spec.evalData.maxLength, "tokens per example")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
    command->add_option("--seed", o.spec.seed, "seed of the token ids the logits are compared on")
        ->capture_default_str();
    command->add_option("--name", o.spec.runName, "run name")->capture_default_str();
    command->add_option("--db", databasePath,
                        "SQLite run store (default: $FTW_DB, else $XDG_DATA_HOME/ftw/ftw.db)");
    command->add_flag("--json", isJson, "print JSON instead of text");
    command->callback([&] { action = [&o](const CliContext& c) { return cli::decompose(c, o); }; });
}

int decompose(const CliContext& ctx, const DecomposeCliOptions& options)
{
    const Expected<DecomposeSpec> spec = decomposeSpecFromOptions(options);
    if (!spec) {
        return fail(ctx, spec.error().message);
    }
    return runJobAndReport(ctx, *spec, [&ctx](const JobResult& result) {
        if (result.status == JobStatus::Succeeded) {
            printDecomposition(ctx, result);
        }
    });
}

} // namespace ftw::cli
