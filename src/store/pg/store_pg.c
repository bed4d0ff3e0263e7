/*
** store_pg.c: the PostgreSQL backend's core: the connection (and getting
** it back after it was lost), logs, transactions with savepoints, appends,
** shipping another log in, and the integrity reads (head, hashes,
** checkpoints, entry walks).  Queries are in store_pg_query.c, retention in
** store_pg_prune.c, the schema in store_pg_schema.c.
**
** Writes follow Tessera's pattern: store_begin() opens a transaction and
** locks the own log's head row (SELECT ... FOR UPDATE), so appends on one
** log are serialized across servers while other logs never wait.  Each
** append numbers and hashes its entry locally from the locked head, so the
** receipt is known at once; the rows are buffered as SQL tuples and sent as
** one multi-row INSERT together with the head's UPDATE and COMMIT: a whole
** group commit costs one round trip.  Savepoints are lazy for the same
** reason: rolling back a request that only appended trims the buffer; a
** savepoint reaches the server only when a statement must run after it.
**
** The password: the conninfo is kept (to reconnect) but never printed;
** messages name the host and database from PQhost()/PQdb(), and any text
** from libpq is scrubbed of the password before it reaches a caller.
*/
#include "store_pg_int.h"
#include "../../util/uuid7.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <uuid/uuid.h>

/* ---- small helpers ---- */

/* A sentence into the caller's STORE_ERRLEN buffer, cut when too long. */
static void errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, STORE_ERRLEN, fmt, ap);
    va_end(ap);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

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

void pgs_bytea_text(const uint8_t *in, size_t n, char *out)
{
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 2 * n + 1, in, n);
}

int pgs_bytea(const char *text, uint8_t *out, size_t n)
{
    size_t got = 0;
    memset(out, 0, n);
    if (!text || text[0] != '\\' || text[1] != 'x' || strlen(text + 2) != 2 * n) return 0;
    if (sodium_hex2bin(out, n, text + 2, 2 * n, NULL, &got, NULL) != 0 || got != n) {
        memset(out, 0, n);
        return 0;
    }
    return 1;
}

static void random_uuid(char out[37])
{
    uuid_t u;
    randombytes_buf(u, sizeof u);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}

/* Replace every occurrence of the conninfo's password in msg by "***". */
static void scrub_password(const pg_store *s, char *msg, size_t len)
{
    if (!s || !s->conninfo) return;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(s->conninfo, &perr);
    PQfreemem(perr);
    if (!opts) return;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "password") != 0 || !o->val || !o->val[0]) continue;
        size_t pl = strlen(o->val);
        char *at;
        while ((at = strstr(msg, o->val)) != NULL) {
            size_t tail = strlen(at + pl);
            if ((size_t)(at - msg) + 3 + tail + 1 > len) {
                *at = '\0';
                break;
            }
            memmove(at + 3, at + pl, tail + 1);
            memcpy(at, "***", 3);
        }
    }
    PQconninfoFree(opts);
}

/* libpq's message, one line, scrubbed. */
static void conn_message(const pg_store *s, char *out, size_t len)
{
    snprintf(out, len, "%s", s->conn ? PQerrorMessage(s->conn) : "no connection");
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = (p[1] ? ' ' : '\0');
    scrub_password(s, out, len);
}

static void set_where(pg_store *s)
{
    const char *h = s->conn ? PQhost(s->conn) : NULL;
    const char *d = s->conn ? PQdb(s->conn) : NULL;
    snprintf(s->where, sizeof s->where, "PostgreSQL at %s, database %s",
             h && *h ? h : "(default host)", d && *d ? d : "(default)");
}

/* ---- the transaction's state ---- */

static void tx_reset(pg_store *s)
{
    s->in_tx = 0;
    s->nmarks = 0;
    s->buf_len = 0;
    s->rows_buf = 0;
    s->rows_flushed = 0;
}

/* The database rolled the whole transaction back (or will, at ROLLBACK):
** every write acknowledged in it is gone. */
static void tx_lost(pg_store *s)
{
    if (!s->in_tx) return;
    s->lost_tx = s->tx_id;
    if (s->conn && !s->broken) {
        PGresult *r = PQexec(s->conn, "ROLLBACK");
        PQclear(r);
    }
    tx_reset(s);
    s->nmonths = 0; /* partitions made in it went with it */
}

static int any_mark_sent(const pg_store *s)
{
    for (int i = 0; i < s->nmarks; i++)
        if (s->marks[i].sent) return 1;
    return 0;
}

int pgs_fail(pg_store *s, const PGresult *r, const char *doing, char *err)
{
    char why[200];
    int code = STORE_EIO;
    if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
        conn_message(s, why, sizeof why);
        s->broken = 1;
        if (s->in_tx) {
            s->lost_tx = s->tx_id;
            tx_reset(s);
            s->nmonths = 0;
        }
        errf(err, "lost the connection to %s while %s: %s", s->where,
                 doing, why);
        return STORE_EIO;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg) snprintf(why, sizeof why, "%s", msg);
    else conn_message(s, why, sizeof why);
    scrub_password(s, why, sizeof why);
    if (state) {
        if (!strcmp(state, "55P03") || !strcmp(state, "40P01") || !strcmp(state, "40001")) {
            code = STORE_EBUSY;
            snprintf(why, sizeof why, "another writer kept the log locked");
        } else if (!strcmp(state, "57014")) {
            code = STORE_EINTERRUPTED;
            snprintf(why, sizeof why, "interrupted");
        } else if (!strcmp(state, "25006")) {
            code = STORE_EREADONLY;
        } else if (!strcmp(state, "53100") || !strcmp(state, "54000")) {
            code = STORE_EFULL;
        } else if (!strcmp(state, "53200")) {
            code = STORE_ENOMEM;
        } else if (!strcmp(state, "42501")) {
            code = STORE_EREADONLY;
        } else if (!strncmp(state, "42", 2) || !strncmp(state, "3F", 2)) {
            code = STORE_ESCHEMA;
        }
    }
    /* Any error aborts a PostgreSQL transaction: it can be recovered only
    ** by rolling back to a savepoint the server knows.  Without one, the
    ** whole transaction is lost. */
    if (s->in_tx && !any_mark_sent(s)) tx_lost(s);
    errf(err, "%s: %s", doing, why);
    return code;
}

