/*
** store_pg_int.h: what the PostgreSQL backend's files share and nothing
** else sees: the handle, the round-trip helpers that every statement goes
** through (so cancellation, lost connections and error codes behave the
** same everywhere), and each file's part of the methods table.
**
**   store_pg.c           the connection (and getting it back), logs,
**                        opening, the methods table
**   store_pg_conninfo.c  connection strings: which paths are ours, and
**                        their passwords masked or wiped
**   store_pg_schema.c    the central schema and its migrations
**   store_pg_write.c     transactions, savepoints, appends, checkpoints,
**                        shipping another log in
**   store_pg_rows.c      entries in PostgreSQL's binary formats: the
**                        column arrays of the appends' INSERT, COPY tuples
**   store_pg_query.c     queries, activity, walks, statistics
**   store_pg_scan.c      the chain's reads, entry walks, retention by
**                        partitions, the append-only guards
**   store_pg_cursor.c    ship cursors of the shared trail, and their locks
**   store_pg_tree.c      the Merkle tree's stored hashes, the logs'
**                        origins, cosignatures and witnesses
**
** Rules for code using this header:
** - Before any statement, call pgs_ready(): it reconnects after a lost
**   connection.
** - Run statements with pgs_query() (or pgs_exec() when no rows matter),
**   or pgs_run() for a statement prepared once per connection, or several
**   at once with pgs_pipeline(): they poll the interrupt callback while
**   waiting and map SQLSTATEs to STORE_E* codes with a sentence that never
**   holds the conninfo.  Each sends the appends buffered in the open
**   transaction ahead of the statement, in the same round trip, so a read
**   inside a transaction sees the transaction's own writes; and reads the
**   results of the transaction's BEGIN and head lock, which store_begin()
**   sends without waiting (pipeline mode, see pgs_pipeline()).
** - Entries are read with PG_ENTRY_COLUMNS (or PG_ENTRY_NAMED) and turned
**   into rows with pgs_row().
** - A store is used by one thread at a time (each thread opens its own),
**   so nothing here takes a lock.
*/
#ifndef DSS_STORE_PG_INT_H
#define DSS_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "../store_methods.h"
#include "../../util/jbuf.h"

/* The newest schema this code knows; a database at a higher version is
** refused (STORE_ESCHEMA). */
#define PG_SCHEMA_VERSION 8

/* pg_advisory_xact_lock keys: one for migrations, one for creating
** partitions.  Fixed numbers (ASCII "dssamig" and "dssaprt"), as SQL
** text, so every server version agrees. */
#define PG_LOCK_MIGRATE "28274437064059239"
#define PG_LOCK_PARTITION "28274437064258164"

/* An entry's columns of dss_audit.entries e, in ENTRY_FIELDS order, the
** hashes as hex ("" when not 32 bytes), then log_id: what pgs_row()
** reads.  The reads name each row's log from the store's cache of log
** names (pgs_name_rows()), not from a join: a subquery per row cost a
** 100-row trail 0.2-0.5 ms of PostgreSQL's time. */
#define PG_COL_SEQ(name) "e." #name
#define PG_COL_TEXT(name) ", e." #name
#define PG_COL_JSON PG_COL_TEXT
#define PG_COL_INT PG_COL_TEXT
#define PG_COL_HASH(name) \
    ", CASE WHEN length(e." #name ") = 32 THEN encode(e." #name ", 'hex') ELSE '' END"
#define PG_X_COLUMN(name, type, nullable, hash_at, since, by) PG_COL_##type(name)
#define PG_ENTRY_COLUMNS ENTRY_FIELDS(PG_X_COLUMN) ", e.log_id"

/* The head of the own log as the open transaction sees it, and what a
** savepoint saved of it. */
typedef struct pg_head {
    int64_t seq;
    uint8_t hash[32];
    char created_at[TS_BUFLEN];
} pg_head;

