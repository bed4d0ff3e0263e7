/*
** store_pg_scan.c: the PostgreSQL backend's walks over one log: the
** chain's head and hashes, checkpoints, every entry in seq order (verify,
** ship), retention, and the check that the append-only triggers still
** stand (for verify).
**
** Entries of every log share the monthly range partitions of
** dss_audit.entries, and row triggers refuse DELETE, so the only removal
** is dropping a whole partition.  pgs_prune() works on the selected
** log, as the contract says: it hands that log's oldest entries created
** before the month of `before` (so: lying in partitions wholly before it)
** to the keep callback, and reports the newest of them, for the caller to
** record the retention anchor (archive_prune() does, in the same
** transaction).  Then it drops every such partition once every log with
** rows in it has been pruned past them: the selected log by this call,
** the others by their own retention anchors.  So `prune` over all logs,
** one call per log, drops the partitions with the last call; until then a
** pruned log's old rows stay in place below its anchor, which verify
** skips on this backend (verify.c).
**
** DETACH and DROP need the owner of dss_audit.entries: prune runs as the
** schema's owner role (docs/postgres.md), never as a writer.  DETACH
** PARTITION CONCURRENTLY cannot run inside a transaction block, and the
** drop must commit together with the anchor, so the plain DETACH is used:
** it locks the parent table for a moment, and writers wait that moment.
*/
#include "../../util/utf8.h"
#include "store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_checkpoint(const PGresult *r, int row, store_checkpoint *cp)
{
    cp->number = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    snprintf(cp->kind, sizeof cp->kind, "%s", PQgetvalue(r, row, 1));
    snprintf(cp->log_id, sizeof cp->log_id, "%s", PQgetvalue(r, row, 2));
    cp->seq = strtoll(PQgetvalue(r, row, 3), NULL, 10);
    snprintf(cp->head_hash, sizeof cp->head_hash, "%s", PQgetvalue(r, row, 4));
    snprintf(cp->created_at, sizeof cp->created_at, "%s", PQgetvalue(r, row, 5));
    snprintf(cp->prev_checkpoint_hash, sizeof cp->prev_checkpoint_hash, "%s",
             PQgetvalue(r, row, 6));
    snprintf(cp->public_key, sizeof cp->public_key, "%s", PQgetvalue(r, row, 7));
    snprintf(cp->signature, sizeof cp->signature, "%s", PQgetvalue(r, row, 8));
    snprintf(cp->note, sizeof cp->note, "%s", PQgetvalue(r, row, 9));
}

/* The reads below run after every group commit (the recorder's checkpoint
** test) and in every verify: each is prepared and planned once per
** connection (pgs_run()). */
static int one_checkpoint(pg_store *s, int slot, const char *sql, store_checkpoint *out,
                          const char *doing, char *err)
{
    int rc = pgs_need_log(s, err);
    if (rc != STORE_OK) return rc;
    const char *p[1] = {s->sel_id};
    PGresult *r = pgs_run(s, slot, sql, 1, p, &rc, doing, err);
    if (!r) return rc;
    if (PQntuples(r) == 0) {
        pgs_errf(err, "log %s has no checkpoint", s->sel_id);
        rc = STORE_ENOTFOUND;
    } else {
        copy_checkpoint(r, 0, out);
    }
    PQclear(r);
    return rc;
}

int pgs_last_checkpoint(store *s, store_checkpoint *out, char *err)
{
    return one_checkpoint(pgs(s), PG_SLOT_LAST_CHECKPOINT,
                          "SELECT " PG_CHECKPOINT_COLUMNS " FROM dss_audit.checkpoints"
                          " WHERE log_id = $1 ORDER BY number DESC LIMIT 1",
                          out, "reading the last checkpoint", err);
}

int pgs_last_anchor(store *s, store_checkpoint *out, char *err)
{
    return one_checkpoint(pgs(s), PG_SLOT_LAST_ANCHOR,
                          "SELECT " PG_CHECKPOINT_COLUMNS " FROM dss_audit.checkpoints"
                          " WHERE log_id = $1 AND kind = 'anchor'"
                          " ORDER BY number DESC LIMIT 1",
                          out, "reading the retention anchor", err);
}

