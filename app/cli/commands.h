// SPDX-License-Identifier: MIT
#pragma once

#include "cli_context.h"

#include <ftw/budget.h>
#include <ftw/datasets.h>
#include <ftw/defaults.h>
#include <ftw/generation.h>
#include <ftw/job.h>
#include <ftw/models.h>
#include <ftw/tokenizers.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace ftw::cli {

/// `ftw runs list`
int runsList(const CliContext& ctx);
/// `ftw runs show RUN_ID`
int runsShow(const CliContext& ctx, RunId id);
/// `ftw make-tiny-model OUT_DIR [--arch A] [--seed N]`
int makeTinyModel(const CliContext& ctx, const std::filesystem::path& outDir,
                  const std::string& architecture, std::uint64_t seed);
/// `ftw inspect-model MODEL_DIR`
int inspectModel(const CliContext& ctx, const std::filesystem::path& modelDir);
/// `ftw tokenize (--model DIR | --tokenizer FILE) --text TEXT`
int tokenize(const CliContext& ctx, const std::filesystem::path& modelDir,
             const std::filesystem::path& tokenizerFile, const std::string& text);
/// `ftw generate --model DIR [--adapter DIR] --prompt TEXT ...`
int generate(const CliContext& ctx, GenerateRequest request, const std::string& adapterDir);
/// `ftw preview-data --data FILE [--model DIR] [--format F] [--limit N]`
int previewData(const CliContext& ctx, const DatasetPreviewRequest& request);
/// What `ftw budget` was asked for, as parsed from its options.
struct BudgetRequest {
    std::filesystem::path modelDir;
    std::string method;            ///< checked by budget(), so that the message lists the methods
    AdapterConfig adapter;         ///< method-specific settings, targets, exclusions and layers
    MemoryOptions memory;          ///< weightDtype as typed ("bf16"); budget() upper-cases it
    std::int64_t targetParams = 0; ///< > 0: run the solver for this many parameters
    double targetPercent = 0.0;    ///< > 0: or for this percentage of the base
    BudgetTarget target;           ///< set by budget() from the two above
};

/// Registers `ftw budget` on `app`: its options fill `request` and `isJson`, and parsing it sets
/// `action`. All three must outlive the parse and the action.
void addBudgetCommand(CLI::App& app, BudgetRequest& request, bool& isJson,
                      std::function<int(const CliContext&)>& action);
/// `ftw budget --model DIR --method M [method options] [--targets a,b] [--target-params N] ...`
int budget(const CliContext& ctx, BudgetRequest request);
/// Registers `ftw merge`: its options fill `spec` and `isJson`; parsing it sets `action`.
void addMergeCommand(CLI::App& app, MergeSpec& spec, bool& isJson,
                     std::function<int(const CliContext&)>& action);
/// `ftw merge --model DIR --adapter DIR --out DIR [--dtype f32|f16|bf16] [--adapter-only]`
int merge(const CliContext& ctx, const MergeSpec& spec);
/// Registers `ftw train-tokenizer`: its options fill `request` and `isJson`; parsing it sets
/// `action`.
void addTrainTokenizerCommand(CLI::App& app, TokenizerTrainingRequest& request, bool& isJson,
                              std::function<int(const CliContext&)>& action);
/// `ftw train-tokenizer --data FILE [--vocab-size N] [--drop-first-field] --out DIR`
int trainTokenizer(const CliContext& ctx, const TokenizerTrainingRequest& request);

/// The training-loop options that `ftw train` (and the commands built on its options) and
/// `ftw pretrain` share. Unset options keep the value of the config file (or the default).
struct LoopCliOptions {
    std::optional<std::int64_t> steps;
    std::optional<double> epochs;
    std::optional<std::int64_t> batchSize;
    std::optional<std::int64_t> gradAccumulation;
    std::optional<double> learningRate;
    std::optional<double> weightDecay;
    std::optional<std::string> scheduler;
    std::optional<std::int64_t> warmupSteps;
    std::optional<std::uint64_t> seed;
    std::optional<std::string> device;
    std::optional<std::string> precision;
    std::optional<std::int64_t> evalEvery;
    std::optional<std::int64_t> saveEvery;
};

/// Sets what `options` give over `train`. --epochs without --steps trains by epochs (max steps
/// 0), also over a config that counts steps; --steps wins where both are given.
void applyLoopOptions(const LoopCliOptions& options, TrainConfig& train);

