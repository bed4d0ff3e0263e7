/*
** relay.c: the poll loop, in-flight table and write-ahead recording of
** `wrap` (see relay.h).
**
** One iteration: poll the client, the server's transport and a self-pipe
** for signals; drain every complete message that is ready from both sides;
** each becomes an outbox item (the bytes to forward, or a reply we make)
** and, when it is audit data, an entry appended to the recorder's group
** (record.h).  Then commit the group once and write the outbox in order.
** An item that carries a refusal (a recorded client request) goes only
** when the recorder says its ticket is durable, and otherwise sends the
** refusal instead, so the server never sees an unrecorded call.
**
** The server itself is behind transport.h (stdio: a child over pipes), so
** nothing here knows how messages reach it or how it ends.
*/
#define _GNU_SOURCE /* pipe2 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../protocol/frame.h"
#include "../protocol/mcp.h"
#include "../protocol/rpc.h"
#include "../util/diag.h"
#include "../util/fsutil.h"
#include "../util/ts.h"
#include "../util/uuid7.h"
#include "transport.h"

enum dir { C2S = 0, S2C = 1 }; /* who sent the request */
enum { RELAY_CACHE_KIB = 2048 };

/* A request still waiting for its response. */
typedef struct flight {
    int dir;
    char *id;        /* exact JSON text of the id */
    char *op;        /* operation_name of its entry */
    char *method;
    int recorded;    /* entry[] names a committed (or pending) entry */
    unsigned batch;  /* the client batch it came in, or 0 */
    char entry[37];
    int64_t start_us;
} flight;

/* One message to send once the iteration's records are durable. */
typedef struct item {
    int to_server;   /* else to the client */
    char *bytes;     /* without newline */
    size_t len;
    char *refusal;   /* sent to the client instead when the commit fails */
    int flight;      /* index into the in-flight table of the request, or -1 */
    unsigned batch;  /* a client batch: its flights go if it is refused */
    int64_t ticket;  /* of the records the bytes wait for (recorder_ticket) */
} item;

typedef struct relay {
    const relay_options *o;
    store *st;
    recorder *rec;     /* over st; NULL when the trail could not be opened */
    char session[UUID7_BUFLEN];
    char *server_id;   /* serialized {name, version} */
    char *client_id;
    char *base_name;
    flight *fl;
    size_t nfl, capfl;
    item *out;
    size_t nout, capout;
    char tx_err[STORE_ERRLEN];
    int untrailed;     /* a record was asked for with no trail open */
    transport *srv;    /* the wrapped server */
    int client_open, server_open;
    int status;        /* the server's exit status, once it ended */
    int stopping;      /* client gone or signal: wrapper is ending the server */
    int warned;        /* the trail's failure was reported (once per streak) */
    unsigned batch;    /* the current client batch's number while it is read */
    unsigned batches;
} relay;

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) {}
    errno = saved;
}

static int64_t now_us(void) { return ts_now_us(); }

static int write_line(int fd, const char *p, size_t n)
{
    return fs_write_all(fd, p, n) == 0 && fs_write_all(fd, "\n", 1) == 0 ? 0 : -1;
}

/* ---- server identity -------------------------------------------------- */

/* Set the server identity from serverInfo (may be NULL), with --name or
** the command's base name standing in for a missing name. */
static void set_server(relay *r, const cJSON *info)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(info, "name");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, "version");
    const char *name = r->o->name ? r->o->name
                       : cJSON_IsString(n) ? n->valuestring : r->base_name;
    cJSON_AddStringToObject(o, "name", name);
    if (cJSON_IsString(v)) cJSON_AddStringToObject(o, "version", v->valuestring);
    char *id = record_identity(o);
    cJSON_Delete(o);
    if (id) {
        free(r->server_id);
        r->server_id = id;
    }
}

/* ---- recording -------------------------------------------------------- */

