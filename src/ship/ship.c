/*
** ship.c: the shipper behind `dss-audit-mcp ship` and serve's and wrap's
** --ship-to (see ship.h).
**
** Every sink gets a worker with its own connection to the trail, its own
** sink and its own cursors.  The worker's lanes are the logs it ships: the
** one log of a local file, or a shared trail's logs (one named, or every
** log, new ones found as they appear), each with its own position, lock
** and cursor.  A round reads up to one batch of a lane's entries after its
** position (one short read statement, so the local writer's write-ahead
** log is never held back for long), each row encoded by the sink as it is
** read (no tree is built), hands the batch to the sink, and moves the
** position to what the receiver acknowledged, saving the cursor durably
** before anything else is sent.  For a sink whose encoding may run beside
** its sending (SINK_PIPELINE: the HTTP sinks), the batch after a full one is read in
** a thread of its own while that one is sent, and used only if it begins
** where the receiver acknowledged (next_batch()).  Lanes take turns, a batch each.  A sink
** that knows what it holds (PostgreSQL) is asked for its position instead,
** and keeps no cursor here.
**
** Locks: one shipper per sink and log.  `ship` is refused a lane whose
** lock another process holds (a second `ship` to the same sink is a
** mistake worth saying); in the background of a server (several servers
** may share one file) the lane stands by, asks again now and then, and
** takes over when the other lets go (kill -9 included: the kernel, or
** PostgreSQL, releases the lock with its holder).
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
#include "../util/utf8.h"

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
/* Following, what comes within this long of the last delivery waits for
** it and goes in one batch: a server commits once per call, and a batch
** of its own per call would cost a receiver's session each (RELP: a
** connection and two handshakes) for an entry or two. */
#define SHIP_GATHER_MS 100
/* ship_options.map_file: map as much of the file as SQLite allows (it caps
** the size at its build's maximum). */
#define SHIP_MAP_BYTES ((int64_t)1 << 40)
#define SHIP_STANDBY_MS 1000           /* a lane standing by asks for its lock this often */
#define SHIP_LOGS_EVERY_MS 5000        /* a shared trail is checked for new logs this often */

/* One log as one worker ships it. */
typedef struct lane {
    store_log log;
    char key[65];           /* cursor_key() of the sink and this log */
    int64_t pos;            /* acknowledged up to */
    int fresh;              /* pos was set at the oldest entry, not by a cursor */
    int resumed;            /* pos is known */
    int locked;             /* this worker holds the lane's lock */
    int standing_by;        /* another process holds it (told once) */
    int64_t lock_at_ms;     /* when to ask for the lock again */
    int first_run;          /* listed at the start: --from-start and --from-now apply */
    int failed;             /* stopped on an error of its own (told) */
} lane;

/* A batch of one lane: raw rows (SINK_RAW), or each entry encoded by the
** sink as it was read (data, entry i at off[i]..off[i+1]) with its id and
** hash for the cursor. */
typedef struct batch {
    sink *sk;               /* the sink that encodes */
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
} batch;

typedef struct worker {
    struct ship_handle *h;
    const char *url;
    sink *sk;
    store *src;             /* its own connection to the trail */
    cursor *cur;            /* NULL for a sink that keeps its own position */
    ship_sink_result *res;
    lane *lanes;
    size_t nlanes, lanes_cap;
    size_t next;            /* the lane whose turn it is */
    int64_t logs_at_ms;     /* when the shared trail's logs were last listed */
    batch bt;               /* the batch being sent */
    /* Read-ahead (SINK_PIPELINE sinks): the batch after bt, read and
    ** encoded by a thread of its own while bt is sent (see lane_turn). */
    batch ahead;
    int64_t ahead_from;     /* ahead is what follows this seq, */
    int ahead_ok;           /* ... and holds a read (ahead_rc, ahead_why) */
    int ahead_rc;
    char ahead_why[512];
    lane *ahead_lane;       /* the lane read (valid while the reader runs) */
    size_t ahead_index;     /* ... and its index, to match it later */
    /* The reader: one thread for the worker's life, started at its first
    ** read-ahead (a thread per batch would hand its memory back to the
    ** system at each exit, and fault it in again at the next). */
    pthread_t reader;
    int reader_up;          /* started (rmu and rcond initialized) */
    pthread_mutex_t rmu;
    pthread_cond_t rcond;
    int rwant, rdone, rquit;
    /* Outages. */
    int outage;
    int64_t outage_ms;      /* when it began (monotonic) */
    int backoff_ms;
    int64_t sent_at_ms;     /* when a round last delivered something */
    char note[256];         /* the last partial-success note told */
    pthread_t thread;
    int threaded;
    int done;               /* its loop has ended (under h->mu) */
    int rc;                 /* SHIP_OK or SHIP_EFAIL at the end */
} worker;

struct ship_handle {
    ship_options opt;
    int remote;             /* the trail is a shared PostgreSQL one */
    int all_logs;           /* ... and every log of it is shipped */
    int standby;            /* a lock held elsewhere is waited for, not a failure */
    store_log log;          /* the one log (a local file's, or the one named) */
    char hostname[256];
    volatile sig_atomic_t own_stop;
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t draining; /* ship_finish(): leave once caught up */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint64_t wakes;
    int ndone;              /* workers whose loop has ended */
    pthread_t launcher;     /* ship_start()'s: opens, then starts the workers */
    int launched;           /* ... and has done so (or failed) */
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

/* Wait on h->cond (h->mu held) for at most ms, a short slice. */
static void cond_wait_ms(struct ship_handle *h, int64_t ms)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_nsec += (long)(ms * 1000000);
    at.tv_sec += at.tv_nsec / 1000000000L;
    at.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&h->cond, &h->mu, &at);
}

/* Wait up to ms, in short slices so that a stop is seen at once; with
** wakeable, also return at a ship_wake() (and when draining begins). */
static void wait_ms(struct ship_handle *h, int ms, int wakeable)
{
    int64_t end = now_ms() + ms;
    pthread_mutex_lock(&h->mu);
    uint64_t seen = h->wakes;
    while (!stopped(h) && !(wakeable && h->wakes != seen) && !(!wakeable && h->draining)) {
        int64_t left = end - now_ms();
        if (left <= 0) break;
        cond_wait_ms(h, left < 50 ? left : 50);
    }
    pthread_mutex_unlock(&h->mu);
}

