// SPDX-License-Identifier: MIT
// Multi-step training on tiny models through the real engine, store and files (label slow).
#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include "jobs/job_context.h"
#include "model/safetensors.h"
#include "train/trainer.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

namespace ftw {
namespace {

using model::ArchId;

struct TrainResult {
    JobResult job;
    std::vector<MetricPoint> loss;
};

TrainResult runTraining(const std::filesystem::path& db, const TrainSpec& spec)
{
    auto engine = Engine::create(EngineOptions{db, 0});
    EXPECT_TRUE(engine.hasValue());
    const JobResult result = (*engine)->wait((*engine)->submit(spec).id);
    auto store = RunStore::open(db, StoreMode::ReadOnly);
    return TrainResult{result, *store->metrics(result.runId, "train/loss")};
}

struct OverfitCase {
    ArchId arch;
    AdapterMethod method;
};

class TrainOverfitTest : public ::testing::TestWithParam<OverfitCase> {};

TEST_P(TrainOverfitTest, LossFallsWellBelowItsStartAndTheRunIsStored)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, GetParam().arch, GetParam().method);
    spec.train.saveEverySteps = 10;
    if (GetParam().method == AdapterMethod::Vera) {
        spec.adapter.r = 16;
        spec.train.learningRate = 5e-2; // VeRA trains only scaling vectors
    }
    if (GetParam().method == AdapterMethod::Bone) {
        spec.adapter.r = 16;
    }
    const TrainResult run = runTraining(dir / "ftw.db", spec);
    ASSERT_EQ(run.job.status, JobStatus::Succeeded) << run.job.error.message;
    ASSERT_EQ(run.loss.size(), 30U);
    const double first = run.loss.front().value;
    const double last = run.loss.back().value;
    EXPECT_LT(last, 0.5 * first) << "first " << first << ", last " << last;
    std::printf("loss %.3f -> %.3f\n", first, last);

    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    const RunDetail detail = *store->run(run.job.runId);
    EXPECT_EQ(detail.summary.status, RunStatus::Succeeded);
    EXPECT_EQ(detail.summary.kind, "train");
    EXPECT_EQ(detail.summary.method, adapterMethodName(GetParam().method));
    EXPECT_GT(detail.summary.trainableParams.value_or(0), 0);
    const std::vector<CheckpointInfo> checkpoints = *store->checkpoints(run.job.runId);
    ASSERT_EQ(checkpoints.size(), 2U); // keep_checkpoints = 2 of steps 10, 20, 30
    EXPECT_EQ(checkpoints.back().step, 30);
    EXPECT_TRUE(std::filesystem::exists(checkpoints.back().path / "trainable.safetensors"));
    EXPECT_FALSE(std::filesystem::exists(detail.runDir / "checkpoints" / "step-00000010"));
    EXPECT_TRUE(std::filesystem::exists(detail.runDir / "adapter" / "adapter_config.json"));
    const auto params = *store->params(run.job.runId);
    EXPECT_NE(std::find(params.begin(), params.end(),
                        std::pair<std::string, std::string>{
                            "train.learning_rate", nlohmann::json(spec.train.learningRate).dump()}),
              params.end());
}

std::vector<OverfitCase> overfitCases()
{
    std::vector<OverfitCase> cases;
    for (const ArchId arch :
         {ArchId::Llama, ArchId::Mistral, ArchId::Qwen2, ArchId::Qwen3, ArchId::Gpt2}) {
        for (const AdapterMethod method :
             {AdapterMethod::Lora, AdapterMethod::Dora, AdapterMethod::Vera, AdapterMethod::Bone,
              AdapterMethod::Pissa}) {
            cases.push_back({arch, method});
        }
    }
    return cases;
}

INSTANTIATE_TEST_SUITE_P(ArchAndMethod, TrainOverfitTest, ::testing::ValuesIn(overfitCases()),
                         [](const ::testing::TestParamInfo<OverfitCase>& param) {
                             std::string name = std::string(model::archName(param.param.arch)) +
                                                "_" +
                                                std::string(adapterMethodName(param.param.method));
                             std::erase(name, '-');
                             return name;
                         });

} // namespace
} // namespace ftw

