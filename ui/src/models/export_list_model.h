// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QAbstractTableModel>

#include <vector>

namespace ftw::ui {

/// The exports written from one run (RunStore::exports()), newest first: when, kind, dtype,
/// status, max |logit difference| and folder. Read-only; a failed export's message is its tooltip.
class ExportListModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Created, Kind, DType, Status, MaxAbsDiff, Path, ColumnCount };
    enum Role {
        ExportIdRole = Qt::UserRole + 1, ///< qint64
    };

    explicit ExportListModel(QObject* parent = nullptr);

    /// Replaces the rows; `exports` oldest first, as the store gives them.
    void setExports(std::vector<ExportInfo> exports);

    /// The export of `row`, nullptr when out of range.
    [[nodiscard]] const ExportInfo* exportAt(int row) const;
    /// The row of export `id`, -1 when it is not listed.
    [[nodiscard]] int rowOfExport(std::int64_t id) const;

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index,
                                int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    QVariant displayValue(const ExportInfo& info, int column) const;

    std::vector<ExportInfo> m_exports; ///< newest first
};

} // namespace ftw::ui
