// SPDX-License-Identifier: MIT
#include "process.h"

#include <array>
#include <fstream>

#include <cerrno>
#include <csignal>
#include <sys/types.h>
#include <unistd.h>

namespace ftw::core {

std::int64_t currentProcessId()
{
    return static_cast<std::int64_t>(::getpid());
}

std::string hostName()
{
    std::array<char, 256> buffer{};
    if (::gethostname(buffer.data(), buffer.size() - 1) != 0) {
        return {};
    }
    return std::string(buffer.data());
}

bool isProcessAlive(std::int64_t pid)
{
    if (pid <= 0) {
        return false;
    }
    if (::kill(static_cast<pid_t>(pid), 0) == 0) {
        return true;
    }
    return errno == EPERM; // it exists but belongs to another user
}

std::int64_t residentMemoryBytes()
{
    // statm: total and resident size in pages.
    std::ifstream statm("/proc/self/statm");
    std::int64_t totalPages = 0;
    std::int64_t residentPages = 0;
    if (!(statm >> totalPages >> residentPages)) {
        return 0;
    }
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    return pageSize > 0 ? residentPages * pageSize : 0;
}

} // namespace ftw::core
