/*
** cmd_prune.c: `prune`, retention: every log of the store (or the one
** --log names) moves its entries created before a date into a new JSON
** Lines archive and keeps a signed retention anchor (archive.c).
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/archive.h"
#include "../util/diag.h"

typedef struct prune_opts {
    const char *before;
    cmd_strings archives;
} prune_opts;

static const cmd_option prune_option_table[] = {
    {"before", 0, CMD_STRING, offsetof(prune_opts, before)},
    {"archive", 0, CMD_STRINGS, offsetof(prune_opts, archives)},
    {NULL, 0, 0, 0},
};

static int prune_check(cmd_ctx *cx, char *err, size_t errlen)
{
    const prune_opts *o = cx->opts;
    if (!o->before || o->archives.n != 1) {
        snprintf(err, errlen, "prune needs --before DATE and one --archive FILE");
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

/* Every log of the store (or the one --log names), one archive each:
** --archive FILE itself for one log, FILE.<log_id> for each of several.
** On PostgreSQL, the call for the last log drops the partitions every log
** has been pruned past (store_prune in store.h).  0 done, 2 a failure (the
** logs pruned before it stay pruned, each with its anchor). */
static int prune_run(cmd_ctx *cx)
{
    const prune_opts *o = cx->opts;
    const char *archive = o->archives.v[0];
    /* As verify: DSS_AUDIT_LOG does not narrow prune, only --log does. */
    const char *only = cx->common.log_given ? cx->common.log : NULL;
    char err[STORE_ERRLEN], serr[STORE_ERRLEN];
    struct {
        store_log *v;
        size_t n;
    } l = {0};
    int status = 2;
    if (store_list_logs(cx->st, &l.v, &l.n, err) != STORE_OK) {
        diag("prune failed: %s", err);
        goto done;
    }
    size_t todo = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!only || strcmp(l.v[i].name, only) == 0 || strcmp(l.v[i].log_id, only) == 0)
            l.v[todo++] = l.v[i];
    if (todo == 0) {
        diag("prune: the store holds no log named %s", only ? only : "(any)");
        goto done;
    }
    for (size_t i = 0; i < todo; i++) {
        int64_t removed;
        char *path = todo == 1 ? strdup(archive) : NULL;
        if (todo > 1) {
            size_t n = strlen(archive) + sizeof l.v[i].log_id + 2;
            if ((path = malloc(n))) snprintf(path, n, "%s.%s", archive, l.v[i].log_id);
        }
        if (!path) {
            diag("prune failed: out of memory");
            goto done;
        }
        int rc = store_use_log(cx->st, l.v[i].log_id, err);
        if (rc == STORE_OK) rc = archive_prune(cx->st, cx->sg, o->before, path, &removed, err);
        if (rc != STORE_OK) {
            diag("prune of log %s (%s) failed: %s", l.v[i].name, l.v[i].log_id, err);
            free(path);
            goto done;
        }
        if (todo > 1)
            diag("log %s (%s): pruned %lld entries into %s", l.v[i].name, l.v[i].log_id,
                 (long long)removed, removed ? path : "nothing (no entry was old enough)");
        else
            diag("pruned %lld entries into %s", (long long)removed,
                 removed ? path : "nothing (no entry was old enough)");
        free(path);
    }
    status = EXIT_SUCCESS;
done:
    store_use_log(cx->st, NULL, serr);
    free(l.v);
    return status;
}

const cmd_spec cmd_prune = {
    .options = prune_option_table,
    .opts_size = sizeof(prune_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY | CMD_OPT_MAX_DB_SIZE | CMD_OPT_ORIGIN,
    .check = prune_check,
    .run = prune_run,
};
