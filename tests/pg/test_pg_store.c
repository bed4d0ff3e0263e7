/*
** test_pg_store.c: the PostgreSQL backend's own behaviour, against a real
** PostgreSQL 15 (the ctest fixture `pg`): the central schema and its
** migrations, the head lock (one chain per log, other logs never waiting),
** savepoints, the append-only layers, shipping a log in, a lost connection,
** secrets kept out of messages, and cancellation.  What both backends share
** is the conformance suite's.
*/
#include "test.h"
#include "pgtest.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "store/chain.h"
#include "ship/sink.h"
#include "raw_copy.h"
#include "tlog/merkle.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>

static int open_store(const char *db, const char *log, int readonly, int busy_ms,
                      store **out, char *err)
{
    store_options o = {.path = db, .log_name = log, .readonly = readonly,
                       .busy_timeout_ms = busy_ms};
    return store_open(&o, out, err);
}

static store_record rec(const char *op)
{
    store_record r = {.event_type = "tool_call", .operation_name = op,
                      .user_id = "alice", .project_id = "p1",
                      .args = "{\"a\":\"it's \\\"quoted\\\"\"}"};
    return r;
}

/* Walks a log checking every link and hash. */
typedef struct walk {
    int64_t count, next_seq;
    uint8_t prev[CHAIN_HASH_BYTES];
    int ok;
} walk;

static int walk_fn(void *ctx, const store_raw_entry *e)
{
    walk *w = ctx;
    if (e->f.seq != w->next_seq || !e->hashes_ok ||
        memcmp(e->prev_hash, w->prev, CHAIN_HASH_BYTES) != 0 ||
        !chain_entry_matches(&e->f, e->f.seq, w->prev, e->hash)) {
        fprintf(stderr, "chain breaks at seq %lld\n", (long long)e->f.seq);
        w->ok = 0;
        return 1;
    }
    memcpy(w->prev, e->hash, CHAIN_HASH_BYTES);
    w->next_seq++;
    w->count++;
    return 0;
}

static int verify_chain(store *s, int64_t *count)
{
    char err[STORE_ERRLEN];
    walk w = {.next_seq = 1, .ok = 1};
    int rc = store_each_entry(s, 1, walk_fn, &w, err);
    if (rc != STORE_OK) fprintf(stderr, "each_entry: %s\n", err);
    *count = w.count;
    return rc == STORE_OK && w.ok;
}

static int append_n(store *s, int n, store_receipt *last)
{
    char err[STORE_ERRLEN];
    store_receipt r;
    if (store_begin(s, err) != STORE_OK) {
        fprintf(stderr, "begin: %s\n", err);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        store_record x = rec("op");
        if (store_append(s, &x, &r, err) != STORE_OK) {
            fprintf(stderr, "append: %s\n", err);
            store_rollback(s);
            return -1;
        }
    }
    if (store_commit(s, err) != STORE_OK) {
        fprintf(stderr, "commit: %s\n", err);
        return -1;
    }
    if (last) *last = r;
    return 0;
}

TEST(migrates_fresh_database)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "m1", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_STR(store_backend(s), "postgresql");
    ASSERT_EQ_STR(store_log_name(s), "m1");
    ASSERT_EQ_INT(strlen(store_log_id(s)), 36);
    store_close(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.schema_version"), 1);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"), 1);
    /* version 4 made it, version 6 dropped it */
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM pg_class WHERE relname = 'entries_time_brin'"), 0);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.logs WHERE name = 'm1'"), 1);
    /* Opening again neither migrates nor makes a second log of that name. */
    ASSERT_EQ_INT(open_store(db, "m1", 0, 0, &s, err), STORE_OK);
    store_close(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.logs"), 1);
}

typedef struct opener {
    const char *db;
    int rc;
    char err[STORE_ERRLEN];
} opener;

static void *open_thread(void *arg)
{
    opener *o = arg;
    store *s = NULL;
    o->rc = open_store(o->db, "together", 0, 30000, &s, o->err);
    store_close(s);
    return NULL;
}

TEST(eight_stores_migrate_once)
{
    char db[1024];
    pgtest_new_db(db, sizeof db);
    pthread_t t[8];
    opener o[8];
    for (int i = 0; i < 8; i++) {
        o[i] = (opener){.db = db, .rc = -100};
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, open_thread, &o[i]), 0);
    }
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++) {
        if (o[i].rc != STORE_OK) fprintf(stderr, "store %d: %s\n", i, o[i].err);
        ASSERT_EQ_INT(o[i].rc, STORE_OK);
    }
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.schema_version"), 1);
    /* Eight servers creating one name together made one log. */
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.logs WHERE name = 'together'"), 1);
}

/* A fresh database (its conninfo into db) holding three entries of the
** log "old", then set back by sql to an older version's shape, and a
** writer's store opened on it again (which migrates it); NULL on failure. */
static store *reopened_after(char *db, size_t len, const char *sql)
{
    char err[STORE_ERRLEN];
    pgtest_new_db(db, len);
    store *s = NULL;
    if (open_store(db, "old", 0, 0, &s, err) != STORE_OK || append_n(s, 3, NULL) != 0) {
        fprintf(stderr, "filling: %s\n", err);
        store_close(s);
        return NULL;
    }
    store_close(s);
    s = NULL;
    if (pgtest_exec(db, sql) != 0 || open_store(db, "old", 0, 0, &s, err) != STORE_OK) {
        fprintf(stderr, "reopening: %s\n", err);
        return NULL;
    }
    return s;
}

/* How many of the schema's indexes are named name with a definition
** LIKE def ("%" for any). */
static long long index_count(const char *db, const char *name, const char *def)
{
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_indexes WHERE schemaname = 'dss_audit'"
             " AND indexname = '%s' AND indexdef LIKE '%s'", name, def);
    return pgtest_value(db, sql);
}

/* The three entries reopened_after() appended, as alice's activity: the
** total, or -1 when the call fails.  Closes s. */
static long long alice_total_then_close(store *s)
{
    char err[STORE_ERRLEN];
    store_activity a;
    long long total = -1;
    if (store_user_activity(s, "alice", "2000-01-01T00:00:00.000000Z", NULL, &a, err) == STORE_OK) {
        total = a.total;
        cJSON_Delete(a.by_type);
    }
    store_close(s);
    return total;
}

/* A version-3 schema (before the time BRIN index, which version 6 drops
** again) is brought up to date when a writer opens it. */
TEST(version_3_schema_migrates_to_current)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "v1", 0, 0, &s, err), STORE_OK);
    store_close(s);
    ASSERT_EQ_INT(pgtest_exec(db, "DROP INDEX IF EXISTS dss_audit.entries_time_brin;"
                                  "UPDATE dss_audit.schema_version SET version = 3"), 0);
    s = NULL;
    ASSERT_EQ_INT(open_store(db, "v1", 0, 0, &s, err), STORE_OK);
    store_close(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM pg_class WHERE relname = 'entries_time_brin'"), 0);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.logs WHERE name = 'v1'"), 1);
}

/* A version-5 schema loses the BRIN index on created_at: in the month
** being written it matched every page (rows fill older pages' room), and
** ANDed with the trigram bitmaps it made a search window recheck every
** row of their pages.  The search still finds what it did. */
TEST(version_5_schema_migrates_to_6)
{
    char db[1024], err[STORE_ERRLEN];
    store *s = reopened_after(db, sizeof db, "CREATE INDEX entries_time_brin ON dss_audit.entries"
                                             "  USING brin (created_at);"
                                             "UPDATE dss_audit.schema_version SET version = 5");
    ASSERT(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM pg_class WHERE relname LIKE"
                                   " 'entries%created_at_idx' OR relname = 'entries_time_brin'"),
                  0);
    store_query q;
    memset(&q, 0, sizeof q);
    q.text = "op";
    q.limit = 10;
    cJSON *rows = NULL;
    int more = 0;
    ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
    ASSERT_EQ_INT(cJSON_GetArraySize(rows), 3);
    cJSON_Delete(rows);
    store_close(s);
}

