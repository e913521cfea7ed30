// SPDX-License-Identifier: MIT
#include "job_context.h"

#include "core/atomic_file.h"
#include "core/check.h"
#include "core/clock.h"
#include "core/process.h"
#include "storage/store.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <condition_variable>
#include <mutex>

namespace ftw::jobs {
namespace {

constexpr std::size_t kMetricBatchRows = 64;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

/// A JSON document flattened to dotted keys with JSON values ("train.learning_rate" -> "0.0002").
void flatten(const nlohmann::json& json, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out)
{
    if (json.is_object() && !json.empty()) {
        for (const auto& [key, value] : json.items()) {
            flatten(value, prefix.empty() ? key : prefix + "." + key, out);
        }
        return;
    }
    out.emplace_back(prefix, json.dump());
}

} // namespace

bool PauseGate::setPaused(bool isPaused)
{
    {
        const std::lock_guard lock(m_mutex);
        if (m_isPaused == isPaused) {
            return false;
        }
        m_isPaused = isPaused;
    }
    m_changed.notify_all();
    return true;
}

bool PauseGate::isPaused() const
{
    const std::lock_guard lock(m_mutex);
    return m_isPaused;
}

bool PauseGate::waitWhilePaused(const std::stop_token& stop)
{
    std::unique_lock lock(m_mutex);
    if (!m_isPaused) {
        return false;
    }
    m_changed.wait(lock, stop, [this] { return !m_isPaused; });
    return true;
}

JobContext::JobContext(JobId id, std::stop_token stop, const EventSink& sink,
                       std::filesystem::path databasePath, std::shared_ptr<PauseGate> pause)
    : m_id(id)
    , m_stop(std::move(stop))
    , m_sink(sink)
    , m_pause(std::move(pause))
    , m_databasePath(std::move(databasePath))
{
}

JobContext::~JobContext() = default;

void JobContext::throwIfCancelled()
{
    if (m_pause && m_pause->isPaused() && !m_stop.stop_requested()) {
        flushMetrics();
        log(LogLevel::Info, "paused; resume to go on");
        if (m_pause->waitWhilePaused(m_stop) && !m_stop.stop_requested()) {
            log(LogLevel::Info, "resumed");
        }
    }
    if (m_stop.stop_requested()) {
        throw Cancelled();
    }
}

void JobContext::sleepFor(std::chrono::milliseconds duration)
{
    if (duration.count() > 0) {
        std::mutex mutex;
        std::condition_variable_any wake;
        std::unique_lock lock(mutex);
        wake.wait_for(lock, m_stop, duration, [] { return false; });
    }
    throwIfCancelled();
}

storage::Database& JobContext::database()
{
    if (!m_db) {
        m_db.emplace(storage::openStore(m_databasePath, StoreMode::ReadWrite));
    }
    return *m_db;
}

RunId JobContext::createRun(const storage::NewRun& run)
{
    storage::RunRepository repo(database());
    storage::NewRun row = run;
    if (!row.groupId) {
        row.groupId = m_groupId;
    }
    m_runId = repo.createRun(row);
    const std::filesystem::path dir = runDirectory(m_databasePath, m_runId);
    // A new run's folder is empty unless another store beside this one (or this store's file
    // deleted and made again) numbered a run the same: its files are not this run's to overwrite.
    std::error_code ec;
    FTW_CHECK(!std::filesystem::is_directory(dir, ec) || std::filesystem::is_empty(dir, ec),
              ErrorCode::Io,
              "the folder of run " + std::to_string(m_runId) + ", '" + dir.string() +
                  "', already holds another run's files (a second store in the folder of '" +
                  m_databasePath.filename().string() +
                  "', or one made again after its file was deleted); nothing was written to it: "
                  "keep each store in a folder of its own, or move that run folder away");
    std::filesystem::create_directories(dir);
    core::writeFileAtomically(dir / "config.json", run.configJson + "\n");
    m_runLog.open(dir / "run.log", std::ios::app);
    return m_runId;
}

std::unique_ptr<JobContext> JobContext::memberContext(std::int64_t groupId) const
{
    auto member = std::make_unique<JobContext>(m_id, m_stop, m_sink, m_databasePath, m_pause);
    member->m_groupId = groupId;
    return member;
}

std::unique_ptr<JobContext>
JobContext::scratchContext(const std::filesystem::path& databasePath) const
{
    return std::make_unique<JobContext>(m_id, m_stop, m_sink, databasePath, m_pause);
}

void JobContext::setRunConfig(const std::string& configJson)
{
    std::vector<std::pair<std::string, std::string>> params;
    flatten(nlohmann::json::parse(configJson), "", params);
    storage::RunRepository repo(database());
    repo.setConfig(m_runId, configJson, params);
    core::writeFileAtomically(runDir() / "config.json", configJson + "\n");
}

void JobContext::adoptRun(RunId id)
{
    storage::RunRepository(database()).reopenRun(id);
    m_runId = id;
    m_runLog.open(runDir() / "run.log", std::ios::app);
}

std::filesystem::path JobContext::runDir() const
{
    return m_runId == 0 ? std::filesystem::path() : runDirectory(m_databasePath, m_runId);
}

void JobContext::setTrainableParams(std::int64_t trainable, std::int64_t total)
{
    storage::RunRepository(database()).setTrainableParams(m_runId, trainable, total);
}

void JobContext::recordMetric(std::string name, const MetricPoint& point)
{
    m_pendingMetrics.push_back(storage::MetricRow{std::move(name), point});
    if (m_pendingMetrics.size() >= kMetricBatchRows) {
        flushMetrics();
    }
}

void JobContext::flushMetrics()
{
    if (m_runId == 0 || m_pendingMetrics.empty()) {
        m_pendingMetrics.clear();
        return;
    }
    storage::RunRepository(database()).appendMetrics(m_runId, m_pendingMetrics);
    m_pendingMetrics.clear();
}

void JobContext::reportProgress(JobProgress progress)
{
    const auto now = std::chrono::steady_clock::now();
    const bool isLast = progress.step >= progress.totalSteps;
    if (m_lastProgressAt && !isLast && now - *m_lastProgressAt < kProgressInterval) {
        return;
    }
    m_lastProgressAt = now;
    progress.jobId = m_id;
    progress.runId = m_runId;
    if (std::isnan(progress.hostMemoryBytes)) {
        progress.hostMemoryBytes = static_cast<double>(core::residentMemoryBytes());
    }
    m_sink(progress);
}

void JobContext::log(LogLevel level, const std::string& message)
{
    if (m_runLog.is_open()) {
        m_runLog << core::formatLocalTime(core::unixTimeMs()) << ' ' << logLevelName(level) << ": "
                 << message << '\n';
        m_runLog.flush();
    }
    m_sink(JobLog{m_id, level, message});
}

void JobContext::recordOutcome(const JobResult& result)
{
    if (m_runId == 0) {
        return;
    }
    flushMetrics();
    RunStatus status = RunStatus::Failed;
    if (result.status == JobStatus::Succeeded) {
        status = RunStatus::Succeeded;
    } else if (result.status == JobStatus::Cancelled) {
        status = RunStatus::Cancelled;
    }
    storage::RunRepository repo(database());
    repo.finishRun(m_runId, status, result.error);
    if (status == RunStatus::Cancelled) {
        repo.appendEvent(m_runId, "stop", std::nullopt, "cancelled by the user");
    }
    // The run's own log ends with how it ended (the store says the same).
    if (m_runLog.is_open()) {
        m_runLog << core::formatLocalTime(core::unixTimeMs()) << ' '
                 << (status == RunStatus::Failed ? "error: " : "info: ") << "run "
                 << runStatusName(status)
                 << (result.error.isError() ? ": " + result.error.message : std::string()) << '\n';
        m_runLog.flush();
    }
}

} // namespace ftw::jobs
