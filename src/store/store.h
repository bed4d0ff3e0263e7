/*
** store.h: the storage contract of the audit trail.
**
** Everything above this header (the tools, the protocol, the commands) sees
** the audit log only through these functions and never speaks SQL, nor asks
** which backend it has.  store.c picks the backend from the path (sqlite/
** keeps one log in a local file; pg/ keeps a whole team's logs in one
** PostgreSQL database) and does what every backend shares: numbering and
** hashing each new entry, checking shipped entries, turning rows into
** entries.  A backend is a table of functions (store_methods.h) with
** capability bits for what only some backends do (store_capabilities()).
**
** Entries: the store hands back rows (entry.h's entry_row, through a
** store_row_fn) or entries built from them by entry.h's printer; callers
** that print JSON text print the rows with entry.h themselves.
**
** Logs: a store holds one log (SQLite) or many (PostgreSQL), each its own
** hash chain with its own seq, head and checkpoints, named by a random
** log_id and a readable name.  Appends go to the store's own log.  Queries
** read every log unless store_query.log names one.  The integrity functions
** (head, hash_at, checkpoints, each_entry, prune, seq_range) work on the
** selected log: the store's own until store_use_log() selects another.
**
** Conventions: functions return STORE_OK (0) or a negative STORE_E* code and
** write a sentence a person can read into `err`, a caller-provided buffer of
** STORE_ERRLEN bytes.  Strings passed in are borrowed.  cJSON trees handed
** back are owned by the caller, who frees them with cJSON_Delete().
**
** Durability: writes happen inside a transaction the caller opens with
** store_begin() and closes with store_commit(), which returns only once the
** data is on stable storage (synchronous=FULL).  Several requests may share
** one transaction (group commit); each wraps its own writes in a savepoint
** so that one failing request does not undo the others.
*/
#ifndef DSS_STORE_H
#define DSS_STORE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "../tlog/merkle.h"
#include "../util/ts.h"
#include "chain.h"
#include "entry.h"

#define STORE_ERRLEN 256

enum {
    STORE_OK = 0,
    STORE_EIO = -1,       /* an I/O or internal database error */
    STORE_EFULL = -2,     /* the disk or the database's size cap is full */
    STORE_EBUSY = -3,     /* another process held the lock for too long */
    STORE_EREADONLY = -4, /* the database cannot be written */
    STORE_ENOTFOUND = -5, /* no such entry */
    STORE_ESCHEMA = -6,   /* not an audit database, or a newer schema */
    STORE_ENOMEM = -7,
    STORE_EINVAL = -8,    /* a caller's mistake, e.g. no open transaction */
    STORE_EINTERRUPTED = -9 /* the interrupt callback asked to stop */
};

typedef struct store store;

/* What only some backends do, as bits of store_capabilities(). */
enum {
    /* Many logs in one store (else: its own log alone; a query naming
    ** another log matches nothing, and store_use_log() refuses it). */
    STORE_CAP_MANY_LOGS = 1 << 0,
    /* store_ensure_log(), store_import(), store_import_checkpoint(): logs
    ** shipped in from elsewhere (else they fail with STORE_EINVAL). */
    STORE_CAP_IMPORT = 1 << 1,
    /* Append-only guards the store can report on (store_missing_guards());
    ** without it the hash chain is the only proof, and it reports none. */
    STORE_CAP_GUARDS = 1 << 2,
    /* Retention drops whole partitions shared by every log, so a pruned
    ** log's entries may stay stored below its anchor until every log with
    ** entries beside them is pruned too (store_prune()). */
    STORE_CAP_PARTITIONS = 1 << 3,
    /* Substring search (store_query.text) through an index rather than a
    ** scan of every entry. */
    STORE_CAP_TEXT_INDEX = 1 << 4,
    /* The ship cursors of its logs kept in the store itself, for a shared
    ** trail (store_cursor_*): else a shipper keeps them beside the file. */
    STORE_CAP_SINK_CURSORS = 1 << 5
};

