// SPDX-License-Identifier: MIT
// Run config files: TrainSpec <-> JSON, with every key checked, and the validation of a TrainSpec.
#include <ftw/run_config.h>

#include "core/api_guard.h"
#include "core/check.h"
#include "core/enum_names.h"
#include "core/json_object_reader.h"

#include <nlohmann/json.hpp>

namespace ftw {
namespace {

using nlohmann::json;

constexpr core::NameTable<AnswerExtraction, 5> kAnswerExtractionNames{{
    {AnswerExtraction::None, "none"},
    {AnswerExtraction::Gsm8k, "gsm8k"},
    {AnswerExtraction::Regex, "regex"},
    {AnswerExtraction::FirstLine, "first-line"},
    {AnswerExtraction::Full, "full"},
}};

using ObjectReader = core::JsonObjectReader;

json adapterJson(const AdapterConfig& a)
{
    return json{
        {"method", adapterMethodName(a.method)},
        {"r", a.r},
        {"lora_alpha", a.alpha},
        {"lora_dropout", a.dropout},
        {"target_modules", a.targetModules},
        {"target_regex", a.targetRegex},
        {"exclude_modules", a.excludeModules},
        {"exclude_regex", a.excludeRegex},
        {"layers_to_transform", a.layersToTransform},
        {"rank_pattern", a.rankPattern},
        {"alpha_pattern", a.alphaPattern},
        {"use_rslora", a.useRslora},
        {"init_gaussian", a.gaussianInit},
        {"pissa_niter", a.pissaNiter},
        {"loraplus_lr_ratio", a.loraPlusRatio},
        {"lora_ga_direction", a.loraGaDirection},
        {"lora_ga_scale", a.loraGaScale},
        {"lora_ga_gamma", a.loraGaGamma},
        {"lora_ga_batches", a.loraGaBatches},
        {"projection_prng_key", a.projectionPrngKey},
        {"d_initial", a.dInitial},
        {"save_projection", a.saveProjection},
        {"init_r", a.initR},
        {"target_r", a.targetR},
        {"tinit", a.tinit},
        {"tfinal", a.tfinal},
        {"deltaT", a.deltaT},
        {"beta1", a.beta1},
        {"beta2", a.beta2},
        {"orth_reg_weight", a.orthRegWeight},
        {"total_step", a.totalStep},
        {"proxy", zeroCostProxyName(a.proxy)},
        {"budget_fraction", a.budgetFraction},
        {"realloc_every", a.reallocEvery},
        {"score_batches", a.scoreBatches},
        {"score_warmup_steps", a.scoreWarmupSteps},
        {"heterolora_shortcuts", a.shortcuts},
        {"heterolora_shortcut_alpha", a.shortcutAlpha},
        {"heterolora_separate_budgets", a.separateBudgets},
        {"heterolora_shortcut_modules", a.shortcutModules},
    };
}

void readAdapter(ObjectReader& r, AdapterConfig& a, const std::string& source)
{
    std::string method(adapterMethodName(a.method));
    r.read("method", method);
    const std::optional<AdapterMethod> parsed = parseAdapterMethod(method);
    FTW_CHECK(
        parsed, ErrorCode::InvalidConfig,
        source + ": '" + r.path("method") + "' is '" + method +
            "'; expected lora, pissa, olora, lora-ga, dora, vera, bone, bat, adalora, heterolora "
            "or full");
    a.method = *parsed;
    r.read("r", a.r);
    r.read("lora_alpha", a.alpha);
    r.read("lora_dropout", a.dropout);
    r.read("target_modules", a.targetModules);
    r.read("target_regex", a.targetRegex);
    r.read("exclude_modules", a.excludeModules);
    r.read("exclude_regex", a.excludeRegex);
    r.read("layers_to_transform", a.layersToTransform);
    r.read("rank_pattern", a.rankPattern);
    r.read("alpha_pattern", a.alphaPattern);
    r.read("use_rslora", a.useRslora);
    r.read("init_gaussian", a.gaussianInit);
    r.read("pissa_niter", a.pissaNiter);
    r.read("loraplus_lr_ratio", a.loraPlusRatio);
    r.read("lora_ga_direction", a.loraGaDirection);
    r.read("lora_ga_scale", a.loraGaScale);
    r.read("lora_ga_gamma", a.loraGaGamma);
    r.read("lora_ga_batches", a.loraGaBatches);
    r.read("projection_prng_key", a.projectionPrngKey);
    r.read("d_initial", a.dInitial);
    r.read("save_projection", a.saveProjection);
    r.read("init_r", a.initR);
    r.read("target_r", a.targetR);
    r.read("tinit", a.tinit);
    r.read("tfinal", a.tfinal);
    r.read("deltaT", a.deltaT);
    r.read("beta1", a.beta1);
    r.read("beta2", a.beta2);
    r.read("orth_reg_weight", a.orthRegWeight);
    r.read("total_step", a.totalStep);
    std::string proxy(zeroCostProxyName(a.proxy));
    r.read("proxy", proxy);
    const std::optional<ZeroCostProxy> parsedProxy = parseZeroCostProxy(proxy);
    FTW_CHECK(parsedProxy, ErrorCode::InvalidConfig,
              source + ": '" + r.path("proxy") + "' is '" + proxy +
                  "'; expected grad-norm, snip, synflow or random");
    a.proxy = *parsedProxy;
    r.read("budget_fraction", a.budgetFraction);
    r.read("realloc_every", a.reallocEvery);
    r.read("score_batches", a.scoreBatches);
    r.read("score_warmup_steps", a.scoreWarmupSteps);
    r.read("heterolora_shortcuts", a.shortcuts);
    r.read("heterolora_shortcut_alpha", a.shortcutAlpha);
    r.read("heterolora_separate_budgets", a.separateBudgets);
    r.read("heterolora_shortcut_modules", a.shortcutModules);
    r.rejectUnknownKeys();
}

json dataJson(const DataConfig& d)
{
    return json{
        {"path", d.path.string()},
        {"format", d.format},
        {"chat_template", d.chatTemplate},
        {"max_length", d.maxLength},
        {"packing", d.isPacking},
        {"completion_only", d.isCompletionOnly},
        {"validation_ratio", d.validationRatio},
        {"max_validation_examples", d.maxValidationExamples},
    };
}

void readData(ObjectReader& r, DataConfig& d)
{
    r.read("path", d.path);
    r.read("format", d.format);
    r.read("chat_template", d.chatTemplate);
    r.read("max_length", d.maxLength);
    r.read("packing", d.isPacking);
    r.read("completion_only", d.isCompletionOnly);
    r.read("validation_ratio", d.validationRatio);
    r.read("max_validation_examples", d.maxValidationExamples);
    r.rejectUnknownKeys();
}

json trainJson(const TrainConfig& t)
{
    return json{
        {"max_steps", t.maxSteps},
        {"epochs", t.epochs},
        {"batch_size", t.batchSize},
        {"grad_accumulation", t.gradAccumulation},
        {"learning_rate", t.learningRate},
        {"weight_decay", t.weightDecay},
        {"adam_beta1", t.adamBeta1},
        {"adam_beta2", t.adamBeta2},
        {"adam_epsilon", t.adamEpsilon},
        {"lr_scheduler", t.lrScheduler},
        {"warmup_steps", t.warmupSteps},
        {"warmup_ratio", t.warmupRatio},
        {"max_grad_norm", t.maxGradNorm},
        {"seed", t.seed},
        {"device", t.device},
        {"precision", t.precision},
        {"gradient_checkpointing", t.isGradientCheckpointing},
        {"eval_every", t.evalEverySteps},
        {"save_every", t.saveEverySteps},
        {"keep_checkpoints", t.keepCheckpoints},
        {"log_every", t.logEverySteps},
    };
}

void readTrain(ObjectReader& r, TrainConfig& t)
{
    r.read("max_steps", t.maxSteps);
    r.read("epochs", t.epochs);
    r.read("batch_size", t.batchSize);
    r.read("grad_accumulation", t.gradAccumulation);
    r.read("learning_rate", t.learningRate);
    r.read("weight_decay", t.weightDecay);
    r.read("adam_beta1", t.adamBeta1);
    r.read("adam_beta2", t.adamBeta2);
    r.read("adam_epsilon", t.adamEpsilon);
    r.read("lr_scheduler", t.lrScheduler);
    r.read("warmup_steps", t.warmupSteps);
    r.read("warmup_ratio", t.warmupRatio);
    r.read("max_grad_norm", t.maxGradNorm);
    r.read("seed", t.seed);
    r.read("device", t.device);
    r.read("precision", t.precision);
    r.read("gradient_checkpointing", t.isGradientCheckpointing);
    r.read("eval_every", t.evalEverySteps);
    r.read("save_every", t.saveEverySteps);
    r.read("keep_checkpoints", t.keepCheckpoints);
    r.read("log_every", t.logEverySteps);
    r.rejectUnknownKeys();
}

std::filesystem::path resolved(const std::filesystem::path& path,
                               const std::filesystem::path& baseDir)
{
    return path.empty() || path.is_absolute() || baseDir.empty() ? path : baseDir / path;
}

void require(bool isOk, const std::string& field, const std::string& expectation)
{
    FTW_CHECK(isOk, ErrorCode::InvalidConfig, "run config: '" + field + "' must be " + expectation);
}

} // namespace

std::string_view answerExtractionName(AnswerExtraction extraction)
{
    return core::nameOf(kAnswerExtractionNames, extraction, "none");
}

std::optional<AnswerExtraction> parseAnswerExtraction(std::string_view name)
{
    return core::valueOf(kAnswerExtractionNames, name);
}

Expected<TrainSpec> parseRunConfig(std::string_view jsonText, const std::string& source,
                                   const std::filesystem::path& baseDir)
{
    return core::captureErrors([&] {
        const json root = json::parse(jsonText, nullptr, false);
        FTW_CHECK(!root.is_discarded(), ErrorCode::InvalidConfig,
                  source + ": not valid JSON (a run config is one JSON object)");
        TrainSpec spec;
        ObjectReader r(root, "", source);
        r.read("name", spec.runName);
        r.read("model", spec.modelDir);
        ObjectReader data(r.object("data"), "data", source);
        readData(data, spec.data);
        ObjectReader adapter(r.object("adapter"), "adapter", source);
        readAdapter(adapter, spec.adapter, source);
        ObjectReader train(r.object("train"), "train", source);
        readTrain(train, spec.train);
        r.rejectUnknownKeys();
        spec.modelDir = resolved(spec.modelDir, baseDir);
        spec.data.path = resolved(spec.data.path, baseDir);
        spec.adapter.seed = spec.train.seed;
        return spec;
    });
}

std::string runConfigJson(const TrainSpec& spec)
{
    const json root = {
        {"name", spec.runName},           {"model", spec.modelDir.string()},
        {"data", dataJson(spec.data)},    {"adapter", adapterJson(spec.adapter)},
        {"train", trainJson(spec.train)},
    };
    return root.dump(2);
}

Status validateTrainSpec(const TrainSpec& spec)
{
    const Expected<bool> checked = core::captureErrors([&] {
        require(!spec.runName.empty(), "name", "a non-empty run name");
        require(!spec.modelDir.empty(), "model", "a model folder");
        require(!spec.data.path.empty(), "data.path", "a dataset file");
        const DataConfig& d = spec.data;
        require(d.maxLength >= 2 && d.maxLength <= 1'000'000, "data.max_length",
                "between 2 and 1000000");
        require(d.validationRatio >= 0.0 && d.validationRatio <= 0.9, "data.validation_ratio",
                "between 0 and 0.9");
        require(d.maxValidationExamples >= 0, "data.max_validation_examples", "0 or more");
        const TrainConfig& t = spec.train;
        require(t.maxSteps >= 0, "train.max_steps", "0 (use epochs) or more");
        require(t.maxSteps > 0 || (t.epochs > 0.0 && t.epochs <= 10'000.0), "train.epochs",
                "above 0 when max_steps is 0");
        require(t.batchSize >= 1 && t.batchSize <= 65'536, "train.batch_size",
                "between 1 and 65536");
        require(t.gradAccumulation >= 1 && t.gradAccumulation <= 65'536, "train.grad_accumulation",
                "between 1 and 65536");
        require(t.learningRate > 0.0 && t.learningRate < 10.0, "train.learning_rate",
                "above 0 and below 10");
        require(t.weightDecay >= 0.0, "train.weight_decay", "0 or more");
        require(t.adamBeta1 >= 0.0 && t.adamBeta1 < 1.0, "train.adam_beta1", "in [0, 1)");
        require(t.adamBeta2 >= 0.0 && t.adamBeta2 < 1.0, "train.adam_beta2", "in [0, 1)");
        require(t.adamEpsilon > 0.0, "train.adam_epsilon", "above 0");
        require(t.lrScheduler == "constant" || t.lrScheduler == "linear" ||
                    t.lrScheduler == "cosine",
                "train.lr_scheduler", "constant, linear or cosine, not '" + t.lrScheduler + "'");
        require(t.warmupSteps >= 0, "train.warmup_steps", "0 or more");
        require(t.warmupRatio >= 0.0 && t.warmupRatio < 1.0, "train.warmup_ratio", "in [0, 1)");
        require(t.maxGradNorm >= 0.0, "train.max_grad_norm", "0 (off) or more");
        require(t.precision == "auto" || t.precision == "fp32" || t.precision == "bf16" ||
                    t.precision == "fp16",
                "train.precision", "auto, fp32, bf16 or fp16, not '" + t.precision + "'");
        require(t.device == "auto" || t.device == "cpu" || t.device.starts_with("cuda"),
                "train.device", "auto, cpu, cuda or cuda:N, not '" + t.device + "'");
        require(t.evalEverySteps >= 0, "train.eval_every", "0 (at the end) or more");
        require(t.saveEverySteps >= 0, "train.save_every", "0 (at the end) or more");
        require(t.keepCheckpoints >= 1, "train.keep_checkpoints", "1 or more");
        require(t.logEverySteps >= 1, "train.log_every", "1 or more");
        // A checkpointed block is recomputed alone, without the shortcuts' residual hooks.
        require(!t.isGradientCheckpointing ||
                    (!spec.adapter.shortcuts && spec.adapter.shortcutModules.empty()),
                "train.gradient_checkpointing", "false with HeteroLoRA's shortcuts");
        AdapterConfig adapter = spec.adapter;
        if (adapter.method == AdapterMethod::AdaLora && adapter.totalStep == 0) {
            adapter.totalStep =
                std::max<std::int64_t>(t.maxSteps, adapter.tinit + adapter.tfinal + 1);
        }
        try {
            validateAdapterConfig(adapter);
        } catch (const Error& e) {
            throw Error(ErrorCode::InvalidConfig, std::string("run config: adapter: ") + e.what());
        }
        return true;
    });
    if (!checked) {
        return checked.error();
    }
    return {};
}

} // namespace ftw
