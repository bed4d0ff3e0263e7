/*
** mcp_call.c: tools/call, and the tool_call entry that records every call.
**
** A call is a scope of the recorder's group (record.h: recorder_call_begin
** and _end), which scrubs its arguments, undoes what a failed tool wrote
** and appends the record of the call, so the trail shows the attempt and
** its error; a write whose record cannot be appended is not kept either.
** This file only shapes the record and the reply.  Long calls can report
** progress and be cancelled: SQLite's progress handler asks the transport
** whether a notifications/cancelled for this request has arrived.
**
** A read tool that prints its result as text (pages of entries) writes the
** text block straight into the reply line (tools.h: tool_ctx.text_block), whose
** opening and closing are cut from the line the same result would print
** as with markers in place of its two texts (reply_frame()): a page is
** hundreds of kilobytes, and the line is then not a third copy of it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../record/record.h"
#include "../util/diag.h"
#include "../util/jbuf.h"
#include "../util/ts.h"
#include "../util/utf8.h"
#include "mcp_int.h"

/* The tool_call entry describing this call.  The arguments were scrubbed
** by recorder_call_begin(); the summary is the tool's own. */
static record_event tool_call_event(const mcp *m, const mcp_req *rq, const char *name,
                                    cJSON *args, cJSON *summary, const char *error)
{
    return (record_event){
        .event_type = "tool_call",
        .operation_name = name,
        .operation_id = rq->msg->id_text,
        .user_id = m->actor,
        .project_id = tool_str_arg(args, "project_id"),
        .args = args,
        .result = summary,
        .error = error,
        .client = rq->client,
        .scrubbed = 1,
    };
}

/* A successful log_operation keeps its JSON payloads in the entry it
** created, which the record's result names by audit_id; the record keeps
** the other arguments.  So the payloads are stored, hashed and indexed
** once, not twice, and nothing is lost: the entry holds them verbatim. */
static void drop_stored_payloads(const tool *tl, cJSON *args, const cJSON *summary)
{
    static const char *const payloads[] = {"args", "result", "before_state", "after_state"};
    if (!tool_writes(tl) || !cJSON_GetObjectItemCaseSensitive(summary, "audit_id")) return;
    for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(args, payloads[i]);
}

/* The reply line of a successful call whose structuredContent and text
** block are raw texts, cut where they go: *text_at and *structured_at are
** the offsets of the one-byte markers standing for them.  A new string the
** caller frees, or NULL when memory runs out. */
static char *reply_frame(mcp *m, const mcp_req *rq, size_t *text_at, size_t *structured_at)
{
    cJSON *s = cJSON_CreateRaw("\x01"), *t = cJSON_CreateRaw("\x02");
    if (!s || !t) {
        cJSON_Delete(s);
        cJSON_Delete(t);
        return NULL;
    }
    char *line = mcp_result(m, rq, mcp_call_result(s, t, NULL), MCP_NO_CACHE);
    char *ts = line ? strchr(line, '\x02') : NULL, *ss = line ? strchr(line, '\x01') : NULL;
    if (!ts || !ss || ts > ss) {
        free(line);
        return NULL;
    }
    *text_at = (size_t)(ts - line);
    *structured_at = (size_t)(ss - line);
    return line;
}

/* The reply line from frame, the text block written after its opening in
** text, and structured (a raw item, taken over): text's buffer becomes the
** line.  NULL when memory runs out. */
static char *framed_reply(const char *frame, size_t text_at, size_t structured_at, jbuf *text,
                          cJSON *structured)
{
    jbuf_put(text, frame + text_at + 1, structured_at - text_at - 1);
    jbuf_puts(text, structured->valuestring);
    jbuf_puts(text, frame + structured_at + 1);
    cJSON_Delete(structured);
    return jbuf_take(text);
}

typedef struct hook {
    mcp *m;
    mcp_req *rq;
    /* The reply line being written by a tool that writes its text block
    ** (text_block()), cut from frame at text_at and structured_at. */
    jbuf text;
    char *frame;
    size_t text_at, structured_at;
} hook;

/* tool_ctx.text_block: the reply line, opened, made when a tool asks. */
static jbuf *text_block(void *ctx)
{
    hook *h = ctx;
    if (!h->frame && !(h->frame = reply_frame(h->m, h->rq, &h->text_at, &h->structured_at)))
        return NULL;
    jbuf_free(&h->text);
    jbuf_put(&h->text, h->frame, h->text_at);
    return &h->text;
}

static int interrupted(void *ctx)
{
    hook *h = ctx;
    return mcp_check_cancelled(h->m, h->rq);
}

static void progress(void *ctx, int64_t done, int64_t total)
{
    hook *h = ctx;
    char text[64];
    snprintf(text, sizeof text, "%lld entries", (long long)done);
    mcp_progress(h->m, h->rq, (double)done, (double)total, text);
    mcp_check_cancelled(h->m, h->rq);
}

