// SPDX-License-Identifier: MIT
#include <ftw/ui/main_window.h>

#include "allocation_page.h"
#include "bridge/engine_controller.h"
#include "bridge/qt_convert.h"
#include "budget_panel.h"
#include "compare_page.h"
#include "export_page.h"
#include "live_run_page.h"
#include "memory_advice.h"
#include "models/run_table_model.h"
#include "new_run_page.h"
#include "playground_page.h"
#include "runs_page.h"
#include "train_form.h"

#include <ftw/defaults.h>

#include <QCloseEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTimer>

#include <cmath>
#include <optional>

namespace ftw::ui {
namespace {

constexpr int kStoreRefreshMs = 1000;

bool askToStopJob(QWidget* parent)
{
    return QMessageBox::question(parent, MainWindow::tr("Stop the running job?"),
                                 MainWindow::tr("A job is running. Stop it at the next step and "
                                                "close FTW? Its run is kept as cancelled."),
                                 QMessageBox::Yes | QMessageBox::No,
                                 QMessageBox::No) == QMessageBox::Yes;
}

} // namespace

struct MainWindow::Private {
    EngineController* controller = nullptr;
    RunTableModel* runs = nullptr;
    RunsPage* runsPage = nullptr;
    NewRunPage* newRunPage = nullptr;
    LiveRunPage* liveRunPage = nullptr;
    ComparePage* comparePage = nullptr;
    AllocationPage* allocationPage = nullptr;
    ExportPage* exportPage = nullptr;
    PlaygroundPage* playgroundPage = nullptr;
    QListWidget* navigation = nullptr;
    QStringList pageNames; ///< the --page name of each navigation row
    QStackedWidget* pages = nullptr;
    QLabel* jobLabel = nullptr;
    QProgressBar* progress = nullptr;
    QPushButton* stopButton = nullptr;
    QTimer* refreshTimer = nullptr;
    bool isCloseRequested = false;
    std::function<bool(QWidget*)> confirmClose = askToStopJob;
    std::optional<TrainSpec> lastTrainSpec; ///< the training run started last (for OOM advice)
};

MainWindow::MainWindow(Engine& engine, RunStore store, QWidget* parent)
    : QMainWindow(parent), d(std::make_unique<Private>())
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("FTW - Fine-Tuning Workbench"));
    resize(1320, 820);

    d->controller = new EngineController(engine, this);
    d->runs = new RunTableModel(std::move(store), this);
    d->runsPage = new RunsPage(*d->runs, this);
    d->newRunPage = new NewRunPage(this);
    // Nothing chosen yet: the New run form starts on the bundled run config (the default model,
    // dataset and settings).
    if (const Expected<TrainSpec> bundled = bundledTrainSpec(); bundled) {
        d->newRunPage->trainForm()->setTrainSpec(*bundled);
    }
    d->liveRunPage = new LiveRunPage(*d->controller, this);
    d->comparePage = new ComparePage(engine.databasePath(), this);
    d->allocationPage = new AllocationPage(engine.databasePath(), this);
    d->exportPage = new ExportPage(*d->controller, this);
    d->playgroundPage = new PlaygroundPage(engine.databasePath(), this);

    d->navigation = new QListWidget(this);
    d->navigation->setObjectName(QStringLiteral("navigation"));
    d->navigation->setFixedWidth(150);
    d->pages = new QStackedWidget(this);
    // One entry per page, in desktopPageNames() order; showPage() finds pages by these names.
    addPage(QStringLiteral("runs"), tr("Runs"), d->runsPage);
    addPage(QStringLiteral("new-run"), tr("New run"), d->newRunPage);
    addPage(QStringLiteral("live"), tr("Live run"), d->liveRunPage);
    addPage(QStringLiteral("compare"), tr("Compare"), d->comparePage);
    addPage(QStringLiteral("allocation"), tr("Allocation"), d->allocationPage);
    addPage(QStringLiteral("export"), tr("Export"), d->exportPage);
    addPage(QStringLiteral("playground"), tr("Playground"), d->playgroundPage);
    d->navigation->setCurrentRow(0);

    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    layout->addWidget(d->navigation);
    layout->addWidget(d->pages, 1);
    setCentralWidget(central);
    setStyleSheet(
        QStringLiteral("QLabel#pageTitle { font-size: 18px; font-weight: 600; padding: 4px 0; }"
                       "QListWidget#navigation { font-size: 14px; }"
                       "QListWidget#navigation::item { padding: 8px 10px; }"));

    // Status bar: the database and device on the left, the running job on the right.
    const std::vector<DeviceInfo> devices = engine.devices();
    d->newRunPage->budgetPanel()->setDevices(devices);
    QString deviceText = tr("CPU only");
    if (devices.size() > 1) {
        deviceText = tr("%n CUDA device(s)", nullptr, static_cast<int>(devices.size() - 1));
    }
    statusBar()->showMessage(
        tr("Store: %1  |  %2  |  LibTorch %3")
            .arg(toQString(engine.databasePath()), deviceText, toQString(Engine::torchVersion())));
    d->jobLabel = new QLabel(this);
    d->jobLabel->setObjectName(QStringLiteral("jobLabel"));
    d->progress = new QProgressBar(this);
    d->progress->setObjectName(QStringLiteral("jobProgress"));
    d->progress->setFixedWidth(220);
    d->stopButton = new QPushButton(tr("Stop"), this);
    d->stopButton->setObjectName(QStringLiteral("stopJob"));
    d->stopButton->setToolTip(tr("Stop the job at the next step; its run is kept as cancelled."));
    statusBar()->addPermanentWidget(d->jobLabel);
    statusBar()->addPermanentWidget(d->progress);
    statusBar()->addPermanentWidget(d->stopButton);
    d->progress->hide();
    d->stopButton->hide();

    connect(d->navigation, &QListWidget::currentRowChanged, d->pages,
            &QStackedWidget::setCurrentIndex);
    connect(d->newRunPage, &NewRunPage::demoRequested, this, &MainWindow::startDemo);
    connect(d->newRunPage->trainForm(), &TrainForm::startRequested, this,
            [this] { startJob(d->newRunPage->trainForm()->trainSpec(), 0); });
    // An equal-budget sweep is one job: the engine trains its runs one after another as a group.
    connect(d->newRunPage->budgetPanel(), &BudgetPanel::sweepRequested, this,
            [this](const SweepSpec& spec) { startJob(spec, 0); });
    connect(d->liveRunPage, &LiveRunPage::stopRequested, d->stopButton, &QPushButton::click);
    connect(d->runsPage, &RunsPage::compareRequested, this, [this](const QList<qint64>& ids) {
        compareRuns(std::vector<RunId>(ids.begin(), ids.end()));
    });
    connect(d->runsPage, &RunsPage::openRequested, this,
            [this](qint64 id, const QString& page) { openRun(id, page); });
    connect(d->exportPage, &ExportPage::exportRequested, this, [this](const MergeSpec& spec) {
        startJob(spec, 0);
        showPage(QStringLiteral("export")); // the report appears here; progress in the status bar
    });
    connect(d->stopButton, &QPushButton::clicked, this, [this] {
        if (const auto job = d->controller->activeJob()) {
            d->controller->requestCancel(*job);
            d->stopButton->setEnabled(false);
            d->jobLabel->setText(tr("Stopping..."));
        }
    });
    connect(
        d->controller, &EngineController::jobStarted, this,
        [this](qint64, const QString& name) { d->jobLabel->setText(tr("Running %1").arg(name)); });
    connect(d->controller, &EngineController::progressChanged, this, [this](const JobProgress& p) {
        d->progress->setRange(0, static_cast<int>(p.totalSteps));
        d->progress->setValue(static_cast<int>(p.step));
        QString text = tr("Step %1/%2").arg(p.step).arg(p.totalSteps);
        if (!std::isnan(p.loss)) {
            text += tr("  loss %1").arg(p.loss, 0, 'f', 4);
        }
        if (!std::isnan(p.etaSeconds)) {
            text += tr("  ETA %1 s").arg(p.etaSeconds, 0, 'f', 0);
        }
        if (d->stopButton->isEnabled()) {
            d->jobLabel->setText(text);
        }
    });
    connect(d->controller, &EngineController::jobFinished, this,
            [this](qint64, const JobResult& result) {
                d->progress->hide();
                d->stopButton->hide();
                d->newRunPage->setJobRunning(false);
                d->runs->reload();
                switch (result.status) {
                case JobStatus::Succeeded:
                    d->jobLabel->setText(tr("Job finished"));
                    break;
                case JobStatus::Cancelled:
                    d->jobLabel->setText(tr("Job stopped"));
                    break;
                default:
                    d->jobLabel->setText(tr("Job failed"));
                    if (!d->isCloseRequested) {
                        QMessageBox::warning(this, tr("The job failed"),
                                             jobFailureMessage(result, d->lastTrainSpec,
                                                               d->controller->engine().devices()));
                    }
                    break;
                }
                if (d->isCloseRequested) {
                    close();
                }
            });
    connect(d->runs, &RunTableModel::loadFailed, this, [this](const QString& message) {
        statusBar()->showMessage(tr("Cannot read the run store: %1").arg(message));
    });

    // Runs started elsewhere (the `ftw` command line) appear and update: the store is the truth.
    d->refreshTimer = new QTimer(this);
    d->refreshTimer->setInterval(kStoreRefreshMs);
    connect(d->refreshTimer, &QTimer::timeout, d->runs, &RunTableModel::reload);
    d->refreshTimer->start();
    d->runs->reload();
}

