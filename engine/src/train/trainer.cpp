// SPDX-License-Identifier: MIT
#include "trainer.h"

#include "adapter_layout.h"
#include "schedule.h"

#include "adapters/peft_files.h"
#include "core/autocast.h"
#include "core/check.h"
#include "core/cpu_allocator.h"
#include "core/device.h"
#include "core/process.h"
#include "heterolora/reallocator.h"
#include "merge/merged_model.h"
#include "model/projections.h"
#include "storage/run_repository.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/nn/utils/clip_grad.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

namespace ftw::train {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kInitialLossScale = 65536.0;
constexpr std::int64_t kLossScaleGrowthInterval = 2000;

bool isNoDecay(const std::string& name, const at::Tensor& tensor)
{
    return name.ends_with("bias") || name.find("norm") != std::string::npos ||
           name.find("ln_") != std::string::npos || tensor.dim() < 2;
}

std::string checkpointName(std::int64_t step)
{
    std::array<char, 32> name{};
    std::snprintf(name.data(), name.size(), "step-%08lld", static_cast<long long>(step));
    return name.data();
}

} // namespace

Trainer::Trainer(TrainSpec spec, jobs::JobContext& ctx, TrainerOptions options)
    : m_spec(std::move(spec)), m_ctx(ctx), m_options(options)
{
}

Trainer::~Trainer() = default;

