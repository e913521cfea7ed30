// SPDX-License-Identifier: MIT
#include <ftw/format.h>

#include <array>
#include <cstdio>

namespace ftw {

std::string formatDuration(std::int64_t ms)
{
    std::array<char, 32> buffer{};
    if (ms < 60'000) {
        std::snprintf(buffer.data(), buffer.size(), "%.1f s", static_cast<double>(ms) / 1000.0);
    } else if (ms < 3'600'000) {
        std::snprintf(buffer.data(), buffer.size(), "%lld min %02lld s",
                      static_cast<long long>(ms / 60'000), static_cast<long long>(ms / 1000 % 60));
    } else {
        std::snprintf(buffer.data(), buffer.size(), "%lld h %02lld min",
                      static_cast<long long>(ms / 3'600'000),
                      static_cast<long long>(ms / 60'000 % 60));
    }
    return buffer.data();
}

std::string formatCount(std::optional<std::int64_t> count)
{
    if (!count) {
        return "-";
    }
    std::array<char, 32> buffer{};
    const auto value = static_cast<double>(*count);
    if (*count >= 1'000'000'000) {
        std::snprintf(buffer.data(), buffer.size(), "%.2fB", value / 1e9);
    } else if (*count >= 1'000'000) {
        std::snprintf(buffer.data(), buffer.size(), "%.2fM", value / 1e6);
    } else if (*count >= 10'000) {
        std::snprintf(buffer.data(), buffer.size(), "%.1fK", value / 1e3);
    } else {
        std::snprintf(buffer.data(), buffer.size(), "%lld", static_cast<long long>(*count));
    }
    return buffer.data();
}

} // namespace ftw
