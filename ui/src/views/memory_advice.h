// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/engine.h>
#include <ftw/job.h>
#include <ftw/run_config.h>

#include <QString>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ftw::ui {

/// The device's memory in bytes as LibTorch's out-of-memory message states it ("79.35 GiB total
/// capacity" in 1.13, "a total capacity of 79.11 GiB" in 2.x); std::nullopt when it does not.
[[nodiscard]] std::optional<std::int64_t> deviceMemoryFromError(const std::string& detail);

/// What would fit in `memoryBytes` by the budget's analytic estimate (computeBudget with
/// memoryOptionsFor()): the largest smaller batch size (with the gradient accumulation that
/// keeps the effective batch), else the largest maximum length at batch size 1, else a note that
/// even that does not fit. A general hint when `memoryBytes` is unknown (<= 0) or the model
/// cannot be read. Shown when a run fails for lack of memory.
[[nodiscard]] QString outOfMemoryAdvice(const TrainSpec& spec, std::int64_t memoryBytes);

/// What the window says when a job fails: the engine's message and, when a training run ran out of
/// memory, outOfMemoryAdvice() against the memory of the device it ran on (from LibTorch's
/// message, else from `devices`).
[[nodiscard]] QString jobFailureMessage(const JobResult& result,
                                        const std::optional<TrainSpec>& spec,
                                        const std::vector<DeviceInfo>& devices);

} // namespace ftw::ui
