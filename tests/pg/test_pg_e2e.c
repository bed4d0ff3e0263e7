/*
** test_pg_e2e.c: the shared trail end to end, with the real binary and a
** real PostgreSQL 15 (the ctest fixture `pg`; pgtest.h makes a fresh
** database per case).
**
** Machines are simulated as local SQLite logs written by `serve` and
** shipped by `ship --follow`; direct servers write to the central database
** with --db and --log.  What is checked is what a reviewer relies on: every
** entry arrives exactly once (per log, seq runs 1..n without a gap or a
** duplicate), every chain verifies, the query tools see every log, and
** nothing a server acknowledged is lost when the shipper is killed or the
** database goes away.
*/
#include "test.h"
#include "harness.h"
#include "pgtest.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s\n    last line from "  \
                       "the server: %s", #cond, h_error(), h_last_line());   \
    } while (0)

/* ---- helpers ------------------------------------------------------------ */

/* What a case leaves in /tmp goes when its process ends, passed or failed:
** the folder of its signing key, and the private cluster of the outage case
** when a failed check left it running. */
static char scratch[64];       /* /tmp/dss-pge2e-XXXXXX */
static char private_state[64]; /* the outage case's cluster, while it runs */

static void remove_leftovers(void)
{
    char cmd[512];
    const char *script = getenv("DSS_PG_CLUSTER");
    if (private_state[0] && script) {
        snprintf(cmd, sizeof cmd, "'%s' stop '%s' >/dev/null 2>&1", script, private_state);
        if (system(cmd) != 0) fprintf(stderr, "could not stop the cluster of %s\n", private_state);
    }
    if (private_state[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", private_state);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", private_state);
    }
    if (scratch[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch);
    }
}

/* Every process of a case signs with one key (as the servers of one team
** sharing a log would), so verify can check every checkpoint.  The key
** lives in a folder of this process's own, removed at exit. */
static char key_env[128];

static const char *const *key_vars(void)
{
    static const char *vars[2];
    if (!key_env[0]) {
        snprintf(scratch, sizeof scratch, "/tmp/dss-pge2e-XXXXXX");
        if (!mkdtemp(scratch)) {
            scratch[0] = '\0';
            return NULL;
        }
        atexit(remove_leftovers);
        snprintf(key_env, sizeof key_env, "DSS_AUDIT_KEY=%s/signing.key", scratch);
    }
    vars[0] = key_env;
    vars[1] = NULL;
    return vars;
}

/* A short formatted name in a static ring of buffers (for arguments). */
static const char *name_of(const char *fmt, int a, int b)
{
    static char ring[8][64];
    static int at;
    char *out = ring[at++ % 8];
    snprintf(out, 64, fmt, a, b);
    return out;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One integer from the central database; -1 on any failure. */
static long long pg_scalar(const char *conninfo, const char *sql, const char *param)
{
    PGconn *c = PQconnectdb(conninfo);
    long long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        const char *p[1] = {param};
        PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            v = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

/* One statement on the central database (no transaction block around it,
** as ALTER SYSTEM needs); 0 when it succeeded. */
static int pg_do(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
        if (rc) fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return rc;
}

/* Entries of the log named `name`: count, distinct seqs and the largest
** seq, which are all n exactly when seq runs 1..n once each. */
static int log_is_exactly(const char *conninfo, const char *name, long long n)
{
    static const char *const sql[] = {
        "SELECT count(*) FROM dss_audit.entries e JOIN dss_audit.logs l USING (log_id) "
        "WHERE l.name = $1",
        "SELECT count(DISTINCT seq) FROM dss_audit.entries e JOIN dss_audit.logs l "
        "USING (log_id) WHERE l.name = $1",
        "SELECT coalesce(max(seq), 0) FROM dss_audit.entries e JOIN dss_audit.logs l "
        "USING (log_id) WHERE l.name = $1",
        "SELECT count(DISTINCT id) FROM dss_audit.entries e JOIN dss_audit.logs l "
        "USING (log_id) WHERE l.name = $1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
        long long v = pg_scalar(conninfo, sql[i], name);
        if (v != n) {
            fprintf(stderr, "log %s: %s gave %lld, expected %lld\n", name, sql[i], v, n);
            return 0;
        }
    }
    return 1;
}

/* A serve process on db (a file path or a conninfo) writing to log. */
static srv *start_serve(const char *db, const char *log)
{
    const char *args[] = {"--db", db, "--log", log, NULL};
    srv_opts o = {.args = args, .no_db = db != NULL, .env = key_vars()};
    if (!db) o.args = args + 2;
    srv *s = srv_start(&o);
    if (s && !srv_initialize(s, "2025-11-25")) return NULL;
    return s;
}

/* log_operation with a marker name; 1 when the server acknowledged it. */
static int log_marker(srv *s, const char *name)
{
    cJSON *r = srv_call(s, "log_operation",
                        srv_fmt(s, "{\"event_type\":\"project_update\","
                                   "\"operation_name\":\"%s\",\"project_id\":\"p\"}",
                                name));
    const cJSON *e = r ? cJSON_GetObjectItemCaseSensitive(r, "isError") : NULL;
    return r && !cJSON_IsTrue(e);
}

/* ship from local to central in batches of batch entries (NULL: the
** default for PostgreSQL). */
static srv *start_ship_in(const char *local, const char *central, int follow,
                          const char *batch)
{
    const char *args[9] = {"ship", "--db", local, "--to", central};
    int n = 5;
    if (follow) args[n++] = "--follow";
    if (batch) {
        args[n++] = "--batch";
        args[n++] = batch;
    }
    args[n] = NULL;
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1, .env = key_vars()};
    return srv_start(&o);
}

static srv *start_ship(const char *local, const char *central, int follow)
{
    return start_ship_in(local, central, follow, NULL);
}

/* SIGTERM a shipper and reap it: its exit status. */
static int stop_ship(srv *s)
{
    kill(srv_pid(s), SIGTERM);
    return srv_wait(s);
}

/* `dss-audit-mcp verify --db DB`'s exit status, its output in out. */
static int verify(srv *any, const char *db, const char **out)
{
    const char *args[] = {"verify", "--db", db, NULL};
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1, .env = key_vars()};
    srv *v = srv_start(&o);
    if (!v) return -1;
    int st = srv_wait(v);
    *out = srv_fmt(any, "%s%s", srv_stdout(v), srv_stderr(v));
    srv_free(v);
    return st;
}

