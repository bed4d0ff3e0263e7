/*
** merkle.h: the RFC 6962 / RFC 9162 Merkle tree over a log's entries.
**
** Leaf i of a log is the entry with seq i + 1; its data is the entry's
** 32-byte chain hash, so the leaf hash is SHA-256(0x00 || hash) and an
** interior node SHA-256(0x01 || left || right).  The tree is what lets a
** reviewer check one entry (an inclusion proof) or that a log only grew
** (a consistency proof) with a few hundred bytes and no access to the log.
**
** Storage is Go's golang.org/x/mod/sumdb/tlog "stored hashes" layout
** (Crosby and Wallach's ordering): every complete subtree's hash has a
** fixed index in one dense sequence, StoredHashIndex(level, n), and
** appending leaf n stores, from index merkle_stored_index(0, n) on, the
** leaf's hash followed by the root of each subtree that leaf completes
** (one hash, plus one per trailing 1 bit of n: about two per entry).
** A backend keeps these hashes in any table addressed by index and serves
** them through a merkle_reader; a tree hash or a proof then reads at most
** a few times log2(n) of them in one call, never the whole log.  The same
** layout as Go's means Go's tlog package reads our storage as its own.
**
** The empty tree's hash is SHA-256 of the empty string (RFC 6962 2.1;
** tlog-witness requires it for size 0), where Go's TreeHash returns zeros.
**
** All hashing is libsodium's SHA-256.  Sizes and indexes are int64_t;
** trees hold at most MERKLE_MAX_SIZE leaves so that stored indexes fit.
*/
#ifndef DSS_MERKLE_H
#define DSS_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH 32
/* Leaves a tree may hold: stored indexes (about 2n) stay below 2^63. */
#define MERKLE_MAX_SIZE (INT64_C(1) << 62)
/* Hashes in the longest proof of any tree up to MERKLE_MAX_SIZE, and the
** most tlog-witness lets a client send (63 lines). */
#define MERKLE_MAX_PROOF 63
/* Hashes stored by one append: the leaf and up to 62 completed subtrees. */
#define MERKLE_MAX_STORED 64

enum {
    MERKLE_OK = 0,
    MERKLE_EINVAL = -1, /* sizes or indexes out of range */
    MERKLE_EREAD = -2,  /* the reader failed; err holds its sentence */
    MERKLE_EPROOF = -3, /* a proof does not verify */
    MERKLE_ENOMEM = -4
};

typedef uint8_t merkle_hash[MERKLE_HASH];

/*
** The contract a storage backend fulfils: fill out[i] with the stored hash
** at indexes[i] for every i < n (indexes come sorted ascending where that
** is natural, but need not be).  Return 0, or a negative value with a
** sentence in err when a hash cannot be read (a missing index included).
*/
typedef int (*merkle_read_fn)(void *ctx, const int64_t *indexes, size_t n,
                              merkle_hash *out, char *err, size_t errlen);

typedef struct merkle_reader {
    merkle_read_fn read;
    void *ctx;
} merkle_reader;

/* SHA-256(0x00 || data): the hash of a leaf holding data[0..len). */
void merkle_leaf_hash(const void *data, size_t len, merkle_hash out);

/* SHA-256(0x01 || left || right).  out may alias left or right. */
void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out);

/* The hash of the empty tree: SHA-256 of the empty string. */
void merkle_empty_root(merkle_hash out);

/* The stored-hash index of the n-th subtree (zero-based, from the left)
** of height level (0: leaves).  Go's tlog.StoredHashIndex. */
int64_t merkle_stored_index(int level, int64_t n);

/* The inverse: which subtree index holds.  index must be >= 0. */
void merkle_split_stored_index(int64_t index, int *level, int64_t *n);

/* How many hashes a tree of size leaves has stored (Go's StoredHashCount). */
int64_t merkle_stored_count(int64_t size);

/*
** The hashes to store when appending leaf n (the tree has n leaves before):
** out[0] is leaf_hash, out[1..] the roots of the subtrees it completes, to
** be stored at merkle_stored_index(0, n) and the indexes after it.  Reads
** the left siblings (one per trailing 1 bit of n) through r.  Sets *count.
** Returns MERKLE_OK, MERKLE_EINVAL, or MERKLE_EREAD with err.
*/
int merkle_stored_hashes(int64_t n, const merkle_hash leaf_hash, const merkle_reader *r,
                         merkle_hash out[MERKLE_MAX_STORED], size_t *count, char *err,
                         size_t errlen);

