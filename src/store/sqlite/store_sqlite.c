/*
** store_sqlite.c: the audit trail in a local SQLite database.
**
** The database runs in WAL mode with synchronous=FULL, so a commit returns
** only after its frames are fsynced and readers never block the writer.  The
** schema is versioned with PRAGMA user_version and brought forward by the
** migrations below, each applied in its own transaction.  Entries are
** append-only: triggers abort UPDATE and DELETE, and each row carries the
** hash chain computed in chain.c.  Every statement is prepared once per
** connection and bound with parameters; no value is ever spliced into SQL.
*/
#include "store_sqlite.h"
#include "../../util/fsutil.h"
#include "../../util/jbuf.h"
#include "../../util/jsoncheck.h"
#include "../../util/uuid7.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include <sodium.h>

/* Bits that name which filters a query uses; each shape gets one cached
** prepared statement. */
enum {
    Q_PROJECT = 1 << 0,
    Q_USER = 1 << 1,
    Q_OPNAME = 1 << 2,
    Q_EVTYPE = 1 << 3,
    Q_SINCE = 1 << 4,
    Q_UNTIL = 1 << 5,
    Q_TEXT = 1 << 6,   /* substring by LIKE scan (terms under 3 characters) */
    Q_FTS = 1 << 7,    /* substring through the trigram index */
    Q_CURSOR = 1 << 8, /* keyset continuation after a previous page */
    Q_SERVER = 1 << 9,
    Q_SESSION = 1 << 10,
    Q_COMPLETES = 1 << 11,
    Q_SHAPES = 1 << 12
};

enum {
    ST_HEAD, ST_INSERT, ST_GET, ST_ACT_TOTALS, ST_ACT_TYPES, ST_ACT_TYPES_BEFORE,
    ST_HASH_AT,
    ST_LAST_CP, ST_LAST_ANCHOR, ST_ADD_CP, ST_EACH_CP, ST_FIND_HASH, ST_FTS_SYNC,
    ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO, ST_COUNT
};

struct sqlite_store {
    sqlite3 *db;
    int in_tx;
    int64_t tx_id;   /* number of the current (or last) write transaction */
    int64_t lost_tx; /* a transaction SQLite rolled back by itself, or 0 */
    int savepoint_depth;
    /* Per transaction, set by sqlite_store_begin() and read only while in_tx: */
    int64_t fts_from; /* first seq of this transaction not yet in audit_fts, or 0 */
    int tx_writes;    /* entries appended in the open transaction */
    int readonly;
    int wal_frames;  /* pages in the WAL after this connection's last commit */
    char log_id[37];
    char log_name[STORE_LOG_NAME_MAX];
    char public_key[65]; /* recorded in meta, "" when none */
    sqlite3_stmt *st[ST_COUNT];
    sqlite3_stmt *find[Q_SHAPES];
};

#define SCHEMA_VERSION 8

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
    ** before COMMIT (sqlite_store_fts_sync_sql), not by a trigger per row.  FTS5
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

const char sqlite_store_fts_sync_sql[] =
    "INSERT INTO audit_fts(rowid, operation_name, error)"
    " SELECT seq, operation_name, error FROM audit_log WHERE seq >= ?";

static const char *const checkpoint_columns =
    "number, kind, log_id, seq, head_hash, created_at, prev_checkpoint_hash,"
    " public_key, signature";

static const char *const entry_columns =
    "a.seq, a.id, a.event_type, a.operation_name, a.operation_id, a.user_id,"
    " a.project_id, a.args, a.result, a.error, a.before_state, a.after_state,"
    " a.created_at, a.client, a.prev_hash, a.hash, a.server, a.session_id,"
    " a.duration_ms, a.completes, a.cwd";

static const char *const fixed_sql[ST_COUNT] = {
    [ST_HEAD] = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    [ST_INSERT] =
        "INSERT INTO audit_log (seq, id, event_type, operation_name,"
        " operation_id, user_id, project_id, args, result, error,"
        " before_state, after_state, created_at, client, prev_hash, hash,"
        " server, session_id, duration_ms, completes, cwd)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_GET] = NULL, /* built with entry_columns in prepare_fixed() */
    /* Whole days come from activity_daily; the first, partial day of the
    ** window is counted exactly from audit_log: its entries from the
    ** window's start on when the window starts after noon, else the day's
    ** counter less its entries before the start (ST_ACT_TYPES_BEFORE), so
    ** at most half a day is read.  The rows are added up per event type in
    ** sqlite_store_user_activity(): grouping them here would sort every row, which
    ** costs more than reading them. */
    [ST_ACT_TYPES] =
        "SELECT event_type, n, errors FROM activity_daily"
        " WHERE user_id = ?1 AND day > ?2"
        " UNION ALL"
        " SELECT event_type, 1, error IS NOT NULL FROM audit_log"
        " WHERE user_id = ?1 AND created_at >= ?3 AND created_at < ?4",
    [ST_ACT_TYPES_BEFORE] =
        "SELECT event_type, n, errors FROM activity_daily"
        " WHERE user_id = ?1 AND day >= ?2"
        " UNION ALL"
        " SELECT event_type, -1, -(error IS NOT NULL) FROM audit_log"
        " WHERE user_id = ?1 AND created_at >= ?2 AND created_at < ?3",
    /* The user's rows by the primary key, one per project ever touched,
    ** last_seen checked row by row (the unary + keeps any index on it out,
    ** see migration 6): exact, and bounded by the user's project count. */
    [ST_ACT_TOTALS] =
        "SELECT count(*) FROM activity_projects WHERE user_id = ? AND +last_seen >= ?",
    [ST_HASH_AT] = "SELECT hash FROM audit_log WHERE seq = ?",
    [ST_FTS_SYNC] = sqlite_store_fts_sync_sql,
    /* Every writing request takes a savepoint: prepared once, not parsed
    ** again by sqlite3_exec() for each request. */
    [ST_SAVEPOINT] = "SAVEPOINT request",
    [ST_RELEASE] = "RELEASE request",
    [ST_ROLLBACK_TO] = "ROLLBACK TO request",
    [ST_LAST_CP] = NULL, /* these three are built in prepare_fixed() */
    [ST_LAST_ANCHOR] = NULL,
    [ST_EACH_CP] = NULL,
    [ST_ADD_CP] =
        "INSERT INTO checkpoints (kind, log_id, seq, head_hash, created_at,"
        " prev_checkpoint_hash, public_key, signature)"
        " VALUES (?,?,?,?,?,?,?,?)",
    [ST_FIND_HASH] = "SELECT seq FROM audit_log WHERE hash = ? LIMIT 1",
};

/* Map an SQLite result code to a store code and a sentence for people. */
static int fail_db(sqlite_store *s, int rc, const char *doing, char *err)
{
    int saved_errno = errno; /* what the failed write set, before anything else */
    int code;
    /* Some errors (a full disk among them) make SQLite roll the whole
    ** transaction back on its own.  Notice, so that nothing later in the
    ** group runs outside a transaction and the writes acknowledged so far
    ** in it are reported as lost. */
    if (s && s->db && s->in_tx && sqlite3_get_autocommit(s->db)) {
        s->lost_tx = s->tx_id;
        s->in_tx = 0;
        s->savepoint_depth = 0;
    }
    const char *why = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    /* SQLite reports a short write as SQLITE_FULL, but a write refused
    ** outright by a file-size limit or a quota as an I/O error, and does
    ** not always keep the system error (then errno still holds it). */
    int sys = s && s->db ? sqlite3_system_errno(s->db) : 0;
    if (!sys) sys = saved_errno;
    if ((rc & 0xff) == SQLITE_IOERR && (sys == EFBIG || sys == ENOSPC || sys == EDQUOT))
        rc = SQLITE_FULL;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        code = STORE_EFULL;
        why = "the disk or the database's size limit is full";
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = STORE_EBUSY;
        why = "another process kept the database locked";
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = STORE_EREADONLY;
        why = "the database is read-only";
        break;
    case SQLITE_NOMEM: code = STORE_ENOMEM; break;
    case SQLITE_INTERRUPT:
        code = STORE_EINTERRUPTED;
        why = "interrupted";
        break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: code = STORE_ESCHEMA; break;
    default: code = STORE_EIO; break;
    }
    snprintf(err, STORE_ERRLEN, "%s: %s", doing, why);
    return code;
}

static int exec(sqlite_store *s, const char *sql, const char *doing, char *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : fail_db(s, rc, doing, err);
}

static int prepare(sqlite_store *s, const char *sql, sqlite3_stmt **out, char *err)
{
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
                                NULL);
    return rc == SQLITE_OK ? STORE_OK : fail_db(s, rc, "preparing a query", err);
}

/* Create the file with mode 0600 (and its folders with 0700) before SQLite
** does, so it never exists with wider permissions, and refuse a file that
** other users may write: they could rewrite the trail beneath us. */
static int prepare_file(const char *path, int *readonly, char *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, STORE_ERRLEN, "%s is not a regular file", path);
            return STORE_EIO;
        }
        /* A file nobody may write is served read-only, even to root, who
        ** would otherwise ignore the permission bits. */
        if (!(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) *readonly = 1;
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
            snprintf(err, STORE_ERRLEN,
                     "%s is writable by other users; refusing to use it "
                     "(run chmod 600 on it)", path);
            return STORE_EIO;
        }
        return STORE_OK;
    }
    if (*readonly) {
        snprintf(err, STORE_ERRLEN, "%s does not exist", path);
        return STORE_EIO;
    }
    if (fs_make_parents(path, err, STORE_ERRLEN) != 0) return STORE_EIO;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
        snprintf(err, STORE_ERRLEN, "cannot create %s: %s", path,
                 strerror(errno));
        return STORE_EIO;
    }
    if (fd >= 0) close(fd);
    return STORE_OK;
}

static int user_version(sqlite_store *s, int *out, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail_db(s, rc, "reading the schema version", err);
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
        return fail_db(s, rc, "reading the database", err);
    }
    *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return STORE_OK;
}

