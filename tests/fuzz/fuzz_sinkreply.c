/*
** fuzz_sinkreply.c: a libFuzzer target for what receivers answer to
** `ship`'s HTTP sinks (src/ship/), and for the --to URLs that name them.
**
** The first byte chooses the part; the rest is its input:
**   0  an OTLP ExportLogsServiceResponse (sink_otlp_partial_success), the
**      next two bytes the batch's record count: the rejected count must be
**      the one a reference decoder written here from the protobuf encoding
**      rules finds (the last rejected_log_records of the merged
**      partial_success, within [0, records]), -1 exactly when the
**      reference finds malformed protobuf, and the message printable;
**   1  an OTLP error answer (sink_otlp_status_message), the next byte
**      choosing its Content-Type: the message "" or ": " and printable;
**   2  a Splunk HEC answer (sink_hec_answer): the code -2, -1 or HEC's
**      range, an ackId an exact non-negative integer, the text printable;
**   3  a sink URL (sink_type_of, sink_url_parse with each default port,
**      sink_describe): a parsed URL has a host without spaces, control
**      characters or '/', a port in 1..65535 and a path that is "" or
**      begins with '/'; the description is bounded and never shows the
**      password of user:password@;
**   4  a whole HTTP response, read by libcurl through sink_http_post()
**      from a loopback TCP connection the target made: the status, the body kept, the
**      Content-Type, and the Retry-After delay within [0, 1 hour]; then
**      the decoders above on that answer.
** "Printable" is: valid UTF-8, no C0 or C1 control character nor DEL, and
** no longer than the module's bound (150 bytes for OTLP, 200 for HEC).
**
** Build and run with tests/fuzz/run.sh.
** fuzz sources: src/ship/sink.c src/ship/sink_http.c src/ship/sink_otlp.c src/ship/sink_hec.c src/ship/sink_webhook.c src/ship/sink_pg.c src/ship/sink_relp.c src/ship/sink_syslog.c
** fuzz packages: libcurl relp
*/
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ship/sink.h"
#include "ship/sink_int.h"
#include "util/jsoncheck.h"
#include "fuzz_util.h"

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_sinkreply", what, detail);
}

/* Printable, as the header says, and at most max bytes. */
static void check_printable(const char *s, size_t max, const char *what)
{
    size_t n = strlen(s), at;
    if (n > max) die(what, "longer than its bound");
    if (jsoncheck_utf8(s, n, &at)) die(what, "not valid UTF-8");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) die(what, "a control character");
        if (*c == 0xC2 && c[1] >= 0x80 && c[1] < 0xA0) die(what, "a C1 control character");
    }
}

/* ---- 0: the reference protobuf reader ------------------------------------ */

