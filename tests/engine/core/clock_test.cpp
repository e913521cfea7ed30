// SPDX-License-Identifier: MIT
#include "core/clock.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

namespace ftw::core {
namespace {

TEST(ClockTest, FormatsLocalTimeToTheMillisecond)
{
    const char* previous = std::getenv("TZ");
    const std::string saved = previous != nullptr ? previous : "";
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    EXPECT_EQ(formatLocalTime(0), "1970-01-01 00:00:00.000");
    // Worked out independently: 1795431119.332 s after the epoch, in UTC.
    EXPECT_EQ(formatLocalTime(1795431119332), "2026-11-23 10:51:59.332");
    ::setenv("TZ", "UTC-2", 1); // two hours east
    ::tzset();
    EXPECT_EQ(formatLocalTime(1795431119332), "2026-11-23 12:51:59.332");
    if (previous != nullptr) {
        ::setenv("TZ", saved.c_str(), 1);
    } else {
        ::unsetenv("TZ");
    }
    ::tzset();
}

} // namespace
} // namespace ftw::core
