/*
** cmd_read.c: the commands that read the trail for people: tail, query,
** stats, export (cli_query.c, cli_export.c) and report (viewer_report.c).
**
** Their options fill one cli_args; cli_check() (cli_args.c) turns the
** strings into values before the database is opened, so that a mistake
** is a usage error that touches nothing.  main.c opens the store
** read-only for them (CMD_READS); report may sign a checkpoint first (its
** proofs need one holding every entry), on a store of its own.
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../integrity/checkpoint.h"
#include "../ship/ship.h"
#include "../util/diag.h"
#include "../viewer/viewer_report.h"
#include "cli.h"

#define ARG(name, field) {name, 0, CMD_STRING, offsetof(cli_args, field)}
#define FILTERS                                                                           \
    ARG("user", user), ARG("project", project), ARG("event-type", event_type),           \
        ARG("operation-name", operation_name), ARG("server", server),                     \
        ARG("session", session), ARG("since", since), ARG("until", until)
#define JSON {"json", 0, CMD_FLAG, offsetof(cli_args, json)}
#define OUTPUT {"output", 'o', CMD_STRING, offsetof(cli_args, output)}
#define END {NULL, 0, 0, 0}

/* Check the options of the command cx names: cli_check()'s sentence,
** prefixed with the command, as main.c printed it. */
static int read_check(cmd_ctx *cx, char *err, size_t errlen)
{
    cli_args *a = cx->opts;
    char why[CLI_ERRLEN];
    a->log = cx->common.log;
    if (cli_check(cx->name, a, why, sizeof why) == CLI_OK) return CMD_OK;
    snprintf(err, errlen, "%s: %s", cx->name, why);
    return CMD_EUSAGE;
}

/* A cli_* result as an exit status: 0 done, 1 failed, 2 usage. */
static int status_of(const cmd_ctx *cx, int rc, const char *err)
{
    if (rc == CLI_OK) return EXIT_SUCCESS;
    diag("%s: %s", cx->name, err);
    return rc == CLI_EUSAGE ? 2 : EXIT_FAILURE;
}

static int tail_run(cmd_ctx *cx)
{
    char err[CLI_ERRLEN];
    return status_of(cx, cli_tail(cx->st, cx->opts, stdout, err, sizeof err), err);
}

static int query_run(cmd_ctx *cx)
{
    char err[CLI_ERRLEN];
    return status_of(cx, cli_query(cx->st, cx->opts, stdout, err, sizeof err), err);
}

/* ship_cursors()'s callback: each sink's cursor in each log (of the log
** --log names, when it does) into the array. */
typedef struct sinks_ctx {
    cJSON *array;
    const char *log;
} sinks_ctx;

static int add_sink(void *ctx, const ship_cursor_info *c)
{
    sinks_ctx *k = ctx;
    if (k->log && strcmp(k->log, c->log_id) != 0 && strcmp(k->log, c->log) != 0) return 0;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(k->array, o)) {
        cJSON_Delete(o);
        return 1;
    }
    cJSON_AddStringToObject(o, "sink", c->sink);
    cJSON_AddStringToObject(o, "log_id", c->log_id);
    cJSON_AddStringToObject(o, "log", c->log);
    cJSON_AddNumberToObject(o, "cursor", (double)c->seq);
    cJSON_AddNumberToObject(o, "lag", (double)c->lag);
    cJSON_AddStringToObject(o, "saved_at", c->saved_at);
    return 0;
}

static int stats_run(cmd_ctx *cx)
{
    char err[CLI_ERRLEN];
    const cli_args *a = cx->opts;
    sinks_ctx k = {.array = cJSON_CreateArray(), .log = a->log};
    /* Where each sink is, beside the file or in the shared trail; the
    ** counts are worth showing without them. */
    if (k.array && ship_cursors(cx->st, cx->common.db, NULL, add_sink, &k, err, sizeof err) !=
                       SHIP_OK)
        diag("stats: the ship cursors cannot be read: %s", err);
    int rc = cli_stats(cx->st, cx->common.db_shown, a, k.array, stdout, err, sizeof err);
    cJSON_Delete(k.array);
    return status_of(cx, rc, err);
}