/* Options for store_open(); zero-initialize and set what you need. */
typedef struct store_options {
    /* A file path, ":memory:" for tests and fuzzing, or a PostgreSQL
    ** database: a postgres:// or postgresql:// URI or a libpq keyword
    ** string ("host=... dbname=..."), with every libpq environment variable
    ** honoured (store_is_remote() tells which). */
    const char *path;
    /* The store's own log, which appends go to.  PostgreSQL: the log of
    ** that name, created when missing (NULL: the host name; a read-only
    ** store with NULL has no own log and selects none).  SQLite: the name
    ** given to the log when the file is created (NULL: the host name). */
    const char *log_name;
    /* A writable store without an own log (the shipper, which writes only
    ** the logs it names with store_ensure_log()): nothing is created at
    ** open, and appends are refused until a log is ensured. */
    int no_own_log;
    int readonly;       /* open without ever writing the file */
    int busy_timeout_ms;/* how long to wait for another writer; 0 = 10000 */
    int64_t max_bytes;  /* cap on the database file's size; 0 = none */
    /* The own log's origin (store_log_origin()), recorded when the store
    ** opens writable; one already recorded must be the same (else the open
    ** fails, STORE_EINVAL).  NULL: whatever is recorded, or the default. */
    const char *origin;
    /* A process that opens the store for one short write and exits (an
    ** agent's hook).  SQLite keeps the write-ahead log between such
    ** processes instead of copying it back and deleting it at every close,
    ** and copies it back at close only once it has grown, so a write costs
    ** one sync; the write itself is as durable as any other.  PostgreSQL
    ** ignores it. */
    int brief;
    /* SQLite, read only: read the file through a memory map of up to this
    ** many bytes (PRAGMA mmap_size; SQLite caps it at its build's
    ** maximum, 2 GiB in Debian's), sparing the copy of every page a read()
    ** makes.  An I/O error on a mapped page is then a SIGBUS, which kills
    ** the process instead of failing a call: only for a process that
    ** serves no one (the standalone shipper), never for a server.  0: plain
    ** reads.  PostgreSQL and writable stores ignore it. */
    int64_t mmap_bytes;
} store_options;

/*
** Open (creating when missing, with mode 0600 and its parent folders) and
** migrate the database.  On success *out is an open store the caller closes
** with store_close().  Fails with STORE_ESCHEMA for a file that is not an
** audit database or was written by a newer version of this server.
*/
int store_open(const store_options *opt, store **out, char *err);

/* Whether path names a PostgreSQL database rather than a file: 1 or 0. */
int store_is_remote(const char *path);

/* path as it may be shown (messages, stats, the viewer) into out (len
** bytes): a PostgreSQL password, in a URI's user:password@ or its
** password= parameter or a keyword string's password=, becomes "***". */
void store_redact_path(const char *path, char *out, size_t len);

/* Overwrite, in place, the password that store_redact_path() masks, with
** 'x' characters of the same length: for a process's own argv, so that
** `ps` never shows it. */
void store_wipe_password(char *path);

/* The backend's name, "sqlite" or "postgresql", for messages.  Code that
** depends on what a backend does asks store_capabilities() instead. */
const char *store_backend(const store *s);

/* The STORE_CAP_* bits of the store's backend. */
unsigned store_capabilities(const store *s);

/* While fn is set, long statements call it now and then, and stop with
** STORE_EINTERRUPTED when it returns non-zero (a cancelled request).  Pass
** NULL to remove it. */
void store_set_interrupt(store *s, int (*fn)(void *ctx), void *ctx);

/* Close the store, rolling back any transaction still open. NULL is fine. */
void store_close(store *s);

/* Whether the store was opened read-only (asked for, or the file has no
** write permission). */
int store_readonly(const store *s);

/* ---- Logs ---- */

#define STORE_LOG_NAME_MAX 128

/* One log of the store.  public_key is the hex Ed25519 key recorded as the
** one signing this log's checkpoints, "" when none is recorded yet. */
typedef struct store_log {
    char log_id[37];
    char name[STORE_LOG_NAME_MAX];
    char public_key[65];
} store_log;

/* The selected log's random identifier and readable name, "" when none is
** selected.  Owned by the store; valid until the next store_use_log() or
** store_close(). */
const char *store_log_id(const store *s);
const char *store_log_name(const store *s);

/* Call fn for every log, in log_id order; a non-zero return stops. */
typedef int (*store_log_fn)(void *ctx, const store_log *log);
int store_each_log(store *s, store_log_fn fn, void *ctx, char *err);

/* Every log, in log_id order, as a new array of *n logs in *logs that the
** caller frees with free() (NULL when there is none). */
int store_list_logs(store *s, store_log **logs, size_t *n, char *err);

