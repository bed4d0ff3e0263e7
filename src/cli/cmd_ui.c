/*
** cmd_ui.c: `ui`, the read-only web viewer of the trail on loopback
** (src/viewer/viewer_http.c), until SIGINT or SIGTERM.
*/
#include "cmd.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdlib.h>

#include "../util/diag.h"
#include "../viewer/viewer_http.h"

typedef struct ui_opts {
    const char *listen, *public_key;
    int open;
} ui_opts;

static const cmd_option ui_option_table[] = {
    {"listen", 0, CMD_STRING, offsetof(ui_opts, listen)},
    {"open", 0, CMD_FLAG, offsetof(ui_opts, open)},
    {"public-key", 0, CMD_STRING, offsetof(ui_opts, public_key)},
    {NULL, 0, 0, 0},
};

/* Start the system's opener on url (--open); a failure is only reported. */
static void open_in_browser(const char *url, char **envp)
{
    pid_t pid;
    char *argv[] = {"xdg-open", (char *)url, NULL};
    posix_spawnattr_t attr;
    sigset_t none;
    /* The opener must not inherit ui_run()'s blocked SIGINT and SIGTERM. */
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (posix_spawnp(&pid, "xdg-open", NULL, &attr, argv, envp) != 0)
        diag("cannot start xdg-open: open the URL above yourself");
    posix_spawnattr_destroy(&attr);
}

/* Serve the viewer until SIGINT or SIGTERM.  0 stopped, 2 usage. */
static int ui_run(cmd_ctx *cx)
{
    const ui_opts *o = cx->opts;
    char err[CMD_ERRLEN], pk[SIGNER_PK_HEX];
    sigset_t stop;
    int sig;
    viewer_http_options vo = {.db_path = cx->common.db, .listen = o->listen};
    if (cmd_trusted_key(cx, o->public_key, pk, &vo.trusted_public_key, err, sizeof err) !=
        CMD_OK) {
        diag("%s", err);
        return 2;
    }
    /* Blocked before any thread starts, so that every thread inherits the
    ** mask and the signal reaches sigwait() below. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    viewer_http *h = viewer_http_start(&vo, err, sizeof err);
    if (!h) {
        diag("ui: %s", err);
        return 2;
    }
    if (viewer_http_remote(h))
        diag("WARNING: listening on %s, beyond this machine: anyone on that network "
             "who learns the URL can read the audit trail", o->listen);
    printf("%s\n", viewer_http_url(h));
    fflush(stdout);
    diag("the trail viewer of %s (read-only) is at the URL above; Ctrl-C stops it",
         cx->common.db_shown);
    if (o->open) open_in_browser(viewer_http_url(h), cx->env->environ);
    sigwait(&stop, &sig);
    viewer_http_stop(h);
    return EXIT_SUCCESS;
}

const cmd_spec cmd_ui = {
    .options = ui_option_table,
    .opts_size = sizeof(ui_opts),
    .shared = CMD_OPT_DB | CMD_OPT_KEY,
    .run = ui_run,
};
