/*
** store.c: the one door to storage.  store_open() picks the backend from
** the path (a PostgreSQL URI or keyword string, else a local SQLite file)
** and every other function forwards to the open backend, so the tools, the
** protocol, the relay, the hooks and the commands never know which it is.
*/
#include "store.h"
#include "sqlite/store_sqlite.h"
#include "pg/store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    sqlite_store *sq; /* exactly one of the two is set */
    pg_store *pg;
};

/* libpq's keyword strings start with a keyword and '=' ("host=/tmp
** dbname=audit"); a file path with '=' before any '/' is unlikely, and
** ./name=1.db still names a file. */
static int is_keyword_string(const char *p)
{
    static const char *const keys[] = {"host", "hostaddr", "port", "dbname", "user",
                                       "service", "password", "passfile", "sslmode",
                                       "application_name", "connect_timeout", "options"};
    while (*p == ' ' || *p == '\t') p++;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t n = strlen(keys[i]);
        if (strncmp(p, keys[i], n) != 0) continue;
        const char *q = p + n;
        while (*q == ' ') q++;
        if (*q == '=') return 1;
    }
    return 0;
}

int store_is_remote(const char *path)
{
    if (!path) return 0;
    return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0 ||
           is_keyword_string(path);
}

/* The password's span in path: [*from, *to), or 0 when it has none. */
static int password_span(const char *path, size_t *from, size_t *to)
{
    if (!store_is_remote(path)) return 0;
    const char *p;
    int uri = strncmp(path, "postgres", 8) == 0 && strstr(path, "://");
    if (uri) {
        /* scheme://user:password@host..., the userinfo ending at the last
        ** '@' before the path. */
        const char *auth = strstr(path, "://") + 3;
        const char *end = auth + strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *q = auth; q < end; q++)
            if (*q == '@') at = q;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            *from = (size_t)(colon + 1 - path);
            *to = (size_t)(at - path);
            return 1;
        }
    }
    /* password=... as a keyword (space separated, maybe quoted) or as a
    ** URI parameter (& or ? separated). */
    for (p = path; (p = strstr(p, "password")) != NULL; p += 8) {
        int starts = p == path || p[-1] == ' ' || p[-1] == '?' || p[-1] == '&' || p[-1] == '\t';
        const char *q = p + 8;
        while (*q == ' ') q++;
        if (!starts || *q != '=') continue;
        q++;
        while (*q == ' ') q++;
        const char *v = q;
        if (*q == '\'') {
            for (q++; *q && *q != '\''; q++)
                if (*q == '\\' && q[1]) q++;
            if (*q) q++;
        } else {
            q += strcspn(q, uri ? "&#" : " \t");
        }
        *from = (size_t)(v - path);
        *to = (size_t)(q - path);
        return 1;
    }
    return 0;
}

void store_redact_path(const char *path, char *out, size_t len)
{
    size_t from, to;
    if (!len) return;
    if (!path) path = "";
    if (!password_span(path, &from, &to)) {
        snprintf(out, len, "%s", path);
        return;
    }
    snprintf(out, len, "%.*s***%s", (int)from, path, path + to);
    /* A second password= (libpq takes the last) is masked too. */
    if (strstr(out + from + 3, "password")) {
        char rest[1024];
        store_redact_path(out + from + 3, rest, sizeof rest);
        snprintf(out + from + 3, len - from - 3, "%s", rest);
    }
}

void store_wipe_password(char *path)
{
    size_t from, to, at = 0;
    while (path && password_span(path + at, &from, &to)) {
        memset(path + at + from, 'x', to - from);
        at += to;
    }
}

