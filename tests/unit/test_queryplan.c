/*
** test_queryplan.c: every query shape the tools use runs from an index in
** the order it returns, with no sort step, so its cost does not grow with
** the size of the log.  A plan regression (a dropped index, a rewritten
** query) fails here instead of in production at ten million entries.
*/
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_testing.h"
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
    if (store_testing_explain_find(s, q, plan, len, err) != STORE_OK) return 0;
    return !strstr(plan, "TEMP B-TREE");
}

/* All 64 combinations of get_operation_history's filters. */
TEST(history_every_filter_combination_needs_no_sort)
{
    store *s = open_store();
    ASSERT(s);
    for (int mask = 0; mask < 64; mask++) {
        store_query q = {.limit = 20};
        if (mask & 1) q.project_id = "p";
        if (mask & 2) q.user_id = "u";
        if (mask & 4) q.operation_name = "o";
        if (mask & 8) q.event_type = "error";
        if (mask & 16) q.server = "github";
        if (mask & 32) q.session_id = "s";
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

/* History by user, event type, server or session alone goes by time
** through the column's (column, created_at) index (schema 11), and a
** cursor seeks into it rather than reading from the newest entry on. */
TEST(history_cursor_seeks_into_the_time_index)
{
    store *s = open_store();
    ASSERT(s);
    static const store_query shapes[] = {
        {.user_id = "u", .limit = 20, .after_seq = 100,
         .after_created_at = "2026-01-01T00:00:00.000000Z"},
        {.event_type = "error", .limit = 20, .after_seq = 100,
         .after_created_at = "2026-01-01T00:00:00.000000Z"},
        {.limit = 20, .after_seq = 100, .after_created_at = "2026-01-01T00:00:00.000000Z"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        char plan[2048];
        int ok = plan_ok(s, &shapes[i], plan, sizeof plan);
        if (!ok || !strstr(plan, "created_at<?")) fprintf(stderr, "shape %zu:\n%s", i, plan);
        ASSERT(ok);
        ASSERT_CONTAINS(plan, "created_at<?");
    }
    store_close(s);
}

/* A shape with several filters goes in the order of the index of its
** narrowest filter: a hook's lookup of its pre event (session, tool,
** event type) through the session's index, a continuation lookup by
** completes through that index, an operation and an event type through
** the operation's. */
TEST(history_takes_the_index_of_its_narrowest_filter)
{
    store *s = open_store();
    ASSERT(s);
    static const struct {
        store_query q;
        const char *index;
    } cases[] = {
        {{.session_id = "s", .operation_name = "Bash", .event_type = "tool_call", .limit = 64},
         "idx_audit_session_date"},
        {{.completes = "0190d5e0-0000-7000-8000-000000000000", .session_id = "s", .limit = 1},
         "idx_audit_completes"},
        {{.server = "github", .operation_name = "o", .limit = 20}, "idx_audit_server_date"},
        {{.user_id = "u", .project_id = "p", .limit = 20}, "idx_audit_user_date"},
        {{.operation_name = "o", .event_type = "error", .limit = 20}, "idx_audit_opname"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char plan[2048];
        int ok = plan_ok(s, &cases[i].q, plan, sizeof plan) && strstr(plan, cases[i].index);
        if (!ok) fprintf(stderr, "case %zu, wanted %s:\n%s", i, cases[i].index, plan);
        ASSERT(ok);
    }
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

/* A wrapped session's calls over a time range, as the viewer asks. */
TEST(trail_range_with_server_and_session_needs_no_sort)
{
    store *s = open_store();
    ASSERT(s);
    char plan[2048];
    store_query q = {.server = "github", .session_id = "s",
                     .since = "2026-01-01T00:00:00.000000Z",
                     .until = "2026-01-02T00:00:00.000000Z", .limit = 100};
    int ok = plan_ok(s, &q, plan, sizeof plan);
    if (!ok) fprintf(stderr, "%s", plan);
    ASSERT(ok);
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

/* get_user_activity: whole days from the per-day counters, the partial
** first day from audit_log by user and time, and projects_touched from the
** user's rows of activity_projects by its primary key (user_id,
** project_id), last_seen filtered row by row: no index on last_seen, which
** every insert would have to rewrite. */
TEST(user_activity_reads_counters_and_project_rows_by_primary_key)
{
    store *s = open_store();
    ASSERT(s);
    char plan[4096], err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_testing_explain_user_activity(s, plan, sizeof plan, err), STORE_OK);
    store_close(s);
    ASSERT_CONTAINS(plan, "SEARCH activity_daily USING PRIMARY KEY (user_id=? AND day>?)");
    /* The partial first day is counted from the index alone (schema 7). */
    ASSERT_CONTAINS(plan, "COVERING INDEX idx_audit_user_date (user_id=? AND created_at>? AND created_at<?)");
    ASSERT_CONTAINS(plan, "SEARCH activity_projects USING PRIMARY KEY (user_id=?)");
    ASSERT(!strstr(plan, "SCAN activity_projects"));
    ASSERT(!strstr(plan, "idx_activity_projects_seen"));
}

/* Every secondary index of audit_log is written by every insert, so one
** that no query uses is pure write cost.  Each must serve a shape the tools
** use (and the cases above show that none can go without a shape gaining a
** sort or a full scan).  The indexes are listed from the schema itself, so
** a new one fails here until some query uses it. */
TEST(every_audit_log_index_serves_a_tool_query)
{
    char dir[] = "/tmp/dss-test-queryplan-XXXXXX", path[64], err[STORE_ERRLEN];
    ASSERT(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/audit.db", dir);
    store *s = NULL;
    store_options o = {.path = path};
    int opened = store_open(&o, &s, err) == STORE_OK;
    /* The shapes of get_operation_history (one filter each), of
    ** get_audit_trail (with and without event_type) and of
    ** get_user_activity. */
    static const char *const since = "2026-01-01T00:00:00.000000Z",
                             *const until = "2026-01-02T00:00:00.000000Z";
    const store_query shapes[] = {
        {.project_id = "p", .limit = 20},
        {.user_id = "u", .limit = 20},
        {.operation_name = "o", .limit = 20},
        {.event_type = "e", .limit = 20},
        {.since = since, .until = until, .limit = 100},
        {.event_type = "e", .since = since, .until = until, .limit = 100},
        {.server = "github", .limit = 20},
        {.session_id = "s", .limit = 20},
        {.server = "github", .since = since, .until = until, .limit = 100},
        {.session_id = "s", .since = since, .until = until, .limit = 100},
        {.completes = "0190d5e0-0000-7000-8000-000000000000", .limit = 1},
    };
    char plans[8192] = "";
    size_t at = 0;
    for (size_t i = 0; opened && i < sizeof shapes / sizeof *shapes; i++) {
        if (store_testing_explain_find(s, &shapes[i], plans + at, sizeof plans - at, err) != STORE_OK)
            opened = 0;
        at = strlen(plans);
    }
    if (opened && store_testing_explain_user_activity(s, plans + at, sizeof plans - at, err) != STORE_OK)
        opened = 0;
    store_close(s);
    /* The indexes, read from the file the store created. */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int listed = 0, unused = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'index'"
                               " AND tbl_name = 'audit_log' AND sql IS NOT NULL",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            char used[80];
            snprintf(used, sizeof used, "INDEX %s ", name);
            listed++;
            if (!strstr(plans, used)) {
                fprintf(stderr, "no tool query uses %s\n", name);
                unused++;
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    char wal[80], shm[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
    ASSERT(opened);
    ASSERT_EQ_INT(listed, 8);
    ASSERT_EQ_INT(unused, 0);
}

/* ---- Trigram search against a plain scan ---- */

/* A tiny deterministic generator, so a failure can be replayed. */
static unsigned next_rand(unsigned *x)
{
    *x = *x * 1103515245u + 12345u;
    return (*x >> 16) & 0x7fff;
}

/* Random text over a small alphabet with mixed case, LIKE's own
** metacharacters and a two-byte UTF-8 letter, so substrings recur often. */
static void random_text(unsigned *x, char *out, int maxlen)
{
    static const char *const pieces[] = {"a", "B", "c", "A", "b", "%", "_", "-",
                                         "\xc3\xa9", "\xc3\x89", "x", "Y"};
    int n = (int)(next_rand(x) % (unsigned)maxlen) + 1, at = 0;
    for (int i = 0; i < n && at < 60; i++) {
        const char *p = pieces[next_rand(x) % (sizeof pieces / sizeof *pieces)];
        at += snprintf(out + at, (size_t)(64 - at), "%s", p);
    }
    out[at] = '\0';
}

/* LIKE's semantics: a literal substring, ignoring case for ASCII only. */
static int ascii_icase_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* A commit feeds the search index its entries as FTS5 inserts with no
** savepoint open, so FTS5 writes them out as one segment: one per
** transaction, not one per entry or per request (a segment per entry made
** merging most of a write's cost, schema 5).  Each request here takes a
** savepoint, as the recorder's do.  Segments are counted in FTS5's data
** table, whose row ids carry the segment number above bit 37. */
TEST(commit_writes_one_search_segment_for_its_entries)
{
    char dir[] = "/tmp/dss-test-queryplan-XXXXXX", path[64], err[STORE_ERRLEN];
    ASSERT(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/audit.db", dir);
    store *s = NULL;
    store_options o = {.path = path};
    ASSERT_EQ_INT(store_open(&o, &s, err), STORE_OK);
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    for (int i = 0; i < 64; i++) {
        char name[32];
        snprintf(name, sizeof name, "operation-%d", i);
        store_record r = {.event_type = "tool_call", .operation_name = name, .args = "{}",
                          .user_id = "u", .error = i % 3 ? NULL : "failed badly"};
        store_receipt rc;
        ASSERT_EQ_INT(store_savepoint(s, err), STORE_OK);
        ASSERT_EQ_INT(store_append(s, &r, &rc, err), STORE_OK);
        store_savepoint_release(s);
    }
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    store_close(s);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                      "SELECT count(DISTINCT id >> 37) FROM audit_fts_data"
                      " WHERE id >= (1 << 37)", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    int segments = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(cmd), 0);
    ASSERT_EQ_INT(segments, 1);
}

TEST(trigram_search_equals_a_plain_scan_on_random_data)
{
    enum { N = 1500, TERMS = 300 };
    static char names[N + 1][64], errors[N + 1][64];
    static int has_error[N + 1];
    unsigned x = 20261127u;
    store *s = open_store();
    ASSERT(s);
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(store_begin(s, err), STORE_OK);
    for (int i = 1; i <= N; i++) {
        random_text(&x, names[i], 12);
        has_error[i] = next_rand(&x) % 3 == 0;
        if (has_error[i]) random_text(&x, errors[i], 12);
        store_record r = {.event_type = "error", .operation_name = names[i],
                          .args = "{}", .error = has_error[i] ? errors[i] : NULL};
        store_receipt rc;
        ASSERT_EQ_INT(store_append(s, &r, &rc, err), STORE_OK);
        ASSERT_EQ_INT(rc.seq, i);
    }
    ASSERT_EQ_INT(store_commit(s, err), STORE_OK);
    int mismatches = 0, fts_terms = 0;
    for (int t = 0; t < TERMS; t++) {
        char term[64];
        random_text(&x, term, 5);
        store_query q = {.text = term, .limit = N};
        char plan[2048];
        ASSERT_EQ_INT(store_testing_explain_find(s, &q, plan, sizeof plan, err), STORE_OK);
        if (strstr(plan, "VIRTUAL TABLE")) fts_terms++;
        cJSON *entries = NULL;
        ASSERT_EQ_INT(store_find(s, &q, &entries, NULL, err), STORE_OK);
        /* Newest first: walk the expected matches from the highest seq. */
        const cJSON *e = entries ? entries->child : NULL;
        for (int i = N; i >= 1; i--) {
            int want = ascii_icase_contains(names[i], term) ||
                       (has_error[i] && ascii_icase_contains(errors[i], term));
            if (!want) continue;
            const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
            if (!e || !cJSON_IsNumber(seq) || (int)seq->valuedouble != i) {
                fprintf(stderr, "term '%s': expected seq %d next\n", term, i);
                mismatches++;
                break;
            }
            e = e->next;
        }
        if (e) {
            fprintf(stderr, "term '%s': unexpected extra entries\n", term);
            mismatches++;
        }
        cJSON_Delete(entries);
    }
    store_close(s);
    ASSERT_EQ_INT(mismatches, 0);
    ASSERT(fts_terms > TERMS / 4); /* the trigram path was really exercised */
}

TEST_MAIN(
    TEST_ENTRY(history_every_filter_combination_needs_no_sort)
    TEST_ENTRY(history_cursor_needs_no_sort)
    TEST_ENTRY(history_cursor_seeks_into_the_time_index)
    TEST_ENTRY(history_takes_the_index_of_its_narrowest_filter)
    TEST_ENTRY(trail_range_uses_date_index_without_sort)
    TEST_ENTRY(trail_range_with_server_and_session_needs_no_sort)
    TEST_ENTRY(trail_range_with_event_type_uses_composite_index)
    TEST_ENTRY(trail_cursor_needs_no_sort)
    TEST_ENTRY(search_long_term_uses_trigram_index)
    TEST_ENTRY(search_short_term_scans_newest_first_without_sort)
    TEST_ENTRY(search_with_cursor_needs_no_sort)
    TEST_ENTRY(user_activity_reads_counters_and_project_rows_by_primary_key)
    TEST_ENTRY(every_audit_log_index_serves_a_tool_query)
    TEST_ENTRY(commit_writes_one_search_segment_for_its_entries)
    TEST_ENTRY(trigram_search_equals_a_plain_scan_on_random_data)
)
