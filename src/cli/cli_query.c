/*
** cli_query.c: tail, query and stats, the commands that show the trail.
**
** Entries are printed one at a time as the store hands them over (a walk
** for tail, keyset-paged store_find() calls for query, so query means
** exactly what the MCP tools mean), as table rows on a terminal or as JSON
** Lines, the tools' entry objects unchanged, otherwise.  tail -f polls for
** entries past the last seq it printed every 250 ms; SIGINT and SIGTERM end
** it cleanly with status 0.
*/
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../integrity/checkpoint.h"

enum { QUERY_PAGE = 500, FOLLOW_POLL_MS = 250, TOP_USERS = 10 };
enum { SCAN_CACHE_KIB = 2048 }; /* stats walks the table once */

/* ---- printing entries --------------------------------------------------- */

static const cli_col entry_cols[] = {
    {"SEQ", 5, 12, 1},     {"TIME (UTC)", 19, 19, 0}, {"EVENT", 10, 17, 0},
    {"USER", 8, 20, 0},    {"PROJECT", 8, 20, 0},     {"OPERATION", 14, 32, 0},
    {"RESULT", 6, 0, 0},
};
enum { ENTRY_NCOLS = sizeof entry_cols / sizeof *entry_cols };

typedef struct printer {
    FILE *out;
    cli_table *table;  /* NULL: JSON Lines */
    int failed;        /* a write failed */
    int64_t printed;
    int64_t last_seq;
    char last_created_at[TS_BUFLEN];
} printer;

static int printer_init(printer *p, FILE *out, const cli_args *a)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    if (cli_use_table(out, a) &&
        !(p->table = cli_table_new(out, entry_cols, ENTRY_NCOLS, cli_term_width(out))))
        return -1;
    return 0;
}

