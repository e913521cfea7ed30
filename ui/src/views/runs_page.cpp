// SPDX-License-Identifier: MIT
#include "runs_page.h"

#include "models/run_table_model.h"

#include <QHeaderView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

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

    auto* header = new QHBoxLayout;
    header->addWidget(title);
    header->addStretch(1);
    header->addWidget(m_filter);

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
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->setColumnWidth(RunTableModel::Name, 180);
    m_table->setColumnWidth(RunTableModel::Status, 90);
    m_table->setColumnWidth(RunTableModel::Method, 80);
    m_table->setColumnWidth(RunTableModel::Model, 200);
    m_table->setColumnWidth(RunTableModel::Dataset, 160);
    m_table->setColumnWidth(RunTableModel::Params, 80);
    m_table->setColumnWidth(RunTableModel::LastLoss, 70);
    m_table->setColumnWidth(RunTableModel::BestEval, 80);
    m_table->setColumnWidth(RunTableModel::Duration, 80);

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
    layout->addLayout(header);
    layout->addWidget(m_stack, 1);

    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    connect(&m_model, &QAbstractItemModel::rowsInserted, this, &RunsPage::updateEmptyState);
    connect(&m_model, &QAbstractItemModel::rowsRemoved, this, &RunsPage::updateEmptyState);
    connect(&m_model, &QAbstractItemModel::modelReset, this, &RunsPage::updateEmptyState);
    updateEmptyState();
}

void RunsPage::updateEmptyState()
{
    m_stack->setCurrentIndex(m_model.rowCount() == 0 ? 1 : 0);
}

} // namespace ftw::ui
