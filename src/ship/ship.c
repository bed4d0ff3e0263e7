/*
** ship.c: the shipper behind `dss-audit-mcp ship` (see ship.h).
**
** Every sink gets a worker with its own read-only connection to the local
** file, its own sink and its own cursor.  A round reads up to one batch of
** entries after the sink's position (one short read statement, so the
** local writer's write-ahead log is never held back for long), hands it to
** the sink, and moves the position to what the receiver acknowledged,
** saving the cursor durably before anything else is sent.  A sink that
** knows what it holds (PostgreSQL) is asked for its position instead, and
** keeps no cursor here.
**
** Failures: a receiver that is down (SINK_EDOWN) is retried, with --follow
** for as long as it takes, with exponential backoff and jitter capped at
** backoff_max_ms, or after the receiver's own Retry-After; the outage is
** told once when it starts and once when it ends, not at every retry.  A
** refused batch (SINK_EREFUSED) ends that sink's worker: sending it again
** would be refused again.  Other sinks carry on either way.
*/
#include "ship.h"
#include "cursor.h"
#include "../util/diag.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHIP_BATCH 1000
#define SHIP_POLL_MS 250
#define SHIP_BACKOFF_FIRST_MS 100
#define SHIP_BACKOFF_MAX_MS 5000
#define SHIP_RETRY_AFTER_MAX_MS 300000 /* a receiver asking for more is capped */
#define SHIP_ONESHOT_RETRIES 5         /* without follow: Retry-After honoured so often */

typedef struct worker {
    struct ship_handle *h;
    const char *url;
    sink *sk;
    cursor *cur;            /* NULL for a sink that keeps its own position */
    char key[65];           /* cursor_key() */
    store *local;
    ship_sink_result *res;
    int64_t pos;            /* acknowledged up to */
    int fresh;              /* pos was set at the oldest entry, not by a cursor */
    /* The batch being sent: raw rows (SINK_RAW), or each entry encoded by
    ** the sink as it was read (data, entry i at off[i]..off[i+1]) with its
    ** id and hash for the cursor. */
    size_t n, cap, want;
    int64_t *seq;
    store_raw_entry *raw;
    jbuf data;
    size_t *off;
    char (*ids)[37];
    char (*hashes)[CHAIN_HEX_LEN];
    int broken;             /* a raw entry without both hashes */
    int failed;             /* copying an entry ran out of memory */
    int enc_rc;             /* the sink could not encode an entry */
    char enc_err[400];
    /* Outages. */
    int outage;
    int64_t outage_ms;      /* when it began (monotonic) */
    int backoff_ms;
    char note[256];         /* the last partial-success note told */
    pthread_t thread;
    int threaded;
    int rc;                 /* SHIP_OK or SHIP_EFAIL at the end */
} worker;

struct ship_handle {
    ship_options opt;
    store_log log;          /* the local log (its name as --log says) */
    char hostname[256];
    volatile sig_atomic_t own_stop;
    volatile sig_atomic_t *stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint64_t wakes;
    int nworkers;
    worker w[SHIP_MAX_SINKS];
    ship_result res;
};

/* ---- time and waiting ---------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopped(const struct ship_handle *h)
{
    return *h->stop != 0;
}

/* Wait up to ms, in short slices so that a stop is seen at once; with
** wakeable, also return at a ship_wake(). */
static void wait_ms(struct ship_handle *h, int ms, int wakeable)
{
    int64_t end = now_ms() + ms;
    pthread_mutex_lock(&h->mu);
    uint64_t seen = h->wakes;
    while (!stopped(h) && !(wakeable && h->wakes != seen)) {
        int64_t left = end - now_ms();
        if (left <= 0) break;
        struct timespec at;
        clock_gettime(CLOCK_MONOTONIC, &at);
        int64_t slice = left < 50 ? left : 50;
        at.tv_nsec += (long)(slice * 1000000);
        at.tv_sec += at.tv_nsec / 1000000000L;
        at.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&h->cond, &h->mu, &at);
    }
    pthread_mutex_unlock(&h->mu);
}

void ship_wake(ship_handle *h)
{
    pthread_mutex_lock(&h->mu);
    h->wakes++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

/* ---- the batch ----------------------------------------------------------- */

static void free_fields(chain_fields *f)
{
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++) free((char *)*slot[i]);
}

