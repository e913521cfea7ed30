// SPDX-License-Identifier: MIT
#include "process.h"

#include <array>
#include <fstream>
#include <sstream>
#include <string>

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

bool resetPeakResidentMemory() noexcept
{
    std::ofstream clearRefs("/proc/self/clear_refs");
    clearRefs << "5";
    clearRefs.flush();
    return static_cast<bool>(clearRefs);
}

std::int64_t peakResidentMemoryBytes()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            std::istringstream fields(line.substr(6));
            std::int64_t kilobytes = 0;
            return fields >> kilobytes ? kilobytes * 1024 : 0;
        }
    }
    return 0;
}

std::int64_t physicalMemoryBytes()
{
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && pageSize > 0 ? static_cast<std::int64_t>(pages) * pageSize : 0;
}

} // namespace ftw::core
