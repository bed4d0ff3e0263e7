/*
** witness_cmd.c: options of `dss-audit-mcp witness` (witness_cmd.h).
**
** Every option takes a value, given as the next argument or after '='.
** --log takes one or more verifier keys: the arguments after it up to the
** next option, and may be repeated.  Each key is checked before anything
** starts, so a typo is a usage error (2) that touches no file.
*/
#include "witness_cmd.h"

#include <stdlib.h>
#include <string.h>

#include "../tlog/ckpt.h"
#include "../util/diag.h"
#include "witness.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

void witness_cmd_usage(FILE *out)
{
    fputs("usage: dss-audit-mcp witness --listen ADDR:PORT --db FILE --key FILE\n"
          "                             --log VKEY [VKEY...] [--name NAME]\n"
          "\n"
          "A C2SP tlog-witness (c2sp.org/tlog-witness) for the logs whose verifier keys\n"
          "are given (a log's origin is its key's name; `public-key --note` prints it).\n"
          "It cosigns each checkpoint that extends the last one it cosigned for that log,\n"
          "and refuses a rewritten or forked log.\n"
          "\n"
          "  --listen ADDR:PORT  where to serve HTTP: POST /add-checkpoint, and\n"
          "                      GET /<sha256 of origin>/checkpoint for monitors\n"
          "  --db FILE           its state (SQLite), created when missing\n"
          "  --key FILE          its Ed25519 key, created when missing (mode 0600)\n"
          "  --log VKEY...       the verifier key of each log it watches\n"
          "  --name NAME         its key name (default: the one it used before, else\n"
          "                      dss-audit-witness/<key hash>)\n"
          "\n"
          "On start it prints its own verifier key (type 0x04) on stderr, for the logs'\n"
          "owners to configure.  SIGINT or SIGTERM stop it.\n",
          out);
}

/* The value of option argv[*i] (after '=' or the next argument), or NULL
** when it is missing. */
static const char *value(int argc, char **argv, int *i, const char *eq)
{
    if (eq) return eq + 1;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

int witness_cmd(int argc, char **argv)
{
    witness_options o = {0};
    const char **logs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *logs);
    int rc = EXIT_USAGE;
    if (!logs) {
        diag("witness: out of memory");
        return EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *v;
#define IS(name) (nl == strlen(name) && strncmp(a, name, nl) == 0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            witness_cmd_usage(stdout);
            rc = EXIT_OK;
            goto done;
        } else if (IS("--log")) {
            if (eq) logs[o.nlogs++] = eq + 1;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                logs[o.nlogs++] = argv[++i];
            if (o.nlogs == 0 || (!eq && argv[i] == a)) {
                diag("witness: --log needs a log's verifier key");
                goto done;
            }
            continue;
        }
        if (!(IS("--listen") || IS("--db") || IS("--key") || IS("--name"))) {
            diag("witness: unknown option %s (see dss-audit-mcp witness --help)", a);
            goto done;
        }
        if (!(v = value(argc, argv, &i, eq)) || !*v) {
            diag("witness: %.*s needs a value", (int)nl, a);
            goto done;
        }
        if (IS("--listen")) o.listen = v;
        else if (IS("--db")) o.db_path = v;
        else if (IS("--key")) o.key_path = v;
        else o.name = v;
#undef IS
    }
    if (!o.listen || !o.db_path || !o.key_path || o.nlogs == 0) {
        diag("witness: --listen, --db, --key and at least one --log are required");
        witness_cmd_usage(stderr);
        goto done;
    }
    for (size_t i = 0; i < o.nlogs; i++) {
        ckpt_log l;
        char err[256];
        if (ckpt_log_from_vkey(logs[i], &l, err, sizeof err) != CKPT_OK) {
            diag("witness: --log %s: %s", logs[i], err);
            goto done;
        }
    }
    if (o.name && !note_name_ok(o.name, strlen(o.name))) {
        diag("witness: --name %s is not a valid key name (no spaces, no '+')", o.name);
        goto done;
    }
    o.log_vkeys = logs;
    char err[512];
    if (witness_run(&o, err, sizeof err) != 0) {
        diag("witness: %s", err);
        rc = EXIT_FAIL;
        goto done;
    }
    rc = EXIT_OK;
done:
    free(logs);
    return rc;
}
