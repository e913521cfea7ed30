// SPDX-License-Identifier: MIT
// The merge/export job end to end on tiny models written to a temp folder: merged folders load
// back with the adapted model's logits (checked here, independently of the job's own report), the
// export rows and reports in the store, the adapter-only export, and the refusals, failures and
// cancellation that must leave nothing that looks complete.
#include "adapters/adapter_set.h"
#include "adapters/peft_files.h"
#include "jobs/job_context.h"
#include "jobs/merge_job.h"
#include "merge/merged_model.h"
#include "model/checkpoint.h"
#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/tiny_model.h"

#include "support/temp_dir.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>

namespace ftw {
namespace {

namespace fs = std::filesystem;
using model::ArchId;

AdapterConfig adapterConfig(AdapterMethod method, std::int64_t r, std::vector<std::string> targets)
{
    AdapterConfig c;
    c.method = method;
    c.r = r;
    c.alpha = 2.0 * static_cast<double>(r);
    c.targetModules = std::move(targets);
    c.seed = 3;
    return c;
}

at::Tensor sampleTokens()
{
    return at::randint(0, 259, {2, 12}, at::detail::createCPUGenerator(11), at::kLong);
}

at::Tensor logitsOf(nn::DecoderImpl& decoder)
{
    const torch::NoGradGuard noGrad;
    decoder.eval();
    return decoder.forward(sampleTokens());
}

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>();
}

std::string readText(const fs::path& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class MergeJobTest : public ::testing::Test {
protected:
    void SetUp() override { torch::manual_seed(0); }

    fs::path writeModel(ArchId arch)
    {
        (void)model::writeTinyModel(m_dir / "model", arch, 7);
        return m_dir / "model";
    }

    /// Saves an adapter whose every trainable tensor was moved away from its init (seeded), as
    /// training would.
    fs::path writeAdapter(const fs::path& modelDir, const AdapterConfig& config,
                          const std::string& name = "adapter")
    {
        model::LoadedModel base = model::loadModel(modelDir);
        const adapters::AdapterSet set = adapters::AdapterSet::attach(*base.decoder, config);
        {
            const torch::NoGradGuard noGrad;
            at::Generator generator = at::detail::createCPUGenerator(5);
            for (const auto& [tensorName, tensor] : set.trainableParameters()) {
                tensor.add_(at::empty_like(tensor).normal_(0.0, 0.05, generator));
            }
        }
        adapters::saveAdapter(set, m_dir / name);
        return m_dir / name;
    }

    /// The logits of base + adapter (unmerged) on sampleTokens(), computed here.
    static at::Tensor adaptedLogits(const fs::path& modelDir, const fs::path& adapterDir)
    {
        model::LoadedModel base = model::loadModel(modelDir);
        const adapters::AdapterSet set = adapters::loadAdapter(*base.decoder, adapterDir);
        return logitsOf(*base.decoder);
    }

    static at::Tensor baseLogits(const fs::path& modelDir)
    {
        model::LoadedModel base = model::loadModel(modelDir);
        return logitsOf(*base.decoder);
    }

    MergeSpec spec(const fs::path& modelDir, const fs::path& adapterDir,
                   const std::string& dtype = "f32") const
    {
        MergeSpec s;
        s.modelDir = modelDir;
        s.adapterDir = adapterDir;
        s.outDir = m_dir / "out";
        s.dtype = dtype;
        return s;
    }

    JobResult run(const MergeSpec& s)
    {
        auto engine = Engine::create(EngineOptions{db(), 0});
        if (!engine) {
            ADD_FAILURE() << engine.error().message;
            return {};
        }
        const JobHandle handle = (*engine)->submit(s);
        return (*engine)->wait(handle.id);
    }

    std::vector<ExportInfo> exports(RunId runId) const
    {
        auto store = RunStore::open(db(), StoreMode::ReadOnly);
        if (!store) {
            ADD_FAILURE() << store.error().message;
            return {};
        }
        auto rows = store->exports(runId);
        if (!rows) {
            ADD_FAILURE() << rows.error().message;
            return {};
        }
        return *rows;
    }

    fs::path db() const { return m_dir / "ftw.db"; }
    fs::path out() const { return m_dir / "out"; }
    fs::path partial() const { return m_dir / "out.partial"; }

    test::TempDir m_dir;
};

class MergeJobArchTest : public MergeJobTest, public ::testing::WithParamInterface<ArchId> {};

TEST_P(MergeJobArchTest, PromptsOfDifferentLengthsGetTheLogitsOfTheirOwnForwardPass)
{
    const fs::path dir = m_dir.path() / "logits";
    nn::Decoder decoder = model::writeTinyModel(dir, GetParam(), 4);
    const std::vector<merge::VerificationPrompt> prompts = {
        {"a", {3, 9, 27, 81, 1}}, {"b", {7}}, {"c", {100, 200, 50}}};
    const std::vector<at::Tensor> batched = merge::computeLogits(*decoder, prompts);
    ASSERT_EQ(batched.size(), prompts.size());
    const at::NoGradGuard noGrad;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const at::Tensor alone =
            decoder->forward(at::tensor(prompts[i].ids, at::kLong).unsqueeze(0)).squeeze(0);
        ASSERT_EQ(batched[i].sizes(), alone.sizes());
        EXPECT_LT((batched[i] - alone).abs().max().item<double>(), 1e-5) << prompts[i].text;
    }
}

TEST_P(MergeJobArchTest, MergedF32LoraLoadsBackWithTheAdaptedLogitsAndIsRecorded)
{
    const fs::path modelDir = writeModel(GetParam());
    const bool isGpt2 = GetParam() == ArchId::Gpt2;
    const fs::path adapterDir = writeAdapter(
        modelDir, adapterConfig(AdapterMethod::Lora, 4,
                                isGpt2 ? std::vector<std::string>{"c_attn", "c_fc"}
                                       : std::vector<std::string>{"q_proj", "v_proj", "up_proj"}));

    const JobResult result = run(spec(modelDir, adapterDir));
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    const at::Tensor expected = adaptedLogits(modelDir, adapterDir);
    ASSERT_GT(maxDiff(expected, baseLogits(modelDir)), 1e-2) << "the adapter must matter";
    model::LoadedModel merged = model::loadModel(out());
    EXPECT_LT(maxDiff(logitsOf(*merged.decoder), expected), 1e-4);
    EXPECT_FALSE(fs::exists(partial()));
    for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json",
                             "model.safetensors", "verification.json"}) {
        EXPECT_TRUE(fs::exists(out() / name)) << name;
    }
    EXPECT_EQ(nlohmann::json::parse(readText(out() / "config.json"))["torch_dtype"], "float32");

    const std::vector<ExportInfo> rows = exports(result.runId);
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].status, "succeeded");
    EXPECT_EQ(rows[0].kind, "merged");
    EXPECT_EQ(rows[0].dtype, "f32");
    EXPECT_EQ(rows[0].path, out());
    ASSERT_TRUE(rows[0].maxAbsLogitDiff.has_value());
    EXPECT_LT(*rows[0].maxAbsLogitDiff, 1e-4);
    const nlohmann::json report = nlohmann::json::parse(rows[0].verificationJson);
    EXPECT_EQ(report["max_abs_diff"], *rows[0].maxAbsLogitDiff);
    EXPECT_EQ(report["passed"], true);
    EXPECT_EQ(report["prompts"].size(), merge::defaultVerificationTexts().size());
    EXPECT_GT(report["adapter_effect_max_abs"].get<double>(), 1e-2);
    EXPECT_EQ(nlohmann::json::parse(readText(out() / "verification.json")), report);

    const nlohmann::json output = nlohmann::json::parse(result.outputJson);
    EXPECT_EQ(output["path"], out().string());
    EXPECT_EQ(output["kind"], "merged");
    EXPECT_EQ(output["export_id"], rows[0].id);
    EXPECT_EQ(output["verification"], report);
}

