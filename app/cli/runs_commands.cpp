// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"
#include "format.h"

#include <ftw/run_store.h>

#include <chrono>
#include <iomanip>

namespace ftw::cli {
namespace {

std::int64_t nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Expected<RunStore> openStore(const CliContext& ctx)
{
    return RunStore::open(resolveDatabasePath(ctx.databasePath), StoreMode::ReadWrite);
}

std::string clip(const std::string& text, std::size_t width)
{
    return text.size() <= width ? text : text.substr(0, width - 1) + "~";
}

} // namespace

int runsList(const CliContext& ctx)
{
    auto store = openStore(ctx);
    if (!store) {
        return fail(ctx, store.error().message);
    }
    auto runs = store->listRuns();
    if (!runs) {
        return fail(ctx, runs.error().message);
    }
    const std::int64_t now = nowMs();
    if (ctx.isJson) {
        nlohmann::json array = nlohmann::json::array();
        for (const RunSummary& run : *runs) {
            array.push_back(runSummaryJson(run, now));
        }
        ctx.out << array.dump(2) << '\n';
        return kExitOk;
    }
    if (runs->empty()) {
        ctx.out << "No runs yet in " << store->path().string()
                << ".\nStart one with `ftw demo` (a small demonstration job).\n";
        return kExitOk;
    }
    std::ostream& out = ctx.out;
    out << std::left << std::setw(6) << "ID" << std::setw(22) << "NAME" << std::setw(12) << "STATUS"
        << std::setw(10) << "METHOD" << std::setw(10) << "PARAMS" << std::setw(10) << "LOSS"
        << std::setw(14) << "DURATION"
        << "CREATED\n";
    for (const RunSummary& run : *runs) {
        out << std::left << std::setw(6) << run.id << std::setw(22) << clip(run.name, 21)
            << std::setw(12) << runStatusName(run.status) << std::setw(10) << clip(run.method, 9)
            << std::setw(10) << formatCount(run.trainableParams) << std::setw(10)
            << formatLoss(run.lastLoss) << std::setw(14) << formatDuration(run.durationMs(now))
            << formatTimestamp(run.createdAtMs) << '\n';
    }
    return kExitOk;
}

int runsShow(const CliContext& ctx, RunId id)
{
    auto store = openStore(ctx);
    if (!store) {
        return fail(ctx, store.error().message);
    }
    auto run = store->run(id);
    if (!run) {
        return fail(ctx, run.error().message);
    }
    const std::int64_t now = nowMs();
    if (ctx.isJson) {
        ctx.out << runDetailJson(*run, now).dump(2) << '\n';
        return kExitOk;
    }
    const RunSummary& s = run->summary;
    std::ostream& out = ctx.out;
    out << "Run " << s.id << ": " << s.name << '\n'
        << "  status:           " << runStatusName(s.status) << '\n'
        << "  kind:             " << s.kind << '\n'
        << "  method:           " << (s.method.empty() ? "-" : s.method) << '\n'
        << "  model:            " << (s.model.empty() ? "-" : s.model) << '\n'
        << "  dataset:          " << (s.dataset.empty() ? "-" : s.dataset) << '\n'
        << "  trainable params: " << formatCount(s.trainableParams) << '\n'
        << "  last train loss:  " << formatLoss(s.lastLoss) << '\n'
        << "  best eval loss:   " << formatLoss(s.bestEvalLoss) << '\n'
        << "  created:          " << formatTimestamp(s.createdAtMs) << '\n'
        << "  duration:         " << formatDuration(s.durationMs(now)) << '\n'
        << "  seed:             " << (run->seed ? std::to_string(*run->seed) : "-") << '\n'
        << "  folder:           " << run->runDir.string() << '\n'
        << "  metrics:          " << run->metricCount << " values";
    for (std::size_t i = 0; i < run->metricNames.size(); ++i) {
        out << (i == 0 ? " (" : ", ") << run->metricNames[i];
    }
    out << (run->metricNames.empty() ? "\n" : ")\n");
    if (s.error.isError()) {
        out << "  error:            " << s.error.message << '\n';
    }
    if (auto checkpoints = store->checkpoints(id); checkpoints && !checkpoints->empty()) {
        out << "  checkpoints:\n";
        for (const CheckpointInfo& c : *checkpoints) {
            out << "    step " << c.step << ": " << c.path.string() << '\n';
        }
    }
    if (auto exports = store->exports(id); exports && !exports->empty()) {
        out << "  exports:\n";
        for (const ExportInfo& e : *exports) {
            out << "    " << e.kind << (e.dtype.empty() ? "" : " " + e.dtype) << ", " << e.status
                << ": " << e.path.string();
            if (e.maxAbsLogitDiff) {
                out << " (max |logit diff| " << formatFixed(*e.maxAbsLogitDiff, 6) << ")";
            }
            out << '\n';
        }
    }
    if (auto events = store->events(id); events && !events->empty()) {
        out << "  events:\n";
        for (const RunEvent& e : *events) {
            out << "    " << formatTimestamp(e.createdAtMs) << " " << e.kind
                << (e.step ? " at step " + std::to_string(*e.step) : "") << ": " << e.message
                << '\n';
        }
    }
    out << "  config:\n";
    const nlohmann::json config = nlohmann::json::parse(run->configJson, nullptr, false);
    out << (config.is_discarded() ? run->configJson : config.dump(2)) << '\n';
    return kExitOk;
}

} // namespace ftw::cli