void Trainer::run()
{
    setUp();
    try {
        loop();
    } catch (const c10::OutOfMemoryError& e) {
        core::releaseCachedDeviceMemory();
        storage::RunRepository(m_ctx.database())
            .appendEvent(m_ctx.runId(), "oom", m_state.step, e.what_without_backtrace());
        throw Error(ErrorCode::OutOfMemory, oomMessage(), e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
        storage::RunRepository(m_ctx.database())
            .appendEvent(m_ctx.runId(), "oom", m_state.step, "host memory");
        throw Error(ErrorCode::OutOfMemory, oomMessage());
    }
    finish();
}

void Trainer::setUp()
{
    (void)core::resetPeakResidentMemory(); // the run's peak, not an earlier job's
    if (m_spec.resumeRunId > 0) {
        loadResumePoint();
    }
    if (const Status valid = validateTrainSpec(m_spec); !valid) {
        throw Error(valid.error().code, valid.error().message);
    }
    const TrainConfig& t = m_spec.train;
    m_device = core::resolveDevice(t.device);
    m_computeDtype = core::resolvePrecision(t.precision, m_device);
    core::releaseCachedDeviceMemory(); // a run's peak memory is its own, not what ran before
    core::resetPeakMemory(m_device);
    m_spec.adapter.seed = t.seed;
    torch::manual_seed(t.seed);

    m_configJson = runConfigJson(m_spec);
    createOrAdoptRun(); // from here on, a failure is recorded with the run

    m_model = model::loadModel(m_spec.modelDir);
    const std::filesystem::path tokenizerFile = m_spec.modelDir / "tokenizer.json";
    FTW_CHECK(m_options.dataset != nullptr || std::filesystem::exists(tokenizerFile),
              ErrorCode::NotFound,
              "'" + m_spec.modelDir.string() + "' has no tokenizer.json to read the dataset with");
    if (m_options.dataset != nullptr) {
        m_dataset = *m_options.dataset;
    } else {
        const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
        m_dataset =
            encodeDataset(m_spec.data, m_spec.modelDir, tokenizer, m_model.config.eosTokenIds);
    }
    m_split = splitExamples(m_dataset, m_spec.data, t.seed);

    const auto trainCount = static_cast<std::int64_t>(m_split.train.size());
    m_microPerEpoch = (trainCount + t.batchSize - 1) / t.batchSize;
    m_totalSteps =
        t.maxSteps > 0
            ? t.maxSteps
            : std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(
                                            t.epochs * static_cast<double>(m_microPerEpoch) /
                                            static_cast<double>(t.gradAccumulation))));
    m_warmupSteps = t.warmupSteps > 0 ? t.warmupSteps
                                      : static_cast<std::int64_t>(std::ceil(
                                            t.warmupRatio * static_cast<double>(m_totalSteps)));
    if (m_spec.adapter.method == AdapterMethod::AdaLora && m_spec.adapter.totalStep == 0) {
        m_spec.adapter.totalStep = m_totalSteps; // known only now: store the config that ran
        m_configJson = runConfigJson(m_spec);
        m_ctx.setRunConfig(m_configJson);
    }

    adapters::AttachOptions attach;
    std::int64_t gradientBatch = 0;
    attach.backwardOnNextBatch = [this, &gradientBatch](nn::DecoderImpl& decoder) {
        const Batch batch = microBatch(gradientBatch++);
        const at::Tensor logits = decoder.forward(batch.inputIds);
        (sumCrossEntropy(logits, batch.labels) /
         static_cast<double>(std::max<std::int64_t>(1, batch.trainedTokens)))
            .backward();
    };
    m_adapters.emplace(adapters::AdapterSet::attach(*m_model.decoder, m_spec.adapter, attach));
    m_model.decoder->to(m_device);
    m_model.decoder->packProjections(); // moving gave each weight its own buffer again
    m_adapters->to(m_device);
    m_model.decoder->isCheckpointingBlocks = t.isGradientCheckpointing;
    m_trainable = m_adapters->trainableParameters();
    buildOptimizer();
    setUpReallocator();
    m_ctx.setTrainableParams(m_adapters->trainableCount(),
                             model::modelParameterCount(m_model.config));
    m_ctx.log(LogLevel::Info, "training " + std::string(adapterMethodName(m_spec.adapter.method)) +
                                  " on " + m_spec.modelDir.filename().string() + ": " +
                                  std::to_string(m_split.train.size()) + " training and " +
                                  std::to_string(m_split.validation.size()) +
                                  " validation examples, " + std::to_string(m_totalSteps) +
                                  " steps, " + std::to_string(m_adapters->trainableCount()) +
                                  " trainable parameters, on " + m_device.str());

    if (m_resumeCheckpoint) {
        NamedTensors extra;
        m_state = loadCheckpoint(*m_resumeCheckpoint, m_trainable, extra, *m_optimizer);
        restoreRandomState(extra, m_device);
        if (adapters::AdaLoraAllocator* allocator = m_adapters->allocator()) {
            allocator->loadState(extra);
        }
        if (m_reallocator) {
            m_reallocator->loadState(extra);
        }
        m_lastCheckpointStep = m_state.step;
        storage::RunRepository repo(m_ctx.database());
        repo.deleteMetricsAfter(m_ctx.runId(), m_state.step);
        repo.appendEvent(m_ctx.runId(), "resume", m_state.step,
                         "resumed from " + m_resumeCheckpoint->filename().string());
        m_ctx.log(LogLevel::Info, "resumed at step " + std::to_string(m_state.step) + " of " +
                                      std::to_string(m_totalSteps));
    }
    // After a resume's allocator state is loaded, so AdaLoRA's layout shows what it keeps.
    storage::RunRepository(m_ctx.database())
        .replaceAdapterLayout(m_ctx.runId(), adapterLayout(*m_adapters));
    if (m_computeDtype == c10::ScalarType::Half && m_state.lossScale == 0.0) {
        m_state.lossScale = kInitialLossScale;
    }
    m_model.decoder->train();
}

