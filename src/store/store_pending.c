/*
** store_pending.c: store_open() on a thread of its own (see the header).
**
** The thread does nothing but call store_open(); the store it yields is
** used only after pthread_join(), which orders the thread's writes before
** the caller's reads, so the store needs no locking of its own.
*/
#include "store_pending.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_pending {
    pthread_t thread;
    int joined;
    store_options opt;
    char *path;
    store *st;   /* the open's result, until taken */
    int rc;
    char err[STORE_ERRLEN];
};

static void *open_thread(void *arg)
{
    store_pending *p = arg;
    p->rc = store_open(&p->opt, &p->st, p->err);
    return NULL;
}

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
    int e = pthread_create(&p->thread, NULL, open_thread, p);
    if (e != 0) {
        snprintf(err, STORE_ERRLEN, "cannot start a thread to open the database: %s",
                 strerror(e));
        free(p->path);
        free(p);
        return STORE_EIO;
    }
    *out = p;
    return STORE_OK;
}

static void join(store_pending *p)
{
    if (p->joined) return;
    pthread_join(p->thread, NULL);
    p->joined = 1;
}

int store_pending_finish(store_pending *p, store **out, char *err)
{
    join(p);
    *out = p->st;
    p->st = NULL;
    if (p->rc != STORE_OK) snprintf(err, STORE_ERRLEN, "%s", p->err);
    return p->rc;
}

const char *store_pending_path(const store_pending *p) { return p->path; }

void store_pending_free(store_pending *p)
{
    if (!p) return;
    join(p);
    store_close(p->st);
    free(p->path);
    free(p);
}
