/*
** test_remote.c: the MCP HTTP client transport (src/remote/) and the OAuth
** client (src/auth/) on their own, through tests/remote/remote_driver.c (a
** stdio relay without recording; DSS_BIN) against real peers (peer.h):
** sessions, resumption, the GET stream, HTTP+SSE and the fallback, HTTP
** errors and limits, the 2026-07-28 headers and streams, the outbox limit,
** OAuth's refreshes, step-up, metadata checks and client ids, and the
** `auth` command.  What `wrap --url` records and how it lives is
** test_wrap_remote.c's.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/authcmd.h"
#include "peer.h"
#include "remote/remote.h"
#include "test.h"

/* The driver on p's URL (host "localhost" for the OAuth peers, whose
** resource is named so), with extra arguments and environment. */
static srv *drv(peer *p, const char *path, const char *const *extra, const char *const *env)
{
    static char url[256];
    const char *host = strstr(p->kind, "oauth") ? "localhost" : "127.0.0.1";
    snprintf(url, sizeof url, "http://%s:%d%s", host, p->port, path);
    const char *args[32] = {"--url", url, "--config-dir", p->dir};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 30; i++) args[n++] = extra[i];
    args[n] = NULL;
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    return srv_start(&o);
}

/* ---- sessions, resumption, the GET stream (test_server.mjs legacy) ----------- */

TEST(session_404_answers_cleanly_until_the_client_initializes_again)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", "{\"text\":\"before\"}", NULL);
    ASSERT(r);
    free(peer_http(p, "POST", "/admin/expire"));
    r = call(s, 3, "echo", "{\"text\":\"after\"}", NULL);
    ASSERT(r);
    ASSERT_EQ_INT(error_code(r), -31001);
    ASSERT_CONTAINS(srv_stderr(s), "ended the MCP session");
    /* Not sent at all until a new initialize. */
    r = call(s, 4, "echo", "{\"text\":\"still\"}", NULL);
    ASSERT_EQ_INT(error_code(r), -31001);
    ASSERT(handshake(s, INIT("{}")));
    r = call(s, 5, "echo", "{\"text\":\"new session\"}", NULL);
    ASSERT(r);
    ASSERT_EQ_STR(result_text(r), "new session");
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT(log);
    /* Two sessions were initialized; each later request carried one, and
    ** the protocol version initialize negotiated. */
    ASSERT(count_in_log(log, "\"mcp-protocol-version\":\"2025-11-25\"") >= 3);
    free(log);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(dropped_stream_resumes_with_last_event_id_without_duplicates)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"drop_then_finish\",\"arguments\":{\"steps\":4},"
                               "\"_meta\":{\"progressToken\":\"dp\"}}}"), 0);
    cJSON *seen = cJSON_CreateArray();
    cJSON *r = until_id(s, 2, seen);
    ASSERT(r);
    ASSERT_EQ_STR(result_text(r), "finished 4");
    int got[5] = {0};
    const cJSON *e;
    cJSON_ArrayForEach(e, seen) {
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e, "params"), "progress");
        if (cJSON_IsNumber(pr) && pr->valueint >= 1 && pr->valueint <= 4) got[pr->valueint]++;
    }
    for (int i = 1; i <= 4; i++) ASSERT_EQ_INT(got[i], 1);
    /* And nothing more for it afterwards. */
    ASSERT(srv_silent_for(s, 500));
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"last-event-id\"");
    ASSERT_CONTAINS(srv_stderr(s), "resuming it");
    free(log);
    cJSON_Delete(seen);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(a_client_that_does_not_read_stops_the_reading_at_the_outbox_limit)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    const char *args[] = {"--max-queued", "65536", "--stall-ms", "1500", NULL};
    srv *s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *seen = cJSON_CreateArray();
    cJSON *r = call(s, 2, "flood", "{\"count\":60,\"size\":20000}", seen);
    ASSERT(r);
    ASSERT_EQ_STR(result_text(r), "flooded 60");
    ASSERT_EQ_INT(cJSON_GetArraySize(seen), 60);
    ASSERT_EQ_INT(srv_wait(s), 0);
    /* 1.2 MB went through while the driver slept 1.5 s, yet never more
    ** than the limit plus what one read of libcurl completes waited. */
    const char *e = strstr(srv_stderr(s), "max-queued ");
    ASSERT(e);
    long peak = atol(e + 11);
    ASSERT(peak > 65536);
    ASSERT(peak < 65536 + 3 * 20100 + 16384);
    cJSON_Delete(seen);
    srv_free(s);
}

