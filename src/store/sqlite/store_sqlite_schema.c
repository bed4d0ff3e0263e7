/*
** store_sqlite_schema.c: the SQLite backend's schema and its migrations.
**
** The schema is versioned with PRAGMA user_version and brought forward by
** the migrations below, each applied in its own transaction.  They are
** history: a database made by any earlier version goes through the same
** steps, so none of them changes once released, and the entry's columns
** (entry.h) are checked against the result by the entry tests rather than
** written from the list.  Entries are append-only: triggers abort UPDATE
** and DELETE; the one sanctioned removal (retention, store_sqlite_scan.c)
** lifts the delete trigger inside its own transaction.
*/
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#define SCHEMA_VERSION 12

#define NO_DELETE_TRIGGER                                                   \
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN"   \
    "  SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted');" \
    "END;"

static const char *const migrations[SCHEMA_VERSION] = {
    /* Version 1: the seed's audit_log, with the sequence, client identity
    ** and hash chain it lacked, plus the indexes every query shape needs. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE audit_log ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  event_type TEXT NOT NULL,"
    "  operation_name TEXT NOT NULL,"
    "  operation_id TEXT,"
    "  user_id TEXT,"
    "  project_id TEXT,"
    "  args TEXT NOT NULL,"
    "  result TEXT,"
    "  error TEXT,"
    "  before_state TEXT,"
    "  after_state TEXT,"
    "  created_at TEXT NOT NULL,"
    "  client TEXT,"
    "  prev_hash BLOB NOT NULL,"
    "  hash BLOB NOT NULL"
    ");"
    "CREATE INDEX idx_audit_user ON audit_log(user_id);"
    "CREATE INDEX idx_audit_project ON audit_log(project_id);"
    "CREATE INDEX idx_audit_opname ON audit_log(operation_name);"
    "CREATE INDEX idx_audit_type ON audit_log(event_type);"
    "CREATE INDEX idx_audit_date ON audit_log(created_at);"
    "CREATE INDEX idx_audit_type_date ON audit_log(event_type, created_at);"
    "CREATE INDEX idx_audit_user_date ON audit_log(user_id, created_at);"
    /* Entries are immutable.  The one sanctioned removal, retention, sets
    ** meta.retention inside its own transaction while it deletes. */
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN"
    "  SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed');"
    "END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    "  WHEN (SELECT value FROM meta WHERE key = 'retention') IS NULL BEGIN"
    "  SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted');"
    "END;",
    /* Version 2: signed checkpoints and retention anchors, append-only with
    ** no exception at all. */
    "CREATE TABLE checkpoints ("
    "  number INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('checkpoint', 'anchor')),"
    "  log_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  head_hash TEXT NOT NULL,"
    "  created_at TEXT NOT NULL,"
    "  prev_checkpoint_hash TEXT NOT NULL,"
    "  public_key TEXT NOT NULL,"
    "  signature TEXT NOT NULL"
    ");"
    "CREATE INDEX idx_checkpoints_kind ON checkpoints(kind, number);"
    "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN"
    "  SELECT RAISE(ABORT, 'checkpoints are append-only');"
    "END;"
    "CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN"
    "  SELECT RAISE(ABORT, 'checkpoints are append-only');"
    "END;",
    NULL, /* version 3 is migration3, below: it needs the activity rebuild */
    /* Version 4: no exception in the delete trigger at all.  Retention
    ** drops and recreates it inside its own transaction instead, so no row
    ** of data can ever open a way around it. */
    "DROP TRIGGER audit_log_no_delete;" NO_DELETE_TRIGGER,
    /* Version 5: the trigram index is filled once per transaction, just
    ** before COMMIT (sq_derived_sync()), not by a trigger per row.  FTS5
    ** in SQLite 3.40 writes its pending terms out as a new segment at every
    ** statement or savepoint boundary, so a per-row trigger made one tiny
    ** segment per entry, and merging them was most of a write's cost. */
    "DROP TRIGGER audit_fts_insert;",
    /* Version 6: fewer pages written per appended row.  The recency index
    ** on activity_projects was rewritten by every insert with a user and a
    ** project (its key holds last_seen, which every insert moves), and it
    ** saved nothing: projects_touched reads the user's rows through the
    ** primary key (user_id, project_id), one row per project the user ever
    ** touched, and filters last_seen as it goes. */
    "DROP INDEX idx_activity_projects_seen;",
    /* Version 7: get_user_activity counts the first, partial day of its
    ** window from audit_log.  At ten million entries that is a few thousand
    ** of the user's rows, and fetching event_type and error from each row
    ** cost milliseconds; with them in the user/time index the count reads
    ** the index alone.  seq follows created_at in the key so that the index
    ** still gives history's (created_at, seq) order without a sort.  error
    ** is NULL for most entries and costs them one byte. */
    "DROP INDEX idx_audit_user_date;"
    "CREATE INDEX idx_audit_user_date ON audit_log(user_id, created_at, seq,"
    "  event_type, error);",
    /* Version 8: what `wrap` and `hook` record of a call (hash encoding
    ** v2): the server's identity, the session, the duration, the request
    ** entry an outcome completes, the working directory.  The filters by
    ** server name and session have partial indexes: entries without them
    ** (the audit tools' own) cost those indexes nothing.  The server is
    ** matched by the name inside its stored identity, an expression over
    ** hashed bytes, so no unhashed copy of it can disagree. */
    "ALTER TABLE audit_log ADD COLUMN server TEXT;"
    "ALTER TABLE audit_log ADD COLUMN session_id TEXT;"
    "ALTER TABLE audit_log ADD COLUMN duration_ms INTEGER;"
    "ALTER TABLE audit_log ADD COLUMN completes TEXT;"
    "ALTER TABLE audit_log ADD COLUMN cwd TEXT;"
    "CREATE INDEX idx_audit_server ON audit_log(json_extract(server, '$.name'))"
    "  WHERE server IS NOT NULL;"
    "CREATE INDEX idx_audit_session ON audit_log(session_id)"
    "  WHERE session_id IS NOT NULL;"
    /* Time ranges ask for (created_at, seq) order, as for user_id. */
    "CREATE INDEX idx_audit_server_date ON audit_log(json_extract(server, '$.name'),"
    "  created_at) WHERE server IS NOT NULL;"
    "CREATE INDEX idx_audit_session_date ON audit_log(session_id, created_at)"
    "  WHERE session_id IS NOT NULL;"
    "CREATE INDEX idx_audit_completes ON audit_log(completes)"
    "  WHERE completes IS NOT NULL;",
    /* Version 9: the transparency log (docs/transparency.md).  The Merkle
    ** tree's stored hashes by index (Go's sumdb/tlog layout, merkle.h),
    ** written with each entry and kept by retention; each checkpoint's
    ** C2SP signed note; witnesses' cosignatures of them; and how each
    ** witness fares.  The tree starts empty: store_open() builds it from
    ** the entries (store_tree.c).  Tree and cosignatures are append-only
    ** like the entries; a witness's state is bookkeeping, replaced. */
    "CREATE TABLE tree ("
    "  idx INTEGER PRIMARY KEY,"
    "  hash BLOB NOT NULL"
    ");"
    "CREATE TRIGGER tree_no_update BEFORE UPDATE ON tree BEGIN"
    "  SELECT RAISE(ABORT, 'the Merkle tree is append-only');"
    "END;"
    "CREATE TRIGGER tree_no_delete BEFORE DELETE ON tree BEGIN"
    "  SELECT RAISE(ABORT, 'the Merkle tree is append-only');"
    "END;"
    "ALTER TABLE checkpoints ADD COLUMN note TEXT;"
    "CREATE TABLE cosignatures ("
    "  checkpoint INTEGER NOT NULL,"
    "  witness TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  line TEXT NOT NULL,"
    "  PRIMARY KEY (checkpoint, witness)"
    ") WITHOUT ROWID;"
    "CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures BEGIN"
    "  SELECT RAISE(ABORT, 'cosignatures are append-only');"
    "END;"
    "CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures BEGIN"
    "  SELECT RAISE(ABORT, 'cosignatures are append-only');"
    "END;"
    "CREATE TABLE witnesses ("
    "  witness TEXT PRIMARY KEY,"
    "  url TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  last_attempt TEXT NOT NULL,"
    "  last_ok TEXT NOT NULL,"
    "  last_error TEXT NOT NULL"
    ") WITHOUT ROWID;",
    /* Version 10: the activity counters are brought up to date once per
    ** transaction, just before COMMIT, by one grouped statement per table
    ** (sq_derived_sync(); since issue 23 aggregated in C), not by a trigger per row:
    ** the trigger's two upserts were a third of an append's instructions
    ** (callgrind of bench_floor), and a group of 64 calls mostly adds to
    ** the same few (user, day, event type) rows. */
    "DROP TRIGGER activity_insert;",
    /* Version 11: four indexes fewer for every insert to write (issue 23).
    ** Each repeated the first column of a wider index on the same column
    ** and created_at, and was kept only because history without a time
    ** range was ordered by seq, which the wider index cannot give without
    ** a sort.  Such history is now ordered by (created_at, seq), as time
    ** ranges always were (store_sqlite_query.c, find_sql()): the same
    ** order for every entry this store writes, each prepared under the
    ** write lock with a created_at from the clock.  The project, operation
    ** and completes filters keep their indexes and seq order; the walks
    ** (exports) filter user, event type, server and session row by row. */
    "DROP INDEX idx_audit_user;"
    "DROP INDEX idx_audit_type;"
    "DROP INDEX idx_audit_server;"
    "DROP INDEX idx_audit_session;",
    /* Version 12: the search index keeps no per-row column sizes
    ** (columnsize=0).  Only ranking functions (bm25) read them, and search
    ** orders by time, never by rank; keeping them wrote a row into
    ** audit_fts_docsize for every entry (9 K instructions an append,
    ** callgrind of bench_floor; issue 23).  The index is built again from
    ** audit_log, which takes a while on a large log once (docs/performance.md),
    ** and merged into one segment: as 'rebuild' leaves it, every commit's
    ** new segment was merged with the rebuilt ones, a commit's FTS5 work four
    ** times what it was (bench_floor under callgrind: 365 K -> 448 K a call). */
    "DROP TRIGGER audit_fts_delete;"
    "DROP TABLE audit_fts;"
    "CREATE VIRTUAL TABLE audit_fts USING fts5(operation_name, error,"
    "  content='audit_log', content_rowid='seq', tokenize='trigram', columnsize=0);"
    "INSERT INTO audit_fts(audit_fts) VALUES ('rebuild');"
    "INSERT INTO audit_fts(audit_fts) VALUES ('optimize');"
    "CREATE TRIGGER audit_fts_delete AFTER DELETE ON audit_log BEGIN"
    "  INSERT INTO audit_fts(audit_fts, rowid, operation_name, error)"
    "    VALUES ('delete', OLD.seq, OLD.operation_name, OLD.error);"
    "END;",
};

