/*
** hook.c -> bench_hook: the wall time of one `dss-audit-mcp hook`
** invocation, process start to exit with the entry durable, next to
** starting /bin/true in the same run (the floor: what any hook command
** costs the agent before it does anything).
**
**   bench_hook BINARY EVENT.json [N] [DB]
**
** Runs N rounds (default 200); each round starts /bin/true once and the
** hook once (stdin from EVENT.json, one new entry appended to DB, default
** a fresh file under /tmp), in turn, so both see the same machine.  Prints
** the medians and their ratio as one line of JSON.  Nothing is asserted.
**
**   bench_hook --alt EVENT.json N LABEL=BINARY@DB ...
**
** Several ways of recording the event in one run: each round starts
** /bin/true and then each BINARY once, in the order given, so that every
** path sees the same moments of the machine; one line of JSON per path
** ("path": LABEL), each against the same /bin/true median.  bench/run
** --hook uses it for the recorder path, the fallback and the direct
** writers (docs/hooks.md, "Speed").
*/
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Start argv with stdin from in (or /dev/null), wait; the wall time in
** ms, or -1 when it failed. */
static double timed(char *const argv[], const char *in)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(in ? in : "/dev/null", O_RDONLY);
        int null = open("/dev/null", O_WRONLY);
        if (fd < 0 || null < 0) _exit(126);
        dup2(fd, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return now_ms() - t0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* --alt: the paths of argv[4..] alternated, round by round. */
static int alternate(int argc, char **argv)
{
    int n = atoi(argv[3]), k = argc - 4;
    if (n < 1) n = 1;
    if (k < 1 || k > 16) {
        fprintf(stderr, "usage: bench_hook --alt EVENT.json N LABEL=BINARY@DB ...\n");
        return 2;
    }
    char *label[16], *bin[16], *db[16];
    char *args[16][7];
    double *t[17];
    for (int j = 0; j < k; j++) {
        char *eq = strchr(argv[4 + j], '='), *at = eq ? strchr(eq, '@') : NULL;
        if (!eq || !at) {
            fprintf(stderr, "bench_hook: %s is not LABEL=BINARY@DB\n", argv[4 + j]);
            return 2;
        }
        *eq = *at = '\0';
        label[j] = argv[4 + j];
        bin[j] = eq + 1;
        db[j] = at + 1;
        char *a[] = {bin[j], "hook", "--db", db[j], "--actor", "bench", NULL};
        memcpy(args[j], a, sizeof a);
        /* The first run creates the database (or wakes its recorder): not counted. */
        if (timed(args[j], argv[2]) < 0) {
            fprintf(stderr, "bench_hook: %s (%s) failed\n", label[j], bin[j]);
            return 1;
        }
    }
    for (int j = 0; j <= k; j++)
        if (!(t[j] = calloc((size_t)n, sizeof *t[j]))) return 1;
    char *true_argv[] = {"/bin/true", NULL};
    for (int i = 0; i < n; i++) {
        t[k][i] = timed(true_argv, NULL);
        for (int j = 0; j < k; j++)
            if ((t[j][i] = timed(args[j], argv[2])) < 0) {
                fprintf(stderr, "bench_hook: a run of %s failed\n", label[j]);
                return 1;
            }
    }
    for (int j = 0; j <= k; j++) qsort(t[j], (size_t)n, sizeof *t[j], cmp);
    double mt = t[k][n / 2];
    for (int j = 0; j < k; j++)
        printf("{\"bench\":\"hook\",\"path\":\"%s\",\"runs\":%d,\"true_median_ms\":%.3f,"
               "\"hook_median_ms\":%.3f,\"hook_p90_ms\":%.3f,\"ratio\":%.2f}\n",
               label[j], n, mt, t[j][n / 2], t[j][n * 9 / 10], t[j][n / 2] / mt);
    for (int j = 0; j <= k; j++) free(t[j]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--alt") == 0) return alternate(argc, argv);
    if (argc < 3) {
        fprintf(stderr, "usage: bench_hook BINARY EVENT.json [N] [DB]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 200;
    char db[256];
    if (argc > 4) snprintf(db, sizeof db, "%s", argv[4]);
    else snprintf(db, sizeof db, "/tmp/bench-hook-%d.db", (int)getpid());
    if (n < 1) n = 1;
    double *tr = calloc((size_t)n, sizeof *tr), *hk = calloc((size_t)n, sizeof *hk);
    if (!tr || !hk) return 1;
    char *true_argv[] = {"/bin/true", NULL};
    char *hook_argv[] = {argv[1], "hook", "--db", db, "--actor", "bench", NULL};
    /* The first run creates the database; it is not counted. */
    if (timed(hook_argv, argv[2]) < 0) {
        fprintf(stderr, "bench_hook: %s hook failed\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        tr[i] = timed(true_argv, NULL);
        hk[i] = timed(hook_argv, argv[2]);
        if (tr[i] < 0 || hk[i] < 0) {
            fprintf(stderr, "bench_hook: a run failed\n");
            return 1;
        }
    }
    qsort(tr, (size_t)n, sizeof *tr, cmp);
    qsort(hk, (size_t)n, sizeof *hk, cmp);
    double mt = tr[n / 2], mh = hk[n / 2];
    printf("{\"bench\":\"hook\",\"runs\":%d,\"true_median_ms\":%.3f,\"hook_median_ms\":%.3f,"
           "\"hook_p90_ms\":%.3f,\"ratio\":%.2f}\n",
           n, mt, mh, hk[n * 9 / 10], mh / mt);
    if (argc <= 4) {
        char side[300];
        unlink(db);
        snprintf(side, sizeof side, "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", db);
        unlink(side);
    }
    free(tr);
    free(hk);
    return 0;
}
