// SPDX-License-Identifier: MIT
#include "format.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace ftw::cli {
namespace {

template <typename T>
nlohmann::json optionalJson(const std::optional<T>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

} // namespace

std::string formatTimestamp(std::int64_t unixMs)
{
    const std::time_t seconds = static_cast<std::time_t>(unixMs / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    std::array<char, 32> buffer{};
    std::strftime(buffer.data(), buffer.size(), "%Y-%m-%d %H:%M", &local);
    return buffer.data();
}

std::string formatFixed(double value, int decimals)
{
    std::array<char, 64> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
    return buffer.data();
}

std::string formatLoss(std::optional<double> value)
{
    return value ? formatFixed(*value, 4) : "-";
}

nlohmann::json runSummaryJson(const RunSummary& run, std::int64_t nowMs)
{
    nlohmann::json json = {
        {"id", run.id},
        {"name", run.name},
        {"kind", run.kind},
        {"status", runStatusName(run.status)},
        {"method", run.method},
        {"model", run.model},
        {"dataset", run.dataset},
        {"trainable_params", optionalJson(run.trainableParams)},
        {"best_eval_loss", optionalJson(run.bestEvalLoss)},
        {"last_loss", optionalJson(run.lastLoss)},
        {"created_at_ms", run.createdAtMs},
        {"started_at_ms", optionalJson(run.startedAtMs)},
        {"finished_at_ms", optionalJson(run.finishedAtMs)},
        {"duration_ms", run.durationMs(nowMs)},
        {"error", nullptr},
    };
    if (run.error.isError()) {
        json["error"] = {{"code", errorCodeName(run.error.code)}, {"message", run.error.message}};
    }
    return json;
}

nlohmann::json runDetailJson(const RunDetail& run, std::int64_t nowMs)
{
    nlohmann::json json = runSummaryJson(run.summary, nowMs);
    const nlohmann::json config =
        nlohmann::json::parse(run.configJson, nullptr, /*allow_exceptions=*/false);
    json["config"] = config.is_discarded() ? nlohmann::json(run.configJson) : config;
    json["run_dir"] = run.runDir.string();
    json["seed"] = optionalJson(run.seed);
    json["metric_names"] = run.metricNames;
    json["metric_count"] = run.metricCount;
    return json;
}

} // namespace ftw::cli
