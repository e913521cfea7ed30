// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string_view>

namespace ftw {

/// Log levels, written down once:
/// - Debug: details for developers (per-step timings, file offsets); off unless asked for.
/// - Info: what a user wants in the run log (job started, checkpoint written, cancelled).
/// - Warning: something was adjusted or looks wrong but the job goes on (a setting clamped).
/// - Error: the job or command failed; the message says why.
enum class LogLevel { Unknown, Debug, Info, Warning, Error };

[[nodiscard]] std::string_view logLevelName(LogLevel level);

/// Receives every log line at or above the threshold. Called on whichever thread logs (often the
/// engine thread), one call at a time; it must return quickly and must not log itself.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

/// Installs the process-wide sink; an empty function drops all lines (the default: the engine never
/// prints by itself). Thread-safe; returns the previous sink.
LogSink setLogSink(LogSink sink);

/// Lines below this level are dropped before they reach the sink. Default: Info. Thread-safe.
void setLogLevel(LogLevel minimum);

/// Sends one line to the sink. Thread-safe, never throws.
void logMessage(LogLevel level, std::string_view message) noexcept;

inline void logDebug(std::string_view message) noexcept
{
    logMessage(LogLevel::Debug, message);
}
inline void logInfo(std::string_view message) noexcept
{
    logMessage(LogLevel::Info, message);
}
inline void logWarning(std::string_view message) noexcept
{
    logMessage(LogLevel::Warning, message);
}
inline void logError(std::string_view message) noexcept
{
    logMessage(LogLevel::Error, message);
}

} // namespace ftw
