// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/bench.h>

namespace ftw::jobs {

/// The bench as a job (BenchSpec): times the train step on a synthetic batch, then merge/export
/// against reading and writing the model's files, in a scratch folder of its own; its output JSON
/// holds the figures. Records nothing in the user's store. Invalid settings fail with
/// InvalidConfig naming the field.
[[nodiscard]] Job makeBenchJob(const BenchSpec& spec);

} // namespace ftw::jobs
