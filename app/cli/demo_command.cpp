// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_watcher.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <iostream>

#include <unistd.h>

namespace ftw::cli {

int demo(const CliContext& ctx, const DemoJobSpec& spec)
{
    auto engine = Engine::create(EngineOptions{resolveDatabasePath(ctx.databasePath), 0});
    if (!engine) {
        return fail(ctx, engine.error().message);
    }
    const bool isTerminal = &ctx.err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
    JobWatcher watcher(**engine, ctx, isTerminal);
    const ObserverRegistration registration = (*engine)->addObserver(watcher);
    const JobHandle handle = (*engine)->submit(spec);
    const JobResult result = watcher.watch(handle.id);

    if (ctx.isJson) {
        nlohmann::json json = {
            {"job_id", handle.id},
            {"run_id", result.runId},
            {"status", jobStatusName(result.status)},
            {"elapsed_ms", result.elapsedMs},
            {"error", nullptr},
        };
        if (result.error.isError()) {
            json["error"] = {{"code", errorCodeName(result.error.code)},
                             {"message", result.error.message}};
        }
        ctx.out << json.dump(2) << '\n';
    }
    switch (result.status) {
    case JobStatus::Succeeded:
        if (!ctx.isJson) {
            ctx.out << "run " << result.runId << " succeeded in "
                    << formatDuration(static_cast<std::int64_t>(result.elapsedMs))
                    << "; see it with `ftw runs show " << result.runId << "`\n";
        }
        return kExitOk;
    case JobStatus::Cancelled:
        ctx.err << "ftw: run " << result.runId << " cancelled\n";
        return kExitCancelled;
    default:
        return fail(ctx, result.error.message);
    }
}

} // namespace ftw::cli
