// SPDX-License-Identifier: MIT
#include "export_list_model.h"

#include "bridge/qt_convert.h"
#include "verification_model.h"

#include <QColor>
#include <QDateTime>

#include <algorithm>

namespace ftw::ui {

ExportListModel::ExportListModel(QObject* parent) : QAbstractTableModel(parent)
{
}

void ExportListModel::setExports(std::vector<ExportInfo> exports)
{
    beginResetModel();
    m_exports = std::move(exports);
    std::reverse(m_exports.begin(), m_exports.end());
    endResetModel();
}

const ExportInfo* ExportListModel::exportAt(int row) const
{
    return row >= 0 && row < rowCount() ? &m_exports[static_cast<std::size_t>(row)] : nullptr;
}

int ExportListModel::rowOfExport(std::int64_t id) const
{
    for (std::size_t row = 0; row < m_exports.size(); ++row) {
        if (m_exports[row].id == id) {
            return static_cast<int>(row);
        }
    }
    return -1;
}

int ExportListModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_exports.size());
}

int ExportListModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ExportListModel::displayValue(const ExportInfo& info, int column) const
{
    switch (column) {
    case Created:
        return QDateTime::fromMSecsSinceEpoch(info.createdAtMs)
            .toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    case Kind:
        return info.kind == "adapter" ? tr("adapter") : tr("merged model");
    case DType:
        return info.dtype.empty() ? QStringLiteral("-") : toQString(info.dtype);
    case Status:
        return toQString(info.status);
    case MaxAbsDiff:
        return formatDifference(info.maxAbsLogitDiff);
    default:
        return toQString(info.path);
    }
}

QVariant ExportListModel::data(const QModelIndex& index, int role) const
{
    const ExportInfo* info = index.isValid() ? exportAt(index.row()) : nullptr;
    if (info == nullptr || index.column() >= ColumnCount) {
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
        return displayValue(*info, index.column());
    case Qt::ToolTipRole:
        if (!info->errorMessage.empty()) {
            return toQString(info->errorMessage);
        }
        return index.column() == Path ? QVariant(toQString(info->path)) : QVariant();
    case Qt::ForegroundRole:
        if (index.column() == Status && info->status == "failed") {
            return QColor(0xb0, 0x00, 0x20);
        }
        return {};
    case ExportIdRole:
        return QVariant::fromValue<qint64>(info->id);
    default:
        return {};
    }
}

QVariant ExportListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= ColumnCount) {
        return {};
    }
    switch (section) {
    case Created:
        return tr("Created");
    case Kind:
        return tr("Kind");
    case DType:
        return tr("Dtype");
    case Status:
        return tr("Status");
    case MaxAbsDiff:
        return tr("Max |Δlogit|");
    default:
        return tr("Folder");
    }
}

} // namespace ftw::ui
