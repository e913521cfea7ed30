// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// Evaluates a model, with or without an adapter, on a dataset: loss, perplexity and exact-match
/// accuracy. Invalid settings make the job fail with InvalidConfig when it runs.
[[nodiscard]] Job makeEvalJob(const EvalSpec& spec);

} // namespace ftw::jobs
