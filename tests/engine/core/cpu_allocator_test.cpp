// SPDX-License-Identifier: MIT
// The caching CPU allocator, through LibTorch's own allocation path (at::empty and friends).
#include "core/cpu_allocator.h"
#include "core/process.h"

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace ftw::core {
namespace {

constexpr std::int64_t kMiB = std::int64_t{1} << 20;

/// Float tensors of `bytes` bytes.
at::Tensor floats(std::int64_t bytes)
{
    return at::empty({bytes / 4}, at::kFloat);
}

class CpuAllocatorTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!installCachingCpuAllocator()) {
            GTEST_SKIP() << "FTW_CPU_CACHE_MIB=0: the caching allocator is off";
        }
        releaseCachedCpuMemory();
    }

    void TearDown() override
    {
        setCpuCacheLimit(defaultCpuCacheBytes());
        releaseCachedCpuMemory();
    }
};

TEST_F(CpuAllocatorTest, IsLibTorchsCpuAllocator)
{
    EXPECT_NE(c10::GetCPUAllocator(), c10::GetDefaultCPUAllocator());
    EXPECT_TRUE(cpuCacheStats().isInstalled);
}

TEST_F(CpuAllocatorTest, AFreedLargeTensorsMemoryIsHandedOutAgain)
{
    const CpuCacheStats before = cpuCacheStats();
    void* first = nullptr;
    {
        const at::Tensor a = floats(4 * kMiB);
        first = a.data_ptr();
        EXPECT_EQ(cpuCacheStats().liveBytes - before.liveBytes, 4 * kMiB);
    }
    EXPECT_EQ(cpuCacheStats().cachedBytes, 4 * kMiB);
    const at::Tensor b = floats(4 * kMiB);
    EXPECT_EQ(b.data_ptr(), first);
    const CpuCacheStats after = cpuCacheStats();
    EXPECT_EQ(after.hits - before.hits, 1);
    EXPECT_EQ(after.misses - before.misses, 1);
    EXPECT_EQ(after.cachedBytes, 0);
}

TEST_F(CpuAllocatorTest, ReusedMemoryComputesCorrectResults)
{
    // Leave a block full of other values in the cache, then compute into it.
    {
        const at::Tensor junk = at::full({kMiB}, 7.0F);
    }
    const CpuCacheStats before = cpuCacheStats();
    const at::Tensor x = at::arange(kMiB, at::kFloat); // 4 MiB: takes the cached block
    EXPECT_EQ(cpuCacheStats().hits - before.hits, 1);
    {
        const at::Tensor junk = at::full({kMiB}, 7.0F);
    }
    const at::Tensor y = at::zeros({kMiB}, at::kFloat); // zeros() fills the reused junk block
    EXPECT_EQ(cpuCacheStats().hits - before.hits, 2);   // junk needed new memory; y reused it
    const at::Tensor expected = at::arange(kMiB, at::kDouble);
    EXPECT_TRUE(at::equal(x.to(at::kDouble), expected));
    EXPECT_EQ(y.abs().max().item<float>(), 0.0F);
}

TEST_F(CpuAllocatorTest, RequestsOfOneSizeClassShareBlocks)
{
    // Eight classes per power of two: 4 MiB + 100 bytes and 4 MiB + 200 bytes both take
    // 4.5 MiB; 5 MiB does not fit in that block.
    void* first = nullptr;
    {
        const at::Tensor a = at::empty({4 * kMiB + 100}, at::kByte);
        first = a.data_ptr();
    }
    EXPECT_EQ(cpuCacheStats().cachedBytes, 4 * kMiB + kMiB / 2);
    {
        const at::Tensor b = at::empty({4 * kMiB + 200}, at::kByte);
        EXPECT_EQ(b.data_ptr(), first);
    }
    const at::Tensor c = at::empty({5 * kMiB}, at::kByte);
    EXPECT_NE(c.data_ptr(), first);
    EXPECT_EQ(cpuCacheStats().cachedBytes, 4 * kMiB + kMiB / 2);
}

TEST_F(CpuAllocatorTest, SmallTensorsAreLeftToLibTorchsAllocator)
{
    const CpuCacheStats before = cpuCacheStats();
    {
        const at::Tensor small = floats(kMiB - 4);
        EXPECT_EQ(cpuCacheStats().liveBytes, before.liveBytes);
    }
    const CpuCacheStats after = cpuCacheStats();
    EXPECT_EQ(after.hits, before.hits);
    EXPECT_EQ(after.misses, before.misses);
    EXPECT_EQ(after.cachedBytes, 0);
}

TEST_F(CpuAllocatorTest, TheCacheKeepsToItsLimitAndDropsTheLargestFirst)
{
    setCpuCacheLimit(static_cast<std::size_t>(10 * kMiB));
    {
        const at::Tensor a = floats(2 * kMiB);
        const at::Tensor b = floats(4 * kMiB);
        const at::Tensor c = floats(4 * kMiB);
        const at::Tensor d = floats(8 * kMiB);
    } // freed d, c, b, a: 8 fits; 4 more drops the 8; then 4 and 2
    EXPECT_EQ(cpuCacheStats().cachedBytes, 10 * kMiB);
    const CpuCacheStats before = cpuCacheStats();
    {
        const at::Tensor again = floats(8 * kMiB);
    }
    EXPECT_EQ(cpuCacheStats().misses - before.misses, 1); // the 8 MiB block had gone
    const std::int64_t cached = cpuCacheStats().cachedBytes;
    {
        const at::Tensor overTheLimit = floats(16 * kMiB);
    } // goes back to the system alone: the cached blocks stay
    EXPECT_EQ(cpuCacheStats().cachedBytes, cached);
    EXPECT_GT(cached, 0);
    setCpuCacheLimit(0);
    EXPECT_EQ(cpuCacheStats().cachedBytes, 0);
    {
        const at::Tensor freedAtOnce = floats(2 * kMiB);
    }
    EXPECT_EQ(cpuCacheStats().cachedBytes, 0);
}

