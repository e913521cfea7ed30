// SPDX-License-Identifier: MIT
#include "train_job.h"

#include "core/check.h"

namespace ftw::jobs {

Job makeTrainJob(const TrainSpec& spec)
{
    return Job{JobKind::Train, spec.runName, [](JobContext&) {
                   throw Error(ErrorCode::Internal, "not built yet");
               }};
}

} // namespace ftw::jobs
