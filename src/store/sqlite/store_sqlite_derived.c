/*
** store_sqlite_derived.c: what a transaction adds to the search index and
** the activity counters, fed from the entries the writer already holds.
**
** Each appended row leaves here a copy of the six fields the derived
** tables read (operation name, error, user, project, time, event type).
** Just before COMMIT (or before a search or an activity count inside the
** transaction) sq_pending_flush() hands them to audit_fts one row per
** INSERT ... VALUES, and to the counters aggregated in C: the rows sorted
** by their key, one upsert per distinct (user, day, event type) and per
** distinct (user, project).  Nothing is read back from audit_log, which is
** what the grouped INSERT ... SELECT of schema 10 did at every commit.
**
** A request's savepoint marks the list; rolling the savepoint back cuts
** the list back to the mark, so rows the savepoint undid are never
** indexed or counted, and since it also undoes any feed made after the
** mark (a search inside the request), the rows from before the mark that
** this feed took are fed again at the next flush.  The FTS5 inserts run with no savepoint open (at
** commit the recorder's are all released), so FTS5 keeps their terms in
** memory and writes one segment for the transaction, as before.
*/
#include "sqlite_int.h"
#include "../store_testing.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_TEXT UINT32_MAX

enum { P_OP, P_ERROR, P_USER, P_PROJECT, P_CREATED, P_TYPE, P_FIELDS };
_Static_assert((int)P_FIELDS == (int)SQ_PENDING_FIELDS, "a pending row keeps each field's offset");

static const char fts_sql[] =
    "INSERT INTO audit_fts(rowid, operation_name, error) VALUES (?1, ?2, ?3)";
static const char daily_sql[] =
    "INSERT INTO activity_daily VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT DO UPDATE SET n = n + excluded.n, errors = errors + excluded.errors";
static const char projects_sql[] =
    "INSERT INTO activity_projects VALUES (?1, ?2, ?3)"
    " ON CONFLICT DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)";

/* Copy v (with its NUL) to the end of p->buf; its offset, or NO_TEXT for
** NULL, or -1 without memory. */
static int64_t keep(sq_pending *p, const char *v)
{
    if (!v) return NO_TEXT;
    size_t n = strlen(v) + 1;
    if (p->len + n >= NO_TEXT) return -1;
    if (p->len + n > p->bcap) {
        size_t cap = p->bcap ? p->bcap : 4096;
        while (cap < p->len + n) cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) return -1;
        p->buf = b;
        p->bcap = cap;
    }
    memcpy(p->buf + p->len, v, n);
    p->len += n;
    return (int64_t)(p->len - n);
}

int sq_pending_add(sq_pending *p, int64_t seq, const char *operation_name,
                   const char *error, const char *user_id, const char *project_id,
                   const char *created_at, const char *event_type)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 128;
        sq_pending_row *r = realloc(p->rows, cap * sizeof *r);
        if (!r) return STORE_ENOMEM;
        p->rows = r;
        p->cap = cap;
    }
    const char *v[P_FIELDS] = {operation_name, error, user_id, project_id, created_at,
                               event_type};
    sq_pending_row *r = &p->rows[p->n];
    size_t len = p->len;
    r->seq = seq;
    for (int i = 0; i < P_FIELDS; i++) {
        int64_t off = keep(p, v[i]);
        if (off < 0) {
            p->len = len;
            return STORE_ENOMEM;
        }
        r->off[i] = (uint32_t)off;
    }
    p->n++;
    return STORE_OK;
}

void sq_pending_drop_last(sq_pending *p)
{
    if (p->n <= p->fed) return;
    const sq_pending_row *r = &p->rows[--p->n];
    for (int i = 0; i < P_FIELDS; i++)
        if (r->off[i] != NO_TEXT) {
            p->len = r->off[i]; /* the row's first copy: its fields are kept in order */
            break;
        }
}

int sq_pending_mark(sq_pending *p)
{
    if (p->nmarks == p->mcap) {
        size_t cap = p->mcap ? 2 * p->mcap : 8;
        sq_pending_mark_t *m = realloc(p->marks, cap * sizeof *m);
        if (!m) return STORE_ENOMEM;
        p->marks = m;
        p->mcap = cap;
    }
    p->marks[p->nmarks].n = p->n;
    p->marks[p->nmarks].len = p->len;
    p->marks[p->nmarks].fed = p->fed;
    p->nmarks++;
    return STORE_OK;
}

void sq_pending_release(sq_pending *p)
{
    if (p->nmarks) p->nmarks--;
}

void sq_pending_rollback(sq_pending *p)
{
    if (!p->nmarks) return;
    p->nmarks--;
    const sq_pending_mark_t *m = &p->marks[p->nmarks];
    p->n = m->n;
    p->len = m->len;
    /* The rollback undid every feed made since the mark, rows from before
    ** it included: those are fed again at the next flush. */
    if (p->fed > m->fed) p->fed = m->fed;
}

void sq_pending_clear(sq_pending *p)
{
    p->n = p->len = p->fed = 0;
    p->nmarks = 0;
}

void sq_pending_free(sq_pending *p)
{
    sqlite3_finalize(p->fts);
    sqlite3_finalize(p->daily);
    sqlite3_finalize(p->projects);
    free(p->rows);
    free(p->buf);
    free(p->marks);
    memset(p, 0, sizeof *p);
}

/* A row and the buffer its offsets point into: C11's qsort passes no
** context to its comparison, so each element carries its own. */
typedef struct {
    const sq_pending_row *r;
    const char *buf;
} ref;

static const char *text(const ref *x, int field)
{
    return x->r->off[field] == NO_TEXT ? NULL : x->buf + x->r->off[field];
}

