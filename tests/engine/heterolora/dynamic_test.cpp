// SPDX-License-Identifier: MIT
// The dynamic HeteroLoRA method: a unit that is off gets no gradient, keeps its weights and leaves
// the output as if it were absent; a heterolora run switches on exactly floor(p N) units at every
// re-allocation, records them, and saves the last allocation as a plain PEFT LoRA.
#include "heterolora/proxies.h"

#include "adapters/adapter_set.h"
#include "adapters/peft_files.h"
#include "model/tiny_model.h"

#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <fstream>

namespace ftw::heterolora {
namespace {

TEST(GatedLoraTest, UnitSwitchedOffGetsNoGradientKeepsItsWeightsAndDoesNotChangeTheOutput)
{
    nn::Decoder decoder(model::tinyConfig(model::ArchId::Llama));
    model::initializeRandom(*decoder, 31);
    AdapterConfig config;
    config.method = AdapterMethod::HeteroLora;
    config.r = 4;
    config.targetModules = {"q_proj", "v_proj"};
    adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, config);
    const std::vector<Unit> units = unitsOf(set);
    ASSERT_EQ(units.size(), 4U);
    at::Generator generator = at::detail::createCPUGenerator(6);
    for (const Unit& u : units) {
        u.adapter->setFactors(u.adapter->a(), 0.1 * at::randn(u.adapter->b().sizes(), generator));
    }
    const at::Tensor tokens = at::randint(0, 200, {2, 7}, generator, at::kLong);
    const at::Tensor allOn = decoder->forward(tokens).detach();

    units[1].adapter->setEnabled(false);
    units[2].adapter->setEnabled(false);
    const at::Tensor someOff = decoder->forward(tokens);
    EXPECT_GT((someOff - allOn).abs().max().item<double>(), 1e-3);

    // The same model with those two units on but B = 0 (no update): the same logits, exactly.
    {
        std::vector<at::Tensor> savedB;
        for (const std::size_t i : {1U, 2U}) {
            savedB.push_back(units[i].adapter->b().detach().clone());
            units[i].adapter->setFactors(units[i].adapter->a(),
                                         at::zeros_like(units[i].adapter->b()));
            units[i].adapter->setEnabled(true);
        }
        const torch::NoGradGuard noGrad;
        const at::Tensor absent = decoder->forward(tokens);
        EXPECT_TRUE(at::equal(someOff.detach(), absent));
        for (const std::size_t i : {1U, 2U}) {
            units[i].adapter->setFactors(units[i].adapter->a(), savedB[i - 1]);
            units[i].adapter->setEnabled(false);
        }
    }
    EXPECT_EQ(set.modules()[1].adapter->deltaWeight(at::zeros({32, 64})).abs().max().item<double>(),
              0.0);

