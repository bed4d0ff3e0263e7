/*
** fuzz_sse.c: a libFuzzer target for the text/event-stream parser
** (src/remote/sse.c), which reads what a remote MCP server streams.
**
** The first three bytes of an input are settings: the parser's max_bytes
** (0 to 127, so that short inputs reach the limits, or 128 to 8256 in
** steps of 64 for real messages), the event at which
** the callback stops the feed (255: never) and the seed of a split; the
** rest is the stream.  It is parsed four ways: whole, byte by byte, in
** chunks at positions drawn from the seed, and by a reference model
** written here from the WHATWG "event stream interpretation", line by
** line over the whole text.  The target aborts unless all four give the
** same events (type, data, id), the same return code, the same last event
** id and retry, and no event's data nor any line goes past max_bytes.
**
** The model keeps sse.h's documented choices: a retry value stops growing
** once it reaches 10^8 ms, an event type ends at a NUL (it is a C string),
** and a limit breach is SSE_ETOOBIG.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=4096
** fuzz sources: src/remote/sse.c
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/sse.h"
#include "util/jbuf.h"
#include "fuzz_util.h"

#define STOP_RC 7

/* What one way of parsing produced. */
typedef struct outcome {
    jbuf events; /* each: type NUL, data length, data, id NUL */
    int n;       /* events dispatched */
    int stop_at; /* the callback returns STOP_RC at this event (0-based) */
    size_t max;
    int rc;
    char *last_id;
    long retry;
} outcome;

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_sse", what, detail);
}

static void put_event(outcome *o, const char *type, const char *data, size_t len,
                      const char *id)
{
    jbuf_put(&o->events, type, strlen(type) + 1);
    jbuf_put(&o->events, (const char *)&len, sizeof len);
    jbuf_put(&o->events, data, len);
    jbuf_put(&o->events, id, strlen(id) + 1);
    if (o->events.failed) die("out of memory", NULL);
}

static int on_event(void *ud, const sse_event *ev)
{
    outcome *o = ud;
    if (ev->len + 1 > o->max) die("an event's data is past max_bytes", NULL);
    if (ev->data[ev->len] != '\0') die("an event's data is not NUL-terminated", NULL);
    if (!*ev->type) die("an event has an empty type", NULL);
    put_event(o, ev->type, ev->data, ev->len, ev->id);
    return o->n++ == o->stop_at ? STOP_RC : 0;
}

/* The parser over s[0..n) in chunks: step 0 whole, 1 byte by byte, else
** cut at positions from a xorshift sequence seeded by seed. */
static void run_parser(outcome *o, const char *s, size_t n, int step, unsigned seed)
{
    sse_parser *p = sse_new(o->max);
    if (!p) die("sse_new", "out of memory");
    uint32_t x = seed * 2654435761u + 1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t k;
        if (step == 0) {
            k = n;
        } else if (step == 1) {
            k = 1;
        } else {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            k = 1 + x % 17;
        }
        if (k > n - i) k = n - i;
        rc = sse_feed(p, s + i, k, on_event, o);
        i += k;
    }
    o->rc = rc;
    o->last_id = strdup(sse_last_id(p));
    o->retry = sse_retry_ms(p);
    sse_free(p);
    if (!o->last_id) die("out of memory", NULL);
}

/* ---- the reference model ---------------------------------------------- */

