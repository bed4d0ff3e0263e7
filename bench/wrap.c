/*
** wrap.c: what `dss-audit-mcp wrap` costs against the same server unwrapped.
**
**   bench_wrap --bin build/dss-audit-mcp --dir /tmp/x [--lockstep N]
**              [--pipelined N] [--rounds R]
**   bench_wrap --serve          (the echo server it measures)
**
** The server is this program itself (--serve: answers initialize and
** tools/call with its arguments as text, nothing else), so both sides of
** the ratio run the same code.  Each round runs, unwrapped then wrapped:
** N lockstep tools/call (one in flight; per-call latency) and N calls with
** 16 in flight (throughput).  The wrapper's peak RSS is wait4()'s
** ru_maxrss.  One JSON line of medians and ratios goes to stdout.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int serve(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *id = strstr(line, "\"id\":");
        if (!id) continue;
        id += 5;
        size_t idn = strcspn(id, ",}");
        if (strstr(line, "\"initialize\""))
            printf("{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{\"protocolVersion\":"
                   "\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":"
                   "{\"name\":\"bench\",\"version\":\"1\"}}}\n", (int)idn, id);
        else
            printf("{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{\"content\":"
                   "[{\"type\":\"text\",\"text\":\"ok\"}]}}\n", (int)idn, id);
        fflush(stdout);
    }
    free(line);
    return 0;
}

typedef struct child {
    pid_t pid;
    int in, out;
    FILE *rd;
} child;

static int start(child *c, char **argv)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b)) return -1;
    c->pid = fork();
    if (c->pid == 0) {
        dup2(a[0], 0);
        dup2(b[1], 1);
        close(a[0]); close(a[1]); close(b[0]); close(b[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(a[0]);
    close(b[1]);
    c->in = a[1];
    c->out = b[0];
    c->rd = fdopen(b[0], "r");
    return c->pid > 0 ? 0 : -1;
}

static char *line_buf;
static size_t line_cap;

static int send_call(child *c, int id)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"echo\",\"arguments\":{\"i\":%d}}}\n", id, id);
    return write(c->in, buf, (size_t)n) == n ? 0 : -1;
}

static int recv_line(child *c)
{
    return getline(&line_buf, &line_cap, c->rd) > 0 ? 0 : -1;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One session: lockstep p50 latency (ns) and pipelined calls/s; the
** child's peak RSS (KiB). */
static int session(char **argv, int lock_n, int pipe_n, int64_t *p50, double *rate,
                   long *rss_kib)
{
    child c;
    if (start(&c, argv) != 0) return -1;
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                       "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}\n";
    if (write(c.in, init, strlen(init)) < 0 || recv_line(&c)) return -1;
    int64_t *lat = malloc(sizeof *lat * (size_t)lock_n);
    for (int i = 0; i < lock_n; i++) {
        int64_t t0 = now_ns();
        if (send_call(&c, i + 1) || recv_line(&c)) return -1;
        lat[i] = now_ns() - t0;
    }
    qsort(lat, (size_t)lock_n, sizeof *lat, cmp64);
    *p50 = lat[lock_n / 2];
    free(lat);
    int sent = 0, got = 0, id = lock_n + 1;
    int64_t t0 = now_ns();
    while (got < pipe_n) {
        while (sent < pipe_n && sent - got < 16) {
            if (send_call(&c, id++)) return -1;
            sent++;
        }
        if (recv_line(&c)) return -1;
        got++;
    }
    *rate = pipe_n / ((now_ns() - t0) / 1e9);
    close(c.in);
    fclose(c.rd);
    int st;
    struct rusage ru;
    if (wait4(c.pid, &st, 0, &ru) < 0) return -1;
    *rss_kib = ru.ru_maxrss;
    return 0;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *bin = NULL, *dir = NULL;
    int lock_n = 2000, pipe_n = 20000, rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--serve")) return serve();
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "--bin")) bin = argv[++i];
        else if (!strcmp(argv[i], "--dir")) dir = argv[++i];
        else if (!strcmp(argv[i], "--lockstep")) lock_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pipelined")) pipe_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[++i]);
    }
    if (!bin || !dir || lock_n < 1 || pipe_n < 1 || rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: bench_wrap --bin DSS_AUDIT_MCP --dir DIR [--lockstep N] "
                        "[--pipelined N] [--rounds R]\n");
        return 2;
    }
    char self[4096];
    ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sn <= 0) return 1;
    self[sn] = '\0';
    double lat_direct[64], lat_wrap[64], rate_direct[64], rate_wrap[64], rss[64];
    for (int r = 0; r < rounds; r++) {
        char db[4200];
        snprintf(db, sizeof db, "%s/wrap-bench-%d.db", dir, r);
        char *direct[] = {self, "--serve", NULL};
        char *wrapped[] = {(char *)bin, "wrap", "--db", db, "--actor", "bench", "--",
                           self, "--serve", NULL};
        int64_t p50;
        double rate;
        long kib;
        if (session(direct, lock_n, pipe_n, &p50, &rate, &kib)) return 1;
        lat_direct[r] = p50 / 1e3;
        rate_direct[r] = rate;
        if (session(wrapped, lock_n, pipe_n, &p50, &rate, &kib)) return 1;
        lat_wrap[r] = p50 / 1e3;
        rate_wrap[r] = rate;
        rss[r] = kib / 1024.0;
    }
    qsort(lat_direct, (size_t)rounds, sizeof(double), cmpd);
    qsort(lat_wrap, (size_t)rounds, sizeof(double), cmpd);
    qsort(rate_direct, (size_t)rounds, sizeof(double), cmpd);
    qsort(rate_wrap, (size_t)rounds, sizeof(double), cmpd);
    qsort(rss, (size_t)rounds, sizeof(double), cmpd);
    int m = rounds / 2;
    printf("{\"bench\":\"wrap\",\"rounds\":%d,\"lockstep_calls\":%d,\"pipelined_calls\":%d,"
           "\"direct_p50_us\":%.1f,\"wrapped_p50_us\":%.1f,\"added_p50_us\":%.1f,"
           "\"direct_calls_per_s\":%.0f,\"wrapped_calls_per_s\":%.0f,"
           "\"throughput_ratio\":%.3f,\"wrapper_peak_rss_mib\":%.1f}\n",
           rounds, lock_n, pipe_n, lat_direct[m], lat_wrap[m], lat_wrap[m] - lat_direct[m],
           rate_direct[m], rate_wrap[m], rate_wrap[m] / rate_direct[m], rss[rounds - 1]);
    return 0;
}
