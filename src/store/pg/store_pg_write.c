/*
** store_pg_write.c: the PostgreSQL backend's writes: transactions with
** savepoints, appends, checkpoints, and shipping another log in.
**
** Writes follow Tessera's pattern: store_begin() opens a transaction and
** locks the own log's head row (SELECT ... FOR UPDATE), so appends on one
** log are serialized across servers while other logs never wait.  store.c
** numbers and hashes each entry from the head kept here (append_head), so
** the receipt is known at once.
**
** Round trips are what a group commit costs beyond the disk, so each step
** sends what it can in one (libpq's pipeline mode, store_pg.c):
**   - begin sends BEGIN and the lock without waiting; their results are
**     read when the head is first needed, or with the next statement (a
**     read's query rides in the same round trip as the lock);
**   - appends are kept as rows (store_pg_rows.c) and sent as one prepared
**     INSERT of column arrays: nothing to parse or plan per group;
**   - commit is that INSERT with the head's UPDATE folded in, the Merkle
**     tree's new hashes (one prepared INSERT, store_pg_tree.c), and
**     COMMIT: one round trip.
** Savepoints are lazy for the same reason: rolling back a request that only
** appended trims the rows; a savepoint reaches the server only when a
** statement must run after it, in that statement's round trip.
**
** Shipping (store_import()) sends each checked batch with COPY (binary) in
** the batch's transaction; the shipped log's head moves with the COMMIT.
*/
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tx_usable(pg_store *s, const char *what, char *err);

/* ---- buffered appends ---- */

/* An INSERT of rows [a, z) of the buffer (tx-absolute numbers) into *st,
** its parameters built in b (which must live until it is sent). */
typedef struct insert_stmt {
    const char *values[PG_ROWS_HEAD_PARAMS];
    int lengths[PG_ROWS_HEAD_PARAMS], formats[PG_ROWS_HEAD_PARAMS];
    char sql[PG_ROWS_SQL_MAX];
    char seq[24], hash[2 * CHAIN_HASH_BYTES + 3];
} insert_stmt;

static int insert_of(pg_store *s, size_t a, size_t z, const pg_head *head, jbuf *b,
                     insert_stmt *x, pg_stmt *st, char *err)
{
    size_t base = s->rows_flushed;
    if (pgs_rows_params(&s->rows, a - base, z - base, s->own_id, b, x->values, x->lengths,
                        x->formats) != 0) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    int slot = head ? PG_SLOT_INSERT_HEAD : PG_SLOT_INSERT;
    x->sql[0] = '\0';
    if (!pgs_is_prepared(s, slot)) pgs_rows_insert_sql(x->sql, sizeof x->sql, head != NULL);
    int n = PG_ROWS_PARAMS;
    if (head) {
        pgs_int_text(head->seq, x->seq);
        pgs_bytea_text(head->hash, CHAIN_HASH_BYTES, x->hash);
        x->values[n] = x->seq;
        x->values[n + 1] = x->hash;
        x->values[n + 2] = head->created_at[0] ? head->created_at : NULL;
        for (int i = n; i < n + 3; i++) x->lengths[i] = x->formats[i] = 0;
        n += 3;
    }
    *st = (pg_stmt){.slot = slot, .sql = x->sql, .nparams = n, .values = x->values,
                    .lengths = x->lengths, .formats = x->formats, .doing = "writing the entries"};
    return STORE_OK;
}

/* Send rows [a, z) as one INSERT, part of the flush. */
static int send_rows(pg_store *s, size_t a, size_t z, jbuf *b, char *err)
{
    if (a >= z) return STORE_OK;
    insert_stmt x;
    pg_stmt st;
    int rc = insert_of(s, a, z, NULL, b, &x, &st, err);
    return rc == STORE_OK ? pgs_send_part(s, &st, 1, PG_PART_FLUSH, err) : rc;
}