INSTANTIATE_TEST_SUITE_P(MergeJobTinyArchs, MergeJobArchTest,
                         ::testing::Values(ArchId::Llama, ArchId::Gpt2, ArchId::Qwen2),
                         [](const ::testing::TestParamInfo<ArchId>& param) {
                             return std::string(model::archName(param.param));
                         });

TEST_F(MergeJobTest, HalfPrecisionExportsStoreTheirDtypeAndDifferWithinTheTolerance)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Lora, 4, {"q_proj", "o_proj"}));
    const at::Tensor expected = adaptedLogits(modelDir, adapterDir);
    for (const auto& [dtype, fileDtype, torchDtype] :
         {std::tuple{"bf16", model::DType::BF16, "bfloat16"},
          std::tuple{"f16", model::DType::F16, "float16"}}) {
        MergeSpec s = spec(modelDir, adapterDir, dtype);
        s.outDir = m_dir / dtype;
        const JobResult result = run(s);
        ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

        const auto file = model::SafetensorsFile::open(s.outDir / "model.safetensors");
        ASSERT_FALSE(file.tensors().empty());
        for (const model::TensorInfo& t : file.tensors()) {
            EXPECT_EQ(t.dtype, fileDtype) << t.name;
        }
        EXPECT_EQ(nlohmann::json::parse(readText(s.outDir / "config.json"))["torch_dtype"],
                  torchDtype);

        const nlohmann::json report = nlohmann::json::parse(result.outputJson)["verification"];
        EXPECT_EQ(report["dtype"], dtype);
        const double reported = report["max_abs_diff"];
        EXPECT_GT(reported, 0.0) << dtype;
        EXPECT_LE(reported, report["tolerance"].get<double>());
        EXPECT_DOUBLE_EQ(report["relative_tolerance"].get<double>(),
                         merge::relativeTolerance(merge::parseExportDType(dtype)));

        model::LoadedModel merged = model::loadModel(s.outDir);
        const double diff = maxDiff(logitsOf(*merged.decoder), expected);
        EXPECT_GT(diff, 0.0) << dtype;
        EXPECT_LT(diff, report["tolerance"].get<double>()) << dtype;
    }
}

