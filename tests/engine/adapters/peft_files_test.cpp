// SPDX-License-Identifier: MIT
// The files an adapter is saved as: PEFT's key names, shapes and adapter_config.json fields
// (adapter-methods.md 1.2-1.5 and the per-method sections), the rank-2r conversion, and the
// errors of a file that does not fit.
#include "adapters/adapter_set.h"
#include "adapters/peft_files.h"
#include "model/safetensors.h"
#include "model/tiny_model.h"

#include "support/temp_dir.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <fstream>

namespace ftw::adapters {
namespace {

using model::ArchId;
using Shape = std::vector<std::int64_t>;

struct Saved {
    nlohmann::json config;
    std::map<std::string, Shape> shapes;
    std::map<std::string, std::string> metadata;
};

Saved saveAndRead(ArchId arch, const AdapterConfig& c, const SaveOptions& options = {},
                  const std::function<void(AdapterSet&)>& beforeSave = {})
{
    nn::Decoder decoder(model::tinyConfig(arch));
    model::initializeRandom(*decoder, 1);
    AdapterSet set = AdapterSet::attach(*decoder, c);
    if (beforeSave) {
        beforeSave(set);
    }
    test::TempDir dir;
    saveAdapter(set, dir.path() / "out", options);
    Saved saved;
    std::ifstream in(dir.path() / "out" / "adapter_config.json");
    saved.config = nlohmann::json::parse(in);
    const auto file =
        model::SafetensorsFile::open(dir.path() / "out" / "adapter_model.safetensors");
    for (const auto& t : file.tensors()) {
        saved.shapes[t.name] = t.shape;
    }
    saved.metadata = file.metadata();
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.partial"));
    return saved;
}

AdapterConfig config(Method method, std::int64_t r, std::vector<std::string> targets)
{
    AdapterConfig c;
    c.method = method;
    c.r = r;
    c.alpha = 32;
    c.targetModules = std::move(targets);
    c.totalStep = 100;
    return c;
}

TEST(PeftFilesTest, LoraOnLlamaUsesPeftKeysAndConfig)
{
    const Saved s = saveAndRead(ArchId::Llama, config(Method::Lora, 4, {"q_proj", "v_proj"}),
                                SaveOptions{true, "meta-llama/Meta-Llama-3-8B"});
    EXPECT_EQ(s.shapes.size(), 8U); // A and B of 2 modules x 2 layers
    EXPECT_EQ(s.shapes.at("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"),
              (Shape{4, 64}));
    EXPECT_EQ(s.shapes.at("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"),
              (Shape{32, 4})); // 2 KV heads x 16
    EXPECT_EQ(s.metadata.at("format"), "pt");
    const nlohmann::json& j = s.config;
    EXPECT_EQ(j["peft_type"], "LORA");
    EXPECT_EQ(j["task_type"], "CAUSAL_LM");
    EXPECT_EQ(j["r"], 4);
    EXPECT_EQ(j["lora_alpha"], 32.0);
    EXPECT_EQ(j["target_modules"], (nlohmann::json{"q_proj", "v_proj"}));
    EXPECT_EQ(j["init_lora_weights"], true);
    EXPECT_EQ(j["use_dora"], false);
    EXPECT_EQ(j["use_rslora"], false);
    EXPECT_EQ(j["fan_in_fan_out"], false);
    EXPECT_EQ(j["bias"], "none");
    EXPECT_EQ(j["inference_mode"], true);
    EXPECT_EQ(j["base_model_name_or_path"], "meta-llama/Meta-Llama-3-8B");
    EXPECT_TRUE(j["rank_pattern"].is_object());
    EXPECT_TRUE(j["alpha_pattern"].is_object());
}

TEST(PeftFilesTest, Gpt2Conv1dKeepsAdapterOrientationAndSetsFanInFanOut)
{
    const Saved s = saveAndRead(ArchId::Gpt2, config(Method::Lora, 8, {"c_attn"}));
    EXPECT_EQ(s.shapes.at("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"),
              (Shape{8, 64}));
    EXPECT_EQ(s.shapes.at("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"),
              (Shape{192, 8}));
    EXPECT_EQ(s.config["fan_in_fan_out"], true);
    // attn.c_proj alone must not be written as "c_proj", which would also choose mlp.c_proj.
    const Saved p = saveAndRead(ArchId::Gpt2, config(Method::Lora, 8, {"attn.c_proj"}));
    EXPECT_EQ(p.config["target_modules"], (nlohmann::json{"attn.c_proj"}));
}

TEST(PeftFilesTest, DoraSavesTheMagnitudeWithoutWeightSuffix)
{
    const Saved s = saveAndRead(ArchId::Qwen2, config(Method::Dora, 4, {"o_proj"}));
    EXPECT_EQ(s.shapes.at("base_model.model.model.layers.0.self_attn.o_proj.lora_magnitude_vector"),
              (Shape{64}));
    EXPECT_EQ(s.config["use_dora"], true);
    EXPECT_EQ(s.config["peft_type"], "LORA");
}

TEST(PeftFilesTest, VeraSavesSharedProjectionsOnceAndVectorsPerModule)
{
    const Saved s = saveAndRead(ArchId::Llama, config(Method::Vera, 16, {"q_proj", "down_proj"}));
    EXPECT_EQ(s.shapes.at("base_model.vera_A"), (Shape{16, 128})); // max_in: down_proj's 128
    EXPECT_EQ(s.shapes.at("base_model.vera_B"), (Shape{64, 16}));  // max_out: 64
    EXPECT_EQ(s.shapes.at("base_model.model.model.layers.0.self_attn.q_proj.vera_lambda_b"),
              (Shape{64}));
    EXPECT_EQ(s.shapes.at("base_model.model.model.layers.0.mlp.down_proj.vera_lambda_d"),
              (Shape{16}));
    EXPECT_EQ(s.shapes.size(), 2U + 2U * 2U * 2U);
    EXPECT_EQ(s.config["peft_type"], "VERA");
    EXPECT_EQ(s.config["r"], 16);
    EXPECT_EQ(s.config["projection_prng_key"], 0);
    EXPECT_EQ(s.config["save_projection"], true);
    EXPECT_EQ(s.config["d_initial"], 0.1);
}

TEST(PeftFilesTest, BoneAndBatAreSavedAsMiss)
{
    const Saved bone = saveAndRead(ArchId::Llama, config(Method::Bone, 8, {"gate_proj"}));
    EXPECT_EQ(bone.shapes.at("base_model.model.model.layers.0.mlp.gate_proj.miss_block"),
              (Shape{8, 128}));
    EXPECT_EQ(bone.config["peft_type"], "MISS");
    EXPECT_EQ(bone.config["init_weights"], true);
    const Saved bat = saveAndRead(ArchId::Llama, config(Method::Bat, 8, {"gate_proj"}));
    EXPECT_EQ(bat.shapes.at("base_model.model.model.layers.0.mlp.gate_proj.miss_block"),
              (Shape{16, 8, 8}));
    EXPECT_EQ(bat.config["init_weights"], "bat");
}

TEST(PeftFilesTest, AdaLoraSlicesToTheKeptRanksAndWritesTheRankPattern)
{
    AdapterConfig c = config(Method::AdaLora, 0, {"q_proj"});
    c.initR = 4;
    c.targetR = 2;
    c.totalStep = 4;
    c.tfinal = 2;
    const Saved s = saveAndRead(ArchId::Llama, c, {}, [](AdapterSet& set) {
        // One backward pass, then the final allocation at total_step - tfinal.
        const torch::NoGradGuard noGrad;
        for (const auto& [name, t] : set.trainableParameters()) {
            t.add_(at::randn_like(t) * 0.1);
        }
        {
            at::AutoGradMode grad(true);
            at::Tensor loss = at::zeros({});
            for (const auto& m : set.modules()) {
                loss = loss + m.projection.ptr()->forward(at::randn({3, 64})).pow(2).sum();
            }
            loss.backward();
        }
        set.allocator()->updateAndAllocate(2);
    });
    std::int64_t kept = 0;
    for (const auto& [key, pattern] : s.config["rank_pattern"].items()) {
        EXPECT_NE(key.find(".lora_E"), std::string::npos) << key;
        EXPECT_EQ(pattern.size(), 4U);
        std::int64_t here = 0;
        for (const auto& k : pattern) {
            here += k.get<bool>() ? 1 : 0;
        }
        const std::string module = "base_model.model." + key.substr(0, key.size() - 7);
        EXPECT_EQ(s.shapes.at(module + ".lora_A"), (Shape{here, 64}));
        EXPECT_EQ(s.shapes.at(module + ".lora_E"), (Shape{here, 1}));
        EXPECT_EQ(s.shapes.at(module + ".lora_B"), (Shape{64, here}));
        kept += here;
    }
    EXPECT_EQ(kept, 4); // target_r 2 x 2 modules
    EXPECT_EQ(s.config["peft_type"], "ADALORA");
    EXPECT_EQ(s.config["init_r"], 4);
    EXPECT_EQ(s.config["target_r"], 2);
    EXPECT_EQ(s.config["total_step"], 4);
}

TEST(PeftFilesTest, PissaIsConvertedToAPlainLoraOfRankTwoR)
{
    const Saved s = saveAndRead(ArchId::Llama, config(Method::Pissa, 4, {"q_proj"}));
    EXPECT_EQ(s.config["r"], 8);
    EXPECT_EQ(s.config["lora_alpha"], 64.0);
    EXPECT_EQ(s.config["init_lora_weights"], true);
    EXPECT_EQ(s.shapes.at("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"),
              (Shape{8, 64}));
    const Saved kept =
        saveAndRead(ArchId::Llama, config(Method::Pissa, 4, {"q_proj"}), SaveOptions{false, ""});
    EXPECT_EQ(kept.config["init_lora_weights"], "pissa");
    EXPECT_EQ(kept.config["r"], 4);
}

TEST(PeftFilesTest, FullFineTuningHasNoAdapterFile)
{
    nn::Decoder decoder(model::tinyConfig(ArchId::Llama));
    const AdapterSet set = AdapterSet::attach(*decoder, config(Method::Full, 0, {}));
    test::TempDir dir;
    EXPECT_THROW(saveAdapter(set, dir.path() / "out"), Error);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "out"));
}

