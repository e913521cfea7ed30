// SPDX-License-Identifier: MIT
// HeteroLoRA's static allocation: the budget is never exceeded (units and parameters, counted here
// from the module shapes), the top floor(p N) by score are chosen with random tie-breaks, ranks
// from a set are given greedily in score order, and the allocated config selects exactly the chosen
// modules and ranks, also once saved in PEFT's layout and loaded again.
#include "heterolora/allocation.h"

#include "adapters/adapter_set.h"
#include "adapters/peft_files.h"
#include "model/projections.h"
#include "model/tiny_model.h"

#include "support/temp_dir.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

namespace ftw::heterolora {
namespace {

/// 12 modules of 3 shapes (in, out): 64x64, 64x32 and 128x64, 4 layers.
std::vector<adapters::Target> candidates(std::int64_t r)
{
    std::vector<adapters::Target> all;
    const std::array<std::pair<std::int64_t, std::int64_t>, 3> shapes = {
        {{64, 64}, {64, 32}, {128, 64}}};
    for (int layer = 0; layer < 4; ++layer) {
        for (std::size_t k = 0; k < shapes.size(); ++k) {
            adapters::Target t;
            t.spec.layer = layer;
            t.spec.kind = "m" + std::to_string(k);
            t.spec.name = "model.layers." + std::to_string(layer) + "." + t.spec.kind;
            t.spec.in = shapes[k].first;
            t.spec.out = shapes[k].second;
            t.r = r;
            all.push_back(t);
        }
    }
    return all;
}

/// Parameters of the allocation counted from the shapes written above.
std::int64_t paramsOf(const std::vector<std::int64_t>& ranks)
{
    const std::array<std::int64_t, 3> perRank = {64 + 64, 64 + 32, 128 + 64};
    std::int64_t total = 0;
    for (std::size_t i = 0; i < ranks.size(); ++i) {
        total += ranks[i] * perRank[i % 3];
    }
    return total;
}

std::vector<double> drawScores(std::uint32_t seed, bool isTied)
{
    std::mt19937 engine(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<double> scores(12);
    for (double& s : scores) {
        s = isTied ? std::floor(uniform(engine) * 3.0) : uniform(engine); // ties when isTied
    }
    return scores;
}

TEST(AllocationTest, NeverExceedsTheBudgetForManyBudgetsProxiesAndRankSets)
{
    const std::vector<adapters::Target> units = candidates(8);
    const std::vector<std::vector<std::int64_t>> rankSets = {{0, 8}, {0, 2, 4, 8}, {8, 0, 4}};
    int checked = 0;
    for (std::uint32_t seed = 0; seed < 6; ++seed) {
        const std::vector<double> scores = drawScores(seed, seed % 2 == 0);
        const std::vector<double> tieBreak = drawScores(seed + 100, false);
        for (const auto& rankSet : rankSets) {
            for (const std::int64_t params : {0, 100, 767, 768, 1536, 5000, 9999, 20000, 100000}) {
                const std::vector<std::int64_t> ranks =
                    allocateRanks(units, scores, tieBreak, rankSet, Budget{-1, params});
                EXPECT_LE(paramsOf(ranks), params) << "seed " << seed << " budget " << params;
                for (const std::int64_t r : ranks) {
                    EXPECT_TRUE(std::find(rankSet.begin(), rankSet.end(), r) != rankSet.end());
                }
                ++checked;
            }
            for (std::int64_t count = 0; count <= 12; ++count) {
                const std::vector<std::int64_t> ranks =
                    allocateRanks(units, scores, tieBreak, rankSet, Budget{count, 5000});
                EXPECT_LE(std::count_if(ranks.begin(), ranks.end(), [](auto r) { return r > 0; }),
                          count);
                EXPECT_LE(paramsOf(ranks), 5000);
                ++checked;
            }
        }
    }
    EXPECT_EQ(checked, 6 * 3 * (9 + 13));
}

TEST(AllocationTest, UnitBudgetEnablesTheTopFloorPNByScoreAtRankR)
{
    const std::vector<adapters::Target> units = candidates(8);
    const std::vector<double> scores = drawScores(7, false);
    const std::vector<double> tieBreak = drawScores(8, false);
    for (const double p : {0.1, 0.25, 0.5, 0.75, 1.0}) {
        const std::int64_t count = unitsForFraction(p, units.size());
        EXPECT_EQ(count, static_cast<std::int64_t>(std::floor(p * 12.0 + 1e-9)));
        const std::vector<std::int64_t> ranks = allocateRanks(
            units, scores, tieBreak, std::vector<std::int64_t>{0, 8}, Budget{count, -1});
        std::vector<std::size_t> order(12);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
        for (std::size_t k = 0; k < 12; ++k) {
            EXPECT_EQ(ranks[order[k]], std::cmp_less(k, count) ? 8 : 0) << "p " << p;
        }
    }
}

TEST(AllocationTest, TiesAtTheThresholdAreBrokenByTheSeededDraws)
{
    const std::vector<adapters::Target> units = candidates(8);
    const std::vector<double> constant(12, 1.0); // RANDOM: every score the same
    std::set<std::vector<std::int64_t>> distinct;
    for (std::uint32_t seed = 0; seed < 8; ++seed) {
        const std::vector<double> draws = drawScores(seed, false);
        const std::vector<std::int64_t> ranks =
            allocateRanks(units, constant, draws, std::vector<std::int64_t>{0, 8}, Budget{3, -1});
        // The three largest draws win.
        std::vector<double> sorted = draws;
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        for (std::size_t i = 0; i < 12; ++i) {
            EXPECT_EQ(ranks[i] > 0, draws[i] >= sorted[2]);
        }
        distinct.insert(ranks);
    }
    EXPECT_GT(distinct.size(), 4U); // different seeds choose different modules
}

TEST(AllocationTest, RankSetGivesEachModuleInScoreOrderTheLargestRankThatStillFits)
{
    const std::vector<adapters::Target> units = candidates(8);
    std::vector<double> scores(12);
    std::iota(scores.begin(), scores.end(), 0.0); // module 11 first, then 10, ...
    const std::vector<double> tieBreak(12, 0.0);
    // Of 3008: m2 of layer 3 at 8 (1536), m1 at 8 (768), m0 only fits at 4 (512), leaving 192:
    // m2 of layer 2 needs 384 even at rank 2, m1 of layer 2 takes rank 2 (192), then nothing fits.
    const std::vector<std::int64_t> ranks =
        allocateRanks(units, scores, tieBreak, std::vector<std::int64_t>{0, 2, 4, 8},
                      Budget{-1, 8 * 192 + 8 * 96 + 4 * 128 + 2 * 96});
    EXPECT_EQ(ranks[11], 8);
    EXPECT_EQ(ranks[10], 8);
    EXPECT_EQ(ranks[9], 4);
    EXPECT_EQ(ranks[8], 0); // m2 needs 2 * 192 = 384 > 192 left
    EXPECT_EQ(ranks[7], 2); // m1 at rank 2 is 192: exactly what is left
    for (std::size_t i = 0; i < 7; ++i) {
        EXPECT_EQ(ranks[i], 0) << i;
    }
    EXPECT_EQ(paramsOf(ranks), 8 * 192 + 8 * 96 + 4 * 128 + 2 * 96);
}

TEST(AllocationTest, AllocatedConfigSelectsExactlyTheChosenModulesAndRanksAndSavesForPeft)
{
    const test::TempDir dir;
    nn::Decoder decoder(model::tinyConfig(model::ArchId::Llama));
    model::initializeRandom(*decoder, 4);
    AdapterConfig candidatesConfig;
    candidatesConfig.method = AdapterMethod::HeteroLora;
    candidatesConfig.r = 8;
    candidatesConfig.targetModules = {"q_proj", "v_proj", "down_proj"};
    const std::vector<model::ProjectionSpec> projections =
        model::projectionSpecs(decoder->config());
    const std::vector<adapters::Target> targets =
        adapters::selectTargets(projections, candidatesConfig);
    ASSERT_EQ(targets.size(), 6U); // 2 layers x q, v, down
    const std::vector<std::int64_t> ranks = {8, 0, 4, 0, 2, 8};

    const AdapterConfig allocated = allocatedConfig(candidatesConfig, targets, ranks);
    EXPECT_EQ(allocated.method, AdapterMethod::Lora);
    const std::vector<adapters::Target> chosen = adapters::selectTargets(projections, allocated);
    std::vector<std::pair<std::string, std::int64_t>> expected;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (ranks[i] > 0) {
            expected.emplace_back(targets[i].spec.name, ranks[i]);
        }
    }
    std::vector<std::pair<std::string, std::int64_t>> actual;
    for (const adapters::Target& t : chosen) {
        actual.emplace_back(t.spec.name, t.r);
    }
    EXPECT_EQ(actual, expected);

    adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, allocated);
    adapters::saveAdapter(set, dir / "adapter");
    std::ifstream in(dir / "adapter" / "adapter_config.json");
    const nlohmann::json json = nlohmann::json::parse(in);
    EXPECT_EQ(json["peft_type"], "LORA");
    EXPECT_EQ(json["r"], 8);
    EXPECT_EQ(json["target_modules"], nlohmann::json({"down_proj", "q_proj", "v_proj"}));
    EXPECT_EQ(json["exclude_modules"], nlohmann::json({"model.layers.0.self_attn.v_proj",
                                                       "model.layers.1.self_attn.q_proj"}));
    EXPECT_EQ(json["rank_pattern"],
              nlohmann::json({{"model\\.layers\\.0\\.mlp\\.down_proj", 4},
                              {"model\\.layers\\.1\\.self_attn\\.v_proj", 2}}));

