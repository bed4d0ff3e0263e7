/*
** server.h: the stdio loop that serves MCP.
**
** The loop reads every complete request already waiting on stdin, handles
** them in one group of the recorder (record.h), commits once, and only
** then writes their replies: group commit.  A lone request is handled and committed at once,
** so batching never adds waiting.  A reply that acknowledges a write is
** never written before the write is durable.
*/
#ifndef DSS_SERVER_H
#define DSS_SERVER_H

#include <stddef.h>

#include "protocol/mcp.h"

typedef struct server_options {
    int in_fd, out_fd;
    size_t max_message_bytes; /* 0 = 4 MiB */
    int max_group;            /* most requests per commit; 0 = 256 */
} server_options;

typedef struct server server;

/* A server on the given descriptors.  NULL when memory runs out.  Free
** with server_free(). */
server *server_new(const server_options *opt);
void server_free(server *sv);

/* The hooks the MCP layer uses to send notifications at once and to look
** ahead for cancellations; valid while sv lives. */
mcp_io server_io(server *sv);

/* Serve until the input ends or SIGTERM/SIGINT arrives; the request in hand
** is finished, committed and answered first.  The recorder is m's (see
** mcp_recorder()); when its open is deferred, initialize is answered first
** and the database is opened right after those first replies.  Returns 0, or -1 when
** the output could not be written (the client went away) or the database
** could not be opened (said on stderr). */
int server_run(server *sv, mcp *m);

#endif
