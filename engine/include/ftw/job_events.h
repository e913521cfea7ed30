// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/job.h>
#include <ftw/log.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <variant>

namespace ftw {

/// The job left the queue and began to run.
struct JobStarted {
    JobId jobId = 0;
    JobKind kind = JobKind::Unknown;
    std::string name;
};

/// Progress of a running job, sent at most about 10 times a second and always for the last step.
/// Quantities a job does not have are NaN.
struct JobProgress {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

    JobId jobId = 0;
    RunId runId = 0;       ///< the run this job records, 0 when none
    std::int64_t step = 0; ///< steps done so far
    std::int64_t totalSteps = 0;
    double epoch = kNone;
    double loss = kNone;
    double learningRate = kNone;
    double gradNorm = kNone;
    double tokensPerSecond = kNone;
    double etaSeconds = kNone;
    /// Bytes the job holds on its CUDA device (NaN on the CPU or when unknown).
    double deviceMemoryBytes = kNone;
    /// The resident memory of the engine's process in bytes (filled in for every progress event).
    double hostMemoryBytes = kNone;
};

/// A log line produced by a job (what the run log shows).
struct JobLog {
    JobId jobId = 0;
    LogLevel level = LogLevel::Info;
    std::string message;
};

/// The job ended; this is always the last event of a job.
struct JobFinished {
    JobId jobId = 0;
    JobResult result;
};

using JobEvent = std::variant<JobStarted, JobProgress, JobLog, JobFinished>;

/// Receives job events. NOTE: onEvent() is called on the engine thread, one event at a time, in
/// order; it must return quickly and must not call back into the Engine (doing so deadlocks).
class JobObserver {
public:
    JobObserver() = default;
    JobObserver(const JobObserver&) = delete;
    JobObserver& operator=(const JobObserver&) = delete;
    virtual ~JobObserver() = default;

    virtual void onEvent(const JobEvent& event) = 0;
};

/// Keeps an observer registered; destroying it unregisters the observer and waits for a call in
/// progress to return, so the observer is never called after this token is gone. Move-only.
class ObserverRegistration {
public:
    ObserverRegistration() = default;
    explicit ObserverRegistration(std::function<void()> unregister);
    ObserverRegistration(ObserverRegistration&& other) noexcept;
    ObserverRegistration& operator=(ObserverRegistration&& other) noexcept;
    ObserverRegistration(const ObserverRegistration&) = delete;
    ObserverRegistration& operator=(const ObserverRegistration&) = delete;
    ~ObserverRegistration();

    /// Unregisters now; idempotent.
    void reset();

private:
    std::function<void()> m_unregister;
};

} // namespace ftw
