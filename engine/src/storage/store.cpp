// SPDX-License-Identifier: MIT
#include "store.h"

#include "migrations.h"

#include <ftw/error.h>

#include <string>

namespace ftw::storage {
namespace {

void checkApplicationId(Database& db)
{
    const std::int32_t id = db.applicationId();
    if (id == kApplicationId) {
        return;
    }
    if (id == 0 && db.schemaObjectCount() == 0) {
        if (!db.isReadOnly()) {
            db.setApplicationId(kApplicationId);
        }
        return;
    }
    throw Error(ErrorCode::Storage, "'" + db.path().string() +
                                        "' is not an FTW database (its SQLite application_id is " +
                                        std::to_string(id) +
                                        "); choose another file with --db or FTW_DB");
}

} // namespace

void prepareSchema(Database& db)
{
    checkApplicationId(db);
    if (!db.isReadOnly()) {
        migrate(db);
        return;
    }
    const int version = db.userVersion();
    if (version > latestSchemaVersion()) {
        migrate(db); // throws the "newer schema" error
    }
    if (version < latestSchemaVersion()) {
        throw Error(ErrorCode::Storage, "database '" + db.path().string() + "' has schema v" +
                                            std::to_string(version) + " but v" +
                                            std::to_string(latestSchemaVersion()) +
                                            " is needed; open it once with write access (for "
                                            "example `ftw runs list`) to migrate it");
    }
}

Database openStore(const std::filesystem::path& path, StoreMode mode)
{
    if (mode == StoreMode::ReadOnly && !std::filesystem::exists(path)) {
        throw Error(ErrorCode::NotFound, "no database at '" + path.string() + "'");
    }
    Database db = Database::open(path, mode);
    if (mode == StoreMode::ReadWrite) {
        db.execute("PRAGMA journal_mode = WAL");
        db.execute("PRAGMA synchronous = NORMAL");
    }
    prepareSchema(db);
    return db;
}

} // namespace ftw::storage
