// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string_view>

namespace ftw::train {

/// The learning-rate multiplier of optimiser step `step` (0-based) of `totalSteps`, as Hugging
/// Face's schedulers compute it: a linear warm-up from 0 over `warmupSteps`, then constant, a
/// linear decay to 0, or a half cosine to 0. `scheduler` is constant, linear or cosine.
[[nodiscard]] double learningRateFactor(std::string_view scheduler, std::int64_t step,
                                        std::int64_t totalSteps, std::int64_t warmupSteps);

} // namespace ftw::train
