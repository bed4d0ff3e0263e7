/*
** test_cli.c: the building blocks of the commands for people (src/cli/)
** and the store functions they use.
**
** CSV quoting, the OCSF mapping, terminal sanitizing, tables, progress,
** option checking and the help texts are checked one behaviour per case,
** in process, writing into memory streams.  The store cases work on a
** database in a fresh folder under /tmp, removed at exit.  The commands
** themselves, run as the real binary, are tested in tests/cli/.
*/
#include "test.h"

#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../e2e/jpath.h"
#include "cli/cli.h"
#include "cli/cli_help.h"
#include "cli/cmd.h"
#include "store/store.h"
#include "store/store_testing.h"

/* ---- helpers ------------------------------------------------------------ */

/* A memory stream and its buffer; mem_text() flushes and returns the text. */
typedef struct mem {
    FILE *f;
    char *buf;
    size_t len;
} mem;

static int mem_open(mem *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f ? 0 : -1;
}

static const char *mem_text(mem *m)
{
    fflush(m->f);
    return m->buf ? m->buf : "";
}

static void mem_close(mem *m)
{
    if (m->f) fclose(m->f);
    free(m->buf);
    m->f = NULL;
    m->buf = NULL;
}

static const char *csv_of(mem *m, const char *s)
{
    if (mem_open(m) != 0 || cli_csv_field(m->f, s) != 0) return NULL;
    return mem_text(m);
}

static char tmp_dir[64];

static void cleanup_tmp(void)
{
    if (!tmp_dir[0]) return;
    DIR *d = opendir(tmp_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char p[512];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmp_dir);
    tmp_dir[0] = '\0';
}

/* A new store in a fresh folder, or NULL. */
static store *new_store(void)
{
    static int registered;
    char path[128], err[STORE_ERRLEN];
    store *s = NULL;
    cleanup_tmp();
    strcpy(tmp_dir, "/tmp/dss-test-cli-XXXXXX");
    if (!mkdtemp(tmp_dir)) return NULL;
    if (!registered) atexit(cleanup_tmp);
    registered = 1;
    snprintf(path, sizeof path, "%s/audit.db", tmp_dir);
    store_options o = {.path = path};
    if (store_open(&o, &s, err) != STORE_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return NULL;
    }
    return s;
}

static int append(store *s, const char *type, const char *op, const char *user,
                  const char *project, const char *error)
{
    char err[STORE_ERRLEN];
    store_record r = {.event_type = type, .operation_name = op, .user_id = user,
                      .project_id = project, .args = "{\"k\":[1,2]}", .error = error};
    store_receipt rc;
    if (store_begin(s, err) != STORE_OK) return -1;
    if (store_append(s, &r, &rc, err) != STORE_OK) {
        store_rollback(s);
        fprintf(stderr, "append: %s\n", err);
        return -1;
    }
    return store_commit(s, err) == STORE_OK ? 0 : -1;
}

/* A walk's seqs as "1,2,3". */
typedef struct seq_list {
    char text[512];
    size_t n;
} seq_list;

static int collect_seq(void *ctx, const cJSON *e)
{
    seq_list *l = ctx;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    int w = snprintf(l->text + l->n, sizeof l->text - l->n, "%s%lld", l->n ? "," : "",
                     cJSON_IsNumber(seq) ? (long long)seq->valuedouble : -1LL);
    if (w > 0) l->n += (size_t)w;
    return 0;
}

static const char *walk(store *s, const store_scan *scan)
{
    static seq_list l;
    char err[STORE_ERRLEN];
    memset(&l, 0, sizeof l);
    if (store_each_match(s, scan, collect_seq, &l, err) != STORE_OK) {
        fprintf(stderr, "store_each_match: %s\n", err);
        return "(failed)";
    }
    return l.text;
}

/* An entry as the store hands it over: JSON fields as raw JSON text. */
static cJSON *entry(const char *type, const char *op, const char *user,
                    const char *error, const char *client)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "seq", 7);
    cJSON_AddStringToObject(e, "id", "52240057-5c4f-4477-bee5-f60246a3afff");
    cJSON_AddStringToObject(e, "event_type", type);
    cJSON_AddStringToObject(e, "operation_name", op);
    cJSON_AddStringToObject(e, "operation_id", "42");
    if (user) cJSON_AddStringToObject(e, "user_id", user);
    else cJSON_AddNullToObject(e, "user_id");
    cJSON_AddStringToObject(e, "project_id", "proj-1");
    cJSON_AddRawToObject(e, "args", "{\"a\":1.5,\"b\":\"x,y\"}");
    cJSON_AddNullToObject(e, "result");
    if (error) cJSON_AddStringToObject(e, "error", error);
    else cJSON_AddNullToObject(e, "error");
    cJSON_AddNullToObject(e, "before_state");
    cJSON_AddRawToObject(e, "after_state", "{\"name\":\"Atlas\"}");
    cJSON_AddStringToObject(e, "created_at", "2026-11-27T22:26:57.750972Z");
    if (client) cJSON_AddRawToObject(e, "client", client);
    else cJSON_AddNullToObject(e, "client");
    cJSON_AddStringToObject(e, "prev_hash", "00ff");
    cJSON_AddStringToObject(e, "hash", "ab12");
    return e;
}

/* jget, jstr and jnum come from tests/e2e/jpath.h. */

/* ---- CSV (RFC 4180) ----------------------------------------------------- */

TEST(csv_plain_field_is_not_quoted)
{
    mem m;
    ASSERT_EQ_STR(csv_of(&m, "rename_project"), "rename_project");
    mem_close(&m);
}

TEST(csv_field_with_comma_is_quoted)
{
    mem m;
    ASSERT_EQ_STR(csv_of(&m, "a,b"), "\"a,b\"");
    mem_close(&m);
}

TEST(csv_field_with_quote_doubles_it)
{
    mem m;
    ASSERT_EQ_STR(csv_of(&m, "say \"hi\""), "\"say \"\"hi\"\"\"");
    mem_close(&m);
}

TEST(csv_field_with_cr_or_lf_is_quoted)
{
    mem m;
    ASSERT_EQ_STR(csv_of(&m, "line1\nline2"), "\"line1\nline2\"");
    mem_close(&m);
    ASSERT_EQ_STR(csv_of(&m, "a\rb"), "\"a\rb\"");
    mem_close(&m);
    ASSERT_EQ_STR(csv_of(&m, "a\r\nb"), "\"a\r\nb\"");
    mem_close(&m);
}