/* A random (version 4) UUID, for the log's own id: nothing orders logs,
** and a random id says nothing about when the log was made.  (Entry ids
** are time-ordered; see uuid7.h.)  The bytes come from libsodium's
** generator, which needs no system call per UUID (libuuid's makes six);
** libuuid only formats them. */
static void random_uuid(char out[37])
{
    uuid_t u;
    randombytes_buf(u, sizeof u);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}

/* Refuse, before anything is written, a database this server must not
** touch: one of another program, or one from a newer version of this one.
** *version receives the schema version found. */
static int check_ours_in(sqlite_store *s, const char *path, int *version, char *err);

static int check_ours(sqlite_store *s, const char *path, int *version, char *err)
{
    /* One read transaction, so both reads see the same moment even while
    ** another server is creating the schema. */
    int rc = exec(s, "BEGIN", "reading the database", err);
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
        if ((rc = exec(s, "BEGIN IMMEDIATE", "starting a migration", err)))
            return rc;
        int v = 0;
        rc = user_version(s, &v, err);
        if (rc == STORE_OK && v >= SCHEMA_VERSION) {
            rc = exec(s, "COMMIT", "migrating the schema", err);
            if (rc != STORE_OK) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (rc == STORE_OK)
            rc = exec(s, migrations[v] ? migrations[v] : migration3,
                      "migrating the schema", err);
        if (rc == STORE_OK && v == 0) {
            char sql[128], id[37];
            random_uuid(id);
            snprintf(sql, sizeof sql,
                     "INSERT INTO meta (key, value) VALUES ('log_id', '%s')", id);
            rc = exec(s, sql, "naming the log", err);
        }
        if (rc == STORE_OK) rc = exec(s, pragma, "migrating the schema", err);
        if (rc == STORE_OK) rc = exec(s, "COMMIT", "migrating the schema", err);
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
        return fail_db(s, rc, "reading the log id", err);
    }
    snprintf(s->log_id, sizeof s->log_id, "%s",
             (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return STORE_OK;
}

/* One value of the meta table into out (len bytes), "" when absent. */
static int meta_get(sqlite_store *s, const char *key, char *out, size_t len, char *err)
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
    return rc == SQLITE_DONE ? STORE_OK : fail_db(s, rc, "reading the log's name", err);
}

static int meta_put(sqlite_store *s, const char *key, const char *value, char *err)
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
    return rc == SQLITE_DONE ? STORE_OK : fail_db(s, rc, "naming the log", err);
}

/* The log's readable name and recorded key, kept in meta.  A log created
** before names existed is given one at its first writable open: the name
** asked for, else the host name.  Read-only, it is called by its id. */
static int load_log_name(sqlite_store *s, const char *asked, char *err)
{
    int rc = meta_get(s, "log_name", s->log_name, sizeof s->log_name, err);
    if (rc == STORE_OK && !s->log_name[0] && !s->readonly) {
        char host[STORE_LOG_NAME_MAX] = "";
        if (!asked || !*asked) {
            if (gethostname(host, sizeof host - 1) != 0 || !host[0])
                snprintf(host, sizeof host, "%s", s->log_id);
            asked = host;
        }
        if ((rc = meta_put(s, "log_name", asked, err)) == STORE_OK)
            rc = meta_get(s, "log_name", s->log_name, sizeof s->log_name, err);
    }
    if (rc == STORE_OK && !s->log_name[0])
        snprintf(s->log_name, sizeof s->log_name, "%s", s->log_id);
    if (rc == STORE_OK)
        rc = meta_get(s, "public_key", s->public_key, sizeof s->public_key, err);
    return rc;
}

static int prepare_fixed(sqlite_store *s, char *err)
{
    char built[ST_COUNT][512] = {{0}};
    snprintf(built[ST_GET], 512, "SELECT %s FROM audit_log a WHERE id = ?",
             entry_columns);
    snprintf(built[ST_LAST_CP], 512,
             "SELECT %s FROM checkpoints ORDER BY number DESC LIMIT 1",
             checkpoint_columns);
    snprintf(built[ST_LAST_ANCHOR], 512,
             "SELECT %s FROM checkpoints WHERE kind = 'anchor'"
             " ORDER BY number DESC LIMIT 1", checkpoint_columns);
    snprintf(built[ST_EACH_CP], 512, "SELECT %s FROM checkpoints ORDER BY number",
             checkpoint_columns);
    for (int i = 0; i < ST_COUNT; i++) {
        const char *sql = built[i][0] ? built[i] : fixed_sql[i];
        if (!sql) continue;
        int rc = prepare(s, sql, &s->st[i], err);
        if (rc != STORE_OK) return rc;
    }
    return STORE_OK;
}

/* Cap the file at max_bytes (rounded down to whole pages, at least the
** pages already in use): past it, writes fail with STORE_EFULL. */
static int cap_size(sqlite_store *s, int64_t max_bytes, char *err)
{
    sqlite3_stmt *st = NULL;
    int64_t page = 4096;
    if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             (long long)(max_bytes / (page > 0 ? page : 4096)));
    return exec(s, sql, "capping the database size", err);
}

int sqlite_store_readonly(const sqlite_store *s) { return s->readonly; }

/* Read the durability settings back from a writing connection: a commit is
** acknowledged as durable only if SQLite fsyncs the WAL at every commit
** (synchronous FULL or EXTRA) and the journal is the WAL.  A build or a
** connection where either did not take effect refuses to write at all. */
static int check_durability(sqlite_store *s, char *err)
{
    sqlite3_stmt *st = NULL;
    int sync = -1;
    char mode[16] = "";
    if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        sync = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (sync >= 2 && strcmp(mode, "wal") == 0) return STORE_OK;
    snprintf(err, STORE_ERRLEN,
             "the database connection is not durable (synchronous=%d, journal_mode=%s;"
             " FULL and wal are required)", sync, mode[0] ? mode : "?");
    return STORE_EIO;
}

/* Switch to WAL.  The switch needs a moment with no other connection, and
** SQLite does not wait for one through the busy handler, so a server
** starting beside another retries for up to the busy timeout. */
static int enable_wal(sqlite_store *s, char *err)
{
    for (int attempt = 0;; attempt++) {
        int rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK) return STORE_OK;
        if ((rc & 0xff) != SQLITE_BUSY || attempt >= 1000)
            return fail_db(s, rc, "enabling WAL", err);
        sqlite3_sleep(10);
    }
}

/*
** When the write-ahead log is copied back into the database (a checkpoint).
**
** A commit appends every page it changed to the WAL and fsyncs it: that is
** what makes it durable.  A checkpoint later copies each page back to its
** place in the database file and fsyncs that.  Group commits rewrite the
** same hot pages again and again (the right edge of the table and of the
** id and date indexes, the interior pages of every index, the activity
** counters, the newest FTS segments), and every page in the WAL is copied
** back once per checkpoint, however many commits wrote it.  SQLite's default
** checkpoints every 1,000 WAL pages, after every commit or two of 64 rows,
** so the hot pages were copied back after nearly every commit.  Measured
** with bench_floor (64 rows per transaction, ~400 WAL pages each) on a
** 200,000-entry database (schema 6): pages copied back per transaction
** (counting the last copy, at close) 256 at 1,000, 126 at 4,000, 79 at
** 10,000, 60 at 20,000, 38 if never; fsyncs per transaction 2.0, 1.3, 1.1,
** 1.1, 1.0.  10,000 takes most of the gain; 20,000 would double the WAL
** for little more.
**
** The cost: the WAL grows to about 40 MiB before it is reused, readers find
** recent pages through a larger WAL index, and recovery after a crash reads
** up to 40 MiB.  Durability does not change: a commit is durable once its
** own WAL frames are fsynced (synchronous=FULL), whatever the checkpoint
** does later.  journal_size_limit truncates the WAL file back to 64 MiB
** whenever it restarts after an outsized transaction (a retention prune, a
** migration); the normal cycle stays under the limit, so the file is reused
** in place instead of being regrown each time.
**
** The copy is also moved off the reply path where that costs nothing: the
** server calls sqlite_store_idle() once its input has been quiet for a moment
** (QUIET_MS in server.c), which checkpoints when the WAL holds at least
** WAL_IDLE_FRAMES, so a client that pauses between calls, as agents do,
** never waits for a checkpoint.  Under sustained load there is no such
** moment, and the checkpoint inside the commit that reaches
** WAL_CHECKPOINT_FRAMES (after the commit's own fsync) is the bound; it is
** the only one for the other programs that write through the store (prune,
** the benchmarks).
*/
#define WAL_CHECKPOINT_FRAMES 10000
#define WAL_IDLE_FRAMES 1000
#define WAL_SIZE_LIMIT "67108864"

/* Copy the WAL back into the database without waiting for, or blocking,
** any other connection (a PASSIVE checkpoint).  Returns an SQLite code;
** SQLITE_BUSY means another connection is checkpointing, doing the same
** work. */
static int checkpoint_wal(sqlite_store *s)
{
    int frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                       &frames, &copied);
    /* A reader still using old pages can hold some back; then the next
    ** quiet moment tries again. */
    if (rc == SQLITE_OK && copied >= frames) s->wal_frames = 0;
    return rc;
}

/* Called by SQLite after every commit of this connection, with the number
** of pages in the WAL; it replaces the automatic checkpoint, which is a
** hook like this one with a threshold of 1,000. */
static int after_commit(void *ctx, sqlite3 *db, const char *name, int frames)
{
    sqlite_store *s = ctx;
    (void)db;
    (void)name;
    s->wal_frames = frames;
    /* A failure only leaves the pages in the WAL, as SQLite's own hook
    ** does; the commit has happened either way. */
    if (frames >= WAL_CHECKPOINT_FRAMES) checkpoint_wal(s);
    return SQLITE_OK;
}

int sqlite_store_idle(sqlite_store *s, char *err)
{
    if (s->readonly || s->in_tx || s->wal_frames < WAL_IDLE_FRAMES) return STORE_OK;
    int rc = checkpoint_wal(s);
    if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY) return STORE_OK;
    return fail_db(s, rc, "copying the write-ahead log into the database", err);
}

