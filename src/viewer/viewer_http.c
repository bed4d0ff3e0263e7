/*
** viewer_http.c: libmicrohttpd carrying requests to viewer_api.c.
**
** The daemon runs one internal polling thread, so the store (one SQLite
** connection) is only ever used by that thread; the verification has its
** own connection on its own thread (viewer_verify.c).  Every response is
** built whole in memory (a page is at most VIEWER_PAGE_MAX entries) and
** handed to libmicrohttpd, which frees it once sent.
*/
#include "viewer_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "viewer_api.h"
#include "viewer_verify.h"
#include "viewer_web.h"

enum { TOKEN_BYTES = 24, TOKEN_HEX = 2 * TOKEN_BYTES + 1 };

struct viewer_http {
    struct MHD_Daemon *d;
    store *st;
    viewer_api api;
    viewer_addr addr;
    int port;
    char token[TOKEN_HEX];
    char url[128];
};

/* What a page may load: only this server's own script, style and API. */
static const char page_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const viewer_web_file *viewer_web_find(const char *name)
{
    for (size_t i = 0; i < viewer_web_file_count; i++)
        if (strcmp(viewer_web_files[i].name, name) == 0) return &viewer_web_files[i];
    return NULL;
}

/* ---- addresses ---------------------------------------------------------- */

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
        /* ::ffff:127.x.y.z, as a dual-stack socket sees IPv4 loopback */
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

int viewer_peer_allowed(const struct sockaddr *peer, int remote_ok)
{
    return peer && (remote_ok || is_loopback(peer));
}

int viewer_parse_listen(const char *text, viewer_addr *out, char *err, size_t errlen)
{
    char host[64] = "127.0.0.1";
    const char *port_s = NULL;
    memset(out, 0, sizeof *out);
    if (!text || !*text) {
        snprintf(err, errlen, "the listen address is empty");
        return -1;
    }
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (size_t)(close - text - 1) >= sizeof host ||
            (close[1] && close[1] != ':')) {
            snprintf(err, errlen, "'%s' is not [IPv6]:PORT", text);
            return -1;
        }
        snprintf(host, sizeof host, "%.*s", (int)(close - text - 1), text + 1);
        port_s = close[1] ? close + 2 : NULL;
    } else {
        const char *colon = strrchr(text, ':');
        size_t n = colon ? (size_t)(colon - text) : strlen(text);
        if (colon && strchr(text, ':') != colon) {
            snprintf(err, errlen, "write an IPv6 address in brackets: [%s]:PORT", text);
            return -1;
        }
        if (n >= sizeof host) {
            snprintf(err, errlen, "'%s' is not HOST:PORT", text);
            return -1;
        }
        if (n) snprintf(host, sizeof host, "%.*s", (int)n, text);
        port_s = colon ? colon + 1 : NULL;
    }
    if (port_s) {
        char *end;
        long p = strtol(port_s, &end, 10);
        if (!*port_s || *end || p < 0 || p > 65535) {
            snprintf(err, errlen, "the port in '%s' must be a number from 0 to 65535", text);
            return -1;
        }
        out->port = (int)p;
    }
    if (strcmp(host, "localhost") == 0) snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)out->port);
        out->len = sizeof *in;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)out->port);
        out->len = sizeof *in6;
    } else {
        snprintf(err, errlen, "'%s' is not an IP address (nor localhost)", host);
        return -1;
    }
    out->loopback = is_loopback((const struct sockaddr *)&out->ss);
    return 0;
}

/* ---- requests ----------------------------------------------------------- */

static enum MHD_Result accept_peer(void *cls, const struct sockaddr *addr, socklen_t len)
{
    const viewer_http *h = cls;
    (void)len;
    return viewer_peer_allowed(addr, !h->addr.loopback) ? MHD_YES : MHD_NO;
}

static int token_ok(const viewer_http *h, const char *given)
{
    return given && strlen(given) == TOKEN_HEX - 1 &&
           sodium_memcmp(given, h->token, TOKEN_HEX - 1) == 0;
}

