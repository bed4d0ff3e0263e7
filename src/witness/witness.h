/*
** witness.h: a C2SP tlog-witness (c2sp.org/tlog-witness) over HTTP.
**
** Another party runs it beside the logs it watches.  A log POSTs each new
** checkpoint to /add-checkpoint with a consistency proof from the size the
** witness last cosigned; the witness checks the log's signature, that the
** old size is the one it holds, and the proof from the root it stored, then
** stores the new checkpoint durably and answers with its cosignature
** (cosignature/v1, Ed25519, key type 0x04).  So the log's owner cannot
** rewrite or fork the log after a checkpoint was cosigned without every
** witness refusing the rewritten one.  Answers, as the spec says:
**
**   200  the cosignature line(s)
**   400  a malformed body, or an old size above the checkpoint's
**   403  no valid signature by the log's key, or a failing one
**   404  an origin the witness does not watch (or an unknown path)
**   405  anything but POST on /add-checkpoint
**   409  the old size is not the latest it cosigned: that size, as the
**        body, with Content-Type text/x.tlog.size
**   413  a body larger than WITNESS_MAX_BODY
**   422  a consistency proof that does not verify, a non-empty proof from
**        size 0, another root at the size it holds, a size-0 checkpoint
**        without the empty tree's root
**
** It also serves monitors GET /<hex SHA-256 of the origin>/checkpoint: the
** latest checkpoint it cosigned, with the log signatures it verified and
** its own cosignature.  State lives in a small SQLite file (witness_db.h),
** the key in a file made like the log's signing key (signer.h).  HTTP is
** libmicrohttpd's, one internal thread; submissions are serialized.
*/
#ifndef DSS_WITNESS_H
#define DSS_WITNESS_H

#include <stddef.h>

#include "../tlog/note.h"

/* The largest request body: "old N", 63 proof lines, a blank line and a
** checkpoint note. */
#define WITNESS_MAX_BODY (32 + 63 * 45 + 1 + NOTE_MAX_SIZE)

typedef struct witness_options {
    const char *listen;             /* "ADDR:PORT" as viewer_parse_listen() reads it */
    const char *db_path;            /* the state file, created when missing */
    const char *key_path;           /* the Ed25519 key, created when missing (0600) */
    const char *name;               /* the cosigner's key name; NULL: the one the state
                                       file remembers, else dss-audit-witness/<key hash> */
    const char *const *log_vkeys;   /* the logs it watches: origin = key name */
    size_t nlogs;
} witness_options;

typedef struct witness witness;

/* Load the key and the state, check the log keys, and start serving.
** Returns the witness, or NULL with a sentence in err. */
witness *witness_start(const witness_options *o, char *err, size_t errlen);

/* The port it listens on. */
int witness_port(const witness *w);

/* Its verifier key (type 0x04), owned by the witness. */
const char *witness_vkey(const witness *w);

/* Stop serving (answers in progress finish first) and free everything.
** NULL is fine. */
void witness_stop(witness *w);

/*
** The command's body: start, print the verifier key and the address on
** stderr, serve until SIGINT or SIGTERM, stop.  Returns 0, or -1 with a
** sentence in err when it could not start.  SIGINT and SIGTERM are blocked
** in the calling thread (so in every thread it starts) while it runs.
*/
int witness_run(const witness_options *o, char *err, size_t errlen);

#endif
