/*
** sink_http.c: the HTTP client of the OTLP, Splunk HEC and webhook sinks
** (see sink_int.h), on libcurl's easy interface.
**
** One handle per sink, reused so that its connection (and TLS session)
** is kept alive between batches.  Certificates are always verified:
** against the system's CA store, or the PEM file given with --ca.  A
** request is abandoned when the stop flag is set (the progress callback
** checks it), and redirects are not followed: a receiver that moved is
** reported, not chased, since a redirect could carry the token elsewhere.
*/
#include "sink_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

void sink_sigpipe_block(sigset_t *saved)
{
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, saved);
}

void sink_sigpipe_restore(const sigset_t *saved)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    /* Only a SIGPIPE this thread blocked and did not have pending before
    ** is ours to discard. */
    if (sigismember(&pending, SIGPIPE) && !sigismember(saved, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    sink_http *h = ctx;
    size_t bytes = size * n;
    if (h->body.len < SINK_HTTP_BODY_MAX)
        jbuf_put(&h->body, p, bytes < SINK_HTTP_BODY_MAX - h->body.len
                                  ? bytes : SINK_HTTP_BODY_MAX - h->body.len);
    return bytes;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    sink_http *h = ctx;
    return h->stop && *h->stop ? 1 : 0;
}

int sink_curl_tls(CURL *curl, const sink_config *cfg, char *err, size_t len)
{
    const char *files[] = {cfg->ca_file, cfg->cert_file, cfg->key_file};
    const char *what[] = {"--ca", "--client-cert", "--client-key"};
    for (int i = 0; i < 3; i++) {
        if (files[i] && access(files[i], R_OK) != 0) {
            snprintf(err, len, "%s %s cannot be read", what[i], files[i]);
            return SINK_EUSAGE;
        }
    }
    if ((cfg->cert_file != NULL) != (cfg->key_file != NULL)) {
        snprintf(err, len, "a client certificate needs both --client-cert and --client-key");
        return SINK_EUSAGE;
    }
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->cert_file) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, cfg->cert_file);
        curl_easy_setopt(curl, CURLOPT_SSLKEY, cfg->key_file);
    }
    return SINK_OK;
}

/* OpenSSL's certificate verification results (x509_vfy.h; stable
** numbers), as libcurl's OpenSSL backend reports them in
** CURLINFO_SSL_VERIFYRESULT. */
enum {
    X509_OK = 0,
    X509_NO_ISSUER = 2,
    X509_NOT_YET_VALID = 9,
    X509_EXPIRED = 10,
    X509_SELF_SIGNED = 18,
    X509_SELF_SIGNED_IN_CHAIN = 19,
    X509_NO_LOCAL_ISSUER = 20,
    X509_NO_LEAF_ISSUER = 21,
    X509_UNTRUSTED = 27,
    X509_HOST_MISMATCH = 62,
    X509_IP_MISMATCH = 64
};

void sink_tls_explain(const char *desc, const char *host, sink_tls_problem what,
                      const char *ca_file, const char *detail, char *err, size_t len)
{
    char trust[600];
    if (ca_file)
        snprintf(trust, sizeof trust, "the CA in --ca %s did not sign it: give the CA that did "
                                      "with --ca", ca_file);
    else
        snprintf(trust, sizeof trust, "no CA in the system's store signed it: give the CA that "
                                      "did with --ca FILE");
    const char *says = "";
    switch (what) {
    case SINK_TLS_UNKNOWN_CA:
        says = "comes from an unknown CA";
        break;
    case SINK_TLS_NAME_MISMATCH:
        says = "does not name it (a name mismatch)";
        snprintf(trust, sizeof trust, "connect by a name the certificate carries, or give the "
                                      "receiver one for this name (--ca cannot change names)");
        break;
    case SINK_TLS_EXPIRED:
        says = "has expired, or is not valid yet";
        snprintf(trust, sizeof trust, "renew it on the receiver, or check this machine's "
                                      "clock (--ca cannot help)");
        break;
    case SINK_TLS_OTHER:
        says = "could not be verified";
        snprintf(trust, sizeof trust, "check the receiver's certificate%s",
                 ca_file ? " and the CA given with --ca" : ", or give its CA with --ca FILE");
        break;
    }
    snprintf(err, len, "%s: the certificate of %s %s (%s); %s", desc, host, says,
             detail && *detail ? detail : "TLS verification failed", trust);
}