TEST_F(MergeJobTest, DoraVeraAndBoneAdaptersAreMergedToo)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    for (const AdapterMethod method :
         {AdapterMethod::Dora, AdapterMethod::Vera, AdapterMethod::Bone}) {
        const std::string name(adapterMethodName(method));
        const fs::path adapterDir = writeAdapter(
            modelDir,
            adapterConfig(method, method == AdapterMethod::Bone ? 16 : 4, {"q_proj", "down_proj"}),
            name);
        MergeSpec s = spec(modelDir, adapterDir);
        s.outDir = m_dir / ("out-" + name);
        const JobResult result = run(s);
        ASSERT_EQ(result.status, JobStatus::Succeeded) << name << ": " << result.error.message;

        const at::Tensor expected = adaptedLogits(modelDir, adapterDir);
        ASSERT_GT(maxDiff(expected, baseLogits(modelDir)), 1e-3) << name;
        model::LoadedModel merged = model::loadModel(s.outDir);
        EXPECT_LT(maxDiff(logitsOf(*merged.decoder), expected), 1e-4) << name;

        EXPECT_EQ(RunStore::open(db(), StoreMode::ReadOnly)->run(result.runId)->summary.method,
                  name);
    }
}

TEST_F(MergeJobTest, AdapterOnlyExportReloadsWithTheSameLogits)
{
    const fs::path modelDir = writeModel(ArchId::Qwen2);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Dora, 4, {"k_proj", "gate_proj"}));
    MergeSpec s = spec(modelDir, adapterDir);
    s.isAdapterOnly = true;
    s.verifyPrompts = {"a short prompt", "another one"};
    const JobResult result = run(s);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    EXPECT_TRUE(fs::exists(out() / "adapter_config.json"));
    EXPECT_TRUE(fs::exists(out() / "adapter_model.safetensors"));
    EXPECT_FALSE(fs::exists(out() / "model.safetensors"));
    EXPECT_FALSE(fs::exists(partial()));
    EXPECT_FALSE(fs::exists(m_dir / "out.partial.partial"));
    const at::Tensor expected = adaptedLogits(modelDir, adapterDir);
    EXPECT_LT(maxDiff(adaptedLogits(modelDir, out()), expected), 1e-6);

    const std::vector<ExportInfo> rows = exports(result.runId);
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].kind, "adapter");
    EXPECT_EQ(rows[0].dtype, "");
    EXPECT_EQ(rows[0].status, "succeeded");
    const nlohmann::json report = nlohmann::json::parse(rows[0].verificationJson);
    EXPECT_EQ(report["kind"], "adapter");
    ASSERT_EQ(report["prompts"].size(), 2U);
    EXPECT_EQ(report["prompts"][1]["text"], "another one");
}

