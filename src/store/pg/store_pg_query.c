/*
** store_pg_query.c: the reads of the PostgreSQL backend, over every log of
** the central database: history, trail, search, one entry, activity,
** streaming walks and statistics.
**
** Entries read exactly as the SQLite backend prints them (same keys, same
** order, v2 keys left out when NULL, stored JSON spliced in when it is
** JSON, hashes as hex) with the log's id and name at the end.  Queries run
** newest first by (created_at, log_id, seq) across logs, which every query
** index ends with, so history and trail read an index in order and stop
** at the limit: no sort, whatever the number of logs.  A cursor is that
** triple, so pages stay put while entries arrive on any log.
**
** Every query shape (which filters are present) is one prepared statement
** per connection, numbered parameters only: no value is ever spliced into
** SQL.  Statements are sent asynchronously and waited for in 50 ms slices,
** so the interrupt callback can cancel them (PQcancel); walks and one-off
** statements go through pgs_query(), which does the same.
*/
#include "store_pg_int.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../util/jbuf.h"
#include "../../util/jsoncheck.h"


/* ---- running statements ------------------------------------------------ */

/* The parameters of one statement, in the order of their $n. */
typedef struct params {
    const char *v[20];
    int n;
    char num[4][24]; /* numbers as text */
} params;

/*
** Prepared statements.  Each query shape is parsed once per connection:
** the first run prepares it (PQprepare, a parse on the server) under a name
** of its own, later runs only bind and execute.  Which statements a
** connection holds is remembered per connection (its PGconn and backend
** pid, since a reconnect starts with none); the table is small, and a
** connection that drops out of it gets fresh names (a new generation)
** rather than preparing a name it may already hold, which would fail and
** abort an open transaction.
*/
#define PREP_CONNS 16
#define PREP_SLOTS 16384 /* statement numbers: shapes (< 8192) and fixed ones */

static struct prep_conn {
    const PGconn *conn;
    int pid;
    unsigned gen;
    unsigned char done[PREP_SLOTS / 8];
} prep[PREP_CONNS];
static unsigned prep_gen, prep_next;
/* Stores of one process may be used from several threads (each its own). */
static pthread_mutex_t prep_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether conn holds statement `slot` (1 or 0), and its generation, into
** *gen; mark = 1 records that it now does, prepared under the name of
** generation *gen (not recorded when the entry was recycled meanwhile). */
static int prep_state(const PGconn *conn, int slot, int mark, unsigned *gen)
{
    int pid = PQbackendPID(conn), held;
    struct prep_conn *c = NULL;
    pthread_mutex_lock(&prep_lock);
    for (int i = 0; i < PREP_CONNS && !c; i++)
        if (prep[i].conn == conn && prep[i].pid == pid) c = &prep[i];
    if (!c) {
        c = &prep[prep_next++ % PREP_CONNS];
        memset(c, 0, sizeof *c);
        c->conn = conn;
        c->pid = pid;
        c->gen = ++prep_gen;
    }
    if (mark && c->gen == *gen) c->done[slot / 8] |= (unsigned char)(1u << (slot % 8));
    held = (c->done[slot / 8] >> (slot % 8)) & 1;
    *gen = c->gen;
    pthread_mutex_unlock(&prep_lock);
    return held;
}

/* Wait for the statement sent on s->conn, polling the interrupt callback
** every 50 ms and cancelling the statement when it asks to stop.  Returns
** the last result (NULL when the connection broke). */
static PGresult *wait_result(pg_store *s, int *interrupted)
{
    PGresult *last = NULL, *r;
    int cancelled = 0;
    for (;;) {
        while (PQisBusy(s->conn)) {
            struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
            int ready = poll(&pfd, 1, 50);
            if (ready < 0) continue;
            if (ready > 0 && !PQconsumeInput(s->conn)) break;
            if (!cancelled && s->interrupt && s->interrupt(s->interrupt_ctx)) {
                char why[128];
                PGcancel *c = PQgetCancel(s->conn);
                if (c) {
                    PQcancel(c, why, sizeof why);
                    PQfreeCancel(c);
                }
                cancelled = *interrupted = 1;
            }
        }
        if (!(r = PQgetResult(s->conn))) break;
        PQclear(last);
        last = r;
        if (PQstatus(s->conn) == CONNECTION_BAD) break;
    }
    return last;
}