int pgs_flush_send(pg_store *s, char *err)
{
    size_t pos = s->rows_flushed, total = s->rows_flushed + s->rows.n;
    jbuf b = {0};
    int rc = STORE_OK;
    char sp[48];
    for (int i = 0; rc == STORE_OK && i < s->nmarks; i++) {
        if (s->marks[i].sent) continue;
        rc = send_rows(s, pos, s->marks[i].rows, &b, err);
        pos = s->marks[i].rows;
        snprintf(sp, sizeof sp, "SAVEPOINT sp%d", i);
        pg_stmt st = {.sql = sp, .doing = "setting a savepoint"};
        if (rc == STORE_OK) rc = pgs_send_part(s, &st, 1, PG_PART_FLUSH, err);
    }
    if (rc == STORE_OK) rc = send_rows(s, pos, total, &b, err);
    jbuf_free(&b);
    return rc;
}

void pgs_flush_done(pg_store *s, int ok)
{
    if (!ok) {
        /* A batch failing half way leaves savepoints in doubt: give the
        ** whole transaction up rather than guess. */
        pgs_tx_lost(s);
        return;
    }
    for (int i = 0; i < s->nmarks; i++) s->marks[i].sent = 1;
    s->rows_flushed += s->rows.n;
    pgs_rows_trim(&s->rows, 0);
}

/* ---- appends: store.c numbers and hashes, this stores ---- */

int pgs_append_head(store *st, store_tip *h, char *err)
{
    pg_store *s = pgs(st);
    if (!s->own_id[0]) {
        pgs_errf(err, "this store has no log of its own to write to");
        return STORE_EINVAL;
    }
    /* The lock sent at begin: its answer is the head. */
    int rc = pgs_settle(s, err);
    if (rc == STORE_OK) rc = tx_usable(s, "an append", err);
    if (rc != STORE_OK) return rc;
    h->seq = s->head.seq;
    memcpy(h->hash, s->head.hash, CHAIN_HASH_BYTES);
    return STORE_OK;
}

int pgs_append_row(store *st, const store_raw_entry *e, char *err)
{
    pg_store *s = pgs(st);
    char month[8];
    snprintf(month, sizeof month, "%.7s", e->f.created_at);
    /* A transaction that outlived the months begin() prepared: the rows
    ** so far go ahead of the partition's creation. */
    int rc = pgs_ensure_month(s, month, err);
    if (rc != STORE_OK) return rc;
    if (pgs_rows_add(&s->rows, e) != 0) {
        pgs_errf(err, "out of memory");
        pgs_tx_lost(s);
        return STORE_ENOMEM;
    }
    s->head.seq = e->f.seq;
    memcpy(s->head.hash, e->hash, CHAIN_HASH_BYTES);
    snprintf(s->head.created_at, sizeof s->head.created_at, "%s", e->f.created_at);
    s->base.tx_writes++;
    /* Keep one statement moderate: send a long batch early. */
    if (s->rows.len > (4u << 20)) return pgs_pipeline(s, NULL, 0, err);
    return STORE_OK;
}

/* ---- partitions ---- */

int pgs_ensure_month(pg_store *s, const char *month, char *err)
{
    for (int i = 0; i < s->nmonths; i++)
        if (!strncmp(s->months[i], month, 7)) return STORE_OK;
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
    (void)s;
    if (!r || PQntuples(r) != 1) return 0;
    h->seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    pgs_bytea(PQgetvalue(r, 0, 1), h->hash, 32);
    snprintf(h->created_at, sizeof h->created_at, "%s", PQgetvalue(r, 0, 2));
    return 1;
}

static const char lock_sql[] =
    "SELECT head_seq, head_hash, coalesce(head_created_at, '')"
    " FROM dss_audit.logs WHERE log_id = $1 FOR UPDATE";

