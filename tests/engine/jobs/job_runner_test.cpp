// SPDX-License-Identifier: MIT
#include "jobs/job_runner.h"

#include "core/cpu_allocator.h"

#include "support/temp_dir.h"

#include <ftw/run_store.h>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ftw::jobs {
namespace {

using namespace std::chrono_literals;

/// Collects every event the runner sends, from whichever thread sends it.
class EventLog {
public:
    EventSink sink()
    {
        return [this](const JobEvent& event) {
            const std::lock_guard lock(m_mutex);
            m_events.push_back(event);
        };
    }
    std::vector<JobEvent> events() const
    {
        const std::lock_guard lock(m_mutex);
        return m_events;
    }

private:
    mutable std::mutex m_mutex;
    std::vector<JobEvent> m_events;
};

Job makeJob(std::string name, std::function<void(JobContext&)> run)
{
    return Job{JobKind::Demo, std::move(name), std::move(run)};
}

/// A job that runs until it is cancelled, checking its token every few milliseconds.
Job untilCancelled(std::atomic<bool>& hasStarted)
{
    return makeJob("loop", [&hasStarted](JobContext& ctx) {
        hasStarted = true;
        while (true) {
            ctx.sleepFor(5ms);
        }
    });
}

void waitUntil(const std::function<bool()>& condition)
{
    for (int i = 0; i < 2000 && !condition(); ++i) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(condition()) << "timed out waiting";
}

class JobRunnerTest : public ::testing::Test {
protected:
    RunStore readStore()
    {
        return std::move(RunStore::open(m_dbPath, StoreMode::ReadOnly).value());
    }

    test::TempDir m_dir;
    std::filesystem::path m_dbPath = m_dir / "ftw.db";
    EventLog m_log;
};

TEST_F(JobRunnerTest, JobsRunOneAtATimeInSubmissionOrder)
{
    std::vector<int> order; // touched by the engine thread only
    std::atomic<int> running{0};
    std::atomic<int> maxRunning{0};
    std::vector<JobId> ids;
    {
        JobRunner runner(m_dbPath, m_log.sink());
        for (int i = 0; i < 5; ++i) {
            ids.push_back(runner.submit(makeJob("job", [&, i](JobContext&) {
                maxRunning = std::max(maxRunning.load(), ++running);
                std::this_thread::sleep_for(5ms);
                order.push_back(i);
                --running;
            })));
        }
        for (const JobId id : ids) {
            EXPECT_EQ(runner.waitFor(id, std::nullopt)->status, JobStatus::Succeeded);
        }
    }
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(maxRunning.load(), 1);
}

TEST_F(JobRunnerTest, EventsGoStartedProgressLogFinished)
{
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId id = runner.submit(makeJob("events", [](JobContext& ctx) {
        JobProgress progress;
        progress.step = 1;
        progress.totalSteps = 1;
        ctx.reportProgress(progress);
        ctx.log(LogLevel::Info, "hello");
    }));
    ASSERT_EQ(runner.waitFor(id, std::nullopt)->status, JobStatus::Succeeded);

    const std::vector<JobEvent> events = m_log.events();
    ASSERT_EQ(events.size(), 4U);
    EXPECT_EQ(std::get<JobStarted>(events[0]).name, "events");
    EXPECT_EQ(std::get<JobProgress>(events[1]).jobId, id);
    // The process's resident memory rides along; compare with VmRSS of /proc/self/status.
    std::ifstream status("/proc/self/status");
    std::string line;
    double vmRssBytes = 0.0;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            vmRssBytes = std::stod(line.substr(6)) * 1024.0; // "VmRSS:   123456 kB"
        }
    }
    const double host = std::get<JobProgress>(events[1]).hostMemoryBytes;
    EXPECT_GT(host, 0.5 * vmRssBytes);
    EXPECT_LT(host, 2.0 * vmRssBytes);
    EXPECT_TRUE(std::isnan(std::get<JobProgress>(events[1]).deviceMemoryBytes));
    EXPECT_EQ(std::get<JobLog>(events[2]).message, "hello");
    EXPECT_EQ(std::get<JobFinished>(events[3]).result.status, JobStatus::Succeeded);
}

