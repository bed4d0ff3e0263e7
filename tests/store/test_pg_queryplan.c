/*
** test_pg_queryplan.c: every query shape of the PostgreSQL backend reads
** an index in the order it returns, newest first across logs, with no Sort
** node, so its cost does not grow with the number of entries or logs (the
** PostgreSQL twin of tests/unit/test_queryplan.c).
**
** Each case fills a fresh database (tests/pg/pgtest.h) with 100,000 entries
** across ten logs and two monthly partitions, inserted as the superuser
** with generate_series (their hashes do not matter to a plan), then
** ANALYZEs it, so that the planner decides with real statistics rather
** than the guesses it makes for empty tables.  Values asked for exist with
** the selectivities of a busy trail (a user holds 1/20 of the entries).
**
** Substring search is the exception: a rare term is found through the
** trigram indexes (a bitmap scan), whose matches come unordered and are
** sorted; that Sort holds the matches only, and the case says so.
*/
#include "test.h"

#include <cjson/cJSON.h>

#include "store/pg/store_pg.h"
#include "store/store.h"
#include "pgtest.h"

static char target[1024];

/* 100,000 entries over ten more logs (log0..log9, named name0..name9)
** from 2026-03-01 on, one every 30 seconds: two monthly partitions. */
static const char fill_sql[] =
    "SELECT dss_audit.ensure_partition('2026-03');"
    "SELECT dss_audit.ensure_partition('2026-04');"
    "INSERT INTO dss_audit.logs (log_id, name, created_at)"
    "  SELECT 'log' || g, 'name' || g, '2026-03-01T00:00:00.000000Z'"
    "  FROM generate_series(0, 9) g;"
    "INSERT INTO dss_audit.entries (log_id, seq, id, event_type, operation_name,"
    "  user_id, project_id, args, error, created_at, prev_hash, hash, server,"
    "  session_id, completes)"
    " SELECT 'log' || (g % 10), g / 10 + 1, 'id' || g,"
    "  (ARRAY['tool_call', 'tool_result', 'error'])[g % 3 + 1], 'op_' || (g % 50),"
    "  'user' || (g % 20), 'proj' || (g % 7), '{}',"
    "  CASE WHEN g % 17 = 0 THEN 'failed: exit ' || g END,"
    "  to_char(timestamp '2026-03-01' + g * interval '30 second',"
    "          'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "  '\\x00', '\\x00',"
    "  CASE WHEN g % 5 = 0 THEN '{\"name\":\"github\"}' END,"
    "  CASE WHEN g % 4 = 0 THEN 's' || (g % 40) END,"
    "  CASE WHEN g % 2 = 1 THEN 'id' || (g - 1) END"
    " FROM generate_series(0, 99999) g;"
    "ANALYZE;";

/* A fresh, filled database and a store on it; NULL on failure. */
static store *filled(void)
{
    char err[512];
    if (pgtest_fresh_db(target, sizeof target, err, sizeof err) != 0) {
        fprintf(stderr, "pgtest_fresh_db: %s\n", err);
        return NULL;
    }
    store_options o = {.path = target, .log_name = "alpha"};
    store *s = NULL;
    char serr[STORE_ERRLEN];
    if (store_open(&o, &s, serr) != STORE_OK) {
        fprintf(stderr, "store_open: %s\n", serr);
        return NULL;
    }
    if (pgtest_exec(target, fill_sql, err, sizeof err) != 0) {
        fprintf(stderr, "filling: %s\n", err);
        store_close(s);
        return NULL;
    }
    return s;
}

/* q's plan into plan; 1 when it reads entries through an index and sorts
** nothing (else the plan goes to stderr). */
static int ordered(store *s, const store_query *q, char *plan, size_t len)
{
    char err[STORE_ERRLEN];
    if (pg_store_explain_find(store_as_pg(s), q, plan, len, err) != STORE_OK) {
        fprintf(stderr, "explain: %s\n", err);
        return 0;
    }
    int ok = !strstr(plan, "Sort") && !strstr(plan, "Seq Scan on entries") &&
             strstr(plan, "Index");
    if (!ok) fprintf(stderr, "%s", plan);
    return ok;
}

static store_query newest(void)
{
    store_query q;
    memset(&q, 0, sizeof q);
    q.limit = 20;
    return q;
}

TEST(history_without_filter_reads_time_index_in_order)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    store_query q = newest();
    ASSERT(ordered(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "Index Scan Backward");
    store_close(s);
}

/* Every single filter of get_operation_history and the trail. */
TEST(history_every_single_filter_needs_no_sort)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    for (int f = 0; f < 7; f++) {
        store_query q = newest();
        switch (f) {
        case 0: q.project_id = "proj3"; break;
        case 1: q.user_id = "user3"; break;
        case 2: q.operation_name = "op_7"; break;
        case 3: q.event_type = "error"; break;
        case 4: q.server = "github"; break;
        case 5: q.session_id = "s4"; break;
        case 6: q.completes = "id40"; break;
        }
        int ok = ordered(s, &q, plan, sizeof plan);
        if (!ok) fprintf(stderr, "filter %d\n", f);
        ASSERT(ok);
    }
    store_close(s);
}

TEST(history_rare_values_need_no_sort)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    store_query q = newest();
    q.user_id = "nobody";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    q = newest();
    q.session_id = "no-such-session";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST(history_combined_filters_need_no_sort)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    store_query q = newest();
    q.user_id = "user3";
    q.project_id = "proj2";
    q.event_type = "error";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST(log_filter_needs_no_sort)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    store_query q = newest();
    q.log = "name3";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "log3");
    q.user_id = "user3";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST(trail_time_range_needs_no_sort)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    store_query q = newest();
    q.since = "2026-03-10T00:00:00.000000Z";
    q.until = "2026-03-11T00:00:00.000000Z";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    q.event_type = "error";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    q = newest();
    q.since = "2026-03-10T00:00:00.000000Z";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    q = newest();
    q.until = "2026-03-10T00:00:00.000000Z";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST(cursor_across_logs_needs_no_sort)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192];
    store_query q = newest();
    q.after_seq = 1000;
    q.after_created_at = "2026-03-20T00:00:00.000000Z";
    q.after_log_id = "log4";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "ROW(created_at, log_id, seq) <");
    q.user_id = "user3";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    q.user_id = NULL;
    q.log = "name4";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    store_close(s);
}

/* A rare term: the trigram indexes find its few matches, which are then
** sorted (the Sort holds the matches only, not the log). */
TEST(search_rare_term_uses_trigram_index)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192], err[STORE_ERRLEN];
    store_query q = newest();
    q.text = "exit 2999";
    ASSERT_EQ_INT(pg_store_explain_find(store_as_pg(s), &q, plan, sizeof plan, err),
                  STORE_OK);
    ASSERT_CONTAINS(plan, "Bitmap Index Scan");
    ASSERT(!strstr(plan, "Seq Scan on entries"));
    store_close(s);
}

TEST_MAIN(
    TEST_ENTRY(history_without_filter_reads_time_index_in_order)
    TEST_ENTRY(history_every_single_filter_needs_no_sort)
    TEST_ENTRY(history_rare_values_need_no_sort)
    TEST_ENTRY(history_combined_filters_need_no_sort)
    TEST_ENTRY(log_filter_needs_no_sort)
    TEST_ENTRY(trail_time_range_needs_no_sort)
    TEST_ENTRY(cursor_across_logs_needs_no_sort)
    TEST_ENTRY(search_rare_term_uses_trigram_index))
