// SPDX-License-Identifier: MIT
#include "allocation_page.h"

#include "bridge/qt_convert.h"
#include "models/allocation_model.h"

#include <ftw/format.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QPixmap>
#include <QShowEvent>
#include <QSignalBlocker>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace ftw::ui {
namespace {

constexpr int kLegendWidth = 240;
constexpr int kLegendHeight = 14;
constexpr int kMinCellWidth = 64;
constexpr int kCellHeight = 34;

struct Totals {
    int modules = 0;
    std::int64_t params = 0;
};

Totals totalsOf(const std::vector<AdapterLayoutEntry>& layout)
{
    Totals t;
    for (const AdapterLayoutEntry& e : layout) {
        if (e.isEnabled) {
            t.modules += 1;
            t.params += e.paramCount;
        }
    }
    return t;
}

QString swatch(const QColor& color)
{
    return QStringLiteral("<span style=\"background-color:%1; color:%1;\">&#9632;&#9632;</span>")
        .arg(color.name());
}

} // namespace

AllocationPage::AllocationPage(std::filesystem::path databasePath, QWidget* parent)
    : QWidget(parent), m_databasePath(std::move(databasePath))
{
    m_model = new AllocationModel(this);
    m_title = new QLabel(tr("Allocation"), this);
    m_title->setObjectName(QStringLiteral("pageTitle"));
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("allocationMessage"));
    m_message->setWordWrap(true);

    m_run = new QComboBox(this);
    m_run->setObjectName(QStringLiteral("allocationRun"));
    m_run->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_run->setMinimumContentsLength(24);
    m_compare = new QComboBox(this);
    m_compare->setObjectName(QStringLiteral("allocationCompare"));
    m_compare->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_compare->setMinimumContentsLength(24);
    m_compare->setToolTip(tr("Show the difference A - B of the chosen quantity in every cell"));
    m_quantity = new QComboBox(this);
    m_quantity->setObjectName(QStringLiteral("allocationQuantity"));
    m_quantity->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_quantity->setToolTip(tr("What the colours show; proxy scores appear when the run has them"));

    m_heatmap = new QTableView(this);
    m_heatmap->setObjectName(QStringLiteral("allocationHeatmap"));
    m_heatmap->setModel(m_model);
    m_heatmap->setSelectionMode(QAbstractItemView::NoSelection);
    m_heatmap->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_heatmap->setFocusPolicy(Qt::NoFocus);
    m_heatmap->setShowGrid(true);
    m_heatmap->setStyleSheet(QStringLiteral("QTableView#allocationHeatmap { gridline-color: "
                                            "#ffffff; background-color: #fafafa; }"));
    m_heatmap->horizontalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_heatmap->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_heatmap->verticalHeader()->setDefaultSectionSize(kCellHeight);
    m_heatmap->verticalHeader()->setDefaultAlignment(Qt::AlignRight | Qt::AlignVCenter);

    m_legend = new QWidget(this);
    m_legend->setObjectName(QStringLiteral("allocationLegend"));
    m_legendTitle = new QLabel(m_legend);
    m_legendMin = new QLabel(m_legend);
    m_legendMin->setObjectName(QStringLiteral("legendMin"));
    m_legendBar = new QLabel(m_legend);
    m_legendBar->setFixedSize(kLegendWidth, kLegendHeight);
    m_legendMax = new QLabel(m_legend);
    m_legendMax->setObjectName(QStringLiteral("legendMax"));
    m_legendNote = new QLabel(m_legend);
    m_legendNote->setTextFormat(Qt::RichText);
    auto* legendLayout = new QHBoxLayout(m_legend);
    legendLayout->setContentsMargins(0, 0, 0, 0);
    legendLayout->addWidget(m_legendTitle);
    legendLayout->addSpacing(8);
    legendLayout->addWidget(m_legendMin);
    legendLayout->addWidget(m_legendBar);
    legendLayout->addWidget(m_legendMax);
    legendLayout->addSpacing(16);
    legendLayout->addWidget(m_legendNote);
    legendLayout->addStretch(1);

    m_totals = new QLabel(this);
    m_totals->setObjectName(QStringLiteral("allocationTotals"));
    m_totals->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* pickers = new QHBoxLayout;
    pickers->addWidget(new QLabel(tr("Run (A)"), this));
    pickers->addWidget(m_run);
    pickers->addSpacing(12);
    pickers->addWidget(new QLabel(tr("Compare with (B)"), this));
    pickers->addWidget(m_compare);
    pickers->addSpacing(12);
    pickers->addWidget(new QLabel(tr("Colour by"), this));
    pickers->addWidget(m_quantity);
    pickers->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addLayout(pickers);
    layout->addWidget(m_message);
    layout->addWidget(m_heatmap, 1);
    layout->addWidget(m_legend);
    layout->addWidget(m_totals);

    connect(m_run, &QComboBox::currentIndexChanged, this, [this] { loadChosenRuns(); });
    connect(m_compare, &QComboBox::currentIndexChanged, this, [this] { loadChosenRuns(); });
    connect(m_quantity, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index >= 0) {
            m_model->setQuantity(
                static_cast<AllocationModel::Quantity>(m_quantity->itemData(index).toInt()));
            updateLegend();
        }
    });
    m_legend->hide();
}

void AllocationPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    reloadRuns();
}

RunId AllocationPage::chosenRun(const QComboBox* picker) const
{
    return picker->currentIndex() >= 0 ? picker->currentData().toLongLong() : 0;
}

void AllocationPage::showRun(RunId id)
{
    reloadRuns();
    const int index = m_run->findData(QVariant::fromValue<qint64>(id));
    if (index < 0) {
        return;
    }
    if (chosenRun(m_compare) == id) { // a run compared with itself shows nothing
        const QSignalBlocker block(m_compare);
        m_compare->setCurrentIndex(0);
    }
    if (index == m_run->currentIndex()) {
        loadChosenRuns();
    } else {
        m_run->setCurrentIndex(index);
    }
}

void AllocationPage::reloadRuns()
{
    const RunId chosen = chosenRun(m_run);
    const RunId compared = chosenRun(m_compare);
    m_summaries.clear();
    auto store = RunStore::open(m_databasePath, StoreMode::ReadOnly);
    if (store) {
        const auto ids = store->runsWithAdapterLayout();
        const auto runs = store->listRuns();
        if (ids && runs) {
            for (const RunSummary& run : *runs) {
                if (std::find(ids->begin(), ids->end(), run.id) != ids->end()) {
                    m_summaries.emplace(run.id, run);
                }
            }
        }
    }
    {
        const QSignalBlocker blockRun(m_run);
        const QSignalBlocker blockCompare(m_compare);
        m_run->clear();
        m_compare->clear();
        m_compare->addItem(tr("(no comparison)"), QVariant::fromValue<qint64>(0));
        for (auto it = m_summaries.rbegin(); it != m_summaries.rend(); ++it) {
            const RunSummary& run = it->second;
            const QString label =
                tr("run %1: %2 (%3)").arg(run.id).arg(toQString(run.name), toQString(run.method));
            m_run->addItem(label, QVariant::fromValue<qint64>(run.id));
            m_compare->addItem(label, QVariant::fromValue<qint64>(run.id));
        }
        const int runIndex = m_run->findData(QVariant::fromValue<qint64>(chosen));
        m_run->setCurrentIndex(runIndex >= 0 ? runIndex : (m_run->count() > 0 ? 0 : -1));
        const int compareIndex = m_compare->findData(QVariant::fromValue<qint64>(compared));
        m_compare->setCurrentIndex(compareIndex >= 0 ? compareIndex : 0);
    }
    if (!store) {
        m_message->setText(
            tr("Cannot read the run store: %1").arg(toQString(store.error().message)));
    } else if (m_summaries.empty()) {
        m_message->setText(tr("No run has an adapter layout yet. Train a run: its layout (the "
                              "rank and parameters of every adapted module) is recorded when its "
                              "adapter is built."));
    }
    m_message->setVisible(!store || m_summaries.empty());
    loadChosenRuns();
}

