// SPDX-License-Identifier: MIT
#pragma once
// What the fuzz targets share: the rule that a malformed input may only end in ftw::Error (the
// engine's clear, file-naming error), and a scratch file for the parsers that read files.
#include <ftw/error.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <unistd.h>

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

/// `bytes` as text.
inline std::string_view asText(std::span<const std::uint8_t> bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// A file in the temporary folder, unique to this process, holding the input; removed when it goes.
class ScratchFile {
public:
    ScratchFile(std::span<const std::uint8_t> bytes, std::string_view extension)
        : m_path(std::filesystem::temp_directory_path() /
                 ("ftw-fuzz-" + std::to_string(::getpid()) + std::string(extension)))
    {
        std::ofstream out(m_path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    ~ScratchFile()
    {
        std::error_code ec;
        std::filesystem::remove(m_path, ec);
    }

    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

} // namespace ftw::fuzz
