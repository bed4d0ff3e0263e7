/*
** test_wrap_remote.c: `dss-audit-mcp wrap --url` end to end, the real
** binary ($DSS_BIN) relaying between the harness (the client, on stdio)
** and real remote servers (peer.h), with the trail read back (trail.h):
** what is recorded and how (the server's URL, client identities, multi
** round-trip calls linked), write-ahead and fail-closed over HTTP, the
** lifecycle (EOF, SIGTERM, --kill-after, the session DELETEd, a remote
** server killed and restarted, an HTTP+SSE stream that ends), OAuth from
** the first 401, secrets (header values, URL credentials, tokens) absent
** from the raw database and WAL, stderr, stdout and `ps`, kill -9 under
** load, and the 2026-07-28 era through stdio `wrap` too (the stateless
** test server's stdio mode).
**
** The transport's own behaviour (resumption, the outbox limit, sessions,
** fallbacks, header mirroring, OAuth corner cases) is test_remote.c's,
** through the recording-free driver.
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"
#include "test.h"
#include "trail.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s", #cond, h_error()); \
    } while (0)

static const char *const NO_AUTH[] = {"--auth", "none", NULL};

/* The URL of p's endpoint path ("localhost" for the OAuth peers, whose
** resource is named so), in a buffer the next call reuses. */
static const char *url_of(peer *p, const char *path)
{
    static char url[256];
    snprintf(url, sizeof url, "http://%s:%d%s", strstr(p->kind, "oauth") ? "localhost" : "127.0.0.1",
             p->port, path);
    return url;
}

/* `wrap --url URL` (url NULL: none on the command line) with a trail in
** its temp dir, tokens under p->dir/xdg (shared by a peer's wrappers), no
** desktop session, extra arguments and environment. */
static srv *wrap_url(peer *p, const char *url, const char *const *extra,
                     const char *const *env)
{
    static char xdg[128];
    snprintf(xdg, sizeof xdg, "XDG_CONFIG_HOME=%s/xdg", p->dir);
    const char *args[32] = {"wrap", "--db", "@DIR@/audit.db", "--actor", E2E_ACTOR,
                            "--kill-after", "2"};
    int n = 7;
    if (url) {
        args[n++] = "--url";
        args[n++] = url;
    }
    for (int i = 0; extra && extra[i] && n < 30; i++) args[n++] = extra[i];
    args[n] = NULL;
    const char *e[16] = {xdg, "DISPLAY", "WAYLAND_DISPLAY"};
    int k = 3;
    for (int i = 0; env && env[i] && k < 15; i++) e[k++] = env[i];
    e[k] = NULL;
    srv_opts o = {.args = args, .env = e, .no_db = 1, .no_actor = 1};
    return srv_start(&o);
}

/* stdio `wrap` around the stateless 2026-07-28 test server's stdio mode. */
static srv *wrap_modern_stdio(void)
{
    static char script[1024];
    snprintf(script, sizeof script, "%s/tests/remote/test_server.mjs", getenv("DSS_SOURCE_DIR"));
    const char *args[] = {"wrap", "--db", "@DIR@/audit.db", "--actor", E2E_ACTOR, "--",
                          getenv("DSS_NODE"), script, "modern-stdio", NULL};
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1};
    return srv_start(&o);
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const char *member_of(const cJSON *o, const char *k, const char *m)
{
    return str_of(cJSON_GetObjectItemCaseSensitive(o, k), m);
}

/* Whether /proc/PID/<what> (cmdline or environ) of s's process holds
** needle; -1 when it cannot be read. */
static int proc_has(srv *s, const char *what, const char *needle)
{
    size_t n;
    char *b = srv_read_file(s, srv_fmt(s, "/proc/%d/%s", srv_pid(s), what), &n);
    if (!b) return -1;
    return h_memmem(b, n, needle);
}

/* Whether the raw database or its WAL holds needle (the process must have
** ended, or been killed to keep its WAL). */
static int raw_has(srv *s, const char *needle)
{
    size_t n1 = 0, n2 = 0;
    char *db = srv_read_file(s, srv_fmt(s, "%s/audit.db", srv_dir(s)), &n1);
    char *wal = srv_read_file(s, srv_fmt(s, "%s/audit.db-wal", srv_dir(s)), &n2);
    return (db && h_memmem(db, n1, needle)) || (wal && h_memmem(wal, n2, needle));
}

/* Whether any of the places a secret must never reach holds needle: the
** trail's raw bytes, what the client read, the wrapper's stderr. */
static int leaked(srv *s, const char *needle)
{
    return raw_has(s, needle) || strstr(srv_stdout(s), needle) || strstr(srv_stderr(s), needle);
}

static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f) return 0;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static int flows(peer *p)
{
    char path[128];
    snprintf(path, sizeof path, "%s/opener.argv", p->dir);
    return lines_in(path);
}

static const char *config_dir(peer *p)
{
    static char d[128];
    snprintf(d, sizeof d, "%s/xdg/dss-audit", p->dir);
    return d;
}

/* ---- what is recorded ------------------------------------------------------ */

