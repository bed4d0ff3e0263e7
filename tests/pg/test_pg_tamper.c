/*
** test_pg_tamper.c: tampering with the central PostgreSQL database as its
** superuser, and `verify` (the real binary, $DSS_BIN) catching each kind:
** triggers dropped, a row edited, a row deleted, the newest rows deleted, a
** checkpoint's signature altered, a log's key replaced.  Each case fills
** two logs through the store API with signed checkpoints, tampers with one
** through pgtest_exec(), and expects `verify` to exit 1 with a problem of
** the right kind naming the tampered log (name and id) and no problem of
** the other log.  The superuser is the one who can: a writer role cannot
** change entries at all (pg_store.writer_role_cannot_change_entries), and
** session_replication_role = replica is how a superuser gets past the row
** triggers without dropping them.  Also here: retention on PostgreSQL
** (`prune` over two logs, partitions dropped with the last, `verify`
** passing on the anchors).
*/
#include "test.h"
#include "pgtest.h"
#include "integrity/checkpoint.h"
#include "integrity/signer.h"
#include "store/chain.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct tfx {
    char db[512];
    char dir[64];
    int made; /* dir was created */
    char key[128];
    char id[2][37]; /* log ids of "laptop" and "ci" */
    char pk[SIGNER_PK_HEX]; /* the key both logs are signed with */
    char out[65536];
    char err[16384];
    cJSON *report;
} tfx;

static const char *const names[2] = {"laptop", "ci"};

static char *slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, len - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* Run `$DSS_BIN <args>` with the store's conninfo as --db; its exit code,
** stdout in t->out and stderr in t->err. */
static int run_bin(tfx *t, const char *fmt, ...)
{
    char args[2048], cmd[4096], o[128], e[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/out", t->dir);
    snprintf(e, sizeof e, "%s/err", t->dir);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", getenv("DSS_BIN"), args, o, e);
    int rc = system(cmd);
    slurp(o, t->out, sizeof t->out);
    slurp(e, t->err, sizeof t->err);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* verify --db <db> --key <key> extra; the report in t->report. */
static int run_verify(tfx *t, const char *extra)
{
    int rc = run_bin(t, "verify --db '%s' --key '%s' %s", t->db, t->key, extra ? extra : "");
    cJSON_Delete(t->report);
    t->report = cJSON_Parse(t->out);
    return rc;
}

/* Append n entries to the store's own log, each commit a group of its own,
** with a checkpoint after every 5th and at the end. */
static int fill(store *st, const signer *sg, int n, char *err)
{
    store_receipt r;
    store_checkpoint cp;
    for (int i = 1; i <= n; i++) {
        char args[64];
        snprintf(args, sizeof args, "{\"i\":%d,\"note\":\"abcdefgh\"}", i);
        store_record rec = {.event_type = "tool_call", .operation_name = "op",
                            .user_id = "alice", .project_id = "p1", .args = args};
        if (store_begin(st, err) != STORE_OK) return -1;
        if (store_append(st, &rec, &r, err) != STORE_OK) {
            store_rollback(st);
            return -1;
        }
        if (store_commit(st, err) != STORE_OK) return -1;
        if ((i % 5 == 0 || i == n) && checkpoint_now(st, sg, &cp, err) != STORE_OK) return -1;
    }
    return 0;
}

/* A fresh database holding the logs laptop and ci, 12 entries each, both
** signed by one key whose .pub verify trusts. */
static void setup(int *test_failed_, tfx *t)
{
    char err[512];
    memset(t, 0, sizeof *t);
    ASSERT(chain_init() == 0);
    pgtest_new_db(t->db, sizeof t->db);
    snprintf(t->dir, sizeof t->dir, "/tmp/pgtamper.XXXXXX");
    ASSERT(mkdtemp(t->dir));
    t->made = 1;
    snprintf(t->key, sizeof t->key, "%s/signing.key", t->dir);
    signer sg;
    if (signer_load(t->key, 1, &sg, err, sizeof err) != 0) TEST_FAIL_("key: %s", err);
    snprintf(t->pk, sizeof t->pk, "%s", sg.pk_hex);
    for (int i = 0; i < 2; i++) {
        store *st = NULL;
        store_options o = {.path = t->db, .log_name = names[i]};
        if (store_open(&o, &st, err) != STORE_OK) TEST_FAIL_("open: %s", err);
        if (store_record_log_key(st, sg.pk_hex, err) != STORE_OK) TEST_FAIL_("key: %s", err);
        if (fill(st, &sg, 12, err) != 0) TEST_FAIL_("fill: %s", err);
        snprintf(t->id[i], sizeof t->id[i], "%s", store_log_id(st));
        store_close(st);
    }
    signer_wipe(&sg);
    /* Untouched, both logs verify. */
    int rc = run_verify(t, NULL);
    if (rc != 0) TEST_FAIL_("verify of the untouched logs exited %d: %s%s", rc, t->out, t->err);
    ASSERT(t->report);
    ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t->report, "logs")), 2);
}

