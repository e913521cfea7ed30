// SPDX-License-Identifier: MIT
// Compare: two real training runs selected in the Runs table show their curves, metrics and only
// the config keys that differ.
#include "models/config_diff_model.h"
#include "views/compare_page.h"
#include "views/runs_page.h"

#include <ftw/ui/main_window.h>

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QChart>
#include <QChartView>
#include <QItemSelectionModel>
#include <QLineSeries>
#include <QProcess>
#include <QPushButton>
#include <QTableView>
#include <QTableWidget>

#include <fstream>

namespace ftw::ui {
namespace {

TEST(ComparePageTest, TwoSelectedRunsShowTheirCurvesMetricsAndOnlyTheDifferingKeys)
{
    const test::TempDir dir;
    QProcess make;
    make.start(QStringLiteral(FTW_BINARY),
               {QStringLiteral("make-tiny-model"), QString::fromStdString((dir / "m").string())});
    ASSERT_TRUE(make.waitForFinished(60000));
    ASSERT_EQ(make.exitCode(), 0);
    {
        std::ofstream out(dir / "d.jsonl");
        for (int i = 0; i < 8; ++i) {
            out << R"({"prompt": ")" << i << R"(", "completion": ")" << i + 1 << R"("})" << '\n';
        }
    }
    const std::filesystem::path db = dir / "ftw.db";
    auto engine = Engine::create(EngineOptions{db, 0});
    ASSERT_TRUE(engine.hasValue());
    for (const auto& [method, rank] :
         {std::pair{AdapterMethod::Lora, 4}, {AdapterMethod::Vera, 16}}) {
        TrainSpec spec;
        spec.modelDir = dir / "m";
        spec.data.path = dir / "d.jsonl";
        spec.data.validationRatio = 0.25;
        spec.adapter.method = method;
        spec.adapter.r = rank;
        spec.train.maxSteps = 4;
        spec.train.device = "cpu";
        const JobResult result = (*engine)->wait((*engine)->submit(spec).id);
        ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    }

    auto store = RunStore::open(db, StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    MainWindow window(**engine, std::move(*store));
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
    const QList<QAbstractSeries*> series = compare->chart()->chart()->series();
    ASSERT_EQ(series.size(), 2);
    for (QAbstractSeries* s : series) {
        EXPECT_EQ(static_cast<QLineSeries*>(s)->count(), 4);
    }
}

} // namespace
} // namespace ftw::ui
