// SPDX-License-Identifier: MIT
#pragma once
// Which parts of a projection CLOVER fine-tunes (seed-papers.md 2.5, the v2 / ICML setting), from
// config.json alone: the per-head (or per-block) cores and their trainable parameter count.

#include "model/projections.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftw::clover {

/// MLP up projections are cut into "heads" of this many consecutive output rows (2.5).
inline constexpr std::int64_t kMlpBlockSize = 64;

/// One group of output features of a projection that CLOVER reparameterises: `groups` blocks of
/// `blockSize` consecutive outputs starting at `start`, each with a trainable blockSize x
/// blockSize core.
struct SegmentPlan {
    std::string role;           ///< "q", "k", "v" or "up": names the segment's tensors
    std::int64_t start = 0;     ///< first output feature
    std::int64_t groups = 0;    ///< heads, KV heads or MLP blocks
    std::int64_t blockSize = 0; ///< head_dim, or kMlpBlockSize for an up projection
    [[nodiscard]] std::int64_t width() const { return groups * blockSize; }
};

/// The segments of `spec`: Llama family q_proj, k_proj, v_proj (one per head or KV head of
/// head_dim outputs) and up_proj (blocks of 64 rows); GPT-2 attn.c_attn (its K and V parts, per
/// head) and mlp.c_fc (blocks of 64). Throws Error{InvalidArgument} naming the module for another
/// kind, or when its outputs do not divide into the blocks.
[[nodiscard]] std::vector<SegmentPlan> planSegments(const model::ProjectionSpec& spec);

/// Whether "all-linear" (or no target list) chooses `spec` for CLOVER: the v2 setting, K and V of
/// every layer and the up projection where its outputs divide into blocks of 64.
[[nodiscard]] bool isDefaultTarget(const model::ProjectionSpec& spec);

/// The block size of the module's cores (head_dim, or 64 for an up projection), which FTW shows
/// as its "r". Throws like planSegments().
[[nodiscard]] std::int64_t blockSizeOf(const model::ProjectionSpec& spec);

/// Trainable elements on `spec`: every core is a full blockSize x blockSize matrix, so
/// sum(groups * blockSize^2) (heads * d^2 per adapted projection, 2.5).
[[nodiscard]] std::int64_t trainableCount(const model::ProjectionSpec& spec);

} // namespace ftw::clover