/* A command of the binary (its args NULL-ended, with --db in them): its
** exit status; its stdout, kept by any, in *out (stderr on a failure). */
static int run_cmd(srv *any, const char *const *args, const char **out)
{
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1, .env = key_vars()};
    srv *c = srv_start(&o);
    if (!c) return -1;
    int st = srv_wait(c);
    *out = srv_fmt(any, "%s", st == 0 ? srv_stdout(c) : srv_stderr(c));
    srv_free(c);
    return st;
}

/* The conninfo of a cluster started by cluster.sh into state (its env
** file: PGHOST=..., PGPORT=...). */
static int private_conninfo(const char *state, char *out, size_t len)
{
    char path[512], line[512], host[400] = "", port[16] = "5432";
    snprintf(path, sizeof path, "%s/env", state);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "PGHOST=", 7)) snprintf(host, sizeof host, "%.390s", line + 7);
        if (!strncmp(line, "PGPORT=", 7)) snprintf(port, sizeof port, "%.10s", line + 7);
    }
    fclose(f);
    snprintf(out, len, "host=%s port=%s user=postgres dbname=postgres", host, port);
    return host[0] ? 0 : -1;
}

/* Start a cluster of this case's own (cluster.sh) in a new folder made
** from the template state ("/tmp/NAME.XXXXXX"), its conninfo in conninfo:
** the script's path, or NULL when it could not.  stop_private_cluster()
** at the end; remove_leftovers() when a failed check comes first. */
static const char *start_private_cluster(char *state, char *conninfo, size_t len)
{
    const char *script = getenv("DSS_PG_CLUSTER");
    char cmd[1024];
    if (!script || !mkdtemp(state)) return NULL;
    snprintf(private_state, sizeof private_state, "%s", state);
    snprintf(cmd, sizeof cmd, "'%s' start '%s' 2>/dev/null", script, state);
    if (system(cmd) != 0 || private_conninfo(state, conninfo, len) != 0) return NULL;
    return script;
}

/* Run cluster.sh's command what (pause, resume, crash) on state: 0 when
** it succeeded. */
static int cluster_do(const char *script, const char *what, const char *state)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s'", script, what, state);
    return system(cmd);
}

static int stop_private_cluster(const char *script, const char *state)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' stop '%s'; rm -rf '%s'", script, state, state);
    int rc = system(cmd);
    if (rc == 0) private_state[0] = '\0';
    return rc;
}

/* ---- cases -------------------------------------------------------------- */

