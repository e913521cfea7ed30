// SPDX-License-Identifier: MIT
#include "model/model_config.h"

#include <ftw/error.h>

#include <gtest/gtest.h>

namespace ftw::model {
namespace {

// Abridged from the published config.json files of each model.
constexpr const char* kLlama3_8B = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256,
  "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
  "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "hidden_act": "silu",
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false,
  "torch_dtype": "bfloat16", "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]})";

constexpr const char* kQwen25_05B = R"({
  "model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
  "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
  "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "eos_token_id": 151643,
  "bos_token_id": 151643, "hidden_act": "silu", "sliding_window": 32768})";

constexpr const char* kQwen3_06B = R"({
  "model_type": "qwen3", "vocab_size": 151936, "hidden_size": 1024, "intermediate_size": 3072,
  "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
  "max_position_embeddings": 40960, "rms_norm_eps": 1e-06, "rope_theta": 1000000,
  "tie_word_embeddings": true, "attention_bias": false, "torch_dtype": "bfloat16",
  "eos_token_id": 151645})";

constexpr const char* kGpt2 = R"({
  "model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12,
  "n_positions": 1024, "n_inner": null, "layer_norm_epsilon": 1e-05,
  "activation_function": "gelu_new", "bos_token_id": 50256, "eos_token_id": 50256})";

constexpr const char* kMistral7B = R"({
  "model_type": "mistral", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
  "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "sliding_window": 4096, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2})";

void expectError(const std::string& json, const std::string& part)
{
    try {
        (void)parseModelConfigText(json, "/models/x/config.json");
        FAIL() << "accepted: " << json;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
        const std::string message = e.what();
        EXPECT_NE(message.find("/models/x/config.json"), std::string::npos) << message;
        EXPECT_NE(message.find(part), std::string::npos) << message;
    }
}

TEST(ModelConfigTest, Llama3ReadsGqaRopeScalingAndEosList)
{
    const ModelConfig c = parseModelConfigText(kLlama3_8B, "llama3");
    EXPECT_EQ(c.arch, ArchId::Llama);
    EXPECT_EQ(c.hiddenSize, 4096);
    EXPECT_EQ(c.intermediateSize, 14336);
    EXPECT_EQ(c.numLayers, 32);
    EXPECT_EQ(c.numKvHeads, 8);
    EXPECT_EQ(c.headDim, 128);
    EXPECT_DOUBLE_EQ(c.ropeTheta, 500000.0);
    ASSERT_TRUE(c.ropeScaling.has_value());
    EXPECT_EQ(c.ropeScaling->type, "llama3");
    EXPECT_DOUBLE_EQ(c.ropeScaling->factor, 8.0);
    EXPECT_EQ(c.ropeScaling->originalMaxPositions, 8192);
    EXPECT_FALSE(c.tieWordEmbeddings);
    EXPECT_FALSE(c.hasQkvBias);
    EXPECT_EQ(c.dtype, DType::BF16);
    EXPECT_EQ(c.bosTokenId, 128000);
    EXPECT_EQ(c.eosTokenIds, (std::vector<std::int64_t>{128001, 128008, 128009}));
}

TEST(ModelConfigTest, Qwen2HasQkvBiasAndTiedEmbeddings)
{
    const ModelConfig c = parseModelConfigText(kQwen25_05B, "qwen2");
    EXPECT_EQ(c.arch, ArchId::Qwen2);
    EXPECT_EQ(c.headDim, 64);
    EXPECT_TRUE(c.hasQkvBias);
    EXPECT_FALSE(c.hasOutputBias);
    EXPECT_TRUE(c.tieWordEmbeddings);
    EXPECT_FALSE(c.hasQkNorm);
    EXPECT_EQ(c.eosTokenIds, (std::vector<std::int64_t>{151643}));
}

TEST(ModelConfigTest, Qwen3HasExplicitHeadDimAndQkNorm)
{
    const ModelConfig c = parseModelConfigText(kQwen3_06B, "qwen3");
    EXPECT_EQ(c.arch, ArchId::Qwen3);
    EXPECT_EQ(c.headDim, 128); // not hidden / heads (= 64)
    EXPECT_TRUE(c.hasQkNorm);
    EXPECT_FALSE(c.hasQkvBias);
}

TEST(ModelConfigTest, Gpt2MapsItsOwnFieldNames)
{
    const ModelConfig c = parseModelConfigText(kGpt2, "gpt2");
    EXPECT_EQ(c.arch, ArchId::Gpt2);
    EXPECT_EQ(c.hiddenSize, 768);
    EXPECT_EQ(c.intermediateSize, 3072); // n_inner null means 4 x n_embd
    EXPECT_EQ(c.maxPositions, 1024);
    EXPECT_EQ(c.numKvHeads, 12);
    EXPECT_TRUE(c.tieWordEmbeddings);
    EXPECT_EQ(c.hiddenAct, "gelu_new");
    EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
    EXPECT_EQ(c.dtype, DType::F32); // no torch_dtype
}

TEST(ModelConfigTest, MistralDefaultsLikeLlama)
{
    const ModelConfig c = parseModelConfigText(kMistral7B, "mistral");
    EXPECT_EQ(c.arch, ArchId::Mistral);
    EXPECT_EQ(c.numKvHeads, 8);
    EXPECT_FALSE(c.ropeScaling.has_value());
    EXPECT_EQ(c.eosTokenIds, (std::vector<std::int64_t>{2}));
}

TEST(ModelConfigTest, ErrorsNameTheFileAndTheField)
{
    expectError(R"({"model_type": "bert", "hidden_size": 8})",
                "model_type \"bert\" is not supported");
    expectError(R"({"hidden_size": 8})", "missing field \"model_type\"");
    expectError(R"({"model_type": "llama", "vocab_size": 10})", "missing field \"hidden_size\"");
    expectError(R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": "64", "n_layer": 1,
                    "n_head": 1, "n_positions": 8})",
                "\"n_embd\" must be a positive integer");
    expectError(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 64,
                    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 6})",
                "not divisible by the 6 attention heads");
    expectError(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 64,
                    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4,
                    "num_key_value_heads": 3})",
                "not divisible by the 3 key/value heads");
    expectError(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 64,
                    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4,
                    "torch_dtype": "int8"})",
                "torch_dtype \"int8\" is not supported");
    expectError("[1, 2]", "is not a JSON object");
}

TEST(ModelConfigTest, EveryArchitectureNameRoundTrips)
{
    for (const ArchId arch : allArchIds()) {
        EXPECT_EQ(parseArch(archName(arch)), arch);
    }
    EXPECT_EQ(allArchIds().size(), 5U);
    EXPECT_EQ(parseArch("bert"), ArchId::Unknown);
}

} // namespace
} // namespace ftw::model
