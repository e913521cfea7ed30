// SPDX-License-Identifier: MIT
// AllocationModel: the ranks a real training run stored, per-cell differences of two real runs,
// the colour scale, and the cases a layout can hold (off, lm_head, scores, missing modules).
#include "models/allocation_model.h"

#include "support/temp_dir.h"

#include <ftw/engine.h>
#include <ftw/models.h>

#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QColor>

#include <fstream>
#include <map>

namespace ftw::ui {
namespace {

using Quantity = AllocationModel::Quantity;

/// Two-step LoRA runs on a tiny llama (2 layers, 7 projections each) in a real store.
class AllocationModelTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(makeTinyModel(m_dir / "m", "llama", 1));
        std::ofstream out(m_dir / "d.jsonl");
        for (int i = 0; i < 8; ++i) {
            out << R"({"prompt": ")" << i << R"(+1=", "completion": ")" << i + 1 << R"("})" << '\n';
        }
    }

    AllocationModel::Run train(std::int64_t rank, std::map<std::string, std::int64_t> pattern)
    {
        auto engine = Engine::create(EngineOptions{db(), 0});
        EXPECT_TRUE(engine.hasValue());
        TrainSpec spec;
        spec.modelDir = m_dir / "m";
        spec.data.path = m_dir / "d.jsonl";
        spec.data.validationRatio = 0.0;
        spec.adapter.r = rank;
        spec.adapter.rankPattern = std::move(pattern);
        spec.train.maxSteps = 2;
        spec.train.device = "cpu";
        const JobResult result = (*engine)->wait((*engine)->submit(spec).id);
        EXPECT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
        auto store = RunStore::open(db(), StoreMode::ReadOnly);
        EXPECT_TRUE(store.hasValue());
        return AllocationModel::Run{store->run(result.runId)->summary,
                                    *store->adapterLayout(result.runId)};
    }

    [[nodiscard]] std::filesystem::path db() const { return m_dir / "ftw.db"; }

    test::TempDir m_dir;
};

/// The stored entry of (layer, kind).
const AdapterLayoutEntry& entryOf(const AllocationModel::Run& run, std::int64_t layer,
                                  const QString& kind)
{
    for (const AdapterLayoutEntry& e : run.layout) {
        if (e.layer == layer && QString::fromStdString(e.module) == kind) {
            return e;
        }
    }
    throw std::runtime_error("no entry for " + kind.toStdString());
}

