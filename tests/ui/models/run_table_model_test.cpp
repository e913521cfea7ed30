// SPDX-License-Identifier: MIT
#include "models/run_table_model.h"

#include "support/temp_dir.h"

#include <ftw/defaults.h>
#include <ftw/engine.h>

#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>

#include <cmath>

namespace ftw::ui {
namespace {

class RunTableModelTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto engine = Engine::create(EngineOptions{m_dbPath, 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        m_engine = std::move(*engine);
        auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
        ASSERT_TRUE(store.hasValue()) << store.error().message;
        m_model = std::make_unique<RunTableModel>(std::move(*store));
        m_tester = std::make_unique<QAbstractItemModelTester>(
            m_model.get(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    }

    JobResult runDemo(int failAtStep = -1, int steps = 5)
    {
        DemoJobSpec spec;
        spec.steps = steps;
        spec.stepDelayMs = 0;
        spec.failAtStep = failAtStep;
        return m_engine->wait(m_engine->submit(spec).id);
    }

    QString cell(int row, int column) const
    {
        return m_model->data(m_model->index(row, column)).toString();
    }

    test::TempDir m_dir;
    std::filesystem::path m_dbPath = m_dir / "ftw.db";
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<RunTableModel> m_model;
    std::unique_ptr<QAbstractItemModelTester> m_tester;
};

TEST_F(RunTableModelTest, NewRunsAreInsertedAtTheTopWithoutAReset)
{
    QSignalSpy resets(m_model.get(), &QAbstractItemModel::modelReset);
    QSignalSpy inserts(m_model.get(), &QAbstractItemModel::rowsInserted);
    m_model->reload();
    EXPECT_EQ(m_model->rowCount(), 0);

    const RunId first = runDemo().runId;
    m_model->reload();
    const RunId second = runDemo().runId;
    const RunId third = runDemo().runId;
    m_model->reload();
    m_model->reload(); // nothing changed

    ASSERT_EQ(m_model->rowCount(), 3);
    EXPECT_EQ(m_model->data(m_model->index(0, 0), RunTableModel::RunIdRole).toLongLong(), third);
    EXPECT_EQ(m_model->data(m_model->index(1, 0), RunTableModel::RunIdRole).toLongLong(), second);
    EXPECT_EQ(m_model->data(m_model->index(2, 0), RunTableModel::RunIdRole).toLongLong(), first);
    EXPECT_EQ(resets.count(), 0);
    EXPECT_EQ(inserts.count(), 2);
}

TEST_F(RunTableModelTest, ShowsStatusParamsLossAndTheErrorOfAFailedRun)
{
    runDemo();
    runDemo(3);
    m_model->reload();

    ASSERT_EQ(m_model->rowCount(), 2);
    EXPECT_EQ(cell(0, RunTableModel::Status), QStringLiteral("failed"));
    EXPECT_EQ(cell(1, RunTableModel::Status), QStringLiteral("succeeded"));
    EXPECT_EQ(cell(1, RunTableModel::Params), QStringLiteral("64"));
    EXPECT_EQ(cell(1, RunTableModel::Method), QStringLiteral("demo"));
    EXPECT_NE(cell(1, RunTableModel::LastLoss), QStringLiteral("-"));
    const QString tooltip =
        m_model->data(m_model->index(0, RunTableModel::Name), Qt::ToolTipRole).toString();
    EXPECT_TRUE(tooltip.contains(QStringLiteral("failed on purpose at step 3")))
        << tooltip.toStdString();
    EXPECT_EQ(m_model->headerData(RunTableModel::Params, Qt::Horizontal).toString(),
              QStringLiteral("Trainable"));
}

TEST_F(RunTableModelTest, TheBundledModelIsNamedAsSuchAndOtherModelsByTheirFolder)
{
    const auto defaults = findBundledDefaults();
    ASSERT_TRUE(defaults.hasValue()) << defaults.error().message;
    std::vector<RunSummary> runs(3);
    runs[0].id = 3;
    runs[0].model = (defaults->root / "model" / ".." / "model").string(); // the same folder
    runs[1].id = 2;
    runs[1].model = "/data/models/Qwen2.5-0.5B/";
    runs[2].id = 1;
    runs[2].model = (defaults->root / "elsewhere" / "model").string(); // another folder "model"
    m_model->setRuns(std::move(runs));
    ASSERT_EQ(m_model->rowCount(), 3);
    EXPECT_EQ(cell(0, RunTableModel::Model), QStringLiteral("bundled (KJV)"));
    EXPECT_EQ(cell(1, RunTableModel::Model), QStringLiteral("Qwen2.5-0.5B"));
    EXPECT_EQ(cell(2, RunTableModel::Model), QStringLiteral("model"));
    // The tooltip keeps the whole path.
    EXPECT_EQ(m_model->data(m_model->index(0, RunTableModel::Model), Qt::ToolTipRole).toString(),
              QString::fromStdString((defaults->root / "model" / ".." / "model").string()));
}

TEST_F(RunTableModelTest, TheLossCurveColumnHoldsBucketMeansOfTheStoredLoss)
{
    const RunId longRun = runDemo(-1, 150).runId;
    const RunId shortRun = runDemo(-1, 5).runId;
    m_model->reload();
    auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());

    for (const RunId id : {longRun, shortRun}) {
        const auto points = store->metrics(id, "train/loss");
        ASSERT_TRUE(points.hasValue());
        // Independently: bucket b of B = min(n, 60) averages the values at indices
        // floor(b n / B) .. floor((b + 1) n / B) - 1 (every value in exactly one bucket).
        const std::size_t n = points->size();
        const std::size_t buckets = std::min<std::size_t>(n, RunTableModel::kSparklinePoints);
        std::vector<double> expected;
        std::size_t covered = 0;
        for (std::size_t b = 0; b < buckets; ++b) {
            const auto first = static_cast<std::size_t>(std::floor(
                static_cast<double>(b) * static_cast<double>(n) / static_cast<double>(buckets)));
            const auto last = static_cast<std::size_t>(
                std::floor(static_cast<double>(b + 1) * static_cast<double>(n) /
                           static_cast<double>(buckets)));
            double sum = 0.0;
            for (std::size_t i = first; i < last; ++i) {
                sum += (*points)[i].value;
            }
            expected.push_back(sum / static_cast<double>(last - first));
            covered += last - first;
        }
        ASSERT_EQ(covered, n);
        const QModelIndex cell = m_model->index(m_model->rowOfRun(id), RunTableModel::LossCurve);
        const auto curve = m_model->data(cell, RunTableModel::SparklineRole).value<QList<double>>();
        ASSERT_EQ(static_cast<std::size_t>(curve.size()), expected.size()) << "run " << id;
        for (std::size_t i = 0; i < expected.size(); ++i) {
            EXPECT_NEAR(curve[static_cast<qsizetype>(i)], expected[i], 1e-12)
                << "run " << id << " bucket " << i;
        }
    }
    // The long run's 150 values are outlined in 60 means; the short run keeps its 5 values.
    EXPECT_EQ(m_model
                  ->data(m_model->index(m_model->rowOfRun(longRun), RunTableModel::LossCurve),
                         RunTableModel::SparklineRole)
                  .value<QList<double>>()
                  .size(),
              RunTableModel::kSparklinePoints);
}

TEST_F(RunTableModelTest, SortRoleOrdersNumbersAsNumbers)
{
    std::vector<RunSummary> runs(2);
    runs[0].id = 2;
    runs[0].trainableParams = 9;
    runs[1].id = 1;
    runs[1].trainableParams = 100;
    m_model->setRuns(runs);
    const auto nine =
        m_model->data(m_model->index(0, RunTableModel::Params), RunTableModel::SortRole);
    const auto hundred =
        m_model->data(m_model->index(1, RunTableModel::Params), RunTableModel::SortRole);
    EXPECT_LT(nine.toLongLong(), hundred.toLongLong());
    EXPECT_GT(cell(0, RunTableModel::Params),
              cell(1, RunTableModel::Params)); // "9" > "100" as text
}

TEST_F(RunTableModelTest, ChangedStatusUpdatesTheRowInPlace)
{
    std::vector<RunSummary> runs(1);
    runs[0].id = 1;
    runs[0].status = RunStatus::Running;
    m_model->setRuns(runs);
    QSignalSpy changed(m_model.get(), &QAbstractItemModel::dataChanged);
    runs[0].status = RunStatus::Succeeded;
    m_model->setRuns(runs);
    EXPECT_GE(changed.count(), 1);
    EXPECT_EQ(cell(0, RunTableModel::Status), QStringLiteral("succeeded"));
}

} // namespace
} // namespace ftw::ui
