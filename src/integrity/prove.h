/*
** prove.h: proofs that travel, made from a log and checked anywhere.
**
** An entry's proof is a C2SP tlog-proof (src/tlog/proof.h): the entry's
** chain hash (extra line), its leaf index (seq - 1), the audit path from
** the log's Merkle tree and a signed checkpoint note of a tree holding it,
** with the witnesses' cosignatures stored for it.  A log's growth between
** two tree sizes is a consistency proof in tlog-witness's add-checkpoint
** body form.  Both are made here from a store (`prove`, the
** get_inclusion_proof tool, the report) and checked offline from nothing
** but keys (`verify-proof`): docs/transparency.md.
**
** The entry a proof may carry is the archive's form of it (archive.h:
** every stored field as text, both hashes), from which anyone recomputes
** its hash (docs/hash-encoding.md).
**
** Functions return STORE_ codes with a sentence in err (STORE_ERRLEN
** bytes), unless they say otherwise.
*/
#ifndef DSS_PROVE_H
#define DSS_PROVE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "../store/store.h"
#include "../tlog/note.h"
#include "../tlog/proof.h"
#include "signer.h"

typedef struct prove_request {
    int64_t seq;      /* the entry, from 1 */
    int64_t size;     /* the tree size to prove it in; 0: the newest signed
                         checkpoint, or a new one when none holds the entry */
    const signer *sg; /* signs that new checkpoint; NULL: never sign */
    int with_entry;   /* also hand back the entry */
} prove_request;

typedef struct prove_result {
    char *proof;     /* the tlog-proof text (caller frees: prove_result_free) */
    cJSON *entry;    /* the entry in archive form, when asked and still stored */
    char vkey[NOTE_VKEY_MAX]; /* the log's verifier key (the checkpoint's key) */
    int64_t size;    /* the tree size of the checkpoint proved against */
    int signed_now;  /* that checkpoint was signed for this proof */
} prove_result;

/*
** The proof of the entry rq->seq of the selected log.  A pruned entry is
** proved from the tree (which keeps every leaf), its hash read from there;
** it carries no entry.  STORE_ENOTFOUND when the log has no such entry;
** STORE_EREADONLY when no signed checkpoint holds it and rq->sg is NULL;
** STORE_EINVAL when rq->size names a size no checkpoint was signed at (and
** that is not the head a key may sign now).  On STORE_OK the
** caller frees *out with prove_result_free().
*/
int prove_entry(store *st, const prove_request *rq, prove_result *out, char *err);
void prove_result_free(prove_result *r);

/* The entry seq of the selected log in archive form (archive.h: every
** stored field as text, both hashes), a new object in *out the caller
** frees: STORE_ENOTFOUND when the log no longer (or never) stored it. */
int prove_stored_entry(store *st, int64_t seq, cJSON **out, char *err);

/* The seq of the entry whose id is id: STORE_ENOTFOUND when none. */
int prove_seq_of_id(store *st, const char *id, int64_t *seq, char *err);

/*
** The consistency proof from tree size old_size to the size of the signed
** checkpoint of new_size (0: the newest signed one; when none is, the
** head's, signed by sg, or STORE_EREADONLY without one), as the body
** "old <old_size>\n<hashes>\n\n<checkpoint note with cosignatures>".  A new
** string in *out the caller frees.
*/
int prove_consistency(store *st, const signer *sg, int64_t old_size, int64_t new_size,
                      char **out, char *err);

/* ---- checking offline ---- */

/* The hash an archived entry's fields give at its seq after its prev_hash
** (chain.h), into hash; 0, or -1 with a sentence in why when the object
** is no archived entry (or its stored hash is not what its fields give:
** then hash still holds what they give). */
int prove_entry_hash(const cJSON *entry, uint8_t hash[CHAIN_HASH_BYTES], char *why,
                     size_t whylen);

/* What verify-proof checks of an entry it is given (--entry, or the one a
** prove --entry bundle carries) against the proof p: that its fields hash
** to the hash it states (into hash), and that it is the proof's leaf (seq
** = index + 1).  0, or -1 with res->failed (PROOF_ENTRY or PROOF_INDEX)
** and res->why. */
int prove_check_entry(const cJSON *entry, const tlog_proof *p, uint8_t hash[CHAIN_HASH_BYTES],
                      proof_result *res);

#endif
