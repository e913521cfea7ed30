// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

namespace ftw::cli {

int demo(const CliContext& ctx, const DemoJobSpec& spec)
{
    const std::optional<JobResult> result = runJob(ctx, spec);
    if (!result) {
        return kExitFailure;
    }
    if (ctx.isJson) {
        ctx.out << jobResultJson(*result).dump(2) << '\n';
    } else if (result->status == JobStatus::Succeeded) {
        ctx.out << "run " << result->runId << " succeeded in "
                << formatDuration(static_cast<std::int64_t>(result->elapsedMs))
                << "; see it with `ftw runs show " << result->runId << "`\n";
    }
    return exitCodeFor(ctx, *result);
}

} // namespace ftw::cli
