// SPDX-License-Identifier: MIT
// Fuzz target: a model's config.json, parsed and checked as the loader does.
#include "fuzz_input.h"

#include "model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        (void)ftw::model::parseModelConfigText(ftw::fuzz::asText({data, size}), "fuzz/config.json");
    });
}