int pgs_head(store *st, int64_t *seq, char hash[CHAIN_HEX_LEN], char *err)
{
    pg_store *s = pgs(st);
    *seq = 0;
    uint8_t h[CHAIN_HASH_BYTES] = {0};
    int rc = pgs_need_log(s, err);
    if (rc != STORE_OK) return rc;
    const char *p[1] = {s->sel_id};
    PGresult *r = pgs_run(s, PG_SLOT_HEAD_READ,
                          "SELECT seq, hash FROM dss_audit.entries WHERE log_id = $1"
                          " ORDER BY seq DESC LIMIT 1",
                          1, p, &rc, "reading the chain head", err);
    if (!r) return rc;
    int found = PQntuples(r) == 1;
    if (found) {
        *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        pgs_bytea(PQgetvalue(r, 0, 1), h, CHAIN_HASH_BYTES);
    }
    PQclear(r);
    if (!found) {
        /* Retention removed every entry: the chain continues from its anchor. */
        store_checkpoint a;
        rc = pgs_last_anchor(st, &a, err);
        if (rc == STORE_OK) {
            *seq = a.seq;
            snprintf(hash, CHAIN_HEX_LEN, "%s", a.head_hash);
            return STORE_OK;
        }
        if (rc != STORE_ENOTFOUND) return rc;
    }
    chain_hex(h, hash);
    return STORE_OK;
}

int pgs_hash_at(store *st, int64_t seq, char hash[CHAIN_HEX_LEN], char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_need_log(s, err);
    if (rc != STORE_OK) return rc;
    char n[24];
    pgs_int_text(seq, n);
    const char *p[2] = {s->sel_id, n};
    PGresult *r = pgs_run(s, PG_SLOT_HASH_AT,
                          "SELECT hash FROM dss_audit.entries WHERE log_id = $1 AND seq = $2",
                          2, p, &rc, "reading an entry's hash", err);
    if (!r) return rc;
    if (PQntuples(r) == 0) {
        pgs_errf(err, "log %s has no entry %lld", s->sel_id, (long long)seq);
        rc = STORE_ENOTFOUND;
    } else {
        uint8_t h[CHAIN_HASH_BYTES];
        pgs_bytea(PQgetvalue(r, 0, 0), h, CHAIN_HASH_BYTES);
        chain_hex(h, hash);
    }
    PQclear(r);
    return rc;
}

