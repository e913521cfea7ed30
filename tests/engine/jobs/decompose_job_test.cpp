// SPDX-License-Identifier: MIT
// The decompose job end to end on tiny models written to a temp folder: the lossless CLOVER form
// written as a Hugging Face folder loads back with the original logits (checked here on other
// tokens than the job's); ratio pruning removes exactly the parameters counted by hand from
// config.json, as the written weights show, and moves the logits less than vanilla pruning; the
// eval loss agrees with the eval job's; bad options fail with a clear message on a failed run.
#include "model/model_loader.h"
#include "support/job_helpers.h"
#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include <ftw/engine.h>
#include <ftw/models.h>
#include <ftw/run_store.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <cmath>
#include <fstream>
#include <string>

namespace ftw {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

at::Tensor sampleTokens()
{
    return at::randint(0, 259, {2, 20}, at::detail::createCPUGenerator(5), at::kLong);
}

at::Tensor logitsOf(const fs::path& modelDir)
{
    model::LoadedModel loaded = model::loadModel(modelDir);
    const torch::NoGradGuard noGrad;
    loaded.decoder->eval();
    return loaded.decoder->forward(sampleTokens());
}

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>();
}

json readJson(const fs::path& file)
{
    std::ifstream in(file);
    return json::parse(in);
}

class DecomposeJobTest : public ::testing::Test {
protected:
    fs::path makeModel(const std::string& arch)
    {
        const fs::path dir = m_dir / arch;
        const Status made = makeTinyModel(dir, arch, 7);
        EXPECT_TRUE(made.isOk()) << made.error().message;
        return dir;
    }

    DecomposeSpec spec(const fs::path& modelDir) const
    {
        DecomposeSpec s;
        s.modelDir = modelDir;
        s.seed = 3;
        return s;
    }

    template <typename Spec>
    JobResult run(const Spec& s)
    {
        return test::runJob(db(), s);
    }

    RunSummary summary(RunId id) const { return test::storedRun(db(), id).summary; }

    fs::path db() const { return m_dir / "ftw.db"; }

    test::TempDir m_dir;
};

class DecomposeJobArchTest : public DecomposeJobTest,
                             public ::testing::WithParamInterface<std::string> {};

TEST_P(DecomposeJobArchTest, LosslessFormReproducesTheLogitsAndTheWrittenFolderLoads)
{
    const fs::path modelDir = makeModel(GetParam());
    DecomposeSpec s = spec(modelDir);
    s.outputDir = m_dir / "folded";
    const JobResult result = run(s);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    const json output = json::parse(result.outputJson);
    EXPECT_EQ(output["mode"], "lossless");
    EXPECT_LT(output["reparameterisation"]["max_abs_dlogits"].get<double>(), 1e-4);
    EXPECT_EQ(output["qk_path"], GetParam() == "gpt2" ? "absorbed" : "key_qr");
    EXPECT_EQ(output["vo_path"], GetParam() == "gpt2" ? "absorbed" : "value_qr"); // GQA llama
    ASSERT_EQ(output["layers"].size(), 2U);
    EXPECT_EQ(output["params"]["removed"], 0);

    // Independently of the job: the written folder, on other tokens, computes the original.
    const fs::path folded = m_dir / "folded";
    EXPECT_FALSE(fs::exists(m_dir / "folded.partial"));
    for (const char* name : {"config.json", "tokenizer.json", "model.safetensors"}) {
        EXPECT_TRUE(fs::exists(folded / name)) << name;
    }
    EXPECT_LT(maxDiff(logitsOf(folded), logitsOf(modelDir)), 1e-4);
    // And its weights really are the CLOVER form, not a copy.
    const std::string v = GetParam() == "gpt2" ? "transformer.h.0.attn.c_attn.weight"
                                               : "model.layers.0.self_attn.v_proj.weight";
    const model::LoadedModel before = model::loadModel(modelDir);
    const model::LoadedModel after = model::loadModel(folded);
    EXPECT_GT(maxDiff(before.decoder->named_parameters()[v], after.decoder->named_parameters()[v]),
              1e-2);

    const RunSummary run = summary(result.runId);
    EXPECT_EQ(run.kind, "decompose");
    EXPECT_EQ(run.method, "clover");
    EXPECT_EQ(run.status, RunStatus::Succeeded);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, DecomposeJobArchTest, ::testing::Values("llama", "gpt2"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return param.param;
                         });

/// Zero head dimensions of a GPT-2 folder counted from its weights: every q, k or v column whose
/// weights and bias entry are all zero costs hidden + 1, every zero row of c_proj hidden.
std::int64_t zeroHeadParameters(const fs::path& modelDir)
{
    const model::LoadedModel loaded = model::loadModel(modelDir);
    auto params = loaded.decoder->named_parameters();
    const std::int64_t hidden = loaded.config.hiddenSize;
    std::int64_t zero = 0;
    for (std::int64_t layer = 0; layer < loaded.config.numLayers; ++layer) {
        const std::string prefix = "transformer.h." + std::to_string(layer) + ".attn.";
        const at::Tensor w = params[prefix + "c_attn.weight"]; // Conv1D: [in, 3 out]
        const at::Tensor b = params[prefix + "c_attn.bias"];
        zero += ((w.abs().sum(0) + b.abs()) == 0).sum().item<std::int64_t>() * (hidden + 1);
        zero += (params[prefix + "c_proj.weight"].abs().sum(1) == 0).sum().item<std::int64_t>() *
                hidden;
    }
    return zero;
}