TEST_F(MergeJobTest, AnEmptyOutDirIsUsedAndASourceRunGetsTheExport)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Lora, 2, {"v_proj"}));
    DemoJobSpec demo;
    demo.steps = 2;
    demo.stepDelayMs = 0;
    const RunId sourceRun = [&] {
        auto engine = Engine::create(EngineOptions{db(), 0});
        return (*engine)->wait((*engine)->submit(demo).id).runId;
    }();
    ASSERT_GT(sourceRun, 0);
    fs::create_directories(out());
    MergeSpec s = spec(modelDir, adapterDir);
    s.sourceRunId = sourceRun;
    const JobResult result = run(s);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;

    EXPECT_TRUE(fs::exists(out() / "model.safetensors"));
    ASSERT_EQ(exports(sourceRun).size(), 1U);
    EXPECT_EQ(exports(sourceRun)[0].status, "succeeded");
    EXPECT_TRUE(exports(result.runId).empty());
}

TEST_F(MergeJobTest, ANonEmptyOutDirIsRefusedAndLeftUntouched)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Lora, 2, {"q_proj"}));
    fs::create_directories(out());
    std::ofstream(out() / "keep.txt") << "precious";

    const JobResult result = run(spec(modelDir, adapterDir));
    ASSERT_EQ(result.status, JobStatus::Failed);
    EXPECT_EQ(result.error.code, ErrorCode::InvalidConfig);
    EXPECT_NE(result.error.message.find("outDir"), std::string::npos) << result.error.message;
    EXPECT_NE(result.error.message.find("not empty"), std::string::npos) << result.error.message;
    EXPECT_EQ(readText(out() / "keep.txt"), "precious");
    EXPECT_EQ(std::distance(fs::directory_iterator(out()), fs::directory_iterator()), 1);
    EXPECT_FALSE(fs::exists(partial()));
}

TEST_F(MergeJobTest, BadSettingsFailNamingTheField)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    MergeSpec s = spec(modelDir, m_dir / "adapter", "f64");
    JobResult result = run(s);
    EXPECT_EQ(result.error.code, ErrorCode::InvalidConfig);
    EXPECT_NE(result.error.message.find("dtype"), std::string::npos) << result.error.message;
    s = spec(modelDir, m_dir / "adapter", "bf16");
    s.isAdapterOnly = true;
    EXPECT_NE(run(s).error.message.find("adapter-only"), std::string::npos);
    s = spec(modelDir, "");
    EXPECT_NE(run(s).error.message.find("adapterDir"), std::string::npos);
    s = spec(modelDir, m_dir / "adapter");
    s.outDir.clear();
    EXPECT_NE(run(s).error.message.find("outDir"), std::string::npos);
    EXPECT_FALSE(fs::exists(out()));
}

TEST_F(MergeJobTest, ABadAdapterDirFailsNamingItAndLeavesNothing)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path missing = m_dir / "no-such-adapter";
    const JobResult result = run(spec(modelDir, missing));
    ASSERT_EQ(result.status, JobStatus::Failed);
    EXPECT_NE(result.error.message.find(missing.string()), std::string::npos)
        << result.error.message;
    EXPECT_FALSE(fs::exists(out()));
    EXPECT_FALSE(fs::exists(partial()));

    const std::vector<ExportInfo> rows = exports(result.runId);
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].status, "failed");
    EXPECT_NE(rows[0].errorMessage.find(missing.string()), std::string::npos);
    EXPECT_EQ(RunStore::open(db(), StoreMode::ReadOnly)->run(result.runId)->summary.status,
              RunStatus::Failed);
}

TEST_F(MergeJobTest, CancellingWhileWritingLeavesNoFolderAndRecordsCancelled)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Lora, 2, {"q_proj"}));
    // Cancel deterministically as the write starts: the write, on the job's own thread, meets
    // the stop at its first tensor while a second thread computes the merged logits.
    std::stop_source stop;
    bool isWriteLogged = false;
    const jobs::EventSink sink = [&](const JobEvent& event) {
        const auto* log = std::get_if<JobLog>(&event);
        if (log != nullptr && log->message.starts_with("merge: writing the merged model")) {
            isWriteLogged = true;
            stop.request_stop();
        }
    };
    jobs::JobContext ctx(1, stop.get_token(), sink, db());
    const jobs::Job job = jobs::makeMergeJob(spec(modelDir, adapterDir));
    EXPECT_THROW(job.run(ctx), Cancelled);

    EXPECT_TRUE(isWriteLogged);
    EXPECT_FALSE(fs::exists(out()));
    EXPECT_FALSE(fs::exists(partial()));
    const std::vector<ExportInfo> rows = exports(ctx.runId());
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].status, "cancelled");
    EXPECT_TRUE(rows[0].finishedAtMs.has_value());
}