void sqlite_store_set_interrupt(sqlite_store *s, int (*fn)(void *ctx), void *ctx)
{
    /* Every 50,000 virtual machine steps: a few times per millisecond of
    ** work, so a cancel takes effect quickly at a negligible cost. */
    sqlite3_progress_handler(s->db, fn ? 50000 : 0, fn, ctx);
}

int sqlite_store_open(const store_options *opt, sqlite_store **out, char *err)
{
    int rc;
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) return STORE_ENOMEM;
    s->readonly = opt->readonly;
    int memory = strcmp(opt->path, ":memory:") == 0;
    if (!memory && (rc = prepare_file(opt->path, &s->readonly, err)) != STORE_OK)
        goto fail;
    int flags = (s->readonly ? SQLITE_OPEN_READONLY
                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
                | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int src = sqlite3_open_v2(opt->path, &s->db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = fail_db(s, src, "opening the database", err);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms
                                                         : 10000);
    int version = 0;
    if ((rc = check_ours(s, opt->path, &version, err)) != STORE_OK) goto fail;
    if (!s->readonly && (rc = enable_wal(s, err)) != STORE_OK) goto fail;
    if (opt->max_bytes > 0 && (rc = cap_size(s, opt->max_bytes, err)) != STORE_OK)
        goto fail;
    sqlite3_wal_hook(s->db, after_commit, s); /* see WAL_CHECKPOINT_FRAMES */
    /* A group commit touches a few thousand pages; a cache that holds them
    ** keeps SQLite from spilling (and rewriting) pages mid-transaction. */
    if ((rc = exec(s, "PRAGMA synchronous=FULL", "setting durability", err)) ||
        (rc = exec(s, "PRAGMA journal_size_limit=" WAL_SIZE_LIMIT,
                   "limiting the write-ahead log", err)) ||
        (rc = exec(s, "PRAGMA cache_size=-16384", "sizing the cache", err)) ||
        /* Each request's savepoint journals the pages it changes; in memory
        ** that costs nothing, in a temporary file it costs a write per page
        ** (and would put page images outside the database's own files). */
        (rc = exec(s, "PRAGMA temp_store=MEMORY", "keeping journals in memory", err)) ||
        (!s->readonly && !memory && (rc = check_durability(s, err))) ||
        (rc = migrate(s, opt->path, version, err)) || (rc = load_log_id(s, err)) ||
        (rc = load_log_name(s, opt->log_name, err)) ||
        (rc = prepare_fixed(s, err)))
        goto fail;
    *out = s;
    return STORE_OK;
fail:
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc == STORE_ESCHEMA && strstr(err, "file is not a database"))
        snprintf(err, STORE_ERRLEN, "%s is not an SQLite database", opt->path);
    sqlite_store_close(s);
    return rc;
}

void sqlite_store_close(sqlite_store *s)
{
    if (!s) return;
    if (s->in_tx) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    for (int i = 0; i < Q_SHAPES; i++) sqlite3_finalize(s->find[i]);
    sqlite3_close(s->db);
    free(s);
}

const char *sqlite_store_log_id(const sqlite_store *s) { return s->log_id; }

const char *sqlite_store_log_name(const sqlite_store *s) { return s->log_name; }

/* Whether `log` (an id or a name) names another log than this file's. */
static int other_log(const sqlite_store *s, const char *log)
{
    return log && strcmp(log, s->log_id) != 0 && strcmp(log, s->log_name) != 0;
}

int sqlite_store_each_log(sqlite_store *s, store_log_fn fn, void *ctx, char *err)
{
    store_log l;
    memset(&l, 0, sizeof l);
    memcpy(l.log_id, s->log_id, sizeof l.log_id);
    memcpy(l.name, s->log_name, sizeof l.name);
    memcpy(l.public_key, s->public_key, sizeof l.public_key);
    fn(ctx, &l);
    return STORE_OK;
}

int sqlite_store_use_log(sqlite_store *s, const char *log, char *err)
{
    if (!other_log(s, log)) return STORE_OK;
    snprintf(err, STORE_ERRLEN, "this database holds the log %s (%s), not %s", s->log_name,
             s->log_id, log);
    return STORE_ENOTFOUND;
}

int sqlite_store_record_log_key(sqlite_store *s, const char *pk, char *err)
{
    if (s->public_key[0] && strcmp(s->public_key, pk) != 0) {
        snprintf(err, STORE_ERRLEN,
                 "the log %s records %.16s... as its signing key, not %.16s...",
                 s->log_name, s->public_key, pk);
        return STORE_EINVAL;
    }
    if (s->public_key[0]) return STORE_OK;
    if (s->readonly) return STORE_OK; /* a reader records nothing */
    int rc = meta_put(s, "public_key", pk, err);
    if (rc == STORE_OK)
        rc = meta_get(s, "public_key", s->public_key, sizeof s->public_key, err);
    return rc;
}

/* A local file holds its own log alone: shipping goes the other way. */
static int own_log_only(const sqlite_store *s, char *err)
{
    snprintf(err, STORE_ERRLEN,
             "a local SQLite log holds only its own entries; ship it to PostgreSQL instead");
    return STORE_EINVAL;
}

int sqlite_store_ensure_log(sqlite_store *s, const store_log *log, char *err)
{
    if (strcmp(log->log_id, s->log_id) == 0) return STORE_OK;
    return own_log_only(s, err);
}

int sqlite_store_import(sqlite_store *s, const store_raw_entry *e, size_t n, int64_t *stored,
                        int64_t *skipped, char *err)
{
    *stored = *skipped = 0;
    return own_log_only(s, err);
}

int sqlite_store_import_checkpoint(sqlite_store *s, const store_checkpoint *cp, int *stored,
                                   char *err)
{
    *stored = 0;
    return own_log_only(s, err);
}

int sqlite_store_in_transaction(const sqlite_store *s) { return s->in_tx; }

int sqlite_store_begin(sqlite_store *s, char *err)
{
    if (s->in_tx) {
        snprintf(err, STORE_ERRLEN, "a transaction is already open");
        return STORE_EINVAL;
    }
    if (s->readonly) {
        snprintf(err, STORE_ERRLEN,
                 "the audit log is open read-only (--read-only, or the database "
                 "file has no write permission); no entry can be written");
        return STORE_EREADONLY;
    }
    /* IMMEDIATE takes the write lock now, so the chain head read by an
    ** append cannot change under us even with other writer processes. */
    int rc = exec(s, "BEGIN IMMEDIATE", "starting a write", err);
    if (rc == STORE_OK) {
        s->in_tx = 1;
        s->tx_id++;
        s->savepoint_depth = 0;
        s->fts_from = 0;
        s->tx_writes = 0;
    }
    return rc;
}

int64_t sqlite_store_tx(const sqlite_store *s) { return s->in_tx ? s->tx_id : 0; }

int sqlite_store_tx_has_writes(const sqlite_store *s) { return s->in_tx && s->tx_writes > 0; }

int64_t sqlite_store_take_lost_tx(sqlite_store *s)
{
    int64_t lost = s->lost_tx;
    s->lost_tx = 0;
    return lost;
}

/* Index this transaction's entries in audit_fts, so that a search made
** now, or any transaction after this one commits, sees them.  Rows rolled
** back with a savepoint are simply not found by the SELECT. */
static int fts_sync(sqlite_store *s, char *err)
{
    if (!s->in_tx || !s->fts_from) return STORE_OK;
    sqlite3_stmt *st = s->st[ST_FTS_SYNC];
    sqlite3_bind_int64(st, 1, s->fts_from);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail_db(s, rc, "indexing the entries for search", err);
    s->fts_from = 0;
    return STORE_OK;
}

int sqlite_store_commit(sqlite_store *s, char *err)
{
    if (!s->in_tx) {
        snprintf(err, STORE_ERRLEN, "no transaction is open");
        return STORE_EINVAL;
    }
    int rc = fts_sync(s, err);
    if (rc == STORE_OK) rc = exec(s, "COMMIT", "committing", err);
    if (rc != STORE_OK) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
    return rc;
}

void sqlite_store_rollback(sqlite_store *s)
{
    if (!s->in_tx) return;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
}

/* Run one of the prepared savepoint statements. */
static int run_fixed(sqlite_store *s, int which)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

int sqlite_store_savepoint(sqlite_store *s, char *err)
{
    if (!s->in_tx) {
        snprintf(err, STORE_ERRLEN, "no transaction is open");
        return STORE_EINVAL;
    }
    int rc = run_fixed(s, ST_SAVEPOINT);
    if (rc != SQLITE_DONE) return fail_db(s, rc, "starting a request", err);
    s->savepoint_depth++;
    return STORE_OK;
}

void sqlite_store_savepoint_release(sqlite_store *s)
{
    if (!s->in_tx || s->savepoint_depth <= 0) return;
    run_fixed(s, ST_RELEASE);
    s->savepoint_depth--;
}

void sqlite_store_savepoint_rollback(sqlite_store *s)
{
    if (!s->in_tx || s->savepoint_depth <= 0) return;
    run_fixed(s, ST_ROLLBACK_TO);
    run_fixed(s, ST_RELEASE);
    s->savepoint_depth--;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

static int read_checkpoint(sqlite_store *s, sqlite3_stmt *st, store_checkpoint *out,
                           const char *doing, char *err);

/* The seq and hash of the newest entry: where the chain continues.  When
** retention removed every entry, the chain continues from its anchor. */
static int read_head(sqlite_store *s, int64_t *seq, uint8_t hash[CHAIN_HASH_BYTES],
                     char *err)
{
    sqlite3_stmt *st = s->st[ST_HEAD];
    int rc = sqlite3_step(st), found = 0;
    *seq = 0;
    memset(hash, 0, CHAIN_HASH_BYTES);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == CHAIN_HASH_BYTES)
            memcpy(hash, sqlite3_column_blob(st, 1), CHAIN_HASH_BYTES);
        rc = SQLITE_DONE;
        found = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail_db(s, rc, "reading the chain head", err);
    if (found) return STORE_OK;
    store_checkpoint a;
    int arc = read_checkpoint(s, s->st[ST_LAST_ANCHOR], &a, "reading the anchor", err);
    if (arc == STORE_ENOTFOUND) return STORE_OK;
    if (arc != STORE_OK) return arc;
    *seq = a.seq;
    sodium_hex2bin(hash, CHAIN_HASH_BYTES, a.head_hash, strlen(a.head_hash),
                   NULL, NULL, NULL);
    return STORE_OK;
}

