/*
** tool_query.c: the four read-only query tools.
**
** Each turns its validated arguments into a store_query (or an activity
** request) and shapes what the store returns into the tool's output schema.
** Dates are parsed and normalized here so that the store compares instants.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/ts.h"
#include "tools.h"

/* A page's buffers are sized, after its first row, for this many rows at
** most (entry.h: entry_array.expect): a trail may ask for 10,000 and find
** three. */
#define PAGE_RESERVE_ROWS 256

/*
** Run a query with the optional cursor and shape the page:
** {"entries":[...],"next_cursor":"..."}, plus "truncated" for tools whose
** output has it.  The page is written as text straight from the rows and
** handed back as a raw item: a page can hold thousands of entries, and a
** tree of them would only be printed again.  The text block, the same page
** as a JSON string, is written in the same pass where ctx->text_block says
** (entry.h: entry_array.text), so the page is not scanned a second time to
** escape it, nor copied into the reply.
*/
static int run_find(tool_ctx *ctx, const cJSON *args, store_query *q, int truncated,
                    cJSON **out, cJSON **summary)
{
    char err[STORE_ERRLEN];
    tool_cursor after;
    if (tool_cursor_arg(ctx, args, q, &after) != TOOL_OK) return TOOL_EARG;
    q->log = tool_str_arg(args, "log");
    jbuf raw = {0}, *text = ctx->text_block ? ctx->text_block(ctx->hook_ctx) : NULL;
    store_page page;
    q->progress = ctx->progress;
    q->progress_ctx = ctx->hook_ctx;
    entry_array rows = {
        .out = &raw,
        .text = text,
        .expect = q->limit > 0 && q->limit < PAGE_RESERVE_ROWS ? q->limit : PAGE_RESERVE_ROWS,
    };
    jbuf_puts(&raw, "{\"entries\":[");
    if (text) {
        jbuf_putc(text, '"');
        jbuf_escape_since(text, &raw, 0);
    }
    int rc = store_find_rows(ctx->st, q, entry_array_add, &rows, &page, err);
    if (rc != STORE_OK) {
        jbuf_free(&raw);
        return tool_store_failed(ctx, rc, err);
    }
    size_t tail = raw.len;
    jbuf_putc(&raw, ']');
    int more = page.more && page.count > 0;
    if (more) {
        char *next = tool_cursor_encode(&page);
        if (!next) jbuf_fail(&raw);
        else {
            jbuf_puts(&raw, ",\"next_cursor\":");
            jbuf_string(&raw, next, strlen(next));
        }
        free(next);
    }
    if (truncated) jbuf_puts(&raw, more ? ",\"truncated\":true" : ",\"truncated\":false");
    jbuf_putc(&raw, '}');
    if (text) {
        jbuf_escape_since(text, &raw, tail);
        jbuf_putc(text, '"');
    }
    *out = jbuf_take_raw(&raw);
    *summary = cJSON_CreateObject();
    if (!*out || (text && text->failed) ||
        !cJSON_AddNumberToObject(*summary, "count", (double)page.count)) {
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        *out = *summary = NULL;
        snprintf(ctx->err, sizeof ctx->err, "out of memory");
        return TOOL_EFAIL;
    }
    ctx->text_done = text != NULL;
    return TOOL_OK;
}

int tool_get_operation_history(tool_ctx *ctx, const cJSON *args, cJSON **out,
                               cJSON **summary)
{
    store_query q = {
        .project_id = tool_str_arg(args, "project_id"),
        .user_id = tool_str_arg(args, "user_id"),
        .operation_name = tool_str_arg(args, "operation_name"),
        .event_type = tool_str_arg(args, "event_type"),
        .server = tool_str_arg(args, "server"),
        .session_id = tool_str_arg(args, "session_id"),
        .limit = tool_int_arg(ctx, args, "limit"),
        .offset = tool_int_arg(ctx, args, "offset"),
    };
    return run_find(ctx, args, &q, 0, out, summary);
}

/* Parse one end of a range into *bound; TOOL_EARG naming the argument. */
static int date_arg(tool_ctx *ctx, const cJSON *args, const char *name,
                    int end_of_day, int64_t *us, char bound[TS_BUFLEN])
{
    char why[200];
    if (ts_parse(tool_str_arg(args, name), end_of_day, us, why, sizeof why) != 0) {
        snprintf(ctx->err, sizeof ctx->err, "argument '%s': %s", name, why);
        return TOOL_EARG;
    }
    ts_format(*us, bound);
    return TOOL_OK;
}

int tool_get_audit_trail(tool_ctx *ctx, const cJSON *args, cJSON **out,
                         cJSON **summary)
{
    int64_t from, to;
    char since[TS_BUFLEN], until[TS_BUFLEN];
    if (date_arg(ctx, args, "start_date", 0, &from, since) ||
        date_arg(ctx, args, "end_date", 1, &to, until))
        return TOOL_EARG;
    if (from > to) {
        snprintf(ctx->err, sizeof ctx->err,
                 "argument 'start_date' (%s) is after 'end_date' (%s)", since, until);
        return TOOL_EARG;
    }
    store_query q = {
        .event_type = tool_str_arg(args, "event_type"),
        .since = since,
        .until = until,
        .limit = tool_int_arg(ctx, args, "limit"),
    };
    return run_find(ctx, args, &q, 1, out, summary);
}

/* C's round() for x >= 0, halves away from zero, without libm: it was the
** only function the server took from libm, and loading a library costs
** start-up time.  Doubles from 2^53 up are integers already. */
static double round_half_up(double x)
{
    if (!(x < 9007199254740992.0)) return x;
    double t = (double)(int64_t)x;
    return x - t >= 0.5 ? t + 1.0 : t;
}

int tool_get_user_activity(tool_ctx *ctx, const cJSON *args, cJSON **out,
                           cJSON **summary)
{
    const char *user = tool_str_arg(args, "user_id");
    int64_t days = tool_int_arg(ctx, args, "days");
    char since[TS_BUFLEN], err[STORE_ERRLEN];
    ts_format(ctx->now_us - days * INT64_C(86400000000), since);
    store_activity a;
    int rc = store_user_activity(ctx->st, user, since, tool_str_arg(args, "log"), &a, err);
    if (rc != STORE_OK) return tool_store_failed(ctx, rc, err);
    *out = cJSON_CreateObject();
    *summary = cJSON_CreateObject();
    if (!*out || !*summary) {
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        cJSON_Delete(a.by_type);
        *out = *summary = NULL;
        return TOOL_EFAIL;
    }
    cJSON_AddStringToObject(*out, "user_id", user);
    cJSON_AddNumberToObject(*out, "days", (double)days);
    cJSON_AddNumberToObject(*out, "total_operations", (double)a.total);
    cJSON_AddItemToObject(*out, "operations_by_type", a.by_type);
    cJSON_AddNumberToObject(*out, "errors", (double)a.errors);
    cJSON_AddNumberToObject(*out, "projects_touched", (double)a.projects);
    /* The seed's round(total / days, 2). */
    cJSON_AddNumberToObject(*out, "average_ops_per_day",
                            round_half_up((double)a.total / (double)days * 100.0) / 100.0);
    cJSON_AddNumberToObject(*summary, "total_operations", (double)a.total);
    return TOOL_OK;
}

int tool_search_audit_log(tool_ctx *ctx, const cJSON *args, cJSON **out,
                          cJSON **summary)
{
    store_query q = {
        .text = tool_str_arg(args, "search_term"),
        .limit = tool_int_arg(ctx, args, "limit"),
    };
    return run_find(ctx, args, &q, 0, out, summary);
}