TEST_F(MergeJobTest, TheWriteReportsItsProgressFromTheJobsThread)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Lora, 2, {"q_proj"}));
    std::vector<JobProgress> reports;
    bool isEveryReportOnTheJobsThread = true;
    const std::thread::id jobThread = std::this_thread::get_id(); // job.run() runs here
    const jobs::EventSink sink = [&](const JobEvent& event) {
        if (const auto* progress = std::get_if<JobProgress>(&event)) {
            reports.push_back(*progress);
            isEveryReportOnTheJobsThread =
                isEveryReportOnTheJobsThread && std::this_thread::get_id() == jobThread;
        }
    };
    std::stop_source stop;
    jobs::JobContext ctx(1, stop.get_token(), sink, db());
    jobs::makeMergeJob(spec(modelDir, adapterDir)).run(ctx);

    const auto file = model::SafetensorsFile::open(out() / "model.safetensors");
    const auto tensorCount = static_cast<std::int64_t>(file.tensors().size());
    EXPECT_TRUE(isEveryReportOnTheJobsThread);
    // Reports (at most one per progress interval) count the tensors written: from 0 of N,
    // rising, to N of N.
    ASSERT_GE(reports.size(), 2U);
    EXPECT_EQ(reports.front().step, 0);
    EXPECT_EQ(reports.back().step, tensorCount);
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EXPECT_EQ(reports[i].totalSteps, tensorCount);
        if (i > 0) {
            EXPECT_GT(reports[i].step, reports[i - 1].step);
        }
    }
}

TEST_F(MergeJobTest, AStalePartialFolderIsReplaced)
{
    const fs::path modelDir = writeModel(ArchId::Llama);
    const fs::path adapterDir =
        writeAdapter(modelDir, adapterConfig(AdapterMethod::Lora, 2, {"q_proj"}));
    fs::create_directories(partial());
    std::ofstream(partial() / "model.safetensors") << "half a file";
    const JobResult result = run(spec(modelDir, adapterDir));
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    EXPECT_FALSE(fs::exists(partial()));
    (void)model::loadModel(out());
}

TEST(MergedModelTest, CompareLogitsFailsBeyondTheToleranceAndOnNaN)
{
    const std::vector<merge::VerificationPrompt> prompts = {{"a", {1, 2}}, {"b", {3}}};
    const std::vector<at::Tensor> reference = {at::full({2, 4}, 4.0), at::full({1, 4}, -8.0)};
    std::vector<at::Tensor> actual = {reference[0].clone(), reference[1].clone()};
    actual[1][0][2].fill_(-8.0 + 0.25); // 0.25 / 8 relative: over f32's and f16's, within bf16's
    const merge::Verification f32 =
        merge::compareLogits(prompts, reference, actual, {}, merge::ExportDType::F32);
    EXPECT_DOUBLE_EQ(f32.logitScale, 8.0);
    EXPECT_DOUBLE_EQ(f32.maxAbsDiff, 0.25);
    EXPECT_DOUBLE_EQ(f32.meanAbsDiff, 0.25 / 12.0);
    EXPECT_EQ(f32.prompts[0].maxAbsDiff, 0.0);
    EXPECT_DOUBLE_EQ(f32.prompts[1].meanAbsDiff, 0.25 / 4.0);
    EXPECT_DOUBLE_EQ(f32.tolerance, 8e-3);
    EXPECT_FALSE(f32.isPassed);
    EXPECT_FALSE(
        merge::compareLogits(prompts, reference, actual, {}, merge::ExportDType::F16).isPassed);
    EXPECT_TRUE(
        merge::compareLogits(prompts, reference, actual, {}, merge::ExportDType::BF16).isPassed);

    actual[0][1][1].fill_(std::numeric_limits<float>::quiet_NaN());
    const merge::Verification nan =
        merge::compareLogits(prompts, reference, actual, {}, merge::ExportDType::BF16);
    EXPECT_FALSE(nan.isPassed);
    EXPECT_TRUE(merge::verificationJson(nan)["max_abs_diff"].is_null());
}

