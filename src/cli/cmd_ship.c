/*
** cmd_ship.c: `ship`, which copies the local log into a central
** PostgreSQL database (src/ship), and `migrate`, which creates or brings
** forward a database's schema and nothing else.
*/
#include "cmd.h"

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>

#include "../ship/ship.h"
#include "../util/diag.h"

/* ---- ship --------------------------------------------------------------- */

typedef struct ship_opts {
    char *to; /* a copy: its password is wiped from argv */
    int follow;
    char to_shown[512];
} ship_opts;

static const cmd_option ship_option_table[] = {
    {"to", 0, CMD_CONNINFO, offsetof(ship_opts, to)},
    {"follow", 'f', CMD_FLAG, offsetof(ship_opts, follow)},
    {NULL, 0, 0, 0},
};

static int ship_check(cmd_ctx *cx, char *err, size_t errlen)
{
    ship_opts *o = cx->opts;
    if (!o->to) {
        snprintf(err, errlen, "ship needs --to, the central PostgreSQL database");
        return CMD_EUSAGE;
    }
    store_redact_path(o->to, o->to_shown, sizeof o->to_shown);
    if (!store_is_remote(o->to)) {
        snprintf(err, errlen, "ship --to must name a PostgreSQL database (postgres://... or "
                              "host=...), not '%s'", o->to_shown);
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

/* Set by SIGTERM and SIGINT: a handler can reach nothing else. */
static volatile sig_atomic_t ship_stop;

static void on_ship_signal(int sig)
{
    (void)sig;
    ship_stop = 1;
}

/* Ship once, or with --follow until SIGTERM or SIGINT; a summary as JSON
** on stdout.  0 done, 1 failed. */
static int ship_run_cmd(cmd_ctx *cx)
{
    const ship_opts *o = cx->opts;
    struct sigaction sa = {0};
    sa.sa_handler = on_ship_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    ship_options so = {.from = cx->common.db, .to = o->to, .log_name = cx->common.log,
                       .follow = o->follow, .stop = &ship_stop};
    ship_result r;
    char err[STORE_ERRLEN + 600];
    if (ship_run(&so, &r, err, sizeof err) != 0) {
        diag("ship %s to %s: %s", cx->common.db_shown, o->to_shown, err);
        return EXIT_FAILURE;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "log_id", r.log_id);
    cJSON_AddStringToObject(j, "log", r.log_name);
    cJSON_AddNumberToObject(j, "shipped", (double)r.shipped);
    cJSON_AddNumberToObject(j, "already_there", (double)r.skipped);
    cJSON_AddNumberToObject(j, "checkpoints", (double)r.checkpoints);
    cJSON_AddNumberToObject(j, "head_seq", (double)r.head_seq);
    int ok = j && cmd_print_json(j) == 0;
    cJSON_Delete(j);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

const cmd_spec cmd_ship = {
    .options = ship_option_table,
    .opts_size = sizeof(ship_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG,
    .check = ship_check,
    .run = ship_run_cmd,
};

/* ---- migrate ------------------------------------------------------------ */

/* No log is created: for an administrator who wants the schema to belong
** to an owner role that the servers are not.  0 current, 1 failed. */
static int migrate_run(cmd_ctx *cx)
{
    store_options so = {.path = cx->common.db, .no_own_log = 1};
    store *st = NULL;
    char err[STORE_ERRLEN];
    if (store_open(&so, &st, err) != STORE_OK) {
        diag("cannot migrate %s: %s", cx->common.db_shown, err);
        return EXIT_FAILURE;
    }
    store_close(st);
    diag("the audit schema of %s is current", cx->common.db_shown);
    return EXIT_SUCCESS;
}

const cmd_spec cmd_migrate = {
    .shared = CMD_OPT_DB,
    .run = migrate_run,
};
