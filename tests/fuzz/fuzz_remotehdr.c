/*
** fuzz_remotehdr.c: a libFuzzer target for the HTTP headers of the remote
** side: what a remote MCP server or its authorization server answers in
** headers, and the request headers built from what such a server said.
**
** The first byte chooses the part; the rest is its input:
**   0  a WWW-Authenticate value as bytes (oauth_parse_www_authenticate):
**      no crash, hang or leak, and each parameter no longer than the text;
**   1  a WWW-Authenticate value generated from the input by RFC 7235's
**      grammar (challenges of several schemes, their auth-params as
**      tokens or quoted strings with escapes): the parser must find the
**      parameters of the Bearer challenge exactly, the first of each name,
**      and nothing of the other schemes' parameters;
**   2  a response header line (httpc_header_value): the value has no white
**      space around it and is part of the line; and the line's text as a
**      header value to send (mcphdr_add, as a session id, a protocol
**      version or a Last-Event-ID a server gave are sent): the request
**      header it makes is one line;
**   3  JSON: "tools", a tools/list result a server sent, whose
**      x-mcp-header annotations mcphdr_tools_learn() takes, then "call",
**      a tools/call request, whose headers mcphdr_standard() and
**      mcphdr_params() make: each is "Name: value" with a token for name, a
**      header-safe value, no name twice, and a Base64 sentinel value
**      decodes to the request's own text.
**
** Build and run with tests/fuzz/run.sh.
** fuzz sources: src/auth/oauth.c src/auth/tokens.c src/auth/pkce.c src/auth/loopback.c src/remote/httpc.c src/remote/mcphdr.c
** fuzz packages: libcurl libmicrohttpd
*/
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "auth/oauth.h"
#include "remote/httpc.h"
#include "remote/mcphdr.h"
#include "util/jbuf.h"
#include "fuzz_util.h"

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_remotehdr", what, detail);
}

/* ---- 0: WWW-Authenticate as bytes ------------------------------------- */

static void raw_challenge(const uint8_t *p, size_t n)
{
    char *h = fz_cstr(p, n);
    oauth_bearer_params c;
    oauth_parse_www_authenticate(h, &c);
    size_t len = strlen(h);
    const char *v[] = {c.resource_metadata, c.scope, c.error};
    for (int i = 0; i < 3; i++)
        if (v[i] && strlen(v[i]) > len) die("a parameter longer than the header", h);
    oauth_bearer_params_free(&c);
    free(h);
}

/* ---- 1: WWW-Authenticate generated ------------------------------------ */

typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor;

static unsigned next(cursor *c)
{
    if (!c->n) return 0;
    c->n--;
    return *c->p++;
}

static int tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static void generated_challenge(const uint8_t *p, size_t n)
{
    static const char *const schemes[] = {"Bearer", "bearer", "BEARER", "Basic",
                                          "DPoP",   "Digest", "Negotiate", "Bearerx"};
    static const char *const names[] = {"resource_metadata", "scope", "error", "realm",
                                        "error_description", "Resource_Metadata", "SCOPE",
                                        "Error"};
    static const char *const wanted[] = {"resource_metadata", "scope", "error"};
    cursor cur = {p, n};
    jbuf h = {0};
    char *expect[3] = {NULL, NULL, NULL};
    int challenges = 1 + (int)(next(&cur) % 4);
    for (int ch = 0; ch < challenges; ch++) {
        const char *scheme = schemes[next(&cur) % 8];
        int bearer = strcasecmp(scheme, "bearer") == 0;
        if (ch) jbuf_puts(&h, ", ");
        jbuf_puts(&h, scheme);
        int params = (int)(next(&cur) % 4);
        for (int k = 0; k < params; k++) {
            const char *name = names[next(&cur) % 8];
            unsigned form = next(&cur);
            size_t len = next(&cur) % 24;
            jbuf v = {0};
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)next(&cur);
                /* qdtext and obs-text: no control character */
                if ((c < 0x20 && c != '\t') || c == 0x7f) c = 'x';
                jbuf_putc(&v, (char)c);
            }
            jbuf_putc(&v, '\0');
            int token = (form & 1) && len > 0;
            for (size_t i = 0; token && i < len; i++) token = tchar((unsigned char)v.p[i]);
            jbuf_puts(&h, k ? ", " : " ");
            jbuf_puts(&h, name);
            jbuf_putc(&h, '=');
            if (token) {
                jbuf_puts(&h, v.p);
            } else {
                jbuf_putc(&h, '"');
                for (size_t i = 0; i < len; i++) {
                    if (v.p[i] == '"' || v.p[i] == '\\') jbuf_putc(&h, '\\');
                    jbuf_putc(&h, v.p[i]);
                }
                jbuf_putc(&h, '"');
            }
            for (int w = 0; bearer && w < 3; w++)
                if (!expect[w] && strcasecmp(name, wanted[w]) == 0)
                    expect[w] = strdup(v.p ? v.p : "");
            jbuf_free(&v);
        }
    }
    char *text = jbuf_take(&h);
    if (!text) die("out of memory", NULL);
    oauth_bearer_params c;
    oauth_parse_www_authenticate(text, &c);
    const char *got[] = {c.resource_metadata, c.scope, c.error};
    for (int w = 0; w < 3; w++) {
        if ((expect[w] == NULL) != (got[w] == NULL) ||
            (expect[w] && strcmp(expect[w], got[w]) != 0)) {
            fprintf(stderr, "fuzz_remotehdr: %s: expected %s%s%s, got %s%s%s\n", wanted[w],
                    expect[w] ? "\"" : "", expect[w] ? expect[w] : "none",
                    expect[w] ? "\"" : "", got[w] ? "\"" : "", got[w] ? got[w] : "none",
                    got[w] ? "\"" : "");
            die("the Bearer challenge was read wrongly", text);
        }
        free(expect[w]);
    }
    oauth_bearer_params_free(&c);
    free(text);
}

