/*
** ship.h: delivering a trail to where it is needed, continuously.
**
** A machine keeps writing its own SQLite file (the agent's server never
** waits for the network); `dss-audit-mcp ship` reads that log on the side
** and delivers it to one or more sinks (sink.h): the team's PostgreSQL
** database (a copy of the log as it is, checked batch by batch), syslog
** over RELP or TCP/TLS, OpenTelemetry, Splunk HEC and webhooks.  A shared
** trail in PostgreSQL is shipped the same way, each of its logs with its
** own cursor, kept in the database so that any machine can take over.
**
** Each sink has its own worker (a thread), its own connection and its own
** durable cursor per log (cursor.h), advanced only after the receiver
** acknowledged a batch, so a shipper killed at any moment re-sends at most
** one batch per sink, and one dead sink never holds the others back.  A
** receiver that goes away is waited for with capped exponential backoff
** and jitter, logged once per outage.  The functions here know nothing
** about argv: the command (and serve's and wrap's --ship-to) fills a
** ship_options.
*/
#ifndef DSS_SHIP_H
#define DSS_SHIP_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include "sink.h"

/* Where a sink starts. */
typedef enum ship_start_at {
    SHIP_RESUME = 0,  /* at its cursor; the oldest entry on its first run */
    SHIP_FROM_START,  /* at the oldest entry, even past a cursor (re-sends) */
    SHIP_FROM_NOW     /* at the newest entry: only what comes next */
} ship_start_at;

enum { SHIP_MAX_SINKS = 16 };

typedef struct ship_options {
    /* The trail: a local SQLite file (read only), or a shared PostgreSQL
    ** trail (postgres://... or a libpq keyword string), whose cursors are
    ** kept in it. */
    const char *from;
    /* A shared trail: the one log to ship (its id or name); NULL: every
    ** log, and each new one as it appears. */
    const char *source_log;
    /* The sinks: URLs, or a PostgreSQL database (postgres://... or a libpq
    ** keyword string).  `to` names one; to_list (nto > 0) several. */
    const char *to;
    const char *const *to_list;
    int nto;
    const char *log_name; /* PostgreSQL: name of the central log; NULL: the local name */
    int follow;           /* keep shipping new entries until stopped */
    int batch;            /* entries per batch; 0 = 1000 */
    int poll_ms;          /* --follow: how often to look for entries; 0 = 250 */
    ship_start_at start;
    sink_format format;   /* SINK_FORMAT_DEFAULT: each sink's own */
    /* TLS: a private CA (PEM) instead of the system's; a client
    ** certificate and key (relp+tls needs them). */
    const char *ca_file, *cert_file, *key_file;
    /* Secrets, given by the caller from the environment or a file, never
    ** from argv: the Splunk HEC token, the webhook's HMAC key. */
    const char *token, *secret;
    /* A local file's cursors are kept here; NULL: "<from>.ship/" beside
    ** it. */
    const char *cursor_dir;
    const char *hostname; /* syslog HOSTNAME, HEC host; NULL: this machine's */
    int timeout_ms;       /* per exchange with a receiver; 0 = 30000 */
    int backoff_max_ms;   /* longest wait between retries; 0 = 5000 */
    /* Set by a signal handler to stop (cleanly, between batches; a batch
    ** in flight is abandoned and re-sent next time); may be NULL. */
    volatile sig_atomic_t *stop;
    /* A local file is read through a memory map (store_options.mmap_bytes):
    ** fewer copies, but an I/O error on the file is a SIGBUS that ends the
    ** process.  Only the standalone `ship` command sets it: ship_start()
    ** (shipping inside a server) ignores it.  The cursor only moves after
    ** an acknowledgement, so a shipper ended that way re-sends at most one
    ** batch when started again. */
    int map_file;
} ship_options;

