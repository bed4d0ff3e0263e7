/*
** cmd_recorder.c: `recorder`, the per-user process that records hook
** events for dss-audit-mcp-hook (src/hook/hook_front.c) so that a hook
** process need not load SQLite and libsodium nor open the store.
**
** It opens the store once and serves the database's socket
** (src/hook/hook_recorder.c).  Each request carries the hook's own
** arguments and DSS_AUDIT_* settings: they are parsed here exactly as
** `hook` parses them (cmd_parse with cmd_hook), and the event is recorded
** through hook_run_recorded(), the same mapping, scrubbing and durable
** append as a direct write, so the answer and exit status are the same.
** A request this recorder cannot serve the same way is declined, and the
** hook writes directly: another database, log or size cap, other
** redaction rules (or the rules' file changed since the recorder started),
** a usage mistake (the direct writer prints it).
*/
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../hook/hook.h"
#include "../hook/hook_recorder.h"
#include "../hook/hook_sock.h"
#include "../util/diag.h"

typedef struct recorder_opts {
    int unused;
} recorder_opts;

/* What a request must agree with to be served here. */
typedef struct rec_ctx {
    const cmd_common *c; /* the recorder's own settings */
    store *st;           /* the database the recorder holds open */
    recorder *rec;
    int turn;            /* a descriptor of the database file (hook.c's turns) */
    int replaced;        /* a hook was declined: our file is no longer at the path */
    struct stat db_st;
    int config_exists;
    struct stat config_st;
    FILE *log;
} rec_ctx;

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mode == b->st_mode && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Why the parsed hook settings cannot be served by this recorder, or NULL. */
static const char *mismatch(rec_ctx *r, const cmd_common *h)
{
    struct stat st;
    if (!h->db || h->db[0] != '/' || stat(h->db, &st) != 0 || st.st_dev != r->db_st.st_dev ||
        st.st_ino != r->db_st.st_ino) {
        /* Or the same path, whose file was deleted or replaced: this
        ** recorder then has nothing left to serve (hookrec's done()). */
        r->replaced = store_moved(r->st);
        return "it names another database";
    }
    if (!same_str(h->log, r->c->log) || h->max_db_size != r->c->max_db_size)
        return "its --log or --max-db-size differ from the recorder's";
    if (!h->config || strcmp(h->config, r->c->config) != 0)
        return "it names other redaction rules (--config)";
    int exists = stat(h->config, &st) == 0;
    if (exists != r->config_exists || (exists && !same_file_state(&st, &r->config_st)))
        return "the redaction rules changed since the recorder started (restart it)";
    if (!exists && h->config_given) return "its --config names a missing file";
    return NULL;
}

/* The login name the hook process would have found (cmd.c's login_name():
** getlogin_r, which reads the process's loginuid, since a hook's stdin is
** no terminal; else the name of its uid).  Caller frees. */
static char *peer_login(const hookrec_request *rq)
{
    char path[64], buf[32];
    long long luid = -1;
    snprintf(path, sizeof path, "/proc/%ld/loginuid", (long)rq->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = '\0';
            luid = strtoll(buf, NULL, 10);
        }
    }
    struct passwd *pw = NULL;
    if (luid >= 0 && luid != 4294967295LL) pw = getpwuid((uid_t)luid);
    if (!pw || !pw->pw_name || !pw->pw_name[0]) pw = getpwuid(rq->uid);
    return strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

/* The variable name=value of env, or NULL. */
static const char *env_of(char **env, const char *name)
{
    size_t n = strlen(name);
    for (; env && *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
    return NULL;
}

static int decline(rec_ctx *r, const char *why)
{
    if (r->log) {
        fprintf(r->log, "dss-audit-mcp recorder: a hook writes directly: %s\n", why);
        fflush(r->log);
    }
    return HOOKREC_DECLINE;
}

static int handle(void *ctx, const hookrec_request *rq, FILE *out, FILE *errf)
{
    rec_ctx *r = ctx;
    static const cmd_def hook_def = {"hook", &cmd_hook, CMD_CRYPTO | CMD_REDACTION | CMD_AGENT};
    int skip = rq->argc > 0 && strcmp(rq->argv[0], "hook") == 0;
    char **argv = calloc((size_t)rq->argc + 2, sizeof *argv);
    char err[CMD_ERRLEN], *login = NULL;
    int status = HOOKREC_DECLINE, argc = 0;
    cmd_ctx cx;
    memset(&cx, 0, sizeof cx);
    if (!argv) return decline(r, "out of memory");
    argv[argc++] = "hook";
    for (int i = skip; i < rq->argc; i++) {
        const char *a = rq->argv[i];
        /* Help is printed by the direct writer. */
        if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "--version")) {
            free(argv);
            return decline(r, "it asks for help");
        }
        argv[argc++] = rq->argv[i];
    }
    cmd_env e = {
        .db = env_of(rq->env, "DSS_AUDIT_DB"), .log = env_of(rq->env, "DSS_AUDIT_LOG"),
        .key = env_of(rq->env, "DSS_AUDIT_KEY"), .actor = env_of(rq->env, "DSS_AUDIT_ACTOR"),
        .config = env_of(rq->env, "DSS_AUDIT_CONFIG"),
        .max_message_bytes = env_of(rq->env, "DSS_AUDIT_MAX_MESSAGE_BYTES"),
        .max_depth = env_of(rq->env, "DSS_AUDIT_MAX_DEPTH"),
        .checkpoint_interval = env_of(rq->env, "DSS_AUDIT_CHECKPOINT_INTERVAL"),
        .max_db_size = env_of(rq->env, "DSS_AUDIT_MAX_DB_SIZE"),
        .read_only = env_of(rq->env, "DSS_AUDIT_READ_ONLY"),
        .origin = env_of(rq->env, "DSS_AUDIT_ORIGIN"), .home = env_of(rq->env, "HOME"),
        .xdg_data_home = env_of(rq->env, "XDG_DATA_HOME"),
        .xdg_config_home = env_of(rq->env, "XDG_CONFIG_HOME"),
    };
    const char *why = NULL;
    if (cmd_parse(&hook_def, 1, &hook_def, "hook", argc, argv, &e, &cx, err, sizeof err) !=
        CMD_OK)
        why = "its command line is not one to serve (the direct writer says why)";
    else
        why = mismatch(r, &cx.common);
    hook_options ho;
    if (!why) {
        cmd_hook_prepare(&cx, &ho);
        if (ho.event_id) why = "it names an --event-id of its own";
        else if (!store_uuid_ok(rq->id)) why = "its entry id is not a UUID";
    }
    if (why) {
        status = decline(r, why);
        goto done;
    }
    if (!ho.actor && !(login = peer_login(rq))) {
        status = decline(r, "out of memory");
        goto done;
    }
    if (!ho.actor) ho.fallback_user = login;
    ho.event_id = rq->id;
    /* A hook that stopped waiting for this recorder (it was stopped, or
    ** slow past the hook's patience) wrote the event directly with this id:
    ** then it is there already, found inside the turn. */
    ho.event_id_retry = 1;
    status = hook_run_recorded(&ho, r->rec, cx.common.db, r->turn, rq->event, rq->len, out,
                               errf);