TEST(get_stream_carries_the_servers_own_notifications_and_delete_ends_the_session)
{
    peer *p = peer_start("legacy");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "notify_standalone", "{}", NULL);
    ASSERT(r);
    cJSON *m = srv_recv(s);
    ASSERT(m);
    ASSERT_CONTAINS(h_last_line(), "standalone hello");
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT(log);
    ASSERT_CONTAINS(log, "\"method\":\"GET\"");
    ASSERT_CONTAINS(log, "\"method\":\"DELETE\"");
    /* notifications/initialized was a POST answered 202 before the GET. */
    ASSERT(strstr(log, "\"method\":\"GET\"") > strstr(log, "\"method\":\"POST\""));
    free(log);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

/* ---- HTTP+SSE (2024-11-05) and the fallback ------------------------------------ */

TEST(sse_transport_of_2024_11_05)
{
    peer *p = peer_start("everything-sse");
    ASSERT(p);
    const char *args[] = {"--transport", "sse", NULL};
    srv *s = drv(p, "/sse", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", "{\"message\":\"over sse\"}", NULL);
    ASSERT(r);
    ASSERT_CONTAINS(result_text(r), "over sse");
    peer_stop(p);
    /* The stream's end ends the transport: the driver says why and stops
    ** by itself, before its input ends. */
    for (int i = 0; i < 300 && !strstr(srv_stderr(s), "remote_driver: flows"); i++) nap(50);
    ASSERT_CONTAINS(srv_stderr(s), "SSE stream");
    ASSERT_EQ_INT(srv_wait(s), 3);
    srv_free(s);
}

TEST(auto_falls_back_to_sse_when_post_is_refused)
{
    peer *p = peer_start("everything-sse");
    ASSERT(p);
    srv *s = drv(p, "/sse", NULL, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_CONTAINS(srv_stderr(s), "trying the HTTP+SSE transport");
    cJSON *r = call(s, 2, "echo", "{\"message\":\"fell back\"}", NULL);
    ASSERT(r);
    ASSERT_CONTAINS(result_text(r), "fell back");
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(modern_probe_of_a_legacy_server_gets_its_error_then_initialize_works)
{
    peer *p = peer_start("everything-http");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s);
    /* A dual-era client probes with server/discover: the legacy server
    ** refuses it (400 without a modern error), the HTTP+SSE fallback finds
    ** no endpoint there, and the server's own error reaches the client. */
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\","
                                   "\"params\":{" META "}}"), 0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT(r);
    ASSERT_EQ_INT(error_code(r), -32000);
    ASSERT_CONTAINS(srv_stderr(s), "trying the HTTP+SSE transport");
    /* It falls back to initialize, which works on Streamable HTTP. */
    ASSERT(handshake(s, INIT("{}")));
    r = call(s, 2, "echo", "{\"message\":\"legacy after probe\"}", NULL);
    ASSERT_CONTAINS(result_text(r), "legacy after probe");
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(http_errors_and_redirects_are_answered_with_errors)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    srv *s = drv(p, "/broken", NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\","
                                   "\"params\":{" META "}}"), 0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT_EQ_INT(error_code(r), -31000);
    ASSERT_CONTAINS(h_last_line(), "answered HTTP 500");
    ASSERT_CONTAINS(h_last_line(), "\"httpStatus\":500");
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
    /* A redirect is not followed: the user is told to use the URL. */
    s = drv(p, "/moved", NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\","
                                   "\"params\":{" META "}}"), 0);
    r = until_id(s, 1, NULL);
    ASSERT_EQ_INT(error_code(r), -31000);
    ASSERT_CONTAINS(h_last_line(), "HTTP 307 (a redirect");
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT(!strstr(log, "\"path\":\"/mcp\""));
    free(log);
    srv_free(s);
}

