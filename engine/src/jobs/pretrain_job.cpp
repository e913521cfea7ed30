// SPDX-License-Identifier: MIT
// The pretrain job: a Llama-architecture model of the requested shape, randomly initialised with
// the tokenizer's vocabulary, trained from scratch by the Trainer's full fine-tuning path (so that
// metrics, checkpoints, resume and cancellation are those of `ftw train`), sampled greedily before
// and after, and published to the output folder under `<out>.partial`, renamed when complete.
#include "pretrain_job.h"

#include "core/atomic_file.h"
#include "core/check.h"
#include "core/staged_folder.h"
#include "data/tokenizer.h"
#include "data/tokenizer_config.h"
#include "model/generator.h"
#include "model/model_loader.h"
#include "model/projections.h"
#include "model/tiny_model.h"
#include "storage/run_repository.h"
#include "train/trainer.h"

#include <ftw/pretrain.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <system_error>

namespace ftw::jobs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kOutputOption = "pretrain: output_dir (--out)";
/// The randomly initialised model, in the run folder: what the trainer loads, also on resume.
constexpr const char* kInitialModelFolder = "initial_model";

/// The special tokens a pretrained model is given: from the tokenizer_config.json beside the
/// tokenizer when it names them, else found by their usual names.
struct SpecialTokens {
    std::optional<std::string> bos;
    std::string eos;
    std::optional<std::string> pad;
};

SpecialTokens findSpecialTokens(const data::Tokenizer& tokenizer, const fs::path& tokenizerFile,
                                const fs::path& configFile)
{
    const data::TokenizerConfig config = data::readTokenizerConfig(configFile);
    auto pick = [&](const std::optional<std::string>& named,
                    std::initializer_list<const char*> usual,
                    const char* key) -> std::optional<std::string> {
        if (named) {
            FTW_CHECK(tokenizer.tokenToId(*named), ErrorCode::ModelFormat,
                      configFile.string() + ": " + key + " '" + *named + "' is not a token of '" +
                          tokenizerFile.string() + "'");
            return named;
        }
        for (const char* name : usual) {
            if (tokenizer.tokenToId(name)) {
                return std::string(name);
            }
        }
        return std::nullopt;
    };
    SpecialTokens tokens;
    tokens.bos =
        pick(config.bosToken, {"<|begin_of_text|>", "<s>", "<bos>", "<|bos|>", "<|startoftext|>"},
             "bos_token");
    const std::optional<std::string> eos =
        pick(config.eosToken, {"<|end_of_text|>", "</s>", "<eos>", "<|eos|>", "<|endoftext|>"},
             "eos_token");
    FTW_CHECK(eos, ErrorCode::ModelFormat,
              "pretrain: tokenizer (--tokenizer) '" + tokenizerFile.string() +
                  "' has no end-of-text token (none of <|end_of_text|>, </s>, <eos>, "
                  "<|endoftext|>, and no tokenizer_config.json beside it naming eos_token); the "
                  "model needs one to learn where a text ends");
    tokens.eos = *eos;
    tokens.pad = pick(config.padToken, {"<|pad|>", "<pad>", "[PAD]"}, "pad_token");
    return tokens;
}

/// The tokenizer_config.json beside the tokenizer (when there is one) with the special tokens
/// and the model's length filled in where it leaves them out.
std::string tokenizerConfigText(const fs::path& configFile, const SpecialTokens& tokens,
                                std::int64_t maxPositions)
{
    nlohmann::ordered_json config = nlohmann::ordered_json::object();
    if (std::error_code ec; fs::is_regular_file(configFile, ec)) {
        std::ifstream in(configFile);
        config = nlohmann::ordered_json::parse(in, nullptr, false);
        FTW_CHECK(!config.is_discarded() && config.is_object(), ErrorCode::ModelFormat,
                  configFile.string() + ": not a JSON object");
    }
    if (tokens.bos && !config.contains("bos_token")) {
        config["bos_token"] = *tokens.bos;
    }
    if (!config.contains("eos_token")) {
        config["eos_token"] = tokens.eos;
    }
    if (tokens.pad && !config.contains("pad_token")) {
        config["pad_token"] = *tokens.pad;
    }
    if (!config.contains("add_bos_token")) {
        config["add_bos_token"] = tokens.bos.has_value();
    }
    if (!config.contains("add_eos_token")) {
        config["add_eos_token"] = false;
    }
    config["model_max_length"] = maxPositions;
    return config.dump(2) + "\n";
}

