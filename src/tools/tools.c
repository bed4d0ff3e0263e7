/*
** tools.c: the tool table, tools/list, and argument validation.
**
** The table below is the only list of tools in the program; everything a
** client is told about a tool comes from its files in schemas/.
*/
#include "tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../util/jsonnum.h"
#include "schemas.h"
#include "validate.h"

static const struct {
    const char *name;
    tool_handler fn;
    int writes;
} table[] = {
    {"log_operation", tool_log_operation, 1},
    {"get_operation_history", tool_get_operation_history, 0},
    {"get_audit_trail", tool_get_audit_trail, 0},
    {"get_user_activity", tool_get_user_activity, 0},
    {"search_audit_log", tool_search_audit_log, 0},
    {"get_audit_entry", tool_get_audit_entry, 0},
    {"verify_audit_log", tool_verify_audit_log, 0},
    {"create_checkpoint", tool_create_checkpoint, 1},
    /* It signs a checkpoint when none holds the entry yet. */
    {"get_inclusion_proof", tool_get_inclusion_proof, 1},
};
#define NTOOLS (sizeof table / sizeof table[0])

struct tool {
    const char *name;
    tool_handler fn;
    int writes;
    cJSON *input; /* borrowed from the list result */
};

struct tools {
    struct tool tool[NTOOLS];
    cJSON *list_result; /* {"tools": [...]} */
};

/* Parse schemas/NAME.KIND.json; returns a new tree or NULL with err set. */
static cJSON *load(const char *name, const char *kind, char *err, size_t errlen)
{
    char file[128];
    snprintf(file, sizeof file, "%s.%s.json", name, kind);
    for (size_t i = 0; i < schema_file_count; i++) {
        if (strcmp(schema_files[i].name, file) != 0) continue;
        cJSON *v = cJSON_ParseWithLength(schema_files[i].text, schema_files[i].len);
        if (!v) snprintf(err, errlen, "schemas/%s is not valid JSON", file);
        return v;
    }
    snprintf(err, errlen, "schemas/%s is missing", file);
    return NULL;
}

/* One tools/list entry: the tool file's fields plus both schemas. */
static cJSON *describe(const char *name, char *err, size_t errlen)
{
    cJSON *def = load(name, "tool", err, errlen);
    cJSON *in = def ? load(name, "input", err, errlen) : NULL;
    cJSON *out = in ? load(name, "output", err, errlen) : NULL;
    if (!out) goto fail;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(def, "name");
    if (!cJSON_IsString(n) || strcmp(n->valuestring, name) != 0) {
        snprintf(err, errlen, "schemas/%s.tool.json does not name %s", name, name);
        goto fail;
    }
    char why[256];
    if (validate_schema(in, why, sizeof why) != 0 || validate_schema(out, why, sizeof why) != 0) {
        snprintf(err, errlen, "schemas/%s: %s", name, why);
        goto fail;
    }
    cJSON_AddItemToObject(def, "inputSchema", in);
    cJSON_AddItemToObject(def, "outputSchema", out);
    return def;
fail:
    cJSON_Delete(def);
    cJSON_Delete(in);
    cJSON_Delete(out);
    return NULL;
}

tools *tools_new(char *err, size_t errlen)
{
    tools *t = calloc(1, sizeof *t);
    cJSON *list = cJSON_CreateArray();
    if (!t || !list) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->list_result = cJSON_CreateObject();
    if (!t->list_result) goto fail;
    cJSON_AddItemToObject(t->list_result, "tools", list);
    list = NULL;
    for (size_t i = 0; i < NTOOLS; i++) {
        cJSON *d = describe(table[i].name, err, errlen);
        if (!d) goto fail;
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(t->list_result, "tools"), d);
        t->tool[i] = (struct tool){table[i].name, table[i].fn, table[i].writes,
                                   cJSON_GetObjectItemCaseSensitive(d, "inputSchema")};
    }
    return t;
fail:
    cJSON_Delete(list);
    tools_free(t);
    return NULL;
}

void tools_free(tools *t)
{
    if (!t) return;
    cJSON_Delete(t->list_result);
    free(t);
}

const cJSON *tools_list_result(const tools *t) { return t->list_result; }

