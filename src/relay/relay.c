/*
** relay.c: the poll loop, in-flight table and write-ahead recording of
** `wrap` (see relay.h).
**
** One iteration: poll the client, the server's transport and a self-pipe
** for signals; drain every complete message that is ready from both sides;
** each becomes an outbox item (the bytes to forward, or a reply we make)
** and, when it is audit data, an entry appended to the recorder's group
** (record.h).  Then commit the group once and write the outbox in order.
** An item that holds a recorded client request goes only when the
** recorder says its ticket is durable, and otherwise its refusal goes to
** the client instead, so the server never sees an unrecorded call; when
** memory does not suffice to ask for the record, or to build the refusal,
** the call is refused all the same (GUARD_LOST, bare_refusal).
**
** The in-flight table holds the requests of both sides awaiting answers,
** matched by the value of their ids (rpc_id_key: a server may answer 1.0
** as 1), and is bounded: past RELAY_MAX_FLIGHTS requests or
** RELAY_MAX_FLIGHT_BYTES the oldest is no longer followed.
**
** The server itself is behind transport.h (stdio: a child over pipes;
** HTTP: a remote server, `wrap --url`), so nothing here knows how
** messages reach it or how it ends.
**
** What is recorded does not depend on the protocol era either: the client
** identity comes from initialize or from each request's
** _meta["io.modelcontextprotocol/clientInfo"] (2026-07-28), the server's
** from initialize, server/discover or a result's
** _meta["io.modelcontextprotocol/serverInfo"]; and a multi round-trip
** request (2026-07-28: an InputRequiredResult, then the client's retry with
** inputResponses) is one logical call whose rounds are linked through
** `completes` (docs/wrap.md, "What is recorded").
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
#include "../remote/httpc.h"
#include "../util/diag.h"
#include "../util/fsutil.h"
#include "../util/jbuf.h"
#include "../util/ts.h"
#include "../util/uuid7.h"
#include "relay_testing.h"
#include "transport.h"

enum dir { C2S = 0, S2C = 1 }; /* who sent the request */
enum {
    RELAY_CACHE_KIB = 2048,
    RELAY_URL_CACHE_KIB = 512, /* with --url: libcurl and OpenSSL take ~3 MiB */
    RELAY_MAX_ROUNDS = 64, /* input_required answers awaiting their retry */
    /* The in-flight table's bounds: requests nobody answers (a server that
    ** ignores them, a client that floods) must not grow the wrapper
    ** without end.  Past either, the oldest flight is no longer followed
    ** (flight_evict). */
    RELAY_MAX_FLIGHTS = 4096,
    RELAY_MAX_FLIGHT_BYTES = 8 << 20
};

/* A request still waiting for its response. */
typedef struct flight {
    int dir;
    char *id;        /* the id's JSON text as rpc_parse() gives it: a number
                        as it was written, a string as cJSON prints it */
    char *key;       /* its value (rpc_id_key): what an answer is matched by,
                        however the other side spelled the id */
    char *op_id;     /* the operation_id of its entries, as serve records an
                        id: a string unquoted, a number as written (id_plain) */
    char *op;        /* operation_name of its entry */
    char *method;
    char *target;    /* params.name (params.uri for resources/read) of a
                        request that may need input rounds, else NULL */
    char *client;    /* the client identity it was sent with, or NULL */
    int recorded;    /* entry[] names a committed (or pending) entry */
    unsigned batch;  /* the client batch it came in, or 0 */
    char entry[37];
    int64_t start_us;
    size_t bytes;    /* what it holds, counted against RELAY_MAX_FLIGHT_BYTES */
} flight;

/* A request answered with an InputRequiredResult (2026-07-28): the
** client's retry of it (same method and target, requestState echoed) is
** its next round. */
typedef struct round {
    char *method, *target, *state; /* target and state may be NULL */
    char entry[37];                /* the mcp_input_required entry */
    int pending;                   /* in the group not yet committed */
} round;

/* What an item to the server waits for (unless --fail-open). */
enum guard {
    GUARD_NONE,   /* nothing: it goes as it is */
    GUARD_RECORD, /* its request's record: refused unless its ticket is durable */
    GUARD_LOST    /* refused: memory did not suffice to ask for its record */
};

/* A request tracked by no flight though its record was due (out of
** memory): what on_request() returns for it.  A client's is refused. */
enum { UNTRACKED = -2 };

/* One message to send once the iteration's records are durable. */
typedef struct item {
    int to_server;   /* else to the client */
    char *bytes;     /* without newline */
    size_t len;
    int guard;       /* enum guard */
    char *refusal;   /* sent to the client instead of a refused request; NULL
                        when memory did not suffice (bare_refusal) */
    int flight;      /* index into the in-flight table of the request, or -1 */
    unsigned batch;  /* a client batch: its flights go if it is refused */
    int64_t ticket;  /* of the records the bytes wait for (recorder_ticket) */
} item;

