/*
** sink.h: where `ship` delivers the trail, as one small contract.
**
** A sink is a receiver the shipper copies entries to: the team's
** PostgreSQL database (sink_pg.c), syslog over RELP (sink_relp.c) or over
** TCP and TLS (sink_syslog.c), OpenTelemetry over OTLP/HTTP (sink_otlp.c),
** Splunk's HTTP Event Collector (sink_hec.c) and webhooks (sink_webhook.c).
** Each implements the table of functions below: open from a URL and
** options, send a batch and say how far the receiver acknowledged it, and
** close.  Everything that is the same for every receiver is written once in
** ship.c: the durable cursor, reading batches, backoff with jitter, stopping,
** and the bookkeeping that makes a restart re-send at most one batch.
**
** Conventions: functions return SINK_OK (0) or a negative SINK_E* code
** with a sentence in err (len bytes).  A sentence never holds a secret: a
** URL is shown as sink_describe() masks it, and tokens and keys are never
** printed.  Strings passed in are borrowed for the call; a sink copies
** what it keeps.
*/
#ifndef DSS_SINK_H
#define DSS_SINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../store/store.h"

enum {
    SINK_OK = 0,
    SINK_EDOWN = -1,    /* the receiver cannot be reached or asked us to wait:
                           worth retrying the same batch later */
    SINK_EREFUSED = -2, /* the receiver refused the batch (a chain break, bad
                           data, a rejected token): retrying will not help */
    SINK_EUSAGE = -3,   /* a bad URL, format or option: nothing was sent */
    SINK_ENOMEM = -4,
    SINK_ESTOPPED = -5  /* *stop was set while waiting on the receiver */
};

#define SINK_DESC_LEN 256 /* sink_describe()'s buffer */

/* What entries look like on the wire.  Each sink accepts some (see its
** type's formats); SINK_FORMAT_DEFAULT picks the sink's own. */
typedef enum sink_format {
    SINK_FORMAT_DEFAULT = 0,
    SINK_FORMAT_JSONL, /* the entry as `query` prints it */
    SINK_FORMAT_OCSF,  /* OCSF API Activity, as `export --format ocsf` */
    SINK_FORMAT_OTLP   /* an OpenTelemetry log record, as `export --format otlp` */
} sink_format;

/* "jsonl", "ocsf" or "otlp" (static); and back: SINK_FORMAT_DEFAULT for
** an unknown name. */
const char *sink_format_name(sink_format f);
sink_format sink_format_parse(const char *name);

/* The options a sink is opened with.  Zero-initialize and set what you
** need; strings are borrowed for the call. */
typedef struct sink_config {
    const char *url;
    sink_format format;
    /* TLS: trust the CA certificates in this PEM file instead of the
    ** system's store; present this client certificate and key (relp+tls
    ** needs them; HTTP sinks use them for mutual TLS). */
    const char *ca_file;
    const char *cert_file, *key_file;
    const char *token;  /* Splunk HEC: the token (DSS_AUDIT_SINK_TOKEN) */
    const char *secret; /* webhook: the HMAC-SHA256 key (DSS_AUDIT_SINK_SECRET) */
    const char *hostname; /* this machine: syslog HOSTNAME, HEC host */
    /* The local log being shipped (a PostgreSQL sink creates it centrally
    ** under log->name, ship's --log); NULL when a shared trail's many logs
    ** are shipped, each batch naming its own (sink_batch.log). */
    const store_log *log;
    int timeout_ms; /* per network exchange; 0 = 30000 */
    /* Set (by a signal handler or ship_finish) to abandon a blocking wait;
    ** may be NULL. */
    volatile sig_atomic_t *stop;
} sink_config;

/* A batch of consecutive entries of one log, oldest first.  Sinks without
** SINK_RAW get each entry already encoded by their own encode(), straight
** from the stored row as the shipper read it (no tree is built): entry i
** is the bytes data[off[i]] .. data[off[i + 1]].  SINK_RAW sinks read
** raw[] (the stored bytes and hashes).  n may be 0 for a SINK_CHECKPOINTS
** sink, which ships what else became due. */
typedef struct sink_batch {
    const store_log *log;        /* the log the entries belong to */
    size_t n;
    const int64_t *seq;          /* seq[i] of each entry */
    const char *data;            /* NULL for SINK_RAW sinks */
    const size_t *off;           /* n + 1 offsets into data */
    const store_raw_entry *raw;  /* NULL for the others */
    store *local;                /* the local store (read only) */
} sink_batch;

/* What a send achieved, also when it failed part-way. */
typedef struct sink_ack {
    /* Acknowledged up to: every entry of the batch with seq at or below
    ** this was acknowledged by the receiver (0, or the seq before the
    ** batch, when none was).  Only this moves the cursor. */
    int64_t seq;
    int64_t stored;   /* entries the receiver newly kept */
    int64_t skipped;  /* entries it already had (PostgreSQL) */
    int64_t extra;    /* checkpoints and anchors delivered (PostgreSQL) */
    int64_t rejected; /* entries accepted but dropped (OTLP partial success) */
    /* SINK_EDOWN only: the receiver asked to be retried after this long
    ** (HTTP 429/503 Retry-After, Splunk busy); 0 when it did not say. */
    int retry_after_ms;
    /* Something worth telling a person although the send succeeded (the
    ** receiver's partial-success message), "" when nothing. */
    char note[256];
} sink_ack;

