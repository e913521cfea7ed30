// SPDX-License-Identifier: MIT
#include "mapped_file.h"

#include "check.h"

#include <ftw/error.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ftw::core {

MappedFile::MappedFile(const std::filesystem::path& path) : m_path(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw Error(ErrorCode::Io, "cannot open '" + path.string() + "': " + std::strerror(errno));
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(ErrorCode::Io, "cannot read '" + path.string() + "': " + std::strerror(err));
    }
    m_size = static_cast<std::size_t>(info.st_size);
    if (m_size > 0) {
        void* data = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error(ErrorCode::Io, "cannot map '" + path.string() + "': " + std::strerror(err));
        }
        m_data = static_cast<const std::byte*>(data);
    }
    m_fd = fd;
}

void MappedFile::readAt(std::size_t offset, std::span<std::byte> out) const
{
    FTW_CHECK(offset <= m_size && out.size() <= m_size - offset, ErrorCode::Internal,
              "reading past the end of '" + m_path.string() + "'");
    std::size_t done = 0;
    while (done < out.size()) {
        const ::ssize_t got = ::pread(m_fd, out.data() + done, out.size() - done,
                                      static_cast<::off_t>(offset + done));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        FTW_CHECK(got > 0, ErrorCode::Io,
                  "cannot read '" + m_path.string() + "': " +
                      (got < 0 ? std::string(std::strerror(errno)) : "the file got shorter"));
        done += static_cast<std::size_t>(got);
    }
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_path(std::move(other.m_path))
    , m_data(std::exchange(other.m_data, nullptr))
    , m_size(std::exchange(other.m_size, 0))
    , m_fd(std::exchange(other.m_fd, -1))
{
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept
{
    if (this != &other) {
        release();
        m_path = std::move(other.m_path);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
        m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
}

MappedFile::~MappedFile()
{
    release();
}

void MappedFile::release() noexcept
{
    if (m_data != nullptr) {
        ::munmap(const_cast<std::byte*>(m_data), m_size);
        m_data = nullptr;
        m_size = 0;
    }
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
}

} // namespace ftw::core
