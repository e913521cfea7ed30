// SPDX-License-Identifier: MIT
#include "adapter_run_model.h"

#include "bridge/qt_convert.h"

#include <system_error>

namespace ftw::ui {

AdapterRunModel::AdapterRunModel(QObject* parent) : QAbstractListModel(parent)
{
}

QString AdapterRunModel::reload(const std::filesystem::path& databasePath)
{
    auto store = RunStore::open(databasePath, StoreMode::ReadOnly);
    if (!store) {
        return toQString(store.error().message);
    }
    auto summaries = store->listRuns();
    if (!summaries) {
        return toQString(summaries.error().message);
    }
    std::vector<AdapterRun> runs;
    for (const RunSummary& summary : *summaries) {
        // A failed or interrupted run never got as far as writing its adapter: an adapter in its
        // folder is another store's (one beside this store numbered a run the same).
        if (summary.kind != "train" || summary.status == RunStatus::Failed ||
            summary.status == RunStatus::Interrupted) {
            continue;
        }
        const std::filesystem::path runDir = runDirectory(databasePath, summary.id);
        const std::filesystem::path adapterDir = runDir / "adapter";
        std::error_code ec;
        if (!std::filesystem::exists(adapterDir / "adapter_config.json", ec)) {
            continue; // still training, failed early, or a full fine-tune (no adapter)
        }
        runs.push_back(AdapterRun{summary.id, summary.name, summary.method, summary.status,
                                  summary.model, runDir, adapterDir});
    }
    setRuns(std::move(runs));
    return {};
}

void AdapterRunModel::setRuns(std::vector<AdapterRun> runs)
{
    if (runs == m_runs) {
        return;
    }
    beginResetModel();
    m_runs = std::move(runs);
    endResetModel();
}

const AdapterRun* AdapterRunModel::runAt(int row) const
{
    return row >= 0 && row < rowCount() ? &m_runs[static_cast<std::size_t>(row)] : nullptr;
}

int AdapterRunModel::rowOfRun(RunId id) const
{
    for (std::size_t row = 0; row < m_runs.size(); ++row) {
        if (m_runs[row].id == id) {
            return static_cast<int>(row);
        }
    }
    return -1;
}

int AdapterRunModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

QVariant AdapterRunModel::data(const QModelIndex& index, int role) const
{
    const AdapterRun* run = index.isValid() ? runAt(index.row()) : nullptr;
    if (run == nullptr) {
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
        return run->method.empty() ? tr("%1 (run %2)").arg(toQString(run->name)).arg(run->id)
                                   : tr("%1 (run %2, %3)")
                                         .arg(toQString(run->name))
                                         .arg(run->id)
                                         .arg(toQString(run->method));
    case Qt::ToolTipRole:
        return tr("Base model: %1\nAdapter: %2\nStatus: %3")
            .arg(toQString(run->modelDir), toQString(run->adapterDir),
                 toQString(runStatusName(run->status)));
    case RunIdRole:
        return QVariant::fromValue<qint64>(run->id);
    default:
        return {};
    }
}

} // namespace ftw::ui
