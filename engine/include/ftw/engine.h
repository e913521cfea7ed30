// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>
#include <ftw/job.h>
#include <ftw/job_events.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftw {

struct EngineOptions {
    std::filesystem::path databasePath; ///< the run store; created and migrated if needed
    int numThreads = 0;                 ///< CPU threads for torch; 0 keeps torch's default
};

/// A compute device the engine can use.
struct DeviceInfo {
    std::string name; ///< "cpu", "cuda:0"
    std::string description;
    bool isCuda = false;
    std::int64_t totalMemoryBytes = 0; ///< 0 when unknown
};

/// The engine facade. One engine thread runs the submitted jobs one at a time, in order.
/// Thread-safe: every method may be called from any thread. No method throws.
class Engine {
public:
    /// Opens the store (creating and migrating it, marking runs of dead processes interrupted) and
    /// starts the engine thread. Returns: Storage when the database cannot be used.
    static Expected<std::unique_ptr<Engine>> create(const EngineOptions& options);

    /// Requests cancellation of every queued and running job, then joins the engine thread.
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Queues a job. Never fails here: an invalid spec gives a job that finishes Failed at once
    /// with an InvalidConfig error, so callers have one code path.
    JobHandle submit(const JobSpec& spec);

    /// Asks a job to stop: a queued job is dropped, a running one stops within one step. Returns
    /// false when the job is unknown or already finished.
    bool requestCancel(JobId id);

    /// Pauses a queued or running job at its next step (a paused job holds its memory and waits)
    /// or resumes it. Cancelling a paused job stops it. Returns false when the job is unknown,
    /// finished, or already in that state.
    bool setPaused(JobId id, bool isPaused);
    [[nodiscard]] bool isPaused(JobId id) const;

    [[nodiscard]] JobStatus status(JobId id) const;

    /// Blocks until the job has finished and returns its result (status Unknown for an unknown id).
    JobResult wait(JobId id);

    /// Like wait(), but gives up after `timeout`; std::nullopt when the job has not finished by
    /// then.
    std::optional<JobResult> waitFor(JobId id, std::chrono::milliseconds timeout);

    /// Registers an observer; it receives every job's events until the returned token is destroyed.
    [[nodiscard]] ObserverRegistration addObserver(JobObserver& observer);

    [[nodiscard]] const std::filesystem::path& databasePath() const;

    /// The CPU and every CUDA device LibTorch sees.
    [[nodiscard]] std::vector<DeviceInfo> devices() const;

    /// The LibTorch version the engine was built against, e.g. "1.13.0".
    [[nodiscard]] static std::string torchVersion();

    /// For a program's main(), first thing: where LibTorch runs more than one OpenMP thread and
    /// OMP_WAIT_POLICY is not set, sets it to "passive" and executes the program again with
    /// `argv` (OpenMP reads it only when it loads). Spinning OpenMP threads beside OpenBLAS's own
    /// threads make a CPU step 13-15x slower (LibTorch 2.6 on 2 cores). Returns when there is
    /// nothing to do or the new start fails; does not return otherwise.
    static void restartWithPassiveOpenMpWait(char** argv);

private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace ftw