TEST(calls_are_recorded_with_their_outcome_and_the_servers_url)
{
    peer *p = peer_start("everything-http");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s);
    ASSERT(handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"), 0);
    ASSERT(until_id(s, 2, NULL));
    ASSERT_CONTAINS(h_last_line(), "\"name\":\"echo\"");
    cJSON *r = call(s, 3, "echo", "{\"message\":\"h\\u00e9llo over http\"}", NULL);
    ASSERT(r);
    ASSERT_CONTAINS(result_text(r), "héllo over http");
    ASSERT_EQ_INT(srv_wait(s), 0);
    CHECK(srv_stdout_is_json_lines(s));
    TRAIL(t, s);
    const cJSON *req = find(t, "tool_call", "echo");
    ASSERT(req);
    ASSERT_EQ_STR(member_of(req, "args", "message"), "héllo over http");
    const cJSON *out = outcome_of(t, req);
    ASSERT(out);
    ASSERT_EQ_STR(str_of(out, "event_type"), "mcp_outcome");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(out, "error")));
    /* The server as it names itself, and where it was reached. */
    ASSERT_EQ_STR(member_of(out, "server", "name"), "mcp-servers/everything");
    ASSERT_EQ_STR(member_of(out, "server", "url"), url_of(p, "/mcp"));
    ASSERT_EQ_STR(member_of(req, "server", "url"), url_of(p, "/mcp"));
    ASSERT_EQ_STR(member_of(req, "client", "name"), "t");
    const cJSON *init = find(t, "mcp_request", "initialize");
    ASSERT(init);
    const cJSON *io = outcome_of(t, init);
    ASSERT(io);
    ASSERT_EQ_STR(member_of(io, "result", "protocolVersion"), "2025-11-25");
    CHECK(!find(t, "mcp_request", "tools/list"));
    CHECK(verify_ok(s));
    srv_free(s);
}

/* A URL holding credentials and a query (from DSS_AUDIT_URL, where
** wrap-config puts such a URL) works as curl treats it, and the trail,
** stderr and the environment `ps e` shows hold neither. */
TEST(url_credentials_and_query_never_reach_the_trail)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    char url[256], env[300];
    snprintf(url, sizeof url, "http://someone:pa55w0rd-s3cret@127.0.0.1:%d/mcp?key=qu3ry-s3cret",
             p->port);
    snprintf(env, sizeof env, "DSS_AUDIT_URL=%s", url);
    const char *const envs[] = {env, NULL};
    srv *s = wrap_url(p, NULL, NO_AUTH, envs);
    ASSERT(s);
    ASSERT(handshake(s, INIT("{}")));
    ASSERT_EQ_INT(proc_has(s, "environ", "pa55w0rd-s3cret"), 0);
    ASSERT_EQ_INT(proc_has(s, "environ", "qu3ry-s3cret"), 0);
    cJSON *r = call(s, 2, "echo", "{\"text\":\"through a secret URL\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "through a secret URL");
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"path\":\"/mcp?key=qu3ry-s3cret\"");
    free(log);
    TRAIL(t, s);
    const cJSON *init = find(t, "mcp_request", "initialize");
    ASSERT(init);
    char shown[128];
    snprintf(shown, sizeof shown, "http://127.0.0.1:%d/mcp", p->port);
    /* Before initialize's answer the URL is the server's name. */
    ASSERT_EQ_STR(member_of(init, "server", "name"), shown);
    ASSERT_EQ_STR(member_of(init, "server", "url"), shown);
    ASSERT_EQ_STR(member_of(find(t, "tool_call", "echo"), "server", "name"), "remote-test-legacy");
    CHECK(!leaked(s, "pa55w0rd-s3cret"));
    CHECK(!leaked(s, "qu3ry-s3cret"));
    srv_free(s);
}

TEST(progress_notifications_stream_through_the_wrapper)
{
    peer *p = peer_start("everything-http");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"trigger-long-running-operation\",\"arguments\":"
                               "{\"duration\":3,\"steps\":3},\"_meta\":{\"progressToken\":\"pt\"}}}"),
                  0);
    /* The first progress event arrives while the operation still runs: a
    ** ping sent now is answered before the tool's result. */
    ASSERT(srv_recv(s));
    ASSERT_CONTAINS(h_last_line(), "notifications/progress");
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}"), 0);
    cJSON *seen = srv_keep(s, cJSON_CreateArray());
    ASSERT(until_id(s, 6, seen));
    const cJSON *e;
    cJSON_ArrayForEach(e, seen) ASSERT(!cJSON_GetObjectItemCaseSensitive(e, "result"));
    cJSON *res = until_id(s, 5, seen);
    ASSERT_CONTAINS(result_text(res), "Long running operation completed");
    int progress = 1;
    cJSON_ArrayForEach(e, seen) {
        const char *m = str_of(e, "method");
        progress += m && strcmp(m, "notifications/progress") == 0;
    }
    ASSERT_EQ_INT(progress, 3);
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *req = find(t, "tool_call", "trigger-long-running-operation");
    ASSERT(req && outcome_of(t, req));
    CHECK(cJSON_GetObjectItemCaseSensitive(outcome_of(t, req), "duration_ms")->valueint >= 2000);
    srv_free(s);
}

