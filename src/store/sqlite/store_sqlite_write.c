/*
** store_sqlite_write.c: the SQLite backend's writes: transactions,
** savepoints, appending finished entries, checkpoints.
**
** A transaction is BEGIN IMMEDIATE: it takes the write lock at once, so
** the chain head an append reads cannot change under it even with other
** writer processes.  store.c numbers and hashes each entry from that head
** (store_append()); this file only stores the row, and notes the fields
** the trigram index and the activity counters need: those are brought up
** to date once per transaction, just before COMMIT, from the noted copies
** (sq_derived_sync(), store_sqlite_derived.c).
*/
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sq_begin(store *st, char *err)
{
    sqlite_store *s = sq(st);
    if (s->base.in_tx) {
        snprintf(err, STORE_ERRLEN, "a transaction is already open");
        return STORE_EINVAL;
    }
    if (s->readonly) {
        snprintf(err, STORE_ERRLEN,
                 "the audit log is open read-only (--read-only, or the database "
                 "file has no write permission); no entry can be written");
        return STORE_EREADONLY;
    }
    /* In WAL mode SQLite goes on writing to a file deleted or replaced
    ** while it is open: entries committed there would be acknowledged and
    ** lost with the file (or missing from the one now at its path).  One
    ** stat() a transaction says so. */
    if (sq_moved(st)) {
        const char *path = sqlite3_db_filename(s->db, "main");
        snprintf(err, STORE_ERRLEN,
                 "the audit database %s was deleted, moved or replaced while it was open: "
                 "nothing more is written to it (what would be written would not be at "
                 "that path); restart to open the file now there",
                 path ? path : "");
        return STORE_EIO;
    }
    int rc = sq_exec(s, "BEGIN IMMEDIATE", "starting a write", err);
    if (rc == STORE_OK) {
        s->base.in_tx = 1;
        s->base.tx_id++;
        s->savepoint_depth = 0;
        sq_pending_clear(&s->pending);
        s->tip_ok = 0;
        s->base.tx_writes = 0;
    }
    return rc;
}

/* Add this transaction's entries to audit_fts and to the activity
** counters, so that a search or a count made now, or any transaction after
** this one commits, sees them.  Rows rolled back with a savepoint were
** dropped from the list with it. */
int sq_derived_sync(sqlite_store *s, char *err)
{
    if (!s->base.in_tx || !s->pending.n) return STORE_OK;
    const char *doing = "indexing the entries for search";
    int rc = sq_pending_flush(&s->pending, s->db, &doing);
    return rc == SQLITE_OK ? STORE_OK : sq_fail(s, rc, doing, err);
}

int sq_commit(store *st, char *err)
{
    sqlite_store *s = sq(st);
    if (!s->base.in_tx) {
        snprintf(err, STORE_ERRLEN, "no transaction is open");
        return STORE_EINVAL;
    }
    int rc = sq_derived_sync(s, err);
    if (rc == STORE_OK) rc = sq_exec(s, "COMMIT", "committing", err);
    if (rc != STORE_OK) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->base.in_tx = 0;
    s->tip_ok = 0;
    sq_pending_clear(&s->pending);
    return rc;
}

void sq_rollback(store *st)
{
    sqlite_store *s = sq(st);
    if (!s->base.in_tx) return;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->base.in_tx = 0;
    s->tip_ok = 0;
    sq_pending_clear(&s->pending);
}

