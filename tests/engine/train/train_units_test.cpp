// SPDX-License-Identifier: MIT
// The pure parts of training: schedules, run configs, batches, the loss, answer extraction, the
// checkpoint's loop state.
#include "data/regex.h"
#include "eval/answers.h"
#include "train/schedule.h"
#include "train/train_state.h"
#include "train/training_data.h"

#include "support/temp_dir.h"

#include <ftw/error.h>
#include <ftw/run_config.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include <cmath>
#include <fstream>
#include <numbers>

namespace ftw {
namespace {

TEST(LearningRateScheduleTest, WarmsUpLinearlyThenFollowsTheChosenShape)
{
    // 10 steps, 2 of warm-up: Hugging Face's get_*_schedule_with_warmup, worked by hand.
    EXPECT_DOUBLE_EQ(train::learningRateFactor("linear", 0, 10, 2), 0.0);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("linear", 1, 10, 2), 0.5);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("linear", 2, 10, 2), 1.0);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("linear", 6, 10, 2), 0.5);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("linear", 10, 10, 2), 0.0);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("cosine", 6, 10, 2), 0.5);
    EXPECT_NEAR(train::learningRateFactor("cosine", 4, 10, 2),
                0.5 * (1.0 + std::cos(std::numbers::pi * 0.25)), 1e-15);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("constant", 1, 10, 2), 0.5);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("constant", 9, 10, 2), 1.0);
    EXPECT_DOUBLE_EQ(train::learningRateFactor("linear", 0, 10, 0), 1.0);
}

TEST(RunConfigTest, TheJsonOfASpecParsesBackToTheSameJson)
{
    TrainSpec spec;
    spec.runName = "r";
    spec.modelDir = "/models/m";
    spec.data.path = "/data/d.jsonl";
    spec.adapter.method = AdapterMethod::Bone;
    spec.adapter.r = 32;
    spec.adapter.rankPattern = {{"q_proj", 4}};
    spec.adapter.targetModules = {"q_proj", "v_proj"};
    spec.train.learningRate = 3e-4;
    spec.train.lrScheduler = "cosine";
    const std::string json = runConfigJson(spec);
    const Expected<TrainSpec> parsed = parseRunConfig(json, "test");
    ASSERT_TRUE(parsed.hasValue()) << parsed.error().message;
    EXPECT_EQ(runConfigJson(*parsed), json);
    EXPECT_EQ(parsed->adapter.method, AdapterMethod::Bone);
    EXPECT_EQ(parsed->adapter.rankPattern.at("q_proj"), 4);
}

TEST(RunConfigTest, RelativePathsAreTakenFromTheConfigFolder)
{
    const Expected<TrainSpec> parsed =
        parseRunConfig(R"({"model": "m", "data": {"path": "d.jsonl"}})", "f", "/work/runs");
    ASSERT_TRUE(parsed.hasValue());
    EXPECT_EQ(parsed->modelDir, std::filesystem::path("/work/runs/m"));
    EXPECT_EQ(parsed->data.path, std::filesystem::path("/work/runs/d.jsonl"));
}

TEST(RunConfigTest, WrongTypesUnknownKeysAndMethodsAreNamed)
{
    const auto error = [](const std::string& json) {
        const Expected<TrainSpec> parsed = parseRunConfig(json, "run.json");
        EXPECT_FALSE(parsed.hasValue()) << json;
        return parsed.hasValue() ? std::string() : parsed.error().message;
    };
    EXPECT_EQ(error(R"({"train": {"batch_size": "four"}})"),
              "run.json: 'train.batch_size' must be an integer, got \"four\"");
    EXPECT_EQ(error(R"({"adapter": {"rank": 8}})"),
              "run.json: unknown key 'adapter.rank' (see the README for run config keys)");
    EXPECT_NE(error(R"({"adapter": {"method": "lorax"}})").find("'adapter.method' is 'lorax'"),
              std::string::npos);
    EXPECT_NE(error("[1, 2]").find("must be a JSON object"), std::string::npos);
    EXPECT_NE(error("{").find("not valid JSON"), std::string::npos);
}

