/*
** verify.c: the chain walk and the checkpoint checks.
**
** The walk keeps only the previous entry's seq and hash, so it runs in
** constant memory over any number of entries.  Classifying a broken link:
**   - an entry whose own hash does not match its content was modified,
**     unless its content matches its hash at another position (reordered);
**   - an entry that is self-consistent but does not link to its predecessor
**     follows a gap in seq (missing) or was forged into place (inserted).
** After a problem the walk resynchronizes on the entry it just read, so one
** tampering is reported once rather than for every entry after it.
** Checkpoint heads are collected first and compared as the walk passes them.
** verify_store() runs the walk once per log and merges the reports; each
** problem carries its log's name and id, since a reviewer of a team's
** trail must know which machine's chain broke.
*/
#include "verify.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tlog/c2sp.h"
#include "../tlog/ckpt.h"
#include "../util/utf8.h"
#include "archive.h"
#include "checkpoint.h"
#include "prehash.h"

typedef struct head_claim {
    int64_t seq;
    uint8_t hash[CHAIN_HASH_BYTES];
    char what[96]; /* "checkpoint 3" or "the external checkpoint" */
    int seen;
    int has_root;  /* its signed note's tree root, to compare with the entries' */
    uint8_t root[MERKLE_HASH];
} head_claim;

/* Stored hashes compared per read: a range of indexes, about two per entry. */
#define TREE_BATCH 4096
/* Tree problems reported per log before the rest are only counted. */
#define TREE_PROBLEMS 10

typedef struct walk {
    store *st;
    int use_store_lookup;
    int64_t expect_seq;
    uint8_t expect_prev[CHAIN_HASH_BYTES];
    int started;
    int64_t checked;
    int64_t head_seq;
    uint8_t head_hash[CHAIN_HASH_BYTES];
    cJSON *problems;
    int n_problems, max_problems, truncated;
    head_claim *claims;
    size_t n_claims, next_claim;
    const verify_options *opt;
    const char *log_id;
    const store_log *log;      /* the log walked: name and recorded key */
    int64_t checkpoints_checked;
    char prev_digest[CHAIN_HEX_LEN];
    int prev_bad;
    int64_t last_problem_seq;
    int64_t db_floor;          /* rows below this seq cannot be genuine */
    int pending;               /* an entry awaiting settle_pending() */
    int64_t pending_seq;
    uint8_t pending_hash[CHAIN_HASH_BYTES];
    head_claim *anchors;       /* validly signed retention anchors */
    size_t n_anchors;
    int oom;
    /* The Merkle tree: recomputed from the entries as they are judged and
    ** compared with the stored hashes, TREE_BATCH at a time. */
    char origin[STORE_ORIGIN_MAX + 1]; /* the log's recorded origin, "" none */
    int tree_on;
    int64_t tree_size;         /* leaves the stored tree holds */
    merkle_frontier tf;        /* the entries' tree so far */
    int tf_ok;
    int64_t tq_first;          /* the expected stored hashes from this index */
    merkle_hash *tq;
    size_t tq_n;
    int tree_problems;
    size_t next_root;          /* the next claim whose root is compared */
} walk;

