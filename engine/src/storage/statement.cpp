// SPDX-License-Identifier: MIT
#include "statement.h"

#include "database.h"

#include <utility>

#include <sqlite3.h>

namespace ftw::storage {

Statement::Statement(Database& db, sqlite3_stmt* stmt) : m_db(&db), m_stmt(stmt)
{
}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_stmt(std::exchange(other.m_stmt, nullptr))
{
}

Statement& Statement::operator=(Statement&& other) noexcept
{
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_db = other.m_db;
        m_stmt = std::exchange(other.m_stmt, nullptr);
    }
    return *this;
}

Statement::~Statement()
{
    sqlite3_finalize(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value)
{
    if (sqlite3_bind_int64(m_stmt, index, value) != SQLITE_OK) {
        m_db->throwLastError("binding parameter " + std::to_string(index));
    }
    return *this;
}

Statement& Statement::bind(int index, double value)
{
    if (sqlite3_bind_double(m_stmt, index, value) != SQLITE_OK) {
        m_db->throwLastError("binding parameter " + std::to_string(index));
    }
    return *this;
}

Statement& Statement::bind(int index, std::string_view value)
{
    if (sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8) != SQLITE_OK) {
        m_db->throwLastError("binding parameter " + std::to_string(index));
    }
    return *this;
}

Statement& Statement::bind(int index, std::nullptr_t)
{
    if (sqlite3_bind_null(m_stmt, index) != SQLITE_OK) {
        m_db->throwLastError("binding parameter " + std::to_string(index));
    }
    return *this;
}

bool Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    m_db->throwLastError("running '" + std::string(sqlite3_sql(m_stmt)).substr(0, 60) + "'");
}

void Statement::run()
{
    while (step()) {
    }
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

bool Statement::isNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

std::int64_t Statement::columnInt64(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

double Statement::columnDouble(int column) const
{
    return sqlite3_column_double(m_stmt, column);
}

std::string Statement::columnText(int column) const
{
    const auto* text = sqlite3_column_text(m_stmt, column);
    const int size = sqlite3_column_bytes(m_stmt, column);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

std::optional<std::int64_t> Statement::columnOptionalInt64(int column) const
{
    return isNull(column) ? std::nullopt : std::optional(columnInt64(column));
}

std::optional<double> Statement::columnOptionalDouble(int column) const
{
    return isNull(column) ? std::nullopt : std::optional(columnDouble(column));
}

} // namespace ftw::storage
