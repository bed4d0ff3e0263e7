/*
** store_pg_tree.c: the PostgreSQL backend's part of the transparency log:
** each log's Merkle tree stored hashes (dss_audit.tree, keyed by log_id and
** index like every key here), the logs' origins, witnesses' cosignatures
** of checkpoints and each witness's state.  store_tree.c computes the
** hashes; this file only keeps them.
**
** The own log's hashes of a transaction arrive just before its commit and
** travel with it: pgs_commit() puts the statement made here into its
** pipeline (rows and head, tree, COMMIT: one round trip), so keeping the
** tree costs a group commit no extra round trip.  Hashes of another log
** (an import, a tree being built) are written at once.  A batch of hashes
** is one prepared statement over an array of hex texts, so the log's id is
** written once and nothing is parsed per batch.
*/
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/jbuf.h"
#include "../../util/utf8.h"

static const char tree_insert_sql[] =
    "INSERT INTO dss_audit.tree (log_id, idx, hash)"
    " SELECT $1::text, $2::bigint + o - 1, decode(h, 'hex')"
    " FROM unnest($3::text[]) WITH ORDINALITY AS t(h, o)";

/* h[0..n) as the elements of an array of hex texts, appended to b (its
** braces are the caller's). */
static void put_hex(jbuf *b, const merkle_hash *h, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char x[2 * MERKLE_HASH + 1];
        x[0] = ',';
        for (int k = 0; k < MERKLE_HASH; k++) {
            x[1 + 2 * k] = hex[h[i][k] >> 4];
            x[2 + 2 * k] = hex[h[i][k] & 15];
        }
        /* The first element of the array has no comma before it. */
        if (b->len > 0 && b->p[b->len - 1] == '{') jbuf_put(b, x + 1, sizeof x - 1);
        else jbuf_put(b, x, sizeof x);
    }
}

/* The INSERT of the n hashes in arr ("{..}", NUL-terminated) at indexes
** first.. of log, its parameters in x. */
static void tree_stmt(const char *log, int64_t first, const char *arr, pg_tree_stmt *x,
                      pg_stmt *st)
{
    pgs_int_text(first, x->first);
    x->values[0] = log;
    x->values[1] = x->first;
    x->values[2] = arr;
    *st = (pg_stmt){.slot = PG_SLOT_TREE, .sql = tree_insert_sql, .nparams = 3,
                    .values = x->values,
                    .doing = "writing the Merkle tree"};
}

/* Close the pending array and make its statement. */
static int pending_stmt(pg_store *s, pg_tree_stmt *x, pg_stmt *st)
{
    pg_tree_pending *t = &s->tree;
    if (!t->n) return 0;
    jbuf_putc(&t->arr, '}');
    if (t->arr.failed) return -1;
    t->arr.p[t->arr.len] = '\0';
    tree_stmt(s->own_id, t->first, t->arr.p, x, st);
    return 1;
}

int pgs_tree_commit_stmt(pg_store *s, pg_tree_stmt *x, pg_stmt *st)
{
    int made = pending_stmt(s, x, st);
    /* Once in the statement the hashes are no longer pending: a failed
    ** commit loses them with the transaction. */
    s->tree.n = 0;
    return made;
}

/* The own log's pending hashes written now (another batch that does not
** follow them arrived). */
static int send_pending(pg_store *s, char *err)
{
    pg_tree_stmt x;
    pg_stmt st;
    int made = pending_stmt(s, &x, &st);
    s->tree.n = 0;
    if (made < 0) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    return made ? pgs_pipeline(s, &st, 1, err) : STORE_OK;
}

