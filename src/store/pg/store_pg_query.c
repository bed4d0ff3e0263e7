/*
** store_pg_query.c: the reads of the PostgreSQL backend, over every log of
** the central database: history, trail, search, one entry, activity,
** streaming walks and statistics.
**
** Rows go out as entry_rows (entry.h); store.c and the printer make
** entries of them, exactly as of the SQLite backend's, with the log's id
** and name at the end.  Queries run newest first by (created_at, log_id,
** seq) across logs, which every query index ends with, so history and trail
** read an index in order and stop at the limit: no sort, whatever the
** number of logs.  A cursor is that triple, so pages stay put while entries
** arrive on any log.
**
** Every query shape (which filters are present) is one prepared statement
** per connection (pgs_run()), numbered parameters only: no value is ever
** spliced into SQL.  Statements are sent asynchronously and waited for in
** slices, so the interrupt callback can cancel them (PQcancel).
*/
#include "../../util/utf8.h"
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parameters of one statement, in the order of their $n. */
typedef struct params {
    const char *v[20];
    int n;
    char num[4][24]; /* numbers as text */
} params;

/* Run sql with p's parameters: prepared once per connection under the
** number slot, or once (slot 0).  Returns the result or NULL with *rc set. */
static PGresult *pgq_run(pg_store *s, int slot, const char *sql, const params *p, int *rc,
                         const char *doing, char *err)
{
    return pgs_run(s, slot, sql, p->n, p->v, rc, doing, err);
}

