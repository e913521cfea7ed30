// SPDX-License-Identifier: MIT
#pragma once

#include "cli/cli.h"

#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace ftw::cli {

struct CliOutcome {
    int exitCode = -1;
    std::string out;
    std::string err;
};

/// Runs the `ftw` command line in-process with a fresh temporary folder and no FTW_DB.
class CliTest : public ::testing::Test {
protected:
    void SetUp() override { ::unsetenv("FTW_DB"); }
    void TearDown() override { ::unsetenv("FTW_DB"); }

    CliOutcome ftw(std::vector<std::string> args)
    {
        args.insert(args.begin(), "ftw");
        std::vector<const char*> argv;
        for (const std::string& arg : args) {
            argv.push_back(arg.c_str());
        }
        std::ostringstream out;
        std::ostringstream err;
        const int code = run(static_cast<int>(argv.size()), argv.data(), out, err);
        return {code, out.str(), err.str()};
    }

    std::string db() const { return (m_dir / "ftw.db").string(); }

    test::TempDir m_dir;
};

} // namespace ftw::cli
