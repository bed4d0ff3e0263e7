/*
** test_pg_queryplan.c: every query shape of the PostgreSQL backend reads
** an index in the order it returns, newest first across logs, with no Sort
** node, so its cost does not grow with the number of entries or logs (the
** PostgreSQL twin of tests/unit/test_queryplan.c).
**
** Each case fills a fresh database (tests/pg/pgtest.h) with 20,000 entries
** (100,000 for search) across ten logs and two monthly partitions, inserted as the superuser
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

#include <stdlib.h>
#include <cjson/cJSON.h>

#include "store/store_testing.h"
#include "store/store.h"
#include "pgtest.h"

static char target[1024];

/* Drop the case's database (conninfo ends with "dbname=NAME", as
** pgtest_new_db() writes it), so that a run of many cases leaves the
** cluster small and quick to stop.  Its connections must be closed. */
static void drop_db(const char *conninfo)
{
    const char *at = strstr(conninfo, "dbname=");
    if (!at) return;
    char admin[1024], sql[256];
    snprintf(admin, sizeof admin, "%.*sdbname=postgres", (int)(at - conninfo), conninfo);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", at + 7);
    pgtest_exec(admin, sql);
}

static void cleanup(void)
{
    if (target[0]) drop_db(target);
}

/* n entries over ten more logs (log0..log9, named name0..name9) from
** 2026-03-01 on, spread over 35 days (the first %d: seconds between
** entries, 3,000,000 / n; the second: n - 1), so two monthly partitions.
** A format: its SQL's % are doubled. */
static const char fill_sql[] =
    "SELECT dss_audit.ensure_partition('2026-03');"
    "SELECT dss_audit.ensure_partition('2026-04');"
    "INSERT INTO dss_audit.logs (log_id, name, created_at)"
    "  SELECT 'log' || g, 'name' || g, '2026-03-01T00:00:00.000000Z'"
    "  FROM generate_series(0, 9) g;"
    "INSERT INTO dss_audit.entries (log_id, seq, id, event_type, operation_name,"
    "  user_id, project_id, args, error, created_at, prev_hash, hash, server,"
    "  session_id, completes)"
    " SELECT 'log' || (g %% 10), g / 10 + 1, 'id' || g,"
    "  (ARRAY['tool_call', 'tool_result', 'error'])[g %% 3 + 1], 'op_' || (g %% 50),"
    "  'user' || (g %% 20), 'proj' || (g %% 7), '{}',"
    "  CASE WHEN g %% 17 = 0 THEN 'failed: exit ' || g END,"
    "  to_char(timestamp '2026-03-01' + g * interval '1 second' * %d,"
    "          'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "  '\\x00', '\\x00',"
    "  CASE WHEN g %% 5 = 0 THEN '{\"name\":\"github\"}' END,"
    "  CASE WHEN g %% 4 = 0 THEN 's' || (g %% 40) END,"
    "  CASE WHEN g %% 2 = 1 THEN 'id' || (g - 1) END"
    " FROM generate_series(0, %d) g;"
    "ANALYZE;";

/* A fresh database filled with n entries, and a store on it; NULL on
** failure. */
static store *filled_with(int n)
{
    char err[512], sql[sizeof fill_sql + 16];
    snprintf(sql, sizeof sql, fill_sql, 3000000 / n, n - 1);
    static int registered;
    if (target[0]) drop_db(target); /* the previous case's, in a run of all */
    if (!registered) atexit(cleanup);
    registered = 1;
    pgtest_new_db(target, sizeof target); /* aborts when it cannot */
    store_options o = {.path = target, .log_name = "alpha"};
    store *s = NULL;
    char serr[STORE_ERRLEN];
    if (store_open(&o, &s, serr) != STORE_OK) {
        fprintf(stderr, "store_open: %s\n", serr);
        return NULL;
    }
    if (pgtest_exec_err(target, sql, err, sizeof err) != 0) {
        fprintf(stderr, "filling: %s\n", err);
        store_close(s);
        return NULL;
    }
    return s;
}

/* Enough for the planner to prefer an index over reading a partition. */
static store *filled(void) { return filled_with(20000); }

