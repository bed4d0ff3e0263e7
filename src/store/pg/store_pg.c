/*
** store_pg.c: the PostgreSQL backend's core: the connection (and getting
** it back after it was lost), running statements (prepared once per
** connection where they repeat), logs, opening, and the methods table
** (store_methods.h) the backend's files fill.
**
** The password: the conninfo is kept (to reconnect) but never printed;
** messages name the host and database from PQhost()/PQdb(), and any text
** from libpq is scrubbed of the password before it reaches a caller.
*/
#include "store_pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "../../util/utf8.h"

/* ---- small helpers ---- */

void pgs_errf(char *err, const char *fmt, ...)
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


/* libpq's message, one line, scrubbed. */
static void conn_message(const pg_store *s, char *out, size_t len)
{
    snprintf(out, len, "%s", s->conn ? PQerrorMessage(s->conn) : "no connection");
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = (p[1] ? ' ' : '\0');
    pgs_scrub_password(s->conninfo, out, len);
}

static void set_where(pg_store *s)
{
    const char *h = s->conn ? PQhost(s->conn) : NULL;
    const char *d = s->conn ? PQdb(s->conn) : NULL;
    snprintf(s->where, sizeof s->where, "PostgreSQL at %s, database %s",
             h && *h ? h : "(default host)", d && *d ? d : "(default)");
}


/* ---- the transaction's state ---- */

int64_t pgs_round_trips(store *st) { return pgs(st)->round_trips; }

void pgs_tx_reset(pg_store *s)
{
    s->base.in_tx = 0;
    s->tree.n = 0;
    s->nmarks = 0;
    s->tx_failed = 0;
    s->tx_fail_why[0] = '\0';
    s->import_pending = 0;
    pgs_rows_trim(&s->rows, 0);
    s->rows_flushed = 0;
}

/* ROLLBACK on a connection that is up, outside pipeline mode. */
static void send_rollback(pg_store *s)
{
    if (!s->conn || s->broken || PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) return;
    PQclear(PQexec(s->conn, "ROLLBACK"));
}

void pgs_tx_lost(pg_store *s)
{
    if (!s->base.in_tx) return;
    s->base.lost_tx = s->base.tx_id;
    send_rollback(s);
    s->plan_mode = -1; /* a SET in it was undone with it */
    pgs_tx_reset(s);
    s->nmonths = 0; /* partitions made in it went with it */
}

static int any_mark_sent(const pg_store *s)
{
    for (int i = 0; i < s->nmarks; i++)
        if (s->marks[i].sent) return 1;
    return 0;
}

/* The connection is gone: nothing in the air will answer. */
static void forget_air(pg_store *s)
{
    s->nair = 0;
    s->begin_air = 0;
    PQclear(s->lock_res);
    s->lock_res = NULL;
}

int pgs_fail(pg_store *s, const PGresult *r, const char *doing, char *err)
{
    char why[200];
    int code = STORE_EIO;
    if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
        conn_message(s, why, sizeof why);
        s->broken = 1;
        forget_air(s);
        if (s->base.in_tx && !s->tx_failed) {
            s->base.lost_tx = s->base.tx_id;
            pgs_tx_reset(s);
            s->nmonths = 0;
        }
        pgs_errf(err, "lost the connection to %s while %s: %s", s->where,
                 doing, why);
        return STORE_EIO;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg) snprintf(why, sizeof why, "%s", msg);
    else conn_message(s, why, sizeof why);
    pgs_scrub_password(s->conninfo, why, sizeof why);
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
    ** whole transaction is lost.  (A transaction whose begin failed holds
    ** nothing on the server: its reads run outside it.) */
    if (s->base.in_tx && !s->tx_failed && !any_mark_sent(s)) pgs_tx_lost(s);
    pgs_errf(err, "%s: %s", doing, why);
    return code;
}


