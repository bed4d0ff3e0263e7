/*
** sink_relp.c: relp:// and relp+tls://, syslog over RELP with librelp, the
** reliable protocol rsyslog uses between servers (imrelp/omrelp).
**
** Each entry is the RFC 5424 message the syslog sink sends
** (sink_syslog_message), one RELP "syslog" command each, and an entry
** counts as delivered only when the receiver acknowledged it.  librelp
** keeps its window of unacknowledged frames to itself, so a batch is one
** RELP session: open, the batch's commands, and a graceful close.  The
** receiver answers commands in order, so its answer to "close" comes after
** its answers to every command of the batch; librelp reports any answer
** other than "200 OK", a timeout or a broken session through the error
** callback.  A session that closed cleanly with no error reported is
** therefore a batch the receiver acknowledged whole; anything else is a
** batch to send again (the receiver can drop repeats by the entry's id).
**
** TLS: librelp verifies the receiver only when the client presents a
** certificate of its own (without one it falls back to anonymous TLS,
** which verifies nothing), so relp+tls:// needs --client-cert and --client-key, and
** checks the receiver's certificate against --ca (or the system's CA
** bundle) and its name against the URL's host.
*/
#include "sink_int.h"

#include <librelp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* librelp's shutdown flag is an int; the stop flag is a sig_atomic_t. */
_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "sig_atomic_t is not an int");

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
enum { RELP_WINDOW = 1024 };

typedef struct relp_sink {
    sink base;
    relpEngine_t *engine;
    char host[256], port[8];
    char hostname[256];
    int tls;
    char *ca, *cert, *key;
    int timeout_s;
    int failed;            /* the error callback fired in this session */
    int auth_failed;       /* ... about the receiver's certificate */
    char why[200];         /* what it said first */
} relp_sink;

static void on_error(void *usr, char *obj, char *msg, relpRetVal code)
{
    relp_sink *s = usr;
    if (!s) return;
    if (!s->failed) snprintf(s->why, sizeof s->why, "%s (librelp %d)", msg ? msg : "error", code);
    s->failed = 1;
}

/* librelp calls its debug printer unconditionally; it has no default. */
static void no_debug(char *fmt, ...)
{
    (void)fmt;
}

static void on_auth_error(void *usr, char *info, char *msg, relpRetVal code)
{
    relp_sink *s = usr;
    on_error(usr, info, msg, code);
    if (s) s->auth_failed = 1;
}

/* A client for one session with the options of the sink.  RELP_RET_OK or
** librelp's code. */
static relpRetVal make_client(relp_sink *s, relpClt_t **clt)
{
    relpRetVal r;
    if ((r = relpEngineCltConstruct(s->engine, clt)) != RELP_RET_OK) return r;
    if ((r = relpCltSetUsrPtr(*clt, s)) != RELP_RET_OK ||
        (r = relpCltSetTimeout(*clt, (unsigned)s->timeout_s)) != RELP_RET_OK ||
        (r = relpCltSetConnTimeout(*clt, s->timeout_s < 10 ? s->timeout_s : 10)) != RELP_RET_OK ||
        (r = relpCltSetWindowSize(*clt, RELP_WINDOW)) != RELP_RET_OK)
        return r;
    if (s->tls &&
        ((r = relpCltEnableTLS(*clt)) != RELP_RET_OK ||
         (r = relpCltSetCACert(*clt, s->ca)) != RELP_RET_OK ||
         (r = relpCltSetOwnCert(*clt, s->cert)) != RELP_RET_OK ||
         (r = relpCltSetPrivKey(*clt, s->key)) != RELP_RET_OK ||
         (r = relpCltSetAuthMode(*clt, (char *)"name")) != RELP_RET_OK ||
         (r = relpCltAddPermittedPeer(*clt, s->host)) != RELP_RET_OK))
        return r;
    return RELP_RET_OK;
}

