// SPDX-License-Identifier: MIT
// The pretrain job end to end on a tiny shape (hidden 32, 2 layers) with a byte-level tokenizer
// and a few hundred bytes of repetitive text: the loss falls, the written folder loads with the
// requested shape and as many parameters as counted by hand from it, the run is recorded with kind
// pretrain; bad settings fail naming the option on a failed run; a non-empty output folder is
// left alone; a stopped run resumes through the train job's resume and then publishes the model.
#include "jobs/job_context.h"
#include "jobs/pretrain_job.h"
#include "model/model_loader.h"
#include "model/tiny_model.h"
#include "support/job_helpers.h"
#include "support/temp_dir.h"

#include <ftw/engine.h>
#include <ftw/models.h>
#include <ftw/pretrain.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace ftw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json readJson(const fs::path& file)
{
    std::ifstream in(file);
    return json::parse(in);
}

std::string readText(const fs::path& file)
{
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Parameters of a tied Llama model of this shape, counted from the shape alone.
std::int64_t llamaParameters(std::int64_t vocab, std::int64_t hidden, std::int64_t layers,
                             std::int64_t heads, std::int64_t kvHeads, std::int64_t mlp)
{
    const std::int64_t headDim = hidden / heads;
    const std::int64_t attention = 2 * hidden * hidden + 2 * hidden * kvHeads * headDim;
    const std::int64_t feedForward = 3 * hidden * mlp;
    const std::int64_t norms = 2 * hidden;
    return vocab * hidden + layers * (attention + feedForward + norms) + hidden;
}

class PretrainJobTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        fs::create_directories(m_dir / "tokenizer");
        // The byte-level tokenizer of the tiny models, without a tokenizer_config.json: the job
        // finds <|begin_of_text|>, <|end_of_text|> and <|pad|> by name.
        std::ofstream(m_dir / "tokenizer" / "tokenizer.json") << model::tinyTokenizerJson();
        std::ofstream text(m_dir / "corpus.txt");
        for (int i = 0; i < 6; ++i) {
            text << "the cat sat on the mat\na dog ran in the park\nmy bird sang a song\n";
        }
    }

    PretrainSpec spec() const
    {
        PretrainSpec s;
        s.runName = "tiny-pretrain";
        s.tokenizerFile = m_dir / "tokenizer" / "tokenizer.json";
        s.outputDir = m_dir / "out";
        s.data.path = m_dir / "corpus.txt";
        s.data.maxLength = 32;
        s.data.validationRatio = 0.0;
        s.model.hiddenSize = 32;
        s.model.intermediateSize = 64;
        s.model.numLayers = 2;
        s.model.numHeads = 4;
        s.model.numKvHeads = 2;
        s.model.maxPositions = 64;
        s.train.maxSteps = 80;
        s.train.batchSize = 4;
        s.train.learningRate = 3e-2;
        s.train.warmupSteps = 2;
        s.train.seed = 3;
        s.train.device = "cpu";
        s.samplePrompt = "a dog";
        s.sampleTokens = 24;
        return s;
    }

    template <typename Spec>
    JobResult run(const Spec& s)
    {
        return test::runJob(db(), s);
    }

    RunDetail detail(RunId id) const { return test::storedRun(db(), id); }

    std::vector<MetricPoint> losses(RunId id) const
    {
        auto store = RunStore::open(db(), StoreMode::ReadOnly);
        return *store->metrics(id, "train/loss");
    }

    fs::path db() const { return m_dir / "ftw.db"; }

    test::TempDir m_dir;
};