/* Version 7: the counters' user index carries what activity sums, so a
** version-6 database gets it rebuilt, and activity counts as before. */
TEST(version_6_schema_migrates_to_7)
{
    char db[1024];
    store *s = reopened_after(db, sizeof db,
                              "DROP INDEX dss_audit.activity_daily_user;"
                              "CREATE INDEX activity_daily_user ON dss_audit.activity_daily"
                              "  (user_id, day);"
                              "UPDATE dss_audit.schema_version SET version = 6");
    ASSERT(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    ASSERT_EQ_INT(index_count(db, "activity_daily_user",
                              "%(user_id, day) INCLUDE (event_type, n, errors)"), 1);
    ASSERT_EQ_INT(alice_total_then_close(s), 3);
}

/* Version 8: the per-hour counters.  A version-7 database gets them
** counted from its entries, with the privileges its day counters have (so
** a writer granted those keeps writing), and its trigger keeps them from
** then on; a second run of the version (as bench/run-pg's fit_schema
** makes) counts nothing twice. */
TEST(version_7_schema_migrates_to_8)
{
    char db[1024], err[STORE_ERRLEN];
    store *s = reopened_after(db, sizeof db,
                              "DROP TABLE dss_audit.activity_hourly;"
                              "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles"
                              " WHERE rolname = 'dss_counter_t') THEN"
                              " CREATE ROLE dss_counter_t; END IF; END $$;"
                              "GRANT INSERT, UPDATE ON dss_audit.activity_daily TO dss_counter_t;"
                              "UPDATE dss_audit.schema_version SET version = 7");
    ASSERT(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    const char *hourly = "SELECT sum(n) FROM dss_audit.activity_hourly WHERE user_id = 'alice'";
    ASSERT_EQ_INT(pgtest_value(db, hourly), 3);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.activity_hourly"
                                   " WHERE length(hour) <> 13"), 0);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT (has_table_privilege('dss_counter_t',"
                                   " 'dss_audit.activity_hourly', 'UPDATE')"
                                   " AND has_table_privilege('dss_counter_t',"
                                   " 'dss_audit.activity_hourly', 'INSERT'))::int"), 1);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT has_table_privilege('dss_counter_t',"
                                   " 'dss_audit.activity_hourly', 'DELETE')::int"), 0);
    ASSERT_EQ_INT(append_n(s, 2, NULL), 0);
    ASSERT_EQ_INT(pgtest_value(db, hourly), 5);
    store_close(s);
    s = NULL;
    ASSERT_EQ_INT(pgtest_exec(db, "UPDATE dss_audit.schema_version SET version = 7"), 0);
    ASSERT_EQ_INT(open_store(db, "old", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(pgtest_value(db, hourly), 5);
    ASSERT_EQ_INT(alice_total_then_close(s), 5);
}

/* Every search statement reads the whole pending list of its partition's
** trigram indexes (GIN's fast update), 4.5 ms of a 5 ms window at the
** default 4 MB.  The store's sessions flush them at 256 kB: after 4,000
** appends with long operation names, neither list is longer than that
** (32 pages, a page of slack), where the default would have let it grow
** past 100. */
TEST(search_indexes_keep_short_pending_lists)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    if (pgtest_exec(db, "CREATE EXTENSION IF NOT EXISTS pgstattuple") != 0) {
        fprintf(stderr, "pgstattuple is not available: nothing to measure with\n");
        return;
    }
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "pending", 0, 0, &s, err), STORE_OK);
    for (int g = 0; g < 40; g++) {
        ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
        for (int i = 0; i < 100; i++) {
            char op[96];
            snprintf(op, sizeof op, "synchronize_component_library_%d_with_figma_%d", g, i);
            store_record e = {.event_type = "tool_call", .operation_name = op, .args = "{}",
                              .error = i % 2 ? "upstream said no: quota exceeded" : NULL};
            store_receipt r;
            ASSERT_EQ_INT(store_append(s, &e, &r, err), STORE_OK);
        }
        ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    }
    store_close(s);
    long long pending = pgtest_value(db, "SELECT max(p.pending_pages) FROM pg_inherits h,"
                                         " LATERAL pgstatginindex(h.inhrelid) p"
                                         " WHERE h.inhparent IN ('dss_audit.entries_opname_trgm'::regclass,"
                                         "  'dss_audit.entries_error_trgm'::regclass)");
    ASSERT(pending >= 0);
    ASSERT(pending <= 33);
}

/* A version-4 schema gets the indexes get_user_activity counts from
** (the user's index carrying event_type, the user's errors), and history
** by user still reads the user's index. */
TEST(version_4_schema_migrates_to_5)
{
    char db[1024];
    store *s = reopened_after(db, sizeof db,
                              "DROP INDEX dss_audit.entries_user_errors;"
                              "DROP INDEX dss_audit.entries_user;"
                              "CREATE INDEX entries_user ON dss_audit.entries"
                              "  (user_id, created_at, log_id, seq) WHERE user_id IS NOT NULL;"
                              "UPDATE dss_audit.schema_version SET version = 4");
    ASSERT(s);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    ASSERT_EQ_INT(index_count(db, "entries_user", "%INCLUDE (event_type)%"), 1);
    ASSERT_EQ_INT(index_count(db, "entries_user_errors", "%"), 1);
    ASSERT_EQ_INT(alice_total_then_close(s), 3);
}

TEST(newer_schema_refused)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "n", 0, 0, &s, err), STORE_OK);
    store_close(s);
    ASSERT_EQ_INT(pgtest_exec(db, "UPDATE dss_audit.schema_version SET version = 99"), 0);
    s = NULL;
    ASSERT_EQ_INT(open_store(db, "n", 0, 0, &s, err), STORE_ESCHEMA);
    ASSERT(s == NULL);
    ASSERT_CONTAINS(err, "version 99");
    ASSERT_CONTAINS(err, "newer");
}

TEST(readonly_without_schema_refused)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, NULL, 1, 0, &s, err), STORE_ESCHEMA);
    ASSERT_CONTAINS(err, "no audit log");
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'dss_audit'"), 0);
}

TEST(append_head_and_walk_round_trip)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "rt", 0, 0, &s, err), STORE_OK);
    int64_t seq = -1;
    char hash[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 0);
    ASSERT_EQ_STR(hash, "0000000000000000000000000000000000000000000000000000000000000000");

    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    store_receipt r1, r2, r3;
    store_record a = rec("first");
    ASSERT_EQ_INT(store_append(s, &a, &r1, err), STORE_OK);
    /* A v2 entry: every optional field, a duration, quotes and newlines. */
    store_record b = {.event_type = "request", .operation_name = "tools/call",
                      .args = "{\"x\":\"line\\nbreak\"}", .result = "{\"ok\":true}",
                      .error = "it's\tbroken\nbadly", .server = "{\"name\":\"fs\",\"version\":\"1\"}",
                      .session_id = "sess-1", .completes = r1.id, .cwd = "/home/o'neil",
                      .client = "{\"name\":\"c\",\"version\":\"2\"}", .has_duration = 1,
                      .duration_ms = 1234567890123LL};
    ASSERT_EQ_INT(store_append(s, &b, &r2, err), STORE_OK);
    store_record c = {.event_type = "x", .operation_name = "\xc3\xa9t\xc3\xa9", .args = "{}"};
    ASSERT_EQ_INT(store_append(s, &c, &r3, err), STORE_OK);
    ASSERT_EQ_INT(store_tx_has_writes(s), 1);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(r1.seq, 1);
    ASSERT_EQ_INT(r2.seq, 2);
    ASSERT_EQ_INT(r3.seq, 3);

    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 3);
    ASSERT_EQ_STR(hash, r3.hash);
    ASSERT_EQ_INT(store_hash_at(s, 2, hash, err), STORE_OK);
    ASSERT_EQ_STR(hash, r2.hash);
    ASSERT_EQ_INT(store_hash_at(s, 9, hash, err), STORE_ENOTFOUND);
    int64_t count = 0;
    ASSERT(verify_chain(s, &count));
    ASSERT_EQ_INT(count, 3);
    int64_t first, last;
    ASSERT_EQ_INT(store_seq_range(s, &first, &last, err), STORE_OK);
    ASSERT_EQ_INT(first, 1);
    ASSERT_EQ_INT(last, 3);
    ASSERT_EQ_INT(store_nth_newest_seq(s, 2, &seq, err), STORE_OK);
    ASSERT_EQ_INT(seq, 2);
    ASSERT_EQ_INT(store_nth_newest_seq(s, 50, &seq, err), STORE_OK);
    ASSERT_EQ_INT(seq, 1);
    uint8_t raw[CHAIN_HASH_BYTES];
    sodium_hex2bin(raw, sizeof raw, r2.hash, 64, NULL, NULL, NULL);
    ASSERT_EQ_INT(store_find_hash(s, raw, &seq, err), STORE_OK);
    ASSERT_EQ_INT(seq, 2);
    /* The head row moved with the commit; the counters counted alice. */
    ASSERT_EQ_INT(pgtest_value(db, "SELECT head_seq FROM dss_audit.logs WHERE name = 'rt'"), 3);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT n FROM dss_audit.activity_daily WHERE user_id = 'alice'"), 1);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.activity_projects WHERE user_id = 'alice'"), 1);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.entries WHERE server_name = 'fs'"), 1);
    store_close(s);
}

