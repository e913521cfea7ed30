// SPDX-License-Identifier: MIT
#include "cpu_allocator.h"

#include "process.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ftw::core {
namespace {

/// LibTorch's CPU alignment (c10::gAlignment), enough for every vectorised kernel.
constexpr std::size_t kAlignment = 64;

/// The size a request of `n` bytes (n >= kMinCachedBytes) is served with: eight classes per
/// power of two, so a block is at most 1/8 larger than asked and requests that differ a little
/// (another sequence length) can share blocks.
std::size_t sizeClass(std::size_t n)
{
    const int floorLog2 = std::bit_width(n) - 1;
    const std::size_t step = std::size_t{1} << static_cast<unsigned>(floorLog2 - 3);
    return (n + step - 1) / step * step;
}

/// The cache limit from FTW_CPU_CACHE_MIB (a whole number of MiB), or the default.
std::size_t limitFromEnvironment()
{
    const char* text = std::getenv("FTW_CPU_CACHE_MIB");
    if (text == nullptr || *text == '\0') {
        return defaultCpuCacheBytes();
    }
    const std::string_view value(text);
    std::size_t mib = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mib);
    if (ec != std::errc() || end != value.data() + value.size() || mib > (SIZE_MAX >> 20U)) {
        return defaultCpuCacheBytes(); // not a number: the default rather than a failed start
    }
    return mib << 20U;
}

void deleteBlock(void* ptr);

/// Returns blocks to the system; called after m_mutex is released, so no one waits on munmap.
void freeBlocks(const std::vector<void*>& blocks)
{
    for (void* block : blocks) {
        std::free(block); // NOLINT(cppcoreguidelines-no-malloc): posix_memalign memory
    }
}

} // namespace

std::size_t defaultCpuCacheBytes()
{
    const auto quarter =
        static_cast<std::size_t>(std::max<std::int64_t>(physicalMemoryBytes(), 0) / 4);
    return std::clamp(quarter, kMinDefaultCpuCacheBytes, kMaxDefaultCpuCacheBytes);
}

namespace {

// NOTE: the members carry no `override` (so none is missing where others have it): LibTorch 1.x
// declares allocate() const and has no copy_data(), 2.3 and later declare allocate() non-const and
// copy_data() pure; both are defined so the class builds against each.
class CachingCpuAllocator final : public c10::Allocator {
    /// A freed block and the trim epoch it was freed in.
    struct Cached {
        void* ptr;
        std::uint64_t epoch;
    };
    using FreeLists = std::map<std::size_t, std::vector<Cached>>; ///< by size; the newest last

public:
    CachingCpuAllocator(c10::Allocator* fallback, std::size_t limit)
        : m_fallback(fallback), m_limit(limit)
    {
    }

    c10::DataPtr allocate(std::size_t n) const { return allocateBlock(n); }
    c10::DataPtr allocate(std::size_t n) { return allocateBlock(n); }

    void copy_data(void* dest, const void* src, std::size_t count) const
    {
        std::memcpy(dest, src, count);
    }

    // raw_allocate() hands out the data pointer alone; deleteBlock() frees what this allocator
    // cached or passed through, as both come from posix_memalign or LibTorch's alloc_cpu.
    c10::DeleterFnPtr raw_deleter() const { return &deleteBlock; }

    void release(void* ptr) const
    {
        std::vector<void*> toFree;
        {
            const std::lock_guard lock(m_mutex);
            const auto it = m_live.find(ptr);
            if (it == m_live.end()) {
                toFree.push_back(ptr); // a small block from the fallback (raw_deallocate)
            } else {
                const std::size_t size = it->second;
                m_live.erase(it);
                m_liveBytes -= size;
                if (size <= m_limit) {
                    makeRoom(size, toFree); // a block over the limit leaves the others cached
                }
                if (m_cachedBytes + size <= m_limit) {
                    m_free[size].push_back(Cached{ptr, m_epoch});
                    m_cachedBytes += size;
                } else {
                    toFree.push_back(ptr);
                }
            }
        }
        freeBlocks(toFree);
    }

    void setLimit(std::size_t bytes)
    {
        std::vector<void*> toFree;
        {
            const std::lock_guard lock(m_mutex);
            m_limit = bytes;
            makeRoom(0, toFree);
        }
        freeBlocks(toFree);
    }

    void releaseAll() const noexcept
    {
        std::vector<void*> toFree;
        {
            const std::lock_guard lock(m_mutex);
            for (auto& [size, blocks] : m_free) {
                for (const Cached& block : blocks) {
                    toFree.push_back(block.ptr);
                }
            }
            m_free.clear();
            m_cachedBytes = 0;
        }
        freeBlocks(toFree);
    }

    void trim() const noexcept
    {
        std::vector<void*> toFree;
        {
            const std::lock_guard lock(m_mutex);
            for (auto it = m_free.begin(); it != m_free.end();) {
                std::vector<Cached>& blocks = it->second;
                const auto stale = std::stable_partition(
                    blocks.begin(), blocks.end(),
                    [this](const Cached& block) { return block.epoch == m_epoch; });
                for (auto b = stale; b != blocks.end(); ++b) {
                    toFree.push_back(b->ptr);
                    m_cachedBytes -= it->first;
                }
                blocks.erase(stale, blocks.end());
                it = blocks.empty() ? m_free.erase(it) : std::next(it);
            }
            ++m_epoch;
        }
        freeBlocks(toFree);
    }

