// SPDX-License-Identifier: MIT
// `ftw merge` in-process on a tiny model and an adapter written here byte by byte in PEFT's
// layout: the human and JSON outputs, the files written, and the refusal to overwrite.
#include "cli_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ftw::cli {
namespace {

namespace fs = std::filesystem;

/// Writes a rank-2 LoRA on q_proj and v_proj of both layers of a tiny Llama (hidden 64, 2 KV
/// heads x 16) as adapter_config.json + adapter_model.safetensors, with seeded values of at
/// most `scale` (0: an adapter that changes nothing).
void writeLoraAdapter(const fs::path& dir, float scale = 0.1F)
{
    constexpr std::int64_t kRank = 2;
    struct Entry {
        std::string name;
        std::vector<std::int64_t> shape;
    };
    std::vector<Entry> entries;
    for (int layer = 0; layer < 2; ++layer) {
        for (const auto& [module, out] : {std::pair{"q_proj", 64}, std::pair{"v_proj", 32}}) {
            const std::string prefix =
                "base_model.model.model.layers." + std::to_string(layer) + ".self_attn." + module;
            entries.push_back({prefix + ".lora_A.weight", {kRank, 64}});
            entries.push_back({prefix + ".lora_B.weight", {out, kRank}});
        }
    }
    nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
    std::vector<float> data;
    for (const Entry& e : entries) {
        const std::size_t begin = data.size() * sizeof(float);
        for (std::int64_t i = 0; i < e.shape[0] * e.shape[1]; ++i) {
            data.push_back(scale * static_cast<float>(std::sin(0.37 * static_cast<double>(i) +
                                                               static_cast<double>(data.size()))));
        }
        header[e.name] = {{"dtype", "F32"},
                          {"shape", e.shape},
                          {"data_offsets", {begin, data.size() * sizeof(float)}}};
    }
    std::string headerText = header.dump();
    headerText.append((8 - headerText.size() % 8) % 8, ' ');
    fs::create_directories(dir);
    std::ofstream weights(dir / "adapter_model.safetensors", std::ios::binary);
    const std::uint64_t length = headerText.size();
    for (int b = 0; b < 8; ++b) {
        weights.put(static_cast<char>((length >> (8 * b)) & 0xFFU));
    }
    weights << headerText;
    std::vector<char> bytes(data.size() * sizeof(float));
    std::memcpy(bytes.data(), data.data(), bytes.size()); // little-endian hosts
    weights.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(dir / "adapter_config.json") << nlohmann::json{
        {"peft_type", "LORA"},
        {"task_type", "CAUSAL_LM"},
        {"r", kRank},
        {"lora_alpha", 4},
        {"target_modules", {"q_proj", "v_proj"}},
        {"init_lora_weights", true}}.dump(2);
}

class MergeCommandTest : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        ASSERT_EQ(ftw({"make-tiny-model", model(), "--arch", "llama"}).exitCode, kExitOk);
        writeLoraAdapter(adapter());
    }

    std::string model() const { return (m_dir.path() / "model").string(); }
    std::string adapter() const { return (m_dir.path() / "adapter").string(); }
    std::string out() const { return (m_dir.path() / "merged").string(); }
};

