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

/// Starts a new peak of peakResidentMemoryBytes() at the current resident size (writes 5 to
/// /proc/self/clear_refs). Returns false where the kernel does not allow it; the peak then
/// counts from the start of the process.
bool resetPeakResidentMemory() noexcept;

/// The largest resident memory of this process in bytes since it started or since
/// resetPeakResidentMemory() (VmHWM of /proc/self/status); 0 when unknown.
[[nodiscard]] std::int64_t peakResidentMemoryBytes();

/// The physical memory of this machine in bytes (sysconf); 0 when unknown.
[[nodiscard]] std::int64_t physicalMemoryBytes();

} // namespace ftw::core