TEST(messages_over_the_size_limit_are_refused)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    const char *args[] = {"--max-message-bytes", "65536", NULL};
    srv *s = drv(p, "/mcp", args, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"big\",\"arguments\":{\"size\":60000}," META "}}"), 0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT(cJSON_GetObjectItemCaseSensitive(r, "result"));
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"big\",\"arguments\":{\"size\":70000}," META "}}"), 0);
    r = until_id(s, 2, NULL);
    ASSERT_EQ_INT(error_code(r), -31000);
    ASSERT_CONTAINS(h_last_line(), "longer than 65536 bytes");
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
    /* The same for an event of an SSE answer stream. */
    peer *q = peer_start("legacy");
    ASSERT(q);
    const char *args2[] = {"--max-message-bytes", "10000", NULL};
    s = drv(q, "/mcp", args2, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"flood\",\"arguments\":{\"count\":2,"
                                   "\"size\":20000},\"_meta\":{\"progressToken\":1}}}"), 0);
    r = until_id(s, 2, NULL);
    ASSERT_EQ_INT(error_code(r), -31000);
    ASSERT_CONTAINS(h_last_line(), "longer than 10000 bytes");
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(unreachable_server_answers_each_request_with_an_error)
{
    peer p = {.port = h_free_port()};
    snprintf(p.kind, sizeof p.kind, "none");
    snprintf(p.dir, sizeof p.dir, "/tmp");
    srv *s = drv(&p, "/mcp", NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, INIT("{}")), 0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT(r);
    ASSERT_EQ_INT(error_code(r), -31000);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

/* ---- 2026-07-28 (test_server.mjs modern) ------------------------------------------ */

TEST(modern_requests_carry_the_mirrored_headers)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\","
                                   "\"params\":{" META "}}"), 0);
    cJSON *r = until_id(s, 1, NULL);
    ASSERT(r && cJSON_GetObjectItemCaseSensitive(r, "result"));
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\","
                                   "\"params\":{" META "}}"), 0);
    ASSERT(until_id(s, 2, NULL));
    /* x-mcp-header values learnt from tools/list: a non-ASCII region is
    ** sent Base64-encoded, the nested integer as decimal. */
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"region_tool\",\"arguments\":{\"region\":"
                                   "\"s\\u00e3o-paulo\",\"opts\":{\"level\":3},\"query\":\"q\"}," META "}}"),
                  0);
    r = until_id(s, 3, NULL);
    ASSERT(r);
    ASSERT_CONTAINS(h_last_line(), "\"region\":\"=?base64?c8Ojby1wYXVsbw==?=\"");
    ASSERT_CONTAINS(h_last_line(), "\"level\":\"3\"");
    /* A tool name that needs encoding in Mcp-Name. */
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"x\"}," META "}}"),
                  0);
    r = until_id(s, 4, NULL);
    ASSERT_EQ_STR(result_text(r), "x");
    ASSERT_EQ_INT(srv_wait(s), 0);
    char *log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"mcp-method\":\"server/discover\"");
    ASSERT_CONTAINS(log, "\"mcp-name\":\"region_tool\"");
    /* Stateless: no session, no GET, no DELETE. */
    ASSERT(!strstr(log, "mcp-session-id"));
    ASSERT(!strstr(log, "\"method\":\"GET\"") && !strstr(log, "\"method\":\"DELETE\""));
    free(log);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(server_bytes_are_relayed_unchanged)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"raw\",\"arguments\":{}," META "}}"), 0);
    ASSERT(until_id(s, 7, NULL));
    /* Only the line break (JSON white space) became a space, for stdio. */
    ASSERT_EQ_STR(h_last_line(),
                  "{ \"jsonrpc\" : \"2.0\",   \"id\" : 7, \"result\" : {\"resultType\":\"complete\","
                  "\"content\":[{\"type\":\"text\",\"text\":\"caf\\u00e9 \\/ 1.50\"}],\"n\":1.50 } }");
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

/* A slow call sent with id `id`, then cancelled naming it `named`: the
** transport closes the call's answer stream (2026-07-28) and POSTs no
** notification.  Returns 0, or the line of the first check that failed. */
static int cancel_by(const char *id, const char *named)
{
    peer *p = peer_start("modern");
    if (!p) return __LINE__;
    srv *s = drv(p, "/mcp", NULL, NULL);
    if (!s) return __LINE__;
    char line[512];
    snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"slow\",\"arguments\":{\"ms\":5000}," META "}}", id);
    if (srv_send_line(s, line) != 0 || !srv_recv(s)) return __LINE__; /* its first progress */
    snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
             "\"params\":{\"requestId\":%s}}", named);
    if (srv_send_line(s, line) != 0) return __LINE__;
    char *log = wait_log(p, "\"cancelled\"");
    int bad = !log || !strstr(log, "\"event\":\"cancelled\",\"id\":1") ? __LINE__
              : strstr(log, "notifications/cancelled") ? __LINE__ /* it was POSTed */
                                                       : 0;
    free(log);
    if (!bad && !srv_silent_for(s, 300)) bad = __LINE__;
    if (srv_wait(s) != 0 && !bad) bad = __LINE__;
    srv_free(s);
    return bad;
}

TEST(modern_cancellation_closes_the_answer_stream)
{
    ASSERT_EQ_INT(cancel_by("1", "1"), 0);
}

