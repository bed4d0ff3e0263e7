/*
** test_protocol.c: protocol completeness over pipes: the stateless
** 2026-07-28 era beside the initialize era, batches for 2025-03-26,
** logging, progress and cancellation, and the resources.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jpath.h"
#include "test.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s\n    last line: %s", \
                       #cond, h_error(), h_last_line());                     \
    } while (0)

/* A reply line that may be an array (a batch's answer); kept by s. */
static cJSON *recv_any(srv *s)
{
    const char *line = srv_recv_json_line(s);
    return line ? srv_keep(s, cJSON_Parse(line)) : NULL;
}

/* Like FINISH, for streams that carried batch arrays. */
#define FINISH_ANY(s)                                                        \
    do {                                                                     \
        int st_ = srv_wait(s);                                               \
        if (st_ != 0) TEST_FAIL_("server exit status %d", st_);              \
        srv_free(s);                                                         \
    } while (0)

#define FINISH(s)                                                            \
    do {                                                                     \
        CHECK(srv_stdout_is_json_lines(s));                                  \
        int st_ = srv_wait(s);                                               \
        if (st_ != 0) TEST_FAIL_("server exit status %d", st_);              \
        srv_free(s);                                                         \
    } while (0)

/* Modern per-request metadata, with room for more members. */
#define META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
             "\"io.modelcontextprotocol/clientCapabilities\":{},"                   \
             "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"modern-client\",\"version\":\"7.0\"}"

/* Send n log_operation calls in one write and read their n replies. */
static int fill(srv *s, int n)
{
    size_t cap = (size_t)n * 160 + 1, at = 0;
    char *buf = malloc(cap);
    if (!buf) return 0;
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, cap - at,
                               "{\"jsonrpc\":\"2.0\",\"id\":\"f%d\",\"method\":\"tools/call\","
                               "\"params\":{\"name\":\"log_operation\",\"arguments\":"
                               "{\"event_type\":\"error\",\"operation_name\":\"op%d\"}}}\n", i, i);
    int ok = srv_send_raw(s, buf, at) == 0;
    free(buf);
    for (int i = 0; ok && i < n; i++) ok = srv_recv(s) != NULL;
    return ok;
}

TEST(discover_describes_versions_and_capabilities)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{" META "}}}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "result.resultType"), "complete");
    ASSERT_EQ_STR(jstr(r, "result.supportedVersions.0"), "2026-07-28");
    ASSERT_EQ_STR(jstr(r, "result.supportedVersions.1"), "2025-11-25");
    CHECK(cJSON_IsObject(jget(r, "result.capabilities.tools")));
    CHECK(cJSON_IsObject(jget(r, "result.capabilities.resources")));
    CHECK(cJSON_IsObject(jget(r, "result.capabilities.logging")));
    CHECK(jnum(r, "result.ttlMs") >= 0);
    ASSERT_EQ_STR(jstr(r, "result.cacheScope"), "public");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(jget(r, "result._meta"),
                                                         "io.modelcontextprotocol/serverInfo");
    ASSERT_EQ_STR(jstr(info, "name"), "dss-audit-mcp");
    CHECK(jstr(r, "result.instructions"));
    FINISH(s);
}

TEST(modern_request_without_capabilities_is_invalid_params)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":"
                          "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}");
    CHECK(r);
    ASSERT_EQ_INT(jcode(r), -32602);
    ASSERT_CONTAINS(jstr(r, "error.message"), "clientCapabilities");
    FINISH(s);
}

TEST(unsupported_version_gets_32022_with_supported_and_requested)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":"
                          "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"1900-01-01\","
                          "\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
    CHECK(r);
    ASSERT_EQ_INT(jcode(r), -32022);
    ASSERT_EQ_STR(jstr(r, "error.data.requested"), "1900-01-01");
    ASSERT_EQ_STR(jstr(r, "error.data.supported.0"), "2026-07-28");
    FINISH(s);
}

TEST(modern_tools_list_carries_result_type_and_cache_hints)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\",\"params\":{" META "}}}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "result.resultType"), "complete");
    CHECK(jnum(r, "result.ttlMs") >= 0);
    CHECK(jstr(r, "result.cacheScope"));
    CHECK(cJSON_GetArraySize(jget(r, "result.tools")) >= 5);
    FINISH(s);
}

