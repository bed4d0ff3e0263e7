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
** has the table.
*/
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { SEVERITY_INFO = 9, SEVERITY_ERROR = 17 };

static const char *str_member(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Append {"key": key, "value": {"stringValue": s}} to attrs; nothing when
** s is NULL.  0, or -1 when memory runs out. */
static int attr_str(cJSON *attrs, const char *key, const char *s)
{
    if (!s) return 0;
    cJSON *kv = cJSON_CreateObject(), *v;
    if (!kv || !cJSON_AddItemToArray(attrs, kv)) {
        cJSON_Delete(kv);
        return -1;
    }
    return cJSON_AddStringToObject(kv, "key", key) && (v = cJSON_AddObjectToObject(kv, "value")) &&
                   cJSON_AddStringToObject(v, "stringValue", s)
               ? 0
               : -1;
}

/* The same with an intValue, which OTLP/JSON writes as a decimal string. */
static int attr_int(cJSON *attrs, const char *key, int64_t n)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)n);
    cJSON *kv = cJSON_CreateObject(), *v;
    if (!kv || !cJSON_AddItemToArray(attrs, kv)) {
        cJSON_Delete(kv);
        return -1;
    }
    return cJSON_AddStringToObject(kv, "key", key) && (v = cJSON_AddObjectToObject(kv, "value")) &&
                   cJSON_AddStringToObject(v, "intValue", num)
               ? 0
               : -1;
}

/* A JSON member of the entry (raw stored text, or a tree) as its JSON
** text in a string attribute; null and missing members are left out. */
static int attr_json(cJSON *attrs, const char *key, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsRaw(v) || cJSON_IsString(v)) return attr_str(attrs, key, v->valuestring);
    char *text = cJSON_PrintUnformatted(v);
    int rc = text ? attr_str(attrs, key, text) : -1;
    cJSON_free(text);
    return rc;
}

/* name and version of an identity member ({name, version}, raw or a tree)
** as two attributes prefix.name and prefix.version. */
static int attr_identity(cJSON *attrs, const char *prefix, const cJSON *v)
{
    cJSON *parsed = NULL;
    char key[64];
    int rc = 0;
    if (cJSON_IsRaw(v)) v = parsed = cJSON_Parse(v->valuestring);
    if (cJSON_IsObject(v)) {
        snprintf(key, sizeof key, "%s.name", prefix);
        rc = attr_str(attrs, key, str_member(v, "name"));
        snprintf(key, sizeof key, "%s.version", prefix);
        if (rc == 0) rc = attr_str(attrs, key, str_member(v, "version"));
    }
    cJSON_Delete(parsed);
    return rc;
}

