/*
** test_e2e.c: end-to-end tests of dss-audit-mcp over its stdio pipes.
**
** Every case starts the built binary ($DSS_BIN) on a fresh database, speaks
** JSON-RPC to it line by line, and checks what comes back against the
** contract of issue 2 and the files in $DSS_SOURCE_DIR/schemas.  Cases end
** with FINISH(), which also checks that stdout held nothing but JSON lines
** and that the server exited 0 when its stdin closed.
*/
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "jpath.h"
#include "test.h"

#include <sys/wait.h>

/* ---- assertions that say what the server did ---------------------------- */

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s\n    last line from "  \
                       "the server: %s", #cond, h_error(), h_last_line());   \
    } while (0)

#define START(s, opts)                                                       \
    srv *s = srv_start(opts);                                                \
    CHECK(s)

#define FINISH(s)                                                            \
    do {                                                                     \
        CHECK(srv_stdout_is_json_lines(s));                                  \
        int st_ = srv_wait(s);                                               \
        if (st_ != 0)                                                        \
            TEST_FAIL_("server exit status %d, expected 0 (%s); stderr: %s", \
                       st_, h_error(), srv_stderr(s));                       \
        CHECK(srv_stdout_is_json_lines(s));                                  \
        srv_free(s);                                                         \
    } while (0)

/* Start a server and run initialize. */
#define START_INIT(s)                                                        \
    START(s, NULL);                                                          \
    CHECK(srv_initialize(s, "2025-11-25"))

/* ---- JSON helpers ------------------------------------------------------- */

/* Follow a dotted path ("result.content.0.text"); numbers index arrays. */
/* Does the reply's id member exist and is it null? */
static int id_is_null(const cJSON *reply)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    return id && cJSON_IsNull(id);
}

/* Do two JSON texts/trees agree? */
static int same_json(srv *s, const cJSON *got, const char *want_text)
{
    cJSON *want = srv_keep(s, cJSON_Parse(want_text));
    return want && got && cJSON_Compare(got, want, 1);
}

/* Is s an RFC 3339 UTC time with microseconds, YYYY-MM-DDTHH:MM:SS.ffffffZ? */
static int is_utc_us(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (!s || strlen(s) != sizeof pat - 1) return 0;
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return 0;
    }
    return 1;
}

static int is_uuid(const char *s)
{
    if (!s || strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i])) return 0;
    }
    return 1;
}

static int count_entries(const cJSON *sc)
{
    const cJSON *e = jget(sc, "entries");
    return cJSON_IsArray(e) ? cJSON_GetArraySize(e) : -1;
}

/* The entry in sc.entries whose member key equals the string value. */
static const cJSON *find_entry(const cJSON *sc, const char *key, const char *value)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, jget(sc, "entries")) {
        const char *v = jstr(e, key);
        if (v && strcmp(v, value) == 0) return e;
    }
    return NULL;
}

static int count_matching(const cJSON *sc, const char *key, const char *value)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, jget(sc, "entries")) {
        const char *v = jstr(e, key);
        if (v && strcmp(v, value) == 0) n++;
    }
    return n;
}

/* Are the entries ordered newest first (seq strictly descending)? */
static int newest_first(const cJSON *sc)
{
    double prev = INFINITY;
    const cJSON *e;
    cJSON_ArrayForEach(e, jget(sc, "entries")) {
        double seq = jnum(e, "seq");
        if (isnan(seq) || seq >= prev) return 0;
        prev = seq;
    }
    return 1;
}

/* $DSS_SOURCE_DIR/schemas/<file>, parsed; owned by s. */
static cJSON *schema_file(srv *s, const char *file)
{
    const char *root = getenv("DSS_SOURCE_DIR");
    if (!root) return NULL;
    return srv_load_json(s, srv_fmt(s, "%s/schemas/%s", root, file));
}

/* Does obj carry every member that schema.required lists?  Names the first
** missing one in *missing. */
static int has_required(const cJSON *schema, const cJSON *obj, const char **missing)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(schema, "required")) {
        if (!cJSON_GetObjectItemCaseSensitive(obj, r->valuestring)) {
            *missing = r->valuestring;
            return 0;
        }
    }
    return 1;
}

static cJSON *log_op(srv *s, const char *args_json)
{
    return srv_call_ok(s, "log_operation", args_json);
}

/* A hex string of 16 random characters. */
static void random_hex(char out[17])
{
    unsigned char b[8] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, sizeof b, f) != sizeof b) {
        unsigned v = (unsigned)getpid() ^ (unsigned)time(NULL);
        memcpy(b, &v, sizeof v);
    }
    if (f) fclose(f);
    for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* One integer from the database file; -1 when anything fails. */
static long long db_scalar(const char *path, const char *sql, const char *param)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) goto done;
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto done;
    if (param) sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* created_at (UTC, with microseconds) moved by delta seconds and written
** with the given UTC offset in minutes, e.g. +300 -> "...+05:00". */
static char *shifted(srv *s, const char *created_at, long delta, int offset_min)
{
    struct tm tm = {0};
    int us = 0;
    if (sscanf(created_at, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us) != 7)
        return NULL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm) + delta + (time_t)offset_min * 60;
    struct tm out;
    gmtime_r(&t, &out);
    int a = offset_min < 0 ? -offset_min : offset_min;
    return srv_fmt(s, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02d:%02d",
                   out.tm_year + 1900, out.tm_mon + 1, out.tm_mday, out.tm_hour,
                   out.tm_min, out.tm_sec, us, offset_min < 0 ? '-' : '+',
                   a / 60, a % 60);
}

/* ==== lifecycle ========================================================== */

TEST(initialize_echoes_each_supported_version)
{
    static const char *const versions[] = {"2024-11-05", "2025-03-26",
                                           "2025-06-18", "2025-11-25"};
    for (size_t i = 0; i < 4; i++) {
        START(s, NULL);
        cJSON *res = srv_initialize(s, versions[i]);
        CHECK(res);
        ASSERT_EQ_STR(jstr(res, "protocolVersion"), versions[i]);
        CHECK(srv_alive(s));
        FINISH(s);
    }
}

TEST(initialize_unsupported_version_gets_latest)
{
    START(s, NULL);
    cJSON *res = srv_initialize(s, "1999-01-01");
    CHECK(res);
    ASSERT_EQ_STR(jstr(res, "protocolVersion"), "2025-11-25");
    CHECK(srv_alive(s));
    FINISH(s);
}

TEST(initialize_result_shape)
{
    START(s, NULL);
    cJSON *r = srv_request(s, "initialize",
                           "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                           "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "jsonrpc"), "2.0");
    const cJSON *res = jget(r, "result");
    CHECK(cJSON_IsObject(jget(res, "capabilities")));
    CHECK(cJSON_IsObject(jget(res, "capabilities.tools")));
    ASSERT_EQ_STR(jstr(res, "serverInfo.name"), "dss-audit-mcp");
    CHECK(jstr(res, "serverInfo.title") && *jstr(res, "serverInfo.title"));
    CHECK(jstr(res, "serverInfo.version") && *jstr(res, "serverInfo.version"));
    const char *ins = jstr(res, "instructions");
    CHECK(ins && strlen(ins) > 40);
    CHECK(strstr(ins, "audit"));
    FINISH(s);
}

TEST(notifications_are_never_answered)
{
    START(s, NULL);
    CHECK(srv_initialize(s, "2025-11-25")); /* also sends notifications/initialized */
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}") == 0);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/no_such_thing\","
                           "\"params\":{\"x\":1}}") == 0);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                           "\"params\":{\"requestId\":5,\"reason\":\"x\"}}") == 0);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"some/unknown\"}") == 0);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"no_such_tool\"}}") == 0);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":\"after-notes\",\"method\":\"ping\"}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "after-notes");
    CHECK(srv_silent_for(s, 200));
    FINISH(s);
}

TEST(ping_returns_empty_object)
{
    START(s, NULL);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "jsonrpc"), "2.0");
    CHECK(jnum(r, "id") == 1);
    CHECK(same_json(s, jget(r, "result"), "{}"));
    CHECK(!jget(r, "error"));
    CHECK(srv_initialize(s, "2025-11-25"));
    CHECK(srv_alive(s));
    FINISH(s);
}

/* ==== tools/list ========================================================= */

static const char *const tool_names[] = {"log_operation", "get_operation_history",
                                         "get_audit_trail", "get_user_activity",
                                         "search_audit_log"};

static const cJSON *listed_tool(const cJSON *res, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, jget(res, "tools")) {
        const char *n = jstr(t, "name");
        if (n && strcmp(n, name) == 0) return t;
    }
    return NULL;
}

TEST(tools_list_has_the_five_tools_with_annotations)
{
    START_INIT(s);
    cJSON *r = srv_request(s, "tools/list", NULL);
    CHECK(r);
    const cJSON *res = jget(r, "result");
    /* The five tools of the contract; later issues may add more. */
    CHECK(cJSON_GetArraySize(jget(res, "tools")) >= 5);
    for (int i = 0; i < 5; i++) {
        const cJSON *t = listed_tool(res, tool_names[i]);
        if (!t) TEST_FAIL_("tools/list lacks %s", tool_names[i]);
        CHECK(jstr(t, "title") && *jstr(t, "title"));
        CHECK(jstr(t, "description") && strlen(jstr(t, "description")) > 40);
        CHECK(cJSON_IsObject(jget(t, "inputSchema")));
        CHECK(cJSON_IsObject(jget(t, "outputSchema")));
        const cJSON *a = jget(t, "annotations");
        CHECK(cJSON_IsObject(a));
        CHECK(cJSON_IsFalse(jget(a, "openWorldHint")));
        if (i == 0) {
            CHECK(cJSON_IsFalse(jget(a, "readOnlyHint")));
            CHECK(cJSON_IsFalse(jget(a, "destructiveHint")));
            CHECK(cJSON_IsFalse(jget(a, "idempotentHint")));
        } else {
            if (!cJSON_IsTrue(jget(a, "readOnlyHint")))
                TEST_FAIL_("%s: readOnlyHint is not true", tool_names[i]);
        }
    }
    /* Also without params, and with an empty params object. */
    /* Every tool, the five and any other, says whether it is read-only and
    ** that it stays in its own world. */
    const cJSON *t;
    cJSON_ArrayForEach(t, jget(res, "tools")) {
        const char *n = jstr(t, "name");
        CHECK(n);
        if (!cJSON_IsBool(jget(t, "annotations.readOnlyHint")) ||
            !cJSON_IsFalse(jget(t, "annotations.openWorldHint")))
            TEST_FAIL_("%s: annotations lack readOnlyHint or openWorldHint false", n);
        CHECK(jstr(t, "title") && jstr(t, "description"));
    }
    r = srv_request(s, "tools/list", "{}");
    CHECK(r && cJSON_Compare(jget(r, "result"), res, 1));
    FINISH(s);
}