/* Run the prepared statement `slot` (its text sql) with p's parameters. */
static PGresult *run_prepared(pg_store *s, int slot, const char *sql, const params *p, int *rc,
                              const char *doing, char *err)
{
    char name[40];
    int interrupted = 0;
    unsigned gen;
    int held = prep_state(s->conn, slot, 0, &gen);
    snprintf(name, sizeof name, "dss_q%d_%u", slot, gen);
    PGresult *r = NULL;
    int st;
    /* Preparing waits like running: parsing takes the tables' locks. */
    if (!held) {
        if (!PQsendPrepare(s->conn, name, sql, 0, NULL)) {
            *rc = pgs_fail(s, NULL, doing, err);
            return NULL;
        }
        r = wait_result(s, &interrupted);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) goto failed;
        PQclear(r);
        prep_state(s->conn, slot, 1, &gen);
    }
    if (!PQsendQueryPrepared(s->conn, name, p->n, p->v, NULL, NULL, 0)) {
        *rc = pgs_fail(s, NULL, doing, err);
        return NULL;
    }
    r = wait_result(s, &interrupted);
    st = PQresultStatus(r);
    if (r && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
        *rc = STORE_OK;
        return r;
    }
failed:
    *rc = pgs_fail(s, r, doing, err);
    if (interrupted && *rc != STORE_OK && PQstatus(s->conn) == CONNECTION_OK) {
        *rc = STORE_EINTERRUPTED;
        snprintf(err, STORE_ERRLEN, "%s: interrupted", doing);
    }
    PQclear(r);
    return NULL;
}

/* Run sql with p's parameters (reconnecting first when the connection was
** lost).  slot > 0 names the statement's shape: it runs as a prepared
** statement of this connection; slot 0 runs once (pgs_query()).  Returns
** the result (the caller PQclear()s it) or NULL with *rc and err set.
** Parameters are always bound, never spliced. */
static PGresult *pgq_run(pg_store *s, int slot, const char *sql, const params *p, int *rc,
                         const char *doing, char *err)
{
    PGresult *res = NULL;
    *rc = pgs_ready(s, err);
    if (*rc != STORE_OK) return NULL;
    if (slot > 0) return run_prepared(s, slot, sql, p, rc, doing, err);
    *rc = pgs_query(s, sql, p->n, p->v, &res, doing, err);
    return *rc == STORE_OK ? res : NULL;
}

/* Statement numbers of the fixed statements (shapes take 1 .. Q_SHAPES). */
enum {
    SLOT_LOG_ID = 8200, SLOT_GET, SLOT_ACT_TYPES, SLOT_ACT_PROJECTS, SLOT_DAYS_USER,
    SLOT_DAYS_ALL, SLOT_USERS, SLOT_STATS_FIRST, SLOT_STATS_LAST, SLOT_STATS_LOGS,
    SLOT_STATS_TYPES, SLOT_STATS_USERS, SLOT_STATS_CPS, SLOT_STATS_ANCHORS, SLOT_STATS_BYTES
};

/* The id of the log `log` names (its id, or else its name; the first by id
** when several logs share the name) into out; STORE_ENOTFOUND when none. */
static int pgq_log_id(pg_store *s, const char *log, char out[37], char *err)
{
    int rc;
    params p = {.v = {log}, .n = 1};
    PGresult *res = pgq_run(s, SLOT_LOG_ID,
                            "SELECT log_id FROM dss_audit.logs WHERE log_id = $1 OR name = $1"
                            " ORDER BY log_id = $1 DESC, log_id LIMIT 1",
                            &p, &rc, "finding the log", err);
    if (!res) return rc;
    rc = PQntuples(res) ? STORE_OK : STORE_ENOTFOUND;
    if (rc == STORE_OK) snprintf(out, 37, "%s", PQgetvalue(res, 0, 0));
    else snprintf(err, STORE_ERRLEN, "no log has the id or name '%.64s'", log);
    PQclear(res);
    return rc;
}

/* ---- what an entry row holds -------------------------------------------
** Every entry query selects entry_columns, in this order; the log's name
** comes from a scalar subquery evaluated per returned row only, so it does
** not change the plan of the scan that finds the rows. */

static const char entry_columns[] =
    "e.seq, e.id, e.event_type, e.operation_name, e.operation_id, e.user_id,"
    " e.project_id, e.args, e.result, e.error, e.before_state, e.after_state,"
    " e.created_at, e.client,"
    " CASE WHEN length(e.prev_hash) = 32 THEN encode(e.prev_hash, 'hex') ELSE '' END,"
    " CASE WHEN length(e.hash) = 32 THEN encode(e.hash, 'hex') ELSE '' END,"
    " e.server, e.session_id, e.duration_ms, e.completes, e.cwd, e.log_id,"
    " (SELECT l.name FROM dss_audit.logs l WHERE l.log_id = e.log_id)";

