/*
** fuzz_oauth.c: a libFuzzer target for the documents the OAuth client
** (src/auth/) reads from servers and from disk.
**
** The first byte chooses the part; the rest is its input:
**   0  protected resource metadata, RFC 9728 (oauth_check_prm, for the
**      resource https://mcp.example.com/mcp);
**   1  authorization server metadata, RFC 8414 / OpenID discovery
**      (oauth_check_asm, for the document's own issuer when it names a
**      string, so that the later checks are reached);
**   2  a token endpoint's answer (oauth_take_tokens), the next byte
**      choosing the HTTP status and the clock;
**   3  a dynamic client registration answer, RFC 7591
**      (oauth_take_registration), the next byte choosing the status;
**   4  a token store file as a hand or a disk may leave it (tok_parse).
** Promises checked beyond no crash, leak or undefined behaviour:
**   - an accepted document's URLs (the issuer, the authorization and
**     token endpoints, a stored token endpoint) are https, or http on a
**     loopback host, and hold only visible ASCII (they are requested,
**     printed and handed to a shell), as judged here independently;
**   - an access token taken holds only visible ASCII and is not empty
**     (it goes into the Authorization header as it is);
**   - expires_at is 0 or later than the clock by at most ten years for an
**     answer, within [0, 2^53] for a file, so that the expiry arithmetic
**     cannot overflow;
**   - a refused answer leaves the record as it was;
**   - every error sentence is free of control characters.
**
** Build and run with tests/fuzz/run.sh.
** fuzz sources: src/auth/oauth.c src/auth/tokens.c src/auth/pkce.c src/auth/loopback.c src/remote/httpc.c
** fuzz packages: libcurl libmicrohttpd
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "auth/oauth.h"
#include "auth/tokens.h"
#include "fuzz_util.h"

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_oauth", what, detail);
}

static int visible(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

/* The host of an http:// URL is loopback: localhost, 127.x or [::1], as
** libcurl's URL parser reads the host (the one the request goes to). */
static int loopback_host(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int yes = 0;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        yes = strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
              strncmp(host, "127.", 4) == 0;
    curl_free(host);
    curl_url_cleanup(u);
    return yes;
}

static void check_url(const char *url, const char *what)
{
    if (!url) die(what, "missing");
    if (!visible(url)) die(what, "a byte that is not visible ASCII");
    if (strncasecmp(url, "https://", 8) != 0 &&
        !(strncasecmp(url, "http://", 7) == 0 && loopback_host(url)))
        die(what, url);
}

