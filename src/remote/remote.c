/*
** remote.c: the MCP HTTP client transport (see remote.h).
**
** One thread owns a libcurl multi handle and everything else here except
** the two queues: the inbox (messages from remote_send()) and the outbox
** (events for remote_next()), each under the one mutex.  The outbox has a
** pipe whose read end is remote_fd(): a byte is written when the outbox
** turns non-empty and the pipe is drained when it turns empty, so the
** owner's poll() wakes exactly when there is something to take.  The
** outbox has a byte limit: past it, the write callbacks ask libcurl to
** pause, and the thread resumes the transfers once the owner has taken
** half (remote_next() wakes it).
**
** Each HTTP exchange is an xfer: a POST of one message, the GET stream of
** a session, a GET resuming a dropped POST stream, or the GET of HTTP+SSE.
** Every request the client sent is in the pending table (its id's JSON
** text, its method, the xfer expected to carry its answer); a response
** from the server, on whatever stream, takes it out.  When an xfer ends,
** the requests it still carries are resumed or answered with an error.
*/
#define _GNU_SOURCE
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "../protocol/rpc.h"
#include "../util/jbuf.h"
#include "httpc.h"
#include "mcphdr.h"
#include "sse.h"

enum {
    ERRBODY_MAX = 65536,      /* kept of an HTTP error's body */
    RESUME_MAX = 5,           /* attempts to resume one dropped stream */
    AUTH_MAX = 3,             /* authorization rounds for one request */
    RETRY_DEFAULT_MS = 1000,  /* reconnection delay when the server gave none */
    GET_BACKOFF_MAX_MS = 30000,
    SEEN_MAX = 4096,          /* event ids remembered against replays */
    SEEN_BUCKETS = 8192,
    ENDPOINT_WAIT_MS = 15000  /* for the endpoint event of HTTP+SSE */
};

typedef enum xkind { X_POST, X_GET, X_RESUME, X_SSE_GET } xkind;
typedef enum mode { M_UNDECIDED, M_STREAMABLE, M_SSE } mode;

typedef struct remote remote;

typedef struct xfer {
    remote *r;
    CURL *h;
    xkind kind;
    struct curl_slist *hdrs;
    char *body;            /* the POSTed message */
    size_t blen;
    char *url;             /* where it goes */
    int modern;            /* a 2026-07-28 request */
    int is_init;           /* an initialize request */
    int is_initialized;    /* notifications/initialized */
    int has_request;       /* carries at least one request */
    int sent_session;      /* MCP-Session-Id was sent */
    int sent_token;        /* a bearer token was sent */
    unsigned token_gen;    /* which one (oauth_token_gen) */
    int auth_rounds;
    int resumes;
    int fallback_probe;    /* a POST whose failure may mean HTTP+SSE */
    /* the answer */
    long status;
    char *ctype, *session, *www_auth;
    int decided;           /* body handling chosen at the first byte */
    int paused;            /* its write callback asked libcurl to wait */
    int sse_body, json_body;
    jbuf in;               /* a JSON body, or an error body */
    size_t in_max;
    int too_big;
    sse_parser *sse;
    char *last_id;         /* the stream's last event id, for resuming */
    long retry_ms;
    int64_t due_us;        /* scheduled start; 0 when running */
    char cerr[CURL_ERROR_SIZE];
    struct xfer *next;     /* in r->xfers */
} xfer;

/* A request waiting for its answer. */
typedef struct pend {
    char *id;              /* JSON text as the client wrote it */
    char *key;             /* its value (rpc_id_key): what answers match */
    char *method;
    xfer *x;               /* the stream expected to answer, or NULL */
    struct pend *next;
} pend;

typedef struct qmsg {
    char *bytes;
    size_t len;
    struct qmsg *next;
} qmsg;

typedef struct evnode {
    remote_event ev;
    struct evnode *next;
} evnode;

typedef struct seen_node {
    char *id;
    struct seen_node *next;
} seen_node;

