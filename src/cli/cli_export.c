/*
** cli_export.c: export, the trail in JSON Lines, CSV, OCSF or OTLP.
**
** The store walks the matching rows in seq order and hands over one entry
** at a time; each is written and freed before the next is read, so an
** export of any size runs in constant memory.  An --output file (mode 0600:
** it holds audit data) is written beside its name and published under it,
** never replacing a file, with file and folder fsynced before success is
** reported (fs_newfile, fsutil.h); an export that fails half-way leaves
** nothing under the name.
**
** CSV follows RFC 4180.  OCSF events use the API Activity class (6003) of
** OCSF 1.1.0; the mapping is documented in the export help (cli_help.c)
** and in docs/export.md; OTLP records are built in cli_otlp.c.
*/
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/fsutil.h"
#include "../util/jbuf.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { SCAN_CACHE_KIB = 2048 };

/* ---- CSV ---------------------------------------------------------------- */

/* An entry's fields in their order (entry.h), one column each. */
#define X_CSV_COLUMN(name, type, nullable, hash_at, since, by) #name,
const char *const cli_csv_columns[] = {ENTRY_FIELDS(X_CSV_COLUMN)};
const int cli_csv_ncolumns = sizeof cli_csv_columns / sizeof *cli_csv_columns;

int cli_csv_field(FILE *out, const char *s)
{
    if (!s) return 0;
    /* An empty string is written "" so that it differs from null, which is
    ** an empty field. */
    if (!*s || strpbrk(s, ",\"\r\n")) {
        if (fputc('"', out) == EOF) return -1;
        for (const char *p = s; *p; p++) {
            if (*p == '"' && fputc('"', out) == EOF) return -1;
            if (fputc(*p, out) == EOF) return -1;
        }
        return fputc('"', out) == EOF ? -1 : 0;
    }
    return fputs(s, out) == EOF ? -1 : 0;
}

int cli_csv_header(FILE *out)
{
    for (int i = 0; i < cli_csv_ncolumns; i++)
        if ((i && fputc(',', out) == EOF) || cli_csv_field(out, cli_csv_columns[i]) != 0)
            return -1;
    return fputs("\r\n", out) == EOF ? -1 : 0;
}

/* One member of an entry as the text of its CSV field: strings as they
** are, JSON fields as their JSON text, numbers as integers, null as NULL.
** *tmp receives memory to free, if any. */
static const char *csv_text(const cJSON *v, char num[32], char **tmp)
{
    *tmp = NULL;
    if (!v || cJSON_IsNull(v)) return NULL;
    if (cJSON_IsString(v) || cJSON_IsRaw(v)) return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(num, 32, "%lld", (long long)v->valuedouble);
        return num;
    }
    return *tmp = cJSON_PrintUnformatted(v);
}

int cli_csv_row(FILE *out, const cJSON *entry)
{
    char num[32], *tmp;
    for (int i = 0; i < cli_csv_ncolumns; i++) {
        const char *s = csv_text(cJSON_GetObjectItemCaseSensitive(entry, cli_csv_columns[i]),
                                 num, &tmp);
        int bad = (i && fputc(',', out) == EOF) || cli_csv_field(out, s) != 0;
        cJSON_free(tmp);
        if (bad) return -1;
    }
    return fputs("\r\n", out) == EOF ? -1 : 0;
}

/* ---- OCSF --------------------------------------------------------------- */

static int is_one_of(const char *s, const char *const *list)
{
    for (; s && *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
}

int cli_ocsf_activity(const char *event_type, const char *operation_name)
{
    static const char *const create[] = {"credential_create", "project_create", NULL};
    static const char *const read[] = {"credential_access", NULL};
    static const char *const update[] = {"project_update", "component_sync", "token_sync",
                                         "state_transition", NULL};
    static const char *const del[] = {"credential_delete", "project_delete", NULL};
    static const char *const write_tools[] = {"log_operation", "create_checkpoint", NULL};
    static const char *const read_tools[] = {
        "get_operation_history", "get_audit_trail", "get_user_activity",
        "search_audit_log", "get_audit_entry", "verify_audit_log", NULL};
    if (event_type && strcmp(event_type, "tool_call") == 0) {
        if (is_one_of(operation_name, write_tools)) return 1;
        if (is_one_of(operation_name, read_tools)) return 2;
        return 99;
    }
    if (is_one_of(event_type, create)) return 1;
    if (is_one_of(event_type, read)) return 2;
    if (is_one_of(event_type, update)) return 3;
    if (is_one_of(event_type, del)) return 4;
    return 99;
}

static const char *activity_name(int id)
{
    switch (id) {
    case 1: return "Create";
    case 2: return "Read";
    case 3: return "Update";
    case 4: return "Delete";
    default: return "Other";
    }
}

static const char *member_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The client's name from the entry's client member (raw JSON text, as the
** store hands it over, or an object).  Returns a new string (caller
** frees) or NULL when there is none. */
static char *client_name(const cJSON *entry)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(entry, "client");
    cJSON *parsed = NULL;
    char *name = NULL;
    if (cJSON_IsRaw(c)) c = parsed = cJSON_Parse(c->valuestring);
    const char *n = member_str(c, "name");
    if (n) name = strdup(n);
    cJSON_Delete(parsed);
    return name;
}

