/*
** merkle.c: RFC 6962 hashing, Go's stored-hash layout, proofs and their
** verification.
**
** Proof construction follows golang.org/x/mod/sumdb/tlog step for step
** (first list the stored indexes a proof needs, read them in one call,
** then fold them), so the two agree on every proof; verification is the
** RFC 9162 bit-walking algorithm, a second derivation of the same shapes,
** so a proof that both accept is checked by two independent methods.
*/
#include "merkle.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stored indexes one proof or tree hash may need: the path (at most 62),
** one fringe decomposition (at most 62) and a final subtree (at most 62). */
#define MAX_INDEXES 192

typedef struct idxlist {
    int64_t v[MAX_INDEXES];
    size_t n;
    int overflow;
} idxlist;

static void idx_add(idxlist *l, int64_t v)
{
    if (l->n < MAX_INDEXES) l->v[l->n++] = v;
    else l->overflow = 1;
}

void merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
    crypto_hash_sha256_state st;
    static const uint8_t zero = 0x00;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out)
{
    uint8_t buf[1 + 2 * MERKLE_HASH];
    buf[0] = 0x01;
    memcpy(buf + 1, left, MERKLE_HASH);
    memcpy(buf + 1 + MERKLE_HASH, right, MERKLE_HASH);
    crypto_hash_sha256(out, buf, sizeof buf);
}

void merkle_empty_root(merkle_hash out)
{
    crypto_hash_sha256(out, (const uint8_t *)"", 0);
}

/* The largest power of two strictly below n (n >= 2), and its log2. */
static int64_t maxpow2(int64_t n, int *lg)
{
    int l = 63 - __builtin_clzll((unsigned long long)(n - 1));
    if (lg) *lg = l;
    return INT64_C(1) << l;
}

int64_t merkle_stored_index(int level, int64_t n)
{
    /* Level L's n-th hash is written right after level L+1's (2n+1)-th:
    ** walk down to level 0, where hash n sits at n + n/2 + n/4 + ... */
    for (int l = level; l > 0; l--) n = 2 * n + 1;
    int64_t i = 0;
    for (; n > 0; n >>= 1) i += n;
    return i + level;
}

void merkle_split_stored_index(int64_t index, int *level, int64_t *n)
{
    /* merkle_stored_index(0, n) < 2n, so the leaf n committed last before
    ** index lies in [index/2, index/2 + log2(index)]. */
    int64_t x = index / 2;
    int64_t at = merkle_stored_index(0, x);
    for (;;) {
        /* Leaf x stores 1 + trailing_zeros(x + 1) hashes. */
        int64_t next = at + 1 + __builtin_ctzll((unsigned long long)(x + 1));
        if (next > index) break;
        x++;
        at = next;
    }
    *level = (int)(index - at);
    *n = x >> *level;
}

int64_t merkle_stored_count(int64_t size)
{
    if (size <= 0) return 0;
    int64_t count = merkle_stored_index(0, size - 1) + 1;
    for (uint64_t i = (uint64_t)(size - 1); i & 1; i >>= 1) count++;
    return count;
}

/* Read the hashes at l's indexes through r. */
static int read_all(const merkle_reader *r, const idxlist *l, merkle_hash *out, char *err,
                    size_t errlen)
{
    if (l->overflow) {
        snprintf(err, errlen, "internal error: too many stored hashes for one proof");
        return MERKLE_EINVAL;
    }
    if (l->n == 0) return MERKLE_OK;
    if (r->read(r->ctx, l->v, l->n, out, err, errlen) != 0) return MERKLE_EREAD;
    return MERKLE_OK;
}

int merkle_stored_hashes(int64_t n, const merkle_hash leaf_hash, const merkle_reader *r,
                         merkle_hash out[MERKLE_MAX_STORED], size_t *count, char *err,
                         size_t errlen)
{
    if (n < 0 || n >= MERKLE_MAX_SIZE) {
        snprintf(err, errlen, "leaf %lld is beyond what a tree holds", (long long)n);
        return MERKLE_EINVAL;
    }
    /* Each trailing 1 bit of n completes a subtree whose left half is
    ** already stored: read those halves, lowest level last. */
    int m = __builtin_ctzll((unsigned long long)(n + 1));
    idxlist need = {.n = 0};
    for (int i = m - 1; i >= 0; i--) idx_add(&need, merkle_stored_index(i, (n >> i) - 1));
    merkle_hash old[MERKLE_MAX_STORED];
    int rc = read_all(r, &need, old, err, errlen);
    if (rc != MERKLE_OK) return rc;
    memcpy(out[0], leaf_hash, MERKLE_HASH);
    for (int i = 0; i < m; i++) merkle_node_hash(old[m - 1 - i], out[i], out[i + 1]);
    *count = (size_t)m + 1;
    return MERKLE_OK;
}

