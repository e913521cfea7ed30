// SPDX-License-Identifier: MIT
// The decompose job (seed-papers.md 2.2-2.4, 2.8): CLOVER's absorb-decompose of every attention
// head, the check that the reparameterised model computes what the original does, pruning by
// singular value next to vanilla pruning of as many original head dimensions, and the folded
// model written as standard weights under `<out>.partial`, verified and renamed.
#include "decompose_job.h"

#include "clover/reparam.h"
#include "core/check.h"
#include "core/staged_folder.h"
#include "data/tokenizer.h"
#include "eval/eval_loss.h"
#include "merge/merged_model.h"
#include "model/model_loader.h"
#include "model/projections.h"
#include "train/training_data.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <system_error>

namespace ftw::jobs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kComparedSequences = 4;
constexpr std::int64_t kComparedLength = 32;
constexpr std::int64_t kEvalBatchSize = 8;
constexpr std::string_view kOutputOption = "decompose: outputDir";

/// "1.23e-05": three significant digits, for differences of any size.
std::string shortNumber(double value)
{
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.3g", value);
    return buffer.data();
}

bool isPruning(const DecomposeSpec& spec)
{
    return spec.pruneRatio != 0.0 || spec.pruneThreshold != 0.0;
}

void validate(const DecomposeSpec& spec)
{
    FTW_CHECK(!spec.modelDir.empty(), ErrorCode::InvalidConfig,
              "decompose: modelDir is empty: give the model folder");
    FTW_CHECK(std::isfinite(spec.pruneRatio) && spec.pruneRatio >= 0.0 && spec.pruneRatio < 1.0,
              ErrorCode::InvalidConfig,
              "decompose: the prune ratio must be in (0, 1) (0: no pruning by ratio), not " +
                  std::to_string(spec.pruneRatio));
    FTW_CHECK(std::isfinite(spec.pruneThreshold) && spec.pruneThreshold >= 0.0,
              ErrorCode::InvalidConfig,
              "decompose: the prune threshold must be a finite number above 0 (0: no pruning by "
              "threshold), not " +
                  std::to_string(spec.pruneThreshold));
    FTW_CHECK(spec.pruneRatio == 0.0 || spec.pruneThreshold == 0.0, ErrorCode::InvalidConfig,
              "decompose: give a prune ratio or a prune threshold, not both");
    if (!spec.outputDir.empty()) {
        core::checkOutputFolderFree(core::outputFolder(spec.outputDir, kOutputOption),
                                    kOutputOption);
    }
    if (!spec.evalData.path.empty()) {
        std::error_code ec;
        FTW_CHECK(fs::is_regular_file(spec.evalData.path, ec), ErrorCode::NotFound,
                  "decompose: the eval data '" + spec.evalData.path.string() + "' is not a file");
    }
}

json configJson(const DecomposeSpec& spec)
{
    return {{"kind", "decompose"},
            {"name", spec.runName},
            {"model", spec.modelDir.string()},
            {"out", spec.outputDir.string()},
            {"prune_ratio", spec.pruneRatio},
            {"prune_threshold", spec.pruneThreshold},
            {"data", spec.evalData.path.string()},
            {"format", spec.evalData.format},
            {"max_length", spec.evalData.maxLength},
            {"seed", spec.seed}};
}

/// The fixed batch the logits are compared on: kComparedSequences sequences of seeded token ids
/// (splitmix64, the same on every platform).
std::vector<merge::VerificationPrompt> fixedBatch(const model::ModelConfig& config,
                                                  std::uint64_t seed)
{
    std::uint64_t state = seed;
    auto next = [&state] {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31U);
    };
    const std::int64_t length = std::min(kComparedLength, config.maxPositions);
    std::vector<merge::VerificationPrompt> batch(kComparedSequences);
    for (merge::VerificationPrompt& prompt : batch) {
        for (std::int64_t i = 0; i < length; ++i) {
            prompt.ids.push_back(
                static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(config.vocabSize)));
        }
    }
    return batch;
}

/// The eval data's examples, read with the model's tokenizer.
struct EvalSet {
    std::vector<data::TokenizedExample> examples;
    std::int64_t padId = 0;
    std::int64_t tokens = 0; ///< trained tokens, filled by the first loss
};

