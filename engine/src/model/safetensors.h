// SPDX-License-Identifier: MIT
#pragma once

#include "dtype.h"

#include "core/mapped_file.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ftw::model {

/// The bytes of a safetensors file's first field, the header's length (little-endian).
inline constexpr std::size_t kSafetensorsLengthBytes = 8;

/// One tensor's entry in a safetensors header. Offsets are relative to the data section.
struct TensorInfo {
    std::string name;
    DType dtype = DType::Unknown;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;

    [[nodiscard]] std::int64_t numel() const;
};

/// A safetensors file, memory-mapped and validated on open: the header's size and JSON, every
/// dtype, shape and byte range (inside the data section, matching dtype x shape, no overlaps, no
/// gaps). Read-only and immutable after open; safe to read from several threads.
class SafetensorsFile {
public:
    /// The largest header accepted (as the reference implementation: 100 MB).
    static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

    /// Throws Error{ModelFormat} naming the file (and the tensor) for any malformed content,
    /// Error{Io} when the file cannot be read.
    static SafetensorsFile open(const std::filesystem::path& path);

    [[nodiscard]] const std::filesystem::path& path() const { return m_file.path(); }
    /// Tensors in the order of their data offsets.
    [[nodiscard]] const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    /// nullptr when the file has no tensor of this name.
    [[nodiscard]] const TensorInfo* find(const std::string& name) const;
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    /// The raw little-endian bytes of a tensor, pointing into the mapping.
    [[nodiscard]] std::span<const std::byte> bytes(const TensorInfo& info) const;
    /// A CPU tensor with a copy of the data, in the file's dtype. Throws Error{ModelFormat} for an
    /// unknown name.
    [[nodiscard]] at::Tensor load(const std::string& name) const;
    /// Writes the tensor into `destination` (same shape), converting the dtype: straight from the
    /// file's bytes when the dtypes match and `destination` is a contiguous CPU tensor, without
    /// the intermediate copy of load(). Throws Error{ModelFormat} for an unknown name.
    void loadInto(const std::string& name, at::Tensor& destination) const;
    /// Whether the stored bytes of tensor `name` are exactly `expected`, read with pread in
    /// chunks (nothing of the tensor's size is allocated). False for an unknown name.
    [[nodiscard]] bool hasBytes(const std::string& name, std::span<const std::byte> expected) const;

private:
    SafetensorsFile(core::MappedFile file, std::uint64_t dataStart, std::vector<TensorInfo> tensors,
                    std::map<std::string, std::string> metadata);

    core::MappedFile m_file;
    std::uint64_t m_dataStart = 0;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, std::size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

/// Writes tensors (any device, contiguous or not; F64/F32/F16/BF16 and integer types) with string
/// metadata to `path` in the safetensors format, through `<path>.partial` renamed when complete.
/// Names must be unique. Throws Error{InvalidArgument} for duplicate names or an unsupported type,
/// Error{Io} when writing fails (the partial file is removed).
void writeSafetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

} // namespace ftw::model
