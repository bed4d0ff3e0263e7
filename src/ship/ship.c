/*
** ship.c: the shipper behind `dss-audit-mcp ship` (see ship.h).
**
** Each round reads the central head of the log, copies up to one batch of
** the local entries after it into memory (one short read statement, so the
** local writer's write-ahead log is never held back for long), and hands
** the batch to store_import() in one transaction: the central store checks
** it and keeps all of it or none.  Checkpoints and anchors follow once the
** entries they cover have arrived.  Resuming is reading the head again,
** which is why a shipper killed at any point neither loses nor repeats an
** entry.
*/
#include "ship.h"
#include "../store/store.h"
#include "../util/diag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHIP_BATCH 1000
#define SHIP_POLL_MS 250
#define SHIP_BACKOFF_MAX_MS 5000

/* A batch of entries copied out of the local store, owning their text. */
typedef struct batch {
    store_raw_entry *e;
    size_t n, cap, want;
    int broken; /* an entry without both hashes: the local file is damaged */
} batch;

static void free_fields(chain_fields *f)
{
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++) free((char *)*slot[i]);
}

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++) free_fields(&b->e[i].f);
    b->n = 0;
    b->broken = 0;
}

/* store_each_entry()'s callback: copy the borrowed entry; 1 stops the walk
** once the batch is full (or on a damaged entry or no memory). */
static int collect(void *ctx, const store_raw_entry *src)
{
    batch *b = ctx;
    if (!src->hashes_ok) {
        b->broken = 1;
        return 1;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        store_raw_entry *e = realloc(b->e, cap * sizeof *e);
        if (!e) return 1;
        b->e = e;
        b->cap = cap;
    }
    store_raw_entry *d = &b->e[b->n];
    *d = *src;
    /* Each string is copied in place of the borrowed pointer; a failed
    ** copy leaves NULL, which free_fields() skips. */
    int failed = 0;
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(&d->f, slot);
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++) {
        if (*slot[i] && !(*slot[i] = strdup(*slot[i]))) failed = 1;
    }
    b->n++; /* counted even when a copy failed, so that it is freed */
    if (failed) return -1;
    return b->n >= b->want;
}

/* The local checkpoints, oldest first. */
typedef struct cp_list {
    store_checkpoint *cp;
    size_t n, cap;
} cp_list;

static int add_cp(void *ctx, const store_checkpoint *cp)
{
    cp_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        store_checkpoint *a = realloc(l->cp, cap * sizeof *a);
        if (!a) return -1;
        l->cp = a;
        l->cap = cap;
    }
    l->cp[l->n++] = *cp;
    return 0;
}

static int first_log(void *ctx, const store_log *log)
{
    *(store_log *)ctx = *log;
    return 1;
}

typedef struct shipper {
    const ship_options *opt;
    store *local, *central;
    store_log log;        /* the local log, as the central one is named */
    size_t cps_done;      /* local checkpoints already shipped */
    ship_result *res;
    batch b;
    char err[STORE_ERRLEN];
} shipper;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int stopped(const shipper *sh)
{
    return sh->opt->stop && *sh->opt->stop;
}

/* Connect to the central store and select (creating) the log there. */
static int connect_central(shipper *sh)
{
    store_options so = {.path = sh->opt->to, .no_own_log = 1};
    int rc = store_open(&so, &sh->central, sh->err);
    if (rc == STORE_OK) rc = store_ensure_log(sh->central, &sh->log, sh->err);
    if (rc != STORE_OK) {
        store_close(sh->central);
        sh->central = NULL;
    }
    return rc;
}

/* Ship the local checkpoints whose entries have all arrived (seq at or
** below the central head), in order, in one transaction. */
static int ship_checkpoints(shipper *sh, int64_t head)
{
    cp_list l = {0};
    int rc = store_each_checkpoint(sh->local, add_cp, &l, sh->err);
    if (rc != STORE_OK) goto done;
    size_t due = sh->cps_done;
    while (due < l.n && l.cp[due].seq <= head) due++;
    if (due == sh->cps_done) goto done;
    if ((rc = store_begin(sh->central, sh->err)) != STORE_OK) goto done;
    for (size_t i = sh->cps_done; i < due && rc == STORE_OK; i++) {
        int stored = 0;
        rc = store_import_checkpoint(sh->central, &l.cp[i], &stored, sh->err);
        sh->res->checkpoints += stored;
    }
    if (rc == STORE_OK) rc = store_commit(sh->central, sh->err);
    else store_rollback(sh->central);
    if (rc == STORE_OK) sh->cps_done = due;
done:
    free(l.cp);
    return rc;
}