/* Select the log whose id or name is `log` for the integrity functions
** (NULL: the store's own again); STORE_ENOTFOUND when there is none. */
int store_use_log(store *s, const char *log, char *err);

/* Record pk (hex) as the key signing the selected log's checkpoints, when
** none is recorded.  STORE_OK also when pk is the one recorded; STORE_EINVAL
** with a sentence naming both when another key is. */
int store_record_log_key(store *s, const char *pk, char *err);

/* Transactions: store_begin() takes the write lock (waiting out other
** writers up to the busy timeout; for PostgreSQL, the own log's head row,
** so writers on other logs never wait).  store_commit() makes everything
** since durable; on failure the transaction has been rolled back, and with
** it every write made in it. */
int store_begin(store *s, char *err);
int store_commit(store *s, char *err);
void store_rollback(store *s);
int store_in_transaction(const store *s);

/* The number of the open write transaction, or 0 when none is open. */
int64_t store_tx(const store *s);

/* Whether the open transaction has appended any entry yet (1 or 0). */
int store_tx_has_writes(const store *s);

/* The number of a transaction the database rolled back by itself after an
** error (a full disk, a lost connection) since the last call, or 0.  Every write made
** in it is gone, whatever was said about it. */
int64_t store_take_lost_tx(store *s);

/* Called when the caller has nothing to do (the server: once its input has
** been quiet for a moment): a time for upkeep that would otherwise delay a
** commit.  For a local file, copying the write-ahead log back into the
** database once it has grown.  Does nothing inside a transaction or on a read-only
** store.  A failure loses nothing; the caller may just report it. */
int store_idle(store *s, char *err);

/* Whether the store is a file and the file now at its path is not the one
** open: deleted, moved, or another put in its place (a restore).  Nothing
** written to the open one would be at that path, and nothing written at
** the path reaches it.  One stat(); 0 for a PostgreSQL database. */
int store_moved(store *s);

/* A savepoint inside the open transaction, for one request's writes. */
int store_savepoint(store *s, char *err);
void store_savepoint_release(store *s);
void store_savepoint_rollback(store *s);

/* One entry to append.  JSON fields are serialized JSON texts, already
** scrubbed; args is required, the others may be NULL. */
typedef struct store_record {
    const char *event_type;
    const char *operation_name;
    const char *operation_id;
    const char *user_id;
    const char *project_id;
    const char *args;
    const char *result;
    const char *error;
    const char *before_state;
    const char *after_state;
    const char *client; /* serialized {name, version} or NULL */
    /* Calls relayed by `wrap` and reported by `hook` (hash encoding v2;
    ** all NULL/0 for other entries, as zero-initialization leaves them): */
    const char *server;     /* serialized {name, version} of the MCP server */
    const char *session_id; /* the wrapper process's or the client's session */
    const char *completes;  /* id of the request entry this outcome completes */
    const char *cwd;        /* the agent's working directory */
    int has_duration;       /* duration_ms is set */
    int64_t duration_ms;    /* how long the call took */
} store_record;

/* What an append reports back. */
typedef struct store_receipt {
    char id[37];
    int64_t seq;
    char created_at[TS_BUFLEN];
    char hash[CHAIN_HEX_LEN];
} store_receipt;

/* Append one entry, extending the hash chain.  Must run inside
** store_begin()..store_commit(); the entry is durable only after commit. */
int store_append(store *s, const store_record *rec, store_receipt *out,
                 char *err);

/* store_append() giving the entry the id `id` (a lower-case UUID, 36
** characters) instead of a new one, or a new one when id is NULL: for a door
** that names its entry before it is written so that a retry can find it
** (dss-audit-mcp-hook, docs/hooks.md).  The id should be a version 7 UUID
** of about the same instant, so that ids keep growing with time (uuid7.h).
** STORE_EINVAL when id is not a UUID. */
int store_append_as(store *s, const store_record *rec, const char *id, store_receipt *out,
                    char *err);

/* 1 when id is a lower-case UUID in 8-4-4-4-12 form, else 0. */
int store_uuid_ok(const char *id);

