/*
** prefill.c: fill an audit database with N realistic entries through the
** server's own storage code.
**
**   bench_prefill --db PATH --count N [--batch 10000] [--span-days 90]
**                 [--seed S] [--now] [--cache-mb 256] [--no-tree]
**
** Every entry goes through scrub_tree() and store_append() exactly as a
** log_operation call does, inside store_begin()/store_commit() transactions
** of --batch entries, so the rows carry real ids and a real hash chain.
**
** Timestamps: store_append() stamps created_at with ts_now_us().  This
** program is linked with -Wl,--wrap=ts_now_us (see CMakeLists.txt), which
** routes the store's clock through __wrap_ts_now_us() below, so that the
** entries are spread evenly over the last --span-days days, oldest first
** (created_at grows with seq, as in a real log).  The storage code itself
** is untouched.  --now turns this off (every entry is stamped "now").  The
** program checks the first receipt and says on stdout which clock took
** effect (clock=backdated or clock=now).
**
** Two settings speed the fill up without changing what is written; they are
** applied, after store_open() has set its own, to the store's connection,
** which an SQLite auto-extension hands this program as it is opened:
** --cache-mb enlarges SQLite's page cache, and temp_store=MEMORY keeps
** statement journals in memory.  (The AFTER INSERT triggers make every
** INSERT open a statement journal; in a 10,000-row transaction it spills to
** a temporary file, ~30 extra pwrite calls per row.)
**
** At the end the search index is merged into one segment (FTS5 'optimize'),
** see the comment there.
**
** --no-tree appends without keeping the log's Merkle tree
** (store_testing_tree_off()), to measure what keeping it costs (bench/run
** --tlog); such a database is for that measurement only (its tree is built
** again when a writable store next opens it).
**
** Prints one line: rows=... secs=... rows_per_s=... first=... last=...
** clock=...
*/
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "scrub/scrub.h"
#include "store/chain.h"
#include "store/store.h"
#include "store/store_testing.h"
#include "util/ts.h"

/* The clock the store sees; see the header comment. */
int64_t __real_ts_now_us(void);
int64_t __wrap_ts_now_us(void);

static int64_t fake_now = -1;

int64_t __wrap_ts_now_us(void)
{
    return fake_now >= 0 ? fake_now : __real_ts_now_us();
}

static int cache_kib = 256 * 1024;


static void usage(void)
{
    fputs("usage: bench_prefill --db PATH --count N [--batch 10000] "
          "[--span-days 90] [--seed S] [--now] [--cache-mb 256] [--no-tree]\n", stderr);
    exit(2);
}

