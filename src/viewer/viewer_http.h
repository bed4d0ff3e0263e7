/*
** viewer_http.h: the HTTP side of `dss-audit-mcp ui`.
**
** A libmicrohttpd daemon, one internal thread, serving the embedded front
** end (src/viewer/web/) and viewer_api.h's JSON API on a store opened
** read-only.  Only GET and HEAD are served; nothing can change the trail.
**
** Access: the server listens on loopback unless told otherwise, and every
** page and API request must carry the random token printed in the URL
** (?token=..., or an "Authorization: Bearer ..." header, which the front
** end sends), else 401; the static script and style sheet are the same
** bytes for everyone and carry no data, so they are served without it.
** When listening on loopback, connections from other addresses are
** refused as well (a second fence behind the bind).
*/
#ifndef DSS_VIEWER_HTTP_H
#define DSS_VIEWER_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

/* A parsed --listen address. */
typedef struct viewer_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int loopback;   /* 127.0.0.0/8 or ::1 */
    int port;       /* 0: any free port */
} viewer_addr;

/*
** Parse "HOST:PORT", "[V6]:PORT", "HOST" or ":PORT" (HOST an IPv4 or IPv6
** literal, or "localhost"; PORT 0..65535, 0 or absent: a free one).
** Returns 0, or -1 with a sentence in err.
*/
int viewer_parse_listen(const char *text, viewer_addr *out, char *err, size_t errlen);

/* Whether a connection from peer may be served: always when remote_ok,
** else only from a loopback address. */
int viewer_peer_allowed(const struct sockaddr *peer, int remote_ok);

typedef struct viewer_http_options {
    const char *db_path;            /* opened read-only */
    const char *listen;             /* --listen as given, or NULL: 127.0.0.1:0 */
    const char *trusted_public_key; /* for the verification; may be NULL */
} viewer_http_options;

typedef struct viewer_http viewer_http;

/*
** Open the database read-only, draw the token (libsodium randombytes),
** start the background verification and listen.  A --listen address
** beyond loopback is accepted (it was given explicitly) but
** viewer_http_remote() then says so, for the caller to warn.  Returns the
** server, which the caller stops with viewer_http_stop(), or NULL with a
** sentence in err.
*/
viewer_http *viewer_http_start(const viewer_http_options *opt, char *err, size_t errlen);

/* The URL to open, token included; owned by the server. */
const char *viewer_http_url(const viewer_http *h);

/* The access token (hex); owned by the server. */
const char *viewer_http_token(const viewer_http *h);

/* The port listened on. */
int viewer_http_port(const viewer_http *h);

/* Whether the server listens beyond loopback. */
int viewer_http_remote(const viewer_http *h);

/* Whether its store is open read-only (it always is; for tests). */
int viewer_http_readonly(const viewer_http *h);

/* Stop listening, finish the verification thread, close the store.  NULL
** is fine. */
void viewer_http_stop(viewer_http *h);

#endif