std::optional<EvalSet> loadEvalSet(const DecomposeSpec& spec, const model::ModelConfig& config,
                                   JobContext& ctx)
{
    if (spec.evalData.path.empty()) {
        return std::nullopt;
    }
    const fs::path tokenizerFile = spec.modelDir / "tokenizer.json";
    FTW_CHECK(fs::exists(tokenizerFile), ErrorCode::NotFound,
              "'" + spec.modelDir.string() + "' has no tokenizer.json to read the eval data with");
    DataConfig data = spec.evalData;
    if (data.maxLength > config.maxPositions) {
        ctx.log(LogLevel::Info, "decompose: eval examples are cut to the model's " +
                                    std::to_string(config.maxPositions) + " positions");
        data.maxLength = config.maxPositions;
    }
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
    train::EncodedDataset dataset =
        train::encodeDataset(data, spec.modelDir, tokenizer, config.eosTokenIds);
    return EvalSet{std::move(dataset.examples), dataset.padId, 0};
}

/// How one model compares with the original.
struct Measured {
    double maxAbsDiff = 0.0;
    double meanAbsDiff = 0.0;
    bool isWithinTolerance = false; ///< within fp32 rounding of the original (merge's tolerance)
    std::optional<double> evalLoss;
};

struct Reference {
    std::vector<merge::VerificationPrompt> batch;
    std::vector<at::Tensor> logits;
};

Measured measure(nn::DecoderImpl& decoder, const Reference& reference,
                 std::optional<EvalSet>& evalSet, bool isEvaluated, JobContext& ctx)
{
    const std::vector<at::Tensor> logits = merge::computeLogits(decoder, reference.batch);
    const merge::Verification diff = merge::compareLogits(
        reference.batch, reference.logits, logits, reference.logits, merge::ExportDType::F32);
    Measured result{diff.maxAbsDiff, diff.meanAbsDiff, diff.isPassed, std::nullopt};
    if (evalSet && isEvaluated) {
        const eval::EvalLoss loss =
            eval::evaluateLoss(decoder, evalSet->examples, kEvalBatchSize, evalSet->padId,
                               c10::Device(c10::kCPU), at::kFloat, &ctx);
        result.evalLoss = loss.loss;
        evalSet->tokens = loss.tokens;
    }
    ctx.throwIfCancelled();
    return result;
}

const char* qkPathName(clover::QkPath path)
{
    return path == clover::QkPath::Absorbed ? "absorbed" : "key_qr";
}

const char* voPathName(clover::VoPath path)
{
    return path == clover::VoPath::Absorbed ? "absorbed" : "value_qr";
}

std::int64_t removedIn(const std::vector<std::vector<at::Tensor>>& kept, std::size_t layer)
{
    std::int64_t removed = 0;
    if (!kept.empty()) {
        for (const at::Tensor& keep : kept.at(layer)) {
            removed += keep.size(0) - keep.sum().item<std::int64_t>();
        }
    }
    return removed;
}

/// [smallest, largest] singular value over the heads of one absorbed pair; null for QR paths.
json singularRange(const std::vector<clover::ThinSvd>& heads)
{
    if (heads.empty()) {
        return nullptr;
    }
    double low = heads.front().s.min().item<double>();
    double high = heads.front().s.max().item<double>();
    for (const clover::ThinSvd& svd : heads) {
        low = std::min(low, svd.s.min().item<double>());
        high = std::max(high, svd.s.max().item<double>());
    }
    return json::array({low, high});
}

json layersJson(const clover::ModelDecomposition& dec, const clover::KeptDirections& kept,
                JobContext& ctx)
{
    json layers = json::array();
    for (std::size_t i = 0; i < dec.layers.size(); ++i) {
        const clover::LayerDecomposition& layer = dec.layers[i];
        const std::int64_t qkRemoved = removedIn(kept.qk, i);
        const std::int64_t voRemoved = removedIn(kept.vo, i);
        layers.push_back({{"layer", i},
                          {"qk_path", qkPathName(dec.qkPath)},
                          {"vo_path", voPathName(dec.voPath)},
                          {"qk_singular_range", singularRange(layer.qk)},
                          {"vo_singular_range", singularRange(layer.vo)},
                          {"qk_directions_removed", qkRemoved},
                          {"vo_directions_removed", voRemoved}});
        ctx.log(LogLevel::Info, "decompose: layer " + std::to_string(i) + ": Q-K " +
                                    qkPathName(dec.qkPath) + ", V-O " + voPathName(dec.voPath) +
                                    "; removed " + std::to_string(qkRemoved) + " Q-K and " +
                                    std::to_string(voRemoved) + " V-O directions");
    }
    return layers;
}

