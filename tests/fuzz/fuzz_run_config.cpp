// SPDX-License-Identifier: MIT
// Fuzz target: a run config (`ftw train --config RUN.json`, the workbench's Import config). A
// config that parses must also pass through runConfigJson() and parse back to the same text.
#include "fuzz_input.h"

#include <ftw/run_config.h>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        const auto spec =
            ftw::parseRunConfig(ftw::fuzz::asText({data, size}), "fuzz/run.json", "/fuzz");
        ftw::fuzz::expectClearError(spec);
        if (!spec) {
            return; // an error naming the file and the field: the expected answer
        }
        ftw::fuzz::expectClearError(ftw::validateTrainSpec(*spec));
        const std::string written = ftw::runConfigJson(*spec);
        const auto again = ftw::parseRunConfig(written, "fuzz/written.json", "/fuzz");
        if (!again || ftw::runConfigJson(*again) != written) {
            std::abort(); // what FTW writes, it must read back unchanged
        }
    });
}