struct remote {
    /* fixed after open */
    char *url;
    char **headers;
    size_t nheaders;
    remote_kind kind;
    oauth *auth;
    size_t max;
    /* shared, under mu */
    pthread_mutex_t mu;
    qmsg *inbox, **inbox_tail;
    evnode *outbox, **outbox_tail;
    int evpipe[2];
    int stopping, ended;
    size_t queued, queued_peak, queued_max;
    int paused;            /* some transfer waits for the outbox to drain */
    int busy;              /* requests waiting or messages unsent (thread's view) */
    /* the thread's own */
    pthread_t th;
    int started;
    CURLM *m;
    xfer *xfers;
    pend *pending;
    mode mode;
    char *endpoint;        /* HTTP+SSE: where to POST */
    char *session;         /* MCP-Session-Id */
    char *version;         /* negotiated by initialize */
    int expired;           /* the session ended: only initialize goes */
    int initialized;       /* notifications/initialized went through */
    xfer *get;             /* the session's GET stream, or NULL */
    int get_offered;       /* 0 after a 405 */
    long get_backoff_ms;
    qmsg *held, **held_tail; /* waiting for the transport to be decided */
    xfer *probe;           /* the POST whose failure started a fallback */
    mcphdr_tools *tools;
    seen_node *seen_bucket[SEEN_BUCKETS];
    seen_node *seen_ring[SEEN_MAX];
    size_t seen_next;
    long delete_timeout_ms;
    int64_t endpoint_due_us;   /* HTTP+SSE: the endpoint event must come by then */
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- events ------------------------------------------------------------ */

/* Queue an event; bytes are taken over. */
static void emit(remote *r, remote_ev_kind kind, char *bytes, size_t len, int local)
{
    evnode *n = malloc(sizeof *n);
    if (!n || !bytes) {
        free(n);
        free(bytes);
        return;
    }
    n->ev = (remote_event){kind, bytes, len, local};
    n->next = NULL;
    pthread_mutex_lock(&r->mu);
    r->queued += len;
    if (r->queued > r->queued_peak) r->queued_peak = r->queued;
    int was_empty = r->outbox == NULL;
    *r->outbox_tail = n;
    r->outbox_tail = &n->next;
    if (was_empty) {
        char b = 1;
        if (write(r->evpipe[1], &b, 1) < 0) {}
    }
    pthread_mutex_unlock(&r->mu);
}

static void notice(remote *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(remote *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    emit(r, REMOTE_EV_NOTICE, strdup(buf), strlen(buf), 1);
}

/* Deliver a server message: one line, bytes otherwise unchanged. */
static void deliver(remote *r, const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    char *b = malloc(n + 1);
    if (!b) return;
    for (size_t i = 0; i < n; i++) b[i] = p[i] == '\r' || p[i] == '\n' ? ' ' : p[i];
    b[n] = '\0';
    emit(r, REMOTE_EV_MESSAGE, b, n, 0);
}

/* Answer the client's request id ourselves with an error. */
static void answer_error(remote *r, const char *id, int code, const char *msg, long status)
{
    cJSON *data = NULL;
    if (status > 0) {
        data = cJSON_CreateObject();
        cJSON_AddNumberToObject(data, "httpStatus", (double)status);
    }
    char *line = rpc_reply_error(id, code, msg, data);
    if (line) emit(r, REMOTE_EV_MESSAGE, line, strlen(line), 1);
}

/* ---- the pending table ------------------------------------------------- */

/* The pending request whose id has the value of the JSON text id: a
** server that parses and prints ids again answers 1.0 as 1 (rpc_id_key). */
static pend *pend_find(remote *r, const char *id)
{
    char *key = rpc_id_key(id, strlen(id));
    pend *p = r->pending;
    while (key && p && strcmp(p->key, key) != 0) p = p->next;
    free(key);
    return key ? p : NULL;
}

static void pend_free(pend *p)
{
    free(p->id);
    free(p->key);
    free(p->method);
    free(p);
}

static void pend_add(remote *r, const char *id, const char *method, xfer *x)
{
    pend *p = calloc(1, sizeof *p);
    if (!p) return;
    p->id = strdup(id);
    p->key = rpc_id_key(id, strlen(id));
    p->method = strdup(method ? method : "");
    p->x = x;
    if (!p->id || !p->key || !p->method) {
        pend_free(p);
        return;
    }
    p->next = r->pending;
    r->pending = p;
}

static void pend_unlink(remote *r, pend *p)
{
    for (pend **pp = &r->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            pend_free(p);
            return;
        }
}

/* Every request x still carries is answered with an error (or, with
** code 0, just forgotten). */
static void fail_pending(remote *r, const xfer *x, int code, const char *msg, long status)
{
    for (pend **pp = &r->pending; *pp;) {
        pend *p = *pp;
        if (p->x == x) {
            if (code) answer_error(r, p->id, code, msg, status);
            *pp = p->next;
            pend_free(p);
        } else {
            pp = &p->next;
        }
    }
}

static int carries(const remote *r, const xfer *x)
{
    for (const pend *p = r->pending; p; p = p->next)
        if (p->x == x) return 1;
    return 0;
}

/* ---- event ids already seen (a replay must not deliver them twice) ----- */

static unsigned seen_hash(const char *s)
{
    unsigned h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h % SEEN_BUCKETS;
}

static int seen_has(const remote *r, const char *id)
{
    for (const seen_node *n = r->seen_bucket[seen_hash(id)]; n; n = n->next)
        if (strcmp(n->id, id) == 0) return 1;
    return 0;
}

static void seen_drop(remote *r, seen_node *old)
{
    for (seen_node **pp = &r->seen_bucket[seen_hash(old->id)]; *pp; pp = &(*pp)->next)
        if (*pp == old) {
            *pp = old->next;
            break;
        }
    free(old->id);
    free(old);
}

static void seen_add(remote *r, const char *id)
{
    size_t slot = r->seen_next++ % SEEN_MAX;
    if (r->seen_ring[slot]) seen_drop(r, r->seen_ring[slot]);
    r->seen_ring[slot] = NULL;
    seen_node *n = malloc(sizeof *n);
    if (!n || !(n->id = strdup(id))) {
        free(n);
        return;
    }
    unsigned b = seen_hash(id);
    n->next = r->seen_bucket[b];
    r->seen_bucket[b] = n;
    r->seen_ring[slot] = n;
}

static void seen_clear(remote *r)
{
    for (size_t i = 0; i < SEEN_MAX; i++)
        if (r->seen_ring[i]) {
            seen_drop(r, r->seen_ring[i]);
            r->seen_ring[i] = NULL;
        }
}

/* ---- what the server says ---------------------------------------------- */

static void learn_warn(void *ud, const char *msg) { notice(ud, "%s", msg); }

/* One message object from the server: a response takes its request out of
** the pending table, and the answers to initialize and tools/list teach us
** the protocol version and the tools' header annotations. */
static void inspect(remote *r, const cJSON *msg)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (!id || cJSON_GetObjectItemCaseSensitive(msg, "method")) return;
    char *idt = cJSON_PrintUnformatted(id);
    pend *p = idt ? pend_find(r, idt) : NULL;
    free(idt);
    if (!p) return;
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(msg, "result");
    if (strcmp(p->method, "initialize") == 0 && result) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, "protocolVersion");
        /* It is sent back in a header of every later request: only plain
        ** header text is taken (mcphdr_add() would leave it out anyway). */
        if (cJSON_IsString(v) && *v->valuestring &&
            httpc_header_safe(v->valuestring, strlen(v->valuestring))) {
            free(r->version);
            r->version = strdup(v->valuestring);
        } else if (cJSON_IsString(v)) {
            notice(r, "the remote server's protocolVersion is not plain header text; "
                      "it is not sent back");
        }
    } else if (strcmp(p->method, "tools/list") == 0 && result) {
        mcphdr_tools_learn(r->tools, result, learn_warn, r);
    }
    pend_unlink(r, p);
}

static void server_message(remote *r, const char *p, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(p, n);
    if (cJSON_IsArray(j)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, j) inspect(r, e);
    } else if (cJSON_IsObject(j)) {
        inspect(r, j);
    }
    cJSON_Delete(j);
    deliver(r, p, n);
}

