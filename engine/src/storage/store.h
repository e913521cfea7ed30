// SPDX-License-Identifier: MIT
#pragma once

#include "database.h"

#include <ftw/run_store.h>

#include <filesystem>

namespace ftw::storage {

/// Opens the FTW store at `path` and checks that it is one.
/// ReadWrite: creates the file if needed, turns on WAL, stamps a new file with kApplicationId and
/// applies pending migrations. ReadOnly: the file must exist and be at the latest schema.
/// Throws Error{Storage} (not an FTW database, newer schema, older schema when read-only, SQLite
/// failure) or Error{NotFound} (read-only and no file).
[[nodiscard]] Database openStore(const std::filesystem::path& path, StoreMode mode);

/// Checks the application id and brings the schema up to date; used by openStore() and for
/// in-memory databases in tests.
void prepareSchema(Database& db);

} // namespace ftw::storage