json lossJson(const std::optional<double>& loss)
{
    return loss ? json(*loss) : json(nullptr);
}

json methodJson(const std::string& method, const Measured& m, const clover::PruneCount& count,
                std::int64_t modelParams)
{
    const std::int64_t removed = count.removedParams();
    return {{"method", method},
            {"qk_directions_removed", count.qkRemovedDirections},
            {"vo_directions_removed", count.voRemovedDirections},
            {"directions_removed", count.qkRemovedDirections + count.voRemovedDirections},
            {"params_removed", removed},
            {"params_after", modelParams - removed},
            {"max_abs_dlogits", m.maxAbsDiff},
            {"mean_abs_dlogits", m.meanAbsDiff},
            {"eval_loss", lossJson(m.evalLoss)}};
}

void recordMeasured(JobContext& ctx, const std::string& method, const Measured& m)
{
    const std::string prefix = "decompose/" + method + "_";
    ctx.recordMetric(prefix + "max_abs_dlogits", MetricPoint{0, 0.0, 0, 0, m.maxAbsDiff});
    ctx.recordMetric(prefix + "mean_abs_dlogits", MetricPoint{0, 0.0, 0, 0, m.meanAbsDiff});
    if (m.evalLoss) {
        ctx.recordMetric(prefix + "eval_loss", MetricPoint{0, 0.0, 0, 0, *m.evalLoss});
    }
}

/// Writes `decoder` as a Hugging Face folder at `folder`, staged under its partial name and
/// published only when a reload reproduces `expected` on the reference batch.
json writeOutput(nn::DecoderImpl& decoder, const DecomposeSpec& spec, const fs::path& folder,
                 const Reference& reference, const std::vector<at::Tensor>& expected,
                 JobContext& ctx)
{
    const fs::path partial = core::partialFolder(folder);
    std::error_code ec;
    fs::remove_all(partial, ec); // left by a process that died while writing
    try {
        fs::create_directories(partial, ec);
        FTW_CHECK(!ec, ErrorCode::Io, "cannot create '" + partial.string() + "': " + ec.message());
        ctx.log(LogLevel::Info, "decompose: writing the folded model to '" + folder.string() + "'");
        merge::writeMergedWeights(decoder, partial, merge::ExportDType::F32,
                                  [&ctx](std::int64_t, std::int64_t) { ctx.throwIfCancelled(); });
        merge::writeModelFiles(spec.modelDir, partial, merge::ExportDType::F32);
        model::LoadedModel written = model::loadModel(partial);
        const std::vector<at::Tensor> actual =
            merge::computeLogits(*written.decoder, reference.batch);
        const merge::Verification check = merge::compareLogits(reference.batch, expected, actual,
                                                               expected, merge::ExportDType::F32);
        FTW_CHECK(check.isPassed, ErrorCode::Internal,
                  "decompose: the written model does not reproduce the folded one (max |delta "
                  "logits| " +
                      shortNumber(check.maxAbsDiff) + "); nothing was written");
        ctx.throwIfCancelled();
        core::publishFolder(partial, folder);
        return {{"path", folder.string()},
                {"reloaded_max_abs_dlogits", check.maxAbsDiff},
                {"shapes", "original: removed directions are zero columns of W_Q, W_K, W_V (and "
                           "their biases) and zero rows of W_O"}};
    } catch (const std::exception&) {
        fs::remove_all(partial, ec); // best effort: an error or a cancellation is on its way
        throw;
    }
}

void reportStep(JobContext& ctx, std::int64_t step, std::int64_t total)
{
    JobProgress progress;
    progress.step = step;
    progress.totalSteps = total;
    ctx.reportProgress(progress);
}

clover::KeptDirections prunedDirections(const DecomposeSpec& spec,
                                        const clover::ModelDecomposition& dec)
{
    try {
        return clover::cloverKept(dec, clover::PruneOptions{spec.pruneRatio, spec.pruneThreshold});
    } catch (const Error& e) {
        throw Error(ErrorCode::InvalidConfig, std::string("decompose: ") + e.what(), e.detail());
    }
}

/// What the job measured, and the model it leaves folded (and pruned when asked).
struct Outcome {
    model::LoadedModel model;
    Reference reference;
    std::optional<EvalSet> evalSet;
    clover::ModelDecomposition dec;
    clover::KeptDirections kept; ///< empty: nothing pruned
    clover::PruneCount count;
    json layers; ///< per layer: paths, singular value ranges, directions removed
    Measured original;
    Measured lossless; ///< the reparameterisation alone
    Measured pruned;   ///< CLOVER pruning (the lossless figures when not pruning)
    std::optional<Measured> vanilla;
};