typedef struct relay {
    const relay_options *o;
    store *st;
    recorder *rec;     /* over st; NULL when the trail could not be opened */
    char session[UUID7_BUFLEN];
    char *server_id;   /* serialized {name, version[, url]} */
    char *client_id;   /* the last identity the client declared */
    char *base_name;   /* the server's name when it gives none */
    char *shown_url;   /* a remote server's URL without credentials, query */
    char *srv_name, *srv_version; /* the serverInfo server_id was made of */
    char *cli_name, *cli_version; /* the clientInfo client_id was made of */
    flight *fl;
    size_t nfl, capfl;
    size_t flight_bytes; /* the sum of their bytes */
    size_t max_flights, max_flight_bytes;
    size_t dropped;    /* flights no longer followed in this streak (noticed once) */
    round rounds[RELAY_MAX_ROUNDS];
    size_t nrounds;
    item *out;
    size_t nout, capout;
    char tx_err[STORE_ERRLEN];
    int untrailed;     /* a record was asked for with no trail open */
    transport *srv;    /* the wrapped server */
    int client_open, server_open;
    int status;        /* the server's exit status, once it ended */
    int stopping;      /* client gone or signal: wrapper is ending the server */
    int signalled;     /* ... because of SIGTERM or SIGINT (else the client left) */
    int forced;        /* the signal the wrapper sent the server, 0 when it ended itself */
    int warned;        /* the trail's failure was reported (once per streak) */
    int outbox_warned; /* a message the outbox could not take was reported */
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

/* ---- identities -------------------------------------------------------- */

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static const char *str_item(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Note *name and *version of an Implementation object (serverInfo,
** clientInfo) as the ones an identity was made of: 1 when they changed
** (or info is NULL, the fallback), 0 when the identity stands. */
static int identity_changed(const cJSON *info, char **name, char **version, int first)
{
    const char *n = str_item(info, "name"), *v = str_item(info, "version");
    if (!first && same_str(n, *name) && same_str(v, *version)) return 0;
    char *nn = n ? strdup(n) : NULL, *nv = v ? strdup(v) : NULL;
    if ((n && !nn) || (v && !nv)) {
        free(nn);
        free(nv);
        return 0;
    }
    free(*name);
    free(*version);
    *name = nn;
    *version = nv;
    return 1;
}

/* Set the server identity from serverInfo (NULL at the start), with
** --name or the fallback name (the command's base name, the URL) standing
** in for a missing name; a remote server's carries its URL too. */
static void set_server(relay *r, const cJSON *info)
{
    if (!identity_changed(info, &r->srv_name, &r->srv_version, info == NULL)) return;
    const char *name = r->o->name ? r->o->name : r->srv_name ? r->srv_name : r->base_name;
    char *id = record_server_identity(name, r->srv_version, r->shown_url);
    if (id) {
        free(r->server_id);
        r->server_id = id;
    }
}

/* The server's identity in an answer to the client's method: serverInfo
** of initialize and server/discover, or (2026-07-28) any result's
** _meta["io.modelcontextprotocol/serverInfo"]. */
static void note_server(relay *r, const char *method, const cJSON *result)
{
    const cJSON *info;
    if (strcmp(method, "initialize") == 0 || strcmp(method, "server/discover") == 0)
        info = cJSON_GetObjectItemCaseSensitive(result, "serverInfo");
    else
        info = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(result, "_meta"), "io.modelcontextprotocol/serverInfo");
    if (cJSON_IsObject(info)) set_server(r, info);
}

/* The client's identity in its request: clientInfo of initialize, or
** (2026-07-28) the request's _meta["io.modelcontextprotocol/clientInfo"].
** It stands for the session until the client declares another. */
static void note_client(relay *r, const char *method, const cJSON *params)
{
    const cJSON *info;
    if (strcmp(method, "initialize") == 0)
        info = cJSON_GetObjectItemCaseSensitive(params, "clientInfo");
    else
        info = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(params, "_meta"), "io.modelcontextprotocol/clientInfo");
    if (!cJSON_IsObject(info) || !identity_changed(info, &r->cli_name, &r->cli_version, 0))
        return;
    char *cid = record_identity(info);
    free(r->client_id);
    r->client_id = cid;
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

/* Record an answer to flight f (etype: mcp_outcome, mcp_input_required),
** completing its request entry; entry (37 bytes, or NULL) receives its id. */
static int rec_answer(relay *r, const flight *f, const char *etype, cJSON *res,
                      const char *etext, char *entry)
{
    record_event ev = {
        .event_type = etype,
        .operation_name = f->op,
        .operation_id = f->op_id,
        .result = res,
        .error = etext,
        .client = f->client,
        .completes = f->entry,
        .has_duration = 1,
        .duration_ms = (now_us() - f->start_us) / 1000,
    };
    return rec(r, &ev, entry);
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
    rec_answer(r, f, "mcp_outcome", res, etext, NULL);
    cJSON_Delete(res);
}

/* ---- multi round-trip requests (2026-07-28) ------------------------------ */

/* Methods whose answer may be an InputRequiredResult
** (basic/patterns/mrtr.mdx, "Supported Requests"). */
static int mrtr_method(const char *m)
{
    return strcmp(m, "tools/call") == 0 || strcmp(m, "prompts/get") == 0 ||
           strcmp(m, "resources/read") == 0;
}

static int input_required(const cJSON *result)
{
    const char *t = str_item(result, "resultType");
    return t && strcmp(t, "input_required") == 0;
}

static void round_drop(relay *r, size_t i)
{
    free(r->rounds[i].method);
    free(r->rounds[i].target);
    free(r->rounds[i].state);
    memmove(&r->rounds[i], &r->rounds[i + 1], (r->nrounds - i - 1) * sizeof *r->rounds);
    r->nrounds--;
}

/* Remember an input_required answer (its entry) for the retry to come;
** the oldest is forgotten past RELAY_MAX_ROUNDS. */
static void round_add(relay *r, const flight *f, const char *state, const char *entry)
{
    if (r->nrounds == RELAY_MAX_ROUNDS) round_drop(r, 0);
    round *x = &r->rounds[r->nrounds];
    memset(x, 0, sizeof *x);
    x->method = strdup(f->method);
    x->target = f->target ? strdup(f->target) : NULL;
    x->state = state ? strdup(state) : NULL;
    if (!x->method || (f->target && !x->target) || (state && !x->state)) {
        free(x->method);
        free(x->target);
        free(x->state);
        return;
    }
    memcpy(x->entry, entry, sizeof x->entry);
    x->pending = 1;
    r->nrounds++;
}

/* The newest round a retry (method, target, requestState) continues, or
** -1.  The spec has the client echo requestState exactly, and send none
** when the answer had none; without one, the newest answer to the same
** method and target is the one answered. */
static int round_find(const relay *r, const char *method, const char *target,
                      const char *state)
{
    for (size_t i = r->nrounds; i-- > 0;) {
        const round *x = &r->rounds[i];
        if (strcmp(x->method, method) == 0 && same_str(x->target, target) &&
            same_str(x->state, state))
            return (int)i;
    }
    return -1;
}

/* The answer to flight f asks the client for input: recorded as the
** round's outcome (mcp_input_required, completing the request; result:
** the input requests, scrubbed; requestState, opaque to all but the
** server, is not kept), and remembered for the retry. */
static void rec_round(relay *r, flight *f, const cJSON *result)
{
    cJSON *res = cJSON_CreateObject();
    const cJSON *ir = cJSON_GetObjectItemCaseSensitive(result, "inputRequests");
    if (res) {
        cJSON_AddStringToObject(res, "resultType", "input_required");
        if (ir) cJSON_AddItemToObject(res, "inputRequests", cJSON_Duplicate(ir, 1));
    }
    char entry[37];
    if (rec_answer(r, f, "mcp_input_required", res, NULL, entry) == 0)
        round_add(r, f, str_item(result, "requestState"), entry);
    cJSON_Delete(res);
}

/* ---- in-flight table and outbox --------------------------------------- */

static void flight_free(flight *f)
{
    free(f->id);
    free(f->key);
    free(f->op_id);
    free(f->method);
    free(f->op);
    free(f->target);
    free(f->client);
}

/* The flight of dir whose id has the value of the JSON text id (rpc_id_key:
** a server that parses and prints ids again answers 1.0 as 1 and "\u0061"
** as "a"), or -1. */
static int flight_find(relay *r, int dir, const char *id)
{
    char *key = rpc_id_key(id, strlen(id));
    int found = -1;
    for (size_t i = 0; key && i < r->nfl && found < 0; i++)
        if (r->fl[i].dir == dir && strcmp(r->fl[i].key, key) == 0) found = (int)i;
    free(key);
    return found;
}

/* Remove flight i; outbox items pointing at later flights are renumbered. */
static void flight_drop(relay *r, int i)
{
    r->flight_bytes -= r->fl[i].bytes;
    flight_free(&r->fl[i]);
    memmove(&r->fl[i], &r->fl[i + 1], (r->nfl - (size_t)i - 1) * sizeof *r->fl);
    r->nfl--;
    for (size_t k = 0; k < r->nout; k++) {
        if (r->out[k].flight == i) r->out[k].flight = -1;
        else if (r->out[k].flight > i) r->out[k].flight--;
    }
}

/* Stop following the oldest flight, the table being full: its request's
** record stands, its outcome is recorded as not followed, and an answer
** that comes for it later matches nothing, so it is relayed unrecorded as
** any such answer is.  Said on stderr once per streak (flush() ends one
** when the table is down to half its bounds). */
static void flight_evict(relay *r, int by_bytes)
{
    char why[160];
    if (by_bytes)
        snprintf(why, sizeof why, "requests in flight holding more than %zu bytes",
                 r->max_flight_bytes);
    else
        snprintf(why, sizeof why, "more than %zu requests in flight", r->max_flights);
    if (!r->dropped++)
        diag("wrap: %s: the oldest are no longer followed (their outcome is recorded "
             "as such, a later answer relayed unrecorded)", why);
    if (r->fl[0].recorded == 1) {
        char text[200];
        snprintf(text, sizeof text, "no answer followed: %s", why);
        rec_outcome(r, &r->fl[0], NULL, NULL, text);
    }
    flight_drop(r, 0);
}

static size_t slen(const char *s) { return s ? strlen(s) + 1 : 0; }

/* An id's JSON text as an entry's operation_id, the form serve records
** (rpc_message's id_text), so that one trail, and the exports that map
** operation_id to jsonrpc.request.id, hold one form whichever door wrote
** it: a string without its quotes and escapes, a number as written.
** Caller frees; NULL when memory ran out. */
static char *id_plain(const char *id)
{
    if (id[0] != '"') return strdup(id);
    cJSON *s = cJSON_Parse(id);
    char *p = cJSON_IsString(s) ? strdup(s->valuestring) : NULL;
    cJSON_Delete(s);
    return p;
}

/* Add a flight for request id (its JSON text) of dir, the oldest ones
** giving way past the table's bounds.  Its index, or -1 when memory ran
** out. */
static int flight_add(relay *r, int dir, const char *id, const char *method,
                      const char *op, const char *target)
{
    flight f = {.dir = dir, .batch = r->batch, .start_us = now_us()};
    f.id = strdup(id);
    f.key = rpc_id_key(id, strlen(id));
    f.op_id = id_plain(id);
    f.method = strdup(method);
    f.op = strdup(op);
    f.target = target ? strdup(target) : NULL;
    f.client = dir == C2S && r->client_id ? strdup(r->client_id) : NULL;
    if (!f.id || !f.key || !f.op_id || !f.method || !f.op || (target && !f.target) ||
        (dir == C2S && r->client_id && !f.client)) {
        flight_free(&f);
        return -1;
    }
    f.bytes = sizeof f + slen(f.id) + slen(f.key) + slen(f.op_id) + slen(f.method) +
              slen(f.op) + slen(f.target) + slen(f.client);
    /* The newest always stays, however large. */
    while (r->nfl && (r->nfl >= r->max_flights ||
                      r->flight_bytes + f.bytes > r->max_flight_bytes))
        flight_evict(r, r->nfl < r->max_flights);
    if (r->nfl == r->capfl) {
        size_t cap = r->capfl ? r->capfl * 2 : 16;
        flight *n = realloc(r->fl, cap * sizeof *n);
        if (!n) {
            flight_free(&f);
            return -1;
        }
        r->fl = n;
        r->capfl = cap;
    }
    r->fl[r->nfl] = f;
    r->flight_bytes += f.bytes;
    return (int)r->nfl++;
}

/* Queue bytes (copied, or taken over when own) for the server or the
** client: the new item, its request fields for the caller to set, or
** NULL when memory ran out (own bytes stay the caller's). */
static item *queue(relay *r, int to_server, const char *bytes, size_t len, int own)
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
    item *it = &r->out[r->nout++];
    *it = (item){.to_server = to_server, .bytes = b, .len = len, .flight = -1,
                 .ticket = r->rec ? recorder_ticket(r->rec) : 0};
    r->outbox_warned = 0;
    return it;
oom:
    if (!r->outbox_warned++) diag("wrap: out of memory: a message could not be queued");
    return NULL;
}

