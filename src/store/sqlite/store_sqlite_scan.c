/*
** store_sqlite_scan.c: the SQLite backend's walks over the whole log:
** the chain's head and hashes, checkpoints, every entry in seq order (for
** verify and ship), retention, and the statistics of `stats`.
**
** Retention removes a prefix of the chain: it hands each entry to go to the
** archive first, then deletes them with the append-only trigger lifted
** inside its own transaction (no other connection ever sees the table
** without it) and recounts the activity tables, which are derived data.
*/
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The seq and hash of the newest entry: where the chain continues.  When
** retention removed every entry, the chain continues from its anchor. */
static int read_checkpoint(sqlite_store *s, int which, store_checkpoint *out,
                           const char *doing, char *err);

int sq_read_head(sqlite_store *s, store_tip *h, char *err)
{
    int rc, found = 0;
    sqlite3_stmt *st = sq_stmt(s, ST_HEAD, &rc, err);
    if (!st) return rc;
    rc = sqlite3_step(st);
    h->seq = 0;
    memset(h->hash, 0, CHAIN_HASH_BYTES);
    if (rc == SQLITE_ROW) {
        h->seq = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == CHAIN_HASH_BYTES)
            memcpy(h->hash, sqlite3_column_blob(st, 1), CHAIN_HASH_BYTES);
        rc = SQLITE_DONE;
        found = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return sq_fail(s, rc, "reading the chain head", err);
    if (found) return STORE_OK;
    store_checkpoint a;
    int arc = read_checkpoint(s, ST_LAST_ANCHOR, &a, "reading the anchor", err);
    if (arc == STORE_ENOTFOUND) return STORE_OK;
    if (arc != STORE_OK) return arc;
    h->seq = a.seq;
    chain_unhex(a.head_hash, strlen(a.head_hash), h->hash);
    return STORE_OK;
}

int sq_head(store *s, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    store_tip h;
    int rc = sq_read_head(sq(s), &h, err);
    *seq = h.seq;
    if (rc == STORE_OK) chain_hex(h.hash, hash);
    return rc;
}

int sq_hash_at(store *store_, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    sqlite_store *s = sq(store_);
    int rc, out = STORE_OK;
    sqlite3_stmt *st = sq_stmt(s, ST_HASH_AT, &rc, err);
    if (!st) return rc;
    sqlite3_bind_int64(st, 1, seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        hash[0] = '\0';
        if (sqlite3_column_bytes(st, 0) == CHAIN_HASH_BYTES)
            chain_hex(sqlite3_column_blob(st, 0), hash);
    } else if (rc == SQLITE_DONE) {
        snprintf(err, STORE_ERRLEN, "no entry has seq %lld", (long long)seq);
        out = STORE_ENOTFOUND;
    } else {
        out = sq_fail(s, rc, "reading an entry's hash", err);
    }
    sqlite3_reset(st);
    return out;
}

int sq_find_hash(store *store_, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err)
{
    sqlite_store *s = sq(store_);
    int rc, out = STORE_OK;
    sqlite3_stmt *st = sq_stmt(s, ST_FIND_HASH, &rc, err);
    if (!st) return rc;
    sqlite3_bind_blob(st, 1, hash, CHAIN_HASH_BYTES, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *seq = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE) out = STORE_ENOTFOUND;
    else out = sq_fail(s, rc, "searching for a hash", err);
    sqlite3_reset(st);
    return out;
}

void sq_copy_col(sqlite3_stmt *st, int col, char *dst, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static void row_to_checkpoint(sqlite3_stmt *st, store_checkpoint *cp)
{
    memset(cp, 0, sizeof *cp);
    cp->number = sqlite3_column_int64(st, 0);
    sq_copy_col(st, 1, cp->kind, sizeof cp->kind);
    sq_copy_col(st, 2, cp->log_id, sizeof cp->log_id);
    cp->seq = sqlite3_column_int64(st, 3);
    sq_copy_col(st, 4, cp->head_hash, sizeof cp->head_hash);
    sq_copy_col(st, 5, cp->created_at, sizeof cp->created_at);
    sq_copy_col(st, 6, cp->prev_checkpoint_hash, sizeof cp->prev_checkpoint_hash);
    sq_copy_col(st, 7, cp->public_key, sizeof cp->public_key);
    sq_copy_col(st, 8, cp->signature, sizeof cp->signature);
    sq_copy_col(st, 9, cp->note, sizeof cp->note);
}

static int read_checkpoint(sqlite_store *s, int which, store_checkpoint *out,
                           const char *doing, char *err)
{
    int rc, code = STORE_OK;
    sqlite3_stmt *st = sq_stmt(s, which, &rc, err);
    if (!st) return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) row_to_checkpoint(st, out);
    else if (rc == SQLITE_DONE) code = STORE_ENOTFOUND;
    else code = sq_fail(s, rc, doing, err);
    sqlite3_reset(st);
    if (code == STORE_ENOTFOUND) snprintf(err, STORE_ERRLEN, "no checkpoint yet");
    return code;
}

