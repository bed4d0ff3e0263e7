/*
** store_pg_cursor.c: ship cursors kept in the shared trail itself
** (store.h's store_cursor_*, STORE_CAP_SINK_CURSORS).
**
** When `ship` reads a PostgreSQL trail, each (log, sink) cursor is a row
** of dss_audit.sink_cursors (migration 2), so that any machine can take
** over a team's shipping where another left it.  Two shippers must never
** both deliver a log to one sink: the right to ship is a session-level
** advisory lock on the cursor's key, which PostgreSQL releases when the
** shipper's connection ends, however it ends (kill -9 included).  A
** connection this store silently makes again after losing one (pgs_ready)
** no longer holds the lock, so a save is written only by a session that
** holds it, checked in the same statement; any other save changes nothing
** and says STORE_EBUSY, and the shipper stands by again.
**
** Cursor rows are bookkeeping, not audit data: the writer role may update
** them (docs/postgres.md lists the grant), and the entry's hash kept in
** the row lets the shipper notice a cursor that no longer matches the log.
*/
#include "../../util/utf8.h"
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock key of a cursor key (64 hex digits): its first 64
** bits, as a bigint, in SQL.  $1 is the key. */
#define LOCK_KEY "('x' || substr($1, 1, 16))::bit(64)::bigint"

/* Whether this session holds the advisory lock k (a bigint lock is
** classid = its high 32 bits, objid = its low 32 bits, objsubid 1). */
#define HOLDS(k)                                                                  \
    "EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory'"       \
    " AND pid = pg_backend_pid() AND granted AND objsubid = 1"                    \
    " AND classid::bigint = ((" k ") >> 32) & 4294967295"                         \
    " AND objid::bigint = (" k ") & 4294967295)"

#define CURSOR_COLUMNS                                                                \
    "log_id, sink_key, sink, seq, entry_id, hash,"                                    \
    " to_char(saved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static void copy_text(char *dst, size_t len, const PGresult *r, int row, int col)
{
    snprintf(dst, len, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static void cursor_of(const PGresult *r, int row, store_sink_cursor *c)
{
    memset(c, 0, sizeof *c);
    copy_text(c->log_id, sizeof c->log_id, r, row, 0);
    copy_text(c->key, sizeof c->key, r, row, 1);
    copy_text(c->sink, sizeof c->sink, r, row, 2);
    c->seq = strtoll(PQgetvalue(r, row, 3), NULL, 10);
    copy_text(c->id, sizeof c->id, r, row, 4);
    copy_text(c->hash, sizeof c->hash, r, row, 5);
    copy_text(c->saved_at, sizeof c->saved_at, r, row, 6);
}

/* A key as the shipper makes it: 64 hex digits (the lock key reads the
** first 16 as hex, and SQL would fail on anything else). */
static int valid_key(const char *key, char *err)
{
    size_t n = strlen(key);
    if (n == 64 && strspn(key, "0123456789abcdef") == n) return STORE_OK;
    snprintf(err, STORE_ERRLEN, "a ship cursor's key is 64 lower-case hex digits");
    return STORE_EINVAL;
}

int pgs_cursor_load(store *st, const char *log_id, const char *key, store_sink_cursor *out,
                    char *err)
{
    pg_store *s = pgs(st);
    const char *p[2] = {log_id, key};
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = pgs_ready(s, err);
    if (rc == STORE_OK)
        rc = pgs_query(s,
                       "SELECT " CURSOR_COLUMNS " FROM dss_audit.sink_cursors"
                       " WHERE log_id = $1 AND sink_key = $2",
                       2, p, &r, "reading a ship cursor", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 1) cursor_of(r, 0, out);
    else rc = STORE_ENOTFOUND;
    PQclear(r);
    return rc;
}

int pgs_cursor_save(store *st, const store_sink_cursor *c, char *err)
{
    pg_store *s = pgs(st);
    char seq[24];
    PGresult *r = NULL;
    int rc = valid_key(c->key, err);
    if (rc != STORE_OK) return rc;
    pgs_int_text(c->seq, seq);
    const char *p[6] = {c->key, c->log_id, c->sink, seq, c->id, c->hash};
    if ((rc = pgs_ready(s, err)) != STORE_OK) return rc;
    rc = pgs_query(s,
                   "INSERT INTO dss_audit.sink_cursors AS c"
                   " (log_id, sink_key, sink, seq, entry_id, hash, saved_at)"
                   " SELECT $2, $1, $3, $4::bigint, $5, $6, now() WHERE " HOLDS(LOCK_KEY)
                   " ON CONFLICT (log_id, sink_key) DO UPDATE SET sink = excluded.sink,"
                   " seq = excluded.seq, entry_id = excluded.entry_id, hash = excluded.hash,"
                   " saved_at = excluded.saved_at RETURNING 1",
                   6, p, &r, "saving a ship cursor", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) != 1) {
        snprintf(err, STORE_ERRLEN,
                 "this shipper no longer holds the lock of %.*s (its connection to %.*s was "
                 "lost): another may have taken over",
                 utf8_cut(c->sink, 60), c->sink, utf8_cut(s->where, 80), s->where);
        rc = STORE_EBUSY;
    }
    PQclear(r);
    return rc;
}

int pgs_each_cursor(store *st, store_cursor_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
    PGresult *r = NULL;
    int rc = pgs_ready(s, err);
    if (rc == STORE_OK)
        rc = pgs_query(s,
                       "SELECT " CURSOR_COLUMNS " FROM dss_audit.sink_cursors"
                       " ORDER BY log_id, sink_key",
                       0, NULL, &r, "reading the ship cursors", err);
    if (rc != STORE_OK) return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        store_sink_cursor c;
        cursor_of(r, i, &c);
        if (fn(ctx, &c) != 0) break;
    }
    PQclear(r);
    return STORE_OK;
}

int pgs_cursor_lock(store *st, const char *key, char *err)
{
    pg_store *s = pgs(st);
    PGresult *r = NULL;
    const char *p[1] = {key};
    int rc = valid_key(key, err);
    if (rc == STORE_OK) rc = pgs_ready(s, err);
    /* Taken once per session: a session lock taken again would only stack. */
    if (rc == STORE_OK)
        rc = pgs_query(s,
                       "SELECT CASE WHEN " HOLDS(LOCK_KEY) " THEN true"
                       " ELSE pg_try_advisory_lock(" LOCK_KEY ") END",
                       1, p, &r, "locking a ship cursor", err);
    if (rc != STORE_OK) return rc;
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        snprintf(err, STORE_ERRLEN,
                 "another ship process is already shipping this log there (it holds the lock in "
                 "%.*s)",
                 utf8_cut(s->where, 100), s->where);
        rc = STORE_EBUSY;
    }
    PQclear(r);
    return rc;
}
