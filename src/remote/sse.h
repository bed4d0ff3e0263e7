/*
** sse.h: an incremental parser of text/event-stream (Server-Sent Events),
** as the WHATWG HTML standard's "event stream interpretation" defines it.
**
** The remote transport feeds it the bytes of an HTTP response as they
** arrive, in chunks of any size; each complete event is handed to a
** callback at once, so a message is relayed when its event ends rather than
** when the stream does.  Lines end with CRLF, LF or CR (also when a CRLF is
** split between two chunks); a leading byte order mark is skipped; lines
** starting with ':' are comments; the fields are event, data (several data
** lines join with "\n"), id (ignored when it contains NUL) and retry (digits
** only).  An id becomes the stream's last event id when its event ends (at
** the blank line), never before, so an event cut off by a dropped stream is
** asked for again on resumption.  An event with no data is not dispatched,
** but its id still becomes the last event id, which is how a server
** "primes" a stream for resumption.
**
** Every buffer has a limit: an event whose data, or a line, grows past
** max_bytes makes sse_feed() fail with SSE_ETOOBIG.
*/
#ifndef DSS_SSE_H
#define DSS_SSE_H

#include <stddef.h>

typedef struct sse_parser sse_parser;

/* One dispatched event; the pointers are valid during the callback only. */
typedef struct sse_event {
    const char *type;  /* "message" when the stream named none */
    const char *data;  /* NUL-terminated; len bytes (may hold "\n") */
    size_t len;
    const char *id;    /* the last event id in force ("" when none) */
} sse_event;

/* Called for each event; a nonzero return stops sse_feed(), which then
** returns that value. */
typedef int (*sse_cb)(void *ud, const sse_event *ev);

enum { SSE_ENOMEM = -1, SSE_ETOOBIG = -2 };

/* A parser (caller frees with sse_free), or NULL when out of memory. */
sse_parser *sse_new(size_t max_bytes);
void sse_free(sse_parser *p);

/* Parse n more bytes.  Returns 0, a callback's nonzero value, or SSE_*. */
int sse_feed(sse_parser *p, const char *buf, size_t n, sse_cb cb, void *ud);

/* The stream's last event id, as of the last blank line ("" when none);
** owned by p. */
const char *sse_last_id(const sse_parser *p);

/* The reconnection time the stream asked for in ms, or -1. */
long sse_retry_ms(const sse_parser *p);

#endif
