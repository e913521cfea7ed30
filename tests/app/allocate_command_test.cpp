// SPDX-License-Identifier: MIT
// `ftw allocate`: HeteroLoRA's scores and choice for every candidate module, the run config it
// writes (a plain LoRA of the chosen modules that `ftw train --config` takes), and bad options.
#include "cli_fixture.h"

#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

namespace ftw::cli {
namespace {

using AllocateCommandTest = TinyLlamaCliTest;

TEST_F(AllocateCommandTest, ScoresEveryModuleSwitchesOnTheBudgetAndTheConfigTrains)
{
    const std::string config = (m_dir / "allocated.json").string();
    const CliOutcome r = ftw(
        {"allocate",      "--model",   model(), "--data",       data(),      "--targets",
         "q_proj,v_proj", "--r",       "4",     "--proxy",      "grad-norm", "--budget-fraction",
         "0.5",           "--batches", "2",     "--batch-size", "4",         "--out-config",
         config,          "--db",      db(),    "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const nlohmann::json output = nlohmann::json::parse(r.out)["output"];
    const nlohmann::json modules = output["modules"];
    // The tiny Llama has 2 layers: q and v in each are 4 candidates, floor(0.5 * 4) = 2 are on.
    ASSERT_EQ(modules.size(), 4U);
    EXPECT_EQ(output["enabled"], 2);
    std::set<std::string> on;
    double lowestOn = 1e300;
    double highestOff = -1e300;
    std::int64_t params = 0;
    for (const nlohmann::json& m : modules) {
        for (const char* proxy : {"grad_norm", "snip", "synflow", "random"}) {
            EXPECT_TRUE(m[proxy].is_number()) << proxy;
        }
        EXPECT_GT(m["grad_norm"].get<double>(), 0.0);
        if (m["enabled"].get<bool>()) {
            on.insert(m["name"].get<std::string>());
            lowestOn = std::min(lowestOn, m["grad_norm"].get<double>());
            EXPECT_EQ(m["rank"], 4);
        } else {
            highestOff = std::max(highestOff, m["grad_norm"].get<double>());
        }
    }
    // GRAD-NORM chose the top half.
    EXPECT_GE(lowestOn, highestOff);
    // The written config is plain LoRA on exactly the chosen modules, and trains.
    std::ifstream in(config);
    const nlohmann::json written = nlohmann::json::parse(in);
    EXPECT_EQ(written["adapter"]["method"], "lora");
    const CliOutcome trained =
        ftw({"train", "--config", config, "--steps", "2", "--db", db(), "--json"});
    ASSERT_EQ(trained.exitCode, 0) << trained.err;
    const nlohmann::json train = nlohmann::json::parse(trained.out);
    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const auto trainedRun = store->run(train["run_id"].get<RunId>());
    ASSERT_TRUE(trainedRun.hasValue());
    // r (in + out) for each of the two modules on: q is 64 x 64 and v 64 x 32 in the tiny Llama.
    for (const nlohmann::json& m : modules) {
        if (m["enabled"].get<bool>()) {
            params += 4 * (m["module"] == "self_attn.q_proj" ? 64 + 64 : 64 + 32);
        }
    }
    EXPECT_EQ(output["trainable_params"], params);
    EXPECT_EQ(trainedRun->summary.trainableParams, params);
    // The allocation's scores are in the store, one row per module.
    const auto layout = store->adapterLayout(output["run_id"].get<RunId>());
    ASSERT_TRUE(layout.hasValue());
    EXPECT_EQ(layout->size(), 4U);
}

TEST_F(AllocateCommandTest, TableNamesTheChoiceAndBadOptionsAreRefused)
{
    const CliOutcome human =
        ftw({"allocate", "--model", model(), "--data", data(), "--targets", "v_proj", "--r", "2",
             "--budget-fraction", "0.5", "--batches", "1", "--db", db()});
    ASSERT_EQ(human.exitCode, 0) << human.err;
    EXPECT_NE(human.out.find("grad-norm switched on 1 of 2 modules"), std::string::npos)
        << human.out;
    EXPECT_NE(human.out.find("ftw train --config"), std::string::npos) << human.out;

    const CliOutcome both =
        ftw({"allocate", "--model", model(), "--data", data(), "--budget-fraction", "0.5",
             "--budget-params", "100", "--db", db()});
    EXPECT_NE(both.exitCode, 0);
    EXPECT_NE(both.err.find("--budget-params"), std::string::npos) << both.err;
    const CliOutcome ranks =
        ftw({"allocate", "--model", model(), "--data", data(), "--ranks", "0,x", "--db", db()});
    EXPECT_NE(ranks.exitCode, 0);
    EXPECT_NE(ranks.err.find("'x' is not a rank"), std::string::npos) << ranks.err;
}

} // namespace
} // namespace ftw::cli