/* Append ev to the iteration's group; entry (37 bytes) receives its id.
** Returns 0 or -1 (the whole iteration then counts as unrecorded: the
** recorder refuses the group's other appends and its commit). */
static int rec(relay *r, record_event *ev, char *entry)
{
    if (!r->rec) {
        snprintf(r->tx_err, sizeof r->tx_err, "the audit database is not open");
        r->untrailed = 1;
        return -1;
    }
    ev->user_id = r->o->actor;
    ev->session_id = r->session;
    if (!ev->server) ev->server = r->server_id;
    if (!ev->client) ev->client = r->client_id;
    store_receipt rc;
    if (recorder_append(r->rec, ev, &rc, r->tx_err) != STORE_OK) return -1;
    if (entry) memcpy(entry, rc.id, sizeof rc.id);
    return 0;
}

/* Record the outcome of flight f: a result, an error object, or a reason
** with no answer (cancelled, server exited, wrapper stopped). */
static void rec_outcome(relay *r, flight *f, const cJSON *result,
                        const cJSON *error, const char *reason)
{
    if (!f->recorded) return;
    char text[512];
    cJSON *res = NULL;
    int oom = 0;
    const char *etext = reason;
    if (error) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        snprintf(text, sizeof text, "JSON-RPC error %d: %s",
                 cJSON_IsNumber(code) ? code->valueint : 0,
                 cJSON_IsString(msg) ? msg->valuestring : "");
        etext = text;
    } else if (result) {
        record_results mode = strcmp(f->method, "tools/call") == 0
                                  ? r->o->results : RECORD_RESULTS_FULL;
        res = record_result(result, mode, &oom);
        const cJSON *ie = cJSON_GetObjectItemCaseSensitive(result, "isError");
        if (cJSON_IsTrue(ie)) etext = "the tool returned isError";
    }
    record_event ev = {
        .event_type = "mcp_outcome",
        .operation_name = f->op,
        .operation_id = f->id,
        .result = res,
        .error = etext,
        .completes = f->entry,
        .has_duration = 1,
        .duration_ms = (now_us() - f->start_us) / 1000,
    };
    rec(r, &ev, NULL);
    cJSON_Delete(res);
}

/* ---- in-flight table and outbox --------------------------------------- */