done:
    cmd_free(&cx);
    free(login);
    free(argv);
    return status;
}

/* hookrec_options.done: a hook of this recorder's path was declined because
** the file there is no longer the one it holds (deleted, replaced), as
** every hook of that path would be from then on. */
static int replaced(void *ctx)
{
    return ((rec_ctx *)ctx)->replaced;
}

/* Hooks have been quiet for a moment: copy the write-ahead log back now
** rather than inside a later commit. */
static void upkeep(void *ctx)
{
    rec_ctx *r = ctx;
    char err[STORE_ERRLEN];
    if (recorder_idle(r->rec, err) != STORE_OK) diag("recorder: upkeep failed: %s", err);
}

static int recorder_check(cmd_ctx *cx, char *err, size_t errlen)
{
    if (store_is_remote(cx->common.db)) {
        snprintf(err, errlen, "the recorder serves SQLite databases (hooks of a PostgreSQL "
                              "database run dss-audit-mcp hook)");
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

static int recorder_run(cmd_ctx *cx)
{
    rec_ctx r = {.c = &cx->common, .turn = -1, .log = stderr};
    store *st = NULL;
    char err[STORE_ERRLEN], path[108], why[512];
    int status = 2;
    if (!cx->env->xdg_runtime_dir || cx->env->xdg_runtime_dir[0] != '/') {
        diag("recorder: XDG_RUNTIME_DIR must name this user's runtime folder: the hooks "
             "find the recorder's socket there");
        return 2;
    }
    store_options so = cmd_store_options(cx, 0);
    if (store_open(&so, &st, err) != STORE_OK) {
        diag("cannot open the audit database %s: %s", cx->common.db_shown, err);
        return 2;
    }
    r.st = st;
    if (!(r.rec = recorder_open(st, NULL))) {
        diag("recorder: out of memory");
        goto done;
    }
    if (stat(cx->common.db, &r.db_st) != 0 ||
        (r.turn = open(cx->common.db, O_RDONLY | O_CLOEXEC)) < 0) {
        diag("recorder: cannot open %s: %s", cx->common.db, strerror(errno));
        goto done;
    }
    r.config_exists = stat(cx->common.config, &r.config_st) == 0;
    if (hsock_path(cx->common.db, cx->env->xdg_runtime_dir, path, sizeof path, why,
                   sizeof why) != 0) {
        diag("recorder: %s", why);
        goto done;
    }
    hookrec_options ho = {.socket_path = path, .handle = handle, .ctx = &r, .log = stderr,
                          .idle = upkeep, .done = replaced};
    if (hookrec_serve(&ho, NULL, why, sizeof why) != 0) {
        diag("recorder: %s", why);
        goto done;
    }
    status = 0;
    if (r.replaced) {
        /* Exit 1, so that a service manager (docs/hooks.md) starts it
        ** again on the file now at the path. */
        diag("recorder: %s was deleted or replaced while the recorder held it open; "
             "stopped (start it again to serve the file now there)",
             cx->common.db_shown);
        status = 1;
    }
done:
    recorder_close(r.rec);
    store_close(st);
    if (r.turn >= 0) close(r.turn); /* after the store: it would drop SQLite's locks */
    return status;
}

const cmd_spec cmd_recorder = {
    .opts_size = sizeof(recorder_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_CONFIG | CMD_OPT_MAX_DB_SIZE,
    .check = recorder_check,
    .run = recorder_run,
};