TEST(server_requests_are_answered_through_the_wrapper_and_recorded)
{
    peer *p = peer_start("everything-http");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s && handshake(s, INIT("{\"sampling\":{},\"elicitation\":{},\"roots\":{}}")));
    /* roots/list comes on the session's GET stream after initialized. */
    cJSON *m = until_method(s, "roots/list");
    ASSERT(m);
    char *rid = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(m, "id"));
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"roots\":[{\"uri\":"
                               "\"file:///tmp/remote-root\",\"name\":\"remote-root\"}]}}", rid), 0);
    free(rid);
    ASSERT(call(s, 7, "get-roots-list", "{}", NULL));
    ASSERT_CONTAINS(h_last_line(), "remote-root");
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"trigger-sampling-request\",\"arguments\":{\"prompt\":\"hi\"}}}"),
                  0);
    m = until_method(s, "sampling/createMessage");
    ASSERT(m);
    rid = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(m, "id"));
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":\"assistant\","
                               "\"content\":{\"type\":\"text\",\"text\":\"sampled-through-wrapper\"},"
                               "\"model\":\"test\",\"stopReason\":\"endTurn\"}}", rid), 0);
    free(rid);
    ASSERT(until_id(s, 8, NULL));
    ASSERT_CONTAINS(h_last_line(), "sampled-through-wrapper");
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"trigger-elicitation-request\",\"arguments\":{}}}"), 0);
    m = until_method(s, "elicitation/create");
    ASSERT(m);
    rid = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(m, "id"));
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"action\":\"decline\"}}", rid), 0);
    free(rid);
    ASSERT(until_id(s, 9, NULL));
    ASSERT_CONTAINS(h_last_line(), "decline");
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    static const char *const asked[] = {"roots/list", "sampling/createMessage", "elicitation/create"};
    for (int i = 0; i < 3; i++) {
        const cJSON *sr = find(t, "mcp_server_request", asked[i]);
        if (!sr) TEST_FAIL_("no mcp_server_request %s", asked[i]);
        const cJSON *so = outcome_of(t, sr);
        if (!so) TEST_FAIL_("no outcome of %s", asked[i]);
    }
    ASSERT_EQ_STR(member_of(outcome_of(t, find(t, "mcp_server_request", "sampling/createMessage")),
                            "result", "role"), "assistant");
    srv_free(s);
}

TEST(a_cancelled_call_is_recorded_as_cancelled)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":"
                                   "{\"name\":\"slow\",\"arguments\":{\"ms\":3000}}}"), 0);
    nap(300);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                                   "\"params\":{\"requestId\":4,\"reason\":\"user\"}}"), 0);
    char *log = wait_log(p, "\"cancelled\"");
    ASSERT_CONTAINS(log, "\"event\":\"cancelled\"");
    free(log);
    ASSERT(srv_silent_for(s, 500));
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "slow"));
    ASSERT(o);
    ASSERT_EQ_STR(str_of(o, "error"), "cancelled");
    srv_free(s);
}

/* The remote server killed while a call streams: the client gets an
** error for it and for what it sends while the server is down, nothing
** hangs, a restarted server is usable after a new initialize, and the
** trail says what happened to each call. */
TEST(server_killed_mid_stream_and_restarted)
{
    peer *p = peer_start("everything-http");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"trigger-long-running-operation\",\"arguments\":"
                               "{\"duration\":20,\"steps\":20},\"_meta\":{\"progressToken\":1}}}"), 0);
    ASSERT(srv_recv(s)); /* the first progress event: the stream is live */
    peer_stop(p);
    cJSON *r = until_id(s, 5, NULL);
    ASSERT(r);
    ASSERT_EQ_INT(error_code(r), -31000);
    r = call(s, 6, "echo", "{\"message\":\"while down\"}", NULL);
    ASSERT_EQ_INT(error_code(r), -31000);
    ASSERT_CONTAINS(h_last_line(), "cannot reach the remote server");
    ASSERT_EQ_INT(peer_run(p), 0);
    ASSERT(handshake(s, INIT("{}")));
    r = call(s, 8, "echo", "{\"message\":\"after restart\"}", NULL);
    ASSERT_CONTAINS(result_text(r), "after restart");
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *lo = outcome_of(t, find(t, "tool_call", "trigger-long-running-operation"));
    ASSERT(lo);
    ASSERT_CONTAINS(str_of(lo, "error"), "JSON-RPC error -31000");
    int downs = 0, ups = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
        if (strcmp(str_of(e, "event_type"), "tool_call") || strcmp(str_of(e, "operation_name"), "echo"))
            continue;
        const cJSON *o = outcome_of(t, e);
        ASSERT(o);
        if (str_of(o, "error")) downs++;
        else ups++;
    }
    ASSERT_EQ_INT(downs, 1);
    ASSERT_EQ_INT(ups, 1);
    ASSERT_EQ_INT(count_type(t, "mcp_request"), 2); /* two initializes */
    CHECK(verify_ok(s));
    srv_free(s);
}

