#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes tests/data/schema_v<N>.db: a store at the current schema holding one succeeded and one
# failed demo run, for the migration tests of later schema versions. Run it once per released
# schema version, with that version's `ftw`:  tests/data/make_schema_fixture.sh build/default/bin/ftw
set -euo pipefail
ftw=${1:?usage: make_schema_fixture.sh PATH_TO_FTW}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$ftw" demo --db "$work/ftw.db" --steps 5 --delay-ms 0 --seed 1 --name fixture-ok >/dev/null
"$ftw" demo --db "$work/ftw.db" --steps 5 --delay-ms 0 --fail-at 3 --name fixture-failed \
  >/dev/null 2>&1 || true
version=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])" "$work/ftw.db")
# Fold the write-ahead log into the file so that one file holds everything.
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.execute('PRAGMA journal_mode=DELETE'); c.execute('VACUUM'); c.close()" "$work/ftw.db"
cp "$work/ftw.db" "$here/schema_v$version.db"
echo "wrote $here/schema_v$version.db"