void ship_wake(ship_handle *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->wakes++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

/* ---- messages ------------------------------------------------------------ */

/* The log as a message names it: "the local log" for a file's only log,
** the log's name in a shared trail.  Static buffer per thread. */
static const char *log_named(const worker *w, const lane *l)
{
    static _Thread_local char out[STORE_LOG_NAME_MAX + 16];
    if (!w->h->remote) return "the local log";
    snprintf(out, sizeof out, "the log \"%s\"", l->log.name);
    return out;
}

/* A lane's own failure: the sink's other lanes go on (a shared trail's
** logs), or the worker stops (a single log).  Returns SHIP_OK to go on. */
static int lane_failed(worker *w, lane *l, const char *why)
{
    l->failed = 1;
    if (!w->res->error[0]) snprintf(w->res->error, sizeof w->res->error, "%s", why);
    if (!w->h->all_logs) return SHIP_EFAIL;
    w->res->failed = 1;
    diag("ship %s to %s: %s; its other logs go on", l->log.name, w->sk->desc, why);
    return SHIP_OK;
}

/* ---- the batch ----------------------------------------------------------- */

static void free_fields(chain_fields *f)
{
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++) free((char *)*slot[i]);
}

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n && b->raw; i++) free_fields(&b->raw[i].f);
    b->n = 0;
    b->data.len = 0;
    if (b->off) b->off[0] = 0;
    b->broken = b->failed = b->enc_rc = 0;
}

static void batch_free(batch *b)
{
    batch_clear(b);
    free(b->seq);
    free(b->raw);
    free(b->off);
    free(b->ids);
    free(b->hashes);
    jbuf_free(&b->data);
    b->seq = NULL;
    b->raw = NULL;
    b->off = NULL;
    b->ids = NULL;
    b->hashes = NULL;
    b->cap = 0;
}

/* Room for one more entry; 0, or -1 when memory runs out (what was
** grown stays, and is freed with the rest). */
static int batch_grow(batch *b, int raw)
{
    if (b->n < b->cap) return 0;
    size_t cap = b->cap ? b->cap * 2 : 64;
    int64_t *seq = realloc(b->seq, cap * sizeof *seq);
    if (!seq) return -1;
    b->seq = seq;
    if (raw) {
        store_raw_entry *r = realloc(b->raw, cap * sizeof *r);
        if (!r) return -1;
        b->raw = r;
    } else {
        size_t *off = realloc(b->off, (cap + 1) * sizeof *off);
        if (off) b->off = off;
        char(*ids)[37] = off ? realloc(b->ids, cap * sizeof *ids) : NULL;
        if (ids) b->ids = ids;
        char(*hashes)[CHAIN_HEX_LEN] = ids ? realloc(b->hashes, cap * sizeof *hashes) : NULL;
        if (!hashes) return -1;
        b->hashes = hashes;
        if (b->n == 0) b->off[0] = 0;
    }
    b->cap = cap;
    return 0;
}

/* store_each_entry()'s callback: copy the borrowed raw entry; 1 stops the
** walk once the batch is full (or on a damaged entry or no memory). */
static int collect_raw(void *ctx, const store_raw_entry *src)
{
    batch *b = ctx;
    if (!src->hashes_ok) {
        b->broken = 1;
        return 1;
    }
    if (batch_grow(b, 1) != 0) {
        b->failed = 1;
        return 1;
    }
    store_raw_entry *d = &b->raw[b->n];
    *d = *src;
    /* Each string is copied in place of the borrowed pointer; a failed
    ** copy leaves NULL, which free_fields() skips. */
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(&d->f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++)
        if (*slot[i] && !(*slot[i] = strdup(*slot[i]))) b->failed = 1;
    b->seq[b->n++] = src->f.seq; /* counted even when a copy failed, so it is freed */
    return b->failed || b->n >= b->want;
}

/* store_each_row()'s callback: the row encoded by the sink at once, with
** the id and hash its cursor will need.
**
** An entry's two hashes are printed in hex up to five times (the cursor's
** copy, the body, and a sink's attributes or structured data): they are
** hexed once here and the sink gets the row with its hashes as hex, which
** entry.h allows and every printer copies as it is (a damaged hash stays
** "", with length 0). */
static int collect_row(void *ctx, const entry_row *stored)
{
    batch *b = ctx;
    if (batch_grow(b, 0) != 0) {
        b->failed = 1;
        return 1;
    }
    entry_row row = *stored;
    char prev[CHAIN_HEX_LEN];
    char *hash = b->hashes[b->n];
    entry_hash_hex(&stored->v[ENTRY_F_hash], hash);
    entry_hash_hex(&stored->v[ENTRY_F_prev_hash], prev);
    row.v[ENTRY_F_hash] = (entry_value){hash, strlen(hash)};
    row.v[ENTRY_F_prev_hash] = (entry_value){prev, strlen(prev)};
    int rc = sink_encode(b->sk, &row, &b->data, b->enc_err, sizeof b->enc_err);
    if (rc != SINK_OK) {
        b->enc_rc = rc;
        return 1;
    }
    const entry_value *id = &row.v[ENTRY_F_id];
    size_t n = id->p && id->len < sizeof b->ids[0] ? id->len : 0;
    memcpy(b->ids[b->n], id->p ? id->p : "", n);
    b->ids[b->n][n] = '\0';
    b->seq[b->n++] = row.seq;
    b->off[b->n] = b->data.len;
    return b->n >= b->want;
}

/* Select the lane's log on the worker's connection (a shared trail). */
static int select_log(worker *w, lane *l, char serr[STORE_ERRLEN])
{
    return w->h->remote ? store_use_log(w->src, l->log.log_id, serr) : STORE_OK;
}

