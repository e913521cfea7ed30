// SPDX-License-Identifier: MIT
#include "database.h"

#include "statement.h"

#include <ftw/error.h>

#include <string>
#include <utility>

#include <sqlite3.h>

namespace ftw::storage {
namespace {

constexpr int kBusyTimeoutMs = 5000;

} // namespace

Database::Database(sqlite3* db, std::filesystem::path path, StoreMode mode)
    : m_db(db), m_path(std::move(path)), m_mode(mode)
{
}

Database Database::open(const std::filesystem::path& path, StoreMode mode)
{
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (mode == StoreMode::ReadOnly) {
        flags |= SQLITE_OPEN_READONLY;
    } else {
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        std::error_code ec;
        if (path.has_parent_path()) {
            std::filesystem::create_directories(path.parent_path(), ec);
            if (ec) {
                throw Error(ErrorCode::Storage, "cannot create the folder '" +
                                                    path.parent_path().string() +
                                                    "' for the database: " + ec.message());
            }
        }
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.string().c_str(), &raw, flags, nullptr);
    Database db(raw, path, mode);
    if (rc != SQLITE_OK) {
        if (raw == nullptr) {
            throw Error(ErrorCode::Storage,
                        "cannot open database '" + path.string() + "': out of memory");
        }
        db.throwLastError("cannot open database '" + path.string() + "'");
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    db.execute("PRAGMA foreign_keys = ON");
    return db;
}

Database Database::openInMemory()
{
    return open(":memory:", StoreMode::ReadWrite);
}

Database::Database(Database&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr))
    , m_path(std::move(other.m_path))
    , m_mode(other.m_mode)
{
}

Database& Database::operator=(Database&& other) noexcept
{
    if (this != &other) {
        if (m_db != nullptr) {
            sqlite3_close_v2(m_db);
        }
        m_db = std::exchange(other.m_db, nullptr);
        m_path = std::move(other.m_path);
        m_mode = other.m_mode;
    }
    return *this;
}

Database::~Database()
{
    if (m_db != nullptr) {
        sqlite3_close_v2(m_db);
    }
}

void Database::execute(std::string_view sql)
{
    const std::string text(sql);
    char* message = nullptr;
    const int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string what = message != nullptr ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        throw Error(ErrorCode::Storage, "database '" + m_path.string() + "': " + what + " (" +
                                            sqlite3_errstr(rc) + ", code " + std::to_string(rc) +
                                            ")");
    }
}

Statement Database::prepare(std::string_view sql)
{
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) {
        throwLastError("preparing '" + std::string(sql.substr(0, 60)) + "'");
    }
    return Statement(*this, stmt);
}

std::int64_t Database::pragmaInt(std::string_view name)
{
    Statement stmt = prepare("PRAGMA " + std::string(name));
    return stmt.step() ? stmt.columnInt64(0) : 0;
}

int Database::userVersion()
{
    return static_cast<int>(pragmaInt("user_version"));
}

void Database::setUserVersion(int version)
{
    // PRAGMA takes no bound parameters; the value is an int, never user text.
    execute("PRAGMA user_version = " + std::to_string(version));
}

std::int32_t Database::applicationId()
{
    return static_cast<std::int32_t>(pragmaInt("application_id"));
}

void Database::setApplicationId(std::int32_t id)
{
    execute("PRAGMA application_id = " + std::to_string(id));
}

int Database::schemaObjectCount()
{
    Statement stmt = prepare("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'");
    return stmt.step() ? static_cast<int>(stmt.columnInt64(0)) : 0;
}

std::int64_t Database::lastInsertRowId() const
{
    return sqlite3_last_insert_rowid(m_db);
}

int Database::changes() const
{
    return sqlite3_changes(m_db);
}

void Database::throwLastError(std::string_view context) const
{
    const int code = sqlite3_extended_errcode(m_db);
    throw Error(ErrorCode::Storage,
                std::string(context) + ": " + sqlite3_errmsg(m_db) + " (" + sqlite3_errstr(code) +
                    ", code " + std::to_string(code) + ")",
                m_path.string());
}

} // namespace ftw::storage
