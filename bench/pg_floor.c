/*
** pg_floor.c: how fast PostgreSQL alone, through libpq, can store audit
** rows on this machine: the floors the PostgreSQL backend is measured
** against (bench/README.md, "PostgreSQL").
**
**   bench_pg_floor --db CONNINFO --writers 4 --batch 128 [--txs 200]
**                  [--insert] [--seed S]
**   bench_pg_floor --db CONNINFO --copy N [--seed S]
**
** The schema is the store's own: the program first opens a store on the
** database with store_open() (so the migrations run and dss_audit is
** exactly what the server writes to), closes it, and from then on writes
** with raw libpq on its own connections.  Each writer (and the COPY run)
** writes to a fresh log row of its own in dss_audit.logs, so the chains of
** real logs in the same database are left alone.
**
** --writers W --batch B: W threads, each with its own connection and log,
** each running --txs transactions of: BEGIN; SELECT the log's head FOR
** UPDATE; B rows (the entry and its tool_call record of B/2 log_operation
** calls: the same generator, scrubbed args, the columns the store fills);
** UPDATE the head; COMMIT, with synchronous_commit on.  The rows go in by
** COPY FROM STDIN (text format, the store's append path) or, with
** --insert, one multi-row INSERT with parameters, to say which is faster.
** Prints calls=... rows=... secs=... rows_per_s=... mode=copy|insert.
**
** --copy N: one COPY of N entries of about 1.4 KB (the generator's entries
** with a result object on each, the size of what bench_prefill stores) into dss_audit.entries of a fresh log, then the
** head update, in one transaction: the floor `ship` is measured against.
** Prints rows=... secs=... rows_per_s=... bytes_per_row=...
**
** Ids, timestamps and the COPY text are made before the clock starts; the
** hashes are a precomputed dummy (nothing here verifies).  Partitions:
** the months written to are created first with the schema's own
** dss_audit.ensure_partition().
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gen.h"
#include "store/store.h"
#include "util/ts.h"
#include "util/uuid7.h"

#define POOL 4096
#define NCOLS 17 /* the columns every row below fills, in COPY_COLUMNS order */
#define COPY_COLUMNS                                                        \
    "log_id, seq, id, event_type, operation_name, operation_id, user_id,"   \
    " project_id, args, result, error, before_state, after_state,"          \
    " created_at, client, prev_hash, hash"

static void usage(void)
{
    fputs("usage: bench_pg_floor --db CONNINFO --writers W --batch B [--txs T]"
          " [--insert] [--seed S]\n"
          "       bench_pg_floor --db CONNINFO --copy N [--seed S]\n", stderr);
    exit(2);
}

/* One generated call, serialized as the server stores it. */
typedef struct row {
    const char *event_type;
    char operation_name[64], operation_id[48], user_id[16], project_id[16];
    char error[192];
    char *args, *result, *before, *after;
    char *record_args; /* the tool_call record's arguments */
} row;

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fputs("pg_floor: out of memory\n", stderr);
            exit(1);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* One COPY text field (escaped; \N for NULL) and its separator. */
static void put_field(buf *b, const char *v, int last)
{
    if (!v) put(b, "\\N", 2);
    else
        for (const char *c = v; *c; c++) {
            const char *e = NULL;
            switch (*c) {
            case '\\': e = "\\\\"; break;
            case '\t': e = "\\t"; break;
            case '\n': e = "\\n"; break;
            case '\r': e = "\\r"; break;
            }
            if (e) put(b, e, 2);
            else put(b, c, 1);
        }
    put(b, last ? "\n" : "\t", 1);
}

