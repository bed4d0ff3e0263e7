/*
** floor.c: how fast SQLite alone can append audit rows on this machine.
**
**   bench_floor --db PATH --calls M [--batch 64] [--seed S] [--savepoints 1]
**   bench_floor --schema seed --db PATH --from TIERDB --calls M [--batch 64]
**   bench_floor --probe PATH [--count 200]
**
** The database is opened by store_open() from dss_core, so the schema,
** indexes and triggers are exactly the server's, whatever the migrations
** say today.  The floor then writes through that very connection: an
** SQLite auto-extension registered before store_open() hands this program
** the connection's sqlite3 handle, so every pragma store_open() sets
** (journal_mode=WAL, synchronous=FULL, the page cache, temp_store, ...)
** and its WAL hook (when the WAL is copied back into the database) apply
** to the floor as they do to the server, with no copy to drift.  The
** server's other copy, at quiet moments, never happens in a floor run:
** like the server under sustained load, it has none.
** The floor's own prepared INSERT stores what M log_operation calls store,
** --batch calls per BEGIN IMMEDIATE..COMMIT: for each call the entry (same
** generator, args scrubbed, ~600 bytes) and its tool_call record (the
** call's other arguments, and {"audit_id"} as its result), each with a fresh
** time-ordered id from the store's own generator (uuid7.h) and the current
** time; hash and prev_hash get a precomputed dummy value, so no hashing,
** JSON work or protocol handling is timed.
** Everything but the SQLite calls is prepared before the clock starts.
**
** Only audit_log is written, plus the search index and the activity
** counters, which the store brings up to date once per transaction just
** before COMMIT from the fields it noted of each row (store_testing.h);
** the floor runs the same code at the same moment.
**
** --savepoints 1 wraps each call's two rows in SAVEPOINT .. RELEASE, as
** serve's recorder wraps every call that writes (record.h): what that
** journal costs, next to the floor without it.
**
** Run it on a copy or at the end: the dummy hashes break the chain of the
** database it writes to.
**
** --schema seed measures the floor of the seed's schema instead (the
** reference the write target is a ratio of): PATH is made afresh
** with the seed's audit_log exactly as the seed declared it (id TEXT
** PRIMARY KEY and its four indexes: user, project, event type, date; no
** chain, no search index, no counters), with the same connection settings
** as the store's (WAL, synchronous=FULL, 16 MiB page cache,
** temp_store=FILE, the WAL copied back every 10,000 pages), and filled
** first with every entry of TIERDB (so it is as large as the tier it is compared
** with).  Then the same two rows per call, --batch calls per transaction.
**
** Prints one line: calls=... rows=... secs=... calls_per_s=... rows_per_s=...
** batch=...
**
** --probe measures the disk instead: --count times, one 4 KiB pwrite and
** fdatasync on the scratch file PATH (removed afterwards), and prints
** fsync_p50_ms=... fsync_p99_ms=...: how quiet the machine is, recorded
** next to the results.
*/
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "scrub/scrub.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "util/ts.h"
#include "util/uuid7.h"

#define POOL 4096

typedef struct row {
    const char *event_type;
    char operation_name[64], operation_id[48], user_id[16], project_id[16];
    char error[192];
    char *args, *result, *before, *after;
    char *record_args; /* the call's arguments without its payloads */
} row;

static void usage(void)
{
    fputs("usage: bench_floor --db PATH --calls M [--batch 64] [--seed S] [--savepoints 1]\n"
          "       bench_floor --schema seed --db PATH [--from TIERDB] --calls M"
          " [--batch 64]\n"
          "       bench_floor --probe PATH [--count 200]\n", stderr);
    exit(2);
}

