/*
** transport_stdio.c: the wrapped server as a child process whose stdin and
** stdout are pipes (see transport.h).
**
** Messages are lines, framed by the same reader as `serve` (frame.h), so
** the same size limit applies to what the server says.  The child is
** started with posix_spawn() after looking the command up in the PATH the
** caller gave, so no module below main.c reads the environment; its
** stderr is ours.
*/
#define _GNU_SOURCE /* pipe2 */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../protocol/frame.h"
#include "../util/fsutil.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

typedef struct stdio_transport {
    transport base;
    pid_t pid;
    int to_srv, from_srv; /* -1 once closed */
    frame *fs;            /* lines from the server */
    int gone;             /* its stdout ended */
    int exited, status;
} stdio_transport;

static int st_fd(transport *t)
{
    return ((stdio_transport *)t)->from_srv;
}

static int st_next(transport *t, const char **msg, size_t *len)
{
    stdio_transport *s = (stdio_transport *)t;
    if (s->gone) return TRANSPORT_GONE;
    switch (frame_next(s->fs, 0, NULL, msg, len)) {
    case FRAME_LINE: return TRANSPORT_MSG;
    case FRAME_TOO_LONG: return TRANSPORT_TOO_LONG;
    case FRAME_AGAIN: return TRANSPORT_AGAIN;
    default: /* end of file, or a read error */
        s->gone = 1;
        return TRANSPORT_GONE;
    }
}

static int st_send(transport *t, const char *msg, size_t len)
{
    stdio_transport *s = (stdio_transport *)t;
    if (s->to_srv < 0) return -1;
    if (fs_write_line(s->to_srv, msg, len) == 0)
        return 0;
    close(s->to_srv);
    s->to_srv = -1;
    return -1;
}

static void st_shut(transport *t)
{
    stdio_transport *s = (stdio_transport *)t;
    if (s->to_srv >= 0) close(s->to_srv);
    s->to_srv = -1;
}

static int st_ended(transport *t, int block, int *status)
{
    stdio_transport *s = (stdio_transport *)t;
    if (!s->exited) {
        int st;
        pid_t p;
        do p = waitpid(s->pid, &st, block ? 0 : WNOHANG);
        while (p < 0 && errno == EINTR);
        if (p == s->pid) {
            s->exited = 1;
            s->status = WIFEXITED(st) ? WEXITSTATUS(st)
                        : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
        }
    }
    if (s->exited && status) *status = s->status;
    return s->exited;
}

static void st_stop(transport *t, int force)
{
    stdio_transport *s = (stdio_transport *)t;
    if (!s->exited) kill(s->pid, force ? SIGKILL : SIGTERM);
}

static void st_free(transport *t)
{
    stdio_transport *s = (stdio_transport *)t;
    if (!s) return;
    if (s->pid > 0 && !st_ended(t, 0, NULL)) {
        st_stop(t, 1);
        st_ended(t, 1, NULL);
    }
    st_shut(t);
    if (s->from_srv >= 0) close(s->from_srv);
    frame_free(s->fs);
    free(s);
}

static const transport_ops stdio_ops = {
    .fd = st_fd, .next = st_next, .send = st_send, .shut = st_shut,
    .stop = st_stop, .ended = st_ended, .free = st_free,
};

/* The file posix_spawn() is to run for cmd: cmd itself when it names a
** path, else the first executable cmd in a folder of path (an empty entry
** is the current folder, as a shell has it).  Checked here, so that a
** missing command is reported at once rather than by a child that failed
** to exec.  0, or -1 with a sentence in err. */
static int find_command(const char *cmd, const char *path, char *out, size_t outlen,
                        char *err, size_t errlen)
{
    if (strchr(cmd, '/')) {
        if (access(cmd, X_OK) == 0 && (size_t)snprintf(out, outlen, "%s", cmd) < outlen)
            return 0;
        snprintf(err, errlen, "cannot start %s: %s", cmd, strerror(errno));
        return -1;
    }
    if (!path) path = DEFAULT_PATH;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int w = snprintf(out, outlen, "%.*s/%s", (int)n, n ? p : ".", cmd);
        if (w > 0 && (size_t)w < outlen && access(out, X_OK) == 0) return 0;
        if (!end) break;
        p = end;
    }
    snprintf(err, errlen, "cannot start %s: no such command in PATH", cmd);
    return -1;
}

transport *transport_stdio_open(const transport_stdio_options *o, char *err,
                                size_t errlen)
{
    static char *const no_env[] = {NULL};
    char file[4096];
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (find_command(o->argv[0], o->path, file, sizeof file, err, errlen) != 0) return NULL;
    stdio_transport *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &stdio_ops;
    s->to_srv = s->from_srv = -1;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create pipes: %s", strerror(errno));
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int rc = posix_spawn(&s->pid, file, &fa, NULL, o->argv, o->envp ? o->envp : no_env);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    s->to_srv = in[1];
    s->from_srv = out[0];
    if (rc != 0) {
        s->pid = 0;
        snprintf(err, errlen, "cannot start %s: %s", o->argv[0], strerror(rc));
        goto fail;
    }
    if (!(s->fs = frame_new(s->from_srv, o->max_message_bytes))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return &s->base;
fail:
    if (in[0] >= 0 && s->to_srv < 0) { /* the pipes were half made */
        close(in[0]);
        close(in[1]);
    }
    st_free(&s->base);
    return NULL;
}