/* Wait for the results of the statement sent, polling the interrupt
** callback; returns the first error result or else the last one. */
static PGresult *wait_results(pg_store *s, int *cancelled)
{
    PGconn *c = s->conn;
    int sock = PQsocket(c);
    while (PQisBusy(c)) {
        struct pollfd p = {.fd = sock, .events = POLLIN};
        int n = poll(&p, 1, s->interrupt ? 50 : 1000);
        if (n < 0 && errno != EINTR) break;
        if (!PQconsumeInput(c)) break;
        if (!*cancelled && s->interrupt && s->interrupt(s->interrupt_ctx)) {
            PGcancel *k = PQgetCancel(c);
            char ebuf[128];
            if (k) {
                PQcancel(k, ebuf, sizeof ebuf);
                PQfreeCancel(k);
            }
            *cancelled = 1;
        }
    }
    PGresult *keep = NULL, *r;
    while ((r = PQgetResult(c)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        int bad = st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE;
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else if (bad || !keep || st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            PQclear(keep);
            keep = r;
        } else {
            PQclear(r);
        }
        if (PQstatus(c) == CONNECTION_BAD) break;
    }
    return keep;
}

int pgs_query(pg_store *s, const char *sql, int nparams, const char *const *params,
              PGresult **res, const char *doing, char *err)
{
    if (res) *res = NULL;
    if (!s->conn || s->broken) return pgs_fail(s, NULL, doing, err);
    int ok = nparams > 0 ? PQsendQueryParams(s->conn, sql, nparams, NULL, params, NULL,
                                             NULL, 0)
                         : PQsendQuery(s->conn, sql);
    if (!ok) return pgs_fail(s, NULL, doing, err);
    int cancelled = 0;
    PGresult *r = wait_results(s, &cancelled);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (!r || (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)) {
        int rc = pgs_fail(s, r, doing, err);
        if (cancelled && rc != STORE_EIO) {
            rc = STORE_EINTERRUPTED;
            errf(err, "%s: interrupted", doing);
        }
        PQclear(r);
        return rc;
    }
    if (res) *res = r;
    else PQclear(r);
    return STORE_OK;
}

int pgs_exec(pg_store *s, const char *sql, const char *doing, char *err)
{
    return pgs_query(s, sql, 0, NULL, NULL, doing, err);
}

/* ---- the connection ---- */

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Connect and set the session up; on failure s->conn is NULL. */
static int connect_once(pg_store *s, char *err)
{
    char why[200];
    if (s->conn) PQfinish(s->conn);
    /* A connection attempt waits at most about the busy timeout (unless
    ** the conninfo or PGCONNECT_TIMEOUT says otherwise: later values win). */
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d",
             s->busy_timeout_ms / 1000 > 2 ? s->busy_timeout_ms / 1000 : 2);
    const char *env = getenv("PGCONNECT_TIMEOUT");
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {env && *env ? env : timeout, s->conninfo, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn) {
        errf(err, "cannot connect to PostgreSQL: out of memory");
        return STORE_ENOMEM;
    }
    set_where(s);
    /* stdout carries only protocol messages, and the server's notices
    ** ("already exists, skipping") are no diagnostics worth stderr. */
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        conn_message(s, why, sizeof why);
        errf(err, "cannot connect to %s: %s", s->where, why);
        PQfinish(s->conn);
        s->conn = NULL;
        return STORE_EIO;
    }
    /* Commits wait for the disk; results come back as text in known forms
    ** (bytea as hex); lock waits end at the busy timeout. */
    char setup[512];
    snprintf(setup, sizeof setup,
             "SET synchronous_commit = on; SET application_name = 'dss-audit-mcp';"
             " SET client_encoding = 'UTF8'; SET standard_conforming_strings = on;"
             " SET bytea_output = 'hex'; SET lock_timeout = %d;%s",
             s->busy_timeout_ms,
             s->readonly ? " SET default_transaction_read_only = on;" : "");
    s->broken = 0;
    int rc = pgs_exec(s, setup, "setting the session up", err);
    if (rc != STORE_OK) {
        PQfinish(s->conn);
        s->conn = NULL;
        s->broken = 1;
    }
    return rc;
}

/* Get the connection back after it was lost, trying again with back-off
** (50 ms doubling to 5 s) but never waiting longer than the busy timeout
** in one call. */
static int reconnect(pg_store *s, char *err)
{
    int64_t deadline = mono_ms() + s->busy_timeout_ms;
    for (;;) {
        int64_t now = mono_ms();
        if (now < s->retry_at_ms) {
            if (s->retry_at_ms > deadline) {
                snprintf(err, STORE_ERRLEN,
                         "lost the connection to %s; trying again in %lld ms", s->where,
                         (long long)(s->retry_at_ms - now));
                return STORE_EIO;
            }
            sleep_ms(s->retry_at_ms - now);
        }
        int rc = connect_once(s, err);
        if (rc == STORE_OK) {
            s->retry_ms = 50;
            s->retry_at_ms = 0;
            s->nmonths = 0;
            return STORE_OK;
        }
        s->retry_at_ms = mono_ms() + s->retry_ms;
        s->retry_ms = s->retry_ms * 2 > 5000 ? 5000 : s->retry_ms * 2;
    }
}

int pgs_ready(pg_store *s, char *err)
{
    if (s->broken || !s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        s->broken = 1;
        if (s->in_tx) {
            s->lost_tx = s->tx_id;
            tx_reset(s);
        }
        int rc = reconnect(s, err);
        if (rc != STORE_OK) return rc;
    }
    return s->in_tx ? pgs_flush(s, err) : STORE_OK;
}

/* ---- buffered appends ---- */

static const char insert_head[] =
    "INSERT INTO dss_audit.entries (seq, id, event_type, operation_name,"
    " operation_id, user_id, project_id, args, result, error, before_state,"
    " after_state, created_at, client, server, session_id, duration_ms,"
    " completes, cwd, prev_hash, hash, log_id) VALUES ";

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
    if (!s->in_tx) return STORE_OK;
    sbuf b = {0};
    size_t total = flush_text(s, &b, 1);
    if (b.oom) {
        free(b.p);
        errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    if (!b.len) return STORE_OK;
    int rc = pgs_exec(s, b.p, "writing the entries", err);
    free(b.p);
    if (rc != STORE_OK) {
        /* A batch failing half way leaves savepoints in doubt: give the
        ** whole transaction up rather than guess. */
        tx_lost(s);
        return rc;
    }
    for (int i = 0; i < s->nmarks; i++) s->marks[i].sent = 1;
    buffer_clear(s, total);
    return STORE_OK;
}