/* A client connected to the sink's host: every address the name has, in
** getaddrinfo's order, until one answers.  librelp tries only the first
** address a name resolves to, and on a stock Debian "localhost" is ::1
** first, so a receiver listening on 127.0.0.1 would never be reached.  The
** name stays the permitted peer, so TLS still checks the certificate
** against it.  RELP_RET_OK with *clt connected, or librelp's code, with
** *setup set when a client could not even be set up.  *clt, when set, is
** the caller's to destroy either way. */
static relpRetVal connect_client(relp_sink *s, relpClt_t **clt, int *setup)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    relpRetVal r;
    char num[INET6_ADDRSTRLEN];
    if (getaddrinfo(s->host, s->port, &hints, &res) != 0 || !res) {
        if ((r = make_client(s, clt)) != RELP_RET_OK) {
            *setup = 1;
            return r;
        }
        /* Let librelp resolve and say why it failed, as before. */
        return relpCltConnect(*clt, AF_UNSPEC, (unsigned char *)s->port,
                              (unsigned char *)s->host);
    }
    r = RELP_RET_IO_ERR;
    for (struct addrinfo *a = res; a && !sink_stopped(&s->base); a = a->ai_next) {
        if (getnameinfo(a->ai_addr, a->ai_addrlen, num, sizeof num, NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        if (*clt) relpEngineCltDestruct(s->engine, clt);
        if ((r = make_client(s, clt)) != RELP_RET_OK) {
            *setup = 1;
            break;
        }
        s->failed = 0; /* what an earlier address said is not this one's */
        s->why[0] = '\0';
        r = relpCltConnect(*clt, a->ai_family, (unsigned char *)s->port, (unsigned char *)num);
        if (r == RELP_RET_OK || s->auth_failed) break;
    }
    freeaddrinfo(res);
    return r;
}

/* The RFC 5424 message of an entry: RELP frames it. */
static int relp_encode(sink *base, const entry_row *row, jbuf *out, char *err, size_t len)
{
    relp_sink *s = (relp_sink *)base;
    return sink_syslog_message(base->format, s->hostname, row, out, err, len);
}

static int relp_send(sink *base, const sink_batch *b, sink_ack *ack, char *err, size_t len)
{
    relp_sink *s = (relp_sink *)base;
    relpClt_t *clt = NULL;
    relpRetVal r;
    int rc = SINK_EDOWN;
    size_t sent = 0;
    int connected = 0;
    s->failed = s->auth_failed = 0;
    s->why[0] = '\0';
    sigset_t saved;
    sink_sigpipe_block(&saved);
    int setup = 0;
    if ((r = connect_client(s, &clt, &setup)) != RELP_RET_OK) {
        if (setup) {
            snprintf(err, len, "%s: cannot set up a RELP client (librelp %d)", base->desc, r);
            rc = SINK_EUSAGE;
        } else {
            snprintf(err, len, "%s: cannot open a RELP session: %s", base->desc,
                     s->why[0] ? s->why : "connection failed");
        }
        goto done;
    }
    connected = 1;
    relpCltHintBurstBegin(clt);
    for (; sent < b->n && !s->failed && !sink_stopped(base); sent++) {
        const char *msg = b->data + b->off[sent];
        size_t n = b->off[sent + 1] - b->off[sent];
        if ((r = relpCltSendSyslog(clt, (unsigned char *)msg, n)) != RELP_RET_OK) {
            if (!s->failed) snprintf(s->why, sizeof s->why, "send failed (librelp %d)", r);
            s->failed = 1;
        }
    }
    relpCltHintBurstEnd(clt);
done:
    /* The graceful close: waits for the receiver's answer to "close",
    ** after its answers to every command above. */
    if (clt) relpEngineCltDestruct(s->engine, &clt);
    sink_sigpipe_restore(&saved);
    if (rc == SINK_EUSAGE) return rc;
    if (sink_stopped(base)) {
        snprintf(err, len, "%s: stopped", base->desc);
        return SINK_ESTOPPED;
    }
    if (s->auth_failed) {
        /* A receiver that cannot prove who it is will not by retrying. */
        snprintf(err, len, "%s: %s", base->desc, s->why);
        return SINK_EREFUSED;
    }
    if (!connected) return SINK_EDOWN;
    if (sent < b->n || s->failed) {
        snprintf(err, len, "%s: the receiver did not acknowledge the batch: %s", base->desc,
                 s->why[0] ? s->why : "session broken");
        return SINK_EDOWN;
    }
    if (b->n) ack->seq = b->seq[b->n - 1];
    ack->stored = (int64_t)b->n;
    return SINK_OK;
}

static void relp_close(sink *base)
{
    relp_sink *s = (relp_sink *)base;
    if (s->engine) relpEngineDestruct(&s->engine);
    free(s->ca);
    free(s->cert);
    free(s->key);
    free(s);
}

static int relp_open(const sink_config *cfg, sink **out, char *err, size_t len)
{
    sink_url u;
    int rc = sink_url_parse(cfg->url, 0, &u, err, len);
    if (rc != SINK_OK) return rc;
    int tls = strcmp(u.scheme, "relp+tls") == 0;
    if (u.port == 0) {
        snprintf(err, len, "a RELP URL needs a port (rsyslog's imrelp has no default; "
                           "2514 is usual): relp://host:2514");
        return SINK_EUSAGE;
    }
    if (u.path[0] && strcmp(u.path, "/") != 0) {
        snprintf(err, len, "a RELP URL has no path: relp://host:port");
        return SINK_EUSAGE;
    }
    if (tls && (!cfg->cert_file || !cfg->key_file)) {
        snprintf(err, len, "relp+tls needs a client certificate (--client-cert FILE --client-key FILE): "
                           "without one librelp uses anonymous TLS, which cannot verify "
                           "the receiver");
        return SINK_EUSAGE;
    }
    const char *ca = cfg->ca_file ? cfg->ca_file : SYSTEM_CA_BUNDLE;
    const char *files[] = {tls ? ca : NULL, tls ? cfg->cert_file : NULL,
                           tls ? cfg->key_file : NULL};
    for (int i = 0; i < 3; i++) {
        FILE *f = files[i] ? fopen(files[i], "r") : NULL;
        if (files[i] && !f) {
            snprintf(err, len, "%s cannot be read", files[i]);
            return SINK_EUSAGE;
        }
        if (f) fclose(f);
    }
    relp_sink *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->tls = tls;
    snprintf(s->host, sizeof s->host, "%s", u.host);
    snprintf(s->port, sizeof s->port, "%d", u.port);
    snprintf(s->hostname, sizeof s->hostname, "%s", cfg->hostname ? cfg->hostname : "-");
    int secs = (cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000) / 1000;
    s->timeout_s = secs > 0 ? secs : 1;
    if (tls && (!(s->ca = strdup(ca)) || !(s->cert = strdup(cfg->cert_file)) ||
                !(s->key = strdup(cfg->key_file))))
        goto nomem;
    if (relpEngineConstruct(&s->engine) != RELP_RET_OK) goto nomem;
    relpEngineSetDbgprint(s->engine, no_debug);
    relpEngineSetOnErr(s->engine, on_error);
    relpEngineSetOnAuthErr(s->engine, on_auth_error);
    relpEngineSetEnableCmd(s->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
    if (cfg->stop) relpEngineSetShutdownImmdtPtr(s->engine, (int *)cfg->stop);
    *out = &s->base;
    return SINK_OK;
nomem:
    if (s) relp_close(&s->base);
    snprintf(err, len, "out of memory");
    return SINK_ENOMEM;
}

static const char *const relp_schemes[] = {"relp", "relp+tls", NULL};

const sink_type sink_relp_type = {
    .name = "RELP",
    .schemes = relp_schemes,
    .formats = 1u << SINK_FORMAT_JSONL | 1u << SINK_FORMAT_OCSF,
    .default_format = SINK_FORMAT_JSONL,
    .open = relp_open,
    .encode = relp_encode,
    .send = relp_send,
    .close = relp_close,
};