/* The cancellation names the request by value: 1.0 and 1 are one id. */
TEST(modern_cancellation_naming_the_id_in_another_spelling_closes_its_stream)
{
    ASSERT_EQ_INT(cancel_by("1.0", "1"), 0);
}

TEST(modern_subscriptions_listen_stream_stays_open)
{
    peer *p = peer_start("modern");
    ASSERT(p);
    srv *s = drv(p, "/mcp", NULL, NULL);
    ASSERT(s);
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"subscriptions/listen\","
                                   "\"params\":{\"notifications\":{\"toolsListChanged\":true}," META "}}"),
                  0);
    ASSERT(srv_recv(s));
    ASSERT_CONTAINS(h_last_line(), "notifications/subscriptions/acknowledged");
    free(peer_http(p, "POST", "/admin/notify"));
    ASSERT(srv_recv(s));
    ASSERT_CONTAINS(h_last_line(), "notifications/tools/list_changed");
    free(peer_http(p, "POST", "/admin/notify"));
    ASSERT(srv_recv(s));
    ASSERT_CONTAINS(h_last_line(), "notifications/tools/list_changed");
    ASSERT_EQ_INT(srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                                   "\"params\":{\"requestId\":9}}"), 0);
    char *log = wait_log(p, "listen closed");
    ASSERT_CONTAINS(log, "listen closed");
    free(log);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

/* ---- OAuth ------------------------------------------------------------------------------ */

static int flows_of(srv *s, int *refreshes)
{
    const char *e = strstr(srv_stderr(s), "remote_driver: flows ");
    int f = -1, r = -1;
    if (e) sscanf(e, "remote_driver: flows %d refreshes %d", &f, &r);
    if (refreshes) *refreshes = r;
    return f;
}

TEST(oauth_expired_and_revoked_tokens_are_refreshed)
{
    peer *p = peer_start("legacy-oauth");
    ASSERT(p);
    const char *args[] = {"--open-with", opener(p), NULL};
    srv *s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, NULL), 1);
    srv_free(s);
    char at1[512], rt1[512], at2[512], rt2[512];
    stored_tokens(p->dir, at1, rt1, sizeof at1);
    ASSERT(*rt1);
    /* The server forgets every access token: the next request gets 401
    ** invalid_token and is sent again after a refresh, without a flow. */
    free(peer_http(p, "POST", "/admin/revoke"));
    s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", "{\"text\":\"refreshed\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "refreshed");
    ASSERT_EQ_INT(srv_wait(s), 0);
    int refreshes;
    ASSERT_EQ_INT(flows_of(s, &refreshes), 0);
    ASSERT_EQ_INT(refreshes, 1);
    stored_tokens(p->dir, at2, rt2, sizeof at2);
    ASSERT(strcmp(at1, at2) != 0 && strcmp(rt1, rt2) != 0);
    for (const char *secret[] = {at1, rt1, at2, rt2, NULL}, **q = secret; *q; q++) {
        ASSERT(!strstr(srv_stdout(s), *q));
        ASSERT(!strstr(srv_stderr(s), *q));
    }
    srv_free(s);
    /* Revoked again, with many requests in flight: one refresh serves
    ** them all. */
    s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    free(peer_http(p, "POST", "/admin/revoke"));
    for (int i = 0; i < 8; i++)
        ASSERT_EQ_INT(send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
                                   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"n%d\"}}}",
                                   10 + i, i), 0);
    /* The answers come in any order. */
    int answered[8] = {0};
    for (int k = 0; k < 8; k++) {
        cJSON *m = srv_recv(s);
        ASSERT(m);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
        if (!cJSON_IsNumber(id) || id->valueint < 10 || id->valueint > 17) {
            k--;
            continue;
        }
        char want[16];
        snprintf(want, sizeof want, "n%d", id->valueint - 10);
        ASSERT_EQ_STR(result_text(m), want);
        answered[id->valueint - 10]++;
    }
    for (int i = 0; i < 8; i++) ASSERT_EQ_INT(answered[i], 1);
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, &refreshes), 0);
    ASSERT_EQ_INT(refreshes, 1);
    srv_free(s);
    /* A token the record says has expired is refreshed before it is sent. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "for f in %s/oauth/*.json; do sed -i 's/\"expires_at\":[^,}]*/\"expires_at\":1000/' $f; done",
             p->dir);
    ASSERT_EQ_INT(system(cmd), 0);
    s = drv(p, "/mcp", args, NULL);
    ASSERT(s);
    if (!handshake(s, INIT("{}"))) TEST_FAIL_("no handshake: %s", srv_stderr(s));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, &refreshes), 0);
    ASSERT_EQ_INT(refreshes, 1);
    char *log = peer_http(p, "GET", "/admin/log");
    /* That one was refreshed ahead: no request of it was refused. */
    ASSERT_EQ_INT(count_in_log(log, "\"event\":\"refreshed\""), 3);
    free(log);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(oauth_step_up_on_insufficient_scope)
{
    peer *p = peer_start("legacy-oauth");
    ASSERT(p);
    const char *args[] = {"--open-with", opener(p), NULL};
    srv *s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "admin_tool", "{}", NULL);
    ASSERT(r);
    ASSERT_EQ_STR(result_text(r), "admin done");
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, NULL), 2);
    char *log = peer_http(p, "GET", "/admin/log");
    /* The second authorization asked for both scopes. */
    ASSERT_CONTAINS(log, "\"scopes\":[\"mcp:tools\",\"mcp:admin\"]");
    ASSERT_CONTAINS(log, "\"resource\":\"http://localhost:");
    free(log);
    ASSERT_EQ_INT(srv_wait(s), 0);
    srv_free(s);
}