/* ---- write-ahead over HTTP ----------------------------------------------------- */

static const char *const READ_ONLY[] = {"DSS_AUDIT_READ_ONLY=1", NULL};

TEST(an_unwritable_trail_fails_closed_over_http)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, READ_ONLY);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"x\"}," META "}}"),
                  0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT_EQ_INT(error_code(r), -32001);
    ASSERT_CONTAINS(h_last_line(), "audit trail unavailable");
    /* What is not recorded still flows. */
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\","
                                   "\"params\":{" META "}}"), 0);
    r = until_id(s, 2, NULL);
    ASSERT(cJSON_GetObjectItemCaseSensitive(r, "result"));
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"mcp-method\":\"tools/list\"");
    ASSERT(!strstr(log, "\"mcp-method\":\"tools/call\""));
    free(log);
    srv_free(s);
}

TEST(fail_open_forwards_over_http_and_warns)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    const char *const args[] = {"--auth", "none", "--fail-open", NULL};
    srv *s = wrap_url(p, url_of(p, "/mcp"), args, READ_ONLY);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"open\"}," META "}}"),
                  0);
    ASSERT_EQ_STR(result_text(until_id(s, 1, NULL)), "open");
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_CONTAINS(srv_stderr(s), "fail-open");
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"mcp-method\":\"tools/call\"");
    free(log);
    srv_free(s);
}

/* Secrets by value in arguments and (with --record-results full) in the
** result never reach the database or its WAL. */
TEST(secrets_are_scrubbed_in_the_raw_database_and_wal)
{
    char tok[64] = "ghp_";
    for (int i = 0; i < 36; i++) tok[4 + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7) % 36];
    tok[40] = '\0';
    peer *p = peer_start("everything-http");
    ASSERT(p);
    const char *const args[] = {"--auth", "none", "--record-results", "full", NULL};
    srv *s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", srv_fmt(s, "{\"message\":\"use %s\"}", tok), NULL);
    ASSERT_CONTAINS(result_text(r), tok); /* the client gets the answer as it was */
    srv_kill(s); /* the WAL is left as it was, not checkpointed */
    CHECK(!raw_has(s, tok));
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "echo"));
    ASSERT(o);
    ASSERT(cJSON_GetObjectItemCaseSensitive(o, "result"));
    srv_free(s);
}

/* A header secret, right or wrong, given on the command line or in the
** environment as wrap-config writes it: sent, and never in the trail, on
** stderr, on stdout, in `ps` (the command line) or `ps e`. */
TEST(header_secrets_never_reach_the_trail_stderr_or_ps)
{
    peer *p = peer_start("modern-key");
    ASSERT(p);
    static const char good[] = "k3y-s3cr3t-v4lu3", bad[] = "wr0ng-k3y-v4lu3";
    const char *const on_argv[] = {"--auth", "none", "--header", "X-Api-Key: k3y-s3cr3t-v4lu3",
                                   NULL};
    const char *const env[] = {"DSS_AUDIT_HEADERS={\"X-Other\":\"1\",\"X-Api-Key\":\"k3y-s3cr3t-v4lu3\"}",
                               NULL};
    const char *const wrong[] = {"--auth", "none", "--header", "X-Api-Key: wr0ng-k3y-v4lu3", NULL};
    for (int round = 0; round < 3; round++) {
        srv *s = wrap_url(p, url_of(p, "/mcp"), round == 0 ? on_argv : round == 1 ? NO_AUTH : wrong,
                          round == 1 ? env : NULL);
        ASSERT(s);
        ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                       "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"k\"},"
                                       META "}}"), 0);
        cJSON *r = until_id(s, 1, NULL);
        ASSERT(r);
        if (round < 2) ASSERT_EQ_STR(result_text(r), "k");
        else ASSERT_EQ_INT(error_code(r), -31002);
        const char *secret = round < 2 ? good : bad;
        ASSERT_EQ_INT(proc_has(s, "cmdline", secret), 0);
        ASSERT_EQ_INT(proc_has(s, "environ", secret), 0);
        ASSERT_EQ_INT(srv_wait(s), 0);
        CHECK(!leaked(s, secret));
        TRAIL(t, s);
        const cJSON *o = outcome_of(t, find(t, "tool_call", "echo"));
        ASSERT(o);
        if (round == 2) ASSERT_CONTAINS(str_of(o, "error"), "JSON-RPC error -31002");
        srv_free(s);
    }
    /* It was sent, as the server's log shows. */
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"x-api-key\":\"k3y-s3cr3t-v4lu3\"");
    free(log);
}

/* ---- OAuth --------------------------------------------------------------------- */

