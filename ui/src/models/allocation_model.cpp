// SPDX-License-Identifier: MIT
#include "allocation_model.h"

#include "bridge/qt_convert.h"

#include <ftw/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace ftw::ui {
namespace {

// Sequential scale (light to saturated blue) and diverging hues (A > B red, A < B blue).
const QColor kScaleLight(236, 244, 252);
const QColor kScaleDark(16, 78, 150);
const QColor kHigher(190, 45, 45);
const QColor kLower(33, 102, 172);
const QColor kDisabled(226, 226, 226);
const QColor kDisabledText(120, 120, 120);
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

QColor mix(const QColor& from, const QColor& to, double t)
{
    t = std::clamp(t, 0.0, 1.0);
    auto channel = [t](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
    return QColor(channel(from.red(), to.red()), channel(from.green(), to.green()),
                  channel(from.blue(), to.blue()));
}

/// Black text on light colours, white on dark ones (relative luminance, sRGB weights).
QColor textOn(const QColor& background)
{
    const double luminance =
        0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF();
    return luminance < 0.55 ? QColor(Qt::white) : QColor(Qt::black);
}

std::optional<double> scoreOf(const AdapterLayoutEntry& e, AllocationModel::Quantity quantity)
{
    switch (quantity) {
    case AllocationModel::Quantity::GradNorm:
        return e.scoreGradNorm;
    case AllocationModel::Quantity::Snip:
        return e.scoreSnip;
    case AllocationModel::Quantity::Synflow:
        return e.scoreSynflow;
    case AllocationModel::Quantity::Random:
        return e.scoreRandom;
    default:
        return std::nullopt;
    }
}

bool isScore(AllocationModel::Quantity quantity)
{
    return quantity == AllocationModel::Quantity::GradNorm ||
           quantity == AllocationModel::Quantity::Snip ||
           quantity == AllocationModel::Quantity::Synflow ||
           quantity == AllocationModel::Quantity::Random;
}

QString shortKind(const QString& kind)
{
    const qsizetype dot = kind.lastIndexOf(QLatin1Char('.'));
    return dot < 0 ? kind : kind.mid(dot + 1);
}

/// "rank 8, 4,096 parameters, GRAD-NORM 0.12" for one module of one run.
QString describe(const AdapterLayoutEntry* e)
{
    if (e == nullptr) {
        return AllocationModel::tr("not adapted");
    }
    QStringList parts;
    parts << toQString(e->method);
    if (e->rank) {
        parts << AllocationModel::tr("rank %1").arg(*e->rank);
    }
    parts << AllocationModel::tr("%1 parameters").arg(toQString(formatGrouped(e->paramCount)));
    if (!e->isEnabled) {
        parts << AllocationModel::tr("off");
    }
    const std::pair<AllocationModel::Quantity, const std::optional<double>*> scores[] = {
        {AllocationModel::Quantity::GradNorm, &e->scoreGradNorm},
        {AllocationModel::Quantity::Snip, &e->scoreSnip},
        {AllocationModel::Quantity::Synflow, &e->scoreSynflow},
        {AllocationModel::Quantity::Random, &e->scoreRandom},
    };
    for (const auto& [quantity, score] : scores) {
        if (score->has_value()) {
            parts << QStringLiteral("%1 %2")
                         .arg(AllocationModel::quantityName(quantity))
                         .arg(**score, 0, 'g', 4);
        }
    }
    return parts.join(QStringLiteral(", "));
}

QString runLabel(const RunSummary& run)
{
    return AllocationModel::tr("run %1 (%2)").arg(run.id).arg(toQString(run.name));
}

} // namespace

AllocationModel::AllocationModel(QObject* parent) : QAbstractTableModel(parent)
{
}

QString AllocationModel::quantityName(Quantity quantity)
{
    switch (quantity) {
    case Quantity::None:
        return tr("none");
    case Quantity::Rank:
        return tr("rank");
    case Quantity::Parameters:
        return tr("parameters");
    case Quantity::GradNorm:
        return tr("GRAD-NORM");
    case Quantity::Snip:
        return tr("SNIP");
    case Quantity::Synflow:
        return tr("SYNFLOW");
    case Quantity::Random:
        return tr("random score");
    }
    return {};
}

void AllocationModel::setRun(Run run)
{
    beginResetModel();
    m_run = std::move(run);
    m_other.reset();
    rebuild();
    const std::vector<Quantity> available = availableQuantities();
    if (std::find(available.begin(), available.end(), m_quantity) == available.end()) {
        m_quantity = available.empty() ? Quantity::None : available.front();
    }
    updateRange();
    endResetModel();
}

void AllocationModel::setComparison(std::optional<Run> other)
{
    beginResetModel();
    m_other = std::move(other);
    rebuild();
    updateRange();
    endResetModel();
}

void AllocationModel::setQuantity(Quantity quantity)
{
    const std::vector<Quantity> available = availableQuantities();
    if (quantity == m_quantity ||
        std::find(available.begin(), available.end(), quantity) == available.end()) {
        return;
    }
    m_quantity = quantity;
    updateRange();
    if (rowCount() > 0 && columnCount() > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    }
}

std::vector<AllocationModel::Quantity> AllocationModel::availableQuantities() const
{
    std::set<Quantity> present;
    for (const std::optional<Run>* run : {&m_run, &m_other}) {
        if (!run->has_value()) {
            continue;
        }
        for (const AdapterLayoutEntry& e : (*run)->layout) {
            present.insert(Quantity::Parameters);
            if (e.rank) {
                present.insert(Quantity::Rank);
            }
            for (const Quantity q :
                 {Quantity::GradNorm, Quantity::Snip, Quantity::Synflow, Quantity::Random}) {
                if (scoreOf(e, q)) {
                    present.insert(q);
                }
            }
        }
    }
    return {present.begin(), present.end()}; // the enum's order: rank, parameters, scores
}

void AllocationModel::rebuild()
{
    m_kinds.clear();
    m_shortKinds.clear();
    m_layers.clear();
    m_cells.clear();
    m_otherCells.clear();
    std::vector<const std::vector<AdapterLayoutEntry>*> layouts;
    for (const std::optional<Run>* run : {&m_run, &m_other}) {
        if (run->has_value()) {
            layouts.push_back(&(*run)->layout);
        }
    }

    // Columns: the kinds of the blocks in model order. Each layer lists its kinds in model order
    // but may lack some, so the layers' orders are merged: a topological order of "comes right
    // after in some layer", ties going to the kind seen first. Then kinds only lm_head has.
    std::int64_t maxLayer = -1;
    bool hasHead = false;
    std::vector<QString> headKinds;
    std::vector<QString> seen;
    std::set<std::pair<std::size_t, std::size_t>> before;
    for (const auto* layout : layouts) {
        std::int64_t layer = -2;
        std::size_t previous = kNone;
        for (const AdapterLayoutEntry& e : *layout) {
            const QString kind = toQString(e.module);
            if (e.layer < 0) {
                hasHead = true;
                if (std::find(headKinds.begin(), headKinds.end(), kind) == headKinds.end()) {
                    headKinds.push_back(kind);
                }
                continue;
            }
            maxLayer = std::max(maxLayer, e.layer);
            if (e.layer != layer) {
                layer = e.layer;
                previous = kNone;
            }
            auto found = std::find(seen.begin(), seen.end(), kind);
            if (found == seen.end()) {
                found = seen.insert(seen.end(), kind);
            }
            const auto current = static_cast<std::size_t>(found - seen.begin());
            if (previous != kNone && previous != current) {
                before.emplace(previous, current);
            }
            previous = current;
        }
    }
    std::vector<bool> placed(seen.size(), false);
    for (std::size_t n = 0; n < seen.size(); ++n) {
        std::optional<std::size_t> next;
        for (std::size_t i = 0; i < seen.size() && !next; ++i) {
            const bool isReady =
                !placed[i] && std::none_of(before.begin(), before.end(), [&](const auto& edge) {
                    return edge.second == i && !placed[edge.first];
                });
            if (isReady) {
                next = i;
            }
        }
        if (!next) { // the runs disagree on the order: take the first seen
            next = static_cast<std::size_t>(std::find(placed.begin(), placed.end(), false) -
                                            placed.begin());
        }
        placed[*next] = true;
        m_kinds.push_back(seen[*next]);
    }
    for (const QString& kind : headKinds) {
        if (std::find(m_kinds.begin(), m_kinds.end(), kind) == m_kinds.end()) {
            m_kinds.push_back(kind);
        }
    }
    std::map<QString, int> shortCounts;
    for (const QString& kind : m_kinds) {
        shortCounts[shortKind(kind)] += 1;
    }
    for (const QString& kind : m_kinds) {
        m_shortKinds.push_back(shortCounts[shortKind(kind)] > 1 ? kind : shortKind(kind));
    }
    for (std::int64_t layer = 0; layer <= maxLayer; ++layer) {
        m_layers.push_back(layer);
    }
    if (hasHead) {
        m_layers.push_back(-1);
    }

    const std::size_t size = m_layers.size() * m_kinds.size();
    auto fill = [&](const std::optional<Run>& run, Grid& grid) {
        grid.assign(size, nullptr);
        if (!run) {
            return;
        }
        for (const AdapterLayoutEntry& e : run->layout) {
            const auto row = e.layer < 0 ? m_layers.size() - 1 : static_cast<std::size_t>(e.layer);
            const auto column = static_cast<std::size_t>(
                std::find(m_kinds.begin(), m_kinds.end(), toQString(e.module)) - m_kinds.begin());
            grid[row * m_kinds.size() + column] = &e;
        }
    };
    fill(m_run, m_cells);
    fill(m_other, m_otherCells);
}

void AllocationModel::updateRange()
{
    m_range.reset();
    for (int row = 0; row < rowCount(); ++row) {
        for (int column = 0; column < columnCount(); ++column) {
            const std::optional<double> v = value(row, column);
            if (!v) {
                continue;
            }
            const double low = isComparing() ? -std::abs(*v) : *v;
            const double high = isComparing() ? std::abs(*v) : *v;
            m_range = Range{m_range ? std::min(m_range->min, low) : low,
                            m_range ? std::max(m_range->max, high) : high};
        }
    }
}

const AdapterLayoutEntry* AllocationModel::cell(const Grid& grid, int row, int column) const
{
    if (row < 0 || column < 0 || row >= rowCount() || column >= columnCount()) {
        return nullptr;
    }
    return grid[static_cast<std::size_t>(row) * m_kinds.size() + static_cast<std::size_t>(column)];
}

std::optional<double> AllocationModel::quantityOf(const AdapterLayoutEntry* entry) const
{
    if (entry == nullptr) {
        return std::nullopt;
    }
    switch (m_quantity) {
    case Quantity::None:
        return std::nullopt;
    case Quantity::Rank:
        if (!entry->isEnabled) {
            return 0.0; // a module switched off trains nothing: rank 0
        }
        return entry->rank ? std::optional<double>(static_cast<double>(*entry->rank))
                           : std::nullopt;
    case Quantity::Parameters:
        return static_cast<double>(entry->paramCount);
    default:
        return scoreOf(*entry, m_quantity);
    }
}

std::optional<double> AllocationModel::value(int row, int column) const
{
    const AdapterLayoutEntry* a = cell(m_cells, row, column);
    if (!isComparing()) {
        return quantityOf(a);
    }
    const AdapterLayoutEntry* b = cell(m_otherCells, row, column);
    if (a == nullptr && b == nullptr) {
        return std::nullopt;
    }
    // A module one run does not adapt has rank 0 and no parameters; it has no score.
    const std::optional<double> zero = isScore(m_quantity) ? std::nullopt : std::optional(0.0);
    const std::optional<double> va = a != nullptr ? quantityOf(a) : zero;
    const std::optional<double> vb = b != nullptr ? quantityOf(b) : zero;
    if (!va || !vb) {
        return std::nullopt;
    }
    return *va - *vb;
}

QColor AllocationModel::colorFor(double value) const
{
    if (!m_range) {
        return QColor(Qt::white);
    }
    if (isComparing()) {
        const double extent = m_range->max;
        if (extent <= 0.0 || value == 0.0) {
            return QColor(Qt::white);
        }
        // At least a faint tint for the smallest difference, so no difference looks equal.
        const double t = 0.15 + 0.85 * std::abs(value) / extent;
        return mix(QColor(Qt::white), value > 0.0 ? kHigher : kLower, t);
    }
    const double span = m_range->max - m_range->min;
    const double t = span > 0.0 ? (value - m_range->min) / span : 0.5;
    return mix(kScaleLight, kScaleDark, t);
}

QString AllocationModel::formatValue(double value) const
{
    const QString sign = isComparing() && value > 0.0 ? QStringLiteral("+") : QString();
    switch (m_quantity) {
    case Quantity::Rank:
        return sign + QString::number(static_cast<qint64>(std::llround(value)));
    case Quantity::Parameters: {
        const auto count = static_cast<std::int64_t>(std::llround(value));
        const QString magnitude = toQString(formatCount(count < 0 ? -count : count));
        return (count < 0 ? QStringLiteral("-") : sign) + magnitude;
    }
    default:
        return sign + QString::number(value, 'g', 3);
    }
}

QString AllocationModel::displayOf(int row, int column) const
{
    if (isComparing()) {
        const std::optional<double> v = value(row, column);
        return v ? formatValue(*v) : QString();
    }
    const AdapterLayoutEntry* e = cell(m_cells, row, column);
    if (e == nullptr) {
        return {};
    }
    if (!e->isEnabled) {
        return tr("off");
    }
    return e->rank ? QString::number(*e->rank) : tr("on");
}

QString AllocationModel::toolTipOf(int row, int column) const
{
    const std::int64_t layer = m_layers[static_cast<std::size_t>(row)];
    const QString& kind = m_kinds[static_cast<std::size_t>(column)];
    QString text = layer < 0 ? kind : tr("layer %1 %2").arg(layer).arg(kind);
    const AdapterLayoutEntry* a = cell(m_cells, row, column);
    if (!isComparing()) {
        return text + QStringLiteral("\n") + describe(a);
    }
    text += QStringLiteral("\nA, %1: %2").arg(runLabel(m_run->summary), describe(a));
    text += QStringLiteral("\nB, %1: %2")
                .arg(runLabel(m_other->summary), describe(cell(m_otherCells, row, column)));
    if (const std::optional<double> v = value(row, column)) {
        text += tr("\nA - B (%1): %2").arg(quantityName(m_quantity), formatValue(*v));
    }
    return text;
}

int AllocationModel::adaptedModules() const
{
    if (!m_run) {
        return 0;
    }
    return static_cast<int>(std::count_if(m_run->layout.begin(), m_run->layout.end(),
                                          [](const AdapterLayoutEntry& e) { return e.isEnabled; }));
}

std::int64_t AllocationModel::trainableParams() const
{
    std::int64_t total = 0;
    if (m_run) {
        for (const AdapterLayoutEntry& e : m_run->layout) {
            total += e.isEnabled ? e.paramCount : 0;
        }
    }
    return total;
}

int AllocationModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_layers.size());
}

int AllocationModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_kinds.size());
}

QVariant AllocationModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount()) {
        return {};
    }
    const int row = index.row();
    const int column = index.column();
    const AdapterLayoutEntry* a = cell(m_cells, row, column);
    switch (role) {
    case Qt::DisplayRole:
        return displayOf(row, column);
    case Qt::ToolTipRole:
        return toolTipOf(row, column);
    case Qt::TextAlignmentRole:
        return QVariant::fromValue(Qt::Alignment(Qt::AlignCenter));
    case Qt::BackgroundRole:
    case Qt::ForegroundRole: {
        QColor background;
        if (!isComparing() && a != nullptr && !a->isEnabled) {
            background = kDisabled;
        } else if (const std::optional<double> v = value(row, column)) {
            background = colorFor(*v);
        } else if (a == nullptr && !isComparing()) {
            return {}; // not adapted: the view's own background
        } else {
            background = QColor(Qt::white);
        }
        if (role == Qt::BackgroundRole) {
            return background;
        }
        if (!isComparing() && a != nullptr && !a->isEnabled) {
            return kDisabledText;
        }
        return textOn(background);
    }
    case ValueRole: {
        const std::optional<double> v = value(row, column);
        return v ? QVariant(*v) : QVariant();
    }
    case IsAdaptedRole:
        return a != nullptr && a->isEnabled;
    default:
        return {};
    }
}

QVariant AllocationModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (section < 0) {
        return {};
    }
    if (orientation == Qt::Horizontal) {
        if (section >= columnCount()) {
            return {};
        }
        const auto i = static_cast<std::size_t>(section);
        if (role == Qt::DisplayRole) {
            return m_shortKinds[i];
        }
        return role == Qt::ToolTipRole ? QVariant(m_kinds[i]) : QVariant();
    }
    if (section >= rowCount() || (role != Qt::DisplayRole && role != Qt::ToolTipRole)) {
        return {};
    }
    const std::int64_t layer = m_layers[static_cast<std::size_t>(section)];
    return layer < 0 ? QStringLiteral("lm_head") : tr("layer %1").arg(layer);
}

} // namespace ftw::ui
