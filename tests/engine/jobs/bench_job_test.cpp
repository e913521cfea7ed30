// SPDX-License-Identifier: MIT
// The bench job end to end on the tiny shape: it trains the engine's real step on the synthetic
// batch it documents (the first loss is the base model's next-token loss on those ids, computed
// here with log_softmax and gather), reports figures that agree with each other and with the
// files (tokens per step, model bytes), merges the trained adapter, records nothing in the
// user's store and leaves no scratch folder; stepFlops() matches a hand-worked count; bad
// settings fail naming the field.
#include "model/model_loader.h"
#include "support/job_helpers.h"
#include "support/temp_dir.h"

#include <ftw/bench.h>
#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <filesystem>

namespace ftw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(StepFlopsTest, MatchesAHandWorkedCount)
{
    StepFlopsInput in;
    in.batchSize = 2;
    in.seqLength = 4;
    in.hiddenSize = 8;
    in.numLayers = 1;
    in.numHeads = 2;
    in.headDim = 4;
    in.vocabSize = 16;
    in.matmulParams = 100;
    in.trainableMatmulParams = 10;
    // 8 tokens; per token 2 * 100 for the weights and 4 * 1 layer * 4 positions * 2 heads * 4 for
    // the attention products: forward 8 * 328 = 2624; backward 2624 for the activations and
    // 8 * 2 * 10 = 160 for the trained weights.
    EXPECT_DOUBLE_EQ(stepFlops(in), 2.0 * 2624.0 + 160.0);
    in.isCheckpointing = true; // the forward runs twice
    EXPECT_DOUBLE_EQ(stepFlops(in), 3.0 * 2624.0 + 160.0);
}

class BenchJobTest : public ::testing::Test {
protected:
    BenchSpec tinySpec() const
    {
        BenchSpec spec;
        spec.shape = "tiny";
        spec.saveModelDir = m_dir.path() / "model";
        spec.seqLength = 12;
        spec.steps = 3;
        spec.untimedSteps = 1;
        spec.train.adapter.method = AdapterMethod::Lora;
        spec.train.adapter.r = 4;
        spec.train.adapter.alpha = 8.0;
        spec.train.adapter.targetModules = {"all-linear"};
        spec.train.train.batchSize = 3;
        spec.train.train.learningRate = 1e-2;
        spec.train.train.seed = 11;
        spec.train.train.device = "cpu";
        return spec;
    }

    test::TempDir m_dir;
    fs::path m_db = m_dir.path() / "ftw.db";
};