enum { COL_SEQ = 0, COL_CREATED_AT = 12, COL_LOG_ID = 21, COL_LOG_NAME = 22 };

/* How each column appears in an entry, as in the SQLite backend.  The
** F_OPT kinds are encoding v2's fields, left out where NULL. */
enum { F_INT, F_TEXT, F_JSON, F_HASH, F_OPT_TEXT, F_OPT_JSON, F_OPT_INT };
#define FIELD(name, kind) {name, ",\"" name "\":", sizeof name + 3, kind}
static const struct {
    const char *name;
    const char *key; /* ,"name": as it is written into entry text */
    size_t key_len;
    int kind;
} entry_fields[] = {
    FIELD("seq", F_INT), FIELD("id", F_TEXT), FIELD("event_type", F_TEXT),
    FIELD("operation_name", F_TEXT), FIELD("operation_id", F_TEXT),
    FIELD("user_id", F_TEXT), FIELD("project_id", F_TEXT), FIELD("args", F_JSON),
    FIELD("result", F_JSON), FIELD("error", F_TEXT), FIELD("before_state", F_JSON),
    FIELD("after_state", F_JSON), FIELD("created_at", F_TEXT), FIELD("client", F_JSON),
    FIELD("prev_hash", F_HASH), FIELD("hash", F_HASH), FIELD("server", F_OPT_JSON),
    FIELD("session_id", F_OPT_TEXT), FIELD("duration_ms", F_OPT_INT),
    FIELD("completes", F_OPT_TEXT), FIELD("cwd", F_OPT_TEXT),
    FIELD("log_id", F_TEXT), FIELD("log", F_TEXT)};
#undef FIELD
#define ENTRY_FIELDS (sizeof entry_fields / sizeof entry_fields[0])

/* Whether stored JSON text may be spliced into a reply as it is (text that
** is not JSON, only possible if the database was edited, is shown as a
** string so that the reader sees what is stored). */
static int splices(const char *text, size_t len)
{
    char why[128];
    int rc = jsoncheck(text, len, 1024, why, sizeof why);
    return rc == JSONCHECK_OK || rc == JSONCHECK_NUL;
}