TEST(tools_list_serves_the_schema_files)
{
    START_INIT(s);
    cJSON *r = srv_request(s, "tools/list", NULL);
    CHECK(r);
    const cJSON *res = jget(r, "result");
    for (int i = 0; i < 5; i++) CHECK(listed_tool(res, tool_names[i]));
    const cJSON *t;
    cJSON_ArrayForEach(t, jget(res, "tools")) {
        const char *n = jstr(t, "name");
        CHECK(n);
        cJSON *in = schema_file(s, srv_fmt(s, "%s.input.json", n));
        cJSON *out = schema_file(s, srv_fmt(s, "%s.output.json", n));
        cJSON *def = schema_file(s, srv_fmt(s, "%s.tool.json", n));
        CHECK(in && out && def);
        if (!cJSON_Compare(jget(t, "inputSchema"), in, 1))
            TEST_FAIL_("%s: inputSchema differs from schemas/%s.input.json", n, n);
        if (!cJSON_Compare(jget(t, "outputSchema"), out, 1))
            TEST_FAIL_("%s: outputSchema differs from schemas/%s.output.json", n, n);
        const cJSON *field;
        cJSON_ArrayForEach(field, def) {
            if (!cJSON_Compare(jget(t, field->string), field, 1))
                TEST_FAIL_("%s: %s differs from schemas/%s.tool.json", n,
                           field->string, n);
        }
    }
    FINISH(s);
}

/* ==== tools/call: the happy paths ======================================== */

TEST(every_tool_works_and_matches_its_output_schema)
{
    START_INIT(s);
    cJSON *logged = log_op(s,
        "{\"event_type\":\"project_create\",\"operation_name\":\"create_project\","
        "\"operation_id\":\"op-1\",\"user_id\":\"u-1\",\"project_id\":\"p-1\","
        "\"args\":{\"name\":\"x\",\"n\":[1,2]},\"result\":{\"ok\":true},"
        "\"error\":\"partly failed\",\"before_state\":{},\"after_state\":{\"name\":\"x\"}}");
    CHECK(logged);
    const char *audit_id = jstr(logged, "audit_id");
    CHECK(is_uuid(audit_id));
    CHECK(jnum(logged, "seq") >= 1);
    CHECK(is_utc_us(jstr(logged, "created_at")));

    static const char *const calls[5][2] = {
        {"log_operation", "{\"event_type\":\"error\",\"operation_name\":\"second\"}"},
        {"get_operation_history", "{}"},
        {"get_audit_trail", "{\"start_date\":\"2000-01-01\",\"end_date\":\"2999-12-31T23:59:59Z\"}"},
        {"get_user_activity", "{\"user_id\":\"u-1\"}"},
        {"search_audit_log", "{\"search_term\":\"create_proj\"}"},
    };
    for (int i = 0; i < 5; i++) {
        cJSON *sc = srv_call_ok(s, calls[i][0], calls[i][1]);
        CHECK(sc);
        cJSON *out = schema_file(s, srv_fmt(s, "%s.output.json", calls[i][0]));
        CHECK(out);
        const char *missing = NULL;
        if (!has_required(out, sc, &missing))
            TEST_FAIL_("%s: structuredContent lacks '%s'", calls[i][0], missing);
        const cJSON *entry_schema = jget(out, "$defs.entry");
        const cJSON *e;
        cJSON_ArrayForEach(e, jget(sc, "entries")) {
            if (!has_required(entry_schema, e, &missing))
                TEST_FAIL_("%s: an entry lacks '%s'", calls[i][0], missing);
            CHECK(is_uuid(jstr(e, "id")));
            CHECK(is_utc_us(jstr(e, "created_at")));
            CHECK(cJSON_IsObject(jget(e, "args")));
        }
    }

    /* The first entry comes back with every field as given. */
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"project_id\":\"p-1\",\"event_type\":\"project_create\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    const cJSON *e = jget(h, "entries.0");
    ASSERT_EQ_STR(jstr(e, "id"), audit_id);
    CHECK(jnum(e, "seq") == jnum(logged, "seq"));
    ASSERT_EQ_STR(jstr(e, "created_at"), jstr(logged, "created_at"));
    ASSERT_EQ_STR(jstr(e, "event_type"), "project_create");
    ASSERT_EQ_STR(jstr(e, "operation_name"), "create_project");
    ASSERT_EQ_STR(jstr(e, "operation_id"), "op-1");
    ASSERT_EQ_STR(jstr(e, "user_id"), "u-1");
    ASSERT_EQ_STR(jstr(e, "project_id"), "p-1");
    ASSERT_EQ_STR(jstr(e, "error"), "partly failed");
    CHECK(same_json(s, jget(e, "args"), "{\"name\":\"x\",\"n\":[1,2]}"));
    CHECK(same_json(s, jget(e, "result"), "{\"ok\":true}"));
    CHECK(same_json(s, jget(e, "before_state"), "{}"));
    CHECK(same_json(s, jget(e, "after_state"), "{\"name\":\"x\"}"));
    CHECK(same_json(s, jget(e, "client"), "{\"name\":\"e2e-client\",\"version\":\"1.2.3\"}"));

    cJSON *a = srv_call_ok(s, "get_user_activity", "{\"user_id\":\"u-1\"}");
    CHECK(a);
    ASSERT_EQ_INT(jnum(a, "total_operations"), 1);
    cJSON *f = srv_call_ok(s, "search_audit_log", "{\"search_term\":\"create_proj\"}");
    CHECK(f);
    ASSERT_EQ_INT(count_entries(f), 1);
    FINISH(s);
}

TEST(log_operation_defaults)
{
    START_INIT(s);
    cJSON *logged = log_op(s, "{\"event_type\":\"token_sync\",\"operation_name\":\"sync\"}");
    CHECK(logged);
    const char *id = jstr(logged, "audit_id");
    CHECK(log_op(s, "{\"event_type\":\"token_sync\",\"operation_name\":\"sync2\","
                    "\"user_id\":\"someone-else\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"event_type\":\"token_sync\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 2);
    CHECK(newest_first(h));
    const cJSON *e = find_entry(h, "id", id);
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "user_id"), E2E_ACTOR);
    CHECK(same_json(s, jget(e, "args"), "{}"));
    CHECK(jnull(e, "result") && jnull(e, "error") && jnull(e, "before_state") &&
          jnull(e, "after_state") && jnull(e, "operation_id") && jnull(e, "project_id"));
    ASSERT_EQ_STR(jstr(find_entry(h, "operation_name", "sync2"), "user_id"), "someone-else");
    FINISH(s);
}

TEST(log_operation_seq_increases)
{
    START_INIT(s);
    cJSON *a = log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"one\"}");
    cJSON *b = log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"two\"}");
    CHECK(a && b);
    CHECK(jnum(b, "seq") > jnum(a, "seq"));
    CHECK(strcmp(jstr(a, "audit_id"), jstr(b, "audit_id")) != 0);
    FINISH(s);
}

/* ==== the tool_call record of every call ================================= */

TEST(every_tools_call_is_recorded_as_tool_call)
{
    START_INIT(s);
    cJSON *r = srv_rpc(s,
        "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"project_create\","
        "\"operation_name\":\"rec-test\",\"project_id\":\"proj-rec\","
        "\"args\":{\"password\":\"hunter2\",\"k\":1}}}}");
    CHECK(r);
    const char *audit_id = jstr(r, "result.structuredContent.audit_id");
    CHECK(audit_id);
    r = srv_rpc(s,
        "{\"jsonrpc\":\"2.0\",\"id\":\"req-abc\",\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"get_operation_history\",\"arguments\":{\"project_id\":\"proj-rec\"}}}");
    CHECK(r);
    int history_count = count_entries(jget(r, "result.structuredContent"));
    CHECK(history_count >= 1);
    r = srv_rpc(s,
        "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567890,\"method\":\"tools/call\","
        "\"params\":{\"name\":\"get_operation_history\",\"arguments\":{\"limit\":0}}}");
    CHECK(r && cJSON_IsTrue(jget(r, "result.isError")));
    r = srv_rpc(s,
        "{\"jsonrpc\":\"2.0\",\"id\":-7,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"search_audit_log\",\"arguments\":{\"search_term\":\"rec-\"}}}");
    CHECK(r);
    int search_count = count_entries(jget(r, "result.structuredContent"));
    CHECK(search_count == 1);
    r = srv_rpc(s,
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"get_user_activity\",\"arguments\":{\"user_id\":\"nobody\",\"days\":2}}}");
    CHECK(r && !cJSON_IsTrue(jget(r, "result.isError")));
    r = srv_rpc(s,
        "{\"jsonrpc\":\"2.0\",\"id\":\"trail\",\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"get_audit_trail\",\"arguments\":{\"start_date\":\"2000-01-01\","
        "\"end_date\":\"2999-01-01\",\"event_type\":\"project_create\"}}}");
    CHECK(r && count_entries(jget(r, "result.structuredContent")) == 1);
    /* Neither of these names a known tool: not recorded. */
    r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":\"unk\",\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"no_such_tool\",\"arguments\":{}}}");
    CHECK(r && jcode(r) == -32602);
    CHECK(srv_request(s, "tools/list", NULL));

    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"event_type\":\"tool_call\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 6);
    CHECK(newest_first(h));
    const cJSON *e;
    cJSON_ArrayForEach(e, jget(h, "entries")) {
        ASSERT_EQ_STR(jstr(e, "event_type"), "tool_call");
        ASSERT_EQ_STR(jstr(e, "user_id"), E2E_ACTOR);
        CHECK(same_json(s, jget(e, "client"), "{\"name\":\"e2e-client\",\"version\":\"1.2.3\"}"));
        CHECK(cJSON_IsObject(jget(e, "args")));
        CHECK(jnull(e, "before_state") && jnull(e, "after_state"));
    }

    e = find_entry(h, "operation_id", "42");
    CHECK(e);
    ASSERT_EQ_INT(count_matching(h, "operation_id", "42"), 1);
    ASSERT_EQ_STR(jstr(e, "operation_name"), "log_operation");
    ASSERT_EQ_STR(jstr(e, "project_id"), "proj-rec");
    /* The payload (args) is stored once, in the entry the result names. */
    CHECK(same_json(s, jget(e, "args"),
                    "{\"event_type\":\"project_create\",\"operation_name\":\"rec-test\","
                    "\"project_id\":\"proj-rec\"}"));
    CHECK(same_json(s, jget(e, "result"), srv_fmt(s, "{\"audit_id\":\"%s\"}", audit_id)));
    cJSON *entry = srv_call_ok(s, "get_audit_entry", srv_fmt(s, "{\"audit_id\":\"%s\"}", audit_id));
    CHECK(entry);
    CHECK(same_json(s, jget(entry, "entry.args"), "{\"password\":\"***REDACTED***\",\"k\":1}"));
    CHECK(jnull(e, "error"));

    e = find_entry(h, "operation_id", "req-abc");
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "operation_name"), "get_operation_history");
    ASSERT_EQ_STR(jstr(e, "project_id"), "proj-rec");
    CHECK(same_json(s, jget(e, "result"), srv_fmt(s, "{\"count\":%d}", history_count)));
    CHECK(jnull(e, "error"));

    e = find_entry(h, "operation_id", "12345678901234567890");
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "operation_name"), "get_operation_history");
    CHECK(jnull(e, "project_id"));
    CHECK(jnull(e, "result"));
    ASSERT_CONTAINS(jstr(e, "error"), "limit");
    CHECK(same_json(s, jget(e, "args"), "{\"limit\":0}"));

    e = find_entry(h, "operation_id", "-7");
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "operation_name"), "search_audit_log");
    CHECK(same_json(s, jget(e, "result"), srv_fmt(s, "{\"count\":%d}", search_count)));

    e = find_entry(h, "operation_id", "trail");
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "operation_name"), "get_audit_trail");
    CHECK(same_json(s, jget(e, "result"), "{\"count\":1}"));

    /* get_user_activity returns a summary, not entries: its record holds one
    ** number (the contract's "number of entries returned" does not apply
    ** literally), never the summary itself. */
    e = find_entry(h, "operation_id", "0");
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "operation_name"), "get_user_activity");
    const cJSON *res = jget(e, "result");
    CHECK(cJSON_IsObject(res) && cJSON_GetArraySize(res) == 1 &&
          cJSON_IsNumber(res->child));
    CHECK(jnull(e, "error"));

    CHECK(!find_entry(h, "operation_id", "unk"));
    FINISH(s);
}