int merkle_frontier_load(merkle_frontier *f, int64_t size, const merkle_reader *r,
                         char *err, size_t errlen)
{
    if (size < 0 || size > MERKLE_MAX_SIZE) {
        snprintf(err, errlen, "tree size %lld out of range", (long long)size);
        return MERKLE_EINVAL;
    }
    idxlist need = {.n = 0};
    int levels[MERKLE_MAX_STORED];
    for (int l = 62; l >= 0; l--) {
        if (!((size >> l) & 1)) continue;
        levels[need.n] = l;
        idx_add(&need, merkle_stored_index(l, (size >> l) - 1));
    }
    merkle_hash got[MERKLE_MAX_STORED];
    int rc = read_all(r, &need, got, err, errlen);
    if (rc != MERKLE_OK) return rc;
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < need.n; i++) memcpy(f->h[levels[i]], got[i], MERKLE_HASH);
    f->size = size;
    return MERKLE_OK;
}

int merkle_frontier_append(merkle_frontier *f, const merkle_hash leaf_hash,
                           merkle_hash out[MERKLE_MAX_STORED], size_t *count)
{
    int64_t n = f->size;
    if (n < 0 || n >= MERKLE_MAX_SIZE) return MERKLE_EINVAL;
    size_t c = 0;
    int l = 0;
    memcpy(out[c++], leaf_hash, MERKLE_HASH);
    /* Each set low bit of n is a complete subtree the new leaf closes. */
    for (; (n >> l) & 1; l++, c++) merkle_node_hash(f->h[l], out[c - 1], out[c]);
    memcpy(f->h[l], out[c - 1], MERKLE_HASH);
    f->size = n + 1;
    *count = c;
    return MERKLE_OK;
}

void merkle_frontier_root(const merkle_frontier *f, merkle_hash out)
{
    if (f->size <= 0) {
        merkle_empty_root(out);
        return;
    }
    /* The smallest subtree is the rightmost; each larger one is hashed in
    ** on its left (RFC 6962's split at the largest power of two). */
    int l = __builtin_ctzll((unsigned long long)f->size);
    merkle_hash h;
    memcpy(h, f->h[l], MERKLE_HASH);
    for (l++; l < 63; l++)
        if ((f->size >> l) & 1) merkle_node_hash(f->h[l], h, h);
    memcpy(out, h, MERKLE_HASH);
}

/* The stored indexes whose hashes make up the subtree of leaves [lo, hi):
** its complete subtrees from left to right (Go's subTreeIndex). */
static void subtree_index(int64_t lo, int64_t hi, idxlist *need)
{
    while (lo < hi) {
        int level;
        int64_t k = maxpow2(hi - lo + 1, &level);
        idx_add(need, merkle_stored_index(level, lo >> level));
        lo += k;
    }
}

/* Fold the hashes subtree_index(lo, hi) listed, from *pos on, into the
** subtree's hash (Go's subTreeHash). */
static void subtree_hash(int64_t lo, int64_t hi, merkle_hash *hashes, size_t *pos,
                         merkle_hash out)
{
    size_t num = 0;
    while (lo < hi) {
        lo += maxpow2(hi - lo + 1, NULL);
        num++;
    }
    merkle_hash h;
    memcpy(h, hashes[*pos + num - 1], MERKLE_HASH);
    for (size_t i = num - 1; i-- > 0;) merkle_node_hash(hashes[*pos + i], h, h);
    memcpy(out, h, MERKLE_HASH);
    *pos += num;
}

int merkle_tree_hash(int64_t size, const merkle_reader *r, merkle_hash out, char *err,
                     size_t errlen)
{
    if (size < 0 || size > MERKLE_MAX_SIZE) {
        snprintf(err, errlen, "tree size %lld out of range", (long long)size);
        return MERKLE_EINVAL;
    }
    if (size == 0) {
        merkle_empty_root(out);
        return MERKLE_OK;
    }
    idxlist need = {.n = 0};
    subtree_index(0, size, &need);
    merkle_hash got[MAX_INDEXES];
    int rc = read_all(r, &need, got, err, errlen);
    if (rc != MERKLE_OK) return rc;
    size_t pos = 0;
    subtree_hash(0, size, got, &pos, out);
    return MERKLE_OK;
}

