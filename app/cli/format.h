// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ftw::cli {

/// "1.2 s", "3 min 04 s", "2 h 05 min".
[[nodiscard]] std::string formatDuration(std::int64_t ms);
/// Local time "2026-11-22 14:03".
[[nodiscard]] std::string formatTimestamp(std::int64_t unixMs);
/// "1.23M", "456K", "789".
[[nodiscard]] std::string formatCount(std::optional<std::int64_t> count);
/// Fixed 4 decimals or "-".
[[nodiscard]] std::string formatLoss(std::optional<double> value);

/// The JSON of a run as `runs list --json` and `runs show --json` print it.
[[nodiscard]] nlohmann::json runSummaryJson(const RunSummary& run, std::int64_t nowMs);
[[nodiscard]] nlohmann::json runDetailJson(const RunDetail& run, std::int64_t nowMs);

} // namespace ftw::cli
