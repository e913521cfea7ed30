// SPDX-License-Identifier: MIT
// Compare: real training runs on a tiny model, selected in the Runs table or passed by id, show
// their curves against step, tokens or time, a scatter of size (or memory) against eval loss,
// their metrics and only the config keys that differ. Expected values are read back from the store
// (or computed by the budget) independently of the page.
#include "models/config_diff_model.h"
#include "views/compare_page.h"
#include "views/runs_page.h"

#include <ftw/budget.h>
#include <ftw/engine.h>
#include <ftw/ui/main_window.h>

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <QAbstractItemModelTester>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QGraphicsSimpleTextItem>
#include <QItemSelectionModel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProcess>
#include <QPushButton>
#include <QScatterSeries>
#include <QTableView>
#include <QTableWidget>
#include <QValueAxis>

#include <algorithm>
#include <fstream>
#include <memory>

namespace ftw::ui {
namespace {

constexpr std::int64_t kBatchSize = 2;
constexpr std::int64_t kMaxLength = 64;

// A tiny model (the `ftw make-tiny-model` binary) and an 8-example dataset, made once for the
// suite; each test trains its runs into its own database.
class ComparePageTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = std::make_unique<test::TempDir>();
        QProcess make;
        make.start(QStringLiteral(FTW_BINARY), {QStringLiteral("make-tiny-model"),
                                                QString::fromStdString(modelDir().string())});
        ASSERT_TRUE(make.waitForFinished(60000));
        ASSERT_EQ(make.exitCode(), 0);
        std::ofstream out(*s_dir / "d.jsonl");
        for (int i = 0; i < 8; ++i) {
            out << R"({"prompt": ")" << i << R"(", "completion": ")" << i + 1 << R"("})" << '\n';
        }
    }
    static void TearDownTestSuite() { s_dir.reset(); }

    static std::filesystem::path modelDir() { return *s_dir / "m"; }

