/*
** store.c: the one door to storage, and what every backend shares.
**
** store_open() asks each backend (store_methods.h) whether the path is its
** own and opens the first that says so; every other function calls through
** the open store's table.  Around those calls, this file does the work
** that must be the same whatever the backend:
**
** - Appends: store_append() is the one place where a new entry gets its id
**   (uuid7), its seq, its time and its chain hash (chain.c), and whatever
**   else is derived from an entry as it is written; the backend stores the
**   finished row.
** - Imports: store_import() checks a shipped batch against the chain with
**   the same rules (chain_link_problem()) before the backend stores any.
** - Entries: backends hand back rows (entry.h); entries as cJSON objects
**   and pages' cursors are made here, with the one printer.
** - A backend of one log (no STORE_CAP_MANY_LOGS) never sees another log
**   named: queries of another log match nothing, selecting one fails.
*/
#include "store_methods.h"
#include "store_testing.h"
#include "tree_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "../util/jsoncheck.h"
#include "../util/utf8.h"
#include "../util/uuid7.h"

_Static_assert(ENTRY_ENOMEM == STORE_ENOMEM, "a row callback fails with STORE_ENOMEM");

/* Asked in this order: the local file backend takes any path, so last. */
static const store_methods *const backends[] = {&pg_store_methods, &sqlite_store_methods};

static const store_methods *backend_for(const char *path)
{
    size_t n = sizeof backends / sizeof *backends;
    for (size_t i = 0; i + 1 < n; i++)
        if (backends[i]->claims(path)) return backends[i];
    return backends[n - 1];
}

int store_is_remote(const char *path)
{
    return path && backend_for(path)->remote;
}

void store_redact_path(const char *path, char *out, size_t len)
{
    if (!len) return;
    if (!path) path = "";
    const store_methods *m = backend_for(path);
    if (m->redact_path) m->redact_path(path, out, len);
    else snprintf(out, len, "%s", path);
}

void store_wipe_password(char *path)
{
    if (!path) return;
    const store_methods *m = backend_for(path);
    if (m->wipe_password) m->wipe_password(path);
}

int store_open(const store_options *opt, store **out, char *err)
{
    *out = NULL;
    int rc = backend_for(opt->path)->open(opt, out, err);
    /* The tree's state, and any tree that lags built (store_tree.c). */
    if (rc == STORE_OK && (rc = tree_open(*out, opt, err)) != STORE_OK) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

void store_close(store *s)
{
    if (!s) return;
    tree_close(s);
    s->m->close(s);
}

const char *store_backend(const store *s) { return s->m->name; }

unsigned store_capabilities(const store *s) { return s->m->caps; }

static int has(const store *s, unsigned cap) { return (s->m->caps & cap) != 0; }

void store_set_interrupt(store *s, int (*fn)(void *ctx), void *ctx)
{
    s->m->set_interrupt(s, fn, ctx);
}

int store_readonly(const store *s) { return s->m->readonly(s); }

/* ---- logs ---- */

const char *store_log_id(const store *s) { return s->m->log_id(s); }

const char *store_log_name(const store *s) { return s->m->log_name(s); }

/* For a store of one log: whether `log` (an id or a name) names another. */
static int other_log(const store *s, const char *log)
{
    return log && !has(s, STORE_CAP_MANY_LOGS) && strcmp(log, store_log_id(s)) != 0 &&
           strcmp(log, store_log_name(s)) != 0;
}

static int not_this_log(const store *s, const char *log, char *err)
{
    snprintf(err, STORE_ERRLEN, "this database holds the log %s (%s), not %.*s",
             store_log_name(s), store_log_id(s), utf8_cut(log, 64), log);
    return STORE_ENOTFOUND;
}

int store_each_log(store *s, store_log_fn fn, void *ctx, char *err)
{
    return s->m->each_log(s, fn, ctx, err);
}

typedef struct log_list {
    store_log *v;
    size_t n;
    int oom;
} log_list;

static int collect_log(void *ctx, const store_log *log)
{
    log_list *l = ctx;
    store_log *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) {
        l->oom = 1;
        return 1;
    }
    l->v = v;
    l->v[l->n++] = *log;
    return 0;
}