typedef struct model {
    outcome *o;
    jbuf data;
    int has_data;
    char *type;      /* NULL: none given */
    char *id_buf;    /* the last event ID buffer */
} model;

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) die("out of memory", NULL);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* One complete line; 0, STOP_RC or SSE_ETOOBIG. */
static int model_line(model *m, const char *s, size_t n)
{
    outcome *o = m->o;
    if (n == 0) {
        /* Dispatch: the last event id string takes the buffer's value
        ** first, even when no data makes an event. */
        free(o->last_id);
        o->last_id = dup_n(m->id_buf, strlen(m->id_buf));
        int rc = 0;
        if (m->has_data) {
            jbuf_putc(&m->data, '\0');
            size_t len = m->data.len - 2; /* the last "\n" and the NUL */
            const char *type = m->type && *m->type ? m->type : "message";
            put_event(o, type, m->data.p, len, o->last_id);
            rc = o->n++ == o->stop_at ? STOP_RC : 0;
        }
        m->data.len = 0;
        m->has_data = 0;
        free(m->type);
        m->type = NULL;
        return rc;
    }
    if (s[0] == ':') return 0;
    const char *colon = memchr(s, ':', n);
    size_t nlen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = (size_t)(s + n - v);
    if (vlen && v[0] == ' ') v++, vlen--;
    if (nlen == 4 && !memcmp(s, "data", 4)) {
        if (m->data.len + vlen + 1 > o->max) return SSE_ETOOBIG;
        jbuf_put(&m->data, v, vlen);
        jbuf_putc(&m->data, '\n');
        m->has_data = 1;
    } else if (nlen == 5 && !memcmp(s, "event", 5)) {
        free(m->type);
        m->type = dup_n(v, strnlen(v, vlen));
    } else if (nlen == 2 && !memcmp(s, "id", 2)) {
        if (!memchr(v, '\0', vlen)) {
            free(m->id_buf);
            m->id_buf = dup_n(v, vlen);
        }
    } else if (nlen == 5 && !memcmp(s, "retry", 5)) {
        long ms = 0;
        size_t i = 0;
        while (i < vlen && v[i] >= '0' && v[i] <= '9') {
            if (ms < 100000000) ms = ms * 10 + (v[i] - '0');
            i++;
        }
        if (vlen && i == vlen) o->retry = ms;
    }
    return 0;
}

static void run_model(outcome *o, const char *s, size_t n)
{
    model m = {.o = o, .id_buf = dup_n("", 0)};
    o->last_id = dup_n("", 0);
    o->retry = -1;
    o->rc = 0;
    size_t i = 0;
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) i = 3;
    /* What may still be the start of a BOM is not yet line text. */
    if (n < 3 && !memcmp(s, "\xEF\xBB\xBF", n)) i = n;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '\r' && s[j] != '\n') j++;
        /* A line, finished or not, longer than the limit fails. */
        if (j - i > o->max) {
            o->rc = SSE_ETOOBIG;
            break;
        }
        if (j == n) break; /* the last line is not finished */
        int rc = model_line(&m, s + i, j - i);
        i = j + 1;
        if (s[j] == '\r' && i < n && s[i] == '\n') i++;
        if (rc) {
            o->rc = rc;
            break;
        }
    }
    jbuf_free(&m.data);
    free(m.type);
    free(m.id_buf);
}

/* ---- comparing ---------------------------------------------------------- */

static void same(const outcome *a, const outcome *b, const char *how)
{
    char why[128];
    const char *what = NULL;
    if (a->rc != b->rc) what = "the return code";
    else if (a->n != b->n) what = "the number of events";
    else if (a->events.len != b->events.len ||
             (a->events.len && memcmp(a->events.p, b->events.p, a->events.len)))
        what = "the events";
    else if (strcmp(a->last_id, b->last_id)) what = "the last event id";
    else if (a->retry != b->retry) what = "the retry";
    if (!what) return;
    snprintf(why, sizeof why, "%s differs (%s): rc %d/%d, %d/%d events, last id \"%.20s\"/\"%.20s\"",
             how, what, a->rc, b->rc, a->n, b->n, a->last_id, b->last_id);
    die("parses disagree", why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t max = data[0] < 128 ? data[0] : 128 + (size_t)(data[0] - 128) * 64;
    int stop_at = data[1] == 255 ? -1 : data[1] % 8;
    unsigned seed = data[2];
    const char *s = (const char *)data + 3;
    size_t n = size - 3;
    outcome o[4];
    for (int k = 0; k < 4; k++) o[k] = (outcome){.max = max, .stop_at = stop_at};
    run_model(&o[0], s, n);
    run_parser(&o[1], s, n, 0, seed);
    run_parser(&o[2], s, n, 1, seed);
    run_parser(&o[3], s, n, 2, seed);
    same(&o[0], &o[1], "the model and the whole feed");
    same(&o[1], &o[2], "the whole and the byte-by-byte feeds");
    same(&o[1], &o[3], "the whole and the chunked feeds");
    for (int k = 0; k < 4; k++) {
        jbuf_free(&o[k].events);
        free(o[k].last_id);
    }
    return 0;
}
