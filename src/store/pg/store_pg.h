/*
** store_pg.h: the PostgreSQL backend of store.h, the logs of a whole team
** in one central database.
**
** Each function is its store.h namesake (store_X is pg_store_X here) on a
** PostgreSQL handle; store.c forwards to them, so the contract, its
** conventions and its comments are store.h's.  Below them is what only
** this backend has.
*/
#ifndef DSS_STORE_PG_H
#define DSS_STORE_PG_H

#include "../store.h"

typedef struct pg_store pg_store;

int pg_store_open(const store_options *opt, pg_store **out, char *err);
void pg_store_close(pg_store *s);

/* The backend handle of s, or NULL when s is of the other backend. */
pg_store *store_as_pg(store *s);

void pg_store_set_interrupt(pg_store *s, int (*fn)(void *ctx), void *ctx);
int pg_store_readonly(const pg_store *s);
const char *pg_store_log_id(const pg_store *s);
const char *pg_store_log_name(const pg_store *s);
int pg_store_each_log(pg_store *s, store_log_fn fn, void *ctx, char *err);
int pg_store_use_log(pg_store *s, const char *log, char *err);
int pg_store_record_log_key(pg_store *s, const char *pk, char *err);
int pg_store_begin(pg_store *s, char *err);
int pg_store_commit(pg_store *s, char *err);
void pg_store_rollback(pg_store *s);
int pg_store_in_transaction(const pg_store *s);
int64_t pg_store_tx(const pg_store *s);
int pg_store_tx_has_writes(const pg_store *s);
int64_t pg_store_take_lost_tx(pg_store *s);
int pg_store_idle(pg_store *s, char *err);
int pg_store_savepoint(pg_store *s, char *err);
void pg_store_savepoint_release(pg_store *s);
void pg_store_savepoint_rollback(pg_store *s);
int pg_store_append(pg_store *s, const store_record *rec, store_receipt *out, char *err);
int pg_store_find(pg_store *s, const store_query *q, cJSON **entries, int *more_out, char *err);
int pg_store_find_json(pg_store *s, const store_query *q, jbuf *out, store_page *page, char *err);
int pg_store_get(pg_store *s, const char *id, cJSON **entry, char *err);
int pg_store_user_activity(pg_store *s, const char *user_id, const char *since, store_activity *out, char *err);
int pg_store_head(pg_store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err);
int pg_store_hash_at(pg_store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err);
int pg_store_find_hash(pg_store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err);
int pg_store_last_checkpoint(pg_store *s, store_checkpoint *out, char *err);
int pg_store_last_anchor(pg_store *s, store_checkpoint *out, char *err);
int pg_store_add_checkpoint(pg_store *s, store_checkpoint *cp, char *err);
int pg_store_each_checkpoint(pg_store *s, store_checkpoint_fn fn, void *ctx, char *err);
int pg_store_each_entry(pg_store *s, int64_t from, store_entry_fn fn, void *ctx, char *err);
int pg_store_prune(pg_store *s, const char *before, store_keep_fn keep, void *ctx, int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err);
int pg_store_ensure_log(pg_store *s, const store_log *log, char *err);
int pg_store_import(pg_store *s, const store_raw_entry *e, size_t n, int64_t *stored, int64_t *skipped, char *err);
int pg_store_import_checkpoint(pg_store *s, const store_checkpoint *cp, int *stored, char *err);
int pg_store_each_match(pg_store *s, const store_scan *scan, store_match_fn fn, void *ctx, char *err);
int pg_store_seq_range(pg_store *s, int64_t *first, int64_t *last, char *err);
int pg_store_nth_newest_seq(pg_store *s, int64_t n, int64_t *seq, char *err);
int pg_store_get_stats(pg_store *s, int top_users, store_progress_fn progress, void *ctx, store_stats *out, char *err);
int pg_store_activity_days(pg_store *s, const char *user_id, const char *since_day, const char *until_day, store_activity_fn fn, void *ctx, char *err);
int pg_store_activity_users(pg_store *s, const char *since_day, const char *until_day, store_activity_fn fn, void *ctx, char *err);
int pg_store_set_cache_size(pg_store *s, int kib, char *err);

/* The EXPLAIN lines of the statement store_find() would run for q, one per
** line, into plan (len bytes): for tests that keep every query shape free
** of a sort across logs. */
int pg_store_explain_find(pg_store *s, const store_query *q, char *plan, size_t len,
                          char *err);

#endif