int store_list_logs(store *s, store_log **logs, size_t *n, char *err)
{
    log_list l = {0};
    int rc = store_each_log(s, collect_log, &l, err);
    if (rc == STORE_OK && l.oom) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
    }
    if (rc != STORE_OK) {
        free(l.v);
        l.v = NULL;
        l.n = 0;
    }
    *logs = l.v;
    *n = l.n;
    return rc;
}

int store_use_log(store *s, const char *log, char *err)
{
    if (has(s, STORE_CAP_MANY_LOGS)) return s->m->use_log(s, log, err);
    return other_log(s, log) ? not_this_log(s, log, err) : STORE_OK;
}

int store_record_log_key(store *s, const char *pk, char *err)
{
    return s->m->record_log_key(s, pk, err);
}

/* ---- transactions ---- */

/* Around the backend's transactions, the tree's (store_tree.c): the
** hashes an append made wait until the commit, which hands them to the
** backend first; a transaction that does not commit takes them back. */
int store_begin(store *s, char *err)
{
    int rc = s->m->begin(s, err);
    if (rc == STORE_OK) tree_begin(s);
    return rc;
}

int store_commit(store *s, char *err)
{
    if (!s->in_tx) return s->m->commit(s, err);
    int rc = tree_precommit(s, err);
    if (rc != STORE_OK) {
        s->m->rollback(s);
        tree_end(s, 0);
        return rc;
    }
    rc = s->m->commit(s, err);
    tree_end(s, rc == STORE_OK);
    return rc;
}

void store_rollback(store *s)
{
    s->m->rollback(s);
    tree_end(s, 0);
}

int store_in_transaction(const store *s) { return s->in_tx; }

int64_t store_tx(const store *s) { return s->in_tx ? s->tx_id : 0; }

int store_tx_has_writes(const store *s) { return s->in_tx && s->tx_writes > 0; }

int64_t store_take_lost_tx(store *s)
{
    int64_t lost = s->lost_tx;
    s->lost_tx = 0;
    return lost;
}

int store_idle(store *s, char *err) { return s->m->idle ? s->m->idle(s, err) : STORE_OK; }

int store_moved(store *s) { return s->m->moved ? s->m->moved(s) : 0; }

