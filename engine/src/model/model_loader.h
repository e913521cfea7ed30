// SPDX-License-Identifier: MIT
#pragma once

#include "checkpoint.h"
#include "model_config.h"

#include "nn/decoder.h"

#include <filesystem>
#include <string>
#include <vector>

namespace ftw::model {

/// A parameter of a decoder and the checkpoint tensor it is read from.
struct WeightMatch {
    std::string name; ///< the parameter's name in the decoder
    at::Tensor parameter;
    std::string fileName; ///< the tensor's name in the checkpoint
};

/// Pairs every parameter of `decoder` with its tensor in `checkpoint` and checks shapes and dtypes
/// (F32, F16 or BF16), as loadWeights() does before it copies anything; throws the same errors.
[[nodiscard]] std::vector<WeightMatch> matchWeights(const nn::DecoderImpl& decoder,
                                                    const Checkpoint& checkpoint);

/// Copies every parameter of `decoder` from `checkpoint`, converting F16/BF16 to the parameter's
/// dtype. Known non-parameters (GPT-2's attention-mask buffers, rotary inv_freq, a tied lm_head)
/// are skipped, and GPT-2 files without the "transformer." prefix are accepted.
/// Throws Error{ModelFormat} that lists every missing, unexpected and mis-shaped tensor at once.
void loadWeights(nn::DecoderImpl& decoder, const Checkpoint& checkpoint);

/// A model folder loaded for use on the CPU in fp32.
struct LoadedModel {
    ModelConfig config;
    nn::Decoder decoder{nullptr};
};

/// Reads config.json and the safetensors weights of a Hugging Face folder. Throws
/// Error{ModelFormat} or Error{NotFound} naming the file and what is wrong.
[[nodiscard]] LoadedModel loadModel(const std::filesystem::path& modelDir);

} // namespace ftw::model