/* A varint of at most 10 bytes; 0 or -1. */
static int ref_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 10; i++) {
        if (*p == end) return -1;
        uint8_t c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* Walk one message [p, end): each field's number, wire type and, for a
** length-delimited one, its bytes; depth 0 descends into field 1.  The
** rejected count and whether a message was seen are the last ones. */
static int ref_message(const uint8_t *p, const uint8_t *end, int depth, uint64_t *rejected,
                       int *has_msg)
{
    while (p < end) {
        uint64_t key, v;
        if (ref_varint(&p, end, &key)) return -1;
        uint64_t field = key >> 3;
        unsigned wire = (unsigned)(key & 7);
        if (field < 1 || field > (1u << 29) - 1) return -1;
        switch (wire) {
        case 0:
            if (ref_varint(&p, end, &v)) return -1;
            if (depth == 1 && field == 1) *rejected = v;
            break;
        case 1:
        case 5: {
            size_t w = wire == 1 ? 8 : 4;
            if ((size_t)(end - p) < w) return -1;
            p += w;
            break;
        }
        case 2:
            if (ref_varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
            if (depth == 0 && field == 1 &&
                ref_message(p, p + v, 1, rejected, has_msg) != 0)
                return -1;
            if (depth == 1 && field == 2) *has_msg = v > 0;
            p += v;
            break;
        default: return -1; /* groups are not in these messages */
        }
    }
    return 0;
}

static void otlp_partial(const uint8_t *p, size_t n)
{
    if (n < 2) return;
    size_t records = (size_t)p[0] << 8 | p[1];
    p += 2, n -= 2;
    char msg[151];
    int64_t got = sink_otlp_partial_success((const char *)p, n, records, msg, sizeof msg);
    uint64_t v = 0;
    int has_msg = 0;
    if (ref_message(p, p + n, 0, &v, &has_msg) != 0) {
        if (got != -1) die("otlp: malformed protobuf taken", NULL);
        if (msg[0]) die("otlp: a message from a malformed answer", msg);
        return;
    }
    int64_t want = v > (uint64_t)INT64_MAX ? 0 : v > records ? (int64_t)records : (int64_t)v;
    if (got != want) {
        char d[80];
        snprintf(d, sizeof d, "got %lld, want %lld", (long long)got, (long long)want);
        die("otlp: rejected count", d);
    }
    if (!has_msg && msg[0]) die("otlp: a message from nothing", msg);
    if (has_msg && !msg[0]) die("otlp: a message lost", NULL);
    check_printable(msg, 150, "otlp: the partial-success message");
}

/* ---- 1: an error answer ------------------------------------------------ */

static void otlp_status(const uint8_t *p, size_t n)
{
    static const char *const ctypes[] = {"application/x-protobuf", "application/json",
                                         "text/plain; charset=utf-8", ""};
    if (n < 1) return;
    sink_http h;
    memset(&h, 0, sizeof h);
    snprintf(h.ctype, sizeof h.ctype, "%s", ctypes[p[0] % 4]);
    jbuf_put(&h.body, (const char *)p + 1, n - 1);
    char msg[153];
    sink_otlp_status_message(&h, msg, sizeof msg);
    if (msg[0] && strncmp(msg, ": ", 2) != 0) die("otlp: a status message", msg);
    check_printable(msg, 152, "otlp: the status message");
    jbuf_free(&h.body);
}

/* ---- 2: HEC ------------------------------------------------------------ */

static void hec(const uint8_t *p, size_t n)
{
    char text[201];
    int has_ack = 0;
    int64_t id = -7;
    int code = sink_hec_answer((const char *)p, n, text, sizeof text, &has_ack, &id);
    if (code < -2 || code > 1000) die("hec: a code out of range", NULL);
    if (has_ack && (id < 0 || id > (int64_t)1 << 53)) die("hec: an ackId out of range", NULL);
    if (!has_ack && id != 0) die("hec: an ackId without one", NULL);
    check_printable(text, 200, "hec: the text");
    /* Without has_ack, the same. */
    char text2[201];
    if (sink_hec_answer((const char *)p, n, text2, sizeof text2, NULL, NULL) != code ||
        strcmp(text, text2) != 0)
        die("hec: the answer read twice differs", NULL);
}

/* ---- 3: URLs ----------------------------------------------------------- */

static void url(const uint8_t *p, size_t n)
{
    char *u = fz_cstr(p, n), err[512], shown[SINK_DESC_LEN];
    sink_type_of(u, err, sizeof err);
    sink_describe(u, shown, sizeof shown);
    if (strlen(shown) >= SINK_DESC_LEN) die("describe: too long", NULL);
    /* The password of a well-formed user:password@ after a scheme, when
    ** the URL is not a PostgreSQL one (store_redact_path()'s business). */
    const char *auth = strstr(u, "://");
    if (auth && !store_is_remote(u) &&
        strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
            (size_t)(auth - u)) {
        auth += 3;
        size_t hl = strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < auth + hl; q++)
            if (*q == '@') at = q;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && at - colon > 1) {
            size_t pl = (size_t)(at - colon) + 1; /* ":password@" */
            /* In the description's authority (the path may hold the same
            ** text, which is no secret). */
            const char *sa = strstr(shown, "://");
            sa = sa ? sa + 3 : shown;
            if (memmem(sa, strcspn(sa, "/?#"), colon, pl)) die("describe: a password shown", u);
        }
    }
    static const int ports[] = {0, 443, 4318, 8088};
    for (int i = 0; i < 4; i++) {
        sink_url s;
        if (sink_url_parse(u, ports[i], &s, err, sizeof err) != SINK_OK) continue;
        if (!s.host[0]) die("url: an empty host", u);
        for (const unsigned char *c = (const unsigned char *)s.host; *c; c++)
            if (*c <= 0x20 || *c == 0x7f || *c == '/') die("url: a host with a bad byte", u);
        for (const unsigned char *c = (const unsigned char *)s.path; *c; c++)
            if (*c <= 0x20 || *c == 0x7f) die("url: a path with a bad byte", u);
        if (s.port < 1 || s.port > 65535) die("url: a port", u);
        if (s.path[0] && s.path[0] != '/') die("url: a path not beginning with '/'", u);
    }
    free(u);
}