/* ---- starting exchanges ------------------------------------------------ */

static size_t on_header(char *p, size_t sz, size_t nm, void *ud);
static size_t on_body(char *p, size_t sz, size_t nm, void *ud);

static void xfer_reset_answer(xfer *x)
{
    free(x->ctype);
    free(x->session);
    free(x->www_auth);
    x->ctype = x->session = x->www_auth = NULL;
    x->status = 0;
    x->decided = x->sse_body = x->json_body = x->too_big = 0;
    jbuf_free(&x->in);
    sse_free(x->sse);
    x->sse = NULL;
    x->cerr[0] = '\0';
}

static void xfer_free(xfer *x)
{
    if (!x) return;
    if (x->h) {
        curl_multi_remove_handle(x->r->m, x->h);
        curl_easy_cleanup(x->h);
    }
    curl_slist_free_all(x->hdrs);
    xfer_reset_answer(x);
    free(x->body);
    free(x->url);
    free(x->last_id);
    free(x);
}

/* Unlink x from the list of exchanges and free it. */
static void xfer_drop(remote *r, xfer *x)
{
    for (xfer **pp = &r->xfers; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    if (r->get == x) r->get = NULL;
    if (r->probe == x) r->probe = NULL;
    xfer_free(x);
}

static xfer *xfer_new(remote *r, xkind kind)
{
    xfer *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->r = r;
    x->kind = kind;
    x->retry_ms = -1;
    x->next = r->xfers;
    r->xfers = x;
    return x;
}

/* The headers every request carries: the user's, the token, the session,
** the protocol version.  NULL when memory ran out. */
static struct curl_slist *base_headers(remote *r, xfer *x, struct curl_slist *l)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(l, r->headers[i]);
        if (!n) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = n;
    }
    x->sent_token = 0;
    if (r->auth) {
        const char *a = oauth_header(r->auth);
        if (a) {
            x->token_gen = oauth_token_gen(r->auth);
            struct curl_slist *n = curl_slist_append(l, a);
            if (!n) {
                curl_slist_free_all(l);
                return NULL;
            }
            l = n;
            x->sent_token = 1;
        }
    }
    x->sent_session = 0;
    if (r->mode != M_SSE && r->session && !x->is_init && !x->modern) {
        if (!(l = mcphdr_add(l, "MCP-Session-Id", r->session))) return NULL;
        x->sent_session = 1;
    }
    if (r->mode != M_SSE && r->version && !x->modern && !x->is_init)
        l = mcphdr_add(l, "MCP-Protocol-Version", r->version);
    return l;
}

/* (Re)start x now: a new easy handle with its headers. */
static int xfer_start(remote *r, xfer *x)
{
    xfer_reset_answer(x);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    if (x->h) {
        curl_multi_remove_handle(r->m, x->h);
        curl_easy_cleanup(x->h);
        x->h = NULL;
    }
    x->due_us = 0;
    struct curl_slist *l = NULL;
    if (x->kind == X_POST) {
        l = curl_slist_append(NULL, "Content-Type: application/json");
        if (l) l = curl_slist_append(l, "Accept: application/json, text/event-stream");
        if (l) l = curl_slist_append(l, "Expect:");
        if (l && x->modern) {
            cJSON *j = cJSON_ParseWithLength(x->body, x->blen);
            const char *v = mcphdr_meta_version(j);
            if (v) l = mcphdr_standard(l, j, v);
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
            if (l && cJSON_IsString(m) && strcmp(m->valuestring, "tools/call") == 0)
                l = mcphdr_params(r->tools, l, cJSON_GetObjectItemCaseSensitive(j, "params"));
            cJSON_Delete(j);
        }
    } else {
        l = curl_slist_append(NULL, "Accept: text/event-stream");
        if (l && x->last_id && *x->last_id && x->kind != X_SSE_GET)
            l = mcphdr_add(l, "Last-Event-ID", x->last_id);
    }
    if (!l || !(l = base_headers(r, x, l))) return -1;
    x->hdrs = l;
    x->h = curl_easy_init();
    if (!x->h) return -1;
    httpc_setup(x->h, x->url, 0);
    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->cerr);
    curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    if (x->kind == X_POST) {
        curl_easy_setopt(x->h, CURLOPT_POST, 1L);
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->blen);
    }
    return curl_multi_add_handle(r->m, x->h) == CURLM_OK ? 0 : -1;
}

static void schedule(xfer *x, long delay_ms)
{
    if (x->h) {
        curl_multi_remove_handle(x->r->m, x->h);
        curl_easy_cleanup(x->h);
        x->h = NULL;
    }
    x->due_us = now_us() + (int64_t)delay_ms * 1000;
}

/* ---- the answer's bytes ------------------------------------------------ */

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    char *v;
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        xfer_reset_answer(x);
        const char *sp = memchr(p, ' ', n);
        if (sp) x->status = strtol(sp + 1, NULL, 10);
        return n;
    }
    if (!x->ctype && (v = httpc_header_value(p, n, "content-type"))) x->ctype = v;
    else if (!x->session && (v = httpc_header_value(p, n, "mcp-session-id"))) x->session = v;
    else if (!x->www_auth && (v = httpc_header_value(p, n, "www-authenticate"))) x->www_auth = v;
    return n;
}

