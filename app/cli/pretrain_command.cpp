// SPDX-License-Identifier: MIT
// `ftw pretrain`: a small Llama-architecture model trained from scratch on a text corpus, with a
// pretrain config file, options over it, or both.
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

#include <ftw/pretrain.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace ftw::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

template <typename T>
void applyIf(const std::optional<T>& value, T& target)
{
    if (value) {
        target = *value;
    }
}

fs::path absoluteOrEmpty(const fs::path& path)
{
    return path.empty() ? path : fs::absolute(path);
}

/// "6.51M", "120k", "950": a parameter count at a glance.
std::string shortCount(std::int64_t count)
{
    if (count >= 1'000'000) {
        return formatFixed(static_cast<double>(count) / 1e6, 2) + "M";
    }
    if (count >= 10'000) {
        return formatFixed(static_cast<double>(count) / 1e3, 0) + "k";
    }
    return std::to_string(count);
}

void printPretrainResult(const CliContext& ctx, const JobResult& result)
{
    if (result.status == JobStatus::Cancelled && result.runId != 0) {
        ctx.err << "ftw: run " << result.runId << " keeps a checkpoint of its last step; "
                << "continue it with `ftw resume " << result.runId << "`\n";
        return;
    }
    if (result.status != JobStatus::Succeeded) {
        return;
    }
    const json output = json::parse(result.outputJson, nullptr, false);
    ctx.out << "run " << result.runId << " finished in "
            << formatDuration(static_cast<std::int64_t>(result.elapsedMs)) << ": "
            << output.value("steps", 0) << " steps of " << output.value("tokens_per_step", 0)
            << " tokens";
    if (output.contains("first_train_loss") && output.contains("last_train_loss")) {
        ctx.out << ", train loss " << formatFixed(output["first_train_loss"].get<double>(), 3)
                << " -> " << formatFixed(output["last_train_loss"].get<double>(), 3);
    }
    if (output.contains("eval_loss") && output["eval_loss"].is_number()) {
        ctx.out << ", eval loss " << formatFixed(output["eval_loss"].get<double>(), 3);
    }
    ctx.out << '\n';
    ctx.out << "model: " << output.value("output_dir", "") << " ("
            << shortCount(output.value("parameters", std::int64_t{0})) << " parameters)\n";
    if (const auto sample = output.find("sample"); sample != output.end()) {
        const std::string prompt = sample->value("prompt", "");
        ctx.out << "sample before: " << prompt << sample->value("before", "") << '\n';
        ctx.out << "sample after:  " << prompt << sample->value("after", "") << '\n';
    }
    ctx.out << "see it with `ftw runs show " << result.runId << "`\n";
}

} // namespace

void addPretrainCommand(CLI::App& app, PretrainCliOptions& o, std::string& databasePath,
                        bool& isJson, std::function<int(const CliContext&)>& action)
{
    CLI::App* c = app.add_subcommand(
        "pretrain", "train a small Llama-architecture model from scratch on a text corpus");
    c->add_option("--config", o.configFile,
                  "pretrain config JSON (see README); options below override its values");
    c->add_option("--name", o.name, "run name");
    c->add_option("--tokenizer", o.tokenizer,
                  "tokenizer.json (its vocabulary sets the model's; see `ftw train-tokenizer`)");
    c->add_option("--data", o.data, "text corpus: .txt, one text a line (or .jsonl with text)");
    c->add_option("--out", o.out, "folder for the trained model (must not exist or be empty)");
    c->add_option("--hidden", o.hidden, "hidden size (default 256)");
    c->add_option("--layers", o.layers, "decoder layers (default 6)");
    c->add_option("--heads", o.heads, "attention heads, dividing the hidden size (default 8)");
    c->add_option("--kv-heads", o.kvHeads, "key/value heads, dividing the heads (default 4)");
    c->add_option("--intermediate", o.intermediate, "MLP size (default 704)");
    c->add_option("--max-positions", o.maxPositions, "longest sequence the model takes (256)");
    c->add_option("--rope-theta", o.ropeTheta, "rotary embedding base (default 10000)");
    c->add_flag("--untied-embeddings", o.isUntiedEmbeddings,
                "a separate lm_head instead of sharing the token embeddings");
    c->add_option("--max-length", o.maxLength, "tokens per packed training sequence (128)");
    c->add_option("--validation-ratio", o.validationRatio, "share held out for eval (0.02)")
        ->check(CLI::Range(0.0, 0.9));
    auto* steps = c->add_option("--steps", o.loop.steps, "optimiser steps");
    auto* epochs = c->add_option("--epochs", o.loop.epochs, "passes over the corpus (default 1)");
    steps->excludes(epochs);
    c->add_option("--batch-size", o.loop.batchSize, "sequences per micro-batch (default 16)");
    c->add_option("--grad-accum", o.loop.gradAccumulation, "micro-batches per optimiser step");
    c->add_option("--lr", o.loop.learningRate, "peak learning rate (default 1e-3)");
    c->add_option("--weight-decay", o.loop.weightDecay, "AdamW weight decay (default 0.1)");
    c->add_option("--scheduler", o.loop.scheduler, "constant, linear or cosine (default)");
    c->add_option("--warmup-steps", o.loop.warmupSteps,
                  "linear warm-up steps (default: 5% of steps)");
    c->add_option("--seed", o.loop.seed, "seed of the initial weights and the data order");
    c->add_option("--device", o.loop.device, "auto, cpu, cuda or cuda:N");
    c->add_option("--precision", o.loop.precision, "auto, fp32, bf16 or fp16");
    c->add_option("--eval-every", o.loop.evalEvery, "evaluate every N steps (0: at the end)");
    c->add_option("--save-every", o.loop.saveEvery, "checkpoint every N steps (default 100)");
    c->add_option("--sample-prompt", o.samplePrompt,
                  "prompt of the greedy sample shown before and after (default \"The\")");
    c->add_option("--sample-tokens", o.sampleTokens, "tokens of that sample (0: none)");
    c->add_flag("--print-config", o.isPrintConfig,
                "print the pretrain config these options make, and do not train");
    c->add_option("--db", databasePath, "SQLite run store");
    c->add_flag("--json", isJson, "print JSON instead of text");
    c->callback([&] { action = [&o](const CliContext& ctx) { return cli::pretrain(ctx, o); }; });
}

