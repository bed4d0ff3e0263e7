/*
** verify.h: proving that the audit log is intact.
**
** Verification recomputes the hash chain from genesis (or from the newest
** retention anchor, or through given archives), checks every checkpoint's
** signature and that its head is still in the chain, and checks an
** externally kept checkpoint the same way.  Each problem found is reported
** with the seq it concerns and one of the kinds modified, missing, inserted,
** reordered, bad_signature or truncated.
*/
#ifndef DSS_VERIFY_H
#define DSS_VERIFY_H

#include <cjson/cJSON.h>

#include "../store/store.h"

typedef struct verify_options {
    const char *trusted_public_key;   /* hex; NULL trusts each checkpoint's own */
    const store_checkpoint *external; /* a checkpoint kept elsewhere, or NULL */
    const char *const *archives;      /* archives of pruned entries, oldest first */
    int n_archives;
    int max_problems;                 /* 0 = 1000 */
    void (*progress)(void *ctx, int64_t entries_done);
    void *progress_ctx;
} verify_options;

/*
** Verify the log behind st.  Returns a new report the caller frees:
**   {ok, entries_checked, checkpoints_checked, head: {seq, hash},
**    problems: [{seq, kind, detail}], problems_truncated}
** or NULL with a sentence in err when the database or an archive could not
** be read at all (that is an I/O failure, not evidence of tampering).
*/
cJSON *verify_log(store *st, const verify_options *opt, char *err, size_t errlen);

#endif