/* Add a copy of entry[k] to o under k (a JSON null when missing). */
static int copy_member(cJSON *o, const cJSON *entry, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, k);
    cJSON *dup = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    if (!dup) return -1;
    if (!cJSON_AddItemToObject(o, k, dup)) {
        cJSON_Delete(dup);
        return -1;
    }
    return 0;
}

cJSON *cli_ocsf_event(const cJSON *entry, char *err, size_t errlen)
{
    static const char *const unmapped_keys[] = {
        "seq", "event_type", "project_id", "args", "result", "before_state",
        "after_state", "client", "created_at", "prev_hash", "hash", NULL};
    const char *id = member_str(entry, "id");
    const char *event_type = member_str(entry, "event_type");
    const char *operation = member_str(entry, "operation_name");
    const char *operation_id = member_str(entry, "operation_id");
    const char *user = member_str(entry, "user_id");
    const char *error = member_str(entry, "error");
    const char *created = member_str(entry, "created_at");
    char *client = client_name(entry), why[200], type_name[64];
    int64_t us = 0;
    cJSON *ev = NULL;
    if (!created || ts_parse(created, 0, &us, why, sizeof why) != 0) {
        snprintf(err, errlen, "entry %s has no usable created_at", id ? id : "?");
        goto fail;
    }
    int activity = cli_ocsf_activity(event_type, operation);
    snprintf(type_name, sizeof type_name, "API Activity: %s", activity_name(activity));
    cJSON *actor, *api, *src, *meta, *product, *unmapped;
    if (!(ev = cJSON_CreateObject()) ||
        !cJSON_AddNumberToObject(ev, "activity_id", activity) ||
        !cJSON_AddStringToObject(ev, "activity_name", activity_name(activity)) ||
        !cJSON_AddNumberToObject(ev, "category_uid", 6) ||
        !cJSON_AddStringToObject(ev, "category_name", "Application Activity") ||
        !cJSON_AddNumberToObject(ev, "class_uid", 6003) ||
        !cJSON_AddStringToObject(ev, "class_name", "API Activity") ||
        !cJSON_AddNumberToObject(ev, "type_uid", 6003 * 100 + activity) ||
        !cJSON_AddStringToObject(ev, "type_name", type_name) ||
        !cJSON_AddNumberToObject(ev, "severity_id", 1) ||
        !cJSON_AddStringToObject(ev, "severity", "Informational") ||
        !cJSON_AddNumberToObject(ev, "time", (double)(us / 1000)) ||
        !cJSON_AddNumberToObject(ev, "status_id", error ? 2 : 1) ||
        !cJSON_AddStringToObject(ev, "status", error ? "Failure" : "Success") ||
        (error && !cJSON_AddStringToObject(ev, "status_detail", error)) ||
        !(actor = cJSON_AddObjectToObject(ev, "actor")) ||
        (user && !cJSON_AddObjectToObject(actor, "user")) ||
        (user && !cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(actor, "user"),
                                          "name", user)) ||
        (client && !cJSON_AddStringToObject(actor, "app_name", client)) ||
        !(api = cJSON_AddObjectToObject(ev, "api")) ||
        (operation && !cJSON_AddStringToObject(api, "operation", operation)) ||
        (operation_id && !cJSON_AddObjectToObject(api, "request")) ||
        (operation_id && !cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(api, "request"),
                                                  "uid", operation_id)) ||
        !(src = cJSON_AddObjectToObject(ev, "src_endpoint")) ||
        !cJSON_AddStringToObject(src, "name", client ? client : "unknown") ||
        !(meta = cJSON_AddObjectToObject(ev, "metadata")) ||
        !cJSON_AddStringToObject(meta, "version", "1.1.0") ||
        !(product = cJSON_AddObjectToObject(meta, "product")) ||
        !cJSON_AddStringToObject(product, "name", "dss-audit-mcp") ||
        !cJSON_AddStringToObject(product, "vendor_name", "DSS") ||
        !cJSON_AddStringToObject(product, "version", DSS_VERSION) ||
        (id && !cJSON_AddStringToObject(meta, "uid", id)) ||
        !cJSON_AddStringToObject(meta, "original_time", created) ||
        !(unmapped = cJSON_AddObjectToObject(ev, "unmapped"))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (const char *const *k = unmapped_keys; *k; k++)
        if (copy_member(unmapped, entry, *k) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    free(client);
    return ev;
fail:
    free(client);
    cJSON_Delete(ev);
    return NULL;
}