TEST_F(JobRunnerTest, ProgressIsThrottledButTheLastStepAlwaysArrives)
{
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId id = runner.submit(makeJob("fast", [](JobContext& ctx) {
        for (int step = 1; step <= 1000; ++step) {
            JobProgress progress;
            progress.step = step;
            progress.totalSteps = 1000;
            ctx.reportProgress(progress);
        }
    }));
    ASSERT_EQ(runner.waitFor(id, std::nullopt)->status, JobStatus::Succeeded);

    std::vector<std::int64_t> steps;
    for (const JobEvent& event : m_log.events()) {
        if (const auto* p = std::get_if<JobProgress>(&event)) {
            steps.push_back(p->step);
        }
    }
    ASSERT_FALSE(steps.empty());
    EXPECT_LT(steps.size(), 50U); // 1000 steps in well under 5 s: at ~10 Hz only a few are sent
    EXPECT_EQ(steps.front(), 1);
    EXPECT_EQ(steps.back(), 1000);
}

TEST_F(JobRunnerTest, CancellingAQueuedJobMeansItNeverRuns)
{
    std::latch release(1);
    std::atomic<bool> didSecondRun{false};
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId first = runner.submit(makeJob("blocker", [&](JobContext&) { release.wait(); }));
    const JobId second =
        runner.submit(makeJob("queued", [&](JobContext&) { didSecondRun = true; }));

    EXPECT_EQ(runner.status(second), JobStatus::Queued);
    EXPECT_TRUE(runner.requestCancel(second));
    EXPECT_EQ(runner.status(second), JobStatus::Cancelled);
    release.count_down();

    EXPECT_EQ(runner.waitFor(first, std::nullopt)->status, JobStatus::Succeeded);
    EXPECT_EQ(runner.waitFor(second, std::nullopt)->status, JobStatus::Cancelled);
    EXPECT_FALSE(didSecondRun.load());
    EXPECT_FALSE(runner.requestCancel(second)); // already finished
}

TEST_F(JobRunnerTest, CancellingARunningJobStopsItAndRecordsItsRunAsCancelled)
{
    std::atomic<bool> hasStarted{false};
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId id = runner.submit(makeJob("loop", [&](JobContext& ctx) {
        ctx.createRun(
            storage::NewRun{"cancel-me", "demo", "", "", "", "{}", std::nullopt, std::nullopt});
        hasStarted = true;
        while (true) {
            ctx.sleepFor(5ms);
        }
    }));
    waitUntil([&] { return hasStarted.load(); });
    EXPECT_EQ(runner.status(id), JobStatus::Running);
    ASSERT_TRUE(runner.requestCancel(id));

    const auto result = runner.waitFor(id, 10s);
    ASSERT_TRUE(result.has_value()) << "the job did not stop";
    EXPECT_EQ(result->status, JobStatus::Cancelled);
    EXPECT_FALSE(result->error.isError());
    const auto run = readStore().run(result->runId);
    ASSERT_TRUE(run.hasValue());
    EXPECT_EQ(run->summary.status, RunStatus::Cancelled);
}

TEST_F(JobRunnerTest, APausedJobMakesNoProgressUntilResumedAndLogsBoth)
{
    std::atomic<int> steps{0};
    std::atomic<bool> isFinishing{false};
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId id = runner.submit(makeJob("steps", [&](JobContext& ctx) {
        while (!isFinishing) {
            ctx.throwIfCancelled();
            ++steps;
            std::this_thread::sleep_for(1ms);
        }
    }));
    waitUntil([&] { return steps.load() > 3; });
    ASSERT_TRUE(runner.setPaused(id, true));
    EXPECT_FALSE(runner.setPaused(id, true)) << "already paused";
    EXPECT_TRUE(runner.isPaused(id));
    std::this_thread::sleep_for(50ms); // lets the job reach its next check and stop there
    const int atPause = steps.load();
    std::this_thread::sleep_for(150ms);
    EXPECT_EQ(steps.load(), atPause) << "the job went on while paused";
    EXPECT_EQ(runner.status(id), JobStatus::Running);

    ASSERT_TRUE(runner.setPaused(id, false));
    waitUntil([&] { return steps.load() > atPause + 3; });
    isFinishing = true;
    ASSERT_TRUE(runner.waitFor(id, 10s).has_value());
    EXPECT_FALSE(runner.isPaused(id));
    EXPECT_FALSE(runner.setPaused(id, true)) << "a finished job cannot be paused";

    std::vector<std::string> lines;
    for (const JobEvent& event : m_log.events()) {
        if (const auto* log = std::get_if<JobLog>(&event)) {
            lines.push_back(log->message);
        }
    }
    EXPECT_EQ(lines, (std::vector<std::string>{"paused; resume to go on", "resumed"}));
}