/* q's plan into plan; 1 when it reads entries through an index and sorts
** nothing (else the plan goes to stderr). */
static int ordered(store *s, const store_query *q, char *plan, size_t len)
{
    char err[STORE_ERRLEN];
    if (store_testing_explain_find(s, q, plan, len, err) != STORE_OK) {
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

/* Several filters at once narrow the matches so far that the planner may
** rather collect them through one index and sort those few (a Sort of
** the matches, not of the log): only the index is required here. */
TEST(history_combined_filters_read_an_index)
{
    store *s = filled();
    ASSERT(s);
    char plan[8192], err[STORE_ERRLEN];
    store_query q = newest();
    q.user_id = "user3";
    q.project_id = "proj2";
    q.event_type = "error";
    ASSERT_EQ_INT(store_testing_explain_find(s, &q, plan, sizeof plan, err),
                  STORE_OK);
    ASSERT_CONTAINS(plan, "user_id_created_at_log_id_seq"); /* the user index */
    ASSERT(!strstr(plan, "Seq Scan on entries"));
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
** sorted (the Sort holds the matches only, not the log).  The planner
** prefers the bitmap over reading a partition only once the partition is
** large, hence more entries here; a small partition may still be read
** whole. */
TEST(search_rare_term_uses_trigram_index)
{
    store *s = filled_with(100000);
    ASSERT(s);
    char plan[8192], err[STORE_ERRLEN];
    store_query q = newest();
    q.text = "exit 2999";
    ASSERT_EQ_INT(store_testing_explain_find(s, &q, plan, sizeof plan, err),
                  STORE_OK);
    ASSERT_CONTAINS(plan, "Bitmap Index Scan on entries_2026_03_operation_name_idx");
    ASSERT_CONTAINS(plan, "Bitmap Index Scan on entries_2026_03_error_idx");
    store_close(s);
}

/* A search's best plan depends on its term (trigram bitmaps for a rare
** one, the time index for a common one), and so does that of several
** filters at once (which is rarest), so each run is planned for its
** values.  PostgreSQL's default would switch to a generic plan after five
** runs; ten runs of each must all have been custom plans. */
TEST(searches_and_combined_filters_are_planned_for_their_values_every_time)
{
    store *s = filled();
    ASSERT(s);
    char err[STORE_ERRLEN];
    for (int k = 0; k < 10; k++) {
        char user[16], project[16], term[16];
        snprintf(user, sizeof user, "user%d", k);
        snprintf(project, sizeof project, "proj%d", k % 7);
        snprintf(term, sizeof term, "exit %d", 17 * k);
        store_query q = newest();
        q.user_id = user;
        q.project_id = project;
        cJSON *rows = NULL;
        int more = 0;
        ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
        cJSON_Delete(rows);
        q = newest();
        q.text = term;
        ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
        ASSERT(cJSON_GetArraySize(rows) >= 1);
        cJSON_Delete(rows);
    }
    int64_t generic = -1, custom = -1;
    ASSERT_EQ_INT(store_testing_find_plans(s, &generic, &custom, err), STORE_OK);
    ASSERT_EQ_INT((int)generic, 0);
    ASSERT(custom >= 20); /* a search may take several statements (windows) */
    store_close(s);
}

/* A history of one filter (a user's newest 20) has one best plan whatever
** the user, that user's index read backwards, so it is planned once per
** connection: planning it for its values was 0.33 ms a request, more than
** running it.  Ten users, common and absent ones: the first run checked
** the generic plan, the others ran it, each got its newest entries in
** order, and the plan read the user index with no Sort. */
TEST(single_filter_finds_are_planned_once)
{
    store *s = filled();
    ASSERT(s);
    char err[STORE_ERRLEN], plan[8192];
    for (int k = 0; k < 10; k++) {
        char user[16];
        snprintf(user, sizeof user, k == 9 ? "nobody" : "user%d", k);
        store_query q = newest();
        q.user_id = user;
        cJSON *rows = NULL;
        int more = 0;
        ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
        ASSERT_EQ_INT(cJSON_GetArraySize(rows), k == 9 ? 0 : 20);
        const char *prev = NULL;
        for (cJSON *e = rows->child; e; e = e->next) {
            const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(e, "created_at"));
            ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "user_id")), user);
            ASSERT(!prev || strcmp(at, prev) <= 0);
            prev = at;
        }
        if (k < 9) {
            /* the first row is the user's newest */
            char sql[300];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM dss_audit.entries WHERE user_id = '%s'"
                     " AND created_at > '%s'",
                     user, cJSON_GetStringValue(cJSON_GetObjectItem(rows->child, "created_at")));
            ASSERT_EQ_INT(pgtest_value(target, sql), 0);
        }
        cJSON_Delete(rows);
    }
    /* The first run was planned for its values, explaining the generic
    ** plan beside it; the nine others ran the generic plan. */
    int64_t generic = -1, custom = -1;
    ASSERT_EQ_INT(store_testing_find_plans(s, &generic, &custom, err), STORE_OK);
    ASSERT_EQ_INT((int)custom, 1);
    ASSERT_EQ_INT((int)generic, 10); /* the nine and the EXPLAIN of the first */
    store_query q = newest();
    q.user_id = "user3";
    ASSERT(ordered(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "user_id_created_at_log_id_seq");
    ASSERT_CONTAINS(plan, "$1"); /* planned for no value */
    store_close(s);
}

