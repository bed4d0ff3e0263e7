/*
** cli_otlp.c: export --format otlp, the trail as OpenTelemetry log records.
**
** The output is the OTLP File Exporter's shape: JSON Lines, each line one
** ExportLogsServiceRequest in OTLP/JSON (resourceLogs > scopeLogs >
** logRecords) holding up to CLI_OTLP_BATCH entries, so a collector or a
** reader can take it a line at a time and the writer never holds more than
** one entry.  The resource is the log itself (service.name and the
** database's log_id); each entry becomes one log record whose body is the
** entry exactly as the tools and the jsonl export give it (so the chain can
** still be checked from the export) and whose attributes are its fields,
** named after OpenTelemetry's GenAI and MCP semantic conventions where one
** fits (gen_ai.tool.name, mcp.method.name, mcp.session.id, jsonrpc.request.id,
** user.id, error.message) and under dss_audit.* otherwise.  docs/export.md
** has the table.  The mapping (cli_otlp_attributes, cli_otlp_head,
** cli_otlp_resource) is independent of the encoding: the JSON below and
** the protobuf of ship's OTLP sink (src/ship/sink_otlp.c) both use it.
*/
#include "cli.h"
#include "../util/jbuf.h"

#include <stdlib.h>
#include <string.h>

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { SEVERITY_INFO = 9, SEVERITY_ERROR = 17 };

/* A text column of the row, NULL when SQL NULL (entry.h: text is
** NUL-terminated). */
static const char *text_of(const entry_row *r, int field)
{
    return r->v[field].p;
}

/* A key literal and its length, for attr_str_n() and the tables. */
#define KEY(s) s, sizeof s - 1

/* Hand one string attribute to the encoder, with the lengths of key and s
** (a shipper maps thirty a record: the encoder need not count them);
** nothing when s is NULL. */
static int attr_str_n(cli_otlp_attr_fn fn, void *ctx, const char *key, size_t key_len,
                      const char *s, size_t s_len)
{
    if (!s) return 0;
    cli_otlp_attr a = {.key = key, .str = s, .key_len = key_len, .str_len = s_len};
    return fn(ctx, &a);
}

static int attr_str(cli_otlp_attr_fn fn, void *ctx, const char *key, const char *s)
{
    return attr_str_n(fn, ctx, key, strlen(key), s, s ? strlen(s) : 0);
}

static int attr_int(cli_otlp_attr_fn fn, void *ctx, const char *key, size_t key_len, int64_t n)
{
    cli_otlp_attr a = {.key = key, .num = n, .is_int = 1, .key_len = key_len};
    return fn(ctx, &a);
}

/* A column's text as an attribute: a text column's len is its strlen()
** (entry.h); a JSON column's is its whole stored length, which a NUL
** inside would make longer than the string, so it is counted. */
static int attr_column(cli_otlp_attr_fn fn, void *ctx, const char *key, size_t key_len,
                       const entry_value *v, int json)
{
    if (!v->p) return 0;
    return attr_str_n(fn, ctx, key, key_len, v->p, json ? strlen(v->p) : v->len);
}

/* An identity column parsed: its text and the name and version read from
** it ("" and no attribute when absent or not a string). */
typedef struct identity {
    char text[512];
    size_t len;
    char name[256], version[256];
    int has_name, has_version;
} identity;

/* Parse text (len bytes) into id; 0, or -1 for text too long to keep. */
static int identity_parse(identity *id, const char *text, size_t len)
{
    if (len >= sizeof id->text) return -1;
    cJSON *parsed = cJSON_ParseWithLength(text, len);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(parsed, "name");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(parsed, "version");
    int obj = cJSON_IsObject(parsed);
    id->has_name = obj && cJSON_IsString(name) && strlen(name->valuestring) < sizeof id->name;
    id->has_version =
        obj && cJSON_IsString(version) && strlen(version->valuestring) < sizeof id->version;
    int fits = (!obj || !cJSON_IsString(name) || id->has_name) &&
               (!obj || !cJSON_IsString(version) || id->has_version);
    if (id->has_name) snprintf(id->name, sizeof id->name, "%s", name->valuestring);
    if (id->has_version) snprintf(id->version, sizeof id->version, "%s", version->valuestring);
    cJSON_Delete(parsed);
    if (!fits) return -1;
    memcpy(id->text, text, len);
    id->len = len;
    return 0;
}

