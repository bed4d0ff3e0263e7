/*
** oauth.c: the OAuth 2.1 client (see oauth.h).
**
** The steps, each a static function: parse the WWW-Authenticate challenge;
** fetch the protected resource metadata and check its resource; discover
** the authorization server's metadata and check its issuer and PKCE
** support; get a client id (metadata document URL, stored registration, or
** dynamic registration); run the browser step through the loopback
** listener; exchange the code; refresh.  The record (tokens.h) is reloaded
** under its lock before any change, so that two wrappers of one server
** share one authorization instead of racing for two.
*/
#define _GNU_SOURCE
#include "oauth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "../remote/httpc.h"
#include "../util/diag.h"
#include "../util/jbuf.h"
#include "../util/utf8.h"
#include "loopback.h"
#include "pkce.h"
#include "tokens.h"

extern char **environ;

enum {
    META_MAX = 256 * 1024,   /* a metadata or token answer */
    HTTP_TIMEOUT_MS = 30000,
    EARLY_REFRESH_S = 60     /* refresh a token expiring this soon */
};

struct oauth {
    char *server_url;        /* as given (may hold userinfo: never shown) */
    char *shown_url;         /* for messages */
    char *config_dir;
    char *open_with;
    int no_browser;
    long timeout_s;
    char *client_id_url;
    char *client_name;
    int port;
    const volatile int *cancel;
    volatile int cancelled;  /* oauth_cancel() */
    tok_record rec;
    int have;
    char *header;            /* "Authorization: Bearer ..." */
    unsigned gen;            /* bumped when the access token changes */
    int flows, refreshes;
};

/* ---- small helpers ----------------------------------------------------- */

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static void set_str(char **dst, const char *v)
{
    char *n = xstrdup(v);
    if (*dst) sodium_memzero(*dst, strlen(*dst));
    free(*dst);
    *dst = n;
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    diag("%s", buf);
}

/* Append k=v (URL-encoded) to a form or query in b. */
static void form_add(jbuf *b, const char *k, const char *v)
{
    if (!v) return;
    char *e = curl_easy_escape(NULL, v, 0);
    if (!e) {
        jbuf_fail(b);
        return;
    }
    if (b->len) jbuf_putc(b, '&');
    jbuf_puts(b, k);
    jbuf_putc(b, '=');
    jbuf_puts(b, e);
    sodium_memzero(e, strlen(e));
    curl_free(e);
}

/* GET a JSON document: the parsed object, or NULL with err (for a status
** other than 200, *status tells which). */
static cJSON *get_json(const char *url, long *status, char *err, size_t errlen)
{
    httpc_response r;
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    int rc = httpc_request("GET", url, h, NULL, 0, HTTP_TIMEOUT_MS, 3, META_MAX, &r, err, errlen);
    curl_slist_free_all(h);
    if (status) *status = rc == 0 ? r.status : 0;
    if (rc != 0) return NULL;
    cJSON *j = NULL;
    if (r.status == 200) {
        j = cJSON_ParseWithLength(r.body, r.len);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            j = NULL;
            snprintf(err, errlen, "%s did not answer with a JSON object", url);
        }
    } else {
        snprintf(err, errlen, "%s answered HTTP %ld", url, r.status);
    }
    httpc_response_free(&r);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What a server wrote, for a message: its control characters and bytes
** that are not UTF-8 as '?' (a terminal would act on an escape sequence),
** cut between characters to at most n - 1 bytes. */
static const char *shown(const char *s, char *buf, size_t n)
{
    utf8_printable(s ? s : "", s ? strlen(s) : 0, n - 1, buf, n);
    return buf;
}

/* "<who> answered HTTP <status>[: error][ - error_description]" into err,
** from an error answer of an authorization server (RFC 6749, 5.2). */
static void server_error(const char *who, long status, const cJSON *j, char *err, size_t errlen)
{
    char a[200], b[200];
    const char *e = jstr(j, "error"), *d = jstr(j, "error_description");
    snprintf(err, errlen, "%s answered HTTP %ld%s%s%s%s", who, status, e ? ": " : "",
             e ? shown(e, a, sizeof a) : "", d ? " - " : "", d ? shown(d, b, sizeof b) : "");
}

/* ---- WWW-Authenticate -------------------------------------------------- */

typedef oauth_bearer_params challenge;

void oauth_bearer_params_free(oauth_bearer_params *c)
{
    free(c->resource_metadata);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof *c);
}

static void challenge_free(challenge *c) { oauth_bearer_params_free(c); }

