// SPDX-License-Identifier: MIT
// The one precompiled header for every torch-using target (ftw_torch_pch). The only file that
// includes <torch/torch.h>; sources include the narrow headers they use.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
