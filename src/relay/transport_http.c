/*
** transport_http.c: the wrapped server as a remote MCP server over HTTP
** (`wrap --url`), on the transport of src/remote/ (see transport.h).
**
** remote.h already speaks in whole messages and a pollable descriptor, so
** this is a thin adapter: a message event is handed to the relay, a notice
** (a session ended, a stream resumed, the HTTP+SSE fallback taken) goes to
** stderr, and the transport's own end (the HTTP+SSE stream closed) is the
** server's end.  There is no process: "shut" means nothing more will be
** sent, and the server counts as ended once every request sent has its
** answer (remote_idle) or the relay stops waiting (stop).  Freeing closes
** the transport, which DELETEs the session.
*/
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/diag.h"

enum { DELETE_TIMEOUT_MS = 2000 };

typedef struct http_transport {
    transport base;
    remote *r;
    char *msg;     /* the message next() returned last */
    int gone;      /* the transport ended by itself */
    int shut;      /* the relay sends nothing more */
    int stopped;   /* the relay stopped waiting for answers */
} http_transport;

static int ht_fd(transport *t)
{
    return remote_fd(((http_transport *)t)->r);
}

static int ht_next(transport *t, const char **msg, size_t *len)
{
    http_transport *h = (http_transport *)t;
    free(h->msg);
    h->msg = NULL;
    remote_event ev;
    while (!h->gone && remote_next(h->r, &ev)) {
        if (ev.kind == REMOTE_EV_MESSAGE) {
            h->msg = ev.bytes;
            *msg = ev.bytes;
            *len = ev.len;
            return TRANSPORT_MSG;
        }
        diag("wrap: %s", ev.bytes);
        if (ev.kind == REMOTE_EV_CLOSED) h->gone = 1;
        free(ev.bytes);
    }
    return h->gone ? TRANSPORT_GONE : TRANSPORT_AGAIN;
}

static int ht_send(transport *t, const char *msg, size_t len)
{
    http_transport *h = (http_transport *)t;
    if (h->gone || h->shut) return -1;
    return remote_send(h->r, msg, len);
}

static void ht_shut(transport *t)
{
    ((http_transport *)t)->shut = 1;
}

static void ht_stop(transport *t, int force)
{
    (void)force; /* no process: a polite stop is abandoning the answers too */
    ((http_transport *)t)->stopped = 1;
}

/* Ended: the transport closed, the relay stopped waiting, or nothing was
** left to wait for once the relay had said its last.  Its status is 0,
** or 1 when the remote server closed the transport itself.  Blocking is
** never needed: the relay blocks only after stop(), which ends at once. */
static int ht_ended(transport *t, int block, int *status)
{
    http_transport *h = (http_transport *)t;
    (void)block;
    int ended = h->gone || h->stopped || (h->shut && remote_idle(h->r));
    if (ended && status) *status = h->gone ? 1 : 0;
    return ended;
}

static void ht_free(transport *t)
{
    http_transport *h = (http_transport *)t;
    if (!h) return;
    remote_close(h->r, DELETE_TIMEOUT_MS);
    free(h->msg);
    free(h);
}

static const transport_ops http_ops = {
    .fd = ht_fd, .next = ht_next, .send = ht_send, .shut = ht_shut,
    .stop = ht_stop, .ended = ht_ended, .free = ht_free,
};

transport *transport_http_open(const transport_http_options *o, char *err, size_t errlen)
{
    http_transport *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->base.ops = &http_ops;
    remote_options ro = {.url = o->url, .headers = o->headers, .nheaders = o->nheaders,
                         .kind = o->kind, .auth = o->auth,
                         .max_message_bytes = o->max_message_bytes};
    if (!(h->r = remote_open(&ro, err, errlen))) {
        free(h);
        return NULL;
    }
    return &h->base;
}
