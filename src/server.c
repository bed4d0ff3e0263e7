/*
** server.c: read, handle, commit, reply; upkeep when the input falls quiet.
**
** The transport of `serve`: it reads lines, hands them to the MCP layer,
** and decides only how many requests share a group.  What a group's commit
** means (begin, savepoints, durability, checkpoints) is the recorder's
** (record.h).  Replies of one group wait for its commit and then go out
** together, with as few writev() calls as possible.  Signals only set a flag:
** the loop notices it between groups (or when a blocking read is
** interrupted), so a request is never abandoned half done.
*/
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include "server.h"
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "protocol/rpc.h"
#include "util/diag.h"

#define DEFAULT_MAX_MESSAGE (4u << 20)
#define DEFAULT_MAX_GROUP 256
/* A group also ends once its replies hold this many bytes: replies wait in
** memory for the commit, and a few large query results would otherwise
** make the peak memory of a busy server grow with the group. */
#define MAX_GROUP_REPLY_BYTES (1u << 20)

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Past a file-size limit (RLIMIT_FSIZE) a write should fail with EFBIG,
    ** which the store reports as a full disk, not kill the server. */
    signal(SIGXFSZ, SIG_IGN);
}

typedef struct group {
    mcp_reply *r;
    int n, cap;
    size_t bytes; /* reply bytes held, which bounds the group (see below) */
} group;

/* Send the group's reply lines, each with its newline, straight from the
** replies with writev: gathering them into one buffer first would hold
** every byte twice. */
static int write_lines(int fd, group *g)
{
    struct iovec iov[64];
    int n = 0;
    for (int i = 0; i <= g->n; i++) {
        const char *line = i < g->n ? mcp_reply_line(&g->r[i]) : NULL;
        if (line) {
            iov[n++] = (struct iovec){(void *)line, strlen(line)};
            iov[n++] = (struct iovec){"\n", 1};
        }
        if (n == 0 || (n < 64 && i < g->n)) continue;
        struct iovec *v = iov;
        while (n > 0) {
            ssize_t w = writev(fd, v, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return -1;
            while (n > 0 && (size_t)w >= v->iov_len) {
                w -= (ssize_t)v->iov_len;
                v++;
                n--;
            }
            if (n > 0) {
                v->iov_base = (char *)v->iov_base + w;
                v->iov_len -= (size_t)w;
            }
        }
    }
    return 0;
}

static mcp_reply *group_add(group *g)
{
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 16;
        mcp_reply *r = realloc(g->r, (size_t)cap * sizeof *r);
        if (!r) return NULL;
        g->r = r;
        g->cap = cap;
    }
    mcp_reply *r = &g->r[g->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static size_t reply_bytes(const mcp_reply *r)
{
    size_t n = r->line ? strlen(r->line) : 0;
    for (int i = 0; i < r->nparts; i++) n += reply_bytes(&r->parts[i]);
    return n;
}

/* Commit the recorder's group, settle each reply against it, send the
** replies in order, and let the recorder do what it deferred. */
static int finish_group(mcp *m, group *g, int out_fd)
{
    recorder *rec = mcp_recorder(m); /* NULL: no database yet, nothing written */
    if (rec) {
        /* Settled even with nothing left to commit: the database may have
        ** rolled the group back by itself (a full disk), and the replies
        ** that acknowledged its writes must say so. */
        char err[STORE_ERRLEN];
        if (recorder_commit(rec, err) != STORE_OK) diag("commit failed: %s", err);
        for (int i = 0; i < g->n; i++) mcp_reply_settle(&g->r[i], rec);
    }
    int rc = write_lines(out_fd, g);
    for (int i = 0; i < g->n; i++) mcp_reply_free(&g->r[i]);
    g->n = 0;
    g->bytes = 0;
    /* A checkpoint comes after the replies so it never delays them. */
    if (rec) recorder_done(rec);
    return rc;
}

struct server {
    int in_fd, out_fd;
    size_t max_message;
    int max_group;
    frame *f;
};

/* A pipe holds 64 KiB by default, and a reply to a query can be several
** hundred kilobytes: written into a small pipe, it goes out in pieces, each
** waiting for the client to wake up and read.  A larger pipe takes the
** reply in one write.  Where the output is no pipe, or the system refuses
** (a per-user limit on pipe memory), the default stays, which is correct,
** only slower. */
#define PIPE_BYTES (1 << 20)

static void widen_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
    int have = fcntl(fd, F_GETPIPE_SZ);
    if (have > 0 && have < PIPE_BYTES) (void)fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES);
#else
    (void)fd;
#endif
}