TEST(MergedModelTest, FoldersWithoutATokenizerAreVerifiedWithFixedIds)
{
    const model::ModelConfig config = model::tinyConfig(ArchId::Llama);
    test::TempDir dir;
    const auto prompts = merge::makeVerificationPrompts(dir.path(), config, {});
    ASSERT_EQ(prompts.size(), 3U);
    for (const auto& p : prompts) {
        EXPECT_FALSE(p.ids.empty());
        for (const std::int64_t id : p.ids) {
            EXPECT_LT(id, config.vocabSize);
        }
    }
    EXPECT_NE(prompts[0].ids, prompts[1].ids);
    EXPECT_THROW((void)merge::makeVerificationPrompts(dir.path(), config, {"text"}), Error);
}

/// Expects checkWrittenModel() to refuse `folder` with a message that contains `part`.
void expectVerificationFails(const nn::DecoderImpl& decoder, const fs::path& folder,
                             merge::ExportDType dtype, const std::string& part)
{
    try {
        merge::checkWrittenModel(decoder, folder, dtype);
        FAIL() << "accepted: " << part;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("merge: verification failed"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(MergedModelTest, TheWrittenFolderMustLoadBackAsExactlyTheMergedModel)
{
    // merge/export computes the export's logits on the merged model in memory once this check
    // has found the written folder to hold exactly that model, byte for byte.
    test::TempDir dir;
    (void)model::writeTinyModel(dir / "base", ArchId::Qwen2, 7);
    model::LoadedModel merged = model::loadModel(dir / "base");
    {
        const torch::NoGradGuard noGrad;
        merged.decoder->parameters()[3].add_(0.5); // as a merge changes weights
    }
    const auto write = [&](const fs::path& out, merge::ExportDType dtype) {
        fs::create_directories(out);
        merge::writeMergedWeights(*merged.decoder, out, dtype, {});
        merge::writeModelFiles(dir / "base", out, dtype);
    };
    write(dir / "f32", merge::ExportDType::F32);
    EXPECT_NO_THROW(
        merge::checkWrittenModel(*merged.decoder, dir / "f32", merge::ExportDType::F32));

    // One changed byte in the data of the last tensor of the file.
    {
        std::fstream file(dir / "f32" / "model.safetensors",
                          std::ios::in | std::ios::out | std::ios::binary);
        file.seekg(-3, std::ios::end);
        const char byte = static_cast<char>(file.get());
        file.seekp(-3, std::ios::end);
        file.put(static_cast<char>(byte ^ 0x10));
    }
    const model::Checkpoint changed = model::Checkpoint::open(dir / "f32");
    std::string lastTensor;
    std::uint64_t lastEnd = 0;
    for (const std::string& name : changed.tensorNames()) {
        if (changed.find(name)->end >= lastEnd) {
            lastEnd = changed.find(name)->end;
            lastTensor = name;
        }
    }
    expectVerificationFails(*merged.decoder, dir / "f32", merge::ExportDType::F32,
                            "tensor '" + lastTensor + "'");

    // A config.json that describes another model.
    write(dir / "config", merge::ExportDType::F32);
    nlohmann::json config = nlohmann::json::parse(readText(dir / "config" / "config.json"));
    config["rms_norm_eps"] = 0.5;
    std::ofstream(dir / "config" / "config.json") << config.dump();
    expectVerificationFails(*merged.decoder, dir / "config", merge::ExportDType::F32,
                            "config.json' does not describe the merged model");

    // A bf16 export is checked as bf16: not against the f32 weights, and after the rounding that
    // loading it brings, its bytes are the merged model's.
    write(dir / "bf16", merge::ExportDType::BF16);
    expectVerificationFails(*merged.decoder, dir / "bf16", merge::ExportDType::F32, "config.json");
    merge::roundToExportDType(*merged.decoder, merge::ExportDType::BF16);
    EXPECT_NO_THROW(
        merge::checkWrittenModel(*merged.decoder, dir / "bf16", merge::ExportDType::BF16));
    model::LoadedModel reloaded = model::loadModel(dir / "bf16");
    EXPECT_TRUE(at::equal(logitsOf(*reloaded.decoder), logitsOf(*merged.decoder)));
}

} // namespace
} // namespace ftw
