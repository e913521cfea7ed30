// SPDX-License-Identifier: MIT
#include "atomic_file.h"

#include <ftw/error.h>

#include <fstream>
#include <string>
#include <system_error>

namespace ftw::core {

void writeFileAtomically(const std::filesystem::path& path, std::string_view content)
{
    std::filesystem::path partial = path;
    partial += ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        out.flush();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw Error(ErrorCode::Io, "cannot write '" + path.string() + "'");
        }
    }
    std::error_code ec;
    std::filesystem::rename(partial, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        throw Error(ErrorCode::Io, "cannot rename '" + partial.string() + "' to '" + path.string() +
                                       "': " + ec.message());
    }
}

} // namespace ftw::core
