// SPDX-License-Identifier: MIT
#include "run_repository.h"

#include "database.h"
#include "statement.h"
#include "transaction.h"

#include "core/clock.h"
#include "core/process.h"

#include <string>

namespace ftw::storage {
namespace {

constexpr std::string_view kSummaryColumns = R"sql(
    r.id, r.name, r.kind, r.method, r.model, r.dataset, r.status, r.trainable_params,
    r.best_eval_loss,
    (SELECT m.value FROM run_metrics m WHERE m.run_id = r.id AND m.name = 'train/loss'
     ORDER BY m.step DESC LIMIT 1),
    r.created_at_ms, r.started_at_ms, r.finished_at_ms, r.updated_at_ms, r.error_code,
    r.error_message, r.config_json, r.run_dir, r.seed, r.group_id)sql";

RunSummary readSummary(const Statement& s)
{
    RunSummary run;
    run.id = s.columnInt64(0);
    run.name = s.columnText(1);
    run.kind = s.columnText(2);
    run.method = s.columnText(3);
    run.model = s.columnText(4);
    run.dataset = s.columnText(5);
    run.status = parseRunStatus(s.columnText(6));
    run.trainableParams = s.columnOptionalInt64(7);
    run.bestEvalLoss = s.columnOptionalDouble(8);
    run.lastLoss = s.columnOptionalDouble(9);
    run.createdAtMs = s.columnInt64(10);
    run.startedAtMs = s.columnOptionalInt64(11);
    run.finishedAtMs = s.columnOptionalInt64(12);
    run.updatedAtMs = s.columnInt64(13);
    const std::string code = s.columnText(14);
    if (!code.empty()) {
        run.error = ErrorInfo{parseErrorCode(code), s.columnText(15), {}};
    }
    run.groupId = s.columnOptionalInt64(19);
    return run;
}

} // namespace