/// Loads, decomposes and measures the original, vanilla-pruned, reparameterised and CLOVER-pruned
/// models, one model in memory at a time (vanilla pruning needs the original weights, so the
/// model is loaded again for CLOVER).
Outcome decomposeAndMeasure(const DecomposeSpec& spec, JobContext& ctx, std::int64_t totalSteps)
{
    const bool isPruned = isPruning(spec);
    ctx.log(LogLevel::Info, "decompose: loading '" + spec.modelDir.string() + "'");
    Outcome o;
    o.model = model::loadModel(spec.modelDir);
    o.evalSet = loadEvalSet(spec, o.model.config, ctx);
    o.reference.batch = fixedBatch(o.model.config, spec.seed);
    o.reference.logits = merge::computeLogits(*o.model.decoder, o.reference.batch);
    o.original = measure(*o.model.decoder, o.reference, o.evalSet, true, ctx);
    reportStep(ctx, 1, totalSteps);

    o.dec = clover::decompose(*o.model.decoder);
    o.kept = isPruned ? prunedDirections(spec, o.dec) : clover::KeptDirections{};
    o.count = clover::countPruned(o.dec, o.kept);
    o.layers = layersJson(o.dec, o.kept, ctx);
    reportStep(ctx, 2, totalSteps);
    if (isPruned) {
        const clover::KeptDirections vanillaKeep =
            clover::vanillaKept(*o.model.decoder, o.dec, o.kept);
        clover::writeVanillaPruned(*o.model.decoder, o.dec, vanillaKeep);
        o.vanilla = measure(*o.model.decoder, o.reference, o.evalSet, true, ctx);
        o.model = model::loadModel(spec.modelDir);
        reportStep(ctx, 3, totalSteps);
    }
    clover::writeFolded(*o.model.decoder, o.dec);
    o.lossless = measure(*o.model.decoder, o.reference, o.evalSet, !isPruned, ctx);
    // seed-papers.md 2.8: the reparameterisation must be exact (to fp32 rounding) before anything.
    FTW_CHECK(o.lossless.isWithinTolerance, ErrorCode::Internal,
              "decompose: the reparameterised model does not reproduce the original (max |delta "
              "logits| " +
                  shortNumber(o.lossless.maxAbsDiff) + ")");
    o.pruned = o.lossless;
    if (isPruned) {
        clover::writeFolded(*o.model.decoder, o.dec, o.kept);
        o.pruned = measure(*o.model.decoder, o.reference, o.evalSet, true, ctx);
    }
    reportStep(ctx, 3 + (isPruned ? 1 : 0), totalSteps);
    return o;
}

void recordMetrics(JobContext& ctx, const Outcome& o)
{
    if (o.original.evalLoss) {
        ctx.recordMetric("decompose/original_eval_loss",
                         MetricPoint{0, 0.0, 0, 0, *o.original.evalLoss});
    }
    recordMeasured(ctx, "reparam", o.lossless);
    if (o.vanilla) {
        recordMeasured(ctx, "clover", o.pruned);
        recordMeasured(ctx, "vanilla", *o.vanilla);
    }
    ctx.recordMetric("decompose/params_removed",
                     MetricPoint{0, 0.0, 0, 0, static_cast<double>(o.count.removedParams())});
}

