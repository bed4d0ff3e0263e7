/*
** prehash.c: the batch ring behind verification's parallel hashing.
**
** The pushing thread copies entries into the batch at the ring's fill
** position; a full batch is handed to the workers, and the oldest batches
** are judged, in order, as soon as they are hashed.  Three counters under
** one mutex describe the ring: `filled` batches were handed over, `taken`
** of them were picked up by a worker, `judged` of them were judged and are
** free again.  Only the pushing thread moves `filled` and `judged`, so the
** ring never needs more than one lock and two condition variables.
*/
#include "prehash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_ENTRIES 256
#define BATCH_BYTES (512 * 1024)
#define RING 8
#define MAX_WORKERS 8

typedef struct batch {
    store_raw_entry e[BATCH_ENTRIES];
    unsigned char ok[BATCH_ENTRIES];
    int n;
    char *text; /* the entries' strings; e[i].f points into it */
    size_t used, cap;
    int hashed; /* under the mutex */
} batch;

struct prehash {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    batch *ring[RING];
    uint64_t filled, taken, judged;
    int quit;
    int n_threads;
    pthread_t th[MAX_WORKERS];
    prehash_judge_fn judge;
    void *ctx;
    int stop; /* the judge's non-zero return, or -1 when out of memory */
};

static int own_hash_ok(const store_raw_entry *e)
{
    return e->hashes_ok && chain_entry_matches(&e->f, e->f.seq, e->prev_hash, e->hash);
}

static void hash_batch(batch *b)
{
    for (int i = 0; i < b->n; i++) b->ok[i] = (unsigned char)own_hash_ok(&b->e[i]);
}

static void *worker(void *arg)
{
    prehash *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->taken == p->filled) pthread_cond_wait(&p->work, &p->mu);
        if (p->taken == p->filled) break;
        batch *b = p->ring[p->taken++ % RING];
        pthread_mutex_unlock(&p->mu);
        hash_batch(b);
        pthread_mutex_lock(&p->mu);
        b->hashed = 1;
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

prehash *prehash_new(int workers, prehash_judge_fn judge, void *ctx)
{
    prehash *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->judge = judge;
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < RING; i++) {
        if (!(p->ring[i] = calloc(1, sizeof(batch))) ||
            !(p->ring[i]->text = malloc(BATCH_BYTES))) {
            prehash_free(p);
            return NULL;
        }
        p->ring[i]->cap = BATCH_BYTES;
    }
    /* One CPU gains nothing from a thread: it would only add hand-offs. */
    if (workers < 0) workers = online_cpus() > 1 ? online_cpus() : 0;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    while (p->n_threads < workers &&
           pthread_create(&p->th[p->n_threads], NULL, worker, p) == 0)
        p->n_threads++;
    return p;
}

/* Judge one hashed batch and make it free for filling again. */
static void judge_batch(prehash *p, batch *b)
{
    for (int i = 0; i < b->n && !p->stop; i++)
        p->stop = p->judge(p->ctx, &b->e[i], b->ok[i]);
    b->n = 0;
    b->used = 0;
    b->hashed = 0;
    p->judged++;
}

/* Judge batches in order: every one before `target`, waiting for its
** hashing if need be, then any later ones that happen to be hashed. */
static void judge_upto(prehash *p, uint64_t target)
{
    while (p->judged < p->filled) {
        batch *b = p->ring[p->judged % RING];
        int must = p->judged < target;
        pthread_mutex_lock(&p->mu);
        while (must && !b->hashed) pthread_cond_wait(&p->done, &p->mu);
        int ready = b->hashed;
        pthread_mutex_unlock(&p->mu);
        if (!ready) return;
        judge_batch(p, b);
    }
}

/* Hand the batch being filled to the workers (or hash it here) and make
** sure the next fill position is free. */
static void submit(prehash *p)
{
    batch *b = p->ring[p->filled % RING];
    if (b->n == 0) return;
    if (p->n_threads == 0) {
        hash_batch(b);
        b->hashed = 1;
        p->filled++;
        judge_upto(p, p->filled);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->filled++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    judge_upto(p, p->filled >= RING ? p->filled - RING + 1 : 0);
}

/* The entry's strings, as pointers to the slots of the copy to fill. */
#define STRING_SLOTS CHAIN_STRING_FIELDS

int prehash_push(prehash *p, const store_raw_entry *e)
{
    if (p->stop) return p->stop;
    store_raw_entry copy = *e;
    const char **slot[STRING_SLOTS];
    size_t len[STRING_SLOTS], total = 0;
    chain_string_slots(&copy.f, slot);
    for (int i = 0; i < STRING_SLOTS; i++) {
        len[i] = *slot[i] ? strlen(*slot[i]) + 1 : 0;
        total += len[i];
    }
    batch *b = p->ring[p->filled % RING];
    if (b->n == BATCH_ENTRIES || b->cap - b->used < total) {
        submit(p);
        if (p->stop) return p->stop;
        b = p->ring[p->filled % RING];
    }
    if (b->cap - b->used < total) {
        /* An entry larger than a whole batch: the batch is empty, so no
        ** pointer into its text can move. */
        char *t = realloc(b->text, total);
        if (!t) return p->stop = -1;
        b->text = t;
        b->cap = total;
    }
    for (int i = 0; i < STRING_SLOTS; i++) {
        if (!*slot[i]) continue;
        char *at = b->text + b->used;
        memcpy(at, *slot[i], len[i]);
        *slot[i] = at;
        b->used += len[i];
    }
    b->e[b->n++] = copy;
    return 0;
}

int prehash_drain(prehash *p)
{
    if (!p->stop) submit(p);
    judge_upto(p, p->filled);
    return p->stop;
}

void prehash_free(prehash *p)
{
    if (!p) return;
    if (p->n_threads) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        p->filled = p->taken; /* drop what no worker has started */
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n_threads; i++) pthread_join(p->th[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    for (int i = 0; i < RING; i++) {
        if (p->ring[i]) free(p->ring[i]->text);
        free(p->ring[i]);
    }
    free(p);
}
