/*
** store_pg_write.c: the PostgreSQL backend's writes: transactions with
** savepoints, appends, checkpoints, and shipping another log in.
**
** Writes follow Tessera's pattern: store_begin() opens a transaction and
** locks the own log's head row (SELECT ... FOR UPDATE), so appends on one
** log are serialized across servers while other logs never wait.  store.c
** numbers and hashes each entry from the head kept here (append_head), so
** the receipt is known at once; the rows are buffered as SQL tuples and
** sent as one multi-row INSERT together with the head's UPDATE and COMMIT:
** a whole group commit costs one round trip.  Savepoints are lazy for the
** same reason: rolling back a request that only appended trims the buffer;
** a savepoint reaches the server only when a statement must run after it.
*/
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable text for building SQL; `oom` sticks once an allocation failed. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* A string literal (standard_conforming_strings is on: only ' is special),
** or NULL. */
static void sb_lit(sbuf *b, const char *v)
{
    if (!v) {
        sb_puts(b, "NULL");
        return;
    }
    sb_put(b, "'", 1);
    const char *q;
    while ((q = strchr(v, '\'')) != NULL) {
        sb_put(b, v, (size_t)(q - v) + 1);
        sb_put(b, "'", 1);
        v = q + 1;
    }
    sb_puts(b, v);
    sb_put(b, "'", 1);
}

static void sb_bytea(sbuf *b, const uint8_t *h, size_t n)
{
    char hex[2 * 64 + 4];
    pgs_bytea_text(h, n, hex);
    sb_put(b, "'", 1);
    sb_puts(b, hex);
    sb_puts(b, "'::bytea");
}

static void sb_int(sbuf *b, int64_t v)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)v);
    sb_puts(b, n);
}


/* ---- buffered appends ---- */

/* Every column of ENTRY_FIELDS, then log_id: the order of put_row(). */
#define X_INSERT_COLUMN(name, type, nullable, hash_at, since, by) ENTRY_SEP_##type #name
static const char insert_head[] =
    "INSERT INTO dss_audit.entries (" ENTRY_FIELDS(X_INSERT_COLUMN) ", log_id) VALUES ";

/* The INSERT of buffered rows [from, to) (absolute row numbers). */
static void put_insert(pg_store *s, sbuf *b, size_t from, size_t to)
{
    if (from >= to) return;
    sb_puts(b, insert_head);
    size_t a = from - s->rows_flushed, z = to - s->rows_flushed;
    size_t start = s->row_off[a];
    size_t end = z < s->rows_buf ? s->row_off[z] : s->buf_len;
    /* Rows are stored each followed by a comma: drop the last one. */
    sb_put(b, s->buf + start, end - start - 1);
    sb_puts(b, ";");
}

/* The flush's text: rows, with the savepoints not yet sent at their
** places.  Returns the row count the text covers. */
static size_t flush_text(pg_store *s, sbuf *b, int with_marks)
{
    size_t pos = s->rows_flushed, total = s->rows_flushed + s->rows_buf;
    char sp[48];
    for (int i = 0; with_marks && i < s->nmarks; i++) {
        if (s->marks[i].sent) continue;
        put_insert(s, b, pos, s->marks[i].rows);
        pos = s->marks[i].rows;
        snprintf(sp, sizeof sp, "SAVEPOINT sp%d;", i);
        sb_puts(b, sp);
    }
    put_insert(s, b, pos, total);
    return total;
}

static void buffer_clear(pg_store *s, size_t total)
{
    s->rows_flushed = total;
    s->rows_buf = 0;
    s->buf_len = 0;
}