static void check_err(const char *err)
{
    if (!err[0]) die("an error without a sentence", NULL);
    for (const char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) die("a control character in a sentence", err);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- 0, 1: metadata --------------------------------------------------- */

static void prm(const uint8_t *p, size_t n)
{
    cJSON *j = cJSON_ParseWithLength((const char *)p, n);
    if (!j) return;
    const char *issuer = (const char *)1;
    char err[512] = "";
    if (oauth_check_prm(j, "https://mcp.example.com/mcp", &issuer, err, sizeof err) == 0) {
        check_url(issuer, "prm: the authorization server");
        const char *r = jstr(j, "resource");
        if (r && strncmp(r, "https://mcp.example.com", 23) != 0) die("prm: another resource", r);
    } else {
        if (issuer) die("prm: an issuer from a refused document", NULL);
        check_err(err);
    }
    cJSON_Delete(j);
}

static void asm_doc(const uint8_t *p, size_t n)
{
    cJSON *j = cJSON_ParseWithLength((const char *)p, n);
    if (!j) return;
    const char *iss = jstr(j, "issuer");
    char *issuer = strdup(iss ? iss : "https://as.example.com");
    char err[512] = "";
    if (oauth_check_asm(j, issuer, err, sizeof err) == 0) {
        if (!iss || strcmp(iss, issuer) != 0) die("asm: another issuer", iss);
        check_url(jstr(j, "authorization_endpoint"), "asm: the authorization endpoint");
        check_url(jstr(j, "token_endpoint"), "asm: the token endpoint");
    } else {
        check_err(err);
    }
    free(issuer);
    cJSON_Delete(j);
}

/* ---- 2, 3: answers ------------------------------------------------------ */

static const long statuses[] = {200, 200, 200, 201, 400, 401, 500, 302};
static const int64_t clocks[] = {1765000000, 4102444800, 0, 1};

/* A record as the flow holds it before an answer. */
static void held(tok_record *t)
{
    memset(t, 0, sizeof *t);
    t->server_url = strdup("https://mcp.example.com/mcp");
    t->client_id = strdup("client-1");
    t->access_token = strdup("old-access");
    t->refresh_token = strdup("old-refresh");
    t->scope = strdup("read");
    t->expires_at = 1765000100;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void unchanged(const tok_record *t, const char *what)
{
    tok_record h;
    held(&h);
    if (!same(t->access_token, h.access_token) || !same(t->refresh_token, h.refresh_token) ||
        !same(t->scope, h.scope) || !same(t->client_id, h.client_id) ||
        !same(t->client_secret, h.client_secret) || !same(t->auth_method, h.auth_method) ||
        !same(t->redirect_uri, h.redirect_uri) || t->expires_at != h.expires_at)
        die(what, "a refused answer changed the record");
    tok_record_free(&h);
}

static void tokens(const uint8_t *p, size_t n)
{
    if (n < 1) return;
    long status = statuses[p[0] & 7];
    int64_t now = clocks[(p[0] >> 3) & 3];
    tok_record t;
    held(&t);
    char err[512] = "";
    if (oauth_take_tokens(&t, status, (const char *)p + 1, n - 1, now, err, sizeof err) == 0) {
        if (status != 200) die("tokens: taken from a failed answer", NULL);
        if (!t.access_token || !*t.access_token || !visible(t.access_token))
            die("tokens: an access token that cannot be sent", t.access_token);
        if (t.expires_at && (t.expires_at <= now || t.expires_at > now + 10 * 366 * 86400LL))
            die("tokens: an expiry out of range", NULL);
    } else {
        check_err(err);
        unchanged(&t, "tokens");
    }
    tok_record_free(&t);
}

static void registration(const uint8_t *p, size_t n)
{
    if (n < 1) return;
    long status = statuses[p[0] & 7];
    tok_record t;
    held(&t);
    char err[512] = "";
    const char *redirect = "http://127.0.0.1:33418/callback";
    if (oauth_take_registration(&t, status, (const char *)p + 1, n - 1, redirect, err,
                                sizeof err) == 0) {
        if (status != 200 && status != 201) die("registration: taken from a failed answer", NULL);
        if (!t.client_id || !*t.client_id) die("registration: no client id", NULL);
        for (const char *c = t.client_id; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) die("registration: a client id", NULL);
        if (!t.auth_method || !same(t.redirect_uri, redirect))
            die("registration: the record", NULL);
    } else {
        check_err(err);
        unchanged(&t, "registration");
    }
    tok_record_free(&t);
}

/* ---- 4: the token store's file ------------------------------------------ */

static void file(const uint8_t *p, size_t n)
{
    char *text = fz_cstr(p, n), err[512] = "";
    tok_record t;
    if (tok_parse(text, &t, err, sizeof err) == 0) {
        if (!t.server_url) die("file: no server_url", NULL);
        if (t.access_token && (!*t.access_token || !visible(t.access_token)))
            die("file: an access token that cannot be sent", NULL);
        if (t.token_endpoint) check_url(t.token_endpoint, "file: the token endpoint");
        if (t.expires_at < 0 || t.expires_at > (int64_t)1 << 53) die("file: expires_at", NULL);
        tok_record_free(&t);
    } else {
        check_err(err);
        if (t.server_url || t.access_token) die("file: a refused record left filled", NULL);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: prm(p, n); break;
    case 1: asm_doc(p, n); break;
    case 2: tokens(p, n); break;
    case 3: registration(p, n); break;
    case 4: file(p, n); break;
    }
    return 0;
}