int pgs_find_hash(store *st, const uint8_t hash[CHAIN_HASH_BYTES], int64_t *seq, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char h[2 * CHAIN_HASH_BYTES + 4];
    pgs_bytea_text(hash, CHAIN_HASH_BYTES, h);
    const char *p[2] = {s->sel_id, h};
    PGresult *r = NULL;
    rc = pgs_query(s,
                   "SELECT seq FROM dss_audit.entries WHERE log_id = $1 AND hash = $2::bytea"
                   " ORDER BY seq LIMIT 1",
                   2, p, &r, "looking for a hash", err);
    if (rc != STORE_OK) return rc;
    if (PQntuples(r) == 0) {
        pgs_errf(err, "no entry of log %s has that hash", s->sel_id);
        rc = STORE_ENOTFOUND;
    } else {
        *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    return rc;
}

int pgs_each_checkpoint(store *st, int64_t after, store_checkpoint_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    /* In chunks, so the callback may use the store between them. */
    for (;;) {
        char n[24];
        pgs_int_text(after, n);
        const char *p[2] = {s->sel_id, n};
        PGresult *r = NULL;
        rc = pgs_query(s,
                       "SELECT " PG_CHECKPOINT_COLUMNS " FROM dss_audit.checkpoints"
                       " WHERE log_id = $1 AND number > $2 ORDER BY number LIMIT 1000",
                       2, p, &r, "reading the checkpoints", err);
        if (rc != STORE_OK) return rc;
        int rows = PQntuples(r), stop = 0;
        for (int i = 0; i < rows && !stop; i++) {
            store_checkpoint cp;
            copy_checkpoint(r, i, &cp);
            after = cp.number;
            stop = fn(ctx, &cp) != 0;
        }
        PQclear(r);
        if (stop || rows < 1000) return STORE_OK;
    }
}

int pgs_each_entry(store *st, int64_t from, store_row_fn fn, void *ctx, char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    for (;;) {
        char n[24];
        pgs_int_text(from, n);
        const char *p[2] = {s->sel_id, n};
        PGresult *r = NULL;
        rc = pgs_query(s,
                       "SELECT " PG_ENTRY_COLUMNS " FROM dss_audit.entries e"
                       " WHERE log_id = $1 AND seq >= $2 ORDER BY seq LIMIT 1000",
                       2, p, &r, "reading entries", err);
        if (rc != STORE_OK) return rc;
        int rows = PQntuples(r), stop = 0;
        for (int i = 0; i < rows && !stop; i++) {
            entry_row row;
            pgs_row(r, i, &row);
            from = row.seq + 1;
            stop = fn(ctx, &row);
        }
        PQclear(r);
        if (stop < 0) return stop;
        if (stop || rows < 1000) return STORE_OK;
    }
}

static int one_int64(pg_store *s, const char *sql, int64_t a, int64_t *out,
                     const char *doing, char *err)
{
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    char n[24];
    pgs_int_text(a, n);
    const char *p[2] = {s->sel_id, n};
    PGresult *r = NULL;
    rc = pgs_query(s, sql, 2, p, &r, doing, err);
    if (rc != STORE_OK) return rc;
    *out = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return STORE_OK;
}

int pgs_seq_range(store *st, int64_t *first, int64_t *last, char *err)
{
    pg_store *s = pgs(st);
    *first = *last = 0;
    int rc = one_int64(s,
                       "SELECT seq FROM dss_audit.entries WHERE log_id = $1 AND $2::bigint = 0"
                       " ORDER BY seq LIMIT 1",
                       0, first, "reading the oldest entry", err);
    if (rc == STORE_OK)
        rc = one_int64(s,
                       "SELECT seq FROM dss_audit.entries WHERE log_id = $1 AND $2::bigint = 0"
                       " ORDER BY seq DESC LIMIT 1",
                       0, last, "reading the newest entry", err);
    return rc;
}

int pgs_nth_newest_seq(store *st, int64_t n, int64_t *seq, char *err)
{
    pg_store *s = pgs(st);
    *seq = 0;
    if (n < 1) n = 1;
    int rc = one_int64(s,
                       "SELECT seq FROM dss_audit.entries WHERE log_id = $1"
                       " ORDER BY seq DESC OFFSET $2::bigint - 1 LIMIT 1",
                       n, seq, "finding the n-th newest entry", err);
    if (rc == STORE_OK && *seq == 0) {
        int64_t last;
        rc = pgs_seq_range(st, seq, &last, err);
    }
    return rc;
}


/* Entries read per round trip while looking for the prefix to go. */
#define PRUNE_CHUNK 1000
#define STR_(x) #x
#define STR(x) STR_(x)

/* Whether name is a partition name ensure_partition() makes:
** entries_YYYY_MM (so it can be put in SQL text as it is). */
static int partition_name(const char *name)
{
    static const char pat[] = "entries_dddd_dd";
    if (strlen(name) != sizeof pat - 1) return 0;
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (name[i] < '0' || name[i] > '9') : name[i] != pat[i]) return 0;
    }
    return 1;
}

/* The newest retention anchor's seq of log_id, 0 when none. */
static int anchor_seq(pg_store *s, const char *log_id, int64_t *seq, char *err)
{
    PGresult *r = NULL;
    const char *p[] = {log_id};
    int rc = pgs_query(s,
                       "SELECT coalesce(max(seq), 0) FROM dss_audit.checkpoints"
                       " WHERE log_id = $1 AND kind = 'anchor'",
                       1, p, &r, "reading the retention anchor", err);
    if (rc != STORE_OK) return rc;
    *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return STORE_OK;
}

/* Hand the selected log's entries after `after` created before month b to
** keep, oldest first, stopping at the first one that is not; the newest
** handed over goes to *last_seq / last_hash. */
static int gather(pg_store *s, int64_t after, const char *b, store_keep_fn keep, void *ctx,
                  int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err)
{
    char from[24];
    for (;;) {
        PGresult *r = NULL;
        snprintf(from, sizeof from, "%lld", (long long)after);
        const char *p[] = {s->sel_id, from};
        int rc = pgs_query(s,
                           "SELECT " PG_ENTRY_COLUMNS " FROM dss_audit.entries e"
                           " WHERE log_id = $1 AND seq > $2::bigint ORDER BY seq"
                           " LIMIT " STR(PRUNE_CHUNK),
                           2, p, &r, "reading entries to prune", err);
        if (rc != STORE_OK) return rc;
        int n = PQntuples(r), stop = n < PRUNE_CHUNK;
        for (int i = 0; i < n; i++) {
            entry_row row;
            store_raw_entry e;
            pgs_row(r, i, &row);
            store_raw_of_row(&row, &e);
            if (!e.f.created_at || strcmp(e.f.created_at, b) >= 0) {
                stop = 1;
                break;
            }
            if (keep(ctx, &e) != 0) {
                PQclear(r);
                snprintf(err, STORE_ERRLEN,
                         "the archive could not be written; nothing was removed");
                return STORE_EIO;
            }
            *last_seq = after = e.f.seq;
            chain_hex(e.hash, last_hash);
        }
        PQclear(r);
        if (stop) return STORE_OK;
    }
}