Expected<PretrainSpec> pretrainSpecFromOptions(const PretrainCliOptions& o)
{
    PretrainSpec spec;
    if (!o.configFile.empty()) {
        const Expected<std::string> text = readConfigText(o.configFile, "pretrain config");
        if (!text) {
            return text.error();
        }
        Expected<PretrainSpec> parsed =
            parsePretrainConfig(*text, o.configFile, fs::absolute(o.configFile).parent_path());
        if (!parsed) {
            return parsed.error();
        }
        spec = std::move(*parsed);
    }
    applyIf(o.name, spec.runName);
    if (o.tokenizer) {
        spec.tokenizerFile = *o.tokenizer;
    }
    if (o.data) {
        spec.data.path = *o.data;
    }
    if (o.out) {
        spec.outputDir = *o.out;
    }
    // Absolute, so that the run records where its files are.
    spec.tokenizerFile = absoluteOrEmpty(spec.tokenizerFile);
    spec.data.path = absoluteOrEmpty(spec.data.path);
    spec.outputDir = absoluteOrEmpty(spec.outputDir);
    applyIf(o.hidden, spec.model.hiddenSize);
    applyIf(o.layers, spec.model.numLayers);
    applyIf(o.heads, spec.model.numHeads);
    applyIf(o.kvHeads, spec.model.numKvHeads);
    applyIf(o.intermediate, spec.model.intermediateSize);
    applyIf(o.maxPositions, spec.model.maxPositions);
    applyIf(o.ropeTheta, spec.model.ropeTheta);
    if (o.isUntiedEmbeddings) {
        spec.model.tieWordEmbeddings = false;
    }
    applyIf(o.maxLength, spec.data.maxLength);
    applyIf(o.validationRatio, spec.data.validationRatio);
    applyLoopOptions(o.loop, spec.train);
    applyIf(o.samplePrompt, spec.samplePrompt);
    applyIf(o.sampleTokens, spec.sampleTokens);
    return spec;
}

int pretrain(const CliContext& ctx, const PretrainCliOptions& options)
{
    Expected<PretrainSpec> spec = pretrainSpecFromOptions(options);
    if (!spec) {
        return fail(ctx, spec.error().message);
    }
    if (options.isPrintConfig) {
        if (const Status valid = validatePretrainSpec(*spec); !valid) {
            return fail(ctx, valid.error().message);
        }
        ctx.out << pretrainConfigJson(*spec) << '\n';
        return kExitOk;
    }
    // The job checks the settings and the files, so that a bad one is recorded on a failed run.
    return runJobAndReport(ctx, *spec,
                           [&ctx](const JobResult& result) { printPretrainResult(ctx, result); });
}

} // namespace ftw::cli