void Trainer::loadResumePoint()
{
    const RunId id = m_spec.resumeRunId;
    storage::RunRepository repo(m_ctx.database());
    if (m_options.isRunProvided) {
        const std::vector<CheckpointInfo> checkpoints = repo.checkpoints(m_ctx.runId());
        FTW_CHECK(!checkpoints.empty(), ErrorCode::NotFound,
                  "run " + std::to_string(m_ctx.runId()) + " has no checkpoint to resume from");
        m_resumeCheckpoint = checkpoints.back().path;
        return;
    }
    const std::optional<RunDetail> run = repo.findRun(id);
    FTW_CHECK(run, ErrorCode::NotFound, "no run with id " + std::to_string(id) + " to resume");
    FTW_CHECK(run->summary.kind == "train", ErrorCode::InvalidArgument,
              "run " + std::to_string(id) + " is a " + run->summary.kind +
                  " run; only training runs can be resumed");
    FTW_CHECK(run->summary.status != RunStatus::Succeeded, ErrorCode::InvalidArgument,
              "run " + std::to_string(id) + " has finished; there is nothing to resume");
    FTW_CHECK(run->summary.status != RunStatus::Running && run->summary.status != RunStatus::Queued,
              ErrorCode::InvalidArgument,
              "run " + std::to_string(id) + " is still running in another process; stop it first");
    const std::vector<CheckpointInfo> checkpoints = repo.checkpoints(id);
    FTW_CHECK(!checkpoints.empty(), ErrorCode::NotFound,
              "run " + std::to_string(id) +
                  " has no checkpoint to resume from; start it again "
                  "with `ftw train --config " +
                  (run->runDir / "config.json").string() + "`");
    Expected<TrainSpec> stored =
        parseRunConfig(run->configJson, "the config of run " + std::to_string(id));
    if (!stored) {
        throw Error(stored.error().code, stored.error().message);
    }
    TrainSpec spec = std::move(*stored);
    spec.resumeRunId = id;
    m_spec = std::move(spec);
    m_resumeCheckpoint = checkpoints.back().path;
}

void Trainer::createOrAdoptRun()
{
    if (m_options.isRunProvided) {
        FTW_CHECK(m_ctx.runId() != 0, ErrorCode::Internal, "the trainer was given no run");
        return;
    }
    if (m_spec.resumeRunId > 0) {
        m_ctx.adoptRun(m_spec.resumeRunId);
        return;
    }
    m_ctx.createRun(storage::NewRun{
        .name = m_spec.runName,
        .kind = std::string(jobKindName(JobKind::Train)),
        .method = std::string(adapterMethodName(m_spec.adapter.method)),
        .model = m_spec.modelDir.string(),
        .dataset = m_spec.data.path.string(),
        .configJson = m_configJson,
        .seed = static_cast<std::int64_t>(m_spec.train.seed),
        .groupId = std::nullopt, // a sweep sets its members' group in their context
    });
    m_ctx.setRunConfig(m_configJson);
}

void Trainer::buildOptimizer()
{
    const TrainConfig& t = m_spec.train;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    auto addGroup = [&](std::vector<at::Tensor> tensors, double lr, double decay) {
        if (tensors.empty()) {
            return;
        }
        auto options = std::make_unique<torch::optim::AdamWOptions>(lr);
        options->betas({t.adamBeta1, t.adamBeta2}).eps(t.adamEpsilon).weight_decay(decay);
        groups.emplace_back(std::move(tensors), std::move(options));
        m_groupBaseRates.push_back(lr);
    };
    if (m_spec.adapter.loraPlusRatio > 0.0) {
        for (adapters::ParameterGroup& g : adapters::loraPlusGroups(
                 *m_adapters, t.learningRate, m_spec.adapter.loraPlusRatio, t.weightDecay)) {
            addGroup(std::move(g.parameters), g.learningRate, g.weightDecay);
        }
    } else {
        std::vector<at::Tensor> decay;
        std::vector<at::Tensor> noDecay;
        for (const auto& [name, tensor] : m_trainable) {
            (isNoDecay(name, tensor) ? noDecay : decay).push_back(tensor);
        }
        addGroup(std::move(decay), t.learningRate, t.weightDecay);
        addGroup(std::move(noDecay), t.learningRate, 0.0);
    }
    FTW_CHECK(!groups.empty(), ErrorCode::InvalidConfig,
              "the adapter config selects nothing to train; check adapter.target_modules");
    m_optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups));
}

Batch Trainer::microBatch(std::int64_t index) const
{
    const std::int64_t epoch = index / m_microPerEpoch;
    const std::int64_t position = index % m_microPerEpoch;
    const std::vector<std::size_t> order =
        epochOrder(m_split.train.size(), m_spec.train.seed, epoch);
    std::vector<const data::TokenizedExample*> items;
    const auto begin = static_cast<std::size_t>(position * m_spec.train.batchSize);
    const std::size_t end =
        std::min(order.size(), begin + static_cast<std::size_t>(m_spec.train.batchSize));
    for (std::size_t i = begin; i < end; ++i) {
        items.push_back(&m_split.train[order[i]]);
    }
    return collate(items, m_dataset.padId);
}

