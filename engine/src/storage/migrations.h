// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ftw::storage {

class Database;

/// One numbered schema change. A released migration is never edited: fixes go in a new one.
struct Migration {
    int version = 0;
    std::string_view name;
    std::string_view sql;
};

/// "FTW1": marks a SQLite file as an FTW store, checked on every open.
inline constexpr std::int32_t kApplicationId = 0x46545731;

/// All migrations in version order (1, 2, ...).
[[nodiscard]] std::span<const Migration> allMigrations();

/// The schema version this build writes: the last migration's version.
[[nodiscard]] int latestSchemaVersion();

/// Brings the database to the last of `migrations`. Each migration runs in its own IMMEDIATE
/// transaction together with `PRAGMA user_version = N`, so a failure leaves the previous version
/// intact. Throws Error{Storage} when the database's version is newer than the last migration, or
/// when a migration fails (its transaction is rolled back).
void migrate(Database& db, std::span<const Migration> migrations);
inline void migrate(Database& db)
{
    migrate(db, allMigrations());
}

} // namespace ftw::storage