/* The SDK's example server with its demo authorization server: the
** whole flow from the first 401 to a successful call, the browser being
** the --open-with command; a second wrapper reuses the stored token. */
TEST(oauth_from_the_first_401_to_a_call_and_a_stored_token_reused)
{
    peer *p = peer_start("sdk-oauth");
    ASSERT(p);
    const char *const args[] = {"--open-with", opener(p), NULL};
    srv *s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "greet", "{\"name\":\"oauth\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "Hello, oauth!");
    char at[512], rt[512];
    stored_tokens(config_dir(p), at, rt, sizeof at);
    ASSERT(strlen(at) > 8);
    ASSERT_EQ_INT(proc_has(s, "cmdline", at), 0);
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows(p), 1);
    CHECK(!leaked(s, at));
    CHECK(!*rt || !leaked(s, rt));
    ASSERT_CONTAINS(srv_stderr(s), "authorization needed for");
    TRAIL(t, s);
    ASSERT(outcome_of(t, find(t, "tool_call", "greet")));
    srv_free(s);
    /* The opener's command line held the authorization URL, never a token. */
    char path[128];
    snprintf(path, sizeof path, "%s/opener.argv", p->dir);
    FILE *f = fopen(path, "r");
    ASSERT(f);
    char argv_seen[4096] = "";
    size_t n = fread(argv_seen, 1, sizeof argv_seen - 1, f);
    argv_seen[n] = '\0';
    fclose(f);
    ASSERT_CONTAINS(argv_seen, "code_challenge_method=S256");
    ASSERT(!strstr(argv_seen, at));
    s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    r = call(s, 2, "greet", "{\"name\":\"again\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "Hello, again!");
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows(p), 1);
    CHECK(!leaked(s, at));
    srv_free(s);
}

/* A token the store says has expired is refreshed before it is sent, and
** a token the server forgot is refreshed on its 401: no new browser flow,
** and no token, old or new, anywhere it must not be. */
TEST(oauth_expired_and_revoked_tokens_are_refreshed_without_a_flow)
{
    peer *p = peer_start("legacy-oauth");
    ASSERT(p);
    const char *const args[] = {"--open-with", opener(p), NULL};
    srv *s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows(p), 1);
    srv_free(s);
    char at1[512], rt1[512], at2[512], rt2[512], at3[512], rt3[512];
    stored_tokens(config_dir(p), at1, rt1, sizeof at1);
    ASSERT(*at1 && *rt1);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for f in %s/oauth/*.json; do sed -i 's/\"expires_at\":[^,}]*/\"expires_at\":1000/' $f; done",
             config_dir(p));
    ASSERT_EQ_INT(system(cmd), 0);
    s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", "{\"text\":\"refreshed ahead\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "refreshed ahead");
    ASSERT_EQ_INT(srv_wait(s), 0);
    stored_tokens(config_dir(p), at2, rt2, sizeof at2);
    ASSERT(strcmp(at1, at2) != 0);
    for (const char *const *q = (const char *const[]){at1, rt1, at2, rt2, NULL}; *q; q++)
        CHECK(!leaked(s, *q));
    srv_free(s);
    free(peer_http(p, "POST", "/admin/revoke"));
    s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    r = call(s, 2, "echo", "{\"text\":\"refreshed on 401\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "refreshed on 401");
    ASSERT_EQ_INT(srv_wait(s), 0);
    stored_tokens(config_dir(p), at3, rt3, sizeof at3);
    ASSERT(strcmp(at2, at3) != 0);
    for (const char *const *q = (const char *const[]){at2, rt2, at3, rt3, NULL}; *q; q++)
        CHECK(!leaked(s, *q));
    srv_free(s);
    ASSERT_EQ_INT(flows(p), 1);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_EQ_INT(count_in_log(log, "\"event\":\"refreshed\""), 2);
    free(log);
}

TEST(a_request_refused_for_authorization_is_recorded)
{
    peer *p = peer_start("legacy-oauth");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, INIT("{}")), 0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT_EQ_INT(error_code(r), -31002);
    ASSERT_CONTAINS(h_last_line(), "requires authorization");
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "mcp_request", "initialize"));
    ASSERT(o);
    ASSERT_CONTAINS(str_of(o, "error"), "JSON-RPC error -31002");
    srv_free(s);
}

/* ---- the 2026-07-28 era: client identity, multi round-trip calls ----------------- */

#define META_AS(name, version)                                                              \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                 \
    "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"" name "\",\"version\":\"" version \
    "\"},\"io.modelcontextprotocol/clientCapabilities\":{\"elicitation\":{}}}"

