/*
** test_wrap.c: `dss-audit-mcp wrap` around a fake stdio MCP server.
**
** The wrapped server is tests/e2e/fake_mcp.c ($DSS_FAKE_MCP), which logs
** every line it receives, so a case can compare the bytes that reached it
** and count what it saw against the trail.  The trail is read back with
** `dss-audit-mcp query --json` and checked with `verify`.
*/
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"
#include "trail.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s", #cond, h_error()); \
    } while (0)

/* Start wrap around fake_mcp with extra wrap options (NULL-ended, at most
** 6) and fake_mcp's extra arguments (at most 2). */
static srv *start_wrap(const char *const *wopts, const char *code,
                       const char *linger, const char *const *env)
{
    const char *fake = getenv("DSS_FAKE_MCP");
    if (!fake) return NULL;
    const char *args[24];
    int n = 0;
    args[n++] = "wrap";
    args[n++] = "--db";
    args[n++] = "@DIR@/audit.db";
    args[n++] = "--actor";
    args[n++] = E2E_ACTOR;
    for (int i = 0; wopts && wopts[i]; i++) args[n++] = wopts[i];
    args[n++] = "--";
    args[n++] = fake;
    args[n++] = "@DIR@/seen.log";
    if (code) args[n++] = code;
    if (linger) args[n++] = linger;
    args[n] = NULL;
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    return srv_start(&o);
}

static char *seen(srv *s)
{
    size_t n;
    char *t = srv_read_file(s, srv_fmt(s, "%s/seen.log", srv_dir(s)), &n);
    return t ? t : "";
}

static const char INIT[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"wrap-client\",\"version\":\"4.5\"}}}";

TEST(relays_bytes_unchanged_both_ways)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    const char *odd = "{ \"jsonrpc\":\"2.0\" ,\"id\" : 1.0, \"method\":\"tools/call\","
                      "\"params\":{\"name\":\"echo\",\"arguments\":{\"a\": [1, 2 ]}}}";
    CHECK(srv_send_line(s, odd) == 0);
    const char *back = srv_recv_line(s);
    ASSERT(back);
    /* The fake's own spacing arrives as it wrote it. */
    ASSERT_EQ_STR(back, "{ \"jsonrpc\" : \"2.0\", \"id\" : 1, \"result\" : "
                        "{\"content\": [ {\"type\":\"text\", \"text\": "
                        "\"{\\\"a\\\":[1,2]}\"} ]} }");
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *want = srv_fmt(s, "%s\n", odd);
    ASSERT_EQ_STR(seen(s), want);
    srv_free(s);
}

TEST(tools_call_recorded_with_outcome_and_identity)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_rpc(s, INIT));
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}") == 0);
    cJSON *r = srv_call(s, "echo", "{\"q\":\"x\"}");
    ASSERT(r);
    CHECK(srv_request(s, "tools/list", NULL)); /* relayed, not recorded */
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *req = find(t, "tool_call", "echo");
    ASSERT(req);
    const cJSON *out = outcome_of(t, req);
    ASSERT(out);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "event_type")), "mcp_outcome");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(out, "duration_ms")));
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(out, "server"), "name")), "fake");
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(req, "client"), "name")), "wrap-client");
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(req, "args"), "q")), "x");
    /* summary: content types and sizes, no text. */
    const cJSON *c0 = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(out, "result"), "content"), 0);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(c0, "bytes")));
    CHECK(!cJSON_GetObjectItem(c0, "text"));
    const cJSON *init = find(t, "mcp_request", "initialize");
    ASSERT(init);
    const cJSON *io = outcome_of(t, init);
    ASSERT(io);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(io, "result"), "protocolVersion")), "2025-06-18");
    CHECK(!find(t, "mcp_request", "tools/list"));
    /* One session for the whole process. */
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(req, "session_id")),
                  cJSON_GetStringValue(cJSON_GetObjectItem(init, "session_id")));
    CHECK(verify_ok(s));
    srv_free(s);
}