int pgs_flush(pg_store *s, char *err)
{
    if (!s->base.in_tx) return STORE_OK;
    sbuf b = {0};
    size_t total = flush_text(s, &b, 1);
    if (b.oom) {
        free(b.p);
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    if (!b.len) return STORE_OK;
    int rc = pgs_exec(s, b.p, "writing the entries", err);
    free(b.p);
    if (rc != STORE_OK) {
        /* A batch failing half way leaves savepoints in doubt: give the
        ** whole transaction up rather than guess. */
        pgs_tx_lost(s);
        return rc;
    }
    for (int i = 0; i < s->nmarks; i++) s->marks[i].sent = 1;
    buffer_clear(s, total);
    return STORE_OK;
}

/* One finished entry as the SQL tuple "(...)," of the INSERT above. */
/* Each field in its place of ENTRY_FIELDS (store_raw_entry names its two
** hashes as the fields).  Integers are checked decimal digits: store.c made
** or checked them. */
#define PUT_SEQ(name) sb_int(b, e->f.seq);
#define PUT_TEXT(name) sb_puts(b, ","), sb_lit(b, e->f.name);
#define PUT_JSON PUT_TEXT
#define PUT_INT(name) sb_puts(b, ","), sb_puts(b, e->f.name ? e->f.name : "NULL");
#define PUT_HASH(name) sb_puts(b, ","), sb_bytea(b, e->name, CHAIN_HASH_BYTES);
#define X_PUT(name, type, nullable, hash_at, since, by) PUT_##type(name)
static void put_row(sbuf *b, const store_raw_entry *e, const char *log_id)
{
    _Static_assert(ENTRY_F_seq == 0, "seq opens the tuple");
    sb_puts(b, "(");
    ENTRY_FIELDS(X_PUT)
    sb_puts(b, ",");
    sb_lit(b, log_id);
    sb_puts(b, "),");
}

/* Add one row to the transaction's buffer. */
static int buffer_row(pg_store *s, const store_raw_entry *e, char *err)
{
    sbuf b = {.p = s->buf, .len = s->buf_len, .cap = s->buf_cap};
    size_t start = b.len;
    put_row(&b, e, s->own_id);
    s->buf = b.p;
    s->buf_cap = b.cap;
    if (b.oom) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    if (s->rows_buf == s->rows_cap) {
        size_t cap = s->rows_cap ? s->rows_cap * 2 : 256;
        size_t *p = realloc(s->row_off, cap * sizeof *p);
        if (!p) {
            pgs_errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        s->row_off = p;
        s->rows_cap = cap;
    }
    s->row_off[s->rows_buf++] = start;
    s->buf_len = b.len;
    return STORE_OK;
}

/* ---- appends: store.c numbers and hashes, this stores ---- */

int pgs_append_head(store *st, store_tip *h, char *err)
{
    pg_store *s = pgs(st);
    if (!s->own_id[0]) {
        pgs_errf(err, "this store has no log of its own to write to");
        return STORE_EINVAL;
    }
    h->seq = s->head.seq;
    memcpy(h->hash, s->head.hash, CHAIN_HASH_BYTES);
    return STORE_OK;
}

int pgs_append_row(store *st, const store_raw_entry *e, char *err)
{
    pg_store *s = pgs(st);
    char month[8];
    snprintf(month, sizeof month, "%.7s", e->f.created_at);
    int known = 0;
    for (int i = 0; i < s->nmonths; i++) known |= !strcmp(s->months[i], month);
    if (!known) {
        /* A transaction that outlived the months begin() prepared. */
        int rc = pgs_flush(s, err);
        if (rc == STORE_OK) rc = pgs_ensure_month(s, month, err);
        if (rc != STORE_OK) return rc;
    }
    int rc = buffer_row(s, e, err);
    if (rc != STORE_OK) return rc;
    s->head.seq = e->f.seq;
    memcpy(s->head.hash, e->hash, CHAIN_HASH_BYTES);
    snprintf(s->head.created_at, sizeof s->head.created_at, "%s", e->f.created_at);
    s->base.tx_writes++;
    /* Keep one statement's text moderate: send a long batch early. */
    if (s->buf_len > (4u << 20)) return pgs_flush(s, err);
    return STORE_OK;
}

/* ---- partitions ---- */

int pgs_ensure_month(pg_store *s, const char *month, char *err)
{
    for (int i = 0; i < s->nmonths; i++)
        if (!strcmp(s->months[i], month)) return STORE_OK;
    const char *p[1] = {month};
    int rc = pgs_query(s, "SELECT dss_audit.ensure_partition($1)", 1, p, NULL,
                       "creating the month's partition", err);
    if (rc != STORE_OK) return rc;
    if (s->nmonths == PG_MONTHS_CACHED) {
        memmove(s->months[0], s->months[1], sizeof s->months[0] * (PG_MONTHS_CACHED - 1));
        s->nmonths--;
    }
    snprintf(s->months[s->nmonths++], sizeof s->months[0], "%.7s", month);
    return STORE_OK;
}

static int ensure_month_of(pg_store *s, int64_t us, char *err)
{
    char ts[TS_BUFLEN], m[8];
    ts_format(us, ts);
    snprintf(m, sizeof m, "%.7s", ts);
    return pgs_ensure_month(s, m, err);
}


/* ---- transactions ---- */

static int read_head_row(pg_store *s, PGresult *r, pg_head *h)
{
    if (PQntuples(r) != 1) return 0;
    h->seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    pgs_bytea(PQgetvalue(r, 0, 1), h->hash, 32);
    snprintf(h->created_at, sizeof h->created_at, "%s", PQgetvalue(r, 0, 2));
    return 1;
}

static int lock_own_head(pg_store *s, char *err);

int pgs_begin(store *st, char *err)
{
    pg_store *s = pgs(st);
    if (s->base.in_tx) {
        pgs_errf(err, "a transaction is already open");
        return STORE_EINVAL;
    }
    if (s->readonly) {
        snprintf(err, STORE_ERRLEN,
                 "the audit log is open read-only; no entry can be written");
        return STORE_EREADONLY;
    }
    if (!s->own_id[0] && !s->no_own_log) {
        pgs_errf(err, "this store has no log of its own to write to");
        return STORE_EINVAL;
    }
    /* A shipper's transaction holds only what store_import() locks: the
    ** head of the log it imports into. */
    int rc = s->own_id[0] ? lock_own_head(s, err) : pgs_ready(s, err);
    if (rc == STORE_OK && !s->own_id[0]) rc = pgs_exec(s, "BEGIN", "beginning", err);
    if (rc == STORE_EIO && s->broken && s->own_id[0]) {
        /* The connection died while idle (a restart, an idle timeout):
        ** nothing was lost, so connect again and retry once. */
        rc = lock_own_head(s, err);
    }
    if (rc != STORE_OK) return rc;
    s->head_at_begin = s->head;
    s->base.in_tx = 1;
    s->base.tx_id++;
    s->base.tx_writes = 0;
    s->nmarks = 0;
    buffer_clear(s, 0);
    return STORE_OK;
}

/* BEGIN and lock the own log's head row, reading the head (begin()). */
static int lock_own_head(pg_store *s, char *err)
{
    int rc = pgs_ready(s, err);
    /* Partitions are made outside the transaction: creating one locks the
    ** parent table, which must not be held until a commit.  Today's month,
    ** and tomorrow's for a transaction crossing midnight at a month's end. */
    int64_t now = ts_now_us();
    if (rc == STORE_OK) rc = ensure_month_of(s, now, err);
    if (rc == STORE_OK) rc = ensure_month_of(s, now + 86400LL * 1000000, err);
    if (rc != STORE_OK) return rc;
    sbuf b = {0};
    sb_puts(&b, "BEGIN; SELECT head_seq, head_hash, coalesce(head_created_at, '')"
                " FROM dss_audit.logs WHERE log_id = ");
    sb_lit(&b, s->own_id);
    sb_puts(&b, " FOR UPDATE");
    PGresult *r = NULL;
    rc = b.oom ? STORE_ENOMEM : pgs_query(s, b.p, 0, NULL, &r, "locking the log's head", err);
    free(b.p);
    if (rc == STORE_OK && !read_head_row(s, r, &s->head)) {
        pgs_errf(err, "the log %s is missing from %s", s->own_id, s->where);
        rc = STORE_ESCHEMA;
    }
    PQclear(r);
    if (rc != STORE_OK && s->conn && !s->broken) PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

int pgs_commit(store *st, char *err)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx) {
        pgs_errf(err, "no transaction is open");
        return STORE_EINVAL;
    }
    if (s->broken) {
        int rc = pgs_fail(s, NULL, "committing", err);
        return rc;
    }
    /* One round trip: the rows still buffered, their tree's hashes, the
    ** head, COMMIT. */
    sbuf b = {0};
    flush_text(s, &b, 0);
    if (!b.oom && pgs_tree_commit_text(s, &b.p, &b.len, &b.cap) != 0) b.oom = 1;
    if (s->head.seq != s->head_at_begin.seq ||
        memcmp(s->head.hash, s->head_at_begin.hash, 32) != 0) {
        sb_puts(&b, "UPDATE dss_audit.logs SET head_seq = ");
        sb_int(&b, s->head.seq);
        sb_puts(&b, ", head_hash = ");
        sb_bytea(&b, s->head.hash, 32);
        sb_puts(&b, ", head_created_at = ");
        sb_lit(&b, s->head.created_at[0] ? s->head.created_at : NULL);
        sb_puts(&b, " WHERE log_id = ");
        sb_lit(&b, s->own_id);
        sb_puts(&b, ";");
    }
    sb_puts(&b, "COMMIT");
    int rc;
    if (b.oom) {
        pgs_errf(err, "out of memory");
        rc = STORE_ENOMEM;
    } else {
        /* No savepoint can save a failing commit: a failure loses all. */
        s->nmarks = 0;
        rc = pgs_exec(s, b.p, "committing", err);
    }
    free(b.p);
    if (rc != STORE_OK) {
        if (s->base.in_tx) {
            if (s->conn && !s->broken) PQclear(PQexec(s->conn, "ROLLBACK"));
            pgs_tx_reset(s);
            s->nmonths = 0;
        }
        return rc;
    }
    pgs_tx_reset(s);
    return STORE_OK;
}

void pgs_rollback(store *st)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx) return;
    if (s->conn && !s->broken) PQclear(PQexec(s->conn, "ROLLBACK"));
    pgs_tx_reset(s);
    s->nmonths = 0;
}