/* Days compare on the time's first 10 characters (YYYY-MM-DD). */
static int by_day_key(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    int c = strcmp(text(x, P_USER), text(y, P_USER));
    if (!c) c = strncmp(text(x, P_CREATED), text(y, P_CREATED), 10);
    if (!c) c = strcmp(text(x, P_TYPE), text(y, P_TYPE));
    return c;
}

static int by_project_key(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    int c = strcmp(text(x, P_USER), text(y, P_USER));
    return c ? c : strcmp(text(x, P_PROJECT), text(y, P_PROJECT));
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (*st) return SQLITE_OK;
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void bind(sqlite3_stmt *st, int i, const char *v, int n)
{
    if (v) sqlite3_bind_text(st, i, v, n, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

static int feed_fts(sq_pending *p, sqlite3 *db)
{
    int rc = prepare(db, fts_sql, &p->fts);
    for (size_t i = p->fed; rc == SQLITE_OK && i < p->n; i++) {
        ref x = {&p->rows[i], p->buf};
        sqlite3_bind_int64(p->fts, 1, x.r->seq);
        bind(p->fts, 2, text(&x, P_OP), -1);
        bind(p->fts, 3, text(&x, P_ERROR), -1);
        rc = step(p->fts);
    }
    return rc;
}

/* Sort refs by cmp and run st once per run of equal keys, bound by bind
** from the run's rows. */
static int feed_runs(sqlite3_stmt *st, ref *refs, size_t n,
                     int (*cmp)(const void *, const void *),
                     void (*bind_run)(sqlite3_stmt *st, const ref *run, size_t len))
{
    int rc = SQLITE_OK;
    qsort(refs, n, sizeof *refs, cmp);
    for (size_t i = 0, j; rc == SQLITE_OK && i < n; i = j) {
        for (j = i + 1; j < n && cmp(&refs[i], &refs[j]) == 0; j++)
            ;
        bind_run(st, refs + i, j - i);
        rc = step(st);
    }
    return rc;
}

/* One (user, day, event type): its count and its errors. */
static void bind_day(sqlite3_stmt *st, const ref *run, size_t len)
{
    int64_t errors = 0;
    for (size_t i = 0; i < len; i++) errors += text(&run[i], P_ERROR) != NULL;
    bind(st, 1, text(run, P_USER), -1);
    const char *at = text(run, P_CREATED);
    bind(st, 2, at, (int)strnlen(at, 10)); /* the day: substr(created_at, 1, 10) */
    bind(st, 3, text(run, P_TYPE), -1);
    sqlite3_bind_int64(st, 4, (int64_t)len);
    sqlite3_bind_int64(st, 5, errors);
}

/* One (user, project): its latest time. */
static void bind_project(sqlite3_stmt *st, const ref *run, size_t len)
{
    const char *last = text(run, P_CREATED);
    for (size_t i = 1; i < len; i++)
        if (strcmp(text(&run[i], P_CREATED), last) > 0) last = text(&run[i], P_CREATED);
    bind(st, 1, text(run, P_USER), -1);
    bind(st, 2, text(run, P_PROJECT), -1);
    bind(st, 3, last, -1);
}

int sq_pending_flush(sq_pending *p, sqlite3 *db, const char **doing)
{
    ref *refs = NULL;
    size_t n = 0;
    int rc = SQLITE_OK;
    if (p->fed == p->n) return SQLITE_OK;
    *doing = "indexing the entries for search";
    if ((rc = feed_fts(p, db)) != SQLITE_OK) goto done;
    if (!(refs = malloc((p->n - p->fed) * sizeof *refs))) {
        rc = SQLITE_NOMEM;
        goto done;
    }
    for (size_t i = p->fed; i < p->n; i++)
        if (p->rows[i].off[P_USER] != NO_TEXT) refs[n++] = (ref){&p->rows[i], p->buf};
    *doing = "counting the entries' activity";
    if ((rc = prepare(db, daily_sql, &p->daily)) != SQLITE_OK ||
        (rc = feed_runs(p->daily, refs, n, by_day_key, bind_day)) != SQLITE_OK)
        goto done;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (refs[i].r->off[P_PROJECT] != NO_TEXT) refs[m++] = refs[i];
    *doing = "noting the entries' projects";
    if ((rc = prepare(db, projects_sql, &p->projects)) == SQLITE_OK)
        rc = feed_runs(p->projects, refs, m, by_project_key, bind_project);
done:
    free(refs);
    if (rc == SQLITE_OK) {
        /* Fed.  With a savepoint open the rows are kept: rolling it back
        ** undoes this feed, and the rows from before it must go in again. */
        p->fed = p->n;
        if (!p->nmarks) p->n = p->len = p->fed = 0;
    }
    return rc;
}

/* The benchmark floor's handle on the same code (store_testing.h). */
struct store_testing_derived {
    sq_pending p;
};

store_testing_derived *store_testing_sqlite_derived_new(void)
{
    return calloc(1, sizeof(store_testing_derived));
}

int store_testing_sqlite_derived_add(store_testing_derived *d, int64_t seq,
                                     const char *operation_name, const char *error,
                                     const char *user_id, const char *project_id,
                                     const char *created_at, const char *event_type)
{
    return sq_pending_add(&d->p, seq, operation_name, error, user_id, project_id,
                          created_at, event_type);
}

int store_testing_sqlite_derived_flush(store_testing_derived *d, sqlite3 *db)
{
    const char *doing;
    return sq_pending_flush(&d->p, db, &doing);
}

void store_testing_sqlite_derived_free(store_testing_derived *d)
{
    if (!d) return;
    sq_pending_free(&d->p);
    free(d);
}