/* query's table on a terminal: an outcome shows its duration and the seq
** of the request it completes. */
TEST(query_table_links_outcome_to_request)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_call(s, "echo", "{}"));
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *db = srv_fmt(s, "%s/audit.db", srv_dir(s));
    struct winsize ws = {.ws_row = 40, .ws_col = 160};
    int master;
    fflush(NULL);
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    ASSERT(pid >= 0);
    if (pid == 0) {
        execl(getenv("DSS_BIN"), "dss-audit-mcp", "query", "--db", db, (char *)NULL);
        _exit(127);
    }
    char buf[8192];
    size_t n = 0;
    for (;;) {
        ssize_t got = read(master, buf + n, sizeof buf - 1 - n);
        if (got > 0) n += (size_t)got;
        else if (got < 0 && errno == EINTR) continue;
        else break;
    }
    buf[n] = '\0';
    close(master);
    waitpid(pid, NULL, 0);
    ASSERT_CONTAINS(buf, "mcp_outcome");
    ASSERT_CONTAINS(buf, " ms, completes #1");
    srv_free(s);
}

TEST(server_request_to_client_relayed_and_recorded)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"ask\",\"arguments\":{}}}") == 0);
    cJSON *q = srv_recv(s);
    ASSERT(q);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(q, "method")),
                  "sampling/createMessage");
    const char *answer = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{\"role\":"
                         "\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"ok\"}}}";
    CHECK(srv_send_line(s, answer) == 0);
    cJSON *r = srv_recv(s);
    ASSERT(r);
    /* The fake returns the answer line it received: the same bytes. */
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "content"), 0), "text"));
    ASSERT_EQ_STR(text, answer);
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *sr = find(t, "mcp_server_request", "sampling/createMessage");
    ASSERT(sr);
    const cJSON *so = outcome_of(t, sr);
    ASSERT(so);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(so, "result"), "role")), "assistant");
    srv_free(s);
}

/* fake_mcp parses ids and prints them again, as many servers do: 1.0
** comes back as 1, 1e2 as 100, "\u0061" as "a".  Each answer is still
** its request's outcome, which carries the id as the client wrote it. */
TEST(id_answered_in_another_spelling_links_its_outcome)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    static const char *const ids[] = {"1.0", "1e2", "\"\\u0061\""};
    static const char *const back[] = {"\"id\" : 1,", "\"id\" : 100,", "\"id\" : \"a\","};
    static const char *const recorded[] = {"1.0", "1e2", "a"};
    for (int i = 0; i < 3; i++) {
        CHECK(srv_send_line(s, srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":"
                                          "\"tools/call\",\"params\":{\"name\":\"echo\","
                                          "\"arguments\":{\"i\":%d}}}", ids[i], i)) == 0);
        const char *line = srv_recv_line(s);
        ASSERT(line);
        ASSERT_CONTAINS(line, back[i]);
    }
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    ASSERT_EQ_INT(count_type(t, "tool_call"), 3);
    ASSERT_EQ_INT(count_type(t, "mcp_outcome"), 3);
    for (int i = 0; i < 3; i++) {
        const cJSON *req = NULL, *e;
        cJSON_ArrayForEach(e, t) {
            const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(e, "operation_id"));
            const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(e, "event_type"));
            if (oid && et && !strcmp(et, "tool_call") && !strcmp(oid, recorded[i])) req = e;
        }
        if (!req) TEST_FAIL_("no tool_call with operation_id %s", recorded[i]);
        const cJSON *out = outcome_of(t, req);
        if (!out) TEST_FAIL_("the call with id %s has no outcome", ids[i]);
        ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "operation_id")),
                      recorded[i]);
        CHECK(!cJSON_GetStringValue(cJSON_GetObjectItem(out, "error")));
    }
    CHECK(verify_ok(s));
    srv_free(s);
}

/* The same the other way: the client answers the server's request "srv-1"
** as "srv\u002d1". */
TEST(server_request_answered_in_another_spelling_links_its_outcome)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"ask\",\"arguments\":{}}}") == 0);
    CHECK(srv_recv(s));
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":\"srv\\u002d1\",\"result\":{\"role\":"
                           "\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"ok\"}}}") == 0);
    CHECK(srv_recv(s));
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *sr = find(t, "mcp_server_request", "sampling/createMessage");
    ASSERT(sr);
    const cJSON *so = outcome_of(t, sr);
    ASSERT(so);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
                      cJSON_GetObjectItem(so, "result"), "role")), "assistant");
    srv_free(s);
}

