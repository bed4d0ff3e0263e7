/*
** hook_recorder.c: the recorder's socket loop (see hook_recorder.h).
**
** One thread.  Requests are read side by side, each connection's bytes as
** they come (poll), so a hook that connected and went quiet (stopped with
** its agent by Ctrl-Z, say) holds up no other: the first request read
** whole is handled (which commits durably) and answered, one at a time,
** since the store takes one writer at a time anyway.  A connection has
** o->timeout_ms from its accept to send its whole request, however slowly
** it drips.  Waiting is the only place SIGTERM and SIGINT are let in
** (ppoll), so a stop never cuts a request between its commit and its
** answer.  Once hooks have been quiet for a moment, upkeep runs (o->idle),
** as in serve (server.c, QUIET_MS).
*/
#define _GNU_SOURCE
#include "hook_recorder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hook_sock.h"

static volatile sig_atomic_t stop_asked;

static void on_stop(int sig)
{
    (void)sig;
    stop_asked = 1;
}

/* The socket's folder dir: made with mode 0700 when missing; refused when
** it is not this user's or others may enter it. */
static int check_folder(const char *dir, char *why, size_t whylen)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, whylen, "cannot make %s: %s", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        snprintf(why, whylen, "%s must be a folder of this user's with mode 0700", dir);
        return -1;
    }
    return 0;
}

/* Remove the private names (".<pid>.tmp") that recorders killed between
** bind() and link() left in the socket's folder dir: those whose process
** is gone.  The folder is this user's alone (check_folder), and a name
** whose pid runs is left, whoever runs it now: it costs nothing but a file. */
static void sweep_private_names(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name;
        if (p[0] != '.' || p[1] < '1' || p[1] > '9') continue;
        char *end;
        errno = 0;
        long pid = strtol(p + 1, &end, 10);
        if (errno || pid <= 0 || pid > INT32_MAX || strcmp(end, ".tmp") != 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        struct stat st;
        if (fstatat(dirfd(d), p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
            unlinkat(dirfd(d), p, 0);
    }
    closedir(d);
}

/* A listening socket at path, mode 0600.  A socket file nobody answers on
** (its recorder was killed) is removed first, and so are the private
** names of recorders killed while starting.  The socket is made under a
** private name in the same folder and linked to path only once it listens:
** a hook that finds the name can connect (a socket bound but not yet
** listening refuses, and the hook would write directly), and link(), unlike
** rename(), refuses a name another recorder took meanwhile.  -1 with why. */
static int listen_at(const char *path, char *why, size_t whylen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX}, tmp = {.sun_family = AF_UNIX};
    char dir[sizeof a.sun_path];
    if (strlen(path) >= sizeof a.sun_path) {
        snprintf(why, whylen, "the socket path %s is too long", path);
        return -1;
    }
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) {
        snprintf(why, whylen, "%s is not in a folder of its own", path);
        return -1;
    }
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s/.%ld.tmp", dir, (long)getpid()) >=
        (int)sizeof tmp.sun_path) {
        snprintf(why, whylen, "the socket path %s is too long", path);
        return -1;
    }
    if (check_folder(dir, why, whylen) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) goto fail;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        snprintf(why, whylen, "another recorder is serving this database on %s", path);
        close(fd);
        return -1;
    }
    close(fd);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(why, whylen, "%s exists and is not a socket", path);
            return -1;
        }
        unlink(path); /* stale: its recorder is gone */
    }
    sweep_private_names(dir);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) goto fail;
    unlink(tmp.sun_path); /* left by a recorder of this pid killed between bind and link */
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&tmp, sizeof tmp);
    umask(old);
    if (rc != 0 || chmod(tmp.sun_path, 0600) != 0 || listen(fd, 128) != 0 ||
        link(tmp.sun_path, path) != 0) {
        int e = errno;
        if (e == EEXIST)
            snprintf(why, whylen, "another recorder took %s as this one started", path);
        else
            snprintf(why, whylen, "cannot listen on %s: %s", path, strerror(e));
        if (rc == 0) unlink(tmp.sun_path);
        close(fd);
        return -1;
    }
    unlink(tmp.sun_path);
    return fd;
fail:
    snprintf(why, whylen, "cannot make a socket: %s", strerror(errno));
    return -1;
}