int sq_last_checkpoint(store *st, store_checkpoint *out, char *err)
{
    sqlite_store *s = sq(st);
    return read_checkpoint(s, ST_LAST_CP, out, "reading checkpoints", err);
}

int sq_last_anchor(store *st, store_checkpoint *out, char *err)
{
    sqlite_store *s = sq(st);
    return read_checkpoint(s, ST_LAST_ANCHOR, out, "reading checkpoints", err);
}

int sq_each_checkpoint(store *store_, store_checkpoint_fn fn, void *ctx, char *err)
{
    sqlite_store *s = sq(store_);
    int rc;
    sqlite3_stmt *st = sq_stmt(s, ST_EACH_CP, &rc, err);
    if (!st) return rc;
    store_checkpoint cp;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_to_checkpoint(st, &cp);
        if (fn(ctx, &cp) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : sq_fail(s, rc, "reading checkpoints", err);
}

int sq_each_entry(store *store_, int64_t from, store_row_fn fn, void *ctx, char *err)
{
    sqlite_store *s = sq(store_);
    /* The walk's statement is prepared once and kept: a shipper walks a
    ** batch at a time, and preparing the statement cost it as much as
    ** reading 400 entries' columns.  The callback may use the other shared
    ** statements, and a walk inside the walk gets a statement of its own. */
    sqlite3_stmt *st = NULL;
    int own = s->each_busy, rc, code = STORE_OK;
    if (own) {
        rc = sqlite3_prepare_v2(s->db, sq_fixed_sql[ST_EACH_ENTRY], -1, &st, NULL);
        if (rc != SQLITE_OK) return sq_fail(s, rc, "reading entries", err);
    } else if (!(st = sq_stmt(s, ST_EACH_ENTRY, &code, err))) {
        return code;
    }
    s->each_busy = 1;
    sqlite3_bind_int64(st, 1, from);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        entry_row row;
        if ((code = sq_row(s, st, &row)) == STORE_OK) code = fn(ctx, &row);
        if (code != STORE_OK) break;
    }
    if (code > 0) code = STORE_OK;
    else if (code == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    else if (code == STORE_OK && rc != SQLITE_DONE) code = sq_fail(s, rc, "reading entries", err);
    if (own) {
        sqlite3_finalize(st);
    } else {
        sqlite3_reset(st);
        s->each_busy = 0;
    }
    return code;
}
int sq_prune(store *store_, const char *before, store_keep_fn keep, void *ctx, int64_t *last_seq,
             char last_hash[CHAIN_HEX_LEN], char *err)
{
    sqlite_store *s = sq(store_);
    sqlite3_stmt *st = NULL;
    static const char sql[] = "SELECT " SQ_ENTRY_COLUMNS " FROM audit_log a ORDER BY seq";
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), code = STORE_OK;
    if (rc != SQLITE_OK) return sq_fail(s, rc, "reading entries", err);
    store_raw_entry e;
    /* Only a prefix can go: the chain must stay unbroken after it. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        entry_row row;
        if (sq_row(s, st, &row) != STORE_OK) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            code = STORE_ENOMEM;
            goto done;
        }
        store_raw_of_row(&row, &e);
        if (!e.f.created_at || strcmp(e.f.created_at, before) >= 0) break;
        if (keep(ctx, &e) != 0) {
            snprintf(err, STORE_ERRLEN, "the archive could not be written; nothing was removed");
            code = STORE_EIO;
            goto done;
        }
        *last_seq = e.f.seq;
        chain_hex(e.hash, last_hash);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        code = sq_fail(s, rc, "reading entries", err);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (keep(ctx, NULL) != 0) {
        snprintf(err, STORE_ERRLEN, "the archive could not be made durable; nothing was removed");
        code = STORE_EIO;
        goto done;
    }
    if (*last_seq == 0) goto done;
    char del[128];
    snprintf(del, sizeof del, "DELETE FROM audit_log WHERE seq <= %lld",
             (long long)*last_seq);
    /* The one sanctioned removal lifts the trigger inside its own
    ** transaction: no other connection ever sees the table without it.
    ** Entries this transaction appended are indexed and counted first, so
    ** that the search index's delete trigger finds every row it removes
    ** and the recount below is not added to again at commit. */
    if ((code = sq_derived_sync(s, err)) ||
        (code = sq_exec(s, "DROP TRIGGER audit_log_no_delete", "starting retention", err)) ||
        (code = sq_exec(s, del, "removing old entries", err)) ||
        (code = sq_exec(s, sq_no_delete_trigger, "finishing retention", err)) ||
        (code = sq_exec(s, sq_rebuild_activity, "recounting activity", err)))
        goto done;
done:
    sqlite3_finalize(st);
    return code;
}

