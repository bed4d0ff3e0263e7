/*
** ship.c: how fast `ship` delivers a local trail to RELP and to OTLP/HTTP,
** each next to a peer measured in the same run.
**
**   bench_ship --db PATH [--rounds 3] [--batch 1000] [--only relp|otlp|otlp-ship]
**              [--no-map]
**   bench_ship --serve-cost LOADGEN --bin SERVER [--requests N] [--inflight K]
**              [--rounds 5]
**
** RELP: a RELP receiver in this process (librelp's own server, the library
** rsyslog's imrelp is built on, counting messages and acknowledging each)
** on loopback; ship_run() delivers every entry of the file to it, through
** the RELP sink with its per-batch session and graceful close.  The target
** is an absolute one (50,000 entries/s), so the line also says how many
** entries the receiver counted.
**
** OTLP: a minimal OTLP/HTTP receiver in a child process (libmicrohttpd,
** reading each body and answering 200 with an empty response, counting
** requests and bytes); first a minimal client posts one pre-encoded batch
** (the file's first --batch entries, encoded once by the sink's own
** encoder: the same bytes per entry as ship sends) over one kept-alive
** libcurl connection, as many times as the file has batches: the rate the
** receiver and the transport allow.  Then ship_run() delivers the whole
** file, reading, mapping and encoding every entry as it goes.  The ratio
** of the two is the claim (>= 0.7).  Both rates count entries the
** receiver acknowledged (ship's from its result, which only counts
** acknowledged batches); each line also says how many requests and bytes
** the receiver read in that measure's rounds.
**
** ship_run() reads the file through a memory map, as the `ship` command
** does (ship_options.map_file); --no-map reads it with plain reads, as
** shipping in the background of a server does, to measure the difference.
**
** Each round ships from the start with a fresh cursor folder; the lines
** give every round and the median.  Prints, per measure:
**   relp entries=N rounds=R median_s=... rate=... received=... ship_cpu_s=... cpu_rate=...
**   otlp_floor entries=N ... rate=... client_cpu_s=...
**   otlp_ship entries=N ... rate=... ratio=... ship_cpu_s=... cpu_ratio=...
** The CPU figures are the sender's own: for RELP the shipping thread's
** (the receiver is a thread of this process), for OTLP this process's
** (the receiver is the child; ship's reading thread is counted): cpu_rate
** is the rate the shipper would reach with a CPU of its own, cpu_ratio
** the ratio of the two senders' CPU costs, both far less distorted by a
** busy machine than the wall-time ones.
**
** --serve-cost: what shipping in the background costs serve.  The same
** RELP receiver listens; bench_loadgen (LOADGEN) drives SERVER with the
** write workload (N requests, K in flight; 3,000 and 1 by default) on a
** fresh database, alternately without and with DSS_AUDIT_SHIP_TO naming
** the receiver (the same as --ship-to), --rounds times each.  Prints the
** medians of both and the cost (1 - shipping / plain, in percent; the
** claim is <= 5), and the server's CPU time per call (its shipping thread
** included):
**   serve_ship requests=N inflight=K rounds=R plain_calls_per_s=...
**     shipping_calls_per_s=... cost_pct=... plain_cpu_us=... shipping_cpu_us=...
**     received=...
*/
#include <errno.h>
#include <stddef.h>
#include <librelp.h> /* needs size_t first */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gen.h"
#include "ship/ship.h"
#include "ship/sink_int.h"
#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}


/* ---- the RELP receiver ---------------------------------------------------- */

static atomic_long relp_received;
static relpEngine_t *relp_engine;

static relpRetVal on_syslog(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg,
                            size_t len)
{
    atomic_fetch_add(&relp_received, 1);
    return RELP_RET_OK;
}

static void no_debug(char *fmt, ...)
{
    (void)fmt;
}

static void *relp_thread(void *arg)
{
    relpEngineRun(relp_engine);
    return NULL;
}

static int relp_listen(int port)
{
    relpSrv_t *srv;
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    if (relpEngineConstruct(&relp_engine) != RELP_RET_OK) return -1;
    relpEngineSetDbgprint(relp_engine, no_debug);
    relpEngineSetEnableCmd(relp_engine, (unsigned char *)"syslog", eRelpCmdState_Required);
    relpEngineSetSyslogRcv2(relp_engine, on_syslog);
    if (relpEngineListnerConstruct(relp_engine, &srv) != RELP_RET_OK ||
        relpSrvSetLstnPort(srv, (unsigned char *)p) != RELP_RET_OK ||
        relpSrvSetLstnAddr(srv, (unsigned char *)"127.0.0.1") != RELP_RET_OK ||
        relpEngineListnerConstructFinalize(relp_engine, srv) != RELP_RET_OK)
        return -1;
    pthread_t t;
    return pthread_create(&t, NULL, relp_thread, NULL) == 0 ? 0 : -1;
}

