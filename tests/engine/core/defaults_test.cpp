// SPDX-License-Identifier: MIT
// The bundled defaults: where FTW finds them, the run config read with paths from its folder, and
// the real files of resources/default (the model loads, the tokenizer round-trips a verse, every
// dataset line encodes, and run.json is a valid run on them).
#include "data/tokenizer.h"
#include "model/model_loader.h"
#include "support/temp_dir.h"
#include "train/training_data.h"

#include <ftw/defaults.h>
#include <ftw/models.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace ftw {
namespace {

const std::filesystem::path kBundled =
    std::filesystem::path(FTW_TEST_DATA_DIR) / ".." / ".." / "resources" / "default";

class DefaultsTest : public ::testing::Test {
protected:
    void TearDown() override { ::unsetenv("FTW_DEFAULTS_DIR"); }
};

TEST_F(DefaultsTest, TheFolderOfFtwDefaultsDirComesFirstAndItsRunConfigIsReadFromThere)
{
    const test::TempDir dir;
    const std::filesystem::path root = dir.path() / "bundle";
    ASSERT_TRUE(makeTinyModel(root / "model", "llama", 1).isOk());
    std::filesystem::create_directories(root / "dataset");
    std::ofstream(root / "dataset" / "kjv-books.jsonl")
        << R"({"prompt": "1+1=", "completion": "2"})" << '\n';
    std::ofstream(root / "run.json")
        << R"({"name": "bundled", "model": "model", "data": {"path": "dataset/kjv-books.jsonl"},
              "train": {"learning_rate": 0.003}})";
    ::setenv("FTW_DEFAULTS_DIR", root.c_str(), 1);

    EXPECT_EQ(bundledDefaultsCandidates().front(), root);
    const Expected<BundledDefaults> defaults = findBundledDefaults();
    ASSERT_TRUE(defaults) << defaults.error().message;
    EXPECT_EQ(defaults->root, root);
    EXPECT_EQ(defaults->modelDir, root / "model");
    const Expected<TrainSpec> spec = bundledTrainSpec();
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->runName, "bundled");
    EXPECT_EQ(spec->modelDir.lexically_normal(), (root / "model").lexically_normal());
    EXPECT_EQ(spec->data.path.lexically_normal(),
              (root / "dataset" / "kjv-books.jsonl").lexically_normal());
    EXPECT_DOUBLE_EQ(spec->train.learningRate, 0.003);
}

TEST_F(DefaultsTest, AFolderWithoutItsRunConfigIsPassedOver)
{
    const test::TempDir dir;
    ASSERT_TRUE(makeTinyModel(dir.path() / "model", "llama", 1).isOk());
    std::filesystem::create_directories(dir.path() / "dataset");
    std::ofstream(dir.path() / "dataset" / "kjv-books.jsonl") << "{}\n";
    ::setenv("FTW_DEFAULTS_DIR", dir.path().c_str(), 1);
    const Expected<BundledDefaults> defaults = findBundledDefaults();
    if (defaults) {
        EXPECT_NE(defaults->root, dir.path()); // another candidate (the source tree's) was taken
    } else {
        EXPECT_NE(defaults.error().message.find(dir.path().string()), std::string::npos)
            << defaults.error().message;
    }
}

TEST_F(DefaultsTest, TheBundledModelDatasetAndRunConfigFitTogether)
{
    ::setenv("FTW_DEFAULTS_DIR", kBundled.c_str(), 1);
    const Expected<TrainSpec> spec = bundledTrainSpec();
    ASSERT_TRUE(spec) << spec.error().message;
    ASSERT_TRUE(validateTrainSpec(*spec).isOk()) << validateTrainSpec(*spec).error().message;

    const model::LoadedModel model = model::loadModel(spec->modelDir);
    EXPECT_EQ(model.config.arch, model::ArchId::Llama);
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(spec->modelDir / "tokenizer.json");
    const std::string verse = "And God said, Let there be light: and there was light.";
    const std::vector<std::int64_t> ids = tokenizer.encode(verse);
    EXPECT_LT(ids.size(), verse.size() / 2); // the corpus's words are merged tokens
    EXPECT_EQ(tokenizer.decode(ids, /*skipSpecialTokens=*/true), verse);
    for (const std::int64_t id : ids) {
        EXPECT_LT(id, model.config.vocabSize);
    }

    const train::EncodedDataset dataset =
        train::encodeDataset(spec->data, spec->modelDir, tokenizer, model.config.eosTokenIds);
    EXPECT_EQ(dataset.examples.size(), 1170U);
    EXPECT_EQ(dataset.stats.truncated, 0U); // every verse and its answer fit
    for (const data::TokenizedExample& example : dataset.examples) {
        EXPECT_LE(static_cast<std::int64_t>(example.ids.size()), spec->data.maxLength);
    }
}

} // namespace
} // namespace ftw
