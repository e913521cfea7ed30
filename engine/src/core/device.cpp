// SPDX-License-Identifier: MIT
#include "device.h"

#include "process.h"

#include <torch/cuda.h>

#include <string>
#include <thread>

namespace ftw::core {

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
        devices.push_back(DeviceInfo{
            .name = "cuda:" + std::to_string(i),
            .description = "CUDA device " + std::to_string(i),
            .isCuda = true,
            // TODO(engine): the device's memory through c10::cuda on a CUDA LibTorch (#9).
            .totalMemoryBytes = 0,
        });
    }
    return devices;
}

void releaseCachedDeviceMemory() noexcept
{
    // TODO(engine): empty the CUDA caching allocator through c10::cuda when built against a CUDA
    // LibTorch (#9); a CPU LibTorch has no cache to release.
}

} // namespace ftw::core
