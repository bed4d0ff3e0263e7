/*
** fuzz_proof.c: a libFuzzer target for the proofs a reviewer checks
** offline (src/tlog/proof.c, merkle.c's verifiers, and verify-proof's path
** through src/integrity/prove.c), whose texts anyone may have written.
**
** An input's first byte picks what the rest is (its value modulo 3) and
** the policy (its value divided by 3, modulo 3: how many of the two fixed
** witnesses must have cosigned):
**   0  a tlog-proof text: proof_parse, proof_verify without an entry, and
**      with tree A's and tree B's entry hash at its index;
**   1  an add-checkpoint consistency body: proof_consistency_parse, then
**      ckpt_open and merkle_verify_consistency from tree A's and tree B's
**      root at its old size to its checkpoint's;
**   2  a prove --entry bundle, JSON {"proof", "entry"}, taken as
**      verify-proof takes it: prove_check_entry, then proof_verify with
**      the entry's hash.
** The policy trusts the logs fuzz.example/log and fuzz.example/product and
** the witnesses fuzz.example/w1 and /w2 (tlog_fuzz.h); fuzz.example/log
** has only ever signed checkpoints of tree A and tree B, built at start.
**
** Besides the sanitizers, it aborts when a promise is broken:
**   - what parses prints back to the same bytes (proof_format,
**     proof_consistency_format);
**   - a proof that verifies carries genuine signatures (tlog_fuzz.h), at
**     least the required cosignatures, and, under fuzz.example/log, its
**     checkpoint is one of tree A's or B's and its entry hash is that
**     tree's entry at the proven index (and an entry given is that entry,
**     its seq the index + 1): no proof ever proves an entry that is not in
**     the tree;
**   - a consistency proof verifies from a held root only when the held
**     tree and the checkpoint's agree on the old size's leaves.
**
** Seeds: tests/fuzz/corpus/proof/, written by this target when run as
** FUZZ_WRITE_SEEDS=DIR build-fuzz/fuzz_proof (proofs of trees A and B made
** with merkle_prove_* and proof_format), plus the product's own output
** (prove, prove --entry, prove --consistency of a log signed with the
** fuzz.example/product key).
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=8192
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "integrity/prove.h"
#include "tlog/proof.h"
#include "tlog_fuzz.h"

#define NAME "fuzz_proof"

static tlog_proof *tp;
static proof_consistency *pcon;
static note *nt;
static note_key consulted[3];

static void die(const char *what, const char *why)
{
    tf_die(NAME, what, why);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tf_init();
    if (!(tp = malloc(sizeof *tp)) || !(pcon = malloc(sizeof *pcon)) ||
        !(nt = malloc(sizeof *nt)))
        die("init", "out of memory");
    consulted[1] = tf_k.wkeys[0];
    consulted[2] = tf_k.wkeys[1];
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* What must hold of a proof p that verified with leaf data `data` (the
** extra line's hash, or the entry's). */
static void check_valid(const tlog_proof *p, const proof_result *res, const uint8_t *data,
                        size_t min)
{
    char err[256];
    const ckpt *c = &res->checkpoint;
    if (p->index < 0 || p->index >= c->size) die("proof_verify", "accepted an index beyond the tree");
    if (res->cosigned < min) die("proof_verify", "accepted too few cosignatures");
    int ours = strcmp(c->origin, TF_LOG) == 0;
    if (!ours && strcmp(c->origin, TF_PRODUCT) != 0)
        die("proof_verify", "accepted a checkpoint of an origin not trusted");
    if (note_parse(p->checkpoint, p->checkpoint_len, nt, err, sizeof err) != NOTE_OK)
        die("proof_verify", "accepted a checkpoint that is no note");
    consulted[0] = ours ? tf_k.log.key : tf_k.product.key;
    if (!tf_genuine(nt, consulted, 3))
        die("proof_verify", "accepted a signature or cosignature that is not genuine");
    if (!ours) return;
    const tf_tree *t = tf_tree_of(c);
    if (!t) die("proof_verify", "accepted a checkpoint of fuzz.example/log of neither tree");
    if (memcmp(t->e[p->index].hash, data, MERKLE_HASH) != 0)
        die("proof_verify", "proved an entry hash that is not the tree's at that index");
}

static size_t policy_min(uint8_t b)
{
    return (size_t)(b / 3) % 3;
}