/* A one-filter shape runs its generic plan only when that plan reads the
** filter's own index.  Here the user index is gone, so the generic plan
** reads the time index and filters rows (for a rare user, every
** partition); the store sees it in the plan it explains with the first
** run, and plans that shape for its values from then on. */
TEST(a_generic_plan_off_the_filters_index_is_not_used)
{
    store *s = filled();
    ASSERT(s);
    char err[512];
    ASSERT_EQ_INT(pgtest_exec_err(target,
                                  "DROP INDEX dss_audit.entries_user, dss_audit.entries_user_errors;"
                                  "ANALYZE dss_audit.entries;",
                                  err, sizeof err),
                  0);
    for (int k = 0; k < 10; k++) {
        char user[16];
        snprintf(user, sizeof user, "user%d", k);
        store_query q = newest();
        q.user_id = user;
        cJSON *rows = NULL;
        int more = 0;
        ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
        ASSERT_EQ_INT(cJSON_GetArraySize(rows), 20);
        cJSON_Delete(rows);
    }
    int64_t generic = -1, custom = -1;
    ASSERT_EQ_INT(store_testing_find_plans(s, &generic, &custom, err), STORE_OK);
    ASSERT_EQ_INT((int)generic, 1); /* the EXPLAIN of the first run alone */
    ASSERT_EQ_INT((int)custom, 10);
    store_close(s);
}

/* A statement planned once does not know its LIMIT, so PostgreSQL costs
** it as reading a tenth of every partition, and with JIT on it compiled
** each run before running it (49 ms for a user's newest 20 at 10,000,000
** entries against 0.18 ms).  The store's sessions run without JIT, even
** where the database asks for it for everything (jit_above_cost = 0). */
TEST(sessions_run_without_jit)
{
    store *s = filled();
    ASSERT(s);
    store_close(s);
    const char *at = strstr(target, "dbname=");
    ASSERT(at);
    char sql[300], err[512], plan[8192], serr[STORE_ERRLEN];
    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" SET jit_above_cost = 0", at + 7);
    ASSERT_EQ_INT(pgtest_exec_err(target, sql, err, sizeof err), 0);
    /* Where the server has no JIT there is nothing to turn off. */
    int jit = pgtest_value(target, "SELECT pg_jit_available()::int");
    store_options o = {.path = target, .log_name = "alpha"};
    ASSERT_EQ_INT(store_open(&o, &s, serr), STORE_OK);
    store_query q = newest();
    q.user_id = "user3";
    ASSERT_EQ_INT(store_testing_explain_find(s, &q, plan, sizeof plan, serr), STORE_OK);
    if (strstr(plan, "JIT")) fprintf(stderr, "%s", plan);
    ASSERT(!strstr(plan, "JIT"));
    if (jit == 1)
        ASSERT_EQ_INT(pgtest_value(target, "SELECT count(*) FROM (SELECT 1 FROM"
                                           " pg_settings WHERE name = 'jit_above_cost'"
                                           " AND setting = '0') t"),
                      1);
    store_close(s);
}

