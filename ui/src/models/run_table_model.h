// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QAbstractTableModel>
#include <QList>
#include <QString>

#include <unordered_map>
#include <vector>

namespace ftw::ui {

/// All runs of the store, newest first, for the runs table. Reads through the UI's own read-only
/// connection in reload(); data() does no I/O. Updates are incremental (inserted rows and
/// dataChanged) so selections survive a reload.
class RunTableModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Name,
        Status,
        Method,
        Model,
        Dataset,
        Params,
        LastLoss,
        LossCurve,
        BestEval,
        Duration,
        Created,
        ColumnCount
    };
    enum Role {
        RunIdRole = Qt::UserRole + 1, ///< qint64
        StatusRole,                   ///< QString, runStatusName()
        SortRole,                     ///< a value that sorts naturally (numbers as numbers)
        SparklineRole, ///< QList<double>: the training loss, at most kSparklinePoints values
    };
    static constexpr int kSparklinePoints = 60;

    explicit RunTableModel(RunStore store, QObject* parent = nullptr);

    /// Re-reads the runs from the store. Emits loadFailed() when the store cannot be read.
    void reload();
    /// Replaces the rows with `runs` (newest first), as incrementally as possible.
    void setRuns(std::vector<RunSummary> runs);

    [[nodiscard]] const RunSummary* runAt(int row) const;
    [[nodiscard]] int rowOfRun(RunId id) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void loadFailed(const QString& message);

private:
    QVariant displayValue(const RunSummary& run, int column) const;
    QVariant sortValue(const RunSummary& run, int column) const;

    /// Reads the new loss points of runs that changed since the last call (incrementally).
    void updateCurves();

    struct Curve {
        std::int64_t updatedAtMs = -1;
        std::int64_t lastStep = -1;
        std::vector<double> values; ///< every train/loss value
        QList<double> sparkline;    ///< `values` averaged into at most kSparklinePoints buckets
    };

    RunStore m_store;
    std::vector<RunSummary> m_runs;
    std::unordered_map<RunId, Curve> m_curves;
};

} // namespace ftw::ui
