// SPDX-License-Identifier: MIT
// The bench job: the train step of a model shape, method and batch on a synthetic batch, then
// merge/export against the time to read and write the model's files (product.md, "Targets that
// benchmarks measure").
#include "bench_job.h"

#include "merge_job.h"

#include "core/autocast.h"
#include "core/check.h"
#include "core/cpu_allocator.h"
#include "core/device.h"
#include "model/model_config.h"
#include "model/projections.h"
#include "model/tiny_model.h"
#include "train/trainer.h"

#include <ftw/defaults.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <unistd.h>

namespace ftw {

std::vector<std::string> benchShapeNames()
{
    return {"bundled", "tiny", "qwen2.5-0.5b"};
}

double stepFlops(const StepFlopsInput& in)
{
    const auto tokens = static_cast<double>(in.batchSize * in.seqLength);
    // Per token: 2 FLOPs per weight of every product, and per layer the scores (q k^T) and the
    // mixing (p v), each 2 * seq * heads * head_dim.
    const double attention =
        4.0 * static_cast<double>(in.numLayers * in.seqLength * in.numHeads * in.headDim);
    const double forward = tokens * (2.0 * static_cast<double>(in.matmulParams) + attention);
    const double weightGradients = tokens * 2.0 * static_cast<double>(in.trainableMatmulParams);
    return forward * (in.isCheckpointing ? 3.0 : 2.0) + weightGradients;
}

} // namespace ftw

namespace ftw::jobs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A folder of its own under the system's temporary folder, removed with everything in it.
class ScratchFolder {
public:
    ScratchFolder()
    {
        std::string pattern = (fs::temp_directory_path() / "ftw-bench-XXXXXX").string();
        FTW_CHECK(::mkdtemp(pattern.data()) != nullptr, ErrorCode::Io,
                  "bench: cannot create a scratch folder in '" +
                      fs::temp_directory_path().string() + "'");
        m_path = pattern;
    }
    ~ScratchFolder()
    {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;

    [[nodiscard]] const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
};

/// Qwen2.5-0.5B's config.json sizes (its random weights are the bench's own).
model::ModelConfig qwen25HalfBillion()
{
    model::ModelConfig c;
    c.arch = model::ArchId::Qwen2;
    c.vocabSize = 151936;
    c.hiddenSize = 896;
    c.intermediateSize = 4864;
    c.numLayers = 24;
    c.numHeads = 14;
    c.numKvHeads = 2;
    c.headDim = 64;
    c.maxPositions = 32768;
    c.normEps = 1e-6;
    c.ropeTheta = 1'000'000.0;
    c.tieWordEmbeddings = true;
    c.hasQkvBias = true;
    c.hiddenAct = "silu";
    c.bosTokenId = 151643;
    c.eosTokenIds = {151643};
    return c;
}

/// The model folder to bench: a given one, the bundled model, or a random model of a standard
/// shape written into `scratch` (or spec.saveModelDir).
fs::path prepareModel(const BenchSpec& spec, const fs::path& scratch, JobContext& ctx)
{
    if (spec.shape.empty()) {
        FTW_CHECK(
            !spec.train.modelDir.empty(),
            ErrorCode::InvalidConfig, "bench: give a model folder or a shape (" + [] {
                std::string names;
                for (const std::string& name : benchShapeNames()) {
                    names += (names.empty() ? "" : ", ") + name;
                }
                return names;
            }() + ")");
        return spec.train.modelDir;
    }
    if (spec.shape == "bundled") {
        const Expected<BundledDefaults> defaults = findBundledDefaults();
        if (!defaults) {
            throw Error(defaults.error().code, "bench: " + defaults.error().message);
        }
        return defaults->modelDir;
    }
    model::ModelConfig config;
    if (spec.shape == "tiny") {
        config = model::tinyConfig(model::ArchId::Qwen2);
        config.maxPositions = 4096;
    } else if (spec.shape == "qwen2.5-0.5b") {
        config = qwen25HalfBillion();
    } else {
        std::string names;
        for (const std::string& name : benchShapeNames()) {
            names += (names.empty() ? "" : ", ") + name;
        }
        throw Error(ErrorCode::InvalidConfig,
                    "bench: unknown shape '" + spec.shape + "'; expected one of " + names);
    }
    const fs::path dir = spec.saveModelDir.empty() ? scratch / "model" : spec.saveModelDir;
    ctx.log(LogLevel::Info, "bench: writing a random " + spec.shape + " model to " + dir.string());
    (void)model::writeRandomModel(dir, config, spec.train.train.seed, model::pretrainingInit());
    return dir;
}

/// `batch` sequences of `length` uniform random ids, every token trained; torch.randint(0, vocab,
/// (batch, length), generator=torch.Generator().manual_seed(seed)) draws the same ids.
train::EncodedDataset syntheticBatch(std::int64_t batch, std::int64_t length, std::int64_t vocab,
                                     std::uint64_t seed)
{
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const at::Tensor ids = at::randint(0, vocab, {batch, length}, generator, at::kLong);
    train::EncodedDataset dataset;
    const auto* data = ids.data_ptr<std::int64_t>();
    for (std::int64_t row = 0; row < batch; ++row) {
        data::TokenizedExample example;
        example.ids.assign(data + row * length, data + (row + 1) * length);
        example.isTrained.assign(static_cast<std::size_t>(length), 1);
        dataset.examples.push_back(std::move(example));
    }
    dataset.padId = 0;
    dataset.stats.records = dataset.stats.examples = static_cast<std::size_t>(batch);
    dataset.stats.tokens = dataset.stats.trainedTokens = static_cast<std::size_t>(batch * length);
    return dataset;
}

/// Weights of the matrix products of one token's forward pass through the base model.
std::int64_t baseMatmulParams(const model::ModelConfig& config)
{
    std::int64_t total = 0;
    for (const model::ProjectionSpec& p : model::projectionSpecs(config)) {
        if (p.layer >= 0) { // lm_head, when untied, is counted below with the tied case
            total += p.in * p.out;
        }
    }
    return total + config.vocabSize * config.hiddenSize;
}

/// The best throughput of square matrix products on `device` in `dtype` (FLOP/s): the peak a
/// step's FLOPs are measured against. About half a second of work.
double measureMatmulPeak(const c10::Device& device, c10::ScalarType dtype)
{
    const std::int64_t n = device.is_cuda() ? 8192 : 1024;
    const auto options = at::TensorOptions().dtype(dtype).device(device);
    const at::Tensor a = at::randn({n, n}, options);
    const at::Tensor b = at::randn({n, n}, options);
    at::Tensor c = at::mm(a, b); // warm-up
    core::synchronize(device);
    double best = 0.0;
    const auto start = Clock::now();
    while (secondsSince(start) < 0.5) {
        const auto begin = Clock::now();
        const int repeats = device.is_cuda() ? 10 : 1;
        for (int i = 0; i < repeats; ++i) {
            at::mm_out(c, a, b);
        }
        core::synchronize(device);
        const double seconds = secondsSince(begin);
        best = std::max(best, 2.0 * static_cast<double>(n * n * n) * repeats / seconds);
    }
    return best;
}

std::string precisionName(c10::ScalarType dtype)
{
    switch (dtype) {
    case c10::ScalarType::BFloat16:
        return "bf16";
    case c10::ScalarType::Half:
        return "fp16";
    default:
        return "fp32";
    }
}

nlohmann::json summary(const std::vector<double>& timed)
{
    std::vector<double> values = timed;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    const double median = n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    return {{"median", median},
            {"mean", std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n)},
            {"min", values.front()},
            {"max", values.back()},
            {"all", timed}};
}

