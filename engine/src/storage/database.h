// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <cstdint>
#include <filesystem>
#include <string_view>

struct sqlite3;

namespace ftw::storage {

class Statement;

/// One SQLite connection. Move-only; use it on one thread only. Every failure throws
/// ftw::Error{Storage} with the extended result code and SQLite's message.
class Database {
public:
    /// Opens the file at `path` (ReadWrite creates it and its folder) with foreign keys on and a
    /// busy timeout, so that a reader and a writer in other connections wait for each other
    /// briefly.
    static Database open(const std::filesystem::path& path, StoreMode mode);
    /// A private in-memory database (tests and scratch work).
    static Database openInMemory();

    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs one or more statements with no parameters and no results (schema, pragmas).
    void execute(std::string_view sql);
    [[nodiscard]] Statement prepare(std::string_view sql);

    [[nodiscard]] int userVersion();
    void setUserVersion(int version);
    [[nodiscard]] std::int32_t applicationId();
    void setApplicationId(std::int32_t id);
    /// Number of tables, views and indexes in the schema.
    [[nodiscard]] int schemaObjectCount();

    [[nodiscard]] std::int64_t lastInsertRowId() const;
    [[nodiscard]] int changes() const;
    [[nodiscard]] bool isReadOnly() const { return m_mode == StoreMode::ReadOnly; }
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
    [[nodiscard]] sqlite3* handle() const { return m_db; }

    /// Throws Error{Storage}: "<context>: <sqlite message> (<extended code name>)".
    [[noreturn]] void throwLastError(std::string_view context) const;

private:
    Database(sqlite3* db, std::filesystem::path path, StoreMode mode);
    [[nodiscard]] std::int64_t pragmaInt(std::string_view name);

    sqlite3* m_db = nullptr;
    std::filesystem::path m_path;
    StoreMode m_mode = StoreMode::Unknown;
};

} // namespace ftw::storage