namespace ftw {
namespace {

/// Trains `spec` on a JobContext whose stop is requested while the first step is reported, as
/// Ctrl-C or the Stop button would; returns the run id.
RunId trainUntilStoppedAfterFirstStep(const std::filesystem::path& db, const TrainSpec& spec)
{
    std::stop_source stop;
    const jobs::EventSink sink = [&stop](const JobEvent& event) {
        if (std::holds_alternative<JobProgress>(event)) {
            stop.request_stop();
        }
    };
    jobs::JobContext ctx(1, stop.get_token(), sink, db);
    train::Trainer trainer(spec, ctx);
    EXPECT_THROW(trainer.run(), Cancelled);
    ctx.recordOutcome(JobResult{JobStatus::Cancelled, {}, ctx.runId(), 0.0});
    return ctx.runId();
}

/// Trains `spec` once without a stop and once stopped after its first step and resumed, in two
/// stores, and expects the same loss at every step.
void expectResumedRunMatchesUninterrupted(const test::TempDir& dir, const TrainSpec& spec)
{
    std::filesystem::create_directories(dir / "a");
    std::filesystem::create_directories(dir / "b");

    const TrainResult uninterrupted = runTraining(dir / "a" / "ftw.db", spec);
    ASSERT_EQ(uninterrupted.job.status, JobStatus::Succeeded) << uninterrupted.job.error.message;

    const RunId runId = trainUntilStoppedAfterFirstStep(dir / "b" / "ftw.db", spec);
    {
        auto store = RunStore::open(dir / "b" / "ftw.db", StoreMode::ReadOnly);
        EXPECT_EQ(store->run(runId)->summary.status, RunStatus::Cancelled);
        const std::vector<CheckpointInfo> checkpoints = *store->checkpoints(runId);
        ASSERT_EQ(checkpoints.size(), 1U);
        EXPECT_EQ(checkpoints.front().step, 1) << "the stop must take effect within one step";
    }

    TrainSpec resume;
    resume.resumeRunId = runId;
    const TrainResult resumed = runTraining(dir / "b" / "ftw.db", resume);
    ASSERT_EQ(resumed.job.status, JobStatus::Succeeded) << resumed.job.error.message;
    EXPECT_EQ(resumed.job.runId, runId);
    ASSERT_EQ(resumed.loss.size(), uninterrupted.loss.size());
    for (std::size_t i = 0; i < resumed.loss.size(); ++i) {
        EXPECT_EQ(resumed.loss[i].step, uninterrupted.loss[i].step);
        EXPECT_NEAR(resumed.loss[i].value, uninterrupted.loss[i].value, 1e-6) << "step " << i + 1;
        EXPECT_EQ(resumed.loss[i].tokens, uninterrupted.loss[i].tokens);
    }
    auto store = RunStore::open(dir / "b" / "ftw.db", StoreMode::ReadOnly);
    const std::vector<RunEvent> events = *store->events(runId);
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].kind, "stop");
    EXPECT_EQ(events[1].kind, "resume");
    EXPECT_EQ(events[1].step, 1);
}

TEST(TrainResumeTest, AStoppedAndResumedRunReachesTheLossesOfAnUninterruptedOne)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    spec.train.maxSteps = 8;
    spec.train.batchSize = 3; // 8 examples: epochs end mid-batch and the order reshuffles
    spec.train.gradAccumulation = 2;
    spec.train.lrScheduler = "cosine";
    spec.train.warmupSteps = 2;
    spec.train.weightDecay = 0.01;
    spec.adapter.dropout = 0.1; // dropout draws from the global generator: its state must resume
    spec.adapter.loraPlusRatio = 4.0;
    expectResumedRunMatchesUninterrupted(dir, spec);
}

