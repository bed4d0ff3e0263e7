/*
** store_sqlite_tree.c: the SQLite backend's part of the transparency log:
** the Merkle tree's stored hashes (table tree, one row per index, the
** index as rowid), the log's origin (meta), witnesses' cosignatures of
** checkpoints and each witness's state.  store_tree.c computes the hashes;
** this file only keeps them.  A file holds one log, so `own` (the own log
** or the selected one) names the same log either way.
*/
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "../../util/utf8.h"

enum {
    TR_PUT, TR_PUT_MANY, TR_GET, TR_RANGE, TR_LAST, TR_COSIG_ADD, TR_COSIG_EACH, TR_WITNESS_PUT,
    TR_WITNESS_EACH
};

static const char *const tree_sql[SQ_TREE_STATEMENTS] = {
    [TR_PUT] = "INSERT INTO tree (idx, hash) VALUES (?1, ?2)",
    /* PUT_MANY rows at once: a commit of many entries (an import, a big
    ** transaction) steps once per PUT_MANY hashes, not once per hash. */
    [TR_PUT_MANY] = "INSERT INTO tree (idx, hash) VALUES (?,?),(?,?),(?,?),(?,?),(?,?),(?,?),"
                    "(?,?),(?,?),(?,?),(?,?),(?,?),(?,?),(?,?),(?,?),(?,?),(?,?)",
    [TR_GET] = "SELECT hash FROM tree WHERE idx = ?1",
    [TR_RANGE] = "SELECT idx, hash FROM tree WHERE idx BETWEEN ?1 AND ?2 ORDER BY idx",
    [TR_LAST] = "SELECT idx FROM tree ORDER BY idx DESC LIMIT 1",
    [TR_COSIG_ADD] = "INSERT OR IGNORE INTO cosignatures (checkpoint, witness, time, line)"
                     " VALUES (?1, ?2, ?3, ?4)",
    [TR_COSIG_EACH] = "SELECT checkpoint, witness, time, line FROM cosignatures"
                      " WHERE ?1 = 0 OR checkpoint = ?1 ORDER BY checkpoint, witness",
    [TR_WITNESS_PUT] = "INSERT OR REPLACE INTO witnesses (witness, url, size, last_attempt,"
                       " last_ok, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [TR_WITNESS_EACH] = "SELECT witness, url, size, last_attempt, last_ok, last_error"
                        " FROM witnesses ORDER BY witness",
};

/* Statement i, prepared on first use (kept until the store closes). */
static sqlite3_stmt *stmt(sqlite_store *s, int i, int *rc, char *err)
{
    if (!s->tree_st[i]) *rc = sq_prepare(s, tree_sql[i], &s->tree_st[i], err);
    else *rc = STORE_OK;
    return s->tree_st[i];
}

void sq_tree_close(sqlite_store *s)
{
    for (int i = 0; i < SQ_TREE_STATEMENTS; i++) sqlite3_finalize(s->tree_st[i]);
}

#define PUT_MANY 16

/* h[0..n) at indexes first.. with the statement of `rows` rows. */
static int put_rows(sqlite_store *s, int which, int rows, int64_t first, const merkle_hash *h,
                    size_t n, char *err)
{
    int rc;
    sqlite3_stmt *ins = stmt(s, which, &rc, err);
    for (size_t i = 0; rc == STORE_OK && i + (size_t)rows <= n; i += (size_t)rows) {
        for (int r = 0; r < rows; r++) {
            sqlite3_bind_int64(ins, 2 * r + 1, first + (int64_t)(i + (size_t)r));
            sqlite3_bind_blob(ins, 2 * r + 2, h[i + (size_t)r], MERKLE_HASH, SQLITE_STATIC);
        }
        int src = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (src != SQLITE_DONE) rc = sq_fail(s, src, "writing the Merkle tree", err);
    }
    if (ins) sqlite3_clear_bindings(ins);
    return rc;
}

int sq_tree_put(store *st, int own, int64_t first, const merkle_hash *h, size_t n, char *err)
{
    sqlite_store *s = sq(st);
    (void)own;
    size_t many = n - n % PUT_MANY;
    int rc = many ? put_rows(s, TR_PUT_MANY, PUT_MANY, first, h, many, err) : STORE_OK;
    if (rc == STORE_OK && many < n)
        rc = put_rows(s, TR_PUT, 1, first + (int64_t)many, h + many, n - many, err);
    return rc;
}

static int missing(int64_t idx, char *err)
{
    snprintf(err, STORE_ERRLEN, "the Merkle tree holds no hash at index %lld",
             (long long)idx);
    return STORE_ENOTFOUND;
}

/* A run of consecutive indexes (verify's walk) is one range scan. */
static int get_range(sqlite_store *s, int64_t from, size_t n, merkle_hash *out, char *err)
{
    int rc;
    sqlite3_stmt *q = stmt(s, TR_RANGE, &rc, err);
    if (rc != STORE_OK) return rc;
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, from + (int64_t)n - 1);
    size_t got = 0;
    int src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(q, 0);
        if (idx != from + (int64_t)got || sqlite3_column_bytes(q, 1) != MERKLE_HASH) break;
        memcpy(out[got++], sqlite3_column_blob(q, 1), MERKLE_HASH);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return sq_fail(s, src, "reading the Merkle tree", err);
    return got == n ? STORE_OK : missing(from + (int64_t)got, err);
}

