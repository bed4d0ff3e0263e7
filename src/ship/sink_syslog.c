/*
** sink_syslog.c: syslog+tcp:// and syslog+tls://, RFC 5424 messages over
** TCP with octet-counting framing (RFC 6587 3.4.1; over TLS as RFC 5425
** says), and the RFC 5424 message itself, which the RELP sink sends too.
**
** Each entry is one message: facility 13 (log audit), a severity that
** rises for errors and security events, the entry's created_at as the
** TIMESTAMP, the event type as MSGID, the entry's identity in structured
** data ([dss-audit@32473 seq="..." id="..." log="..." hash="..."]) so a
** receiver can drop repeats and check the chain, and the entry itself as
** MSG (UTF-8 with its BOM), as `query` prints it or as an OCSF event.
**
** Plain syslog over TCP has no acknowledgement: a batch counts as
** delivered once the kernel took it, so entries in flight when the
** receiver dies can be lost (docs/ship.md says so, and recommends RELP).
** Before each batch the connection is checked for a close by the
** receiver, which narrows that window to what was in flight.  The
** connection is made by libcurl (CURLOPT_CONNECT_ONLY), which brings TLS
** with certificate and host name verification without another library.
*/
#include "sink_int.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the RFC 5424 message ------------------------------------------------ */

int sink_syslog_severity(const entry_row *row)
{
    const char *type = sink_row_text(row, ENTRY_F_event_type);
    if (row->v[ENTRY_F_error].p || (type && strcmp(type, "error") == 0)) return 3;
    if (type && strcmp(type, "security_event") == 0) return 4;
    return 6;
}

/* A header field of PRINTUSASCII (33..126), at most max characters; "-"
** (the NILVALUE) when s is NULL or empty. */
static void put_token(jbuf *out, const char *s, size_t max)
{
    size_t n = 0;
    for (; s && s[n] && n < max; n++) {
        unsigned char c = (unsigned char)s[n];
        jbuf_putc(out, c >= 33 && c <= 126 ? (char)c : '_');
    }
    if (n == 0) jbuf_putc(out, '-');
}

/* name="value" with '"', '\' and ']' escaped (RFC 5424 6.3.3). */
static void put_param(jbuf *out, const char *name, const char *value)
{
    jbuf_putc(out, ' ');
    jbuf_puts(out, name);
    jbuf_put(out, "=\"", 2);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == ']') jbuf_putc(out, '\\');
        jbuf_putc(out, *p);
    }
    jbuf_putc(out, '"');
}

int sink_syslog_message(sink_format f, const char *hostname, const entry_row *row, jbuf *out,
                        char *err, size_t len)
{
    char pri[16], seq[24], hash[CHAIN_HEX_LEN];
    snprintf(pri, sizeof pri, "<%d>1 ", SINK_SYSLOG_FACILITY * 8 + sink_syslog_severity(row));
    snprintf(seq, sizeof seq, "%lld", (long long)row->seq);
    entry_hash_hex(&row->v[ENTRY_F_hash], hash);
    jbuf_puts(out, pri);
    put_token(out, sink_row_text(row, ENTRY_F_created_at), 32);
    jbuf_putc(out, ' ');
    put_token(out, hostname, 255);
    jbuf_puts(out, " " SINK_SYSLOG_APP " - ");
    put_token(out, sink_row_text(row, ENTRY_F_event_type), 32);
    jbuf_puts(out, " [" SINK_SYSLOG_SDID);
    put_param(out, "seq", seq);
    put_param(out, "id", sink_row_text(row, ENTRY_F_id));
    put_param(out, "log", row->log_id.p);
    put_param(out, "hash", hash);
    jbuf_puts(out, "] \xEF\xBB\xBF");
    return sink_entry_json(f, row, out, err, len);
}

/* ---- the TCP and TLS transport ------------------------------------------- */

typedef struct syslog_sink {
    sink base;
    sink_config cfg;  /* its strings are the copies below */
    char *ca, *cert, *key;
    char url[512];    /* what libcurl connects to: http:// or https:// */
    char hostname[256];
    int tls;
    CURL *curl;       /* NULL while not connected */
    jbuf msg;         /* one message being framed */
} syslog_sink;

static void disconnect(syslog_sink *s)
{
    if (s->curl) {
        curl_easy_cleanup(s->curl);
        curl_global_cleanup();
    }
    s->curl = NULL;
}

