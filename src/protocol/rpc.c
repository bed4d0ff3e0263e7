/*
** rpc.c: JSON-RPC 2.0 envelope checking and reply building.
**
** A line is first scanned by jsoncheck (syntax, UTF-8, depth), then parsed
** by cJSON, then checked against JSON-RPC's rules for a request.  Ambiguous
** input is refused rather than interpreted: duplicate keys anywhere (two
** parsers could disagree on which one counts) and numbers too large for a
** double (they would be stored as something else) are invalid requests.
*/
#define _GNU_SOURCE /* memmem() */
#include "rpc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jbuf.h"
#include "../util/jsoncheck.h"
#include "../util/jsonnum.h"
#include "../util/utf8.h"

#define DEFAULT_MAX_DEPTH 64

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Past JSON white space. */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Skip one JSON value in already-validated text; returns the end. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    do {
        p = skip_ws(p, end);
        if (p >= end) return end;
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\') p++;
            p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            depth--;
            p++;
        } else if (*p == ',' || *p == ':') {
            p++;
        } else {
            while (p < end && !strchr(",:]} \t\r\n", *p)) p++;
        }
    } while (depth > 0 && p < end);
    return p;
}

const char *rpc_raw_member(const char *text, size_t len, const char *name, size_t *n)
{
    const char *p = text, *end = text + len;
    while (p < end && *p != '{') p++;
    p++;
    while (p < end) {
        while (p < end && *p != '"' && *p != '}') p++;
        if (p >= end || *p == '}') return NULL;
        const char *k = p;
        p = skip_value(p, end);
        int match;
        if (memchr(k, '\\', (size_t)(p - k))) {
            cJSON *key = cJSON_ParseWithLength(k, (size_t)(p - k));
            match = key && cJSON_IsString(key) && strcmp(key->valuestring, name) == 0;
            cJSON_Delete(key);
        } else {
            match = (size_t)(p - k) == strlen(name) + 2 &&
                    memcmp(k + 1, name, strlen(name)) == 0;
        }
        while (p < end && *p != ':') p++;
        p = skip_ws(p + 1, end);
        const char *v = p;
        p = skip_value(p, end);
        if (match) {
            *n = (size_t)(p - v);
            return v;
        }
        while (p < end && *p != ',' && *p != '}') p++;
        if (p < end && *p == '}') return NULL;
        p++;
    }
    return NULL;
}

const char *rpc_raw_element(const char *text, size_t len, const char **at, size_t *n)
{
    const char *p = *at ? *at : text, *end = text + len;
    /* Past the '[' (or the element before) and the ',' after it. */
    while (p < end && *p != (*at ? ',' : '[') && *p != ']') p++;
    if (p >= end || *p == ']') return NULL;
    p = skip_ws(p + 1, end);
    if (p >= end || *p == ']') return NULL;
    const char *v = p;
    *at = skip_value(p, end);
    *n = (size_t)(*at - v);
    return v;
}

/* The raw text of the first top-level member named name, as a new string,
** or NULL. */
static char *raw_member(const char *text, size_t len, const char *name)
{
    size_t n;
    const char *v = rpc_raw_member(text, len, name, &n);
    return v ? dup_range(v, n) : NULL;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Returns the first duplicated key found anywhere in the tree, or a
** number too large for a double, as a sentence in why; 0 when clean. */
static int ambiguous(const cJSON *item, char *why, size_t len)
{
    if (cJSON_IsNumber(item) && !isfinite(item->valuedouble)) {
        snprintf(why, len, "a number is too large to represent");
        return 1;
    }
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item)) return 0;
    size_t n = 0;
    for (const cJSON *c = item->child; c; c = c->next) {
        if (ambiguous(c, why, len)) return 1;
        n++;
    }
    if (!cJSON_IsObject(item) || n < 2) return 0;
    /* Most objects have a few keys: comparing each pair costs less than
    ** the allocation and sort a larger object needs (this check was a
    ** twentieth of a logged call's instructions). */
    if (n <= 16) {
        for (const cJSON *a = item->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0) {
                    snprintf(why, len, "duplicate key '%.*s'", utf8_cut(b->string, 64), b->string);
                    return 1;
                }
        return 0;
    }
    cJSON **keys = malloc(n * sizeof *keys);
    if (!keys) {
        snprintf(why, len, "out of memory");
        return 1;
    }
    size_t i = 0;
    for (cJSON *c = item->child; c; c = c->next) keys[i++] = c;
    qsort(keys, n, sizeof *keys, cmp_keys);
    int dup = 0;
    for (i = 1; i < n && !dup; i++) {
        if (strcmp(keys[i - 1]->string, keys[i]->string) == 0) {
            snprintf(why, len, "duplicate key '%.*s'", utf8_cut(keys[i]->string, 64),
                     keys[i]->string);
            dup = 1;
        }
    }
    free(keys);
    return dup;
}

