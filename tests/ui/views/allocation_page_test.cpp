// SPDX-License-Identifier: MIT
// The Allocation page in a real main window: a trained run's layout as a heatmap, the runs list
// read again when the page is shown, the comparison with a second run, the legend and totals.
#include "models/allocation_model.h"
#include "views/allocation_page.h"

#include <ftw/format.h>
#include <ftw/models.h>
#include <ftw/ui/main_window.h>

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <QComboBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>

#include <fstream>
#include <map>

namespace ftw::ui {
namespace {

class AllocationPageTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(makeTinyModel(m_dir / "m", "llama", 1));
        std::ofstream out(m_dir / "d.jsonl");
        for (int i = 0; i < 8; ++i) {
            out << R"({"prompt": ")" << i << R"(+1=", "completion": ")" << i + 1 << R"("})" << '\n';
        }
        out.close();
        auto engine = Engine::create(EngineOptions{m_dir / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        m_engine = std::move(*engine);
    }

    void TearDown() override
    {
        m_window.reset(); // before the engine it observes
        m_engine.reset();
    }

    RunId train(std::int64_t rank, std::map<std::string, std::int64_t> pattern)
    {
        TrainSpec spec;
        spec.runName = "r" + std::to_string(rank);
        spec.modelDir = m_dir / "m";
        spec.data.path = m_dir / "d.jsonl";
        spec.data.validationRatio = 0.0;
        spec.adapter.r = rank;
        spec.adapter.rankPattern = std::move(pattern);
        spec.train.maxSteps = 2;
        spec.train.device = "cpu";
        const JobResult result = m_engine->wait(m_engine->submit(spec).id);
        EXPECT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
        return result.runId;
    }

    void openWindow()
    {
        auto store = RunStore::open(m_dir / "ftw.db", StoreMode::ReadOnly);
        ASSERT_TRUE(store.hasValue()) << store.error().message;
        m_window = std::make_unique<MainWindow>(*m_engine, std::move(*store));
        m_window->show();
    }

    test::TempDir m_dir;
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<MainWindow> m_window;
};

TEST_F(AllocationPageTest, ShowsATrainedRunsLayoutAndItsDifferenceWithAnother)
{
    const RunId a =
        train(4, {{"model.layers.1.self_attn.q_proj", 2}, {"model.layers.0.mlp.up_proj", 8}});
    openWindow();
    auto* page = m_window->findChild<AllocationPage*>();
    ASSERT_NE(page, nullptr);
    EXPECT_FALSE(page->isVisible());
    m_window->showPage(QStringLiteral("allocation"));
    ASSERT_TRUE(page->isVisible());

    QTableView* heatmap = page->heatmap();
    ASSERT_EQ(heatmap, page->findChild<QTableView*>(QStringLiteral("allocationHeatmap")));
    ASSERT_EQ(page->runPicker()->count(), 1);
    EXPECT_EQ(page->runPicker()->currentData().toLongLong(), a);
    const QAbstractItemModel* model = heatmap->model();
    ASSERT_EQ(model->rowCount(), 2);
    ASSERT_EQ(model->columnCount(), 7);
    EXPECT_EQ(model->headerData(0, Qt::Vertical).toString(), QStringLiteral("layer 0"));
    EXPECT_EQ(model->headerData(0, Qt::Horizontal).toString(), QStringLiteral("q_proj"));
    EXPECT_EQ(model->index(0, 0).data().toString(), QStringLiteral("4"));
    EXPECT_EQ(model->index(1, 0).data().toString(), QStringLiteral("2"));
    EXPECT_EQ(model->index(0, 5).data().toString(), QStringLiteral("8"));
    EXPECT_GE(heatmap->horizontalHeader()->sectionSize(0), 64);

    auto store = RunStore::open(m_dir / "ftw.db", StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const std::int64_t trainable = store->run(a)->summary.trainableParams.value_or(-1);
    EXPECT_TRUE(page->totalsLabel()->text().contains(QStringLiteral("14 modules adapted")))
        << page->totalsLabel()->text().toStdString();
    EXPECT_TRUE(
        page->totalsLabel()->text().contains(QString::fromStdString(formatGrouped(trainable))))
        << page->totalsLabel()->text().toStdString();
    const QStringList quantities = {page->quantityPicker()->itemText(0),
                                    page->quantityPicker()->itemText(1)};
    EXPECT_EQ(quantities, (QStringList{QStringLiteral("rank"), QStringLiteral("parameters")}));
    EXPECT_EQ(page->findChild<QLabel*>(QStringLiteral("legendMin"))->text(), QStringLiteral("2"));
    EXPECT_EQ(page->findChild<QLabel*>(QStringLiteral("legendMax"))->text(), QStringLiteral("8"));

    // A second run appears when the page is shown again.
    const RunId b = train(3, {});
    m_window->showPage(QStringLiteral("runs"));
    m_window->showPage(QStringLiteral("allocation"));
    ASSERT_EQ(page->runPicker()->count(), 2);
    EXPECT_EQ(page->runPicker()->currentData().toLongLong(), a); // the choice is kept
    const int compareIndex = page->comparePicker()->findData(QVariant::fromValue<qint64>(b));
    ASSERT_GE(compareIndex, 0);
    page->comparePicker()->setCurrentIndex(compareIndex);
    ASSERT_TRUE(page->model()->isComparing());
    EXPECT_EQ(model->index(0, 0).data().toString(), QStringLiteral("+1")); // 4 - 3
    EXPECT_EQ(model->index(1, 0).data().toString(), QStringLiteral("-1")); // 2 - 3
    EXPECT_EQ(model->index(0, 5).data().toString(), QStringLiteral("+5")); // 8 - 3
    EXPECT_EQ(page->findChild<QLabel*>(QStringLiteral("legendMax"))->text(), QStringLiteral("+5"));
    EXPECT_TRUE(page->totalsLabel()->text().contains(QStringLiteral("B: 14 modules adapted")));

    page->showRun(b); // what it was compared with: the comparison ends
    EXPECT_EQ(page->runPicker()->currentData().toLongLong(), b);
    EXPECT_FALSE(page->model()->isComparing());
    EXPECT_EQ(model->index(0, 0).data().toString(), QStringLiteral("3"));
    page->comparePicker()->setCurrentIndex(
        page->comparePicker()->findData(QVariant::fromValue<qint64>(a)));
    EXPECT_EQ(model->index(0, 0).data().toString(), QStringLiteral("-1")); // 3 - 4
}

TEST_F(AllocationPageTest, SaysSoWhenNoRunHasALayout)
{
    openWindow();
    m_window->showPage(QStringLiteral("allocation"));
    auto* page = m_window->findChild<AllocationPage*>();
    ASSERT_NE(page, nullptr);
    EXPECT_EQ(page->runPicker()->count(), 0);
    EXPECT_EQ(page->heatmap()->model()->rowCount(), 0);
    auto* message = page->findChild<QLabel*>(QStringLiteral("allocationMessage"));
    ASSERT_NE(message, nullptr);
    EXPECT_TRUE(message->isVisible());
    EXPECT_TRUE(message->text().contains(QStringLiteral("No run has an adapter layout")));
}

} // namespace
} // namespace ftw::ui
