/*
** test_relay.c: wrap's relay in-process, through src/relay/relay_testing.h.
**
** Each case hands client lines and server messages to a relay over a store
** in memory (or none, as when the trail cannot be opened), with a
** transport that keeps what reaches the server and a memfd as the
** client's stdout, then reads back what each side got and what was
** recorded: answers matched to their requests by the value of their ids,
** the in-flight table's bounds, and refusals when memory runs out.
**
** Memory runs out where a case says: this binary is linked with
** -Wl,--wrap=rpc_reply_error, -Wl,--wrap=strdup and -Wl,--wrap=malloc
** (tests/CMakeLists.txt), so the relay's calls to those reach the
** __wrap_ functions below, which fail while fail_replies is set, for the
** string fail_strdup_of, or for an allocation of fail_malloc_size bytes
** (the outbox's copy of a line of a length no other allocation has).
** Nothing in the relay knows.
*/
#define _GNU_SOURCE /* memfd_create */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "protocol/rpc.h"
#include "relay/relay.h"
#include "relay/relay_testing.h"
#include "relay/transport.h"
#include "store/store.h"
#include "test.h"

/* ---- memory that runs out on demand --------------------------------------- */

static int fail_replies;            /* rpc_reply_error() finds no memory */
static const char *fail_strdup_of;  /* strdup() of this string finds none */
static size_t fail_malloc_size;     /* malloc() of this many bytes finds none */

char *__real_rpc_reply_error(const char *id, int code, const char *message, cJSON *data);
char *__wrap_rpc_reply_error(const char *id, int code, const char *message, cJSON *data);
char *__real_strdup(const char *s);
char *__wrap_strdup(const char *s);
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_malloc_size && n == fail_malloc_size ? NULL : __real_malloc(n);
}

char *__wrap_rpc_reply_error(const char *id, int code, const char *message, cJSON *data)
{
    if (!fail_replies) return __real_rpc_reply_error(id, code, message, data);
    cJSON_Delete(data);
    return NULL;
}

char *__wrap_strdup(const char *s)
{
    return fail_strdup_of && strcmp(s, fail_strdup_of) == 0 ? NULL : __real_strdup(s);
}

/* ---- the fake server and the relay ----------------------------------------- */

/* What reached the server, one message a line. */
static char *to_server;
static size_t to_server_len;

static int ft_fd(transport *t) { (void)t; return -1; }
static int ft_next(transport *t, const char **msg, size_t *len)
{
    (void)t, (void)msg, (void)len;
    return TRANSPORT_AGAIN;
}
static int ft_send(transport *t, const char *msg, size_t len)
{
    (void)t;
    char *n = realloc(to_server, to_server_len + len + 2);
    if (!n) return -1;
    to_server = n;
    memcpy(to_server + to_server_len, msg, len);
    to_server_len += len;
    to_server[to_server_len++] = '\n';
    to_server[to_server_len] = '\0';
    return 0;
}
static void ft_shut(transport *t) { (void)t; }
static void ft_stop(transport *t, int force) { (void)t, (void)force; }
static int ft_ended(transport *t, int block, int *status)
{
    (void)t, (void)block;
    *status = 0;
    return 1;
}
static void ft_free(transport *t) { (void)t; }
static const transport_ops fake_ops = {ft_fd, ft_next, ft_send, ft_shut, ft_stop, ft_ended,
                                       ft_free};
static transport fake = {&fake_ops};

typedef struct fx {
    store *st;           /* NULL: no trail */
    relay *r;
    int out;             /* the client's stdout */
    char *client_text;   /* what it got, read by client_got() */
    cJSON *trail;        /* read by trail() */
    relay_options o;
} fx;

static int fx_open(fx *f, int with_trail, int fail_open)
{
    static char *const argv[] = {"fake-mcp", NULL};
    char err[STORE_ERRLEN];
    memset(f, 0, sizeof *f);
    free(to_server);
    to_server = NULL;
    to_server_len = 0;
    fail_replies = 0;
    fail_strdup_of = NULL;
    fail_malloc_size = 0;
    store_options so = {.path = ":memory:"};
    if (with_trail && store_open(&so, &f->st, err) != STORE_OK) return -1;
    f->out = memfd_create("test-relay-client", MFD_CLOEXEC);
    f->o = (relay_options){.argv = argv, .actor = "tester", .fail_open = fail_open,
                           .max_message_bytes = 1 << 20, .max_depth = 64, .in_fd = -1,
                           .out_fd = f->out};
    f->r = f->out >= 0 ? relay_testing_new(&f->o, f->st, &fake) : NULL;
    return f->r ? 0 : -1;
}

