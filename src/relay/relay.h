/*
** relay.h: `dss-audit-mcp wrap`, an auditing relay around an MCP server.
**
** relay_run() starts the wrapped server as a child (no shell: the command
** and its arguments go to posix_spawn() as given, the command looked up in
** `path`), with its stdin and stdout as pipes and its stderr shared with
** ours, or, with `url`, becomes the HTTP client of a remote server
** (`wrap --url`: Streamable HTTP or HTTP+SSE, OAuth, see docs/remote.md),
** and relays JSON-RPC messages both ways as the bytes that arrived.
** Lines are framed and checked by the same code as `serve` (frame.h,
** rpc.h), so the same size and depth limits and the same errors apply to
** the client's input.  How messages reach the server is a transport
** (transport.h, internal): the relay's logic does not depend on it.
**
** What passes is recorded through the recorder (record.h), write-ahead:
** every message that arrived in one poll iteration is classified, the
** records it calls for are appended in one group (group commit), and only
** once that group is durable are the messages forwarded.  When the trail
** cannot be written, a recorded request is answered with an "audit trail
** unavailable" error and never reaches the server, unless fail_open asks
** to forward it anyway.
*/
#ifndef DSS_RELAY_H
#define DSS_RELAY_H

#include <stddef.h>

#include "../record/record.h"
#include "../remote/remote.h"
#include "../store/store.h"

typedef struct relay_options {
    char *const *argv;          /* the server's command and arguments, NULL-ended;
                                   NULL with url */
    const char *path;           /* PATH to find argv[0] in; NULL = the usual folders */
    char *const *envp;          /* the server's environment; NULL = empty */
    const store_options *so;    /* the trail, opened by relay_run() */
    const char *name;           /* --name, or NULL for serverInfo.name */
    const char *actor;          /* user_id of the entries */
    record_results results;     /* what of a tools/call result is kept */
    int fail_open;              /* forward even when the trail is unwritable */
    int kill_after_s;           /* grace before SIGTERM, then SIGKILL */
    size_t max_message_bytes;   /* both directions */
    int max_depth;              /* client input, as serve */
    int in_fd, out_fd;          /* the client's side: 0 and 1 */
    recorder_watch watch;       /* told what the recorder makes durable (--ship-to) */
    /* A remote server instead of argv (wrap --url).  The URL may hold
    ** credentials or a query: entries and messages show it without them. */
    const char *url;
    const char *const *headers; /* "Name: value" lines sent on every request */
    size_t nheaders;
    remote_kind kind;           /* streamable-http, sse or auto */
    oauth *auth;                /* borrowed; NULL: --auth none */
} relay_options;

/* The JSON-RPC error code of a request refused because the trail cannot
** be written, and of a request left unanswered by a server that exited.
** (A remote server's transport answers with its own codes, remote.h.) */
enum { RELAY_AUDIT_UNAVAILABLE = -32001, RELAY_SERVER_EXITED = -32002 };

/*
** Run the relay until the client and the server are done.  Returns the
** exit status to give: the server's (128 + signal when it was killed; for
** a remote server 0, or 1 when it closed the HTTP+SSE stream), or -1 when
** the server could not be started, with a sentence in err.
*/
int relay_run(const relay_options *o, char *err, size_t errlen);

#endif