static int64_t int_at(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- the names of logs ----------------------------------------------------
**
** Every entry a read returns carries its log's name.  A scalar subquery
** per row (SELECT name FROM logs WHERE log_id = e.log_id) cost a trail of
** 101 rows 101 scans of dss_audit.logs, 0.2-0.5 ms of the
** server's time, and planning it each time; a log's name never changes
** (dss_audit.logs_guard), so the names are cached here instead, sorted by
** log_id, and fetched once for each log a connection meets.
*/

static int name_cmp(const void *key, const void *item)
{
    return strcmp(key, ((const pg_log_name *)item)->log_id);
}

static const pg_log_name *name_find(const pg_store *s, const char *log_id)
{
    return s->nnames ? bsearch(log_id, s->names, s->nnames, sizeof *s->names, name_cmp) : NULL;
}

/* Insert (log_id, name) in order; -1 when memory runs out. */
static int name_add(pg_store *s, const char *log_id, const char *name)
{
    size_t at = 0;
    while (at < s->nnames && strcmp(s->names[at].log_id, log_id) < 0) at++;
    if (at < s->nnames && strcmp(s->names[at].log_id, log_id) == 0) return 0;
    if (s->nnames == s->names_cap) {
        size_t cap = s->names_cap ? s->names_cap * 2 : 16;
        pg_log_name *n = realloc(s->names, cap * sizeof *n);
        if (!n) return -1;
        s->names = n;
        s->names_cap = cap;
    }
    pg_log_name item = {strdup(log_id), strdup(name)};
    if (!item.log_id || !item.name) {
        free(item.log_id);
        free(item.name);
        return -1;
    }
    memmove(&s->names[at + 1], &s->names[at], (s->nnames - at) * sizeof *s->names);
    s->names[at] = item;
    s->nnames++;
    return 0;
}

void pgs_names_free(pg_store *s)
{
    for (size_t i = 0; i < s->nnames; i++) {
        free(s->names[i].log_id);
        free(s->names[i].name);
    }
    free(s->names);
    s->names = NULL;
    s->nnames = s->names_cap = 0;
}

/* Append log_id to b as an element of a PostgreSQL array literal. */
static void array_element(jbuf *b, const char *log_id)
{
    if (b->len > 1) jbuf_putc(b, ',');
    jbuf_putc(b, '"');
    for (const char *c = log_id; *c; c++) {
        if (*c == '"' || *c == '\\') jbuf_putc(b, '\\');
        jbuf_putc(b, *c);
    }
    jbuf_putc(b, '"');
}

int pgs_name_rows(pg_store *s, const PGresult *r, char *err)
{
    jbuf ids = {0};
    int rows = PQntuples(r), rc = STORE_OK;
    jbuf_putc(&ids, '{');
    for (int i = 0; i < rows; i++) {
        const char *id = PQgetvalue(r, i, ENTRY_NFIELDS);
        if (PQgetisnull(r, i, ENTRY_NFIELDS) || name_find(s, id)) continue;
        /* The own and the selected log are known without asking (unless
        ** a name filled its buffer: it may have been cut). */
        const char *known = !strcmp(id, s->own_id) ? s->own_name
                            : !strcmp(id, s->sel_id) ? s->sel_name
                                                     : NULL;
        if (known && (!known[0] || strlen(known) >= STORE_LOG_NAME_MAX - 1)) known = NULL;
        if (known) {
            if (name_add(s, id, known) != 0) {
                rc = STORE_ENOMEM;
                goto done;
            }
            continue;
        }
        /* Rows come in time order, so a log's rows seldom follow each
        ** other: a log named twice is looked up twice, which is harmless. */
        array_element(&ids, id);
    }
    if (ids.len == 1 || ids.failed) {
        rc = ids.failed ? STORE_ENOMEM : STORE_OK;
        goto done;
    }
    jbuf_putc(&ids, '}');
    jbuf_putc(&ids, '\0');
    if (ids.failed) {
        rc = STORE_ENOMEM;
        goto done;
    }
    const char *p[1] = {ids.p};
    PGresult *res = pgs_run(s, PG_SLOT_LOG_NAMES,
                            "SELECT log_id, name FROM dss_audit.logs WHERE log_id = ANY($1::text[])",
                            1, p, &rc, "reading the names of logs", err);
    if (!res) goto done;
    for (int i = 0; rc == STORE_OK && i < PQntuples(res); i++)
        if (name_add(s, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) != 0) rc = STORE_ENOMEM;
    PQclear(res);
done:
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    jbuf_free(&ids);
    return rc;
}

void pgs_row_named(pg_store *s, const PGresult *r, int row, entry_row *e)
{
    pgs_row(r, row, e);
    const pg_log_name *n = e->log_id.p ? name_find(s, e->log_id.p) : NULL;
    e->log.p = n ? n->name : NULL;
    e->log.len = n ? strlen(n->name) : 0;
}

/* ---- query shapes -------------------------------------------------------- */

/* A query's shape, each one prepared statement per connection: the
** filters it uses (store_query_filters()), the log it names, its cursor. */
#define Q(filter) STORE_QF_##filter
enum {
    Q_LOG = STORE_QF_NEXT,           /* one log, by its id (from an id or a name) */
    Q_CURSOR = STORE_QF_NEXT << 1,   /* keyset continuation: (created_at, log_id, seq) */
    Q_SEQ_CURSOR = STORE_QF_NEXT << 2, /* a cursor of seq alone, within the selected log */
    Q_SHAPES = STORE_QF_NEXT << 3
};
_Static_assert((int)Q_SHAPES < (int)PG_SLOT_LOG_ID, "statement numbers of shapes and fixed ones apart");
_Static_assert((int)Q_SHAPES <= PG_FIND_SHAPES, "a generic plan's state for every shape");

static const char *param_num(params *p, int slot, int64_t v)
{
    snprintf(p->num[slot], sizeof p->num[slot], "%lld", (long long)v);
    return p->num[slot];
}

/* A query resolved for binding: its shape, the log it names (an id), the
** LIKE pattern of its text and the cursor's parts. */
typedef struct resolved {
    int shape;
    char log_id[37];        /* Q_LOG */
    char *pattern;          /* Q(TEXT): "%term%" escaped, freed by the caller */
    const char *after_created_at;
    char after_log_id[37];
    /* Q(TEXT): the window of created_at searched, [win_lo, win_hi) (see
    ** search_windows()). */
    char win_lo[TS_BUFLEN], win_hi[TS_BUFLEN];
} resolved;

/* Append " AND <clause>" with the next parameter number for each '?' in
** clause (all of them the same value: the clause uses it that many
** times), and push value. */
static int add_clause(char *buf, size_t len, int n, params *p, const char *clause,
                      const char *value)
{
    int no = ++p->n;
    p->v[no - 1] = value;
    n += snprintf(buf + n, len - n, " AND ");
    for (const char *c = clause; *c && n < (int)len - 8; c++) {
        if (*c == '?') n += snprintf(buf + n, len - n, "$%d", no);
        else buf[n++] = *c, buf[n] = '\0';
    }
    return n;
}

/* The filters every query and walk share, numbered from $1 in the order
** below, into buf after "WHERE true"; their values into p (NULL values
** when q is a shape only). */
static int filter_sql(int shape, const store_query *q, const resolved *r, char *buf,
                      size_t len, int n, params *p)
{
#define V(field) (q ? q->field : NULL)
    if (shape & Q(PROJECT)) n = add_clause(buf, len, n, p, "e.project_id = ?", V(project_id));
    if (shape & Q(USER)) n = add_clause(buf, len, n, p, "e.user_id = ?", V(user_id));
    if (shape & Q(OPNAME))
        n = add_clause(buf, len, n, p, "e.operation_name = ?", V(operation_name));
    if (shape & Q(EVTYPE)) n = add_clause(buf, len, n, p, "e.event_type = ?", V(event_type));
    if (shape & Q(SERVER)) n = add_clause(buf, len, n, p, "e.server_name = ?", V(server));
    if (shape & Q(SESSION)) n = add_clause(buf, len, n, p, "e.session_id = ?", V(session_id));
    if (shape & Q(COMPLETES)) n = add_clause(buf, len, n, p, "e.completes = ?", V(completes));
    if (shape & Q_LOG) n = add_clause(buf, len, n, p, "e.log_id = ?", r ? r->log_id : NULL);
    if (shape & Q(SINCE)) n = add_clause(buf, len, n, p, "e.created_at >= ?", V(since));
    if (shape & Q(UNTIL)) n = add_clause(buf, len, n, p, "e.created_at <= ?", V(until));
    if (shape & Q(TEXT))
        n = add_clause(buf, len, n, p,
                       "(e.operation_name ILIKE ? ESCAPE '\\' OR e.error ILIKE ? ESCAPE '\\')",
                       r ? r->pattern : NULL);
#undef V
    return n;
}

/* The keyset condition for a walk in `dir` ('<' newest first, '>' oldest
** first): after (created_at, log_id, seq), or after seq within the log
** already fixed by Q_LOG. */
static int cursor_sql(int shape, const resolved *r, int64_t after_seq, char dir, char *buf,
                      size_t len, int n, params *p)
{
    if (shape & Q_CURSOR) {
        int a = p->n + 1;
        p->v[p->n++] = r ? r->after_created_at : NULL;
        p->v[p->n++] = r ? r->after_log_id : NULL;
        p->v[p->n++] = r ? param_num(p, 0, after_seq) : NULL;
        n += snprintf(buf + n, len - n,
                      " AND (e.created_at, e.log_id, e.seq) %c ($%d, $%d, $%d::bigint)",
                      dir, a, a + 1, a + 2);
    } else if (shape & Q_SEQ_CURSOR) {
        p->v[p->n++] = r ? param_num(p, 0, after_seq) : NULL;
        n += snprintf(buf + n, len - n, " AND e.seq %c $%d::bigint", dir, p->n);
    }
    return n;
}

static int shape_of(const store_query *q)
{
    int cursor = 0;
    if (q->after_seq > 0) cursor = q->after_created_at ? Q_CURSOR : Q_SEQ_CURSOR | Q_LOG;
    return store_query_filters(q) | (q->log ? Q_LOG : 0) | cursor;
}

/* The statement of one find shape, its parameters into p when q is set:
** newest first across logs, limit and offset last.  A substring search
** reads one window of time (search_windows()). */
static void find_sql(int shape, const store_query *q, const resolved *r, char *buf,
                     size_t len, params *p)
{
    int n = snprintf(buf, len, "SELECT " PG_ENTRY_COLUMNS " FROM dss_audit.entries e WHERE true");
    n = filter_sql(shape, q, r, buf, len, n, p);
    n = cursor_sql(shape, r, q ? q->after_seq : 0, '<', buf, len, n, p);
    if (shape & Q(TEXT)) {
        p->v[p->n++] = r ? r->win_lo : NULL;
        p->v[p->n++] = r ? r->win_hi : NULL;
        n += snprintf(buf + n, len - n, " AND e.created_at >= $%d AND e.created_at < $%d",
                      p->n - 1, p->n);
    }
    int lim = p->n + 1;
    p->v[p->n++] = q ? param_num(p, 1, q->limit + 1) : NULL; /* one more: is there more? */
    p->v[p->n++] = q ? param_num(p, 2, q->offset) : NULL;
    snprintf(buf + n, len - n,
             " ORDER BY e.created_at DESC, e.log_id DESC, e.seq DESC"
             " LIMIT $%d::bigint OFFSET $%d::bigint",
             lim, lim + 1);
}

/* Resolve what q names before binding: the log (an id or a name, or the
** selected log for a cursor of seq alone), the LIKE pattern, the cursor.
** STORE_ENOTFOUND when q names a log the database does not hold (the
** query then matches nothing). */
static int resolve(pg_store *s, const store_query *q, resolved *r, char *err)
{
    memset(r, 0, sizeof *r);
    r->shape = shape_of(q);
    if (q->log) {
        int rc = pgs_resolve_log(s, q->log, r->log_id, err);
        if (rc != STORE_OK) return rc;
    } else if (r->shape & Q_SEQ_CURSOR) {
        const char *sel = s->sel_id;
        if (!sel[0]) {
            snprintf(err, STORE_ERRLEN,
                     "a cursor across logs needs the created_at and log of its entry");
            return STORE_EINVAL;
        }
        snprintf(r->log_id, sizeof r->log_id, "%s", sel);
    }
    if (r->shape & Q_CURSOR) {
        r->after_created_at = q->after_created_at;
        const char *l = q->after_log_id && q->after_log_id[0] ? q->after_log_id
                                                              : s->sel_id;
        snprintf(r->after_log_id, sizeof r->after_log_id, "%s", l);
        if (!r->after_log_id[0]) {
            snprintf(err, STORE_ERRLEN, "a cursor across logs needs the log of its entry");
            return STORE_EINVAL;
        }
    }
    if (q->text && !(r->pattern = store_like_pattern(q->text))) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    return STORE_OK;
}

/*
** Substring search.  The trigram indexes find a term's matches in no
** order, so keeping the newest meant fetching every match first: 20,000
** rows for a term in 0.2% of 10,000,000 entries.  Instead the search walks
** back in time through windows of created_at, newest first, each one
** statement in which the trigram indexes find the matches of the
** partitions the window touches (the others pruned), the rows outside the
** window dropped as they are fetched, so a window costs what its
** partitions' matches cost.  (Version 4's BRIN index on created_at, ANDed
** with them, matched every page of the month being written, whose pages'
** room is filled by later rows, and made the bitmaps lossy: 9.9 ms for a
** day's window at 10,000,000 entries against 2.5 ms without; schema
** version 6 drops it.)  The windows reach
** back from the newest entry the query can return (now, its until bound or
** its cursor).  The first is the last hour.  Each next one is sized by
** what the ones before found: at the rate of matches they met, enough time
** for twice the rows still wanted (at least doubling the reach), or, when
** they found none, 24 times the reach (a day, then about a month).  The
** fourth is everything older.  The walk stops once it has the rows it
** needs: a common term in the first window, a rare one mostly in the
** second, since the first hour's matches tell how far back the rest lie.
** Fixed windows (an hour, a day, a month) made a term in 0.2% of
** 1,000,000 entries over 90 days read the month's 700 matches to keep 50
** (bench/RESULTS-pg.md).  At 10,000,000 entries the windows replaced
** reading the time index back through about 30,000 rows (40 ms warm, 450
** ms cold).  Windows do not overlap and each is sorted, so the rows come
** out in the query's order, as one statement would give them.
*/
#define HOUR_US (60LL * 60 * 1000000)
#define WINDOWS 4

/* How far back from the top window i reaches (0: everything, the last
** one), given the reach of the windows before it and the rows they found
** (got) of those wanted. */
static int64_t window_reach(int i, int64_t reach, int64_t got, int64_t want)
{
    if (i == 0) return HOUR_US;
    if (i >= WINDOWS - 1) return 0;
    if (got == 0) return reach * 24;
    double more = 2.0 * (double)(want - got) * ((double)reach / (double)got);
    int64_t next = more < 1e15 ? reach + (int64_t)more : reach + (int64_t)1e15;
    return next > 2 * reach ? next : 2 * reach;
}

/* Windows pay once the entries are many; below this many (the planner's
** estimate, read once per connection) a search is one statement, since a
** rare term would otherwise cost every window's round trip. */
#define WINDOWS_FROM_ENTRIES 1000000

static int walks_windows(pg_store *s)
{
    if (s->search_windows) return s->search_windows > 0;
    int rc = STORE_OK;
    char ignored[STORE_ERRLEN];
    PGresult *res = pgs_run(s, 0,
                            "SELECT coalesce(sum(c.reltuples), 0)::bigint FROM pg_inherits i"
                            " JOIN pg_class c ON c.oid = i.inhrelid"
                            " WHERE i.inhparent = 'dss_audit.entries'::regclass",
                            0, NULL, &rc, "estimating the entries", ignored);
    if (!res) return 1; /* not known: windows are right either way */
    s->search_windows = int_at(res, 0, 0) >= WINDOWS_FROM_ENTRIES ? 1 : -1;
    PQclear(res);
    return s->search_windows > 0;
}

/* Where window 0 ends: the newest created_at the query can return. */
static int64_t windows_top(const store_query *q)
{
    int64_t top = ts_now_us(), t;
    char ignored[128];
    if (q->until && ts_parse(q->until, 1, &t, ignored, sizeof ignored) == 0 && t < top) top = t;
    if (q->after_seq > 0 && q->after_created_at &&
        ts_parse(q->after_created_at, 0, &t, ignored, sizeof ignored) == 0 && t < top)
        top = t;
    return top;
}

/* The bounds into r of the window reaching `reach` back from top (0:
** everything), its upper bound the lower one r holds ("~", after every
** timestamp, before the first); 1 when it reaches back to the start. */
static int window_bounds(const store_query *q, int64_t top, int64_t reach, resolved *r)
{
    memcpy(r->win_hi, r->win_lo, sizeof r->win_hi); /* where the one before began */
    if (reach) ts_format(top - reach, r->win_lo);
    if (!reach || (q->since && strcmp(r->win_lo, q->since) <= 0)) {
        r->win_lo[0] = '\0'; /* before every timestamp */
        return 1;
    }
    return 0;
}

/* Hand row i of res to fn as the query's n-th row (0-based): rows before
** the offset are skipped, the one after the limit only says there is
** more.  Returns STORE_OK to go on, 1 to stop, or fn's failure. */
static int hand_row(pg_store *s, const store_query *q, const PGresult *res, int i, int64_t n,
                    store_row_fn fn, void *ctx, int *more)
{
    if (n < q->offset) return STORE_OK;
    int64_t k = n - q->offset;
    if (k == q->limit) {
        *more = 1;
        return 1;
    }
    entry_row row;
    pgs_row_named(s, res, i, &row);
    int rc = fn(ctx, &row);
    if (rc != STORE_OK) return rc > 0 ? 1 : rc;
    if (q->progress && (k + 1) % 1000 == 0) q->progress(q->progress_ctx, k + 1, q->limit);
    return STORE_OK;
}

/* How a find shape is planned.  A shape that filters on time alone (a
** trail, a page after a cursor, history without filters) has one best
** plan whatever the values: the time index read backwards from the upper
** bound, the partitions outside the bounds pruned when it starts
** (run-time pruning).  It is planned once per connection
** (PG_PLAN_GENERIC): planning the four partitions' dozen indexes took a
** trail 0.3 ms, its query 0.1.  A shape of one equality filter (a user's
** history) has one best plan too, that filter's index, which ends with
** (created_at, log_id, seq), read backwards, unless the filter's values
** are few: a generic plan is costed for an average value, and with a
** handful of users it may rather read the time index and filter, which
** for a rare user reads every partition.  So such a shape is planned once
** only when its generic plan, explained on this connection, reads the
** filter's own index (shape_plan()).  The rest are planned for their
** values each time (PG_PLAN_CUSTOM): a substring search (how rare the
** term: trigram bitmaps or the time index), several filters (which is
** rarest), a log (the own log or a small one), a cursor of seq alone.
** (A generic plan of a user's newest 20 once took 55 ms at 10,000,000
** entries: JIT compiling it each run, its LIMIT unknown to the cost; the
** session runs without JIT, store_pg.c.) */
static const struct {
    int filter;
    const char *index; /* how its partitions' index names go on */
} one_filter[] = {
    {Q(PROJECT), "_project_id_created_at_log_id_seq"},
    {Q(USER), "_user_id_created_at_log_id_seq"},
    {Q(OPNAME), "_operation_name_created_at_log_id_seq"},
    {Q(EVTYPE), "_event_type_created_at_log_id_seq"},
    {Q(SERVER), "_server_name_created_at_log_id_seq"},
    {Q(SESSION), "_session_id_created_at_log_id_seq"},
    {Q(COMPLETES), "_completes_created_at_log_id_seq"},
};
#define N_ONE_FILTER (int)(sizeof one_filter / sizeof one_filter[0])
/* Runs of a generic plan before it is explained again (statistics move). */
#define GENERIC_RECHECK 4096

/* The one equality filter of shape (its one_filter index), -1 when it has
** none, -2 when it is no candidate for a generic plan. */
static int single_filter(int shape)
{
    if (shape & (Q(TEXT) | Q_LOG | Q_SEQ_CURSOR)) return -2;
    int at = -1;
    for (int i = 0; i < N_ONE_FILTER; i++) {
        if (!(shape & one_filter[i].filter)) continue;
        if (at >= 0) return -2;
        at = i;
    }
    return at;
}

/* What find_generic[shape] holds once checked: the runs since the check,
** and this bit when the generic plan fits. */
#define GENERIC_FITS 0x8000u

/* The plan this run of shape uses; *check set when the run is also to
** explain the shape's generic plan and decide (generic_fits()): its first
** run on the connection, and every GENERIC_RECHECK runs after, either
** way (the plan may have been checked on an empty table). */
static int shape_plan(pg_store *s, int shape, int *check)
{
    *check = 0;
    int f = single_filter(shape);
    if (f == -1) return PG_PLAN_GENERIC;
    if (f < 0) return PG_PLAN_CUSTOM;
    unsigned g = s->find_generic[shape];
    if (g == 0 || (g & ~GENERIC_FITS) >= GENERIC_RECHECK) {
        *check = 1;
        return PG_PLAN_CUSTOM;
    }
    s->find_generic[shape] = (unsigned short)(g + 1);
    return g & GENERIC_FITS ? PG_PLAN_GENERIC : PG_PLAN_CUSTOM;
}

/* Whether an EXPLAIN of a one-filter shape's generic plan reads that
** filter's index on every partition it reads, in order: no other index,
** no filter applied row by row, no sort, no bitmap. */
static int generic_fits(const PGresult *plan, int shape)
{
    const char *index = one_filter[single_filter(shape)].index;
    int scans = 0;
    for (int i = 0; i < PQntuples(plan); i++) {
        const char *l = PQgetvalue(plan, i, 0);
        if (strstr(l, "Seq Scan") || strstr(l, "Sort") || strstr(l, "Bitmap") ||
            strstr(l, "Filter:"))
            return 0;
        const char *u = strstr(l, " using ");
        if (!u) continue;
        if (!strstr(u, index)) return 0;
        scans++;
    }
    return scans > 0;
}

/* "EXPLAIN EXECUTE dss_qN(v1, ...)" of the find statement numbered slot
** with p's values as literals, into b: what shape_plan() checks, run with
** the statement's first execution (slot prepared then). */
static int explain_sql(pg_store *s, int slot, const params *p, jbuf *b)
{
    char head[48];
    snprintf(head, sizeof head, "EXPLAIN EXECUTE dss_q%d(", slot);
    jbuf_puts(b, head);
    for (int i = 0; i < p->n; i++) {
        char *lit = p->v[i] ? PQescapeLiteral(s->conn, p->v[i], strlen(p->v[i])) : NULL;
        if (i) jbuf_putc(b, ',');
        jbuf_puts(b, lit ? lit : "NULL");
        if (p->v[i] && !lit) jbuf_fail(b);
        PQfreemem(lit);
    }
    jbuf_puts(b, ")");
    jbuf_putc(b, '\0');
    return b->failed ? STORE_ENOMEM : STORE_OK;
}

/* Run a find statement of shape (numbered 1 + shape) as shape_plan()
** says; the first run of a one-filter shape on a connection also explains
** its generic plan, in the same round trip, and remembers whether it fits.
** The result, or NULL with *rc set. */
static PGresult *run_find(pg_store *s, int shape, const char *sql, const params *p, int *rc,
                          char *err)
{
    static const char doing[] = "querying the audit log";
    int check, slot = 1 + shape;
    int plan = shape_plan(s, shape, &check);
    if (!check)
        return pgs_run_planned(s, slot, plan, sql, p->n, p->v, rc, doing, err);
    PGresult *res = NULL, *explained = NULL;
    jbuf b = {0};
    if ((*rc = pgs_ready(s, err)) != STORE_OK) goto done;
    if (explain_sql(s, slot, p, &b) != STORE_OK) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        *rc = STORE_ENOMEM;
        goto done;
    }
    pg_stmt st[2] = {
        {.slot = slot, .sql = sql, .nparams = p->n, .values = p->v, .plan = PG_PLAN_CUSTOM,
         .res = &res, .doing = doing},
        {.sql = b.p, .plan = PG_PLAN_GENERIC, .res = &explained,
         .doing = "explaining a query"},
    };
    *rc = pgs_pipeline(s, st, 2, err);
    if (*rc == STORE_OK)
        s->find_generic[shape] = (unsigned short)(generic_fits(explained, shape) ? GENERIC_FITS | 1 : 1);
done:
    PQclear(explained);
    jbuf_free(&b);
    return *rc == STORE_OK ? res : NULL;
}