/* Three machines ship their local logs concurrently while two servers
** share a fourth log directly: every entry arrives exactly once, every
** chain verifies, and history and search see all of them. */
TEST(three_shippers_and_two_direct_servers_make_one_trail)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    enum { MACHINES = 3, PER_MACHINE = 60, DIRECT = 2, PER_DIRECT = 60 };
    srv *m[MACHINES], *d[DIRECT], *sh[MACHINES];
    for (int i = 0; i < MACHINES; i++) {
        CHECK(m[i] = start_serve(NULL, name_of("machine-%d", i, 0)));
    }
    for (int i = 0; i < DIRECT; i++) CHECK(d[i] = start_serve(central, "shared"));
    /* Half the machines' entries exist before shipping starts, half are
    ** written while the shippers follow. */
    for (int k = 0; k < PER_MACHINE / 2; k++)
        for (int i = 0; i < MACHINES; i++)
            CHECK(log_marker(m[i], srv_fmt(m[i], "m%d-%d", i, k)));
    for (int i = 0; i < MACHINES; i++) CHECK(sh[i] = start_ship(srv_db(m[i]), central, 1));
    for (int k = 0; k < PER_MACHINE / 2 || k < PER_DIRECT; k++) {
        for (int i = 0; k < PER_DIRECT && i < DIRECT; i++)
            CHECK(log_marker(d[i], srv_fmt(d[i], "d%d-%d", i, k)));
        for (int i = 0; k < PER_MACHINE / 2 && i < MACHINES; i++)
            CHECK(log_marker(m[i], srv_fmt(m[i], "m%d-%d", i, PER_MACHINE / 2 + k)));
    }
    /* Each machine's log: its markers and the tool_call record of each
    ** tools/call (one per log_operation) -- every entry of the file. */
    long long want_machine = 2LL * PER_MACHINE;
    for (int t = 0; t < 200; t++) {
        int all = 1;
        for (int i = 0; i < MACHINES; i++)
            if (pg_scalar(central, "SELECT count(*) FROM dss_audit.entries e JOIN "
                                   "dss_audit.logs l USING (log_id) WHERE l.name = $1",
                          name_of("machine-%d", i, 0)) != want_machine)
                all = 0;
        if (all) break;
        sleep_ms(50);
    }
    for (int i = 0; i < MACHINES; i++) {
        ASSERT_EQ_INT(stop_ship(sh[i]), 0);
        ASSERT(log_is_exactly(central, name_of("machine-%d", i, 0), want_machine));
    }
    ASSERT(log_is_exactly(central, "shared", 2LL * DIRECT * PER_DIRECT));
    const char *out = NULL;
    ASSERT_EQ_INT(verify(d[0], central, &out), 0);
    /* The tools of a direct server see every log. */
    cJSON *h = srv_call_ok(d[0], "get_operation_history",
                           "{\"project_id\":\"p\",\"event_type\":\"project_update\","
                           "\"limit\":1000}");
    CHECK(h);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(h, "entries")),
                  MACHINES * PER_MACHINE + DIRECT * PER_DIRECT);
    for (int i = 0; i < MACHINES; i++) {
        cJSON *f = srv_call_ok(d[0], "search_audit_log",
                               srv_fmt(d[0], "{\"search_term\":\"m%d-%d\"}", i, PER_MACHINE - 1));
        CHECK(f);
        ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, "entries")), 1);
        char *log = srv_fmt(d[0], "machine-%d", i);
        const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f, "entries"), 0);
        ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e0, "log")), log);
    }
    for (int i = 0; i < MACHINES; i++) srv_free(m[i]);
    for (int i = 0; i < DIRECT; i++) srv_free(d[i]);
}

/* Shipping again stores nothing twice, and the central log keeps the
** local log's id and every entry's id, seq, time and hash. */
TEST(shipping_twice_is_a_no_op_and_keeps_every_byte)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    srv *m = start_serve(NULL, "laptop");
    CHECK(m);
    for (int k = 0; k < 10; k++) CHECK(log_marker(m, srv_fmt(m, "x%d", k)));
    cJSON *local = srv_call_ok(m, "get_operation_history", "{\"operation_name\":\"x3\"}");
    CHECK(local);
    cJSON *le = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(local, "entries"), 0);
    for (int round = 0; round < 2; round++) {
        srv *sh = start_ship(srv_db(m), central, 0);
        CHECK(sh);
        ASSERT_EQ_INT(srv_wait(sh), 0);
        cJSON *sum = cJSON_Parse(srv_stdout(sh));
        CHECK(sum);
        srv_keep(m, sum);
        /* 10 markers, each with its tool_call record, and the record of
        ** the get_operation_history call above. */
        ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "shipped")),
                      round ? 0 : 21);
        srv_free(sh);
    }
    ASSERT(log_is_exactly(central, "laptop", 21));
    const char *fields[] = {"id", "created_at", "hash", "prev_hash", "log_id"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(le, fields[i]));
        CHECK(want);
        const char *sql = srv_fmt(m,
            "SELECT count(*) FROM dss_audit.entries WHERE seq = %d AND "
            "(CASE '%s' WHEN 'hash' THEN encode(hash, 'hex') WHEN 'prev_hash' THEN "
            "encode(prev_hash, 'hex') WHEN 'id' THEN id WHEN 'log_id' THEN log_id "
            "ELSE created_at END) = $1",
            (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(le, "seq")), fields[i]);
        ASSERT_EQ_INT(pg_scalar(central, sql, want), 1);
    }
    srv_free(m);
}

