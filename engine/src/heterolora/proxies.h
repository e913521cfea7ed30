// SPDX-License-Identifier: MIT
#pragma once

#include "gated_lora.h"

#include "adapters/adapter_set.h"
#include "nn/decoder.h"
#include "train/training_data.h"

#include <ftw/adapter_config.h>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ftw::heterolora {

/// One HeteroLoRA unit by its full name: a candidate LoRA module (GatedLoraAdapter) or a
/// LoRA-adapted shortcut (ShortcutLora, whose target is a shortcut: isShortcut()).
struct Unit {
    std::string name; ///< "model.layers.3.self_attn.v_proj", "model.layers.3.shortcut.residual1"
    std::shared_ptr<SwitchableLora> adapter;
};

/// The units of an adapter set of method heterolora: the modules in model order, then its
/// shortcuts (when the config has them) in model order. Throws Error{InvalidArgument} for another
/// method.
[[nodiscard]] std::vector<Unit> unitsOf(const adapters::AdapterSet& adapters);

/// The proxy scores of one unit; a proxy that was not asked for has no value. RANDOM is a seeded
/// uniform draw in [0, 1): the paper's CONSTANT score with its uniform tie-break, stored as the
/// draw so that ranking by it gives the random allocation.
struct UnitScores {
    std::optional<double> gradNorm;
    std::optional<double> snip;
    std::optional<double> synflow;
    std::optional<double> random;

    /// The score of `proxy`: the value, or NaN when it was not computed.
    [[nodiscard]] double of(ZeroCostProxy proxy) const;
};

/// How a scoring pass runs.
struct ScoringOptions {
    std::vector<ZeroCostProxy> proxies; ///< which to compute (RANDOM is always drawn)
    /// Throwaway AdamW steps of every unit before SNIP and SYNFLOW (the zero-B caveat, see
    /// scoreUnits); 0 scores them at the live weights, where they vanish for B = 0.
    std::int64_t warmupSteps = 2;
    double warmupLearningRate = 2e-4;
    std::uint64_t seed = 0; ///< RANDOM's draws
    c10::Device device{c10::kCPU};
    c10::ScalarType computeDtype = c10::ScalarType::Float;
    /// Called before every forward pass (it may throw ftw::Cancelled); may be empty.
    std::function<void()> checkCancelled;
    /// Called after every forward and backward pass with (done, total); may be empty.
    std::function<void(std::int64_t, std::int64_t)> onPass;
};

/// Scores every unit with HeteroLoRA's zero-cost proxies (seed-papers.md 3.3) on `batches` (the
/// first k training batches, unshuffled). Every unit is switched on while scoring; the gradients
/// are those of the mean task loss (next-token cross-entropy over the trained tokens) of each
/// batch, averaged over the k batches:
///
/// * GRAD-NORM = ||dL/dA||_F + ||dL/dB||_F at the live weights (at a fresh init B = 0, so
///   dL/dA = 0 and it is ||dL/dB||_F, as in the paper);
/// * SNIP = sum |A * dL/dA| + sum |B * dL/dB|;
/// * SYNFLOW as the paper's code computes it: every parameter of the model and every A and B
///   replaced by its absolute value, all-ones input embeddings of the batch's shape, the real
///   labels, then sum |A * dL/dA| + sum |B * dL/dB|; the signs are restored after.
///
/// The zero-B caveat: SNIP and SYNFLOW are identically zero for a unit whose B is 0 (every unit
/// at a fresh init, and in the dynamic variant every unit never switched on): dL/dA is
/// proportional to B and the B term multiplies by B. So they are computed at a scoring point
/// where B is not zero: the live weights after options.warmupSteps throwaway AdamW steps (at
/// options.warmupLearningRate, no weight decay) of every unit on the scoring batches, in order.
/// The warm-up moves each B by about the learning rate along its negative gradient, so SNIP
/// then measures how much each module's first steps change the loss. The units' weights are
/// restored afterwards; GRAD-NORM does not need it and uses the live weights.
///
/// The decoder is in eval mode while scoring (no dropout) and returns to its mode; every unit
/// returns to its on/off state; the units' gradients are cleared. Returns one entry per unit.
[[nodiscard]] std::vector<UnitScores> scoreUnits(nn::DecoderImpl& decoder,
                                                 const std::vector<Unit>& units,
                                                 std::span<const train::Batch> batches,
                                                 const ScoringOptions& options);

/// The first `count` batches of `batchSize` examples of `examples` in their order (fewer when the
/// examples run out; the last may be short).
[[nodiscard]] std::vector<train::Batch>
firstBatches(const std::vector<data::TokenizedExample>& examples, std::int64_t batchSize,
             std::int64_t count, std::int64_t padId);

} // namespace ftw::heterolora