TEST(tool_call_record_without_initialize_has_null_client)
{
    START(s, NULL);
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"pre-init\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 2);
    const cJSON *e;
    cJSON_ArrayForEach(e, jget(h, "entries")) CHECK(jnull(e, "client"));
    FINISH(s);
}

/* ==== argument validation ================================================ */

TEST(log_operation_validation_names_the_argument)
{
    START_INIT(s);
    CHECK(srv_call_err(s, "log_operation", "{\"operation_name\":\"x\"}", "event_type", NULL));
    CHECK(srv_call_err(s, "log_operation", "{\"event_type\":\"error\"}", "operation_name", NULL));
    CHECK(srv_call_err(s, "log_operation", "{\"event_type\":\"bogus\",\"operation_name\":\"x\"}",
                       "event_type", NULL));
    CHECK(srv_call_err(s, "log_operation", "{\"event_type\":7,\"operation_name\":\"x\"}",
                       "event_type", NULL));
    CHECK(srv_call_err(s, "log_operation", "{\"event_type\":\"error\",\"operation_name\":\"\"}",
                       "operation_name", NULL));
    char long_name[300];
    memset(long_name, 'n', 257);
    long_name[257] = '\0';
    CHECK(srv_call_err(s, "log_operation",
                       srv_fmt(s, "{\"event_type\":\"error\",\"operation_name\":\"%s\"}", long_name),
                       "operation_name", NULL));
    long_name[256] = '\0';
    CHECK(log_op(s, srv_fmt(s, "{\"event_type\":\"error\",\"operation_name\":\"%s\"}", long_name)));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"colour\":\"red\"}",
                       "colour", NULL));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"args\":\"not an object\"}",
                       "args", NULL));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"args\":[1,2]}",
                       "args", NULL));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"result\":5}",
                       "result", NULL));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"before_state\":\"s\"}",
                       "before_state", NULL));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"error\":{}}",
                       "error", NULL));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\",\"user_id\":3}",
                       "user_id", NULL));
    CHECK(srv_call_err(s, "log_operation", "{}", NULL, NULL));
    CHECK(srv_call_err(s, "log_operation", NULL, NULL, NULL));
    /* Nothing but the one valid call was logged as an operation. */
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"event_type\":\"error\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    CHECK(srv_alive(s));
    FINISH(s);
}

TEST(query_validation_names_the_argument)
{
    START_INIT(s);
    static const char *const cases[][3] = {
        {"get_operation_history", "{\"limit\":0}", "limit"},
        {"get_operation_history", "{\"limit\":1001}", "limit"},
        {"get_operation_history", "{\"limit\":\"10\"}", "limit"},
        {"get_operation_history", "{\"limit\":1.5}", "limit"},
        {"get_operation_history", "{\"offset\":-1}", "offset"},
        {"get_operation_history", "{\"event_type\":\"nope\"}", "event_type"},
        {"get_operation_history", "{\"colour\":1}", "colour"},
        {"get_operation_history", "{\"project_id\":5}", "project_id"},
        {"get_audit_trail", "{\"end_date\":\"2026-01-01\"}", "start_date"},
        {"get_audit_trail", "{\"start_date\":\"2026-01-01\"}", "end_date"},
        {"get_audit_trail", "{\"start_date\":\"2026-01-01\",\"end_date\":\"2026-01-02\",\"limit\":0}", "limit"},
        {"get_audit_trail", "{\"start_date\":\"2026-01-01\",\"end_date\":\"2026-01-02\",\"limit\":10001}", "limit"},
        {"get_audit_trail", "{\"start_date\":\"2026-01-01\",\"end_date\":\"2026-01-02\",\"event_type\":\"x\"}", "event_type"},
        {"get_user_activity", "{}", "user_id"},
        {"get_user_activity", "{\"user_id\":\"u\",\"days\":0}", "days"},
        {"get_user_activity", "{\"user_id\":\"u\",\"days\":3651}", "days"},
        {"get_user_activity", "{\"user_id\":\"u\",\"days\":\"7\"}", "days"},
        {"search_audit_log", "{}", "search_term"},
        {"search_audit_log", "{\"search_term\":\"\"}", "search_term"},
        {"search_audit_log", "{\"search_term\":\"x\",\"limit\":0}", "limit"},
        {"search_audit_log", "{\"search_term\":\"x\",\"limit\":501}", "limit"},
        {"search_audit_log", "{\"search_term\":\"x\",\"extra\":true}", "extra"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(srv_call_err(s, cases[i][0], cases[i][1], cases[i][2], NULL));
    char long_term[300];
    memset(long_term, 't', 257);
    long_term[257] = '\0';
    CHECK(srv_call_err(s, "search_audit_log",
                       srv_fmt(s, "{\"search_term\":\"%s\"}", long_term), "search_term", NULL));
    /* The edges that are allowed. */
    CHECK(srv_call_ok(s, "get_operation_history", "{\"limit\":1000,\"offset\":0}"));
    CHECK(srv_call_ok(s, "get_operation_history", "{\"limit\":1}"));
    CHECK(srv_call_ok(s, "get_user_activity", "{\"user_id\":\"u\",\"days\":1}"));
    CHECK(srv_call_ok(s, "get_user_activity", "{\"user_id\":\"u\",\"days\":3650}"));
    CHECK(srv_call_ok(s, "search_audit_log", "{\"search_term\":\"x\",\"limit\":500}"));
    long_term[256] = '\0';
    CHECK(srv_call_ok(s, "search_audit_log", srv_fmt(s, "{\"search_term\":\"%s\"}", long_term)));
    CHECK(srv_call_ok(s, "get_audit_trail",
                      "{\"start_date\":\"2026-01-01\",\"end_date\":\"2026-01-01\",\"limit\":10000}"));
    CHECK(srv_alive(s));
    FINISH(s);
}

TEST(get_audit_trail_bad_dates_say_which)
{
    START_INIT(s);
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-13-01\",\"end_date\":\"2026-01-01\"}", "start_date", NULL));
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-01-01\",\"end_date\":\"yesterday\"}", "end_date", NULL));
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-02-30\",\"end_date\":\"2026-03-01\"}", "start_date", NULL));
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-01-01T10:00:00\",\"end_date\":\"2026-01-02\"}",
                       "start_date", NULL));
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-01-01\",\"end_date\":\"2026-01-02T25:00:00Z\"}",
                       "end_date", NULL));
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-01-02\",\"end_date\":\"2026-01-01\"}",
                       "start_date", "end_date"));
    CHECK(srv_call_err(s, "get_audit_trail",
                       "{\"start_date\":\"2026-01-01T10:00:00+05:00\",\"end_date\":\"2026-01-01T04:59:59Z\"}",
                       "start_date", "end_date"));
    /* The same instant at both ends is a valid (inclusive) range. */
    CHECK(srv_call_ok(s, "get_audit_trail",
                      "{\"start_date\":\"2026-01-01T10:00:00+05:00\",\"end_date\":\"2026-01-01T05:00:00Z\"}"));
    FINISH(s);
}

TEST(arguments_not_an_object_is_invalid_params)
{
    START_INIT(s);
    static const char *const bad[] = {"\"x\"", "[1]", "5", "true"};
    for (int i = 0; i < 4; i++) {
        cJSON *r = srv_request(s, "tools/call",
                               srv_fmt(s, "{\"name\":\"get_operation_history\",\"arguments\":%s}", bad[i]));
        CHECK(r);
        ASSERT_EQ_INT(jcode(r), -32602);
        CHECK(srv_alive(s));
    }
    FINISH(s);
}

/* ==== query semantics ==================================================== */

TEST(get_operation_history_filters_and_pages)
{
    START_INIT(s);
    static const char *const rows[][3] = {
        {"p-A", "a1", "u-x"}, {"p-A", "a2", "u-y"}, {"p-B", "b1", "u-x"},
        {"p-A", "a3", "u-x"}, {"p-B", "b2", "u-y"},
    };
    for (int i = 0; i < 5; i++)
        CHECK(log_op(s, srv_fmt(s, "{\"event_type\":\"project_update\",\"project_id\":\"%s\","
                                   "\"operation_name\":\"%s\",\"user_id\":\"%s\"}",
                                rows[i][0], rows[i][1], rows[i][2])));
    cJSON *h = srv_call_ok(s, "get_operation_history",
                           "{\"project_id\":\"p-A\",\"event_type\":\"project_update\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 3);
    ASSERT_EQ_STR(jstr(h, "entries.0.operation_name"), "a3");
    ASSERT_EQ_STR(jstr(h, "entries.1.operation_name"), "a2");
    ASSERT_EQ_STR(jstr(h, "entries.2.operation_name"), "a1");
    h = srv_call_ok(s, "get_operation_history",
                    "{\"project_id\":\"p-A\",\"event_type\":\"project_update\",\"limit\":2}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 2);
    ASSERT_EQ_STR(jstr(h, "entries.0.operation_name"), "a3");
    h = srv_call_ok(s, "get_operation_history",
                    "{\"project_id\":\"p-A\",\"event_type\":\"project_update\",\"limit\":2,\"offset\":2}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    ASSERT_EQ_STR(jstr(h, "entries.0.operation_name"), "a1");
    h = srv_call_ok(s, "get_operation_history", "{\"project_id\":\"p-A\",\"user_id\":\"u-x\","
                                                "\"event_type\":\"project_update\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 2);
    h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"b2\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    ASSERT_EQ_STR(jstr(h, "entries.0.project_id"), "p-B");
    h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"b\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    /* No filter: the five entries and the tool_call records so far. */
    h = srv_call_ok(s, "get_operation_history", "{}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 5 + 5 + 6);
    CHECK(newest_first(h));
    h = srv_call_ok(s, "get_operation_history", "{\"offset\":1000}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

TEST(get_operation_history_huge_offset_returns_nothing)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"only\"}"));
    /* The schema sets no maximum for offset, so any integer is valid; one
    ** beyond the log's end must page past everything (or be refused naming
    ** offset), never wrap around to the first page. */
    static const char *const offsets[] = {"1000000", "9007199254740992",
                                          "9223372036854775807", "1e19", "1e300"};
    for (int i = 0; i < 5; i++) {
        const char *args = srv_fmt(s, "{\"offset\":%s}", offsets[i]);
        cJSON *res = srv_call(s, "get_operation_history", args);
        CHECK(res);
        if (cJSON_IsTrue(jget(res, "isError"))) {
            ASSERT_CONTAINS(jstr(res, "content.0.text"), "offset");
            continue;
        }
        int n = count_entries(jget(res, "structuredContent"));
        if (n != 0)
            TEST_FAIL_("get_operation_history %s: %d entries, expected none (or an "
                       "isError naming offset): %.300s", args, n, h_last_line());
    }
    FINISH(s);
}

TEST(get_audit_trail_date_only_end_includes_whole_day)
{
    START_INIT(s);
    cJSON *logged = log_op(s, "{\"event_type\":\"state_transition\",\"operation_name\":\"t\"}");
    CHECK(logged);
    const char *at = jstr(logged, "created_at");
    CHECK(is_utc_us(at));
    char *day = srv_fmt(s, "%.10s", at);
    cJSON *t = srv_call_ok(s, "get_audit_trail",
                           srv_fmt(s, "{\"start_date\":\"%s\",\"end_date\":\"%s\","
                                      "\"event_type\":\"state_transition\"}", day, day));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 1);
    CHECK(cJSON_IsFalse(jget(t, "truncated")));
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%sT00:00:00Z\",\"end_date\":\"%s\","
                               "\"event_type\":\"state_transition\"}", day, day));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 1);
    /* The day before, and the day after, hold nothing. */
    char *before = shifted(s, at, -86400, 0), *after = shifted(s, at, 86400, 0);
    CHECK(before && after);
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%.10s\",\"end_date\":\"%.10s\"}", before, before));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 0);
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%.10s\",\"end_date\":\"%.10s\"}", after, after));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 0);
    FINISH(s);
}

