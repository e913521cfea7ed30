// SPDX-License-Identifier: MIT
#pragma once

#include "cli_context.h"

#include <ftw/job.h>

#include <string>

namespace ftw::cli {

/// `ftw runs list`
int runsList(const CliContext& ctx);
/// `ftw runs show RUN_ID`
int runsShow(const CliContext& ctx, RunId id);
/// `ftw demo`: runs the demonstration job with a progress bar; Ctrl-C cancels it (exit 3).
int demo(const CliContext& ctx, const DemoJobSpec& spec);

} // namespace ftw::cli