/* Drop each partition wholly before month b whose every row lies at or
** below its log's retention point (the selected log's: upto).  Sets
** *dropped to the number dropped. */
static int drop_partitions(pg_store *s, const char *b, int64_t upto, int *dropped, char *err)
{
    PGresult *parts = NULL;
    const char *p[] = {b};
    *dropped = 0;
    int rc = pgs_query(s,
                       "SELECT c.relname FROM pg_inherits i"
                       " JOIN pg_class c ON c.oid = i.inhrelid"
                       " WHERE i.inhparent = 'dss_audit.entries'::regclass"
                       " AND replace(substr(c.relname, 9), '_', '-') < $1"
                       " ORDER BY c.relname",
                       1, p, &parts, "listing the partitions of entries", err);
    if (rc != STORE_OK) return rc;
    char upto_text[24];
    snprintf(upto_text, sizeof upto_text, "%lld", (long long)upto);
    for (int i = 0; i < PQntuples(parts) && rc == STORE_OK; i++) {
        const char *name = PQgetvalue(parts, i, 0);
        if (!partition_name(name)) continue; /* not ours: never touched */
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "WITH pruned AS (SELECT log_id, max(seq) AS upto"
                 "  FROM dss_audit.checkpoints WHERE kind = 'anchor' GROUP BY log_id)"
                 " SELECT EXISTS (SELECT 1 FROM dss_audit.%s e"
                 "  LEFT JOIN pruned p ON p.log_id = e.log_id"
                 "  WHERE e.seq > CASE WHEN e.log_id = $1 THEN $2::bigint"
                 "                ELSE coalesce(p.upto, 0) END)",
                 name);
        const char *q[] = {s->sel_id, upto_text};
        PGresult *r = NULL;
        rc = pgs_query(s, sql, 2, q, &r, "checking a partition before dropping it", err);
        if (rc != STORE_OK) break;
        int kept = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (kept) continue; /* another log still needs it */
        snprintf(sql, sizeof sql,
                 "ALTER TABLE dss_audit.entries DETACH PARTITION dss_audit.%s;"
                 " DROP TABLE dss_audit.%s",
                 name, name);
        rc = pgs_exec(s, sql, "dropping an old partition", err);
        if (rc != STORE_OK) {
            char why[STORE_ERRLEN];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, STORE_ERRLEN,
                     "%.*s (prune drops partitions: run it as the schema's owner role)",
                     utf8_cut(why, 180), why);
            break;
        }
        (*dropped)++;
    }
    PQclear(parts);
    return rc;
}

/* The activity counters before month b, counted again from the entries
** still stored (as SQLite's retention recounts): the hours from the
** entries, the days from the hours (as the trigger sums them), so the
** entries are read once for both. */
static int recount_activity(pg_store *s, const char *b, char *err)
{
    static const char *const steps[] = {
        "DELETE FROM dss_audit.activity_hourly WHERE hour < $1",
        "INSERT INTO dss_audit.activity_hourly"
        " SELECT log_id, user_id, substr(created_at, 1, 13), event_type,"
        "  count(*), count(error) FROM dss_audit.entries"
        " WHERE created_at < $1 AND user_id IS NOT NULL GROUP BY 1, 2, 3, 4",
        "DELETE FROM dss_audit.activity_daily WHERE day < $1",
        "INSERT INTO dss_audit.activity_daily"
        " SELECT log_id, user_id, substr(hour, 1, 10), event_type, sum(n), sum(errors)"
        " FROM dss_audit.activity_hourly WHERE hour < $1 GROUP BY 1, 2, 3, 4",
        "DELETE FROM dss_audit.activity_projects WHERE last_seen < $1",
        "INSERT INTO dss_audit.activity_projects"
        " SELECT log_id, user_id, project_id, max(created_at)"
        " FROM dss_audit.entries WHERE created_at < $1"
        " AND user_id IS NOT NULL AND project_id IS NOT NULL GROUP BY 1, 2, 3"
        " ON CONFLICT (log_id, user_id, project_id) DO NOTHING",
    };
    const char *p[] = {b};
    int rc = STORE_OK;
    for (size_t i = 0; rc == STORE_OK && i < sizeof steps / sizeof *steps; i++)
        rc = pgs_query(s, steps[i], 1, p, NULL, "recounting activity", err);
    return rc;
}

