// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string_view>

namespace ftw::core {

/// Writes `content` to `path` through a temporary `<path>.partial` that is renamed when complete,
/// so that a reader never sees half a file. Throws Error{Io} naming the file.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content);

} // namespace ftw::core
