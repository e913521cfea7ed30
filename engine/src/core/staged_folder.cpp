// SPDX-License-Identifier: MIT
#include "staged_folder.h"

#include "check.h"

#include <string>
#include <system_error>

namespace ftw::core {

namespace fs = std::filesystem;

fs::path outputFolder(const fs::path& outDir, std::string_view what)
{
    fs::path folder = outDir.lexically_normal();
    if (!folder.has_filename()) {
        folder = folder.parent_path();
    }
    FTW_CHECK(folder.has_filename() && folder.filename() != "." && folder.filename() != "..",
              ErrorCode::InvalidConfig,
              std::string(what) + " '" + outDir.string() + "' does not name a folder to create");
    return folder;
}

fs::path partialFolder(const fs::path& folder)
{
    return fs::path(folder.string() + ".partial");
}

void checkOutputFolderFree(const fs::path& folder, std::string_view what)
{
    std::error_code ec;
    if (!fs::exists(folder, ec)) {
        return;
    }
    FTW_CHECK(fs::is_directory(folder, ec), ErrorCode::InvalidConfig,
              std::string(what) + " '" + folder.string() + "' exists and is not a folder");
    FTW_CHECK(fs::is_empty(folder, ec) && !ec, ErrorCode::InvalidConfig,
              std::string(what) + " '" + folder.string() +
                  "' is not empty; an export never overwrites a folder: choose a new one");
}

void publishFolder(const fs::path& partial, const fs::path& folder)
{
    std::error_code ec;
    if (fs::exists(folder, ec)) {
        FTW_CHECK(fs::is_directory(folder, ec) && fs::is_empty(folder, ec), ErrorCode::Io,
                  "'" + folder.string() + "' is no longer empty; the export was not moved there");
        fs::remove(folder, ec);
        FTW_CHECK(!ec, ErrorCode::Io,
                  "cannot replace the empty folder '" + folder.string() + "': " + ec.message());
    }
    fs::rename(partial, folder, ec);
    FTW_CHECK(!ec, ErrorCode::Io,
              "cannot rename '" + partial.string() + "' to '" + folder.string() +
                  "': " + ec.message());
}

} // namespace ftw::core
