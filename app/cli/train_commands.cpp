// SPDX-License-Identifier: MIT
// `ftw train`, `ftw resume` and `ftw eval`.
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

#include <ftw/defaults.h>

#include <CLI/CLI.hpp>

#include <fstream>
#include <sstream>

namespace ftw::cli {
namespace {

/// Every method's name, joined by `separator`.
std::string methodNames(const std::string& separator)
{
    std::string names;
    for (const AdapterMethod method : allAdapterMethods()) {
        names += (names.empty() ? "" : separator) + std::string(adapterMethodName(method));
    }
    return names;
}

std::vector<std::string> splitList(const std::string& text)
{
    std::vector<std::string> items;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (!item.empty()) {
            items.push_back(item);
        }
    }
    return items;
}

template <typename T>
void applyIf(const std::optional<T>& value, T& target)
{
    if (value) {
        target = *value;
    }
}

/// A number of a job's output JSON, formatted; "inf" where JSON has null (an infinite value).
std::string outputNumber(const nlohmann::json& output, const char* key, int decimals)
{
    const auto it = output.find(key);
    return it != output.end() && it->is_number() ? formatFixed(it->get<double>(), decimals)
                                                 : std::string("inf");
}

void printTrainResult(const CliContext& ctx, const JobResult& result)
{
    if (result.status != JobStatus::Succeeded) {
        return;
    }
    const nlohmann::json output = nlohmann::json::parse(result.outputJson, nullptr, false);
    ctx.out << "run " << result.runId << " finished in "
            << formatDuration(static_cast<std::int64_t>(result.elapsedMs)) << ": "
            << output.value("steps", 0) << " steps";
    if (output.contains("eval_loss")) {
        ctx.out << ", eval loss " << outputNumber(output, "eval_loss", 4) << " (perplexity "
                << outputNumber(output, "eval_perplexity", 2) << ")";
    }
    ctx.out << '\n';
    if (output.contains("adapter_dir")) {
        ctx.out << "adapter: " << output["adapter_dir"].get<std::string>() << '\n';
    }
    if (output.contains("model_dir")) { // full fine-tuning, and a resumed pretrain run
        ctx.out << "model: " << output["model_dir"].get<std::string>() << '\n';
    }
    ctx.out << "see it with `ftw runs show " << result.runId << "`\n";
}

int runTrainJob(const CliContext& ctx, const TrainSpec& spec)
{
    return runJobAndReport(ctx, spec, [&ctx](const JobResult& result) {
        if (result.status == JobStatus::Succeeded) {
            printTrainResult(ctx, result);
        } else if (result.status == JobStatus::Cancelled && result.runId != 0) {
            ctx.err << "ftw: run " << result.runId << " keeps a checkpoint of its last step; "
                    << "continue it with `ftw resume " << result.runId << "`\n";
        }
    });
}

} // namespace