/* Run one of the savepoint statements: an SQLite code. */
static int run_fixed(sqlite_store *s, int which)
{
    char err[STORE_ERRLEN];
    int rc;
    sqlite3_stmt *st = sq_stmt(s, which, &rc, err);
    if (!st) return SQLITE_ERROR;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

int sq_savepoint(store *st, char *err)
{
    sqlite_store *s = sq(st);
    if (!s->base.in_tx) {
        snprintf(err, STORE_ERRLEN, "no transaction is open");
        return STORE_EINVAL;
    }
    if (sq_pending_mark(&s->pending) != STORE_OK) {
        snprintf(err, STORE_ERRLEN, "out of memory starting a request");
        return STORE_ENOMEM;
    }
    int rc = run_fixed(s, ST_SAVEPOINT);
    if (rc != SQLITE_DONE) {
        sq_pending_release(&s->pending);
        return sq_fail(s, rc, "starting a request", err);
    }
    s->savepoint_depth++;
    return STORE_OK;
}

void sq_savepoint_release(store *st)
{
    sqlite_store *s = sq(st);
    if (!s->base.in_tx || s->savepoint_depth <= 0) return;
    run_fixed(s, ST_RELEASE);
    sq_pending_release(&s->pending);
    s->savepoint_depth--;
}

void sq_savepoint_rollback(store *st)
{
    sqlite_store *s = sq(st);
    if (!s->base.in_tx || s->savepoint_depth <= 0) return;
    run_fixed(s, ST_ROLLBACK_TO);
    run_fixed(s, ST_RELEASE);
    sq_pending_rollback(&s->pending);
    s->tip_ok = 0;
    s->savepoint_depth--;
}

/* Under the write lock no other process appends, so the head after this
** transaction's last append is that entry. */
int sq_append_head(store *st, store_tip *h, char *err)
{
    sqlite_store *s = sq(st);
    if (s->tip_ok && s->base.in_tx) {
        *h = s->tip;
        return STORE_OK;
    }
    return sq_read_head(s, h, err);
}

/* Bind an integer field as an integer: an INTEGER column gives back the
** decimal text the hash covers. */
static void bind_int(sqlite3_stmt *st, int i, const char *v)
{
    if (v) sqlite3_bind_int64(st, i, strtoll(v, NULL, 10));
    else sqlite3_bind_null(st, i);
}

/* Bind each field of e as the INSERT's parameter of its place in
** ENTRY_FIELDS (store_raw_entry names its two hashes as the fields). */
#define BIND_SEQ(name, i) sqlite3_bind_int64(st, i, e->f.seq);
#define BIND_TEXT(name, i) sq_bind_text(st, i, e->f.name);
#define BIND_JSON BIND_TEXT
#define BIND_INT(name, i) bind_int(st, i, e->f.name);
#define BIND_HASH(name, i) sqlite3_bind_blob(st, i, e->name, CHAIN_HASH_BYTES, SQLITE_STATIC);
#define X_BIND(name, type, nullable, hash_at, since, by) BIND_##type(name, 1 + ENTRY_F_##name)
static void bind_entry(sqlite3_stmt *st, const store_raw_entry *e)
{
    ENTRY_FIELDS(X_BIND)
}

int sq_append_row(store *st, const store_raw_entry *e, char *err)
{
    sqlite_store *s = sq(st);
    int rc;
    sqlite3_stmt *ins = sq_stmt(s, ST_INSERT, &rc, err);
    if (!ins) return rc;
    /* Noted first, so that no row is written that the search index and
    ** the counters would miss; taken back if the INSERT fails. */
    if (sq_pending_add(&s->pending, e->f.seq, e->f.operation_name, e->f.error, e->f.user_id,
                       e->f.project_id, e->f.created_at, e->f.event_type) != STORE_OK) {
        snprintf(err, STORE_ERRLEN, "out of memory noting the entry for search");
        return STORE_ENOMEM;
    }
    bind_entry(ins, e);
    rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    if (rc != SQLITE_DONE) {
        sq_pending_drop_last(&s->pending);
        s->tip_ok = 0;
        return sq_fail(s, rc, "writing the entry", err);
    }
    s->tip.seq = e->f.seq;
    memcpy(s->tip.hash, e->hash, CHAIN_HASH_BYTES);
    s->tip_ok = 1;
    s->base.tx_writes++;
    return STORE_OK;
}

int sq_add_checkpoint(store *st, store_checkpoint *cp, char *err)
{
    sqlite_store *s = sq(st);
    if (!s->base.in_tx) {
        snprintf(err, STORE_ERRLEN, "checkpoint outside a transaction");
        return STORE_EINVAL;
    }
    int rc;
    sqlite3_stmt *ins = sq_stmt(s, ST_ADD_CP, &rc, err);
    if (!ins) return rc;
    sq_bind_text(ins, 1, cp->kind);
    sq_bind_text(ins, 2, cp->log_id);
    sqlite3_bind_int64(ins, 3, cp->seq);
    sq_bind_text(ins, 4, cp->head_hash);
    sq_bind_text(ins, 5, cp->created_at);
    sq_bind_text(ins, 6, cp->prev_checkpoint_hash);
    sq_bind_text(ins, 7, cp->public_key);
    sq_bind_text(ins, 8, cp->signature);
    sq_bind_text(ins, 9, cp->note[0] ? cp->note : NULL);
    rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    if (rc != SQLITE_DONE) return sq_fail(s, rc, "writing a checkpoint", err);
    cp->number = sqlite3_last_insert_rowid(s->db);
    return STORE_OK;
}