/* name and version of an identity column ({name, version} as stored JSON)
** as two attributes, keys name_key and version_key.  A shipper maps
** thousands of entries a second whose client and server are the same
** from one entry to the next: the last text parsed is kept per thread
** and column (slot), and parsed again only when it changes. */
static int attr_identity(cli_otlp_attr_fn fn, void *ctx, int slot, const char *name_key,
                         const char *version_key, const entry_value *v)
{
    static _Thread_local identity last[2];
    identity *id = &last[slot];
    if (!v->p) return 0;
    if (!(id->len == v->len && id->len && memcmp(id->text, v->p, v->len) == 0) &&
        identity_parse(id, v->p, v->len) != 0) {
        /* Too long to keep: parsed for this entry alone. */
        id->len = 0;
        cJSON *parsed = cJSON_ParseWithLength(v->p, v->len);
        int rc = 0;
        if (cJSON_IsObject(parsed)) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(parsed, "name");
            const cJSON *version = cJSON_GetObjectItemCaseSensitive(parsed, "version");
            rc = attr_str(fn, ctx, name_key, cJSON_IsString(name) ? name->valuestring : NULL);
            if (rc == 0)
                rc = attr_str(fn, ctx, version_key,
                              cJSON_IsString(version) ? version->valuestring : NULL);
        }
        cJSON_Delete(parsed);
        return rc;
    }
    int rc = attr_str(fn, ctx, name_key, id->has_name ? id->name : NULL);
    return rc ? rc : attr_str(fn, ctx, version_key, id->has_version ? id->version : NULL);
}

int cli_otlp_attributes(const entry_row *r, cli_otlp_attr_fn fn, void *ctx)
{
    /* Fields named by their index in ENTRY_FIELDS (entry.h): a field the
    ** list does not hold does not compile. */
    static const struct {
        int field;
        const char *attr;
        size_t attr_len;
    } text_fields[] = {
        {ENTRY_F_id, KEY("dss_audit.id")},
        {ENTRY_F_event_type, KEY("dss_audit.event_type")},
        {ENTRY_F_operation_name, KEY("dss_audit.operation_name")},
        {ENTRY_F_operation_id, KEY("dss_audit.operation_id")},
        {ENTRY_F_user_id, KEY("user.id")},
        {ENTRY_F_project_id, KEY("dss_audit.project_id")},
        {ENTRY_F_error, KEY("error.message")},
        {ENTRY_F_session_id, KEY("mcp.session.id")},
        {ENTRY_F_completes, KEY("dss_audit.completes")},
        {ENTRY_F_cwd, KEY("dss_audit.cwd")},
    }, hash_fields[] = {
        {ENTRY_F_prev_hash, KEY("dss_audit.prev_hash")},
        {ENTRY_F_hash, KEY("dss_audit.hash")},
    }, json_fields[] = {
        {ENTRY_F_args, KEY("dss_audit.args")},
        {ENTRY_F_result, KEY("dss_audit.result")},
        {ENTRY_F_before_state, KEY("dss_audit.before_state")},
        {ENTRY_F_after_state, KEY("dss_audit.after_state")},
    };
    const char *event_type = text_of(r, ENTRY_F_event_type);
    if (attr_int(fn, ctx, KEY("dss_audit.seq"), r->seq) != 0) return -1;
    for (size_t i = 0; i < sizeof text_fields / sizeof *text_fields; i++)
        if (attr_column(fn, ctx, text_fields[i].attr, text_fields[i].attr_len,
                        &r->v[text_fields[i].field], 0) != 0)
            return -1;
    for (size_t i = 0; i < sizeof hash_fields / sizeof *hash_fields; i++) {
        char hex[CHAIN_HEX_LEN];
        entry_hash_hex(&r->v[hash_fields[i].field], hex);
        if (attr_str_n(fn, ctx, hash_fields[i].attr, hash_fields[i].attr_len, hex,
                       strlen(hex)) != 0)
            return -1;
    }
    /* A tool_call entry is one MCP tools/call: the GenAI execute_tool
    ** operation of the tool it names, answered to that JSON-RPC id. */
    if (event_type && strcmp(event_type, "tool_call") == 0 &&
        (attr_str_n(fn, ctx, KEY("mcp.method.name"), KEY("tools/call")) != 0 ||
         attr_str_n(fn, ctx, KEY("gen_ai.operation.name"), KEY("execute_tool")) != 0 ||
         attr_column(fn, ctx, KEY("gen_ai.tool.name"), &r->v[ENTRY_F_operation_name], 0) != 0 ||
         attr_column(fn, ctx, KEY("jsonrpc.request.id"), &r->v[ENTRY_F_operation_id], 0) != 0))
        return -1;
    for (size_t i = 0; i < sizeof json_fields / sizeof *json_fields; i++)
        if (attr_column(fn, ctx, json_fields[i].attr, json_fields[i].attr_len,
                        &r->v[json_fields[i].field], 1) != 0)
            return -1;
    if (attr_identity(fn, ctx, 0, "dss_audit.client.name", "dss_audit.client.version",
                      &r->v[ENTRY_F_client]) ||
        attr_identity(fn, ctx, 1, "dss_audit.server.name", "dss_audit.server.version",
                      &r->v[ENTRY_F_server]))
        return -1;
    const char *dur = text_of(r, ENTRY_F_duration_ms);
    if (dur && attr_int(fn, ctx, KEY("dss_audit.duration_ms"), strtoll(dur, NULL, 10)) != 0)
        return -1;
    return 0;
}

