/*
** sink_hec.c: splunk-hec+https://, Splunk's HTTP Event Collector.
**
** A batch is one POST to /services/collector/event holding one JSON event
** per entry, back to back as HEC takes them:
**   {"time":1767225600.123,"host":"laptop-7","source":"dss-audit-mcp",
**    "sourcetype":"dss-audit:jsonl","event":{...the entry...}}
** with `Authorization: Splunk <token>` (the token from the environment or
** a file, never the command line) and a request channel (a UUID per
** shipper), which HEC needs when indexer acknowledgement is on.  When the
** endpoint has it on, the answer carries an ackId, and the batch counts as
** delivered only once /services/collector/ack says the indexers stored
** it; when it is off, the 200 is the acknowledgement HEC gives.
*/
#include "sink_int.h"
#include "../util/uuid7.h"
#include "../util/ts.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ACK_DEADLINE_MS = 120000 };

typedef struct hec_sink {
    sink base;
    sink_http http;
    char url[1100], ack_url[1100];
    char auth[1100];        /* "Authorization: Splunk <token>": wiped on close */
    char channel[64];       /* "X-Splunk-Request-Channel: <uuid>" */
    char host[256];
} hec_sink;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* A JSON number as HEC's codes and ackIds are: an integer in [0, 2^53]
** (exact in a double), so that the cast below is defined; -1 otherwise. */
static int64_t hec_int(const cJSON *v)
{
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d) return -1;
    return (int64_t)d;
}

int sink_hec_answer(const char *p, size_t n, char *text, size_t len, int *has_ack,
                    int64_t *ack_id)
{
    int code = -1;
    text[0] = '\0';
    if (has_ack) *has_ack = 0, *ack_id = 0;
    cJSON *j = p ? cJSON_ParseWithLength(p, n) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "ackId");
    if (cJSON_IsNumber(c)) {
        int64_t v = hec_int(c);
        code = v >= 0 && v <= 1000 ? (int)v : -2;
    }
    if (cJSON_IsString(t)) utf8_printable(t->valuestring, strlen(t->valuestring), 200, text, len);
    /* An ackId that is no id cannot be waited for: the batch is not known
    ** to be kept. */
    if (id && (!cJSON_IsNumber(id) || hec_int(id) < 0)) code = -2;
    else if (has_ack && id) *has_ack = 1, *ack_id = hec_int(id);
    cJSON_Delete(j);
    return code;
}

static int hec_code(const sink_http *h, char *text, size_t len, int *has_ack, int64_t *ack_id)
{
    return sink_hec_answer(h->body.p, h->body.len, text, len, has_ack, ack_id);
}

/* Poll the acknowledgement endpoint until ack_id is indexed.  SINK_OK,
** SINK_EDOWN when it is not within the deadline (the batch is sent
** again), or an HTTP failure. */
static int wait_indexed(hec_sink *s, int64_t ack_id, char *err, size_t len)
{
    const char *headers[] = {s->auth, s->channel, "Content-Type: application/json", NULL};
    char body[64], key[24];
    snprintf(body, sizeof body, "{\"acks\":[%lld]}", (long long)ack_id);
    snprintf(key, sizeof key, "%lld", (long long)ack_id);
    int delay = 100;
    for (int waited = 0; waited < ACK_DEADLINE_MS;) {
        int rc = sink_http_post(&s->http, s->ack_url, s->base.desc, headers, body, strlen(body),
                                err, len);
        if (rc != SINK_OK) return rc;
        if (s->http.status != 200) {
            char text[200];
            hec_code(&s->http, text, sizeof text, NULL, NULL);
            snprintf(err, len, "%s: the acknowledgement endpoint answered HTTP %ld%s%s",
                     s->base.desc, s->http.status, text[0] ? ": " : "", text);
            return s->http.status == 401 || s->http.status == 403 ? SINK_EREFUSED : SINK_EDOWN;
        }
        cJSON *j = cJSON_ParseWithLength(s->http.body.p ? s->http.body.p : "", s->http.body.len);
        const cJSON *acks = cJSON_GetObjectItemCaseSensitive(j, "acks");
        int done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(acks, key));
        cJSON_Delete(j);
        if (done) return SINK_OK;
        for (int t = 0; t < delay && !sink_stopped(&s->base); t += 50) sleep_ms(50);
        if (sink_stopped(&s->base)) {
            snprintf(err, len, "%s: stopped", s->base.desc);
            return SINK_ESTOPPED;
        }
        waited += delay;
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    snprintf(err, len, "%s: the indexers did not acknowledge ackId %lld within %d s",
             s->base.desc, (long long)ack_id, ACK_DEADLINE_MS / 1000);
    return SINK_EDOWN;
}

