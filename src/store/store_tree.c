/*
** store_tree.c: the transparency log's part of the store: each log's
** Merkle tree, kept beside its entries, and the origins, cosignatures and
** witness states of its signed checkpoints (store.h).
**
** The tree is computed here, once for every backend: leaf i is the entry
** with seq i + 1 and holds its chain hash, and each append stores what
** Go's sumdb/tlog stores (merkle.h): the leaf's hash and the root of each
** subtree it completes, about two hashes per entry, at fixed indexes.  A
** backend only keeps hashes by index (tree_put, tree_get, tree_last in
** store_methods.h), in the same transaction as the entries.
**
** Appending reads nothing: the log's right edge (a merkle_frontier) is
** kept in memory, checked against the head the append continues (its seq
** and hash), and reloaded from the stored hashes (one read of at most 63)
** when it does not match: the first append of a process, one after a
** transaction that did not commit, or after another writer moved the head
** (PostgreSQL: several servers on one log; the head lock is held by then).
** An append's hashes wait in memory until the commit, where they are
** handed to the backend with the rest of the transaction; a savepoint
** rolled back drops the ones made since.  An import's go to the backend at
** once (a shipped batch is its own transaction).
**
** A tree that lags behind its entries (a database from before trees, whose
** migration made the table empty) is built from the entries when a
** writable store opens; one that cannot be (entries pruned before the tree
** existed) stays as it is, and appends to it skip the tree rather than
** fail: recording comes first, and verify and prove say what is missing.
*/
#include "store_testing.h"
#include "tree_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A log's right edge, valid for the head (seq, hash) it was made for. */
typedef struct tree_slot {
    char log_id[37];
    int valid;
    merkle_frontier f;
    uint8_t last[CHAIN_HASH_BYTES]; /* the chain hash of leaf f.size - 1 */
    int64_t dirty_tx;               /* moved by this transaction, not yet committed */
} tree_slot;

/* A read of stored hashes: of the own log (with the pending ones), of the
** selected log, or (-1) of whichever is selected when it runs. */
typedef struct tree_rd {
    store *s;
    int own;
    int missing; /* the last read lacked a hash */
    int code;    /* and failed with this STORE_E* code */
} tree_rd;

struct store_tree {
    char own_id[37];  /* the log appends go to; "" for a store that never appends */
    int off;          /* store_testing_tree_off() */
    tree_slot own;    /* the own log's edge */
    tree_slot other;  /* the edge of the log imported last */
    /* The open transaction's appended hashes, indexes pend_first.. */
    int64_t pend_first;
    merkle_hash *pend;
    size_t npend, cap;
    int64_t pend_tx;
    size_t last_count; /* hashes of the newest append, for tree_append_failed() */
    int appended;
    size_t *marks;    /* npend at each open savepoint */
    size_t nmarks, capmarks;
    int64_t lag_tx;   /* the transaction that found the own tree lagging */
    tree_rd pub;      /* store_tree_reader()'s */
};

enum { TREE_LAGS = 1, TREE_AHEAD = 2 }; /* not errors: the tree cannot be extended now */

/* Leaves read per transaction while a lagging tree is built. */
#define BUILD_CHUNK 20000

static int selected_own(const store *s)
{
    const struct store_tree *t = s->tree;
    return t && t->own_id[0] && strcmp(store_log_id(s), t->own_id) == 0;
}

static int pending_live(const store *s)
{
    const struct store_tree *t = s->tree;
    return t && t->npend > 0 && s->in_tx && t->pend_tx == s->tx_id;
}

/* The leaf count of a tree whose highest stored index is last (-1: 0):
** the leaf that stored it is the one completing that subtree. */
static int64_t size_of_last(int64_t last)
{
    if (last < 0) return 0;
    int level;
    int64_t k;
    merkle_split_stored_index(last, &level, &k);
    return (k + 1) << level;
}

static int oom(char *err)
{
    snprintf(err, STORE_ERRLEN, "out of memory");
    return STORE_ENOMEM;
}

/* ---- reading stored hashes ---- */

