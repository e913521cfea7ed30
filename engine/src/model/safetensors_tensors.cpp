// SPDX-License-Identifier: MIT
// Safetensors and tensors: a stored tensor loaded into one (from a file or a checkpoint's shard),
// and tensors written as a file. Apart from the parsing (safetensors.cpp, checkpoint.cpp), which
// needs no tensor operator.
#include "safetensors.h"

#include "checkpoint.h"

#include "core/check.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstring>
#include <fstream>
#include <set>
#include <system_error>
#include <utility>

namespace ftw::model {

at::Tensor SafetensorsFile::load(const std::string& name) const
{
    const TensorInfo* info = find(name);
    if (info == nullptr) {
        throw Error(ErrorCode::ModelFormat,
                    "'" + path().string() + "' has no tensor '" + name + "'");
    }
    at::Tensor tensor =
        at::empty(info->shape, at::TensorOptions().dtype(toScalarType(info->dtype)));
    const std::span<const std::byte> data = bytes(*info);
    if (!data.empty()) {
        std::memcpy(tensor.data_ptr(), data.data(), data.size()); // unaligned-safe copy
    }
    return tensor;
}

void SafetensorsFile::loadInto(const std::string& name, at::Tensor& destination) const
{
    const TensorInfo* info = find(name);
    if (info == nullptr || toScalarType(info->dtype) != destination.scalar_type() ||
        !destination.is_cpu() || !destination.is_contiguous()) {
        destination.copy_(load(name));
        return;
    }
    const std::span<const std::byte> data = bytes(*info);
    FTW_CHECK(std::cmp_equal(data.size(), destination.nbytes()), ErrorCode::ModelFormat,
              "'" + path().string() + "': tensor '" + name + "' has " +
                  std::to_string(data.size()) + " bytes, not the " +
                  std::to_string(destination.nbytes()) + " of its shape");
    if (!data.empty()) {
        m_file.readAt(static_cast<std::size_t>(m_dataStart + info->begin),
                      {static_cast<std::byte*>(destination.data_ptr()), data.size()});
    }
}

void writeSafetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }
    std::vector<at::Tensor> contiguous;
    contiguous.reserve(tensors.size());
    std::set<std::string> names;
    std::uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (!names.insert(name).second || name == "__metadata__") {
            throw Error(ErrorCode::InvalidArgument, "writing '" + path.string() +
                                                        "': duplicate or reserved tensor name '" +
                                                        name + "'");
        }
        const DType dtype = fromScalarType(tensor.scalar_type());
        at::Tensor data = tensor.detach().to(at::kCPU).contiguous();
        const std::uint64_t size = static_cast<std::uint64_t>(data.numel()) * dtypeSize(dtype);
        header[name] = {{"dtype", dtypeName(dtype)},
                        {"shape", data.sizes().vec()},
                        {"data_offsets", {offset, offset + size}}};
        offset += size;
        contiguous.push_back(std::move(data));
    }
    std::string headerText = header.dump();
    headerText.append((8 - headerText.size() % 8) % 8, ' '); // data starts 8-byte aligned

    std::filesystem::path partial = path;
    partial += ".partial";
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    std::array<char, kSafetensorsLengthBytes> length{};
    const std::uint64_t headerBytes = headerText.size();
    for (std::size_t i = 0; i < kSafetensorsLengthBytes; ++i) {
        length[i] = static_cast<char>((headerBytes >> (8U * i)) & 0xFFU);
    }
    out.write(length.data(), length.size());
    out.write(headerText.data(), static_cast<std::streamsize>(headerText.size()));
    for (const at::Tensor& data : contiguous) {
        out.write(static_cast<const char*>(data.data_ptr()),
                  static_cast<std::streamsize>(data.numel() * data.element_size()));
    }
    out.flush();
    const bool isWritten = static_cast<bool>(out);
    out.close();
    std::error_code ec;
    if (isWritten) {
        std::filesystem::rename(partial, path, ec);
    }
    if (!isWritten || ec) {
        std::filesystem::remove(partial, ec);
        throw Error(ErrorCode::Io,
                    "cannot write '" + path.string() + "' (disk full or no access?)");
    }
}

at::Tensor Checkpoint::load(const std::string& name) const
{
    return shardHolding(name).load(name);
}

void Checkpoint::loadInto(const std::string& name, at::Tensor& destination) const
{
    shardHolding(name).loadInto(name, destination);
}

} // namespace ftw::model