void addTrainSpecOptions(CLI::App& command, TrainCliOptions& o)
{
    CLI::App* train = &command;
    train->add_option("--config", o.configFile,
                      "run config JSON (see README); options below override its values");
    train->add_option("--name", o.name, "run name");
    train->add_option("--model", o.model,
                      "base model folder (Hugging Face layout); default: the bundled model");
    train->add_option("--data", o.data,
                      "dataset: .jsonl, .json, .csv or .txt; default: the bundled dataset");
    train->add_option("--format", o.format, "auto, text, alpaca, prompt-completion or chat");
    train->add_option("--max-length", o.maxLength, "tokens per example")
        ->check(CLI::Range(2, 1'000'000));
    train->add_option("--validation-ratio", o.validationRatio, "share held out for eval")
        ->check(CLI::Range(0.0, 0.9));
    train->add_option("--method", o.method, methodNames(", "));
    train->add_option("--r", o.r, "rank (LoRA family, VeRA) or block size (Bone, Bat)");
    train->add_option("--alpha", o.alpha, "LoRA alpha");
    train->add_option("--dropout", o.dropout, "adapter dropout");
    train->add_option("--targets", o.targets, "comma-separated target modules, or all-linear");
    train->add_flag("--rslora", o.useRslora, "rank-stabilised LoRA scaling (alpha / sqrt(r))");
    train->add_option("--loraplus-ratio", o.loraPlusRatio, "LoRA+ learning-rate ratio of B to A");
    train->add_option("--init-r", o.initR, "AdaLoRA: every module's starting rank");
    train->add_option("--target-r", o.targetR, "AdaLoRA: the average rank it prunes down to");
    train->add_option("--tinit", o.tinit, "AdaLoRA: steps before pruning starts");
    train->add_option("--tfinal", o.tfinal, "AdaLoRA: final steps at the target budget");
    train->add_option("--delta-t", o.deltaT, "AdaLoRA: steps between rank updates");
    train->add_option("--proxy", o.proxy,
                      "HeteroLoRA: zero-cost proxy grad-norm, snip, synflow or random");
    train
        ->add_option("--budget-fraction", o.budgetFraction,
                     "HeteroLoRA: share of the target modules switched on")
        ->check(CLI::Range(0.0, 1.0));
    train->add_option("--realloc-every", o.reallocEvery,
                      "HeteroLoRA: re-score and re-choose every N steps (0: once, at the start)");
    train->add_flag("--shortcuts", o.isShortcuts,
                    "HeteroLoRA: the 4 LoRA-adapted shortcut connections per layer are units too");
    train->add_flag("--separate-budgets", o.isSeparateBudgets,
                    "HeteroLoRA with --shortcuts: switch on the budget fraction of the modules and "
                    "of the shortcuts separately (default: one ranking)");
    train->add_option("--steps", o.loop.steps, "optimiser steps (0: use --epochs)");
    train->add_option("--epochs", o.loop.epochs, "passes over the training data");
    train->add_option("--batch-size", o.loop.batchSize, "examples per micro-batch");
    train->add_option("--grad-accum", o.loop.gradAccumulation, "micro-batches per optimiser step");
    train->add_option("--lr", o.loop.learningRate, "learning rate");
    train->add_option("--weight-decay", o.loop.weightDecay, "AdamW weight decay");
    train->add_option("--scheduler", o.loop.scheduler, "constant, linear or cosine");
    train->add_option("--warmup-steps", o.loop.warmupSteps, "linear warm-up steps");
    train
        ->add_option("--warmup-ratio", o.warmupRatio,
                     "or a share of the steps (without --warmup-steps)")
        ->check(CLI::Range(0.0, 1.0));
    train->add_option("--max-grad-norm", o.maxGradNorm, "gradient clipping (0: off)");
    train->add_option("--seed", o.loop.seed, "seed of data order, dropout and init");
    train->add_option("--device", o.loop.device, "auto, cpu, cuda or cuda:N");
    train->add_option("--precision", o.loop.precision, "auto, fp32, bf16 or fp16");
    train->add_flag("--gradient-checkpointing", o.isGradientCheckpointing,
                    "recompute each block's activations in the backward pass (less memory)");
    train->add_option("--eval-every", o.loop.evalEvery, "evaluate every N steps (0: at the end)");
    train->add_option("--save-every", o.loop.saveEvery, "checkpoint every N steps (0: at the end)");
}