/* Queue an error reply of our own for the client (taken over), or, when
** the outbox cannot take it, write it now: an error acknowledges no
** write, so it need not wait for the commit, and the client is not left
** waiting for it. */
static void queue_error(relay *r, char *reply)
{
    if (!reply || queue(r, 0, reply, strlen(reply), 1)) return;
    fs_write_line(r->o->out_fd, reply, strlen(reply));
    free(reply);
}

/* ---- classifying messages --------------------------------------------- */

static int recorded_method(const char *m)
{
    return strcmp(m, "tools/call") == 0 || strcmp(m, "initialize") == 0 ||
           strcmp(m, "resources/read") == 0 || strcmp(m, "prompts/get") == 0;
}

/* Whether a request of dir is recorded: all of the server's, and the
** client's of recorded_method(). */
static int records(int dir, const char *method)
{
    return dir == S2C || recorded_method(method);
}

/* The JSON text of member name of obj, whose exact bytes are raw (n long),
** as rpc_parse() gives a message's id: a number as it was written (cJSON
** keeps a double: 9007199254740993 would read 9007199254740992), anything
** else as cJSON prints it.  Caller frees; NULL when there is none or
** memory ran out. */
static char *member_text(const cJSON *obj, const char *name, const char *raw, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v)) return v ? cJSON_PrintUnformatted(v) : NULL;
    size_t vn;
    const char *p = rpc_raw_member(raw, n, name, &vn);
    return p ? strndup(p, vn) : NULL;
}

