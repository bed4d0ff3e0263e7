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
**
** It also carries the same head as a C2SP signed checkpoint note (below),
** signed by the same key, unless the log's Merkle tree does not hold seq
** leaves (a tree that could not be built): then out->note is "".
*/
int checkpoint_append(store *st, const signer *sg, const char *kind, int64_t seq,
                      const char *head_hash, store_checkpoint *out, char *err);

/* Checkpoint the current head in a transaction of its own (or inside the
** open one).  Returns a STORE_ code. */
int checkpoint_now(store *st, const signer *sg, store_checkpoint *out, char *err);

/* The checkpoint as JSON: {log_id, seq, head_hash, created_at,
** prev_checkpoint_hash, kind, signature, public_key, note (when it has
** one)}.  Caller frees. */
cJSON *checkpoint_to_json(const store_checkpoint *cp);

/* Read a checkpoint from JSON (as checkpoint_to_json writes it).  Returns 0,
** or -1 with a sentence in err naming the missing or malformed field. */
int checkpoint_from_json(const cJSON *j, store_checkpoint *out, char *err,
                         size_t errlen);

/* ---- C2SP signed checkpoint notes (docs/transparency.md) ----
**
**     <origin>                    the log's, "dss-audit/<log_id>" by default
**     <seq>                       the tree size: every entry up to seq
**     <root, base64>              the Merkle tree's root at that size
**     chain-head <head_hash>      the entry at seq's chain hash, hex
**     prev-checkpoint <hex>       the previous checkpoint's digest
**
**     — <origin> <base64(key ID || Ed25519 signature)>
**
** signed (tlog-checkpoint, signed-note type 0x01) by the log's checkpoint
** key under the name <origin>. */

/* The extension lines' keywords. */
#define CHECKPOINT_EXT_HEAD "chain-head "
#define CHECKPOINT_EXT_PREV "prev-checkpoint "

/* The selected log's origin into out (STORE_ORIGIN_MAX + 1 bytes): the one
** recorded, else the default "dss-audit/<log_id>", recorded now (on a
** writable store).  Returns a STORE_ code. */
int checkpoint_origin(store *st, char *out, char *err);

/* The origin a checkpoint note names (its first line) into out
** (STORE_ORIGIN_MAX + 1 bytes).  0, or -1 with out empty when the line is
** longer than an origin can be. */
int checkpoint_note_origin(const char *text, char *out);

/* The signed-note verifier key of a log's checkpoints: the origin as key
** name, type 0x01, the hex Ed25519 public key pk_hex, into out
** (NOTE_VKEY_MAX bytes).  0, or -1 with a sentence in err. */
int checkpoint_vkey(const char *origin, const char *pk_hex, char *out, char *err, size_t errlen);

/*
** Check cp's note as verify does: a checkpoint note signed by cp's own
** public key under the name of its origin (which must be `origin` when
** that is not NULL), for tree size cp->seq, whose extension lines name
** cp's head_hash and prev_checkpoint_hash.  Fills root with the root it
** signs.  0, or -1 with a sentence in why.
*/
int checkpoint_check_note(const store_checkpoint *cp, const char *origin, uint8_t root[32],
                          char *why, size_t whylen);

/* cp's note with every cosignature stored for it appended (by witness),
** as a new string the caller frees with free(); NULL with err when cp has
** no note or the cosignatures cannot be read. */
char *checkpoint_cosigned_note(store *st, const store_checkpoint *cp, char *err);

/* How the selected log's witnesses fare (store_each_witness()), as a new
** JSON array the caller frees: [{witness, url, size, behind (it has not
** cosigned the newest signed checkpoint), last_attempt, last_ok,
** last_error}]; NULL when the log has none (or memory ran out). */
cJSON *checkpoint_witnesses_json(store *st);

/* The newest checkpoint of the selected log that carries a note:
** STORE_ENOTFOUND when none does. */
int checkpoint_last_noted(store *st, store_checkpoint *out, char *err);

/* Whether the newest signed checkpoint note of the selected log is of its
** head: 1 (out is that checkpoint), 0 (out the newest noted one, or zeroed
** when there is none), or a negative STORE_ code with err.  *head gets the
** head's seq (0 for an empty log). */
int checkpoint_head_noted(store *st, store_checkpoint *out, int64_t *head, char *err);

/* That checkpoint when it is of the current head, else a new one signed by
** sg (checkpoint_now()): `checkpoint --note` prints the same note until the
** log moves, and `report` signs only when the head moved. */
int checkpoint_noted_head(store *st, const signer *sg, store_checkpoint *out, char *err);

#endif