/* One round: ship the next batch after the central head, then the
** checkpoints it completes.  *progress says whether anything moved. */
static int ship_round(shipper *sh, int *progress)
{
    int64_t head;
    char head_hash[CHAIN_HEX_LEN];
    *progress = 0;
    int rc = store_head(sh->central, &head, head_hash, sh->err);
    if (rc != STORE_OK) return rc;
    /* A local log pruned before it was ever shipped starts at its anchor:
    ** the anchor goes first, so the central chain has where to start. */
    if (head == 0) {
        int64_t first, last;
        if ((rc = store_seq_range(sh->local, &first, &last, sh->err)) != STORE_OK) return rc;
        if (first > 1 && (rc = ship_checkpoints(sh, first - 1)) != STORE_OK) return rc;
        if ((rc = store_head(sh->central, &head, head_hash, sh->err)) != STORE_OK) return rc;
    }
    batch_clear(&sh->b);
    sh->b.want = (size_t)(sh->opt->batch > 0 ? sh->opt->batch : SHIP_BATCH);
    rc = store_each_entry(sh->local, head + 1, collect, &sh->b, sh->err);
    if (rc != STORE_OK) return rc;
    if (sh->b.broken) {
        snprintf(sh->err, sizeof sh->err,
                 "the local entry after seq %lld has no valid hash: run verify on the local file",
                 (long long)(head + (int64_t)sh->b.n));
        return STORE_EINVAL;
    }
    if (sh->b.n) {
        int64_t stored = 0, skipped = 0;
        if ((rc = store_begin(sh->central, sh->err)) != STORE_OK) return rc;
        rc = store_import(sh->central, sh->b.e, sh->b.n, &stored, &skipped, sh->err);
        if (rc == STORE_OK) rc = store_commit(sh->central, sh->err);
        else store_rollback(sh->central);
        if (rc != STORE_OK) return rc;
        sh->res->shipped += stored;
        sh->res->skipped += skipped;
        head = sh->b.e[sh->b.n - 1].f.seq;
        *progress = 1;
    }
    size_t before = sh->cps_done;
    if ((rc = ship_checkpoints(sh, head)) != STORE_OK) return rc;
    if (sh->cps_done != before) *progress = 1;
    sh->res->head_seq = head;
    return STORE_OK;
}

/* A failure worth waiting out with --follow: the central store or the
** way to it, not a refused batch or a damaged local file. */
static int transient(int rc)
{
    return rc == STORE_EIO || rc == STORE_EBUSY || rc == STORE_EFULL ||
           rc == STORE_EREADONLY;
}

int ship_run(const ship_options *opt, ship_result *out, char *err, size_t len)
{
    shipper sh = {.opt = opt, .res = out};
    memset(out, 0, sizeof *out);
    int fatal = 0, rc, backoff = 100;
    store_options lo = {.path = opt->from, .readonly = 1};
    if (store_is_remote(opt->from)) {
        snprintf(err, len, "ship copies a local SQLite file; --db names a PostgreSQL database");
        return -1;
    }
    if (!store_is_remote(opt->to)) {
        snprintf(err, len, "--to must name a PostgreSQL database (postgres://... or host=...)");
        return -1;
    }
    if ((rc = store_open(&lo, &sh.local, sh.err)) != STORE_OK) {
        snprintf(err, len, "cannot open %s: %s", opt->from, sh.err);
        return -1;
    }
    store_each_log(sh.local, first_log, &sh.log, sh.err);
    if (opt->log_name && *opt->log_name)
        snprintf(sh.log.name, sizeof sh.log.name, "%s", opt->log_name);
    memcpy(out->log_id, sh.log.log_id, sizeof out->log_id);
    snprintf(out->log_name, sizeof out->log_name, "%s", sh.log.name);
    while (!stopped(&sh)) {
        int progress = 0;
        rc = sh.central ? STORE_OK : connect_central(&sh);
        if (rc == STORE_OK) rc = ship_round(&sh, &progress);
        if (rc == STORE_OK) {
            backoff = 100;
            if (progress) continue;
            if (!opt->follow) break;
            sleep_ms(opt->poll_ms > 0 ? opt->poll_ms : SHIP_POLL_MS);
            continue;
        }
        if (!opt->follow || !transient(rc)) {
            snprintf(err, len, "%s", sh.err);
            fatal = 1;
            break;
        }
        /* The central store went away: drop the connection (its open
        ** transaction, if any, is rolled back there) and come back. */
        diag("ship: %s; retrying in %d ms", sh.err, backoff);
        store_close(sh.central);
        sh.central = NULL;
        for (int waited = 0; waited < backoff && !stopped(&sh); waited += 50) sleep_ms(50);
        backoff = backoff * 2 > SHIP_BACKOFF_MAX_MS ? SHIP_BACKOFF_MAX_MS : backoff * 2;
    }
    batch_clear(&sh.b);
    free(sh.b.e);
    store_close(sh.central);
    store_close(sh.local);
    return fatal ? -1 : 0;
}