/* A request from the client (dir C2S) or from the server (S2C).  Returns
** the flight's index, -1 when it has none, or UNTRACKED when its record
** was due but memory did not suffice for its flight. */
static int on_request(relay *r, int dir, const cJSON *root, const char *id)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    const char *method = m->valuestring;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    const char *op = method, *target = NULL, *completes = NULL;
    const char *etype = dir == C2S ? "mcp_request" : "mcp_server_request";
    char linked[37];
    cJSON *args = NULL;
    if (dir == C2S) note_client(r, method, params);
    int mrtr = dir == C2S && mrtr_method(method);
    if (mrtr) target = str_item(params, strcmp(method, "resources/read") == 0 ? "uri" : "name");
    if (mrtr && (cJSON_GetObjectItemCaseSensitive(params, "inputResponses") ||
                 cJSON_GetObjectItemCaseSensitive(params, "requestState"))) {
        /* A retry: the next round of a call answered input_required.  Its
        ** record is the client's input (params without _meta and the
        ** opaque requestState), linked to the round it answers. */
        if (strcmp(method, "tools/call") == 0 && target) op = target;
        etype = "mcp_input_response";
        args = cJSON_Duplicate(params, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(args, "_meta");
        cJSON_DeleteItemFromObjectCaseSensitive(args, "requestState");
        int k = round_find(r, method, target, str_item(params, "requestState"));
        if (k >= 0) {
            /* Kept: a retry refused here may come again. */
            memcpy(linked, r->rounds[k].entry, sizeof linked);
            completes = linked;
        }
    } else if (dir == C2S && strcmp(method, "tools/call") == 0) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(params, "name");
        if (cJSON_IsString(n)) op = n->valuestring;
        etype = "tool_call";
        args = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(params, "arguments"), 1);
    } else if (params) {
        args = cJSON_Duplicate(params, 1);
    }
    int i = flight_add(r, dir, id, method, op, mrtr ? target : NULL);
    if (i < 0 && records(dir, method)) i = UNTRACKED;
    if (i >= 0 && records(dir, method)) {
        record_event ev = {.event_type = etype, .operation_name = op,
                           .operation_id = r->fl[i].op_id, .args = args,
                           .client = r->fl[i].client,
                           .completes = completes};
        if (rec(r, &ev, r->fl[i].entry) == 0) r->fl[i].recorded = 1;
        else r->fl[i].recorded = -1; /* asked for, not written */
    }
    cJSON_Delete(args);
    return i;
}

