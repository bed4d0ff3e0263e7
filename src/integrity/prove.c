/*
** prove.c: proofs of entries and of a log's growth, from a store (and the
** check of an entry a proof carries).
**
** The checkpoint a proof ends with is a stored one: its note is what the
** log signed (and witnesses cosigned) at that size, so a proof is only as
** new as the newest checkpoint.  An entry no signed checkpoint holds yet
** gets one signed for it when a key is given, as the reviewer
** expects ("prove signs one"); else the caller hears why it cannot.
**
** Finding the checkpoint reads the newest one (one row); a given size
** other than the newest walks the checkpoints, which is fine for people's
** one-off requests and never on an agent's path.
*/
#include "prove.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tlog/c2sp.h"
#include "../tlog/ckpt.h"
#include "../util/utf8.h"
#include "archive.h"
#include "checkpoint.h"

void prove_result_free(prove_result *r)
{
    if (!r) return;
    free(r->proof);
    cJSON_Delete(r->entry);
    memset(r, 0, sizeof *r);
}

/* ---- the entry ---- */

typedef struct one_entry {
    int64_t seq;
    int found;
    uint8_t hash[CHAIN_HASH_BYTES];
    int want_json;
    cJSON *json;
    int oom;
} one_entry;

static int take_entry(void *ctx, const store_raw_entry *e)
{
    one_entry *o = ctx;
    if (e->f.seq != o->seq) return 1;
    o->found = 1;
    memcpy(o->hash, e->hash, CHAIN_HASH_BYTES);
    if (o->want_json && !(o->json = archive_entry_json(e))) o->oom = 1;
    return 1;
}

int prove_stored_entry(store *st, int64_t seq, cJSON **out, char *err)
{
    one_entry e = {.seq = seq, .want_json = 1};
    *out = NULL;
    int rc = store_each_entry(st, seq, take_entry, &e, err);
    if (rc != STORE_OK) return rc;
    if (e.oom) {
        cJSON_Delete(e.json);
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    if (!e.found) {
        snprintf(err, STORE_ERRLEN, "the log stores no entry %lld", (long long)seq);
        return STORE_ENOTFOUND;
    }
    *out = e.json;
    return STORE_OK;
}

int prove_seq_of_id(store *st, const char *id, int64_t *seq, char *err)
{
    cJSON *e = NULL;
    int rc = store_get(st, id, &e, err);
    if (rc != STORE_OK) return rc;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "seq");
    *seq = cJSON_IsNumber(s) ? (int64_t)s->valuedouble : 0;
    cJSON_Delete(e);
    return STORE_OK;
}

/* ---- the checkpoint ---- */

typedef struct at_size {
    int64_t size;
    store_checkpoint *cp;
    int found;
} at_size;

static int keep_at_size(void *ctx, const store_checkpoint *cp)
{
    at_size *a = ctx;
    if (cp->seq == a->size && cp->note[0]) {
        *a->cp = *cp; /* the newest of that size wins */
        a->found = 1;
    }
    return 0;
}

/* The signed checkpoint to prove against: of size `size`, or the newest
** (signing one that holds seq when it does not, and sg is given). */
static int pick_checkpoint(store *st, int64_t seq, int64_t size, const signer *sg,
                           store_checkpoint *cp, int *signed_now, char *err)
{
    int rc;
    *signed_now = 0;
    if (size > 0) {
        if (size < seq) {
            snprintf(err, STORE_ERRLEN, "entry %lld is not in the tree of size %lld",
                     (long long)seq, (long long)size);
            return STORE_EINVAL;
        }
        at_size a = {size, cp, 0};
        if ((rc = store_each_checkpoint(st, keep_at_size, &a, err)) != STORE_OK) return rc;
        if (a.found) return STORE_OK;
        int64_t head;
        char hash[CHAIN_HEX_LEN];
        if ((rc = store_head(st, &head, hash, err)) != STORE_OK) return rc;
        if (!sg || head != size) {
            snprintf(err, STORE_ERRLEN,
                     "no checkpoint of log %s was signed at tree size %lld (leave --size out "
                     "to use the newest)", store_log_id(st), (long long)size);
            return STORE_EINVAL;
        }
    } else {
        rc = checkpoint_last_noted(st, cp, err);
        if (rc == STORE_OK && cp->seq >= seq) return STORE_OK;
        if (rc != STORE_OK && rc != STORE_ENOTFOUND) return rc;
        if (!sg) {
            snprintf(err, STORE_ERRLEN,
                     "no signed checkpoint of log %s holds entry %lld yet, and no key may "
                     "sign one here", store_log_id(st), (long long)seq);
            return STORE_EREADONLY;
        }
    }
    if ((rc = checkpoint_now(st, sg, cp, err)) != STORE_OK) return rc;
    if (!cp->note[0]) {
        snprintf(err, STORE_ERRLEN, "the log's Merkle tree is incomplete: no note could be "
                                    "signed");
        return STORE_EINVAL;
    }
    *signed_now = 1;
    return STORE_OK;
}

/* The log's vkey of cp's note: its origin and cp's key. */
static int vkey_of(const store_checkpoint *cp, char out[NOTE_VKEY_MAX], char *err)
{
    char origin[STORE_ORIGIN_MAX + 1], why[256];
    checkpoint_note_origin(cp->note, origin);
    if (checkpoint_vkey(origin, cp->public_key, out, why, sizeof why) != 0) {
        snprintf(err, STORE_ERRLEN, "checkpoint %lld: %.*s", (long long)cp->number, utf8_cut(why,
                 200), why);
        return STORE_EINVAL;
    }
    return STORE_OK;
}