static int64_t int_at(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Build one entry object from row `row` of res.  Returns a new object the
** caller frees, or NULL when memory runs out. */
static cJSON *row_to_entry(const PGresult *res, int row)
{
    cJSON *e = cJSON_CreateObject();
    if (!e) return NULL;
    for (int c = 0; c < (int)ENTRY_FIELDS; c++) {
        int kind = entry_fields[c].kind, null = PQgetisnull(res, row, c);
        if (kind >= F_OPT_TEXT) {
            if (null) continue;
            kind = kind == F_OPT_INT ? F_INT : kind == F_OPT_JSON ? F_JSON : F_TEXT;
        }
        const char *text = PQgetvalue(res, row, c);
        cJSON *v;
        if (kind == F_INT) v = cJSON_CreateNumber((double)int_at(res, row, c));
        else if (null && kind != F_HASH) v = cJSON_CreateNull();
        else if (kind == F_JSON && splices(text, (size_t)PQgetlength(res, row, c)))
            v = cJSON_CreateRaw(text);
        else v = cJSON_CreateString(text);
        if (!v || !cJSON_AddItemToObject(e, entry_fields[c].name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(e);
            return NULL;
        }
    }
    return e;
}

/* Append the same entry as JSON text, without building a tree: the text
** cJSON would print for row_to_entry()'s object. */
static void row_to_json(const PGresult *res, int row, jbuf *out)
{
    jbuf_putc(out, '{');
    for (int c = 0; c < (int)ENTRY_FIELDS; c++) {
        int kind = entry_fields[c].kind, null = PQgetisnull(res, row, c);
        if (kind >= F_OPT_TEXT) {
            if (null) continue;
            kind = kind == F_OPT_INT ? F_INT : kind == F_OPT_JSON ? F_JSON : F_TEXT;
        }
        /* The first key goes without its leading comma. */
        jbuf_put(out, entry_fields[c].key + !c, entry_fields[c].key_len - !c);
        const char *text = PQgetvalue(res, row, c);
        size_t len = (size_t)PQgetlength(res, row, c);
        if (kind == F_INT) {
            /* As cJSON prints the double it would hold. */
            jbuf_int(out, int_at(res, row, c));
        } else if (kind == F_HASH) {
            /* Hex (or "") needs no escaping: quote it in place. */
            jbuf_putc(out, '"');
            jbuf_put(out, text, len);
            jbuf_putc(out, '"');
        } else if (null) {
            jbuf_put(out, "null", 4);
        } else if (kind == F_JSON && splices(text, len)) {
            jbuf_put(out, text, len);
        } else {
            jbuf_string(out, text, len);
        }
    }
    jbuf_putc(out, '}');
}

/* ---- query shapes -------------------------------------------------------- */

/* Bits naming which filters a query uses; each shape is one prepared
** statement per connection. */
enum {
    Q_PROJECT = 1 << 0,
    Q_USER = 1 << 1,
    Q_OPNAME = 1 << 2,
    Q_EVTYPE = 1 << 3,
    Q_SINCE = 1 << 4,
    Q_UNTIL = 1 << 5,
    Q_TEXT = 1 << 6,
    Q_SERVER = 1 << 7,
    Q_SESSION = 1 << 8,
    Q_COMPLETES = 1 << 9,
    Q_LOG = 1 << 10,    /* one log, by its id (resolved from an id or a name) */
    Q_CURSOR = 1 << 11, /* keyset continuation: (created_at, log_id, seq) */
    Q_SEQ_CURSOR = 1 << 12, /* a cursor of seq alone, within the selected log */
    Q_SHAPES = 1 << 13
};

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
    char *pattern;          /* Q_TEXT: "%term%" escaped, freed by the caller */
    const char *after_created_at;
    char after_log_id[37];
} resolved;

/* "%term%" with LIKE's own metacharacters (% _ \) escaped, so that the term
** matches only itself, as the SQLite backend builds it.  ILIKE under the
** schema's C collation folds ASCII letters alone and compares every other
** byte exactly: SQLite's LIKE rule.  Returns a new string, or NULL. */
static char *like_pattern(const char *term)
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
    if (shape & Q_PROJECT) n = add_clause(buf, len, n, p, "e.project_id = ?", V(project_id));
    if (shape & Q_USER) n = add_clause(buf, len, n, p, "e.user_id = ?", V(user_id));
    if (shape & Q_OPNAME)
        n = add_clause(buf, len, n, p, "e.operation_name = ?", V(operation_name));
    if (shape & Q_EVTYPE) n = add_clause(buf, len, n, p, "e.event_type = ?", V(event_type));
    if (shape & Q_SERVER) n = add_clause(buf, len, n, p, "e.server_name = ?", V(server));
    if (shape & Q_SESSION) n = add_clause(buf, len, n, p, "e.session_id = ?", V(session_id));
    if (shape & Q_COMPLETES) n = add_clause(buf, len, n, p, "e.completes = ?", V(completes));
    if (shape & Q_LOG) n = add_clause(buf, len, n, p, "e.log_id = ?", r ? r->log_id : NULL);
    if (shape & Q_SINCE) n = add_clause(buf, len, n, p, "e.created_at >= ?", V(since));
    if (shape & Q_UNTIL) n = add_clause(buf, len, n, p, "e.created_at <= ?", V(until));
    if (shape & Q_TEXT)
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
    return (q->project_id ? Q_PROJECT : 0) | (q->user_id ? Q_USER : 0) |
           (q->operation_name ? Q_OPNAME : 0) | (q->event_type ? Q_EVTYPE : 0) |
           (q->since ? Q_SINCE : 0) | (q->until ? Q_UNTIL : 0) | (q->text ? Q_TEXT : 0) |
           (q->server ? Q_SERVER : 0) | (q->session_id ? Q_SESSION : 0) |
           (q->completes ? Q_COMPLETES : 0) | (q->log ? Q_LOG : 0) | cursor;
}

/* The statement of one find shape, its parameters into p when q is set:
** newest first across logs, limit and offset last. */
static void find_sql(int shape, const store_query *q, const resolved *r, char *buf,
                     size_t len, params *p)
{
    int n = snprintf(buf, len, "SELECT %s FROM dss_audit.entries e WHERE true", entry_columns);
    n = filter_sql(shape, q, r, buf, len, n, p);
    n = cursor_sql(shape, r, q ? q->after_seq : 0, '<', buf, len, n, p);
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
        int rc = pgq_log_id(s, q->log, r->log_id, err);
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
    if (q->text && !(r->pattern = like_pattern(q->text))) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    return STORE_OK;
}

