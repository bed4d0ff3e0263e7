/*
** loadgen.c: drive the real dss-audit-mcp binary over pipes.
**
**   bench_loadgen --bin PATH --db PATH --workload W --requests N
**                 [--inflight K] [--max-secs S] [--seed S] [--actor NAME]
**                 [--trail-from TS --trail-to TS] [--trail-hours H]
**                 [--rss-at N1,N2,...] [--log NAME]
**   bench_loadgen --bin PATH --db PATH --startup N
**
** Workloads (each request is one tools/call):
**   write     log_operation with ~600-byte nested args holding secrets
**             (api_key, password, authorization, figma_token); 10% carry an
**             error; GEN_TERM planted in 0.1% as in the prefill
**   history   get_operation_history {user_id: one of 50 users, limit: 20}
**   search    search_audit_log {search_term: GEN_TERM} (matches ~0.1% of
**             the prefilled entries; default limit 50)
**   activity  get_user_activity {user_id: one of 50 users, days: 30}
**   trail     get_audit_trail, a random window of --trail-hours (default
**             1) inside [--trail-from, --trail-to] (default: the last 90
**             days), limit 100
**   mixed     40% write, 25% history, 25% trail, 5% activity, 5% search
**             (with a common term, so that it stays cheap as the database
**             grows): the RSS soak
**
** The server is started with --db PATH --actor NAME (default "bench"), and
** --log NAME when given (the log of a shared PostgreSQL database), sent
** initialize and notifications/initialized, then N requests with at most K
** in flight (K=1: lockstep).  --max-secs stops sending once that much time
** has passed (the outstanding replies are still awaited), so slow workloads
** finish in bounded time; the line printed says how many were done.
** Latency is measured per request from the moment its line is handed to
** the pipe to the moment its whole reply line has been read.  Every reply
** is checked: its id must be the request's, and it must be a tools/call
** result with "isError":false.
**
** Before closing the server's stdin the program reads VmHWM (peak RSS) and
** VmRSS from /proc/PID/status; --rss-at also samples VmRSS after the given
** numbers of replies.  It also reports the CPU time the server spent during
** the run (server_cpu_us_per_call: a cost that contention distorts far less
** than latency does) and how busy the CPUs were with other processes
** (others_cpu_pct, from /proc/stat less the server's and its own time; the
** kernel's writeback for our fsyncs counts as "other").
**
** --startup N spawns the server N times and times spawn -> initialize reply.
**
** Prints one line of key=value pairs on stdout; exit status 1 if any reply
** was wrong or the server failed.
*/
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "util/ts.h"

extern char **environ;

#define POOL 4096
#define MAX_RSS_AT 32

typedef struct options {
    const char *bin, *db, *actor, *workload, *log;
    long long requests, inflight, seed, startup;
    double max_secs;
    int64_t trail_from, trail_to, trail_us;
    long long rss_at[MAX_RSS_AT];
    int n_rss_at;
} options;

typedef struct server {
    pid_t pid;
    int in_fd;  /* we write requests here */
    int out_fd; /* we read replies here */
    char *buf;  /* reply bytes: buf[start..len) are unread */
    size_t start, len, cap, scan; /* scan: bytes after start without '\n' */
} server;

static void die(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(1);
}

static void usage(void)
{
    fputs("usage: bench_loadgen --bin PATH --db PATH --workload "
          "write|history|search|activity|trail|mixed --requests N "
          "[--inflight K] [--max-secs S] [--seed S] [--actor NAME] "
          "[--trail-from TS --trail-to TS] [--trail-hours H] [--rss-at N1,N2,...]"
          " [--log NAME]\n"
          "       bench_loadgen --bin PATH --db PATH --startup N\n", stderr);
    exit(2);
}

static long long num_arg(const char *s)
{
    return gen_num_arg(s, usage);
}

static int64_t ts_arg(const char *s)
{
    int64_t us;
    char why[200];
    if (ts_parse(s, 0, &us, why, sizeof why) != 0) {
        fprintf(stderr, "loadgen: bad timestamp '%s': %s\n", s, why);
        exit(2);
    }
    return us;
}

/* ---- the server process ---- */