/* Add one row "(...)," to the buffer. */
static int buffer_row(pg_store *s, const chain_fields *f, const uint8_t prev[32],
                      const uint8_t hash[32], const char *log_id, char *err)
{
    sbuf b = {.p = s->buf, .len = s->buf_len, .cap = s->buf_cap};
    size_t start = b.len;
    const char *texts1[] = {f->id, f->event_type, f->operation_name, f->operation_id,
                            f->user_id, f->project_id, f->args, f->result, f->error,
                            f->before_state, f->after_state, f->created_at, f->client,
                            f->server, f->session_id};
    sb_puts(&b, "(");
    sb_int(&b, f->seq);
    for (size_t i = 0; i < sizeof texts1 / sizeof *texts1; i++) {
        sb_puts(&b, ",");
        sb_lit(&b, texts1[i]);
    }
    sb_puts(&b, ",");
    if (f->duration_ms) sb_puts(&b, f->duration_ms); /* checked decimal digits */
    else sb_puts(&b, "NULL");
    sb_puts(&b, ",");
    sb_lit(&b, f->completes);
    sb_puts(&b, ",");
    sb_lit(&b, f->cwd);
    sb_puts(&b, ",");
    sb_bytea(&b, prev, 32);
    sb_puts(&b, ",");
    sb_bytea(&b, hash, 32);
    sb_puts(&b, ",");
    sb_lit(&b, log_id);
    sb_puts(&b, "),");
    s->buf = b.p;
    s->buf_cap = b.cap;
    if (b.oom) {
        errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    if (s->rows_buf == s->rows_cap) {
        size_t cap = s->rows_cap ? s->rows_cap * 2 : 256;
        size_t *p = realloc(s->row_off, cap * sizeof *p);
        if (!p) {
            errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        s->row_off = p;
        s->rows_cap = cap;
    }
    s->row_off[s->rows_buf++] = start;
    s->buf_len = b.len;
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

/* ---- open and close ---- */

static void copy_log(PGresult *r, int row, store_log *out)
{
    snprintf(out->log_id, sizeof out->log_id, "%s", PQgetvalue(r, row, 0));
    snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, row, 1));
    snprintf(out->public_key, sizeof out->public_key, "%s", PQgetvalue(r, row, 2));
}

static void select_log(pg_store *s, const char *id, const char *name)
{
    snprintf(s->sel_id, sizeof s->sel_id, "%s", id);
    snprintf(s->sel_name, sizeof s->sel_name, "%s", name);
}

/* The log whose id, or else whose name, is `log`: STORE_ENOTFOUND when
** none, STORE_EINVAL naming both when two logs share the name. */
static int find_log(pg_store *s, const char *log, store_log *out, char *err)
{
    PGresult *r = NULL;
    const char *p[1] = {log};
    int rc = pgs_query(s,
                       "SELECT log_id, name, coalesce(public_key, '') FROM dss_audit.logs"
                       " WHERE log_id = $1 OR name = $1"
                       " ORDER BY log_id = $1 DESC, log_id LIMIT 3",
                       1, p, &r, "looking the log up", err);
    if (rc != STORE_OK) return rc;
    int n = PQntuples(r);
    if (n == 0) {
        errf(err, "no log with the id or name \"%.*s\" in %s", 100, log,
                 s->where);
        rc = STORE_ENOTFOUND;
    } else if (strcmp(PQgetvalue(r, 0, 0), log) != 0 && n > 1) {
        snprintf(err, STORE_ERRLEN,
                 "two logs are named \"%.*s\" (%s and %s): name one by its log_id", 60, log,
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 1, 0));
        rc = STORE_EINVAL;
    } else {
        copy_log(r, 0, out);
    }
    PQclear(r);
    return rc;
}

/* Find or create the log named `name` as the own log.  The advisory lock
** on the name makes two servers creating one name together make one log. */
static int own_log(pg_store *s, const char *name, char *err)
{
    store_log l;
    char id[37], now[TS_BUFLEN];
    int rc = pgs_exec(s, "BEGIN", "creating the log", err);
    if (rc != STORE_OK) return rc;
    const char *p1[1] = {name};
    rc = pgs_query(s, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, p1, NULL,
                   "locking the log's name", err);
    if (rc == STORE_OK) {
        rc = find_log(s, name, &l, err);
        if (rc == STORE_OK && strcmp(l.name, name) != 0) rc = STORE_ENOTFOUND; /* an id */
    }
    if (rc == STORE_ENOTFOUND) {
        random_uuid(id);
        ts_format(ts_now_us(), now);
        const char *p[3] = {id, name, now};
        rc = pgs_query(s,
                       "INSERT INTO dss_audit.logs (log_id, name, created_at)"
                       " VALUES ($1, $2, $3)",
                       3, p, NULL, "creating the log", err);
        snprintf(l.log_id, sizeof l.log_id, "%s", id);
        snprintf(l.name, sizeof l.name, "%s", name);
    }
    if (rc == STORE_OK) rc = pgs_exec(s, "COMMIT", "creating the log", err);
    if (rc != STORE_OK) {
        char ignored[STORE_ERRLEN];
        if (!s->broken) pgs_exec(s, "ROLLBACK", "rolling back", ignored);
        return rc;
    }
    snprintf(s->own_id, sizeof s->own_id, "%s", l.log_id);
    snprintf(s->own_name, sizeof s->own_name, "%s", l.name);
    select_log(s, s->own_id, s->own_name);
    return STORE_OK;
}

/* A read-only store without a name selects the only log, if only one. */
static int only_log(pg_store *s, char *err)
{
    PGresult *r = NULL;
    int rc = pgs_query(s,
                       "SELECT log_id, name, coalesce(public_key, '') FROM dss_audit.logs"
                       " ORDER BY log_id LIMIT 2",
                       0, NULL, &r, "listing the logs", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 1) {
        store_log l;
        copy_log(r, 0, &l);
        select_log(s, l.log_id, l.name);
    }
    PQclear(r);
    return STORE_OK;
}

