// SPDX-License-Identifier: MIT
#include "job_run.h"

#include "cli.h"
#include "job_watcher.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <iostream>

#include <unistd.h>

namespace ftw::cli {

std::optional<JobResult> runJob(const CliContext& ctx, const JobSpec& spec)
{
    auto engine = Engine::create(EngineOptions{resolveDatabasePath(ctx.databasePath), 0});
    if (!engine) {
        (void)fail(ctx, engine.error().message);
        return std::nullopt;
    }
    const bool isTerminal = &ctx.err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
    JobWatcher watcher(**engine, ctx, isTerminal);
    const ObserverRegistration registration = (*engine)->addObserver(watcher);
    const JobHandle handle = (*engine)->submit(spec);
    return watcher.watch(handle.id);
}

nlohmann::json jobResultJson(const JobResult& result)
{
    nlohmann::json json = {
        {"run_id", result.runId},
        {"status", jobStatusName(result.status)},
        {"elapsed_ms", result.elapsedMs},
        {"error", nullptr},
    };
    if (result.error.isError()) {
        json["error"] = {{"code", errorCodeName(result.error.code)},
                         {"message", result.error.message}};
    }
    json["output"] = nlohmann::json::parse(result.outputJson, nullptr, false);
    if (json["output"].is_discarded()) {
        json["output"] = nlohmann::json::object();
    }
    return json;
}

int runJobAndReport(const CliContext& ctx, const JobSpec& spec,
                    const std::function<void(const JobResult&)>& printResult)
{
    const std::optional<JobResult> result = runJob(ctx, spec);
    if (!result) {
        return kExitFailure;
    }
    if (ctx.isJson) {
        ctx.out << jobResultJson(*result).dump(2) << '\n';
    } else {
        printResult(*result);
    }
    return exitCodeFor(ctx, *result);
}

int exitCodeFor(const CliContext& ctx, const JobResult& result)
{
    switch (result.status) {
    case JobStatus::Succeeded:
        return kExitOk;
    case JobStatus::Cancelled:
        ctx.err << "ftw: run " << result.runId << " cancelled\n";
        return kExitCancelled;
    default:
        return fail(ctx, result.error.message);
    }
}

} // namespace ftw::cli
