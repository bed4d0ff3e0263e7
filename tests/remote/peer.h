/*
** peer.h: real peers for the tests of the remote side (tests/remote/), each
** a process started on free loopback ports in a process group of its own,
** with a private temp folder (its log, tokens, files of the case):
**
**   everything-http  @modelcontextprotocol/server-everything streamableHttp
**   everything-sse   the same in its HTTP+SSE (2024-11-05) mode
**   legacy           remote/test_server.mjs: the SDK, stateful, resumable
**   legacy-oauth     the same, also its own authorization server
**                    (-cimd, -short: 30 s tokens, -lie-issuer, -lie-resource)
**   modern           remote/test_server.mjs: stateless 2026-07-28
**   modern-key       the same, refusing requests without X-Api-Key
**   sdk-oauth        the SDK's examples/server/simpleStreamableHttp.js --oauth
**
** Every peer is killed when the test process exits (also when an ASSERT
** returns early), and its folder removed.  And the helpers the cases share
** to talk to a relay (remote_driver.c or `wrap --url`) over the harness.
*/
#ifndef DSS_TEST_PEER_H
#define DSS_TEST_PEER_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "harness.h"

typedef struct peer {
    pid_t pid;
    int port, port2;
    char kind[32];
    char dir[64];  /* a private temp dir (config dir for tokens) */
} peer;

/* Start a peer of that kind (NULL when it cannot be started); freed at
** exit. */
peer *peer_start(const char *kind);
/* (Re)start p's process on its ports; 0 or -1. */
int peer_run(peer *p);
/* Kill p's process group (SIGKILL) and reap it. */
void peer_stop(peer *p);
/* GET or POST http://127.0.0.1:PORT/path of p: the body (caller frees). */
char *peer_http(peer *p, const char *method, const char *path);
/* The peer's /admin/log once it contains needle (at most 5 s): caller frees. */
char *wait_log(peer *p, const char *needle);
int count_in_log(const char *log, const char *needle);
void nap(int ms);

/* The --open-with command: a browser stand-in that follows the
** authorization server's redirect to the loopback listener and appends
** its command line to p->dir/opener.argv (one line per flow). */
const char *opener(peer *p);
/* The access and refresh tokens stored under config_dir/oauth/ (empty
** strings when none). */
void stored_tokens(const char *config_dir, char *at, char *rt, size_t n);

/* ---- talking to a relay over its stdio ---- */

#define META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
             "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"t\",\"version\":\"1\"}," \
             "\"io.modelcontextprotocol/clientCapabilities\":{}}"

#define INIT(caps)                                                                         \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":" \
    "\"2025-11-25\",\"capabilities\":" caps ",\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"


/* Lines until the response with numeric id; the others are appended to
** others (a JSON array, may be NULL).  The response (owned by s), or NULL. */
cJSON *until_id(srv *s, int id, cJSON *others);
/* Lines until a request or notification of method; that message, or NULL. */
cJSON *until_method(srv *s, const char *method);
/* The first text content of a tools/call response, or NULL. */
const char *result_text(const cJSON *resp);
/* The code of an error response, or 0. */
int error_code(const cJSON *resp);
int send_line(srv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* initialize (id 1, init_line) and notifications/initialized; the
** initialize response, or NULL. */
cJSON *handshake(srv *s, const char *init_line);
/* tools/call of tool with args (JSON text) as id; the response, or NULL. */
cJSON *call(srv *s, int id, const char *tool, const char *args, cJSON *others);

#endif