struct TrainFigures {
    nlohmann::json json;
    nlohmann::json config; ///< the run config that was timed
    fs::path adapterDir;
};

TrainFigures benchTrain(const BenchSpec& spec, const fs::path& modelDir,
                        const model::ModelConfig& config, JobContext& scratch)
{
    TrainSpec run = spec.train;
    run.runName = spec.runName;
    run.modelDir = modelDir;
    run.data.path = "synthetic";
    run.data.validationRatio = 0.0;
    run.data.maxLength = spec.seqLength;
    run.train.maxSteps = spec.untimedSteps + spec.steps;
    run.train.gradAccumulation = 1;
    run.train.evalEverySteps = 0;
    run.train.saveEverySteps = 0;
    run.train.logEverySteps = 1;
    const train::EncodedDataset dataset =
        syntheticBatch(run.train.batchSize, spec.seqLength, config.vocabSize, run.train.seed);

    std::vector<double> stepSeconds;
    double firstLoss = 0.0;
    double lastLoss = 0.0;
    train::TrainerOptions options;
    options.dataset = &dataset;
    options.onStep = [&](std::int64_t step, double seconds, double loss) {
        if (step == 1) {
            firstLoss = loss;
        }
        lastLoss = loss;
        if (step > spec.untimedSteps) {
            stepSeconds.push_back(seconds);
        }
    };
    const core::CpuCacheStats cacheBefore = core::cpuCacheStats();
    train::Trainer trainer(run, scratch, options);
    trainer.run();
    const core::CpuCacheStats cacheAfter = core::cpuCacheStats();
    const nlohmann::json output = nlohmann::json::parse(scratch.outputJson());
    const c10::Device device = core::resolveDevice(run.train.device);
    const c10::ScalarType computeDtype = core::resolvePrecision(run.train.precision, device);
    const std::int64_t peakMemory = core::peakMemoryBytes(device);

    const std::int64_t trainable = output.at("trainable_params").get<std::int64_t>();
    StepFlopsInput flops;
    flops.batchSize = run.train.batchSize;
    flops.seqLength = spec.seqLength;
    flops.hiddenSize = config.hiddenSize;
    flops.numLayers = config.numLayers;
    flops.numHeads = config.numHeads;
    flops.headDim = config.headDim;
    flops.vocabSize = config.vocabSize;
    const bool isFull = run.adapter.method == AdapterMethod::Full;
    flops.matmulParams = baseMatmulParams(config) + (isFull ? 0 : trainable);
    flops.trainableMatmulParams = isFull ? baseMatmulParams(config) : trainable;
    flops.isCheckpointing = run.train.isGradientCheckpointing;
    const double stepFlopCount = stepFlops(flops);

    const nlohmann::json seconds = summary(stepSeconds);
    const double median = seconds.at("median").get<double>();
    const std::int64_t tokensPerStep = run.train.batchSize * spec.seqLength;
    const double flopsPerSecond = stepFlopCount / median;
    const double peak = measureMatmulPeak(
        device, computeDtype == c10::ScalarType::Float ? at::kFloat : computeDtype);
    TrainFigures figures;
    figures.adapterDir = output.at("adapter_dir").get<std::string>();
    figures.config = nlohmann::json::parse(runConfigJson(run));
    figures.json = {
        {"method", std::string(adapterMethodName(run.adapter.method))},
        {"trainable_parameters", trainable},
        {"batch_size", run.train.batchSize},
        {"seq_len", spec.seqLength},
        {"tokens_per_step", tokensPerStep},
        {"untimed_steps", spec.untimedSteps},
        {"steps", spec.steps},
        {"gradient_checkpointing", run.train.isGradientCheckpointing},
        {"step_seconds", seconds},
        {"tokens_per_second", static_cast<double>(tokensPerStep) / median},
        {"first_loss", firstLoss},
        {"last_loss", lastLoss},
        {"peak_memory_bytes", peakMemory},
        {"peak_memory_kind", device.is_cuda() ? "cuda allocated" : "process resident"},
        {"cpu_cache",
         {{"installed", cacheAfter.isInstalled},
          {"hits", cacheAfter.hits - cacheBefore.hits},
          {"misses", cacheAfter.misses - cacheBefore.misses},
          {"cached_bytes", cacheAfter.cachedBytes}}},
        {"flops_per_step", stepFlopCount},
        {"flops_per_second", flopsPerSecond},
        {"matmul_peak_flops_per_second", peak},
        {"flops_utilisation", peak > 0.0 ? flopsPerSecond / peak : 0.0},
    };
    return figures;
}

