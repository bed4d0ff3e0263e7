/*
** cmd_ship.c: `ship`, which delivers a trail to its sinks (the team's
** PostgreSQL database, RELP, syslog, OTLP, Splunk HEC, webhooks: src/ship,
** docs/ship.md); the --ship-* options of serve and wrap, which do the same
** in the background of a server; and `migrate`, which creates or brings
** forward a database's schema and nothing else.
*/
#include "cmd.h"

#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../ship/ship.h"
#include "../util/diag.h"
#include "../util/wipe.h"

/* ---- ship --------------------------------------------------------------- */

typedef struct ship_opts {
    cmd_conninfos to;  /* copies: a PostgreSQL password is wiped from argv */
    int follow, from_start, from_now;
    const char *format, *batch, *ca, *cert, *key, *token_file, *secret_file;
    /* Filled by ship_check(). */
    sink_format fmt;
    int batch_n;
    char *token, *secret; /* from a file, else the environment's (borrowed) */
    int token_owned, secret_owned;
    char to_shown[512];
} ship_opts;

static const cmd_option ship_option_table[] = {
    {"to", 0, CMD_CONNINFOS, offsetof(ship_opts, to)},
    {"follow", 'f', CMD_FLAG, offsetof(ship_opts, follow)},
    {"format", 0, CMD_STRING, offsetof(ship_opts, format)},
    {"from-start", 0, CMD_FLAG, offsetof(ship_opts, from_start)},
    {"from-now", 0, CMD_FLAG, offsetof(ship_opts, from_now)},
    {"batch", 0, CMD_STRING, offsetof(ship_opts, batch)},
    {"ca", 0, CMD_STRING, offsetof(ship_opts, ca)},
    {"client-cert", 0, CMD_STRING, offsetof(ship_opts, cert)},
    {"client-key", 0, CMD_STRING, offsetof(ship_opts, key)},
    {"token-file", 0, CMD_STRING, offsetof(ship_opts, token_file)},
    {"secret-file", 0, CMD_STRING, offsetof(ship_opts, secret_file)},
    {NULL, 0, 0, 0},
};

/* A secret given by file: its one line, without the line end.  A file of
** several lines, or with a control character, is refused rather than cut
** (the first line of a file of something else is no secret; a control
** character would reach a header), and one that other users can read is
** taken with a warning, as its secret is theirs too.  Nothing of the file
** is ever quoted.  A new string (the caller wipes and frees it), or NULL
** with why. */
static char *read_secret(const char *path, const char *what, char *err, size_t errlen)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read the %s file %s", what, path);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        diag("warning: the %s file %s can be read by other users (chmod 600 it)", what, path);
    size_t n = fread(buf, 1, sizeof buf, f);
    int more = n == sizeof buf, failed = ferror(f);
    fclose(f);
    /* One line end at the end is the file's, not the secret's. */
    if (n && buf[n - 1] == '\n') n--;
    if (n && buf[n - 1] == '\r') n--;
    const char *problem = failed ? "cannot be read"
                          : more ? "is larger than a secret (4 KiB)"
                          : n == 0 ? "is empty" : NULL;
    for (size_t i = 0; !problem && i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            problem = buf[i] == '\n' || buf[i] == '\r' ? "holds more than one line"
                                                        : "holds a control character";
    char *s = NULL;
    if (!problem) {
        buf[n] = '\0';
        if (!(s = strdup(buf))) problem = "cannot be held (out of memory)";
    }
    sodium_memzero(buf, sizeof buf);
    if (problem) snprintf(err, errlen, "the %s file %s %s: it must hold the %s alone, on one line",
                          what, path, problem, what);
    return s;
}

/* The secrets of the sinks: from a file when one is named, else the
** environment's (main.c's copies, borrowed).  CMD_OK or CMD_EUSAGE. */
static int take_secrets(const cmd_ctx *cx, const char *token_file, const char *secret_file,
                        char **token, int *token_owned, char **secret, int *secret_owned,
                        char *err, size_t errlen)
{
    *token = (char *)cx->env->sink_token;
    *secret = (char *)cx->env->sink_secret;
    if (token_file) {
        if (!(*token = read_secret(token_file, "token", err, errlen))) return CMD_EUSAGE;
        *token_owned = 1;
    }
    if (secret_file) {
        if (!(*secret = read_secret(secret_file, "secret", err, errlen))) return CMD_EUSAGE;
        *secret_owned = 1;
    }
    return CMD_OK;
}