/* Wait until PQgetResult() will not block, polling the interrupt callback
** and cancelling the statement running when it asks to stop (*cancelled
** set).  0, or -1 when the connection broke. */
static int wait_input(pg_store *s, int *cancelled)
{
    PGconn *c = s->conn;
    int sock = PQsocket(c);
    while (PQisBusy(c)) {
        struct pollfd p = {.fd = sock, .events = POLLIN};
        int n = poll(&p, 1, s->interrupt ? 50 : 1000);
        if (n < 0 && errno != EINTR) return -1;
        if (!PQconsumeInput(c)) return -1;
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
    return 0;
}

/* Wait for the results of the statement sent, polling the interrupt
** callback; returns the first error result or else the last one. */
PGresult *pgs_wait(pg_store *s, int *cancelled)
{
    PGconn *c = s->conn;
    PGresult *keep = NULL, *r;
    s->round_trips++;
    for (;;) {
        if (wait_input(s, cancelled) != 0) break;
        if ((r = PQgetResult(c)) == NULL) break;
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
        /* COPY waits for our data: its result is the last for now. */
        if (st == PGRES_COPY_IN || PQstatus(c) == CONNECTION_BAD) break;
    }
    return keep;
}


static int reconnect(pg_store *s, char *err);

/* ---- pipelines ----
**
** libpq's pipeline mode sends statements without waiting for the previous
** ones' results, so a group of them costs one round trip: a commit (rows,
** head, COMMIT), a read with the rows buffered before it, the first run of
** a prepared statement (PREPARE and EXECUTE).  store_begin() leaves its
** BEGIN and head lock in the air, so that the lock's round trip overlaps
** whatever the caller does next; the next statement's flight reads their
** results first.  What is sent is remembered (s->air) and read back in
** order: a statement's result and the NULL ending it, a sync's
** PGRES_PIPELINE_SYNC.  After an error, the server skips what follows up
** to the next sync (PGRES_PIPELINE_ABORTED), and an explicit transaction
** stays aborted beyond it. */

int pgs_is_prepared(const pg_store *s, int slot)
{
    return slot > 0 && slot < PG_PREP_SLOTS && ((s->prepared[slot / 8] >> (slot % 8)) & 1);
}

static int expect(pg_store *s, int kind, int part, int slot, PGresult **res, const char *doing)
{
    if (s->nair == s->air_cap) {
        size_t cap = s->air_cap ? s->air_cap * 2 : 32;
        pg_expect *a = realloc(s->air, cap * sizeof *a);
        if (!a) return -1;
        s->air = a;
        s->air_cap = cap;
    }
    s->air[s->nair++] = (pg_expect){(unsigned char)kind, (unsigned char)part, slot, res, doing};
    return 0;
}

/* A failure to hand something to libpq: the connection, or memory. */
static int send_failed(pg_store *s, const char *doing, char *err)
{
    if (PQstatus(s->conn) == CONNECTION_BAD) return pgs_fail(s, NULL, doing, err);
    char why[200];
    conn_message(s, why, sizeof why);
    pgs_errf(err, "%s: %s", doing, why);
    return STORE_ENOMEM;
}

static int send_sync(pg_store *s, int part, char *err)
{
    if (!PQpipelineSync(s->conn) || expect(s, PG_X_SYNC, part, 0, NULL, "syncing") != 0)
        return send_failed(s, "sending statements", err);
    return STORE_OK;
}

/* Send one statement (and its PREPARE when new), with the SET that gives
** it the plan_cache_mode it wants. */
static int send_stmt(pg_store *s, const pg_stmt *st, int part, char *err)
{
    PGconn *c = s->conn;
    if (st->plan != PG_PLAN_ANY && st->plan != s->plan_mode) {
        if (!PQsendQueryParams(c, st->plan == PG_PLAN_GENERIC
                                      ? "SET plan_cache_mode = force_generic_plan"
                                      : "SET plan_cache_mode = force_custom_plan",
                               0, NULL, NULL, NULL, NULL, 0) ||
            expect(s, PG_X_EXEC, part, 0, NULL, "choosing how statements are planned") != 0)
            return send_failed(s, st->doing, err);
        s->plan_mode = st->plan; /* a failure here loses the connection's state anyway */
    }
    if (st->slot <= 0) {
        if (!PQsendQueryParams(c, st->sql, st->nparams, NULL, st->values, st->lengths,
                               st->formats, 0) ||
            expect(s, PG_X_EXEC, part, 0, st->res, st->doing) != 0)
            return send_failed(s, st->doing, err);
        return STORE_OK;
    }
    char name[24];
    snprintf(name, sizeof name, "dss_q%d", st->slot);
    if (!pgs_is_prepared(s, st->slot)) {
        /* Each statement is parsed once per connection, in the same round
        ** trip as its first run. */
        if (!PQsendPrepare(c, name, st->sql, st->nparams, NULL) ||
            expect(s, PG_X_PREPARE, part, st->slot, NULL, st->doing) != 0)
            return send_failed(s, st->doing, err);
        /* Prepared from now on for this flight's later statements; a
        ** failed PREPARE takes the mark back (drain()). */
        s->prepared[st->slot / 8] |= (unsigned char)(1u << (st->slot % 8));
    }
    if (!PQsendQueryPrepared(c, name, st->nparams, st->values, st->lengths, st->formats, 0) ||
        expect(s, PG_X_EXEC, part, 0, st->res, st->doing) != 0)
        return send_failed(s, st->doing, err);
    return STORE_OK;
}

static int enter_pipeline(pg_store *s, const char *doing, char *err)
{
    if (!s->conn || s->broken) return pgs_fail(s, NULL, doing, err);
    if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) return STORE_OK;
    if (!PQenterPipelineMode(s->conn)) return send_failed(s, doing, err);
    return STORE_OK;
}

