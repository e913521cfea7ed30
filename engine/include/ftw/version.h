// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace ftw {

/// The FTW version, "MAJOR.MINOR.PATCH", set by CMake from project(VERSION).
[[nodiscard]] std::string_view versionString();

} // namespace ftw
