// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QWidget>

#include <filesystem>
#include <vector>

class QChartView;
class QLabel;
class QTableView;
class QTableWidget;

namespace ftw::ui {

class ConfigDiffModel;

/// The Compare page: the training-loss curves of the chosen runs overlaid against the step, their
/// final and best metrics, and the config keys that differ between them. Reads the store with its
/// own read-only connection on the GUI thread.
class ComparePage : public QWidget {
    Q_OBJECT

public:
    ComparePage(std::filesystem::path databasePath, QWidget* parent = nullptr);

    /// Loads and shows `ids` (two or more make a comparison).
    void showRuns(const std::vector<RunId>& ids);

    [[nodiscard]] ConfigDiffModel* configDiff() const { return m_diff; }
    [[nodiscard]] QChartView* chart() const { return m_chart; }
    [[nodiscard]] QTableWidget* metricsTable() const { return m_metrics; }

private:
    std::filesystem::path m_databasePath;
    QLabel* m_title = nullptr;
    QChartView* m_chart = nullptr;
    QTableWidget* m_metrics = nullptr;
    QTableView* m_diffView = nullptr;
    ConfigDiffModel* m_diff = nullptr;
};

} // namespace ftw::ui
