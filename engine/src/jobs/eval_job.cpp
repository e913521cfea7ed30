// SPDX-License-Identifier: MIT
#include "eval_job.h"

#include "adapters/peft_files.h"
#include "core/autocast.h"
#include "core/check.h"
#include "data/regex.h"
#include "eval/answers.h"
#include "model/generator.h"
#include "model/model_loader.h"
#include "storage/run_repository.h"
#include "train/trainer.h"
#include "train/training_data.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

namespace ftw::jobs {
namespace {

constexpr std::size_t kSamplesShown = 5;

void validate(const EvalSpec& spec)
{
    FTW_CHECK(!spec.modelDir.empty(), ErrorCode::InvalidConfig, "eval: no model folder given");
    FTW_CHECK(!spec.data.path.empty(), ErrorCode::InvalidConfig, "eval: no dataset file given");
    FTW_CHECK(spec.split == "all" || spec.split == "validation", ErrorCode::InvalidConfig,
              "eval: split must be all or validation, not '" + spec.split + "'");
    FTW_CHECK(spec.batchSize >= 1, ErrorCode::InvalidConfig, "eval: batch size must be 1 or more");
    FTW_CHECK(spec.maxNewTokens >= 1 && spec.maxNewTokens <= 100'000, ErrorCode::InvalidConfig,
              "eval: max new tokens must be between 1 and 100000");
    FTW_CHECK(spec.accuracyLimit >= 0, ErrorCode::InvalidConfig,
              "eval: the accuracy limit must be 0 (all) or more");
    FTW_CHECK(spec.answerExtraction != AnswerExtraction::Regex || !spec.answerRegex.empty(),
              ErrorCode::InvalidConfig, "eval: regex answer extraction needs --answer-regex");
}

/// The prompt (the text before the first trained segment) and the reference answer (the trained
/// text) of a rendered record.
std::pair<std::string, std::string> promptAndAnswer(const data::RenderedExample& example)
{
    std::string prompt;
    std::string answer;
    bool isInAnswer = false;
    for (const data::Segment& segment : example.segments) {
        isInAnswer = isInAnswer || segment.isTrained;
        (isInAnswer ? answer : prompt) += segment.text;
    }
    return {prompt, answer};
}

struct Accuracy {
    std::int64_t correct = 0;
    std::int64_t total = 0;
    nlohmann::json samples = nlohmann::json::array();
};

Accuracy measureAccuracy(const EvalSpec& spec, nn::DecoderImpl& decoder,
                         const data::Tokenizer& tokenizer, const train::EncodedDataset& dataset,
                         const std::set<std::size_t>& lines, JobContext& ctx)
{
    std::optional<data::Regex> regex;
    if (spec.answerExtraction == AnswerExtraction::Regex) {
        regex.emplace(spec.answerRegex);
    }
    model::SamplingOptions options;
    options.maxNewTokens = static_cast<int>(spec.maxNewTokens);
    options.stopTokenIds = dataset.stopIds;
    Accuracy accuracy;
    std::vector<const data::RenderedExample*> chosen;
    for (const data::RenderedExample& example : dataset.rendered) {
        if (lines.contains(example.line)) {
            chosen.push_back(&example);
        }
    }
    if (spec.accuracyLimit > 0 && std::cmp_greater(chosen.size(), spec.accuracyLimit)) {
        chosen.resize(static_cast<std::size_t>(spec.accuracyLimit));
    }
    for (const data::RenderedExample* example : chosen) {
        ctx.throwIfCancelled();
        const auto [prompt, reference] = promptAndAnswer(*example);
        std::vector<std::int64_t> ids = dataset.bosIds;
        const std::vector<std::int64_t> promptIds = tokenizer.encode(prompt);
        ids.insert(ids.end(), promptIds.begin(), promptIds.end());
        const model::Generation generation = model::generate(decoder, ids, options);
        const std::string generated =
            tokenizer.decode(generation.tokens, /*skipSpecialTokens=*/true);
        const auto expected =
            eval::extractAnswer(reference, spec.answerExtraction, regex ? &*regex : nullptr);
        const auto got =
            eval::extractAnswer(generated, spec.answerExtraction, regex ? &*regex : nullptr);
        const bool isCorrect = expected && got && *expected == *got;
        accuracy.correct += isCorrect ? 1 : 0;
        accuracy.total += 1;
        if (accuracy.samples.size() < kSamplesShown) {
            accuracy.samples.push_back({{"line", example->line},
                                        {"prompt", prompt},
                                        {"reference", expected.value_or("")},
                                        {"generated", generated},
                                        {"answer", got.value_or("")},
                                        {"correct", isCorrect}});
        }
        JobProgress progress;
        progress.step = accuracy.total;
        progress.totalSteps = static_cast<std::int64_t>(chosen.size());
        ctx.reportProgress(progress);
    }
    return accuracy;
}

void runEval(const EvalSpec& spec, JobContext& ctx)
{
    validate(spec);
    const c10::Device device = core::resolveDevice(spec.device);
    const c10::ScalarType dtype = core::resolvePrecision("auto", device);
    const std::filesystem::path tokenizerFile = spec.modelDir / "tokenizer.json";
    FTW_CHECK(std::filesystem::exists(tokenizerFile), ErrorCode::NotFound,
              "'" + spec.modelDir.string() + "' has no tokenizer.json to read the dataset with");
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
    model::LoadedModel model = model::loadModel(spec.modelDir);
    std::optional<adapters::AdapterSet> adapter;
    std::string method = "base";
    if (!spec.adapterDir.empty()) {
        adapter.emplace(adapters::loadAdapter(*model.decoder, spec.adapterDir));
        method = adapterMethodName(adapter->config().method);
    }
    model.decoder->to(device);
    if (adapter) {
        adapter->to(device);
    }
    const train::EncodedDataset dataset =
        train::encodeDataset(spec.data, spec.modelDir, tokenizer, model.config.eosTokenIds);
    std::vector<data::TokenizedExample> examples =
        spec.split == "all" ? dataset.examples
                            : train::splitExamples(dataset, spec.data, spec.seed).validation;
    FTW_CHECK(!examples.empty(), ErrorCode::InvalidConfig,
              "eval: the " + spec.split + " split of '" + spec.data.path.string() +
                  "' is empty; raise data.validation_ratio or use --split all");

    const nlohmann::json config = {
        {"kind", "evaluate"},
        {"model", spec.modelDir.string()},
        {"adapter", spec.adapterDir.string()},
        {"data", spec.data.path.string()},
        {"split", spec.split},
        {"seed", spec.seed},
        {"max_length", spec.data.maxLength},
        {"answer_extraction", answerExtractionName(spec.answerExtraction)},
        {"answer_regex", spec.answerRegex},
        {"max_new_tokens", spec.maxNewTokens},
    };
    ctx.createRun(storage::NewRun{
        .name = spec.runName,
        .kind = std::string(jobKindName(JobKind::Evaluate)),
        .method = method,
        .model = spec.modelDir.string(),
        .dataset = spec.data.path.string(),
        .configJson = config.dump(2),
        .seed = static_cast<std::int64_t>(spec.seed),
        .groupId = std::nullopt, // a sweep sets its members' group in their context
    });
    ctx.log(LogLevel::Info, "evaluating on " + std::to_string(examples.size()) + " examples");

    const train::EvalLoss loss = train::evaluateLoss(*model.decoder, examples, spec.batchSize,
                                                     dataset.padId, device, dtype, &ctx);
    ctx.recordMetric("eval/loss", MetricPoint{0, 0.0, loss.tokens, 0, loss.loss});
    ctx.recordMetric("eval/perplexity", MetricPoint{0, 0.0, loss.tokens, 0, loss.perplexity});
    storage::RunRepository(ctx.database()).updateBestEvalLoss(ctx.runId(), loss.loss);
    nlohmann::json output = {
        {"run_id", ctx.runId()}, {"loss", loss.loss},           {"perplexity", loss.perplexity},
        {"tokens", loss.tokens}, {"examples", examples.size()}, {"split", spec.split},
    };
    if (spec.answerExtraction != AnswerExtraction::None) {
        std::set<std::size_t> lines;
        for (const data::TokenizedExample& e : examples) {
            lines.insert(e.line);
        }
        model.decoder->eval();
        const Accuracy accuracy =
            measureAccuracy(spec, *model.decoder, tokenizer, dataset, lines, ctx);
        const double value = accuracy.total > 0 ? static_cast<double>(accuracy.correct) /
                                                      static_cast<double>(accuracy.total)
                                                : 0.0;
        ctx.recordMetric("eval/accuracy", MetricPoint{0, 0.0, loss.tokens, 0, value});
        output["accuracy"] = value;
        output["correct"] = accuracy.correct;
        output["total"] = accuracy.total;
        output["samples"] = accuracy.samples;
    }
    ctx.setOutputJson(output.dump());
}

} // namespace

Job makeEvalJob(const EvalSpec& spec)
{
    return Job{JobKind::Evaluate, spec.runName, [spec](JobContext& ctx) { runEval(spec, ctx); }};
}

} // namespace ftw::jobs
