// SPDX-License-Identifier: MIT
#include "merge_job.h"

#include "core/check.h"

namespace ftw::jobs {

// TODO(helper): the merge/export job (#5)
Job makeMergeJob(const MergeSpec& spec)
{
    return Job{JobKind::Merge, spec.runName, [](JobContext&) {
                   throw Error(ErrorCode::Internal, "the merge job is not built yet");
               }};
}

} // namespace ftw::jobs
