// SPDX-License-Identifier: MIT
#include "schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ftw::train {

double learningRateFactor(std::string_view scheduler, std::int64_t step, std::int64_t totalSteps,
                          std::int64_t warmupSteps)
{
    if (step < warmupSteps) {
        return static_cast<double>(step) /
               static_cast<double>(std::max<std::int64_t>(1, warmupSteps));
    }
    if (scheduler == "constant") {
        return 1.0;
    }
    const double progress =
        static_cast<double>(step - warmupSteps) /
        static_cast<double>(std::max<std::int64_t>(1, totalSteps - warmupSteps));
    if (scheduler == "cosine") {
        return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
    }
    return std::max(0.0, 1.0 - progress); // linear
}

} // namespace ftw::train
