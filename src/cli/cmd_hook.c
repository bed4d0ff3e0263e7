/*
** cmd_hook.c: `hook`, run by an agent client around each of its tools
** (src/hook/hook.c), and `hooks install|uninstall`, which puts it in the
** client's settings (src/hook/install.c).
**
** hook must never stop the agent over its own settings: its table row
** carries CMD_AGENT, so a usage mistake is reported and exits 0, and a
** set-up failure (libsodium, the redaction rules) reaches hook_run() as
** the reason the event cannot be recorded, answered the client's way.
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hook/hook.h"
#include "../hook/install.h"
#include "../util/diag.h"

static const char client_words[] = "auto, claude-code, cursor, gemini, copilot or vscode";

/* ---- hook --------------------------------------------------------------- */

typedef struct hook_opts {
    const char *client, *results, *event_id;
    int fail_closed, record_prompts;
    hook_options hook; /* from the above */
} hook_opts;

static const cmd_option hook_option_table[] = {
    {"client", 0, CMD_STRING, offsetof(hook_opts, client)},
    {"fail-closed", 0, CMD_FLAG, offsetof(hook_opts, fail_closed)},
    {"record-prompts", 0, CMD_FLAG, offsetof(hook_opts, record_prompts)},
    {"record-results", 0, CMD_STRING, offsetof(hook_opts, results)},
    {"event-id", 0, CMD_STRING, offsetof(hook_opts, event_id)},
    {NULL, 0, 0, 0},
};

static int hook_check(cmd_ctx *cx, char *err, size_t errlen)
{
    hook_opts *o = cx->opts;
    if (o->client && hook_client_parse(o->client, &o->hook.client) != 0) {
        snprintf(err, errlen, "--client must be %s", client_words);
        return CMD_EUSAGE;
    }
    /* The words and meaning of wrap's --record-results. */
    if (o->results && record_results_parse(o->results, &o->hook.results) != 0) {
        snprintf(err, errlen, "--record-results must be summary, full or none");
        return CMD_EUSAGE;
    }
    /* Set by dss-audit-mcp-hook when its recorder went before answering. */
    if (o->event_id && !store_uuid_ok(o->event_id)) {
        snprintf(err, errlen, "--event-id must be a lower-case UUID");
        return CMD_EUSAGE;
    }
    o->hook.event_id = o->event_id;
    o->hook.event_id_retry = o->event_id != NULL;
    o->hook.fail_closed = o->fail_closed;
    o->hook.record_prompts = o->record_prompts;
    return CMD_OK;
}

void cmd_hook_prepare(cmd_ctx *cx, hook_options *out)
{
    hook_opts *o = cx->opts;
    const cmd_common *c = &cx->common;
    o->hook.actor = c->actor_given ? c->actor : NULL;
    o->hook.fallback_user = c->actor;
    o->hook.max_depth = c->max_depth;
    o->hook.fail_reason = cx->setup_error;
    *out = o->hook;
}

/* Record one event from stdin; the exit status is hook_run()'s. */
static int hook_run_cmd(cmd_ctx *cx)
{
    hook_options ho;
    cmd_hook_prepare(cx, &ho);
    store_options so = cmd_store_options(cx, 0);
    return hook_run(&ho, &so, 0, stdout, stderr);
}

const cmd_spec cmd_hook = {
    .options = hook_option_table,
    .opts_size = sizeof(hook_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_ACTOR | CMD_OPT_CONFIG | CMD_OPT_MAX_DEPTH |
              CMD_OPT_MAX_DB_SIZE,
    .check = hook_check,
    .run = hook_run_cmd,
};

/* ---- hooks -------------------------------------------------------------- */

typedef struct hooks_opts {
    const char *client, *scope, *file;
    int fail_closed;
    int install;           /* the action: 1 install, 0 uninstall */
    hookinst_options inst; /* from the above */
} hooks_opts;

static const cmd_option hooks_option_table[] = {
    {"client", 0, CMD_STRING, offsetof(hooks_opts, client)},
    {"scope", 0, CMD_STRING, offsetof(hooks_opts, scope)},
    {"fail-closed", 0, CMD_FLAG, offsetof(hooks_opts, fail_closed)},
    {"file", 0, CMD_STRING, offsetof(hooks_opts, file)},
    {NULL, 0, 0, 0},
};

static int hooks_check(cmd_ctx *cx, char *err, size_t errlen)
{
    hooks_opts *o = cx->opts;
    if (o->client && hook_client_parse(o->client, &o->inst.client) != 0) {
        snprintf(err, errlen, "--client must be %s", client_words);
        return CMD_EUSAGE;
    }
    if (o->scope && strcmp(o->scope, "user") && strcmp(o->scope, "project")) {
        snprintf(err, errlen, "--scope must be user or project");
        return CMD_EUSAGE;
    }
    if (cx->n_operands != 1 ||
        (strcmp(cx->operands[0], "install") && strcmp(cx->operands[0], "uninstall"))) {
        snprintf(err, errlen, "hooks needs one action: install or uninstall");
        return CMD_EUSAGE;
    }
    o->install = strcmp(cx->operands[0], "install") == 0;
    if (!o->inst.client) {
        snprintf(err, errlen, "hooks %s needs --client claude-code, cursor, gemini, copilot "
                              "or vscode", cx->operands[0]);
        return CMD_EUSAGE;
    }
    o->inst.project = o->scope && strcmp(o->scope, "project") == 0;
    o->inst.fail_closed = o->fail_closed;
    o->inst.file = o->file;
    return CMD_OK;
}

/* install or uninstall: 0 done, 1 failed (the file untouched). */
static int hooks_run(cmd_ctx *cx)
{
    hooks_opts *o = cx->opts;
    char exe[4096], lean[4200], direct[4300], err[4600];
    cmd_self_path(exe, sizeof exe);
    o->inst.program = exe;
    /* dss-audit-mcp-hook, when installed beside this program with the
    ** direct writer it runs when no recorder takes the event, starts in a
    ** fraction of the time (src/hook/hook_front.c): the entries run it. */
    char *slash = strrchr(exe, '/');
    if (slash) {
        snprintf(lean, sizeof lean, "%.*s/dss-audit-mcp-hook", (int)(slash - exe), exe);
        snprintf(direct, sizeof direct, "%s-direct", lean);
        if (access(lean, X_OK) == 0 && access(direct, X_OK) == 0) o->inst.program = lean;
    }
    o->inst.home = cmd_home(cx->env);
    if (hookinst_run(&o->inst, o->install, stdout, err, sizeof err) != 0) {
        diag("hooks %s: %s", o->install ? "install" : "uninstall", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

const cmd_spec cmd_hooks = {
    .options = hooks_option_table,
    .opts_size = sizeof(hooks_opts),
    .operands = CMD_OPERANDS,
    .check = hooks_check,
    .run = hooks_run,
};
