/*
** cmd_verify.c: `verify`, which recomputes every log's hash chain and
** checks its checkpoints (src/integrity/verify.c), printing the report as
** JSON on stdout and each problem as a line on stderr.
*/
#include "cmd.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../integrity/checkpoint.h"
#include "../integrity/verify.h"
#include "../tlog/note.h"
#include "../util/diag.h"
#include "../util/utf8.h"

typedef struct verify_opts {
    const char *checkpoint, *public_key, *trusted_keys, *since, *min_witnesses;
    cmd_strings archives, witnesses;
    note_key keys[CMD_MAX_REPEAT]; /* --witness, parsed by check */
    long long min;
} verify_opts;

static const cmd_option verify_option_table[] = {
    {"checkpoint", 0, CMD_STRING, offsetof(verify_opts, checkpoint)},
    {"public-key", 0, CMD_STRING, offsetof(verify_opts, public_key)},
    {"trusted-keys", 0, CMD_STRING, offsetof(verify_opts, trusted_keys)},
    {"archive", 0, CMD_STRINGS, offsetof(verify_opts, archives)},
    {"since", 0, CMD_STRING, offsetof(verify_opts, since)},
    {"witness", 0, CMD_STRINGS, offsetof(verify_opts, witnesses)},
    {"min-witnesses", 0, CMD_STRING, offsetof(verify_opts, min_witnesses)},
    {NULL, 0, 0, 0},
};

static int verify_check(cmd_ctx *cx, char *err, size_t errlen)
{
    verify_opts *o = cx->opts;
    char why[256];
    if (o->since && (o->archives.n || o->checkpoint)) {
        snprintf(err, errlen, "--since checks the log against one kept checkpoint note: it "
                              "takes neither --archive nor --checkpoint");
        return CMD_EUSAGE;
    }
    for (int i = 0; i < o->witnesses.n; i++) {
        if (note_key_parse(o->witnesses.v[i], &o->keys[i], why, sizeof why) != NOTE_OK ||
            o->keys[i].type != NOTE_COSIGNATURE) {
            snprintf(err, errlen, "--witness %.*s: %s", utf8_cut(o->witnesses.v[i], 200),
                     o->witnesses.v[i],
                     o->keys[i].type != NOTE_COSIGNATURE ? "not a witness's key (type 0x04)"
                                                         : why);
            return CMD_EUSAGE;
        }
    }
    o->min = o->witnesses.n;
    if (o->min_witnesses &&
        cmd_parse_int(o->min_witnesses, 0, o->witnesses.n, &o->min) != 0) {
        snprintf(err, errlen, "--min-witnesses must be a number from 0 to the %d --witness "
                 "keys given", o->witnesses.n);
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

static void verify_progress(void *ctx, int64_t done)
{
    (void)ctx;
    fprintf(stderr, "\rverified %lld entries", (long long)done);
}

/* Read and parse a small JSON file. Returns a new tree or NULL with err. */
static cJSON *read_json_file(const char *path, char *err, size_t errlen)
{
    char *text = cmd_read_small(path, 65536, "a checkpoint", NULL, err, errlen);
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) snprintf(err, errlen, "%s is not a JSON checkpoint", path);
    return j;
}

/* Each problem of a verify report as one line on stderr, naming its log. */
static void print_problems(const cJSON *report)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(report, "problems")) {
        const char *log = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log_id"));
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "kind"));
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(p, "seq");
        diag("log %s (%s) seq %lld: %s: %s", log ? log : "?", id ? id : "?",
             seq ? (long long)seq->valuedouble : 0LL, kind ? kind : "?",
             detail ? detail : "");
    }
}

/* A witness that did not cosign the newest checkpoint, or failed last
** time, is said on stderr: not tampering, but a witness to look after. */
static void print_witnesses(const cJSON *report)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(report, "witnesses")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "witness"));
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "last_error"));
        const char *ok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "last_ok"));
        if (e && *e)
            diag("witness %s: its last attempt failed (%s); last cosigned %s", name, e,
                 ok && *ok ? ok : "never");
        else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "behind")))
            diag("witness %s has not cosigned the newest checkpoint yet", name);
    }
}

/* Print a report and its problems; the exit status it means. */
static int finish(cJSON *report)
{
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "ok"));
    cmd_print_json(report);
    print_problems(report);
    print_witnesses(report);
    diag("%s: %d problem(s)", ok ? "the audit log is intact" : "THE AUDIT LOG WAS TAMPERED WITH",
         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "problems")));
    cJSON_Delete(report);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* verify: 0 intact, 1 tampered, 2 usage or I/O. */
static int verify_run(cmd_ctx *cx)
{
    const verify_opts *o = cx->opts;
    char err[CMD_ERRLEN], pk[SIGNER_PK_HEX];
    store_checkpoint external;
    verify_trusted_key *keys = NULL;
    size_t n_keys = 0;
    /* DSS_AUDIT_LOG names the log the servers write; verify checks every
    ** log unless --log names one. */
    verify_options opt = {.archives = o->archives.v, .n_archives = o->archives.n,
                          .log = cx->common.log_given ? cx->common.log : NULL,
                          .witnesses = o->keys, .n_witnesses = (size_t)o->witnesses.n,
                          .min_witnesses = (size_t)o->min};
    if (cmd_trusted_key(cx, o->public_key, pk, &opt.trusted_public_key, err, sizeof err) !=
        CMD_OK) {
        diag("%s", err);
        return 2;
    }
    if (o->trusted_keys) {
        if (verify_read_trusted_keys(o->trusted_keys, &keys, &n_keys, err, sizeof err) != 0) {
            diag("%s", err);
            return 2;
        }
        opt.trusted_keys = keys;
        opt.n_trusted_keys = n_keys;
        /* The file names every key trusted: the key file's .pub is not
        ** trusted besides them unless given with --public-key. */
        if (!o->public_key) opt.trusted_public_key = NULL;
    }
    if (o->checkpoint) {
        cJSON *j = read_json_file(o->checkpoint, err, sizeof err);
        int bad = !j || checkpoint_from_json(j, &external, err, sizeof err) != 0;
        cJSON_Delete(j);
        if (bad) {
            diag("%s", err);
            verify_free_trusted_keys(keys, n_keys);
            return 2;
        }
        opt.external = &external;
    }
    cJSON *report;
    if (o->since) {
        size_t len = 0;
        char *note_text = cmd_read_small(o->since, NOTE_MAX_SIZE, "a note", &len, err, sizeof err);
        report = note_text ? verify_since(cx->st, note_text, len, &opt, err, sizeof err) : NULL;
        free(note_text);
        verify_free_trusted_keys(keys, n_keys);
        if (!report) {
            diag("verify --since failed: %s", err);
            return 2;
        }
        return finish(report);
    }
    if (isatty(2)) opt.progress = verify_progress;
    report = verify_store(cx->st, &opt, err, sizeof err);
    verify_free_trusted_keys(keys, n_keys);
    if (isatty(2) && opt.progress) fputc('\n', stderr);
    if (!report) {
        diag("verify failed: %s", err);
        return 2;
    }
    return finish(report);
}

const cmd_spec cmd_verify = {
    .options = verify_option_table,
    .opts_size = sizeof(verify_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY,
    .check = verify_check,
    .run = verify_run,
};