TEST(oauth_uses_a_client_id_metadata_document_where_supported)
{
    peer *p = peer_start("legacy-oauth-cimd");
    ASSERT(p);
    char cid[128];
    snprintf(cid, sizeof cid, "http://localhost:%d/client.json", p->port);
    const char *args[] = {"--open-with", opener(p), "--client-id-url", cid, NULL};
    srv *s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    cJSON *r = call(s, 2, "echo", "{\"text\":\"cimd\"}", NULL);
    ASSERT_EQ_STR(result_text(r), "cimd");
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, NULL), 1);
    char *log = peer_http(p, "GET", "/admin/log");
    /* No dynamic registration: the document's URL is the client id. */
    ASSERT(!strstr(log, "\"registered\""));
    ASSERT_CONTAINS(log, "\"event\":\"cimd fetched\"");
    char want[200];
    snprintf(want, sizeof want, "\"event\":\"authorize\",\"client_id\":\"%s\"", cid);
    ASSERT_CONTAINS(log, want);
    free(log);
    srv_free(s);
    /* Where the server does not support it, registration is dynamic. */
    p = peer_start("legacy-oauth");
    ASSERT(p);
    snprintf(cid, sizeof cid, "http://localhost:%d/client.json", p->port);
    const char *args2[] = {"--open-with", opener(p), "--client-id-url", cid, NULL};
    s = drv(p, "/mcp", args2, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_wait(s), 0);
    log = peer_http(p, "GET", "/admin/log");
    ASSERT_CONTAINS(log, "\"registered\"");
    free(log);
    srv_free(s);
}

TEST(oauth_refuses_metadata_for_another_issuer_or_resource)
{
    static const struct { const char *kind, *why; } cases[] = {
        {"legacy-oauth-lie-issuer", "names another issuer"},
        {"legacy-oauth-lie-resource", "for another resource"},
    };
    for (size_t i = 0; i < 2; i++) {
        peer *p = peer_start(cases[i].kind);
        ASSERT(p);
        const char *args[] = {"--open-with", opener(p), NULL};
        srv *s = drv(p, "/mcp", args, NULL);
        ASSERT(s);
        ASSERT_EQ_INT(srv_send_line(s, INIT("{}")), 0);
        cJSON *r = until_id(s, 1, NULL);
        ASSERT_EQ_INT(error_code(r), -31002);
        ASSERT_CONTAINS(h_last_line(), cases[i].why);
        ASSERT_EQ_INT(srv_wait(s), 0);
        /* Refused before the browser step: nothing was authorized. */
        ASSERT_EQ_INT(flows_of(s, NULL), 0);
        char *log = peer_http(p, "GET", "/admin/log");
        ASSERT(!strstr(log, "\"authorize\""));
        free(log);
        srv_free(s);
        peer_stop(p);
    }
}