/* One savepoint of the open transaction.  Savepoints are lazy: most
** requests only append, and their appends are buffered, so rolling one
** back only trims the buffer.  A savepoint is sent to the server (sent=1)
** only when a statement must run after it (ahead of that statement). */
typedef struct pg_mark {
    size_t rows;   /* appended rows of the tx when the savepoint was set */
    pg_head head;
    int64_t writes; /* tx_writes then */
    int sent;
} pg_mark;

/* Rows of entries kept to be sent (store_pg_rows.c): each field's bytes
** once, row after row; flen holds ENTRY_NFIELDS lengths a row (-1: NULL). */
typedef struct pg_rows {
    char *data;
    size_t len, cap;
    size_t *start;     /* where each row's bytes begin in data */
    int32_t *flen;
    size_t n, rows_cap;
} pg_rows;

/* What a statement sent in pipeline mode owes: its results, read in the
** order sent (pgs_pipeline()). */
typedef struct pg_expect {
    unsigned char kind;  /* PG_X_PREPARE, PG_X_EXEC, PG_X_SYNC */
    unsigned char part;  /* PG_PART_BEGIN, PG_PART_FLUSH or PG_PART_CALLER */
    int slot;            /* PG_X_PREPARE: the number it prepares */
    PGresult **res;      /* PG_X_EXEC: where its result goes, or NULL */
    const char *doing;
} pg_expect;
enum { PG_X_PREPARE = 1, PG_X_EXEC, PG_X_SYNC };
enum { PG_PART_BEGIN = 1, PG_PART_FLUSH, PG_PART_CALLER };

#define PG_MAX_MARKS 64
/* Groups that keep releasing the head early after another writer of the
** log was last seen (pgs_commit()). */
#define PG_SHARED_GROUPS 64
#define PG_MONTHS_CACHED 8
/* Statement numbers of pgs_run(): query shapes below 8192, fixed
** statements above. */
#define PG_PREP_SLOTS 16384
/* Query shapes (store_pg_query.c): the statement numbers below 8192. */
#define PG_FIND_SHAPES 8192
enum {
    PG_SLOT_LOG_ID = 8200, PG_SLOT_GET, PG_SLOT_ACT_TYPES, PG_SLOT_ACT_PROJECTS,
    PG_SLOT_ACT_TYPES_LOG, PG_SLOT_ACT_PROJECTS_LOG, PG_SLOT_DAYS_USER, PG_SLOT_DAYS_ALL,
    PG_SLOT_USERS, PG_SLOT_STATS_LOGS, PG_SLOT_STATS_TYPES, PG_SLOT_STATS_USERS,
    PG_SLOT_STATS_ERRORS, PG_SLOT_STATS_BYTES, PG_SLOT_LOG_NAMES,
    /* the write path's */
    PG_SLOT_BEGIN, PG_SLOT_LOCK, PG_SLOT_INSERT, PG_SLOT_INSERT_HEAD, PG_SLOT_HEAD,
    PG_SLOT_COMMIT, PG_SLOT_TREE, PG_SLOT_ASYNC, PG_SLOT_FLUSH,
    /* the chain's */
    PG_SLOT_HEAD_READ, PG_SLOT_HASH_AT, PG_SLOT_LAST_CHECKPOINT, PG_SLOT_LAST_ANCHOR
};

/* How a statement wants the session's plan_cache_mode (pgs_pipeline()):
** a prepared lookup by key is planned once (a generic plan: planning the
** partitioned table each time cost more than running the query); a
** one-off statement with parameters, and a prepared find whose best plan
** depends on its values, is planned for them (force_custom_plan: at 10M
** entries a generic plan of a user's newest 20 ran 55 ms against 0.2 ms
** for the custom one, bench/RESULTS-pg.md), still parsed only once. */
enum { PG_PLAN_ANY = 0, PG_PLAN_GENERIC, PG_PLAN_CUSTOM };

/* Merkle tree hashes of the own log waiting for the commit: n of them at
** indexes first.., as the text of a PostgreSQL array of hex strings
** ("{ab12..,cd34..}"), the parameter of the tree's INSERT. */
typedef struct pg_tree_pending {
    int64_t first;
    size_t n;
    jbuf arr;
} pg_tree_pending;