/* Split a request body into rq (argv and env: new arrays, caller frees
** both; their strings are copies in *strings, freed by the caller).  0 or
** -1 when the body is malformed. */
static int parse_request(const char *body, size_t n, hookrec_request *rq, char **strings)
{
    hsock_reader r = {.p = body, .len = n};
    uint32_t magic, argc, nenv;
    const char *p;
    size_t len;
    *strings = NULL;
    rq->argv = rq->env = NULL;
    if (hsock_get_u32(&r, &magic) != 0 || magic != HSOCK_MAGIC) return -1;
    /* Every string gets a NUL: at most n bytes of text, plus one each. */
    char *s = malloc(2 * n + 1), *at = s;
    if (!s) return -1;
    *strings = s;
#define TAKE(dst)                                   \
    do {                                            \
        if (hsock_get_bytes(&r, &p, &len) != 0 || memchr(p, '\0', len)) return -1; \
        memcpy(at, p, len);                         \
        at[len] = '\0';                             \
        (dst) = at;                                 \
        at += len + 1;                              \
    } while (0)
    TAKE(rq->id);
    if (hsock_get_u32(&r, &argc) != 0 || argc > n / 4) return -1;
    if (!(rq->argv = calloc((size_t)argc + 1, sizeof *rq->argv))) return -1;
    for (uint32_t i = 0; i < argc; i++) TAKE(rq->argv[i]);
    rq->argc = (int)argc;
    if (hsock_get_u32(&r, &nenv) != 0 || nenv > n / 4) return -1;
    if (!(rq->env = calloc((size_t)nenv + 1, sizeof *rq->env))) return -1;
    for (uint32_t i = 0; i < nenv; i++) TAKE(rq->env[i]);
#undef TAKE
    if (hsock_get_bytes(&r, &rq->event, &rq->len) != 0) return -1;
    return r.at == r.len ? 0 : -1;
}

/* A connection whose request is still arriving: its 4-byte length, then
** that many bytes of body. */
typedef struct pending {
    int fd;
    uid_t uid;
    pid_t pid;
    unsigned char head[4];
    size_t head_n;
    char *body;
    uint32_t need; /* the body's length, once the head is in */
    size_t have, cap; /* body grows as bytes come, not to what the head claims */
    int64_t deadline_ms;
} pending;

/* Connections read at once; more wait in the listen backlog. */
#define MAX_PENDING 64

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Handle the request body[0..n) that came on fd from rq's hook, and
** answer it.  Takes body. */
static void serve_request(const hookrec_options *o, int fd, hookrec_request *rq, char *body,
                          size_t n, hookrec_stats *stats)
{
    char *strings = NULL, *out = NULL, *err = NULL;
    size_t out_n = 0, err_n = 0;
    FILE *fo = NULL, *fe = NULL;
    if (parse_request(body, n, rq, &strings) != 0) {
        stats->refused++;
        if (o->log) fprintf(o->log, "dss-audit-mcp recorder: refused a malformed request\n");
        goto done;
    }
    if (!(fo = open_memstream(&out, &out_n)) || !(fe = open_memstream(&err, &err_n))) goto done;
    int status = o->handle(o->ctx, rq, fo, fe);
    fclose(fo);
    fclose(fe);
    fo = fe = NULL;
    hsock_buf b = {0};
    hsock_put_u32(&b, status == HOOKREC_DECLINE ? HSOCK_DECLINED : HSOCK_ANSWERED);
    hsock_put_u32(&b, status == HOOKREC_DECLINE ? 0 : (uint32_t)status);
    hsock_put_bytes(&b, out, out_n);
    hsock_put_bytes(&b, err, err_n);
    hsock_send(fd, &b); /* a hook that went writes directly, and finds its id */
    hsock_buf_free(&b);
    if (status == HOOKREC_DECLINE)
        stats->declined++;
    else
        stats->answered++;
done:
    if (fo) fclose(fo);
    if (fe) fclose(fe);
    free(out);
    free(err);
    free(rq->argv);
    free(rq->env);
    free(strings);
    free(body);
}

/* A new connection from the listening socket lfd into pd; refused when it
** is not this user's.  1 when one was added (the last of pd), else 0. */
static int take_connection(const hookrec_options *o, int lfd, pending *pd, size_t *n,
                           hookrec_stats *stats)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return 0; /* the hook went already; it writes directly */
    pending c = {.fd = fd};
    if (hsock_peer(fd, &c.uid, &c.pid) != 0 || c.uid != geteuid()) {
        stats->refused++;
        if (o->log)
            fprintf(o->log, "dss-audit-mcp recorder: refused a connection from uid %ld\n",
                    (long)c.uid);
        close(fd);
        return 0;
    }
    c.deadline_ms = mono_ms() + (o->timeout_ms ? o->timeout_ms : 10000);
    pd[(*n)++] = c;
    return 1;
}