static int tree_read(void *ctx, const int64_t *idx, size_t n, merkle_hash *out, char *err,
                     size_t errlen)
{
    tree_rd *rd = ctx;
    store *s = rd->s;
    struct store_tree *t = s->tree;
    int own = rd->own < 0 ? selected_own(s) : rd->own;
    char serr[STORE_ERRLEN];
    int rc = STORE_OK;
    rd->missing = rd->code = 0;
    if (!own || !pending_live(s)) {
        rc = s->m->tree_get(s, own, idx, n, out, serr);
    } else {
        /* The pending hashes are the newest indexes, one run from pend_first. */
        int64_t *rest = malloc(n * sizeof *rest);
        size_t *at = malloc(n * sizeof *at), nr = 0;
        merkle_hash *got = malloc(n * sizeof *got);
        if (!rest || !at || !got) {
            rc = oom(serr);
        } else {
            for (size_t i = 0; i < n; i++) {
                int64_t k = idx[i] - t->pend_first;
                if (k >= 0 && (size_t)k < t->npend) {
                    memcpy(out[i], t->pend[k], MERKLE_HASH);
                } else {
                    rest[nr] = idx[i];
                    at[nr++] = i;
                }
            }
            if (nr) rc = s->m->tree_get(s, own, rest, nr, got, serr);
            for (size_t i = 0; rc == STORE_OK && i < nr; i++) memcpy(out[at[i]], got[i], MERKLE_HASH);
        }
        free(rest);
        free(at);
        free(got);
    }
    if (rc == STORE_OK) return 0;
    rd->code = rc;
    rd->missing = rc == STORE_ENOTFOUND;
    snprintf(err, errlen, "%s", serr);
    return -1;
}

/* The highest stored index of the own log (pending included) or the
** selected one. */
static int last_index(store *s, int own, int64_t *last, char *err)
{
    struct store_tree *t = s->tree;
    int rc = s->m->tree_last(s, own, last, err);
    if (rc == STORE_OK && own && pending_live(s)) {
        int64_t p = t->pend_first + (int64_t)t->npend - 1;
        if (p > *last) *last = p;
    }
    return rc;
}

/* A merkle.h failure through tree_read as a store code and sentence. */
static int read_failed(const tree_rd *rd, const char *merr, char *err)
{
    snprintf(err, STORE_ERRLEN, "%s", merr);
    if (rd->code) return rd->code;
    return STORE_EINVAL;
}

/* ---- the right edges ---- */

static int slot_fits(const tree_slot *sl, const char *log, const store_tip *head)
{
    return sl->valid && strcmp(sl->log_id, log) == 0 && sl->f.size == head->seq &&
           memcmp(sl->last, head->hash, CHAIN_HASH_BYTES) == 0;
}

/* Load sl with the edge of log's tree at head: STORE_OK, TREE_LAGS or
** TREE_AHEAD when the stored tree is not the head's size, or a failure. */
static int load_slot(store *s, tree_slot *sl, int own, const char *log, const store_tip *head,
                     char *err)
{
    int64_t last;
    sl->valid = 0;
    int rc = last_index(s, own, &last, err);
    if (rc != STORE_OK) return rc;
    int64_t want = merkle_stored_count(head->seq) - 1;
    if (last < want) return TREE_LAGS;
    if (last > want) return TREE_AHEAD;
    tree_rd rd = {s, own, 0, 0};
    merkle_reader r = {tree_read, &rd};
    char merr[STORE_ERRLEN];
    if (merkle_frontier_load(&sl->f, head->seq, &r, merr, sizeof merr) != MERKLE_OK) {
        if (rd.missing) return TREE_LAGS;
        return read_failed(&rd, merr, err);
    }
    snprintf(sl->log_id, sizeof sl->log_id, "%s", log);
    memcpy(sl->last, head->hash, CHAIN_HASH_BYTES);
    sl->dirty_tx = 0;
    sl->valid = 1;
    return STORE_OK;
}

/* Whether sl may be used outside an append: it was not moved by a
** transaction that has since ended without a commit store.c saw. */
static int slot_trusted(const store *s, const tree_slot *sl)
{
    return sl->valid && (!sl->dirty_tx || (s->in_tx && sl->dirty_tx == s->tx_id));
}

static int pend_room(struct store_tree *t, size_t more)
{
    if (t->npend + more <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->npend + more) cap *= 2;
    merkle_hash *p = realloc(t->pend, cap * sizeof *p);
    if (!p) return -1;
    t->pend = p;
    t->cap = cap;
    return 0;
}

/* ---- building a tree that lags behind its entries ---- */

typedef struct build_walk {
    int64_t next; /* the seq expected */
    uint8_t (*hash)[CHAIN_HASH_BYTES];
    size_t n, cap;
    int64_t gap_at; /* the seq found where next was expected, 0 when none */
} build_walk;