/* A tchar of RFC 9110 (the characters of a token). */
static int tchar(char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* The parameters of the Bearer challenge (RFC 6750 section 3).  The value
** is a list of challenges (RFC 9110 section 11.6.1), each an auth-scheme
** and then a token68 or auth-params (name=token or name="quoted string"),
** all separated by commas; a challenge begins at a token that no "="
** follows.  Only the params of a Bearer challenge are taken, the first of
** each name: another scheme's (Basic's realm, DPoP's error...) may say
** "bearer" or carry a scope, and none of it is Bearer's. */
void oauth_parse_www_authenticate(const char *h, oauth_bearer_params *c)
{
    memset(c, 0, sizeof *c);
    if (!h) return;
    const char *p = h;
    int bearer = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *n = p;
        while (tchar(*p)) p++;
        size_t nl = (size_t)(p - n);
        if (!nl) {
            if (*p) p++; /* not a token: skipped */
            continue;
        }
        const char *q = p;
        while (*q == ' ' || *q == '\t') q++;
        if (*q != '=') {
            /* An auth-scheme: a new challenge. */
            bearer = nl == 6 && strncasecmp(n, "bearer", 6) == 0;
            continue;
        }
        p = q + 1;
        while (*p == ' ' || *p == '\t') p++;
        jbuf v = {0};
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                jbuf_putc(&v, *p++);
            }
            if (*p == '"') p++;
        } else {
            /* A token, or the padding of a token68; an unquoted URL (not a
            ** token) is taken whole too. */
            while (*p && *p != ',' && *p != ' ' && *p != '\t') jbuf_putc(&v, *p++);
        }
        char **dst = !bearer                                                      ? NULL
                     : nl == 17 && strncasecmp(n, "resource_metadata", 17) == 0 ? &c->resource_metadata
                     : nl == 5 && strncasecmp(n, "scope", 5) == 0              ? &c->scope
                     : nl == 5 && strncasecmp(n, "error", 5) == 0              ? &c->error
                                                                               : NULL;
        if (dst && !*dst) *dst = jbuf_take(&v); /* NULL only when memory ran out */
        jbuf_free(&v);
    }
}

/* ---- discovery ----------------------------------------------------------- */

/* The protected resource metadata's URLs to try: the challenge's, else
** the well-known URI with the endpoint's path, then at the root. */
static cJSON *fetch_prm(oauth *a, const char *hinted, char *err, size_t errlen)
{
    if (hinted) {
        if (!tok_is_url(hinted)) {
            snprintf(err, errlen, "the resource metadata URL is not https");
            return NULL;
        }
        return get_json(hinted, NULL, err, errlen);
    }
    CURLU *u = curl_url();
    char *origin = NULL, *path = NULL;
    cJSON *j = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, a->server_url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        curl_url_set(u, CURLUPART_PATH, "/", 0);
        curl_url_get(u, CURLUPART_URL, &origin, 0);
    }
    if (origin) {
        size_t ol = strlen(origin);
        if (ol && origin[ol - 1] == '/') origin[--ol] = '\0';
        char url[4096];
        if (path && strcmp(path, "/") != 0) {
            snprintf(url, sizeof url, "%s/.well-known/oauth-protected-resource%s", origin, path);
            j = get_json(url, NULL, err, errlen);
        }
        if (!j) {
            snprintf(url, sizeof url, "%s/.well-known/oauth-protected-resource", origin);
            j = get_json(url, NULL, err, errlen);
        }
    } else {
        snprintf(err, errlen, "the server URL cannot be parsed");
    }
    curl_free(origin);
    curl_free(path);
    curl_url_cleanup(u);
    return j;
}

/* RFC 9728 section 3.3: the metadata's resource must be the server's URL;
** as other clients do, a resource that is a path prefix of it on the same
** origin is accepted too.  1 when it matches. */
static int resource_matches(const char *resource, const char *key)
{
    size_t n = strlen(resource);
    while (n && resource[n - 1] == '/') n--;
    /* The prefix must hold the whole origin: "https:" or "https://" (its
    ** slashes trimmed) is a prefix of every https URL, and metadata named
    ** by a challenge may come from anywhere. */
    const char *sep = strstr(key, "://");
    size_t origin = sep ? (size_t)(sep - key) + 3 + strcspn(sep + 3, "/?#") : strlen(key);
    if (n < origin || strncmp(key, resource, n) != 0) return 0;
    char next = key[n];
    return next == '\0' || next == '/' || next == '?';
}

