// SPDX-License-Identifier: MIT
#pragma once

#include "job_runner.h"

#include <ftw/job.h>

namespace ftw::jobs {

/// Pretraining from scratch (PretrainSpec): records a run of kind "pretrain", method "full";
/// writes the randomly initialised model with the tokenizer into the run folder, trains it with
/// the Trainer (full fine-tuning) and publishes the trained model folder to spec.outputDir.
/// Invalid settings, a missing file or a non-empty output folder fail the job with a message
/// naming the setting, on a failed run.
[[nodiscard]] Job makePretrainJob(const PretrainSpec& spec);

/// Continues the stopped or interrupted pretrain run `id` from its newest checkpoint, in `ctx`
/// (what the resume of a train run does for a run of kind "pretrain"). Throws Error{NotFound} or
/// Error{InvalidArgument} when the run cannot continue, ftw::Cancelled when cancelled.
void resumePretrainRun(RunId id, JobContext& ctx);

/// Whether the store of `ctx` holds run `id` with kind "pretrain".
[[nodiscard]] bool isPretrainRun(RunId id, JobContext& ctx);

} // namespace ftw::jobs
