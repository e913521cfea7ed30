// SPDX-License-Identifier: MIT
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ftw::nn {

class LlamaBlockImpl;
class Gpt2BlockImpl;

/// Activation checkpointing of one decoder block: the forward pass keeps only the block's input;
/// the backward pass runs the block again with gradients (restoring the random generator first, so
/// dropout draws the same mask) and back-propagates through that. Gradients reach the block's
/// trainable tensors exactly as without checkpointing. Use only in training with gradients on and
/// no KV cache. NOTE: the block must outlive the backward pass (it always does: the decoder owns
/// it).
[[nodiscard]] at::Tensor checkpointedBlock(LlamaBlockImpl& block, const at::Tensor& hidden,
                                           const at::Tensor& rope);
[[nodiscard]] at::Tensor checkpointedBlock(Gpt2BlockImpl& block, const at::Tensor& hidden);

} // namespace ftw::nn
