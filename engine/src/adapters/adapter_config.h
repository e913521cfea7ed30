// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/adapter_config.h>

namespace ftw::adapters {

/// The engine's short names for the public adapter types.
using Method = AdapterMethod;
using ftw::AdapterConfig;

[[nodiscard]] inline std::string_view methodName(Method method)
{
    return adapterMethodName(method);
}

} // namespace ftw::adapters