int sqlite_store_append(sqlite_store *s, const store_record *rec, store_receipt *out, char *err)
{
    if (!s->in_tx) {
        snprintf(err, STORE_ERRLEN, "append outside a transaction");
        return STORE_EINVAL;
    }
    uint8_t prev[CHAIN_HASH_BYTES], hash[CHAIN_HASH_BYTES];
    int64_t head;
    int rc = read_head(s, &head, prev, err);
    if (rc != STORE_OK) return rc;

    /* The id embeds the same instant as created_at, in milliseconds. */
    int64_t now = ts_now_us();
    uuid7_next(now / 1000, out->id);
    out->seq = head + 1;
    ts_format(now, out->created_at);
    chain_fields f = {
        .seq = out->seq, .id = out->id, .event_type = rec->event_type,
        .operation_name = rec->operation_name, .operation_id = rec->operation_id,
        .user_id = rec->user_id, .project_id = rec->project_id,
        .args = rec->args, .result = rec->result, .error = rec->error,
        .before_state = rec->before_state, .after_state = rec->after_state,
        .created_at = out->created_at, .client = rec->client,
        .server = rec->server, .session_id = rec->session_id,
        .completes = rec->completes, .cwd = rec->cwd,
    };
    /* The duration is hashed as the text SQLite gives back for the
    ** INTEGER column, which is what verification reads. */
    char duration[24];
    if (rec->has_duration) {
        snprintf(duration, sizeof duration, "%lld", (long long)rec->duration_ms);
        f.duration_ms = duration;
    }
    chain_entry_hash(&f, prev, hash);
    chain_hex(hash, out->hash);

    sqlite3_stmt *st = s->st[ST_INSERT];
    sqlite3_bind_int64(st, 1, out->seq);
    bind_text(st, 2, out->id);
    bind_text(st, 3, rec->event_type);
    bind_text(st, 4, rec->operation_name);
    bind_text(st, 5, rec->operation_id);
    bind_text(st, 6, rec->user_id);
    bind_text(st, 7, rec->project_id);
    bind_text(st, 8, rec->args);
    bind_text(st, 9, rec->result);
    bind_text(st, 10, rec->error);
    bind_text(st, 11, rec->before_state);
    bind_text(st, 12, rec->after_state);
    bind_text(st, 13, out->created_at);
    bind_text(st, 14, rec->client);
    sqlite3_bind_blob(st, 15, prev, CHAIN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 16, hash, CHAIN_HASH_BYTES, SQLITE_STATIC);
    bind_text(st, 17, rec->server);
    bind_text(st, 18, rec->session_id);
    if (rec->has_duration) sqlite3_bind_int64(st, 19, rec->duration_ms);
    bind_text(st, 20, rec->completes);
    bind_text(st, 21, rec->cwd);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) return fail_db(s, rc, "writing the entry", err);
    if (!s->fts_from) s->fts_from = out->seq;
    s->tx_writes++;
    return STORE_OK;
}

/* How each column of entry_columns appears in an entry, in order.  The
** F_OPT kinds are encoding v2's fields, left out of an entry where NULL, so
** entries without them read exactly as they always did. */
enum { F_INT, F_TEXT, F_JSON, F_HASH, F_OPT_TEXT, F_OPT_JSON, F_OPT_INT };
#define FIELD(name, kind) {name, ",\"" name "\":", sizeof name + 3, kind}
static const struct {
    const char *name;
    const char *key; /* ,"name": as it is written into entry text */
    size_t key_len;
    int kind;
} entry_fields[] = {
    FIELD("seq", F_INT), FIELD("id", F_TEXT), FIELD("event_type", F_TEXT),
    FIELD("operation_name", F_TEXT), FIELD("operation_id", F_TEXT),
    FIELD("user_id", F_TEXT), FIELD("project_id", F_TEXT), FIELD("args", F_JSON),
    FIELD("result", F_JSON), FIELD("error", F_TEXT), FIELD("before_state", F_JSON),
    FIELD("after_state", F_JSON), FIELD("created_at", F_TEXT), FIELD("client", F_JSON),
    FIELD("prev_hash", F_HASH), FIELD("hash", F_HASH), FIELD("server", F_OPT_JSON),
    FIELD("session_id", F_OPT_TEXT), FIELD("duration_ms", F_OPT_INT),
    FIELD("completes", F_OPT_TEXT), FIELD("cwd", F_OPT_TEXT)};
#undef FIELD
#define ENTRY_FIELDS (sizeof entry_fields / sizeof entry_fields[0])

/* Whether the stored text of a JSON column may be spliced into a reply as
** it is.  It is checked, linearly, because text that is not JSON (only
** possible if the file was edited) would break the reply; such text is
** shown as a string instead, so the reader sees what is stored. */
static int splices(const char *text, size_t len)
{
    char why[128];
    int rc = jsoncheck(text, len, 1024, why, sizeof why);
    return rc == JSONCHECK_OK || rc == JSONCHECK_NUL;
}

/* A field of a row selected with entry_columns as a cJSON value: SQL NULL
** becomes null, stored JSON is spliced in raw (serialized once, numbers
** exact).  Returns a new item, or NULL when memory runs out. */
static cJSON *field_item(sqlite3_stmt *st, int col)
{
    int kind = entry_fields[col].kind;
    if (kind == F_OPT_INT) kind = F_INT;
    else if (kind == F_OPT_JSON) kind = F_JSON;
    else if (kind == F_OPT_TEXT) kind = F_TEXT;
    if (kind == F_INT) return cJSON_CreateNumber((double)sqlite3_column_int64(st, col));
    if (kind == F_HASH) {
        char hex[CHAIN_HEX_LEN] = "";
        if (sqlite3_column_bytes(st, col) == CHAIN_HASH_BYTES)
            chain_hex(sqlite3_column_blob(st, col), hex);
        return cJSON_CreateString(hex);
    }
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return cJSON_CreateNull();
    const char *text = (const char *)sqlite3_column_text(st, col);
    if (!text) return NULL; /* out of memory */
    if (kind == F_JSON && splices(text, (size_t)sqlite3_column_bytes(st, col)))
        return cJSON_CreateRaw(text);
    return cJSON_CreateString(text);
}

/* Build one entry object from a row selected with entry_columns.
** Returns a new object the caller frees, or NULL when memory runs out. */
static cJSON *row_to_entry(const sqlite_store *s, sqlite3_stmt *st)
{
    cJSON *e = cJSON_CreateObject();
    if (!e) return NULL;
    for (int c = 0; c < (int)ENTRY_FIELDS; c++) {
        if (entry_fields[c].kind >= F_OPT_TEXT &&
            sqlite3_column_type(st, c) == SQLITE_NULL)
            continue;
        cJSON *v = field_item(st, c);
        if (!v || !cJSON_AddItemToObject(e, entry_fields[c].name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(e);
            return NULL;
        }
    }
    if (!cJSON_AddStringToObject(e, "log_id", s->log_id) ||
        !cJSON_AddStringToObject(e, "log", s->log_name)) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

/* Append the same entry as JSON text, without building a tree: the text
** cJSON would print for row_to_entry()'s object.  Strings end at their
** first NUL, as they do in cJSON. */
static void row_to_json(const sqlite_store *s, sqlite3_stmt *st, jbuf *out)
{
    jbuf_putc(out, '{');
    for (int c = 0; c < (int)ENTRY_FIELDS; c++) {
        int kind = entry_fields[c].kind;
        if (kind >= F_OPT_TEXT) {
            if (sqlite3_column_type(st, c) == SQLITE_NULL) continue;
            kind = kind == F_OPT_INT ? F_INT : kind == F_OPT_JSON ? F_JSON : F_TEXT;
        }
        /* The first key goes without its leading comma. */
        jbuf_put(out, entry_fields[c].key + !c, entry_fields[c].key_len - !c);
        if (kind == F_INT) {
            jbuf_int(out, sqlite3_column_int64(st, c));
        } else if (kind == F_HASH) {
            /* Hex needs no escaping: quote it in place. */
            char quoted[CHAIN_HEX_LEN + 1] = "\"\"";
            size_t n = 2;
            if (sqlite3_column_bytes(st, c) == CHAIN_HASH_BYTES) {
                chain_hex(sqlite3_column_blob(st, c), quoted + 1);
                quoted[CHAIN_HEX_LEN] = '"';
                n = CHAIN_HEX_LEN + 1;
            }
            jbuf_put(out, quoted, n);
        } else {
            /* No text is SQL NULL, or no memory to convert the value: only
            ** then is the column's type asked for. */
            const char *text = (const char *)sqlite3_column_text(st, c);
            if (!text && sqlite3_column_type(st, c) == SQLITE_NULL)
                jbuf_put(out, "null", 4);
            else if (!text)
                jbuf_fail(out);
            else if (kind == F_JSON && splices(text, (size_t)sqlite3_column_bytes(st, c)))
                jbuf_put(out, text, (size_t)sqlite3_column_bytes(st, c));
            else
                jbuf_string(out, text, strlen(text));
        }
    }
    jbuf_puts(out, ",\"log_id\":");
    jbuf_string(out, s->log_id, strlen(s->log_id));
    jbuf_puts(out, ",\"log\":");
    jbuf_string(out, s->log_name, strlen(s->log_name));
    jbuf_putc(out, '}');
}

/* Terms of three or more characters can use the trigram index. */
static int fts_usable(const char *term)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)term; *p; p++)
        if ((*p & 0xC0) != 0x80) chars++;
    return chars >= 3;
}