/* Run q and hand each row (up to its limit) to fn. */
int pgs_find(store *st, const store_query *q, store_row_fn fn, void *ctx, int *more, char *err)
{
    pg_store *s = pgs(st);
    resolved r;
    char sql[4096];
    PGresult *res = NULL;
    *more = 0;
    int rc = resolve(s, q, &r, err);
    if (rc == STORE_ENOTFOUND) {
        rc = STORE_OK; /* no such log: nothing matches */
        goto done;
    }
    if (rc != STORE_OK) goto done;
    /* One statement, or one per window of a search: each asks for the rows
    ** still wanted (one past the limit says whether there is more), the
    ** offset skipped here. */
    int64_t want = q->offset + q->limit + 1, got = 0, top = windows_top(q), reach = 0;
    int last = 1;
    int first = (r.shape & Q(TEXT)) && !walks_windows(s) ? WINDOWS - 1 : 0;
    snprintf(r.win_lo, sizeof r.win_lo, "~"); /* the first window's upper bound */
    for (int w = first; rc == STORE_OK; w++) {
        params p = {.n = 0};
        if (r.shape & Q(TEXT)) {
            reach = window_reach(w, reach, got, want);
            last = window_bounds(q, top, reach, &r);
        }
        store_query one = *q;
        one.limit = want - got - 1;
        one.offset = 0;
        find_sql(r.shape, &one, &r, sql, sizeof sql, &p);
        res = run_find(s, r.shape, sql, &p, &rc, err);
        if (!res) goto done;
        int rows = PQntuples(res), stop = 0;
        if ((rc = pgs_name_rows(s, res, err)) != STORE_OK) goto done;
        for (int i = 0; i < rows && !stop; i++)
            if ((stop = hand_row(s, q, res, i, got++, fn, ctx, more)) < 0) rc = stop;
        PQclear(res);
        res = NULL;
        if (stop || got >= want || last) break;
    }
done:
    PQclear(res);
    free(r.pattern);
    return rc;
}

