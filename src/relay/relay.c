/*
** relay.c: the poll loop, in-flight table and write-ahead recording of
** `wrap` (see relay.h).
**
** One iteration: poll the client, the server and a self-pipe for signals;
** drain every complete line that is ready from both sides; each line
** becomes an outbox item (the bytes to forward, or a reply we make) and,
** when it is audit data, an entry appended to the iteration's one open
** transaction.  Then commit once and write the outbox in order.  When the
** commit fails, items that carry a refusal (recorded client requests) send
** it instead of the bytes, so the server never sees an unrecorded call.
*/
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../protocol/frame.h"
#include "../protocol/mcp.h"
#include "../protocol/rpc.h"
#include "../util/diag.h"
#include "../util/fsutil.h"
#include "../util/ts.h"
#include "../util/uuid7.h"

extern char **environ;

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

/* One line to write once the iteration's records are durable. */
typedef struct item {
    int fd;
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
    pid_t pid;
    int to_srv, from_srv, client_open, server_open;
    int exited, status;
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

/* Queue bytes (copied, or taken over when own) for fd. */
static int queue(relay *r, int fd, const char *bytes, size_t len, int own,
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
    r->out[r->nout++] = (item){fd, b, len, refusal, fl, 0,
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

static void client_line(relay *r, int kind, const char *line, size_t len)
{
    int out = r->o->out_fd;
    if (kind == FRAME_TOO_LONG) {
        char *reply = mcp_too_long_reply(r->o->max_message_bytes);
        if (reply) {
            rec_invalid(r, reply);
            queue(r, out, reply, strlen(reply), 1, NULL, -1);
        }
        return;
    }
    rpc_message msg;
    char *reply = NULL;
    rpc_limits lim = {.max_depth = r->o->max_depth};
    rpc_kind k = rpc_parse(line, len, &lim, &msg, &reply);
    if (k == RPC_KIND_INVALID) {
        if (reply) {
            rec_invalid(r, reply);
            queue(r, out, reply, strlen(reply), 1, NULL, -1);
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
    if (queue(r, r->to_srv, line, len, 0, refusal, fl) == 0)
        r->out[r->nout - 1].batch = r->batch;
    r->batch = 0;
    rpc_message_free(&msg);
}

static void server_line(relay *r, int kind, const char *line, size_t len)
{
    if (kind == FRAME_TOO_LONG) {
        diag("wrap: the server sent a message longer than %zu bytes; dropped",
             r->o->max_message_bytes);
        return;
    }
    rpc_message msg;
    char *reply = NULL;
    rpc_limits lim = {.max_depth = r->o->max_depth};
    rpc_kind k = rpc_parse(line, len, &lim, &msg, &reply);
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
    queue(r, r->o->out_fd, line, len, 0, NULL, -1);
    rpc_message_free(&msg);
}

/* Commit the iteration's records, then write the outbox. */
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
        int fd = it->fd;
        const char *b = it->bytes;
        size_t n = it->len;
        if (it->refusal && !r->o->fail_open &&
            !(r->rec && recorder_durable(r->rec, it->ticket, NULL))) {
            fd = r->o->out_fd;
            b = it->refusal;
            n = strlen(b);
            if (it->flight >= 0) flight_drop(r, it->flight);
            for (size_t i = r->nfl; it->batch && i-- > 0;)
                if (r->fl[i].batch == it->batch) flight_drop(r, (int)i);
        }
        if (fd == r->to_srv && r->to_srv < 0) fd = -1;
        if (fd >= 0 && write_line(fd, b, n) != 0 && fd == r->to_srv) {
            close(r->to_srv);
            r->to_srv = -1;
        }
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

/* Whether cmd names an executable file, directly or through PATH, as
** posix_spawnp() will look for it: checked first, so that a missing
** command is reported here rather than by a child that failed to exec. */
static int command_exists(const char *cmd)
{
    if (strchr(cmd, '/')) return access(cmd, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    char buf[4096];
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, n ? p : ".", cmd);
        if (access(buf, X_OK) == 0) return 1;
        if (!end) return 0;
        p = end;
    }
}

static int spawn(relay *r, char *err, size_t errlen)
{
    int in[2], outp[2];
    if (!command_exists(r->o->argv[0])) {
        snprintf(err, errlen, "cannot start %s: %s", r->o->argv[0],
                 strchr(r->o->argv[0], '/') ? strerror(errno)
                                            : "no such command in PATH");
        return -1;
    }
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create pipes: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    int rc = posix_spawnp(&r->pid, r->o->argv[0], &fa, NULL, r->o->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    if (rc != 0) {
        close(in[1]);
        close(outp[0]);
        snprintf(err, errlen, "cannot start %s: %s", r->o->argv[0], strerror(rc));
        return -1;
    }
    r->to_srv = in[1];
    r->from_srv = outp[0];
    return 0;
}

static void reap(relay *r, int block)
{
    if (r->exited) return;
    int st;
    pid_t p;
    do p = waitpid(r->pid, &st, block ? 0 : WNOHANG);
    while (p < 0 && errno == EINTR);
    if (p == r->pid) {
        r->exited = 1;
        r->status = WIFEXITED(st) ? WEXITSTATUS(st)
                    : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
    }
}

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
            if (reply) queue(r, r->o->out_fd, reply, strlen(reply), 1, NULL, -1);
        }
        flight_drop(r, 0);
    }
    flush(r);
}

static void stop_server(relay *r)
{
    r->stopping = 1;
    if (r->to_srv >= 0) close(r->to_srv);
    r->to_srv = -1;
}

/* Wait for the server to exit after its stdin closed, forwarding what it
** still says: --kill-after seconds, then SIGTERM, then SIGKILL. */
static void drain_until_exit(relay *r, frame *fs)
{
    int64_t t0 = now_us(), grace = (int64_t)r->o->kill_after_s * 1000000;
    int termed = 0;
    while (!r->exited) {
        int64_t el = now_us() - t0;
        if (!termed && el >= grace) {
            kill(r->pid, SIGTERM);
            termed = 1;
        } else if (termed && el >= 2 * grace + 1000000) {
            kill(r->pid, SIGKILL);
            reap(r, 1);
            break;
        }
        struct pollfd p = {.fd = r->server_open ? r->from_srv : -1, .events = POLLIN};
        int n = poll(&p, 1, 50);
        if (n > 0 && r->server_open) {
            const char *line;
            size_t len;
            int k;
            while ((k = frame_next(fs, 0, NULL, &line, &len)) == FRAME_LINE ||
                   k == FRAME_TOO_LONG)
                server_line(r, k, line, len);
            if (k == FRAME_EOF || k == FRAME_ERROR) r->server_open = 0;
            flush(r);
        }
        reap(r, 0);
    }
}

int relay_run(const relay_options *o, char *err, size_t errlen)
{
    relay r = {.o = o, .to_srv = -1, .from_srv = -1, .client_open = 1,
               .server_open = 1};
    frame *fc = NULL, *fs = NULL;
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
    if (r.st && !(r.rec = recorder_open(r.st, NULL))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        goto done;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (spawn(&r, err, errlen) != 0) goto done;
    fc = frame_new(o->in_fd, o->max_message_bytes);
    fs = frame_new(r.from_srv, o->max_message_bytes);
    if (!fc || !fs) {
        snprintf(err, errlen, "out of memory");
        kill(r.pid, SIGKILL);
        reap(&r, 1);
        goto done;
    }
    while (!r.stopping && r.server_open) {
        struct pollfd p[3] = {
            {.fd = r.client_open ? o->in_fd : -1, .events = POLLIN},
            {.fd = r.from_srv, .events = POLLIN},
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
        const char *line;
        size_t len;
        int k;
        if (p[0].revents) {
            while ((k = frame_next(fc, 0, NULL, &line, &len)) == FRAME_LINE ||
                   k == FRAME_TOO_LONG)
                client_line(&r, k, line, len);
            if (k == FRAME_EOF || k == FRAME_ERROR) {
                r.client_open = 0;
                r.stopping = 1;
            }
        }
        if (p[1].revents) {
            while ((k = frame_next(fs, 0, NULL, &line, &len)) == FRAME_LINE ||
                   k == FRAME_TOO_LONG)
                server_line(&r, k, line, len);
            if (k == FRAME_EOF || k == FRAME_ERROR) r.server_open = 0;
        }
        flush(&r);
    }
    if (r.stopping) {
        stop_server(&r);
        drain_until_exit(&r, fs);
    } else {
        /* The server closed its output: it is exiting or gone. */
        if (r.to_srv >= 0) close(r.to_srv);
        r.to_srv = -1;
        int64_t t0 = now_us();
        while (!r.exited && now_us() - t0 < (int64_t)o->kill_after_s * 1000000) {
            reap(&r, 0);
            if (!r.exited) poll(NULL, 0, 20);
        }
        if (!r.exited) {
            kill(r.pid, SIGKILL);
            reap(&r, 1);
        }
    }
    end_flights(&r);
    status = r.status;
done:
    frame_free(fc);
    frame_free(fs);
    if (r.to_srv >= 0) close(r.to_srv);
    if (r.from_srv >= 0) close(r.from_srv);
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
