/*
** viewer_verify.h: verifying the chain in the background for the viewer.
**
** `ui` shows a banner with the result of verify_log() (src/integrity): on a
** large log that takes seconds, so it runs on a thread of its own, on a
** read-only connection of its own (a store is used by one thread at a
** time), while the page is already usable.  The HTTP thread polls the job
** for its progress and, once it is done, for the report.
*/
#ifndef DSS_VIEWER_VERIFY_H
#define DSS_VIEWER_VERIFY_H

#include "../store/store.h"
#include "../util/jbuf.h"

typedef struct viewer_verify viewer_verify;

/*
** Start verifying the database at path (opened read-only) on a new thread,
** trusting only checkpoints signed by trusted_public_key (hex) when it is
** not NULL.  Returns the job, which the caller frees with
** viewer_verify_free(), or NULL with a sentence in err (errlen bytes).
*/
viewer_verify *viewer_verify_start(const char *path, const char *trusted_public_key,
                                   char *err, size_t errlen);

/* Append the job's state to out as a JSON object:
**   {state: "running", done, total}
**   {state: "done", done, total, report: {ok, ..., problems: [...]}}
**   {state: "failed", error}
** where report is verify_log()'s, as the verify command prints it. */
void viewer_verify_status(viewer_verify *v, jbuf *out);

/* Wait for the thread to finish and free the job.  NULL is fine. */
void viewer_verify_free(viewer_verify *v);

#endif