void addTrainCommands(CLI::App& app, TrainCliOptions& o, std::string& databasePath, bool& isJson,
                      std::function<int(const CliContext&)>& action)
{
    CLI::App* train = app.add_subcommand(
        "train", "fine-tune a model with an adapter (a JSON run config, options, or both)");
    addTrainSpecOptions(*train, o);
    train->add_flag("--print-config", o.isPrintConfig,
                    "print the run config these options make, and do not train");
    train->add_option("--db", databasePath, "SQLite run store");
    train->add_flag("--json", isJson, "print JSON instead of text");
    train->callback([&] { action = [&o](const CliContext& c) { return cli::train(c, o); }; });

    CLI::App* resume =
        app.add_subcommand("resume", "continue a stopped or interrupted run from its checkpoint");
    resume->add_option("RUN_ID", o.resumeRunId, "the run's id (see `ftw runs list`)")->required();
    resume->add_option("--db", databasePath, "SQLite run store");
    resume->add_flag("--json", isJson, "print JSON instead of text");
    resume->callback([&] {
        action = [&o](const CliContext& c) {
            TrainSpec spec;
            spec.resumeRunId = o.resumeRunId;
            return runTrainJob(c, spec);
        };
    });

    CLI::App* eval = app.add_subcommand(
        "eval", "loss, perplexity and exact-match accuracy of a model (and adapter) on a dataset");
    eval->add_option("--model", o.eval.modelDir,
                     "base model folder; default: the one --adapter names, else the bundled model");
    eval->add_option("--adapter", o.eval.adapterDir, "adapter folder in PEFT's layout");
    eval->add_option("--data", o.eval.data.path, "dataset file; default: the bundled dataset");
    eval->add_option("--format", o.eval.data.format,
                     "auto, text, alpaca, prompt-completion or chat")
        ->capture_default_str();
    eval->add_option("--max-length", o.eval.data.maxLength, "tokens per example")
        ->capture_default_str();
    eval->add_option("--split", o.eval.split,
                     "all, or validation (the split a run with --seed holds out)")
        ->capture_default_str();
    eval->add_option("--validation-ratio", o.eval.data.validationRatio, "as in the run")
        ->capture_default_str();
    eval->add_option("--seed", o.eval.seed, "the run's seed, for --split validation")
        ->capture_default_str();
    eval->add_option("--answer", o.answer,
                     "exact-match accuracy: none, gsm8k, regex, first-line or full")
        ->capture_default_str();
    eval->add_option("--answer-regex", o.eval.answerRegex, "the answer pattern for --answer regex");
    eval->add_option("--max-new-tokens", o.eval.maxNewTokens, "generation length for accuracy")
        ->capture_default_str();
    eval->add_option("--limit", o.eval.accuracyLimit, "examples generated for accuracy (0: all)")
        ->capture_default_str();
    eval->add_option("--batch-size", o.eval.batchSize, "examples per batch")->capture_default_str();
    eval->add_option("--device", o.eval.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    eval->add_option("--db", databasePath, "SQLite run store");
    eval->add_flag("--json", isJson, "print JSON instead of text");
    eval->callback([&] { action = [&o](const CliContext& c) { return cli::evaluate(c, o); }; });
}

Expected<std::string> readConfigText(const std::string& path, const std::string& what)
{
    std::ifstream in(path);
    if (!in) {
        return ErrorInfo{ErrorCode::NotFound, "cannot read the " + what + " '" + path + "'", {}};
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Status useBundledDefaults(std::filesystem::path& modelDir, std::filesystem::path* dataFile)
{
    const bool needsData = dataFile != nullptr && dataFile->empty();
    if (!modelDir.empty() && !needsData) {
        return {};
    }
    const Expected<BundledDefaults> defaults = findBundledDefaults();
    if (!defaults) {
        const std::string missing =
            modelDir.empty() ? (needsData ? "--model and --data" : "--model") : "--data";
        return ErrorInfo{defaults.error().code,
                         "no " + missing + " given, and no bundled default to use instead: " +
                             defaults.error().message,
                         {}};
    }
    if (modelDir.empty()) {
        modelDir = defaults->modelDir;
    }
    if (needsData) {
        *dataFile = defaults->datasetFile;
    }
    return {};
}

Status useAdapterBaseModel(std::filesystem::path& modelDir, const std::filesystem::path& adapterDir)
{
    if (!modelDir.empty() || adapterDir.empty()) {
        return {};
    }
    const Expected<std::filesystem::path> base = adapterBaseModel(adapterDir);
    if (!base) {
        return ErrorInfo{
            base.error().code, "no --model given: " + base.error().message + "; give --model", {}};
    }
    modelDir = *base;
    return {};
}

void applyLoopOptions(const LoopCliOptions& o, TrainConfig& train)
{
    if (o.steps) {
        train.maxSteps = *o.steps;
    } else if (o.epochs) {
        train.maxSteps = 0;
    }
    applyIf(o.epochs, train.epochs);
    applyIf(o.batchSize, train.batchSize);
    applyIf(o.gradAccumulation, train.gradAccumulation);
    applyIf(o.learningRate, train.learningRate);
    applyIf(o.weightDecay, train.weightDecay);
    applyIf(o.scheduler, train.lrScheduler);
    applyIf(o.warmupSteps, train.warmupSteps);
    applyIf(o.seed, train.seed);
    applyIf(o.device, train.device);
    applyIf(o.precision, train.precision);
    applyIf(o.evalEvery, train.evalEverySteps);
    applyIf(o.saveEvery, train.saveEverySteps);
}

Expected<TrainSpec> trainSpecFromOptions(const TrainCliOptions& o)
{
    TrainSpec spec;
    if (o.configFile.empty() && !o.model && !o.data) {
        // Nothing chosen: the bundled run config (its model, dataset and settings), when this
        // FTW has one; the options below still apply over it.
        if (Expected<TrainSpec> bundled = bundledTrainSpec(); bundled) {
            spec = std::move(*bundled);
        }
    }
    if (!o.configFile.empty()) {
        const Expected<std::string> text = readConfigText(o.configFile, "run config");
        if (!text) {
            return text.error();
        }
        Expected<TrainSpec> parsed =
            parseRunConfig(*text, o.configFile, std::filesystem::path(o.configFile).parent_path());
        if (!parsed) {
            return parsed.error();
        }
        spec = std::move(*parsed);
    }
    applyIf(o.name, spec.runName);
    if (o.model) {
        spec.modelDir = *o.model;
    }
    if (o.data) {
        spec.data.path = *o.data;
    }
    // Nothing chosen: the bundled default model and dataset, when this FTW has them (without
    // them the run's validation names what is missing).
    (void)useBundledDefaults(spec.modelDir, &spec.data.path);
    applyIf(o.format, spec.data.format);
    applyIf(o.maxLength, spec.data.maxLength);
    applyIf(o.validationRatio, spec.data.validationRatio);
    if (o.method) {
        const std::optional<AdapterMethod> method = parseAdapterMethod(*o.method);
        if (!method) {
            return ErrorInfo{ErrorCode::InvalidConfig,
                             "unknown method '" + *o.method + "'; expected one of " +
                                 methodNames(", "),
                             {}};
        }
        spec.adapter.method = *method;
    }
    applyIf(o.r, spec.adapter.r);
    applyIf(o.alpha, spec.adapter.alpha);
    applyIf(o.dropout, spec.adapter.dropout);
    if (o.targets) {
        spec.adapter.targetModules = splitList(*o.targets);
    }
    if (o.useRslora) {
        spec.adapter.useRslora = true;
    }
    applyIf(o.loraPlusRatio, spec.adapter.loraPlusRatio);
    applyIf(o.initR, spec.adapter.initR);
    applyIf(o.targetR, spec.adapter.targetR);
    applyIf(o.tinit, spec.adapter.tinit);
    applyIf(o.tfinal, spec.adapter.tfinal);
    applyIf(o.deltaT, spec.adapter.deltaT);
    if (o.proxy) {
        const std::optional<ZeroCostProxy> proxy = parseZeroCostProxy(*o.proxy);
        if (!proxy) {
            return ErrorInfo{ErrorCode::InvalidConfig,
                             "unknown proxy '" + *o.proxy +
                                 "'; expected grad-norm, snip, synflow or random",
                             {}};
        }
        spec.adapter.proxy = *proxy;
    }
    applyIf(o.budgetFraction, spec.adapter.budgetFraction);
    applyIf(o.reallocEvery, spec.adapter.reallocEvery);
    if (o.isShortcuts) {
        spec.adapter.shortcuts = true;
    }
    if (o.isSeparateBudgets) {
        spec.adapter.separateBudgets = true;
    }
    applyLoopOptions(o.loop, spec.train);
    applyIf(o.warmupRatio, spec.train.warmupRatio);
    applyIf(o.maxGradNorm, spec.train.maxGradNorm);
    if (o.isGradientCheckpointing) {
        spec.train.isGradientCheckpointing = true;
    }
    spec.adapter.seed = spec.train.seed;
    if (const Status valid = validateTrainSpec(spec); !valid) {
        return valid.error();
    }
    return spec;
}

int train(const CliContext& ctx, const TrainCliOptions& options)
{
    Expected<TrainSpec> spec = trainSpecFromOptions(options);
    if (!spec) {
        return fail(ctx, spec.error().message);
    }
    if (options.isPrintConfig) {
        ctx.out << runConfigJson(*spec) << '\n';
        return kExitOk;
    }
    return runTrainJob(ctx, *spec);
}

int evaluate(const CliContext& ctx, const TrainCliOptions& options)
{
    EvalSpec spec = options.eval;
    // An adapter's own base model, else the bundled one.
    if (const Status base = useAdapterBaseModel(spec.modelDir, spec.adapterDir); !base) {
        return fail(ctx, base.error().message);
    }
    if (const Status defaults = useBundledDefaults(spec.modelDir, &spec.data.path); !defaults) {
        return fail(ctx, defaults.error().message);
    }
    const std::optional<AnswerExtraction> extraction = parseAnswerExtraction(options.answer);
    if (!extraction) {
        return fail(ctx, "unknown --answer '" + options.answer +
                             "'; expected none, gsm8k, regex, first-line or full");
    }
    spec.answerExtraction = *extraction;
    return runJobAndReport(ctx, spec, [&](const JobResult& result) {
        if (result.status != JobStatus::Succeeded) {
            return;
        }
        const nlohmann::json out = nlohmann::json::parse(result.outputJson);
        ctx.out << "loss " << outputNumber(out, "loss", 4) << ", perplexity "
                << outputNumber(out, "perplexity", 3) << " over "
                << out["tokens"].get<std::int64_t>() << " tokens of "
                << out["examples"].get<std::int64_t>() << " examples (" << spec.split << ")\n";
        if (out.contains("accuracy")) {
            ctx.out << "accuracy " << out["correct"].get<std::int64_t>() << "/"
                    << out["total"].get<std::int64_t>() << " = "
                    << formatFixed(100.0 * out["accuracy"].get<double>(), 1) << "% ("
                    << options.answer << " answers)\n";
        }
    });
}

} // namespace ftw::cli