/* One log's name, as the reads cache it: both strings owned. */
typedef struct pg_log_name {
    char *log_id;
    char *name;
} pg_log_name;

typedef struct pg_store {
    store base;
    PGconn *conn;
    char *conninfo;    /* as given (holds the password): never printed */
    char where[160];   /* "host H, database D" for messages */
    int readonly;
    int busy_timeout_ms;
    int broken;        /* the connection was lost: reconnect before use */
    int retry_ms;      /* the next reconnect's back-off (50 ms .. 5 s) */
    int64_t retry_at_ms;

    /* The own log (appends go there) and the selected one. */
    char own_id[37];
    int no_own_log;    /* a shipper's store: transactions lock no head at begin */
    char own_name[STORE_LOG_NAME_MAX];
    char sel_id[37];
    char sel_name[STORE_LOG_NAME_MAX];

    /* The open transaction (besides base's state). */
    pg_head head;      /* own log's head, locked at begin */
    pg_head head_at_begin; /* the head row as locked: commit updates it if moved */
    pg_mark marks[PG_MAX_MARKS];
    int nmarks;
    /* store_begin() sent BEGIN and the head lock; their results are read
    ** with the next statement's (pgs_settle()).  lock_res: the lock's. */
    int begin_air;
    PGresult *lock_res;
    /* The begin failed (the lock, the connection): its STORE_E* code, which
    ** every write of the transaction and its commit report with
    ** tx_fail_why; reads run outside it.  0 otherwise. */
    int tx_failed;
    char tx_fail_why[STORE_ERRLEN];
    /* An import into another log moved that log's head: the COMMIT's round
    ** trip stores it. */
    int import_pending;
    pg_head import_head;
    char import_log[37];

    /* Appends not yet sent (rows_flushed of the tx were sent already). */
    pg_rows rows;
    size_t rows_flushed;

    /* Statements sent in pipeline mode whose results are not read yet. */
    pg_expect *air;
    size_t nair, air_cap;
    int plan_mode;     /* the session's plan_cache_mode: PG_PLAN_GENERIC or
                       ** PG_PLAN_CUSTOM when forced, PG_PLAN_ANY (auto) as
                       ** connected, -1 unknown */

    /* Months whose partition is known to exist ("2026-12"). */
    char months[PG_MONTHS_CACHED][8];
    int nmonths;

    /* Whether a substring search walks windows of time (store_pg_query.c):
    ** 0 not known yet, 1 yes, -1 no (the entries are few). */
    int search_windows;

    /* Whether a commit that appended may release the log's head before
    ** its WAL flush (store_pg_write.c, pgs_commit()): 1 when this session
    ** may write a WAL message (pg_logical_emit_message), learnt at
    ** connect.  It does so while the log is shared: shared_groups counts
    ** down the groups since a head lock last found the head moved by
    ** another writer (not where this store's last commit left it,
    ** last_commit, known when have_last_commit). */
    int early_release;
    int shared_groups;
    int have_last_commit;
    pg_head last_commit;

    /* The statements this connection has prepared (pgs_run()), a bit per
    ** statement number; cleared when a new connection is made. */
    unsigned char prepared[PG_PREP_SLOTS / 8];
    /* Whether a find shape of one filter runs its generic plan
    ** (store_pg_query.c, shape_plan()), per shape: 0 not checked on this
    ** connection, else the runs since the check and whether it fits;
    ** cleared with prepared. */
    unsigned short find_generic[PG_FIND_SHAPES];
    /* Cursors opened by walks, for distinct names when walks nest. */
    int walks;
    /* The names of the logs met in rows read, sorted by log_id
    ** (pgs_name_rows()).  A log's id and name never change and a log is
    ** never deleted (dss_audit.logs_guard), so nothing here goes stale,
    ** across reconnections too. */
    pg_log_name *names;
    size_t nnames, names_cap;

    /* The own log's stored tree hashes of the open transaction, sent in
    ** its commit's round trip (store_pg_tree.c). */
    pg_tree_pending tree;
    /* Flights waited for (pgs_wait(), each pipeline's drain): the round
    ** trips the tests count (store_testing_round_trips()). */
    int64_t round_trips;

    int (*interrupt)(void *ctx);
    void *interrupt_ctx;
} pg_store;