TEST(PeftFilesTest, AFileThatDoesNotFitListsEveryProblem)
{
    nn::Decoder decoder(model::tinyConfig(ArchId::Llama));
    test::TempDir dir;
    {
        const AdapterSet set = AdapterSet::attach(*decoder, config(Method::Lora, 4, {"q_proj"}));
        saveAdapter(set, dir.path() / "a");
    }
    // The same file claimed for a rank-2 adapter on q_proj and k_proj.
    std::ifstream in(dir.path() / "a" / "adapter_config.json");
    nlohmann::json j = nlohmann::json::parse(in);
    j["r"] = 2;
    j["target_modules"] = {"q_proj", "k_proj"};
    std::ofstream(dir.path() / "a" / "adapter_config.json") << j.dump();
    nn::Decoder fresh(model::tinyConfig(ArchId::Llama));
    try {
        (void)loadAdapter(*fresh, dir.path() / "a");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
        EXPECT_NE(message.find("adapter_model.safetensors"), std::string::npos) << message;
        EXPECT_NE(message.find(
                      "missing 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight'"),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find("q_proj.lora_A.weight' has shape [4,64], expected [2,64]"),
                  std::string::npos)
            << message;
    }
    std::filesystem::remove(dir.path() / "a" / "adapter_model.safetensors");
    std::ofstream(dir.path() / "a" / "adapter_model.bin") << "pickle";
    try {
        (void)loadAdapter(*fresh, dir.path() / "a");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("safe_serialization"), std::string::npos);
    }
}

