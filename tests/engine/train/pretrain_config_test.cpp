// SPDX-License-Identifier: MIT
// Pretrain configs: written and read back unchanged, keys left out keep the pretraining defaults
// (not those of a fine-tuning run), relative paths are taken from the config's folder, unknown
// keys and bad values are refused naming the key.
#include <ftw/pretrain.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ftw {
namespace {

using nlohmann::json;

std::string errorOf(std::string_view text)
{
    const Expected<PretrainSpec> parsed = parsePretrainConfig(text, "p.json");
    return parsed ? std::string() : parsed.error().message;
}

TEST(PretrainConfigTest, AWrittenConfigReadsBackUnchanged)
{
    PretrainSpec spec;
    spec.runName = "kjv";
    spec.tokenizerFile = "/data/tok/tokenizer.json";
    spec.outputDir = "/data/model";
    spec.data.path = "/data/kjv.txt";
    spec.model.hiddenSize = 128;
    spec.model.numLayers = 3;
    spec.model.tieWordEmbeddings = false;
    spec.train.maxSteps = 500;
    spec.train.learningRate = 3e-3;
    spec.samplePrompt = "In the beginning";
    const std::string text = pretrainConfigJson(spec);
    const Expected<PretrainSpec> parsed = parsePretrainConfig(text, "p.json");
    ASSERT_TRUE(parsed.hasValue()) << parsed.error().message;
    EXPECT_EQ(pretrainConfigJson(*parsed), text);
    EXPECT_EQ(parsed->model.hiddenSize, 128);
    EXPECT_FALSE(parsed->model.tieWordEmbeddings);
    EXPECT_EQ(parsed->train.maxSteps, 500);
    EXPECT_EQ(parsed->samplePrompt, "In the beginning");
    EXPECT_TRUE(validatePretrainSpec(*parsed).isOk());
}

TEST(PretrainConfigTest, KeysLeftOutKeepThePretrainingDefaultsAndPathsAreRelativeToTheConfig)
{
    const Expected<PretrainSpec> parsed = parsePretrainConfig(
        R"({"tokenizer": "tok/tokenizer.json", "output_dir": "out",
            "data": {"path": "kjv.txt", "max_length": 64}, "train": {"max_steps": 10}})",
        "p.json", "/work/cfg");
    ASSERT_TRUE(parsed.hasValue()) << parsed.error().message;
    EXPECT_EQ(parsed->tokenizerFile, "/work/cfg/tok/tokenizer.json");
    EXPECT_EQ(parsed->outputDir, "/work/cfg/out");
    EXPECT_EQ(parsed->data.path, "/work/cfg/kjv.txt");
    EXPECT_EQ(parsed->data.maxLength, 64);
    EXPECT_EQ(parsed->data.format, "text");
    EXPECT_TRUE(parsed->data.isPacking);
    EXPECT_FALSE(parsed->data.isCompletionOnly);
    EXPECT_EQ(parsed->train.maxSteps, 10);
    EXPECT_EQ(parsed->train.lrScheduler, "cosine");
    EXPECT_EQ(parsed->train.batchSize, 16);
    EXPECT_EQ(parsed->model.hiddenSize, 256);
    EXPECT_EQ(parsed->model.numLayers, 6);
    EXPECT_EQ(parsed->model.numHeads, 8);
    EXPECT_EQ(parsed->model.numKvHeads, 4);
    EXPECT_EQ(parsed->model.intermediateSize, 704);
    EXPECT_TRUE(parsed->model.tieWordEmbeddings);
}

TEST(PretrainConfigTest, UnknownKeysAndBadValuesAreRefusedNamingTheKey)
{
    EXPECT_EQ(errorOf(R"({"model": {"hidden": 64}})"),
              "p.json: unknown key 'model.hidden' (see the README for pretrain config keys)");
    EXPECT_EQ(errorOf(R"({"train": {"rate": 1}})"),
              "p.json: unknown key 'train.rate' (see the README for run config keys)");
    EXPECT_NE(errorOf(R"({"model": {"num_hidden_layers": "six"}})")
                  .find("'model.num_hidden_layers' must be an integer"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"data": {"packing": 1}})").find("'data.packing' must be true or false"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"model": {"architecture": "gpt2"}})").find("llama models only"),
              std::string::npos);
    EXPECT_NE(errorOf("[1]").find("the pretrain config must be a JSON object"), std::string::npos);
}

TEST(PretrainConfigTest, ValidationNamesTheKeyAndTheOption)
{
    PretrainSpec spec;
    spec.tokenizerFile = "t.json";
    spec.outputDir = "out";
    spec.data.path = "d.txt";
    ASSERT_TRUE(validatePretrainSpec(spec).isOk()) << validatePretrainSpec(spec).error().message;
    spec.model.numHeads = 6; // 256 / 6
    Status status = validatePretrainSpec(spec);
    ASSERT_FALSE(status.isOk());
    EXPECT_NE(status.error().message.find("'model.num_attention_heads' (--heads)"),
              std::string::npos)
        << status.error().message;
    spec.model.numHeads = 8;
    spec.model.numKvHeads = 3;
    status = validatePretrainSpec(spec);
    ASSERT_FALSE(status.isOk());
    EXPECT_NE(status.error().message.find("'model.num_key_value_heads' (--kv-heads)"),
              std::string::npos)
        << status.error().message;
    spec.model.numKvHeads = 4;
    spec.train.batchSize = 0;
    status = validatePretrainSpec(spec);
    ASSERT_FALSE(status.isOk());
    EXPECT_NE(status.error().message.find("train.batch_size"), std::string::npos)
        << status.error().message;
}

} // namespace
} // namespace ftw
