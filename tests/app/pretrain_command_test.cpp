// SPDX-License-Identifier: MIT
// `ftw pretrain` in-process on a tiny shape with the byte-level tokenizer of `ftw make-tiny-model`:
// the JSON output, the text summary, --print-config read back by --config, and a bad shape refused
// naming the option.
#include "cli_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ftw::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class PretrainCommandTest : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        // Only its tokenizer.json and tokenizer_config.json are used.
        ASSERT_EQ(ftw({"make-tiny-model", (m_dir / "tiny").string()}).exitCode, kExitOk);
        std::ofstream text(corpus());
        for (int i = 0; i < 6; ++i) {
            text << "the cat sat on the mat\na dog ran in the park\nmy bird sang a song\n";
        }
    }

    std::string tokenizer() const { return (m_dir / "tiny" / "tokenizer.json").string(); }
    std::string corpus() const { return (m_dir / "corpus.txt").string(); }
    std::string out() const { return (m_dir / "out").string(); }

    /// The tiny shape and a short run, with the values of `changed` options replaced, then
    /// `extra`.
    std::vector<std::string> args(std::vector<std::string> extra,
                                  const std::map<std::string, std::string>& changed = {}) const
    {
        const std::vector<std::pair<std::string, std::string>> options = {
            {"--tokenizer", tokenizer()},
            {"--data", corpus()},
            {"--out", out()},
            {"--hidden", "32"},
            {"--layers", "2"},
            {"--heads", "4"},
            {"--kv-heads", "2"},
            {"--intermediate", "64"},
            {"--max-positions", "64"},
            {"--max-length", "32"},
            {"--steps", "80"},
            {"--batch-size", "4"},
            {"--lr", "0.03"},
            {"--validation-ratio", "0"},
            {"--device", "cpu"},
            {"--sample-prompt", "a dog"},
            {"--db", db()},
        };
        std::vector<std::string> all = {"pretrain"};
        for (const auto& [option, value] : options) {
            const auto it = changed.find(option);
            all.push_back(option);
            all.push_back(it == changed.end() ? value : it->second);
        }
        all.insert(all.end(), extra.begin(), extra.end());
        return all;
    }
};

TEST_F(PretrainCommandTest, JsonOutputHasTheRunTheModelAndTheSample)
{
    const CliOutcome r = ftw(args({"--json"}));
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["status"], "succeeded");
    const json& output = j["output"];
    EXPECT_EQ(output["kind"], "pretrain");
    EXPECT_EQ(output["steps"], 80);
    EXPECT_EQ(output["tokens_per_step"], 4 * 32);
    EXPECT_EQ(output["output_dir"], out());
    // 259 x 32 embeddings (tied) + 2 layers of attention (q, o 32x32; k, v 32x16), MLP
    // (3 x 32x64) and two norms, + the final norm.
    EXPECT_EQ(output["parameters"],
              259 * 32 + 2 * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64 + 64) + 32);
    EXPECT_LT(output["last_train_loss"].get<double>(),
              0.5 * output["first_train_loss"].get<double>());
    EXPECT_EQ(output["sample"]["prompt"], "a dog");
    EXPECT_TRUE(fs::exists(fs::path(out()) / "model.safetensors"));
    EXPECT_TRUE(fs::exists(fs::path(out()) / "tokenizer.json"));

    const CliOutcome shown = ftw(
        {"runs", "show", std::to_string(j["run_id"].get<std::int64_t>()), "--db", db(), "--json"});
    ASSERT_EQ(shown.exitCode, kExitOk) << shown.err;
    const json run = json::parse(shown.out);
    EXPECT_EQ(run["kind"], "pretrain");
    EXPECT_EQ(run["method"], "full");
}

TEST_F(PretrainCommandTest, TextOutputSaysWhereTheModelIsAndShowsTheSample)
{
    const CliOutcome r = ftw(args({}));
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("80 steps of 128 tokens, train loss "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("model: " + out() + " ("), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sample after:  a dog"), std::string::npos) << r.out;
}

TEST_F(PretrainCommandTest, PrintedConfigReadsBackThroughConfig)
{
    const CliOutcome printed = ftw(args({"--print-config"}));
    ASSERT_EQ(printed.exitCode, kExitOk) << printed.err;
    const json config = json::parse(printed.out);
    EXPECT_EQ(config["model"]["hidden_size"], 32);
    EXPECT_EQ(config["model"]["num_key_value_heads"], 2);
    EXPECT_EQ(config["data"]["max_length"], 32);
    EXPECT_EQ(config["data"]["packing"], true);
    EXPECT_EQ(config["train"]["max_steps"], 80);
    EXPECT_EQ(config["train"]["lr_scheduler"], "cosine");
    EXPECT_EQ(config["tokenizer"], tokenizer());
    const fs::path file = m_dir / "pretrain.json";
    std::ofstream(file) << printed.out;

    const CliOutcome again = ftw({"pretrain", "--config", file.string(), "--print-config"});
    ASSERT_EQ(again.exitCode, kExitOk) << again.err;
    EXPECT_EQ(again.out, printed.out);

    const CliOutcome overridden =
        ftw({"pretrain", "--config", file.string(), "--layers", "3", "--print-config"});
    ASSERT_EQ(overridden.exitCode, kExitOk) << overridden.err;
    EXPECT_EQ(json::parse(overridden.out)["model"]["num_hidden_layers"], 3);
    EXPECT_FALSE(fs::exists(out())) << "--print-config trains nothing";
}

TEST_F(PretrainCommandTest, ABadShapeIsRefusedNamingTheOption)
{
    const CliOutcome printed = ftw(args({"--print-config"}, {{"--heads", "5"}}));
    EXPECT_EQ(printed.exitCode, kExitFailure);
    EXPECT_NE(printed.err.find("(--heads)"), std::string::npos) << printed.err;

    const CliOutcome r = ftw(args({"--json"}, {{"--kv-heads", "3"}}));
    EXPECT_EQ(r.exitCode, kExitFailure);
    const json j = json::parse(r.out);
    EXPECT_EQ(j["status"], "failed");
    EXPECT_NE(r.err.find("(--kv-heads)"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out()));
}

} // namespace
} // namespace ftw::cli