/* The authorization server's metadata, by the spec's list of well-known
** URIs, with its issuer checked against the one asked for. */
static cJSON *fetch_asm(const char *issuer, char *err, size_t errlen)
{
    if (!tok_is_url(issuer)) {
        char a[200];
        snprintf(err, errlen, "the authorization server %s is not https", shown(issuer, a, sizeof a));
        return NULL;
    }
    CURLU *u = curl_url();
    char *origin = NULL, *path = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, issuer, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        snprintf(err, errlen, "the authorization server's URL cannot be parsed");
        return NULL;
    }
    curl_url_set(u, CURLUPART_PATH, "/", 0);
    curl_url_set(u, CURLUPART_QUERY, NULL, 0);
    curl_url_get(u, CURLUPART_URL, &origin, 0);
    curl_url_cleanup(u);
    size_t ol = origin ? strlen(origin) : 0;
    if (ol && origin[ol - 1] == '/') origin[--ol] = '\0';
    size_t pl = path ? strlen(path) : 0;
    while (pl && path[pl - 1] == '/') path[--pl] = '\0';
    char urls[3][4096];
    int n = 0;
    if (pl) {
        snprintf(urls[n++], sizeof urls[0], "%s/.well-known/oauth-authorization-server%s", origin, path);
        snprintf(urls[n++], sizeof urls[0], "%s/.well-known/openid-configuration%s", origin, path);
        snprintf(urls[n++], sizeof urls[0], "%s%s/.well-known/openid-configuration", origin, path);
    } else {
        snprintf(urls[n++], sizeof urls[0], "%s/.well-known/oauth-authorization-server", origin);
        snprintf(urls[n++], sizeof urls[0], "%s/.well-known/openid-configuration", origin);
    }
    curl_free(origin);
    curl_free(path);
    cJSON *j = NULL;
    for (int i = 0; i < n && !j; i++) j = get_json(urls[i], NULL, err, errlen);
    if (j && oauth_check_asm(j, issuer, err, errlen) != 0) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

int oauth_check_asm(const cJSON *j, const char *issuer, char *err, size_t errlen)
{
    char a[200], b[200];
    /* RFC 8414 section 3.3: identical, as a string, to the issuer the
    ** well-known URL was built from. */
    const char *iss = jstr(j, "issuer");
    if (!iss || strcmp(iss, issuer) != 0) {
        snprintf(err, errlen, "the authorization server's metadata names another issuer "
                 "(%s, not %s); refused", iss ? shown(iss, a, sizeof a) : "none",
                 shown(issuer, b, sizeof b));
        return -1;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "code_challenge_methods_supported");
    int s256 = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, m) if (cJSON_IsString(e) && strcmp(e->valuestring, "S256") == 0) s256 = 1;
    if (!s256) {
        snprintf(err, errlen, "the authorization server does not support PKCE with S256; refused");
        return -1;
    }
    const char *ae = jstr(j, "authorization_endpoint"), *te = jstr(j, "token_endpoint");
    if (!ae || !te || !tok_is_url(ae) || !tok_is_url(te)) {
        snprintf(err, errlen, "the authorization server's metadata lacks https authorization "
                 "and token endpoints");
        return -1;
    }
    return 0;
}

int oauth_check_prm(const cJSON *prm, const char *key, const char **issuer, char *err,
                    size_t errlen)
{
    char a[200];
    *issuer = NULL;
    const char *resource = jstr(prm, "resource");
    if (resource && !resource_matches(resource, key)) {
        snprintf(err, errlen, "the protected resource metadata is for another resource (%s); refused",
                 shown(resource, a, sizeof a));
        return -1;
    }
    const cJSON *servers = cJSON_GetObjectItemCaseSensitive(prm, "authorization_servers");
    const cJSON *first = cJSON_GetArrayItem(servers, 0);
    if (!cJSON_IsString(first)) {
        snprintf(err, errlen, "the protected resource metadata names no authorization server");
        return -1;
    }
    if (!tok_is_url(first->valuestring)) {
        snprintf(err, errlen, "the authorization server %s is not https",
                 shown(first->valuestring, a, sizeof a));
        return -1;
    }
    *issuer = first->valuestring;
    return 0;
}

/* ---- tokens --------------------------------------------------------------- */

