/*
** tool_log.c: log_operation, the one tool that adds entries on request.
**
** The arguments arrive validated and scrubbed; this handler only shapes them
** into a store_record.  JSON fields are serialized here, once, and the store
** keeps those exact bytes, which are also the bytes the hash chain covers.
*/
#include <stdlib.h>

#include "tools.h"

#include "../util/jbuf.h"

/* Serialize an optional object argument (the caller frees *text with
** free()); *text stays NULL when absent.  Returns -1 when memory runs out. */
static int json_arg(const cJSON *args, const char *name, char **text)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    *text = NULL;
    if (!v) return 0;
    *text = jbuf_print(v);
    return *text ? 0 : -1;
}

int tool_log_operation(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary)
{
    int rc = TOOL_EFAIL;
    char *fields[4] = {NULL, NULL, NULL, NULL};
    static const char *const names[4] = {"args", "result", "before_state", "after_state"};
    for (int i = 0; i < 4; i++)
        if (json_arg(args, names[i], &fields[i]) != 0) goto done;
    const char *user = tool_str_arg(args, "user_id");
    store_record rec = {
        .event_type = tool_str_arg(args, "event_type"),
        .operation_name = tool_str_arg(args, "operation_name"),
        .operation_id = tool_str_arg(args, "operation_id"),
        .user_id = user ? user : ctx->actor,
        .project_id = tool_str_arg(args, "project_id"),
        .args = fields[0] ? fields[0] : "{}",
        .result = fields[1],
        .error = tool_str_arg(args, "error"),
        .before_state = fields[2],
        .after_state = fields[3],
        .client = ctx->client,
    };
    store_receipt r;
    char err[STORE_ERRLEN];
    int src = store_append(ctx->st, &rec, &r, err);
    if (src != STORE_OK) {
        rc = tool_store_failed(ctx, src, err);
        goto done;
    }
    *out = cJSON_CreateObject();
    *summary = cJSON_CreateObject();
    if (!*out || !*summary) goto done;
    cJSON_AddStringToObject(*out, "audit_id", r.id);
    cJSON_AddNumberToObject(*out, "seq", (double)r.seq);
    cJSON_AddStringToObject(*out, "created_at", r.created_at);
    cJSON_AddStringToObject(*out, "hash", r.hash);
    cJSON_AddStringToObject(*summary, "audit_id", r.id);
    rc = TOOL_OK;
done:
    for (int i = 0; i < 4; i++) free(fields[i]);
    if (rc != TOOL_OK) {
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        *out = *summary = NULL;
    }
    return rc;
}
