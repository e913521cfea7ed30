// SPDX-License-Identifier: MIT
// Fuzz target: a tokenizer.json, loaded, then encoding a fixed text and decoding it again.
#include "fuzz_input.h"

#include "data/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        const auto tokenizer = ftw::data::Tokenizer::fromJsonText(ftw::fuzz::asText({data, size}),
                                                                  "fuzz/tokenizer.json");
        const std::vector<std::int64_t> ids =
            tokenizer.encode("Hello, world! 12 + 30 = 42\n\tnaïve café 日本 <s></s>");
        (void)tokenizer.decode(ids);
    });
}