int pg_store_open(const store_options *opt, pg_store **out, char *err)
{
    *out = NULL;
    int rc = STORE_OK;
    pg_store *s = calloc(1, sizeof *s);
    if (!s || !(s->conninfo = strdup(opt->path))) {
        errf(err, "out of memory");
        rc = STORE_ENOMEM;
        goto fail;
    }
    snprintf(s->where, sizeof s->where, "PostgreSQL");
    s->readonly = opt->readonly;
    s->busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 10000;
    s->retry_ms = 50;
    /* A string libpq cannot parse is not quoted back: its message may
    ** hold any part of it, the password included. */
    char *perr = NULL;
    PQconninfoOption *parsed = PQconninfoParse(opt->path, &perr);
    PQfreemem(perr);
    if (!parsed) {
        snprintf(err, STORE_ERRLEN,
                 "the PostgreSQL connection string is not valid (see libpq's"
                 " connection strings: a postgres:// URI or key=value pairs)");
        rc = STORE_EINVAL;
        goto fail;
    }
    PQconninfoFree(parsed);
    if (sodium_init() < 0) {
        errf(err, "libsodium could not start");
        rc = STORE_EIO;
        goto fail;
    }
    rc = connect_once(s, err);
    if (rc != STORE_OK) goto fail;
    rc = pgs_migrate(s, err);
    if (rc != STORE_OK) goto fail;

    const char *name = opt->log_name;
    char host[STORE_LOG_NAME_MAX];
    if (!name && !s->readonly) {
        if (gethostname(host, sizeof host) != 0 || !host[0]) snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        name = host;
    }
    if (name && (!name[0] || strlen(name) >= STORE_LOG_NAME_MAX)) {
        errf(err, "a log's name must have 1 to %d bytes",
                 STORE_LOG_NAME_MAX - 1);
        rc = STORE_EINVAL;
        goto fail;
    }
    if (!s->readonly) {
        rc = own_log(s, name, err);
    } else if (name) {
        /* Read-only: the named log must exist (nothing creates it here). */
        store_log l;
        rc = find_log(s, name, &l, err);
        if (rc == STORE_OK) {
            snprintf(s->own_id, sizeof s->own_id, "%s", l.log_id);
            snprintf(s->own_name, sizeof s->own_name, "%s", l.name);
            select_log(s, l.log_id, l.name);
        }
    } else {
        rc = only_log(s, err);
    }
    if (rc != STORE_OK) goto fail;
    *out = s;
    return STORE_OK;
fail:
    pg_store_close(s);
    return rc;
}

void pg_store_close(pg_store *s)
{
    if (!s) return;
    if (s->in_tx && s->conn && !s->broken) {
        PGresult *r = PQexec(s->conn, "ROLLBACK");
        PQclear(r);
    }
    if (s->conn) PQfinish(s->conn);
    if (s->conninfo) {
        sodium_memzero(s->conninfo, strlen(s->conninfo));
        free(s->conninfo);
    }
    free(s->buf);
    free(s->row_off);
    free(s);
}

void pg_store_set_interrupt(pg_store *s, int (*fn)(void *ctx), void *ctx)
{
    s->interrupt = fn;
    s->interrupt_ctx = fn ? ctx : NULL;
}

int pg_store_readonly(const pg_store *s) { return s->readonly; }

const char *pg_store_log_id(const pg_store *s) { return s->sel_id; }

const char *pg_store_log_name(const pg_store *s) { return s->sel_name; }

int pgs_need_log(pg_store *s, char *err)
{
    if (s->sel_id[0]) return STORE_OK;
    snprintf(err, STORE_ERRLEN,
             "no log is selected in %s: name one (--log NAME or its log_id)", s->where);
    return STORE_EINVAL;
}

/* ---- logs ---- */

int pg_store_each_log(pg_store *s, store_log_fn fn, void *ctx, char *err)
{
    int rc = pgs_ready(s, err);
    if (rc != STORE_OK) return rc;
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT log_id, name, coalesce(public_key, '') FROM dss_audit.logs"
                   " ORDER BY log_id",
                   0, NULL, &r, "listing the logs", err);
    if (rc != STORE_OK) return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        store_log l;
        copy_log(r, i, &l);
        if (fn(ctx, &l) != 0) break;
    }
    PQclear(r);
    return STORE_OK;
}

int pg_store_use_log(pg_store *s, const char *log, char *err)
{
    if (!log) {
        select_log(s, s->own_id, s->own_name);
        return STORE_OK;
    }
    int rc = pgs_ready(s, err);
    if (rc != STORE_OK) return rc;
    store_log l;
    rc = find_log(s, log, &l, err);
    if (rc == STORE_OK) select_log(s, l.log_id, l.name);
    return rc;
}

/* Compare the recorded key with pk: STORE_EINVAL naming both when another. */
static int key_matches(pg_store *s, const char *recorded, const char *pk, char *err)
{
    if (!recorded[0] || !strcmp(recorded, pk)) return STORE_OK;
    snprintf(err, STORE_ERRLEN,
             "log %s is recorded with the signing key %.64s, not %.64s", s->sel_id, recorded,
             pk);
    return STORE_EINVAL;
}

int pg_store_record_log_key(pg_store *s, const char *pk, char *err)
{
    int rc = pgs_need_log(s, err);
    if (rc == STORE_OK) rc = pgs_ready(s, err);
    if (rc != STORE_OK) return rc;
    const char *p[2] = {s->sel_id, pk};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "WITH u AS (UPDATE dss_audit.logs SET public_key = $2"
                   "  WHERE log_id = $1 AND public_key IS NULL RETURNING public_key)"
                   " SELECT coalesce((SELECT public_key FROM u),"
                   "  (SELECT public_key FROM dss_audit.logs WHERE log_id = $1), '')",
                   2, p, &r, "recording the log's signing key", err);
    if (rc != STORE_OK) return rc;
    rc = key_matches(s, PQgetvalue(r, 0, 0), pk, err);
    PQclear(r);
    return rc;
}

int pg_store_ensure_log(pg_store *s, const store_log *log, char *err)
{
    int rc = pgs_ready(s, err);
    if (rc != STORE_OK) return rc;
    if (!log->log_id[0] || !log->name[0]) {
        errf(err, "a log needs an id and a name");
        return STORE_EINVAL;
    }
    char now[TS_BUFLEN];
    ts_format(ts_now_us(), now);
    const char *p[4] = {log->log_id, log->name, log->public_key, now};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "WITH i AS (INSERT INTO dss_audit.logs (log_id, name, public_key, created_at)"
                   "  VALUES ($1, $2, NULLIF($3, ''), $4) ON CONFLICT (log_id) DO NOTHING"
                   "  RETURNING name, coalesce(public_key, ''))"
                   " SELECT * FROM i UNION ALL"
                   " SELECT name, coalesce(public_key, '') FROM dss_audit.logs WHERE log_id = $1",
                   4, p, &r, "creating the shipped log", err);
    if (rc != STORE_OK) return rc;
    store_log got;
    snprintf(got.log_id, sizeof got.log_id, "%s", log->log_id);
    snprintf(got.name, sizeof got.name, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : log->name);
    snprintf(got.public_key, sizeof got.public_key, "%s",
             PQntuples(r) ? PQgetvalue(r, 0, 1) : "");
    PQclear(r);
    select_log(s, got.log_id, got.name);
    if (log->public_key[0]) {
        if (got.public_key[0]) return key_matches(s, got.public_key, log->public_key, err);
        return pg_store_record_log_key(s, log->public_key, err);
    }
    return STORE_OK;
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