static void server_start(const options *o, server *s)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) die("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[0]);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    char *argv[] = {(char *)o->bin, "--db", (char *)o->db, "--actor",
                    (char *)o->actor, o->log ? "--log" : NULL, (char *)o->log, NULL};
    int rc = posix_spawn(&s->pid, o->bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "loadgen: cannot start %s: %s\n", o->bin, strerror(rc));
        exit(1);
    }
    close(in[0]);
    close(out[1]);
    s->in_fd = in[1];
    s->out_fd = out[0];
    fcntl(s->in_fd, F_SETFD, FD_CLOEXEC);
    fcntl(s->out_fd, F_SETFD, FD_CLOEXEC);
    s->start = s->len = s->scan = 0;
    if (!s->buf) {
        s->cap = 1 << 20;
        if (!(s->buf = malloc(s->cap))) die("out of memory");
    }
}

/* Close stdin and wait; returns the exit status, or -1 on a signal. */
static int server_stop(server *s)
{
    close(s->in_fd);
    close(s->out_fd);
    int st;
    while (waitpid(s->pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* CPU accounting, to tell what a run cost the server and how much other
** work shared the machine meanwhile. */
typedef struct cpu_mark {
    double wall;
    long long busy, server, self; /* clock ticks */
} cpu_mark;

static long long proc_stat_busy(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (!f) return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return 0;
    return (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]); /* not idle, iowait */
}

/* utime + stime of a process, in clock ticks. */
static long long proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    long long ut = 0, st = 0;
    /* After ")": state is field 3; utime and stime are fields 14 and 15. */
    char *save = NULL, *tok = strtok_r(p + 1, " ", &save);
    for (int field = 3; tok; field++, tok = strtok_r(NULL, " ", &save)) {
        if (field == 14) ut = atoll(tok);
        if (field == 15) {
            st = atoll(tok);
            break;
        }
    }
    return ut + st;
}

static void cpu_mark_now(cpu_mark *m, pid_t srv)
{
    m->wall = gen_now_s();
    m->busy = proc_stat_busy();
    m->server = proc_cpu(srv);
    m->self = proc_cpu(getpid());
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                poll(&pf, 1, -1);
                continue;
            }
            die("the server closed its input");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Read what is available (blocking when block is set) into s->buf.
** Returns the bytes read; dies at EOF. */
static size_t server_read(server *s, int block)
{
    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->len - s->start);
        s->len -= s->start;
        s->start = 0;
    }
    if (s->cap - s->len < 65536) {
        s->cap *= 2;
        if (!(s->buf = realloc(s->buf, s->cap))) die("out of memory");
    }
    for (;;) {
        if (block) {
            struct pollfd pf = {.fd = s->out_fd, .events = POLLIN};
            poll(&pf, 1, -1);
        }
        ssize_t r = read(s->out_fd, s->buf + s->len, s->cap - s->len);
        if (r > 0) {
            s->len += (size_t)r;
            return (size_t)r;
        }
        if (r == 0) die("the server ended its output early");
        if (errno == EINTR) continue;
        if (errno == EAGAIN && !block) return 0;
        if (errno != EAGAIN) die("reading the server's output failed");
    }
}

/* The next whole line in s->buf, or NULL; *len excludes the '\n'.  The
** line stays valid until consume(). */
static char *next_line(server *s, size_t *len)
{
    char *from = s->buf + s->start + s->scan;
    char *nl = memchr(from, '\n', s->len - s->start - s->scan);
    if (!nl) {
        s->scan = s->len - s->start;
        return NULL;
    }
    *len = (size_t)(nl - (s->buf + s->start));
    return s->buf + s->start;
}

/* Drop the line next_line() returned. */
static void consume(server *s, size_t len)
{
    s->start += len + 1;
    s->scan = 0;
}

