// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>
#include <ftw/job.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftw {

/// The state of a run as stored. Interrupted: it was running when its process died.
enum class RunStatus { Unknown, Queued, Running, Succeeded, Failed, Cancelled, Interrupted };

[[nodiscard]] std::string_view runStatusName(RunStatus status);
/// Parses a name written by runStatusName(); unknown names give RunStatus::Unknown.
[[nodiscard]] RunStatus parseRunStatus(std::string_view name);

/// One row of the runs table.
struct RunSummary {
    RunId id = 0;
    std::string name;
    std::string kind;   ///< "train", "demo", ... (jobKindName)
    std::string method; ///< adapter method name, "" when none
    std::string model;  ///< base model folder
    std::string dataset;
    RunStatus status = RunStatus::Unknown;
    std::optional<std::int64_t> trainableParams;
    std::optional<double> bestEvalLoss;
    std::optional<double> lastLoss; ///< the last "train/loss" value recorded
    std::int64_t createdAtMs = 0;   ///< Unix time in milliseconds
    std::optional<std::int64_t> startedAtMs;
    std::optional<std::int64_t> finishedAtMs;
    std::int64_t updatedAtMs = 0;
    ErrorInfo error;                     ///< why it failed or was interrupted
    std::optional<std::int64_t> groupId; ///< the group (an equal-budget sweep) it belongs to

    /// Wall-clock duration in ms: finished (or now, while running) minus started; 0 if never
    /// started.
    [[nodiscard]] std::int64_t durationMs(std::int64_t nowMs) const;
};

/// One recorded value of a metric.
struct MetricPoint {
    std::int64_t step = 0;
    double epoch = 0.0;
    std::int64_t tokens = 0;
    std::int64_t wallTimeMs = 0; ///< since the run started
    double value = 0.0;
};

/// Everything stored about one run.
struct RunDetail {
    RunSummary summary;
    std::string configJson;       ///< the full run config as JSON text
    std::filesystem::path runDir; ///< checkpoints, adapter files, log, config copy
    std::vector<std::string> metricNames;
    std::int64_t metricCount = 0;
    std::optional<std::int64_t> seed;
};

/// A checkpoint a training run wrote (resume continues from the newest).
struct CheckpointInfo {
    std::int64_t id = 0;
    std::int64_t step = 0;
    std::filesystem::path path;
    std::int64_t sizeBytes = 0;
    std::int64_t createdAtMs = 0;
};

/// Runs recorded together: the members of an equal-budget sweep (kind "sweep").
struct RunGroup {
    std::int64_t id = 0;
    std::string kind;
    std::string name;
    std::string configJson = "{}"; ///< what made it: the sweep's methods and target
    std::int64_t createdAtMs = 0;
    std::vector<RunId> runIds; ///< its runs, in the order they were recorded
};

/// A merged model or adapter written by an export, with its verification report.
struct ExportInfo {
    std::int64_t id = 0;
    std::optional<RunId> runId; ///< the run that wrote it (merge jobs record their own run)
    std::string kind;           ///< "merged" or "adapter"
    std::string dtype;          ///< "f32", "f16", "bf16"; "" for an adapter
    std::filesystem::path path;
    std::string status; ///< running, succeeded, failed, cancelled
    std::string verificationJson = "{}";
    std::optional<double> maxAbsLogitDiff;
    std::string errorMessage;
    std::int64_t createdAtMs = 0;
    std::optional<std::int64_t> finishedAtMs;
};

/// A notable moment of a run: oom, nan, stop, resume, interrupted.
struct RunEvent {
    std::string kind;
    std::optional<std::int64_t> step;
    std::string message;
    std::int64_t createdAtMs = 0;
};