static int collect(void *ctx, const store_raw_entry *e)
{
    build_walk *w = ctx;
    if (e->f.seq != w->next) {
        w->gap_at = e->f.seq;
        return 1;
    }
    memcpy(w->hash[w->n++], e->hash, CHAIN_HASH_BYTES);
    w->next++;
    return w->n == w->cap;
}

/* Extend the selected log's stored tree by up to BUILD_CHUNK leaves from
** its entries, inside the open transaction.  *done is set when the tree
** has caught up with the head, or cannot (entries are missing below it). */
static int build_chunk(store *s, int own, int *done, char *err)
{
    int64_t head, last;
    char hex[CHAIN_HEX_LEN];
    merkle_frontier f;
    build_walk w = {0};
    merkle_hash *out = NULL;
    *done = 1;
    int rc = store_head(s, &head, hex, err);
    if (rc == STORE_OK) rc = last_index(s, own, &last, err);
    if (rc != STORE_OK) return rc;
    int64_t size = size_of_last(last);
    if (size >= head || last != merkle_stored_count(size) - 1) return STORE_OK;
    tree_rd rd = {s, own, 0, 0};
    merkle_reader r = {tree_read, &rd};
    char merr[STORE_ERRLEN];
    if (merkle_frontier_load(&f, size, &r, merr, sizeof merr) != MERKLE_OK)
        return rd.missing ? STORE_OK : read_failed(&rd, merr, err);
    w.next = size + 1;
    w.cap = BUILD_CHUNK;
    if (!(w.hash = malloc(w.cap * sizeof *w.hash)) ||
        !(out = malloc((2 * w.cap + MERKLE_MAX_STORED) * sizeof *out))) {
        rc = oom(err);
        goto done;
    }
    rc = store_each_entry(s, size + 1, collect, &w, err);
    if (rc != STORE_OK || w.n == 0) goto done; /* nothing more, or a gap: pruned */
    size_t total = 0, count;
    for (size_t i = 0; i < w.n; i++) {
        merkle_hash leaf;
        merkle_leaf_hash(w.hash[i], CHAIN_HASH_BYTES, leaf);
        if (merkle_frontier_append(&f, leaf, out + total, &count) != MERKLE_OK) goto done;
        total += count;
    }
    rc = s->m->tree_put(s, 0, merkle_stored_index(0, size), (const merkle_hash *)out, total,
                        err);
    if (rc == STORE_OK) *done = w.gap_at != 0 || size + (int64_t)w.n >= head;
done:
    free(w.hash);
    free(out);
    return rc;
}

/* Build the selected log's tree up to its head, in transactions of its
** own (each holding the log's head lock: on PostgreSQL another server may
** be appending to it). */
static int build_selected(store *s, char *err)
{
    int done = 0, rc = STORE_OK;
    int own = selected_own(s);
    int64_t head, last;
    char hex[CHAIN_HEX_LEN];
    /* Most opens find the tree whole: that is two reads, and no
    ** transaction (which on PostgreSQL would make this month's partition). */
    if ((rc = store_head(s, &head, hex, err)) != STORE_OK ||
        (rc = last_index(s, own, &last, err)) != STORE_OK)
        return rc;
    if (size_of_last(last) >= head) return STORE_OK;
    while (!done && rc == STORE_OK) {
        if ((rc = store_begin(s, err)) != STORE_OK) return rc;
        if (store_capabilities(s) & STORE_CAP_IMPORT) {
            store_tip tip;
            rc = s->m->import_head(s, &tip, err);
        }
        if (rc == STORE_OK) rc = build_chunk(s, own, &done, err);
        if (rc == STORE_OK) rc = store_commit(s, err);
        else store_rollback(s);
    }
    return rc;
}

/* Every log's tree (after the migration that made the table). */
static int build_all(store *s, char *err)
{
    store_log *l = NULL;
    size_t n = 0;
    char was[37], ignored[STORE_ERRLEN];
    snprintf(was, sizeof was, "%s", store_log_id(s));
    int rc = store_list_logs(s, &l, &n, err);
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        rc = store_use_log(s, l[i].log_id, err);
        if (rc == STORE_OK) rc = build_selected(s, err);
    }
    store_use_log(s, was[0] ? was : NULL, ignored);
    free(l);
    return rc;
}

