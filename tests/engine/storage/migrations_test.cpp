// SPDX-License-Identifier: MIT
#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/statement.h"
#include "storage/store.h"

#include "support/temp_dir.h"

#include <ftw/run_store.h>

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ftw::storage {
namespace {

std::set<std::string> tableNames(Database& db)
{
    Statement s = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
    std::set<std::string> names;
    while (s.step()) {
        names.insert(s.columnText(0));
    }
    return names;
}

bool hasTable(Database& db, const std::string& name)
{
    return tableNames(db).count(name) == 1;
}

class MigrationsTest : public ::testing::Test {
protected:
    test::TempDir m_dir;
    std::filesystem::path m_dbPath = m_dir / "ftw.db";
};

TEST_F(MigrationsTest, NewDatabaseGetsTheLatestSchemaWithEveryTable)
{
    Database db = openStore(m_dbPath, StoreMode::ReadWrite);

    EXPECT_EQ(db.userVersion(), latestSchemaVersion());
    EXPECT_EQ(db.applicationId(), kApplicationId);
    const std::set<std::string> expected{
        "runs",        "run_params", "run_metrics", "adapter_layouts",
        "checkpoints", "exports",    "run_events",  "run_groups"};
    EXPECT_EQ(tableNames(db), expected);
    Statement mode = db.prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.columnText(0), "wal");
}

TEST_F(MigrationsTest, MigrationsAreNumberedFromOneWithoutGaps)
{
    int expected = 1;
    for (const Migration& m : allMigrations()) {
        EXPECT_EQ(m.version, expected) << m.name;
        EXPECT_FALSE(m.sql.empty()) << m.name;
        ++expected;
    }
    EXPECT_EQ(latestSchemaVersion(), expected - 1);
}

TEST_F(MigrationsTest, ReopeningKeepsDataAndVersion)
{
    {
        Database db = openStore(m_dbPath, StoreMode::ReadWrite);
        db.execute("INSERT INTO runs (name, kind, status, created_at_ms, updated_at_ms) "
                   "VALUES ('kept', 'demo', 'succeeded', 1, 1)");
    }
    Database db = openStore(m_dbPath, StoreMode::ReadWrite);
    EXPECT_EQ(db.userVersion(), latestSchemaVersion());
    Statement s = db.prepare("SELECT name FROM runs");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.columnText(0), "kept");
}

TEST_F(MigrationsTest, NewerSchemaIsRefusedWithAClearMessage)
{
    {
        Database db = openStore(m_dbPath, StoreMode::ReadWrite);
        db.setUserVersion(latestSchemaVersion() + 5);
    }
    try {
        (void)openStore(m_dbPath, StoreMode::ReadWrite);
        FAIL() << "a newer schema was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Storage);
        const std::string message = e.what();
        EXPECT_NE(message.find("schema v" + std::to_string(latestSchemaVersion() + 5)),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find("newer than this FTW build supports"), std::string::npos) << message;
        EXPECT_NE(message.find(m_dbPath.string()), std::string::npos) << message;
    }
    // The public API says the same without throwing, and leaves the file untouched.
    const auto store = RunStore::open(m_dbPath, StoreMode::ReadWrite);
    ASSERT_FALSE(store.hasValue());
    EXPECT_EQ(store.error().code, ErrorCode::Storage);
    Database raw = Database::open(m_dbPath, StoreMode::ReadOnly);
    EXPECT_EQ(raw.userVersion(), latestSchemaVersion() + 5);
}

TEST_F(MigrationsTest, DatabaseOfAnotherApplicationIsRefused)
{
    {
        Database other = Database::open(m_dbPath, StoreMode::ReadWrite);
        other.execute("CREATE TABLE contacts (name TEXT)");
    }
    try {
        (void)openStore(m_dbPath, StoreMode::ReadWrite);
        FAIL() << "a foreign database was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Storage);
        EXPECT_NE(std::string(e.what()).find("is not an FTW database"), std::string::npos)
            << e.what();
    }
    Database raw = Database::open(m_dbPath, StoreMode::ReadOnly);
    EXPECT_EQ(raw.userVersion(), 0);
    EXPECT_FALSE(hasTable(raw, "runs"));
}

TEST_F(MigrationsTest, FailingMigrationRollsBackAndKeepsThePreviousVersion)
{
    const Migration steps[] = {
        {1, "create_a", "CREATE TABLE a (x INTEGER);"},
        {2, "broken", "CREATE TABLE b (x INTEGER); INSERT INTO missing_table VALUES (1);"},
    };
    Database db = Database::open(m_dbPath, StoreMode::ReadWrite);

    try {
        migrate(db, steps);
        FAIL() << "the broken migration did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Storage);
        EXPECT_NE(std::string(e.what()).find("v2 (broken)"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("missing_table"), std::string::npos) << e.what();
    }
    EXPECT_EQ(db.userVersion(), 1);
    EXPECT_TRUE(hasTable(db, "a"));
    EXPECT_FALSE(hasTable(db, "b")); // created inside the failed transaction, rolled back
}

// Every released schema has a fixture written by its own `ftw` (tests/data/make_schema_fixture.sh);
// each must open, migrate to the latest version and keep its runs.
TEST_F(MigrationsTest, EveryReleasedSchemaFixtureMigratesAndKeepsItsRuns)
{
    for (int version = 1; version <= latestSchemaVersion(); ++version) {
        const std::filesystem::path fixture = std::filesystem::path(FTW_TEST_DATA_DIR) /
                                              ("schema_v" + std::to_string(version) + ".db");
        ASSERT_TRUE(std::filesystem::exists(fixture)) << fixture;
        const std::filesystem::path copy = m_dir / ("v" + std::to_string(version) + ".db");
        std::filesystem::copy_file(fixture, copy);

        auto store = RunStore::open(copy, StoreMode::ReadWrite);
        ASSERT_TRUE(store.hasValue()) << fixture << ": " << store.error().message;
        EXPECT_EQ(Database::open(copy, StoreMode::ReadOnly).userVersion(), latestSchemaVersion());
        const auto runs = store->listRuns();
        ASSERT_TRUE(runs.hasValue());
        ASSERT_EQ(runs->size(), 2U) << fixture;
        EXPECT_EQ(runs->at(0).name, "fixture-failed");
        EXPECT_EQ(runs->at(0).status, RunStatus::Failed);
        EXPECT_EQ(runs->at(1).name, "fixture-ok");
        EXPECT_EQ(runs->at(1).status, RunStatus::Succeeded);
        EXPECT_EQ(store->metrics(runs->at(1).id, "train/loss")->size(), 5U);
    }
}

TEST_F(MigrationsTest, ReadOnlyOpenOfAMissingFileIsNotFound)
{
    const auto store = RunStore::open(m_dir / "absent.db", StoreMode::ReadOnly);
    ASSERT_FALSE(store.hasValue());
    EXPECT_EQ(store.error().code, ErrorCode::NotFound);
    EXPECT_FALSE(std::filesystem::exists(m_dir / "absent.db"));
}

TEST_F(MigrationsTest, ReadOnlyOpenOfAnUnmigratedFileAsksForWriteAccess)
{
    {
        (void)Database::open(m_dbPath, StoreMode::ReadWrite);
    } // an empty SQLite file
    const auto store = RunStore::open(m_dbPath, StoreMode::ReadOnly);
    ASSERT_FALSE(store.hasValue());
    EXPECT_NE(store.error().message.find("open it once with write access"), std::string::npos)
        << store.error().message;
}

} // namespace
} // namespace ftw::storage
