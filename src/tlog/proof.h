/*
** proof.h: proofs that travel.  C2SP tlog-proof texts (an entry's
** inclusion in a signed, perhaps cosigned, checkpoint), checked offline
** with nothing but keys, and the consistency proof text of tlog-witness's
** add-checkpoint body (a newer checkpoint extends an older size).
**
**     c2sp.org/tlog-proof@v1              the proof
**     extra <base64 of the entry's 32-byte chain hash>
**     index <zero-based leaf index: seq - 1>
**     <audit path, one base64 hash a line, leaf's sibling first>
**
**     <the signed checkpoint, verbatim, with any cosignatures>
**
**     old <size>                          the consistency proof
**     <proof hashes, one base64 hash a line, at most 63>
**
**     <the signed checkpoint of the newer size>
**
** The leaf an entry proves is SHA-256(0x00 || its chain hash).  The extra
** line is not authenticated (the spec says so): a reviewer who holds the
** entry recomputes its hash and passes it to proof_verify(), which then
** requires the extra line to agree; without it the extra line's hash is
** what the proof binds to the log.
**
** Parsed texts point into the caller's buffer, which must outlive them.
*/
#ifndef DSS_PROOF_H
#define DSS_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "merkle.h"
#include "note.h"

#define PROOF_HEADER "c2sp.org/tlog-proof@v1"
/* Our limit on the extra data (a chain hash is 32 bytes; other logs put
** small things there too, such as a VRF proof). */
#define PROOF_EXTRA_MAX 4096
/* A whole proof text: its lines and the checkpoint note. */
#define PROOF_MAX_SIZE (NOTE_MAX_SIZE + 2 * PROOF_EXTRA_MAX + 64 * 64)

typedef struct tlog_proof {
    int has_extra;
    uint8_t extra[PROOF_EXTRA_MAX];
    size_t extra_len;
    int64_t index;
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t path_len;
    const char *checkpoint; /* the signed note, into the parsed text */
    size_t checkpoint_len;
} tlog_proof;

/*
** The proof text for leaf index with the given audit path (path_len
** hashes of 32 bytes one after the other: pass a merkle_hash array's [0])
** and signed checkpoint (a signed note whose body is a checkpoint of a
** size above index); extra may be NULL for no extra line.  Returns a
** string the caller frees with free() (length in *out_len when not NULL),
** or NULL with err.
*/
char *proof_format(const uint8_t *extra, size_t extra_len, int64_t index,
                   const uint8_t *path, size_t path_len, const char *checkpoint,
                   size_t checkpoint_len, size_t *out_len, char *err, size_t errlen);

/*
** Parse a proof text with every rule of the spec: the header line, an
** optional "extra <base64>" line, "index <decimal>", up to MERKLE_MAX_PROOF
** lines of one base64 hash each, an empty line, and a signed note (checked
** for its format here, for its signatures by proof_verify).  Returns 0, or
** -1 with err naming the line.
*/
int proof_parse(const char *text, size_t len, tlog_proof *out, char *err, size_t errlen);

/* What a verifier trusts: logs (origin and key), witnesses (cosignature
** keys, type 0x04) and how many of them must have cosigned. */
typedef struct proof_policy {
    const ckpt_log *logs;
    size_t nlogs;
    const note_key *witnesses;
    size_t nwitnesses;
    size_t min_witnesses;
} proof_policy;

/* Which part of a proof failed. */
typedef enum proof_part {
    PROOF_VALID = 0,
    PROOF_FORMAT,      /* the checkpoint in it is not a checkpoint, or the policy is unusable */
    PROOF_ENTRY,       /* no entry hash, or not the one the entry hashes to */
    PROOF_SIGNATURE,   /* the checkpoint is not signed by a trusted log key for its origin */
    PROOF_COSIGNATURE, /* a known witness's cosignature fails, or too few cosigned */
    PROOF_INDEX,       /* the index is not below the checkpoint's tree size */
    PROOF_PATH         /* the audit path does not lead to the checkpoint's root */
} proof_part;

/* The name of a part, for messages: "signature", "audit path", ... */
const char *proof_part_name(proof_part p);

typedef struct proof_result {
    proof_part failed;  /* PROOF_VALID when the proof holds */
    ckpt checkpoint;    /* what it was checked against, once parsed */
    size_t cosigned;    /* known witnesses whose cosignature verified */
    char why[512];      /* a sentence for people when failed */
} proof_result;

/*
** Verify p offline in the spec's order: the leaf (from entry_hash, the
** hash recomputed from the entry, or else the extra line's 32 bytes; both
** given must agree), the checkpoint's log signature, the cosignatures of
** the policy's witnesses (each known one must verify; at least
** min_witnesses must), the index against the tree size, and the audit path
** against the root.  Returns 0 when valid, else -1 with res->failed and
** res->why saying which part failed and how.
*/
int proof_verify(const tlog_proof *p, const proof_policy *pol, const uint8_t *entry_hash,
                 proof_result *res);

/* A consistency proof in the add-checkpoint body form. */
typedef struct proof_consistency {
    int64_t old_size;
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t path_len;
    const char *checkpoint; /* the signed note, into the parsed text */
    size_t checkpoint_len;
} proof_consistency;

/* The body "old <size>\n<hashes>\n\n<checkpoint>" (path as for
** proof_format).  Returns a string the caller frees with free() (length in
** *out_len when not NULL), or NULL with err. */
char *proof_consistency_format(int64_t old_size, const uint8_t *path, size_t path_len,
                               const char *checkpoint, size_t checkpoint_len, size_t *out_len,
                               char *err, size_t errlen);

/* Parse such a body with every rule of tlog-witness: each line ended by a
** newline, "old" and a single space and a decimal without leading zeroes,
** at most 63 hash lines, an empty line, then the checkpoint (whose note
** format is checked; its signatures are the caller's to verify).  Returns
** 0, or -1 with err. */
int proof_consistency_parse(const char *body, size_t len, proof_consistency *out, char *err,
                            size_t errlen);

#endif
