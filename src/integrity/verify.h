/*
** verify.h: proving that the audit log is intact.
**
** Verification recomputes the hash chain from genesis (or from the newest
** retention anchor, or through given archives), checks every checkpoint's
** signature and that its head is still in the chain, and checks an
** externally kept checkpoint the same way.  Each problem found is reported
** with the seq it concerns and one of the kinds modified, missing, inserted,
** reordered, bad_signature or truncated (and, where the store's own
** append-only triggers are gone, unprotected at seq 0), and names its log
** (log, log_id).
**
** A store may hold many logs (PostgreSQL), each its own chain with its own
** checkpoints and recorded signing key: verify_store() checks every log (or
** one), verify_log() the selected one.  A checkpoint signed by another key
** than its log's recorded one is a problem, and so is, with trusted keys
** given, one signed by a key they do not trust: whoever administers the
** database can replace a log and the key recorded beside it together, so
** only keys kept elsewhere prove who signed.
*/
#ifndef DSS_VERIFY_H
#define DSS_VERIFY_H

#include <cjson/cJSON.h>

#include "../store/store.h"
#include "../tlog/note.h"

/* A key trusted to sign checkpoints: of the log named `log` (its name or
** its id) only, or of any log when log is NULL. */
typedef struct verify_trusted_key {
    const char *log;
    const char *key; /* lower-case hex Ed25519 public key */
} verify_trusted_key;

typedef struct verify_options {
    const char *trusted_public_key;   /* hex; NULL trusts each checkpoint's own */
    /* When n_trusted_keys > 0: only checkpoints signed by one of these keys
    ** (trusted for their log) are accepted, besides trusted_public_key. */
    const verify_trusted_key *trusted_keys;
    size_t n_trusted_keys;
    const char *log;                  /* verify_store(): one log (id or name); NULL every log */
    const store_checkpoint *external; /* a checkpoint kept elsewhere, or NULL */
    const char *const *archives;      /* archives of pruned entries, oldest first */
    int n_archives;
    int max_problems;                 /* 0 = 1000 */
    /* Witnesses whose cosignatures of the newest signed checkpoint count
    ** (type 0x04 keys); fewer than min_witnesses valid ones is a problem. */
    const note_key *witnesses;
    size_t n_witnesses;
    size_t min_witnesses;
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

/*
** Verify every log of st (opt->log: only that one), each with verify_log().
** The report has the same shape, summed over the logs, with head the
** store's own log's (else the first log's), problems of all logs, and
** logs: [{log_id, log, ok, entries_checked, checkpoints_checked, head}].
** Archives (opt->archives) belong to one log: with several logs they need
** opt->log.  The external checkpoint is checked against the log it names.
** NULL with err as for verify_log(), also when opt->log names no log.
** The store's selected log is its own again afterwards.  Caller frees.
*/
cJSON *verify_store(store *st, const verify_options *opt, char *err, size_t errlen);

/*
** verify --since: that the selected log (or, with opt->log, that one; else
** the log whose origin the note names) is an append-only extension of the
** signed checkpoint note[0..len) kept from earlier, by a consistency proof
** from its size to the log's tree now, in O(log n) reads: the note signed
** by the trusted key (opt->trusted_public_key, else the log's recorded
** one), the stored tree's root at the note's size proved to be a prefix of
** today's, and the newest signed checkpoint's note and root checked.  It
** does not read the entries: `verify` checks those against the tree.  The
** report: {ok, since: {origin, size, root}, tree: {size, root},
** proof_hashes, newest_checkpoint: {number, size}, problems, logs}; NULL
** with err when the note is not a checkpoint or no log is its own.
*/
cJSON *verify_since(store *st, const char *note, size_t len, const verify_options *opt,
                    char *err, size_t errlen);

/*
** Read a trusted-keys file: one hex public key a line, or "NAME KEY" to
** trust KEY for the log NAME only; blank lines and # comments are skipped.
** On success *keys is a new array of *n keys, freed (strings and all) by
** verify_free_trusted_keys(); -1 with a sentence naming the line in err.
*/
int verify_read_trusted_keys(const char *path, verify_trusted_key **keys, size_t *n,
                             char *err, size_t errlen);
void verify_free_trusted_keys(verify_trusted_key *keys, size_t n);

#endif
