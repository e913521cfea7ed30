// SPDX-License-Identifier: MIT
// The allocate job on a tiny model: every candidate module is stored with its four proxy scores
// and the chosen allocation, within the budget, and the run config it writes trains exactly the
// chosen modules.
#include "heterolora/allocation.h"

#include "adapters/targets.h"
#include "model/model_config.h"
#include "model/projections.h"

#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include <ftw/budget.h>
#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace ftw::heterolora {
namespace {

JobResult runJob(const std::filesystem::path& db, const JobSpec& spec)
{
    auto engine = Engine::create(EngineOptions{db, 0});
    if (!engine) {
        ADD_FAILURE() << engine.error().message;
        return {};
    }
    return (*engine)->wait((*engine)->submit(spec).id);
}

AllocateSpec tinyAllocation(const test::TempDir& dir)
{
    AllocateSpec spec;
    spec.runName = "allocate tiny";
    spec.train = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    spec.train.adapter.targetModules = {"q_proj", "v_proj", "down_proj"};
    spec.train.adapter.r = 4;
    spec.train.adapter.scoreBatches = 2;
    spec.train.adapter.scoreWarmupSteps = 1;
    spec.train.train.learningRate = 5e-3;
    return spec;
}

/// (in + out) of every candidate, from config.json through the budget report.
std::map<std::string, std::int64_t> widthsOf(const TrainSpec& spec)
{
    AdapterConfig adapter = spec.adapter;
    adapter.method = AdapterMethod::Lora;
    const Expected<BudgetReport> budget = computeBudget(spec.modelDir, adapter);
    EXPECT_TRUE(budget.hasValue());
    std::map<std::string, std::int64_t> widths;
    for (const BudgetModule& m : budget->modules) {
        widths[std::to_string(m.layer) + " " + m.kind] = m.in + m.out;
    }
    return widths;
}

TEST(AllocateJobTest, StoresEveryModuleWithItsScoresAndWritesTheRunConfigOfTheTopHalf)
{
    const test::TempDir dir;
    AllocateSpec spec = tinyAllocation(dir);
    spec.train.adapter.proxy = ZeroCostProxy::Snip;
    spec.train.adapter.budgetFraction = 0.5;
    const JobResult result = runJob(dir / "ftw.db", spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const RunDetail run = *store->run(result.runId);
    EXPECT_EQ(run.summary.kind, "allocate");
    EXPECT_EQ(run.summary.method, "heterolora");
    const std::vector<AdapterLayoutEntry> layout = *store->adapterLayout(result.runId);
    ASSERT_EQ(layout.size(), 6U);
    const std::map<std::string, std::int64_t> widths = widthsOf(spec.train);
    std::vector<double> snips;
    std::int64_t total = 0;
    for (const AdapterLayoutEntry& e : layout) {
        SCOPED_TRACE(std::to_string(e.layer) + " " + e.module);
        ASSERT_TRUE(e.scoreGradNorm && e.scoreSnip && e.scoreSynflow && e.scoreRandom);
        EXPECT_GT(*e.scoreGradNorm, 0.0);
        EXPECT_GT(*e.scoreSnip, 0.0); // at the warm-up scoring point, not at B = 0
        EXPECT_GT(*e.scoreSynflow, 0.0);
        snips.push_back(*e.scoreSnip);
        EXPECT_EQ(e.rank, e.isEnabled ? 4 : 0);
        EXPECT_EQ(e.paramCount, *e.rank * widths.at(std::to_string(e.layer) + " " + e.module));
        total += e.paramCount;
    }
    // The three modules with the highest SNIP are on.
    std::vector<double> sorted = snips;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    std::vector<std::string> on;
    for (std::size_t i = 0; i < layout.size(); ++i) {
        EXPECT_EQ(layout[i].isEnabled, snips[i] >= sorted[2]);
        if (layout[i].isEnabled) {
            on.push_back("model.layers." + std::to_string(layout[i].layer) + "." +
                         layout[i].module);
        }
    }
    ASSERT_EQ(on.size(), 3U);
    EXPECT_EQ(run.summary.trainableParams, total);

    const nlohmann::json output = nlohmann::json::parse(result.outputJson);
    EXPECT_EQ(output["proxy"], "snip");
    EXPECT_EQ(output["candidates"], 6);
    EXPECT_EQ(output["enabled"], 3);
    EXPECT_EQ(output["budget"]["units"], 3);
    EXPECT_EQ(output["trainable_params"], total);
    const std::filesystem::path configPath = output["config_path"].get<std::string>();
    EXPECT_EQ(configPath, run.runDir / "allocated_config.json");
    std::ifstream in(configPath);
    std::stringstream text;
    text << in.rdbuf();
    const Expected<TrainSpec> allocated = parseRunConfig(text.str(), configPath.string());
    ASSERT_TRUE(allocated.hasValue()) << allocated.error().message;
    EXPECT_EQ(allocated->adapter.method, AdapterMethod::Lora);
    std::vector<std::string> chosen;
    for (const adapters::Target& t : adapters::selectTargets(
             model::projectionSpecs(model::readModelFolderConfig(spec.train.modelDir)),
             allocated->adapter)) {
        chosen.push_back(t.spec.name);
        EXPECT_EQ(t.r, 4);
    }
    EXPECT_EQ(chosen, on);

    // It trains: the run's layout is the three chosen modules.
    TrainSpec train = *allocated;
    train.train.maxSteps = 2;
    const JobResult trained = runJob(dir / "ftw.db", train);
    ASSERT_EQ(trained.status, JobStatus::Succeeded) << trained.error.message;
    auto after = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    EXPECT_EQ(after->adapterLayout(trained.runId)->size(), 3U);
    EXPECT_EQ(after->run(trained.runId)->summary.trainableParams, total);
}

TEST(AllocateJobTest, ParameterBudgetsWithRankSetsAreNeverExceeded)
{
    const test::TempDir dir;
    for (const std::int64_t budget : {700, 1500, 4000}) {
        AllocateSpec spec = tinyAllocation(dir);
        spec.train.adapter.proxy = ZeroCostProxy::GradNorm;
        spec.train.adapter.scoreWarmupSteps = 0;
        spec.budgetParams = budget;
        spec.rankSet = {0, 1, 2, 4};
        const JobResult result = runJob(dir / "ftw.db", spec);
        ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
        auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
        const std::map<std::string, std::int64_t> widths = widthsOf(spec.train);
        std::int64_t total = 0;
        const Expected<std::vector<AdapterLayoutEntry>> layout = store->adapterLayout(result.runId);
        ASSERT_TRUE(layout.hasValue());
        for (const AdapterLayoutEntry& e : *layout) {
            EXPECT_TRUE(*e.rank == 0 || *e.rank == 1 || *e.rank == 2 || *e.rank == 4);
            total += *e.rank * widths.at(std::to_string(e.layer) + " " + e.module);
        }
        EXPECT_LE(total, budget);
        EXPECT_GT(total, budget / 2) << "the greedy fill uses most of the budget";
    }
}

TEST(AllocateJobTest, ABudgetThatFitsNoModuleFailsWithAMessage)
{
    const test::TempDir dir;
    AllocateSpec spec = tinyAllocation(dir);
    spec.budgetParams = 10;
    const JobResult result = runJob(dir / "ftw.db", spec);
    EXPECT_EQ(result.status, JobStatus::Failed);
    EXPECT_NE(result.error.message.find("the budget switches no module on"), std::string::npos)
        << result.error.message;
}

} // namespace
} // namespace ftw::heterolora
