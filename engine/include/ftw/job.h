// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/bench.h>
#include <ftw/error.h>
#include <ftw/pretrain.h>
#include <ftw/run_config.h>
#include <ftw/sweep.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ftw {

using JobId = std::int64_t;
using RunId = std::int64_t;

/// What a job does. The default value means "not chosen".
enum class JobKind {
    Unknown,
    Demo,
    Train,
    Evaluate,
    Merge,
    Allocate,
    Decompose,
    Generate,
    Pretrain,
    Bench,
    Sweep
};

/// Where a job is in its life. The default value means "not known" (e.g. an id never submitted).
enum class JobStatus { Unknown, Queued, Running, Succeeded, Failed, Cancelled };

[[nodiscard]] std::string_view jobKindName(JobKind kind);
[[nodiscard]] std::string_view jobStatusName(JobStatus status);
[[nodiscard]] bool isFinished(JobStatus status);

/// A small job that shows the whole path working: it fits a random linear regression with LibTorch,
/// records a run with its loss curve in the store, reports progress and honours cancellation.
struct DemoJobSpec {
    std::string runName = "demo";
    int steps = 200;        ///< optimiser steps, at least 1
    int stepDelayMs = 25;   ///< pause after each step so that a person can watch it, 0..10000
    int failAtStep = -1;    ///< when >= 0, the job fails on purpose at this step (tests, UI checks)
    std::uint64_t seed = 0; ///< torch seed for the data and the initial weights
};

/// HeteroLoRA's static allocation (seed-papers.md 3.3-3.4): scores every candidate LoRA module of
/// `train` with the zero-cost proxies GRAD-NORM, SNIP, SYNFLOW and RANDOM on the first
/// adapter.scoreBatches training batches (unshuffled), chooses the modules (or their ranks) with
/// adapter.proxy under the budget, and records the scores and the choice as the run's adapter
/// layout. Its output is a plain-LoRA run config that trains the allocation
/// (`allocated_config.json` in the run folder; "config" in the output JSON).
struct AllocateSpec {
    std::string runName = "allocate";
    /// The run to allocate for: model, data, candidate modules (adapter target and exclusion
    /// rules at rank adapter.r, no rank_pattern), the proxy and scoring settings (adapter.proxy,
    /// scoreBatches, scoreWarmupSteps), adapter.budgetFraction; the batch size, learning rate
    /// (of the scoring warm-up), seed and device of train. Its method is ignored.
    TrainSpec train;
    /// > 0: a budget of trainable parameters instead of floor(budgetFraction * modules).
    std::int64_t budgetParams = 0;
    /// Not empty: each module gets a rank from this set (0 is off), chosen greedily in score order
    /// under the parameter budget (budgetParams, or budgetFraction of every module at rank r).
    /// Empty: each module is on at rank r or off.
    std::vector<std::int64_t> rankSet;
};

/// CLOVER's absorb-decompose of a model's attention (seed-papers.md 2.2-2.4) as a job: decomposes
/// every head (Q-K and V-O absorbed and split by SVD where nothing sits between the factors, head-
/// wise QR where RoPE or grouped-query attention forbids it), checks that the reparameterised
/// model reproduces the original logits, optionally prunes directions by singular value and
/// compares that with vanilla pruning of as many original head dimensions. Records a run (kind
/// "decompose", method "clover"); its output JSON holds the side-by-side figures.
struct DecomposeSpec {
    std::string runName = "decompose";
    std::filesystem::path modelDir; ///< Hugging Face folder
    /// Optional: where the folded model is written as a Hugging Face folder (config.json, the
    /// tokenizer files, model.safetensors in f32), with the original shapes (pruned directions
    /// are zero). It must not exist or be empty; it is written under `<outputDir>.partial`,
    /// verified by reloading and renamed when complete.
    std::filesystem::path outputDir;
    /// > 0: remove round(ratio * head_dim) directions with the smallest singular values in every
    /// head of every absorbed pair; (0, 1). At most one of ratio and threshold; neither keeps every
    /// direction (the lossless reparameterisation).
    double pruneRatio = 0.0;
    /// > 0: remove every direction whose singular value is at most this.
    double pruneThreshold = 0.0;
    /// Optional (empty path: none): a dataset as ftw train reads it. Every example's mean
    /// next-token loss over its trained tokens is reported for the original and pruned models.
    DataConfig evalData;
    std::uint64_t seed = 0; ///< the fixed batch of token ids the logits are compared on
};

/// Everything the engine can be asked to do.
using JobSpec = std::variant<DemoJobSpec, TrainSpec, EvalSpec, MergeSpec, SweepSpec, AllocateSpec,
                             DecomposeSpec, PretrainSpec, BenchSpec>;

/// How a job ended. `runId` is the run it recorded in the store, 0 when it recorded none.
struct JobResult {
    JobStatus status = JobStatus::Unknown;
    ErrorInfo error; ///< set when status is Failed
    RunId runId = 0;
    double elapsedMs = 0.0;
    /// What the job produced, as a JSON object: eval metrics, the export and its verification,
    /// the adapter folder of a train run. "{}" when nothing.
    std::string outputJson = "{}";
};

/// Names a submitted job; a plain value, valid for the lifetime of the Engine that returned it.
struct JobHandle {
    JobId id = 0;
};

} // namespace ftw