typedef struct writer {
    const char *db;
    int txs, rows, failed;
} writer;

static void *write_thread(void *arg)
{
    writer *w = arg;
    char err[STORE_ERRLEN];
    store *s = NULL;
    if (open_store(w->db, "shared", 0, 60000, &s, err) != STORE_OK) {
        fprintf(stderr, "open: %s\n", err);
        w->failed = 1;
        return NULL;
    }
    for (int i = 0; i < w->txs && !w->failed; i++)
        if (append_n(s, w->rows, NULL) != 0) w->failed = 1;
    store_close(s);
    return NULL;
}

TEST(two_stores_on_one_log_make_one_chain)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "shared", 0, 0, &s, err), STORE_OK);
    pthread_t t[2];
    writer w[2] = {{db, 40, 5, 0}, {db, 40, 5, 0}};
    for (int i = 0; i < 2; i++) ASSERT_EQ_INT(pthread_create(&t[i], NULL, write_thread, &w[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    ASSERT_EQ_INT(w[0].failed, 0);
    ASSERT_EQ_INT(w[1].failed, 0);
    int64_t count = 0;
    ASSERT(verify_chain(s, &count));
    ASSERT_EQ_INT(count, 400);
    int64_t seq;
    char hash[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 400);
    store_close(s);
}

TEST(other_logs_do_not_wait)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *a = NULL, *b = NULL, *a2 = NULL;
    ASSERT_EQ_INT(open_store(db, "log-a", 0, 0, &a, err), STORE_OK);
    ASSERT_EQ_INT(open_store(db, "log-b", 0, 200, &b, err), STORE_OK);
    ASSERT_EQ_INT(open_store(db, "log-a", 0, 200, &a2, err), STORE_OK);
    /* a holds log-a's head lock in an open transaction. */
    ASSERT_EQ_INT(store_begin(a, err), STORE_OK);
    store_receipt r;
    store_record x = rec("held");
    ASSERT_EQ_INT(store_append(a, &x, &r, err), STORE_OK);
    /* Another log appends and commits within its short busy timeout... */
    ASSERT_EQ_INT(append_n(b, 3, &r), 0);
    ASSERT_EQ_INT(r.seq, 3);
    /* ...while the same log waits it out: the lock is real.  The begin
    ** only sends the lock; its first write says it was not granted, and
    ** so does every later one and the commit. */
    ASSERT_EQ_INT(store_begin(a2, err), STORE_OK);
    ASSERT_EQ_INT(store_append(a2, &x, &r, err), STORE_EBUSY);
    ASSERT_CONTAINS(err, "another writer kept the log locked");
    ASSERT_EQ_INT(store_append(a2, &x, &r, err), STORE_EBUSY);
    ASSERT_EQ_INT(store_commit(a2, err), STORE_EBUSY);
    ASSERT_EQ_INT(store_in_transaction(a2), 0);
    ASSERT_EQ_INT(store_take_lost_tx(a2), 0); /* nothing was written in it */
    ASSERT_EQ_INT(store_commit(a, err), STORE_OK);
    ASSERT_EQ_INT(append_n(a2, 1, &r), 0);
    ASSERT_EQ_INT(r.seq, 2);
    store_close(a);
    store_close(b);
    store_close(a2);
}

TEST(savepoint_rollback_restores_head)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "sp", 0, 0, &s, err), STORE_OK);
    store_receipt r;
    store_record x = rec("kept");
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    /* A request that only appended, rolled back. */
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    ASSERT_EQ_INT(r.seq, 2);
    store_savepoint_release(s);
    /* A request whose savepoint reached the server (a read ran in it). */
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    int64_t seq;
    char hash[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 3);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    ASSERT_EQ_INT(r.seq, 3);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    int64_t count;
    ASSERT(verify_chain(s, &count));
    ASSERT_EQ_INT(count, 3);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT head_seq FROM dss_audit.logs WHERE name = 'sp'"), 3);
    store_close(s);
}

TEST(failed_request_keeps_the_others)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "group", 0, 0, &s, err), STORE_OK);
    store_receipt r;
    store_record x = rec("kept");
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    store_savepoint_release(s);
    /* A request whose statement fails in PostgreSQL (a kind the schema
    ** refuses), which aborts the server's transaction up to its savepoint. */
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    store_checkpoint cp = {.number = 1, .kind = "bogus", .seq = 1};
    int stored = 0;
    ASSERT(store_import_checkpoint(s, &cp, &stored, err) != STORE_OK);
    ASSERT_EQ_INT(store_in_transaction(s), 1);
    store_savepoint_rollback(s);
    ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    ASSERT_EQ_INT(r.seq, 2);
    store_savepoint_release(s);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    ASSERT_EQ_INT(store_take_lost_tx(s), 0);
    int64_t count;
    ASSERT(verify_chain(s, &count));
    ASSERT_EQ_INT(count, 2);
    store_close(s);
}

TEST(rollback_discards_all)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "rb", 0, 0, &s, err), STORE_OK);
    store_receipt r;
    store_record x = rec("gone");
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    int64_t seq;
    char hash[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK); /* sent to the server */
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    store_rollback(s);
    ASSERT_EQ_INT(store_in_transaction(s), 0);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.entries"), 0);
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 0);
    ASSERT_EQ_INT(append_n(s, 1, &r), 0);
    ASSERT_EQ_INT(r.seq, 1);
    store_close(s);
}