    nn::Decoder other(model::tinyConfig(model::ArchId::Llama));
    model::initializeRandom(*other, 4);
    const adapters::AdapterSet loaded = adapters::loadAdapter(*other, dir / "adapter");
    std::vector<std::pair<std::string, std::int64_t>> reloaded;
    for (const auto& m : loaded.modules()) {
        reloaded.emplace_back(m.name, m.adapter->target().r);
    }
    EXPECT_EQ(reloaded, expected);
}

TEST(AllocationTest, AllocatedConfigFoldsTheOffModulesIntoAnExcludeRegex)
{
    AdapterConfig candidatesConfig;
    candidatesConfig.method = AdapterMethod::HeteroLora;
    candidatesConfig.targetModules = {"q_proj", "v_proj"};
    candidatesConfig.excludeRegex = ".*layers\\.5\\..*";
    const std::vector<model::ProjectionSpec> projections =
        model::projectionSpecs(model::tinyConfig(model::ArchId::Llama));
    const std::vector<adapters::Target> targets =
        adapters::selectTargets(projections, candidatesConfig);
    ASSERT_EQ(targets.size(), 4U);
    const AdapterConfig allocated =
        allocatedConfig(candidatesConfig, targets, std::vector<std::int64_t>{0, 8, 8, 0});
    EXPECT_TRUE(allocated.excludeModules.empty());
    std::vector<std::string> names;
    for (const adapters::Target& t : adapters::selectTargets(projections, allocated)) {
        names.push_back(t.spec.name);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"model.layers.0.self_attn.v_proj",
                                               "model.layers.1.self_attn.q_proj"}));
}

} // namespace
} // namespace ftw::heterolora
