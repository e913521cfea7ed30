// SPDX-License-Identifier: MIT
// Every adapter method on a tiny model of every architecture: the forward with the adapter equals
// the forward with the merged weight, unmerge restores the base, inits that must not change the
// output do not, the analytic count equals what is created and what receives gradients, and save
// then load gives identical outputs.
#include "adapters/adapter_set.h"
#include "adapters/counts.h"
#include "adapters/lora.h"
#include "adapters/peft_files.h"
#include "model/generator.h"
#include "model/model_loader.h"
#include "model/projections.h"
#include "model/tiny_model.h"

#include <ftw/generation.h>

#include "support/temp_dir.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <map>

namespace ftw::model {
void PrintTo(ArchId arch, std::ostream* os); // defined in decoder_test.cpp
} // namespace ftw::model

namespace ftw::adapters {
namespace {

using model::ArchId;

struct MethodCase {
    std::string name;
    AdapterConfig config;
    bool rewritesBase = false; ///< PiSSA, OLoRA, LoRA-GA
};

AdapterConfig withMethod(Method method, std::int64_t r)
{
    AdapterConfig c;
    c.method = method;
    c.r = r;
    c.alpha = 8.0;
    c.seed = 7;
    c.totalStep = 10;
    c.initR = 6;
    c.targetR = 3;
    c.loraGaBatches = 2;
    return c;
}

// gtest prints a case by its name.
void PrintTo(const MethodCase& c, std::ostream* os)
{
    *os << c.name;
}

std::vector<MethodCase> methodCases()
{
    std::vector<MethodCase> cases;
    cases.push_back({"lora", withMethod(Method::Lora, 4)});
    AdapterConfig rslora = withMethod(Method::Lora, 4);
    rslora.useRslora = true;
    rslora.rankPattern = {{"v_proj", 2}, {"c_fc", 2}};
    rslora.alphaPattern = {{"o_proj", 4.0}};
    cases.push_back({"rslora_patterns", rslora});
    cases.push_back({"pissa", withMethod(Method::Pissa, 4), true});
    AdapterConfig fastPissa = withMethod(Method::Pissa, 4);
    fastPissa.pissaNiter = 2;
    cases.push_back({"pissa_niter", fastPissa, true});
    cases.push_back({"olora", withMethod(Method::Olora, 4), true});
    cases.push_back({"lora_ga", withMethod(Method::LoraGa, 4), true});
    cases.push_back({"dora", withMethod(Method::Dora, 4)});
    cases.push_back({"vera", withMethod(Method::Vera, 16)});
    cases.push_back({"bone", withMethod(Method::Bone, 8)});
    cases.push_back({"bone_padded", withMethod(Method::Bone, 12)});
    cases.push_back({"bat", withMethod(Method::Bat, 8)});
    cases.push_back({"adalora", withMethod(Method::AdaLora, 0)});
    cases.push_back({"heterolora", withMethod(Method::HeteroLora, 4)});
    cases.push_back({"clover", withMethod(Method::Clover, 0), true});
    return cases;
}

/// A tiny decoder of `arch` with seeded random weights, in eval mode.
nn::Decoder tinyDecoder(ArchId arch)
{
    nn::Decoder decoder(model::tinyConfig(arch));
    model::initializeRandom(*decoder, 11);
    decoder->eval();
    return decoder;
}

at::Tensor sampleTokens()
{
    return at::randint(0, 259, {2, 10}, at::detail::createCPUGenerator(3), at::kLong);
}

at::Tensor logitsOf(nn::Decoder& decoder)
{
    const torch::NoGradGuard noGrad;
    return decoder->forward(sampleTokens());
}

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>();
}

/// Stands in for training: moves every trainable tensor away from its init, seeded.
void perturb(const AdapterSet& set, double scale)
{
    const torch::NoGradGuard noGrad;
    at::Generator generator = at::detail::createCPUGenerator(5);
    for (const auto& [name, tensor] : set.trainableParameters()) {
        tensor.add_(at::empty_like(tensor).normal_(0.0, scale, generator));
    }
}

/// LoRA-GA's gradient estimate: the LM loss of random batches.
AttachOptions trainingBatches()
{
    AttachOptions options;
    options.backwardOnNextBatch = [](nn::DecoderImpl& decoder) {
        const at::Tensor tokens = sampleTokens();
        const at::Tensor logits = decoder.forward(tokens);
        const at::Tensor loss =
            at::cross_entropy_loss(logits.narrow(1, 0, 9).reshape({-1, logits.size(-1)}),
                                   tokens.narrow(1, 1, 9).reshape({-1}));
        loss.backward();
    };
    return options;
}

std::map<std::string, at::Tensor> weightsOf(nn::DecoderImpl& decoder)
{
    std::map<std::string, at::Tensor> weights;
    for (const auto& item : decoder.named_parameters()) {
        weights.emplace(item.key(), item.value().detach().clone());
    }
    return weights;
}

class AdapterMethodTest : public ::testing::TestWithParam<std::tuple<ArchId, MethodCase>> {};

TEST_P(AdapterMethodTest, MergesExactlyUnmergesCountsAndRoundTrips)
{
    const auto& [arch, c] = GetParam();
    nn::Decoder decoder = tinyDecoder(arch);
    const at::Tensor baseLogits = logitsOf(decoder);

    AdapterSet set = AdapterSet::attach(*decoder, c.config, trainingBatches());
    decoder->eval();

    // At init: zero-initialised methods leave the output as it was; PiSSA, OLoRA and LoRA-GA do
    // too, because the residual plus the adapter is W.
    EXPECT_LT(maxDiff(logitsOf(decoder), baseLogits), c.rewritesBase ? 2e-4 : 1e-6);

    // The analytic count (config.json alone) equals what was created.
    const model::ModelConfig& config = decoder->config();
    const std::vector<Target> targets = selectTargets(model::projectionSpecs(config), c.config);
    EXPECT_EQ(set.trainableCount(), totalTrainableCount(config, c.config, targets));

    // ... and equals what a backward pass updates; the base receives no gradient.
    perturb(set, 0.05);
    decoder->train();
    decoder->forward(sampleTokens()).pow(2).mean().backward();
    decoder->eval();
    std::int64_t withGradient = 0;
    for (const auto& [name, tensor] : set.trainableParameters()) {
        ASSERT_TRUE(tensor.grad().defined()) << name;
        withGradient += tensor.numel();
    }
    EXPECT_EQ(withGradient, totalTrainableCount(config, c.config, targets));
    for (const auto& item : decoder->named_parameters()) {
        EXPECT_FALSE(item.value().grad().defined()) << item.key();
    }

    // Merge: the merged weights give the adapter's output.
    const at::Tensor adapted = logitsOf(decoder);
    EXPECT_GT(maxDiff(adapted, baseLogits), 1e-3) << "the perturbed adapter must change the output";
    const auto beforeMerge = weightsOf(*decoder);
    set.merge();
    EXPECT_LT(maxDiff(logitsOf(decoder), adapted), 1e-4);
    set.unmerge();
    for (const auto& [name, weight] : weightsOf(*decoder)) {
        EXPECT_LT(maxDiff(weight, beforeMerge.at(name)), 1e-5) << name;
    }
    EXPECT_LT(maxDiff(logitsOf(decoder), adapted), 1e-5);

    // Save, then load onto a fresh copy of the original base: the same output. Methods that
    // rewrite the base are saved as a plain LoRA of rank 2r for the original base.
    test::TempDir dir;
    saveAdapter(set, dir.path() / "adapter");
    nn::Decoder fresh = tinyDecoder(arch);
    AdapterSet loaded = loadAdapter(*fresh, dir.path() / "adapter");
    fresh->eval();
    EXPECT_LT(maxDiff(logitsOf(fresh), adapted), c.rewritesBase ? 2e-4 : 1e-5);
}

std::vector<std::tuple<ArchId, MethodCase>> allCases()
{
    std::vector<std::tuple<ArchId, MethodCase>> cases;
    for (const ArchId arch : model::allArchIds()) {
        for (const MethodCase& c : methodCases()) {
            cases.emplace_back(arch, c);
        }
    }
    return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, AdapterMethodTest, ::testing::ValuesIn(allCases()),
                         [](const ::testing::TestParamInfo<std::tuple<ArchId, MethodCase>>& param) {
                             return std::string(model::archName(std::get<0>(param.param))) + "_" +
                                    std::get<1>(param.param).name;
                         });

TEST(ProjectionSpecsTest, DescribeExactlyTheProjectionsTheDecoderBuilds)
{
    for (const ArchId arch : model::allArchIds()) {
        const model::ModelConfig config = model::tinyConfig(arch);
        nn::Decoder decoder(config);
        std::map<std::string, std::vector<std::int64_t>> built;
        for (const auto& item : decoder->named_modules()) {
            if (auto p = std::dynamic_pointer_cast<nn::ProjectionImpl>(item.value())) {
                built[item.key()] = p->weightOutIn().sizes().vec();
            }
        }
        std::map<std::string, std::vector<std::int64_t>> described;
        for (const model::ProjectionSpec& spec : model::projectionSpecs(config)) {
            described[spec.name] = {spec.out, spec.in};
        }
        EXPECT_EQ(built, described) << model::archName(arch);
        std::int64_t elements = 0;
        for (const auto& parameter : decoder->parameters()) {
            elements += parameter.numel();
        }
        EXPECT_EQ(model::modelParameterCount(config), elements) << model::archName(arch);
    }
}

TEST(FullFineTuningTest, TrainsEveryParameterAndCountsThemAnalytically)
{
    nn::Decoder decoder = tinyDecoder(ArchId::Qwen2);
    const at::Tensor before = logitsOf(decoder);
    AdapterConfig c;
    c.method = Method::Full;
    const AdapterSet set = AdapterSet::attach(*decoder, c);
    EXPECT_TRUE(at::equal(logitsOf(decoder), before));
    EXPECT_EQ(set.trainableCount(), model::modelParameterCount(decoder->config()));
    decoder->forward(sampleTokens()).sum().backward();
    for (const auto& item : decoder->named_parameters()) {
        EXPECT_TRUE(item.value().grad().defined()) << item.key();
    }
}

TEST(AdaLoraFilesTest, APrunedAdapterReloadsWithItsKeptRanksAndTheSameOutput)
{
    nn::Decoder decoder = tinyDecoder(ArchId::Llama);
    AdapterConfig c;
    c.method = Method::AdaLora;
    c.initR = 6;
    c.targetR = 2;
    c.totalStep = 4;
    c.tfinal = 2;
    c.targetModules = {"q_proj", "up_proj"};
    AdapterSet set = AdapterSet::attach(*decoder, c);
    perturb(set, 0.1);
    decoder->forward(sampleTokens()).pow(2).mean().backward();
    set.allocator()->updateAndAllocate(2); // the final allocation: 2 directions per module
    const at::Tensor adapted = logitsOf(decoder);
    test::TempDir dir;
    saveAdapter(set, dir.path() / "adalora");
    nn::Decoder fresh = tinyDecoder(ArchId::Llama);
    const AdapterSet loaded = loadAdapter(*fresh, dir.path() / "adalora");
    std::int64_t ranks = 0;
    for (const auto& m : loaded.modules()) {
        ranks += m.adapter->target().r;
    }
    EXPECT_EQ(ranks, 2 * 4); // target_r x 4 modules
    EXPECT_LT(maxDiff(logitsOf(fresh), adapted), 1e-5);
}

TEST(AdapterGenerationTest, GenerateWithAnAdapterFollowsTheUnmergedAdaptedModel)
{
    test::TempDir dir;
    nn::Decoder written = model::writeTinyModel(dir.path() / "model", ArchId::Llama, 4);
    AdapterConfig c;
    c.r = 4;
    AdapterSet set = AdapterSet::attach(*written, c);
    perturb(set, 0.5);
    saveAdapter(set, dir.path() / "adapter");

    GenerateRequest request;
    request.modelDir = dir.path() / "model";
    request.prompt = "In the beginning";
    request.maxNewTokens = 8;
    const auto plain = generateText(request);
    request.adapterDir = dir.path() / "adapter";
    const auto adapted = generateText(request);
    ASSERT_TRUE(plain && adapted);

    // The reference: the adapter loaded and left unmerged, generated through the engine.
    model::LoadedModel reference = model::loadModel(dir.path() / "model");
    const AdapterSet loaded = loadAdapter(*reference.decoder, dir.path() / "adapter");
    model::SamplingOptions options;
    options.maxNewTokens = 8;
    options.stopTokenIds = {257};
    EXPECT_EQ(adapted->ids,
              model::generate(*reference.decoder, adapted->promptIds, options).tokens);
    EXPECT_NE(adapted->ids, plain->ids);
}

} // namespace
} // namespace ftw::adapters
