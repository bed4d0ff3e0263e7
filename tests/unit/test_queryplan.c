/*
** test_queryplan.c: every query shape the tools use runs from an index in
** the order it returns, with no sort step, so its cost does not grow with
** the size of the log.  A plan regression (a dropped index, a rewritten
** query) fails here instead of in production at ten million entries.
*/
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store/store.h"
#include "test.h"

/* Open a fresh in-memory store; the caller closes it. */
static store *open_store(void)
{
    store *s = NULL;
    char err[STORE_ERRLEN];
    store_options o = {.path = ":memory:"};
    return store_open(&o, &s, err) == STORE_OK ? s : NULL;
}

/* The plan for q; fails the test when it sorts or scans the whole table. */
static int plan_ok(store *s, const store_query *q, char *plan, size_t len)
{
    char err[STORE_ERRLEN];
    if (store_explain_find(s, q, plan, len, err) != STORE_OK) return 0;
    return !strstr(plan, "TEMP B-TREE");
}

/* All sixteen combinations of get_operation_history's filters. */
TEST(history_every_filter_combination_needs_no_sort)
{
    store *s = open_store();
    ASSERT(s);
    for (int mask = 0; mask < 16; mask++) {
        store_query q = {.limit = 20};
        if (mask & 1) q.project_id = "p";
        if (mask & 2) q.user_id = "u";
        if (mask & 4) q.operation_name = "o";
        if (mask & 8) q.event_type = "error";
        char plan[2048];
        int ok = plan_ok(s, &q, plan, sizeof plan);
        if (!ok) fprintf(stderr, "filters %d:\n%s", mask, plan);
        ASSERT(ok);
        if (mask) ASSERT(strstr(plan, "USING INDEX") || strstr(plan, "USING COVERING INDEX"));
    }
    store_close(s);
}

TEST(history_cursor_needs_no_sort)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.user_id = "u", .limit = 20, .after_seq = 100,
                     .after_created_at = "2026-01-01T00:00:00.000000Z"};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST(trail_range_uses_date_index_without_sort)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.since = "2026-01-01T00:00:00.000000Z",
                     .until = "2026-01-02T00:00:00.000000Z", .limit = 100};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "created_at>? AND created_at<?");
    store_close(s);
}

TEST(trail_range_with_event_type_uses_composite_index)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.event_type = "error", .since = "2026-01-01T00:00:00.000000Z",
                     .until = "2026-01-02T00:00:00.000000Z", .limit = 100};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "idx_audit_type_date");
    store_close(s);
}

TEST(trail_cursor_needs_no_sort)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.since = "2026-01-01T00:00:00.000000Z",
                     .until = "2026-01-02T00:00:00.000000Z", .limit = 100,
                     .after_seq = 7, .after_created_at = "2026-01-01T12:00:00.000000Z"};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST(search_long_term_uses_trigram_index)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.text = "deploy", .limit = 50};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    ASSERT_CONTAINS(plan, "VIRTUAL TABLE");
    store_close(s);
}

TEST(search_short_term_scans_newest_first_without_sort)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.text = "ab", .limit = 50};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    ASSERT(!strstr(plan, "VIRTUAL TABLE"));
    store_close(s);
}

TEST(search_with_cursor_needs_no_sort)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.text = "deploy", .limit = 50, .after_seq = 1000,
                     .after_created_at = "2026-01-01T00:00:00.000000Z"};
    ASSERT(plan_ok(s, &q, plan, sizeof plan));
    store_close(s);
}

TEST_MAIN(
    TEST_ENTRY(history_every_filter_combination_needs_no_sort)
    TEST_ENTRY(history_cursor_needs_no_sort)
    TEST_ENTRY(trail_range_uses_date_index_without_sort)
    TEST_ENTRY(trail_range_with_event_type_uses_composite_index)
    TEST_ENTRY(trail_cursor_needs_no_sort)
    TEST_ENTRY(search_long_term_uses_trigram_index)
    TEST_ENTRY(search_short_term_scans_newest_first_without_sort)
    TEST_ENTRY(search_with_cursor_needs_no_sort)
)
