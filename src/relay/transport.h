/*
** transport.h: the far side of `wrap`, the wrapped MCP server, as the relay
** sees it (internal to src/relay/).
**
** relay.c decides what is recorded and when a message may go (the
** in-flight table, the write-ahead outbox); a transport only moves whole
** JSON-RPC messages to and from one server and tells when that server has
** ended.  transport_stdio.c runs the server as a child process over pipes;
** transport_http.c reaches a remote server over HTTP (`wrap --url`, on
** src/remote/): the same table, a descriptor the relay can poll for "the
** server side has something", messages in and out, and an end with an
** exit status.
**
** Messages are the exact bytes of one JSON-RPC message (object or batch),
** without a line terminator.  Nothing here blocks except ended(..., 1).
*/
#ifndef DSS_RELAY_TRANSPORT_H
#define DSS_RELAY_TRANSPORT_H

#include <stddef.h>

#include "../remote/remote.h"

typedef struct transport transport;

/* What next() found. */
enum {
    TRANSPORT_MSG = 0, /* a message, in *msg and *len */
    TRANSPORT_TOO_LONG, /* a message longer than the limit, dropped */
    TRANSPORT_AGAIN,    /* nothing more for now: poll fd() again */
    TRANSPORT_GONE      /* the server side has ended: nothing more will come */
};

typedef struct transport_ops {
    /* A descriptor that polls readable (POLLIN) when next() has something
    ** to return, the end included.  Owned by the transport. */
    int (*fd)(transport *t);
    /* The next message from the server, without blocking.  *msg stays
    ** valid until the next call of next(). */
    int (*next)(transport *t, const char **msg, size_t *len);
    /* Send one message to the server.  0, or -1 when it can take no more
    ** (it has gone); later sends are then dropped, and the end shows in
    ** next() and ended(). */
    int (*send)(transport *t, const char *msg, size_t len);
    /* Nothing more will be sent: the server may finish what it has and end
    ** by itself (stdio: its stdin is closed). */
    void (*shut)(transport *t);
    /* Make the server end: politely (SIGTERM), or with force at once. */
    void (*stop)(transport *t, int force);
    /* Whether the server has ended (1) or not (0), waiting for it when
    ** block is set (the relay blocks only after stop(t, 1)); once ended,
    ** *status is its exit status, 128 + the signal's number when a signal
    ** ended it. */
    int (*ended)(transport *t, int block, int *status);
    /* Release everything; a server still running is killed first. */
    void (*free)(transport *t);
} transport_ops;

struct transport {
    const transport_ops *ops;
};

/* ---- stdio: the server as a child process ---- */

typedef struct transport_stdio_options {
    char *const *argv;        /* the command and its arguments, NULL-ended */
    const char *path;         /* where to look for a command without '/':
                                 a PATH value; NULL = /usr/local/bin:/usr/bin:/bin */
    char *const *envp;        /* the child's environment; NULL = empty */
    size_t max_message_bytes; /* longer messages from the server are dropped */
} transport_stdio_options;

/* Start the server (no shell: the command and its arguments are given to
** posix_spawn() as they are), its stdin and stdout on pipes, its stderr
** shared with ours.  NULL with a sentence in err when the command cannot
** be found or started.  Free with t->ops->free(t). */
transport *transport_stdio_open(const transport_stdio_options *o, char *err,
                                size_t errlen);

/* ---- HTTP: a remote server (`wrap --url`) ---- */

typedef struct transport_http_options {
    const char *url;             /* the MCP endpoint (or HTTP+SSE URL) */
    const char *const *headers;  /* "Name: value" lines sent on every request */
    size_t nheaders;
    remote_kind kind;            /* REMOTE_AUTO, REMOTE_STREAMABLE, REMOTE_SSE */
    oauth *auth;                 /* borrowed, or NULL: no authorization flow */
    size_t max_message_bytes;    /* longer messages from the server are
                                    answered with an error (remote.h) */
} transport_http_options;

/* Start the HTTP transport (remote_open: nothing is sent until the first
** message).  The server ends when the HTTP+SSE stream closes (status 1),
** or, once shut, when every request sent has its answer (status 0).  Its
** notices go to stderr.  Freeing DELETEs the session.  NULL with a
** sentence in err when the URL is unusable.  Free with t->ops->free(t). */
transport *transport_http_open(const transport_http_options *o, char *err,
                               size_t errlen);

#endif