/* Every trigger the schema relies on for append-only, with its table;
** each partition of entries carries the two of entries (the row trigger
** cloned by PostgreSQL, the TRUNCATE one made by ensure_partition()).  A
** disabled trigger (ALTER TABLE ... DISABLE TRIGGER) counts as missing. */
static const char missing_guards_sql[] =
    "WITH want(rel, tg) AS ("
    "  VALUES ('dss_audit.entries'::regclass, 'entries_no_change'),"
    "   ('dss_audit.entries'::regclass, 'entries_no_truncate'),"
    "   ('dss_audit.checkpoints'::regclass, 'checkpoints_no_change'),"
    "   ('dss_audit.checkpoints'::regclass, 'checkpoints_no_truncate'),"
    "   ('dss_audit.logs'::regclass, 'logs_guard'),"
    "   ('dss_audit.logs'::regclass, 'logs_no_truncate'),"
    "   ('dss_audit.tree'::regclass, 'tree_no_change'),"
    "   ('dss_audit.tree'::regclass, 'tree_no_truncate'),"
    "   ('dss_audit.cosignatures'::regclass, 'cosignatures_no_change'),"
    "   ('dss_audit.cosignatures'::regclass, 'cosignatures_no_truncate')"
    "  UNION ALL"
    "  SELECT i.inhrelid::regclass, v.tg FROM pg_inherits i,"
    "   (VALUES ('entries_no_change'), ('entries_no_truncate')) v(tg)"
    "  WHERE i.inhparent = 'dss_audit.entries'::regclass)"
    " SELECT coalesce(string_agg(w.tg || ' on ' || w.rel::text, ', '"
    "  ORDER BY w.rel::text, w.tg), '')"
    " FROM want w LEFT JOIN pg_trigger t"
    "  ON t.tgrelid = w.rel AND t.tgname = w.tg AND t.tgenabled <> 'D'"
    " WHERE t.oid IS NULL";

int pgs_missing_guards(store *st, char *what, size_t len, char *err)
{
    pg_store *s = pgs(st);
    PGresult *r = NULL;
    if (len) what[0] = '\0';
    int rc = pgs_ready(s, err);
    if (rc == STORE_OK)
        rc = pgs_query(s, missing_guards_sql, 0, NULL, &r, "checking the append-only triggers",
                       err);
    if (rc != STORE_OK) return rc;
    snprintf(what, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return STORE_OK;
}

int pgs_prune(store *st, const char *before, store_keep_fn keep, void *ctx, int64_t *last_seq,
              char last_hash[CHAIN_HEX_LEN], char *err)
{
    pg_store *s = pgs(st);
    int rc = pgs_ready_log(s, err);
    if (rc != STORE_OK) return rc;
    /* Only whole partitions go: the month of `before` ("YYYY-MM") bounds
    ** them, and in text order every created_at of an earlier month sorts
    ** before it. */
    char b[8];
    if (strlen(before) < 7) {
        snprintf(err, STORE_ERRLEN, "not a time: %s", before);
        return STORE_EINVAL;
    }
    memcpy(b, before, 7);
    b[7] = '\0';
    int64_t after = 0;
    if ((rc = anchor_seq(s, s->sel_id, &after, err)) != STORE_OK) return rc;
    if ((rc = gather(s, after, b, keep, ctx, last_seq, last_hash, err)) != STORE_OK) {
        *last_seq = 0;
        last_hash[0] = '\0';
        return rc;
    }
    if (keep(ctx, NULL) != 0) {
        *last_seq = 0;
        last_hash[0] = '\0';
        snprintf(err, STORE_ERRLEN, "the archive could not be made durable; nothing was removed");
        return STORE_EIO;
    }
    if (*last_seq == 0) return STORE_OK;
    int dropped = 0;
    rc = drop_partitions(s, b, *last_seq, &dropped, err);
    if (rc == STORE_OK && dropped) rc = recount_activity(s, b, err);
    if (rc == STORE_OK && dropped) s->nmonths = 0; /* the month cache may name them */
    return rc;
}
