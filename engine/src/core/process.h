// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>

namespace ftw::core {

/// The id of this process.
[[nodiscard]] std::int64_t currentProcessId();

/// This machine's host name ("" when unknown).
[[nodiscard]] std::string hostName();

/// Whether a process with this id exists on this machine. NOTE: a process id can be reused after
/// its owner dies; the store accepts that small risk (it then leaves a dead run marked running
/// until that id is free again).
[[nodiscard]] bool isProcessAlive(std::int64_t pid);

/// The resident memory of this process in bytes (from /proc/self/statm); 0 when unknown.
[[nodiscard]] std::int64_t residentMemoryBytes();

} // namespace ftw::core