TEST(modern_tool_call_records_client_from_meta)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
                          "\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"error\","
                          "\"operation_name\":\"modern-op\"}," META "}}}");
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "result.resultType"), "complete");
    const char *id = jstr(r, "result.structuredContent.audit_id");
    CHECK(id);
    char line[512];
    snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{"
             "\"name\":\"get_audit_entry\",\"arguments\":{\"audit_id\":\"%s\"}}}", id);
    cJSON *e = srv_rpc(s, line);
    CHECK(e);
    ASSERT_EQ_STR(jstr(e, "result.structuredContent.entry.client.name"), "modern-client");
    ASSERT_EQ_STR(jstr(e, "result.structuredContent.entry.client.version"), "7.0");
    CHECK(!jget(e, "result.resultType")); /* that request was legacy */
    FINISH(s);
}

TEST(legacy_and_modern_share_one_stream)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-06-18"));
    cJSON *m = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":{" META "}}}");
    CHECK(m);
    ASSERT_EQ_STR(jstr(m, "result.resultType"), "complete");
    cJSON *l = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}");
    CHECK(l);
    CHECK(!jget(l, "result.resultType"));
    FINISH(s);
}

TEST(batch_in_2025_03_26_session_is_answered_as_an_array)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-03-26"));
    CHECK(srv_send_line(s, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                           "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"},"
                           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"error\","
                           "\"operation_name\":\"batched\"}}}]") == 0);
    cJSON *r = recv_any(s);
    CHECK(cJSON_IsArray(r));
    ASSERT_EQ_INT(cJSON_GetArraySize(r), 2);
    ASSERT_EQ_INT((int)jnum(r, "0.id"), 1);
    ASSERT_EQ_INT((int)jnum(r, "1.id"), 2);
    CHECK(jstr(r, "1.result.structuredContent.audit_id"));
    /* A batch of notifications alone gets no reply at all. */
    CHECK(srv_send_line(s, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]") == 0);
    CHECK(srv_silent_for(s, 200));
    FINISH_ANY(s);
}

TEST(initialize_inside_a_batch_is_rejected)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-03-26"));
    CHECK(srv_send_line(s, "[{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"initialize\",\"params\":"
                           "{\"protocolVersion\":\"2025-03-26\",\"capabilities\":{}}}]") == 0);
    cJSON *r = recv_any(s);
    CHECK(cJSON_IsArray(r));
    ASSERT_EQ_INT(jcode(cJSON_GetArrayItem(r, 0)), -32600);
    FINISH_ANY(s);
}

TEST(batch_in_other_versions_is_invalid_request)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    cJSON *r = srv_rpc(s, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    CHECK(r);
    ASSERT_EQ_INT(jcode(r), -32600);
    CHECK(cJSON_IsNull(jget(r, "id")));
    FINISH(s);
}

TEST(logging_set_level_accepts_levels_and_rejects_others)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    cJSON *ok = srv_request(s, "logging/setLevel", "{\"level\":\"info\"}");
    CHECK(ok && cJSON_IsObject(jget(ok, "result")));
    cJSON *bad = srv_request(s, "logging/setLevel", "{\"level\":\"loud\"}");
    CHECK(bad);
    ASSERT_EQ_INT(jcode(bad), -32602);
    FINISH(s);
}

TEST(warnings_reach_a_client_that_set_a_log_level)
{
    static const char *const args[] = {"--max-db-size", "300000", NULL};
    srv_opts o = {.args = args};
    srv *s = srv_start(&o);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    CHECK(srv_request(s, "logging/setLevel", "{\"level\":\"warning\"}"));
    /* Fill the capped database until a write fails: the failure to record
    ** that call is a warning the client should now see. */
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int seen = 0;
    for (int i = 0; i < 200 && !seen; i++) {
        char *line = srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                                "{\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"error\","
                                "\"operation_name\":\"fill\",\"args\":{\"pad\":\"%s\"}}}}", 100 + i, big);
        CHECK(srv_send_line(s, line) == 0);
        for (;;) {
            cJSON *r = srv_recv(s);
            CHECK(r);
            const char *method = jstr(r, "method");
            if (method && strcmp(method, "notifications/message") == 0) {
                ASSERT_EQ_STR(jstr(r, "params.level"), "warning");
                CHECK(jstr(r, "params.data"));
                seen = 1;
                continue;
            }
            break;
        }
    }
    CHECK(seen);
    FINISH(s);
}

