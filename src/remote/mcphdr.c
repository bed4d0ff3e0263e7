/*
** mcphdr.c: request metadata headers of Streamable HTTP 2026-07-28 (see
** mcphdr.h).
**
** The x-mcp-header annotations are kept as a small cJSON object, tool name
** to a list of {header, path}, where path is the chain of `properties`
** keys that leads to the annotated parameter.
*/
#define _GNU_SOURCE
#include "mcphdr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "httpc.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"

struct mcphdr_tools {
    cJSON *by_tool;
};

const char *mcphdr_meta_version(const cJSON *msg)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, META_VERSION);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *mcphdr_encode(const char *v, size_t n)
{
    size_t pl = strlen("=?base64?");
    int sentinel = n >= pl + 2 && memcmp(v, "=?base64?", pl) == 0 &&
                   memcmp(v + n - 2, "?=", 2) == 0;
    if (httpc_header_safe(v, n) && !sentinel) return strndup(v, n);
    size_t blen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(blen + pl + 2);
    if (!out) return NULL;
    memcpy(out, "=?base64?", pl);
    sodium_bin2base64(out + pl, blen, (const unsigned char *)v, n,
                      sodium_base64_VARIANT_ORIGINAL);
    strcat(out, "?=");
    return out;
}

struct curl_slist *mcphdr_add(struct curl_slist *list, const char *name,
                              const char *value)
{
    /* libcurl sends a header line as it is given: a CR or LF would end it
    ** and start a header of whoever chose the value (a session id, a
    ** protocol version, an event id, all a server's), and the other
    ** control characters no field value may hold either. */
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) return list;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line) {
        curl_slist_free_all(list);
        return NULL;
    }
    snprintf(line, n, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(list, line);
    free(line);
    if (!l) curl_slist_free_all(list);
    return l;
}

static struct curl_slist *add_encoded(struct curl_slist *list, const char *name,
                                      const char *v, size_t n)
{
    char *enc = mcphdr_encode(v, n);
    if (!enc) {
        curl_slist_free_all(list);
        return NULL;
    }
    list = mcphdr_add(list, name, enc);
    free(enc);
    return list;
}

struct curl_slist *mcphdr_standard(struct curl_slist *list, const cJSON *msg,
                                   const char *version)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    if (!cJSON_IsString(m)) return list;
    if (!(list = add_encoded(list, "MCP-Protocol-Version", version, strlen(version))))
        return NULL;
    if (!(list = add_encoded(list, "Mcp-Method", m->valuestring, strlen(m->valuestring))))
        return NULL;
    const char *src = NULL;
    if (strcmp(m->valuestring, "tools/call") == 0 || strcmp(m->valuestring, "prompts/get") == 0)
        src = "name";
    else if (strcmp(m->valuestring, "resources/read") == 0)
        src = "uri";
    const cJSON *name = src ? cJSON_GetObjectItemCaseSensitive(params, src) : NULL;
    if (cJSON_IsString(name))
        list = add_encoded(list, "Mcp-Name", name->valuestring, strlen(name->valuestring));
    return list;
}

mcphdr_tools *mcphdr_tools_new(void)
{
    mcphdr_tools *t = calloc(1, sizeof *t);
    if (t && !(t->by_tool = cJSON_CreateObject())) {
        free(t);
        return NULL;
    }
    return t;
}

void mcphdr_tools_free(mcphdr_tools *t)
{
    if (!t) return;
    cJSON_Delete(t->by_tool);
    free(t);
}

