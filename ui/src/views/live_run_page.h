// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/job_events.h>
#include <ftw/run_store.h>

#include <QWidget>

#include <filesystem>
#include <optional>

class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTimer;

namespace ftw::ui {

class EngineController;
class MetricChart;

/// The Live-run page: a run's progress with ETA, its loss (raw and smoothed) with the eval loss,
/// learning rate, gradient norm and tokens/s as charts with their whole history, memory, Stop,
/// Pause/Resume and the log. Follows the controller's job; or, through watchRun(), a run that
/// another process (the headless `ftw`) records, read from the store once a second. Shows the last
/// run after it ends.
class LiveRunPage : public QWidget {
    Q_OBJECT

public:
    static constexpr int kStorePollMs = 1000;

    explicit LiveRunPage(EngineController& controller, QWidget* parent = nullptr);

    /// Shows a run recorded in the store (running elsewhere or finished) and follows it until it
    /// ends or this window starts a job.
    void watchRun(RunId id);
    /// Reads the store now (what the poll timer does every kStorePollMs).
    void pollStore();

    [[nodiscard]] MetricChart* lossChart() const { return m_loss; }
    [[nodiscard]] MetricChart* learningRateChart() const { return m_learningRate; }
    [[nodiscard]] MetricChart* gradNormChart() const { return m_gradNorm; }
    [[nodiscard]] MetricChart* tokensChart() const { return m_tokens; }
    [[nodiscard]] QPushButton* pauseButton() const { return m_pause; }
    [[nodiscard]] RunId runId() const { return m_runId; }

Q_SIGNALS:
    void stopRequested();

private:
    void onStarted(const QString& name);
    void onProgress(const JobProgress& progress);
    void onFinished(const JobResult& result);
    void clearCharts();
    void togglePause();
    void showRunLog(const std::filesystem::path& file);
    [[nodiscard]] RunStore* store();

    EngineController& m_controller;
    std::optional<RunStore> m_store;
    RunId m_runId = 0;
    bool m_isWatching = false; ///< following a run of another process through the store
    bool m_isPaused = false;
    std::int64_t m_watchedMetricCount = 0;
    std::int64_t m_watchedLogBytes = -1;
    double m_watchedPeakStep = -1.0; ///< the last step of train/peak_memory_bytes read
    QLabel* m_title = nullptr;
    QLabel* m_stats = nullptr;
    QLabel* m_memory = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_pause = nullptr;
    QPushButton* m_stop = nullptr;
    MetricChart* m_loss = nullptr;
    MetricChart* m_learningRate = nullptr;
    MetricChart* m_gradNorm = nullptr;
    MetricChart* m_tokens = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QTimer* m_poll = nullptr;
};

} // namespace ftw::ui