/* A query over entries.  Every non-NULL filter must match.  since/until are
** inclusive created_at bounds in ts_format() form.  text is a literal,
** case-insensitive substring of operation_name or error.  server matches
** the name of a relayed call's server identity. */
typedef struct store_query {
    const char *project_id;
    const char *user_id;
    const char *operation_name;
    const char *event_type;
    const char *since;
    const char *until;
    const char *text;
    const char *server;     /* the name in the entry's server identity */
    const char *session_id;
    const char *completes;  /* entries completing the request with this id */
    const char *log;        /* one log, by its log_id or its name */
    int64_t limit;  /* at least 1 */
    int64_t offset; /* at least 0 */
    /* Keyset continuation: only entries before this one in the query's
    ** order; after_seq 0 = none.  after_log_id may be NULL for a store of
    ** one log. */
    int64_t after_seq;
    const char *after_created_at;
    const char *after_log_id;
    /* Called every 1,000 entries gathered (long trails), or NULL. */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} store_query;

/* Called with each row a query finds (entry.h; the row and its strings
** are borrowed for the call).  Returns 0 to go on, a positive number to stop
** (the query then returns STORE_OK), or a negative STORE_E* code to stop
** and fail with it. */
typedef int (*store_row_fn)(void *ctx, const entry_row *row);

/* What a query found besides its rows. */
typedef struct store_page {
    int64_t count;
    int more;        /* more entries matched beyond the limit */
    int64_t last_seq; /* the last entry's seq, created_at and log, for a cursor */
    char last_created_at[TS_BUFLEN];
    char last_log_id[37];
} store_page;

/*
** Run a query, newest first.  Across the logs of a PostgreSQL store: by
** created_at, ties by log_id then seq.  In a store of one log: by
** created_at then seq, or, without a time range, by seq for a completes
** filter, a search term of three characters or more, a cursor of seq alone
** (after_created_at NULL), or a project or operation filter without a
** user, server or session one (the two orders agree for entries the store
** wrote itself).  Each row
** up to the limit goes to fn; *page (may be NULL) receives the count, more
** and the last row's cursor.  A reply that only prints the entries hands
** entry_array_add() as fn: no tree is built.
*/
int store_find_rows(store *s, const store_query *q, store_row_fn fn, void *ctx,
                    store_page *page, char *err);

/* store_find_rows() as entries: *entries receives a new array of entry
** objects (entry_cjson(); caller frees).  When more_out is not NULL it is
** set to 1 if more entries matched beyond limit. */
int store_find(store *s, const store_query *q, cJSON **entries, int *more_out,
               char *err);

/* Look up one entry by its id; STORE_ENOTFOUND if there is none. */
int store_get(store *s, const char *id, cJSON **entry, char *err);

/* Counts for get_user_activity over entries of user_id at or after since,
** of the log `log` names (its id or name; NULL: every log), answered from
** per-day counters: the cost grows with the window, not with the user's
** number of entries.  A log the store does not hold counts nothing. */
typedef struct store_activity {
    int64_t total;
    int64_t errors;
    int64_t projects;
    cJSON *by_type; /* object event_type -> count, most frequent first;
                       owned by the caller */
} store_activity;

int store_user_activity(store *s, const char *user_id, const char *since,
                        const char *log, store_activity *out, char *err);

/* ---- Integrity: chain head, checkpoints, verification, retention ---- */

/* The newest entry's seq and hash (hex); seq 0 and the retention anchor's
** or an all-zero hash when the log holds no entry. */
int store_head(store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err);

/* The stored hash (hex) of the entry at seq; STORE_ENOTFOUND if none. */
int store_hash_at(store *s, int64_t seq, char hash[CHAIN_HEX_LEN], char *err);

/* The seq of the entry whose stored hash is `hash`, by a full scan (used
** only to explain a problem verify found); STORE_ENOTFOUND if none. */
int store_find_hash(store *s, const uint8_t hash[CHAIN_HASH_BYTES],
                    int64_t *seq, char *err);

/* The longest signed checkpoint note a checkpoint row holds: its text (an
** origin of up to STORE_ORIGIN_MAX bytes, size, root and two extension
** lines) and the log's signature line (checkpoint.h). */
#define STORE_NOTE_MAX 1024
/* The longest origin (tlog-checkpoint's first line, the log key's name). */
#define STORE_ORIGIN_MAX 255

