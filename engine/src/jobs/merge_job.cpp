// SPDX-License-Identifier: MIT
// The merge/export job: base + adapter -> a merged Hugging Face folder (or the adapter alone),
// written under `<out>.partial`, verified by comparing logits, and renamed only when it passed.
#include "merge_job.h"

#include "adapters/peft_files.h"
#include "core/atomic_file.h"
#include "core/check.h"
#include "core/staged_folder.h"
#include "merge/merged_model.h"
#include "model/model_loader.h"
#include "storage/run_repository.h"

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <optional>
#include <system_error>

namespace ftw::jobs {
namespace {

namespace fs = std::filesystem;
using merge::ExportDType;

using core::partialFolder;

/// The folder to write (see core::outputFolder).
fs::path exportFolder(const fs::path& outDir)
{
    return core::outputFolder(outDir, "merge: outDir");
}

void validate(const MergeSpec& spec)
{
    FTW_CHECK(!spec.runName.empty(), ErrorCode::InvalidConfig, "merge: runName is empty");
    FTW_CHECK(!spec.modelDir.empty(), ErrorCode::InvalidConfig,
              "merge: modelDir is empty: give the base model folder");
    FTW_CHECK(!spec.adapterDir.empty(), ErrorCode::InvalidConfig,
              "merge: adapterDir is empty: give the adapter folder (PEFT layout)");
    FTW_CHECK(!spec.outDir.empty(), ErrorCode::InvalidConfig,
              "merge: outDir is empty: give the folder to write");
    FTW_CHECK(merge::parseExportDType(spec.dtype) != ExportDType::Unknown, ErrorCode::InvalidConfig,
              "merge: dtype must be f32, f16 or bf16, not '" + spec.dtype + "'");
    FTW_CHECK(!spec.isAdapterOnly || spec.dtype == "f32", ErrorCode::InvalidConfig,
              "merge: dtype " + spec.dtype +
                  " does not apply to an adapter-only export, which keeps the adapter's f32 "
                  "tensors");
    FTW_CHECK(spec.sourceRunId >= 0, ErrorCode::InvalidConfig,
              "merge: sourceRunId must be 0 (none) or a run id");
    core::checkOutputFolderFree(exportFolder(spec.outDir), "merge: outDir");
}

std::string configJson(const MergeSpec& spec)
{
    return nlohmann::json{{"kind", "merge"},
                          {"name", spec.runName},
                          {"model", spec.modelDir.string()},
                          {"adapter", spec.adapterDir.string()},
                          {"out", spec.outDir.string()},
                          {"dtype", spec.dtype},
                          {"adapter_only", spec.isAdapterOnly},
                          {"verify_prompts", spec.verifyPrompts},
                          {"source_run_id", spec.sourceRunId}}
        .dump(2);
}

/// What adapter_config.json says before the adapter is loaded ("" where it cannot be read:
/// loading the adapter then reports why).
struct AdapterHeader {
    std::string method;
    std::string baseModelName;
};

AdapterHeader readAdapterHeader(const fs::path& adapterDir)
{
    std::ifstream in(adapterDir / "adapter_config.json");
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
    AdapterHeader header;
    if (json.is_discarded() || !json.is_object()) {
        return header;
    }
    const auto name = json.find("base_model_name_or_path");
    if (name != json.end() && name->is_string()) {
        header.baseModelName = name->get<std::string>();
    }
    try {
        header.method = adapterMethodName(adapters::parseAdapterConfig(json, "").method);
    } catch (const Error&) {
        header.method.clear(); // loadAdapter() reports the problem with the file's name
    }
    return header;
}

/// Removes the partial folder and what saveAdapter() stages next to it. Best effort: it runs
/// while an error or a cancellation is already on its way.
void removePartial(const fs::path& outDir, JobContext& ctx)
{
    const fs::path partial = partialFolder(outDir);
    for (const fs::path& path : {partial, fs::path(partial.string() + ".partial"),
                                 fs::path(partial.string() + ".previous")}) {
        std::error_code ec;
        fs::remove_all(path, ec);
        if (ec) {
            ctx.log(LogLevel::Warning,
                    "merge: cannot remove '" + path.string() + "': " + ec.message());
        }
    }
}

/// "1.23e-05": three significant digits, for differences of any size.
std::string shortNumber(double value)
{
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.3g", value);
    return buffer.data();
}

std::string firstLine(const char* text)
{
    const std::string line(text);
    return line.substr(0, line.find('\n'));
}

void reportTensors(JobContext& ctx, std::int64_t done, std::int64_t total)
{
    JobProgress progress;
    progress.step = done;
    progress.totalSteps = total;
    ctx.reportProgress(progress);
}

/// Seconds spent in each phase of an export, reported with its output (ftw bench prints them).
struct PhaseSeconds {
    double load = 0.0;      ///< reading the base model and the adapter
    double reference = 0.0; ///< the logits of the base and of base + adapter, unmerged
    /// merging and writing the files, with the merged model's logits computed beside the write
    /// (or re-saving the adapter)
    double write = 0.0;
    /// checking what was written (an adapter alone: its logits on a fresh base), the comparison
    double verify = 0.0;
    /// of `write`: what merging and writing took, not counting a wait for the logits beside them
    double writeAlone = 0.0;