TEST_F(PretrainJobTest, TrainsATinyModelFromScratchAndWritesItToTheOutputFolder)
{
    const PretrainSpec s = spec();
    const JobResult result = run(s);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    const std::vector<MetricPoint> loss = losses(result.runId);
    ASSERT_EQ(loss.size(), 80U);
    EXPECT_LT(loss.back().value, 0.5 * loss.front().value)
        << "first " << loss.front().value << ", last " << loss.back().value;

    const json output = json::parse(result.outputJson);
    EXPECT_EQ(output["kind"], "pretrain");
    EXPECT_EQ(output["steps"], 80);
    EXPECT_DOUBLE_EQ(output["first_train_loss"].get<double>(), loss.front().value);
    EXPECT_DOUBLE_EQ(output["last_train_loss"].get<double>(), loss.back().value);
    EXPECT_EQ(output["tokens_per_step"], 4 * 32);
    EXPECT_EQ(output["output_dir"], (m_dir / "out").string());
    EXPECT_EQ(output["sample"]["prompt"], "a dog");
    EXPECT_FALSE(output["sample"]["after"].get<std::string>().empty());
    EXPECT_NE(output["sample"]["after"], output["sample"]["before"]);

    // The folder: the requested shape, the tokenizer's vocabulary and special tokens.
    const fs::path out = m_dir / "out";
    EXPECT_FALSE(fs::exists(m_dir / "out.partial"));
    const json config = readJson(out / "config.json");
    EXPECT_EQ(config["architectures"], json::array({"LlamaForCausalLM"}));
    EXPECT_EQ(config["model_type"], "llama");
    EXPECT_EQ(config["torch_dtype"], "float32");
    EXPECT_EQ(config["vocab_size"], 259);
    EXPECT_EQ(config["hidden_size"], 32);
    EXPECT_EQ(config["intermediate_size"], 64);
    EXPECT_EQ(config["num_hidden_layers"], 2);
    EXPECT_EQ(config["num_attention_heads"], 4);
    EXPECT_EQ(config["num_key_value_heads"], 2);
    EXPECT_EQ(config["max_position_embeddings"], 64);
    EXPECT_EQ(config["tie_word_embeddings"], true);
    EXPECT_EQ(config["bos_token_id"], 256);
    EXPECT_EQ(config["eos_token_id"], 257);
    EXPECT_EQ(readText(out / "tokenizer.json"), model::tinyTokenizerJson());
    const json tokenizerConfig = readJson(out / "tokenizer_config.json");
    EXPECT_EQ(tokenizerConfig["bos_token"], "<|begin_of_text|>");
    EXPECT_EQ(tokenizerConfig["eos_token"], "<|end_of_text|>");
    EXPECT_EQ(tokenizerConfig["pad_token"], "<|pad|>");

    // As many parameters as the shape has, in the loaded model, the file and the output.
    const std::int64_t expected = llamaParameters(259, 32, 2, 4, 2, 64);
    const model::LoadedModel loaded = model::loadModel(out);
    std::int64_t inModel = 0;
    for (const at::Tensor& p : loaded.decoder->parameters()) {
        inModel += p.numel();
    }
    EXPECT_EQ(inModel, expected);
    EXPECT_EQ(output["parameters"], expected);
    const Expected<ModelSummary> summary = inspectModel(out);
    ASSERT_TRUE(summary.hasValue()) << summary.error().message;
    EXPECT_EQ(summary->parameterCount, expected);

    const RunDetail run = detail(result.runId);
    EXPECT_EQ(run.summary.kind, "pretrain");
    EXPECT_EQ(run.summary.method, "full");
    EXPECT_EQ(run.summary.status, RunStatus::Succeeded);
    const Expected<PretrainSpec> stored = parsePretrainConfig(run.configJson, "stored");
    ASSERT_TRUE(stored.hasValue()) << stored.error().message;
    EXPECT_EQ(pretrainConfigJson(*stored), pretrainConfigJson(s));
}

struct BadSetting {
    const char* name;
    void (*apply)(PretrainSpec&);
    const char* expectedKey;
    const char* expectedOption;
};

class PretrainBadSettingTest : public PretrainJobTest,
                               public ::testing::WithParamInterface<BadSetting> {};

TEST_P(PretrainBadSettingTest, FailsNamingTheOptionOnAFailedRun)
{
    PretrainSpec s = spec();
    GetParam().apply(s);
    const JobResult result = run(s);
    ASSERT_EQ(result.status, JobStatus::Failed);
    EXPECT_NE(result.error.message.find(GetParam().expectedKey), std::string::npos)
        << result.error.message;
    EXPECT_NE(result.error.message.find(GetParam().expectedOption), std::string::npos)
        << result.error.message;
    ASSERT_NE(result.runId, 0);
    const RunDetail run = detail(result.runId);
    EXPECT_EQ(run.summary.kind, "pretrain");
    EXPECT_EQ(run.summary.status, RunStatus::Failed);
    EXPECT_EQ(run.summary.error.message, result.error.message);
    EXPECT_FALSE(fs::exists(m_dir / "out"));
}

