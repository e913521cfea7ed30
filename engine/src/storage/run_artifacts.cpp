// SPDX-License-Identifier: MIT
// RunRepository: parameters, checkpoints, exports and events of runs, and reopening for resume.
#include "run_repository.h"

#include "database.h"
#include "statement.h"
#include "transaction.h"

#include "core/clock.h"
#include "core/process.h"

namespace ftw::storage {

void RunRepository::setConfig(RunId id, std::string_view configJson,
                              std::span<const std::pair<std::string, std::string>> params)
{
    Transaction tx(m_db, TransactionMode::Immediate);
    m_db.prepare("UPDATE runs SET config_json = ?, updated_at_ms = ? WHERE id = ?")
        .bindAll(configJson, core::unixTimeMs(), id)
        .run();
    m_db.prepare("DELETE FROM run_params WHERE run_id = ?").bindAll(id).run();
    Statement insert = m_db.prepare("INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)");
    for (const auto& [key, value] : params) {
        insert.bindAll(id, key, value);
        insert.run();
        insert.reset();
    }
    tx.commit();
}

void RunRepository::reopenRun(RunId id)
{
    const std::int64_t now = core::unixTimeMs();
    m_db.prepare(R"sql(
        UPDATE runs SET status = ?, error_code = '', error_message = '', finished_at_ms = NULL,
                        owner_pid = ?, owner_host = ?, updated_at_ms = ?
        WHERE id = ?)sql")
        .bindAll(runStatusName(RunStatus::Running), core::currentProcessId(), core::hostName(), now,
                 id)
        .run();
}

void RunRepository::deleteMetricsAfter(RunId id, std::int64_t step)
{
    m_db.prepare("DELETE FROM run_metrics WHERE run_id = ? AND step > ?").bindAll(id, step).run();
}

void RunRepository::updateBestEvalLoss(RunId id, double loss)
{
    m_db.prepare(R"sql(
        UPDATE runs SET best_eval_loss = ?, updated_at_ms = ?
        WHERE id = ? AND (best_eval_loss IS NULL OR best_eval_loss > ?))sql")
        .bindAll(loss, core::unixTimeMs(), id, loss)
        .run();
}

std::int64_t RunRepository::addCheckpoint(RunId id, std::int64_t step,
                                          const std::filesystem::path& path, std::int64_t sizeBytes)
{
    m_db.prepare("INSERT INTO checkpoints (run_id, step, path, size_bytes, created_at_ms) "
                 "VALUES (?, ?, ?, ?, ?)")
        .bindAll(id, step, path.string(), sizeBytes, core::unixTimeMs())
        .run();
    return m_db.lastInsertRowId();
}

void RunRepository::removeCheckpoint(std::int64_t checkpointId)
{
    m_db.prepare("DELETE FROM checkpoints WHERE id = ?").bindAll(checkpointId).run();
}

std::int64_t RunRepository::createExport(std::optional<RunId> runId, std::string_view kind,
                                         std::string_view dtype, const std::filesystem::path& path)
{
    m_db.prepare("INSERT INTO exports (run_id, kind, dtype, path, status, created_at_ms) "
                 "VALUES (?, ?, ?, ?, 'running', ?)")
        .bindAll(runId, kind, dtype, path.string(), core::unixTimeMs())
        .run();
    return m_db.lastInsertRowId();
}

void RunRepository::finishExport(std::int64_t exportId, std::string_view status,
                                 std::string_view verificationJson,
                                 std::optional<double> maxAbsLogitDiff,
                                 std::string_view errorMessage)
{
    m_db.prepare(R"sql(
        UPDATE exports SET status = ?, verification_json = ?, max_abs_logit_diff = ?,
                           error_message = ?, finished_at_ms = ?
        WHERE id = ?)sql")
        .bindAll(status, verificationJson, maxAbsLogitDiff, errorMessage, core::unixTimeMs(),
                 exportId)
        .run();
}

std::vector<std::pair<std::string, std::string>> RunRepository::params(RunId id)
{
    Statement s = m_db.prepare("SELECT key, value FROM run_params WHERE run_id = ? ORDER BY key");
    s.bindAll(id);
    std::vector<std::pair<std::string, std::string>> rows;
    while (s.step()) {
        rows.emplace_back(s.columnText(0), s.columnText(1));
    }
    return rows;
}

std::vector<CheckpointInfo> RunRepository::checkpoints(RunId id)
{
    Statement s = m_db.prepare("SELECT id, step, path, size_bytes, created_at_ms FROM checkpoints "
                               "WHERE run_id = ? ORDER BY step, id");
    s.bindAll(id);
    std::vector<CheckpointInfo> rows;
    while (s.step()) {
        rows.push_back(CheckpointInfo{s.columnInt64(0), s.columnInt64(1), s.columnText(2),
                                      s.columnOptionalInt64(3).value_or(0), s.columnInt64(4)});
    }
    return rows;
}

std::vector<ExportInfo> RunRepository::exports(RunId id)
{
    Statement s = m_db.prepare(R"sql(
        SELECT id, run_id, kind, dtype, path, status, verification_json, max_abs_logit_diff,
               error_message, created_at_ms, finished_at_ms
        FROM exports WHERE run_id = ? ORDER BY id)sql");
    s.bindAll(id);
    std::vector<ExportInfo> rows;
    while (s.step()) {
        ExportInfo e;
        e.id = s.columnInt64(0);
        e.runId = s.columnOptionalInt64(1);
        e.kind = s.columnText(2);
        e.dtype = s.columnText(3);
        e.path = s.columnText(4);
        e.status = s.columnText(5);
        e.verificationJson = s.columnText(6);
        e.maxAbsLogitDiff = s.columnOptionalDouble(7);
        e.errorMessage = s.columnText(8);
        e.createdAtMs = s.columnInt64(9);
        e.finishedAtMs = s.columnOptionalInt64(10);
        rows.push_back(std::move(e));
    }
    return rows;
}

std::vector<RunEvent> RunRepository::events(RunId id)
{
    Statement s = m_db.prepare("SELECT kind, step, message, created_at_ms FROM run_events "
                               "WHERE run_id = ? ORDER BY id");
    s.bindAll(id);
    std::vector<RunEvent> rows;
    while (s.step()) {
        rows.push_back(
            RunEvent{s.columnText(0), s.columnOptionalInt64(1), s.columnText(2), s.columnInt64(3)});
    }
    return rows;
}

void RunRepository::replaceAdapterLayout(RunId id, std::span<const AdapterLayoutEntry> entries)
{
    Transaction tx(m_db, TransactionMode::Immediate);
    m_db.prepare("DELETE FROM adapter_layouts WHERE run_id = ?").bindAll(id).run();
    Statement insert = m_db.prepare(R"sql(
        INSERT INTO adapter_layouts (run_id, layer, module, method, rank, param_count, is_enabled,
                                     score_grad_norm, score_snip, score_synflow, score_random)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
    for (const AdapterLayoutEntry& e : entries) {
        insert.bindAll(id, e.layer, e.module, e.method, e.rank, e.paramCount, e.isEnabled ? 1 : 0,
                       e.scoreGradNorm, e.scoreSnip, e.scoreSynflow, e.scoreRandom);
        insert.run();
        insert.reset();
    }
    tx.commit();
}

std::vector<AdapterLayoutEntry> RunRepository::adapterLayout(RunId id)
{
    // Rows are inserted in model order; lm_head (layer -1) comes after the blocks as in the model.
    Statement s = m_db.prepare(R"sql(
        SELECT layer, module, method, rank, param_count, is_enabled, score_grad_norm, score_snip,
               score_synflow, score_random
        FROM adapter_layouts WHERE run_id = ? ORDER BY layer < 0, layer, id)sql");
    s.bindAll(id);
    std::vector<AdapterLayoutEntry> rows;
    while (s.step()) {
        AdapterLayoutEntry e;
        e.layer = s.columnInt64(0);
        e.module = s.columnText(1);
        e.method = s.columnText(2);
        e.rank = s.columnOptionalInt64(3);
        e.paramCount = s.columnInt64(4);
        e.isEnabled = s.columnInt64(5) != 0;
        e.scoreGradNorm = s.columnOptionalDouble(6);
        e.scoreSnip = s.columnOptionalDouble(7);
        e.scoreSynflow = s.columnOptionalDouble(8);
        e.scoreRandom = s.columnOptionalDouble(9);
        rows.push_back(std::move(e));
    }
    return rows;
}

std::vector<RunId> RunRepository::runsWithAdapterLayout()
{
    Statement s = m_db.prepare("SELECT DISTINCT run_id FROM adapter_layouts ORDER BY run_id DESC");
    std::vector<RunId> ids;
    while (s.step()) {
        ids.push_back(s.columnInt64(0));
    }
    return ids;
}

std::int64_t RunRepository::createGroup(std::string_view kind, std::string_view name,
                                        std::string_view configJson)
{
    m_db.prepare("INSERT INTO run_groups (kind, name, config_json, created_at_ms) "
                 "VALUES (?, ?, ?, ?)")
        .bindAll(kind, name, configJson, core::unixTimeMs())
        .run();
    return m_db.lastInsertRowId();
}

std::vector<RunGroup> RunRepository::groups()
{
    Statement s = m_db.prepare("SELECT id, kind, name, config_json, created_at_ms FROM run_groups "
                               "ORDER BY id DESC");
    std::vector<RunGroup> groups;
    while (s.step()) {
        groups.push_back(RunGroup{s.columnInt64(0),
                                  s.columnText(1),
                                  s.columnText(2),
                                  s.columnText(3),
                                  s.columnInt64(4),
                                  {}});
    }
    Statement members = m_db.prepare("SELECT id FROM runs WHERE group_id = ? ORDER BY id");
    for (RunGroup& group : groups) {
        members.bindAll(group.id);
        while (members.step()) {
            group.runIds.push_back(members.columnInt64(0));
        }
        members.reset();
    }
    return groups;
}

} // namespace ftw::storage