server *server_new(const server_options *opt)
{
    server *sv = calloc(1, sizeof *sv);
    if (!sv) return NULL;
    sv->in_fd = opt->in_fd;
    sv->out_fd = opt->out_fd;
    sv->max_message = opt->max_message_bytes ? opt->max_message_bytes : DEFAULT_MAX_MESSAGE;
    sv->max_group = opt->max_group > 0 ? opt->max_group : DEFAULT_MAX_GROUP;
    if (!(sv->f = frame_new(sv->in_fd, sv->max_message))) {
        free(sv);
        return NULL;
    }
    widen_pipe(sv->out_fd);
    return sv;
}

void server_free(server *sv)
{
    if (!sv) return;
    frame_free(sv->f);
    free(sv);
}

/* The transport side of mcp_io: notifications go out at once (they
** acknowledge nothing, so they need not wait for a commit). */
static void emit_now(void *ctx, const char *line)
{
    server *io = ctx;
    fs_write_line(io->out_fd, line, strlen(line));
}

/* Is this buffered line a notifications/cancelled naming `id`? */
static int cancels(void *ctx, const char *line, size_t len)
{
    return rpc_is_cancellation(line, len, ctx);
}

static int cancelled_ahead(void *ctx, const cJSON *id)
{
    server *sv = ctx;
    return frame_peek(sv->f, cancels, (void *)id);
}

mcp_io server_io(server *sv)
{
    return (mcp_io){.emit = emit_now, .cancelled = cancelled_ahead, .ctx = sv};
}

/* How long the input must stay silent before the server spends time on
** upkeep (store_idle(): copying the write-ahead log back).  Agents pause far
** longer between calls while they think, so for them the copy never delays
** a request.  A client that sends its next request as soon as a reply
** arrives, or keeps many in flight, leaves no such gap, and its commits copy
** the log back at the store's own, larger bound.  Upkeep at every moment
** with no input waiting would copy back far more often and undo much of
** what the larger bound saves: measured with bench_loadgen's writes, 10.2
** database pages written per call instead of 7.1 with one call in flight,
** 2.0 to 3.6 instead of 1.7 with 64. */
#define QUIET_MS 20

/* Whether nothing arrives on fd for ms milliseconds (nothing is read).  A
** signal ends the wait early and counts as not quiet. */
static int quiet_for(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

int server_run(server *sv, mcp *m)
{
    group g = {0};
    int rc = 0;
    char err[STORE_ERRLEN + 512];
    install_signals();
    while (!stop_requested) {
        const char *line;
        size_t len;
        int block = 1, r = FRAME_LINE;
        /* Take what is waiting: block for the first line only. */
        while (g.n < sv->max_group && g.bytes < MAX_GROUP_REPLY_BYTES &&
               (r = frame_next(sv->f, block, &stop_requested, &line, &len)) != FRAME_AGAIN) {
            if (r == FRAME_EOF || r == FRAME_ERROR) {
                stop_requested = 1;
                break;
            }
            mcp_reply *reply = group_add(&g);
            if (!reply) {
                diag("out of memory");
                stop_requested = 1;
                break;
            }
            if (r == FRAME_TOO_LONG) reply->line = mcp_too_long_reply(sv->max_message);
            else mcp_handle(m, line, len, reply);
            g.bytes += reply_bytes(reply);
            block = 0;
            /* No database yet: only initialize so far, which needs none. */
            if (mcp_open_failed(m)) break; /* reported below */
        }
        if (finish_group(m, &g, sv->out_fd) != 0) {
            rc = -1;
            break;
        }
        /* The database opens once the first replies (initialize) are out,
        ** while the client reads them: now, so that a database that cannot
        ** be opened stops the server at once rather than at the next
        ** request. */
        if (mcp_ready(m, err, sizeof err) != 0) {
            diag("%s", err);
            rc = -1;
            break;
        }
        /* The group ended because input ran dry, and none has come for a
        ** while: upkeep now is unlikely to delay a request. */
        if (r == FRAME_AGAIN && !stop_requested && quiet_for(sv->in_fd, QUIET_MS)) {
            if (recorder_idle(mcp_recorder(m), err) != STORE_OK) diag("upkeep failed: %s", err);
        }
    }
    recorder *rec = mcp_recorder(m);
    if (rec && recorder_pending(rec)) finish_group(m, &g, sv->out_fd);
    free(g.r);
    return rc;
}
