/*
** test_merkle.c: the Merkle tree (src/tlog/merkle.h).
**
** Known answers first (the RFC 6962 test vectors of Certificate
** Transparency), then every tree shape up to a size checked against the
** RFC's recursive definitions written out naively here (MTH, PATH, PROOF),
** then the stored-hash layout against Go's numbering, the frontier against
** the reader, and each way a proof can be tampered with.
*/
#include "test.h"

#include <sodium.h>
#include <stdint.h>

#include "tlog/merkle.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL);
}

static int hash_is(const uint8_t *h, const char *hex)
{
    char buf[65];
    sodium_bin2hex(buf, sizeof buf, h, 32);
    if (strcmp(buf, hex) != 0) fprintf(stderr, "have %s\nwant %s\n", buf, hex);
    return strcmp(buf, hex) == 0;
}

/* The eight leaves of the RFC 6962 test vectors, and the roots of the
** trees of their first 1..8. */
static const char *const ct_leaves[] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void ct_tree(merkle_mem *m)
{
    for (int i = 0; i < 8; i++) {
        uint8_t data[16];
        merkle_hash h;
        size_t n = strlen(ct_leaves[i]) / 2;
        unhex(ct_leaves[i], data, n);
        merkle_leaf_hash(data, n, h);
        merkle_mem_append(m, h);
    }
}

/* Leaf hashes of a synthetic log: leaf i's data is SHA-256 of i, as an
** entry's chain hash would be 32 bytes. */
static void leaf_of(int64_t i, merkle_hash out)
{
    uint8_t data[32];
    crypto_hash_sha256(data, (const uint8_t *)&i, sizeof i);
    merkle_leaf_hash(data, sizeof data, out);
}

static void fill(merkle_mem *m, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        merkle_hash h;
        leaf_of(i, h);
        merkle_mem_append(m, h);
    }
}

