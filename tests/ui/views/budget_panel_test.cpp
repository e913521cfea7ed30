// SPDX-License-Identifier: MIT
// The Budget tab of the New-run page: the engine's computeBudget() and solveBudget() figures for
// the form's config on a real tiny model, kept up to date as the form changes, and the
// equal-budget sweep it starts.
#include "views/budget_panel.h"
#include "views/compare_page.h"
#include "views/runs_page.h"

#include <ftw/ui/main_window.h>

#include "bridge/qt_convert.h"
#include "models/allocation_model.h"
#include "models/run_table_model.h"
#include "views/new_run_page.h"
#include "views/train_form.h"

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <ftw/budget.h>
#include <ftw/format.h>
#include <ftw/models.h>

#include <gtest/gtest.h>

#include <QChart>

#include <QChartView>

#include <QMenu>

#include <QAbstractItemModelTester>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QTableWidget>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>

namespace ftw::ui {
namespace {

class BudgetPanelTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        const Status made = makeTinyModel(m_dir / "model", "llama", 7);
        ASSERT_TRUE(made.isOk()) << made.error().message;
        std::ofstream out(m_dir / "data.jsonl");
        for (int i = 0; i < 8; ++i) {
            out << R"({"prompt": ")" << i << R"(?", "completion": ")" << i * i << R"(."})" << '\n';
        }
    }

    /// A valid run config: LoRA r 4 on every projection of the tiny llama.
    [[nodiscard]] TrainSpec baseSpec() const
    {
        TrainSpec spec;
        spec.runName = "tiny";
        spec.modelDir = m_dir / "model";
        spec.data.path = m_dir / "data.jsonl";
        spec.data.maxLength = 48;
        spec.data.validationRatio = 0.25;
        spec.adapter.method = AdapterMethod::Lora;
        spec.adapter.r = 4;
        spec.train.maxSteps = 1;
        spec.train.batchSize = 3;
        spec.train.device = "cpu";
        return spec;
    }

    /// What the engine says of the form's config, with the memory options written out here.
    static BudgetReport expectedReport(const TrainSpec& spec)
    {
        const MemoryOptions memory{"F32", spec.train.batchSize, spec.data.maxLength};
        Expected<BudgetReport> report = computeBudget(spec.modelDir, spec.adapter, memory);
        EXPECT_TRUE(report.hasValue()) << report.error().message;
        return report ? *report : BudgetReport{};
    }

    /// Fills the page's form with `spec` and waits (past the debounce) for the panel to show the
    /// budget of the form's config.
    static BudgetReport showSpec(NewRunPage& page, const TrainSpec& spec)
    {
        page.trainForm()->setTrainSpec(spec);
        const BudgetReport expected = expectedReport(page.trainForm()->trainSpec());
        const BudgetPanel& panel = *page.budgetPanel();
        EXPECT_TRUE(test::waitUntil([&] {
            return panel.report() && panel.report()->method == expected.method &&
                   panel.report()->trainableParams == expected.trainableParams;
        }));
        return expected;
    }

    test::TempDir m_dir;
};

