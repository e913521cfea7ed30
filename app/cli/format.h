// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/format.h>
#include <ftw/run_store.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ftw::cli {

/// Local time "2026-11-22 14:03".
[[nodiscard]] std::string formatTimestamp(std::int64_t unixMs);
/// `value` with exactly `decimals` decimals: "0.5223".
[[nodiscard]] std::string formatFixed(double value, int decimals);
/// Fixed 4 decimals or "-".
[[nodiscard]] std::string formatLoss(std::optional<double> value);

/// The JSON of a run as `runs list --json` and `runs show --json` print it.
[[nodiscard]] nlohmann::json runSummaryJson(const RunSummary& run, std::int64_t nowMs);
[[nodiscard]] nlohmann::json runDetailJson(const RunDetail& run, std::int64_t nowMs);

} // namespace ftw::cli
