/*
** viewer_api.c: the viewer's JSON API (see viewer_api.h).
**
** Each handler reads its parameters, asks the store, and writes the body
** straight into the caller's jbuf: the timeline's entries are spliced in
** by the entry printer (entry.h) as the text the tools reply with, so a page costs
** what a get_operation_history call costs and memory stays bounded by the
** page size whatever the size of the log.
*/
#include "viewer_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/checkpoint.h"
#include "../util/jsoncheck.h"
#include "../util/ts.h"
#include "../util/utf8.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { HTTP_OK = 200, HTTP_BAD = 400, HTTP_NOTFOUND = 404, HTTP_FAIL = 500 };

typedef struct request {
    viewer_param_fn param;
    void *ctx;
    jbuf *out;
    const char **bad; /* set to the name of a parameter that is not UTF-8 */
} request;

static const char *param(const request *r, const char *name)
{
    const char *v = r->param(r->ctx, name);
    size_t at;
    /* A query's %-escapes can carry any byte, and what is echoed (in an
    ** error, the activity's user) must stay JSON, which is UTF-8: such a
    ** value is taken as absent here and the request answered 400. */
    if (v && jsoncheck_utf8(v, strlen(v), &at)) {
        if (!*r->bad) *r->bad = name;
        return NULL;
    }
    return v && *v ? v : NULL; /* an empty field of a form is no filter */
}

/* Replace the body with {"error": msg} and return status.  msg may quote a
** parameter cut short by the layer that made it (ts_parse(), the store:
** "%.64s"), perhaps inside a character: a cut sequence becomes U+FFFD so
** that the body stays UTF-8. */
static int fail(const request *r, int status, const char *msg)
{
    char *clean = utf8_mend(msg, strlen(msg));
    r->out->len = 0;
    jbuf_puts(r->out, "{\"error\":");
    if (!clean) jbuf_fail(r->out);
    else jbuf_string(r->out, clean, strlen(clean));
    jbuf_putc(r->out, '}');
    free(clean);
    return status;
}

static void key(jbuf *out, const char *k, int first)
{
    if (!first) jbuf_putc(out, ',');
    jbuf_string(out, k, strlen(k));
    jbuf_putc(out, ':');
}

static void str_or_null(jbuf *out, const char *s)
{
    if (s) jbuf_string(out, s, strlen(s));
    else jbuf_puts(out, "null");
}

/* A decimal integer in [lo, hi] from parameter name, or def when absent.
** Returns 0, or -1 after writing the error body. */
static int int_param(const request *r, const char *name, int64_t lo, int64_t hi,
                     int64_t def, int64_t *out)
{
    const char *s = param(r, name);
    *out = def;
    if (!s) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be an integer from %lld to %lld", name,
                 (long long)lo, (long long)hi);
        fail(r, HTTP_BAD, msg);
        return -1;
    }
    *out = v;
    return 0;
}

/* A time bound from parameter name (RFC 3339 or YYYY-MM-DD, a bare date
** counting from the start or to the end of its day) into out, "" when
** absent.  Returns 0, or -1 after writing the error body. */
static int time_param(const request *r, const char *name, int end_of_day,
                      char out[TS_BUFLEN])
{
    const char *s = param(r, name);
    char why[200], msg[260];
    int64_t us;
    out[0] = '\0';
    if (!s) return 0;
    if (ts_parse(s, end_of_day, &us, why, sizeof why) != 0) {
        snprintf(msg, sizeof msg, "%s: %s", name, why);
        fail(r, HTTP_BAD, msg);
        return -1;
    }
    ts_format(us, out);
    return 0;
}

static int store_failed(const request *r, int rc, const char *err)
{
    return fail(r, rc == STORE_ENOTFOUND ? HTTP_NOTFOUND : HTTP_FAIL, err);
}

/* ---- /api/info ---------------------------------------------------------- */