json resultJson(const DecomposeSpec& spec, const Outcome& o, const json& written, RunId runId)
{
    const model::ModelConfig& c = o.model.config;
    const std::int64_t modelParams = model::modelParameterCount(c);
    const std::int64_t removed = o.count.removedParams();
    const std::int64_t attention = o.count.qkParams + o.count.voParams;
    json methods = json::array({methodJson("original", o.original, {}, modelParams),
                                methodJson("clover", o.pruned, o.count, modelParams)});
    if (o.vanilla) {
        methods.push_back(methodJson("vanilla", *o.vanilla, o.count, modelParams));
    }
    const char* mode =
        spec.pruneRatio > 0.0 ? "ratio" : (spec.pruneThreshold > 0.0 ? "threshold" : "lossless");
    return {
        {"run_id", runId},
        {"model", spec.modelDir.string()},
        {"arch", std::string(model::archName(c.arch))},
        {"layers_count", c.numLayers},
        {"heads", c.numHeads},
        {"kv_heads", c.numKvHeads},
        {"head_dim", c.headDim},
        {"qk_path", qkPathName(o.dec.qkPath)},
        {"vo_path", voPathName(o.dec.voPath)},
        {"mode", mode},
        {"prune_ratio", spec.pruneRatio > 0.0 ? json(spec.pruneRatio) : json(nullptr)},
        {"prune_threshold", spec.pruneThreshold > 0.0 ? json(spec.pruneThreshold) : json(nullptr)},
        {"compared_tokens",
         kComparedSequences * static_cast<std::int64_t>(o.reference.batch.front().ids.size())},
        {"reparameterisation",
         {{"max_abs_dlogits", o.lossless.maxAbsDiff},
          {"mean_abs_dlogits", o.lossless.meanAbsDiff}}},
        {"directions", {{"qk", o.count.qkDirections}, {"vo", o.count.voDirections}}},
        {"params",
         {{"model_before", modelParams},
          {"model_after", modelParams - removed},
          {"absorbed_attention_before", attention},
          {"absorbed_attention_after", attention - removed},
          {"removed", removed},
          {"qk_per_direction", o.count.qkParamsPerDirection},
          {"vo_per_direction", o.count.voParamsPerDirection}}},
        {"layers", o.layers},
        {"methods", methods},
        {"eval", o.evalSet ? json{{"data", spec.evalData.path.string()},
                                  {"examples", o.evalSet->examples.size()},
                                  {"tokens", o.evalSet->tokens}}
                           : json(nullptr)},
        {"output", written.empty() ? json(nullptr) : written},
    };
}

void logSummary(JobContext& ctx, const json& result)
{
    for (const json& m : result["methods"]) {
        ctx.log(LogLevel::Info,
                "decompose: " + m["method"].get<std::string>() + ": removed " +
                    std::to_string(m["directions_removed"].get<std::int64_t>()) + " directions, " +
                    std::to_string(m["params_removed"].get<std::int64_t>()) +
                    " parameters; max |delta logits| " +
                    shortNumber(m["max_abs_dlogits"].get<double>()) + ", mean " +
                    shortNumber(m["mean_abs_dlogits"].get<double>()) +
                    (m["eval_loss"].is_number()
                         ? "; eval loss " + shortNumber(m["eval_loss"].get<double>())
                         : std::string()));
    }
    ctx.log(LogLevel::Info,
            "decompose: the reparameterisation alone moves the logits by at most " +
                shortNumber(result["reparameterisation"]["max_abs_dlogits"].get<double>()) +
                " (fp32)");
}

void runDecompose(const DecomposeSpec& spec, JobContext& ctx)
{
    FTW_CHECK(!spec.runName.empty(), ErrorCode::InvalidConfig, "decompose: the run name is empty");
    ctx.createRun(storage::NewRun{
        .name = spec.runName,
        .kind = std::string(jobKindName(JobKind::Decompose)),
        .method = "clover",
        .model = spec.modelDir.string(),
        .dataset = spec.evalData.path.string(),
        .configJson = configJson(spec).dump(2),
        .seed = static_cast<std::int64_t>(spec.seed),
        .groupId = std::nullopt,
    });
    validate(spec); // after the run exists, so that a bad option leaves a failed run
    const std::int64_t totalSteps =
        3 + (isPruning(spec) ? 1 : 0) + (spec.outputDir.empty() ? 0 : 1);
    reportStep(ctx, 0, totalSteps);
    Outcome o = decomposeAndMeasure(spec, ctx, totalSteps);
    json written = json::object();
    if (!spec.outputDir.empty()) {
        const std::vector<at::Tensor> folded =
            merge::computeLogits(*o.model.decoder, o.reference.batch);
        written =
            writeOutput(*o.model.decoder, spec, core::outputFolder(spec.outputDir, kOutputOption),
                        o.reference, folded, ctx);
        reportStep(ctx, totalSteps, totalSteps);
    }
    recordMetrics(ctx, o);
    const json result = resultJson(spec, o, written, ctx.runId());
    ctx.setOutputJson(result.dump());
    logSummary(ctx, result);
}

} // namespace

Job makeDecomposeJob(const DecomposeSpec& spec)
{
    return Job{JobKind::Decompose, spec.runName,
               [spec](JobContext& ctx) { runDecompose(spec, ctx); }};
}

} // namespace ftw::jobs