TEST(notifications_relayed_both_ways)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"progress\",\"_meta\":{\"progressToken\":\"p1\"}}}") == 0);
    cJSON *n = srv_recv(s);
    ASSERT(n);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(n, "method")),
                  "notifications/progress");
    CHECK(srv_recv(s));
    const char *cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                         "\"params\":{\"requestId\":99}}";
    CHECK(srv_send_line(s, cancel) == 0);
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_CONTAINS(seen(s), cancel);
    srv_free(s);
}

/* A 2025-03-26 batch is relayed as its one line; its tools/call is
** recorded before it goes. */
TEST(batch_relayed_whole_and_its_calls_recorded)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                        "\"params\":{\"name\":\"echo\",\"arguments\":{}}},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]";
    CHECK(srv_send_line(s, batch) == 0);
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_STR(seen(s), srv_fmt(s, "%s\n", batch));
    TRAIL(t, s);
    ASSERT(find(t, "tool_call", "echo"));
    srv_free(s);
}

TEST(cancelled_call_recorded_as_cancelled)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"slow\",\"arguments\":{}}}") == 0);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                           "\"params\":{\"requestId\":5}}") == 0);
    CHECK(srv_recv(s)); /* the fake answers anyway; it is relayed */
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "slow"));
    ASSERT(o);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")), "cancelled");
    srv_free(s);
}

/* A cancellation that names the request 5.0 as 5 cancels it. */
TEST(cancellation_naming_the_id_in_another_spelling_recorded)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":5.0,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"slow\",\"arguments\":{}}}") == 0);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                           "\"params\":{\"requestId\":5}}") == 0);
    CHECK(srv_recv(s));
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "slow"));
    ASSERT(o);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")), "cancelled");
    ASSERT_EQ_INT(count_type(t, "mcp_outcome"), 1);
    srv_free(s);
}

TEST(invalid_client_input_answered_recorded_not_forwarded)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    cJSON *r = srv_rpc(s, "not json at all");
    ASSERT(r);
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "code")->valueint, -32700);
    r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":3}");
    ASSERT(r);
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "code")->valueint, -32600);
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_STR(seen(s), "");
    TRAIL(t, s);
    ASSERT_EQ_INT(count_type(t, "mcp_invalid_input"), 2);
    srv_free(s);
}

/* A blank line (spaces, tabs, a CR) is no message: serve ignores it, and
** so must wrap, not answer it with a parse error nobody can match to a
** request nor record it as invalid input. */
TEST(blank_client_line_ignored_as_serve_does)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_raw(s, " \t\r\n\n", 5) == 0);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}";
    cJSON *r = srv_rpc(s, ping);
    ASSERT(r);
    ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(r, "id")));
    ASSERT(!cJSON_GetObjectItem(r, "error"));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_STR(seen(s), srv_fmt(s, "%s\n", ping));
    TRAIL(t, s);
    ASSERT_EQ_INT(count_type(t, "mcp_invalid_input"), 0);
    srv_free(s);
}

TEST(non_json_server_line_goes_to_stderr)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_call(s, "chatter", "{}"));
    ASSERT_EQ_INT(srv_wait(s), 0);
    CHECK(srv_stdout_is_json_lines(s));
    ASSERT_CONTAINS(srv_stderr(s), "this line is not JSON-RPC");
    CHECK(!strstr(srv_stdout(s), "this line is not JSON-RPC"));
    srv_free(s);
}

/* An error response that names no request ("id": null, as JSON-RPC 2.0
** answers an id it could not read; or no id, as MCP's schema allows) is the
** server's word to the client: relayed, not taken for chatter. */
TEST(server_errors_naming_no_request_reach_the_client)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"unlinked\",\"arguments\":{}}}"), 0);
    const char *l = srv_recv_json_line(s);
    ASSERT_EQ_STR(l, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
                     "\"message\":\"Parse error\"}}");
    l = srv_recv_json_line(s);
    ASSERT_EQ_STR(l, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"no id\"}}");
    l = srv_recv_json_line(s);
    ASSERT(l && strstr(l, "\"id\" : 7"));
    ASSERT_EQ_INT(srv_wait(s), 0);
    CHECK(!strstr(srv_stderr(s), "Parse error"));
    srv_free(s);
}