int pgs_savepoint(store *st, char *err)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx) {
        pgs_errf(err, "no transaction is open");
        return STORE_EINVAL;
    }
    if (s->nmarks == PG_MAX_MARKS) {
        pgs_errf(err, "more than %d savepoints are nested", PG_MAX_MARKS);
        return STORE_EINVAL;
    }
    pg_mark *m = &s->marks[s->nmarks++];
    m->rows = s->rows_flushed + s->rows_buf;
    m->head = s->head;
    m->sent = 0;
    m->writes = s->base.tx_writes;
    return STORE_OK;
}

void pgs_savepoint_release(store *st)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx || s->nmarks <= 0) return;
    /* Lazy: a savepoint the server knows stays until the commit, which
    ** ends it; a later one of the same name shadows it, and rolling back
    ** to that name reaches the newest, as it must. */
    s->nmarks--;
}

void pgs_savepoint_rollback(store *st)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx || s->nmarks <= 0) return;
    int d = s->nmarks - 1;
    pg_mark m = s->marks[d];
    s->nmarks--;
    if (m.sent) {
        char sql[80], err[STORE_ERRLEN];
        snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT sp%d; RELEASE SAVEPOINT sp%d", d, d);
        /* Keep the mark visible to pgs_fail while it runs: the
        ** transaction survives an error only through it. */
        s->nmarks++;
        int rc = pgs_exec(s, sql, "rolling back a request", err);
        if (!s->base.in_tx) return; /* lost: nothing more to undo */
        s->nmarks--;
        if (rc != STORE_OK) {
            pgs_tx_lost(s);
            return;
        }
        s->nmonths = 0;
        buffer_clear(s, m.rows);
    } else {
        size_t keep = m.rows - s->rows_flushed;
        if (keep < s->rows_buf) s->buf_len = s->row_off[keep];
        s->rows_buf = keep;
    }
    s->head = m.head;
    s->base.tx_writes = m.writes;
}


