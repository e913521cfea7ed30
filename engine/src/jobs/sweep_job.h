// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// An equal-budget sweep (SweepSpec): records a group of kind "sweep", then trains
/// sweepRunSpecs() one after another, each as a run of the group with its own outcome. A member
/// that fails is recorded as failed and the next one runs; stopping stops the member that runs
/// and the rest. The job fails, after all members ran, when any member failed (the message names
/// them). Its output JSON lists the group and every member: method, knob, value, trainable
/// parameters, run id, status and best eval loss.
[[nodiscard]] Job makeSweepJob(const SweepSpec& spec);

} // namespace ftw::jobs
