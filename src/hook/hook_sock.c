/*
** hook_sock.c: the socket path and the messages of hook_sock.h.  libc only
** (it is part of dss-audit-mcp-hook's lean front).
*/
#define _GNU_SOURCE
#include "hook_sock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *const hsock_env_names[] = {
    "DSS_AUDIT_DB", "DSS_AUDIT_LOG", "DSS_AUDIT_KEY", "DSS_AUDIT_ACTOR", "DSS_AUDIT_CONFIG",
    "DSS_AUDIT_MAX_MESSAGE_BYTES", "DSS_AUDIT_MAX_DEPTH", "DSS_AUDIT_CHECKPOINT_INTERVAL",
    "DSS_AUDIT_MAX_DB_SIZE", "DSS_AUDIT_READ_ONLY", "DSS_AUDIT_ORIGIN", "HOME",
    "XDG_DATA_HOME", "XDG_CONFIG_HOME", NULL,
};

int hsock_path(const char *db, const char *runtime_dir, char *out, size_t out_len, char *why,
               size_t whylen)
{
    char real[PATH_MAX];
    if (!runtime_dir || runtime_dir[0] != '/') {
        snprintf(why, whylen, "XDG_RUNTIME_DIR is not set to an absolute path");
        return -1;
    }
    if (!realpath(db, real)) {
        snprintf(why, whylen, "cannot resolve %.200s: %s", db, strerror(errno));
        return -1;
    }
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *s = (const unsigned char *)real; *s; s++) {
        h ^= *s;
        h *= 0x100000001b3ull;
    }
    int n = snprintf(out, out_len, "%s/dss-audit/%016llx.sock", runtime_dir,
                     (unsigned long long)h);
    if (n < 0 || (size_t)n >= out_len) {
        snprintf(why, whylen, "the socket path under %.200s is too long for a Unix socket",
                 runtime_dir);
        return -1;
    }
    return 0;
}

char *hsock_read_event(int fd, size_t keep, size_t *len, int *err_no)
{
    size_t cap = keep < 65536 ? keep : 65536, n = 0;
    char *buf = malloc(cap + 1), drain[65536];
    if (!buf) goto oom;
    for (;;) {
        if (n == cap && cap < keep) {
            size_t ncap = cap * 2 > keep ? keep : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) goto oom;
            buf = nb;
            cap = ncap;
        }
        char *dst = n < cap ? buf + n : drain;
        size_t room = n < cap ? cap - n : sizeof drain;
        ssize_t r = read(fd, dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            *err_no = errno;
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        if (n < cap) n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
oom:
    free(buf);
    *err_no = ENOMEM;
    return NULL;
}

int hsock_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK) w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int hsock_read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static void reserve(hsock_buf *b, size_t more)
{
    if (b->failed || b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

void hsock_put_u32(hsock_buf *b, uint32_t v)
{
    reserve(b, 4);
    if (b->failed) return;
    memcpy(b->p + b->len, &v, 4);
    b->len += 4;
}

void hsock_put_bytes(hsock_buf *b, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        b->failed = 1;
        return;
    }
    hsock_put_u32(b, (uint32_t)n);
    reserve(b, n);
    if (b->failed || !n) return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void hsock_put_str(hsock_buf *b, const char *s)
{
    hsock_put_bytes(b, s, strlen(s));
}

int hsock_send(int fd, const hsock_buf *b)
{
    uint32_t n = (uint32_t)b->len;
    if (b->failed || b->len > UINT32_MAX) return -1;
    return hsock_write_all(fd, &n, 4) == 0 && hsock_write_all(fd, b->p, b->len) == 0 ? 0 : -1;
}

void hsock_buf_free(hsock_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int hsock_recv(int fd, size_t max, char **body, size_t *len)
{
    uint32_t n;
    *body = NULL;
    if (hsock_read_all(fd, &n, 4) != 0 || n > max) return -1;
    char *p = malloc(n ? n : 1);
    if (!p) return -1;
    if (hsock_read_all(fd, p, n) != 0) {
        free(p);
        return -1;
    }
    *body = p;
    *len = n;
    return 0;
}

int hsock_get_u32(hsock_reader *r, uint32_t *v)
{
    if (r->failed || r->len - r->at < 4) {
        r->failed = 1;
        return -1;
    }
    memcpy(v, r->p + r->at, 4);
    r->at += 4;
    return 0;
}

int hsock_get_bytes(hsock_reader *r, const char **p, size_t *n)
{
    uint32_t len;
    if (hsock_get_u32(r, &len) != 0) return -1;
    if (r->len - r->at < len) {
        r->failed = 1;
        return -1;
    }
    *p = r->p + r->at;
    *n = len;
    r->at += len;
    return 0;
}

int hsock_peer(int fd, uid_t *uid, pid_t *pid)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof cr) return -1;
    *uid = cr.uid;
    *pid = cr.pid;
    return 0;
}