/* EXPLAIN of sql's generic plan, the one a shape planned once runs (with
** its partitions pruned when it starts, for p's values): PostgreSQL 15
** explains a generic plan only through EXECUTE of a prepared statement,
** so sql is prepared under a name of its own, explained with p's values
** as literals, and deallocated.  The result, or NULL with *rc set. */
static PGresult *explain_generic(pg_store *s, const char *sql, const params *p, int *rc,
                                 char *err)
{
    jbuf b = {0};
    PGresult *res = NULL;
    char *prep = NULL;
    *rc = pgs_ready(s, err);
    if (*rc != STORE_OK) return NULL;
    if (!(prep = malloc(strlen(sql) + 32))) goto oom;
    sprintf(prep, "PREPARE dss_explain AS %s", sql);
    if ((*rc = pgs_exec(s, prep, "explaining a query", err)) != STORE_OK) goto done;
    jbuf_puts(&b, "SET plan_cache_mode = force_generic_plan; EXPLAIN EXECUTE dss_explain(");
    for (int i = 0; i < p->n; i++) {
        char *lit = p->v[i] ? PQescapeLiteral(s->conn, p->v[i], strlen(p->v[i])) : NULL;
        if (i) jbuf_putc(&b, ',');
        jbuf_puts(&b, lit ? lit : "NULL");
        if (p->v[i] && !lit) jbuf_fail(&b);
        PQfreemem(lit);
    }
    jbuf_puts(&b, ")");
    jbuf_putc(&b, '\0');
    if (b.failed) goto oom;
    *rc = pgs_query(s, b.p, 0, NULL, &res, "explaining a query", err);
    s->plan_mode = *rc == STORE_OK ? PG_PLAN_GENERIC : -1; /* as the SET left it */
    char ignored[STORE_ERRLEN];
    pgs_exec(s, "DEALLOCATE dss_explain", "explaining a query", ignored);
    goto done;
oom:
    snprintf(err, STORE_ERRLEN, "out of memory");
    *rc = STORE_ENOMEM;
done:
    jbuf_free(&b);
    free(prep);
    return res;
}

