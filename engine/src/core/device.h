// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/engine.h>

#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

namespace ftw::core {

/// The CPU and every CUDA device LibTorch sees (checked at run time).
[[nodiscard]] std::vector<DeviceInfo> availableDevices();

/// Frees cached memory between jobs: the CUDA caching allocator's and the CPU cache's
/// (core/cpu_allocator.h).
void releaseCachedDeviceMemory() noexcept;

/// Waits until every queued kernel of `device` has finished (a no-op on the CPU). Timings of GPU
/// work call it at their ends; the train step itself never does.
void synchronize(const c10::Device& device);

/// Starts a new peak for peakMemoryBytes(device): the CUDA caching allocator's peak statistics,
/// or the process's peak resident memory on the CPU.
void resetPeakMemory(const c10::Device& device) noexcept;

/// The most memory in use on `device` since resetPeakMemory(): bytes allocated by LibTorch's
/// CUDA caching allocator, or the process's resident memory (VmHWM) on the CPU; 0 when unknown.
[[nodiscard]] std::int64_t peakMemoryBytes(const c10::Device& device);

/// Whether this build links a CUDA LibTorch (FTW_HAS_CUDA_LIBTORCH); without it, the CUDA memory
/// figures above are 0 and releaseCachedDeviceMemory() does nothing.
[[nodiscard]] bool isCudaLibTorch();

} // namespace ftw::core