static const char *const READ_ONLY_ENV[] = {"DSS_AUDIT_READ_ONLY=1", NULL};

TEST(unwritable_trail_fails_closed)
{
    srv *s = start_wrap(NULL, NULL, NULL, READ_ONLY_ENV);
    ASSERT(s);
    cJSON *r = srv_rpc(s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"echo\",\"arguments\":{}}}");
    ASSERT(r);
    const cJSON *e = cJSON_GetObjectItem(r, "error");
    ASSERT(e);
    ASSERT_EQ_INT(cJSON_GetObjectItem(e, "code")->valueint, -32001);
    ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")),
                    "audit trail unavailable");
    /* Unrecorded traffic still flows. */
    CHECK(srv_request(s, "tools/list", NULL));
    ASSERT_EQ_INT(srv_wait(s), 0);
    CHECK(!strstr(seen(s), "tools/call"));
    ASSERT_CONTAINS(seen(s), "tools/list");
    srv_free(s);
}

/* A full trail (the database at its --max-db-size cap): the call that
** cannot be recorded is refused and never reaches the server. */
TEST(full_trail_fails_closed)
{
    const char *const w[] = {"--max-db-size", "262144", NULL};
    srv *s = start_wrap(w, NULL, NULL, NULL);
    ASSERT(s);
    char big[6001];
    memset(big, 'x', 6000);
    big[6000] = '\0';
    int refused = 0;
    for (int i = 1; i <= 100 && !refused; i++) {
        cJSON *r = srv_rpc(s, srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                                         "\"tools/call\",\"params\":{\"name\":\"echo\","
                                         "\"arguments\":{\"pad\":\"%s%d\"}}}", i, big, i));
        ASSERT(r);
        const cJSON *e = cJSON_GetObjectItem(r, "error");
        if (!e) continue;
        ASSERT_EQ_INT(cJSON_GetObjectItem(e, "code")->valueint, -32001);
        refused = i;
    }
    ASSERT(refused);
    ASSERT_EQ_INT(srv_wait(s), 0);
    CHECK(!strstr(seen(s), srv_fmt(s, "\"id\":%d,", refused)));
    CHECK(verify_ok(s));
    srv_free(s);
}

/* A batch holding a call that cannot be recorded is refused whole, and
** none of it reaches the server: the answer is the array JSON-RPC 2.0
** requires, an error for each request of the batch (by its id), none for
** its notification. */
TEST(unwritable_trail_refuses_a_batch_whole)
{
    srv *s = start_wrap(NULL, "4", NULL, READ_ONLY_ENV);
    ASSERT(s);
    CHECK(srv_send_line(s, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"echo\"}},{\"jsonrpc\":\"2.0\","
                           "\"method\":\"notifications/initialized\"},{\"jsonrpc\":\"2.0\","
                           "\"id\":\"b\",\"method\":\"tools/list\"}]") == 0);
    const char *line = srv_recv_json_line(s);
    ASSERT(line);
    cJSON *r = srv_keep(s, cJSON_Parse(line));
    ASSERT(cJSON_IsArray(r));
    ASSERT_EQ_INT(cJSON_GetArraySize(r), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *e = cJSON_GetArrayItem(r, i);
        ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "jsonrpc")), "2.0");
        ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "error"), "code")->valueint,
                      -32001);
        ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "error"),
                                                                 "message")),
                        "audit trail unavailable");
    }
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "id")->valueint, 1);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 1), "id")), "b");
    ASSERT_EQ_INT(srv_wait(s), 4);
    ASSERT_EQ_STR(seen(s), "");
    /* That one line and nothing else. */
    ASSERT_EQ_STR(srv_stdout(s), srv_fmt(s, "%s\n", line));
    srv_free(s);
}

