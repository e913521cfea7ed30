// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"
#include "format.h"
#include "job_run.h"

namespace ftw::cli {

int demo(const CliContext& ctx, const DemoJobSpec& spec)
{
    return runJobAndReport(ctx, spec, [&ctx](const JobResult& result) {
        if (result.status != JobStatus::Succeeded) {
            return;
        }
        ctx.out << "run " << result.runId << " succeeded in "
                << formatDuration(static_cast<std::int64_t>(result.elapsedMs))
                << "; see it with `ftw runs show " << result.runId << "`\n";
    });
}

} // namespace ftw::cli
