// SPDX-License-Identifier: MIT
#include "train_job.h"

#include "pretrain_job.h"

#include "train/trainer.h"

namespace ftw::jobs {

Job makeTrainJob(const TrainSpec& spec)
{
    const std::string name =
        spec.resumeRunId > 0 ? "resume run " + std::to_string(spec.resumeRunId) : spec.runName;
    return Job{JobKind::Train, name, [spec](JobContext& ctx) {
                   // A pretrain run continues as a pretrain run: trained, then published.
                   if (spec.resumeRunId > 0 && isPretrainRun(spec.resumeRunId, ctx)) {
                       resumePretrainRun(spec.resumeRunId, ctx);
                       return;
                   }
                   train::Trainer trainer(spec, ctx);
                   trainer.run();
               }};
}

} // namespace ftw::jobs
