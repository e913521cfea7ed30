// SPDX-License-Identifier: MIT
// CLOVER on whole tiny models: the decomposition reconstructs every head's absorbed product, the
// CLOVER form written back as standard weights reproduces the logits of the original model, and
// pruning removes exactly the parameters it reports while changing the logits far less than the
// vanilla pruning of original head dimensions at the same ratio.
#include "clover/reparam.h"

#include "model/projections.h"
#include "model/tiny_model.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <functional>
#include <iomanip>
#include <iostream>
#include <string>

namespace ftw::clover {
namespace {

using model::ArchId;

struct ArchCase {
    std::string name;
    ArchId arch = ArchId::Unknown;
    std::int64_t kvHeads = 0; ///< 0: the tiny config's own
};

void PrintTo(const ArchCase& c, std::ostream* os)
{
    *os << c.name;
}

model::ModelConfig configOf(const ArchCase& c)
{
    model::ModelConfig config = model::tinyConfig(c.arch);
    if (c.kvHeads > 0) {
        config.numKvHeads = c.kvHeads;
    }
    return config;
}

nn::Decoder randomDecoder(const model::ModelConfig& config, std::uint64_t seed)
{
    nn::Decoder decoder(config);
    model::initializeRandom(*decoder, seed);
    decoder->eval();
    return decoder;
}

at::Tensor tokens(const model::ModelConfig& config)
{
    std::vector<std::int64_t> ids;
    for (std::int64_t j = 0; j < 2 * 24; ++j) {
        ids.push_back((7 * j + 3) % config.vocabSize);
    }
    return at::tensor(ids, at::kLong).view({2, 24});
}

at::Tensor logitsOf(nn::DecoderImpl& decoder)
{
    const torch::NoGradGuard noGrad;
    return decoder.forward(tokens(decoder.config()));
}

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>();
}

at::Tensor parameter(nn::DecoderImpl& decoder, const std::string& name)
{
    return decoder.named_parameters()[name].detach().clone();
}

class CloverReparamTest : public ::testing::TestWithParam<ArchCase> {};

TEST_P(CloverReparamTest, FoldedCloverFormReproducesTheLogitsInFp32)
{
    const model::ModelConfig config = configOf(GetParam());
    nn::Decoder decoder = randomDecoder(config, 11);
    const at::Tensor before = logitsOf(*decoder);
    const std::string vName = config.arch == ArchId::Gpt2
                                  ? "transformer.h.0.attn.c_attn.weight"
                                  : "model.layers.0.self_attn.v_proj.weight";
    const at::Tensor vBefore = parameter(*decoder, vName);

    const ModelDecomposition dec = decompose(*decoder);
    writeFolded(*decoder, dec);
    const at::Tensor after = logitsOf(*decoder);

    const double diff = maxDiff(before, after);
    std::cout << "[clover] " << GetParam().name << ": reparameterisation max |delta logits| "
              << diff << " (logit scale " << before.abs().max().item<double>() << ")\n";
    EXPECT_LT(diff, 1e-4);
    // The weights really are rewritten (V is always re-split; in GPT-2 Q and K too).
    EXPECT_GT(maxDiff(parameter(*decoder, vName), vBefore), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(
    TinyModels, CloverReparamTest,
    ::testing::Values(ArchCase{"gpt2", ArchId::Gpt2}, ArchCase{"llama_gqa", ArchId::Llama},
                      ArchCase{"llama_mha", ArchId::Llama, 4}, ArchCase{"qwen2_gqa", ArchId::Qwen2},
                      ArchCase{"qwen2_mha", ArchId::Qwen2, 4}, ArchCase{"qwen3_gqa", ArchId::Qwen3},
                      ArchCase{"mistral_gqa", ArchId::Mistral}),
    [](const ::testing::TestParamInfo<ArchCase>& param) { return param.param.name; });

TEST(CloverReparamPathsTest, AbsorbingFollowsThePositionsAndTheKvHeads)
{
    EXPECT_EQ(qkPathOf(model::tinyConfig(ArchId::Gpt2)), QkPath::Absorbed);
    EXPECT_EQ(qkPathOf(model::tinyConfig(ArchId::Llama)), QkPath::KeyQr);
    EXPECT_EQ(voPathOf(model::tinyConfig(ArchId::Gpt2)), VoPath::Absorbed);
    EXPECT_EQ(voPathOf(model::tinyConfig(ArchId::Llama)), VoPath::ValueQr); // 4 heads, 2 KV
    model::ModelConfig mha = model::tinyConfig(ArchId::Llama);
    mha.numKvHeads = mha.numHeads;
    EXPECT_EQ(voPathOf(mha), VoPath::Absorbed);
}

TEST(CloverReparamPathsTest, Gpt2HeadsReconstructTheirBiasAugmentedProducts)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Gpt2);
    nn::Decoder decoder = randomDecoder(config, 5);
    const ModelDecomposition dec = decompose(*decoder);
    ASSERT_EQ(dec.layers.size(), 2U);
    const std::int64_t d = config.headDim;
    const std::int64_t hidden = config.hiddenSize;
    // Conv1D stores [in, out]: a head's columns are directly W_Q^h [D, d].
    const at::Tensor cAttn =
        parameter(*decoder, "transformer.h.1.attn.c_attn.weight").to(at::kDouble);
    const at::Tensor bias = parameter(*decoder, "transformer.h.1.attn.c_attn.bias").to(at::kDouble);
    const at::Tensor cProj =
        parameter(*decoder, "transformer.h.1.attn.c_proj.weight").to(at::kDouble);
    auto augmented = [&](std::int64_t column) {
        return at::cat({cAttn.narrow(1, column, d), bias.narrow(0, column, d).unsqueeze(0)});
    };
    for (std::int64_t h = 0; h < config.numHeads; ++h) {
        const at::Tensor qk = at::matmul(augmented(h * d), augmented(hidden + h * d).t());
        const at::Tensor vo = at::matmul(augmented(2 * hidden + h * d), cProj.narrow(0, h * d, d));
        const ThinSvd& qkSvd = dec.layers[1].qk.at(static_cast<std::size_t>(h));
        const ThinSvd& voSvd = dec.layers[1].vo.at(static_cast<std::size_t>(h));
        EXPECT_LT(maxDiff(reconstruct(qkSvd), qk), 1e-12) << "head " << h;
        EXPECT_LT(maxDiff(reconstruct(voSvd), vo), 1e-12) << "head " << h;
        // And the singular values are those of a full float64 SVD of the (D+1) x (D+1) product.
        EXPECT_LT(maxDiff(qkSvd.s, at::linalg_svdvals(qk).narrow(0, 0, d)), 1e-12);
    }
}

TEST(CloverReparamPathsTest, GqaValueQrPushesREveryHeadOfItsGroup)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Llama); // 4 heads, 2 KV heads
    nn::Decoder decoder = randomDecoder(config, 6);
    const at::Tensor v = parameter(*decoder, "model.layers.0.self_attn.v_proj.weight");
    const at::Tensor o = parameter(*decoder, "model.layers.0.self_attn.o_proj.weight");
    writeFolded(*decoder, decompose(*decoder));
    const at::Tensor v2 = parameter(*decoder, "model.layers.0.self_attn.v_proj.weight");
    const at::Tensor o2 = parameter(*decoder, "model.layers.0.self_attn.o_proj.weight");
    const std::int64_t d = config.headDim;
    for (std::int64_t h = 0; h < config.numHeads; ++h) {
        const std::int64_t g = h / 2;
        // W_V^g W_O^h is unchanged for every head h of group g; the new W_V^g is orthonormal.
        const at::Tensor was = at::matmul(v.narrow(0, g * d, d).t(), o.narrow(1, h * d, d).t());
        const at::Tensor now = at::matmul(v2.narrow(0, g * d, d).t(), o2.narrow(1, h * d, d).t());
        EXPECT_LT(maxDiff(now, was), 1e-5) << "head " << h;
        const at::Tensor q = v2.narrow(0, g * d, d).t().to(at::kDouble);
        EXPECT_LT(maxDiff(at::matmul(q.t(), q), at::eye(d, at::kDouble)), 1e-5);
    }
}