static int flight_find(relay *r, int dir, const char *id)
{
    for (size_t i = 0; i < r->nfl; i++)
        if (r->fl[i].dir == dir && r->fl[i].id && strcmp(r->fl[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int flight_add(relay *r, int dir, const char *id, const char *method,
                      const char *op)
{
    if (r->nfl == r->capfl) {
        size_t cap = r->capfl ? r->capfl * 2 : 16;
        flight *n = realloc(r->fl, cap * sizeof *n);
        if (!n) return -1;
        r->fl = n;
        r->capfl = cap;
    }
    flight *f = &r->fl[r->nfl];
    memset(f, 0, sizeof *f);
    f->dir = dir;
    f->batch = r->batch;
    f->id = strdup(id);
    f->method = strdup(method);
    f->op = strdup(op);
    f->start_us = now_us();
    if (!f->id || !f->method || !f->op) {
        free(f->id);
        free(f->method);
        free(f->op);
        return -1;
    }
    return (int)r->nfl++;
}

/* Remove flight i; outbox items pointing at later flights are renumbered. */
static void flight_drop(relay *r, int i)
{
    free(r->fl[i].id);
    free(r->fl[i].method);
    free(r->fl[i].op);
    memmove(&r->fl[i], &r->fl[i + 1], (r->nfl - (size_t)i - 1) * sizeof *r->fl);
    r->nfl--;
    for (size_t k = 0; k < r->nout; k++) {
        if (r->out[k].flight == i) r->out[k].flight = -1;
        else if (r->out[k].flight > i) r->out[k].flight--;
    }
}

/* Queue bytes (copied, or taken over when own) for the server or the
** client. */
static int queue(relay *r, int to_server, const char *bytes, size_t len, int own,
                 char *refusal, int fl)
{
    if (r->nout == r->capout) {
        size_t cap = r->capout ? r->capout * 2 : 32;
        item *n = realloc(r->out, cap * sizeof *n);
        if (!n) goto oom;
        r->out = n;
        r->capout = cap;
    }
    char *b = own ? (char *)bytes : malloc(len + 1);
    if (!b) goto oom;
    if (!own) memcpy(b, bytes, len);
    r->out[r->nout++] = (item){to_server, b, len, refusal, fl, 0,
                               r->rec ? recorder_ticket(r->rec) : 0};
    return 0;
oom:
    if (own) free((char *)bytes);
    free(refusal);
    return -1;
}

/* ---- classifying messages --------------------------------------------- */

static int recorded_method(const char *m)
{
    return strcmp(m, "tools/call") == 0 || strcmp(m, "initialize") == 0 ||
           strcmp(m, "resources/read") == 0 || strcmp(m, "prompts/get") == 0;
}

static char *id_json(const cJSON *id)
{
    return id ? cJSON_PrintUnformatted(id) : NULL;
}

/* A request from the client (dir C2S) or from the server (S2C).  Returns
** the flight's index or -1. */
static int on_request(relay *r, int dir, const cJSON *root, const char *id)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    const char *method = m->valuestring;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    const char *op = method;
    const char *etype = dir == C2S ? "mcp_request" : "mcp_server_request";
    cJSON *args = NULL;
    if (dir == C2S && strcmp(method, "tools/call") == 0) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(params, "name");
        if (cJSON_IsString(n)) op = n->valuestring;
        etype = "tool_call";
        args = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(params, "arguments"), 1);
    } else if (params) {
        args = cJSON_Duplicate(params, 1);
    }
    if (dir == C2S && strcmp(method, "initialize") == 0) {
        char *cid = record_identity(
            cJSON_GetObjectItemCaseSensitive(params, "clientInfo"));
        if (cid) {
            free(r->client_id);
            r->client_id = cid;
        }
    }
    int i = flight_add(r, dir, id, method, op);
    if (i >= 0 && (dir == S2C || recorded_method(method))) {
        record_event ev = {.event_type = etype, .operation_name = op,
                           .operation_id = id, .args = args};
        if (rec(r, &ev, r->fl[i].entry) == 0) r->fl[i].recorded = 1;
        else r->fl[i].recorded = -1; /* asked for, not written */
    }
    cJSON_Delete(args);
    return i;
}

/* A response travelling in direction `to` answers a request of the other
** side. */
static void on_response(relay *r, int req_dir, const cJSON *root, const char *id)
{
    int i = flight_find(r, req_dir, id);
    if (i < 0) return;
    flight *f = &r->fl[i];
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (req_dir == C2S && strcmp(f->method, "initialize") == 0 && result)
        set_server(r, cJSON_GetObjectItemCaseSensitive(result, "serverInfo"));
    if (f->recorded == 1) rec_outcome(r, f, result, error, NULL);
    flight_drop(r, i);
}

/* notifications/cancelled, sent by the side that made the request. */
static void on_notification(relay *r, int req_dir, const cJSON *root)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!cJSON_IsString(m) || strcmp(m->valuestring, "notifications/cancelled") != 0)
        return;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    char *id = id_json(cJSON_GetObjectItemCaseSensitive(params, "requestId"));
    int i = id ? flight_find(r, req_dir, id) : -1;
    free(id);
    if (i < 0) return;
    if (r->fl[i].recorded == 1) rec_outcome(r, &r->fl[i], NULL, NULL, "cancelled");
    flight_drop(r, i);
}

/* One checked message object from `from` (C2S: the client).  Returns the
** flight index of a request, else -1. */
static int on_message(relay *r, int from, const cJSON *root, const char *id)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (cJSON_IsString(m) && id) return on_request(r, from, root, id);
    if (cJSON_IsString(m)) on_notification(r, from, root); /* sender's own request */
    else if (id) on_response(r, from == C2S ? S2C : C2S, root, id);
    return -1;
}