int pg_store_begin(pg_store *s, char *err)
{
    if (s->in_tx) {
        errf(err, "a transaction is already open");
        return STORE_EINVAL;
    }
    if (s->readonly) {
        snprintf(err, STORE_ERRLEN,
                 "the audit log is open read-only; no entry can be written");
        return STORE_EREADONLY;
    }
    if (!s->own_id[0]) {
        errf(err, "this store has no log of its own to write to");
        return STORE_EINVAL;
    }
    int rc = lock_own_head(s, err);
    if (rc == STORE_EIO && s->broken) {
        /* The connection died while idle (a restart, an idle timeout):
        ** nothing was lost, so connect again and retry once. */
        rc = lock_own_head(s, err);
    }
    if (rc != STORE_OK) return rc;
    s->head_at_begin = s->head;
    s->in_tx = 1;
    s->tx_id++;
    s->tx_writes = 0;
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
        errf(err, "the log %s is missing from %s", s->own_id, s->where);
        rc = STORE_ESCHEMA;
    }
    PQclear(r);
    if (rc != STORE_OK && s->conn && !s->broken) PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

int pg_store_commit(pg_store *s, char *err)
{
    if (!s->in_tx) {
        errf(err, "no transaction is open");
        return STORE_EINVAL;
    }
    if (s->broken) {
        int rc = pgs_fail(s, NULL, "committing", err);
        return rc;
    }
    /* One round trip: the rows still buffered, the head, COMMIT. */
    sbuf b = {0};
    flush_text(s, &b, 0);
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
        errf(err, "out of memory");
        rc = STORE_ENOMEM;
    } else {
        /* No savepoint can save a failing commit: a failure loses all. */
        s->nmarks = 0;
        rc = pgs_exec(s, b.p, "committing", err);
    }
    free(b.p);
    if (rc != STORE_OK) {
        if (s->in_tx) {
            if (s->conn && !s->broken) PQclear(PQexec(s->conn, "ROLLBACK"));
            tx_reset(s);
            s->nmonths = 0;
        }
        return rc;
    }
    tx_reset(s);
    return STORE_OK;
}

void pg_store_rollback(pg_store *s)
{
    if (!s->in_tx) return;
    if (s->conn && !s->broken) PQclear(PQexec(s->conn, "ROLLBACK"));
    tx_reset(s);
    s->nmonths = 0;
}

int pg_store_in_transaction(const pg_store *s) { return s->in_tx; }

int64_t pg_store_tx(const pg_store *s) { return s->in_tx ? s->tx_id : 0; }

int pg_store_tx_has_writes(const pg_store *s) { return s->in_tx && s->tx_writes > 0; }

int64_t pg_store_take_lost_tx(pg_store *s)
{
    int64_t lost = s->lost_tx;
    s->lost_tx = 0;
    return lost;
}

int pg_store_idle(pg_store *s, char *err)
{
    /* Nothing waits for upkeep here: the server does its own (autovacuum). */
    (void)s;
    (void)err;
    return STORE_OK;
}

int pg_store_savepoint(pg_store *s, char *err)
{
    if (!s->in_tx) {
        errf(err, "no transaction is open");
        return STORE_EINVAL;
    }
    if (s->nmarks == PG_MAX_MARKS) {
        errf(err, "more than %d savepoints are nested", PG_MAX_MARKS);
        return STORE_EINVAL;
    }
    pg_mark *m = &s->marks[s->nmarks++];
    m->rows = s->rows_flushed + s->rows_buf;
    m->head = s->head;
    m->sent = 0;
    m->writes = s->tx_writes;
    return STORE_OK;
}

void pg_store_savepoint_release(pg_store *s)
{
    if (!s->in_tx || s->nmarks <= 0) return;
    /* Lazy: a savepoint the server knows stays until the commit, which
    ** ends it; a later one of the same name shadows it, and rolling back
    ** to that name reaches the newest, as it must. */
    s->nmarks--;
}

