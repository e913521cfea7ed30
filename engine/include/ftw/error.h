// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ftw {

/// What kind of failure an error is. The default value means "no error".
enum class ErrorCode {
    None,
    InvalidConfig,     ///< a setting or a config file is wrong: the message says which and why
    InvalidArgument,   ///< a caller passed a value outside the accepted range
    NotFound,          ///< a run, file or object that was asked for does not exist
    ModelFormat,       ///< a model, tokenizer or dataset file is malformed
    DeviceUnavailable, ///< the requested device (e.g. cuda:1) is not there
    OutOfMemory,       ///< the device ran out of memory
    Storage,           ///< the SQLite store failed or refused the database
    Io,                ///< reading or writing a file failed
    Internal,          ///< a bug or an unexpected library failure
};

/// Stable lower-case name of a code ("invalid_config"), used in the database and in JSON output.
[[nodiscard]] std::string_view errorCodeName(ErrorCode code);

/// Parses a name written by errorCodeName(); unknown names give ErrorCode::Internal.
[[nodiscard]] ErrorCode parseErrorCode(std::string_view name);

/// An error as plain data: what crosses threads, the public API and the UI.
struct ErrorInfo {
    ErrorCode code = ErrorCode::None;
    std::string message; ///< one readable sentence or more, UTF-8: what happened and what to change
    std::string detail;  ///< optional technical detail (a library message, a path)

    [[nodiscard]] bool isError() const { return code != ErrorCode::None; }
};

/// The engine's exception. Thrown inside the engine only; turned into ErrorInfo at the job boundary
/// and at the public API.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message, std::string detail = {});

    [[nodiscard]] ErrorCode code() const noexcept { return m_code; }
    [[nodiscard]] const std::string& detail() const noexcept { return m_detail; }
    [[nodiscard]] ErrorInfo info() const;

private:
    ErrorCode m_code;
    std::string m_detail;
};

/// Thrown inside a job when its stop token is set; the job boundary maps it to
/// JobStatus::Cancelled. Cancellation is not an error.
class Cancelled : public std::exception {
public:
    [[nodiscard]] const char* what() const noexcept override { return "cancelled"; }
};

} // namespace ftw
