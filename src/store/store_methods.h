/*
** store_methods.h: the lower half of the storage contract, what a backend
** implements.  Nothing outside src/store/ includes it.
**
** A backend is a table of functions, as SQLite's sqlite3_io_methods or
** PostgreSQL's TableAmRoutine: its handle is a struct that starts with a
** `store` (whose only member points at the table), and store.c calls
** through the table.  store.c keeps what every backend shares: it numbers,
** timestamps and hashes each new entry (store_append()) so a backend only
** stores a finished row; it checks shipped entries against the chain
** (store_import()); it turns rows into entries (entry.h); and for a
** backend of one log (no STORE_CAP_MANY_LOGS) it answers what names
** another log.
**
** Every function follows store.h's conventions (STORE_OK or a negative
** STORE_E* code with a sentence in err, STORE_ERRLEN bytes) and means what
** its store.h namesake says unless the comment here says otherwise.
** docs/architecture.md says what a third backend would have to write.
*/
#ifndef DSS_STORE_METHODS_H
#define DSS_STORE_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct store_methods store_methods;

/* The start of every backend's handle: its table, and the state of the
** write transaction, which the backend keeps (its begin, commit, rollback
** and failures set it) and store.c reads alike for every backend. */
struct store {
    const store_methods *m;
    int in_tx;         /* a write transaction is open */
    int64_t tx_id;     /* the number of the open (or last) one */
    int64_t lost_tx;   /* one the database rolled back by itself, or 0 */
    int64_t tx_writes; /* entries and checkpoints written in the open one */
    /* The Merkle tree's state (store_tree.c), made by store_open(). */
    struct store_tree *tree;
    /* Set by the migration that made the tree's table on a database that
    ** held entries: store_open() then builds every log's tree. */
    int tree_new;
    /* Checkpoints handed to store_each_checkpoint*()'s callbacks so far
    ** (store_testing_checkpoints_read()). */
    int64_t checkpoints_read;
    /* How often store_head() was asked (store_testing_heads_read()). */
    int64_t heads_read;
};

/* Where a log's chain continues: its newest entry's seq and hash (the
** retention anchor's when every entry was pruned; 0 and zeros when it holds
** none). */
typedef struct store_tip {
    int64_t seq;
    uint8_t hash[CHAIN_HASH_BYTES];
} store_tip;