/* The "batches" of a ship summary's only sink. */
static long long sink_batches(const char *summary)
{
    cJSON *j = cJSON_Parse(summary);
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "sinks"), 0);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, "batches");
    long long n = cJSON_IsNumber(b) ? (long long)b->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

/* Into PostgreSQL a batch is one transaction, 10,000 entries by default
** (docs/ship.md); --batch still sets it. */
TEST(shipping_into_postgres_takes_ten_thousand_entries_a_batch_by_default)
{
    char central[512], other[512];
    pgtest_new_db(central, sizeof central);
    pgtest_new_db(other, sizeof other);
    srv *m = start_serve(NULL, "batched");
    CHECK(m);
    enum { N = 1100 }; /* 2,200 entries: three batches of 1000 */
    for (int k = 0; k < N; k++) CHECK(log_marker(m, srv_fmt(m, "b%d", k)));
    srv *sh = start_ship(srv_db(m), central, 0);
    CHECK(sh);
    ASSERT_EQ_INT(srv_wait(sh), 0);
    ASSERT_EQ_INT((int)sink_batches(srv_stdout(sh)), 1);
    srv_free(sh);
    ASSERT(log_is_exactly(central, "batched", 2LL * N));
    sh = start_ship_in(srv_db(m), other, 0, "1000");
    CHECK(sh);
    ASSERT_EQ_INT(srv_wait(sh), 0);
    ASSERT_EQ_INT((int)sink_batches(srv_stdout(sh)), 3);
    srv_free(sh);
    ASSERT(log_is_exactly(other, "batched", 2LL * N));
    srv_free(m);
}

/* A shipper killed with SIGKILL in the middle of a batch, then started
** again: no gap and no duplicate.  Batches of 1000 (the 3000 rows would
** be one batch by default), so that the kill lands after the first. */
TEST(shipper_killed_mid_batch_then_restarted_has_no_gap_or_duplicate)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    srv *m = start_serve(NULL, "killed");
    CHECK(m);
    enum { N = 1500 };
    for (int k = 0; k < N; k++) CHECK(log_marker(m, srv_fmt(m, "k%d", k)));
    srv *sh = start_ship_in(srv_db(m), central, 1, "1000");
    CHECK(sh);
    long long got = 0;
    for (int t = 0; t < 4000 && got <= 0; t++) {
        got = pg_scalar(central, "SELECT count(*) FROM dss_audit.entries", NULL);
        if (got <= 0) sleep_ms(5);
    }
    kill(srv_pid(sh), SIGKILL);
    srv_wait(sh);
    srv_free(sh);
    got = pg_scalar(central, "SELECT count(*) FROM dss_audit.entries", NULL);
    ASSERT(got > 0);
    sh = start_ship(srv_db(m), central, 0);
    CHECK(sh);
    ASSERT_EQ_INT(srv_wait(sh), 0);
    srv_free(sh);
    ASSERT(log_is_exactly(central, "killed", 2LL * N));
    const char *out = NULL;
    ASSERT_EQ_INT(verify(m, central, &out), 0);
    srv_free(m);
}

