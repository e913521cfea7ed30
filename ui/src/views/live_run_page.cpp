// SPDX-License-Identifier: MIT
#include "live_run_page.h"

#include "bridge/engine_controller.h"
#include "bridge/qt_convert.h"
#include "widgets/metric_chart.h"

#include <ftw/format.h>
#include <ftw/run_config.h>

#include <QFile>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTextCursor>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace ftw::ui {
namespace {

constexpr int kMaxLogLines = 5000;

QString formatEta(double seconds)
{
    if (std::isnan(seconds)) {
        return QStringLiteral("?");
    }
    const auto total = static_cast<long long>(std::llround(seconds));
    return total >= 3600 ? QStringLiteral("%1 h %2 min").arg(total / 3600).arg(total % 3600 / 60)
           : total >= 60 ? QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60)
                         : QStringLiteral("%1 s").arg(total);
}

/// Appends the store's points of `name` that lie after the chart's last step.
void appendNewPoints(const RunStore& store, RunId id, const char* name, MetricChart& chart)
{
    const auto& history = chart.history().points();
    const auto last =
        history.isEmpty() ? std::int64_t{-1} : static_cast<std::int64_t>(history.back().x());
    const auto points = store.metrics(id, name, last);
    if (!points || points->empty()) {
        return;
    }
    for (const MetricPoint& p : *points) {
        chart.append(static_cast<double>(p.step), p.value);
    }
    chart.redraw();
}

} // namespace

