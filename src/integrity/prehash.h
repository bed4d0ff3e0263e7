/*
** prehash.h: checking entries' own hashes on other threads, in order.
**
** Verification's work is nearly all SHA-256, and whether an entry's stored
** hash matches its stored content and stored prev_hash depends on that entry
** alone.  A prehash pipeline takes entries in seq order from one thread,
** copies them into batches, has worker threads compute that "own hash"
** verdict for each batch, and hands every entry back to a judge callback on
** the pushing thread, in the order pushed.  Reading the database, hashing and
** judging so overlap, while the judge still sees one entry at a time exactly
** as a single-threaded walk would.  With one CPU it hashes inline.
*/
#ifndef DSS_PREHASH_H
#define DSS_PREHASH_H

#include "../store/store.h"

/* Called in push order on the pushing thread.  own_ok is 1 when both hash
** columns are well formed and the entry's hash equals the hash of its
** content at its own seq after its stored prev_hash.  A non-zero return
** stops the pipeline: later entries are dropped and push/drain return it. */
typedef int (*prehash_judge_fn)(void *ctx, const store_raw_entry *e, int own_ok);

typedef struct prehash prehash;

/* A pipeline with `workers` hashing threads (0 hashes inline on the pushing
** thread; a negative value picks one per online CPU).  Returns NULL when out
** of memory; if threads cannot be started it silently hashes inline.  Free
** with prehash_free. */
prehash *prehash_new(int workers, prehash_judge_fn judge, void *ctx);

/* Copy e (borrowed for the call) into the pipeline; judge calls for earlier
** entries may happen inside.  Returns 0, the judge's non-zero return, or
** -1 when out of memory. */
int prehash_push(prehash *p, const store_raw_entry *e);

/* Judge every entry pushed so far; returns as prehash_push does.  After it
** the pipeline is empty and can take more entries. */
int prehash_drain(prehash *p);

/* Stop the threads and free everything; entries not yet drained are dropped. */
void prehash_free(prehash *p);

#endif