int pgs_send_part(pg_store *s, const pg_stmt *st, int n, int part, char *err)
{
    int rc = enter_pipeline(s, n ? st[0].doing : "sending statements", err);
    for (int i = 0; rc == STORE_OK && i < n; i++) rc = send_stmt(s, &st[i], part, err);
    if (rc == STORE_OK) rc = send_sync(s, part, err);
    return rc;
}

/* The first failure of a drain, kept to be reported once everything in
** the air has been read. */
typedef struct drained {
    PGresult *err_res;     /* the first error result (owned), or NULL */
    const char *err_doing;
    int err_part;          /* its part, 0 when none failed */
    int cancelled;
    int begin_read;        /* the begin's results were among them */
    int begin_ok;
    int flush_sent;        /* flush statements were among them */
    int flush_ok;
} drained;

/* Note r (a failed or aborted result, owned) as a failure of part. */
static void note_failure(drained *d, PGresult *r, const pg_expect *x)
{
    if (x->part == PG_PART_BEGIN) d->begin_ok = 0;
    if (x->part == PG_PART_FLUSH) d->flush_ok = 0;
    if (!d->err_res && r && PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
        d->err_res = r;
        d->err_doing = x->doing;
        d->err_part = x->part;
        return;
    }
    if (!d->err_part) {
        d->err_part = x->part;
        d->err_doing = x->doing;
    }
    PQclear(r);
}

/* Read every result in the air, in order, then leave pipeline mode.
** Returns 0, or -1 when the connection broke (d says what failed). */
static int drain(pg_store *s, drained *d)
{
    PGconn *c = s->conn;
    int broke = 0;
    if (s->nair) s->round_trips++;
    for (size_t i = 0; i < s->nair; i++) {
        pg_expect *x = &s->air[i];
        if (x->part == PG_PART_BEGIN) d->begin_read = 1;
        if (x->part == PG_PART_FLUSH) d->flush_sent = 1;
        if (x->res) *x->res = NULL;
        PGresult *r = NULL;
        if (!broke && wait_input(s, &d->cancelled) == 0) r = PQgetResult(c);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (!r) broke = 1;
        if (x->kind == PG_X_SYNC) {
            if (st != PGRES_PIPELINE_SYNC) {
                /* Out of step with the server: the connection cannot be
                ** trusted any more. */
                broke = 1;
                note_failure(d, r, x);
            } else {
                PQclear(r);
            }
            continue;
        }
        if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
            if (x->res) *x->res = r;
            else PQclear(r);
        } else {
            if (x->kind == PG_X_PREPARE)
                s->prepared[x->slot / 8] &= (unsigned char)~(1u << (x->slot % 8));
            note_failure(d, r, x);
        }
        /* A statement's results end with a NULL. */
        if (!broke && wait_input(s, &d->cancelled) == 0) {
            PGresult *end;
            while ((end = PQgetResult(c)) != NULL) PQclear(end); /* one NULL expected */
        }
    }
    s->nair = 0;
    if (broke || PQstatus(c) == CONNECTION_BAD) return -1;
    if (!PQexitPipelineMode(c)) return -1;
    return 0;
}

