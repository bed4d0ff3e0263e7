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
#include "../util/diag.h"

typedef struct verify_opts {
    const char *checkpoint, *public_key, *trusted_keys;
    cmd_strings archives;
} verify_opts;

static const cmd_option verify_option_table[] = {
    {"checkpoint", 0, CMD_STRING, offsetof(verify_opts, checkpoint)},
    {"public-key", 0, CMD_STRING, offsetof(verify_opts, public_key)},
    {"trusted-keys", 0, CMD_STRING, offsetof(verify_opts, trusted_keys)},
    {"archive", 0, CMD_STRINGS, offsetof(verify_opts, archives)},
    {NULL, 0, 0, 0},
};

static void verify_progress(void *ctx, int64_t done)
{
    (void)ctx;
    fprintf(stderr, "\rverified %lld entries", (long long)done);
}

/* Read and parse a small JSON file. Returns a new tree or NULL with err. */
static cJSON *read_json_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
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
                          .log = cx->common.log_given ? cx->common.log : NULL};
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
    if (isatty(2)) opt.progress = verify_progress;
    cJSON *report = verify_store(cx->st, &opt, err, sizeof err);
    verify_free_trusted_keys(keys, n_keys);
    if (isatty(2) && opt.progress) fputc('\n', stderr);
    if (!report) {
        diag("verify failed: %s", err);
        return 2;
    }
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "ok"));
    cmd_print_json(report);
    print_problems(report);
    diag("%s: %d problem(s)", ok ? "the audit log is intact" : "THE AUDIT LOG WAS TAMPERED WITH",
         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "problems")));
    cJSON_Delete(report);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

const cmd_spec cmd_verify = {
    .options = verify_option_table,
    .opts_size = sizeof(verify_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY,
    .run = verify_run,
};