/* A response answers a request of req_dir, found by the value of its id
** (flight_find).  One that matches none is relayed, unrecorded. */
static void on_response(relay *r, int req_dir, const cJSON *root, const char *id)
{
    int i = flight_find(r, req_dir, id);
    if (i < 0) return;
    flight *f = &r->fl[i];
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (req_dir == C2S && cJSON_IsObject(result)) note_server(r, f->method, result);
    if (f->recorded == 1) {
        if (req_dir == C2S && mrtr_method(f->method) && input_required(result))
            rec_round(r, f, result);
        else rec_outcome(r, f, result, error, NULL);
    }
    flight_drop(r, i);
}

/* notifications/cancelled, sent by the side that made the request. */
static void on_notification(relay *r, int req_dir, const cJSON *root, const char *raw,
                            size_t n)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!cJSON_IsString(m) || strcmp(m->valuestring, "notifications/cancelled") != 0)
        return;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    size_t pn;
    const char *praw = rpc_raw_member(raw, n, "params", &pn);
    char *id = praw ? member_text(params, "requestId", praw, pn) : NULL;
    int i = id ? flight_find(r, req_dir, id) : -1;
    free(id);
    if (i < 0) return;
    if (r->fl[i].recorded == 1) rec_outcome(r, &r->fl[i], NULL, NULL, "cancelled");
    flight_drop(r, i);
}

/* One checked message object from `from` (C2S: the client), its id's
** text (member_text) and its exact bytes raw (n long).  Returns what
** on_request() does for a request, else -1. */
static int on_message(relay *r, int from, const cJSON *root, const char *id,
                      const char *raw, size_t n)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (cJSON_IsString(m) && id) return on_request(r, from, root, id);
    if (cJSON_IsString(m)) on_notification(r, from, root, raw, n); /* sender's own request */
    else if (id) on_response(r, from == C2S ? S2C : C2S, root, id);
    return -1;
}

/* Each object of a batch from `from` (raw: its exact bytes, n long).
** Returns the guard the batch needs: GUARD_RECORD when any request's
** record was asked for, GUARD_LOST when one's could not be. */
static int on_batch(relay *r, int from, const cJSON *root, const char *raw, size_t n)
{
    int guard = GUARD_NONE;
    const char *at = NULL, *el;
    size_t en = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!(el = rpc_raw_element(raw, n, &at, &en))) break;
        if (!cJSON_IsObject(e)) continue;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "method");
        char *id = member_text(e, "id", el, en);
        int i = UNTRACKED;
        /* A request whose id could not be read would pass for a
        ** notification, unrecorded. */
        if (id || !cJSON_GetObjectItemCaseSensitive(e, "id") || !cJSON_IsString(m) ||
            !records(from, m->valuestring))
            i = on_message(r, from, e, id, el, en);
        if (i == UNTRACKED) guard = GUARD_LOST;
        else if (i >= 0 && r->fl[i].recorded && guard == GUARD_NONE) guard = GUARD_RECORD;
        free(id);
    }
    return guard;
}

/* The id a reply the relay makes itself may carry: a batch's elements are
** relayed unchecked, so a request's id may be an object, an array or a
** boolean, which JSON-RPC 2.0 does not allow in a reply; such a request
** is answered, as JSON-RPC answers a request whose id it cannot tell,
** with a null id (NULL for rpc_reply_error()). */
static const char *reply_id(const char *id)
{
    return id && (id[0] == '"' || id[0] == '-' || (id[0] >= '0' && id[0] <= '9')) ? id : NULL;
}

static const char REFUSED[] = "audit trail unavailable: the request was not forwarded "
                              "because it could not be recorded";
static const char BATCH_REFUSED[] = "audit trail unavailable: the batch was not forwarded "
                                    "because a request in it could not be recorded";

static char *refusal_for(const char *id)
{
    return rpc_reply_error(id, RELAY_AUDIT_UNAVAILABLE, REFUSED, NULL);
}

/* The answer to a batch refused whole (raw: its exact bytes, n long): as
** JSON-RPC 2.0 has it, an array with an error for each request in it
** (notifications get none).  NULL when memory ran out. */
static char *batch_refusal(const cJSON *batch, const char *raw, size_t n)
{
    jbuf b = {0};
    int k = 0;
    const char *at = NULL, *el;
    size_t en = 0;
    jbuf_putc(&b, '[');
    for (const cJSON *e = batch->child; e && (el = rpc_raw_element(raw, n, &at, &en));
         e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "method")) || !id) continue;
        char *idt = member_text(e, "id", el, en);
        char *line = idt ? rpc_reply_error(reply_id(idt), RELAY_AUDIT_UNAVAILABLE,
                                           BATCH_REFUSED, NULL)
                         : NULL;
        if (!line) jbuf_fail(&b);
        else {
            if (k++) jbuf_putc(&b, ',');
            jbuf_puts(&b, line);
        }
        free(idt);
        free(line);
    }
    jbuf_putc(&b, ']');
    return jbuf_take(&b);
}