TEST_F(JobRunnerTest, CancellingAPausedJobStopsIt)
{
    std::atomic<bool> hasStarted{false};
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId id = runner.submit(untilCancelled(hasStarted));
    waitUntil([&] { return hasStarted.load(); });
    ASSERT_TRUE(runner.setPaused(id, true));
    std::this_thread::sleep_for(30ms);
    ASSERT_TRUE(runner.requestCancel(id));
    const auto result = runner.waitFor(id, 10s);
    ASSERT_TRUE(result.has_value()) << "the paused job did not stop";
    EXPECT_EQ(result->status, JobStatus::Cancelled);
}

struct ThrowCase {
    std::string name;
    std::function<void()> doThrow;
    JobStatus status;
    ErrorCode code;
    std::string messagePart;
};

void PrintTo(const ThrowCase& c, std::ostream* os)
{
    *os << c.name;
}

class JobBoundaryTest : public JobRunnerTest, public ::testing::WithParamInterface<ThrowCase> {};

TEST_P(JobBoundaryTest, EveryExceptionBecomesAResultAndTheRunnerGoesOn)
{
    const ThrowCase& c = GetParam();
    JobRunner runner(m_dbPath, m_log.sink());
    const JobId failing = runner.submit(makeJob("throws", [&c](JobContext& ctx) {
        ctx.createRun(
            storage::NewRun{"throws", "demo", "", "", "", "{}", std::nullopt, std::nullopt});
        c.doThrow();
    }));
    const JobId next = runner.submit(makeJob("after", [](JobContext&) {}));

    const JobResult result = *runner.waitFor(failing, std::nullopt);
    EXPECT_EQ(result.status, c.status);
    EXPECT_EQ(result.error.code, c.code);
    EXPECT_NE(result.error.message.find(c.messagePart), std::string::npos) << result.error.message;
    EXPECT_EQ(runner.waitFor(next, std::nullopt)->status, JobStatus::Succeeded);

    const auto run = readStore().run(result.runId);
    ASSERT_TRUE(run.hasValue());
    EXPECT_EQ(run->summary.status, RunStatus::Failed);
    EXPECT_EQ(run->summary.error.code, c.code);
    EXPECT_EQ(run->summary.error.message, result.error.message);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, JobBoundaryTest,
    ::testing::Values(ThrowCase{"FtwError",
                                [] { throw Error(ErrorCode::ModelFormat, "bad tensor 'w'"); },
                                JobStatus::Failed, ErrorCode::ModelFormat, "bad tensor 'w'"},
                      ThrowCase{"TorchError",
                                [] { TORCH_CHECK(false, "shape mismatch in matmul"); },
                                JobStatus::Failed, ErrorCode::Internal, "shape mismatch in matmul"},
                      ThrowCase{"StdException", [] { throw std::runtime_error("plain failure"); },
                                JobStatus::Failed, ErrorCode::Internal, "plain failure"},
                      ThrowCase{"BadAlloc", [] { throw std::bad_alloc(); }, JobStatus::Failed,
                                ErrorCode::OutOfMemory, "lower the batch size"},
                      ThrowCase{"NotAnException", [] { throw 42; }, JobStatus::Failed,
                                ErrorCode::Internal, "unknown exception"}),
    [](const ::testing::TestParamInfo<ThrowCase>& param) { return param.param.name; });

TEST_F(JobRunnerTest, DestroyingTheRunnerCancelsTheRunningAndQueuedJobs)
{
    std::atomic<bool> hasStarted{false};
    std::atomic<bool> didQueuedRun{false};
    {
        JobRunner runner(m_dbPath, m_log.sink());
        runner.submit(untilCancelled(hasStarted));
        runner.submit(makeJob("queued", [&](JobContext&) { didQueuedRun = true; }));
        waitUntil([&] { return hasStarted.load(); });
    } // joins: must not hang
    EXPECT_FALSE(didQueuedRun.load());
    int cancelled = 0;
    for (const JobEvent& event : m_log.events()) {
        if (const auto* f = std::get_if<JobFinished>(&event)) {
            EXPECT_EQ(f->result.status, JobStatus::Cancelled);
            ++cancelled;
        }
    }
    EXPECT_EQ(cancelled, 2);
}

