// SPDX-License-Identifier: MIT
// `ftw decompose` in-process on tiny GPT-2 and Llama models: the JSON output with its side-by-side
// figures, the human table, the folder written, and the refusals that name the option.
#include "cli_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace ftw::cli {
namespace {

namespace fs = std::filesystem;

class DecomposeCommandTest : public CliTest {
protected:
    std::string makeModel(const std::string& arch)
    {
        const std::string dir = (m_dir.path() / arch).string();
        const CliOutcome made = ftw({"make-tiny-model", dir, "--arch", arch, "--seed", "7"});
        EXPECT_EQ(made.exitCode, kExitOk) << made.err;
        return dir;
    }

    std::string writeData() const
    {
        const fs::path file = m_dir.path() / "data.jsonl";
        std::ofstream out(file);
        for (int i = 0; i < 6; ++i) {
            out << R"({"prompt": ")" << i << "+" << i + 1 << R"(=", "completion": ")" << 2 * i + 1
                << R"(;"})" << '\n';
        }
        return file.string();
    }
};

TEST_F(DecomposeCommandTest, JsonHasTheSideBySideFigures)
{
    const std::string model = makeModel("gpt2");
    const CliOutcome r = ftw({"decompose", "--model", model, "--prune-ratio", "0.25", "--data",
                              writeData(), "--max-length", "32", "--db", db(), "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["status"], "succeeded");
    EXPECT_GT(j["run_id"].get<std::int64_t>(), 0);
    const nlohmann::json& output = j["output"];
    EXPECT_EQ(output["mode"], "ratio");
    EXPECT_EQ(output["prune_ratio"], 0.25);
    EXPECT_LT(output["reparameterisation"]["max_abs_dlogits"].get<double>(), 1e-4);
    ASSERT_EQ(output["methods"].size(), 3U);
    EXPECT_EQ(output["methods"][0]["method"], "original");
    EXPECT_EQ(output["methods"][1]["method"], "clover");
    EXPECT_EQ(output["methods"][2]["method"], "vanilla");
    for (const nlohmann::json& m : output["methods"]) {
        for (const char* field : {"directions_removed", "params_removed", "max_abs_dlogits",
                                  "mean_abs_dlogits", "eval_loss"}) {
            EXPECT_TRUE(m[field].is_number()) << m["method"] << " " << field;
        }
    }
    // Tiny GPT-2: 2 layers x 4 heads of 16; 4 directions per head of Q-K and of V-O.
    EXPECT_EQ(output["methods"][1]["directions_removed"], 2 * 4 * 4 * 2);
    EXPECT_EQ(output["methods"][1]["params_removed"], output["methods"][2]["params_removed"]);
    EXPECT_EQ(output["layers"].size(), 2U);
    EXPECT_TRUE(output["output"].is_null());
}

TEST_F(DecomposeCommandTest, TablePrintsEveryMethodAndTheFolderWritten)
{
    const std::string model = makeModel("gpt2");
    const std::string out = (m_dir.path() / "pruned").string();
    const CliOutcome r = ftw(
        {"decompose", "--model", model, "--out", out, "--prune-threshold", "0.5", "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    for (const char* text :
         {"method", "directions removed", "parameters removed", "max |dlogits|", "eval loss",
          "\nclover ", "\nvanilla ", "\noriginal ", "reparameterisation: max |dlogits| ",
          "singular value <= 0.5", "wrote the folded model to "}) {
        EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
    }
    EXPECT_TRUE(fs::exists(fs::path(out) / "model.safetensors"));
    EXPECT_TRUE(fs::exists(fs::path(out) / "config.json"));
}

TEST_F(DecomposeCommandTest, LosslessLlamaReportsTheQrPaths)
{
    const CliOutcome r = ftw({"decompose", "--model", makeModel("llama"), "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("key_qr"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("value_qr"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\nvanilla "), std::string::npos) << r.out;
}

TEST_F(DecomposeCommandTest, BadOptionsExitNonZeroAndNameTheOption)
{
    const std::string model = makeModel("gpt2");
    const CliOutcome both = ftw({"decompose", "--model", model, "--prune-ratio", "0.25",
                                 "--prune-threshold", "0.1", "--db", db()});
    EXPECT_EQ(both.exitCode, kExitFailure);
    EXPECT_NE(both.err.find("give either --prune-ratio or --prune-threshold, not both"),
              std::string::npos)
        << both.err;

    const CliOutcome ratio =
        ftw({"decompose", "--model", model, "--prune-ratio", "1", "--db", db()});
    EXPECT_EQ(ratio.exitCode, kExitFailure);
    EXPECT_NE(ratio.err.find("--prune-ratio: expected"), std::string::npos) << ratio.err;

    const CliOutcome llama =
        ftw({"decompose", "--model", makeModel("llama"), "--prune-ratio", "0.25", "--db", db()});
    EXPECT_EQ(llama.exitCode, kExitFailure);
    EXPECT_NE(llama.err.find("needs an absorbed pair"), std::string::npos) << llama.err;
}

} // namespace
} // namespace ftw::cli