int pgs_begin_send(pg_store *s, char *err)
{
    const char *p[1] = {s->own_id};
    pg_stmt st[2] = {
        {.slot = PG_SLOT_BEGIN, .sql = "BEGIN", .doing = "beginning"},
        {.slot = PG_SLOT_LOCK, .sql = lock_sql, .nparams = 1, .values = p,
         .res = &s->lock_res, .doing = "locking the log's head"},
    };
    /* A shipper's transaction holds only what store_import() locks: the
    ** head of the log it imports into. */
    int rc = pgs_send_part(s, st, s->own_id[0] ? 2 : 1, PG_PART_BEGIN, err);
    if (rc == STORE_OK) s->begin_air = 1;
    return rc;
}

void pgs_begin_settled(pg_store *s, int rc, const char *why)
{
    PGresult *r = s->lock_res;
    s->lock_res = NULL;
    if (rc == STORE_OK && s->own_id[0] && !read_head_row(s, r, &s->head)) {
        rc = STORE_ESCHEMA;
        snprintf(s->tx_fail_why, sizeof s->tx_fail_why, "the log %s is missing from %s",
                 s->own_id, s->where);
        why = NULL;
    }
    PQclear(r);
    if (!s->base.in_tx) return;
    if (rc == STORE_OK) {
        s->head_at_begin = s->head;
        /* Another writer moved the head since this store's last commit:
        ** the log is shared, and its writers take turns on the head. */
        if (s->have_last_commit && (s->head.seq != s->last_commit.seq ||
                                    memcmp(s->head.hash, s->last_commit.hash, 32) != 0))
            s->shared_groups = PG_SHARED_GROUPS;
        return;
    }
    /* The transaction holds nothing (so nothing is lost): what is asked of
    ** it fails with this sentence, reads run outside it. */
    s->tx_failed = rc;
    if (why) snprintf(s->tx_fail_why, sizeof s->tx_fail_why, "%s", why);
    if (s->conn && !s->broken && PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* A write inside the open transaction: STORE_OK, or why not (none is
** open, or its begin failed). */
static int tx_usable(pg_store *s, const char *what, char *err)
{
    if (!s->base.in_tx) {
        pgs_errf(err, "%s outside a transaction", what);
        return STORE_EINVAL;
    }
    if (s->tx_failed) {
        snprintf(err, STORE_ERRLEN, "%s", s->tx_fail_why);
        return s->tx_failed;
    }
    return STORE_OK;
}

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
    int rc = pgs_ready(s, err);
    if (rc == STORE_OK) rc = pgs_settle(s, err);
    /* Partitions are made outside the transaction: creating one locks the
    ** parent table, which must not be held until a commit.  Today's month,
    ** and tomorrow's for a transaction crossing midnight at a month's end. */
    int64_t now = ts_now_us();
    if (rc == STORE_OK && s->own_id[0]) rc = ensure_month_of(s, now, err);
    if (rc == STORE_OK && s->own_id[0]) rc = ensure_month_of(s, now + 86400LL * 1000000, err);
    if (rc != STORE_OK) return rc;
    pgs_rows_trim(&s->rows, 0);
    s->rows_flushed = 0;
    s->base.in_tx = 1;
    s->base.tx_id++;
    s->base.tx_writes = 0;
    s->nmarks = 0;
    s->tx_failed = 0;
    s->import_pending = 0;
    /* Sent, not waited for: the answer is read when first needed. */
    rc = pgs_begin_send(s, err);
    if (rc != STORE_OK) {
        s->base.in_tx = 0;
        if (s->broken && pgs_ready(s, err) == STORE_OK) {
            /* The connection died while idle (a restart, an idle timeout):
            ** nothing was lost, so connect again and begin once more. */
            s->base.in_tx = 1;
            rc = pgs_begin_send(s, err);
            if (rc != STORE_OK) s->base.in_tx = 0;
        }
    }
    return rc;
}

/* The statement moving a log's head (no rows): the own log's at commit, or
** an imported log's. */
typedef struct head_stmt {
    const char *values[4];
    char seq[24], hash[2 * CHAIN_HASH_BYTES + 3];
} head_stmt;

static void head_of(const char *log_id, const pg_head *h, head_stmt *x, pg_stmt *st)
{
    pgs_int_text(h->seq, x->seq);
    pgs_bytea_text(h->hash, CHAIN_HASH_BYTES, x->hash);
    x->values[0] = log_id;
    x->values[1] = x->seq;
    x->values[2] = x->hash;
    x->values[3] = h->created_at[0] ? h->created_at : NULL;
    *st = (pg_stmt){.slot = PG_SLOT_HEAD,
                    .sql = "UPDATE dss_audit.logs SET head_seq = $2::bigint,"
                           " head_hash = $3::bytea, head_created_at = $4::text"
                           " WHERE log_id = $1::text",
                    .nparams = 4, .values = x->values, .doing = "moving the log's head"};
}

/* Whether this commit releases the log's head before its WAL flush.
**
** Servers of one log take turns on its head row, which a commit holds until
** it returns.  A commit that appended may release it without waiting for
** its WAL flush (SET LOCAL synchronous_commit = off), so that the other
** servers lock, append and commit while this one's flush is under way
** (PostgreSQL then flushes several servers' commits at once); a second
** transaction in the same flight, which writes a WAL message and commits
** synchronously, waits for the flush: WAL is flushed in order, so when it
** returns, this commit is on disk, and the reply still follows its own
** commit.  A crash between the two loses the group unanswered, and every
** later group of the log with it (their commit records come after), so
** the chain stays whole.
**
** Only while the log is shared (another writer was seen lately): a server
** alone on its log has no one to let go first, so there the second
** transaction is pure cost, and the asynchronous commit wakes the WAL
** writer, whose flush the second transaction may wait behind (the
** profile runs of bench/RESULTS-pg.md: servers on their own logs were
** slower with it).  Without the right to write the message, never. */
static int releases_early(const pg_store *s, int moved)
{
    return s->early_release && s->shared_groups > 0 &&
           (moved || s->rows_flushed || s->import_pending);
}

int pgs_commit(store *st, char *err)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx) {
        pgs_errf(err, "no transaction is open");
        return STORE_EINVAL;
    }
    int rc = pgs_settle(s, err);
    if (rc == STORE_OK) rc = tx_usable(s, "a commit", err);
    if (rc == STORE_OK && s->broken) rc = pgs_fail(s, NULL, "committing", err);
    if (rc != STORE_OK) {
        if (s->base.in_tx) pgs_rollback(st);
        return rc;
    }
    /* One round trip: the rows still buffered with the head's move in one
    ** statement (or the head alone), the own log's tree hashes, an
    ** imported log's head, COMMIT.  No savepoint can save a failing
    ** commit: a failure loses all. */
    s->nmarks = 0;
    pg_stmt stmts[7];
    pg_tree_stmt tree;
    int n = 0;
    jbuf b = {0};
    insert_stmt ins;
    head_stmt own_head, imported;
    int moved = s->head.seq != s->head_at_begin.seq ||
                memcmp(s->head.hash, s->head_at_begin.hash, 32) != 0;
    if (s->rows.n) {
        rc = insert_of(s, s->rows_flushed, s->rows_flushed + s->rows.n, &s->head, &b, &ins,
                       &stmts[n++], err);
        pgs_rows_trim(&s->rows, 0); /* in the statement now */
    } else if (moved) {
        head_of(s->own_id, &s->head, &own_head, &stmts[n++]);
    }
    if (rc == STORE_OK) {
        int made = pgs_tree_commit_stmt(s, &tree, &stmts[n]);
        if (made < 0) {
            pgs_errf(err, "out of memory");
            rc = STORE_ENOMEM;
        }
        n += made > 0;
    }
    if (rc == STORE_OK && s->import_pending)
        head_of(s->import_log, &s->import_head, &imported, &stmts[n++]);
    int early = releases_early(s, moved);
    if (rc == STORE_OK && early)
        stmts[n++] = (pg_stmt){.slot = PG_SLOT_ASYNC, .sql = "SET LOCAL synchronous_commit = off",
                               .doing = "committing"};
    stmts[n++] = (pg_stmt){.slot = PG_SLOT_COMMIT, .sql = "COMMIT", .doing = "committing"};
    /* The message names the log (for whoever reads the WAL). */
    const char *log_p[1] = {s->own_id};
    if (rc == STORE_OK && early)
        stmts[n++] = (pg_stmt){.slot = PG_SLOT_FLUSH,
                               .sql = "SELECT pg_catalog.pg_logical_emit_message(true,"
                                      " 'dss_audit', $1::text)",
                               .nparams = 1, .values = log_p,
                               .doing = "waiting for the commit to reach the disk"};
    if (rc == STORE_OK) rc = pgs_pipeline(s, stmts, n, err);
    jbuf_free(&b);
    if (rc != STORE_OK) {
        if (s->base.in_tx) pgs_rollback(st);
        s->nmonths = 0;
        return rc;
    }
    if (s->own_id[0]) {
        s->last_commit = s->head;
        s->have_last_commit = 1;
    }
    if (s->shared_groups > 0) s->shared_groups--;
    pgs_tx_reset(s);
    return STORE_OK;
}

