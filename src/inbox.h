/*
** inbox.h: serve's input, read and parsed ahead on a thread of its own.
**
** serve is one writer: everything that touches the store happens on the
** main thread, in order.  Reading a request and turning it into a checked,
** scrubbed message (mcp_parse: the JSON-RPC parse, the envelope's checks,
** the scrubbing of a call's arguments) needs no store, so a reader thread
** does it for the requests behind the one being served, and the main thread
** takes them ready-made, in arrival order (server.c).  On a machine with a
** second core that work leaves the writer's critical path.
**
** The inbox keeps what "waiting" meant for a single thread: inbox_next()
** without blocking returns INBOX_AGAIN only once the reader has found no
** further complete line in its input, so a group of requests ends where it
** ended before (server.h).  It holds at most INBOX_MAX_ITEMS messages and
** about the message size limit in bytes (always at least one message), so
** a fast client cannot make it grow without bound.
*/
#ifndef DSS_INBOX_H
#define DSS_INBOX_H

#include <stddef.h>

#include "protocol/mcp.h"

#define INBOX_MAX_ITEMS 512

enum {
    INBOX_MESSAGE = 1,  /* *in holds one parsed line */
    INBOX_EOF = 0,      /* the input ended */
    INBOX_AGAIN = -1,   /* non-blocking: nothing more waiting */
    INBOX_TOO_LONG = -2,/* a line over the limit was skipped */
    INBOX_ERROR = -3,   /* reading failed */
    INBOX_STOPPED = -4  /* a blocking wait saw *stop set (a signal) */
};

typedef struct inbox inbox;

/* Start reading fd (lines of at most max_message bytes) on a new thread,
** parsing each line with mcp_parse(m, ...); m must outlive the inbox.
** NULL, with a message in err, when the thread or memory is refused.  Stop
** and free with inbox_stop(). */
inbox *inbox_start(int fd, size_t max_message, const mcp *m, char *err, size_t errlen);

/* Stop the reader (what it read and nobody took is dropped), join it and
** free everything.  NULL is fine. */
void inbox_stop(inbox *ib);

/*
** The next message, in arrival order.  INBOX_MESSAGE fills *in, which the
** caller hands to mcp_handle_input() (or frees with mcp_input_free()).
** With block == 0, INBOX_AGAIN when nothing more is waiting.  A blocking
** wait returns INBOX_STOPPED when a signal arrives with *stop set (signals
** interrupt the main thread's waits: the reader thread blocks them).  Once
** INBOX_EOF or INBOX_ERROR was returned, every later call returns it too.
*/
int inbox_next(inbox *ib, int block, volatile int *stop, mcp_input *in);

/* Whether nothing arrives for ms milliseconds (nothing is taken).  A signal
** ends the wait early and counts as not quiet. */
int inbox_quiet(inbox *ib, int ms);

/* Whether a notifications/cancelled for request id is among the messages
** read but not yet taken (rpc_is_cancellation).  Safe while the reader
** runs; called by the main thread while it serves a long request. */
int inbox_cancelled(inbox *ib, const cJSON *id);

#endif