/* Read up to one batch of l's entries after seq from into bt.  SHIP_OK,
** or SHIP_EFAIL with the reason in why (len bytes).  Touches nothing but
** bt and the worker's connection: the read-ahead runs it in a thread of
** its own while the worker sends. */
static int read_batch(worker *w, lane *l, int64_t from, batch *bt, char *why, size_t len)
{
    char serr[STORE_ERRLEN];
    int rc;
    batch_clear(bt);
    bt->sk = w->sk;
    bt->want = w->h->opt.batch > 0 ? (size_t)w->h->opt.batch
               : w->sk->type->batch  ? w->sk->type->batch
                                     : SHIP_BATCH;
    if ((rc = select_log(w, l, serr)) == STORE_OK) {
        if (w->sk->type->flags & SINK_RAW)
            rc = store_each_entry(w->src, from + 1, collect_raw, bt, serr);
        else
            rc = store_each_row(w->src, from + 1, collect_row, bt, serr);
    }
    if (rc != STORE_OK) {
        snprintf(why, len, "%s", serr);
        return SHIP_EFAIL;
    }
    if (bt->failed) {
        snprintf(why, len, "out of memory");
        return SHIP_EFAIL;
    }
    if (bt->enc_rc) {
        snprintf(why, len, "the entry after seq %lld cannot be sent: %s",
                 (long long)(bt->n ? bt->seq[bt->n - 1] : from), bt->enc_err);
        return SHIP_EFAIL;
    }
    if (bt->broken) {
        snprintf(why, len, "the entry of %s after seq %lld has no valid hash: run verify on it",
                 log_named(w, l), (long long)(from + (int64_t)bt->n));
        return SHIP_EFAIL;
    }
    return SHIP_OK;
}

/* The reader's thread: on each request, the batch after w->ahead_from. */
static void *read_ahead(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->rmu);
    for (;;) {
        while (!w->rwant && !w->rquit) pthread_cond_wait(&w->rcond, &w->rmu);
        if (w->rquit) break;
        pthread_mutex_unlock(&w->rmu);
        int rc = read_batch(w, w->ahead_lane, w->ahead_from, &w->ahead, w->ahead_why,
                            sizeof w->ahead_why);
        pthread_mutex_lock(&w->rmu);
        w->ahead_rc = rc;
        w->rwant = 0;
        w->rdone = 1;
        pthread_cond_broadcast(&w->rcond);
    }
    pthread_mutex_unlock(&w->rmu);
    return NULL;
}

/* Ask the reader for the batch after from in l: 1, or 0 when there is no
** reader (it could not be started). */
static int reader_ask(worker *w, lane *l, int64_t from)
{
    if (!w->reader_up) {
        pthread_mutex_init(&w->rmu, NULL);
        pthread_cond_init(&w->rcond, NULL);
        w->rwant = w->rdone = w->rquit = 0;
        if (pthread_create(&w->reader, NULL, read_ahead, w) != 0) {
            pthread_mutex_destroy(&w->rmu);
            pthread_cond_destroy(&w->rcond);
            return 0;
        }
        w->reader_up = 1;
    }
    pthread_mutex_lock(&w->rmu);
    w->ahead_lane = l;
    w->ahead_index = (size_t)(l - w->lanes);
    w->ahead_from = from;
    w->rdone = 0;
    w->rwant = 1;
    pthread_cond_broadcast(&w->rcond);
    pthread_mutex_unlock(&w->rmu);
    return 1;
}

/* Wait for the batch asked for. */
static void reader_wait(worker *w)
{
    pthread_mutex_lock(&w->rmu);
    while (!w->rdone) pthread_cond_wait(&w->rcond, &w->rmu);
    pthread_mutex_unlock(&w->rmu);
}

static void reader_stop(worker *w)
{
    if (!w->reader_up) return;
    pthread_mutex_lock(&w->rmu);
    w->rquit = 1;
    pthread_cond_broadcast(&w->rcond);
    pthread_mutex_unlock(&w->rmu);
    pthread_join(w->reader, NULL);
    pthread_mutex_destroy(&w->rmu);
    pthread_cond_destroy(&w->rcond);
    w->reader_up = 0;
}

/* l's next batch into w->bt: the one read ahead when it begins where l
** stands (what was acknowledged), else read now.  SHIP_OK or SHIP_EFAIL
** with why. */
static int next_batch(worker *w, lane *l, char *why, size_t len)
{
    int rc;
    if (w->ahead_ok && w->ahead_index == (size_t)(l - w->lanes) && w->ahead_from == l->pos) {
        batch t = w->bt;
        w->bt = w->ahead;
        w->ahead = t;
        rc = w->ahead_rc;
        if (rc != SHIP_OK) snprintf(why, len, "%s", w->ahead_why);
    } else {
        rc = read_batch(w, l, l->pos, &w->bt, why, len);
    }
    w->ahead_ok = 0;
    if (rc != SHIP_OK) return rc;
    /* Retention may have removed entries before they reached the sink:
    ** say so once, since the receiver will never get them. */
    if (w->bt.n && w->bt.seq[0] > l->pos + 1 && !l->fresh && !(w->sk->type->flags & SINK_RAW))
        diag("ship to %s: entries %lld to %lld of %s were removed (retention) before they "
             "were delivered",
             w->sk->desc, (long long)(l->pos + 1), (long long)(w->bt.seq[0] - 1),
             log_named(w, l));
    l->fresh = 0;
    return SHIP_OK;
}

/* ---- cursors ------------------------------------------------------------- */

/* The id and hash of the entry at seq into m (seq kept; "" when there is
** none). */
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

/* Save l's cursor.  SHIP_OK; SHIP_EFAIL with why; or, for a lock this
** worker no longer holds (a shared trail's connection lost and made
** again), the lane stands by again and SHIP_OK. */
static int save_cursor(worker *w, lane *l, const ship_mark *m, char *why, size_t len)
{
    char cerr[512];
    int rc = cursor_save(w->cur, l->key, w->sk->desc, l->log.log_id, m, cerr, sizeof cerr);
    if (rc == CURSOR_EBUSY) {
        diag("ship %s to %s: %s", l->log.name, w->sk->desc, cerr);
        l->locked = l->resumed = 0;
        l->lock_at_ms = now_ms();
        return SHIP_OK;
    }
    if (rc != CURSOR_OK) {
        snprintf(why, len, "%s", cerr);
        return SHIP_EFAIL;
    }
    return SHIP_OK;
}

