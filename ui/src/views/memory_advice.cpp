// SPDX-License-Identifier: MIT
#include "memory_advice.h"

#include "budget_panel.h"

#include "bridge/qt_convert.h"

#include <ftw/budget.h>
#include <ftw/format.h>

#include <QCoreApplication>

#include <cmath>
#include <regex>

namespace ftw::ui {
namespace {

QString tr(const char* text)
{
    return QCoreApplication::translate("MemoryAdvice", text);
}

/// The estimated training memory of `spec`, std::nullopt when the budget cannot be computed.
std::optional<std::int64_t> estimate(const TrainSpec& spec)
{
    const Expected<BudgetReport> budget =
        computeBudget(spec.modelDir, spec.adapter, memoryOptionsFor(spec));
    return budget ? std::optional<std::int64_t>(budget->memory.totalBytes) : std::nullopt;
}

QString bytes(std::int64_t value)
{
    return toQString(formatBytes(value));
}

} // namespace

std::optional<std::int64_t> deviceMemoryFromError(const std::string& detail)
{
    static const std::regex kOld(R"(([0-9]+(?:\.[0-9]+)?) ([KMGT])iB total capacity)");
    static const std::regex kNew(R"(total capacity of ([0-9]+(?:\.[0-9]+)?) ([KMGT])iB)");
    std::smatch match;
    if (!std::regex_search(detail, match, kOld) && !std::regex_search(detail, match, kNew)) {
        return std::nullopt;
    }
    const double value = std::stod(match[1].str());
    const int power = std::string("KMGT").find(match[2].str()[0]) + 1;
    return static_cast<std::int64_t>(value * std::pow(1024.0, power));
}

QString outOfMemoryAdvice(const TrainSpec& spec, std::int64_t memoryBytes)
{
    const QString general = tr("Lower the batch size (raising gradient accumulation keeps the "
                               "effective batch) or the maximum length, or turn on gradient "
                               "checkpointing.");
    const std::optional<std::int64_t> now = estimate(spec);
    if (memoryBytes <= 0 || !now) {
        return general;
    }
    const std::int64_t batch = spec.train.batchSize;
    for (std::int64_t b = batch / 2; b >= 1; b /= 2) {
        TrainSpec smaller = spec;
        smaller.train.batchSize = b;
        smaller.train.gradAccumulation = spec.train.gradAccumulation * (batch / b);
        if (const auto need = estimate(smaller); need && *need <= memoryBytes) {
            return tr("By the budget estimate, batch size %1 with gradient accumulation %2 would "
                      "fit (about %3 of the device's %4, against %5 now) and keeps the effective "
                      "batch.")
                .arg(b)
                .arg(smaller.train.gradAccumulation)
                .arg(bytes(*need), bytes(memoryBytes), bytes(*now));
        }
        if (b == 1) {
            break;
        }
    }
    for (std::int64_t length = spec.data.maxLength / 2; length >= 16; length /= 2) {
        TrainSpec shorter = spec;
        shorter.train.batchSize = 1;
        shorter.train.gradAccumulation = spec.train.gradAccumulation * batch;
        shorter.data.maxLength = length;
        if (const auto need = estimate(shorter); need && *need <= memoryBytes) {
            return tr("By the budget estimate, batch size 1 at a maximum length of %1 tokens would "
                      "fit (about %2 of the device's %3, against %4 now).")
                .arg(length)
                .arg(bytes(*need), bytes(memoryBytes), bytes(*now));
        }
    }
    return tr("By the budget estimate, even batch size 1 at a short length does not fit in the "
              "device's %1 (about %2 now): choose a smaller model or a device with more memory.")
        .arg(bytes(memoryBytes), bytes(*now));
}

QString jobFailureMessage(const JobResult& result, const std::optional<TrainSpec>& spec,
                          const std::vector<DeviceInfo>& devices)
{
    QString message = toQString(result.error.message);
    if (result.error.code != ErrorCode::OutOfMemory || !spec) {
        return message;
    }
    std::int64_t memory = deviceMemoryFromError(result.error.detail).value_or(0);
    if (memory == 0) {
        // The device the run asked for; "auto" is the first CUDA device, else the CPU.
        const std::string& wanted = spec->train.device;
        for (const DeviceInfo& device : devices) {
            const bool isMatch = wanted == device.name || (wanted == "cuda" && device.isCuda) ||
                                 (wanted == "auto" && device.isCuda);
            if (isMatch) {
                memory = device.totalMemoryBytes;
                break;
            }
        }
        if (memory == 0 && !devices.empty() && (wanted == "auto" || wanted == "cpu")) {
            memory = devices.front().totalMemoryBytes;
        }
    }
    return message + QStringLiteral("\n\n") + outOfMemoryAdvice(*spec, memory);
}

} // namespace ftw::ui