static void batch_clear(worker *w)
{
    for (size_t i = 0; i < w->n && w->raw; i++) free_fields(&w->raw[i].f);
    w->n = 0;
    w->data.len = 0;
    if (w->off) w->off[0] = 0;
    w->broken = w->failed = w->enc_rc = 0;
}

static void batch_free(worker *w)
{
    batch_clear(w);
    free(w->seq);
    free(w->raw);
    free(w->off);
    free(w->ids);
    free(w->hashes);
    jbuf_free(&w->data);
    w->seq = NULL;
    w->raw = NULL;
    w->off = NULL;
    w->ids = NULL;
    w->hashes = NULL;
    w->cap = 0;
}

/* Room for one more entry; 0, or -1 when memory runs out (what was
** grown stays, and is freed with the rest). */
static int batch_grow(worker *w, int raw)
{
    if (w->n < w->cap) return 0;
    size_t cap = w->cap ? w->cap * 2 : 64;
    int64_t *seq = realloc(w->seq, cap * sizeof *seq);
    if (!seq) return -1;
    w->seq = seq;
    if (raw) {
        store_raw_entry *r = realloc(w->raw, cap * sizeof *r);
        if (!r) return -1;
        w->raw = r;
    } else {
        size_t *off = realloc(w->off, (cap + 1) * sizeof *off);
        if (off) w->off = off;
        char(*ids)[37] = off ? realloc(w->ids, cap * sizeof *ids) : NULL;
        if (ids) w->ids = ids;
        char(*hashes)[CHAIN_HEX_LEN] = ids ? realloc(w->hashes, cap * sizeof *hashes) : NULL;
        if (!hashes) return -1;
        w->hashes = hashes;
        if (w->n == 0) w->off[0] = 0;
    }
    w->cap = cap;
    return 0;
}

/* store_each_entry()'s callback: copy the borrowed raw entry; 1 stops the
** walk once the batch is full (or on a damaged entry or no memory). */
static int collect_raw(void *ctx, const store_raw_entry *src)
{
    worker *w = ctx;
    if (!src->hashes_ok) {
        w->broken = 1;
        return 1;
    }
    if (batch_grow(w, 1) != 0) {
        w->failed = 1;
        return 1;
    }
    store_raw_entry *d = &w->raw[w->n];
    *d = *src;
    /* Each string is copied in place of the borrowed pointer; a failed
    ** copy leaves NULL, which free_fields() skips. */
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(&d->f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++)
        if (*slot[i] && !(*slot[i] = strdup(*slot[i]))) w->failed = 1;
    w->seq[w->n++] = src->f.seq; /* counted even when a copy failed, so it is freed */
    return w->failed || w->n >= w->want;
}

/* store_each_match()'s callback: the entry encoded by the sink, at once,
** so that no tree outlives the call. */
static int collect_entry(void *ctx, const cJSON *e)
{
    worker *w = ctx;
    if (batch_grow(w, 0) != 0) {
        w->failed = 1;
        return 1;
    }
    int rc = sink_encode(w->sk, e, &w->data, w->enc_err, sizeof w->enc_err);
    if (rc != SINK_OK) {
        w->enc_rc = rc;
        return 1;
    }
    const char *id = sink_entry_str(e, "id"), *hash = sink_entry_str(e, "hash");
    snprintf(w->ids[w->n], sizeof w->ids[w->n], "%s", id ? id : "");
    snprintf(w->hashes[w->n], sizeof w->hashes[w->n], "%s", hash ? hash : "");
    w->seq[w->n++] = sink_entry_int(e, "seq");
    w->off[w->n] = w->data.len;
    return w->n >= w->want;
}

