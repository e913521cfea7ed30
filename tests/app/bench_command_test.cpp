// SPDX-License-Identifier: MIT
// `ftw bench` in-process: the JSON figures of a random tiny shape with its merge, the table, a
// given model folder, the bundled run's settings when nothing is chosen, and the refusals that
// name the option.
#include "cli_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ftw::cli {
namespace {

using nlohmann::json;

class BenchCommandTest : public TinyLlamaCliTest {};

TEST_F(BenchCommandTest, JsonHasTheTrainAndMergeFigures)
{
    const CliOutcome r =
        ftw({"bench", "--shape", "tiny", "--steps", "2", "--untimed-steps", "0", "--seq-len", "16",
             "--batch-size", "2", "--r", "4", "--device", "cpu", "--db", db(), "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["status"], "succeeded");
    const json& output = j["output"];
    EXPECT_EQ(output["model"]["shape"], "tiny");
    EXPECT_EQ(output["model"]["arch"], "qwen2");
    EXPECT_EQ(output["device"], "cpu");
    EXPECT_EQ(output["precision"], "fp32");
    EXPECT_EQ(output["config"]["adapter"]["r"], 4);
    EXPECT_EQ(output["train"]["tokens_per_step"], 32);
    EXPECT_EQ(output["train"]["steps"], 2);
    EXPECT_GT(output["train"]["tokens_per_second"].get<double>(), 0.0);
    EXPECT_GT(output["merge"]["model_bytes"].get<std::int64_t>(), 0);
    EXPECT_GT(output["merge"]["ratio"].get<double>(), 0.0);
    EXPECT_GT(output["merge"]["phase_seconds"]["verify"].get<double>(), 0.0);
}

TEST_F(BenchCommandTest, TableOfAGivenModelFolder)
{
    const CliOutcome r = ftw({"bench", "--model", model(), "--steps", "1", "--untimed-steps", "0",
                              "--seq-len", "8", "--batch-size", "2", "--no-merge", "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("ftw bench: " + model() + " (llama"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("batch 2 x 8 tokens; 0 untimed + 1 timed steps"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("tokens/s"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("peak memory"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("of the measured matrix-product peak"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("merge/export"), std::string::npos) << r.out;
}

TEST_F(BenchCommandTest, TableShowsTheMergePhasesAndTheCpuCache)
{
    const CliOutcome r =
        ftw({"bench", "--shape", "tiny", "--steps", "2", "--untimed-steps", "0", "--seq-len", "16",
             "--batch-size", "2", "--device", "cpu", "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("merge/export: f32"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  phases        load "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("without the verification "), std::string::npos) << r.out;
    // Engine::create, which every command calls, installs the caching allocator unless
    // FTW_CPU_CACHE_MIB=0 turns it off.
    const char* cache = std::getenv("FTW_CPU_CACHE_MIB");
    if (cache == nullptr || std::string(cache) != "0") {
        EXPECT_NE(r.out.find("  CPU cache     "), std::string::npos) << r.out;
    }
}

TEST_F(BenchCommandTest, NothingChosenBenchesTheBundledRun)
{
    const CliOutcome r = ftw({"bench", "--steps", "1", "--untimed-steps", "0", "--seq-len", "16",
                              "--batch-size", "2", "--no-merge", "--db", db(), "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const json output = json::parse(r.out)["output"];
    EXPECT_EQ(output["model"]["shape"], "bundled");
    EXPECT_EQ(output["model"]["arch"], "llama");
    // The bundled run.json's adapter: LoRA r 8, alpha 16, on every linear layer.
    EXPECT_EQ(output["config"]["adapter"]["method"], "lora");
    EXPECT_EQ(output["config"]["adapter"]["r"], 8);
    EXPECT_EQ(output["train"]["batch_size"], 2);
}

TEST_F(BenchCommandTest, RefusesOptionsThatDoNotApply)
{
    CliOutcome r = ftw({"bench", "--data", data(), "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("--data"), std::string::npos) << r.err;

    r = ftw({"bench", "--shape", "gpt-17", "--no-merge", "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("unknown shape 'gpt-17'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("qwen2.5-0.5b"), std::string::npos) << r.err;

    r = ftw({"bench", "--shape", "tiny", "--model", model(), "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("either --shape or --model"), std::string::npos) << r.err;

    r = ftw({"bench", "--shape", "tiny", "--merge-dtype", "f8", "--steps", "1", "--db", db()});
    EXPECT_EQ(r.exitCode, kExitFailure);
    EXPECT_NE(r.err.find("--merge-dtype"), std::string::npos) << r.err;
}

} // namespace
} // namespace ftw::cli