static void mode_proof(const char *text, size_t len, size_t min)
{
    char err[256];
    if (proof_parse(text, len, tp, err, sizeof err) != 0) {
        if (!err[0]) die("proof_parse", "refused without a sentence");
        return;
    }
    if (tp->checkpoint < text || tp->checkpoint + tp->checkpoint_len != text + len ||
        tp->path_len > MERKLE_MAX_PROOF || tp->index < 0 || tp->extra_len > PROOF_EXTRA_MAX)
        die("proof_parse", "fields out of place or range");
    /* It prints back as it was (when it is a proof proof_format would make). */
    size_t fl;
    char *back = proof_format(tp->has_extra ? tp->extra : NULL, tp->extra_len, tp->index,
                              tp->path[0], tp->path_len, tp->checkpoint, tp->checkpoint_len,
                              &fl, err, sizeof err);
    if (back && (fl != len || memcmp(back, text, len) != 0))
        die("proof_format", "a parsed proof prints back otherwise");
    free(back);

    proof_policy pol = {.logs = tf_k.logs, .nlogs = 2, .witnesses = tf_k.wkeys,
                        .nwitnesses = 2, .min_witnesses = min};
    proof_result res;
    if (proof_verify(tp, &pol, NULL, &res) == 0) {
        if (res.failed != PROOF_VALID || !tp->has_extra || tp->extra_len != MERKLE_HASH)
            die("proof_verify", "valid without a 32-byte extra line");
        check_valid(tp, &res, tp->extra, min);
    } else if (res.failed == PROOF_VALID || !res.why[0]) {
        die("proof_verify", "failed without naming a part and why");
    }
    /* With each tree's entry at that index as the entry given. */
    if (tp->index >= TF_N) return;
    const tf_tree *trees[2] = {&tf_a, &tf_b};
    for (int i = 0; i < 2; i++) {
        const uint8_t *h = trees[i]->e[tp->index].hash;
        if (proof_verify(tp, &pol, h, &res) == 0) {
            if (tp->has_extra && (tp->extra_len != MERKLE_HASH || memcmp(tp->extra, h, 32) != 0))
                die("proof_verify", "the entry given and the extra line disagree, yet valid");
            check_valid(tp, &res, h, min);
        }
    }
}

static void mode_consistency(const char *body, size_t len)
{
    char err[256];
    if (proof_consistency_parse(body, len, pcon, err, sizeof err) != 0) {
        if (!err[0]) die("proof_consistency_parse", "refused without a sentence");
        return;
    }
    if (pcon->checkpoint < body || pcon->checkpoint + pcon->checkpoint_len != body + len ||
        pcon->path_len > MERKLE_MAX_PROOF || pcon->old_size < 0)
        die("proof_consistency_parse", "fields out of place or range");
    size_t fl;
    char *back = proof_consistency_format(pcon->old_size, pcon->path[0], pcon->path_len,
                                          pcon->checkpoint, pcon->checkpoint_len, &fl, err,
                                          sizeof err);
    if (back && (fl != len || memcmp(back, body, len) != 0))
        die("proof_consistency_format", "a parsed body prints back otherwise");
    free(back);

    ckpt c;
    if (ckpt_open(pcon->checkpoint, pcon->checkpoint_len, tf_k.logs, 2, nt, &c, err,
                  sizeof err) != CKPT_OK ||
        strcmp(c.origin, TF_LOG) != 0)
        return;
    const tf_tree *t = tf_tree_of(&c);
    if (!t) die("ckpt_open", "a checkpoint of fuzz.example/log of neither tree");
    int64_t old = pcon->old_size;
    if (old > TF_N) return;
    const tf_tree *held[2] = {&tf_a, &tf_b};
    for (int i = 0; i < 2; i++) {
        int rc = merkle_verify_consistency(old, c.size, held[i]->root[old], c.root,
                                           pcon->path[0], pcon->path_len);
        if (rc == MERKLE_OK && memcmp(held[i]->root[old], t->root[old], MERKLE_HASH) != 0)
            die("merkle_verify_consistency", "a fork was proven consistent with the tree held");
        if (rc == MERKLE_EINVAL && old <= c.size) die("merkle_verify_consistency", "EINVAL in range");
    }
    /* And the true proof between them always verifies. */
    if (old <= c.size) {
        merkle_hash path[MERKLE_MAX_PROOF];
        size_t pl = 0;
        merkle_reader r = merkle_mem_reader((merkle_mem *)&t->m);
        if (merkle_prove_consistency(old, c.size, &r, path, &pl, err, sizeof err) != MERKLE_OK ||
            merkle_verify_consistency(old, c.size, t->root[old], c.root, path[0], pl) != MERKLE_OK)
            die("merkle_verify_consistency", "the true proof does not verify");
    }
}

static void mode_bundle(const char *text, size_t len, size_t min)
{
    char err[256];
    cJSON *b = cJSON_ParseWithLength(text, len);
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(b, "proof");
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(b, "entry");
    if (!cJSON_IsString(pt) || !entry ||
        proof_parse(pt->valuestring, strlen(pt->valuestring), tp, err, sizeof err) != 0) {
        cJSON_Delete(b);
        return;
    }
    proof_policy pol = {.logs = tf_k.logs, .nlogs = 2, .witnesses = tf_k.wkeys,
                        .nwitnesses = 2, .min_witnesses = min};
    proof_result res;
    uint8_t hash[CHAIN_HASH_BYTES];
    memset(&res, 0, sizeof res);
    if (prove_check_entry(entry, tp, hash, &res) == 0) {
        if (proof_verify(tp, &pol, hash, &res) == 0) {
            check_valid(tp, &res, hash, min);
            const cJSON *seq = cJSON_GetObjectItemCaseSensitive(entry, "seq");
            if (!cJSON_IsNumber(seq) || seq->valuedouble != (double)(tp->index + 1))
                die("prove_check_entry", "an entry of another seq was taken for the leaf");
        }
    } else if (res.failed == PROOF_VALID || !res.why[0]) {
        die("prove_check_entry", "refused without naming a part and why");
    }
    cJSON_Delete(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0: mode_proof(p, len, policy_min(data[0])); break;
    case 1: mode_consistency(p, len); break;
    default: mode_bundle(p, len, policy_min(data[0])); break;
    }
    return 0;
}