static const char init_req[] =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"dss-bench\",\"version\":\"1.0.0\"}}}\n";
static const char initialized_note[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";

/* Send initialize and wait for its reply (blocking). */
static void server_initialize(server *s)
{
    write_all(s->in_fd, init_req, sizeof init_req - 1);
    size_t len;
    char *line;
    while (!(line = next_line(s, &len))) server_read(s, 1);
    if (!memmem(line, len, "\"protocolVersion\"", 17)) {
        fprintf(stderr, "loadgen: bad initialize reply: %.300s\n", line);
        exit(1);
    }
    consume(s, len);
}

/* ---- requests ---- */

static void rand_user(gen_rng *r, char out[16])
{
    gen_user_id((int)gen_below(r, GEN_USERS), out);
}

/* The params object of one request of workload w, serialized. */
static char *make_params(const options *o, const char *w, gen_rng *r)
{
    char args[512], u[16];
    if (!strcmp(w, "mixed")) {
        uint32_t p = gen_below(r, 100);
        w = p < 40 ? "write" : p < 65 ? "history" : p < 90 ? "trail"
          : p < 95 ? "activity" : "search-common";
    }
    if (!strcmp(w, "write")) {
        gen_entry e;
        if (gen_entry_make(r, &e) != 0) die("out of memory");
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "event_type", e.event_type);
        cJSON_AddStringToObject(a, "operation_name", e.operation_name);
        cJSON_AddStringToObject(a, "operation_id", e.operation_id);
        cJSON_AddStringToObject(a, "user_id", e.user_id);
        cJSON_AddStringToObject(a, "project_id", e.project_id);
        cJSON_AddItemToObject(a, "args", e.args);
        if (e.result) cJSON_AddItemToObject(a, "result", e.result);
        if (e.error[0]) cJSON_AddStringToObject(a, "error", e.error);
        if (e.before) cJSON_AddItemToObject(a, "before_state", e.before);
        if (e.after) cJSON_AddItemToObject(a, "after_state", e.after);
        e.args = e.result = e.before = e.after = NULL;
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", "log_operation");
        cJSON_AddItemToObject(p, "arguments", a);
        char *text = cJSON_PrintUnformatted(p);
        cJSON_Delete(p);
        if (!text) die("out of memory");
        return text;
    }
    if (!strcmp(w, "history")) {
        rand_user(r, u);
        snprintf(args, sizeof args,
                 "{\"name\":\"get_operation_history\",\"arguments\":"
                 "{\"user_id\":\"%s\",\"limit\":20}}", u);
    } else if (!strcmp(w, "search")) {
        snprintf(args, sizeof args,
                 "{\"name\":\"search_audit_log\",\"arguments\":"
                 "{\"search_term\":\"%s\"}}", GEN_TERM);
    } else if (!strcmp(w, "search-common")) {
        snprintf(args, sizeof args,
                 "{\"name\":\"search_audit_log\",\"arguments\":"
                 "{\"search_term\":\"sync\",\"limit\":20}}");
    } else if (!strcmp(w, "activity")) {
        rand_user(r, u);
        snprintf(args, sizeof args,
                 "{\"name\":\"get_user_activity\",\"arguments\":"
                 "{\"user_id\":\"%s\",\"days\":30}}", u);
    } else if (!strcmp(w, "trail")) {
        const int64_t hour = o->trail_us;
        int64_t room = o->trail_to - o->trail_from - hour;
        int64_t from = o->trail_from;
        if (room > 0)
            from += (int64_t)((double)(gen_next(r) >> 11) / 9007199254740992.0 *
                              (double)room);
        char a[TS_BUFLEN], b[TS_BUFLEN];
        ts_format(from, a);
        ts_format(from + hour, b);
        snprintf(args, sizeof args,
                 "{\"name\":\"get_audit_trail\",\"arguments\":"
                 "{\"start_date\":\"%s\",\"end_date\":\"%s\",\"limit\":100}}", a, b);
    } else {
        fprintf(stderr, "loadgen: unknown workload '%s'\n", w);
        exit(2);
    }
    char *text = strdup(args);
    if (!text) die("out of memory");
    return text;
}

/* Check one reply line: the expected id and a successful tool result. */
static int reply_ok(const char *line, size_t len, long long want_id)
{
    const char *id = memmem(line, len < 64 ? len : 64, "\"id\":", 5);
    if (!id || strtoll(id + 5, NULL, 10) != want_id) return 0;
    static const char ok[] = "\"isError\":false";
    size_t tail = len < 48 ? len : 48;
    return memmem(line + len - tail, tail, ok, sizeof ok - 1) != NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, long long n, double p)
{
    if (n <= 0) return 0;
    long long k = (long long)(p / 100.0 * (double)n + 0.999999) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return v[k];
}

