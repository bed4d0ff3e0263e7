/*
** store_sqlite.h: the SQLite backend of store.h, one log in a local file.
**
** Each function is its store.h namesake (store_X is sqlite_store_X here) on
** an SQLite handle; store.c forwards to them, so the contract, its
** conventions and its comments are store.h's.  Below them is what only this
** backend has: the statement that fills the search index, shared with the
** benchmark floor, and the query plans the tests keep sort-free.
*/
#ifndef DSS_STORE_SQLITE_H
#define DSS_STORE_SQLITE_H

#include "../store.h"

typedef struct sqlite_store sqlite_store;

int sqlite_store_open(const store_options *opt, sqlite_store **out, char *err);
void sqlite_store_close(sqlite_store *s);

/* The backend handle of s, or NULL when s is of the other backend. */
sqlite_store *store_as_sqlite(store *s);

void sqlite_store_set_interrupt(sqlite_store *s, int (*fn)(void *ctx), void *ctx);
int sqlite_store_readonly(const sqlite_store *s);
const char *sqlite_store_log_id(const sqlite_store *s);
const char *sqlite_store_log_name(const sqlite_store *s);
int sqlite_store_each_log(sqlite_store *s, store_log_fn fn, void *ctx, char *err);
int sqlite_store_use_log(sqlite_store *s, const char *log, char *err);
int sqlite_store_record_log_key(sqlite_store *s, const char *pk, char *err);
int sqlite_store_begin(sqlite_store *s, char *err);
int sqlite_store_commit(sqlite_store *s, char *err);
void sqlite_store_rollback(sqlite_store *s);
int sqlite_store_in_transaction(const sqlite_store *s);
int64_t sqlite_store_tx(const sqlite_store *s);
int sqlite_store_tx_has_writes(const sqlite_store *s);
int64_t sqlite_store_take_lost_tx(sqlite_store *s);
int sqlite_store_idle(sqlite_store *s, char *err);
int sqlite_store_savepoint(sqlite_store *s, char *err);
void sqlite_store_savepoint_release(sqlite_store *s);
void sqlite_store_savepoint_rollback(sqlite_store *s);
int sqlite_store_append(sqlite_store *s, const store_record *rec, store_receipt *out, char *err);
int sqlite_store_find(sqlite_store *s, const store_query *q, cJSON **entries, int *more_out, char *err);
int sqlite_store_find_json(sqlite_store *s, const store_query *q, jbuf *out, store_page *page, char *err);
int sqlite_store_get(sqlite_store *s, const char *id, cJSON **entry, char *err);
int sqlite_store_user_activity(sqlite_store *s, const char *user_id, const char *since, store_activity *out, char *err);
int sqlite_store_head(sqlite_store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err);
int sqlite_store_hash_at(sqlite_store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err);
int sqlite_store_find_hash(sqlite_store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err);
int sqlite_store_last_checkpoint(sqlite_store *s, store_checkpoint *out, char *err);
int sqlite_store_last_anchor(sqlite_store *s, store_checkpoint *out, char *err);
int sqlite_store_add_checkpoint(sqlite_store *s, store_checkpoint *cp, char *err);
int sqlite_store_each_checkpoint(sqlite_store *s, store_checkpoint_fn fn, void *ctx, char *err);
int sqlite_store_each_entry(sqlite_store *s, int64_t from, store_entry_fn fn, void *ctx, char *err);
int sqlite_store_missing_guards(sqlite_store *s, char *what, size_t len, char *err);
int sqlite_store_prune(sqlite_store *s, const char *before, store_keep_fn keep, void *ctx, int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err);
int sqlite_store_ensure_log(sqlite_store *s, const store_log *log, char *err);
int sqlite_store_import(sqlite_store *s, const store_raw_entry *e, size_t n, int64_t *stored, int64_t *skipped, char *err);
int sqlite_store_import_checkpoint(sqlite_store *s, const store_checkpoint *cp, int *stored, char *err);
int sqlite_store_each_match(sqlite_store *s, const store_scan *scan, store_match_fn fn, void *ctx, char *err);
int sqlite_store_seq_range(sqlite_store *s, int64_t *first, int64_t *last, char *err);
int sqlite_store_nth_newest_seq(sqlite_store *s, int64_t n, int64_t *seq, char *err);
int sqlite_store_get_stats(sqlite_store *s, int top_users, store_progress_fn progress, void *ctx, store_stats *out, char *err);
int sqlite_store_activity_days(sqlite_store *s, const char *user_id, const char *since_day, const char *until_day, store_activity_fn fn, void *ctx, char *err);
int sqlite_store_activity_users(sqlite_store *s, const char *since_day, const char *until_day, store_activity_fn fn, void *ctx, char *err);
int sqlite_store_set_cache_size(sqlite_store *s, int kib, char *err);

/* Just before COMMIT, sqlite_store_commit() adds the transaction's entries
** to the FTS5 trigram index with this statement (bound to the transaction's
** first seq): one statement per transaction, because FTS5 writes a segment
** per statement.  Exported so that the benchmark floor does the same work
** as the store. */
extern const char sqlite_store_fts_sync_sql[];

/* The EXPLAIN QUERY PLAN lines store_find() would use for q, one per line,
** into plan (len bytes).  For tests that keep every query shape sort-free. */
int sqlite_store_explain_find(sqlite_store *s, const store_query *q, char *plan,
                              size_t len, char *err);

/* The EXPLAIN QUERY PLAN lines of store_user_activity()'s statements
** (counts by type, from after and from before the window's start in its
** first day, then projects touched), one per line, into plan (len bytes);
** for tests that keep its cost bounded by the window and the user's number
** of projects. */
int sqlite_store_explain_user_activity(sqlite_store *s, char *plan, size_t len,
                                       char *err);

/* The EXPLAIN QUERY PLAN lines store_each_match() would use for scan, one
** per line, into plan (len bytes); for tests that keep every walk free of a
** sort step (a sort would hold rows in memory). */
int sqlite_store_explain_each_match(sqlite_store *s, const store_scan *scan,
                                    char *plan, size_t len, char *err);

#endif
