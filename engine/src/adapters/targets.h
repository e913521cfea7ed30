// SPDX-License-Identifier: MIT
#pragma once

#include "adapter_config.h"

#include "model/projections.h"

#include <vector>

namespace ftw::adapters {

/// One module chosen for adaptation, with its rank and alpha after rank_pattern/alpha_pattern.
struct Target {
    model::ProjectionSpec spec;
    std::int64_t r = 0;
    double alpha = 0.0;
    /// The LoRA scaling: alpha / r, alpha / sqrt(r) with rsLoRA, alpha / (init_r + 1e-5) for
    /// AdaLoRA, 1 for methods without one.
    double scaling = 1.0;
};

/// Applies PEFT's selection rules (adapter-methods.md 1.3) to `projections`: exclusions first,
/// then the name/suffix list or the full-match regex, then layers_to_transform, then
/// rank_pattern/alpha_pattern (first matching key, tried as `(.*\.)?(key)$`). "all-linear" (or no
/// targets) takes every block projection and never lm_head. Throws Error{InvalidArgument} when
/// nothing matches, listing the module kinds the model has, and when the method cannot adapt a
/// chosen module (Bat needs in and out divisible by r; rank larger than min(in, out) for the SVD
/// inits).
[[nodiscard]] std::vector<Target>
selectTargets(const std::vector<model::ProjectionSpec>& projections, const AdapterConfig& config);

/// Whether a dotted module name is chosen by the list/regex/exclusion/layer rules alone.
[[nodiscard]] bool isTargeted(const model::ProjectionSpec& spec, const AdapterConfig& config);

} // namespace ftw::adapters
