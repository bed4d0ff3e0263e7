/*
** store_pending.h: opening the store in the background.
**
** Opening an audit database is not free: SQLite reads and parses the
** schema, the WAL is set up, the schema version is checked and the
** statements are prepared, about 3 ms on a development machine.  A client
** that has just started the server waits for its initialize reply all that
** time, although answering initialize needs no database at all.  So the
** server starts the open on a thread of its own, answers initialize
** meanwhile, and waits for the open (store_pending_finish()) before anything
** that does need the database.
*/
#ifndef DSS_STORE_PENDING_H
#define DSS_STORE_PENDING_H

#include "store.h"

typedef struct store_pending store_pending;

/* Start store_open(opt) on a new thread.  The options and the path they
** name are copied.  Returns STORE_OK and *out, or an error with err filled
** (out of memory, or no thread could be started).  The caller ends it with
** store_pending_finish() or store_pending_free(). */
int store_pending_start(const store_options *opt, store_pending **out, char *err);

/* Wait for the open and hand over its result as store_open() would have:
** STORE_OK and *out (the caller closes it with store_close()), or the open's
** error and message.  Call it once; free p with store_pending_free()
** afterwards. */
int store_pending_finish(store_pending *p, store **out, char *err);

/* The path being opened; owned by p. */
const char *store_pending_path(const store_pending *p);

/* Wait for the open if it is still running, close a store nobody took, and
** free p.  NULL is fine. */
void store_pending_free(store_pending *p);

#endif
