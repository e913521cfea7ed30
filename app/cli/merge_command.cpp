// SPDX-License-Identifier: MIT
// `ftw merge`: a merged model (or the adapter alone) exported as a verified folder.
#include "cli.h"
#include "commands.h"
#include "job_run.h"

#include <ftw/format.h>

#include <ftw/run_store.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

namespace ftw::cli {
namespace {

/// "1.23e-05": three significant digits.
std::string shortNumber(const nlohmann::json& value)
{
    if (!value.is_number()) {
        return "n/a";
    }
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.3g", value.get<double>());
    return buffer.data();
}

void printExport(const CliContext& ctx, const JobResult& result)
{
    const nlohmann::json output = jobResultJson(result)["output"];
    const nlohmann::json verification = output.value("verification", nlohmann::json::object());
    const std::string path = output.value("path", "");
    if (output.value("kind", "") == "adapter") {
        ctx.out << "wrote the adapter to " << path << '\n';
    } else {
        ctx.out << "wrote the merged model (" << output.value("dtype", "") << ") to " << path
                << '\n';
    }
    const std::size_t prompts =
        verification.contains("prompts") ? verification["prompts"].size() : 0;
    ctx.out << "verified: max |logit difference| "
            << shortNumber(verification.value("max_abs_diff", nlohmann::json())) << " over "
            << prompts << (prompts == 1 ? " prompt" : " prompts") << " (tolerance "
            << shortNumber(verification.value("tolerance", nlohmann::json()))
            << "): " << (verification.value("passed", false) ? "passed" : "failed") << '\n';
    // An adapter that moves the logits no more than the tolerance makes the check unable to tell
    // an export that lost it from a good one.
    const nlohmann::json effect = verification.value("adapter_effect_max_abs", nlohmann::json());
    const nlohmann::json tolerance = verification.value("tolerance", nlohmann::json());
    if (effect.is_number() && tolerance.is_number() &&
        effect.get<double>() <= tolerance.get<double>()) {
        ctx.out << "note: the adapter moves the base model's logits by at most "
                << shortNumber(effect) << ", within the tolerance: this check cannot tell the "
                << "export from the base model (train longer or with a higher learning rate)\n";
    }
    // The export is listed with the training run whose adapter it is, else with this merge run.
    const std::int64_t listedWith = output.value("export_run_id", result.runId);
    ctx.out << "recorded as export " << output.value("export_id", 0) << " of run " << listedWith
            << " in " << formatDuration(static_cast<std::int64_t>(result.elapsedMs))
            << "; see it with `ftw runs show " << listedWith << "`\n";
}

} // namespace

void addMergeCommand(CLI::App& app, MergeSpec& spec, bool& isJson,
                     std::function<int(const CliContext&)>& action)
{
    CLI::App* command = app.add_subcommand(
        "merge", "merge an adapter into its base model (or re-export the adapter), verified");
    command->add_option("--model", spec.modelDir,
                        "base model folder (Hugging Face layout); default: the one the adapter "
                        "names (adapter_config.json: base_model_name_or_path)");
    command->add_option("--adapter", spec.adapterDir, "adapter folder (PEFT layout)")->required();
    command
        ->add_option("--out", spec.outDir,
                     "folder to write; it must not exist or be empty (never overwritten)")
        ->required();
    command->add_option("--dtype", spec.dtype, "f32, f16 or bf16 for the merged weights")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "f16", "bf16"}));
    command->add_flag("--adapter-only", spec.isAdapterOnly,
                      "write the adapter alone (PEFT layout) instead of a merged model");
    command
        ->add_option("--prompt", spec.verifyPrompts,
                     "a verification prompt; repeat for more (default: a few built-in ones)")
        ->allow_extra_args(false);
    command->add_option("--name", spec.runName, "run name")->capture_default_str();
    // The path outlives the parse through the callbacks that hold it (the app owns them).
    auto databasePath = std::make_shared<std::string>();
    command->add_option("--db", *databasePath,
                        "SQLite run store (default: $FTW_DB, else $XDG_DATA_HOME/ftw/ftw.db)");
    command->add_flag("--json", isJson, "print JSON instead of text");
    command->callback([&spec, &action, databasePath] {
        action = [&spec, databasePath](const CliContext& c) {
            const CliContext withDatabase{c.out, c.err, *databasePath, c.isJson};
            return cli::merge(withDatabase, spec);
        };
    });
}

/// The run whose adapter folder `adapterDir` is (`<store folder>/runs/<id>/adapter`), 0 when none:
/// the export is then recorded with that training run. Not a run of this store that failed or was
/// interrupted: it never wrote an adapter, so the folder is another store's (one beside this store
/// that numbered a run the same).
RunId adapterSourceRun(const CliContext& ctx, const std::filesystem::path& adapterDir)
{
    std::error_code ec;
    const std::filesystem::path adapter = std::filesystem::weakly_canonical(adapterDir, ec);
    const std::string id = adapter.parent_path().filename().string();
    if (ec || adapter.filename() != "adapter" || id.empty() ||
        id.find_first_not_of("0123456789") != std::string::npos || id.size() > 15) {
        return 0;
    }
    const RunId runId = std::stoll(id);
    const std::filesystem::path databasePath = resolveDatabasePath(ctx.databasePath);
    const std::filesystem::path expected =
        std::filesystem::weakly_canonical(runDirectory(databasePath, runId) / "adapter", ec);
    if (ec || expected != adapter) {
        return 0;
    }
    const auto store = RunStore::open(databasePath, StoreMode::ReadOnly);
    const auto run = store ? store->run(runId) : Expected<RunDetail>(store.error());
    const bool isThisStores = run && run->summary.kind == "train" &&
                              run->summary.status != RunStatus::Failed &&
                              run->summary.status != RunStatus::Interrupted;
    return isThisStores ? runId : 0;
}

int merge(const CliContext& ctx, const MergeSpec& given)
{
    MergeSpec spec = given;
    if (const Status base = useAdapterBaseModel(spec.modelDir, spec.adapterDir); !base) {
        return fail(ctx, base.error().message);
    }
    if (spec.sourceRunId == 0) {
        spec.sourceRunId = adapterSourceRun(ctx, spec.adapterDir);
    }
    return runJobAndReport(ctx, spec, [&ctx](const JobResult& result) {
        if (result.status == JobStatus::Succeeded) {
            printExport(ctx, result);
        }
    });
}

} // namespace ftw::cli
