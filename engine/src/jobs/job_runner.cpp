// SPDX-License-Identifier: MIT
#include "job_runner.h"

#include "core/device.h"

#include <ftw/error.h>
#include <ftw/log.h>

#include <c10/util/Exception.h>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace ftw::jobs {
namespace {

std::string firstLine(const char* text)
{
    std::string line(text);
    const auto end = line.find('\n');
    return end == std::string::npos ? line : line.substr(0, end);
}

JobResult failed(ErrorCode code, std::string message, std::string detail = {})
{
    return JobResult{JobStatus::Failed, ErrorInfo{code, std::move(message), std::move(detail)}};
}

} // namespace

JobRunner::JobRunner(std::filesystem::path databasePath, EventSink sink)
    : m_databasePath(std::move(databasePath))
    , m_sink(std::move(sink))
    , m_thread([this](std::stop_token stop) { threadMain(std::move(stop)); })
{
}

JobRunner::~JobRunner()
{
    std::vector<JobId> queued;
    {
        const std::lock_guard lock(m_mutex);
        queued.assign(m_queue.begin(), m_queue.end());
        for (auto& [id, entry] : m_jobs) {
            entry.stop.request_stop();
        }
    }
    for (const JobId id : queued) {
        requestCancel(id);
    }
    m_thread.request_stop();
    m_thread.join();
}

JobId JobRunner::submit(Job job)
{
    JobId id = 0;
    {
        const std::lock_guard lock(m_mutex);
        id = m_nextId++;
        m_jobs.emplace(
            id, Entry{std::move(job), {}, std::make_shared<PauseGate>(), JobStatus::Queued, {}});
        m_queue.push_back(id);
    }
    m_queueChanged.notify_one();
    return id;
}

bool JobRunner::requestCancel(JobId id)
{
    std::unique_lock lock(m_mutex);
    const auto it = m_jobs.find(id);
    if (it == m_jobs.end() || isFinished(it->second.status)) {
        return false;
    }
    it->second.stop.request_stop();
    if (it->second.status == JobStatus::Running) {
        return true; // the job sees its stop token within one step
    }
    m_queue.erase(std::remove(m_queue.begin(), m_queue.end(), id), m_queue.end());
    lock.unlock();
    finish(id, JobResult{JobStatus::Cancelled, {}, 0, 0.0});
    return true;
}

bool JobRunner::setPaused(JobId id, bool isPaused)
{
    std::shared_ptr<PauseGate> gate;
    {
        const std::lock_guard lock(m_mutex);
        const auto it = m_jobs.find(id);
        if (it == m_jobs.end() || isFinished(it->second.status)) {
            return false;
        }
        gate = it->second.pause;
    }
    return gate->setPaused(isPaused);
}

bool JobRunner::isPaused(JobId id) const
{
    const std::lock_guard lock(m_mutex);
    const auto it = m_jobs.find(id);
    return it != m_jobs.end() && !isFinished(it->second.status) && it->second.pause->isPaused();
}

JobStatus JobRunner::status(JobId id) const
{
    const std::lock_guard lock(m_mutex);
    const auto it = m_jobs.find(id);
    return it == m_jobs.end() ? JobStatus::Unknown : it->second.status;
}

std::optional<JobResult> JobRunner::waitFor(JobId id,
                                            std::optional<std::chrono::milliseconds> timeout)
{
    std::unique_lock lock(m_mutex);
    if (m_jobs.find(id) == m_jobs.end()) {
        return JobResult{};
    }
    const auto done = [&] { return isFinished(m_jobs.at(id).status); };
    if (timeout) {
        if (!m_jobFinished.wait_for(lock, *timeout, done)) {
            return std::nullopt;
        }
    } else {
        m_jobFinished.wait(lock, done);
    }
    return m_jobs.at(id).result;
}

void JobRunner::threadMain(std::stop_token threadStop)
{
    while (true) {
        JobId id = 0;
        Job job;
        std::stop_token jobStop;
        std::shared_ptr<PauseGate> pause;
        {
            std::unique_lock lock(m_mutex);
            m_queueChanged.wait(lock, threadStop, [this] { return !m_queue.empty(); });
            if (m_queue.empty()) {
                return; // stop requested and nothing left
            }
            id = m_queue.front();
            m_queue.pop_front();
            Entry& entry = m_jobs.at(id);
            entry.status = JobStatus::Running;
            job = std::move(entry.job);
            jobStop = entry.stop.get_token();
            pause = entry.pause;
        }
        m_sink(JobStarted{id, job.kind, job.name});
        const auto startedAt = std::chrono::steady_clock::now();
        JobContext context(id, jobStop, m_sink, m_databasePath, pause);
        JobResult result = runGuarded(job, context);
        core::releaseCachedDeviceMemory(); // what the job freed goes back before the next one
        result.runId = context.runId();
        result.outputJson = context.outputJson();
        result.elapsedMs =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - startedAt)
                .count();
        try {
            context.recordOutcome(result);
        } catch (const std::exception& e) {
            logError("job " + std::to_string(id) + ": recording its outcome failed: " + e.what());
        }
        if (result.status == JobStatus::Cancelled) {
            logInfo("job " + std::to_string(id) + " (" + job.name + ") cancelled");
        }
        finish(id, result);
    }
}

// The one place where every exception of a job stops and becomes a result.
JobResult JobRunner::runGuarded(Job& job, JobContext& context)
{
    try {
        if (!job.run) {
            throw Error(ErrorCode::Internal, "job '" + job.name + "' has nothing to run");
        }
        job.run(context);
        return JobResult{JobStatus::Succeeded, {}, 0, 0.0};
    } catch (const Cancelled&) {
        return JobResult{JobStatus::Cancelled, {}, 0, 0.0};
    } catch (const Error& e) {
        return JobResult{JobStatus::Failed, e.info(), 0, 0.0};
    } catch (const c10::OutOfMemoryError& e) {
        core::releaseCachedDeviceMemory();
        return failed(ErrorCode::OutOfMemory,
                      "the device ran out of memory; lower the batch size or the sequence length",
                      firstLine(e.what()));
    } catch (const c10::Error& e) {
        return failed(ErrorCode::Internal, "LibTorch: " + firstLine(e.what_without_backtrace()));
    } catch (const std::bad_alloc&) {
        return failed(ErrorCode::OutOfMemory,
                      "out of host memory; lower the batch size or the sequence length");
    } catch (const std::exception& e) {
        return failed(ErrorCode::Internal, e.what());
    } catch (...) {
        return failed(ErrorCode::Internal, "unknown exception");
    }
}

void JobRunner::finish(JobId id, const JobResult& result)
{
    {
        const std::lock_guard lock(m_mutex);
        Entry& entry = m_jobs.at(id);
        entry.status = result.status;
        entry.result = result;
        entry.job.run = nullptr;
    }
    m_sink(JobFinished{id, result});
    m_jobFinished.notify_all();
}

} // namespace ftw::jobs