TEST(verify_reports_progress_when_asked)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(fill(s, 4500)); /* 9000 entries: more than one progress step */
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":\"v\",\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"verify_audit_log\",\"arguments\":{},"
                           "\"_meta\":{\"progressToken\":\"tok-1\"}}}") == 0);
    int progress = 0;
    cJSON *r;
    while ((r = srv_recv(s)) && jstr(r, "method")) {
        ASSERT_EQ_STR(jstr(r, "method"), "notifications/progress");
        ASSERT_EQ_STR(jstr(r, "params.progressToken"), "tok-1");
        CHECK(jnum(r, "params.progress") > 0);
        progress++;
    }
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "v");
    CHECK(cJSON_IsTrue(jget(r, "result.structuredContent.ok")));
    CHECK(progress >= 1);
    FINISH(s);
}

TEST(long_trail_reports_progress_when_asked)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(fill(s, 1600)); /* 3,200 entries */
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":\"t\",\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"get_audit_trail\",\"arguments\":{\"start_date\":\"2000-01-01\","
                           "\"end_date\":\"2999-12-31\",\"limit\":3000},"
                           "\"_meta\":{\"progressToken\":7}}}") == 0);
    int progress = 0;
    double last = 0;
    cJSON *r;
    while ((r = srv_recv(s)) && jstr(r, "method")) {
        ASSERT_EQ_STR(jstr(r, "method"), "notifications/progress");
        ASSERT_EQ_INT((int)jnum(r, "params.progressToken"), 7);
        CHECK(jnum(r, "params.progress") > last); /* progress only grows */
        last = jnum(r, "params.progress");
        progress++;
    }
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "t");
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(r, "result.structuredContent.entries")), 3000);
    ASSERT_EQ_INT(progress, 3);
    FINISH(s);
}

TEST(cancelled_request_gets_no_response_and_is_recorded)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(fill(s, 4000));
    /* The cancellation is already waiting when verify starts. */
    static const char burst[] =
        "{\"jsonrpc\":\"2.0\",\"id\":\"long\",\"method\":\"tools/call\",\"params\":"
        "{\"name\":\"verify_audit_log\",\"arguments\":{}}}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
        "{\"requestId\":\"long\",\"reason\":\"test\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":\"after\",\"method\":\"ping\"}\n";
    CHECK(srv_send_raw(s, burst, sizeof burst - 1) == 0);
    cJSON *r = srv_recv(s);
    CHECK(r);
    ASSERT_EQ_STR(jstr(r, "id"), "after");
    cJSON *h = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"method\":\"tools/call\",\"params\":"
                          "{\"name\":\"get_operation_history\",\"arguments\":"
                          "{\"operation_name\":\"verify_audit_log\",\"limit\":1}}}");
    CHECK(h);
    ASSERT_CONTAINS(jstr(h, "result.structuredContent.entries.0.error"), "cancelled");
    FINISH(s);
}

TEST(resources_list_pages_by_cursor)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(fill(s, 75)); /* 150 entries: each call and its tool_call record */
    cJSON *p1 = srv_request(s, "resources/list", NULL);
    CHECK(p1);
    ASSERT_EQ_STR(jstr(p1, "result.resources.0.uri"), "audit://checkpoints/latest");
    ASSERT_EQ_STR(jstr(p1, "result.resources.1.uri"), "audit://stats");
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(p1, "result.resources")), 102);
    const char *cur = jstr(p1, "result.nextCursor");
    CHECK(cur);
    cJSON *p2 = srv_request(s, "resources/list", srv_fmt(s, "{\"cursor\":\"%s\"}", cur));
    CHECK(p2);
    ASSERT_EQ_INT(cJSON_GetArraySize(jget(p2, "result.resources")), 50);
    CHECK(!jget(p2, "result.nextCursor"));
    ASSERT_CONTAINS(jstr(p2, "result.resources.0.uri"), "audit://entries/");
    cJSON *bad = srv_request(s, "resources/list", "{\"cursor\":\"nonsense\"}");
    ASSERT_EQ_INT(jcode(bad), -32602);
    FINISH(s);
}