static int shape_of(const store_query *q)
{
    return (q->project_id ? Q_PROJECT : 0) | (q->user_id ? Q_USER : 0) |
           (q->operation_name ? Q_OPNAME : 0) | (q->event_type ? Q_EVTYPE : 0) |
           (q->since ? Q_SINCE : 0) | (q->until ? Q_UNTIL : 0) |
           (q->text ? (fts_usable(q->text) ? Q_FTS | Q_TEXT : Q_TEXT) : 0) |
           (q->server ? Q_SERVER : 0) | (q->session_id ? Q_SESSION : 0) |
           (q->completes ? Q_COMPLETES : 0) |
           (q->after_seq > 0 ? Q_CURSOR : 0);
}

/* The server filter, in the form idx_audit_server is declared with (its
** partial index condition spelled out, so the planner may use it). */
static const char server_match[] =
    "a.server IS NOT NULL AND json_extract(a.server, '$.name') = ?13";

/* Bind the filters every query and walk shares (numbered as in find_sql). */
static void bind_filters(sqlite3_stmt *st, const store_query *q)
{
    if (q->project_id) bind_text(st, 1, q->project_id);
    if (q->user_id) bind_text(st, 2, q->user_id);
    if (q->operation_name) bind_text(st, 3, q->operation_name);
    if (q->event_type) bind_text(st, 4, q->event_type);
    if (q->since) bind_text(st, 5, q->since);
    if (q->until) bind_text(st, 6, q->until);
    if (q->server) bind_text(st, 13, q->server);
    if (q->session_id) bind_text(st, 14, q->session_id);
    if (q->completes) bind_text(st, 15, q->completes);
}

/* Build the SQL for one query shape.  Parameters are numbered so that
** binding does not depend on which filters are present.  The trigram index
** only narrows the candidates; the LIKE filter still decides, so results
** are exactly those of a scan. */
static void find_sql(int shape, char *buf, size_t len)
{
    int timed = shape & (Q_SINCE | Q_UNTIL);
    int n = snprintf(buf, len, "SELECT %s FROM %s WHERE 1", entry_columns,
                     shape & Q_FTS
                         ? "audit_fts f JOIN audit_log a ON a.seq = f.rowid"
                         : "audit_log a");
    if (shape & Q_FTS) n += snprintf(buf + n, len - n, " AND audit_fts MATCH ?10");
    if (shape & Q_PROJECT) n += snprintf(buf + n, len - n, " AND a.project_id = ?1");
    if (shape & Q_USER) n += snprintf(buf + n, len - n, " AND a.user_id = ?2");
    if (shape & Q_OPNAME) n += snprintf(buf + n, len - n, " AND a.operation_name = ?3");
    if (shape & Q_EVTYPE) n += snprintf(buf + n, len - n, " AND a.event_type = ?4");
    if (shape & Q_SERVER) n += snprintf(buf + n, len - n, " AND %s", server_match);
    if (shape & Q_SESSION) n += snprintf(buf + n, len - n, " AND a.session_id = ?14");
    if (shape & Q_COMPLETES) n += snprintf(buf + n, len - n, " AND a.completes = ?15");
    if (shape & Q_SINCE) n += snprintf(buf + n, len - n, " AND a.created_at >= ?5");
    if (shape & Q_UNTIL) n += snprintf(buf + n, len - n, " AND a.created_at <= ?6");
    if (shape & Q_TEXT)
        n += snprintf(buf + n, len - n,
                      " AND (a.operation_name LIKE ?7 ESCAPE '\\'"
                      " OR a.error LIKE ?7 ESCAPE '\\')");
    if ((shape & Q_CURSOR) && timed)
        n += snprintf(buf + n, len - n, " AND (a.created_at, a.seq) < (?12, ?11)");
    else if (shape & Q_CURSOR)
        n += snprintf(buf + n, len - n, " AND %s < ?11",
                      shape & Q_FTS ? "f.rowid" : "a.seq");
    if (timed)
        n += snprintf(buf + n, len - n, " ORDER BY a.created_at DESC, a.seq DESC");
    else
        n += snprintf(buf + n, len - n, " ORDER BY %s DESC",
                      shape & Q_FTS ? "f.rowid" : "a.seq");
    snprintf(buf + n, len - n, " LIMIT ?8 OFFSET ?9");
}

/* Append term[from, to) to w as an FTS5 string: quoted, quotes doubled. */
static char *fts_string(char *w, const char *from, const char *to)
{
    *w++ = '"';
    for (const char *c = from; c < to; c++) {
        if (*c == '"') *w++ = '"';
        *w++ = *c;
    }
    *w++ = '"';
    return w;
}

/* Where the UTF-8 character after p ends. */
static const char *next_char(const char *p)
{
    do p++;
    while ((*p & 0xC0) == 0x80);
    return p;
}

/* The FTS5 query that narrows a search for a literal term of three or more
** characters: its trigrams at characters 0, 3, 6, ... and the last one,
** each a string of its own, all required (implicit AND).  That covers the
** term, yet asks FTS5 for a third of the trigrams and no positions, where
** the term as one phrase would check every trigram's position list: half
** the time at a million entries.  Entries holding those trigrams apart are
** let through, and the LIKE filter, which decides anyway, drops them.
** Returns a new string the caller frees, or NULL. */
static char *fts_query(const char *term)
{
    size_t n = strlen(term);
    /* Each byte at most doubled, plus two quotes and a space per string,
    ** a string per three characters, and the last string overlapping the
    ** one before by at most two characters (eight bytes). */
    char *q = malloc(5 * n + 32), *w = q;
    if (!q) return NULL;
    const char *end = term + n, *at = term;
    for (;;) {
        const char *piece_end = next_char(next_char(next_char(at)));
        if (w != q) *w++ = ' ';
        w = fts_string(w, at, piece_end);
        if (piece_end == end) break;
        /* The next three characters, or the last three if fewer remain. */
        const char *probe = piece_end;
        int left = 0;
        while (probe < end && left < 3) probe = next_char(probe), left++;
        if (left == 3) {
            at = piece_end;
        } else {
            const char *last = end;
            for (int k = 0; k < 3; k++)
                do last--;
                while ((*last & 0xC0) == 0x80);
            at = last;
        }
    }
    *w = '\0';
    return q;
}

/* "%term%" with LIKE's own metacharacters escaped, so the term matches
** only itself.  Returns a new string the caller frees, or NULL. */
static char *like_pattern(const char *term)
{
    size_t n = strlen(term);
    char *p = malloc(2 * n + 3), *w = p;
    if (!p) return NULL;
    *w++ = '%';
    for (const char *c = term; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') *w++ = '\\';
        *w++ = *c;
    }
    *w++ = '%';
    *w = '\0';
    return p;
}

static int find_stmt(sqlite_store *s, int shape, sqlite3_stmt **out, char *err)
{
    if (!s->find[shape]) {
        char sql[2048];
        find_sql(shape, sql, sizeof sql);
        int rc = prepare(s, sql, &s->find[shape], err);
        if (rc != STORE_OK) return rc;
    }
    *out = s->find[shape];
    return STORE_OK;
}

/* The EXPLAIN QUERY PLAN lines of one statement, one per line, into plan. */
static int explain(sqlite_store *s, const char *body, char *plan, size_t len, char *err)
{
    char sql[2200];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", body);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return fail_db(s, rc, "explaining a query", err);
    size_t at = 0;
    plan[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && at < len) {
        int n = snprintf(plan + at, len - at, "%s\n", (const char *)sqlite3_column_text(st, 3));
        at += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(st);
    return STORE_OK;
}

int sqlite_store_explain_find(sqlite_store *s, const store_query *q, char *plan, size_t len,
                       char *err)
{
    char body[2048];
    find_sql(shape_of(q), body, sizeof body);
    return explain(s, body, plan, len, err);
}

int sqlite_store_explain_user_activity(sqlite_store *s, char *plan, size_t len, char *err)
{
    static const int st[] = {ST_ACT_TYPES, ST_ACT_TYPES_BEFORE, ST_ACT_TOTALS};
    int rc = STORE_OK;
    plan[0] = '\0';
    for (size_t i = 0; rc == STORE_OK && i < sizeof st / sizeof *st; i++) {
        size_t at = strlen(plan);
        if (at + 1 >= len) break;
        rc = explain(s, fixed_sql[st[i]], plan + at, len - at, err);
    }
    return rc;
}

/* Called with each row a query gathers; STORE_OK, or STORE_ENOMEM to stop. */
typedef int (*row_fn)(void *ctx, const sqlite_store *s, sqlite3_stmt *st);

/* Run q and hand each row (up to its limit) to fn; the shared part of
** sqlite_store_find() and sqlite_store_find_json(). */
static int find_rows(sqlite_store *s, const store_query *q, row_fn fn, void *ctx,
                     int *more_out, char *err)
{
    if (other_log(s, q->log)) {
        if (more_out) *more_out = 0;
        return STORE_OK;
    }
    int shape = shape_of(q);
    sqlite3_stmt *st;
    int rc = find_stmt(s, shape, &st, err);
    if (rc == STORE_OK && (shape & Q_FTS)) rc = fts_sync(s, err);
    if (rc != STORE_OK) return rc;
    char *pattern = NULL, *phrase = NULL;
    if (q->text && (!(pattern = like_pattern(q->text)) ||
                    ((shape & Q_FTS) && !(phrase = fts_query(q->text))))) {
        rc = STORE_ENOMEM;
        goto done;
    }
    bind_filters(st, q);
    if (pattern) bind_text(st, 7, pattern);
    if (phrase) bind_text(st, 10, phrase);
    if (shape & Q_CURSOR) {
        sqlite3_bind_int64(st, 11, q->after_seq);
        bind_text(st, 12, q->after_created_at ? q->after_created_at : "");
    }
    /* One row past the limit tells whether more matched. */
    sqlite3_bind_int64(st, 8, q->limit + 1);
    sqlite3_bind_int64(st, 9, q->offset);
    int64_t got = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (got++ == q->limit) break;
        if ((rc = fn(ctx, s, st)) != STORE_OK) goto done;
        if (q->progress && got % 1000 == 0) q->progress(q->progress_ctx, got, q->limit);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = fail_db(s, src, "querying the audit log", err);
        goto done;
    }
    if (more_out) *more_out = got > q->limit;
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(pattern);
    free(phrase);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    return rc;
}