/* Run sql (binding a and b to ?1 and ?2 when the statement has them) and
** read the first column of the first row as an integer into *out.
** *found says whether there was a row (it may be NULL when a row is
** certain, e.g. for count(*)). */
static int one_int64(sqlite_store *s, const char *sql, int64_t a, int64_t b,
                     int64_t *out, int *found, const char *doing, char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src, doing, err);
        goto done;
    }
    if (sqlite3_bind_parameter_count(st) >= 1) sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, b);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        if (found) *found = 1;
    } else if (src == SQLITE_DONE) {
        *out = 0;
        if (found) *found = 0;
    } else {
        rc = sq_fail(s, src, doing, err);
    }
done:
    sqlite3_finalize(st);
    return rc;
}

int sq_seq_range(store *st, int64_t *first, int64_t *last, char *err)
{
    sqlite_store *s = sq(st);
    /* Two statements: a min() and a max() in one would scan the table. */
    int rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq ASC LIMIT 1",
                       0, 0, first, NULL, "reading the oldest entry", err);
    if (rc == STORE_OK)
        rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1",
                       0, 0, last, NULL, "reading the newest entry", err);
    return rc;
}

int sq_nth_newest_seq(store *st, int64_t n, int64_t *seq, char *err)
{
    sqlite_store *s = sq(st);
    int found = 0;
    if (n < 1) n = 1;
    int rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1 OFFSET ?1",
                       n - 1, 0, seq, &found, "reading the newest entries", err);
    if (rc == STORE_OK && !found)
        rc = one_int64(s, "SELECT seq FROM audit_log ORDER BY seq ASC LIMIT 1",
                       0, 0, seq, NULL, "reading the oldest entry", err);
    return rc;
}

/* created_at of the entry at seq into out ("" when there is none). */
static int created_at_of(sqlite_store *s, int64_t seq, char out[TS_BUFLEN], char *err)
{
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    out[0] = '\0';
    int src = sqlite3_prepare_v2(s->db, "SELECT created_at FROM audit_log WHERE seq = ?",
                                 -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src, "reading an entry's time", err);
        goto done;
    }
    sqlite3_bind_int64(st, 1, seq);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) sq_copy_col(st, 0, out, TS_BUFLEN);
    else if (src != SQLITE_DONE) rc = sq_fail(s, src, "reading an entry's time", err);
done:
    sqlite3_finalize(st);
    return rc;
}

/* Counts by event type (and the error total) from the per-day counters,
** plus the entries without a user, which those counters do not hold. */
static int stats_by_type(sqlite_store *s, store_stats *out, char *err)
{
    static const char sql[] =
        "SELECT event_type, sum(n) AS total, sum(e) FROM ("
        "  SELECT event_type, n, errors AS e FROM activity_daily"
        "  UNION ALL"
        "  SELECT event_type, 1, error IS NOT NULL FROM audit_log WHERE user_id IS NULL)"
        " GROUP BY event_type ORDER BY total DESC, event_type";
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src, "counting event types", err);
        goto done;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        out->errors += sqlite3_column_int64(st, 2);
        if (!cJSON_AddNumberToObject(out->by_event_type, type ? type : "",
                                     (double)sqlite3_column_int64(st, 1))) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    if (src != SQLITE_DONE) rc = sq_fail(s, src, "counting event types", err);
done:
    sqlite3_finalize(st);
    return rc;
}

static int stats_top_users(sqlite_store *s, int limit, store_stats *out, char *err)
{
    static const char sql[] =
        "SELECT user_id, sum(n) AS total, sum(errors) FROM activity_daily"
        " GROUP BY user_id ORDER BY total DESC, user_id LIMIT ?";
    sqlite3_stmt *st = NULL;
    int rc = STORE_OK;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(s, src, "counting users", err);
        goto done;
    }
    sqlite3_bind_int(st, 1, limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *u = cJSON_CreateObject();
        const char *user = (const char *)sqlite3_column_text(st, 0);
        if (!u || !cJSON_AddItemToArray(out->top_users, u) ||
            !cJSON_AddStringToObject(u, "user_id", user ? user : "") ||
            !cJSON_AddNumberToObject(u, "entries", (double)sqlite3_column_int64(st, 1)) ||
            !cJSON_AddNumberToObject(u, "errors", (double)sqlite3_column_int64(st, 2))) {
            snprintf(err, STORE_ERRLEN, "out of memory");
            rc = STORE_ENOMEM;
            goto done;
        }
    }
    if (src != SQLITE_DONE) rc = sq_fail(s, src, "counting users", err);
