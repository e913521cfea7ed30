// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ftw {

/// Human-readable figures shared by the command line and the workbench, so both say the same.

/// "40 ms", "1.2 s", "3 min 04 s", "2 h 05 min".
[[nodiscard]] std::string formatDuration(std::int64_t ms);

/// "789", "45.6K", "1.23M", "7.50B"; "-" when there is no count.
[[nodiscard]] std::string formatCount(std::optional<std::int64_t> count);

/// Every digit, in groups of three: "41,943,040", "-1,024".
[[nodiscard]] std::string formatGrouped(std::int64_t value);

/// Binary units with three significant digits: "512 B", "1.50 KiB", "160 MiB", "15.0 GiB".
[[nodiscard]] std::string formatBytes(std::int64_t bytes);

} // namespace ftw
