/*
** witness.c: the tlog-witness HTTP service (witness.h).
**
** Each submission is handled whole on libmicrohttpd's one thread: parse,
** check the log's signature (no lock needed), then under the witness's
** lock one SQLite transaction reads the latest size and root, checks the
** old size and the consistency proof against them, signs, stores, and
** commits durably; only then is the cosignature sent.  The parsing and the
** checks are witness_check.c's.  A crash anywhere
** before the commit leaves the previous state and no cosignature.
*/
#include "witness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../integrity/signer.h"
#include "../tlog/ckpt.h"
#include "../tlog/proof.h"
#include "../util/diag.h"
#include "../util/jbuf.h"
#include "../util/utf8.h"
#include "../viewer/viewer_http.h"
#include "witness_check.h"
#include "witness_db.h"

struct witness {
    struct MHD_Daemon *d;
    wdb *db;
    pthread_mutex_t lock;
    int locked_init;
    note_signer key;
    char vkey[NOTE_VKEY_MAX];
    ckpt_log *logs;
    size_t nlogs;
    viewer_addr addr;
    int port;
};

/* One request's body as it arrives. */
typedef struct request {
    jbuf body;
    int too_large;
} request;

/* An answer: status, content type and text (copied by libmicrohttpd). */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result say(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A plain-text answer for people: the sentence and a newline. */
static enum MHD_Result say(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof text - 2) n = (int)sizeof text - 2;
    text[n] = '\n';
    text[n + 1] = '\0';
    return reply(c, status, "text/plain; charset=utf-8", text);
}

/* The log signature lines of n by keys of origin (all verified by
** ckpt_open), appended to out at *len. */
static void log_lines(const witness *w, const note *n, const char *origin, char *out,
                      size_t *len)
{
    for (size_t s = 0; s < n->nsigs; s++)
        for (size_t i = 0; i < w->nlogs; i++) {
            const note_key *k = &w->logs[i].key;
            if (strcmp(w->logs[i].origin, origin) == 0 && k->id == n->sigs[s].id &&
                strlen(k->name) == n->sigs[s].name_len &&
                memcmp(k->name, n->sigs[s].name, n->sigs[s].name_len) == 0) {
                memcpy(out + *len, n->sigs[s].line, n->sigs[s].line_len);
                *len += n->sigs[s].line_len;
                break;
            }
        }
}

/* Keep a validly signed checkpoint the witness refused as inconsistent:
** it may be the evidence of a fork.  A failure is only reported. */
static void keep_refused(witness *w, const char *origin, int64_t old, const char *body,
                         size_t len, const char *reason)
{
    char err[512];
    if (wdb_refused(w->db, origin, old, body, len, reason, err, sizeof err) != 0)
        diag("witness: %s", err);
    diag("witness: refused a checkpoint of %s: %s", origin, reason);
}