/* Read up to one batch after w->pos.  SHIP_OK, or SHIP_EFAIL with the
** reason in w->res->error. */
static int read_batch(worker *w)
{
    char serr[STORE_ERRLEN];
    int rc;
    batch_clear(w);
    w->want = w->h->opt.batch > 0 ? (size_t)w->h->opt.batch
              : w->sk->type->batch  ? w->sk->type->batch
                                    : SHIP_BATCH;
    if (w->sk->type->flags & SINK_RAW) {
        rc = store_each_entry(w->local, w->pos + 1, collect_raw, w, serr);
    } else {
        store_scan scan = {.after_seq = w->pos, .limit = (int64_t)w->want};
        rc = store_each_match(w->local, &scan, collect_entry, w, serr);
    }
    if (rc != STORE_OK) {
        snprintf(w->res->error, sizeof w->res->error, "%s", serr);
        return SHIP_EFAIL;
    }
    if (w->failed) {
        snprintf(w->res->error, sizeof w->res->error, "out of memory");
        return SHIP_EFAIL;
    }
    if (w->enc_rc) {
        snprintf(w->res->error, sizeof w->res->error, "the entry after seq %lld cannot be sent: %s",
                 (long long)(w->n ? w->seq[w->n - 1] : w->pos), w->enc_err);
        return SHIP_EFAIL;
    }
    if (w->broken) {
        snprintf(w->res->error, sizeof w->res->error,
                 "the local entry after seq %lld has no valid hash: run verify on the local file",
                 (long long)(w->pos + (int64_t)w->n));
        return SHIP_EFAIL;
    }
    /* Retention may have removed entries before they reached the sink:
    ** say so once, since the receiver will never get them. */
    if (w->n && w->seq[0] > w->pos + 1 && !w->fresh && !(w->sk->type->flags & SINK_RAW))
        diag("ship to %s: entries %lld to %lld were removed from the local log (retention) "
             "before they were delivered",
             w->sk->desc, (long long)(w->pos + 1), (long long)(w->seq[0] - 1));
    w->fresh = 0;
    return SHIP_OK;
}

/* ---- cursors ------------------------------------------------------------- */

/* The id and hash of the local entry at seq into m (seq kept; "" when
** there is none). */
typedef struct mark_ctx {
    ship_mark *m;
} mark_ctx;

static int mark_one(void *ctx, const store_raw_entry *e)
{
    ship_mark *m = ((mark_ctx *)ctx)->m;
    if (e->f.seq == m->seq && e->f.id) {
        snprintf(m->id, sizeof m->id, "%s", e->f.id);
        chain_hex(e->hash, m->hash);
    }
    return 1;
}

static int save_cursor(worker *w, const ship_mark *m)
{
    char cerr[512];
    if (cursor_save(w->cur, w->key, w->sk->desc, w->h->log.log_id, m, cerr, sizeof cerr) !=
        CURSOR_OK) {
        snprintf(w->res->error, sizeof w->res->error, "%s", cerr);
        return SHIP_EFAIL;
    }
    return SHIP_OK;
}

/* The cursor at the entry of the batch with seq (id and hash from it). */
static int advance(worker *w, int64_t seq)
{
    ship_mark m = {.seq = seq};
    w->pos = seq;
    w->res->cursor = seq;
    if (!w->cur) return SHIP_OK;
    for (size_t i = 0; i < w->n; i++) {
        if (w->seq[i] != seq) continue;
        if (w->raw) {
            snprintf(m.id, sizeof m.id, "%s", w->raw[i].f.id ? w->raw[i].f.id : "");
            chain_hex(w->raw[i].hash, m.hash);
        } else {
            memcpy(m.id, w->ids[i], sizeof m.id);
            memcpy(m.hash, w->hashes[i], sizeof m.hash);
        }
    }
    return save_cursor(w, &m);
}

