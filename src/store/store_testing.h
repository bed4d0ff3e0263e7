/*
** store_testing.h: what the tests may ask of a backend beyond store.h, and
** nothing else may: the query plans its statements would use, so that
** tests keep every query shape free of sorts and full scans.  Each returns
** STORE_OK with the plan's lines, one per line, in plan (len bytes), or
** STORE_EINVAL when the backend shows no plans.
*/
#ifndef DSS_STORE_TESTING_H
#define DSS_STORE_TESTING_H

#include <stddef.h>

#include "store.h"

/* The plan of the statement store_find() would run for q. */
int store_testing_explain_find(store *s, const store_query *q, char *plan, size_t len,
                               char *err);

/* The plan of store_each_match()'s walk for scan. */
int store_testing_explain_each_match(store *s, const store_scan *scan, char *plan,
                                     size_t len, char *err);

/* The plans of store_user_activity()'s statements, one after the other. */
int store_testing_explain_user_activity(store *s, char *plan, size_t len, char *err);

/* How often the statements of store_find() were planned on s's
** connection so far: once for every value (*custom) or once for all
** (*generic).  STORE_EINVAL for a backend that does not plan so. */
int store_testing_find_plans(store *s, int64_t *generic, int64_t *custom, char *err);

/* How many times s has waited for its database's answers so far (a
** client-server backend's round trips; -1 for a backend without them). */
int64_t store_testing_round_trips(store *s);

/* Keep (off 0) or stop keeping (off 1) the Merkle tree as s appends: for
** the benchmark that measures what keeping it costs (bench/).  A tree
** left behind is built again when a writable store next opens. */
void store_testing_tree_off(store *s, int off);

/* The process-wide SQLite settings the SQLite backend makes before its
** first open (the statement-journal spill, store_sqlite.c), for a program
** that initializes SQLite itself before opening a store (bench_floor). */
void store_testing_sqlite_configure(void);

/* The SQLite backend's search-index and counter feed (store_sqlite_derived.c),
** for the benchmark floor to do the same work as the store at the same
** moment: note each row as it is inserted, flush just before COMMIT (an
** SQLite code).  new: NULL without memory; free it with _free(). */
struct sqlite3;
typedef struct store_testing_derived store_testing_derived;
store_testing_derived *store_testing_sqlite_derived_new(void);
int store_testing_sqlite_derived_add(store_testing_derived *d, int64_t seq,
                                     const char *operation_name, const char *error,
                                     const char *user_id, const char *project_id,
                                     const char *created_at, const char *event_type);
int store_testing_sqlite_derived_flush(store_testing_derived *d, struct sqlite3 *db);
void store_testing_sqlite_derived_free(store_testing_derived *d);

/* How many checkpoints s has handed to store_each_checkpoint*()'s
** callbacks since it was opened: what a reader of them read. */
int64_t store_testing_checkpoints_read(store *s);

/* How often store_head() was called on s since it was opened. */
int64_t store_testing_heads_read(store *s);

#endif
