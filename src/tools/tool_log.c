/*
** tool_log.c: log_operation, the one tool that adds entries on request.
**
** The arguments arrive validated and scrubbed; this handler only shapes them
** into a record_event and appends it to the call's group through the
** recorder, which serializes the JSON fields once; the store keeps those
** exact bytes, which are also the bytes the hash chain covers.
*/
#include <stdlib.h>

#include "tools.h"

#include "../record/record.h"

/* An optional object argument, or NULL.  Borrowed from args: the record
** only reads it, the arguments being scrubbed already. */
static cJSON *tree_arg(const cJSON *args, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(args, name);
}

int tool_log_operation(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary)
{
    int rc = TOOL_EFAIL;
    const char *user = tool_str_arg(args, "user_id");
    record_event ev = {
        .event_type = tool_str_arg(args, "event_type"),
        .operation_name = tool_str_arg(args, "operation_name"),
        .operation_id = tool_str_arg(args, "operation_id"),
        .user_id = user ? user : ctx->actor,
        .project_id = tool_str_arg(args, "project_id"),
        .args = tree_arg(args, "args"),
        .result = tree_arg(args, "result"),
        .error = tool_str_arg(args, "error"),
        .before_state = tree_arg(args, "before_state"),
        .after_state = tree_arg(args, "after_state"),
        .client = ctx->client,
        .scrubbed = 1,
    };
    store_receipt r;
    char err[STORE_ERRLEN];
    int src = recorder_append(ctx->rec, &ev, &r, err);
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
    if (rc != TOOL_OK) {
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        *out = *summary = NULL;
    }
    return rc;
}
