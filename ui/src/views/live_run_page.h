// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/job_events.h>

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace ftw::ui {

class EngineController;
class MetricChart;

/// The Live-run page: the running job's progress with ETA, its loss (raw and smoothed), learning
/// rate and gradient norm as charts with their whole history, tokens/s, a Stop button and the log.
/// Follows the controller's signals; shows the last job after it ends.
class LiveRunPage : public QWidget {
    Q_OBJECT

public:
    explicit LiveRunPage(EngineController& controller, QWidget* parent = nullptr);

    [[nodiscard]] MetricChart* lossChart() const { return m_loss; }
    [[nodiscard]] MetricChart* learningRateChart() const { return m_learningRate; }
    [[nodiscard]] MetricChart* gradNormChart() const { return m_gradNorm; }

Q_SIGNALS:
    void stopRequested();

private:
    void onStarted(const QString& name);
    void onProgress(const JobProgress& progress);
    void onFinished(const JobResult& result);

    QLabel* m_title = nullptr;
    QLabel* m_stats = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_stop = nullptr;
    MetricChart* m_loss = nullptr;
    MetricChart* m_learningRate = nullptr;
    MetricChart* m_gradNorm = nullptr;
    QPlainTextEdit* m_log = nullptr;
};

} // namespace ftw::ui
