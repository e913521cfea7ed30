// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/adapter_config.h>
#include <ftw/expected.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw {

/// Which examples of a dataset file are used and how they become tokens.
struct DataConfig {
    std::filesystem::path path;        ///< .jsonl, .json, .csv or .txt
    std::string format = "auto";       ///< auto, text, alpaca, prompt-completion, chat
    std::string chatTemplate = "auto"; ///< auto, chatml, llama3, llama2, mistral, plain
    std::int64_t maxLength = 512;      ///< tokens per sequence; longer examples are cut
    bool isPacking = false;            ///< concatenate examples into full maxLength sequences
    bool isCompletionOnly = true;      ///< train on the answers only (else on every token)
    double validationRatio = 0.1;      ///< share held out for evaluation, [0, 0.9]
    std::int64_t maxValidationExamples = 256; ///< cap on the held-out examples (0: no cap)
};

/// Optimiser, schedule and loop settings of a training run.
struct TrainConfig {
    std::int64_t maxSteps = 0; ///< optimiser steps; 0 means `epochs` passes over the data
    double epochs = 1.0;
    std::int64_t batchSize = 4;        ///< examples per micro-batch
    std::int64_t gradAccumulation = 1; ///< micro-batches per optimiser step
    double learningRate = 2e-4;
    double weightDecay = 0.0; ///< AdamW's decoupled decay
    double adamBeta1 = 0.9;
    double adamBeta2 = 0.999;
    double adamEpsilon = 1e-8;
    std::string lrScheduler = "linear"; ///< constant, linear or cosine (after the warm-up)
    std::int64_t warmupSteps = 0;
    double warmupRatio = 0.0;    ///< used when warmupSteps is 0: a share of the total steps
    double maxGradNorm = 1.0;    ///< gradient clipping; 0 turns it off
    std::uint64_t seed = 0;      ///< data order, dropout and adapter init (adapter.seed follows it)
    std::string device = "auto"; ///< auto (CUDA when present), cpu, cuda, cuda:N
    std::string precision = "auto";       ///< auto (bf16 on CUDA, fp32 on CPU), fp32, bf16, fp16
    bool isGradientCheckpointing = false; ///< recompute block activations in the backward pass
    std::int64_t evalEverySteps = 0;      ///< 0: evaluate at the end only
    std::int64_t saveEverySteps = 0;      ///< 0: a checkpoint at the end only
    std::int64_t keepCheckpoints = 2;     ///< the newest this many are kept (at least 1)
    std::int64_t logEverySteps = 1;       ///< metrics are recorded every this many steps
};

/// A fine-tuning run: the run config file (`ftw train --config RUN.json`) in memory.
struct TrainSpec {
    std::string runName = "run";
    std::filesystem::path modelDir;
    DataConfig data;
    AdapterConfig adapter;
    TrainConfig train;
    /// When set (the resume job): the run to continue from its last checkpoint. Its config is the
    /// one stored with the run; the fields above are ignored.
    std::int64_t resumeRunId = 0;
};

/// How the answer is taken out of a generated or reference text for exact-match accuracy.
enum class AnswerExtraction {
    None,      ///< no generation-based accuracy
    Gsm8k,     ///< the text after the last "####", commas removed
    Regex,     ///< the first match of `answerRegex` (lookarounds leave context out)
    FirstLine, ///< the first non-empty line
    Full,      ///< the whole text
};
[[nodiscard]] std::string_view answerExtractionName(AnswerExtraction extraction);
/// "none", "gsm8k", "regex", "first-line", "full"; std::nullopt for another name.
[[nodiscard]] std::optional<AnswerExtraction> parseAnswerExtraction(std::string_view name);

/// Evaluates a model (optionally with an adapter) on a dataset.
struct EvalSpec {
    std::string runName = "eval";
    std::filesystem::path modelDir;
    std::filesystem::path adapterDir; ///< optional, PEFT layout
    DataConfig data;
    std::string split =
        "all";              ///< all, or validation (the split a train run with data.seed holds out)
    std::uint64_t seed = 0; ///< the split's seed when split is validation
    std::int64_t batchSize = 8;
    AnswerExtraction answerExtraction = AnswerExtraction::None;
    std::string answerRegex;        ///< for AnswerExtraction::Regex
    std::int64_t maxNewTokens = 32; ///< generation length for accuracy
    std::int64_t accuracyLimit = 0; ///< examples generated for accuracy (0: all)
    std::string device = "auto";
};

/// Writes a merged model (or the adapter alone) from a base model and an adapter.
struct MergeSpec {
    std::string runName = "merge";
    std::filesystem::path modelDir;
    std::filesystem::path adapterDir;       ///< PEFT layout
    std::filesystem::path outDir;           ///< must not exist yet, or be an empty folder
    std::string dtype = "f32";              ///< f32, f16 or bf16 (merged model only)
    bool isAdapterOnly = false;             ///< write the adapter alone in PEFT's layout
    std::vector<std::string> verifyPrompts; ///< empty: a few built-in prompts
    std::int64_t sourceRunId = 0;           ///< the run the adapter came from, when known
};

/// Parses a run config (JSON text) into a TrainSpec; relative paths are taken from `baseDir`.
/// Returns: InvalidConfig naming `source` and the field for a bad value or an unknown key.
[[nodiscard]] Expected<TrainSpec> parseRunConfig(std::string_view jsonText,
                                                 const std::string& source,
                                                 const std::filesystem::path& baseDir = {});
/// The run config of `spec` as indented JSON text; parseRunConfig() reads it back unchanged.
[[nodiscard]] std::string runConfigJson(const TrainSpec& spec);
/// Checks every field of `spec`. Returns: InvalidConfig naming the field and what is expected.
[[nodiscard]] Status validateTrainSpec(const TrainSpec& spec);

} // namespace ftw