void pgs_rollback(store *st)
{
    pg_store *s = pgs(st);
    if (!s->base.in_tx) return;
    char ignored[STORE_ERRLEN];
    /* Whatever is in the air is read first; its failure changes nothing. */
    pgs_settle(s, ignored);
    if (s->base.in_tx && !s->tx_failed) {
        if (s->conn && !s->broken && PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF)
            PQclear(PQexec(s->conn, "ROLLBACK"));
        s->nmonths = 0;
        s->plan_mode = -1;
    }
    pgs_tx_reset(s);
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
    m->rows = s->rows_flushed + s->rows.n;
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
    if (m.sent && !s->tx_failed) {
        char back[48], release[48], err[STORE_ERRLEN];
        snprintf(back, sizeof back, "ROLLBACK TO SAVEPOINT sp%d", d);
        snprintf(release, sizeof release, "RELEASE SAVEPOINT sp%d", d);
        pg_stmt st2[2] = {{.sql = back, .doing = "rolling back a request"},
                          {.sql = release, .doing = "rolling back a request"}};
        /* Keep the mark visible to pgs_fail while it runs: the
        ** transaction survives an error only through it. */
        s->nmarks++;
        int rc = pgs_pipeline(s, st2, 2, err);
        if (!s->base.in_tx) return; /* lost: nothing more to undo */
        s->nmarks--;
        if (rc != STORE_OK) {
            pgs_tx_lost(s);
            return;
        }
        /* What the server undid: partitions made and settings changed
        ** since the savepoint. */
        s->nmonths = 0;
        s->plan_mode = -1;
        pgs_rows_trim(&s->rows, 0);
        s->rows_flushed = m.rows;
    } else if (!m.sent) {
        pgs_rows_trim(&s->rows, m.rows - s->rows_flushed);
    }
    s->head = m.head;
    s->base.tx_writes = m.writes;
}


