/*
** cursor.h: where each sink is, durably: the last entry its receiver
** acknowledged.
**
** The shipper reads a sink's cursor when it starts and saves it after
** every batch the receiver acknowledged, never before, so a shipper killed
** at any moment re-sends at most the batch in flight.  A cursor names the
** entry by seq, id and hash, so that a local log restored from an old copy
** (or replaced) is noticed instead of silently skipped.
**
** The contract is a table of functions so that where cursors live can
** change with the trail: a local SQLite trail keeps them beside its file
** (cursor_open_local: <db>.ship/cursors.db, one row per sink and log),
** and a shared trail in PostgreSQL keeps them in the database through the
** store contract (cursor_open_store: store.h's store_cursor_*).  One
** shipper per sink and log at a time: cursor_lock() takes an exclusive
** lock that the process holds until it closes the cursor (or dies; for
** PostgreSQL, until its connection ends).
**
** Conventions as in sink.h: CURSOR_OK (0) or a negative code with a
** sentence in err.
*/
#ifndef DSS_CURSOR_H
#define DSS_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "../store/chain.h"
#include "../util/ts.h"

enum {
    CURSOR_OK = 0,
    CURSOR_EIO = -1,    /* the cursor store cannot be read or written */
    CURSOR_EBUSY = -2,  /* another shipper holds this sink's lock (or, at a
                           save, this one no longer does) */
    CURSOR_ENOMEM = -3
};

/* A sink's position in one log. */
typedef struct ship_mark {
    int64_t seq;               /* the last entry acknowledged; 0 = none yet */
    char id[37];               /* its id and hash ("" with seq 0) */
    char hash[CHAIN_HEX_LEN];
    char saved_at[TS_BUFLEN];  /* when it was saved (filled by save) */
} ship_mark;

/* What cursor_each() reports for each sink. */
typedef struct ship_cursor_row {
    char key[65];   /* sink_key() of the sink */
    char sink[256]; /* the sink as messages show it (no secret) */
    char log_id[37];
    ship_mark mark;
} ship_cursor_row;

typedef struct cursor cursor;

typedef struct cursor_ops {
    /* The mark under key (of the log log_id); *found 0 (and m zeroed)
    ** when there is none. */
    int (*load)(cursor *c, const char *log_id, const char *key, ship_mark *m, int *found,
                char *err, size_t len);
    /* Save m under key (with the sink's description and the log's id),
    ** durably before returning; CURSOR_EBUSY when this shipper does not
    ** hold key's lock any more (only a PostgreSQL connection lost and made
    ** again can do that). */
    int (*save)(cursor *c, const char *key, const char *sink_desc, const char *log_id,
                const ship_mark *m, char *err, size_t len);
    /* Call fn for each saved cursor, in key order; non-zero stops. */
    int (*each)(cursor *c, int (*fn)(void *ctx, const ship_cursor_row *r), void *ctx,
                char *err, size_t len);
    /* Hold the exclusive right to ship to key until close: CURSOR_OK when
    ** this cursor holds it (already, or now), CURSOR_EBUSY when another
    ** process does. */
    int (*lock)(cursor *c, const char *key, char *err, size_t len);
    void (*close)(cursor *c);
} cursor_ops;

struct cursor {
    const cursor_ops *ops;
};

/* The cursors of the local trail db_path, kept in dir (NULL: the folder
** "<db_path>.ship" beside it, created with mode 0700 when create is set).
** *out is closed with cursor_close().  CURSOR_EIO with a sentence when the
** folder cannot be made or the file opened (without create: opened read
** only, for reading, and when there is none, *out is NULL and CURSOR_OK
** returned). */
int cursor_open_local(const char *db_path, const char *dir, int create, cursor **out, char *err,
                      size_t len);

/* The cursors of a shared trail, kept in the store st (borrowed; it must
** have STORE_CAP_SINK_CURSORS and outlive the cursor, and no other thread
** may use it meanwhile).  CURSOR_OK, or CURSOR_ENOMEM. */
struct store;
int cursor_open_store(struct store *st, cursor **out, char *err, size_t len);

/* The key of a sink for a log: hex SHA-256 of the URL (as given, so two
** URLs that differ only in a masked secret are two sinks) and the log id,
** 64 hex digits into out[65]. */
void cursor_key(const char *url, const char *log_id, char out[65]);

static inline int cursor_load(cursor *c, const char *log_id, const char *key, ship_mark *m,
                              int *found, char *err, size_t len)
{
    return c->ops->load(c, log_id, key, m, found, err, len);
}
static inline int cursor_save(cursor *c, const char *key, const char *sink_desc, const char *log_id,
                              const ship_mark *m, char *err, size_t len)
{
    return c->ops->save(c, key, sink_desc, log_id, m, err, len);
}
static inline int cursor_each(cursor *c, int (*fn)(void *ctx, const ship_cursor_row *r),
                              void *ctx, char *err, size_t len)
{
    return c->ops->each(c, fn, ctx, err, len);
}
static inline int cursor_lock(cursor *c, const char *key, char *err, size_t len)
{
    return c->ops->lock(c, key, err, len);
}
static inline void cursor_close(cursor *c)
{
    if (c) c->ops->close(c);
}

#endif