/*
** The functions, X(return type, name, parameters) per line: every backend
** defines the required ones; the others are optional (NULL: store.c does
** without) or go with a capability bit (NULL exactly when the backend lacks
** it).  A backend names its functions with a prefix of its own (sq_open,
** pgs_open) and makes its prototypes and its table from these lists, so
** the contract is written here once.
*/
#define STORE_REQUIRED_METHODS(X)                                                          \
    /* Whether path is this backend's: store_open() asks each backend in    */           \
    /* turn, and the local file backend, asked last, takes any path.         */           \
    X(int, claims, (const char *path))                                                      \
    /* Allocate the handle (a struct starting with a store whose m is this   */           \
    /* table) into *out.                                                     */           \
    X(int, open, (const store_options *opt, store **out, char *err))                       \
    X(void, close, (store *s))                                                              \
    X(void, set_interrupt, (store *s, int (*fn)(void *ctx), void *ctx))                     \
    X(int, readonly, (const store *s))                                                      \
    /* ---- logs: the selected log's id and name ----                        */           \
    X(const char *, log_id, (const store *s))                                               \
    X(const char *, log_name, (const store *s))                                             \
    X(int, each_log, (store *s, store_log_fn fn, void *ctx, char *err))                     \
    X(int, record_log_key, (store *s, const char *pk, char *err))                           \
    /* ---- transactions: they keep store's in_tx, tx_id, lost_tx and     */           \
    /* tx_writes; commit is durable before it returns ----                  */           \
    X(int, begin, (store *s, char *err))                                                    \
    X(int, commit, (store *s, char *err))                                                   \
    X(void, rollback, (store *s))                                                           \
    X(int, savepoint, (store *s, char *err))                                                \
    X(void, savepoint_release, (store *s))                                                  \
    X(void, savepoint_rollback, (store *s))                                                 \
    /* ---- appends (store.c numbers and hashes: store_append()) ----        */           \
    /* append_head: the own log's head as the open transaction sees it, its  */           \
    /* own appends included.  append_row: store the finished entry e (every  */           \
    /* field, seq and both hashes set) in the own log; its strings are       */           \
    /* borrowed for the call.  Called only inside a transaction.             */           \
    X(int, append_head, (store *s, store_tip *h, char *err))                                \
    X(int, append_row, (store *s, const store_raw_entry *e, char *err))                     \
    /* ---- reading entries: rows, for store.c to hand on or print ----      */           \
    /* find: the rows of q up to its limit, newest first, each to fn (whose  */           \
    /* return means what store_row_fn's does), *more as store_find() says.   */           \
    /* get: the entry of that id to fn, STORE_ENOTFOUND when none.           */           \
    /* each_match: store_each_match()'s walk, a row at a time.  A backend of */           \
    /* one log gets only queries of that log, with q->log NULL.              */           \
    X(int, find, (store *s, const store_query *q, store_row_fn fn, void *ctx, int *more,  \
                  char *err))                                                               \
    X(int, get, (store *s, const char *id, store_row_fn fn, void *ctx, char *err))          \
    X(int, each_match, (store *s, const store_scan *scan, store_row_fn fn, void *ctx,     \
                        char *err))                                                         \
    X(int, user_activity, (store *s, const char *user_id, const char *since,               \
                           const char *log, store_activity *out, char *err))               \
    /* activity_days: until_before is the first created_at after          */           \
    /* until_day, for the entries read beside the counters.                 */           \
    X(int, activity_days, (store *s, const char *user_id, const char *since_day,           \
                           const char *until_day, const char *until_before,                \
                           store_activity_fn fn, void *ctx, char *err))                    \
    X(int, activity_users, (store *s, const char *since_day, const char *until_day,        \
                            store_activity_fn fn, void *ctx, char *err))                    \
    X(int, seq_range, (store *s, int64_t *first, int64_t *last, char *err))                 \
    X(int, nth_newest_seq, (store *s, int64_t n, int64_t *seq, char *err))                  \
    /* get_stats: log is a log's id or name, or NULL for every log (a        */           \
    /* backend of one log gets NULL only); the backend allocates out->logs   */           \
    /* (malloc), which store_stats_free() releases.                          */           \
    X(int, get_stats, (store *s, const char *log, int top_users, store_progress_fn progress, \
                       void *ctx, store_stats *out, char *err))                             \
    /* ---- integrity, on the selected log ----                              */           \
    X(int, head, (store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err))             \
    X(int, hash_at, (store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err))           \
    X(int, find_hash, (store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq,       \
                       char *err))                                                          \
    X(int, last_checkpoint, (store *s, store_checkpoint *out, char *err))                   \
    X(int, last_anchor, (store *s, store_checkpoint *out, char *err))                       \
    X(int, add_checkpoint, (store *s, store_checkpoint *cp, char *err))                     \
    X(int, each_checkpoint, (store *s, int64_t after, store_checkpoint_fn fn, void *ctx,    \
                             char *err))                                               \
    /* each_entry: the rows with seq >= from in seq order to fn; store.c     */           \
    /* hands them on as store_raw_entry.                                     */           \
    X(int, each_entry, (store *s, int64_t from, store_row_fn fn, void *ctx, char *err))     \
    X(int, prune, (store *s, const char *before, store_keep_fn keep, void *ctx,            \
                   int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err))          \
    /* ---- the Merkle tree's stored hashes, by index (store_tree.c) ----    */           \
    /* Of the own log (own 1: what appends wrote) or the selected log (own  */           \
    /* 0).  tree_put: h[0..n) at indexes first.., inside the open           */           \
    /* transaction.  tree_get: the hashes at idx[0..n) into out,            */           \
    /* STORE_ENOTFOUND naming the first missing.  tree_last: the highest    */           \
    /* index stored, -1 when none.                                          */           \
    X(int, tree_put, (store *s, int own, int64_t first, const merkle_hash *h, size_t n,    \
                      char *err))                                                           \
    X(int, tree_get, (store *s, int own, const int64_t *idx, size_t n, merkle_hash *out,   \
                      char *err))                                                           \
    X(int, tree_last, (store *s, int own, int64_t *idx, char *err))                        \
    /* ---- origins, cosignatures and witnesses, of the selected log ----  */           \
    X(int, log_origin, (store *s, const char *set, char out[STORE_ORIGIN_MAX + 1],        \
                        char *err))                                                         \
    X(int, add_cosignature, (store *s, const store_cosignature *c, char *err))             \
    X(int, each_cosignature, (store *s, int64_t number, store_cosignature_fn fn,           \
                              void *ctx, char *err))                                        \
    X(int, put_witness, (store *s, const store_witness *w, char *err))                     \
    X(int, each_witness, (store *s, store_witness_fn fn, void *ctx, char *err))

/* Optional.  redact_path and wipe_password: store_redact_path() and
** store_wipe_password() for paths that may hold a secret.  The explain_*
** functions are for tests only (store_testing.h). */
#define STORE_OPTIONAL_METHODS(X)                                                          \
    X(void, redact_path, (const char *path, char *out, size_t len))                         \
    X(void, wipe_password, (char *path))                                                    \
    X(int, idle, (store *s, char *err))                                                     \
    X(int, moved, (store *s))                                                               \
    X(int, set_cache_size, (store *s, int kib, char *err))                                  \
    X(int, explain_find, (store *s, const store_query *q, char *plan, size_t len,          \
                          char *err))                                                       \
    X(int, explain_each_match, (store *s, const store_scan *scan, char *plan, size_t len,  \
                                char *err))                                                 \
    X(int, explain_user_activity, (store *s, char *plan, size_t len, char *err))         \
    X(int, find_plans, (store *s, int64_t *generic, int64_t *custom, char *err))         \
    X(int64_t, round_trips, (store *s))