/* POST a form to the token endpoint with the client's authentication, and
** take the tokens of the answer into a->rec.  0 or -1 with err (the
** server's error and error_description, never a token). */
static int token_request(oauth *a, jbuf *form, char *err, size_t errlen)
{
    tok_record *t = &a->rec;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    h = curl_slist_append(h, "Accept: application/json");
    int basic = t->client_secret && t->auth_method && strcmp(t->auth_method, "client_secret_basic") == 0;
    if (basic) {
        char *u = curl_easy_escape(NULL, t->client_id, 0), *p = curl_easy_escape(NULL, t->client_secret, 0);
        size_t n = strlen(u) + strlen(p) + 2;
        char *pair = malloc(n);
        size_t bl = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *line = malloc(bl + 32);
        if (u && p && pair && line) {
            snprintf(pair, n, "%s:%s", u, p);
            strcpy(line, "Authorization: Basic ");
            sodium_bin2base64(line + strlen(line), bl, (unsigned char *)pair, strlen(pair),
                              sodium_base64_VARIANT_ORIGINAL);
            h = curl_slist_append(h, line);
            sodium_memzero(pair, strlen(pair));
            sodium_memzero(line, strlen(line));
        }
        free(pair);
        free(line);
        curl_free(u);
        if (p) sodium_memzero(p, strlen(p));
        curl_free(p);
    } else {
        form_add(form, "client_id", t->client_id);
        if (t->client_secret) form_add(form, "client_secret", t->client_secret);
    }
    char *body = jbuf_take(form);
    httpc_response r;
    int rc = -1;
    if (!body || !h) {
        snprintf(err, errlen, "out of memory");
    } else if (httpc_request("POST", t->token_endpoint, h, body, strlen(body), HTTP_TIMEOUT_MS, 0,
                             META_MAX, &r, err, errlen) == 0) {
        rc = oauth_take_tokens(t, r.status, r.body, r.len, now_s(), err, errlen);
        if (rc == 0) a->gen++;
        if (r.body) sodium_memzero(r.body, r.len);
        httpc_response_free(&r);
    }
    if (body) {
        sodium_memzero(body, strlen(body));
        free(body);
    }
    curl_slist_free_all(h);
    return rc;
}

/* A lifetime beyond this is taken as this: it only decides when to refresh
** ahead, and the sum with the clock stays far from overflow. */
#define MAX_LIFETIME_S (10.0 * 366 * 24 * 3600)

int oauth_take_tokens(tok_record *t, long status, const char *body, size_t n, int64_t now,
                      char *err, size_t errlen)
{
    cJSON *j = body ? cJSON_ParseWithLength(body, n) : NULL;
    const char *at = jstr(j, "access_token"), *tt = jstr(j, "token_type");
    char a[200];
    int rc = -1;
    if (status == 200 && at && (!tt || strcasecmp(tt, "bearer") == 0)) {
        /* It goes into the Authorization header as it is. */
        if (!tok_is_token(at)) {
            snprintf(err, errlen, "the token endpoint issued an access token that is not one "
                     "(empty, too long, or with spaces or control characters); refused");
            goto done;
        }
        set_str(&t->access_token, at);
        const char *rt = jstr(j, "refresh_token");
        if (rt) set_str(&t->refresh_token, rt); /* else the old one stays */
        const char *sc = jstr(j, "scope");
        if (sc) set_str(&t->scope, sc);
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
        /* A lifetime that is not a positive number is no lifetime: the
        ** token is used until the server refuses it. */
        double life = cJSON_IsNumber(ex) ? ex->valuedouble : 0;
        t->expires_at = life >= 1 ? now + (int64_t)(life < MAX_LIFETIME_S ? life : MAX_LIFETIME_S)
                                  : 0;
        rc = 0;
    } else {
        server_error("the token endpoint", status, j, err, errlen);
        if (status == 200 && at) snprintf(err, errlen, "the token endpoint issued a token "
                                          "of type %s, not Bearer", shown(tt, a, sizeof a));
    }
done:
    cJSON_Delete(j);
    return rc;
}

static int save(oauth *a, char *err, size_t errlen)
{
    return tok_save(a->config_dir, &a->rec, err, errlen);
}

/* Under the record's lock: take the record on disk, which another process
** may have changed.  1 when it now holds an access token other than stale
** (NULL: any) that is not about to expire: the work was done elsewhere. */
static int reload(oauth *a, const char *stale)
{
    tok_record fresh;
    char lerr[256];
    if (tok_load(a->config_dir, a->server_url, &fresh, lerr, sizeof lerr) != 1) return 0;
    if (!fresh.access_token || !a->rec.access_token ||
        strcmp(fresh.access_token, a->rec.access_token) != 0)
        a->gen++;
    tok_record_free(&a->rec);
    a->rec = fresh;
    a->have = 1;
    return a->rec.access_token && (!stale || strcmp(a->rec.access_token, stale) != 0) &&
           (!a->rec.expires_at || a->rec.expires_at - now_s() > EARLY_REFRESH_S);
}