/* Every implementation's struct begins with this. */
typedef struct sink {
    const struct sink_type *type;
    sink_format format;            /* the format chosen (never DEFAULT) */
    char desc[SINK_DESC_LEN];      /* the URL as messages show it */
    volatile sig_atomic_t *stop;
} sink;

/* Capabilities. */
enum {
    SINK_RAW = 1 << 0,          /* wants raw rows, not printed entries */
    SINK_OWN_POSITION = 1 << 1, /* the receiver knows what it holds
                                   (position()); no local cursor is kept */
    SINK_CHECKPOINTS = 1 << 2,  /* also ships checkpoints (send with n 0) */
    SINK_PIPELINE = 1 << 3      /* encode() may run in another thread while
                                   send() runs (they share no state, and send
                                   reads nothing but the batch): the shipper
                                   reads and encodes the next batch while one
                                   is sent */
};

typedef struct sink_type {
    const char *name;             /* "relp", "syslog", ... for messages */
    const char *const *schemes;   /* the URL schemes it serves, NULL-ended */
    unsigned flags;               /* SINK_* capabilities */
    unsigned formats;             /* 1 << each sink_format accepted */
    sink_format default_format;
    /* Entries a batch holds when ship is not given --batch; 0 for ship's
    ** default (1000). */
    size_t batch;
    /* Check cfg and make a sink (connecting lazily, on the first send, so
    ** that a receiver that is down is an SINK_EDOWN to wait out rather
    ** than a failure to start).  *out is freed with close(). */
    int (*open)(const sink_config *cfg, sink **out, char *err, size_t len);
    /* Append the wire form of one entry (its stored row, entry.h, with
    ** log_id and log set) to out: what send() will carry for it.  SINK_OK,
    ** or SINK_EREFUSED (an entry that cannot be encoded) / SINK_ENOMEM
    ** with a sentence.  NULL for SINK_RAW sinks. */
    int (*encode)(sink *s, const entry_row *row, jbuf *out, char *err, size_t len);
    /* SINK_OWN_POSITION: the newest seq the receiver holds, read again
    ** before every batch. */
    int (*position)(sink *s, int64_t *seq, char *err, size_t len);
    /* Deliver the batch, in order; fill *ack (zeroed by the caller, seq set
    ** to the seq before the batch).  Returns SINK_OK when all of it was
    ** acknowledged. */
    int (*send)(sink *s, const sink_batch *b, sink_ack *ack, char *err, size_t len);
    /* Drop the connection and free (NULL is fine). */
    void (*close)(sink *s);
} sink_type;

/* The sink type serving url's scheme (a PostgreSQL URI or keyword string
** is PostgreSQL), or NULL with a sentence listing the known schemes. */
const sink_type *sink_type_of(const char *url, char *err, size_t len);

/* Open the sink for cfg->url: checks the format against the type, then
** calls its open().  *out is closed with sink_close(). */
int sink_open(const sink_config *cfg, sink **out, char *err, size_t len);
int sink_encode(sink *s, const entry_row *row, jbuf *out, char *err, size_t len);
int sink_send(sink *s, const sink_batch *b, sink_ack *ack, char *err, size_t len);
void sink_close(sink *s);

/* url as messages may show it, into out (SINK_DESC_LEN bytes): a
** password in user:password@ and every query string value become "***"
** (a PostgreSQL string as store_redact_path() masks it). */
void sink_describe(const char *url, char *out, size_t len);

/* A URL split as the sinks need it.  host is without brackets for IPv6;
** path is "" or begins with '/' and includes any query. */
typedef struct sink_url {
    char scheme[32];
    char host[256];
    int port;     /* the URL's, or default_port when it has none */
    char path[1024];
} sink_url;

/* Parse url (scheme://host[:port][/path]); userinfo is refused, since a
** secret does not belong on a command line.  SINK_OK or SINK_EUSAGE. */
int sink_url_parse(const char *url, int default_port, sink_url *out, char *err, size_t len);

/* Whether *stop is set: 1 or 0. */
int sink_stopped(const sink *s);

/* ---- The entry in each format, shared by the sinks ---- */

/* Append the JSON text of the entry in format f (JSONL: as `query` prints
** it; OCSF: the API Activity event; OTLP: the OTLP/JSON log record) to
** out.  SINK_OK, or SINK_ENOMEM / SINK_EREFUSED (an entry without a usable
** time) with a sentence in err. */
int sink_entry_json(sink_format f, const entry_row *row, jbuf *out, char *err, size_t len);

/* A text field of the row (ENTRY_F_*), NULL when it is SQL NULL. */
const char *sink_row_text(const entry_row *row, int field);

/* The sink types. */
extern const sink_type sink_pg_type, sink_relp_type, sink_syslog_type, sink_otlp_type,
    sink_hec_type, sink_webhook_type;

#endif