/* A batch that breaks the chain is refused and reported, never stored:
** here the central log already holds other entries under the same log_id
** (a local file restored from an older copy and written again). */
TEST(a_break_in_the_chain_is_refused_and_nothing_is_stored)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    srv *m = start_serve(NULL, "forked");
    CHECK(m);
    for (int k = 0; k < 3; k++) CHECK(log_marker(m, srv_fmt(m, "a%d", k)));
    char copy[4200];
    snprintf(copy, sizeof copy, "%s.copy", srv_db(m));
    /* A consistent copy of the file as it is now (the server is idle). */
    char *cmd = srv_fmt(m, "sqlite3 '%s' \".backup '%s'\"", srv_db(m), copy);
    ASSERT_EQ_INT(system(cmd), 0);
    for (int k = 0; k < 3; k++) CHECK(log_marker(m, srv_fmt(m, "b%d", k)));
    srv *sh = start_ship(srv_db(m), central, 0);
    CHECK(sh);
    ASSERT_EQ_INT(srv_wait(sh), 0);
    srv_free(sh);
    /* The copy, written again, diverges from seq 7 on. */
    srv *fork_ = start_serve(copy, "forked");
    CHECK(fork_);
    for (int k = 0; k < 5; k++) CHECK(log_marker(fork_, srv_fmt(fork_, "c%d", k)));
    srv_wait(fork_);
    long long before = pg_scalar(central, "SELECT count(*) FROM dss_audit.entries", NULL);
    sh = start_ship(copy, central, 0);
    CHECK(sh);
    ASSERT_EQ_INT(srv_wait(sh), 1);
    ASSERT_CONTAINS(srv_stderr(sh), "does not link to the previous entry");
    ASSERT_CONTAINS(srv_stderr(sh), "nothing of the batch was stored");
    ASSERT_EQ_INT(pg_scalar(central, "SELECT count(*) FROM dss_audit.entries", NULL), before);
    srv_free(sh);
    srv_free(fork_);
    srv_free(m);
}

/* PostgreSQL stopped while direct servers write: their writes fail with an
** isError result (they do not exit), nothing they acknowledged is lost,
** and writes succeed again once it is back.  This case runs its own
** cluster, which it stops and starts. */
TEST(postgres_stopped_while_servers_write_then_back)
{
    CHECK(key_vars());
    char state[] = "/tmp/dss-pgstop.XXXXXX", conninfo[512];
    const char *script = start_private_cluster(state, conninfo, sizeof conninfo);
    CHECK(script);
    srv *d[2];
    for (int i = 0; i < 2; i++) CHECK(d[i] = start_serve(conninfo, "outage"));
    /* And a machine shipping its local log through the outage. */
    srv *m = start_serve(NULL, "outage-laptop");
    CHECK(m);
    CHECK(log_marker(m, name_of("local-first-%d-%d", 0, 0)));
    srv *sh = start_ship(srv_db(m), conninfo, 1);
    CHECK(sh);
    /* The names of the markers a server acknowledged. */
    static char acked_names[400][48];
    int acked = 0;
#define MARK(srv_, fmt, a, b)                                                \
    do {                                                                     \
        const char *n_ = name_of(fmt, a, b);                                 \
        if (log_marker(srv_, n_)) {                                          \
            snprintf(acked_names[acked++], sizeof acked_names[0], "%s", n_); \
            ok_ = 1;                                                         \
        } else {                                                             \
            ok_ = 0;                                                         \
        }                                                                    \
    } while (0)
    int ok_ = 0;
    for (int k = 0; k < 20; k++)
        for (int i = 0; i < 2; i++) MARK(d[i], "before-%d-%d", i, k);
    ASSERT_EQ_INT(acked, 40);
    ASSERT_EQ_INT(cluster_do(script, "pause", state), 0);
    int failed = 0;
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 2; i++) {
            MARK(d[i], "during-%d-%d", i, k);
            failed += !ok_;
        }
    ASSERT(failed > 0);
    for (int i = 0; i < 2; i++) CHECK(srv_alive(d[i]));
    /* The local log goes on while the database is away. */
    for (int k = 0; k < 10; k++) CHECK(log_marker(m, name_of("local-%d-%d", k, 0)));
    ASSERT_EQ_INT(cluster_do(script, "resume", state), 0);
    /* Reconnecting backs off for at most a few seconds. */
    int back = 0;
    for (int t = 0; t < 100 && back < 2; t++) {
        back = 0;
        for (int i = 0; i < 2; i++) {
            MARK(d[i], "after-%d-%d", i, t);
            back += ok_;
        }
        if (back < 2) sleep_ms(100);
    }
    ASSERT_EQ_INT(back, 2);
    /* Every acknowledged marker is there (each tools/call also records
    ** itself; only the markers are counted). */
    /* The shipper waited the outage out: the whole local log arrives. */
    for (int k = 0; k < 5; k++) CHECK(log_marker(m, name_of("local-after-%d-%d", k, 0)));
    long long local_n = 2 * (1 + 10 + 5);
    for (int t = 0; t < 300; t++) {
        if (pg_scalar(conninfo, "SELECT count(*) FROM dss_audit.entries e JOIN dss_audit.logs l"
                                " USING (log_id) WHERE l.name = $1", "outage-laptop") == local_n)
            break;
        sleep_ms(50);
    }
    int ship_status = stop_ship(sh);
    if (ship_status != 0) TEST_FAIL_("ship exited %d: %s", ship_status, srv_stderr(sh));
    ASSERT_CONTAINS(srv_stderr(sh), "retrying");
    srv_free(sh);
    ASSERT(log_is_exactly(conninfo, "outage-laptop", local_n));
    srv_free(m);
    for (int i = 0; i < acked; i++)
        ASSERT_EQ_INT(pg_scalar(conninfo,
                                "SELECT count(*) FROM dss_audit.entries WHERE operation_name = $1",
                                acked_names[i]),
                      1);
