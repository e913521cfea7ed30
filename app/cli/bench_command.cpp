// SPDX-License-Identifier: MIT
// `ftw bench`: the train step of a model shape, method and batch, and merge/export against the
// time to read and write the model's files; a table, or JSON with --json.
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

#include <ftw/bench.h>
#include <ftw/format.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <string>

namespace ftw::cli {
namespace {

using nlohmann::json;

std::string shapeList()
{
    std::string names;
    for (const std::string& name : benchShapeNames()) {
        names += (names.empty() ? "" : ", ") + name;
    }
    return names;
}

/// "%.3g" of a number in `scale` units: "3.21", "251".
std::string figure(double value, double scale = 1.0)
{
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.3g", value / scale);
    return buffer.data();
}

std::string flopsText(double flops)
{
    if (flops >= 1e12) {
        return figure(flops, 1e12) + " TFLOP";
    }
    if (flops >= 1e9) {
        return figure(flops, 1e9) + " GFLOP";
    }
    return figure(flops, 1e6) + " MFLOP";
}

void printBench(const CliContext& ctx, const JobResult& result)
{
    if (result.status != JobStatus::Succeeded) {
        return;
    }
    const json output = jobResultJson(result)["output"];
    const json& model = output["model"];
    const json& train = output["train"];
    const json& adapter = output["config"]["adapter"];
    const std::string shape = model.value("shape", "");
    const std::string waitPolicy = output.value("omp_wait_policy", "");
    ctx.out << "ftw bench: " << (shape.empty() ? model.value("dir", "") : shape) << " ("
            << model.value("arch", "") << ", "
            << formatGrouped(model.value("parameters", std::int64_t{0})) << " parameters) on "
            << output.value("device", "") << ", " << output.value("threads", 0) << " threads"
            << (waitPolicy.empty() ? std::string() : " (OMP_WAIT_POLICY " + waitPolicy + ")")
            << ", " << output.value("precision", "") << ", LibTorch " << output.value("torch", "")
            << '\n';
    ctx.out << "train step: " << train.value("method", "") << " r " << adapter.value("r", 0) << ", "
            << formatGrouped(train.value("trainable_parameters", std::int64_t{0}))
            << " trainable; batch " << train.value("batch_size", 0) << " x "
            << train.value("seq_len", 0) << " tokens; " << train.value("untimed_steps", 0)
            << " untimed + " << train.value("steps", 0) << " timed steps"
            << (train.value("gradient_checkpointing", false) ? "; gradient checkpointing" : "")
            << '\n';
    const json& seconds = train["step_seconds"];
    ctx.out << "  step time     median " << figure(seconds.value("median", 0.0)) << " s (mean "
            << figure(seconds.value("mean", 0.0)) << ", min " << figure(seconds.value("min", 0.0))
            << ", max " << figure(seconds.value("max", 0.0)) << ")\n";
    ctx.out << "  tokens/s      " << figure(train.value("tokens_per_second", 0.0)) << '\n';
    ctx.out << "  peak memory   " << formatBytes(train.value("peak_memory_bytes", std::int64_t{0}))
            << " (" << train.value("peak_memory_kind", "") << ")\n";
    if (const json& cache = train["cpu_cache"]; cache.value("installed", false)) {
        const auto hits = cache.value("hits", std::int64_t{0});
        const auto misses = cache.value("misses", std::int64_t{0});
        const double total = static_cast<double>(hits + misses);
        ctx.out << "  CPU cache     " << formatFixed(total > 0 ? 100.0 * hits / total : 0.0, 1)
                << "% of tensors of 1 MiB and more reused (" << formatGrouped(hits) << " of "
                << formatGrouped(hits + misses) << ")\n";
    }
    ctx.out << "  model FLOPs   " << flopsText(train.value("flops_per_step", 0.0)) << " per step, "
            << flopsText(train.value("flops_per_second", 0.0))
            << "/s: " << figure(100.0 * train.value("flops_utilisation", 0.0))
            << "% of the measured "
            << "matrix-product peak ("
            << flopsText(train.value("matmul_peak_flops_per_second", 0.0)) << "/s)\n";
    ctx.out << "  loss          first " << formatFixed(train.value("first_loss", 0.0), 4)
            << ", last " << formatFixed(train.value("last_loss", 0.0), 4) << '\n';
    if (output.contains("merge")) {
        const json& merge = output["merge"];
        ctx.out << "merge/export: " << merge.value("dtype", "") << ", "
                << formatBytes(merge.value("model_bytes", std::int64_t{0}))
                << " of model files: " << figure(merge.value("merge_seconds", 0.0))
                << " s (load, merge, write, verify)"
                << "; reading + writing the files "
                << figure(merge.value("read_write_seconds", 0.0)) << " s (read "
                << figure(merge.value("read_seconds", 0.0)) << ", write "
                << figure(merge.value("write_seconds", 0.0))
                << "): " << formatFixed(merge.value("ratio", 0.0), 2) << "x\n";
        const json& phases = merge["phase_seconds"];
        const auto ms = [&](const char* key) {
            const double value = 1000.0 * phases.value(key, 0.0);
            return formatFixed(value, value >= 100.0 ? 0 : (value >= 10.0 ? 1 : 2)) + " ms";
        };
        ctx.out << "  phases        load " << ms("load") << ", merge + write " << ms("write")
                << " (the merged logits computed beside the write), verification "
                << ms("reference") << " (base and adapter logits) + " << ms("verify")
                << " (written folder checked, logits compared); without the verification "
                << formatFixed(merge.value("ratio_without_verification", 0.0), 2) << "x\n";
    }
}

/// The BenchSpec of the options. Returns: the errors of trainSpecFromOptions(), InvalidArgument
/// for options that do not go together.
Expected<BenchSpec> benchSpecFromOptions(const BenchCliOptions& o)
{
    if (o.shape && o.train.model) {
        return ErrorInfo{
            ErrorCode::InvalidArgument, "give either --shape or --model, not both", {}};
    }
    TrainCliOptions train = o.train;
    train.loop.steps.reset(); // the timed steps, not the run's
    train.model.reset();      // so that, without --config, the bundled run's settings apply
    Expected<TrainSpec> run = trainSpecFromOptions(train);
    if (!run) {
        return run.error();
    }
    if (o.train.model) {
        run->modelDir = *o.train.model;
    }
    BenchSpec spec;
    spec.train = std::move(*run);
    spec.shape = o.train.model ? std::string() : o.shape.value_or("bundled");
    spec.saveModelDir = o.saveModel;
    spec.seqLength = o.seqLength;
    spec.steps = o.train.loop.steps.value_or(10);
    spec.untimedSteps = o.untimedSteps;
    spec.isMergeMeasured = !o.isMergeSkipped;
    spec.mergeDtype = o.mergeDtype;
    if (!spec.saveModelDir.empty() && (spec.shape.empty() || spec.shape == "bundled")) {
        return ErrorInfo{ErrorCode::InvalidArgument,
                         "--save-model keeps the random model of a --shape (tiny, qwen2.5-0.5b)",
                         {}};
    }
    return spec;
}

} // namespace

void addBenchCommand(CLI::App& app, BenchCliOptions& o, std::string& databasePath, bool& isJson,
                     std::function<int(const CliContext&)>& action)
{
    CLI::App* bench = app.add_subcommand(
        "bench", "time the train step (tokens/s, peak memory, FLOPs) and merge/export of a model "
                 "shape, method and batch");
    bench->add_option("--shape", o.shape,
                      "a standard shape: " + shapeList() +
                          " (a random model); default: bundled, unless --model is given");
    addTrainSpecOptions(*bench, o.train);
    // The batch is synthetic and the steps are timed: the data, epoch, accumulation, eval and
    // checkpoint options of a run do not apply.
    for (const char* name : {"--data", "--format", "--max-length", "--validation-ratio", "--epochs",
                             "--grad-accum", "--eval-every", "--save-every"}) {
        bench->remove_option(bench->get_option(name));
    }
    bench->get_option("--steps")->description("timed optimiser steps (default 10)");
    bench->add_option("--seq-len", o.seqLength, "tokens per sequence of the synthetic batch")
        ->capture_default_str()
        ->check(CLI::Range(2, 1'000'000));
    bench->add_option("--untimed-steps", o.untimedSteps, "steps run before timing starts")
        ->capture_default_str()
        ->check(CLI::Range(0, 1'000'000));
    bench->add_option("--save-model", o.saveModel,
                      "keep the random model of --shape in this folder (for other tools)");
    bench->add_flag("--no-merge", o.isMergeSkipped, "time the train step only");
    bench->add_option("--merge-dtype", o.mergeDtype, "f32, f16 or bf16")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "f16", "bf16"}));
    bench->add_option("--db", databasePath, "SQLite run store (the bench records nothing in it)");
    bench->add_flag("--json", isJson, "print JSON instead of text");
    bench->callback([&] { action = [&o](const CliContext& c) { return cli::bench(c, o); }; });
}

int bench(const CliContext& ctx, const BenchCliOptions& options)
{
    Expected<BenchSpec> spec = benchSpecFromOptions(options);
    if (!spec) {
        return fail(ctx, spec.error().message);
    }
    return runJobAndReport(ctx, *spec,
                           [&ctx](const JobResult& result) { printBench(ctx, result); });
}

} // namespace ftw::cli