void rpc_message_free(rpc_message *msg)
{
    if (!msg) return;
    cJSON_Delete(msg->root);
    free(msg->id);
    free(msg->id_text);
    memset(msg, 0, sizeof *msg);
}

static rpc_kind invalid(rpc_message *msg, char **error_reply, const char *id,
                        const char *why)
{
    *error_reply = rpc_reply_error(id, RPC_INVALID_REQUEST, why, NULL);
    rpc_message_free(msg);
    return RPC_KIND_INVALID;
}

/* Is id a valid MCP request id: a string or an integer? */
static int valid_id(const cJSON *id)
{
    if (cJSON_IsString(id)) return 1;
    if (!cJSON_IsNumber(id)) return 0;
    double v = id->valuedouble;
    return isfinite(v) && floor(v) == v;
}

/* Shared checks of one parsed message; raw_id is its id's text if known. */
static rpc_kind check(cJSON *root, char *raw_id, rpc_message *msg,
                      char **error_reply)
{
    memset(msg, 0, sizeof *msg);
    msg->root = root;
    msg->id = raw_id;
    char why[160];
    if (!cJSON_IsObject(root)) {
        return invalid(msg, error_reply, NULL,
                       "invalid request: a message must be a JSON object");
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    /* An error response may name no request: JSON-RPC 2.0 answers a
    ** request whose id it could not read with "id": null, and MCP's schema
    ** lets an error response leave its id out.  It is a response with no
    ** id (msg->id NULL), which nobody answers. */
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    int idless_error = cJSON_IsObject(error) && (!id || cJSON_IsNull(id)) &&
                       !cJSON_GetObjectItemCaseSensitive(root, "method");
    if (idless_error) id = NULL;
    if (id && !valid_id(id)) {
        free(msg->id);
        msg->id = NULL;
        return invalid(msg, error_reply, NULL,
                       "invalid request: id must be a string or an integer");
    }
    if (id && !msg->id) {
        char *printed = cJSON_PrintUnformatted(id);
        if (!printed) return invalid(msg, error_reply, NULL, "out of memory");
        msg->id = printed;
    }
    if (id) {
        msg->id_text = cJSON_IsString(id) ? strdup(id->valuestring) : strdup(msg->id);
        if (!msg->id_text) return invalid(msg, error_reply, NULL, "out of memory");
    }
    if (ambiguous(root, why, sizeof why)) {
        char text[200];
        snprintf(text, sizeof text, "invalid request: %s", why);
        return invalid(msg, error_reply, msg->id, text);
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0") != 0)
        return invalid(msg, error_reply, msg->id,
                       "invalid request: jsonrpc must be \"2.0\"");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!method) {
        if (idless_error || (id && (cJSON_GetObjectItemCaseSensitive(root, "result") || error)))
            return RPC_KIND_RESPONSE;
        return invalid(msg, error_reply, msg->id,
                       "invalid request: method is missing");
    }
    if (!cJSON_IsString(method))
        return invalid(msg, error_reply, msg->id,
                       "invalid request: method must be a string");
    msg->method = method->valuestring;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (params && !cJSON_IsObject(params) && !cJSON_IsArray(params))
        return invalid(msg, error_reply, msg->id,
                       "invalid request: params must be an object or an array");
    msg->params = params;
    return id ? RPC_KIND_REQUEST : RPC_KIND_NOTIFICATION;
}

rpc_kind rpc_check(cJSON *item, rpc_message *msg, char **error_reply)
{
    return check(item, NULL, msg, error_reply);
}

rpc_kind rpc_parse(const char *line, size_t len, const rpc_limits *limits,
                   rpc_message *msg, char **error_reply)
{
    char why[160], text[220];
    int depth = limits && limits->max_depth > 0 ? limits->max_depth
                                                : DEFAULT_MAX_DEPTH;
    memset(msg, 0, sizeof *msg);
    int rc = jsoncheck(line, len, depth, why, sizeof why);
    if (rc == JSONCHECK_SYNTAX) {
        snprintf(text, sizeof text, "parse error: %s", why);
        *error_reply = rpc_reply_error(NULL, RPC_PARSE_ERROR, text, NULL);
        return RPC_KIND_INVALID;
    }
    if (rc != JSONCHECK_OK) {
        snprintf(text, sizeof text, "invalid request: %s%s", why,
                 rc == JSONCHECK_DEPTH ? "" : " (strings may not contain U+0000)");
        *error_reply = rpc_reply_error(NULL, RPC_INVALID_REQUEST, text, NULL);
        return RPC_KIND_INVALID;
    }
    cJSON *root = cJSON_ParseWithLength(line, len);
    if (!root) {
        *error_reply = rpc_reply_error(NULL, RPC_PARSE_ERROR,
                                       "parse error: the message could not be parsed",
                                       NULL);
        return RPC_KIND_INVALID;
    }
    if (cJSON_IsArray(root)) {
        if (!root->child) {
            cJSON_Delete(root);
            *error_reply = rpc_reply_error(NULL, RPC_INVALID_REQUEST,
                                           "invalid request: empty batch", NULL);
            return RPC_KIND_INVALID;
        }
        msg->root = root;
        return RPC_KIND_BATCH;
    }
    char *raw_id = NULL;
    const cJSON *id = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "id") : NULL;
    if (cJSON_IsNumber(id)) raw_id = raw_member(line, len, "id");
    return check(root, raw_id, msg, error_reply);
}