/* Derived tables that only speed queries up; rebuilt from audit_log when
** retention removes entries, so they never disagree with it. */
#define REBUILD_ACTIVITY                                                    \
    "DELETE FROM activity_daily;"                                           \
    "INSERT INTO activity_daily SELECT user_id, substr(created_at, 1, 10),"  \
    "  event_type, count(*), count(error) FROM audit_log"                   \
    "  WHERE user_id IS NOT NULL GROUP BY 1, 2, 3;"                         \
    "DELETE FROM activity_projects;"                                        \
    "INSERT INTO activity_projects SELECT user_id, project_id,"             \
    "  max(created_at) FROM audit_log"                                      \
    "  WHERE user_id IS NOT NULL AND project_id IS NOT NULL GROUP BY 1, 2;"

static const char *const migration3 =
    /* Version 3: what keeps queries fast at tens of millions of entries.
    ** A trigram index answers substring search; per-user daily counts and
    ** per-user project recency answer get_user_activity in time that grows
    ** with `days`, not with the user's entry count.  Triggers keep them in
    ** step with every insert, whichever process writes. */
    "CREATE VIRTUAL TABLE audit_fts USING fts5(operation_name, error,"
    "  content='audit_log', content_rowid='seq', tokenize='trigram');"
    "INSERT INTO audit_fts(audit_fts) VALUES ('rebuild');"
    "CREATE TRIGGER audit_fts_insert AFTER INSERT ON audit_log BEGIN"
    "  INSERT INTO audit_fts(rowid, operation_name, error)"
    "    VALUES (NEW.seq, NEW.operation_name, NEW.error);"
    "END;"
    "CREATE TRIGGER audit_fts_delete AFTER DELETE ON audit_log BEGIN"
    "  INSERT INTO audit_fts(audit_fts, rowid, operation_name, error)"
    "    VALUES ('delete', OLD.seq, OLD.operation_name, OLD.error);"
    "END;"
    "CREATE TABLE activity_daily ("
    "  user_id TEXT NOT NULL, day TEXT NOT NULL, event_type TEXT NOT NULL,"
    "  n INTEGER NOT NULL, errors INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, day, event_type)) WITHOUT ROWID;"
    "CREATE TABLE activity_projects ("
    "  user_id TEXT NOT NULL, project_id TEXT NOT NULL, last_seen TEXT NOT NULL,"
    "  PRIMARY KEY (user_id, project_id)) WITHOUT ROWID;"
    "CREATE INDEX idx_activity_projects_seen ON activity_projects(user_id, last_seen);"
    "CREATE TRIGGER activity_insert AFTER INSERT ON audit_log"
    "  WHEN NEW.user_id IS NOT NULL BEGIN"
    "  INSERT INTO activity_daily VALUES (NEW.user_id, substr(NEW.created_at, 1, 10),"
    "    NEW.event_type, 1, NEW.error IS NOT NULL)"
    "    ON CONFLICT DO UPDATE SET n = n + 1, errors = errors + excluded.errors;"
    "  INSERT INTO activity_projects SELECT NEW.user_id, NEW.project_id, NEW.created_at"
    "    WHERE NEW.project_id IS NOT NULL"
    "    ON CONFLICT DO UPDATE SET last_seen = max(last_seen, excluded.last_seen);"
    "END;"
    REBUILD_ACTIVITY;