/// Reads every file of `modelDir` and writes the same bytes into `copyDir`: what merge/export
/// is measured against. Returns {read seconds, write seconds, bytes}.
struct ReadWrite {
    double readSeconds = 0.0;
    double writeSeconds = 0.0;
    std::int64_t bytes = 0;
};

ReadWrite timeReadWrite(const fs::path& modelDir, const fs::path& copyDir)
{
    fs::create_directories(copyDir);
    ReadWrite result;
    std::vector<char> buffer(std::size_t{16} << 20U);
    for (const fs::directory_entry& entry : fs::directory_iterator(modelDir)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        std::vector<std::vector<char>> chunks;
        auto start = Clock::now();
        std::ifstream in(entry.path(), std::ios::binary);
        FTW_CHECK(in.good(), ErrorCode::Io, "bench: cannot read '" + entry.path().string() + "'");
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            const auto got = static_cast<std::size_t>(in.gcount());
            if (got == 0) {
                break;
            }
            chunks.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
            result.bytes += static_cast<std::int64_t>(got);
        }
        result.readSeconds += secondsSince(start);
        start = Clock::now();
        std::ofstream out(copyDir / entry.path().filename(), std::ios::binary | std::ios::trunc);
        for (const std::vector<char>& chunk : chunks) {
            out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        }
        out.close();
        FTW_CHECK(out.good(), ErrorCode::Io,
                  "bench: cannot write '" + (copyDir / entry.path().filename()).string() + "'");
        result.writeSeconds += secondsSince(start);
    }
    return result;
}

