/*
** sink_pg.c: the team's PostgreSQL database (postgres://..., or a libpq
** keyword string), where a local log is copied as a log of its own with
** every entry and checkpoint as it is: ids, seq, timestamps and hashes.
**
** This receiver knows exactly what it holds: the central head of the log
** is its cursor (position()), read again before every batch, so no local
** cursor is kept and a killed shipper neither loses nor repeats an entry.
** A batch is one transaction of store_import(), which checks continuity
** and recomputes every hash before it keeps any of it; a break is refused
** whole.  Checkpoints and retention anchors follow once the entries they
** cover have arrived; a local log pruned before it was ever shipped starts
** with its anchor, so the central chain has where to begin.  The local
** checkpoints are read once per run and after that only the new ones
** (store_each_checkpoint_after()): a long run ships many batches, and
** reading them all for each would grow with the log.
*/
#include "sink_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Local checkpoints, oldest first. */
typedef struct cp_list {
    store_checkpoint *cp;
    size_t n, cap;
    int oom; /* the last read stopped for want of memory */
} cp_list;

typedef struct pg_sink {
    sink base;
    char *to;             /* the connection string (it may hold a password) */
    store_log log;        /* the local log, as the central one is named */
    store *central;       /* NULL while not connected */
    int64_t head;         /* the central head, as position() last read it */
    int64_t cps_read;     /* the number of the last local checkpoint read */
    cp_list pending;      /* those read and not yet shipped */
    char err[STORE_ERRLEN];
} pg_sink;

/* A failure worth waiting out: the database or the way to it, not a
** refused batch. */
static int transient(int rc)
{
    return rc == STORE_EIO || rc == STORE_EBUSY || rc == STORE_EFULL || rc == STORE_EREADONLY;
}

/* The sink code for a store failure; drops the connection when the
** database may be gone (its open transaction, if any, is rolled back
** there). */
static int failed(pg_sink *s, int rc, char *err, size_t len)
{
    snprintf(err, len, "%s", s->err);
    if (rc == STORE_ENOMEM) return SINK_ENOMEM;
    if (!transient(rc)) return SINK_EREFUSED;
    store_close(s->central);
    s->central = NULL;
    return SINK_EDOWN;
}

static int connect_central(pg_sink *s)
{
    store_options so = {.path = s->to, .no_own_log = 1};
    int rc = store_open(&so, &s->central, s->err);
    if (rc == STORE_OK) rc = store_ensure_log(s->central, &s->log, s->err);
    if (rc != STORE_OK) {
        store_close(s->central);
        s->central = NULL;
    }
    return rc;
}

static int pg_position(sink *base, int64_t *seq, char *err, size_t len)
{
    pg_sink *s = (pg_sink *)base;
    char hash[CHAIN_HEX_LEN];
    int rc = s->central ? STORE_OK : connect_central(s);
    if (rc == STORE_OK) rc = store_head(s->central, &s->head, hash, s->err);
    if (rc != STORE_OK) return failed(s, rc, err, len);
    *seq = s->head;
    return SINK_OK;
}

/* Ship the local checkpoints whose entries have all arrived (seq at or
** below head), in order, in one transaction.  The local ones are read once
** per run and after that only the new ones (numbered above s->cps_read);
** those not yet shipped wait in s->pending. */
static int add_cp(void *ctx, const store_checkpoint *cp)
{
    pg_sink *s = ctx;
    cp_list *l = &s->pending;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        store_checkpoint *a = realloc(l->cp, cap * sizeof *a);
        if (!a) {
            l->oom = 1;
            return -1;
        }
        l->cp = a;
        l->cap = cap;
    }
    l->cp[l->n++] = *cp;
    s->cps_read = cp->number;
    return 0;
}

static int ship_checkpoints(pg_sink *s, store *local, int64_t head, int64_t *stored)
{
    cp_list *l = &s->pending;
    /* A read cut short keeps what it read: the rest comes next time. */
    int rc = store_each_checkpoint_after(local, s->cps_read, add_cp, s, s->err);
    if (rc != STORE_OK) return rc;
    if (l->oom) {
        l->oom = 0;
        snprintf(s->err, sizeof s->err, "out of memory");
        return STORE_ENOMEM;
    }
    size_t due = 0;
    while (due < l->n && l->cp[due].seq <= head) due++;
    if (due == 0) return STORE_OK;
    if ((rc = store_begin(s->central, s->err)) != STORE_OK) return rc;
    for (size_t i = 0; i < due && rc == STORE_OK; i++) {
        int one = 0;
        rc = store_import_checkpoint(s->central, &l->cp[i], &one, s->err);
        *stored += one;
    }
    if (rc == STORE_OK) rc = store_commit(s->central, s->err);
    else store_rollback(s->central);
    if (rc != STORE_OK) return rc;
    memmove(l->cp, l->cp + due, (l->n - due) * sizeof *l->cp);
    l->n -= due;
    return STORE_OK;
}

static int pg_send(sink *base, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    pg_sink *s = (pg_sink *)base;
    int rc = STORE_OK;
    int64_t head = s->head;
    if (!s->central && (rc = pg_position(base, &head, err, len)) != SINK_OK) return rc;
    /* A local log pruned before it was ever shipped starts at its anchor:
    ** the anchor goes first, so the central chain has where to start. */
    if (head == 0 && b->n && b->raw[0].f.seq > 1 &&
        (rc = ship_checkpoints(s, b->local, b->raw[0].f.seq - 1, &ack->extra)) != STORE_OK)
        return failed(s, rc, err, len);
    if (b->n) {
        if ((rc = store_begin(s->central, s->err)) != STORE_OK) return failed(s, rc, err, len);
        rc = store_import(s->central, b->raw, b->n, &ack->stored, &ack->skipped, s->err);
        if (rc == STORE_OK) rc = store_commit(s->central, s->err);
        else store_rollback(s->central);
        if (rc != STORE_OK) return failed(s, rc, err, len);
        head = s->head = b->raw[b->n - 1].f.seq;
        ack->seq = head;
    }
    if ((rc = ship_checkpoints(s, b->local, head, &ack->extra)) != STORE_OK)
        return failed(s, rc, err, len);
    return SINK_OK;
}

static void pg_close(sink *base)
{
    pg_sink *s = (pg_sink *)base;
    store_close(s->central);
    free(s->pending.cp);
    if (s->to) {
        sodium_memzero(s->to, strlen(s->to)); /* it may hold a password */
        free(s->to);
    }
    free(s);
}

static int pg_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    pg_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->to = strdup(cfg->url))) {
        free(s);
        snprintf(err, len, "out of memory");
        return SINK_ENOMEM;
    }
    if (cfg->log) s->log = *cfg->log;
    *out = &s->base;
    return SINK_OK;
}

static const char *const pg_schemes[] = {"postgres", "postgresql", NULL};

const sink_type sink_pg_type = {
    .name = "PostgreSQL",
    .schemes = pg_schemes,
    .flags = SINK_RAW | SINK_OWN_POSITION | SINK_CHECKPOINTS,
    .formats = 0,
    .default_format = SINK_FORMAT_DEFAULT,
    /* A batch is one transaction, so one COMMIT (a WAL flush) each: at
    ** 1000 entries the commits were about a tenth of a ship's time against
    ** the COPY floor (bench/RESULTS-pg.md).  10,000 raw entries hold about
    ** 14 MB. */
    .batch = 10000,
    .open = pg_open,
    .position = pg_position,
    .send = pg_send,
    .close = pg_close,
};
