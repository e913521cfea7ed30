// SPDX-License-Identifier: MIT
#include "cli.h"

#include "cli_context.h"
#include "commands.h"

#include <ftw/engine.h>
#include <ftw/log.h>
#include <ftw/models.h>
#include <ftw/version.h>

#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <string>

namespace ftw::cli {

int fail(const CliContext& ctx, const std::string& message)
{
    ctx.err << "ftw: " << message << '\n';
    return kExitFailure;
}

namespace {

struct Options {
    std::string databasePath;
    bool isJson = false;
    RunId runId = 0;
    DemoJobSpec demo;
    std::string modelDir;
    std::string architecture = "llama";
    std::uint64_t seed = 0;
    std::string tokenizerFile;
    std::string text;
    GenerateRequest generate;
    std::string adapterDir;
    DatasetPreviewRequest preview;
    BudgetRequest budget;
    MergeSpec merge;
    TokenizerTrainingRequest trainTokenizer;
    TrainCliOptions train;
    PretrainCliOptions pretrain;
    AllocateCliOptions allocate;
    SweepCliOptions sweep;
    DecomposeCliOptions decompose;
    BenchCliOptions bench;
    std::vector<RunId> compareIds;
};

void addCommonOptions(CLI::App* command, Options& options)
{
    command->add_option("--db", options.databasePath,
                        "SQLite run store (default: $FTW_DB, else $XDG_DATA_HOME/ftw/ftw.db)");
    command->add_flag("--json", options.isJson, "print JSON instead of text");
}

/// Routes engine log lines to `err` while a command runs; restores the previous sink after.
class LogToStream {
public:
    explicit LogToStream(std::ostream& err)
        : m_previous(setLogSink([&err](LogLevel level, std::string_view message) {
            if (level >= LogLevel::Warning) {
                err << "ftw: " << logLevelName(level) << ": " << message << '\n';
            }
        }))
    {
    }
    LogToStream(const LogToStream&) = delete;
    LogToStream& operator=(const LogToStream&) = delete;
    ~LogToStream() { setLogSink(std::move(m_previous)); }

private:
    LogSink m_previous;
};

} // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err)
{
    Options options;
    std::function<int(const CliContext&)> action;

    CLI::App app("FTW, the Fine-Tuning Workbench: fine-tune language models with adapters.", "ftw");
    app.set_version_flag("--version", "ftw " + std::string(versionString()) + " (LibTorch " +
                                          Engine::torchVersion() + ")");
    app.require_subcommand(1);

    CLI::App* runs = app.add_subcommand(
        "runs", "list and inspect the runs in the store (alone: the same as `ftw runs list`)");
    runs->require_subcommand(0, 1);
    addCommonOptions(runs, options);
    runs->callback([&] {
        if (!action) { // no subcommand set one
            action = [](const CliContext& c) { return cli::runsList(c); };
        }
    });
    CLI::App* runsList = runs->add_subcommand("list", "list all runs, newest first");
    addCommonOptions(runsList, options);
    runsList->callback([&] { action = [](const CliContext& c) { return cli::runsList(c); }; });

    CLI::App* runsShow = runs->add_subcommand("show", "show one run: status, config, metrics");
    runsShow->add_option("RUN_ID", options.runId, "the run's id (see `ftw runs list`)")->required();
    addCommonOptions(runsShow, options);
    runsShow->callback([&] {
        action = [&options](const CliContext& c) { return cli::runsShow(c, options.runId); };
    });

    CLI::App* runsCompare =
        runs->add_subcommand("compare", "compare runs: config differences and final metrics");
    runsCompare->add_option("RUN_ID", options.compareIds, "two or more run ids")
        ->required()
        ->expected(2, 100);
    addCommonOptions(runsCompare, options);
    runsCompare->callback([&] {
        action = [&options](const CliContext& c) {
            return cli::runsCompare(c, options.compareIds);
        };
    });

    CLI::App* makeTiny = app.add_subcommand(
        "make-tiny-model", "write a small random model of an architecture (for tests and trials)");
    makeTiny->add_option("OUT_DIR", options.modelDir, "folder to write")->required();
    makeTiny->add_option("--arch", options.architecture, "llama, mistral, qwen2, qwen3 or gpt2")
        ->capture_default_str()
        ->check(CLI::IsMember(supportedArchitectures()));
    makeTiny->add_option("--seed", options.seed, "random seed")->capture_default_str();
    makeTiny->add_flag("--json", options.isJson, "print JSON instead of text");
    makeTiny->callback([&] {
        action = [&options](const CliContext& c) {
            return cli::makeTinyModel(c, options.modelDir, options.architecture, options.seed);
        };
    });

    CLI::App* inspect = app.add_subcommand(
        "inspect-model", "show a model folder: architecture, sizes, weights, adapter targets");
    inspect->add_option("MODEL_DIR", options.modelDir, "Hugging Face model folder")->required();
    inspect->add_flag("--json", options.isJson, "print JSON instead of text");
    inspect->callback([&] {
        action = [&options](const CliContext& c) { return cli::inspectModel(c, options.modelDir); };
    });

    CLI::App* tokenize = app.add_subcommand("tokenize", "show the token ids of a text");
    auto* modelOption =
        tokenize->add_option("--model", options.modelDir, "model folder with tokenizer.json");
    auto* tokenizerOption =
        tokenize->add_option("--tokenizer", options.tokenizerFile, "a tokenizer.json");
    modelOption->excludes(tokenizerOption);
    tokenize->add_option("--text", options.text, "the text to tokenize (UTF-8)")->required();
    tokenize->add_flag("--json", options.isJson, "print the ids as one JSON array");
    tokenize->callback([&] {
        action = [&options](const CliContext& c) {
            if (options.modelDir.empty() && options.tokenizerFile.empty()) {
                return fail(c, "tokenize needs --model DIR or --tokenizer FILE");
            }
            return cli::tokenize(c, options.modelDir, options.tokenizerFile, options.text);
        };
    });

    CLI::App* generate = app.add_subcommand("generate", "continue a prompt with a model");
    generate->add_option("--model", options.generate.modelDir,
                         "model folder; default: the one --adapter names, else the bundled model");
    generate->add_option("--adapter", options.adapterDir,
                         "an adapter folder in PEFT's layout (adapter_config.json + safetensors)");
    generate->add_option("--prompt", options.generate.prompt, "the prompt (UTF-8)")->required();
    generate
        ->add_option("--max-new-tokens", options.generate.maxNewTokens,
                     "tokens to generate at most")
        ->capture_default_str()
        ->check(CLI::Range(1, 100'000));
    generate->add_option("--temperature", options.generate.temperature, "0 for greedy decoding")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 100.0));
    generate->add_option("--top-p", options.generate.topP, "nucleus sampling threshold")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    generate->add_option("--seed", options.generate.seed, "random seed for sampling")
        ->capture_default_str();
    generate->add_flag("--json", options.isJson, "print JSON with the text and the token ids");
    generate->callback([&] {
        action = [&options](const CliContext& c) {
            return cli::generate(c, options.generate, options.adapterDir);
        };
    });

    CLI::App* previewData =
        app.add_subcommand("preview-data", "show how a dataset will be read and trained on");
    previewData->add_option("--data", options.preview.dataFile, ".jsonl, .json, .csv or .txt")
        ->required();
    previewData->add_option("--model", options.preview.modelDir,
                            "model folder: adds tokens and loss masks");
    previewData
        ->add_option("--format", options.preview.format,
                     "auto, text, alpaca, prompt-completion or chat")
        ->capture_default_str();
    previewData
        ->add_option("--chat-template", options.preview.chatTemplate,
                     "auto, chatml, llama3, llama2, mistral or plain")
        ->capture_default_str();
    previewData->add_option("--limit", options.preview.limit, "examples to show")
        ->capture_default_str()
        ->check(CLI::Range(0, 1'000'000));
    previewData->add_option("--max-length", options.preview.maxLength, "sequence length")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
    previewData->add_flag("--packing", options.preview.isPacking,
                          "pack examples into full-length sequences");
    previewData->add_flag("--json", options.isJson, "print JSON");
    previewData->callback([&] {
        action = [&options](const CliContext& c) { return cli::previewData(c, options.preview); };
    });

    addBudgetCommand(app, options.budget, options.isJson, action);
    addMergeCommand(app, options.merge, options.isJson, action);
    addTrainTokenizerCommand(app, options.trainTokenizer, options.isJson, action);
    addTrainCommands(app, options.train, options.databasePath, options.isJson, action);
    addPretrainCommand(app, options.pretrain, options.databasePath, options.isJson, action);
    addAllocateCommand(app, options.allocate, options.databasePath, options.isJson, action);
    addSweepCommand(app, options.sweep, options.databasePath, options.isJson, action);
    addDecomposeCommand(app, options.decompose, options.databasePath, options.isJson, action);
    addBenchCommand(app, options.bench, options.databasePath, options.isJson, action);

    CLI::App* demo = app.add_subcommand(
        "demo", "run a small demonstration job (fits a linear model) and record it as a run");
    demo->add_option("--name", options.demo.runName, "run name")->capture_default_str();
    demo->add_option("--steps", options.demo.steps, "optimiser steps")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
    demo->add_option("--delay-ms", options.demo.stepDelayMs, "pause after each step")
        ->capture_default_str()
        ->check(CLI::Range(0, 10'000));
    demo->add_option("--fail-at", options.demo.failAtStep, "fail on purpose at this step");
    demo->add_option("--seed", options.demo.seed, "random seed")->capture_default_str();
    addCommonOptions(demo, options);
    demo->callback(
        [&] { action = [&options](const CliContext& c) { return cli::demo(c, options.demo); }; });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, out, err);
        return code == 0 ? kExitOk : kExitFailure;
    }

    const LogToStream logToStream(err);
    const CliContext ctx{out, err, options.databasePath, options.isJson};
    try {
        return action ? action(ctx) : fail(ctx, "no command given; see `ftw --help`");
    } catch (
        const std::exception& e) { // NOTE: commands report errors as values; this is a last resort
        return fail(ctx, std::string("unexpected error: ") + e.what());
    }
}

} // namespace ftw::cli