void Trainer::setUpReallocator()
{
    if (m_spec.adapter.method != AdapterMethod::HeteroLora) {
        return;
    }
    heterolora::ScoringOptions scoring;
    scoring.warmupSteps = m_spec.adapter.scoreWarmupSteps;
    scoring.warmupLearningRate = m_spec.train.learningRate;
    scoring.device = m_device;
    scoring.computeDtype = m_computeDtype;
    // The first score_batches training batches in the split's order (unshuffled), as the paper.
    m_reallocator = std::make_unique<heterolora::Reallocator>(
        *m_model.decoder, heterolora::unitsOf(*m_adapters),
        heterolora::firstBatches(m_split.train, m_spec.train.batchSize, m_spec.adapter.scoreBatches,
                                 m_dataset.padId),
        m_spec.adapter, scoring);
}

void Trainer::reallocateIfDue()
{
    if (!m_reallocator || !m_reallocator->isDue(m_state.step)) {
        return;
    }
    const heterolora::Reallocation& r = m_reallocator->reallocate(m_state.step);
    std::string on;
    nlohmann::json record = {{"step", r.step}, {"enabled", nlohmann::json::array()}};
    for (std::size_t i = 0; i < r.enabled.size(); ++i) {
        const std::string& name = m_reallocator->units()[i].name;
        record["scores"][name] = r.scores[i].of(m_spec.adapter.proxy);
        if (r.enabled[i]) {
            on += (on.empty() ? "" : ", ") + name;
            record["enabled"].push_back(name);
        }
    }
    const auto count = std::count(r.enabled.begin(), r.enabled.end(), true);
    const std::string message = std::string(zeroCostProxyName(m_spec.adapter.proxy)) + ": " +
                                std::to_string(count) + " of " + std::to_string(r.enabled.size()) +
                                " modules on: " + on;
    storage::RunRepository(m_ctx.database())
        .appendEvent(m_ctx.runId(), "reallocate", m_state.step, message);
    // Recorded at the first step the allocation trains (what a resume deletes and records again).
    const MetricPoint point{m_state.step + 1,
                            static_cast<double>(m_state.microBatches) /
                                static_cast<double>(m_microPerEpoch),
                            m_state.tokensSeen, m_state.elapsedMs, static_cast<double>(count)};
    m_ctx.recordMetric("heterolora/enabled_modules", point);
    MetricPoint params = point;
    params.value = static_cast<double>(r.enabledParams);
    m_ctx.recordMetric("heterolora/enabled_params", params);
    std::ofstream history(m_ctx.runDir() / "heterolora_history.jsonl", std::ios::app);
    history << record.dump() << '\n';
    m_ctx.log(LogLevel::Info, "step " + std::to_string(m_state.step) + ": " + message);
}

