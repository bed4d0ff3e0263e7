/*
** store_pg_prune.c: retention for the PostgreSQL backend (dropping whole
** monthly partitions after archiving, leaving signed anchors).  A
** placeholder stub until the integrity helper's file replaces this one.
*/
#include "store_pg_int.h"

#include <stdio.h>

int pg_store_prune(pg_store *s, const char *before, store_keep_fn keep, void *ctx,
                   int64_t *last_seq, char last_hash[CHAIN_HEX_LEN], char *err)
{
    (void)s; (void)before; (void)keep; (void)ctx;
    *last_seq = 0;
    last_hash[0] = '\0';
    snprintf(err, STORE_ERRLEN, "prune is not implemented yet for PostgreSQL");
    return STORE_EINVAL;
}