/* Each object of a batch from `from`; returns 1 when any was a request
** whose record was asked for. */
static int on_batch(relay *r, int from, const cJSON *root)
{
    int recorded = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!cJSON_IsObject(e)) continue;
        char *id = id_json(cJSON_GetObjectItemCaseSensitive(e, "id"));
        int i = on_message(r, from, e, id);
        if (i >= 0 && r->fl[i].recorded) recorded = 1;
        free(id);
    }
    return recorded;
}

static char *refusal_for(const char *id)
{
    return rpc_reply_error(id, RELAY_AUDIT_UNAVAILABLE,
                           "audit trail unavailable: the request was not "
                           "forwarded because it could not be recorded", NULL);
}

/* Record an invalid line from the client. */
static void rec_invalid(relay *r, const char *reply)
{
    cJSON *j = cJSON_Parse(reply);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
    record_event ev = {.event_type = "mcp_invalid_input",
                       .operation_name = "invalid_message",
                       .error = cJSON_IsString(msg) ? msg->valuestring : reply};
    rec(r, &ev, NULL);
    cJSON_Delete(j);
}

/* Parse a message with serve's limits: its kind, and *msg unless invalid
** (then *reply holds the error reply for it, which the caller frees). */
static rpc_kind parse(relay *r, const char *line, size_t len, rpc_message *msg,
                      char **reply)
{
    rpc_limits lim = {.max_depth = r->o->max_depth};
    *reply = NULL;
    return rpc_parse(line, len, &lim, msg, reply);
}

/* A line from the client: recorded as it calls for, then queued for the
** server, or answered here when it is not a JSON-RPC message. */
static void client_line(relay *r, int kind, const char *line, size_t len)
{
    rpc_message msg;
    char *reply = NULL;
    rpc_kind k = kind == FRAME_TOO_LONG ? RPC_KIND_INVALID : parse(r, line, len, &msg, &reply);
    if (kind == FRAME_TOO_LONG) reply = mcp_too_long_reply(r->o->max_message_bytes);
    if (k == RPC_KIND_INVALID) {
        if (reply) {
            rec_invalid(r, reply);
            queue(r, 0, reply, strlen(reply), 1, NULL, -1);
        }
        return;
    }
    int fl = -1;
    char *refusal = NULL;
    if (k == RPC_KIND_BATCH) {
        /* A batch goes as one line: refused whole if any part could not
        ** be recorded. */
        r->batch = ++r->batches ? r->batches : ++r->batches;
        if (on_batch(r, C2S, msg.root)) refusal = refusal_for(NULL);
    } else {
        fl = on_message(r, C2S, msg.root, msg.id);
        if (fl >= 0 && r->fl[fl].recorded) refusal = refusal_for(msg.id);
    }
    if (queue(r, 1, line, len, 0, refusal, fl) == 0) r->out[r->nout - 1].batch = r->batch;
    r->batch = 0;
    rpc_message_free(&msg);
}

/* A message from the server: recorded as it calls for, then queued for
** the client. */
static void server_message(relay *r, int kind, const char *line, size_t len)
{
    if (kind == TRANSPORT_TOO_LONG) {
        diag("wrap: the server sent a message longer than %zu bytes; dropped",
             r->o->max_message_bytes);
        return;
    }
    rpc_message msg;
    char *reply;
    rpc_kind k = parse(r, line, len, &msg, &reply);
    if (k == RPC_KIND_INVALID) {
        /* Not JSON-RPC: the server's chatter belongs on stderr. */
        free(reply);
        fprintf(stderr, "%.*s\n", (int)len, line);
        return;
    }
    if (k == RPC_KIND_BATCH) {
        on_batch(r, S2C, msg.root);
    } else {
        on_message(r, S2C, msg.root, msg.id);
    }
    queue(r, 0, line, len, 0, NULL, -1);
    rpc_message_free(&msg);
}

/* Take every message the server has waiting; notes when it has ended. */
static void drain_server(relay *r)
{
    const char *msg;
    size_t len;
    int k;
    while ((k = r->srv->ops->next(r->srv, &msg, &len)) == TRANSPORT_MSG ||
           k == TRANSPORT_TOO_LONG)
        server_message(r, k, msg, len);
    if (k == TRANSPORT_GONE) r->server_open = 0;
}