/* An EXPLAIN's lines into plan (len bytes), one per line; res freed. */
static void plan_lines(PGresult *res, char *plan, size_t len)
{
    size_t at = 0;
    plan[0] = '\0';
    for (int i = 0; i < PQntuples(res) && at < len; i++) {
        int w = snprintf(plan + at, len - at, "%s\n", PQgetvalue(res, i, 0));
        at += w > 0 ? (size_t)w : 0;
    }
    PQclear(res);
}

int pgs_explain_find(store *st, const store_query *q, char *plan, size_t len, char *err)
{
    pg_store *s = pgs(st);
    resolved r;
    params p = {.n = 0};
    char sql[4200];
    int rc = resolve(s, q, &r, err);
    if (rc == STORE_ENOTFOUND) {
        /* explain the shape anyway, for a log that does not exist */
        memset(r.log_id, 0, sizeof r.log_id);
        snprintf(r.log_id, sizeof r.log_id, "00000000-0000-0000-0000-000000000000");
        rc = STORE_OK;
    }
    if (rc != STORE_OK) {
        free(r.pattern);
        return rc;
    }
    /* A search is explained over its widest window, everything. */
    r.win_lo[0] = '\0';
    snprintf(r.win_hi, sizeof r.win_hi, "~");
    PGresult *res = NULL;
    int f = single_filter(r.shape);
    if (f == -1 || (f >= 0 && (s->find_generic[r.shape] & GENERIC_FITS))) {
        find_sql(r.shape, q, &r, sql, sizeof sql, &p);
        res = explain_generic(s, sql, &p, &rc, err);
    } else {
        int n = snprintf(sql, sizeof sql, "EXPLAIN ");
        find_sql(r.shape, q, &r, sql + n, sizeof sql - n, &p);
        res = pgq_run(s, 0, sql, &p, &rc, "explaining a query", err);
    }
    free(r.pattern);
    if (!res) return rc;
    plan_lines(res, plan, len);
    return STORE_OK;
}

/* The plans of this connection's find statements (numbered 1 + shape,
** below Q_SHAPES + 1), from pg_prepared_statements. */
int pgs_find_plans(store *st, int64_t *generic, int64_t *custom, char *err)
{
    pg_store *s = pgs(st);
    char top[24];
    snprintf(top, sizeof top, "%d", (int)Q_SHAPES + 1);
    const char *p[1] = {top};
    int rc = STORE_OK;
    PGresult *res = pgs_run(s, 0,
                            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
                            " FROM pg_prepared_statements WHERE name ~ '^dss_q[0-9]+$'"
                            " AND substr(name, 6)::int < $1::int",
                            1, p, &rc, "reading the plans of finds", err);
    if (!res) return rc;
    *generic = int_at(res, 0, 0);
    *custom = int_at(res, 0, 1);
    PQclear(res);
    return STORE_OK;
}

int pgs_get(store *st, const char *id, store_row_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
    int rc = STORE_OK;
    params p = {.v = {id}, .n = 1};
    PGresult *res = pgq_run(s, PG_SLOT_GET,
                            "SELECT " PG_ENTRY_COLUMNS " FROM dss_audit.entries e"
                            " WHERE e.id = $1 LIMIT 1",
                            &p, &rc, "reading the entry", err);
    if (!res) return rc;
    if (PQntuples(res) == 0) {
        snprintf(err, STORE_ERRLEN, "no audit entry has id '%.*s'", utf8_cut(id, 64), id);
        rc = STORE_ENOTFOUND;
    } else if ((rc = pgs_name_rows(s, res, err)) == STORE_OK) {
        entry_row row;
        pgs_row_named(s, res, 0, &row);
        rc = fn(ctx, &row);
        if (rc > 0) rc = STORE_OK;
    }
    PQclear(res);
    return rc;
}

/* ---- activity, from the per-day and per-hour counters ------------------ */

/* Whole days after since's day come from the day counters ($2 is the
** first of them: "YYYY-MM-DD~" sorts after since's day and before the
** next), the whole hours of since's day after since's hour from the hour
** counters (schema version 8: hours from $6 to the day's end), and since's
** own hour exactly from the entries, counted from its nearer end: from
** half past, its entries from since on ($3 = since, $4 = the hour's end,
** each counted once, $5 = 1); before half past, the hour's counters less
** its entries before since ($3 = the hour's start, $4 = since, each
** counted -1), which the counters hold exactly (the same statement's
** trigger writes both, and retention recounts them).  So at most half an
** hour of the user's entries is read: at 10,000,000 entries, counted from
** the nearer end of the day (schema 7), since's day was up to 3,300 index
** tuples and most of the statement's time.  The entries and the errors are
** counted apart, each from an index holding event_type (schema version 5),
** and the counters' user indexes hold what is summed (version 7), so every
** part is an index-only scan.  A since that is not a whole timestamp
** counts its day from the day counters less the entries before since. */
#define TYPES_SQL(log)                                                                 \
    "SELECT event_type, sum(n)::bigint AS total, sum(errors)::bigint FROM ("           \
    "  SELECT event_type, n, errors FROM dss_audit.activity_daily"                     \
    "  WHERE user_id = $1 AND day >= $2" log "  UNION ALL"                             \
    "  SELECT event_type, n, errors FROM dss_audit.activity_hourly"                    \
    "  WHERE user_id = $1 AND hour >= $6 AND hour < $2" log "  UNION ALL"              \
    "  SELECT event_type, $5::int, 0 FROM dss_audit.entries"                           \
    "  WHERE user_id = $1 AND created_at >= $3 AND created_at < $4" log "  UNION ALL"  \
    "  SELECT event_type, 0, $5::int FROM dss_audit.entries WHERE user_id = $1"        \
    "  AND error IS NOT NULL AND created_at >= $3 AND created_at < $4" log ") t"       \
    " GROUP BY event_type HAVING sum(n) > 0"                                           \
    " ORDER BY total DESC, event_type COLLATE \"C\""
#define PROJECTS_SQL(log)                                                \
    "SELECT count(DISTINCT project_id) FROM dss_audit.activity_projects" \
    " WHERE user_id = $1 AND last_seen >= $2" log