TEST(get_audit_trail_compares_instants_across_offsets)
{
    START_INIT(s);
    cJSON *logged = log_op(s, "{\"event_type\":\"security_event\",\"operation_name\":\"o\"}");
    CHECK(logged);
    const char *at = jstr(logged, "created_at");
    /* A range written in +05:00: as text it sorts after the Z time, as an
    ** instant it contains it. */
    char *from = shifted(s, at, -60, 300), *to = shifted(s, at, 60, 300);
    CHECK(from && to);
    cJSON *t = srv_call_ok(s, "get_audit_trail",
                           srv_fmt(s, "{\"start_date\":\"%s\",\"end_date\":\"%s\","
                                      "\"event_type\":\"security_event\"}", from, to));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 1);
    /* Ends one second before the entry, written in +05:00 (text compares
    ** after it, the instant is before it): nothing. */
    from = shifted(s, at, -3600, 300);
    to = shifted(s, at, -1, 300);
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%s\",\"end_date\":\"%s\","
                               "\"event_type\":\"security_event\"}", from, to));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 0);
    /* Written in -08:00 around the entry: found. */
    from = shifted(s, at, -60, -480);
    to = shifted(s, at, 60, -480);
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%s\",\"end_date\":\"%s\","
                               "\"event_type\":\"security_event\"}", from, to));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 1);
    /* Starts one second after the entry, in -08:00: nothing. */
    from = shifted(s, at, 1, -480);
    to = shifted(s, at, 3600, -480);
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%s\",\"end_date\":\"%s\","
                               "\"event_type\":\"security_event\"}", from, to));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 0);
    /* Exactly the entry's instant at both ends: inclusive. */
    t = srv_call_ok(s, "get_audit_trail",
                    srv_fmt(s, "{\"start_date\":\"%s\",\"end_date\":\"%s\"}", at, at));
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 1);
    FINISH(s);
}

TEST(get_audit_trail_truncated_and_newest_first)
{
    START_INIT(s);
    for (int i = 0; i < 3; i++)
        CHECK(log_op(s, srv_fmt(s, "{\"event_type\":\"component_sync\",\"operation_name\":\"c%d\"}", i)));
    cJSON *t = srv_call_ok(s, "get_audit_trail",
                           "{\"start_date\":\"2000-01-01\",\"end_date\":\"2999-12-31\","
                           "\"event_type\":\"component_sync\",\"limit\":2}");
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 2);
    CHECK(cJSON_IsTrue(jget(t, "truncated")));
    ASSERT_EQ_STR(jstr(t, "entries.0.operation_name"), "c2");
    CHECK(newest_first(t));
    t = srv_call_ok(s, "get_audit_trail",
                    "{\"start_date\":\"2000-01-01\",\"end_date\":\"2999-12-31\","
                    "\"event_type\":\"component_sync\",\"limit\":3}");
    CHECK(t);
    ASSERT_EQ_INT(count_entries(t), 3);
    CHECK(cJSON_IsFalse(jget(t, "truncated")));
    FINISH(s);
}

TEST(get_user_activity_summary)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"u1\","
                    "\"user_id\":\"alice\",\"project_id\":\"p1\"}"));
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"u2\","
                    "\"user_id\":\"alice\",\"project_id\":\"p2\",\"error\":\"boom\"}"));
    CHECK(log_op(s, "{\"event_type\":\"credential_access\",\"operation_name\":\"u3\","
                    "\"user_id\":\"alice\"}"));
    CHECK(log_op(s, "{\"event_type\":\"credential_access\",\"operation_name\":\"u4\","
                    "\"user_id\":\"bob\",\"project_id\":\"p9\"}"));
    cJSON *a = srv_call_ok(s, "get_user_activity", "{\"user_id\":\"alice\",\"days\":7}");
    CHECK(a);
    ASSERT_EQ_STR(jstr(a, "user_id"), "alice");
    ASSERT_EQ_INT(jnum(a, "days"), 7);
    ASSERT_EQ_INT(jnum(a, "total_operations"), 3);
    CHECK(same_json(s, jget(a, "operations_by_type"),
                    "{\"project_update\":2,\"credential_access\":1}"));
    ASSERT_EQ_INT(jnum(a, "errors"), 1);
    ASSERT_EQ_INT(jnum(a, "projects_touched"), 2);
    CHECK(fabs(jnum(a, "average_ops_per_day") - 0.43) < 1e-9);
    a = srv_call_ok(s, "get_user_activity", "{\"user_id\":\"alice\"}");
    CHECK(a);
    ASSERT_EQ_INT(jnum(a, "days"), 30);
    CHECK(fabs(jnum(a, "average_ops_per_day") - 0.1) < 1e-9);
    a = srv_call_ok(s, "get_user_activity", "{\"user_id\":\"nobody\"}");
    CHECK(a);
    ASSERT_EQ_INT(jnum(a, "total_operations"), 0);
    CHECK(same_json(s, jget(a, "operations_by_type"), "{}"));
    CHECK(jnum(a, "average_ops_per_day") == 0);
    /* The session's own reads are its actor's activity. */
    a = srv_call_ok(s, "get_user_activity", "{\"user_id\":\"" E2E_ACTOR "\"}");
    CHECK(a);
    ASSERT_EQ_INT(jnum(a, "total_operations"), 7);
    ASSERT_EQ_INT(jnum(a, "operations_by_type.tool_call"), 7);
    FINISH(s);
}

/* get_user_activity and verify_audit_log take the log argument the other
** query tools take: the server's own log by its name counts and verifies
** what every log does; another log counts nothing and cannot be verified. */
TEST(activity_and_verify_of_one_log)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"u1\","
                    "\"user_id\":\"alice\",\"project_id\":\"p1\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"limit\":1}");
    CHECK(h);
    const char *log = jstr(cJSON_GetArrayItem(jget(h, "entries"), 0), "log");
    CHECK(log && *log);
    cJSON *a = srv_call_ok(s, "get_user_activity",
                           srv_fmt(s, "{\"user_id\":\"alice\",\"log\":\"%s\"}", log));
    CHECK(a);
    ASSERT_EQ_INT(jnum(a, "total_operations"), 1);
    a = srv_call_ok(s, "get_user_activity", "{\"user_id\":\"alice\",\"log\":\"no-such-log\"}");
    CHECK(a);
    ASSERT_EQ_INT(jnum(a, "total_operations"), 0);
    cJSON *v = srv_call_ok(s, "verify_audit_log", srv_fmt(s, "{\"log\":\"%s\"}", log));
    CHECK(v);
    CHECK(cJSON_IsTrue(jget(v, "ok")));
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(v, "logs")), 1);
    CHECK(srv_call_err(s, "verify_audit_log", "{\"log\":\"no-such-log\"}", "'log'",
                       "no-such-log"));
    CHECK(srv_call_err(s, "get_user_activity", "{\"user_id\":\"alice\",\"log\":\"\"}", "log",
                       NULL));
    FINISH(s);
}

/* Run verify-proof on text (a proof or prove's bundle) with the log's vkey:
** its exit status (0 valid, 1 invalid, 2 unusable). */
static int verify_proof(srv *s, const char *text, const char *vkey)
{
    const char *path = srv_fmt(s, "%s/proof", srv_dir(s));
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    int st = system(srv_fmt(s, "'%s' verify-proof '%s' --key '%s' >/dev/null 2>&1",
                            getenv("DSS_BIN"), path, vkey));
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* get_inclusion_proof: a logged entry's proof, by its audit_id or its seq,
** checks offline with the vkey the tool returns; asked once, it signs a
** checkpoint, asked again it proves against that one. */
TEST(get_inclusion_proof_proves_an_entry_offline)
{
    START_INIT(s);
    for (int i = 0; i < 3; i++)
        CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"p\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"limit\":3}");
    CHECK(h);
    const cJSON *e = cJSON_GetArrayItem(jget(h, "entries"), 1);
    const char *id = jstr(e, "id");
    long long seq = (long long)jnum(e, "seq");
    CHECK(id);
    cJSON *p = srv_call_ok(s, "get_inclusion_proof",
                           srv_fmt(s, "{\"audit_id\":\"%s\",\"include_entry\":true}", id));
    CHECK(p);
    const char *proof = jstr(p, "proof"), *vkey = jstr(p, "vkey");
    CHECK(proof && vkey);
    ASSERT_EQ_INT((long long)jnum(p, "seq"), seq);
    CHECK((long long)jnum(p, "tree_size") >= seq);
    CHECK(cJSON_IsTrue(jget(p, "checkpoint_signed")));
    ASSERT_CONTAINS(proof, srv_fmt(s, "\nindex %lld\n", seq - 1));
    ASSERT_EQ_STR(jstr(jget(p, "entry"), "id"), id);
    ASSERT_EQ_INT(verify_proof(s, proof, vkey), 0);
    /* A changed extra line is refused. */
    char *bad = strdup(proof);
    CHECK(bad);
    char *x = strstr(bad, "\nextra ") + 7;
    *x = *x == 'A' ? 'B' : 'A';
    ASSERT_EQ_INT(verify_proof(s, bad, vkey), 1);
    free(bad);
    cJSON *q = srv_call_ok(s, "get_inclusion_proof", srv_fmt(s, "{\"seq\":%lld}", seq));
    CHECK(q);
    CHECK(!cJSON_IsTrue(jget(q, "checkpoint_signed")));
    ASSERT_EQ_INT((long long)jnum(q, "tree_size"), (long long)jnum(p, "tree_size"));
    ASSERT_EQ_INT(verify_proof(s, jstr(q, "proof"), jstr(q, "vkey")), 0);
    FINISH(s);
}

TEST(get_inclusion_proof_refuses_bad_arguments_by_name)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"p\"}"));
    CHECK(srv_call_err(s, "get_inclusion_proof", "{}", "audit_id", NULL));
    CHECK(srv_call_err(s, "get_inclusion_proof", "{\"audit_id\":\"x\",\"seq\":1}", "seq", NULL));
    CHECK(srv_call_err(s, "get_inclusion_proof", "{\"seq\":0}", "seq", NULL));
    CHECK(srv_call_err(s, "get_inclusion_proof", "{\"seq\":999}", "'seq'", "999"));
    CHECK(srv_call_err(s, "get_inclusion_proof",
                       "{\"audit_id\":\"00000000-0000-4000-8000-000000000000\"}", "'audit_id'",
                       NULL));
    CHECK(srv_call_err(s, "get_inclusion_proof", "{\"seq\":1,\"log\":\"no-such-log\"}", "'log'",
                       NULL));
    FINISH(s);
}