TEST(csv_empty_string_differs_from_null)
{
    mem m;
    ASSERT_EQ_STR(csv_of(&m, ""), "\"\"");
    mem_close(&m);
    ASSERT_EQ_STR(csv_of(&m, NULL), "");
    mem_close(&m);
}

TEST(csv_header_names_every_column_and_ends_with_crlf)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    ASSERT(cli_csv_header(m.f) == 0);
    ASSERT_EQ_STR(mem_text(&m),
                  "seq,id,event_type,operation_name,operation_id,user_id,project_id,"
                  "args,result,error,before_state,after_state,created_at,client,"
                  "prev_hash,hash,server,session_id,duration_ms,completes,cwd\r\n");
    mem_close(&m);
}

TEST(csv_row_writes_json_fields_as_json_text)
{
    mem m;
    cJSON *e = entry("project_update", "rename, \"x\"", "alice", "bad\nthing", NULL);
    ASSERT(mem_open(&m) == 0);
    ASSERT(cli_csv_row(m.f, e) == 0);
    ASSERT_EQ_STR(mem_text(&m),
                  "7,52240057-5c4f-4477-bee5-f60246a3afff,project_update,"
                  "\"rename, \"\"x\"\"\",42,alice,proj-1,"
                  "\"{\"\"a\"\":1.5,\"\"b\"\":\"\"x,y\"\"}\",,\"bad\nthing\",,"
                  "\"{\"\"name\"\":\"\"Atlas\"\"}\",2026-11-27T22:26:57.750972Z,,"
                  "00ff,ab12,,,,,\r\n");
    mem_close(&m);
    cJSON_Delete(e);
}

/* ---- OCSF ---------------------------------------------------------------- */

TEST(ocsf_activity_mapping)
{
    ASSERT_EQ_INT(cli_ocsf_activity("credential_create", "x"), 1);
    ASSERT_EQ_INT(cli_ocsf_activity("project_create", "x"), 1);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "log_operation"), 1);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "create_checkpoint"), 1);
    ASSERT_EQ_INT(cli_ocsf_activity("credential_access", "x"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "get_operation_history"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "get_audit_trail"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "get_user_activity"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "search_audit_log"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "get_audit_entry"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "verify_audit_log"), 2);
    ASSERT_EQ_INT(cli_ocsf_activity("project_update", "x"), 3);
    ASSERT_EQ_INT(cli_ocsf_activity("component_sync", "x"), 3);
    ASSERT_EQ_INT(cli_ocsf_activity("token_sync", "x"), 3);
    ASSERT_EQ_INT(cli_ocsf_activity("state_transition", "x"), 3);
    ASSERT_EQ_INT(cli_ocsf_activity("credential_delete", "x"), 4);
    ASSERT_EQ_INT(cli_ocsf_activity("project_delete", "x"), 4);
    ASSERT_EQ_INT(cli_ocsf_activity("error", "x"), 99);
    ASSERT_EQ_INT(cli_ocsf_activity("security_event", "x"), 99);
    ASSERT_EQ_INT(cli_ocsf_activity("tool_call", "no_such_tool"), 99);
    ASSERT_EQ_INT(cli_ocsf_activity(NULL, NULL), 99);
}

TEST(ocsf_event_has_api_activity_fields)
{
    char err[200];
    cJSON *e = entry("project_delete", "drop_project", "alice", NULL,
                     "{\"name\":\"claude-code\",\"version\":\"2.1.0\"}");
    cJSON *made = cli_ocsf_event(e, err, sizeof err);
    ASSERT(made);
    /* As written: JSON fields are spliced in raw, so read the text back. */
    char *text = cJSON_PrintUnformatted(made);
    cJSON_Delete(made);
    cJSON *ev = cJSON_Parse(text);
    cJSON_free(text);
    ASSERT(ev);
    ASSERT_EQ_INT(jnum(ev, "class_uid"), 6003);
    ASSERT_EQ_INT(jnum(ev, "category_uid"), 6);
    ASSERT_EQ_INT(jnum(ev, "activity_id"), 4);
    ASSERT_EQ_STR(jstr(ev, "activity_name"), "Delete");
    ASSERT_EQ_INT(jnum(ev, "type_uid"), 600304);
    ASSERT_EQ_INT(jnum(ev, "severity_id"), 1);
    /* 2026-11-27T22:26:57.750972Z in epoch milliseconds */
    ASSERT(jnum(ev, "time") == 1795818417750.0);
    ASSERT_EQ_STR(jstr(ev, "actor.user.name"), "alice");
    ASSERT_EQ_STR(jstr(ev, "actor.app_name"), "claude-code");
    ASSERT_EQ_STR(jstr(ev, "src_endpoint.name"), "claude-code");
    ASSERT_EQ_STR(jstr(ev, "api.operation"), "drop_project");
    ASSERT_EQ_STR(jstr(ev, "api.request.uid"), "42");
    ASSERT_EQ_INT(jnum(ev, "status_id"), 1);
    ASSERT_EQ_STR(jstr(ev, "status"), "Success");
    ASSERT(!jget(ev, "status_detail"));
    ASSERT_EQ_STR(jstr(ev, "metadata.version"), "1.1.0");
    ASSERT_EQ_STR(jstr(ev, "metadata.product.name"), "dss-audit-mcp");
    ASSERT_EQ_STR(jstr(ev, "metadata.product.vendor_name"), "DSS");
    ASSERT_EQ_STR(jstr(ev, "metadata.uid"), "52240057-5c4f-4477-bee5-f60246a3afff");
    ASSERT_EQ_STR(jstr(ev, "unmapped.project_id"), "proj-1");
    ASSERT_EQ_STR(jstr(ev, "unmapped.event_type"), "project_delete");
    ASSERT_EQ_INT(jnum(ev, "unmapped.seq"), 7);
    ASSERT(jnum(ev, "unmapped.args.a") == 1.5);
    ASSERT_EQ_STR(jstr(ev, "unmapped.after_state.name"), "Atlas");
    ASSERT_EQ_STR(jstr(ev, "unmapped.client.version"), "2.1.0");
    ASSERT(cJSON_IsNull(jget(ev, "unmapped.result")));
    ASSERT_EQ_STR(jstr(ev, "unmapped.hash"), "ab12");
    cJSON_Delete(ev);
    cJSON_Delete(e);
}