/* Read what c's hook has sent so far: 1 when its request is whole, 0 when
** more is to come, -1 when the connection is to be dropped (it closed,
** failed, or announced more than a request may hold). */
static int read_some(pending *c)
{
    for (;;) {
        ssize_t r;
        if (c->head_n < 4) {
            r = recv(c->fd, c->head + c->head_n, 4 - c->head_n, MSG_DONTWAIT);
        } else {
            if (!c->cap) {
                memcpy(&c->need, c->head, 4);
                if (c->need > HSOCK_MAX_BODY) return -1;
            }
            if (c->have == c->need && c->cap) return 1;
            if (c->have == c->cap) {
                size_t cap = c->cap ? 2 * c->cap : 65536;
                if (cap > c->need) cap = c->need ? c->need : 1;
                char *b = realloc(c->body, cap);
                if (!b) return -1;
                c->body = b;
                c->cap = cap;
            }
            if (c->have == c->need) return 1;
            r = recv(c->fd, c->body + c->have, c->cap - c->have, MSG_DONTWAIT);
        }
        if (r > 0) {
            if (c->head_n < 4) c->head_n += (size_t)r;
            else c->have += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }
}

/* Hand c's whole request over; its hook has o->timeout_ms to take the
** answer, which is then sent.  (Reads never block, MSG_DONTWAIT; the
** socket itself is left blocking for this send.) */
static void serve_pending(const hookrec_options *o, pending *c, hookrec_stats *stats)
{
    unsigned ms = o->timeout_ms ? o->timeout_ms : 10000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    hookrec_request rq = {.uid = c->uid, .pid = c->pid};
    serve_request(o, c->fd, &rq, c->body, c->have, stats);
    c->body = NULL;
}

/* Read what has come on c and serve its request once it is whole: 1 when
** c is finished with (served, gone, or out of time at now), else 0. */
static int advance(const hookrec_options *o, pending *c, int readable, int64_t now,
                   hookrec_stats *stats, int *busy)
{
    int got = readable ? read_some(c) : 0;
    if (got == 1) {
        serve_pending(o, c, stats);
        *busy = 1;
    }
    if (got == 0 && c->deadline_ms > now) return 0;
    close(c->fd);
    free(c->body);
    c->fd = -1;
    return 1;
}

/* The poll set: the listening socket while there is room, then each
** connection whose request is arriving.  The milliseconds to the nearest
** deadline, -1 when there is none. */
static int64_t poll_set(int lfd, const pending *pend, size_t npend, struct pollfd *p)
{
    int64_t now = mono_ms(), wait = -1;
    p[0] = (struct pollfd){.fd = npend < MAX_PENDING ? lfd : -1, .events = POLLIN};
    for (size_t i = 0; i < npend; i++) {
        p[i + 1] = (struct pollfd){.fd = pend[i].fd, .events = POLLIN};
        int64_t left = pend[i].deadline_ms > now ? pend[i].deadline_ms - now : 0;
        if (wait < 0 || left < wait) wait = left;
    }
    return wait;
}

int hookrec_serve(const hookrec_options *o, hookrec_stats *stats, char *why, size_t whylen)
{
    hookrec_stats own = {0};
    if (!stats) stats = &own;
    struct sigaction sa = {.sa_handler = on_stop}, old_term, old_int;
    sigset_t block, old_mask;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    stop_asked = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    int lfd = listen_at(o->socket_path, why, whylen), rc = -1;
    pending pend[MAX_PENDING];
    size_t npend = 0;
    struct stat mine;
    if (lfd < 0 || stat(o->socket_path, &mine) != 0) goto done;
    if (o->log) {
        fprintf(o->log, "dss-audit-mcp recorder: listening on %s\n", o->socket_path);
        fflush(o->log);
    }
    sigset_t wait_mask = old_mask;
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGINT);
    unsigned quiet = o->quiet_ms ? o->quiet_ms : 20;
    int busy = 0; /* a hook came since the last upkeep */
    while (!stop_asked) {
        /* The wait ends at the nearest deadline, or after a quiet moment
        ** for upkeep. */
        struct pollfd p[MAX_PENDING + 1];
        int64_t wait = poll_set(lfd, pend, npend, p);
        int upkeep = busy && o->idle && npend == 0;
        if (upkeep) wait = quiet;
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (long)(wait % 1000) * 1000000};
        int r = ppoll(p, npend + 1, wait >= 0 ? &ts : NULL, &wait_mask);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(why, whylen, "waiting for hooks failed: %s", strerror(errno));
            goto done;
        }
        if (r == 0 && upkeep) {
            busy = 0;
            o->idle(o->ctx);
            continue;
        }
        /* Requests read whole are served, the oldest connection first. */
        int64_t now = mono_ms();
        size_t kept = 0;
        for (size_t i = 0; i < npend; i++)
            if (!advance(o, &pend[i], p[i + 1].revents != 0, now, stats, &busy))
                pend[kept++] = pend[i];
        npend = kept;
        /* A hook sends its request as it connects: it is most often all
        ** there already, and served without another wait. */
        if (p[0].revents && take_connection(o, lfd, pend, &npend, stats) &&
            advance(o, &pend[npend - 1], 1, now, stats, &busy))
            npend--;
        if (o->done && o->done(o->ctx)) break;
    }
    rc = 0;
done:
    for (size_t i = 0; i < npend; i++) {
        close(pend[i].fd);
        free(pend[i].body);
    }
    if (lfd >= 0) {
        struct stat now;
        /* Only our own socket: a recorder started since may have taken the name. */
        if (stat(o->socket_path, &now) == 0 && now.st_ino == mine.st_ino &&
            now.st_dev == mine.st_dev)
            unlink(o->socket_path);
        close(lfd);
    }
    if (o->log && rc == 0) {
        fprintf(o->log, "dss-audit-mcp recorder: stopped: %llu events answered, %llu "
                        "declined, %llu connections refused\n",
                stats->answered, stats->declined, stats->refused);
        fflush(o->log);
    }
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}
