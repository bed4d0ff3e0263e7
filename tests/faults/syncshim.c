/*
** syncshim.c: an LD_PRELOAD library that records, in order, what proves a
** reply was sent, or a call forwarded, after its write was durable.
**
** Loaded into the program by tests/faults/test_durability.c, it appends one
** line per event to the file named by DSS_SYNCSHIM_LOG:
**   R <n>      a read() from stdin completed the n-th request line
**   W <n>      a write()/writev() to stdout, or an fflush() of stdout (hook
**              answers through stdio, whose writes libc makes internally),
**              completed the n-th reply line
**   F <n>      a write()/writev() to another pipe (wrap: the wrapped
**              server's stdin) completed the n-th line sent there
**   Q <n>      a read() from another pipe (wrap: the wrapped server's
**              stdout) completed the n-th line received from it
**   H <id>     a send() on a socket (wrap --url: a request to the remote
**              server) carried a JSON-RPC message with this numeric id
**              ("id":<digits>, as the tests write it and JavaScript prints
**              it); one line per id seen, also across split sends
**   G <id>     a recv() on a socket (an answer from the remote server)
**              brought one with this id
**   S <path>   fsync()/fdatasync() of that file succeeded
**   X          the process is exiting (the shim's destructor)
** With DSS_SYNCSHIM_LISTEN_DELAY_MS set, listen() first sleeps that long,
** widening the moment between a socket's bind() and its listen() (the
** recorder must not name its socket before it listens).
** Counting newlines here, rather than copying the bytes, keeps the log
** small and the program's timing close to its own.  The log is written with
** the raw system call, so the shim never records or recurses into itself.
** Only the first process logs, also after it executes another program
** (dss-audit-mcp-hook becomes dss-audit-mcp-hook-direct): it notes its pid
** in DSS_SYNCSHIM_PID, so a child it starts (wrap's server) inherits the
** library and the variables but does not log.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int log_fd = -1;
static long lines_in, lines_out, lines_fwd, lines_back;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void shim_init(void)
{
    const char *path = getenv("DSS_SYNCSHIM_LOG");
    const char *owner = getenv("DSS_SYNCSHIM_PID");
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    /* The first process, and the same process after an exec (the hook's
    ** front becomes the direct writer), log; a child does not. */
    if (!path || (owner && strcmp(owner, pid) != 0)) return;
    log_fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          0600);
    setenv("DSS_SYNCSHIM_PID", pid, 1);
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

__attribute__((destructor)) static void shim_fini(void)
{
    record("X\n");
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
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*fflush_fn)(FILE *);
typedef int (*listen_fn)(int, int);

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

int listen(int fd, int backlog)
{
    REAL("listen", listen_fn);
    const char *ms = getenv("DSS_SYNCSHIM_LISTEN_DELAY_MS");
    if (ms && *ms) usleep((useconds_t)atoi(ms) * 1000);
    return real_(fd, backlog);
}