/* STORE_CAP_MANY_LOGS: select another log (store.c answers for a backend
** of one log).  STORE_CAP_GUARDS: store_missing_guards(). */
#define STORE_MANY_LOGS_METHODS(X) X(int, use_log, (store *s, const char *log, char *err))
#define STORE_GUARDS_METHODS(X) \
    X(int, missing_guards, (store *s, char *what, size_t len, char *err))

/* STORE_CAP_IMPORT: shipping another log in.  import_head: inside the open
** transaction, lock the selected log's head and report it.  stored_hashes:
** fn with the seq and stored hash of each entry of the selected log with
** seq in [from, to], in seq order (an entry pruned away is absent).
** import_rows: store n entries that store.c has checked to continue the
** chain from the head import_head reported, and move the head to the
** last. */
#define STORE_IMPORT_METHODS(X)                                                            \
    X(int, ensure_log, (store *s, const store_log *log, char *err))                         \
    X(int, import_head, (store *s, store_tip *h, char *err))                                \
    X(int, stored_hashes, (store *s, int64_t from, int64_t to,                             \
                           int (*fn)(void *ctx, int64_t seq, const uint8_t *hash),          \
                           void *ctx, char *err))                                           \
    X(int, import_rows, (store *s, const store_raw_entry *e, size_t n, char *err))          \
    X(int, import_checkpoint, (store *s, const store_checkpoint *cp, int *stored,          \
                               char *err))

/* STORE_CAP_SINK_CURSORS: store_cursor_load/save/lock, store_each_cursor
** (load answers STORE_ENOTFOUND when there is none). */
#define STORE_SINK_CURSOR_METHODS(X)                                                       \
    X(int, cursor_load, (store *s, const char *log_id, const char *key,                     \
                         store_sink_cursor *out, char *err))                                \
    X(int, cursor_save, (store *s, const store_sink_cursor *c, char *err))                  \
    X(int, each_cursor, (store *s, store_cursor_fn fn, void *ctx, char *err))               \
    X(int, cursor_lock, (store *s, const char *key, char *err))

#define STORE_X_MEMBER(type, name, params) type(*name) params;
struct store_methods {
    const char *name;  /* store_backend()'s answer */
    unsigned caps;     /* STORE_CAP_* */
    int remote;        /* paths it claims name a server, not a local file */
    STORE_REQUIRED_METHODS(STORE_X_MEMBER)
    STORE_OPTIONAL_METHODS(STORE_X_MEMBER)
    STORE_MANY_LOGS_METHODS(STORE_X_MEMBER)
    STORE_GUARDS_METHODS(STORE_X_MEMBER)
    STORE_IMPORT_METHODS(STORE_X_MEMBER)
    STORE_SINK_CURSOR_METHODS(STORE_X_MEMBER)
};

/* The backends, in the order store_open() asks them. */
extern const store_methods pg_store_methods;
extern const store_methods sqlite_store_methods;

/* ---- shared by the backends ---- */

/* The filters a store_query uses, as bits: the part of a query's shape
** every backend shares.  A backend adds bits of its own from
** STORE_QF_NEXT up for what it decides itself (an index for the text, a
** cursor, a log). */
enum {
    STORE_QF_PROJECT = 1 << 0,
    STORE_QF_USER = 1 << 1,
    STORE_QF_OPNAME = 1 << 2,
    STORE_QF_EVTYPE = 1 << 3,
    STORE_QF_SINCE = 1 << 4,
    STORE_QF_UNTIL = 1 << 5,
    STORE_QF_TEXT = 1 << 6,
    STORE_QF_SERVER = 1 << 7,
    STORE_QF_SESSION = 1 << 8,
    STORE_QF_COMPLETES = 1 << 9,
    STORE_QF_NEXT = 1 << 10
};
int store_query_filters(const store_query *q);

/* A row as verification and retention see it (store_raw_entry), its
** strings borrowed from the row. */
void store_raw_of_row(const entry_row *row, store_raw_entry *e);

/* "%term%" with LIKE's own metacharacters (% _ \) escaped, so that the
** term matches only itself (with ESCAPE '\').  Returns a new string the
** caller frees, or NULL when memory runs out. */
char *store_like_pattern(const char *term);

/* A random (version 4) UUID into out, for a log's id: nothing orders logs,
** and a random id says nothing about when the log was made (entry ids are
** time-ordered: uuid7.h). */
void store_random_uuid(char out[37]);

#endif