/* A shape that filters on time alone (a trail) has one best plan, the
** time index read backwards, so it is planned once per connection: ten
** trails over other windows, some across the two partitions, all ran the
** generic plan, planned for no values (partitions pruned when it starts,
** rather than when it is planned), and each returned its window's
** newest entries in order. */
TEST(time_only_finds_are_planned_once)
{
    store *s = filled();
    ASSERT(s);
    char err[STORE_ERRLEN], plan[8192];
    static const char *const windows[][2] = {
        {"2026-03-03T00:00:00.000000Z", "2026-03-04T00:00:00.000000Z"},
        {"2026-03-30T12:00:00.000000Z", "2026-04-01T12:00:00.000000Z"},
        {"2026-03-10T00:00:00.000000Z", "2026-03-10T06:00:00.000000Z"},
        {"2026-03-31T00:00:00.000000Z", "2026-04-02T00:00:00.000000Z"},
        {"2026-04-01T00:00:00.000000Z", "2026-04-03T00:00:00.000000Z"},
    };
    for (int k = 0; k < 10; k++) {
        store_query q = newest();
        q.since = windows[k % 5][0];
        q.until = windows[k % 5][1];
        cJSON *rows = NULL;
        int more = 0;
        ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
        ASSERT_EQ_INT(cJSON_GetArraySize(rows), 20);
        const char *prev = NULL;
        for (cJSON *e = rows->child; e; e = e->next) {
            const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(e, "created_at"));
            ASSERT(at && strcmp(at, q.since) >= 0 && strcmp(at, q.until) <= 0);
            ASSERT(!prev || strcmp(at, prev) <= 0);
            prev = at;
        }
        /* the first row is the window's newest */
        char sql[400];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM dss_audit.entries WHERE created_at > '%s'"
                 " AND created_at <= '%s'",
                 cJSON_GetStringValue(cJSON_GetObjectItem(rows->child, "created_at")), q.until);
        ASSERT_EQ_INT(pgtest_value(target, sql), 0);
        cJSON_Delete(rows);
    }
    int64_t generic = -1, custom = -1;
    ASSERT_EQ_INT(store_testing_find_plans(s, &generic, &custom, err), STORE_OK);
    ASSERT_EQ_INT((int)custom, 0);
    ASSERT((int)generic >= 10);
    /* The plan it runs: the time index of the one partition the window
    ** touches, the other pruned at start. */
    store_query q = newest();
    q.since = windows[0][0];
    q.until = windows[0][1];
    ASSERT(ordered(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "Index Scan Backward using entries_2026_03_created_at_log_id_seq_idx");
    ASSERT_CONTAINS(plan, "Subplans Removed: 1");
    ASSERT_CONTAINS(plan, "$1");
    store_close(s);
}

/* A search on a large log walks back through windows of time, each next
** one sized by the matches the ones before found.  Here a match every two
** hours before a fixed until bound: the first hour holds one (ten minutes
** before it), which says the 20 more wanted lie about 40 hours back, so
** the second window, sized for twice that, ends the search: two
** statements (fixed windows of an hour, a day and a month took three),
** and the rows are the 21 newest matches in order. */
TEST(search_windows_are_sized_by_the_matches_found)
{
    store *s = filled();
    ASSERT(s);
    char err[512];
    ASSERT_EQ_INT(pgtest_exec_err(target,
                                  "INSERT INTO dss_audit.logs (log_id, name, created_at)"
                                  " VALUES ('needles', 'needles', '2026-03-01T00:00:00.000000Z');"
                                  "INSERT INTO dss_audit.entries (log_id, seq, id, event_type,"
                                  "  operation_name, args, created_at, prev_hash, hash)"
                                  " SELECT 'needles', g + 1, 'n' || g, 'tool_call',"
                                  "  'find_the_needle_' || g, '{}',"
                                  "  to_char(timestamp '2026-03-20 00:00' - interval '10 minutes'"
                                  "          - g * interval '2 hours', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                                  "  '\\x00', '\\x00' FROM generate_series(0, 99) g;"
                                  /* a large log, as the planner sees it: windows */
                                  "UPDATE pg_class SET reltuples = 2000000 WHERE oid IN"
                                  " (SELECT inhrelid FROM pg_inherits"
                                  "  WHERE inhparent = 'dss_audit.entries'::regclass);",
                                  err, sizeof err),
                  0);
    for (int k = 0; k < 2; k++) {
        store_query q = newest();
        q.text = "the_needle";
        q.until = "2026-03-20T00:00:00.000000Z";
        cJSON *rows = NULL;
        int more = 0;
        int64_t before = store_testing_round_trips(s);
        ASSERT_EQ_INT(store_find(s, &q, &rows, &more, err), STORE_OK);
        /* the second time the log's name is known: the windows alone */
        if (k == 1) ASSERT_EQ_INT(store_testing_round_trips(s) - before, 2);
        ASSERT_EQ_INT(cJSON_GetArraySize(rows), 20);
        ASSERT(more);
        int g = 0;
        for (cJSON *e = rows->child; e; e = e->next, g++) {
            char want[32];
            snprintf(want, sizeof want, "find_the_needle_%d", g);
            ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "operation_name")), want);
        }
        cJSON_Delete(rows);
    }
    store_close(s);
}