void mcp_call_tool(mcp *m, mcp_req *rq, mcp_reply *out)
{
    const rpc_message *msg = rq->msg;
    const cJSON *p = msg->params;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    if (!cJSON_IsObject(p) || !cJSON_IsString(name)) {
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                                    "tools/call needs params.name, a string", NULL);
        return;
    }
    const tool *tl = tools_find(m->tools, name->valuestring);
    if (!tl) {
        char text[320];
        snprintf(text, sizeof text, "unknown tool '%.*s'", utf8_cut(name->valuestring, 256),
                 name->valuestring);
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS, text, NULL);
        return;
    }
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(p, "arguments");
    int bad_params = given && !cJSON_IsObject(given) && !cJSON_IsNull(given);
    /* The message's tree is this layer's own and is not read again, so the
    ** arguments are taken over rather than copied; the recorder scrubs
    ** them in place before the tool sees them. */
    cJSON *args = cJSON_IsObject(given)
                      ? cJSON_DetachItemViaPointer((cJSON *)p, (cJSON *)given)
                      : cJSON_CreateObject();
    cJSON *structured = NULL, *summary = NULL;
    char err[STORE_ERRLEN];
    hook h = {.m = m, .rq = rq};
    int rc = TOOL_EFAIL, recorded = 0;
    int writes = tool_writes(tl);
    tool_ctx ctx = {.st = m->st, .rec = m->rec, .actor = m->actor, .client = rq->client,
                    .sg = m->sg, .trusted_public_key = m->trusted_public_key,
                    .now_us = ts_now_us(), .progress = progress, .hook_ctx = &h,
                    /* Reads may write their text block into the reply line. */
                    .text_block = writes ? NULL : text_block};
    recorder_call call;
    int began = recorder_call_begin(m->rec, &call, args, writes, err);
    if (!call.scrubbed) {
        snprintf(ctx.err, sizeof ctx.err, "out of memory");
        goto reply;
    }
    /* A read-only log serves reads unrecorded; it said so at start-up. */
    int quiet = began == STORE_EREADONLY && !writes;
    if (bad_params) {
        snprintf(ctx.err, sizeof ctx.err, "params.arguments must be an object");
    } else if (began != STORE_OK && writes) {
        if (store_readonly(m->st))
            snprintf(ctx.err, sizeof ctx.err,
                     "the audit log is open read-only (--read-only, or the "
                     "database file has no write permission); nothing was written");
        else
            snprintf(ctx.err, sizeof ctx.err, "%s", err);
    } else {
        store_set_interrupt(m->st, interrupted, &h);
        rc = tools_run(tl, &ctx, args, &structured, &summary);
        store_set_interrupt(m->st, NULL, NULL);
        if (rq->cancelled && rc != TOOL_OK)
            snprintf(ctx.err, sizeof ctx.err, "cancelled by the client");
        else if (rc == TOOL_EFAIL && ctx.store_code != STORE_OK)
            diag("%s failed: %s", tool_name(tl), ctx.err); /* for operators */
    }
    if (began == STORE_OK) {
        if (rc == TOOL_OK) drop_stored_payloads(tl, args, summary);
        record_event ev = tool_call_event(m, rq, tool_name(tl), args, summary,
                                          rc == TOOL_OK ? NULL : ctx.err);
        if (recorder_call_end(m->rec, &call, rc == TOOL_OK, &ev, err) == STORE_OK) {
            recorded = 1;
            out->tx = call.ticket;
        } else {
            diag("could not record the %s call: %s", tool_name(tl), err);
            if (rc == TOOL_OK && writes) {
                /* An entry whose call cannot be recorded is not kept either. */
                cJSON_Delete(structured);
                structured = NULL;
                rc = TOOL_EFAIL;
                snprintf(ctx.err, sizeof ctx.err,
                         "the call could not be recorded, so nothing was written: %s", err);
            }
        }
    } else if (!quiet) {
        diag("could not record the %s call: %s", tool_name(tl), err);
    }
reply:
    if (rc != TOOL_OK) {
        cJSON_Delete(structured);
        structured = NULL;
    }
    if (bad_params)
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS, ctx.err, NULL);
    else if (structured && ctx.text_done && h.frame && cJSON_IsRaw(structured))
        out->line = framed_reply(h.frame, h.text_at, h.structured_at, &h.text, structured);
    else
        out->line = mcp_result(m, rq, mcp_call_result(structured, NULL, ctx.err), MCP_NO_CACHE);
    jbuf_free(&h.text);
    free(h.frame);
    out->acks_write = recorded;
    if (recorded && call.reads_committed && rc == TOOL_OK) out->unrecorded_ok = tool_name(tl);
    cJSON_Delete(summary);
    cJSON_Delete(args);
}
