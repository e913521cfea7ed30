// SPDX-License-Identifier: MIT
#include <ftw/format.h>

#include <gtest/gtest.h>

#include <cstdint>

namespace ftw {
namespace {

TEST(FormatTest, DurationsPickTheirUnit)
{
    EXPECT_EQ(formatDuration(0), "0 ms");
    EXPECT_EQ(formatDuration(40), "40 ms");
    EXPECT_EQ(formatDuration(999), "999 ms");
    EXPECT_EQ(formatDuration(1000), "1.0 s");
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

TEST(FormatTest, GroupedNumbersShowEveryDigitInThrees)
{
    EXPECT_EQ(formatGrouped(0), "0");
    EXPECT_EQ(formatGrouped(999), "999");
    EXPECT_EQ(formatGrouped(1'000), "1,000");
    EXPECT_EQ(formatGrouped(41'943'040), "41,943,040");
    EXPECT_EQ(formatGrouped(-1'024), "-1,024");
    EXPECT_EQ(formatGrouped(INT64_MIN), "-9,223,372,036,854,775,808");
}

TEST(FormatTest, BytesUseBinaryUnitsWithThreeSignificantDigits)
{
    EXPECT_EQ(formatBytes(512), "512 B");
    EXPECT_EQ(formatBytes(1'536), "1.50 KiB");
    EXPECT_EQ(formatBytes(160LL << 20), "160 MiB");
    EXPECT_EQ(formatBytes(15LL << 30), "15.0 GiB");
    EXPECT_EQ(formatBytes(3LL << 40), "3.00 TiB");
}

} // namespace
} // namespace ftw