TEST(search_is_case_insensitive_and_literal)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"Deploy_100%_Done\"}"));
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"DeployX100YDone\"}"));
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"deploy-other\"}"));
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"fetch\","
                    "\"error\":\"Connection TIMEOUT after 30s\"}"));
    static const struct { const char *term; int n; const char *first; } cases[] = {
        {"DEPLOY_100%", 1, "Deploy_100%_Done"},
        {"_100%", 1, "Deploy_100%_Done"},
        {"%", 1, "Deploy_100%_Done"},
        {"y_1", 1, "Deploy_100%_Done"},
        {"x100y", 1, "DeployX100YDone"},
        {"deploy", 3, "deploy-other"},
        {"timeout", 1, "fetch"},
        {"TimeOut After", 1, "fetch"},
        {"100_", 0, NULL},
        {"D%e", 0, NULL},
        {"zzz-none", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *f = srv_call_ok(s, "search_audit_log",
                               srv_fmt(s, "{\"search_term\":\"%s\"}", cases[i].term));
        CHECK(f);
        if (count_entries(f) != cases[i].n)
            TEST_FAIL_("search '%s': %d entries, expected %d: %s", cases[i].term,
                       count_entries(f), cases[i].n, h_last_line());
        if (cases[i].first)
            ASSERT_EQ_STR(jstr(f, "entries.0.operation_name"), cases[i].first);
        CHECK(newest_first(f));
    }
    cJSON *f = srv_call_ok(s, "search_audit_log", "{\"search_term\":\"deploy\",\"limit\":2}");
    CHECK(f);
    ASSERT_EQ_INT(count_entries(f), 2);
    /* Failed calls' errors are searchable too. */
    CHECK(srv_call_err(s, "get_operation_history", "{\"limit\":0}", "limit", NULL));
    f = srv_call_ok(s, "search_audit_log", "{\"search_term\":\"limit\"}");
    CHECK(f);
    ASSERT_EQ_INT(count_entries(f), 1);
    ASSERT_EQ_STR(jstr(f, "entries.0.event_type"), "tool_call");
    FINISH(s);
}

/* ==== protocol errors ==================================================== */

TEST(unknown_tool_is_invalid_params)
{
    START_INIT(s);
    cJSON *r = srv_request(s, "tools/call", "{\"name\":\"no_such_tool\",\"arguments\":{}}");
    CHECK(r);
    ASSERT_EQ_INT(jcode(r), -32602);
    CHECK(jstr(r, "error.message"));
    CHECK(srv_alive(s));
    FINISH(s);
}

TEST(tools_call_without_name_is_invalid_params)
{
    START_INIT(s);
    static const char *const params[] = {"{\"arguments\":{}}", "{}", "{\"name\":5}", "[]", NULL};
    for (int i = 0; i < 5; i++) {
        cJSON *r = srv_request(s, "tools/call", params[i]);
        CHECK(r);
        if (jcode(r) != -32602)
            TEST_FAIL_("tools/call params %s: expected -32602, got %s", params[i] ? params[i] : "(none)",
                       h_last_line());
        CHECK(srv_alive(s));
    }
    FINISH(s);
}

/* Messages quote what they were given cut to a length ("unknown tool
** '%.256s'"); a cut inside a character made the reply's JSON text invalid
** UTF-8.  Each message here quotes input whose cut falls inside "é": the
** quote must end on the character before it, and every line stays UTF-8
** (srv_rpc() refuses a line that is not). */
static char *repeat(srv *s, char c, int n, const char *tail)
{
    char *p = srv_fmt(s, "%*s%s", n, "", tail);
    memset(p, c, (size_t)n);
    return p;
}

TEST(messages_quoting_long_input_are_cut_between_characters)
{
    START_INIT(s);
    char *tool = repeat(s, 'a', 255, "\xc3\xa9");
    char *method = repeat(s, 'm', 199, "\xc3\xa9");
    char *key = repeat(s, 'k', 63, "\xc3\xa9");
    char *date = repeat(s, '2', 63, "\xc3\xa9");
    struct {
        const char *line, *quoted, *where;
    } cases[] = {
        {srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"%s\",\"arguments\":{}}}", tool),
         repeat(s, 'a', 255, "'"), "error.message"},
        {srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\"}", method),
         repeat(s, 'm', 199, "'"), "error.message"},
        {srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\","
                    "\"params\":{\"%s\":1,\"%s\":2}}", key, key),
         repeat(s, 'k', 63, "'"), "error.message"},
        {srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":"
                    "{\"name\":\"get_audit_trail\",\"arguments\":{\"start_date\":\"%s\","
                    "\"end_date\":\"2026-01-01\"}}}", date),
         repeat(s, '2', 63, "'"), "result.content.0.text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *r = srv_rpc(s, cases[i].line);
        CHECK(r);
        const char *msg = jstr(r, cases[i].where);
        CHECK(msg);
        if (!strstr(msg, cases[i].quoted) || strstr(msg, "\xef\xbf\xbd"))
            TEST_FAIL_("case %zu: the quote is not cut before the character: %s", i, msg);
    }
    FINISH(s);
}

TEST(unknown_method_is_method_not_found)
{
    START_INIT(s);
    static const char *const methods[] = {"no/such/method", "completion/complete", "prompts/list", "Ping"};
    for (int i = 0; i < 4; i++) {
        cJSON *r = srv_request(s, methods[i], NULL);
        CHECK(r);
        ASSERT_EQ_INT(jcode(r), -32601);
        CHECK(srv_alive(s));
    }
    FINISH(s);
}

TEST(parse_error_has_null_id)
{
    START_INIT(s);
    static const char *const bad[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"",
        "not json",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing",
        "{'jsonrpc':'2.0'}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",}",
        "\x01\x02",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *r = srv_rpc(s, bad[i]);
        CHECK(r);
        if (jcode(r) != -32700) TEST_FAIL_("'%s': expected -32700, got %s", bad[i], h_last_line());
        CHECK(id_is_null(r));
        ASSERT_EQ_STR(jstr(r, "jsonrpc"), "2.0");
        CHECK(srv_alive(s));
    }
    FINISH(s);
}

TEST(invalid_requests_are_rejected)
{
    START_INIT(s);
    static const char *const bad[] = {
        "{\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}",
        "[]",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":\"x\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":7}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}",
        "42",
        "\"ping\"",
        "null",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *r = srv_rpc(s, bad[i]);
        CHECK(r);
        if (jcode(r) != -32600) TEST_FAIL_("'%s': expected -32600, got %s", bad[i], h_last_line());
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (!id || !(cJSON_IsNull(id) || (cJSON_IsNumber(id) && id->valuedouble == 1)))
            TEST_FAIL_("'%s': the error reply's id must be null or 1: %s", bad[i], h_last_line());
        CHECK(srv_alive(s));
    }
    FINISH(s);
}

TEST(ids_are_echoed_exactly)
{
    START_INIT(s);
    static const char *const ids[] = {"\"abc\"", "0", "-7", "1.0", "12345678901234567890",
                                      "\"\"", "\"a\\\"b\\u00e9\"", "9007199254740993"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", ids[i]);
        CHECK(srv_send_line(s, line) == 0);
        const char *reply = srv_recv_line(s);
        CHECK(reply);
        cJSON *r = srv_keep(s, cJSON_Parse(reply));
        CHECK(r);
        CHECK(same_json(s, jget(r, "result"), "{}"));
        if (ids[i][0] == '"') {
            cJSON *want = srv_keep(s, cJSON_Parse(ids[i]));
            if (!cJSON_Compare(jget(r, "id"), want, 1))
                TEST_FAIL_("id %s came back as: %s", ids[i], reply);
        } else if (!strstr(reply, srv_fmt(s, "\"id\":%s,", ids[i])) &&
                   !strstr(reply, srv_fmt(s, "\"id\":%s}", ids[i]))) {
            TEST_FAIL_("id %s was not echoed as written: %s", ids[i], reply);
        }
    }
    /* Errors echo the id too. */
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":\"e-1\",\"method\":\"nope\"}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "e-1");
    r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\",\"params\":{\"name\":\"zz\"}}");
    CHECK(r && jnum(r, "id") == 77);
    FINISH(s);
}

TEST(one_reply_per_request_in_order)
{
    START_INIT(s);
    const char *burst =
        "\n"
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"
        "   \n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}\n"
        "{oops\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"log_operation\","
        "\"arguments\":{\"event_type\":\"error\",\"operation_name\":\"burst\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":99}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\r\n";
    CHECK(srv_send_raw(s, burst, strlen(burst)) == 0);
    static const int want[] = {1, 2, -1, 3, 4};
    for (int i = 0; i < 5; i++) {
        cJSON *r = srv_recv(s);
        CHECK(r);
        if (want[i] < 0) CHECK(id_is_null(r) && jcode(r) == -32700);
        else if (jnum(r, "id") != want[i])
            TEST_FAIL_("reply %d: expected id %d, got %s", i, want[i], h_last_line());
    }
    CHECK(srv_silent_for(s, 200));
    FINISH(s);
}

/* A burst of queries whose replies add up to far more than one group may
** hold (about 1 MB) is split into several groups: every reply still comes,
** whole and in order, and the tool_call records of all of them are kept. */
TEST(burst_of_large_replies_arrives_whole_and_in_order)
{
    START_INIT(s);
    char *big = srv_fmt(s, "%08000d", 7);
    for (int i = 0; i < 30; i++)
        CHECK(log_op(s, srv_fmt(s, "{\"event_type\":\"project_update\",\"operation_name\":"
                                   "\"big\",\"user_id\":\"u-big\",\"args\":{\"blob\":\"%s\"}}",
                                big)));
    size_t cap = 40 * 200, at = 0;
    char *burst = malloc(cap);
    CHECK(burst);
    for (int i = 0; i < 40; i++)
        at += (size_t)snprintf(burst + at, cap - at,
                               "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"get_operation_history\",\"arguments\":"
                               "{\"user_id\":\"u-big\",\"limit\":30}}}\n", 1000 + i);
    int sent = srv_send_raw(s, burst, at);
    free(burst);
    CHECK(sent == 0);
    for (int i = 0; i < 40; i++) {
        cJSON *r = srv_recv(s);
        CHECK(r);
        if (jnum(r, "id") != 1000 + i)
            TEST_FAIL_("reply %d: expected id %d, got another", i, 1000 + i);
        ASSERT_EQ_INT(count_entries(jget(r, "result.structuredContent")), 30);
    }
    cJSON *h = srv_call_ok(s, "get_operation_history",
                           "{\"event_type\":\"tool_call\",\"operation_name\":"
                           "\"get_operation_history\",\"limit\":100}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 40);
    FINISH(s);
}

/* ==== framing ============================================================ */

TEST(eof_exits_zero)
{
    START(s, NULL);
    srv_close_stdin(s);
    int st = srv_wait(s);
    if (st != 0) TEST_FAIL_("exit status %d (%s)", st, h_error());
    ASSERT_EQ_STR(srv_stdout(s), "");
    srv_free(s);
}

TEST(eof_after_requests_exits_zero)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"x\"}"));
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}") == 0);
    srv_close_stdin(s);
    cJSON *r = srv_recv(s);
    CHECK(r && jnum(r, "id") == 5);
    FINISH(s);
}

