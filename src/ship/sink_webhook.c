/*
** sink_webhook.c: https:// webhooks, JSON batches signed with HMAC-SHA256.
**
** A batch is one POST of
**   {"log_id":"...","log":"laptop-7","entries":[{...},{...}]}
** (entries as `query` prints them, or OCSF events with --format ocsf; with
** --format otlp the body is instead an OTLP/JSON ExportLogsServiceRequest,
** as one line of `export --format otlp`), with the header
**   X-DSS-Audit-Signature: sha256=<hex HMAC-SHA256 of the body>
** under the shared secret (DSS_AUDIT_SINK_SECRET or a file), so that the
** receiver can check the body came from a holder of the secret before it
** parses it.  Any answer but 2xx is retried with backoff, since a webhook
** receiver's statuses carry no agreed meaning; Retry-After is honoured.
*/
#include "sink_int.h"
#include "../cli/cli.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct webhook_sink {
    sink base;
    sink_http http;
    char url[1100];
    unsigned char *key;  /* the HMAC key: wiped and freed on close */
    size_t key_len;
    jbuf req;
} webhook_sink;

/* The body of a batch into s->req. */
static int build_body(webhook_sink *s, const sink_batch *b, char *err, size_t len)
{
    s->req.len = 0;
    if (s->base.format == SINK_FORMAT_OTLP) {
        char *head = cli_otlp_request_head(b->log->log_id);
        if (!head) goto nomem;
        jbuf_puts(&s->req, head);
        free(head);
    } else {
        jbuf_puts(&s->req, "{\"log_id\":");
        jbuf_string(&s->req, b->log->log_id, strlen(b->log->log_id));
        jbuf_puts(&s->req, ",\"log\":");
        jbuf_string(&s->req, b->log->name, strlen(b->log->name));
        jbuf_puts(&s->req, ",\"entries\":[");
    }
    for (size_t i = 0; i < b->n; i++) {
        if (i) jbuf_putc(&s->req, ',');
        jbuf_put(&s->req, b->data + b->off[i], b->off[i + 1] - b->off[i]);
    }
    jbuf_puts(&s->req, s->base.format == SINK_FORMAT_OTLP ? CLI_OTLP_REQUEST_TAIL : "]}");
    if (!s->req.failed) return SINK_OK;
nomem:
    snprintf(err, len, "out of memory");
    return SINK_ENOMEM;
}

/* The entry in the chosen format (entries, OCSF events or OTLP/JSON
** records); the batch's body puts them together. */
static int webhook_encode(sink *base, const entry_row *row, jbuf *out, char *err, size_t len)
{
    return sink_entry_json(base->format, row, out, err, len);
}

static int webhook_send(sink *base, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    webhook_sink *s = (webhook_sink *)base;
    int rc = build_body(s, b, err, len);
    if (rc != SINK_OK) return rc;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, s->key, s->key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)s->req.p, s->req.len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    char sig[64 + 2 * crypto_auth_hmacsha256_BYTES + 1];
    memcpy(sig, "X-DSS-Audit-Signature: sha256=", 30);
    sodium_bin2hex(sig + 30, sizeof sig - 30, mac, sizeof mac);
    const char *headers[] = {"Content-Type: application/json", sig, NULL};
    rc = sink_http_post(&s->http, s->url, base->desc, headers, s->req.p, s->req.len, err, len);
    if (rc != SINK_OK) return rc;
    if (s->http.status >= 200 && s->http.status < 300) {
        if (b->n) ack->seq = b->seq[b->n - 1];
        ack->stored = (int64_t)b->n;
        return SINK_OK;
    }
    snprintf(err, len, "%s: HTTP %ld", base->desc, s->http.status);
    ack->retry_after_ms = s->http.retry_after_ms;
    return SINK_EDOWN;
}

static void webhook_close(sink *base)
{
    webhook_sink *s = (webhook_sink *)base;
    sink_http_free(&s->http);
    jbuf_free(&s->req);
    if (s->key) {
        sodium_memzero(s->key, s->key_len);
        free(s->key);
    }
    free(s);
}

static int webhook_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    sink_url u;
    int rc = sink_url_parse(cfg->url, 443, &u, err, len);
    if (rc != SINK_OK) return rc;
    if (strlen(cfg->url) >= sizeof ((webhook_sink *)0)->url) {
        snprintf(err, len, "the webhook URL is too long (at most %zu bytes)",
                 sizeof ((webhook_sink *)0)->url - 1);
        return SINK_EUSAGE;
    }
    if (!cfg->secret || !*cfg->secret) {
        snprintf(err, len, "a webhook sink signs its batches: set DSS_AUDIT_SINK_SECRET "
                           "or name a file holding the key (--secret-file)");
        return SINK_EUSAGE;
    }
    if (sodium_init() < 0) {
        snprintf(err, len, "libsodium cannot start");
        return SINK_ENOMEM;
    }
    webhook_sink *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->key_len = strlen(cfg->secret);
    if (!(s->key = malloc(s->key_len))) goto nomem;
    memcpy(s->key, cfg->secret, s->key_len);
    /* Posted to as given (checked above): the Host header stays the
    ** receiver's own. */
    snprintf(s->url, sizeof s->url, "%s", cfg->url);
    if ((rc = sink_http_init(&s->http, cfg, err, len)) != SINK_OK) {
        webhook_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return SINK_OK;
nomem:
    if (s) webhook_close(&s->base);
    snprintf(err, len, "out of memory");
    return SINK_ENOMEM;
}

static const char *const webhook_schemes[] = {"https", NULL};

const sink_type sink_webhook_type = {
    .name = "webhook",
    .schemes = webhook_schemes,
    .flags = SINK_PIPELINE, /* encode: format (set at open); send: req, http */
    .formats = 1u << SINK_FORMAT_JSONL | 1u << SINK_FORMAT_OCSF | 1u << SINK_FORMAT_OTLP,
    .default_format = SINK_FORMAT_JSONL,
    .open = webhook_open,
    .encode = webhook_encode,
    .send = webhook_send,
    .close = webhook_close,
};