/* What verification result v (with libcurl's code cc) means. */
static sink_tls_problem tls_problem(CURLcode cc, long v)
{
    switch (v) {
    case X509_NO_ISSUER: case X509_SELF_SIGNED: case X509_SELF_SIGNED_IN_CHAIN:
    case X509_NO_LOCAL_ISSUER: case X509_NO_LEAF_ISSUER: case X509_UNTRUSTED:
        return SINK_TLS_UNKNOWN_CA;
    case X509_NOT_YET_VALID: case X509_EXPIRED:
        return SINK_TLS_EXPIRED;
    case X509_HOST_MISMATCH: case X509_IP_MISMATCH:
        return SINK_TLS_NAME_MISMATCH;
    case X509_OK:
        /* The chain was good: what failed is libcurl's own check of the
        ** name, after the handshake. */
        return cc == CURLE_PEER_FAILED_VERIFICATION ? SINK_TLS_NAME_MISMATCH : SINK_TLS_OTHER;
    default:
        return SINK_TLS_OTHER;
    }
}

int sink_tls_refusal(CURL *curl, CURLcode cc, const char *ca_file, const char *desc,
                     const char *detail, char *err, size_t len)
{
    if (cc != CURLE_PEER_FAILED_VERIFICATION && cc != CURLE_SSL_CACERT_BADFILE &&
        cc != CURLE_SSL_CERTPROBLEM)
        return 0;
    if (cc != CURLE_PEER_FAILED_VERIFICATION) { /* our own files, not the receiver's */
        snprintf(err, len, "%s: %s (check --ca, --client-cert and --client-key)", desc,
                 detail && *detail ? detail : curl_easy_strerror(cc));
        return SINK_EREFUSED;
    }
    char host[256] = "the receiver";
    char *url = NULL, *h = NULL;
    CURLU *u = curl_url();
    if (u && curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url &&
        curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
        snprintf(host, sizeof host, "%s", h);
    curl_free(h);
    curl_url_cleanup(u);
    /* The verification result's numbers are OpenSSL's; another TLS
    ** library's are not known here. */
    long v = -1;
    const curl_version_info_data *ver = curl_version_info(CURLVERSION_NOW);
    if (!(ver->ssl_version && strncmp(ver->ssl_version, "OpenSSL", 7) == 0) ||
        curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &v) != CURLE_OK)
        v = -1;
    sink_tls_explain(desc, host, tls_problem(cc, v), ca_file, detail, err, len);
    return SINK_EREFUSED;
}

int sink_http_init(sink_http *h, const sink_config *cfg, char *err, size_t len)
{
    memset(h, 0, sizeof *h);
    h->stop = cfg->stop;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h->curl = curl_easy_init())) {
        snprintf(err, len, "cannot start libcurl");
        return SINK_ENOMEM;
    }
    long timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dss-audit-mcp/" DSS_VERSION);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    int rc = sink_curl_tls(c, cfg, err, len);
    if (rc == SINK_OK && cfg->ca_file && !(h->ca_file = strdup(cfg->ca_file))) {
        snprintf(err, len, "out of memory");
        rc = SINK_ENOMEM;
    }
    if (rc != SINK_OK) sink_http_free(h);
    return rc;
}

int sink_http_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* The body of a request in several parts, read by libcurl as it fills
** its upload buffer: the parts are sent as they lie, never joined into
** one buffer first. */
typedef struct body_reader {
    const sink_part *parts;
    int nparts;
    int i;      /* the part being read */
    size_t off; /* ... and how far */
} body_reader;

static size_t read_parts(char *buf, size_t size, size_t nitems, void *ctx)
{
    body_reader *r = ctx;
    size_t room = size * nitems, got = 0;
    while (got < room && r->i < r->nparts) {
        const sink_part *p = &r->parts[r->i];
        size_t n = p->n - r->off < room - got ? p->n - r->off : room - got;
        if (n) memcpy(buf + got, (const char *)p->p + r->off, n);
        got += n;
        r->off += n;
        if (r->off == p->n) r->i++, r->off = 0;
    }
    return got;
}

