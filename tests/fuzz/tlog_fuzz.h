/*
** tlog_fuzz.h: what the transparency-log fuzz targets (fuzz_note.c,
** fuzz_proof.c, fuzz_witness.c) share: fixed keys, two small logs made
** once with the product's own functions, and the oracles that say whether
** something a verifier accepted could really have been signed.
**
** The keys come from fixed seeds, so the seed corpora (signed by them)
** stay valid from run to run:
**   fuzz.example/log       a log's key (0x01), seed 0x11...: signs tree A and tree B
**   fuzz.example/product   a log's key, seed 0x33...: the key of the product-made
**                          seeds (dss-audit-mcp prove, checkpoint --note with
**                          --origin fuzz.example/product and that seed as key file)
**   fuzz.example/w1, /w2   witnesses' cosignature keys (0x04), seeds 0x22..., 0x23...
**
** Tree A holds TF_N entries, archived entries with fixed fields chained as
** the store chains them (chain_entry_hash); tree B is a fork of A: the
** same first TF_FORK entries, then others.  Everything fuzz.example/log
** ever signs is a checkpoint of A or of B, so a checkpoint that opens
** under that key must carry one of their roots, and an accepted proof
** must agree with that tree.
**
** Ed25519 (libsodium's) is deterministic: a signature line that verifies
** under a key the target holds must be the very line the target signs
** over the same text (tf_genuine), which catches any acceptance of a
** forged or malleated signature.
**
** Each target's generator (FUZZ_WRITE_SEEDS=DIR) writes its seed corpus
** with these functions; see the target.
*/
#ifndef DSS_TLOG_FUZZ_H
#define DSS_TLOG_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "integrity/archive.h"
#include "store/chain.h"
#include "store/store.h"
#include "tlog/c2sp.h"
#include "tlog/ckpt.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/proof.h"

#define TF_N 40
#define TF_FORK 24
#define TF_LOG "fuzz.example/log"
#define TF_PRODUCT "fuzz.example/product"

static inline void tf_die(const char *target, const char *what, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", target, what, why ? why : "");
    abort();
}

typedef struct tf_tree {
    store_raw_entry e[TF_N];
    char id[TF_N][40], args[TF_N][24];
    merkle_mem m;
    merkle_hash root[TF_N + 1]; /* root[s]: the root of the first s leaves */
} tf_tree;

typedef struct tf_keys {
    note_signer log, product, w[2];
    ckpt_log logs[2]; /* fuzz.example/log, fuzz.example/product */
    note_key wkeys[2];
} tf_keys;

static tf_keys tf_k;
static tf_tree tf_a, tf_b;

static inline note_signer tf_signer_from(uint8_t fill, const char *name, uint8_t type)
{
    uint8_t seed[32], pk[32], sk[64];
    char err[256];
    note_signer s;
    memset(seed, fill, sizeof seed);
    crypto_sign_seed_keypair(pk, sk, seed);
    if (note_signer_make(&s, name, type, sk, err, sizeof err) != NOTE_OK)
        tf_die("tlog_fuzz", "note_signer_make", err);
    sodium_memzero(sk, sizeof sk);
    return s;
}

/* Tree t: entries 1..TF_N, those after TF_FORK by operation "fork" when
** forked. */
static inline void tf_tree_make(tf_tree *t, int forked)
{
    uint8_t prev[CHAIN_HASH_BYTES] = {0};
    memset(t, 0, sizeof *t);
    merkle_empty_root(t->root[0]);
    for (int i = 0; i < TF_N; i++) {
        store_raw_entry *e = &t->e[i];
        int fork = forked && i >= TF_FORK;
        snprintf(t->id[i], sizeof t->id[i], "0192f0c4-0000-7000-8000-%012d", i + 1);
        snprintf(t->args[i], sizeof t->args[i], "{\"n\":%d}", i + 1);
        e->f.seq = i + 1;
        e->f.id = t->id[i];
        e->f.event_type = "tool_call";
        e->f.operation_name = fork ? "fork" : "deploy";
        e->f.user_id = "alice";
        e->f.args = t->args[i];
        e->f.created_at = "2025-01-01T00:00:00.000000Z";
        memcpy(e->prev_hash, prev, sizeof prev);
        chain_entry_hash(&e->f, prev, e->hash);
        memcpy(prev, e->hash, sizeof prev);
        e->hashes_ok = 1;
        merkle_hash leaf;
        merkle_leaf_hash(e->hash, CHAIN_HASH_BYTES, leaf);
        if (merkle_mem_append(&t->m, leaf) != MERKLE_OK) tf_die("tlog_fuzz", "tree", "append");
        merkle_frontier_root(&t->m.f, t->root[i + 1]);
    }
}