/* What a run did for one sink. */
typedef struct ship_sink_result {
    char sink[SINK_DESC_LEN]; /* as messages show it */
    int64_t shipped;      /* entries the receiver acknowledged in this run */
    int64_t skipped;      /* entries it already had (PostgreSQL) */
    int64_t checkpoints;  /* checkpoints and anchors (PostgreSQL) */
    int64_t rejected;     /* entries accepted but dropped (OTLP partial success) */
    int64_t batches;      /* batches of entries it acknowledged in this run */
    int64_t cursor;       /* acknowledged up to, at the end (of its only log) */
    int logs;             /* logs it shipped (a shared trail may have many) */
    int failed;           /* it stopped on an error (in error) */
    char error[512];
} ship_sink_result;

/* What a run did: totals over the sinks, then each sink. */
typedef struct ship_result {
    char log_id[37];
    char log_name[128];
    int64_t shipped;
    int64_t skipped;
    int64_t checkpoints;
    int64_t head_seq;     /* the lowest cursor of the sinks at the end */
    int nsinks;
    ship_sink_result sink[SHIP_MAX_SINKS];
} ship_result;

/* Return codes of ship_run() and ship_start(). */
enum {
    SHIP_OK = 0,
    SHIP_EFAIL = -1,  /* a sink failed (refused a batch, or unreachable
                         without follow), or the local file cannot be read */
    SHIP_EUSAGE = -2  /* a bad sink URL, format or option: nothing was sent */
};

/*
** Ship once (each sink catching up to the local head), or with follow
** until *stop.  Returns SHIP_OK; or SHIP_EFAIL / SHIP_EUSAGE with a
** sentence in err (len bytes) naming the first sink that failed (out
** holds every sink's outcome).  Without follow, a sink that cannot be
** reached fails the run, except that a receiver's own request to retry
** later (HTTP 429/503 with Retry-After) is honoured a few times; with
** follow, unreachable sinks are waited for.
*/
int ship_run(const ship_options *opt, ship_result *out, char *err, size_t len);

/* Check opt without opening anything: the trail and sinks named, each
** sink's URL, format, secrets and files (nothing connects).  SHIP_OK, or
** SHIP_EUSAGE with a sentence in err. */
int ship_check(const ship_options *opt, char *err, size_t len);

/* Shipping in the background (serve and wrap --ship-to): every sink
** follows in a thread of its own until ship_finish().  opt and its strings
** are borrowed until then; opt->follow is implied and opt->stop ignored.
** Returns at once: ship_check()'s mistakes are returned (nothing started,
** *out NULL); the connections are opened by a thread, which tells on
** stderr (diag) why it could not, and the caller goes on without.  A sink
** that another process ships this log to already (its lock is held:
** another server on the same file, or a `ship --follow`) is not an error:
** it stands by, and takes over when the other lets go.  SHIP_OK with *out
** set. */
typedef struct ship_handle ship_handle;
int ship_start(const ship_options *opt, ship_handle **out, char *err, size_t len);

/* New entries were committed: look now rather than at the next poll
** (h may be NULL). */
void ship_wake(ship_handle *h);

/* Give the workers up to drain_ms to deliver what is there (a sink in an
** outage or standing by is not waited for), then stop them (abandoning a
** batch in flight: its cursor stays, and the next run sends it), wait for
** them and free h; out (may be NULL) receives what they did.  SHIP_OK, or
** SHIP_EFAIL with the first sink's error in err when one failed. */
int ship_finish(ship_handle *h, int drain_ms, ship_result *out, char *err, size_t len);

/* The ship cursors of the trail st (an open store; db its path,
** cursor_dir as in ship_options for a local file), each with its lag
** behind its log's head: fn is called once per sink and log, and a
** non-zero return stops.  SHIP_OK also when there is none.  Leaves st's
** selected log as it found it. */
typedef struct ship_cursor_info {
    char sink[SINK_DESC_LEN];
    char log_id[37];
    char log[STORE_LOG_NAME_MAX]; /* the log's name */
    int64_t seq;        /* acknowledged up to */
    int64_t lag;        /* entries of the log after it */
    char saved_at[TS_BUFLEN];
} ship_cursor_info;
int ship_cursors(store *st, const char *db, const char *cursor_dir,
                 int (*fn)(void *ctx, const ship_cursor_info *c), void *ctx, char *err,
                 size_t len);

#endif
