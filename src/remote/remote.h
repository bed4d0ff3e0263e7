/*
** remote.h: the MCP client side of an HTTP connection to a remote MCP
** server, as a pollable object: the far side of `wrap --url`.
**
** The owner hands it JSON-RPC messages (the bytes a stdio client wrote, one
** message or batch per call) with remote_send(), polls remote_fd() for
** readability, and takes events with remote_next(): a message from the
** server (its bytes unchanged, except that line ends, which in JSON can
** only be white space, become spaces so that the message is one stdio
** line), a notice, or the end of the transport.  The HTTP work runs on a
** thread of its own around a libcurl multi handle; the owner's thread
** never blocks on the network.
**
** Streamable HTTP (2025-03-26 to 2025-11-25): every message is POSTed with
** Accept: application/json, text/event-stream; a JSON answer or the events
** of an SSE answer are delivered as they arrive; MCP-Session-Id is kept
** from the initialize answer and sent on every later request, and
** MCP-Protocol-Version (the version initialize negotiated) too; after
** notifications/initialized the GET stream is opened (a 405 means the
** server offers none); a stream that drops before its answer is resumed
** with GET and Last-Event-ID after the server's retry delay, and events
** seen before (by id) are not delivered twice; a 404 on a known session
** ends it (REMOTE_EV_NOTICE, and an error for each request waiting), and
** the client's next initialize starts a new one; 202 answers notifications
** and responses; remote_close() DELETEs the session.
**
** 2026-07-28 (stateless): a request whose params._meta carries a protocol
** version is POSTed with MCP-Protocol-Version, Mcp-Method, Mcp-Name and
** Mcp-Param-* headers (mcphdr.h); there is no session and no GET stream;
** a notifications/cancelled from the client closes the request's response
** stream instead of being POSTed (that is the cancellation), and the
** long-lived answer of subscriptions/listen is simply an answer stream.
**
** HTTP+SSE (2024-11-05), with REMOTE_SSE: GET the URL, wait for the
** endpoint event (same origin only), POST every message there; the
** server's messages come as events of the GET stream, whose end ends the
** transport.  REMOTE_AUTO POSTs first and falls back to HTTP+SSE as the
** spec's backwards-compatibility sections say: on 400, 404 or 405 whose
** body is not a recognized modern JSON-RPC error, a GET that answers with
** an endpoint event.
**
** A request that gets no answer from the server (network error, HTTP error
** status, a stream closed without answer, an expired session, failed
** authorization) is answered by the transport itself with a JSON-RPC error
** for its id (REMOTE_E_*), marked as local in the event, so the client
** never waits forever.  A JSON-RPC error body that the server sent with the
** HTTP error is delivered as it is.
**
** Authorization: --header values are sent on every request; with an oauth
** object (oauth.h) its bearer token is too, and a 401 or 403 challenge
** runs it (refresh, step-up or the browser flow) before the request is
** sent again.  Neither header values nor tokens are ever written anywhere.
*/
#ifndef DSS_REMOTE_H
#define DSS_REMOTE_H

#include <stddef.h>

#include "../auth/oauth.h"

typedef struct remote remote;

typedef enum remote_kind {
    REMOTE_AUTO = 0,     /* Streamable HTTP, falling back to HTTP+SSE */
    REMOTE_STREAMABLE,   /* Streamable HTTP only */
    REMOTE_SSE           /* HTTP+SSE (2024-11-05) only */
} remote_kind;

typedef struct remote_options {
    const char *url;             /* the MCP endpoint (or the SSE URL) */
    const char *const *headers;  /* "Name: value" lines, or NULL; not copied
                                 ** into messages, never printed */
    size_t nheaders;
    remote_kind kind;
    oauth *auth;                 /* or NULL: no authorization flow */
    size_t max_message_bytes;    /* each message from the server */
    size_t max_queued_bytes;     /* events waiting for the owner; 0: 16 MiB */
} remote_options;

/* JSON-RPC error codes of answers the transport makes itself: outside the
** range JSON-RPC and MCP reserve (basic/index.mdx, "Error Codes"). */
enum {
    REMOTE_E_HTTP = -31000,    /* network or HTTP failure, no answer */
    REMOTE_E_SESSION = -31001, /* the server ended the session (404) */
    REMOTE_E_AUTH = -31002     /* authorization required or failed */
};

typedef enum remote_ev_kind {
    REMOTE_EV_MESSAGE = 1, /* bytes: one JSON-RPC message or batch */
    REMOTE_EV_NOTICE,      /* bytes: a sentence for stderr (session ended,
                           ** stream resumed, fallback taken, ...) */
    REMOTE_EV_CLOSED       /* bytes: why; nothing more will come */
} remote_ev_kind;

typedef struct remote_event {
    remote_ev_kind kind;
    char *bytes;   /* NUL-terminated, len bytes, one line; caller frees */
    size_t len;
    int local;     /* a message the transport made (an error answer) */
} remote_event;

/* Start the transport (its thread and, for REMOTE_SSE, the GET stream).
** Returns the object (free with remote_close), or NULL with a sentence in
** err.  The options' strings are copied; o->auth is borrowed and used only
** by the transport's thread until remote_close() returns. */
remote *remote_open(const remote_options *o, char *err, size_t errlen);

/* Readable when events wait; never read it directly. */
int remote_fd(const remote *r);

/* Queue one message (JSON text of len bytes, a single object or a batch)
** to be sent.  Returns 0, or -1 when out of memory or the transport ended. */
int remote_send(remote *r, const char *bytes, size_t len);

/* Take the next event: 1 and *ev filled (free ev->bytes), or 0 when none
** waits. */
int remote_next(remote *r, remote_event *ev);

/* 1 when nothing is under way: no message waits to be sent and no request
** for its answer (so a relay whose client has gone may stop), else 0. */
int remote_idle(remote *r);

/* The most bytes of events that ever waited for the owner at once.  Past
** max_queued_bytes the transport stops reading from the server (libcurl
** pauses the transfers) until the owner has taken half of them. */
size_t remote_max_queued(remote *r);

/* Stop: requests still open are abandoned, the session is DELETEd (at
** most timeout_ms), the thread is joined and everything freed. */
void remote_close(remote *r, long timeout_ms);

#endif