MainWindow::~MainWindow() = default;

void MainWindow::startDemo(int steps)
{
    DemoJobSpec spec;
    spec.steps = steps;
    startJob(spec, steps);
}

void MainWindow::startJob(const JobSpec& spec, int totalSteps)
{
    if (d->controller->activeJob()) {
        return;
    }
    d->controller->submit(spec);
    d->lastTrainSpec = std::holds_alternative<TrainSpec>(spec)
                           ? std::optional<TrainSpec>(std::get<TrainSpec>(spec))
                           : std::nullopt;
    d->newRunPage->setJobRunning(true);
    d->progress->setRange(0, totalSteps);
    d->progress->setValue(0);
    d->progress->show();
    d->stopButton->setEnabled(true);
    d->stopButton->show();
    d->jobLabel->setText(tr("Queued"));
    showPage(QStringLiteral("live"));
}

void MainWindow::addPage(const QString& name, const QString& title, QWidget* page)
{
    d->pageNames.append(name);
    d->navigation->addItem(title);
    d->pages->addWidget(page);
}

void MainWindow::openRun(RunId id, const QString& page)
{
    if (page == QStringLiteral("live")) {
        d->liveRunPage->watchRun(id);
    } else if (page == QStringLiteral("allocation")) {
        d->allocationPage->showRun(id);
    } else if (page == QStringLiteral("export")) {
        d->exportPage->showRun(id);
    } else if (page == QStringLiteral("playground")) {
        d->playgroundPage->showRun(id);
    } else {
        return;
    }
    showPage(page);
}

