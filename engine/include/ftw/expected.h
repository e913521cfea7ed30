// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/error.h>

#include <utility>
#include <variant>

namespace ftw {

/// A value or the ErrorInfo that explains why there is none. The engine's public API returns this
/// for expected failures instead of throwing (a small stand-in for C++23 std::expected).
template <typename T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    Expected(ErrorInfo error) : m_state(std::in_place_index<1>, std::move(error)) {}

    [[nodiscard]] bool hasValue() const noexcept { return m_state.index() == 0; }
    explicit operator bool() const noexcept { return hasValue(); }

    /// Precondition: hasValue().
    [[nodiscard]] T& value() & { return std::get<0>(m_state); }
    [[nodiscard]] const T& value() const& { return std::get<0>(m_state); }
    [[nodiscard]] T&& value() && { return std::get<0>(std::move(m_state)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    /// Precondition: !hasValue().
    [[nodiscard]] const ErrorInfo& error() const { return std::get<1>(m_state); }

private:
    std::variant<T, ErrorInfo> m_state;
};

/// Success or the reason for failure, for operations with no value.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(ErrorInfo error) : m_error(std::move(error)) {}

    [[nodiscard]] bool isOk() const noexcept { return !m_error.isError(); }
    explicit operator bool() const noexcept { return isOk(); }
    [[nodiscard]] const ErrorInfo& error() const { return m_error; }

private:
    ErrorInfo m_error;
};

} // namespace ftw
