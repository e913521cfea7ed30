// SPDX-License-Identifier: MIT
// The real `ftw train` process killed with SIGKILL mid-run: the store opens, the run is marked
// interrupted, and `ftw resume` finishes it from its last checkpoint (label slow).
#include "cli_fixture.h"

#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace ftw::cli {
namespace {

class KillResumeTest : public CliTest {};

TEST_F(KillResumeTest, AKilledTrainingIsInterruptedAndResumesFromItsLastCheckpoint)
{
    const std::string model = (m_dir / "model").string();
    const std::string data = (m_dir / "data.jsonl").string();
    ASSERT_EQ(ftw({"make-tiny-model", model, "--arch", "llama"}).exitCode, 0);
    {
        std::ofstream out(data);
        for (int i = 0; i < 16; ++i) {
            out << R"({"prompt": ")" << i << R"( times 2 is", "completion": " )" << 2 * i
                << R"(."})" << '\n';
        }
    }
    constexpr int kSteps = 600;
    std::vector<std::string> args = {FTW_BINARY,     "train", "--model", model,
                                     "--data",       data,    "--steps", std::to_string(kSteps),
                                     "--save-every", "5",     "--db",    db()};
    std::vector<char*> argv;
    for (std::string& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    pid_t child = 0;
    posix_spawn_file_actions_t quiet;
    ::posix_spawn_file_actions_init(&quiet);
    ::posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const int spawned = ::posix_spawn(&child, FTW_BINARY, &quiet, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&quiet);
    ASSERT_EQ(spawned, 0);

    // Wait for a checkpoint, then kill the process without warning.
    std::int64_t checkpointStep = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (checkpointStep == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (!std::filesystem::exists(db())) {
            continue;
        }
        auto store = RunStore::open(db(), StoreMode::ReadOnly);
        if (store) {
            if (auto checkpoints = store->checkpoints(1); checkpoints && !checkpoints->empty()) {
                checkpointStep = checkpoints->back().step;
            }
        }
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
    ASSERT_GT(checkpointStep, 0) << "no checkpoint was written within 60 s";

    // Opening the store read-write marks the run interrupted.
    const CliOutcome shown = ftw({"runs", "show", "1", "--db", db(), "--json"});
    ASSERT_EQ(shown.exitCode, 0) << shown.err;
    const nlohmann::json run = nlohmann::json::parse(shown.out);
    EXPECT_EQ(run["status"], "interrupted");

    const CliOutcome resumed = ftw({"resume", "1", "--db", db(), "--json"});
    ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
    EXPECT_EQ(nlohmann::json::parse(resumed.out)["output"]["steps"], kSteps);

    auto store = RunStore::open(db(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    EXPECT_EQ(store->run(1)->summary.status, RunStatus::Succeeded);
    const std::vector<MetricPoint> loss = *store->metrics(1, "train/loss");
    ASSERT_EQ(loss.size(), static_cast<std::size_t>(kSteps)) << "each step recorded once";
    for (std::size_t i = 0; i < loss.size(); ++i) {
        ASSERT_EQ(loss[i].step, static_cast<std::int64_t>(i + 1));
    }
    const std::vector<RunEvent> events = *store->events(1);
    ASSERT_GE(events.size(), 2U);
    EXPECT_EQ(events[0].kind, "interrupted");
    EXPECT_EQ(events[1].kind, "resume");
    EXPECT_GE(events[1].step.value_or(0), checkpointStep);
}

} // namespace
} // namespace ftw::cli