/* Called with each row a query gathers; STORE_OK, or STORE_ENOMEM to stop. */
typedef int (*row_fn)(void *ctx, const PGresult *res, int row);

/* Run q and hand each row (up to its limit) to fn; the shared part of
** pg_store_find() and pg_store_find_json(). */
static int find_rows(pg_store *s, const store_query *q, row_fn fn, void *ctx, int *more_out,
                     char *err)
{
    resolved r;
    params p = {.n = 0};
    char sql[4096];
    PGresult *res = NULL;
    if (more_out) *more_out = 0;
    int rc = resolve(s, q, &r, err);
    if (rc == STORE_ENOTFOUND) {
        rc = STORE_OK; /* no such log: nothing matches */
        goto done;
    }
    if (rc != STORE_OK) goto done;
    find_sql(r.shape, q, &r, sql, sizeof sql, &p);
    res = pgq_run(s, 1 + r.shape, sql, &p, &rc, "querying the audit log", err);
    if (!res) goto done;
    int rows = PQntuples(res);
    int64_t got = 0;
    for (int i = 0; i < rows; i++) {
        if (got++ == q->limit) break;
        if ((rc = fn(ctx, res, i)) != STORE_OK) goto done;
        if (q->progress && got % 1000 == 0) q->progress(q->progress_ctx, got, q->limit);
    }
    if (more_out) *more_out = got > q->limit;
done:
    PQclear(res);
    free(r.pattern);
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    return rc;
}

static int add_entry(void *ctx, const PGresult *res, int row)
{
    cJSON *e = row_to_entry(res, row);
    if (!e) return STORE_ENOMEM;
    cJSON_AddItemToArray(ctx, e);
    return STORE_OK;
}

int pg_store_find(pg_store *s, const store_query *q, cJSON **entries, int *more_out, char *err)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    int rc = find_rows(s, q, add_entry, arr, more_out, err);
    if (rc == STORE_OK) *entries = arr;
    else cJSON_Delete(arr);
    return rc;
}

typedef struct text_page {
    jbuf *out;
    store_page *page;
} text_page;

static void copy_value(const PGresult *res, int row, int col, char *dst, size_t len)
{
    snprintf(dst, len, "%s", PQgetvalue(res, row, col));
}

static int append_entry(void *ctx, const PGresult *res, int row)
{
    text_page *tp = ctx;
    store_page *pg = tp->page;
    if (pg->count++) jbuf_putc(tp->out, ',');
    row_to_json(res, row, tp->out);
    if (tp->out->failed) return STORE_ENOMEM;
    pg->last_seq = int_at(res, row, COL_SEQ);
    copy_value(res, row, COL_CREATED_AT, pg->last_created_at, sizeof pg->last_created_at);
    copy_value(res, row, COL_LOG_ID, pg->last_log_id, sizeof pg->last_log_id);
    return STORE_OK;
}

int pg_store_find_json(pg_store *s, const store_query *q, jbuf *out, store_page *page,
                       char *err)
{
    memset(page, 0, sizeof *page);
    text_page tp = {out, page};
    jbuf_putc(out, '[');
    int rc = find_rows(s, q, append_entry, &tp, &page->more, err);
    jbuf_putc(out, ']');
    if (rc == STORE_OK && out->failed) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
    }
    return rc;
}

int pg_store_explain_find(pg_store *s, const store_query *q, char *plan, size_t len, char *err)
{
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
    int n = snprintf(sql, sizeof sql, "EXPLAIN ");
    find_sql(r.shape, q, &r, sql + n, sizeof sql - n, &p);
    PGresult *res = pgq_run(s, 0, sql, &p, &rc, "explaining a query", err);
    free(r.pattern);
    if (!res) return rc;
    size_t at = 0;
    plan[0] = '\0';
    for (int i = 0; i < PQntuples(res) && at < len; i++) {
        int w = snprintf(plan + at, len - at, "%s\n", PQgetvalue(res, i, 0));
        at += w > 0 ? (size_t)w : 0;
    }
    PQclear(res);
    return STORE_OK;
}

int pg_store_get(pg_store *s, const char *id, cJSON **entry, char *err)
{
    char sql[1024];
    int rc = STORE_OK;
    params p = {.v = {id}, .n = 1};
    snprintf(sql, sizeof sql, "SELECT %s FROM dss_audit.entries e WHERE e.id = $1 LIMIT 1", entry_columns);
    PGresult *res = pgq_run(s, SLOT_GET, sql, &p, &rc, "reading the entry", err);
    if (!res) return rc;
    if (PQntuples(res) == 0) {
        snprintf(err, STORE_ERRLEN, "no audit entry has id '%.64s'", id);
        rc = STORE_ENOTFOUND;
    } else if (!(*entry = row_to_entry(res, 0))) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
    }
    PQclear(res);
    return rc;
}

