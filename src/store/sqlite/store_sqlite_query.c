/*
** store_sqlite_query.c: the SQLite backend's reads: history, trail,
** search, one entry, activity, and the command line's streaming walks.
**
** Each query shape (which filters are present) is one prepared statement,
** made at its first use and kept.  Rows go out as entry_rows (entry.h):
** store.c and the printer make entries of them.  Substring search narrows
** the candidates through the trigram index (FTS5) and decides with LIKE,
** so its results are exactly those of a scan.
*/
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/utf8.h"

/* A query's shape: the filters it uses (store_query_filters()) and this
** backend's own bits; each shape gets one cached prepared statement.  A
** text term is matched by LIKE (Q_TEXT), and narrowed through the trigram
** index first when it has three characters or more (Q_FTS). */
enum {
    Q_PROJECT = STORE_QF_PROJECT,
    Q_USER = STORE_QF_USER,
    Q_OPNAME = STORE_QF_OPNAME,
    Q_EVTYPE = STORE_QF_EVTYPE,
    Q_SINCE = STORE_QF_SINCE,
    Q_UNTIL = STORE_QF_UNTIL,
    Q_TEXT = STORE_QF_TEXT,
    Q_SERVER = STORE_QF_SERVER,
    Q_SESSION = STORE_QF_SESSION,
    Q_COMPLETES = STORE_QF_COMPLETES,
    Q_FTS = STORE_QF_NEXT,          /* substring through the trigram index */
    Q_CURSOR = STORE_QF_NEXT << 1,  /* keyset continuation after a previous page */
    Q_SEQ_CURSOR = STORE_QF_NEXT << 2, /* ... given by seq alone (no created_at) */
    Q_SHAPES = STORE_QF_NEXT << 3
};
_Static_assert(Q_SHAPES == SQ_SHAPES, "a cached statement per shape");

/* Terms of three or more characters can use the trigram index. */
static int fts_usable(const char *term)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)term; *p; p++)
        if ((*p & 0xC0) != 0x80) chars++;
    return chars >= 3;
}

static int shape_of(const store_query *q)
{
    return store_query_filters(q) | (q->text && fts_usable(q->text) ? Q_FTS : 0) |
           (q->after_seq > 0 ? Q_CURSOR | (q->after_created_at ? 0 : Q_SEQ_CURSOR) : 0);
}

/* The server filter, in the form idx_audit_server is declared with (its
** partial index condition spelled out, so the planner may use it). */
static const char server_match[] =
    "a.server IS NOT NULL AND json_extract(a.server, '$.name') = ?13";

/* Bind the filters every query and walk shares (numbered as in find_sql). */
static void bind_filters(sqlite3_stmt *st, const store_query *q)
{
    if (q->project_id) sq_bind_text(st, 1, q->project_id);
    if (q->user_id) sq_bind_text(st, 2, q->user_id);
    if (q->operation_name) sq_bind_text(st, 3, q->operation_name);
    if (q->event_type) sq_bind_text(st, 4, q->event_type);
    if (q->since) sq_bind_text(st, 5, q->since);
    if (q->until) sq_bind_text(st, 6, q->until);
    if (q->server) sq_bind_text(st, 13, q->server);
    if (q->session_id) sq_bind_text(st, 14, q->session_id);
    if (q->completes) sq_bind_text(st, 15, q->completes);
}

/* Whether a shape's rows come newest first by (created_at, seq) rather
** than by seq: the order the index most likely to be the narrowest gives
** without a sort.  The user, server and session filters have only indexes
** on the column and created_at (schema 11), so a shape with one of them
** goes by time, as does any time range; the completes filter (an entry's
** id: one or two rows) and the trigram index give seq order, and so do
** the project and operation filters' indexes (their keys end in the
** rowid) when nothing narrower is asked for.  The event type alone goes
** by time, through its (event_type, created_at) index.  Both orders are
** the same for every entry this store writes: each is given created_at
** under the write lock. */
static int by_time(int shape)
{
    if (shape & (Q_SINCE | Q_UNTIL)) return 1;
    /* A cursor of seq alone ("the newest entries before seq N", as the
    ** viewer finds one entry by its seq) asks for seq order. */
    if (shape & (Q_COMPLETES | Q_FTS | Q_SEQ_CURSOR)) return 0;
    if (shape & (Q_USER | Q_SERVER | Q_SESSION)) return 1;
    return !(shape & (Q_PROJECT | Q_OPNAME));
}

