// SPDX-License-Identifier: MIT
// The safetensors format read and checked: header, dtypes, shapes and byte ranges. Free of
// LibTorch's operators (what makes or fills tensors is in safetensors_tensors.cpp), so the
// fuzz targets build it alone.
#include "safetensors.h"

#include "core/check.h"

#include <ftw/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <system_error>
#include <utility>

namespace ftw::model {
namespace {

[[noreturn]] void malformed(const std::filesystem::path& path, const std::string& what)
{
    throw Error(ErrorCode::ModelFormat,
                "'" + path.string() + "' is not a valid safetensors file: " + what);
}

std::uint64_t readLittleEndian64(const std::byte* data)
{
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i) {
        value = (value << 8U) | static_cast<std::uint64_t>(data[i]);
    }
    return value;
}

// Multiplies with an overflow check; returns false on overflow.
bool multiplyChecked(std::uint64_t a, std::uint64_t b, std::uint64_t& out)
{
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
        return false;
    }
    out = a * b;
    return true;
}

TensorInfo parseEntry(const std::filesystem::path& path, const std::string& name,
                      const nlohmann::json& entry)
{
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) {
        malformed(path, where + ": expected an object with dtype, shape and data_offsets");
    }
    TensorInfo info;
    info.name = name;
    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string()) {
        malformed(path, where + ": missing or non-string \"dtype\"");
    }
    info.dtype = parseDType(dtype->get<std::string>());
    if (info.dtype == DType::Unknown) {
        malformed(path, where + ": unsupported dtype \"" + dtype->get<std::string>() +
                            "\" (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
    }
    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) {
        malformed(path, where + ": missing or non-array \"shape\"");
    }
    for (const nlohmann::json& dim : *shape) {
        if (!dim.is_number_unsigned() &&
            !(dim.is_number_integer() && dim.get<std::int64_t>() >= 0)) {
            malformed(path,
                      where + ": \"shape\" must hold non-negative integers, got " + shape->dump());
        }
        info.shape.push_back(dim.get<std::int64_t>());
    }
    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
        malformed(path,
                  where + ": \"data_offsets\" must be [begin, end] with non-negative integers");
    }
    info.begin = (*offsets)[0].get<std::uint64_t>();
    info.end = (*offsets)[1].get<std::uint64_t>();
    if (info.end < info.begin) {
        malformed(path, where + ": data_offsets end " + std::to_string(info.end) +
                            " is before begin " + std::to_string(info.begin));
    }
    std::uint64_t expected = dtypeSize(info.dtype);
    for (const std::int64_t dim : info.shape) {
        if (!multiplyChecked(expected, static_cast<std::uint64_t>(dim), expected)) {
            malformed(path, where + ": shape " + shape->dump() + " is too large");
        }
    }
    if (info.end - info.begin != expected) {
        malformed(path, where + ": " + std::string(dtypeName(info.dtype)) + " " + shape->dump() +
                            " needs " + std::to_string(expected) + " bytes but data_offsets give " +
                            std::to_string(info.end - info.begin));
    }
    return info;
}

} // namespace

std::int64_t TensorInfo::numel() const
{
    std::int64_t count = 1;
    for (const std::int64_t dim : shape) {
        count *= dim;
    }
    return count;
}