/* A signed checkpoint (kind "checkpoint") or retention anchor ("anchor"),
** as stored in the append-only checkpoints table.  Hashes, keys and
** signatures are lower-case hex.  note is the C2SP signed checkpoint note
** of the same head (tree size seq), signed by the same key, "" for
** checkpoints written before notes existed; its witnesses' cosignatures
** are stored apart (store_add_cosignature()). */
typedef struct store_checkpoint {
    int64_t number; /* position in the checkpoints table, from 1 */
    char kind[16];
    char log_id[37];
    int64_t seq;
    char head_hash[CHAIN_HEX_LEN];
    char created_at[TS_BUFLEN];
    char prev_checkpoint_hash[CHAIN_HEX_LEN];
    char public_key[65];
    char signature[129];
    char note[STORE_NOTE_MAX];
} store_checkpoint;

/* The newest checkpoint of any kind; STORE_ENOTFOUND if there is none. */
int store_last_checkpoint(store *s, store_checkpoint *out, char *err);

/* The newest retention anchor; STORE_ENOTFOUND if nothing was pruned. */
int store_last_anchor(store *s, store_checkpoint *out, char *err);

/* Append a checkpoint row (inside an open transaction); fills cp->number. */
int store_add_checkpoint(store *s, store_checkpoint *cp, char *err);

/* Call fn for every checkpoint, oldest first; a non-zero return stops. */
typedef int (*store_checkpoint_fn)(void *ctx, const store_checkpoint *cp);
int store_each_checkpoint(store *s, store_checkpoint_fn fn, void *ctx, char *err);

/* The same for the checkpoints numbered above after only: what a reader
** that saw those up to after has not seen yet. */
int store_each_checkpoint_after(store *s, int64_t after, store_checkpoint_fn fn, void *ctx,
                                char *err);

/* One stored entry as verification sees it: the exact stored bytes. */
typedef struct store_raw_entry {
    chain_fields f;
    uint8_t prev_hash[CHAIN_HASH_BYTES];
    uint8_t hash[CHAIN_HASH_BYTES];
    int hashes_ok; /* both hash columns hold 32 bytes */
} store_raw_entry;

/* Call fn for every entry with seq >= from, in seq order; the entry is
** borrowed for the call.  A non-zero return from fn stops the walk. */
typedef int (*store_entry_fn)(void *ctx, const store_raw_entry *e);
int store_each_entry(store *s, int64_t from, store_entry_fn fn, void *ctx,
                     char *err);

/* The same walk as rows (entry.h), for a reader that prints or encodes
** entries itself (ship's sinks): fn gets each row, borrowed for the call,
** with its log_id and log (the selected log's name) set; its return means
** what store_row_fn's does.  Reads only as far as fn goes. */
int store_each_row(store *s, int64_t from, store_row_fn fn, void *ctx, char *err);

/* Retention: remove the oldest entries (the longest prefix created before
** `before`), inside the open transaction.  Before anything is removed,
** `keep` is called with each entry to go, and must return 0 once all are
** safely archived (it is called one last time with NULL to flush); any
** other return removes nothing.  *last_seq and last_hash report the newest
** removed entry (seq 0 when none was old enough).
** PostgreSQL: the logs share monthly partitions and rows are never
** deleted, so only the selected log's entries created before the month of
** `before` go (those in partitions wholly before it); a partition is
** dropped once every log with rows in it is pruned past them (this call
** for the selected log, their anchors for the others), so pruning every
** log, one call each, drops them with the last call.  Until then a pruned
** log's old rows stay stored below its anchor.  Dropping needs the role
** owning the schema. */
typedef int (*store_keep_fn)(void *ctx, const store_raw_entry *e);
int store_prune(store *s, const char *before, store_keep_fn keep, void *ctx,
                int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err);

/* ---- The Merkle tree (docs/transparency.md) ----
** Each log is also an RFC 6962 Merkle tree over its entries: leaf i holds
** the chain hash of the entry with seq i + 1.  The store keeps the tree's
** stored hashes in Go's sumdb/tlog layout (merkle.h) beside the entries,
** computed in store.c and written by the transaction that writes the
** entry (store_append(), store_import()), so a root or a proof reads
** O(log n) of them.  Retention removes none: a pruned entry's leaf stays,
** so its archived copy can still be proved against the anchor.  These
** functions work on the selected log and see the open transaction's own
** appends. */

/* The number of leaves of the selected log's tree: its head seq, unless
** the tree lags behind the entries (written before this version kept a
** tree, and not yet built; or built impossibly: entries pruned before it
** existed).  0 for an empty tree. */
int store_tree_size(store *s, int64_t *size, char *err);

