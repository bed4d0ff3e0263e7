/*
** httpc.c: common libcurl options and a blocking request (see httpc.h).
*/
#define _GNU_SOURCE
#include "httpc.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/jbuf.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void do_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int httpc_global_init(void)
{
    pthread_once(&once, do_init);
    return init_rc;
}

int httpc_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int yes = 0;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        yes = strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
              strncmp(host, "127.", 4) == 0;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return yes;
}

void httpc_setup(CURL *h, const char *url, int follow)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTPC_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "dss-audit-mcp/" DSS_VERSION);
    if (follow > 0) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)follow);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                         httpc_is_loopback(url) ? "http,https" : "https");
    } else {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    }
}

void httpc_response_free(httpc_response *r)
{
    if (!r) return;
    free(r->body);
    free(r->content_type);
    free(r->www_authenticate);
    free(r->location);
    memset(r, 0, sizeof *r);
}

typedef struct sink {
    jbuf b;
    size_t max;
    int too_big;
    httpc_response *r;
} sink;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    sink *s = ud;
    size_t n = sz * nm;
    if (s->b.len + n > s->max) {
        s->too_big = 1;
        return 0;
    }
    jbuf_put(&s->b, p, n);
    return s->b.failed ? 0 : n;
}

char *httpc_header_value(const char *line, size_t n, const char *name)
{
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0) return NULL;
    const char *v = line + nl + 1, *end = line + n;
    /* The value is a C string: it ends at a NUL, and is trimmed there. */
    const char *nul = memchr(v, '\0', (size_t)(end - v));
    if (nul) end = nul;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && isspace((unsigned char)end[-1])) end--;
    return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    sink *s = ud;
    size_t n = sz * nm;
    char *v;
    /* A new status line (after a redirect or a 100) starts afresh. */
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        free(s->r->content_type);
        free(s->r->www_authenticate);
        free(s->r->location);
        s->r->content_type = s->r->www_authenticate = s->r->location = NULL;
        return n;
    }
    if (!s->r->content_type && (v = httpc_header_value(p, n, "content-type")))
        s->r->content_type = v;
    else if (!s->r->www_authenticate && (v = httpc_header_value(p, n, "www-authenticate")))
        s->r->www_authenticate = v;
    else if (!s->r->location && (v = httpc_header_value(p, n, "location")))
        s->r->location = v;
    return n;
}

int httpc_request(const char *method, const char *url, struct curl_slist *headers,
                  const char *body, size_t body_len, long timeout_ms, int follow,
                  size_t max_body, httpc_response *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (httpc_global_init() != 0) {
        snprintf(err, errlen, "libcurl could not be initialized");
        return -1;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sink s = {.max = max_body, .r = out};
    char cerr[CURL_ERROR_SIZE] = "";
    httpc_setup(h, url, follow);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        char *shown = httpc_redact_url(url);
        if (s.too_big)
            snprintf(err, errlen, "the answer of %s is longer than %zu bytes",
                     shown ? shown : "the server", max_body);
        else
            snprintf(err, errlen, "%s %s failed: %s", method, shown ? shown : "(URL)",
                     *cerr ? cerr : curl_easy_strerror(rc));
        free(shown);
        ret = -1;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        jbuf_putc(&s.b, '\0');
        out->len = s.b.len ? s.b.len - 1 : 0;
        out->body = jbuf_take(&s.b);
        if (!out->body) {
            snprintf(err, errlen, "out of memory");
            ret = -1;
        }
    }
    jbuf_free(&s.b);
    curl_easy_cleanup(h);
    if (ret != 0) httpc_response_free(out);
    return ret;
}

char *httpc_redact_url(const char *url)
{
    CURLU *u = curl_url();
    char *s = NULL, *out = NULL;
    if (!u) return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
        curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) out = strdup(s);
    }
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

int httpc_visible_ascii(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) return 0;
    return 1;
}

int httpc_header_safe(const char *v, size_t n)
{
    if (n && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!(c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e))) return 0;
    }
    return 1;
}

int httpc_token_ok(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c))) return 0;
    }
    return 1;
}
