// SPDX-License-Identifier: MIT
// The analytic budget from config.json alone: the published counts for Llama-3-8B and GPT-2 small
// (adapter-methods.md 1.3 and 12), the memory estimate's parts, the equal-budget solver, and on
// tiny models the rows against the weights the engine actually writes.
#include "model/model_config.h"
#include "model/projections.h"

#include "support/temp_dir.h"

#include <ftw/budget.h>
#include <ftw/models.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace ftw {
namespace {

const std::filesystem::path kConfigs = std::filesystem::path(FTW_TEST_DATA_DIR) / "configs";
const std::filesystem::path kLlama3 = kConfigs / "llama3_8b";
const std::filesystem::path kGpt2 = kConfigs / "gpt2_small";

const std::vector<std::string> kSevenProjections{"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};

/// Llama-3-8B's projections, in -> out, written out by hand (adapter-methods.md 1.3).
struct Shape {
    std::int64_t in;
    std::int64_t out;
};
const std::vector<Shape> kLlama3Shapes{{4096, 4096},  {4096, 1024},  {4096, 1024}, {4096, 4096},
                                       {4096, 14336}, {4096, 14336}, {14336, 4096}};
constexpr std::int64_t kLlama3Layers = 32;

/// Section 12's formula summed over the seven projections of all 32 layers.
template <typename Formula>
std::int64_t llama3Sum(Formula formula)
{
    std::int64_t perLayer = 0;
    for (const Shape& s : kLlama3Shapes) {
        perLayer += formula(s.in, s.out);
    }
    return kLlama3Layers * perLayer;
}

AdapterConfig adapter(AdapterMethod method, std::int64_t r,
                      std::vector<std::string> targets = kSevenProjections)
{
    AdapterConfig c;
    c.method = method;
    c.r = r;
    c.targetModules = std::move(targets);
    return c;
}

BudgetReport budgetOf(const std::filesystem::path& dir, const AdapterConfig& config,
                      const MemoryOptions& memory = {})
{
    auto report = computeBudget(dir, config, memory);
    EXPECT_TRUE(report) << report.error().message;
    return report ? std::move(report).value() : BudgetReport{};
}

TEST(BudgetTest, FixturesHoldOnlyConfigJson)
{
    for (const auto& dir : {kLlama3, kGpt2}) {
        const auto entries = std::distance(std::filesystem::directory_iterator(dir),
                                           std::filesystem::directory_iterator());
        EXPECT_EQ(entries, 1) << dir;
        EXPECT_TRUE(std::filesystem::exists(dir / "config.json"));
    }
}

TEST(BudgetTest, LoraRank16OnAllSevenLlama3ProjectionsIs41943040)
{
    const BudgetReport r = budgetOf(kLlama3, adapter(AdapterMethod::Lora, 16));
    EXPECT_EQ(r.trainableParams, 41'943'040);
    EXPECT_EQ(r.architecture, "llama");
    EXPECT_EQ(r.configDtype, "BF16");
    EXPECT_EQ(r.knob, "r");
    EXPECT_EQ(r.rank, 16);
    EXPECT_EQ(r.modules.size(), 7U * 32U);
    EXPECT_NEAR(r.percentOfBase, 100.0 * 41'943'040 / 8'030'261'248.0, 1e-12);
    EXPECT_EQ(r.sharedFrozenParams, 0);

    const std::vector<std::int64_t> perModule{131'072, 81'920,  81'920, 131'072,
                                              294'912, 294'912, 294'912}; // the spec's table
    ASSERT_EQ(r.kinds.size(), 7U);
    for (std::size_t i = 0; i < r.kinds.size(); ++i) {
        EXPECT_EQ(r.kinds[i].modules, 32);
        EXPECT_EQ(r.kinds[i].in, kLlama3Shapes[i].in);
        EXPECT_EQ(r.kinds[i].out, kLlama3Shapes[i].out);
        EXPECT_EQ(r.kinds[i].trainableParams, 32 * perModule[i]) << r.kinds[i].kind;
    }
    EXPECT_EQ(r.kinds[4].kind, "mlp.gate_proj");
    ASSERT_EQ(r.layers.size(), 32U);
    for (const BudgetLayerTotal& layer : r.layers) {
        EXPECT_EQ(layer.trainableParams, 1'310'720);
    }
    EXPECT_EQ(r.modules.front().name, "model.layers.0.self_attn.q_proj");
}

TEST(BudgetTest, DoraAddsOneMagnitudePerOutputFeature)
{
    EXPECT_EQ(budgetOf(kLlama3, adapter(AdapterMethod::Dora, 16)).trainableParams, 43'319'296);
}

TEST(BudgetTest, VeraTrainsVectorsAndSharesTwoFrozenMatrices)
{
    const BudgetReport r = budgetOf(kLlama3, adapter(AdapterMethod::Vera, 256));
    EXPECT_EQ(r.trainableParams, 1'433'600);
    EXPECT_EQ(r.sharedFrozenParams, 2 * 256 * 14'336);
    EXPECT_EQ(r.memory.adapterWeightBytes, (1'433'600 + 2 * 256 * 14'336) * 4);
    EXPECT_EQ(budgetOf(kLlama3, adapter(AdapterMethod::Vera, 0)).rank, 256); // VeRA's default
}

TEST(BudgetTest, BoneBlockSize64Is88080384)
{
    const BudgetReport r = budgetOf(kLlama3, adapter(AdapterMethod::Bone, 64));
    EXPECT_EQ(r.trainableParams, 88'080'384);
    EXPECT_EQ(r.knob, "block size");
}

TEST(BudgetTest, BatAndAdaloraFollowSectionTwelve)
{
    const std::int64_t bat = llama3Sum([](std::int64_t, std::int64_t out) { return out * 64; });
    EXPECT_EQ(budgetOf(kLlama3, adapter(AdapterMethod::Bat, 64)).trainableParams, bat);

    AdapterConfig ada = adapter(AdapterMethod::AdaLora, 0);
    ada.initR = 12;
    ada.targetR = 8;
    const std::int64_t adalora =
        llama3Sum([](std::int64_t in, std::int64_t out) { return 12 * (in + out + 1); });
    const BudgetReport r = budgetOf(kLlama3, ada);
    EXPECT_EQ(adalora, 31'459'968); // 12 * (81,920 + 7) * 32, worked by hand
    EXPECT_EQ(r.trainableParams, adalora);
    EXPECT_EQ(r.knob, "init_r");
    EXPECT_EQ(r.rank, 12);
}

TEST(BudgetTest, FullFineTuningTrainsLlama3EightBillionParameters)
{
    const BudgetReport r = budgetOf(kLlama3, adapter(AdapterMethod::Full, 0));
    EXPECT_EQ(r.baseParams, 8'030'261'248);
    EXPECT_EQ(r.trainableParams, 8'030'261'248);
    EXPECT_DOUBLE_EQ(r.percentOfBase, 100.0);
    EXPECT_TRUE(r.knob.empty());
    EXPECT_EQ(r.modules.size(), 7U * 32U + 1U); // every projection and lm_head
    // What the projections leave: token embeddings, 65 RMSNorm weight vectors.
    EXPECT_EQ(r.otherTrainableParams, 128'256 * 4096 + (2 * 32 + 1) * 4096);
    EXPECT_EQ(r.layers.back().layer, -1);
    EXPECT_EQ(r.layers.back().trainableParams, 128'256 * 4096);
}

TEST(BudgetTest, Gpt2SmallLoraRank8OnCAttnIs294912)
{
    const BudgetReport r = budgetOf(kGpt2, adapter(AdapterMethod::Lora, 8, {"c_attn"}));
    EXPECT_EQ(r.trainableParams, 294'912);
    EXPECT_EQ(r.baseParams, 124'439'808); // GPT-2 small's known count
    EXPECT_EQ(r.configDtype, "F32");
    ASSERT_EQ(r.kinds.size(), 1U);
    EXPECT_EQ(r.kinds[0].kind, "attn.c_attn");
    EXPECT_EQ(r.kinds[0].out, 2304);
}

TEST(BudgetTest, TargetsExclusionsLayersAndRankPatternShapeTheRows)
{
    AdapterConfig c = adapter(AdapterMethod::Lora, 16, {"q_proj", "v_proj"});
    c.layersToTransform = {0, 1, 2};
    c.rankPattern = {{"v_proj", 4}};
    const BudgetReport r = budgetOf(kLlama3, c);
    EXPECT_EQ(r.trainableParams, 3 * (16 * (4096 + 4096) + 4 * (4096 + 1024)));
    ASSERT_EQ(r.kinds.size(), 2U);
    EXPECT_EQ(r.kinds[1].rMin, 4);
    EXPECT_EQ(r.layers[3].trainableParams, 0);

    c.targetModules.clear(); // all-linear, minus the MLP
    c.excludeModules = {"gate_proj", "up_proj", "down_proj"};
    c.layersToTransform.clear();
    c.rankPattern.clear();
    EXPECT_EQ(budgetOf(kLlama3, c).trainableParams,
              32 * 16 * (2 * (4096 + 4096) + 2 * (4096 + 1024)));
}

TEST(BudgetTest, MemoryEstimateAddsItsDocumentedParts)
{
    const MemoryOptions options{"", 2, 256};
    const MemoryEstimate m = budgetOf(kLlama3, adapter(AdapterMethod::Lora, 16), options).memory;
    EXPECT_EQ(m.weightDtype, "BF16");
    EXPECT_EQ(m.baseWeightBytes, 8'030'261'248 * 2);
    EXPECT_EQ(m.adapterWeightBytes, 41'943'040 * 4);
    EXPECT_EQ(m.gradientBytes, 41'943'040 * 4);
    EXPECT_EQ(m.optimizerBytes, 41'943'040 * 8);
    // 4h + 2q + 2kv + 4I + 2 n_heads T per layer and token at 2 bytes; fp32 logits twice.
    const std::int64_t perLayer = 4 * 4096 + 2 * 4096 + 2 * 1024 + 4 * 14'336 + 2 * 32 * 256;
    EXPECT_EQ(m.activationBytes, 2 * 256 * (32 * perLayer * 2 + 2 * 128'256 * 4));
    EXPECT_EQ(m.totalBytes, m.baseWeightBytes + m.adapterWeightBytes + m.gradientBytes +
                                m.optimizerBytes + m.activationBytes);

    const MemoryEstimate f32 =
        budgetOf(kLlama3, adapter(AdapterMethod::Full, 0), MemoryOptions{"F32", 1, 512}).memory;
    EXPECT_EQ(f32.baseWeightBytes, 8'030'261'248 * 4);
    EXPECT_EQ(f32.adapterWeightBytes, 0); // the fp32 weights are trained in place
    EXPECT_EQ(f32.optimizerBytes, 8'030'261'248 * 8);
    const MemoryEstimate bf16 = budgetOf(kLlama3, adapter(AdapterMethod::Full, 0)).memory;
    EXPECT_EQ(bf16.adapterWeightBytes, 8'030'261'248 * 4); // the fp32 master copy
}

TEST(BudgetTest, BadInputNamesTheFolderFileOrField)
{
    test::TempDir dir;
    const auto missing = computeBudget(dir.path(), adapter(AdapterMethod::Lora, 8));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("has no config.json"), std::string::npos);

    std::ofstream(dir / "config.json") << R"({"model_type": "llama", "vocab_size": 10})";
    const auto field = computeBudget(dir.path(), adapter(AdapterMethod::Lora, 8));
    ASSERT_FALSE(field);
    EXPECT_EQ(field.error().code, ErrorCode::ModelFormat);
    EXPECT_NE(field.error().message.find("config.json"), std::string::npos);
    EXPECT_NE(field.error().message.find("hidden_size"), std::string::npos)
        << field.error().message;

    const auto pissa = computeBudget(kLlama3, adapter(AdapterMethod::Pissa, 2048));
    ASSERT_FALSE(pissa);
    EXPECT_NE(pissa.error().message.find("k_proj"), std::string::npos) << pissa.error().message;
    const auto nothing = computeBudget(kLlama3, adapter(AdapterMethod::Lora, 8, {"c_attn"}));
    ASSERT_FALSE(nothing);
    EXPECT_EQ(nothing.error().code, ErrorCode::InvalidArgument);
    const auto dtype = computeBudget(kLlama3, adapter(AdapterMethod::Lora, 8), {"F8", 1, 1});
    EXPECT_FALSE(dtype);
}

TEST(BudgetTest, CloverCountsAFullCorePerHeadOrBlockOfItsDefaultModules)
{
    // Llama-3-8B by hand: K and V per KV head (8 x 128^2 each), up_proj in blocks of 64
    // (14336 / 64 blocks x 64^2), in each of 32 layers; "all-linear" chooses these for CLOVER.
    const BudgetReport clover =
        budgetOf(kLlama3, adapter(AdapterMethod::Clover, 0, {"all-linear"}));
    const std::int64_t perLayer = 2 * 8 * 128 * 128 + (14336 / 64) * 64 * 64;
    EXPECT_EQ(clover.trainableParams, kLlama3Layers * perLayer);
    // q_proj has a core per query head: 32 x 128^2.
    const BudgetReport query = budgetOf(kLlama3, adapter(AdapterMethod::Clover, 0, {"q_proj"}));
    EXPECT_EQ(query.trainableParams, kLlama3Layers * 32 * 128 * 128);
}

TEST(BudgetTest, AdaloraNeedsNoScheduleForABudget)
{
    AdapterConfig c = adapter(AdapterMethod::AdaLora, 0, {"c_attn"});
    c.totalStep = 0;
    const auto report = computeBudget(kGpt2, c);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->trainableParams, 12 * 12 * (768 + 2304 + 1));
    c.targetR = 20; // but the other AdaLoRA settings are still checked
    EXPECT_FALSE(computeBudget(kGpt2, c));
}

// ---- The solver -----------------------------------------------------------------------------

/// The solver on Llama-3-8B's seven projections for `target`.
std::vector<BudgetMatch> solve(BudgetTarget target)
{
    auto matches = solveBudget(kLlama3, adapter(AdapterMethod::Lora, 8), target);
    EXPECT_TRUE(matches) << matches.error().message;
    return matches ? std::move(matches).value() : std::vector<BudgetMatch>{};
}

std::vector<BudgetMatch> solveForParams(double params)
{
    return solve({BudgetTargetKind::Parameters, params});
}

BudgetMatch find(const std::vector<BudgetMatch>& matches, AdapterMethod method)
{
    const auto it = std::find_if(matches.begin(), matches.end(),
                                 [&](const BudgetMatch m) { return m.method == method; });
    return it == matches.end() ? BudgetMatch{} : *it;
}

TEST(BudgetSolverTest, TheLoraRank16CountGivesRank16WithNoError)
{
    const auto matches = solveForParams(41'943'040.0);
    ASSERT_EQ(matches.size(), 11U); // every method but HeteroLoRA, which allocates units
    const BudgetMatch lora = find(matches, AdapterMethod::Lora);
    EXPECT_EQ(lora.value, 16);
    EXPECT_EQ(lora.trainableParams, 41'943'040);
    EXPECT_DOUBLE_EQ(lora.relativeError, 0.0);
    EXPECT_FALSE(lora.isAtLimit);
    // PiSSA, OLoRA and LoRA-GA count like LoRA.
    EXPECT_EQ(find(matches, AdapterMethod::Pissa).value, 16);
    EXPECT_EQ(find(matches, AdapterMethod::LoraGa).value, 16);
    EXPECT_EQ(find(matches, AdapterMethod::Bone).knob, "block size");
    const BudgetMatch full = matches.back();
    EXPECT_EQ(full.method, AdapterMethod::Full);
    EXPECT_TRUE(full.isFixed);
    EXPECT_EQ(full.trainableParams, 8'030'261'248);
}

TEST(BudgetSolverTest, EveryMatchIsWhatComputeBudgetReportsForIt)
{
    const auto matches = solveForParams(30'000'000.0);
    for (const BudgetMatch& m : matches) {
        if (m.method == AdapterMethod::Clover) {
            // CLOVER trains per-head cores of q, k, v and up only; the seven named projections
            // include o_proj, which it cannot adapt, and the match says so.
            EXPECT_NE(m.unavailable.find("o_proj"), std::string::npos) << m.unavailable;
            continue;
        }
        ASSERT_TRUE(m.unavailable.empty()) << m.unavailable;
        if (m.isFixed) {
            continue;
        }
        AdapterConfig c = adapter(m.method, m.value);
        c.initR = m.value;
        if (m.method == AdapterMethod::AdaLora) {
            c.r = 0; // AdaLoRA's knob is init_r alone
        }
        c.targetR = 1;
        EXPECT_EQ(budgetOf(kLlama3, c).trainableParams, m.trainableParams)
            << adapterMethodName(m.method);
        EXPECT_NEAR(m.relativeError, (m.trainableParams - 30e6) / 30e6, 1e-12);
    }
}

TEST(BudgetSolverTest, BatOnlyGetsBlockSizesThatDivideEveryDimension)
{
    for (const double target : {1e6, 7.7e6, 41'943'040.0, 3e8, 5e9}) {
        const BudgetMatch bat = find(solveForParams(target), AdapterMethod::Bat);
        ASSERT_GT(bat.value, 0);
        for (const Shape& s : kLlama3Shapes) {
            EXPECT_EQ(s.in % bat.value, 0) << bat.value;
            EXPECT_EQ(s.out % bat.value, 0) << bat.value;
        }
    }
    // 1024 = gcd(4096, 1024, 14336) is the largest block; 5e9 is out of reach.
    const BudgetMatch big = find(solveForParams(5e9), AdapterMethod::Bat);
    EXPECT_EQ(big.value, 1024);
    EXPECT_TRUE(big.isAtLimit);
}

TEST(BudgetSolverTest, SvdInitsStayWithinMinInOut)
{
    const auto matches = solveForParams(5e9);
    EXPECT_EQ(find(matches, AdapterMethod::Pissa).value, 1024); // k_proj: min(4096, 1024)
    EXPECT_TRUE(find(matches, AdapterMethod::Pissa).isAtLimit);
    EXPECT_EQ(find(matches, AdapterMethod::Olora).value, 1024);
    EXPECT_EQ(find(matches, AdapterMethod::LoraGa).value, 512);
    // Plain LoRA has no such bound: 1907 * 2,621,440 is the nearest to 5e9.
    EXPECT_EQ(find(matches, AdapterMethod::Lora).value, 1907);
    EXPECT_FALSE(find(matches, AdapterMethod::Lora).isAtLimit);
    // Ranks stop at the largest min(in, out), 4096 (q_proj, o_proj).
    const BudgetMatch huge = find(solveForParams(1e11), AdapterMethod::Lora);
    EXPECT_EQ(huge.value, 4096);
    EXPECT_TRUE(huge.isAtLimit);
}

TEST(BudgetSolverTest, TiesGoToTheSmallerValueAndPercentagesUseTheBase)
{
    // Halfway between r=16 (41,943,040) and r=17 (44,564,480).
    const auto tie = solveForParams(43'253'760.0);
    EXPECT_EQ(find(tie, AdapterMethod::Lora).value, 16);

    const double percent = 100.0 * 41'943'040 / 8'030'261'248.0;
    const auto byPercent = solve({BudgetTargetKind::PercentOfBase, percent});
    EXPECT_EQ(find(byPercent, AdapterMethod::Lora).value, 16);

    EXPECT_FALSE(solveBudget(kLlama3, adapter(AdapterMethod::Lora, 8), {}));
    EXPECT_FALSE(solveBudget(kLlama3, adapter(AdapterMethod::Lora, 8, {"c_attn"}),
                             {BudgetTargetKind::Parameters, 1e6}));
}

TEST(BudgetSolverTest, VeraBelowItsFloorIsOutOfReach)
{
    // VeRA trains at least one scale per output feature: 43,008 per layer before any r.
    const BudgetMatch vera = find(solveForParams(1000.0), AdapterMethod::Vera);
    EXPECT_EQ(vera.value, 1);
    EXPECT_TRUE(vera.isAtLimit);
}

// ---- Tiny models: the rows are the modules the engine builds --------------------------------

class BudgetTinyModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BudgetTinyModelTest, RowsMatchProjectionSpecsAndTheWrittenWeights)
{
    test::TempDir dir;
    ASSERT_TRUE(makeTinyModel(dir.path(), GetParam(), 1));
    const BudgetReport r = budgetOf(dir.path(), adapter(AdapterMethod::Lora, 4, {}));

    const model::ModelConfig config = model::parseModelConfig(dir / "config.json");
    std::vector<model::ProjectionSpec> blocks = model::projectionSpecs(config);
    std::erase_if(blocks, [](const model::ProjectionSpec& p) { return p.layer < 0; });
    ASSERT_EQ(r.modules.size(), blocks.size());
    std::int64_t expected = 0;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(r.modules[i].name, blocks[i].name);
        EXPECT_EQ(r.modules[i].in, blocks[i].in);
        EXPECT_EQ(r.modules[i].out, blocks[i].out);
        EXPECT_EQ(r.modules[i].trainableParams, 4 * (blocks[i].in + blocks[i].out));
        expected += r.modules[i].trainableParams;
    }
    EXPECT_EQ(r.trainableParams, expected);

    // The weights as written: [out, in], or GPT-2's Conv1D [in, out].
    const auto summary = inspectModel(dir.path());
    ASSERT_TRUE(summary) << summary.error().message;
    EXPECT_EQ(r.baseParams, summary->parameterCount);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto tensor = std::find_if(
            summary->tensors.begin(), summary->tensors.end(),
            [&](const ModelTensor& t) { return t.name == blocks[i].name + ".weight"; });
        ASSERT_NE(tensor, summary->tensors.end()) << blocks[i].name;
        const std::vector<std::int64_t> shape =
            blocks[i].conv1d ? std::vector<std::int64_t>{blocks[i].in, blocks[i].out}
                             : std::vector<std::int64_t>{blocks[i].out, blocks[i].in};
        EXPECT_EQ(tensor->shape, shape) << blocks[i].name;
    }
}

INSTANTIATE_TEST_SUITE_P(AllArchs, BudgetTinyModelTest,
                         ::testing::ValuesIn(supportedArchitectures()),
                         [](const auto& p) { return p.param; });

} // namespace
} // namespace ftw
