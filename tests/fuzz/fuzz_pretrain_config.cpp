// SPDX-License-Identifier: MIT
// Fuzz target: a pretrain config (`ftw pretrain --config PRETRAIN.json`). A config that parses
// must also be written by pretrainConfigJson() and read back to the same text.
#include "fuzz_input.h"

#include <ftw/pretrain.h>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        const auto spec = ftw::parsePretrainConfig(ftw::fuzz::asText({data, size}),
                                                   "fuzz/pretrain.json", "/fuzz");
        ftw::fuzz::expectClearError(spec);
        if (!spec) {
            return; // an error naming the file and the field: the expected answer
        }
        const std::string written = ftw::pretrainConfigJson(*spec);
        const auto again = ftw::parsePretrainConfig(written, "fuzz/written.json", "/fuzz");
        if (!again || ftw::pretrainConfigJson(*again) != written) {
            std::abort(); // what FTW writes, it must read back unchanged
        }
    });
}