/* Collect the annotations of schema node s into list; path is the chain of
** property keys to s; on_chain says that s is reached by properties keys
** only.  Returns NULL when valid, else the reason. */
static const char *scan(const cJSON *s, int on_chain, cJSON *path, cJSON *list)
{
    if (!cJSON_IsObject(s) && !cJSON_IsArray(s)) return NULL;
    for (const cJSON *c = s->child; c; c = c->next) {
        if (cJSON_IsObject(s) && c->string && strcmp(c->string, "x-mcp-header") == 0) {
            if (!on_chain || cJSON_GetArraySize(path) == 0)
                return "x-mcp-header outside a chain of properties";
            if (!cJSON_IsString(c) || !httpc_token_ok(c->valuestring, strlen(c->valuestring)))
                return "an x-mcp-header value is not an HTTP token";
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
            if (!cJSON_IsString(type) || (strcmp(type->valuestring, "string") &&
                                          strcmp(type->valuestring, "integer") &&
                                          strcmp(type->valuestring, "boolean")))
                return "x-mcp-header on a parameter that is not a string, integer or boolean";
            const cJSON *e;
            cJSON_ArrayForEach(e, list) {
                const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "h");
                if (strcasecmp(h->valuestring, c->valuestring) == 0)
                    return "two x-mcp-header values are the same";
            }
            cJSON *ent = cJSON_CreateObject();
            cJSON_AddStringToObject(ent, "h", c->valuestring);
            cJSON_AddItemToObject(ent, "p", cJSON_Duplicate(path, 1));
            cJSON_AddItemToArray(list, ent);
            continue;
        }
        int props = cJSON_IsObject(s) && on_chain && c->string &&
                    strcmp(c->string, "properties") == 0 && cJSON_IsObject(c);
        if (props) {
            for (const cJSON *p = c->child; p; p = p->next) {
                cJSON_AddItemToArray(path, cJSON_CreateString(p->string));
                const char *why = scan(p, 1, path, list);
                cJSON_DeleteItemFromArray(path, cJSON_GetArraySize(path) - 1);
                if (why) return why;
            }
        } else {
            const char *why = scan(c, 0, path, list);
            if (why) return why;
        }
    }
    return NULL;
}

void mcphdr_tools_learn(mcphdr_tools *t, const cJSON *result,
                        void (*warn)(void *ud, const char *msg), void *ud)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(result, "tools");
    const cJSON *tool;
    cJSON_ArrayForEach(tool, tools) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(tool, "name");
        if (!cJSON_IsString(name)) continue;
        cJSON_DeleteItemFromObjectCaseSensitive(t->by_tool, name->valuestring);
        cJSON *path = cJSON_CreateArray(), *list = cJSON_CreateArray();
        const char *why = path && list
            ? scan(cJSON_GetObjectItemCaseSensitive(tool, "inputSchema"), 1, path, list)
            : NULL;
        if (why && warn) {
            char msg[512];
            snprintf(msg, sizeof msg, "the tool %s has an invalid x-mcp-header (%s): "
                     "its arguments are not mirrored into headers", name->valuestring, why);
            warn(ud, msg);
        }
        if (!why && cJSON_GetArraySize(list) > 0) {
            cJSON_AddItemToObject(t->by_tool, name->valuestring, list);
            list = NULL;
        }
        cJSON_Delete(path);
        cJSON_Delete(list);
    }
}

struct curl_slist *mcphdr_params(const mcphdr_tools *t, struct curl_slist *list,
                                 const cJSON *params)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *ents = cJSON_IsString(name)
        ? cJSON_GetObjectItemCaseSensitive(t->by_tool, name->valuestring) : NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, ents) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "arguments");
        const cJSON *k;
        cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(e, "p"))
            v = cJSON_GetObjectItemCaseSensitive(v, k->valuestring);
        char num[32];
        const char *val = NULL;
        if (cJSON_IsString(v)) val = v->valuestring;
        else if (cJSON_IsBool(v)) val = cJSON_IsTrue(v) ? "true" : "false";
        else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
                 fabs(v->valuedouble) <= 9007199254740991.0) {
            snprintf(num, sizeof num, "%.0f", v->valuedouble);
            val = num;
        }
        if (!val) continue; /* absent or null: the header is omitted */
        /* As long as the annotation is: a name cut short could be another
        ** annotation's, and the header would be sent twice. */
        const char *h = cJSON_GetObjectItemCaseSensitive(e, "h")->valuestring;
        size_t hl = strlen("Mcp-Param-") + strlen(h) + 1;
        char *hname = malloc(hl);
        if (!hname) {
            curl_slist_free_all(list);
            return NULL;
        }
        snprintf(hname, hl, "Mcp-Param-%s", h);
        list = add_encoded(list, hname, val, strlen(val));
        free(hname);
        if (!list) return NULL;
    }
    return list;
}