void pg_store_savepoint_rollback(pg_store *s)
{
    if (!s->in_tx || s->nmarks <= 0) return;
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
        if (!s->in_tx) return; /* lost: nothing more to undo */
        s->nmarks--;
        if (rc != STORE_OK) {
            tx_lost(s);
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
    s->tx_writes = m.writes;
}

/* ---- appends ---- */

int pg_store_append(pg_store *s, const store_record *rec, store_receipt *out, char *err)
{
    if (!s->in_tx) {
        errf(err, "append outside a transaction");
        return STORE_EINVAL;
    }
    int64_t now = ts_now_us();
    uuid7_next(now / 1000, out->id);
    out->seq = s->head.seq + 1;
    ts_format(now, out->created_at);
    char month[8];
    snprintf(month, sizeof month, "%.7s", out->created_at);
    int known = 0;
    for (int i = 0; i < s->nmonths; i++) known |= !strcmp(s->months[i], month);
    if (!known) {
        /* A transaction that outlived the months begin() prepared. */
        int rc = pgs_flush(s, err);
        if (rc == STORE_OK) rc = pgs_ensure_month(s, month, err);
        if (rc != STORE_OK) return rc;
    }
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
    /* Hashed as the decimal text the bigint column gives back. */
    char duration[24];
    if (rec->has_duration) {
        snprintf(duration, sizeof duration, "%lld", (long long)rec->duration_ms);
        f.duration_ms = duration;
    }
    uint8_t hash[CHAIN_HASH_BYTES];
    chain_entry_hash(&f, s->head.hash, hash);
    chain_hex(hash, out->hash);
    int rc = buffer_row(s, &f, s->head.hash, hash, s->own_id, err);
    if (rc != STORE_OK) return rc;
    s->head.seq = out->seq;
    memcpy(s->head.hash, hash, CHAIN_HASH_BYTES);
    snprintf(s->head.created_at, sizeof s->head.created_at, "%s", out->created_at);
    s->tx_writes++;
    /* Keep one statement's text moderate: send a long batch early. */
    if (s->buf_len > (4u << 20)) return pgs_flush(s, err);
    return STORE_OK;
}

/* ---- reading entries and the chain ---- */

static const char *opt_value(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

void pgs_row_to_raw(const PGresult *r, int row, int col, store_raw_entry *e)
{
    int c = col;
    e->f = (chain_fields){
        .seq = strtoll(PQgetvalue(r, row, c), NULL, 10), .id = opt_value(r, row, c + 1),
        .event_type = opt_value(r, row, c + 2), .operation_name = opt_value(r, row, c + 3),
        .operation_id = opt_value(r, row, c + 4), .user_id = opt_value(r, row, c + 5),
        .project_id = opt_value(r, row, c + 6), .args = opt_value(r, row, c + 7),
        .result = opt_value(r, row, c + 8), .error = opt_value(r, row, c + 9),
        .before_state = opt_value(r, row, c + 10), .after_state = opt_value(r, row, c + 11),
        .created_at = opt_value(r, row, c + 12), .client = opt_value(r, row, c + 13),
        .server = opt_value(r, row, c + 14), .session_id = opt_value(r, row, c + 15),
        .duration_ms = opt_value(r, row, c + 16), .completes = opt_value(r, row, c + 17),
        .cwd = opt_value(r, row, c + 18),
    };
    int a = pgs_bytea(PQgetvalue(r, row, c + 19), e->prev_hash, CHAIN_HASH_BYTES);
    int b = pgs_bytea(PQgetvalue(r, row, c + 20), e->hash, CHAIN_HASH_BYTES);
    e->hashes_ok = a && b;
}

/* Ready, with a log selected. */
static int ready_log(pg_store *s, char *err)
{
    int rc = pgs_need_log(s, err);
    return rc == STORE_OK ? pgs_ready(s, err) : rc;
}

static void i64_text(int64_t v, char out[24]) { snprintf(out, 24, "%lld", (long long)v); }

static void copy_checkpoint(const PGresult *r, int row, store_checkpoint *cp)
{
    cp->number = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    snprintf(cp->kind, sizeof cp->kind, "%s", PQgetvalue(r, row, 1));
    snprintf(cp->log_id, sizeof cp->log_id, "%s", PQgetvalue(r, row, 2));
    cp->seq = strtoll(PQgetvalue(r, row, 3), NULL, 10);
    snprintf(cp->head_hash, sizeof cp->head_hash, "%s", PQgetvalue(r, row, 4));
    snprintf(cp->created_at, sizeof cp->created_at, "%s", PQgetvalue(r, row, 5));
    snprintf(cp->prev_checkpoint_hash, sizeof cp->prev_checkpoint_hash, "%s",
             PQgetvalue(r, row, 6));
    snprintf(cp->public_key, sizeof cp->public_key, "%s", PQgetvalue(r, row, 7));
    snprintf(cp->signature, sizeof cp->signature, "%s", PQgetvalue(r, row, 8));
}

#define CHECKPOINT_COLUMNS                                                  \
    "number, kind, log_id, seq, head_hash, created_at, prev_checkpoint_hash," \
    " public_key, signature"

static int one_checkpoint(pg_store *s, const char *sql, store_checkpoint *out,
                          const char *doing, char *err)
{
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    const char *p[1] = {s->sel_id};
    PGresult *r = NULL;
    rc = pgs_query(s, sql, 1, p, &r, doing, err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 0) {
        errf(err, "log %s has no checkpoint", s->sel_id);
        rc = STORE_ENOTFOUND;
    } else {
        copy_checkpoint(r, 0, out);
    }
    PQclear(r);
    return rc;
}

int pg_store_last_checkpoint(pg_store *s, store_checkpoint *out, char *err)
{
    return one_checkpoint(s,
                          "SELECT " CHECKPOINT_COLUMNS " FROM dss_audit.checkpoints"
                          " WHERE log_id = $1 ORDER BY number DESC LIMIT 1",
                          out, "reading the last checkpoint", err);
}

int pg_store_last_anchor(pg_store *s, store_checkpoint *out, char *err)
{
    return one_checkpoint(s,
                          "SELECT " CHECKPOINT_COLUMNS " FROM dss_audit.checkpoints"
                          " WHERE log_id = $1 AND kind = 'anchor'"
                          " ORDER BY number DESC LIMIT 1",
                          out, "reading the retention anchor", err);
}

int pg_store_head(pg_store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    *seq = 0;
    uint8_t h[CHAIN_HASH_BYTES] = {0};
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    const char *p[1] = {s->sel_id};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT seq, hash FROM dss_audit.entries WHERE log_id = $1"
                   " ORDER BY seq DESC LIMIT 1",
                   1, p, &r, "reading the chain head", err);
    if (rc != STORE_OK) return rc;
    int found = PQntuples(r) == 1;
    if (found) {
        *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        pgs_bytea(PQgetvalue(r, 0, 1), h, CHAIN_HASH_BYTES);
    }
    PQclear(r);
    if (!found) {
        /* Retention removed every entry: the chain continues from its anchor. */
        store_checkpoint a;
        rc = pg_store_last_anchor(s, &a, err);
        if (rc == STORE_OK) {
            *seq = a.seq;
            snprintf(hash, CHAIN_HEX_LEN, "%s", a.head_hash);
            return STORE_OK;
        }
        if (rc != STORE_ENOTFOUND) return rc;
    }
    chain_hex(h, hash);
    return STORE_OK;
}

int pg_store_hash_at(pg_store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char n[24];
    i64_text(seq, n);
    const char *p[2] = {s->sel_id, n};
    PGresult *r = NULL;
    rc = pgs_query(s, "SELECT hash FROM dss_audit.entries WHERE log_id = $1 AND seq = $2",
                   2, p, &r, "reading an entry's hash", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 0) {
        errf(err, "log %s has no entry %lld", s->sel_id, (long long)seq);
        rc = STORE_ENOTFOUND;
    } else {
        uint8_t h[CHAIN_HASH_BYTES];
        pgs_bytea(PQgetvalue(r, 0, 0), h, CHAIN_HASH_BYTES);
        chain_hex(h, hash);
    }
    PQclear(r);
    return rc;
}

int pg_store_find_hash(pg_store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq,
                       char *err)
{
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char h[2 * CHAIN_HASH_BYTES + 4];
    pgs_bytea_text(hash, CHAIN_HASH_BYTES, h);
    const char *p[2] = {s->sel_id, h};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT seq FROM dss_audit.entries WHERE log_id = $1 AND hash = $2::bytea"
                   " ORDER BY seq LIMIT 1",
                   2, p, &r, "looking for a hash", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 0) {
        errf(err, "no entry of log %s has that hash", s->sel_id);
        rc = STORE_ENOTFOUND;
    } else {
        *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    return rc;
}

/* The selected log's head row, locked for this transaction; its own log
** is locked already and its head is the in-memory one. */
static int lock_head(pg_store *s, pg_head *h, char *err)
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
        errf(err, "the log %s is missing from %s", s->sel_id, s->where);
        rc = STORE_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

static int need_tx(pg_store *s, const char *what, char *err)
{
    if (s->in_tx) return STORE_OK;
    errf(err, "%s outside a transaction", what);
    return STORE_EINVAL;
}

int pg_store_add_checkpoint(pg_store *s, store_checkpoint *cp, char *err)
{
    int rc = need_tx(s, "a checkpoint", err);
    if (rc == STORE_OK) rc = ready_log(s, err);
    pg_head h;
    /* Numbers per log come from max + 1 under the log's head lock. */
    if (rc == STORE_OK) rc = lock_head(s, &h, err);
    if (rc != STORE_OK) return rc;
    snprintf(cp->log_id, sizeof cp->log_id, "%s", s->sel_id);
    char seq[24];
    i64_text(cp->seq, seq);
    const char *p[8] = {s->sel_id, cp->kind, seq, cp->head_hash, cp->created_at,
                        cp->prev_checkpoint_hash, cp->public_key, cp->signature};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "INSERT INTO dss_audit.checkpoints (" CHECKPOINT_COLUMNS ")"
                   " SELECT coalesce(max(number), 0) + 1, $2, $1, $3, $4, $5, $6, $7, $8"
                   " FROM dss_audit.checkpoints WHERE log_id = $1 RETURNING number",
                   8, p, &r, "writing the checkpoint", err);
    if (rc != STORE_OK) return rc;
    cp->number = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    s->tx_writes++;
    return STORE_OK;
}