/* Read what is in the air and settle what it concerns: the begin (its
** head or its failure), the flush (marks sent, or the transaction given
** up).  Returns STORE_OK or the first failure's code with err set; *part
** says whose it was (0 none). */
static int settle_air(pg_store *s, int *part, char *err)
{
    drained d = {.begin_ok = 1, .flush_ok = 1};
    int broke = drain(s, &d) != 0;
    int rc = STORE_OK;
    *part = d.err_part;
    if (broke) {
        /* A transaction whose begin was still in the air held nothing: it
        ** is failed rather than lost, and may begin again. */
        if (d.begin_read && s->base.in_tx) s->tx_failed = STORE_EIO;
        /* The results may hold the reason (the server's FATAL message). */
        rc = pgs_fail(s, d.err_res, d.err_doing ? d.err_doing : "waiting for the database", err);
        if (rc != STORE_EIO) {
            s->broken = 1;
            forget_air(s);
        }
    } else if (d.err_part) {
        char why[STORE_ERRLEN];
        int keep_tx = d.err_part != PG_PART_BEGIN && d.flush_ok;
        /* pgs_fail() gives the transaction up unless a savepoint saves it:
        ** the flush's marks count only when the flush went through. */
        if (d.flush_sent) pgs_flush_done(s, d.flush_ok);
        if (!keep_tx && d.err_part == PG_PART_BEGIN && s->base.in_tx) s->tx_failed = STORE_EIO;
        rc = pgs_fail(s, d.err_res, d.err_doing, why);
        if (d.cancelled && rc != STORE_EIO) {
            rc = STORE_EINTERRUPTED;
            snprintf(why, sizeof why, "%s: interrupted", d.err_doing);
        }
        snprintf(err, STORE_ERRLEN, "%s", why);
    } else if (d.flush_sent) {
        pgs_flush_done(s, 1);
    }
    PQclear(d.err_res);
    if (d.begin_read) {
        pgs_begin_settled(s, d.err_part == PG_PART_BEGIN || broke ? rc : STORE_OK, err);
        s->begin_air = 0;
    }
    return rc;
}

int pgs_settle(pg_store *s, char *err)
{
    /* Only the begin is ever left in the air: pgs_pipeline() reads it, and
    ** gets a connection that died while idle back. */
    return s->nair ? pgs_pipeline(s, NULL, 0, err) : STORE_OK;
}

int pgs_pipeline(pg_store *s, const pg_stmt *st, int n, char *err)
{
    int retried = 0, rerun = 0;
    for (;;) {
        int had_begin = s->begin_air, part = 0;
        int rc = enter_pipeline(s, n ? st[0].doing : "writing the entries", err);
        if (rc == STORE_OK && s->base.in_tx && !s->tx_failed && !s->begin_air)
            rc = pgs_flush_send(s, err);
        for (int i = 0; rc == STORE_OK && i < n; i++) rc = send_stmt(s, &st[i], PG_PART_CALLER, err);
        if (rc == STORE_OK && s->nair && s->air[s->nair - 1].kind != PG_X_SYNC)
            rc = send_sync(s, PG_PART_CALLER, err);
        if (rc == STORE_OK || s->nair) {
            int sent_rc = rc;
            rc = settle_air(s, &part, err);
            if (rc == STORE_OK) rc = sent_rc;
        }
        if (rc == STORE_OK || !had_begin || part != PG_PART_BEGIN) {
            /* A statement's own failure, or none: their results are final. */
            if (rc != STORE_OK)
                for (int i = 0; i < n; i++)
                    if (st[i].res) {
                        PQclear(*st[i].res);
                        *st[i].res = NULL;
                    }
            return rc;
        }
        /* The begin failed, and the statements with it.  When the
        ** connection had died while idle (a restart), nothing is lost:
        ** connect again and begin again, once.  Otherwise the statements
        ** run again outside the failed transaction. */
        for (int i = 0; i < n; i++)
            if (st[i].res) {
                PQclear(*st[i].res);
                *st[i].res = NULL;
            }
        if (s->broken && !retried && s->base.in_tx && s->tx_failed) {
            retried = 1;
            char why[STORE_ERRLEN];
            if (reconnect(s, why) == STORE_OK) {
                s->tx_failed = 0;
                if (pgs_begin_send(s, why) == STORE_OK) continue;
            }
            return rc;
        }
        if (rerun || s->broken) return rc;
        rerun = 1;
    }
}