TEST(writer_role_cannot_change_entries)
{
    char db[1024], wdb[1200], err[STORE_ERRLEN], perr[512];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "owner", 0, 0, &s, err), STORE_OK);
    store_close(s);
    /* The documented writer grants: INSERT and SELECT, the head columns of
    ** logs, the counters, creating partitions through the owner's function. */
    pgtest_exec(db, "DROP ROLE IF EXISTS dss_writer_t");
    ASSERT_EQ_INT(pgtest_exec(db,
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dss_writer_t')"
        " THEN CREATE ROLE dss_writer_t LOGIN; END IF; END $$;"
        "GRANT USAGE ON SCHEMA dss_audit TO dss_writer_t;"
        "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA dss_audit TO dss_writer_t;"
        "GRANT UPDATE (head_seq, head_hash, head_created_at, public_key)"
        "  ON dss_audit.logs TO dss_writer_t;"
        "GRANT UPDATE ON dss_audit.activity_daily, dss_audit.activity_hourly,"
        "  dss_audit.activity_projects TO dss_writer_t;"
        "GRANT EXECUTE ON FUNCTION dss_audit.ensure_partition(text) TO dss_writer_t;"), 0);
    snprintf(wdb, sizeof wdb, "%s user=dss_writer_t", db);
    ASSERT_EQ_INT(open_store(wdb, "writer", 0, 0, &s, err), STORE_OK);
    store_receipt r;
    ASSERT_EQ_INT(append_n(s, 2, &r), 0);
    ASSERT_EQ_INT(append_n(s, 2, &r), 0);
    ASSERT_EQ_INT(r.seq, 4);
    store_close(s);
    ASSERT_EQ_INT(pgtest_exec_err(wdb, "UPDATE dss_audit.entries SET args = '{}'", perr, sizeof perr), -1);
    ASSERT_EQ_INT(pgtest_exec_err(wdb, "DELETE FROM dss_audit.entries", perr, sizeof perr), -1);
    ASSERT_EQ_INT(pgtest_exec_err(wdb, "TRUNCATE dss_audit.entries", perr, sizeof perr), -1);
    ASSERT_EQ_INT(pgtest_exec_err(wdb, "DELETE FROM dss_audit.checkpoints", perr, sizeof perr), -1);
    /* Its partitions are the owner's: no way around through them. */
    long long y = pgtest_value(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'dss_audit'"
                                   " AND tablename LIKE 'entries_%' AND tableowner = 'postgres'");
    ASSERT(y >= 1);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'dss_audit'"
                                   " AND tableowner = 'dss_writer_t'"), 0);
    ASSERT_EQ_INT(pgtest_exec_err(wdb,
        "DO $$ DECLARE t text; BEGIN SELECT tablename INTO t FROM pg_tables"
        " WHERE schemaname = 'dss_audit' AND tablename LIKE 'entries_%' LIMIT 1;"
        " EXECUTE format('TRUNCATE dss_audit.%I', t); END $$", perr, sizeof perr), -1);
    ASSERT_EQ_INT(pgtest_exec_err(wdb, "UPDATE dss_audit.logs SET name = 'x'", perr, sizeof perr), -1);
    /* The trigger layer refuses even the owner. */
    ASSERT_EQ_INT(pgtest_exec_err(db, "UPDATE dss_audit.entries SET args = '{}'", perr, sizeof perr), -1);
    ASSERT_CONTAINS(perr, "append-only");
    ASSERT_EQ_INT(pgtest_exec_err(db, "DELETE FROM dss_audit.entries", perr, sizeof perr), -1);
    ASSERT_EQ_INT(pgtest_exec_err(db, "TRUNCATE dss_audit.entries", perr, sizeof perr), -1);
    ASSERT_CONTAINS(perr, "append-only");
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.entries"), 4);
    pgtest_exec(db, "DROP OWNED BY dss_writer_t");
}

TEST(every_key_leads_with_log_id)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "k", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(append_n(s, 1, NULL), 0);
    store_close(s);
    static const char keys[] =
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'dss_audit' AND (i.indisprimary OR i.indisunique)";
    static const char bad[] =
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
        " WHERE n.nspname = 'dss_audit' AND (i.indisprimary OR i.indisunique)"
        " AND a.attname IS DISTINCT FROM 'log_id'";
    /* logs, entries (and its partition), checkpoints, two counter tables. */
    ASSERT(pgtest_value(db, keys) >= 6);
    ASSERT_EQ_INT(pgtest_value(db, bad), 0);
    ASSERT_EQ_INT(pgtest_value(db,
        "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace"
        " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
        " WHERE n.nspname = 'dss_audit' AND k.contype IN ('p', 'u')"
        " AND a.attname <> 'log_id'"), 0);
}

/* A chain of n entries built here, as a shipper would send them. */
typedef struct shipped {
    store_raw_entry e[8];
    char ids[8][40], ts[8][TS_BUFLEN], args[8][32];
} shipped;

static void build_chain(shipped *c, int n)
{
    uint8_t prev[CHAIN_HASH_BYTES] = {0};
    for (int i = 0; i < n; i++) {
        snprintf(c->ids[i], sizeof c->ids[i], "0190aaaa-0000-7000-8000-00000000000%d", i);
        snprintf(c->ts[i], sizeof c->ts[i], "2026-11-%02dT10:00:00.000000Z", 20 + i);
        snprintf(c->args[i], sizeof c->args[i], "{\"i\":%d}", i);
        store_raw_entry *e = &c->e[i];
        memset(e, 0, sizeof *e);
        e->f = (chain_fields){.seq = i + 1, .id = c->ids[i], .event_type = "tool_call",
                              .operation_name = "ship", .args = c->args[i],
                              .created_at = c->ts[i], .user_id = "bob",
                              .duration_ms = i == 2 ? "42" : NULL};
        memcpy(e->prev_hash, prev, CHAIN_HASH_BYTES);
        chain_entry_hash(&e->f, prev, e->hash);
        e->hashes_ok = 1;
        memcpy(prev, e->hash, CHAIN_HASH_BYTES);
    }
}

static int import_tx(store *s, const store_raw_entry *e, size_t n, int64_t *stored,
                     int64_t *skipped, char *err)
{
    int rc = store_begin(s, err);
    if (rc != STORE_OK) return rc;
    rc = store_import(s, e, n, stored, skipped, err);
    if (rc != STORE_OK) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, err);
}

