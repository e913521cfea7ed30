// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QAbstractListModel>
#include <QString>

#include <filesystem>
#include <vector>

namespace ftw::ui {

/// A training run that left an adapter folder: what the Export and Playground pages start from.
struct AdapterRun {
    RunId id = 0;
    std::string name;
    std::string method;
    RunStatus status = RunStatus::Unknown;
    std::filesystem::path modelDir;   ///< the base model the run trained on
    std::filesystem::path runDir;     ///< `<database folder>/runs/<id>`
    std::filesystem::path adapterDir; ///< `<runDir>/adapter`, PEFT layout

    bool operator==(const AdapterRun&) const = default;
};

/// The training runs of the store whose adapter folder exists (it holds adapter_config.json),
/// newest first, one row each. Read-only; reload() reads the store, data() does no I/O.
class AdapterRunModel : public QAbstractListModel {
    Q_OBJECT

public:
    enum Role {
        RunIdRole = Qt::UserRole + 1, ///< qint64
    };

    explicit AdapterRunModel(QObject* parent = nullptr);

    /// Re-reads the runs through a read-only connection to `databasePath`, opened and closed here.
    /// Rows are only reset when the list changed. Returns: "" on success, else a readable message
    /// (the rows are then left as they were).
    QString reload(const std::filesystem::path& databasePath);
    /// Replaces the rows (reset only when they differ).
    void setRuns(std::vector<AdapterRun> runs);

    /// The run of `row`, nullptr when out of range.
    [[nodiscard]] const AdapterRun* runAt(int row) const;
    /// The row of run `id`, -1 when it is not listed.
    [[nodiscard]] int rowOfRun(RunId id) const;

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index,
                                int role = Qt::DisplayRole) const override;

private:
    std::vector<AdapterRun> m_runs;
};

} // namespace ftw::ui
