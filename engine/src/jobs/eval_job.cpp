// SPDX-License-Identifier: MIT
#include "eval_job.h"

#include "core/check.h"

namespace ftw::jobs {

Job makeEvalJob(const EvalSpec& spec)
{
    return Job{JobKind::Evaluate, spec.runName, [](JobContext&) {
                   throw Error(ErrorCode::Internal, "not built yet");
               }};
}

} // namespace ftw::jobs
