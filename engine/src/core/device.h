// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/engine.h>

#include <vector>

namespace ftw::core {

/// The CPU and every CUDA device LibTorch sees (checked at run time; there are no CUDA #ifdefs).
[[nodiscard]] std::vector<DeviceInfo> availableDevices();

/// Frees cached device memory between jobs (a no-op without CUDA).
void releaseCachedDeviceMemory() noexcept;

} // namespace ftw::core