TEST_F(CpuAllocatorTest, ReleaseReturnsEveryCachedBlock)
{
    {
        const at::Tensor a = floats(2 * kMiB);
        const at::Tensor b = floats(3 * kMiB);
    }
    EXPECT_EQ(cpuCacheStats().cachedBytes, 5 * kMiB);
    releaseCachedCpuMemory();
    EXPECT_EQ(cpuCacheStats().cachedBytes, 0);
}

TEST_F(CpuAllocatorTest, TrimmingReturnsBlocksNotTakenSinceThePreviousTrim)
{
    // A train step's blocks are taken again by the next step and stay; the others go.
    {
        const at::Tensor once = floats(2 * kMiB); // an evaluation's, say
        const at::Tensor step = floats(3 * kMiB); // a step's
    }
    trimCpuCache(); // both were freed since the previous trim: kept
    EXPECT_EQ(cpuCacheStats().cachedBytes, 5 * kMiB);
    {
        const at::Tensor step = floats(3 * kMiB);
    }               // the next step takes its block again
    trimCpuCache(); // the 2 MiB block was not taken: returned
    EXPECT_EQ(cpuCacheStats().cachedBytes, 3 * kMiB);
    const CpuCacheStats before = cpuCacheStats();
    {
        const at::Tensor step = floats(3 * kMiB);
    }
    EXPECT_EQ(cpuCacheStats().hits - before.hits, 1);
    trimCpuCache();
    trimCpuCache(); // two trims without a request: nothing is left
    EXPECT_EQ(cpuCacheStats().cachedBytes, 0);
}

TEST_F(CpuAllocatorTest, RawAllocationsOfEverySizeRoundTrip)
{
    c10::Allocator* allocator = c10::GetCPUAllocator();
    ASSERT_NE(allocator->raw_deleter(), nullptr);
    for (const std::size_t size : {std::size_t{64}, std::size_t{3} << 20U}) {
        void* ptr = allocator->raw_allocate(size);
        ASSERT_NE(ptr, nullptr);
        std::memset(ptr, 0x5a, size);
        EXPECT_EQ(static_cast<unsigned char*>(ptr)[size - 1], 0x5a);
        allocator->raw_deallocate(ptr);
    }
    EXPECT_EQ(cpuCacheStats().cachedBytes, 3 * kMiB);
}

TEST_F(CpuAllocatorTest, ThreadsAllocatingAndFreeingTogetherLeaveNothingBehind)
{
    const std::int64_t liveBefore = cpuCacheStats().liveBytes;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t] {
            for (int i = 0; i < 200; ++i) {
                const at::Tensor x = at::full({(1 + (i + t) % 3) * kMiB / 4}, 1.0F);
                const at::Tensor y = x * 2.0F;
                ASSERT_EQ(y.sum().item<float>(), 2.0F * static_cast<float>(x.numel()));
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(cpuCacheStats().liveBytes, liveBefore);
    EXPECT_GT(cpuCacheStats().hits, 0);
}

#if defined(__GLIBC__)
// Not a fixture test: it holds with the cache off too. Tensors under 1 MiB come from the C
// library's heap; freed between tensors that stay, they leave holes that free() may keep
// resident (it returns only the heap's top on its own: in a fresh process, none of these holes).
// A sweep's next run would start from, and report as its own peak, the footprint of the
// hungrier run before it. Run alone, this test fails without the release's malloc_trim.
TEST(CpuMemoryReleaseTest, AfterTheReleaseHeapHolesBetweenTensorsThatStayAreNotResident)
{
    constexpr int kCount = 800;
    constexpr std::int64_t kHoleBytes = 64 * 1024; // under glibc's smallest mmap threshold
    std::vector<at::Tensor> holes;
    std::vector<at::Tensor> kept;
    for (int i = 0; i < kCount; ++i) {
        holes.push_back(floats(kHoleBytes).fill_(1.0F)); // touched: resident
        kept.push_back(floats(64));
    }
    releaseCachedCpuMemory();
    const std::int64_t withHoles = residentMemoryBytes();
    holes.clear();
    const std::int64_t afterFree = residentMemoryBytes();
    releaseCachedCpuMemory();
    const std::int64_t afterRelease = residentMemoryBytes();
    const std::int64_t freed = kCount * kHoleBytes; // 50 MiB
    ASSERT_GT(withHoles, 0) << "no /proc/self/statm";
    EXPECT_GT(withHoles - afterRelease, freed / 2)
        << "resident: " << withHoles << " with the tensors, " << afterFree << " after freeing, "
        << afterRelease << " after the release";
    EXPECT_EQ(kept.size(), static_cast<std::size_t>(kCount));
}
#endif

} // namespace
} // namespace ftw::core
