// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/error.h>
#include <ftw/run_store.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftw::storage {

class Database;

/// What is known about a run when it starts.
struct NewRun {
    std::string name;
    std::string kind;
    std::string method;
    std::string model;
    std::string dataset;
    std::string configJson = "{}";
    std::optional<std::int64_t> seed;
    std::optional<std::int64_t> groupId; ///< the run_groups row it belongs to (a sweep)
};

/// One metric value to record.
struct MetricRow {
    std::string name;
    MetricPoint point;
};

/// Reads and writes runs through one connection (which it does not own). All methods throw
/// Error{Storage} on database failures.
class RunRepository {
public:
    explicit RunRepository(Database& db) : m_db(db) {}

    /// Inserts a run with status Running, owned by this process; sets its run folder. Returns its
    /// id.
    RunId createRun(const NewRun& run);
    /// Records how a run ended: status, finish time and, when set, the error.
    void finishRun(RunId id, RunStatus status, const ErrorInfo& error);
    void setTrainableParams(RunId id, std::int64_t trainable, std::int64_t total);
    /// Appends metric values in one transaction.
    void appendMetrics(RunId id, std::span<const MetricRow> rows);
    /// Appends a notable event (oom, nan, stop, resume, interrupted).
    void appendEvent(RunId id, std::string_view kind, std::optional<std::int64_t> step,
                     std::string_view message);

    /// Marks as Interrupted every queued or running run whose owning process on this host is gone.
    /// Returns how many were marked.
    int markInterruptedRuns();

    /// Replaces the config of a run and its flattened parameters (run_params), in one
    /// transaction.
    void setConfig(RunId id, std::string_view configJson,
                   std::span<const std::pair<std::string, std::string>> params);
    /// Makes an ended run (interrupted, cancelled, failed) running again in this process.
    void reopenRun(RunId id);
    /// Removes metric values recorded after `step` (what a resumed run will record again).
    void deleteMetricsAfter(RunId id, std::int64_t step);
    /// Lowers best_eval_loss to `loss` when it is lower (or unset).
    void updateBestEvalLoss(RunId id, double loss);
    std::int64_t addCheckpoint(RunId id, std::int64_t step, const std::filesystem::path& path,
                               std::int64_t sizeBytes);
    void removeCheckpoint(std::int64_t checkpointId);
    /// Inserts an export with status running; returns its id.
    std::int64_t createExport(std::optional<RunId> runId, std::string_view kind,
                              std::string_view dtype, const std::filesystem::path& path);
    /// Records how an export ended: status, verification report and error.
    void finishExport(std::int64_t exportId, std::string_view status,
                      std::string_view verificationJson, std::optional<double> maxAbsLogitDiff,
                      std::string_view errorMessage);

    [[nodiscard]] std::vector<RunSummary> listRuns();
    [[nodiscard]] std::optional<RunDetail> findRun(RunId id);
    [[nodiscard]] std::vector<MetricPoint> metrics(RunId id, std::string_view name,
                                                   std::int64_t afterStep = -1);
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> params(RunId id);
    [[nodiscard]] std::vector<CheckpointInfo> checkpoints(RunId id);
    [[nodiscard]] std::vector<ExportInfo> exports(RunId id);
    [[nodiscard]] std::vector<RunEvent> events(RunId id);

    /// Replaces the adapter layout of a run with `entries` (in that order), in one transaction.
    void replaceAdapterLayout(RunId id, std::span<const AdapterLayoutEntry> entries);
    /// The layout of a run in model order (RunStore::adapterLayout()).
    [[nodiscard]] std::vector<AdapterLayoutEntry> adapterLayout(RunId id);
    /// Runs that have a layout, newest first.
    [[nodiscard]] std::vector<RunId> runsWithAdapterLayout();

    /// Inserts a group of runs (kind "sweep"); returns its id.
    std::int64_t createGroup(std::string_view kind, std::string_view name,
                             std::string_view configJson);
    /// Every group, newest first, with its runs in id order (RunStore::groups()).
    [[nodiscard]] std::vector<RunGroup> groups();

private:
    Database& m_db;
};

} // namespace ftw::storage