#undef MARK
    const char *out = NULL;
    ASSERT_EQ_INT(verify(d[0], conninfo, &out), 0);
    for (int i = 0; i < 2; i++) srv_free(d[i]);
    ASSERT_EQ_INT(stop_private_cluster(script, state), 0);
}

/* The commands for people read a shared database: query across logs or
** one, and the evidence report of one log (verified, with its entries
** only). */
TEST(query_and_report_read_a_shared_database)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    srv *a = start_serve(central, "log-a"), *b = start_serve(central, "log-b");
    CHECK(a);
    CHECK(b);
    CHECK(log_marker(a, "marker-of-a"));
    CHECK(log_marker(b, "marker-of-b"));
    const char *all[] = {"query", "--db", central, "--operation-name", "marker-of-b", "--json",
                         NULL};
    srv_opts o = {.args = all, .no_db = 1, .no_actor = 1, .env = key_vars()};
    srv *q = srv_start(&o);
    CHECK(q);
    ASSERT_EQ_INT(srv_wait(q), 0);
    ASSERT_CONTAINS(srv_stdout(q), "\"log\":\"log-b\"");
    srv_free(q);
    char out[600];
    snprintf(out, sizeof out, "%s/report.html", srv_dir(a));
    const char *rep[] = {"report", "--db", central, "--log", "log-a", "--since", "2000-01-01",
                         "--until", "2100-01-01", "--output", out, NULL};
    o.args = rep;
    srv *r = srv_start(&o);
    CHECK(r);
    int st = srv_wait(r);
    if (st != 0) TEST_FAIL_("report exited %d: %s", st, srv_stderr(r));
    srv_free(r);
    size_t n = 0;
    char *html = srv_read_file(a, out, &n);
    CHECK(html);
    ASSERT(h_memmem(html, n, "marker-of-a"));
    ASSERT(!h_memmem(html, n, "marker-of-b"));
    srv_free(a);
    srv_free(b);
}

/* A log shipped to the central database has the same Merkle tree there:
** the checkpoint note signed on the agent's machine (shipped with the
** entries) verifies against the central copy byte for byte (verify
** --since, and the full verify walking the central tree), and an entry's
** proof made centrally is the very proof made locally, which verify-proof
** accepts with the agent's verifier key. */
TEST(a_shipped_log_proves_the_same_entries_with_the_same_root_centrally)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    srv *m = start_serve(NULL, "laptop");
    CHECK(m);
    for (int k = 0; k < 9; k++) CHECK(log_marker(m, name_of("t%d", k, 0)));
    const char *local = srv_db(m), *out = NULL;
    const char *note_args[] = {"checkpoint", "--note", "--db", local, NULL};
    ASSERT_EQ_INT(run_cmd(m, note_args, &out), 0);
    const char *note = out;
    ASSERT_CONTAINS(note, "\n18\n"); /* 9 markers and their tool_call records */
    const char *vkey_args[] = {"public-key", "--note", "--db", local, NULL};
    ASSERT_EQ_INT(run_cmd(m, vkey_args, &out), 0);
    char vkey[512];
    snprintf(vkey, sizeof vkey, "%.*s", (int)strcspn(out, "\n"), out);
    const char *lp_args[] = {"prove", "--seq", "7", "--db", local, NULL};
    ASSERT_EQ_INT(run_cmd(m, lp_args, &out), 0);
    const char *local_proof = out;

    srv *sh = start_ship(local, central, 0);
    CHECK(sh);
    ASSERT_EQ_INT(srv_wait(sh), 0);
    srv_free(sh);

    /* The agent's note against the central tree. */
    char path[600];
    snprintf(path, sizeof path, "%s/laptop.note", srv_dir(m));
    FILE *f = fopen(path, "w");
    CHECK(f);
    CHECK(fputs(note, f) >= 0 && fclose(f) == 0);
    const char *since_args[] = {"verify", "--db", central, "--log", "laptop", "--since", path,
                                NULL};
    int st = run_cmd(m, since_args, &out);
    if (st != 0) TEST_FAIL_("verify --since exited %d: %s", st, out);
    const char *full_args[] = {"verify", "--db", central, "--log", "laptop", NULL};
    st = run_cmd(m, full_args, &out);
    if (st != 0) TEST_FAIL_("verify exited %d: %s", st, out);
    cJSON *v = cJSON_Parse(out);
    CHECK(v);
    srv_keep(m, v);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "ok")));

    /* The same proof, byte for byte, from the central copy; valid offline. */
    const char *cp_args[] = {"prove", "--seq", "7", "--db", central, "--log", "laptop", NULL};
    st = run_cmd(m, cp_args, &out);
    if (st != 0) TEST_FAIL_("prove centrally exited %d: %s", st, out);
    ASSERT_EQ_STR(out, local_proof);
    snprintf(path, sizeof path, "%s/seq7.tlog-proof", srv_dir(m));
    f = fopen(path, "w");
    CHECK(f);
    CHECK(fputs(out, f) >= 0 && fclose(f) == 0);
    const char *vp_args[] = {"verify-proof", path, "--key", vkey, NULL};
    st = run_cmd(m, vp_args, &out);
    if (st != 0) TEST_FAIL_("verify-proof exited %d: %s", st, out);
    ASSERT_CONTAINS(out, "valid");

    /* A consistency proof made centrally ends in the agent's own note. */
    const char *grew_args[] = {"prove", "--consistency", "5", "--db", central, "--log",
                               "laptop", NULL};
    ASSERT_EQ_INT(run_cmd(m, grew_args, &out), 0);
    ASSERT_CONTAINS(out, note);
    srv_free(m);
}