static void fx_close(fx *f)
{
    relay_testing_free(f->r);
    store_close(f->st);
    if (f->out >= 0) close(f->out);
    free(f->client_text);
    cJSON_Delete(f->trail);
    free(to_server);
    to_server = NULL;
    to_server_len = 0;
}

static void client(fx *f, const char *line)
{
    relay_testing_client(f->r, FRAME_LINE, line, strlen(line));
}

static void server(fx *f, const char *line)
{
    relay_testing_server(f->r, TRANSPORT_MSG, line, strlen(line));
}

static const char *server_got(void) { return to_server ? to_server : ""; }

/* Everything the client got so far, one message a line. */
static const char *client_got(fx *f)
{
    off_t end = lseek(f->out, 0, SEEK_END);
    free(f->client_text);
    f->client_text = calloc(1, end > 0 ? (size_t)end + 1 : 1);
    if (f->client_text && end > 0 && pread(f->out, f->client_text, (size_t)end, 0) != end)
        f->client_text[0] = '\0';
    return f->client_text ? f->client_text : "";
}

/* Every entry recorded so far, as a client of `query --json` reads them. */
static const cJSON *trail(fx *f)
{
    char err[STORE_ERRLEN];
    cJSON *e = NULL;
    store_query q = {.limit = 100000};
    cJSON_Delete(f->trail);
    f->trail = NULL;
    if (store_find(f->st, &q, &e, NULL, err) != STORE_OK) return NULL;
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    f->trail = text ? cJSON_Parse(text) : NULL;
    cJSON_free(text);
    return f->trail;
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The entry of type whose operation_id is op_id, or NULL. */
static const cJSON *entry(const cJSON *t, const char *type, const char *op_id)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
        const char *et = str_of(e, "event_type"), *oid = str_of(e, "operation_id");
        if (et && oid && strcmp(et, type) == 0 && strcmp(oid, op_id) == 0) return e;
    }
    return NULL;
}

/* How many entries complete e. */
static int outcomes(const cJSON *t, const cJSON *e)
{
    const char *id = str_of(e, "id");
    int n = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, t) {
        const char *c = str_of(o, "completes");
        n += id && c && strcmp(c, id) == 0;
    }
    return n;
}

/* The entry that completes e, or NULL. */
static const cJSON *outcome(const cJSON *t, const cJSON *e)
{
    const char *id = str_of(e, "id");
    const cJSON *o;
    cJSON_ArrayForEach(o, t) {
        const char *c = str_of(o, "completes");
        if (id && c && strcmp(c, id) == 0) return o;
    }
    return NULL;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static char *call_line(char *buf, size_t cap, const char *id, const char *tool)
{
    snprintf(buf, cap, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
                       "\"params\":{\"name\":\"%s\",\"arguments\":{}}}", id, tool);
    return buf;
}

static char *answer_line(char *buf, size_t cap, const char *id)
{
    snprintf(buf, cap, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[]}}", id);
    return buf;
}

/* ---- ids matched by value -------------------------------------------------- */

/* cJSON holds a batch element's id as a double, in which 9007199254740993
** is 9007199254740992: each must keep its own digits, in its record and
** in the matching of its answer. */
TEST(big_integer_ids_in_a_batch_kept_apart)
{
    fx f;
    ASSERT(fx_open(&f, 1, 0) == 0);
    client(&f, "[{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"tools/call\","
               "\"params\":{\"name\":\"odd\"}},{\"jsonrpc\":\"2.0\",\"id\":9007199254740992,"
               "\"method\":\"tools/call\",\"params\":{\"name\":\"even\"}}]");
    relay_testing_flush(f.r);
    server(&f, "{\"jsonrpc\":\"2.0\",\"id\":9007199254740992,\"result\":{\"content\":[]}}");
    relay_testing_flush(f.r);
    const cJSON *t = trail(&f);
    ASSERT(t);
    const cJSON *odd = entry(t, "tool_call", "9007199254740993");
    const cJSON *even = entry(t, "tool_call", "9007199254740992");
    ASSERT(odd && even);
    ASSERT_EQ_STR(str_of(odd, "operation_name"), "odd");
    ASSERT_EQ_STR(str_of(even, "operation_name"), "even");
    ASSERT_EQ_INT(outcomes(t, odd), 0);
    ASSERT_EQ_INT(outcomes(t, even), 1);
    server(&f, "{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"result\":{\"isError\":true}}");
    relay_testing_flush(f.r);
    t = trail(&f);
    ASSERT(t);
    odd = entry(t, "tool_call", "9007199254740993");
    ASSERT(odd && outcome(t, odd));
    ASSERT_EQ_STR(str_of(outcome(t, odd), "error"), "the tool returned isError");
    ASSERT_EQ_STR(str_of(outcome(t, odd), "operation_id"), "9007199254740993");
    fx_close(&f);
}