TEST(import_continues_resends_and_refuses_breaks)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "central", 0, 0, &s, err), STORE_OK);
    static shipped c;
    build_chain(&c, 7);
    store_log l = {.log_id = "5a1b2c3d-0000-4000-8000-000000000001", .name = "laptop"};
    ASSERT_EQ_INT(store_ensure_log(s, &l, err), STORE_OK);
    ASSERT_EQ_STR(store_log_name(s), "laptop");
    int64_t stored, skipped;
    ASSERT_EQ_INT(import_tx(s, c.e, 3, &stored, &skipped, err), STORE_OK);
    ASSERT_EQ_INT(stored, 3);
    ASSERT_EQ_INT(skipped, 0);
    ASSERT_EQ_INT(import_tx(s, c.e, 5, &stored, &skipped, err), STORE_OK);
    ASSERT_EQ_INT(stored, 2);
    ASSERT_EQ_INT(skipped, 3);
    ASSERT_EQ_INT(import_tx(s, c.e, 5, &stored, &skipped, err), STORE_OK);
    ASSERT_EQ_INT(stored, 0);
    ASSERT_EQ_INT(skipped, 5);

    /* Breaks: a bad link, a gap, altered content: each named, none stored. */
    store_raw_entry bad[2] = {c.e[5], c.e[6]};
    bad[0].prev_hash[0] ^= 1;
    ASSERT_EQ_INT(import_tx(s, bad, 2, &stored, &skipped, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, "entry 6");
    ASSERT_EQ_INT(import_tx(s, &c.e[6], 1, &stored, &skipped, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, "entry 7");
    bad[0] = c.e[5];
    bad[0].f.args = "{\"i\":99}";
    ASSERT_EQ_INT(import_tx(s, bad, 2, &stored, &skipped, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, "entry 6");
    /* A re-sent entry that differs from the stored one. */
    store_raw_entry again[1] = {c.e[1]};
    again[0].f.args = "{\"i\":77}";
    ASSERT_EQ_INT(import_tx(s, again, 1, &stored, &skipped, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, "entry 2");
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.entries"), 5);

    ASSERT_EQ_INT(import_tx(s, &c.e[5], 2, &stored, &skipped, err), STORE_OK);
    ASSERT_EQ_INT(stored, 2);
    int64_t count;
    ASSERT(verify_chain(s, &count));
    ASSERT_EQ_INT(count, 7);
    int64_t seq;
    char hash[CHAIN_HEX_LEN], want[CHAIN_HEX_LEN];
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 7);
    chain_hex(c.e[6].hash, want);
    ASSERT_EQ_STR(hash, want);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT head_seq FROM dss_audit.logs WHERE name = 'laptop'"), 7);

    /* Its checkpoint, once. */
    store_checkpoint cp = {.number = 1, .kind = "checkpoint", .seq = 7};
    snprintf(cp.head_hash, sizeof cp.head_hash, "%s", want);
    snprintf(cp.created_at, sizeof cp.created_at, "2026-11-27T10:00:01.000000Z");
    memset(cp.prev_checkpoint_hash, '0', 64);
    memset(cp.public_key, 'a', 64);
    memset(cp.signature, 'b', 128);
    int got = -1;
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    ASSERT_EQ_INT(store_import_checkpoint(s, &cp, &got, err), STORE_OK);
    ASSERT_EQ_INT(got, 1);
    ASSERT_EQ_INT(store_import_checkpoint(s, &cp, &got, err), STORE_OK);
    ASSERT_EQ_INT(got, 0);
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    store_checkpoint last;
    ASSERT_EQ_INT(store_last_checkpoint(s, &last, err), STORE_OK);
    ASSERT_EQ_INT(last.number, 1);
    ASSERT_EQ_INT(last.seq, 7);
    ASSERT_EQ_STR(last.log_id, l.log_id);

    /* Another key for the same log is refused. */
    memset(l.public_key, 'c', 64);
    ASSERT_EQ_INT(store_ensure_log(s, &l, err), STORE_OK); /* none recorded yet */
    memset(l.public_key, 'd', 64);
    ASSERT_EQ_INT(store_ensure_log(s, &l, err), STORE_EINVAL);
    /* The own log was not touched. */
    ASSERT_EQ_INT(store_use_log(s, NULL, err), STORE_OK);
    ASSERT_EQ_STR(store_log_name(s), "central");
    ASSERT_EQ_INT(store_head(s, &seq, hash, err), STORE_OK);
    ASSERT_EQ_INT(seq, 0);
    store_close(s);
}

/* Entry 2 of a three-entry chain with args set to text, re-hashed so that
** only the text can be wrong. */
static void chain_with_args(shipped *c, const char *text)
{
    build_chain(c, 3);
    snprintf(c->args[1], sizeof c->args[1], "%s", text);
    for (int i = 1; i < 3; i++) {
        store_raw_entry *e = &c->e[i];
        memcpy(e->prev_hash, c->e[i - 1].hash, CHAIN_HASH_BYTES);
        chain_entry_hash(&e->f, e->prev_hash, e->hash);
    }
}

/* Text PostgreSQL would take or choke on is judged by the one strict UTF-8
** rule (RFC 3629): an import carrying an overlong form, a surrogate or a
** code point above U+10FFFF is refused whole, naming the entry, the field
** and the problem; the longest valid forms still import. */
TEST(import_refuses_invalid_utf8_naming_the_problem)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{\"s\":\"\xC0\xAF\"}", "an overlong form at byte 6"},
        {"{\"s\":\"\xE0\x80\xAF\"}", "an overlong form at byte 6"},
        {"{\"s\":\"\xED\xA0\x80\"}", "a UTF-16 surrogate at byte 6"},
        {"{\"s\":\"\xF4\x90\x80\x80\"}", "a code point above U+10FFFF at byte 6"},
        {"{\"s\":\"\xE2\x82\"}", "a truncated sequence at byte 6"},
    };
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "central", 0, 0, &s, err), STORE_OK);
    store_log l = {.log_id = "5a1b2c3d-0000-4000-8000-000000000008", .name = "laptop"};
    ASSERT_EQ_INT(store_ensure_log(s, &l, err), STORE_OK);
    static shipped c;
    int64_t stored, skipped;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        chain_with_args(&c, bad[k].text);
        ASSERT_EQ_INT(import_tx(s, c.e, 3, &stored, &skipped, err), STORE_EINVAL);
        ASSERT_CONTAINS(err, "entry 2 of log");
        ASSERT_CONTAINS(err, "field args not valid UTF-8");
        ASSERT_CONTAINS(err, bad[k].why);
        ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.entries"), 0);
    }
    chain_with_args(&c, "{\"s\":\"\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEF\xBF\xBF\xC2\x80\"}");
    ASSERT_EQ_INT(import_tx(s, c.e, 3, &stored, &skipped, err), STORE_OK);
    ASSERT_EQ_INT(stored, 3);
    store_close(s);
}

/* A local log's raw entries from seq from on, deep-copied (free_raw()). */
typedef struct raw_list {
    store_raw_entry e[32];
    size_t n;
} raw_list;

static int keep_raw(void *ctx, const store_raw_entry *e)
{
    raw_list *l = ctx;
    if (l->n == 32) return 1;
    raw_copy(&l->e[l->n++], e);
    return 0;
}

static void free_raw(raw_list *l)
{
    for (size_t k = 0; k < l->n; k++) raw_copy_free(&l->e[k]);
    l->n = 0;
}

/* Two entries and a checkpoint over them on the local store s. */
static int two_and_a_checkpoint(store *s)
{
    char err[STORE_ERRLEN];
    store_receipt r;
    if (append_n(s, 2, &r) != 0) return -1;
    store_checkpoint cp = {.kind = "checkpoint", .seq = r.seq};
    snprintf(cp.head_hash, sizeof cp.head_hash, "%s", r.hash);
    snprintf(cp.created_at, sizeof cp.created_at, "%s", r.created_at);
    memset(cp.prev_checkpoint_hash, '0', 64);
    memset(cp.public_key, 'a', 64);
    memset(cp.signature, 'e', 128);
    int rc = store_begin(s, err);
    if (rc == STORE_OK) rc = store_add_checkpoint(s, &cp, err);
    if (rc == STORE_OK) rc = store_commit(s, err);
    if (rc != STORE_OK) fprintf(stderr, "checkpoint: %s\n", err);
    return rc;
}

/* Ship the local entries after seq to the sink as one batch. */
static int ship_after(sink *sk, store *local, const store_log *log, int64_t after,
                      sink_ack *ack)
{
    char err[STORE_ERRLEN];
    static raw_list l;
    int64_t seq[32];
    int rc = store_each_entry(local, after + 1, keep_raw, &l, err);
    if (rc != STORE_OK) return rc;
    for (size_t k = 0; k < l.n; k++) seq[k] = l.e[k].f.seq;
    sink_batch b = {.log = log, .n = l.n, .seq = seq, .raw = l.e, .local = local};
    memset(ack, 0, sizeof *ack);
    rc = sink_send(sk, &b, ack, err, sizeof err);
    if (rc != SINK_OK) fprintf(stderr, "send: %s\n", err);
    free_raw(&l);
    return rc;
}

/* The PostgreSQL sink reads the local checkpoints once per run and then
** only the new ones, and still ships each, in order, once its entries
** are there. */
TEST(pg_sink_reads_each_local_checkpoint_once_per_run)
{
    char db[1024], err[STORE_ERRLEN], tmp[] = "/tmp/pgsinkXXXXXX", path[64];
    pgtest_new_db(db, sizeof db);
    ASSERT(mkdtemp(tmp) != NULL);
    snprintf(path, sizeof path, "%s/audit.db", tmp);
    store *local = NULL;
    ASSERT_EQ_INT(open_store(path, "laptop", 0, 0, &local, err), STORE_OK);
    store_log log = {0};
    snprintf(log.log_id, sizeof log.log_id, "%s", store_log_id(local));
    snprintf(log.name, sizeof log.name, "%s", store_log_name(local));
    for (int i = 0; i < 3; i++) ASSERT_EQ_INT(two_and_a_checkpoint(local), STORE_OK);
    sink *sk = NULL;
    sink_config cfg = {.url = db, .log = &log};
    ASSERT_EQ_INT(sink_open(&cfg, &sk, err, sizeof err), SINK_OK);
    sink_ack ack;
    int64_t before = store_testing_checkpoints_read(local);
    ASSERT_EQ_INT(ship_after(sk, local, &log, 0, &ack), SINK_OK);
    ASSERT_EQ_INT(ack.seq, 6);
    ASSERT_EQ_INT(ack.extra, 3);
    ASSERT_EQ_INT(store_testing_checkpoints_read(local) - before, 3);
    /* Batches with nothing new read no checkpoint again. */
    for (int round = 0; round < 3; round++) {
        ASSERT_EQ_INT(ship_after(sk, local, &log, 6, &ack), SINK_OK);
        ASSERT_EQ_INT(ack.extra, 0);
    }
    ASSERT_EQ_INT(store_testing_checkpoints_read(local) - before, 3);
    /* A new checkpoint is read once, and shipped with its entries. */
    ASSERT_EQ_INT(two_and_a_checkpoint(local), STORE_OK);
    ASSERT_EQ_INT(ship_after(sk, local, &log, 6, &ack), SINK_OK);
    ASSERT_EQ_INT(ack.seq, 8);
    ASSERT_EQ_INT(ack.extra, 1);
    ASSERT_EQ_INT(store_testing_checkpoints_read(local) - before, 4);
    sink_close(sk);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT count(*) FROM dss_audit.checkpoints c"
                                   " JOIN dss_audit.logs l USING (log_id)"
                                   " WHERE l.name = 'laptop'"), 4);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT max(seq) FROM dss_audit.checkpoints c"
                                   " JOIN dss_audit.logs l USING (log_id)"
                                   " WHERE l.name = 'laptop'"), 8);
    store_close(local);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ASSERT_EQ_INT(system(cmd), 0);
}

