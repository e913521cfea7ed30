// SPDX-License-Identifier: MIT
#include "autocast.h"

#include "check.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <string>

namespace ftw::core {
namespace {

// LibTorch 2.4 replaced the CUDA-only autocast calls with per-device-type ones (and deprecated the
// old ones, which -Werror turns into errors).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define FTW_DEVICE_TYPE_AUTOCAST 1
#else
#define FTW_DEVICE_TYPE_AUTOCAST 0
#endif

bool isCudaAutocastEnabled()
{
#if FTW_DEVICE_TYPE_AUTOCAST
    return at::autocast::is_autocast_enabled(c10::DeviceType::CUDA);
#else
    return at::autocast::is_enabled();
#endif
}

void setCudaAutocast(bool isEnabled, c10::ScalarType dtype)
{
#if FTW_DEVICE_TYPE_AUTOCAST
    at::autocast::set_autocast_enabled(c10::DeviceType::CUDA, isEnabled);
    at::autocast::set_autocast_dtype(c10::DeviceType::CUDA, dtype);
#else
    at::autocast::set_enabled(isEnabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

c10::ScalarType cudaAutocastDtype()
{
#if FTW_DEVICE_TYPE_AUTOCAST
    return at::autocast::get_autocast_dtype(c10::DeviceType::CUDA);
#else
    return at::autocast::get_autocast_gpu_dtype();
#endif
}

} // namespace

c10::Device resolveDevice(std::string_view name)
{
    const auto cudaCount = static_cast<int>(torch::cuda::device_count());
    if (name == "auto") {
        return cudaCount > 0 ? c10::Device(c10::DeviceType::CUDA, 0) : c10::Device(c10::kCPU);
    }
    if (name == "cpu") {
        return c10::Device(c10::kCPU);
    }
    FTW_CHECK(name.starts_with("cuda"), ErrorCode::InvalidConfig,
              "unknown device '" + std::string(name) + "'; expected auto, cpu, cuda or cuda:N");
    int index = 0;
    if (name.size() > 4) {
        FTW_CHECK(name[4] == ':' && name.size() > 5, ErrorCode::InvalidConfig,
                  "unknown device '" + std::string(name) + "'; expected cuda or cuda:N");
        try {
            index = std::stoi(std::string(name.substr(5)));
        } catch (const std::exception&) {
            throw Error(ErrorCode::InvalidConfig,
                        "unknown device '" + std::string(name) + "'; expected cuda or cuda:N");
        }
    }
    FTW_CHECK(index >= 0 && index < cudaCount, ErrorCode::DeviceUnavailable,
              "device '" + std::string(name) + "' is not available: LibTorch sees " +
                  std::to_string(cudaCount) + " CUDA device(s); use device \"cpu\" or \"auto\"");
    return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index));
}

c10::ScalarType resolvePrecision(std::string_view precision, const c10::Device& device)
{
    if (precision == "auto") {
        return device.is_cuda() ? c10::ScalarType::BFloat16 : c10::ScalarType::Float;
    }
    if (precision == "fp32") {
        return c10::ScalarType::Float;
    }
    FTW_CHECK(precision == "bf16" || precision == "fp16", ErrorCode::InvalidConfig,
              "unknown precision '" + std::string(precision) +
                  "'; expected auto, fp32, bf16 or fp16");
    FTW_CHECK(device.is_cuda(), ErrorCode::InvalidConfig,
              "precision " + std::string(precision) +
                  " needs a CUDA device; the CPU trains in fp32 (set precision to auto or fp32)");
    return precision == "bf16" ? c10::ScalarType::BFloat16 : c10::ScalarType::Half;
}

AutocastGuard::AutocastGuard(const c10::Device& device, c10::ScalarType dtype)
{
    if (!device.is_cuda() || dtype == c10::ScalarType::Float) {
        return;
    }
    m_isActive = true;
    m_wasEnabled = isCudaAutocastEnabled();
    m_previousDtype = cudaAutocastDtype();
    setCudaAutocast(true, dtype);
    at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard()
{
    if (!m_isActive) {
        return;
    }
    if (at::autocast::decrement_nesting() == 0) {
        at::autocast::clear_cache();
    }
    setCudaAutocast(m_wasEnabled, m_previousDtype);
}

c10::ScalarType activeAutocastDtype(const c10::Device& device)
{
    return device.is_cuda() && isCudaAutocastEnabled() ? cudaAutocastDtype()
                                                       : c10::ScalarType::Float;
}

} // namespace ftw::core
