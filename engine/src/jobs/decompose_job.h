// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// CLOVER's absorb-decompose, pruning and folding as a job (DecomposeSpec): records a run,
/// reports the reparameterisation's and (when pruning) CLOVER's and vanilla pruning's logit
/// differences and eval losses side by side, and writes the folded model when asked. Invalid
/// settings make the job fail with InvalidConfig after its run is recorded.
[[nodiscard]] Job makeDecomposeJob(const DecomposeSpec& spec);

} // namespace ftw::jobs