model::ModelConfig modelConfigFor(const ModelShape& shape, const data::Tokenizer& tokenizer,
                                  const SpecialTokens& tokens)
{
    model::ModelConfig c;
    c.arch = model::ArchId::Llama;
    c.vocabSize = tokenizer.vocabSize();
    c.hiddenSize = shape.hiddenSize;
    c.intermediateSize = shape.intermediateSize;
    c.numLayers = shape.numLayers;
    c.numHeads = shape.numHeads;
    c.numKvHeads = shape.numKvHeads;
    c.headDim = shape.hiddenSize / shape.numHeads;
    c.maxPositions = shape.maxPositions;
    c.normEps = shape.normEps;
    c.ropeTheta = shape.ropeTheta;
    c.hiddenAct = "silu";
    c.tieWordEmbeddings = shape.tieWordEmbeddings;
    if (tokens.bos) {
        c.bosTokenId = tokenizer.tokenToId(*tokens.bos);
    }
    c.eosTokenIds = {*tokenizer.tokenToId(tokens.eos)};
    return c;
}

void checkInputs(const PretrainSpec& spec)
{
    if (const Status valid = validatePretrainSpec(spec); !valid) {
        throw Error(valid.error().code, valid.error().message);
    }
    std::error_code ec;
    FTW_CHECK(fs::is_regular_file(spec.tokenizerFile, ec), ErrorCode::NotFound,
              "pretrain: tokenizer (--tokenizer) '" + spec.tokenizerFile.string() +
                  "' is not a file; give a tokenizer.json (`ftw train-tokenizer` writes one)");
    FTW_CHECK(fs::is_regular_file(spec.data.path, ec), ErrorCode::NotFound,
              "pretrain: data.path (--data) '" + spec.data.path.string() + "' is not a file");
    core::checkOutputFolderFree(core::outputFolder(spec.outputDir, kOutputOption), kOutputOption);
}

/// Writes the randomly initialised model with the tokenizer files into `dir` (staged, renamed).
void writeInitialModel(const PretrainSpec& spec, const fs::path& dir, JobContext& ctx)
{
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(spec.tokenizerFile);
    const fs::path configFile = spec.tokenizerFile.parent_path() / "tokenizer_config.json";
    const SpecialTokens tokens = findSpecialTokens(tokenizer, spec.tokenizerFile, configFile);
    const model::ModelConfig config = modelConfigFor(spec.model, tokenizer, tokens);
    const fs::path partial = core::partialFolder(dir);
    std::error_code ec;
    fs::remove_all(partial, ec);
    (void)model::writeRandomModel(partial, config, spec.train.seed, model::pretrainingInit());
    fs::copy_file(spec.tokenizerFile, partial / "tokenizer.json",
                  fs::copy_options::overwrite_existing, ec);
    FTW_CHECK(!ec, ErrorCode::Io,
              "cannot copy '" + spec.tokenizerFile.string() + "': " + ec.message());
    core::writeFileAtomically(partial / "tokenizer_config.json",
                              tokenizerConfigText(configFile, tokens, config.maxPositions));
    core::publishFolder(partial, dir);
    ctx.log(LogLevel::Info, "pretrain: initial model written to " + dir.string() + " (BOS " +
                                tokens.bos.value_or("none") + ", EOS " + tokens.eos + ")");
}