static int export_run(cmd_ctx *cx)
{
    char err[CLI_ERRLEN];
    return status_of(cx, cli_export(cx->st, cx->opts, stdout, err, sizeof err), err);
}

static const cmd_option tail_option_table[] = {
    {"lines", 'n', CMD_STRING, offsetof(cli_args, lines)},
    {"follow", 'f', CMD_FLAG, offsetof(cli_args, follow)},
    JSON, END,
};
static const cmd_option query_option_table[] = {
    FILTERS, ARG("search", search), ARG("limit", limit), JSON, END,
};
static const cmd_option stats_option_table[] = {JSON, END};
static const cmd_option export_option_table[] = {
    ARG("format", format), OUTPUT, FILTERS, END,
};

#define READER(opts, runner)                                                              \
    {.options = opts, .opts_size = sizeof(cli_args), .shared = CMD_OPT_DB | CMD_OPT_LOG,  \
     .check = read_check, .run = runner}

const cmd_spec cmd_tail = READER(tail_option_table, tail_run);
const cmd_spec cmd_query = READER(query_option_table, query_run);
const cmd_spec cmd_stats = READER(stats_option_table, stats_run);
const cmd_spec cmd_export = READER(export_option_table, export_run);

/* ---- report ------------------------------------------------------------- */

typedef struct report_opts {
    cli_args a; /* first: the rows above address it with offsetof(cli_args, ...) */
    const char *public_key;
} report_opts;

static const cmd_option report_option_table[] = {
    OUTPUT, FILTERS, {"public-key", 0, CMD_STRING, offsetof(report_opts, public_key)}, END,
};

/* A report embeds a proof of every entry it shows, against the log's
** newest signed checkpoint: when the head moved since that one and the
** log's signing key is here, sign one first, as prove does (never a key
** made for it, never a log made for it).  Without, the newer entries go
** without proofs and the page says so; stderr says why. */
static void sign_for_report(cmd_ctx *cx)
{
    char err[STORE_ERRLEN];
    int64_t head = 0;
    store_checkpoint cp;
    int noted = checkpoint_head_noted(cx->st, &cp, &head, err);
    if (noted < 0) diag("report: cannot tell whether a signed checkpoint holds the newest "
                        "entries (they may go without proofs): %s", err);
    if (noted != 0 || head == 0) return;
    signer sg;
    if (access(cx->common.key, R_OK) != 0 ||
        signer_load(cx->common.key, 0, &sg, err, sizeof err) != 0) {
        diag("report: no signed checkpoint holds the entries after seq %lld, and the log's "
             "key is not here to sign one: they go without proofs",
             (long long)cp.seq);
        return;
    }
    cx->sg = &sg;
    store *rw = cmd_open_to_sign(cx, err);
    if (!rw || checkpoint_noted_head(rw, &sg, &cp, err) != STORE_OK)
        diag("report: could not sign a checkpoint for the newest entries (they go without "
             "proofs): %s", err);
    else
        diag("report: signed a checkpoint of tree size %lld for the proofs", (long long)cp.seq);
    store_close(rw);
    cx->sg = NULL;
    signer_wipe(&sg);
}

/* report: 0 written, 1 failed, 2 usage. */
static int report_run(cmd_ctx *cx)
{
    const report_opts *o = cx->opts;
    char err[CLI_ERRLEN], pk[SIGNER_PK_HEX];
    store_query q = cli_filter(&o->a);
    viewer_report_options ro = {.filter = &q, .output = o->a.output, .progress = stderr};
    if (cmd_trusted_key(cx, o->public_key, pk, &ro.trusted_public_key, err, sizeof err) !=
        CMD_OK) {
        diag("%s", err);
        return 2;
    }
    sign_for_report(cx);
    int rc = viewer_report_write(cx->st, &ro, err, sizeof err);
    if (rc != 0) {
        diag("report: %s", err);
        return rc == -2 ? 2 : EXIT_FAILURE;
    }
    diag("report written to %s", o->a.output);
    return EXIT_SUCCESS;
}

const cmd_spec cmd_report = {
    .options = report_option_table,
    .opts_size = sizeof(report_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY,
    .check = read_check,
    .run = report_run,
};