static int check(PGconn *c, PGresult *r, ExecStatusType want, const char *doing)
{
    int ok = r && PQresultStatus(r) == want;
    if (!ok) fprintf(stderr, "pg_floor: %s: %s", doing, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

static PGconn *connect_db(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_floor: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    /* As the server runs: every COMMIT waits for the WAL flush. */
    if (check(c, PQexec(c, "SET synchronous_commit = on"), PGRES_COMMAND_OK, "settings")) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* A fresh log row named NAME; its id into id. */
static int make_log(PGconn *c, const char *name, char id[UUID7_BUFLEN])
{
    char now[TS_BUFLEN];
    uuid7_next(ts_now_us() / 1000, id);
    ts_format(ts_now_us(), now);
    const char *p[3] = {id, name, now};
    return check(c, PQexecParams(c, "INSERT INTO dss_audit.logs (log_id, name, created_at)"
                                    " VALUES ($1, $2, $3)", 3, NULL, p, NULL, NULL, 0),
                 PGRES_COMMAND_OK, "creating the floor's log");
}

/* The partition of the month of `us` (and of the next day, in case the run
** crosses into a new month). */
static int ensure_months(PGconn *c, int64_t us)
{
    for (int k = 0; k < 2; k++) {
        char ts[TS_BUFLEN], month[8];
        ts_format(us + k * INT64_C(86400000000), ts);
        snprintf(month, sizeof month, "%.7s", ts);
        const char *p[1] = {month};
        if (check(c, PQexecParams(c, "SELECT dss_audit.ensure_partition($1)", 1, NULL, p,
                                  NULL, NULL, 0),
                  PGRES_TUPLES_OK, "creating a partition"))
            return -1;
    }
    return 0;
}


/* The pool of generated calls.  full: every entry carries a result and
** before/after states (the ~1.4 KB rows of the COPY floor). */
static row *make_pool(int n, long long seed, int full)
{
    row *pool = calloc((size_t)n, sizeof *pool);
    if (!pool) return NULL;
    gen_rng rng;
    gen_seed(&rng, (uint64_t)seed);
    for (int i = 0; i < n; i++) {
        gen_entry e;
        if (gen_entry_make(&rng, &e) != 0) return NULL;
        row *r = &pool[i];
        r->event_type = e.event_type;
        memcpy(r->operation_name, e.operation_name, sizeof r->operation_name);
        memcpy(r->operation_id, e.operation_id, sizeof r->operation_id);
        memcpy(r->user_id, e.user_id, sizeof r->user_id);
        memcpy(r->project_id, e.project_id, sizeof r->project_id);
        memcpy(r->error, e.error, sizeof r->error);
        r->args = gen_scrubbed(e.args);
        r->result = gen_scrubbed(e.result);
        r->before = gen_scrubbed(e.before);
        r->after = gen_scrubbed(e.after);
        if (full && !r->result) {
            /* A result on every entry (the args again when the generator
            ** made none): ~1.4 KB a row, the size bench_prefill's entries
            ** reach; the size, not the meaning, is what this floor needs. */
            r->result = gen_scrubbed(e.args);
        }
        r->record_args = gen_record_args(&e);
        gen_entry_free(&e);
        if (!r->record_args) return NULL;
    }
    return pool;
}

static void free_pool(row *pool, int n)
{
    for (int i = 0; pool && i < n; i++) {
        cJSON_free(pool[i].args);
        cJSON_free(pool[i].result);
        cJSON_free(pool[i].before);
        cJSON_free(pool[i].after);
        cJSON_free(pool[i].record_args);
    }
    free(pool);
}

static const char dummy_hash[] =
    "\\xabababababababababababababababababababababababababababababababab";

/* The NCOLS fields of one row (seq as text into seqbuf). */
static void fields(const char *log_id, long long seq, char seqbuf[24], const char *id,
                   const row *r, int record, const char *opid, const char *result,
                   const char *created, const char *f[NCOLS])
{
    snprintf(seqbuf, 24, "%lld", seq);
    const char *v[NCOLS] = {
        log_id, seqbuf, id,
        record ? "tool_call" : r->event_type,
        record ? "log_operation" : r->operation_name,
        record ? opid : r->operation_id,
        record ? GEN_ACTOR : r->user_id,
        r->project_id,
        record ? r->record_args : (r->args ? r->args : "{}"),
        record ? result : r->result,
        record ? NULL : (r->error[0] ? r->error : NULL),
        record ? NULL : r->before,
        record ? NULL : r->after,
        created, GEN_CLIENT, dummy_hash, dummy_hash};
    memcpy(f, v, sizeof v);
}

/* ---- --writers: head-locked batches on W logs at once ---- */

typedef struct writer {
    const char *conninfo;
    int index, insert;
    long long txs, batch; /* rows per transaction (batch/2 calls) */
    const row *pool;
    int npool;
    char (*ids)[UUID7_BUFLEN]; /* txs * batch ids, made before the clock */
    char (*results)[64];
    PGconn *conn;
    char log_id[UUID7_BUFLEN];
    int failed;
    pthread_barrier_t *start;
} writer;

static int write_tx(writer *w, long long t, buf *b, const char *insert_sql,
                    const char **params)
{
    PGconn *c = w->conn;
    const char *lp[1] = {w->log_id};
    if (check(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "begin")) return -1;
    PGresult *r = PQexecParams(c, "SELECT head_seq, head_hash FROM dss_audit.logs"
                                  " WHERE log_id = $1 FOR UPDATE", 1, NULL, lp, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        check(c, r, PGRES_TUPLES_OK, "locking the head");
        return -1;
    }
    long long seq = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);

    char created[TS_BUFLEN];
    ts_format(ts_now_us(), created);
    char seqs[256][24];
    b->len = 0;
    for (long long j = 0; j < w->batch; j++) {
        long long k = t * w->batch + j; /* row index in this writer's run */
        const row *rw = &w->pool[(k / 2) % w->npool];
        char opid[24];
        snprintf(opid, sizeof opid, "%lld", k / 2 + 1);
        const char *f[NCOLS];
        fields(w->log_id, seq + j + 1, seqs[j % 256], w->ids[k], rw, (int)(k & 1), opid,
               w->results[k / 2], created, f);
        if (w->insert) {
            for (int i = 0; i < NCOLS; i++) params[j * NCOLS + i] = f[i];
            /* seq points at a reused buffer: copy it into the block. */
            params[j * NCOLS + 1] = strdup(f[1]);
        } else
            for (int i = 0; i < NCOLS; i++) put_field(b, f[i], i == NCOLS - 1);
    }
    if (w->insert) {
        /* One multi-row INSERT: b holds its text, made once per size. */
        r = PQexecParams(c, insert_sql, (int)(w->batch * NCOLS), NULL, params, NULL, NULL, 0);
        for (long long j = 0; j < w->batch; j++) free((char *)params[j * NCOLS + 1]);
        if (check(c, r, PGRES_COMMAND_OK, "insert")) return -1;
    } else {
        r = PQexec(c, "COPY dss_audit.entries (" COPY_COLUMNS ") FROM STDIN");
        if (check(c, r, PGRES_COPY_IN, "copy")) return -1;
        if (PQputCopyData(c, b->p, (int)b->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
            fprintf(stderr, "pg_floor: copy: %s", PQerrorMessage(c));
            return -1;
        }
        if (check(c, PQgetResult(c), PGRES_COMMAND_OK, "copy")) return -1;
        while ((r = PQgetResult(c))) PQclear(r);
    }
    char head[24];
    snprintf(head, sizeof head, "%lld", seq + w->batch);
    const char *up[4] = {w->log_id, head, dummy_hash, created};
    if (check(c, PQexecParams(c, "UPDATE dss_audit.logs SET head_seq = $2, head_hash = $3,"
                                 " head_created_at = $4 WHERE log_id = $1",
                              4, NULL, up, NULL, NULL, 0),
              PGRES_COMMAND_OK, "updating the head") ||
        check(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK, "commit"))
        return -1;
    return 0;
}

static void *writer_run(void *arg)
{
    writer *w = arg;
    buf b = {0}, ins = {0};
    const char **params = calloc((size_t)(w->batch * NCOLS), sizeof *params);
    if (!params) w->failed = 1;
    if (w->insert) {
        /* The multi-row INSERT's text, made once: batch rows of NCOLS
        ** parameters each. */
        static const char head[] = "INSERT INTO dss_audit.entries (" COPY_COLUMNS ") VALUES ";
        char s[32];
        put(&ins, head, sizeof head - 1);
        for (long long j = 0; j < w->batch; j++) {
            put(&ins, j ? ",(" : "(", j ? 2 : 1);
            for (int i = 0; i < NCOLS; i++) {
                int n = snprintf(s, sizeof s, "%s$%lld", i ? "," : "", j * NCOLS + i + 1);
                put(&ins, s, (size_t)n);
            }
            put(&ins, ")", 1);
        }
    }
    pthread_barrier_wait(w->start);
    for (long long t = 0; t < w->txs && !w->failed; t++)
        if (write_tx(w, t, &b, w->insert ? ins.p : NULL, params) != 0) w->failed = 1;
    free(params);
    free(b.p);
    free(ins.p);
    return NULL;
}

static int run_writers(const char *conninfo, int nw, long long batch, long long txs,
                       int insert, long long seed)
{
    if (batch < 2 || batch % 2 || batch > 256) {
        fputs("pg_floor: --batch must be even, 2..256 (an entry and its record per call)\n",
              stderr);
        return 2;
    }
    row *pool = make_pool(POOL, seed, 0);
    writer *w = calloc((size_t)nw, sizeof *w);
    pthread_t *th = calloc((size_t)nw, sizeof *th);
    pthread_barrier_t start;
    if (!pool || !w || !th) return 1;
    pthread_barrier_init(&start, NULL, (unsigned)nw + 1);
    long long rows = txs * batch;
    for (int i = 0; i < nw; i++) {
        writer *x = &w[i];
        *x = (writer){.conninfo = conninfo, .index = i, .insert = insert, .txs = txs,
                      .batch = batch, .pool = pool, .npool = POOL, .start = &start};
        x->ids = malloc((size_t)rows * sizeof *x->ids);
        x->results = malloc((size_t)(rows / 2 + 1) * sizeof *x->results);
        if (!x->ids || !x->results) return 1;
        for (long long k = 0; k < rows; k++) uuid7_next(ts_now_us() / 1000, x->ids[k]);
        for (long long k = 0; k < rows / 2; k++)
            snprintf(x->results[k], sizeof x->results[k], "{\"audit_id\":\"%s\"}",
                     x->ids[2 * k]);
        char name[64];
        snprintf(name, sizeof name, "pg-floor-%d-%s", i, x->ids[0]);
        if (!(x->conn = connect_db(conninfo)) || make_log(x->conn, name, x->log_id) ||
            (i == 0 && ensure_months(x->conn, ts_now_us())))
            return 1;
        if (pthread_create(&th[i], NULL, writer_run, x) != 0) return 1;
    }
    pthread_barrier_wait(&start);
    double t0 = gen_now_s();
    for (int i = 0; i < nw; i++) pthread_join(th[i], NULL);
    double secs = gen_now_s() - t0;
    int failed = 0;
    for (int i = 0; i < nw; i++) {
        failed |= w[i].failed;
        PQfinish(w[i].conn);
        free(w[i].ids);
        free(w[i].results);
    }
    pthread_barrier_destroy(&start);
    free_pool(pool, POOL);
    free(w);
    free(th);
    if (failed) return 1;
    long long total = rows * nw;
    printf("writers=%d batch=%lld txs=%lld calls=%lld rows=%lld secs=%.3f rows_per_s=%.0f"
           " calls_per_s=%.0f mode=%s\n",
           nw, batch, txs, total / 2, total, secs, (double)total / secs,
           (double)total / 2 / secs, insert ? "insert" : "copy");
    return 0;
}

/* ---- --copy: one COPY of N rows ---- */

static int run_copy(const char *conninfo, long long n, long long seed)
{
    int npool = n < POOL ? (int)n : POOL;
    row *pool = make_pool(npool, seed, 1);
    PGconn *c = connect_db(conninfo);
    if (!pool || !c) return 1;
    char log_id[UUID7_BUFLEN], name[64], created[TS_BUFLEN], seqbuf[24], last[24];
    snprintf(name, sizeof name, "pg-floor-copy-%lld", (long long)ts_now_us());
    if (make_log(c, name, log_id) || ensure_months(c, ts_now_us())) return 1;

    /* The whole COPY text, made before the clock starts. */
    buf b = {0};
    ts_format(ts_now_us(), created);
    for (long long k = 0; k < n; k++) {
        char id[UUID7_BUFLEN];
        uuid7_next(ts_now_us() / 1000, id);
        const char *f[NCOLS];
        fields(log_id, k + 1, seqbuf, id, &pool[k % npool], 0, NULL, NULL, created, f);
        for (int i = 0; i < NCOLS; i++) put_field(&b, f[i], i == NCOLS - 1);
    }
    double t0 = gen_now_s();
    const char *lp[1] = {log_id};
    PGresult *r;
    if (check(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK, "begin") ||
        check(c, PQexecParams(c, "SELECT head_seq FROM dss_audit.logs WHERE log_id = $1"
                                 " FOR UPDATE", 1, NULL, lp, NULL, NULL, 0),
              PGRES_TUPLES_OK, "locking the head") ||
        check(c, PQexec(c, "COPY dss_audit.entries (" COPY_COLUMNS ") FROM STDIN"),
              PGRES_COPY_IN, "copy"))
        return 1;
    /* In 1 MiB pieces, as a client streaming a file would. */
    for (size_t off = 0; off < b.len; off += 1 << 20) {
        size_t len = b.len - off < (1 << 20) ? b.len - off : (1 << 20);
        if (PQputCopyData(c, b.p + off, (int)len) != 1) {
            fprintf(stderr, "pg_floor: copy: %s", PQerrorMessage(c));
            return 1;
        }
    }
    if (PQputCopyEnd(c, NULL) != 1 ||
        check(c, PQgetResult(c), PGRES_COMMAND_OK, "copy"))
        return 1;
    while ((r = PQgetResult(c))) PQclear(r);
    snprintf(last, sizeof last, "%lld", n);
    const char *up[4] = {log_id, last, dummy_hash, created};
    if (check(c, PQexecParams(c, "UPDATE dss_audit.logs SET head_seq = $2, head_hash = $3,"
                                 " head_created_at = $4 WHERE log_id = $1",
                              4, NULL, up, NULL, NULL, 0),
              PGRES_COMMAND_OK, "updating the head") ||
        check(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK, "commit"))
        return 1;
    double secs = gen_now_s() - t0;
    printf("rows=%lld secs=%.3f rows_per_s=%.0f bytes_per_row=%.0f\n", n, secs,
           (double)n / secs, (double)b.len / (double)n);
    PQfinish(c);
    free(b.p);
    free_pool(pool, npool);
    return 0;
}

int main(int argc, char **argv)
{
    const char *db = NULL;
    long long writers = 0, batch = 128, txs = 200, copy = 0, seed = 7;
    int insert = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--insert")) { insert = 1; continue; }
        if (i + 1 >= argc) usage();
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "--db")) db = v;
        else if (!strcmp(a, "--writers")) writers = gen_num_arg(v, usage);
        else if (!strcmp(a, "--batch")) batch = gen_num_arg(v, usage);
        else if (!strcmp(a, "--txs")) txs = gen_num_arg(v, usage);
        else if (!strcmp(a, "--copy")) copy = gen_num_arg(v, usage);
        else if (!strcmp(a, "--seed")) seed = gen_num_arg(v, usage);
        else usage();
    }
    if (!db || (writers < 1) == (copy < 1) || txs < 1) usage();

    /* The store's schema: open a store once, so its migrations run. */
    char err[STORE_ERRLEN];
    store *s = NULL;
    store_options so = {.path = db, .log_name = "pg-floor"};
    if (store_open(&so, &s, err) != STORE_OK) {
        fprintf(stderr, "pg_floor: cannot open the store on the database: %s\n", err);
        return 1;
    }
    store_close(s);
    return copy ? run_copy(db, copy, seed) : run_writers(db, (int)writers, batch, txs,
                                                          insert, seed);
}
