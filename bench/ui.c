/*
** ui.c: `dss-audit-mcp ui` on a large database: the first page's latency
** and the server's memory while a client pages through every entry.
**
**   bench_ui --bin PATH --db PATH [--runs 20] [--page 50] [--walk 1]
**
** Starts the real binary (`ui --db PATH`), reads the URL it prints and
** talks HTTP/1.1 to it over loopback, one connection per request, as a
** browser without keep-alive would.  Measures:
**   first_ms        the very first /api/entries request after start (the
**                   page a person sees first; verification is running
**                   beside it on the other connection)
**   page_p50_ms     median of --runs further first-page requests
**   floor_p50_ms    the same query in this process, store_find_rows() on
**                   a read-only store: what the page costs without HTTP
**   ratio           page_p50_ms / floor_p50_ms
** then waits for the background verification to finish and follows the
** keyset cursor page by page (--page entries each) down to seq 1,
** sampling the server's VmRSS before it and after every 10% of the walk:
**   rss_start_kb (before), rss_10pct_kb, rss_max_kb, rss_end_kb,
**   rss_growth (end / at 10%: the store's page cache, 16 MiB, fills in the
**   first percent of a million entries; after that memory must stay flat),
**   rss_samples_kb (all eleven).
** Prints one key=value line on stdout.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gen.h"
#include "store/store.h"

extern char **environ;

static void usage(void)
{
    fprintf(stderr, "usage: bench_ui --bin PATH --db PATH [--runs N] [--page N] [--walk 0|1]\n");
    exit(2);
}

static void die(const char *msg)
{
    fprintf(stderr, "bench_ui: %s\n", msg);
    exit(1);
}

/* GET path; returns the body (caller frees) and the time taken in *ms. */
static char *get(int port, const char *path, const char *token, double *ms)
{
    static char *buf;
    static size_t cap = 1 << 22;
    if (!buf && !(buf = malloc(cap))) die("out of memory");
    double t0 = gen_now_s();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("cannot connect");
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", path, token);
    if (write(fd, req, (size_t)n) != n) die("cannot send");
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        if (got == cap - 1) die("reply too large");
    }
    close(fd);
    *ms = (gen_now_s() - t0) * 1000;
    buf[got] = '\0';
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "bench_ui: %s: %.200s\n", path, buf);
        die("request failed");
    }
    char *body = strstr(buf, "\r\n\r\n");
    return strdup(body ? body + 4 : "");
}


/* The first page in this process, printed as the tools print it
** (store_find_rows() with the entry printer): the floor. */
static double floor_p50(const char *db, int runs, int page)
{
    char err[STORE_ERRLEN];
    store *st = NULL;
    store_options o = {.path = db, .readonly = 1};
    if (store_open(&o, &st, err) != STORE_OK) die(err);
    double *t = calloc((size_t)runs, sizeof *t);
    for (int i = 0; i < runs; i++) {
        jbuf out = {0};
        store_page pg;
        store_query q = {.limit = page};
        entry_array rows = {.out = &out};
        double t0 = gen_now_s();
        jbuf_putc(&out, '[');
        if (store_find_rows(st, &q, entry_array_add, &rows, &pg, err) != STORE_OK) die(err);
        jbuf_putc(&out, ']');
        t[i] = (gen_now_s() - t0) * 1000;
        jbuf_free(&out);
    }
    double m = gen_median(t, runs);
    free(t);
    store_close(st);
    return m;
}