TEST(auth_login_ahead_of_time_then_list_and_logout)
{
    peer *p = peer_start("legacy-oauth");
    ASSERT(p);
    char url[128], err[512];
    snprintf(url, sizeof url, "http://localhost:%d/mcp", p->port);
    oauth_options o = {.server_url = url, .config_dir = p->dir, .open_with = opener(p),
                       .no_browser = 1, .timeout_s = 30};
    char *buf = NULL;
    size_t len;
    FILE *out = open_memstream(&buf, &len);
    int rc = authcmd_login(&o, out, err, sizeof err);
    fclose(out);
    if (rc != 0) TEST_FAIL_("auth --url failed: %s", err);
    ASSERT_CONTAINS(buf, "authorized: http://localhost:");
    free(buf);
    /* A wrapper started later needs no flow. */
    const char *args[] = {"--open-with", opener(p), NULL};
    srv *s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, NULL), 0);
    srv_free(s);
    char at[512], rt[512];
    stored_tokens(p->dir, at, rt, sizeof at);
    out = open_memstream(&buf, &len);
    ASSERT_EQ_INT(authcmd_list(p->dir, out, err, sizeof err), 0);
    fclose(out);
    ASSERT_CONTAINS(buf, url);
    ASSERT_CONTAINS(buf, "refresh token held");
    ASSERT(!strstr(buf, at) && !strstr(buf, rt));
    free(buf);
    out = open_memstream(&buf, &len);
    ASSERT_EQ_INT(authcmd_logout(p->dir, url, out, err, sizeof err), 0);
    fclose(out);
    free(buf);
    /* Forgotten: the next wrapper authorizes again. */
    s = drv(p, "/mcp", args, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, NULL), 1);
    srv_free(s);
}