/* The cursor at the entry of the batch with seq (id and hash from it). */
static int advance(worker *w, lane *l, int64_t seq, char *why, size_t len)
{
    ship_mark m = {.seq = seq};
    l->pos = seq;
    if (w->nlanes == 1) w->res->cursor = seq;
    if (!w->cur) return SHIP_OK;
    const batch *bt = &w->bt;
    for (size_t i = 0; i < bt->n; i++) {
        if (bt->seq[i] != seq) continue;
        if (bt->raw) {
            snprintf(m.id, sizeof m.id, "%s", bt->raw[i].f.id ? bt->raw[i].f.id : "");
            chain_hex(bt->raw[i].hash, m.hash);
        } else {
            memcpy(m.id, bt->ids[i], sizeof m.id);
            memcpy(m.hash, bt->hashes[i], sizeof m.hash);
        }
    }
    return save_cursor(w, l, &m, why, len);
}

/* Where the lane starts: its cursor, checked against the log, or the
** oldest or newest entry.  SHIP_OK, or SHIP_EFAIL with why. */
static int resume(worker *w, lane *l, char *why, size_t len)
{
    char serr[STORE_ERRLEN], cerr[512];
    int64_t first, last;
    ship_start_at start = l->first_run ? w->h->opt.start : SHIP_RESUME;
    if (w->sk->type->flags & SINK_OWN_POSITION) {
        l->resumed = 1;
        return SHIP_OK;
    }
    if (select_log(w, l, serr) != STORE_OK ||
        store_seq_range(w->src, &first, &last, serr) != STORE_OK) {
        snprintf(why, len, "%s", serr);
        return SHIP_EFAIL;
    }
    int64_t oldest = first > 0 ? first - 1 : 0;
    ship_mark m;
    int found = 0;
    if (cursor_load(w->cur, l->log.log_id, l->key, &m, &found, cerr, sizeof cerr) != CURSOR_OK) {
        snprintf(why, len, "%s", cerr);
        return SHIP_EFAIL;
    }
    if (start == SHIP_FROM_NOW || start == SHIP_FROM_START) {
        memset(&m, 0, sizeof m);
        m.seq = start == SHIP_FROM_NOW ? last : oldest;
        mark_ctx mc = {&m};
        if (m.seq > 0 && store_each_entry(w->src, m.seq, mark_one, &mc, serr) != STORE_OK) {
            snprintf(why, len, "%s", serr);
            return SHIP_EFAIL;
        }
        l->pos = m.seq;
        l->fresh = 1;
        l->resumed = 1;
        if (w->nlanes == 1) w->res->cursor = l->pos;
        /* Saved at once: a restart without the option continues from
        ** here rather than from the first run's oldest entry. */
        return save_cursor(w, l, &m, why, len);
    }
    if (!found) {
        l->pos = oldest;
        l->fresh = 1;
    } else if (m.seq > last) {
        snprintf(why, len,
                 "%.*s ends at seq %lld, but %.*s already acknowledged up to seq %lld: "
                 "was it restored from an older copy? ship --from-start sends it again",
                 utf8_cut(log_named(w, l), 150), log_named(w, l), (long long)last,
                 utf8_cut(w->sk->desc, 150), w->sk->desc, (long long)m.seq);
        return SHIP_EFAIL;
    } else {
        if (m.seq >= first && m.seq > 0 && m.hash[0]) {
            char hash[CHAIN_HEX_LEN];
            if (store_hash_at(w->src, m.seq, hash, serr) != STORE_OK) {
                snprintf(why, len, "%s", serr);
                return SHIP_EFAIL;
            }
            if (strcmp(hash, m.hash) != 0) {
                const char *named = w->h->remote ? log_named(w, l) : "";
                snprintf(why, len,
                         "the %sentry%s%.*s at seq %lld is not the one %.*s acknowledged "
                         "(hash %.16s..., now %.16s...): was %s replaced? ship --from-start "
                         "sends it again",
                         w->h->remote ? "" : "local ", w->h->remote ? " of " : "",
                         utf8_cut(named, 150), named, (long long)m.seq, utf8_cut(w->sk->desc, 150),
                         w->sk->desc,
                         m.hash, hash, w->h->remote ? "it" : "the file");
                return SHIP_EFAIL;
            }
        }
        l->pos = m.seq;
    }
    l->resumed = 1;
    if (w->nlanes == 1) w->res->cursor = l->pos;
    return SHIP_OK;
}

/* Take l's lock if it is not held yet.  1: the lane may ship; 0: not now
** (standing by); -1: it failed (why set). */
static int take_lock(worker *w, lane *l, char *why, size_t len)
{
    char cerr[512];
    if (!w->cur || l->locked) return 1;
    if (now_ms() < l->lock_at_ms) return 0;
    int rc = cursor_lock(w->cur, l->key, cerr, sizeof cerr);
    if (rc == CURSOR_OK) {
        if (l->standing_by)
            diag("ship %s to %s: the other shipper let go; taking over", l->log.name,
                 w->sk->desc);
        l->locked = 1;
        l->standing_by = 0;
        return 1;
    }
    if (rc == CURSOR_EBUSY && w->h->standby) {
        if (!l->standing_by)
            diag("ship %s to %s: %s; standing by to take over", l->log.name, w->sk->desc,
                 cerr);
        l->standing_by = 1;
        l->lock_at_ms = now_ms() + SHIP_STANDBY_MS;
        return 0;
    }
    snprintf(why, len, "%s", cerr);
    return -1;
}

/* ---- lanes ---------------------------------------------------------------- */

static lane *add_lane(worker *w, const store_log *log, int first_run)
{
    if (w->nlanes == w->lanes_cap) {
        size_t cap = w->lanes_cap ? w->lanes_cap * 2 : 4;
        lane *l = realloc(w->lanes, cap * sizeof *l);
        if (!l) return NULL;
        w->lanes = l;
        w->lanes_cap = cap;
    }
    lane *l = &w->lanes[w->nlanes++];
    memset(l, 0, sizeof *l);
    l->log = *log;
    l->first_run = first_run;
    cursor_key(w->url, log->log_id, l->key);
    w->res->logs = (int)w->nlanes;
    return l;
}

typedef struct list_ctx {
    worker *w;
    int first_run;
    int failed;
} list_ctx;

static int list_one(void *ctx, const store_log *log)
{
    list_ctx *c = ctx;
    for (size_t i = 0; i < c->w->nlanes; i++)
        if (strcmp(c->w->lanes[i].log.log_id, log->log_id) == 0) return 0;
    if (!add_lane(c->w, log, c->first_run)) return c->failed = 1;
    return 0;
}