int pgs_tree_put(store *st, int own, int64_t first, const merkle_hash *h, size_t n, char *err)
{
    pg_store *s = pgs(st);
    if (n == 0) return STORE_OK;
    if (own) {
        /* Kept for the commit's pipeline (pgs_tree_commit_stmt()). */
        pg_tree_pending *t = &s->tree;
        if (t->n && first != t->first + (int64_t)t->n) {
            int rc = send_pending(s, err);
            if (rc != STORE_OK) return rc;
        }
        if (!t->n) {
            t->arr.len = 0;
            t->arr.failed = 0;
            jbuf_putc(&t->arr, '{');
            t->first = first;
        }
        put_hex(&t->arr, h, n);
        if (t->arr.failed) {
            t->n = 0;
            pgs_errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        t->n += n;
        return STORE_OK;
    }
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    jbuf b = {0};
    jbuf_putc(&b, '{');
    put_hex(&b, h, n);
    jbuf_putc(&b, '}');
    char *arr = jbuf_take(&b);
    if (!arr) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    pg_tree_stmt x;
    pg_stmt stmt;
    tree_stmt(s->sel_id, first, arr, &x, &stmt);
    rc = pgs_pipeline(s, &stmt, 1, err);
    free(arr);
    return rc;
}

void pgs_tree_free(pg_store *s)
{
    jbuf_free(&s->tree.arr);
    s->tree.n = 0;
}

/* The log `own` names (the own or the selected), ready for a statement. */
static int ready_for(pg_store *s, int own, const char **log, char *err)
{
    if (own && s->own_id[0]) {
        *log = s->own_id;
        return pgs_ready(s, err);
    }
    *log = s->sel_id;
    return pgs_ready_log(s, err);
}

typedef struct want {
    int64_t idx;
    size_t at;
} want;

static int by_idx(const void *a, const void *b)
{
    const want *x = a, *y = b;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int pgs_tree_get(store *st, int own, const int64_t *idx, size_t n, merkle_hash *out, char *err)
{
    pg_store *s = pgs(st);
    const char *log;
    if (n == 0) return STORE_OK;
    int rc = ready_for(s, own, &log, err);
    if (rc != STORE_OK) return rc;
    want *w = malloc(n * sizeof *w);
    jbuf list = {0};
    PGresult *r = NULL;
    if (!w) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) w[i] = (want){idx[i], i};
    qsort(w, n, sizeof *w, by_idx);
    char a[24], z[24];
    pgs_int_text(w[0].idx, a);
    pgs_int_text(w[n - 1].idx, z);
    if (w[n - 1].idx - w[0].idx + 1 == (int64_t)n) {
        /* A run of consecutive indexes (verify's walk): a range. */
        const char *p[3] = {log, a, z};
        rc = pgs_query(s,
                       "SELECT idx, hash FROM dss_audit.tree WHERE log_id = $1"
                       " AND idx BETWEEN $2 AND $3 ORDER BY idx",
                       3, p, &r, "reading the Merkle tree", err);
    } else {
        jbuf_putc(&list, '{');
        for (size_t i = 0; i < n; i++) {
            if (i) jbuf_putc(&list, ',');
            jbuf_int(&list, w[i].idx);
        }
        jbuf_putc(&list, '}');
        char *arr = jbuf_take(&list);
        if (!arr) {
            free(w);
            pgs_errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        const char *p[2] = {log, arr};
        rc = pgs_query(s,
                       "SELECT idx, hash FROM dss_audit.tree WHERE log_id = $1"
                       " AND idx = ANY($2::bigint[]) ORDER BY idx",
                       2, p, &r, "reading the Merkle tree", err);
        free(arr);
    }
    if (rc == STORE_OK) {
        /* Both sorted: walk them together (an index asked twice gets the
        ** same row). */
        int rows = PQntuples(r), row = 0;
        for (size_t i = 0; i < n && rc == STORE_OK; i++) {
            while (row < rows && strtoll(PQgetvalue(r, row, 0), NULL, 10) < w[i].idx) row++;
            if (row == rows || strtoll(PQgetvalue(r, row, 0), NULL, 10) != w[i].idx ||
                !pgs_bytea(PQgetvalue(r, row, 1), out[w[i].at], MERKLE_HASH)) {
                pgs_errf(err, "the Merkle tree of log %s holds no hash at index %lld", log,
                         (long long)w[i].idx);
                rc = STORE_ENOTFOUND;
            }
        }
    }
    PQclear(r);
    free(w);
    return rc;
}

int pgs_tree_last(store *st, int own, int64_t *idx, char *err)
{
    pg_store *s = pgs(st);
    const char *log;
    *idx = -1;
    int rc = ready_for(s, own, &log, err);
    if (rc != STORE_OK) return rc;
    const char *p[1] = {log};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT idx FROM dss_audit.tree WHERE log_id = $1 ORDER BY idx DESC LIMIT 1",
                   1, p, &r, "reading the Merkle tree", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 1) *idx = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return STORE_OK;
}

int pgs_log_origin(store *st, const char *set, char out[STORE_ORIGIN_MAX + 1], char *err)
{
    pg_store *s = pgs(st);
    out[0] = '\0';
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    PGresult *r = NULL;
    const char *p[2] = {s->sel_id, set};
    if (set && !s->readonly) {
        /* Set once (logs_guard refuses a change): only where none is. */
        rc = pgs_query(s,
                       "UPDATE dss_audit.logs SET origin = $2 WHERE log_id = $1"
                       " AND origin IS NULL",
                       2, p, NULL, "recording the log's origin", err);
        if (rc != STORE_OK) return rc;
    }
    rc = pgs_query(s, "SELECT coalesce(origin, '') FROM dss_audit.logs WHERE log_id = $1", 1,
                   p, &r, "reading the log's origin", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 1) snprintf(out, STORE_ORIGIN_MAX + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (set && !out[0]) snprintf(out, STORE_ORIGIN_MAX + 1, "%s", set); /* read-only */
    if (set && strcmp(out, set) != 0) {
        pgs_errf(err, "the log %.*s has the origin %.*s, not %.*s", utf8_cut(s->sel_name, 40),
                 s->sel_name, utf8_cut(out, 90), out, utf8_cut(set, 90), set);
        return STORE_EINVAL;
    }
    return STORE_OK;
}

int pgs_add_cosignature(store *st, const store_cosignature *c, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char num[24], t[24];
    pgs_int_text(c->number, num);
    pgs_int_text(c->time, t);
    const char *p[5] = {s->sel_id, num, c->witness, t, c->line};
    return pgs_query(s,
                     "INSERT INTO dss_audit.cosignatures (log_id, number, witness, time, line)"
                     " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                     5, p, NULL, "storing a cosignature", err);
}

int pgs_each_cosignature(store *st, int64_t number, store_cosignature_fn fn, void *ctx,
                         char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char num[24];
    pgs_int_text(number, num);
    const char *p[2] = {s->sel_id, num};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT number, witness, time, line FROM dss_audit.cosignatures"
                   " WHERE log_id = $1 AND ($2::bigint = 0 OR number = $2::bigint)"
                   " ORDER BY number, witness",
                   2, p, &r, "reading cosignatures", err);
    if (rc != STORE_OK) return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        store_cosignature c;
        memset(&c, 0, sizeof c);
        c.number = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        snprintf(c.witness, sizeof c.witness, "%s", PQgetvalue(r, i, 1));
        c.time = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        snprintf(c.line, sizeof c.line, "%s", PQgetvalue(r, i, 3));
        if (fn(ctx, &c) != 0) break;
    }
    PQclear(r);
    return STORE_OK;
}

int pgs_put_witness(store *st, const store_witness *w, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char size[24];
    pgs_int_text(w->size, size);
    const char *p[7] = {s->sel_id, w->witness, w->url, size, w->last_attempt, w->last_ok,
                        w->last_error};
    return pgs_query(s,
                     "INSERT INTO dss_audit.witnesses (log_id, witness, url, size,"
                     " last_attempt, last_ok, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                     " ON CONFLICT (log_id, witness) DO UPDATE SET url = excluded.url,"
                     " size = excluded.size, last_attempt = excluded.last_attempt,"
                     " last_ok = excluded.last_ok, last_error = excluded.last_error",
                     7, p, NULL, "recording a witness's state", err);
}

int pgs_each_witness(store *st, store_witness_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    const char *p[1] = {s->sel_id};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT witness, url, size, last_attempt, last_ok, last_error"
                   " FROM dss_audit.witnesses WHERE log_id = $1 ORDER BY witness",
                   1, p, &r, "reading the witnesses' state", err);
    if (rc != STORE_OK) return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        store_witness w;
        memset(&w, 0, sizeof w);
        snprintf(w.witness, sizeof w.witness, "%s", PQgetvalue(r, i, 0));
        snprintf(w.url, sizeof w.url, "%s", PQgetvalue(r, i, 1));
        w.size = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        snprintf(w.last_attempt, sizeof w.last_attempt, "%s", PQgetvalue(r, i, 3));
        snprintf(w.last_ok, sizeof w.last_ok, "%s", PQgetvalue(r, i, 4));
        snprintf(w.last_error, sizeof w.last_error, "%s", PQgetvalue(r, i, 5));
        if (fn(ctx, &w) != 0) break;
    }
    PQclear(r);
    return STORE_OK;
}