static int get_info(viewer_api *api, const request *r)
{
    char err[STORE_ERRLEN], hash[CHAIN_HEX_LEN];
    int64_t head = 0, first = 0, last = 0;
    int rc;
    if ((rc = store_head(api->st, &head, hash, err)) != STORE_OK ||
        (rc = store_seq_range(api->st, &first, &last, err)) != STORE_OK)
        return store_failed(r, rc, err);
    jbuf *o = r->out;
    jbuf_putc(o, '{');
    key(o, "version", 1);
    jbuf_puts(o, "\"" DSS_VERSION "\"");
    key(o, "log_id", 0);
    str_or_null(o, store_log_id(api->st));
    key(o, "readonly", 0);
    jbuf_puts(o, store_readonly(api->st) ? "true" : "false");
    key(o, "head", 0);
    jbuf_puts(o, "{\"seq\":");
    jbuf_int(o, head);
    jbuf_puts(o, ",\"hash\":");
    str_or_null(o, hash);
    jbuf_putc(o, '}');
    key(o, "first_seq", 0);
    jbuf_int(o, first);
    key(o, "last_seq", 0);
    jbuf_int(o, last);
    key(o, "filters", 0);
    jbuf_puts(o, "[\"user\",\"project\",\"event_type\",\"operation\",\"server\","
                 "\"session\",\"since\",\"until\",\"q\"]");
    jbuf_putc(o, '}');
    return HTTP_OK;
}

/* ---- /api/entries ------------------------------------------------------- */

static int get_entries(viewer_api *api, const request *r)
{
    char since[TS_BUFLEN], until[TS_BUFLEN], before_at[TS_BUFLEN], err[STORE_ERRLEN];
    int64_t limit, before_seq;
    if (int_param(r, "limit", 1, VIEWER_PAGE_MAX, VIEWER_PAGE_DEFAULT, &limit) ||
        int_param(r, "before_seq", 1, INT64_MAX, 0, &before_seq) ||
        time_param(r, "since", 0, since) || time_param(r, "until", 1, until) ||
        time_param(r, "before_at", 0, before_at))
        return HTTP_BAD;
    store_query q = {
        .user_id = param(r, "user"), .project_id = param(r, "project"),
        .event_type = param(r, "event_type"), .operation_name = param(r, "operation"),
        .server = param(r, "server"), .session_id = param(r, "session"),
        .text = param(r, "q"), .since = since[0] ? since : NULL,
        .until = until[0] ? until : NULL, .limit = limit, .after_seq = before_seq,
        .after_created_at = before_at[0] ? before_at : NULL,
        .after_log_id = param(r, "before_log"), .log = param(r, "log"),
    };
    if ((q.since || q.until) && before_seq && !q.after_created_at)
        return fail(r, HTTP_BAD, "a time range pages with before_seq and before_at together");
    store_page page;
    entry_array rows = {.out = r->out};
    jbuf_puts(r->out, "{\"entries\":[");
    int rc = store_find_rows(api->st, &q, entry_array_add, &rows, &page, err);
    if (rc != STORE_OK) return store_failed(r, rc, err);
    jbuf_putc(r->out, ']');
    key(r->out, "more", 0);
    jbuf_puts(r->out, page.more ? "true" : "false");
    key(r->out, "next", 0);
    if (page.more) {
        jbuf_puts(r->out, "{\"before_seq\":");
        jbuf_int(r->out, page.last_seq);
        jbuf_puts(r->out, ",\"before_at\":");
        str_or_null(r->out, page.last_created_at);
        jbuf_puts(r->out, ",\"before_log\":");
        str_or_null(r->out, page.last_log_id);
        jbuf_putc(r->out, '}');
    } else {
        jbuf_puts(r->out, "null");
    }
    jbuf_putc(r->out, '}');
    return HTTP_OK;
}

/* ---- /api/entry --------------------------------------------------------- */

/* The entry at seq, through the timeline's own query: the newest entry
** before seq + 1.  STORE_ENOTFOUND when that is another entry (seq was
** pruned, or never existed). */
static int entry_at_seq(viewer_api *api, const request *r, int64_t seq)
{
    char err[STORE_ERRLEN];
    store_query q = {.limit = 1, .after_seq = seq + 1, .log = param(r, "log")};
    store_page page;
    entry_array one = {.out = r->out};
    jbuf_puts(r->out, "{\"entry\":");
    int rc = store_find_rows(api->st, &q, entry_array_add, &one, &page, err);
    if (rc != STORE_OK) return store_failed(r, rc, err);
    if (page.count != 1 || page.last_seq != seq) {
        snprintf(err, sizeof err, "no entry has seq %lld", (long long)seq);
        return fail(r, HTTP_NOTFOUND, err);
    }
    jbuf_putc(r->out, '}');
    return HTTP_OK;
}