int store_open(const store_options *opt, store **out, char *err)
{
    *out = NULL;
    store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    int rc = store_is_remote(opt->path) ? pg_store_open(opt, &s->pg, err)
                                        : sqlite_store_open(opt, &s->sq, err);
    if (rc != STORE_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return STORE_OK;
}

void store_close(store *s)
{
    if (!s) return;
    if (s->pg) pg_store_close(s->pg);
    if (s->sq) sqlite_store_close(s->sq);
    free(s);
}

const char *store_backend(const store *s) { return s->pg ? "postgresql" : "sqlite"; }

sqlite_store *store_as_sqlite(store *s) { return s->sq; }
pg_store *store_as_pg(store *s) { return s->pg; }

void store_set_interrupt(store *s, int (*fn)(void *ctx), void *ctx)
{
    if (s->pg) pg_store_set_interrupt(s->pg, fn, ctx);
    else sqlite_store_set_interrupt(s->sq, fn, ctx);
}

int store_readonly(const store *s)
{
    return s->pg ? pg_store_readonly(s->pg)
                 : sqlite_store_readonly(s->sq);
}

const char *store_log_id(const store *s)
{
    return s->pg ? pg_store_log_id(s->pg)
                 : sqlite_store_log_id(s->sq);
}

const char *store_log_name(const store *s)
{
    return s->pg ? pg_store_log_name(s->pg)
                 : sqlite_store_log_name(s->sq);
}

int store_each_log(store *s, store_log_fn fn, void *ctx, char *err)
{
    return s->pg ? pg_store_each_log(s->pg, fn, ctx, err)
                 : sqlite_store_each_log(s->sq, fn, ctx, err);
}

int store_use_log(store *s, const char *log, char *err)
{
    return s->pg ? pg_store_use_log(s->pg, log, err)
                 : sqlite_store_use_log(s->sq, log, err);
}

int store_record_log_key(store *s, const char *pk, char *err)
{
    return s->pg ? pg_store_record_log_key(s->pg, pk, err)
                 : sqlite_store_record_log_key(s->sq, pk, err);
}

int store_begin(store *s, char *err)
{
    return s->pg ? pg_store_begin(s->pg, err)
                 : sqlite_store_begin(s->sq, err);
}

int store_commit(store *s, char *err)
{
    return s->pg ? pg_store_commit(s->pg, err)
                 : sqlite_store_commit(s->sq, err);
}

void store_rollback(store *s)
{
    if (s->pg) pg_store_rollback(s->pg);
    else sqlite_store_rollback(s->sq);
}

int store_in_transaction(const store *s)
{
    return s->pg ? pg_store_in_transaction(s->pg)
                 : sqlite_store_in_transaction(s->sq);
}

int64_t store_tx(const store *s)
{
    return s->pg ? pg_store_tx(s->pg)
                 : sqlite_store_tx(s->sq);
}

int store_tx_has_writes(const store *s)
{
    return s->pg ? pg_store_tx_has_writes(s->pg)
                 : sqlite_store_tx_has_writes(s->sq);
}

int64_t store_take_lost_tx(store *s)
{
    return s->pg ? pg_store_take_lost_tx(s->pg)
                 : sqlite_store_take_lost_tx(s->sq);
}

int store_idle(store *s, char *err)
{
    return s->pg ? pg_store_idle(s->pg, err)
                 : sqlite_store_idle(s->sq, err);
}

int store_savepoint(store *s, char *err)
{
    return s->pg ? pg_store_savepoint(s->pg, err)
                 : sqlite_store_savepoint(s->sq, err);
}

void store_savepoint_release(store *s)
{
    if (s->pg) pg_store_savepoint_release(s->pg);
    else sqlite_store_savepoint_release(s->sq);
}

void store_savepoint_rollback(store *s)
{
    if (s->pg) pg_store_savepoint_rollback(s->pg);
    else sqlite_store_savepoint_rollback(s->sq);
}

int store_append(store *s, const store_record *rec, store_receipt *out, char *err)
{
    return s->pg ? pg_store_append(s->pg, rec, out, err)
                 : sqlite_store_append(s->sq, rec, out, err);
}

int store_find(store *s, const store_query *q, cJSON **entries, int *more_out, char *err)
{
    return s->pg ? pg_store_find(s->pg, q, entries, more_out, err)
                 : sqlite_store_find(s->sq, q, entries, more_out, err);
}

int store_find_json(store *s, const store_query *q, jbuf *out, store_page *page, char *err)
{
    return s->pg ? pg_store_find_json(s->pg, q, out, page, err)
                 : sqlite_store_find_json(s->sq, q, out, page, err);
}

int store_get(store *s, const char *id, cJSON **entry, char *err)
{
    return s->pg ? pg_store_get(s->pg, id, entry, err)
                 : sqlite_store_get(s->sq, id, entry, err);
}

int store_user_activity(store *s, const char *user_id, const char *since, store_activity *out, char *err)
{
    return s->pg ? pg_store_user_activity(s->pg, user_id, since, out, err)
                 : sqlite_store_user_activity(s->sq, user_id, since, out, err);
}

int store_head(store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    return s->pg ? pg_store_head(s->pg, seq, hash, err)
                 : sqlite_store_head(s->sq, seq, hash, err);
}

int store_hash_at(store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    return s->pg ? pg_store_hash_at(s->pg, seq, hash, err)
                 : sqlite_store_hash_at(s->sq, seq, hash, err);
}

int store_find_hash(store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err)
{
    return s->pg ? pg_store_find_hash(s->pg, hash, seq, err)
                 : sqlite_store_find_hash(s->sq, hash, seq, err);
}

int store_last_checkpoint(store *s, store_checkpoint *out, char *err)
{
    return s->pg ? pg_store_last_checkpoint(s->pg, out, err)
                 : sqlite_store_last_checkpoint(s->sq, out, err);
}

int store_last_anchor(store *s, store_checkpoint *out, char *err)
{
    return s->pg ? pg_store_last_anchor(s->pg, out, err)
                 : sqlite_store_last_anchor(s->sq, out, err);
}

int store_add_checkpoint(store *s, store_checkpoint *cp, char *err)
{
    return s->pg ? pg_store_add_checkpoint(s->pg, cp, err)
                 : sqlite_store_add_checkpoint(s->sq, cp, err);
}

int store_each_checkpoint(store *s, store_checkpoint_fn fn, void *ctx, char *err)
{
    return s->pg ? pg_store_each_checkpoint(s->pg, fn, ctx, err)
                 : sqlite_store_each_checkpoint(s->sq, fn, ctx, err);
}

int store_each_entry(store *s, int64_t from, store_entry_fn fn, void *ctx, char *err)
{
    return s->pg ? pg_store_each_entry(s->pg, from, fn, ctx, err)
                 : sqlite_store_each_entry(s->sq, from, fn, ctx, err);
}

int store_missing_guards(store *s, char *what, size_t len, char *err)
{
    return s->pg ? pg_store_missing_guards(s->pg, what, len, err)
                 : sqlite_store_missing_guards(s->sq, what, len, err);
}

int store_prune(store *s, const char *before, store_keep_fn keep, void *ctx, int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err)
{
    return s->pg ? pg_store_prune(s->pg, before, keep, ctx, last_seq, last_hash, err)
                 : sqlite_store_prune(s->sq, before, keep, ctx, last_seq, last_hash, err);
}

int store_ensure_log(store *s, const store_log *log, char *err)
{
    return s->pg ? pg_store_ensure_log(s->pg, log, err)
                 : sqlite_store_ensure_log(s->sq, log, err);
}

int store_import(store *s, const store_raw_entry *e, size_t n, int64_t *stored, int64_t *skipped, char *err)
{
    return s->pg ? pg_store_import(s->pg, e, n, stored, skipped, err)
                 : sqlite_store_import(s->sq, e, n, stored, skipped, err);
}

int store_import_checkpoint(store *s, const store_checkpoint *cp, int *stored, char *err)
{
    return s->pg ? pg_store_import_checkpoint(s->pg, cp, stored, err)
                 : sqlite_store_import_checkpoint(s->sq, cp, stored, err);
}

int store_each_match(store *s, const store_scan *scan, store_match_fn fn, void *ctx, char *err)
{
    return s->pg ? pg_store_each_match(s->pg, scan, fn, ctx, err)
                 : sqlite_store_each_match(s->sq, scan, fn, ctx, err);
}

int store_seq_range(store *s, int64_t *first, int64_t *last, char *err)
{
    return s->pg ? pg_store_seq_range(s->pg, first, last, err)
                 : sqlite_store_seq_range(s->sq, first, last, err);
}

int store_nth_newest_seq(store *s, int64_t n, int64_t *seq, char *err)
{
    return s->pg ? pg_store_nth_newest_seq(s->pg, n, seq, err)
                 : sqlite_store_nth_newest_seq(s->sq, n, seq, err);
}

int store_get_stats(store *s, int top_users, store_progress_fn progress, void *ctx, store_stats *out, char *err)
{
    return s->pg ? pg_store_get_stats(s->pg, top_users, progress, ctx, out, err)
                 : sqlite_store_get_stats(s->sq, top_users, progress, ctx, out, err);
}

int store_activity_days(store *s, const char *user_id, const char *since_day, const char *until_day, store_activity_fn fn, void *ctx, char *err)
{
    return s->pg ? pg_store_activity_days(s->pg, user_id, since_day, until_day, fn, ctx, err)
                 : sqlite_store_activity_days(s->sq, user_id, since_day, until_day, fn, ctx, err);
}

int store_activity_users(store *s, const char *since_day, const char *until_day, store_activity_fn fn, void *ctx, char *err)
{
    return s->pg ? pg_store_activity_users(s->pg, since_day, until_day, fn, ctx, err)
                 : sqlite_store_activity_users(s->sq, since_day, until_day, fn, ctx, err);
}

int store_set_cache_size(store *s, int kib, char *err)
{
    return s->pg ? pg_store_set_cache_size(s->pg, kib, err)
                 : sqlite_store_set_cache_size(s->sq, kib, err);
}