static const char *str_member(const cJSON *e, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* store_match_fn: print one entry; stops the walk when a write fails. */
static int print_entry(void *ctx, const cJSON *e)
{
    printer *p = ctx;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    const char *created = str_member(e, "created_at");
    p->last_seq = cJSON_IsNumber(seq) ? (int64_t)seq->valuedouble : p->last_seq;
    snprintf(p->last_created_at, sizeof p->last_created_at, "%s", created ? created : "");
    if (p->table) {
        char seq_s[24], when[TS_BUFLEN], result[600];
        const char *error = str_member(e, "error");
        snprintf(seq_s, sizeof seq_s, "%lld", (long long)p->last_seq);
        /* 2026-11-27T22:26:57.750972Z shown as 2026-11-27 22:26:57 */
        snprintf(when, sizeof when, "%.19s", created ? created : "");
        if (when[10] == 'T') when[10] = ' ';
        if (error) snprintf(result, sizeof result, "error: %.580s", error);
        else snprintf(result, sizeof result, "ok");
        const char *cells[ENTRY_NCOLS] = {
            seq_s, when, str_member(e, "event_type"), str_member(e, "user_id"),
            str_member(e, "project_id"), str_member(e, "operation_name"), result,
        };
        if (cli_table_add(p->table, cells) != 0) p->failed = 1;
    } else {
        char *line = cJSON_PrintUnformatted(e);
        if (!line || fputs(line, p->out) == EOF || fputc('\n', p->out) == EOF) p->failed = 1;
        cJSON_free(line);
    }
    p->printed++;
    return p->failed;
}

/* Push out what is buffered: at the end, and after each poll of tail -f. */
static int printer_flush(printer *p)
{
    if (p->table) {
        if (cli_table_flush(p->table) != 0) p->failed = 1;
    } else if (fflush(p->out) != 0 || ferror(p->out)) {
        p->failed = 1;
    }
    return p->failed ? -1 : 0;
}

static int write_failed(char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write the output: %s", strerror(errno ? errno : EIO));
    return CLI_EFAIL;
}

static int store_failed(const char *serr, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", serr);
    return CLI_EFAIL;
}

/* ---- tail --------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Print entries past p->last_seq every FOLLOW_POLL_MS until a signal. */
static int follow(store *st, printer *p, char *err, size_t errlen)
{
    struct sigaction sa, old_int, old_term;
    char serr[STORE_ERRLEN];
    int rc = CLI_OK;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: the sleep ends at once */
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    while (!stop_requested) {
        struct timespec nap = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&nap, NULL);
        if (stop_requested) break;
        store_scan scan = {.after_seq = p->last_seq};
        if (store_each_match(st, &scan, print_entry, p, serr) != STORE_OK) {
            rc = store_failed(serr, err, errlen);
            break;
        }
        if (p->failed || printer_flush(p) != 0) {
            rc = write_failed(err, errlen);
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

int cli_tail(store *st, const cli_args *a, FILE *out, char *err, size_t errlen)
{
    printer p;
    char serr[STORE_ERRLEN];
    int rc = CLI_OK;
    int64_t from = 0, first, last;
    if (printer_init(&p, out, a) != 0) {
        snprintf(err, errlen, "out of memory");
        return CLI_EFAIL;
    }
    if (store_seq_range(st, &first, &last, serr) != STORE_OK ||
        (a->count > 0 && store_nth_newest_seq(st, a->count, &from, serr) != STORE_OK)) {
        rc = store_failed(serr, err, errlen);
        goto done;
    }
    p.last_seq = last;
    if (a->count > 0 && from > 0) {
        store_scan scan = {.after_seq = from - 1};
        if (store_each_match(st, &scan, print_entry, &p, serr) != STORE_OK) {
            rc = store_failed(serr, err, errlen);
            goto done;
        }
    }
    if (p.failed || printer_flush(&p) != 0) {
        rc = write_failed(err, errlen);
        goto done;
    }
    if (a->follow) rc = follow(st, &p, err, errlen);
done:
    cli_table_free(p.table);
    return rc;
}

/* ---- query -------------------------------------------------------------- */

int cli_query(store *st, const cli_args *a, FILE *out, char *err, size_t errlen)
{
    printer p;
    char serr[STORE_ERRLEN], after[TS_BUFLEN];
    cJSON *page = NULL;
    int rc = CLI_OK;
    if (printer_init(&p, out, a) != 0) {
        snprintf(err, errlen, "out of memory");
        return CLI_EFAIL;
    }
    store_query q = cli_filter(a);
    int64_t left = a->count;
    /* Pages of QUERY_PAGE through the keyset cursor, as a client pages
    ** through the tools: memory stays bounded by one page. */
    while (left > 0) {
        int more = 0;
        q.limit = left < QUERY_PAGE ? left : QUERY_PAGE;
        if (store_find(st, &q, &page, &more, serr) != STORE_OK) {
            rc = store_failed(serr, err, errlen);
            goto done;
        }
        const cJSON *e;
        int64_t got = 0;
        cJSON_ArrayForEach(e, page) {
            got++;
            if (print_entry(&p, e)) break;
        }
        cJSON_Delete(page);
        page = NULL;
        if (p.failed) break;
        left -= got;
        if (!more || got == 0) break;
        snprintf(after, sizeof after, "%s", p.last_created_at);
        q.after_seq = p.last_seq;
        q.after_created_at = after;
    }
    if (p.failed || printer_flush(&p) != 0) rc = write_failed(err, errlen);
done:
    cJSON_Delete(page);
    cli_table_free(p.table);
    return rc;
}

/* ---- stats -------------------------------------------------------------- */

static void stats_progress(void *ctx, int64_t done, int64_t total)
{
    cli_progress_update(ctx, done, total);
}

/* A JSON string, or null for NULL or "". */
static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The stats as one JSON object (stats' JSON output, and the source of its
** table).  Returns a new object the caller frees, or NULL with a sentence
** in err.  Takes ownership of s->by_event_type and s->top_users either way. */
static cJSON *stats_json(store *st, const char *db_path, store_stats *s,
                         char *err, size_t errlen)
{
    char serr[STORE_ERRLEN], head_hash[CHAIN_HEX_LEN];
    int64_t head_seq;
    store_checkpoint cp;
    cJSON *o = cJSON_CreateObject(), *head = cJSON_CreateObject(), *last_cp = NULL;
    int rc = store_head(st, &head_seq, head_hash, serr);
    if (rc == STORE_OK) {
        rc = store_last_checkpoint(st, &cp, serr);
        if (rc == STORE_OK) last_cp = checkpoint_to_json(&cp);
        else if (rc == STORE_ENOTFOUND) {
            last_cp = cJSON_CreateNull();
            rc = STORE_OK;
        }
    }
    if (rc != STORE_OK || !o || !head || !last_cp) {
        snprintf(err, errlen, "%s", rc != STORE_OK ? serr : "out of memory");
        goto fail;
    }
    cJSON_AddNumberToObject(head, "seq", (double)head_seq);
    cJSON_AddStringToObject(head, "hash", head_hash);
    cJSON_AddStringToObject(o, "database", db_path ? db_path : "");
    cJSON_AddStringToObject(o, "log_id", store_log_id(st));
    cJSON_AddNumberToObject(o, "entries", (double)s->entries);
    cJSON_AddNumberToObject(o, "first_seq", (double)s->first_seq);
    cJSON_AddNumberToObject(o, "last_seq", (double)s->last_seq);
    cJSON_AddItemToObject(o, "first_created_at", str_or_null(s->first_created_at));
    cJSON_AddItemToObject(o, "last_created_at", str_or_null(s->last_created_at));
    cJSON_AddNumberToObject(o, "errors", (double)s->errors);
    cJSON_AddItemToObject(o, "head", head);
    head = NULL;
    cJSON_AddNumberToObject(o, "checkpoints", (double)s->checkpoints);
    cJSON_AddNumberToObject(o, "anchors", (double)s->anchors);
    cJSON_AddItemToObject(o, "last_checkpoint", last_cp);
    last_cp = NULL;
    cJSON_AddNumberToObject(o, "db_bytes", (double)s->db_bytes);
    cJSON_AddNumberToObject(o, "wal_bytes", (double)s->wal_bytes);
    cJSON_AddItemToObject(o, "by_event_type", s->by_event_type);
    cJSON_AddItemToObject(o, "top_users", s->top_users);
    s->by_event_type = s->top_users = NULL;
    return o;
fail:
    cJSON_Delete(o);
    cJSON_Delete(head);
    cJSON_Delete(last_cp);
    cJSON_Delete(s->by_event_type);
    cJSON_Delete(s->top_users);
    s->by_event_type = s->top_users = NULL;
    return NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "12.3 MiB" for people. */
static void human_size(double bytes, char *out, size_t len)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0) snprintf(out, len, "%.0f bytes", bytes);
    else snprintf(out, len, "%.1f %s", bytes, units[u]);
}

static void kv(FILE *out, const char *key, const char *value)
{
    char safe[1024];
    cli_sanitize(value, safe, sizeof safe);
    fprintf(out, "%-18s %s\n", key, safe);
}

/* The stats object as an aligned summary and two small tables. */
static int print_stats_table(FILE *out, const cJSON *o)
{
    char line[512], a[64], b[64];
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(o, "head");
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(o, "last_checkpoint");
    const cJSON *v;
    int rc = 0;
    kv(out, "Database", str(o, "database"));
    kv(out, "Log id", str(o, "log_id"));
    if (num(o, "entries") > 0)
        snprintf(line, sizeof line, "%.0f (seq %.0f to %.0f)", num(o, "entries"),
                 num(o, "first_seq"), num(o, "last_seq"));
    else
        snprintf(line, sizeof line, "0");
    kv(out, "Entries", line);
    if (str(o, "first_created_at")) {
        snprintf(line, sizeof line, "%s to %s", str(o, "first_created_at"),
                 str(o, "last_created_at") ? str(o, "last_created_at") : "?");
        kv(out, "Time span", line);
    }
    snprintf(line, sizeof line, "%.0f", num(o, "errors"));
    kv(out, "With errors", line);
    snprintf(line, sizeof line, "seq %.0f, hash %s", num(head, "seq"),
             str(head, "hash") ? str(head, "hash") : "");
    kv(out, "Chain head", line);
    if (cJSON_IsObject(cp))
        snprintf(line, sizeof line, "%.0f (newest: seq %.0f at %s)", num(o, "checkpoints"),
                 num(cp, "seq"), str(cp, "created_at") ? str(cp, "created_at") : "?");
    else
        snprintf(line, sizeof line, "%.0f", num(o, "checkpoints"));
    kv(out, "Checkpoints", line);
    snprintf(line, sizeof line, "%.0f", num(o, "anchors"));
    kv(out, "Retention anchors", line);
    human_size(num(o, "db_bytes"), a, sizeof a);
    human_size(num(o, "wal_bytes"), b, sizeof b);
    snprintf(line, sizeof line, "%s (write-ahead log %s)", a, b);
    kv(out, "Size", line);

    static const cli_col type_cols[] = {{"EVENT TYPE", 10, 32, 0}, {"ENTRIES", 7, 20, 1}};
    static const cli_col user_cols[] = {
        {"USER", 4, 40, 0}, {"ENTRIES", 7, 20, 1}, {"ERRORS", 6, 20, 1}};
    cli_table *types = cli_table_new(out, type_cols, 2, 0);
    cli_table *users = cli_table_new(out, user_cols, 3, 0);
    if (!types || !users) {
        rc = -1;
        goto done;
    }
    fputc('\n', out);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "by_event_type")) {
        snprintf(a, sizeof a, "%.0f", v->valuedouble);
        const char *cells[2] = {v->string, a};
        if (cli_table_add(types, cells) != 0) rc = -1;
    }
    if (cli_table_flush(types) != 0) rc = -1;
    fputc('\n', out);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "top_users")) {
        snprintf(a, sizeof a, "%.0f", num(v, "entries"));
        snprintf(b, sizeof b, "%.0f", num(v, "errors"));
        const char *cells[3] = {str(v, "user_id"), a, b};
        if (cli_table_add(users, cells) != 0) rc = -1;
    }
    if (cli_table_flush(users) != 0) rc = -1;