int pg_store_each_checkpoint(pg_store *s, store_checkpoint_fn fn, void *ctx, char *err)
{
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    /* In chunks, so the callback may use the store between them. */
    int64_t after = 0;
    for (;;) {
        char n[24];
        i64_text(after, n);
        const char *p[2] = {s->sel_id, n};
        PGresult *r = NULL;
        rc = pgs_query(s,
                       "SELECT " CHECKPOINT_COLUMNS " FROM dss_audit.checkpoints"
                       " WHERE log_id = $1 AND number > $2 ORDER BY number LIMIT 1000",
                       2, p, &r, "reading the checkpoints", err);
        if (rc != STORE_OK) return rc;
        int rows = PQntuples(r), stop = 0;
        for (int i = 0; i < rows && !stop; i++) {
            store_checkpoint cp;
            copy_checkpoint(r, i, &cp);
            after = cp.number;
            stop = fn(ctx, &cp) != 0;
        }
        PQclear(r);
        if (stop || rows < 1000) return STORE_OK;
    }
}

int pg_store_each_entry(pg_store *s, int64_t from, store_entry_fn fn, void *ctx, char *err)
{
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    for (;;) {
        char n[24];
        i64_text(from, n);
        const char *p[2] = {s->sel_id, n};
        PGresult *r = NULL;
        rc = pgs_query(s,
                       "SELECT " PG_ENTRY_COLUMNS " FROM dss_audit.entries"
                       " WHERE log_id = $1 AND seq >= $2 ORDER BY seq LIMIT 1000",
                       2, p, &r, "reading entries", err);
        if (rc != STORE_OK) return rc;
        int rows = PQntuples(r), stop = 0;
        for (int i = 0; i < rows && !stop; i++) {
            store_raw_entry e;
            pgs_row_to_raw(r, i, 0, &e);
            from = e.f.seq + 1;
            stop = fn(ctx, &e) != 0;
        }
        PQclear(r);
        if (stop || rows < 1000) return STORE_OK;
    }
}

static int one_int64(pg_store *s, const char *sql, int64_t a, int64_t *out,
                     const char *doing, char *err)
{
    int rc = ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char n[24];
    i64_text(a, n);
    const char *p[2] = {s->sel_id, n};
    PGresult *r = NULL;
    rc = pgs_query(s, sql, 2, p, &r, doing, err);
    if (rc != STORE_OK) return rc;
    *out = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return STORE_OK;
}

int pg_store_seq_range(pg_store *s, int64_t *first, int64_t *last, char *err)
{
    *first = *last = 0;
    int rc = one_int64(s,
                       "SELECT seq FROM dss_audit.entries WHERE log_id = $1 AND $2::bigint = 0"
                       " ORDER BY seq LIMIT 1",
                       0, first, "reading the oldest entry", err);
    if (rc == STORE_OK)
        rc = one_int64(s,
                       "SELECT seq FROM dss_audit.entries WHERE log_id = $1 AND $2::bigint = 0"
                       " ORDER BY seq DESC LIMIT 1",
                       0, last, "reading the newest entry", err);
    return rc;
}

int pg_store_nth_newest_seq(pg_store *s, int64_t n, int64_t *seq, char *err)
{
    *seq = 0;
    if (n < 1) n = 1;
    int rc = one_int64(s,
                       "SELECT seq FROM dss_audit.entries WHERE log_id = $1"
                       " ORDER BY seq DESC OFFSET $2::bigint - 1 LIMIT 1",
                       n, seq, "finding the n-th newest entry", err);
    if (rc == STORE_OK && *seq == 0) {
        int64_t last;
        rc = pg_store_seq_range(s, seq, &last, err);
    }
    return rc;
}

/* ---- shipping another log in ---- */

/* Whether text is the decimal a bigint column gives back for it. */
static int canonical_int(const char *t)
{
    if (!t) return 1;
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    char back[24];
    snprintf(back, sizeof back, "%lld", v);
    return errno == 0 && *end == '\0' && !strcmp(back, t);
}

/* Whether text can be stored as it is: valid UTF-8 (what PostgreSQL takes). */
static int storable(const chain_fields *f)
{
    const char *t[] = {f->id, f->event_type, f->operation_name, f->operation_id, f->user_id,
                       f->project_id, f->args, f->result, f->error, f->before_state,
                       f->after_state, f->created_at, f->client, f->server, f->session_id,
                       f->completes, f->cwd};
    if (!f->id || !f->event_type || !f->operation_name || !f->args || !f->created_at)
        return 0;
    if (strlen(f->created_at) < 7) return 0;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const unsigned char *p = (const unsigned char *)t[i];
        while (p && *p) {
            int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
                  : (*p & 0xf8) == 0xf0 ? 3 : -1;
            if (n < 0) return 0;
            p++;
            for (int k = 0; k < n; k++, p++)
                if ((*p & 0xc0) != 0x80) return 0;
        }
    }
    return canonical_int(f->duration_ms);
}