/* A batch's elements are relayed unchecked, so a request in it may carry
** an id JSON-RPC does not allow (an object, an array); the answers wrap
** makes itself then carry a null id, as JSON-RPC answers a request whose
** id it cannot tell, not that id (found by tests/fuzz/fuzz_relay.c). */
TEST(batch_refusal_of_an_object_id_answers_with_a_null_id)
{
    srv *s = start_wrap(NULL, NULL, NULL, READ_ONLY_ENV);
    ASSERT(s);
    CHECK(srv_send_line(s, "[{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"echo\"}},{\"jsonrpc\":\"2.0\",\"id\":[2],"
                           "\"method\":\"tools/list\"},{\"jsonrpc\":\"2.0\",\"id\":3,"
                           "\"method\":\"ping\"}]") == 0);
    const char *line = srv_recv_json_line(s);
    ASSERT(line);
    cJSON *r = srv_keep(s, cJSON_Parse(line));
    ASSERT(cJSON_IsArray(r));
    ASSERT_EQ_INT(cJSON_GetArraySize(r), 3);
    ASSERT(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "id")));
    ASSERT(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 1), "id")));
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 2), "id")->valueint, 3);
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_STR(seen(s), "");
    srv_free(s);
}

TEST(fail_open_forwards_and_warns)
{
    const char *const w[] = {"--fail-open", NULL};
    srv *s = start_wrap(w, NULL, NULL, READ_ONLY_ENV);
    ASSERT(s);
    CHECK(srv_call(s, "echo", "{}"));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_CONTAINS(seen(s), "tools/call");
    ASSERT_CONTAINS(srv_stderr(s), "fail-open");
    srv_free(s);
}

TEST(server_killed_mid_call_answers_in_flight)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"die\",\"arguments\":{}}}") == 0);
    cJSON *r = srv_recv(s);
    ASSERT(r);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")), "a");
    const cJSON *e = cJSON_GetObjectItem(r, "error");
    ASSERT(e);
    ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")), "status 3");
    ASSERT_EQ_INT(srv_wait(s), 3);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "die"));
    ASSERT(o);
    ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")), "status 3");
    CHECK(verify_ok(s));
    srv_free(s);
}

TEST(exit_status_is_the_servers)
{
    srv *s = start_wrap(NULL, "7", NULL, NULL);
    ASSERT(s);
    CHECK(srv_alive(s));
    ASSERT_EQ_INT(srv_wait(s), 7);
    srv_free(s);
}

/* The outcome of a call the server never answered, once the client closed
** its input (the call "hold" is never answered): the error of its record;
** the wrapper's exit status in *status. */
static const char *held_call_error(srv *s, int *status)
{
    if (srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"method\":\"tools/call\","
                         "\"params\":{\"name\":\"hold\",\"arguments\":{}}}") != 0)
        return NULL;
    /* The call has reached the server before its input closes. */
    for (int i = 0; i < 200 && !strstr(seen(s), "hold"); i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    srv_close_stdin(s);
    *status = srv_wait(s);
    char why[600];
    const cJSON *t = trail_of(s, why, sizeof why);
    if (!t) fprintf(stderr, "cannot read the trail: %s\n", why);
    const cJSON *o = t ? outcome_of(t, find(t, "tool_call", "hold")) : NULL;
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, "error"));
}

/* A server that exits by itself once its input closes, with a call still
** unanswered: the record says so, and not that the wrapper stopped it (it
** once did, which told a reviewer the wrapper had killed the server). */
TEST(unanswered_call_of_a_server_that_exits_when_its_input_closes)
{
    srv *s = start_wrap(NULL, "4", NULL, NULL);
    ASSERT(s);
    CHECK(srv_alive(s));
    int status;
    const char *e = held_call_error(s, &status);
    ASSERT(e);
    ASSERT_EQ_STR(e, "no answer: the MCP server exited with status 4 once its input closed "
                     "(the client closed its input)");
    ASSERT_EQ_INT(status, 4);
    srv_free(s);
}

/* A server that outlives its closed input is terminated after
** --kill-after, the wrapper's status its (128 + SIGTERM), and the record of
** its unanswered call names the signal and the grace it had. */
TEST(lingering_server_terminated_after_kill_after)
{
    const char *const w[] = {"--kill-after", "1", NULL};
    srv *s = start_wrap(w, "0", "linger", NULL);
    ASSERT(s);
    CHECK(srv_alive(s));
    int status;
    const char *e = held_call_error(s, &status);
    ASSERT(e);
    ASSERT_EQ_STR(e, "no answer: the wrapper stopped the server (SIGTERM), which had not ended "
                     "1 s after its input closed (the client closed its input)");
    ASSERT_EQ_INT(status, 128 + SIGTERM);
    srv_free(s);
}

