/*
** witness_db.h: a witness's memory, in a small SQLite file.
**
** Per log origin the witness keeps the latest checkpoint it cosigned (size,
** root hash, and the checkpoint as it serves it to monitors), and that is
** all the protocol needs: a witness that only ever moves a log forward
** along consistency proofs, from the tree it stored, can never cosign two
** different trees of one size.  Checkpoints validly signed by a log but
** refused as inconsistent are kept too (at most WDB_REFUSED_KEEP per log),
** since they may prove the log forked.
**
** The file runs in WAL mode with synchronous=FULL: wdb_commit() returns
** only once the change is on disk, so a cosignature is never sent for a
** state a crash could lose.  Check-and-update is one transaction
** (wdb_begin() takes the write lock at once, BEGIN IMMEDIATE), which the
** spec requires to be atomic.  One connection, used by one thread at a
** time: the caller serializes.
*/
#ifndef DSS_WITNESS_DB_H
#define DSS_WITNESS_DB_H

#include <stddef.h>
#include <stdint.h>

#define WDB_REFUSED_KEEP 1000

typedef struct wdb wdb;

/* Open (creating it and its folders when missing) the state file at path.
** Returns the handle, or NULL with a sentence in err. */
wdb *wdb_open(const char *path, char *err, size_t errlen);

/* Close it.  NULL is fine. */
void wdb_close(wdb *db);

/* A setting kept in the file (the witness's name): 1 with out filled, 0
** when unset, -1 with err. */
int wdb_meta_get(wdb *db, const char *key, char *out, size_t cap, char *err, size_t errlen);

/* Set a setting, durably.  0, or -1 with err. */
int wdb_meta_set(wdb *db, const char *key, const char *value, char *err, size_t errlen);

/* Begin the write transaction of one submission.  0, or -1 with err. */
int wdb_begin(wdb *db, char *err, size_t errlen);

/* Commit it durably.  0, or -1 with err (the transaction is then rolled
** back: nothing changed). */
int wdb_commit(wdb *db, char *err, size_t errlen);

/* Roll it back. */
void wdb_rollback(wdb *db);

/* The latest cosigned size and root for origin: 1 found, 0 never cosigned
** (size 0, root untouched), -1 with err. */
int wdb_latest(wdb *db, const char *origin, int64_t *size, uint8_t root[32], char *err,
               size_t errlen);

/* Record a newly cosigned checkpoint as origin's latest: its size, root and
** the text served to monitors.  0, or -1 with err. */
int wdb_store(wdb *db, const char *origin, int64_t size, const uint8_t root[32],
              const char *served, char *err, size_t errlen);

/* The served text of origin's latest checkpoint: 1 with *out a string the
** caller frees with free(), 0 never cosigned, -1 with err. */
int wdb_served(wdb *db, const char *origin, char **out, char *err, size_t errlen);

/* The served text of the log whose origin hashes (SHA-256, lowercase hex)
** to origin_hex, as wdb_served. */
int wdb_served_by_hash(wdb *db, const char *origin_hex, char **out, char *err, size_t errlen);

/* Keep a refused but validly signed submission (body as received) with the
** reason, dropping the oldest beyond WDB_REFUSED_KEEP for that origin.
** Runs in its own transaction.  0, or -1 with err. */
int wdb_refused(wdb *db, const char *origin, int64_t old_size, const char *body, size_t len,
                const char *reason, char *err, size_t errlen);

/* How many refused submissions are kept for origin (for tests and stats),
** or -1 with err. */
int64_t wdb_refused_count(wdb *db, const char *origin, char *err, size_t errlen);

#endif
