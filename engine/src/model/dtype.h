// SPDX-License-Identifier: MIT
#pragma once

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <string_view>

namespace ftw::model {

/// Element types of safetensors files. The default value means "not known".
enum class DType { Unknown, F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// The safetensors name ("F32", "BF16", ...).
[[nodiscard]] std::string_view dtypeName(DType dtype);
/// Parses a safetensors name; DType::Unknown for any other text.
[[nodiscard]] DType parseDType(std::string_view name);
/// Bytes per element; 0 for Unknown.
[[nodiscard]] std::size_t dtypeSize(DType dtype);

[[nodiscard]] c10::ScalarType toScalarType(DType dtype);
/// Throws Error{InvalidArgument} for a torch type safetensors cannot hold.
[[nodiscard]] DType fromScalarType(c10::ScalarType type);

} // namespace ftw::model
