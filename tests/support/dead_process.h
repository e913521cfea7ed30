// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

#include <sys/wait.h>
#include <unistd.h>

namespace ftw::test {

/// The id of a process that existed and has ended (a child that exits at once and is reaped).
inline std::int64_t deadProcessId()
{
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return static_cast<std::int64_t>(child);
}

} // namespace ftw::test