/* ---- the seed corpus ---- */

/* The proof of t's leaf index in its tree of size size. */
static char *make_proof(const tf_tree *t, int64_t index, int64_t size, unsigned wmask,
                        int with_extra, const char *ext)
{
    char err[256];
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t pl = 0;
    merkle_reader r = merkle_mem_reader((merkle_mem *)&t->m);
    if (merkle_prove_inclusion(index, size, &r, path, &pl, err, sizeof err) != MERKLE_OK)
        die("seeds", err);
    char *cp = tf_checkpoint(t, size, &tf_k.log, wmask, 1767225600, ext);
    char *p = proof_format(with_extra ? t->e[index].hash : NULL, with_extra ? 32 : 0, index,
                           path[0], pl, cp, strlen(cp), NULL, err, sizeof err);
    if (!p) die("seeds", err);
    free(cp);
    return p;
}

static char *make_consistency(const tf_tree *t, int64_t old, int64_t size)
{
    char err[256];
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t pl = 0;
    merkle_reader r = merkle_mem_reader((merkle_mem *)&t->m);
    if (merkle_prove_consistency(old, size, &r, path, &pl, err, sizeof err) != MERKLE_OK)
        die("seeds", err);
    char *cp = tf_checkpoint(t, size, &tf_k.log, 1, 1767225600, NULL);
    char *b = proof_consistency_format(old, path[0], pl, cp, strlen(cp), NULL, err, sizeof err);
    if (!b) die("seeds", err);
    free(cp);
    return b;
}

static void put(const char *dir, const char *name, uint8_t mode, char *text)
{
    tf_write_mode(dir, name, mode, text, strlen(text));
    free(text);
}

static void write_seeds(const char *dir)
{
    /* Mode byte 0: no cosignature required; 3: one; 6: two. */
    put(dir, "proof_a_0_of_40_cosigned", 6, make_proof(&tf_a, 0, 40, 3, 1, NULL));
    put(dir, "proof_a_7_of_40", 0, make_proof(&tf_a, 7, 40, 0, 1, NULL));
    put(dir, "proof_a_39_of_40", 3, make_proof(&tf_a, 39, 40, 1, 1, NULL));
    put(dir, "proof_a_0_of_1", 0, make_proof(&tf_a, 0, 1, 0, 1, NULL));
    put(dir, "proof_b_27_of_30", 0, make_proof(&tf_b, 27, 30, 2, 1, NULL));
    put(dir, "proof_b_5_of_33_no_extra", 0, make_proof(&tf_b, 5, 33, 0, 0, NULL));
    put(dir, "proof_a_12_of_17_ext", 0,
        make_proof(&tf_a, 12, 17, 0, 1, "chain-head 1f\nprev-checkpoint 00\n"));

    put(dir, "consistency_a_10_40", 1, make_consistency(&tf_a, 10, 40));
    put(dir, "consistency_a_0_5", 1, make_consistency(&tf_a, 0, 5));
    put(dir, "consistency_a_16_16", 1, make_consistency(&tf_a, 16, 16));
    put(dir, "consistency_b_24_31", 1, make_consistency(&tf_b, 24, 31));
    put(dir, "consistency_b_26_39", 1, make_consistency(&tf_b, 26, 39));

    /* The longest path a text may hold, and one hash more: a real path's
    ** first line repeated. */
    for (int lines = 63; lines <= 64; lines++) {
        char *p = make_proof(&tf_a, 7, 40, 0, 1, NULL), *cut = strstr(p, "index 7\n") + 8;
        size_t n = strlen(p), hl = 45;
        char *q = malloc(n + (size_t)lines * hl + 1);
        memcpy(q, p, (size_t)(cut - p));
        char *at = q + (cut - p);
        for (int i = 0; i < lines; i++, at += hl) memcpy(at, cut, hl);
        strcpy(at, strstr(cut, "\n\n") + 1);
        put(dir, lines == 63 ? "proof_path_63" : "proof_path_64", 0, q);
        free(p);
    }

    for (int i = 0; i < 2; i++) {
        const tf_tree *t = i ? &tf_b : &tf_a;
        int64_t index = i ? 30 : 3;
        cJSON *b = cJSON_CreateObject();
        char *proof = make_proof(t, index, 35, 1, 1, NULL);
        cJSON_AddStringToObject(b, "proof", proof);
        free(proof);
        cJSON_AddItemToObject(b, "entry", archive_entry_json(&t->e[index]));
        char *text = cJSON_PrintUnformatted(b);
        put(dir, i ? "bundle_b_30_of_35" : "bundle_a_3_of_35", 2, text);
        cJSON_Delete(b);
    }
}
