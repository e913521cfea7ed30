// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <filesystem>
#include <string>
#include <string_view>

namespace ftw::ui {

/// The one place where engine strings (UTF-8) and paths meet Qt strings.
inline QString toQString(std::string_view utf8)
{
    return QString::fromUtf8(utf8.data(), static_cast<qsizetype>(utf8.size()));
}

inline QString toQString(const std::string& utf8)
{
    return QString::fromStdString(utf8);
}

inline QString toQString(const char* utf8)
{
    return QString::fromUtf8(utf8);
}

inline QString toQString(const std::filesystem::path& path)
{
    return QString::fromStdU16String(path.u16string());
}

inline std::string toStdString(const QString& text)
{
    return text.toStdString();
}

inline std::filesystem::path toPath(const QString& text)
{
    return std::filesystem::path(text.toStdU16String());
}

} // namespace ftw::ui