void MainWindow::compareRuns(const std::vector<RunId>& ids)
{
    d->comparePage->showRuns(ids);
    showPage(QStringLiteral("compare"));
}

void MainWindow::generateInPlayground(const QString& prompt)
{
    showPage(QStringLiteral("playground"));
    d->playgroundPage->promptEdit()->setPlainText(prompt);
    if (d->playgroundPage->generateButton()->isEnabled()) {
        d->playgroundPage->generateButton()->click();
    }
}

Status MainWindow::importRunConfig(const std::filesystem::path& file)
{
    Status imported = d->newRunPage->trainForm()->importConfig(file);
    showPage(QStringLiteral("new-run"));
    return imported;
}

void MainWindow::showPage(const QString& name)
{
    const auto index = d->pageNames.indexOf(name);
    if (index >= 0) {
        d->navigation->setCurrentRow(static_cast<int>(index));
    }
}

void MainWindow::setCloseConfirmation(std::function<bool(QWidget*)> confirm)
{
    d->confirmClose = std::move(confirm);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    const auto job = d->controller->activeJob();
    if (!job) {
        event->accept();
        return;
    }
    if (!d->isCloseRequested) {
        if (!d->confirmClose(this)) {
            event->ignore();
            return;
        }
        d->isCloseRequested = true;
        d->controller->requestCancel(*job);
        d->stopButton->setEnabled(false);
        d->jobLabel->setText(tr("Stopping..."));
    }
    event->ignore(); // closes when jobFinished arrives
}

} // namespace ftw::ui