LiveRunPage::LiveRunPage(EngineController& controller, QWidget* parent)
    : QWidget(parent), m_controller(controller)
{
    m_title = new QLabel(tr("No job has run yet. Start one on the New run page."), this);
    m_title->setObjectName(QStringLiteral("pageTitle"));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("liveProgress"));
    m_progress->setFormat(tr("%v / %m steps"));
    m_pause = new QPushButton(tr("Pause"), this);
    m_pause->setObjectName(QStringLiteral("livePause"));
    m_pause->setToolTip(tr("Pause at the next step (the run keeps its memory) and resume later."));
    m_pause->setEnabled(false);
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("liveStop"));
    m_stop->setToolTip(tr("Stop at the next step; a checkpoint is kept so the run can resume."));
    m_stop->setEnabled(false);
    m_stats = new QLabel(this);
    m_stats->setObjectName(QStringLiteral("liveStats"));
    m_memory = new QLabel(this);
    m_memory->setObjectName(QStringLiteral("liveMemory"));
    m_loss = new MetricChart(tr("Loss"), tr("loss"), true, this);
    m_loss->setObjectName(QStringLiteral("lossChart"));
    m_learningRate = new MetricChart(tr("Learning rate"), tr("learning rate"), false, this);
    m_gradNorm = new MetricChart(tr("Gradient norm"), tr("norm"), false, this);
    m_tokens = new MetricChart(tr("Throughput"), tr("tokens/s"), false, this);
    m_log = new QPlainTextEdit(this);
    m_log->setObjectName(QStringLiteral("liveLog"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(kMaxLogLines);
    m_log->setMaximumHeight(120);

    auto* top = new QHBoxLayout;
    top->addWidget(m_progress, 1);
    top->addWidget(m_pause);
    top->addWidget(m_stop);
    auto* statsRow = new QHBoxLayout;
    statsRow->addWidget(m_stats, 1);
    statsRow->addWidget(m_memory);
    auto* charts = new QGridLayout;
    charts->addWidget(m_loss, 0, 0, 1, 3);
    charts->addWidget(m_learningRate, 1, 0);
    charts->addWidget(m_gradNorm, 1, 1);
    charts->addWidget(m_tokens, 1, 2);
    charts->setRowStretch(0, 3);
    charts->setRowStretch(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addLayout(top);
    layout->addLayout(statsRow);
    layout->addLayout(charts, 1);
    layout->addWidget(new QLabel(tr("Log"), this));
    layout->addWidget(m_log);

    m_poll = new QTimer(this);
    m_poll->setInterval(kStorePollMs);
    connect(m_poll, &QTimer::timeout, this, &LiveRunPage::pollStore);

    connect(m_stop, &QPushButton::clicked, this, [this] {
        m_stop->setEnabled(false);
        m_pause->setEnabled(false);
        Q_EMIT stopRequested();
    });
    connect(m_pause, &QPushButton::clicked, this, &LiveRunPage::togglePause);
    connect(&controller, &EngineController::jobStarted, this,
            [this](qint64, const QString& name) { onStarted(name); });
    connect(&controller, &EngineController::progressChanged, this, &LiveRunPage::onProgress);
    connect(&controller, &EngineController::logMessage, this,
            [this](qint64, const QString& level, const QString& message) {
                m_log->appendPlainText(level + QStringLiteral(": ") + message);
            });
    connect(&controller, &EngineController::jobFinished, this,
            [this](qint64, const JobResult& result) { onFinished(result); });
}

RunStore* LiveRunPage::store()
{
    if (!m_store) {
        auto opened = RunStore::open(m_controller.engine().databasePath(), StoreMode::ReadOnly);
        if (!opened) {
            return nullptr;
        }
        m_store.emplace(std::move(*opened));
    }
    return &*m_store;
}

void LiveRunPage::clearCharts()
{
    m_loss->clear();
    m_loss->setSecondary(tr("eval loss"), {});
    m_learningRate->clear();
    m_gradNorm->clear();
    m_tokens->clear();
    m_log->clear();
    m_stats->clear();
    m_memory->clear();
}

void LiveRunPage::onStarted(const QString& name)
{
    m_isWatching = false;
    m_isPaused = false;
    m_runId = 0;
    m_title->setText(tr("Running: %1").arg(name));
    clearCharts();
    m_progress->setRange(0, 0);
    m_stop->setEnabled(true);
    m_pause->setEnabled(true);
    m_pause->setText(tr("Pause"));
    m_poll->start();
}

void LiveRunPage::watchRun(RunId id)
{
    if (m_controller.activeJob()) {
        return; // this window's own job has the page
    }
    m_isWatching = true;
    m_runId = id;
    m_watchedMetricCount = -1;
    m_watchedLogBytes = -1;
    m_watchedPeakStep = -1.0;
    m_memory->clear();
    clearCharts();
    m_log->clear();
    m_stop->setEnabled(false);
    m_pause->setEnabled(false);
    m_title->setText(tr("Run %1").arg(id));
    pollStore();
    m_poll->start();
}

void LiveRunPage::pollStore()
{
    RunStore* runs = m_runId != 0 ? store() : nullptr;
    if (runs == nullptr) {
        return;
    }
    if (m_isWatching) {
        const auto run = runs->run(m_runId);
        if (!run) {
            m_title->setText(toQString(run.error().message));
            m_poll->stop();
            return;
        }
        const RunSummary& s = run->summary;
        const bool isRunning = s.status == RunStatus::Running;
        m_title->setText(tr("Run %1 (%2): %3")
                             .arg(s.id)
                             .arg(toQString(s.name), toQString(runStatusName(s.status))));
        if (run->metricCount != m_watchedMetricCount) {
            m_watchedMetricCount = run->metricCount;
            appendNewPoints(*runs, m_runId, "train/loss", *m_loss);
            appendNewPoints(*runs, m_runId, "train/learning_rate", *m_learningRate);
            appendNewPoints(*runs, m_runId, "train/grad_norm", *m_gradNorm);
            appendNewPoints(*runs, m_runId, "train/tokens_per_second", *m_tokens);
            if (const auto peak = runs->metrics(m_runId, "train/peak_memory_bytes",
                                                static_cast<std::int64_t>(m_watchedPeakStep));
                peak && !peak->empty()) {
                m_watchedPeakStep = static_cast<double>(peak->back().step);
                m_memory->setText(tr("Peak memory: process %1")
                                      .arg(toQString(formatBytes(
                                          static_cast<std::int64_t>(peak->back().value)))));
            }
            const auto& loss = m_loss->history().points();
            if (!loss.isEmpty()) {
                m_stats->setText(
                    tr("step %1   loss %2").arg(loss.back().x()).arg(loss.back().y(), 0, 'f', 4));
            }
            // Progress against the run's planned steps, when its config names them.
            const auto config = parseRunConfig(run->configJson, "run config");
            const std::int64_t planned = config ? config->train.maxSteps : 0;
            if (planned > 0) {
                m_progress->setRange(0, static_cast<int>(planned));
                m_progress->setValue(loss.isEmpty() ? 0 : static_cast<int>(loss.back().x()));
            } else { // a job with no planned steps (the demo): full once it succeeded
                m_progress->setRange(0, 1);
                m_progress->setValue(s.status == RunStatus::Succeeded ? 1 : 0);
            }
        }
        if (!isRunning) {
            m_poll->stop();
            if (s.error.isError()) {
                m_stats->setText(tr("%1: %2").arg(toQString(runStatusName(s.status)),
                                                  toQString(s.error.message)));
            }
        }
        showRunLog(run->runDir / "run.log");
    }
    // The eval loss is recorded only in the store (a few points per run).
    if (const auto eval = runs->metrics(m_runId, "eval/loss"); eval && !eval->empty()) {
        QVector<QPointF> points;
        for (const MetricPoint& p : *eval) {
            points.append(QPointF(static_cast<double>(p.step), p.value));
        }
        if (m_loss->secondarySeries() == nullptr ||
            m_loss->secondarySeries()->count() != static_cast<int>(points.size())) {
            m_loss->setSecondary(tr("eval loss"), points);
        }
    }
}

void LiveRunPage::showRunLog(const std::filesystem::path& file)
{
    // The last lines of the run's own log (the file the engine appends to), read when it grew.
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    if (error || static_cast<std::int64_t>(size) == m_watchedLogBytes) {
        return;
    }
    m_watchedLogBytes = static_cast<std::int64_t>(size);
    QFile in(toQString(file.string()));
    if (!in.open(QIODevice::ReadOnly)) {
        return;
    }
    constexpr qint64 kTailBytes = 64 * 1024;
    in.seek(std::max<qint64>(0, in.size() - kTailBytes));
    m_log->setPlainText(QString::fromUtf8(in.readAll()));
    m_log->moveCursor(QTextCursor::End);
}

void LiveRunPage::togglePause()
{
    const auto job = m_controller.activeJob();
    if (!job) {
        return;
    }
    if (m_controller.engine().setPaused(*job, !m_isPaused)) {
        m_isPaused = !m_isPaused;
    }
    m_pause->setText(m_isPaused ? tr("Resume") : tr("Pause"));
    m_title->setText(m_isPaused ? tr("Paused (run %1)").arg(m_runId)
                                : tr("Running (run %1)").arg(m_runId));
}

void LiveRunPage::onProgress(const JobProgress& p)
{
    if (m_isWatching) {
        return;
    }
    if (m_runId != 0 && p.runId != m_runId) {
        clearCharts(); // the next run of a sweep
    }
    m_runId = p.runId;
    m_progress->setRange(0, static_cast<int>(p.totalSteps));
    m_progress->setValue(static_cast<int>(p.step));
    const auto step = static_cast<double>(p.step);
    QStringList parts;
    if (!std::isnan(p.loss)) {
        m_loss->append(step, p.loss);
        parts << tr("loss %1").arg(p.loss, 0, 'f', 4);
    }
    if (!std::isnan(p.learningRate)) {
        m_learningRate->append(step, p.learningRate);
        parts << tr("learning rate %1").arg(p.learningRate, 0, 'g', 3);
    }
    if (!std::isnan(p.gradNorm)) {
        m_gradNorm->append(step, p.gradNorm);
        parts << tr("grad norm %1").arg(p.gradNorm, 0, 'f', 3);
    }
    if (!std::isnan(p.tokensPerSecond)) {
        m_tokens->append(step, p.tokensPerSecond);
        parts << tr("%1 tokens/s").arg(p.tokensPerSecond, 0, 'f', 0);
    }
    if (!std::isnan(p.epoch)) {
        parts << tr("epoch %1").arg(p.epoch, 0, 'f', 2);
    }
    parts << tr("ETA %1").arg(formatEta(p.etaSeconds));
    m_stats->setText(parts.join(QStringLiteral("   ")));
    QStringList memory;
    if (!std::isnan(p.deviceMemoryBytes)) {
        memory << tr("device %1")
                      .arg(toQString(formatBytes(static_cast<std::int64_t>(p.deviceMemoryBytes))));
    }
    if (!std::isnan(p.hostMemoryBytes)) {
        memory << tr("process %1")
                      .arg(toQString(formatBytes(static_cast<std::int64_t>(p.hostMemoryBytes))));
    }
    m_memory->setText(memory.isEmpty() ? QString()
                                       : tr("Memory: %1").arg(memory.join(QStringLiteral(", "))));
}

void LiveRunPage::onFinished(const JobResult& result)
{
    m_stop->setEnabled(false);
    m_pause->setEnabled(false);
    m_pause->setText(tr("Pause"));
    m_isPaused = false;
    m_runId = result.runId;
    pollStore(); // the final eval loss
    m_poll->stop();
    switch (result.status) {
    case JobStatus::Succeeded:
        m_title->setText(tr("Run %1 finished").arg(result.runId));
        break;
    case JobStatus::Cancelled:
        m_title->setText(tr("Run %1 stopped").arg(result.runId));
        break;
    default:
        m_title->setText(
            tr("Run %1 failed: %2").arg(result.runId).arg(toQString(result.error.message)));
        break;
    }
}

} // namespace ftw::ui
