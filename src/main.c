/*
** main.c: the command line of dss-audit-mcp.
**
** The table below names every command, the cmd_spec that parses its
** options and runs it (src/cli/cmd_*.c), and the set-up it needs first
** (cmd.h: libsodium, the redaction rules, the signing key, the store).
** main() finds the command, reads the environment once and hands it down
** (configuration is resolved in the order flags, then DSS_AUDIT_*
** variables, then defaults; no module below reads the environment or
** calls exit()), does the set-up and runs the command.  Usage errors and
** an unusable database end the program with a message on stderr and a
** non-zero status before anything is written to stdout.
**
** Built with DSS_HOOK_ONLY, the same file is dss-audit-mcp-hook-direct
** (which dss-audit-mcp-hook, src/hook/hook_front.c, runs when no recorder
** takes the event): the hook command alone, linked without libpq (and, as hook needs none of them,
** without libcurl, libmicrohttpd and librelp), because the dynamic loader
** binding those libraries and theirs was three quarters of a hook's start
** (docs/hooks.md, "Speed").  A database it cannot reach (PostgreSQL) is
** handed to dss-audit-mcp beside it, before anything is read or opened.
*/
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "scrub/scrub.h"
#include "store/chain.h"
#include "util/diag.h"
#include "util/utf8.h"
#include "util/wipe.h"

extern char **environ;

/* The first row is the default command, run when none is named.  The
** order is the order of `dss-audit-mcp --help`. */
static const cmd_def commands[] = {
#ifdef DSS_HOOK_ONLY
    {"hook", &cmd_hook, CMD_CRYPTO | CMD_REDACTION | CMD_AGENT},
#else
    {"serve", &cmd_serve, CMD_CRYPTO | CMD_REDACTION | CMD_SIGNS | CMD_SERVES},
    {"wrap", &cmd_wrap, CMD_CRYPTO | CMD_REDACTION},
    {"wrap-config", &cmd_wrap_config, 0},
    {"hook", &cmd_hook, CMD_CRYPTO | CMD_REDACTION | CMD_AGENT},
    {"hooks", &cmd_hooks, 0},
    {"recorder", &cmd_recorder, CMD_CRYPTO | CMD_REDACTION | CMD_SERVES},
    {"tail", &cmd_tail, CMD_CRYPTO | CMD_READS},
    {"query", &cmd_query, CMD_CRYPTO | CMD_READS},
    {"stats", &cmd_stats, CMD_CRYPTO | CMD_READS},
    {"export", &cmd_export, CMD_CRYPTO | CMD_READS},
    {"ui", &cmd_ui, CMD_CRYPTO},
    {"report", &cmd_report, CMD_CRYPTO | CMD_READS},
    {"verify", &cmd_verify, CMD_CRYPTO | CMD_READS},
    {"checkpoint", &cmd_checkpoint, CMD_CRYPTO | CMD_SIGNS | CMD_WRITES},
    {"public-key", &cmd_public_key, CMD_CRYPTO | CMD_SIGNS},
    {"prove", &cmd_prove, CMD_CRYPTO | CMD_SIGNS | CMD_READS},
    {"verify-proof", &cmd_verify_proof, CMD_CRYPTO},
    {"witness", &cmd_witness, CMD_CRYPTO},
    {"prune", &cmd_prune, CMD_CRYPTO | CMD_SIGNS | CMD_WRITES},
    {"ship", &cmd_ship, CMD_CRYPTO},
    {"migrate", &cmd_migrate, CMD_CRYPTO},
    {"auth", &cmd_auth, CMD_CRYPTO},
#endif
};
enum { N_COMMANDS = sizeof commands / sizeof *commands };