/* The plan of get_user_activity's statement on a filled database, after
** VACUUM ANALYZE of table (so that the visibility map allows index-only
** scans).  0, or -1 (and a message). */
static int activity_plan(const char *table, char *plan, size_t len)
{
    char err[STORE_ERRLEN] = "", sql[128];
    store *s = filled();
    if (!s) return -1;
    snprintf(sql, sizeof sql, "VACUUM ANALYZE %s", table);
    int rc = pgtest_exec(target, sql) == 0 &&
                     store_testing_explain_user_activity(s, plan, len, err) == STORE_OK
                 ? 0
                 : -1;
    if (rc) fprintf(stderr, "explaining activity: %s\n", err);
    store_close(s);
    return rc;
}

/* get_user_activity counts the part of since's hour it cannot take from
** the counters from the entries: both of its counts (entries by type,
** errors by type) are index-only scans, never the heap row by row (at
** 10,000,000 entries that was a page per entry, 3 ms a call). */
TEST(activity_counts_its_first_day_from_indexes_alone)
{
    char plan[8192];
    ASSERT_EQ_INT(activity_plan("dss_audit.entries", plan, sizeof plan), 0);
    const char *first = strstr(plan, "Index Only Scan using entries_2026_04_user_id");
    if (!first || !strstr(first + 1, "Index Only Scan using entries_2026_04_user_id"))
        fprintf(stderr, "%s", plan);
    ASSERT(first);
    ASSERT(strstr(first + 1, "Index Only Scan using entries_2026_04_user_id"));
    ASSERT(!strstr(plan, "Heap Scan on entries"));
    ASSERT(!strstr(plan, "Seq Scan on entries"));
}

/* Whether get_user_activity reads the counters table (dss_audit.TABLE)
** through its user index alone (TABLE_user), never its heap; 1 or 0 (the
** plan then goes to stderr). */
static int counters_read_from_index_alone(const char *table)
{
    char plan[8192], qualified[64], index_only[96], heap[64], seq[64];
    snprintf(qualified, sizeof qualified, "dss_audit.%s", table);
    snprintf(index_only, sizeof index_only, "Index Only Scan using %s_user", table);
    snprintf(heap, sizeof heap, "Heap Scan on %s", table);
    snprintf(seq, sizeof seq, "Seq Scan on %s", table);
    if (activity_plan(qualified, plan, sizeof plan) != 0) return 0;
    int ok = strstr(plan, index_only) && !strstr(plan, heap) && !strstr(plan, seq);
    if (!ok) fprintf(stderr, "%s", plan);
    return ok;
}

/* Its whole days come from the counters' user index alone (schema version
** 7): a user's counter rows lie one to a heap page, and at 10,000,000
** entries reading them there was half a millisecond. */
TEST(activity_sums_its_whole_days_from_the_counters_index_alone)
{
    ASSERT(counters_read_from_index_alone("activity_daily"));
}

/* The whole hours of since's day come from the hour counters' user index
** alone (schema version 8). */
TEST(activity_sums_its_first_days_hours_from_the_hour_counters_index_alone)
{
    ASSERT(counters_read_from_index_alone("activity_hourly"));
}

