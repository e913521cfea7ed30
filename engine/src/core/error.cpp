// SPDX-License-Identifier: MIT
#include <ftw/error.h>

#include "enum_names.h"

#include <array>
#include <utility>

namespace ftw {
namespace {

constexpr core::NameTable<ErrorCode, 10> kErrorCodeNames{{
    {ErrorCode::None, "none"},
    {ErrorCode::InvalidConfig, "invalid_config"},
    {ErrorCode::InvalidArgument, "invalid_argument"},
    {ErrorCode::NotFound, "not_found"},
    {ErrorCode::ModelFormat, "model_format"},
    {ErrorCode::DeviceUnavailable, "device_unavailable"},
    {ErrorCode::OutOfMemory, "out_of_memory"},
    {ErrorCode::Storage, "storage"},
    {ErrorCode::Io, "io"},
    {ErrorCode::Internal, "internal"},
}};

} // namespace

std::string_view errorCodeName(ErrorCode code)
{
    return core::nameOf(kErrorCodeNames, code, "internal");
}

ErrorCode parseErrorCode(std::string_view name)
{
    return core::valueOf(kErrorCodeNames, name).value_or(ErrorCode::Internal);
}

Error::Error(ErrorCode code, const std::string& message, std::string detail)
    : std::runtime_error(message), m_code(code), m_detail(std::move(detail))
{
}

ErrorInfo Error::info() const
{
    return ErrorInfo{m_code, what(), m_detail};
}

} // namespace ftw