static const char types_sql[] = TYPES_SQL(""), types_log_sql[] = TYPES_SQL(" AND log_id = $7"),
                  projects_sql[] = PROJECTS_SQL(""),
                  projects_log_sql[] = PROJECTS_SQL(" AND log_id = $3");

/* The bounds of types_sql for since, as its comment says: the first whole
** day ($2), the first whole hour ($6), the part of since's hour counted
** from the entries [$3, $4) and its sign ($5). */
typedef struct activity_bounds {
    char first_day[12], first_hour[16], lo[64], hi[64];
    const char *sign;
} activity_bounds;

static void activity_bounds_of(const char *since, activity_bounds *b)
{
    size_t n = strlen(since);
    if (n < 13 || since[10] != 'T') {
        /* Its day's counters less its entries before since; no hours. */
        snprintf(b->first_day, sizeof b->first_day, "%.10s", since);
        snprintf(b->first_hour, sizeof b->first_hour, "%.10s", since);
        snprintf(b->lo, sizeof b->lo, "%.10s", since);
        snprintf(b->hi, sizeof b->hi, "%s", since);
        b->sign = "-1";
        return;
    }
    /* "YYYY-MM-DDTHH:MM...": the minute decides the nearer end. */
    int late = n >= 16 && strncmp(since + 14, "30", 2) >= 0;
    snprintf(b->first_day, sizeof b->first_day, "%.10s~", since);
    if (late) {
        snprintf(b->first_hour, sizeof b->first_hour, "%.13s~", since);
        snprintf(b->lo, sizeof b->lo, "%s", since);
        snprintf(b->hi, sizeof b->hi, "%.13s~", since);
        b->sign = "1";
    } else {
        snprintf(b->first_hour, sizeof b->first_hour, "%.13s", since);
        snprintf(b->lo, sizeof b->lo, "%.13s", since);
        snprintf(b->hi, sizeof b->hi, "%s", since);
        b->sign = "-1";
    }
}

int pgs_user_activity(store *st, const char *user_id, const char *since, const char *log,
                      store_activity *out, char *err)
{
    pg_store *s = pgs(st);
    char log_id[37];
    activity_bounds b;
    int rc = STORE_OK;
    memset(out, 0, sizeof *out);
    if (!(out->by_type = cJSON_CreateObject())) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    /* One log: by its id.  A log the database does not hold counts
    ** nothing, as a query naming it finds nothing. */
    if (log && (rc = pgs_resolve_log(s, log, log_id, err)) != STORE_OK) {
        if (rc == STORE_ENOTFOUND) return STORE_OK;
        goto done;
    }
    activity_bounds_of(since, &b);
    /* Both statements in one round trip (with the begin's lock, when a
    ** recorded call's transaction has just begun). */
    const char *tv[] = {user_id, b.first_day, b.lo, b.hi, b.sign, b.first_hour, log_id},
               *pv[] = {user_id, since, log_id};
    PGresult *types = NULL, *projects = NULL;
    pg_stmt stmts[2] = {
        {.slot = log ? PG_SLOT_ACT_TYPES_LOG : PG_SLOT_ACT_TYPES,
         .sql = log ? types_log_sql : types_sql, .nparams = log ? 7 : 6, .values = tv,
         .plan = PG_PLAN_GENERIC, .res = &types, .doing = "counting the user's activity"},
        {.slot = log ? PG_SLOT_ACT_PROJECTS_LOG : PG_SLOT_ACT_PROJECTS,
         .sql = log ? projects_log_sql : projects_sql, .nparams = log ? 3 : 2, .values = pv,
         .plan = PG_PLAN_GENERIC, .res = &projects, .doing = "counting the user's projects"},
    };
    if ((rc = pgs_ready(s, err)) != STORE_OK || (rc = pgs_pipeline(s, stmts, 2, err)) != STORE_OK)
        goto done;
    for (int i = 0; rc == STORE_OK && i < PQntuples(types); i++) {
        int64_t n = int_at(types, i, 1);
        out->total += n;
        out->errors += int_at(types, i, 2);
        if (!cJSON_AddNumberToObject(out->by_type, PQgetvalue(types, i, 0), (double)n))
            rc = STORE_ENOMEM;
    }
    out->projects = PQntuples(projects) ? int_at(projects, 0, 0) : 0;
    PQclear(types);
    PQclear(projects);
done:
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc != STORE_OK) {
        cJSON_Delete(out->by_type);
        out->by_type = NULL;
    }
    return rc;
}

/* The plan of the counting statement (types_sql) as get_user_activity runs
** it (planned once), for a window starting at the newest entry: its first
** day is then in the newest partition, the one the counts read exactly. */
int pgs_explain_user_activity(store *st, char *plan, size_t len, char *err)
{
    pg_store *s = pgs(st);
    int rc;
    PGresult *newest = pgs_run(s, 0, "SELECT coalesce(max(created_at), '2000-01-01')"
                                     " FROM dss_audit.entries", 0, NULL, &rc,
                               "explaining a query", err);
    if (!newest) return rc;
    char since[TS_BUFLEN];
    activity_bounds b;
    snprintf(since, sizeof since, "%s", PQgetvalue(newest, 0, 0));
    PQclear(newest);
    activity_bounds_of(since, &b);
    params p = {.v = {"user-explained", b.first_day, b.lo, b.hi, b.sign, b.first_hour}, .n = 6};
    PGresult *res = explain_generic(s, types_sql, &p, &rc, err);
    if (!res) return rc;
    plan_lines(res, plan, len);
    return STORE_OK;
}

static int each_activity_row(pg_store *s, int slot, const char *sql, params *p,
                             const char *doing, store_activity_fn fn, void *ctx, char *err)
{
    int rc = STORE_OK;
    PGresult *res = pgq_run(s, slot, sql, p, &rc, doing, err);
    if (!res) return rc;
    for (int i = 0; i < PQntuples(res); i++)
        if (fn(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), int_at(res, i, 2),
               int_at(res, i, 3)) != 0)
            break;
    PQclear(res);
    return STORE_OK;
}

/* activity_days' statements.  With a user: that user's counter rows.
** Without: every user's rows of the window, summed, plus the entries that
** have no user (which the counters do not hold), through the user index
** (user_id IS NULL). */
static const char days_of_user_sql[] =
    "SELECT day, event_type, sum(n)::bigint, sum(errors)::bigint FROM dss_audit.activity_daily"
    " WHERE user_id = $3 AND day BETWEEN $1 AND $2"
    " GROUP BY day, event_type ORDER BY day, event_type COLLATE \"C\"";
static const char days_of_all_sql[] =
    "SELECT day, event_type, sum(n)::bigint, sum(e)::bigint FROM ("
    "  SELECT day, event_type, n, errors AS e FROM dss_audit.activity_daily"
    "  WHERE day BETWEEN $1 AND $2"
    "  UNION ALL"
    "  SELECT substr(created_at, 1, 10), event_type, 1, (error IS NOT NULL)::int"
    "  FROM dss_audit.entries WHERE user_id IS NULL AND created_at >= $1 AND created_at < $3) t"
    " GROUP BY day, event_type ORDER BY day, event_type COLLATE \"C\"";