/* A pipe other than stdin, stdout and stderr: wrap's pipes to its server
** (fstat is async-signal-safe, and only asked once a newline was seen). */
static int other_pipe(int fd)
{
    struct stat st;
    return fd > 2 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Count the newlines of p[0..n) moved through fd into the kind's counter:
** 'R' or 'Q' reading, 'W' or 'F' writing. */
static void moved(int fd, const void *p, size_t n, int reading)
{
    long k = newlines(p, n), *count;
    char kind;
    if (!k || log_fd < 0) return;
    if (reading && fd == 0) kind = 'R', count = &lines_in;
    else if (!reading && fd == 1) kind = 'W', count = &lines_out;
    else if (other_pipe(fd)) kind = reading ? 'Q' : 'F', count = reading ? &lines_back : &lines_fwd;
    else return;
    pthread_mutex_lock(&mu);
    *count += k;
    record("%c %ld\n", kind, *count);
    pthread_mutex_unlock(&mu);
}

/* ---- sockets: the numeric JSON-RPC ids of what goes out and comes in ---- */

enum { CARRY = 32, MAX_FD = 1024 };
static char carry[2][MAX_FD][CARRY]; /* the last bytes seen per fd and way */
static size_t carry_n[2][MAX_FD];

static int is_socket(int fd)
{
    struct stat st;
    return fd > 2 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Log each "id":<digits> of p[0..n) that starts before `from_before`
** (all when SIZE_MAX) and whose digits end inside p. */
static void ids_in(char kind, const char *p, size_t n, size_t from_before)
{
    static const char pat[] = "\"id\":";
    for (size_t i = 0; i + 5 < n && i < from_before; i++) {
        if (memcmp(p + i, pat, 5) != 0) continue;
        size_t j = i + 5, d = j;
        while (d < n && p[d] >= '0' && p[d] <= '9') d++;
        if (d == j || d == n || d - j > 18) continue; /* none, or maybe cut */
        record("%c %.*s\n", kind, (int)(d - j), p + j);
    }
}

/* The ids of n bytes moved through socket fd (way 0 sent, 1 received),
** also those cut between this chunk and the one before. */
static void socket_moved(int way, int fd, const char *p, size_t n)
{
    if (log_fd < 0 || fd < 0 || fd >= MAX_FD || !n || !is_socket(fd)) return;
    char kind = way ? 'G' : 'H';
    pthread_mutex_lock(&mu);
    char edge[2 * CARRY];
    size_t c = carry_n[way][fd], k = n < CARRY ? n : CARRY;
    memcpy(edge, carry[way][fd], c);
    memcpy(edge + c, p, k);
    ids_in(kind, edge, c + k, c);  /* those starting in the carry */
    ids_in(kind, p, n, (size_t)-1);
    /* The new carry: the last CARRY bytes of carry and p together. */
    if (n >= CARRY) {
        memcpy(carry[way][fd], p + n - CARRY, CARRY);
        carry_n[way][fd] = CARRY;
    } else {
        size_t all = c + n, keep = all < CARRY ? all : CARRY;
        memcpy(carry[way][fd], edge + all - keep, keep);
        carry_n[way][fd] = keep;
    }
    pthread_mutex_unlock(&mu);
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    REAL("send", send_fn);
    ssize_t r = real_(fd, buf, n, flags);
    if (r > 0) socket_moved(0, fd, buf, (size_t)r);
    return r;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    REAL("recv", recv_fn);
    ssize_t r = real_(fd, buf, n, flags);
    if (r > 0) socket_moved(1, fd, buf, (size_t)r);
    return r;
}

ssize_t read(int fd, void *buf, size_t n)
{
    REAL("read", read_fn);
    ssize_t r = real_(fd, buf, n);
    if (r > 0) moved(fd, buf, (size_t)r, 1);
    return r;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL("write", write_fn);
    ssize_t r = real_(fd, buf, n);
    if (r > 0) moved(fd, buf, (size_t)r, 0);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL("writev", writev_fn);
    ssize_t r = real_(fd, iov, cnt);
    size_t left = r > 0 ? (size_t)r : 0;
    for (int i = 0; i < cnt && left; i++) {
        size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
        moved(fd, iov[i].iov_base, k, 0);
        left -= k;
    }
    return r;
}

int fflush(FILE *f)
{
    REAL("fflush", fflush_fn);
    /* What stdout's buffer holds (glibc's FILE) is what this flush writes. */
    const char *from = stdout->_IO_write_base, *to = stdout->_IO_write_ptr;
    size_t held = (f == stdout || f == NULL) && from && to > from ? (size_t)(to - from) : 0;
    long k = held ? newlines(from, held) : 0;
    int rc = real_(f);
    if (rc == 0 && k) {
        pthread_mutex_lock(&mu);
        lines_out += k;
        record("W %ld\n", lines_out);
        pthread_mutex_unlock(&mu);
    }
    return rc;
}
