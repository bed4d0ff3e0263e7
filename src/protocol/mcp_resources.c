/*
** mcp_resources.c: the audit trail as MCP resources.
**
** Every entry is readable as audit://entries/{id} (a resource template);
** audit://checkpoints/latest is the newest signed checkpoint and
** audit://stats a summary of the log.  resources/list pages through the two
** fixed resources and then every entry, newest first, by cursor.
*/
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/checkpoint.h"
#include "mcp_int.h"

#define PAGE 100
#define ENTRY_PREFIX "audit://entries/"

static cJSON *resource(const char *uri, const char *name, const char *title,
                       const char *description)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON_AddStringToObject(r, "uri", uri);
    cJSON_AddStringToObject(r, "name", name);
    if (title) cJSON_AddStringToObject(r, "title", title);
    if (description) cJSON_AddStringToObject(r, "description", description);
    cJSON_AddStringToObject(r, "mimeType", "application/json");
    return r;
}

/* Cursors: "r1:<seq>" in unpadded base64url; 0 = the first page. */
static int decode_cursor(const cJSON *params, int64_t *after)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(params, "cursor");
    *after = 0;
    if (!c) return 0;
    char raw[40];
    size_t n = 0;
    long long seq = 0;
    if (!cJSON_IsString(c) ||
        sodium_base642bin((unsigned char *)raw, sizeof raw - 1, c->valuestring,
                          strlen(c->valuestring), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[n] = '\0';
    if (sscanf(raw, "r1:%lld", &seq) != 1 || seq <= 0) return -1;
    *after = seq;
    return 0;
}

static void add_cursor(cJSON *result, int64_t seq)
{
    char raw[40], out[64];
    int n = snprintf(raw, sizeof raw, "r1:%lld", (long long)seq);
    sodium_bin2base64(out, sizeof out, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cJSON_AddStringToObject(result, "nextCursor", out);
}

static char *list(mcp *m, mcp_req *rq)
{
    int64_t after;
    if (decode_cursor(rq->msg->params, &after) != 0)
        return rpc_reply_error(rq->msg->id, RPC_INVALID_PARAMS,
                               "params.cursor is not a cursor this server returned", NULL);
    cJSON *r = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(r, "resources");
    if (!list) {
        cJSON_Delete(r);
        return NULL;
    }
    if (after == 0) {
        cJSON_AddItemToArray(list, resource("audit://checkpoints/latest", "latest-checkpoint",
                                            "Latest signed checkpoint",
                                            "The newest Ed25519-signed checkpoint of the log."));
        cJSON_AddItemToArray(list, resource("audit://stats", "stats", "Audit log statistics",
                                            "Entry count, chain head and checkpoint summary."));
    }
    store_query q = {.limit = PAGE, .after_seq = after};
    cJSON *entries = NULL;
    int more = 0;
    char err[STORE_ERRLEN];
    if (store_find(m->st, &q, &entries, &more, err) != STORE_OK) {
        cJSON_Delete(r);
        return rpc_reply_error(rq->msg->id, RPC_INTERNAL_ERROR, err, NULL);
    }
    int64_t last = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        const char *id = tool_str_arg(e, "id"), *type = tool_str_arg(e, "event_type"),
                   *op = tool_str_arg(e, "operation_name");
        last = (int64_t)cJSON_GetObjectItemCaseSensitive(e, "seq")->valuedouble;
        char uri[96], name[48], title[320];
        snprintf(uri, sizeof uri, ENTRY_PREFIX "%s", id ? id : "");
        snprintf(name, sizeof name, "entry-%lld", (long long)last);
        snprintf(title, sizeof title, "#%lld %s: %.256s", (long long)last,
                 type ? type : "", op ? op : "");
        cJSON_AddItemToArray(list, resource(uri, name, title, NULL));
    }
    cJSON_Delete(entries);
    if (more && last > 0) add_cursor(r, last);
    return mcp_result(m, rq, r, MCP_TTL_VOLATILE);
}

static char *templates(mcp *m, mcp_req *rq)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(r, "resourceTemplates");
    cJSON *t = cJSON_CreateObject();
    if (!list || !t) {
        cJSON_Delete(r);
        cJSON_Delete(t);
        return NULL;
    }
    cJSON_AddStringToObject(t, "uriTemplate", ENTRY_PREFIX "{id}");
    cJSON_AddStringToObject(t, "name", "audit-entry");
    cJSON_AddStringToObject(t, "title", "Audit entry");
    cJSON_AddStringToObject(t, "description",
                            "One entry of the audit trail by its id (the audit_id), with its hash.");
    cJSON_AddStringToObject(t, "mimeType", "application/json");
    cJSON_AddItemToArray(list, t);
    return mcp_result(m, rq, r, MCP_TTL_STATIC);
}