/* ---- 2: header lines ---------------------------------------------------- */

/* Every line of list is one "Name: value" line: no CR or LF in it. */
static void one_line_each(const struct curl_slist *list, const char *from)
{
    for (; list; list = list->next)
        if (strpbrk(list->data, "\r\n")) die("a request header holds a line break", from);
}

static void header_line(const uint8_t *p, size_t n)
{
    static const char *const names[] = {"content-type", "mcp-session-id", "www-authenticate",
                                        "location"};
    const char *line = (const char *)p;
    for (int i = 0; i < 4; i++) {
        char *v = httpc_header_value(line, n, names[i]);
        if (!v) continue;
        size_t vl = strlen(v);
        if (vl && (v[0] == ' ' || v[0] == '\t' || strchr(" \t\r\n\v\f", v[vl - 1])))
            die("a header value with white space around it", v);
        if (vl > n || !memmem(line, n, v, vl)) die("a header value that is not in the line", v);
        free(v);
    }
    /* What a server said, sent back as a header value. */
    char *value = fz_cstr(p, n);
    struct curl_slist *l = mcphdr_add(NULL, "MCP-Session-Id", value);
    one_line_each(l, value);
    curl_slist_free_all(l);
    free(value);
}

/* ---- 3: x-mcp-header annotations and the request headers --------------- */

static void warned(void *ud, const char *msg)
{
    (void)ud;
    if (!msg || !*msg) die("an empty warning", NULL);
}

/* A request header line made from the request: a token name, a safe
** value; a sentinel value decodes to text found in the request. */
static void check_request_header(const char *line, const char *request)
{
    const char *colon = strchr(line, ':');
    if (!colon || colon[1] != ' ') die("a header line without \": \"", line);
    if (!httpc_token_ok(line, (size_t)(colon - line))) die("a header name that is no token", line);
    const char *v = colon + 2;
    size_t vl = strlen(v);
    if (!httpc_header_safe(v, vl)) die("a header value that is not header-safe", line);
    if (vl >= 11 && !strncmp(v, "=?base64?", 9) && !strcmp(v + vl - 2, "?=")) {
        unsigned char *bin = malloc(vl);
        size_t bl = 0;
        if (!bin) die("out of memory", NULL);
        if (sodium_base642bin(bin, vl, v + 9, vl - 11, NULL, &bl, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            die("a sentinel value that is not Base64", line);
        /* The request holds it JSON-escaped, so only plain text is looked
        ** for; "true", "false" and numbers are never encoded. */
        int plain = 1;
        for (size_t i = 0; i < bl; i++)
            if (bin[i] < 0x20 || bin[i] == '"' || bin[i] == '\\' || bin[i] == '/')
                plain = 0;
        if (plain && !memmem(request, strlen(request), bin, bl))
            die("a sentinel value that is not from the request", line);
        free(bin);
    }
}

static void annotations(const uint8_t *p, size_t n)
{
    cJSON *j = cJSON_ParseWithLength((const char *)p, n);
    if (!j) return;
    char *request = cJSON_PrintUnformatted(j);
    if (!request) die("out of memory", NULL);
    mcphdr_tools *t = mcphdr_tools_new();
    if (!t) die("out of memory", NULL);
    mcphdr_tools_learn(t, j, warned, NULL);
    const cJSON *call = cJSON_GetObjectItemCaseSensitive(j, "call");
    struct curl_slist *l = NULL;
    const char *version = mcphdr_meta_version(call);
    if (version) l = mcphdr_standard(l, call, version);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(call, "method");
    if (cJSON_IsString(m) && !strcmp(m->valuestring, "tools/call"))
        l = mcphdr_params(t, l, cJSON_GetObjectItemCaseSensitive(call, "params"));
    for (const struct curl_slist *a = l; a; a = a->next) {
        check_request_header(a->data, request);
        const char *ca = strchr(a->data, ':');
        for (const struct curl_slist *b = a->next; b; b = b->next) {
            const char *cb = strchr(b->data, ':');
            if (ca - a->data == cb - b->data && !strncasecmp(a->data, b->data, (size_t)(ca - a->data)))
                die("a header name sent twice", a->data);
        }
    }
    curl_slist_free_all(l);
    mcphdr_tools_free(t);
    free(request);
    cJSON_Delete(j);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0) die("sodium_init", "failed");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    switch (data[0] % 4) {
    case 0: raw_challenge(data + 1, size - 1); break;
    case 1: generated_challenge(data + 1, size - 1); break;
    case 2: header_line(data + 1, size - 1); break;
    default: annotations(data + 1, size - 1); break;
    }
    return 0;
}
