/*
** raw_copy.h: deep copies of raw entries for tests that ship a log
** elsewhere (store_import()): store_each_entry() lends each entry for the
** call only, so a test that imports them later keeps its own copy.
*/
#ifndef DSS_TEST_RAW_COPY_H
#define DSS_TEST_RAW_COPY_H

#include <stdlib.h>
#include <string.h>

#include "store/chain.h"
#include "store/store.h"

/* *x becomes a copy of *e with strings of its own (raw_copy_free()). */
static inline void raw_copy(store_raw_entry *x, const store_raw_entry *e)
{
    *x = *e;
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(&x->f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++)
        if (*slot[i]) *slot[i] = strdup(*slot[i]);
}

static inline void raw_copy_free(store_raw_entry *x)
{
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(&x->f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++) free((char *)*slot[i]);
}

#endif
