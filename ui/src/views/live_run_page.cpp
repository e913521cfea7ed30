// SPDX-License-Identifier: MIT
#include "live_run_page.h"

#include "bridge/engine_controller.h"
#include "bridge/qt_convert.h"
#include "widgets/metric_chart.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

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

} // namespace

LiveRunPage::LiveRunPage(EngineController& controller, QWidget* parent) : QWidget(parent)
{
    m_title = new QLabel(tr("No job has run yet. Start one on the New run page."), this);
    m_title->setObjectName(QStringLiteral("pageTitle"));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("liveProgress"));
    m_progress->setFormat(tr("%v / %m steps"));
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("liveStop"));
    m_stop->setToolTip(tr("Stop at the next step; a checkpoint is kept so the run can resume."));
    m_stop->setEnabled(false);
    m_stats = new QLabel(this);
    m_stats->setObjectName(QStringLiteral("liveStats"));
    m_loss = new MetricChart(tr("Training loss"), tr("loss"), true, this);
    m_loss->setObjectName(QStringLiteral("lossChart"));
    m_learningRate = new MetricChart(tr("Learning rate"), tr("learning rate"), false, this);
    m_gradNorm = new MetricChart(tr("Gradient norm"), tr("norm"), false, this);
    m_log = new QPlainTextEdit(this);
    m_log->setObjectName(QStringLiteral("liveLog"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(kMaxLogLines);
    m_log->setMaximumHeight(140);

    auto* top = new QHBoxLayout;
    top->addWidget(m_progress, 1);
    top->addWidget(m_stop);
    auto* charts = new QGridLayout;
    charts->addWidget(m_loss, 0, 0, 1, 2);
    charts->addWidget(m_learningRate, 1, 0);
    charts->addWidget(m_gradNorm, 1, 1);
    charts->setRowStretch(0, 3);
    charts->setRowStretch(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addLayout(top);
    layout->addWidget(m_stats);
    layout->addLayout(charts, 1);
    layout->addWidget(new QLabel(tr("Log"), this));
    layout->addWidget(m_log);

    connect(m_stop, &QPushButton::clicked, this, [this] {
        m_stop->setEnabled(false);
        Q_EMIT stopRequested();
    });
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

void LiveRunPage::onStarted(const QString& name)
{
    m_title->setText(tr("Running: %1").arg(name));
    m_loss->clear();
    m_learningRate->clear();
    m_gradNorm->clear();
    m_log->clear();
    m_stats->clear();
    m_progress->setRange(0, 0);
    m_stop->setEnabled(true);
}

void LiveRunPage::onProgress(const JobProgress& p)
{
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
        parts << tr("%1 tokens/s").arg(p.tokensPerSecond, 0, 'f', 0);
    }
    if (!std::isnan(p.epoch)) {
        parts << tr("epoch %1").arg(p.epoch, 0, 'f', 2);
    }
    parts << tr("ETA %1").arg(formatEta(p.etaSeconds));
    m_stats->setText(parts.join(QStringLiteral("   ")));
}

void LiveRunPage::onFinished(const JobResult& result)
{
    m_stop->setEnabled(false);
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
