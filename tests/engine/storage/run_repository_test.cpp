// SPDX-License-Identifier: MIT
#include "storage/database.h"
#include "storage/run_repository.h"
#include "storage/statement.h"
#include "storage/store.h"

#include "core/process.h"
#include "support/dead_process.h"
#include "support/temp_dir.h"

#include <ftw/run_store.h>

#include <gtest/gtest.h>

#include <cstdlib>

namespace ftw::storage {
namespace {

class RunRepositoryTest : public ::testing::Test {
protected:
    RunId createRun(const std::string& name)
    {
        RunRepository repo(m_db);
        return repo.createRun(NewRun{name, "demo", "lora", "/models/tiny", "/data/d.jsonl",
                                     R"({"rank": 8})", 42, std::nullopt});
    }

    void setOwner(RunId id, std::int64_t pid, const std::string& host)
    {
        m_db.prepare("UPDATE runs SET owner_pid = ?, owner_host = ? WHERE id = ?")
            .bindAll(pid, host, id)
            .run();
    }

    RunSummary summaryOf(RunId id)
    {
        const auto detail = RunRepository(m_db).findRun(id);
        EXPECT_TRUE(detail.has_value());
        return detail ? detail->summary : RunSummary{};
    }

    test::TempDir m_dir;
    std::filesystem::path m_dbPath = m_dir / "ftw.db";
    Database m_db = openStore(m_dbPath, StoreMode::ReadWrite);
};

TEST_F(RunRepositoryTest, CreatedRunIsRunningWithEveryField)
{
    const RunId id = createRun("first");
    const auto detail = RunRepository(m_db).findRun(id);

    ASSERT_TRUE(detail.has_value());
    EXPECT_EQ(detail->summary.name, "first");
    EXPECT_EQ(detail->summary.status, RunStatus::Running);
    EXPECT_EQ(detail->summary.method, "lora");
    EXPECT_EQ(detail->summary.model, "/models/tiny");
    EXPECT_EQ(detail->configJson, R"({"rank": 8})");
    EXPECT_EQ(detail->seed, 42);
    EXPECT_EQ(detail->runDir, m_dir.path() / "runs" / std::to_string(id));
    EXPECT_TRUE(detail->summary.startedAtMs.has_value());
    EXPECT_FALSE(detail->summary.finishedAtMs.has_value());
}

TEST_F(RunRepositoryTest, RunsAreListedNewestFirst)
{
    const RunId a = createRun("a");
    const RunId b = createRun("b");
    const std::vector<RunSummary> runs = RunRepository(m_db).listRuns();
    ASSERT_EQ(runs.size(), 2U);
    EXPECT_EQ(runs[0].id, b);
    EXPECT_EQ(runs[1].id, a);
}

TEST_F(RunRepositoryTest, FinishRecordsStatusErrorAndTime)
{
    const RunId id = createRun("fails");
    RunRepository(m_db).finishRun(
        id, RunStatus::Failed,
        ErrorInfo{ErrorCode::ModelFormat, "bad header in x.safetensors", {}});
    const RunSummary run = summaryOf(id);
    EXPECT_EQ(run.status, RunStatus::Failed);
    EXPECT_EQ(run.error.code, ErrorCode::ModelFormat);
    EXPECT_EQ(run.error.message, "bad header in x.safetensors");
    ASSERT_TRUE(run.finishedAtMs.has_value());
    EXPECT_GE(*run.finishedAtMs, *run.startedAtMs);
}

TEST_F(RunRepositoryTest, MetricsComeBackInStepOrderAndGiveTheLastLoss)
{
    const RunId id = createRun("metrics");
    const std::vector<MetricRow> rows{
        {"train/loss", {2, 0.2, 20, 200, 1.5}},
        {"train/loss", {1, 0.1, 10, 100, 2.5}},
        {"train/loss", {3, 0.3, 30, 300, 0.5}},
        {"train/learning_rate", {1, 0.1, 10, 100, 1e-4}},
    };
    RunRepository(m_db).appendMetrics(id, rows);

    const std::vector<MetricPoint> loss = RunRepository(m_db).metrics(id, "train/loss");
    ASSERT_EQ(loss.size(), 3U);
    EXPECT_EQ(loss[0].step, 1);
    EXPECT_DOUBLE_EQ(loss[0].value, 2.5);
    EXPECT_EQ(loss[2].step, 3);
    EXPECT_EQ(loss[2].tokens, 30);
    EXPECT_EQ(loss[2].wallTimeMs, 300);
    EXPECT_EQ(summaryOf(id).lastLoss, 0.5);

    const auto detail = RunRepository(m_db).findRun(id);
    EXPECT_EQ(detail->metricCount, 4);
    EXPECT_EQ(detail->metricNames, (std::vector<std::string>{"train/learning_rate", "train/loss"}));
}

TEST_F(RunRepositoryTest, RunOfADeadProcessIsMarkedInterruptedWhenTheStoreOpens)
{
    const RunId id = createRun("orphan");
    const std::int64_t deadPid = test::deadProcessId();
    setOwner(id, deadPid, core::hostName());

    const auto store = RunStore::open(m_dbPath, StoreMode::ReadWrite);
    ASSERT_TRUE(store.hasValue()) << store.error().message;
    const auto detail = store->run(id);
    ASSERT_TRUE(detail.hasValue());
    EXPECT_EQ(detail->summary.status, RunStatus::Interrupted);
    EXPECT_NE(detail->summary.error.message.find("pid " + std::to_string(deadPid)),
              std::string::npos)
        << detail->summary.error.message;
    Statement events = m_db.prepare("SELECT kind FROM run_events WHERE run_id = ?");
    events.bindAll(id);
    ASSERT_TRUE(events.step());
    EXPECT_EQ(events.columnText(0), "interrupted");
}

TEST_F(RunRepositoryTest, RunOfALiveProcessStaysRunning)
{
    const RunId id = createRun("alive"); // owned by this test process
    EXPECT_EQ(RunRepository(m_db).markInterruptedRuns(), 0);
    EXPECT_EQ(summaryOf(id).status, RunStatus::Running);
}

TEST_F(RunRepositoryTest, RunOwnedByAnotherHostIsLeftAlone)
{
    const RunId id = createRun("remote");
    setOwner(id, test::deadProcessId(), "some-other-host.example");
    EXPECT_EQ(RunRepository(m_db).markInterruptedRuns(), 0);
    EXPECT_EQ(summaryOf(id).status, RunStatus::Running);
}

TEST_F(RunRepositoryTest, FinishedRunsAreNeverMarkedInterrupted)
{
    const RunId id = createRun("done");
    RunRepository(m_db).finishRun(id, RunStatus::Succeeded, {});
    setOwner(id, test::deadProcessId(), core::hostName());
    EXPECT_EQ(RunRepository(m_db).markInterruptedRuns(), 0);
    EXPECT_EQ(summaryOf(id).status, RunStatus::Succeeded);
}

TEST_F(RunRepositoryTest, UnknownRunIsNotFoundWithItsIdInTheMessage)
{
    const auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue()) << store.error().message;
    const auto run = store->run(999);
    ASSERT_FALSE(run.hasValue());
    EXPECT_EQ(run.error().code, ErrorCode::NotFound);
    EXPECT_NE(run.error().message.find("no run with id 999"), std::string::npos);
}

TEST_F(RunRepositoryTest, DatabasePathFollowsFlagThenEnvironmentThenXdg)
{
    ::setenv("FTW_DB", "/tmp/from-env.db", 1);
    EXPECT_EQ(resolveDatabasePath("/tmp/flag.db"), "/tmp/flag.db");
    EXPECT_EQ(resolveDatabasePath({}), "/tmp/from-env.db");
    ::unsetenv("FTW_DB");
    ::setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    EXPECT_EQ(resolveDatabasePath({}), "/tmp/xdg/ftw/ftw.db");
    ::unsetenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    const std::string savedHome = home != nullptr ? home : "";
    ::setenv("HOME", "/home/someone", 1);
    EXPECT_EQ(resolveDatabasePath({}), "/home/someone/.local/share/ftw/ftw.db");
    ::setenv("HOME", savedHome.c_str(), 1);
}

} // namespace
} // namespace ftw::storage