/* The stats document: the chain head, entry count and checkpoints. */
static cJSON *stats(mcp *m, char *err)
{
    int64_t head;
    char hash[CHAIN_HEX_LEN];
    if (store_head(m->st, &head, hash, err) != STORE_OK) return NULL;
    store_checkpoint anchor, last;
    int64_t first = store_last_anchor(m->st, &anchor, err) == STORE_OK ? anchor.seq : 0;
    cJSON *s = cJSON_CreateObject();
    if (!s) return NULL;
    cJSON_AddStringToObject(s, "log_id", store_log_id(m->st));
    cJSON_AddNumberToObject(s, "entries", (double)(head - first));
    cJSON_AddNumberToObject(s, "pruned", (double)first);
    cJSON *h = cJSON_AddObjectToObject(s, "head");
    cJSON_AddNumberToObject(h, "seq", (double)head);
    cJSON_AddStringToObject(h, "hash", hash);
    if (store_last_checkpoint(m->st, &last, err) == STORE_OK)
        cJSON_AddItemToObject(s, "latest_checkpoint", checkpoint_to_json(&last));
    else
        cJSON_AddNullToObject(s, "latest_checkpoint");
    cJSON_AddBoolToObject(s, "read_only", store_readonly(m->st));
    return s;
}

static char *not_found(mcp *m, mcp_req *rq, const char *uri, const char *why)
{
    (void)m;
    char text[400];
    snprintf(text, sizeof text, "resource not found: %.200s (%s)", uri, why);
    cJSON *data = cJSON_CreateObject();
    if (data) cJSON_AddStringToObject(data, "uri", uri);
    /* 2026-07-28 replaced -32002 with -32602; earlier revisions use -32002. */
    return rpc_reply_error(rq->msg->id, rq->modern ? RPC_INVALID_PARAMS : -32002, text, data);
}

static char *read_resource(mcp *m, mcp_req *rq)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(rq->msg->params, "uri");
    if (!cJSON_IsString(u))
        return rpc_reply_error(rq->msg->id, RPC_INVALID_PARAMS, "params.uri must be a string", NULL);
    const char *uri = u->valuestring;
    char err[STORE_ERRLEN];
    cJSON *doc = NULL;
    int64_t ttl = MCP_TTL_VOLATILE;
    if (strncmp(uri, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) == 0) {
        int rc = store_get(m->st, uri + strlen(ENTRY_PREFIX), &doc, err);
        if (rc == STORE_ENOTFOUND) return not_found(m, rq, uri, "no such entry");
        if (rc != STORE_OK) return rpc_reply_error(rq->msg->id, RPC_INTERNAL_ERROR, err, NULL);
        ttl = MCP_TTL_STATIC; /* entries never change */
    } else if (strcmp(uri, "audit://checkpoints/latest") == 0) {
        store_checkpoint cp;
        int rc = store_last_checkpoint(m->st, &cp, err);
        if (rc == STORE_ENOTFOUND) return not_found(m, rq, uri, "no checkpoint has been written yet");
        if (rc != STORE_OK) return rpc_reply_error(rq->msg->id, RPC_INTERNAL_ERROR, err, NULL);
        doc = checkpoint_to_json(&cp);
    } else if (strcmp(uri, "audit://stats") == 0) {
        if (!(doc = stats(m, err)))
            return rpc_reply_error(rq->msg->id, RPC_INTERNAL_ERROR, err, NULL);
    } else {
        return not_found(m, rq, uri, "unknown resource");
    }
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    cJSON *r = cJSON_CreateObject();
    cJSON *contents = cJSON_AddArrayToObject(r, "contents");
    cJSON *c = cJSON_CreateObject();
    if (!text || !contents || !c) {
        cJSON_free(text);
        cJSON_Delete(r);
        cJSON_Delete(c);
        return NULL;
    }
    cJSON_AddStringToObject(c, "uri", uri);
    cJSON_AddStringToObject(c, "mimeType", "application/json");
    cJSON_AddStringToObject(c, "text", text);
    cJSON_AddItemToArray(contents, c);
    cJSON_free(text);
    return mcp_result(m, rq, r, ttl);
}

char *mcp_resources(mcp *m, mcp_req *rq, const char *method)
{
    if (strcmp(method, "resources/list") == 0) return list(m, rq);
    if (strcmp(method, "resources/templates/list") == 0) return templates(m, rq);
    if (strcmp(method, "resources/read") == 0) return read_resource(m, rq);
    return NULL;
}
