// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_config.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ftw {

/// The benchmark of the spec's targets (product.md, "Targets that benchmarks measure"): the train
/// step of a model shape, method and batch (tokens/s, step time, peak memory, model FLOPs and
/// their share of the device's measured matrix-product peak), then merge/export of the trained
/// adapter against the time to read and write the model's files. Prints figures, asserts none.
///
/// The step is the engine's real one (the Trainer's loop), on a synthetic dataset of `batchSize`
/// sequences of `seqLength` token ids drawn uniformly from the vocabulary with LibTorch's CPU
/// generator seeded with `train.train.seed` (torch.randint(0, vocab, (batch, seqLength),
/// generator=torch.Generator().manual_seed(seed)) draws the same ids in Python), every token
/// trained: the same batch every step, so the first loss is the base model's on those ids.
/// Nothing is recorded in the user's store: the job works in a scratch folder of its own.
struct BenchSpec {
    std::string runName = "bench";
    /// Everything about the run but its data: the adapter, batch size, learning rate, device,
    /// precision, gradient checkpointing and seed; train.modelDir when `shape` is empty. Its data
    /// and step settings are ignored.
    TrainSpec train;
    /// Empty: bench train.modelDir. Else a standard shape (benchShapeNames()): "bundled" (the
    /// bundled default model), or a random model of that shape written first ("tiny",
    /// "qwen2.5-0.5b").
    std::string shape;
    /// Where the random model of `shape` is written and kept (empty: a scratch folder, removed).
    std::filesystem::path saveModelDir;
    std::int64_t seqLength = 128;   ///< tokens per sequence, >= 2
    std::int64_t steps = 10;        ///< timed optimiser steps, >= 1
    std::int64_t untimedSteps = 2;  ///< steps run first and not timed (allocations, caches)
    bool isMergeMeasured = true;    ///< also time merge/export and read + write of the files
    std::string mergeDtype = "f32"; ///< the merged model's dtype: f32, f16 or bf16
};

/// The standard shapes `BenchSpec::shape` accepts, in the order `ftw bench --help` lists them.
[[nodiscard]] std::vector<std::string> benchShapeNames();

/// The model FLOPs of one optimiser step of a decoder (what the step must compute, whatever the
/// implementation): 2 per multiply-add of every matrix product of the forward pass (projections,
/// the vocabulary projection and the attention scores and mixing, counted over the full square
/// as is customary), then the backward pass: the gradients with respect to the activations
/// (as many FLOPs as the forward pass) and, for the trained weights only, with respect to the
/// weights (as many as those weights' forward products). A recomputed (checkpointed) forward
/// counts once more. Sizes are those of config.json.
struct StepFlopsInput {
    std::int64_t batchSize = 0;
    std::int64_t seqLength = 0;
    std::int64_t hiddenSize = 0;
    std::int64_t numLayers = 0;
    std::int64_t numHeads = 0;
    std::int64_t headDim = 0;
    std::int64_t vocabSize = 0;
    /// Weights of every matrix product of one token's forward pass (the projections of all
    /// layers and the vocabulary projection; not the embedding lookup).
    std::int64_t matmulParams = 0;
    /// Trainable weights that take part in matrix products (an adapter's factors; every matrix
    /// with full fine-tuning).
    std::int64_t trainableMatmulParams = 0;
    bool isCheckpointing = false;
};
[[nodiscard]] double stepFlops(const StepFlopsInput& input);

} // namespace ftw
