// SPDX-License-Identifier: MIT
// `ftw budget` on config.json fixtures with no weights: the published counts, JSON, the solver
// table and clear failures.
#include "cli_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace ftw::cli {
namespace {

const std::string kLlama3 = std::string(FTW_TEST_DATA_DIR) + "/configs/llama3_8b";
const std::string kAllSeven = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";

using BudgetCommandTest = CliTest;

TEST_F(BudgetCommandTest, LoraRank16OnLlama3PrintsTheGroupedCount)
{
    const CliOutcome r = ftw(
        {"budget", "--model", kLlama3, "--method", "lora", "--r", "16", "--targets", kAllSeven});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    EXPECT_NE(r.out.find("Trainable  41,943,040 parameters"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("8,030,261,248 parameters (BF16)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Method     lora: r 16, alpha 16"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mlp.down_proj"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Per layer: 1,310,720 in each of 32 of 32 layers"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("Memory estimate for training (batch 1 x 512 tokens"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("AdamW states (fp32)"), std::string::npos) << r.out;
}

TEST_F(BudgetCommandTest, JsonParsesAndCarriesTheReport)
{
    const CliOutcome r =
        ftw({"budget", "--model", kLlama3, "--method", "lora", "--rank", "16", "--targets",
             kAllSeven, "--batch-size", "2", "--seq-len", "256", "--dtype", "f32", "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["trainable_params"], 41'943'040);
    EXPECT_EQ(j["method"], "lora");
    EXPECT_EQ(j["model"]["architecture"], "llama");
    EXPECT_EQ(j["model"]["parameters"], 8'030'261'248);
    EXPECT_EQ(j["settings"]["value"], 16);
    EXPECT_EQ(j["modules"].size(), 224U);
    EXPECT_EQ(j["modules"][0]["name"], "model.layers.0.self_attn.q_proj");
    EXPECT_EQ(j["kinds"].size(), 7U);
    EXPECT_EQ(j["layers"].size(), 32U);
    EXPECT_EQ(j["memory"]["weight_dtype"], "F32");
    EXPECT_EQ(j["memory"]["batch_size"], 2);
    EXPECT_EQ(j["memory"]["base_weight_bytes"], 8'030'261'248LL * 4);
    EXPECT_TRUE(j["solver"].is_null());
}

TEST_F(BudgetCommandTest, TargetParamsAddsTheSolverTableForEveryMethod)
{
    const CliOutcome r = ftw({"budget", "--model", kLlama3, "--method", "lora", "--targets",
                              kAllSeven, "--target-params", "41943040", "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json solver = nlohmann::json::parse(r.out)["solver"];
    EXPECT_EQ(solver["target"]["kind"], "parameters");
    ASSERT_EQ(solver["matches"].size(), 11U); // every method but HeteroLoRA
    EXPECT_EQ(solver["matches"][0]["method"], "lora");
    EXPECT_EQ(solver["matches"][0]["value"], 16);
    EXPECT_EQ(solver["matches"][0]["relative_error"], 0.0);
    EXPECT_EQ(solver["matches"][9]["method"], "clover");
    EXPECT_EQ(solver["matches"][9]["fixed"], true);
    EXPECT_EQ(solver["matches"][10]["method"], "full");
    EXPECT_EQ(solver["matches"][10]["fixed"], true);

    const CliOutcome human = ftw({"budget", "--model", kLlama3, "--method", "vera", "--targets",
                                  kAllSeven, "--target-percent", "0.5"});
    ASSERT_EQ(human.exitCode, kExitOk) << human.err;
    EXPECT_NE(human.out.find("Equal-budget solver, target 0.5000% of the base"), std::string::npos)
        << human.out;
    EXPECT_NE(human.out.find("block size"), std::string::npos) << human.out;
    EXPECT_NE(human.out.find("Shared     7,340,032 frozen parameters"), std::string::npos)
        << human.out;
}

TEST_F(BudgetCommandTest, AdaloraOptionsAndLayersReachTheCount)
{
    const CliOutcome r =
        ftw({"budget", "--model", kLlama3, "--method", "adalora", "--init-r", "4", "--target-r",
             "2", "--targets", "q_proj", "--layers", "0,31", "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["trainable_params"], 2 * 4 * (4096 + 4096 + 1));
}

TEST_F(BudgetCommandTest, BadInputFailsWithExitCodeTwoAndSaysWhy)
{
    const CliOutcome method = ftw({"budget", "--model", kLlama3, "--method", "lorax"});
    EXPECT_EQ(method.exitCode, kExitFailure);
    EXPECT_NE(method.err.find("unknown method 'lorax' (choose lora, pissa"), std::string::npos)
        << method.err;

    const CliOutcome folder = ftw({"budget", "--model", m_dir.path().string(), "--method", "lora"});
    EXPECT_EQ(folder.exitCode, kExitFailure);
    EXPECT_NE(folder.err.find("has no config.json"), std::string::npos) << folder.err;

    std::ofstream(m_dir / "config.json") << R"({"model_type": "llama", "vocab_size": 32000})";
    const CliOutcome field = ftw({"budget", "--model", m_dir.path().string(), "--method", "lora"});
    EXPECT_EQ(field.exitCode, kExitFailure);
    EXPECT_NE(field.err.find("config.json': missing field \"hidden_size\""), std::string::npos)
        << field.err;
    EXPECT_TRUE(field.out.empty()) << field.out;

    const CliOutcome bat =
        ftw({"budget", "--model", kLlama3, "--method", "bat", "--r", "48", "--targets", "q_proj"});
    EXPECT_EQ(bat.exitCode, kExitFailure);
    EXPECT_NE(bat.err.find("choose a block size that divides both"), std::string::npos) << bat.err;

    EXPECT_EQ(ftw({"budget", "--method", "lora"}).exitCode, kExitFailure);
    EXPECT_EQ(ftw({"budget", "--model", kLlama3, "--method", "lora", "--target-params", "5",
                   "--target-percent", "1"})
                  .exitCode,
              kExitFailure);
}

} // namespace
} // namespace ftw::cli