TEST(ocsf_event_failure_has_status_detail)
{
    char err[200];
    cJSON *e = entry("error", "sync_tokens", "bob", "upstream timed out", NULL);
    cJSON *ev = cli_ocsf_event(e, err, sizeof err);
    ASSERT(ev);
    ASSERT_EQ_INT(jnum(ev, "status_id"), 2);
    ASSERT_EQ_STR(jstr(ev, "status"), "Failure");
    ASSERT_EQ_STR(jstr(ev, "status_detail"), "upstream timed out");
    ASSERT_EQ_INT(jnum(ev, "activity_id"), 99);
    ASSERT_EQ_INT(jnum(ev, "type_uid"), 600399);
    cJSON_Delete(ev);
    cJSON_Delete(e);
}

TEST(ocsf_event_without_user_or_client)
{
    char err[200];
    cJSON *e = entry("security_event", "probe", NULL, NULL, NULL);
    cJSON *ev = cli_ocsf_event(e, err, sizeof err);
    ASSERT(ev);
    ASSERT(cJSON_IsObject(jget(ev, "actor")));
    ASSERT(!jget(ev, "actor.user"));
    ASSERT(!jget(ev, "actor.app_name"));
    ASSERT_EQ_STR(jstr(ev, "src_endpoint.name"), "unknown");
    cJSON_Delete(ev);
    cJSON_Delete(e);
}

/* ---- terminal safety, tables, progress -------------------------------- */

TEST(sanitize_replaces_control_characters)
{
    char out[64];
    cli_sanitize("a\x1b[31mred\n\tz\x7f", out, sizeof out);
    ASSERT_EQ_STR(out, "a?[31mred??z?");
    cli_sanitize("c1:\xc2\x9b", out, sizeof out); /* U+009B, the 8-bit CSI */
    ASSERT_EQ_STR(out, "c1:?");
}

TEST(sanitize_replaces_bidi_overrides_and_bad_utf8)
{
    char out[64];
    cli_sanitize("ab\xe2\x80\xae" "cd", out, sizeof out); /* U+202E RLO */
    ASSERT_EQ_STR(out, "ab?cd");
    cli_sanitize("x\xff\xc3", out, sizeof out);
    ASSERT_EQ_STR(out, "x??");
}

TEST(sanitize_keeps_utf8_text)
{
    char out[64];
    cli_sanitize("Zoë → 東京", out, sizeof out);
    ASSERT_EQ_STR(out, "Zoë → 東京");
    cli_sanitize(NULL, out, sizeof out);
    ASSERT_EQ_STR(out, "");
}

static const cli_col test_cols[] = {{"NAME", 2, 10, 0}, {"N", 1, 6, 1}, {"NOTE", 4, 0, 0}};

TEST(table_aligns_columns_to_widest_cell)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    cli_table *t = cli_table_new(m.f, test_cols, 3, 0);
    ASSERT(t);
    const char *r1[] = {"alice", "7", "first"};
    const char *r2[] = {"bo", "1234", NULL};
    ASSERT(cli_table_add(t, r1) == 0);
    ASSERT(cli_table_add(t, r2) == 0);
    ASSERT(cli_table_flush(t) == 0);
    cli_table_free(t);
    ASSERT_EQ_STR(mem_text(&m),
                  "NAME      N  NOTE\n"
                  "alice     7  first\n"
                  "bo     1234  -\n");
    mem_close(&m);
}

TEST(table_cuts_long_cells_with_tilde)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    cli_table *t = cli_table_new(m.f, test_cols, 3, 30);
    ASSERT(t);
    const char *r1[] = {"a-very-long-user-name", "1",
                        "a note that is much longer than the line allows"};
    ASSERT(cli_table_add(t, r1) == 0);
    ASSERT(cli_table_flush(t) == 0);
    cli_table_free(t);
    /* NAME is cut to its max 10, NOTE to what is left of 30 columns. */
    ASSERT_EQ_STR(mem_text(&m),
                  "NAME        N  NOTE\n"
                  "a-very-lo~  1  a note that i~\n");
    mem_close(&m);
}

TEST(table_shows_control_characters_as_question_marks)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    cli_table *t = cli_table_new(m.f, test_cols, 3, 0);
    ASSERT(t);
    const char *r1[] = {"x\x1b]0;pwned\x07", "1", "ok\r\n"};
    ASSERT(cli_table_add(t, r1) == 0);
    ASSERT(cli_table_flush(t) == 0);
    cli_table_free(t);
    ASSERT(!strchr(mem_text(&m), '\x1b'));
    ASSERT(!strchr(mem_text(&m), '\r'));
    ASSERT_CONTAINS(mem_text(&m), "x?]0;pwne~  1  ok??\n");
    mem_close(&m);
}

TEST(table_streams_rows_beyond_its_buffer)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    cli_table *t = cli_table_new(m.f, test_cols, 3, 0);
    ASSERT(t);
    for (int i = 0; i < 2500; i++) {
        char n[16];
        snprintf(n, sizeof n, "%d", i);
        const char *r[] = {"u", n, "x"};
        ASSERT(cli_table_add(t, r) == 0);
    }
    ASSERT(cli_table_flush(t) == 0);
    cli_table_free(t);
    const char *text = mem_text(&m);
    size_t lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    ASSERT_EQ_INT(lines, 2501);
    ASSERT(strncmp(text, "NAME", 4) == 0);
    ASSERT(!strstr(text + 4, "NAME")); /* one header */
    mem_close(&m);
}

TEST(progress_draws_nothing_off_a_terminal)
{
    mem m;
    cli_progress p;
    ASSERT(mem_open(&m) == 0);
    cli_progress_start(&p, m.f, "working");
    p.start_ms -= 10000;
    cli_progress_update(&p, 5, 10);
    cli_progress_end(&p);
    ASSERT_EQ_STR(mem_text(&m), "");
    mem_close(&m);
}

TEST(progress_draws_a_bar_on_a_terminal)
{
    mem m;
    cli_progress p;
    ASSERT(mem_open(&m) == 0);
    cli_progress_start(&p, m.f, "working");
    p.on = 1;              /* as if m.f were a terminal */
    p.start_ms -= 10000;   /* and the work had run for a while */
    cli_progress_update(&p, 5, 10);
    ASSERT_CONTAINS(mem_text(&m), "\rworking [###############...............]  50%  5/10");
    cli_progress_end(&p);
    ASSERT_CONTAINS(mem_text(&m), "\r\033[K");
    mem_close(&m);
}

