// SPDX-License-Identifier: MIT
#pragma once

#include "job_context.h"

#include <ftw/job.h>
#include <ftw/job_events.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>

namespace ftw::jobs {

/// A unit of work for the engine thread. `run` throws to fail and ftw::Cancelled to stop.
struct Job {
    JobKind kind = JobKind::Unknown;
    std::string name;
    std::function<void(JobContext&)> run;
};

/// The engine thread and its queue: runs jobs one at a time in submission order. Thread-safe.
/// Events go to `sink` on the engine thread, except the Finished event of a job cancelled while
/// still queued, which goes out on the thread that cancelled it.
class JobRunner {
public:
    /// Runs `job` in `context`, turning every exception into a result (the one place that does;
    /// a job that runs others, the sweep, uses it for each). Does not record the outcome.
    [[nodiscard]] static JobResult runGuarded(Job& job, JobContext& context);

    JobRunner(std::filesystem::path databasePath, EventSink sink);
    /// Cancels every queued and running job, then joins the engine thread.
    ~JobRunner();
    JobRunner(const JobRunner&) = delete;
    JobRunner& operator=(const JobRunner&) = delete;

    JobId submit(Job job);
    /// Returns false when the id is unknown or the job has already finished.
    bool requestCancel(JobId id);
    /// Pauses (at the job's next cancellation point) or resumes a queued or running job. Returns
    /// false when the id is unknown, the job has finished, or it already was in that state.
    bool setPaused(JobId id, bool isPaused);
    [[nodiscard]] bool isPaused(JobId id) const;
    [[nodiscard]] JobStatus status(JobId id) const;
    /// Waits until the job finishes; std::nullopt when `timeout` passes first. An unknown id gives
    /// a result with status Unknown at once.
    std::optional<JobResult> waitFor(JobId id, std::optional<std::chrono::milliseconds> timeout);

private:
    struct Entry {
        Job job;
        std::stop_source stop;
        std::shared_ptr<PauseGate> pause = std::make_shared<PauseGate>();
        JobStatus status = JobStatus::Queued;
        JobResult result;
    };

    void threadMain(std::stop_token threadStop);
    void finish(JobId id, const JobResult& result);

    std::filesystem::path m_databasePath;
    EventSink m_sink;
    mutable std::mutex m_mutex; // guards m_queue, m_jobs and m_nextId
    std::condition_variable_any m_queueChanged;
    std::condition_variable m_jobFinished;
    std::deque<JobId> m_queue;
    std::unordered_map<JobId, Entry> m_jobs;
    JobId m_nextId = 1;
    std::jthread m_thread; // last: starts after, and is joined before, the members above
};

} // namespace ftw::jobs