TEST(last_message_without_newline_is_answered)
{
    START_INIT(s);
    const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}";
    CHECK(srv_send_raw(s, msg, strlen(msg)) == 0);
    srv_close_stdin(s);
    cJSON *r = srv_recv(s);
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "last");
    FINISH(s);
}

TEST(crlf_line_endings_accepted)
{
    START(s, NULL);
    const char *msgs =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}\r\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"log_operation\","
        "\"arguments\":{\"event_type\":\"error\",\"operation_name\":\"crlf\"}}}\r\n"
        "\r\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\r\n";
    CHECK(srv_send_raw(s, msgs, strlen(msgs)) == 0);
    cJSON *r = srv_recv(s);
    CHECK(r && jnum(r, "id") == 1);
    ASSERT_EQ_STR(jstr(r, "result.protocolVersion"), "2025-06-18");
    r = srv_recv(s);
    CHECK(r && jnum(r, "id") == 2);
    CHECK(cJSON_IsFalse(jget(r, "result.isError")));
    r = srv_recv(s);
    CHECK(r && jnum(r, "id") == 3);
    CHECK(srv_silent_for(s, 100));
    cJSON *f = srv_call_ok(s, "search_audit_log", "{\"search_term\":\"crlf\"}");
    CHECK(f);
    ASSERT_EQ_STR(jstr(f, "entries.0.operation_name"), "crlf"); /* no stray \r */
    FINISH(s);
}

TEST(blank_lines_are_ignored)
{
    START_INIT(s);
    const char *blanks = "\n\n   \n\t\n \r\n";
    CHECK(srv_send_raw(s, blanks, strlen(blanks)) == 0);
    CHECK(srv_silent_for(s, 200));
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"ping\"}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "b");
    FINISH(s);
}

TEST(message_longer_than_limit_is_refused_then_serving_continues)
{
    static const char *const args[] = {"--max-message-bytes", "1024", NULL};
    srv_opts o = {.args = args};
    START(s, &o);
    CHECK(srv_initialize(s, "2025-11-25"));
    /* Exactly the limit: accepted. */
    const char *head = "{\"jsonrpc\":\"2.0\",\"id\":\"fits\",\"method\":\"ping\",\"params\":{\"pad\":\"";
    const char *tail = "\"}}";
    size_t pad = 1024 - strlen(head) - strlen(tail);
    char *fits = srv_fmt(s, "%s%*s%s", head, (int)pad, "", tail);
    CHECK(strlen(fits) == 1024);
    cJSON *r = srv_rpc(s, fits);
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "fits");
    CHECK(jget(r, "result"));
    /* Over the limit, a little and a lot (across several reads). */
    static const size_t sizes[] = {1025, 2000, 300000};
    for (int i = 0; i < 3; i++) {
        char *big = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\",\"params\":{\"pad\":\"%*s\"}}",
                            i, (int)sizes[i], "");
        r = srv_rpc(s, big);
        CHECK(r);
        CHECK(jcode(r) != 0);
        CHECK(jget(r, "error"));
        CHECK(srv_alive(s));
    }
    FINISH(s);
}

/* n '[' then n ']'; owned by s. */
static char *brackets(srv *s, int n)
{
    char *b = malloc(2 * (size_t)n + 1);
    if (!b) return NULL;
    memset(b, '[', (size_t)n);
    memset(b + n, ']', (size_t)n);
    b[2 * n] = '\0';
    char *kept = srv_fmt(s, "%s", b);
    free(b);
    return kept;
}

/* A ping nested `levels` deep in all; its id is levels. */
static char *nested(srv *s, int levels)
{
    /* The envelope and params make two levels; the rest are arrays. */
    char *b = brackets(s, levels - 2);
    return b ? srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\","
                          "\"params\":{\"a\":%s}}", levels, b)
             : NULL;
}

TEST(nesting_deeper_than_64_is_refused)
{
    START_INIT(s);
    cJSON *r = srv_rpc(s, nested(s, 64));
    CHECK(r);
    CHECK(jnum(r, "id") == 64 && jget(r, "result"));
    r = srv_rpc(s, nested(s, 65));
    CHECK(r);
    CHECK(jcode(r) != 0);
    CHECK(srv_alive(s));
    r = srv_rpc(s, nested(s, 200000));
    CHECK(r);
    CHECK(jcode(r) != 0);
    CHECK(srv_alive(s));
    /* Deep arguments of a tool call are refused the same way, and such a
    ** call is neither run nor recorded. */
    char *deep = brackets(s, 66);
    CHECK(deep);
    r = srv_rpc(s, srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":\"deep\",\"method\":\"tools/call\","
                              "\"params\":{\"name\":\"log_operation\",\"arguments\":{"
                              "\"event_type\":\"error\",\"operation_name\":\"deep\","
                              "\"args\":{\"a\":%s}}}}", deep));
    CHECK(r);
    CHECK(jcode(r) != 0);
    cJSON *h = srv_call_ok(s, "get_operation_history", "{}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

/* ==== command line and configuration ===================================== */

TEST(help_prints_usage_and_exits_zero)
{
    static const char *const args[] = {"--help", NULL};
    srv_opts o = {.args = args};
    START(s, &o);
    int st = srv_wait(s);
    if (st != 0) TEST_FAIL_("--help exit status %d (%s)", st, h_error());
    ASSERT_CONTAINS(srv_stdout(s), "--db");
    ASSERT_CONTAINS(srv_stdout(s), "--actor");
    srv_free(s);
}

TEST(version_prints_and_exits_zero)
{
    static const char *const args[] = {"--version", NULL};
    srv_opts o = {.args = args};
    START(s, &o);
    int st = srv_wait(s);
    if (st != 0) TEST_FAIL_("--version exit status %d (%s)", st, h_error());
    ASSERT_CONTAINS(srv_stdout(s), "dss-audit-mcp");
    CHECK(strpbrk(srv_stdout(s), "0123456789"));
    struct stat sb;
    CHECK(stat(srv_db(s), &sb) != 0); /* no database was created */
    srv_free(s);
}

TEST(unknown_flag_exits_2_with_message_on_stderr)
{
    static const char *const variants[][2] = {{"--bogus-flag", NULL}, {"-Z", NULL},
                                              {"--actor", NULL}, {"extra-arg", NULL}};
    for (int i = 0; i < 4; i++) {
        srv_opts o = {.args = variants[i], .no_actor = i == 2};
        START(s, &o);
        int st = srv_wait(s);
        if (st != 2) TEST_FAIL_("%s: exit status %d, expected 2 (%s)", variants[i][0], st, h_error());
        ASSERT_EQ_STR(srv_stdout(s), "");
        CHECK(strlen(srv_stderr(s)) > 0);
        struct stat sb;
        CHECK(stat(srv_db(s), &sb) != 0);
        srv_free(s);
    }
}

TEST(bad_option_values_exit_nonzero)
{
    static const char *const variants[][3] = {{"--max-message-bytes", "abc", NULL},
                                              {"--max-message-bytes", "10", NULL},
                                              {"--max-depth", "0", NULL}};
    for (int i = 0; i < 3; i++) {
        srv_opts o = {.args = variants[i]};
        START(s, &o);
        int st = srv_wait(s);
        if (st <= 0) TEST_FAIL_("%s %s: exit status %d, expected non-zero", variants[i][0],
                                variants[i][1], st);
        ASSERT_EQ_STR(srv_stdout(s), "");
        CHECK(strlen(srv_stderr(s)) > 0);
        srv_free(s);
    }
}

TEST(unopenable_db_exits_nonzero)
{
    static const char *const paths[] = {"@DIR@", "/proc/dss-e2e-none/x/audit.db",
                                        "/dev/null"};
    for (int i = 0; i < 3; i++) {
        const char *args[] = {"--db", paths[i], NULL};
        srv_opts o = {.args = args, .no_db = 1};
        START(s, &o);
        int st = srv_wait(s);
        if (st <= 0)
            TEST_FAIL_("--db %s: exit status %d, expected non-zero (%s)", paths[i], st, h_error());
        ASSERT_EQ_STR(srv_stdout(s), "");
        CHECK(strlen(srv_stderr(s)) > 0);
        srv_free(s);
    }
}

TEST(not_a_database_file_exits_nonzero)
{
    /* Prepare a junk file first, in a server-less temp dir of our own. */
    char dir[] = "/tmp/dss-e2e-junk-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("this is not an SQLite database, not at all; it is plain text.\n", f);
        for (int i = 0; i < 200; i++) fputs("junk junk junk junk junk junk junk\n", f);
        fclose(f);
    }
    chmod(path, 0600);
    const char *args[] = {"--db", path, NULL};
    srv_opts o = {.args = args, .no_db = 1};
    srv *s = srv_start(&o);
    int st = s ? srv_wait(s) : -100;
    const char *out = s ? srv_stdout(s) : "";
    int err_len = s ? (int)strlen(srv_stderr(s)) : 0;
    int empty_out = strcmp(out, "") == 0;
    srv_free(s);
    unlink(path);
    rmdir(dir);
    if (st <= 0) TEST_FAIL_("a junk --db file: exit status %d, expected non-zero", st);
    CHECK(empty_out);
    CHECK(err_len > 0);
}

TEST(env_vars_configure_db_and_actor)
{
    static const char *const env[] = {"DSS_AUDIT_DB=@DIR@/envdir/env.db",
                                      "DSS_AUDIT_ACTOR=env-actor", NULL};
    srv_opts o = {.env = env, .no_db = 1, .no_actor = 1};
    START(s, &o);
    CHECK(srv_initialize(s, "2025-11-25"));
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"env\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 2);
    ASSERT_EQ_STR(jstr(h, "entries.0.user_id"), "env-actor");
    ASSERT_EQ_STR(jstr(h, "entries.1.user_id"), "env-actor");
    char *envdb = srv_fmt(s, "%s/envdir/env.db", srv_dir(s));
    struct stat sb;
    CHECK(stat(envdb, &sb) == 0);
    CHECK(stat(srv_db(s), &sb) != 0);
    CHECK(stat(srv_fmt(s, "%s/xdg", srv_dir(s)), &sb) != 0);
    CHECK(srv_stdout_is_json_lines(s));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(db_scalar(envdb, "SELECT count(*) FROM audit_log WHERE user_id = ?", "env-actor"), 3);
    srv_free(s);
}

TEST(flags_override_env_vars)
{
    static const char *const env[] = {"DSS_AUDIT_DB=@DIR@/env.db", "DSS_AUDIT_ACTOR=env-actor", NULL};
    srv_opts o = {.env = env};
    START(s, &o);
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"flag\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{}");
    CHECK(h);
    ASSERT_EQ_STR(jstr(h, "entries.0.user_id"), E2E_ACTOR);
    struct stat sb;
    CHECK(stat(srv_db(s), &sb) == 0);
    CHECK(stat(srv_fmt(s, "%s/env.db", srv_dir(s)), &sb) != 0);
    FINISH(s);
}

