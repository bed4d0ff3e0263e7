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
** its store.h namesake says unless the comment here says otherwise.  A
** function marked "optional" may be NULL; one marked with a capability is
** NULL exactly when the backend lacks that capability.  docs/architecture.md
** says what a third backend would have to write.
*/
#ifndef DSS_STORE_METHODS_H
#define DSS_STORE_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct store_methods store_methods;

/* The start of every backend's handle. */
struct store {
    const store_methods *m;
};

/* Where a log's chain continues: its newest entry's seq and hash (the
** retention anchor's when every entry was pruned; 0 and zeros when it holds
** none). */
typedef struct store_tip {
    int64_t seq;
    uint8_t hash[CHAIN_HASH_BYTES];
} store_tip;

struct store_methods {
    const char *name;  /* store_backend()'s answer */
    unsigned caps;     /* STORE_CAP_* */
    int remote;        /* paths it claims name a server, not a local file */

    /* ---- the path and opening ---- */
    /* Whether path is this backend's (store_open() asks each backend in
    ** turn; the local file backend, asked last, takes any path). */
    int (*claims)(const char *path);
    /* store_open(): allocate the handle (starting with a store whose m is
    ** this table) into *out. */
    int (*open)(const store_options *opt, store **out, char *err);
    void (*close)(store *s);
    /* Optional: store_redact_path() and store_wipe_password() for paths
    ** this backend claims (NULL: a path holds no secret). */
    void (*redact_path)(const char *path, char *out, size_t len);
    void (*wipe_password)(char *path);

    void (*set_interrupt)(store *s, int (*fn)(void *ctx), void *ctx);
    int (*readonly)(const store *s);

    /* ---- logs ---- */
    const char *(*log_id)(const store *s);   /* the selected log's */
    const char *(*log_name)(const store *s);
    int (*each_log)(store *s, store_log_fn fn, void *ctx, char *err);
    /* STORE_CAP_MANY_LOGS: select another log (store.c answers for a
    ** backend of one log). */
    int (*use_log)(store *s, const char *log, char *err);
    int (*record_log_key)(store *s, const char *pk, char *err);

    /* ---- transactions ---- */
    int (*begin)(store *s, char *err);
    int (*commit)(store *s, char *err);
    void (*rollback)(store *s);
    int (*in_transaction)(const store *s);
    int64_t (*tx)(const store *s);
    int (*tx_has_writes)(const store *s);
    int64_t (*take_lost_tx)(store *s);
    int (*idle)(store *s, char *err); /* optional */
    int (*savepoint)(store *s, char *err);
    void (*savepoint_release)(store *s);
    void (*savepoint_rollback)(store *s);

    /* ---- appends (store.c numbers and hashes; see store_append()) ----
    ** append_head: the own log's head as the open transaction sees it,
    ** its own appends included.  append_row: store the finished entry e
    ** (every field, seq, prev_hash and hash set; hashes_ok) in the own log,
    ** inside the open transaction; e->f's strings are borrowed for the
    ** call.  Called only inside a transaction. */
    int (*append_head)(store *s, store_tip *h, char *err);
    int (*append_row)(store *s, const store_raw_entry *e, char *err);

    /* ---- reading entries: rows, for store.c to hand on or print ----
    ** find: the rows of q up to its limit, newest first, each to fn (a
    ** row callback's return is store_row_fn's), *more as store_find()
    ** says.  get: the entry of that id to fn, STORE_ENOTFOUND when none.
    ** each_match: store_each_match()'s walk, one row at a time.  For a
    ** backend of one log, store.c passes only queries of that log, with
    ** q->log NULL. */
    int (*find)(store *s, const store_query *q, store_row_fn fn, void *ctx, int *more,
                char *err);
    int (*get)(store *s, const char *id, store_row_fn fn, void *ctx, char *err);
    int (*each_match)(store *s, const store_scan *scan, store_row_fn fn, void *ctx,
                      char *err);
    int (*user_activity)(store *s, const char *user_id, const char *since,
                         const char *log, store_activity *out, char *err);
    int (*activity_days)(store *s, const char *user_id, const char *since_day,
                         const char *until_day, store_activity_fn fn, void *ctx, char *err);
    int (*activity_users)(store *s, const char *since_day, const char *until_day,
                          store_activity_fn fn, void *ctx, char *err);
    int (*seq_range)(store *s, int64_t *first, int64_t *last, char *err);
    int (*nth_newest_seq)(store *s, int64_t n, int64_t *seq, char *err);
    /* log is a log's id or name, or NULL for every log (a backend of one
    ** log gets NULL only).  The backend allocates out->logs (malloc), which
    ** store_stats_free() releases. */
    int (*get_stats)(store *s, const char *log, int top_users, store_progress_fn progress,
                     void *ctx, store_stats *out, char *err);
    int (*set_cache_size)(store *s, int kib, char *err); /* optional */

    /* ---- integrity, on the selected log ---- */
    int (*head)(store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err);
    int (*hash_at)(store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err);
    int (*find_hash)(store *s, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq,
                     char *err);
    int (*last_checkpoint)(store *s, store_checkpoint *out, char *err);
    int (*last_anchor)(store *s, store_checkpoint *out, char *err);
    int (*add_checkpoint)(store *s, store_checkpoint *cp, char *err);
    int (*each_checkpoint)(store *s, store_checkpoint_fn fn, void *ctx, char *err);
    /* Rows with seq >= from in seq order to fn; store.c hands them on as
    ** store_raw_entry (entry_row_fields()). */
    int (*each_entry)(store *s, int64_t from, store_row_fn fn, void *ctx, char *err);
    int (*prune)(store *s, const char *before, store_keep_fn keep, void *ctx,
                 int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err);
    /* STORE_CAP_GUARDS */
    int (*missing_guards)(store *s, char *what, size_t len, char *err);

    /* ---- shipping another log in: STORE_CAP_IMPORT ----
    ** import_head: inside the open transaction, lock the selected log's
    ** head and report it.  stored_hashes: fn with the seq and stored hash
    ** of each entry of the selected log with seq in [from, to], in seq
    ** order (an entry pruned away is simply absent).  import_rows: store n
    ** entries that store.c has checked to continue the chain from the head
    ** import_head reported, and move the head to the last. */
    int (*ensure_log)(store *s, const store_log *log, char *err);
    int (*import_head)(store *s, store_tip *h, char *err);
    int (*stored_hashes)(store *s, int64_t from, int64_t to,
                         int (*fn)(void *ctx, int64_t seq, const uint8_t *hash),
                         void *ctx, char *err);
    int (*import_rows)(store *s, const store_raw_entry *e, size_t n, char *err);
    int (*import_checkpoint)(store *s, const store_checkpoint *cp, int *stored, char *err);

    /* ---- for tests only (store_testing.h); optional ---- */
    int (*explain_find)(store *s, const store_query *q, char *plan, size_t len, char *err);
    int (*explain_each_match)(store *s, const store_scan *scan, char *plan, size_t len,
                              char *err);
    int (*explain_user_activity)(store *s, char *plan, size_t len, char *err);
};

/* The backends, in the order store_open() asks them. */
extern const store_methods pg_store_methods;
extern const store_methods sqlite_store_methods;

/* ---- shared by the backends ---- */

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