TEST(PeftFilesTest, UnknownPeftTypeAndBadFieldsAreNamed)
{
    try {
        (void)parseAdapterConfig(nlohmann::json{{"peft_type", "IA3"}}, "x/adapter_config.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("x/adapter_config.json: field 'peft_type'"),
                  std::string::npos)
            << e.what();
    }
    try {
        (void)parseAdapterConfig(nlohmann::json{{"peft_type", "LORA"}, {"r", "eight"}}, "y.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("field 'r'"), std::string::npos) << e.what();
    }
    // A Bone file from PEFT 0.14-0.18 reads as MiSS.
    const AdapterConfig bone =
        parseAdapterConfig(nlohmann::json{{"peft_type", "BONE"}, {"r", 16}}, "z.json");
    EXPECT_EQ(bone.method, Method::Bone);
    EXPECT_EQ(bone.r, 16);
}

// Found by the adapter_config fuzz target (tests/fuzz): lists of the wrong type escaped as JSON's
// type_error, a float where a whole number goes was undefined behaviour, and "pissa_niter_x"
// escaped as std::invalid_argument. Each is now a format error naming the file and the field.
TEST(PeftFilesTest, MistypedListsFloatsAndBadPissaIterationsAreNamedFormatErrors)
{
    const auto expectFieldError = [](const nlohmann::json& json, const std::string& field) {
        try {
            (void)parseAdapterConfig(json, "a/adapter_config.json");
            FAIL() << "accepted: " << json.dump();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
            EXPECT_NE(std::string(e.what()).find("a/adapter_config.json: field '" + field + "'"),
                      std::string::npos)
                << e.what();
        }
    };
    const nlohmann::json lora = {{"peft_type", "LORA"}, {"r", 8}};
    const auto with = [&lora](const char* key, nlohmann::json value) {
        nlohmann::json json = lora;
        json[key] = std::move(value);
        return json;
    };
    expectFieldError(with("target_modules", {"q_proj", 7}), "target_modules");
    expectFieldError(with("exclude_modules", {true}), "exclude_modules");
    expectFieldError(with("layers_to_transform", {0, 1.5}), "layers_to_transform");
    expectFieldError(with("r", 2.5e26), "r");
    expectFieldError(with("rank_pattern", {{"q_proj", 4.5}}), "rank_pattern");
    expectFieldError(with("init_lora_weights", "pissa_niter_x"), "init_lora_weights");
    expectFieldError(with("init_lora_weights", "pissa_niter_99999999999"), "init_lora_weights");
    expectFieldError(nlohmann::json{{"peft_type", "VERA"}, {"projection_prng_key", -1}},
                     "projection_prng_key");
    EXPECT_EQ(parseAdapterConfig(with("init_lora_weights", "pissa_niter_4"), "a.json").pissaNiter,
              4);
    EXPECT_EQ(parseAdapterConfig(with("layers_to_transform", {0, 2}), "a.json").layersToTransform,
              (std::vector<std::int64_t>{0, 2}));
}

} // namespace
} // namespace ftw::adapters
