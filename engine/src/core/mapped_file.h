// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace ftw::core {

/// A read-only memory map of a whole file. Move-only. Throws Error{Io} naming the file when it
/// cannot be opened or mapped. An empty file maps to an empty span.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    [[nodiscard]] std::span<const std::byte> bytes() const { return {m_data, m_size}; }

    /// Reads out.size() bytes from `offset` into `out` with pread: the same bytes as bytes(), but
    /// copied by the kernel from its page cache, without faulting the mapping's pages in one by
    /// one (loading a whole model goes this way). Throws Error{Io} naming the file.
    void readAt(std::size_t offset, std::span<std::byte> out) const;
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
    void release() noexcept;

    std::filesystem::path m_path;
    const std::byte* m_data = nullptr;
    std::size_t m_size = 0;
    int m_fd = -1; ///< kept open for readAt()
};

} // namespace ftw::core
