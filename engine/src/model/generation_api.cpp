// SPDX-License-Identifier: MIT
// The public generateText() of ftw/generation.h over the model, generator and tokenizer internals.
#include <ftw/generation.h>

#include "generator.h"
#include "model_loader.h"

#include "adapters/peft_files.h"
#include "core/api_guard.h"
#include "core/check.h"
#include "data/tokenizer.h"
#include "data/tokenizer_config.h"

#include <algorithm>
#include <optional>

namespace ftw {

Expected<GeneratedText> generateText(const GenerateRequest& request)
{
    return core::captureErrors([&] {
        FTW_CHECK(request.maxNewTokens >= 1 && request.maxNewTokens <= 100'000,
                  ErrorCode::InvalidArgument,
                  "max new tokens must be between 1 and 100000, got " +
                      std::to_string(request.maxNewTokens));
        FTW_CHECK(request.temperature >= 0.0, ErrorCode::InvalidArgument,
                  "the temperature must not be negative");
        FTW_CHECK(request.topP > 0.0 && request.topP <= 1.0, ErrorCode::InvalidArgument,
                  "top-p must be in (0, 1]");
        const std::filesystem::path tokenizerFile = request.modelDir / "tokenizer.json";
        FTW_CHECK(std::filesystem::exists(tokenizerFile), ErrorCode::NotFound,
                  "'" + request.modelDir.string() +
                      "' has no tokenizer.json to turn the prompt into tokens");
        const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
        const data::TokenizerConfig tokenizerConfig =
            data::readTokenizerConfig(request.modelDir / "tokenizer_config.json");
        model::LoadedModel model = model::loadModel(request.modelDir);
        std::optional<adapters::AdapterSet> adapter;
        if (!request.adapterDir.empty()) {
            adapter.emplace(adapters::loadAdapter(*model.decoder, request.adapterDir));
            adapter->merge(); // exact in fp32, and as fast as the base model
        }

        GeneratedText result;
        if (const auto bos =
                tokenizer.bosIdToAdd(tokenizerConfig.shouldAddBos, tokenizerConfig.bosToken)) {
            result.promptIds.push_back(*bos);
        }
        const std::vector<std::int64_t> promptIds = tokenizer.encode(request.prompt);
        result.promptIds.insert(result.promptIds.end(), promptIds.begin(), promptIds.end());

        model::SamplingOptions options;
        options.maxNewTokens = request.maxNewTokens;
        options.temperature = request.temperature;
        options.topP = request.topP;
        options.seed = request.seed;
        options.stopTokenIds = model.config.eosTokenIds;
        if (tokenizerConfig.eosToken) {
            if (const auto eos = tokenizer.tokenToId(*tokenizerConfig.eosToken)) {
                options.stopTokenIds.push_back(*eos);
            }
        }
        const model::Generation generation =
            model::generate(*model.decoder, result.promptIds, options);
        result.ids = generation.tokens;
        result.isStoppedByEos = generation.isStoppedByToken;
        result.text = tokenizer.decode(result.ids, /*skipSpecialTokens=*/true);
        return result;
    });
}

} // namespace ftw
