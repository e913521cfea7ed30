// SPDX-License-Identifier: MIT
// Fuzz target: an adapter_config.json as PEFT and other tools write it, read into FTW's adapter
// settings and checked as loading an adapter does.
#include "fuzz_input.h"

#include "adapters/peft_config.h"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const nlohmann::json json =
        nlohmann::json::parse(ftw::fuzz::asText({data, size}), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
        return 0; // loadAdapter() reports JSON that does not parse before reading any field
    }
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        ftw::validateAdapterConfig(
            ftw::adapters::parseAdapterConfig(json, "fuzz/adapter_config.json"));
    });
}