TEST_F(BudgetPanelTest, ShowsTheEnginesFiguresForTheFormsConfig)
{
    NewRunPage page;
    BudgetPanel& panel = *page.budgetPanel();
    const QAbstractItemModelTester tester(panel.heatmapModel(),
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    // What the view shows: the same cells, with short column titles.
    const QAbstractItemModelTester viewTester(
        panel.heatmap()->model(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    EXPECT_EQ(page.sideTabs()->tabText(page.sideTabs()->indexOf(&panel)), QStringLiteral("Budget"));
    EXPECT_FALSE(panel.report().has_value());
    EXPECT_TRUE(panel.statusText().startsWith(QStringLiteral("Choose a base model")));

    TrainSpec spec = baseSpec();
    spec.adapter.layersToTransform = {1}; // layer 0 stays unadapted
    const BudgetReport expected = showSpec(page, spec);
    ASSERT_TRUE(panel.report().has_value());
    ASSERT_FALSE(expected.modules.empty());
    EXPECT_TRUE(panel.statusText().isEmpty());

    // The summary.
    EXPECT_TRUE(panel.value(QStringLiteral("budgetTrainable"))
                    .startsWith(toQString(formatGrouped(expected.trainableParams) + " (" +
                                          formatCount(expected.trainableParams) + ") in ")));
    EXPECT_EQ(panel.value(QStringLiteral("budgetPercent")),
              QString::number(expected.percentOfBase, 'f', 4) + QStringLiteral("% of the base"));
    EXPECT_TRUE(panel.value(QStringLiteral("budgetBase"))
                    .startsWith(toQString(formatGrouped(expected.baseParams))));
    EXPECT_EQ(panel.value(QStringLiteral("budgetMethod")), QStringLiteral("lora: r 4, alpha 16"));

    // The heatmap: one cell per module with its trainable count; the others not adapted.
    const AllocationModel& heatmap = *panel.heatmapModel();
    ASSERT_EQ(heatmap.rowCount(), 2); // layers 0 and 1
    std::set<std::pair<int, int>> adaptedCells;
    for (const BudgetModule& m : expected.modules) {
        ASSERT_EQ(m.layer, 1) << m.name;
        const auto& kinds = heatmap.moduleKinds();
        const auto column = static_cast<int>(
            std::find(kinds.begin(), kinds.end(), toQString(m.kind)) - kinds.begin());
        ASSERT_LT(column, heatmap.columnCount()) << m.kind;
        const QModelIndex cell = heatmap.index(1, column);
        EXPECT_EQ(cell.data(AllocationModel::ValueRole).toLongLong(), m.trainableParams) << m.name;
        EXPECT_TRUE(cell.data(Qt::ToolTipRole)
                        .toString()
                        .contains(toQString(formatGrouped(m.trainableParams) + " parameters")));
        EXPECT_EQ(cell.data(Qt::DisplayRole).toString(), QString::number(m.r));
        adaptedCells.emplace(1, column);
    }
    EXPECT_EQ(adaptedCells.size(), expected.modules.size());
    const QAbstractItemModel& shown = *panel.heatmap()->model();
    ASSERT_EQ(shown.columnCount(), heatmap.columnCount());
    for (int column = 0; column < heatmap.columnCount(); ++column) {
        const QString kind = heatmap.moduleKinds()[static_cast<std::size_t>(column)];
        EXPECT_TRUE(kind.endsWith(shown.headerData(column, Qt::Horizontal).toString() +
                                  QStringLiteral("_proj")))
            << kind.toStdString();
        EXPECT_EQ(shown.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString(), kind);
        EXPECT_EQ(shown.index(1, column).data(AllocationModel::ValueRole),
                  heatmap.index(1, column).data(AllocationModel::ValueRole));
    }
    for (int row = 0; row < heatmap.rowCount(); ++row) {
        for (int column = 0; column < heatmap.columnCount(); ++column) {
            const QModelIndex cell = heatmap.index(row, column);
            const bool isAdapted = adaptedCells.count({row, column}) > 0;
            EXPECT_EQ(cell.data(AllocationModel::IsAdaptedRole).toBool(), isAdapted);
            if (!isAdapted) { // the view's grey background
                EXPECT_FALSE(cell.data(Qt::BackgroundRole).isValid());
            }
        }
    }

    // The memory estimate, part by part.
    const MemoryEstimate& m = expected.memory;
    const std::vector<std::int64_t> parts = {m.baseWeightBytes, m.adapterWeightBytes,
                                             m.gradientBytes,   m.optimizerBytes,
                                             m.activationBytes, m.totalBytes};
    const QTableWidget* memory = panel.memoryTable();
    ASSERT_EQ(memory->rowCount(), static_cast<int>(parts.size()));
    for (int row = 0; row < memory->rowCount(); ++row) {
        const auto bytes = parts[static_cast<std::size_t>(row)];
        EXPECT_EQ(memory->item(row, 1)->data(Qt::UserRole).toLongLong(), bytes) << row;
        EXPECT_EQ(memory->item(row, 1)->text(), toQString(formatBytes(bytes))) << row;
    }
    EXPECT_EQ(m.batchSize, 3);
    EXPECT_EQ(m.seqLen, 48);
    EXPECT_TRUE(panel.value(QStringLiteral("budgetMemoryNote")).contains(QStringLiteral("10-30")));
}

TEST_F(BudgetPanelTest, ChangingTheRankInTheFormUpdatesThePanelAfterTheDebounce)
{
    NewRunPage page;
    const BudgetPanel& panel = *page.budgetPanel();
    const BudgetReport before = showSpec(page, baseSpec());
    EXPECT_EQ(panel.report()->rank, 4);

    auto* rank = page.trainForm()->findChild<QSpinBox*>(QStringLiteral("rank"));
    ASSERT_NE(rank, nullptr);
    rank->setValue(16);
    EXPECT_EQ(panel.report()->rank, 4); // not before the debounce has passed
    const BudgetReport after = expectedReport(page.trainForm()->trainSpec());
    EXPECT_EQ(after.rank, 16);
    EXPECT_EQ(after.trainableParams, 4 * before.trainableParams);
    ASSERT_TRUE(test::waitUntil([&] { return panel.report()->rank == 16; }));
    EXPECT_EQ(panel.report()->trainableParams, after.trainableParams);
    EXPECT_TRUE(panel.value(QStringLiteral("budgetTrainable"))
                    .startsWith(toQString(formatGrouped(after.trainableParams))));
}

TEST_F(BudgetPanelTest, TheSolverTableIsTheEnginesSolution)
{
    NewRunPage page;
    BudgetPanel& panel = *page.budgetPanel();
    const BudgetReport report = showSpec(page, baseSpec());
    // Until a target is set, the solver matches the form's own config.
    EXPECT_EQ(panel.target().kind, BudgetTargetKind::Parameters);
    EXPECT_EQ(panel.target().value, static_cast<double>(report.trainableParams));

    for (const BudgetTarget target : {BudgetTarget{BudgetTargetKind::Parameters, 5000.0},
                                      BudgetTarget{BudgetTargetKind::PercentOfBase, 2.5}}) {
        panel.setTarget(target);
        const auto solved =
            solveBudget(report.modelDir, page.trainForm()->trainSpec().adapter, target);
        ASSERT_TRUE(solved.hasValue()) << solved.error().message;
        const std::vector<BudgetMatch>& expected = *solved;
        ASSERT_EQ(panel.matches().size(), expected.size());
        const QTableWidget* table = panel.solverTable();
        ASSERT_EQ(table->rowCount(), static_cast<int>(expected.size()));
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const BudgetMatch& want = expected[i];
            const BudgetMatch& shown = panel.matches()[i];
            EXPECT_EQ(shown.method, want.method);
            EXPECT_EQ(shown.value, want.value);
            EXPECT_EQ(shown.trainableParams, want.trainableParams);
            EXPECT_EQ(shown.relativeError, want.relativeError);
            const auto row = static_cast<int>(i);
            EXPECT_EQ(table->item(row, 0)->text(), toQString(adapterMethodName(want.method)));
            if (!want.unavailable.empty()) {
                EXPECT_TRUE(table->item(row, 1)->text().contains(toQString(want.unavailable)));
                continue;
            }
            EXPECT_EQ(table->item(row, 1)->text(),
                      want.isFixed
                          ? QStringLiteral("(fixed)")
                          : QStringLiteral("%1 = %2").arg(toQString(want.knob)).arg(want.value));
            EXPECT_EQ(table->item(row, 2)->text(), toQString(formatGrouped(want.trainableParams)));
            EXPECT_TRUE(table->item(row, 3)->text().startsWith(
                (want.relativeError >= 0 ? QStringLiteral("+") : QString()) +
                QString::number(100.0 * want.relativeError, 'f', 2) + QStringLiteral("%")));
            EXPECT_EQ(table->item(row, 3)->text().contains(QStringLiteral("out of reach")),
                      want.isAtLimit && !want.isFixed);
        }
    }
}

TEST_F(BudgetPanelTest, TheSweepButtonEmitsOneValidSpecPerAvailableMethod)
{
    NewRunPage page;
    BudgetPanel& panel = *page.budgetPanel();
    const BudgetReport report = showSpec(page, baseSpec());
    panel.setTarget({BudgetTargetKind::Parameters, 6000.0});
    std::optional<SweepSpec> requested;
    QObject::connect(&panel, &BudgetPanel::sweepRequested,
                     [&](const SweepSpec& sweep) { requested = sweep; });
    ASSERT_TRUE(panel.sweepButton()->isEnabled()) << panel.sweepButton()->toolTip().toStdString();
    panel.sweepButton()->click();
    ASSERT_TRUE(requested.has_value());
    EXPECT_EQ(requested->target.value, 6000.0);
    EXPECT_EQ(requested->runName, "tiny-sweep");
    // The runs the engine's sweep job will train for it.
    const Expected<std::vector<TrainSpec>> planned = sweepRunSpecs(*requested);
    ASSERT_TRUE(planned.hasValue()) << planned.error().message;
    const std::vector<TrainSpec>& emitted = *planned;

    std::vector<BudgetMatch> sweepable;
    for (const BudgetMatch& m : panel.matches()) {
        if (m.unavailable.empty() && !m.isFixed) {
            sweepable.push_back(m);
        }
    }
    ASSERT_GE(sweepable.size(), 8U); // every method but full on the tiny llama
    ASSERT_EQ(emitted.size(), sweepable.size());
    std::set<std::string> names;
    for (std::size_t i = 0; i < emitted.size(); ++i) {
        const TrainSpec& spec = emitted[i];
        const BudgetMatch& match = sweepable[i];
        const std::string method(adapterMethodName(match.method));
        EXPECT_EQ(spec.adapter.method, match.method);
        EXPECT_EQ(spec.runName, "tiny-sweep-" + method);
        names.insert(spec.runName);
        if (match.method == AdapterMethod::AdaLora) {
            EXPECT_EQ(spec.adapter.initR, match.value);
            EXPECT_EQ(spec.adapter.r, 0);
        } else {
            EXPECT_EQ(spec.adapter.r, match.value) << method;
        }
        // The rest of the form's config is kept.
        EXPECT_EQ(spec.modelDir, report.modelDir);
        EXPECT_EQ(spec.train.maxSteps, 1);
        // Each run is valid and trains the matched number of parameters.
        const Status valid = validateTrainSpec(spec);
        EXPECT_TRUE(valid.isOk()) << method << ": " << valid.error().message;
        const auto budget = computeBudget(spec.modelDir, spec.adapter);
        ASSERT_TRUE(budget.hasValue()) << method << ": " << budget.error().message;
        EXPECT_EQ(budget->trainableParams, match.trainableParams) << method;
    }
    EXPECT_EQ(names.size(), emitted.size());

    panel.setJobRunning(true);
    EXPECT_FALSE(panel.sweepButton()->isEnabled());
}

TEST_F(BudgetPanelTest, UseSetsTheFormToTheSelectedMatch)
{
    NewRunPage page;
    BudgetPanel& panel = *page.budgetPanel();
    showSpec(page, baseSpec());
    panel.setTarget({BudgetTargetKind::Parameters, 20000.0});
    const auto vera =
        std::find_if(panel.matches().begin(), panel.matches().end(),
                     [](const BudgetMatch& m) { return m.method == AdapterMethod::Vera; });
    ASSERT_NE(vera, panel.matches().end());
    const BudgetMatch match = *vera;
    EXPECT_FALSE(panel.useButton()->isEnabled());
    panel.solverTable()->selectRow(static_cast<int>(vera - panel.matches().begin()));
    ASSERT_TRUE(panel.useButton()->isEnabled());
    panel.useButton()->click();

    const TrainSpec spec = page.trainForm()->trainSpec();
    EXPECT_EQ(spec.adapter.method, AdapterMethod::Vera);
    EXPECT_EQ(spec.adapter.r, match.value);
    EXPECT_EQ(spec.runName, "tiny");
    ASSERT_TRUE(test::waitUntil([&] {
        return panel.report()->method == AdapterMethod::Vera &&
               panel.report()->trainableParams == match.trainableParams;
    }));
}

TEST_F(BudgetPanelTest, AnInvalidConfigShowsTheEnginesMessage)
{
    NewRunPage page;
    const BudgetPanel& panel = *page.budgetPanel();
    showSpec(page, baseSpec());
    TrainSpec spec = baseSpec();
    spec.adapter.method = AdapterMethod::Bat;
    spec.adapter.r = 3; // Bat's block size must divide every dimension
    page.trainForm()->setTrainSpec(spec);
    const auto error = computeBudget(spec.modelDir, page.trainForm()->trainSpec().adapter);
    ASSERT_FALSE(error.hasValue());
    ASSERT_FALSE(error.error().message.empty());
    ASSERT_TRUE(test::waitUntil([&] { return !panel.report().has_value(); }));
    EXPECT_EQ(panel.statusText(), toQString(error.error().message));
    EXPECT_TRUE(panel.matches().empty());
    EXPECT_FALSE(panel.sweepButton()->isEnabled());
}

TEST_F(BudgetPanelTest, TheMemoryIsComparedWithTheChosenDevice)
{
    NewRunPage page;
    BudgetPanel& panel = *page.budgetPanel();
    constexpr std::int64_t kGpuBytes = 1LL << 30;
    panel.setDevices({DeviceInfo{"cpu", "CPU, 2 hardware threads", false, 0},
                      DeviceInfo{"cuda:0", "CUDA device 0", true, kGpuBytes}});
    TrainSpec spec = baseSpec();
    spec.train.device = "auto"; // the first CUDA device
    const BudgetReport report = showSpec(page, spec);
    const QString total = toQString(formatBytes(report.memory.totalBytes));
    QString text = panel.value(QStringLiteral("budgetDevice"));
    EXPECT_TRUE(text.contains(total)) << text.toStdString();
    EXPECT_TRUE(text.contains(toQString(formatBytes(kGpuBytes)))) << text.toStdString();
    EXPECT_TRUE(text.contains(QStringLiteral("cuda:0"))) << text.toStdString();
    EXPECT_TRUE(text.contains(QStringLiteral("fits"))) << text.toStdString();

    spec.train.device = "cpu"; // the engine reports no size for host memory
    showSpec(page, spec);
    ASSERT_TRUE(test::waitUntil([&] {
        return panel.value(QStringLiteral("budgetDevice")).contains(QStringLiteral("does not"));
    }));
    text = panel.value(QStringLiteral("budgetDevice"));
    EXPECT_TRUE(text.contains(total)) << text.toStdString();
    EXPECT_TRUE(text.contains(QStringLiteral("on cpu"))) << text.toStdString();
}

TEST_F(BudgetPanelTest, TheWindowRunsTheSweepOneRunAfterAnother)
{
    const std::filesystem::path db = m_dir / "ftw.db";
    auto engine = Engine::create(EngineOptions{db, 0});
    ASSERT_TRUE(engine.hasValue()) << engine.error().message;
    auto store = RunStore::open(db, StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue()) << store.error().message;
    {
        MainWindow window(**engine, std::move(*store));
        window.show();
        auto* page = window.findChild<NewRunPage*>();
        ASSERT_NE(page, nullptr);
        BudgetPanel& panel = *page->budgetPanel();
        TrainSpec spec = baseSpec();
        spec.adapter.targetModules = {"q_proj", "v_proj"};
        showSpec(*page, spec);
        panel.setTarget({BudgetTargetKind::Parameters, 1500.0});
        const std::vector<TrainSpec> sweep = panel.sweepSpecs();
        ASSERT_GE(sweep.size(), 2U);
        ASSERT_TRUE(panel.sweepButton()->isEnabled());
        panel.sweepButton()->click();
        EXPECT_FALSE(panel.sweepButton()->isEnabled()); // a job is running

        auto* runs = window.findChild<RunTableModel*>();
        ASSERT_NE(runs, nullptr);
        const auto finished = [&] {
            runs->reload();
            int done = 0;
            for (int row = 0; row < runs->rowCount(); ++row) {
                done += runs->runAt(row)->status == RunStatus::Succeeded ? 1 : 0;
            }
            return done;
        };
        ASSERT_TRUE(
            test::waitUntil([&] { return finished() == static_cast<int>(sweep.size()); }, 60000))
            << finished() << " of " << sweep.size();
        // One group holds them; every run of the sweep started after the one before had finished.
        auto groups = RunStore::open(db, StoreMode::ReadOnly)->groups();
        ASSERT_TRUE(groups.hasValue());
        ASSERT_EQ(groups->size(), 1U);
        EXPECT_EQ(groups->front().runIds.size(), sweep.size());
        std::vector<RunSummary> done;
        for (int row = 0; row < runs->rowCount(); ++row) {
            done.push_back(*runs->runAt(row));
        }
        std::sort(done.begin(), done.end(),
                  [](const RunSummary& a, const RunSummary& b) { return a.id < b.id; });
        ASSERT_EQ(done.size(), sweep.size());
        for (std::size_t i = 0; i < sweep.size(); ++i) {
            EXPECT_EQ(done[i].name, sweep[i].runName);
            EXPECT_EQ(done[i].method, adapterMethodName(sweep[i].adapter.method));
            if (i > 0) {
                ASSERT_TRUE(done[i].startedAtMs && done[i - 1].finishedAtMs);
                EXPECT_GE(*done[i].startedAtMs, *done[i - 1].finishedAtMs) << done[i].name;
            }
        }
        ASSERT_TRUE(test::waitUntil([&] { return panel.sweepButton()->isEnabled(); }));

        // The Runs page compares the whole sweep from any of its runs: one scatter point per
        // run at its trainable parameters.
        auto* runsPage = window.findChild<RunsPage*>();
        ASSERT_NE(runsPage, nullptr);
        QMenu* menu = runsPage->contextMenuForRow(0);
        auto* compareSweep = menu->findChild<QAction*>(QStringLiteral("compareSweep"));
        ASSERT_NE(compareSweep, nullptr);
        compareSweep->trigger();
        auto* compare = window.findChild<ComparePage*>();
        ASSERT_NE(compare, nullptr);
        EXPECT_TRUE(compare->isVisible());
        EXPECT_EQ(compare->metricsTable()->rowCount(), static_cast<int>(sweep.size()));
        EXPECT_EQ(compare->scatter()->chart()->series().size(), sweep.size());
        delete menu;
    }
    engine->reset();
}

} // namespace
} // namespace ftw::ui
