/*
** cmd_witness.c: `witness`, a C2SP tlog-witness another party runs for the
** logs whose verifier keys it is given (src/witness/witness.h): it cosigns
** each checkpoint that extends the last one it cosigned, and refuses a
** rewritten or forked log.
**
** Its --db and --key are its own state file and its own key, never the
** audit database and the log's signing key: both must be given on the
** command line (the DSS_AUDIT_* variables and their defaults name the
** log's).  --log takes one or more verifier keys: the operands after it
** are keys too.
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../tlog/ckpt.h"
#include "../util/diag.h"
#include "../util/utf8.h"
#include "../witness/witness.h"

typedef struct witness_opts {
    const char *listen, *name;
    cmd_strings logs;
    const char *keys[2 * CMD_MAX_REPEAT]; /* --log values, then operands */
    size_t nkeys;
} witness_opts;

static const cmd_option witness_option_table[] = {
    {"listen", 0, CMD_STRING, offsetof(witness_opts, listen)},
    {"log", 0, CMD_STRINGS, offsetof(witness_opts, logs)},
    {"name", 0, CMD_STRING, offsetof(witness_opts, name)},
    {NULL, 0, 0, 0},
};

static int witness_check(cmd_ctx *cx, char *err, size_t errlen)
{
    witness_opts *o = cx->opts;
    if (!o->listen || !cx->common.db_given || !cx->common.key_given || !o->logs.n) {
        snprintf(err, errlen, "witness needs --listen ADDR:PORT, its own --db FILE and --key "
                              "FILE, and --log with the verifier key of each log it watches");
        return CMD_EUSAGE;
    }
    for (int i = 0; i < o->logs.n; i++) o->keys[o->nkeys++] = o->logs.v[i];
    for (int i = 0; i < cx->n_operands; i++) {
        if (o->nkeys == sizeof o->keys / sizeof *o->keys) {
            snprintf(err, errlen, "at most %zu logs", sizeof o->keys / sizeof *o->keys);
            return CMD_EUSAGE;
        }
        o->keys[o->nkeys++] = cx->operands[i];
    }
    for (size_t i = 0; i < o->nkeys; i++) {
        ckpt_log l;
        char why[256];
        if (ckpt_log_from_vkey(o->keys[i], &l, why, sizeof why) != CKPT_OK) {
            snprintf(err, errlen, "--log %.*s: %s", utf8_cut(o->keys[i], 200), o->keys[i], why);
            return CMD_EUSAGE;
        }
    }
    if (o->name && !note_name_ok(o->name, strlen(o->name))) {
        snprintf(err, errlen, "--name %.*s is not a valid key name (no spaces, no '+')",
                 utf8_cut(o->name, 200), o->name);
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

/* Serve until SIGINT or SIGTERM: 0, or 1 when it could not start. */
static int witness_run_cmd(cmd_ctx *cx)
{
    const witness_opts *o = cx->opts;
    witness_options wo = {.listen = o->listen, .db_path = cx->common.db,
                          .key_path = cx->common.key, .name = o->name,
                          .log_vkeys = o->keys, .nlogs = o->nkeys};
    char err[512];
    if (witness_run(&wo, err, sizeof err) != 0) {
        diag("witness: %s", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

const cmd_spec cmd_witness = {
    .options = witness_option_table,
    .opts_size = sizeof(witness_opts),
    .operands = CMD_OPERANDS,
    .check = witness_check,
    .run = witness_run_cmd,
};