/* ---- activity, from the per-day counters ------------------------------- */

int pg_store_user_activity(pg_store *s, const char *user_id, const char *since,
                           store_activity *out, char *err)
{
    /* Whole days after since's day come from the counters; since's own day
    ** is counted exactly from the entries (the user's index), so the cost
    ** grows with the window, not with the user's number of entries. */
    static const char types_sql[] =
        "SELECT event_type, sum(n)::bigint AS total, sum(errors)::bigint FROM ("
        "  SELECT event_type, n, errors FROM dss_audit.activity_daily"
        "  WHERE user_id = $1 AND day > $2"
        "  UNION ALL"
        "  SELECT event_type, 1, (error IS NOT NULL)::int FROM dss_audit.entries"
        "  WHERE user_id = $1 AND created_at >= $3 AND created_at < $4) t"
        " GROUP BY event_type ORDER BY total DESC, event_type COLLATE \"C\"";
    static const char projects_sql[] =
        "SELECT count(DISTINCT project_id) FROM dss_audit.activity_projects"
        " WHERE user_id = $1 AND last_seen >= $2";
    char day[11], day_end[16];
    int rc = STORE_OK;
    memset(out, 0, sizeof *out);
    snprintf(day, sizeof day, "%.10s", since);
    snprintf(day_end, sizeof day_end, "%.10sT99", since);
    params p = {.v = {user_id, day, since, day_end}, .n = 4};
    PGresult *res = pgq_run(s, SLOT_ACT_TYPES, types_sql, &p, &rc,
                            "counting the user's activity", err);
    if (!res) return rc;
    if (!(out->by_type = cJSON_CreateObject())) rc = STORE_ENOMEM;
    for (int i = 0; rc == STORE_OK && i < PQntuples(res); i++) {
        int64_t n = int_at(res, i, 1);
        out->total += n;
        out->errors += int_at(res, i, 2);
        if (!cJSON_AddNumberToObject(out->by_type, PQgetvalue(res, i, 0), (double)n))
            rc = STORE_ENOMEM;
    }
    PQclear(res);
    if (rc == STORE_OK) {
        params pp = {.v = {user_id, since}, .n = 2};
        res = pgq_run(s, SLOT_ACT_PROJECTS, projects_sql, &pp, &rc,
                      "counting the user's projects", err);
        if (res) {
            out->projects = int_at(res, 0, 0);
            PQclear(res);
        }
    }
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc != STORE_OK) {
        cJSON_Delete(out->by_type);
        out->by_type = NULL;
    }
    return rc;
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

int pg_store_activity_days(pg_store *s, const char *user_id, const char *since_day,
                           const char *until_day, store_activity_fn fn, void *ctx, char *err)
{
    /* With a user: that user's counter rows.  Without: every user's rows of
    ** the window, summed, plus the entries that have no user (which the
    ** counters do not hold), through the user index (user_id IS NULL). */
    static const char one_user[] =
        "SELECT day, event_type, sum(n)::bigint, sum(errors)::bigint FROM dss_audit.activity_daily"
        " WHERE user_id = $3 AND day BETWEEN $1 AND $2"
        " GROUP BY day, event_type ORDER BY day, event_type COLLATE \"C\"";
    static const char all_users[] =
        "SELECT day, event_type, sum(n)::bigint, sum(e)::bigint FROM ("
        "  SELECT day, event_type, n, errors AS e FROM dss_audit.activity_daily"
        "  WHERE day BETWEEN $1 AND $2"
        "  UNION ALL"
        "  SELECT substr(created_at, 1, 10), event_type, 1, (error IS NOT NULL)::int"
        "  FROM dss_audit.entries WHERE user_id IS NULL AND created_at >= $1 AND created_at < $3) t"
        " GROUP BY day, event_type ORDER BY day, event_type COLLATE \"C\"";
    char until_ts[16];
    /* until_day is inclusive: every created_at of that day sorts before
    ** "<day>U" ('U' > 'T'). */
    snprintf(until_ts, sizeof until_ts, "%.10sU", until_day);
    params p = {.v = {since_day, until_day, user_id ? user_id : until_ts}, .n = 3};
    return each_activity_row(s, user_id ? SLOT_DAYS_USER : SLOT_DAYS_ALL,
                             user_id ? one_user : all_users, &p,
                             "counting activity per day", fn, ctx, err);
}