/* ---- the OTLP receiver ---------------------------------------------------- */

/* Counted by the receiver (in the child), read by the parent: shared. */
typedef struct otlp_counts {
    atomic_long requests, bytes;
} otlp_counts;
static otlp_counts *otlp_seen;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    static int marker;
    if (!*state) {
        *state = &marker;
        return MHD_YES;
    }
    if (*size) {
        atomic_fetch_add(&otlp_seen->bytes, (long)*size);
        *size = 0; /* read and dropped */
        return MHD_YES;
    }
    atomic_fetch_add(&otlp_seen->requests, 1);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/x-protobuf");
    enum MHD_Result rc = MHD_queue_response(c, strcmp(url, "/v1/logs") == 0 ? 200 : 404, r);
    MHD_destroy_response(r);
    return rc;
}

/* Start the receiver in a child process, before this one has threads:
** its port, or 0.  The child stops when *done_fd (the pipe it reads) is
** closed. */
static unsigned otlp_receiver(pid_t *child, int *done_fd)
{
    int up[2], down[2];
    unsigned port = 0;
    otlp_seen = mmap(NULL, sizeof *otlp_seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (otlp_seen == MAP_FAILED || pipe(up) != 0 || pipe(down) != 0) return 0;
    if ((*child = fork()) < 0) return 0;
    if (*child == 0) {
        close(up[0]);
        close(down[1]);
        struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
                                                0, NULL, NULL, on_request, NULL, MHD_OPTION_END);
        const union MHD_DaemonInfo *info =
            d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
        port = info ? info->port : 0;
        if (write(up[1], &port, sizeof port) != sizeof port) _exit(1);
        char c;
        while (read(down[0], &c, 1) > 0) {}
        if (d) MHD_stop_daemon(d);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    if (read(up[0], &port, sizeof port) != sizeof port) port = 0;
    close(up[0]);
    *done_fd = down[1];
    return port;
}

/* ---- rounds --------------------------------------------------------------- */

/* CPU seconds the calling thread has used: a cost that a busy machine
** distorts far less than wall time (the receivers' threads are not
** counted). */
static double cpu_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether ship_run() reads the file through a memory map, as the `ship`
** command does (ship_options.map_file); --no-map: plain reads, as a
** server's background shipping. */
static int map_file = 1;

/* One ship_run() from the start: wall seconds in *secs, and the CPU
** seconds of the shipper on clock in *cpu (one sink: it runs in this
** thread, and its reader in others for OTLP).  Every entry of the file
** must be acknowledged (entries). */
static int ship_round(const char *db, const char *url, int batch, const char *cursors,
                      clockid_t clock, long entries, double *secs, double *cpu)
{
    ship_result res;
    char err[1024];
    ship_options o = {.from = db, .to = url, .batch = batch, .start = SHIP_FROM_START,
                      .cursor_dir = cursors, .map_file = map_file};
    double t0 = now_s(), c0 = cpu_s(clock);
    int rc = ship_run(&o, &res, err, sizeof err);
    *secs = now_s() - t0;
    *cpu = cpu_s(clock) - c0;
    if (rc != SHIP_OK) fprintf(stderr, "bench_ship: %s\n", err);
    else if (res.shipped != entries) {
        fprintf(stderr, "bench_ship: %lld of %ld entries acknowledged\n",
                (long long)res.shipped, entries);
        rc = SHIP_EFAIL;
    }
    return rc;
}

static size_t drop_body(char *p, size_t size, size_t n, void *ctx)
{
    return size * n;
}

/* The file's first batch, encoded once by the OTLP sink's own encoder. */
typedef struct first_batch {
    jbuf records;
    size_t n, want;
    int failed;
    char err[256];
} first_batch;

static int keep_entry(void *ctx, const entry_row *row)
{
    first_batch *b = ctx;
    if (sink_otlp_record(row, &b->records, b->err, sizeof b->err) != SINK_OK) b->failed = 1;
    return b->failed || ++b->n >= b->want;
}

/* The number after "key=" in line, or -1. */
static double field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? atof(p + strlen(key)) : -1;
}

/* One run of loadgen on a fresh database in dir: its calls/s and the
** server's CPU microseconds per call.  0, or -1. */
static int loadgen_round(const char *loadgen, const char *bin, const char *dir, int n, long requests,
                         long inflight, double *rate, double *cpu)
{
    char cmd[2048], line[4096] = "";
    snprintf(cmd, sizeof cmd,
             "'%s' --bin '%s' --db '%s/serve%d.db' --workload write --requests %ld "
             "--inflight %ld",
             loadgen, bin, dir, n, requests, inflight);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f) && !strstr(line, "calls_per_s=")) {}
    int rc = pclose(f);
    *rate = field(line, "calls_per_s=");
    *cpu = field(line, "server_cpu_us_per_call=");
    if (rc != 0 || *rate <= 0) {
        fprintf(stderr, "bench_ship: loadgen failed (%d): %s\n", rc, line);
        return -1;
    }
    return 0;
}