/* The root of the tree's first size leaves (size <= store_tree_size()). */
int store_tree_root(store *s, int64_t size, merkle_hash root, char *err);

/* The inclusion proof of leaf index in the tree of size leaves
** (merkle_prove_inclusion()), and the consistency proof between two sizes
** (merkle_prove_consistency()).  *len receives the hash count. */
int store_tree_prove(store *s, int64_t index, int64_t size, merkle_hash path[MERKLE_MAX_PROOF],
                     size_t *len, char *err);
int store_tree_consistency(store *s, int64_t old_size, int64_t new_size,
                           merkle_hash path[MERKLE_MAX_PROOF], size_t *len, char *err);

/* The stored hashes at idx[0..n) into out (merkle.h's indexes):
** STORE_ENOTFOUND naming the first missing one.  For verify's walk. */
int store_tree_hashes(store *s, const int64_t *idx, size_t n, merkle_hash *out, char *err);

/* A merkle_reader over the selected log's stored hashes (for merkle.h and
** the witness client), valid while s is open, the same log selected and
** nothing else uses s meanwhile.  Its errors are the store's sentences. */
merkle_reader store_tree_reader(store *s);

/* The right edge of the selected log's tree at size leaves (verify starts
** its walk there after a retention anchor). */
int store_tree_frontier(store *s, int64_t size, merkle_frontier *f, char *err);

/* ---- Origins, cosignatures and witnesses (docs/transparency.md) ---- */

/* The origin recorded for the selected log (the first line of its
** checkpoint notes and its key's name) into out, "" when none is.  With
** set not NULL, record it first when none is: STORE_EINVAL naming both
** when another is recorded. */
int store_log_origin(store *s, const char *set, char out[STORE_ORIGIN_MAX + 1], char *err);

/* A witness's cosignature of a checkpoint of the selected log: the
** checkpoint's number, the witness's verifier key (signed-note vkey text),
** the cosignature's time and its signature line, newline included. */
#define STORE_VKEY_MAX 320
#define STORE_COSIG_LINE_MAX 384
typedef struct store_cosignature {
    int64_t number;
    char witness[STORE_VKEY_MAX];
    int64_t time;
    char line[STORE_COSIG_LINE_MAX];
} store_cosignature;

/* Store a cosignature unless the witness's one of that checkpoint is
** stored already (then STORE_OK).  In the open transaction, or on its
** own when none is open. */
int store_add_cosignature(store *s, const store_cosignature *c, char *err);

/* Call fn with each cosignature of checkpoint `number` (0: of every
** checkpoint), by checkpoint then witness; a non-zero return stops. */
typedef int (*store_cosignature_fn)(void *ctx, const store_cosignature *c);
int store_each_cosignature(store *s, int64_t number, store_cosignature_fn fn, void *ctx,
                           char *err);

/* How the selected log's checkpoints fare with one witness: the size it
** last cosigned, and the last attempt's time and outcome.  Kept so that
** `stats` and `verify` can say which witness is behind and why. */
typedef struct store_witness {
    char witness[STORE_VKEY_MAX]; /* its verifier key */
    char url[512];                /* its submission prefix */
    int64_t size;                 /* the tree size it last cosigned, 0 none */
    char last_attempt[TS_BUFLEN]; /* "" never tried */
    char last_ok[TS_BUFLEN];      /* "" never cosigned */
    char last_error[256];         /* "" when the last attempt succeeded */
} store_witness;

/* Record (insert or replace) a witness's state.  In the open transaction,
** or on its own when none is open. */
int store_put_witness(store *s, const store_witness *w, char *err);

/* Call fn with each witness state of the selected log, by verifier key. */
typedef int (*store_witness_fn)(void *ctx, const store_witness *w);
int store_each_witness(store *s, store_witness_fn fn, void *ctx, char *err);

/* The append-only guards of the store that are missing or disabled, as a
** list a person can read into what (len bytes), "" when all stand.
** PostgreSQL: the row and statement triggers of entries (and of each of
** its partitions), checkpoints and logs; dropping them changes no entry,
** so verify reports it from here.  SQLite: always "", since whoever holds
** the file can lift and restore its triggers unseen; the chain is the
** proof there. */
int store_missing_guards(store *s, char *what, size_t len, char *err);

