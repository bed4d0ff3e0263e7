/*
** cmd_serve.c: `dss-audit-mcp [serve]`, MCP on stdin and stdout.
**
** The default command, what MCP clients start.  Besides the shared options
** it takes --ship-to and its kin (cmd_ship.c), which ship the trail in the
** background once the store is open; the database is opened once
** initialize has been answered (mcp_options.open_later), and the server
** stops with the reason on stderr if it cannot be opened.
*/
#include "cmd.h"

#include <stdlib.h>
#include <unistd.h>

#include "../protocol/mcp.h"
#include "../server.h"
#include "../util/diag.h"
#include "../witness/wsync.h"

#include <curl/curl.h>
#include <stddef.h>

typedef struct serve_opts {
    cmd_strings witness;
    wsync_witness w[CMD_MAX_REPEAT]; /* --witness, parsed by check */
    cmd_ship_opts ship;
} serve_opts;

static const cmd_option serve_option_table[] = {
    {"witness", 0, CMD_STRINGS, offsetof(serve_opts, witness)},
    CMD_SHIP_OPTIONS(serve_opts, ship),
    {NULL, 0, 0, 0},
};

static int serve_check(cmd_ctx *cx, char *err, size_t errlen)
{
    serve_opts *o = cx->opts;
    int rc = cmd_parse_witnesses(&o->witness, o->w, err, errlen);
    return rc != CMD_OK ? rc : cmd_ship_check(cx, &o->ship, err, errlen);
}

/* The witnesses' thread: it submits each new signed checkpoint in the
** background, so that no agent's call waits on a witness.  NULL when none
** is configured (or the log is read-only: it signs no checkpoint). */
static wsync *start_witnesses(cmd_ctx *cx, const store_options *so)
{
    const serve_opts *o = cx->opts;
    char err[256];
    if (!o->witness.n || so->readonly) return NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    wsync *ws = wsync_start(so, o->w, (size_t)o->witness.n, err, sizeof err);
    if (!ws) {
        diag("warning: the checkpoints will not be witnessed: %s", err);
        curl_global_cleanup();
    }
    return ws;
}

static int serve_run(cmd_ctx *cx)
{
    serve_opts *o = cx->opts;
    const cmd_common *c = &cx->common;
    store_options so = cmd_store_options(cx, c->read_only);
    server *sv = NULL;
    mcp *m = NULL;
    wsync *ws = NULL;
    int status = EXIT_FAILURE;
    char err[CMD_ERRLEN];
    /* A person who runs the binary by hand would otherwise see nothing and
    ** might think it hung: one line says what it waits for.  Never on
    ** stdout, which carries only protocol messages. */
    if (isatty(0))
        fprintf(stderr,
                "dss-audit-mcp: waiting for an MCP client on stdin (database %s%s); "
                "to try it, type {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} "
                "and Enter; Ctrl-D quits\n",
                c->db_shown, so.readonly ? ", read-only" : "");
    server_options so_io = {.in_fd = 0, .out_fd = 1,
                            .max_message_bytes = c->max_message_bytes};
    if (!(sv = server_new(&so_io))) {
        diag("out of memory");
        goto done;
    }
    mcp_options mo = {.open_later = &so, .actor = c->actor, .io = server_io(sv),
                      .limits = {.max_depth = c->max_depth},
                      .sg = cx->sg, .checkpoint_interval = c->checkpoint_interval,
                      .watch = cmd_ship_watch(&o->ship)};
    if (!(m = mcp_new(&mo, err, sizeof err))) {
        diag("cannot start: %s", err);
        goto done;
    }
    ws = start_witnesses(cx, &so);
    status = server_run(sv, m) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
done:
    mcp_free(m); /* its last checkpoint, which the witnesses get below */
    server_free(sv);
    cmd_ship_free(&o->ship);
    if (ws) {
        wsync_stop(ws);
        curl_global_cleanup();
    }
    return status;
}

const cmd_spec cmd_serve = {
    .options = serve_option_table,
    .opts_size = sizeof(serve_opts),
    .check = serve_check,
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY | CMD_OPT_ACTOR | CMD_OPT_CONFIG |
              CMD_OPT_MAX_MESSAGE_BYTES | CMD_OPT_MAX_DEPTH | CMD_OPT_CHECKPOINT_INTERVAL |
              CMD_OPT_MAX_DB_SIZE | CMD_OPT_READ_ONLY | CMD_OPT_ORIGIN,
    .run = serve_run,
};