static int add_entry(void *ctx, const sqlite_store *s, sqlite3_stmt *st)
{
    cJSON *e = row_to_entry(s, st);
    if (!e) return STORE_ENOMEM;
    cJSON_AddItemToArray(ctx, e);
    return STORE_OK;
}

int sqlite_store_find(sqlite_store *s, const store_query *q, cJSON **entries, int *more_out,
               char *err)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    int rc = find_rows(s, q, add_entry, arr, more_out, err);
    if (rc == STORE_OK) *entries = arr;
    else cJSON_Delete(arr);
    return rc;
}

typedef struct text_page {
    jbuf *out;
    store_page *page;
} text_page;

static int append_entry(void *ctx, const sqlite_store *s, sqlite3_stmt *st)
{
    text_page *tp = ctx;
    store_page *pg = tp->page;
    if (pg->count++) jbuf_putc(tp->out, ',');
    row_to_json(s, st, tp->out);
    if (tp->out->failed) return STORE_ENOMEM;
    pg->last_seq = sqlite3_column_int64(st, 0);
    const char *at = (const char *)sqlite3_column_text(st, 12);
    size_t n = at ? strlen(at) : 0;
    if (n >= sizeof pg->last_created_at) n = sizeof pg->last_created_at - 1;
    memcpy(pg->last_created_at, at ? at : "", n);
    pg->last_created_at[n] = '\0';
    memcpy(pg->last_log_id, s->log_id, sizeof pg->last_log_id);
    return STORE_OK;
}

int sqlite_store_find_json(sqlite_store *s, const store_query *q, jbuf *out, store_page *page,
                    char *err)
{
    memset(page, 0, sizeof *page);
    text_page tp = {out, page};
    jbuf_putc(out, '[');
    int rc = find_rows(s, q, append_entry, &tp, &page->more, err);
    jbuf_putc(out, ']');
    if (rc == STORE_OK && out->failed) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
    }
    return rc;
}

int sqlite_store_get(sqlite_store *s, const char *id, cJSON **entry, char *err)
{
    sqlite3_stmt *st = s->st[ST_GET];
    int rc = STORE_OK;
    bind_text(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *entry = row_to_entry(s, st);
        if (!*entry) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
        }
    } else if (src == SQLITE_DONE) {
        snprintf(err, STORE_ERRLEN, "no audit entry has id '%.64s'", id);
        rc = STORE_ENOTFOUND;
    } else {
        rc = fail_db(s, src, "reading the entry", err);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* One event type's counts while sqlite_store_user_activity() adds them up. */
typedef struct type_count {
    char *type;
    int64_t n, errors;
} type_count;

/* Most frequent first, ties by name (as SQL's ORDER BY n DESC, type). */
static int by_count(const void *a, const void *b)
{
    const type_count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->type, y->type);
}

/* Add a row's counts to its type's, found by a linear search: a user's
** entries have a dozen types or so.  STORE_OK or STORE_ENOMEM. */
static int count_type(type_count **tc, size_t *n, size_t *cap, const char *type,
                      int64_t count, int64_t errors)
{
    size_t i = 0;
    while (i < *n && strcmp((*tc)[i].type, type) != 0) i++;
    if (i == *n) {
        if (*n == *cap) {
            size_t grown = *cap ? 2 * *cap : 16;
            type_count *more = realloc(*tc, grown * sizeof *more);
            if (!more) return STORE_ENOMEM;
            *tc = more;
            *cap = grown;
        }
        if (!((*tc)[i].type = strdup(type))) return STORE_ENOMEM;
        (*tc)[i].n = (*tc)[i].errors = 0;
        (*n)++;
    }
    (*tc)[i].n += count;
    (*tc)[i].errors += errors;
    return STORE_OK;
}