static int user_version(sqlite_store *s, int *out, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sq_fail(s, rc, "reading the schema version", err);
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return STORE_OK;
}

static int count_objects(sqlite_store *s, int *out, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sq_fail(s, rc, "reading the database", err);
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return STORE_OK;
}

/* Refuse, before anything is written, a database this server must not
** touch: one of another program, or one from a newer version of this one.
** *version receives the schema version found. */
static int check_ours_in(sqlite_store *s, const char *path, int *version, char *err);

static int check_ours(sqlite_store *s, const char *path, int *version, char *err)
{
    /* One read transaction, so both reads see the same moment even while
    ** another server is creating the schema. */
    int rc = sq_exec(s, "BEGIN", "reading the database", err);
    if (rc != STORE_OK) return rc;
    rc = check_ours_in(s, path, version, err);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

static int check_ours_in(sqlite_store *s, const char *path, int *version, char *err)
{
    int objects = 0, rc;
    if ((rc = user_version(s, version, err)) != STORE_OK) return rc;
    if (*version > SCHEMA_VERSION) {
        snprintf(err, STORE_ERRLEN,
                 "%s has schema version %d, newer than this server's %d; "
                 "upgrade dss-audit-mcp", path, *version, SCHEMA_VERSION);
        return STORE_ESCHEMA;
    }
    if (*version == 0) {
        if ((rc = count_objects(s, &objects, err)) != STORE_OK) return rc;
        if (objects > 0) {
            snprintf(err, STORE_ERRLEN,
                     "%s is an SQLite database of some other program, not a "
                     "dss-audit-mcp audit log; refusing to change it", path);
            return STORE_ESCHEMA;
        }
    }
    return STORE_OK;
}

/* Bring the schema from `version` to SCHEMA_VERSION, one transaction per
** step.  The version is read again under the write lock, so that servers
** starting together on a new file migrate it once between them. */
static int migrate(sqlite_store *s, const char *path, int version, char *err)
{
    int rc;
    if (version == SCHEMA_VERSION) return STORE_OK;
    if (s->readonly) {
        snprintf(err, STORE_ERRLEN,
                 "%s needs a schema upgrade, which a read-only open cannot do",
                 path);
        return STORE_EREADONLY;
    }
    for (;;) {
        if ((rc = sq_exec(s, "BEGIN IMMEDIATE", "starting a migration", err)))
            return rc;
        int v = 0;
        rc = user_version(s, &v, err);
        if (rc == STORE_OK && v >= SCHEMA_VERSION) {
            rc = sq_exec(s, "COMMIT", "migrating the schema", err);
            if (rc != STORE_OK) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (rc == STORE_OK)
            rc = sq_exec(s, migrations[v] ? migrations[v] : migration3,
                      "migrating the schema", err);
        if (rc == STORE_OK && v == 0) {
            char sql[128], id[37];
            store_random_uuid(id);
            snprintf(sql, sizeof sql,
                     "INSERT INTO meta (key, value) VALUES ('log_id', '%s')", id);
            rc = sq_exec(s, sql, "naming the log", err);
        }
        if (rc == STORE_OK) rc = sq_exec(s, pragma, "migrating the schema", err);
        if (rc == STORE_OK) rc = sq_exec(s, "COMMIT", "migrating the schema", err);
        if (rc != STORE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
}

static int load_log_id(sqlite_store *s, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT value FROM meta WHERE key = 'log_id'", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE) {
            snprintf(err, STORE_ERRLEN, "the database has no log_id");
            return STORE_ESCHEMA;
        }
        return sq_fail(s, rc, "reading the log id", err);
    }
    snprintf(s->log_id, sizeof s->log_id, "%s",
             (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return STORE_OK;
}

/* One value of the meta table into out (len bytes), "" when absent. */
int sq_meta_get(sqlite_store *s, const char *key, char *out, size_t len, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st,
                                NULL);
    out[0] = '\0';
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(s, rc, "reading the log's name", err);
}

int sq_meta_put(sqlite_store *s, const char *key, const char *value, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO meta(key, value) VALUES (?1, ?2)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(s, rc, "naming the log", err);
}


const char sq_no_delete_trigger[] = NO_DELETE_TRIGGER;
const char sq_rebuild_activity[] = REBUILD_ACTIVITY;

int sq_schema_check(sqlite_store *s, const char *path, int *version, char *err)
{
    return check_ours(s, path, version, err);
}

int sq_schema_migrate(sqlite_store *s, const char *path, int version, char *err)
{
    int rc = migrate(s, path, version, err);
    return rc == STORE_OK ? load_log_id(s, err) : rc;
}