/* Where the sink starts: its cursor, checked against the local log, or
** the oldest or newest entry.  SHIP_OK or SHIP_EFAIL. */
static int resume(worker *w)
{
    char serr[STORE_ERRLEN], cerr[512];
    int64_t first, last;
    if (w->sk->type->flags & SINK_OWN_POSITION) return SHIP_OK;
    if (store_seq_range(w->local, &first, &last, serr) != STORE_OK) {
        snprintf(w->res->error, sizeof w->res->error, "%s", serr);
        return SHIP_EFAIL;
    }
    int64_t oldest = first > 0 ? first - 1 : 0;
    ship_mark m;
    int found = 0;
    if (cursor_load(w->cur, w->key, &m, &found, cerr, sizeof cerr) != CURSOR_OK) {
        snprintf(w->res->error, sizeof w->res->error, "%s", cerr);
        return SHIP_EFAIL;
    }
    if (w->h->opt.start == SHIP_FROM_NOW || w->h->opt.start == SHIP_FROM_START) {
        memset(&m, 0, sizeof m);
        m.seq = w->h->opt.start == SHIP_FROM_NOW ? last : oldest;
        mark_ctx mc = {&m};
        if (m.seq > 0 && store_each_entry(w->local, m.seq, mark_one, &mc, serr) != STORE_OK) {
            snprintf(w->res->error, sizeof w->res->error, "%s", serr);
            return SHIP_EFAIL;
        }
        w->pos = w->res->cursor = m.seq;
        w->fresh = 1;
        /* Saved at once: a restart without the option continues from
        ** here rather than from the first run's oldest entry. */
        return save_cursor(w, &m);
    }
    if (!found) {
        w->pos = w->res->cursor = oldest;
        w->fresh = 1;
        return SHIP_OK;
    }
    if (m.seq > last) {
        snprintf(w->res->error, sizeof w->res->error,
                 "the local log ends at seq %lld, but %s already acknowledged up to seq %lld: "
                 "was the file restored from an older copy? ship --from-start sends it again",
                 (long long)last, w->sk->desc, (long long)m.seq);
        return SHIP_EFAIL;
    }
    if (m.seq >= first && m.seq > 0 && m.hash[0]) {
        char hash[CHAIN_HEX_LEN];
        if (store_hash_at(w->local, m.seq, hash, serr) != STORE_OK) {
            snprintf(w->res->error, sizeof w->res->error, "%s", serr);
            return SHIP_EFAIL;
        }
        if (strcmp(hash, m.hash) != 0) {
            snprintf(w->res->error, sizeof w->res->error,
                     "the local entry at seq %lld is not the one %s acknowledged (hash %.16s..., "
                     "now %.16s...): was the file replaced? ship --from-start sends it again",
                     (long long)m.seq, w->sk->desc, m.hash, hash);
            return SHIP_EFAIL;
        }
    }
    w->pos = w->res->cursor = m.seq;
    return SHIP_OK;
}

/* ---- the worker ---------------------------------------------------------- */

static void outage_over(worker *w)
{
    if (w->outage)
        diag("ship to %s: delivering again after %.1f s", w->sk->desc,
             (double)(now_ms() - w->outage_ms) / 1000.0);
    w->outage = 0;
    w->backoff_ms = SHIP_BACKOFF_FIRST_MS;
}

/* How long to wait before the next try: the receiver's Retry-After, or
** the backoff with jitter (half of it fixed, half random), which then
** doubles up to the cap. */
static int next_delay(worker *w, int retry_after_ms)
{
    int cap = w->h->opt.backoff_max_ms > 0 ? w->h->opt.backoff_max_ms : SHIP_BACKOFF_MAX_MS;
    if (retry_after_ms > 0)
        return retry_after_ms < SHIP_RETRY_AFTER_MAX_MS ? retry_after_ms : SHIP_RETRY_AFTER_MAX_MS;
    int d = w->backoff_ms < cap ? w->backoff_ms : cap;
    w->backoff_ms = d * 2 < cap ? d * 2 : cap;
    return d / 2 + (int)randombytes_uniform((uint32_t)(d / 2 + 1));
}