static void teardown(tfx *t)
{
    char cmd[128];
    cJSON_Delete(t->report);
    t->report = NULL;
    if (!t->made) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", t->dir);
}

/* Run a helper taking the case's failure flag; on failure, clean up and
** end the case. */
#define CALL(t, fn, ...)                                                    \
    do {                                                                    \
        fn(test_failed_, __VA_ARGS__);                                      \
        if (*test_failed_) {                                                \
            teardown(t);                                                    \
            return;                                                         \
        }                                                                   \
    } while (0)

/* As the superuser, past the row triggers but leaving them in place. */
static void superuser(int *test_failed_, tfx *t, const char *fmt, ...)
{
    char sql[2048], all[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    snprintf(all, sizeof all, "SET session_replication_role = replica; %s", sql);
    if (pgtest_exec(t->db, all) != 0) TEST_FAIL_("tampering failed: %s", sql);
}

/* verify exits 1; a problem of kind at seq (-1: any) names the log ci and
** holds words; no problem names laptop. */
static void expect_caught(int *test_failed_, tfx *t, const char *extra, const char *kind,
                          long long seq, const char *words)
{
    int rc = run_verify(t, extra);
    if (rc != 1 || !t->report)
        TEST_FAIL_("verify should exit 1, exited %d: %s%s", rc, t->out, t->err);
    ASSERT(!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t->report, "ok")));
    int found = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(t->report, "problems")) {
        const char *log = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log_id"));
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "kind"));
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
        double s = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "seq"));
        ASSERT(log && id && k && d);
        if (strcmp(kind, "unprotected") != 0 && strcmp(log, "laptop") == 0)
            TEST_FAIL_("a problem names the untouched log: %s", t->out);
        if (strcmp(log, "ci") == 0 && strcmp(id, t->id[1]) == 0 && strcmp(k, kind) == 0 &&
            (seq < 0 || (long long)s == seq) && (!words || strstr(d, words)))
            found = 1;
    }
    if (!found)
        TEST_FAIL_("no '%s' problem at seq %lld naming log ci (%s)%s%s: %s", kind, seq,
                   t->id[1], words ? " with " : "", words ? words : "", t->out);
    /* The line on stderr names the log too. */
    char line[160];
    snprintf(line, sizeof line, "log ci (%s) seq ", t->id[1]);
    if (!strstr(t->err, line)) TEST_FAIL_("stderr does not name the log: %s", t->err);
}

TEST(triggers_dropped)
{
    tfx t;
    CALL(&t, setup, &t);
    ASSERT_EQ_INT(pgtest_exec(t.db, "DROP TRIGGER entries_no_change ON dss_audit.entries"), 0);
    CALL(&t, expect_caught, &t, NULL, "unprotected", 0, "entries_no_change");
    /* Every log is told, since every log lost its guard. */
    ASSERT(strstr(t.out, t.id[0]) != NULL);
    teardown(&t);
}

TEST(trigger_disabled_on_a_partition)
{
    tfx t;
    CALL(&t, setup, &t);
    char part[64];
    long long y = pgtest_value(t.db, "SELECT substr(max(created_at), 1, 4)::int"
                                     " FROM dss_audit.entries");
    long long m = pgtest_value(t.db, "SELECT substr(max(created_at), 6, 2)::int"
                                     " FROM dss_audit.entries");
    snprintf(part, sizeof part, "dss_audit.entries_%04lld_%02lld", y, m);
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE %s DISABLE TRIGGER entries_no_truncate", part);
    ASSERT_EQ_INT(pgtest_exec(t.db, sql), 0);
    CALL(&t, expect_caught, &t, NULL, "unprotected", 0, "entries_no_truncate");
    teardown(&t);
}

