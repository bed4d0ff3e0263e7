/*
** store_pending.c: an open of the store, taken now and done later (see the
** header for why it is deferred rather than run on a thread).
*/
#include "store_pending.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_pending {
    store_options opt;
    char *path;
};

int store_pending_start(const store_options *opt, store_pending **out, char *err)
{
    store_pending *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(opt->path))) {
        free(p);
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    p->opt = *opt;
    p->opt.path = p->path;
    *out = p;
    return STORE_OK;
}

int store_pending_finish(store_pending *p, store **out, char *err)
{
    *out = NULL;
    return store_open(&p->opt, out, err);
}

const char *store_pending_path(const store_pending *p) { return p->path; }

void store_pending_free(store_pending *p)
{
    if (!p) return;
    free(p->path);
    free(p);
}