/* One event, and a newline: HEC takes them back to back. */
static int hec_encode(sink *base, const entry_row *row, jbuf *out, char *err, size_t len)
{
    hec_sink *s = (hec_sink *)base;
    const char *sourcetype = base->format == SINK_FORMAT_OCSF ? "dss-audit:ocsf" : "dss-audit:jsonl";
    const char *created = sink_row_text(row, ENTRY_F_created_at);
    int64_t us = 0;
    char why[100], head[64];
    if (!created || ts_parse(created, 0, &us, why, sizeof why) != 0) {
        const char *id = sink_row_text(row, ENTRY_F_id);
        snprintf(err, len, "entry %s has no usable created_at", id ? id : "?");
        return SINK_EREFUSED;
    }
    snprintf(head, sizeof head, "{\"time\":%lld.%03lld,\"host\":", (long long)(us / 1000000),
             (long long)(us % 1000000 / 1000));
    jbuf_puts(out, head);
    jbuf_string(out, s->host, strlen(s->host));
    jbuf_puts(out, ",\"source\":\"dss-audit-mcp\",\"sourcetype\":\"");
    jbuf_puts(out, sourcetype);
    jbuf_puts(out, "\",\"event\":");
    int rc = sink_entry_json(base->format, row, out, err, len);
    if (rc != SINK_OK) return rc;
    jbuf_puts(out, "}\n");
    if (out->failed) {
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    return SINK_OK;
}

static int hec_send(sink *base, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    hec_sink *s = (hec_sink *)base;
    int rc;
    const char *headers[] = {s->auth, s->channel, "Content-Type: application/json", NULL};
    rc = sink_http_post(&s->http, s->url, base->desc, headers, b->data + b->off[0],
                        b->off[b->n] - b->off[0], err, len);
    if (rc != SINK_OK) return rc;
    char text[200];
    long st = s->http.status;
    int has_ack;
    int64_t ack_id;
    int code = hec_code(&s->http, text, sizeof text, &has_ack, &ack_id);
    if (st == 200 && (code == 0 || code == -1)) {
        if (has_ack && (rc = wait_indexed(s, ack_id, err, len)) != SINK_OK) return rc;
        if (b->n) ack->seq = b->seq[b->n - 1];
        ack->stored = (int64_t)b->n;
        return SINK_OK;
    }
    if (st == 200 && code == -2 && !text[0])
        snprintf(text, sizeof text, "an answer with a code or ackId that is not one");
    snprintf(err, len, "%s: HTTP %ld%s%s", base->desc, st, text[0] ? ": " : "", text);
    /* 503 with code 9 is "server is busy"; 5xx and 429 in general pass. */
    if (st == 429 || st >= 500) {
        ack->retry_after_ms = s->http.retry_after_ms;
        return SINK_EDOWN;
    }
    return SINK_EREFUSED;
}

static void hec_close(sink *base)
{
    hec_sink *s = (hec_sink *)base;
    sink_http_free(&s->http);
    sodium_memzero(s->auth, sizeof s->auth);
    free(s);
}

static int hec_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    sink_url u;
    int rc = sink_url_parse(cfg->url, 8088, &u, err, len);
    if (rc != SINK_OK) return rc;
    if (!cfg->token || !*cfg->token) {
        snprintf(err, len, "a Splunk HEC sink needs its token: set DSS_AUDIT_SINK_TOKEN "
                           "or name a file holding it (--token-file)");
        return SINK_EUSAGE;
    }
    if (strlen(cfg->token) > 512 || strpbrk(cfg->token, "\r\n")) {
        snprintf(err, len, "the Splunk HEC token is not a token (too long, or several lines)");
        return SINK_EUSAGE;
    }
    hec_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    const char *fmt = strchr(u.host, ':') ? "https://[%s]:%d%s" : "https://%s:%d%s";
    const char *path = u.path[0] && strcmp(u.path, "/") != 0 ? u.path : "/services/collector/event";
    snprintf(s->url, sizeof s->url, fmt, u.host, u.port, path);
    snprintf(s->ack_url, sizeof s->ack_url, fmt, u.host, u.port, "/services/collector/ack");
    snprintf(s->auth, sizeof s->auth, "Authorization: Splunk %s", cfg->token);
    char uuid[UUID7_BUFLEN];
    uuid7_next(ts_now_us() / 1000, uuid);
    snprintf(s->channel, sizeof s->channel, "X-Splunk-Request-Channel: %s", uuid);
    snprintf(s->host, sizeof s->host, "%s", cfg->hostname ? cfg->hostname : "");
    if ((rc = sink_http_init(&s->http, cfg, err, len)) != SINK_OK) {
        hec_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return SINK_OK;
}

static const char *const hec_schemes[] = {"splunk-hec+https", NULL};

const sink_type sink_hec_type = {
    .name = "Splunk HEC",
    .schemes = hec_schemes,
    .flags = SINK_PIPELINE, /* encode: host, format (set at open); send: http, channel */
    .formats = 1u << SINK_FORMAT_JSONL | 1u << SINK_FORMAT_OCSF,
    .default_format = SINK_FORMAT_JSONL,
    .open = hec_open,
    .encode = hec_encode,
    .send = hec_send,
    .close = hec_close,
};
