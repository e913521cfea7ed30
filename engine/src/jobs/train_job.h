// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// A fine-tuning run (or, with resumeRunId, the continuation of one from its last checkpoint).
/// Invalid settings make the job fail with InvalidConfig when it runs.
[[nodiscard]] Job makeTrainJob(const TrainSpec& spec);

} // namespace ftw::jobs