TEST_F(AllocationModelTest, CellsShowTheRanksTheEngineStoredPerLayer)
{
    const AllocationModel::Run run =
        train(4, {{"model.layers.1.self_attn.q_proj", 2}, {"model.layers.0.mlp.up_proj", 8}});
    AllocationModel model;
    const QAbstractItemModelTester tester(&model,
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setRun(run);

    ASSERT_EQ(model.rowCount(), 2);
    ASSERT_EQ(model.columnCount(), 7);
    EXPECT_EQ(model.headerData(0, Qt::Vertical).toString(), QStringLiteral("layer 0"));
    EXPECT_EQ(model.headerData(1, Qt::Vertical).toString(), QStringLiteral("layer 1"));
    const QStringList shortKinds = {QStringLiteral("q_proj"),    QStringLiteral("k_proj"),
                                    QStringLiteral("v_proj"),    QStringLiteral("o_proj"),
                                    QStringLiteral("gate_proj"), QStringLiteral("up_proj"),
                                    QStringLiteral("down_proj")};
    for (int column = 0; column < 7; ++column) {
        EXPECT_EQ(model.headerData(column, Qt::Horizontal).toString(), shortKinds[column]);
    }
    for (int row = 0; row < 2; ++row) {
        for (int column = 0; column < 7; ++column) {
            const AdapterLayoutEntry& e =
                entryOf(run, row, model.moduleKinds()[static_cast<std::size_t>(column)]);
            EXPECT_EQ(model.index(row, column).data().toString(), QString::number(*e.rank));
            EXPECT_TRUE(model.index(row, column).data(AllocationModel::IsAdaptedRole).toBool());
        }
    }
    EXPECT_EQ(model.index(1, 0).data().toString(), QStringLiteral("2"));
    EXPECT_EQ(model.index(0, 0).data().toString(), QStringLiteral("4"));
    EXPECT_EQ(model.index(0, 5).data().toString(), QStringLiteral("8"));
    const QString tip = model.index(0, 5).data(Qt::ToolTipRole).toString();
    EXPECT_TRUE(tip.contains(QStringLiteral("mlp.up_proj"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("rank 8"))) << tip.toStdString();

    std::int64_t params = 0;
    for (const AdapterLayoutEntry& e : run.layout) {
        params += e.paramCount;
    }
    EXPECT_EQ(model.adaptedModules(), 14);
    EXPECT_EQ(model.trainableParams(), params);
    EXPECT_EQ(model.trainableParams(), run.summary.trainableParams.value_or(-1));
}

TEST_F(AllocationModelTest, TheLargestAndSmallestRanksGetDifferentColours)
{
    AllocationModel model;
    const QAbstractItemModelTester tester(&model,
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setRun(
        train(4, {{"model.layers.1.self_attn.q_proj", 2}, {"model.layers.0.mlp.up_proj", 8}}));
    ASSERT_EQ(model.quantity(), Quantity::Rank);
    ASSERT_TRUE(model.range().has_value());
    EXPECT_EQ(model.range()->min, 2.0);
    EXPECT_EQ(model.range()->max, 8.0);

    const auto background = [&](int row, int column) {
        return model.index(row, column).data(Qt::BackgroundRole).value<QColor>();
    };
    const QColor smallest = background(1, 0); // rank 2
    const QColor middle = background(0, 0);   // rank 4
    const QColor largest = background(0, 5);  // rank 8
    EXPECT_NE(smallest, largest);
    EXPECT_GT(smallest.lightness(), middle.lightness()); // light to saturated
    EXPECT_GT(middle.lightness(), largest.lightness());
    // Readable text: dark on the light end, light on the saturated end.
    EXPECT_LT(model.index(1, 0).data(Qt::ForegroundRole).value<QColor>().lightness(), 128);
    EXPECT_GT(model.index(0, 5).data(Qt::ForegroundRole).value<QColor>().lightness(), 128);

    // By parameters: down_proj (in 128) holds more than q_proj (in 64) at the same rank.
    model.setQuantity(Quantity::Parameters);
    EXPECT_EQ(model.quantity(), Quantity::Parameters);
    EXPECT_NE(background(1, 6), background(1, 1));
    EXPECT_EQ(model.index(1, 1).data().toString(), QStringLiteral("4")); // still the rank
}

TEST_F(AllocationModelTest, ComparingTwoRunsShowsTheDifferencePerCell)
{
    const AllocationModel::Run a =
        train(4, {{"model.layers.1.self_attn.q_proj", 2}, {"model.layers.0.mlp.up_proj", 8}});
    const AllocationModel::Run b = train(3, {{"model.layers.0.self_attn.v_proj", 6}});
    AllocationModel model;
    const QAbstractItemModelTester tester(&model,
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setRun(a);
    model.setComparison(b);
    ASSERT_TRUE(model.isComparing());
    ASSERT_EQ(model.rowCount(), 2);
    ASSERT_EQ(model.columnCount(), 7);
    for (int row = 0; row < 2; ++row) {
        for (int column = 0; column < 7; ++column) {
            const QString& kind = model.moduleKinds()[static_cast<std::size_t>(column)];
            const std::int64_t expected = *entryOf(a, row, kind).rank - *entryOf(b, row, kind).rank;
            EXPECT_EQ(model.index(row, column).data(AllocationModel::ValueRole).toDouble(),
                      static_cast<double>(expected))
                << row << " " << kind.toStdString();
        }
    }
    EXPECT_EQ(model.index(0, 5).data().toString(), QStringLiteral("+5")); // 8 - 3
    EXPECT_EQ(model.index(0, 2).data().toString(), QStringLiteral("-2")); // 4 - 6
    EXPECT_EQ(model.index(1, 0).data().toString(), QStringLiteral("-1")); // 2 - 3
    // Diverging colours: A > B and A < B in different hues, equal is white.
    const QColor higher = model.index(0, 5).data(Qt::BackgroundRole).value<QColor>();
    const QColor lower = model.index(0, 2).data(Qt::BackgroundRole).value<QColor>();
    EXPECT_GT(higher.red(), higher.blue());
    EXPECT_GT(lower.blue(), lower.red());
    EXPECT_EQ(model.range()->min, -5.0);
    EXPECT_EQ(model.range()->max, 5.0);

    model.setQuantity(Quantity::Parameters);
    const QString kind = model.moduleKinds()[3];
    EXPECT_EQ(model.index(1, 3).data(AllocationModel::ValueRole).toDouble(),
              static_cast<double>(entryOf(a, 1, kind).paramCount - entryOf(b, 1, kind).paramCount));

    model.setComparison(std::nullopt);
    EXPECT_FALSE(model.isComparing());
    EXPECT_EQ(model.index(0, 5).data().toString(), QStringLiteral("8"));
}

TEST(AllocationModelLayoutTest, OffModulesLmHeadScoresAndMissingModulesAreShown)
{
    AllocationModel::Run run;
    run.summary.id = 7;
    run.summary.name = "hetero";
    // Layer 0 lacks k_proj and layer 1 lacks q_proj: columns still follow model order.
    run.layout = {
        {0, "self_attn.q_proj", "lora", 8, 1024, true, 0.5, 1.5, {}, {}},
        {0, "self_attn.v_proj", "lora", 4, 512, true, 0.25, {}, {}, {}},
        {1, "self_attn.k_proj", "lora", 8, 1024, false, 0.1, {}, {}, {}},
        {1, "self_attn.v_proj", "lora", 2, 256, true, 0.75, {}, {}, {}},
        {-1, "lm_head", "lora", 16, 4096, true, {}, {}, {}, {}},
    };
    AllocationModel model;
    const QAbstractItemModelTester tester(&model,
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.setRun(run);

    EXPECT_EQ(model.moduleKinds(), (std::vector<QString>{QStringLiteral("self_attn.q_proj"),
                                                         QStringLiteral("self_attn.k_proj"),
                                                         QStringLiteral("self_attn.v_proj"),
                                                         QStringLiteral("lm_head")}));
    ASSERT_EQ(model.rowCount(), 3);
    EXPECT_EQ(model.headerData(2, Qt::Vertical).toString(), QStringLiteral("lm_head"));
    EXPECT_EQ(model.index(2, 3).data().toString(), QStringLiteral("16"));
    EXPECT_EQ(model.index(2, 0).data().toString(), QString());
    EXPECT_EQ(model.index(0, 1).data().toString(), QString()); // not adapted
    EXPECT_FALSE(model.index(0, 1).data(Qt::BackgroundRole).isValid());
    EXPECT_EQ(model.index(1, 1).data().toString(), QStringLiteral("off"));
    EXPECT_FALSE(model.index(1, 1).data(AllocationModel::IsAdaptedRole).toBool());
    EXPECT_EQ(model.adaptedModules(), 4);
    EXPECT_EQ(model.trainableParams(), 1024 + 512 + 256 + 4096);

    EXPECT_EQ(model.availableQuantities(),
              (std::vector<Quantity>{Quantity::Rank, Quantity::Parameters, Quantity::GradNorm,
                                     Quantity::Snip}));
    model.setQuantity(Quantity::GradNorm);
    ASSERT_EQ(model.quantity(), Quantity::GradNorm);
    EXPECT_EQ(model.range()->min, 0.1);
    EXPECT_EQ(model.range()->max, 0.75);
    EXPECT_FALSE(model.index(2, 3).data(AllocationModel::ValueRole).isValid()); // no score
    EXPECT_EQ(model.index(1, 2).data(AllocationModel::ValueRole).toDouble(), 0.75);
    EXPECT_NE(model.index(0, 0).data(Qt::BackgroundRole).value<QColor>(),
              model.index(1, 2).data(Qt::BackgroundRole).value<QColor>());
    EXPECT_TRUE(model.index(0, 0)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("GRAD-NORM 0.5")));
    model.setQuantity(Quantity::Synflow); // not in this layout: ignored
    EXPECT_EQ(model.quantity(), Quantity::GradNorm);
}

} // namespace
} // namespace ftw::ui