int pg_store_import(pg_store *s, const store_raw_entry *e, size_t n, int64_t *stored,
                    int64_t *skipped, char *err)
{
    *stored = *skipped = 0;
    int rc = need_tx(s, "an import", err);
    if (rc == STORE_OK) rc = ready_log(s, err);
    pg_head h;
    if (rc == STORE_OK) rc = lock_head(s, &h, err);
    if (rc != STORE_OK || n == 0) return rc;

    /* Check the whole batch before storing anything. */
    size_t i = 0;
    for (size_t k = 1; k < n; k++) {
        if (e[k].f.seq != e[0].f.seq + (int64_t)k) {
            errf(err, "entry %lld does not follow entry %lld in the batch",
                     (long long)e[k].f.seq, (long long)e[k - 1].f.seq);
            return STORE_EINVAL;
        }
    }
    if (e[0].f.seq < 1) {
        errf(err, "entry %lld: seq starts at 1", (long long)e[0].f.seq);
        return STORE_EINVAL;
    }
    /* Entries up to the head must be the stored ones. */
    if (e[0].f.seq <= h.seq) {
        char a[24], b[24];
        int64_t upto = e[n - 1].f.seq < h.seq ? e[n - 1].f.seq : h.seq;
        i64_text(e[0].f.seq, a);
        i64_text(upto, b);
        const char *p[3] = {s->sel_id, a, b};
        PGresult *r = NULL;
        rc = pgs_query(s,
                       "SELECT seq, hash FROM dss_audit.entries WHERE log_id = $1"
                       " AND seq BETWEEN $2 AND $3 ORDER BY seq",
                       3, p, &r, "comparing the batch with the stored entries", err);
        if (rc != STORE_OK) return rc;
        int rows = PQntuples(r), row = 0;
        for (; i < n && e[i].f.seq <= h.seq; i++) {
            uint8_t got[CHAIN_HASH_BYTES];
            while (row < rows && strtoll(PQgetvalue(r, row, 0), NULL, 10) < e[i].f.seq) row++;
            int here = row < rows && strtoll(PQgetvalue(r, row, 0), NULL, 10) == e[i].f.seq;
            /* An entry retention removed cannot be compared: skipped. */
            if (here && (!pgs_bytea(PQgetvalue(r, row, 1), got, CHAIN_HASH_BYTES) ||
                         memcmp(got, e[i].hash, CHAIN_HASH_BYTES) != 0 ||
                         !chain_entry_matches(&e[i].f, e[i].f.seq, e[i].prev_hash,
                                              e[i].hash))) {
                snprintf(err, STORE_ERRLEN,
                         "entry %lld differs from the one stored in log %s",
                         (long long)e[i].f.seq, s->sel_id);
                PQclear(r);
                return STORE_EINVAL;
            }
        }
        PQclear(r);
    }
    *skipped = (int64_t)i;
    uint8_t prev[CHAIN_HASH_BYTES];
    memcpy(prev, h.hash, CHAIN_HASH_BYTES);
    for (size_t k = i; k < n; k++) {
        const store_raw_entry *x = &e[k];
        const char *why = NULL;
        if (x->f.seq != h.seq + 1 + (int64_t)(k - i)) why = "leaves a gap after the head";
        else if (!x->hashes_ok) why = "has no valid hashes";
        else if (memcmp(x->prev_hash, prev, CHAIN_HASH_BYTES) != 0)
            why = "does not link to the previous entry's hash";
        else if (!chain_entry_matches(&x->f, x->f.seq, prev, x->hash))
            why = "does not match its hash";
        else if (!storable(&x->f)) why = "has a field that cannot be stored as it is";
        if (why) {
            errf(err, "entry %lld of log %s %s; nothing of the batch was"
                     " stored", (long long)x->f.seq, s->sel_id, why);
            return STORE_EINVAL;
        }
        memcpy(prev, x->hash, CHAIN_HASH_BYTES);
    }
    if (i == n) return STORE_OK;

    /* Months first (their partitions), then the rows in statements of at
    ** most 1,000 rows. */
    for (size_t k = i; k < n; k++) {
        char m[8];
        snprintf(m, sizeof m, "%.7s", e[k].f.created_at);
        rc = pgs_ensure_month(s, m, err);
        if (rc != STORE_OK) return rc;
    }
    int own = !strcmp(s->sel_id, s->own_id);
    size_t k = i;
    while (k < n) {
        sbuf b = {0};
        sb_puts(&b, insert_head);
        size_t end = k + 1000 < n ? k + 1000 : n;
        for (size_t j = k; j < end; j++) {
            pg_store tmp = {0};
            char e2[STORE_ERRLEN];
            if (buffer_row(&tmp, &e[j].f, e[j].prev_hash, e[j].hash, s->sel_id, e2) != STORE_OK)
                b.oom = 1;
            else sb_put(&b, tmp.buf, tmp.buf_len - (j + 1 == end ? 1 : 0));
            free(tmp.buf);
            free(tmp.row_off);
        }
        const store_raw_entry *last = &e[end - 1];
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
            errf(err, "out of memory");
            return STORE_ENOMEM;
        }
        rc = pgs_exec(s, b.p, "storing the shipped entries", err);
        free(b.p);
        if (rc != STORE_OK) return rc;
        k = end;
    }
    if (own) {
        const store_raw_entry *last = &e[n - 1];
        s->head.seq = last->f.seq;
        memcpy(s->head.hash, last->hash, CHAIN_HASH_BYTES);
        snprintf(s->head.created_at, sizeof s->head.created_at, "%s", last->f.created_at);
    }
    *stored = (int64_t)(n - i);
    s->tx_writes += *stored;
    return STORE_OK;
}

int pg_store_import_checkpoint(pg_store *s, const store_checkpoint *cp, int *stored, char *err)
{
    *stored = 0;
    int rc = need_tx(s, "an import", err);
    if (rc == STORE_OK) rc = ready_log(s, err);
    pg_head h;
    if (rc == STORE_OK) rc = lock_head(s, &h, err);
    if (rc != STORE_OK) return rc;
    char seq[24], num[24];
    i64_text(cp->seq, seq);
    i64_text(cp->number, num);
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
    const char *v[9] = {s->sel_id, num, cp->kind, seq, cp->head_hash, cp->created_at,
                        cp->prev_checkpoint_hash, cp->public_key, cp->signature};
    rc = pgs_query(s,
                   "INSERT INTO dss_audit.checkpoints (log_id, number, kind, seq, head_hash,"
                   " created_at, prev_checkpoint_hash, public_key, signature)"
                   " SELECT $1, CASE WHEN $2::bigint > 0 AND NOT EXISTS (SELECT 1 FROM"
                   "  dss_audit.checkpoints WHERE log_id = $1 AND number = $2::bigint)"
                   "  THEN $2::bigint ELSE (SELECT coalesce(max(number), 0) + 1 FROM"
                   "  dss_audit.checkpoints WHERE log_id = $1) END,"
                   " $3, $4, $5, $6, $7, $8, $9",
                   9, v, NULL, "storing the shipped checkpoint", err);
    if (rc != STORE_OK) return rc;
    *stored = 1;
    s->tx_writes++;
    return STORE_OK;
}
