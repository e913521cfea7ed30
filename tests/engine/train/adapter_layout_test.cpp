// SPDX-License-Identifier: MIT
// The adapter layout a training run records (adapter_layouts): one row per adapted module with its
// rank and real trainable count, AdaLoRA's final ranks, and the repository that stores it.
#include "storage/database.h"
#include "storage/run_repository.h"
#include "storage/store.h"

#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include <ftw/budget.h>
#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <utility>

namespace ftw {
namespace {

using LayerKind = std::pair<std::int64_t, std::string>;

JobResult train(const std::filesystem::path& db, const TrainSpec& spec)
{
    auto engine = Engine::create(EngineOptions{db, 0});
    if (!engine) {
        ADD_FAILURE() << engine.error().message;
        return {};
    }
    return (*engine)->wait((*engine)->submit(spec).id);
}

std::vector<AdapterLayoutEntry> layoutOf(const std::filesystem::path& db, RunId id)
{
    auto store = RunStore::open(db, StoreMode::ReadOnly);
    if (!store) {
        ADD_FAILURE() << store.error().message;
        return {};
    }
    auto layout = store->adapterLayout(id);
    if (!layout) {
        ADD_FAILURE() << layout.error().message;
        return {};
    }
    return *layout;
}

std::map<LayerKind, BudgetModule> budgetModules(const TrainSpec& spec)
{
    AdapterConfig adapter = spec.adapter;
    adapter.totalStep = std::max<std::int64_t>(adapter.totalStep, spec.train.maxSteps);
    const Expected<BudgetReport> budget = computeBudget(spec.modelDir, adapter);
    EXPECT_TRUE(budget.hasValue()) << budget.error().message;
    std::map<LayerKind, BudgetModule> modules;
    if (budget) {
        for (const BudgetModule& m : budget->modules) {
            modules.emplace(LayerKind{m.layer, m.kind}, m);
        }
    }
    return modules;
}

TEST(AdapterLayoutTest, LoraRunRecordsEveryModuleWithItsRankPatternRankAndBudgetCount)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    spec.train.maxSteps = 2;
    spec.adapter.r = 4;
    spec.adapter.rankPattern = {{"model.layers.1.self_attn.q_proj", 2},
                                {"model.layers.0.mlp.down_proj", 8}};
    const JobResult result = train(dir / "ftw.db", spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    const std::vector<AdapterLayoutEntry> layout = layoutOf(dir / "ftw.db", result.runId);
    const std::map<LayerKind, BudgetModule> budget = budgetModules(spec);
    ASSERT_EQ(layout.size(), 14U); // 2 layers x q, k, v, o, gate, up, down
    ASSERT_EQ(budget.size(), layout.size());
    const std::vector<std::string> kinds = {
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
    for (std::size_t i = 0; i < layout.size(); ++i) {
        const AdapterLayoutEntry& e = layout[i];
        EXPECT_EQ(e.layer, static_cast<std::int64_t>(i / kinds.size())) << i;
        EXPECT_EQ(e.module, kinds[i % kinds.size()]) << i; // model order within a layer
        EXPECT_EQ(e.method, "lora");
        EXPECT_TRUE(e.isEnabled);
        EXPECT_FALSE(e.scoreGradNorm || e.scoreSnip || e.scoreSynflow || e.scoreRandom);
        const BudgetModule& b = budget.at({e.layer, e.module});
        EXPECT_EQ(e.paramCount, b.trainableParams) << e.module;
        EXPECT_EQ(e.paramCount, *e.rank * (b.in + b.out)) << e.module;
        std::int64_t expectedRank = 4;
        if (e.layer == 1 && e.module == "self_attn.q_proj") {
            expectedRank = 2;
        } else if (e.layer == 0 && e.module == "mlp.down_proj") {
            expectedRank = 8;
        }
        EXPECT_EQ(e.rank, expectedRank) << e.layer << " " << e.module;
    }

    const std::int64_t total = std::accumulate(
        layout.begin(), layout.end(), std::int64_t{0},
        [](std::int64_t sum, const AdapterLayoutEntry& e) { return sum + e.paramCount; });
    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    EXPECT_EQ(total, store->run(result.runId)->summary.trainableParams.value_or(-1));
    EXPECT_EQ(*store->runsWithAdapterLayout(), std::vector<RunId>{result.runId});
}

TEST(AdapterLayoutTest, AdaLoraRunEndsWithTheRanksTheAllocatorKeptWithinItsBudget)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::AdaLora);
    spec.train.maxSteps = 3;
    spec.adapter.initR = 4;
    spec.adapter.targetR = 2;
    spec.adapter.tinit = 0;
    spec.adapter.tfinal = 1; // the final allocation happens at step 2 of 3
    const JobResult result = train(dir / "ftw.db", spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    const std::vector<AdapterLayoutEntry> layout = layoutOf(dir / "ftw.db", result.runId);
    const std::map<LayerKind, BudgetModule> budget = budgetModules(spec);
    ASSERT_EQ(layout.size(), 14U);
    std::int64_t keptTotal = 0;
    for (const AdapterLayoutEntry& e : layout) {
        ASSERT_TRUE(e.rank.has_value());
        EXPECT_EQ(e.method, "adalora");
        EXPECT_GE(*e.rank, 0);
        EXPECT_LE(*e.rank, spec.adapter.initR);
        EXPECT_EQ(e.isEnabled, *e.rank > 0);
        const BudgetModule& b = budget.at({e.layer, e.module});
        EXPECT_EQ(e.paramCount, *e.rank * (b.in + b.out + 1)) << e.module;
        keptTotal += *e.rank;
    }
    // The budget of the final allocation: target_r directions per module.
    EXPECT_EQ(keptTotal, spec.adapter.targetR * static_cast<std::int64_t>(layout.size()));
}

TEST(AdapterLayoutTest, FullFineTuningRecordsEveryProjectionWithoutARank)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Full);
    spec.train.maxSteps = 1;
    const JobResult result = train(dir / "ftw.db", spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    const std::vector<AdapterLayoutEntry> layout = layoutOf(dir / "ftw.db", result.runId);
    const std::map<LayerKind, BudgetModule> budget = budgetModules(spec);
    ASSERT_FALSE(layout.empty());
    EXPECT_EQ(layout.size(), budget.size()); // every projection, lm_head included when untied
    for (const AdapterLayoutEntry& e : layout) {
        EXPECT_FALSE(e.rank.has_value());
        EXPECT_EQ(e.method, "full");
        EXPECT_EQ(e.paramCount, budget.at({e.layer, e.module}).trainableParams) << e.module;
    }
}

TEST(AdapterLayoutStoreTest, ReplacingKeepsTheNewRowsInModelOrderWithTheirScores)
{
    const test::TempDir dir;
    storage::Database db = storage::openStore(dir / "ftw.db", StoreMode::ReadWrite);
    storage::RunRepository repo(db);
    const RunId first =
        repo.createRun(storage::NewRun{"a", "train", "lora", "m", "d", "{}", 1, std::nullopt});
    const RunId second =
        repo.createRun(storage::NewRun{"b", "train", "lora", "m", "d", "{}", 1, std::nullopt});
    EXPECT_TRUE(repo.runsWithAdapterLayout().empty());

    AdapterLayoutEntry head{-1, "lm_head", "lora", 4, 100, true, {}, {}, {}, {}};
    AdapterLayoutEntry q{0, "self_attn.q_proj", "lora", 8, 40, true, 0.5, {}, {}, 0.25};
    AdapterLayoutEntry v{0, "self_attn.v_proj", "lora", {}, 0, false, {}, -1.0, 2.0, {}};
    const std::vector<AdapterLayoutEntry> old = {q};
    repo.replaceAdapterLayout(first, old);
    const std::vector<AdapterLayoutEntry> rows = {head, v, q}; // q inserted after v
    repo.replaceAdapterLayout(first, rows);
    repo.replaceAdapterLayout(second, old);

    const std::vector<AdapterLayoutEntry> read = repo.adapterLayout(first);
    ASSERT_EQ(read.size(), 3U);
    EXPECT_EQ(read[0].module, "self_attn.v_proj"); // blocks first, in the order written
    EXPECT_EQ(read[1].module, "self_attn.q_proj");
    EXPECT_EQ(read[2].module, "lm_head");
    EXPECT_EQ(read[2].layer, -1);
    EXPECT_EQ(read[2].rank, 4);
    EXPECT_EQ(read[2].paramCount, 100);
    EXPECT_FALSE(read[0].rank.has_value());
    EXPECT_FALSE(read[0].isEnabled);
    EXPECT_EQ(read[0].scoreSnip, -1.0);
    EXPECT_EQ(read[0].scoreSynflow, 2.0);
    EXPECT_FALSE(read[0].scoreGradNorm.has_value());
    EXPECT_EQ(read[1].scoreGradNorm, 0.5);
    EXPECT_EQ(read[1].scoreRandom, 0.25);
    EXPECT_FALSE(read[1].scoreSnip.has_value());
    EXPECT_EQ(repo.adapterLayout(second).size(), 1U);
    EXPECT_EQ(repo.runsWithAdapterLayout(), (std::vector<RunId>{second, first}));
}

} // namespace
} // namespace ftw