static long long num_arg(const char *s)
{
    return gen_num_arg(s, usage);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

static int check(sqlite3 *db, int rc, int want, const char *doing)
{
    if (rc == want) return 0;
    fprintf(stderr, "floor: %s: %s\n", doing, sqlite3_errmsg(db));
    return -1;
}

/* Insert one row: seq, then the 13 text columns in table order (id ..
** client), and the dummy hashes. */
static int insert(sqlite3 *db, sqlite3_stmt *ins, int64_t seq, const char *const col[14])
{
    static const uint8_t dummy[32] = {0xab};
    sqlite3_bind_int64(ins, 1, seq);
    for (int c = 0; c < 13; c++) bind_text(ins, c + 2, col[c]);
    sqlite3_bind_blob(ins, 15, dummy, sizeof dummy, SQLITE_STATIC);
    sqlite3_bind_blob(ins, 16, dummy, sizeof dummy, SQLITE_STATIC);
    int rc = check(db, sqlite3_step(ins), SQLITE_DONE, "insert");
    sqlite3_reset(ins);
    return rc;
}



static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int probe(const char *path, long long count)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || count < 1) {
        fprintf(stderr, "floor: cannot create %s\n", path);
        return 1;
    }
    char page[4096];
    memset(page, 'x', sizeof page);
    double *t = calloc((size_t)count, sizeof *t);
    if (!t) return 1;
    for (long long i = 0; i < count; i++) {
        double t0 = gen_now_s();
        if (pwrite(fd, page, sizeof page, (off_t)(i % 16) * 4096) != sizeof page ||
            fdatasync(fd) != 0) {
            fprintf(stderr, "floor: writing %s failed\n", path);
            return 1;
        }
        t[i] = (gen_now_s() - t0) * 1000.0;
    }
    close(fd);
    unlink(path);
    qsort(t, (size_t)count, sizeof *t, cmp_double);
    printf("fsync_p50_ms=%.3f fsync_p99_ms=%.3f fsync_count=%lld\n",
           t[count / 2], t[(count * 99) / 100], count);
    free(t);
    return 0;
}

/* The seed's table and indexes, as its ensure_audit_log_table() made them. */
static const char seed_schema[] =
    "CREATE TABLE audit_log ("
    "  id TEXT PRIMARY KEY, event_type TEXT NOT NULL, operation_name TEXT NOT NULL,"
    "  operation_id TEXT, user_id TEXT, project_id TEXT, args TEXT, result TEXT,"
    "  error TEXT, before_state TEXT, after_state TEXT,"
    "  created_at TEXT DEFAULT CURRENT_TIMESTAMP);"
    "CREATE INDEX idx_audit_user ON audit_log(user_id);"
    "CREATE INDEX idx_audit_project ON audit_log(project_id);"
    "CREATE INDEX idx_audit_type ON audit_log(event_type);"
    "CREATE INDEX idx_audit_date ON audit_log(created_at);";

/* The store's connection settings (store_sqlite.c) on a plain connection. */
static const char seed_settings[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-16384;"
    "PRAGMA temp_store=FILE; PRAGMA wal_autocheckpoint=10000;"
    "PRAGMA journal_size_limit=67108864;";

/* A fresh database at path with the seed's schema, filled with every entry
** of the store database from (if any).  The open connection, or NULL. */
static sqlite3 *open_seed(const char *path, const char *from)
{
    sqlite3 *db = NULL;
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    if (check(db, sqlite3_open(path, &db), SQLITE_OK, "open") ||
        check(db, sqlite3_exec(db, seed_settings, NULL, NULL, NULL), SQLITE_OK, "settings") ||
        check(db, sqlite3_exec(db, seed_schema, NULL, NULL, NULL), SQLITE_OK, "schema"))
        return NULL;
    if (from) {
        char *sql = sqlite3_mprintf(
            "ATTACH %Q AS tier;"
            "INSERT INTO audit_log SELECT id, event_type, operation_name, operation_id,"
            " user_id, project_id, args, result, error, before_state, after_state,"
            " created_at FROM tier.audit_log ORDER BY seq;"
            "DETACH tier;", from);
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_free(sql);
        if (check(db, rc, SQLITE_OK, "copying the tier's entries") ||
            check(db, sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                                                NULL),
                  SQLITE_OK, "checkpoint"))
            return NULL;
    }
    return db;
}