/* ---- hooks (tree_int.h) ---- */

int tree_open(store *s, const store_options *opt, char *err)
{
    struct store_tree *t = calloc(1, sizeof *t);
    if (!t) return oom(err);
    s->tree = t;
    t->pub.s = s;
    t->pub.own = -1;
    if (store_readonly(s)) return STORE_OK;
    if (!opt->no_own_log) snprintf(t->own_id, sizeof t->own_id, "%s", store_log_id(s));
    int rc = STORE_OK;
    if (opt->origin && t->own_id[0]) {
        char have[STORE_ORIGIN_MAX + 1];
        if ((rc = store_log_origin(s, opt->origin, have, err)) != STORE_OK) return rc;
    }
    if (s->tree_new) rc = build_all(s, err);
    else if (t->own_id[0]) rc = build_selected(s, err);
    s->tree_new = 0;
    return rc;
}

void tree_close(store *s)
{
    struct store_tree *t = s->tree;
    if (!t) return;
    free(t->pend);
    free(t->marks);
    free(t);
    s->tree = NULL;
}

static void forget_dirty(struct store_tree *t)
{
    tree_slot *slots[2] = {&t->own, &t->other};
    for (int i = 0; i < 2; i++) {
        if (slots[i]->dirty_tx) slots[i]->valid = 0;
        slots[i]->dirty_tx = 0;
    }
}

void tree_begin(store *s)
{
    struct store_tree *t = s->tree;
    if (!t) return;
    /* A transaction the backend ended by itself (lost) took what it moved. */
    forget_dirty(t);
    t->npend = t->nmarks = 0;
    t->appended = 0;
}

int tree_precommit(store *s, char *err)
{
    struct store_tree *t = s->tree;
    if (!t || !pending_live(s)) return STORE_OK;
    return s->m->tree_put(s, 1, t->pend_first, (const merkle_hash *)t->pend, t->npend, err);
}

void tree_end(store *s, int committed)
{
    struct store_tree *t = s->tree;
    if (!t) return;
    if (committed) {
        t->own.dirty_tx = t->other.dirty_tx = 0;
    } else {
        forget_dirty(t);
    }
    t->npend = t->nmarks = 0;
    t->appended = 0;
}

int tree_savepoint(store *s)
{
    struct store_tree *t = s->tree;
    if (!t) return 0;
    if (t->nmarks == t->capmarks) {
        size_t cap = t->capmarks ? t->capmarks * 2 : 16;
        size_t *m = realloc(t->marks, cap * sizeof *m);
        if (!m) return -1;
        t->marks = m;
        t->capmarks = cap;
    }
    t->marks[t->nmarks++] = t->npend;
    return 0;
}

void tree_savepoint_release(store *s)
{
    struct store_tree *t = s->tree;
    if (t && t->nmarks) t->nmarks--;
}

void tree_savepoint_rollback(store *s)
{
    struct store_tree *t = s->tree;
    if (!t) return;
    size_t mark = t->nmarks ? t->marks[--t->nmarks] : 0;
    if (t->npend > mark) {
        t->npend = mark;
        t->own.valid = 0; /* reloaded from the stored and pending hashes */
    }
    t->appended = 0;
}

int tree_append(store *s, const store_tip *head, const uint8_t hash[CHAIN_HASH_BYTES],
                char *err)
{
    struct store_tree *t = s->tree;
    if (!t) return STORE_OK;
    t->appended = 0;
    if (t->off || !t->own_id[0] || t->lag_tx == s->tx_id) return STORE_OK;
    tree_slot *sl = &t->own;
    if (!pending_live(s)) t->npend = 0;
    if (!slot_fits(sl, t->own_id, head)) {
        int rc = load_slot(s, sl, 1, t->own_id, head, err);
        if (rc == TREE_LAGS || rc == TREE_AHEAD) {
            t->lag_tx = s->tx_id; /* skipped until the tree is built */
            return STORE_OK;
        }
        if (rc != STORE_OK) return rc;
    }
    if (pend_room(t, MERKLE_MAX_STORED) != 0) return oom(err);
    int64_t first = merkle_stored_index(0, sl->f.size);
    if (t->npend == 0) {
        t->pend_first = first;
        t->pend_tx = s->tx_id;
    } else if (t->pend_first + (int64_t)t->npend != first) {
        sl->valid = 0;
        snprintf(err, STORE_ERRLEN, "internal error: the tree's pending hashes do not end "
                                    "where leaf %lld begins", (long long)sl->f.size);
        return STORE_EIO;
    }
    merkle_hash leaf;
    size_t count;
    merkle_leaf_hash(hash, CHAIN_HASH_BYTES, leaf);
    if (merkle_frontier_append(&sl->f, leaf, t->pend + t->npend, &count) != MERKLE_OK) {
        snprintf(err, STORE_ERRLEN, "the log's Merkle tree is full");
        return STORE_EFULL;
    }
    t->npend += count;
    t->last_count = count;
    t->appended = 1;
    memcpy(sl->last, hash, CHAIN_HASH_BYTES);
    sl->dirty_tx = s->tx_id;
    return STORE_OK;
}

