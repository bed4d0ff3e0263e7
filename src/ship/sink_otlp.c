/*
** sink_otlp.c: otlp+http:// and otlp+https://, OpenTelemetry logs over
** OTLP/HTTP in binary protobuf (POST /v1/logs, application/x-protobuf).
**
** Each batch is one ExportLogsServiceRequest: the resource (the log and
** this program), one scope, and one LogRecord per entry, mapped by the
** same function as `export --format otlp` (cli_otlp_attributes and
** friends in src/cli/cli_otlp.c: GenAI and MCP semantic conventions where
** they name a field, dss_audit.* otherwise), encoded here in protobuf.
** The few messages needed are written by hand with the wire format
** (varints, fixed64, length-delimited fields), which is stable by design
** and small enough that a protobuf library and generated code would be the
** larger part: tests/ship decodes what this writes with the official
** definitions.
**
** Responses follow the OTLP specification: 200 is delivered, with a
** partial success (some records rejected) reported but not retried, as
** the specification forbids; 429, 502, 503 and 504 are retried after the
** server's Retry-After when it gives one; any other status is a refusal,
** whose google.rpc.Status message is shown.
*/
#include "sink_int.h"
#include "../cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- protobuf wire format ------------------------------------------------ */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static void pb_varint(jbuf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    jbuf_put(b, tmp, n);
}

static size_t pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v > 0x7f) v >>= 7, n++;
    return n;
}