static int run_worker(worker *w)
{
    ship_handle *h = w->h;
    const sink_type *t = w->sk->type;
    int oneshot_retries = 0;
    w->backoff_ms = SHIP_BACKOFF_FIRST_MS;
    if (resume(w) != SHIP_OK) return SHIP_EFAIL;
    while (!stopped(h)) {
        char err[512] = "";
        sink_ack ack;
        memset(&ack, 0, sizeof ack);
        int rc = SINK_OK;
        if (t->flags & SINK_OWN_POSITION) {
            int64_t pos;
            rc = t->position(w->sk, &pos, err, sizeof err);
            if (rc == SINK_OK) w->pos = w->res->cursor = pos;
        }
        if (rc == SINK_OK) {
            if (read_batch(w) != SHIP_OK) return SHIP_EFAIL;
            if (w->n == 0 && !(t->flags & SINK_CHECKPOINTS)) {
                outage_over(w);
                if (!h->opt.follow) break;
                wait_ms(h, h->opt.poll_ms > 0 ? h->opt.poll_ms : SHIP_POLL_MS, 1);
                continue;
            }
            sink_batch b = {.n = w->n, .seq = w->seq, .local = w->local, .data = w->data.p,
                            .off = w->off, .raw = w->raw};
            ack.seq = w->pos;
            rc = sink_send(w->sk, &b, &ack, err, sizeof err);
            w->res->shipped += ack.stored;
            w->res->skipped += ack.skipped;
            w->res->checkpoints += ack.extra;
            w->res->rejected += ack.rejected;
            if (ack.seq > w->pos && advance(w, ack.seq) != SHIP_OK) return SHIP_EFAIL;
            if (ack.note[0] && strcmp(ack.note, w->note) != 0) {
                diag("ship to %s: %s", w->sk->desc, ack.note);
                snprintf(w->note, sizeof w->note, "%s", ack.note);
            }
        }
        if (rc == SINK_OK) {
            outage_over(w);
            oneshot_retries = 0;
            if (w->n > 0 || ack.extra > 0) continue;
            if (!h->opt.follow) break;
            wait_ms(h, h->opt.poll_ms > 0 ? h->opt.poll_ms : SHIP_POLL_MS, 1);
            continue;
        }
        if (rc == SINK_ESTOPPED) break;
        if (rc != SINK_EDOWN ||
            (!h->opt.follow && (ack.retry_after_ms <= 0 || ++oneshot_retries > SHIP_ONESHOT_RETRIES))) {
            snprintf(w->res->error, sizeof w->res->error, "%s", err);
            return SHIP_EFAIL;
        }
        if (!w->outage && h->opt.follow) {
            w->outage = 1;
            w->outage_ms = now_ms();
            diag("ship to %s: %s; retrying with backoff until it answers", w->sk->desc, err);
        }
        wait_ms(h, next_delay(w, ack.retry_after_ms), 0);
    }
    return SHIP_OK;
}

/* A sink's error with the sink named once: the sinks' own sentences
** begin with it, the shipper's (cursor, local file) do not.  Static
** buffer per thread. */
static const char *sink_error(const ship_sink_result *s)
{
    static _Thread_local char msg[SINK_DESC_LEN + 600];
    size_t n = strlen(s->sink);
    if (strncmp(s->error, s->sink, n) == 0) snprintf(msg, sizeof msg, "ship to %s", s->error);
    else snprintf(msg, sizeof msg, "ship to %s: %s", s->sink, s->error);
    return msg;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    store_options lo = {.path = w->h->opt.from, .readonly = 1};
    char serr[STORE_ERRLEN];
    if (store_open(&lo, &w->local, serr) != STORE_OK) {
        snprintf(w->res->error, sizeof w->res->error, "cannot open %s: %s", w->h->opt.from, serr);
        w->rc = SHIP_EFAIL;
    } else {
        w->rc = run_worker(w);
    }
    if (w->rc != SHIP_OK) {
        w->res->failed = 1;
        /* With several sinks the others carry on: say it now. */
        if (w->h->nworkers > 1) diag("%s", sink_error(w->res));
    }
    batch_free(w);
    store_close(w->local);
    w->local = NULL;
    return NULL;
}

/* ---- setting up ---------------------------------------------------------- */

static int first_log(void *ctx, const store_log *log)
{
    *(store_log *)ctx = *log;
    return 1;
}

static void handle_free(ship_handle *h)
{
    for (int i = 0; i < h->nworkers; i++) {
        sink_close(h->w[i].sk);
        cursor_close(h->w[i].cur);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h);
}

