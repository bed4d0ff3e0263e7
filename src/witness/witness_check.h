/*
** witness_check.h: what a tlog-witness (witness.h) decides about one
** add-checkpoint submission, apart from HTTP and from its state file.
**
** Two steps, as witness.c takes them: the body is parsed and its
** checkpoint opened against the logs the witness watches (no state
** needed), then, under the witness's lock, the submission is judged
** against the size and root the witness holds for that origin.  Both are
** plain functions of their inputs so that the tests and the fuzzer
** (tests/fuzz/fuzz_witness.c) reach every refusal without a server.
** Results are HTTP statuses, as the spec names them (witness.h lists
** them).
*/
#ifndef DSS_WITNESS_CHECK_H
#define DSS_WITNESS_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "../tlog/ckpt.h"
#include "../tlog/note.h"
#include "../tlog/proof.h"

/* A parsed submission; its pointers are into the body, which must outlive
** it.  Large (a note's 100 signature slots): allocate it. */
typedef struct witness_submission {
    proof_consistency pc; /* old size, proof, the checkpoint's note text */
    note n;               /* the checkpoint note, its signatures */
    ckpt cp;              /* the checkpoint it holds */
} witness_submission;

/*
** Parse body[0..len) as an add-checkpoint body and open its checkpoint
** against logs[0..nlogs).  Returns 0 with *s filled, or the status of the
** refusal with a sentence in msg: 400 (malformed, or an old size above the
** checkpoint's), 403 (no valid signature by the log's key, or a failing
** one), 404 (an origin not watched), 500 (out of memory).
*/
unsigned witness_check_submission(const ckpt_log *logs, size_t nlogs, const char *body,
                                  size_t len, witness_submission *s, char *msg,
                                  size_t msglen);

/*
** Judge s against what the witness holds for its origin: the latest size
** it cosigned and that tree's root (size 0 and the empty tree's root for a
** log never cosigned).  Returns 200 when it may be cosigned; 409 when the
** old size is not the latest (msg is then the body to send: the size and a
** newline); 422 with msg when the proof does not verify, a proof from size
** 0 is not empty, the same size comes with another root, or a size-0
** checkpoint lacks the empty tree's root.
*/
unsigned witness_judge(const witness_submission *s, int64_t latest, const uint8_t root[32],
                       char *msg, size_t msglen);

#endif