/* The same for messages of their own, and for a server that re-spells a
** client's id: each answer goes to the request of its exact value. */
TEST(answers_matched_by_exact_value_of_their_ids)
{
    fx f;
    char line[256];
    ASSERT(fx_open(&f, 1, 0) == 0);
    client(&f, call_line(line, sizeof line, "9007199254740993", "odd"));
    client(&f, call_line(line, sizeof line, "9007199254740992", "even"));
    client(&f, call_line(line, sizeof line, "1.50e1", "fifteen"));
    relay_testing_flush(f.r);
    server(&f, answer_line(line, sizeof line, "9007199254740992"));
    server(&f, answer_line(line, sizeof line, "15"));
    relay_testing_flush(f.r);
    const cJSON *t = trail(&f);
    ASSERT(t);
    ASSERT_EQ_INT(outcomes(t, entry(t, "tool_call", "9007199254740993")), 0);
    ASSERT_EQ_INT(outcomes(t, entry(t, "tool_call", "9007199254740992")), 1);
    ASSERT_EQ_INT(outcomes(t, entry(t, "tool_call", "1.50e1")), 1);
    fx_close(&f);
}

/* The server's requests to the client share the table: the client's
** answer 1e1 to the server's request 10 is its outcome. */
TEST(server_request_answered_in_another_spelling_linked)
{
    fx f;
    ASSERT(fx_open(&f, 1, 0) == 0);
    server(&f, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"roots/list\"}");
    relay_testing_flush(f.r);
    client(&f, "{\"jsonrpc\":\"2.0\",\"id\":1e1,\"result\":{\"roots\":[]}}");
    relay_testing_flush(f.r);
    const cJSON *t = trail(&f);
    ASSERT(t);
    const cJSON *req = entry(t, "mcp_server_request", "10");
    ASSERT(req);
    ASSERT_EQ_INT(outcomes(t, req), 1);
    ASSERT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(outcome(t, req), "result"), "roots")));
    fx_close(&f);
}

/* A cancellation inside a batch names its request by value too. */
TEST(cancellation_in_a_batch_names_its_request_by_value)
{
    fx f;
    char line[256];
    ASSERT(fx_open(&f, 1, 0) == 0);
    client(&f, call_line(line, sizeof line, "2.0", "slow"));
    relay_testing_flush(f.r);
    client(&f, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
               "\"params\":{\"requestId\":2}}]");
    relay_testing_flush(f.r);
    const cJSON *t = trail(&f);
    ASSERT(t);
    const cJSON *call = entry(t, "tool_call", "2.0");
    ASSERT(call && outcome(t, call));
    ASSERT_EQ_STR(str_of(outcome(t, call), "error"), "cancelled");
    fx_close(&f);
}

/* ---- the in-flight table's bounds ------------------------------------------ */

/* A server that answers nothing: the table keeps the newest requests, and
** each request it stops following gets an outcome saying so; an answer
** that comes for one later is relayed as it came and recorded nowhere. */
TEST(in_flight_table_bounded_oldest_no_longer_followed)
{
    fx f;
    char line[256], line2[256], id[16];
    ASSERT(fx_open(&f, 1, 0) == 0);
    relay_testing_bound_flights(f.r, 4, 1 << 20);
    for (int i = 1; i <= 10; i++) {
        snprintf(id, sizeof id, "%d", i);
        client(&f, call_line(line, sizeof line, id, "hang"));
        relay_testing_flush(f.r);
        ASSERT(relay_testing_flights(f.r, NULL) <= 4);
    }
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 4);
    ASSERT_EQ_INT(count_of(server_got(), "\"method\":\"tools/call\""), 10);
    const cJSON *t = trail(&f);
    ASSERT(t);
    for (int i = 1; i <= 10; i++) {
        snprintf(id, sizeof id, "%d", i);
        const cJSON *call = entry(t, "tool_call", id);
        ASSERT(call);
        ASSERT_EQ_INT(outcomes(t, call), i <= 6);
        if (i <= 6)
            ASSERT_EQ_STR(str_of(outcome(t, call), "error"),
                          "no answer followed: more than 4 requests in flight");
    }
    const char *late = answer_line(line, sizeof line, "2");
    server(&f, late);
    server(&f, answer_line(line2, sizeof line2, "9"));
    relay_testing_flush(f.r);
    ASSERT_CONTAINS(client_got(&f), late);
    t = trail(&f);
    ASSERT(t);
    ASSERT_EQ_INT(outcomes(t, entry(t, "tool_call", "2")), 1);
    const cJSON *nine = outcome(t, entry(t, "tool_call", "9"));
    ASSERT(nine && !str_of(nine, "error"));
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 3);
    fx_close(&f);
}