/* `stats` on a database of two logs: every log totalled, each log's part
** in "logs"; with --log, that log alone (it counted every log's entries as
** that log's before). */
TEST(stats_total_every_log_of_a_shared_database_or_one)
{
    char central[512];
    pgtest_new_db(central, sizeof central);
    srv *a = start_serve(central, "log-a"), *b = start_serve(central, "log-b");
    CHECK(a);
    CHECK(b);
    /* log_operation records two entries: the entry and its tool_call. */
    for (int i = 0; i < 3; i++) CHECK(log_marker(a, name_of("a-%d-%d", i, 0)));
    CHECK(log_marker(b, "b-0"));
    const char *every[] = {"stats", "--db", central, "--json", NULL};
    srv_opts o = {.args = every, .no_db = 1, .no_actor = 1, .env = key_vars()};
    srv *q = srv_start(&o);
    CHECK(q);
    ASSERT_EQ_INT(srv_wait(q), 0);
    cJSON *all = cJSON_Parse(srv_stdout(q));
    CHECK(all);
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(all, "entries")->valuedouble, 8);
    ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(all, "log_id")));
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(all, "logs"), *l;
    ASSERT_EQ_INT(cJSON_GetArraySize(logs), 2);
    cJSON_ArrayForEach(l, logs) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "log"));
        double n = cJSON_GetObjectItemCaseSensitive(l, "entries")->valuedouble;
        ASSERT_EQ_INT(n, name && strcmp(name, "log-a") == 0 ? 6 : 2);
    }
    cJSON_Delete(all);
    srv_free(q);
    const char *one[] = {"stats", "--db", central, "--log", "log-b", "--json", NULL};
    o.args = one;
    q = srv_start(&o);
    CHECK(q);
    ASSERT_EQ_INT(srv_wait(q), 0);
    cJSON *only = cJSON_Parse(srv_stdout(q));
    CHECK(only);
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(only, "entries")->valuedouble, 2);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(only, "log")), "log-b");
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(only, "last_seq")->valuedouble, 2);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(only, "logs")), 1);
    cJSON_Delete(only);
    srv_free(q);
    srv_free(a);
    srv_free(b);
}