TEST(progress_waits_before_drawing_short_work)
{
    mem m;
    cli_progress p;
    ASSERT(mem_open(&m) == 0);
    cli_progress_start(&p, m.f, "working");
    p.on = 1;
    cli_progress_update(&p, 10, 10);
    cli_progress_end(&p);
    ASSERT_EQ_STR(mem_text(&m), "");
    mem_close(&m);
}

/* ---- option checking ---------------------------------------------------- */

TEST(check_defaults)
{
    char err[CLI_ERRLEN];
    cli_args a = {0};
    ASSERT_EQ_INT(cli_check("tail", &a, err, sizeof err), CLI_OK);
    ASSERT_EQ_INT(a.count, 10);
    cli_args b = {0};
    ASSERT_EQ_INT(cli_check("query", &b, err, sizeof err), CLI_OK);
    ASSERT_EQ_INT(b.count, 100);
    ASSERT_EQ_STR(b.since_ts, "");
}

TEST(check_rejects_options_of_other_commands)
{
    char err[CLI_ERRLEN];
    cli_args a = {.format = "csv"};
    ASSERT_EQ_INT(cli_check("tail", &a, err, sizeof err), CLI_EUSAGE);
    ASSERT_CONTAINS(err, "--format");
    cli_args b = {.follow = 1};
    ASSERT_EQ_INT(cli_check("query", &b, err, sizeof err), CLI_EUSAGE);
    cli_args c = {.search = "x", .format = "csv"};
    ASSERT_EQ_INT(cli_check("export", &c, err, sizeof err), CLI_EUSAGE);
    ASSERT_CONTAINS(err, "--search");
    cli_args d = {.user = "alice"};
    ASSERT_EQ_INT(cli_check("stats", &d, err, sizeof err), CLI_EUSAGE);
}

TEST(check_until_date_is_inclusive_end_of_day)
{
    char err[CLI_ERRLEN];
    cli_args a = {.since = "2026-01-02", .until = "2026-01-02"};
    ASSERT_EQ_INT(cli_check("query", &a, err, sizeof err), CLI_OK);
    ASSERT_EQ_STR(a.since_ts, "2026-01-02T00:00:00.000000Z");
    ASSERT_EQ_STR(a.until_ts, "2026-01-02T23:59:59.999999Z");
    cli_args b = {.since = "2026-01-02T10:00:00+02:00"};
    ASSERT_EQ_INT(cli_check("query", &b, err, sizeof err), CLI_OK);
    ASSERT_EQ_STR(b.since_ts, "2026-01-02T08:00:00.000000Z");
}

TEST(check_rejects_bad_dates_and_reversed_ranges)
{
    char err[CLI_ERRLEN];
    cli_args a = {.since = "yesterday"};
    ASSERT_EQ_INT(cli_check("query", &a, err, sizeof err), CLI_EUSAGE);
    ASSERT_CONTAINS(err, "--since");
    cli_args b = {.since = "2026-02-01", .until = "2026-01-31"};
    ASSERT_EQ_INT(cli_check("export", &b, err, sizeof err), CLI_EUSAGE);
}

TEST(check_event_type_comes_from_the_schema)
{
    char err[CLI_ERRLEN];
    cli_args a = {.event_type = "security_event"};
    ASSERT_EQ_INT(cli_check("query", &a, err, sizeof err), CLI_OK);
    cli_args b = {.event_type = "security-event"};
    ASSERT_EQ_INT(cli_check("query", &b, err, sizeof err), CLI_EUSAGE);
    ASSERT_CONTAINS(err, "credential_access");
}

TEST(check_export_needs_a_known_format)
{
    char err[CLI_ERRLEN];
    cli_args a = {0};
    ASSERT_EQ_INT(cli_check("export", &a, err, sizeof err), CLI_EUSAGE);
    cli_args b = {.format = "xml"};
    ASSERT_EQ_INT(cli_check("export", &b, err, sizeof err), CLI_EUSAGE);
    cli_args c = {.format = "ocsf"};
    ASSERT_EQ_INT(cli_check("export", &c, err, sizeof err), CLI_OK);
    ASSERT_EQ_INT(c.fmt, CLI_FORMAT_OCSF);
}

TEST(check_rejects_bad_counts)
{
    char err[CLI_ERRLEN];
    cli_args a = {.lines = "-1"};
    ASSERT_EQ_INT(cli_check("tail", &a, err, sizeof err), CLI_EUSAGE);
    cli_args b = {.limit = "0"};
    ASSERT_EQ_INT(cli_check("query", &b, err, sizeof err), CLI_EUSAGE);
    cli_args c = {.limit = "12abc"};
    ASSERT_EQ_INT(cli_check("query", &c, err, sizeof err), CLI_EUSAGE);
    cli_args d = {.lines = "0"};
    ASSERT_EQ_INT(cli_check("tail", &d, err, sizeof err), CLI_OK);
    ASSERT_EQ_INT(d.count, 0);
}

/* ---- help texts --------------------------------------------------------- */

static const char *const all_commands[] = {
    "serve", "tail", "query", "stats", "export", "verify", "checkpoint",
    "public-key", "prune", NULL};

TEST(help_has_a_page_for_every_command)
{
    for (const char *const *c = all_commands; *c; c++) {
        mem m;
        char want[64];
        ASSERT(cli_help_has(*c));
        ASSERT(mem_open(&m) == 0);
        ASSERT(cli_help_print(m.f, *c, NULL) == 0);
        snprintf(want, sizeof want, "Usage: dss-audit-mcp %s%s",
                 strcmp(*c, "serve") ? "" : "[", *c);
        ASSERT(strncmp(mem_text(&m), want, strlen(want)) == 0);
        mem_close(&m);
    }
    ASSERT(!cli_help_has("nope"));
    /* The files that are not pages are no commands. */
    ASSERT(!cli_help_has("_shared"));
    ASSERT(!cli_help_has("dss-audit-mcp"));
}

TEST(help_program_page_lists_every_command)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    ASSERT(cli_help_print(m.f, NULL, NULL) == 0);
    for (const char *const *c = all_commands; *c; c++) {
        char row[64];
        snprintf(row, sizeof row, "\n  %s ", *c);
        ASSERT_CONTAINS(mem_text(&m), row);
    }
    mem_close(&m);
}

/* The program's page lists the commands it is given, in that order, each
** with the summary line of its page. */
TEST(help_program_page_lists_the_commands_given)
{
    static const char *const two[] = {"verify", "tail", NULL};
    mem m;
    ASSERT(mem_open(&m) == 0);
    ASSERT(cli_help_print(m.f, NULL, two) == 0);
    const char *t = mem_text(&m), *v = strstr(t, "\n  verify "), *l = strstr(t, "\n  tail ");
    ASSERT(v && l && v < l);
    ASSERT(!strstr(t, "\n  query "));
    ASSERT_CONTAINS(t, "check the hash chain, the Merkle tree and every");
    mem_close(&m);
}