TEST(RunConfigTest, ValidationNamesTheFieldAndWhatIsExpected)
{
    TrainSpec spec;
    spec.modelDir = "m";
    spec.data.path = "d";
    EXPECT_TRUE(validateTrainSpec(spec));
    spec.train.lrScheduler = "step";
    const Status bad = validateTrainSpec(spec);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message,
              "run config: 'train.lr_scheduler' must be constant, linear or cosine, not 'step'");
    spec.train.lrScheduler = "linear";
    spec.adapter.dropout = 1.5;
    EXPECT_NE(validateTrainSpec(spec).error().message.find("adapter"), std::string::npos);
}

TEST(TrainingBatchTest, CollatePadsRightAndLabelsOnlyTrainedTokens)
{
    data::TokenizedExample a{{5, 6, 7}, {0, 1, 1}, 1};
    data::TokenizedExample b{{8, 9}, {1, 1}, 2};
    const std::vector<const data::TokenizedExample*> items{&a, &b};
    const train::Batch batch = train::collate(items, 0);
    EXPECT_TRUE(at::equal(batch.inputIds, at::tensor({5, 6, 7, 8, 9, 0}, at::kLong).view({2, 3})));
    EXPECT_TRUE(
        at::equal(batch.labels, at::tensor({-100, 6, 7, 8, 9, -100}, at::kLong).view({2, 3})));
    EXPECT_EQ(batch.tokens, 5);
    EXPECT_EQ(batch.trainedTokens, 3); // 6, 7 and 9: a first token is never predicted
}

TEST(TrainingBatchTest, TheLossIsTheSummedNextTokenCrossEntropyOfTheLabels)
{
    const at::Tensor logits = at::randn({1, 3, 4}, at::kDouble);
    const at::Tensor labels = at::tensor({-100, 2, -100}, at::kLong).view({1, 3});
    // Position 0 predicts label[1] = 2; position 1 predicts nothing (label[2] is ignored).
    const double expected = -at::log_softmax(logits[0][0], 0)[2].item<double>();
    EXPECT_NEAR(train::sumCrossEntropy(logits, labels).item<double>(), expected, 1e-6);
}

TEST(TrainingBatchTest, TheLossAndItsGradientMatchAFloat64Reference)
{
    at::Generator generator = at::detail::createCPUGenerator(9);
    const at::Tensor values = at::randn({2, 5, 7}, generator, at::kDouble) * 3.0;
    const at::Tensor labels =
        at::tensor({-100, 3, 6, -100, 0, 1, 1, 2, -100, -100}, at::kLong).view({2, 5});
    // Reference in float64: position t predicts labels[:, t + 1], ignored labels add nothing.
    const at::Tensor reference = values.clone().set_requires_grad(true);
    at::Tensor expected = at::zeros({}, at::kDouble);
    const at::Tensor logp = at::log_softmax(reference, -1);
    for (std::int64_t row = 0; row < 2; ++row) {
        for (std::int64_t t = 0; t + 1 < 5; ++t) {
            const std::int64_t label = labels[row][t + 1].item<std::int64_t>();
            if (label != -100) {
                expected = expected - logp[row][t][label];
            }
        }
    }
    (expected * 0.5).backward();

    const at::Tensor logits = values.to(at::kFloat).set_requires_grad(true);
    const at::Tensor loss = train::sumCrossEntropy(logits, labels);
    (loss * 0.5).backward();
    EXPECT_NEAR(loss.item<double>(), expected.item<double>(), 1e-5);
    EXPECT_LT((logits.grad().to(at::kDouble) - reference.grad()).abs().max().item<double>(), 1e-6);
    // The last position predicts nothing and rows with an ignored label get no gradient.
    EXPECT_EQ(logits.grad().select(1, 4).abs().max().item<double>(), 0.0);
}

TEST(TrainingBatchTest, EpochOrderIsAPermutationFixedBySeedAndEpoch)
{
    const auto order = train::epochOrder(50, 3, 0);
    std::vector<std::size_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        EXPECT_EQ(sorted[i], i);
    }
    EXPECT_EQ(order, train::epochOrder(50, 3, 0));
    EXPECT_NE(order, train::epochOrder(50, 3, 1));
    EXPECT_NE(order, train::epochOrder(50, 4, 0));
}