SafetensorsFile::SafetensorsFile(core::MappedFile file, std::uint64_t dataStart,
                                 std::vector<TensorInfo> tensors,
                                 std::map<std::string, std::string> metadata)
    : m_file(std::move(file))
    , m_dataStart(dataStart)
    , m_tensors(std::move(tensors))
    , m_metadata(std::move(metadata))
{
    for (std::size_t i = 0; i < m_tensors.size(); ++i) {
        m_index.emplace(m_tensors[i].name, i);
    }
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path)
{
    core::MappedFile file(path);
    const std::span<const std::byte> bytes = file.bytes();
    if (bytes.size() < kSafetensorsLengthBytes) {
        malformed(path, "it has " + std::to_string(bytes.size()) +
                            " bytes, fewer than the 8-byte header length (truncated?)");
    }
    const std::uint64_t headerBytes = readLittleEndian64(bytes.data());
    if (headerBytes > kMaxHeaderBytes) {
        malformed(path, "the header length " + std::to_string(headerBytes) +
                            " exceeds the limit of 100000000 bytes");
    }
    if (headerBytes > bytes.size() - kSafetensorsLengthBytes) {
        malformed(path, "the header length " + std::to_string(headerBytes) +
                            " runs past the end of "
                            "the file (" +
                            std::to_string(bytes.size()) + " bytes; truncated?)");
    }
    const std::string_view headerText(
        reinterpret_cast<const char*>(bytes.data() + kSafetensorsLengthBytes), headerBytes);
    if (headerText.empty() || headerText.front() != '{') {
        malformed(path, "the header does not start with '{'");
    }
    const nlohmann::json header = nlohmann::json::parse(headerText, nullptr, false);
    if (header.is_discarded() || !header.is_object()) {
        malformed(path, "the header is not a JSON object");
    }

    std::vector<TensorInfo> tensors;
    std::map<std::string, std::string> metadata;
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            if (!value.is_object()) {
                malformed(path, "\"__metadata__\" must be an object of strings");
            }
            for (const auto& [metaKey, metaValue] : value.items()) {
                if (!metaValue.is_string()) {
                    malformed(path, "metadata \"" + metaKey + "\" must be a string");
                }
                metadata.emplace(metaKey, metaValue.get<std::string>());
            }
            continue;
        }
        tensors.push_back(parseEntry(path, key, value));
    }

    // The data section must be covered exactly: sorted by offset, each tensor starts where the
    // previous one ended, and the last ends at the end of the file. Empty tensors (begin == end)
    // sort before a tensor that starts at the same offset.
    std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    const std::uint64_t dataBytes = bytes.size() - kSafetensorsLengthBytes - headerBytes;
    std::uint64_t cursor = 0;
    for (const TensorInfo& t : tensors) {
        if (t.end > dataBytes) {
            malformed(path, "tensor '" + t.name + "': data_offsets [" + std::to_string(t.begin) +
                                ", " + std::to_string(t.end) + "] run past the data section (" +
                                std::to_string(dataBytes) + " bytes; truncated?)");
        }
        if (t.begin < cursor) {
            malformed(path, "tensor '" + t.name + "' overlaps the tensor before it (offset " +
                                std::to_string(t.begin) + " < " + std::to_string(cursor) + ")");
        }
        if (t.begin > cursor) {
            malformed(path, "there is a gap of " + std::to_string(t.begin - cursor) +
                                " unused bytes before tensor '" + t.name + "'");
        }
        cursor = t.end;
    }
    if (cursor != dataBytes) {
        malformed(path, "the data section has " + std::to_string(dataBytes) +
                            " bytes but the tensors cover " + std::to_string(cursor));
    }
    return SafetensorsFile(std::move(file), kSafetensorsLengthBytes + headerBytes,
                           std::move(tensors), std::move(metadata));
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const
{
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& info) const
{
    return m_file.bytes().subspan(m_dataStart + info.begin, info.end - info.begin);
}

bool SafetensorsFile::hasBytes(const std::string& name, std::span<const std::byte> expected) const
{
    const TensorInfo* info = find(name);
    if (info == nullptr || info->end - info->begin != expected.size()) {
        return false;
    }
    constexpr std::size_t kChunk = std::size_t{8} << 20U;
    std::vector<std::byte> buffer(std::min(kChunk, expected.size()));
    for (std::size_t done = 0; done < expected.size(); done += buffer.size()) {
        const std::size_t count = std::min(buffer.size(), expected.size() - done);
        m_file.readAt(static_cast<std::size_t>(m_dataStart + info->begin) + done,
                      {buffer.data(), count});
        if (std::memcmp(buffer.data(), expected.data() + done, count) != 0) {
            return false;
        }
    }
    return true;
}

} // namespace ftw::model