TEST_F(JobRunnerTest, MemoryAJobFreedIsReleasedBeforeTheNextJob)
{
    if (!core::installCachingCpuAllocator()) {
        GTEST_SKIP() << "FTW_CPU_CACHE_MIB=0: the caching allocator is off";
    }
    std::int64_t cachedInJob = 0;
    {
        JobRunner runner(m_dbPath, m_log.sink());
        const JobId id = runner.submit(makeJob("allocates", [&](JobContext&) {
            {
                const at::Tensor big = at::ones({std::int64_t{4} << 20U}, at::kFloat);
            }
            cachedInJob = core::cpuCacheStats().cachedBytes;
        }));
        EXPECT_EQ(runner.waitFor(id, std::nullopt)->status, JobStatus::Succeeded);
        EXPECT_EQ(core::cpuCacheStats().cachedBytes, 0);
    }
    EXPECT_GE(cachedInJob, std::int64_t{16} << 20U); // the 16 MiB tensor was kept for reuse
}

TEST_F(JobRunnerTest, ARunNeverWritesIntoAnotherStoresRunFolder)
{
    // Two stores in one folder number their runs alike: run 1 of the second would have gone to
    // the first store's runs/1 and overwritten its files.
    const auto runOnce = [this](const std::filesystem::path& db, const std::string& configJson) {
        JobRunner runner(db, m_log.sink());
        const JobId id = runner.submit(makeJob("writes", [configJson](JobContext& ctx) {
            ctx.createRun(storage::NewRun{"writes", "demo", "", "", "", configJson, std::nullopt,
                                          std::nullopt});
            std::ofstream(ctx.runDir() / "adapter.bin") << "weights of " << configJson;
        }));
        return *runner.waitFor(id, std::nullopt);
    };
    const JobResult first = runOnce(m_dbPath, R"({"store":"first"})");
    ASSERT_EQ(first.status, JobStatus::Succeeded);
    const std::filesystem::path folder = m_dir / "runs" / "1";
    const auto read = [](const std::filesystem::path& file) {
        std::ifstream in(file);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string config = read(folder / "config.json");
    const std::string adapter = read(folder / "adapter.bin");
    const std::string log = read(folder / "run.log");
    ASSERT_EQ(adapter, R"(weights of {"store":"first"})");

    const std::filesystem::path other = m_dir / "other.db";
    const JobResult second = runOnce(other, R"({"store":"second"})");
    EXPECT_EQ(second.status, JobStatus::Failed);
    EXPECT_EQ(second.error.code, ErrorCode::Io);
    EXPECT_NE(second.error.message.find(folder.string()), std::string::npos)
        << second.error.message;
    EXPECT_NE(second.error.message.find("already holds another run's files"), std::string::npos)
        << second.error.message;
    EXPECT_EQ(read(folder / "config.json"), config);
    EXPECT_EQ(read(folder / "adapter.bin"), adapter);
    EXPECT_EQ(read(folder / "run.log"), log);

    // The second store records its run as failed, with the reason.
    const auto otherStore = RunStore::open(other, StoreMode::ReadOnly);
    ASSERT_TRUE(otherStore.hasValue());
    const auto run = otherStore->run(second.runId);
    ASSERT_TRUE(run.hasValue());
    EXPECT_EQ(run->summary.status, RunStatus::Failed);
    EXPECT_EQ(run->summary.error.message, second.error.message);
}

TEST_F(JobRunnerTest, UnknownJobIdHasUnknownStatus)
{
    JobRunner runner(m_dbPath, m_log.sink());
    EXPECT_EQ(runner.status(12345), JobStatus::Unknown);
    EXPECT_FALSE(runner.requestCancel(12345));
    EXPECT_EQ(runner.waitFor(12345, 1ms)->status, JobStatus::Unknown);
}

} // namespace
} // namespace ftw::jobs
