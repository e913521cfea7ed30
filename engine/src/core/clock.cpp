// SPDX-License-Identifier: MIT
#include "clock.h"

#include <cstdio>
#include <ctime>

namespace ftw::core {

std::string formatLocalTime(std::int64_t unixMs)
{
    const auto seconds = static_cast<std::time_t>(unixMs / 1000);
    std::tm local{};
    if (::localtime_r(&seconds, &local) == nullptr) {
        return std::to_string(unixMs);
    }
    char text[96]; // room for any int fields, so the compiler sees no truncation
    std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%03d", local.tm_year + 1900,
                  local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                  static_cast<int>(unixMs % 1000));
    return text;
}

} // namespace ftw::core