int sqlite_store_user_activity(sqlite_store *s, const char *user_id, const char *since,
                        store_activity *out, char *err)
{
    int rc = STORE_OK, src;
    char day[11], day_end[16];
    type_count *tc = NULL;
    size_t ntc = 0, cap = 0;
    memset(out, 0, sizeof *out);
    snprintf(day, sizeof day, "%.10s", since);
    snprintf(day_end, sizeof day_end, "%.10sT99", since);
    /* since is ts_format()'s "YYYY-MM-DDTHH:...": before noon, the part of
    ** its day before it is the shorter one to read. */
    int before_noon = strlen(since) > 13 && strncmp(since + 11, "12", 2) < 0;
    sqlite3_stmt *types = s->st[before_noon ? ST_ACT_TYPES_BEFORE : ST_ACT_TYPES],
                 *proj = s->st[ST_ACT_TOTALS];
    bind_text(types, 1, user_id);
    bind_text(types, 2, day);
    bind_text(types, 3, since);
    if (!before_noon) bind_text(types, 4, day_end);
    while ((src = sqlite3_step(types)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(types, 0);
        if (!type || count_type(&tc, &ntc, &cap, type, sqlite3_column_int64(types, 1),
                                sqlite3_column_int64(types, 2)) != STORE_OK) {
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    if (src != SQLITE_DONE) {
        rc = fail_db(s, src, "counting the user's activity", err);
        goto done;
    }
    /* A type whose only entries on the first day came before the window
    ** adds up to nothing: it is not part of the window. */
    size_t kept = 0;
    for (size_t i = 0; i < ntc; i++) {
        if (tc[i].n > 0) tc[kept++] = tc[i];
        else free(tc[i].type);
    }
    ntc = kept;
    if (ntc) qsort(tc, ntc, sizeof *tc, by_count);
    if (!(out->by_type = cJSON_CreateObject())) {
        rc = STORE_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ntc; i++) {
        out->total += tc[i].n;
        out->errors += tc[i].errors;
        if (!cJSON_AddNumberToObject(out->by_type, tc[i].type, (double)tc[i].n)) {
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    bind_text(proj, 1, user_id);
    bind_text(proj, 2, since);
    if ((src = sqlite3_step(proj)) != SQLITE_ROW) {
        rc = fail_db(s, src, "counting the user's projects", err);
        goto done;
    }
    out->projects = sqlite3_column_int64(proj, 0);
done:
    sqlite3_reset(types);
    sqlite3_clear_bindings(types);
    sqlite3_reset(proj);
    sqlite3_clear_bindings(proj);
    for (size_t i = 0; i < ntc; i++) free(tc[i].type);
    free(tc);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc != STORE_OK) {
        cJSON_Delete(out->by_type);
        out->by_type = NULL;
    }
    return rc;
}

/* ---- Integrity ---- */

int sqlite_store_head(sqlite_store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    uint8_t h[CHAIN_HASH_BYTES];
    int rc = read_head(s, seq, h, err);
    if (rc == STORE_OK) chain_hex(h, hash);
    return rc;
}

int sqlite_store_hash_at(sqlite_store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    sqlite3_stmt *st = s->st[ST_HASH_AT];
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st), out = STORE_OK;
    if (rc == SQLITE_ROW) {
        hash[0] = '\0';
        if (sqlite3_column_bytes(st, 0) == CHAIN_HASH_BYTES)
            chain_hex(sqlite3_column_blob(st, 0), hash);
    } else if (rc == SQLITE_DONE) {
        snprintf(err, STORE_ERRLEN, "no entry has seq %lld", (long long)seq);
        out = STORE_ENOTFOUND;
    } else {
        out = fail_db(s, rc, "reading an entry's hash", err);
    }
    sqlite3_reset(st);
    return out;
}

int sqlite_store_find_hash(sqlite_store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq,
                    char *err)
{
    sqlite3_stmt *st = s->st[ST_FIND_HASH];
    sqlite3_bind_blob(st, 1, hash, CHAIN_HASH_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st), out = STORE_OK;
    if (rc == SQLITE_ROW) *seq = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE) out = STORE_ENOTFOUND;
    else out = fail_db(s, rc, "searching for a hash", err);
    sqlite3_reset(st);
    return out;
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void row_to_checkpoint(sqlite3_stmt *st, store_checkpoint *cp)
{
    memset(cp, 0, sizeof *cp);
    cp->number = sqlite3_column_int64(st, 0);
    copy_col(st, 1, cp->kind, sizeof cp->kind);
    copy_col(st, 2, cp->log_id, sizeof cp->log_id);
    cp->seq = sqlite3_column_int64(st, 3);
    copy_col(st, 4, cp->head_hash, sizeof cp->head_hash);
    copy_col(st, 5, cp->created_at, sizeof cp->created_at);
    copy_col(st, 6, cp->prev_checkpoint_hash, sizeof cp->prev_checkpoint_hash);
    copy_col(st, 7, cp->public_key, sizeof cp->public_key);
    copy_col(st, 8, cp->signature, sizeof cp->signature);
}

static int read_checkpoint(sqlite_store *s, sqlite3_stmt *st, store_checkpoint *out,
                           const char *doing, char *err)
{
    int rc = sqlite3_step(st), code = STORE_OK;
    if (rc == SQLITE_ROW) row_to_checkpoint(st, out);
    else if (rc == SQLITE_DONE) code = STORE_ENOTFOUND;
    else code = fail_db(s, rc, doing, err);
    sqlite3_reset(st);
    if (code == STORE_ENOTFOUND) snprintf(err, STORE_ERRLEN, "no checkpoint yet");
    return code;
}

int sqlite_store_last_checkpoint(sqlite_store *s, store_checkpoint *out, char *err)
{
    return read_checkpoint(s, s->st[ST_LAST_CP], out, "reading checkpoints", err);
}

int sqlite_store_last_anchor(sqlite_store *s, store_checkpoint *out, char *err)
{
    return read_checkpoint(s, s->st[ST_LAST_ANCHOR], out, "reading checkpoints", err);
}

int sqlite_store_add_checkpoint(sqlite_store *s, store_checkpoint *cp, char *err)
{
    if (!s->in_tx) {
        snprintf(err, STORE_ERRLEN, "checkpoint outside a transaction");
        return STORE_EINVAL;
    }
    sqlite3_stmt *st = s->st[ST_ADD_CP];
    bind_text(st, 1, cp->kind);
    bind_text(st, 2, cp->log_id);
    sqlite3_bind_int64(st, 3, cp->seq);
    bind_text(st, 4, cp->head_hash);
    bind_text(st, 5, cp->created_at);
    bind_text(st, 6, cp->prev_checkpoint_hash);
    bind_text(st, 7, cp->public_key);
    bind_text(st, 8, cp->signature);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) return fail_db(s, rc, "writing a checkpoint", err);
    cp->number = sqlite3_last_insert_rowid(s->db);
    return STORE_OK;
}

int sqlite_store_each_checkpoint(sqlite_store *s, store_checkpoint_fn fn, void *ctx, char *err)
{
    sqlite3_stmt *st = s->st[ST_EACH_CP];
    int rc;
    store_checkpoint cp;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_checkpoint(st, &cp);
        if (fn(ctx, &cp) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : fail_db(s, rc, "reading checkpoints", err);
}

static const char *opt_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

static void row_to_raw(sqlite3_stmt *st, store_raw_entry *e)
{
    e->f = (chain_fields){
        .seq = sqlite3_column_int64(st, 0), .id = opt_text(st, 1),
        .event_type = opt_text(st, 2), .operation_name = opt_text(st, 3),
        .operation_id = opt_text(st, 4), .user_id = opt_text(st, 5),
        .project_id = opt_text(st, 6), .args = opt_text(st, 7),
        .result = opt_text(st, 8), .error = opt_text(st, 9),
        .before_state = opt_text(st, 10), .after_state = opt_text(st, 11),
        .created_at = opt_text(st, 12), .client = opt_text(st, 13),
        .server = opt_text(st, 16), .session_id = opt_text(st, 17),
        .duration_ms = opt_text(st, 18), .completes = opt_text(st, 19),
        .cwd = opt_text(st, 20),
    };
    e->hashes_ok = sqlite3_column_bytes(st, 14) == CHAIN_HASH_BYTES &&
                   sqlite3_column_bytes(st, 15) == CHAIN_HASH_BYTES;
    memset(e->prev_hash, 0, CHAIN_HASH_BYTES);
    memset(e->hash, 0, CHAIN_HASH_BYTES);
    if (e->hashes_ok) {
        memcpy(e->prev_hash, sqlite3_column_blob(st, 14), CHAIN_HASH_BYTES);
        memcpy(e->hash, sqlite3_column_blob(st, 15), CHAIN_HASH_BYTES);
    }
}

int sqlite_store_each_entry(sqlite_store *s, int64_t from, store_entry_fn fn, void *ctx, char *err)
{
    /* A statement of its own: the callback may use the shared ones. */
    sqlite3_stmt *st = NULL;
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s FROM audit_log a WHERE seq >= ? ORDER BY seq",
             entry_columns);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return fail_db(s, rc, "reading entries", err);
    sqlite3_bind_int64(st, 1, from);
    store_raw_entry e;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_raw(st, &e);
        if (fn(ctx, &e) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int code = rc == SQLITE_DONE ? STORE_OK : fail_db(s, rc, "reading entries", err);
    sqlite3_finalize(st);
    return code;
}

int sqlite_store_missing_guards(sqlite_store *s, char *what, size_t len, char *err)
{
    (void)s;
    (void)err;
    if (len) what[0] = '\0';
    return STORE_OK;
}

int sqlite_store_prune(sqlite_store *s, const char *before, store_keep_fn keep, void *ctx,
                int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err)
{
    *last_seq = 0;
    last_hash[0] = '\0';
    if (!s->in_tx) {
        snprintf(err, STORE_ERRLEN, "prune outside a transaction");
        return STORE_EINVAL;
    }
    sqlite3_stmt *st = NULL;
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s FROM audit_log a ORDER BY seq", entry_columns);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), code = STORE_OK;
    if (rc != SQLITE_OK) return fail_db(s, rc, "reading entries", err);
    store_raw_entry e;
    /* Only a prefix can go: the chain must stay unbroken after it. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_raw(st, &e);
        if (!e.f.created_at || strcmp(e.f.created_at, before) >= 0) break;
        if (keep(ctx, &e) != 0) {
            snprintf(err, STORE_ERRLEN, "the archive could not be written; nothing was removed");
            code = STORE_EIO;
            goto done;
        }
        *last_seq = e.f.seq;
        chain_hex(e.hash, last_hash);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        code = fail_db(s, rc, "reading entries", err);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (keep(ctx, NULL) != 0) {
        snprintf(err, STORE_ERRLEN, "the archive could not be made durable; nothing was removed");
        code = STORE_EIO;
        goto done;
    }
    if (*last_seq == 0) goto done;
    char del[128];
    snprintf(del, sizeof del, "DELETE FROM audit_log WHERE seq <= %lld",
             (long long)*last_seq);
    /* The one sanctioned removal lifts the trigger inside its own
    ** transaction: no other connection ever sees the table without it. */
    if ((code = exec(s, "DROP TRIGGER audit_log_no_delete", "starting retention", err)) ||
        (code = exec(s, del, "removing old entries", err)) ||
        (code = exec(s, NO_DELETE_TRIGGER, "finishing retention", err)) ||
        (code = exec(s, REBUILD_ACTIVITY, "recounting activity", err)))
        goto done;
done:
    sqlite3_finalize(st);
    return code;
}

/* ---- For the command line (src/cli): streaming walks and statistics ----
** Appended for people's subcommands.  Each function prepares statements of
** its own and finalizes them, so callbacks may use the shared ones. */

/* The SQL for a walk; parameters numbered as in find_sql(). */
static void scan_sql(const store_scan *sc, char *buf, size_t len)
{
    const store_query *q = sc->filter;
    int n = snprintf(buf, len, "SELECT %s FROM audit_log a WHERE a.seq > ?11",
                     entry_columns);
    if (q && q->project_id) n += snprintf(buf + n, len - n, " AND a.project_id = ?1");
    if (q && q->user_id) n += snprintf(buf + n, len - n, " AND a.user_id = ?2");
    if (q && q->operation_name)
        n += snprintf(buf + n, len - n, " AND a.operation_name = ?3");
    if (q && q->event_type) n += snprintf(buf + n, len - n, " AND a.event_type = ?4");
    if (q && q->server) n += snprintf(buf + n, len - n, " AND %s", server_match);
    if (q && q->session_id) n += snprintf(buf + n, len - n, " AND a.session_id = ?14");
    if (q && q->completes) n += snprintf(buf + n, len - n, " AND a.completes = ?15");
    /* The unary + keeps the date indexes out: they would deliver rows in
    ** time order and need a sort, which holds rows in memory, to restore
    ** seq order.  Time bounds are checked row by row instead. */
    if (q && q->since) n += snprintf(buf + n, len - n, " AND +a.created_at >= ?5");
    if (q && q->until) n += snprintf(buf + n, len - n, " AND +a.created_at <= ?6");
    if (q && q->text)
        n += snprintf(buf + n, len - n,
                      " AND (a.operation_name LIKE ?7 ESCAPE '\\'"
                      " OR a.error LIKE ?7 ESCAPE '\\')");
    n += snprintf(buf + n, len - n, " ORDER BY a.seq %s",
                  sc->newest_first ? "DESC" : "ASC");
    if (sc->limit > 0) snprintf(buf + n, len - n, " LIMIT ?8");
}

int sqlite_store_each_match(sqlite_store *s, const store_scan *scan, store_match_fn fn,
                     void *ctx, char *err)
{
    const store_query *q = scan->filter;
    sqlite3_stmt *st = NULL;
    char sql[2048], *pattern = NULL;
    int rc = STORE_OK, src;
    if (q && other_log(s, q->log)) return STORE_OK;
    scan_sql(scan, sql, sizeof sql);
    if ((src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
        rc = fail_db(s, src, "reading entries", err);
        goto done;
    }
    if (q && q->text && !(pattern = like_pattern(q->text))) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
        goto done;
    }
    sqlite3_bind_int64(st, 11, scan->after_seq);
    if (q) bind_filters(st, q);
    if (pattern) bind_text(st, 7, pattern);
    if (scan->limit > 0) sqlite3_bind_int64(st, 8, scan->limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *e = row_to_entry(s, st);
        if (!e) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
            goto done;
        }
        int stop = fn(ctx, e);
        cJSON_Delete(e);
        if (stop) {
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE) rc = fail_db(s, src, "reading entries", err);
done:
    sqlite3_finalize(st);
    free(pattern);
    return rc;
}

/* Run sql (binding a and b to ?1 and ?2 when the statement has them) and
** read the first column of the first row as an integer into *out.
** *found says whether there was a row (it may be NULL when a row is
** certain, e.g. for count(*)). */
static int one_int64(sqlite_store *s, const char *sql, int64_t a, int64_t b,
                     int64_t *out, int *found, const char *doing, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = fail_db(s, src, doing, err);
        goto done;
    }
    if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, b);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        if (found) *found = 1;
    } else if (src == SQLITE_DONE) {
        *out = 0;
        if (found) *found = 0;
    } else {
        rc = fail_db(s, src, doing, err);
    }
done:
    sqlite3_finalize(st);
    return rc;
}

int sqlite_store_seq_range(sqlite_store *s, int64_t *first, int64_t *last, char *err)
{
    /* Two statements: a min() and a max() in one would scan the table. */
    int rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq ASC LIMIT 1",
                       0, 0, first, NULL, "reading the oldest entry", err);
    if (rc == STORE_OK)
        rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1",
                       0, 0, last, NULL, "reading the newest entry", err);
    return rc;
}

int sqlite_store_nth_newest_seq(sqlite_store *s, int64_t n, int64_t *seq, char *err)
{
    int found = 0;
    if (n < 1) n = 1;
    int rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1 OFFSET ?1",
                       n - 1, 0, seq, &found, "reading the newest entries", err);
    if (rc == STORE_OK && !found)
        rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq ASC LIMIT 1",
                       0, 0, seq, NULL, "reading the oldest entry", err);
    return rc;
}

