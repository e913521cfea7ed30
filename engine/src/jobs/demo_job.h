// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// The demonstration job: fits a random linear regression with LibTorch's Adam, recording a run
/// with its loss curve. Invalid settings make the job fail with InvalidConfig when it runs.
[[nodiscard]] Job makeDemoJob(const DemoJobSpec& spec);

} // namespace ftw::jobs
