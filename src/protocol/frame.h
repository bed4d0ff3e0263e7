/*
** frame.h: newline-delimited message framing over a file descriptor.
**
** The stdio transport sends one JSON-RPC message per line.  This reader
** hands out complete lines from a buffer that never grows beyond the message
** size limit: a longer line is skipped as it streams past, without being
** held whole, and reported once so the caller can answer it with an error.
** It can also say whether another complete line is available right now,
** which is what lets the server group waiting requests into one commit.
*/
#ifndef DSS_FRAME_H
#define DSS_FRAME_H

#include <stddef.h>

enum {
    FRAME_LINE = 1,      /* *line and *len hold one message */
    FRAME_EOF = 0,       /* the input ended (or a stop was requested) */
    FRAME_AGAIN = -1,    /* non-blocking call: no complete line yet */
    FRAME_TOO_LONG = -2, /* a line over the limit was skipped */
    FRAME_ERROR = -3     /* read failed */
};

typedef struct frame frame;

/* A reader on fd with lines limited to max_bytes.  Free with frame_free(). */
frame *frame_new(int fd, size_t max_bytes);
void frame_free(frame *f);

/*
** The next line, without its "\n" (and without a "\r" before it).  The line
** is borrowed and valid until the next call.  With block == 0, returns
** FRAME_AGAIN instead of waiting for input.  *stop, when not NULL, is
** checked whenever a read is interrupted by a signal: a non-zero value
** ends the input as if it had closed.
*/
int frame_next(frame *f, int block, volatile int *stop, const char **line,
               size_t *len);

/*
** Look ahead without consuming: read whatever input is ready (never
** blocking, never moving buffered bytes), then call fn with each complete
** line already buffered after the current one, until fn returns non-zero.
** Returns fn's non-zero value, or 0.  Lines passed to fn are borrowed for
** the call only.
*/
int frame_peek(frame *f, int (*fn)(void *ctx, const char *line, size_t len),
               void *ctx);

#endif