/// One adapted module of a run's adapter (a row of adapter_layouts): what the Allocation inspector
/// draws. A training run records one per adapted module when its adapter is built; full
/// fine-tuning records one per projection with no rank (its embeddings and norms also train and
/// are not in the layout). AdaLoRA's entries are updated at the end of training to what the
/// allocator kept.
struct AdapterLayoutEntry {
    std::int64_t layer = -1; ///< block index; -1 for lm_head
    std::string module;      ///< the module kind inside its block: "self_attn.q_proj"; "lm_head"
    std::string method;      ///< adapterMethodName(): "lora", "adalora", "full", ...
    /// Rank, block size (Bone, Bat) or, for AdaLoRA after training, the directions kept; none for
    /// full fine-tuning.
    std::optional<std::int64_t> rank;
    /// Trainable elements on the module; for AdaLoRA after training, those of the kept directions
    /// (what the saved adapter holds: kept * (in + out + 1)).
    std::int64_t paramCount = 0;
    bool isEnabled = true; ///< false: the module was switched off (an AdaLoRA module with no
                           ///< direction left, a HeteroLoRA module not chosen)
    /// Zero-cost proxy scores of the module (HeteroLoRA); none when not computed.
    std::optional<double> scoreGradNorm;
    std::optional<double> scoreSnip;
    std::optional<double> scoreSynflow;
    std::optional<double> scoreRandom;
};

enum class StoreMode {
    Unknown,
    ReadWrite, ///< creates the file if needed, applies migrations, marks dead processes' runs
               ///< interrupted
    ReadOnly,  ///< the file must exist at the current schema; never writes
};

/// Read access to the run store. Owns one SQLite connection: use it on one thread only (the UI
/// keeps its own; the engine has its own write connection). Move-only. No method throws.
class RunStore {
public:
    /// Opens (and in ReadWrite mode creates and migrates) the database at `path`.
    /// Returns: Storage when the file is not an FTW database, is of a newer schema than this build,
    /// or cannot be opened; NotFound in ReadOnly mode when the file does not exist.
    static Expected<RunStore> open(const std::filesystem::path& path, StoreMode mode);

    RunStore(RunStore&& other) noexcept;
    RunStore& operator=(RunStore&& other) noexcept;
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;
    ~RunStore();

    [[nodiscard]] const std::filesystem::path& path() const;

    /// All runs, newest first. Returns: Storage on a database failure.
    Expected<std::vector<RunSummary>> listRuns() const;

    /// One run. Returns: NotFound when there is no run with this id.
    Expected<RunDetail> run(RunId id) const;

    /// The points of one metric of a run in step order (empty when none), only those after
    /// `afterStep` when given (to follow a running run cheaply). Returns: Storage on failure.
    Expected<std::vector<MetricPoint>> metrics(RunId id, std::string_view name,
                                               std::int64_t afterStep = -1) const;

    /// The run's config flattened to dotted keys ("train.learning_rate") and JSON values, sorted
    /// by key (what a config diff compares). Returns: Storage on failure.
    Expected<std::vector<std::pair<std::string, std::string>>> params(RunId id) const;
    /// Checkpoints of a run, oldest first.
    Expected<std::vector<CheckpointInfo>> checkpoints(RunId id) const;
    /// Exports written by or from a run, oldest first.
    Expected<std::vector<ExportInfo>> exports(RunId id) const;
    /// Notable events of a run, oldest first.
    Expected<std::vector<RunEvent>> events(RunId id) const;
    /// The adapter layout of a run in model order: by layer (lm_head, layer -1, last), then the
    /// modules of a layer in the order the model has them. Empty when none was recorded.
    /// Returns: Storage on failure.
    Expected<std::vector<AdapterLayoutEntry>> adapterLayout(RunId id) const;
    /// The ids of the runs that have an adapter layout, newest first. Returns: Storage on
    /// failure.
    Expected<std::vector<RunId>> runsWithAdapterLayout() const;
    /// Every group of runs, newest first. Returns: Storage on failure.
    Expected<std::vector<RunGroup>> groups() const;

private:
    struct Impl;
    explicit RunStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/// The database path to use: `explicitPath` when not empty, else $FTW_DB when set, else
/// $XDG_DATA_HOME/ftw/ftw.db (~/.local/share/ftw/ftw.db when XDG_DATA_HOME is unset).
[[nodiscard]] std::filesystem::path resolveDatabasePath(const std::filesystem::path& explicitPath);

/// The folder of a run: `<database folder>/runs/<id>`.
[[nodiscard]] std::filesystem::path runDirectory(const std::filesystem::path& databasePath,
                                                 RunId id);

} // namespace ftw