/* Build the SQL for one query shape.  Parameters are numbered so that
** binding does not depend on which filters are present.  The trigram index
** only narrows the candidates; the LIKE filter still decides, so results
** are exactly those of a scan. */
static void find_sql(int shape, char *buf, size_t len)
{
    int timed = by_time(shape);
    int n = snprintf(buf, len, "SELECT %s FROM %s WHERE 1", SQ_ENTRY_COLUMNS,
                     shape & Q_FTS
                         ? "audit_fts f JOIN audit_log a ON a.seq = f.rowid"
                         : "audit_log a");
    if (shape & Q_FTS) n += snprintf(buf + n, len - n, " AND audit_fts MATCH ?10");
    if (shape & Q_PROJECT) n += snprintf(buf + n, len - n, " AND a.project_id = ?1");
    if (shape & Q_USER) n += snprintf(buf + n, len - n, " AND a.user_id = ?2");
    if (shape & Q_OPNAME) n += snprintf(buf + n, len - n, " AND a.operation_name = ?3");
    if (shape & Q_EVTYPE) n += snprintf(buf + n, len - n, " AND a.event_type = ?4");
    if (shape & Q_SERVER) n += snprintf(buf + n, len - n, " AND %s", server_match);
    if (shape & Q_SESSION) n += snprintf(buf + n, len - n, " AND a.session_id = ?14");
    if (shape & Q_COMPLETES) n += snprintf(buf + n, len - n, " AND a.completes = ?15");
    if (shape & Q_SINCE) n += snprintf(buf + n, len - n, " AND a.created_at >= ?5");
    if (shape & Q_UNTIL) n += snprintf(buf + n, len - n, " AND a.created_at <= ?6");
    if (shape & Q_TEXT)
        n += snprintf(buf + n, len - n,
                      " AND (a.operation_name LIKE ?7 ESCAPE '\\'"
                      " OR a.error LIKE ?7 ESCAPE '\\')");
    /* The plain bound lets the date index seek to the cursor; the row
    ** value alone would be checked row by row from the newest entry on. */
    if ((shape & Q_CURSOR) && timed)
        n += snprintf(buf + n, len - n,
                      " AND a.created_at <= ?12 AND (a.created_at, a.seq) < (?12, ?11)");
    else if (shape & Q_CURSOR)
        n += snprintf(buf + n, len - n, " AND %s < ?11",
                      shape & Q_FTS ? "f.rowid" : "a.seq");
    if (timed)
        n += snprintf(buf + n, len - n, " ORDER BY a.created_at DESC, a.seq DESC");
    else
        n += snprintf(buf + n, len - n, " ORDER BY %s DESC",
                      shape & Q_FTS ? "f.rowid" : "a.seq");
    snprintf(buf + n, len - n, " LIMIT ?8 OFFSET ?9");
}

/* Append term[from, to) to w as an FTS5 string: quoted, quotes doubled. */
static char *fts_string(char *w, const char *from, const char *to)
{
    *w++ = '"';
    for (const char *c = from; c < to; c++) {
        if (*c == '"') *w++ = '"';
        *w++ = *c;
    }
    *w++ = '"';
    return w;
}

/* Where the UTF-8 character after p ends. */
static const char *next_char(const char *p)
{
    do p++;
    while ((*p & 0xC0) == 0x80);
    return p;
}