/// What `ftw train`, `ftw resume` and `ftw eval` were given. Unset options keep the value of the
/// run config file (or the default).
struct TrainCliOptions {
    std::string configFile;
    std::optional<std::string> name;
    std::optional<std::string> model;
    std::optional<std::string> data;
    std::optional<std::string> format;
    std::optional<std::int64_t> maxLength;
    std::optional<double> validationRatio;
    std::optional<std::string> method;
    std::optional<std::int64_t> r;
    std::optional<double> alpha;
    std::optional<double> dropout;
    std::optional<std::string> targets;
    bool useRslora = false;
    std::optional<double> loraPlusRatio;
    std::optional<std::int64_t> initR; ///< AdaLoRA
    std::optional<std::int64_t> targetR;
    std::optional<std::int64_t> tinit;
    std::optional<std::int64_t> tfinal;
    std::optional<std::int64_t> deltaT;
    std::optional<std::string> proxy; ///< HeteroLoRA
    std::optional<double> budgetFraction;
    std::optional<std::int64_t> reallocEvery;
    bool isShortcuts = false;       ///< HeteroLoRA: the shortcut connections are units too
    bool isSeparateBudgets = false; ///< HeteroLoRA: p of the modules and p of the shortcuts
    LoopCliOptions loop;
    std::optional<double> warmupRatio;
    std::optional<double> maxGradNorm;
    bool isGradientCheckpointing = false; ///< set: on (unset keeps the config's value)
    bool isPrintConfig = false;
    RunId resumeRunId = 0;
    EvalSpec eval;
    std::string answer = "none";
};

/// What `ftw pretrain` was given. Unset options keep the value of the config file (or the
/// PretrainSpec default).
struct PretrainCliOptions {
    std::string configFile;
    std::optional<std::string> name;
    std::optional<std::string> tokenizer;
    std::optional<std::string> data;
    std::optional<std::string> out;
    std::optional<std::int64_t> hidden;
    std::optional<std::int64_t> layers;
    std::optional<std::int64_t> heads;
    std::optional<std::int64_t> kvHeads;
    std::optional<std::int64_t> intermediate;
    std::optional<std::int64_t> maxPositions;
    std::optional<double> ropeTheta;
    bool isUntiedEmbeddings = false;
    std::optional<std::int64_t> maxLength;
    std::optional<double> validationRatio;
    LoopCliOptions loop;
    std::optional<std::string> samplePrompt;
    std::optional<std::int64_t> sampleTokens;
    bool isPrintConfig = false;
};
/// Registers `ftw pretrain` on `app`.
void addPretrainCommand(CLI::App& app, PretrainCliOptions& options, std::string& databasePath,
                        bool& isJson, std::function<int(const CliContext&)>& action);
/// The PretrainSpec of `ftw pretrain`'s options over its --config file, with absolute paths.
/// Returns: the read or parse error of the config, naming the key.
[[nodiscard]] Expected<PretrainSpec> pretrainSpecFromOptions(const PretrainCliOptions& options);
/// `ftw pretrain (--config FILE | options) --tokenizer FILE --data FILE --out DIR`
int pretrain(const CliContext& ctx, const PretrainCliOptions& options);

/// Fills what the user left empty (the model folder, and the dataset file where given) with the
/// bundled default model and dataset, for commands that default to them. Returns: NotFound
/// saying which option was not given and where no bundled model was found.
[[nodiscard]] Status useBundledDefaults(std::filesystem::path& modelDir,
                                        std::filesystem::path* dataFile = nullptr);
/// Fills an empty model folder with the base model that `adapterDir` names (see
/// adapterBaseModel()) when an adapter is given. Returns: that function's error, saying to give
/// --model.
[[nodiscard]] Status useAdapterBaseModel(std::filesystem::path& modelDir,
                                         const std::filesystem::path& adapterDir);

/// Registers `ftw train`, `ftw resume` and `ftw eval` on `app`.
void addTrainCommands(CLI::App& app, TrainCliOptions& options, std::string& databasePath,
                      bool& isJson, std::function<int(const CliContext&)>& action);
/// The whole text of a config file. Returns: NotFound "cannot read the <what> '<path>'".
[[nodiscard]] Expected<std::string> readConfigText(const std::string& path,
                                                   const std::string& what);