TEST(default_db_under_xdg_data_home)
{
    srv_opts o = {.no_db = 1};
    START(s, &o); /* the harness points XDG_DATA_HOME at <dir>/xdg */
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"xdg\"}"));
    struct stat sb;
    CHECK(stat(srv_fmt(s, "%s/xdg/dss-audit/audit.db", srv_dir(s)), &sb) == 0);
    FINISH(s);
}

TEST(db_file_created_with_mode_0600)
{
    static const char *const args[] = {"--db", "@DIR@/a/b/audit.db", NULL};
    srv_opts o = {.args = args, .no_db = 1};
    mode_t old = umask(0);
    srv *s = srv_start(&o);
    umask(old);
    CHECK(s);
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"mode\"}"));
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        struct stat sb;
        const char *p = srv_fmt(s, "%s/a/b/audit.db%s", srv_dir(s), suffix[i]);
        if (stat(p, &sb) != 0) {
            if (i == 0) TEST_FAIL_("%s was not created", p);
            continue;
        }
        if ((sb.st_mode & 0777) != 0600)
            TEST_FAIL_("%s has mode %03o, expected 600", p, (unsigned)(sb.st_mode & 0777));
    }
    FINISH(s);
}

/* ==== durability ========================================================= */

TEST(acknowledged_entry_survives_kill_9)
{
    START_INIT(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                          "\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"project_delete\","
                          "\"operation_name\":\"durable\"}}}");
    CHECK(r);
    const char *id = jstr(r, "result.structuredContent.audit_id");
    CHECK(id);
    srv_kill(s);
    ASSERT_EQ_INT(db_scalar(srv_db(s), "SELECT count(*) FROM audit_log WHERE id = ?", id), 1);
    ASSERT_EQ_INT(db_scalar(srv_db(s), "SELECT count(*) FROM audit_log WHERE event_type = 'tool_call'"
                                       " AND operation_id = ?", "7"), 1);
    /* A new server on the same file serves it. */
    const char *args[] = {"--db", srv_db(s), NULL};
    srv_opts o = {.args = args, .no_db = 1};
    START(s2, &o);
    cJSON *h = srv_call_ok(s2, "get_operation_history", "{\"event_type\":\"project_delete\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    ASSERT_EQ_STR(jstr(h, "entries.0.id"), id);
    CHECK(log_op(s2, "{\"event_type\":\"error\",\"operation_name\":\"after-restart\"}"));
    FINISH(s2);
    srv_free(s);
}

/* A database file deleted (or replaced) under a running server: SQLite
** would go on committing into the deleted file, acknowledging entries that
** vanish with it.  Writes are refused instead, saying why, and the server
** goes on answering. */
TEST(database_deleted_while_serving_refuses_writes_saying_why)
{
    START_INIT(s);
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"before\"}"));
    test_unlink_db(srv_db(s));
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"after\"}",
                       "was deleted, moved or replaced while it was open", "restart"));
    CHECK(srv_alive(s));
    /* A new server makes a new file there, and writes to it. */
    srv_close_stdin(s);
    srv_wait(s);
    const char *args[] = {"--db", srv_db(s), NULL};
    srv_opts o = {.args = args, .no_db = 1};
    START(s2, &o);
    CHECK(log_op(s2, "{\"event_type\":\"error\",\"operation_name\":\"after-restart\"}"));
    FINISH(s2);
    srv_free(s);
}

/* The main database file's size, and the size its pages add up to as a
** reader sees them (through the WAL); -1 when anything fails. */
static long long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static long long db_bytes_as_read(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count,"
                               " pragma_page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A commit leaves its pages in the write-ahead log; once the input falls
** quiet, the server copies them back into the database file, which then
** holds every page.  (A reader never checkpoints, and the server holds the
** database open, so nothing but the server can have done it.) */
TEST(quiet_server_copies_the_wal_back_into_the_database)
{
    START_INIT(s);
    /* Two entries of three 1.2 MB payloads: about 1,800 WAL pages, more
    ** than the server lets sit in the WAL while quiet (1,000) and far fewer
    ** than a commit copies back by itself (10,000). */
    enum { PAD = 1200 * 1024 };
    char *pad = malloc(PAD + 1);
    CHECK(pad);
    memset(pad, 'x', PAD);
    pad[PAD] = '\0';
    const char *args = srv_fmt(s, "{\"event_type\":\"project_update\",\"operation_name\":\"big\","
                                  "\"args\":{\"pad\":\"%s\"},\"before_state\":{\"pad\":\"%s\"},"
                                  "\"after_state\":{\"pad\":\"%s\"}}",
                               pad, pad, pad);
    free(pad);
    CHECK(log_op(s, args));
    CHECK(log_op(s, args));
    const char *db = srv_db(s), *wal = srv_fmt(s, "%s-wal", db);
    CHECK(file_bytes(wal) > 1000LL * (4096 + 24));
    /* Wait for it without sending anything (the server waits for silence). */
    long long want = -1, have = -1;
    for (int i = 0; i < 1000; i++) {
        want = db_bytes_as_read(db);
        have = file_bytes(db);
        if (want > 0 && have == want) break;
        struct timespec d = {0, 10 * 1000000L};
        nanosleep(&d, NULL);
    }
    if (have != want)
        TEST_FAIL_("the database file has %lld of %lld bytes: the WAL was not copied back",
                   have, want);
    CHECK(srv_alive(s));
    FINISH(s);
}

/* ==== secrets never reach the disk ======================================= */

static const char *const secret_keys[] = {"api_key", "password", "token", "auth",
                                          "credential", "secret", "figma_token",
                                          "encrypted_data"};
#define NKEYS 8

/* A field value full of secrets: each key at depth 1, at depth 3 and inside
** arrays of arrays, plus a non-secret marker.  The secret values are plain
** words and hex, the same shape as the marker, which no value pattern
** recognises (the marker is stored as it is): only the key-name rules keep
** them off the disk.  test_secrets.c covers the value patterns.  Every secret is recorded in
** list (owned by s). */
static cJSON *secret_object(srv *s, const char *tag, const char *field,
                            const char *marker, const char **list, int *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *l2 = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray(), *inner1 = cJSON_CreateArray(),
          *inner2 = cJSON_CreateArray(), *inner2b = cJSON_CreateArray();
    cJSON *a1 = cJSON_CreateObject(), *a2 = cJSON_CreateObject();
    for (int k = 0; k < NKEYS; k++) {
        const char *v1 = srv_fmt(s, "hidden-words-%s-%s-key%d-d1", tag, field, k);
        const char *v3 = srv_fmt(s, "hidden-words-%s-%s-key%d-d3", tag, field, k);
        const char *va = srv_fmt(s, "hidden-words-%s-%s-key%d-aa", tag, field, k);
        const char *vb = srv_fmt(s, "hidden-words-%s-%s-key%d-aaa", tag, field, k);
        cJSON_AddStringToObject(o, secret_keys[k], v1);
        cJSON_AddStringToObject(l2, secret_keys[k], v3);
        cJSON_AddStringToObject(a1, secret_keys[k], va);
        cJSON_AddStringToObject(a2, secret_keys[k], vb);
        list[(*n)++] = v1;
        list[(*n)++] = v3;
        list[(*n)++] = va;
        list[(*n)++] = vb;
    }
    /* Key names that only contain a word, in other cases. */
    static const char *const variants[] = {"X-Auth-Header", "MyPassword", "GITHUB_TOKEN",
                                           "clientSecret", "API_KEY_2"};
    for (int k = 0; k < 5; k++) {
        const char *v = srv_fmt(s, "hidden-words-%s-%s-variant%d", tag, field, k);
        cJSON_AddStringToObject(o, variants[k], v);
        list[(*n)++] = v;
    }
    /* A secret key whose value is itself a structure. */
    const char *vs = srv_fmt(s, "hidden-words-%s-%s-structured", tag, field);
    cJSON *st = cJSON_CreateObject();
    cJSON_AddStringToObject(st, "inner", vs);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(st, "list"), cJSON_CreateString(vs));
    cJSON_AddItemToObject(o, "credentials", st);
    list[(*n)++] = vs;

    cJSON *l1 = cJSON_CreateObject();
    cJSON_AddItemToObject(l1, "level2", l2);
    cJSON_AddItemToObject(o, "level1", l1);
    cJSON_AddItemToArray(inner1, a1);
    cJSON_AddItemToArray(inner2b, a2);
    cJSON_AddItemToArray(inner2, inner2b);
    cJSON_AddItemToArray(arr, inner1);
    cJSON_AddItemToArray(arr, inner2);
    cJSON_AddItemToObject(o, "matrix", arr);
    cJSON_AddStringToObject(o, "note", marker);
    return o;
}