static int serve_cost(const char *loadgen, const char *bin, long requests, long inflight, int rounds)
{
    double plain[20], ship[20], plain_cpu[20], ship_cpu[20];
    char dir[] = "/tmp/dss-bench-serve-XXXXXX", url[128], cmd[128];
    int port = 20000 + (int)(getpid() % 20000);
    if (!mkdtemp(dir) || relp_listen(port) != 0) {
        fprintf(stderr, "bench_ship: no temporary folder, or cannot listen for RELP on %d\n", port);
        return 1;
    }
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", port);
    /* Alternately, so that a change in the machine's load falls on both. */
    for (int r = 0; r < rounds; r++) {
        unsetenv("DSS_AUDIT_SHIP_TO");
        if (loadgen_round(loadgen, bin, dir, 2 * r, requests, inflight, &plain[r],
                          &plain_cpu[r]) != 0)
            return 1;
        setenv("DSS_AUDIT_SHIP_TO", url, 1);
        if (loadgen_round(loadgen, bin, dir, 2 * r + 1, requests, inflight, &ship[r],
                          &ship_cpu[r]) != 0)
            return 1;
    }
    double p = gen_median(plain, rounds), s = gen_median(ship, rounds);
    printf("serve_ship requests=%ld inflight=%ld rounds=%d plain_calls_per_s=%.1f "
           "shipping_calls_per_s=%.1f cost_pct=%.1f plain_cpu_us=%.1f shipping_cpu_us=%.1f "
           "received=%ld\n",
           requests, inflight, rounds, p, s, (1 - s / p) * 100, gen_median(plain_cpu, rounds),
           gen_median(ship_cpu, rounds), atomic_load(&relp_received));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *only = "", *loadgen = NULL, *bin = NULL;
    int rounds = 3, batch = 1000, rounds_given = 0;
    long requests = 3000, inflight = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--serve-cost") == 0 && i + 1 < argc) loadgen = argv[++i];
        else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc) bin = argv[++i];
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) requests = atol(argv[++i]);
        else if (strcmp(argv[i], "--inflight") == 0 && i + 1 < argc) inflight = atol(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            rounds_given = 1;
        }
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) db = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--no-map") == 0) map_file = 0;
        else {
            fprintf(stderr, "usage: bench_ship --db PATH [--rounds 3] [--batch 1000] "
                            "[--only relp|otlp|otlp-ship] [--no-map]\n");
            return 2;
        }
    }
    if (loadgen) {
        if (!bin || requests < 1 || inflight < 1 || rounds < 1 || rounds > 20) {
            fprintf(stderr, "usage: bench_ship --serve-cost LOADGEN --bin SERVER [--requests N] "
                            "[--inflight K] [--rounds 5]\n");
            return 2;
        }
        return serve_cost(loadgen, bin, requests, inflight, rounds_given ? rounds : 5);
    }
    if (!db || rounds < 1 || rounds > 20 || batch < 1) {
        fprintf(stderr, "usage: bench_ship --db PATH [--rounds 3] [--batch 1000]\n");
        return 2;
    }
    store *s;
    char serr[STORE_ERRLEN], log_id[37];
    int64_t first, last;
    store_options so = {.path = db, .readonly = 1};
    if (store_open(&so, &s, serr) != STORE_OK || store_seq_range(s, &first, &last, serr) != STORE_OK) {
        fprintf(stderr, "bench_ship: %s: %s\n", db, serr);
        return 1;
    }
    snprintf(log_id, sizeof log_id, "%s", store_log_id(s));
    long entries = last >= first && last ? (long)(last - first + 1) : 0;
    first_batch fb = {.want = (size_t)batch};
    if (store_each_row(s, 1, keep_entry, &fb, serr) != STORE_OK || fb.failed) {
        fprintf(stderr, "bench_ship: %s\n", fb.failed ? fb.err : serr);
        return 1;
    }
    store_close(s);
    char dir[] = "/tmp/dss-bench-ship-XXXXXX", cursors[64];
    if (!mkdtemp(dir) || entries == 0) {
        fprintf(stderr, "bench_ship: no entries, or no temporary folder\n");
        return 1;
    }
    double t[20], cpu[20];
    /* The OTLP receiver's process first, while this one has no threads. */
    pid_t child = -1;
    int done_fd = -1;
    unsigned otlp_port = strcmp(only, "relp") == 0 ? 0 : otlp_receiver(&child, &done_fd);
    if (strcmp(only, "relp") != 0 && !otlp_port) {
        fprintf(stderr, "bench_ship: cannot start the OTLP receiver\n");
        return 1;
    }

    /* RELP */
    if (strncmp(only, "otlp", 4) == 0) goto otlp;
    int relp_port = 20000 + (int)(getpid() % 20000);
    char url[128];
    if (relp_listen(relp_port) != 0) {
        fprintf(stderr, "bench_ship: cannot listen for RELP on %d\n", relp_port);
        return 1;
    }
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", relp_port);
    for (int r = 0; r < rounds; r++) {
        snprintf(cursors, sizeof cursors, "%s/relp%d", dir, r);
        atomic_store(&relp_received, 0);
        if (ship_round(db, url, batch, cursors, CLOCK_THREAD_CPUTIME_ID, entries, &t[r],
                       &cpu[r]) != SHIP_OK)
            return 1;
    }
    double m = gen_median(t, rounds), mc = gen_median(cpu, rounds);
    printf("relp entries=%ld rounds=%d median_s=%.3f rate=%.0f received=%ld ship_cpu_s=%.3f "
           "cpu_rate=%.0f\n",
           entries, rounds, m, entries / m, atomic_load(&relp_received), mc, entries / mc);
    fflush(stdout);

    if (strcmp(only, "relp") == 0) goto done;
