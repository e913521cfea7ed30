// SPDX-License-Identifier: MIT
#pragma once
// Reading config files (run configs, pretrain configs): typed fields of one JSON object, with
// messages naming the file and the key, and every key nobody asked for reported.

#include "core/check.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <type_traits>

namespace ftw::core {

/// Reads the fields of one JSON object, checking types, and reports keys nobody asked for.
/// `where` is the object's key path ("" for the root, "data", ...), `source` names the file in
/// messages, `kind` names the kind of file ("run config"). Holds references to `object` and
/// `source`: both must outlive the reader. Throws Error{InvalidConfig} for each problem.
class JsonObjectReader {
public:
    JsonObjectReader(const nlohmann::json& object, std::string where, const std::string& source,
                     std::string kind = "run config")
        : m_object(object), m_where(std::move(where)), m_source(source), m_kind(std::move(kind))
    {
        FTW_CHECK(object.is_object(), ErrorCode::InvalidConfig,
                  m_source + ": " + (m_where.empty() ? "the " + m_kind : "'" + m_where + "'") +
                      " must be a JSON object");
    }

    template <typename T>
    void read(const std::string& key, T& out)
    {
        m_known.insert(key);
        const auto it = m_object.find(key);
        if (it == m_object.end() || it->is_null()) {
            return;
        }
        try {
            if constexpr (std::is_same_v<T, std::filesystem::path>) {
                out = it->template get<std::string>();
            } else if constexpr (std::is_same_v<T, double>) {
                FTW_CHECK(it->is_number(), ErrorCode::InvalidConfig, "");
                out = it->template get<double>();
            } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                FTW_CHECK(it->is_number_integer(), ErrorCode::InvalidConfig, "");
                out = it->template get<T>();
            } else {
                out = it->template get<T>();
            }
        } catch (const std::exception&) {
            throw Error(ErrorCode::InvalidConfig, m_source + ": '" + path(key) + "' must be " +
                                                      expected<T>() + ", got " + it->dump());
        }
    }

    [[nodiscard]] const nlohmann::json& object(const std::string& key)
    {
        m_known.insert(key);
        static const nlohmann::json kEmpty = nlohmann::json::object();
        const auto it = m_object.find(key);
        return it == m_object.end() ? kEmpty : *it;
    }

    [[nodiscard]] std::string path(const std::string& key) const
    {
        return m_where.empty() ? key : m_where + "." + key;
    }

    /// Throws InvalidConfig naming every key that no read() asked for.
    void rejectUnknownKeys() const
    {
        std::string unknown;
        for (const auto& [key, value] : m_object.items()) {
            if (!m_known.contains(key)) {
                unknown += (unknown.empty() ? "'" : ", '") + path(key) + "'";
            }
        }
        FTW_CHECK(unknown.empty(), ErrorCode::InvalidConfig,
                  m_source + ": unknown key " + unknown + " (see the README for " + m_kind +
                      " keys)");
    }

private:
    template <typename T>
    static std::string expected()
    {
        if constexpr (std::is_same_v<T, bool>) {
            return "true or false";
        } else if constexpr (std::is_same_v<T, std::string> ||
                             std::is_same_v<T, std::filesystem::path>) {
            return "a string";
        } else if constexpr (std::is_same_v<T, double>) {
            return "a number";
        } else if constexpr (std::is_integral_v<T>) {
            return "an integer";
        } else {
            return "a list or map of the documented kind";
        }
    }

    const nlohmann::json& m_object;
    std::string m_where;
    const std::string& m_source;
    std::string m_kind;
    std::set<std::string> m_known;
};

} // namespace ftw::core
