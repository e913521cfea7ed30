// SPDX-License-Identifier: MIT
// Schema v1: runs and everything recorded about them. Released: never edit; add a new migration.
#include "all_migrations.h"

namespace ftw::storage::migrations {

const Migration kCreateSchema{
    .version = 1,
    .name = "create_schema",
    .sql = R"sql(
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    dataset TEXT NOT NULL DEFAULT '',
    config_json TEXT NOT NULL DEFAULT '{}',
    seed INTEGER,
    trainable_params INTEGER,
    total_params INTEGER,
    best_eval_loss REAL,
    run_dir TEXT NOT NULL DEFAULT '',
    owner_pid INTEGER,
    owner_host TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    started_at_ms INTEGER,
    finished_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX runs_status_idx ON runs (status);

-- The run config flattened to dotted keys ("train.learning_rate"), for config diffs.
CREATE TABLE run_params (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE run_metrics (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    epoch REAL NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    wall_time_ms INTEGER NOT NULL DEFAULT 0,
    value REAL NOT NULL
);
CREATE INDEX run_metrics_run_name_step_idx ON run_metrics (run_id, name, step);

-- Per-layer adapter layout: which module of which layer carries what, and its proxy scores.
CREATE TABLE adapter_layouts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,
    module TEXT NOT NULL,
    method TEXT NOT NULL,
    rank INTEGER,
    param_count INTEGER NOT NULL DEFAULT 0,
    is_enabled INTEGER NOT NULL DEFAULT 1,
    score_grad_norm REAL,
    score_snip REAL,
    score_synflow REAL,
    score_random REAL,
    UNIQUE (run_id, layer, module)
);

CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    path TEXT NOT NULL,
    size_bytes INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX checkpoints_run_idx ON checkpoints (run_id, step);

CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    dtype TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    verification_json TEXT NOT NULL DEFAULT '{}',
    max_abs_logit_diff REAL,
    error_message TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER
);

-- Notable moments of a run: oom, nan, stop, resume, interrupted.
CREATE TABLE run_events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    step INTEGER,
    message TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX run_events_run_idx ON run_events (run_id);
)sql",
};

} // namespace ftw::storage::migrations