INSTANTIATE_TEST_SUITE_P(
    Settings, PretrainBadSettingTest,
    ::testing::Values(BadSetting{"HeadsNotDividingHidden",
                                 [](PretrainSpec& s) { s.model.numHeads = 5; },
                                 "model.num_attention_heads", "--heads"},
                      BadSetting{"KvHeadsNotDividingHeads",
                                 [](PretrainSpec& s) { s.model.numKvHeads = 3; },
                                 "model.num_key_value_heads", "--kv-heads"},
                      BadSetting{"MissingTokenizer",
                                 [](PretrainSpec& s) {
                                     s.tokenizerFile = s.tokenizerFile.parent_path() / "no.json";
                                 },
                                 "tokenizer", "--tokenizer"},
                      BadSetting{"SequencesLongerThanThePositions",
                                 [](PretrainSpec& s) { s.data.maxLength = 65; }, "data.max_length",
                                 "--max-length"}),
    [](const ::testing::TestParamInfo<BadSetting>& param) { return param.param.name; });

TEST_F(PretrainJobTest, ANonEmptyOutputFolderIsNotOverwritten)
{
    fs::create_directories(m_dir / "out");
    std::ofstream(m_dir / "out" / "keep.txt") << "mine";
    const JobResult result = run(spec());
    ASSERT_EQ(result.status, JobStatus::Failed);
    EXPECT_NE(result.error.message.find("is not empty"), std::string::npos) << result.error.message;
    EXPECT_NE(result.error.message.find("--out"), std::string::npos) << result.error.message;
    EXPECT_EQ(detail(result.runId).summary.status, RunStatus::Failed);
    EXPECT_EQ(readText(m_dir / "out" / "keep.txt"), "mine");
    EXPECT_EQ(std::distance(fs::directory_iterator(m_dir / "out"), fs::directory_iterator()), 1);
    EXPECT_FALSE(fs::exists(m_dir / "out.partial"));
}

TEST_F(PretrainJobTest, AStoppedRunPublishesNothingAndResumesThroughTheTrainResume)
{
    PretrainSpec s = spec();
    s.train.maxSteps = 6;
    s.sampleTokens = 4;
    RunId runId = 0;
    {
        // Stopped while the first step is reported, as Ctrl-C or the Stop button would.
        std::stop_source stop;
        const jobs::EventSink sink = [&stop](const JobEvent& event) {
            if (std::holds_alternative<JobProgress>(event)) {
                stop.request_stop();
            }
        };
        jobs::JobContext ctx(1, stop.get_token(), sink, db());
        jobs::Job job = jobs::makePretrainJob(s);
        EXPECT_THROW(job.run(ctx), Cancelled);
        ctx.recordOutcome(JobResult{JobStatus::Cancelled, {}, ctx.runId(), 0.0});
        runId = ctx.runId();
    }
    ASSERT_NE(runId, 0);
    EXPECT_EQ(detail(runId).summary.status, RunStatus::Cancelled);
    EXPECT_FALSE(fs::exists(m_dir / "out"));
    EXPECT_FALSE(fs::exists(m_dir / "out.partial"));

    TrainSpec resume;
    resume.resumeRunId = runId;
    const JobResult resumed = run(resume);
    ASSERT_EQ(resumed.status, JobStatus::Succeeded) << resumed.error.message;
    EXPECT_EQ(resumed.runId, runId);
    EXPECT_EQ(json::parse(resumed.outputJson)["kind"], "pretrain");
    EXPECT_TRUE(fs::exists(m_dir / "out" / "model.safetensors"));
    const RunDetail run = detail(runId);
    EXPECT_EQ(run.summary.kind, "pretrain");
    EXPECT_EQ(run.summary.status, RunStatus::Succeeded);
    const std::vector<MetricPoint> loss = losses(runId);
    ASSERT_EQ(loss.size(), 6U);
    EXPECT_EQ(loss.back().step, 6);

    // Finished: there is nothing left to resume.
    EXPECT_EQ(this->run(resume).status, JobStatus::Failed);
}

} // namespace
} // namespace ftw
