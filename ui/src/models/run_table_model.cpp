// SPDX-License-Identifier: MIT
#include "run_table_model.h"

#include "bridge/qt_convert.h"

#include <ftw/defaults.h>
#include <ftw/format.h>

#include <QColor>
#include <QDateTime>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

namespace ftw::ui {
namespace {

/// The last component of a folder or file path ("models/tiny/" -> "tiny"): what tells runs apart
/// in a narrow column (the tooltip has the whole path). Text that is not a path stays as it is.
QString shortPath(const std::string& path)
{
    QString text = toQString(path);
    if (!text.contains(QLatin1Char('/'))) {
        return text;
    }
    while (text.size() > 1 && text.endsWith(QLatin1Char('/'))) {
        text.chop(1);
    }
    return text.mid(text.lastIndexOf(QLatin1Char('/')) + 1);
}

/// The bundled default model's folder as runs record it ("" where there is none): its short name
/// would be just "model".
const std::string& bundledModelPath()
{
    static const std::string path = [] {
        const auto defaults = findBundledDefaults();
        return defaults ? defaults->modelDir.lexically_normal().string() : std::string();
    }();
    return path;
}

std::int64_t nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QColor statusColor(RunStatus status)
{
    switch (status) {
    case RunStatus::Running:
    case RunStatus::Queued:
        return QColor(0x1d, 0x6f, 0xd8);
    case RunStatus::Succeeded:
        return QColor(0x1f, 0x8a, 0x4c);
    case RunStatus::Failed:
    case RunStatus::Interrupted:
        return QColor(0xc0, 0x39, 0x2b);
    case RunStatus::Cancelled:
        return QColor(0x8a, 0x6d, 0x1f);
    case RunStatus::Unknown:
        break;
    }
    return {};
}

bool sameRow(const RunSummary& a, const RunSummary& b)
{
    return a.status == b.status && a.updatedAtMs == b.updatedAtMs && a.lastLoss == b.lastLoss &&
           a.name == b.name && a.finishedAtMs == b.finishedAtMs;
}

} // namespace

RunTableModel::RunTableModel(RunStore store, QObject* parent)
    : QAbstractTableModel(parent), m_store(std::move(store))
{
}

void RunTableModel::reload()
{
    auto runs = m_store.listRuns();
    if (!runs) {
        Q_EMIT loadFailed(toQString(runs.error().message));
        return;
    }
    setRuns(std::move(*runs));
    updateCurves();
}

void RunTableModel::updateCurves()
{
    for (std::size_t row = 0; row < m_runs.size(); ++row) {
        const RunSummary& run = m_runs[row];
        Curve& curve = m_curves[run.id];
        if (curve.updatedAtMs == run.updatedAtMs && run.status != RunStatus::Running) {
            continue;
        }
        curve.updatedAtMs = run.updatedAtMs;
        const auto points = m_store.metrics(run.id, "train/loss", curve.lastStep);
        if (!points || points->empty()) {
            continue;
        }
        for (const MetricPoint& p : *points) {
            curve.values.push_back(p.value);
        }
        curve.lastStep = points->back().step;
        // Bucket means: a smooth outline of the whole run in a fixed number of values.
        const std::size_t n = curve.values.size();
        const std::size_t buckets = std::min<std::size_t>(n, kSparklinePoints);
        curve.sparkline.clear();
        for (std::size_t b = 0; b < buckets; ++b) {
            const std::size_t begin = b * n / buckets;
            const std::size_t end = (b + 1) * n / buckets;
            double sum = 0.0;
            for (std::size_t i = begin; i < end; ++i) {
                sum += curve.values[i];
            }
            curve.sparkline.append(sum / static_cast<double>(end - begin));
        }
        const QModelIndex cell = index(static_cast<int>(row), LossCurve);
        Q_EMIT dataChanged(cell, cell, {SparklineRole});
    }
}

void RunTableModel::setRuns(std::vector<RunSummary> runs)
{
    // Newest first: new runs appear as a block at the top while the older ones keep their order.
    const auto newCount =
        static_cast<std::ptrdiff_t>(runs.size()) - static_cast<std::ptrdiff_t>(m_runs.size());
    const bool isPrepend =
        newCount >= 0 &&
        std::equal(m_runs.begin(), m_runs.end(), runs.begin() + newCount, runs.end(),
                   [](const RunSummary& a, const RunSummary& b) { return a.id == b.id; });
    if (!isPrepend) {
        beginResetModel();
        m_runs = std::move(runs);
        endResetModel();
        return;
    }
    if (newCount > 0) {
        beginInsertRows({}, 0, static_cast<int>(newCount) - 1);
        m_runs.insert(m_runs.begin(), runs.begin(), runs.begin() + newCount);
        endInsertRows();
    }
    const bool isRunning = std::any_of(runs.begin(), runs.end(), [](const RunSummary& r) {
        return r.status == RunStatus::Running;
    });
    for (std::size_t row = static_cast<std::size_t>(newCount); row < runs.size(); ++row) {
        const bool isChanged = !sameRow(m_runs[row], runs[row]);
        m_runs[row] = std::move(runs[row]);
        if (isChanged || (isRunning && m_runs[row].status == RunStatus::Running)) {
            Q_EMIT dataChanged(index(static_cast<int>(row), 0),
                               index(static_cast<int>(row), ColumnCount - 1));
        }
    }
}

const RunSummary* RunTableModel::runAt(int row) const
{
    return row >= 0 && row < rowCount() ? &m_runs[static_cast<std::size_t>(row)] : nullptr;
}

int RunTableModel::rowOfRun(RunId id) const
{
    const auto it = std::find_if(m_runs.begin(), m_runs.end(),
                                 [id](const RunSummary& r) { return r.id == id; });
    return it == m_runs.end() ? -1 : static_cast<int>(it - m_runs.begin());
}

int RunTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const
{
    const RunSummary* run = index.isValid() ? runAt(index.row()) : nullptr;
    if (run == nullptr || index.column() < 0 || index.column() >= ColumnCount) {
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
        return displayValue(*run, index.column());
    case Qt::ToolTipRole:
        if (run->error.isError()) {
            return toQString(run->error.message);
        }
        if (index.column() == LossCurve) {
            return tr("Training loss over the run");
        }
        if (index.column() == Model) {
            return toQString(run->model);
        }
        return index.column() == Dataset ? toQString(run->dataset) : QVariant();
    case Qt::ForegroundRole:
        return index.column() == Status ? QVariant(statusColor(run->status)) : QVariant();
    case Qt::TextAlignmentRole:
        if (index.column() >= Params && index.column() <= Duration && index.column() != LossCurve) {
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        }
        return {};
    case RunIdRole:
        return QVariant::fromValue<qint64>(run->id);
    case StatusRole:
        return toQString(runStatusName(run->status));
    case SortRole:
        return sortValue(*run, index.column());
    case SparklineRole: {
        if (index.column() != LossCurve) {
            return {};
        }
        const auto it = m_curves.find(run->id);
        return it == m_curves.end() ? QVariant() : QVariant::fromValue(it->second.sparkline);
    }
    default:
        return {};
    }
}

QVariant RunTableModel::displayValue(const RunSummary& run, int column) const
{
    switch (column) {
    case Name:
        return toQString(run.name);
    case Status:
        return toQString(runStatusName(run.status));
    case Method:
        return toQString(run.method);
    case Model:
        if (!run.model.empty() &&
            std::filesystem::path(run.model).lexically_normal().string() == bundledModelPath()) {
            return tr("bundled (KJV)");
        }
        return shortPath(run.model);
    case Dataset:
        return shortPath(run.dataset);
    case Params:
        return toQString(formatCount(run.trainableParams));
    case LastLoss:
        return run.lastLoss ? QString::number(*run.lastLoss, 'f', 4) : QStringLiteral("-");
    case BestEval:
        return run.bestEvalLoss ? QString::number(*run.bestEvalLoss, 'f', 4) : QStringLiteral("-");
    case Duration:
        return run.startedAtMs ? toQString(formatDuration(run.durationMs(nowMs())))
                               : QStringLiteral("-");
    case Created:
        return QDateTime::fromMSecsSinceEpoch(run.createdAtMs)
            .toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    default:
        return {};
    }
}

QVariant RunTableModel::sortValue(const RunSummary& run, int column) const
{
    switch (column) {
    case Params:
        return QVariant::fromValue<qint64>(run.trainableParams.value_or(-1));
    case LastLoss:
        return run.lastLoss.value_or(1e300);
    case BestEval:
        return run.bestEvalLoss.value_or(1e300);
    case Duration:
        return QVariant::fromValue<qint64>(run.durationMs(nowMs()));
    case Created:
        return QVariant::fromValue<qint64>(run.createdAtMs);
    default:
        return displayValue(run, column).toString().toLower();
    }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
    case Name:
        return tr("Name");
    case Status:
        return tr("Status");
    case Method:
        return tr("Method");
    case Model:
        return tr("Model");
    case Dataset:
        return tr("Dataset");
    case Params:
        return tr("Trainable");
    case LastLoss:
        return tr("Loss");
    case LossCurve:
        return tr("Loss curve");
    case BestEval:
        return tr("Best eval");
    case Duration:
        return tr("Duration");
    case Created:
        return tr("Created");
    default:
        return {};
    }
}

} // namespace ftw::ui
