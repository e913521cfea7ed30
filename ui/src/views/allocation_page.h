// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QWidget>

#include <filesystem>
#include <map>

class QComboBox;
class QLabel;
class QShowEvent;
class QTableView;

namespace ftw::ui {

class AllocationModel;

/// The Allocation inspector: the adapter layout of a run as a heatmap of layers by module kinds
/// (the rank in each cell, coloured by rank, parameters or a proxy score), optionally the
/// difference with a second run, a legend of the colour scale and the totals. Reads the store with
/// its own read-only connection on the GUI thread, opened for each read; the list of runs is read
/// again whenever the page is shown.
class AllocationPage : public QWidget {
    Q_OBJECT

public:
    explicit AllocationPage(std::filesystem::path databasePath, QWidget* parent = nullptr);

    /// Reads the runs that have a layout again and shows run `id` (nothing changes when it has no
    /// layout); a comparison with `id` itself ends.
    void showRun(RunId id);
    /// Reads the runs that have a layout again, keeping the chosen runs when they still have one.
    void reloadRuns();

    [[nodiscard]] AllocationModel* model() const { return m_model; }
    [[nodiscard]] QTableView* heatmap() const { return m_heatmap; }
    [[nodiscard]] QComboBox* runPicker() const { return m_run; }
    [[nodiscard]] QComboBox* comparePicker() const { return m_compare; }
    [[nodiscard]] QComboBox* quantityPicker() const { return m_quantity; }
    [[nodiscard]] QLabel* totalsLabel() const { return m_totals; }

protected:
    void showEvent(QShowEvent* event) override;

private:
    void loadChosenRuns();
    void updateQuantityPicker();
    void updateLegend();
    void updateTotals();
    void sizeCells();
    [[nodiscard]] RunId chosenRun(const QComboBox* picker) const;

    std::filesystem::path m_databasePath;
    std::map<RunId, RunSummary> m_summaries;
    AllocationModel* m_model = nullptr;
    QLabel* m_title = nullptr;
    QLabel* m_message = nullptr;
    QComboBox* m_run = nullptr;
    QComboBox* m_compare = nullptr;
    QComboBox* m_quantity = nullptr;
    QTableView* m_heatmap = nullptr;
    QWidget* m_legend = nullptr;
    QLabel* m_legendTitle = nullptr;
    QLabel* m_legendMin = nullptr;
    QLabel* m_legendBar = nullptr;
    QLabel* m_legendMax = nullptr;
    QLabel* m_legendNote = nullptr;
    QLabel* m_totals = nullptr;
};

} // namespace ftw::ui