static inline pg_store *pgs(store *s) { return (pg_store *)s; }
static inline const pg_store *pgs_const(const store *s) { return (const pg_store *)s; }

/* A sentence into the caller's STORE_ERRLEN buffer, cut when too long. */
void pgs_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reconnect when the connection was lost (with back-off, never waiting
** longer than the busy timeout).  0 or a STORE_E* code with err filled. */
int pgs_ready(pg_store *s, char *err);

/* One statement for pgs_pipeline(): prepared once per connection under the
** number slot (> 0), or sent as it is (slot 0); values as in
** PQsendQueryParams() (lengths and formats NULL: every value is text).
** Its result goes to *res (NULL to discard; the caller PQclear()s it). */
typedef struct pg_stmt {
    int slot;
    const char *sql;
    int nparams;
    const char *const *values;
    const int *lengths;
    const int *formats;
    int plan;           /* PG_PLAN_* */
    PGresult **res;
    const char *doing;
} pg_stmt;

/* Run n statements in one round trip (libpq's pipeline mode): the open
** transaction's buffered appends and savepoints go first, then each
** statement (its PREPARE with it when it is new to the connection), then
** a sync.  Reads the results of everything in the air, store_begin()'s
** included, in order.  STORE_OK when every statement succeeded, else the
** code and sentence of the first failure (as pgs_fail() makes them; the
** *res of the statements are then NULL).  When the transaction's begin
** failed, the statements run again outside it, once. */
int pgs_pipeline(pg_store *s, const pg_stmt *st, int n, char *err);

/* Send statements without reading their results (the begin's BEGIN and
** head lock), marked part PG_PART_BEGIN; pgs_settle() reads them.  The
** connection stays in pipeline mode meanwhile. */
int pgs_send_part(pg_store *s, const pg_stmt *st, int n, int part, char *err);

/* Read whatever is in the air (store_begin()'s lock), leaving pipeline
** mode: before anything that cannot be pipelined (simple queries, COPY)
** and before the head is needed. */
int pgs_settle(pg_store *s, char *err);

/* store_pg_write.c, for pgs_pipeline(): send the buffered appends and the
** savepoints not yet sent, as part PG_PART_FLUSH (nothing when there are
** none); and, after the results, mark them sent (ok) or give the
** transaction up.  pgs_begin_settled(): the begin's results were read
** (lock_res holds the lock's result, or NULL when it failed). */
int pgs_flush_send(pg_store *s, char *err);
void pgs_flush_done(pg_store *s, int ok);
void pgs_begin_settled(pg_store *s, int rc, const char *why);

/* store_pg_write.c: send the begin's BEGIN and head lock (part
** PG_PART_BEGIN) and leave them in the air (begin_air). */
int pgs_begin_send(pg_store *s, char *err);

/* Whether the statement numbered slot is prepared on this connection. */
int pgs_is_prepared(const pg_store *s, int slot);

/* Run one statement with text parameters (NULL = SQL NULL; bytea passed as
** "\\x<hex>" text) and text results.  On STORE_OK *res (may be NULL to
** discard) holds a result the caller frees with PQclear(); on failure
** nothing is left to free.  `doing` names the action for the message
** ("reading the chain head").  Polls the interrupt callback while waiting
** and cancels the statement when it asks to stop (STORE_EINTERRUPTED). */
int pgs_query(pg_store *s, const char *sql, int nparams, const char *const *params,
              PGresult **res, const char *doing, char *err);