const tool *tools_find(const tools *t, const char *name)
{
    for (size_t i = 0; i < NTOOLS; i++)
        if (strcmp(t->tool[i].name, name) == 0) return &t->tool[i];
    return NULL;
}

const char *tool_name(const tool *tl) { return tl->name; }

int tool_writes(const tool *tl) { return tl->writes; }

int tools_run(const tool *tl, tool_ctx *ctx, const cJSON *args, cJSON **out,
              cJSON **summary)
{
    *out = *summary = NULL;
    ctx->input_schema = tl->input;
    /* The schema itself was checked once, in tools_new(). */
    if (validate_arguments(tl->input, args, ctx->err, sizeof ctx->err) != 0)
        return TOOL_EARG;
    /* From here on the arguments are only read and stored: keep every
    ** number exactly as it was sent. */
    if (jsonnum_exact((cJSON *)args) != 0) {
        snprintf(ctx->err, sizeof ctx->err, "out of memory");
        return TOOL_EFAIL;
    }
    return tl->fn(ctx, args, out, summary);
}

int64_t tool_int_arg(const tool_ctx *ctx, const cJSON *args, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    if (cJSON_IsNumber(v)) return (int64_t)v->valuedouble;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(ctx->input_schema, "properties");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(props, name), "default");
    return cJSON_IsNumber(def) ? (int64_t)def->valuedouble : 0;
}

const char *tool_str_arg(const cJSON *args, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tool_store_failed(tool_ctx *ctx, int code, const char *err)
{
    ctx->store_code = code;
    snprintf(ctx->err, sizeof ctx->err, "%s", err);
    return TOOL_EFAIL;
}

/* Cursors are opaque to clients: "c2:<seq>:<created_at>:<log_id>" in
** unpadded base64url, so that nobody builds them by hand and the format can
** change.  The log makes the position unique across the logs of a shared
** database; "c1:<seq>:<created_at>", from before logs, is still read. */
char *tool_cursor_encode(const store_page *page)
{
    char raw[128];
    int n = snprintf(raw, sizeof raw, "c2:%lld:%s:%s", (long long)page->last_seq,
                     page->last_created_at, page->last_log_id);
    size_t cap = sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, (const unsigned char *)raw, (size_t)n,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

int tool_cursor_decode(const char *c, int64_t *seq_out, tool_cursor *buf)
{
    char raw[160];
    size_t n = 0;
    long long seq = 0;
    int used = 0, version = 0;
    if (sodium_base642bin((unsigned char *)raw, sizeof raw - 1, c, strlen(c), NULL, &n,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0) {
        raw[n] = '\0';
        if (sscanf(raw, "c%d:%lld:%n", &version, &seq, &used) != 2 || used == 0) seq = 0;
    } else {
        raw[0] = '\0';
    }
    const char *at = raw + used, *log = at + TS_BUFLEN - 1;
    size_t rest = seq > 0 ? strlen(at) : 0;
    int ok = seq > 0 && ((version == 1 && rest == TS_BUFLEN - 1) ||
                         (version == 2 && rest > TS_BUFLEN && *log == ':' &&
                          rest - TS_BUFLEN < sizeof buf->log_id));
    if (!ok) return -1;
    memcpy(buf->created_at, at, TS_BUFLEN - 1);
    buf->created_at[TS_BUFLEN - 1] = '\0';
    buf->log_id[0] = '\0';
    if (version == 2) snprintf(buf->log_id, sizeof buf->log_id, "%s", log + 1);
    *seq_out = seq;
    return 0;
}

int tool_cursor_arg(tool_ctx *ctx, const cJSON *args, store_query *q, tool_cursor *buf)
{
    const char *c = tool_str_arg(args, "cursor");
    if (!c) return TOOL_OK;
    int64_t seq;
    if (tool_cursor_decode(c, &seq, buf) != 0) {
        snprintf(ctx->err, sizeof ctx->err,
                 "argument 'cursor' is not a next_cursor this server returned");
        return TOOL_EARG;
    }
    q->after_seq = seq;
    q->after_created_at = buf->created_at;
    q->after_log_id = buf->log_id[0] ? buf->log_id : NULL;
    return TOOL_OK;
}