/* Every log of a shared trail (those new since the last look become
** lanes), at most every SHIP_LOGS_EVERY_MS.  SHIP_OK or SHIP_EFAIL. */
static int list_logs(worker *w, int first_run, char *why, size_t len)
{
    char serr[STORE_ERRLEN];
    if (!w->h->all_logs || (!first_run && now_ms() - w->logs_at_ms < SHIP_LOGS_EVERY_MS))
        return SHIP_OK;
    w->logs_at_ms = now_ms();
    list_ctx c = {.w = w, .first_run = first_run};
    if (store_each_log(w->src, list_one, &c, serr) != STORE_OK) {
        snprintf(why, len, "%s", serr);
        return SHIP_EFAIL;
    }
    if (c.failed) {
        snprintf(why, len, "out of memory");
        return SHIP_EFAIL;
    }
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

/* What one turn of a lane did. */
enum { TURN_IDLE, TURN_SENT, TURN_WAITING, TURN_DOWN, TURN_FAILED, TURN_STOPPED };

/* One lane's turn: a batch read, sent and acknowledged, or the reason it
** could not be.  TURN_DOWN leaves *ack (its Retry-After) and err set. */
static int lane_turn(worker *w, lane *l, sink_ack *ack, char *err, size_t len)
{
    const sink_type *t = w->sk->type;
    char why[512];
    int got = take_lock(w, l, why, sizeof why);
    if (got < 0) return lane_failed(w, l, why) == SHIP_OK ? TURN_IDLE : TURN_FAILED;
    if (got == 0) return TURN_WAITING;
    if (!l->resumed && resume(w, l, why, sizeof why) != SHIP_OK)
        return lane_failed(w, l, why) == SHIP_OK ? TURN_IDLE : TURN_FAILED;
    if (!l->locked && w->cur) return TURN_WAITING; /* lost the lock at a save */
    int rc = SINK_OK;
    memset(ack, 0, sizeof *ack);
    if (t->flags & SINK_OWN_POSITION) {
        int64_t pos;
        rc = t->position(w->sk, &pos, err, len);
        if (rc == SINK_OK) l->pos = w->res->cursor = pos;
    }
    if (rc == SINK_OK) {
        if (next_batch(w, l, why, sizeof why) != SHIP_OK)
            return lane_failed(w, l, why) == SHIP_OK ? TURN_IDLE : TURN_FAILED;
        batch *bt = &w->bt;
        if (bt->n == 0 && !(t->flags & SINK_CHECKPOINTS)) return TURN_IDLE;
        /* A full batch of a sink that may encode while it sends: the next
        ** one is read in another thread meanwhile, on the guess that this
        ** one will be acknowledged whole (if not, next_batch() drops it).
        ** The cursor still moves here, in order, after each
        ** acknowledgement; and the next send waits for it. */
        int ahead = (t->flags & SINK_PIPELINE) && w->nlanes == 1 && bt->n == bt->want &&
                    !stopped(w->h) && reader_ask(w, l, bt->seq[bt->n - 1]);
        sink_batch b = {.log = &l->log, .n = bt->n, .seq = bt->seq, .local = w->src,
                        .data = bt->data.p, .off = bt->off, .raw = bt->raw};
        ack->seq = l->pos;
        rc = sink_send(w->sk, &b, ack, err, len);
        w->res->shipped += ack->stored;
        w->res->skipped += ack->skipped;
        w->res->checkpoints += ack->extra;
        w->res->rejected += ack->rejected;
        if (rc == SINK_OK && bt->n > 0) w->res->batches++;
        /* A shared trail's cursor is saved on the connection the reader
        ** uses: it waits for the reader.  A file's is a file of its own. */
        if (ahead && w->h->remote) reader_wait(w);
        int arc = ack->seq > l->pos ? advance(w, l, ack->seq, why, sizeof why) : SHIP_OK;
        if (ahead && !w->h->remote) reader_wait(w);
        w->ahead_ok = ahead;
        if (arc != SHIP_OK) {
            snprintf(err, len, "%s", why);
            return TURN_FAILED;
        }
        if (ack->note[0] && strcmp(ack->note, w->note) != 0) {
            diag("ship to %s: %s", w->sk->desc, ack->note);
            snprintf(w->note, sizeof w->note, "%s", ack->note);
        }
    }
    if (rc == SINK_OK) return w->bt.n > 0 || ack->extra > 0 ? TURN_SENT : TURN_IDLE;
    if (rc == SINK_ESTOPPED) return TURN_STOPPED;
    if (rc == SINK_EDOWN) return TURN_DOWN;
    return TURN_FAILED;
}

/* What a round (a turn for each lane until one sends) came to. */
enum { ROUND_SENT, ROUND_IDLE, ROUND_WAITING, ROUND_WAITED, ROUND_DONE, ROUND_FAILED };

static int round_of(worker *w, int *oneshot_retries)
{
    ship_handle *h = w->h;
    char err[512];
    int waiting = 0;
    for (size_t i = 0; i < w->nlanes && !stopped(h); i++) {
        size_t k = (w->next + i) % w->nlanes;
        lane *l = &w->lanes[k];
        if (l->failed) continue;
        sink_ack ack;
        err[0] = '\0';
        switch (lane_turn(w, l, &ack, err, sizeof err)) {
        case TURN_SENT:
            outage_over(w);
            *oneshot_retries = 0;
            w->next = (k + 1) % w->nlanes; /* lanes take turns, a batch each */
            return ROUND_SENT;
        case TURN_WAITING: waiting = 1; break;
        case TURN_IDLE: break;
        case TURN_STOPPED: return ROUND_DONE;
        case TURN_FAILED:
            if (!w->res->error[0]) snprintf(w->res->error, sizeof w->res->error, "%s", err);
            return ROUND_FAILED;
        case TURN_DOWN:
            /* The receiver's outage, not the lane's: this lane again after
            ** the wait. */
            w->next = k;
            if (!h->opt.follow &&
                (ack.retry_after_ms <= 0 || ++*oneshot_retries > SHIP_ONESHOT_RETRIES)) {
                snprintf(w->res->error, sizeof w->res->error, "%s", err);
                return ROUND_FAILED;
            }
            if (h->draining) return ROUND_DONE; /* a dead sink is not waited for */
            if (!w->outage && h->opt.follow) {
                w->outage = 1;
                w->outage_ms = now_ms();
                diag("ship to %s: %s; retrying with backoff until it answers", w->sk->desc,
                     err);
            }
            wait_ms(h, next_delay(w, ack.retry_after_ms), 0);
            return ROUND_WAITED;
        }
    }
    return waiting ? ROUND_WAITING : ROUND_IDLE;
}

static int run_worker(worker *w)
{
    ship_handle *h = w->h;
    int oneshot_retries = 0;
    w->backoff_ms = SHIP_BACKOFF_FIRST_MS;
    while (!stopped(h)) {
        char err[512];
        if (list_logs(w, 0, err, sizeof err) != SHIP_OK) {
            snprintf(w->res->error, sizeof w->res->error, "%s", err);
            return SHIP_EFAIL;
        }
        int r = round_of(w, &oneshot_retries);
        if (r == ROUND_FAILED) return SHIP_EFAIL;
        if (r == ROUND_DONE) break;
        if (r == ROUND_SENT) w->sent_at_ms = now_ms();
        if (r == ROUND_SENT || r == ROUND_WAITED) continue;
        /* Nothing to send: caught up (or standing by). */
        outage_over(w);
        if (!h->opt.follow || h->draining) break;
        /* A local trail's file deleted, or another put in its place (a
        ** restore): following it would wait for entries nothing writes
        ** there any more.  (No read-ahead runs now: its turn waited.) */
        if (store_moved(w->src)) {
            snprintf(w->res->error, sizeof w->res->error,
                     "the trail's file was deleted or replaced while shipping followed it: "
                     "stopped (start ship again to ship the file now there; the cursor "
                     "keeps what was delivered)");
            return SHIP_EFAIL;
        }
        int poll = h->opt.poll_ms > 0 ? h->opt.poll_ms : SHIP_POLL_MS;
        wait_ms(h, r == ROUND_WAITING && poll > SHIP_STANDBY_MS ? SHIP_STANDBY_MS : poll, 1);
        int64_t since = now_ms() - w->sent_at_ms;
        if (r != ROUND_WAITING && since < SHIP_GATHER_MS)
            wait_ms(h, (int)(SHIP_GATHER_MS - since), 0);
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
    w->rc = run_worker(w);
    if (w->rc != SHIP_OK) {
        w->res->failed = 1;
        /* With several sinks the others carry on: say it now. */
        if (w->h->nworkers > 1) diag("%s", sink_error(w->res));
    }
    reader_stop(w);
    batch_free(&w->bt);
    batch_free(&w->ahead);
    pthread_mutex_lock(&w->h->mu);
    w->done = 1;
    w->h->ndone++;
    pthread_cond_broadcast(&w->h->cond);
    pthread_mutex_unlock(&w->h->mu);
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
        worker *w = &h->w[i];
        sink_close(w->sk);
        cursor_close(w->cur);
        store_close(w->src);
        free(w->lanes);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h);
}

/* The worker's connection to the trail: read only for a local file; for a
** shared trail writable without a log of its own (the cursors are
** written there), the log named selected.  SHIP_OK or an error. */
static int open_source(ship_handle *h, worker *w, char *err, size_t len)
{
    char serr[STORE_ERRLEN], shown[512];
    store_options so = {.path = h->opt.from, .readonly = !h->remote, .no_own_log = h->remote,
                        .mmap_bytes = h->opt.map_file ? SHIP_MAP_BYTES : 0};
    store_redact_path(h->opt.from, shown, sizeof shown);
    if (store_open(&so, &w->src, serr) != STORE_OK) {
        snprintf(err, len, "cannot open %s: %s", shown, serr);
        return SHIP_EFAIL;
    }
    if (!h->remote) return store_each_log(w->src, first_log, &h->log, serr) == STORE_OK
                               ? SHIP_OK
                               : (snprintf(err, len, "%s", serr), SHIP_EFAIL);
    if (!(store_capabilities(w->src) & STORE_CAP_SINK_CURSORS)) {
        snprintf(err, len, "%s keeps no ship cursors", shown);
        return SHIP_EFAIL;
    }
    if (h->all_logs) return SHIP_OK;
    int rc = store_use_log(w->src, h->opt.source_log, serr);
    if (rc != STORE_OK) {
        snprintf(err, len, "%s", serr);
        return rc == STORE_ENOTFOUND ? SHIP_EUSAGE : SHIP_EFAIL;
    }
    snprintf(h->log.log_id, sizeof h->log.log_id, "%s", store_log_id(w->src));
    snprintf(h->log.name, sizeof h->log.name, "%s", store_log_name(w->src));
    return SHIP_OK;
}

/* Worker i for url: its connection, sink, cursors and lanes.  SHIP_OK or
** an error with a sentence in err. */
static int prepare_worker(ship_handle *h, int i, const char *url, char *err, size_t len)
{
    worker *w = &h->w[i];
    char why[512];
    w->h = h;
    w->url = url;
    w->res = &h->res.sink[i];
    w->res->cursor = 0;
    sink_describe(url, w->res->sink, sizeof w->res->sink);
    h->nworkers = i + 1;
    int rc = open_source(h, w, err, len);
    if (rc != SHIP_OK) return rc;
    if (i == 0 && h->opt.log_name && *h->opt.log_name && !h->remote)
        snprintf(h->log.name, sizeof h->log.name, "%s", h->opt.log_name);
    sink_config cfg = {.url = url, .format = h->opt.format, .ca_file = h->opt.ca_file,
                       .cert_file = h->opt.cert_file, .key_file = h->opt.key_file,
                       .token = h->opt.token, .secret = h->opt.secret,
                       .hostname = h->hostname, .log = h->all_logs ? NULL : &h->log,
                       .timeout_ms = h->opt.timeout_ms, .stop = h->stop};
    int src = sink_open(&cfg, &w->sk, why, sizeof why);
    if (src != SINK_OK) {
        snprintf(err, len, "%s", why);
        return src == SINK_EUSAGE ? SHIP_EUSAGE : SHIP_EFAIL;
    }
    if (!(w->sk->type->flags & SINK_OWN_POSITION)) {
        int crc = h->remote ? cursor_open_store(w->src, &w->cur, why, sizeof why)
                            : cursor_open_local(h->opt.from, h->opt.cursor_dir, 1, &w->cur, why,
                                                sizeof why);
        if (crc != CURSOR_OK) {
            snprintf(err, len, "%s: %s", w->sk->desc, why);
            return SHIP_EFAIL;
        }
    }
    if (h->all_logs) {
        if (list_logs(w, 1, err, len) != SHIP_OK) return SHIP_EFAIL;
    } else if (!add_lane(w, &h->log, 1)) {
        snprintf(err, len, "out of memory");
        return SHIP_EFAIL;
    }
    /* A one-off run refuses at once a sink that another process ships to:
    ** nothing has been sent. */
    for (size_t k = 0; !h->standby && k < w->nlanes; k++)
        if (take_lock(w, &w->lanes[k], why, sizeof why) < 0) {
            snprintf(err, len, "%s: %s", w->sk->desc, why);
            return SHIP_EFAIL;
        }
    return SHIP_OK;
}

/* The sinks' URLs of opt, and how many (0 when none). */
static int sink_urls(const ship_options *opt, const char *const **urls, const char **one)
{
    *one = opt->to;
    *urls = opt->nto > 0 ? opt->to_list : one;
    return opt->nto > 0 ? opt->nto : (opt->to ? 1 : 0);
}

int ship_check(const ship_options *opt, char *err, size_t len)
{
    const char *const *urls, *one;
    int n = sink_urls(opt, &urls, &one);
    if (!opt->from || !*opt->from) {
        snprintf(err, len, "ship needs a trail (--db)");
        return SHIP_EUSAGE;
    }
    if (n == 0 || n > SHIP_MAX_SINKS) {
        snprintf(err, len, n ? "at most %d sinks at once" : "ship needs a sink (--to URL)",
                 SHIP_MAX_SINKS);
        return SHIP_EUSAGE;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(urls[i], urls[j]) == 0) {
                char shown[SINK_DESC_LEN];
                sink_describe(urls[i], shown, sizeof shown);
                snprintf(err, len, "%s is named twice", shown);
                return SHIP_EUSAGE;
            }
        if (store_is_remote(opt->from) && store_is_remote(urls[i])) {
            snprintf(err, len, "the trail is already in PostgreSQL: a PostgreSQL sink takes a "
                               "local file (ship --db FILE --to postgres://...)");
            return SHIP_EUSAGE;
        }
        /* Each sink checks its URL, format, secrets and files; nothing
        ** connects yet. */
        sink *sk = NULL;
        sink_config cfg = {.url = urls[i], .format = opt->format, .ca_file = opt->ca_file,
                           .cert_file = opt->cert_file, .key_file = opt->key_file,
                           .token = opt->token, .secret = opt->secret};
        int rc = sink_open(&cfg, &sk, err, len);
        sink_close(sk);
        if (rc != SINK_OK) return rc == SINK_EUSAGE ? SHIP_EUSAGE : SHIP_EFAIL;
    }
    return SHIP_OK;
}

