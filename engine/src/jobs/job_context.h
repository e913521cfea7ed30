// SPDX-License-Identifier: MIT
#pragma once

#include "storage/database.h"
#include "storage/run_repository.h"

#include <ftw/job_events.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace ftw::jobs {

using EventSink = std::function<void(const JobEvent&)>;

/// Pauses a job at its next cancellation point until resumed or cancelled. Shared by the runner
/// (which sets it from any thread) and the job's context (which waits on it). Thread-safe.
class PauseGate {
public:
    /// Returns true when the state changed.
    bool setPaused(bool isPaused);
    [[nodiscard]] bool isPaused() const;
    /// Blocks while paused; returns false at once when not paused, true after a pause ended
    /// (resumed or `stop` requested).
    bool waitWhilePaused(const std::stop_token& stop);

private:
    mutable std::mutex m_mutex;
    std::condition_variable_any m_changed;
    bool m_isPaused = false;
};

/// What a running job sees of the engine: its stop token, the store, and the event channel.
/// Lives on the engine thread for the duration of one job; not shared with other threads.
class JobContext {
public:
    JobContext(JobId id, std::stop_token stop, const EventSink& sink,
               std::filesystem::path databasePath, std::shared_ptr<PauseGate> pause = nullptr);
    JobContext(const JobContext&) = delete;
    JobContext& operator=(const JobContext&) = delete;
    ~JobContext();

    [[nodiscard]] JobId id() const { return m_id; }
    [[nodiscard]] bool isCancelRequested() const { return m_stop.stop_requested(); }
    /// Throws ftw::Cancelled when cancellation was requested. This is also where a job pauses:
    /// while the job is paused it blocks here (logging the pause and the resume), then checks
    /// cancellation.
    void throwIfCancelled();
    /// Waits up to `duration`, waking at once (and throwing ftw::Cancelled) when cancelled.
    void sleepFor(std::chrono::milliseconds duration);

    /// The engine's write connection, opened on first use on this thread.
    storage::Database& database();

    /// Creates the run this job records: its row (status running, in the group of
    /// setGroupId() when the NewRun names none), its folder with a copy of the config and its log
    /// file. A context creates at most one run.
    RunId createRun(const storage::NewRun& run);
    /// A context for one member of a job that runs several (the sweep): the same job, stop token,
    /// events, pause and store, its own run in group `groupId`.
    [[nodiscard]] std::unique_ptr<JobContext> memberContext(std::int64_t groupId) const;
    /// A context for work a job does out of the user's sight (the bench): the same job, stop
    /// token, events and pause, its runs in the store at `databasePath` (created if needed).
    [[nodiscard]] std::unique_ptr<JobContext>
    scratchContext(const std::filesystem::path& databasePath) const;
    /// Replaces the run's config (JSON text): its row, its flattened parameters (for config
    /// diffs) and the copy in its folder.
    void setRunConfig(const std::string& configJson);
    /// Continues an existing run (resume): sets it running again in this process and opens its
    /// log for appending.
    void adoptRun(RunId id);
    [[nodiscard]] RunId runId() const { return m_runId; }
    /// The folder of this job's run (empty before createRun/adoptRun).
    [[nodiscard]] std::filesystem::path runDir() const;
    [[nodiscard]] const std::filesystem::path& databasePath() const { return m_databasePath; }
    void setTrainableParams(std::int64_t trainable, std::int64_t total);

    /// Buffers a metric value; written to the store in batches and when the job ends.
    void recordMetric(std::string name, const MetricPoint& point);
    void flushMetrics();

    /// Sends progress, at most about 10 times a second (the last step and the first always go).
    void reportProgress(JobProgress progress);
    /// Sends a log line as a JobLog event and appends it to the run's log file.
    void log(LogLevel level, const std::string& message);

    /// What the job produced, as JSON text; becomes JobResult::outputJson.
    void setOutputJson(std::string json) { m_outputJson = std::move(json); }
    [[nodiscard]] const std::string& outputJson() const { return m_outputJson; }

    /// Records how the job ended on its run (no-op without a run). Called by the job runner.
    void recordOutcome(const JobResult& result);

private:
    JobId m_id;
    std::stop_token m_stop;
    const EventSink& m_sink;
    std::shared_ptr<PauseGate> m_pause; // may be null: never paused
    std::filesystem::path m_databasePath;
    std::optional<storage::Database> m_db;
    RunId m_runId = 0;
    std::optional<std::int64_t> m_groupId;
    std::ofstream m_runLog;
    std::vector<storage::MetricRow> m_pendingMetrics;
    std::string m_outputJson = "{}";
    std::optional<std::chrono::steady_clock::time_point> m_lastProgressAt;
};

} // namespace ftw::jobs