int pgs_activity_days(store *s, const char *user_id, const char *since_day,
                      const char *until_day, const char *until_before, store_activity_fn fn,
                      void *ctx, char *err)
{
    params p = {.v = {since_day, until_day, user_id ? user_id : until_before}, .n = 3};
    if (user_id)
        return each_activity_row(pgs(s), PG_SLOT_DAYS_USER, days_of_user_sql, &p,
                                 "counting a user's activity per day", fn, ctx, err);
    return each_activity_row(pgs(s), PG_SLOT_DAYS_ALL, days_of_all_sql, &p,
                             "counting activity per day", fn, ctx, err);
}

int pgs_activity_users(store *s, const char *since_day, const char *until_day,
                       store_activity_fn fn, void *ctx, char *err)
{
    static const char sql[] =
        "SELECT user_id, '', sum(n)::bigint, sum(errors)::bigint FROM dss_audit.activity_daily"
        " WHERE day BETWEEN $1 AND $2 GROUP BY user_id ORDER BY user_id COLLATE \"C\"";
    params p = {.v = {since_day, until_day}, .n = 2};
    return each_activity_row(pgs(s), PG_SLOT_USERS, sql, &p, "counting activity per user", fn, ctx,
                             err);
}

/* ---- streaming walks -------------------------------------------------- */

/*
** A walk reads through a server-side cursor, 1,000 rows per FETCH, so only
** one batch is held whatever the number of rows; between fetches the
** callback may query the store on the same connection.  Outside a write
** transaction the walk opens a read-only one of its own (REPEATABLE READ:
** one snapshot from start to end).  Order: (created_at, log_id, seq) across
** logs, which is seq order within one log as long as a log's clock does not
** go back; ascending, or descending with newest_first.
*/
#define WALK_BATCH "1000"

int pgs_each_match(store *st, const store_scan *scan, store_row_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
    store_query f;
    if (scan->filter) f = *scan->filter;
    else memset(&f, 0, sizeof f);
    f.after_seq = scan->after_seq;
    f.after_created_at = scan->after_created_at;
    f.after_log_id = scan->after_log_id;
    resolved r;
    params p = {.n = 0};
    char sql[4400], name[32], fetch[64];
    int rc = resolve(s, &f, &r, err), own_tx = 0, declared = 0;
    PGresult *res = NULL;
    if (rc == STORE_ENOTFOUND) {
        free(r.pattern);
        return STORE_OK; /* no such log */
    }
    if (rc != STORE_OK) goto done;
    snprintf(name, sizeof name, "dss_walk_%d", ++s->walks);
    const char *dir = scan->newest_first ? "DESC" : "ASC";
    int n = snprintf(sql, sizeof sql, "DECLARE %s NO SCROLL CURSOR FOR SELECT " PG_ENTRY_COLUMNS
                     " FROM dss_audit.entries e WHERE true", name);
    n = filter_sql(r.shape, &f, &r, sql, sizeof sql, n, &p);
    n = cursor_sql(r.shape, &r, f.after_seq, scan->newest_first ? '<' : '>', sql, sizeof sql,
                   n, &p);
    n += snprintf(sql + n, sizeof sql - n,
                  " ORDER BY e.created_at %s, e.log_id %s, e.seq %s", dir, dir, dir);
    if (scan->limit > 0) {
        p.v[p.n++] = param_num(&p, 3, scan->limit);
        snprintf(sql + n, sizeof sql - n, " LIMIT $%d::bigint", p.n);
    }
    if (!s->base.in_tx) {
        params none = {.n = 0};
        res = pgq_run(s, 0, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &none, &rc,
                      "starting to read", err);
        if (!res) goto done;
        PQclear(res);
        own_tx = 1;
    }
    res = pgq_run(s, 0, sql, &p, &rc, "reading entries", err);
    if (!res) goto done;
    PQclear(res);
    declared = 1;
    snprintf(fetch, sizeof fetch, "FETCH " WALK_BATCH " FROM %s", name);
    for (int stop = 0; !stop;) {
        params none = {.n = 0};
        res = pgq_run(s, 0, fetch, &none, &rc, "reading entries", err);
        if (!res) goto done;
        int rows = PQntuples(res);
        if ((rc = pgs_name_rows(s, res, err)) != STORE_OK) goto done;
        for (int i = 0; i < rows && !stop; i++) {
            entry_row row;
            pgs_row_named(s, res, i, &row);
            stop = fn(ctx, &row);
        }
        if (stop < 0) {
            rc = stop;
            goto done;
        }
        PQclear(res);
        res = NULL;
        if (rows == 0) break;
    }
done:
    PQclear(res);
    free(r.pattern);
    if (declared || own_tx) {
        /* Close quietly; a failure here loses nothing of what was read. */
        char close_sql[64], ignored[STORE_ERRLEN];
        int ignored_rc;
        params none = {.n = 0};
        snprintf(close_sql, sizeof close_sql, own_tx ? "COMMIT" : "CLOSE %s", name);
        PQclear(pgq_run(s, 0, close_sql, &none, &ignored_rc, "closing a walk", ignored));
    }
    return rc;
}

/* ---- statistics ----------------------------------------------------------- */

/* The first row's integer column 0 of sql (no parameters) into *out. */
static int one_int64(pg_store *s, int slot, const char *sql, int64_t *out,
                     const char *doing, char *err)
{
    int rc = STORE_OK;
    params none = {.n = 0};
    PGresult *res = pgq_run(s, slot, sql, &none, &rc, doing, err);
    if (!res) return rc;
    *out = PQntuples(res) && !PQgetisnull(res, 0, 0) ? int_at(res, 0, 0) : 0;
    PQclear(res);
    return STORE_OK;
}