/* The checks under the lock, from "old size is the latest" on
** (witness_judge), then the cosignature, stored before it is sent.
** Returns the HTTP status; fills line (the cosignature) on 200, msg
** otherwise. */
static unsigned check_and_cosign(witness *w, const witness_submission *s,
                                 char line[NOTE_LINE_MAX], char *msg, size_t msglen)
{
    const proof_consistency *pc = &s->pc;
    const note *n = &s->n;
    const ckpt *cp = &s->cp;
    char err[512];
    int64_t latest = 0;
    uint8_t root[32];
    /* A log never cosigned is held at size 0: the empty tree. */
    merkle_empty_root(root);
    if (wdb_begin(w->db, err, sizeof err) != 0 ||
        wdb_latest(w->db, cp->origin, &latest, root, err, sizeof err) < 0) {
        wdb_rollback(w->db);
        snprintf(msg, msglen, "%s", err);
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    unsigned status = witness_judge(s, latest, root, msg, msglen);
    if (status != MHD_HTTP_OK) {
        wdb_rollback(w->db);
        return status;
    }
    /* Sign, and store what monitors are served: the checkpoint with the
    ** log's verified signatures and this cosignature. */
    uint64_t now = (uint64_t)time(NULL);
    if (note_sign_line(&w->key, n->text, n->text_len, now ? now : 1, line, err, sizeof err) !=
        NOTE_OK) {
        wdb_rollback(w->db);
        snprintf(msg, msglen, "%s", err);
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    size_t len = n->text_len;
    char *served = malloc(n->text_len + 1 + pc->checkpoint_len + NOTE_LINE_MAX + 1);
    if (!served) {
        wdb_rollback(w->db);
        snprintf(msg, msglen, "out of memory");
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    memcpy(served, n->text, n->text_len);
    served[len++] = '\n';
    log_lines(w, n, cp->origin, served, &len);
    strcpy(served + len, line);
    int rc = wdb_store(w->db, cp->origin, cp->size, cp->root, served, err, sizeof err);
    free(served);
    if (rc != 0 || wdb_commit(w->db, err, sizeof err) != 0) {
        wdb_rollback(w->db);
        snprintf(msg, msglen, "%s", err);
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return MHD_HTTP_OK;
}

static enum MHD_Result add_checkpoint(witness *w, struct MHD_Connection *c, const char *body,
                                      size_t len)
{
    char msg[512], line[NOTE_LINE_MAX];
    witness_submission *s = malloc(sizeof *s);
    enum MHD_Result ret;
    if (!s) return say(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    unsigned status = witness_check_submission(w->logs, w->nlogs, body, len, s, msg, sizeof msg);
    if (status != 0) {
        ret = say(c, status, "%s", msg);
        goto done;
    }
    pthread_mutex_lock(&w->lock);
    status = check_and_cosign(w, s, line, msg, sizeof msg);
    pthread_mutex_unlock(&w->lock);
    switch (status) {
    case MHD_HTTP_OK:
        ret = reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", line);
        break;
    case MHD_HTTP_CONFLICT:
        ret = reply(c, MHD_HTTP_CONFLICT, "text/x.tlog.size", msg);
        break;
    case MHD_HTTP_UNPROCESSABLE_CONTENT:
        keep_refused(w, s->cp.origin, s->pc.old_size, body, len, msg);
        ret = say(c, status, "%s", msg);
        break;
    default:
        diag("witness: %s", msg);
        ret = say(c, status, "the witness could not record the checkpoint: %s", msg);
    }
done:
    free(s);
    return ret;
}

/* GET /<64 lowercase hex>/checkpoint. */
static enum MHD_Result monitor(witness *w, struct MHD_Connection *c, const char *url)
{
    char hex[65], err[512], *served = NULL;
    if (strlen(url) != 1 + 64 + strlen("/checkpoint") || strcmp(url + 65, "/checkpoint") != 0 ||
        strspn(url + 1, "0123456789abcdef") < 64)
        return say(c, MHD_HTTP_NOT_FOUND, "not found");
    memcpy(hex, url + 1, 64);
    hex[64] = '\0';
    pthread_mutex_lock(&w->lock);
    int found = wdb_served_by_hash(w->db, hex, &served, err, sizeof err);
    pthread_mutex_unlock(&w->lock);
    if (found < 0) return say(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
    if (found == 0) return say(c, MHD_HTTP_NOT_FOUND, "the witness never cosigned that log");
    enum MHD_Result ret = reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", served);
    free(served);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    witness *w = cls;
    request *r = *con_cls;
    int submit = strcmp(url, "/add-checkpoint") == 0;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        *con_cls = r;
        /* Refuse a body announced too large before it is sent. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (submit && cl && strtoull(cl, NULL, 10) > WITNESS_MAX_BODY)
            return say(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than %d bytes",
                       WITNESS_MAX_BODY);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large) return MHD_YES;
        if (n > WITNESS_MAX_BODY - r->body.len) {
            r->too_large = 1;
            jbuf_free(&r->body);
            return say(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than %d bytes",
                       WITNESS_MAX_BODY);
        }
        jbuf_put(&r->body, upload, n);
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    if (r->too_large) return MHD_YES; /* answered already */
    if (submit) {
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return say(c, MHD_HTTP_METHOD_NOT_ALLOWED, "add-checkpoint takes a POST");
        /* NUL-ended for the parser (room for it is always kept). */
        if (jbuf_reserve(&r->body, 0) != 0) return MHD_NO;
        r->body.p[r->body.len] = '\0';
        return add_checkpoint(w, c, r->body.p, r->body.len);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return monitor(w, c, url);
    return say(c, MHD_HTTP_NOT_FOUND, "not found");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request *r = *con_cls;
    if (!r) return;
    jbuf_free(&r->body);
    free(r);
    *con_cls = NULL;
}

/* The cosigner's name: the one given (remembered), else the one the state
** remembers, else one derived from the key. */
static int choose_name(witness *w, const witness_options *o, const uint8_t pk[32], char *name,
                       size_t cap, char *err, size_t errlen)
{
    if (o->name) {
        snprintf(name, cap, "%s", o->name);
        return wdb_meta_set(w->db, "name", name, err, errlen);
    }
    int found = wdb_meta_get(w->db, "name", name, cap, err, errlen);
    if (found != 0) return found < 0 ? -1 : 0;
    uint8_t h[32];
    char hex[65];
    crypto_hash_sha256(h, pk, 32);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(name, cap, "dss-audit-witness/%.16s", hex);
    return wdb_meta_set(w->db, "name", name, err, errlen);
}

witness *witness_start(const witness_options *o, char *err, size_t errlen)
{
    char name[NOTE_NAME_MAX + 1];
    signer sg;
    witness *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        snprintf(err, errlen, "cannot create a lock");
        free(w);
        return NULL;
    }
    w->locked_init = 1;
    if (viewer_parse_listen(o->listen ? o->listen : "127.0.0.1:0", &w->addr, err, errlen) != 0)
        goto fail;
    if (o->nlogs == 0) {
        snprintf(err, errlen, "a witness needs the verifier key of at least one log (--log)");
        goto fail;
    }
    if (!(w->logs = calloc(o->nlogs, sizeof *w->logs))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < o->nlogs; i++) {
        char why[256];
        if (ckpt_log_from_vkey(o->log_vkeys[i], &w->logs[i], why, sizeof why) != CKPT_OK) {
            snprintf(err, errlen, "--log %.*s: %s", utf8_cut(o->log_vkeys[i], 100),
                     o->log_vkeys[i], why);
            goto fail;
        }
    }
    w->nlogs = o->nlogs;
    if (!o->key_path || !o->db_path) {
        snprintf(err, errlen, "a witness needs --key FILE and --db FILE");
        goto fail;
    }
    if (signer_load(o->key_path, 1, &sg, err, errlen) != 0) goto fail;
    if (!(w->db = wdb_open(o->db_path, err, errlen)) ||
        choose_name(w, o, sg.pk, name, sizeof name, err, errlen) != 0 ||
        note_signer_make(&w->key, name, NOTE_COSIGNATURE, sg.sk, err, errlen) != NOTE_OK) {
        signer_wipe(&sg);
        goto fail;
    }
    signer_wipe(&sg);
    note_key_format(&w->key.key, w->vkey);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (w->addr.ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    w->d = MHD_start_daemon(flags, (uint16_t)w->addr.port, NULL, NULL, on_request, w,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&w->addr.ss,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                            MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!w->d) {
        snprintf(err, errlen, "cannot listen on %s (in use, or not an address of this machine)",
                 o->listen ? o->listen : "127.0.0.1:0");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info ? info->port : w->addr.port;
    return w;
fail:
    witness_stop(w);
    return NULL;
}

int witness_port(const witness *w)
{
    return w->port;
}

const char *witness_vkey(const witness *w)
{
    return w->vkey;
}

void witness_stop(witness *w)
{
    if (!w) return;
    if (w->d) MHD_stop_daemon(w->d);
    wdb_close(w->db);
    free(w->logs);
    note_signer_wipe(&w->key);
    if (w->locked_init) pthread_mutex_destroy(&w->lock);
    free(w);
}

int witness_run(const witness_options *o, char *err, size_t errlen)
{
    sigset_t stop;
    int sig;
    /* Blocked before the daemon's thread starts, so that it inherits the
    ** mask and the signal reaches sigwait() below. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    witness *w = witness_start(o, err, errlen);
    if (!w) return -1;
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    int v6 = w->addr.ss.ss_family == AF_INET6;
    if (v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&w->addr.ss)->sin6_addr, host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&w->addr.ss)->sin_addr, host, sizeof host);
    diag("witness: verifier key %s", w->vkey);
    diag("witness: watching %zu log key(s); submission prefix http://%s%s%s:%d "
         "(POST /add-checkpoint); Ctrl-C stops it",
         w->nlogs, v6 ? "[" : "", host, v6 ? "]" : "", w->port);
    sigwait(&stop, &sig);
    witness_stop(w);
    return 0;
}
