// SPDX-License-Identifier: MIT
// `ftw allocate --shortcuts [--separate-budgets]` and `ftw train --shortcuts`: HeteroLoRA's
// shortcut connections are scored and chosen with the modules, the written run config trains
// the chosen shortcuts, and --separate-budgets splits the budget between the two kinds.
#include "cli_fixture.h"

#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace ftw::cli {
namespace {

using ShortcutsCommandTest = TinyLlamaCliTest;

TEST_F(ShortcutsCommandTest, AllocateScoresShortcutsWithTheModulesAndTheirConfigTrains)
{
    // The tiny Llama has 2 layers: q and v are 4 modules, and there are 4 x 2 - 1 = 7 shortcuts.
    // --separate-budgets: floor(0.25 x 4) = 1 module and round(0.25 x 7) = 2 shortcuts.
    const std::string config = (m_dir / "allocated.json").string();
    const CliOutcome r = ftw({"allocate",
                              "--model",
                              model(),
                              "--data",
                              data(),
                              "--targets",
                              "q_proj,v_proj",
                              "--r",
                              "4",
                              "--shortcuts",
                              "--separate-budgets",
                              "--budget-fraction",
                              "0.25",
                              "--batches",
                              "2",
                              "--batch-size",
                              "4",
                              "--out-config",
                              config,
                              "--db",
                              db(),
                              "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const nlohmann::json output = nlohmann::json::parse(r.out)["output"];
    ASSERT_EQ(output["modules"].size(), 11U);
    EXPECT_EQ(output["enabled"], 3);
    std::vector<std::string> onShortcuts;
    int onModules = 0;
    std::int64_t params = 0;
    for (const nlohmann::json& m : output["modules"]) {
        const std::string kind = m["module"];
        EXPECT_GT(m["grad_norm"].get<double>(), 0.0) << m["name"];
        if (!m["enabled"].get<bool>()) {
            continue;
        }
        if (kind.starts_with("shortcut.")) {
            onShortcuts.push_back(m["name"]);
            params += 2 * 4 * 64; // 2 r D
        } else {
            ++onModules;
            params += 4 * (kind == "self_attn.q_proj" ? 64 + 64 : 64 + 32);
        }
    }
    EXPECT_EQ(onModules, 1);
    EXPECT_EQ(onShortcuts.size(), 2U);
    EXPECT_EQ(output["trainable_params"], params);

    std::ifstream in(config);
    const nlohmann::json written = nlohmann::json::parse(in);
    EXPECT_EQ(written["adapter"]["method"], "lora");
    EXPECT_EQ(written["adapter"]["heterolora_shortcut_modules"], onShortcuts);
    const CliOutcome trained =
        ftw({"train", "--config", config, "--steps", "2", "--db", db(), "--json"});
    ASSERT_EQ(trained.exitCode, 0) << trained.err;
    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const auto run = store->run(nlohmann::json::parse(trained.out)["run_id"].get<RunId>());
    ASSERT_TRUE(run.hasValue());
    EXPECT_EQ(run->summary.trainableParams, params);

    // `ftw train --shortcuts` puts them in the run config; lora refuses them.
    const CliOutcome printed =
        ftw({"train", "--model", model(), "--data", data(), "--method", "heterolora", "--shortcuts",
             "--separate-budgets", "--print-config"});
    ASSERT_EQ(printed.exitCode, 0) << printed.err;
    const nlohmann::json printedConfig = nlohmann::json::parse(printed.out);
    EXPECT_EQ(printedConfig["adapter"]["heterolora_shortcuts"], true);
    EXPECT_EQ(printedConfig["adapter"]["heterolora_separate_budgets"], true);
    const CliOutcome refused = ftw({"train", "--model", model(), "--data", data(), "--method",
                                    "lora", "--shortcuts", "--print-config"});
    EXPECT_NE(refused.exitCode, 0);
    EXPECT_NE(refused.err.find("heterolora_shortcuts"), std::string::npos) << refused.err;
}

} // namespace
} // namespace ftw::cli
