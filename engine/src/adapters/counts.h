// SPDX-License-Identifier: MIT
#pragma once

#include "targets.h"

#include "model/model_config.h"

#include <cstdint>
#include <vector>

namespace ftw::adapters {

/// Trainable elements the method creates on one module (adapter-methods.md section 12):
/// LoRA family r(in+out), DoRA r(in+out)+out, VeRA out+r, Bone r*out, Bat out*r,
/// AdaLoRA init_r(in+out+1), CLOVER sum(groups * block^2) (heads * d^2 per projection), full
/// in*out (+out with a bias).
[[nodiscard]] std::int64_t trainableCount(Method method, const Target& target);

/// VeRA's shared projection sizes: the element-wise largest (in, out) of the targets.
struct LargestShape {
    std::int64_t in = 0;
    std::int64_t out = 0;
};
[[nodiscard]] LargestShape largestShape(const std::vector<Target>& targets);

/// Frozen elements shared by the whole adapter: VeRA's vera_A [r, max_in] and vera_B [max_out, r];
/// 0 for the other methods.
[[nodiscard]] std::int64_t sharedFrozenCount(Method method, const std::vector<Target>& targets);

/// Trainable elements of HeteroLoRA's shortcuts (heterolora/shortcuts.h) that `adapter` trains:
/// 2 r D each (A [r, D] and B [D, r]), over the 4 L - 1 shortcuts of heterolora with shortcuts (3
/// in layer 0, 4 in the others), or over lora's shortcut_modules; 0 otherwise.
[[nodiscard]] std::int64_t shortcutTrainableCount(const model::ModelConfig& config,
                                                  const AdapterConfig& adapter);

/// Trainable elements of the whole model: the sum over targets plus the shortcuts, or every
/// parameter of the model for full fine-tuning.
[[nodiscard]] std::int64_t totalTrainableCount(const model::ModelConfig& config,
                                               const AdapterConfig& adapter,
                                               const std::vector<Target>& targets);

} // namespace ftw::adapters