    [[nodiscard]] nlohmann::json json() const
    {
        return {{"load", load},
                {"reference", reference},
                {"write", write},
                {"verify", verify},
                {"write_alone", writeAlone}};
    }
};

/// Adds the seconds since `start` to `into` and restarts the clock.
void lap(std::chrono::steady_clock::time_point& start, double& into)
{
    const auto now = std::chrono::steady_clock::now();
    into += std::chrono::duration<double>(now - start).count();
    start = now;
}

/// The inputs of the verification and what the exported model must reproduce.
struct Reference {
    std::vector<merge::VerificationPrompt> prompts;
    std::vector<at::Tensor> base;    ///< the base model alone
    std::vector<at::Tensor> adapted; ///< base + adapter, unmerged
};

struct AdaptedModel {
    model::LoadedModel model;
    adapters::AdapterSet adapters; // declared last: uninstalled before the decoder goes
};

adapters::AdapterSet attachSavedAdapter(nn::DecoderImpl& decoder, const fs::path& dir)
{
    try {
        return adapters::loadAdapter(decoder, dir);
    } catch (const Error& e) {
        const std::string message = e.what();
        const bool isNamed = message.find(dir.string()) != std::string::npos;
        throw Error(e.code(),
                    "loading the adapter" + (isNamed ? "" : " '" + dir.string() + "'") + ": " +
                        message,
                    e.detail());
    }
}

/// Loads the base and the adapter, computing the reference logits on the way.
AdaptedModel loadAdapted(const MergeSpec& spec, Reference& reference, PhaseSeconds& seconds,
                         JobContext& ctx)
{
    auto start = std::chrono::steady_clock::now();
    ctx.log(LogLevel::Info, "merge: loading the base model '" + spec.modelDir.string() + "'");
    model::LoadedModel model = model::loadModel(spec.modelDir);
    ctx.throwIfCancelled();
    lap(start, seconds.load);
    reference.prompts =
        merge::makeVerificationPrompts(spec.modelDir, model.config, spec.verifyPrompts);
    reference.base = merge::computeLogits(*model.decoder, reference.prompts);
    lap(start, seconds.reference);
    ctx.log(LogLevel::Info, "merge: loading the adapter '" + spec.adapterDir.string() + "'");
    adapters::AdapterSet set = attachSavedAdapter(*model.decoder, spec.adapterDir);
    ctx.throwIfCancelled();
    lap(start, seconds.load);
    reference.adapted = merge::computeLogits(*model.decoder, reference.prompts);
    lap(start, seconds.reference);
    return AdaptedModel{std::move(model), std::move(set)};
}

/// Merges, then writes the merged weights while a second thread computes the merged model's
/// logits: the write is the disk's work and the logits the processor's, so they overlap. The write
/// stays on the job's thread, which reports its progress and stops it when cancelled.
/// Returns those logits. They stand for the folder's once merge::checkWrittenModel() has found
/// it to load back as exactly this model (its config, names, shapes and every stored byte):
/// reading the folder into a second model would cost another load of the whole model for the
/// same numbers.
std::vector<at::Tensor> writeMerged(AdaptedModel& adapted, const MergeSpec& spec, ExportDType dtype,
                                    const fs::path& partial, const Reference& reference,
                                    JobContext& ctx, PhaseSeconds& seconds)
{
    auto start = std::chrono::steady_clock::now();
    // HeteroLoRA's shortcuts act on the residual stream, not on any weight of the base model.
    FTW_CHECK(!adapted.adapters.shortcuts(), ErrorCode::InvalidArgument,
              "merge: '" + spec.adapterDir.string() +
                  "' has HeteroLoRA shortcuts (heterolora_shortcuts.safetensors), which no weight "
                  "of the model can hold; export the adapter alone instead (--adapter-only)");
    adapted.adapters.merge();
    {
        // Uninstalled when it goes: the merged weights alone, as the export holds them.
        const adapters::AdapterSet merged = std::move(adapted.adapters);
    }
    nn::DecoderImpl& decoder = *adapted.model.decoder;
    // Rounded before the second thread starts, so that both threads only read the weights.
    merge::roundToExportDType(decoder, dtype);
    decoder.eval();
    ctx.throwIfCancelled();
    std::error_code ec;
    fs::create_directories(partial, ec);
    FTW_CHECK(!ec, ErrorCode::Io, "cannot create '" + partial.string() + "': " + ec.message());
    ctx.log(LogLevel::Info, "merge: writing the merged model (" + spec.dtype + ")");
    std::future<std::vector<at::Tensor>> logits = std::async(
        std::launch::async, [&] { return merge::computeLogits(decoder, reference.prompts); });
    std::int64_t tensorCount = 0;
    try {
        merge::writeMergedWeights(decoder, partial, dtype,
                                  [&](std::int64_t done, std::int64_t total) {
                                      ctx.throwIfCancelled();
                                      reportTensors(ctx, done, total);
                                      tensorCount = total;
                                  });
        merge::writeModelFiles(spec.modelDir, partial, dtype);
        reportTensors(ctx, tensorCount, tensorCount);
    } catch (...) {
        logits.wait(); // it reads the weights this frame's caller owns
        throw;
    }
    lap(start, seconds.writeAlone);
    return logits.get(); // or its error, if it failed
}

void writeAdapterOnly(const AdaptedModel& adapted, const MergeSpec& spec,
                      const AdapterHeader& header, const fs::path& partial, JobContext& ctx)
{
    ctx.log(LogLevel::Info, "merge: writing the adapter alone");
    reportTensors(ctx, 0, 1);
    adapters::SaveOptions options;
    // A loaded adapter has no initial factors to convert with; its config keeps what it said.
    options.convertToLora = false;
    options.baseModelName =
        header.baseModelName.empty() ? spec.modelDir.string() : header.baseModelName;
    adapters::saveAdapter(adapted.adapters, partial, options);
    ctx.throwIfCancelled();
    reportTensors(ctx, 1, 1);
}

void logVerifying(const Reference& reference, JobContext& ctx)
{
    ctx.log(LogLevel::Info, "merge: verifying the export on " +
                                std::to_string(reference.prompts.size()) + " prompts");
}

/// The logits of a fresh base with the re-saved adapter.
std::vector<at::Tensor> adapterOnlyLogits(const MergeSpec& spec, const fs::path& partial,
                                          const Reference& reference)
{
    model::LoadedModel base = model::loadModel(spec.modelDir);
    const adapters::AdapterSet set = attachSavedAdapter(*base.decoder, partial);
    return merge::computeLogits(*base.decoder, reference.prompts);
}

/// What is known of the export however it ends; stored with its row.
struct ExportOutcome {
    nlohmann::json verification = nlohmann::json::object();
    std::optional<double> maxAbsDiff;
    PhaseSeconds seconds;
};

void exportAndVerify(const MergeSpec& spec, const fs::path& outDir, const AdapterHeader& header,
                     JobContext& ctx, ExportOutcome& outcome)
{
    const ExportDType dtype =
        spec.isAdapterOnly ? ExportDType::F32 : merge::parseExportDType(spec.dtype);
    const fs::path partial = partialFolder(outDir);
    removePartial(outDir, ctx); // left by a process that died while exporting
    Reference reference;
    std::vector<at::Tensor> actual; // the export's logits
    auto start = std::chrono::steady_clock::now();
    {
        AdaptedModel adapted = loadAdapted(spec, reference, outcome.seconds, ctx);
        start = std::chrono::steady_clock::now();
        if (spec.isAdapterOnly) {
            writeAdapterOnly(adapted, spec, header, partial, ctx);
            lap(start, outcome.seconds.write);
            outcome.seconds.writeAlone = outcome.seconds.write;
        } else {
            actual = writeMerged(adapted, spec, dtype, partial, reference, ctx, outcome.seconds);
            lap(start, outcome.seconds.write);
            logVerifying(reference, ctx);
            merge::checkWrittenModel(*adapted.model.decoder, partial, dtype);
            ctx.throwIfCancelled();
        }
    } // frees the model before an adapter-only export's base is loaded
    ctx.throwIfCancelled();
    if (spec.isAdapterOnly) {
        logVerifying(reference, ctx);
        actual = adapterOnlyLogits(spec, partial, reference);
    }
    merge::Verification verification =
        merge::compareLogits(reference.prompts, reference.adapted, actual, reference.base, dtype);
    verification.kind = spec.isAdapterOnly ? "adapter" : "merged";
    outcome.verification = merge::verificationJson(verification);
    if (std::isfinite(verification.maxAbsDiff)) {
        outcome.maxAbsDiff = verification.maxAbsDiff;
    }
    FTW_CHECK(verification.isPassed, ErrorCode::Internal,
              "merge: verification failed: max |logit difference| " +
                  shortNumber(verification.maxAbsDiff) + " exceeds the tolerance " +
                  shortNumber(verification.tolerance) + " (" + verification.dtype +
                  "); nothing was exported" +
                  (dtype == ExportDType::F16 ? " (f16 overflows above 65504: try bf16)" : ""));
    core::writeFileAtomically(partial / "verification.json", outcome.verification.dump(2) + "\n");
    ctx.throwIfCancelled();
    core::publishFolder(partial, outDir);
    lap(start, outcome.seconds.verify);
    ctx.log(LogLevel::Info, "merge: wrote '" + outDir.string() + "'; max |logit difference| " +
                                shortNumber(verification.maxAbsDiff) + " (tolerance " +
                                shortNumber(verification.tolerance) + ")");
}

void runMerge(const MergeSpec& spec, JobContext& ctx)
{
    validate(spec);
    const fs::path outDir = exportFolder(spec.outDir);
    const AdapterHeader header = readAdapterHeader(spec.adapterDir);
    ctx.createRun(storage::NewRun{
        .name = spec.runName,
        .kind = std::string(jobKindName(JobKind::Merge)),
        .method = header.method,
        .model = spec.modelDir.string(),
        .dataset = "",
        .configJson = configJson(spec),
        .seed = std::nullopt,
        .groupId = std::nullopt, // a sweep sets its members' group in their context
    });
    storage::RunRepository repo(ctx.database());
    FTW_CHECK(spec.sourceRunId == 0 || repo.findRun(spec.sourceRunId).has_value(),
              ErrorCode::InvalidConfig,
              "merge: sourceRunId " + std::to_string(spec.sourceRunId) +
                  " is not a run in the store");
    const std::string kind = spec.isAdapterOnly ? "adapter" : "merged";
    const std::string dtypeName = spec.isAdapterOnly ? "" : spec.dtype;
    const RunId listedWith = spec.sourceRunId > 0 ? spec.sourceRunId : ctx.runId();
    const std::int64_t exportId = repo.createExport(listedWith, kind, dtypeName, outDir);
    ExportOutcome outcome;
    try {
        exportAndVerify(spec, outDir, header, ctx, outcome);
    } catch (const Cancelled&) {
        removePartial(outDir, ctx);
        repo.finishExport(exportId, "cancelled", outcome.verification.dump(), outcome.maxAbsDiff,
                          "");
        throw;
    } catch (const Error& e) {
        removePartial(outDir, ctx);
        repo.finishExport(exportId, "failed", outcome.verification.dump(), outcome.maxAbsDiff,
                          e.what());
        throw;
    } catch (const std::exception& e) {
        removePartial(outDir, ctx);
        // LibTorch's messages carry a backtrace after their first line.
        repo.finishExport(exportId, "failed", outcome.verification.dump(), outcome.maxAbsDiff,
                          firstLine(e.what()));
        throw;
    }
    repo.finishExport(exportId, "succeeded", outcome.verification.dump(), outcome.maxAbsDiff, "");
    const nlohmann::json output = {{"path", outDir.string()},
                                   {"kind", kind},
                                   {"dtype", dtypeName},
                                   {"verification", outcome.verification},
                                   {"export_id", exportId},
                                   {"export_run_id", listedWith},
                                   {"seconds", outcome.seconds.json()}};
    ctx.setOutputJson(output.dump());
}

} // namespace

Job makeMergeJob(const MergeSpec& spec)
{
    return Job{JobKind::Merge, spec.runName, [spec](JobContext& ctx) { runMerge(spec, ctx); }};
}

} // namespace ftw::jobs