    CpuCacheStats stats() const
    {
        const std::lock_guard lock(m_mutex);
        return CpuCacheStats{.isInstalled = true,
                             .cachedBytes = static_cast<std::int64_t>(m_cachedBytes),
                             .liveBytes = static_cast<std::int64_t>(m_liveBytes),
                             .hits = m_hits,
                             .misses = m_misses};
    }

private:
    c10::DataPtr allocateBlock(std::size_t n) const
    {
        if (n < kMinCachedBytes) {
            return m_fallback->allocate(n);
        }
        const std::size_t size = sizeClass(n);
        void* ptr = takeCached(size);
        if (ptr == nullptr) {
            ptr = newBlock(size);
        }
        {
            const std::lock_guard lock(m_mutex);
            m_live.emplace(ptr, size);
            m_liveBytes += size;
        }
        return {ptr, ptr, &deleteBlock, c10::Device(c10::DeviceType::CPU)};
    }

    void* takeCached(std::size_t size) const
    {
        const std::lock_guard lock(m_mutex);
        const auto it = m_free.find(size);
        if (it == m_free.end()) {
            ++m_misses;
            return nullptr;
        }
        void* ptr = it->second.back().ptr;
        it->second.pop_back();
        if (it->second.empty()) {
            m_free.erase(it);
        }
        m_cachedBytes -= size;
        ++m_hits;
        return ptr;
    }

    void* newBlock(std::size_t size) const
    {
        void* ptr = nullptr;
        if (posix_memalign(&ptr, kAlignment, size) != 0) {
            // Cached blocks of other sizes may be what stands in the way.
            releaseAll();
            ptr = nullptr;
            TORCH_CHECK(posix_memalign(&ptr, kAlignment, size) == 0,
                        "CPU out of memory: cannot allocate ", size, " bytes");
        }
        return ptr;
    }

    /// Frees cached blocks, largest first, until `incoming` more bytes fit under the limit.
    /// Called with m_mutex held; the blocks to free are collected in `toFree`.
    void makeRoom(std::size_t incoming, std::vector<void*>& toFree) const
    {
        while (!m_free.empty() && m_cachedBytes + incoming > m_limit) {
            evict(std::prev(m_free.end()), toFree);
        }
    }

    /// Moves the newest block of the size `at` points to into `toFree` (m_mutex held).
    void evict(FreeLists::iterator at, std::vector<void*>& toFree) const
    {
        toFree.push_back(at->second.back().ptr);
        at->second.pop_back();
        m_cachedBytes -= at->first;
        if (at->second.empty()) {
            m_free.erase(at);
        }
    }

    c10::Allocator* m_fallback;
    mutable std::mutex m_mutex; // guards everything below
    std::size_t m_limit;
    mutable std::unordered_map<void*, std::size_t> m_live;
    mutable FreeLists m_free;
    mutable std::uint64_t m_epoch = 0; ///< trim() calls so far
    mutable std::size_t m_cachedBytes = 0;
    mutable std::size_t m_liveBytes = 0;
    mutable std::int64_t m_hits = 0;
    mutable std::int64_t m_misses = 0;
};

/// Never destroyed: tensors may be freed during static destruction.
std::atomic<CachingCpuAllocator*> g_allocator{nullptr};
std::once_flag g_installOnce;

void deleteBlock(void* ptr)
{
    if (ptr != nullptr) {
        g_allocator.load(std::memory_order_acquire)->release(ptr);
    }
}

} // namespace

bool installCachingCpuAllocator()
{
    std::call_once(g_installOnce, [] {
        const std::size_t limit = limitFromEnvironment();
        if (limit == 0) {
            return;
        }
        auto* allocator = new CachingCpuAllocator(c10::GetCPUAllocator(), limit); // NOLINT
        g_allocator.store(allocator, std::memory_order_release);
        c10::SetCPUAllocator(allocator, /*priority=*/1);
    });
    return g_allocator.load(std::memory_order_acquire) != nullptr;
}

void setCpuCacheLimit(std::size_t bytes)
{
    if (CachingCpuAllocator* allocator = g_allocator.load(std::memory_order_acquire)) {
        allocator->setLimit(bytes);
    }
}

void releaseCachedCpuMemory() noexcept
{
    if (const CachingCpuAllocator* allocator = g_allocator.load(std::memory_order_acquire)) {
        allocator->releaseAll();
    }
#if defined(__GLIBC__)
    // glibc keeps what smaller tensors freed in its heaps (and raises its mmap threshold after
    // large frees, so later tensors of up to 32 MiB land there too): without this, a run that
    // follows a hungrier one in the same process starts from, and reports, that one's footprint.
    (void)::malloc_trim(0);
#endif
}

void trimCpuCache() noexcept
{
    if (const CachingCpuAllocator* allocator = g_allocator.load(std::memory_order_acquire)) {
        allocator->trim();
    }
}

CpuCacheStats cpuCacheStats()
{
    const CachingCpuAllocator* allocator = g_allocator.load(std::memory_order_acquire);
    return allocator == nullptr ? CpuCacheStats{} : allocator->stats();
}

} // namespace ftw::core
