// SPDX-License-Identifier: MIT
#pragma once

#include "train_state.h"
#include "training_data.h"

#include "eval/eval_loss.h"

#include "adapters/adapter_set.h"
#include "jobs/job_context.h"
#include "model/model_loader.h"

#include <ftw/run_config.h>

#include <c10/core/Device.h>
#include <torch/optim/adamw.h>

#include <functional>
#include <memory>
#include <optional>

namespace ftw::heterolora {
class Reallocator;
} // namespace ftw::heterolora

namespace ftw::train {

using eval::EvalLoss;
using eval::evaluateLoss;

/// How a Trainer records its run.
struct TrainerOptions {
    /// The context already holds the run (created, or adopted to resume, by the caller, which
    /// records it under its own kind and config: the pretrain job); the trainer trains in it and
    /// takes the spec as given. A spec.resumeRunId > 0 then only means "continue from the newest
    /// checkpoint of the context's run", the caller having checked that the run may continue.
    bool isRunProvided = false;
    /// Set: train on these examples instead of reading spec.data (the bench's synthetic batch);
    /// the tokenizer is then not read. Must outlive the trainer.
    const EncodedDataset* dataset = nullptr;
    /// Called after every optimiser step with its number, wall time in seconds (on CUDA the
    /// step is synchronised first, so only where this is set) and loss.
    std::function<void(std::int64_t step, double seconds, double loss)> onStep;
};

/// One fine-tuning run on the engine thread: set-up, the loop of optimiser steps with periodic
/// evaluation and checkpoints, and the adapter written at the end (adapter-methods.md and the
/// spec's Jobs section). Linear by design: run() = setUp(), then trainStep() until done.
class Trainer {
public:
    /// `spec.resumeRunId` > 0 continues that run from its newest checkpoint.
    Trainer(TrainSpec spec, jobs::JobContext& ctx, TrainerOptions options = {});
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    /// Runs to the end. Throws ftw::Cancelled after writing a checkpoint of the last finished
    /// step when cancelled; Error{OutOfMemory} naming the settings to lower; Error{InvalidConfig}
    /// when the loss becomes NaN or infinite.
    void run();

private:
    struct StepOutcome {
        double loss = 0.0;
        double gradNorm = 0.0;
        std::int64_t tokens = 0;
        bool isSkipped = false; ///< fp16 overflow: the optimiser step was skipped
    };

    void setUp();
    void loadResumePoint();
    void createOrAdoptRun();
    void buildOptimizer();
    void loop();
    StepOutcome trainStep();
    EvalLoss evaluate(); ///< records eval/loss and eval/perplexity at the current step
    void saveCheckpointNow();
    void finish();
    [[nodiscard]] Batch microBatch(std::int64_t index) const;
    [[nodiscard]] std::string oomMessage() const;
    void recordStepMetrics(const StepOutcome& outcome, double learningRate, double tokensPerSecond);
    void setUpReallocator();
    void reallocateIfDue();

    TrainSpec m_spec;
    jobs::JobContext& m_ctx;
    TrainerOptions m_options;
    std::string m_configJson;
    c10::Device m_device{c10::kCPU};
    c10::ScalarType m_computeDtype = c10::ScalarType::Float;
    model::LoadedModel m_model;
    EncodedDataset m_dataset;
    TrainingSplit m_split;
    std::optional<adapters::AdapterSet> m_adapters;
    std::unique_ptr<heterolora::Reallocator> m_reallocator; ///< dynamic HeteroLoRA; else null
    NamedTensors m_trainable;
    std::vector<double> m_groupBaseRates;
    std::unique_ptr<torch::optim::AdamW> m_optimizer;
    std::int64_t m_totalSteps = 0;
    std::int64_t m_microPerEpoch = 0;
    std::int64_t m_warmupSteps = 0;
    LoopState m_state;
    std::int64_t m_lastCheckpointStep = -1;
    std::optional<std::filesystem::path> m_resumeCheckpoint;
};

} // namespace ftw::train
