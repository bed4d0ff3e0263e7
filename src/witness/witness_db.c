/*
** witness_db.c: the witness's SQLite state (witness_db.h).
**
** The served-by-hash lookup keeps the SHA-256 of each origin in a column,
** computed here when the row is written, so that a monitor's
** GET /<origin hash>/checkpoint is one indexed read.
*/
#include "witness_db.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/fsutil.h"

struct wdb {
    sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS latest("
    "  origin TEXT PRIMARY KEY,"
    "  origin_hash TEXT NOT NULL UNIQUE,"
    "  size INTEGER NOT NULL CHECK (size >= 0),"
    "  root BLOB NOT NULL CHECK (length(root) = 32),"
    "  served TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS refused("
    "  id INTEGER PRIMARY KEY,"
    "  origin TEXT NOT NULL,"
    "  old_size INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS refused_origin ON refused(origin, id);";

static int fail(wdb *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "witness state: %s: %s", what, sqlite3_errmsg(db->db));
    return -1;
}

static int exec(wdb *db, const char *sql, const char *what, char *err, size_t errlen)
{
    if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, what, err, errlen);
    return 0;
}

wdb *wdb_open(const char *path, char *err, size_t errlen)
{
    wdb *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (fs_make_parents(path, err, errlen) != 0) goto fail;
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open the witness state %s: %s", path,
                 db->db ? sqlite3_errmsg(db->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(db->db, 5000);
    if (exec(db, "PRAGMA journal_mode=WAL", "setting WAL mode", err, errlen) ||
        exec(db, "PRAGMA synchronous=FULL", "setting durability", err, errlen) ||
        exec(db, schema, "creating the tables", err, errlen))
        goto fail;
    return db;
fail:
    wdb_close(db);
    return NULL;
}

void wdb_close(wdb *db)
{
    if (!db) return;
    sqlite3_close(db->db);
    free(db);
}

/* Prepare sql; on failure fill err. */
static sqlite3_stmt *prep(wdb *db, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(db, "preparing a statement", err, errlen);
        return NULL;
    }
    return st;
}

int wdb_meta_get(wdb *db, const char *key, char *out, size_t cap, char *err, size_t errlen)
{
    sqlite3_stmt *st = prep(db, "SELECT value FROM meta WHERE key = ?1", err, errlen);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = fail(db, "reading a setting", err, errlen);
    }
    sqlite3_finalize(st);
    return found;
}

int wdb_meta_set(wdb *db, const char *key, const char *value, char *err, size_t errlen)
{
    sqlite3_stmt *st =
        prep(db, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
             err, errlen);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(db, "writing a setting", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int wdb_begin(wdb *db, char *err, size_t errlen)
{
    return exec(db, "BEGIN IMMEDIATE", "beginning a transaction", err, errlen);
}

int wdb_commit(wdb *db, char *err, size_t errlen)
{
    if (exec(db, "COMMIT", "committing", err, errlen) == 0) return 0;
    wdb_rollback(db);
    return -1;
}

void wdb_rollback(wdb *db)
{
    if (!sqlite3_get_autocommit(db->db)) sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

int wdb_latest(wdb *db, const char *origin, int64_t *size, uint8_t root[32], char *err,
               size_t errlen)
{
    sqlite3_stmt *st = prep(db, "SELECT size, root FROM latest WHERE origin = ?1", err, errlen);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    *size = 0;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32) {
        *size = sqlite3_column_int64(st, 0);
        memcpy(root, sqlite3_column_blob(st, 1), 32);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = fail(db, "reading the latest checkpoint", err, errlen);
    }
    sqlite3_finalize(st);
    return found;
}

static void origin_hash(const char *origin, char hex[65])
{
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)origin, strlen(origin));
    sodium_bin2hex(hex, 65, h, sizeof h);
}

int wdb_store(wdb *db, const char *origin, int64_t size, const uint8_t root[32],
              const char *served, char *err, size_t errlen)
{
    char hex[65];
    origin_hash(origin, hex);
    sqlite3_stmt *st = prep(db,
                            "INSERT INTO latest(origin, origin_hash, size, root, served, "
                            "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                            "ON CONFLICT(origin) DO UPDATE SET size = excluded.size, "
                            "root = excluded.root, served = excluded.served, "
                            "updated_at = excluded.updated_at",
                            err, errlen);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, size);
    sqlite3_bind_blob(st, 4, root, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, served, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0
                                              : fail(db, "storing the checkpoint", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

static int served_where(wdb *db, const char *sql, const char *key, char **out, char *err,
                        size_t errlen)
{
    sqlite3_stmt *st = prep(db, sql, err, errlen);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = 0;
    *out = NULL;
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *out = strdup(t ? t : "");
        if (*out) found = 1;
        else snprintf(err, errlen, "out of memory"), found = -1;
    } else if (rc != SQLITE_DONE) {
        found = fail(db, "reading the served checkpoint", err, errlen);
    }
    sqlite3_finalize(st);
    return found;
}

int wdb_served(wdb *db, const char *origin, char **out, char *err, size_t errlen)
{
    return served_where(db, "SELECT served FROM latest WHERE origin = ?1", origin, out, err,
                        errlen);
}

int wdb_served_by_hash(wdb *db, const char *origin_hex, char **out, char *err, size_t errlen)
{
    return served_where(db, "SELECT served FROM latest WHERE origin_hash = ?1", origin_hex, out,
                        err, errlen);
}

int wdb_refused(wdb *db, const char *origin, int64_t old_size, const char *body, size_t len,
                const char *reason, char *err, size_t errlen)
{
    if (wdb_begin(db, err, errlen) != 0) return -1;
    sqlite3_stmt *ins = prep(db,
                             "INSERT INTO refused(origin, old_size, body, reason, received_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)",
                             err, errlen);
    sqlite3_stmt *trim = prep(db,
                              "DELETE FROM refused WHERE origin = ?1 AND id <= "
                              "(SELECT id FROM refused WHERE origin = ?1 ORDER BY id DESC "
                              "LIMIT 1 OFFSET ?2)",
                              err, errlen);
    int rc = -1;
    if (!ins || !trim) goto done;
    sqlite3_bind_text(ins, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, old_size);
    sqlite3_bind_text(ins, 3, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 5, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(trim, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_int(trim, 2, WDB_REFUSED_KEEP);
    if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_step(trim) != SQLITE_DONE) {
        fail(db, "keeping a refused checkpoint", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(trim);
    if (rc == 0) return wdb_commit(db, err, errlen);
    wdb_rollback(db);
    return rc;
}

int64_t wdb_refused_count(wdb *db, const char *origin, char *err, size_t errlen)
{
    sqlite3_stmt *st = prep(db, "SELECT count(*) FROM refused WHERE origin = ?1", err, errlen);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                                : fail(db, "counting", err, errlen);
    sqlite3_finalize(st);
    return n;
}
