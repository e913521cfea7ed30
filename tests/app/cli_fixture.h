// SPDX-License-Identifier: MIT
#pragma once

#include "cli/cli.h"

#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
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

/// A CliTest with a tiny random Llama (`ftw make-tiny-model`) and 16 prompt-completion examples
/// ("3+3=" -> "6;") to train on.
class TinyLlamaCliTest : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        ASSERT_EQ(ftw({"make-tiny-model", model(), "--arch", "llama"}).exitCode, 0);
        std::ofstream out(data());
        for (int i = 0; i < 16; ++i) {
            out << R"({"prompt": ")" << i % 10 << R"(+3=", "completion": ")" << i % 10 + 3
                << R"(;"})" << '\n';
        }
    }

    std::string model() const { return (m_dir / "model").string(); }
    std::string data() const { return (m_dir / "data.jsonl").string(); }
};

} // namespace ftw::cli