/* libcurl rewinds the body when it sends a request again on a new
** connection (a kept-alive one the receiver had closed). */
static int seek_parts(void *ctx, curl_off_t offset, int origin)
{
    body_reader *r = ctx;
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    r->i = 0;
    r->off = 0;
    size_t left = (size_t)offset;
    while (r->i < r->nparts && left >= r->parts[r->i].n) left -= r->parts[r->i++].n;
    if (left && r->i == r->nparts) return CURL_SEEKFUNC_FAIL;
    r->off = left;
    return CURL_SEEKFUNC_OK;
}

int sink_http_post(sink_http *h, const char *url, const char *desc,
                   const char *const *headers, const void *body, size_t n, char *err,
                   size_t len)
{
    sink_part one = {body, n};
    return sink_http_post_parts(h, url, desc, headers, &one, 1, err, len);
}

int sink_http_post_parts(sink_http *h, const char *url, const char *desc,
                         const char *const *headers, const sink_part *parts, int nparts,
                         char *err, size_t len)
{
    struct curl_slist *list = NULL, *l;
    int rc = SINK_ENOMEM;
    if (len) err[0] = '\0';
    for (const char *const *p = headers; p && *p; p++) {
        if (!(l = curl_slist_append(list, *p))) goto done;
        list = l;
    }
    /* No "Expect: 100-continue" round trip before each batch. */
    if (!(l = curl_slist_append(list, "Expect:"))) goto done;
    list = l;
    jbuf_free(&h->body);
    h->status = 0;
    h->retry_after_ms = 0;
    h->ctype[0] = '\0';
    h->errbuf[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    /* One part is libcurl's own POSTFIELDS (a small body goes out with the
    ** head in one write); several are read in turn. */
    body_reader reader = {.parts = parts, .nparts = nparts};
    curl_off_t total = 0;
    for (int i = 0; i < nparts; i++) total += (curl_off_t)parts[i].n;
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS,
                     nparts == 1 ? (parts[0].p ? parts[0].p : "") : NULL);
    curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, read_parts);
    curl_easy_setopt(h->curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(h->curl, CURLOPT_SEEKFUNCTION, seek_parts);
    curl_easy_setopt(h->curl, CURLOPT_SEEKDATA, &reader);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, total);
    sigset_t saved;
    sink_sigpipe_block(&saved);
    CURLcode cc = curl_easy_perform(h->curl);
    sink_sigpipe_restore(&saved);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h->curl, CURLOPT_READDATA, NULL); /* reader is gone */
    curl_easy_setopt(h->curl, CURLOPT_SEEKDATA, NULL);
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, len, "%s: stopped", desc);
        rc = SINK_ESTOPPED;
        goto done;
    }
    if (cc != CURLE_OK) {
        /* A certificate the receiver cannot prove is not an outage. */
        if ((rc = sink_tls_refusal(h->curl, cc, h->ca_file, desc, h->errbuf, err, len))) goto done;
        snprintf(err, len, "%s: %s", desc, h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
        rc = SINK_EDOWN;
        goto done;
    }
    curl_off_t retry = 0;
    char *ctype = NULL;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->status);
    if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0)
        h->retry_after_ms = retry > 3600 ? 3600 * 1000 : (int)retry * 1000;
    if (curl_easy_getinfo(h->curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
        snprintf(h->ctype, sizeof h->ctype, "%s", ctype);
    if (h->body.failed) {
        snprintf(err, len, "out of memory");
        goto done;
    }
    rc = SINK_OK;
done:
    if (rc == SINK_ENOMEM && !err[0]) snprintf(err, len, "out of memory");
    curl_slist_free_all(list);
    return rc;
}

void sink_http_free(sink_http *h)
{
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        curl_global_cleanup();
    }
    h->curl = NULL;
    jbuf_free(&h->body);
    free(h->ca_file);
    h->ca_file = NULL;
}