TEST(AnswerExtractionTest, Gsm8kTakesTheTextAfterTheLastMarkerWithoutCommas)
{
    EXPECT_EQ(eval::extractAnswer("so 2 + 2 = 4\n#### 1,234\n", AnswerExtraction::Gsm8k, nullptr),
              "1234");
    EXPECT_EQ(eval::extractAnswer("#### 1\n#### 72 apples\nmore", AnswerExtraction::Gsm8k, nullptr),
              "72 apples");
    EXPECT_EQ(eval::extractAnswer("no marker", AnswerExtraction::Gsm8k, nullptr), std::nullopt);
}

TEST(AnswerExtractionTest, FirstLineRegexAndFullTrimWhiteSpace)
{
    EXPECT_EQ(eval::extractAnswer("\n  Genesis \nrest", AnswerExtraction::FirstLine, nullptr),
              "Genesis");
    EXPECT_EQ(eval::extractAnswer(" \n ", AnswerExtraction::FirstLine, nullptr), std::nullopt);
    const data::Regex number("(?<=answer: )-?\\d+");
    EXPECT_EQ(eval::extractAnswer("the answer: -17.", AnswerExtraction::Regex, &number), "-17");
    EXPECT_EQ(eval::extractAnswer("none here", AnswerExtraction::Regex, &number), std::nullopt);
    EXPECT_EQ(eval::extractAnswer(" 4; ", AnswerExtraction::Full, nullptr), "4;");
    EXPECT_EQ(parseAnswerExtraction("first-line"), AnswerExtraction::FirstLine);
    EXPECT_EQ(parseAnswerExtraction("first_line"), std::nullopt);
}

TEST(CheckpointStateTest, AMalformedTrainerStateIsAFormatErrorNamingTheFileAndField)
{
    const test::TempDir dir;
    const at::Tensor weight = at::ones({2, 2}).requires_grad_();
    const train::NamedTensors trainable = {{"w", weight}};
    torch::optim::AdamW optimizer(std::vector<at::Tensor>{weight});
    train::LoopState state;
    state.step = 3;
    state.microBatches = 6;
    state.tokensSeen = 96;
    state.elapsedMs = 1500;
    const std::filesystem::path checkpoint = dir / "step-3";
    (void)train::saveCheckpoint(checkpoint, state, trainable, {}, optimizer, "{}");
    const std::filesystem::path stateFile = checkpoint / "trainer_state.json";
    const nlohmann::json written = nlohmann::json::parse(std::ifstream(stateFile));

    train::NamedTensors extra;
    const train::LoopState loaded = train::loadCheckpoint(checkpoint, trainable, extra, optimizer);
    EXPECT_EQ(loaded.step, 3);
    EXPECT_EQ(loaded.microBatches, 6);
    EXPECT_EQ(loaded.tokensSeen, 96);
    EXPECT_EQ(loaded.elapsedMs, 1500);

    struct Case {
        const char* key;
        nlohmann::json value; // null: the key left out
        const char* named;    // what the message must name beside the file
    };
    const std::vector<Case> cases = {
        {"format_version", "1", "format version 1"},
        {"format_version", 2, "format version 1"},
        {"step", -1, "\"step\" must be a whole number of at least 0"},
        {"step", 2.5, "\"step\""},
        {"micro_batches", "six", "\"micro_batches\""},
        {"tokens_seen", nullptr, "\"tokens_seen\""},
        {"elapsed_ms", nlohmann::json::array(), "\"elapsed_ms\""},
        {"good_steps", true, "\"good_steps\""},
        {"loss_scale", "x", "\"loss_scale\" must be a number of at least 0"},
        {"loss_scale", -1.0, "\"loss_scale\""},
    };
    for (const Case& c : cases) {
        nlohmann::json broken = written;
        if (c.value.is_null()) {
            broken.erase(c.key);
        } else {
            broken[c.key] = c.value;
        }
        std::ofstream(stateFile, std::ios::trunc) << broken.dump();
        try {
            (void)train::loadCheckpoint(checkpoint, trainable, extra, optimizer);
            ADD_FAILURE() << c.key << " = " << c.value.dump() << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::ModelFormat) << c.key;
            const std::string message = e.what();
            EXPECT_NE(message.find(stateFile.string()), std::string::npos) << message;
            EXPECT_NE(message.find(c.named), std::string::npos) << message;
        }
    }
}

} // namespace
} // namespace ftw