/* Run the real binary with args, XDG_CONFIG_HOME in p's folder; its
** stdout and stderr into the files p->dir/main.out and main.err.  The exit
** status, or -1. */
static int run_main(peer *p, const char *const *args)
{
    const char *bin = getenv("DSS_MAIN_BIN");
    if (!bin) return -1;
    char xdg[128], out[128], err[128];
    snprintf(xdg, sizeof xdg, "%s/xdg", p->dir);
    snprintf(out, sizeof out, "%s/main.out", p->dir);
    snprintf(err, sizeof err, "%s/main.err", p->dir);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("XDG_CONFIG_HOME", xdg, 1);
        unsetenv("DISPLAY");
        unsetenv("WAYLAND_DISPLAY");
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0) _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        char *argv[16] = {(char *)bin};
        int n = 1;
        for (int i = 0; args[i] && n < 15; i++) argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *b = calloc(1, 65536);
    size_t n = fread(b, 1, 65535, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

TEST(auth_command_authorizes_lists_and_logs_out)
{
    peer *p = peer_start("legacy-oauth");
    ASSERT(p);
    char url[128], out[128], errf[128], cfg[128];
    snprintf(url, sizeof url, "http://localhost:%d/mcp", p->port);
    snprintf(out, sizeof out, "%s/main.out", p->dir);
    snprintf(errf, sizeof errf, "%s/main.err", p->dir);
    snprintf(cfg, sizeof cfg, "%s/xdg/dss-audit", p->dir);
    /* Usage errors first. */
    const char *none[] = {"auth", NULL};
    ASSERT_EQ_INT(run_main(p, none), 2);
    const char *two[] = {"auth", "--list", "--logout", url, NULL};
    ASSERT_EQ_INT(run_main(p, two), 2);
    const char *ftp[] = {"auth", "--url", "ftp://x/mcp", NULL};
    ASSERT_EQ_INT(run_main(p, ftp), 2);
    /* auth --url: the whole flow, the browser being the opener. */
    const char *login[] = {"auth", "--url", url, "--open-with", opener(p), "--timeout", "30", NULL};
    ASSERT_EQ_INT(run_main(p, login), 0);
    char *o = slurp_file(out);
    ASSERT_CONTAINS(o, "authorized: http://localhost:");
    free(o);
    char at[512], rt[512];
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat %s/oauth/*.json", cfg);
    FILE *f = popen(cmd, "r");
    char buf[8192] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    pclose(f);
    cJSON *j = cJSON_Parse(buf);
    ASSERT(j);
    snprintf(at, sizeof at, "%s", cJSON_GetObjectItemCaseSensitive(j, "access_token")->valuestring);
    snprintf(rt, sizeof rt, "%s", cJSON_GetObjectItemCaseSensitive(j, "refresh_token")->valuestring);
    cJSON_Delete(j);
    char *e = slurp_file(errf);
    ASSERT_CONTAINS(e, "authorization needed for http://localhost:");
    ASSERT(!strstr(e, at) && !strstr(e, rt));
    free(e);
    /* The transport finds the tokens there: no second flow. */
    const char *dargs[] = {"--config-dir", cfg, "--open-with", opener(p), NULL};
    srv *s = drv(p, "/mcp", dargs, NULL);
    ASSERT(s && handshake(s, INIT("{}")));
    ASSERT_EQ_INT(srv_wait(s), 0);
    ASSERT_EQ_INT(flows_of(s, NULL), 0);
    srv_free(s);
    const char *list[] = {"auth", "--list", NULL};
    ASSERT_EQ_INT(run_main(p, list), 0);
    o = slurp_file(out);
    ASSERT_CONTAINS(o, url);
    ASSERT_CONTAINS(o, "refresh token held");
    ASSERT(!strstr(o, at) && !strstr(o, rt));
    free(o);
    const char *logout[] = {"auth", "--logout", url, NULL};
    ASSERT_EQ_INT(run_main(p, logout), 0);
    ASSERT_EQ_INT(run_main(p, list), 0);
    o = slurp_file(out);
    ASSERT_CONTAINS(o, "no server has stored authorization");
    free(o);
}

/* ---- a hostile server (a loopback peer written here) ------------------------ */

/* A server of canned answers: each request (headers, and a body of its
** Content-Length) gets the next answer, on any of its connections; the
** requests are kept as they came, for the case to look at. */
typedef struct raw_peer {
    int lfd, port;
    const char *const *answers;
    int next;
    char got[16384];
    size_t got_len;
    pthread_mutex_t mu;
    pthread_t th;
    volatile int stop;
} raw_peer;

static void *raw_peer_run(void *arg)
{
    raw_peer *rp = arg;
    struct pollfd fds[8] = {{.fd = rp->lfd, .events = POLLIN}};
    char buf[8][8192];
    size_t have[8] = {0};
    int n = 1;
    while (!rp->stop) {
        if (poll(fds, (nfds_t)n, 50) <= 0) continue;
        if ((fds[0].revents & POLLIN) && n < 8) {
            int c = accept(rp->lfd, NULL, NULL);
            if (c >= 0) {
                fds[n] = (struct pollfd){.fd = c, .events = POLLIN};
                have[n++] = 0;
            }
        }
        for (int i = 1; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
            ssize_t k = read(fds[i].fd, buf[i] + have[i], sizeof buf[i] - 1 - have[i]);
            if (k <= 0) {
                close(fds[i].fd);
                fds[i] = fds[--n];
                memcpy(buf[i], buf[n], have[n]);
                have[i] = have[n];
                i--;
                continue;
            }
            have[i] += (size_t)k;
            buf[i][have[i]] = '\0';
            char *end = strstr(buf[i], "\r\n\r\n");
            if (!end) continue;
            const char *cl = strcasestr(buf[i], "content-length:");
            size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
            size_t whole = (size_t)(end + 4 - buf[i]) + body;
            if (have[i] < whole) continue;
            pthread_mutex_lock(&rp->mu);
            if (rp->got_len + whole < sizeof rp->got) {
                memcpy(rp->got + rp->got_len, buf[i], whole);
                rp->got_len += whole;
                rp->got[rp->got_len] = '\0';
            }
            const char *a = rp->answers[rp->next] ? rp->answers[rp->next++] : NULL;
            pthread_mutex_unlock(&rp->mu);
            char out[4096];
            int len = a ? snprintf(out, sizeof out, "%s", a)
                        : snprintf(out, sizeof out, "HTTP/1.1 202 Accepted\r\n"
                                                    "Content-Length: 0\r\n\r\n");
            if (write(fds[i].fd, out, (size_t)len) < 0) {}
            memmove(buf[i], buf[i] + whole, have[i] - whole);
            have[i] -= whole;
        }
    }
    for (int i = 0; i < n; i++) close(fds[i].fd);
    return NULL;
}

static raw_peer *raw_peer_start(const char *const *answers)
{
    raw_peer *rp = calloc(1, sizeof *rp);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (!rp || (rp->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(rp->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(rp->lfd, 8) != 0 ||
        getsockname(rp->lfd, (struct sockaddr *)&a, &al) != 0) {
        free(rp);
        return NULL;
    }
    rp->port = ntohs(a.sin_port);
    rp->answers = answers;
    pthread_mutex_init(&rp->mu, NULL);
    if (pthread_create(&rp->th, NULL, raw_peer_run, rp) != 0) {
        close(rp->lfd);
        free(rp);
        return NULL;
    }
    return rp;
}

static void raw_peer_stop(raw_peer *rp)
{
    rp->stop = 1;
    pthread_join(rp->th, NULL);
    free(rp);
}

/* The next message event of r within 5 s (caller frees), or NULL; notices
** are appended to notes. */
static char *next_message(remote *r, char *notes, size_t nlen)
{
    for (int waited = 0; waited < 5000; waited += 10) {
        remote_event ev;
        while (remote_next(r, &ev)) {
            if (ev.kind == REMOTE_EV_MESSAGE) return ev.bytes;
            size_t used = strlen(notes);
            snprintf(notes + used, nlen - used, "%s\n", ev.bytes);
            free(ev.bytes);
        }
        nap(10);
    }
    return NULL;
}

/* What a server answers is sent back in request headers (its protocol
** version, its session id): a value with a line break in it would have
** put headers of the server's choosing into every later request, since
** libcurl sends a header line as it is given.  Such values are not taken,
** with a notice; a session id must be visible ASCII (the spec's rule). */
TEST(server_values_sent_back_in_headers_cannot_add_headers)
{
    static const char init_answer[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Mcp-Session-Id: s1\rX-Injected-By-Session: yes\r\nContent-Length: %d\r\n\r\n%s";
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":"
        "\"2025-06-18\\r\\nX-Injected-By-Version: yes\",\"capabilities\":{},"
        "\"serverInfo\":{\"name\":\"hostile\",\"version\":\"1\"}}}";
    static const char ping_answer[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}";
    char first[2048];
    snprintf(first, sizeof first, init_answer, (int)strlen(body), body);
    const char *answers[] = {first, ping_answer, NULL};
    raw_peer *rp = raw_peer_start(answers);
    ASSERT(rp);
    char url[64], err[256], notes[2048] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", rp->port);
    remote_options o = {.url = url, .kind = REMOTE_STREAMABLE, .max_message_bytes = 1 << 20};
    remote *r = remote_open(&o, err, sizeof err);
    ASSERT(r);
    static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                               "\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                               "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
    ASSERT_EQ_INT(remote_send(r, init, strlen(init)), 0);
    char *m1 = next_message(r, notes, sizeof notes);
    ASSERT_EQ_INT(remote_send(r, ping, strlen(ping)), 0);
    char *m2 = next_message(r, notes, sizeof notes);
    remote_close(r, 1000);
    static char got[sizeof rp->got];
    memcpy(got, rp->got, sizeof got);
    raw_peer_stop(rp);
    ASSERT(m1 && m2);
    ASSERT_CONTAINS(m2, "\"id\":2");
    free(m1);
    free(m2);
    ASSERT(strstr(got, "\"method\":\"ping\""));
    if (strstr(got, "X-Injected")) TEST_FAIL_("a server's value added a header:\n%s", got);
    ASSERT_CONTAINS(notes, "protocolVersion");
    ASSERT_CONTAINS(notes, "MCP-Session-Id");
}

TEST_MAIN(TEST_ENTRY(session_404_answers_cleanly_until_the_client_initializes_again)
          TEST_ENTRY(dropped_stream_resumes_with_last_event_id_without_duplicates)
          TEST_ENTRY(a_client_that_does_not_read_stops_the_reading_at_the_outbox_limit)
          TEST_ENTRY(get_stream_carries_the_servers_own_notifications_and_delete_ends_the_session)
          TEST_ENTRY(sse_transport_of_2024_11_05)
          TEST_ENTRY(auto_falls_back_to_sse_when_post_is_refused)
          TEST_ENTRY(modern_probe_of_a_legacy_server_gets_its_error_then_initialize_works)
          TEST_ENTRY(http_errors_and_redirects_are_answered_with_errors)
          TEST_ENTRY(messages_over_the_size_limit_are_refused)
          TEST_ENTRY(unreachable_server_answers_each_request_with_an_error)
          TEST_ENTRY(modern_requests_carry_the_mirrored_headers)
          TEST_ENTRY(server_bytes_are_relayed_unchanged)
          TEST_ENTRY(modern_cancellation_closes_the_answer_stream)
          TEST_ENTRY(modern_cancellation_naming_the_id_in_another_spelling_closes_its_stream)
          TEST_ENTRY(modern_subscriptions_listen_stream_stays_open)
          TEST_ENTRY(oauth_expired_and_revoked_tokens_are_refreshed)
          TEST_ENTRY(oauth_step_up_on_insufficient_scope)
          TEST_ENTRY(oauth_uses_a_client_id_metadata_document_where_supported)
          TEST_ENTRY(oauth_refuses_metadata_for_another_issuer_or_resource)
          TEST_ENTRY(auth_login_ahead_of_time_then_list_and_logout)
          TEST_ENTRY(auth_command_authorizes_lists_and_logs_out)
          TEST_ENTRY(server_values_sent_back_in_headers_cannot_add_headers))