done:
    sqlite3_finalize(st);
    return rc;
}

/* The size of the write-ahead log beside the main file, 0 when absent. */
static int64_t wal_size(sqlite_store *s)
{
    const char *main_file = sqlite3_db_filename(s->db, "main");
    if (!main_file || !*main_file) return 0;
    size_t n = strlen(main_file) + 5;
    char *wal = malloc(n);
    struct stat st;
    int64_t size = 0;
    if (!wal) return 0;
    snprintf(wal, n, "%s-wal", main_file);
    if (stat(wal, &st) == 0) size = (int64_t)st.st_size;
    free(wal);
    return size;
}

int sq_get_stats(store *st, const char *log, int top_users, store_progress_fn progress,
                 void *ctx, store_stats *out, char *err)
{
    enum { CHUNK = 65536 };
    sqlite_store *s = sq(st);
    int rc, in_read = 0;
    int64_t pages = 0, page_size = 0, n;
    (void)log; /* one log: store.c asks for it alone */
    out->by_event_type = cJSON_CreateObject();
    out->top_users = cJSON_CreateArray();
    store_log_stats *l = out->logs = calloc(1, sizeof *out->logs);
    if (!out->by_event_type || !out->top_users || !l) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    out->n_logs = 1;
    memcpy(l->log_id, s->log_id, sizeof l->log_id);
    memcpy(l->name, s->log_name, sizeof l->name);
    /* One read transaction: every number describes the same moment. */
    if (!s->base.in_tx) {
        if ((rc = sq_exec(s, "BEGIN", "starting to read", err)) != STORE_OK) return rc;
        in_read = 1;
    }
    if ((rc = sq_seq_range(st, &l->first_seq, &l->last_seq, err)) != STORE_OK ||
        (rc = created_at_of(s, l->first_seq, l->first_created_at, err)) != STORE_OK ||
        (rc = created_at_of(s, l->last_seq, l->last_created_at, err)) != STORE_OK)
        goto done;
    if (l->last_seq > 0) {
        int64_t span = l->last_seq - l->first_seq + 1;
        for (int64_t from = l->first_seq; from <= l->last_seq; from += CHUNK) {
            int64_t to = from + CHUNK - 1 < l->last_seq ? from + CHUNK - 1 : l->last_seq;
            rc = one_int64(s, "SELECT count(*) FROM audit_log WHERE seq BETWEEN ?1 AND ?2",
                           from, to, &n, NULL, "counting entries", err);
            if (rc != STORE_OK) goto done;
            l->entries += n;
            if (progress) progress(ctx, to - l->first_seq + 1, span);
        }
    }
    if ((rc = sq_derived_sync(s, err)) != STORE_OK || /* inside a transaction */
        (rc = stats_by_type(s, out, err)) != STORE_OK ||
        (rc = stats_top_users(s, top_users, out, err)) != STORE_OK ||
        (rc = one_int64(s, "SELECT count(*) FROM checkpoints WHERE kind = 'checkpoint'",
                        0, 0, &l->checkpoints, NULL, "counting checkpoints", err)) ||
        (rc = one_int64(s, "SELECT count(*) FROM checkpoints WHERE kind = 'anchor'",
                        0, 0, &l->anchors, NULL, "counting anchors", err)) ||
        (rc = one_int64(s, "PRAGMA page_count", 0, 0, &pages, NULL,
                        "reading the database size", err)) ||
        (rc = one_int64(s, "PRAGMA page_size", 0, 0, &page_size, NULL,
                        "reading the database size", err)))
        goto done;
    l->errors = out->errors;
    out->entries = l->entries;
    out->checkpoints = l->checkpoints;
    out->anchors = l->anchors;
    memcpy(out->first_created_at, l->first_created_at, sizeof out->first_created_at);
    memcpy(out->last_created_at, l->last_created_at, sizeof out->last_created_at);
    out->db_bytes = pages * page_size;
    out->wal_bytes = wal_size(s);
done:
    if (in_read) sqlite3_exec(s->db, rc == STORE_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