int main(int argc, char **argv)
{
    const char *bin = NULL, *db = NULL;
    int runs = 20, page = 50, walk = 1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (!strcmp(argv[i], "--bin")) bin = argv[++i];
        else if (!strcmp(argv[i], "--db")) db = argv[++i];
        else if (!strcmp(argv[i], "--runs")) runs = (int)gen_num_arg(argv[++i], usage);
        else if (!strcmp(argv[i], "--page")) page = (int)gen_num_arg(argv[++i], usage);
        else if (!strcmp(argv[i], "--walk")) walk = (int)gen_num_arg(argv[++i], usage);
        else usage();
    }
    if (!bin || !db || runs < 1 || page < 1 || page > 500) usage();

    int out[2];
    pid_t pid;
    if (pipe(out) != 0) die("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *args[] = {(char *)bin, "ui", "--db", (char *)db, NULL};
    if (posix_spawn(&pid, bin, &fa, NULL, args, environ) != 0) die("cannot start the server");
    close(out[1]);
    char url[256] = "";
    FILE *f = fdopen(out[0], "r");
    if (!f || !fgets(url, sizeof url, f)) die("the server printed no URL");
    int port = 0;
    char token[128];
    if (sscanf(url, "http://127.0.0.1:%d/?token=%127[0-9a-f]", &port, token) != 2)
        die("unexpected URL");

    char path[256];
    double first_ms, ms;
    snprintf(path, sizeof path, "/api/entries?limit=%d", page);
    free(get(port, path, token, &first_ms));
    double *t = calloc((size_t)runs, sizeof *t);
    for (int i = 0; i < runs; i++) free(get(port, path, token, &t[i]));
    double page_p50 = gen_median(t, runs);
    free(t);
    double fl = floor_p50(db, runs, page);
    printf("first_ms=%.2f page_p50_ms=%.2f floor_p50_ms=%.3f ratio=%.1f", first_ms, page_p50,
           fl, page_p50 / fl);
    fflush(stdout);

    if (walk) {
        /* The verification holds its own page cache while it runs: wait
        ** for it, so that the samples below show the paging alone. */
        double vt0 = gen_now_s();
        for (;;) {
            char *v = get(port, "/api/verify", token, &ms);
            int running = strstr(v, "\"state\":\"running\"") != NULL;
            free(v);
            if (!running) break;
            usleep(200000);
        }
        double verify_s = gen_now_s() - vt0;
        long rss_start = gen_proc_kb(pid, "VmRSS"), rss_max = rss_start;
        int64_t before = 0, entries = 0, pages = 0, total = 0;
        char *info = get(port, "/api/info", token, &ms);
        cJSON *ij = cJSON_Parse(info);
        total = (int64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(ij, "head"), "seq")->valuedouble;
        cJSON_Delete(ij);
        free(info);
        int64_t next_sample = total / 10;
        long samples[16];
        int n_samples = 0;
        double walk_t0 = gen_now_s();
        for (;;) {
            if (before) snprintf(path, sizeof path, "/api/entries?limit=%d&before_seq=%lld", page,
                                 (long long)before);
            char *body = get(port, path, token, &ms);
            cJSON *j = cJSON_Parse(body);
            free(body);
            if (!j) die("a page is not JSON");
            entries += cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries"));
            pages++;
            const cJSON *next = cJSON_GetObjectItem(j, "next");
            before = cJSON_IsObject(next)
                         ? (int64_t)cJSON_GetObjectItem(next, "before_seq")->valuedouble : 0;
            cJSON_Delete(j);
            if ((entries >= next_sample || !before) && n_samples < 16) {
                long rss = gen_proc_kb(pid, "VmRSS");
                if (rss > rss_max) rss_max = rss;
                samples[n_samples++] = rss;
                next_sample += total / 10;
            }
            if (!before) break;
        }
        long rss_end = gen_proc_kb(pid, "VmRSS");
        long at10 = n_samples ? samples[0] : rss_start;
        printf(" verify_s=%.1f pages=%lld entries=%lld walk_s=%.1f rss_start_kb=%ld "
               "rss_10pct_kb=%ld rss_max_kb=%ld rss_end_kb=%ld rss_growth=%.2f rss_samples_kb=",
               verify_s, (long long)pages, (long long)entries, gen_now_s() - walk_t0,
               rss_start, at10, rss_max, rss_end, (double)rss_end / (double)at10);
        for (int i = 0; i < n_samples; i++) printf("%s%ld", i ? "," : "", samples[i]);
    }
    printf("\n");
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    fclose(f);
    return 0;
}
