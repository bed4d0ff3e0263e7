/*
** cmd_checkpoint.c: `checkpoint`, which signs the log's head and prints
** the checkpoint, and `public-key`, which prints the signing key's public
** half.  main.c loads the key for both (CMD_SIGNS).
*/
#include "cmd.h"

#include <stdlib.h>

#include "../integrity/checkpoint.h"
#include "../util/diag.h"

/* Sign the current head and print the checkpoint: 0, or 2. */
static int checkpoint_run(cmd_ctx *cx)
{
    char err[STORE_ERRLEN];
    store_checkpoint cp;
    if (checkpoint_now(cx->st, cx->sg, &cp, err) != STORE_OK) {
        diag("cannot write a checkpoint: %s", err);
        return 2;
    }
    cJSON *j = checkpoint_to_json(&cp);
    int status = j && cmd_print_json(j) == 0 ? EXIT_SUCCESS : 2;
    cJSON_Delete(j);
    return status;
}

const cmd_spec cmd_checkpoint = {
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY | CMD_OPT_MAX_DB_SIZE,
    .run = checkpoint_run,
};

static int public_key_run(cmd_ctx *cx)
{
    printf("%s\n", cx->sg->pk_hex);
    return EXIT_SUCCESS;
}

const cmd_spec cmd_public_key = {
    .shared = CMD_OPT_KEY,
    .run = public_key_run,
};
