/*
** wsync.c: submitting a log's signed checkpoints to its witnesses
** (wsync.h): once (checkpoint --witness), or from a thread of a server.
**
** A witness's last cosigned size is read from the store (its state row),
** so a restarted server, or `checkpoint --witness` run beside a server,
** goes on from where the last submission left off; a witness that holds
** another size says so with a 409, which witness_submit() follows.  What a
** witness answered is stored before anything else is tried, so a crash
** loses at most one cosignature, which the next submission gets again.
*/
#include "wsync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../integrity/checkpoint.h"
#include "../util/ts.h"
#include "../util/utf8.h"
#include "witness_client.h"

int wsync_parse(const char *spec, wsync_witness *out, char *err, size_t errlen)
{
    char why[256];
    const char *eq = NULL;
    memset(out, 0, sizeof *out);
    /* The key follows the first '=' after which a whole key parses (a URL
    ** may hold '=' in its query, a key never does). */
    for (const char *p = strchr(spec, '='); p && !eq; p = strchr(p + 1, '='))
        if (note_key_parse(p + 1, &out->key, why, sizeof why) == NOTE_OK) eq = p;
    if (!eq) {
        snprintf(err, errlen, "%.*s is not URL=VKEY (a witness's submission URL and its "
                 "verifier key, as it prints them)", utf8_cut(spec, 200), spec);
        return -1;
    }
    size_t ul = (size_t)(eq - spec);
    if (ul >= sizeof out->url ||
        (strncmp(spec, "http://", 7) != 0 && strncmp(spec, "https://", 8) != 0)) {
        snprintf(err, errlen, "the witness URL of %.*s must start with http:// or https://",
                 utf8_cut(spec, 200), spec);
        return -1;
    }
    if (out->key.type != NOTE_COSIGNATURE) {
        snprintf(err, errlen, "%.*s is a log's key, not a witness's (type 0x04)", utf8_cut(eq + 1,
                 200), eq + 1);
        return -1;
    }
    memcpy(out->url, spec, ul);
    out->url[ul] = '\0';
    note_key_format(&out->key, out->vkey);
    return 0;
}

/* ---- one submission ---- */

typedef struct find_state {
    const char *vkey;
    store_witness *out;
    int found;
} find_state;

static int match_state(void *ctx, const store_witness *w)
{
    find_state *f = ctx;
    if (strcmp(w->witness, f->vkey) != 0) return 0;
    *f->out = *w;
    f->found = 1;
    return 1;
}

typedef struct find_cosig {
    const char *vkey;
    int found;
} find_cosig;

static int match_cosig(void *ctx, const store_cosignature *c)
{
    find_cosig *f = ctx;
    if (strcmp(c->witness, f->vkey) == 0) f->found = 1;
    return f->found;
}

static void now_text(char out[TS_BUFLEN]) { ts_format(ts_now_us(), out); }

/* Submit cp to one witness; record what it did. */
static int submit_one(store *st, const store_checkpoint *cp, const wsync_witness *w,
                      long timeout_ms, wsync_outcome *out, char *err)
{
    store_witness state;
    memset(&state, 0, sizeof state);
    memset(out, 0, sizeof *out);
    out->size = cp->seq;
    find_state fs = {w->vkey, &state, 0};
    int rc = store_each_witness(st, match_state, &fs, err);
    if (rc != STORE_OK) return rc;
    find_cosig fc = {w->vkey, 0};
    if ((rc = store_each_cosignature(st, cp->number, match_cosig, &fc, err)) != STORE_OK)
        return rc;
    if (fc.found) {
        out->cosigned = 1;
        return STORE_OK;
    }
    snprintf(state.witness, sizeof state.witness, "%s", w->vkey);
    snprintf(state.url, sizeof state.url, "%s", w->url);
    now_text(state.last_attempt);
    merkle_reader tree = store_tree_reader(st);
    witness_reply reply;
    int64_t old = state.size <= cp->seq ? state.size : 0;
    int wr = witness_submit(w->url, &w->key, cp->note, strlen(cp->note), old, &tree, timeout_ms,
                            &reply, out->why, sizeof out->why);
    if (wr == WITNESS_OK) {
        store_cosignature c;
        memset(&c, 0, sizeof c);
        c.number = cp->number;
        c.time = (int64_t)reply.timestamp;
        snprintf(c.witness, sizeof c.witness, "%s", w->vkey);
        /* Its first line, the one whose time is c.time: one cosignature
        ** per witness and checkpoint. */
        size_t l1 = strcspn(reply.cosignatures, "\n") + 1;
        snprintf(c.line, sizeof c.line, "%.*s", (int)(l1 < sizeof c.line ? l1 : 0),
                 reply.cosignatures);
        rc = store_add_cosignature(st, &c, err);
        if (rc == STORE_OK) {
            out->cosigned = 1;
            state.size = cp->seq;
            snprintf(state.last_ok, sizeof state.last_ok, "%s", state.last_attempt);
            state.last_error[0] = '\0';
        }
    } else {
        snprintf(state.last_error, sizeof state.last_error, "%.*s", utf8_cut(out->why, 250),
                 out->why);
        /* What it said it holds, when no more than ours: the next try
        ** starts there (a larger one means this log was rolled back). */
        if (reply.witness_size >= 0 && reply.witness_size <= cp->seq)
            state.size = reply.witness_size;
    }
    witness_reply_free(&reply);
    if (rc != STORE_OK) return rc;
    return store_put_witness(st, &state, err);
}

