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
*/
#include "verify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "checkpoint.h"
#include "prehash.h"

typedef struct head_claim {
    int64_t seq;
    uint8_t hash[CHAIN_HASH_BYTES];
    char what[96]; /* "checkpoint 3" or "the external checkpoint" */
    int seen;
} head_claim;

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
    cJSON_AddItemToArray(w->problems, p);
    w->n_problems++;
    w->last_problem_seq = seq;
}

static int cmp_claims(const void *a, const void *b)
{
    const head_claim *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_claim(walk *w, int64_t seq, const char *hex, const char *what)
{
    head_claim *c = realloc(w->claims, (w->n_claims + 1) * sizeof *c);
    if (!c) return -1;
    w->claims = c;
    c = &w->claims[w->n_claims++];
    memset(c, 0, sizeof *c);
    c->seq = seq;
    snprintf(c->what, sizeof c->what, "%s", what);
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
    } else if (w->opt->trusted_public_key &&
               strcmp(cp->public_key, w->opt->trusted_public_key) != 0) {
        problem(w, cp->seq, "bad_signature", "%s is signed by an unknown key %s",
                what, cp->public_key);
        bad = 1;
    } else if (strcmp(cp->log_id, w->log_id) != 0) {
        problem(w, cp->seq, "bad_signature", "%s names another log (%s)", what,
                cp->log_id);
        bad = 1;
    }
    if (!w->prev_bad && strcmp(cp->prev_checkpoint_hash, w->prev_digest) != 0)
        problem(w, cp->seq, "missing",
                "%s does not follow the checkpoint before it: a checkpoint was "
                "removed or altered", what);
    checkpoint_digest(cp, w->prev_digest);
    w->prev_bad = bad;
    if (!bad && cp->seq > 0 && add_claim(w, cp->seq, cp->head_hash, what) != 0)
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

cJSON *verify_log(store *st, const verify_options *opt, char *err, size_t errlen)
{
    walk w = {.st = st, .opt = opt, .log_id = store_log_id(st), .db_floor = INT64_MIN,
              .max_problems = opt->max_problems > 0 ? opt->max_problems : 1000};
    cJSON *out = NULL;
    char serr[STORE_ERRLEN];
    prehash *ph = NULL;
    memset(w.prev_digest, '0', 64);
    if (!(w.problems = cJSON_CreateArray())) goto oom;
    if (!(ph = prehash_new(-1, judge, &w))) goto oom;

    /* 1. Checkpoints: signatures, their own chain, and the heads they claim. */
    if (store_each_checkpoint(st, on_checkpoint, &w, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (opt->external) {
        const store_checkpoint *x = opt->external;
        if (checkpoint_check_signature(x) != 0)
            problem(&w, x->seq, "bad_signature", "the external checkpoint's signature is invalid");
        else if (opt->trusted_public_key && strcmp(x->public_key, opt->trusted_public_key))
            problem(&w, x->seq, "bad_signature", "the external checkpoint is signed by an unknown key");
        else if (strcmp(x->log_id, w.log_id) != 0)
            problem(&w, x->seq, "bad_signature",
                    "the external checkpoint belongs to another log (%s)", x->log_id);
        else if (x->seq > 0 && add_claim(&w, x->seq, x->head_hash, "the external checkpoint"))
            goto oom;
    }
    if (w.oom) goto oom;
    if (w.n_claims) qsort(w.claims, w.n_claims, sizeof *w.claims, cmp_claims);

    /* 2. The chain: archives first, then the database. */
    store_checkpoint anchor;
    int has_anchor = store_last_anchor(st, &anchor, serr) == STORE_OK;
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
    ** the chain are seen too. */
    if (store_each_entry(st, INT64_MIN, on_entry, ph, serr) != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        goto done;
    }
    if (prehash_drain(ph) != 0 || w.oom) goto oom;
    settle_pending(&w, NULL);
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
    out = report(&w);
    if (!out) goto oom;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    prehash_free(ph);
    cJSON_Delete(w.problems);
    free(w.claims);
    free(w.anchors);
    return out;
}
