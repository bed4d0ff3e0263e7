/*
** tlog.c: what the Merkle tree (src/tlog/merkle.h) costs, in memory.
**
**   bench_tlog [--leaves N] [--rounds R] [--probes P]
**
** The tree's share of an append is merkle_frontier_append (the leaf hash
** and, on average, one more node hash) and about two 32-byte stored hashes;
** this times it over N leaves (default 1,000,000), R rounds (default 5),
** and prints the median ns per leaf, to set against the write path's time
** per entry (bench_prefill or the server, same machine, same run).  Then,
** on the last round's tree, P random probes (default 2,000) of: an
** inclusion proof from the stored hashes and its verification, and a
** consistency proof between two random sizes and its verification (p50 and
** p99 in microseconds, no process start), and the stored hashes read per
** proof.  Nothing here is a test.
**
** Prints one line of name=value pairs.
**
**   bench_tlog --db PATH [--probes P]
**
** The same proofs from a real log, in process (no process start): P random
** entries of the audit database at PATH (whose newest signed checkpoint,
** `checkpoint --note`, holds them) proved as `prove` proves them
** (prove_entry: the stored hashes read through the store, the note and its
** cosignatures) and checked as `verify-proof` checks them (proof_parse and
** proof_verify with the log's verifier key): p50 and p99 in microseconds.
** bench/run --tlog sets these against the commands' wall time and a bare
** process start.
*/
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "integrity/prove.h"
#include "store/chain.h"
#include "store/store.h"
#include "tlog/ckpt.h"
#include "tlog/merkle.h"
#include "tlog/proof.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

/* A reader that counts the hashes it serves. */
typedef struct counting {
    merkle_reader inner;
    size_t hashes;
} counting;

static int counting_read(void *ctx, const int64_t *idx, size_t n, merkle_hash *out, char *err,
                         size_t errlen)
{
    counting *c = ctx;
    c->hashes += n;
    return c->inner.read(c->inner.ctx, idx, n, out, err, errlen);
}

static void usage(void)
{
    fputs("usage: bench_tlog [--leaves N] [--rounds R] [--probes P]\n"
          "       bench_tlog --db PATH [--probes P]\n", stderr);
    exit(2);
}

