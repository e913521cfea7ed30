// SPDX-License-Identifier: MIT
#include "job_watcher.h"

#include "format.h"

#include <array>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

namespace ftw::cli {
namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void onSigint(int /*signal*/)
{
    g_interrupted.store(true);
    std::signal(SIGINT, SIG_DFL); // a second Ctrl-C ends the process at once
}

} // namespace

JobWatcher::JobWatcher(Engine& engine, const CliContext& ctx, bool isTerminal)
    : m_engine(engine), m_ctx(ctx), m_isTerminal(isTerminal)
{
    g_interrupted.store(false);
    m_previousSigint = std::signal(SIGINT, onSigint);
}

JobWatcher::~JobWatcher()
{
    std::signal(SIGINT, m_previousSigint);
}

void JobWatcher::onEvent(const JobEvent& event)
{
    const std::lock_guard lock(m_mutex);
    m_pending.push_back(event);
}

JobResult JobWatcher::watch(JobId id)
{
    bool isCancelRequested = false;
    while (true) {
        const std::optional<JobResult> result =
            m_engine.waitFor(id, std::chrono::milliseconds(100));
        std::deque<JobEvent> events;
        {
            const std::lock_guard lock(m_mutex);
            events.swap(m_pending);
        }
        for (const JobEvent& event : events) {
            print(event);
        }
        if (result) {
            return *result;
        }
        if (g_interrupted.load() && !isCancelRequested) {
            isCancelRequested = true;
            if (m_hasBar) {
                m_ctx.err << '\n';
                m_hasBar = false;
            }
            m_ctx.err << "ftw: stopping at the next step (Ctrl-C again to kill)\n";
            m_engine.requestCancel(id);
        }
    }
}

void JobWatcher::print(const JobEvent& event)
{
    if (const auto* progress = std::get_if<JobProgress>(&event)) {
        drawProgress(*progress);
        return;
    }
    if (const auto* log = std::get_if<JobLog>(&event)) {
        if (m_ctx.isJson && log->level < LogLevel::Warning) {
            return;
        }
        if (m_hasBar) {
            m_ctx.err << '\n';
            m_hasBar = false;
        }
        m_ctx.err << "ftw: " << log->message << '\n';
        return;
    }
    if (std::holds_alternative<JobFinished>(event) && m_hasBar) {
        m_ctx.err << '\n';
        m_hasBar = false;
    }
}

void JobWatcher::drawProgress(const JobProgress& p)
{
    if (!m_isTerminal || p.totalSteps <= 0) {
        return;
    }
    constexpr int kWidth = 30;
    const double fraction = static_cast<double>(p.step) / static_cast<double>(p.totalSteps);
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '-');
    std::array<char, 160> line{};
    std::snprintf(line.data(), line.size(), "\r[%s] %lld/%lld  loss %.4f  ETA %s   ", bar.c_str(),
                  static_cast<long long>(p.step), static_cast<long long>(p.totalSteps), p.loss,
                  std::isnan(p.etaSeconds)
                      ? "?"
                      : formatDuration(static_cast<std::int64_t>(p.etaSeconds * 1000)).c_str());
    m_ctx.err << line.data() << std::flush;
    m_hasBar = true;
}

} // namespace ftw::cli