done:
    cli_table_free(types);
    cli_table_free(users);
    return rc;
}

int cli_stats(store *st, const char *db_path, const cli_args *a, FILE *out,
              char *err, size_t errlen)
{
    store_stats s;
    cli_progress prog;
    char serr[STORE_ERRLEN];
    int rc = CLI_OK;
    cJSON *o = NULL;
    /* Counting walks the whole table once: a small cache does as well. */
    if (store_set_cache_size(st, SCAN_CACHE_KIB, serr) != STORE_OK)
        return store_failed(serr, err, errlen);
    cli_progress_start(&prog, stderr, "counting entries");
    int src = store_get_stats(st, TOP_USERS, stats_progress, &prog, &s, serr);
    cli_progress_end(&prog);
    if (src != STORE_OK) return store_failed(serr, err, errlen);
    if (!(o = stats_json(st, db_path, &s, err, errlen))) return CLI_EFAIL;
    if (cli_use_table(out, a)) {
        if (print_stats_table(out, o) != 0) rc = write_failed(err, errlen);
    } else {
        char *line = cJSON_PrintUnformatted(o);
        if (!line || fputs(line, out) == EOF || fputc('\n', out) == EOF)
            rc = write_failed(err, errlen);
        cJSON_free(line);
    }
    if (rc == CLI_OK && (fflush(out) != 0 || ferror(out))) rc = write_failed(err, errlen);
    cJSON_Delete(o);
    return rc;
}