int pgs_query(pg_store *s, const char *sql, int nparams, const char *const *params,
              PGresult **res, const char *doing, char *err)
{
    if (res) *res = NULL;
    if (!s->conn || s->broken) return pgs_fail(s, NULL, doing, err);
    if (nparams > 0) {
        pg_stmt st = {.sql = sql, .nparams = nparams, .values = params,
                      .plan = PG_PLAN_CUSTOM, .res = res, .doing = doing};
        return pgs_pipeline(s, &st, 1, err);
    }
    /* Text that may hold several statements: the simple protocol, outside
    ** pipeline mode, after what is in the air and the buffered appends. */
    int rc = pgs_settle(s, err);
    if (rc == STORE_OK && s->base.in_tx && !s->tx_failed) rc = pgs_pipeline(s, NULL, 0, err);
    if (rc != STORE_OK) return rc;
    if (!PQsendQuery(s->conn, sql)) return pgs_fail(s, NULL, doing, err);
    int cancelled = 0;
    PGresult *r = pgs_wait(s, &cancelled);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (!r || (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)) {
        int rc2 = pgs_fail(s, r, doing, err);
        if (cancelled && rc2 != STORE_EIO) {
            rc2 = STORE_EINTERRUPTED;
            pgs_errf(err, "%s: interrupted", doing);
        }
        PQclear(r);
        return rc2;
    }
    if (res) *res = r;
    else PQclear(r);
    return STORE_OK;
}

int pgs_exec(pg_store *s, const char *sql, const char *doing, char *err)
{
    return pgs_query(s, sql, 0, NULL, NULL, doing, err);
}


PGresult *pgs_run(pg_store *s, int slot, const char *sql, int nparams,
                  const char *const *params, int *rc, const char *doing, char *err)
{
    return pgs_run_planned(s, slot, PG_PLAN_GENERIC, sql, nparams, params, rc, doing, err);
}

PGresult *pgs_run_planned(pg_store *s, int slot, int plan, const char *sql, int nparams,
                          const char *const *params, int *rc, const char *doing, char *err)
{
    PGresult *r = NULL;
    if ((*rc = pgs_ready(s, err)) != STORE_OK) return NULL;
    if (slot <= 0) {
        *rc = pgs_query(s, sql, nparams, params, &r, doing, err);
        return *rc == STORE_OK ? r : NULL;
    }
    /* Prepared once per connection: later runs only bind (and plan, when
    ** custom) and execute. */
    pg_stmt st = {.slot = slot, .sql = sql, .nparams = nparams, .values = params,
                  .plan = nparams ? plan : PG_PLAN_ANY, .res = &r, .doing = doing};
    *rc = pgs_pipeline(s, &st, 1, err);
    return *rc == STORE_OK ? r : NULL;
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
    /* A connection attempt waits at most about the busy timeout, unless
    ** the conninfo says otherwise (later values win) or libpq's own
    ** defaults do (PGCONNECT_TIMEOUT, which libpq reads: a default given
    ** here would override it). */
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d",
             s->busy_timeout_ms / 1000 > 2 ? s->busy_timeout_ms / 1000 : 2);
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {timeout, s->conninfo, NULL};
    PQconninfoOption *defaults = PQconndefaults();
    for (PQconninfoOption *o = defaults; o && o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && o->val[0]) {
            keys[0] = "dbname"; /* the default stands */
            vals[0] = s->conninfo;
            keys[1] = vals[1] = NULL;
        }
    s->conn = PQconnectdbParams(keys, vals, 1);
    PQconninfoFree(defaults);
    /* A new connection holds no prepared statement, owes no result, and
    ** plans as the server's settings say. */
    memset(s->prepared, 0, sizeof s->prepared);
    memset(s->find_generic, 0, sizeof s->find_generic);
    forget_air(s);
    s->plan_mode = PG_PLAN_ANY;
    if (!s->conn) {
        pgs_errf(err, "cannot connect to PostgreSQL: out of memory");
        return STORE_ENOMEM;
    }
    set_where(s);
    /* stdout carries only protocol messages, and the server's notices
    ** ("already exists, skipping") are no diagnostics worth stderr. */
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        conn_message(s, why, sizeof why);
        pgs_errf(err, "cannot connect to %s: %s", s->where, why);
        PQfinish(s->conn);
        s->conn = NULL;
        return STORE_EIO;
    }
    /* Commits wait for the disk; results come back as text in known forms
    ** (bytea as hex); lock waits end at the busy timeout.  No JIT: every
    ** statement here reads a few pages through an index, and a statement
    ** planned once (a generic plan, LIMIT unknown) is costed as if it read
    ** a tenth of the partitions, past jit_above_cost, so each run compiled
    ** itself first: a user's newest 20 took 49 ms at 10,000,000 entries,
    ** 0.18 ms without (bench/RESULTS-pg.md).  The trigram indexes' pending
    ** lists (GIN's fast update, flushed by the insert that overflows them)
    ** kept short: every search statement reads its partition's list whole,
    ** and at the default 4 MB that was 4.5 ms of a 5 ms window (10,000,000
    ** entries); the writers' inserts flush them, so the writers' setting
    ** is the one that counts. */
    char setup[1024];
    snprintf(setup, sizeof setup,
             "SET synchronous_commit = on; SET application_name = 'dss-audit-mcp';"
             " SET client_encoding = 'UTF8'; SET standard_conforming_strings = on;"
             " SET bytea_output = 'hex'; SET lock_timeout = %d; SET jit = off;"
             " SET gin_pending_list_limit = 256;%s",
             s->busy_timeout_ms,
             s->readonly ? " SET default_transaction_read_only = on;" : "");
    /* And whether this session may write a WAL message, which is what
    ** lets a commit release the log's head before its flush (pgs_commit()):
    ** in the same round trip. */
    size_t used = strlen(setup);
    snprintf(setup + used, sizeof setup - used,
             " SELECT coalesce((SELECT has_function_privilege(p.oid, 'EXECUTE')"
             " FROM pg_catalog.pg_proc p WHERE p.oid = to_regprocedure("
             "'pg_catalog.pg_logical_emit_message(boolean,text,text)')), false)");
    s->broken = 0;
    PGresult *r = NULL;
    int rc = pgs_query(s, setup, 0, NULL, &r, "setting the session up", err);
    if (rc != STORE_OK) {
        PQfinish(s->conn);
        s->conn = NULL;
        s->broken = 1;
        return rc;
    }
    s->early_release = !s->readonly && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