int store_savepoint(store *s, char *err)
{
    int rc = s->m->savepoint(s, err);
    if (rc == STORE_OK && tree_savepoint(s) != 0) {
        s->m->savepoint_release(s);
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    return rc;
}

void store_savepoint_release(store *s)
{
    s->m->savepoint_release(s);
    tree_savepoint_release(s);
}

void store_savepoint_rollback(store *s)
{
    s->m->savepoint_rollback(s);
    tree_savepoint_rollback(s);
}

/* ---- appends ---- */

/* A store_record's string members, checked against ENTRY_FIELDS: each
** field the caller gives is copied by name (a field missing from
** store_record does not compile), and store_record holds nothing else but
** the duration (the size check catches a member the list lacks). */
#define FROM_STORE_SEQ(name)
#define FROM_STORE_TEXT(name)
#define FROM_STORE_HASH(name)
#define FROM_CALLER_TEXT(name) f->name = rec->name;
#define FROM_CALLER_JSON FROM_CALLER_TEXT
#define FROM_CALLER_INT(name) \
    _Static_assert(ENTRY_F_##name == ENTRY_F_duration_ms, "store_record has no " #name);
#define X_FROM(name, type, nullable, hash_at, since, by) FROM_##by##_##type(name)
#define X_CALLER_STRINGS(name, type, nullable, hash_at, since, by) \
    +(sizeof #by == sizeof "CALLER" && ENTRY_##type != ENTRY_INT)
struct duration_members {
    int has_duration;
    int64_t duration_ms;
};
_Static_assert(sizeof(store_record) == (0 ENTRY_FIELDS(X_CALLER_STRINGS)) * sizeof(const char *) +
                                           sizeof(struct duration_members),
               "store_record holds the CALLER fields of ENTRY_FIELDS and nothing else");

/*
** The one preparation of a new entry, for every backend: the id embeds the
** same instant as created_at (in milliseconds; an id the caller chose,
** store_append_as(), embeds the instant it was chosen, a little earlier),
** seq follows the head, and
** the hash covers every field after the head's hash.  duration_ms is
** hashed as the decimal text an integer column gives back.  Whatever else
** is derived from an entry as it is written belongs here too (its leaf of
** the log's Merkle tree: store_append() hands the hash to tree_append()).
** e's strings point into rec, out and duration (24 bytes).
*/
static void prepare_entry(const store_record *rec, const char *id, const store_tip *head,
                          store_receipt *out, char duration[24], store_raw_entry *e)
{
    chain_fields *f = &e->f;
    int64_t now = ts_now_us();
    memset(e, 0, sizeof *e);
    if (id)
        snprintf(out->id, sizeof out->id, "%s", id);
    else
        uuid7_next(now / 1000, out->id);
    out->seq = head->seq + 1;
    ts_format(now, out->created_at);
    ENTRY_FIELDS(X_FROM)
    f->seq = out->seq;
    f->id = out->id;
    f->created_at = out->created_at;
    if (rec->has_duration) {
        snprintf(duration, 24, "%lld", (long long)rec->duration_ms);
        f->duration_ms = duration;
    }
    memcpy(e->prev_hash, head->hash, CHAIN_HASH_BYTES);
    chain_entry_hash(f, e->prev_hash, e->hash);
    e->hashes_ok = 1;
    chain_hex(e->hash, out->hash);
}

int store_append(store *s, const store_record *rec, store_receipt *out, char *err)
{
    return store_append_as(s, rec, NULL, out, err);
}

int store_append_as(store *s, const store_record *rec, const char *id, store_receipt *out,
                    char *err)
{
    if (id && !store_uuid_ok(id)) {
        snprintf(err, STORE_ERRLEN, "the entry id '%.*s' is not a lower-case UUID", utf8_cut(id,
                 40), id);
        return STORE_EINVAL;
    }
    if (!store_in_transaction(s)) {
        snprintf(err, STORE_ERRLEN, "append outside a transaction");
        return STORE_EINVAL;
    }
    store_tip head;
    int rc = s->m->append_head(s, &head, err);
    if (rc != STORE_OK) return rc;
    store_raw_entry e;
    char duration[24];
    prepare_entry(rec, id, &head, out, duration, &e);
    if ((rc = tree_append(s, &head, e.hash, err)) != STORE_OK) return rc;
    rc = s->m->append_row(s, &e, err);
    if (rc != STORE_OK) tree_append_failed(s);
    return rc;
}

/* ---- reading entries ---- */

/* A row callback of store.c's around the caller's: it counts, keeps the
** cursor and remembers a failure of its own (which the backend passes
** back as its return code). */
typedef struct relay {
    store_row_fn row;     /* the caller's callback: one of these three */
    store_match_fn match;
    store_entry_fn entry;
    void *ctx;
    store_page *page;
    int failed; /* a STORE_E* code of store.c's own, or 0 */
} relay;

static int finish(const relay *r, int rc, char *err)
{
    if (r->failed && rc == r->failed && rc == STORE_ENOMEM)
        snprintf(err, STORE_ERRLEN, "out of memory");
    return rc;
}

/* A text value into dst (len bytes), "" for NULL. */
static void copy_value(const entry_value *v, char *dst, size_t len)
{
    size_t n = v->p ? v->len : 0;
    if (n >= len) n = len - 1;
    memcpy(dst, v->p ? v->p : "", n);
    dst[n] = '\0';
}

static int paged_row(void *ctx, const entry_row *row)
{
    relay *r = ctx;
    int rc = r->row(r->ctx, row);
    if (rc < 0) return rc;
    store_page *p = r->page;
    p->count++;
    p->last_seq = row->seq;
    copy_value(&row->v[ENTRY_F_created_at], p->last_created_at, sizeof p->last_created_at);
    copy_value(&row->log_id, p->last_log_id, sizeof p->last_log_id);
    return rc;
}

int store_find_rows(store *s, const store_query *q, store_row_fn fn, void *ctx,
                    store_page *page, char *err)
{
    store_page ignored;
    if (!page) page = &ignored;
    memset(page, 0, sizeof *page);
    if (other_log(s, q->log)) return STORE_OK;
    store_query one = *q;
    if (!has(s, STORE_CAP_MANY_LOGS)) one.log = NULL;
    relay r = {.row = fn, .ctx = ctx, .page = page};
    return s->m->find(s, &one, paged_row, &r, &page->more, err);
}

static int add_entry(void *ctx, const entry_row *row)
{
    relay *r = ctx;
    cJSON *e = entry_cjson(row);
    if (!e || !cJSON_AddItemToArray(r->ctx, e)) {
        cJSON_Delete(e);
        return r->failed = STORE_ENOMEM;
    }
    return 0;
}

int store_find(store *s, const store_query *q, cJSON **entries, int *more_out, char *err)
{
    store_page page;
    relay r = {.ctx = cJSON_CreateArray()};
    if (!r.ctx) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    int rc = finish(&r, store_find_rows(s, q, add_entry, &r, &page, err), err);
    if (rc != STORE_OK) {
        cJSON_Delete(r.ctx);
        return rc;
    }
    *entries = r.ctx;
    if (more_out) *more_out = page.more;
    return STORE_OK;
}

static int one_entry(void *ctx, const entry_row *row)
{
    relay *r = ctx;
    if (!(*(cJSON **)r->ctx = entry_cjson(row))) return r->failed = STORE_ENOMEM;
    return 1;
}

int store_get(store *s, const char *id, cJSON **entry, char *err)
{
    relay r = {.ctx = entry};
    *entry = NULL;
    return finish(&r, s->m->get(s, id, one_entry, &r, err), err);
}

/* Each row of a walk as an entry object, borrowed for the call. */
static int match_entry(void *ctx, const entry_row *row)
{
    relay *r = ctx;
    cJSON *e = entry_cjson(row);
    if (!e) return r->failed = STORE_ENOMEM;
    int stop = r->match(r->ctx, e);
    cJSON_Delete(e);
    return stop ? 1 : 0;
}

int store_match_rows(store *s, const store_scan *scan, store_row_fn fn, void *ctx, char *err)
{
    store_query one;
    store_scan sc = *scan;
    if (scan->filter) {
        if (other_log(s, scan->filter->log)) return STORE_OK;
        one = *scan->filter;
        if (!has(s, STORE_CAP_MANY_LOGS)) one.log = NULL;
        sc.filter = &one;
    }
    int rc = s->m->each_match(s, &sc, fn, ctx, err);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    return rc;
}

int store_each_match(store *s, const store_scan *scan, store_match_fn fn, void *ctx, char *err)
{
    relay r = {.match = fn, .ctx = ctx};
    return finish(&r, store_match_rows(s, scan, match_entry, &r, err), err);
}

int store_user_activity(store *s, const char *user_id, const char *since, const char *log,
                        store_activity *out, char *err)
{
    if (other_log(s, log)) {
        memset(out, 0, sizeof *out);
        if (!(out->by_type = cJSON_CreateObject())) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            return STORE_ENOMEM;
        }
        return STORE_OK;
    }
    return s->m->user_activity(s, user_id, since, has(s, STORE_CAP_MANY_LOGS) ? log : NULL,
                               out, err);
}

int store_activity_days(store *s, const char *user_id, const char *since_day,
                        const char *until_day, store_activity_fn fn, void *ctx, char *err)
{
    /* until_day is inclusive: every created_at of that day sorts before
    ** "<day>U" ('U' > 'T'). */
    char until_before[16];
    snprintf(until_before, sizeof until_before, "%.10sU", until_day);
    return s->m->activity_days(s, user_id, since_day, until_day, until_before, fn, ctx, err);
}

int store_activity_users(store *s, const char *since_day, const char *until_day,
                         store_activity_fn fn, void *ctx, char *err)
{
    return s->m->activity_users(s, since_day, until_day, fn, ctx, err);
}

int store_seq_range(store *s, int64_t *first, int64_t *last, char *err)
{
    return s->m->seq_range(s, first, last, err);
}

int store_nth_newest_seq(store *s, int64_t n, int64_t *seq, char *err)
{
    return s->m->nth_newest_seq(s, n, seq, err);
}

int store_get_stats(store *s, const char *log, int top_users, store_progress_fn progress,
                    void *ctx, store_stats *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (other_log(s, log)) return not_this_log(s, log, err);
    int rc = s->m->get_stats(s, has(s, STORE_CAP_MANY_LOGS) ? log : NULL, top_users,
                             progress, ctx, out, err);
    if (rc != STORE_OK) store_stats_free(out);
    return rc;
}

void store_stats_free(store_stats *st)
{
    cJSON_Delete(st->by_event_type);
    cJSON_Delete(st->top_users);
    free(st->logs);
    st->by_event_type = st->top_users = NULL;
    st->logs = NULL;
    st->n_logs = 0;
}

int store_set_cache_size(store *s, int kib, char *err)
{
    return s->m->set_cache_size ? s->m->set_cache_size(s, kib, err) : STORE_OK;
}

/* ---- integrity ---- */

int store_head(store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    s->heads_read++;
    return s->m->head(s, seq, hash, err);
}

int store_hash_at(store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    return s->m->hash_at(s, seq, hash, err);
}

int store_find_hash(store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err)
{
    return s->m->find_hash(s, hash, seq, err);
}

int store_last_checkpoint(store *s, store_checkpoint *out, char *err)
{
    return s->m->last_checkpoint(s, out, err);
}

int store_last_anchor(store *s, store_checkpoint *out, char *err)
{
    return s->m->last_anchor(s, out, err);
}

int store_add_checkpoint(store *s, store_checkpoint *cp, char *err)
{
    return s->m->add_checkpoint(s, cp, err);
}

/* Counts what each_checkpoint hands on (store_testing_checkpoints_read()). */
typedef struct cp_relay {
    store *s;
    store_checkpoint_fn fn;
    void *ctx;
} cp_relay;

static int relay_checkpoint(void *ctx, const store_checkpoint *cp)
{
    cp_relay *r = ctx;
    r->s->checkpoints_read++;
    return r->fn(r->ctx, cp);
}

int store_each_checkpoint_after(store *s, int64_t after, store_checkpoint_fn fn, void *ctx,
                                char *err)
{
    cp_relay r = {s, fn, ctx};
    return s->m->each_checkpoint(s, after, relay_checkpoint, &r, err);
}

int store_each_checkpoint(store *s, store_checkpoint_fn fn, void *ctx, char *err)
{
    return store_each_checkpoint_after(s, 0, fn, ctx, err);
}

int64_t store_testing_heads_read(store *s) { return s->heads_read; }

int64_t store_testing_checkpoints_read(store *s)
{
    return s->checkpoints_read;
}

void store_raw_of_row(const entry_row *row, store_raw_entry *e)
{
    e->hashes_ok = entry_row_fields(row, &e->f, e->prev_hash, e->hash);
}

static int raw_entry(void *ctx, const entry_row *row)
{
    relay *r = ctx;
    store_raw_entry e;
    store_raw_of_row(row, &e);
    return r->entry(r->ctx, &e) != 0;
}

int store_each_entry(store *s, int64_t from, store_entry_fn fn, void *ctx, char *err)
{
    relay r = {.entry = fn, .ctx = ctx};
    return s->m->each_entry(s, from, raw_entry, &r, err);
}

/* A row with the selected log's id and name where the backend left
** them out (a walk of one log need not read them per row). */
typedef struct named_relay {
    store *s;
    store_row_fn fn;
    void *ctx;
} named_relay;

static int named_row(void *ctx, const entry_row *row)
{
    named_relay *r = ctx;
    if (row->log_id.p && row->log.p) return r->fn(r->ctx, row);
    entry_row named = *row;
    if (!named.log_id.p) {
        named.log_id.p = store_log_id(r->s);
        named.log_id.len = strlen(named.log_id.p);
    }
    if (!named.log.p) {
        named.log.p = store_log_name(r->s);
        named.log.len = strlen(named.log.p);
    }
    return r->fn(r->ctx, &named);
}

int store_each_row(store *s, int64_t from, store_row_fn fn, void *ctx, char *err)
{
    named_relay r = {.s = s, .fn = fn, .ctx = ctx};
    int rc = s->m->each_entry(s, from, named_row, &r, err);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    return rc > 0 ? STORE_OK : rc;
}

/* ---- ship cursors ---- */

static int no_cursors(const store *s, char *err)
{
    snprintf(err, STORE_ERRLEN, "a %s store keeps no ship cursors", s->m->name);
    return STORE_EINVAL;
}

int store_cursor_load(store *s, const char *log_id, const char *key, store_sink_cursor *out,
                      char *err)
{
    if (!has(s, STORE_CAP_SINK_CURSORS)) return no_cursors(s, err);
    return s->m->cursor_load(s, log_id, key, out, err);
}

int store_cursor_save(store *s, const store_sink_cursor *c, char *err)
{
    if (!has(s, STORE_CAP_SINK_CURSORS)) return no_cursors(s, err);
    return s->m->cursor_save(s, c, err);
}

int store_each_cursor(store *s, store_cursor_fn fn, void *ctx, char *err)
{
    if (!has(s, STORE_CAP_SINK_CURSORS)) return no_cursors(s, err);
    return s->m->each_cursor(s, fn, ctx, err);
}

int store_cursor_lock(store *s, const char *key, char *err)
{
    if (!has(s, STORE_CAP_SINK_CURSORS)) return no_cursors(s, err);
    return s->m->cursor_lock(s, key, err);
}

int store_missing_guards(store *s, char *what, size_t len, char *err)
{
    if (has(s, STORE_CAP_GUARDS)) return s->m->missing_guards(s, what, len, err);
    if (len) what[0] = '\0';
    return STORE_OK;
}

int store_prune(store *s, const char *before, store_keep_fn keep, void *ctx,
                int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err)
{
    *last_seq = 0;
    last_hash[0] = '\0';
    if (!store_in_transaction(s)) {
        snprintf(err, STORE_ERRLEN, "prune outside a transaction");
        return STORE_EINVAL;
    }
    return s->m->prune(s, before, keep, ctx, last_seq, last_hash, err);
}

/* ---- shipping another log in ---- */

static int own_log_only(const store *s, char *err)
{
    snprintf(err, STORE_ERRLEN,
             "a %s store holds only its own log; ship it to PostgreSQL instead",
             store_backend(s));
    return STORE_EINVAL;
}

int store_ensure_log(store *s, const store_log *log, char *err)
{
    if (has(s, STORE_CAP_IMPORT)) return s->m->ensure_log(s, log, err);
    return strcmp(log->log_id, store_log_id(s)) == 0 ? STORE_OK : own_log_only(s, err);
}

static int canonical_int(const char *t)
{
    char *end, back[24];
    long long v = strtoll(t, &end, 10);
    snprintf(back, sizeof back, "%lld", v);
    return *end == '\0' && strcmp(back, t) == 0;
}

/* Why an entry cannot be stored exactly as it came, into why[len], or
** NULL when it can: the fields its schema requires present, its text valid
** UTF-8 by RFC 3629 (what PostgreSQL takes; the one check the JSON scan
** makes), an integer field the decimal text its column gives back, and
** created_at at least a month (the partition it goes to). */
static const char *unstorable(const chain_fields *f, char *why, size_t len)
{
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *d = &entry_fields[c];
        if (d->chain_off == ENTRY_NO_MEMBER) continue;
        const char *v = *(const char *const *)((const char *)f + d->chain_off);
        const char *bad;
        size_t at;
        if (!v) {
            if (d->nullable) continue;
            snprintf(why, len, "lacks field %s", d->name);
            return why;
        }
        if (d->type == ENTRY_INT) {
            if (canonical_int(v)) continue;
            snprintf(why, len, "has field %s not a plain decimal integer", d->name);
            return why;
        }
        if ((bad = jsoncheck_utf8(v, strlen(v), &at))) {
            snprintf(why, len, "has field %s not valid UTF-8 (%s at byte %zu)", d->name, bad, at);
            return why;
        }
    }
    if (strlen(f->created_at) >= 7) return NULL;
    snprintf(why, len, "has a created_at without a month");
    return why;
}

/* Compares a re-sent batch's entries with the stored ones, seq by seq. */
typedef struct resent {
    const store_raw_entry *e;
    size_t n;   /* entries of the batch at or below the head */
    size_t at;  /* the next to compare */
    int64_t bad_seq; /* the first that differs, or 0 */
} resent;

static int compare_stored(void *ctx, int64_t seq, const uint8_t *hash)
{
    resent *r = ctx;
    while (r->at < r->n && r->e[r->at].f.seq < seq) r->at++;
    if (r->at == r->n) return 1;
    const store_raw_entry *x = &r->e[r->at];
    if (x->f.seq != seq) return 0;
    if (memcmp(hash, x->hash, CHAIN_HASH_BYTES) != 0 ||
        !chain_entry_matches(&x->f, x->f.seq, x->prev_hash, x->hash)) {
        r->bad_seq = seq;
        return 1;
    }
    return 0;
}

int store_import(store *s, const store_raw_entry *e, size_t n, int64_t *stored,
                 int64_t *skipped, char *err)
{
    *stored = *skipped = 0;
    if (!has(s, STORE_CAP_IMPORT)) return own_log_only(s, err);
    if (!store_in_transaction(s)) {
        snprintf(err, STORE_ERRLEN, "an import outside a transaction");
        return STORE_EINVAL;
    }
    store_tip h;
    int rc = s->m->import_head(s, &h, err);
    if (rc != STORE_OK || n == 0) return rc;
    const char *log = store_log_id(s);

    /* The whole batch is checked before anything is stored. */
    for (size_t k = 1; k < n; k++) {
        if (e[k].f.seq != e[0].f.seq + (int64_t)k) {
            snprintf(err, STORE_ERRLEN, "entry %lld does not follow entry %lld in the batch",
                     (long long)e[k].f.seq, (long long)e[k - 1].f.seq);
            return STORE_EINVAL;
        }
    }
    if (e[0].f.seq < 1) {
        snprintf(err, STORE_ERRLEN, "entry %lld: seq starts at 1", (long long)e[0].f.seq);
        return STORE_EINVAL;
    }
    /* Entries up to the head must be the stored ones (an entry retention
    ** removed cannot be compared: it is skipped). */
    size_t i = 0;
    while (i < n && e[i].f.seq <= h.seq) i++;
    if (i > 0) {
        resent r = {e, i, 0, 0};
        rc = s->m->stored_hashes(s, e[0].f.seq, e[i - 1].f.seq, compare_stored, &r, err);
        if (rc != STORE_OK) return rc;
        if (r.bad_seq) {
            snprintf(err, STORE_ERRLEN, "entry %lld differs from the one stored in log %s",
                     (long long)r.bad_seq, log);
            return STORE_EINVAL;
        }
    }
    /* The rest must continue the chain from the head. */
    uint8_t prev[CHAIN_HASH_BYTES];
    char problem[160];
    memcpy(prev, h.hash, CHAIN_HASH_BYTES);
    for (size_t k = i; k < n; k++) {
        const store_raw_entry *x = &e[k];
        const char *why = chain_link_problem(&x->f, x->hashes_ok, x->prev_hash, x->hash,
                                             h.seq + 1 + (int64_t)(k - i), prev);
        if (!why) why = unstorable(&x->f, problem, sizeof problem);
        if (why) {
            snprintf(err, STORE_ERRLEN,
                     "entry %lld of log %s %s; nothing of the batch was stored",
                     (long long)x->f.seq, log, why);
            return STORE_EINVAL;
        }
        memcpy(prev, x->hash, CHAIN_HASH_BYTES);
    }
    *skipped = (int64_t)i;
    if (i == n) return STORE_OK;
    rc = s->m->import_rows(s, e + i, n - i, err);
    /* The same tree as the log's own copy: the same leaves, in order. */
    if (rc == STORE_OK) rc = tree_import(s, &h, e + i, n - i, err);
    if (rc == STORE_OK) *stored = (int64_t)(n - i);
    return rc;
}

int store_import_checkpoint(store *s, const store_checkpoint *cp, int *stored, char *err)
{
    *stored = 0;
    if (!has(s, STORE_CAP_IMPORT)) return own_log_only(s, err);
    if (!store_in_transaction(s)) {
        snprintf(err, STORE_ERRLEN, "an import outside a transaction");
        return STORE_EINVAL;
    }
    return s->m->import_checkpoint(s, cp, stored, err);
}

/* ---- shared by the backends ---- */

int store_query_filters(const store_query *q)
{
    return (q->project_id ? STORE_QF_PROJECT : 0) | (q->user_id ? STORE_QF_USER : 0) |
           (q->operation_name ? STORE_QF_OPNAME : 0) | (q->event_type ? STORE_QF_EVTYPE : 0) |
           (q->since ? STORE_QF_SINCE : 0) | (q->until ? STORE_QF_UNTIL : 0) |
           (q->text ? STORE_QF_TEXT : 0) | (q->server ? STORE_QF_SERVER : 0) |
           (q->session_id ? STORE_QF_SESSION : 0) | (q->completes ? STORE_QF_COMPLETES : 0);
}

char *store_like_pattern(const char *term)
{
    size_t n = strlen(term);
    char *p = malloc(2 * n + 3), *w = p;
    if (!p) return NULL;
    *w++ = '%';
    for (const char *c = term; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') *w++ = '\\';
        *w++ = *c;
    }
    *w++ = '%';
    *w = '\0';
    return p;
}

int store_uuid_ok(const char *id)
{
    for (int i = 0; i < 36; i++) {
        char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23 ? c != '-'
                                                    : !((c >= '0' && c <= '9') ||
                                                        (c >= 'a' && c <= 'f')))
            return 0;
    }
    return id[36] == '\0';
}

