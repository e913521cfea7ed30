// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/error.h>
#include <ftw/expected.h>

#include <exception>
#include <new>
#include <type_traits>

namespace ftw::core {

/// Runs `fn` and turns an exception into ErrorInfo, for the engine's public, non-throwing API.
/// (The job boundary in jobs/job_runner.cpp is the other place where exceptions stop.)
template <typename Fn>
auto captureErrors(Fn&& fn) -> Expected<std::invoke_result_t<Fn>>
{
    try {
        return fn();
    } catch (const Error& e) {
        return e.info();
    } catch (const std::bad_alloc&) {
        return ErrorInfo{ErrorCode::OutOfMemory, "out of memory", {}};
    } catch (const std::exception& e) {
        return ErrorInfo{ErrorCode::Internal, e.what(), {}};
    }
}

} // namespace ftw::core