int wsync_submit(store *st, const wsync_witness *w, size_t n, long timeout_ms,
                 wsync_outcome *out, char *err, size_t errlen)
{
    store_checkpoint cp;
    char serr[STORE_ERRLEN];
    int rc = checkpoint_last_noted(st, &cp, serr), done = 0;
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s", serr);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        wsync_outcome one;
        if ((rc = submit_one(st, &cp, &w[i], timeout_ms, &one, serr)) != STORE_OK) {
            snprintf(err, errlen, "%s", serr);
            return rc;
        }
        done += one.cosigned;
        if (out) out[i] = one;
    }
    return done;
}

/* ---- the server's thread ---- */

#define WSYNC_TIMEOUT_MS 5000
#define WSYNC_POLL_MS 1000
#define WSYNC_RETRY_MIN_MS 5000
#define WSYNC_RETRY_MAX_MS 300000

struct wsync {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    store_options opt;
    char *path, *log;
    wsync_witness *w;
    size_t n;
    int64_t *retry_at;  /* per witness: not before this (ms, monotonic) */
    int64_t *backoff;
    int64_t *done_cp;   /* per witness: the checkpoint number it holds */
};

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The store, once the database exists (the server may not have made it
** yet: this thread never creates it). */
static store *open_store(wsync *ws)
{
    store_options ro = ws->opt;
    store *st = NULL;
    char err[STORE_ERRLEN];
    ro.readonly = 1;
    if (store_open(&ro, &st, err) != STORE_OK) return NULL;
    store_close(st);
    st = NULL;
    if (store_open(&ws->opt, &st, err) != STORE_OK) return NULL;
    return st;
}

/* One round: each witness that is due and does not hold the newest
** checkpoint is submitted to. */
static void round_of(wsync *ws, store *st, int last)
{
    store_checkpoint cp;
    char err[STORE_ERRLEN];
    if (checkpoint_last_noted(st, &cp, err) != STORE_OK) return;
    int64_t now = mono_ms();
    for (size_t i = 0; i < ws->n; i++) {
        if (ws->done_cp[i] == cp.number || (!last && now < ws->retry_at[i])) continue;
        wsync_outcome out;
        if (submit_one(st, &cp, &ws->w[i], WSYNC_TIMEOUT_MS, &out, err) != STORE_OK) continue;
        if (out.cosigned) {
            ws->done_cp[i] = cp.number;
            ws->backoff[i] = WSYNC_RETRY_MIN_MS;
        } else {
            ws->retry_at[i] = mono_ms() + ws->backoff[i];
            ws->backoff[i] = ws->backoff[i] * 2 > WSYNC_RETRY_MAX_MS ? WSYNC_RETRY_MAX_MS
                                                                     : ws->backoff[i] * 2;
        }
    }
}

static void *run(void *arg)
{
    wsync *ws = arg;
    store *st = NULL;
    pthread_mutex_lock(&ws->mu);
    for (;;) {
        int stop = ws->stop;
        pthread_mutex_unlock(&ws->mu);
        if (!st) st = open_store(ws);
        if (st) round_of(ws, st, stop);
        pthread_mutex_lock(&ws->mu);
        if (stop) break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(WSYNC_POLL_MS % 1000) * 1000000L;
        until.tv_sec += WSYNC_POLL_MS / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        if (!ws->stop) pthread_cond_timedwait(&ws->cv, &ws->mu, &until);
    }
    pthread_mutex_unlock(&ws->mu);
    store_close(st);
    return NULL;
}

static void free_ws(wsync *ws)
{
    free(ws->path);
    free(ws->log);
    free(ws->w);
    free(ws->retry_at);
    free(ws->backoff);
    free(ws->done_cp);
    free(ws);
}

wsync *wsync_start(const store_options *opt, const wsync_witness *w, size_t n, char *err,
                   size_t errlen)
{
    wsync *ws = calloc(1, sizeof *ws);
    if (!ws || !(ws->path = strdup(opt->path)) ||
        (opt->log_name && !(ws->log = strdup(opt->log_name))) ||
        !(ws->w = malloc((n ? n : 1) * sizeof *w)) ||
        !(ws->retry_at = calloc(n ? n : 1, sizeof *ws->retry_at)) ||
        !(ws->backoff = calloc(n ? n : 1, sizeof *ws->backoff)) ||
        !(ws->done_cp = calloc(n ? n : 1, sizeof *ws->done_cp))) {
        if (ws) free_ws(ws);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(ws->w, w, n * sizeof *w);
    ws->n = n;
    for (size_t i = 0; i < n; i++) ws->backoff[i] = WSYNC_RETRY_MIN_MS;
    /* Its own connection to the same log.  It writes outside transactions
    ** (a cosignature, a state row), so it never takes the head lock. */
    ws->opt = (store_options){.path = ws->path, .log_name = ws->log,
                              .max_bytes = opt->max_bytes};
    pthread_mutex_init(&ws->mu, NULL);
    pthread_cond_init(&ws->cv, NULL);
    if (pthread_create(&ws->thread, NULL, run, ws) != 0) {
        pthread_mutex_destroy(&ws->mu);
        pthread_cond_destroy(&ws->cv);
        free_ws(ws);
        snprintf(err, errlen, "cannot start the witnesses' thread");
        return NULL;
    }
    return ws;
}

void wsync_stop(wsync *ws)
{
    if (!ws) return;
    pthread_mutex_lock(&ws->mu);
    ws->stop = 1;
    pthread_cond_signal(&ws->cv);
    pthread_mutex_unlock(&ws->mu);
    pthread_join(ws->thread, NULL);
    pthread_mutex_destroy(&ws->mu);
    pthread_cond_destroy(&ws->cv);
    free_ws(ws);
}