/* The selected log's head row, locked for this transaction; its own log
** is locked already and its head is the in-memory one. */
int pgs_lock_head(pg_store *s, pg_head *h, char *err)
{
    if (!strcmp(s->sel_id, s->own_id)) {
        *h = s->head;
        return STORE_OK;
    }
    const char *p[1] = {s->sel_id};
    PGresult *r = NULL;
    int rc = pgs_query(s,
                       "SELECT head_seq, head_hash, coalesce(head_created_at, '')"
                       " FROM dss_audit.logs WHERE log_id = $1 FOR UPDATE",
                       1, p, &r, "locking the log's head", err);
    if (rc != STORE_OK) return rc;
    if (!read_head_row(s, r, h)) {
        pgs_errf(err, "the log %s is missing from %s", s->sel_id, s->where);
        rc = STORE_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

static int need_tx(pg_store *s, const char *what, char *err)
{
    if (s->base.in_tx) return STORE_OK;
    pgs_errf(err, "%s outside a transaction", what);
    return STORE_EINVAL;
}

int pgs_add_checkpoint(store *st, store_checkpoint *cp, char *err)
{
    pg_store *s = pgs(st);
    int rc = need_tx(s, "a checkpoint", err);
    if (rc == STORE_OK) rc = pgs_ready_log(s, err);
    pg_head h;
    /* Numbers per log come from max + 1 under the log's head lock. */
    if (rc == STORE_OK) rc = pgs_lock_head(s, &h, err);
    if (rc != STORE_OK) return rc;
    snprintf(cp->log_id, sizeof cp->log_id, "%s", s->sel_id);
    char seq[24];
    pgs_int_text(cp->seq, seq);
    const char *p[9] = {s->sel_id, cp->kind, seq, cp->head_hash, cp->created_at,
                        cp->prev_checkpoint_hash, cp->public_key, cp->signature,
                        cp->note[0] ? cp->note : NULL};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "INSERT INTO dss_audit.checkpoints (" PG_CHECKPOINT_COLUMNS ")"
                   " SELECT coalesce(max(number), 0) + 1, $2, $1, $3, $4, $5, $6, $7, $8, $9"
                   " FROM dss_audit.checkpoints WHERE log_id = $1 RETURNING number",
                   9, p, &r, "writing the checkpoint", err);
    if (rc != STORE_OK) return rc;
    cp->number = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    s->base.tx_writes++;
    return STORE_OK;
}



/* ---- shipping another log in (store.c checks the chain first) ---- */

int pgs_import_head(store *st, store_tip *tip, char *err)
{
    pg_store *s = pgs(st);
    pg_head h;
    int rc = pgs_ready_log(s, err);
    if (rc == STORE_OK) rc = pgs_lock_head(s, &h, err);
    if (rc != STORE_OK) return rc;
    tip->seq = h.seq;
    memcpy(tip->hash, h.hash, CHAIN_HASH_BYTES);
    return STORE_OK;
}

int pgs_stored_hashes(store *st, int64_t from, int64_t to,
                      int (*fn)(void *ctx, int64_t seq, const uint8_t *hash), void *ctx,
                      char *err)
{
    pg_store *s = pgs(st);
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)from);
    snprintf(b, sizeof b, "%lld", (long long)to);
    const char *p[3] = {s->sel_id, a, b};
    PGresult *r = NULL;
    int rc = pgs_query(s,
                       "SELECT seq, hash FROM dss_audit.entries WHERE log_id = $1"
                       " AND seq BETWEEN $2 AND $3 ORDER BY seq",
                       3, p, &r, "comparing the batch with the stored entries", err);
    if (rc != STORE_OK) return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        uint8_t h[CHAIN_HASH_BYTES];
        pgs_bytea(PQgetvalue(r, i, 1), h, CHAIN_HASH_BYTES);
        if (fn(ctx, strtoll(PQgetvalue(r, i, 0), NULL, 10), h) != 0) break;
    }
    PQclear(r);
    return STORE_OK;
}