static int count_logs(void *ctx, const store_log *l)
{
    int *n = ctx;
    /* The one log, with the key recorded below. */
    if (strlen(l->log_id) == 36 && !strcmp(l->name, "cp") && strlen(l->public_key) == 64 &&
        l->public_key[0] == 'a')
        ++*n;
    return 0;
}

static int collect_cp(void *ctx, const store_checkpoint *cp)
{
    int64_t *seen = ctx;
    seen[seen[0] + 1] = cp->number * 1000 + cp->seq;
    seen[0]++;
    return 0;
}

TEST(checkpoints_and_log_key)
{
    char db[1024], err[STORE_ERRLEN], k1[65], k2[65];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "cp", 0, 0, &s, err), STORE_OK);
    store_checkpoint cp = {.kind = "checkpoint"}, got;
    ASSERT_EQ_INT(store_last_checkpoint(s, &got, err), STORE_ENOTFOUND);
    ASSERT_EQ_INT(store_add_checkpoint(s, &cp, err), STORE_EINVAL); /* no transaction */
    memset(k1, 'a', 64);
    k1[64] = '\0';
    memset(k2, 'b', 64);
    k2[64] = '\0';
    for (int i = 1; i <= 2; i++) {
        store_receipt r;
        ASSERT_EQ_INT(append_n(s, 2, &r), 0);
        cp = (store_checkpoint){.kind = "checkpoint", .seq = r.seq};
        snprintf(cp.head_hash, sizeof cp.head_hash, "%s", r.hash);
        snprintf(cp.created_at, sizeof cp.created_at, "%s", r.created_at);
        memset(cp.prev_checkpoint_hash, '0', 64);
        snprintf(cp.public_key, sizeof cp.public_key, "%s", k1);
        memset(cp.signature, 'e', 128);
        ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
        ASSERT_EQ_INT(store_add_checkpoint(s, &cp, err), STORE_OK);
        ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
        ASSERT_EQ_INT(cp.number, i);
        ASSERT_EQ_STR(cp.log_id, store_log_id(s));
    }
    ASSERT_EQ_INT(store_last_checkpoint(s, &got, err), STORE_OK);
    ASSERT_EQ_INT(got.number, 2);
    ASSERT_EQ_INT(got.seq, 4);
    ASSERT_EQ_STR(got.public_key, k1);
    ASSERT_EQ_INT(store_last_anchor(s, &got, err), STORE_ENOTFOUND);
    int64_t seen[8] = {0};
    ASSERT_EQ_INT(store_each_checkpoint(s, collect_cp, seen, err), STORE_OK);
    ASSERT_EQ_INT(seen[0], 2);
    ASSERT_EQ_INT(seen[1], 1002);
    ASSERT_EQ_INT(seen[2], 2004);
    /* The key: recorded once, the same again is fine, another refused. */
    ASSERT_EQ_INT(store_record_log_key(s, k1, err), STORE_OK);
    ASSERT_EQ_INT(store_record_log_key(s, k1, err), STORE_OK);
    ASSERT_EQ_INT(store_record_log_key(s, k2, err), STORE_EINVAL);
    ASSERT_CONTAINS(err, k1);
    ASSERT_CONTAINS(err, k2);
    int found = 0;
    ASSERT_EQ_INT(store_each_log(s, count_logs, &found, err), STORE_OK);
    ASSERT_EQ_INT(found, 1);
    store_close(s);
}

TEST(use_log_by_name_and_shared_names)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "one", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(store_use_log(s, "nope", err), STORE_ENOTFOUND);
    store_log a = {.log_id = "11111111-0000-4000-8000-000000000001", .name = "twin"};
    store_log b = {.log_id = "22222222-0000-4000-8000-000000000002", .name = "twin"};
    ASSERT_EQ_INT(store_ensure_log(s, &a, err), STORE_OK);
    ASSERT_EQ_INT(store_ensure_log(s, &b, err), STORE_OK);
    ASSERT_EQ_INT(store_use_log(s, "twin", err), STORE_EINVAL);
    ASSERT_CONTAINS(err, a.log_id);
    ASSERT_CONTAINS(err, b.log_id);
    ASSERT_EQ_INT(store_use_log(s, b.log_id, err), STORE_OK);
    ASSERT_EQ_STR(store_log_id(s), b.log_id);
    store_close(s);
    /* Read-only: a missing name is refused; without one, none selected. */
    ASSERT_EQ_INT(open_store(db, "missing", 1, 0, &s, err), STORE_ENOTFOUND);
    ASSERT_EQ_INT(open_store(db, NULL, 1, 0, &s, err), STORE_OK);
    ASSERT_EQ_STR(store_log_id(s), "");
    ASSERT_EQ_INT(store_begin(s, err), STORE_EREADONLY);
    store_close(s);
}

