// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

namespace ftw::cli {

/// Options every subcommand shares, and where it prints.
struct CliContext {
    std::ostream& out;
    std::ostream& err;
    std::filesystem::path databasePath; ///< from --db; empty means FTW_DB or the default
    bool isJson = false;                ///< --json: machine-readable output on `out`
};

/// Prints "ftw: <message>" on err and returns kExitFailure.
int fail(const CliContext& ctx, const std::string& message);

} // namespace ftw::cli