void tree_append_failed(store *s)
{
    struct store_tree *t = s->tree;
    if (!t || !t->appended) return;
    t->npend -= t->last_count;
    t->own.valid = 0;
    t->appended = 0;
}

int tree_import(store *s, const store_tip *h, const store_raw_entry *e, size_t n, char *err)
{
    struct store_tree *t = s->tree;
    if (!t || t->off || n == 0) return STORE_OK;
    int own = selected_own(s);
    const char *log = store_log_id(s);
    tree_slot *sl = own ? &t->own : &t->other;
    if (own && t->lag_tx == s->tx_id) return STORE_OK;
    if (!slot_fits(sl, log, h)) {
        int rc = load_slot(s, sl, own, log, h, err), done = 0;
        /* Catch up inside the import's transaction (it holds the head). */
        while (rc == TREE_LAGS && !done) {
            rc = build_chunk(s, own, &done, err);
            if (rc == STORE_OK) rc = load_slot(s, sl, own, log, h, err);
        }
        if (rc == TREE_LAGS || rc == TREE_AHEAD) return STORE_OK; /* cannot: entries pruned */
        if (rc != STORE_OK) return rc;
    }
    int64_t first = merkle_stored_index(0, sl->f.size);
    size_t total = 0, count;
    merkle_hash *out = malloc((2 * n + MERKLE_MAX_STORED) * sizeof *out);
    if (!out) return oom(err);
    for (size_t i = 0; i < n; i++) {
        merkle_hash leaf;
        merkle_leaf_hash(e[i].hash, CHAIN_HASH_BYTES, leaf);
        if (merkle_frontier_append(&sl->f, leaf, out + total, &count) != MERKLE_OK) {
            free(out);
            sl->valid = 0;
            snprintf(err, STORE_ERRLEN, "the log's Merkle tree is full");
            return STORE_EFULL;
        }
        total += count;
    }
    memcpy(sl->last, e[n - 1].hash, CHAIN_HASH_BYTES);
    sl->dirty_tx = s->tx_id;
    int rc = STORE_OK;
    if (own) {
        /* With the own log's appends, written at the commit. */
        if (pend_room(t, total) != 0) {
            rc = oom(err);
        } else {
            if (!pending_live(s)) {
                t->npend = 0;
                t->pend_first = first;
                t->pend_tx = s->tx_id;
            }
            memcpy(t->pend + t->npend, out, total * sizeof *out);
            t->npend += total;
        }
    } else {
        rc = s->m->tree_put(s, 0, first, (const merkle_hash *)out, total, err);
    }
    free(out);
    if (rc != STORE_OK) sl->valid = 0;
    return rc;
}

/* ---- store.h: the tree ---- */

int store_tree_size(store *s, int64_t *size, char *err)
{
    int64_t last;
    *size = 0;
    int rc = last_index(s, selected_own(s), &last, err);
    if (rc == STORE_OK) *size = size_of_last(last);
    return rc;
}

/* The tree must hold size leaves: STORE_EINVAL with a sentence if not. */
static int need_size(store *s, int64_t size, char *err)
{
    int64_t have;
    int rc = store_tree_size(s, &have, err);
    if (rc != STORE_OK) return rc;
    if (size < 0 || size > have) {
        snprintf(err, STORE_ERRLEN,
                 "the Merkle tree of log %s holds %lld leaves, not %lld (entries written "
                 "before it existed and pruned cannot be in it)",
                 store_log_id(s), (long long)have, (long long)size);
        return STORE_EINVAL;
    }
    return STORE_OK;
}