TEST(TrainResumeTest, AdaLoraResumesWithItsImportanceAndBudgetState)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Qwen2, AdapterMethod::AdaLora);
    spec.train.maxSteps = 8;
    spec.adapter.initR = 6;
    spec.adapter.targetR = 2;
    spec.adapter.tinit = 1;
    spec.adapter.tfinal = 2;
    expectResumedRunMatchesUninterrupted(dir, spec);
}

TEST(TrainResumeTest, ResumingAFinishedRunIsRefused)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    spec.train.maxSteps = 2;
    const TrainResult done = runTraining(dir / "ftw.db", spec);
    ASSERT_EQ(done.job.status, JobStatus::Succeeded);
    TrainSpec resume;
    resume.resumeRunId = done.job.runId;
    const TrainResult again = runTraining(dir / "ftw.db", resume);
    EXPECT_EQ(again.job.status, JobStatus::Failed);
    EXPECT_NE(again.job.error.message.find("has finished"), std::string::npos)
        << again.job.error.message;
}

class CancelObserver : public JobObserver {
public:
    void onEvent(const JobEvent& event) override
    {
        if (std::holds_alternative<JobProgress>(event)) {
            hasProgress.store(true);
        }
    }
    std::atomic<bool> hasProgress{false};
};

TEST(TrainCancelTest, CancellingARunningTrainingRecordsItCancelledWithACheckpointAndNoAdapter)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Gpt2, AdapterMethod::Lora);
    spec.train.maxSteps = 100'000;
    auto engine = Engine::create(EngineOptions{dir / "ftw.db", 0});
    ASSERT_TRUE(engine.hasValue());
    CancelObserver observer;
    const ObserverRegistration registration = (*engine)->addObserver(observer);
    const JobHandle handle = (*engine)->submit(spec);
    while (!observer.hasProgress.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE((*engine)->requestCancel(handle.id));
    const JobResult result = (*engine)->wait(handle.id);
    EXPECT_EQ(result.status, JobStatus::Cancelled);

    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    const RunDetail detail = *store->run(result.runId);
    EXPECT_EQ(detail.summary.status, RunStatus::Cancelled);
    const std::vector<MetricPoint> loss = *store->metrics(result.runId, "train/loss");
    ASSERT_FALSE(loss.empty());
    EXPECT_LT(loss.back().step, 100'000);
    const std::vector<CheckpointInfo> checkpoints = *store->checkpoints(result.runId);
    ASSERT_EQ(checkpoints.size(), 1U);
    EXPECT_EQ(checkpoints.front().step, loss.back().step);
    EXPECT_FALSE(std::filesystem::exists(detail.runDir / "adapter"));
    for (const auto& entry : std::filesystem::recursive_directory_iterator(detail.runDir)) {
        EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
    }
}

} // namespace
} // namespace ftw

namespace ftw {
namespace {

class GradientCheckpointingTest : public ::testing::TestWithParam<model::ArchId> {};

TEST_P(GradientCheckpointingTest, RecomputingBlockActivationsGivesTheSameLosses)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, GetParam(), AdapterMethod::Dora);
    spec.train.maxSteps = 6;
    spec.adapter.dropout = 0.1; // the recomputation must draw the same dropout masks
    std::filesystem::create_directories(dir / "a");
    std::filesystem::create_directories(dir / "b");
    const TrainResult plain = runTraining(dir / "a" / "ftw.db", spec);
    spec.train.isGradientCheckpointing = true;
    const TrainResult checkpointed = runTraining(dir / "b" / "ftw.db", spec);
    ASSERT_EQ(plain.job.status, JobStatus::Succeeded) << plain.job.error.message;
    ASSERT_EQ(checkpointed.job.status, JobStatus::Succeeded) << checkpointed.job.error.message;
    ASSERT_EQ(plain.loss.size(), checkpointed.loss.size());
    for (std::size_t i = 0; i < plain.loss.size(); ++i) {
        EXPECT_NEAR(checkpointed.loss[i].value, plain.loss[i].value, 1e-5) << "step " << i + 1;
    }
    EXPECT_LT(plain.loss.back().value, plain.loss.front().value);
}

