// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace ftw::core {

/// A fixed table of enum values and their stable names (stored in files and databases).
template <typename Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

/// The name of `value`, or `fallback` when the table lacks it.
template <typename Enum, std::size_t N>
[[nodiscard]] constexpr std::string_view nameOf(const NameTable<Enum, N>& table, Enum value,
                                                std::string_view fallback)
{
    for (const auto& [v, name] : table) {
        if (v == value) {
            return name;
        }
    }
    return fallback;
}

/// The value named `name`, or std::nullopt.
template <typename Enum, std::size_t N>
[[nodiscard]] constexpr std::optional<Enum> valueOf(const NameTable<Enum, N>& table,
                                                    std::string_view name)
{
    for (const auto& [v, text] : table) {
        if (text == name) {
            return v;
        }
    }
    return std::nullopt;
}

} // namespace ftw::core
