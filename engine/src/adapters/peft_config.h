// SPDX-License-Identifier: MIT
#pragma once

#include "adapter_config.h"

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace ftw::adapters {

/// The FTW adapter settings an adapter_config.json describes. Throws Error{ModelFormat} naming
/// the file and field for a missing or mistyped field or a peft_type FTW does not build.
[[nodiscard]] AdapterConfig parseAdapterConfig(const nlohmann::json& json,
                                               const std::string& source);

} // namespace ftw::adapters