/* The hook-only build (dss-audit-mcp-hook, without libpq) hands an event
** for a shared database to dss-audit-mcp beside it: the event lands in the
** central database, with the exit status and silence of a recorded one. */
TEST(hook_only_build_hands_a_shared_database_to_dss_audit_mcp)
{
    char central[512], full[600], lean[640];
    pgtest_new_db(central, sizeof central);
    snprintf(full, sizeof full, "%s", getenv("DSS_BIN"));
    char *slash = strrchr(full, '/');
    CHECK(slash);
    snprintf(lean, sizeof lean, "%.*s/dss-audit-mcp-hook", (int)(slash - full), full);
    const char *args[] = {"hook", "--client", "claude-code", "--db", central, "--log", "hooks",
                          "--actor", "e2e", NULL};
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1, .env = key_vars()};
    setenv("DSS_BIN", lean, 1);
    srv *h = srv_start(&o);
    setenv("DSS_BIN", full, 1);
    CHECK(h);
    CHECK(srv_send_line(h, "{\"session_id\":\"s1\",\"cwd\":\"/w\",\"hook_event_name\":"
                           "\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":"
                           "{\"command\":\"make\"},\"tool_use_id\":\"toolu_pg\"}") == 0);
    int st = srv_wait(h);
    if (st != 0 || srv_stderr(h)[0]) TEST_FAIL_("hook exited %d: %s", st, srv_stderr(h));
    srv_free(h);
    const char *q[] = {"query", "--db", central, "--log", "hooks", "--json", NULL};
    o.args = q;
    srv *r = srv_start(&o);
    CHECK(r);
    ASSERT_EQ_INT(srv_wait(r), 0);
    ASSERT_CONTAINS(srv_stdout(r), "toolu_pg");
    srv_free(r);
}


/* Servers of one log commit without holding its head through the WAL
** flush (store_pg_write.c), and answer only once the flush is done: a
** crash of PostgreSQL right after the last answer (the WAL writer made
** lazy, so that only the commits themselves flush) loses no acknowledged
** entry, and the chain verifies after recovery. */
TEST(postgres_crash_right_after_acknowledgements_loses_none)
{
    CHECK(key_vars());
    char state[] = "/tmp/dss-pgcrash.XXXXXX", conninfo[512];
    const char *script = start_private_cluster(state, conninfo, sizeof conninfo);
    CHECK(script);
    ASSERT_EQ_INT(pg_do(conninfo, "ALTER SYSTEM SET wal_writer_delay = '10s'"), 0);
    ASSERT_EQ_INT(pg_do(conninfo, "ALTER SYSTEM SET wal_writer_flush_after = '64MB'"), 0);
    ASSERT_EQ_INT(pg_do(conninfo, "SELECT pg_reload_conf()"), 0);
    srv *d[3];
    for (int i = 0; i < 3; i++) CHECK(d[i] = start_serve(conninfo, "crash"));
    static char acked_names[300][48];
    int acked = 0;
    for (int k = 0; k < 100; k++)
        for (int i = 0; i < 3; i++) {
            const char *n = name_of("acked-%d-%d", i, k);
            if (log_marker(d[i], n)) snprintf(acked_names[acked++], sizeof acked_names[0], "%s", n);
        }
    ASSERT_EQ_INT(acked, 300);
    ASSERT_EQ_INT(cluster_do(script, "crash", state), 0);
    for (int i = 0; i < 3; i++) srv_free(d[i]);
    ASSERT_EQ_INT(cluster_do(script, "resume", state), 0);
    for (int i = 0; i < acked; i++)
        ASSERT_EQ_INT(pg_scalar(conninfo,
                                "SELECT count(*) FROM dss_audit.entries WHERE operation_name = $1",
                                acked_names[i]),
                      1);
    srv *any = start_serve(NULL, "crash-reader");
    CHECK(any);
    const char *out = NULL;
    int vst = verify(any, conninfo, &out);
    if (vst != 0) TEST_FAIL_("verify exited %d: %s", vst, out);
    srv_free(any);
    ASSERT_EQ_INT(stop_private_cluster(script, state), 0);
}

TEST_MAIN(
    TEST_ENTRY(postgres_crash_right_after_acknowledgements_loses_none)
    TEST_ENTRY(hook_only_build_hands_a_shared_database_to_dss_audit_mcp)
    TEST_ENTRY(query_and_report_read_a_shared_database)
    TEST_ENTRY(stats_total_every_log_of_a_shared_database_or_one)
    TEST_ENTRY(three_shippers_and_two_direct_servers_make_one_trail)
    TEST_ENTRY(shipping_twice_is_a_no_op_and_keeps_every_byte)
    TEST_ENTRY(shipping_into_postgres_takes_ten_thousand_entries_a_batch_by_default)
    TEST_ENTRY(a_shipped_log_proves_the_same_entries_with_the_same_root_centrally)
    TEST_ENTRY(shipper_killed_mid_batch_then_restarted_has_no_gap_or_duplicate)
    TEST_ENTRY(a_break_in_the_chain_is_refused_and_nothing_is_stored)
    TEST_ENTRY(postgres_stopped_while_servers_write_then_back)
)
