// SPDX-License-Identifier: MIT
#include "device.h"

#include "cpu_allocator.h"
#include "process.h"

#include <torch/cuda.h>

#if FTW_HAS_CUDA_LIBTORCH
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

#include <string>
#include <thread>

namespace ftw::core {
namespace {

#if FTW_HAS_CUDA_LIBTORCH
namespace allocator = c10::cuda::CUDACachingAllocator;

/// The aggregate entry of a statistic's array (StatType::AGGREGATE is 0 in every LibTorch 2.x;
/// the enum moved between namespaces in 2.5).
constexpr std::size_t kAggregate = 0;

std::int64_t cudaTotalMemory(int index)
{
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(index));
    std::size_t free = 0;
    std::size_t total = 0;
    return cudaMemGetInfo(&free, &total) == cudaSuccess ? static_cast<std::int64_t>(total) : 0;
}
#endif

} // namespace

std::vector<DeviceInfo> availableDevices()
{
    std::vector<DeviceInfo> devices;
    const unsigned cores = std::thread::hardware_concurrency();
    devices.push_back(DeviceInfo{
        .name = "cpu",
        .description = "CPU, " + std::to_string(cores) + " hardware threads",
        .isCuda = false,
        .totalMemoryBytes = physicalMemoryBytes(),
    });
    const auto cudaCount = static_cast<int>(torch::cuda::device_count());
    for (int i = 0; i < cudaCount; ++i) {
        std::int64_t total = 0;
        std::string description = "CUDA device " + std::to_string(i);
#if FTW_HAS_CUDA_LIBTORCH
        total = cudaTotalMemory(i);
        cudaDeviceProp properties{};
        if (cudaGetDeviceProperties(&properties, i) == cudaSuccess) {
            description += ", " + std::string(properties.name);
        }
#endif
        devices.push_back(DeviceInfo{
            .name = "cuda:" + std::to_string(i),
            .description = description,
            .isCuda = true,
            .totalMemoryBytes = total,
        });
    }
    return devices;
}

void releaseCachedDeviceMemory() noexcept
{
    releaseCachedCpuMemory();
#if FTW_HAS_CUDA_LIBTORCH
    if (torch::cuda::is_available()) {
        allocator::emptyCache();
    }
#endif
}

void synchronize(const c10::Device& device)
{
#if FTW_HAS_CUDA_LIBTORCH
    if (device.is_cuda()) {
        const c10::cuda::CUDAGuard guard(device);
        c10::cuda::device_synchronize();
    }
#else
    (void)device;
#endif
}

void resetPeakMemory(const c10::Device& device) noexcept
{
    if (!device.is_cuda()) {
        (void)resetPeakResidentMemory();
        return;
    }
#if FTW_HAS_CUDA_LIBTORCH
    allocator::resetPeakStats(device.has_index() ? device.index() : 0);
#endif
}

std::int64_t peakMemoryBytes(const c10::Device& device)
{
    if (!device.is_cuda()) {
        return peakResidentMemoryBytes();
    }
#if FTW_HAS_CUDA_LIBTORCH
    const auto stats = allocator::getDeviceStats(device.has_index() ? device.index() : 0);
    return stats.allocated_bytes[kAggregate].peak;
#else
    return 0;
#endif
}

bool isCudaLibTorch()
{
    return FTW_HAS_CUDA_LIBTORCH != 0;
}

} // namespace ftw::core