/* ask answered input_required, then its retry with the client's input:
** one tool_call, its round's mcp_input_required, the retry's
** mcp_input_response linked to it, and the final mcp_outcome, each with
** the client identity its request declared in _meta. */
static void mrtr_session(srv *s, int *test_failed_)
{
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"ask\",\"arguments\":{}," META_AS("mrtr-client", "3.1") "}}"),
                  0);
    ASSERT(until_id(s, 1, NULL));
    ASSERT_CONTAINS(h_last_line(), "\"resultType\":\"input_required\"");
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"ask\",\"arguments\":{},\"inputResponses\":"
                                   "{\"name\":{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}},"
                                   "\"requestState\":\"round-1\"," META_AS("mrtr-client", "3.1") "}}"),
                  0);
    ASSERT_EQ_STR(result_text(until_id(s, 2, NULL)), "hello Ada");
    /* Another client identity on a later request is its own. */
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"e\"},"
                                   META_AS("other-client", "9") "}}"), 0);
    ASSERT_EQ_STR(result_text(until_id(s, 3, NULL)), "e");
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    ASSERT_EQ_INT(count_type(t, "tool_call"), 2); /* ask once, echo once */
    const cJSON *e1 = find(t, "tool_call", "ask");
    ASSERT(e1);
    const cJSON *o1 = outcome_of(t, e1);
    ASSERT(o1);
    ASSERT_EQ_STR(str_of(o1, "event_type"), "mcp_input_required");
    ASSERT_EQ_STR(str_of(o1, "operation_id"), "1");
    const cJSON *ir = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o1, "result"), "inputRequests"),
        "name");
    ASSERT_EQ_STR(str_of(ir, "method"), "elicitation/create");
    const cJSON *e2 = outcome_of(t, o1);
    ASSERT(e2);
    ASSERT_EQ_STR(str_of(e2, "event_type"), "mcp_input_response");
    ASSERT_EQ_STR(str_of(e2, "operation_name"), "ask");
    ASSERT_EQ_STR(str_of(e2, "operation_id"), "2");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(e2, "args");
    ASSERT_EQ_STR(member_of(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(args, "inputResponses"), "name"),
                            "content", "name"),
                  "Ada");
    ASSERT(!cJSON_GetObjectItemCaseSensitive(args, "requestState"));
    ASSERT(!cJSON_GetObjectItemCaseSensitive(args, "_meta"));
    const cJSON *o2 = outcome_of(t, e2);
    ASSERT(o2);
    ASSERT_EQ_STR(str_of(o2, "event_type"), "mcp_outcome");
    ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o2, "error")));
    ASSERT(!outcome_of(t, o2));
    for (const cJSON *const *q = (const cJSON *const[]){e1, o1, e2, o2, NULL}; *q; q++) {
        ASSERT_EQ_STR(member_of(*q, "client", "name"), "mrtr-client");
        ASSERT_EQ_STR(member_of(*q, "client", "version"), "3.1");
    }
    /* The server's name from its results' _meta. */
    ASSERT_EQ_STR(member_of(o2, "server", "name"), "remote-test-modern");
    const cJSON *echo = find(t, "tool_call", "echo");
    ASSERT_EQ_STR(member_of(echo, "client", "name"), "other-client");
    ASSERT_EQ_STR(member_of(outcome_of(t, echo), "client", "version"), "9");
    CHECK(verify_ok(s));
}

TEST(a_multi_round_trip_call_over_http_is_one_call_with_linked_rounds)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s);
    mrtr_session(s, test_failed_);
    srv_free(s);
}

TEST(a_multi_round_trip_call_over_stdio_is_one_call_with_linked_rounds)
{
    srv *s = wrap_modern_stdio();
    ASSERT(s);
    mrtr_session(s, test_failed_);
    srv_free(s);
}

/* ---- lifecycle --------------------------------------------------------------------- */

/* The client closes stdin (or the wrapper gets SIGTERM) with a call in
** flight: its answer still comes and is recorded, then the session is
** DELETEd and the status is 0. */
TEST(eof_and_sigterm_wait_for_the_answers_then_delete_the_session)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    for (int by_signal = 0; by_signal < 2; by_signal++) {
        srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
        ASSERT(s && handshake(s, INIT("{}")));
        ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                                       "\"params\":{\"name\":\"slow\",\"arguments\":{\"ms\":800}}}"),
                      0);
        nap(100);
        if (by_signal) kill(srv_pid(s), SIGTERM);
        else srv_close_stdin(s);
        cJSON *r = until_id(s, 2, NULL);
        ASSERT_EQ_STR(result_text(r), "slept 800");
        ASSERT_EQ_INT(srv_wait(s), 0);
        TRAIL(t, s);
        const cJSON *o = outcome_of(t, find(t, "tool_call", "slow"));
        ASSERT(o);
        ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "error")));
        srv_free(s);
    }
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_EQ_INT(count_in_log(log, "\"method\":\"DELETE\""), 2);
    free(log);
}

TEST(kill_after_bounds_the_wait_for_answers)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    const char *const args[] = {"--auth", "none", "--kill-after", "1", NULL};
    srv *s = wrap_url(p, url_of(p, "/mcp"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"slow\",\"arguments\":{\"ms\":20000}}}"),
                  0);
    nap(200);
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *o = outcome_of(t, find(t, "tool_call", "slow"));
    ASSERT(o);
    ASSERT_EQ_STR(str_of(o, "error"), "no answer: the wrapper stopped waiting for the remote server");
    srv_free(s);
    char *log = wait_log(p, "\"method\":\"DELETE\"");
    ASSERT_CONTAINS(log, "\"method\":\"DELETE\"");
    free(log);
}