/* ---- Shipping another log in (PostgreSQL) ----
** A local log copied into a central store keeps its log_id, and its
** entries and checkpoints keep their ids, seq, timestamps and hashes. */

/* Create the log `log` (its id, name and key) when the store has no log of
** that id, then select it.  STORE_EINVAL when a log of that id exists under
** another key, or the backend keeps only its own log. */
int store_ensure_log(store *s, const store_log *log, char *err);

/* Append n entries to the selected log inside the open transaction, as
** they are.  The batch is checked before anything is stored: entries up to
** the log's head must be the stored ones (re-sending is a no-op, counted
** in *skipped); the rest must continue the chain (seq one more, prev_hash
** the previous hash, hash recomputed).  A break is STORE_EINVAL with a
** sentence naming the seq, and nothing of the batch is stored. */
int store_import(store *s, const store_raw_entry *e, size_t n, int64_t *stored,
                 int64_t *skipped, char *err);

/* Store a checkpoint or anchor of the selected log as it is, unless one
** with the same kind, seq and signature is already stored (then STORE_OK,
** *stored 0).  Its signature is not checked here: verify does that. */
int store_import_checkpoint(store *s, const store_checkpoint *cp, int *stored,
                            char *err);

/* ---- Ship cursors (STORE_CAP_SINK_CURSORS) ----
** Where each sink is in each log, for `ship` reading a shared trail
** (src/ship/cursor.h is the shipper's side).  Bookkeeping, not audit
** data: a cursor row is updated in place.  Without the capability these
** fail with STORE_EINVAL. */

/* One sink's position in one log: the last entry it acknowledged. */
typedef struct store_sink_cursor {
    char log_id[37];
    char key[65];       /* the shipper's key for the sink and log (hex) */
    char sink[256];     /* the sink as messages show it (no secret) */
    int64_t seq;        /* 0: none yet */
    char id[37];        /* the entry's id and hash ("" with seq 0) */
    char hash[CHAIN_HEX_LEN];
    char saved_at[TS_BUFLEN]; /* set by store_cursor_save() */
} store_sink_cursor;

/* The cursor of key in log_id into *out; STORE_ENOTFOUND when none. */
int store_cursor_load(store *s, const char *log_id, const char *key, store_sink_cursor *out,
                      char *err);

/* Save c (saved_at is set to now), durably, only while this store holds
** c's lock (store_cursor_lock): STORE_EBUSY when it does not (the
** connection was lost and another shipper may have taken over). */
int store_cursor_save(store *s, const store_sink_cursor *c, char *err);

/* Call fn for every cursor, in log_id then key order; non-zero stops. */
typedef int (*store_cursor_fn)(void *ctx, const store_sink_cursor *c);
int store_each_cursor(store *s, store_cursor_fn fn, void *ctx, char *err);

/* Hold the exclusive right to ship key's sink and log, until the store is
** closed (or its connection is lost): STORE_OK when this store holds it
** (already, or now), STORE_EBUSY when another does. */
int store_cursor_lock(store *s, const char *key, char *err);

/* ---- For the command line (src/cli): streaming walks and statistics ----
** Read-only helpers for people's subcommands (tail, query, stats, export);
** they never write, so they work on a store opened read-only. */

/* A walk over entries.  Every non-NULL filter of `filter` must match, as in
** store_find() (text by a literal, case-insensitive LIKE scan); its limit,
** offset and cursor are ignored. */
typedef struct store_scan {
    const store_query *filter; /* NULL: every entry */
    /* Only entries after this one in the walk's order (seq within one log;
    ** created_at, log_id, seq across logs): after_seq 0 = from the start.
    ** after_created_at and after_log_id may be NULL for a store of one log. */
    int64_t after_seq;
    const char *after_created_at;
    const char *after_log_id;
    int64_t limit;             /* stop after this many; 0 = no limit */
    int newest_first;          /* descending instead of ascending */
} store_scan;

/* Called with each entry, shaped exactly as store_find() returns entries;
** the object is borrowed for the call and freed after it.  A non-zero
** return stops the walk (store_each_match() then returns STORE_OK; the
** callback keeps its own reason in ctx). */
typedef int (*store_match_fn)(void *ctx, const cJSON *entry);

/* Call fn for every entry matching scan, in the walk's order.  Only one entry is
** held at a time, so memory stays constant whatever the number of rows.
** Runs one statement of its own: the callback may use the store. */
int store_each_match(store *s, const store_scan *scan, store_match_fn fn,
                     void *ctx, char *err);