void AllocationPage::loadChosenRuns()
{
    const RunId a = chosenRun(m_run);
    const RunId b = chosenRun(m_compare);
    auto store = RunStore::open(m_databasePath, StoreMode::ReadOnly);
    auto read = [&](RunId id) -> std::optional<AllocationModel::Run> {
        const auto summary = m_summaries.find(id);
        if (!store || summary == m_summaries.end()) {
            return std::nullopt;
        }
        auto layout = store->adapterLayout(id);
        if (!layout) {
            return std::nullopt;
        }
        return AllocationModel::Run{summary->second, std::move(*layout)};
    };
    std::optional<AllocationModel::Run> runA = read(a);
    if (runA) {
        m_model->setRun(std::move(*runA));
        m_model->setComparison(b > 0 ? read(b) : std::nullopt);
        m_title->setText(m_model->isComparing()
                             ? tr("Allocation: run %1 compared with run %2 (A - B)").arg(a).arg(b)
                             : tr("Allocation: run %1").arg(a));
    } else {
        m_model->setRun(AllocationModel::Run{});
        m_title->setText(tr("Allocation"));
    }
    updateQuantityPicker();
    updateLegend();
    updateTotals();
    sizeCells();
}

void AllocationPage::updateQuantityPicker()
{
    const QSignalBlocker block(m_quantity);
    m_quantity->clear();
    for (const AllocationModel::Quantity q : m_model->availableQuantities()) {
        m_quantity->addItem(AllocationModel::quantityName(q), static_cast<int>(q));
    }
    m_quantity->setCurrentIndex(m_quantity->findData(static_cast<int>(m_model->quantity())));
}

void AllocationPage::updateLegend()
{
    const std::optional<AllocationModel::Range> range = m_model->range();
    m_legend->setVisible(range.has_value());
    if (!range) {
        return;
    }
    const QString name = AllocationModel::quantityName(m_model->quantity());
    m_legendTitle->setText(m_model->isComparing() ? tr("A - B of %1:").arg(name)
                                                  : tr("Colour: %1").arg(name));
    m_legendMin->setText(m_model->formatValue(range->min));
    m_legendMax->setText(m_model->formatValue(range->max));
    QPixmap bar(kLegendWidth, kLegendHeight);
    QPainter painter(&bar);
    for (int x = 0; x < kLegendWidth; ++x) {
        const double t = static_cast<double>(x) / (kLegendWidth - 1);
        painter.setPen(m_model->colorFor(range->min + t * (range->max - range->min)));
        painter.drawLine(x, 0, x, kLegendHeight - 1);
    }
    painter.setPen(QColor(160, 160, 160));
    painter.drawRect(0, 0, kLegendWidth - 1, kLegendHeight - 1);
    painter.end();
    m_legendBar->setPixmap(bar);
    if (m_model->isComparing()) {
        m_legendNote->setText(tr("%1 A higher &nbsp; %2 B higher &nbsp; %3 equal")
                                  .arg(swatch(m_model->colorFor(range->max)),
                                       swatch(m_model->colorFor(range->min)),
                                       swatch(QColor(Qt::white))));
    } else {
        m_legendNote->setText(tr("%1 off (switched off) &nbsp; blank: not adapted")
                                  .arg(swatch(QColor(226, 226, 226))));
    }
}

void AllocationPage::updateTotals()
{
    const std::optional<AllocationModel::Run>& a = m_model->run();
    if (!a || a->layout.empty()) {
        m_totals->clear();
        return;
    }
    auto describe = [this](const Totals& t) {
        return (t.modules == 1 ? tr("1 module adapted") : tr("%1 modules adapted").arg(t.modules)) +
               tr(", %1 trainable parameters").arg(toQString(formatGrouped(t.params)));
    };
    const Totals ta = totalsOf(a->layout);
    QString text = tr("A: %1").arg(describe(ta));
    if (const std::optional<AllocationModel::Run>& b = m_model->comparison()) {
        const Totals tb = totalsOf(b->layout);
        const std::int64_t difference = ta.params - tb.params;
        text += tr("   |   B: %1   |   A - B: %2%3 parameters")
                    .arg(describe(tb), difference > 0 ? QStringLiteral("+") : QString(),
                         toQString(formatGrouped(difference)));
    }
    m_totals->setText(text);
}

void AllocationPage::sizeCells()
{
    const QFontMetrics metrics(m_heatmap->horizontalHeader()->font());
    int width = kMinCellWidth;
    for (int column = 0; column < m_model->columnCount(); ++column) {
        const QString label = m_model->headerData(column, Qt::Horizontal).toString();
        width = std::max(width, metrics.horizontalAdvance(label) + 20);
    }
    m_heatmap->horizontalHeader()->setDefaultSectionSize(width);
    for (int column = 0; column < m_model->columnCount(); ++column) {
        m_heatmap->horizontalHeader()->resizeSection(column, width);
    }
}

} // namespace ftw::ui
