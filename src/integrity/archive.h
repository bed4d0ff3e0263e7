/*
** archive.h: JSON Lines archives of pruned entries.
**
** Retention moves the oldest entries out of the database into an archive
** that keeps every stored byte and both hashes, one entry per line, so that
** `verify --archive` can check archive and database as one unbroken chain.
** JSON columns are kept as strings holding the exact stored text, because
** the hash covers those exact bytes.
*/
#ifndef DSS_ARCHIVE_H
#define DSS_ARCHIVE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "../store/store.h"
#include "signer.h"

typedef struct archive_writer archive_writer;

/* Create a new archive file (refusing to overwrite one).  Returns NULL with
** a sentence in err on failure. */
archive_writer *archive_create(const char *path, char *err, size_t errlen);

/* Append one entry; returns 0 or -1 (the writer remembers the error). */
int archive_write(archive_writer *w, const store_raw_entry *e);

/* Flush and fsync the file and its folder, then close it.  Returns 0, or -1
** with err; the writer is freed either way. */
int archive_finish(archive_writer *w, char *err, size_t errlen);

/* Close and delete an archive that will not be used.  NULL is fine. */
void archive_discard(archive_writer *w);

/* One entry as an archive line holds it: {seq, every field as its stored
** text (JSON columns as strings), prev_hash, hash (hex)}.  The form a proof
** carries its entry in (prove.h): from it anyone recomputes the entry's
** hash (docs/hash-encoding.md).  A new object the caller frees, or NULL. */
cJSON *archive_entry_json(const store_raw_entry *e);

/* Read such an object into e, whose strings point into o (which must
** outlive it).  0, or -1 when o is not an archived entry (its seq a whole
** number from 1 to 2^53 among them). */
int archive_entry_read(const cJSON *o, store_raw_entry *e);

/* Read an archive, calling fn for each entry in file order.  Returns 0, or
** -1 with err when the file cannot be read or a line is malformed. */
int archive_each(const char *path, store_entry_fn fn, void *ctx, char *err,
                 size_t errlen);

/*
** Retention: archive then remove every entry created before `before` (RFC
** 3339 or a date), and record a signed anchor where they ended, all in one
** transaction.  *removed receives the count.  If the archive cannot be
** written and made durable, nothing is removed.  Returns a STORE_ code.
*/
int archive_prune(store *st, const signer *sg, const char *before,
                  const char *archive_path, int64_t *removed, char *err);

#endif
