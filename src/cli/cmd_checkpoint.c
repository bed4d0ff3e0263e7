/*
** cmd_checkpoint.c: `checkpoint`, which signs the log's head and prints
** the checkpoint (as JSON, or with --note as the C2SP signed note), and
** `public-key`, which prints the signing key's public half (hex, or with
** --note the log's signed-note verifier key).  main.c loads the key for
** both (CMD_SIGNS).
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/checkpoint.h"
#include "../tlog/ckpt.h"
#include "../tlog/note.h"
#include "../util/diag.h"
#include "../util/utf8.h"
#include "../witness/wsync.h"

#include <curl/curl.h>

typedef struct checkpoint_opts {
    int note;
    cmd_strings witness;
    wsync_witness w[CMD_MAX_REPEAT]; /* --witness, parsed by check */
} checkpoint_opts;

static const cmd_option checkpoint_option_table[] = {
    {"note", 0, CMD_FLAG, offsetof(checkpoint_opts, note)},
    {"witness", 0, CMD_STRINGS, offsetof(checkpoint_opts, witness)},
    {NULL, 0, 0, 0},
};

/* --witness URL=VKEY, each parsed into w (n of them): CMD_OK or CMD_EUSAGE.
** Shared with serve (cmd_serve.c). */
int cmd_parse_witnesses(const cmd_strings *specs, wsync_witness *w, char *err, size_t errlen)
{
    for (int i = 0; i < specs->n; i++) {
        char why[400];
        if (wsync_parse(specs->v[i], &w[i], why, sizeof why) != 0) {
            snprintf(err, errlen, "--witness: %s", why);
            return CMD_EUSAGE;
        }
    }
    return CMD_OK;
}

static int checkpoint_check(cmd_ctx *cx, char *err, size_t errlen)
{
    checkpoint_opts *o = cx->opts;
    return cmd_parse_witnesses(&o->witness, o->w, err, errlen);
}

/* Submit the newest signed checkpoint to every witness given, saying on
** stderr what each did: 0 when each cosigned it, 1 when one did not. */
static int witness_it(cmd_ctx *cx)
{
    const checkpoint_opts *o = cx->opts;
    wsync_outcome out[CMD_MAX_REPEAT];
    char err[STORE_ERRLEN];
    size_t n = (size_t)o->witness.n;
    if (!n) return 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int done = wsync_submit(cx->st, o->w, n, 10000, out, err, sizeof err);
    curl_global_cleanup();
    if (done < 0) {
        diag("cannot submit the checkpoint to the witnesses: %s", err);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (out[i].cosigned) diag("witness %s cosigned tree size %lld", o->w[i].key.name,
                                  (long long)out[i].size);
        else diag("witness %s did not cosign: %s", o->w[i].key.name, out[i].why);
    }
    return (size_t)done == n ? 0 : 1;
}

/* Sign the current head and print the checkpoint: 0, or 2. */
static int checkpoint_run(cmd_ctx *cx)
{
    const checkpoint_opts *o = cx->opts;
    char err[STORE_ERRLEN];
    store_checkpoint cp;
    int rc = o->note ? checkpoint_noted_head(cx->st, cx->sg, &cp, err) : checkpoint_now(cx->st, cx->sg, &cp, err);
    if (rc != STORE_OK) {
        diag("cannot write a checkpoint: %s", err);
        return 2;
    }
    int status = witness_it(cx);
    if (o->note) {
        char *text = checkpoint_cosigned_note(cx->st, &cp, err);
        if (!text) {
            diag("%s", err);
            return 2;
        }
        int ok = fputs(text, stdout) >= 0 && fflush(stdout) == 0;
        free(text);
        return ok ? status : 2;
    }
    cJSON *j = checkpoint_to_json(&cp);
    if (!j || cmd_print_json(j) != 0) status = 2;
    cJSON_Delete(j);
    return status;
}

const cmd_spec cmd_checkpoint = {
    .options = checkpoint_option_table,
    .opts_size = sizeof(checkpoint_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY | CMD_OPT_MAX_DB_SIZE | CMD_OPT_ORIGIN,
    .check = checkpoint_check,
    .run = checkpoint_run,
};

/* ---- public-key ---------------------------------------------------------- */

typedef struct public_key_opts {
    int note;
} public_key_opts;

static const cmd_option public_key_option_table[] = {
    {"note", 0, CMD_FLAG, offsetof(public_key_opts, note)},
    {NULL, 0, 0, 0},
};

/* The origin of the log's notes: the one recorded with the log, else
** --origin, else dss-audit/<log_id>.  Without a database to read, only
** --origin can say it.  0, or 2 after saying why. */
static int note_origin(cmd_ctx *cx, char origin[STORE_ORIGIN_MAX + 1])
{
    const char *given = cx->common.origin;
    char err[STORE_ERRLEN];
    store_options so = cmd_store_options(cx, 1);
    store *st = NULL;
    so.origin = NULL;
    if (store_open(&so, &st, err) != STORE_OK) {
        if (given) {
            snprintf(origin, STORE_ORIGIN_MAX + 1, "%s", given);
            return 0;
        }
        diag("cannot open the audit database %s to read the log's origin (or give "
             "--origin): %s", cx->common.db_shown, err);
        return 2;
    }
    int rc = store_log_origin(st, NULL, origin, err);
    if (rc == STORE_OK && origin[0] && given && strcmp(given, origin) != 0) {
        snprintf(err, sizeof err, "the log's origin is %.*s, not %.*s", utf8_cut(origin, 100),
                 origin, utf8_cut(given, 100), given);
        rc = STORE_EINVAL;
    } else if (rc == STORE_OK && !origin[0] && given) {
        snprintf(origin, STORE_ORIGIN_MAX + 1, "%s", given);
    } else if (rc == STORE_OK && !origin[0] &&
               ckpt_default_origin(store_log_id(st), origin, STORE_ORIGIN_MAX + 1) != 0) {
        snprintf(err, sizeof err, "%.*s holds several logs: name one with --log",
                 utf8_cut(cx->common.db_shown, 200), cx->common.db_shown);
        rc = STORE_EINVAL;
    }
    store_close(st);
    if (rc != STORE_OK) {
        diag("%s", err);
        return 2;
    }
    return 0;
}

static int public_key_run(cmd_ctx *cx)
{
    const public_key_opts *o = cx->opts;
    if (!o->note) {
        printf("%s\n", cx->sg->pk_hex);
        return EXIT_SUCCESS;
    }
    char origin[STORE_ORIGIN_MAX + 1], vkey[NOTE_VKEY_MAX], err[256];
    int status = note_origin(cx, origin);
    if (status) return status;
    if (checkpoint_vkey(origin, cx->sg->pk_hex, vkey, err, sizeof err) != 0) {
        diag("%s", err);
        return 2;
    }
    printf("%s\n", vkey);
    return EXIT_SUCCESS;
}

const cmd_spec cmd_public_key = {
    .options = public_key_option_table,
    .opts_size = sizeof(public_key_opts),
    .shared = CMD_OPT_KEY | CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_ORIGIN,
    .run = public_key_run,
};
