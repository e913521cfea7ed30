// SPDX-License-Identifier: MIT
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string_view>

namespace ftw::core {

/// The device named by a run config: "auto" (cuda:0 when LibTorch sees a GPU, else the CPU),
/// "cpu", "cuda" or "cuda:N". Throws Error{DeviceUnavailable} naming the device when it is not
/// there, Error{InvalidConfig} for another name.
[[nodiscard]] c10::Device resolveDevice(std::string_view name);

/// The compute dtype of a precision setting on `device`: "auto" is bf16 on CUDA and fp32 on the
/// CPU; bf16 and fp16 need CUDA. Throws Error{InvalidConfig} otherwise.
[[nodiscard]] c10::ScalarType resolvePrecision(std::string_view precision,
                                               const c10::Device& device);

/// Turns CUDA autocast to `dtype` on for its lifetime (nothing for fp32 or the CPU), and restores
/// the previous state after. The one place that knows the autocast API of each LibTorch version.
class AutocastGuard {
public:
    AutocastGuard(const c10::Device& device, c10::ScalarType dtype);
    ~AutocastGuard();
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    bool m_isActive = false;
    bool m_wasEnabled = false;
    c10::ScalarType m_previousDtype = c10::ScalarType::Half;
};

/// The dtype CUDA autocast computes in right now on `device`; Float when it is off (or on the
/// CPU). What a recomputation must turn on again (nn/block_checkpoint).
[[nodiscard]] c10::ScalarType activeAutocastDtype(const c10::Device& device);

} // namespace ftw::core