/* The FTS5 query that narrows a search for a literal term of three or more
** characters: its trigrams at characters 0, 3, 6, ... and the last one,
** each a string of its own, all required (implicit AND).  That covers the
** term, yet asks FTS5 for a third of the trigrams and no positions, where
** the term as one phrase would check every trigram's position list: half
** the time at a million entries.  Entries holding those trigrams apart are
** let through, and the LIKE filter, which decides anyway, drops them.
** Returns a new string the caller frees, or NULL. */
static char *fts_query(const char *term)
{
    size_t n = strlen(term);
    /* Each byte at most doubled, plus two quotes and a space per string,
    ** a string per three characters, and the last string overlapping the
    ** one before by at most two characters (eight bytes). */
    char *q = malloc(5 * n + 32), *w = q;
    if (!q) return NULL;
    const char *end = term + n, *at = term;
    for (;;) {
        const char *piece_end = next_char(next_char(next_char(at)));
        if (w != q) *w++ = ' ';
        w = fts_string(w, at, piece_end);
        if (piece_end == end) break;
        /* The next three characters, or the last three if fewer remain. */
        const char *probe = piece_end;
        int left = 0;
        while (probe < end && left < 3) probe = next_char(probe), left++;
        if (left == 3) {
            at = piece_end;
        } else {
            const char *last = end;
            for (int k = 0; k < 3; k++)
                do last--;
                while ((*last & 0xC0) == 0x80);
            at = last;
        }
    }
    *w = '\0';
    return q;
}

static int find_stmt(sqlite_store *s, int shape, sqlite3_stmt **out, char *err)
{
    if (!s->find[shape]) {
        char sql[2048];
        find_sql(shape, sql, sizeof sql);
        int rc = sq_prepare(s, sql, &s->find[shape], err);
        if (rc != STORE_OK) return rc;
    }
    *out = s->find[shape];
    return STORE_OK;
}

/* The EXPLAIN QUERY PLAN lines of one statement, one per line, into plan. */
static int explain(sqlite_store *s, const char *body, char *plan, size_t len, char *err)
{
    char sql[2200];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", body);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return sq_fail(s, rc, "explaining a query", err);
    size_t at = 0;
    plan[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && at < len) {
        int n = snprintf(plan + at, len - at, "%s\n", (const char *)sqlite3_column_text(st, 3));
        at += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(st);
    return STORE_OK;
}

int sq_explain_find(store *st, const store_query *q, char *plan, size_t len, char *err)
{
    sqlite_store *s = sq(st);
    char body[2048];
    find_sql(shape_of(q), body, sizeof body);
    return explain(s, body, plan, len, err);
}

int sq_explain_user_activity(store *store_, char *plan, size_t len, char *err)
{
    sqlite_store *s = sq(store_);
    static const int st[] = {ST_ACT_TYPES, ST_ACT_TYPES_BEFORE, ST_ACT_TOTALS};
    int rc = STORE_OK;
    plan[0] = '\0';
    for (size_t i = 0; rc == STORE_OK && i < sizeof st / sizeof *st; i++) {
        size_t at = strlen(plan);
        if (at + 1 >= len) break;
        rc = explain(s, sq_fixed_sql[st[i]], plan + at, len - at, err);
    }
    return rc;
}

/* Run q and hand each row (up to its limit) to fn. */
int sq_find(store *st, const store_query *q, store_row_fn fn, void *ctx, int *more,
            char *err)
{
    sqlite_store *s = sq(st);
    int shape = shape_of(q);
    sqlite3_stmt *find;
    *more = 0;
    int rc = find_stmt(s, shape, &find, err);
    if (rc == STORE_OK && (shape & Q_FTS)) rc = sq_derived_sync(s, err);
    if (rc != STORE_OK) return rc;
    char *pattern = NULL, *phrase = NULL;
    if (q->text && (!(pattern = store_like_pattern(q->text)) ||
                    ((shape & Q_FTS) && !(phrase = fts_query(q->text))))) {
        rc = STORE_ENOMEM;
        goto done;
    }
    bind_filters(find, q);
    if (pattern) sq_bind_text(find, 7, pattern);
    if (phrase) sq_bind_text(find, 10, phrase);
    if (shape & Q_CURSOR) {
        sqlite3_bind_int64(find, 11, q->after_seq);
        sq_bind_text(find, 12, q->after_created_at ? q->after_created_at : "");
    }
    /* One row past the limit tells whether more matched. */
    sqlite3_bind_int64(find, 8, q->limit + 1);
    sqlite3_bind_int64(find, 9, q->offset);
    int64_t got = 0;
    int src;
    while ((src = sqlite3_step(find)) == SQLITE_ROW) {
        if (got++ == q->limit) break;
        entry_row row;
        if ((rc = sq_row(s, find, &row)) == STORE_OK) rc = fn(ctx, &row);
        if (rc != STORE_OK) {
            if (rc > 0) rc = STORE_OK;
            goto done;
        }
        if (q->progress && got % 1000 == 0) q->progress(q->progress_ctx, got, q->limit);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sq_fail(s, src, "querying the audit log", err);
        goto done;
    }
    *more = got > q->limit;
done:
    sqlite3_reset(find);
    sqlite3_clear_bindings(find);
    free(pattern);
    free(phrase);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    return rc;
}

int sq_get(store *st, const char *id, store_row_fn fn, void *ctx, char *err)
{
    sqlite_store *s = sq(st);
    int rc;
    sqlite3_stmt *get = sq_stmt(s, ST_GET, &rc, err);
    if (!get) return rc;
    sq_bind_text(get, 1, id);
    int src = sqlite3_step(get);
    if (src == SQLITE_ROW) {
        entry_row row;
        if ((rc = sq_row(s, get, &row)) == STORE_OK) rc = fn(ctx, &row);
        if (rc > 0) rc = STORE_OK;
        if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    } else if (src == SQLITE_DONE) {
        snprintf(err, STORE_ERRLEN, "no audit entry has id '%.*s'", utf8_cut(id, 64), id);
        rc = STORE_ENOTFOUND;
    } else {
        rc = sq_fail(s, src, "reading the entry", err);
    }
    sqlite3_reset(get);
    sqlite3_clear_bindings(get);
    return rc;
}
/* One event type's counts while sq_user_activity() adds them up. */
typedef struct type_count {
    char *type;
    int64_t n, errors;
} type_count;

/* Most frequent first, ties by name (as SQL's ORDER BY n DESC, type). */
static int by_count(const void *a, const void *b)
{
    const type_count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->type, y->type);
}