int cli_otlp_head(const entry_row *r, cli_otlp_fields *f, char *err, size_t errlen)
{
    const char *created = text_of(r, ENTRY_F_created_at);
    const char *id = text_of(r, ENTRY_F_id);
    int failed = r->v[ENTRY_F_error].p != NULL;
    char why[200];
    if (!created || ts_parse(created, 0, &f->time_us, why, sizeof why) != 0) {
        snprintf(err, errlen, "entry %s has no usable created_at", id ? id : "?");
        return -1;
    }
    f->severity_number = failed ? SEVERITY_ERROR : SEVERITY_INFO;
    f->severity_text = failed ? "ERROR" : "INFO";
    return 0;
}

int cli_otlp_resource(const char *log_id, cli_otlp_attr_fn fn, void *ctx)
{
    return attr_str(fn, ctx, "service.name", CLI_OTLP_SCOPE) ||
                   attr_str(fn, ctx, "service.version", DSS_VERSION) ||
                   attr_str(fn, ctx, "dss_audit.log_id", log_id ? log_id : "")
               ? -1
               : 0;
}

const char *cli_otlp_version(void)
{
    return DSS_VERSION;
}

/* ---- OTLP/JSON ---------------------------------------------------------- */

/* cli_otlp_attr_fn: {"key": key, "value": {"stringValue": s}}, or an
** intValue, which OTLP/JSON writes as a decimal string, into a cJSON array. */
static int json_attr(void *ctx, const cli_otlp_attr *a)
{
    cJSON *attrs = ctx, *kv = cJSON_CreateObject(), *v;
    char num[24];
    if (!kv || !cJSON_AddItemToArray(attrs, kv)) {
        cJSON_Delete(kv);
        return -1;
    }
    if (a->is_int) snprintf(num, sizeof num, "%lld", (long long)a->num);
    return cJSON_AddStringToObject(kv, "key", a->key) && (v = cJSON_AddObjectToObject(kv, "value")) &&
                   cJSON_AddStringToObject(v, a->is_int ? "intValue" : "stringValue",
                                           a->is_int ? num : a->str)
               ? 0
               : -1;
}

cJSON *cli_otlp_record(const entry_row *row, char *err, size_t errlen)
{
    cli_otlp_fields f;
    char nanos[32];
    jbuf body = {0};
    cJSON *r = NULL, *b, *attrs;
    if (cli_otlp_head(row, &f, err, errlen) != 0) return NULL;
    snprintf(nanos, sizeof nanos, "%lld000", (long long)f.time_us);
    entry_json(row, &body);
    jbuf_putc(&body, '\0');
    if (body.failed || !(r = cJSON_CreateObject()) ||
        !cJSON_AddStringToObject(r, "timeUnixNano", nanos) ||
        !cJSON_AddStringToObject(r, "observedTimeUnixNano", nanos) ||
        !cJSON_AddNumberToObject(r, "severityNumber", f.severity_number) ||
        !cJSON_AddStringToObject(r, "severityText", f.severity_text) ||
        !(b = cJSON_AddObjectToObject(r, "body")) ||
        !cJSON_AddStringToObject(b, "stringValue", body.p) ||
        !(attrs = cJSON_AddArrayToObject(r, "attributes")) ||
        cli_otlp_attributes(row, json_attr, attrs) != 0) {
        snprintf(err, errlen, "out of memory");
        cJSON_Delete(r);
        r = NULL;
    }
    jbuf_free(&body);
    return r;
}

char *cli_otlp_request_head(const char *log_id)
{
    /* The head of one ExportLogsServiceRequest, up to its first record. */
    cJSON *attrs = cJSON_CreateArray();
    jbuf b = {0};
    if (!attrs || cli_otlp_resource(log_id, json_attr, attrs) != 0) {
        cJSON_Delete(attrs);
        return NULL;
    }
    jbuf_puts(&b, "{\"resourceLogs\":[{\"resource\":{\"attributes\":");
    jbuf_tree(&b, attrs);
    jbuf_puts(&b, "},\"scopeLogs\":[{\"scope\":{\"name\":\"" CLI_OTLP_SCOPE "\",\"version\":");
    jbuf_string(&b, DSS_VERSION, strlen(DSS_VERSION));
    jbuf_puts(&b, "},\"logRecords\":[");
    cJSON_Delete(attrs);
    return jbuf_take(&b);
}

int cli_otlp_open(FILE *out, const char *log_id)
{
    char *head = cli_otlp_request_head(log_id);
    int rc = head && fputs(head, out) != EOF ? 0 : -1;
    free(head);
    return rc;
}

int cli_otlp_close(FILE *out)
{
    return fputs(CLI_OTLP_REQUEST_TAIL "\n", out) == EOF ? -1 : 0;
}