/*
** The right edge of a tree: the root of each complete subtree it ends with
** (one per 1 bit of size, h[level] set where bit level is).  An appender
** that keeps it needs no reads at all: merkle_frontier_append computes what
** merkle_stored_hashes would, and the root is known at once.  Zero it
** ({0}) for an empty tree, or load it once from storage.
*/
typedef struct merkle_frontier {
    int64_t size;
    merkle_hash h[MERKLE_MAX_STORED];
} merkle_frontier;

/* Load the frontier of a stored tree of size leaves (popcount(size) hashes,
** one read).  Returns MERKLE_OK, MERKLE_EINVAL, or MERKLE_EREAD with err. */
int merkle_frontier_load(merkle_frontier *f, int64_t size, const merkle_reader *r,
                         char *err, size_t errlen);

/* Append one leaf: fills out and *count exactly as merkle_stored_hashes
** would for leaf f->size, and grows the frontier.  Returns MERKLE_OK, or
** MERKLE_EINVAL when the tree is full (MERKLE_MAX_SIZE). */
int merkle_frontier_append(merkle_frontier *f, const merkle_hash leaf_hash,
                           merkle_hash out[MERKLE_MAX_STORED], size_t *count);

/* The root hash of the frontier's tree (the empty root at size 0). */
void merkle_frontier_root(const merkle_frontier *f, merkle_hash out);

/* The root hash of the tree's first size leaves (0 <= size <= stored
** size), reading at most 63 hashes in one call.  Returns MERKLE_OK,
** MERKLE_EINVAL, or MERKLE_EREAD with err. */
int merkle_tree_hash(int64_t size, const merkle_reader *r, merkle_hash out, char *err,
                     size_t errlen);

/*
** The inclusion proof (RFC 9162 audit path; Go's ProveRecord) of leaf index
** in the tree of size leaves, from the leaf's sibling up: out[0..*len).
** Requires 0 <= index < size.  Returns MERKLE_OK, MERKLE_EINVAL, or
** MERKLE_EREAD with err.
*/
int merkle_prove_inclusion(int64_t index, int64_t size, const merkle_reader *r,
                           merkle_hash out[MERKLE_MAX_PROOF], size_t *len, char *err,
                           size_t errlen);

/*
** The consistency proof (RFC 9162 2.1.4; Go's ProveTree) that the tree of
** size new_size extends the tree of size old_size.  Requires 0 <= old_size
** <= new_size; the proof is empty when old_size is 0 or equal to new_size.
** Returns MERKLE_OK, MERKLE_EINVAL, or MERKLE_EREAD with err.
*/
int merkle_prove_consistency(int64_t old_size, int64_t new_size, const merkle_reader *r,
                             merkle_hash out[MERKLE_MAX_PROOF], size_t *len, char *err,
                             size_t errlen);

/*
** (Proofs to verify are len hashes of 32 bytes one after the other; pass a
** merkle_hash array's [0].)
**
** Verify an inclusion proof (RFC 9162 2.1.3.2): that leaf_hash is leaf
** index of the tree of size leaves whose root is root.  Returns MERKLE_OK,
** MERKLE_EINVAL when index >= size (or either is negative), or
** MERKLE_EPROOF (a wrong hash, or a path too short or too long).
*/
int merkle_verify_inclusion(int64_t index, int64_t size, const merkle_hash leaf_hash,
                            const uint8_t *proof, size_t len, const merkle_hash root);

/*
** Verify a consistency proof (RFC 9162 2.1.4.2) between the tree of size
** old_size with root old_root and the tree of size new_size with root
** new_root.  Equal sizes need an empty proof and equal roots; old_size 0
** needs an empty proof (the empty tree is a prefix of every tree; old_root
** is then not read and may be NULL).  Returns MERKLE_OK, MERKLE_EINVAL when
** old_size > new_size (or either is negative), or MERKLE_EPROOF.
*/
int merkle_verify_consistency(int64_t old_size, int64_t new_size, const merkle_hash old_root,
                              const merkle_hash new_root, const uint8_t *proof, size_t len);

/*
** A tree in memory, for tests and tools: the stored hashes in one growing
** array and the frontier.  Zero it ({0}) before use; release with
** merkle_mem_free.
*/
typedef struct merkle_mem {
    merkle_hash *h;
    int64_t count, cap; /* stored hashes */
    merkle_frontier f;  /* f.size is the number of leaves */
} merkle_mem;

/* Append a leaf by its leaf hash.  Returns MERKLE_OK, MERKLE_EINVAL (full),
** or MERKLE_ENOMEM (the tree is unchanged). */
int merkle_mem_append(merkle_mem *m, const merkle_hash leaf_hash);

/* A reader over m's stored hashes (valid while m lives and is not freed). */
merkle_reader merkle_mem_reader(merkle_mem *m);

/* Release the hashes; m is left empty. */
void merkle_mem_free(merkle_mem *m);

#endif
