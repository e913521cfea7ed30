// SPDX-License-Identifier: MIT
#pragma once

#include "data/dataset.h"
#include "jobs/job_context.h"
#include "nn/decoder.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <vector>

namespace ftw::eval {

/// Loss and perplexity over a set of examples.
struct EvalLoss {
    double loss = 0.0; ///< mean next-token cross-entropy over the trained tokens
    double perplexity = 0.0;
    std::int64_t tokens = 0; ///< trained tokens it covered
};

/// Mean next-token loss of `decoder` over `examples` in batches of `batchSize`, without gradients
/// and in eval mode (restored after). Checks `ctx` for cancellation between batches when given.
[[nodiscard]] EvalLoss evaluateLoss(nn::DecoderImpl& decoder,
                                    const std::vector<data::TokenizedExample>& examples,
                                    std::int64_t batchSize, std::int64_t padId,
                                    const c10::Device& device, c10::ScalarType computeDtype,
                                    jobs::JobContext* ctx);

} // namespace ftw::eval