/* An HTTP+SSE server's stream ending is the server's end: the wrapper
** says so and exits with status 1 by itself. */
TEST(the_end_of_an_sse_stream_ends_the_wrapper)
{
    peer *p = peer_start("everything-sse");
    ASSERT(p);
    const char *const args[] = {"--auth", "none", "--transport", "sse", NULL};
    srv *s = wrap_url(p, url_of(p, "/sse"), args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", "{\"message\":\"over sse\"}", NULL);
    ASSERT_CONTAINS(result_text(r), "over sse");
    peer_stop(p);
    for (int i = 0; i < 300 && !strstr(srv_stderr(s), "SSE stream"); i++) nap(50);
    ASSERT_CONTAINS(srv_stderr(s), "SSE stream");
    ASSERT_EQ_INT(srv_wait(s), 1);
    TRAIL(t, s);
    ASSERT(outcome_of(t, find(t, "tool_call", "echo")));
    srv_free(s);
}

/* kill -9 of the wrapper with many calls in flight: every call the
** remote server received has its record, and the chain verifies. */
TEST(kill9_under_load_loses_no_record_of_a_request_the_server_received)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    srv *s = wrap_url(p, url_of(p, "/mcp"), NO_AUTH, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    enum { N = 200 };
    char *all = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&all, &len);
    ASSERT(m);
    for (int i = 0; i < N; i++)
        fprintf(m, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"echo\",\"arguments\":{\"text\":\"n%d\"}}}\n", 100 + i, i);
    fclose(m);
    int sent = srv_send_raw(s, all, len);
    free(all);
    ASSERT_EQ_INT(sent, 0);
    for (int i = 0; i < 20; i++) ASSERT(srv_recv(s));
    kill(srv_pid(s), SIGKILL);
    srv_kill(s);
    nap(500); /* what was on the wire reaches the server */
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT(log);
    cJSON *entries = cJSON_Parse(log);
    free(log);
    ASSERT(cJSON_IsArray(entries));
    TRAIL(t, s);
    int received = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        const char *m2 = str_of(e, "rpcMethod");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "rpcId");
        if (!m2 || strcmp(m2, "tools/call") || !cJSON_IsNumber(id)) continue;
        received++;
        int found = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, t) {
            const char *oid = str_of(x, "operation_id"), *et = str_of(x, "event_type");
            if (oid && et && strcmp(et, "tool_call") == 0 && atoi(oid) == id->valueint) found = 1;
        }
        if (!found) {
            cJSON_Delete(entries);
            TEST_FAIL_("call %d reached the server unrecorded", id->valueint);
        }
    }
    cJSON_Delete(entries);
    if (received < 20) TEST_FAIL_("the server received only %d calls", received);
    CHECK(verify_ok(s));
    srv_free(s);
}

/* ---- the command ------------------------------------------------------------------- */