static int ship_cmd_check(cmd_ctx *cx, char *err, size_t errlen)
{
    ship_opts *o = cx->opts;
    long long n = 0; /* the sink's own: 10,000 into PostgreSQL, else 1000 */
    if (o->to.n == 0) {
        snprintf(err, errlen, "ship needs --to, a sink: a PostgreSQL database, relp://, "
                              "syslog+tls://, otlp+http://, splunk-hec+https:// or https://");
        return CMD_EUSAGE;
    }
    sink_describe(o->to.v[0], o->to_shown, sizeof o->to_shown);
    if (o->to.n > 1) snprintf(o->to_shown, sizeof o->to_shown, "%d sinks", o->to.n);
    if (o->from_start && o->from_now) {
        snprintf(err, errlen, "--from-start and --from-now contradict each other");
        return CMD_EUSAGE;
    }
    if (o->format && (o->fmt = sink_format_parse(o->format)) == SINK_FORMAT_DEFAULT) {
        snprintf(err, errlen, "--format is jsonl, ocsf or otlp, not '%s'", o->format);
        return CMD_EUSAGE;
    }
    if (o->batch && cmd_parse_int(o->batch, 1, 100000, &n) != 0) {
        snprintf(err, errlen, "--batch is a number of entries from 1 to 100000, not '%s'",
                 o->batch);
        return CMD_EUSAGE;
    }
    o->batch_n = (int)n;
    return take_secrets(cx, o->token_file, o->secret_file, &o->token, &o->token_owned,
                        &o->secret, &o->secret_owned, err, errlen);
}

/* Set by SIGTERM and SIGINT: a handler can reach nothing else. */
static volatile sig_atomic_t ship_stop;

static void on_ship_signal(int sig)
{
    (void)sig;
    ship_stop = 1;
}

