// SPDX-License-Identifier: MIT
#include "transaction.h"

#include "database.h"

#include <ftw/log.h>

#include <exception>
#include <string>

namespace ftw::storage {

Transaction::Transaction(Database& db, TransactionMode mode) : m_db(db)
{
    m_db.execute(mode == TransactionMode::Immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
}

Transaction::~Transaction()
{
    if (m_isDone) {
        return;
    }
    try {
        m_db.execute("ROLLBACK");
    } catch (const std::exception& e) {
        logWarning(std::string("rolling back a transaction failed: ") + e.what());
    }
}

void Transaction::commit()
{
    m_db.execute("COMMIT");
    m_isDone = true;
}

} // namespace ftw::storage