static int entry_attributes(cJSON *attrs, const cJSON *e)
{
    /* Fields named by their index in ENTRY_FIELDS (entry.h): a field the
    ** list does not hold does not compile. */
    static const struct {
        int field;
        const char *attr;
    } text_fields[] = {
        {ENTRY_F_id, "dss_audit.id"},
        {ENTRY_F_event_type, "dss_audit.event_type"},
        {ENTRY_F_operation_name, "dss_audit.operation_name"},
        {ENTRY_F_operation_id, "dss_audit.operation_id"},
        {ENTRY_F_user_id, "user.id"},
        {ENTRY_F_project_id, "dss_audit.project_id"},
        {ENTRY_F_error, "error.message"},
        {ENTRY_F_session_id, "mcp.session.id"},
        {ENTRY_F_completes, "dss_audit.completes"},
        {ENTRY_F_cwd, "dss_audit.cwd"},
        {ENTRY_F_prev_hash, "dss_audit.prev_hash"},
        {ENTRY_F_hash, "dss_audit.hash"},
    }, json_fields[] = {
        {ENTRY_F_args, "dss_audit.args"},
        {ENTRY_F_result, "dss_audit.result"},
        {ENTRY_F_before_state, "dss_audit.before_state"},
        {ENTRY_F_after_state, "dss_audit.after_state"},
    };
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(e, "duration_ms");
    const char *event_type = str_member(e, "event_type");
    if (cJSON_IsNumber(seq) && attr_int(attrs, "dss_audit.seq", (int64_t)seq->valuedouble) != 0)
        return -1;
    for (size_t i = 0; i < sizeof text_fields / sizeof *text_fields; i++)
        if (attr_str(attrs, text_fields[i].attr,
                     str_member(e, entry_fields[text_fields[i].field].name)) != 0)
            return -1;
    /* A tool_call entry is one MCP tools/call: the GenAI execute_tool
    ** operation of the tool it names, answered to that JSON-RPC id. */
    if (event_type && strcmp(event_type, "tool_call") == 0 &&
        (attr_str(attrs, "mcp.method.name", "tools/call") != 0 ||
         attr_str(attrs, "gen_ai.operation.name", "execute_tool") != 0 ||
         attr_str(attrs, "gen_ai.tool.name", str_member(e, "operation_name")) != 0 ||
         attr_str(attrs, "jsonrpc.request.id", str_member(e, "operation_id")) != 0))
        return -1;
    for (size_t i = 0; i < sizeof json_fields / sizeof *json_fields; i++)
        if (attr_json(attrs, json_fields[i].attr,
                      cJSON_GetObjectItemCaseSensitive(e, entry_fields[json_fields[i].field].name)) != 0)
            return -1;
    if (attr_identity(attrs, "dss_audit.client", cJSON_GetObjectItemCaseSensitive(e, "client")) ||
        attr_identity(attrs, "dss_audit.server", cJSON_GetObjectItemCaseSensitive(e, "server")))
        return -1;
    if (cJSON_IsNumber(dur) &&
        attr_int(attrs, "dss_audit.duration_ms", (int64_t)dur->valuedouble) != 0)
        return -1;
    return 0;
}

cJSON *cli_otlp_record(const cJSON *entry, char *err, size_t errlen)
{
    const char *created = str_member(entry, "created_at");
    const char *id = str_member(entry, "id");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(entry, "error");
    int failed = error && !cJSON_IsNull(error);
    char why[200], nanos[32], *body = NULL;
    int64_t us = 0;
    cJSON *r = NULL, *b, *attrs;
    if (!created || ts_parse(created, 0, &us, why, sizeof why) != 0) {
        snprintf(err, errlen, "entry %s has no usable created_at", id ? id : "?");
        return NULL;
    }
    snprintf(nanos, sizeof nanos, "%lld000", (long long)us);
    if (!(body = cJSON_PrintUnformatted(entry)) || !(r = cJSON_CreateObject()) ||
        !cJSON_AddStringToObject(r, "timeUnixNano", nanos) ||
        !cJSON_AddStringToObject(r, "observedTimeUnixNano", nanos) ||
        !cJSON_AddNumberToObject(r, "severityNumber", failed ? SEVERITY_ERROR : SEVERITY_INFO) ||
        !cJSON_AddStringToObject(r, "severityText", failed ? "ERROR" : "INFO") ||
        !(b = cJSON_AddObjectToObject(r, "body")) ||
        !cJSON_AddStringToObject(b, "stringValue", body) ||
        !(attrs = cJSON_AddArrayToObject(r, "attributes")) || entry_attributes(attrs, entry) != 0) {
        snprintf(err, errlen, "out of memory");
        cJSON_Delete(r);
        r = NULL;
    }
    cJSON_free(body);
    return r;
}

int cli_otlp_open(FILE *out, const char *log_id)
{
    /* The head of one ExportLogsServiceRequest, up to its first record. */
    return fprintf(out,
                   "{\"resourceLogs\":[{\"resource\":{\"attributes\":["
                   "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"dss-audit-mcp\"}},"
                   "{\"key\":\"service.version\",\"value\":{\"stringValue\":\"%s\"}},"
                   "{\"key\":\"dss_audit.log_id\",\"value\":{\"stringValue\":\"%s\"}}]},"
                   "\"scopeLogs\":[{\"scope\":{\"name\":\"dss-audit-mcp\",\"version\":\"%s\"},"
                   "\"logRecords\":[",
                   DSS_VERSION, log_id ? log_id : "", DSS_VERSION) < 0
               ? -1
               : 0;
}

int cli_otlp_close(FILE *out)
{
    return fputs("]}]}]}\n", out) == EOF ? -1 : 0;
}
