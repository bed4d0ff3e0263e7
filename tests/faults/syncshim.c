/*
** syncshim.c: an LD_PRELOAD library that records, in order, what proves a
** reply was sent after its write was durable.
**
** Loaded into the server by tests/faults/test_durability.c, it appends one
** line per event to the file named by DSS_SYNCSHIM_LOG:
**   R <n>      a read() from stdin completed the n-th request line
**   W <n>      a write()/writev() to stdout completed the n-th reply line
**   S <path>   fsync()/fdatasync() of that file succeeded
** Counting newlines here, rather than copying the bytes, keeps the log
** small and the server's timing close to its own.  The log is written with
** the raw system call, so the shim never records or recurses into itself.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int log_fd = -1;
static long lines_in, lines_out;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void shim_init(void)
{
    const char *path = getenv("DSS_SYNCSHIM_LOG");
    if (path) log_fd = (int)syscall(SYS_openat, AT_FDCWD, path,
                                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void record(const char *fmt, ...)
{
    if (log_fd < 0) return;
    char line[4200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0) syscall(SYS_write, log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static long newlines(const void *p, size_t n)
{
    long k = 0;
    for (const char *c = p, *e = c + n; (c = memchr(c, '\n', (size_t)(e - c))); c++) k++;
    return k;
}

static void record_sync(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
    record("S %s\n", path);
}

typedef int (*sync_fn)(int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);

/* The next definition of name (libc's), as a function pointer: dlsym hands
** out an object pointer, which ISO C does not convert directly. */
#define REAL(name, type)                                                    \
    static type real_;                                                      \
    if (!real_) {                                                           \
        void *sym_ = dlsym(RTLD_NEXT, name);                                \
        memcpy(&real_, &sym_, sizeof real_);                                \
    }

int fsync(int fd)
{
    REAL("fsync", sync_fn);
    int rc = real_(fd);
    if (rc == 0) record_sync(fd);
    return rc;
}

int fdatasync(int fd)
{
    REAL("fdatasync", sync_fn);
    int rc = real_(fd);
    if (rc == 0) record_sync(fd);
    return rc;
}

ssize_t read(int fd, void *buf, size_t n)
{
    REAL("read", read_fn);
    ssize_t r = real_(fd, buf, n);
    if (fd == 0 && r > 0) {
        long k = newlines(buf, (size_t)r);
        if (k) {
            pthread_mutex_lock(&mu);
            lines_in += k;
            record("R %ld\n", lines_in);
            pthread_mutex_unlock(&mu);
        }
    }
    return r;
}

static void wrote(const char *p, size_t n)
{
    long k = newlines(p, n);
    if (!k) return;
    pthread_mutex_lock(&mu);
    lines_out += k;
    record("W %ld\n", lines_out);
    pthread_mutex_unlock(&mu);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL("write", write_fn);
    ssize_t r = real_(fd, buf, n);
    if (fd == 1 && r > 0) wrote(buf, (size_t)r);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL("writev", writev_fn);
    ssize_t r = real_(fd, iov, cnt);
    if (fd == 1 && r > 0) {
        size_t left = (size_t)r;
        for (int i = 0; i < cnt && left; i++) {
            size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
            wrote(iov[i].iov_base, k);
            left -= k;
        }
    }
    return r;
}