INSTANTIATE_TEST_SUITE_P(Arch, GradientCheckpointingTest,
                         ::testing::Values(model::ArchId::Llama, model::ArchId::Gpt2),
                         [](const ::testing::TestParamInfo<model::ArchId>& param) {
                             return std::string(model::archName(param.param));
                         });

} // namespace
} // namespace ftw

namespace ftw {
namespace {

TEST(TrainFullTest, FullFineTuningWritesAModelThatEvaluatesToTheRunsFinalEvalLoss)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Qwen2, AdapterMethod::Full);
    spec.train.maxSteps = 5;
    spec.train.learningRate = 1e-3;
    spec.data.validationRatio = 0.25;
    const TrainResult run = runTraining(dir / "ftw.db", spec);
    ASSERT_EQ(run.job.status, JobStatus::Succeeded) << run.job.error.message;
    const nlohmann::json output = nlohmann::json::parse(run.job.outputJson);
    ASSERT_TRUE(output.contains("model_dir"));

    EvalSpec eval;
    eval.modelDir = output["model_dir"].get<std::string>();
    eval.data = spec.data;
    eval.split = "validation";
    eval.seed = spec.train.seed;
    eval.device = "cpu";
    auto engine = Engine::create(EngineOptions{dir / "ftw.db", 0});
    const JobResult evaluated = (*engine)->wait((*engine)->submit(eval).id);
    ASSERT_EQ(evaluated.status, JobStatus::Succeeded) << evaluated.error.message;
    EXPECT_NEAR(nlohmann::json::parse(evaluated.outputJson)["loss"].get<double>(),
                output["eval_loss"].get<double>(), 1e-5);
    EXPECT_LT(run.loss.back().value, run.loss.front().value);
}

} // namespace
} // namespace ftw

namespace ftw {
namespace {

TEST(TrainNanTest, ANonFiniteLossEndsTheRunFailedWithAMessageAndAnEvent)
{
    const test::TempDir dir;
    nn::Decoder decoder = model::writeTinyModel(dir / "model", model::ArchId::Llama, 1);
    {
        // A weight file with an infinity in it: the very first loss is not finite.
        at::NoGradGuard noGrad;
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (const auto& item : decoder->named_parameters()) {
            tensors.emplace_back(item.key(), item.value());
        }
        decoder->named_parameters()["model.layers.0.mlp.down_proj.weight"][0][0] =
            std::numeric_limits<float>::infinity();
        model::writeSafetensors(dir / "model" / "model.safetensors", tensors);
    }
    const TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    const TrainResult run = runTraining(dir / "ftw.db", spec);
    ASSERT_EQ(run.job.status, JobStatus::Failed);
    EXPECT_EQ(run.job.error.code, ErrorCode::InvalidConfig);
    EXPECT_NE(run.job.error.message.find("the training loss became NaN at step 1"),
              std::string::npos)
        << run.job.error.message;
    EXPECT_NE(run.job.error.message.find("lower train.learning_rate"), std::string::npos);

    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    EXPECT_EQ(store->run(run.job.runId)->summary.status, RunStatus::Failed);
    const std::vector<RunEvent> events = *store->events(run.job.runId);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].kind, "nan");
    EXPECT_EQ(events[0].step, 1);
}

} // namespace
} // namespace ftw

namespace ftw {
namespace {

TEST(TrainFailureTest, AModelFolderThatCannotBeLoadedIsRecordedAsAFailedRunWithTheReason)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    spec.modelDir = dir / "missing-model";
    auto engine = Engine::create(EngineOptions{dir / "ftw.db", 0});
    const JobResult result = (*engine)->wait((*engine)->submit(spec).id);
    ASSERT_EQ(result.status, JobStatus::Failed);
    ASSERT_NE(result.runId, 0);
    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    const RunDetail run = *store->run(result.runId);
    EXPECT_EQ(run.summary.status, RunStatus::Failed);
    EXPECT_EQ(run.summary.error.message,
              "'" + spec.modelDir.string() + "' is not a model folder: it has no config.json");
    EXPECT_FALSE(store->params(result.runId)->empty());
}

} // namespace
} // namespace ftw
