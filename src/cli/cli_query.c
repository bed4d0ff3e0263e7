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
#include "../util/utf8.h"

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
    store *st;         /* to name the request an outcome completes */
    cli_table *table;  /* NULL: JSON Lines */
    int failed;        /* a write failed */
    int64_t printed;
    int64_t last_seq;
    char last_created_at[TS_BUFLEN];
    char last_log_id[37];
} printer;

static int printer_init(printer *p, store *st, FILE *out, const cli_args *a)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->st = st;
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

/* The RESULT cell: ok or the error, and for a relayed call's outcome
** (wrap) its duration and the seq of the request entry it completes. */
static void outcome_text(printer *p, const cJSON *e, const char *error,
                         char *out, size_t len)
{
    int n = error ? snprintf(out, len, "error: %.*s", utf8_cut(error, 500), error)
                  : snprintf(out, len, "ok");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "duration_ms");
    if (cJSON_IsNumber(d) && n > 0 && (size_t)n < len)
        n += snprintf(out + n, len - (size_t)n, ", %lld ms", (long long)d->valuedouble);
    const char *completes = str_member(e, "completes");
    cJSON *req = NULL;
    char serr[STORE_ERRLEN];
    if (completes && p->st && n > 0 && (size_t)n < len &&
        store_get(p->st, completes, &req, serr) == STORE_OK) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(req, "seq");
        if (cJSON_IsNumber(seq))
            snprintf(out + n, len - (size_t)n, ", completes #%lld",
                     (long long)seq->valuedouble);
    }
    cJSON_Delete(req);
}

/* store_match_fn: print one entry; stops the walk when a write fails. */
static int print_entry(void *ctx, const cJSON *e)
{
    printer *p = ctx;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    const char *created = str_member(e, "created_at");
    p->last_seq = cJSON_IsNumber(seq) ? (int64_t)seq->valuedouble : p->last_seq;
    snprintf(p->last_created_at, sizeof p->last_created_at, "%s", created ? created : "");
    const char *log_id = str_member(e, "log_id");
    snprintf(p->last_log_id, sizeof p->last_log_id, "%s", log_id ? log_id : "");
    if (p->table) {
        char seq_s[24], when[TS_BUFLEN], result[600];
        const char *error = str_member(e, "error");
        snprintf(seq_s, sizeof seq_s, "%lld", (long long)p->last_seq);
        /* 2026-11-27T22:26:57.750972Z shown as 2026-11-27 22:26:57 */
        snprintf(when, sizeof when, "%.19s", created ? created : "");
        if (when[10] == 'T') when[10] = ' ';
        outcome_text(p, e, error, result, sizeof result);
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

/* The logs tail follows, each with the seq it has printed up to.  A store
** of one log (or a tail given --log) has one; a shared database has one per
** log, so that an entry committed late on one log is never skipped because
** another log's entries were newer. */
typedef struct tail_log {
    char log_id[37];
    int64_t seq;
} tail_log;

typedef struct tail_logs {
    tail_log *l;
    size_t n, cap;
    store *st;
    int failed;
} tail_logs;

static int add_tail_log(void *ctx, const store_log *log)
{
    tail_logs *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->l[i].log_id, log->log_id) == 0) return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tail_log *l = realloc(t->l, cap * sizeof *l);
        if (!l) {
            t->failed = 1;
            return 1;
        }
        t->l = l;
        t->cap = cap;
    }
    tail_log *n = &t->l[t->n++];
    snprintf(n->log_id, sizeof n->log_id, "%s", log->log_id);
    n->seq = 0; /* a log that appears while following is new: all of it */
    return 0;
}