static int authorized(const viewer_http *h, struct MHD_Connection *c)
{
    if (token_ok(h, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token")))
        return 1;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    return auth && strncmp(auth, "Bearer ", 7) == 0 && token_ok(h, auth + 7);
}

/* Send body (len bytes; copied when copy, else taken and freed). */
static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status,
                                 const char *type, char *body, size_t len, int copy,
                                 const char *csp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
    if (!r) {
        if (!copy) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    if (csp) MHD_add_response_header(r, "Content-Security-Policy", csp);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return send_body(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), 1,
                     NULL);
}

static enum MHD_Result send_file(struct MHD_Connection *c, const char *name)
{
    const viewer_web_file *f = viewer_web_find(name);
    if (!f) return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    const char *dot = strrchr(name, '.');
    const char *type = !dot ? "application/octet-stream"
                       : strcmp(dot, ".html") == 0 ? "text/html; charset=utf-8"
                       : strcmp(dot, ".css") == 0 ? "text/css; charset=utf-8"
                       : strcmp(dot, ".js") == 0 ? "text/javascript; charset=utf-8"
                                                 : "application/octet-stream";
    return send_body(c, MHD_HTTP_OK, type, (char *)f->text, f->len, 1, page_csp);
}

static const char *get_param(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **req)
{
    viewer_http *h = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                         "the viewer is read-only: only GET and HEAD are served\n");
    /* The script and the style sheet hold no data: the same for everyone. */
    if (strcmp(url, "/app.js") == 0 || strcmp(url, "/app.css") == 0)
        return send_file(c, url + 1);
    if (!authorized(h, c))
        return send_text(c, MHD_HTTP_UNAUTHORIZED,
                         "401: this viewer needs its access token: open the URL that "
                         "'dss-audit-mcp ui' printed\n");
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return send_file(c, "index.html");
    if (strncmp(url, "/api/", 5) != 0) return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
    jbuf out = {0};
    int status = viewer_api_get(&h->api, url, get_param, c, &out);
    size_t len = out.len;
    char *body = jbuf_take(&out);
    if (!body) return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    return send_body(c, (unsigned)status, "application/json", body, len, 0, NULL);
}

/* ---- the server --------------------------------------------------------- */

viewer_http *viewer_http_start(const viewer_http_options *opt, char *err, size_t errlen)
{
    char serr[STORE_ERRLEN];
    viewer_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (viewer_parse_listen(opt->listen ? opt->listen : "127.0.0.1:0", &h->addr, err,
                            errlen) != 0)
        goto fail;
    store_options so = {.path = opt->db_path, .readonly = 1};
    if (store_open(&so, &h->st, serr) != STORE_OK) {
        char shown[512];
        store_redact_path(opt->db_path, shown, sizeof shown);
        snprintf(err, errlen, "cannot open the audit database %s: %s", shown, serr);
        goto fail;
    }
    if (!(h->api.verify = viewer_verify_start(opt->db_path, opt->trusted_public_key, err,
                                              errlen)))
        goto fail;
    h->api.st = h->st;
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(h->token, sizeof h->token, raw, sizeof raw);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (h->addr.ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, (uint16_t)h->addr.port, accept_peer, h, on_request, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr.ss,
                            MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "cannot listen on %s (in use, or not an address of this machine)",
                 opt->listen ? opt->listen : "127.0.0.1");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : h->addr.port;
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    if (h->addr.ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&h->addr.ss)->sin_addr, host, sizeof host);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&h->addr.ss)->sin6_addr, host, sizeof host);
    int v6 = h->addr.ss.ss_family == AF_INET6;
    snprintf(h->url, sizeof h->url, "http://%s%s%s:%d/?token=%s", v6 ? "[" : "", host,
             v6 ? "]" : "", h->port, h->token);
    return h;
fail:
    viewer_http_stop(h);
    return NULL;
}

const char *viewer_http_url(const viewer_http *h) { return h->url; }
const char *viewer_http_token(const viewer_http *h) { return h->token; }
int viewer_http_port(const viewer_http *h) { return h->port; }
int viewer_http_remote(const viewer_http *h) { return !h->addr.loopback; }
int viewer_http_readonly(const viewer_http *h) { return store_readonly(h->st); }

void viewer_http_stop(viewer_http *h)
{
    if (!h) return;
    if (h->d) MHD_stop_daemon(h->d);
    viewer_verify_free(h->api.verify);
    store_close(h->st);
    sodium_memzero(h->token, sizeof h->token);
    free(h);
}
