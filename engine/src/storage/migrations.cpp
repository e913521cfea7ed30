// SPDX-License-Identifier: MIT
#include "migrations.h"

#include "database.h"
#include "migrations/all_migrations.h"
#include "transaction.h"

#include <ftw/error.h>
#include <ftw/log.h>

#include <array>
#include <string>

namespace ftw::storage {
namespace {

const std::array kMigrations{
    migrations::kCreateSchema,
    migrations::kRunGroups,
};

} // namespace

std::span<const Migration> allMigrations()
{
    return kMigrations;
}

int latestSchemaVersion()
{
    return kMigrations.back().version;
}

void migrate(Database& db, std::span<const Migration> migrations)
{
    const int current = db.userVersion();
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    if (current > latest) {
        throw Error(ErrorCode::Storage,
                    "database '" + db.path().string() + "' has schema v" + std::to_string(current) +
                        ", newer than this FTW build supports (v" + std::to_string(latest) +
                        "): it was written by a newer FTW; upgrade FTW or choose another database "
                        "with --db or FTW_DB");
    }
    for (const Migration& m : migrations) {
        if (m.version <= current) {
            continue;
        }
        try {
            Transaction tx(db, TransactionMode::Immediate);
            db.execute(m.sql);
            db.setUserVersion(m.version);
            tx.commit();
        } catch (const Error& e) {
            throw Error(ErrorCode::Storage, "migrating database '" + db.path().string() +
                                                "' to schema v" + std::to_string(m.version) + " (" +
                                                std::string(m.name) + "): " + e.what());
        }
        logInfo("database " + db.path().string() + " migrated to schema v" +
                std::to_string(m.version) + " (" + std::string(m.name) + ")");
    }
}

} // namespace ftw::storage