/* A server that ignores SIGTERM too is killed, and the record says so. */
TEST(server_ignoring_sigterm_is_killed_and_the_record_says_so)
{
    const char *const w[] = {"--kill-after", "1", NULL};
    srv *s = start_wrap(w, "0", "stubborn", NULL);
    ASSERT(s);
    CHECK(srv_alive(s));
    int status;
    const char *e = held_call_error(s, &status);
    ASSERT(e);
    ASSERT_EQ_STR(e, "no answer: the wrapper killed the server (SIGKILL), which had not ended "
                     "1 s after its input closed (the client closed its input) nor once sent "
                     "SIGTERM");
    ASSERT_EQ_INT(status, 128 + SIGKILL);
    srv_free(s);
}

/* SIGTERM to the wrapper ends the server as a closed stdin does: a call
** in flight is still answered and recorded, then the status is the
** server's. */
TEST(sigterm_to_wrapper_ends_the_server_the_same_way)
{
    srv *s = start_wrap(NULL, "5", NULL, NULL);
    ASSERT(s);
    CHECK(srv_alive(s));
    CHECK(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"slow\",\"arguments\":{}}}") == 0);
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    kill(srv_pid(s), SIGTERM);
    cJSON *r = srv_recv(s);
    ASSERT(r);
    CHECK(cJSON_GetObjectItem(r, "result"));
    ASSERT_EQ_INT(srv_wait(s), 5);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "slow"));
    ASSERT(o);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
    srv_free(s);
}

TEST(unstartable_server_is_a_clear_error)
{
    const char *args[] = {"wrap", "--db", "@DIR@/audit.db", "--",
                          "@DIR@/no-such-server", NULL};
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1};
    srv *s = srv_start(&o);
    ASSERT(s);
    ASSERT_EQ_INT(srv_wait(s), 127);
    ASSERT_CONTAINS(srv_stderr(s), "cannot start");
    srv_free(s);
}

/* Secrets by value in arguments, request ids and (with --record-results
** full) results never reach the database or its WAL. */
TEST(secrets_scrubbed_in_raw_db_and_wal)
{
    char tok[64] = "ghp_";
    for (int i = 0; i < 36; i++) tok[4 + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7) % 36];
    tok[40] = '\0';
    const char *const w[] = {"--record-results", "full", NULL};
    srv *s = start_wrap(w, NULL, NULL, NULL);
    ASSERT(s);
    CHECK(srv_call(s, "echo", srv_fmt(s, "{\"note\":\"use %s\"}", tok)));
    /* A request's id is stored too (the record's operation_id). */
    CHECK(srv_send_line(s, srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":\"req-%s\",\"method\":"
                                      "\"tools/call\",\"params\":{\"name\":\"echo\","
                                      "\"arguments\":{}}}", tok)) == 0);
    CHECK(srv_recv(s));
    srv_kill(s); /* the WAL is left as it was, not checkpointed */
    size_t n1 = 0, n2 = 0;
    char *db = srv_read_file(s, srv_fmt(s, "%s/audit.db", srv_dir(s)), &n1);
    char *wal = srv_read_file(s, srv_fmt(s, "%s/audit.db-wal", srv_dir(s)), &n2);
    ASSERT(db || wal);
    CHECK(!(db && h_memmem(db, n1, tok)));
    CHECK(!(wal && h_memmem(wal, n2, tok)));
    TRAIL(t, s);
    ASSERT(find(t, "tool_call", "echo"));
    CHECK(outcome_of(t, find(t, "tool_call", "echo")));
    srv_free(s);
}