/* Each log's numbers (every log's, or the one of log_id), in log_id order,
** into out->logs, and their sums into out; progress after each log.  The
** statements below are run unprepared: planned with the log known, each
** reads that log's rows through the indexes that lead with log_id. */
static int stats_logs(pg_store *s, const char *log_id, store_progress_fn progress, void *ctx,
                      store_stats *out, char *err)
{
    static const char sql[] =
        "SELECT l.log_id, l.name,"
        " (SELECT count(*) FROM dss_audit.entries e WHERE e.log_id = l.log_id),"
        " f.seq, f.created_at, z.seq, z.created_at,"
        " (SELECT count(*) FROM dss_audit.checkpoints c"
        "  WHERE c.log_id = l.log_id AND c.kind = 'checkpoint'),"
        " (SELECT count(*) FROM dss_audit.checkpoints c"
        "  WHERE c.log_id = l.log_id AND c.kind = 'anchor')"
        " FROM dss_audit.logs l"
        " LEFT JOIN LATERAL (SELECT seq, created_at FROM dss_audit.entries e"
        "  WHERE e.log_id = l.log_id ORDER BY seq LIMIT 1) f ON true"
        " LEFT JOIN LATERAL (SELECT seq, created_at FROM dss_audit.entries e"
        "  WHERE e.log_id = l.log_id ORDER BY seq DESC LIMIT 1) z ON true"
        " WHERE $1::text IS NULL OR l.log_id = $1"
        " ORDER BY l.log_id";
    int rc = STORE_OK;
    params p = {.v = {log_id}, .n = 1};
    PGresult *res = pgq_run(s, 0, sql, &p, &rc, "counting entries", err);
    if (!res) return rc;
    int n = PQntuples(res);
    if (n && !(out->logs = calloc((size_t)n, sizeof *out->logs))) {
        PQclear(res);
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    out->n_logs = (size_t)n;
    for (int i = 0; i < n; i++) {
        store_log_stats *l = &out->logs[i];
        snprintf(l->log_id, sizeof l->log_id, "%s", PQgetvalue(res, i, 0));
        snprintf(l->name, sizeof l->name, "%s", PQgetvalue(res, i, 1));
        l->entries = int_at(res, i, 2);
        l->first_seq = int_at(res, i, 3);
        snprintf(l->first_created_at, sizeof l->first_created_at, "%s", PQgetvalue(res, i, 4));
        l->last_seq = int_at(res, i, 5);
        snprintf(l->last_created_at, sizeof l->last_created_at, "%s", PQgetvalue(res, i, 6));
        l->checkpoints = int_at(res, i, 7);
        l->anchors = int_at(res, i, 8);
        out->entries += l->entries;
        out->checkpoints += l->checkpoints;
        out->anchors += l->anchors;
        if (l->first_created_at[0] && (!out->first_created_at[0] ||
                                       strcmp(l->first_created_at, out->first_created_at) < 0))
            memcpy(out->first_created_at, l->first_created_at, sizeof out->first_created_at);
        if (strcmp(l->last_created_at, out->last_created_at) > 0)
            memcpy(out->last_created_at, l->last_created_at, sizeof out->last_created_at);
        if (progress) progress(ctx, i + 1, n);
    }
    PQclear(res);
    return STORE_OK;
}

/* One event type's count while stats_types() adds them up over logs. */
typedef struct type_total {
    const char *type;
    int64_t n;
} type_total;

/* Most frequent first, ties by name in byte order. */
static int by_total(const void *a, const void *b)
{
    const type_total *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->type, y->type);
}

/* Counts by event type and errors, per log, from the per-day counters plus
** the entries without a user (which the counters do not hold): each log's
** errors into its out->logs entry, the totals by type into
** out->by_event_type. */
static int stats_types(pg_store *s, const char *log_id, store_stats *out, char *err)
{
    static const char sql[] =
        "SELECT log_id, event_type, sum(n)::bigint, sum(e)::bigint FROM ("
        "  SELECT log_id, event_type, n, errors AS e FROM dss_audit.activity_daily"
        "  WHERE $1::text IS NULL OR log_id = $1"
        "  UNION ALL"
        "  SELECT log_id, event_type, 1, (error IS NOT NULL)::int FROM dss_audit.entries"
        "  WHERE user_id IS NULL AND ($1::text IS NULL OR log_id = $1)) t"
        " GROUP BY event_type, log_id ORDER BY event_type COLLATE \"C\", log_id COLLATE \"C\"";
    int rc = STORE_OK;
    params p = {.v = {log_id}, .n = 1};
    PGresult *res = pgq_run(s, 0, sql, &p, &rc, "counting event types", err);
    if (!res) return rc;
    int rows = PQntuples(res), n = 0;
    type_total *t = rows ? calloc((size_t)rows, sizeof *t) : NULL;
    if (rows && !t) rc = STORE_ENOMEM;
    for (int i = 0; rc == STORE_OK && i < rows; i++) {
        const char *type = PQgetvalue(res, i, 1);
        int64_t errors = int_at(res, i, 3);
        if (!n || strcmp(t[n - 1].type, type) != 0) t[n++].type = type;
        t[n - 1].n += int_at(res, i, 2);
        out->errors += errors;
        for (size_t k = 0; k < out->n_logs; k++)
            if (strcmp(out->logs[k].log_id, PQgetvalue(res, i, 0)) == 0)
                out->logs[k].errors += errors;
    }
    if (n) qsort(t, (size_t)n, sizeof *t, by_total);
    for (int i = 0; rc == STORE_OK && i < n; i++)
        if (!cJSON_AddNumberToObject(out->by_event_type, t[i].type, (double)t[i].n))
            rc = STORE_ENOMEM;
    free(t);
    PQclear(res);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    return rc;
}

static int stats_users(pg_store *s, const char *log_id, int top_users, store_stats *out,
                       char *err)
{
    static const char sql[] =
        "SELECT user_id, sum(n)::bigint AS total, sum(errors)::bigint"
        " FROM dss_audit.activity_daily WHERE $2::text IS NULL OR log_id = $2"
        " GROUP BY user_id ORDER BY total DESC, user_id COLLATE \"C\" LIMIT $1::bigint";
    int rc = STORE_OK;
    params p = {.v = {NULL, log_id}, .n = 2};
    p.v[0] = param_num(&p, 0, top_users > 0 ? top_users : 0);
    PGresult *res = pgq_run(s, 0, sql, &p, &rc, "counting users", err);
    if (!res) return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        cJSON *u = cJSON_CreateObject();
        if (!u || !cJSON_AddItemToArray(out->top_users, u) ||
            !cJSON_AddStringToObject(u, "user_id", PQgetvalue(res, i, 0)) ||
            !cJSON_AddNumberToObject(u, "entries", (double)int_at(res, i, 1)) ||
            !cJSON_AddNumberToObject(u, "errors", (double)int_at(res, i, 2))) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
            break;
        }
    }
    PQclear(res);
    return rc;
}

/*
** Statistics of every log of the database, or of the one `log` names, in
** one snapshot (REPEATABLE READ).  The size is the whole database's: every
** log's entries share one table.
*/
int pgs_get_stats(store *st, const char *log, int top_users, store_progress_fn progress,
                  void *ctx, store_stats *out, char *err)
{
    pg_store *s = pgs(st);
    char log_id[37];
    int rc = STORE_OK, in_read = 0;
    params none = {.n = 0};
    out->by_event_type = cJSON_CreateObject();
    out->top_users = cJSON_CreateArray();
    if (!out->by_event_type || !out->top_users) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    if (log && (rc = pgs_resolve_log(s, log, log_id, err)) != STORE_OK) return rc;
    /* One snapshot: every number describes the same moment. */
    if (!s->base.in_tx) {
        PGresult *res = pgq_run(s, 0, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &none,
                                &rc, "starting to read", err);
        if (!res) return rc;
        PQclear(res);
        in_read = 1;
    }
    const char *only = log ? log_id : NULL;
    if ((rc = stats_logs(s, only, progress, ctx, out, err)) != STORE_OK ||
        (rc = stats_types(s, only, out, err)) != STORE_OK ||
        (rc = stats_users(s, only, top_users, out, err)) != STORE_OK ||
        /* The entries' partitions with their indexes and TOAST (the parent
        ** of a partitioned table holds nothing itself). */
        (rc = one_int64(s, PG_SLOT_STATS_BYTES,
                        "SELECT pg_total_relation_size('dss_audit.entries'::regclass)"
                        " + coalesce((SELECT sum(pg_total_relation_size(inhrelid))"
                        " FROM pg_inherits WHERE inhparent = 'dss_audit.entries'::regclass), 0)",
                        &out->db_bytes, "reading the database size", err)))
        goto done;
    out->wal_bytes = 0; /* the server's write-ahead log is not the logs' */
done:
    if (in_read) {
        int ignored;
        char why[STORE_ERRLEN];
        PQclear(pgq_run(s, 0, rc == STORE_OK ? "COMMIT" : "ROLLBACK", &none, &ignored,
                        "finishing a read", why));
    }
    return rc;
}
