// SPDX-License-Identifier: MIT
// `ftw sweep`: methods matched to one budget, trained as a group, and a plan refused up front.
#include "cli_fixture.h"

#include <ftw/budget.h>
#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

namespace ftw::cli {
namespace {

using SweepCommandTest = TinyLlamaCliTest;

TEST_F(SweepCommandTest, TrainsEveryMethodAtTheBudgetAsOneGroup)
{
    const CliOutcome swept =
        ftw({"sweep", "--model", model(), "--data", data(), "--methods", "lora,vera,bone",
             "--target-params", "2500", "--steps", "3", "--validation-ratio", "0.25", "--name",
             "cli-sweep", "--db", db(), "--json"});
    ASSERT_EQ(swept.exitCode, 0) << swept.err;
    const nlohmann::json result = nlohmann::json::parse(swept.out);
    const nlohmann::json runs = result["output"]["runs"];
    ASSERT_EQ(runs.size(), 3U);

    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const auto groups = store->groups();
    ASSERT_EQ(groups->size(), 1U);
    EXPECT_EQ(groups->front().name, "cli-sweep");
    EXPECT_EQ(result["output"]["group_id"], groups->front().id);
    const std::vector<std::string> methods = {"lora", "vera", "bone"};
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(runs[i]["method"], methods[i]);
        EXPECT_EQ(runs[i]["status"], "succeeded");
        const auto run = store->run(runs[i]["run_id"].get<RunId>());
        ASSERT_TRUE(run.hasValue());
        EXPECT_EQ(run->summary.name, "cli-sweep-" + methods[i]);
        EXPECT_EQ(run->summary.groupId, groups->front().id);
        // The recorded count is the analytic count of the chosen setting.
        AdapterConfig adapter;
        adapter.method = *parseAdapterMethod(methods[i]);
        adapter.r = runs[i]["value"].get<std::int64_t>();
        EXPECT_EQ(run->summary.trainableParams, computeBudget(model(), adapter)->trainableParams);
        EXPECT_EQ(runs[i]["trainable_params"], *run->summary.trainableParams);
    }

    // The text output is a table with a line per method.
    const CliOutcome text = ftw({"sweep", "--model", model(), "--data", data(), "--methods", "lora",
                                 "--target-params", "2500", "--steps", "1", "--db", db()});
    ASSERT_EQ(text.exitCode, 0) << text.err;
    EXPECT_NE(text.out.find("lora"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("succeeded"), std::string::npos) << text.out;
}

TEST_F(SweepCommandTest, CloversFixedCountIsTheTargetTheOthersAreMatchedToWithinOneStep)
{
    const CliOutcome swept = ftw({"sweep", "--model", model(), "--data", data(), "--methods",
                                  "clover,lora,bone", "--target-method", "clover", "--steps", "2",
                                  "--validation-ratio", "0.25", "--db", db(), "--json"});
    ASSERT_EQ(swept.exitCode, 0) << swept.err;
    const nlohmann::json output = nlohmann::json::parse(swept.out)["output"];
    // CLOVER's count by hand on the tiny Llama (2 layers, 2 KV heads of 16, intermediate 128):
    // k and v per KV head 2 x 16^2 each, up_proj in 2 blocks of 64^2.
    const std::int64_t clover = 2 * (2 * 2 * 16 * 16 + 2 * 64 * 64);
    EXPECT_EQ(output["target_params"].get<double>(), static_cast<double>(clover));
    const nlohmann::json runs = output["runs"];
    ASSERT_EQ(runs.size(), 3U);
    EXPECT_EQ(runs[0]["fixed"], true);
    EXPECT_EQ(runs[0]["trainable_params"], clover);
    EXPECT_EQ(runs[0]["within_one_step"], true);
    for (std::size_t i = 1; i < 3; ++i) {
        SCOPED_TRACE(runs[i]["method"].get<std::string>());
        EXPECT_EQ(runs[i]["status"], "succeeded");
        EXPECT_EQ(runs[i]["within_one_step"], true);
        // No other valid value of the knob comes closer: the neighbours on either side are
        // farther from CLOVER's count (or not valid).
        AdapterConfig adapter;
        adapter.method = *parseAdapterMethod(runs[i]["method"].get<std::string>());
        adapter.targetModules = {"all-linear"};
        const std::int64_t value = runs[i]["value"].get<std::int64_t>();
        const std::int64_t trained = runs[i]["trainable_params"].get<std::int64_t>();
        for (const std::int64_t other : {value - 1, value + 1}) {
            adapter.r = other;
            const auto budget = computeBudget(model(), adapter);
            if (other > 0 && budget) {
                EXPECT_GE(std::abs(budget->trainableParams - clover), std::abs(trained - clover))
                    << other;
            }
        }
    }
}

TEST_F(SweepCommandTest, ABadPlanIsRefusedBeforeAnythingIsRecorded)
{
    const CliOutcome unknown = ftw({"sweep", "--model", model(), "--data", data(), "--methods",
                                    "lora,lorax", "--target-params", "2500", "--db", db()});
    EXPECT_EQ(unknown.exitCode, 2);
    EXPECT_NE(unknown.err.find("unknown method 'lorax'"), std::string::npos) << unknown.err;
    const CliOutcome noBudget =
        ftw({"sweep", "--model", model(), "--data", data(), "--methods", "lora", "--db", db()});
    EXPECT_EQ(noBudget.exitCode, 2);
    EXPECT_NE(noBudget.err.find("--target-params"), std::string::npos) << noBudget.err;
    const CliOutcome twice = ftw({"sweep", "--model", model(), "--data", data(), "--methods",
                                  "lora,vera,lora", "--target-params", "2500", "--db", db()});
    EXPECT_EQ(twice.exitCode, 2);
    EXPECT_NE(twice.err.find("'lora' is listed twice"), std::string::npos) << twice.err;
    // CLOVER cannot adapt o_proj, and the plan says so before anything trains.
    const CliOutcome clover =
        ftw({"sweep", "--model", model(), "--data", data(), "--methods", "lora,clover", "--targets",
             "q_proj,o_proj", "--target-params", "2500", "--db", db()});
    EXPECT_EQ(clover.exitCode, 2);
    EXPECT_NE(clover.err.find("o_proj"), std::string::npos) << clover.err;
    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    if (store) { // the store may not even exist: nothing was recorded
        EXPECT_TRUE(store->listRuns()->empty());
    }
}

} // namespace
} // namespace ftw::cli