/* kill -9 of the wrapper with many calls in flight: every tools/call the
** server saw has its record, and the chain verifies. */
TEST(kill9_loses_no_record_of_a_forwarded_request)
{
    srv *s = start_wrap(NULL, NULL, NULL, NULL);
    ASSERT(s);
    enum { N = 300 };
    for (int i = 0; i < N; i++)
        CHECK(srv_send_line(s, srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
                                          "\"tools/call\",\"params\":{\"name\":\"echo\","
                                          "\"arguments\":{\"i\":%d}}}", i + 1, i)) == 0);
    for (int i = 0; i < 40; i++) CHECK(srv_recv(s));
    kill(srv_pid(s), SIGKILL);
    srv_kill(s);
    nanosleep(&(struct timespec){0, 200000000}, NULL); /* the fake sees EOF */
    char *log = seen(s);
    int saw = 0;
    for (char *p = log; (p = strstr(p, "tools/call")); p++) saw++;
    CHECK(saw >= 40);
    TRAIL(t, s);
    int recorded = count_type(t, "tool_call");
    if (recorded < saw) TEST_FAIL_("the server saw %d calls, the trail has %d", saw, recorded);
    /* and each seen id is among them */
    for (int i = 0; i < N; i++) {
        char *needle = srv_fmt(s, "\"id\":%d,", i + 1);
        if (!strstr(log, needle)) continue;
        int found = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, t) {
            const char *oid = cJSON_GetStringValue(cJSON_GetObjectItem(e, "operation_id"));
            const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(e, "event_type"));
            if (oid && et && strcmp(et, "tool_call") == 0 && atoi(oid) == i + 1) found = 1;
        }
        if (!found) TEST_FAIL_("call %d reached the server unrecorded", i + 1);
    }
    CHECK(verify_ok(s));
    srv_free(s);
}

/* ---- wrap-config ------------------------------------------------------ */

/* A small file's text, in a buffer the next call reuses. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int run_cfg(const char *args, const char *outfile)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' wrap-config %s >'%s' 2>&1", getenv("DSS_BIN"), args,
             outfile);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char CFG[] =
    "{\"mcpServers\": {\"gh\": {\"command\": \"npx\", \"args\": [\"-y\", \"srv-gh\"],"
    " \"env\": {\"TOKEN\": \"t\"}}, \"far\": {\"type\": \"http\", \"url\": \"https://h/mcp\"},"
    " \"bare\": {\"command\": \"/opt/srv\"}}, \"keep\": 1}";

TEST(wrap_config_wraps_stdio_entries_and_undo_restores)
{
    char dir[] = "/tmp/dss-wrapcfg-XXXXXX";
    ASSERT(mkdtemp(dir));
    char file[256], log[256];
    snprintf(file, sizeof file, "%s/mcp.json", dir);
    snprintf(log, sizeof log, "%s/out.txt", dir);
    FILE *f = fopen(file, "w");
    ASSERT(f);
    fputs(CFG, f);
    fclose(f);
    char args[512];
    snprintf(args, sizeof args, "--client cursor --file '%s'", file);
    ASSERT_EQ_INT(run_cfg(args, log), 0);
    char *out = slurp(log);
    ASSERT_CONTAINS(out, "wrapped gh");
    ASSERT_CONTAINS(out, "wrapped far");
    cJSON *j = cJSON_Parse(slurp(file));
    ASSERT(j);
    cJSON *gh = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "mcpServers"), "gh");
    char *ga = cJSON_PrintUnformatted(cJSON_GetObjectItem(gh, "args"));
    ASSERT_EQ_STR(ga, "[\"wrap\",\"--name\",\"gh\",\"--\",\"npx\",\"-y\",\"srv-gh\"]");
    /* The remote entry runs wrap --url now. */
    cJSON *far = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "mcpServers"), "far");
    char *fa = cJSON_PrintUnformatted(cJSON_GetObjectItem(far, "args"));
    ASSERT_EQ_STR(fa, "[\"wrap\",\"--name\",\"far\",\"--url\",\"https://h/mcp\","
                      "\"--transport\",\"http\"]");
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(far, "type")), "stdio");
    free(fa);
    ASSERT_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(gh, "command")), "dss-audit-mcp");
    ASSERT(cJSON_GetObjectItem(gh, "env"));
    /* the backup holds the original bytes */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat '%s'/mcp.json.*.bak > '%s/bak.txt'", dir, dir);
    ASSERT_EQ_INT(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/bak.txt", dir);
    ASSERT_EQ_STR(slurp(cmd), CFG);
    /* a second run changes nothing */
    ASSERT_EQ_INT(run_cfg(args, log), 0);
    ASSERT_CONTAINS(slurp(log), "already wrapped");
    snprintf(args, sizeof args, "--client cursor --file '%s' --undo", file);
    ASSERT_EQ_INT(run_cfg(args, log), 0);
    cJSON *back = cJSON_Parse(slurp(file)), *orig = cJSON_Parse(CFG);
    ASSERT(cJSON_Compare(back, orig, 1));
    cJSON_Delete(back);
    cJSON_Delete(orig);
    cJSON_Delete(j);
    free(ga);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(cmd), 0);
}