/* created_at of the entry at seq into out ("" when there is none). */
static int created_at_of(sqlite_store *s, int64_t seq, char out[TS_BUFLEN], char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    out[0] = '\0';
    int src = sqlite3_prepare_v2(s->db, "SELECT created_at FROM audit_log WHERE seq = ?",
                                 -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = fail_db(s, src, "reading an entry's time", err);
        goto done;
    }
    sqlite3_bind_int64(st, 1, seq);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) copy_col(st, 0, out, TS_BUFLEN);
    else if (src != SQLITE_DONE) rc = fail_db(s, src, "reading an entry's time", err);
done:
    sqlite3_finalize(st);
    return rc;
}

/* Counts by event type (and the error total) from the per-day counters,
** plus the entries without a user, which those counters do not hold. */
static int stats_by_type(sqlite_store *s, store_stats *out, char *err)
{
    static const char sql[] =
        "SELECT event_type, sum(n) AS total, sum(e) FROM ("
        "  SELECT event_type, n, errors AS e FROM activity_daily"
        "  UNION ALL"
        "  SELECT event_type, 1, error IS NOT NULL FROM audit_log WHERE user_id IS NULL)"
        " GROUP BY event_type ORDER BY total DESC, event_type";
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = fail_db(s, src, "counting event types", err);
        goto done;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        out->errors += sqlite3_column_int64(st, 2);
        if (!cJSON_AddNumberToObject(out->by_event_type, type ? type : "",
                                     (double)sqlite3_column_int64(st, 1))) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    if (src != SQLITE_DONE) rc = fail_db(s, src, "counting event types", err);
done:
    sqlite3_finalize(st);
    return rc;
}

static int stats_top_users(sqlite_store *s, int limit, store_stats *out, char *err)
{
    static const char sql[] =
        "SELECT user_id, sum(n) AS total, sum(errors) FROM activity_daily"
        " GROUP BY user_id ORDER BY total DESC, user_id LIMIT ?";
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = fail_db(s, src, "counting users", err);
        goto done;
    }
    sqlite3_bind_int(st, 1, limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *u = cJSON_CreateObject();
        const char *user = (const char *)sqlite3_column_text(st, 0);
        if (!u || !cJSON_AddItemToArray(out->top_users, u) ||
            !cJSON_AddStringToObject(u, "user_id", user ? user : "") ||
            !cJSON_AddNumberToObject(u, "entries", (double)sqlite3_column_int64(st, 1)) ||
            !cJSON_AddNumberToObject(u, "errors", (double)sqlite3_column_int64(st, 2))) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    if (src != SQLITE_DONE) rc = fail_db(s, src, "counting users", err);
done:
    sqlite3_finalize(st);
    return rc;
}

/* The size of the write-ahead log beside the main file, 0 when absent. */
static int64_t wal_size(sqlite_store *s)
{
    const char *main_file = sqlite3_db_filename(s->db, "main");
    if (!main_file || !*main_file) return 0;
    size_t n = strlen(main_file) + 5;
    char *wal = malloc(n);
    struct stat st;
    int64_t size = 0;
    if (!wal) return 0;
    snprintf(wal, n, "%s-wal", main_file);
    if (stat(wal, &st) == 0) size = (int64_t)st.st_size;
    free(wal);
    return size;
}

int sqlite_store_get_stats(sqlite_store *s, int top_users, store_progress_fn progress,
                    void *ctx, store_stats *out, char *err)
{
    enum { CHUNK = 65536 };
    int rc, in_read = 0;
    int64_t pages = 0, page_size = 0, n;
    memset(out, 0, sizeof *out);
    out->by_event_type = cJSON_CreateObject();
    out->top_users = cJSON_CreateArray();
    if (!out->by_event_type || !out->top_users) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
        goto done;
    }
    /* One read transaction: every number describes the same moment. */
    if (!s->in_tx) {
        if ((rc = exec(s, "BEGIN", "starting to read", err)) != STORE_OK) goto done;
        in_read = 1;
    }
    if ((rc = sqlite_store_seq_range(s, &out->first_seq, &out->last_seq, err)) != STORE_OK ||
        (rc = created_at_of(s, out->first_seq, out->first_created_at, err)) != STORE_OK ||
        (rc = created_at_of(s, out->last_seq, out->last_created_at, err)) != STORE_OK)
        goto done;
    if (out->last_seq > 0) {
        int64_t span = out->last_seq - out->first_seq + 1;
        for (int64_t from = out->first_seq; from <= out->last_seq; from += CHUNK) {
            int64_t to = from + CHUNK - 1 < out->last_seq ? from + CHUNK - 1 : out->last_seq;
            rc = one_int64(s, "SELECT count(*) FROM audit_log WHERE seq BETWEEN ?1 AND ?2",
                           from, to, &n, NULL, "counting entries", err);
            if (rc != STORE_OK) goto done;
            out->entries += n;
            if (progress) progress(ctx, to - out->first_seq + 1, span);
        }
    }
    if ((rc = stats_by_type(s, out, err)) != STORE_OK ||
        (rc = stats_top_users(s, top_users, out, err)) != STORE_OK ||
        (rc = one_int64(s, "SELECT count(*) FROM checkpoints WHERE kind = 'checkpoint'",
                        0, 0, &out->checkpoints, NULL, "counting checkpoints", err)) ||
        (rc = one_int64(s, "SELECT count(*) FROM checkpoints WHERE kind = 'anchor'",
                        0, 0, &out->anchors, NULL, "counting anchors", err)) ||
        (rc = one_int64(s, "PRAGMA page_count", 0, 0, &pages, NULL,
                        "reading the database size", err)) ||
        (rc = one_int64(s, "PRAGMA page_size", 0, 0, &page_size, NULL,
                        "reading the database size", err)))
        goto done;
    out->db_bytes = pages * page_size;
    out->wal_bytes = wal_size(s);
done:
    if (in_read) sqlite3_exec(s->db, rc == STORE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (rc != STORE_OK) {
        cJSON_Delete(out->by_event_type);
        cJSON_Delete(out->top_users);
        out->by_event_type = out->top_users = NULL;
    }
    return rc;
}

int sqlite_store_explain_each_match(sqlite_store *s, const store_scan *scan, char *plan,
                             size_t len, char *err)
{
    char body[2048];
    scan_sql(scan, body, sizeof body);
    return explain(s, body, plan, len, err);
}

int sqlite_store_set_cache_size(sqlite_store *s, int kib, char *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", kib > 0 ? kib : 1);
    return exec(s, sql, "sizing the cache", err);
}

/* ---- For the viewer (src/viewer): activity per day and per user ---------
** Both read the per-day counters (activity_daily: one row per user, day
** and event type), so their cost grows with users x days x types, never
** with the number of entries.  Entries without a user, which the counters
** do not hold, are read from audit_log through idx_audit_user_date
** (user_id IS NULL, then created_at). */

static int each_activity_row(sqlite_store *s, const char *sql, const char *doing,
                             const char *user_id, const char *since_day,
                             const char *until_day, store_activity_fn fn,
                             void *ctx, char *err)
{
    sqlite3_stmt *st = NULL;
    char until_ts[16];
    int rc = prepare(s, sql, &st, err);
    if (rc != STORE_OK) return rc;
    /* until_day is inclusive: every created_at of that day sorts before
    ** "<day>U" ('U' > 'T'). */
    snprintf(until_ts, sizeof until_ts, "%.10sU", until_day);
    /* Parameters a statement does not use are ignored (SQLITE_RANGE). */
    bind_text(st, 1, since_day);
    bind_text(st, 2, until_day);
    bind_text(st, 3, until_ts);
    bind_text(st, 4, user_id);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        const char *b = (const char *)sqlite3_column_text(st, 1);
        if (fn(ctx, a ? a : "", b ? b : "", sqlite3_column_int64(st, 2),
               sqlite3_column_int64(st, 3)) != 0) {
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE) rc = fail_db(s, src, doing, err);
    sqlite3_finalize(st);
    return rc;
}

int sqlite_store_activity_days(sqlite_store *s, const char *user_id, const char *since_day,
                        const char *until_day, store_activity_fn fn, void *ctx,
                        char *err)
{
    /* With a user: that user's counter rows, a range of the primary key.
    ** Without: every user's rows of the window, summed (the GROUP BY sorts
    ** counter rows, not entries), plus the entries that have no user. */
    static const char one_user[] =
        "SELECT day, event_type, n, errors FROM activity_daily"
        " WHERE user_id = ?4 AND day BETWEEN ?1 AND ?2 ORDER BY day, event_type";
    static const char all_users[] =
        "SELECT day, event_type, sum(n), sum(e) FROM ("
        "  SELECT day, event_type, n, errors AS e FROM activity_daily"
        "  WHERE day BETWEEN ?1 AND ?2"
        "  UNION ALL"
        "  SELECT substr(created_at, 1, 10), event_type, 1, error IS NOT NULL"
        "  FROM audit_log WHERE user_id IS NULL AND created_at >= ?1"
        "  AND created_at < ?3)"
        " GROUP BY day, event_type ORDER BY day, event_type";
    return each_activity_row(s, user_id ? one_user : all_users,
                             "counting activity per day", user_id, since_day,
                             until_day, fn, ctx, err);
}

int sqlite_store_activity_users(sqlite_store *s, const char *since_day, const char *until_day,
                         store_activity_fn fn, void *ctx, char *err)
{
    /* The primary key starts with user_id: grouped without a sort.  The
    ** second column is unused (""), to share the callback's shape. */
    static const char sql[] =
        "SELECT user_id, '', sum(n), sum(errors) FROM activity_daily"
        " WHERE day BETWEEN ?1 AND ?2 GROUP BY user_id ORDER BY user_id";
    return each_activity_row(s, sql, "counting activity per user", NULL,
                             since_day, until_day, fn, ctx, err);
}
