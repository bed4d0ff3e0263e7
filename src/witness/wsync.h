/*
** wsync.h: a log's signed checkpoints submitted to its witnesses (the
** log's side of c2sp.org/tlog-witness, over witness_client.h).
**
** For each witness configured (its submission URL and its cosignature
** key), the newest signed checkpoint of the log is sent with a consistency
** proof from the size that witness last cosigned (0 at first; a 409 says
** which, and witness_submit() follows it), the cosignature that comes back
** is stored with the checkpoint (store_add_cosignature()), and the
** witness's state (its size, the last attempt and its outcome) is recorded
** for `stats` and `verify` (store_put_witness()).
**
** `checkpoint --witness` submits once and waits.  `serve --witness` runs a
** wsync: a thread of its own, with its own store connection, that looks
** for a new signed checkpoint every second and submits it, so that no
** agent's call ever waits on a witness; a witness that fails is tried again
** later, with a back-off from 5 seconds to 5 minutes, and once more when
** the server stops.
*/
#ifndef DSS_WSYNC_H
#define DSS_WSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"
#include "../tlog/note.h"

/* A witness of the log: URL=VKEY as configured. */
typedef struct wsync_witness {
    char url[512];            /* the submission prefix (URL/add-checkpoint is POSTed) */
    note_key key;             /* its cosignature key (type 0x04) */
    char vkey[NOTE_VKEY_MAX]; /* the same, as text: how the store names it */
} wsync_witness;

/* Parse "URL=VKEY" (the URL http:// or https://).  0, or -1 with err. */
int wsync_parse(const char *spec, wsync_witness *out, char *err, size_t errlen);

/* What one witness did with the newest signed checkpoint. */
typedef struct wsync_outcome {
    int cosigned;       /* it holds a cosignature of that checkpoint now */
    int64_t size;       /* the checkpoint's tree size */
    char why[300];      /* when not: why (unreachable, refused with its answer, ...) */
} wsync_outcome;

/*
** Submit the newest signed checkpoint of the selected log of st (writable)
** to each witness that has not cosigned it; store the cosignatures and each
** witness's state.  out[i] (n of them, may be NULL) says what witness i
** did.  Returns the number of witnesses holding a cosignature of it (>= 0),
** or a negative STORE_E* code with err when the log cannot be read.  Each
** request waits at most timeout_ms.
*/
int wsync_submit(store *st, const wsync_witness *w, size_t n, long timeout_ms,
                 wsync_outcome *out, char *err, size_t errlen);

/* The background submitter of a server. */
typedef struct wsync wsync;

/*
** Start a thread that submits the log's new signed checkpoints to the
** witnesses w[0..n) (copied), on a store of its own opened with opt (the
** log opt->log_name names; opened once the database exists).  NULL with
** err when the thread cannot start.  libcurl's global initialization must
** have been done (curl_global_init) before.
*/
wsync *wsync_start(const store_options *opt, const wsync_witness *w, size_t n, char *err,
                   size_t errlen);

/* Submit once more (the server's last checkpoint), each request bounded
** by the timeout, then stop the thread and free everything.  NULL is fine. */
void wsync_stop(wsync *ws);

#endif