TEST(help_lines_fit_79_columns)
{
    for (size_t i = 0;; i++) {
        const char *name = i ? cli_help_command(i - 1) : NULL;
        if (i && !name) break;
        mem m;
        ASSERT(mem_open(&m) == 0);
        ASSERT(cli_help_print(m.f, name, NULL) == 0);
        const char *p = mem_text(&m);
        while (*p) {
            size_t n = strcspn(p, "\n");
            if (n > 79) TEST_FAIL_("a help line of %zu columns: %.*s", n, (int)n, p);
            p += n + (p[n] == '\n');
        }
        mem_close(&m);
    }
}

typedef struct terms {
    char v[64][64];
    int n;
} terms;

static void add_term(void *ctx, const char *term, size_t len)
{
    terms *t = ctx;
    if (t->n < 64 && len < sizeof t->v[0]) {
        memcpy(t->v[t->n], term, len);
        t->v[t->n++][len] = '\0';
    }
}

/* Snippets are expanded in place: tail's page has the shared rows --db
** (the read-only one) and -h, --help among its own. */
TEST(help_terms_include_snippets)
{
    terms t = {.n = 0};
    ASSERT_EQ_INT(cli_help_terms("tail", add_term, &t), 0);
    ASSERT(t.n >= 5);
    ASSERT_EQ_STR(t.v[0], "-n, --lines N");
    int db = 0, help = 0;
    for (int i = 0; i < t.n; i++) {
        db += strcmp(t.v[i], "--db PATH") == 0;
        help += strcmp(t.v[i], "-h, --help") == 0;
    }
    ASSERT_EQ_INT(db, 1);
    ASSERT_EQ_INT(help, 1);
    ASSERT_EQ_INT(cli_help_terms("nope", add_term, &t), -1);
}

TEST(help_roff_has_every_command_and_option)
{
    mem m;
    ASSERT(mem_open(&m) == 0);
    ASSERT(cli_help_roff(m.f, "9.9.9") == 0);
    const char *roff = mem_text(&m);
    ASSERT(strncmp(roff, ".\\\"", 3) == 0);
    ASSERT_CONTAINS(roff, ".TH DSS\\-AUDIT\\-MCP 1");
    ASSERT_CONTAINS(roff, "9.9.9");
    for (const char *const *c = all_commands; *c; c++) {
        char ss[64];
        snprintf(ss, sizeof ss, "\n.SS %s\n", *c);
        ASSERT_CONTAINS(roff, ss);
    }
    /* Every option of every page, with its hyphens as roff minus signs. */
    for (size_t i = 0;; i++) {
        const char *name = i ? cli_help_command(i - 1) : NULL;
        if (i && !name) break;
        terms t = {.n = 0};
        ASSERT_EQ_INT(cli_help_terms(name, add_term, &t), 0);
        for (int k = 0; k < t.n; k++) {
            char want[128];
            size_t w = 0;
            for (const char *p = t.v[k]; *p && w < sizeof want - 3; p++) {
                if (*p == '-') want[w++] = '\\';
                want[w++] = *p;
            }
            want[w] = '\0';
            if (t.v[k][0] == '-') ASSERT_CONTAINS(roff, want);
        }
    }
    ASSERT(!strstr(roff, "\n.\n"));
    mem_close(&m);
}

/* ---- the command line parser (cmd.c) ------------------------------------ */

/* A table of real commands, as main.c's, for cmd_parse(). */
static const cmd_def table[] = {
    {"serve", &cmd_serve, 0}, {"tail", &cmd_tail, 0},     {"query", &cmd_query, 0},
    {"verify", &cmd_verify, 0}, {"wrap", &cmd_wrap, 0},   {"hooks", &cmd_hooks, 0},
    {"ship", &cmd_ship, 0},
};
enum { N_TABLE = sizeof table / sizeof *table };

static const cmd_env no_env = {.home = "/home/t"};

/* Parse argv (NULL-ended) for the command of that name in table. */
static int parse(const char *command, const cmd_env *env, char **argv, cmd_ctx *cx, char *err)
{
    const cmd_def *d = table;
    while (d < table + N_TABLE && strcmp(d->name, command)) d++;
    int argc = 0;
    while (argv[argc]) argc++;
    err[0] = '\0';
    return cmd_parse(table, N_TABLE, d, d->name, argc, argv, env, cx, err, CMD_ERRLEN);
}

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})

TEST(parse_fills_the_commands_options)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "-n", "5", "--follow", "--db", "x.db"),
                        &cx, err), CMD_OK);
    const cli_args *a = cx.opts;
    ASSERT_EQ_STR(a->lines, "5");
    ASSERT_EQ_INT(a->count, 5);
    ASSERT_EQ_INT(a->follow, 1);
    ASSERT_EQ_STR(cx.common.db, "x.db");
    ASSERT_EQ_INT(cx.n_operands, 0);
    cmd_free(&cx);
}

TEST(parse_refuses_an_unknown_option_naming_it)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "--frobnicate"), &cx, err), CMD_EUSAGE);
    ASSERT_CONTAINS(err, "--frobnicate");
    ASSERT_CONTAINS(err, "'tail'");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "-Z"), &cx, err), CMD_EUSAGE);
    ASSERT_CONTAINS(err, "-Z");
    cmd_free(&cx);
}

/* An option another command takes is named as such, long or short, and
** whether its value is attached or not. */
TEST(parse_refuses_an_option_of_another_command)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "--search", "x"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --search does not apply to 'tail'");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("query", &no_env, ARGV("query", "-f"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option -f does not apply to 'query'");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("verify", &no_env, ARGV("verify", "--to=postgres://h/d"), &cx, err),
                  CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --to does not apply to 'verify'");
    cmd_free(&cx);
    /* A shared option of a command that does not take it. */
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "--actor", "bob"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --actor does not apply to 'tail'");
    cmd_free(&cx);
}

/* getopt_long takes unambiguous abbreviations, but not one that spells
** another command's option out: verify's --checkpoint is not serve's
** --checkpoint-interval. */
TEST(parse_refuses_an_abbreviation_that_is_another_commands_option)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("serve", &no_env, ARGV("serve", "--checkpoint", "7"), &cx, err),
                  CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --checkpoint does not apply to 'serve'");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("serve", &no_env, ARGV("serve", "--checkpoint-int=7"), &cx, err),
                  CMD_OK);
    ASSERT_EQ_INT(cx.common.checkpoint_interval, 7);
    cmd_free(&cx);
}