static int get_entry(viewer_api *api, const request *r)
{
    const char *id = param(r, "id");
    char err[STORE_ERRLEN];
    cJSON *entry = NULL;
    int64_t seq;
    if (int_param(r, "seq", 1, INT64_MAX - 1, 0, &seq)) return HTTP_BAD;
    if (!id && seq) return entry_at_seq(api, r, seq);
    if (!id) return fail(r, HTTP_BAD, "id or seq is required");
    int rc = store_get(api->st, id, &entry, err);
    if (rc != STORE_OK) return store_failed(r, rc, err);
    jbuf_puts(r->out, "{\"entry\":");
    jbuf_tree(r->out, entry);
    jbuf_putc(r->out, '}');
    cJSON_Delete(entry);
    return HTTP_OK;
}

/* ---- /api/activity ------------------------------------------------------ */

typedef struct day_writer {
    jbuf *out;
    char day[16];  /* the day whose object is open, "" before the first */
} day_writer;

/* Rows come in day order: each new day closes the previous object. */
static int add_day_row(void *ctx, const char *day, const char *type, int64_t n,
                       int64_t errors)
{
    day_writer *w = ctx;
    int same = strcmp(w->day, day) == 0;
    if (!same) {
        if (w->day[0]) jbuf_puts(w->out, "}},");
        jbuf_puts(w->out, "{\"day\":");
        jbuf_string(w->out, day, strlen(day));
        jbuf_puts(w->out, ",\"by_type\":{");
        snprintf(w->day, sizeof w->day, "%s", day);
    } else {
        jbuf_putc(w->out, ',');
    }
    jbuf_string(w->out, type, strlen(type));
    jbuf_putc(w->out, ':');
    jbuf_int(w->out, n);
    return 0;
}

typedef struct user_writer {
    jbuf *out;
    int n;
} user_writer;

static int add_user_row(void *ctx, const char *user, const char *unused, int64_t n,
                        int64_t errors)
{
    user_writer *w = ctx;
    if (w->n++) jbuf_putc(w->out, ',');
    jbuf_puts(w->out, "{\"user_id\":");
    jbuf_string(w->out, user, strlen(user));
    jbuf_puts(w->out, ",\"entries\":");
    jbuf_int(w->out, n);
    jbuf_puts(w->out, ",\"errors\":");
    jbuf_int(w->out, errors);
    jbuf_putc(w->out, '}');
    return 0;
}

/* A row callback that keeps nothing: the page says what is needed. */
static int no_row(void *ctx, const entry_row *row)
{
    (void)ctx;
    (void)row;
    return 0;
}

/* The time of the newest entry, or now for an empty log. */
static int64_t newest_time(viewer_api *api)
{
    char err[STORE_ERRLEN];
    int64_t us = ts_now_us();
    store_query q = {.limit = 1};
    store_page page;
    if (store_find_rows(api->st, &q, no_row, NULL, &page, err) == STORE_OK && page.count)
        ts_parse(page.last_created_at, 0, &us, err, sizeof err);
    return us;
}

/* The window's days: given, else the 30 days up to the newest entry.
** Returns 0, or -1 after writing the error body. */
static int activity_window(viewer_api *api, const request *r, char since[16],
                           char until[16])
{
    char s[TS_BUFLEN], u[TS_BUFLEN];
    if (time_param(r, "since", 0, s) || time_param(r, "until", 1, u)) return -1;
    if (!u[0] || !s[0]) {
        char why[200];
        int64_t until_us;
        if (u[0]) ts_parse(u, 0, &until_us, why, sizeof why);
        else ts_format(until_us = newest_time(api), u);
        if (!s[0]) ts_format(until_us - 29LL * 86400 * 1000000, s);
    }
    snprintf(since, 16, "%.10s", s);
    snprintf(until, 16, "%.10s", u);
    if (strcmp(since, until) > 0) {
        fail(r, HTTP_BAD, "since is after until");
        return -1;
    }
    return 0;
}