TEST(wrap_config_leaves_malformed_file_untouched)
{
    char dir[] = "/tmp/dss-wrapcfg-XXXXXX";
    ASSERT(mkdtemp(dir));
    char file[256], log[256], args[512], cmd[600];
    snprintf(file, sizeof file, "%s/mcp.json", dir);
    snprintf(log, sizeof log, "%s/out.txt", dir);
    const char *bad = "{\n  \"servers\": {\n    \"a\": {\"command\": \"x\",}\n}";
    FILE *f = fopen(file, "w");
    ASSERT(f);
    fputs(bad, f);
    fclose(f);
    snprintf(args, sizeof args, "--client vscode --file '%s'", file);
    ASSERT_EQ_INT(run_cfg(args, log), 1);
    ASSERT_CONTAINS(slurp(log), "malformed at line 3");
    ASSERT_EQ_STR(slurp(file), bad);
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c bak > '%s/n.txt'", dir, dir);
    (void)system(cmd);
    snprintf(cmd, sizeof cmd, "%s/n.txt", dir);
    ASSERT_EQ_STR(slurp(cmd), "0\n");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ASSERT_EQ_INT(system(cmd), 0);
}

TEST_MAIN(TEST_ENTRY(relays_bytes_unchanged_both_ways)
          TEST_ENTRY(tools_call_recorded_with_outcome_and_identity)
          TEST_ENTRY(query_table_links_outcome_to_request)
          TEST_ENTRY(server_request_to_client_relayed_and_recorded)
          TEST_ENTRY(id_answered_in_another_spelling_links_its_outcome)
          TEST_ENTRY(server_request_answered_in_another_spelling_links_its_outcome)
          TEST_ENTRY(notifications_relayed_both_ways)
          TEST_ENTRY(batch_relayed_whole_and_its_calls_recorded)
          TEST_ENTRY(cancelled_call_recorded_as_cancelled)
          TEST_ENTRY(cancellation_naming_the_id_in_another_spelling_recorded)
          TEST_ENTRY(invalid_client_input_answered_recorded_not_forwarded)
          TEST_ENTRY(blank_client_line_ignored_as_serve_does)
          TEST_ENTRY(non_json_server_line_goes_to_stderr)
    TEST_ENTRY(server_errors_naming_no_request_reach_the_client)
          TEST_ENTRY(unwritable_trail_fails_closed)
          TEST_ENTRY(full_trail_fails_closed)
          TEST_ENTRY(unwritable_trail_refuses_a_batch_whole)
          TEST_ENTRY(batch_refusal_of_an_object_id_answers_with_a_null_id)
          TEST_ENTRY(fail_open_forwards_and_warns)
          TEST_ENTRY(server_killed_mid_call_answers_in_flight)
          TEST_ENTRY(exit_status_is_the_servers)
          TEST_ENTRY(unanswered_call_of_a_server_that_exits_when_its_input_closes)
          TEST_ENTRY(lingering_server_terminated_after_kill_after)
          TEST_ENTRY(server_ignoring_sigterm_is_killed_and_the_record_says_so)
          TEST_ENTRY(sigterm_to_wrapper_ends_the_server_the_same_way)
          TEST_ENTRY(unstartable_server_is_a_clear_error)
          TEST_ENTRY(secrets_scrubbed_in_raw_db_and_wal)
          TEST_ENTRY(kill9_loses_no_record_of_a_forwarded_request)
          TEST_ENTRY(wrap_config_wraps_stdio_entries_and_undo_restores)
          TEST_ENTRY(wrap_config_leaves_malformed_file_untouched))
