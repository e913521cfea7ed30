// SPDX-License-Identifier: MIT
#include "config_diff_model.h"

#include "bridge/qt_convert.h"

#include <map>
#include <set>

namespace ftw::ui {

ConfigDiffModel::ConfigDiffModel(QObject* parent) : QAbstractTableModel(parent)
{
}

void ConfigDiffModel::setRuns(std::vector<Run> runs)
{
    beginResetModel();
    m_runs = std::move(runs);
    m_keys.clear();
    m_values.clear();
    std::set<std::string> allKeys;
    std::vector<std::map<std::string, std::string>> byRun;
    for (const Run& run : m_runs) {
        byRun.emplace_back(run.params.begin(), run.params.end());
        for (const auto& [key, value] : run.params) {
            allKeys.insert(key);
        }
    }
    for (const std::string& key : allKeys) {
        std::vector<std::string> values;
        for (const auto& params : byRun) {
            const auto it = params.find(key);
            values.push_back(it == params.end() ? "-" : it->second);
        }
        if (std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) !=
            values.end()) {
            m_keys.push_back(key);
            m_values.push_back(std::move(values));
        }
    }
    endResetModel();
}

int ConfigDiffModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_keys.size());
}

int ConfigDiffModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

QVariant ConfigDiffModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount() ||
        (role != Qt::DisplayRole && role != Qt::ToolTipRole)) {
        return {};
    }
    return toQString(
        m_values[static_cast<std::size_t>(index.row())][static_cast<std::size_t>(index.column())]);
}

QVariant ConfigDiffModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole || section < 0) {
        return {};
    }
    if (orientation == Qt::Vertical) {
        return section < rowCount() ? toQString(m_keys[static_cast<std::size_t>(section)])
                                    : QVariant();
    }
    if (section >= columnCount()) {
        return {};
    }
    const RunSummary& run = m_runs[static_cast<std::size_t>(section)].summary;
    return tr("%1 (run %2)").arg(toQString(run.name)).arg(run.id);
}

} // namespace ftw::ui
