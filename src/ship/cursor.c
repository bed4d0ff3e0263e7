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
** releases when the process ends, however it ends.  Its three statements
** are prepared on first use and kept for the cursor's life (a shipper saves
** after every batch), finalized at close.
**
** A shared trail's cursors are the store's own (store_cursor_*, kept by
** PostgreSQL beside the logs); the second table of functions below only
** turns between the two shapes.
*/
#include "cursor.h"
#include "cursor_testing.h"
#include "../store/store.h"
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

/* The local cursor's statements, each prepared once (stmt_get()). */
enum { STMT_LOAD, STMT_SAVE, STMT_EACH, NSTMT };

static const char *const stmt_sql[NSTMT] = {
    [STMT_LOAD] = "SELECT seq, id, hash, saved_at FROM cursors WHERE key = ?",
    [STMT_SAVE] = "INSERT INTO cursors(key, sink, log_id, seq, id, hash, saved_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                  "sink = excluded.sink, seq = excluded.seq, id = excluded.id, "
                  "hash = excluded.hash, saved_at = excluded.saved_at",
    [STMT_EACH] = "SELECT key, sink, log_id, seq, id, hash, saved_at FROM cursors ORDER BY key",
};

typedef struct local_cursor {
    cursor base;
    sqlite3 *db;
    sqlite3_stmt *stmt[NSTMT];
    char *dir;
    int locks[MAX_LOCKS];
    char lock_keys[MAX_LOCKS][65];
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

/* c's statement which, prepared on its first use; NULL on failure (the
** connection's message says why).  Owned by c: finalized at close. */
static sqlite3_stmt *stmt_get(local_cursor *c, int which)
{
    if (!c->stmt[which] &&
        sqlite3_prepare_v3(c->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                           &c->stmt[which], NULL) != SQLITE_OK)
        return NULL;
    return c->stmt[which];
}

/* Ready for the next use: no read left open (it would hold the WAL
** snapshot) and no pointer to the caller's strings kept. */
static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int local_load(cursor *base, const char *log_id, const char *key, ship_mark *m,
                      int *found, char *err, size_t len)
{
    (void)log_id; /* the key names the log too */
    local_cursor *c = (local_cursor *)base;
    sqlite3_stmt *st = stmt_get(c, STMT_LOAD);
    memset(m, 0, sizeof *m);
    *found = 0;
    if (!st) return db_error(c, "read", err, len);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = 1;
        m->seq = sqlite3_column_int64(st, 0);
        snprintf(m->id, sizeof m->id, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(m->hash, sizeof m->hash, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(m->saved_at, sizeof m->saved_at, "%s", (const char *)sqlite3_column_text(st, 3));
    }
    stmt_done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CURSOR_OK : db_error(c, "read", err, len);
}

static int local_save(cursor *base, const char *key, const char *sink_desc, const char *log_id,
                      const ship_mark *m, char *err, size_t len)
{
    local_cursor *c = (local_cursor *)base;
    sqlite3_stmt *st = stmt_get(c, STMT_SAVE);
    char now[TS_BUFLEN];
    ts_format(ts_now_us(), now);
    if (!st) return db_error(c, "save", err, len);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sink_desc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, log_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, m->seq);
    sqlite3_bind_text(st, 5, m->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    stmt_done(st);
    return rc == SQLITE_DONE ? CURSOR_OK : db_error(c, "save", err, len);
}

static int local_each(cursor *base, int (*fn)(void *ctx, const ship_cursor_row *r), void *ctx,
                      char *err, size_t len)
{
    local_cursor *c = (local_cursor *)base;
    sqlite3_stmt *st = stmt_get(c, STMT_EACH);
    if (!st) return db_error(c, "read", err, len);
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
    stmt_done(st);
    return rc == SQLITE_DONE ? CURSOR_OK : db_error(c, "read", err, len);
}

static int local_lock(cursor *base, const char *key, char *err, size_t len)
{
    local_cursor *c = (local_cursor *)base;
    char path[4200];
    for (int i = 0; i < c->nlocks; i++)
        if (strcmp(c->lock_keys[i], key) == 0) return CURSOR_OK;
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
    snprintf(c->lock_keys[c->nlocks], sizeof c->lock_keys[c->nlocks], "%s", key);
    c->locks[c->nlocks++] = fd;
    return CURSOR_OK;
}

static void local_close(cursor *base)
{
    local_cursor *c = (local_cursor *)base;
    for (int i = 0; i < NSTMT; i++) sqlite3_finalize(c->stmt[i]);
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
    /* Without create (stats), only read: a reader may not own the file. */
    int flags = (create ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(file, &c->db, flags, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(c->db, 10000) != SQLITE_OK ||
        (create && (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                                 NULL, NULL, NULL) != SQLITE_OK ||
                    sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK))) {
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

int64_t cursor_testing_runs(cursor *base, const char *which)
{
    static const char *const names[NSTMT] = {"load", "save", "each"};
    if (base->ops != &local_ops) return -1;
    local_cursor *c = (local_cursor *)base;
    for (int i = 0; i < NSTMT; i++)
        if (strcmp(names[i], which) == 0)
            return c->stmt[i] ? sqlite3_stmt_status(c->stmt[i], SQLITE_STMTSTATUS_RUN, 0) : 0;
    return -1;
}

/* ---- a shared trail's cursors, in the store -------------------------------- */

typedef struct store_cursor {
    cursor base;
    store *st;
} store_cursor;

static int from_store(int rc, const char *serr, char *err, size_t len)
{
    if (rc == STORE_OK) return CURSOR_OK;
    snprintf(err, len, "%s", serr);
    return rc == STORE_EBUSY ? CURSOR_EBUSY : rc == STORE_ENOMEM ? CURSOR_ENOMEM : CURSOR_EIO;
}

static int shared_load(cursor *base, const char *log_id, const char *key, ship_mark *m,
                       int *found, char *err, size_t len)
{
    store_cursor *c = (store_cursor *)base;
    store_sink_cursor sc;
    char serr[STORE_ERRLEN];
    memset(m, 0, sizeof *m);
    *found = 0;
    int rc = store_cursor_load(c->st, log_id, key, &sc, serr);
    if (rc == STORE_ENOTFOUND) return CURSOR_OK;
    if (rc != STORE_OK) return from_store(rc, serr, err, len);
    *found = 1;
    m->seq = sc.seq;
    memcpy(m->id, sc.id, sizeof m->id);
    memcpy(m->hash, sc.hash, sizeof m->hash);
    memcpy(m->saved_at, sc.saved_at, sizeof m->saved_at);
    return CURSOR_OK;
}

static int shared_save(cursor *base, const char *key, const char *sink_desc, const char *log_id,
                       const ship_mark *m, char *err, size_t len)
{
    store_cursor *c = (store_cursor *)base;
    store_sink_cursor sc;
    char serr[STORE_ERRLEN];
    memset(&sc, 0, sizeof sc);
    snprintf(sc.log_id, sizeof sc.log_id, "%s", log_id);
    snprintf(sc.key, sizeof sc.key, "%s", key);
    snprintf(sc.sink, sizeof sc.sink, "%s", sink_desc);
    sc.seq = m->seq;
    memcpy(sc.id, m->id, sizeof sc.id);
    memcpy(sc.hash, m->hash, sizeof sc.hash);
    return from_store(store_cursor_save(c->st, &sc, serr), serr, err, len);
}

typedef struct each_relay {
    int (*fn)(void *ctx, const ship_cursor_row *r);
    void *ctx;
} each_relay;

static int shared_row(void *ctx, const store_sink_cursor *sc)
{
    each_relay *e = ctx;
    ship_cursor_row r;
    memset(&r, 0, sizeof r);
    memcpy(r.key, sc->key, sizeof r.key);
    memcpy(r.sink, sc->sink, sizeof r.sink);
    memcpy(r.log_id, sc->log_id, sizeof r.log_id);
    r.mark.seq = sc->seq;
    memcpy(r.mark.id, sc->id, sizeof r.mark.id);
    memcpy(r.mark.hash, sc->hash, sizeof r.mark.hash);
    memcpy(r.mark.saved_at, sc->saved_at, sizeof r.mark.saved_at);
    return e->fn(e->ctx, &r);
}

static int shared_each(cursor *base, int (*fn)(void *ctx, const ship_cursor_row *r), void *ctx,
                       char *err, size_t len)
{
    store_cursor *c = (store_cursor *)base;
    char serr[STORE_ERRLEN];
    each_relay e = {.fn = fn, .ctx = ctx};
    return from_store(store_each_cursor(c->st, shared_row, &e, serr), serr, err, len);
}

static int shared_lock(cursor *base, const char *key, char *err, size_t len)
{
    store_cursor *c = (store_cursor *)base;
    char serr[STORE_ERRLEN];
    return from_store(store_cursor_lock(c->st, key, serr), serr, err, len);
}

static void shared_close(cursor *base)
{
    free(base);
}

static const cursor_ops shared_ops = {
    .load = shared_load,
    .save = shared_save,
    .each = shared_each,
    .lock = shared_lock,
    .close = shared_close,
};

int cursor_open_store(store *st, cursor **out, char *err, size_t len)
{
    store_cursor *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) {
        snprintf(err, len, "out of memory");
        return CURSOR_ENOMEM;
    }
    c->base.ops = &shared_ops;
    c->st = st;
    *out = &c->base;
    return CURSOR_OK;
}
