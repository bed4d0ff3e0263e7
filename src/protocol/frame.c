/*
** frame.c: the bounded line reader described in frame.h.
**
** The buffer holds at most max_bytes + 1 bytes of one unfinished line plus
** whatever complete lines followed it in the same read.  Consumed bytes are
** moved out of the way only when room is needed, so a burst of small
** messages costs one read() and no copying per message.
*/
#define _GNU_SOURCE /* ppoll() */
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

struct frame {
    int fd;
    size_t max;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start..end) */
    size_t scanned;         /* bytes after start known to hold no '\n' */
    int skipping;           /* discarding the rest of an oversized line */
    int eof;
};

frame *frame_new(int fd, size_t max_bytes)
{
    frame *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->fd = fd;
    f->max = max_bytes;
    f->cap = max_bytes + READ_CHUNK + 1;
    f->buf = malloc(f->cap);
    if (!f->buf) {
        free(f);
        return NULL;
    }
    return f;
}

void frame_free(frame *f)
{
    if (!f) return;
    free(f->buf);
    free(f);
}

/* Wait until fd has input (or has closed), unless *stop is or becomes set:
** returns non-zero for a stop.  A signal that sets *stop between a check
** of it and a blocking read() would leave the read waiting for the next
** input; so the check runs with SIGTERM and SIGINT blocked and ppoll()
** unblocks them only while it waits, which a pending one then ends.  The
** read that follows finds input ready (or the end), so it does not block. */
static int wait_unless_stopped(int fd, volatile int *stop)
{
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &term, &old) != 0) return *stop;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (!*stop && ppoll(&p, 1, NULL, &old) < 0 && errno == EINTR) {
    }
    int stopped = *stop;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return stopped;
}

/* Read more input; returns bytes read, 0 at EOF, -1 on error, -2 if
** interrupted with a stop requested, -3 when nothing is ready (non-blocking). */
static ssize_t fill(frame *f, int block, volatile int *stop)
{
    if (f->start > 0 && f->cap - f->end < READ_CHUNK) {
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
    if (!block) {
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0) return -3;
    } else if (stop && wait_unless_stopped(f->fd, stop)) {
        return -2;
    }
    for (;;) {
        ssize_t n = read(f->fd, f->buf + f->end, f->cap - f->end);
        if (n >= 0) {
            f->end += (size_t)n;
            return n;
        }
        if (errno != EINTR) return -1;
        if (stop && *stop) return -2;
    }
}

int frame_next(frame *f, int block, volatile int *stop, const char **line,
               size_t *len)
{
    for (;;) {
        char *from = f->buf + f->start + f->scanned;
        char *nl = memchr(from, '\n', f->end - f->start - f->scanned);
        if (nl) {
            size_t n = (size_t)(nl - (f->buf + f->start));
            char *l = f->buf + f->start;
            f->start += n + 1;
            f->scanned = 0;
            if (f->skipping) {
                f->skipping = 0;
                return FRAME_TOO_LONG;
            }
            if (n > f->max) return FRAME_TOO_LONG;
            if (n > 0 && l[n - 1] == '\r') n--;
            *line = l;
            *len = n;
            return FRAME_LINE;
        }
        f->scanned = f->end - f->start;
        if (f->scanned > f->max) {
            /* Too long already: drop what we hold and keep skipping. */
            f->skipping = 1;
            f->start = f->end = f->scanned = 0;
        }
        if (f->eof) {
            if (f->end == f->start && !f->skipping) return FRAME_EOF;
            /* A last message without a newline still counts. */
            size_t n = f->end - f->start;
            *line = f->buf + f->start;
            *len = n;
            f->start = f->end = f->scanned = 0;
            if (f->skipping) {
                f->skipping = 0;
                return FRAME_TOO_LONG;
            }
            return FRAME_LINE;
        }
        ssize_t r = fill(f, block, stop);
        if (r == 0) f->eof = 1;
        else if (r == -1) return FRAME_ERROR;
        else if (r == -2) return FRAME_EOF;
        else if (r == -3) return FRAME_AGAIN;
    }
}

int frame_peek(frame *f, int (*fn)(void *ctx, const char *line, size_t len),
               void *ctx)
{
    /* Read into free space at the end only: the line being served may still
    ** point into the buffer, so nothing may move. */
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (!f->eof && !f->skipping && f->cap > f->end && poll(&p, 1, 0) > 0) {
        ssize_t n = read(f->fd, f->buf + f->end, f->cap - f->end);
        if (n > 0) f->end += (size_t)n;
        else if (n == 0) f->eof = 1;
    }
    size_t at = f->start;
    for (;;) {
        char *nl = memchr(f->buf + at, '\n', f->end - at);
        if (!nl) return 0;
        size_t n = (size_t)(nl - (f->buf + at));
        int rc = n <= f->max ? fn(ctx, f->buf + at, n) : 0;
        if (rc) return rc;
        at += n + 1;
    }
}