static int get_activity(viewer_api *api, const request *r)
{
    char since[16], until[16], err[STORE_ERRLEN];
    const char *user = param(r, "user");
    if (activity_window(api, r, since, until) != 0) return HTTP_BAD;
    jbuf *o = r->out;
    jbuf_puts(o, "{\"since\":");
    jbuf_string(o, since, strlen(since));
    jbuf_puts(o, ",\"until\":");
    jbuf_string(o, until, strlen(until));
    jbuf_puts(o, ",\"user\":");
    str_or_null(o, user);
    jbuf_puts(o, ",\"days\":[");
    day_writer dw = {.out = o};
    int rc = store_activity_days(api->st, user, since, until, add_day_row, &dw, err);
    if (rc != STORE_OK) return store_failed(r, rc, err);
    if (dw.day[0]) jbuf_puts(o, "}}");
    jbuf_puts(o, "],\"users\":[");
    user_writer uw = {.out = o};
    rc = store_activity_users(api->st, since, until, add_user_row, &uw, err);
    if (rc != STORE_OK) return store_failed(r, rc, err);
    jbuf_puts(o, "]}");
    return HTTP_OK;
}

/* ---- /api/checkpoints --------------------------------------------------- */

typedef struct cp_ring {
    store_checkpoint cp[VIEWER_CHECKPOINTS_MAX];
    int64_t count;
} cp_ring;

static int keep_checkpoint(void *ctx, const store_checkpoint *cp)
{
    cp_ring *ring = ctx;
    ring->cp[ring->count++ % VIEWER_CHECKPOINTS_MAX] = *cp;
    return 0;
}

static int get_checkpoints(viewer_api *api, const request *r)
{
    char err[STORE_ERRLEN];
    cp_ring *ring = calloc(1, sizeof *ring);
    if (!ring) return fail(r, HTTP_FAIL, "out of memory");
    int rc = store_each_checkpoint(api->st, keep_checkpoint, ring, err);
    if (rc != STORE_OK) {
        free(ring);
        return store_failed(r, rc, err);
    }
    jbuf_puts(r->out, "{\"count\":");
    jbuf_int(r->out, ring->count);
    jbuf_puts(r->out, ",\"checkpoints\":[");
    int64_t shown = ring->count < VIEWER_CHECKPOINTS_MAX ? ring->count : VIEWER_CHECKPOINTS_MAX;
    for (int64_t i = 0; i < shown; i++) {
        const store_checkpoint *cp = &ring->cp[(ring->count - 1 - i) % VIEWER_CHECKPOINTS_MAX];
        cJSON *j = checkpoint_to_json(cp);
        if (!j || !cJSON_AddNumberToObject(j, "number", (double)cp->number)) jbuf_fail(r->out);
        if (i) jbuf_putc(r->out, ',');
        jbuf_tree(r->out, j);
        cJSON_Delete(j);
    }
    jbuf_puts(r->out, "]}");
    free(ring);
    return HTTP_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

int viewer_api_get(viewer_api *api, const char *path, viewer_param_fn param_fn,
                   void *ctx, jbuf *out)
{
    const char *bad = NULL;
    request r = {.param = param_fn, .ctx = ctx, .out = out, .bad = &bad};
    int status;
    if (strcmp(path, "/api/info") == 0) status = get_info(api, &r);
    else if (strcmp(path, "/api/entries") == 0) status = get_entries(api, &r);
    else if (strcmp(path, "/api/entry") == 0) status = get_entry(api, &r);
    else if (strcmp(path, "/api/activity") == 0) status = get_activity(api, &r);
    else if (strcmp(path, "/api/checkpoints") == 0) status = get_checkpoints(api, &r);
    else if (strcmp(path, "/api/verify") == 0 && api->verify) {
        viewer_verify_status(api->verify, out);
        status = HTTP_OK;
    } else if (strcmp(path, "/api/verify") == 0) {
        status = fail(&r, HTTP_NOTFOUND, "verification is not running");
    } else {
        status = fail(&r, HTTP_NOTFOUND, "no such API path");
    }
    /* The answer was made without that parameter: it is not the one asked for. */
    if (bad) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s is not valid UTF-8", bad);
        status = fail(&r, HTTP_BAD, msg);
    }
    return status;
}