TEST_F(DecomposeJobTest, RatioPruningRemovesTheHandCountedParametersAndBeatsVanilla)
{
    const fs::path modelDir = makeModel("gpt2");
    test::writeArithmeticDataset(m_dir / "data.jsonl");
    DecomposeSpec s = spec(modelDir);
    s.outputDir = m_dir / "pruned";
    s.pruneRatio = 0.25;
    s.evalData.path = m_dir / "data.jsonl";
    s.evalData.maxLength = 32;
    const JobResult result = run(s);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    const json output = json::parse(result.outputJson);

    // By hand from config.json: in every head of every layer round(0.25 d) Q-K directions (a
    // column of W_Q and of W_K with their bias entries: 2 (D + 1)) and as many V-O directions (a
    // column of W_V with its bias entry and a row of W_O: D + 1 + D).
    const json config = readJson(modelDir / "config.json");
    const std::int64_t hidden = config["n_embd"];
    const std::int64_t heads = config["n_head"];
    const std::int64_t layers = config["n_layer"];
    const std::int64_t removedPerHead = std::llround(0.25 * static_cast<double>(hidden / heads));
    const std::int64_t expected =
        layers * heads * removedPerHead * (2 * (hidden + 1) + (hidden + 1 + hidden));
    ASSERT_GT(expected, 0);
    EXPECT_EQ(output["params"]["removed"], expected);
    EXPECT_EQ(output["params"]["model_after"],
              output["params"]["model_before"].get<std::int64_t>() - expected);
    // The written weights have exactly that many parameters in zero head dimensions.
    EXPECT_EQ(zeroHeadParameters(m_dir / "pruned"), expected);
    EXPECT_EQ(zeroHeadParameters(modelDir), 0);

    ASSERT_EQ(output["methods"].size(), 3U);
    const json& original = output["methods"][0];
    const json& clover = output["methods"][1];
    const json& vanilla = output["methods"][2];
    EXPECT_EQ(clover["method"], "clover");
    EXPECT_EQ(vanilla["method"], "vanilla");
    for (const json* m : {&clover, &vanilla}) {
        EXPECT_EQ((*m)["params_removed"], expected);
        EXPECT_EQ((*m)["directions_removed"], 2 * layers * heads * removedPerHead);
    }
    EXPECT_LT(clover["max_abs_dlogits"].get<double>(), vanilla["max_abs_dlogits"].get<double>());
    EXPECT_LT(clover["mean_abs_dlogits"].get<double>(), vanilla["mean_abs_dlogits"].get<double>());
    EXPECT_LT(output["reparameterisation"]["max_abs_dlogits"].get<double>(), 1e-4);
    // The pruned folder really computes something else than the original.
    EXPECT_GT(maxDiff(logitsOf(m_dir / "pruned"), logitsOf(modelDir)), 1e-3);

    // Eval losses: the original's is the eval job's on the same data.
    for (const json* m : {&original, &clover, &vanilla}) {
        ASSERT_TRUE((*m)["eval_loss"].is_number()) << (*m)["method"];
    }
    EvalSpec eval;
    eval.modelDir = modelDir;
    eval.data = s.evalData;
    eval.split = "all";
    eval.device = "cpu";
    const JobResult evaluated = run(eval);
    ASSERT_EQ(evaluated.status, JobStatus::Succeeded) << evaluated.error.message;
    EXPECT_NEAR(original["eval_loss"].get<double>(),
                json::parse(evaluated.outputJson)["loss"].get<double>(), 1e-6);
    EXPECT_GT(output["eval"]["tokens"].get<std::int64_t>(), 0);
}

TEST_F(DecomposeJobTest, BadOptionsFailWithAClearMessageOnAFailedRun)
{
    const fs::path gpt2 = makeModel("gpt2");
    const fs::path llama = makeModel("llama");
    fs::create_directories(m_dir / "full");
    std::ofstream(m_dir / "full" / "keep.txt") << "x";
    struct Case {
        DecomposeSpec spec;
        std::string message;
        ErrorCode code = ErrorCode::InvalidConfig;
    };
    std::vector<Case> cases;
    cases.push_back({spec(gpt2), "not both"});
    cases.back().spec.pruneRatio = 0.25;
    cases.back().spec.pruneThreshold = 0.1;
    cases.push_back({spec(gpt2), "must be in (0, 1)"});
    cases.back().spec.pruneRatio = 1.5;
    cases.push_back({spec(llama), "needs an absorbed pair"}); // RoPE and grouped-query attention
    cases.back().spec.pruneRatio = 0.25;
    cases.push_back({spec(gpt2), "is not empty"});
    cases.back().spec.outputDir = m_dir / "full";
    cases.push_back({spec(gpt2), "is not a file", ErrorCode::NotFound});
    cases.back().spec.evalData.path = m_dir / "missing.jsonl";
    for (const Case& c : cases) {
        const JobResult result = run(c.spec);
        EXPECT_EQ(result.status, JobStatus::Failed) << c.message;
        EXPECT_EQ(result.error.code, c.code) << c.message;
        EXPECT_NE(result.error.message.find(c.message), std::string::npos) << result.error.message;
        ASSERT_NE(result.runId, 0) << c.message;
        const RunSummary run = summary(result.runId);
        EXPECT_EQ(run.status, RunStatus::Failed) << c.message;
        EXPECT_EQ(run.kind, "decompose");
    }
    EXPECT_TRUE(fs::exists(m_dir / "full" / "keep.txt"));
}

} // namespace
} // namespace ftw