/* The indexes the proof that leaf n is in [lo, hi) needs (leafProofIndex). */
static void leaf_proof_index(int64_t lo, int64_t hi, int64_t n, idxlist *need)
{
    if (lo + 1 == hi) return;
    int64_t k = maxpow2(hi - lo, NULL);
    if (n < lo + k) {
        leaf_proof_index(lo, lo + k, n, need);
        subtree_index(lo + k, hi, need);
    } else {
        subtree_index(lo, lo + k, need);
        leaf_proof_index(lo + k, hi, n, need);
    }
}

/* The proof itself, appended to out[*len] (leafProof): the sibling of the
** leaf first, the root's other child last. */
static void leaf_proof(int64_t lo, int64_t hi, int64_t n, merkle_hash *hashes,
                       size_t *pos, merkle_hash *out, size_t *len)
{
    if (lo + 1 == hi) return;
    int64_t k = maxpow2(hi - lo, NULL);
    merkle_hash th;
    if (n < lo + k) {
        leaf_proof(lo, lo + k, n, hashes, pos, out, len);
        subtree_hash(lo + k, hi, hashes, pos, th);
    } else {
        subtree_hash(lo, lo + k, hashes, pos, th);
        leaf_proof(lo + k, hi, n, hashes, pos, out, len);
    }
    memcpy(out[(*len)++], th, MERKLE_HASH);
}

int merkle_prove_inclusion(int64_t index, int64_t size, const merkle_reader *r,
                           merkle_hash out[MERKLE_MAX_PROOF], size_t *len, char *err,
                           size_t errlen)
{
    *len = 0;
    if (size < 1 || size > MERKLE_MAX_SIZE || index < 0 || index >= size) {
        snprintf(err, errlen, "no leaf %lld in a tree of size %lld", (long long)index,
                 (long long)size);
        return MERKLE_EINVAL;
    }
    idxlist need = {.n = 0};
    leaf_proof_index(0, size, index, &need);
    merkle_hash got[MAX_INDEXES];
    int rc = read_all(r, &need, got, err, errlen);
    if (rc != MERKLE_OK) return rc;
    size_t pos = 0;
    leaf_proof(0, size, index, got, &pos, out, len);
    return MERKLE_OK;
}

/* The indexes the consistency sub-proof for [lo, hi) needs, where n is the
** old size (treeProofIndex). */
static void tree_proof_index(int64_t lo, int64_t hi, int64_t n, idxlist *need)
{
    if (n == hi) {
        if (lo != 0) subtree_index(lo, hi, need);
        return;
    }
    int64_t k = maxpow2(hi - lo, NULL);
    if (n <= lo + k) {
        tree_proof_index(lo, lo + k, n, need);
        subtree_index(lo + k, hi, need);
    } else {
        subtree_index(lo, lo + k, need);
        tree_proof_index(lo + k, hi, n, need);
    }
}

/* The consistency sub-proof itself (treeProof). */
static void tree_proof(int64_t lo, int64_t hi, int64_t n, merkle_hash *hashes,
                       size_t *pos, merkle_hash *out, size_t *len)
{
    merkle_hash th;
    if (n == hi) {
        /* Common ground: the old tree itself needs no hash (the verifier
        ** has it); any other subtree does. */
        if (lo != 0) {
            subtree_hash(lo, hi, hashes, pos, th);
            memcpy(out[(*len)++], th, MERKLE_HASH);
        }
        return;
    }
    int64_t k = maxpow2(hi - lo, NULL);
    if (n <= lo + k) {
        tree_proof(lo, lo + k, n, hashes, pos, out, len);
        subtree_hash(lo + k, hi, hashes, pos, th);
    } else {
        subtree_hash(lo, lo + k, hashes, pos, th);
        tree_proof(lo + k, hi, n, hashes, pos, out, len);
    }
    memcpy(out[(*len)++], th, MERKLE_HASH);
}

int merkle_prove_consistency(int64_t old_size, int64_t new_size, const merkle_reader *r,
                             merkle_hash out[MERKLE_MAX_PROOF], size_t *len, char *err,
                             size_t errlen)
{
    *len = 0;
    if (old_size < 0 || new_size > MERKLE_MAX_SIZE || old_size > new_size) {
        snprintf(err, errlen, "no consistency proof from size %lld to size %lld",
                 (long long)old_size, (long long)new_size);
        return MERKLE_EINVAL;
    }
    if (old_size == 0 || old_size == new_size) return MERKLE_OK;
    idxlist need = {.n = 0};
    tree_proof_index(0, new_size, old_size, &need);
    merkle_hash got[MAX_INDEXES];
    int rc = read_all(r, &need, got, err, errlen);
    if (rc != MERKLE_OK) return rc;
    size_t pos = 0;
    tree_proof(0, new_size, old_size, got, &pos, out, len);
    return MERKLE_OK;
}

