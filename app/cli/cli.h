// SPDX-License-Identifier: MIT
#pragma once

#include <ostream>

namespace ftw::cli {

/// Exit codes of the `ftw` command line (a stable contract).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 2;
inline constexpr int kExitCancelled = 3;

/// Runs the `ftw` command line: parses `argv`, runs the subcommand, prints results to `out` and
/// errors and progress to `err`. Returns the exit code. Never throws.
/// NOTE: installs a SIGINT handler for the duration of commands that run jobs (Ctrl-C cancels the
/// job).
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

} // namespace ftw::cli