/* get_user_activity counts since's own hour from its nearer end: from
** half past, the entries from since on; before, the hour's counters less
** the entries before since; the rest of since's day comes from the hour
** counters (schema version 8).  Either way the counts are exactly those of
** the entries at or after since (counted here by brute force), by type and
** errors, for: a morning and an evening; a bare date; the last hour of a
** month, just before its half; noon itself; midnight; exactly half past;
** the day's last hour before and after its half (no whole hours left);
** since exactly at one of the user's entries, before and after half past
** (which each count); and one log. */
TEST(activity_counts_its_first_day_from_the_nearer_end)
{
    store *s = filled();
    ASSERT(s);
    static const char *const sinces[] = {
        "2026-03-10T03:17:00.000000Z", "2026-03-10T20:41:00.000000Z", "2026-03-10",
        "2026-03-31T23:29:59.999999Z", "2026-04-01T12:00:00.000000Z",
        "2026-03-20T00:00:00.000000Z", "2026-03-12T07:30:00.000000Z",
        "2026-03-12T23:29:59.999999Z", "2026-03-12T23:45:10.000000Z",
        /* user3's entries are at 00:07:30 and every 50 minutes on */
        "2026-03-01T08:27:30.000000Z", "2026-03-01T00:57:30.000000Z",
    };
    enum { NSINCE = sizeof sinces / sizeof *sinces };
    char err[STORE_ERRLEN], sql[400];
    for (int k = 0; k <= NSINCE; k++) {
        const char *since = sinces[k % NSINCE], *log = k == NSINCE ? "name3" : NULL;
        const char *only = log ? " AND log_id = 'log3'" : "";
        store_activity a;
        ASSERT_EQ_INT(store_user_activity(s, "user3", since, log, &a, err), STORE_OK);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM dss_audit.entries WHERE user_id = 'user3'"
                 " AND created_at >= '%s'%s", since, only);
        long long total = pgtest_value(target, sql);
        ASSERT(total > 0);
        ASSERT_EQ_INT((int)a.total, (int)total);
        snprintf(sql, sizeof sql,
                 "SELECT count(error) FROM dss_audit.entries WHERE user_id = 'user3'"
                 " AND created_at >= '%s'%s", since, only);
        ASSERT_EQ_INT((int)a.errors, (int)pgtest_value(target, sql));
        int types = 0;
        for (cJSON *t = a.by_type->child; t; t = t->next, types++) {
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM dss_audit.entries WHERE user_id = 'user3'"
                     " AND created_at >= '%s' AND event_type = '%s'%s", since, t->string, only);
            ASSERT_EQ_INT((int)t->valuedouble, (int)pgtest_value(target, sql));
        }
        snprintf(sql, sizeof sql,
                 "SELECT count(DISTINCT event_type) FROM dss_audit.entries"
                 " WHERE user_id = 'user3' AND created_at >= '%s'%s", since, only);
        ASSERT_EQ_INT(types, (int)pgtest_value(target, sql));
        cJSON_Delete(a.by_type);
    }
    store_close(s);
}

TEST_MAIN(
    TEST_ENTRY(activity_counts_its_first_day_from_indexes_alone)
    TEST_ENTRY(activity_sums_its_whole_days_from_the_counters_index_alone)
    TEST_ENTRY(activity_sums_its_first_days_hours_from_the_hour_counters_index_alone)
    TEST_ENTRY(activity_counts_its_first_day_from_the_nearer_end)
    TEST_ENTRY(history_without_filter_reads_time_index_in_order)
    TEST_ENTRY(history_every_single_filter_needs_no_sort)
    TEST_ENTRY(history_rare_values_need_no_sort)
    TEST_ENTRY(history_combined_filters_read_an_index)
    TEST_ENTRY(log_filter_needs_no_sort)
    TEST_ENTRY(trail_time_range_needs_no_sort)
    TEST_ENTRY(cursor_across_logs_needs_no_sort)
    TEST_ENTRY(search_rare_term_uses_trigram_index)
    TEST_ENTRY(searches_and_combined_filters_are_planned_for_their_values_every_time)
    TEST_ENTRY(single_filter_finds_are_planned_once)
    TEST_ENTRY(sessions_run_without_jit)
    TEST_ENTRY(a_generic_plan_off_the_filters_index_is_not_used)
    TEST_ENTRY(time_only_finds_are_planned_once)
    TEST_ENTRY(search_windows_are_sized_by_the_matches_found))