/* Refresh with the refresh token, under the lock; another process may have
** done it meanwhile, and then its token is taken.  0 or -1 with err. */
static int refresh(oauth *a, const char *stale, char *err, size_t errlen)
{
    int lk = tok_lock(a->config_dir, a->server_url, err, errlen);
    if (lk < 0) return -1;
    if (reload(a, stale) && stale) {
        tok_unlock(lk);
        return 0;
    }
    int rc = -1;
    if (!a->rec.refresh_token || !a->rec.token_endpoint || !a->rec.client_id) {
        snprintf(err, errlen, "no refresh token is held");
    } else {
        jbuf f = {0};
        form_add(&f, "grant_type", "refresh_token");
        form_add(&f, "refresh_token", a->rec.refresh_token);
        form_add(&f, "resource", a->rec.resource);
        rc = token_request(a, &f, err, errlen);
        if (rc == 0) {
            a->refreshes++;
            rc = save(a, err, errlen);
        }
    }
    tok_unlock(lk);
    return rc;
}

/* ---- the browser step ------------------------------------------------------ */

/* Run the opener (--open-with CMD, else xdg-open) with url as its last
** argument, its stdout sent to our stderr (stdout carries the protocol).
** Returns the child's pid, or -1. */
static pid_t open_browser(const oauth *a, const char *url)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    int rc;
    if (a->open_with) {
        char script[4096];
        snprintf(script, sizeof script, "%s \"$1\"", a->open_with);
        char *argv[] = {"sh", "-c", script, "sh", (char *)url, NULL};
        rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    } else {
        char *argv[] = {"xdg-open", (char *)url, NULL};
        rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

static void reap_opener(pid_t pid)
{
    if (pid <= 0) return;
    for (int i = 0; i < 40; i++) {
        if (waitpid(pid, NULL, WNOHANG) != 0) return;
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
    /* Still running (a browser that stays): leave it be, but never as our
    ** zombie for long. */
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* Register with dynamic client registration (RFC 7591). */
static int register_client(oauth *a, const cJSON *as, const char *redirect, const char *scope,
                           char *err, size_t errlen)
{
    const char *ep = jstr(as, "registration_endpoint");
    if (!ep || !tok_is_url(ep)) {
        snprintf(err, errlen, "the authorization server offers no dynamic client registration "
                 "and no Client ID Metadata Document URL was configured");
        return -1;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "client_name", a->client_name);
    cJSON *ru = cJSON_AddArrayToObject(req, "redirect_uris");
    cJSON_AddItemToArray(ru, cJSON_CreateString(redirect));
    cJSON *gt = cJSON_AddArrayToObject(req, "grant_types");
    cJSON_AddItemToArray(gt, cJSON_CreateString("authorization_code"));
    cJSON_AddItemToArray(gt, cJSON_CreateString("refresh_token"));
    cJSON *rt = cJSON_AddArrayToObject(req, "response_types");
    cJSON_AddItemToArray(rt, cJSON_CreateString("code"));
    cJSON_AddStringToObject(req, "token_endpoint_auth_method", "none");
    cJSON_AddStringToObject(req, "application_type", "native");
    if (scope) cJSON_AddStringToObject(req, "scope", scope);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    httpc_response r;
    int rc = -1;
    if (body && h &&
        httpc_request("POST", ep, h, body, strlen(body), HTTP_TIMEOUT_MS, 0, META_MAX, &r, err,
                      errlen) == 0) {
        rc = oauth_take_registration(&a->rec, r.status, r.body, r.len, redirect, err, errlen);
        if (r.body) sodium_memzero(r.body, r.len);
        httpc_response_free(&r);
    } else if (!body || !h) {
        snprintf(err, errlen, "out of memory");
    }
    free(body);
    curl_slist_free_all(h);
    return rc;
}

static int no_controls(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

int oauth_take_registration(tok_record *t, long status, const char *body, size_t n,
                            const char *redirect, char *err, size_t errlen)
{
    cJSON *j = body ? cJSON_ParseWithLength(body, n) : NULL;
    const char *id = jstr(j, "client_id");
    int rc = -1;
    if ((status == 200 || status == 201) && id) {
        /* The client id is sent, stored and compared as a string: one with
        ** a control character is no registration this client can use. */
        const char *sec = jstr(j, "client_secret");
        if (!no_controls(id) || !*id || strlen(id) > TOK_MAX) {
            snprintf(err, errlen, "client registration answered with a client_id that is not "
                     "one; refused");
            goto done;
        }
        set_str(&t->client_id, id);
        set_str(&t->client_secret, sec);
        const char *m = jstr(j, "token_endpoint_auth_method");
        set_str(&t->auth_method, m ? m : t->client_secret ? "client_secret_basic" : "none");
        set_str(&t->redirect_uri, redirect);
        rc = 0;
    } else {
        server_error("client registration", status, j, err, errlen);
    }
done:
    cJSON_Delete(j);
    return rc;
}

/* The loopback port of a stored redirect URI, or 0. */
static int stored_port(const char *redirect)
{
    const char *p = redirect ? strstr(redirect, "127.0.0.1:") : NULL;
    /* The record may be hand-edited: a port out of range is no port. */
    long v = p ? strtol(p + 10, NULL, 10) : 0;
    return v > 0 && v < 65536 ? (int)v : 0;
}

/* The whole flow, from the challenge (may be empty) to saved tokens. */
static int run_flow(oauth *a, const challenge *c, const char *want_scope, char *err,
                    size_t errlen)
{
    int rc = -1;
    cJSON *prm = NULL, *as = NULL;
    loopback *lb = NULL;
    char *key = tok_key_url(a->server_url);
    char state[PKCE_LEN], verifier[PKCE_LEN], chal[PKCE_LEN];
    jbuf q = {0};
    char *authz = NULL;
    pid_t opener = -1;
    loopback_result res = {0};
    if (!key) {
        snprintf(err, errlen, "the server URL cannot be parsed");
        goto done;
    }
    if (!(prm = fetch_prm(a, c->resource_metadata, err, errlen))) {
        char inner[400];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "no protected resource metadata: %s", inner);
        goto done;
    }
    const char *resource = jstr(prm, "resource"), *issuer;
    if (oauth_check_prm(prm, key, &issuer, err, errlen) != 0) goto done;
    if (!(as = fetch_asm(issuer, err, errlen))) goto done;
    /* Scopes: the challenge's, else the resource's scopes_supported; on a
    ** step-up, the union with those held. */
    jbuf sc = {0};
    if (want_scope) jbuf_puts(&sc, want_scope);
    else if (c->scope) jbuf_puts(&sc, c->scope);
    else {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(prm, "scopes_supported"))
            if (cJSON_IsString(e)) {
                if (sc.len) jbuf_putc(&sc, ' ');
                jbuf_puts(&sc, e->valuestring);
            }
    }
    char *scope = jbuf_take(&sc);
    if (scope && !*scope) {
        free(scope);
        scope = NULL;
    }
    /* The record is tied to one authorization server. */
    const char *iss = jstr(as, "issuer");
    if (a->rec.issuer && strcmp(a->rec.issuer, iss) != 0) {
        set_str(&a->rec.client_id, NULL);
        set_str(&a->rec.client_secret, NULL);
        set_str(&a->rec.redirect_uri, NULL);
        set_str(&a->rec.access_token, NULL);
        set_str(&a->rec.refresh_token, NULL);
    }
    set_str(&a->rec.server_url, key);
    set_str(&a->rec.issuer, iss);
    set_str(&a->rec.token_endpoint, jstr(as, "token_endpoint"));
    set_str(&a->rec.resource, resource ? resource : key);
    if (pkce_random(state) != 0 || pkce_random(verifier) != 0) {
        snprintf(err, errlen, "libsodium cannot be initialized");
        free(scope);
        goto done;
    }
    pkce_challenge(verifier, chal);
    int want_port = stored_port(a->rec.redirect_uri);
    if (!want_port) want_port = a->port;
    if (!(lb = loopback_start(want_port, state, err, errlen))) {
        free(scope);
        goto done;
    }
    char redirect[64];
    snprintf(redirect, sizeof redirect, "http://127.0.0.1:%d/callback", loopback_port(lb));
    const cJSON *cimd = cJSON_GetObjectItemCaseSensitive(as, "client_id_metadata_document_supported");
    if (a->client_id_url && cJSON_IsTrue(cimd)) {
        set_str(&a->rec.client_id, a->client_id_url);
        set_str(&a->rec.client_secret, NULL);
        set_str(&a->rec.auth_method, "none");
        set_str(&a->rec.redirect_uri, redirect);
    } else if (!a->rec.client_id || !a->rec.redirect_uri ||
               strcmp(a->rec.redirect_uri, redirect) != 0 ||
               (a->client_id_url && strcmp(a->rec.client_id, a->client_id_url) == 0)) {
        if (register_client(a, as, redirect, scope, err, errlen) != 0) {
            free(scope);
            goto done;
        }
        /* Keep the registration even if the rest fails: it is reusable. */
        char serr[256];
        if (save(a, serr, sizeof serr) != 0) say("warning: %s", serr);
    }
    set_str(&a->rec.scope, scope);
    const char *ae = jstr(as, "authorization_endpoint");
    jbuf qp = {0};
    form_add(&qp, "response_type", "code");
    form_add(&qp, "client_id", a->rec.client_id);
    form_add(&qp, "redirect_uri", redirect);
    form_add(&qp, "code_challenge", chal);
    form_add(&qp, "code_challenge_method", "S256");
    form_add(&qp, "state", state);
    form_add(&qp, "resource", a->rec.resource);
    if (scope) form_add(&qp, "scope", scope);
    free(scope);
    char *qs = jbuf_take(&qp);
    jbuf_puts(&q, ae);
    jbuf_putc(&q, strchr(ae, '?') ? '&' : '?');
    if (qs) jbuf_puts(&q, qs);
    else jbuf_fail(&q);
    free(qs);
    if (!(authz = jbuf_take(&q))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    say("authorization needed for %s: open %s", a->shown_url, authz);
    if (!a->no_browser || a->open_with) {
        opener = open_browser(a, authz);
        if (opener < 0)
            say("no browser could be started; open the URL above by hand");
    }
    a->flows++;
    long timeout_ms = (a->timeout_s > 0 ? a->timeout_s : 300) * 1000L;
    /* Wait in slices so that either cancel flag is seen. */
    int got = 0;
    for (long waited = 0; !got && waited < timeout_ms; waited += 200) {
        if (a->cancelled || (a->cancel && *a->cancel)) break;
        got = loopback_wait(lb, 200, NULL, &res);
    }
    if (!got) {
        if (a->cancelled || (a->cancel && *a->cancel))
            snprintf(err, errlen, "the authorization was abandoned");
        else
            snprintf(err, errlen, "no authorization arrived within %ld seconds", timeout_ms / 1000);
        goto done;
    }
    /* RFC 9207: the answer's issuer, when present or promised. */
    const cJSON *isssup = cJSON_GetObjectItemCaseSensitive(as, "authorization_response_iss_parameter_supported");
    if ((res.iss && strcmp(res.iss, iss) != 0) || (!res.iss && cJSON_IsTrue(isssup))) {
        snprintf(err, errlen, "the authorization answer came from another issuer; refused");
        goto done;
    }
    if (res.error || !res.code) {
        snprintf(err, errlen, "the authorization was refused: %s%s%s",
                 res.error ? res.error : "no code", res.error_description ? " - " : "",
                 res.error_description ? res.error_description : "");
        goto done;
    }
    jbuf f = {0};
    form_add(&f, "grant_type", "authorization_code");
    form_add(&f, "code", res.code);
    form_add(&f, "redirect_uri", redirect);
    form_add(&f, "code_verifier", verifier);
    form_add(&f, "resource", a->rec.resource);
    if (token_request(a, &f, err, errlen) != 0) goto done;
    a->have = 1;
    rc = save(a, err, errlen);
    if (rc == 0) say("authorized for %s", a->shown_url);
done:
    reap_opener(opener);
    if (res.code) sodium_memzero(res.code, strlen(res.code));
    loopback_result_free(&res);
    loopback_stop(lb);
    sodium_memzero(verifier, sizeof verifier);
    free(authz);
    jbuf_free(&q);
    free(key);
    cJSON_Delete(prm);
    cJSON_Delete(as);
    return rc;
}

/* The flow under the record's lock; a process that waited for the lock
** may find the work done by another, and then takes its tokens. */
static int locked_flow(oauth *a, const challenge *c, const char *want_scope, const char *stale,
                       char *err, size_t errlen)
{
    int lk = tok_lock(a->config_dir, a->server_url, err, errlen);
    if (lk < 0) return -1;
    if (reload(a, stale) && !want_scope) {
        tok_unlock(lk);
        return 0;
    }
    int rc = run_flow(a, c, want_scope, err, errlen);
    tok_unlock(lk);
    return rc;
}

/* ---- the interface ------------------------------------------------------ */

oauth *oauth_new(const oauth_options *o, char *err, size_t errlen)
{
    if (!o->config_dir || !*o->config_dir) {
        snprintf(err, errlen, "no configuration folder for the tokens");
        return NULL;
    }
    if (httpc_global_init() != 0 || sodium_init() < 0) {
        snprintf(err, errlen, "libcurl or libsodium cannot be initialized");
        return NULL;
    }
    oauth *a = calloc(1, sizeof *a);
    if (!a) goto oom;
    a->no_browser = o->no_browser;
    a->timeout_s = o->timeout_s;
    a->port = o->port;
    a->cancel = o->cancel;
    if (!(a->server_url = strdup(o->server_url)) || !(a->config_dir = strdup(o->config_dir)) ||
        !(a->shown_url = tok_display_url(o->server_url)) ||
        !(a->client_name = strdup(o->client_name ? o->client_name : "dss-audit-mcp")) ||
        (o->open_with && !(a->open_with = strdup(o->open_with))) ||
        (o->client_id_url && !(a->client_id_url = strdup(o->client_id_url))))
        goto oom;
    int got = tok_load(a->config_dir, a->server_url, &a->rec, err, errlen);
    if (got < 0) {
        say("warning: %s; it will be replaced", err);
        got = 0;
    }
    a->have = got == 1;
    return a;
oom:
    oauth_free(a);
    snprintf(err, errlen, "out of memory or not a URL");
    return NULL;
}

void oauth_free(oauth *a)
{
    if (!a) return;
    tok_record_free(&a->rec);
    if (a->header) sodium_memzero(a->header, strlen(a->header));
    free(a->header);
    free(a->server_url);
    free(a->shown_url);
    free(a->config_dir);
    free(a->open_with);
    free(a->client_id_url);
    free(a->client_name);
    free(a);
}

const char *oauth_header(oauth *a)
{
    if (!a->have || !a->rec.access_token) return NULL;
    if (a->rec.expires_at && a->rec.expires_at - now_s() <= EARLY_REFRESH_S &&
        a->rec.refresh_token) {
        char err[512];
        /* refresh() replaces the record: the token it compares against is
        ** a copy. */
        char *stale = strdup(a->rec.access_token);
        if (!stale || refresh(a, stale, err, sizeof err) != 0)
            say("the token of %s could not be refreshed ahead of expiry: %s", a->shown_url,
                stale ? err : "out of memory");
        if (stale) sodium_memzero(stale, strlen(stale));
        free(stale);
    }
    if (!a->rec.access_token) return NULL;
    size_t n = strlen(a->rec.access_token) + 32;
    char *h = malloc(n);
    if (!h) return NULL;
    snprintf(h, n, "Authorization: Bearer %s", a->rec.access_token);
    if (a->header) sodium_memzero(a->header, strlen(a->header));
    free(a->header);
    a->header = h;
    return h;
}

/* The union of two space-separated scope lists: caller frees. */
static char *scope_union(const char *a, const char *b)
{
    jbuf u = {0};
    if (a) jbuf_puts(&u, a);
    char *copy = b ? strdup(b) : NULL, *save = NULL;
    for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save)) {
        int have = 0;
        if (a) {
            char *c2 = strdup(a), *s2 = NULL;
            for (char *x = c2 ? strtok_r(c2, " ", &s2) : NULL; x && !have; x = strtok_r(NULL, " ", &s2))
                have = strcmp(x, t) == 0;
            free(c2);
        }
        if (!have) {
            if (u.len) jbuf_putc(&u, ' ');
            jbuf_puts(&u, t);
        }
    }
    free(copy);
    return jbuf_take(&u);
}

int oauth_challenge(oauth *a, long status, const char *www_authenticate, char *err,
                    size_t errlen)
{
    challenge c;
    oauth_parse_www_authenticate(www_authenticate, &c);
    int rc;
    char *stale = a->rec.access_token ? strdup(a->rec.access_token) : NULL;
    if (status == 403) {
        /* Step-up: ask for what is held and what the operation needs. */
        char *want = scope_union(a->rec.scope, c.scope);
        say("%s needs more scopes (%s): authorizing again", a->shown_url, c.scope ? c.scope : "");
        rc = locked_flow(a, &c, want && *want ? want : NULL, stale, err, errlen);
        free(want);
    } else {
        rc = -1;
        if (a->have && a->rec.refresh_token)
            rc = refresh(a, stale, err, errlen);
        if (rc != 0) rc = locked_flow(a, &c, NULL, stale, err, errlen);
    }
    if (stale) sodium_memzero(stale, strlen(stale));
    free(stale);
    challenge_free(&c);
    return rc;
}

int oauth_login(oauth *a, char *err, size_t errlen)
{
    /* A first unauthenticated request shows the challenge, if the server
    ** sends one; otherwise discovery starts from the well-known URIs. */
    httpc_response r;
    char ignore[256];
    challenge c = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json, text/event-stream");
    h = curl_slist_append(h, "Content-Type: application/json");
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}";
    if (httpc_request("POST", a->server_url, h, ping, strlen(ping), 10000, 0, 65536, &r, ignore,
                      sizeof ignore) == 0) {
        if (r.status == 401 || r.status == 403) oauth_parse_www_authenticate(r.www_authenticate, &c);
        httpc_response_free(&r);
    }
    curl_slist_free_all(h);
    int lk = tok_lock(a->config_dir, a->server_url, err, errlen);
    int rc = -1;
    if (lk >= 0) {
        reload(a, NULL); /* the stored registration is reused */
        rc = run_flow(a, &c, NULL, err, errlen);
        tok_unlock(lk);
    }
    challenge_free(&c);
    return rc;
}

unsigned oauth_token_gen(oauth *a) { return a->gen; }

void oauth_cancel(oauth *a)
{
    if (a) a->cancelled = 1;
}

void oauth_counts(const oauth *a, int *flows, int *refreshes)
{
    if (flows) *flows = a->flows;
    if (refreshes) *refreshes = a->refreshes;
}