static int ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int on_event(void *ud, const sse_event *ev)
{
    xfer *x = ud;
    remote *r = x->r;
    if (*ev->id) {
        if (seen_has(r, ev->id)) return 0; /* a replay of what we have */
        seen_add(r, ev->id);
    }
    if (x->kind == X_SSE_GET && strcmp(ev->type, "endpoint") == 0) {
        CURLU *u = curl_url(), *b = curl_url();
        char *abs = NULL, *h1 = NULL, *h2 = NULL, *s1 = NULL, *s2 = NULL, *p1 = NULL,
             *p2 = NULL;
        int ok = u && b && curl_url_set(u, CURLUPART_URL, r->url, 0) == CURLUE_OK &&
                 curl_url_set(b, CURLUPART_URL, r->url, 0) == CURLUE_OK &&
                 curl_url_set(u, CURLUPART_URL, ev->data, 0) == CURLUE_OK &&
                 curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK &&
                 curl_url_get(u, CURLUPART_HOST, &h1, 0) == CURLUE_OK &&
                 curl_url_get(b, CURLUPART_HOST, &h2, 0) == CURLUE_OK &&
                 curl_url_get(u, CURLUPART_SCHEME, &s1, 0) == CURLUE_OK &&
                 curl_url_get(b, CURLUPART_SCHEME, &s2, 0) == CURLUE_OK &&
                 curl_url_get(u, CURLUPART_PORT, &p1, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                 curl_url_get(b, CURLUPART_PORT, &p2, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                 strcasecmp(h1, h2) == 0 && strcasecmp(s1, s2) == 0 && strcmp(p1, p2) == 0;
        if (ok && !r->endpoint) r->endpoint = strdup(abs);
        else if (!ok) notice(r, "the SSE server announced an endpoint on another origin; ignored");
        curl_free(abs);
        curl_free(h1);
        curl_free(h2);
        curl_free(s1);
        curl_free(s2);
        curl_free(p1);
        curl_free(p2);
        curl_url_cleanup(u);
        curl_url_cleanup(b);
        return 0;
    }
    if (strcmp(ev->type, "message") != 0) return 0;
    size_t i = 0;
    while (i < ev->len && strchr(" \t\r\n", ev->data[i])) i++;
    if (i == ev->len) return 0; /* a priming event: an id and no message */
    server_message(r, ev->data, ev->len);
    return 0;
}

/* Whether the outbox is over its limit (the owner is not reading). */
static int outbox_full(remote *r)
{
    pthread_mutex_lock(&r->mu);
    int full = r->queued > r->queued_max;
    if (full) r->paused = 1;
    pthread_mutex_unlock(&r->mu);
    return full;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    xfer *x = ud;
    size_t n = sz * nm;
    if (outbox_full(x->r)) {
        /* libcurl keeps these bytes and hands them again on resume. */
        x->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (!x->decided) {
        x->decided = 1;
        int ok = x->status >= 200 && x->status < 300;
        if (ok && x->fallback_probe) {
            /* An answer stream: Streamable HTTP it is (the held messages
            ** go once this callback has returned). */
            x->fallback_probe = 0;
            x->r->probe = NULL;
            x->r->mode = M_STREAMABLE;
        }
        if (ok && ctype_is(x->ctype, "text/event-stream")) {
            x->sse_body = 1;
            if (!(x->sse = sse_new(x->r->max))) return 0;
        } else {
            x->json_body = ok && ctype_is(x->ctype, "application/json");
            x->in_max = x->json_body ? x->r->max : ERRBODY_MAX;
        }
    }
    if (x->sse_body) {
        int rc = sse_feed(x->sse, p, n, on_event, x);
        free(x->last_id);
        x->last_id = strdup(sse_last_id(x->sse));
        if (sse_retry_ms(x->sse) >= 0) x->retry_ms = sse_retry_ms(x->sse);
        if (rc == SSE_ETOOBIG) x->too_big = 1;
        return rc == 0 ? n : 0;
    }
    if (x->in.len + n > x->in_max) {
        if (x->json_body) {
            x->too_big = 1;
            return 0;
        }
        return n; /* the rest of an error page is not needed */
    }
    jbuf_put(&x->in, p, n);
    return x->in.failed ? 0 : n;
}

/* ---- sending ------------------------------------------------------------ */

static void open_get(remote *r);
static void start_fallback(remote *r, xfer *probe);

/* Hold a message until the transport is decided. */
static void hold(remote *r, char *bytes, size_t len)
{
    qmsg *q = malloc(sizeof *q);
    if (!q) {
        free(bytes);
        return;
    }
    *q = (qmsg){bytes, len, NULL};
    *r->held_tail = q;
    r->held_tail = &q->next;
}

/* One message from the client; bytes are taken over. */
static void submit(remote *r, char *bytes, size_t len)
{
    rpc_message msg = {0};
    char *reply = NULL;
    rpc_kind k = rpc_parse(bytes, len, NULL, &msg, &reply);
    free(reply);
    int held = !r->ended && r->mode == M_UNDECIDED && (r->probe || r->kind == REMOTE_SSE);
    if (r->ended) {
        if (k == RPC_KIND_REQUEST)
            answer_error(r, msg.id, REMOTE_E_HTTP, "the connection to the remote server ended", 0);
        goto done;
    }
    const char *method = k == RPC_KIND_INVALID ? NULL : msg.method;
    int modern = k == RPC_KIND_REQUEST && mcphdr_meta_version(msg.root) != NULL;
    /* 2026-07-28: closing the answer stream is the cancellation. */
    if (k == RPC_KIND_NOTIFICATION && strcmp(method, "notifications/cancelled") == 0) {
        char *rid = cJSON_PrintUnformatted(
            cJSON_GetObjectItemCaseSensitive(msg.params, "requestId"));
        pend *p = rid ? pend_find(r, rid) : NULL;
        free(rid);
        if (p && p->x && p->x->modern) {
            xfer *x = p->x;
            fail_pending(r, x, 0, NULL, 0);
            if (r->probe == x) r->probe = NULL;
            xfer_drop(r, x);
            goto done;
        }
        /* Earlier revisions: the notification goes to the server, and the
        ** request is no longer waited for (the client expects no answer,
        ** so none is made up); its answer stream, when it carries nothing
        ** else, is closed. */
        if (p) {
            xfer *x = p->x;
            pend_unlink(r, p);
            if (x && x->kind == X_POST && !carries(r, x) && x->decided) xfer_drop(r, x);
        }
    }
    if (held) {
        hold(r, bytes, len);
        bytes = NULL;
        goto done;
    }
    int is_init = k == RPC_KIND_REQUEST && strcmp(method, "initialize") == 0;
    if (is_init && r->mode != M_SSE) {
        /* A new session: the old one (if any) is left for the server to
        ** expire; its stream is closed. */
        free(r->session);
        free(r->version);
        r->session = r->version = NULL;
        r->expired = r->initialized = 0;
        if (r->get) xfer_drop(r, r->get);
        r->get_offered = 1;
        seen_clear(r);
    }
    if (r->expired && !modern && r->mode != M_SSE) {
        if (k == RPC_KIND_REQUEST)
            answer_error(r, msg.id, REMOTE_E_SESSION,
                         "the remote server ended the MCP session; initialize again", 404);
        goto done;
    }
    xfer *x = xfer_new(r, X_POST);
    if (!x) goto done;
    x->body = bytes;
    x->blen = len;
    bytes = NULL;
    x->modern = modern;
    x->is_init = is_init;
    x->is_initialized = k == RPC_KIND_NOTIFICATION &&
                        strcmp(method, "notifications/initialized") == 0;
    x->url = strdup(r->mode == M_SSE ? r->endpoint : r->url);
    if (k == RPC_KIND_REQUEST) {
        pend_add(r, msg.id, method, x);
        x->has_request = 1;
    } else if (k == RPC_KIND_BATCH) {
        const cJSON *e;
        cJSON_ArrayForEach(e, msg.root) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "method");
            if (!id || !cJSON_IsString(m)) continue;
            char *idt = cJSON_PrintUnformatted(id);
            if (idt) pend_add(r, idt, m->valuestring, x);
            free(idt);
            x->has_request = 1;
        }
    }
    if (r->mode == M_UNDECIDED && r->kind == REMOTE_AUTO) {
        x->fallback_probe = 1;
        r->probe = x;
    }
    if (!x->url || xfer_start(r, x) != 0) {
        fail_pending(r, x, REMOTE_E_HTTP, "out of memory", 0);
        xfer_drop(r, x);
    }
done:
    free(bytes);
    rpc_message_free(&msg);
}

/* Send the messages held while the transport was undecided. */
static void release_held(remote *r)
{
    qmsg *q = r->held;
    r->held = NULL;
    r->held_tail = &r->held;
    while (q) {
        qmsg *next = q->next;
        submit(r, q->bytes, q->len);
        free(q);
        q = next;
        if (r->mode == M_UNDECIDED && r->probe) {
            /* Still probing: keep the rest in order. */
            while (q) {
                next = q->next;
                hold(r, q->bytes, q->len);
                free(q);
                q = next;
            }
        }
    }
}

/* ---- ends of exchanges -------------------------------------------------- */

/* Whether an error body is a JSON-RPC error a 2026-07-28 server sends:
** then the server is modern and no fallback applies. */
static int modern_error(const xfer *x)
{
    cJSON *j = cJSON_ParseWithLength(x->in.p ? x->in.p : "", x->in.len);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
    int yes = cJSON_IsNumber(code) &&
              (code->valueint == -32020 || code->valueint == -32021 ||
               code->valueint == -32022 ||
               (code->valueint == -32601 && x->status == 404));
    cJSON_Delete(j);
    return yes;
}

/* An HTTP error answer to a POST: a JSON-RPC body with our ids is
** delivered as it is; a JSON-RPC error without id becomes one per
** request; anything else becomes REMOTE_E_HTTP errors. */
static void post_failed(remote *r, xfer *x)
{
    cJSON *j = cJSON_ParseWithLength(x->in.p ? x->in.p : "", x->in.len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (cJSON_IsObject(j) && err && id && !cJSON_IsNull(id)) {
        char *idt = cJSON_PrintUnformatted(id);
        pend *p = idt ? pend_find(r, idt) : NULL;
        free(idt);
        if (p && p->x == x) {
            server_message(r, x->in.p, x->in.len);
            fail_pending(r, x, REMOTE_E_HTTP, "the remote server answered with an error", x->status);
            cJSON_Delete(j);
            return;
        }
    }
    char msg[512];
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(err, "message");
    for (pend **pp = &r->pending; *pp;) {
        pend *p = *pp;
        if (p->x != x) {
            pp = &p->next;
            continue;
        }
        if (cJSON_IsNumber(code) && cJSON_IsString(text)) {
            /* The server's own error, given the id it left out. */
            cJSON *data = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(err, "data"), 1);
            char *line = rpc_reply_error(p->id, code->valueint, text->valuestring, data);
            if (line) emit(r, REMOTE_EV_MESSAGE, line, strlen(line), 1);
        } else {
            snprintf(msg, sizeof msg, "the remote server answered HTTP %ld%s%s", x->status,
                     x->status >= 300 && x->status < 400 ? " (a redirect; give the URL it names)" : "",
                     x->status == 406 || x->status == 415 ? " (it may not speak Streamable HTTP)" : "");
            answer_error(r, p->id, REMOTE_E_HTTP, msg, x->status);
        }
        *pp = p->next;
        pend_free(p);
    }
    cJSON_Delete(j);
}

/* The session ended (404 on a request that carried it): its GET stream
** goes too, unless that is the caller's own xfer `except`. */
static void session_expired(remote *r, const xfer *except)
{
    if (r->get && r->get != except) xfer_drop(r, r->get);
    if (!r->session) return;
    notice(r, "the remote server ended the MCP session; the client must initialize again");
    free(r->session);
    r->session = NULL;
    r->expired = 1;
}

/* A 401 or 403: run the authorization and start x again, or fail it.
** Returns 1 when x was restarted. */
static int auth_round(remote *r, xfer *x)
{
    int stepup = x->status == 403 && x->www_auth && strstr(x->www_auth, "insufficient_scope");
    if (x->status == 403 && !stepup) return 0;
    char err[512] = "";
    if (r->auth && x->sent_token && x->token_gen != oauth_token_gen(r->auth) &&
        x->auth_rounds++ < AUTH_MAX) {
        /* Refused with a token replaced since (another request's 401 got
        ** the new one): just send it again. */
        if (xfer_start(r, x) == 0) return 1;
    }
    if (!r->auth) {
        snprintf(err, sizeof err, "the remote server requires authorization (HTTP %ld); "
                 "run dss-audit-mcp auth --url with its URL, or pass --header", x->status);
    } else if (x->auth_rounds++ >= AUTH_MAX) {
        snprintf(err, sizeof err, "authorization failed: the remote server still answers "
                 "HTTP %ld after %d attempts", x->status, AUTH_MAX);
    } else if (oauth_challenge(r->auth, x->status, x->www_auth, err, sizeof err) == 0) {
        if (xfer_start(r, x) == 0) return 1;
        snprintf(err, sizeof err, "out of memory");
    }
    if (x->kind == X_GET) {
        notice(r, "the server's stream for its own messages stays closed: %s", err);
        return 0;
    }
    fail_pending(r, x, REMOTE_E_AUTH, err, x->status);
    if (x->kind == X_SSE_GET) notice(r, "%s", err);
    return 0;
}

static void resume_or_fail(remote *r, xfer *x, const char *why)
{
    if (!x->modern && x->last_id && *x->last_id && x->resumes < RESUME_MAX &&
        r->mode == M_STREAMABLE) {
        x->resumes++;
        x->kind = X_RESUME;
        free(x->url);
        x->url = strdup(r->url);
        notice(r, "the answer stream was interrupted (%s); resuming it", why);
        schedule(x, x->retry_ms >= 0 ? x->retry_ms : RETRY_DEFAULT_MS);
        return;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "the remote server's answer stream ended without an answer (%s)",
             why);
    fail_pending(r, x, REMOTE_E_HTTP, msg, x->status);
}

static void ended_sse_get(remote *r, xfer *x, CURLcode rc)
{
    char msg[512];
    if (rc != CURLE_OK)
        snprintf(msg, sizeof msg, "the SSE stream of the remote server failed: %s",
                 *x->cerr ? x->cerr : curl_easy_strerror(rc));
    else if (x->status < 200 || x->status >= 300)
        snprintf(msg, sizeof msg, "the SSE stream of the remote server answered HTTP %ld",
                 x->status);
    else
        snprintf(msg, sizeof msg, "the remote server closed its SSE stream");
    if (r->mode == M_UNDECIDED) {
        /* The fallback did not work out: the probe's own answer stands. */
        r->mode = M_STREAMABLE;
        xfer *probe = r->probe;
        r->probe = NULL;
        if (probe) {
            post_failed(r, probe);
            xfer_drop(r, probe);
        }
        if (r->kind == REMOTE_SSE) {
            emit(r, REMOTE_EV_CLOSED, strdup(msg), strlen(msg), 1);
            r->ended = 1;
        }
        release_held(r);
        return;
    }
    for (pend *p = r->pending; p; p = p->next) p->x = NULL;
    for (pend **pp = &r->pending; *pp;) {
        pend *p = *pp;
        answer_error(r, p->id, REMOTE_E_HTTP, msg, 0);
        *pp = p->next;
        pend_free(p);
    }
    emit(r, REMOTE_EV_CLOSED, strdup(msg), strlen(msg), 1);
    r->ended = 1;
}

static void ended(remote *r, xfer *x, CURLcode rc)
{
    long st = x->status;
    int ok = rc == CURLE_OK && st >= 200 && st < 300;
    if (rc == CURLE_OK && (st == 401 || st == 403) && auth_round(r, x)) return;
    if (x->kind == X_SSE_GET) {
        ended_sse_get(r, x, rc);
        xfer_drop(r, x);
        return;
    }
    if (x->kind == X_GET) {
        if (rc == CURLE_OK && st == 404 && x->sent_session) {
            session_expired(r, x);
            xfer_drop(r, x);
            return;
        }
        if (rc == CURLE_OK && (st == 405 || (st >= 400 && st != 404 && st < 500))) {
            r->get_offered = 0; /* no stream offered here */
            xfer_drop(r, x);
            return;
        }
        /* Dropped or refused: reconnect, slower each time it fails. */
        long d = x->retry_ms >= 0 ? x->retry_ms : RETRY_DEFAULT_MS;
        if (!ok) {
            r->get_backoff_ms = r->get_backoff_ms ? r->get_backoff_ms * 2 : d;
            if (r->get_backoff_ms > GET_BACKOFF_MAX_MS) r->get_backoff_ms = GET_BACKOFF_MAX_MS;
            d = r->get_backoff_ms;
        } else {
            r->get_backoff_ms = 0;
        }
        schedule(x, d);
        return;
    }
    /* A POST, or a GET resuming a POST's stream. */
    if (x->fallback_probe) {
        r->probe = NULL;
        if (rc == CURLE_OK && (st == 400 || st == 404 || st == 405) && !modern_error(x)) {
            r->probe = x;
            x->fallback_probe = 0;
            start_fallback(r, x);
            return;
        }
        /* Any other answer settles it; a network error leaves it open. */
        if (rc == CURLE_OK) r->mode = M_STREAMABLE;
        x->fallback_probe = 0;
    }
    if (rc == CURLE_OK && st == 404 && x->sent_session) {
        session_expired(r, x);
        fail_pending(r, x, REMOTE_E_SESSION,
                     "the remote server ended the MCP session; initialize again", 404);
        xfer_drop(r, x);
        release_held(r);
        return;
    }
    if (rc != CURLE_OK) {
        char msg[512];
        if (x->too_big) {
            snprintf(msg, sizeof msg, "the remote server's message is longer than %zu bytes",
                     r->max);
            fail_pending(r, x, REMOTE_E_HTTP, msg, st);
        } else if (x->sse_body && carries(r, x)) {
            resume_or_fail(r, x, *x->cerr ? x->cerr : curl_easy_strerror(rc));
            if (x->due_us) return;
        } else {
            char *shown = httpc_redact_url(x->url);
            snprintf(msg, sizeof msg, "cannot reach the remote server %s: %s",
                     shown ? shown : "", *x->cerr ? x->cerr : curl_easy_strerror(rc));
            free(shown);
            fail_pending(r, x, REMOTE_E_HTTP, msg, 0);
        }
    } else if (!ok) {
        if (x->kind == X_RESUME && carries(r, x)) {
            char why[64];
            snprintf(why, sizeof why, "the server refused to resume it: HTTP %ld", st);
            resume_or_fail(r, x, why);
            if (x->due_us) return;
        } else {
            post_failed(r, x);
        }
    } else {
        if (x->is_init && x->session && !r->session) {
            /* Visible ASCII, as the spec allows: it is sent back in a header
            ** of every later request. */
            if (httpc_visible_ascii(x->session)) {
                r->session = strdup(x->session);
                r->expired = 0;
            } else {
                notice(r, "the remote server's MCP-Session-Id holds characters other than "
                          "visible ASCII; it is not sent back");
            }
        }
        if (x->json_body && x->in.len) {
            server_message(r, x->in.p, x->in.len);
        }
        if (x->is_initialized && r->mode == M_STREAMABLE) {
            r->initialized = 1;
            open_get(r);
        }
        if (carries(r, x)) {
            if (x->sse_body) {
                resume_or_fail(r, x, "the connection closed");
                if (x->due_us) return;
            } else if (st == 202 || !x->json_body) {
                /* Accepted: the answer will come on the GET stream. */
                for (pend *p = r->pending; p; p = p->next)
                    if (p->x == x) p->x = NULL;
            } else {
                fail_pending(r, x, REMOTE_E_HTTP,
                             "the remote server's answer did not answer the request", st);
            }
        }
    }
    xfer_drop(r, x);
    if (r->mode != M_UNDECIDED || !r->probe) release_held(r);
}

/* The session's stream for the server's own requests and notifications. */
static void open_get(remote *r)
{
    if (r->get || !r->get_offered || r->mode != M_STREAMABLE) return;
    xfer *x = xfer_new(r, X_GET);
    if (!x) return;
    x->url = strdup(r->url);
    r->get = x;
    if (!x->url || xfer_start(r, x) != 0) xfer_drop(r, x);
}

/* HTTP+SSE: the GET that announces the endpoint. */
static void start_fallback(remote *r, xfer *probe)
{
    xfer *x = xfer_new(r, X_SSE_GET);
    if (!x) return;
    r->endpoint_due_us = now_us() + (int64_t)ENDPOINT_WAIT_MS * 1000;
    x->url = strdup(r->url);
    if (probe) {
        /* The probe is sent again on the endpoint once it is known. */
        notice(r, "the server answered HTTP %ld to a POST: trying the HTTP+SSE "
               "transport of 2024-11-05", probe->status);
        curl_multi_remove_handle(r->m, probe->h);
    }
    if (!x->url || xfer_start(r, x) != 0) {
        ended_sse_get(r, x, CURLE_OUT_OF_MEMORY);
        xfer_drop(r, x);
    }
}

/* HTTP+SSE: the endpoint arrived; send what waited. */
static void endpoint_known(remote *r)
{
    r->mode = M_SSE;
    xfer *probe = r->probe;
    r->probe = NULL;
    if (probe) {
        /* Its requests are forgotten here and re-registered by submit(). */
        fail_pending(r, probe, 0, NULL, 0);
        char *b = probe->body;
        size_t n = probe->blen;
        probe->body = NULL;
        xfer_drop(r, probe);
        submit(r, b, n);
    }
    release_held(r);
}

/* ---- the thread ---------------------------------------------------------- */

static void take_inbox(remote *r)
{
    pthread_mutex_lock(&r->mu);
    qmsg *q = r->inbox;
    r->inbox = NULL;
    r->inbox_tail = &r->inbox;
    pthread_mutex_unlock(&r->mu);
    while (q) {
        qmsg *next = q->next;
        submit(r, q->bytes, q->len);
        free(q);
        q = next;
    }
}

/* A blocking DELETE of the session, at most timeout_ms. */
static void delete_session(remote *r, long timeout_ms)
{
    if (!r->session || r->mode == M_SSE) return;
    xfer tmp = {.r = r, .kind = X_GET};
    struct curl_slist *l = base_headers(r, &tmp, NULL); /* with the session */
    httpc_response resp;
    char err[256];
    if (l && httpc_request("DELETE", r->url, l, NULL, 0, timeout_ms, 0, 4096, &resp, err,
                           sizeof err) == 0)
        httpc_response_free(&resp);
    curl_slist_free_all(l);
}

static void *run(void *arg)
{
    remote *r = arg;
    if (r->kind == REMOTE_SSE) start_fallback(r, NULL);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop) break;
        take_inbox(r);
        int running;
        curl_multi_perform(r->m, &running);
        CURLMsg *cm;
        int left;
        while ((cm = curl_multi_info_read(r->m, &left))) {
            if (cm->msg != CURLMSG_DONE) continue;
            xfer *x = NULL;
            curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode rc = cm->data.result;
            if (x) ended(r, x, rc);
        }
        if (r->mode == M_UNDECIDED && r->endpoint) endpoint_known(r);
        if (r->mode == M_UNDECIDED && !r->endpoint && r->endpoint_due_us &&
            now_us() > r->endpoint_due_us) {
            /* A stream that never names its endpoint is no HTTP+SSE. */
            r->endpoint_due_us = 0;
            for (xfer *x = r->xfers; x; x = x->next)
                if (x->kind == X_SSE_GET) {
                    snprintf(x->cerr, sizeof x->cerr, "no endpoint event within %d s",
                             ENDPOINT_WAIT_MS / 1000);
                    ended_sse_get(r, x, CURLE_OPERATION_TIMEDOUT);
                    xfer_drop(r, x);
                    break;
                }
        }
        if (r->held && (r->mode != M_UNDECIDED || !r->probe)) release_held(r);
        int busy = r->pending != NULL || r->held != NULL;
        for (xfer *x = r->xfers; x && !busy; x = x->next)
            busy = x->kind == X_POST || x->kind == X_RESUME;
        pthread_mutex_lock(&r->mu);
        r->busy = busy;
        int resume = r->paused && r->queued <= r->queued_max / 2;
        if (resume) r->paused = 0;
        pthread_mutex_unlock(&r->mu);
        for (xfer *x = r->xfers; resume && x; x = x->next)
            if (x->paused && x->h) {
                x->paused = 0;
                curl_easy_pause(x->h, CURLPAUSE_CONT);
            }
        /* Timers: scheduled restarts. */
        int64_t now = now_us(), next = now + 1000000;
        for (xfer *x = r->xfers; x; x = x->next) {
            if (!x->due_us) continue;
            if (x->due_us <= now) {
                if (xfer_start(r, x) != 0) x->due_us = now + 1000000;
            } else if (x->due_us < next) {
                next = x->due_us;
            }
        }
        int wait = (int)((next - now) / 1000);
        if (wait < 0) wait = 0;
        curl_multi_poll(r->m, NULL, 0, wait, NULL);
    }
    delete_session(r, r->delete_timeout_ms);
    return NULL;
}