TEST(parse_names_an_option_missing_its_value)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("query", &no_env, ARGV("query", "--user"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --user needs a value");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "-n"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option -n/--lines needs a value");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "--db"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --db needs a value");
    cmd_free(&cx);
}

TEST(parse_refuses_a_value_for_a_flag)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("tail", &no_env, ARGV("tail", "--json=yes"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "option --json takes no value");
    cmd_free(&cx);
}

TEST(parse_refuses_operands_where_none_belong)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("query", &no_env, ARGV("query", "alice"), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "unexpected argument 'alice'");
    cmd_free(&cx);
    /* hooks takes one, wherever it stands among the options.  (cx points
    ** into argv: it must outlive the assertion.) */
    char **argv = ARGV("hooks", "--client", "cursor", "install");
    ASSERT_EQ_INT(parse("hooks", &no_env, argv, &cx, err), CMD_OK);
    ASSERT_EQ_INT(cx.n_operands, 1);
    ASSERT_EQ_STR(cx.operands[0], "install");
    cmd_free(&cx);
}

/* wrap's options end at the server's command: what follows is the
** server's, even when it looks like one of wrap's options. */
TEST(parse_wrap_hands_the_server_its_own_options)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    char **argv = ARGV("wrap", "--name", "fs", "server", "--name", "--db", "-h");
    ASSERT_EQ_INT(parse("wrap", &no_env, argv, &cx, err), CMD_OK);
    ASSERT_EQ_INT(cx.n_operands, 4);
    ASSERT_EQ_STR(cx.operands[0], "server");
    ASSERT_EQ_STR(cx.operands[3], "-h");
    ASSERT(cx.operands[4] == NULL);
    cmd_free(&cx);
}

/* Flags, then the environment (an empty variable counts as unset), then
** the defaults. */
TEST(parse_resolves_flags_then_environment_then_defaults)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    cmd_env env = {.db = "env.db", .actor = "", .max_depth = "9", .xdg_data_home = "/data",
                   .xdg_config_home = "relative", .home = "/home/t"};
    ASSERT_EQ_INT(parse("serve", &env, ARGV("serve", "--max-depth", "12"), &cx, err), CMD_OK);
    ASSERT_EQ_STR(cx.common.db, "env.db");
    ASSERT_EQ_INT(cx.common.max_depth, 12);
    ASSERT_EQ_INT(cx.common.actor_given, 0);
    ASSERT(cx.common.actor && *cx.common.actor);
    ASSERT_EQ_INT(cx.common.max_message_bytes, 4 << 20);
    ASSERT_EQ_INT(cx.common.checkpoint_interval, 1000);
    /* XDG_CONFIG_HOME must be absolute to count (the XDG spec). */
    ASSERT_EQ_STR(cx.common.key, "/home/t/.config/dss-audit/signing.key");
    cmd_free(&cx);
    env.db = NULL;
    ASSERT_EQ_INT(parse("serve", &env, ARGV("serve"), &cx, err), CMD_OK);
    ASSERT_EQ_STR(cx.common.db, "/data/dss-audit/audit.db");
    ASSERT_EQ_INT(cx.common.max_depth, 9);
    cmd_free(&cx);
}

TEST(parse_checks_shared_values)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    ASSERT_EQ_INT(parse("serve", &no_env, ARGV("serve", "--max-depth", "1"), &cx, err),
                  CMD_EUSAGE);
    ASSERT_CONTAINS(err, "--max-depth");
    cmd_free(&cx);
    cmd_env env = {.max_message_bytes = "lots"};
    ASSERT_EQ_INT(parse("serve", &env, ARGV("serve"), &cx, err), CMD_EUSAGE);
    ASSERT_CONTAINS(err, "--max-message-bytes");
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("serve", &no_env, ARGV("serve", "--db="), &cx, err), CMD_EUSAGE);
    ASSERT_EQ_STR(err, "the database path is empty");
    cmd_free(&cx);
}

/* --log on the command line selects a log for verify; DSS_AUDIT_LOG only
** names the log (of the writers) and selects nothing. */
TEST(parse_tells_log_given_from_log_of_the_environment)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    cmd_env env = {.log = "from-env", .home = "/h"};
    ASSERT_EQ_INT(parse("verify", &env, ARGV("verify"), &cx, err), CMD_OK);
    ASSERT_EQ_STR(cx.common.log, "from-env");
    ASSERT_EQ_INT(cx.common.log_given, 0);
    cmd_free(&cx);
    ASSERT_EQ_INT(parse("verify", &env, ARGV("verify", "--log", "mine"), &cx, err), CMD_OK);
    ASSERT_EQ_STR(cx.common.log, "mine");
    ASSERT_EQ_INT(cx.common.log_given, 1);
    cmd_free(&cx);
    /* The reading commands filter by either. */
    ASSERT_EQ_INT(parse("query", &env, ARGV("query"), &cx, err), CMD_OK);
    ASSERT_EQ_STR(((const cli_args *)cx.opts)->log, "from-env");
    cmd_free(&cx);
}

/* A PostgreSQL password given on the command line is wiped from argv
** (so `ps` never shows it) after it is copied. */
TEST(parse_wipes_passwords_from_argv)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    char db[] = "postgresql://u:hunter2@h/d", to[] = "--to=postgresql://u:swordfish@h/c";
    ASSERT_EQ_INT(parse("ship", &no_env, ARGV("ship", "--db", db, to), &cx, err), CMD_OK);
    ASSERT(!strstr(db, "hunter2"));
    ASSERT(!strstr(to, "swordfish"));
    ASSERT_CONTAINS(cx.common.db, "hunter2");
    cmd_free(&cx);
}

/* --help and --version stop the parse with CMD_EXIT, before any value is
** checked. */
TEST(parse_help_wins_over_bad_values_after_it)
{
    cmd_ctx cx;
    char err[CMD_ERRLEN];
    FILE *saved = stdout;
    mem m;
    ASSERT(mem_open(&m) == 0);
    stdout = m.f;
    int rc = parse("tail", &no_env, ARGV("tail", "-n", "many", "--help", "--bogus"), &cx, err);
    stdout = saved;
    ASSERT_EQ_INT(rc, CMD_EXIT);
    ASSERT(strncmp(mem_text(&m), "Usage: dss-audit-mcp tail", 25) == 0);
    mem_close(&m);
    cmd_free(&cx);
}