/// A greedy continuation of the sample prompt by the model in `modelDir`; "" when not asked.
std::string greedySample(const PretrainSpec& spec, const fs::path& modelDir, JobContext& ctx)
{
    if (spec.sampleTokens <= 0) {
        return {};
    }
    model::LoadedModel loaded = model::loadModel(modelDir);
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(modelDir / "tokenizer.json");
    const data::TokenizerConfig config =
        data::readTokenizerConfig(modelDir / "tokenizer_config.json");
    std::vector<std::int64_t> prompt;
    if (const auto bos = tokenizer.bosIdToAdd(config.shouldAddBos, config.bosToken)) {
        prompt.push_back(*bos);
    }
    for (const std::int64_t id : tokenizer.encode(spec.samplePrompt)) {
        prompt.push_back(id);
    }
    if (prompt.empty()) {
        return {};
    }
    model::SamplingOptions options;
    options.maxNewTokens = static_cast<int>(spec.sampleTokens);
    options.stopTokenIds = loaded.config.eosTokenIds;
    loaded.decoder->eval();
    const model::Generation generation = model::generate(
        *loaded.decoder, prompt, options, [&ctx] { return ctx.isCancelRequested(); });
    ctx.throwIfCancelled();
    return tokenizer.decode(generation.tokens, /*skipSpecialTokens=*/true);
}

/// Copies the trained model folder to `folder` under its partial name and renames it.
void publishModel(const fs::path& trainedDir, const fs::path& folder)
{
    core::checkOutputFolderFree(folder, kOutputOption);
    const fs::path partial = core::partialFolder(folder);
    std::error_code ec;
    fs::remove_all(partial, ec); // left by a process that died while writing
    try {
        fs::copy(trainedDir, partial, fs::copy_options::recursive, ec);
        FTW_CHECK(!ec, ErrorCode::Io,
                  "cannot copy '" + trainedDir.string() + "' to '" + partial.string() +
                      "': " + ec.message());
        core::publishFolder(partial, folder);
    } catch (const std::exception&) {
        fs::remove_all(partial, ec);
        throw;
    }
}

void logShape(const model::ModelConfig& c, const PretrainSpec& spec, JobContext& ctx)
{
    const std::int64_t tokensPerStep =
        spec.train.batchSize * spec.train.gradAccumulation * spec.data.maxLength;
    ctx.log(LogLevel::Info,
            "pretrain: llama, hidden " + std::to_string(c.hiddenSize) + ", " +
                std::to_string(c.numLayers) + " layers, " + std::to_string(c.numHeads) +
                " heads (" + std::to_string(c.numKvHeads) + " KV), MLP " +
                std::to_string(c.intermediateSize) + ", vocabulary " + std::to_string(c.vocabSize) +
                ": " + std::to_string(model::modelParameterCount(c)) + " parameters (" +
                std::to_string(c.vocabSize * c.hiddenSize) + " in the embeddings); " +
                std::to_string(tokensPerStep) + " tokens per step" +
                (spec.data.isPacking ? "" : " at most") + " (" +
                std::to_string(spec.train.batchSize) + " x " + std::to_string(spec.data.maxLength) +
                " x " + std::to_string(spec.train.gradAccumulation) + ")");
}