enum { BARE_REFUSAL_MAX = 320, BARE_ID_MAX = 64 };
_Static_assert(sizeof REFUSED < 160 && sizeof BATCH_REFUSED < 160,
               "a bare refusal fits in BARE_REFUSAL_MAX");

/* An error reply made when memory may have run out: written into buf with
** no allocation.  It carries the id (n bytes of JSON text) as it came when
** it is short and JSON-RPC allows it in a reply, else null, which is also
** what a batch gets (one error for the whole, as JSON-RPC answers a batch
** it cannot take apart).  message is one of this file's constants.
** Returns its length. */
static size_t bare_error(char buf[BARE_REFUSAL_MAX], const char *id, size_t n, int code,
                         const char *message)
{
    if (!id || n > BARE_ID_MAX || !reply_id(id)) {
        id = "null";
        n = 4;
    }
    int w = snprintf(buf, BARE_REFUSAL_MAX,
                     "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"error\":{\"code\":%d,\"message\":\"%s\"}}",
                     (int)n, id, code, message);
    return (size_t)w;
}

/* The refusal of it when memory did not suffice to make one. */
static size_t bare_refusal(const item *it, char buf[BARE_REFUSAL_MAX])
{
    size_t n = 0;
    const char *id = it->batch ? NULL : rpc_raw_member(it->bytes, it->len, "id", &n);
    return bare_error(buf, id, n, RELAY_AUDIT_UNAVAILABLE, it->batch ? BATCH_REFUSED : REFUSED);
}

static const char LOST_REQUEST[] = "wrap ran out of memory: the request was not forwarded";
static const char LOST_ANSWER[] = "wrap ran out of memory: the server's answer was lost";
_Static_assert(sizeof LOST_REQUEST < 160 && sizeof LOST_ANSWER < 160,
               "a bare error fits in BARE_REFUSAL_MAX");

/* Write the client an error now for what memory did not suffice to pass
** on (id: n bytes of JSON text, or NULL), made without allocating. */
static void write_lost(relay *r, const char *id, size_t n, const char *why)
{
    char buf[BARE_REFUSAL_MAX];
    fs_write_line(r->o->out_fd, buf, bare_error(buf, id, n, -32603, why));
}

/* A request from the client, or the server's answer to one, that the
** outbox could not take: the client gets an error for it now (bare_error:
** a batch's has a null id), so it does not wait for what cannot come; a
** request's records are given that outcome.  An answer cannot be
** replaced by anything truer, and an error acknowledges no write. */
static void lost(relay *r, int fl, unsigned batch, const char *id, const char *why)
{
    for (size_t i = r->nfl; i-- > 0;) {
        flight *f = &r->fl[i];
        if (batch ? f->batch != batch : (int)i != fl) continue;
        if (f->recorded == 1) rec_outcome(r, f, NULL, NULL, why);
        flight_drop(r, (int)i);
    }
    if (!id && !batch) return; /* a notification: nobody waits */
    write_lost(r, id, id ? strlen(id) : 0, why);
}

