/*
** loopback.h: the one-shot redirect listener of the OAuth flow (RFC 8252
** section 7.3): an HTTP server on 127.0.0.1 only, on libmicrohttpd, that
** waits for the browser to come back to http://127.0.0.1:PORT/callback.
**
** Only a request to /callback whose state equals the expected one counts:
** it gets a short page saying the window can be closed, and its code, iss
** and error parameters are kept; anything else gets a 404 or a page saying
** the state did not match, and the wait goes on.  The code is never
** printed.
*/
#ifndef DSS_LOOPBACK_H
#define DSS_LOOPBACK_H

#include <stddef.h>

typedef struct loopback loopback;

typedef struct loopback_result {
    char *code;               /* each NULL when absent; free with */
    char *iss;                /* loopback_result_free() */
    char *error;
    char *error_description;
} loopback_result;

void loopback_result_free(loopback_result *r);

/* Listen on 127.0.0.1:port (0: any; when port is taken, any other) for a
** redirect carrying state.  Returns the listener, or NULL with err. */
loopback *loopback_start(int port, const char *state, char *err, size_t errlen);

int loopback_port(const loopback *l);

/* Wait for the redirect at most timeout_ms, or until *cancel is nonzero.
** Returns 1 with *res filled, 0 on timeout or cancel. */
int loopback_wait(loopback *l, long timeout_ms, const volatile int *cancel,
                  loopback_result *res);

void loopback_stop(loopback *l);

#endif