int pgs_import_rows(store *st, const store_raw_entry *e, size_t n, char *err)
{
    pg_store *s = pgs(st);
    int rc;
    /* Months first (their partitions), then the rows in statements of at
    ** most 1,000 rows. */
    for (size_t k = 0; k < n; k++) {
        char m[8];
        snprintf(m, sizeof m, "%.7s", e[k].f.created_at);
        if ((rc = pgs_ensure_month(s, m, err)) != STORE_OK) return rc;
    }
    int own = !strcmp(s->sel_id, s->own_id);
    const store_raw_entry *last = &e[n - 1];
    for (size_t k = 0; k < n;) {
        sbuf b = {0};
        sb_puts(&b, insert_head);
        size_t end = k + 1000 < n ? k + 1000 : n;
        for (size_t j = k; j < end; j++) put_row(&b, &e[j], s->sel_id);
        b.len--; /* the last row's comma */
        if (!own && end == n) {
            sb_puts(&b, "; UPDATE dss_audit.logs SET head_seq = ");
            sb_int(&b, last->f.seq);
            sb_puts(&b, ", head_hash = ");
            sb_bytea(&b, last->hash, CHAIN_HASH_BYTES);
            sb_puts(&b, ", head_created_at = ");
            sb_lit(&b, last->f.created_at);
            sb_puts(&b, " WHERE log_id = ");
            sb_lit(&b, s->sel_id);
        }
        if (b.oom) {
            free(b.p);
            pgs_errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        rc = pgs_exec(s, b.p, "storing the shipped entries", err);
        free(b.p);
        if (rc != STORE_OK) return rc;
        k = end;
    }
    if (own) {
        s->head.seq = last->f.seq;
        memcpy(s->head.hash, last->hash, CHAIN_HASH_BYTES);
        snprintf(s->head.created_at, sizeof s->head.created_at, "%s", last->f.created_at);
    }
    s->base.tx_writes += (int64_t)n;
    return STORE_OK;
}

int pgs_import_checkpoint(store *st, const store_checkpoint *cp, int *stored, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    pg_head h;
    if (rc == STORE_OK) rc = pgs_lock_head(s, &h, err);
    if (rc != STORE_OK) return rc;
    char seq[24], num[24];
    snprintf(seq, sizeof seq, "%lld", (long long)cp->seq);
    snprintf(num, sizeof num, "%lld", (long long)cp->number);
    const char *p[3] = {s->sel_id, cp->kind, seq};
    PGresult *r = NULL;
    /* The same checkpoint stored already (kind, seq and signature)? */
    const char *q[4] = {p[0], p[1], p[2], cp->signature};
    rc = pgs_query(s,
                   "SELECT 1 FROM dss_audit.checkpoints WHERE log_id = $1 AND kind = $2"
                   " AND seq = $3 AND signature = $4",
                   4, q, &r, "looking for the checkpoint", err);
    if (rc != STORE_OK) return rc;
    int have = PQntuples(r) > 0;
    PQclear(r);
    if (have) return STORE_OK;
    /* Keep its number when it is free (the local log's numbering), else
    ** the next one. */
    const char *v[10] = {s->sel_id, num, cp->kind, seq, cp->head_hash, cp->created_at,
                         cp->prev_checkpoint_hash, cp->public_key, cp->signature,
                         cp->note[0] ? cp->note : NULL};
    rc = pgs_query(s,
                   "INSERT INTO dss_audit.checkpoints (log_id, number, kind, seq, head_hash,"
                   " created_at, prev_checkpoint_hash, public_key, signature, note)"
                   " SELECT $1, CASE WHEN $2::bigint > 0 AND NOT EXISTS (SELECT 1 FROM"
                   "  dss_audit.checkpoints WHERE log_id = $1 AND number = $2::bigint)"
                   "  THEN $2::bigint ELSE (SELECT coalesce(max(number), 0) + 1 FROM"
                   "  dss_audit.checkpoints WHERE log_id = $1) END,"
                   " $3, $4, $5, $6, $7, $8, $9, $10",
                   10, v, NULL, "storing the shipped checkpoint", err);
    if (rc != STORE_OK) return rc;
    *stored = 1;
    s->base.tx_writes++;
    return STORE_OK;
}