Trainer::StepOutcome Trainer::trainStep()
{
    reallocateIfDue();
    const TrainConfig& t = m_spec.train;
    const double factor =
        learningRateFactor(t.lrScheduler, m_state.step, m_totalSteps, m_warmupSteps);
    for (std::size_t i = 0; i < m_optimizer->param_groups().size(); ++i) {
        static_cast<torch::optim::AdamWOptions&>(m_optimizer->param_groups()[i].options())
            .lr(m_groupBaseRates[i] * factor);
    }
    for (auto& [name, tensor] : m_trainable) {
        tensor.mutable_grad() = at::Tensor();
    }

    std::vector<Batch> batches;
    std::int64_t trained = 0;
    StepOutcome outcome;
    for (std::int64_t j = 0; j < t.gradAccumulation; ++j) {
        batches.push_back(microBatch(m_state.microBatches + j));
        trained += batches.back().trainedTokens;
        outcome.tokens += batches.back().tokens;
    }
    const double denominator = static_cast<double>(std::max<std::int64_t>(1, trained));
    const bool isScaled = m_state.lossScale > 0.0;
    at::Tensor lossSum = at::zeros({}, at::TensorOptions().device(m_device));
    for (const Batch& batch : batches) {
        at::Tensor loss;
        {
            const core::AutocastGuard autocast(m_device, m_computeDtype);
            const at::Tensor logits = m_model.decoder->forward(batch.inputIds.to(m_device));
            loss = sumCrossEntropy(logits, batch.labels.to(m_device)) / denominator;
        }
        if (adapters::AdaLoraAllocator* allocator = m_adapters->allocator()) {
            loss =
                loss + allocator->orthogonalRegularizer() / static_cast<double>(t.gradAccumulation);
        }
        (isScaled ? loss * m_state.lossScale : loss).backward();
        lossSum += loss.detach();
    }
    outcome.loss = lossSum.item<double>();
    if (!std::isfinite(outcome.loss)) {
        const std::string message =
            "the training loss became " +
            std::string(std::isnan(outcome.loss) ? "NaN" : "infinite") + " at step " +
            std::to_string(m_state.step + 1) + "; lower train.learning_rate (now " +
            std::to_string(t.learningRate) + "), keep train.max_grad_norm above 0" +
            (m_computeDtype == c10::ScalarType::Half ? ", or use bf16 or fp32 instead of fp16"
                                                     : "");
        storage::RunRepository(m_ctx.database())
            .appendEvent(m_ctx.runId(), "nan", m_state.step + 1, message);
        throw Error(ErrorCode::InvalidConfig, message);
    }

    std::vector<at::Tensor> parameters;
    for (const auto& [name, tensor] : m_trainable) {
        if (tensor.grad().defined()) {
            if (isScaled) {
                tensor.mutable_grad().div_(m_state.lossScale);
            }
            parameters.push_back(tensor);
        }
    }
    const double maxNorm =
        t.maxGradNorm > 0.0 ? t.maxGradNorm : std::numeric_limits<double>::infinity();
    outcome.gradNorm =
        parameters.empty() ? 0.0 : torch::nn::utils::clip_grad_norm_(parameters, maxNorm);
    if (isScaled && !std::isfinite(outcome.gradNorm)) {
        m_state.lossScale /= 2.0; // fp16 overflow: skip this update with a smaller scale
        m_state.goodSteps = 0;
        outcome.isSkipped = true;
    } else {
        m_optimizer->step();
        if (adapters::AdaLoraAllocator* allocator = m_adapters->allocator()) {
            allocator->updateAndAllocate(m_state.step);
        }
        if (isScaled && ++m_state.goodSteps >= kLossScaleGrowthInterval) {
            m_state.lossScale *= 2.0;
            m_state.goodSteps = 0;
        }
    }
    m_state.step += 1;
    m_state.microBatches += t.gradAccumulation;
    m_state.tokensSeen += outcome.tokens;
    return outcome;
}

void Trainer::loop()
{
    const TrainConfig& t = m_spec.train;
    const std::int64_t elapsedBefore = m_state.elapsedMs;
    const auto startedAt = Clock::now();
    const std::int64_t firstStep = m_state.step;
    while (m_state.step < m_totalSteps) {
        if (m_ctx.isCancelRequested()) {
            if (m_state.step > 0 && m_state.step != m_lastCheckpointStep) {
                saveCheckpointNow();
            }
            m_ctx.throwIfCancelled();
        }
        const auto stepStarted = Clock::now();
        const StepOutcome outcome = trainStep();
        core::trimCpuCache();
        if (m_options.onStep) {
            core::synchronize(m_device); // the loss was read; the optimiser step may still run
        }
        const double stepSeconds =
            std::chrono::duration<double>(Clock::now() - stepStarted).count();
        if (m_options.onStep) {
            m_options.onStep(m_state.step, stepSeconds, outcome.loss);
        }
        const double sinceStart = std::chrono::duration<double>(Clock::now() - startedAt).count();
        m_state.elapsedMs = elapsedBefore + static_cast<std::int64_t>(sinceStart * 1000.0);
        const double learningRate =
            m_groupBaseRates.front() *
            learningRateFactor(t.lrScheduler, m_state.step - 1, m_totalSteps, m_warmupSteps);
        const double tokensPerSecond =
            stepSeconds > 0.0 ? static_cast<double>(outcome.tokens) / stepSeconds : 0.0;
        if (m_state.step % t.logEverySteps == 0 || m_state.step == m_totalSteps) {
            recordStepMetrics(outcome, learningRate, tokensPerSecond);
        }
        JobProgress progress;
        progress.step = m_state.step;
        progress.totalSteps = m_totalSteps;
        progress.epoch =
            static_cast<double>(m_state.microBatches) / static_cast<double>(m_microPerEpoch);
        progress.loss = outcome.loss;
        progress.learningRate = learningRate;
        progress.gradNorm = outcome.gradNorm;
        progress.tokensPerSecond = tokensPerSecond;
        progress.etaSeconds = sinceStart / static_cast<double>(m_state.step - firstStep) *
                              static_cast<double>(m_totalSteps - m_state.step);
        m_ctx.reportProgress(progress);
        if (m_state.step < m_totalSteps) {
            if (t.evalEverySteps > 0 && m_state.step % t.evalEverySteps == 0 &&
                !m_split.validation.empty()) {
                evaluate();
            }
            if (t.saveEverySteps > 0 && m_state.step % t.saveEverySteps == 0) {
                saveCheckpointNow();
            }
        }
    }
}

