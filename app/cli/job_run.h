// SPDX-License-Identifier: MIT
#pragma once

#include "cli_context.h"

#include <ftw/job.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>

namespace ftw::cli {

/// Runs one job on a new engine over the context's database, with a progress bar on a terminal
/// and Ctrl-C requesting cancellation. Returns std::nullopt when the engine cannot start (the
/// message has been printed).
[[nodiscard]] std::optional<JobResult> runJob(const CliContext& ctx, const JobSpec& spec);

/// The common JSON fields of a finished job: job and run ids, status, elapsed time, error, and the
/// job's output (parsed from JobResult::outputJson) under "output".
[[nodiscard]] nlohmann::json jobResultJson(const JobResult& result);

/// Runs `spec` with runJob(), then prints its jobResultJson() with --json, or else what
/// `printResult` writes for the finished job (whatever its status); returns the exit code
/// (exitCodeFor, or 2 when the engine cannot start).
int runJobAndReport(const CliContext& ctx, const JobSpec& spec,
                    const std::function<void(const JobResult&)>& printResult);

/// The exit code of a finished job: 0 succeeded, 3 cancelled (a note on stderr), 2 failed (the
/// message on stderr).
[[nodiscard]] int exitCodeFor(const CliContext& ctx, const JobResult& result);

} // namespace ftw::cli
