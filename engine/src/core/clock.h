// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ftw::core {

/// Unix time in milliseconds (what the store records).
inline std::int64_t unixTimeMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// `unixMs` as local time, "2026-11-23 10:59:01.332" (what a log line starts with).
[[nodiscard]] std::string formatLocalTime(std::int64_t unixMs);

} // namespace ftw::core