/* ---- modes ---- */

static int run_startup(const options *o)
{
    long long n = o->startup;
    double *t = calloc((size_t)n, sizeof *t);
    server s = {0};
    if (!t) die("out of memory");
    for (long long i = 0; i < n; i++) {
        double t0 = gen_now_s();
        server_start(o, &s);
        server_initialize(&s);
        t[i] = (gen_now_s() - t0) * 1000.0;
        if (server_stop(&s) != 0) die("the server exited with an error");
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("startup_runs=%lld startup_median_ms=%.3f startup_min_ms=%.3f "
           "startup_max_ms=%.3f\n", n, pct(t, n, 50), t[0], t[n - 1]);
    free(t);
    free(s.buf);
    return 0;
}

static int run_workload(const options *o)
{
    long long n = o->requests, k = o->inflight;
    gen_rng rng;
    gen_seed(&rng, (uint64_t)o->seed);
    int npool = n < POOL ? (int)n : POOL;
    char **pool = calloc((size_t)npool, sizeof *pool);
    double *sent_at = calloc((size_t)n, sizeof *sent_at);
    double *lat = calloc((size_t)n, sizeof *lat);
    long rss_at_kb[MAX_RSS_AT];
    size_t maxlen = 0;
    if (!pool || !sent_at || !lat) die("out of memory");
    for (int i = 0; i < npool; i++) {
        pool[i] = make_params(o, o->workload, &rng);
        size_t l = strlen(pool[i]);
        if (l > maxlen) maxlen = l;
    }
    size_t out_cap = (size_t)k * (maxlen + 96) + 1, out_len = 0, out_off = 0;
    char *out = malloc(out_cap);
    if (!out) die("out of memory");

    server s = {0};
    server_start(o, &s);
    server_initialize(&s);
    write_all(s.in_fd, initialized_note, sizeof initialized_note - 1);
    fcntl(s.in_fd, F_SETFL, fcntl(s.in_fd, F_GETFL) | O_NONBLOCK);
    fcntl(s.out_fd, F_SETFL, fcntl(s.out_fd, F_GETFL) | O_NONBLOCK);

    long long sent = 0, got = 0, target = n, errors = 0;
    int next_rss = 0;
    cpu_mark c0, c1;
    cpu_mark_now(&c0, s.pid);
    double t0 = gen_now_s();
    while (got < target) {
        /* Top up to k outstanding. */
        if (out_off == out_len) {
            out_len = out_off = 0;
            double t = gen_now_s();
            if (o->max_secs > 0 && t - t0 > o->max_secs && sent < target)
                target = sent;
            while (sent < target && sent - got < k) {
                int m = snprintf(out + out_len, out_cap - out_len,
                                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":"
                                 "\"tools/call\",\"params\":%s}\n",
                                 sent + 1, pool[sent % npool]);
                out_len += (size_t)m;
                sent_at[sent++] = t;
            }
        }
        if (out_off < out_len) {
            ssize_t w = write(s.in_fd, out + out_off, out_len - out_off);
            if (w > 0) out_off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                die("the server closed its input");
        }
        if (got == target) break;
        struct pollfd pf[2] = {{.fd = s.out_fd, .events = POLLIN},
                               {.fd = s.in_fd, .events = POLLOUT}};
        poll(pf, out_off < out_len ? 2 : 1, -1);
        if (!(pf[0].revents & (POLLIN | POLLHUP))) continue;
        server_read(&s, 0);
        size_t len;
        char *line;
        while (got < target && (line = next_line(&s, &len))) {
            double t = gen_now_s();
            lat[got] = (t - sent_at[got]) * 1000.0;
            if (!reply_ok(line, len, got + 1)) {
                if (errors++ < 3)
                    fprintf(stderr, "loadgen: bad reply to request %lld: %.400s\n",
                            got + 1, line);
            }
            got++;
            consume(&s, len);
            if (next_rss < o->n_rss_at && got == o->rss_at[next_rss])
                rss_at_kb[next_rss++] = gen_proc_kb(s.pid, "VmRSS");
        }
    }
    double secs = gen_now_s() - t0;
    cpu_mark_now(&c1, s.pid);
    long hwm = gen_proc_kb(s.pid, "VmHWM"), rss = gen_proc_kb(s.pid, "VmRSS");
    double tick_ms = 1000.0 / (double)sysconf(_SC_CLK_TCK);
    double server_ms = (double)(c1.server - c0.server) * tick_ms;
    double self_ms = (double)(c1.self - c0.self) * tick_ms;
    double busy_ms = (double)(c1.busy - c0.busy) * tick_ms;
    double others = (busy_ms - server_ms - self_ms) /
                    ((c1.wall - c0.wall) * 1000.0 * (double)sysconf(_SC_NPROCESSORS_ONLN));
    if (others < 0) others = 0;
    fcntl(s.in_fd, F_SETFL, fcntl(s.in_fd, F_GETFL) & ~O_NONBLOCK);
    int status = server_stop(&s);

    qsort(lat, (size_t)got, sizeof *lat, cmp_double);
    double sum = 0;
    for (long long i = 0; i < got; i++) sum += lat[i];
    printf("workload=%s inflight=%lld requests=%lld secs=%.3f calls_per_s=%.1f "
           "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f "
           "errors=%lld vmhwm_kb=%ld vmrss_kb=%ld server_cpu_ms=%.0f "
           "server_cpu_us_per_call=%.1f loadgen_cpu_ms=%.0f others_cpu_pct=%.0f",
           o->workload, k, got, secs, secs > 0 ? (double)got / secs : 0.0,
           pct(lat, got, 50), pct(lat, got, 90), pct(lat, got, 99),
           got ? lat[got - 1] : 0.0, got ? sum / (double)got : 0.0, errors,
           hwm, rss, server_ms, got ? server_ms * 1000.0 / (double)got : 0.0,
           self_ms, others * 100.0);
    for (int i = 0; i < next_rss; i++)
        printf(" rss_at_%lld_kb=%ld", o->rss_at[i], rss_at_kb[i]);
    printf(" exit=%d\n", status);

    for (int i = 0; i < npool; i++) free(pool[i]);
    free(pool);
    free(sent_at);
    free(lat);
    free(out);
    free(s.buf);
    return errors || status != 0;
}

int main(int argc, char **argv)
{
    options o = {.actor = GEN_ACTOR, .inflight = 1, .seed = 42, .requests = -1};
    const char *from = NULL, *to = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--bin")) o.bin = v;
        else if (!strcmp(a, "--db")) o.db = v;
        else if (!strcmp(a, "--actor")) o.actor = v;
        else if (!strcmp(a, "--workload")) o.workload = v;
        else if (!strcmp(a, "--requests")) o.requests = num_arg(v);
        else if (!strcmp(a, "--inflight")) o.inflight = num_arg(v);
        else if (!strcmp(a, "--seed")) o.seed = num_arg(v);
        else if (!strcmp(a, "--startup")) o.startup = num_arg(v);
        else if (!strcmp(a, "--max-secs")) o.max_secs = strtod(v, NULL);
        else if (!strcmp(a, "--trail-from")) from = v;
        else if (!strcmp(a, "--trail-to")) to = v;
        else if (!strcmp(a, "--trail-hours")) o.trail_us = num_arg(v) * INT64_C(3600000000);
        else if (!strcmp(a, "--log")) o.log = v;
        else if (!strcmp(a, "--rss-at")) {
            char *copy = strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && o.n_rss_at < MAX_RSS_AT;
                 t = strtok_r(NULL, ",", &save))
                o.rss_at[o.n_rss_at++] = num_arg(t);
            free(copy);
        } else usage();
    }
    if (argc % 2 != 1 || !o.bin || !o.db) usage();
    signal(SIGPIPE, SIG_IGN);
    if (o.startup > 0) return run_startup(&o);
    if (!o.workload || o.requests < 1 || o.inflight < 1) usage();
    if (o.trail_us < 1) o.trail_us = INT64_C(3600000000);
    o.trail_to = to ? ts_arg(to) : ts_now_us();
    o.trail_from = from ? ts_arg(from) : o.trail_to - 90 * INT64_C(86400000000);
    return run_workload(&o);
}