/* Load the redaction rules: a named file must exist; the default one is
** used when present.  Refuses a file other users may write, since it
** decides what is redacted.  Returns 0, or -1 after printing why. */
static int load_redaction(const cmd_common *c)
{
    struct stat st;
    char err[256];
    if (stat(c->config, &st) != 0) {
        if (!c->config_given && errno == ENOENT) return 0;
        diag("cannot read the config file %s: %s", c->config, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        diag("%s is writable by other users; refusing it (run chmod 600 on it)", c->config);
        return -1;
    }
    if (scrub_load_config(c->config, err, sizeof err) != 0) {
        diag("config file %s: %s", c->config, err);
        return -1;
    }
    return 0;
}

/* A reply to a query is built in blocks of up to a few hundred kilobytes,
** allocated and freed by every request.  glibc's defaults give blocks that
** large their own mmap() and give the top of the heap back after a free,
** so each request faulted fresh zeroed pages in and made the kernel flush
** the TLB when they went: a third of a search's CPU time (perf).  Keeping
** up to 8 MiB of freed heap costs no peak memory (the peak is the same
** blocks) and makes a search about 30% cheaper (bench_loadgen, lockstep). */
static void keep_heap(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

/* A PostgreSQL password in DSS_AUDIT_DB must not show in `ps e`, which
** reads the process's first environment whatever unsetenv() does to the
** list, nor reach a wrapped server: its text is wiped where it lies. */
static void wipe_db_password(char *env_db)
{
    char shown[1024];
    if (!env_db) return;
    store_redact_path(env_db, shown, sizeof shown);
    if (strcmp(shown, env_db) != 0) {
        store_wipe_password(env_db);
        unsetenv("DSS_AUDIT_DB");
    }
}

/* A secret (DSS_AUDIT_SINK_TOKEN, DSS_AUDIT_SINK_SECRET, and wrap --url's
** DSS_AUDIT_URL, DSS_AUDIT_HEADERS): a copy for the command (freed by the
** caller, wiped first), the variable's text wiped where it lies (`ps e`
** shows the first environment) and removed, so that neither `ps` nor a
** wrapped server sees it.  NULL when unset. */
static char *take_secret(const char *name)
{
    char *v = getenv(name), *copy;
    if (!v) return NULL;
    copy = strdup(v);
    memset(v, 'x', strlen(v));
    unsetenv(name);
    return copy;
}


#ifdef DSS_HOOK_ONLY
/* Run dss-audit-mcp (beside this program) with the same arguments: for a
** database this build cannot reach.  Returns only when that failed, with
** why. */
static void hand_off(char **argv, char *why, size_t whylen)
{
    char self[4096], full[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(why, whylen, "cannot find dss-audit-mcp for this database: %s", strerror(errno));
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(full, sizeof full, "%s/dss-audit-mcp", slash ? self : ".");
    char *args[256];
    int k = 0;
    args[k++] = full;
    args[k++] = "hook";
    for (int i = 1; argv[i] && k < 255; i++)
        if (i > 1 || strcmp(argv[i], "hook") != 0) args[k++] = argv[i];
    args[k] = NULL;
    execv(full, args);
    snprintf(why, whylen, "cannot run %.*s for this database: %s", utf8_cut(full, 200), full,
             strerror(errno));
}
#endif

/* The set-up the command's flags ask for.  0, or the exit status; an
** agent's command (CMD_AGENT) gets the reason in cx->setup_error instead,
** in why. */
static int set_up(cmd_ctx *cx, signer *sg, int *have_key, char *why, size_t whylen)
{
    char err[CMD_ERRLEN];
    unsigned f = cx->flags;
    if ((f & CMD_CRYPTO) && chain_init() != 0) {
        snprintf(why, whylen, "libsodium failed to initialize");
        if (f & CMD_AGENT) goto agent;
        diag("%s", why);
        return EXIT_FAILURE;
    }
    if ((f & CMD_REDACTION) && load_redaction(&cx->common) != 0) {
        snprintf(why, whylen, "the redaction config %s is unusable", cx->common.config);
        if (f & CMD_AGENT) goto agent;
        return 2;
    }
    if (f & CMD_SERVES) keep_heap();
    if (f & CMD_SIGNS) {
        if (signer_load(cx->common.key, 1, sg, err, sizeof err) != 0) {
            diag("cannot load the signing key: %s", err);
            return 2;
        }
        *have_key = 1;
        cx->sg = sg;
    }
    if (f & (CMD_READS | CMD_WRITES)) {
        store_options so = cmd_store_options(cx, !(f & CMD_WRITES));
        if (store_open(&so, &cx->st, err) != STORE_OK) {
            diag("cannot open the audit database %s: %s", cx->common.db_shown, err);
            return 2;
        }
    }
    return 0;
agent:
    cx->setup_error = why;
    return 0;
}

int main(int argc, char **argv)
{
    const cmd_def *cmd = &commands[0];
    const char *name = NULL;
#ifdef DSS_HOOK_ONLY
    char **all_args = argv, handoff_why[300] = "";
#endif
    cmd_ctx cx;
    signer sg;
    int have_key = 0, status;
    char err[CMD_ERRLEN], why[300];
    char *sink_token = NULL, *sink_secret = NULL, *ship_to = NULL;
    char *remote_url = NULL, *remote_headers = NULL;

    /* Everything this program creates (database, WAL, keys) is private. */
    umask(077);
    if (argc > 1 && argv[1][0] != '-') {
        for (cmd = commands; cmd < commands + N_COMMANDS && strcmp(argv[1], cmd->name); cmd++) {}
        if (cmd == commands + N_COMMANDS) {
            diag("unknown command '%s'", argv[1]);
            fputs("Try 'dss-audit-mcp --help'.\n", stderr);
            return 2;
        }
        name = cmd->name;
        argv++;
        argc--;
    }
    sink_token = take_secret("DSS_AUDIT_SINK_TOKEN");
    sink_secret = take_secret("DSS_AUDIT_SINK_SECRET");
    /* A sink URL may hold a PostgreSQL password: out of `ps e` and of
    ** what a wrapped server inherits, as the secrets. */
    ship_to = take_secret("DSS_AUDIT_SHIP_TO");
    remote_url = take_secret("DSS_AUDIT_URL");
    remote_headers = take_secret("DSS_AUDIT_HEADERS");
    cmd_env env = {
        .sink_token = sink_token, .sink_secret = sink_secret, .ship_to = ship_to,
        .remote_url = remote_url, .remote_headers = remote_headers,
        .db = getenv("DSS_AUDIT_DB"), .log = getenv("DSS_AUDIT_LOG"),
        .key = getenv("DSS_AUDIT_KEY"), .actor = getenv("DSS_AUDIT_ACTOR"),
        .config = getenv("DSS_AUDIT_CONFIG"),
        .max_message_bytes = getenv("DSS_AUDIT_MAX_MESSAGE_BYTES"),
        .max_depth = getenv("DSS_AUDIT_MAX_DEPTH"),
        .checkpoint_interval = getenv("DSS_AUDIT_CHECKPOINT_INTERVAL"),
        .max_db_size = getenv("DSS_AUDIT_MAX_DB_SIZE"),
        .read_only = getenv("DSS_AUDIT_READ_ONLY"), .origin = getenv("DSS_AUDIT_ORIGIN"),
        .home = getenv("HOME"), .xdg_data_home = getenv("XDG_DATA_HOME"),
        .xdg_config_home = getenv("XDG_CONFIG_HOME"),
        .xdg_runtime_dir = getenv("XDG_RUNTIME_DIR"),
        .display = getenv("DISPLAY") ? getenv("DISPLAY") : getenv("WAYLAND_DISPLAY"),
        .path = getenv("PATH"),
        .environ = environ,
    };
    int rc = cmd_parse(commands, N_COMMANDS, cmd, name, argc, argv, &env, &cx, err, sizeof err);
    if (rc != CMD_OK) {
        status = rc == CMD_EXIT ? EXIT_SUCCESS : 2;
        if (rc == CMD_EUSAGE) {
            diag("%s", err);
            fprintf(stderr, "Try 'dss-audit-mcp %s%s--help'.\n", name ? name : "",
                    name ? " " : "");
            /* An agent's hook must not stop it over its own settings. */
            if (cmd->flags & CMD_AGENT) {
                diag("%s: the event was not recorded (see above)", cmd->name);
                status = EXIT_SUCCESS;
            }
        }
        goto done;
    }
#ifdef DSS_HOOK_ONLY
    if (store_is_remote(cx.common.db)) hand_off(all_args, handoff_why, sizeof handoff_why);
#endif
    wipe_db_password((char *)env.db);
    status = set_up(&cx, &sg, &have_key, why, sizeof why);
#ifdef DSS_HOOK_ONLY
    /* The hand-off failed: the hook answers as its policy says. */
    if (handoff_why[0] && !cx.setup_error) cx.setup_error = handoff_why;
#endif
    if (status == 0) status = cmd->spec->run(&cx);
done:
    store_close(cx.st);
    if (have_key) signer_wipe(&sg);
    cmd_free(&cx);
    wipe_free_str(sink_token);
    wipe_free_str(sink_secret);
    wipe_free_str(ship_to);
    wipe_free_str(remote_url);
    wipe_free_str(remote_headers);
    return status;
}
