/*
** fuzz_relay.c: a libFuzzer target for `wrap`'s relay (src/relay/relay.c)
** between a client and a wrapped MCP server that may be hostile or broken.
**
** The first input byte chooses the options: what of a tools/call result
** is kept (bits 0-1), no trail at all, as when the database cannot be
** opened (bit 2), --fail-open (bit 3), --name (bit 4), a remote server's
** URL instead of a command (bit 5), whether the server ends after the
** last line, answering what is still in flight (bit 6), and an in-flight
** table of 3 requests and 1 KiB, so that short inputs overflow it (bit 7).
** The rest is lines; the first byte of each says who sends the rest of it
** and whether the poll iteration ends after it: '>' the client, then a
** flush; '<' the server, then a flush; any other byte: bit 0 the side (1:
** the server), bit 1 a flush.  Lines are cut as the framers cut them (a CR
** before the newline dropped; longer than the limit: too long).
**
** Everything goes through relay_testing.h: the relay's own classification,
** records, outbox and refusals, with a fake transport that keeps what is
** sent to the server, a memfd as the client's stdout, and an in-memory
** store, renewed every FUZZ_STORE_RENEW inputs (opening one costs
** milliseconds; a store kept for long makes the leak check's scan of the
** heap the slowest part).
**
** Besides the sanitizers, the target checks and aborts when broken:
**   - each valid line from the client reaches the server byte for byte,
**     or is refused with a -32001 error (an array of them for a batch);
**     with a working trail nothing is refused, and without one (and
**     without --fail-open) no recorded request ever reaches the server;
**   - an invalid client line gets one error reply and is not forwarded, a
**     blank one (spaces, tabs) neither, as in serve;
**   - each valid message from the server reaches the client byte for
**     byte; its invalid or too long ones are not forwarded;
**   - everything the relay writes itself is one line of JSON-RPC 2.0: an
**     object with "jsonrpc":"2.0", an id that is a string, a number or
**     null, and an error with an integer code and a string message (or a
**     non-empty array of such);
**   - every entry it records has JSON in its JSON columns and UTF-8 in its
**     text, and the store is not left inside a transaction.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=8192
** fuzz sources: src/relay/relay.c src/relay/transport_stdio.c src/relay/transport_http.c src/remote/sse.c src/remote/httpc.c src/remote/mcphdr.c src/remote/remote.c src/auth/pkce.c src/auth/tokens.c src/auth/loopback.c src/auth/oauth.c src/auth/authcmd.c
** fuzz packages: libcurl libmicrohttpd
*/
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "protocol/frame.h"
#include "protocol/rpc.h"
#include "record/record.h"
#include "relay/relay.h"
#include "relay/relay_testing.h"
#include "relay/transport.h"
#include "store/entry.h"
#include "store/store.h"
#include "util/jsoncheck.h"

/* Small limits so that short inputs reach the limit paths too. */
#define FUZZ_MAX_MESSAGE 4096
#define FUZZ_MAX_DEPTH 16
#define FUZZ_STORE_RENEW 200

static FILE *report; /* the real stderr; the relay's own chatter is muted */
static store *st;
static int store_uses;
static int out_fd = -1;

static void die(const char *what, const char *detail, size_t n)
{
    fprintf(report, "fuzz_relay: %s: %.*s\n", what, (int)(n > 400 ? 400 : n),
            detail ? detail : "(null)");
    fflush(report);
    abort();
}

/* ---- the fake server side ------------------------------------------------ */

typedef struct msgs {
    char **p;
    size_t *len;
    size_t n, cap;
} msgs;

static void msgs_add(msgs *m, const char *p, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 32;
        m->p = realloc(m->p, m->cap * sizeof *m->p);
        m->len = realloc(m->len, m->cap * sizeof *m->len);
        if (!m->p || !m->len) die("msgs", "out of memory", 13);
    }
    char *c = malloc(len + 1);
    if (!c) die("msgs", "out of memory", 13);
    memcpy(c, p, len);
    c[len] = '\0';
    m->p[m->n] = c;
    m->len[m->n++] = len;
}

static void msgs_clear(msgs *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->p[i]);
    m->n = 0;
}