TEST(resources_read_entries_stats_and_checkpoints)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    CHECK(fill(s, 3));
    cJSON *none = srv_request(s, "resources/read", "{\"uri\":\"audit://checkpoints/latest\"}");
    ASSERT_EQ_INT(jcode(none), -32002);
    CHECK(srv_call_ok(s, "create_checkpoint", "{}"));
    cJSON *cp = srv_request(s, "resources/read", "{\"uri\":\"audit://checkpoints/latest\"}");
    CHECK(cp);
    cJSON *doc = srv_keep(s, cJSON_Parse(jstr(cp, "result.contents.0.text")));
    CHECK(jstr(doc, "signature") && jstr(doc, "public_key"));
    cJSON *st = srv_request(s, "resources/read", "{\"uri\":\"audit://stats\"}");
    cJSON *sdoc = srv_keep(s, cJSON_Parse(jstr(st, "result.contents.0.text")));
    CHECK(jnum(sdoc, "entries") >= 3);
    cJSON *list = srv_request(s, "resources/list", NULL);
    const char *uri = jstr(list, "result.resources.2.uri");
    CHECK(uri);
    cJSON *e = srv_request(s, "resources/read", srv_fmt(s, "{\"uri\":\"%s\"}", uri));
    cJSON *edoc = srv_keep(s, cJSON_Parse(jstr(e, "result.contents.0.text")));
    CHECK(jstr(edoc, "hash"));
    ASSERT_EQ_STR(jstr(e, "result.contents.0.mimeType"), "application/json");
    cJSON *missing = srv_request(s, "resources/read", "{\"uri\":\"audit://entries/nope\"}");
    ASSERT_EQ_INT(jcode(missing), -32002);
    cJSON *modern = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"resources/read\","
                               "\"params\":{\"uri\":\"audit://nothing\"," META "}}}");
    ASSERT_EQ_INT(jcode(modern), -32602);
    FINISH(s);
}

TEST(resource_template_names_entries)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    cJSON *t = srv_request(s, "resources/templates/list", NULL);
    CHECK(t);
    ASSERT_EQ_STR(jstr(t, "result.resourceTemplates.0.uriTemplate"), "audit://entries/{id}");
    FINISH(s);
}

/* ---- pages of entries: structuredContent and the text block ---- */

/* Whether a tools/call reply line's text block is its structuredContent's
** text escaped as one JSON string, byte for byte as cJSON prints that
** string (what the server did, by escaping the printed page, before pages
** were written in both forms at once).  *entries gets the page's count. */
static int text_is_page_escaped(const char *line, int *entries)
{
    static const char block[] = "\"content\":[{\"type\":\"text\",\"text\":\"";
    const char *t = strstr(line, block);
    if (!t) return 0;
    t += sizeof block - 2; /* the text block's opening quote */
    const char *e = t + 1;
    while (*e && *e != '"') e += *e == '\\' ? 2 : 1;
    if (!*e) return 0;
    size_t tlen = (size_t)(e + 1 - t);
    static const char sc_key[] = "}],\"structuredContent\":";
    const char *sc = strstr(e, sc_key), *end = NULL;
    if (!sc) return 0;
    sc += sizeof sc_key - 1;
    for (const char *q = strstr(sc, ",\"isError\":"); q; q = strstr(q + 1, ",\"isError\":")) end = q;
    if (!end) return 0;
    char *page = strndup(sc, (size_t)(end - sc));
    cJSON *str = cJSON_CreateString(page), *tree = cJSON_Parse(page);
    char *want = cJSON_PrintUnformatted(str);
    int ok = want && tree && strlen(want) == tlen && memcmp(want, t, tlen) == 0;
    if (!ok) fprintf(stderr, "text block:\n%.*s\nwanted:\n%s\n", (int)tlen, t, want ? want : "-");
    *entries = cJSON_GetArraySize(cJSON_GetObjectItem(tree, "entries"));
    cJSON_free(want);
    cJSON_Delete(str);
    cJSON_Delete(tree);
    free(page);
    return ok;
}

/* Strings that need every kind of escape, twice over in the text block:
** quotes, backslashes, each control character, DEL, two- to four-byte
** UTF-8 and U+2028/2029, at lengths around the escaper's 16-byte blocks. */
static const char *const awkward[] = {
    "plain",
    "q\\\"uo\\\"te and back\\\\slash",
    "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
    "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b"
    "\\u001c\\u001d\\u001e\\u001f\\u007f",
    "caf\\u00e9 \\u20ac \\ud834\\udd1e line\\u2028para\\u2029end",
    "fifteen chars!\\\"",
    "sixteen chars!!\\\"",
    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\""
    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"",
    "a long run of plain text that goes past two blocks before its \\\\ escape\\n",
};

