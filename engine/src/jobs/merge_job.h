// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// Writes a merged model or the adapter alone, verified against base+adapter.
/// Invalid settings make the job fail with InvalidConfig when it runs.
[[nodiscard]] Job makeMergeJob(const MergeSpec& spec);

} // namespace ftw::jobs
