// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// HeteroLoRA's static allocation as a job (AllocateSpec): scores, chooses, records the layout and
/// writes the allocated run config. Invalid settings make the job fail with InvalidConfig.
[[nodiscard]] Job makeAllocateJob(const AllocateSpec& spec);

} // namespace ftw::jobs