/* The selected log's head row, locked for this transaction; its own log
** is locked already and its head is the in-memory one. */
int pgs_lock_head(pg_store *s, pg_head *h, char *err)
{
    if (!strcmp(s->sel_id, s->own_id)) {
        int rc = pgs_settle(s, err);
        if (rc == STORE_OK) rc = tx_usable(s, "locking the head", err);
        if (rc != STORE_OK) return rc;
        *h = s->head;
        return STORE_OK;
    }
    const char *p[1] = {s->sel_id};
    PGresult *r = NULL;
    pg_stmt st = {.slot = PG_SLOT_LOCK, .sql = lock_sql, .nparams = 1, .values = p, .res = &r,
                  .doing = "locking the log's head"};
    int rc = pgs_pipeline(s, &st, 1, err);
    if (rc == STORE_OK) rc = tx_usable(s, "locking the head", err);
    if (rc != STORE_OK) {
        PQclear(r);
        return rc;
    }
    if (!read_head_row(s, r, h)) {
        pgs_errf(err, "the log %s is missing from %s", s->sel_id, s->where);
        rc = STORE_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

int pgs_add_checkpoint(store *st, store_checkpoint *cp, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
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
    if (rc == STORE_OK) rc = tx_usable(s, "an import", err);
    if (rc == STORE_OK && s->import_pending && !strcmp(s->import_log, s->sel_id)) {
        /* This transaction imported into the log already: its head is
        ** the one that import left, locked since. */
        h = s->import_head;
    } else if (rc == STORE_OK) {
        rc = pgs_lock_head(s, &h, err);
    }
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
    pgs_int_text(from, a);
    pgs_int_text(to, b);
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

/* COPY e[0..n) into entries of the selected log: the data in pieces of
** about 1 MiB, as the rows are encoded. */
static int copy_rows(pg_store *s, const store_raw_entry *e, size_t n, char *err)
{
    static const char doing[] = "storing the shipped entries";
    int rc = pgs_settle(s, err);
    if (rc != STORE_OK) return rc;
    if (!PQsendQuery(s->conn, pgs_copy_sql)) return pgs_fail(s, NULL, doing, err);
    int cancelled = 0;
    PGresult *r = pgs_wait(s, &cancelled);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        rc = pgs_fail(s, r, doing, err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    jbuf b = {0};
    int sent = 1;
    pgs_copy_header(&b);
    for (size_t k = 0; k < n && sent; k++) {
        pgs_copy_row(&b, &e[k], s->sel_id);
        if (b.len >= (1u << 20) || k + 1 == n) {
            if (k + 1 == n) pgs_copy_trailer(&b);
            sent = !b.failed && PQputCopyData(s->conn, b.p, (int)b.len) == 1;
            b.len = 0;
        }
    }
    int oom = b.failed;
    jbuf_free(&b);
    /* Ending the COPY with an error message makes the server refuse it:
    ** nothing of it is stored. */
    if (PQputCopyEnd(s->conn, sent ? NULL : "the client could not send the batch") != 1)
        return pgs_fail(s, NULL, doing, err);
    r = pgs_wait(s, &cancelled);
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK && sent) {
        PQclear(r);
        return STORE_OK;
    }
    rc = pgs_fail(s, r, doing, err);
    PQclear(r);
    if (oom && rc != STORE_EIO) {
        pgs_errf(err, "out of memory");
        rc = STORE_ENOMEM;
    }
    return rc;
}

int pgs_import_rows(store *st, const store_raw_entry *e, size_t n, char *err)
{
    pg_store *s = pgs(st);
    int rc = tx_usable(s, "an import", err);
    /* Months first (their partitions: creating one cannot happen during
    ** the COPY), then the rows in one COPY. */
    for (size_t k = 0; rc == STORE_OK && k < n; k++) {
        char m[8];
        snprintf(m, sizeof m, "%.7s", e[k].f.created_at);
        rc = pgs_ensure_month(s, m, err);
    }
    if (rc == STORE_OK && n) rc = copy_rows(s, e, n, err);
    if (rc != STORE_OK) return rc;
    const store_raw_entry *last = &e[n - 1];
    pg_head h = {.seq = last->f.seq};
    memcpy(h.hash, last->hash, CHAIN_HASH_BYTES);
    snprintf(h.created_at, sizeof h.created_at, "%s", last->f.created_at);
    if (!strcmp(s->sel_id, s->own_id)) {
        s->head = h;
    } else {
        /* The head moves with the COMMIT, in its round trip. */
        s->import_pending = 1;
        s->import_head = h;
        snprintf(s->import_log, sizeof s->import_log, "%s", s->sel_id);
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
    pgs_int_text(cp->seq, seq);
    pgs_int_text(cp->number, num);
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