static inline void tf_init(void)
{
    char vkey[NOTE_VKEY_MAX], err[256];
    if (chain_init() != 0) tf_die("tlog_fuzz", "chain_init", "libsodium");
    tf_k.log = tf_signer_from(0x11, TF_LOG, NOTE_ED25519);
    tf_k.product = tf_signer_from(0x33, TF_PRODUCT, NOTE_ED25519);
    tf_k.w[0] = tf_signer_from(0x22, "fuzz.example/w1", NOTE_COSIGNATURE);
    tf_k.w[1] = tf_signer_from(0x23, "fuzz.example/w2", NOTE_COSIGNATURE);
    note_key_format(&tf_k.log.key, vkey);
    if (ckpt_log_from_vkey(vkey, &tf_k.logs[0], err, sizeof err) != CKPT_OK)
        tf_die("tlog_fuzz", "log key", err);
    note_key_format(&tf_k.product.key, vkey);
    if (ckpt_log_from_vkey(vkey, &tf_k.logs[1], err, sizeof err) != CKPT_OK)
        tf_die("tlog_fuzz", "product key", err);
    tf_k.wkeys[0] = tf_k.w[0].key;
    tf_k.wkeys[1] = tf_k.w[1].key;
    tf_tree_make(&tf_a, 0);
    tf_tree_make(&tf_b, 1);
}

/* The signer holding key k (by name and ID), or NULL. */
static inline const note_signer *tf_signer_of(const char *name, size_t name_len, uint32_t id)
{
    const note_signer *all[] = {&tf_k.log, &tf_k.product, &tf_k.w[0], &tf_k.w[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]->key.id == id && strlen(all[i]->key.name) == name_len &&
            memcmp(all[i]->key.name, name, name_len) == 0)
            return all[i];
    return NULL;
}

/* Whether every line of n by one of keys[0..nkeys) (keys the target holds
** the signers of) is the line the target signs over n's text (for a
** cosignature: at the time the line states).  Lines by other keys are not
** judged: a verifier ignores them.  1 or 0. */
static inline int tf_genuine(const note *n, const note_key *keys, size_t nkeys)
{
    for (size_t i = 0; i < n->nsigs; i++) {
        const note_sig *s = &n->sigs[i];
        int consulted = 0;
        for (size_t j = 0; j < nkeys; j++)
            if (keys[j].id == s->id && strlen(keys[j].name) == s->name_len &&
                memcmp(keys[j].name, s->name, s->name_len) == 0)
                consulted = 1;
        const note_signer *k = consulted ? tf_signer_of(s->name, s->name_len, s->id) : NULL;
        if (!k) continue;
        uint64_t t = 1;
        if (k->key.type == NOTE_COSIGNATURE) {
            uint8_t raw[128];
            size_t rl = 0;
            if (c2sp_b64_decode(s->b64, s->b64_len, raw, sizeof raw, &rl) != 0 || rl < 12)
                return 0;
            t = 0;
            for (int j = 4; j < 12; j++) t = t << 8 | raw[j];
            if (t == 0 || t > (uint64_t)INT64_MAX) return 0;
        }
        char line[NOTE_LINE_MAX], err[256];
        if (note_sign_line(k, n->text, n->text_len, t, line, err, sizeof err) != NOTE_OK ||
            strlen(line) != s->line_len || memcmp(line, s->line, s->line_len) != 0)
            return 0;
    }
    return 1;
}

/* The tree fuzz.example/log signed the checkpoint c of: A or B (when both
** have that root, as they do up to TF_FORK, A), or NULL. */
static inline const tf_tree *tf_tree_of(const ckpt *c)
{
    if (c->size < 0 || c->size > TF_N) return NULL;
    if (memcmp(tf_a.root[c->size], c->root, MERKLE_HASH) == 0) return &tf_a;
    if (memcmp(tf_b.root[c->size], c->root, MERKLE_HASH) == 0) return &tf_b;
    return NULL;
}

/* The signed checkpoint of t's first size leaves by signer (its origin the
** signer's name), cosigned by the witnesses whose bit is set in wmask at
** time ts.  A string to free. */
static inline char *tf_checkpoint(const tf_tree *t, int64_t size, const note_signer *signer,
                           unsigned wmask, uint64_t ts, const char *ext)
{
    char err[256];
    ckpt c = {.size = size, .ext = ext, .ext_len = ext ? strlen(ext) : 0};
    snprintf(c.origin, sizeof c.origin, "%s", signer->key.name);
    memcpy(c.root, t->root[size], MERKLE_HASH);
    size_t tl;
    char *text = ckpt_format(&c, &tl, err, sizeof err);
    if (!text) tf_die("tlog_fuzz", "ckpt_format", err);
    note_signer s[3];
    size_t ns = 0;
    s[ns++] = *signer;
    for (int i = 0; i < 2; i++)
        if (wmask & (1u << i)) s[ns++] = tf_k.w[i];
    char *msg = note_sign(text, tl, s, ns, ts, NULL, err, sizeof err);
    if (!msg) tf_die("tlog_fuzz", "note_sign", err);
    free(text);
    return msg;
}

/* Write data[0..len) to dir/name (the generators). */
static inline void tf_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) tf_die("seeds", path, "write");
}

/* dir/name holding a prefix byte (the target's mode) and text. */
static inline void tf_write_mode(const char *dir, const char *name, uint8_t mode, const char *text,
                          size_t len)
{
    char *buf = malloc(len + 1);
    if (!buf) tf_die("seeds", name, "out of memory");
    buf[0] = (char)mode;
    memcpy(buf + 1, text, len);
    tf_write(dir, name, buf, len + 1);
    free(buf);
}

#endif