void Trainer::recordStepMetrics(const StepOutcome& outcome, double learningRate,
                                double tokensPerSecond)
{
    const MetricPoint point{m_state.step,
                            static_cast<double>(m_state.microBatches) /
                                static_cast<double>(m_microPerEpoch),
                            m_state.tokensSeen, m_state.elapsedMs, 0.0};
    auto record = [&](const char* name, double value) {
        MetricPoint p = point;
        p.value = value;
        m_ctx.recordMetric(name, p);
    };
    record("train/loss", outcome.loss);
    record("train/learning_rate", learningRate);
    record("train/grad_norm", outcome.gradNorm);
    record("train/tokens_per_second", tokensPerSecond);
    if (m_state.lossScale > 0.0) {
        record("train/loss_scale", m_state.lossScale);
    }
    // The peak since the job began (setUp): the process's resident memory on the CPU, the
    // caching allocator's allocated bytes on a CUDA device (0, not recorded, without a CUDA
    // LibTorch).
    if (const std::int64_t peak = core::peakMemoryBytes(m_device); peak > 0) {
        record("train/peak_memory_bytes", static_cast<double>(peak));
    }
}

EvalLoss Trainer::evaluate()
{
    const EvalLoss result =
        evaluateLoss(*m_model.decoder, m_split.validation, m_spec.train.batchSize, m_dataset.padId,
                     m_device, m_computeDtype, &m_ctx);
    const MetricPoint point{m_state.step,
                            static_cast<double>(m_state.microBatches) /
                                static_cast<double>(m_microPerEpoch),
                            m_state.tokensSeen, m_state.elapsedMs, result.loss};
    m_ctx.recordMetric("eval/loss", point);
    MetricPoint perplexity = point;
    perplexity.value = result.perplexity;
    m_ctx.recordMetric("eval/perplexity", perplexity);
    m_ctx.flushMetrics();
    storage::RunRepository(m_ctx.database()).updateBestEvalLoss(m_ctx.runId(), result.loss);
    m_ctx.log(LogLevel::Info, "step " + std::to_string(m_state.step) + ": eval loss " +
                                  std::to_string(result.loss) + ", perplexity " +
                                  std::to_string(result.perplexity));
    return result;
}

void Trainer::saveCheckpointNow()
{
    m_ctx.flushMetrics();
    const std::filesystem::path folder = m_ctx.runDir() / "checkpoints";
    std::filesystem::create_directories(folder);
    const std::filesystem::path dir = folder / checkpointName(m_state.step);
    NamedTensors extra = randomState(m_device);
    if (const adapters::AdaLoraAllocator* allocator = m_adapters->allocator()) {
        for (auto& entry : allocator->state()) {
            extra.push_back(std::move(entry));
        }
    }
    if (m_reallocator) {
        for (auto& entry : m_reallocator->state()) {
            extra.push_back(std::move(entry));
        }
    }
    const std::int64_t size =
        saveCheckpoint(dir, m_state, m_trainable, extra, *m_optimizer, m_configJson);
    storage::RunRepository repo(m_ctx.database());
    repo.addCheckpoint(m_ctx.runId(), m_state.step, dir, size);
    m_lastCheckpointStep = m_state.step;
    std::vector<CheckpointInfo> all = repo.checkpoints(m_ctx.runId());
    const auto keep = static_cast<std::size_t>(m_spec.train.keepCheckpoints);
    for (std::size_t i = 0; i + keep < all.size(); ++i) {
        std::error_code ec;
        std::filesystem::remove_all(all[i].path, ec);
        repo.removeCheckpoint(all[i].id);
    }
    m_ctx.log(LogLevel::Info,
              "checkpoint at step " + std::to_string(m_state.step) + ": " + dir.string());
}