TEST(row_edited_by_superuser)
{
    tfx t;
    CALL(&t, setup, &t);
    CALL(&t, superuser, &t, "UPDATE dss_audit.entries SET args = replace(args, 'abcdefgh', 'abcdefgX')"
                  " WHERE log_id = '%s' AND seq = 7", t.id[1]);
    CALL(&t, expect_caught, &t, NULL, "modified", 7, NULL);
    teardown(&t);
}

TEST(row_deleted)
{
    tfx t;
    CALL(&t, setup, &t);
    CALL(&t, superuser, &t, "DELETE FROM dss_audit.entries WHERE log_id = '%s' AND seq = 4", t.id[1]);
    CALL(&t, expect_caught, &t, NULL, "missing", 4, NULL);
    teardown(&t);
}

TEST(newest_rows_deleted)
{
    tfx t;
    CALL(&t, setup, &t);
    CALL(&t, superuser, &t, "DELETE FROM dss_audit.entries WHERE log_id = '%s' AND seq > 9", t.id[1]);
    CALL(&t, expect_caught, &t, NULL, "truncated", 12, NULL);
    teardown(&t);
}

TEST(checkpoint_signature_altered)
{
    tfx t;
    CALL(&t, setup, &t);
    CALL(&t, superuser, &t, "UPDATE dss_audit.checkpoints SET signature ="
                  " CASE WHEN left(signature, 1) = '0' THEN '1' ELSE '0' END"
                  " || substr(signature, 2) WHERE log_id = '%s' AND number = 2", t.id[1]);
    CALL(&t, expect_caught, &t, NULL, "bad_signature", 10, "invalid signature");
    teardown(&t);
}

TEST(log_key_replaced)
{
    tfx t;
    CALL(&t, setup, &t);
    char err[512], other[160];
    snprintf(other, sizeof other, "%s/other.key", t.dir);
    signer o;
    if (signer_load(other, 1, &o, err, sizeof err) != 0) TEST_FAIL_("key: %s", err);
    /* The administrator swaps the recorded key: the checkpoints' own key no
    ** longer matches it... */
    CALL(&t, superuser, &t, "ALTER TABLE dss_audit.logs DISABLE TRIGGER logs_guard;"
                  " UPDATE dss_audit.logs SET public_key = '%s' WHERE log_id = '%s';"
                  " ALTER TABLE dss_audit.logs ENABLE TRIGGER logs_guard",
              o.pk_hex, t.id[1]);
    CALL(&t, expect_caught, &t, NULL, "bad_signature", -1, "recorded key");
    /* ...and with the keys kept elsewhere, the swapped key itself is
    ** refused, whatever signed the checkpoints. */
    char path[160];
    snprintf(path, sizeof path, "%s/trusted.keys", t.dir);
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fprintf(f, "# the team's keys\nlaptop %s\nci %s\n", t.pk, t.pk);
    ASSERT_EQ_INT(fclose(f), 0);
    char extra[200];
    snprintf(extra, sizeof extra, "--trusted-keys '%s'", path);
    CALL(&t, expect_caught, &t, extra, "bad_signature", 0, "not a trusted key");
    /* A checkpoint signed by the swapped key, as the administrator would
    ** add to make the log look whole, is refused by the trusted keys. */
    store *st = NULL;
    store_options so = {.path = t.db, .log_name = "ci"};
    store_checkpoint cp;
    if (store_open(&so, &st, err) != STORE_OK) TEST_FAIL_("open: %s", err);
    if (checkpoint_now(st, &o, &cp, err) != STORE_OK) TEST_FAIL_("checkpoint: %s", err);
    store_close(st);
    CALL(&t, expect_caught, &t, extra, "bad_signature", 12, "not a trusted one");
    signer_wipe(&o);
    teardown(&t);
}

/* ---- retention ---- */

/* A log shipped in with entries of January to March 2025, two a month. */
typedef struct old_log {
    store_raw_entry e[6];
    char ids[6][40], ts[6][TS_BUFLEN], args[6][32];
} old_log;

