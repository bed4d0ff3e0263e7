/*
** inbox.c: the reader thread and the queue described in inbox.h.
**
** The reader owns the frame (frame.h) and reads it without blocking; when
** no complete line is left it says so (idle), then sleeps in poll() on the
** input and on a pipe the main thread writes to stop it.  Parsed lines go
** into a ring under one mutex.  The main thread must stay interruptible by
** SIGTERM/SIGINT (server.c stops between groups), and a condition variable
** wait is not, so it sleeps in poll() on a second pipe that the reader
** writes one byte to when it changes something the main thread waits for.
** The reader blocks those signals, so they interrupt the main thread.
**
** Both threads parse JSON.  cJSON is safe for that as long as nobody calls
** cJSON_GetErrorPtr() (its README, "Thread Safety"): every parse writes
** that one global, which helgrind reports as a race and nothing here reads.
*/
#include "inbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/frame.h"

typedef struct item {
    int kind;      /* FRAME_LINE, FRAME_TOO_LONG, FRAME_EOF or FRAME_ERROR */
    mcp_input in;  /* FRAME_LINE */
    char *cancel;  /* the line of a notifications/cancelled, for lookahead */
    size_t cancel_len;
    size_t bytes;  /* the line's length, counted against the byte bound */
} item;

struct inbox {
    frame *f;
    int fd;
    size_t max_bytes;
    const mcp *m;
    pthread_t thread;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t room;
    item *ring;
    int head, count;
    size_t bytes;
    int idle;           /* the reader found no further complete line */
    int ended;          /* EOF or error was taken: ended_kind from now on */
    int ended_kind;
    int stopping;       /* inbox_stop() was called */
    int main_waiting;   /* the main thread sleeps on wake[0] */
    int reader_waiting; /* the reader waits for room */
    int wake[2];        /* reader -> main */
    int halt[2];        /* main -> reader */
};

/* Under mu: wake the main thread if it sleeps. */
static void wake_main(inbox *ib)
{
    if (!ib->main_waiting) return;
    ib->main_waiting = 0;
    ssize_t w;
    do w = write(ib->wake[1], "", 1);
    while (w < 0 && errno == EINTR);
}

static void set_idle(inbox *ib, int idle)
{
    pthread_mutex_lock(&ib->mu);
    ib->idle = idle;
    wake_main(ib);
    pthread_mutex_unlock(&ib->mu);
}

static void item_free(item *it)
{
    mcp_input_free(&it->in);
    free(it->cancel);
    memset(it, 0, sizeof *it);
}

/* Keep a copy of a cancellation's line: inbox_cancelled() matches it
** against the request being served with rpc_is_cancellation(). */
static void note_cancellation(item *it, const char *line, size_t len)
{
    if (it->in.blank || it->in.kind != RPC_KIND_NOTIFICATION ||
        strcmp(it->in.msg.method, "notifications/cancelled") != 0)
        return;
    if ((it->cancel = malloc(len + 1))) {
        memcpy(it->cancel, line, len);
        it->cancel[len] = '\0';
        it->cancel_len = len;
    }
}

/* Put it at the tail, waiting for room; -1 when stopping (it is freed). */
static int push(inbox *ib, item *it)
{
    pthread_mutex_lock(&ib->mu);
    while (!ib->stopping &&
           (ib->count == INBOX_MAX_ITEMS ||
            (ib->count > 0 && ib->bytes + it->bytes > ib->max_bytes))) {
        ib->reader_waiting = 1;
        pthread_cond_wait(&ib->room, &ib->mu);
        ib->reader_waiting = 0;
    }
    int stopping = ib->stopping;
    if (!stopping) {
        ib->ring[(ib->head + ib->count) % INBOX_MAX_ITEMS] = *it;
        ib->count++;
        ib->bytes += it->bytes;
        wake_main(ib);
    }
    pthread_mutex_unlock(&ib->mu);
    if (stopping) item_free(it);
    return stopping ? -1 : 0;
}

/* Sleep until the input has something or a stop is asked: 0, or -1 to stop. */
static int wait_input(inbox *ib)
{
    struct pollfd p[2] = {{.fd = ib->fd, .events = POLLIN}, {.fd = ib->halt[0], .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || p[1].revents) return -1;
        return 0;
    }
}

static void *reader_main(void *arg)
{
    inbox *ib = arg;
    int idle = 0;
    for (;;) {
        item it = {0};
        const char *line;
        size_t len;
        int r = frame_next(ib->f, 0, NULL, &line, &len);
        if (r == FRAME_AGAIN) {
            if (!idle) set_idle(ib, idle = 1);
            if (wait_input(ib) != 0) break;
            continue;
        }
        /* Said before the parse, so that the main thread waits for this
        ** line rather than end its group without it. */
        if (idle) set_idle(ib, idle = 0);
        it.kind = r;
        if (r == FRAME_LINE) {
            mcp_parse(ib->m, line, len, &it.in);
            note_cancellation(&it, line, len);
            it.bytes = len;
        }
        if (push(ib, &it) != 0 || r == FRAME_EOF || r == FRAME_ERROR) break;
    }
    return NULL;
}