/// The TrainSpec of `ftw train`'s options over its --config file. Returns: the parse or validation
/// error of the config, naming the field.
[[nodiscard]] Expected<TrainSpec> trainSpecFromOptions(const TrainCliOptions& options);
/// Adds the options of a run config (--config, --model, --method, --r, --steps, ...) to `command`
/// (`ftw train`, `ftw sweep`).
void addTrainSpecOptions(CLI::App& command, TrainCliOptions& options);

/// What `ftw sweep` was given: a run config (as `ftw train` takes it), the methods and the budget.
struct SweepCliOptions {
    TrainCliOptions train;
    std::string methods;
    std::optional<double> targetParams;
    std::optional<double> targetPercent;
    std::optional<std::string> targetMethod;
};
/// Registers `ftw sweep` on `app`.
void addSweepCommand(CLI::App& app, SweepCliOptions& options, std::string& databasePath,
                     bool& isJson, std::function<int(const CliContext&)>& action);
/// `ftw sweep (--config RUN.json | options) --methods a,b,c (--target-params N | --target-percent
/// P)`
int sweep(const CliContext& ctx, const SweepCliOptions& options);
/// What `ftw allocate` was given: the run to allocate for (as `ftw train` takes it, with --proxy
/// and --budget-fraction), and the allocation's own options.
struct AllocateCliOptions {
    TrainCliOptions train;
    std::optional<std::int64_t> budgetParams;
    std::string ranks; ///< "0,2,4,8": ranks from a set; empty: on at r or off
    std::optional<std::int64_t> batches;
    std::optional<std::int64_t> scoreWarmup;
    std::string outConfig;
    bool isTrain = false;
};
/// Registers `ftw allocate` on `app`.
void addAllocateCommand(CLI::App& app, AllocateCliOptions& options, std::string& databasePath,
                        bool& isJson, std::function<int(const CliContext&)>& action);
/// `ftw allocate --model DIR --data FILE [--targets a,b] [--r 8] [--proxy P] [--budget-fraction F |
/// --budget-params N] [--ranks 0,2,4,8] [--batches K] [--shortcuts [--separate-budgets]]
/// [--out-config FILE] [--train]`
int allocate(const CliContext& ctx, const AllocateCliOptions& options);
/// What `ftw decompose` was given: the spec's model, output, eval data, seed and name, and the
/// pruning options as typed (checked by decompose(), so that the message names the option).
struct DecomposeCliOptions {
    DecomposeSpec spec;
    std::optional<double> pruneRatio;
    std::optional<double> pruneThreshold;
};
/// What `ftw bench` was given: the run to time (as `ftw train` takes it; --steps counts the timed
/// steps and the data options do not apply) and the bench's own options.
struct BenchCliOptions {
    TrainCliOptions train;
    std::optional<std::string> shape;
    std::string saveModel;
    std::int64_t seqLength = 128;
    std::int64_t untimedSteps = 2;
    bool isMergeSkipped = false;
    std::string mergeDtype = "f32";
};
/// Registers `ftw bench` on `app`.
void addBenchCommand(CLI::App& app, BenchCliOptions& options, std::string& databasePath,
                     bool& isJson, std::function<int(const CliContext&)>& action);
/// `ftw bench [--shape NAME | --model DIR] [run options] [--seq-len L] [--steps N]`
int bench(const CliContext& ctx, const BenchCliOptions& options);
/// Registers `ftw decompose` on `app`.
void addDecomposeCommand(CLI::App& app, DecomposeCliOptions& options, std::string& databasePath,
                         bool& isJson, std::function<int(const CliContext&)>& action);
/// `ftw decompose --model DIR [--out DIR] [--prune-ratio R | --prune-threshold T] [--data FILE]`
int decompose(const CliContext& ctx, const DecomposeCliOptions& options);
/// `ftw train (--config RUN.json | options)`
int train(const CliContext& ctx, const TrainCliOptions& options);
/// `ftw eval --model DIR [--adapter DIR] --data FILE ...`
int evaluate(const CliContext& ctx, const TrainCliOptions& options);
/// `ftw runs compare RUN_ID RUN_ID...`
int runsCompare(const CliContext& ctx, const std::vector<RunId>& ids);

/// `ftw demo`: runs the demonstration job with a progress bar; Ctrl-C cancels it (exit 3).
int demo(const CliContext& ctx, const DemoJobSpec& spec);

} // namespace ftw::cli