/* Large ids fill the table by bytes before they do by count. */
TEST(in_flight_table_bounded_by_bytes)
{
    fx f;
    char id[1100], line[1400];
    ASSERT(fx_open(&f, 1, 0) == 0);
    relay_testing_bound_flights(f.r, 1000, 8192);
    for (int i = 0; i < 40; i++) {
        int n = snprintf(id, sizeof id, "\"%d-", i);
        memset(id + n, 'x', 1000);
        strcpy(id + n + 1000, "\"");
        client(&f, call_line(line, sizeof line, id, "hang"));
        relay_testing_flush(f.r);
        size_t bytes;
        size_t nfl = relay_testing_flights(f.r, &bytes);
        ASSERT(nfl >= 1 && nfl < 10);
        ASSERT(bytes <= 8192);
    }
    const cJSON *t = trail(&f);
    ASSERT(t);
    int dropped = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
        const char *err = str_of(e, "error");
        dropped += err && strcmp(err, "no answer followed: requests in flight holding "
                                      "more than 8192 bytes") == 0;
    }
    ASSERT(dropped > 30);
    fx_close(&f);
}

/* With the real bounds, a flood of requests nobody answers leaves the
** table at RELAY_MAX_FLIGHTS (4096) requests, not one more. */
TEST(unanswered_flood_leaves_the_table_at_its_bound)
{
    fx f;
    char line[128];
    ASSERT(fx_open(&f, 0, 0) == 0);
    for (int i = 0; i < 6000; i++) {
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}", i);
        client(&f, line);
        if (i % 100 == 99) relay_testing_flush(f.r);
    }
    relay_testing_flush(f.r);
    size_t bytes;
    ASSERT_EQ_INT(relay_testing_flights(f.r, &bytes), 4096);
    ASSERT(bytes <= 8 << 20);
    ASSERT_EQ_INT(count_of(server_got(), "\"method\":\"ping\""), 6000);
    fx_close(&f);
}

/* What wrap says on stderr while the table is full: one notice a streak,
** a streak ending when the table is down to half its bound. */
TEST(flight_bound_noticed_once_a_streak)
{
    fx f;
    char line[256], id[16], path[] = "/tmp/test-relay-stderr-XXXXXX";
    int log = mkstemp(path), saved = dup(2);
    ASSERT(log >= 0 && saved >= 0);
    unlink(path);
    ASSERT(fx_open(&f, 0, 0) == 0);
    relay_testing_bound_flights(f.r, 4, 1 << 20);
    fflush(stderr);
    dup2(log, 2);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 10; i++) {
            snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}",
                     round * 100 + i);
            client(&f, line);
            relay_testing_flush(f.r);
        }
        for (int i = 6; i < 10; i++) {
            snprintf(id, sizeof id, "%d", round * 100 + i);
            server(&f, answer_line(line, sizeof line, id));
        }
        relay_testing_flush(f.r);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[2048] = "";
    ssize_t n = pread(log, text, sizeof text - 1, 0);
    close(log);
    text[n > 0 ? n : 0] = '\0';
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 0);
    fx_close(&f);
    ASSERT_EQ_INT(count_of(text, "more than 4 requests in flight"), 2);
}

/* ---- refusals when memory runs out ----------------------------------------- */