/* Commit the iteration's records, then send the outbox in order. */
static void flush(relay *r)
{
    int had = r->rec && recorder_pending(r->rec);
    int ok = r->rec ? recorder_commit(r->rec, r->tx_err) == STORE_OK : !r->untrailed;
    r->untrailed = 0;
    if (ok && had) r->warned = 0;
    if (!ok && r->nout && !r->warned++)
        diag("wrap: the audit trail cannot be written: %s%s", r->tx_err,
             r->o->fail_open ? " (--fail-open: forwarding unrecorded)" : "");
    for (size_t k = 0; k < r->nout; k++) {
        item *it = &r->out[k];
        int to_server = it->to_server;
        const char *b = it->bytes;
        size_t n = it->len;
        if (it->refusal && !r->o->fail_open &&
            !(r->rec && recorder_durable(r->rec, it->ticket, NULL))) {
            to_server = 0;
            b = it->refusal;
            n = strlen(b);
            if (it->flight >= 0) flight_drop(r, it->flight);
            for (size_t i = r->nfl; it->batch && i-- > 0;)
                if (r->fl[i].batch == it->batch) flight_drop(r, (int)i);
        }
        /* A server that can take no more shows its end in the transport. */
        if (to_server) r->srv->ops->send(r->srv, b, n);
        else write_line(r->o->out_fd, b, n);
        free(it->bytes);
        free(it->refusal);
    }
    r->nout = 0;
    if (!ok)
        for (size_t i = 0; i < r->nfl; i++)
            if (r->fl[i].recorded == 1) r->fl[i].recorded = 0;
    if (r->rec) recorder_done(r->rec);
}

/* ---- lifecycle --------------------------------------------------------- */

/* Every request still in flight ends without an answer. */
static void end_flights(relay *r)
{
    char text[160];
    if (r->stopping)
        snprintf(text, sizeof text, "no answer: the wrapper stopped the server");
    else
        snprintf(text, sizeof text,
                 "no answer: the MCP server exited with status %d", r->status);
    while (r->nfl) {
        flight *f = &r->fl[0];
        if (f->recorded == 1) rec_outcome(r, f, NULL, NULL, text);
        if (f->dir == C2S && r->client_open >= 0 && !r->stopping) {
            char *reply = rpc_reply_error(f->id, RELAY_SERVER_EXITED, text, NULL);
            if (reply) queue(r, 0, reply, strlen(reply), 1, NULL, -1);
        }
        flight_drop(r, 0);
    }
    flush(r);
}

/* The wrapper is ending the server (the client went away, or a signal):
** nothing more is sent, and it has --kill-after seconds to finish, then
** it is asked to stop, and as long again (and a second) before it is
** killed.  What it still says is relayed meanwhile. */
static void stop_server(relay *r)
{
    transport *t = r->srv;
    int64_t t0 = now_us(), grace = (int64_t)r->o->kill_after_s * 1000000;
    int asked = 0;
    t->ops->shut(t);
    while (!t->ops->ended(t, 0, &r->status)) {
        int64_t el = now_us() - t0;
        if (!asked && el >= grace) {
            t->ops->stop(t, 0);
            asked = 1;
        } else if (asked && el >= 2 * grace + 1000000) {
            t->ops->stop(t, 1);
            t->ops->ended(t, 1, &r->status);
            break;
        }
        struct pollfd p = {.fd = r->server_open ? t->ops->fd(t) : -1, .events = POLLIN};
        if (poll(&p, 1, 50) > 0 && r->server_open) {
            drain_server(r);
            flush(r);
        }
    }
}

