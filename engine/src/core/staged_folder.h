// SPDX-License-Identifier: MIT
#pragma once
// A folder written in full under a staging name and renamed when complete (STYLE B5.4), so that
// an output folder is either absent or whole: the merge and decompose jobs write models this way.

#include <filesystem>
#include <string_view>

namespace ftw::core {

/// The folder `outDir` names, without a trailing separator ("out/" -> "out"), so that its
/// staging sibling is "out.partial" and not "out/.partial". `what` starts the message ("merge:
/// outDir"). Throws Error{InvalidConfig} when `outDir` names no folder to create ("", ".", "..").
[[nodiscard]] std::filesystem::path outputFolder(const std::filesystem::path& outDir,
                                                 std::string_view what);

/// `<folder>.partial`: where `folder` is staged.
[[nodiscard]] std::filesystem::path partialFolder(const std::filesystem::path& folder);

/// Checks that `folder` can be written: it does not exist or is an empty folder (an output never
/// overwrites anything). Throws Error{InvalidConfig}, starting with `what`, otherwise.
void checkOutputFolderFree(const std::filesystem::path& folder, std::string_view what);

/// Moves the complete `partial` folder to `folder`. An empty `folder` (allowed) is replaced; one
/// that has been filled meanwhile is not. Throws Error{Io} naming both paths.
void publishFolder(const std::filesystem::path& partial, const std::filesystem::path& folder);

} // namespace ftw::core