// ---- pruning ----------------------------------------------------------------------------------

/// Parameters a pruned GPT-2 could drop, counted from its weights alone: every head dimension
/// whose q (or k, v) column and bias entry are all zero, every zero row of c_proj.
std::int64_t zeroHeadParameters(nn::DecoderImpl& decoder)
{
    const model::ModelConfig& c = decoder.config();
    const std::int64_t hidden = c.hiddenSize;
    std::int64_t removable = 0;
    for (std::int64_t layer = 0; layer < c.numLayers; ++layer) {
        const std::string prefix = "transformer.h." + std::to_string(layer) + ".attn.";
        const at::Tensor w = parameter(decoder, prefix + "c_attn.weight"); // [D, 3D]
        const at::Tensor b = parameter(decoder, prefix + "c_attn.bias");
        const at::Tensor columnZero = (w.abs().sum(0) + b.abs()) == 0; // [3D]
        removable += columnZero.sum().item<std::int64_t>() * (hidden + 1);
        const at::Tensor o = parameter(decoder, prefix + "c_proj.weight"); // [D in, D out]
        removable += (o.abs().sum(1) == 0).sum().item<std::int64_t>() * hidden;
    }
    return removable;
}

struct PruneOutcome {
    double cloverDiff = 0.0;
    double vanillaDiff = 0.0;
    std::int64_t reported = 0;
    std::int64_t cloverCounted = 0;
    std::int64_t vanillaCounted = 0;
};