/* ---- store functions for the commands ---------------------------------- */

TEST(store_each_match_walks_in_seq_order)
{
    store *s = new_store();
    ASSERT(s);
    for (int i = 0; i < 5; i++) ASSERT(append(s, "tool_call", "op", "alice", "p", NULL) == 0);
    store_scan all = {0};
    ASSERT_EQ_STR(walk(s, &all), "1,2,3,4,5");
    store_scan rev = {.newest_first = 1};
    ASSERT_EQ_STR(walk(s, &rev), "5,4,3,2,1");
    store_close(s);
}

TEST(store_each_match_after_seq_and_limit)
{
    store *s = new_store();
    ASSERT(s);
    for (int i = 0; i < 6; i++) ASSERT(append(s, "tool_call", "op", "alice", "p", NULL) == 0);
    store_scan after = {.after_seq = 4};
    ASSERT_EQ_STR(walk(s, &after), "5,6");
    store_scan lim = {.after_seq = 1, .limit = 2};
    ASSERT_EQ_STR(walk(s, &lim), "2,3");
    store_scan none = {.after_seq = 6};
    ASSERT_EQ_STR(walk(s, &none), "");
    store_close(s);
}

TEST(store_each_match_applies_every_filter)
{
    store *s = new_store();
    ASSERT(s);
    ASSERT(append(s, "project_update", "rename_project", "alice", "p1", NULL) == 0);
    ASSERT(append(s, "tool_call", "log_operation", "bob", "p1", NULL) == 0);
    ASSERT(append(s, "error", "sync_50%_done", "alice", "p2", "Timeout while syncing") == 0);
    ASSERT(append(s, "project_update", "rename_project", "bob", "p2", NULL) == 0);
    store_query q = {.user_id = "alice"};
    store_scan sc = {.filter = &q};
    ASSERT_EQ_STR(walk(s, &sc), "1,3");
    q = (store_query){.project_id = "p2"};
    ASSERT_EQ_STR(walk(s, &sc), "3,4");
    q = (store_query){.event_type = "project_update"};
    ASSERT_EQ_STR(walk(s, &sc), "1,4");
    q = (store_query){.operation_name = "log_operation"};
    ASSERT_EQ_STR(walk(s, &sc), "2");
    q = (store_query){.text = "TIMEOUT"};
    ASSERT_EQ_STR(walk(s, &sc), "3");
    q = (store_query){.text = "50%"};
    ASSERT_EQ_STR(walk(s, &sc), "3");
    q = (store_query){.text = "5_%"};
    ASSERT_EQ_STR(walk(s, &sc), "");
    q = (store_query){.user_id = "bob", .event_type = "project_update"};
    ASSERT_EQ_STR(walk(s, &sc), "4");
    q = (store_query){.since = "2000-01-01T00:00:00.000000Z",
                      .until = "2000-01-02T00:00:00.000000Z"};
    ASSERT_EQ_STR(walk(s, &sc), "");
    q = (store_query){.since = "2000-01-01T00:00:00.000000Z"};
    ASSERT_EQ_STR(walk(s, &sc), "1,2,3,4");
    store_close(s);
}

TEST(store_nth_newest_seq)
{
    char err[STORE_ERRLEN];
    int64_t seq = -1;
    store *s = new_store();
    ASSERT(s);
    ASSERT(store_nth_newest_seq(s, 3, &seq, err) == STORE_OK);
    ASSERT_EQ_INT(seq, 0);
    for (int i = 0; i < 5; i++) ASSERT(append(s, "tool_call", "op", "alice", "p", NULL) == 0);
    ASSERT(store_nth_newest_seq(s, 1, &seq, err) == STORE_OK);
    ASSERT_EQ_INT(seq, 5);
    ASSERT(store_nth_newest_seq(s, 3, &seq, err) == STORE_OK);
    ASSERT_EQ_INT(seq, 3);
    ASSERT(store_nth_newest_seq(s, 50, &seq, err) == STORE_OK);
    ASSERT_EQ_INT(seq, 1);
    int64_t first, last;
    ASSERT(store_seq_range(s, &first, &last, err) == STORE_OK);
    ASSERT_EQ_INT(first, 1);
    ASSERT_EQ_INT(last, 5);
    store_close(s);
}

