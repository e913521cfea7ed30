// SPDX-License-Identifier: MIT
#include "runs_page.h"

#include "models/run_table_model.h"
#include "widgets/sparkline_delegate.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <utility>

namespace ftw::ui {

RunsPage::RunsPage(RunTableModel& model, QWidget* parent) : QWidget(parent), m_model(model)
{
    auto* title = new QLabel(tr("Runs"), this);
    title->setObjectName(QStringLiteral("pageTitle"));

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("runFilter"));
    m_filter->setPlaceholderText(tr("Filter by name, status, method, model or dataset"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setMinimumWidth(320);

    auto* titleRow = new QHBoxLayout;
    titleRow->addWidget(title);
    titleRow->addStretch(1);
    titleRow->addWidget(m_filter);
    m_compare = new QPushButton(tr("Compare selected"), this);
    m_compare->setObjectName(QStringLiteral("compareSelected"));
    m_compare->setToolTip(tr("Select two or more runs (Ctrl or Shift and click) to compare them."));
    m_compare->setEnabled(false);
    titleRow->addWidget(m_compare);

    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(&m_model);
    m_proxy->setSortRole(RunTableModel::SortRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("runsTable"));
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(RunTableModel::Created, Qt::DescendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setShowGrid(false);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    // Fixed widths that fit the values; the model path takes the remaining space.
    QHeaderView* header = m_table->horizontalHeader();
    header->setStretchLastSection(false);
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(RunTableModel::Model, QHeaderView::Stretch);
    header->setMinimumSectionSize(60);
    const std::pair<int, int> widths[] = {
        {RunTableModel::Name, 150},      {RunTableModel::Status, 85},
        {RunTableModel::Method, 75},     {RunTableModel::Dataset, 140},
        {RunTableModel::Params, 80},     {RunTableModel::LastLoss, 70},
        {RunTableModel::LossCurve, 100}, {RunTableModel::BestEval, 75},
        {RunTableModel::Duration, 70},   {RunTableModel::Created, 130},
    };
    for (const auto& [column, width] : widths) {
        m_table->setColumnWidth(column, width);
    }
    m_table->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_table->setItemDelegateForColumn(RunTableModel::LossCurve,
                                      new SparklineDelegate(RunTableModel::SparklineRole, m_table));

    auto* empty = new QLabel(
        tr("<h3>No runs yet</h3><p>Open <b>New run</b> to start one, or run "
           "<code>ftw demo</code> in a terminal: runs started by the command line appear here "
           "too.</p>"),
        this);
    empty->setObjectName(QStringLiteral("runsEmptyState"));
    empty->setAlignment(Qt::AlignCenter);
    empty->setWordWrap(true);

    m_stack = new QStackedWidget(this);
    m_stack->addWidget(m_table);
    m_stack->addWidget(empty);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(titleRow);
    layout->addWidget(m_stack, 1);

    connect(m_filter, &QLineEdit::textChanged, m_proxy,
            &QSortFilterProxyModel::setFilterFixedString);
    connect(&m_model, &QAbstractItemModel::rowsInserted, this, &RunsPage::updateEmptyState);
    connect(&m_model, &QAbstractItemModel::rowsRemoved, this, &RunsPage::updateEmptyState);
    connect(&m_model, &QAbstractItemModel::modelReset, this, &RunsPage::updateEmptyState);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { m_compare->setEnabled(selectedRunIds().size() >= 2); });
    connect(m_compare, &QPushButton::clicked, this,
            [this] { Q_EMIT compareRequested(selectedRunIds()); });
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        Q_EMIT openRequested(index.data(RunTableModel::RunIdRole).toLongLong(),
                             QStringLiteral("live"));
    });
    m_table->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_table, &QWidget::customContextMenuRequested, this, [this](const QPoint& at) {
        const QModelIndex index = m_table->indexAt(at);
        if (index.isValid()) {
            contextMenuForRow(index.row())->popup(m_table->viewport()->mapToGlobal(at));
        }
    });
    updateEmptyState();
}

QMenu* RunsPage::contextMenuForRow(int row)
{
    const qint64 id = m_proxy->index(row, 0).data(RunTableModel::RunIdRole).toLongLong();
    auto* menu = new QMenu(this);
    menu->setObjectName(QStringLiteral("runContextMenu"));
    menu->setAttribute(Qt::WA_DeleteOnClose);
    const std::pair<QString, QString> actions[] = {
        {tr("Show in Live run"), QStringLiteral("live")},
        {tr("Inspect allocation"), QStringLiteral("allocation")},
        {tr("Export..."), QStringLiteral("export")},
        {tr("Open in Playground"), QStringLiteral("playground")},
    };
    for (const auto& [text, page] : actions) {
        QAction* action = menu->addAction(text);
        action->setData(page);
        connect(action, &QAction::triggered, this,
                [this, id, page = page] { Q_EMIT openRequested(id, page); });
    }
    // The runs of its equal-budget sweep, when it belongs to one.
    if (const RunSummary* run = m_model.runAt(m_model.rowOfRun(id)); run && run->groupId) {
        QList<qint64> group;
        for (int r = m_model.rowCount() - 1; r >= 0; --r) { // oldest first
            if (m_model.runAt(r)->groupId == run->groupId) {
                group.append(m_model.runAt(r)->id);
            }
        }
        menu->addSeparator();
        QAction* compareGroup =
            menu->addAction(tr("Compare its sweep (%1 runs)").arg(group.size()));
        compareGroup->setObjectName(QStringLiteral("compareSweep"));
        connect(compareGroup, &QAction::triggered, this,
                [this, group] { Q_EMIT compareRequested(group); });
    }
    if (selectedRunIds().size() >= 2) {
        menu->addSeparator();
        connect(menu->addAction(tr("Compare selected")), &QAction::triggered, m_compare,
                &QPushButton::click);
    }
    return menu;
}

QList<qint64> RunsPage::selectedRunIds() const
{
    QList<qint64> ids;
    for (const QModelIndex& index : m_table->selectionModel()->selectedRows()) {
        ids.push_back(index.data(RunTableModel::RunIdRole).toLongLong());
    }
    return ids;
}

void RunsPage::updateEmptyState()
{
    m_stack->setCurrentIndex(m_model.rowCount() == 0 ? 1 : 0);
}

} // namespace ftw::ui