    void SetUp() override
    {
        auto engine = Engine::create(EngineOptions{m_db.path() / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue());
        m_engine = std::move(*engine);
    }

    [[nodiscard]] std::filesystem::path db() const { return m_db.path() / "ftw.db"; }

    // Trains `steps` steps of `method` at rank `rank`; with a validation share, one eval at the
    // end.
    RunId train(AdapterMethod method, int rank, double validationRatio = 0.25, int steps = 4)
    {
        TrainSpec spec;
        spec.modelDir = modelDir();
        spec.data.path = *s_dir / "d.jsonl";
        spec.data.validationRatio = validationRatio;
        spec.data.maxLength = kMaxLength;
        spec.adapter.method = method;
        spec.adapter.r = rank;
        spec.train.maxSteps = steps;
        spec.train.batchSize = kBatchSize;
        spec.train.device = "cpu";
        const JobResult result = m_engine->wait(m_engine->submit(spec).id);
        EXPECT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
        return result.runId;
    }

    [[nodiscard]] RunStore store() const
    {
        auto store = RunStore::open(db(), StoreMode::ReadOnly);
        EXPECT_TRUE(store.hasValue());
        return std::move(*store);
    }

    static inline std::unique_ptr<test::TempDir> s_dir;
    test::TempDir m_db;
    std::unique_ptr<Engine> m_engine;
};

template <typename Series>
Series* findSeries(QChartView* view, const QString& name)
{
    for (QAbstractSeries* series : view->chart()->series()) {
        if (series->objectName() == name) {
            return qobject_cast<Series*>(series);
        }
    }
    return nullptr;
}

QString axisTitle(QChartView* view, Qt::Orientation orientation)
{
    const QList<QAbstractAxis*> axes = view->chart()->axes(orientation);
    return axes.isEmpty() ? QString() : axes.front()->titleText();
}

QString seriesName(const char* metric, RunId id)
{
    return QStringLiteral("%1:%2").arg(QString::fromLatin1(metric)).arg(id);
}

// Each point of the drawn series equals (x(point), value) of the stored points, in order.
template <typename XOf>
void expectSeriesMatches(QLineSeries* series, const std::vector<MetricPoint>& stored, XOf xOf)
{
    ASSERT_NE(series, nullptr);
    const QList<QPointF> drawn = series->points();
    ASSERT_EQ(drawn.size(), static_cast<qsizetype>(stored.size()));
    for (std::size_t i = 0; i < stored.size(); ++i) {
        EXPECT_NEAR(drawn[static_cast<qsizetype>(i)].x(), xOf(stored[i]), 1e-9) << i;
        EXPECT_NEAR(drawn[static_cast<qsizetype>(i)].y(), stored[i].value, 1e-12) << i;
    }
}

TEST_F(ComparePageTest, TwoSelectedRunsShowTheirCurvesMetricsAndOnlyTheDifferingKeys)
{
    const RunId lora = train(AdapterMethod::Lora, 4);
    const RunId vera = train(AdapterMethod::Vera, 16);

    MainWindow window(*m_engine, store());
    window.show();
    auto* runs = window.findChild<RunsPage*>();
    ASSERT_NE(runs, nullptr);
    ASSERT_TRUE(test::waitUntil([&] { return runs->table()->model()->rowCount() == 2; }));
    EXPECT_FALSE(runs->compareButton()->isEnabled());
    auto* compare = window.findChild<ComparePage*>();
    ASSERT_NE(compare, nullptr);
    const QAbstractItemModelTester tester(compare->configDiff(),
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    runs->table()->selectAll();
    ASSERT_TRUE(runs->compareButton()->isEnabled());
    runs->compareButton()->click();
    EXPECT_TRUE(compare->isVisible());
    EXPECT_EQ(compare->configDiff()->keys(),
              (std::vector<std::string>{"adapter.method", "adapter.r"}));
    const QStringList methods = {compare->configDiff()->index(0, 0).data().toString(),
                                 compare->configDiff()->index(0, 1).data().toString()};
    EXPECT_TRUE(methods.contains(QStringLiteral("\"lora\"")));
    EXPECT_TRUE(methods.contains(QStringLiteral("\"vera\"")));
    EXPECT_EQ(compare->metricsTable()->rowCount(), 2);
    // Per run: the training loss (4 steps) and the dashed eval loss (one eval at the end).
    EXPECT_EQ(compare->chart()->chart()->series().size(), 4);
    for (const RunId id : {lora, vera}) {
        auto* loss = findSeries<QLineSeries>(compare->chart(), seriesName("train/loss", id));
        ASSERT_NE(loss, nullptr);
        EXPECT_EQ(loss->count(), 4);
        auto* eval = findSeries<QLineSeries>(compare->chart(), seriesName("eval/loss", id));
        ASSERT_NE(eval, nullptr);
        EXPECT_EQ(eval->count(), 1);
        EXPECT_EQ(eval->pen().style(), Qt::DashLine);
        EXPECT_EQ(eval->pen().color(), loss->pen().color());
    }
    EXPECT_EQ(axisTitle(compare->chart(), Qt::Horizontal), QStringLiteral("step"));
    EXPECT_EQ(axisTitle(compare->chart(), Qt::Vertical), QStringLiteral("loss"));
}

TEST_F(ComparePageTest, XAxisChoiceDrawsTheStoredStepsTokensAndTrainingTime)
{
    const std::vector<RunId> ids = {train(AdapterMethod::Lora, 4), train(AdapterMethod::Lora, 8)};
    ComparePage page(db());
    page.resize(1200, 700);
    page.show();
    page.showRuns(ids);
    auto* xAxis = page.findChild<QComboBox*>(QStringLiteral("compareXAxis"));
    ASSERT_NE(xAxis, nullptr);

    const RunStore reader = store();
    auto check = [&](auto xOf) {
        for (const RunId id : ids) {
            for (const char* metric : {"train/loss", "eval/loss"}) {
                const auto stored = reader.metrics(id, metric);
                ASSERT_TRUE(stored.hasValue());
                ASSERT_FALSE(stored->empty()) << metric;
                expectSeriesMatches(findSeries<QLineSeries>(page.chart(), seriesName(metric, id)),
                                    *stored, xOf);
            }
        }
    };

    EXPECT_EQ(xAxis->currentText(), QStringLiteral("Step"));
    check([](const MetricPoint& p) { return static_cast<double>(p.step); });

    xAxis->setCurrentIndex(xAxis->findText(QStringLiteral("Tokens")));
    EXPECT_EQ(axisTitle(page.chart(), Qt::Horizontal), QStringLiteral("tokens trained on"));
    check([](const MetricPoint& p) { return static_cast<double>(p.tokens); });
    // Tokens are not steps: two sequences of up to kMaxLength tokens a step.
    const auto last = reader.metrics(ids[0], "train/loss")->back();
    EXPECT_GT(last.tokens, last.step);

    // Tiny runs take well under ten minutes: seconds.
    xAxis->setCurrentIndex(xAxis->findText(QStringLiteral("Time")));
    EXPECT_EQ(axisTitle(page.chart(), Qt::Horizontal), QStringLiteral("training time (s)"));
    check([](const MetricPoint& p) { return static_cast<double>(p.wallTimeMs) / 1000.0; });
    EXPECT_GT(last.wallTimeMs, 0);

    xAxis->setCurrentIndex(xAxis->findText(QStringLiteral("Step")));
    EXPECT_EQ(axisTitle(page.chart(), Qt::Horizontal), QStringLiteral("step"));
}

TEST_F(ComparePageTest, ScatterHasOnePointPerRunAtTrainableParamsAndBestEvalLoss)
{
    const std::vector<std::pair<AdapterMethod, int>> configs = {
        {AdapterMethod::Lora, 4}, {AdapterMethod::Vera, 16}, {AdapterMethod::Lora, 8}};
    std::vector<RunId> ids;
    for (const auto& [method, rank] : configs) {
        ids.push_back(train(method, rank));
    }
    ComparePage page(db());
    page.resize(1200, 700);
    page.show();
    page.showRuns(ids);
    EXPECT_EQ(page.scatter()->chart()->series().size(), 3);
    EXPECT_EQ(axisTitle(page.scatter(), Qt::Horizontal), QStringLiteral("trainable parameters"));
    EXPECT_EQ(axisTitle(page.scatter(), Qt::Vertical), QStringLiteral("best eval loss"));

    const RunStore reader = store();
    double minParams = 1e300;
    double maxParams = 0.0;
    for (const RunId id : ids) {
        const auto detail = reader.run(id);
        ASSERT_TRUE(detail.hasValue());
        ASSERT_TRUE(detail->summary.trainableParams.has_value());
        const auto params = static_cast<double>(*detail->summary.trainableParams);
        minParams = std::min(minParams, params);
        maxParams = std::max(maxParams, params);
        const auto eval = reader.metrics(id, "eval/loss");
        ASSERT_TRUE(eval.hasValue());
        ASSERT_FALSE(eval->empty());
        const double bestEval =
            std::min_element(eval->begin(), eval->end(), [](const auto& a, const auto& b) {
                return a.value < b.value;
            })->value;

        auto* point = findSeries<QScatterSeries>(page.scatter(), seriesName("scatter", id));
        ASSERT_NE(point, nullptr);
        ASSERT_EQ(point->count(), 1);
        EXPECT_DOUBLE_EQ(point->at(0).x(), params);
        EXPECT_NEAR(point->at(0).y(), bestEval, 1e-12);
    }
    // Every run is named once by the labels beside the points (near points share one label), and
    // the labels lie inside the plot area.
    ASSERT_TRUE(test::waitUntil([&] { return page.scatter()->chart()->plotArea().width() > 100; }));
    QCoreApplication::processEvents();
    const QRectF plotArea = page.scatter()->chart()->plotArea().adjusted(-1, -1, 1, 1);
    QString allLabels;
    for (QGraphicsItem* item : page.scatter()->chart()->childItems()) {
        if (item->data(0).toString() == QStringLiteral("scatterLabel")) {
            const auto* text = static_cast<QGraphicsSimpleTextItem*>(item);
            allLabels += text->text() + QStringLiteral("; ");
            EXPECT_TRUE(plotArea.contains(text->mapRectToParent(text->boundingRect())))
                << text->text().toStdString();
        }
    }
    for (const RunId id : ids) {
        // The default run name is "run".
        EXPECT_EQ(allLabels.count(QStringLiteral("run (run %1)").arg(id)), 1)
            << allLabels.toStdString();
    }
    // VeRA trains far fewer parameters than LoRA: more than two decades get a log axis.
    const bool isLog = qobject_cast<QLogValueAxis*>(
                           page.scatter()->chart()->axes(Qt::Horizontal).front()) != nullptr;
    EXPECT_EQ(isLog, maxParams / minParams > 100.0) << maxParams / minParams;

    // Memory: the peak each run recorded on the CPU (the largest train/peak_memory_bytes).
    auto* scatterX = page.findChild<QComboBox*>(QStringLiteral("compareScatterX"));
    ASSERT_NE(scatterX, nullptr);
    scatterX->setCurrentIndex(1);
    EXPECT_EQ(axisTitle(page.scatter(), Qt::Horizontal), QStringLiteral("peak memory (MiB)"));
    const RunStore peaks = store();
    for (const RunId id : ids) {
        const auto recorded = peaks.metrics(id, "train/peak_memory_bytes");
        ASSERT_TRUE(recorded.hasValue());
        ASSERT_FALSE(recorded->empty());
        double peak = 0.0;
        for (const MetricPoint& p : *recorded) {
            peak = std::max(peak, p.value);
        }
        auto* point = findSeries<QScatterSeries>(page.scatter(), seriesName("scatter", id));
        ASSERT_NE(point, nullptr);
        EXPECT_NEAR(point->at(0).x(), peak / (1024.0 * 1024.0), 1e-9);
    }
}

TEST_F(ComparePageTest, RunsWithoutARecordedPeakUseTheEstimateOfTheirConfig)
{
    const RunId id = train(AdapterMethod::Lora, 4);
    // As if recorded by a build that measured no peak (a CUDA run before #9, an old run).
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db().string().c_str(), &handle), SQLITE_OK);
    sqlite3_busy_timeout(handle, 10000); // the test's engine may be writing
    EXPECT_EQ(sqlite3_exec(handle, "DELETE FROM run_metrics WHERE name = 'train/peak_memory_bytes'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(handle);
    ComparePage page(db());
    page.showRuns({id});
    auto* scatterX = page.findChild<QComboBox*>(QStringLiteral("compareScatterX"));
    ASSERT_NE(scatterX, nullptr);
    scatterX->setCurrentIndex(1);
    EXPECT_EQ(axisTitle(page.scatter(), Qt::Horizontal),
              QStringLiteral("estimated training memory (MiB)"));
    AdapterConfig adapter;
    adapter.method = AdapterMethod::Lora;
    adapter.r = 4;
    MemoryOptions memory;
    memory.weightDtype = "F32";
    memory.batchSize = kBatchSize;
    memory.seqLen = kMaxLength;
    const auto budget = computeBudget(modelDir(), adapter, memory);
    ASSERT_TRUE(budget.hasValue()) << budget.error().message;
    auto* point = findSeries<QScatterSeries>(page.scatter(), seriesName("scatter", id));
    ASSERT_NE(point, nullptr);
    EXPECT_NEAR(point->at(0).x(),
                static_cast<double>(budget->memory.totalBytes) / (1024.0 * 1024.0), 1e-9);
}

TEST_F(ComparePageTest, WithoutEvalLossTheScatterShowsTheFinalTrainLossAndSaysSo)
{
    const std::vector<RunId> ids = {train(AdapterMethod::Lora, 4, /*validationRatio=*/0.0),
                                    train(AdapterMethod::Lora, 2, /*validationRatio=*/0.0)};
    ComparePage page(db());
    page.showRuns(ids);
    EXPECT_EQ(axisTitle(page.scatter(), Qt::Vertical),
              QStringLiteral("final train loss (no eval loss)"));
    const RunStore reader = store();
    for (const RunId id : ids) {
        const auto loss = reader.metrics(id, "train/loss");
        ASSERT_TRUE(loss.hasValue());
        ASSERT_FALSE(loss->empty());
        auto* point = findSeries<QScatterSeries>(page.scatter(), seriesName("scatter", id));
        ASSERT_NE(point, nullptr);
        EXPECT_NEAR(point->at(0).y(), loss->back().value, 1e-12);
        EXPECT_EQ(findSeries<QLineSeries>(page.chart(), seriesName("eval/loss", id)), nullptr);
    }
}

// ftw-workbench --compare and Compare selected open the page through MainWindow::compareRuns().
TEST_F(ComparePageTest, TheWindowOpensTheComparePageOnTheRuns)
{
    const std::vector<RunId> ids = {train(AdapterMethod::Lora, 4), train(AdapterMethod::Vera, 16)};
    MainWindow window(*m_engine, store());
    window.show();
    window.compareRuns(ids);
    auto* compare = window.findChild<ComparePage*>();
    ASSERT_NE(compare, nullptr);
    EXPECT_TRUE(compare->isVisible());
    EXPECT_EQ(compare->metricsTable()->rowCount(), 2);
    EXPECT_EQ(compare->scatter()->chart()->series().size(), 2);
}

} // namespace
} // namespace ftw::ui