int prove_entry(store *st, const prove_request *rq, prove_result *out, char *err)
{
    memset(out, 0, sizeof *out);
    store_checkpoint cp;
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t len = 0;
    char *cosigned = NULL;
    int rc;
    if (rq->seq < 1) {
        snprintf(err, STORE_ERRLEN, "seq %lld is not an entry's (they start at 1)",
                 (long long)rq->seq);
        return STORE_EINVAL;
    }
    one_entry e = {.seq = rq->seq, .want_json = rq->with_entry};
    if ((rc = store_each_entry(st, rq->seq, take_entry, &e, err)) != STORE_OK) goto fail;
    if (e.oom) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        rc = STORE_ENOMEM;
        goto fail;
    }
    if (!e.found) {
        /* Pruned (the tree keeps its leaf), or never written. */
        int64_t head;
        char hash[CHAIN_HEX_LEN];
        if ((rc = store_head(st, &head, hash, err)) != STORE_OK) goto fail;
        if (rq->seq > head) {
            snprintf(err, STORE_ERRLEN, "log %s has no entry %lld (its head is %lld)",
                     store_log_id(st), (long long)rq->seq, (long long)head);
            rc = STORE_ENOTFOUND;
            goto fail;
        }
    }
    if ((rc = pick_checkpoint(st, rq->seq, rq->size, rq->sg, &cp, &out->signed_now, err)) !=
            STORE_OK ||
        (rc = store_tree_prove(st, rq->seq - 1, cp.seq, path, &len, err)) != STORE_OK ||
        (rc = vkey_of(&cp, out->vkey, err)) != STORE_OK)
        goto fail;
    if (!(cosigned = checkpoint_cosigned_note(st, &cp, err))) {
        rc = STORE_EIO;
        goto fail;
    }
    /* A pruned entry's hash is no longer stored: the proof then carries no
    ** extra line, and its archived copy gives the hash (verify-proof
    ** --entry). */
    char why[256];
    out->proof = proof_format(e.found ? e.hash : NULL, e.found ? CHAIN_HASH_BYTES : 0,
                              rq->seq - 1, path[0], len, cosigned, strlen(cosigned), NULL,
                              why, sizeof why);
    free(cosigned);
    if (!out->proof) {
        snprintf(err, STORE_ERRLEN, "%s", why);
        rc = STORE_EINVAL;
        goto fail;
    }
    out->entry = e.json;
    out->size = cp.seq;
    return STORE_OK;
fail:
    cJSON_Delete(e.json);
    prove_result_free(out);
    return rc;
}

int prove_consistency(store *st, const signer *sg, int64_t old_size, int64_t new_size,
                      char **out, char *err)
{
    store_checkpoint cp;
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t len = 0;
    int rc, ignored;
    *out = NULL;
    if (new_size > 0) {
        rc = pick_checkpoint(st, new_size, new_size, sg, &cp, &ignored, err);
    } else {
        /* The newest signed checkpoint; the head's, signed now, when none is. */
        rc = checkpoint_last_noted(st, &cp, err);
        if (rc == STORE_ENOTFOUND)
            rc = pick_checkpoint(st, old_size > 0 ? old_size : 1, 0, sg, &cp, &ignored, err);
    }
    if (rc != STORE_OK) return rc;
    if (old_size < 0 || old_size > cp.seq) {
        snprintf(err, STORE_ERRLEN, "size %lld is not within the checkpoint's tree of %lld",
                 (long long)old_size, (long long)cp.seq);
        return STORE_EINVAL;
    }
    if ((rc = store_tree_consistency(st, old_size, cp.seq, path, &len, err)) != STORE_OK)
        return rc;
    char *cosigned = checkpoint_cosigned_note(st, &cp, err), why[256];
    if (!cosigned) return STORE_EIO;
    *out = proof_consistency_format(old_size, path[0], len, cosigned, strlen(cosigned), NULL,
                                    why, sizeof why);
    free(cosigned);
    if (!*out) {
        snprintf(err, STORE_ERRLEN, "%s", why);
        return STORE_EINVAL;
    }
    return STORE_OK;
}

int prove_entry_hash(const cJSON *entry, uint8_t hash[CHAIN_HASH_BYTES], char *why,
                     size_t whylen)
{
    store_raw_entry e;
    if (archive_entry_read(entry, &e) != 0) {
        snprintf(why, whylen, "the entry is not one as prove --entry prints it (its seq, "
                              "every stored field as text, prev_hash and hash)");
        return -1;
    }
    chain_entry_hash(&e.f, e.prev_hash, hash);
    if (memcmp(hash, e.hash, CHAIN_HASH_BYTES) != 0) {
        snprintf(why, whylen, "the entry's fields do not hash to the hash it states: it was "
                              "edited");
        return -1;
    }
    return 0;
}

int prove_check_entry(const cJSON *entry, const tlog_proof *p, uint8_t hash[CHAIN_HASH_BYTES],
                      proof_result *res)
{
    char why[300];
    if (prove_entry_hash(entry, hash, why, sizeof why) != 0) {
        res->failed = PROOF_ENTRY;
        snprintf(res->why, sizeof res->why, "%s", why);
        return -1;
    }
    /* prove_entry_hash took the seq as a whole number from 1; the index
    ** may be INT64_MAX, whose seq does not fit an int64_t. */
    int64_t seq = (int64_t)cJSON_GetObjectItemCaseSensitive(entry, "seq")->valuedouble;
    if (seq - 1 != p->index) {
        res->failed = PROOF_INDEX;
        snprintf(res->why, sizeof res->why, "the entry is seq %lld, not the proof's leaf %lld "
                 "(seq %llu)", (long long)seq, (long long)p->index,
                 (unsigned long long)p->index + 1);
        return -1;
    }
    return 0;
}