int store_tree_root(store *s, int64_t size, merkle_hash root, char *err)
{
    struct store_tree *t = s->tree;
    if (selected_own(s) && slot_trusted(s, &t->own) && t->own.f.size == size &&
        strcmp(t->own.log_id, t->own_id) == 0) {
        merkle_frontier_root(&t->own.f, root);
        return STORE_OK;
    }
    int rc = need_size(s, size, err);
    if (rc != STORE_OK) return rc;
    tree_rd rd = {s, -1, 0, 0};
    merkle_reader r = {tree_read, &rd};
    char merr[STORE_ERRLEN];
    if (merkle_tree_hash(size, &r, root, merr, sizeof merr) != MERKLE_OK)
        return read_failed(&rd, merr, err);
    return STORE_OK;
}

int store_tree_prove(store *s, int64_t index, int64_t size, merkle_hash path[MERKLE_MAX_PROOF],
                     size_t *len, char *err)
{
    *len = 0;
    int rc = need_size(s, size, err);
    if (rc != STORE_OK) return rc;
    if (index < 0 || index >= size) {
        snprintf(err, STORE_ERRLEN, "leaf %lld is not in a tree of %lld leaves",
                 (long long)index, (long long)size);
        return STORE_EINVAL;
    }
    tree_rd rd = {s, -1, 0, 0};
    merkle_reader r = {tree_read, &rd};
    char merr[STORE_ERRLEN];
    if (merkle_prove_inclusion(index, size, &r, path, len, merr, sizeof merr) != MERKLE_OK)
        return read_failed(&rd, merr, err);
    return STORE_OK;
}

int store_tree_consistency(store *s, int64_t old_size, int64_t new_size,
                           merkle_hash path[MERKLE_MAX_PROOF], size_t *len, char *err)
{
    *len = 0;
    int rc = need_size(s, new_size, err);
    if (rc != STORE_OK) return rc;
    if (old_size < 0 || old_size > new_size) {
        snprintf(err, STORE_ERRLEN, "a tree of %lld leaves cannot extend one of %lld",
                 (long long)new_size, (long long)old_size);
        return STORE_EINVAL;
    }
    tree_rd rd = {s, -1, 0, 0};
    merkle_reader r = {tree_read, &rd};
    char merr[STORE_ERRLEN];
    if (merkle_prove_consistency(old_size, new_size, &r, path, len, merr, sizeof merr) !=
        MERKLE_OK)
        return read_failed(&rd, merr, err);
    return STORE_OK;
}

int store_tree_hashes(store *s, const int64_t *idx, size_t n, merkle_hash *out, char *err)
{
    tree_rd rd = {s, -1, 0, 0};
    char merr[STORE_ERRLEN];
    if (n == 0) return STORE_OK;
    if (tree_read(&rd, idx, n, out, merr, sizeof merr) != 0) return read_failed(&rd, merr, err);
    return STORE_OK;
}

merkle_reader store_tree_reader(store *s)
{
    merkle_reader r = {tree_read, &s->tree->pub};
    return r;
}

int store_tree_frontier(store *s, int64_t size, merkle_frontier *f, char *err)
{
    int rc = need_size(s, size, err);
    if (rc != STORE_OK) return rc;
    tree_rd rd = {s, -1, 0, 0};
    merkle_reader r = {tree_read, &rd};
    char merr[STORE_ERRLEN];
    if (merkle_frontier_load(f, size, &r, merr, sizeof merr) != MERKLE_OK)
        return read_failed(&rd, merr, err);
    return STORE_OK;
}

/* ---- store.h: origins, cosignatures, witnesses ---- */

int store_log_origin(store *s, const char *set, char out[STORE_ORIGIN_MAX + 1], char *err)
{
    return s->m->log_origin(s, set, out, err);
}

int store_add_cosignature(store *s, const store_cosignature *c, char *err)
{
    return s->m->add_cosignature(s, c, err);
}

int store_each_cosignature(store *s, int64_t number, store_cosignature_fn fn, void *ctx,
                           char *err)
{
    return s->m->each_cosignature(s, number, fn, ctx, err);
}

int store_put_witness(store *s, const store_witness *w, char *err)
{
    return s->m->put_witness(s, w, err);
}

int store_each_witness(store *s, store_witness_fn fn, void *ctx, char *err)
{
    return s->m->each_witness(s, fn, ctx, err);
}

/* ---- store_testing.h ---- */

void store_testing_tree_off(store *s, int off)
{
    if (s->tree) s->tree->off = off;
}
