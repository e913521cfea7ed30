// SPDX-License-Identifier: MIT
#include "generator.h"

#include "core/check.h"
#include "core/cpu_allocator.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace ftw::model {

std::int64_t sampleTopP(std::span<const double> probabilities, double topP, double uniform)
{
    std::vector<std::int64_t> order(probabilities.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        return probabilities[static_cast<std::size_t>(a)] >
               probabilities[static_cast<std::size_t>(b)];
    });
    std::size_t kept = 0;
    double total = 0.0;
    while (kept < order.size() && (kept == 0 || total < topP)) {
        total += probabilities[static_cast<std::size_t>(order[kept])];
        ++kept;
    }
    double cumulative = 0.0;
    for (std::size_t i = 0; i < kept; ++i) {
        cumulative += probabilities[static_cast<std::size_t>(order[i])] / total;
        if (uniform < cumulative) {
            return order[i];
        }
    }
    return order[kept - 1];
}

Generation generate(nn::DecoderImpl& decoder, const std::vector<std::int64_t>& prompt,
                    const SamplingOptions& options, const std::function<bool()>& shouldStop)
{
    const ModelConfig& config = decoder.config();
    FTW_CHECK(!prompt.empty(), ErrorCode::InvalidArgument,
              "generation needs at least one prompt token");
    for (const std::int64_t id : prompt) {
        FTW_CHECK(id >= 0 && id < config.vocabSize, ErrorCode::InvalidArgument,
                  "token id " + std::to_string(id) + " is outside the vocabulary of " +
                      std::to_string(config.vocabSize));
    }
    const c10::InferenceMode inferenceMode;
    std::mt19937_64 random(options.seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    nn::KvCache cache;
    Generation result;
    const c10::Device device = decoder.parameters().front().device();
    at::Tensor input = at::tensor(prompt, at::kLong).unsqueeze(0).to(device);
    auto length = static_cast<std::int64_t>(prompt.size());
    while (static_cast<int>(result.tokens.size()) < options.maxNewTokens &&
           length < config.maxPositions && !(shouldStop && shouldStop())) {
        const at::Tensor logits = decoder.forward(input, &cache)[0][-1].to(at::kDouble);
        std::int64_t next = 0;
        if (options.temperature <= 0.0) {
            next = logits.argmax().item<std::int64_t>();
        } else {
            const at::Tensor probabilities =
                at::softmax(logits / options.temperature, -1).contiguous();
            next = sampleTopP(
                {probabilities.data_ptr<double>(), static_cast<std::size_t>(probabilities.numel())},
                options.topP, uniform(random));
        }
        result.tokens.push_back(next);
        ++length;
        core::trimCpuCache(); // the KV cache grows every token: its old blocks are not taken again
        if (std::find(options.stopTokenIds.begin(), options.stopTokenIds.end(), next) !=
            options.stopTokenIds.end()) {
            result.isStoppedByToken = true;
            break;
        }
        input = at::tensor({next}, at::kLong).unsqueeze(0).to(device);
    }
    return result;
}

} // namespace ftw::model
