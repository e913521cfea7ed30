// SPDX-License-Identifier: MIT
#include <ftw/ui/desktop_options.h>
#include <ftw/ui/main_window.h>

#include <ftw/defaults.h>

#include "models/run_table_model.h"
#include "views/live_run_page.h"
#include "views/runs_page.h"
#include "widgets/metric_chart.h"

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QListWidget>
#include <QMenu>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTableView>
#include <QTest>

namespace ftw::ui {
namespace {

class MainWindowTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto engine = Engine::create(EngineOptions{m_dbPath, 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        m_engine = std::move(*engine);
        auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
        ASSERT_TRUE(store.hasValue()) << store.error().message;
        m_window = std::make_unique<MainWindow>(*m_engine, std::move(*store));
        m_window->show();
    }

    void TearDown() override
    {
        m_window.reset(); // before the engine it observes
        m_engine.reset();
    }

    template <typename T>
    T* child(const char* name) const
    {
        T* widget = m_window->findChild<T*>(QString::fromLatin1(name));
        EXPECT_NE(widget, nullptr) << name;
        return widget;
    }

    QTableView* table() const { return child<QTableView>("runsTable"); }

    QString statusOfRow(int row) const
    {
        const QAbstractItemModel* model = table()->model();
        return model->data(model->index(row, RunTableModel::Status)).toString();
    }

    RunStatus storedStatus(RunId id) const
    {
        auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
        return store ? store->run(id)->summary.status : RunStatus::Unknown;
    }

    test::TempDir m_dir;
    std::filesystem::path m_dbPath = m_dir / "ftw.db";
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<MainWindow> m_window;
};

TEST_F(MainWindowTest, OpensOnTheEmptyRunsTableWithNavigation)
{
    EXPECT_TRUE(m_window->isVisible());
    EXPECT_TRUE(m_window->windowTitle().contains(QStringLiteral("Fine-Tuning Workbench")));
    auto* navigation = child<QListWidget>("navigation");
    const QStringList titles = {QStringLiteral("Runs"),       QStringLiteral("New run"),
                                QStringLiteral("Live run"),   QStringLiteral("Compare"),
                                QStringLiteral("Allocation"), QStringLiteral("Export"),
                                QStringLiteral("Playground")};
    ASSERT_EQ(navigation->count(), titles.size());
    ASSERT_EQ(desktopPageNames().size(), titles.size()); // one --page name per entry
    for (int row = 0; row < navigation->count(); ++row) {
        EXPECT_EQ(navigation->item(row)->text(), titles[row]);
        // --page NAME opens the same entry.
        m_window->showPage(desktopPageNames()[row]);
        EXPECT_EQ(navigation->currentRow(), row);
    }
    m_window->showPage(QStringLiteral("runs"));
    EXPECT_EQ(table()->model()->rowCount(), 0);
    EXPECT_TRUE(child<QLabel>("runsEmptyState")->isVisible());
    EXPECT_FALSE(child<QProgressBar>("jobProgress")->isVisible());
}

TEST_F(MainWindowTest, TheNewRunFormStartsOnTheBundledRunConfig)
{
    // The window of SetUp() found the source tree's resources/default (or FTW_DEFAULTS_DIR).
    const Expected<TrainSpec> bundled = bundledTrainSpec();
    ASSERT_TRUE(bundled) << bundled.error().message;
    EXPECT_EQ(child<QLineEdit>("modelDir")->text(),
              QString::fromStdString(bundled->modelDir.string()));
    EXPECT_EQ(child<QLineEdit>("dataFile")->text(),
              QString::fromStdString(bundled->data.path.string()));
}

TEST_F(MainWindowTest, DemoJobShowsProgressThenAppearsAsSucceeded)
{
    child<QListWidget>("navigation")->setCurrentRow(1);
    child<QPushButton>("startDemo")->click();
    auto* progress = child<QProgressBar>("jobProgress");
    EXPECT_TRUE(progress->isVisible());
    EXPECT_FALSE(child<QPushButton>("startDemo")->isEnabled());

    ASSERT_TRUE(test::waitUntil([&] { return progress->value() > 0; }));
    ASSERT_TRUE(test::waitUntil([&] { return !progress->isVisible(); }, 30000));
    ASSERT_EQ(table()->model()->rowCount(), 1);
    EXPECT_EQ(statusOfRow(0), QStringLiteral("succeeded"));
    // The job was followed on the Live-run page: its loss chart holds the last step.
    auto* live = m_window->findChild<LiveRunPage*>();
    ASSERT_NE(live, nullptr);
    EXPECT_TRUE(live->isVisible());
    ASSERT_GT(live->lossChart()->history().size(), 0U);
    EXPECT_EQ(live->lossChart()->history().points().back().x(), 200.0);
    EXPECT_TRUE(test::waitUntil([&] {
        return live->lossChart()->rawSeries()->count() ==
               static_cast<int>(live->lossChart()->history().size());
    }));
    EXPECT_TRUE(child<QPushButton>("startDemo")->isEnabled());
}

TEST_F(MainWindowTest, StopButtonCancelsTheRunningJob)
{
    m_window->startDemo(100000);
    auto* progress = child<QProgressBar>("jobProgress");
    ASSERT_TRUE(test::waitUntil([&] { return progress->value() > 1; }));
    child<QPushButton>("stopJob")->click();

    ASSERT_TRUE(test::waitUntil([&] { return !progress->isVisible(); }));
    ASSERT_TRUE(test::waitUntil([&] { return table()->model()->rowCount() == 1; }));
    EXPECT_EQ(statusOfRow(0), QStringLiteral("cancelled"));
    EXPECT_EQ(child<QLabel>("jobLabel")->text(), QStringLiteral("Job stopped"));
}

TEST_F(MainWindowTest, ClosingDuringAJobAsksThenStopsTheJobAndCloses)
{
    int questions = 0;
    bool answer = false;
    m_window->setCloseConfirmation([&](QWidget*) {
        ++questions;
        return answer;
    });
    m_window->startDemo(100000);
    auto* progress = child<QProgressBar>("jobProgress");
    ASSERT_TRUE(test::waitUntil([&] { return progress->value() > 1; }));

    EXPECT_FALSE(m_window->close()); // "No": the window and the job stay
    EXPECT_EQ(questions, 1);
    EXPECT_TRUE(m_window->isVisible());
    QCoreApplication::processEvents();
    EXPECT_TRUE(progress->isVisible());

    answer = true;
    EXPECT_FALSE(m_window->close()); // "Yes": stops the job first, closes when it has finished
    ASSERT_TRUE(test::waitUntil([&] { return !m_window->isVisible(); }));
    EXPECT_EQ(questions, 2);
    auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    const auto runs = store->listRuns();
    ASSERT_EQ(runs->size(), 1U);
    EXPECT_EQ(runs->front().status, RunStatus::Cancelled);
}

TEST_F(MainWindowTest, RunsRecordedByAnotherWriterAppearWithoutAnyAction)
{
    // A second engine on the same file stands in for `ftw` running in another process.
    auto other = Engine::create(EngineOptions{m_dbPath, 0});
    ASSERT_TRUE(other.hasValue());
    DemoJobSpec spec;
    spec.steps = 3;
    spec.stepDelayMs = 0;
    spec.runName = "from-the-cli";
    ASSERT_EQ((*other)->wait((*other)->submit(spec).id).status, JobStatus::Succeeded);

    ASSERT_TRUE(test::waitUntil([&] { return table()->model()->rowCount() == 1; }, 5000));
    const QAbstractItemModel* model = table()->model();
    EXPECT_EQ(model->data(model->index(0, RunTableModel::Name)).toString(),
              QStringLiteral("from-the-cli"));
}

TEST_F(MainWindowTest, AFailedRunOfAnotherProcessOpensOnTheLivePageWithItsMessageAndLog)
{
    auto other = Engine::create(EngineOptions{m_dbPath, 0});
    ASSERT_TRUE(other.hasValue());
    DemoJobSpec spec;
    spec.steps = 6;
    spec.stepDelayMs = 0;
    spec.failAtStep = 4;
    spec.runName = "fails-in-the-cli";
    const JobResult result = (*other)->wait((*other)->submit(spec).id);
    ASSERT_EQ(result.status, JobStatus::Failed);
    ASSERT_TRUE(test::waitUntil([&] { return table()->model()->rowCount() == 1; }, 5000));

    // Double-clicking the row follows the run on the Live-run page.
    QTableView* runs = table();
    const QRect cell = runs->visualRect(runs->model()->index(0, RunTableModel::Name));
    // A double click is a press, a release, then the double-click press and its release.
    QTest::mouseClick(runs->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
    QTest::mouseDClick(runs->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
    auto* live = m_window->findChild<LiveRunPage*>();
    ASSERT_NE(live, nullptr);
    EXPECT_TRUE(live->isVisible());
    EXPECT_EQ(live->runId(), result.runId);
    const QString stats = child<QLabel>("liveStats")->text();
    EXPECT_TRUE(stats.contains(QStringLiteral("failed on purpose at step 4")))
        << stats.toStdString();
    // The charts hold what the store recorded before the failure.
    auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    const auto loss = store->metrics(result.runId, "train/loss");
    ASSERT_TRUE(loss.hasValue());
    ASSERT_FALSE(loss->empty());
    ASSERT_EQ(live->lossChart()->history().size(), loss->size());
    EXPECT_EQ(live->lossChart()->history().points().back().y(), loss->back().value);
    // And the run's own log, as written to its folder.
    const QString log = child<QPlainTextEdit>("liveLog")->toPlainText();
    EXPECT_TRUE(log.contains(QStringLiteral("failed on purpose"))) << log.toStdString();

    // The context menu opens the run on the pages that show one run.
    m_window->showPage(QStringLiteral("runs"));
    auto* page = m_window->findChild<RunsPage*>();
    ASSERT_NE(page, nullptr);
    QMenu* menu = page->contextMenuForRow(0);
    const QList<QAction*> actions = menu->actions();
    ASSERT_EQ(actions.size(), 4);
    auto* navigation = child<QListWidget>("navigation");
    for (QAction* action : actions) {
        action->trigger();
        EXPECT_EQ(desktopPageNames()[navigation->currentRow()], action->data().toString());
    }
    delete menu;
}

} // namespace
} // namespace ftw::ui