static void problem(walk *w, int64_t seq, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static void problem(walk *w, int64_t seq, const char *kind, const char *fmt, ...)
{
    if (w->n_problems >= w->max_problems) {
        w->truncated = 1;
        return;
    }
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    cJSON *p = cJSON_CreateObject();
    if (!p) {
        w->oom = 1;
        return;
    }
    cJSON_AddNumberToObject(p, "seq", (double)seq);
    cJSON_AddStringToObject(p, "kind", kind);
    cJSON_AddStringToObject(p, "detail", detail);
    cJSON_AddStringToObject(p, "log", w->log->name);
    cJSON_AddStringToObject(p, "log_id", w->log->log_id);
    cJSON_AddItemToArray(w->problems, p);
    w->n_problems++;
    w->last_problem_seq = seq;
}

/* A problem of `kind` found by the tree's check: the first TREE_PROBLEMS
** are reported.  It leaves the chain walk's memory of its last problem
** alone (that one decides which broken links are echoes). */
#define tree_problem(w, seq, kind, ...)                                         \
    do {                                                                        \
        int64_t last_ = (w)->last_problem_seq;                                  \
        if ((w)->tree_problems++ < TREE_PROBLEMS) problem(w, seq, kind, __VA_ARGS__); \
        (w)->last_problem_seq = last_;                                          \
    } while (0)

static int cmp_claims(const void *a, const void *b)
{
    const head_claim *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_claim(walk *w, int64_t seq, const char *hex, const char *what,
                     const uint8_t *root)
{
    head_claim *c = realloc(w->claims, (w->n_claims + 1) * sizeof *c);
    if (!c) return -1;
    w->claims = c;
    c = &w->claims[w->n_claims++];
    memset(c, 0, sizeof *c);
    c->seq = seq;
    snprintf(c->what, sizeof c->what, "%s", what);
    if (root) {
        c->has_root = 1;
        memcpy(c->root, root, MERKLE_HASH);
    }
    c->seen = seq == 0; /* an empty log's checkpoint vouches for no entry */
    size_t got = 0;
    if (sodium_hex2bin(c->hash, CHAIN_HASH_BYTES, hex, strlen(hex), NULL, &got, NULL) ||
        got != CHAIN_HASH_BYTES)
        memset(c->hash, 0xff, CHAIN_HASH_BYTES); /* can never match */
    return 0;
}

/* Compare claims about seq with the entry's stored hash. */
static void check_claims(walk *w, int64_t seq, const uint8_t hash[CHAIN_HASH_BYTES])
{
    while (w->next_claim < w->n_claims && w->claims[w->next_claim].seq < seq)
        w->next_claim++;
    for (size_t i = w->next_claim; i < w->n_claims && w->claims[i].seq == seq; i++) {
        head_claim *c = &w->claims[i];
        c->seen = 1;
        if (memcmp(c->hash, hash, CHAIN_HASH_BYTES) != 0)
            problem(w, seq, "modified",
                    "%s vouches for a different hash at seq %lld: the log "
                    "was rewritten after it was signed", c->what, (long long)seq);
    }
}

static int hash_matches_at(const store_raw_entry *e, int64_t seq)
{
    return chain_entry_matches(&e->f, seq, e->prev_hash, e->hash);
}

/* For an entry whose hash fails at its position: the position it was
** written at, if its content belongs elsewhere in the chain, else 0.  The
** candidates are its neighbours (two swapped entries) and the position
** after the entry its prev_hash names (an entry moved further). */
static int64_t written_at(walk *w, const store_raw_entry *e)
{
    int64_t seq = e->f.seq, prev_at = 0;
    char err[STORE_ERRLEN];
    if (!e->hashes_ok) return 0;
    if (seq > 1 && hash_matches_at(e, seq - 1)) return seq - 1;
    if (hash_matches_at(e, seq + 1)) return seq + 1;
    if (w->use_store_lookup &&
        store_find_hash(w->st, e->prev_hash, &prev_at, err) == STORE_OK &&
        prev_at + 1 != seq && hash_matches_at(e, prev_at + 1))
        return prev_at + 1;
    return 0;
}

static void report_gap(walk *w, int64_t seq)
{
    if (seq - w->expect_seq == 1)
        problem(w, w->expect_seq, "missing", "entry %lld was removed",
                (long long)w->expect_seq);
    else
        problem(w, w->expect_seq, "missing", "entries %lld to %lld were removed",
                (long long)w->expect_seq, (long long)seq - 1);
}

/* Decide about an entry that neither matches its hash nor links to its
** predecessor, now that the entry after it (or the end) is known: if the
** next entry links to it, it is a real entry whose content was changed;
** if nothing vouches for it, it was forged into place. */
static void settle_pending(walk *w, const store_raw_entry *next)
{
    if (!w->pending) return;
    w->pending = 0;
    if (next && memcmp(next->prev_hash, w->pending_hash, CHAIN_HASH_BYTES) == 0)
        problem(w, w->pending_seq, "modified",
                "the stored content of entry %lld no longer matches its hash",
                (long long)w->pending_seq);
    else
        problem(w, w->pending_seq, "inserted",
                "entry %lld does not belong to the chain: neither its hash "
                "nor its links are valid", (long long)w->pending_seq);
}

/* Is this an archive's first entry a valid start: genesis, or the entry
** right after a signed retention anchor?  Claims about entries before such
** a start can no longer be checked and count as seen. */
static void check_start(walk *w, const store_raw_entry *e)
{
    static const uint8_t zero[CHAIN_HASH_BYTES];
    int64_t seq = e->f.seq;
    w->expect_seq = seq;
    memcpy(w->expect_prev, e->prev_hash, CHAIN_HASH_BYTES);
    if (seq == 1 && memcmp(e->prev_hash, zero, CHAIN_HASH_BYTES) == 0) return;
    for (size_t i = 0; i < w->n_anchors; i++) {
        if (w->anchors[i].seq == seq - 1 &&
            memcmp(w->anchors[i].hash, e->prev_hash, CHAIN_HASH_BYTES) == 0) {
            for (size_t k = 0; k < w->n_claims; k++)
                if (w->claims[k].seq < seq) w->claims[k].seen = 1;
            return;
        }
    }
    w->expect_seq = 1;
    memset(w->expect_prev, 0, CHAIN_HASH_BYTES);
}

/* ---- the tree ---- */

/* The seq of the leaf whose append stored index idx. */
static int64_t seq_of_index(int64_t idx)
{
    int level;
    int64_t k;
    merkle_split_stored_index(idx, &level, &k);
    return (k + 1) << level;
}

/* Compare the expected stored hashes queued with the stored ones.  The
** first that differs is reported (every subtree over a changed leaf
** differs too: they are counted), and the walk goes on from the stored
** tree, so one change is one problem. */
static void tree_flush(walk *w)
{
    if (!w->tq_n) return;
    merkle_hash *got = malloc(w->tq_n * sizeof *got);
    int64_t *idx = malloc(w->tq_n * sizeof *idx);
    char err[STORE_ERRLEN];
    size_t bad = 0, first = 0;
    if (!got || !idx) {
        w->oom = 1;
    } else {
        for (size_t i = 0; i < w->tq_n; i++) idx[i] = w->tq_first + (int64_t)i;
        if (store_tree_hashes(w->st, idx, w->tq_n, got, err) != STORE_OK) {
            tree_problem(w, seq_of_index(w->tq_first), "tree",
                         "the Merkle tree's stored hashes from index %lld cannot be read: %s",
                         (long long)w->tq_first, err);
            w->tf_ok = 0;
        } else {
            for (size_t i = 0; i < w->tq_n; i++)
                if (memcmp(got[i], w->tq[i], MERKLE_HASH) != 0 && !bad++) first = i;
        }
    }
    if (bad) {
        int level;
        int64_t k;
        merkle_split_stored_index(idx[first], &level, &k);
        tree_problem(w, seq_of_index(idx[first]), "tree",
                     "the Merkle tree's stored hash at index %lld (%s %lld) is not the one "
                     "the entries give (%zu stored hash(es) from there on differ)",
                     (long long)idx[first],
                     level ? "the subtree completed by entry" : "the leaf of entry",
                     (long long)seq_of_index(idx[first]), bad);
        w->tf_ok = 0; /* the next entry starts again from the stored tree */
    }
    free(got);
    free(idx);
    w->tq_n = 0;
}

/* Roots that checkpoint notes sign at the size the entries' tree has now. */
static void root_claims(walk *w)
{
    int64_t size = w->tf.size;
    while (w->next_root < w->n_claims && w->claims[w->next_root].seq < size) w->next_root++;
    for (size_t i = w->next_root; i < w->n_claims && w->claims[i].seq == size; i++) {
        head_claim *c = &w->claims[i];
        merkle_hash root;
        if (!c->has_root) continue;
        merkle_frontier_root(&w->tf, root);
        if (memcmp(root, c->root, MERKLE_HASH) != 0)
            tree_problem(w, size, "tree",
                         "%s signs a Merkle root that is not the root of the log's tree at "
                         "size %lld", c->what, (long long)size);
    }
}

/* The entry's leaf: extend the entries' tree and queue the hashes its
** append must have stored. */
static void tree_step(walk *w, const store_raw_entry *e)
{
    int64_t seq = e->f.seq;
    char err[STORE_ERRLEN];
    if (!w->tree_on || seq < 1) return;
    if (seq > w->tree_size) {
        tree_flush(w);
        tree_problem(w, seq, "tree", "the Merkle tree holds %lld leaves: entry %lld and the "
                     "ones after it have none", (long long)w->tree_size, (long long)seq);
        w->tree_on = 0;
        return;
    }
    if (!w->tf_ok || w->tf.size != seq - 1) {
        /* The first entry after an anchor, or after a gap the chain walk
        ** reports: go on from the stored tree there. */
        tree_flush(w);
        if (store_tree_frontier(w->st, seq - 1, &w->tf, err) != STORE_OK) {
            tree_problem(w, seq, "tree", "the Merkle tree cannot be read at size %lld: %s",
                         (long long)seq - 1, err);
            w->tf_ok = 0;
            return;
        }
        w->tf_ok = 1;
        root_claims(w);
    }
    if (w->tq_n + MERKLE_MAX_STORED > TREE_BATCH) tree_flush(w);
    if (!w->tq_n) w->tq_first = merkle_stored_index(0, seq - 1);
    merkle_hash leaf;
    size_t count = 0;
    merkle_leaf_hash(e->hash, CHAIN_HASH_BYTES, leaf);
    if (merkle_frontier_append(&w->tf, leaf, w->tq + w->tq_n, &count) != MERKLE_OK) {
        w->tf_ok = 0;
        return;
    }
    w->tq_n += count;
    root_claims(w);
}

/* Judge one entry, in seq order, whose own hash check is already known. */
static int judge(void *ctx, const store_raw_entry *e, int own_ok)
{
    walk *w = ctx;
    int64_t seq = e->f.seq;
    if (!w->started) {
        w->started = 1;
        check_start(w, e);
    }
    if (seq < w->db_floor) {
        /* Below genesis or inside the pruned range: nothing was written
        ** there, so the row was added behind the server's back. */
        problem(w, seq, "inserted",
                "entry %lld lies before the start of the chain (seq %lld)",
                (long long)seq, (long long)w->db_floor);
        return w->oom;
    }
    settle_pending(w, e);
    int links = memcmp(e->prev_hash, w->expect_prev, CHAIN_HASH_BYTES) == 0;
    if (seq < w->expect_seq) {
        problem(w, seq, "reordered", "entry %lld appears after entry %lld",
                (long long)seq, (long long)w->expect_seq - 1);
    } else if (!own_ok) {
        int64_t home = written_at(w, e);
        if (seq > w->expect_seq) report_gap(w, seq);
        if (home) {
            problem(w, seq, "reordered",
                    "the entry stored at seq %lld is the one written as seq %lld",
                    (long long)seq, (long long)home);
        } else if (links) {
            problem(w, seq, "modified",
                    "the stored content of entry %lld no longer matches its hash",
                    (long long)seq);
        } else {
            w->pending = 1;
            w->pending_seq = seq;
            memcpy(w->pending_hash, e->hash, CHAIN_HASH_BYTES);
        }
    } else if (seq > w->expect_seq) {
        report_gap(w, seq);
    } else if (!links && w->last_problem_seq != seq - 1) {
        /* (Right after a reported problem a broken link is its echo.) */
        problem(w, seq, "inserted",
                "entry %lld is self-consistent but does not follow entry %lld: "
                "it was forged into the chain", (long long)seq, (long long)seq - 1);
    }
    check_claims(w, seq, e->hash);
    /* An entry the chain walk reported is named already: the tree goes on
    ** from its stored leaf, so the same change is not reported twice. */
    if (w->last_problem_seq == seq || (w->pending && w->pending_seq == seq)) w->tf_ok = 0;
    else tree_step(w, e);
    w->expect_seq = seq + 1;
    memcpy(w->expect_prev, e->hash, CHAIN_HASH_BYTES);
    w->head_seq = seq;
    memcpy(w->head_hash, e->hash, CHAIN_HASH_BYTES);
    w->checked++;
    if (w->opt->progress && (w->checked & 0x1fff) == 0)
        w->opt->progress(w->opt->progress_ctx, w->checked);
    return w->oom;
}

/* Entries, from an archive or the database, go through the prehash
** pipeline: hashed on other threads, then judged here in order. */
static int on_entry(void *ctx, const store_raw_entry *e)
{
    return prehash_push(ctx, e);
}

/* Whether key may sign checkpoints of the walked log: it is the one key
** given (--public-key) or one of the trusted keys for this log.  Without
** either, every key is trusted (its own signature is still checked). */
static int key_trusted(const walk *w, const char *key)
{
    const verify_options *o = w->opt;
    if (!o->trusted_public_key && o->n_trusted_keys == 0) return 1;
    if (o->trusted_public_key && strcmp(key, o->trusted_public_key) == 0) return 1;
    for (size_t i = 0; i < o->n_trusted_keys; i++) {
        const verify_trusted_key *t = &o->trusted_keys[i];
        if (t->log && strcmp(t->log, w->log->name) != 0 && strcmp(t->log, w->log->log_id) != 0)
            continue;
        if (strcmp(t->key, key) == 0) return 1;
    }
    return 0;
}

/* Check one stored checkpoint and remember the head it claims. */
static int on_checkpoint(void *ctx, const store_checkpoint *cp)
{
    walk *w = ctx;
    w->checkpoints_checked++;
    char what[96];
    snprintf(what, sizeof what, "%s %lld",
             strcmp(cp->kind, "anchor") == 0 ? "retention anchor" : "checkpoint",
             (long long)cp->number);
    int bad = 0;
    if (checkpoint_check_signature(cp) != 0) {
        problem(w, cp->seq, "bad_signature", "%s has an invalid signature", what);
        bad = 1;
    } else if (!key_trusted(w, cp->public_key)) {
        problem(w, cp->seq, "bad_signature",
                "%s of log %s (%s) is signed by an unknown key %s, not a trusted one",
                what, w->log->name, w->log->log_id, cp->public_key);
        bad = 1;
    } else if (strcmp(cp->kind, "checkpoint") == 0 && w->log->public_key[0] &&
               strcmp(cp->public_key, w->log->public_key) != 0) {
        /* (Anchors are signed by whoever pruned, on a central store not the
        ** log's own server: only trusted keys judge them.) */
        problem(w, cp->seq, "bad_signature",
                "%s of log %s (%s) is signed by %s, not by the log's recorded key %s",
                what, w->log->name, w->log->log_id, cp->public_key, w->log->public_key);
        bad = 1;
    } else if (strcmp(cp->log_id, w->log_id) != 0) {
        problem(w, cp->seq, "bad_signature", "%s names another log (%s)", what,
                cp->log_id);
        bad = 1;
    }
    /* Its C2SP note: the same key, the same head, and a root the entries'
    ** tree must give at its size (compared during the walk). */
    uint8_t root[MERKLE_HASH];
    int has_root = 0;
    if (!bad && cp->note[0]) {
        char why[400];
        if (checkpoint_check_note(cp, w->origin[0] ? w->origin : NULL, root, why,
                                  sizeof why) != 0) {
            problem(w, cp->seq, "bad_signature", "%s: %s", what, why);
            bad = 1;
        } else {
            has_root = 1;
        }
    }
    if (!w->prev_bad && strcmp(cp->prev_checkpoint_hash, w->prev_digest) != 0)
        problem(w, cp->seq, "missing",
                "%s does not follow the checkpoint before it: a checkpoint was "
                "removed or altered", what);
    checkpoint_digest(cp, w->prev_digest);
    w->prev_bad = bad;
    if (!bad && (cp->seq > 0 || has_root) &&
        add_claim(w, cp->seq, cp->head_hash, what, has_root ? root : NULL) != 0)
        w->oom = 1;
    if (!bad && strcmp(cp->kind, "anchor") == 0) {
        head_claim *a = realloc(w->anchors, (w->n_anchors + 1) * sizeof *a);
        if (!a) {
            w->oom = 1;
        } else {
            w->anchors = a;
            a = &w->anchors[w->n_anchors++];
            memset(a, 0, sizeof *a);
            a->seq = cp->seq;
            size_t got = 0;
            sodium_hex2bin(a->hash, CHAIN_HASH_BYTES, cp->head_hash,
                           strlen(cp->head_hash), NULL, &got, NULL);
        }
    }
    return w->oom;
}

static cJSON *report(walk *w)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    char hex[CHAIN_HEX_LEN];
    chain_hex(w->head_hash, hex);
    cJSON_AddBoolToObject(r, "ok", w->n_problems == 0 && !w->truncated);
    cJSON_AddNumberToObject(r, "entries_checked", (double)w->checked);
    cJSON_AddNumberToObject(r, "checkpoints_checked", (double)w->checkpoints_checked);
    cJSON *head = cJSON_AddObjectToObject(r, "head");
    cJSON_AddNumberToObject(head, "seq", (double)w->head_seq);
    cJSON_AddStringToObject(head, "hash", hex);
    cJSON_AddItemToObject(r, "problems", w->problems);
    w->problems = NULL;
    cJSON_AddBoolToObject(r, "problems_truncated", w->truncated);
    return r;
}

/* Before the walk: the stored tree's size.  A log pruned before trees
** existed (no leaf, and an anchor without a note) has none and cannot have
** one: that is said in the report, not counted as a problem. */
static int tree_start(walk *w, store *st, const store_checkpoint *anchor, char *err,
                      size_t errlen)
{
    char serr[STORE_ERRLEN];
    if (store_tree_size(st, &w->tree_size, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        return -1;
    }
    if (w->tree_size == 0 && anchor && !anchor->note[0]) return 0;
    if (!(w->tq = malloc(TREE_BATCH * sizeof *w->tq))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->tree_on = 1;
    return 0;
}

/* The report's "tree": its size and root (base64, as notes print it). */
static int tree_report(walk *w, store *st, cJSON *r)
{
    char serr[STORE_ERRLEN], b64[C2SP_B64_LEN(MERKLE_HASH) + 1];
    merkle_hash root;
    cJSON *t = cJSON_AddObjectToObject(r, "tree");
    if (!t) return -1;
    cJSON_AddNumberToObject(t, "size", (double)w->tree_size);
    if (!w->tq && w->tree_size == 0 && w->head_seq > 0) {
        cJSON_AddStringToObject(t, "missing",
                                "the log was pruned before it kept a Merkle tree: its "
                                "entries cannot be proved with one");
        return 0;
    }
    if (store_tree_root(st, w->tree_size, root, serr) == STORE_OK) {
        c2sp_b64_encode(root, MERKLE_HASH, b64);
        cJSON_AddStringToObject(t, "root", b64);
    }
    return 0;
}

/* ---- witnesses ---- */

/* The newest signed checkpoint's cosignatures by the witnesses trusted:
** each one present must verify, and at least min_witnesses must.  0, or
** -1 with err when the store cannot be read. */
static int check_witnesses(walk *w, store *st, char *err, size_t errlen)
{
    const verify_options *o = w->opt;
    if (!o->n_witnesses && !o->min_witnesses) return 0;
    store_checkpoint cp;
    char serr[STORE_ERRLEN], why[256];
    int rc = checkpoint_last_noted(st, &cp, serr);
    if (rc == STORE_ENOTFOUND) {
        problem(w, 0, "witness", "no checkpoint of the log carries a signed note for "
                                 "witnesses to cosign");
        return 0;
    }
    char *text = rc == STORE_OK ? checkpoint_cosigned_note(st, &cp, serr) : NULL;
    if (!text) {
        snprintf(err, errlen, "%s", serr);
        return -1;
    }
    note *n = malloc(sizeof *n);
    note_verdict *v = calloc(o->n_witnesses ? o->n_witnesses : 1, sizeof *v);
    int valid = -1;
    if (n && v && note_parse(text, strlen(text), n, why, sizeof why) == NOTE_OK)
        valid = note_check(n, o->witnesses, o->n_witnesses, v, why, sizeof why);
    for (size_t i = 0; valid >= 0 && i < o->n_witnesses; i++) {
        char vk[NOTE_VKEY_MAX];
        note_key_format(&o->witnesses[i], vk);
        if (v[i].invalid)
            problem(w, cp.seq, "witness", "checkpoint %lld's cosignature by %s does not verify",
                    (long long)cp.number, vk);
    }
    if (valid < 0)
        problem(w, cp.seq, "witness", "checkpoint %lld's note cannot be read: %s",
                (long long)cp.number, why);
    else if ((size_t)valid < o->min_witnesses)
        problem(w, cp.seq, "witness",
                "checkpoint %lld (tree size %lld) is cosigned by %d of the %zu witnesses "
                "trusted, fewer than the %zu required", (long long)cp.number,
                (long long)cp.seq, valid, o->n_witnesses, o->min_witnesses);
    free(text);
    free(n);
    free(v);
    return w->oom ? -1 : 0;
}

/* Verify the selected log, described by log (id, name, recorded key). */
static cJSON *verify_one(store *st, const verify_options *opt, const store_log *log,
                         char *err, size_t errlen)
{
    walk w = {.st = st, .opt = opt, .log_id = log->log_id, .log = log,
              .db_floor = INT64_MIN,
              .max_problems = opt->max_problems > 0 ? opt->max_problems : 1000};
    cJSON *out = NULL;
    char serr[STORE_ERRLEN];
    prehash *ph = NULL;
    memset(w.prev_digest, '0', 64);
    if (!(w.problems = cJSON_CreateArray())) goto oom;
    if (!(ph = prehash_new(-1, judge, &w))) goto oom;

    /* Notes must name the log's recorded origin (when one is recorded). */
    if (store_log_origin(st, NULL, w.origin, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }

    /* 1. Checkpoints: signatures, their own chain, and the heads they claim. */
    if (store_each_checkpoint(st, on_checkpoint, &w, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (opt->external) {
        const store_checkpoint *x = opt->external;
        if (checkpoint_check_signature(x) != 0)
            problem(&w, x->seq, "bad_signature", "the external checkpoint's signature is invalid");
        else if (!key_trusted(&w, x->public_key))
            problem(&w, x->seq, "bad_signature", "the external checkpoint is signed by an unknown key");
        else if (strcmp(x->log_id, w.log_id) != 0)
            problem(&w, x->seq, "bad_signature",
                    "the external checkpoint belongs to another log (%s)", x->log_id);
        else {
            uint8_t root[MERKLE_HASH];
            char why[400];
            int noted = x->note[0] != '\0';
            if (noted && checkpoint_check_note(x, w.origin[0] ? w.origin : NULL, root, why,
                                               sizeof why) != 0)
                problem(&w, x->seq, "bad_signature", "the external checkpoint: %s", why);
            else if ((x->seq > 0 || noted) &&
                     add_claim(&w, x->seq, x->head_hash, "the external checkpoint",
                               noted ? root : NULL))
                goto oom;
        }
    }
    if (w.oom) goto oom;
    if (w.n_claims) qsort(w.claims, w.n_claims, sizeof *w.claims, cmp_claims);

    /* The key recorded with the log must itself be trusted: a replaced key
    ** with checkpoints re-signed by it is otherwise consistent. */
    if (log->public_key[0] && (opt->trusted_public_key || opt->n_trusted_keys) &&
        !key_trusted(&w, log->public_key))
        problem(&w, 0, "bad_signature",
                "the key recorded for log %s (%s), %s, is not a trusted key: the "
                "log's key was replaced", log->name, log->log_id, log->public_key);

    /* 2. The chain: archives first, then the database. */
    store_checkpoint anchor;
    int has_anchor = store_last_anchor(st, &anchor, serr) == STORE_OK;
    if (tree_start(&w, st, has_anchor ? &anchor : NULL, err, errlen) != 0) goto done;
    for (int i = 0; i < opt->n_archives; i++) {
        if (archive_each(opt->archives[i], on_entry, ph, err, errlen) != 0) goto done;
    }
    /* The walk's state changes below: every archived entry is judged first. */
    if (prehash_drain(ph) != 0 || w.oom) goto oom;
    w.db_floor = has_anchor ? anchor.seq + 1 : 1;
    if (opt->n_archives == 0) {
        w.started = 1;
        w.expect_seq = 1;
        if (has_anchor) {
            w.expect_seq = anchor.seq + 1;
            w.head_seq = anchor.seq;
            size_t got = 0;
            sodium_hex2bin(w.expect_prev, CHAIN_HASH_BYTES, anchor.head_hash,
                           strlen(anchor.head_hash), NULL, &got, NULL);
            memcpy(w.head_hash, w.expect_prev, CHAIN_HASH_BYTES);
            /* Claims about pruned entries can no longer be checked. */
            for (size_t i = 0; i < w.n_claims; i++)
                if (w.claims[i].seq <= anchor.seq) w.claims[i].seen = 1;
        }
    } else if (has_anchor && w.head_seq != anchor.seq) {
        problem(&w, anchor.seq, "missing",
                "the archives end at seq %lld but the database was pruned up to %lld",
                (long long)w.head_seq, (long long)anchor.seq);
    }
    w.use_store_lookup = 1;
    /* From the lowest seq stored, so that rows forged below the start of
    ** the chain are seen too.  Where retention drops whole partitions
    ** shared by every log (STORE_CAP_PARTITIONS), a pruned log's rows stay
    ** below its signed anchor until the last log is pruned past them: the
    ** walk starts after the anchor there (store_prune()). */
    int64_t from = INT64_MIN;
    if (has_anchor && (store_capabilities(st) & STORE_CAP_PARTITIONS)) from = anchor.seq + 1;
    if (store_each_entry(st, from, on_entry, ph, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (prehash_drain(ph) != 0 || w.oom) goto oom;
    settle_pending(&w, NULL);
    tree_flush(&w);
    if (w.tree_on && w.tree_size > w.head_seq)
        tree_problem(&w, w.tree_size, "truncated", "the Merkle tree holds %lld leaves but "
                     "the log ends at seq %lld: entries were removed after they were written",
                     (long long)w.tree_size, (long long)w.head_seq);
    if (w.oom) goto oom;

    /* 3. Heads claimed beyond the end of the log: it was truncated. */
    for (size_t i = 0; i < w.n_claims; i++) {
        head_claim *c = &w.claims[i];
        if (!c->seen && c->seq > w.head_seq)
            problem(&w, c->seq, "truncated",
                    "%s vouches for seq %lld but the log ends at seq %lld",
                    c->what, (long long)c->seq, (long long)w.head_seq);
        else if (!c->seen)
            problem(&w, c->seq, "missing", "%s vouches for seq %lld, which is not in the log",
                    c->what, (long long)c->seq);
    }
    if (check_witnesses(&w, st, err, errlen) != 0) goto done;
    out = report(&w);
    if (!out || tree_report(&w, st, out) != 0) goto oom;
    cJSON *ws = checkpoint_witnesses_json(st);
    if (ws) cJSON_AddItemToObject(out, "witnesses", ws);
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    prehash_free(ph);
    cJSON_Delete(w.problems);
    free(w.claims);
    free(w.anchors);
    free(w.tq);
    return out;
}

/* ---- every log ---- */

typedef struct log_list {
    store_log *v;
    size_t n;
} log_list;

static int list_logs(store *st, log_list *l, char *err, size_t errlen)
{
    char serr[STORE_ERRLEN];
    if (store_list_logs(st, &l->v, &l->n, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        return -1;
    }
    return 0;
}

cJSON *verify_log(store *st, const verify_options *opt, char *err, size_t errlen)
{
    log_list l = {0};
    cJSON *out = NULL;
    store_log self;
    memset(&self, 0, sizeof self);
    snprintf(self.log_id, sizeof self.log_id, "%s", store_log_id(st));
    snprintf(self.name, sizeof self.name, "%s", store_log_name(st));
    if (list_logs(st, &l, err, errlen) != 0) goto done;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.v[i].log_id, self.log_id) == 0) self = l.v[i];
    out = verify_one(st, opt, &self, err, errlen);
done:
    free(l.v);
    return out;
}

/* Add one log's report r to the merged report m (both owned; r is freed). */
static int merge(cJSON *m, cJSON *r, const store_log *log, int is_head)
{
    cJSON *logs = cJSON_GetObjectItemCaseSensitive(m, "logs");
    cJSON *probs = cJSON_GetObjectItemCaseSensitive(m, "problems");
    cJSON *one = cJSON_CreateObject();
    if (!one) return -1;
    cJSON_AddItemToArray(logs, one);
    cJSON_AddStringToObject(one, "log_id", log->log_id);
    cJSON_AddStringToObject(one, "log", log->name);
    static const char *const sums[] = {"entries_checked", "checkpoints_checked"};
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
    cJSON_AddBoolToObject(one, "ok", ok);
    for (int i = 0; i < 2; i++) {
        double v = cJSON_GetObjectItemCaseSensitive(r, sums[i])->valuedouble;
        cJSON *t = cJSON_GetObjectItemCaseSensitive(m, sums[i]);
        cJSON_SetNumberValue(t, t->valuedouble + v);
        cJSON_AddNumberToObject(one, sums[i], v);
    }
    cJSON *head = cJSON_DetachItemFromObjectCaseSensitive(r, "head");
    if (head) {
        if (is_head) {
            cJSON_ReplaceItemInObjectCaseSensitive(m, "head", cJSON_Duplicate(head, 1));
        }
        cJSON_AddItemToObject(one, "head", head);
    }
    /* Each log's tree and witnesses; the head log's at the top as well. */
    static const char *const per_log[] = {"tree", "witnesses"};
    for (int i = 0; i < 2; i++) {
        cJSON *x = cJSON_DetachItemFromObjectCaseSensitive(r, per_log[i]);
        if (!x) continue;
        if (is_head) cJSON_AddItemToObject(m, per_log[i], cJSON_Duplicate(x, 1));
        cJSON_AddItemToObject(one, per_log[i], x);
    }
    cJSON *rp = cJSON_GetObjectItemCaseSensitive(r, "problems");
    cJSON *p;
    while (rp && (p = cJSON_DetachItemFromArray(rp, 0)) != NULL) cJSON_AddItemToArray(probs, p);
    if (!ok) cJSON_ReplaceItemInObjectCaseSensitive(m, "ok", cJSON_CreateFalse());
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "problems_truncated")))
        cJSON_ReplaceItemInObjectCaseSensitive(m, "problems_truncated", cJSON_CreateTrue());
    cJSON_Delete(r);
    return 0;
}

cJSON *verify_store(store *st, const verify_options *opt, char *err, size_t errlen)
{
    log_list l = {0};
    cJSON *m = NULL, *out = NULL;
    char serr[STORE_ERRLEN], own[37];
    snprintf(own, sizeof own, "%s", store_log_id(st));
    if (list_logs(st, &l, err, errlen) != 0) goto done;
    size_t first = 0, last = l.n; /* the logs to verify: [first, last) */
    if (opt->log) {
        size_t i;
        for (i = 0; i < l.n && strcmp(l.v[i].log_id, opt->log) != 0 &&
                    strcmp(l.v[i].name, opt->log) != 0; i++) {}
        if (i == l.n) {
            snprintf(err, errlen, "the store holds no log named %s", opt->log);
            goto done;
        }
        first = i;
        last = i + 1;
    }
    if (opt->n_archives > 0 && last - first > 1) {
        snprintf(err, errlen, "the store holds %zu logs: name the one the archives "
                 "belong to with --log", last - first);
        goto done;
    }
    size_t head_at = first;
    for (size_t i = first; i < last; i++)
        if (strcmp(l.v[i].log_id, own) == 0) head_at = i;
    if (!(m = cJSON_CreateObject())) goto oom;
    cJSON_AddBoolToObject(m, "ok", 1);
    cJSON_AddNumberToObject(m, "entries_checked", 0);
    cJSON_AddNumberToObject(m, "checkpoints_checked", 0);
    cJSON *h = cJSON_AddObjectToObject(m, "head");
    if (h) {
        cJSON_AddNumberToObject(h, "seq", 0);
        cJSON_AddStringToObject(h, "hash", "");
    }
    cJSON_AddArrayToObject(m, "problems");
    cJSON_AddBoolToObject(m, "problems_truncated", 0);
    if (!cJSON_AddArrayToObject(m, "logs")) goto oom;
    /* Triggers dropped change no entry: the store says which are gone. */
    char missing[1024];
    if (store_missing_guards(st, missing, sizeof missing, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    int external_used = 0;
    for (size_t i = first; i < last; i++) {
        if (store_use_log(st, l.v[i].log_id, serr) != STORE_OK) {
            snprintf(err, errlen, "%s", serr);
            goto done;
        }
        verify_options o = *opt;
        /* The external checkpoint is checked against its own log, or, when
        ** it names none of them, against the only log verified. */
        o.external = NULL;
        if (opt->external && (strcmp(opt->external->log_id, l.v[i].log_id) == 0 ||
                              last - first == 1)) {
            o.external = opt->external;
            external_used = 1;
        }
        cJSON *r = verify_one(st, &o, &l.v[i], err, errlen);
        if (!r) goto done;
        if (missing[0]) {
            cJSON *p = cJSON_CreateObject();
            if (!p) {
                cJSON_Delete(r);
                goto oom;
            }
            cJSON_AddNumberToObject(p, "seq", 0);
            cJSON_AddStringToObject(p, "kind", "unprotected");
            char detail[1200];
            snprintf(detail, sizeof detail,
                     "append-only triggers missing or disabled: %s", missing);
            cJSON_AddStringToObject(p, "detail", detail);
            cJSON_AddStringToObject(p, "log", l.v[i].name);
            cJSON_AddStringToObject(p, "log_id", l.v[i].log_id);
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(r, "problems"), p);
            cJSON_ReplaceItemInObjectCaseSensitive(r, "ok", cJSON_CreateFalse());
        }
        if (merge(m, r, &l.v[i], i == head_at) != 0) goto oom;
    }
    if (opt->external && !external_used) {
        cJSON *p = cJSON_CreateObject();
        if (!p) goto oom;
        cJSON_AddNumberToObject(p, "seq", (double)opt->external->seq);
        cJSON_AddStringToObject(p, "kind", "bad_signature");
        cJSON_AddStringToObject(p, "detail",
                                "the external checkpoint belongs to none of the logs verified");
        cJSON_AddStringToObject(p, "log", "");
        cJSON_AddStringToObject(p, "log_id", opt->external->log_id);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(m, "problems"), p);
        cJSON_ReplaceItemInObjectCaseSensitive(m, "ok", cJSON_CreateFalse());
    }
    out = m;
    m = NULL;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    /* Back to the log selected before (a read-only store of a shared
    ** database may have selected its only log without owning it). */
    store_use_log(st, own[0] ? own : NULL, serr);
    cJSON_Delete(m);
    free(l.v);
    return out;
}

/* ---- verify --since ---- */

/* The log the note is of: opt->log, else the one whose origin it names. */
static int since_log(store *st, const verify_options *opt, const char *origin, store_log *out,
                     char *err, size_t errlen)
{
    log_list l = {0};
    char serr[STORE_ERRLEN], have[STORE_ORIGIN_MAX + 1];
    int found = 0;
    if (list_logs(st, &l, err, errlen) != 0) return -1;
    for (size_t i = 0; i < l.n && !found; i++) {
        if (opt->log) {
            found = strcmp(l.v[i].log_id, opt->log) == 0 || strcmp(l.v[i].name, opt->log) == 0;
        } else if (store_use_log(st, l.v[i].log_id, serr) == STORE_OK &&
                   store_log_origin(st, NULL, have, serr) == STORE_OK) {
            if (!have[0]) ckpt_default_origin(l.v[i].log_id, have, sizeof have);
            found = strcmp(have, origin) == 0;
        }
        if (found) *out = l.v[i];
    }
    free(l.v);
    if (!found) {
        if (opt->log) snprintf(err, errlen, "the store holds no log named %s", opt->log);
        else snprintf(err, errlen, "no log of the store has the origin %.*s", utf8_cut(origin,
                      200), origin);
        return -1;
    }
    return 0;
}

cJSON *verify_since(store *st, const char *text, size_t len, const verify_options *opt,
                    char *err, size_t errlen)
{
    char own[37], serr[STORE_ERRLEN], why[256], b64[C2SP_B64_LEN(MERKLE_HASH) + 1];
    note *n = malloc(sizeof *n);
    ckpt c;
    store_log log;
    cJSON *out = NULL;
    snprintf(own, sizeof own, "%s", store_log_id(st));
    walk w = {.st = st, .opt = opt, .log = &log, .max_problems = 1000};
    if (!n || !(w.problems = cJSON_CreateArray())) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (note_parse(text, len, n, why, sizeof why) != NOTE_OK ||
        ckpt_parse(n->text, n->text_len, &c, why, sizeof why) != CKPT_OK) {
        snprintf(err, errlen, "the --since checkpoint is not a signed checkpoint note: %s", why);
        goto done;
    }
    if (since_log(st, opt, c.origin, &log, err, errlen) != 0 ||
        store_use_log(st, log.log_id, serr) != STORE_OK)
        goto done;
    w.log_id = log.log_id;
    /* 1. Signed by the log's key, under its origin. */
    const char *pk = opt->trusted_public_key ? opt->trusted_public_key : log.public_key;
    ckpt_log cl;
    uint8_t pkb[32];
    memset(&cl, 0, sizeof cl);
    snprintf(cl.origin, sizeof cl.origin, "%s", c.origin);
    if (!pk[0] || chain_unhex(pk, strlen(pk), pkb) != 0) {
        snprintf(err, errlen, "no key to check the checkpoint with: give --public-key");
        goto done;
    }
    if (note_key_make(&cl.key, c.origin, NOTE_ED25519, pkb, why, sizeof why) != NOTE_OK ||
        ckpt_open(text, len, &cl, 1, n, &c, why, sizeof why) != CKPT_OK)
        problem(&w, c.size, "bad_signature",
                "the --since checkpoint is not signed by the log's key: %s", why);
    /* 2. Today's tree extends the one it signed: a consistency proof. */
    int64_t size = 0;
    merkle_hash root, path[MERKLE_MAX_PROOF];
    size_t plen = 0;
    int rc = store_tree_size(st, &size, serr);
    if (rc == STORE_OK) rc = store_tree_root(st, size, root, serr);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (size < c.size) {
        problem(&w, c.size, "truncated",
                "the log's tree holds %lld leaves, fewer than the %lld of the checkpoint: "
                "entries were removed", (long long)size, (long long)c.size);
    } else if (store_tree_consistency(st, c.size, size, path, &plen, serr) != STORE_OK ||
               merkle_verify_consistency(c.size, size, c.root, root, path[0], plen) !=
                   MERKLE_OK) {
        problem(&w, c.size, "modified",
                "the log is not an append-only extension of the checkpoint of tree size "
                "%lld: the tree it signed is not the first %lld leaves of today's",
                (long long)c.size, (long long)c.size);
    }
    /* 3. The newest signed checkpoint: its note, and its root in the tree. */
    store_checkpoint cp;
    int have_cp = checkpoint_last_noted(st, &cp, serr) == STORE_OK;
    if (have_cp) {
        uint8_t signed_root[MERKLE_HASH];
        merkle_hash at;
        if (checkpoint_check_note(&cp, c.origin, signed_root, why, sizeof why) != 0)
            problem(&w, cp.seq, "bad_signature", "checkpoint %lld: %s", (long long)cp.number,
                    why);
        else if (cp.seq > size || store_tree_root(st, cp.seq, at, serr) != STORE_OK ||
                 memcmp(at, signed_root, MERKLE_HASH) != 0)
            problem(&w, cp.seq, "tree", "checkpoint %lld signs a root the log's tree does not "
                    "have at size %lld", (long long)cp.number, (long long)cp.seq);
    }
    if (check_witnesses(&w, st, err, errlen) != 0 || w.oom) goto done;
    /* The report. */
    if (!(out = cJSON_CreateObject())) goto done;
    cJSON_AddBoolToObject(out, "ok", w.n_problems == 0);
    cJSON *since = cJSON_AddObjectToObject(out, "since");
    cJSON_AddStringToObject(since, "origin", c.origin);
    cJSON_AddNumberToObject(since, "size", (double)c.size);
    c2sp_b64_encode(c.root, MERKLE_HASH, b64);
    cJSON_AddStringToObject(since, "root", b64);
    cJSON *tree = cJSON_AddObjectToObject(out, "tree");
    cJSON_AddNumberToObject(tree, "size", (double)size);
    c2sp_b64_encode(root, MERKLE_HASH, b64);
    cJSON_AddStringToObject(tree, "root", b64);
    cJSON_AddNumberToObject(out, "proof_hashes", (double)plen);
    if (have_cp) {
        cJSON *nc = cJSON_AddObjectToObject(out, "newest_checkpoint");
        cJSON_AddNumberToObject(nc, "number", (double)cp.number);
        cJSON_AddNumberToObject(nc, "size", (double)cp.seq);
    }
    cJSON_AddItemToObject(out, "problems", w.problems);
    w.problems = NULL;
    cJSON_AddBoolToObject(out, "problems_truncated", w.truncated);
    cJSON *logs = cJSON_AddArrayToObject(out, "logs");
    cJSON *one = cJSON_CreateObject();
    cJSON_AddItemToArray(logs, one);
    cJSON_AddStringToObject(one, "log_id", log.log_id);
    cJSON_AddStringToObject(one, "log", log.name);
    cJSON_AddBoolToObject(one, "ok", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "ok")));
    cJSON *ws = checkpoint_witnesses_json(st);
    if (ws) cJSON_AddItemToObject(out, "witnesses", ws);
done:
    store_use_log(st, own[0] ? own : NULL, serr);
    cJSON_Delete(w.problems);
    free(n);
    return out;
}

/* ---- trusted keys ---- */

void verify_free_trusted_keys(verify_trusted_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)keys[i].log);
        free((char *)keys[i].key);
    }
    free(keys);
}

