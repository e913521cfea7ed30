// SPDX-License-Identifier: MIT
#include <ftw/log.h>

#include <atomic>
#include <mutex>
#include <utility>

namespace ftw {
namespace {

// The sink and its mutex: held while a line is delivered, so lines never interleave and a sink
// being replaced is never called afterwards.
std::mutex& sinkMutex()
{
    static std::mutex mutex;
    return mutex;
}

LogSink& sinkSlot()
{
    static LogSink sink;
    return sink;
}

std::atomic<LogLevel> g_minimumLevel{LogLevel::Info};

} // namespace

std::string_view logLevelName(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warning:
        return "warning";
    case LogLevel::Error:
        return "error";
    case LogLevel::Unknown:
        break;
    }
    return "unknown";
}

LogSink setLogSink(LogSink sink)
{
    const std::lock_guard lock(sinkMutex());
    return std::exchange(sinkSlot(), std::move(sink));
}

void setLogLevel(LogLevel minimum)
{
    g_minimumLevel.store(minimum);
}

void logMessage(LogLevel level, std::string_view message) noexcept
{
    if (level < g_minimumLevel.load()) {
        return;
    }
    try {
        const std::lock_guard lock(sinkMutex());
        if (sinkSlot()) {
            sinkSlot()(level, message);
        }
    } catch (
        ...) { // NOTE: logging must never take the program down; a failing sink loses the line.
    }
}

} // namespace ftw