/* ---- the owner's side ---------------------------------------------------- */

remote *remote_open(const remote_options *o, char *err, size_t errlen)
{
    if (httpc_global_init() != 0) {
        snprintf(err, errlen, "libcurl could not be initialized");
        return NULL;
    }
    CURLU *u = curl_url();
    char *scheme = NULL;
    int bad = !u || curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
              (strcmp(scheme, "http") && strcmp(scheme, "https"));
    curl_free(scheme);
    curl_url_cleanup(u);
    if (bad) {
        snprintf(err, errlen, "not an http:// or https:// URL");
        return NULL;
    }
    remote *r = calloc(1, sizeof *r);
    if (!r) goto oom;
    r->evpipe[0] = r->evpipe[1] = -1;
    pthread_mutex_init(&r->mu, NULL);
    r->inbox_tail = &r->inbox;
    r->outbox_tail = &r->outbox;
    r->held_tail = &r->held;
    r->kind = o->kind;
    r->auth = o->auth;
    r->max = o->max_message_bytes ? o->max_message_bytes : 4u << 20;
    r->queued_max = o->max_queued_bytes ? o->max_queued_bytes : 16u << 20;
    r->get_offered = 1;
    r->mode = o->kind == REMOTE_STREAMABLE ? M_STREAMABLE : M_UNDECIDED;
    if (!(r->url = strdup(o->url)) || !(r->tools = mcphdr_tools_new())) goto oom;
    if (o->nheaders) {
        if (!(r->headers = calloc(o->nheaders, sizeof *r->headers))) goto oom;
        for (size_t i = 0; i < o->nheaders; i++) {
            if (!(r->headers[i] = strdup(o->headers[i]))) goto oom;
            r->nheaders++;
        }
    }
    if (pipe2(r->evpipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        remote_close(r, 0);
        return NULL;
    }
    if (!(r->m = curl_multi_init())) goto oom;
    curl_multi_setopt(r->m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (pthread_create(&r->th, NULL, run, r) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        remote_close(r, 0);
        return NULL;
    }
    r->started = 1;
    return r;
oom:
    snprintf(err, errlen, "out of memory");
    remote_close(r, 0);
    return NULL;
}

int remote_fd(const remote *r) { return r->evpipe[0]; }

int remote_send(remote *r, const char *bytes, size_t len)
{
    qmsg *q = malloc(sizeof *q);
    char *b = malloc(len + 1);
    if (!q || !b) {
        free(q);
        free(b);
        return -1;
    }
    memcpy(b, bytes, len);
    b[len] = '\0';
    *q = (qmsg){b, len, NULL};
    pthread_mutex_lock(&r->mu);
    r->busy = 1;
    *r->inbox_tail = q;
    r->inbox_tail = &q->next;
    pthread_mutex_unlock(&r->mu);
    curl_multi_wakeup(r->m);
    return 0;
}

int remote_next(remote *r, remote_event *ev)
{
    pthread_mutex_lock(&r->mu);
    evnode *n = r->outbox;
    int wake = 0;
    if (n) {
        r->queued -= n->ev.len;
        wake = r->paused && r->queued <= r->queued_max / 2;
        r->outbox = n->next;
        if (!r->outbox) {
            r->outbox_tail = &r->outbox;
            char b[64];
            while (read(r->evpipe[0], b, sizeof b) > 0) {}
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (wake) curl_multi_wakeup(r->m);
    if (!n) return 0;
    *ev = n->ev;
    free(n);
    return 1;
}

int remote_idle(remote *r)
{
    pthread_mutex_lock(&r->mu);
    int idle = !r->busy && !r->inbox && !r->outbox;
    pthread_mutex_unlock(&r->mu);
    return idle;
}

size_t remote_max_queued(remote *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->queued_peak;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void remote_close(remote *r, long timeout_ms)
{
    if (!r) return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->delete_timeout_ms = timeout_ms;
        r->stopping = 1;
        pthread_mutex_unlock(&r->mu);
        if (r->auth) oauth_cancel(r->auth); /* a flow waiting for the browser */
        curl_multi_wakeup(r->m);
        pthread_join(r->th, NULL);
    }
    while (r->xfers) xfer_drop(r, r->xfers);
    while (r->pending) pend_unlink(r, r->pending);
    for (qmsg *q = r->inbox, *n; q; q = n) {
        n = q->next;
        free(q->bytes);
        free(q);
    }
    for (qmsg *q = r->held, *n; q; q = n) {
        n = q->next;
        free(q->bytes);
        free(q);
    }
    for (evnode *e = r->outbox, *n; e; e = n) {
        n = e->next;
        free(e->ev.bytes);
        free(e);
    }
    seen_clear(r);
    if (r->m) curl_multi_cleanup(r->m);
    for (size_t i = 0; i < r->nheaders; i++) free(r->headers[i]);
    free(r->headers);
    mcphdr_tools_free(r->tools);
    free(r->url);
    free(r->endpoint);
    free(r->session);
    free(r->version);
    if (r->evpipe[0] >= 0) close(r->evpipe[0]);
    if (r->evpipe[1] >= 0) close(r->evpipe[1]);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