TEST_F(MergeCommandTest, MergesAndVerifiesThenRefusesToOverwriteTheFolder)
{
    const CliOutcome r =
        ftw({"merge", "--model", model(), "--adapter", adapter(), "--out", out(), "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("wrote the merged model (f32) to " + out()), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verified: max |logit difference| "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" over 4 prompts (tolerance "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("): passed"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("note: the adapter moves"), std::string::npos) << r.out;
    for (const char* name : {"model.safetensors", "config.json", "tokenizer.json",
                             "tokenizer_config.json", "verification.json"}) {
        EXPECT_TRUE(fs::exists(fs::path(out()) / name)) << name;
    }
    EXPECT_TRUE(fs::exists(db()));

    const CliOutcome again =
        ftw({"merge", "--model", model(), "--adapter", adapter(), "--out", out(), "--db", db()});
    EXPECT_EQ(again.exitCode, kExitFailure);
    EXPECT_NE(again.err.find("ftw: merge: outDir '" + out() + "' is not empty"), std::string::npos)
        << again.err;
    EXPECT_TRUE(fs::exists(fs::path(out()) / "verification.json"));
}

TEST_F(MergeCommandTest, AnAdapterThatChangesNothingIsExportedWithANote)
{
    const std::string zero = (m_dir.path() / "zero-adapter").string();
    writeLoraAdapter(zero, 0.0F);
    const CliOutcome r =
        ftw({"merge", "--model", model(), "--adapter", zero, "--out", out(), "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("): passed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("note: the adapter moves the base model's logits by at most 0, within "
                         "the tolerance: this check cannot tell the export from the base model"),
              std::string::npos)
        << r.out;
    // Not from a run of this store: listed with the merge run itself.
    EXPECT_NE(r.out.find("of run 1 in "), std::string::npos) << r.out;
}

TEST_F(MergeCommandTest, WithoutModelTheAdaptersOwnBaseModelIsUsed)
{
    const fs::path configFile = fs::path(adapter()) / "adapter_config.json";
    nlohmann::json config = nlohmann::json::parse(std::ifstream(configFile));
    config["base_model_name_or_path"] = model();
    std::ofstream(configFile) << config.dump(2);

    const CliOutcome merged = ftw({"merge", "--adapter", adapter(), "--out", out(), "--db", db()});
    ASSERT_EQ(merged.exitCode, kExitOk) << merged.err;
    EXPECT_NE(merged.err.find("loading the base model '" + model() + "'"), std::string::npos)
        << merged.err;
    EXPECT_NE(merged.out.find("): passed"), std::string::npos) << merged.out;
    const CliOutcome byAdapter = ftw({"generate", "--adapter", adapter(), "--prompt", "Hello",
                                      "--max-new-tokens", "6", "--json"});
    const CliOutcome named = ftw({"generate", "--model", model(), "--adapter", adapter(),
                                  "--prompt", "Hello", "--max-new-tokens", "6", "--json"});
    ASSERT_EQ(byAdapter.exitCode, kExitOk) << byAdapter.err;
    ASSERT_EQ(named.exitCode, kExitOk) << named.err;
    EXPECT_EQ(nlohmann::json::parse(byAdapter.out)["ids"], nlohmann::json::parse(named.out)["ids"]);

    // A hub id is no folder here: the error names the file, the field and what to do.
    config["base_model_name_or_path"] = "meta-llama/Llama-3.2-1B";
    std::ofstream(configFile) << config.dump(2);
    const std::string other = (m_dir.path() / "merged-hub").string();
    const CliOutcome hub = ftw({"merge", "--adapter", adapter(), "--out", other, "--db", db()});
    EXPECT_EQ(hub.exitCode, kExitFailure);
    EXPECT_NE(hub.err.find("ftw: no --model given: the base model that '" + configFile.string() +
                           "' names (base_model_name_or_path 'meta-llama/Llama-3.2-1B') is not "
                           "a model folder here; give --model"),
              std::string::npos)
        << hub.err;
    EXPECT_FALSE(fs::exists(other));
}

TEST_F(MergeCommandTest, JsonCarriesTheExportAndItsVerification)
{
    const CliOutcome r =
        ftw({"merge", "--model", model(), "--adapter", adapter(), "--out", out(), "--dtype", "bf16",
             "--prompt", "Hello", "--prompt", "world", "--db", db(), "--json"});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["status"], "succeeded");
    EXPECT_GT(j["run_id"].get<std::int64_t>(), 0);
    const nlohmann::json& output = j["output"];
    EXPECT_EQ(output["kind"], "merged");
    EXPECT_EQ(output["dtype"], "bf16");
    EXPECT_EQ(output["path"], out());
    EXPECT_GT(output["export_id"].get<std::int64_t>(), 0);
    ASSERT_EQ(output["verification"]["prompts"].size(), 2U);
    EXPECT_EQ(output["verification"]["prompts"][0]["text"], "Hello");
    EXPECT_EQ(output["verification"]["passed"], true);
    EXPECT_GT(output["verification"]["max_abs_diff"].get<double>(), 0.0);
}

TEST_F(MergeCommandTest, AdapterOnlyWritesThePeftFiles)
{
    const CliOutcome r = ftw({"merge", "--model", model(), "--adapter", adapter(), "--out", out(),
                              "--adapter-only", "--db", db()});
    ASSERT_EQ(r.exitCode, kExitOk) << r.err;
    EXPECT_NE(r.out.find("wrote the adapter to " + out()), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(fs::path(out()) / "adapter_config.json"));
    EXPECT_TRUE(fs::exists(fs::path(out()) / "adapter_model.safetensors"));
    EXPECT_FALSE(fs::exists(fs::path(out()) / "model.safetensors"));
}

TEST_F(MergeCommandTest, BadInputsExitWithTwoAndSayWhy)
{
    const CliOutcome dtype = ftw({"merge", "--model", model(), "--adapter", adapter(), "--out",
                                  out(), "--dtype", "f64", "--db", db()});
    EXPECT_EQ(dtype.exitCode, kExitFailure);
    EXPECT_NE(dtype.err.find("--dtype"), std::string::npos) << dtype.err;

    const std::string missing = (m_dir.path() / "nothing").string();
    const CliOutcome adapterMissing =
        ftw({"merge", "--model", model(), "--adapter", missing, "--out", out(), "--db", db()});
    EXPECT_EQ(adapterMissing.exitCode, kExitFailure);
    EXPECT_NE(adapterMissing.err.find(missing), std::string::npos) << adapterMissing.err;
    EXPECT_FALSE(fs::exists(out()));
    EXPECT_FALSE(fs::exists(out() + ".partial"));
}

} // namespace
} // namespace ftw::cli