int rpc_is_cancellation(const char *line, size_t len, const cJSON *id)
{
    /* A cheap filter first: most lines ahead are not cancellations. */
    static const char method_name[] = "notifications/cancelled";
    if (!memmem(line, len, method_name, sizeof method_name - 1)) return 0;
    cJSON *n = cJSON_ParseWithLength(line, len);
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(n, "method");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(n, "params"), "requestId");
    int hit = cJSON_IsString(method) && strcmp(method->valuestring, method_name) == 0 &&
              rid &&
              ((cJSON_IsString(rid) && cJSON_IsString(id) &&
                strcmp(rid->valuestring, id->valuestring) == 0) ||
               (cJSON_IsNumber(rid) && cJSON_IsNumber(id) &&
                rid->valuedouble == id->valuedouble));
    cJSON_Delete(n);
    return hit;
}

int rpc_is_blank(const char *line, size_t len)
{
    /* (Not strchr: it would find a NUL byte in its own terminator.) */
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return 0;
    return 1;
}

char *rpc_id_key(const char *id, size_t len)
{
    while (len && strchr(" \t\r\n", id[len - 1])) len--;
    while (len && strchr(" \t\r\n", *id)) id++, len--;
    if (len && (*id == '-' || (*id >= '0' && *id <= '9'))) return jsonnum_canonical(id, len);
    /* cJSON prints a string as a function of its decoded characters. */
    cJSON *v = cJSON_ParseWithLength(id, len);
    char *key = v ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    return key;
}

/* Assemble {"jsonrpc":"2.0","id":...,key:value}, taking value over.  The
** line is printed by jbuf rather than cJSON: a tools/call result carries
** its whole text escaped once more, and cJSON's printer is the slowest
** part of answering a read. */
static char *reply(const char *id, const char *key, cJSON *value)
{
    char *out = NULL;
    cJSON *r = cJSON_CreateObject();
    if (!r || !value) goto done;
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    if (!cJSON_AddRawToObject(r, "id", id ? id : "null")) goto done;
    cJSON_AddItemToObject(r, key, value);
    value = NULL;
    out = jbuf_print(r);
done:
    cJSON_Delete(value);
    cJSON_Delete(r);
    return out;
}

char *rpc_reply_result(const char *id, cJSON *result)
{
    return reply(id, "result", result);
}

cJSON *rpc_text(const char *s)
{
    size_t len = strlen(s), at;
    if (!jsoncheck_utf8(s, len, &at)) return cJSON_CreateString(s);
    char *mended = utf8_mend(s, len);
    cJSON *item = mended ? cJSON_CreateString(mended) : NULL;
    free(mended);
    return item;
}

char *rpc_reply_error(const char *id, int code, const char *message, cJSON *data)
{
    cJSON *e = cJSON_CreateObject(), *text = rpc_text(message);
    if (!e || !text) {
        cJSON_Delete(e);
        cJSON_Delete(text);
        cJSON_Delete(data);
        return NULL;
    }
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddItemToObject(e, "message", text);
    if (data) cJSON_AddItemToObject(e, "data", data);
    return reply(id, "error", e);
}