TEST(secrets_never_reach_the_database_or_wal)
{
    START_INIT(s);
    char rnd[17];
    random_hex(rnd);
    const char *marker = srv_fmt(s, "e2e-MARKER-%s", rnd);
    enum { MAXSECRETS = 1024 };
    const char *secrets[MAXSECRETS];
    int n = 0;

    /* 1. log_operation with secrets in args, result, before_state, after_state. */
    static const char *const fields[] = {"args", "result", "before_state", "after_state"};
    cJSON *call = srv_keep(s, cJSON_CreateObject());
    cJSON_AddStringToObject(call, "event_type", "credential_create");
    cJSON_AddStringToObject(call, "operation_name", "store_credentials");
    cJSON_AddStringToObject(call, "project_id", "proj-secret");
    for (int f = 0; f < 4; f++)
        cJSON_AddItemToObject(call, fields[f], secret_object(s, rnd, fields[f], marker, secrets, &n));
    char *text = cJSON_PrintUnformatted(call);
    CHECK(text);
    char *line = srv_fmt(s, "%s", text);
    cJSON_free(text);
    cJSON *logged = log_op(s, line);
    CHECK(logged);

    /* 2. A key written with a JSON escape. */
    const char *esc = srv_fmt(s, "hidden-words-%s-escaped", rnd);
    secrets[n++] = esc;
    CHECK(log_op(s, srv_fmt(s, "{\"event_type\":\"credential_access\",\"operation_name\":\"esc\","
                               "\"args\":{\"p\\u0061ssword\":\"%s\",\"note\":\"%s\"}}", esc, marker)));

    /* 3. A call that fails validation still records its (scrubbed) args. */
    const char *failing = srv_fmt(s, "hidden-words-%s-failing", rnd);
    secrets[n++] = failing;
    CHECK(srv_call_err(s, "log_operation",
                       srv_fmt(s, "{\"event_type\":\"not-a-type\",\"operation_name\":\"bad\","
                                  "\"args\":{\"token\":\"%s\"}}", failing), "event_type", NULL));
    /* 4. Secret-named unknown arguments to a query tool. */
    const char *query = srv_fmt(s, "hidden-words-%s-query", rnd);
    secrets[n++] = query;
    CHECK(srv_call_err(s, "get_operation_history",
                       srv_fmt(s, "{\"api_key\":\"%s\"}", query), "api_key", NULL));
    /* 5. Secret-named keys inside clientInfo of a second initialize. */
    const char *client = srv_fmt(s, "hidden-words-%s-client", rnd);
    secrets[n++] = client;
    CHECK(srv_request(s, "initialize",
                      srv_fmt(s, "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                                 "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\",\"token\":\"%s\"}}",
                              client)));
    CHECK(log_op(s, "{\"event_type\":\"error\",\"operation_name\":\"after-client\"}"));

    /* The stored entry reads back redacted. */
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"store_credentials\"}");
    CHECK(h);
    ASSERT_EQ_STR(jstr(h, "entries.0.args.api_key"), "***REDACTED***");
    ASSERT_EQ_STR(jstr(h, "entries.0.result.level1.level2.password"), "***REDACTED***");
    ASSERT_EQ_STR(jstr(h, "entries.0.after_state.matrix.1.0.0.token"), "***REDACTED***");
    ASSERT_EQ_STR(jstr(h, "entries.0.before_state.credentials"), "***REDACTED***");
    ASSERT_EQ_STR(jstr(h, "entries.0.before_state.note"), marker);

    /* Nothing secret on stdout either. */
    for (int i = 0; i < n; i++)
        if (strstr(srv_stdout(s), secrets[i])) TEST_FAIL_("secret %s appeared on stdout", secrets[i]);

    /* While the server runs (data in the WAL), then after it has exited. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            CHECK(srv_stdout_is_json_lines(s));
            int st = srv_wait(s);
            if (st != 0) TEST_FAIL_("exit status %d (%s)", st, h_error());
        }
        int marker_seen = 0;
        const char *files[] = {"", "-wal", "-journal"};
        for (int f = 0; f < 3; f++) {
            size_t len;
            const char *path = srv_fmt(s, "%s%s", srv_db(s), files[f]);
            char *bytes = srv_read_file(s, path, &len);
            if (!bytes) {
                if (f == 0) TEST_FAIL_("cannot read %s", path);
                continue;
            }
            for (int i = 0; i < n; i++)
                if (h_memmem(bytes, len, secrets[i]))
                    TEST_FAIL_("pass %d: secret %s found in %s", pass, secrets[i], path);
            if (h_memmem(bytes, len, "hidden-words-"))
                TEST_FAIL_("pass %d: a secret prefix found in %s", pass, path);
            if (h_memmem(bytes, len, marker)) marker_seen = 1;
        }
        if (!marker_seen) TEST_FAIL_("pass %d: the marker %s is in neither file", pass, marker);
    }
    srv_free(s);
}

/* Entries name their log (id and name), and the log argument of the query
** tools keeps one log: the file's own by name or id, nothing for another. */
TEST(entries_carry_their_log_and_the_log_argument_filters)
{
    static const char *const args[] = {"--log", "laptop-7", NULL};
    srv_opts o = {.args = args};
    srv *s = srv_start(&o);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"a1\"}"));
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"a1\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    ASSERT_EQ_STR(jstr(h, "entries.0.log"), "laptop-7");
    const char *id = jstr(h, "entries.0.log_id");
    ASSERT(id && strlen(id) == 36);
    char *by_id = srv_fmt(s, "{\"operation_name\":\"a1\",\"log\":\"%s\"}", id);
    h = srv_call_ok(s, "get_operation_history", by_id);
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    h = srv_call_ok(s, "search_audit_log", "{\"search_term\":\"a1\",\"log\":\"laptop-7\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"a1\",\"log\":\"ci-runner\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 0);
    FINISH(s);
}

/* A log's name is given once, when the file is created: a later --log does
** not rename it (the name identifies the machine in a shared trail). */
TEST(log_name_is_kept_from_creation)
{
    char dir[] = "/tmp/dss-e2e-logname.XXXXXX", db[64];
    ASSERT(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/audit.db", dir);
    const char *const first[] = {"--log", "first-name", "--db", db, NULL};
    srv_opts o = {.args = first, .no_db = 1};
    srv *s = srv_start(&o);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    CHECK(log_op(s, "{\"event_type\":\"project_update\",\"operation_name\":\"a1\"}"));
    FINISH(s);
    /* The same file, another --log: entries still say first-name. */
    const char *const again[] = {"--log", "second-name", "--db", db, NULL};
    srv_opts o2 = {.args = again, .no_db = 1};
    srv *t = srv_start(&o2);
    CHECK(t);
    CHECK(srv_initialize(t, "2025-11-25"));
    cJSON *h = srv_call_ok(t, "get_operation_history", "{\"operation_name\":\"a1\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 1);
    ASSERT_EQ_STR(jstr(h, "entries.0.log"), "first-name");
    FINISH(t);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(rm), 0);
}

/* A password in a PostgreSQL database string never shows in `ps`: the
** process wipes it from its own argv, and a server that `wrap` starts does
** not inherit it through DSS_AUDIT_DB.  The database cannot be reached
** here, so wrap says so (without the password) and keeps relaying. */
TEST(postgres_password_never_shows_in_ps)
{
    static const char *const args[] = {
        "wrap", "--db", "postgres://auditor:Hunter2Secret@127.0.0.1:1/audit?sslmode=disable",
        "--", "sleep", "30", NULL};
    static const char *const env[] = {
        "DSS_AUDIT_DB=host=127.0.0.1 port=1 password=Env5ecretPw dbname=x", NULL};
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    srv *s = srv_start(&o);
    CHECK(s);
    for (int i = 0; i < 3000 && !strstr(srv_stderr(s), "cannot open"); i++) usleep(10000);
    ASSERT_CONTAINS(srv_stderr(s), "auditor:***@127.0.0.1");
    char path[96];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%d/cmdline", srv_pid(s));
    char *cmd = srv_read_file(s, path, &n);
    CHECK(cmd);
    ASSERT(!h_memmem(cmd, n, "Hunter2Secret"));
    ASSERT(h_memmem(cmd, n, "auditor:"));
    /* The wrapped server: the child of the wrapper. */
    /* The wrapped server is started after the database is tried. */
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", srv_pid(s), srv_pid(s));
    char *kids = srv_read_file(s, path, &n);
    for (int i = 0; i < 3000 && (!kids || atoi(kids) <= 0); i++) {
        usleep(10000);
        kids = srv_read_file(s, path, &n);
    }
    CHECK(kids);
    int child = atoi(kids);
    ASSERT(child > 0);
    /* Between fork and exec the child still shows the wrapper's memory:
    ** wait until it is the server. */
    snprintf(path, sizeof path, "/proc/%d/cmdline", child);
    for (int i = 0; i < 3000; i++) {
        char *c = srv_read_file(s, path, &n);
        if (c && n >= 5 && strcmp(c, "sleep") == 0) break;
        usleep(10000);
    }
    /* The wrapper's own first environment, too (`ps e`). */
    snprintf(path, sizeof path, "/proc/%d/environ", srv_pid(s));
    char *own_env = srv_read_file(s, path, &n);
    CHECK(own_env);
    ASSERT(!h_memmem(own_env, n, "Env5ecretPw"));
    snprintf(path, sizeof path, "/proc/%d/environ", child);
    char *environ_ = srv_read_file(s, path, &n);
    CHECK(environ_);
    ASSERT(!h_memmem(environ_, n, "Env5ecretPw"));
    ASSERT(!h_memmem(environ_, n, "Hunter2Secret"));
    snprintf(path, sizeof path, "/proc/%d/cmdline", child);
    cmd = srv_read_file(s, path, &n);
    CHECK(cmd);
    ASSERT(!h_memmem(cmd, n, "Hunter2Secret"));
    srv_close_stdin(s);
    srv_wait(s);
    ASSERT(!strstr(srv_stderr(s), "Hunter2Secret"));
    ASSERT(!strstr(srv_stdout(s), "Hunter2Secret"));
    srv_free(s);
}

TEST_MAIN(
    TEST_ENTRY(get_inclusion_proof_proves_an_entry_offline)
    TEST_ENTRY(get_inclusion_proof_refuses_bad_arguments_by_name)
    TEST_ENTRY(entries_carry_their_log_and_the_log_argument_filters)
    TEST_ENTRY(log_name_is_kept_from_creation)
    TEST_ENTRY(postgres_password_never_shows_in_ps)
    TEST_ENTRY(initialize_echoes_each_supported_version)
    TEST_ENTRY(initialize_unsupported_version_gets_latest)
    TEST_ENTRY(initialize_result_shape)
    TEST_ENTRY(notifications_are_never_answered)
    TEST_ENTRY(ping_returns_empty_object)
    TEST_ENTRY(tools_list_has_the_five_tools_with_annotations)
    TEST_ENTRY(tools_list_serves_the_schema_files)
    TEST_ENTRY(every_tool_works_and_matches_its_output_schema)
    TEST_ENTRY(log_operation_defaults)
    TEST_ENTRY(log_operation_seq_increases)
    TEST_ENTRY(every_tools_call_is_recorded_as_tool_call)
    TEST_ENTRY(tool_call_record_without_initialize_has_null_client)
    TEST_ENTRY(log_operation_validation_names_the_argument)
    TEST_ENTRY(query_validation_names_the_argument)
    TEST_ENTRY(get_audit_trail_bad_dates_say_which)
    TEST_ENTRY(arguments_not_an_object_is_invalid_params)
    TEST_ENTRY(get_operation_history_filters_and_pages)
    TEST_ENTRY(get_operation_history_huge_offset_returns_nothing)
    TEST_ENTRY(get_audit_trail_date_only_end_includes_whole_day)
    TEST_ENTRY(get_audit_trail_compares_instants_across_offsets)
    TEST_ENTRY(get_audit_trail_truncated_and_newest_first)
    TEST_ENTRY(get_user_activity_summary)
    TEST_ENTRY(activity_and_verify_of_one_log)
    TEST_ENTRY(search_is_case_insensitive_and_literal)
    TEST_ENTRY(unknown_tool_is_invalid_params)
    TEST_ENTRY(tools_call_without_name_is_invalid_params)
    TEST_ENTRY(unknown_method_is_method_not_found)
    TEST_ENTRY(messages_quoting_long_input_are_cut_between_characters)
    TEST_ENTRY(parse_error_has_null_id)
    TEST_ENTRY(invalid_requests_are_rejected)
    TEST_ENTRY(ids_are_echoed_exactly)
    TEST_ENTRY(one_reply_per_request_in_order)
    TEST_ENTRY(burst_of_large_replies_arrives_whole_and_in_order)
    TEST_ENTRY(eof_exits_zero)
    TEST_ENTRY(eof_after_requests_exits_zero)
    TEST_ENTRY(last_message_without_newline_is_answered)
    TEST_ENTRY(crlf_line_endings_accepted)
    TEST_ENTRY(blank_lines_are_ignored)
    TEST_ENTRY(message_longer_than_limit_is_refused_then_serving_continues)
    TEST_ENTRY(nesting_deeper_than_64_is_refused)
    TEST_ENTRY(help_prints_usage_and_exits_zero)
    TEST_ENTRY(version_prints_and_exits_zero)
    TEST_ENTRY(unknown_flag_exits_2_with_message_on_stderr)
    TEST_ENTRY(bad_option_values_exit_nonzero)
    TEST_ENTRY(unopenable_db_exits_nonzero)
    TEST_ENTRY(not_a_database_file_exits_nonzero)
    TEST_ENTRY(env_vars_configure_db_and_actor)
    TEST_ENTRY(flags_override_env_vars)
    TEST_ENTRY(default_db_under_xdg_data_home)
    TEST_ENTRY(db_file_created_with_mode_0600)
    TEST_ENTRY(acknowledged_entry_survives_kill_9)
    TEST_ENTRY(database_deleted_while_serving_refuses_writes_saying_why)
    TEST_ENTRY(quiet_server_copies_the_wal_back_into_the_database)
    TEST_ENTRY(secrets_never_reach_the_database_or_wal)
)