/* ---- 4: a whole answer through libcurl ------------------------------------ */

/* A TCP listener on a loopback port, made once.  libcurl connects to it;
** once connected, before the request goes out, it calls answer(), which
** accepts that connection and writes the input into it whole, then ends
** it, so the answer is there to read and ends where the input does. */
static int listener = -1;
static struct sockaddr_in listen_at;
static char listen_url[64];

typedef struct answer_ctx {
    const uint8_t *p;
    size_t n;
    int fd; /* the server's end, closed after the exchange */
} answer_ctx;

static int answer(void *ctx, char *ip, char *local_ip, int port, int local_port)
{
    answer_ctx *a = ctx;
    if (a->fd >= 0) return CURL_PREREQFUNC_ABORT; /* one connection per input */
    if ((a->fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0) die("accept", NULL);
    for (size_t off = 0; off < a->n;) {
        ssize_t w = write(a->fd, a->p + off, a->n - off);
        if (w <= 0) die("write", NULL);
        off += (size_t)w;
    }
    shutdown(a->fd, SHUT_WR);
    return CURL_PREREQFUNC_OK;
}

static void exchange(const uint8_t *p, size_t n)
{
    if (listener < 0) {
        socklen_t sl = sizeof listen_at;
        listen_at.sin_family = AF_INET;
        listen_at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
            bind(listener, (struct sockaddr *)&listen_at, sizeof listen_at) != 0 ||
            listen(listener, 16) != 0 ||
            getsockname(listener, (struct sockaddr *)&listen_at, &sl) != 0)
            die("listen", NULL);
        snprintf(listen_url, sizeof listen_url, "http://127.0.0.1:%d/v1/logs",
                 ntohs(listen_at.sin_port));
    }
    answer_ctx a = {p, n, -1};
    sink_config cfg = {.timeout_ms = 5000};
    sink_http h;
    char err[512];
    if (sink_http_init(&h, &cfg, err, sizeof err) != SINK_OK) die("sink_http_init", err);
    curl_easy_setopt(h.curl, CURLOPT_PREREQFUNCTION, answer);
    curl_easy_setopt(h.curl, CURLOPT_PREREQDATA, &a);
    /* No proxy from the environment: the answer is the listener's. */
    curl_easy_setopt(h.curl, CURLOPT_PROXY, "");
    static const char *const headers[] = {"Content-Type: application/x-protobuf", NULL};
    int rc = sink_http_post(&h, listen_url, "fuzz", headers, "x", 1, err, sizeof err);
    if (a.fd < 0) die("http: the answer was never asked for", err);
    if (rc == SINK_OK) {
        if (h.retry_after_ms < 0 || h.retry_after_ms > 3600 * 1000)
            die("http: a Retry-After out of bounds", NULL);
        if (h.body.len > SINK_HTTP_BODY_MAX) die("http: a body past its bound", NULL);
        if (strlen(h.ctype) >= sizeof h.ctype) die("http: a Content-Type", NULL);
        char msg[153], text[201];
        int has_ack;
        int64_t id;
        int64_t r = sink_otlp_partial_success(h.body.p, h.body.len, 1000, msg, sizeof msg);
        if (r < -1 || r > 1000) die("http: a rejected count", NULL);
        check_printable(msg, 150, "http: the partial-success message");
        sink_otlp_status_message(&h, msg, sizeof msg);
        check_printable(msg, 152, "http: the status message");
        sink_hec_answer(h.body.p, h.body.len, text, sizeof text, &has_ack, &id);
        check_printable(text, 200, "http: the HEC text");
    } else if (rc != SINK_EDOWN && rc != SINK_EREFUSED) {
        die("http: an unexpected result", err);
    }
    sink_http_free(&h);
    close(a.fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Held for the whole run, so that each sink_http_free() does not tear
    ** libcurl (and its TLS library) down and each init set it up again. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: otlp_partial(p, n); break;
    case 1: otlp_status(p, n); break;
    case 2: hec(p, n); break;
    case 3: url(p, n); break;
    case 4: exchange(p, n); break;
    }
    return 0;
}