/* pgs_query() for statements whose rows do not matter (may hold several
** statements when nparams is 0). */
int pgs_exec(pg_store *s, const char *sql, const char *doing, char *err);

/* pgs_query() after pgs_ready() for a statement prepared once per
** connection under the number slot (1 .. PG_PREP_SLOTS - 1; 0 runs sql
** unprepared): the first run prepares it, later runs only bind and
** execute.  Returns the result (the caller PQclear()s it) or NULL with *rc
** and err set. */
PGresult *pgs_run(pg_store *s, int slot, const char *sql, int nparams,
                  const char *const *params, int *rc, const char *doing, char *err);

/* pgs_run() with the plan a statement with parameters wants (PG_PLAN_*):
** pgs_run() plans once (PG_PLAN_GENERIC). */
PGresult *pgs_run_planned(pg_store *s, int slot, int plan, const char *sql, int nparams,
                          const char *const *params, int *rc, const char *doing, char *err);

/* Wait for the results of the statement sent on s->conn, polling the
** interrupt callback and cancelling the statement when it asks to stop
** (*cancelled set); returns the first error result or else the last one
** (NULL when the connection broke). */
PGresult *pgs_wait(pg_store *s, int *cancelled);

/* Turn a failed result (or a NULL one) into a STORE_E* code and a
** sentence; marks the connection lost when it is.  Does not PQclear. */
int pgs_fail(pg_store *s, const PGresult *r, const char *doing, char *err);

/* Fill e from row `row` of a result selecting PG_ENTRY_COLUMNS (and,
** when a column follows them, the log's name from it) from its first
** column.  The values are borrowed from r: valid until PQclear(r). */
void pgs_row(const PGresult *r, int row, entry_row *e);

/* Make sure the name of every log that rows of r (PG_ENTRY_COLUMNS) name
** is in s's cache: one statement for those not met before, none once
** they all were.  0, or a STORE_E* code with err set. */
int pgs_name_rows(pg_store *s, const PGresult *r, char *err);

/* pgs_row(), with e->log the cached name of the row's log (NULL when the
** database holds no such log); valid until PQclear(r) and store close. */
void pgs_row_named(pg_store *s, const PGresult *r, int row, entry_row *e);

/* Free the cache of log names (at close). */
void pgs_names_free(pg_store *s);

/* Decode a bytea column's text ("\\x..") into out (n bytes): 1 when it
** held exactly n bytes, else 0 (out zeroed). */
int pgs_bytea(const char *text, uint8_t *out, size_t n);

/* "\\x" and hex of n bytes into out (2n + 3 bytes). */
void pgs_bytea_text(const uint8_t *in, size_t n, char *out);

/* ---- entries in binary (store_pg_rows.c) ---- */

/* pgs_rows_params()'s parameters: a column array per field, then the
** log's id; with the head, its seq, hash and time follow. */
#define PG_ROWS_PARAMS (ENTRY_NFIELDS + 1)
#define PG_ROWS_LOG_PARAM (ENTRY_NFIELDS + 1)
#define PG_ROWS_HEAD_PARAMS (PG_ROWS_PARAMS + 3)
#define PG_ROWS_SQL_MAX 1400

/* Keep a copy of e's fields; 0, or -1 when memory ran out (r is then
** empty). */
int pgs_rows_add(pg_rows *r, const store_raw_entry *e);
/* Keep the first n rows only. */
void pgs_rows_trim(pg_rows *r, size_t n);
void pgs_rows_free(pg_rows *r);

/* The parameters of pgs_rows_insert_sql()'s statement for rows [a, z) of r
** on log log_id: binary column arrays, built in buf (reused; the caller
** frees it), values pointing into it.  0, or -1 when memory ran out. */
int pgs_rows_params(const pg_rows *r, size_t a, size_t z, const char *log_id, jbuf *buf,
                    const char *values[PG_ROWS_PARAMS], int lengths[PG_ROWS_PARAMS],
                    int formats[PG_ROWS_PARAMS]);