static void pb_tag(jbuf *b, int field, int wire)
{
    pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

static void pb_bytes(jbuf *b, int field, const void *p, size_t n)
{
    pb_tag(b, field, WIRE_LEN);
    pb_varint(b, n);
    jbuf_put(b, p, n);
}

static void pb_string(jbuf *b, int field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

static void pb_fixed64(jbuf *b, int field, uint64_t v)
{
    char le[8];
    for (int i = 0; i < 8; i++) le[i] = (char)(v >> (8 * i));
    pb_tag(b, field, WIRE_FIXED64);
    jbuf_put(b, le, 8);
}

/* The size of a length-delimited field's tag and length (field < 16). */
static size_t pb_head_size(size_t n)
{
    return 1 + pb_varint_size(n);
}

/* Reading: the next field of [*p, end).  0, or -1 at a malformed field. */
typedef struct pb_field {
    int field, wire;
    uint64_t v;            /* varint and fixed values */
    const char *p;         /* length-delimited value */
    size_t n;
} pb_field;

static int pb_read_varint(const char **p, const char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        unsigned char c = (unsigned char)*(*p)++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

static int pb_next(const char **p, const char *end, pb_field *f)
{
    uint64_t key;
    if (pb_read_varint(p, end, &key) != 0) return -1;
    /* Field numbers are 1 to 2^29 - 1: anything else is not protobuf (and
    ** would not fit the int it is compared as). */
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return -1;
    f->field = (int)(key >> 3);
    f->wire = (int)(key & 7);
    switch (f->wire) {
    case WIRE_VARINT: return pb_read_varint(p, end, &f->v);
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        size_t n = f->wire == WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(end - *p) < n) return -1;
        *p += n;
        return 0;
    }
    case WIRE_LEN:
        if (pb_read_varint(p, end, &f->v) != 0 || f->v > (uint64_t)(end - *p)) return -1;
        f->p = *p;
        f->n = (size_t)f->v;
        *p += f->n;
        return 0;
    default: return -1;
    }
}

/* ---- the request --------------------------------------------------------- */

/* KeyValue { key = 1; AnyValue value = 2 { string_value = 1 | int_value = 3 } },
** as the repeated field `field` of the message being written to out. */
typedef struct kv_ctx {
    jbuf *out;
    int field;
} kv_ctx;

/* Write v as a varint at p; returns the bytes written (at most 10). */
static size_t pb_varint_at(char *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* Every attribute of every entry comes through here, some thirty per
** entry: all but the string value is gathered on the stack first and
** appended at once, then the value (two appends, not eight). */
static int pb_attr(void *ctx, const cli_otlp_attr *a)
{
    kv_ctx *k = ctx;
    size_t klen = a->key_len, slen = a->is_int ? 0 : a->str_len;
    size_t any_len = a->is_int ? 1 + pb_varint_size((uint64_t)a->num)
                               : pb_head_size(slen) + slen;
    char small[128], *head = small, *big = NULL;
    if (klen + 60 > sizeof small && !(head = big = malloc(klen + 60))) return -1;
    size_t n = pb_varint_at(head, (uint64_t)k->field << 3 | WIRE_LEN);
    n += pb_varint_at(head + n, pb_head_size(klen) + klen + pb_head_size(any_len) + any_len);
    head[n++] = 1 << 3 | WIRE_LEN; /* key = 1 */
    n += pb_varint_at(head + n, klen);
    memcpy(head + n, a->key, klen);
    n += klen;
    head[n++] = 2 << 3 | WIRE_LEN; /* value = 2: AnyValue */
    n += pb_varint_at(head + n, any_len);
    if (a->is_int) {
        head[n++] = 3 << 3 | WIRE_VARINT; /* int_value = 3 */
        n += pb_varint_at(head + n, (uint64_t)a->num);
    } else {
        head[n++] = 1 << 3 | WIRE_LEN; /* string_value = 1 */
        n += pb_varint_at(head + n, slen);
    }
    jbuf_put(k->out, head, n);
    if (slen) jbuf_put(k->out, a->str, slen);
    free(big);
    return k->out->failed ? -1 : 0;
}

/* Room left for a length not yet known: two bytes, a varint's size for
** 128 to 16383, which an entry's body, its AnyValue and its record all are
** but for a very large entry. */
enum { LEN_ROOM = 2 };

/* Append one entry as a LogRecord, in the field log_records (2) of
** ScopeLogs, to out; scratch is a buffer for the rare entry whose lengths
** do not fit the room left for them.  Everything comes from the stored
** row: the body is the entry's JSON (entry_json_stored(): an opaque string
** here), the attributes the shared mapping's (cli_otlp_attributes).
**
** The record is written straight into out, each byte once: a
** length-delimited field's length comes before it, so LEN_ROOM bytes are
** left for each of the three unknown ones (the record's, the body's
** AnyValue's and its string's), filled in at the end.  When one needs
** another size, the record is written again through scratch.  The fields
** are in field-number order, as a nested encoding writes them
** (test_sink.otlp_encoding_is_byte_identical_to_the_nested_encoding). */
static int encode_record(const entry_row *row, jbuf *out, jbuf *scratch, char *err,
                         size_t len)
{
    static const char room[LEN_ROOM] = {0};
    cli_otlp_fields f;
    if (cli_otlp_head(row, &f, err, len) != 0) return SINK_EREFUSED;
    size_t start = out->len;
    uint64_t nanos = (uint64_t)f.time_us * 1000u;
    pb_tag(out, 2, WIRE_LEN);                      /* ScopeLogs.log_records */
    jbuf_put(out, room, LEN_ROOM);
    size_t head = out->len;
    pb_fixed64(out, 1, nanos);                     /* time_unix_nano */
    pb_tag(out, 2, WIRE_VARINT);                   /* severity_number */
    pb_varint(out, (uint64_t)f.severity_number);
    pb_string(out, 3, f.severity_text);            /* severity_text */
    size_t head_n = out->len - head;
    pb_tag(out, 5, WIRE_LEN);                      /* body = 5: AnyValue */
    jbuf_put(out, room, LEN_ROOM);
    pb_tag(out, 1, WIRE_LEN);                      /* { string_value = 1 } */
    jbuf_put(out, room, LEN_ROOM);
    size_t body = out->len;
    entry_json_stored(row, out);
    size_t body_n = out->len - body;
    kv_ctx k = {.out = out, .field = 6};           /* attributes */
    int rc = cli_otlp_attributes(row, pb_attr, &k);
    pb_fixed64(out, 11, nanos);                    /* observed_time_unix_nano */
    if (rc != 0 || out->failed) goto oom;
    size_t rest = out->len - body - body_n;
    size_t any = pb_head_size(body_n) + body_n;
    size_t rec = head_n + pb_head_size(any) + any + rest;
    if (pb_varint_size(rec) == LEN_ROOM && pb_varint_size(any) == LEN_ROOM &&
        pb_varint_size(body_n) == LEN_ROOM) {
        pb_varint_at(out->p + head - LEN_ROOM, rec);
        pb_varint_at(out->p + head + head_n + 1, any);
        pb_varint_at(out->p + body - LEN_ROOM, body_n);
        return SINK_OK;
    }
    /* Again, with the lengths' own sizes: the parts from scratch. */
    scratch->len = 0;
    jbuf_put(scratch, out->p + head, out->len - head);
    if (scratch->failed) goto oom;
    const char *s = scratch->p, *s_body = s + (body - head);
    out->len = start;
    pb_tag(out, 2, WIRE_LEN);
    pb_varint(out, rec);
    jbuf_put(out, s, head_n);
    pb_tag(out, 5, WIRE_LEN);
    pb_varint(out, any);
    pb_bytes(out, 1, s_body, body_n);
    jbuf_put(out, s_body + body_n, rest);
    if (!out->failed) return SINK_OK;
oom:
    snprintf(err, len, "out of memory");
    return SINK_ENOMEM;
}

/* What comes before a batch's records in every request of a log: the
** fields resource (1) of ResourceLogs and scope (2) of ScopeLogs, encoded
** once per log and kept by the sink. */
typedef struct otlp_fixed {
    char log_id[37];
    jbuf resource, scope;
} otlp_fixed;

static int fixed_for(otlp_fixed *x, const char *log_id)
{
    if (x->resource.len && strcmp(x->log_id, log_id) == 0) return 0;
    jbuf attrs = {0};
    kv_ctx k = {.out = &attrs, .field = 1};        /* Resource.attributes */
    int rc = cli_otlp_resource(log_id, pb_attr, &k);
    x->resource.len = x->scope.len = 0;
    pb_bytes(&x->resource, 1, attrs.p ? attrs.p : "", attrs.len);
    jbuf scope = {0};                              /* InstrumentationScope */
    pb_string(&scope, 1, CLI_OTLP_SCOPE);
    pb_string(&scope, 2, cli_otlp_version());
    pb_bytes(&x->scope, 1, scope.p ? scope.p : "", scope.len);
    rc = rc != 0 || attrs.failed || scope.failed || x->resource.failed || x->scope.failed;
    jbuf_free(&attrs);
    jbuf_free(&scope);
    if (rc) {
        jbuf_free(&x->resource);
        jbuf_free(&x->scope);
        return -1;
    }
    snprintf(x->log_id, sizeof x->log_id, "%s", log_id);
    return 0;
}

static void fixed_free(otlp_fixed *x)
{
    jbuf_free(&x->resource);
    jbuf_free(&x->scope);
}

/* The ExportLogsServiceRequest up to n bytes of records (ScopeLogs'
** log_records fields), which follow it: ExportLogsServiceRequest {
** resource_logs = 1 { resource = 1; scope_logs = 2 { scope = 1;
** log_records = 2 ... } } }.  Into out, emptied first. */
static void request_head(const otlp_fixed *x, size_t n, jbuf *out)
{
    size_t scope_logs = x->scope.len + n;
    size_t resource_logs = x->resource.len + pb_head_size(scope_logs) + scope_logs;
    out->len = 0;
    pb_tag(out, 1, WIRE_LEN);
    pb_varint(out, resource_logs);
    jbuf_put(out, x->resource.p, x->resource.len);
    pb_tag(out, 2, WIRE_LEN);
    pb_varint(out, scope_logs);
    jbuf_put(out, x->scope.p, x->scope.len);
}

int sink_otlp_request(const char *log_id, const char *records, size_t n, jbuf *out, char *err,
                      size_t len)
{
    otlp_fixed x = {0};
    int rc = fixed_for(&x, log_id);
    if (rc == 0) {
        request_head(&x, n, out);
        jbuf_put(out, records ? records : "", n);
    }
    fixed_free(&x);
    if (rc != 0 || out->failed) {
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    return SINK_OK;
}

int sink_otlp_record(const entry_row *row, jbuf *records, char *err, size_t len)
{
    jbuf scratch = {0};
    int rc = encode_record(row, records, &scratch, err, len);
    jbuf_free(&scratch);
    return rc;
}

/* ---- the sink ------------------------------------------------------------ */

typedef struct otlp_sink {
    sink base;
    sink_http http;
    char url[1100];
    jbuf head;       /* the request's head, before the batch's records */
    otlp_fixed fixed;
    jbuf scratch;    /* encode's, for a very large entry */
} otlp_sink;

/* Messages from the receiver are kept this short: a note (sink_ack) holds
** the sentence around one. */
enum { RECEIVER_MSG_MAX = 150 };

int64_t sink_otlp_partial_success(const char *p, size_t n, size_t records, char *msg,
                                  size_t len)
{
    const char *end = p ? p + n : p; /* an empty body's p is NULL (no NULL + 0) */
    pb_field f = {0}, g = {0}; /* set by pb_next() before use; GCC cannot tell */
    int64_t rejected = 0;
    msg[0] = '\0';
    while (p && p < end) {
        if (pb_next(&p, end, &f) != 0) goto bad;
        if (f.field != 1 || f.wire != WIRE_LEN) continue;
        const char *q = f.p, *qend = f.p + f.n;
        while (q < qend) {
            if (pb_next(&q, qend, &g) != 0) goto bad;
            /* An int64 on the wire: a negative count is no count, and
            ** more than were sent cannot have been rejected. */
            if (g.field == 1 && g.wire == WIRE_VARINT)
                rejected = g.v > (uint64_t)INT64_MAX ? 0
                           : g.v > records           ? (int64_t)records
                                                     : (int64_t)g.v;
            if (g.field == 2 && g.wire == WIRE_LEN)
                utf8_printable(g.p, g.n, RECEIVER_MSG_MAX, msg, len);
        }
    }
    return rejected;
bad:
    msg[0] = '\0';
    return -1;
}

/* google.rpc.Status { code = 1; message = 2 }: the message, if any. */
void sink_otlp_status_message(const sink_http *h, char *msg, size_t len)
{
    /* An empty body has no buffer: NULL + 0 is undefined, so end is made
    ** only once there is one. */
    const char *p = h->body.p, *end;
    pb_field f = {0}; /* set by pb_next() before use */
    char text[RECEIVER_MSG_MAX + 1];
    msg[0] = '\0';
    if (!p) return;
    end = p + h->body.len;
    if (strstr(h->ctype, "protobuf")) {
        while (p < end && pb_next(&p, end, &f) == 0)
            if (f.field == 2 && f.wire == WIRE_LEN) {
                utf8_printable(f.p, f.n, RECEIVER_MSG_MAX, text, sizeof text);
                snprintf(msg, len, ": %s", text);
                return;
            }
        return;
    }
    /* Some receivers answer errors in text: the first line. */
    size_t n = 0;
    while (n < h->body.len && h->body.p[n] != '\n') n++;
    utf8_printable(h->body.p, n, RECEIVER_MSG_MAX, text, sizeof text);
    snprintf(msg, len, ": %s", text);
}

static int otlp_encode(sink *base, const entry_row *row, jbuf *out, char *err, size_t len)
{
    otlp_sink *s = (otlp_sink *)base;
    return encode_record(row, out, &s->scratch, err, len);
}

static int otlp_send(sink *base, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    otlp_sink *s = (otlp_sink *)base;
    static const char *const headers[] = {"Content-Type: application/x-protobuf", NULL};
    size_t n = b->off[b->n] - b->off[0];
    if (fixed_for(&s->fixed, b->log->log_id) != 0 || (request_head(&s->fixed, n, &s->head),
                                                      s->head.failed)) {
        jbuf_free(&s->head);
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    /* The head, then the records where the shipper encoded them. */
    sink_part body[2] = {{s->head.p, s->head.len},
                          {b->data ? b->data + b->off[0] : "", n}};
    int rc = sink_http_post_parts(&s->http, s->url, base->desc, headers, body, 2, err, len);
    if (rc != SINK_OK) return rc;
    long st = s->http.status;
    if (st >= 200 && st < 300) {
        char msg[RECEIVER_MSG_MAX + 1];
        int64_t rejected = sink_otlp_partial_success(s->http.body.p, s->http.body.len, b->n,
                                                     msg, sizeof msg);
        if (b->n) ack->seq = b->seq[b->n - 1];
        if (rejected > 0 || msg[0]) {
            ack->rejected = rejected > 0 ? rejected : 0;
            snprintf(ack->note, sizeof ack->note,
                     "partial success: the receiver rejected %lld of %zu records%s%s",
                     (long long)ack->rejected, b->n, msg[0] ? ": " : "", msg);
        }
        ack->stored = (int64_t)b->n - ack->rejected;
        return SINK_OK;
    }
    char msg[RECEIVER_MSG_MAX + 3];
    sink_otlp_status_message(&s->http, msg, sizeof msg);
    snprintf(err, len, "%s: HTTP %ld%s", base->desc, st, msg);
    if (sink_http_retryable(st)) {
        ack->retry_after_ms = s->http.retry_after_ms;
        return SINK_EDOWN;
    }
    return SINK_EREFUSED;
}

static void otlp_close(sink *base)
{
    otlp_sink *s = (otlp_sink *)base;
    sink_http_free(&s->http);
    jbuf_free(&s->head);
    fixed_free(&s->fixed);
    jbuf_free(&s->scratch);
    free(s);
}

static int otlp_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    sink_url u;
    int rc = sink_url_parse(cfg->url, 4318, &u, err, len);
    if (rc != SINK_OK) return rc;
    otlp_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    int tls = strcmp(u.scheme, "otlp+https") == 0;
    /* A URL without a path is the collector's base: the logs endpoint is
    ** /v1/logs below it (as OTEL_EXPORTER_OTLP_ENDPOINT). */
    const char *path = u.path[0] && strcmp(u.path, "/") != 0 ? u.path : "/v1/logs";
    snprintf(s->url, sizeof s->url, strchr(u.host, ':') ? "%s://[%s]:%d%s" : "%s://%s:%d%s",
             tls ? "https" : "http", u.host, u.port, path);
    if ((rc = sink_http_init(&s->http, cfg, err, len)) != SINK_OK) {
        free(s);
        return rc;
    }
    *out = &s->base;
    return SINK_OK;
}

static const char *const otlp_schemes[] = {"otlp+http", "otlp+https", NULL};

const sink_type sink_otlp_type = {
    .name = "OTLP",
    .schemes = otlp_schemes,
    .flags = SINK_PIPELINE, /* encode: scratch; send: head, fixed, http */
    .formats = 1u << SINK_FORMAT_OTLP,
    .default_format = SINK_FORMAT_OTLP,
    .open = otlp_open,
    .encode = otlp_encode,
    .send = otlp_send,
    .close = otlp_close,
};