static msgs to_server, to_client;

static int ft_fd(transport *t) { (void)t; return -1; }
static int ft_next(transport *t, const char **msg, size_t *len)
{
    (void)t, (void)msg, (void)len;
    return TRANSPORT_AGAIN;
}
static int ft_send(transport *t, const char *msg, size_t len)
{
    (void)t;
    if (memchr(msg, '\n', len)) die("a message to the server holds a newline", msg, len);
    msgs_add(&to_server, msg, len);
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

/* ---- checks ---------------------------------------------------------------- */

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

/* One error object the relay made: its code, or die. */
static int error_object(const cJSON *r, const char *line, size_t n)
{
    if (!cJSON_IsObject(r)) die("a reply is not a JSON object", line, n);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0)
        die("a reply lacks jsonrpc 2.0", line, n);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    if (!id) die("a reply lacks an id", line, n);
    if (!cJSON_IsString(id) && !cJSON_IsNumber(id) && !cJSON_IsNull(id))
        die("a reply's id is not a string, a number or null", line, n);
    if (cJSON_GetObjectItemCaseSensitive(r, "result")) die("an error reply has a result", line, n);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    if (!cJSON_IsNumber(code) || code->valuedouble != (double)(int)code->valuedouble)
        die("an error without an integer code", line, n);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")))
        die("an error without a message", line, n);
    return (int)code->valuedouble;
}

/* A line the relay wrote itself: one JSON-RPC error reply (or a batch of
** them, when batch_ok) whose codes are all want (0: any).  Returns the
** code. */
static int own_reply(const char *line, size_t n, int want, int batch_ok)
{
    size_t at;
    if (n == 0 || memchr(line, '\r', n)) die("a reply is not one line", line, n);
    if (jsoncheck_utf8(line, n, &at)) die("a reply is not UTF-8", line, n);
    char why[160];
    if (jsoncheck(line, n, 64, why, sizeof why) != JSONCHECK_OK) die("a reply is not JSON", line, n);
    cJSON *r = cJSON_ParseWithLength(line, n);
    if (!r) die("a reply cannot be parsed", line, n);
    int code = 0;
    if (cJSON_IsArray(r)) {
        if (!batch_ok) die("an array where one reply was due", line, n);
        if (!r->child) die("an empty batch reply", line, n);
        for (const cJSON *c = r->child; c; c = c->next) code = error_object(c, line, n);
        for (const cJSON *c = r->child; c; c = c->next)
            if (want && error_object(c, line, n) != want) die("a reply of another code", line, n);
    } else {
        code = error_object(r, line, n);
        if (want && code != want) die("a reply of another code", line, n);
    }
    cJSON_Delete(r);
    return code;
}

static int recorded_method(const char *m)
{
    return !strcmp(m, "tools/call") || !strcmp(m, "initialize") ||
           !strcmp(m, "resources/read") || !strcmp(m, "prompts/get");
}

static int recorded_request(const cJSON *o)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "method");
    return cJSON_IsObject(o) && cJSON_IsString(m) && recorded_method(m->valuestring) &&
           cJSON_GetObjectItemCaseSensitive(o, "id");
}

/* Whether a client line holds a request the relay records. */
static int holds_recorded_request(const char *line, size_t n)
{
    cJSON *r = cJSON_ParseWithLength(line, n);
    int hit = 0;
    if (cJSON_IsArray(r)) {
        for (const cJSON *c = r->child; c && !hit; c = c->next) hit = recorded_request(c);
    } else {
        hit = recorded_request(r);
    }
    cJSON_Delete(r);
    return hit;
}

/* ---- what happened to each line -------------------------------------------- */

enum { EV_CLIENT_VALID, EV_CLIENT_INVALID, EV_CLIENT_BLANK, EV_SERVER_VALID, EV_SERVER_DROP };

typedef struct event {
    int kind;
    const char *p;
    size_t n;
} event;

static rpc_kind kind_of(const char *line, size_t n)
{
    rpc_message msg;
    char *reply = NULL;
    rpc_limits lim = {.max_depth = FUZZ_MAX_DEPTH};
    rpc_kind k = rpc_parse(line, n, &lim, &msg, &reply);
    if (k == RPC_KIND_INVALID) free(reply);
    else rpc_message_free(&msg);
    return k;
}