otlp:;
    /* OTLP: the floor (pre-encoded batches) and ship, a round of each in
    ** turn, so that a change in the machine's load falls on both. */
    jbuf req = {0};
    char err[256], ship_url[128];
    if (sink_otlp_request(log_id, fb.records.p, fb.records.len, &req, err, sizeof err) != SINK_OK) {
        fprintf(stderr, "bench_ship: %s\n", err);
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/logs", otlp_port);
    snprintf(ship_url, sizeof ship_url, "otlp+http://127.0.0.1:%u", otlp_port);
    long posts = (entries + batch - 1) / batch;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.p);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
    double ft[20], fcpu[20];
    long seen[2][2] = {{0, 0}, {0, 0}}; /* requests and bytes: floor, ship */
    /* --only otlp-ship: ship alone, e.g. under perf (the floor's line then
    ** says 0). */
    long floor_posts = strcmp(only, "otlp-ship") == 0 ? 0 : posts;
    for (int r = 0; r < rounds; r++) {
        long q0 = atomic_load(&otlp_seen->requests), b0 = atomic_load(&otlp_seen->bytes);
        double t0 = now_s(), c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
        for (long i = 0; i < floor_posts; i++) {
            long status = 0;
            if (curl_easy_perform(c) != CURLE_OK ||
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
                fprintf(stderr, "bench_ship: the minimal client's POST failed\n");
                return 1;
            }
        }
        ft[r] = now_s() - t0;
        fcpu[r] = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        long q1 = atomic_load(&otlp_seen->requests), b1 = atomic_load(&otlp_seen->bytes);
        snprintf(cursors, sizeof cursors, "%s/otlp%d", dir, r);
        if (ship_round(db, ship_url, batch, cursors, CLOCK_PROCESS_CPUTIME_ID, entries, &t[r],
                       &cpu[r]) != SHIP_OK)
            return 1;
        seen[0][0] += q1 - q0;
        seen[0][1] += b1 - b0;
        seen[1][0] += atomic_load(&otlp_seen->requests) - q1;
        seen[1][1] += atomic_load(&otlp_seen->bytes) - b1;
    }
    double floor_s = gen_median(ft, rounds), floor_cpu = gen_median(fcpu, rounds);
    printf("otlp_floor entries=%ld rounds=%d median_s=%.3f rate=%.0f batch_bytes=%zu "
           "client_cpu_s=%.3f requests=%ld bytes=%ld\n",
           entries, rounds, floor_s, entries / floor_s, req.len, floor_cpu, seen[0][0] / rounds,
           seen[0][1] / rounds);
    m = gen_median(t, rounds);
    mc = gen_median(cpu, rounds);
    printf("otlp_ship entries=%ld rounds=%d median_s=%.3f rate=%.0f ratio=%.2f ship_cpu_s=%.3f "
           "cpu_ratio=%.2f requests=%ld bytes=%ld\n",
           entries, rounds, m, entries / m, floor_s / m, mc, floor_cpu / mc, seen[1][0] / rounds,
           seen[1][1] / rounds);

    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    jbuf_free(&req);
done:
    if (child > 0) {
        close(done_fd);
        waitpid(child, NULL, 0);
    }
    jbuf_free(&fb.records);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