PruneOutcome pruneBoth(const model::ModelConfig& config, std::uint64_t seed,
                       const PruneOptions& options,
                       const std::function<void(nn::DecoderImpl&)>& prepare = {})
{
    nn::Decoder original = randomDecoder(config, seed);
    nn::Decoder clover = randomDecoder(config, seed);
    nn::Decoder vanilla = randomDecoder(config, seed);
    if (prepare) {
        prepare(*original);
        prepare(*clover);
        prepare(*vanilla);
    }
    const at::Tensor reference = logitsOf(*original);
    const ModelDecomposition dec = decompose(*clover);
    const KeptDirections kept = cloverKept(dec, options);
    const KeptDirections vanillaKeep = vanillaKept(*vanilla, dec, kept);
    writeFolded(*clover, dec, kept);
    writeVanillaPruned(*vanilla, dec, vanillaKeep);
    PruneOutcome out;
    out.cloverDiff = maxDiff(logitsOf(*clover), reference);
    out.vanillaDiff = maxDiff(logitsOf(*vanilla), reference);
    out.reported = countPruned(dec, kept).removedParams();
    out.cloverCounted = zeroHeadParameters(*clover);
    out.vanillaCounted = zeroHeadParameters(*vanilla);
    return out;
}

TEST(CloverPruneTest, RatioRemovesExactlyTheReportedParametersAndLessThanVanillaChanges)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Gpt2);
    const std::int64_t d = config.headDim;
    const std::int64_t hidden = config.hiddenSize;
    const std::int64_t heads = config.numLayers * config.numHeads;
    std::cout << "[clover] tiny GPT-2 (random weights), max |delta logits| after pruning:\n"
              << "[clover]   ratio  removed params   CLOVER      vanilla\n";
    for (const double ratio : {0.125, 0.25, 0.5, 0.75}) {
        const PruneOutcome out = pruneBoth(config, 21, PruneOptions{ratio, 0.0});
        const auto removedPerHead = static_cast<std::int64_t>(std::llround(ratio * d));
        // Hand count: per head, removed Q-K directions cost 2 (D + 1), V-O ones D + 1 + D.
        const std::int64_t expected =
            heads * removedPerHead * (2 * (hidden + 1) + (hidden + 1) + hidden);
        EXPECT_EQ(out.reported, expected) << "ratio " << ratio;
        EXPECT_EQ(out.cloverCounted, expected) << "ratio " << ratio;
        EXPECT_EQ(out.vanillaCounted, expected) << "ratio " << ratio;
        EXPECT_LT(out.cloverDiff, out.vanillaDiff) << "ratio " << ratio;
        std::cout << "[clover]   " << std::setw(5) << ratio << std::setw(16) << out.reported
                  << std::setw(11) << out.cloverDiff << std::setw(12) << out.vanillaDiff << '\n';
    }
}