/* A no-op: its only use is that a signal caught by it interrupts the
** system call the thread it is sent to waits in. */
static void on_poke(int sig)
{
    (void)sig;
}

/* Catch SHIP_POKE_SIGNAL with on_poke(), once per process, unless the
** program has a handler of its own for it.  SIGURG is ignored by default,
** so a stray one neither kills the process nor, caught, does anything
** else. */
#define SHIP_POKE_SIGNAL SIGURG
static void install_poke(void)
{
    struct sigaction old;
    if (sigaction(SHIP_POKE_SIGNAL, NULL, &old) != 0 || old.sa_handler != SIG_DFL) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_poke; /* no SA_RESTART: the wait must end */
    sigemptyset(&sa.sa_mask);
    sigaction(SHIP_POKE_SIGNAL, &sa, NULL);
}

/* A handle for opt, before any worker: NULL when memory runs out. */
static ship_handle *handle_new(const ship_options *opt, int standby)
{
    static pthread_once_t poke_once = PTHREAD_ONCE_INIT;
    pthread_once(&poke_once, install_poke);
    ship_handle *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&h->mu, NULL);
    h->opt = *opt;
    h->stop = opt->stop ? opt->stop : &h->own_stop;
    h->remote = store_is_remote(opt->from);
    h->all_logs = h->remote && !(opt->source_log && *opt->source_log);
    h->standby = standby;
    if (opt->hostname) snprintf(h->hostname, sizeof h->hostname, "%s", opt->hostname);
    else if (gethostname(h->hostname, sizeof h->hostname - 1) != 0) h->hostname[0] = '\0';
    return h;
}

