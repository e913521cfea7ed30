// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/expected.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ftw {

struct GenerateRequest {
    std::filesystem::path modelDir;   ///< config.json, safetensors weights, tokenizer.json
    std::filesystem::path adapterDir; ///< optional: a PEFT-layout adapter applied to the model
    std::string prompt;               ///< UTF-8
    int maxNewTokens = 64;            ///< 1 .. 100000
    double temperature = 0.0;         ///< 0 = greedy
    double topP = 1.0;                ///< (0, 1]
    std::uint64_t seed = 0;
};

struct GeneratedText {
    std::string text;                    ///< the continuation only, special tokens removed
    std::vector<std::int64_t> promptIds; ///< BOS included when tokenizer_config.json asks for it
    std::vector<std::int64_t> ids;       ///< the generated ids (an EOS that ended it included)
    bool isStoppedByEos = false;
};

/// Loads the model on the CPU in fp32 (with the adapter merged in, when one is given) and continues
/// the prompt with a KV cache, stopping at an EOS token of config.json or tokenizer_config.json.
/// Blocks the calling thread.
/// Returns: NotFound / ModelFormat naming the file for a missing or malformed model or tokenizer,
/// InvalidArgument for settings out of range.
[[nodiscard]] Expected<GeneratedText> generateText(const GenerateRequest& request);

} // namespace ftw