/* A batch of the server's answers (raw: its bytes, n long) that the outbox
** could not take: each answer in it becomes an error for the client, with
** its id, one line each (made without allocating: memory has run out), so
** that no request waits for what cannot come.  Its records were made as it
** was read. */
static void lost_answers(relay *r, const cJSON *batch, const char *raw, size_t n)
{
    const char *at = NULL, *el, *id;
    size_t en = 0, idn = 0;
    for (const cJSON *e = batch->child; e; e = e->next) {
        if (!(el = rpc_raw_element(raw, n, &at, &en))) break;
        if (!cJSON_IsObject(e) || cJSON_GetObjectItemCaseSensitive(e, "method") ||
            !(id = rpc_raw_member(el, en, "id", &idn)))
            continue;
        write_lost(r, id, idn, LOST_ANSWER);
    }
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
    /* A blank line is no message, as in serve: a parse error for it would
    ** answer no request the client made, and its record would show input
    ** nobody sent. */
    if (kind == FRAME_LINE && rpc_is_blank(line, len)) return;
    rpc_message msg;
    char *reply = NULL;
    rpc_kind k = kind == FRAME_TOO_LONG ? RPC_KIND_INVALID : parse(r, line, len, &msg, &reply);
    if (kind == FRAME_TOO_LONG) reply = mcp_too_long_reply(r->o->max_message_bytes);
    if (k == RPC_KIND_INVALID) {
        if (reply) {
            rec_invalid(r, reply);
            queue_error(r, reply);
        }
        return;
    }
    int fl = -1, guard;
    if (k == RPC_KIND_BATCH) {
        /* A batch goes as one line: refused whole if any part could not
        ** be recorded. */
        r->batch = ++r->batches ? r->batches : ++r->batches;
        guard = on_batch(r, C2S, msg.root, line, len);
    } else {
        fl = on_message(r, C2S, msg.root, msg.id, line, len);
        guard = fl == UNTRACKED ? GUARD_LOST
                : fl >= 0 && r->fl[fl].recorded ? GUARD_RECORD : GUARD_NONE;
    }
    if (guard == GUARD_LOST)
        diag("wrap: out of memory: a request could not be recorded%s",
             r->o->fail_open ? " (--fail-open: forwarding it unrecorded)" : "; refused");
    item *it = queue(r, 1, line, len, 0);
    /* A response of the client's (to a server's request) has nobody to
    ** tell; the server's own timeout is all there is. */
    if (!it && k != RPC_KIND_RESPONSE)
        lost(r, fl, k == RPC_KIND_BATCH ? r->batch : 0, k == RPC_KIND_BATCH ? NULL : msg.id,
             LOST_REQUEST);
    if (it) {
        it->guard = guard;
        it->flight = fl >= 0 ? fl : -1;
        it->batch = r->batch;
        /* Made now, while the message is at hand; a refusal that finds no
        ** memory is still made, bare, when it is due (flush). */
        if (guard != GUARD_NONE)
            it->refusal = k == RPC_KIND_BATCH ? batch_refusal(msg.root, line, len)
                                              : refusal_for(msg.id);
    }
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
        on_batch(r, S2C, msg.root, line, len);
    } else {
        on_message(r, S2C, msg.root, msg.id, line, len);
    }
    /* An answer lost here would leave the client waiting: it gets an
    ** error in its place, and so does each answer of a batch. */
    if (!queue(r, 0, line, len, 0)) {
        if (k == RPC_KIND_RESPONSE && msg.id) lost(r, -1, 0, msg.id, LOST_ANSWER);
        else if (k == RPC_KIND_BATCH) lost_answers(r, msg.root, line, len);
    }
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
        char bare[BARE_REFUSAL_MAX];
        if (it->guard != GUARD_NONE && !r->o->fail_open &&
            (it->guard == GUARD_LOST ||
             !(r->rec && recorder_durable(r->rec, it->ticket, NULL)))) {
            to_server = 0;
            b = it->refusal ? it->refusal : bare;
            n = it->refusal ? strlen(b) : bare_refusal(it, bare);
            if (it->flight >= 0) flight_drop(r, it->flight);
            for (size_t i = r->nfl; it->batch && i-- > 0;)
                if (r->fl[i].batch == it->batch) flight_drop(r, (int)i);
        }
        /* A server that can take no more shows its end in the transport. */
        if (to_server) r->srv->ops->send(r->srv, b, n);
        else fs_write_line(r->o->out_fd, b, n);
        free(it->bytes);
        free(it->refusal);
    }
    r->nout = 0;
    if (!ok)
        for (size_t i = 0; i < r->nfl; i++)
            if (r->fl[i].recorded == 1) r->fl[i].recorded = 0;
    /* A streak of flights no longer followed ends when the table is down
    ** to half its bounds. */
    if (r->dropped && r->nfl <= r->max_flights / 2 &&
        r->flight_bytes <= r->max_flight_bytes / 2)
        r->dropped = 0;
    /* A round whose entry was lost cannot be linked to. */
    for (size_t i = r->nrounds; i-- > 0;) {
        if (!r->rounds[i].pending) continue;
        if (ok) r->rounds[i].pending = 0;
        else round_drop(r, i);
    }
    if (r->rec) recorder_done(r->rec);
}

/* ---- lifecycle --------------------------------------------------------- */