/* Check the options, read the local log's identity and open every sink
** and cursor: a mistake is found before anything is sent.  SHIP_OK with
** *out ready to run, or an error with a sentence in err. */
static int prepare(const ship_options *opt, ship_handle **out, char *err, size_t len)
{
    char serr[STORE_ERRLEN];
    *out = NULL;
    const char *one[1] = {opt->to};
    const char *const *urls = opt->nto > 0 ? opt->to_list : one;
    int n = opt->nto > 0 ? opt->nto : (opt->to ? 1 : 0);
    if (!opt->from || store_is_remote(opt->from)) {
        snprintf(err, len, "ship copies a local SQLite file; --db names a PostgreSQL database");
        return SHIP_EUSAGE;
    }
    if (n == 0 || n > SHIP_MAX_SINKS) {
        snprintf(err, len, n ? "at most %d sinks at once" : "ship needs a sink (--to URL)",
                 SHIP_MAX_SINKS);
        return SHIP_EUSAGE;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(urls[i], urls[j]) == 0) {
                char shown[SINK_DESC_LEN];
                sink_describe(urls[i], shown, sizeof shown);
                snprintf(err, len, "%s is named twice", shown);
                return SHIP_EUSAGE;
            }
    ship_handle *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, len, "out of memory");
        return SHIP_EFAIL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&h->mu, NULL);
    h->opt = *opt;
    h->stop = opt->stop ? opt->stop : &h->own_stop;
    if (opt->hostname) snprintf(h->hostname, sizeof h->hostname, "%s", opt->hostname);
    else if (gethostname(h->hostname, sizeof h->hostname - 1) != 0) h->hostname[0] = '\0';
    if (sodium_init() < 0 || chain_init() != 0) {
        snprintf(err, len, "libsodium cannot start");
        handle_free(h);
        return SHIP_EFAIL;
    }

    store *local = NULL;
    store_options lo = {.path = opt->from, .readonly = 1};
    if (store_open(&lo, &local, serr) != STORE_OK) {
        snprintf(err, len, "cannot open %s: %s", opt->from, serr);
        handle_free(h);
        return SHIP_EFAIL;
    }
    store_each_log(local, first_log, &h->log, serr);
    store_close(local);
    if (opt->log_name && *opt->log_name)
        snprintf(h->log.name, sizeof h->log.name, "%s", opt->log_name);
    memcpy(h->res.log_id, h->log.log_id, sizeof h->res.log_id);
    snprintf(h->res.log_name, sizeof h->res.log_name, "%s", h->log.name);

    int rc = SHIP_OK;
    for (int i = 0; i < n && rc == SHIP_OK; i++) {
        worker *w = &h->w[i];
        char why[512];
        w->h = h;
        w->url = urls[i];
        w->res = &h->res.sink[i];
        sink_describe(urls[i], w->res->sink, sizeof w->res->sink);
        sink_config cfg = {.url = urls[i], .format = opt->format, .ca_file = opt->ca_file,
                           .cert_file = opt->cert_file, .key_file = opt->key_file,
                           .token = opt->token, .secret = opt->secret,
                           .hostname = h->hostname, .log = &h->log,
                           .timeout_ms = opt->timeout_ms, .stop = h->stop};
        int src = sink_open(&cfg, &w->sk, why, sizeof why);
        if (src != SINK_OK) {
            snprintf(err, len, "%s", why);
            rc = src == SINK_EUSAGE ? SHIP_EUSAGE : SHIP_EFAIL;
            break;
        }
        h->nworkers = i + 1;
        if (w->sk->type->flags & SINK_OWN_POSITION) continue;
        cursor_key(urls[i], h->log.log_id, w->key);
        if (cursor_open_local(opt->from, opt->cursor_dir, 1, &w->cur, why, sizeof why) !=
                CURSOR_OK ||
            cursor_lock(w->cur, w->key, why, sizeof why) != CURSOR_OK) {
            snprintf(err, len, "%s: %s", w->sk->desc, why);
            rc = SHIP_EFAIL;
        }
    }
    h->res.nsinks = n;
    if (rc != SHIP_OK) {
        handle_free(h);
        return rc;
    }
    *out = h;
    return SHIP_OK;
}

/* Totals, and the first failure as the error. */
static int finish(ship_handle *h, ship_result *out, char *err, size_t len)
{
    int rc = SHIP_OK;
    ship_result *r = &h->res;
    r->head_seq = -1;
    for (int i = 0; i < h->nworkers; i++) {
        ship_sink_result *s = &r->sink[i];
        r->shipped += s->shipped;
        r->skipped += s->skipped;
        r->checkpoints += s->checkpoints;
        if (r->head_seq < 0 || s->cursor < r->head_seq) r->head_seq = s->cursor;
        if (s->failed && rc == SHIP_OK) {
            rc = SHIP_EFAIL;
            snprintf(err, len, "%s", h->nworkers == 1 ? s->error : sink_error(s));
        }
    }
    if (r->head_seq < 0) r->head_seq = 0;
    if (out) *out = *r;
    return rc;
}