/* Ship once, or with --follow until SIGTERM or SIGINT; a summary as JSON
** on stdout.  0 done, 1 failed, 2 a sink's usage error. */
static int ship_run_cmd(cmd_ctx *cx)
{
    ship_opts *o = cx->opts;
    struct sigaction sa = {0};
    sa.sa_handler = on_ship_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A receiver closing its end must not end the shipper. */
    signal(SIGPIPE, SIG_IGN);
    ship_options so = {.from = cx->common.db, .to_list = (const char *const *)o->to.v,
                       .nto = o->to.n, .follow = o->follow,
                       .batch = o->batch_n, .format = o->fmt, .ca_file = o->ca,
                       .cert_file = o->cert, .key_file = o->key, .token = o->token,
                       .secret = o->secret, .stop = &ship_stop,
                       /* This process serves no one: a SIGBUS from a
                       ** mapped page ends only the shipper (ship.h). */
                       .map_file = 1,
                       .start = o->from_start ? SHIP_FROM_START
                                : o->from_now ? SHIP_FROM_NOW : SHIP_RESUME};
    /* --log: a shared trail's log to ship (default: every log), or the
    ** name a local file's log gets in a PostgreSQL sink. */
    if (store_is_remote(cx->common.db)) so.source_log = cx->common.log;
    else so.log_name = cx->common.log;
    static ship_result r;
    char err[1024];
    int rc = ship_run(&so, &r, err, sizeof err);
    if (o->token_owned) wipe_free_str(o->token);
    if (o->secret_owned) wipe_free_str(o->secret);
    o->token = o->secret = NULL;
    if (rc != SHIP_OK) {
        diag("ship %s to %s: %s", cx->common.db_shown, o->to_shown, err);
        return rc == SHIP_EUSAGE ? 2 : EXIT_FAILURE;
    }
    cJSON *j = cJSON_CreateObject(), *sinks = NULL;
    /* Every log of a shared trail: no one log to name. */
    if (r.log_id[0]) {
        cJSON_AddStringToObject(j, "log_id", r.log_id);
        cJSON_AddStringToObject(j, "log", r.log_name);
    } else {
        cJSON_AddNullToObject(j, "log_id");
        cJSON_AddNullToObject(j, "log");
    }
    cJSON_AddNumberToObject(j, "shipped", (double)r.shipped);
    cJSON_AddNumberToObject(j, "already_there", (double)r.skipped);
    cJSON_AddNumberToObject(j, "checkpoints", (double)r.checkpoints);
    cJSON_AddNumberToObject(j, "head_seq", (double)r.head_seq);
    if (j && (sinks = cJSON_AddArrayToObject(j, "sinks")))
        for (int i = 0; i < r.nsinks; i++) {
            cJSON *s = cJSON_CreateObject();
            if (!s || !cJSON_AddItemToArray(sinks, s)) {
                cJSON_Delete(s);
                break;
            }
            cJSON_AddStringToObject(s, "sink", r.sink[i].sink);
            cJSON_AddNumberToObject(s, "shipped", (double)r.sink[i].shipped);
            cJSON_AddNumberToObject(s, "rejected", (double)r.sink[i].rejected);
            cJSON_AddNumberToObject(s, "batches", (double)r.sink[i].batches);
            if (r.sink[i].logs <= 1) cJSON_AddNumberToObject(s, "cursor", (double)r.sink[i].cursor);
            else cJSON_AddNumberToObject(s, "logs", r.sink[i].logs);
            if (r.sink[i].failed) cJSON_AddStringToObject(s, "error", r.sink[i].error);
        }
    int ok = j && cmd_print_json(j) == 0;
    cJSON_Delete(j);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

const cmd_spec cmd_ship = {
    .options = ship_option_table,
    .opts_size = sizeof(ship_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG,
    .check = ship_cmd_check,
    .run = ship_run_cmd,
};

/* ---- serve and wrap: --ship-to ------------------------------------------ */

/* How long a server's exit waits for its sinks to take what is left: a
** sink that is down is not waited for, and what is not delivered stays for
** the next run (the cursors are durable). */
#define CMD_SHIP_DRAIN_MS 2000

struct cmd_shipping {
    const cmd_ctx *cx;
    ship_options so;
    char log_id[37];         /* a shared trail: the server's own log */
    char *token, *secret;
    int token_owned, secret_owned;
    ship_handle *h;
};

static void on_opened(void *ctx, store *st)
{
    struct cmd_shipping *sh = ctx;
    char err[1024];
    /* A shared trail: the server's own log, with its cursors kept there. */
    if (store_is_remote(sh->so.from)) {
        snprintf(sh->log_id, sizeof sh->log_id, "%s", store_log_id(st));
        sh->so.source_log = sh->log_id;
    }
    if (ship_start(&sh->so, &sh->h, err, sizeof err) != SHIP_OK)
        diag("cannot ship in the background: %s (the server goes on without shipping)", err);
}

static void on_committed(void *ctx)
{
    struct cmd_shipping *sh = ctx;
    ship_wake(sh->h);
}

static void on_closing(void *ctx)
{
    struct cmd_shipping *sh = ctx;
    char err[1024];
    ship_result r;
    if (!sh->h) return;
    if (ship_finish(sh->h, CMD_SHIP_DRAIN_MS, &r, err, sizeof err) != SHIP_OK)
        diag("%s", err);
    sh->h = NULL;
}

/* DSS_AUDIT_SHIP_TO's URLs, separated by white space, into o->to (copies,
** freed by cmd_free() with the command's options). */
static int ship_to_from_env(const char *env, cmd_ship_opts *o, char *err, size_t errlen)
{
    for (const char *p = env; *p;) {
        p += strspn(p, " \t\r\n");
        size_t n = strcspn(p, " \t\r\n");
        if (!n) break;
        if (o->to.n == CMD_MAX_REPEAT) {
            snprintf(err, errlen, "DSS_AUDIT_SHIP_TO names more than %d sinks", CMD_MAX_REPEAT);
            return CMD_EUSAGE;
        }
        if (!(o->to.v[o->to.n] = strndup(p, n))) {
            snprintf(err, errlen, "out of memory");
            return CMD_EUSAGE;
        }
        o->to.n++;
        p += n;
    }
    return CMD_OK;
}

int cmd_ship_check(cmd_ctx *cx, cmd_ship_opts *o, char *err, size_t errlen)
{
    sink_format fmt = SINK_FORMAT_DEFAULT;
    if (o->to.n == 0 && cx->env->ship_to && *cx->env->ship_to &&
        ship_to_from_env(cx->env->ship_to, o, err, errlen) != CMD_OK)
        return CMD_EUSAGE;
    if (o->to.n == 0) {
        if (o->format || o->ca || o->cert || o->key || o->token_file || o->secret_file) {
            snprintf(err, errlen, "the --ship-* options need a sink: --ship-to URL");
            return CMD_EUSAGE;
        }
        return CMD_OK;
    }
    if (o->format && (fmt = sink_format_parse(o->format)) == SINK_FORMAT_DEFAULT) {
        snprintf(err, errlen, "--ship-format is jsonl, ocsf or otlp, not '%s'", o->format);
        return CMD_EUSAGE;
    }
    struct cmd_shipping *sh = calloc(1, sizeof *sh);
    if (!sh) {
        snprintf(err, errlen, "out of memory");
        return CMD_EUSAGE;
    }
    o->run = sh;
    sh->cx = cx;
    sh->so = (ship_options){.from = cx->common.db, .to_list = (const char *const *)o->to.v,
                            .nto = o->to.n, .format = fmt, .ca_file = o->ca,
                            .cert_file = o->cert, .key_file = o->key};
    if (take_secrets(cx, o->token_file, o->secret_file, &sh->token, &sh->token_owned,
                     &sh->secret, &sh->secret_owned, err, errlen) != CMD_OK) {
        cmd_ship_free(o);
        return CMD_EUSAGE;
    }
    sh->so.token = sh->token;
    sh->so.secret = sh->secret;
    /* The sinks' mistakes now, as usage errors, not once the server runs. */
    char why[1024];
    if (ship_check(&sh->so, why, sizeof why) != SHIP_OK) {
        snprintf(err, errlen, "--ship-to: %s", why);
        cmd_ship_free(o);
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

recorder_watch cmd_ship_watch(cmd_ship_opts *o)
{
    if (!o->run) return (recorder_watch){0};
    return (recorder_watch){.opened = on_opened, .committed = on_committed,
                            .closing = on_closing, .ctx = o->run};
}

void cmd_ship_free(cmd_ship_opts *o)
{
    struct cmd_shipping *sh = o->run;
    if (!sh) return;
    on_closing(sh); /* in case the recorder never closed */
    if (sh->token_owned) wipe_free_str(sh->token);
    if (sh->secret_owned) wipe_free_str(sh->secret);
    free(sh);
    o->run = NULL;
}

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
