/*
** store_pg_int.h: what the PostgreSQL backend's files share and nothing
** else sees: the handle, the round-trip helpers that every statement goes
** through (so cancellation, lost connections and error codes behave the
** same in store_pg.c, store_pg_query.c and store_pg_prune.c), and the
** central schema's version and migration entry point.
**
** Rules for code using this header:
** - Before any statement, call pgs_ready(): it reconnects after a lost
**   connection and sends the appends buffered in the open transaction, so
**   a read inside a transaction sees the transaction's own writes.
** - Run statements with pgs_query() (or pgs_exec() when no rows matter):
**   it polls the interrupt callback while waiting and maps SQLSTATEs to
**   STORE_E* codes with a sentence that never holds the conninfo.
** - Entries are read from dss_audit.entries; PG_ENTRY_COLUMNS lists the
**   columns in store_raw_entry / chain_fields order.
*/
#ifndef DSS_STORE_PG_INT_H
#define DSS_STORE_PG_INT_H

#include "store_pg.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* The newest schema this code knows; a database at a higher version is
** refused (STORE_ESCHEMA). */
#define PG_SCHEMA_VERSION 1

/* pg_advisory_xact_lock keys: one for migrations, one for creating
** partitions.  Fixed numbers (ASCII "dssamig" and "dssaprt"), as SQL
** text, so every server version agrees. */
#define PG_LOCK_MIGRATE "28274437064059239"
#define PG_LOCK_PARTITION "28274437064258164"

/* Columns of dss_audit.entries in chain_fields order (seq first), then
** prev_hash and hash, then log_id: what pgs_row_to_raw() reads. */
#define PG_ENTRY_COLUMNS                                                    \
    "seq, id, event_type, operation_name, operation_id, user_id,"           \
    " project_id, args, result, error, before_state, after_state,"          \
    " created_at, client, server, session_id, duration_ms, completes, cwd," \
    " prev_hash, hash, log_id"
#define PG_ENTRY_NCOLS 22

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
** only when a statement must run after it (pgs_flush()). */
typedef struct pg_mark {
    size_t rows;   /* appended rows of the tx when the savepoint was set */
    pg_head head;
    int64_t writes; /* tx_writes then */
    int sent;
} pg_mark;

#define PG_MAX_MARKS 64
#define PG_MONTHS_CACHED 8

struct pg_store {
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
    char own_name[STORE_LOG_NAME_MAX];
    char sel_id[37];
    char sel_name[STORE_LOG_NAME_MAX];

    /* The open transaction. */
    int in_tx;
    int64_t tx_id;
    int64_t lost_tx;
    int64_t tx_writes;
    pg_head head;      /* own log's head, locked at begin */
    pg_head head_at_begin; /* the head row as locked: commit updates it if moved */
    pg_mark marks[PG_MAX_MARKS];
    int nmarks;

    /* Appends not yet sent: COPY text rows, one per append. */
    char *buf;
    size_t buf_len, buf_cap;
    size_t *row_off;   /* byte offset of each buffered row in buf */
    size_t rows_buf, rows_cap;
    size_t rows_flushed; /* rows of the tx already sent */

    /* Months whose partition is known to exist ("2026-12"). */
    char months[PG_MONTHS_CACHED][8];
    int nmonths;

    int (*interrupt)(void *ctx);
    void *interrupt_ctx;
};

/* Reconnect when the connection was lost (with back-off, never waiting
** longer than the busy timeout), then send buffered appends.  0 or a
** STORE_E* code with err filled. */
int pgs_ready(pg_store *s, char *err);

/* Send the open transaction's buffered appends (and the savepoints set
** between them) to the server. */
int pgs_flush(pg_store *s, char *err);

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

/* Turn a failed result (or a NULL one) into a STORE_E* code and a
** sentence; marks the connection lost when it is.  Does not PQclear. */
int pgs_fail(pg_store *s, const PGresult *r, const char *doing, char *err);

/* Fill e from row `row` of a result selecting PG_ENTRY_COLUMNS (starting
** at column `col`).  Strings point into r: valid until PQclear(r).  The
** hashes are decoded into e->prev_hash / e->hash (hashes_ok). */
void pgs_row_to_raw(const PGresult *r, int row, int col, store_raw_entry *e);

/* Decode a bytea column's text ("\\x..") into out (n bytes): 1 when it
** held exactly n bytes, else 0 (out zeroed). */
int pgs_bytea(const char *text, uint8_t *out, size_t n);

/* "\\x" and hex of n bytes into out (2n + 3 bytes). */
void pgs_bytea_text(const uint8_t *in, size_t n, char *out);

/* The log id selected for the integrity functions, or fail with
** STORE_EINVAL and a sentence when none is. */
int pgs_need_log(pg_store *s, char *err);

/* Make the partition of entries holding month "YYYY-MM" exist (through
** the SECURITY DEFINER function the schema owns). */
int pgs_ensure_month(pg_store *s, const char *month, char *err);

/* Create or upgrade the dss_audit schema (writable stores) or check it
** (read-only): STORE_ESCHEMA for a newer version or, read-only, a
** missing or older one.  Implemented in store_pg_schema.c. */
int pgs_migrate(pg_store *s, char *err);

#endif