static long long num_arg(const char *s)
{
    return gen_num_arg(s, usage);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long long count = -1, batch = 10000, span_days = 90, seed = 1;
    int backdate = 1, no_tree = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--now")) { backdate = 0; continue; }
        if (!strcmp(a, "--no-tree")) { no_tree = 1; continue; }
        if (!v) usage();
        if (!strcmp(a, "--db")) path = v;
        else if (!strcmp(a, "--count")) count = num_arg(v);
        else if (!strcmp(a, "--batch")) batch = num_arg(v);
        else if (!strcmp(a, "--span-days")) span_days = num_arg(v);
        else if (!strcmp(a, "--seed")) seed = num_arg(v);
        else if (!strcmp(a, "--cache-mb")) cache_kib = (int)num_arg(v) * 1024;
        else usage();
        i++;
    }
    if (!path || count < 0 || batch < 1) usage();

    if (chain_init() != 0) {
        fputs("prefill: libsodium failed to initialize\n", stderr);
        return 1;
    }
    gen_capture_connections();
    char err[STORE_ERRLEN];
    store *st = NULL;
    store_options so = {.path = path};
    if (store_open(&so, &st, err) != STORE_OK) {
        fprintf(stderr, "prefill: cannot open %s: %s\n", path, err);
        return 1;
    }
    sqlite3_reset_auto_extension();
    if (no_tree) store_testing_tree_off(st, 1);
    /* The store's connection, so that the fill can enlarge its cache after
    ** store_open() has set its own. */
    int n_captured;
    sqlite3 *captured = gen_captured(&n_captured);
    if (n_captured == 1) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d; PRAGMA temp_store=MEMORY",
                 cache_kib);
        sqlite3_exec(captured, sql, NULL, NULL, NULL);
    } else {
        fprintf(stderr, "prefill: store_open opened %d connections; "
                        "keeping its cache settings\n", n_captured);
    }

    int64_t end_us = __real_ts_now_us();
    int64_t span_us = (int64_t)span_days * INT64_C(86400000000);
    int64_t start_us = end_us - span_us;
    gen_rng rng;
    gen_seed(&rng, (uint64_t)seed);
    char first[TS_BUFLEN] = "", last[TS_BUFLEN] = "";
    const char *clock = backdate ? "backdated" : "now";
    double t0 = gen_now_s(), tlast = t0;
    long long done = 0;
    int rc = 0;

    while (done < count && rc == 0) {
        if (store_begin(st, err) != STORE_OK) {
            fprintf(stderr, "prefill: begin: %s\n", err);
            rc = 1;
            break;
        }
        long long n = count - done < batch ? count - done : batch;
        for (long long j = 0; j < n; j++) {
            long long i = done + j;
            if (backdate)
                fake_now = start_us + (int64_t)((double)span_us * (double)i /
                                                (double)count);
            gen_entry e;
            if (gen_entry_make(&rng, &e) != 0) {
                fputs("prefill: out of memory\n", stderr);
                rc = 1;
                break;
            }
            char *args = gen_scrubbed(e.args), *result = gen_scrubbed(e.result),
                 *before = gen_scrubbed(e.before), *after = gen_scrubbed(e.after);
            store_record rec = {
                .event_type = e.event_type,
                .operation_name = e.operation_name,
                .operation_id = e.operation_id,
                .user_id = e.user_id,
                .project_id = e.project_id,
                .args = args ? args : "{}",
                .result = result,
                .error = e.error[0] ? e.error : NULL,
                .before_state = before,
                .after_state = after,
                .client = GEN_CLIENT,
            };
            store_receipt r;
            if (store_append(st, &rec, &r, err) != STORE_OK) {
                fprintf(stderr, "prefill: append: %s\n", err);
                rc = 1;
            }
            if (rc == 0 && i == 0) {
                memcpy(first, r.created_at, TS_BUFLEN);
                char want[TS_BUFLEN];
                ts_format(fake_now, want);
                if (backdate && strcmp(want, r.created_at) != 0) {
                    fprintf(stderr, "prefill: warning: the store did not use "
                                    "the substituted clock; created_at is now\n");
                    clock = "now";
                }
            }
            if (rc == 0) memcpy(last, r.created_at, TS_BUFLEN);
            cJSON_free(args);
            cJSON_free(result);
            cJSON_free(before);
            cJSON_free(after);
            gen_entry_free(&e);
            if (rc) break;
        }
        if (rc) {
            store_rollback(st);
            break;
        }
        if (store_commit(st, err) != STORE_OK) {
            fprintf(stderr, "prefill: commit: %s\n", err);
            rc = 1;
            break;
        }
        done += n;
        double t = gen_now_s();
        if (t - tlast >= 10.0) {
            fprintf(stderr, "prefill: %lld/%lld rows, %.0f rows/s\n", done,
                    count, (double)done / (t - t0));
            tlast = t;
        }
    }
    /* The fill's 10,000-entry transactions leave a few large unmerged
    ** segments in the search index, a debt a live server (small commits,
    ** merged as it goes) never runs up; without this the workloads would
    ** spend their first minutes paying it off inside their commits. */
    if (rc == 0 && n_captured == 1 &&
        sqlite3_exec(captured, "INSERT INTO audit_fts(audit_fts) VALUES('optimize')",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "prefill: merging the search index: %s\n", sqlite3_errmsg(captured));
        rc = 1;
    }
    double secs = gen_now_s() - t0;
    fake_now = -1;
    store_close(st);
    if (rc) return rc;
    printf("rows=%lld secs=%.2f rows_per_s=%.0f first=%s last=%s clock=%s\n",
           done, secs, secs > 0 ? (double)done / secs : 0.0, first, last, clock);
    return 0;
}
