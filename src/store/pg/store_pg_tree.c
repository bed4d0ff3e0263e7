/*
** store_pg_tree.c: the PostgreSQL backend's part of the transparency log:
** each log's Merkle tree stored hashes (dss_audit.tree, keyed by log_id and
** index like every key here), the logs' origins, witnesses' cosignatures
** of checkpoints and each witness's state.  store_tree.c computes the
** hashes; this file only keeps them.
**
** The own log's hashes of a transaction arrive just before its commit and
** travel with it: pgs_commit() puts the statement made here into its one
** round trip (rows, tree, head, COMMIT), so keeping the tree costs a group
** commit no extra round trip.  Hashes of another log (an import, a tree
** being built) are written at once.  A batch of hashes is one statement
** over an array of hex texts, so the log's id is written once.
*/
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/jbuf.h"

/* A string literal (standard_conforming_strings is on: only ' is special). */
static void put_literal(jbuf *b, const char *v)
{
    jbuf_putc(b, '\'');
    for (const char *q; (q = strchr(v, '\'')) != NULL; v = q + 1) {
        jbuf_put(b, v, (size_t)(q - v) + 1);
        jbuf_putc(b, '\'');
    }
    jbuf_puts(b, v);
    jbuf_putc(b, '\'');
}

/* The INSERT of h[0..n) at indexes first.. of log. */
static void put_insert(jbuf *b, const char *log, int64_t first, const merkle_hash *h, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    jbuf_puts(b, "INSERT INTO dss_audit.tree (log_id, idx, hash) SELECT ");
    put_literal(b, log);
    jbuf_puts(b, ", ");
    jbuf_int(b, first);
    jbuf_puts(b, " + o - 1, decode(h, 'hex') FROM unnest('{");
    for (size_t i = 0; i < n; i++) {
        char x[2 * MERKLE_HASH + 1];
        for (int k = 0; k < MERKLE_HASH; k++) {
            x[2 * k] = hex[h[i][k] >> 4];
            x[2 * k + 1] = hex[h[i][k] & 15];
        }
        x[2 * MERKLE_HASH] = i + 1 < n ? ',' : '}';
        jbuf_put(b, x, sizeof x);
    }
    jbuf_puts(b, "'::text[]) WITH ORDINALITY AS t(h, o);");
}

int pgs_tree_put(store *st, int own, int64_t first, const merkle_hash *h, size_t n, char *err)
{
    pg_store *s = pgs(st);
    if (n == 0) return STORE_OK;
    if (own) {
        /* Sent with the commit (pgs_tree_commit_text()). */
        jbuf b = {.p = s->tree_sql, .len = s->tree_len, .cap = s->tree_cap};
        put_insert(&b, s->own_id, first, h, n);
        if (b.failed) {
            s->tree_sql = NULL;
            s->tree_len = s->tree_cap = 0;
            pgs_errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        s->tree_sql = b.p;
        s->tree_len = b.len;
        s->tree_cap = b.cap;
        return STORE_OK;
    }
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    jbuf b = {0};
    put_insert(&b, s->sel_id, first, h, n);
    char *sql = jbuf_take(&b);
    if (!sql) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    rc = pgs_exec(s, sql, "writing the Merkle tree", err);
    free(sql);
    return rc;
}

int pgs_tree_commit_text(pg_store *s, char **sql, size_t *len, size_t *cap)
{
    if (!s->tree_len) return 0;
    jbuf b = {.p = *sql, .len = *len, .cap = *cap};
    jbuf_put(&b, s->tree_sql, s->tree_len);
    s->tree_len = 0;
    *sql = b.p;
    *len = b.len;
    *cap = b.cap;
    return b.failed ? -1 : 0;
}

void pgs_tree_free(pg_store *s)
{
    free(s->tree_sql);
    s->tree_sql = NULL;
    s->tree_len = s->tree_cap = 0;
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
        pgs_errf(err, "the log %.40s has the origin %.90s, not %.90s", s->sel_name, out, set);
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