/* The store's own connection to path (see the header comment), or NULL. */
static sqlite3 *open_store(const char *path, store **s)
{
    char err[STORE_ERRLEN];
    store_options so = {.path = path};
    store_testing_sqlite_configure(); /* before SQLite initializes, as in the server */
    gen_capture_connections();
    if (store_open(&so, s, err) != STORE_OK) {
        fprintf(stderr, "floor: cannot open %s: %s\n", path, err);
        return NULL;
    }
    sqlite3_reset_auto_extension();
    int n_captured;
    sqlite3 *db = gen_captured(&n_captured);
    if (!db || n_captured != 1) {
        /* With several connections there is no telling which one the
        ** store kept; better no floor than a wrong one. */
        fprintf(stderr, "floor: store_open opened %d connections, expected 1\n",
                n_captured);
        return NULL;
    }
    return db;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *probe_path = NULL, *schema = "store", *from = NULL;
    long long rows = -1, batch = 64, seed = 7, count = 200, savepoints = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--probe")) probe_path = argv[i + 1];
        else if (!strcmp(argv[i], "--count")) count = num_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--calls")) rows = num_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = num_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = num_arg(argv[i + 1]);
        else if (!strcmp(argv[i], "--schema")) schema = argv[i + 1];
        else if (!strcmp(argv[i], "--from")) from = argv[i + 1];
        else if (!strcmp(argv[i], "--savepoints")) savepoints = num_arg(argv[i + 1]);
        else usage();
    }
    if (argc % 2 != 1) usage();
    if (probe_path) return probe(probe_path, count);
    if (!path || rows < 1 || batch < 1) usage();
    int seed_schema_run = strcmp(schema, "seed") == 0;
    if (!seed_schema_run && strcmp(schema, "store") != 0) usage();

    store *s = NULL;
    sqlite3 *db = seed_schema_run ? open_seed(path, from) : open_store(path, &s);
    if (!db) return 1;

    sqlite3_stmt *head = NULL, *ins = NULL;
    store_testing_derived *derived = NULL;
    int64_t seq = 0;
    if (seed_schema_run) {
        /* The seed's columns: no seq, client or hashes. */
        if (check(db, sqlite3_prepare_v3(
                          db,
                          "INSERT INTO audit_log (id, event_type, operation_name,"
                          " operation_id, user_id, project_id, args, result, error,"
                          " before_state, after_state, created_at)"
                          " VALUES (?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                          -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL),
                  SQLITE_OK, "prepare insert"))
            return 1;
    } else {
        if (check(db, sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM audit_log",
                                         -1, &head, NULL), SQLITE_OK, "prepare") ||
            check(db, sqlite3_step(head), SQLITE_ROW, "max(seq)"))
            return 1;
        seq = sqlite3_column_int64(head, 0);
        sqlite3_finalize(head);
        if (check(db, sqlite3_prepare_v3(
                          db,
                          "INSERT INTO audit_log (seq, id, event_type, operation_name,"
                          " operation_id, user_id, project_id, args, result, error,"
                          " before_state, after_state, created_at, client, prev_hash,"
                          " hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                          -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL),
                  SQLITE_OK, "prepare insert"))
            return 1;
        if (!(derived = store_testing_sqlite_derived_new())) {
            fprintf(stderr, "floor: out of memory\n");
            return 1;
        }
    }

    /* Everything but SQLite, before the clock starts. */
    int npool = rows < POOL ? (int)rows : POOL;
    row *pool = calloc((size_t)npool, sizeof *pool);
    /* Two ids and one record result per call. */
    char (*ids)[UUID7_BUFLEN] = malloc((size_t)rows * 2 * sizeof *ids);
    char (*results)[64] = malloc((size_t)rows * sizeof *results);
    if (!pool || !ids || !results) {
        fputs("floor: out of memory\n", stderr);
        return 1;
    }
    gen_rng rng;
    gen_seed(&rng, (uint64_t)seed);
    for (int i = 0; i < npool; i++) {
        gen_entry e;
        if (gen_entry_make(&rng, &e) != 0) return 1;
        row *r = &pool[i];
        r->event_type = e.event_type;
        memcpy(r->operation_name, e.operation_name, sizeof r->operation_name);
        memcpy(r->operation_id, e.operation_id, sizeof r->operation_id);
        memcpy(r->user_id, e.user_id, sizeof r->user_id);
        memcpy(r->project_id, e.project_id, sizeof r->project_id);
        memcpy(r->error, e.error, sizeof r->error);
        r->args = gen_scrubbed(e.args);
        r->result = gen_scrubbed(e.result);
        r->before = gen_scrubbed(e.before);
        r->after = gen_scrubbed(e.after);
        r->record_args = gen_record_args(&e);
        gen_entry_free(&e);
        if (!r->record_args) return 1;
    }
    /* Made now, they sort after every id already stored, as the ids the
    ** server makes while the floor would run. */
    for (long long i = 0; i < 2 * rows; i++) uuid7_next(ts_now_us() / 1000, ids[i]);
    for (long long i = 0; i < rows; i++)
        snprintf(results[i], sizeof results[i], "{\"audit_id\":\"%s\"}", ids[2 * i]);

    double t0 = gen_now_s();
    long long done = 0;
    while (done < rows) {
        long long n = rows - done < batch ? rows - done : batch;
        if (check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                  SQLITE_OK, "begin"))
            return 1;
        for (long long j = 0; j < n; j++) {
            const row *r = &pool[(done + j) % npool];
            char created[TS_BUFLEN], opid[24];
            ts_format(ts_now_us(), created);
            snprintf(opid, sizeof opid, "%lld", done + j + 1);
            const char *entry[14] = {
                ids[2 * (done + j)], r->event_type, r->operation_name, r->operation_id,
                r->user_id, r->project_id, r->args ? r->args : "{}", r->result,
                r->error[0] ? r->error : NULL, r->before, r->after, created, GEN_CLIENT};
            const char *record[14] = {
                ids[2 * (done + j) + 1], "tool_call", "log_operation", opid,
                GEN_ACTOR, r->project_id, r->record_args, results[done + j],
                NULL, NULL, NULL, created, GEN_CLIENT};
            if (savepoints && check(db, sqlite3_exec(db, "SAVEPOINT call", NULL, NULL, NULL),
                                    SQLITE_OK, "savepoint"))
                return 1;
            if (insert(db, ins, ++seq, entry) || insert(db, ins, ++seq, record)) return 1;
            /* The store notes each row's fields for the search index and
            ** the counters as it inserts it; so does the floor. */
            if (derived &&
                (store_testing_sqlite_derived_add(derived, seq - 1, entry[2], entry[8], entry[4],
                                                  entry[5], entry[11], entry[1]) ||
                 store_testing_sqlite_derived_add(derived, seq, record[2], record[8], record[4],
                                                  record[5], record[11], record[1]))) {
                fprintf(stderr, "floor: out of memory\n");
                return 1;
            }
            if (savepoints && check(db, sqlite3_exec(db, "RELEASE call", NULL, NULL, NULL),
                                    SQLITE_OK, "release"))
                return 1;
        }
        /* The store feeds a transaction's entries to the search index and
        ** the counters just before its COMMIT, with this very code; so
        ** does the floor. */
        if (derived && check(db, store_testing_sqlite_derived_flush(derived, db), SQLITE_OK,
                             "search index and counters"))
            return 1;
        if (check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK, "commit"))
            return 1;
        done += n;
    }
    double secs = gen_now_s() - t0;
    printf("calls=%lld rows=%lld secs=%.3f calls_per_s=%.0f rows_per_s=%.0f batch=%lld"
           " schema=%s\n",
           done, 2 * done, secs, (double)done / secs, 2.0 * (double)done / secs, batch,
           schema);

    sqlite3_finalize(ins);
    store_testing_sqlite_derived_free(derived);
    if (s) store_close(s);
    else sqlite3_close(db);
    for (int i = 0; i < npool; i++) {
        cJSON_free(pool[i].args);
        cJSON_free(pool[i].result);
        cJSON_free(pool[i].before);
        cJSON_free(pool[i].after);
        cJSON_free(pool[i].record_args);
    }
    free(pool);
    free(ids);
    free(results);
    return 0;
}
