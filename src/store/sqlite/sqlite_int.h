/*
** sqlite_int.h: what the SQLite backend's files share and nothing else
** sees: the handle, the error mapping every statement goes through, the
** prepared statements, and each file's part of the methods table.
**
**   store_sqlite.c         opening: the file, WAL and durability, the
**                          log's name and key, the methods table
**   store_sqlite_schema.c  the schema and its migrations
**   store_sqlite_write.c   transactions, savepoints, appends, checkpoints
**   store_sqlite_derived.c the search index and counters fed at commit
**   store_sqlite_query.c   queries, search, activity, walks
**   store_sqlite_scan.c    retention, entry walks, the chain's reads,
**                          statistics
**   store_sqlite_tree.c    the Merkle tree's stored hashes, the log's
**                          origin, cosignatures and witnesses
**
** Every statement is prepared once per connection and bound with
** parameters; no value is ever spliced into SQL.  The functions named
** sq_<method> are the store_methods of that name (store_methods.h).
*/
#ifndef DSS_SQLITE_INT_H
#define DSS_SQLITE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "../store_methods.h"

enum {
    ST_HEAD, ST_INSERT, ST_GET, ST_ACT_TOTALS, ST_ACT_TYPES, ST_ACT_TYPES_BEFORE,
    ST_HASH_AT, ST_LAST_CP, ST_LAST_ANCHOR, ST_ADD_CP, ST_EACH_CP, ST_FIND_HASH,
    ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO, ST_EACH_ENTRY, ST_COUNT
};

/* The statements of the tree, cosignatures and witnesses. */
#define SQ_TREE_STATEMENTS 9

/* Query shapes: which filters a query uses (store_sqlite_query.c); each
** shape gets one cached prepared statement. */
#define SQ_SHAPES (1 << 13)

/* store_sqlite_derived.c: the open transaction's rows not yet in the
** search index and the activity counters, as copies of the fields those
** read (offsets into buf; UINT32_MAX for NULL), with a mark per open
** savepoint. */
enum { SQ_PENDING_FIELDS = 6 }; /* store_sqlite_derived.c's P_FIELDS */
typedef struct sq_pending_row {
    int64_t seq;
    uint32_t off[SQ_PENDING_FIELDS];
} sq_pending_row;
typedef struct sq_pending_mark_t {
    size_t n, len, fed;
} sq_pending_mark_t;
typedef struct sq_pending {
    sq_pending_row *rows;
    size_t n, cap;
    size_t fed; /* rows[0..fed) are in audit_fts and the counters already */
    char *buf;
    size_t len, bcap;
    sq_pending_mark_t *marks;
    size_t nmarks, mcap;
    sqlite3_stmt *fts, *daily, *projects; /* prepared at the first flush */
} sq_pending;

/* Note one appended row: STORE_OK or STORE_ENOMEM (the list unchanged). */
int sq_pending_add(sq_pending *p, int64_t seq, const char *operation_name,
                   const char *error, const char *user_id, const char *project_id,
                   const char *created_at, const char *event_type);
/* Forget the row noted last, not fed yet (its INSERT failed). */
void sq_pending_drop_last(sq_pending *p);
/* A savepoint opened (STORE_OK or STORE_ENOMEM), released, rolled back
** (the rows noted since its mark are dropped). */
int sq_pending_mark(sq_pending *p);
void sq_pending_release(sq_pending *p);
void sq_pending_rollback(sq_pending *p);
/* Forget every row and mark (a transaction begun or rolled back). */
void sq_pending_clear(sq_pending *p);
/* Feed the rows not fed yet to audit_fts and the counters through db
** (forgetting them when no savepoint is open): an SQLite code, with
** *doing naming the step that failed. */
int sq_pending_flush(sq_pending *p, sqlite3 *db, const char **doing);
/* Free the buffers and finalize the statements (p is left empty). */
void sq_pending_free(sq_pending *p);