/* RFC 6962 2.1: MTH(D[lo:hi]) straight from the definition. */
static int64_t split(int64_t n)
{
    int64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

static void mth(merkle_hash *leaves, int64_t lo, int64_t hi, merkle_hash out)
{
    if (hi == lo) {
        merkle_empty_root(out);
    } else if (hi - lo == 1) {
        memcpy(out, leaves[lo], 32);
    } else {
        merkle_hash l, r;
        int64_t k = split(hi - lo);
        mth(leaves, lo, lo + k, l);
        mth(leaves, lo + k, hi, r);
        merkle_node_hash(l, r, out);
    }
}

/* RFC 6962 2.1.1: PATH(m, D[lo:hi]). */
static void path(merkle_hash *leaves, int64_t m, int64_t lo, int64_t hi, merkle_hash *out,
                 size_t *len)
{
    if (hi - lo <= 1) return;
    int64_t k = split(hi - lo);
    merkle_hash h;
    if (m < k) {
        path(leaves, m, lo, lo + k, out, len);
        mth(leaves, lo + k, hi, h);
    } else {
        path(leaves, m - k, lo + k, hi, out, len);
        mth(leaves, lo, lo + k, h);
    }
    memcpy(out[(*len)++], h, 32);
}

/* RFC 6962 2.1.2: SUBPROOF(m, D[lo:hi], b). */
static void subproof(merkle_hash *leaves, int64_t m, int64_t lo, int64_t hi, int b,
                     merkle_hash *out, size_t *len)
{
    merkle_hash h;
    int64_t n = hi - lo;
    if (m == n) {
        if (!b) {
            mth(leaves, lo, hi, h);
            memcpy(out[(*len)++], h, 32);
        }
        return;
    }
    int64_t k = split(n);
    if (m <= k) {
        subproof(leaves, m, lo, lo + k, b, out, len);
        mth(leaves, lo + k, hi, h);
    } else {
        subproof(leaves, m - k, lo + k, hi, 0, out, len);
        mth(leaves, lo, lo + k, h);
    }
    memcpy(out[(*len)++], h, 32);
}

static merkle_hash *leaves_of(int64_t n)
{
    merkle_hash *l = malloc((size_t)(n ? n : 1) * sizeof *l);
    for (int64_t i = 0; i < n; i++) leaf_of(i, l[i]);
    return l;
}

TEST(empty_root_is_sha256_of_nothing)
{
    merkle_hash h;
    merkle_empty_root(h);
    ASSERT(hash_is(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    merkle_mem m = {0};
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    memset(h, 0, sizeof h);
    ASSERT_EQ_INT(merkle_tree_hash(0, &r, h, err, sizeof err), MERKLE_OK);
    ASSERT(hash_is(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    merkle_frontier f = {0};
    merkle_frontier_root(&f, h);
    ASSERT(hash_is(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(leaf_and_node_hashes_carry_their_prefix_bytes)
{
    merkle_hash l, r, h, want;
    uint8_t buf[65];
    merkle_leaf_hash("", 0, l);
    ASSERT(hash_is(l, ct_roots[0]));
    buf[0] = 0x00;
    memcpy(buf + 1, "abc", 3);
    crypto_hash_sha256(want, buf, 4);
    merkle_leaf_hash("abc", 3, h);
    ASSERT(memcmp(h, want, 32) == 0);
    merkle_leaf_hash("x", 1, r);
    buf[0] = 0x01;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    crypto_hash_sha256(want, buf, 65);
    merkle_node_hash(l, r, h);
    ASSERT(memcmp(h, want, 32) == 0);
    merkle_node_hash(l, r, l); /* out may alias an input */
    ASSERT(memcmp(l, want, 32) == 0);
}

TEST(rfc6962_roots_for_sizes_1_to_8)
{
    merkle_mem m = {0};
    ct_tree(&m);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (int n = 1; n <= 8; n++) {
        merkle_hash h;
        ASSERT_EQ_INT(merkle_tree_hash(n, &r, h, err, sizeof err), MERKLE_OK);
        ASSERT(hash_is(h, ct_roots[n - 1]));
    }
    merkle_hash h;
    merkle_frontier_root(&m.f, h);
    ASSERT(hash_is(h, ct_roots[7]));
    merkle_mem_free(&m);
}

TEST(rfc6962_inclusion_vectors)
{
    static const struct {
        int64_t index, size;
        const char *path[3];
    } v[] = {
        {0, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
        {5, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    };
    merkle_mem m = {0};
    ct_tree(&m);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        merkle_hash p[MERKLE_MAX_PROOF], root;
        size_t len = 0;
        ASSERT_EQ_INT(merkle_prove_inclusion(v[i].index, v[i].size, &r, p, &len, err, sizeof err),
                      MERKLE_OK);
        ASSERT_EQ_INT(len, 3);
        for (size_t j = 0; j < 3; j++) ASSERT(hash_is(p[j], v[i].path[j]));
        unhex(ct_roots[v[i].size - 1], root, 32);
        ASSERT_EQ_INT(merkle_verify_inclusion(v[i].index, v[i].size, m.h[merkle_stored_index(0, v[i].index)],
                                              p[0], len, root),
                      MERKLE_OK);
    }
    merkle_mem_free(&m);
}

TEST(rfc6962_consistency_vectors)
{
    static const struct {
        int64_t old_size, new_size;
        size_t len;
        const char *path[3];
    } v[] = {
        {2, 8, 2, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                   "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
        {6, 8, 3, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                   "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                   "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    };
    merkle_mem m = {0};
    ct_tree(&m);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        merkle_hash p[MERKLE_MAX_PROOF], o, n;
        size_t len = 0;
        ASSERT_EQ_INT(merkle_prove_consistency(v[i].old_size, v[i].new_size, &r, p, &len, err,
                                               sizeof err),
                      MERKLE_OK);
        ASSERT_EQ_INT(len, v[i].len);
        for (size_t j = 0; j < len; j++) ASSERT(hash_is(p[j], v[i].path[j]));
        unhex(ct_roots[v[i].old_size - 1], o, 32);
        unhex(ct_roots[v[i].new_size - 1], n, 32);
        ASSERT_EQ_INT(merkle_verify_consistency(v[i].old_size, v[i].new_size, o, n, p[0], len),
                      MERKLE_OK);
    }
    merkle_mem_free(&m);
}

TEST(stored_indexes_follow_go_tlog_numbering)
{
    /* Leaf 0 stores index 0; leaf 1 stores 1 and its parent 2; leaf 2
    ** stores 3; leaf 3 stores 4, the parent 5 of leaves 2-3, and the root
    ** 6 of leaves 0-3. */
    ASSERT_EQ_INT(merkle_stored_index(0, 0), 0);
    ASSERT_EQ_INT(merkle_stored_index(0, 1), 1);
    ASSERT_EQ_INT(merkle_stored_index(1, 0), 2);
    ASSERT_EQ_INT(merkle_stored_index(0, 2), 3);
    ASSERT_EQ_INT(merkle_stored_index(0, 3), 4);
    ASSERT_EQ_INT(merkle_stored_index(1, 1), 5);
    ASSERT_EQ_INT(merkle_stored_index(2, 0), 6);
    ASSERT_EQ_INT(merkle_stored_index(0, 4), 7);
    ASSERT_EQ_INT(merkle_stored_count(0), 0);
    ASSERT_EQ_INT(merkle_stored_count(1), 1);
    ASSERT_EQ_INT(merkle_stored_count(2), 3);
    ASSERT_EQ_INT(merkle_stored_count(4), 7);
    ASSERT_EQ_INT(merkle_stored_count(5), 8);
}

TEST(split_stored_index_inverts_stored_index)
{
    for (int64_t i = 0; i < 20000; i++) {
        int level;
        int64_t n;
        merkle_split_stored_index(i, &level, &n);
        ASSERT_EQ_INT(merkle_stored_index(level, n), i);
    }
    /* Far out too: a leaf near the largest tree. */
    int64_t big = merkle_stored_index(0, MERKLE_MAX_SIZE - 1);
    int level;
    int64_t n;
    merkle_split_stored_index(big, &level, &n);
    ASSERT_EQ_INT(level, 0);
    ASSERT_EQ_INT(n, MERKLE_MAX_SIZE - 1);
}

TEST(appends_store_about_two_hashes_per_leaf)
{
    merkle_mem m = {0};
    fill(&m, 1000);
    ASSERT_EQ_INT(m.count, merkle_stored_count(1000));
    ASSERT(m.count < 2 * 1000);
    /* Each leaf's hash sits where Go's layout puts it. */
    for (int64_t i = 0; i < 1000; i++) {
        merkle_hash h;
        leaf_of(i, h);
        ASSERT(memcmp(m.h[merkle_stored_index(0, i)], h, 32) == 0);
    }
    merkle_mem_free(&m);
}

TEST(stored_hashes_through_a_reader_equal_the_frontiers)
{
    merkle_mem m = {0};
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (int64_t i = 0; i < 600; i++) {
        merkle_hash leaf, a[MERKLE_MAX_STORED], b[MERKLE_MAX_STORED];
        size_t na = 0, nb = 0;
        leaf_of(i, leaf);
        ASSERT_EQ_INT(merkle_stored_hashes(i, leaf, &r, a, &na, err, sizeof err), MERKLE_OK);
        merkle_frontier f = m.f;
        ASSERT_EQ_INT(merkle_frontier_append(&f, leaf, b, &nb), MERKLE_OK);
        ASSERT_EQ_INT(na, nb);
        ASSERT_EQ_INT(na, 1 + __builtin_ctzll((unsigned long long)(i + 1)));
        ASSERT(memcmp(a, b, na * 32) == 0);
        ASSERT_EQ_INT(merkle_mem_append(&m, leaf), MERKLE_OK);
    }
    merkle_mem_free(&m);
}

TEST(frontier_loaded_from_storage_continues_the_tree)
{
    merkle_mem m = {0}, copy = {0};
    fill(&m, 1000);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (int64_t size = 0; size <= 1000; size += 37) {
        merkle_frontier f;
        merkle_hash root, want;
        ASSERT_EQ_INT(merkle_frontier_load(&f, size, &r, err, sizeof err), MERKLE_OK);
        ASSERT_EQ_INT(f.size, size);
        merkle_frontier_root(&f, root);
        ASSERT_EQ_INT(merkle_tree_hash(size, &r, want, err, sizeof err), MERKLE_OK);
        ASSERT(memcmp(root, want, 32) == 0);
    }
    /* A tree appended in two sittings equals one appended at once. */
    fill(&copy, 500);
    merkle_reader rc = merkle_mem_reader(&copy);
    merkle_frontier f;
    ASSERT_EQ_INT(merkle_frontier_load(&f, 500, &rc, err, sizeof err), MERKLE_OK);
    copy.f = f;
    for (int64_t i = 500; i < 1000; i++) {
        merkle_hash h;
        leaf_of(i, h);
        merkle_mem_append(&copy, h);
    }
    ASSERT_EQ_INT(copy.count, m.count);
    ASSERT(memcmp(copy.h, m.h, (size_t)m.count * 32) == 0);
    merkle_mem_free(&m);
    merkle_mem_free(&copy);
}

TEST(tree_hash_matches_the_rfc_definition_for_every_size_to_300)
{
    merkle_mem m = {0};
    merkle_hash *leaves = leaves_of(300);
    fill(&m, 300);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (int64_t n = 0; n <= 300; n++) {
        merkle_hash got, want;
        ASSERT_EQ_INT(merkle_tree_hash(n, &r, got, err, sizeof err), MERKLE_OK);
        mth(leaves, 0, n, want);
        ASSERT(memcmp(got, want, 32) == 0);
    }
    free(leaves);
    merkle_mem_free(&m);
}

TEST(inclusion_proofs_match_the_rfc_and_verify_for_every_leaf_to_100)
{
    merkle_mem m = {0};
    merkle_hash *leaves = leaves_of(100);
    fill(&m, 100);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (int64_t n = 1; n <= 100; n++) {
        merkle_hash root;
        mth(leaves, 0, n, root);
        for (int64_t i = 0; i < n; i++) {
            merkle_hash got[MERKLE_MAX_PROOF], want[MERKLE_MAX_PROOF];
            size_t glen = 0, wlen = 0;
            ASSERT_EQ_INT(merkle_prove_inclusion(i, n, &r, got, &glen, err, sizeof err),
                          MERKLE_OK);
            path(leaves, i, 0, n, want, &wlen);
            ASSERT_EQ_INT(glen, wlen);
            ASSERT(memcmp(got, want, glen * 32) == 0);
            ASSERT_EQ_INT(merkle_verify_inclusion(i, n, leaves[i], got[0], glen, root), MERKLE_OK);
        }
    }
    free(leaves);
    merkle_mem_free(&m);
}

TEST(consistency_proofs_match_the_rfc_and_verify_for_every_pair_to_80)
{
    merkle_mem m = {0};
    merkle_hash *leaves = leaves_of(80);
    fill(&m, 80);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    for (int64_t n = 1; n <= 80; n++) {
        merkle_hash nroot;
        mth(leaves, 0, n, nroot);
        for (int64_t o = 0; o <= n; o++) {
            merkle_hash got[MERKLE_MAX_PROOF], want[MERKLE_MAX_PROOF], oroot;
            size_t glen = 0, wlen = 0;
            mth(leaves, 0, o, oroot);
            ASSERT_EQ_INT(merkle_prove_consistency(o, n, &r, got, &glen, err, sizeof err),
                          MERKLE_OK);
            if (o > 0 && o < n) subproof(leaves, o, 0, n, 1, want, &wlen);
            ASSERT_EQ_INT(glen, wlen);
            ASSERT(memcmp(got, want, glen * 32) == 0);
            ASSERT_EQ_INT(merkle_verify_consistency(o, n, oroot, nroot, got[0], glen), MERKLE_OK);
        }
    }
    free(leaves);
    merkle_mem_free(&m);
}

/* Every tampering of every inclusion proof of a 70-leaf tree fails. */
TEST(inclusion_refuses_a_changed_truncated_extended_or_misplaced_path)
{
    merkle_mem m = {0};
    fill(&m, 70);
    merkle_reader r = merkle_mem_reader(&m);
    merkle_hash root, other;
    char err[256];
    merkle_tree_hash(70, &r, root, err, sizeof err);
    for (int64_t i = 0; i < 70; i++) {
        merkle_hash p[MERKLE_MAX_PROOF + 1], leaf;
        size_t len = 0;
        leaf_of(i, leaf);
        merkle_prove_inclusion(i, 70, &r, p, &len, err, sizeof err);
        ASSERT(len > 0);
        for (size_t j = 0; j < len; j++) {
            p[j][j % 32] ^= 0x01;
            ASSERT_EQ_INT(merkle_verify_inclusion(i, 70, leaf, p[0], len, root), MERKLE_EPROOF);
            p[j][j % 32] ^= 0x01;
        }
        ASSERT_EQ_INT(merkle_verify_inclusion(i, 70, leaf, p[0], len - 1, root), MERKLE_EPROOF);
        memset(p[len], 0xab, 32);
        ASSERT_EQ_INT(merkle_verify_inclusion(i, 70, leaf, p[0], len + 1, root), MERKLE_EPROOF);
        ASSERT_EQ_INT(merkle_verify_inclusion((i + 1) % 70, 70, leaf, p[0], len, root),
                      MERKLE_EPROOF);
        /* A tree of twice the size has a longer path (a size close by may
        ** share this one's shape: the checkpoint's signature binds it). */
        ASSERT_EQ_INT(merkle_verify_inclusion(i, 140, leaf, p[0], len, root), MERKLE_EPROOF);
        leaf_of(i + 1, other);
        ASSERT_EQ_INT(merkle_verify_inclusion(i, 70, other, p[0], len, root), MERKLE_EPROOF);
        ASSERT_EQ_INT(merkle_verify_inclusion(i, 70, leaf, p[0], len, root), MERKLE_OK);
    }
    ASSERT_EQ_INT(merkle_verify_inclusion(70, 70, root, NULL, 0, root), MERKLE_EINVAL);
    ASSERT_EQ_INT(merkle_verify_inclusion(-1, 70, root, NULL, 0, root), MERKLE_EINVAL);
    merkle_mem_free(&m);
}

TEST(consistency_refuses_a_changed_truncated_or_extended_proof)
{
    merkle_mem m = {0};
    fill(&m, 70);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    merkle_hash nroot;
    merkle_tree_hash(70, &r, nroot, err, sizeof err);
    for (int64_t o = 1; o < 70; o++) {
        merkle_hash p[MERKLE_MAX_PROOF + 1], oroot;
        size_t len = 0;
        merkle_tree_hash(o, &r, oroot, err, sizeof err);
        merkle_prove_consistency(o, 70, &r, p, &len, err, sizeof err);
        ASSERT(len > 0);
        for (size_t j = 0; j < len; j++) {
            p[j][5] ^= 0x80;
            ASSERT_EQ_INT(merkle_verify_consistency(o, 70, oroot, nroot, p[0], len), MERKLE_EPROOF);
            p[j][5] ^= 0x80;
        }
        ASSERT_EQ_INT(merkle_verify_consistency(o, 70, oroot, nroot, p[0], len - 1), MERKLE_EPROOF);
        memset(p[len], 0xcd, 32);
        ASSERT_EQ_INT(merkle_verify_consistency(o, 70, oroot, nroot, p[0], len + 1), MERKLE_EPROOF);
        /* A different old tree (one leaf more) or new tree (one less). */
        merkle_hash wrong_old, wrong_new;
        merkle_tree_hash(o + 1, &r, wrong_old, err, sizeof err);
        merkle_tree_hash(69, &r, wrong_new, err, sizeof err);
        ASSERT_EQ_INT(merkle_verify_consistency(o, 70, wrong_old, nroot, p[0], len),
                      MERKLE_EPROOF);
        ASSERT_EQ_INT(merkle_verify_consistency(o, 70, oroot, wrong_new, p[0], len),
                      MERKLE_EPROOF);
        ASSERT_EQ_INT(merkle_verify_consistency(o, 70, oroot, nroot, p[0], len), MERKLE_OK);
    }
    merkle_mem_free(&m);
}

TEST(consistency_of_equal_sizes_and_of_the_empty_tree)
{
    merkle_mem m = {0};
    fill(&m, 9);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256];
    merkle_hash a, b, p[MERKLE_MAX_PROOF];
    size_t len = 99;
    merkle_tree_hash(9, &r, a, err, sizeof err);
    merkle_tree_hash(8, &r, b, err, sizeof err);
    ASSERT_EQ_INT(merkle_prove_consistency(9, 9, &r, p, &len, err, sizeof err), MERKLE_OK);
    ASSERT_EQ_INT(len, 0);
    ASSERT_EQ_INT(merkle_verify_consistency(9, 9, a, a, NULL, 0), MERKLE_OK);
    ASSERT_EQ_INT(merkle_verify_consistency(9, 9, a, b, NULL, 0), MERKLE_EPROOF);
    ASSERT_EQ_INT(merkle_verify_consistency(9, 9, a, a, a, 1), MERKLE_EPROOF);
    len = 99;
    ASSERT_EQ_INT(merkle_prove_consistency(0, 9, &r, p, &len, err, sizeof err), MERKLE_OK);
    ASSERT_EQ_INT(len, 0);
    ASSERT_EQ_INT(merkle_verify_consistency(0, 9, NULL, a, NULL, 0), MERKLE_OK);
    ASSERT_EQ_INT(merkle_verify_consistency(0, 9, NULL, a, a, 1), MERKLE_EPROOF);
    ASSERT_EQ_INT(merkle_verify_consistency(9, 8, a, b, NULL, 0), MERKLE_EINVAL);
    /* A non-empty proof between different sizes cannot be empty. */
    ASSERT_EQ_INT(merkle_verify_consistency(8, 9, b, a, NULL, 0), MERKLE_EPROOF);
    merkle_mem_free(&m);
}

TEST(proofs_out_of_range_are_refused_with_a_sentence)
{
    merkle_mem m = {0};
    fill(&m, 5);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256] = "";
    merkle_hash p[MERKLE_MAX_PROOF], s[MERKLE_MAX_STORED], h = {0};
    size_t len;
    ASSERT_EQ_INT(merkle_prove_inclusion(5, 5, &r, p, &len, err, sizeof err), MERKLE_EINVAL);
    ASSERT_CONTAINS(err, "no leaf 5");
    ASSERT_EQ_INT(merkle_prove_inclusion(-1, 5, &r, p, &len, err, sizeof err), MERKLE_EINVAL);
    ASSERT_EQ_INT(merkle_prove_consistency(6, 5, &r, p, &len, err, sizeof err), MERKLE_EINVAL);
    ASSERT_EQ_INT(merkle_tree_hash(-1, &r, h, err, sizeof err), MERKLE_EINVAL);
    ASSERT_EQ_INT(merkle_tree_hash(MERKLE_MAX_SIZE + 1, &r, h, err, sizeof err), MERKLE_EINVAL);
    ASSERT_EQ_INT(merkle_stored_hashes(MERKLE_MAX_SIZE, h, &r, s, &len, err, sizeof err),
                  MERKLE_EINVAL);
    merkle_frontier f = {.size = MERKLE_MAX_SIZE};
    ASSERT_EQ_INT(merkle_frontier_append(&f, h, s, &len), MERKLE_EINVAL);
    merkle_mem_free(&m);
}

TEST(a_tree_larger_than_storage_is_a_read_error)
{
    merkle_mem m = {0};
    fill(&m, 5);
    merkle_reader r = merkle_mem_reader(&m);
    char err[256] = "";
    merkle_hash h, p[MERKLE_MAX_PROOF];
    size_t len;
    ASSERT_EQ_INT(merkle_tree_hash(6, &r, h, err, sizeof err), MERKLE_EREAD);
    ASSERT_CONTAINS(err, "no stored hash at index");
    ASSERT_EQ_INT(merkle_prove_inclusion(0, 7, &r, p, &len, err, sizeof err), MERKLE_EREAD);
    merkle_mem_free(&m);
}

/* A reader that counts what it is asked for. */
typedef struct counting {
    merkle_reader inner;
    int calls;
    size_t hashes;
} counting;

static int counting_read(void *ctx, const int64_t *idx, size_t n, merkle_hash *out, char *err,
                         size_t errlen)
{
    counting *c = ctx;
    c->calls++;
    c->hashes += n;
    return c->inner.read(c->inner.ctx, idx, n, out, err, errlen);
}

TEST(proofs_read_a_logarithmic_number_of_hashes_in_one_call)
{
    merkle_mem m = {0};
    const int64_t size = 100000; /* log2: 17 */
    fill(&m, size);
    counting c = {merkle_mem_reader(&m), 0, 0};
    merkle_reader r = {counting_read, &c};
    char err[256];
    merkle_hash p[MERKLE_MAX_PROOF], h;
    size_t len;
    static const int64_t probes[] = {0, 1, 4095, 65536, 77777, 99998, 99999};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        c.calls = 0;
        c.hashes = 0;
        ASSERT_EQ_INT(merkle_prove_inclusion(probes[i], size, &r, p, &len, err, sizeof err),
                      MERKLE_OK);
        ASSERT_EQ_INT(c.calls, 1);
        ASSERT(c.hashes <= 2 * 17);
        c.calls = 0;
        c.hashes = 0;
        ASSERT_EQ_INT(merkle_prove_consistency(probes[i] + 1, size, &r, p, &len, err, sizeof err),
                      MERKLE_OK);
        ASSERT(c.calls <= 1);
        ASSERT(c.hashes <= 3 * 17);
    }
    c.calls = 0;
    c.hashes = 0;
    ASSERT_EQ_INT(merkle_tree_hash(size, &r, h, err, sizeof err), MERKLE_OK);
    ASSERT_EQ_INT(c.calls, 1);
    ASSERT(c.hashes <= 17);
    merkle_mem_free(&m);
}

TEST_MAIN(TEST_ENTRY(empty_root_is_sha256_of_nothing)
          TEST_ENTRY(leaf_and_node_hashes_carry_their_prefix_bytes)
          TEST_ENTRY(rfc6962_roots_for_sizes_1_to_8)
          TEST_ENTRY(rfc6962_inclusion_vectors)
          TEST_ENTRY(rfc6962_consistency_vectors)
          TEST_ENTRY(stored_indexes_follow_go_tlog_numbering)
          TEST_ENTRY(split_stored_index_inverts_stored_index)
          TEST_ENTRY(appends_store_about_two_hashes_per_leaf)
          TEST_ENTRY(stored_hashes_through_a_reader_equal_the_frontiers)
          TEST_ENTRY(frontier_loaded_from_storage_continues_the_tree)
          TEST_ENTRY(tree_hash_matches_the_rfc_definition_for_every_size_to_300)
          TEST_ENTRY(inclusion_proofs_match_the_rfc_and_verify_for_every_leaf_to_100)
          TEST_ENTRY(consistency_proofs_match_the_rfc_and_verify_for_every_pair_to_80)
          TEST_ENTRY(inclusion_refuses_a_changed_truncated_extended_or_misplaced_path)
          TEST_ENTRY(consistency_refuses_a_changed_truncated_or_extended_proof)
          TEST_ENTRY(consistency_of_equal_sizes_and_of_the_empty_tree)
          TEST_ENTRY(proofs_out_of_range_are_refused_with_a_sentence)
          TEST_ENTRY(a_tree_larger_than_storage_is_a_read_error)
          TEST_ENTRY(proofs_read_a_logarithmic_number_of_hashes_in_one_call))