static void build_old(old_log *c, int which)
{
    uint8_t prev[CHAIN_HASH_BYTES] = {0};
    for (int i = 0; i < 6; i++) {
        snprintf(c->ids[i], sizeof c->ids[i], "0190cccc-0000-7000-8000-0000000000%d%d", which, i);
        snprintf(c->ts[i], sizeof c->ts[i], "2025-%02d-%02dT10:00:00.000000Z", 1 + i / 2,
                 10 + 10 * (i % 2) + which);
        snprintf(c->args[i], sizeof c->args[i], "{\"i\":%d}", i);
        store_raw_entry *e = &c->e[i];
        memset(e, 0, sizeof *e);
        e->f = (chain_fields){.seq = i + 1, .id = c->ids[i], .event_type = "tool_call",
                              .operation_name = "old", .args = c->args[i],
                              .created_at = c->ts[i], .user_id = "bob"};
        memcpy(e->prev_hash, prev, CHAIN_HASH_BYTES);
        chain_entry_hash(&e->f, prev, e->hash);
        e->hashes_ok = 1;
        memcpy(prev, e->hash, CHAIN_HASH_BYTES);
    }
}

static long long partitions(tfx *t, const char *month)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
             " WHERE i.inhparent = 'dss_audit.entries'::regclass AND c.relname = 'entries_%s'",
             month);
    return pgtest_value(t->db, sql);
}

TEST(prune_drops_partitions_once_every_log_is_pruned)
{
    tfx t;
    memset(&t, 0, sizeof t);
    char err[512];
    ASSERT(chain_init() == 0);
    pgtest_new_db(t.db, sizeof t.db);
    snprintf(t.dir, sizeof t.dir, "/tmp/pgprune.XXXXXX");
    ASSERT(mkdtemp(t.dir));
    t.made = 1;
    snprintf(t.key, sizeof t.key, "%s/signing.key", t.dir);
    signer sg;
    if (signer_load(t.key, 1, &sg, err, sizeof err) != 0) TEST_FAIL_("key: %s", err);
    signer_wipe(&sg);
    store *st = NULL;
    store_options o = {.path = t.db, .log_name = "central"};
    if (store_open(&o, &st, err) != STORE_OK) TEST_FAIL_("open: %s", err);
    static old_log logs[2];
    for (int i = 0; i < 2; i++) {
        store_log l;
        memset(&l, 0, sizeof l);
        snprintf(l.log_id, sizeof l.log_id, "0190dddd-0000-7000-8000-00000000000%d", i);
        snprintf(l.name, sizeof l.name, "%s", names[i]);
        snprintf(t.id[i], sizeof t.id[i], "%s", l.log_id);
        build_old(&logs[i], i);
        int64_t stored = 0, skipped = 0;
        if (store_ensure_log(st, &l, err) != STORE_OK || store_begin(st, err) != STORE_OK ||
            store_import(st, logs[i].e, 6, &stored, &skipped, err) != STORE_OK ||
            store_commit(st, err) != STORE_OK)
            TEST_FAIL_("import: %s", err);
        ASSERT_EQ_INT(stored, 6);
    }
    store_close(st);
    ASSERT_EQ_INT(partitions(&t, "2025_01"), 1);
    ASSERT_EQ_INT(run_verify(&t, NULL), 0);

    /* One log pruned: its January and February go to its archive and
    ** behind its anchor, but the partitions stay for the other log. */
    int rc = run_bin(&t, "prune --db '%s' --key '%s' --log laptop --before 2025-03-15"
                         " --archive '%s/laptop.jsonl'", t.db, t.key, t.dir);
    if (rc != 0) TEST_FAIL_("prune exited %d: %s", rc, t.err);
    ASSERT_EQ_INT(partitions(&t, "2025_01"), 1);
    ASSERT_EQ_INT(partitions(&t, "2025_02"), 1);
    rc = run_verify(&t, NULL);
    if (rc != 0) TEST_FAIL_("verify after one prune exited %d: %s%s", rc, t.out, t.err);
    char extra[256];
    snprintf(extra, sizeof extra, "--log laptop --archive '%s/laptop.jsonl'", t.dir);
    rc = run_verify(&t, extra);
    if (rc != 0) TEST_FAIL_("verify with the archive exited %d: %s%s", rc, t.out, t.err);

    /* Every log: the last call drops January and February; March stays. */
    rc = run_bin(&t, "prune --db '%s' --key '%s' --before 2025-03-15 --archive '%s/all.jsonl'",
                 t.db, t.key, t.dir);
    if (rc != 0) TEST_FAIL_("prune of every log exited %d: %s", rc, t.err);
    ASSERT_EQ_INT(partitions(&t, "2025_01"), 0);
    ASSERT_EQ_INT(partitions(&t, "2025_02"), 0);
    ASSERT_EQ_INT(partitions(&t, "2025_03"), 1);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT count(*) FROM dss_audit.entries"), 4);
    char path[200];
    snprintf(path, sizeof path, "%s/all.jsonl.%s", t.dir, t.id[1]);
    ASSERT(access(path, R_OK) == 0);
    rc = run_verify(&t, NULL);
    if (rc != 0) TEST_FAIL_("verify after pruning exited %d: %s%s", rc, t.out, t.err);
    snprintf(extra, sizeof extra, "--log ci --archive '%s'", path);
    rc = run_verify(&t, extra);
    if (rc != 0) TEST_FAIL_("verify of ci's archive exited %d: %s%s", rc, t.out, t.err);
    /* The counters, by day and by hour, no longer count what was dropped. */
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT coalesce(sum(n), 0) FROM dss_audit.activity_daily"),
                  4);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT coalesce(sum(n), 0) FROM dss_audit.activity_hourly"),
                  4);
    teardown(&t);
}