/* The same walk as rows (entry.h) for a caller that prints them itself
** (export): fn gets each row, borrowed for the call; its return means
** what store_row_fn's does. */
int store_match_rows(store *s, const store_scan *scan, store_row_fn fn, void *ctx,
                     char *err);

/* The seq of the oldest and the newest entry; both 0 when the log holds no
** entry. */
int store_seq_range(store *s, int64_t *first, int64_t *last, char *err);

/* The seq of the n-th newest entry (n >= 1), or of the oldest when fewer
** than n exist; 0 when the log holds no entry. */
int store_nth_newest_seq(store *s, int64_t n, int64_t *seq, char *err);

/* One log's part of `stats`. */
typedef struct store_log_stats {
    char log_id[37];
    char name[STORE_LOG_NAME_MAX];
    int64_t entries;          /* counted row by row, not derived from seq */
    int64_t first_seq, last_seq; /* 0 when the log holds no entry */
    char first_created_at[TS_BUFLEN]; /* "" when there is no entry */
    char last_created_at[TS_BUFLEN];
    int64_t errors;           /* entries with an error */
    int64_t checkpoints;      /* rows of kind "checkpoint" */
    int64_t anchors;          /* rows of kind "anchor" (retention) */
} store_log_stats;

/* Totals for `stats`, over the logs counted (every log, or one). */
typedef struct store_stats {
    int64_t entries;
    char first_created_at[TS_BUFLEN]; /* the oldest entry of any log counted */
    char last_created_at[TS_BUFLEN];  /* the newest; both "" when none */
    int64_t errors, checkpoints, anchors;
    int64_t db_bytes;         /* the size of the stored entries on disk (for
                                 PostgreSQL, every log's: they share tables) */
    int64_t wal_bytes;        /* a local file's write-ahead log, else 0 */
    cJSON *by_event_type;     /* object event_type -> count, most frequent
                                 first */
    cJSON *top_users;         /* array of {user_id, entries, errors}, most
                                 active first */
    store_log_stats *logs;    /* each log counted, in log_id order */
    size_t n_logs;
} store_stats;

/* Progress of a long walk: done out of total units (entries). */
typedef void (*store_progress_fn)(void *ctx, int64_t done, int64_t total);

/*
** Fill *out with the statistics of the log `log` names (its id or name), or
** of every log of the store when log is NULL: totals, and each log's own
** numbers in out->logs.  The entry count walks the entries in chunks,
** reporting progress after each when progress is not NULL; counts by event
** type and by user come from the per-day activity counters.  top_users
** (>= 0) caps the user list.  STORE_ENOTFOUND when log names no log of the
** store.  On success the caller releases *out with store_stats_free(); on
** failure nothing is left to free.
*/
int store_get_stats(store *s, const char *log, int top_users, store_progress_fn progress,
                    void *ctx, store_stats *out, char *err);

/* Free what store_get_stats() allocated in *st (not st itself). */
void store_stats_free(store_stats *st);

/* ---- For the viewer (src/viewer): activity for its charts ----
** Answered from the per-day activity counters, so the cost grows with the
** window (users x days x event types), not with the number of entries.
** Days are "YYYY-MM-DD" (UTC), both bounds inclusive. */

/* Called with (day, event_type, entries, errors) by store_activity_days()
** and with (user_id, "", entries, errors) by store_activity_users(); the
** strings are borrowed for the call.  A non-zero return stops the walk. */
typedef int (*store_activity_fn)(void *ctx, const char *a, const char *b,
                                 int64_t entries, int64_t errors);

/* Entries per day and event type in [since_day, until_day], in day then
** event type order: of user_id only when it is not NULL, else of every
** entry (those without a user included). */
int store_activity_days(store *s, const char *user_id, const char *since_day,
                        const char *until_day, store_activity_fn fn, void *ctx,
                        char *err);

/* Entries per user in [since_day, until_day], in user_id order (entries
** without a user are not counted). */
int store_activity_users(store *s, const char *since_day, const char *until_day,
                         store_activity_fn fn, void *ctx, char *err);

/* Set this connection's read cache to about kib KiB (where it has one).
** A long sequential read (export) needs little cache; this keeps its
** memory small whatever the size of the log. */
int store_set_cache_size(store *s, int kib, char *err);

#endif
