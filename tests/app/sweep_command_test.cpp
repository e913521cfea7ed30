// SPDX-License-Identifier: MIT
// `ftw sweep`: methods matched to one budget, trained as a group, and a plan refused up front.
#include "cli_fixture.h"

#include <ftw/budget.h>
#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <fstream>

namespace ftw::cli {
namespace {

class SweepCommandTest : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        ASSERT_EQ(ftw({"make-tiny-model", model(), "--arch", "llama"}).exitCode, 0);
        std::ofstream out(data());
        for (int i = 0; i < 16; ++i) {
            out << R"({"prompt": ")" << i % 10 << R"(+2=", "completion": ")" << i % 10 + 2
                << R"(;"})" << '\n';
        }
    }

    std::string model() const { return (m_dir / "model").string(); }
    std::string data() const { return (m_dir / "data.jsonl").string(); }
};

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
    const CliOutcome full = ftw({"sweep", "--model", model(), "--data", data(), "--methods",
                                 "lora,full", "--target-params", "2500", "--db", db()});
    EXPECT_EQ(full.exitCode, 2);
    EXPECT_NE(full.err.find("'full'"), std::string::npos) << full.err;
    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    if (store) { // the store may not even exist: nothing was recorded
        EXPECT_TRUE(store->listRuns()->empty());
    }
}

} // namespace
} // namespace ftw::cli