/* ---- the roles of docs/postgres.md ---- */

/* The fenced block opened by "```sql <tag>" in docs/postgres.md, into out. */
static int doc_block(const char *tag, char *out, size_t len)
{
    char path[1024], doc[65536], open_line[64];
    snprintf(path, sizeof path, "%s/docs/postgres.md", getenv("DSS_SOURCE_DIR"));
    slurp(path, doc, sizeof doc);
    snprintf(open_line, sizeof open_line, "\n```sql %s\n", tag);
    const char *a = strstr(doc, open_line);
    if (!a) return -1;
    a += strlen(open_line);
    const char *b = strstr(a, "\n```");
    if (!b || (size_t)(b - a) + 1 >= len) return -1;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return 0;
}

TEST(documented_roles_work)
{
    tfx t;
    memset(&t, 0, sizeof t);
    char roles[4096], grants[4096], as[700];
    ASSERT(chain_init() == 0);
    ASSERT_EQ_INT(doc_block("roles", roles, sizeof roles), 0);
    ASSERT_EQ_INT(doc_block("grants", grants, sizeof grants), 0);
    pgtest_new_db(t.db, sizeof t.db);
    snprintf(t.dir, sizeof t.dir, "/tmp/pgroles.XXXXXX");
    ASSERT(mkdtemp(t.dir));
    t.made = 1;
    snprintf(t.key, sizeof t.key, "%s/signing.key", t.dir);
    /* Left over from an earlier run in this cluster (roles are cluster-wide). */
    pgtest_exec_err(t.db, "DROP ROLE IF EXISTS dss_writer; DROP ROLE IF EXISTS dss_reviewer;"
                          " DROP ROLE IF EXISTS dss_owner", NULL, 0);
    ASSERT_EQ_INT(pgtest_exec(t.db, roles), 0);
    /* The tables, made by the owner as docs/postgres.md says. */
    snprintf(as, sizeof as, "%s options='-c role=dss_owner'", t.db);
    int rc = run_bin(&t, "migrate --db \"%s\"", as);
    if (rc != 0) TEST_FAIL_("creating the schema as the owner exited %d: %s", rc, t.err);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT count(*) FROM pg_tables WHERE schemaname ="
                                     " 'dss_audit' AND tableowner <> 'dss_owner'"), 0);
    ASSERT_EQ_INT(pgtest_exec(t.db, grants), 0);

    /* The writer appends through serve. */
    char in[200];
    snprintf(in, sizeof in, "%s/calls.jsonl", t.dir);
    FILE *f = fopen(in, "w");
    ASSERT(f);
    fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
               "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
               "\"clientInfo\":{\"name\":\"roles-test\",\"version\":\"1.0\"}}}\n"
               "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    for (int i = 1; i <= 3; i++)
        fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"tool_call\","
                   "\"operation_name\":\"op_%d\",\"args\":{\"n\":%d}}}}\n", i, i, i);
    ASSERT_EQ_INT(fclose(f), 0);
    char writer[600], reviewer[600];
    snprintf(writer, sizeof writer, "%s user=dss_writer", t.db);
    snprintf(reviewer, sizeof reviewer, "%s user=dss_reviewer", t.db);
    rc = run_bin(&t, "serve --db \"%s\" --log w1 --key '%s' <'%s'", writer, t.key, in);
    if (rc != 0 || strstr(t.out, "\"isError\":true") || !strstr(t.out, "\"id\":3"))
        TEST_FAIL_("the writer's server exited %d: %s%s", rc, t.out, t.err);
    ASSERT(pgtest_value(t.db, "SELECT count(*) FROM dss_audit.entries e JOIN dss_audit.logs l"
                              " USING (log_id) WHERE l.name = 'w1'") >= 3);
    /* The writer cannot change what it wrote. */
    char err[512];
    ASSERT(pgtest_exec_err(writer, "UPDATE dss_audit.entries SET args = '{}'", err,
                           sizeof err) != 0);
    ASSERT(pgtest_exec_err(writer, "DROP TABLE dss_audit.checkpoints", err, sizeof err) != 0);

    /* The writer ships the shared trail: its cursor is a row of
    ** dss_audit.sink_cursors, made by the first run and moved by the next.
    ** The receiver: a socket nobody accepts on, whose kernel takes the
    ** bytes (syslog over TCP has no acknowledgement beyond that). */
    int ls = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    ASSERT(ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 8) == 0 &&
           getsockname(ls, (struct sockaddr *)&a, &alen) == 0);
    port = ntohs(a.sin_port);
    for (int round = 0; round < 2; round++) {
        if (round) {
            rc = run_bin(&t, "serve --db \"%s\" --log w1 --key '%s' <'%s'", writer, t.key, in);
            if (rc != 0) TEST_FAIL_("the writer's second server exited %d: %s", rc, t.err);
        }
        rc = run_bin(&t, "ship --db \"%s\" --log w1 --to syslog+tcp://127.0.0.1:%d", writer,
                     port);
        if (rc != 0) TEST_FAIL_("the writer's ship (round %d) exited %d: %s", round, rc, t.err);
        ASSERT_EQ_INT(pgtest_value(t.db, "SELECT s.seq - l.head_seq FROM dss_audit.sink_cursors s"
                                         " JOIN dss_audit.logs l USING (log_id)"
                                         " WHERE l.name = 'w1'"), 0);
    }
    close(ls);

    /* The reviewer reads and verifies, and cannot write. */
    rc = run_bin(&t, "verify --db \"%s\" --key '%s'", reviewer, t.key);
    if (rc != 0) TEST_FAIL_("the reviewer's verify exited %d: %s%s", rc, t.out, t.err);
    if (!strstr(t.out, "\"w1\"")) TEST_FAIL_("verify did not check the log w1: %s", t.out);
    /* (Reading through `query` is the conformance suite's; here: the grant.) */
    ASSERT(pgtest_value(reviewer, "SELECT count(*) FROM dss_audit.entries"
                                  " WHERE operation_name = 'op_3'") >= 1);
    ASSERT(pgtest_exec_err(reviewer,
                           "INSERT INTO dss_audit.logs (log_id, name, created_at)"
                           " VALUES ('x', 'x', 'x')", err, sizeof err) != 0);
    ASSERT(pgtest_exec_err(reviewer, "UPDATE dss_audit.logs SET head_seq = head_seq + 1",
                           err, sizeof err) != 0);
    rc = run_bin(&t, "serve --db \"%s\" --log r1 --key '%s' <'%s'", reviewer, t.key, in);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT count(*) FROM dss_audit.logs WHERE name = 'r1'"),
                  0);
    ASSERT(strstr(t.out, "\"isError\":true") || !strstr(t.out, "\"id\":3") || rc != 0);

    pgtest_exec_err(t.db, "DROP SCHEMA dss_audit CASCADE; DROP OWNED BY dss_writer,"
                          " dss_reviewer, dss_owner; DROP ROLE dss_writer;"
                          " DROP ROLE dss_reviewer; DROP ROLE dss_owner", NULL, 0);
    teardown(&t);
}

TEST_MAIN(TEST_ENTRY(triggers_dropped) TEST_ENTRY(trigger_disabled_on_a_partition)
          TEST_ENTRY(row_edited_by_superuser) TEST_ENTRY(row_deleted)
          TEST_ENTRY(newest_rows_deleted) TEST_ENTRY(checkpoint_signature_altered)
          TEST_ENTRY(log_key_replaced)
          TEST_ENTRY(prune_drops_partitions_once_every_log_is_pruned)
          TEST_ENTRY(documented_roles_work))