static int start_threads(ship_handle *h, char *err, size_t len)
{
    for (int i = 0; i < h->nworkers; i++) {
        if (pthread_create(&h->w[i].thread, NULL, worker_main, &h->w[i]) != 0) {
            snprintf(err, len, "cannot start a thread for %s", h->w[i].sk->desc);
            *h->stop = 1;
            return SHIP_EFAIL;
        }
        h->w[i].threaded = 1;
    }
    return SHIP_OK;
}

static void join_threads(ship_handle *h)
{
    for (int i = 0; i < h->nworkers; i++)
        if (h->w[i].threaded) pthread_join(h->w[i].thread, NULL);
}

int ship_run(const ship_options *opt, ship_result *out, char *err, size_t len)
{
    ship_handle *h;
    memset(out, 0, sizeof *out);
    int rc = prepare(opt, &h, err, len);
    if (rc != SHIP_OK) return rc;
    if (h->nworkers == 1) {
        worker_main(&h->w[0]);
    } else {
        rc = start_threads(h, err, len);
        join_threads(h);
    }
    int frc = finish(h, out, err, len);
    handle_free(h);
    return rc != SHIP_OK ? rc : frc;
}

int ship_start(const ship_options *opt, ship_handle **out, char *err, size_t len)
{
    ship_options bg = *opt;
    bg.follow = 1;
    bg.stop = NULL;
    int rc = prepare(&bg, out, err, len);
    if (rc != SHIP_OK) return rc;
    if ((rc = start_threads(*out, err, len)) != SHIP_OK) {
        join_threads(*out);
        handle_free(*out);
        *out = NULL;
    }
    return rc;
}

int ship_finish(ship_handle *h, ship_result *out, char *err, size_t len)
{
    if (!h) return SHIP_OK;
    *h->stop = 1;
    ship_wake(h);
    join_threads(h);
    int rc = finish(h, out, err, len);
    handle_free(h);
    return rc;
}

/* ---- cursors for stats ----------------------------------------------------- */

typedef struct lag_ctx {
    const char *log_id;
    int64_t last;
    int (*fn)(void *ctx, const ship_cursor_info *c);
    void *ctx;
} lag_ctx;

static int report_cursor(void *ctx, const ship_cursor_row *r)
{
    lag_ctx *l = ctx;
    if (strcmp(r->log_id, l->log_id) != 0) return 0; /* another file's cursor */
    ship_cursor_info c;
    memset(&c, 0, sizeof c);
    snprintf(c.sink, sizeof c.sink, "%s", r->sink);
    memcpy(c.log_id, r->log_id, sizeof c.log_id);
    c.seq = r->mark.seq;
    c.lag = l->last > c.seq ? l->last - c.seq : 0;
    memcpy(c.saved_at, r->mark.saved_at, sizeof c.saved_at);
    return l->fn(l->ctx, &c);
}

int ship_cursors(const char *db, const char *cursor_dir,
                 int (*fn)(void *ctx, const ship_cursor_info *c), void *ctx, char *err, size_t len)
{
    char serr[STORE_ERRLEN];
    cursor *cur = NULL;
    store *local = NULL;
    store_log log;
    int64_t first, last;
    int rc = SHIP_EFAIL;
    memset(&log, 0, sizeof log);
    if (cursor_open_local(db, cursor_dir, 0, &cur, err, len) != CURSOR_OK) return SHIP_EFAIL;
    if (!cur) return SHIP_OK;
    store_options lo = {.path = db, .readonly = 1};
    if (store_open(&lo, &local, serr) != STORE_OK ||
        store_each_log(local, first_log, &log, serr) != STORE_OK ||
        store_seq_range(local, &first, &last, serr) != STORE_OK) {
        snprintf(err, len, "%s", serr);
        goto done;
    }
    lag_ctx l = {.log_id = log.log_id, .last = last, .fn = fn, .ctx = ctx};
    if (cursor_each(cur, report_cursor, &l, err, len) == CURSOR_OK) rc = SHIP_OK;
done:
    store_close(local);
    cursor_close(cur);
    return rc;
}
