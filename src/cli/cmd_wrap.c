/*
** cmd_wrap.c: `wrap`, which relays a stdio MCP server and records what
** passes (src/relay), and `wrap-config`, which points a client's MCP
** configuration at it (cli_wrapconfig.c).
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>

#include "../record/record.h"
#include "../relay/relay.h"
#include "../util/diag.h"
#include "cli.h"

/* ---- wrap --------------------------------------------------------------- */

typedef struct wrap_opts {
    const char *name, *results, *kill_after;
    int fail_open;
    record_results record_results; /* from results */
    int kill_after_s;              /* from kill_after; 5 by default */
    cmd_ship_opts ship;
} wrap_opts;

static const cmd_option wrap_option_table[] = {
    {"name", 0, CMD_STRING, offsetof(wrap_opts, name)},
    {"record-results", 0, CMD_STRING, offsetof(wrap_opts, results)},
    {"fail-open", 0, CMD_FLAG, offsetof(wrap_opts, fail_open)},
    {"kill-after", 0, CMD_STRING, offsetof(wrap_opts, kill_after)},
    CMD_SHIP_OPTIONS(wrap_opts, ship),
    {NULL, 0, 0, 0},
};

static int wrap_check(cmd_ctx *cx, char *err, size_t errlen)
{
    wrap_opts *o = cx->opts;
    long long ka = 5;
    if (cx->n_operands == 0) {
        snprintf(err, errlen, "wrap needs the server's command: wrap [OPTIONS] -- COMMAND "
                              "[ARGS...]");
        return CMD_EUSAGE;
    }
    if (o->results && record_results_parse(o->results, &o->record_results) != 0) {
        snprintf(err, errlen, "--record-results must be summary, full or none");
        return CMD_EUSAGE;
    }
    if (o->kill_after && cmd_parse_int(o->kill_after, 0, 3600, &ka) != 0) {
        snprintf(err, errlen, "--kill-after must be a number of seconds from 0 to 3600");
        return CMD_EUSAGE;
    }
    o->kill_after_s = (int)ka;
    return cmd_ship_check(cx, &o->ship, err, errlen);
}

/* Relay to the wrapped server; its exit status becomes ours. */
static int wrap_run(cmd_ctx *cx)
{
    wrap_opts *o = cx->opts;
    const cmd_common *c = &cx->common;
    char err[CMD_ERRLEN];
    store_options so = cmd_store_options(cx, c->read_only);
    relay_options ro = {.argv = cx->operands, .path = cx->env->path,
                        .envp = cx->env->environ, .so = &so, .name = o->name,
                        .actor = c->actor, .results = o->record_results,
                        .fail_open = o->fail_open, .kill_after_s = o->kill_after_s,
                        .max_message_bytes = c->max_message_bytes,
                        .max_depth = c->max_depth, .in_fd = 0, .out_fd = 1,
                        .watch = cmd_ship_watch(&o->ship)};
    int status = relay_run(&ro, err, sizeof err);
    cmd_ship_free(&o->ship);
    if (status < 0) {
        diag("wrap: %s", err);
        return 127;
    }
    return status;
}

const cmd_spec cmd_wrap = {
    .options = wrap_option_table,
    .opts_size = sizeof(wrap_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_ACTOR | CMD_OPT_CONFIG |
              CMD_OPT_MAX_MESSAGE_BYTES | CMD_OPT_MAX_DEPTH | CMD_OPT_MAX_DB_SIZE |
              CMD_OPT_READ_ONLY,
    /* What follows the first operand is the server's command line. */
    .operands = CMD_OPERANDS_END_OPTIONS,
    .check = wrap_check,
    .run = wrap_run,
};

/* ---- wrap-config -------------------------------------------------------- */

typedef struct wrap_config_opts {
    const char *client, *file;
    int undo;
} wrap_config_opts;

static const cmd_option wrap_config_option_table[] = {
    {"client", 0, CMD_STRING, offsetof(wrap_config_opts, client)},
    {"file", 0, CMD_STRING, offsetof(wrap_config_opts, file)},
    {"undo", 0, CMD_FLAG, offsetof(wrap_config_opts, undo)},
    {NULL, 0, 0, 0},
};

/* Entries are pointed at this very binary, by absolute path, since
** clients seldom start servers with the user's PATH. */
static int wrap_config_run(cmd_ctx *cx)
{
    const wrap_config_opts *o = cx->opts;
    char self[4096], err[CLI_ERRLEN];
    cmd_self_path(self, sizeof self);
    cli_wrap_where where = {.home = cx->env->home,
                            .xdg_config_home = cx->env->xdg_config_home};
    int rc = cli_wrap_config(o->client, o->file, o->undo, self, &where, stdout, err,
                             sizeof err);
    if (rc == CLI_OK) return EXIT_SUCCESS;
    diag("wrap-config: %s", err);
    return rc == CLI_EUSAGE ? 2 : EXIT_FAILURE;
}

const cmd_spec cmd_wrap_config = {
    .options = wrap_config_option_table,
    .opts_size = sizeof(wrap_config_opts),
    .run = wrap_config_run,
};