/* Add a row's counts to its type's, found by a linear search: a user's
** entries have a dozen types or so.  STORE_OK or STORE_ENOMEM. */
static int count_type(type_count **tc, size_t *n, size_t *cap, const char *type,
                      int64_t count, int64_t errors)
{
    size_t i = 0;
    while (i < *n && strcmp((*tc)[i].type, type) != 0) i++;
    if (i == *n) {
        if (*n == *cap) {
            size_t grown = *cap ? 2 * *cap : 16;
            type_count *more = realloc(*tc, grown * sizeof *more);
            if (!more) return STORE_ENOMEM;
            *tc = more;
            *cap = grown;
        }
        if (!((*tc)[i].type = strdup(type))) return STORE_ENOMEM;
        (*tc)[i].n = (*tc)[i].errors = 0;
        (*n)++;
    }
    (*tc)[i].n += count;
    (*tc)[i].errors += errors;
    return STORE_OK;
}

int sq_user_activity(store *st, const char *user_id, const char *since, const char *log,
                     store_activity *out, char *err)
{
    sqlite_store *s = sq(st);
    int rc = STORE_OK, src;
    char day[11], day_end[16];
    type_count *tc = NULL;
    size_t ntc = 0, cap = 0;
    memset(out, 0, sizeof *out);
    snprintf(day, sizeof day, "%.10s", since);
    snprintf(day_end, sizeof day_end, "%.10sT99", since);
    /* since is ts_format()'s "YYYY-MM-DDTHH:...": before noon, the part of
    ** its day before it is the shorter one to read. */
    int before_noon = strlen(since) > 13 && strncmp(since + 11, "12", 2) < 0;
    if ((rc = sq_derived_sync(s, err)) != STORE_OK) return rc; /* inside a transaction */
    sqlite3_stmt *types = sq_stmt(s, before_noon ? ST_ACT_TYPES_BEFORE : ST_ACT_TYPES, &rc, err);
    sqlite3_stmt *proj = types ? sq_stmt(s, ST_ACT_TOTALS, &rc, err) : NULL;
    if (!proj) return rc;
    sq_bind_text(types, 1, user_id);
    sq_bind_text(types, 2, day);
    sq_bind_text(types, 3, since);
    if (!before_noon) sq_bind_text(types, 4, day_end);
    while ((src = sqlite3_step(types)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(types, 0);
        if (!type || count_type(&tc, &ntc, &cap, type, sqlite3_column_int64(types, 1),
                                sqlite3_column_int64(types, 2)) != STORE_OK) {
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(s, src, "counting the user's activity", err);
        goto done;
    }
    /* A type whose only entries on the first day came before the window
    ** adds up to nothing: it is not part of the window. */
    size_t kept = 0;
    for (size_t i = 0; i < ntc; i++) {
        if (tc[i].n > 0) tc[kept++] = tc[i];
        else free(tc[i].type);
    }
    ntc = kept;
    if (ntc) qsort(tc, ntc, sizeof *tc, by_count);
    if (!(out->by_type = cJSON_CreateObject())) {
        rc = STORE_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ntc; i++) {
        out->total += tc[i].n;
        out->errors += tc[i].errors;
        if (!cJSON_AddNumberToObject(out->by_type, tc[i].type, (double)tc[i].n)) {
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    sq_bind_text(proj, 1, user_id);
    sq_bind_text(proj, 2, since);
    if ((src = sqlite3_step(proj)) != SQLITE_ROW) {
        rc = sq_fail(s, src, "counting the user's projects", err);
        goto done;
    }
    out->projects = sqlite3_column_int64(proj, 0);
done:
    sqlite3_reset(types);
    sqlite3_clear_bindings(types);
    sqlite3_reset(proj);
    sqlite3_clear_bindings(proj);
    for (size_t i = 0; i < ntc; i++) free(tc[i].type);
    free(tc);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc != STORE_OK) {
        cJSON_Delete(out->by_type);
        out->by_type = NULL;
    }
    return rc;
}

/* The SQL for a walk; parameters numbered as in find_sql(). */
static void scan_sql(const store_scan *sc, char *buf, size_t len)
{
    const store_query *q = sc->filter;
    int n = snprintf(buf, len, "SELECT %s FROM audit_log a WHERE a.seq > ?11",
                     SQ_ENTRY_COLUMNS);
    if (q && q->project_id) n += snprintf(buf + n, len - n, " AND a.project_id = ?1");
    /* The user, event type, server and session filters are checked row by
    ** row (unary +): their only indexes also hold created_at (schema 11)
    ** and would deliver rows in time order, needing a sort to restore seq
    ** order. */
    if (q && q->user_id) n += snprintf(buf + n, len - n, " AND +a.user_id = ?2");
    if (q && q->operation_name)
        n += snprintf(buf + n, len - n, " AND a.operation_name = ?3");
    if (q && q->event_type) n += snprintf(buf + n, len - n, " AND +a.event_type = ?4");
    if (q && q->server)
        n += snprintf(buf + n, len - n,
                      " AND a.server IS NOT NULL AND +json_extract(a.server, '$.name') = ?13");
    if (q && q->session_id) n += snprintf(buf + n, len - n, " AND +a.session_id = ?14");
    if (q && q->completes) n += snprintf(buf + n, len - n, " AND a.completes = ?15");
    /* The unary + keeps the date indexes out: they would deliver rows in
    ** time order and need a sort, which holds rows in memory, to restore
    ** seq order.  Time bounds are checked row by row instead. */
    if (q && q->since) n += snprintf(buf + n, len - n, " AND +a.created_at >= ?5");
    if (q && q->until) n += snprintf(buf + n, len - n, " AND +a.created_at <= ?6");
    if (q && q->text)
        n += snprintf(buf + n, len - n,
                      " AND (a.operation_name LIKE ?7 ESCAPE '\\'"
                      " OR a.error LIKE ?7 ESCAPE '\\')");
    n += snprintf(buf + n, len - n, " ORDER BY a.seq %s",
                  sc->newest_first ? "DESC" : "ASC");
    if (sc->limit > 0) snprintf(buf + n, len - n, " LIMIT ?8");
}

int sq_each_match(store *store_, const store_scan *scan, store_row_fn fn, void *ctx,
                  char *err)
{
    sqlite_store *s = sq(store_);
    const store_query *q = scan->filter;
    sqlite3_stmt *st = NULL;
    char sql[2048], *pattern = NULL;
    int rc = STORE_OK, src;
    scan_sql(scan, sql, sizeof sql);
    if ((src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
        rc = sq_fail(s, src, "reading entries", err);
        goto done;
    }
    if (q && q->text && !(pattern = store_like_pattern(q->text))) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
        goto done;
    }
    sqlite3_bind_int64(st, 11, scan->after_seq);
    if (q) bind_filters(st, q);
    if (pattern) sq_bind_text(st, 7, pattern);
    if (scan->limit > 0) sqlite3_bind_int64(st, 8, scan->limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        entry_row row;
        if ((rc = sq_row(s, st, &row)) == STORE_OK) rc = fn(ctx, &row);
        if (rc != STORE_OK) {
            if (rc > 0) rc = STORE_OK;
            else if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE) rc = sq_fail(s, src, "reading entries", err);
done:
    sqlite3_finalize(st);
    free(pattern);
    return rc;
}

int sq_explain_each_match(store *s, const store_scan *scan, char *plan, size_t len,
                          char *err)
{
    char body[2048];
    scan_sql(scan, body, sizeof body);
    return explain(sq(s), body, plan, len, err);
}

/* ---- For the viewer (src/viewer): activity per day and per user ---------
** Both read the per-day counters (activity_daily: one row per user, day
** and event type), so their cost grows with users x days x types, never
** with the number of entries.  Entries without a user, which the counters
** do not hold, are read from audit_log through idx_audit_user_date
** (user_id IS NULL, then created_at). */

static int each_activity_row(sqlite_store *s, const char *sql, const char *doing,
                             const char *const bind[4], store_activity_fn fn, void *ctx,
                             char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_derived_sync(s, err); /* the counters, inside a transaction */
    if (rc == STORE_OK) rc = sq_prepare(s, sql, &st, err);
    if (rc != STORE_OK) return rc;
    /* Parameters a statement does not use are ignored (SQLITE_RANGE). */
    for (int i = 0; i < 4; i++) sq_bind_text(st, i + 1, bind[i]);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        const char *b = (const char *)sqlite3_column_text(st, 1);
        if (fn(ctx, a ? a : "", b ? b : "", sqlite3_column_int64(st, 2),
               sqlite3_column_int64(st, 3)) != 0) {
            src = SQLITE_DONE;
            break;
        }
    }
    if (src != SQLITE_DONE) rc = sq_fail(s, src, doing, err);
    sqlite3_finalize(st);
    return rc;
}

/* With a user: that user's counter rows, a range of the primary key.
** Without: every user's rows of the window, summed (the GROUP BY sorts
** counter rows, not entries), plus the entries that have no user. */
int sq_activity_days(store *st, const char *user_id, const char *since_day,
                     const char *until_day, const char *until_before, store_activity_fn fn,
                     void *ctx, char *err)
{
    static const char one_user[] =
        "SELECT day, event_type, n, errors FROM activity_daily"
        " WHERE user_id = ?4 AND day BETWEEN ?1 AND ?2 ORDER BY day, event_type";
    static const char all_users[] =
        "SELECT day, event_type, sum(n), sum(e) FROM ("
        "  SELECT day, event_type, n, errors AS e FROM activity_daily"
        "  WHERE day BETWEEN ?1 AND ?2"
        "  UNION ALL"
        "  SELECT substr(created_at, 1, 10), event_type, 1, error IS NOT NULL"
        "  FROM audit_log WHERE user_id IS NULL AND created_at >= ?1"
        "  AND created_at < ?3)"
        " GROUP BY day, event_type ORDER BY day, event_type";
    const char *bind[4] = {since_day, until_day, until_before, user_id};
    return each_activity_row(sq(st), user_id ? one_user : all_users,
                             "counting activity per day", bind, fn, ctx, err);
}

int sq_activity_users(store *st, const char *since_day, const char *until_day,
                      store_activity_fn fn, void *ctx, char *err)
{
    /* The primary key starts with user_id: grouped without a sort.  The
    ** second column is unused (""), to share the callback's shape. */
    static const char sql[] =
        "SELECT user_id, '', sum(n), sum(errors) FROM activity_daily"
        " WHERE day BETWEEN ?1 AND ?2 GROUP BY user_id ORDER BY user_id";
    const char *bind[4] = {since_day, until_day, NULL, NULL};
    return each_activity_row(sq(st), sql, "counting activity per user", bind, fn, ctx, err);
}
