// SPDX-License-Identifier: MIT
#pragma once
// What the fuzz targets share: the rule that a malformed input may only end in ftw::Error (the
// engine's clear, file-naming error), and the input written as a file for the parsers that read
// files.
#include "support/temp_dir.h"

#include <ftw/error.h>
#include <ftw/expected.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

namespace ftw::fuzz {

/// Runs `parse`; an ftw::Error is the expected answer to malformed input and is swallowed. Any
/// other exception escapes, and libFuzzer (or the replay driver) reports it as a finding: the
/// user would have seen an unclear message, or none.
template <typename Parse>
int expectOnlyFtwErrors(Parse&& parse)
{
    try {
        parse();
    } catch (const ftw::Error&) {
        // A clear error for malformed input: what the parser must do.
    }
    return 0;
}

/// An API answer to malformed input (an Expected or a Status): a value, or an error FTW raised
/// itself. ErrorCode::Internal
/// is what the API guard makes of any other exception (a library's message, with no file or
/// field named), so it is a finding: aborts.
template <typename Result>
void expectClearError(const Result& result)
{
    if (!result && result.error().code == ErrorCode::Internal) {
        std::fprintf(stderr, "an unclear error (ErrorCode::Internal): %s\n",
                     result.error().message.c_str());
        std::abort();
    }
}

/// `bytes` as text.
inline std::string_view asText(std::span<const std::uint8_t> bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Writes the input to `<dir>/input<extension>` (replacing the last one), for the parsers that
/// read files; the test::TempDir removes it when the process ends.
inline std::filesystem::path writeInput(const test::TempDir& dir,
                                        std::span<const std::uint8_t> bytes,
                                        std::string_view extension)
{
    const std::filesystem::path path = dir / ("input" + std::string(extension));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
}

} // namespace ftw::fuzz
