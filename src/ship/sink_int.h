/*
** sink_int.h: building blocks the sink implementations share, not part of
** the contract (sink.h): an HTTP client on libcurl for the OTLP, HEC and
** webhook sinks (sink_http.c), the RFC 5424 message for the RELP and
** syslog sinks (sink_syslog.c), and SIGPIPE kept away from the process.
*/
#ifndef DSS_SINK_INT_H
#define DSS_SINK_INT_H

#include <signal.h>
#include <stddef.h>

#include <curl/curl.h>

#include "sink.h"
#include "../util/jbuf.h"
#include "../util/utf8.h" /* utf8_printable() for receivers' words */

/* ---- HTTP (sink_http.c) ---- */

typedef struct sink_http {
    CURL *curl;
    volatile sig_atomic_t *stop;
    long status;        /* of the last response; 0 when none came */
    int retry_after_ms; /* its Retry-After, 0 when absent */
    jbuf body;          /* its body (at most SINK_HTTP_BODY_MAX bytes kept) */
    char ctype[128];    /* its Content-Type */
    char errbuf[CURL_ERROR_SIZE];
    char *ca_file;      /* --ca, for the messages; NULL: the system's store */
} sink_http;

enum { SINK_HTTP_BODY_MAX = 1 << 20 };

/* A client with cfg's TLS trust, client certificate, timeout and stop
** flag.  SINK_OK, or SINK_EUSAGE (an unreadable --ca, --client-cert or --client-key) /
** SINK_ENOMEM with a sentence in err.  Released with sink_http_free(). */
int sink_http_init(sink_http *h, const sink_config *cfg, char *err, size_t len);

/* POST body (n bytes) to url with the extra header lines given (NULL-ended;
** they may hold a secret: they are never printed).  SINK_OK when a
** response came, whatever its status (h->status, h->body, h->retry_after_ms);
** SINK_EDOWN when none did (the sentence names desc, never the URL's
** secrets); SINK_ESTOPPED when *stop was set. */
int sink_http_post(sink_http *h, const char *url, const char *desc,
                   const char *const *headers, const void *body, size_t n, char *err,
                   size_t len);

/* The same with the body in nparts parts, sent one after the other as
** they lie (never joined into one buffer): a batch's records after a head
** made for it.  The parts are borrowed for the call. */
typedef struct sink_part {
    const void *p;
    size_t n;
} sink_part;
int sink_http_post_parts(sink_http *h, const char *url, const char *desc,
                         const char *const *headers, const sink_part *parts, int nparts,
                         char *err, size_t len);

/* Whether an HTTP status is worth retrying per the OTLP specification
** (429, 502, 503, 504): 1 or 0. */
int sink_http_retryable(long status);

void sink_http_free(sink_http *h);

/* Apply cfg's TLS options to a libcurl handle (also for a raw TLS
** connection): verification against the system's CA store or ca_file,
** and the client certificate.  SINK_OK or SINK_EUSAGE with a sentence. */
int sink_curl_tls(CURL *curl, const sink_config *cfg, char *err, size_t len);

/* What a failed verification of the receiver's certificate was. */
typedef enum sink_tls_problem {
    SINK_TLS_UNKNOWN_CA,    /* no trusted CA signed it */
    SINK_TLS_NAME_MISMATCH, /* it does not name the host connected to */
    SINK_TLS_EXPIRED,       /* expired, or not valid yet */
    SINK_TLS_OTHER
} sink_tls_problem;

/* The one message a TLS sink shows when the receiver's certificate fails
** verification, into err: desc (the sink), the host, what is wrong, the
** TLS library's own words (detail; may be NULL) and what to do (--ca). */
void sink_tls_explain(const char *desc, const char *host, sink_tls_problem what,
                      const char *ca_file, const char *detail, char *err, size_t len);

/* After curl_easy_perform() on curl failed with cc: when the failure is
** the receiver's certificate (or our own TLS files), SINK_EREFUSED with
** sink_tls_explain()'s message in err (the host from the handle's URL,
** the problem from its verification result); 0 for any other failure,
** err untouched.  ca_file is --ca, NULL for the system's store. */
int sink_tls_refusal(CURL *curl, CURLcode cc, const char *ca_file, const char *desc,
                     const char *detail, char *err, size_t len);

/* ---- syslog (sink_syslog.c) ---- */

/* The private enterprise number in the structured data's SD-ID
** (dss-audit@32473): 32473 is the number RFC 5612 reserves for
** documentation examples; an organization with its own PEN can change it
** here, receivers match on the "dss-audit@" prefix. */
#define SINK_SYSLOG_SDID "dss-audit@32473"
#define SINK_SYSLOG_FACILITY 13 /* log audit (RFC 5424, table 1) */
#define SINK_SYSLOG_APP "dss-audit-mcp"

/* RFC 5424 severity of an entry: 6 informational; 4 warning for a
** security_event; 3 error for an entry with an error (docs/ship.md). */
int sink_syslog_severity(const entry_row *row);

/* Append the RFC 5424 message of the entry (no framing) to out:
**   <PRI>1 created_at hostname dss-audit-mcp - event_type
**   [dss-audit@32473 seq="" id="" log="" hash=""] BOM + the entry in format f
** (log is the row's log_id).  SINK_OK or an error as sink_entry_json(). */
int sink_syslog_message(sink_format f, const char *hostname, const entry_row *row, jbuf *out,
                        char *err, size_t len);

/* ---- OTLP (sink_otlp.c) ---- */

/* The OTLP sink's encoding, exposed for the benchmark's minimal client:
** sink_otlp_record() appends one entry's LogRecord (as a log_records
** field of ScopeLogs) to records; sink_otlp_request() puts n bytes of such
** records into the ExportLogsServiceRequest of the log log_id, in out
** (emptied first).  SINK_OK, or an error as sink_entry_json(). */
int sink_otlp_record(const entry_row *row, jbuf *records, char *err, size_t len);
int sink_otlp_request(const char *log_id, const char *records, size_t n, jbuf *out, char *err,
                      size_t len);

/* What receivers answer, decoded; exposed for tests/fuzz/fuzz_sinkreply.c.
**
** sink_otlp_partial_success(): an ExportLogsServiceResponse of n bytes
** { partial_success = 1 { rejected_log_records = 1; error_message = 2 } }
** answering a request of `records` records: the rejected count, within
** [0, records], and its message (utf8_printable(), "" when none) in msg;
** or -1 for bytes that are not such a response.
** sink_otlp_status_message(): ": " and the message of an error answer
** (a google.rpc.Status when h->ctype says protobuf, else the body's first
** line) into msg, "" when there is none.
** sink_hec_answer(): HEC's JSON answer: its code (-1 when absent, -2 when
** the answer's code or ackId is not a number HEC sends: never a success),
** its text (utf8_printable()), and when has_ack is given, whether it holds
** an ackId and which. */
int64_t sink_otlp_partial_success(const char *p, size_t n, size_t records, char *msg,
                                  size_t len);
void sink_otlp_status_message(const sink_http *h, char *msg, size_t len);
int sink_hec_answer(const char *p, size_t n, char *text, size_t len, int *has_ack,
                    int64_t *ack_id);

/* ---- signals ---- */

/* Writing to a socket the receiver closed raises SIGPIPE, which kills a
** process by default, and librelp writes without MSG_NOSIGNAL.  Around such
** writes the calling thread blocks SIGPIPE; the end discards one that
** became pending and restores the mask. */
void sink_sigpipe_block(sigset_t *saved);
void sink_sigpipe_restore(const sigset_t *saved);

#endif
