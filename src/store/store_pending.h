/*
** store_pending.h: opening the store after the first replies.
**
** Opening an audit database is not free: SQLite reads and parses the
** schema, the WAL is set up, the schema version is checked and the
** statements are prepared, about 3 ms at a million entries on a development
** machine.  A client that has just started the server waits for its
** initialize reply all that time, although answering initialize needs no
** database at all.  So the server takes the open's options at start-up,
** answers initialize, and opens the database (store_pending_finish()) once
** that reply is out, while the client reads it, or before the first request
** that needs the database.
**
** The open is deferred, not run on a thread beside initialize: that gave
** the same start-up time (4.2 to 4.7 ms median to the initialize reply,
** bench_loadgen --startup), and a process that has once started a thread
** has glibc's malloc take a lock for every block for the rest of its life.
*/
#ifndef DSS_STORE_PENDING_H
#define DSS_STORE_PENDING_H

#include "store.h"

typedef struct store_pending store_pending;

/* Take the options of an open to do later; the options and the path they
** name are copied.  Returns STORE_OK and *out, or STORE_ENOMEM with err
** filled.  The caller ends it with store_pending_finish() or
** store_pending_free(). */
int store_pending_start(const store_options *opt, store_pending **out, char *err);

/* Open now: STORE_OK and *out (the caller closes it with store_close()), or
** store_open()'s error and message with *out NULL.  Call it once; free p with
** store_pending_free() afterwards. */
int store_pending_finish(store_pending *p, store **out, char *err);

/* The path to open; owned by p. */
const char *store_pending_path(const store_pending *p);

/* Free p, whether or not it was finished.  NULL is fine. */
void store_pending_free(store_pending *p);

#endif