TEST(lost_connection_fails_group_then_reconnects)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "lost", 0, 5000, &s, err), STORE_OK);
    store_receipt r;
    ASSERT_EQ_INT(append_n(s, 1, &r), 0);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    int64_t tx = store_tx(s);
    store_record x = rec("doomed");
    ASSERT_EQ_INT(store_append(s, &x, &r, err), STORE_OK);
    ASSERT_EQ_INT(r.seq, 2);
    ASSERT_EQ_INT(pgtest_value(db,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'dss-audit-mcp' AND datname = current_database()"), 1);
    ASSERT_EQ_INT(store_commit(s, err), STORE_EIO);
    ASSERT_CONTAINS(err, "lost the connection");
    ASSERT_EQ_INT(store_take_lost_tx(s), tx);
    ASSERT_EQ_INT(store_in_transaction(s), 0);
    /* The next group reconnects and continues the chain. */
    ASSERT_EQ_INT(append_n(s, 2, &r), 0);
    ASSERT_EQ_INT(r.seq, 3);
    int64_t count;
    ASSERT(verify_chain(s, &count));
    ASSERT_EQ_INT(count, 3);
    /* Killed while idle: the next group just reconnects, losing nothing. */
    ASSERT_EQ_INT(pgtest_value(db,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'dss-audit-mcp' AND datname = current_database()"), 1);
    ASSERT_EQ_INT(append_n(s, 1, &r), 0);
    ASSERT_EQ_INT(r.seq, 4);
    ASSERT_EQ_INT(store_take_lost_tx(s), 0);
    store_close(s);
}

TEST(password_never_in_messages)
{
    static const char *const bad[] = {
        "host=/nonexistent-dss-socket port=1 user=u password=SECRETPW dbname=d",
        "postgresql://u:SECRETPW@127.0.0.1:1/d",
        "postgres://u@127.0.0.1:1/d?password=SECRETPW",
        "host=x password=SECRETPW junk",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[STORE_ERRLEN] = "";
        store *s = NULL;
        int rc = open_store(bad[i], "p", 0, 100, &s, err);
        ASSERT(rc != STORE_OK);
        ASSERT(s == NULL);
        ASSERT(err[0] != '\0');
        if (strstr(err, "SECRETPW")) TEST_FAIL_("the password leaked: %s", err);
    }
}

static int stop_soon(void *ctx)
{
    int *calls = ctx;
    return ++*calls >= 3;
}

TEST(interrupt_cancels_a_long_wait)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *a = NULL, *b = NULL;
    ASSERT_EQ_INT(open_store(db, "wait", 0, 0, &a, err), STORE_OK);
    /* b would wait ten minutes for a's lock; its interrupt stops it. */
    ASSERT_EQ_INT(open_store(db, "wait", 0, 600000, &b, err), STORE_OK);
    ASSERT_EQ_INT(store_begin(a, err), STORE_OK);
    /* A begin only sends its lock (pipelined); a's first write waits for
    ** it, so a surely holds the lock before b asks. */
    store_receipt r;
    store_record held = rec("held");
    ASSERT_EQ_INT(store_append(a, &held, &r, err), STORE_OK);
    int calls = 0;
    store_set_interrupt(b, stop_soon, &calls);
    /* The begin sends the lock; the first write waits for it. */
    ASSERT_EQ_INT(store_begin(b, err), STORE_OK);
    store_record x = rec("never");
    ASSERT_EQ_INT(store_append(b, &x, &r, err), STORE_EINTERRUPTED);
    ASSERT(calls >= 3);
    store_rollback(b);
    ASSERT_EQ_INT(store_in_transaction(b), 0);
    store_set_interrupt(b, NULL, NULL);
    store_rollback(a);
    /* b still works afterwards. */
    ASSERT_EQ_INT(append_n(b, 1, &r), 0);
    ASSERT_EQ_INT(r.seq, 1);
    store_close(a);
    store_close(b);
}

/* The shape of schema version 1, made from a current one (as a superuser):
** no tree, notes, cosignatures, witnesses or origins. */
static const char shape_of_version_1[] =
    "DROP TABLE dss_audit.sink_cursors;"
    "DROP TABLE dss_audit.tree; DROP TABLE dss_audit.cosignatures;"
    "DROP TABLE dss_audit.witnesses;"
    "ALTER TABLE dss_audit.checkpoints DROP COLUMN note;"
    "CREATE OR REPLACE FUNCTION dss_audit.logs_guard() RETURNS trigger"
    " LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;"
    "ALTER TABLE dss_audit.logs DROP COLUMN origin;"
    "UPDATE dss_audit.schema_version SET version = 1;";

/* The root of a log's tree, recomputed from its entries' hashes. */
static int leaf_of(void *ctx, const store_raw_entry *e)
{
    merkle_hash leaf;
    merkle_leaf_hash(e->hash, CHAIN_HASH_BYTES, leaf);
    return merkle_mem_append(ctx, leaf) != MERKLE_OK;
}

static int tree_matches_entries(store *s, const char *log, int64_t want_size)
{
    char err[STORE_ERRLEN];
    merkle_mem m = {0};
    merkle_hash want, got;
    int64_t size = -1;
    int ok = store_use_log(s, log, err) == STORE_OK &&
             store_each_entry(s, 1, leaf_of, &m, err) == STORE_OK &&
             store_tree_size(s, &size, err) == STORE_OK && size == want_size &&
             store_tree_root(s, size, got, err) == STORE_OK;
    merkle_frontier_root(&m.f, want);
    ok = ok && m.f.size == want_size && memcmp(want, got, MERKLE_HASH) == 0;
    if (!ok) fprintf(stderr, "log %s: tree of %lld leaves (%s)\n", log, (long long)size, err);
    merkle_mem_free(&m);
    return ok;
}

/* A database of version 1 migrates to 2 and every log gains its tree,
** the logs of other servers included. */
TEST(version_1_database_migrates_to_2_and_every_log_gains_its_tree)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *a = NULL, *b = NULL;
    ASSERT_EQ_INT(open_store(db, "one", 0, 0, &a, err), STORE_OK);
    ASSERT_EQ_INT(open_store(db, "two", 0, 0, &b, err), STORE_OK);
    ASSERT_EQ_INT(append_n(a, 5, NULL), 0);
    ASSERT_EQ_INT(append_n(b, 11, NULL), 0);
    store_close(a);
    store_close(b);
    ASSERT_EQ_INT(pgtest_exec(db, shape_of_version_1), 0);
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 1);
    ASSERT_EQ_INT(open_store(db, "one", 0, 0, &a, err), STORE_OK);
    /* Through 2 (the trees), 3 (ship's cursors) to 4 (the time BRIN index). */
    ASSERT_EQ_INT(pgtest_value(db, "SELECT version FROM dss_audit.schema_version"), 8);
    ASSERT(tree_matches_entries(a, "one", 5));
    ASSERT(tree_matches_entries(a, "two", 11));
    ASSERT_EQ_INT(store_use_log(a, NULL, err), STORE_OK);
    ASSERT_EQ_INT(append_n(a, 2, NULL), 0);
    ASSERT(tree_matches_entries(a, "one", 7));
    store_close(a);
}


/* A group commit costs two round trips, the Merkle tree's hashes
** included: the head lock (sent at begin, read at the first append) and
** one flight holding the rows, the head's move, the tree's hashes and
** COMMIT.  The tree still matches the entries after several groups. */
TEST(group_commit_is_two_round_trips_tree_included)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "rt", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(append_n(s, 3, NULL), 0); /* prepares the statements */
    for (int group = 0; group < 3; group++) {
        int64_t before = store_testing_round_trips(s);
        ASSERT(before >= 0);
        ASSERT_EQ_INT(append_n(s, 31, NULL), 0);
        ASSERT_EQ_INT(store_testing_round_trips(s) - before, 2);
    }
    ASSERT(tree_matches_entries(s, "rt", 3 + 3 * 31));
    store_close(s);
}

/* A read recorded as serve records it (begin, the query, its tool_call
** record, commit) costs two round trips: BEGIN, the head lock and the
** query in one; the record's rows, the head's move, the tree and COMMIT
** (with the wait for its flush) in the other.  The record is committed
** when commit returns: another connection sees it. */
TEST(read_and_its_record_are_two_round_trips)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "reads", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(append_n(s, 5, NULL), 0);
    for (int k = 0; k < 3; k++) {
        int64_t before = store_testing_round_trips(s);
        ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
        store_query q = {.user_id = "alice", .limit = 20};
        cJSON *found = NULL;
        int more = 0;
        ASSERT_EQ_INT(store_find(s, &q, &found, &more, err), STORE_OK);
        ASSERT_EQ_INT(cJSON_GetArraySize(found), 5 + k);
        cJSON_Delete(found);
        store_record r = rec("history");
        store_receipt got;
        ASSERT_EQ_INT(store_append(s, &r, &got, err), STORE_OK);
        ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
        ASSERT_EQ_INT(store_testing_round_trips(s) - before, 2);
        char sql[200];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM dss_audit.entries WHERE operation_name = 'history'"
                 " AND seq = %lld",
                 (long long)got.seq);
        ASSERT_EQ_INT(pgtest_value(db, sql), 1);
    }
    store_close(s);
}

/* get_user_activity recorded as serve records it costs two round trips,
** as a find does: its two statements (the counts by type, the projects)
** go in one, with BEGIN and the head lock; the record and COMMIT in the
** other.  The counts include the record of the call before. */
TEST(activity_and_its_record_are_two_round_trips)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "acts", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(append_n(s, 4, NULL), 0);
    for (int k = 0; k < 3; k++) {
        int64_t before = store_testing_round_trips(s);
        ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
        store_activity a;
        ASSERT_EQ_INT(store_user_activity(s, "alice", "2000-01-01T00:00:00.000000Z", NULL, &a,
                                          err),
                      STORE_OK);
        ASSERT_EQ_INT((int)a.total, 4 + k);
        ASSERT_EQ_INT((int)a.projects, 1);
        ASSERT_EQ_INT((int)cJSON_GetNumberValue(cJSON_GetObjectItem(a.by_type, "tool_call")),
                      4 + k);
        cJSON_Delete(a.by_type);
        store_record r = rec("activity");
        store_receipt got;
        ASSERT_EQ_INT(store_append(s, &r, &got, err), STORE_OK);
        ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
        ASSERT_EQ_INT(store_testing_round_trips(s) - before, 2);
    }
    /* One log, by name: the same counts; an unknown log counts nothing. */
    store_activity a;
    ASSERT_EQ_INT(store_user_activity(s, "alice", "2000-01-01T00:00:00.000000Z", "acts", &a, err),
                  STORE_OK);
    ASSERT_EQ_INT((int)a.total, 7);
    cJSON_Delete(a.by_type);
    ASSERT_EQ_INT(store_user_activity(s, "alice", "2000-01-01T00:00:00.000000Z", "nowhere", &a,
                                      err),
                  STORE_OK);
    ASSERT_EQ_INT((int)a.total, 0);
    cJSON_Delete(a.by_type);
    store_close(s);
}

