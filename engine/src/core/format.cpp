// SPDX-License-Identifier: MIT
#include <ftw/format.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ftw {

std::string formatDuration(std::int64_t ms)
{
    std::array<char, 32> buffer{};
    if (ms < 1000) { // "0.0 s" would say a 40 ms merge took no time
        std::snprintf(buffer.data(), buffer.size(), "%lld ms", static_cast<long long>(ms));
    } else if (ms < 60'000) {
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

std::string formatGrouped(std::int64_t value)
{
    const auto magnitude = static_cast<unsigned long long>(value);
    const std::string digits = std::to_string(value < 0 ? 0ULL - magnitude : magnitude);
    std::string grouped;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            grouped += ',';
        }
        grouped += digits[i];
    }
    return value < 0 ? "-" + grouped : grouped;
}

std::string formatBytes(std::int64_t bytes)
{
    constexpr std::array<const char*, 5> kUnits{"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (std::llabs(bytes) < 1024) {
        return std::to_string(bytes) + " B";
    }
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (std::abs(value) >= 1024.0 && unit + 1 < kUnits.size()) {
        value /= 1024.0;
        ++unit;
    }
    const char* format = std::abs(value) >= 100.0  ? "%.0f %s"
                         : std::abs(value) >= 10.0 ? "%.1f %s"
                                                   : "%.2f %s";
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), format, value, kUnits[unit]);
    return buffer.data();
}

} // namespace ftw
