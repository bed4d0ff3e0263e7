/*
** server.c: read, handle, commit, reply.
**
** Replies of one group are gathered in a buffer and written with as few
** write() calls as possible after the commit.  Signals only set a flag:
** the loop notices it between groups (or when a blocking read is
** interrupted), so a request is never abandoned half done.
*/
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "util/diag.h"

#define DEFAULT_MAX_MESSAGE (4u << 20)
#define DEFAULT_MAX_GROUP 256

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
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct group {
    mcp_reply *r;
    int n, cap;
} group;

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

/* Commit the group's writes, then send its replies in order. */
static int finish_group(mcp *m, store *st, group *g, int out_fd)
{
    int committed = 0;
    if (store_in_transaction(st)) {
        char err[STORE_ERRLEN];
        if (store_commit(st, err) != STORE_OK) {
            diag("commit failed: %s", err);
            for (int i = 0; i < g->n; i++)
                if (g->r[i].acks_write) mcp_reply_write_failed(&g->r[i], err);
        } else {
            committed = 1;
        }
    }
    size_t total = 0;
    for (int i = 0; i < g->n; i++)
        if (g->r[i].line) total += strlen(g->r[i].line) + 1;
    char *buf = total ? malloc(total) : NULL;
    int rc = 0;
    size_t at = 0;
    for (int i = 0; i < g->n; i++) {
        const char *line = g->r[i].line;
        if (!line) continue;
        size_t n = strlen(line);
        if (buf) {
            memcpy(buf + at, line, n);
            buf[at + n] = '\n';
            at += n + 1;
        } else if (write_all(out_fd, line, n) || write_all(out_fd, "\n", 1)) {
            rc = -1;
        }
    }
    if (buf && write_all(out_fd, buf, at)) rc = -1;
    free(buf);
    for (int i = 0; i < g->n; i++) mcp_reply_free(&g->r[i]);
    g->n = 0;
    /* Checkpointing happens after the replies so it never delays them. */
    if (committed) mcp_after_commit(m);
    return rc;
}

int server_run(mcp *m, store *st, const server_options *opt)
{
    size_t max = opt->max_message_bytes ? opt->max_message_bytes : DEFAULT_MAX_MESSAGE;
    int max_group = opt->max_group > 0 ? opt->max_group : DEFAULT_MAX_GROUP;
    frame *f = frame_new(opt->in_fd, max);
    group g = {0};
    int rc = 0;
    if (!f) {
        diag("out of memory");
        return -1;
    }
    install_signals();
    while (!stop_requested) {
        const char *line;
        size_t len;
        int block = 1, r;
        /* Take what is waiting: block for the first line only. */
        while (g.n < max_group &&
               (r = frame_next(f, block, &stop_requested, &line, &len)) != FRAME_AGAIN) {
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
            if (r == FRAME_TOO_LONG) reply->line = mcp_too_long_reply(max);
            else mcp_handle(m, line, len, reply);
            block = 0;
        }
        if (finish_group(m, st, &g, opt->out_fd) != 0) {
            rc = -1;
            break;
        }
    }
    if (store_in_transaction(st)) finish_group(m, st, &g, opt->out_fd);
    mcp_shutdown(m);
    free(g.r);
    frame_free(f);
    return rc;
}
