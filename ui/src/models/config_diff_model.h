// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QAbstractTableModel>

#include <string>
#include <utility>
#include <vector>

namespace ftw::ui {

/// The config keys that differ between runs: one row per key whose value is not the same in all
/// of them (a key a run lacks shows "-"), one column per run. Read-only.
class ConfigDiffModel : public QAbstractTableModel {
    Q_OBJECT

public:
    struct Run {
        RunSummary summary;
        std::vector<std::pair<std::string, std::string>> params; ///< RunStore::params()
    };

    explicit ConfigDiffModel(QObject* parent = nullptr);

    /// Replaces the compared runs.
    void setRuns(std::vector<Run> runs);
    /// The differing keys, in key order.
    [[nodiscard]] const std::vector<std::string>& keys() const { return m_keys; }

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index,
                                int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    std::vector<Run> m_runs;
    std::vector<std::string> m_keys;
    std::vector<std::vector<std::string>> m_values; ///< [key][run]
};

} // namespace ftw::ui