static int connect_to(syslog_sink *s, char *err, size_t len)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, len, "cannot start libcurl");
        return SINK_ENOMEM;
    }
    if (!(s->curl = curl_easy_init())) {
        curl_global_cleanup();
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    long timeout = s->cfg.timeout_ms > 0 ? s->cfg.timeout_ms : 30000;
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(s->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
    int rc = sink_curl_tls(s->curl, &s->cfg, err, len);
    if (rc != SINK_OK) {
        disconnect(s);
        return rc;
    }
    sigset_t saved;
    sink_sigpipe_block(&saved);
    CURLcode cc = curl_easy_perform(s->curl);
    sink_sigpipe_restore(&saved);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
    if (cc != CURLE_OK) {
        /* A certificate the receiver cannot prove is not an outage. */
        rc = sink_tls_refusal(s->curl, cc, s->cfg.ca_file, s->base.desc, errbuf, err, len);
        if (!rc) {
            snprintf(err, len, "%s: %s", s->base.desc, errbuf[0] ? errbuf : curl_easy_strerror(cc));
            rc = SINK_EDOWN;
        }
        disconnect(s);
        return rc;
    }
    return SINK_OK;
}

/* Wait until the socket can be written (or read, which TLS may need
** first), up to the timeout or a stop.  SINK_OK, SINK_EDOWN or
** SINK_ESTOPPED. */
static int wait_socket(syslog_sink *s, char *err, size_t len)
{
    curl_socket_t fd;
    if (curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
        fd == CURL_SOCKET_BAD) {
        snprintf(err, len, "%s: the connection is gone", s->base.desc);
        return SINK_EDOWN;
    }
    int timeout = s->cfg.timeout_ms > 0 ? s->cfg.timeout_ms : 30000;
    for (int waited = 0; waited < timeout; waited += 100) {
        if (sink_stopped(&s->base)) {
            snprintf(err, len, "%s: stopped", s->base.desc);
            return SINK_ESTOPPED;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
        int n = poll(&p, 1, 100);
        if (n > 0) return SINK_OK;
    }
    snprintf(err, len, "%s: no progress for %d ms", s->base.desc, timeout);
    return SINK_EDOWN;
}

/* Whether the receiver closed the connection (or it broke) while idle. */
static int closed_by_peer(syslog_sink *s)
{
    char b[256];
    size_t got = 0;
    for (;;) {
        CURLcode cc = curl_easy_recv(s->curl, b, sizeof b, &got);
        if (cc == CURLE_AGAIN) return 0;
        if (cc != CURLE_OK || got == 0) return 1;
        /* A syslog receiver sends nothing; whatever it did is dropped. */
    }
}

static int write_all(syslog_sink *s, const char *p, size_t n, char *err, size_t len)
{
    int rc = SINK_OK;
    sigset_t saved;
    sink_sigpipe_block(&saved);
    while (n > 0) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(s->curl, p, n, &sent);
        if (cc == CURLE_AGAIN) {
            if ((rc = wait_socket(s, err, len)) != SINK_OK) break;
            continue;
        }
        if (cc != CURLE_OK) {
            snprintf(err, len, "%s: %s", s->base.desc, curl_easy_strerror(cc));
            rc = SINK_EDOWN;
            break;
        }
        p += sent;
        n -= sent;
    }
    sink_sigpipe_restore(&saved);
    return rc;
}

/* An entry framed by octet counting: "LEN SP MSG". */
static int syslog_encode(sink *base, const entry_row *row, jbuf *out, char *err, size_t len)
{
    syslog_sink *s = (syslog_sink *)base;
    char head[24];
    s->msg.len = 0;
    int rc = sink_syslog_message(base->format, s->hostname, row, &s->msg, err, len);
    if (rc != SINK_OK) return rc;
    snprintf(head, sizeof head, "%zu ", s->msg.len);
    jbuf_puts(out, head);
    jbuf_put(out, s->msg.p, s->msg.len);
    if (out->failed) {
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    return SINK_OK;
}

static int syslog_send(sink *base, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    syslog_sink *s = (syslog_sink *)base;
    int rc;
    if (s->curl && closed_by_peer(s)) disconnect(s);
    if (!s->curl && (rc = connect_to(s, err, len)) != SINK_OK) return rc;
    /* The batch's frames are contiguous: one write. */
    if ((rc = write_all(s, b->data + b->off[0], b->off[b->n] - b->off[0], err, len)) != SINK_OK) {
        disconnect(s);
        return rc;
    }
    if (b->n) ack->seq = b->seq[b->n - 1];
    ack->stored = (int64_t)b->n;
    return SINK_OK;
}

static void syslog_close(sink *base)
{
    syslog_sink *s = (syslog_sink *)base;
    disconnect(s);
    jbuf_free(&s->msg);
    free(s->ca);
    free(s->cert);
    free(s->key);
    free(s);
}

static char *dup_or_null(const char *s, int *failed)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d) *failed = 1;
    return d;
}

static int syslog_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    sink_url u;
    int rc = sink_url_parse(cfg->url, 0, &u, err, len);
    if (rc != SINK_OK) return rc;
    int tls = strcmp(u.scheme, "syslog+tls") == 0;
    if (u.port == 0) u.port = tls ? 6514 : 514;
    syslog_sink *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    int failed = 0;
    s->tls = tls;
    s->cfg = *cfg;
    s->cfg.ca_file = s->ca = dup_or_null(cfg->ca_file, &failed);
    s->cfg.cert_file = s->cert = dup_or_null(cfg->cert_file, &failed);
    s->cfg.key_file = s->key = dup_or_null(cfg->key_file, &failed);
    s->cfg.url = s->cfg.token = s->cfg.secret = s->cfg.hostname = NULL;
    s->cfg.log = NULL;
    if (failed) goto nomem;
    snprintf(s->url, sizeof s->url, strchr(u.host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
             tls ? "https" : "http", u.host, u.port);
    snprintf(s->hostname, sizeof s->hostname, "%s", cfg->hostname ? cfg->hostname : "-");
    /* Check the TLS files now: a typo is a usage error, not an outage. */
    CURL *probe = curl_easy_init();
    if (!probe) goto nomem;
    rc = sink_curl_tls(probe, cfg, err, len);
    curl_easy_cleanup(probe);
    if (rc != SINK_OK) {
        syslog_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return SINK_OK;
nomem:
    if (s) syslog_close(&s->base);
    snprintf(err, len, "out of memory");
    return SINK_ENOMEM;
}

static const char *const syslog_schemes[] = {"syslog+tcp", "syslog+tls", NULL};

const sink_type sink_syslog_type = {
    .name = "syslog",
    .schemes = syslog_schemes,
    .formats = 1u << SINK_FORMAT_JSONL | 1u << SINK_FORMAT_OCSF,
    .default_format = SINK_FORMAT_JSONL,
    .open = syslog_open,
    .encode = syslog_encode,
    .send = syslog_send,
    .close = syslog_close,
};