/* Each log's newest seq, so that following starts after what exists now. */
static int tail_logs_at_head(tail_logs *t, const char *only, char *serr)
{
    int rc = store_each_log(t->st, add_tail_log, t, serr);
    for (size_t i = 0; rc == STORE_OK && i < t->n; i++) {
        if (only && strcmp(only, t->l[i].log_id) != 0) continue;
        int64_t first;
        if ((rc = store_use_log(t->st, t->l[i].log_id, serr)) == STORE_OK)
            rc = store_seq_range(t->st, &first, &t->l[i].seq, serr);
    }
    if (rc == STORE_OK && t->failed) {
        snprintf(serr, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
    }
    return rc;
}

/* One poll: every log's entries past what was printed of it. */
static int tail_poll(tail_logs *t, const char *only, printer *p, char *serr)
{
    int rc = only ? STORE_OK : store_each_log(t->st, add_tail_log, t, serr);
    for (size_t i = 0; rc == STORE_OK && i < t->n; i++) {
        if (only && strcmp(only, t->l[i].log_id) != 0) continue;
        store_query f = {.log = t->l[i].log_id};
        store_scan scan = {.filter = &f, .after_seq = t->l[i].seq};
        p->last_seq = t->l[i].seq;
        rc = store_each_match(t->st, &scan, print_entry, p, serr);
        t->l[i].seq = p->last_seq;
        if (p->failed) break;
    }
    return rc;
}

/* Print new entries every FOLLOW_POLL_MS until a signal, or until the
** database file is deleted or replaced (store_moved()): the open store
** would go on showing the old one, which nothing writes to any more. */
static int follow(tail_logs *t, const char *only, printer *p, char *err, size_t errlen)
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
        if (tail_poll(t, only, p, serr) != STORE_OK) {
            rc = store_failed(serr, err, errlen);
            break;
        }
        if (p->failed || printer_flush(p) != 0) {
            rc = write_failed(err, errlen);
            break;
        }
        if (store_moved(t->st)) {
            snprintf(err, errlen, "the database file was deleted or replaced: stopped "
                                  "following (run tail -f again to follow the file now there)");
            rc = CLI_EFAIL;
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* store_match_fn of the newest-first walk that finds where tail starts:
** keeps the oldest of the n newest entries. */
static int keep_last(void *ctx, const cJSON *e)
{
    cJSON **last = ctx;
    cJSON_Delete(*last);
    *last = cJSON_Duplicate(e, 1);
    return *last == NULL;
}

/* The n newest entries (of log `only`, or across every log), oldest first:
** the n-th newest, then every entry after it in the walk's order. */
static int tail_newest(store *st, const char *only, int64_t n, printer *p, char *serr)
{
    cJSON *start = NULL;
    store_query f = {.log = only};
    store_scan back = {.filter = &f, .limit = n, .newest_first = 1};
    int rc = store_each_match(st, &back, keep_last, &start, serr);
    if (rc == STORE_OK && start) {
        print_entry(p, start);
        char at[TS_BUFLEN], log_id[37];
        snprintf(at, sizeof at, "%s", p->last_created_at);
        snprintf(log_id, sizeof log_id, "%s", p->last_log_id);
        store_scan fwd = {.filter = &f, .after_seq = p->last_seq, .after_created_at = at,
                          .after_log_id = log_id};
        if (!p->failed) rc = store_each_match(st, &fwd, print_entry, p, serr);
    }
    cJSON_Delete(start);
    return rc;
}

int cli_tail(store *st, const cli_args *a, FILE *out, char *err, size_t errlen)
{
    printer p;
    char serr[STORE_ERRLEN];
    int rc = CLI_OK;
    tail_logs t = {.st = st};
    if (printer_init(&p, st, out, a) != 0) {
        snprintf(err, errlen, "out of memory");
        return CLI_EFAIL;
    }
    /* --log keeps one log; so does a store that holds one. */
    const char *only = a->log && store_log_id(st)[0] ? store_log_id(st) : NULL;
    if (tail_logs_at_head(&t, only, serr) != STORE_OK ||
        (a->count > 0 && tail_newest(st, only, a->count, &p, serr) != STORE_OK)) {
        rc = store_failed(serr, err, errlen);
        goto done;
    }
    if (p.failed || printer_flush(&p) != 0) {
        rc = write_failed(err, errlen);
        goto done;
    }
    if (a->follow) rc = follow(&t, only, &p, err, errlen);
done:
    free(t.l);
    cli_table_free(p.table);
    return rc;
}

/* ---- query -------------------------------------------------------------- */

int cli_query(store *st, const cli_args *a, FILE *out, char *err, size_t errlen)
{
    printer p;
    char serr[STORE_ERRLEN], after[TS_BUFLEN], after_log[37];
    cJSON *page = NULL;
    int rc = CLI_OK;
    if (printer_init(&p, st, out, a) != 0) {
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
        snprintf(after_log, sizeof after_log, "%s", p.last_log_id);
        q.after_seq = p.last_seq;
        q.after_created_at = after;
        q.after_log_id = after_log[0] ? after_log : NULL;
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

/* A number, or null for a log that holds no entry. */
static cJSON *seq_or_null(int64_t seq, int64_t entries)
{
    return entries ? cJSON_CreateNumber((double)seq) : cJSON_CreateNull();
}

/* One log's object: its numbers, its chain head and its newest checkpoint
** (both read with the log selected).  NULL with a sentence in err. */
static cJSON *log_stats_json(store *st, const store_log_stats *l, char *err, size_t errlen)
{
    char serr[STORE_ERRLEN], head_hash[CHAIN_HEX_LEN];
    int64_t head_seq;
    store_checkpoint cp;
    cJSON *o = cJSON_CreateObject(), *head = cJSON_CreateObject(), *last_cp = NULL;
    int rc = store_use_log(st, l->log_id, serr);
    if (rc == STORE_OK) rc = store_head(st, &head_seq, head_hash, serr);
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
        cJSON_Delete(o);
        cJSON_Delete(head);
        cJSON_Delete(last_cp);
        return NULL;
    }
    cJSON_AddNumberToObject(head, "seq", (double)head_seq);
    cJSON_AddStringToObject(head, "hash", head_hash);
    cJSON_AddStringToObject(o, "log_id", l->log_id);
    cJSON_AddStringToObject(o, "log", l->name);
    cJSON_AddNumberToObject(o, "entries", (double)l->entries);
    cJSON_AddItemToObject(o, "first_seq", seq_or_null(l->first_seq, l->entries));
    cJSON_AddItemToObject(o, "last_seq", seq_or_null(l->last_seq, l->entries));
    cJSON_AddItemToObject(o, "first_created_at", str_or_null(l->first_created_at));
    cJSON_AddItemToObject(o, "last_created_at", str_or_null(l->last_created_at));
    cJSON_AddNumberToObject(o, "errors", (double)l->errors);
    cJSON_AddItemToObject(o, "head", head);
    cJSON_AddNumberToObject(o, "checkpoints", (double)l->checkpoints);
    cJSON_AddNumberToObject(o, "anchors", (double)l->anchors);
    cJSON_AddItemToObject(o, "last_checkpoint", last_cp);
    cJSON *ws = checkpoint_witnesses_json(st);
    if (ws) cJSON_AddItemToObject(o, "witnesses", ws);
    return o;
}

/* A member of one log's object, copied to the top level (or null when the
** stats count several logs). */
static void one_log_member(cJSON *o, const cJSON *one, const char *key)
{
    const cJSON *v = one ? cJSON_GetObjectItemCaseSensitive(one, key) : NULL;
    cJSON_AddItemToObject(o, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

/*
** The stats as one JSON object (stats' JSON output, and the source of its
** table): the totals over the logs counted, and "logs", each log's own
** numbers.  Counting one log (a local file, or --log), the top level also
** holds that log's id, seq span, chain head and newest checkpoint, which
** are null across several.  Returns a new object the caller frees, or NULL
** with a sentence in err.  On success the object has taken s->by_event_type
** and s->top_users (set to NULL); the caller frees s either way.
*/
static cJSON *stats_json(store *st, const char *db_path, store_stats *s,
                         char *err, size_t errlen)
{
    char serr[STORE_ERRLEN];
    cJSON *o = cJSON_CreateObject(), *logs = cJSON_CreateArray();
    if (!o || !logs) goto oom;
    for (size_t i = 0; i < s->n_logs; i++) {
        cJSON *one = log_stats_json(st, &s->logs[i], err, errlen);
        if (!one) goto fail;
        cJSON_AddItemToArray(logs, one);
    }
    store_use_log(st, NULL, serr); /* the selection the store had */
    const cJSON *only = s->n_logs == 1 ? logs->child : NULL;
    cJSON_AddStringToObject(o, "database", db_path ? db_path : "");
    one_log_member(o, only, "log_id");
    one_log_member(o, only, "log");
    cJSON_AddNumberToObject(o, "entries", (double)s->entries);
    one_log_member(o, only, "first_seq");
    one_log_member(o, only, "last_seq");
    cJSON_AddItemToObject(o, "first_created_at", str_or_null(s->first_created_at));
    cJSON_AddItemToObject(o, "last_created_at", str_or_null(s->last_created_at));
    cJSON_AddNumberToObject(o, "errors", (double)s->errors);
    one_log_member(o, only, "head");
    cJSON_AddNumberToObject(o, "checkpoints", (double)s->checkpoints);
    cJSON_AddNumberToObject(o, "anchors", (double)s->anchors);
    one_log_member(o, only, "last_checkpoint");
    one_log_member(o, only, "witnesses");
    cJSON_AddNumberToObject(o, "db_bytes", (double)s->db_bytes);
    cJSON_AddNumberToObject(o, "wal_bytes", (double)s->wal_bytes);
    cJSON_AddItemToObject(o, "by_event_type", s->by_event_type);
    cJSON_AddItemToObject(o, "top_users", s->top_users);
    cJSON_AddItemToObject(o, "logs", logs);
    s->by_event_type = s->top_users = NULL;
    return o;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    store_use_log(st, NULL, serr);
    cJSON_Delete(o);
    cJSON_Delete(logs);
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

/* The stats object as an aligned summary and small tables: the logs
** (when several are counted), event types, users. */
static int print_stats_table(FILE *out, const cJSON *o)
{
    char line[512], a[64], b[64];
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(o, "head");
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(o, "last_checkpoint");
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(o, "logs");
    int one = str(o, "log_id") != NULL;
    const cJSON *v;
    int rc = 0;
    kv(out, "Database", str(o, "database"));
    if (one) {
        snprintf(line, sizeof line, "%s (%s)", str(o, "log") ? str(o, "log") : "",
                 str(o, "log_id"));
        kv(out, "Log", line);
    } else {
        snprintf(line, sizeof line, "%d, counted together", cJSON_GetArraySize(logs));
        kv(out, "Logs", line);
    }
    if (one && num(o, "entries") > 0)
        snprintf(line, sizeof line, "%.0f (seq %.0f to %.0f)", num(o, "entries"),
                 num(o, "first_seq"), num(o, "last_seq"));
    else
        snprintf(line, sizeof line, "%.0f", num(o, "entries"));
    kv(out, "Entries", line);
    if (str(o, "first_created_at")) {
        snprintf(line, sizeof line, "%s to %s", str(o, "first_created_at"),
                 str(o, "last_created_at") ? str(o, "last_created_at") : "?");
        kv(out, "Time span", line);
    }
    snprintf(line, sizeof line, "%.0f", num(o, "errors"));
    kv(out, "With errors", line);
    if (one) {
        snprintf(line, sizeof line, "seq %.0f, hash %s", num(head, "seq"),
                 str(head, "hash") ? str(head, "hash") : "");
        kv(out, "Chain head", line);
    }
    if (cJSON_IsObject(cp))
        snprintf(line, sizeof line, "%.0f (newest: seq %.0f at %s)", num(o, "checkpoints"),
                 num(cp, "seq"), str(cp, "created_at") ? str(cp, "created_at") : "?");
    else
        snprintf(line, sizeof line, "%.0f", num(o, "checkpoints"));
    kv(out, "Checkpoints", line);
    snprintf(line, sizeof line, "%.0f", num(o, "anchors"));
    kv(out, "Retention anchors", line);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "witnesses")) {
        const char *e = str(v, "last_error"), *ok = str(v, "last_ok");
        if (e && *e)
            snprintf(line, sizeof line, "FAILING (%s); cosigned size %.0f %s", e,
                     num(v, "size"), ok && *ok ? ok : "never");
        else
            snprintf(line, sizeof line, "cosigned size %.0f%s at %s", num(v, "size"),
                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "behind"))
                         ? " (behind the newest checkpoint)" : "",
                     ok && *ok ? ok : "?");
        char key[64];
        snprintf(key, sizeof key, "Witness %.*s", (int)strcspn(str(v, "witness"), "+"),
                 str(v, "witness"));
        kv(out, key, line);
    }
    human_size(num(o, "db_bytes"), a, sizeof a);
    human_size(num(o, "wal_bytes"), b, sizeof b);
    snprintf(line, sizeof line, "%s (write-ahead log %s)", a, b);
    kv(out, "Size", line);

    if (!one) {
        static const cli_col log_cols[] = {
            {"LOG", 3, 32, 0}, {"LOG ID", 6, 36, 0}, {"ENTRIES", 7, 20, 1},
            {"ERRORS", 6, 20, 1}, {"CHECKPOINTS", 11, 20, 1}, {"HEAD SEQ", 8, 20, 1}};
        cli_table *t = cli_table_new(out, log_cols, 6, 0);
        if (!t) return -1;
        fputc('\n', out);
        cJSON_ArrayForEach(v, logs) {
            char n[4][32];
            snprintf(n[0], sizeof n[0], "%.0f", num(v, "entries"));
            snprintf(n[1], sizeof n[1], "%.0f", num(v, "errors"));
            snprintf(n[2], sizeof n[2], "%.0f", num(v, "checkpoints"));
            snprintf(n[3], sizeof n[3], "%.0f",
                     num(cJSON_GetObjectItemCaseSensitive(v, "head"), "seq"));
            const char *cells[6] = {str(v, "log"), str(v, "log_id"), n[0], n[1], n[2], n[3]};
            if (cli_table_add(t, cells) != 0) rc = -1;
        }
        if (cli_table_flush(t) != 0) rc = -1;
        cli_table_free(t);
    }
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

/* The ship cursors (cli_stats's sinks) as a table: where each sink is in
** each log, and how far behind. */
static int print_sinks_table(FILE *out, const cJSON *sinks)
{
    static const cli_col cols[] = {{"SINK", 4, 48, 0}, {"LOG", 3, 32, 0},
                                   {"CURSOR", 6, 20, 1}, {"LAG", 3, 20, 1},
                                   {"SAVED (UTC)", 11, 27, 0}};
    const cJSON *v;
    int rc = 0;
    cli_table *t = cli_table_new(out, cols, 5, 0);
    if (!t) return -1;
    fputc('\n', out);
    cJSON_ArrayForEach(v, sinks) {
        char seq[32], lag[32];
        snprintf(seq, sizeof seq, "%.0f", num(v, "cursor"));
        snprintf(lag, sizeof lag, "%.0f", num(v, "lag"));
        const char *cells[5] = {str(v, "sink"), str(v, "log"), seq, lag, str(v, "saved_at")};
        if (cli_table_add(t, cells) != 0) rc = -1;
    }
    if (cli_table_flush(t) != 0) rc = -1;
    cli_table_free(t);
    return rc;
}

int cli_stats(store *st, const char *db_path, const cli_args *a, const cJSON *sinks,
              FILE *out, char *err, size_t errlen)
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
    /* Every log of the store, unless --log names one. */
    int src = store_get_stats(st, a->log, TOP_USERS, stats_progress, &prog, &s, serr);
    cli_progress_end(&prog);
    if (src != STORE_OK) return store_failed(serr, err, errlen);
    o = stats_json(st, db_path, &s, err, errlen);
    store_stats_free(&s);
    if (!o) return CLI_EFAIL;
    int with_sinks = cJSON_GetArraySize(sinks) > 0;
    if (with_sinks) {
        cJSON *copy = cJSON_Duplicate(sinks, 1);
        if (!copy || !cJSON_AddItemToObject(o, "sinks", copy)) {
            cJSON_Delete(copy);
            cJSON_Delete(o);
            snprintf(err, errlen, "out of memory");
            return CLI_EFAIL;
        }
    }
    if (cli_use_table(out, a)) {
        if (print_stats_table(out, o) != 0 || (with_sinks && print_sinks_table(out, sinks) != 0))
            rc = write_failed(err, errlen);
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