/* Each entry a read returns names its log, from the store's cache of log
** names: the first read that meets logs other than its own asks for their
** names in one more round trip, for all of them at once; a read after it
** meets the same logs and costs its query alone.  The names are the logs'
** (a log's own entries, another log's, read by a store of a third log). */
TEST(reads_name_their_logs_from_a_cache)
{
    char db[1024], err[STORE_ERRLEN];
    pgtest_new_db(db, sizeof db);
    const char *logs[] = {"north", "south", "east"};
    for (int i = 0; i < 3; i++) {
        store *w = NULL;
        ASSERT_EQ_INT(open_store(db, logs[i], 0, 0, &w, err), STORE_OK);
        ASSERT_EQ_INT(append_n(w, 2, NULL), 0);
        store_close(w);
    }
    store *s = NULL;
    ASSERT_EQ_INT(open_store(db, "reader", 0, 0, &s, err), STORE_OK);
    ASSERT_EQ_INT(append_n(s, 1, NULL), 0);
    for (int k = 0; k < 2; k++) {
        int64_t before = store_testing_round_trips(s);
        store_query q = {.user_id = "alice", .limit = 20};
        cJSON *found = NULL;
        int more = 0;
        ASSERT_EQ_INT(store_find(s, &q, &found, &more, err), STORE_OK);
        /* the query, and on the first read the names of the three others */
        ASSERT_EQ_INT(store_testing_round_trips(s) - before, k == 0 ? 2 : 1);
        ASSERT_EQ_INT(cJSON_GetArraySize(found), 7);
        int named[4] = {0};
        for (cJSON *e = found->child; e; e = e->next) {
            const char *log = cJSON_GetStringValue(cJSON_GetObjectItem(e, "log"));
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "log_id"));
            ASSERT(log && id);
            char sql[200];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM dss_audit.logs WHERE log_id = '%s' AND name = '%s'",
                     id, log);
            ASSERT_EQ_INT(pgtest_value(db, sql), 1);
            for (int i = 0; i < 3; i++) named[i] += !strcmp(log, logs[i]);
            named[3] += !strcmp(log, "reader");
        }
        ASSERT_EQ_INT(named[0], 2);
        ASSERT_EQ_INT(named[1], 2);
        ASSERT_EQ_INT(named[2], 2);
        ASSERT_EQ_INT(named[3], 1);
        cJSON_Delete(found);
    }
    /* One entry by its id, and a walk: the same names. */
    store_query q = {.user_id = "alice", .limit = 1};
    cJSON *found = NULL;
    int more = 0;
    ASSERT_EQ_INT(store_find(s, &q, &found, &more, err), STORE_OK);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(found->child, "id"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(found->child, "log"));
    ASSERT(id && name);
    cJSON *one = NULL;
    ASSERT_EQ_INT(store_get(s, id, &one, err), STORE_OK);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(one, "log")), name);
    cJSON_Delete(one);
    cJSON_Delete(found);
    store_close(s);
}

/* The WAL messages (pg_logical_emit_message) naming the log `name` written
** since the LSN `from`: one per commit that released the head before its
** flush.  -1 when it cannot tell. */
static long long early_commits(const char *db, const char *name, const char *from)
{
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_get_wal_records_info('%s', pg_current_wal_flush_lsn())"
             " WHERE resource_manager = 'LogicalMessage' AND description LIKE '%%' ||"
             " (SELECT string_agg(lpad(upper(to_hex(get_byte(b, i))), 2, '0'), ' ')"
             " FROM (SELECT convert_to(log_id, 'UTF8') AS b FROM dss_audit.logs"
             " WHERE name = '%s') x, generate_series(0, length(b) - 1) i) || '%%'",
             from, name);
    return pgtest_value(db, sql);
}

static void wal_now(const char *db, char *lsn, size_t len)
{
    PGconn *c = PQconnectdb(db);
    PGresult *r = PQexec(c, "SELECT pg_current_wal_flush_lsn()");
    snprintf(lsn, len, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "0/0");
    PQclear(r);
    PQfinish(c);
}

/* A server alone on its log commits with the head held through the flush
** (an early release there only costs a second flush); once another writer
** moves the head between its groups, its commits release the head before
** the flush and wait for it with a WAL message of their own. */
TEST(head_released_before_the_flush_only_while_the_log_is_shared)
{
    char db[1024], err[STORE_ERRLEN], from[64];
    pgtest_new_db(db, sizeof db);
    ASSERT_EQ_INT(pgtest_exec(db, "CREATE EXTENSION pg_walinspect"), 0);
    store *a = NULL, *b = NULL;
    ASSERT_EQ_INT(open_store(db, "shared-or-not", 0, 0, &a, err), STORE_OK);
    ASSERT_EQ_INT(append_n(a, 2, NULL), 0);
    wal_now(db, from, sizeof from);
    for (int k = 0; k < 5; k++) ASSERT_EQ_INT(append_n(a, 3, NULL), 0);
    ASSERT_EQ_INT(early_commits(db, "shared-or-not", from), 0);
    ASSERT_EQ_INT(open_store(db, "shared-or-not", 0, 0, &b, err), STORE_OK);
    wal_now(db, from, sizeof from);
    for (int k = 0; k < 5; k++) {
        ASSERT_EQ_INT(append_n(b, 1, NULL), 0);
        ASSERT_EQ_INT(append_n(a, 3, NULL), 0);
    }
    /* a saw the head moved at each of its five groups; b at its last four. */
    ASSERT(early_commits(db, "shared-or-not", from) >= 9);
    int64_t count = 0;
    ASSERT(verify_chain(a, &count));
    ASSERT_EQ_INT(count, 2 + 5 * 3 + 5 * 4);
    ASSERT(tree_matches_entries(a, "shared-or-not", count));
    store_close(a);
    store_close(b);
}

TEST_MAIN(TEST_ENTRY(migrates_fresh_database)
          TEST_ENTRY(version_1_database_migrates_to_2_and_every_log_gains_its_tree)
          TEST_ENTRY(version_3_schema_migrates_to_current)
          TEST_ENTRY(version_4_schema_migrates_to_5) TEST_ENTRY(version_5_schema_migrates_to_6)
          TEST_ENTRY(version_6_schema_migrates_to_7) TEST_ENTRY(version_7_schema_migrates_to_8)
          TEST_ENTRY(search_indexes_keep_short_pending_lists) TEST_ENTRY(eight_stores_migrate_once)
          TEST_ENTRY(newer_schema_refused) TEST_ENTRY(readonly_without_schema_refused)
          TEST_ENTRY(append_head_and_walk_round_trip)
          TEST_ENTRY(two_stores_on_one_log_make_one_chain) TEST_ENTRY(other_logs_do_not_wait)
          TEST_ENTRY(savepoint_rollback_restores_head) TEST_ENTRY(failed_request_keeps_the_others) TEST_ENTRY(rollback_discards_all)
          TEST_ENTRY(writer_role_cannot_change_entries) TEST_ENTRY(every_key_leads_with_log_id)
          TEST_ENTRY(import_continues_resends_and_refuses_breaks)
          TEST_ENTRY(import_refuses_invalid_utf8_naming_the_problem)
          TEST_ENTRY(pg_sink_reads_each_local_checkpoint_once_per_run)
          TEST_ENTRY(checkpoints_and_log_key) TEST_ENTRY(use_log_by_name_and_shared_names)
          TEST_ENTRY(lost_connection_fails_group_then_reconnects)
          TEST_ENTRY(password_never_in_messages) TEST_ENTRY(interrupt_cancels_a_long_wait)
          TEST_ENTRY(group_commit_is_two_round_trips_tree_included)
          TEST_ENTRY(read_and_its_record_are_two_round_trips)
          TEST_ENTRY(reads_name_their_logs_from_a_cache)
          TEST_ENTRY(activity_and_its_record_are_two_round_trips)
          TEST_ENTRY(head_released_before_the_flush_only_while_the_log_is_shared))