/* Open every sink, connection and cursor of h: a mistake is found before
** anything is sent.  SHIP_OK, or an error with a sentence in err (what
** was opened is freed with h). */
static int prepare_workers(ship_handle *h, char *err, size_t len)
{
    const char *const *urls, *one;
    int n = sink_urls(&h->opt, &urls, &one);
    if (sodium_init() < 0 || chain_init() != 0) {
        snprintf(err, len, "libsodium cannot start");
        return SHIP_EFAIL;
    }
    int rc = SHIP_OK;
    for (int i = 0; i < n && rc == SHIP_OK; i++) rc = prepare_worker(h, i, urls[i], err, len);
    h->res.nsinks = n;
    if (h->all_logs) {
        h->res.log_id[0] = h->res.log_name[0] = '\0';
    } else {
        memcpy(h->res.log_id, h->log.log_id, sizeof h->res.log_id);
        snprintf(h->res.log_name, sizeof h->res.log_name, "%s", h->log.name);
    }
    return rc;
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

/* Wait for the workers' threads.  Once stopped, a worker may still be
** blocked in a library's wait that does not look at the stop flag until
** it times out (librelp polls for its whole session timeout, 30 s, then
** checks the flag it was given): each worker still running is poked with
** SHIP_POKE_SIGNAL every 100 ms, which ends the wait with EINTR, after
** which the library sees the flag. */
static void join_threads(ship_handle *h)
{
    int threads = 0;
    for (int i = 0; i < h->nworkers; i++) threads += h->w[i].threaded;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        int running = 0;
        for (int i = 0; i < h->nworkers; i++) {
            worker *w = &h->w[i];
            if (!w->threaded || w->done) continue;
            running++;
            if (stopped(h)) pthread_kill(w->thread, SHIP_POKE_SIGNAL);
        }
        if (!running || !threads) break;
        cond_wait_ms(h, 100);
    }
    pthread_mutex_unlock(&h->mu);
    for (int i = 0; i < h->nworkers; i++)
        if (h->w[i].threaded) pthread_join(h->w[i].thread, NULL);
}

