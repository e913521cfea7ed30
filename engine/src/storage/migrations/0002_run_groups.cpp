// SPDX-License-Identifier: MIT
// Schema v2: groups of runs (an equal-budget sweep records its runs as one group). Released: never
// edit; add a new migration.
#include "all_migrations.h"

namespace ftw::storage::migrations {

const Migration kRunGroups{
    .version = 2,
    .name = "run_groups",
    .sql = R"sql(
CREATE TABLE run_groups (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                    -- 'sweep'
    name TEXT NOT NULL,
    config_json TEXT NOT NULL DEFAULT '{}', -- what made the group (the sweep's methods and target)
    created_at_ms INTEGER NOT NULL
);
ALTER TABLE runs ADD COLUMN group_id INTEGER REFERENCES run_groups (id);
CREATE INDEX runs_group_idx ON runs (group_id);
)sql",
};

} // namespace ftw::storage::migrations
