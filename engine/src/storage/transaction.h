// SPDX-License-Identifier: MIT
#pragma once

namespace ftw::storage {

class Database;

enum class TransactionMode { Unknown, Deferred, Immediate };

/// BEGIN in the constructor, COMMIT in commit(); the destructor rolls back an uncommitted
/// transaction and never throws (a failed rollback is logged).
class Transaction {
public:
    Transaction(Database& db, TransactionMode mode);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    void commit();

private:
    Database& m_db;
    bool m_isDone = false;
};

} // namespace ftw::storage
