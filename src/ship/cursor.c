/*
** cursor.c: the cursors of a local trail, in a small SQLite file beside it
** (see cursor.h).
**
** <db>.ship/cursors.db holds one row per sink and log; saving a cursor is
** one UPDATE committed in WAL mode with synchronous=NORMAL: written to the
** file before save returns, so a killed shipper finds it, but not fsynced
** each time.  A power cut can therefore lose the newest saves, which only
** makes a cursor lag (more is sent again; receivers drop repeats by id),
** never lead past what was acknowledged, so no fsync per batch is owed.
** The audit database itself is never written: the shipper opens it read
** only, and its append-only triggers stay what they are.  Each sink's
** exclusive lock is a flock() on <db>.ship/<key>.lock, which the kernel
** releases when the process ends, however it ends.
*/
#include "cursor.h"
#include "../util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_LOCKS = 16 };

typedef struct local_cursor {
    cursor base;
    sqlite3 *db;
    char *dir;
    int locks[MAX_LOCKS];
    int nlocks;
} local_cursor;

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS cursors ("
    " key TEXT PRIMARY KEY,"   /* cursor_key(): the sink's URL and the log */
    " sink TEXT NOT NULL,"     /* the URL as messages show it */
    " log_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"   /* the last entry the sink acknowledged */
    " id TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " saved_at TEXT NOT NULL)";

void cursor_key(const char *url, const char *log_id, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)url, strlen(url));
    crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)log_id, strlen(log_id));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof h);
}

static int db_error(local_cursor *c, const char *what, char *err, size_t len)
{
    snprintf(err, len, "the ship cursors in %s: %s: %s", c->dir, what, sqlite3_errmsg(c->db));
    return CURSOR_EIO;
}

static int local_load(cursor *base, const char *key, ship_mark *m, int *found, char *err,
                      size_t len)
{
    local_cursor *c = (local_cursor *)base;
    sqlite3_stmt *st = NULL;
    memset(m, 0, sizeof *m);
    *found = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT seq, id, hash, saved_at FROM cursors WHERE key = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(c, "read", err, len);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = 1;
        m->seq = sqlite3_column_int64(st, 0);
        snprintf(m->id, sizeof m->id, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(m->hash, sizeof m->hash, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(m->saved_at, sizeof m->saved_at, "%s", (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CURSOR_OK : db_error(c, "read", err, len);
}

static int local_save(cursor *base, const char *key, const char *sink_desc, const char *log_id,
                      const ship_mark *m, char *err, size_t len)
{
    local_cursor *c = (local_cursor *)base;
    sqlite3_stmt *st = NULL;
    char now[TS_BUFLEN];
    ts_format(ts_now_us(), now);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO cursors(key, sink, log_id, seq, id, hash, saved_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                           "sink = excluded.sink, seq = excluded.seq, id = excluded.id, "
                           "hash = excluded.hash, saved_at = excluded.saved_at",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(c, "save", err, len);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sink_desc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, log_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, m->seq);
    sqlite3_bind_text(st, 5, m->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CURSOR_OK : db_error(c, "save", err, len);
}

static int local_each(cursor *base, int (*fn)(void *ctx, const ship_cursor_row *r), void *ctx,
                      char *err, size_t len)
{
    local_cursor *c = (local_cursor *)base;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT key, sink, log_id, seq, id, hash, saved_at FROM cursors "
                           "ORDER BY key", -1, &st, NULL) != SQLITE_OK)
        return db_error(c, "read", err, len);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ship_cursor_row r;
        memset(&r, 0, sizeof r);
        char *const cols[] = {r.key, r.sink, r.log_id};
        const size_t sizes[] = {sizeof r.key, sizeof r.sink, sizeof r.log_id};
        for (int i = 0; i < 3; i++)
            snprintf(cols[i], sizes[i], "%s", (const char *)sqlite3_column_text(st, i));
        r.mark.seq = sqlite3_column_int64(st, 3);
        snprintf(r.mark.id, sizeof r.mark.id, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(r.mark.hash, sizeof r.mark.hash, "%s", (const char *)sqlite3_column_text(st, 5));
        snprintf(r.mark.saved_at, sizeof r.mark.saved_at, "%s",
                 (const char *)sqlite3_column_text(st, 6));
        if (fn(ctx, &r) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CURSOR_OK : db_error(c, "read", err, len);
}

static int local_lock(cursor *base, const char *key, char *err, size_t len)
{
    local_cursor *c = (local_cursor *)base;
    char path[4200];
    if (c->nlocks == MAX_LOCKS) {
        snprintf(err, len, "too many sinks at once (at most %d)", MAX_LOCKS);
        return CURSOR_EIO;
    }
    snprintf(path, sizeof path, "%s/%s.lock", c->dir, key);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, len, "cannot open %s: %s", path, strerror(errno));
        return CURSOR_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            snprintf(err, len, "another ship process is already shipping this log there "
                               "(it holds %s)", path);
            return CURSOR_EBUSY;
        }
        snprintf(err, len, "cannot lock %s: %s", path, strerror(e));
        return CURSOR_EIO;
    }
    c->locks[c->nlocks++] = fd;
    return CURSOR_OK;
}

static void local_close(cursor *base)
{
    local_cursor *c = (local_cursor *)base;
    sqlite3_close(c->db);
    for (int i = 0; i < c->nlocks; i++) close(c->locks[i]);
    free(c->dir);
    free(c);
}

static const cursor_ops local_ops = {
    .load = local_load,
    .save = local_save,
    .each = local_each,
    .lock = local_lock,
    .close = local_close,
};

int cursor_open_local(const char *db_path, const char *dir, int create, cursor **out, char *err,
                      size_t len)
{
    char file[4200];
    *out = NULL;
    local_cursor *c = calloc(1, sizeof *c);
    if (!c) goto nomem;
    c->base.ops = &local_ops;
    if (dir) c->dir = strdup(dir);
    else if ((c->dir = malloc(strlen(db_path) + 6))) sprintf(c->dir, "%s.ship", db_path);
    if (!c->dir) goto nomem;
    snprintf(file, sizeof file, "%s/cursors.db", c->dir);
    if (!create && access(file, F_OK) != 0) {
        local_close(&c->base);
        return CURSOR_OK;
    }
    if (create) {
        if (fs_make_parents(file, err, len) != 0) goto fail;
        /* The cursors say what was sent where: as private as the trail. */
        int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(err, len, "cannot keep the ship cursors beside the database (%s): %s",
                     file, strerror(errno));
            goto fail;
        }
        close(fd);
    }
    if (sqlite3_open_v2(file, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(c->db, 10000) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, len, "cannot open the ship cursors %s: %s", file,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    *out = &c->base;
    return CURSOR_OK;
nomem:
    snprintf(err, len, "out of memory");
    if (c) local_close(&c->base);
    return CURSOR_ENOMEM;
fail:
    local_close(&c->base);
    return CURSOR_EIO;
}