static int pipe_nb(int fd[2])
{
    if (pipe(fd) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fd[i], F_SETFD, FD_CLOEXEC);
        fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

static void free_parts(inbox *ib)
{
    for (int i = 0; ib->ring && i < ib->count; i++)
        item_free(&ib->ring[(ib->head + i) % INBOX_MAX_ITEMS]);
    free(ib->ring);
    frame_free(ib->f);
    for (int i = 0; i < 2; i++) {
        if (ib->wake[i] >= 0) close(ib->wake[i]);
        if (ib->halt[i] >= 0) close(ib->halt[i]);
    }
    pthread_cond_destroy(&ib->room);
    pthread_mutex_destroy(&ib->mu);
    free(ib);
}

inbox *inbox_start(int fd, size_t max_message, const mcp *m, char *err, size_t errlen)
{
    inbox *ib = calloc(1, sizeof *ib);
    if (!ib) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ib->fd = fd;
    ib->max_bytes = max_message;
    ib->m = m;
    ib->wake[0] = ib->wake[1] = ib->halt[0] = ib->halt[1] = -1;
    pthread_mutex_init(&ib->mu, NULL);
    pthread_cond_init(&ib->room, NULL);
    if (!(ib->ring = calloc(INBOX_MAX_ITEMS, sizeof *ib->ring)) ||
        !(ib->f = frame_new(fd, max_message))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (pipe_nb(ib->wake) != 0 || pipe_nb(ib->halt) != 0) {
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        goto fail;
    }
    /* The signals serve stops on go to the main thread only. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&ib->thread, NULL, reader_main, ib);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the reader thread: %s", strerror(rc));
        goto fail;
    }
    return ib;
fail:
    free_parts(ib);
    return NULL;
}

void inbox_stop(inbox *ib)
{
    if (!ib) return;
    pthread_mutex_lock(&ib->mu);
    ib->stopping = 1;
    pthread_cond_signal(&ib->room);
    pthread_mutex_unlock(&ib->mu);
    ssize_t w;
    do w = write(ib->halt[1], "", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(ib->thread, NULL);
    free_parts(ib);
}

/* Sleep on the wake pipe for at most ms (-1: no limit), then empty it.
** 1 when woken, 0 on timeout, -1 when a signal interrupted. */
static int wait_wake(inbox *ib, int ms)
{
    struct pollfd p = {.fd = ib->wake[0], .events = POLLIN};
    int n = poll(&p, 1, ms);
    if (n < 0) return errno == EINTR ? -1 : 1;
    char drain[16];
    while (n > 0 && read(ib->wake[0], drain, sizeof drain) > 0) {
    }
    return n > 0;
}

int inbox_next(inbox *ib, int block, volatile int *stop, mcp_input *in)
{
    int rc;
    pthread_mutex_lock(&ib->mu);
    for (;;) {
        ib->main_waiting = 0;
        if (ib->count > 0) {
            item it = ib->ring[ib->head];
            ib->head = (ib->head + 1) % INBOX_MAX_ITEMS;
            ib->count--;
            ib->bytes -= it.bytes;
            if (ib->reader_waiting) pthread_cond_signal(&ib->room);
            if (it.kind == FRAME_EOF || it.kind == FRAME_ERROR) {
                ib->ended = 1;
                ib->ended_kind = it.kind == FRAME_EOF ? INBOX_EOF : INBOX_ERROR;
            }
            pthread_mutex_unlock(&ib->mu);
            free(it.cancel);
            if (it.kind == FRAME_LINE) {
                *in = it.in;
                return INBOX_MESSAGE;
            }
            return it.kind == FRAME_TOO_LONG ? INBOX_TOO_LONG
                   : it.kind == FRAME_EOF    ? INBOX_EOF
                                             : INBOX_ERROR;
        }
        if (ib->ended) {
            rc = ib->ended_kind;
            break;
        }
        if (!block && ib->idle) {
            rc = INBOX_AGAIN;
            break;
        }
        ib->main_waiting = 1;
        pthread_mutex_unlock(&ib->mu);
        int w = wait_wake(ib, -1);
        pthread_mutex_lock(&ib->mu);
        if (w < 0 && stop && *stop) {
            ib->main_waiting = 0;
            rc = INBOX_STOPPED;
            break;
        }
    }
    pthread_mutex_unlock(&ib->mu);
    return rc;
}

int inbox_quiet(inbox *ib, int ms)
{
    pthread_mutex_lock(&ib->mu);
    int quiet = ib->count == 0 && ib->idle && !ib->ended;
    if (quiet) {
        ib->main_waiting = 1;
        pthread_mutex_unlock(&ib->mu);
        int w = wait_wake(ib, ms);
        pthread_mutex_lock(&ib->mu);
        ib->main_waiting = 0;
        quiet = w == 0 && ib->count == 0 && ib->idle;
    }
    pthread_mutex_unlock(&ib->mu);
    return quiet;
}

int inbox_cancelled(inbox *ib, const cJSON *id)
{
    int hit = 0;
    pthread_mutex_lock(&ib->mu);
    for (int i = 0; !hit && i < ib->count; i++) {
        const item *it = &ib->ring[(ib->head + i) % INBOX_MAX_ITEMS];
        hit = it->cancel && rpc_is_cancellation(it->cancel, it->cancel_len, id);
    }
    pthread_mutex_unlock(&ib->mu);
    return hit;
}