/* How long one call may wait for the connection to come back: a request
** during an outage fails at once with isError instead of holding up the
** agent (the agent comes first); a blip shorter than this is ridden out. */
#define PG_RECONNECT_WAIT_MS 250

/* Get the connection back after it was lost, trying again with back-off
** (50 ms doubling to 5 s) but never waiting longer than
** PG_RECONNECT_WAIT_MS (or the busy timeout, when shorter) in one call. */
static int reconnect(pg_store *s, char *err)
{
    int wait = s->busy_timeout_ms < PG_RECONNECT_WAIT_MS ? s->busy_timeout_ms
                                                         : PG_RECONNECT_WAIT_MS;
    int64_t deadline = mono_ms() + wait;
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
        /* A transaction with writes is lost with the connection; one whose
        ** begin failed keeps its failure for the commit to report. */
        if (s->base.in_tx && !s->tx_failed) {
            s->base.lost_tx = s->base.tx_id;
            pgs_tx_reset(s);
        }
        return reconnect(s, err);
    }
    return STORE_OK;
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
        pgs_errf(err, "no log with the id or name \"%.*s\" in %s", 100, log,
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
        store_random_uuid(id);
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

int pgs_open(const store_options *opt, store **out, char *err)
{
    *out = NULL;
    int rc = STORE_OK;
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        pgs_errf(err, "out of memory");
        return STORE_ENOMEM;
    }
    s->base.m = &pg_store_methods;
    if (!(s->conninfo = strdup(opt->path))) {
        pgs_errf(err, "out of memory");
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
        pgs_errf(err, "libsodium could not start");
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
        pgs_errf(err, "a log's name must have 1 to %d bytes",
                 STORE_LOG_NAME_MAX - 1);
        rc = STORE_EINVAL;
        goto fail;
    }
    if (!s->readonly && opt->no_own_log) {
        s->no_own_log = 1; /* a shipper: it writes only the logs it ensures */
        rc = STORE_OK;
    } else if (!s->readonly) {
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
    *out = &s->base;
    return STORE_OK;
fail:
    pgs_close(&s->base);
    return rc;
}

void pgs_close(store *st)
{
    pg_store *s = pgs(st);
    if (!s) return;
    if (s->base.in_tx) pgs_rollback(st);
    if (s->conn) PQfinish(s->conn);
    if (s->conninfo) {
        sodium_memzero(s->conninfo, strlen(s->conninfo));
        free(s->conninfo);
    }
    pgs_rows_free(&s->rows);
    forget_air(s);
    free(s->air);
    pgs_tree_free(s);
    pgs_names_free(s);
    free(s);
}

void pgs_set_interrupt(store *st, int (*fn)(void *ctx), void *ctx)
{
    pg_store *s = pgs(st);
    s->interrupt = fn;
    s->interrupt_ctx = fn ? ctx : NULL;
}

int pgs_readonly(const store *s) { return pgs_const(s)->readonly; }

const char *pgs_log_id(const store *s) { return pgs_const(s)->sel_id; }

const char *pgs_log_name(const store *s) { return pgs_const(s)->sel_name; }

int pgs_need_log(pg_store *s, char *err)
{
    if (s->sel_id[0]) return STORE_OK;
    snprintf(err, STORE_ERRLEN,
             "no log is selected in %s: name one (--log NAME or its log_id)", s->where);
    return STORE_EINVAL;
}

/* ---- logs ---- */

int pgs_ready_log(pg_store *s, char *err)
{
    int rc = pgs_need_log(s, err);
    return rc == STORE_OK ? pgs_ready(s, err) : rc;
}

int pgs_each_log(store *st, store_log_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
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

int pgs_use_log(store *st, const char *log, char *err)
{
    pg_store *s = pgs(st);
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

int pgs_record_log_key(store *st, const char *pk, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
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

int pgs_ensure_log(store *st, const store_log *log, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready(s, err);
    if (rc != STORE_OK) return rc;
    if (!log->log_id[0] || !log->name[0]) {
        pgs_errf(err, "a log needs an id and a name");
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
        return pgs_record_log_key(st, log->public_key, err);
    }
    return STORE_OK;
}


void pgs_int_text(int64_t v, char out[24]) { snprintf(out, 24, "%lld", (long long)v); }

/* ---- reading entries ---- */

int pgs_resolve_log(pg_store *s, const char *log, char out[37], char *err)
{
    int rc;
    const char *p[1] = {log};
    PGresult *res = pgs_run(s, PG_SLOT_LOG_ID,
                            "SELECT log_id FROM dss_audit.logs WHERE log_id = $1 OR name = $1"
                            " ORDER BY log_id = $1 DESC, log_id LIMIT 1",
                            1, p, &rc, "finding the log", err);
    if (!res) return rc;
    rc = PQntuples(res) ? STORE_OK : STORE_ENOTFOUND;
    if (rc == STORE_OK) snprintf(out, 37, "%s", PQgetvalue(res, 0, 0));
    else snprintf(err, STORE_ERRLEN, "no log has the id or name '%.*s'", utf8_cut(log, 64), log);
    PQclear(res);
    return rc;
}

static void value_at(const PGresult *r, int row, int col, entry_value *v)
{
    v->p = PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
    v->len = v->p ? (size_t)PQgetlength(r, row, col) : 0;
}

void pgs_row(const PGresult *r, int row, entry_row *e)
{
    e->seq = strtoll(PQgetvalue(r, row, ENTRY_F_seq), NULL, 10);
    e->v[ENTRY_F_seq].p = NULL;
    e->v[ENTRY_F_seq].len = 0;
    for (int c = 1; c < ENTRY_NFIELDS; c++) value_at(r, row, c, &e->v[c]);
    value_at(r, row, ENTRY_NFIELDS, &e->log_id);
    if (PQnfields(r) > ENTRY_NFIELDS + 1) value_at(r, row, ENTRY_NFIELDS + 1, &e->log);
    else e->log.p = NULL, e->log.len = 0;
}

/* Nothing waits for upkeep here: the server does its own (autovacuum), and
** a connection holds no page cache of its own to size. */

#define PG_X_INIT(type, name, params) .name = pgs_##name,
const store_methods pg_store_methods = {
    .name = "postgresql",
    .caps = STORE_CAP_MANY_LOGS | STORE_CAP_IMPORT | STORE_CAP_GUARDS | STORE_CAP_PARTITIONS |
            STORE_CAP_TEXT_INDEX | STORE_CAP_SINK_CURSORS,
    .remote = 1,
    STORE_REQUIRED_METHODS(PG_X_INIT)
    STORE_MANY_LOGS_METHODS(PG_X_INIT)
    STORE_GUARDS_METHODS(PG_X_INIT)
    STORE_IMPORT_METHODS(PG_X_INIT)
    STORE_SINK_CURSOR_METHODS(PG_X_INIT)
    .redact_path = pgs_redact_path,
    .wipe_password = pgs_wipe_password,
    .explain_find = pgs_explain_find,
    .explain_user_activity = pgs_explain_user_activity,
    .find_plans = pgs_find_plans,
    .round_trips = pgs_round_trips,
};