void Trainer::finish()
{
    if (m_adapters->allocator() != nullptr) {
        // AdaLoRA: the ranks the allocator left replace init_r.
        storage::RunRepository(m_ctx.database())
            .replaceAdapterLayout(m_ctx.runId(), adapterLayout(*m_adapters));
    }
    if (m_reallocator) {
        // HeteroLoRA: the last allocation, with the scores that chose it.
        storage::RunRepository(m_ctx.database())
            .replaceAdapterLayout(m_ctx.runId(), m_reallocator->layout());
    }
    std::optional<EvalLoss> finalEval;
    if (!m_split.validation.empty()) {
        finalEval = evaluate();
    }
    if (m_lastCheckpointStep != m_state.step) {
        saveCheckpointNow();
    }
    nlohmann::json output = {
        {"run_id", m_ctx.runId()},
        {"steps", m_state.step},
        {"trainable_params", m_adapters->trainableCount()},
        {"tokens_seen", m_state.tokensSeen},
    };
    if (m_reallocator) {
        output["enabled_params"] = m_reallocator->enabledParams();
    }
    if (finalEval) {
        output["eval_loss"] = finalEval->loss;
        output["eval_perplexity"] = finalEval->perplexity;
    }
    if (m_spec.adapter.method == AdapterMethod::Full) {
        // Full fine-tuning has no adapter: the trained model itself is the result.
        const std::filesystem::path modelDir = m_ctx.runDir() / "model";
        std::filesystem::path partial = modelDir;
        partial += ".partial";
        std::error_code ec;
        std::filesystem::remove_all(partial, ec);
        std::filesystem::create_directories(partial);
        merge::writeMergedWeights(*m_model.decoder, partial, merge::ExportDType::F32,
                                  [this](std::int64_t, std::int64_t) { m_ctx.throwIfCancelled(); });
        merge::writeModelFiles(m_spec.modelDir, partial, merge::ExportDType::F32);
        std::filesystem::remove_all(modelDir, ec);
        std::filesystem::rename(partial, modelDir);
        output["model_dir"] = modelDir.string();
        m_ctx.log(LogLevel::Info, "trained model written to " + modelDir.string());
    } else {
        const std::filesystem::path adapterDir = m_ctx.runDir() / "adapter";
        adapters::SaveOptions options;
        options.baseModelName = m_spec.modelDir.string();
        adapters::saveAdapter(*m_adapters, adapterDir, options);
        output["adapter_dir"] = adapterDir.string();
        m_ctx.log(LogLevel::Info, "adapter written to " + adapterDir.string());
    }
    m_ctx.setOutputJson(output.dump());
}

std::string Trainer::oomMessage() const
{
    const TrainConfig& t = m_spec.train;
    std::string message = "the " + std::string(m_device.is_cuda() ? "device" : "host") +
                          " ran out of memory at step " + std::to_string(m_state.step + 1) +
                          "; lower train.batch_size (now " + std::to_string(t.batchSize) +
                          ") and raise train.grad_accumulation to keep the same effective batch, "
                          "or lower data.max_length (now " +
                          std::to_string(m_spec.data.maxLength) + ")";
    if (!t.isGradientCheckpointing) {
        message += ", or turn on train.gradient_checkpointing";
    }
    if (m_device.is_cuda() && m_computeDtype == c10::ScalarType::Float) {
        message += ", or train in bf16";
    }
    return message;
}

} // namespace ftw::train