/* Each usage mistake is exit status 2 with a sentence naming it, and a
** header value is never quoted. */
TEST(usage_errors_name_the_problem_and_never_a_header_value)
{
    static const struct {
        const char *args[10];
        const char *env;
        const char *says;
    } cases[] = {
        {{"wrap", "--url", "http://127.0.0.1:9/mcp", "--", "cat"}, NULL, "not both"},
        {{"wrap"}, NULL, "--url URL"},
        {{"wrap", "--header", "X-K: v", "--", "cat"}, NULL, "--header applies only with --url"},
        {{"wrap", "--transport", "sse", "--", "cat"}, NULL, "--transport applies only with --url"},
        {{"wrap", "--url", "ftp://127.0.0.1/mcp"}, NULL, "must start with https:// or http://"},
        {{"wrap", "--url", "http://127.0.0.1:9/mcp", "--transport", "pigeon"}, NULL,
         "--transport must be"},
        {{"wrap", "--url", "http://127.0.0.1:9/mcp", "--auth", "maybe"}, NULL, "--auth must be"},
        {{"wrap", "--url", "http://127.0.0.1:9/mcp", "--header", "n0-c0l0n-s3cret"}, NULL,
         "--header must be 'Name: value'"},
        {{"wrap", "--url", "http://127.0.0.1:9/mcp", "--header", "Accept: text/html"}, NULL,
         "the header Accept is the transport's own"},
        {{"wrap", "--url", "http://127.0.0.1:9/mcp", "--header", "X-K: s\xc3\xa9-s3cret"}, NULL,
         "the value of the header X-K must be printable ASCII"},
        {{"wrap", "--url", "http://127.0.0.1:9/mcp"}, "DSS_AUDIT_HEADERS={\"X-K\": \"s3cret\", oops",
         "DSS_AUDIT_HEADERS must be a JSON object"},
        {{"wrap"}, "DSS_AUDIT_URL=gopher://127.0.0.1/s3cret", "of DSS_AUDIT_URL must start"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *env[] = {cases[i].env, NULL};
        srv_opts o = {.args = cases[i].args, .env = env, .no_db = 1, .no_actor = 1};
        srv *s = srv_start(&o);
        ASSERT(s);
        int st = srv_wait(s);
        if (st != 2) TEST_FAIL_("case %zu: exit %d, stderr %s", i, st, srv_stderr(s));
        ASSERT_CONTAINS(srv_stderr(s), cases[i].says);
        ASSERT(!strstr(srv_stderr(s), "s3cret"));
        ASSERT_EQ_STR(srv_stdout(s), "");
        srv_free(s);
    }
}

/* What wrap-config writes for a remote entry (the URL with a query and the
** headers in the environment, --transport http) runs as written. */
TEST(a_remote_entry_from_wrap_config_runs_as_written)
{
    peer *p = peer_start("modern-key");
    ASSERT(p);
    char file[128], out[128], cmd[512];
    snprintf(file, sizeof file, "%s/mcp.json", p->dir);
    snprintf(out, sizeof out, "%s/cfg.out", p->dir);
    FILE *f = fopen(file, "w");
    ASSERT(f);
    fprintf(f, "{\"mcpServers\": {\"far\": {\"type\": \"http\", \"url\": "
               "\"http://127.0.0.1:%d/mcp?tenant=t1\", \"headers\": {\"X-Api-Key\": "
               "\"k3y-s3cr3t-v4lu3\"}}}}", p->port);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' wrap-config --client cursor --file '%s' >'%s' 2>&1",
             getenv("DSS_BIN"), file, out);
    ASSERT_EQ_INT(system(cmd), 0);
    f = fopen(file, "r");
    ASSERT(f);
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    cJSON *root = cJSON_Parse(text);
    const cJSON *far = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "mcpServers"), "far");
    ASSERT(far);
    char *fa = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(far, "args"));
    int secret_in_args = fa && strstr(fa, "k3y") != NULL;
    free(fa);
    ASSERT(!secret_in_args);
    /* Its args after "wrap" and its environment, for the wrapper. */
    const char *args[16] = {"wrap", "--db", "@DIR@/audit.db", "--auth", "none"};
    int k = 5;
    const cJSON *a;
    int first = 1;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(far, "args")) {
        if (first) {
            first = 0;
            continue;
        }
        if (k < 15) args[k++] = a->valuestring;
    }
    args[k] = NULL;
    const char *env[4];
    int ne = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(far, "env")) {
        char *kv = malloc(strlen(v->string) + strlen(v->valuestring) + 2);
        sprintf(kv, "%s=%s", v->string, v->valuestring);
        if (ne < 3) env[ne++] = kv;
    }
    env[ne] = NULL;
    ASSERT(ne == 2);
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    srv *s = srv_start(&o);
    for (int i = 0; i < ne; i++) free((char *)env[i]);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"cfg\"},"
                                   META "}}"), 0);
    ASSERT_EQ_STR(result_text(until_id(s, 1, NULL)), "cfg");
    ASSERT_EQ_INT(srv_wait(s), 0);
    TRAIL(t, s);
    const cJSON *c = find(t, "tool_call", "echo");
    ASSERT(c);
    ASSERT_EQ_STR(member_of(c, "server", "name"), "far");
    ASSERT_EQ_STR(member_of(c, "server", "url"), srv_fmt(s, "http://127.0.0.1:%d/mcp", p->port));
    CHECK(!leaked(s, "k3y-s3cr3t-v4lu3"));
    CHECK(!leaked(s, "tenant=t1"));
    cJSON_Delete(root);
    srv_free(s);
}

TEST_MAIN(TEST_ENTRY(calls_are_recorded_with_their_outcome_and_the_servers_url)
          TEST_ENTRY(url_credentials_and_query_never_reach_the_trail)
          TEST_ENTRY(progress_notifications_stream_through_the_wrapper)
          TEST_ENTRY(server_requests_are_answered_through_the_wrapper_and_recorded)
          TEST_ENTRY(a_cancelled_call_is_recorded_as_cancelled)
          TEST_ENTRY(server_killed_mid_stream_and_restarted)
          TEST_ENTRY(an_unwritable_trail_fails_closed_over_http)
          TEST_ENTRY(fail_open_forwards_over_http_and_warns)
          TEST_ENTRY(secrets_are_scrubbed_in_the_raw_database_and_wal)
          TEST_ENTRY(header_secrets_never_reach_the_trail_stderr_or_ps)
          TEST_ENTRY(oauth_from_the_first_401_to_a_call_and_a_stored_token_reused)
          TEST_ENTRY(oauth_expired_and_revoked_tokens_are_refreshed_without_a_flow)
          TEST_ENTRY(a_request_refused_for_authorization_is_recorded)
          TEST_ENTRY(a_multi_round_trip_call_over_http_is_one_call_with_linked_rounds)
          TEST_ENTRY(a_multi_round_trip_call_over_stdio_is_one_call_with_linked_rounds)
          TEST_ENTRY(eof_and_sigterm_wait_for_the_answers_then_delete_the_session)
          TEST_ENTRY(kill_after_bounds_the_wait_for_answers)
          TEST_ENTRY(the_end_of_an_sse_stream_ends_the_wrapper)
          TEST_ENTRY(kill9_under_load_loses_no_record_of_a_request_the_server_received)
          TEST_ENTRY(usage_errors_name_the_problem_and_never_a_header_value)
          TEST_ENTRY(a_remote_entry_from_wrap_config_runs_as_written))
