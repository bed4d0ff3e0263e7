/*
** cmd_auth.c: `auth`, the OAuth authorization of remote MCP servers ahead
** of time (for clients that start servers without a person watching), and
** what is stored (src/auth/authcmd.c does the work).
*/
#include "cmd.h"

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../auth/authcmd.h"
#include "../util/diag.h"

typedef struct auth_opts {
    const char *url, *logout, *open_with, *timeout, *client_id_url;
    int list;
    long long timeout_s; /* from timeout; 300 by default */
} auth_opts;

static const cmd_option auth_option_table[] = {
    {"url", 0, CMD_STRING, offsetof(auth_opts, url)},
    {"list", 0, CMD_FLAG, offsetof(auth_opts, list)},
    {"logout", 0, CMD_STRING, offsetof(auth_opts, logout)},
    {"open-with", 0, CMD_STRING, offsetof(auth_opts, open_with)},
    {"timeout", 0, CMD_STRING, offsetof(auth_opts, timeout)},
    {"client-id-url", 0, CMD_STRING, offsetof(auth_opts, client_id_url)},
    {NULL, 0, 0, 0},
};

static int auth_check(cmd_ctx *cx, char *err, size_t errlen)
{
    auth_opts *o = cx->opts;
    if ((o->url != NULL) + (o->logout != NULL) + (o->list != 0) != 1) {
        snprintf(err, errlen, "auth needs one of --url URL, --list or --logout URL");
        return CMD_EUSAGE;
    }
    o->timeout_s = 300;
    if (o->timeout && cmd_parse_int(o->timeout, 1, 86400, &o->timeout_s) != 0) {
        snprintf(err, errlen, "--timeout must be a number of seconds from 1 to 86400");
        return CMD_EUSAGE;
    }
    const char *u = o->url ? o->url : o->logout;
    if (u && strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) {
        snprintf(err, errlen, "the URL must start with https:// or http://");
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

/* Ctrl-C abandons the wait for the browser. */
static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int auth_run(cmd_ctx *cx)
{
    const auth_opts *o = cx->opts;
    char err[CMD_ERRLEN];
    char *dir = cmd_config_dir(cx->env);
    int rc;
    if (!dir) {
        diag("auth: out of memory");
        return EXIT_FAILURE;
    }
    if (o->list) {
        rc = authcmd_list(dir, stdout, err, sizeof err);
    } else if (o->logout) {
        rc = authcmd_logout(dir, o->logout, stdout, err, sizeof err);
    } else {
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        oauth_options ao = {.server_url = o->url, .config_dir = dir,
                            .open_with = o->open_with, .no_browser = cx->env->display == NULL,
                            .timeout_s = (long)o->timeout_s,
                            .client_id_url = o->client_id_url, .cancel = &interrupted};
        rc = authcmd_login(&ao, stdout, err, sizeof err);
    }
    free(dir);
    if (rc == 0) return EXIT_SUCCESS;
    diag("auth: %s", err);
    return EXIT_FAILURE;
}

const cmd_spec cmd_auth = {
    .options = auth_option_table,
    .opts_size = sizeof(auth_opts),
    .check = auth_check,
    .run = auth_run,
};
