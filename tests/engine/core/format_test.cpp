// SPDX-License-Identifier: MIT
#include <ftw/format.h>

#include <gtest/gtest.h>

namespace ftw {
namespace {

TEST(FormatTest, DurationsPickTheirUnit)
{
    EXPECT_EQ(formatDuration(0), "0.0 s");
    EXPECT_EQ(formatDuration(1234), "1.2 s");
    EXPECT_EQ(formatDuration(59'949), "59.9 s");
    EXPECT_EQ(formatDuration(3 * 60'000 + 4'000), "3 min 04 s");
    EXPECT_EQ(formatDuration(2 * 3'600'000 + 5 * 60'000 + 30'000), "2 h 05 min");
}

TEST(FormatTest, CountsAreShortenedFromTenThousand)
{
    EXPECT_EQ(formatCount(std::nullopt), "-");
    EXPECT_EQ(formatCount(789), "789");
    EXPECT_EQ(formatCount(9'999), "9999");
    EXPECT_EQ(formatCount(45'600), "45.6K");
    EXPECT_EQ(formatCount(1'234'567), "1.23M");
    EXPECT_EQ(formatCount(7'500'000'000), "7.50B");
}

} // namespace
} // namespace ftw
