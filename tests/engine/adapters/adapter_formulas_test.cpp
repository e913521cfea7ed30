// SPDX-License-Identifier: MIT
// Single methods against hand-worked examples and independent computations: Bone's padding rule,
// Bat's blockwise update and its inverse, PiSSA's residual, the randomised SVD, LoRA-GA's
// directions, VeRA's projections, AdaLoRA's schedule, masking and regulariser, LoRA+ groups and
// PEFT's target rules.
#include "adapters/adalora.h"
#include "adapters/adapter_set.h"
#include "adapters/lora.h"
#include "adapters/miss.h"
#include "adapters/randomized_svd.h"
#include "adapters/vera.h"
#include "model/projections.h"
#include "model/tiny_model.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>

namespace ftw::adapters {
namespace {

/// A projection [out, in] with the given weight (and no bias).
nn::Projection projectionWith(const at::Tensor& weightOutIn, bool conv1d = false)
{
    nn::Projection p(weightOutIn.size(1), weightOutIn.size(0), false,
                     conv1d ? nn::WeightLayout::InOut : nn::WeightLayout::OutIn);
    const torch::NoGradGuard noGrad;
    p->weight.copy_(conv1d ? weightOutIn.t() : weightOutIn);
    p->weight.set_requires_grad(false);
    return p;
}

Target targetFor(std::int64_t in, std::int64_t out, std::int64_t r, double scaling = 1.0)
{
    Target t;
    t.spec = model::ProjectionSpec{"m", "m", 0, in, out, false, false};
    t.r = r;
    t.alpha = scaling * static_cast<double>(r);
    t.scaling = scaling;
    return t;
}

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>();
}

TEST(BoneTest, PaddedInputUsesTheFirstRowsOfTheBlockForTheLastPartialBlock)
{
    // in = 5, r = 2: columns 0..4 take rows 0,1,0,1,0 of M (M is [r, out] = [2, 3]).
    const at::Tensor w = at::zeros({3, 5});
    nn::Projection base = projectionWith(w);
    BoneAdapter bone(targetFor(5, 3, 2), 0.0);
    {
        const torch::NoGradGuard noGrad;
        bone.block().copy_(at::tensor({1.0F, 2.0F, 3.0F, 10.0F, 20.0F, 30.0F}).view({2, 3}));
    }
    const at::Tensor expected = at::tensor({1.0F, 10.0F, 1.0F, 10.0F, 1.0F, //
                                            2.0F, 20.0F, 2.0F, 20.0F, 2.0F, //
                                            3.0F, 30.0F, 3.0F, 30.0F, 3.0F})
                                    .view({3, 5});
    EXPECT_TRUE(at::equal(bone.deltaWeight(w), expected));
    const at::Tensor x = at::tensor({1.0F, 2.0F, 3.0F, 4.0F, 5.0F}).view({1, 5});
    // x_bar = (1 + 3 + 5, 2 + 4) = (9, 6); y = x_bar M = (9 + 60, 18 + 120, 27 + 180).
    const at::Tensor y = bone.forward(*base, x);
    EXPECT_TRUE(at::allclose(y, at::tensor({69.0F, 138.0F, 207.0F}).view({1, 3})));
}

TEST(DropoutTest, LoraAndDoraDropTheAdapterInputOnlyWhileTraining)
{
    at::Generator g = at::detail::createCPUGenerator(9);
    const at::Tensor w = at::randn({6, 5}, g);
    nn::Projection base = projectionWith(w);
    const at::Tensor x = at::randn({4, 5}, g);
    const at::Tensor a = at::randn({2, 5}, g);
    const at::Tensor b = at::randn({6, 2}, g);
    LoraAdapter lora(targetFor(5, 6, 2, 0.5), 0.3);
    DoraAdapter dora(targetFor(5, 6, 2, 0.5), 0.3);
    lora.setFactors(a, b);
    dora.setFactors(a, b);
    dora.initMagnitude(*base);
    {
        const torch::NoGradGuard noGrad;
        dora.magnitude().mul_(1.5); // so that g != 1
    }
    // The same dropout mask, drawn again from the reseeded global generator.
    at::manual_seed(42);
    const at::Tensor loraTrain = lora.forward(*base, x);
    at::manual_seed(42);
    const at::Tensor dropped = at::dropout(at::ones_like(x), 0.3, true) * x;
    const at::Tensor baseOut = at::matmul(x, w.t());
    EXPECT_LT(maxDiff(loraTrain, baseOut + 0.5 * at::matmul(at::matmul(dropped, a.t()), b.t())),
              1e-5);
    // DoRA (PEFT): base(x) + (g - 1) * (x~ W^T) + g * s * (x~ A^T) B^T with g = m / ||W + sBA||.
    at::manual_seed(42);
    const at::Tensor doraTrain = dora.forward(*base, x);
    const at::Tensor gain =
        dora.magnitude().detach() / at::linalg_vector_norm(w + 0.5 * at::matmul(b, a), 2, {1});
    const at::Tensor expected = baseOut + (gain - 1.0) * at::matmul(dropped, w.t()) +
                                gain * 0.5 * at::matmul(at::matmul(dropped, a.t()), b.t());
    EXPECT_LT(maxDiff(doraTrain, expected), 1e-5);
    // In eval the branch sees x itself, and DoRA is g * (x V^T).
    base->eval();
    EXPECT_LT(
        maxDiff(dora.forward(*base, x), gain * at::matmul(x, (w + 0.5 * at::matmul(b, a)).t())),
        1e-5);
}

TEST(BatTest, UpdatesEachBlockAsWTimesIPlusTPlusTAndUnmergesThroughTheInverse)
{
    at::Generator g = at::detail::createCPUGenerator(1);
    const at::Tensor w = at::randn({4, 6}, g);
    nn::Projection base = projectionWith(w);
    BatAdapter bat(targetFor(6, 4, 2));
    const at::Tensor t = at::randn({2, 2, 2}, g) * 0.3;
    {
        const torch::NoGradGuard noGrad;
        bat.block().copy_(t);
    }
    // Block (b, a) of W' is W_ba (I + T_b) + T_b, computed here block by block.
    at::Tensor expected = at::empty_like(w);
    for (std::int64_t b = 0; b < 2; ++b) {
        for (std::int64_t a = 0; a < 3; ++a) {
            const at::Tensor block = w.slice(0, 2 * b, 2 * b + 2).slice(1, 2 * a, 2 * a + 2);
            expected.slice(0, 2 * b, 2 * b + 2).slice(1, 2 * a, 2 * a + 2) =
                at::matmul(block, at::eye(2) + t[b]) + t[b];
        }
    }
    EXPECT_LT(maxDiff(w + bat.deltaWeight(w), expected), 1e-6);
    bat.merge(*base);
    EXPECT_LT(maxDiff(base->weight, expected), 1e-6);
    bat.unmerge(*base);
    EXPECT_LT(maxDiff(base->weight, w), 1e-5);
}

TEST(PissaTest, ResidualIsTheTailOfTheSvdAndTheAdapterCarriesTheTop)
{
    at::Generator g = at::detail::createCPUGenerator(2);
    const at::Tensor w = at::randn({12, 8}, g);
    for (const bool conv1d : {false, true}) {
        nn::Projection base = projectionWith(w, conv1d);
        LoraAdapter lora(targetFor(8, 12, 3, 0.5), 0.0);
        lora.initPissa(*base, 0, g);
        const at::Tensor s = std::get<1>(at::linalg_svd(w.to(at::kDouble), false));
        const at::Tensor residual = weightFloat(*base).to(at::kDouble);
        const at::Tensor sResidual = std::get<1>(at::linalg_svd(residual, false));
        EXPECT_TRUE(at::allclose(sResidual.narrow(0, 0, 5), s.narrow(0, 3, 5), 1e-4, 1e-4));
        EXPECT_LT(maxDiff(residual + 0.5 * at::matmul(lora.b(), lora.a()).to(at::kDouble),
                          w.to(at::kDouble)),
                  1e-5);
    }
}

TEST(RandomizedSvdTest, RecoversALowRankMatrixAndTheTopSingularValues)
{
    at::Generator g = at::detail::createCPUGenerator(3);
    const at::Tensor low =
        at::matmul(at::randn({30, 4}, g, at::kDouble), at::randn({4, 20}, g, at::kDouble));
    for (const bool wide : {false, true}) {
        const at::Tensor a = wide ? low.t() : low;
        auto [u, s, v] = randomizedSvd(a, 4, 2, g);
        EXPECT_EQ(u.size(0), a.size(0));
        EXPECT_EQ(v.size(0), a.size(1));
        EXPECT_LT(maxDiff(at::matmul(u * s.unsqueeze(0), v.t()), a), 1e-9);
    }
    // A decaying spectrum: the top singular values within 1 % after a few power iterations.
    const at::Tensor q1 = std::get<0>(at::linalg_qr(at::randn({40, 40}, g, at::kDouble)));
    const at::Tensor q2 = std::get<0>(at::linalg_qr(at::randn({25, 25}, g, at::kDouble)));
    const at::Tensor spectrum = at::pow(0.7, at::arange(25, at::kDouble));
    const at::Tensor m = at::matmul(q1.narrow(1, 0, 25) * spectrum.unsqueeze(0), q2.t());
    const at::Tensor s = std::get<1>(randomizedSvd(m, 5, 4, g));
    EXPECT_TRUE(at::allclose(s, spectrum.narrow(0, 0, 5), 1e-2, 0.0));
}

TEST(LoraGaTest, ArB2rTakesATheTopRightSingularVectorsAndKeepsTheOutput)
{
    at::Generator g = at::detail::createCPUGenerator(4);
    const at::Tensor w = at::randn({16, 12}, g);
    // A gradient with a clear spectrum so that the subspaces are well defined.
    const at::Tensor q1 = std::get<0>(at::linalg_qr(at::randn({16, 12}, g)));
    const at::Tensor q2 = std::get<0>(at::linalg_qr(at::randn({12, 12}, g)));
    const at::Tensor grad = at::matmul(q1 * at::pow(0.5, at::arange(12)).unsqueeze(0), q2.t());
    nn::Projection base = projectionWith(w);
    LoraAdapter lora(targetFor(12, 16, 2, 2.0), 0.0);
    lora.initLoraGa(*base, grad, "ArB2r", "stable", 16.0, g);
    auto [u, s, vh] = at::linalg_svd(grad, false);
    const at::Tensor topRight = vh.narrow(0, 0, 2);
    // A spans the top-2 right singular subspace: equal orthogonal projectors.
    EXPECT_LT(maxDiff(at::matmul(lora.a().t(), lora.a()), at::matmul(topRight.t(), topRight)),
              1e-3);
    // B spans the 3rd and 4th left singular vectors, scaled by out^(1/4) / sqrt(gamma).
    const at::Tensor expectedNorms = s.narrow(0, 2, 2) * (std::pow(16.0, 0.25) / 4.0);
    EXPECT_TRUE(at::allclose(at::linalg_vector_norm(lora.b(), 2, {0}), expectedNorms, 1e-3, 1e-4));
    EXPECT_LT(maxDiff(weightFloat(*base) + 2.0 * at::matmul(lora.b(), lora.a()), w), 1e-5);
}

TEST(VeraTest, ProjectionsAreSeededKaimingUniformAndShared)
{
    const VeraProjections p = makeVeraProjections(8, 20, 30, 0);
    EXPECT_EQ(p.a.sizes(), (std::vector<std::int64_t>{8, 20}));
    EXPECT_EQ(p.b.sizes(), (std::vector<std::int64_t>{30, 8}));
    EXPECT_LE(p.a.abs().max().item<double>(), std::sqrt(6.0 / 20.0));
    EXPECT_LE(p.b.abs().max().item<double>(), std::sqrt(6.0 / 8.0));
    EXPECT_TRUE(at::equal(p.a, makeVeraProjections(8, 20, 30, 0).a));
    EXPECT_FALSE(at::equal(p.a, makeVeraProjections(8, 20, 30, 1).a));
}

TEST(AdaLoraTest, BudgetFollowsTheCubicScheduleHandWorked)
{
    AdaLoraAllocator::Settings s;
    s.initR = 6;
    s.targetR = 2;
    s.tinit = 2;
    s.tfinal = 2;
    s.totalStep = 10;
    s.deltaT = 2;
    std::vector<std::pair<std::string, std::shared_ptr<AdaLoraAdapter>>> modules;
    for (int i = 0; i < 3; ++i) {
        modules.emplace_back("m" + std::to_string(i),
                             std::make_shared<AdaLoraAdapter>(targetFor(4, 4, 6), 0.0));
    }
    const AdaLoraAllocator allocator(s, modules);
    // b0 = 18, bT = 6; at step 4: progress (4 - 2) / (10 - 2 - 2) = 1/3, so
    // budget = int(12 * (2/3)^3 + 6) = int(9.555...) = 9; masked because 4 % 2 == 0.
    EXPECT_EQ(allocator.budgetAt(2).budget, 18);
    EXPECT_FALSE(allocator.budgetAt(2).mask);
    EXPECT_EQ(allocator.budgetAt(4).budget, 9);
    EXPECT_TRUE(allocator.budgetAt(4).mask);
    EXPECT_EQ(allocator.budgetAt(5).budget, 7); // int(12 * (1/2)^3 + 6) = 7.5 -> 7
    EXPECT_FALSE(allocator.budgetAt(5).mask);
    EXPECT_EQ(allocator.budgetAt(9).budget, 6);
    EXPECT_TRUE(allocator.budgetAt(9).mask);
}

TEST(AdaLoraTest, MaskingKeepsExactlyTheBudgetOfMostImportantDirections)
{
    AdaLoraAllocator::Settings s;
    s.initR = 4;
    s.targetR = 2;
    s.totalStep = 10;
    s.tfinal = 5;
    std::vector<std::pair<std::string, std::shared_ptr<AdaLoraAdapter>>> modules;
    at::Generator g = at::detail::createCPUGenerator(6);
    for (int i = 0; i < 2; ++i) {
        auto m = std::make_shared<AdaLoraAdapter>(targetFor(5, 3, 4, 1.0), 0.0);
        m->initDefault(g);
        const torch::NoGradGuard noGrad;
        m->e().normal_(0.0, 1.0, g);
        modules.emplace_back("layer" + std::to_string(i), m);
    }
    AdaLoraAllocator allocator(s, modules);
    const at::Tensor x = at::randn({7, 5}, g);
    nn::Projection base = projectionWith(at::randn({3, 5}, g));
    at::Tensor loss = at::zeros({});
    for (auto& [name, m] : modules) {
        loss = loss + m->forward(*base, x).pow(2).sum();
    }
    loss.backward();
    allocator.updateAndAllocate(s.totalStep - s.tfinal); // the final allocation: budget bT = 4
    std::int64_t kept = 0;
    for (const auto& [key, pattern] : allocator.rankPattern()) {
        kept += std::count(pattern.begin(), pattern.end(), true);
    }
    EXPECT_EQ(allocator.rankPattern().size(), 2U);
    EXPECT_EQ(kept, 4);
    std::int64_t nonzero = 0;
    for (auto& [name, m] : modules) {
        nonzero += (m->e() != 0).sum().item<std::int64_t>();
    }
    EXPECT_EQ(nonzero, 4);
}

TEST(AdaLoraTest, OrthogonalRegularizerIsTheMeanFrobeniusDistanceFromIdentity)
{
    AdaLoraAllocator::Settings s;
    s.orthRegWeight = 0.5;
    auto m = std::make_shared<AdaLoraAdapter>(targetFor(5, 3, 2), 0.0);
    at::Generator g = at::detail::createCPUGenerator(8);
    m->initDefault(g);
    const AdaLoraAllocator allocator(s, {{"m", m}});
    const at::Tensor a = m->a().detach().to(at::kDouble);
    const at::Tensor b = m->b().detach().to(at::kDouble);
    const double expected = 0.5 *
                            ((at::matmul(a, a.t()) - at::eye(2, at::kDouble)).pow(2).sum().sqrt() +
                             (at::matmul(b.t(), b) - at::eye(2, at::kDouble)).pow(2).sum().sqrt())
                                .item<double>() /
                            2.0;
    EXPECT_NEAR(allocator.orthogonalRegularizer().item<double>(), expected, 1e-6);
}

TEST(LoraPlusTest, BAndVectorsGetTheRatioTimesTheLearningRate)
{
    nn::Decoder decoder(model::tinyConfig(model::ArchId::Llama));
    AdapterConfig c;
    c.method = Method::Dora;
    c.r = 2;
    c.targetModules = {"q_proj"};
    const AdapterSet set = AdapterSet::attach(*decoder, c);
    const auto groups = loraPlusGroups(set, 1e-4, 16.0, 0.01);
    ASSERT_EQ(groups.size(), 2U);
    EXPECT_EQ(groups[0].name, "A");
    EXPECT_DOUBLE_EQ(groups[0].learningRate, 1e-4);
    EXPECT_EQ(groups[0].parameters.size(), 2U); // lora_A of 2 layers
    EXPECT_DOUBLE_EQ(groups[1].learningRate, 16e-4);
    EXPECT_EQ(groups[1].parameters.size(), 4U); // lora_B and the magnitude of 2 layers
    EXPECT_DOUBLE_EQ(groups[1].weightDecay, 0.01);
}

std::vector<std::string> selectedNames(const AdapterConfig& c, model::ArchId arch)
{
    std::vector<std::string> names;
    for (const Target& t : selectTargets(model::projectionSpecs(model::tinyConfig(arch)), c)) {
        names.push_back(t.spec.name + ":" + std::to_string(t.r));
    }
    return names;
}

TEST(TargetsTest, SuffixesRegexLayersExclusionsAndPatternsFollowPeft)
{
    AdapterConfig c;
    c.r = 4;
    c.targetModules = {"q_proj", "self_attn.v_proj"};
    c.rankPattern = {{"model.layers.1.self_attn.q_proj", 2}};
    EXPECT_EQ(selectedNames(c, model::ArchId::Llama),
              (std::vector<std::string>{
                  "model.layers.0.self_attn.q_proj:4", "model.layers.0.self_attn.v_proj:4",
                  "model.layers.1.self_attn.q_proj:2", "model.layers.1.self_attn.v_proj:4"}));
    c.layersToTransform = {1};
    c.excludeModules = {"v_proj"};
    EXPECT_EQ(selectedNames(c, model::ArchId::Llama),
              (std::vector<std::string>{"model.layers.1.self_attn.q_proj:2"}));

    AdapterConfig regex;
    regex.targetRegex = R"(.*\.h\.0\.(attn|mlp)\.c_proj)";
    EXPECT_EQ(selectedNames(regex, model::ArchId::Gpt2),
              (std::vector<std::string>{"transformer.h.0.attn.c_proj:8",
                                        "transformer.h.0.mlp.c_proj:8"}));

    AdapterConfig all; // all-linear: 7 per Llama layer, never lm_head
    EXPECT_EQ(selectedNames(all, model::ArchId::Llama).size(), 14U);

    AdapterConfig none;
    none.targetModules = {"query"};
    try {
        (void)selectedNames(none, model::ArchId::Gpt2);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("attn.c_attn"), std::string::npos) << e.what();
    }
}

TEST(TargetsTest, BatRefusesABlockSizeThatDoesNotDivideTheWeight)
{
    AdapterConfig c;
    c.method = Method::Bat;
    c.r = 12;
    try {
        (void)selectedNames(c, model::ArchId::Llama);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("divide"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace ftw::adapters