/* The client's stdout, as lines. */
static void read_client(void)
{
    off_t end = lseek(out_fd, 0, SEEK_END);
    if (end < 0) die("memfd", "seek", 4);
    char *all = malloc((size_t)end + 1);
    if (!all) die("memfd", "out of memory", 13);
    if (pread(out_fd, all, (size_t)end, 0) != end) die("memfd", "read", 4);
    size_t at = 0;
    while (at < (size_t)end) {
        char *nl = memchr(all + at, '\n', (size_t)end - at);
        if (!nl) die("the client's output does not end in a newline", all + at, (size_t)end - at);
        msgs_add(&to_client, all + at, (size_t)(nl - all - at));
        at = (size_t)(nl - all) + 1;
    }
    free(all);
}

/* ---- the entries ------------------------------------------------------------ */

typedef struct row_check {
    int64_t after;
} row_check;

static int check_row(void *ctx, const entry_row *row)
{
    row_check *c = ctx;
    if (row->seq <= c->after) return 1;
    for (int i = 0; i < ENTRY_NFIELDS; i++) {
        const entry_value *v = &row->v[i];
        if (!v->p || entry_fields[i].type == ENTRY_SEQ || entry_fields[i].type == ENTRY_HASH)
            continue;
        size_t at;
        char why[160];
        if (entry_fields[i].type == ENTRY_JSON) {
            if (jsoncheck(v->p, v->len, 100000, why, sizeof why) != JSONCHECK_OK)
                die(entry_fields[i].name, v->p, v->len);
        } else if (jsoncheck_utf8(v->p, v->len, &at)) {
            die(entry_fields[i].name, "is not UTF-8", 12);
        }
    }
    return 0;
}

/* ---- the target ------------------------------------------------------------- */