/// Trains the run's initial model (from its newest checkpoint when `resumeRunId` > 0), samples
/// it and publishes it; the run's output JSON is the trainer's with the pretraining figures.
void trainAndPublish(const PretrainSpec& spec, RunId resumeRunId, JobContext& ctx)
{
    const fs::path initialDir = ctx.runDir() / kInitialModelFolder;
    const model::ModelConfig config = model::readModelFolderConfig(initialDir);
    logShape(config, spec, ctx);

    TrainSpec train;
    train.runName = spec.runName;
    train.modelDir = initialDir;
    train.data = spec.data;
    train.train = spec.train;
    train.adapter.method = AdapterMethod::Full;
    train.adapter.seed = spec.train.seed;
    train.resumeRunId = resumeRunId;
    train::TrainerOptions options;
    options.isRunProvided = true;
    train::Trainer(train, ctx, options).run();

    const fs::path trainedDir = ctx.runDir() / "model";
    json sample = {{"prompt", spec.samplePrompt},
                   {"before", greedySample(spec, initialDir, ctx)},
                   {"after", greedySample(spec, trainedDir, ctx)}};
    const fs::path folder = core::outputFolder(spec.outputDir, kOutputOption);
    publishModel(trainedDir, folder);

    ctx.flushMetrics();
    const std::vector<MetricPoint> losses =
        storage::RunRepository(ctx.database()).metrics(ctx.runId(), "train/loss");
    json output = json::parse(ctx.outputJson());
    output["kind"] = "pretrain";
    output["model_dir"] = folder.string();
    output["output_dir"] = folder.string();
    output["parameters"] = model::modelParameterCount(config);
    output["embedding_parameters"] = config.vocabSize * config.hiddenSize;
    output["vocab_size"] = config.vocabSize;
    output["tokens_per_step"] =
        spec.train.batchSize * spec.train.gradAccumulation * spec.data.maxLength;
    if (!losses.empty()) {
        output["first_train_loss"] = losses.front().value;
        output["last_train_loss"] = losses.back().value;
    }
    if (spec.sampleTokens > 0) {
        output["sample"] = sample;
    }
    ctx.setOutputJson(output.dump());
    ctx.log(LogLevel::Info, "pretrain: model written to " + folder.string());
    if (spec.sampleTokens > 0) {
        ctx.log(LogLevel::Info, "pretrain: sample after training: " + spec.samplePrompt +
                                    sample["after"].get<std::string>());
    }
}

void runPretrain(const PretrainSpec& spec, JobContext& ctx)
{
    ctx.createRun(storage::NewRun{
        .name = spec.runName,
        .kind = std::string(jobKindName(JobKind::Pretrain)),
        .method = std::string(adapterMethodName(AdapterMethod::Full)),
        .model = spec.outputDir.string(),
        .dataset = spec.data.path.string(),
        .configJson = pretrainConfigJson(spec),
        .seed = static_cast<std::int64_t>(spec.train.seed),
        .groupId = std::nullopt,
    });
    checkInputs(spec); // after the run exists, so that a bad setting leaves a failed run
    writeInitialModel(spec, ctx.runDir() / kInitialModelFolder, ctx);
    ctx.throwIfCancelled();
    trainAndPublish(spec, 0, ctx);
}

} // namespace

Job makePretrainJob(const PretrainSpec& spec)
{
    return Job{JobKind::Pretrain, spec.runName,
               [spec](JobContext& ctx) { runPretrain(spec, ctx); }};
}

bool isPretrainRun(RunId id, JobContext& ctx)
{
    const std::optional<RunDetail> run = storage::RunRepository(ctx.database()).findRun(id);
    return run && run->summary.kind == jobKindName(JobKind::Pretrain);
}

void resumePretrainRun(RunId id, JobContext& ctx)
{
    const std::optional<RunDetail> run = storage::RunRepository(ctx.database()).findRun(id);
    FTW_CHECK(run, ErrorCode::NotFound, "no run with id " + std::to_string(id) + " to resume");
    FTW_CHECK(run->summary.status != RunStatus::Succeeded, ErrorCode::InvalidArgument,
              "run " + std::to_string(id) + " has finished; there is nothing to resume");
    FTW_CHECK(run->summary.status != RunStatus::Running && run->summary.status != RunStatus::Queued,
              ErrorCode::InvalidArgument,
              "run " + std::to_string(id) + " is still running in another process; stop it first");
    Expected<PretrainSpec> spec =
        parsePretrainConfig(run->configJson, "the config of run " + std::to_string(id));
    if (!spec) {
        throw Error(spec.error().code, spec.error().message);
    }
    std::error_code ec;
    FTW_CHECK(fs::is_directory(run->runDir / kInitialModelFolder, ec), ErrorCode::NotFound,
              "run " + std::to_string(id) + " has no initial model to resume from; start it again");
    core::checkOutputFolderFree(core::outputFolder(spec->outputDir, kOutputOption), kOutputOption);
    ctx.adoptRun(id);
    trainAndPublish(*spec, id, ctx);
}

} // namespace ftw::jobs