int merkle_verify_inclusion(int64_t index, int64_t size, const merkle_hash leaf_hash,
                            const uint8_t *proof, size_t len, const merkle_hash root)
{
    if (index < 0 || size < 1 || index >= size) return MERKLE_EINVAL;
    if (len > MERKLE_MAX_PROOF) return MERKLE_EPROOF;
    uint64_t fn = (uint64_t)index, sn = (uint64_t)size - 1;
    merkle_hash r;
    memcpy(r, leaf_hash, MERKLE_HASH);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0) return MERKLE_EPROOF; /* the path is too long */
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof + MERKLE_HASH * i, r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(r, proof + MERKLE_HASH * i, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) return MERKLE_EPROOF; /* the path is too short */
    return sodium_memcmp(r, root, MERKLE_HASH) == 0 ? MERKLE_OK : MERKLE_EPROOF;
}

int merkle_verify_consistency(int64_t old_size, int64_t new_size, const merkle_hash old_root,
                              const merkle_hash new_root, const uint8_t *proof, size_t len)
{
    if (old_size < 0 || old_size > new_size) return MERKLE_EINVAL;
    if (old_size == 0) return len == 0 ? MERKLE_OK : MERKLE_EPROOF;
    if (old_size == new_size) {
        if (len != 0) return MERKLE_EPROOF;
        return sodium_memcmp(old_root, new_root, MERKLE_HASH) == 0 ? MERKLE_OK : MERKLE_EPROOF;
    }
    if (len == 0 || len > MERKLE_MAX_PROOF) return MERKLE_EPROOF;
    /* When the old tree is a complete subtree its root starts the path. */
    const uint8_t *path[MERKLE_MAX_PROOF + 1];
    size_t n = 0;
    if ((old_size & (old_size - 1)) == 0) path[n++] = old_root;
    for (size_t i = 0; i < len; i++) path[n++] = proof + MERKLE_HASH * i;
    uint64_t fn = (uint64_t)old_size - 1, sn = (uint64_t)new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    merkle_hash fr, sr;
    memcpy(fr, path[0], MERKLE_HASH);
    memcpy(sr, path[0], MERKLE_HASH);
    for (size_t i = 1; i < n; i++) {
        if (sn == 0) return MERKLE_EPROOF;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(path[i], fr, fr);
            merkle_node_hash(path[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) return MERKLE_EPROOF;
    if (sodium_memcmp(fr, old_root, MERKLE_HASH) != 0) return MERKLE_EPROOF;
    return sodium_memcmp(sr, new_root, MERKLE_HASH) == 0 ? MERKLE_OK : MERKLE_EPROOF;
}

static int mem_read(void *ctx, const int64_t *indexes, size_t n, merkle_hash *out, char *err,
                    size_t errlen)
{
    const merkle_mem *m = ctx;
    for (size_t i = 0; i < n; i++) {
        if (indexes[i] < 0 || indexes[i] >= m->count) {
            snprintf(err, errlen, "no stored hash at index %lld (the tree stores %lld)",
                     (long long)indexes[i], (long long)m->count);
            return -1;
        }
        memcpy(out[i], m->h[indexes[i]], MERKLE_HASH);
    }
    return 0;
}

int merkle_mem_append(merkle_mem *m, const merkle_hash leaf_hash)
{
    if (m->f.size >= MERKLE_MAX_SIZE) return MERKLE_EINVAL;
    if (m->cap - m->count < MERKLE_MAX_STORED) {
        int64_t cap = m->cap ? m->cap * 2 : 256;
        merkle_hash *h = realloc(m->h, (size_t)cap * sizeof *h);
        if (!h) return MERKLE_ENOMEM;
        m->h = h;
        m->cap = cap;
    }
    size_t count;
    merkle_frontier_append(&m->f, leaf_hash, m->h + m->count, &count);
    m->count += (int64_t)count;
    return MERKLE_OK;
}

merkle_reader merkle_mem_reader(merkle_mem *m)
{
    merkle_reader r = {mem_read, m};
    return r;
}

void merkle_mem_free(merkle_mem *m)
{
    free(m->h);
    memset(m, 0, sizeof *m);
}
