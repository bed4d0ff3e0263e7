/*
** viewer_verify.c: verify_store() (every log) on a thread, with its progress shared.
**
** The thread owns its store connection from start to end; the only state
** shared with the HTTP thread is the progress counters and, once the work
** is over, the report or the error, all behind one mutex.  verify_store()
** reports progress every so many entries; the total is the log's entry
** span, read before the walk starts.
*/
#include "viewer_verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/verify.h"

enum { RUNNING, DONE, FAILED };

struct viewer_verify {
    pthread_t thread;
    pthread_mutex_t mu;
    char *path;
    char *trusted;    /* hex public key, or NULL */
    int state;
    int64_t done, total;
    char *report;     /* verify_store()'s report as JSON text, once DONE */
    char error[STORE_ERRLEN + 64];
    atomic_int stop;  /* set by viewer_verify_free(): give up soon */
};

/* The store's interrupt callback: a server shutting down does not wait
** for the rest of a long walk. */
static int should_stop(void *ctx)
{
    viewer_verify *v = ctx;
    return atomic_load(&v->stop);
}

static void on_progress(void *ctx, int64_t entries_done)
{
    viewer_verify *v = ctx;
    pthread_mutex_lock(&v->mu);
    v->done = entries_done;
    pthread_mutex_unlock(&v->mu);
}

static void finish(viewer_verify *v, int state, char *report, const char *error)
{
    pthread_mutex_lock(&v->mu);
    v->state = state;
    v->report = report;
    if (error) snprintf(v->error, sizeof v->error, "%s", error);
    if (state == DONE) v->done = v->total;
    pthread_mutex_unlock(&v->mu);
}

static void *run(void *arg)
{
    viewer_verify *v = arg;
    store *st = NULL;
    char err[STORE_ERRLEN + 64];
    store_options so = {.path = v->path, .readonly = 1};
    int64_t first = 0, last = 0;
    if (store_open(&so, &st, err) != STORE_OK ||
        store_seq_range(st, &first, &last, err) != STORE_OK) {
        finish(v, FAILED, NULL, err);
        goto done;
    }
    store_set_interrupt(st, should_stop, v);
    pthread_mutex_lock(&v->mu);
    v->total = last ? last - first + 1 : 0;
    pthread_mutex_unlock(&v->mu);
    verify_options opt = {.trusted_public_key = v->trusted,
                          .progress = on_progress, .progress_ctx = v};
    cJSON *report = verify_store(st, &opt, err, sizeof err);
    if (!report) {
        finish(v, FAILED, NULL, err);
        goto done;
    }
    char *text = cJSON_PrintUnformatted(report);
    cJSON_Delete(report);
    if (!text) finish(v, FAILED, NULL, "out of memory");
    else finish(v, DONE, text, NULL);
done:
    store_close(st);
    return NULL;
}

viewer_verify *viewer_verify_start(const char *path, const char *trusted_public_key,
                                   char *err, size_t errlen)
{
    viewer_verify *v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path)) ||
        (trusted_public_key && !(v->trusted = strdup(trusted_public_key)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&v->mu, NULL);
    if (pthread_create(&v->thread, NULL, run, v) != 0) {
        snprintf(err, errlen, "cannot start the verification thread");
        pthread_mutex_destroy(&v->mu);
        goto fail;
    }
    return v;
fail:
    if (v) {
        free(v->path);
        free(v->trusted);
    }
    free(v);
    return NULL;
}

void viewer_verify_status(viewer_verify *v, jbuf *out)
{
    static const char *const names[] = {"running", "done", "failed"};
    pthread_mutex_lock(&v->mu);
    jbuf_puts(out, "{\"state\":");
    jbuf_string(out, names[v->state], strlen(names[v->state]));
    jbuf_puts(out, ",\"done\":");
    jbuf_int(out, v->done);
    jbuf_puts(out, ",\"total\":");
    jbuf_int(out, v->total);
    if (v->state == DONE) {
        jbuf_puts(out, ",\"report\":");
        jbuf_puts(out, v->report);
    } else if (v->state == FAILED) {
        jbuf_puts(out, ",\"error\":");
        jbuf_string(out, v->error, strlen(v->error));
    }
    jbuf_putc(out, '}');
    pthread_mutex_unlock(&v->mu);
}

void viewer_verify_free(viewer_verify *v)
{
    if (!v) return;
    atomic_store(&v->stop, 1);
    pthread_join(v->thread, NULL);
    pthread_mutex_destroy(&v->mu);
    free(v->report);
    free(v->path);
    free(v->trusted);
    free(v);
}