/* The server has said its last (its output ended): it has --kill-after
** seconds to end by itself before it is killed. */
static void await_server(relay *r)
{
    transport *t = r->srv;
    int64_t t0 = now_us();
    t->ops->shut(t);
    while (!t->ops->ended(t, 0, &r->status) &&
           now_us() - t0 < (int64_t)r->o->kill_after_s * 1000000)
        poll(NULL, 0, 20);
    if (!t->ops->ended(t, 0, &r->status)) {
        t->ops->stop(t, 1);
        t->ops->ended(t, 1, &r->status);
    }
}

/* The transport to the server relay_options names. */
static transport *open_server(const relay_options *o, char *err, size_t errlen)
{
    transport_stdio_options so = {.argv = o->argv, .path = o->path, .envp = o->envp,
                                  .max_message_bytes = o->max_message_bytes};
    return transport_stdio_open(&so, err, errlen);
}

int relay_run(const relay_options *o, char *err, size_t errlen)
{
    relay r = {.o = o, .client_open = 1, .server_open = 1};
    frame *fc = NULL;
    int status = -1;
    char serr[STORE_ERRLEN];
    uuid7_next(now_us() / 1000, r.session);
    const char *slash = strrchr(o->argv[0], '/');
    r.base_name = strdup(slash ? slash + 1 : o->argv[0]);
    if (!r.base_name) goto done;
    set_server(&r, NULL);
    if (store_open(o->so, &r.st, serr) != STORE_OK) {
        char shown[512];
        store_redact_path(o->so->path, shown, sizeof shown);
        diag("wrap: cannot open the audit database %s: %s%s", shown, serr,
             o->fail_open ? " (--fail-open: calls are forwarded unrecorded)"
                          : " (recorded calls will be refused)");
        r.st = NULL;
    }
    /* wrap only appends: the right edges of the b-trees are what it
    ** touches, so a small cache keeps its memory low (issue 12: <= 16 MB). */
    if (r.st && store_set_cache_size(r.st, RELAY_CACHE_KIB, serr) != STORE_OK)
        diag("wrap: %s", serr);
    recorder_options ropt = {.watch = o->watch};
    if (r.st && !(r.rec = recorder_open(r.st, &ropt))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        goto done;
    }
    /* SIGCHLD only wakes the loop (a child transport's end shows at once),
    ** and keeps its exit status from being discarded if it was ignored. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!(r.srv = open_server(o, err, errlen))) goto done;
    if (!(fc = frame_new(o->in_fd, o->max_message_bytes))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    while (!r.stopping && r.server_open) {
        struct pollfd p[3] = {
            {.fd = r.client_open ? o->in_fd : -1, .events = POLLIN},
            {.fd = r.srv->ops->fd(r.srv), .events = POLLIN},
            {.fd = sig_pipe[0], .events = POLLIN},
        };
        if (poll(p, 3, -1) < 0 && errno != EINTR) break;
        if (p[2].revents) {
            unsigned char b[16];
            ssize_t n;
            while ((n = read(sig_pipe[0], b, sizeof b)) > 0)
                for (ssize_t i = 0; i < n; i++)
                    if (b[i] == SIGTERM || b[i] == SIGINT) r.stopping = 1;
        }
        if (p[0].revents) {
            const char *line;
            size_t len;
            int k;
            while ((k = frame_next(fc, 0, NULL, &line, &len)) == FRAME_LINE ||
                   k == FRAME_TOO_LONG)
                client_line(&r, k, line, len);
            if (k == FRAME_EOF || k == FRAME_ERROR) {
                r.client_open = 0;
                r.stopping = 1;
            }
        }
        if (p[1].revents) drain_server(&r);
        flush(&r);
    }
    if (r.stopping) stop_server(&r);
    else await_server(&r);
    end_flights(&r);
    status = r.status;
done:
    frame_free(fc);
    if (r.srv) r.srv->ops->free(r.srv);
    for (size_t i = 0; i < r.nfl; i++) {
        free(r.fl[i].id);
        free(r.fl[i].method);
        free(r.fl[i].op);
    }
    free(r.fl);
    free(r.out);
    free(r.server_id);
    free(r.client_id);
    free(r.base_name);
    recorder_close(r.rec);
    store_close(r.st);
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
    return status;
}