/* Every filter combination, in both orders, walks without a sort step
** (a sort would hold the matching rows in memory), also once ANALYZE has
** given the planner statistics that favour the date indexes. */
TEST(store_each_match_never_sorts)
{
    char err[STORE_ERRLEN], plan[2048], path[160];
    store *s = new_store();
    ASSERT(s);
    for (int i = 0; i < 300; i++)
        ASSERT(append(s, i % 3 ? "tool_call" : "error", i % 5 ? "op" : "other",
                      i % 2 ? "alice" : "bob", i % 7 ? "p1" : "p2", NULL) == 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int m = 0; m < 128; m++) {
            store_query q = {0};
            if (m & 1) q.project_id = "p1";
            if (m & 2) q.user_id = "alice";
            if (m & 4) q.operation_name = "op";
            if (m & 8) q.event_type = "error";
            if (m & 16) q.since = "2000-01-01T00:00:00.000000Z";
            if (m & 32) q.until = "2999-01-01T00:00:00.000000Z";
            if (m & 64) q.text = "op";
            for (int desc = 0; desc < 2; desc++) {
                store_scan sc = {.filter = &q, .newest_first = desc, .limit = desc};
                ASSERT(store_testing_explain_each_match(s, &sc, plan, sizeof plan, err) == STORE_OK);
                if (strstr(plan, "TEMP B-TREE"))
                    TEST_FAIL_("filters %d (%s, pass %d) sort: %s", m, desc ? "desc" : "asc",
                               pass, plan);
            }
        }
        /* Statistics that make a time range look selective. */
        snprintf(path, sizeof path, "%s/audit.db", tmp_dir);
        store_close(s);
        sqlite3 *db = NULL;
        ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
        ASSERT(sqlite3_exec(db, "ANALYZE", NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
        store_options o = {.path = path, .readonly = 1};
        ASSERT(store_open(&o, &s, err) == STORE_OK);
    }
    store_close(s);
}

static void count_progress(void *ctx, int64_t done, int64_t total)
{
    int64_t *calls = ctx;
    calls[0]++;
    calls[1] = done;
    calls[2] = total;
}

TEST(store_stats_counts)
{
    char err[STORE_ERRLEN];
    store_stats st;
    int64_t calls[3] = {0, 0, 0};
    store *s = new_store();
    ASSERT(s);
    ASSERT(append(s, "tool_call", "a", "alice", "p", NULL) == 0);
    ASSERT(append(s, "tool_call", "b", "alice", "p", "failed") == 0);
    ASSERT(append(s, "error", "c", "bob", "p", "boom") == 0);
    ASSERT(append(s, "project_update", "d", NULL, "p", NULL) == 0);
    ASSERT(append(s, "tool_call", "e", "alice", NULL, NULL) == 0);
    ASSERT(store_get_stats(s, NULL, 10, count_progress, calls, &st, err) == STORE_OK);
    ASSERT_EQ_INT(st.entries, 5);
    ASSERT_EQ_INT(st.logs[0].first_seq, 1);
    ASSERT_EQ_INT(st.logs[0].last_seq, 5);
    ASSERT(st.first_created_at[0] && st.last_created_at[0]);
    ASSERT(strcmp(st.first_created_at, st.last_created_at) <= 0);
    ASSERT_EQ_INT(st.errors, 2);
    ASSERT_EQ_INT(st.checkpoints, 0);
    ASSERT(st.db_bytes > 0);
    char *types = cJSON_PrintUnformatted(st.by_event_type);
    char *users = cJSON_PrintUnformatted(st.top_users);
    ASSERT(types && users);
    /* The entry without a user is counted too. */
    ASSERT_EQ_STR(types, "{\"tool_call\":3,\"error\":1,\"project_update\":1}");
    ASSERT_EQ_STR(users, "[{\"user_id\":\"alice\",\"entries\":3,\"errors\":1},"
                         "{\"user_id\":\"bob\",\"entries\":1,\"errors\":1}]");
    cJSON_free(types);
    cJSON_free(users);
    ASSERT(calls[0] >= 1);
    ASSERT_EQ_INT(calls[1], 5);
    ASSERT_EQ_INT(calls[2], 5);
    store_stats_free(&st);
    store_close(s);
}

TEST(store_stats_of_an_empty_log)
{
    char err[STORE_ERRLEN];
    store_stats st;
    store *s = new_store();
    ASSERT(s);
    ASSERT(store_get_stats(s, NULL, 10, NULL, NULL, &st, err) == STORE_OK);
    ASSERT_EQ_INT(st.entries, 0);
    ASSERT_EQ_INT(st.logs[0].last_seq, 0);
    ASSERT_EQ_STR(st.first_created_at, "");
    ASSERT_EQ_INT(cJSON_GetArraySize(st.top_users), 0);
    store_stats_free(&st);
    store_close(s);
}

TEST_MAIN(
    TEST_ENTRY(csv_plain_field_is_not_quoted)
    TEST_ENTRY(csv_field_with_comma_is_quoted)
    TEST_ENTRY(csv_field_with_quote_doubles_it)
    TEST_ENTRY(csv_field_with_cr_or_lf_is_quoted)
    TEST_ENTRY(csv_empty_string_differs_from_null)
    TEST_ENTRY(csv_header_names_every_column_and_ends_with_crlf)
    TEST_ENTRY(csv_row_writes_json_fields_as_json_text)
    TEST_ENTRY(ocsf_activity_mapping)
    TEST_ENTRY(ocsf_event_has_api_activity_fields)
    TEST_ENTRY(ocsf_event_failure_has_status_detail)
    TEST_ENTRY(ocsf_event_without_user_or_client)
    TEST_ENTRY(sanitize_replaces_control_characters)
    TEST_ENTRY(sanitize_replaces_bidi_overrides_and_bad_utf8)
    TEST_ENTRY(sanitize_keeps_utf8_text)
    TEST_ENTRY(table_aligns_columns_to_widest_cell)
    TEST_ENTRY(table_cuts_long_cells_with_tilde)
    TEST_ENTRY(table_shows_control_characters_as_question_marks)
    TEST_ENTRY(table_streams_rows_beyond_its_buffer)
    TEST_ENTRY(progress_draws_nothing_off_a_terminal)
    TEST_ENTRY(progress_draws_a_bar_on_a_terminal)
    TEST_ENTRY(progress_waits_before_drawing_short_work)
    TEST_ENTRY(check_defaults)
    TEST_ENTRY(check_rejects_options_of_other_commands)
    TEST_ENTRY(check_until_date_is_inclusive_end_of_day)
    TEST_ENTRY(check_rejects_bad_dates_and_reversed_ranges)
    TEST_ENTRY(check_event_type_comes_from_the_schema)
    TEST_ENTRY(check_export_needs_a_known_format)
    TEST_ENTRY(check_rejects_bad_counts)
    TEST_ENTRY(help_has_a_page_for_every_command)
    TEST_ENTRY(help_program_page_lists_every_command)
    TEST_ENTRY(help_lines_fit_79_columns)
    TEST_ENTRY(help_roff_has_every_command_and_option)
    TEST_ENTRY(help_program_page_lists_the_commands_given)
    TEST_ENTRY(help_terms_include_snippets)
    TEST_ENTRY(parse_fills_the_commands_options)
    TEST_ENTRY(parse_refuses_an_unknown_option_naming_it)
    TEST_ENTRY(parse_refuses_an_option_of_another_command)
    TEST_ENTRY(parse_refuses_an_abbreviation_that_is_another_commands_option)
    TEST_ENTRY(parse_names_an_option_missing_its_value)
    TEST_ENTRY(parse_refuses_a_value_for_a_flag)
    TEST_ENTRY(parse_refuses_operands_where_none_belong)
    TEST_ENTRY(parse_wrap_hands_the_server_its_own_options)
    TEST_ENTRY(parse_resolves_flags_then_environment_then_defaults)
    TEST_ENTRY(parse_checks_shared_values)
    TEST_ENTRY(parse_tells_log_given_from_log_of_the_environment)
    TEST_ENTRY(parse_wipes_passwords_from_argv)
    TEST_ENTRY(parse_help_wins_over_bad_values_after_it)
    TEST_ENTRY(store_each_match_walks_in_seq_order)
    TEST_ENTRY(store_each_match_after_seq_and_limit)
    TEST_ENTRY(store_each_match_applies_every_filter)
    TEST_ENTRY(store_nth_newest_seq)
    TEST_ENTRY(store_each_match_never_sorts)
    TEST_ENTRY(store_stats_counts)
    TEST_ENTRY(store_stats_of_an_empty_log)
)