typedef struct sqlite_store {
    store base;
    sqlite3 *db;
    int savepoint_depth;
    /* Per transaction, emptied by sq_begin(): the rows not yet in
    ** audit_fts and the activity counters. */
    sq_pending pending;
    /* The chain head as this transaction's last append left it (tip_ok),
    ** so that the next append need not read it back; forgotten at every
    ** transaction boundary and savepoint rollback. */
    store_tip tip;
    int tip_ok;
    int readonly;
    int brief;       /* store_options.brief: the WAL is kept between processes */
    int wal_frames;  /* pages in the WAL after this connection's last commit */
    char log_id[37];
    char log_name[STORE_LOG_NAME_MAX];
    size_t log_id_len, log_name_len; /* of the two above, for rows */
    char public_key[65]; /* recorded in meta, "" when none */
    sqlite3_stmt *st[ST_COUNT];
    int each_busy;   /* st[ST_EACH_ENTRY] is being stepped (sq_each_entry) */
    sqlite3_stmt *find[SQ_SHAPES];
    sqlite3_stmt *tree_st[SQ_TREE_STATEMENTS]; /* store_sqlite_tree.c's, prepared on use */
} sqlite_store;

static inline sqlite_store *sq(store *s) { return (sqlite_store *)s; }
static inline const sqlite_store *sq_const(const store *s) { return (const sqlite_store *)s; }

/* The columns of an entry row, in ENTRY_FIELDS order, of audit_log a. */
#define SQ_X_COLUMN(name, type, nullable, hash_at, since, by) ENTRY_SEP_##type "a." #name
#define SQ_ENTRY_COLUMNS ENTRY_FIELDS(SQ_X_COLUMN)

/* Fill r from the current row of st, which selected SQ_ENTRY_COLUMNS
** first; the values are borrowed from st until its next step or reset.
** STORE_OK, or STORE_ENOMEM when SQLite had no memory to give a value. */
int sq_row(const sqlite_store *s, sqlite3_stmt *st, entry_row *r);

/* Map an SQLite result code to a store code and a sentence for people;
** notices a transaction SQLite rolled back by itself. */
int sq_fail(sqlite_store *s, int rc, const char *doing, char *err);
int sq_exec(sqlite_store *s, const char *sql, const char *doing, char *err);
int sq_prepare(sqlite_store *s, const char *sql, sqlite3_stmt **out, char *err);
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Column col of st's current row into dst (len bytes), "" when NULL. */
void sq_copy_col(sqlite3_stmt *st, int col, char *dst, size_t len);

/* The fixed statements' text.  sq_stmt() returns st[which], prepared from
** it at its first use (a hook uses three of them; preparing all of them at
** open was most of its SQLite time), or NULL with *rc and err set. */
extern const char *const sq_fixed_sql[ST_COUNT];
sqlite3_stmt *sq_stmt(sqlite_store *s, int which, int *rc, char *err);

/* store_sqlite_schema.c: refuse, before anything is written, a database
** that is not ours or is newer (*version: the schema version found); then,
** once the connection is set up, migrate it to the current schema and read
** its log_id. */
int sq_schema_check(sqlite_store *s, const char *path, int *version, char *err);
int sq_schema_migrate(sqlite_store *s, const char *path, int version, char *err);

/* Statements retention runs (store_sqlite_schema.c): the delete trigger
** it lifts and puts back, and the rebuild of the activity counters. */
extern const char sq_no_delete_trigger[];
extern const char sq_rebuild_activity[];

/* One value of the meta table into out (len bytes), "" when absent, and
** INSERT OR IGNORE of one. */
int sq_meta_get(sqlite_store *s, const char *key, char *out, size_t len, char *err);
int sq_meta_put(sqlite_store *s, const char *key, const char *value, char *err);

/* The methods (store_methods.h), defined across the files above: the
** required ones as sq_<name>, then the optional ones this backend has. */
#define SQ_X_DECL(type, name, params) type sq_##name params;
STORE_REQUIRED_METHODS(SQ_X_DECL)
int sq_idle(store *s, char *err);
int sq_moved(store *s);
int sq_set_cache_size(store *s, int kib, char *err);
int sq_explain_find(store *s, const store_query *q, char *plan, size_t len, char *err);
int sq_explain_each_match(store *s, const store_scan *scan, char *plan, size_t len, char *err);
int sq_explain_user_activity(store *s, char *plan, size_t len, char *err);

/* Bring the search index and the activity counters up to date with the
** open transaction's entries (before a search or an activity count in it,
** and at commit): store_sqlite_write.c. */
int sq_derived_sync(sqlite_store *s, char *err);

/* The chain head of the log (the anchor's when every entry was pruned). */
int sq_read_head(sqlite_store *s, store_tip *h, char *err);

/* Finalize store_sqlite_tree.c's statements (sq_close()). */
void sq_tree_close(sqlite_store *s);

#endif
