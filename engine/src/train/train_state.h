// SPDX-License-Identifier: MIT
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace torch::optim {
class Optimizer;
} // namespace torch::optim

namespace ftw::train {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// Where a training loop is: everything besides tensors that resuming needs.
struct LoopState {
    std::int64_t step = 0;         ///< optimiser steps done
    std::int64_t microBatches = 0; ///< micro-batches consumed: the data cursor
    std::int64_t tokensSeen = 0;
    std::int64_t elapsedMs = 0; ///< training wall time so far, across resumes
    double lossScale = 0.0;     ///< fp16 dynamic loss scale (0 when unused)
    std::int64_t goodSteps = 0; ///< fp16: steps since the scale last changed
};

/// A checkpoint folder: `trainable.safetensors` (the trainable tensors by name, and `extra`
/// tensors such as RNG states), `optimizer.pt` (LibTorch's archive of the optimiser state) and
/// `trainer_state.json`. Written to `<dir>.partial` and renamed when complete, so a folder without
/// the suffix is always whole. Returns its size in bytes. Throws Error{Io} when writing fails.
std::int64_t saveCheckpoint(const std::filesystem::path& dir, const LoopState& state,
                            const NamedTensors& trainable, const NamedTensors& extra,
                            torch::optim::Optimizer& optimizer, const std::string& configJson);

/// Reads a checkpoint written by saveCheckpoint: copies the saved values into `trainable` (same
/// names and shapes, in place so that the optimiser keeps its references), loads the optimiser
/// state, and returns the loop state with the `extra` tensors (on the CPU) in `extraOut`. Throws
/// Error{ModelFormat} naming the file and the tensor for a missing or mis-shaped tensor.
LoopState loadCheckpoint(const std::filesystem::path& dir, const NamedTensors& trainable,
                         NamedTensors& extraOut, torch::optim::Optimizer& optimizer);

/// The state of the default random generators of the CPU and of `device` (when CUDA), as tensors
/// named "rng.cpu" and "rng.cuda".
[[nodiscard]] NamedTensors randomState(const c10::Device& device);
/// Restores what randomState() returned; unknown names are ignored.
void restoreRandomState(const NamedTensors& state, const c10::Device& device);

} // namespace ftw::train