int ship_run(const ship_options *opt, ship_result *out, char *err, size_t len)
{
    memset(out, 0, sizeof *out);
    int rc = ship_check(opt, err, len);
    if (rc != SHIP_OK) return rc;
    ship_handle *h = handle_new(opt, 0);
    if (!h) {
        snprintf(err, len, "out of memory");
        return SHIP_EFAIL;
    }
    if ((rc = prepare_workers(h, err, len)) != SHIP_OK) {
        handle_free(h);
        return rc;
    }
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

/* ship_start()'s thread: the connections are opened here, so that the
** server that called it never waits for them (a shared trail's are
** network connections), then each sink's worker is started. */
static void *launch(void *arg)
{
    ship_handle *h = arg;
    char err[1024];
    int rc = prepare_workers(h, err, sizeof err);
    if (rc == SHIP_OK && !stopped(h)) rc = start_threads(h, err, sizeof err);
    if (rc != SHIP_OK)
        diag("cannot ship in the background: %s (the server goes on without shipping)", err);
    pthread_mutex_lock(&h->mu);
    if (rc != SHIP_OK || stopped(h)) h->ndone = h->nworkers; /* nothing left to wait for */
    h->launched = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int ship_start(const ship_options *opt, ship_handle **out, char *err, size_t len)
{
    ship_options bg = *opt;
    bg.follow = 1;
    bg.stop = NULL;
    bg.map_file = 0; /* a SIGBUS would take the server down with it */
    *out = NULL;
    int rc = ship_check(&bg, err, len);
    if (rc != SHIP_OK) return rc;
    ship_handle *h = handle_new(&bg, 1);
    if (!h) {
        snprintf(err, len, "out of memory");
        return SHIP_EFAIL;
    }
    if (pthread_create(&h->launcher, NULL, launch, h) != 0) {
        snprintf(err, len, "cannot start a thread to ship in the background");
        handle_free(h);
        return SHIP_EFAIL;
    }
    *out = h;
    return SHIP_OK;
}

int ship_finish(ship_handle *h, int drain_ms, ship_result *out, char *err, size_t len)
{
    if (!h) return SHIP_OK;
    int64_t end = now_ms() + (drain_ms > 0 ? drain_ms : 0);
    pthread_mutex_lock(&h->mu);
    /* Each worker leaves once a round finds nothing to send, or at once
    ** when its receiver is down; past the deadline, all stop. */
    h->draining = 1;
    h->wakes++;
    pthread_cond_broadcast(&h->cond);
    while (!h->launched || h->ndone < h->nworkers) {
        int64_t left = end - now_ms();
        if (left <= 0) break;
        cond_wait_ms(h, left < 50 ? left : 50);
    }
    pthread_mutex_unlock(&h->mu);
    *h->stop = 1;
    ship_wake(h);
    pthread_join(h->launcher, NULL); /* opening connections: stopped at the next check */
    join_threads(h);
    int rc = finish(h, out, err, len);
    handle_free(h);
    return rc;
}

/* ---- cursors for stats ----------------------------------------------------- */

typedef struct lag_ctx {
    store *st;
    int remote;
    store_log local;      /* a file's one log */
    int64_t last;         /* ... and its newest seq */
    int (*fn)(void *ctx, const ship_cursor_info *c);
    void *ctx;
    char err[STORE_ERRLEN];
    int failed;
} lag_ctx;

static int report_cursor(void *ctx, const ship_cursor_row *r)
{
    lag_ctx *l = ctx;
    ship_cursor_info c;
    int64_t first, last = l->last;
    memset(&c, 0, sizeof c);
    if (!l->remote) {
        if (strcmp(r->log_id, l->local.log_id) != 0) return 0; /* another file's cursor */
        snprintf(c.log, sizeof c.log, "%s", l->local.name);
    } else {
        int rc = store_use_log(l->st, r->log_id, l->err);
        if (rc == STORE_ENOTFOUND) return 0;
        if (rc != STORE_OK || store_seq_range(l->st, &first, &last, l->err) != STORE_OK) {
            l->failed = 1;
            return 1;
        }
        snprintf(c.log, sizeof c.log, "%s", store_log_name(l->st));
    }
    snprintf(c.sink, sizeof c.sink, "%s", r->sink);
    memcpy(c.log_id, r->log_id, sizeof c.log_id);
    c.seq = r->mark.seq;
    c.lag = last > c.seq ? last - c.seq : 0;
    memcpy(c.saved_at, r->mark.saved_at, sizeof c.saved_at);
    return l->fn(l->ctx, &c);
}

int ship_cursors(store *st, const char *db, const char *cursor_dir,
                 int (*fn)(void *ctx, const ship_cursor_info *c), void *ctx, char *err, size_t len)
{
    char serr[STORE_ERRLEN];
    cursor *cur = NULL;
    int64_t first;
    int rc = SHIP_EFAIL;
    lag_ctx l = {.st = st, .fn = fn, .ctx = ctx};
    l.remote = (store_capabilities(st) & STORE_CAP_SINK_CURSORS) != 0;
    if (l.remote) {
        if (cursor_open_store(st, &cur, err, len) != CURSOR_OK) return SHIP_EFAIL;
    } else {
        if (cursor_open_local(db, cursor_dir, 0, &cur, err, len) != CURSOR_OK) return SHIP_EFAIL;
        if (!cur) return SHIP_OK;
        if (store_each_log(st, first_log, &l.local, serr) != STORE_OK ||
            store_seq_range(st, &first, &l.last, serr) != STORE_OK) {
            snprintf(err, len, "%s", serr);
            goto done;
        }
    }
    if (cursor_each(cur, report_cursor, &l, err, len) == CURSOR_OK) {
        rc = SHIP_OK;
        if (l.failed) {
            snprintf(err, len, "%s", l.err);
            rc = SHIP_EFAIL;
        }
    }
done:
    if (l.remote) store_use_log(st, NULL, serr);
    cursor_close(cur);
    return rc;
}