/* No trail, and no memory to build the refusal: the request is still
** refused (with its id as it came), never forwarded unrecorded. */
TEST(refusal_that_finds_no_memory_still_refuses)
{
    fx f;
    char line[256];
    ASSERT(fx_open(&f, 0, 0) == 0);
    fail_replies = 1;
    client(&f, call_line(line, sizeof line, "\"q-\\u0031\"", "echo"));
    relay_testing_flush(f.r);
    fail_replies = 0;
    ASSERT_EQ_STR(server_got(), "");
    const char *got = client_got(&f);
    ASSERT_CONTAINS(got, "\"id\":\"q-\\u0031\"");
    ASSERT_CONTAINS(got, "\"code\":-32001");
    cJSON *reply = cJSON_Parse(got);
    ASSERT(reply);
    cJSON_Delete(reply);
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 0);
    fx_close(&f);
}

TEST(batch_refusal_that_finds_no_memory_still_refuses)
{
    fx f;
    ASSERT(fx_open(&f, 0, 0) == 0);
    fail_replies = 1;
    client(&f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
               "\"params\":{\"name\":\"echo\"}},{\"jsonrpc\":\"2.0\",\"id\":2,"
               "\"method\":\"ping\"}]");
    relay_testing_flush(f.r);
    fail_replies = 0;
    ASSERT_EQ_STR(server_got(), "");
    const char *got = client_got(&f);
    ASSERT_CONTAINS(got, "\"id\":null");
    ASSERT_CONTAINS(got, "\"code\":-32001");
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 0);
    fx_close(&f);
}

/* No memory for the request's flight, which its record needs: the request
** is refused, not forwarded without a record. */
TEST(request_that_finds_no_memory_for_its_flight_is_refused)
{
    fx f;
    char line[256];
    ASSERT(fx_open(&f, 1, 0) == 0);
    fail_strdup_of = "tools/call";
    client(&f, call_line(line, sizeof line, "7", "echo"));
    relay_testing_flush(f.r);
    fail_strdup_of = NULL;
    ASSERT_EQ_STR(server_got(), "");
    ASSERT_CONTAINS(client_got(&f), "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32001");
    fx_close(&f);
}

TEST(batch_with_a_request_that_finds_no_memory_is_refused)
{
    fx f;
    ASSERT(fx_open(&f, 1, 0) == 0);
    fail_strdup_of = "tools/call";
    client(&f, "[{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\","
               "\"params\":{\"name\":\"echo\"}}]");
    relay_testing_flush(f.r);
    fail_strdup_of = NULL;
    ASSERT_EQ_STR(server_got(), "");
    ASSERT_CONTAINS(client_got(&f), "[{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":-32001");
    fx_close(&f);
}

/* --fail-open: the user asked for the call to go even unrecorded. */
TEST(request_that_finds_no_memory_forwarded_with_fail_open)
{
    fx f;
    char line[256];
    ASSERT(fx_open(&f, 1, 1) == 0);
    fail_strdup_of = "tools/call";
    client(&f, call_line(line, sizeof line, "9", "echo"));
    relay_testing_flush(f.r);
    fail_strdup_of = NULL;
    char want[300];
    snprintf(want, sizeof want, "%s\n", line);
    ASSERT_EQ_STR(server_got(), want);
    ASSERT_EQ_STR(client_got(&f), "");
    fx_close(&f);
}

/* head, 'p' bytes, then tail: a line of exactly len bytes (len < cap), of
** a length no other allocation has, so that fail_malloc_size can name the
** outbox's copy of it. */
static const char *padded(char *buf, size_t cap, const char *head, const char *tail, size_t len)
{
    size_t h = strlen(head), t = strlen(tail);
    if (len >= cap || h + t > len) abort();
    memcpy(buf, head, h);
    memset(buf + h, 'p', len - h - t);
    memcpy(buf + len - t, tail, t + 1);
    return buf;
}

/* No memory to queue a request for the server: it is not forwarded, the
** client gets an error for it at once rather than waiting for ever, and
** its record's outcome says why. */
TEST(request_the_outbox_cannot_take_is_answered_and_its_outcome_recorded)
{
    fx f;
    char line[4096];
    ASSERT(fx_open(&f, 1, 0) == 0);
    padded(line, sizeof line,
           "{\"jsonrpc\":\"2.0\",\"id\":\"o-1\",\"method\":\"tools/call\",\"params\":"
           "{\"name\":\"echo\",\"arguments\":{\"pad\":\"", "\"}}}", 3001);
    ASSERT_EQ_INT((int)strlen(line), 3001);
    fail_malloc_size = 3002;
    client(&f, line);
    fail_malloc_size = 0;
    relay_testing_flush(f.r);
    ASSERT_EQ_STR(server_got(), "");
    ASSERT_CONTAINS(client_got(&f), "{\"jsonrpc\":\"2.0\",\"id\":\"o-1\",\"error\":{\"code\":-32603,"
                                    "\"message\":\"wrap ran out of memory: the request was not "
                                    "forwarded\"}}");
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 0);
    const cJSON *t = trail(&f), *call = entry(t, "tool_call", "o-1");
    ASSERT(call);
    ASSERT_EQ_INT(outcomes(t, call), 1);
    ASSERT_CONTAINS(str_of(outcome(t, call), "error"), "the request was not forwarded");
    fx_close(&f);
}