/// Hides redundancy in every head the way trained models have it (seed-papers.md 2.4): W_Q^h and
/// W_V^h (bias rows included) are multiplied by B diag(s) B^T with a random
/// orthonormal B and s = 1 except 4 of the 16 directions at 1e-3. The products W_QK^h and W_VO^h
/// then have 4 tiny singular values, while no ORIGINAL head dimension is small.
void plantRedundancy(nn::DecoderImpl& decoder)
{
    const model::ModelConfig& c = decoder.config();
    const std::int64_t d = c.headDim;
    at::manual_seed(99);
    at::Tensor scales = at::ones({d}, at::kDouble);
    scales.narrow(0, 0, 4).fill_(1e-3);
    for (std::int64_t layer = 0; layer < c.numLayers; ++layer) {
        nn::ProjectionImpl& cAttn = *std::dynamic_pointer_cast<nn::ProjectionImpl>(
            decoder.named_modules()["transformer.h." + std::to_string(layer) + ".attn.c_attn"]);
        for (std::int64_t h = 0; h < c.numHeads; ++h) {
            for (const std::int64_t start : {h * d, 2 * c.hiddenSize + h * d}) {
                const at::Tensor basis = std::get<0>(at::linalg_qr(at::randn({d, d}, at::kDouble)));
                const at::Tensor shrink = at::matmul(basis * scales.unsqueeze(0), basis.t());
                setOutputColumns(cAttn, start, at::matmul(outputColumns(cAttn, start, d), shrink));
            }
        }
    }
}

TEST(CloverPruneTest, SmallThresholdChangesLittleWhereVanillaOfTheSameRatioChangesMuch)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Gpt2);
    const std::int64_t heads = config.numLayers * config.numHeads;
    const std::int64_t hidden = config.hiddenSize;
    // The threshold finds exactly the 4 planted directions per head (25 %) ...
    const PruneOutcome byThreshold =
        pruneBoth(config, 21, PruneOptions{0.0, 1e-2}, plantRedundancy);
    const std::int64_t expected = heads * 4 * (2 * (hidden + 1) + (hidden + 1) + hidden);
    EXPECT_EQ(byThreshold.reported, expected);
    EXPECT_EQ(byThreshold.cloverCounted, expected);
    EXPECT_EQ(byThreshold.vanillaCounted, expected);
    // ... and removing them barely moves the logits, while removing as many original head
    // dimensions (the smallest by ||q|| ||k||, ||v|| ||o||) moves them by orders of magnitude more.
    EXPECT_LT(byThreshold.cloverDiff, 1e-2);
    EXPECT_GT(byThreshold.vanillaDiff, 20.0 * byThreshold.cloverDiff);
    const PruneOutcome half = pruneBoth(config, 21, PruneOptions{0.5, 0.0}, plantRedundancy);
    EXPECT_LT(half.cloverDiff, half.vanillaDiff);
    std::cout << "[clover] tiny GPT-2 with 4 of 16 directions per head planted at 1e-3:\n"
              << "[clover]   threshold 1e-2 (25 %): CLOVER " << byThreshold.cloverDiff
              << ", vanilla " << byThreshold.vanillaDiff << "; ratio 0.5: CLOVER "
              << half.cloverDiff << ", vanilla " << half.vanillaDiff << '\n';
}

TEST(CloverPruneTest, ParametersBeforeAndAfterFollowTheModelCount)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Gpt2);
    nn::Decoder decoder = randomDecoder(config, 3);
    const ModelDecomposition dec = decompose(*decoder);
    const PruneCount count = countPruned(dec, cloverKept(dec, PruneOptions{0.25, 0.0}));
    // Every attention weight of the absorbed pairs, counted from the projections' shapes: c_attn
    // (with its bias) and c_proj's weight.
    std::int64_t attention = 0;
    for (const model::ProjectionSpec& p : model::projectionSpecs(config)) {
        if (p.kind == "attn.c_attn") {
            attention += p.in * p.out + p.out;
        } else if (p.kind == "attn.c_proj") {
            attention += p.in * p.out;
        }
    }
    EXPECT_EQ(count.qkParams + count.voParams, attention);
    EXPECT_EQ(count.qkRemovedDirections, count.qkDirections / 4);
    EXPECT_EQ(count.voRemovedDirections, count.voDirections / 4);
}

TEST(CloverPruneTest, ModelsWithoutAnAbsorbedPairCannotBePruned)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Llama); // RoPE and GQA
    nn::Decoder decoder = randomDecoder(config, 3);
    const ModelDecomposition dec = decompose(*decoder);
    EXPECT_THROW((void)cloverKept(dec, PruneOptions{0.25, 0.0}), Error);
    const ModelDecomposition gpt2 = decompose(*randomDecoder(model::tinyConfig(ArchId::Gpt2), 3));
    EXPECT_THROW((void)cloverKept(gpt2, PruneOptions{}), Error);
    EXPECT_THROW((void)cloverKept(gpt2, PruneOptions{0.25, 0.1}), Error);
    EXPECT_THROW((void)cloverKept(gpt2, PruneOptions{1.0, 0.0}), Error);
}

} // namespace
} // namespace ftw::clover