    std::vector<at::Tensor> factors;
    std::vector<at::Tensor> before;
    for (const Unit& u : units) {
        for (const at::Tensor& t : {u.adapter->a(), u.adapter->b()}) {
            factors.push_back(t);
            before.push_back(t.detach().clone());
        }
    }
    someOff.pow(2).mean().backward();
    torch::optim::AdamW optimizer(factors, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
    optimizer.step();
    for (std::size_t i = 0; i < units.size(); ++i) {
        const bool isOn = i == 0 || i == 3;
        SCOPED_TRACE(units[i].name);
        EXPECT_EQ(units[i].adapter->a().grad().defined(), isOn);
        EXPECT_EQ(units[i].adapter->b().grad().defined(), isOn);
        // Weight decay included: a unit that is off keeps its weights bit for bit.
        EXPECT_EQ(at::equal(units[i].adapter->a(), before[2 * i]), !isOn);
        EXPECT_EQ(at::equal(units[i].adapter->b(), before[2 * i + 1]), !isOn);
    }
}

class DynamicRunTest : public ::testing::TestWithParam<ZeroCostProxy> {};

TEST_P(DynamicRunTest, EveryReallocationSwitchesOnTheBudgetAndTheLastOneIsSaved)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::HeteroLora);
    spec.adapter.targetModules = {"q_proj", "v_proj", "up_proj"};
    spec.adapter.r = 4;
    spec.adapter.proxy = GetParam();
    spec.adapter.budgetFraction = 0.5; // 3 of 6
    spec.adapter.reallocEvery = 2;
    spec.adapter.scoreBatches = 2;
    spec.adapter.scoreWarmupSteps = 1;
    spec.train.maxSteps = 5; // re-allocations before steps 0, 2 and 4
    spec.train.learningRate = 5e-3;
    JobResult result;
    {
        auto engine = Engine::create(EngineOptions{dir / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        result = (*engine)->wait((*engine)->submit(spec).id);
    }
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    std::vector<std::int64_t> steps;
    const Expected<std::vector<RunEvent>> events = store->events(result.runId);
    ASSERT_TRUE(events.hasValue());
    for (const RunEvent& e : *events) {
        if (e.kind == "reallocate") {
            steps.push_back(e.step.value_or(-1));
            EXPECT_NE(e.message.find("3 of 6 modules on"), std::string::npos) << e.message;
        }
    }
    EXPECT_EQ(steps, (std::vector<std::int64_t>{0, 2, 4}));
    const std::vector<MetricPoint> enabled =
        *store->metrics(result.runId, "heterolora/enabled_modules");
    ASSERT_EQ(enabled.size(), 3U);
    for (const MetricPoint& p : enabled) {
        EXPECT_EQ(p.value, 3.0);
    }

    const std::vector<AdapterLayoutEntry> layout = *store->adapterLayout(result.runId);
    ASSERT_EQ(layout.size(), 6U);
    std::vector<std::string> onModules;
    std::int64_t onParams = 0;
    for (const AdapterLayoutEntry& e : layout) {
        EXPECT_EQ(e.method, "heterolora");
        EXPECT_TRUE(e.scoreRandom.has_value());
        const std::optional<double>& chosen =
            GetParam() == ZeroCostProxy::GradNorm  ? e.scoreGradNorm
            : GetParam() == ZeroCostProxy::Snip    ? e.scoreSnip
            : GetParam() == ZeroCostProxy::Synflow ? e.scoreSynflow
                                                   : e.scoreRandom;
        ASSERT_TRUE(chosen.has_value());
        if (GetParam() != ZeroCostProxy::Random) {
            EXPECT_GT(*chosen, 0.0) << e.layer << " " << e.module; // never identically zero
        }
        if (e.isEnabled) {
            onModules.push_back("model.layers." + std::to_string(e.layer) + "." + e.module);
            EXPECT_EQ(e.rank, 4);
            onParams += e.paramCount;
        }
    }
    ASSERT_EQ(onModules.size(), 3U);
    const std::vector<MetricPoint> params =
        *store->metrics(result.runId, "heterolora/enabled_params");
    ASSERT_FALSE(params.empty());
    EXPECT_EQ(params.back().value, static_cast<double>(onParams));

    // The adapter holds the last allocation as a plain LoRA: the other units are excluded.
    const nlohmann::json output = nlohmann::json::parse(result.outputJson);
    EXPECT_EQ(output["enabled_params"], onParams);
    const std::filesystem::path adapterDir = output["adapter_dir"].get<std::string>();
    std::ifstream in(adapterDir / "adapter_config.json");
    const nlohmann::json saved = nlohmann::json::parse(in);
    EXPECT_EQ(saved["peft_type"], "LORA");
    EXPECT_EQ(saved["exclude_modules"].size(), 3U);
    nn::Decoder other(model::tinyConfig(model::ArchId::Llama));
    const adapters::AdapterSet loaded = adapters::loadAdapter(*other, adapterDir);
    std::vector<std::string> loadedNames;
    for (const auto& m : loaded.modules()) {
        loadedNames.push_back(m.name);
    }
    EXPECT_EQ(loadedNames, onModules);
    EXPECT_EQ(loaded.trainableCount(), onParams);
}

INSTANTIATE_TEST_SUITE_P(Proxies, DynamicRunTest,
                         ::testing::Values(ZeroCostProxy::GradNorm, ZeroCostProxy::Snip,
                                           ZeroCostProxy::Synflow, ZeroCostProxy::Random),
                         [](const auto& param) {
                             std::string name(zeroCostProxyName(param.param));
                             name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                             return name;
                         });

} // namespace
} // namespace ftw::heterolora