/* No memory to queue the server's answer: the client gets an error with
** its request's id in its place. */
TEST(answer_the_outbox_cannot_take_becomes_an_error_for_the_client)
{
    fx f;
    char line[256], answer[4096];
    ASSERT(fx_open(&f, 1, 0) == 0);
    client(&f, call_line(line, sizeof line, "12", "echo"));
    relay_testing_flush(f.r);
    padded(answer, sizeof answer,
           "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{\"content\":[],\"pad\":\"", "\"}}", 3000);
    ASSERT_EQ_INT((int)strlen(answer), 3000);
    fail_malloc_size = 3001;
    server(&f, answer);
    fail_malloc_size = 0;
    relay_testing_flush(f.r);
    ASSERT_CONTAINS(client_got(&f), "{\"jsonrpc\":\"2.0\",\"id\":12,\"error\":{\"code\":-32603,"
                                    "\"message\":\"wrap ran out of memory: the server's answer "
                                    "was lost\"}}");
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 0);
    fx_close(&f);
}

/* No memory to queue a batch of the server's answers: each request it
** answered gets an error with its id, and nothing is left in flight. */
TEST(batch_of_answers_the_outbox_cannot_take_becomes_an_error_for_each)
{
    fx f;
    char line[256], answer[4096];
    ASSERT(fx_open(&f, 1, 0) == 0);
    client(&f, call_line(line, sizeof line, "12", "echo"));
    client(&f, call_line(line, sizeof line, "\"b\"", "echo"));
    relay_testing_flush(f.r);
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 2);
    padded(answer, sizeof answer,
           "[{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"result\":{\"content\":[]}},"
           "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}},"
           "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{\"content\":[],\"pad\":\"",
           "\"}}]", 3000);
    ASSERT_EQ_INT((int)strlen(answer), 3000);
    fail_malloc_size = 3001;
    server(&f, answer);
    fail_malloc_size = 0;
    relay_testing_flush(f.r);
    const char *got = client_got(&f);
    ASSERT_CONTAINS(got, "{\"jsonrpc\":\"2.0\",\"id\":12,\"error\":{\"code\":-32603,"
                         "\"message\":\"wrap ran out of memory: the server's answer was lost\"}}");
    ASSERT_CONTAINS(got, "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"error\":{\"code\":-32603,"
                         "\"message\":\"wrap ran out of memory: the server's answer was lost\"}}");
    ASSERT(strstr(got, "notifications/message") == NULL);
    ASSERT_EQ_INT(relay_testing_flights(f.r, NULL), 0);
    fx_close(&f);
}

TEST_MAIN(
    TEST_ENTRY(big_integer_ids_in_a_batch_kept_apart)
    TEST_ENTRY(answers_matched_by_exact_value_of_their_ids)
    TEST_ENTRY(server_request_answered_in_another_spelling_linked)
    TEST_ENTRY(cancellation_in_a_batch_names_its_request_by_value)
    TEST_ENTRY(in_flight_table_bounded_oldest_no_longer_followed)
    TEST_ENTRY(in_flight_table_bounded_by_bytes)
    TEST_ENTRY(unanswered_flood_leaves_the_table_at_its_bound)
    TEST_ENTRY(flight_bound_noticed_once_a_streak)
    TEST_ENTRY(refusal_that_finds_no_memory_still_refuses)
    TEST_ENTRY(request_the_outbox_cannot_take_is_answered_and_its_outcome_recorded)
    TEST_ENTRY(answer_the_outbox_cannot_take_becomes_an_error_for_the_client)
    TEST_ENTRY(batch_of_answers_the_outbox_cannot_take_becomes_an_error_for_each)
    TEST_ENTRY(batch_refusal_that_finds_no_memory_still_refuses)
    TEST_ENTRY(request_that_finds_no_memory_for_its_flight_is_refused)
    TEST_ENTRY(batch_with_a_request_that_finds_no_memory_is_refused)
    TEST_ENTRY(request_that_finds_no_memory_forwarded_with_fail_open)
)
