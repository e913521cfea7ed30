// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QLineEdit;
class QMenu;
class QPushButton;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;

namespace ftw::ui {

class RunTableModel;

/// The Runs page: a filterable, sortable table of every run, with an empty state.
class RunsPage : public QWidget {
    Q_OBJECT

public:
    explicit RunsPage(RunTableModel& model, QWidget* parent = nullptr);

    [[nodiscard]] QTableView* table() const { return m_table; }
    [[nodiscard]] QLineEdit* filterEdit() const { return m_filter; }
    [[nodiscard]] QPushButton* compareButton() const { return m_compare; }
    /// The ids of the selected runs, in table order.
    [[nodiscard]] QList<qint64> selectedRunIds() const;

Q_SIGNALS:
    /// Compare selected was clicked with two or more runs selected.
    void compareRequested(const QList<qint64>& runIds);
    /// A run was double-clicked (page "live") or an action of its context menu was chosen
    /// ("live", "allocation", "export", "playground"): show that run on that page.
    void openRequested(qint64 runId, const QString& page);

public:
    /// The context menu of the run at `row` of the table (the actions openRequested() names).
    [[nodiscard]] QMenu* contextMenuForRow(int row);

private:
    void updateEmptyState();

    RunTableModel& m_model;
    QSortFilterProxyModel* m_proxy = nullptr;
    QLineEdit* m_filter = nullptr;
    QTableView* m_table = nullptr;
    QPushButton* m_compare = nullptr;
    QStackedWidget* m_stack = nullptr;
};

} // namespace ftw::ui