static void open_store(void)
{
    char err[STORE_ERRLEN];
    store_close(st);
    store_options so = {.path = ":memory:"};
    if (store_open(&so, &st, err) != STORE_OK) die("store_open", err, strlen(err));
    store_uses = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    int fd = dup(2);
    if (fd < 0 || !(report = fdopen(fd, "w"))) abort();
    /* The relay prints a server's non-JSON lines and its warnings on
    ** stderr: a flood the log does not need (sanitizers write to fd 2
    ** directly and still show). */
    FILE *null = fopen("/dev/null", "w");
    if (!null) abort();
    stderr = null;
    out_fd = memfd_create("fuzz-client-out", MFD_CLOEXEC);
    if (out_fd < 0) die("memfd_create", "failed", 6);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned opt = data[0];
    data++, size--;
    if (!st || ++store_uses > FUZZ_STORE_RENEW) open_store();
    if (ftruncate(out_fd, 0) != 0 || lseek(out_fd, 0, SEEK_SET) != 0) die("memfd", "reset", 5);
    char *const argv[] = {"/opt/servers/fake-mcp", NULL};
    int trail = !(opt & 4), fail_open = !!(opt & 8);
    relay_options o = {
        .argv = (opt & 32) ? NULL : argv,
        .url = (opt & 32) ? "https://user:secret@mcp.example.com/v1/mcp?key=abc#frag" : NULL,
        .name = (opt & 16) ? "named-server" : NULL,
        .actor = "fuzzer",
        .results = (record_results)((opt & 3) == 3 ? 0 : (opt & 3)),
        .fail_open = fail_open,
        .max_message_bytes = FUZZ_MAX_MESSAGE,
        .max_depth = FUZZ_MAX_DEPTH,
        .in_fd = -1,
        .out_fd = out_fd,
    };
    char err[STORE_ERRLEN], hash[CHAIN_HEX_LEN];
    int64_t head = 0;
    if (store_head(st, &head, hash, err) != STORE_OK) die("store_head", err, strlen(err));
    relay *r = relay_testing_new(&o, trail ? st : NULL, &fake);
    if (!r) die("relay_testing_new", "failed", 6);
    if (opt & 128) relay_testing_bound_flights(r, 3, 1024);

    event *ev = malloc((size / 2 + 2) * sizeof *ev);
    size_t nev = 0;
    if (!ev) die("events", "out of memory", 13);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        unsigned c = (unsigned char)*p;
        const char *line = p + 1;
        size_t n = line <= stop ? (size_t)(stop - line) : 0;
        p = nl ? nl + 1 : end;
        if (line > stop) continue; /* an empty line: no side byte */
        int server = c == '<' ? 1 : c == '>' ? 0 : (int)(c & 1);
        int do_flush = c == '<' || c == '>' || (c & 2);
        int too_long = n > FUZZ_MAX_MESSAGE;
        if (!too_long && n > 0 && line[n - 1] == '\r') n--;
        event *e = &ev[nev++];
        e->p = line;
        e->n = n;
        if (server) {
            relay_testing_server(r, too_long ? TRANSPORT_TOO_LONG : TRANSPORT_MSG, line, n);
            e->kind = !too_long && kind_of(line, n) != RPC_KIND_INVALID ? EV_SERVER_VALID
                                                                          : EV_SERVER_DROP;
        } else {
            relay_testing_client(r, too_long ? FRAME_TOO_LONG : FRAME_LINE, line, n);
            e->kind = too_long                                   ? EV_CLIENT_INVALID
                      : blank(line, n)                           ? EV_CLIENT_BLANK
                      : kind_of(line, n) == RPC_KIND_INVALID     ? EV_CLIENT_INVALID
                                                                 : EV_CLIENT_VALID;
        }
        if (do_flush) relay_testing_flush(r);
    }
    relay_testing_flush(r);
    if (opt & 64) relay_testing_server_ended(r, 3);
    relay_testing_free(r);
    if (store_in_transaction(st)) die("store", "left inside a transaction", 25);

    /* Walk the lines in the order they came against what each side got. */
    read_client();
    size_t gi = 0, li = 0;
    for (size_t k = 0; k < nev; k++) {
        const event *e = &ev[k];
        switch (e->kind) {
        case EV_CLIENT_VALID:
            if (gi < to_server.n && to_server.len[gi] == e->n &&
                memcmp(to_server.p[gi], e->p, e->n) == 0) {
                if (!trail && !fail_open && holds_recorded_request(e->p, e->n))
                    die("a recorded request reached the server without a trail", e->p, e->n);
                gi++;
                break;
            }
            if (li >= to_client.n)
                die("a client line was neither forwarded nor refused", e->p, e->n);
            own_reply(to_client.p[li], to_client.len[li], -32001, 1);
            if (trail) die("a line was refused with a working trail", e->p, e->n);
            if (fail_open) die("a line was refused with --fail-open", e->p, e->n);
            li++;
            break;
        case EV_CLIENT_INVALID:
            if (li >= to_client.n) die("an invalid client line got no reply", e->p, e->n);
            {
                int code = own_reply(to_client.p[li], to_client.len[li], 0, 0);
                if (code != -32700 && code != -32600)
                    die("an invalid client line got another code", to_client.p[li],
                        to_client.len[li]);
            }
            li++;
            break;
        case EV_CLIENT_BLANK:
            break;
        case EV_SERVER_VALID:
            if (li >= to_client.n || to_client.len[li] != e->n ||
                memcmp(to_client.p[li], e->p, e->n) != 0)
                die("a server message did not reach the client byte for byte", e->p, e->n);
            li++;
            break;
        default:
            break;
        }
    }
    if (gi != to_server.n)
        die("the server got a line nobody sent", to_server.p[gi], to_server.len[gi]);
    for (; li < to_client.n; li++) {
        if (!(opt & 64)) die("the client got a line nobody sent", to_client.p[li], to_client.len[li]);
        own_reply(to_client.p[li], to_client.len[li], -32002, 0);
    }
    msgs_clear(&to_server);
    msgs_clear(&to_client);
    free(ev);

    /* What this input recorded. */
    store_query q = {.limit = 1000000};
    row_check rc = {.after = head};
    if (trail && store_find_rows(st, &q, check_row, &rc, NULL, err) != STORE_OK)
        die("store_find_rows", err, strlen(err));
    return 0;
}
