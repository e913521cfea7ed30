// SPDX-License-Identifier: MIT
#include "storage/database.h"
#include "storage/migrations.h"

#include "support/temp_dir.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

namespace ftw {
namespace {

using namespace std::chrono_literals;

class CountingObserver : public JobObserver {
public:
    void onEvent(const JobEvent& event) override
    {
        const std::lock_guard lock(m_mutex);
        ++m_count;
        if (const auto* p = std::get_if<JobProgress>(&event)) {
            m_lastProgress = *p;
        }
    }
    int count() const
    {
        const std::lock_guard lock(m_mutex);
        return m_count;
    }
    JobProgress lastProgress() const
    {
        const std::lock_guard lock(m_mutex);
        return m_lastProgress;
    }

private:
    mutable std::mutex m_mutex;
    int m_count = 0;
    JobProgress m_lastProgress;
};

class EngineTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto engine = Engine::create(EngineOptions{m_dbPath, 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        m_engine = std::move(*engine);
    }

    RunDetail storedRun(RunId id)
    {
        auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
        EXPECT_TRUE(store.hasValue());
        auto run = store->run(id);
        EXPECT_TRUE(run.hasValue()) << run.error().message;
        return run ? *run : RunDetail{};
    }

    static DemoJobSpec quickDemo(int steps)
    {
        DemoJobSpec spec;
        spec.steps = steps;
        spec.stepDelayMs = 0;
        spec.seed = 7;
        return spec;
    }

    test::TempDir m_dir;
    std::filesystem::path m_dbPath = m_dir / "store" / "ftw.db";
    std::unique_ptr<Engine> m_engine;
};

TEST_F(EngineTest, DemoJobRecordsASucceededRunWhoseLossFalls)
{
    const JobResult result = m_engine->wait(m_engine->submit(quickDemo(60)).id);

    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    ASSERT_GT(result.runId, 0);
    const RunDetail run = storedRun(result.runId);
    EXPECT_EQ(run.summary.status, RunStatus::Succeeded);
    EXPECT_EQ(run.summary.kind, "demo");
    EXPECT_EQ(run.summary.trainableParams, 64);
    EXPECT_EQ(run.seed, 7);

    auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    const auto loss = store->metrics(result.runId, "train/loss");
    ASSERT_TRUE(loss.hasValue());
    ASSERT_EQ(loss->size(), 60U);
    EXPECT_EQ(loss->front().step, 1);
    EXPECT_EQ(loss->back().step, 60);
    EXPECT_LT(loss->back().value, 0.2 * loss->front().value);
    EXPECT_DOUBLE_EQ(*run.summary.lastLoss, loss->back().value);

    EXPECT_TRUE(std::filesystem::exists(run.runDir / "config.json"));
    EXPECT_TRUE(std::filesystem::exists(run.runDir / "run.log"));
    EXPECT_EQ(run.runDir, m_dir / "store" / "runs" / std::to_string(result.runId));
}

TEST_F(EngineTest, SameSeedGivesTheSameLossCurve)
{
    const JobResult a = m_engine->wait(m_engine->submit(quickDemo(20)).id);
    const JobResult b = m_engine->wait(m_engine->submit(quickDemo(20)).id);
    auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    const auto lossA = store->metrics(a.runId, "train/loss");
    const auto lossB = store->metrics(b.runId, "train/loss");
    ASSERT_EQ(lossA->size(), lossB->size());
    for (std::size_t i = 0; i < lossA->size(); ++i) {
        EXPECT_DOUBLE_EQ((*lossA)[i].value, (*lossB)[i].value) << "step " << i + 1;
    }
}

TEST_F(EngineTest, InvalidSpecComesBackAsAFailedJobNotAnException)
{
    DemoJobSpec spec = quickDemo(0);
    const JobResult result = m_engine->wait(m_engine->submit(spec).id);
    EXPECT_EQ(result.status, JobStatus::Failed);
    EXPECT_EQ(result.error.code, ErrorCode::InvalidConfig);
    EXPECT_NE(result.error.message.find("steps must be between 1 and"), std::string::npos);
    EXPECT_EQ(result.runId, 0);
}

TEST_F(EngineTest, FailureDuringTheJobIsRecordedOnItsRun)
{
    DemoJobSpec spec = quickDemo(10);
    spec.failAtStep = 4;
    const JobResult result = m_engine->wait(m_engine->submit(spec).id);
    ASSERT_EQ(result.status, JobStatus::Failed);
    const RunDetail run = storedRun(result.runId);
    EXPECT_EQ(run.summary.status, RunStatus::Failed);
    EXPECT_NE(run.summary.error.message.find("step 4"), std::string::npos);
    auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    EXPECT_EQ(store->metrics(result.runId, "train/loss")->size(), 3U); // steps 1-3 were kept
    // The run's own log ends with its outcome and the reason.
    std::ifstream log(run.runDir / "run.log");
    std::string line;
    std::string lastLine;
    while (std::getline(log, line)) {
        lastLine = line;
    }
    EXPECT_NE(lastLine.find("error: run failed: " + run.summary.error.message), std::string::npos)
        << lastLine;
}

TEST_F(EngineTest, CancelledDemoIsRecordedAsCancelled)
{
    CountingObserver observer;
    const ObserverRegistration registration = m_engine->addObserver(observer);
    DemoJobSpec spec = quickDemo(100000);
    spec.stepDelayMs = 2;
    const JobId id = m_engine->submit(spec).id;
    for (int i = 0; i < 2000 && observer.lastProgress().step < 3; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_GE(observer.lastProgress().step, 3);
    ASSERT_TRUE(m_engine->requestCancel(id));

    const auto result = m_engine->waitFor(id, 10s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->status, JobStatus::Cancelled);
    EXPECT_EQ(storedRun(result->runId).summary.status, RunStatus::Cancelled);
    EXPECT_EQ(observer.lastProgress().runId, result->runId);
}

TEST_F(EngineTest, ObserverGetsNoEventsAfterItsRegistrationIsGone)
{
    CountingObserver observer;
    {
        const ObserverRegistration registration = m_engine->addObserver(observer);
        (void)m_engine->wait(m_engine->submit(quickDemo(5)).id);
    }
    const int seen = observer.count();
    EXPECT_GE(seen, 3); // started, progress, ..., finished
    (void)m_engine->wait(m_engine->submit(quickDemo(5)).id);
    EXPECT_EQ(observer.count(), seen);
}

TEST_F(EngineTest, DestroyingTheEngineWithAJobRunningStopsAndRecordsIt)
{
    CountingObserver observer;
    RunId runId = 0;
    {
        const ObserverRegistration registration = m_engine->addObserver(observer);
        DemoJobSpec spec = quickDemo(100000);
        spec.stepDelayMs = 2;
        m_engine->submit(spec);
        for (int i = 0; i < 2000 && observer.lastProgress().step < 2; ++i) {
            std::this_thread::sleep_for(5ms);
        }
        runId = observer.lastProgress().runId;
    }
    ASSERT_GT(runId, 0);
    m_engine.reset();
    EXPECT_EQ(storedRun(runId).summary.status, RunStatus::Cancelled);
}

TEST_F(EngineTest, EngineRefusesADatabaseOfANewerSchema)
{
    m_engine.reset();
    storage::Database::open(m_dbPath, StoreMode::ReadWrite)
        .setUserVersion(storage::latestSchemaVersion() + 1);

    const auto engine = Engine::create(EngineOptions{m_dbPath, 0});
    ASSERT_FALSE(engine.hasValue());
    EXPECT_EQ(engine.error().code, ErrorCode::Storage);
    EXPECT_NE(engine.error().message.find("newer than this FTW build supports"), std::string::npos)
        << engine.error().message;
}

TEST_F(EngineTest, DevicesAlwaysListTheCpuFirst)
{
    const std::vector<DeviceInfo> devices = m_engine->devices();
    ASSERT_FALSE(devices.empty());
    EXPECT_EQ(devices.front().name, "cpu");
    EXPECT_FALSE(devices.front().isCuda);
    // The CPU's memory is the machine's: MemTotal of /proc/meminfo (in kB), which the kernel
    // reports a little below the physical pages sysconf counts.
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::int64_t kilobytes = 0;
    ASSERT_TRUE(meminfo >> key >> kilobytes);
    ASSERT_EQ(key, "MemTotal:");
    EXPECT_NEAR(static_cast<double>(devices.front().totalMemoryBytes),
                static_cast<double>(kilobytes) * 1024.0,
                0.02 * static_cast<double>(kilobytes) * 1024.0);
    EXPECT_FALSE(Engine::torchVersion().empty());
}

} // namespace
} // namespace ftw