/* --db: prove and check P random entries of a real log, in process. */
static int bench_db(const char *path, long long probes)
{
    char err[STORE_ERRLEN];
    store *st = NULL;
    store_options so = {.path = path, .readonly = 1};
    if (chain_init() != 0 || store_open(&so, &st, err) != STORE_OK) {
        fprintf(stderr, "bench_tlog: cannot open %s: %s\n", path, err);
        return 1;
    }
    /* The first proof says which tree size the newest signed checkpoint
    ** has: the entries probed are drawn below it. */
    prove_result res;
    prove_request rq = {.seq = 1};
    if (prove_entry(st, &rq, &res, err) != STORE_OK) {
        fprintf(stderr, "bench_tlog: cannot prove seq 1 (run `checkpoint --note` first): %s\n",
                err);
        store_close(st);
        return 1;
    }
    int64_t size = res.size;
    ckpt_log log;
    char why[256];
    if (ckpt_log_from_vkey(res.vkey, &log, why, sizeof why) != CKPT_OK) {
        fprintf(stderr, "bench_tlog: the log's vkey: %s\n", why);
        return 1;
    }
    prove_result_free(&res);
    double *pp = malloc((size_t)probes * sizeof *pp), *pv = malloc((size_t)probes * sizeof *pv);
    tlog_proof *p = malloc(sizeof *p);
    if (!pp || !pv || !p) return 1;
    size_t bytes = 0;
    for (long long k = 0; k < probes; k++) {
        rq.seq = 1 + (int64_t)randombytes_uniform((uint32_t)(size < UINT32_MAX ? size : UINT32_MAX));
        double t0 = now_s();
        if (prove_entry(st, &rq, &res, err) != STORE_OK) {
            fprintf(stderr, "bench_tlog: prove seq %lld: %s\n", (long long)rq.seq, err);
            return 1;
        }
        double t1 = now_s();
        proof_policy pol = {.logs = &log, .nlogs = 1};
        proof_result pr;
        size_t len = strlen(res.proof);
        if (proof_parse(res.proof, len, p, why, sizeof why) != 0 ||
            proof_verify(p, &pol, NULL, &pr) != 0) {
            fprintf(stderr, "bench_tlog: the proof of seq %lld does not verify\n",
                    (long long)rq.seq);
            return 1;
        }
        double t2 = now_s();
        bytes += len;
        prove_result_free(&res);
        pp[k] = (t1 - t0) * 1e6;
        pv[k] = (t2 - t1) * 1e6;
    }
    printf("tree_size=%lld probes=%lld prove_us_p50=%.1f prove_us_p99=%.1f "
           "verify_proof_us_p50=%.1f verify_proof_us_p99=%.1f proof_bytes_avg=%.0f\n",
           (long long)size, probes, pct(pp, (int)probes, 0.5), pct(pp, (int)probes, 0.99),
           pct(pv, (int)probes, 0.5), pct(pv, (int)probes, 0.99),
           (double)bytes / (double)probes);
    store_close(st);
    free(pp);
    free(pv);
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    long long leaves = 1000000, rounds = 5, probes = 2000;
    const char *db = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (!strcmp(argv[i], "--db")) {
            db = argv[++i];
            continue;
        }
        long long v = atoll(argv[i + 1]);
        if (v < 1) usage();
        if (!strcmp(argv[i], "--leaves")) leaves = v;
        else if (!strcmp(argv[i], "--rounds")) rounds = v;
        else if (!strcmp(argv[i], "--probes")) probes = v;
        else usage();
        i++;
    }
    if (sodium_init() < 0) return 1;
    if (db) return bench_db(db, probes);
    /* The leaves' data: 32-byte chain hashes, made before the clock. */
    uint8_t (*data)[32] = malloc((size_t)leaves * 32);
    if (!data) return 1;
    for (long long i = 0; i < leaves; i++)
        crypto_hash_sha256(data[i], (const uint8_t *)&i, sizeof i);
    double *per = malloc((size_t)rounds * sizeof *per);
    merkle_mem m = {0};
    for (long long r = 0; r < rounds; r++) {
        merkle_mem_free(&m);
        double t0 = now_s();
        for (long long i = 0; i < leaves; i++) {
            merkle_hash leaf;
            merkle_leaf_hash(data[i], 32, leaf);
            if (merkle_mem_append(&m, leaf) != MERKLE_OK) return 1;
        }
        per[r] = (now_s() - t0) * 1e9 / (double)leaves;
    }
    double append_ns = pct(per, (int)rounds, 0.5);
    double stored = (double)m.count / (double)leaves;

    counting c = {merkle_mem_reader(&m), 0};
    merkle_reader rd = {counting_read, &c};
    double *pi = malloc((size_t)probes * sizeof *pi), *vi = malloc((size_t)probes * sizeof *vi);
    double *pc = malloc((size_t)probes * sizeof *pc), *vc = malloc((size_t)probes * sizeof *vc);
    size_t incl_reads = 0, cons_reads = 0, incl_len = 0;
    char err[256];
    for (long long k = 0; k < probes; k++) {
        merkle_hash path[MERKLE_MAX_PROOF], root, old_root, leaf;
        size_t len;
        int64_t size = 1 + (int64_t)randombytes_uniform((uint32_t)leaves);
        int64_t index = (int64_t)randombytes_uniform((uint32_t)size);
        int64_t old = 1 + (int64_t)randombytes_uniform((uint32_t)size);
        merkle_tree_hash(size, &rd, root, err, sizeof err);
        merkle_tree_hash(old, &rd, old_root, err, sizeof err);
        merkle_leaf_hash(data[index], 32, leaf);
        c.hashes = 0;
        double t0 = now_s();
        if (merkle_prove_inclusion(index, size, &rd, path, &len, err, sizeof err) != MERKLE_OK)
            return 1;
        double t1 = now_s();
        if (merkle_verify_inclusion(index, size, leaf, path[0], len, root) != MERKLE_OK) return 1;
        double t2 = now_s();
        incl_reads += c.hashes;
        incl_len += len;
        c.hashes = 0;
        double t3 = now_s();
        if (merkle_prove_consistency(old, size, &rd, path, &len, err, sizeof err) != MERKLE_OK)
            return 1;
        double t4 = now_s();
        if (merkle_verify_consistency(old, size, old_root, root, path[0], len) != MERKLE_OK)
            return 1;
        double t5 = now_s();
        cons_reads += c.hashes;
        pi[k] = (t1 - t0) * 1e6;
        vi[k] = (t2 - t1) * 1e6;
        pc[k] = (t4 - t3) * 1e6;
        vc[k] = (t5 - t4) * 1e6;
    }
    printf("leaves=%lld rounds=%lld append_ns_p50=%.0f stored_hashes_per_leaf=%.3f "
           "prove_inclusion_us_p50=%.2f prove_inclusion_us_p99=%.2f "
           "verify_inclusion_us_p50=%.2f verify_inclusion_us_p99=%.2f "
           "prove_consistency_us_p50=%.2f verify_consistency_us_p50=%.2f "
           "inclusion_hashes_read_avg=%.1f consistency_hashes_read_avg=%.1f "
           "audit_path_avg=%.1f\n",
           leaves, rounds, append_ns, stored, pct(pi, (int)probes, 0.5),
           pct(pi, (int)probes, 0.99), pct(vi, (int)probes, 0.5), pct(vi, (int)probes, 0.99),
           pct(pc, (int)probes, 0.5), pct(vc, (int)probes, 0.5),
           (double)incl_reads / (double)probes, (double)cons_reads / (double)probes,
           (double)incl_len / (double)probes);
    merkle_mem_free(&m);
    free(data);
    free(per);
    free(pi);
    free(vi);
    free(pc);
    free(vc);
    return 0;
}
