// SPDX-License-Identifier: MIT
#include "dtype.h"

#include <ftw/error.h>

#include <array>
#include <string>
#include <tuple>

namespace ftw::model {
namespace {

struct DTypeRow {
    DType dtype;
    std::string_view name;
    std::size_t size;
    c10::ScalarType scalarType;
};

constexpr std::array<DTypeRow, 10> kDTypes{{
    {DType::F64, "F64", 8, c10::ScalarType::Double},
    {DType::F32, "F32", 4, c10::ScalarType::Float},
    {DType::F16, "F16", 2, c10::ScalarType::Half},
    {DType::BF16, "BF16", 2, c10::ScalarType::BFloat16},
    {DType::I64, "I64", 8, c10::ScalarType::Long},
    {DType::I32, "I32", 4, c10::ScalarType::Int},
    {DType::I16, "I16", 2, c10::ScalarType::Short},
    {DType::I8, "I8", 1, c10::ScalarType::Char},
    {DType::U8, "U8", 1, c10::ScalarType::Byte},
    {DType::Bool, "BOOL", 1, c10::ScalarType::Bool},
}};

const DTypeRow* find(DType dtype)
{
    for (const DTypeRow& row : kDTypes) {
        if (row.dtype == dtype) {
            return &row;
        }
    }
    return nullptr;
}

} // namespace

std::string_view dtypeName(DType dtype)
{
    const DTypeRow* row = find(dtype);
    return row != nullptr ? row->name : "UNKNOWN";
}

DType parseDType(std::string_view name)
{
    for (const DTypeRow& row : kDTypes) {
        if (row.name == name) {
            return row.dtype;
        }
    }
    return DType::Unknown;
}

std::size_t dtypeSize(DType dtype)
{
    const DTypeRow* row = find(dtype);
    return row != nullptr ? row->size : 0;
}

c10::ScalarType toScalarType(DType dtype)
{
    const DTypeRow* row = find(dtype);
    if (row == nullptr) {
        throw Error(ErrorCode::InvalidArgument, "no torch type for an unknown dtype");
    }
    return row->scalarType;
}

DType fromScalarType(c10::ScalarType type)
{
    for (const DTypeRow& row : kDTypes) {
        if (row.scalarType == type) {
            return row.dtype;
        }
    }
    throw Error(ErrorCode::InvalidArgument,
                std::string("safetensors cannot hold tensors of type ") + c10::toString(type));
}

} // namespace ftw::model
