// SPDX-License-Identifier: MIT
// The process's memory figures against /proc read here, and a peak that follows an allocation.
#include "core/process.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>

namespace ftw::core {
namespace {

/// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), read independently.
std::int64_t statusBytes(const std::string& field)
{
    std::ifstream status("/proc/self/status");
    std::string key;
    std::int64_t kilobytes = 0;
    std::string unit;
    while (status >> key) {
        if (key == field + ":") {
            status >> kilobytes >> unit;
            return kilobytes * 1024;
        }
        std::getline(status, unit);
    }
    return -1;
}

TEST(ProcessTest, PeakResidentMemoryFollowsATouchedAllocationAndStaysAfterItsFreed)
{
    const bool isReset = resetPeakResidentMemory();
    const std::int64_t before = peakResidentMemoryBytes();
    ASSERT_GT(before, 0);
    constexpr std::size_t kBytes = 96U << 20U;
    {
        auto block = std::make_unique<char[]>(kBytes);
        std::memset(block.get(), 1, kBytes); // resident only once touched
        const std::int64_t during = residentMemoryBytes();
        EXPECT_GE(during, static_cast<std::int64_t>(kBytes));
        EXPECT_GE(peakResidentMemoryBytes(), during - (4 << 20)); // pages may differ a little
    }
    const std::int64_t after = peakResidentMemoryBytes();
    EXPECT_GE(after, before + static_cast<std::int64_t>(kBytes) - (4 << 20));
    EXPECT_EQ(after, statusBytes("VmHWM"));
    if (isReset) {
        // A new peak starts at the present resident size, below the one just seen.
        ASSERT_TRUE(resetPeakResidentMemory());
        EXPECT_LT(peakResidentMemoryBytes(), after);
    }
}

TEST(ProcessTest, PhysicalMemoryIsTheMachinesMemTotalOrALittleMore)
{
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::int64_t kilobytes = 0;
    ASSERT_TRUE(meminfo >> key >> kilobytes);
    ASSERT_EQ(key, "MemTotal:");
    const std::int64_t memTotal = kilobytes * 1024;
    EXPECT_GE(physicalMemoryBytes(), memTotal - 4096);
    EXPECT_LE(physicalMemoryBytes(), memTotal + memTotal / 20);
}

} // namespace
} // namespace ftw::core
