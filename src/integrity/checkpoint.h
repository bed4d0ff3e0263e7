/*
** checkpoint.h: signed checkpoints of the audit log.
**
** A checkpoint is a signed statement "log L had N entries, the newest with
** hash H, at time T, after checkpoint C", in the manner of Certificate
** Transparency's signed tree heads.  Checkpoints are chained to each other
** by prev_checkpoint_hash and stored append-only beside the entries; one
** exported and kept elsewhere lets verify prove later that the log was
** neither truncated nor rewritten.  Retention anchors are checkpoints of
** kind "anchor" marking where pruned entries ended.
*/
#ifndef DSS_CHECKPOINT_H
#define DSS_CHECKPOINT_H

#include <cjson/cJSON.h>

#include "../store/store.h"
#include "signer.h"

/* The SHA-256 (hex) identifying a checkpoint, over its signed message and
** signature; the next checkpoint's prev_checkpoint_hash. */
void checkpoint_digest(const store_checkpoint *cp, char hex[CHAIN_HEX_LEN]);

/* Whether cp's signature is valid for its own public key: 0 yes, -1 no. */
int checkpoint_check_signature(const store_checkpoint *cp);

/*
** Sign and append a checkpoint of `kind` ("checkpoint" or "anchor") for the
** entry at seq with hash head_hash, chained to the newest checkpoint.  Must
** run inside an open transaction.  Fills *out.  Returns a STORE_ code.
*/
int checkpoint_append(store *st, const signer *sg, const char *kind, int64_t seq,
                      const char *head_hash, store_checkpoint *out, char *err);

/* Checkpoint the current head in a transaction of its own (or inside the
** open one).  Returns a STORE_ code. */
int checkpoint_now(store *st, const signer *sg, store_checkpoint *out, char *err);

/* The checkpoint as JSON: {log_id, seq, head_hash, created_at,
** prev_checkpoint_hash, kind, signature, public_key}.  Caller frees. */
cJSON *checkpoint_to_json(const store_checkpoint *cp);

/* Read a checkpoint from JSON (as checkpoint_to_json writes it).  Returns 0,
** or -1 with a sentence in err naming the missing or malformed field. */
int checkpoint_from_json(const cJSON *j, store_checkpoint *out, char *err,
                         size_t errlen);

#endif
