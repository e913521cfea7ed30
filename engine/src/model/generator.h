// SPDX-License-Identifier: MIT
#pragma once

#include "nn/decoder.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ftw::model {

struct SamplingOptions {
    int maxNewTokens = 64;
    double temperature = 0.0; ///< 0 means greedy (argmax)
    double topP = 1.0; ///< nucleus sampling: the smallest set of tokens whose probability >= topP
    std::uint64_t seed = 0;
    std::vector<std::int64_t> stopTokenIds; ///< generation ends after emitting one of these
};

struct Generation {
    std::vector<std::int64_t> tokens; ///< the new tokens, a stop token included when one ended it
    bool isStoppedByToken = false;
};

/// Picks a token from probabilities (summing to 1) with nucleus sampling: keeps the most likely
/// tokens until their total reaches `topP`, renormalises, and takes the one where the cumulative
/// probability passes `uniform` in [0, 1).
[[nodiscard]] std::int64_t sampleTopP(std::span<const double> probabilities, double topP,
                                      double uniform);

/// Continues `prompt` with the decoder and a KV cache, one token at a time, until maxNewTokens, a
/// stop token, the model's position limit, or `shouldStop()` returning true (checked before each
/// token; it may be empty). Throws Error{InvalidArgument} for an empty prompt or a token id outside
/// the vocabulary.
[[nodiscard]] Generation generate(nn::DecoderImpl& decoder, const std::vector<std::int64_t>& prompt,
                                  const SamplingOptions& options,
                                  const std::function<bool()>& shouldStop = {});

} // namespace ftw::model