static int is_hex_key(const char *s)
{
    size_t n = strlen(s);
    if (n != 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

int verify_read_trusted_keys(const char *path, verify_trusted_key **keys, size_t *n,
                             char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    verify_trusted_key *v = NULL;
    size_t nv = 0;
    int line_no = 0, rc = -1;
    char line[1024];
    *keys = NULL;
    *n = 0;
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *a = strtok(line, " \t\r\n"), *b = strtok(NULL, " \t\r\n");
        char *extra = strtok(NULL, " \t\r\n");
        if (!a) continue;
        const char *name = b ? a : NULL, *key = b ? b : a;
        for (char *c = (char *)key; *c; c++)
            if (*c >= 'A' && *c <= 'F') *c = (char)(*c - 'A' + 'a');
        if (extra || !is_hex_key(key)) {
            snprintf(err, errlen, "%s line %d: expected a 64-digit hex public key, "
                     "optionally after a log name", path, line_no);
            goto done;
        }
        verify_trusted_key *g = realloc(v, (nv + 1) * sizeof *g);
        if (!g) goto oom;
        v = g;
        v[nv].log = name ? strdup(name) : NULL;
        v[nv].key = strdup(key);
        nv++;
        if (!v[nv - 1].key || (name && !v[nv - 1].log)) goto oom;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    if (nv == 0) {
        snprintf(err, errlen, "%s holds no key", path);
        goto done;
    }
    *keys = v;
    *n = nv;
    v = NULL;
    nv = 0;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    fclose(f);
    verify_free_trusted_keys(v, nv);
    return rc;
}
