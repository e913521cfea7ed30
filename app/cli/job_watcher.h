// SPDX-License-Identifier: MIT
#pragma once

#include "cli_context.h"

#include <ftw/engine.h>

#include <deque>
#include <mutex>

namespace ftw::cli {

/// Runs one job to its end on the calling thread's behalf: collects the engine's events (on the
/// engine thread) and prints them here, so that only this thread writes to the streams. Draws a
/// progress bar when `err` is a terminal. Installs a SIGINT handler for its lifetime (create it
/// before submitting the job): Ctrl-C requests cancellation, a second Ctrl-C kills the process.
class JobWatcher : public JobObserver {
public:
    JobWatcher(Engine& engine, const CliContext& ctx, bool isTerminal);
    ~JobWatcher() override;
    JobWatcher(const JobWatcher&) = delete;
    JobWatcher& operator=(const JobWatcher&) = delete;

    /// Waits for the job and returns its result.
    JobResult watch(JobId id);

    void onEvent(const JobEvent& event) override;

private:
    void print(const JobEvent& event);
    void drawProgress(const JobProgress& progress);

    Engine& m_engine;
    const CliContext& m_ctx;
    bool m_isTerminal;
    bool m_hasBar = false;
    std::mutex m_mutex; // guards m_pending
    std::deque<JobEvent> m_pending;
    void (*m_previousSigint)(int) = nullptr;
};

} // namespace ftw::cli