int sq_tree_get(store *st, int own, const int64_t *idx, size_t n, merkle_hash *out, char *err)
{
    sqlite_store *s = sq(st);
    int rc;
    (void)own;
    if (n == 0) return STORE_OK;
    size_t run = 1;
    while (run < n && idx[run] == idx[0] + (int64_t)run) run++;
    if (run == n && n >= 16) return get_range(s, idx[0], n, out, err);
    sqlite3_stmt *q = stmt(s, TR_GET, &rc, err);
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        sqlite3_bind_int64(q, 1, idx[i]);
        int src = sqlite3_step(q);
        if (src == SQLITE_ROW && sqlite3_column_bytes(q, 0) == MERKLE_HASH)
            memcpy(out[i], sqlite3_column_blob(q, 0), MERKLE_HASH);
        else if (src == SQLITE_ROW || src == SQLITE_DONE)
            rc = missing(idx[i], err);
        else
            rc = sq_fail(s, src, "reading the Merkle tree", err);
        sqlite3_reset(q);
    }
    return rc;
}

int sq_tree_last(store *st, int own, int64_t *idx, char *err)
{
    sqlite_store *s = sq(st);
    int rc;
    (void)own;
    *idx = -1;
    sqlite3_stmt *q = stmt(s, TR_LAST, &rc, err);
    if (rc != STORE_OK) return rc;
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW) *idx = sqlite3_column_int64(q, 0);
    else if (src != SQLITE_DONE) rc = sq_fail(s, src, "reading the Merkle tree", err);
    sqlite3_reset(q);
    return rc;
}

int sq_log_origin(store *st, const char *set, char out[STORE_ORIGIN_MAX + 1], char *err)
{
    sqlite_store *s = sq(st);
    int rc = sq_meta_get(s, "origin", out, STORE_ORIGIN_MAX + 1, err);
    if (rc != STORE_OK || !set) return rc;
    if (out[0]) {
        if (strcmp(out, set) == 0) return STORE_OK;
        snprintf(err, STORE_ERRLEN, "the log %.*s has the origin %.*s, not %.*s",
                 utf8_cut(s->log_name, 40), s->log_name, utf8_cut(out, 90), out, utf8_cut(set, 90),
                 set);
        return STORE_EINVAL;
    }
    if (s->readonly) {
        /* Nothing can be recorded: the origin asked for stands for now. */
        snprintf(out, STORE_ORIGIN_MAX + 1, "%s", set);
        return STORE_OK;
    }
    rc = sq_meta_put(s, "origin", set, err);
    return rc == STORE_OK ? sq_meta_get(s, "origin", out, STORE_ORIGIN_MAX + 1, err) : rc;
}

int sq_add_cosignature(store *st, const store_cosignature *c, char *err)
{
    sqlite_store *s = sq(st);
    int rc;
    sqlite3_stmt *q = stmt(s, TR_COSIG_ADD, &rc, err);
    if (rc != STORE_OK) return rc;
    sqlite3_bind_int64(q, 1, c->number);
    sqlite3_bind_text(q, 2, c->witness, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, c->time);
    sqlite3_bind_text(q, 4, c->line, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return src == SQLITE_DONE ? STORE_OK : sq_fail(s, src, "storing a cosignature", err);
}

int sq_each_cosignature(store *st, int64_t number, store_cosignature_fn fn, void *ctx,
                        char *err)
{
    sqlite_store *s = sq(st);
    /* A statement of its own per walk: fn may use the store. */
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(s->db, tree_sql[TR_COSIG_EACH], -1, &q, NULL);
    if (src != SQLITE_OK) return sq_fail(s, src, "reading cosignatures", err);
    sqlite3_bind_int64(q, 1, number);
    store_cosignature c;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&c, 0, sizeof c);
        c.number = sqlite3_column_int64(q, 0);
        sq_copy_col(q, 1, c.witness, sizeof c.witness);
        c.time = sqlite3_column_int64(q, 2);
        sq_copy_col(q, 3, c.line, sizeof c.line);
        if (fn(ctx, &c) != 0) {
            src = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return src == SQLITE_DONE ? STORE_OK : sq_fail(s, src, "reading cosignatures", err);
}

int sq_put_witness(store *st, const store_witness *w, char *err)
{
    sqlite_store *s = sq(st);
    int rc;
    sqlite3_stmt *q = stmt(s, TR_WITNESS_PUT, &rc, err);
    if (rc != STORE_OK) return rc;
    sqlite3_bind_text(q, 1, w->witness, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, w->url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, w->size);
    sqlite3_bind_text(q, 4, w->last_attempt, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, w->last_ok, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, w->last_error, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return src == SQLITE_DONE ? STORE_OK : sq_fail(s, src, "recording a witness's state", err);
}

int sq_each_witness(store *st, store_witness_fn fn, void *ctx, char *err)
{
    sqlite_store *s = sq(st);
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(s->db, tree_sql[TR_WITNESS_EACH], -1, &q, NULL);
    if (src != SQLITE_OK) return sq_fail(s, src, "reading the witnesses' state", err);
    store_witness w;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&w, 0, sizeof w);
        sq_copy_col(q, 0, w.witness, sizeof w.witness);
        sq_copy_col(q, 1, w.url, sizeof w.url);
        w.size = sqlite3_column_int64(q, 2);
        sq_copy_col(q, 3, w.last_attempt, sizeof w.last_attempt);
        sq_copy_col(q, 4, w.last_ok, sizeof w.last_ok);
        sq_copy_col(q, 5, w.last_error, sizeof w.last_error);
        if (fn(ctx, &w) != 0) {
            src = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return src == SQLITE_DONE ? STORE_OK : sq_fail(s, src, "reading the witnesses' state", err);
}
