// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QColor>
#include <QList>
#include <QString>
#include <QWidget>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

class QChartView;
class QCheckBox;
class QComboBox;
class QLabel;
class QTableView;
class QTableWidget;

namespace ftw::ui {

class ConfigDiffModel;

/// The Compare page: the loss curves of the chosen runs overlaid (training loss solid, eval loss
/// dashed, one colour per run) against the step, the tokens seen or the training time; a scatter
/// of each run's trainable parameters (or estimated training memory) against its best eval loss;
/// their final and best metrics; and the config keys that differ between them. Reads the store
/// with its own read-only connection on the GUI thread, once per showRuns(); changing an axis
/// redraws from what was read.
///
/// Series carry object names tests can find: "train/loss:ID" and "eval/loss:ID" in chart(),
/// "scatter:ID" in scatter(); the scatter's point labels are QGraphicsSimpleTextItem children of
/// its chart with data(0) == "scatterLabel".
class ComparePage : public QWidget {
    Q_OBJECT

public:
    ComparePage(std::filesystem::path databasePath, QWidget* parent = nullptr);

    /// Loads and shows `ids` (two or more make a comparison); ids with no run are skipped.
    void showRuns(const std::vector<RunId>& ids);

    [[nodiscard]] ConfigDiffModel* configDiff() const { return m_diff; }
    /// The loss curves.
    [[nodiscard]] QChartView* chart() const { return m_chart; }
    /// One point per run: trainable parameters or memory against the eval metric.
    [[nodiscard]] QChartView* scatter() const { return m_scatter; }
    [[nodiscard]] QTableWidget* metricsTable() const { return m_metrics; }

private:
    /// What showRuns() read for one run.
    struct ComparedRun {
        RunId id = 0;
        QString name;  ///< "name (run 3)"
        QString label; ///< "name (run 3, lora)"
        QString method;
        QString status;
        QColor colour;
        std::vector<MetricPoint> trainLoss;
        std::vector<MetricPoint> evalLoss;
        std::optional<std::int64_t> trainableParams;
        /// The largest "train/peak_memory_bytes" the run recorded (measured), else the analytic
        /// estimate of its config (computeBudget()); none when neither is known.
        std::optional<double> memoryBytes;
        bool isMemoryMeasured = false;
        std::optional<double> bestEvalLoss;
        std::optional<double> lastLoss;
    };

    void redrawCurves();
    void redrawScatter();
    void fillMetricsTable();

    std::filesystem::path m_databasePath;
    std::vector<ComparedRun> m_runs;
    QLabel* m_title = nullptr;
    QComboBox* m_xAxis = nullptr;
    QCheckBox* m_showEval = nullptr;
    QChartView* m_chart = nullptr;
    QComboBox* m_scatterX = nullptr;
    QChartView* m_scatter = nullptr;
    QTableWidget* m_metrics = nullptr;
    QTableView* m_diffView = nullptr;
    ConfigDiffModel* m_diff = nullptr;
};

} // namespace ftw::ui