/* The INSERT of rows from those arrays into out (PG_ROWS_SQL_MAX bytes);
** with_head: and the log's head moved to $22 (seq), $23 (hash), $24
** (created_at) in the same statement. */
void pgs_rows_insert_sql(char *out, size_t len, int with_head);

/* COPY of entries in binary: the statement, then the data's header, a
** tuple per entry (with the log's id), the trailer. */
extern const char pgs_copy_sql[];
void pgs_copy_header(jbuf *b);
void pgs_copy_row(jbuf *b, const store_raw_entry *e, const char *log_id);
void pgs_copy_trailer(jbuf *b);

/* The log id selected for the integrity functions, or fail with
** STORE_EINVAL and a sentence when none is. */
int pgs_need_log(pg_store *s, char *err);

/* pgs_need_log(), then pgs_ready(). */
int pgs_ready_log(pg_store *s, char *err);

/* The id of the log `log` names (its id, or else its name; the first by id
** when several logs share the name) into out; STORE_ENOTFOUND when none. */
int pgs_resolve_log(pg_store *s, const char *log, char out[37], char *err);

/* Make the partition of entries holding month "YYYY-MM" exist (through
** the SECURITY DEFINER function the schema owns). */
int pgs_ensure_month(pg_store *s, const char *month, char *err);

/* A transaction that was lost (the database rolled it back, or will at
** ROLLBACK): every write acknowledged in it is gone.  pgs_tx_reset():
** forget the open transaction's state (it ended, one way or the other). */
void pgs_tx_lost(pg_store *s);
void pgs_tx_reset(pg_store *s);

/* v as decimal text into out. */
void pgs_int_text(int64_t v, char out[24]);

/* The checkpoints table's columns, in store_checkpoint's order. */
#define PG_CHECKPOINT_COLUMNS                                                 \
    "number, kind, log_id, seq, head_hash, created_at, prev_checkpoint_hash," \
    " public_key, signature, note"

/* Create or upgrade the dss_audit schema (writable stores) or check it
** (read-only): STORE_ESCHEMA for a newer version or, read-only, a
** missing or older one.  Implemented in store_pg_schema.c. */
int pgs_migrate(pg_store *s, char *err);

/* Replace every occurrence of the conninfo's password in msg by "***"
** (store_pg_conninfo.c). */
void pgs_scrub_password(const char *conninfo, char *msg, size_t len);

/* The selected log's head row, locked for this transaction (the own log's
** is locked already and its head is the in-memory one): store_pg_write.c. */
int pgs_lock_head(pg_store *s, pg_head *h, char *err);

/* store_pg_tree.c: the statement storing the own log's pending tree
** hashes (s->tree; x holds its parameters and must outlive the send), for
** the commit's pipeline; 0 when none are pending.  pgs_tree_free() at
** close. */
typedef struct pg_tree_stmt {
    const char *values[3];
    char first[24];
} pg_tree_stmt;
int pgs_tree_commit_stmt(pg_store *s, pg_tree_stmt *x, pg_stmt *st);
void pgs_tree_free(pg_store *s);

/* The methods (store_methods.h), defined across the files above as
** pgs_<name>: the required ones, those of this backend's capabilities,
** and its optional ones. */
#define PG_X_DECL(type, name, params) type pgs_##name params;
STORE_REQUIRED_METHODS(PG_X_DECL)
STORE_MANY_LOGS_METHODS(PG_X_DECL)
STORE_GUARDS_METHODS(PG_X_DECL)
STORE_IMPORT_METHODS(PG_X_DECL)
STORE_SINK_CURSOR_METHODS(PG_X_DECL)
void pgs_redact_path(const char *path, char *out, size_t len);
void pgs_wipe_password(char *path);
int pgs_explain_find(store *s, const store_query *q, char *plan, size_t len, char *err);
int pgs_explain_user_activity(store *s, char *plan, size_t len, char *err);
int pgs_find_plans(store *s, int64_t *generic, int64_t *custom, char *err);
int64_t pgs_round_trips(store *s);

#endif
