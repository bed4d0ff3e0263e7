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
#include "../util/utf8.h"
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

/* Cursors are the query tools' (tool_cursor_encode: the last entry's seq,
** time and log, so that pages stay stable across the logs of a shared
** database); no cursor is the first page. */
static int decode_cursor(const cJSON *params, store_query *q, tool_cursor *buf)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(params, "cursor");
    if (!c) return 0;
    int64_t seq;
    if (!cJSON_IsString(c) || tool_cursor_decode(c->valuestring, &seq, buf) != 0) return -1;
    q->after_seq = seq;
    q->after_created_at = buf->created_at;
    q->after_log_id = buf->log_id[0] ? buf->log_id : NULL;
    return 0;
}

static char *list(mcp *m, mcp_req *rq)
{
    store_query q = {.limit = PAGE};
    tool_cursor at;
    if (decode_cursor(rq->msg->params, &q, &at) != 0)
        return rpc_reply_error(rq->msg->id, RPC_INVALID_PARAMS,
                               "params.cursor is not a cursor this server returned", NULL);
    cJSON *r = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(r, "resources");
    if (!list) {
        cJSON_Delete(r);
        return NULL;
    }
    if (q.after_seq == 0) {
        cJSON_AddItemToArray(list, resource("audit://checkpoints/latest", "latest-checkpoint",
                                            "Latest signed checkpoint",
                                            "The newest Ed25519-signed checkpoint of the log."));
        cJSON_AddItemToArray(list, resource("audit://stats", "stats", "Audit log statistics",
                                            "Entry count, chain head and checkpoint summary."));
    }
    cJSON *entries = NULL;
    int more = 0;
    char err[STORE_ERRLEN];
    if (store_find(m->st, &q, &entries, &more, err) != STORE_OK) {
        cJSON_Delete(r);
        return rpc_reply_error(rq->msg->id, RPC_INTERNAL_ERROR, err, NULL);
    }
    int64_t last = 0;
    store_page page = {0};
    cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        const char *id = tool_str_arg(e, "id"), *type = tool_str_arg(e, "event_type"),
                   *op = tool_str_arg(e, "operation_name");
        last = (int64_t)cJSON_GetObjectItemCaseSensitive(e, "seq")->valuedouble;
        const char *when = tool_str_arg(e, "created_at"), *log = tool_str_arg(e, "log_id");
        page.last_seq = last;
        snprintf(page.last_created_at, sizeof page.last_created_at, "%s", when ? when : "");
        snprintf(page.last_log_id, sizeof page.last_log_id, "%s", log ? log : "");
        char uri[96], name[48], title[320];
        snprintf(uri, sizeof uri, ENTRY_PREFIX "%s", id ? id : "");
        snprintf(name, sizeof name, "entry-%lld", (long long)last);
        snprintf(title, sizeof title, "#%lld %s: %.*s", (long long)last,
                 type ? type : "", utf8_cut(op ? op : "", 256), op ? op : "");
        utf8_trim_end(title); /* a long event type cut by the buffer */
        cJSON_AddItemToArray(list, resource(uri, name, title, NULL));
    }
    cJSON_Delete(entries);
    if (more && last > 0) {
        char *next = tool_cursor_encode(&page);
        if (next) cJSON_AddStringToObject(r, "nextCursor", next);
        free(next);
    }
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
    snprintf(text, sizeof text, "resource not found: %.*s (%s)", utf8_cut(uri, 200), uri, why);
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