void store_random_uuid(char out[37])
{
    /* The bytes come from libsodium's generator, which needs no system call
    ** per UUID (libuuid's makes six); libuuid only formats them. */
    uuid_t u;
    randombytes_buf(u, sizeof u);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    uuid_unparse_lower(u, out);
}

/* ---- for tests (store_testing.h) ---- */

static int no_plan(const store *s, char *err)
{
    snprintf(err, STORE_ERRLEN, "the %s backend shows no query plans", store_backend(s));
    return STORE_EINVAL;
}

int store_testing_explain_find(store *s, const store_query *q, char *plan, size_t len,
                               char *err)
{
    return s->m->explain_find ? s->m->explain_find(s, q, plan, len, err) : no_plan(s, err);
}

int store_testing_explain_each_match(store *s, const store_scan *scan, char *plan, size_t len,
                                     char *err)
{
    return s->m->explain_each_match ? s->m->explain_each_match(s, scan, plan, len, err)
                                    : no_plan(s, err);
}

int store_testing_find_plans(store *s, int64_t *generic, int64_t *custom, char *err)
{
    return s->m->find_plans ? s->m->find_plans(s, generic, custom, err) : no_plan(s, err);
}

int64_t store_testing_round_trips(store *s)
{
    return s->m->round_trips ? s->m->round_trips(s) : -1;
}

int store_testing_explain_user_activity(store *s, char *plan, size_t len, char *err)
{
    return s->m->explain_user_activity ? s->m->explain_user_activity(s, plan, len, err)
                                       : no_plan(s, err);
}