int pg_store_activity_users(pg_store *s, const char *since_day, const char *until_day,
                            store_activity_fn fn, void *ctx, char *err)
{
    static const char sql[] =
        "SELECT user_id, '', sum(n)::bigint, sum(errors)::bigint FROM dss_audit.activity_daily"
        " WHERE day BETWEEN $1 AND $2 GROUP BY user_id ORDER BY user_id COLLATE \"C\"";
    params p = {.v = {since_day, until_day}, .n = 2};
    return each_activity_row(s, SLOT_USERS, sql, &p, "counting activity per user", fn, ctx,
                             err);
}

int pg_store_set_cache_size(pg_store *s, int kib, char *err)
{
    /* The server keeps the cache; a connection holds no page cache of its
    ** own to shrink. */
    (void)s, (void)kib, (void)err;
    return STORE_OK;
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

int pg_store_each_match(pg_store *s, const store_scan *scan, store_match_fn fn, void *ctx,
                        char *err)
{
    static int walks; /* cursor names, distinct when walks nest */
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
    snprintf(name, sizeof name, "dss_walk_%d", ++walks);
    const char *dir = scan->newest_first ? "DESC" : "ASC";
    int n = snprintf(sql, sizeof sql, "DECLARE %s NO SCROLL CURSOR FOR SELECT %s"
                     " FROM dss_audit.entries e WHERE true", name, entry_columns);
    n = filter_sql(r.shape, &f, &r, sql, sizeof sql, n, &p);
    n = cursor_sql(r.shape, &r, f.after_seq, scan->newest_first ? '<' : '>', sql, sizeof sql,
                   n, &p);
    n += snprintf(sql + n, sizeof sql - n,
                  " ORDER BY e.created_at %s, e.log_id %s, e.seq %s", dir, dir, dir);
    if (scan->limit > 0) {
        p.v[p.n++] = param_num(&p, 3, scan->limit);
        snprintf(sql + n, sizeof sql - n, " LIMIT $%d::bigint", p.n);
    }
    if (!s->in_tx) {
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
        for (int i = 0; i < rows && !stop; i++) {
            cJSON *e = row_to_entry(res, i);
            if (!e) {
                snprintf(err, STORE_ERRLEN, "out of memory");
                rc = STORE_ENOMEM;
                goto done;
            }
            stop = fn(ctx, e);
            cJSON_Delete(e);
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

/* The oldest or newest entry across logs: its seq and created_at. */
static int edge_entry(pg_store *s, int newest, int64_t *seq, char at[TS_BUFLEN], char *err)
{
    int rc = STORE_OK;
    params none = {.n = 0};
    PGresult *res = pgq_run(
        s, newest ? SLOT_STATS_LAST : SLOT_STATS_FIRST,
        newest ? "SELECT seq, created_at FROM dss_audit.entries"
                 " ORDER BY created_at DESC, log_id DESC, seq DESC LIMIT 1"
               : "SELECT seq, created_at FROM dss_audit.entries"
                 " ORDER BY created_at, log_id, seq LIMIT 1",
        &none, &rc, "reading the oldest and newest entry", err);
    if (!res) return rc;
    *seq = 0;
    at[0] = '\0';
    if (PQntuples(res)) {
        *seq = int_at(res, 0, 0);
        copy_value(res, 0, 1, at, TS_BUFLEN);
    }
    PQclear(res);
    return STORE_OK;
}

/*
** Statistics cover the whole database: every log.  first_seq/last_seq and
** the times are those of the oldest and the newest entry across logs (in
** a database of one log, its seq range).  The entry count walks the
** entries log by log, reporting progress after each.
*/
int pg_store_get_stats(pg_store *s, int top_users, store_progress_fn progress, void *ctx,
                       store_stats *out, char *err)
{
    static const char by_type_sql[] =
        "SELECT event_type, sum(n)::bigint AS total, sum(e)::bigint FROM ("
        "  SELECT event_type, n, errors AS e FROM dss_audit.activity_daily"
        "  UNION ALL"
        "  SELECT event_type, 1, (error IS NOT NULL)::int FROM dss_audit.entries WHERE user_id IS NULL) t"
        " GROUP BY event_type ORDER BY total DESC, event_type COLLATE \"C\"";
    static const char users_sql[] =
        "SELECT user_id, sum(n)::bigint AS total, sum(errors)::bigint FROM dss_audit.activity_daily"
        " GROUP BY user_id ORDER BY total DESC, user_id COLLATE \"C\" LIMIT $1::bigint";
    static const char per_log_sql[] =
        "SELECT l.log_id, (SELECT count(*) FROM dss_audit.entries e WHERE e.log_id = l.log_id)"
        " FROM dss_audit.logs l ORDER BY l.log_id";
    int rc = STORE_OK, in_read = 0;
    PGresult *res = NULL;
    memset(out, 0, sizeof *out);
    out->by_event_type = cJSON_CreateObject();
    out->top_users = cJSON_CreateArray();
    if (!out->by_event_type || !out->top_users) {
        rc = STORE_ENOMEM;
        goto done;
    }
    params none = {.n = 0};
    /* One snapshot: every number describes the same moment. */
    if (!s->in_tx) {
        if (!(res = pgq_run(s, 0, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &none,
                            &rc, "starting to read", err)))
            goto done;
        PQclear(res);
        res = NULL;
        in_read = 1;
    }
    if ((rc = edge_entry(s, 0, &out->first_seq, out->first_created_at, err)) != STORE_OK ||
        (rc = edge_entry(s, 1, &out->last_seq, out->last_created_at, err)) != STORE_OK)
        goto done;
    if (!(res = pgq_run(s, SLOT_STATS_LOGS, per_log_sql, &none, &rc, "counting entries", err)))
        goto done;
    for (int i = 0, logs = PQntuples(res); i < logs; i++) {
        out->entries += int_at(res, i, 1);
        if (progress) progress(ctx, i + 1, logs);
    }
    PQclear(res);
    if (!(res = pgq_run(s, SLOT_STATS_TYPES, by_type_sql, &none, &rc, "counting event types",
                        err)))
        goto done;
    for (int i = 0; i < PQntuples(res); i++) {
        out->errors += int_at(res, i, 2);
        if (!cJSON_AddNumberToObject(out->by_event_type, PQgetvalue(res, i, 0),
                                     (double)int_at(res, i, 1))) {
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    PQclear(res);
    params lim = {.n = 1};
    lim.v[0] = param_num(&lim, 0, top_users > 0 ? top_users : 0);
    if (!(res = pgq_run(s, SLOT_STATS_USERS, users_sql, &lim, &rc, "counting users", err)))
        goto done;
    for (int i = 0; i < PQntuples(res); i++) {
        cJSON *u = cJSON_CreateObject();
        if (!u || !cJSON_AddItemToArray(out->top_users, u) ||
            !cJSON_AddStringToObject(u, "user_id", PQgetvalue(res, i, 0)) ||
            !cJSON_AddNumberToObject(u, "entries", (double)int_at(res, i, 1)) ||
            !cJSON_AddNumberToObject(u, "errors", (double)int_at(res, i, 2))) {
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    PQclear(res);
    res = NULL;
    if ((rc = one_int64(s, SLOT_STATS_CPS,
                        "SELECT count(*) FROM dss_audit.checkpoints WHERE kind = 'checkpoint'",
                        &out->checkpoints, "counting checkpoints", err)) ||
        (rc = one_int64(s, SLOT_STATS_ANCHORS,
                        "SELECT count(*) FROM dss_audit.checkpoints WHERE kind = 'anchor'", &out->anchors,
                        "counting anchors", err)) ||
        /* The entries' partitions with their indexes and TOAST (the parent
        ** of a partitioned table holds nothing itself). */
        (rc = one_int64(s, SLOT_STATS_BYTES,
                        "SELECT pg_total_relation_size('dss_audit.entries'::regclass)"
                        " + coalesce((SELECT sum(pg_total_relation_size(inhrelid))"
                        " FROM pg_inherits WHERE inhparent = 'dss_audit.entries'::regclass), 0)",
                        &out->db_bytes, "reading the database size", err)))
        goto done;
    out->wal_bytes = 0; /* the server's write-ahead log is not this log's */
done:
    PQclear(res);
    if (in_read) {
        int ignored;
        char why[STORE_ERRLEN];
        PQclear(pgq_run(s, 0, rc == STORE_OK ? "COMMIT" : "ROLLBACK", &none, &ignored,
                        "finishing a read", why));
    }
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    if (rc != STORE_OK) {
        cJSON_Delete(out->by_event_type);
        cJSON_Delete(out->top_users);
        out->by_event_type = out->top_users = NULL;
    }
    return rc;
}
