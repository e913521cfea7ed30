// SPDX-License-Identifier: MIT
#include "eval_loss.h"

#include "core/autocast.h"
#include "core/cpu_allocator.h"
#include "train/training_data.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace ftw::eval {

EvalLoss evaluateLoss(nn::DecoderImpl& decoder, const std::vector<data::TokenizedExample>& examples,
                      std::int64_t batchSize, std::int64_t padId, const c10::Device& device,
                      c10::ScalarType computeDtype, jobs::JobContext* ctx)
{
    const bool wasTraining = decoder.is_training();
    decoder.eval();
    at::NoGradGuard noGrad;
    const core::AutocastGuard autocast(device, computeDtype);
    double lossSum = 0.0;
    EvalLoss result;
    for (std::size_t first = 0; first < examples.size();
         first += static_cast<std::size_t>(batchSize)) {
        if (ctx != nullptr) {
            ctx->throwIfCancelled();
        }
        std::vector<const data::TokenizedExample*> items;
        for (std::size_t i = first;
             i < std::min(examples.size(), first + static_cast<std::size_t>(batchSize)); ++i) {
            items.push_back(&examples[i]);
        }
        const train::Batch batch = train::collate(items, padId);
        const at::Tensor logits = decoder.forward(batch.inputIds.to(device));
        lossSum += train::sumCrossEntropy(logits, batch.labels.to(device)).item<double>();
        result.tokens += batch.trainedTokens;
        core::trimCpuCache(); // batches of other lengths leave blocks no later batch takes
    }
    if (wasTraining) {
        decoder.train();
    }
    result.loss = result.tokens > 0 ? lossSum / static_cast<double>(result.tokens)
                                    : std::numeric_limits<double>::quiet_NaN();
    result.perplexity = std::exp(result.loss);
    return result;
}

} // namespace ftw::eval