TEST(page_text_block_is_the_page_escaped_byte_for_byte)
{
    srv *s = srv_start(NULL);
    CHECK(s);
    size_t n = sizeof awkward / sizeof *awkward;
    for (size_t i = 0; i < n; i++) {
        const char *a = awkward[i];
        CHECK(srv_call_ok(s, "log_operation", srv_fmt(s,
            "{\"event_type\":\"project_update\",\"operation_name\":\"%s\",\"user_id\":\"%s\","
            "\"project_id\":\"p\",\"error\":\"%s\",\"args\":{\"k\\\"%s\":\"%s\",\"n\":[1.50,-0,2e-3],"
            "\"deep\":{\"s\":\"%s\",\"t\":true,\"f\":false,\"z\":null}},\"result\":{\"r\":\"%s\"},"
            "\"before_state\":{\"%s\":\"%s\"},\"after_state\":{\"a\":[\"%s\"]}}",
            a, a, a, a, a, a, a, a, a, a)));
    }
    static const char *const reads[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":901,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"get_operation_history\",\"arguments\":{\"project_id\":\"p\",\"limit\":5}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":902,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"get_operation_history\",\"arguments\":{\"project_id\":\"p\",\"limit\":50}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":903,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"get_audit_trail\",\"arguments\":{\"start_date\":\"2000-01-01\",\"end_date\":\"2999-12-31\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":904,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"search_audit_log\",\"arguments\":{\"search_term\":\"plain\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":905,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"get_operation_history\",\"arguments\":{\"project_id\":\"p\"}," META "}}}",
    };
    static const int at_least[] = {5, 8, 16, 1, 8};
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        CHECK(srv_send_line(s, reads[i]) == 0);
        const char *line = srv_recv_line(s);
        CHECK(line);
        int count = -1;
        CHECK(text_is_page_escaped(line, &count));
        if (count < at_least[i]) TEST_FAIL_("read %zu: %d entries", i, count);
    }
    /* The awkward strings came back as they were sent. */
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"project_id\":\"p\",\"limit\":50}");
    CHECK(h);
    cJSON *want = srv_keep(s, cJSON_Parse(srv_fmt(s, "\"%s\"", awkward[3])));
    CHECK(cJSON_IsString(want));
    int found = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, jget(h, "entries")) {
        const char *name = jstr(e, "operation_name"), *deep = jstr(e, "args.deep.s");
        found += name && deep && strcmp(name, want->valuestring) == 0 &&
                 strcmp(deep, want->valuestring) == 0;
    }
    ASSERT_EQ_INT(found, 1);
    FINISH(s);
}

TEST_MAIN(
    TEST_ENTRY(discover_describes_versions_and_capabilities)
    TEST_ENTRY(modern_request_without_capabilities_is_invalid_params)
    TEST_ENTRY(unsupported_version_gets_32022_with_supported_and_requested)
    TEST_ENTRY(modern_tools_list_carries_result_type_and_cache_hints)
    TEST_ENTRY(modern_tool_call_records_client_from_meta)
    TEST_ENTRY(legacy_and_modern_share_one_stream)
    TEST_ENTRY(batch_in_2025_03_26_session_is_answered_as_an_array)
    TEST_ENTRY(initialize_inside_a_batch_is_rejected)
    TEST_ENTRY(batch_in_other_versions_is_invalid_request)
    TEST_ENTRY(logging_set_level_accepts_levels_and_rejects_others)
    TEST_ENTRY(warnings_reach_a_client_that_set_a_log_level)
    TEST_ENTRY(verify_reports_progress_when_asked)
    TEST_ENTRY(long_trail_reports_progress_when_asked)
    TEST_ENTRY(cancelled_request_gets_no_response_and_is_recorded)
    TEST_ENTRY(resources_list_pages_by_cursor)
    TEST_ENTRY(resources_read_entries_stats_and_checkpoints)
    TEST_ENTRY(resource_template_names_entries)
    TEST_ENTRY(page_text_block_is_the_page_escaped_byte_for_byte)
)
