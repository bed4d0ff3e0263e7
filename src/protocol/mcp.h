/*
** mcp.h: the Model Context Protocol on top of JSON-RPC.
**
** This layer owns the session (negotiated protocol version, the client's
** identity) and the method table: initialize, ping, tools/list and
** tools/call.  Every call of a known tool is recorded as a tool_call entry
** through the recorder (record.h), together with anything the tool itself
** wrote; the recorder decides the transactions.  The caller (server.c)
** commits the recorder's group once per group of requests and only then
** sends the replies, each settled against its ticket (mcp_reply_settle).
*/
#ifndef DSS_MCP_H
#define DSS_MCP_H

#include <stddef.h>

#include "../integrity/signer.h"
#include "../record/record.h"
#include "../store/store.h"
#include "rpc.h"

typedef struct mcp mcp;

/* What the MCP layer needs from the transport beyond request and reply:
** sending a notification at once (progress, log messages), and looking
** ahead in the input for a cancellation of the request being served. */
typedef struct mcp_io {
    void (*emit)(void *ctx, const char *line);
    int (*cancelled)(void *ctx, const cJSON *request_id);
    void *ctx;
} mcp_io;

typedef struct mcp_options {
    store *st;          /* borrowed; must outlive the mcp */
    /* Or the options of a store to open later (borrowed, path included,
    ** until it is opened): mcp_ready() opens it, and requests other than
    ** initialize call that first, so initialize is answered without
    ** waiting for the database.  mcp_free() closes what it opened. */
    const store_options *open_later;
    const char *actor;  /* the session's actor, copied */
    rpc_limits limits;
    const signer *sg;   /* checkpoint key, borrowed; NULL disables checkpoints */
    const char *trusted_public_key; /* hex key verify trusts; NULL = sg's */
    int64_t checkpoint_interval;    /* entries between checkpoints; 0 = 1000
                                       (the recorder's policy, record.h) */
    mcp_io io;                      /* may be all NULL (no notifications) */
    recorder_watch watch;           /* told what the recorder makes durable */
} mcp_options;

/* One reply to send.  All pointers are owned; free with mcp_reply_free().
** A JSON-RPC batch keeps one part per answered element and is assembled
** into its array by mcp_reply_line() once the group has committed. */
typedef struct mcp_reply {
    char *line;     /* the reply line without newline, or NULL: nothing to send */
    int acks_write; /* the reply reports data written in the recorder's group */
    int64_t tx;     /* ...under this ticket (see recorder_ticket()) */
    /* A query's reply whose only write is its own tool_call record and
    ** whose result was read before this transaction wrote anything: if the
    ** commit fails, the result is still true, so it is sent (unrecorded,
    ** with a warning on stderr), as when the record fails to append. */
    const char *unrecorded_ok; /* the tool's name, or NULL */
    char *id;       /* the request id's JSON text, to rebuild the reply */
    struct mcp_reply *parts; /* a batch's replies, or NULL */
    int nparts;
    int is_batch;
} mcp_reply;

/* Returns NULL and a message in err on failure.  Free with mcp_free(),
** which closes the recorder (its final checkpoint) and what it opened. */
mcp *mcp_new(const mcp_options *opt, char *err, size_t errlen);
void mcp_free(mcp *m);

/* The recorder over the store, once it is open: NULL while a deferred open
** has not happened (then nothing has been written). */
recorder *mcp_recorder(const mcp *m);

/* Build the tool table on the first call, and do the deferred open if
** there is one.  Returns 0 once both are ready, or -1 with a message
** for the person running the server in err (the database cannot be opened,
** or memory ran out; the server must stop).  Cheap once the
** open has finished.  err may be NULL. */
int mcp_ready(mcp *m, char *err, size_t errlen);

/* Whether a deferred open was tried and failed. */
int mcp_open_failed(const mcp *m);

/* Handle one received line and fill *out (zeroed first).  Any request but
** initialize waits for the store; when it cannot be opened, *out is left
** empty and mcp_ready() says why. */
void mcp_handle(mcp *m, const char *line, size_t len, mcp_reply *out);

/* The reply for a line longer than the message size limit. */
char *mcp_too_long_reply(size_t limit);

/* Replace a reply whose writes could not be committed with an isError
** result saying why (for a batch, each part that acknowledged a write).
** A reply marked unrecorded_ok keeps its result, and a warning goes to
** stderr. */
void mcp_reply_write_failed(mcp_reply *r, const char *why);

/* After the recorder's commit: each reply (or batch part) that acknowledges
** a write whose ticket is not durable becomes mcp_reply_write_failed(). */
void mcp_reply_settle(mcp_reply *r, const recorder *rc);

/* The line to send for a reply: r->line, or a batch's parts joined into a
** JSON array (built and stored in r->line on first call).  NULL when there
** is nothing to send.  Borrowed from r. */
const char *mcp_reply_line(mcp_reply *r);

void mcp_reply_free(mcp_reply *r);

#endif