nlohmann::json benchMerge(const BenchSpec& spec, const fs::path& modelDir,
                          const fs::path& adapterDir, const fs::path& scratchDir,
                          JobContext& scratch)
{
    // A file copy of a few MiB is over in milliseconds, so one write-back stall would move it
    // several-fold: the median of three copies is the baseline.
    std::vector<ReadWrite> copies;
    for (int i = 0; i < 3; ++i) {
        copies.push_back(timeReadWrite(modelDir, scratchDir / "copy"));
        std::error_code ec;
        fs::remove_all(scratchDir / "copy", ec);
    }
    std::sort(copies.begin(), copies.end(), [](const ReadWrite& a, const ReadWrite& b) {
        return a.readSeconds + a.writeSeconds < b.readSeconds + b.writeSeconds;
    });
    const ReadWrite baseline = copies[1];

    MergeSpec merge;
    merge.runName = spec.runName + "-merge";
    merge.modelDir = modelDir;
    merge.adapterDir = adapterDir;
    merge.outDir = scratchDir / "merged";
    merge.dtype = spec.mergeDtype;
    Job job = makeMergeJob(merge);
    const auto start = Clock::now();
    job.run(scratch);
    const double mergeSeconds = secondsSince(start);
    const double readWrite = baseline.readSeconds + baseline.writeSeconds;
    const nlohmann::json phases = nlohmann::json::parse(scratch.outputJson()).at("seconds");
    // What is left when the verification's forward passes and read-back are taken out (the merged
    // logits are computed beside the write: "write_alone" is the write without them).
    const double unverified =
        phases.at("load").get<double>() + phases.at("write_alone").get<double>();
    return {{"dtype", spec.mergeDtype},
            {"model_bytes", baseline.bytes},
            {"merge_seconds", mergeSeconds},
            {"phase_seconds", phases},
            {"ratio_without_verification", readWrite > 0.0 ? unverified / readWrite : 0.0},
            {"read_seconds", baseline.readSeconds},
            {"write_seconds", baseline.writeSeconds},
            {"read_write_seconds", readWrite},
            {"ratio", readWrite > 0.0 ? mergeSeconds / readWrite : 0.0}};
}

void validate(const BenchSpec& spec)
{
    FTW_CHECK(spec.seqLength >= 2, ErrorCode::InvalidConfig,
              "bench: seqLength must be at least 2, not " + std::to_string(spec.seqLength));
    FTW_CHECK(spec.steps >= 1, ErrorCode::InvalidConfig,
              "bench: steps must be at least 1, not " + std::to_string(spec.steps));
    FTW_CHECK(spec.untimedSteps >= 0, ErrorCode::InvalidConfig,
              "bench: untimedSteps must be 0 or more, not " + std::to_string(spec.untimedSteps));
    FTW_CHECK(spec.mergeDtype == "f32" || spec.mergeDtype == "f16" || spec.mergeDtype == "bf16",
              ErrorCode::InvalidConfig,
              "bench: mergeDtype must be f32, f16 or bf16, not '" + spec.mergeDtype + "'");
    FTW_CHECK(!spec.isMergeMeasured || spec.train.adapter.method != AdapterMethod::Full,
              ErrorCode::InvalidConfig,
              "bench: full fine-tuning has no adapter to merge; leave the merge out");
}

void runBench(const BenchSpec& spec, JobContext& ctx)
{
    validate(spec);
    const ScratchFolder scratch;
    const fs::path modelDir = prepareModel(spec, scratch.path(), ctx);
    const model::ModelConfig config = model::readModelFolderConfig(modelDir);
    std::unique_ptr<JobContext> inner = ctx.scratchContext(scratch.path() / "bench.db");
    ctx.log(LogLevel::Info, "bench: " + std::to_string(spec.untimedSteps) + " + " +
                                std::to_string(spec.steps) + " train steps on " +
                                modelDir.string());
    const TrainFigures train = benchTrain(spec, modelDir, config, *inner);
    const c10::Device device = core::resolveDevice(spec.train.train.device);
    const char* waitPolicy = std::getenv("OMP_WAIT_POLICY"); // ftw sets it passive (ftw::Engine)
    nlohmann::json output = {
        {"model",
         {{"dir", modelDir.string()},
          {"shape", spec.shape},
          {"arch", std::string(model::archName(config.arch))},
          {"parameters", model::modelParameterCount(config)}}},
        {"device", device.str()},
        {"threads", at::get_num_threads()},
        {"omp_wait_policy", waitPolicy == nullptr ? "" : waitPolicy},
        {"precision", precisionName(core::resolvePrecision(spec.train.train.precision, device))},
        {"torch", TORCH_VERSION},
        {"config", train.config},
        {"train", train.json},
    };
    if (spec.isMergeMeasured) {
        ctx.throwIfCancelled();
        std::unique_ptr<JobContext> mergeContext = ctx.scratchContext(scratch.path() / "bench.db");
        output["merge"] =
            benchMerge(spec, modelDir, train.adapterDir, scratch.path(), *mergeContext);
    }
    ctx.setOutputJson(output.dump());
}

} // namespace

Job makeBenchJob(const BenchSpec& spec)
{
    return Job{JobKind::Bench, spec.runName, [spec](JobContext& ctx) { runBench(spec, ctx); }};
}

} // namespace ftw::jobs