/* ---- the export --------------------------------------------------------- */

typedef struct exporter {
    FILE *f;
    cli_format fmt;
    int failed;        /* a write failed: errno tells why */
    char err[CLI_ERRLEN];
    int64_t first, span;
    cli_progress progress;
    const char *log_id;  /* otlp: the resource's identity */
    int in_batch;        /* otlp: records on the open line */
    jbuf line;           /* the line being written */
} exporter;

/* See cli.h: the one mapping `export` and ship's sinks share. */
int cli_entry_json(cli_format fmt, const entry_row *row, struct jbuf *out, char *err,
                   size_t errlen)
{
    cJSON *e = NULL, *ev = NULL;
    if (fmt == CLI_FORMAT_JSONL) {
        entry_json(row, out);
    } else if (fmt == CLI_FORMAT_OTLP) {
        if (!(ev = cli_otlp_record(row, err, errlen))) return -1;
    } else if (!(e = entry_cjson(row))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    } else if (!(ev = cli_ocsf_event(e, err, errlen))) {
        cJSON_Delete(e);
        return -1;
    }
    if (ev) jbuf_tree(out, ev);
    cJSON_Delete(ev);
    cJSON_Delete(e);
    if (out->failed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* store_row_fn: write one entry in the chosen format. */
static int export_entry(void *ctx, const entry_row *row)
{
    exporter *x = ctx;
    if (x->fmt == CLI_FORMAT_CSV) {
        cJSON *e = entry_cjson(row);
        if (!e) {
            snprintf(x->err, sizeof x->err, "out of memory");
            return 1;
        }
        if (cli_csv_row(x->f, e) != 0) x->failed = 1;
        cJSON_Delete(e);
    } else {
        x->line.len = 0;
        if (cli_entry_json(x->fmt, row, &x->line, x->err, sizeof x->err) != 0) return 1;
        const char *line = x->line.p ? x->line.p : "";
        size_t n = x->line.len;
        if (x->fmt == CLI_FORMAT_OTLP) {
            /* Records join the open request line; every CLI_OTLP_BATCH of
            ** them closes it. */
            if ((x->in_batch ? fputc(',', x->f) == EOF : cli_otlp_open(x->f, x->log_id) != 0) ||
                fwrite(line, 1, n, x->f) != n ||
                (++x->in_batch == CLI_OTLP_BATCH && cli_otlp_close(x->f) != 0))
                x->failed = 1;
            if (x->in_batch == CLI_OTLP_BATCH) x->in_batch = 0;
        } else if (fwrite(line, 1, n, x->f) != n || fputc('\n', x->f) == EOF) {
            x->failed = 1;
        }
    }
    cli_progress_update(&x->progress, row->seq - x->first + 1, x->span);
    return x->failed;
}

int cli_export(store *st, const cli_args *a, FILE *out, char *err, size_t errlen)
{
    exporter x;
    char serr[STORE_ERRLEN];
    int rc = CLI_EFAIL;
    int64_t last;
    fs_newfile nf = {0};
    memset(&x, 0, sizeof x);
    x.f = out;
    x.fmt = a->fmt;
    if (a->output) {
        if (cli_output_open(&nf, a->output, "export", err, errlen) != CLI_OK) return CLI_EUSAGE;
        x.f = nf.f;
    }
    /* One pass in seq order: a small cache does as well as a big one. */
    if (store_set_cache_size(st, SCAN_CACHE_KIB, serr) != STORE_OK ||
        store_seq_range(st, &x.first, &last, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    x.span = last >= x.first && last > 0 ? last - x.first + 1 : 0;
    store_query q = cli_filter(a);
    store_scan scan = {.filter = &q};
    cli_progress_start(&x.progress, stderr, "exporting");
    if (x.fmt == CLI_FORMAT_CSV && cli_csv_header(x.f) != 0) x.failed = 1;
    x.log_id = store_log_id(st);
    int src = x.failed ? STORE_OK : store_match_rows(st, &scan, export_entry, &x, serr);
    jbuf_free(&x.line);
    if (src == STORE_OK && !x.failed && !x.err[0] && x.in_batch && cli_otlp_close(x.f) != 0)
        x.failed = 1;
    cli_progress_end(&x.progress);
    if (src != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (x.err[0]) {
        snprintf(err, errlen, "%s", x.err);
        goto done;
    }
    if (x.failed || fflush(x.f) != 0 || ferror(x.f)) {
        snprintf(err, errlen, "cannot write %s: %s", a->output ? a->output : "the output",
                 strerror(errno ? errno : EIO));
        goto done;
    }
    if (a->output && cli_output_publish(&nf, "export", err, errlen) != CLI_OK) goto done;
    rc = CLI_OK;
done:
    fs_newfile_discard(&nf); /* unless published: then it is empty */
    return rc;
}