/* Every request still in flight ends without an answer, the record saying
** what ended it: the server alone, or once its input closed (the client
** gone, or the wrapper told to stop), by itself or by the wrapper's
** signal: a reviewer must not read that the wrapper killed a server that
** exited on its own. */
static void end_flights(relay *r)
{
    char text[256];
    const char *why = r->signalled ? "the wrapper was told to stop" : "the client closed its input";
    if (r->stopping && r->o->url)
        snprintf(text, sizeof text, "no answer: the wrapper stopped waiting for the "
                                    "remote server");
    else if (r->stopping && r->forced == SIGKILL)
        snprintf(text, sizeof text,
                 "no answer: the wrapper killed the server (SIGKILL), which had not ended "
                 "%d s after its input closed (%s) nor once sent SIGTERM",
                 r->o->kill_after_s, why);
    else if (r->stopping && r->forced)
        snprintf(text, sizeof text,
                 "no answer: the wrapper stopped the server (SIGTERM), which had not ended "
                 "%d s after its input closed (%s)",
                 r->o->kill_after_s, why);
    else if (r->stopping)
        snprintf(text, sizeof text,
                 "no answer: the MCP server exited with status %d once its input closed (%s)",
                 r->status, why);
    else if (r->o->url)
        snprintf(text, sizeof text, "no answer: the remote server closed the connection");
    else
        snprintf(text, sizeof text,
                 "no answer: the MCP server exited with status %d", r->status);
    while (r->nfl) {
        flight *f = &r->fl[0];
        if (f->recorded == 1) rec_outcome(r, f, NULL, NULL, text);
        if (f->dir == C2S && r->client_open >= 0 && !r->stopping) {
            queue_error(r, rpc_reply_error(reply_id(f->id), RELAY_SERVER_EXITED, text, NULL));
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
            r->forced = SIGTERM;
        } else if (asked && el >= 2 * grace + 1000000) {
            t->ops->stop(t, 1);
            r->forced = SIGKILL;
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
    int64_t until = now_us() + (int64_t)r->o->kill_after_s * 1000000;
    t->ops->shut(t);
    /* A child's end raises SIGCHLD, whose byte in sig_pipe wakes the wait
    ** at once (also when it came between the check and the poll); an HTTP
    ** transport's requests end without a signal, so the wait still looks
    ** every 20 ms. */
    int64_t left;
    while (!t->ops->ended(t, 0, &r->status) && (left = until - now_us()) > 0) {
        struct pollfd p = {.fd = sig_pipe[0], .events = POLLIN};
        if (poll(&p, 1, left < 20000 ? (int)(left / 1000) + 1 : 20) > 0) {
            unsigned char b[16];
            while (read(sig_pipe[0], b, sizeof b) > 0) {}
        }
    }
    if (!t->ops->ended(t, 0, &r->status)) {
        t->ops->stop(t, 1);
        t->ops->ended(t, 1, &r->status);
    }
}

/* The transport to the server relay_options names. */
static transport *open_server(const relay_options *o, char *err, size_t errlen)
{
    if (o->url) {
        transport_http_options ho = {.url = o->url, .headers = o->headers,
                                     .nheaders = o->nheaders, .kind = o->kind,
                                     .auth = o->auth,
                                     .max_message_bytes = o->max_message_bytes};
        return transport_http_open(&ho, err, errlen);
    }
    transport_stdio_options so = {.argv = o->argv, .path = o->path, .envp = o->envp,
                                  .max_message_bytes = o->max_message_bytes};
    return transport_stdio_open(&so, err, errlen);
}

/* The name a server that gives none is known by: the command's base
** name, or the URL without credentials, query and fragment.  Caller
** frees; NULL when out of memory or the URL cannot be parsed. */
static char *fallback_name(const relay_options *o)
{
    if (o->url) return httpc_redact_url(o->url);
    const char *slash = strrchr(o->argv[0], '/');
    return strdup(slash ? slash + 1 : o->argv[0]);
}

/* The session and the server's first identity, before anything is read.
** 0, or -1 with a sentence in err. */
static int relay_begin(relay *r, const relay_options *o, char *err, size_t errlen)
{
    r->o = o;
    r->max_flights = RELAY_MAX_FLIGHTS;
    r->max_flight_bytes = RELAY_MAX_FLIGHT_BYTES;
    r->client_open = 1;
    r->server_open = 1;
    uuid7_next(now_us() / 1000, r->session);
    if (!(r->base_name = fallback_name(o))) {
        snprintf(err, errlen, o->url ? "the URL cannot be parsed" : "out of memory");
        return -1;
    }
    if (o->url && !(r->shown_url = strdup(r->base_name))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    set_server(r, NULL);
    return 0;
}

/* Free what the relay holds but the store and the transport, which
** relay_run() opened and the testing seam borrows. */
static void relay_release(relay *r)
{
    for (size_t i = 0; i < r->nfl; i++) flight_free(&r->fl[i]);
    while (r->nrounds) round_drop(r, r->nrounds - 1);
    for (size_t k = 0; k < r->nout; k++) {
        free(r->out[k].bytes);
        free(r->out[k].refusal);
    }
    free(r->fl);
    free(r->out);
    free(r->server_id);
    free(r->client_id);
    free(r->base_name);
    free(r->shown_url);
    free(r->srv_name);
    free(r->srv_version);
    free(r->cli_name);
    free(r->cli_version);
    recorder_close(r->rec);
}

int relay_run(const relay_options *o, char *err, size_t errlen)
{
    relay r = {0};
    frame *fc = NULL;
    int status = -1;
    char serr[STORE_ERRLEN];
    if (relay_begin(&r, o, err, errlen) != 0) goto done;
    if (store_open(o->so, &r.st, serr) != STORE_OK) {
        char shown[512];
        store_redact_path(o->so->path, shown, sizeof shown);
        diag("wrap: cannot open the audit database %s: %s%s", shown, serr,
             o->fail_open ? " (--fail-open: calls are forwarded unrecorded)"
                          : " (recorded calls will be refused)");
        r.st = NULL;
    }
    /* wrap only appends: the right edges of the b-trees are what it
    ** touches, so a small cache keeps its memory low (issues 12 and 21:
    ** <= 16 MB; bench/wrap.c, bench/remote.mjs). */
    if (r.st && store_set_cache_size(r.st, o->url ? RELAY_URL_CACHE_KIB : RELAY_CACHE_KIB,
                                     serr) != STORE_OK)
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
                    if (b[i] == SIGTERM || b[i] == SIGINT) r.stopping = r.signalled = 1;
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
    relay_release(&r);
    store_close(r.st);
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
    return status;
}

/* ---- the testing seam (relay_testing.h) --------------------------------- */

relay *relay_testing_new(const relay_options *o, store *st, transport *srv)
{
    char err[128];
    relay *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->st = st;
    r->srv = srv;
    recorder_options ropt = {.watch = o->watch};
    if (relay_begin(r, o, err, sizeof err) != 0 ||
        (st && !(r->rec = recorder_open(st, &ropt)))) {
        relay_release(r);
        free(r);
        return NULL;
    }
    return r;
}

void relay_testing_client(relay *r, int frame_kind, const char *line, size_t len)
{
    client_line(r, frame_kind, line, len);
}

void relay_testing_server(relay *r, int transport_kind, const char *msg, size_t len)
{
    server_message(r, transport_kind, msg, len);
}

void relay_testing_flush(relay *r) { flush(r); }

void relay_testing_server_ended(relay *r, int status)
{
    r->server_open = 0;
    r->status = status;
    end_flights(r);
}

void relay_testing_bound_flights(relay *r, size_t max, size_t max_bytes)
{
    r->max_flights = max ? max : 1;
    r->max_flight_bytes = max_bytes ? max_bytes : 1;
}

size_t relay_testing_flights(const relay *r, size_t *bytes)
{
    if (bytes) *bytes = r->flight_bytes;
    return r->nfl;
}

void relay_testing_free(relay *r)
{
    if (!r) return;
    relay_release(r);
    free(r);
}