RunId RunRepository::createRun(const NewRun& run)
{
    const std::int64_t now = core::unixTimeMs();
    Transaction tx(m_db, TransactionMode::Immediate);
    m_db.prepare(R"sql(
        INSERT INTO runs (name, kind, status, method, model, dataset, config_json, seed, owner_pid,
                          owner_host, created_at_ms, started_at_ms, updated_at_ms, group_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql")
        .bindAll(run.name, run.kind, runStatusName(RunStatus::Running), run.method, run.model,
                 run.dataset, run.configJson, run.seed, core::currentProcessId(), core::hostName(),
                 now, now, now, run.groupId)
        .run();
    const RunId id = m_db.lastInsertRowId();
    m_db.prepare("UPDATE runs SET run_dir = ? WHERE id = ?")
        .bindAll(runDirectory(m_db.path(), id).string(), id)
        .run();
    tx.commit();
    return id;
}

void RunRepository::finishRun(RunId id, RunStatus status, const ErrorInfo& error)
{
    const std::int64_t now = core::unixTimeMs();
    m_db.prepare(R"sql(
        UPDATE runs SET status = ?, error_code = ?, error_message = ?, finished_at_ms = ?,
                        updated_at_ms = ?
        WHERE id = ?)sql")
        .bindAll(runStatusName(status), error.isError() ? errorCodeName(error.code) : "",
                 error.message, now, now, id)
        .run();
}

void RunRepository::setTrainableParams(RunId id, std::int64_t trainable, std::int64_t total)
{
    m_db.prepare("UPDATE runs SET trainable_params = ?, total_params = ?, updated_at_ms = ? "
                 "WHERE id = ?")
        .bindAll(trainable, total, core::unixTimeMs(), id)
        .run();
}

void RunRepository::appendMetrics(RunId id, std::span<const MetricRow> rows)
{
    if (rows.empty()) {
        return;
    }
    Transaction tx(m_db, TransactionMode::Immediate);
    Statement insert = m_db.prepare(R"sql(
        INSERT INTO run_metrics (run_id, name, step, epoch, tokens, wall_time_ms, value)
        VALUES (?, ?, ?, ?, ?, ?, ?))sql");
    for (const MetricRow& row : rows) {
        insert.bindAll(id, row.name, row.point.step, row.point.epoch, row.point.tokens,
                       row.point.wallTimeMs, row.point.value);
        insert.run();
        insert.reset();
    }
    m_db.prepare("UPDATE runs SET updated_at_ms = ? WHERE id = ?")
        .bindAll(core::unixTimeMs(), id)
        .run();
    tx.commit();
}

void RunRepository::appendEvent(RunId id, std::string_view kind, std::optional<std::int64_t> step,
                                std::string_view message)
{
    m_db.prepare("INSERT INTO run_events (run_id, kind, step, message, created_at_ms) "
                 "VALUES (?, ?, ?, ?, ?)")
        .bindAll(id, kind, step, message, core::unixTimeMs())
        .run();
}

int RunRepository::markInterruptedRuns()
{
    Transaction tx(m_db, TransactionMode::Immediate);
    Statement select = m_db.prepare(
        "SELECT id, owner_pid, owner_host FROM runs WHERE status IN ('queued', 'running')");
    const std::string host = core::hostName();
    std::vector<std::pair<RunId, std::int64_t>> dead;
    while (select.step()) {
        const std::int64_t pid = select.columnInt64(1);
        if (select.columnText(2) == host && !core::isProcessAlive(pid)) {
            dead.emplace_back(select.columnInt64(0), pid);
        }
    }
    for (const auto& [id, pid] : dead) {
        const std::string message = "the process that ran it (pid " + std::to_string(pid) +
                                    ") ended before the run finished; resume it from its last "
                                    "checkpoint";
        finishRun(id, RunStatus::Interrupted, ErrorInfo{ErrorCode::Internal, message, {}});
        appendEvent(id, "interrupted", std::nullopt, message);
    }
    tx.commit();
    return static_cast<int>(dead.size());
}

std::vector<RunSummary> RunRepository::listRuns()
{
    Statement s =
        m_db.prepare("SELECT " + std::string(kSummaryColumns) + " FROM runs r ORDER BY r.id DESC");
    std::vector<RunSummary> runs;
    while (s.step()) {
        runs.push_back(readSummary(s));
    }
    return runs;
}

std::optional<RunDetail> RunRepository::findRun(RunId id)
{
    Statement s =
        m_db.prepare("SELECT " + std::string(kSummaryColumns) + " FROM runs r WHERE r.id = ?");
    s.bindAll(id);
    if (!s.step()) {
        return std::nullopt;
    }
    RunDetail detail;
    detail.summary = readSummary(s);
    detail.configJson = s.columnText(16);
    detail.runDir = s.columnText(17);
    detail.seed = s.columnOptionalInt64(18);

    Statement names = m_db.prepare("SELECT name, count(*) FROM run_metrics WHERE run_id = ? "
                                   "GROUP BY name ORDER BY name");
    names.bindAll(id);
    while (names.step()) {
        detail.metricNames.push_back(names.columnText(0));
        detail.metricCount += names.columnInt64(1);
    }
    return detail;
}

std::vector<MetricPoint> RunRepository::metrics(RunId id, std::string_view name,
                                                std::int64_t afterStep)
{
    Statement s = m_db.prepare("SELECT step, epoch, tokens, wall_time_ms, value FROM run_metrics "
                               "WHERE run_id = ? AND name = ? AND step > ? ORDER BY step, id");
    s.bindAll(id, name, afterStep);
    std::vector<MetricPoint> points;
    while (s.step()) {
        points.push_back(MetricPoint{s.columnInt64(0), s.columnDouble(1), s.columnInt64(2),
                                     s.columnInt64(3), s.columnDouble(4)});
    }
    return points;
}

} // namespace ftw::storage