TEST_F(BenchJobTest, TimesTheRealStepOnTheDocumentedBatchAndMergesTheAdapter)
{
    const BenchSpec spec = tinySpec();
    const JobResult result = test::runJob(m_db, spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    const json output = json::parse(result.outputJson);

    const json& train = output.at("train");
    EXPECT_EQ(train.at("tokens_per_step").get<std::int64_t>(), 3 * 12);
    EXPECT_EQ(train.at("steps").get<std::int64_t>(), 3);
    const json& seconds = train.at("step_seconds");
    EXPECT_GT(seconds.at("min").get<double>(), 0.0);
    EXPECT_LE(seconds.at("min").get<double>(), seconds.at("median").get<double>());
    EXPECT_LE(seconds.at("median").get<double>(), seconds.at("max").get<double>());
    EXPECT_NEAR(train.at("tokens_per_second").get<double>(),
                36.0 / seconds.at("median").get<double>(), 1e-6 * 36.0);
    EXPECT_GT(train.at("peak_memory_bytes").get<std::int64_t>(), 0);
    EXPECT_GT(train.at("flops_utilisation").get<double>(), 0.0);

    // The first loss is the base model's (B starts at zero) on uniform ids drawn from the seeded
    // CPU generator, every token trained.
    const json& model = output.at("model");
    EXPECT_EQ(fs::path(model.at("dir").get<std::string>()), spec.saveModelDir);
    model::LoadedModel loaded = model::loadModel(spec.saveModelDir);
    const std::int64_t vocab = loaded.config.vocabSize;
    const at::Tensor ids =
        at::randint(0, vocab, {3, 12}, at::detail::createCPUGenerator(11), at::kLong);
    double expected = 0.0;
    {
        const torch::NoGradGuard noGrad;
        loaded.decoder->eval();
        const at::Tensor logp = at::log_softmax(loaded.decoder->forward(ids).to(at::kDouble), -1);
        const at::Tensor next = ids.slice(1, 1).unsqueeze(-1);
        expected = -logp.slice(1, 0, 11).gather(-1, next).mean().item<double>();
    }
    EXPECT_NEAR(train.at("first_loss").get<double>(), expected, 1e-4);
    EXPECT_LT(train.at("last_loss").get<double>(), train.at("first_loss").get<double>());
    EXPECT_EQ(output.at("config").at("adapter").at("r").get<int>(), 4);

    const json& merge = output.at("merge");
    std::int64_t bytes = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(spec.saveModelDir)) {
        bytes += static_cast<std::int64_t>(entry.file_size());
    }
    EXPECT_EQ(merge.at("model_bytes").get<std::int64_t>(), bytes);
    EXPECT_GT(merge.at("merge_seconds").get<double>(), 0.0);
    EXPECT_NEAR(merge.at("ratio").get<double>(),
                merge.at("merge_seconds").get<double>() /
                    merge.at("read_write_seconds").get<double>(),
                1e-9);
    // The phases are parts of the whole; without the verification is load + merge and write,
    // not counting the merged logits computed beside the write.
    const json& phases = merge.at("phase_seconds");
    double phaseSum = 0.0;
    for (const char* phase : {"load", "reference", "write", "verify"}) {
        EXPECT_GT(phases.at(phase).get<double>(), 0.0) << phase;
        phaseSum += phases.at(phase).get<double>();
    }
    EXPECT_LE(phaseSum, merge.at("merge_seconds").get<double>());
    EXPECT_GT(phases.at("write_alone").get<double>(), 0.0);
    EXPECT_LE(phases.at("write_alone").get<double>(), phases.at("write").get<double>());
    EXPECT_NEAR(merge.at("ratio_without_verification").get<double>(),
                (phases.at("load").get<double>() + phases.at("write_alone").get<double>()) /
                    merge.at("read_write_seconds").get<double>(),
                1e-9);
    EXPECT_LT(merge.at("ratio_without_verification").get<double>(),
              merge.at("ratio").get<double>());

    auto store = RunStore::open(m_db, StoreMode::ReadOnly);
    ASSERT_TRUE(store) << store.error().message;
    const auto runs = store->listRuns();
    ASSERT_TRUE(runs) << runs.error().message;
    EXPECT_TRUE(runs->empty()) << "the bench records nothing in the user's store";
}

TEST_F(BenchJobTest, RemovesItsScratchModel)
{
    BenchSpec spec = tinySpec();
    spec.saveModelDir.clear();
    spec.isMergeMeasured = false;
    spec.steps = 1;
    const JobResult result = test::runJob(m_db, spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    const json output = json::parse(result.outputJson);
    EXPECT_FALSE(output.contains("merge"));
    const fs::path dir = output.at("model").at("dir").get<std::string>();
    EXPECT_FALSE(fs::exists(dir)) << dir;
    EXPECT_FALSE(fs::exists(dir.parent_path())) << "the scratch folder is removed";
}

TEST_F(BenchJobTest, BadSettingsFailNamingTheField)
{
    BenchSpec spec = tinySpec();
    spec.seqLength = 1;
    JobResult result = test::runJob(m_db, spec);
    EXPECT_EQ(result.status, JobStatus::Failed);
    EXPECT_NE(result.error.message.find("seqLength"), std::string::npos) << result.error.message;

    spec = tinySpec();
    spec.shape = "gpt-17";
    result = test::runJob(m_db, spec);
    EXPECT_EQ(result.status, JobStatus::Failed);
    EXPECT_NE(result.error.message.find("'gpt-17'"), std::string::npos) << result.error.message;
    EXPECT_NE(result.error.message.find("qwen2.5-0.5b"), std::string::npos) << result.error.message;
}

} // namespace
} // namespace ftw
