// SPDX-License-Identifier: MIT
// A caching CPU allocator for LibTorch: freed blocks of kMinCachedBytes and more are kept and
// handed out again instead of going back to the system. Without it, every large tensor of a
// train step (activations, logits and their gradients) is a fresh mmap whose pages the kernel
// faults in and zeroes, and every free is an munmap: about 120,000 page faults per step on the
// Qwen2.5-0.5B shape. Smaller requests go to LibTorch's own CPU allocator unchanged.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ftw::core {

/// Requests below this size are not cached (glibc serves them from its heap anyway).
inline constexpr std::size_t kMinCachedBytes = std::size_t{1} << 20U;

/// The bounds of the default cache limit.
inline constexpr std::size_t kMinDefaultCpuCacheBytes = std::size_t{256} << 20U;
inline constexpr std::size_t kMaxDefaultCpuCacheBytes = std::size_t{2048} << 20U;

/// The cache limit when FTW_CPU_CACHE_MIB is not set: a quarter of physical memory within
/// [kMinDefaultCpuCacheBytes, kMaxDefaultCpuCacheBytes].
[[nodiscard]] std::size_t defaultCpuCacheBytes();

/// Installs the caching allocator as LibTorch's CPU allocator, once per process (later calls
/// do nothing). The environment variable FTW_CPU_CACHE_MIB sets the limit in MiB; 0 leaves
/// LibTorch's allocator in place. Call it before threads allocate tensors (Engine::create does).
/// Returns whether the caching allocator is installed.
bool installCachingCpuAllocator();

/// The most bytes of freed blocks the cache keeps; beyond it, the largest cached blocks are
/// returned to the system first. 0 frees every cached block and caches nothing more.
void setCpuCacheLimit(std::size_t bytes);

/// Returns every cached block to the system (between jobs), and the C library's free heap memory
/// (malloc_trim). Blocks in use are untouched.
void releaseCachedCpuMemory() noexcept;

/// Returns the cached blocks that were freed before the previous call and not taken since. The
/// trainer calls it after every optimiser step: a step's blocks are taken again by the next
/// step, while those of shapes that do not recur (a loader's, an evaluation's) go back within a
/// step instead of staying cached up to the limit.
void trimCpuCache() noexcept;

struct CpuCacheStats {
    bool isInstalled = false;
    std::int64_t cachedBytes = 0; ///< freed blocks held for reuse
    std::int64_t liveBytes = 0;   ///< blocks of the cached sizes in use
    std::int64_t hits = 0;        ///< requests served from the cache
    std::int64_t misses = 0;      ///< requests of a cached size that needed new memory
};

[[nodiscard]] CpuCacheStats cpuCacheStats();

} // namespace ftw::core
