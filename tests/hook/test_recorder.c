/*
** test_recorder.c: dss-audit-mcp-hook with and without `dss-audit-mcp
** recorder`, as agents' hooks run it.
**
** Each case works in a temp folder of its own, which is also HOME and the
** runtime folder's parent (XDG_RUNTIME_DIR=<tmp>/run), so that the hooks
** and the recorders they start find each other there.  Hooks are the real
** dss-audit-mcp-hook ($DSS_HOOK_BIN) with an event on stdin; recorders the
** real dss-audit-mcp ($DSS_BIN) with DSS_E2E_WRAPPER in front (valgrind).
** What was stored is read back with `query --json` and `verify`; what a
** recorder served, from the line it writes when it stops.  The hook suite
** itself runs through recorders as hook_recorder.* (test_hook_e2e.c).
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hook/hook_sock.h"
#include "test.h"

static const char PRE[] =
    "{\"session_id\":\"s-1\",\"cwd\":\"/w\",\"hook_event_name\":\"PreToolUse\","
    "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"make\"},\"tool_use_id\":\"%s\"}";

/* ---- the temp folder ----------------------------------------------------- */

static char tmp[64], run_dir[96], db[128];

static void remove_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (tmp[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
}

/* The case's folder, its runtime folder and database path; the
** environment every program started here sees. */
static void setup(void)
{
    static int once;
    remove_tmp(); /* the previous case's, when several run in one process */
    snprintf(tmp, sizeof tmp, "/tmp/dss-rec-XXXXXX");
    if (!mkdtemp(tmp)) abort();
    if (!once++) atexit(remove_tmp);
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    snprintf(db, sizeof db, "%s/audit.db", tmp);
    if (mkdir(run_dir, 0700) != 0) abort();
    setenv("XDG_RUNTIME_DIR", run_dir, 1);
    setenv("HOME", tmp, 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("XDG_DATA_HOME");
    unsetenv("DSS_AUDIT_DB");
    unsetenv("DSS_AUDIT_ACTOR");
    unsetenv("DSS_AUDIT_CONFIG");
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    if (b) b[got] = '\0';
    return b;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* ---- programs ------------------------------------------------------------ */

typedef struct run {
    int status; /* exit status, -1 when it did not exit */
    char *out, *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Run bin with args (NULL-ended) and text on stdin, into r.  0 or -1. */
static int run_prog(const char *bin, const char *const *args, const char *text, run *r)
{
    static int k;
    char in[160], out[160], err[160];
    int me = k++;
    snprintf(in, sizeof in, "%s/in.%d.%d", tmp, (int)getpid(), me);
    snprintf(out, sizeof out, "%s/out.%d.%d", tmp, (int)getpid(), me);
    snprintf(err, sizeof err, "%s/err.%d.%d", tmp, (int)getpid(), me);
    if (write_text(in, text) != 0) return -1;
    const char *argv[32];
    int n = 0;
    argv[n++] = bin;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fi < 0 || fo < 0 || fe < 0) _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->out = read_text(out);
    r->err = read_text(err);
    unlink(in);
    unlink(out);
    unlink(err);
    return r->out && r->err ? 0 : -1;
}

/* One hook event: dss-audit-mcp-hook hook --db db --actor t [extra...]
** with the event text on stdin. */
static int hook(const char *event, run *r, ...)
{
    const char *args[16] = {"hook", "--db", db, "--actor", "t"};
    int n = 5;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *));) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return run_prog(getenv("DSS_HOOK_BIN"), args, event, r);
}

/* The PreToolUse event of tool-use id `id` (a static buffer). */
static const char *pre(const char *id)
{
    static char buf[512];
    snprintf(buf, sizeof buf, PRE, id);
    return buf;
}

/* A hook that must be recorded without a word: 0 when it was. */
static int hook_ok(const char *id)
{
    run r;
    int ok = hook(pre(id), &r, NULL) == 0 && r.status == 0 && !r.out[0] && !r.err[0];
    if (!ok) fprintf(stderr, "hook %s: exit %d, stderr %s\n", id, r.status, r.err ? r.err : "");
    run_free(&r);
    return ok ? 0 : -1;
}

/* Every entry (a new array, newest first), or NULL. */
static cJSON *entries(void)
{
    const char *args[] = {"query", "--db", db, "--json", "--limit", "100000", NULL};
    run r;
    if (run_prog(getenv("DSS_BIN"), args, "", &r) != 0 || r.status != 0) {
        run_free(&r);
        return NULL;
    }
    cJSON *all = cJSON_CreateArray();
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *e = cJSON_Parse(line);
        if (e) cJSON_AddItemToArray(all, e);
    }
    run_free(&r);
    return all;
}

static int entry_count(void)
{
    cJSON *all = entries();
    int n = all ? cJSON_GetArraySize(all) : -1;
    cJSON_Delete(all);
    return n;
}

/* How many entries have this operation_id. */
static int count_op(const cJSON *all, const char *op_id)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, all) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "operation_id");
        n += cJSON_IsString(v) && !strcmp(v->valuestring, op_id);
    }
    return n;
}

/* verify's exit status. */
static int verify(void)
{
    const char *args[] = {"verify", "--db", db, NULL};
    run r;
    int st = run_prog(getenv("DSS_BIN"), args, "", &r) == 0 ? r.status : -1;
    if (st != 0) fprintf(stderr, "verify: %s %s\n", r.out ? r.out : "", r.err ? r.err : "");
    run_free(&r);
    return st;
}

/* ---- recorders ----------------------------------------------------------- */

typedef struct rec {
    pid_t pid;
    char log[160];
} rec;

/* Start `dss-audit-mcp recorder --db db [extra]` (DSS_E2E_WRAPPER in
** front); wait until it listens.  0, or its exit status when it stopped
** instead (-1 when it could not be run). */
static int rec_start(rec *r, const char *extra)
{
    static int k;
    snprintf(r->log, sizeof r->log, "%s/recorder-%d.log", tmp, k++);
    const char *wrapper = getenv("DSS_E2E_WRAPPER");
    char *argv[24], wcopy[512];
    int n = 0;
    if (wrapper && *wrapper) {
        snprintf(wcopy, sizeof wcopy, "%s", wrapper);
        for (char *t = strtok(wcopy, " \t"); t && n < 16; t = strtok(NULL, " \t")) argv[n++] = t;
    }
    argv[n++] = getenv("DSS_BIN");
    argv[n++] = "recorder";
    argv[n++] = "--db";
    argv[n++] = extra && !strncmp(extra, "postgres", 8) ? (char *)extra : db;
    argv[n] = NULL;
    r->pid = fork();
    if (r->pid < 0) return -1;
    if (r->pid == 0) {
        int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0) _exit(126);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 3000; i++) { /* 30 s: valgrind starts slowly */
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            r->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        char *text = read_text(r->log);
        int up = text && strstr(text, "listening on");
        free(text);
        if (up) return 0;
        usleep(10000);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    r->pid = 0;
    return -1;
}

/* Stop it with sig and reap it: its exit status (-1 when killed). */
static int rec_stop(rec *r, int sig)
{
    int st;
    if (!r->pid) return -1;
    kill(r->pid, sig);
    while (waitpid(r->pid, &st, 0) < 0 && errno == EINTR) {}
    r->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The count before `word` in the recorder's stop line ("N events
** answered", "N declined", "N connections refused"), or -1. */
static long served(const rec *r, const char *word)
{
    char *text = read_text(r->log), *stop = text ? strstr(text, "stopped:") : NULL;
    long n = -1;
    char *at = stop ? strstr(stop, word) : NULL;
    if (at) {
        while (at > stop && at[-1] == ' ') at--;
        while (at > stop && at[-1] >= '0' && at[-1] <= '9') at--;
        n = strtol(at, NULL, 10);
    }
    free(text);
    return n;
}

/* The database's socket path. */
static const char *sock_path(void)
{
    static char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    char why[256];
    if (hsock_path(db, run_dir, path, sizeof path, why, sizeof why) != 0) {
        fprintf(stderr, "%s\n", why);
        return "";
    }
    return path;
}

/* Make the database (one direct event), so that its socket path exists. */
static int make_db(void)
{
    return hook_ok("first");
}

/* procs processes, each recording `each` events back to back (ids
** "<prefix><p>-<i>"), as parallel tool calls fire hooks; their pids in kids. */
static int start_writers(int procs, int each, const char *prefix, pid_t *kids)
{
    for (int p = 0; p < procs; p++) {
        if ((kids[p] = fork()) < 0) return -1;
        if (kids[p] == 0) {
            int bad = 0;
            char id[32];
            for (int i = 0; i < each; i++) {
                snprintf(id, sizeof id, "%s%d-%d", prefix, p, i);
                bad |= hook_ok(id) != 0;
            }
            _exit(bad);
        }
    }
    return 0;
}

/* How many of the writers failed (a hook that did not exit 0 silently). */
static int writers_failed(int procs, const pid_t *kids)
{
    int failed = 0;
    for (int p = 0; p < procs; p++) {
        int st;
        while (waitpid(kids[p], &st, 0) < 0 && errno == EINTR) {}
        failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    return failed;
}

/* Whether every writer's event is in the database exactly once, beside the
** first event, and nothing else. */
static int each_once(int procs, int each, const char *prefix)
{
    cJSON *all = entries();
    int ok = all && cJSON_GetArraySize(all) == procs * each + 1;
    char id[32];
    for (int p = 0; ok && p < procs; p++)
        for (int i = 0; ok && i < each; i++) {
            snprintf(id, sizeof id, "%s%d-%d", prefix, p, i);
            if (count_op(all, id) != 1) {
                fprintf(stderr, "%s is there %d times\n", id, count_op(all, id));
                ok = 0;
            }
        }
    cJSON_Delete(all);
    return ok;
}

/* ---- cases --------------------------------------------------------------- */

/* Events through a recorder, then written directly while none runs, then
** through a new recorder: one chain that verifies, in order. */
TEST(recorded_and_direct_events_form_one_verified_chain)
{
    setup();
    rec a, b;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    for (int i = 0; i < 5; i++) ASSERT(hook_ok("via-a") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 5);
    for (int i = 0; i < 5; i++) ASSERT(hook_ok("direct") == 0);
    ASSERT_EQ_INT(rec_start(&b, NULL), 0);
    for (int i = 0; i < 5; i++) ASSERT(hook_ok("via-b") == 0);
    ASSERT_EQ_INT(rec_stop(&b, SIGTERM), 0);
    ASSERT_EQ_INT(served(&b, "events answered"), 5);
    cJSON *all = entries();
    ASSERT(all);
    ASSERT_EQ_INT(cJSON_GetArraySize(all), 16);
    /* Newest first: via-b, direct, via-a, first. */
    const char *want[] = {"via-b", "direct", "via-a"};
    for (int i = 0; i < 15; i++) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(all, i),
                                                           "operation_id");
        ASSERT(cJSON_IsString(op));
        ASSERT_EQ_STR(op->valuestring, want[i / 5]);
    }
    cJSON_Delete(all);
    ASSERT_EQ_INT(verify(), 0);
}

/* SIGTERM: the recorder finishes, exits 0 and removes its socket; the
** folder beside the database holds nothing but SQLite's files. */
TEST(sigterm_stops_cleanly_and_removes_the_socket)
{
    setup();
    rec a;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(access(sock_path(), F_OK) == 0);
    struct stat st;
    ASSERT(lstat(sock_path(), &st) == 0);
    ASSERT(S_ISSOCK(st.st_mode));
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT(hook_ok("one") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT(access(sock_path(), F_OK) != 0);
    char *log = read_text(a.log);
    ASSERT_CONTAINS(log, "stopped: 1 events answered");
    free(log);
    ASSERT_EQ_INT(entry_count(), 2);
}

/* 32 processes firing hooks at once through one recorder: one chain. */
TEST(concurrent_hooks_through_the_recorder_one_chain)
{
    enum { PROCS = 32, EACH = 10 };
    setup();
    rec a;
    pid_t kids[PROCS];
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(start_writers(PROCS, EACH, "p", kids) == 0);
    ASSERT_EQ_INT(writers_failed(PROCS, kids), 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), PROCS * EACH);
    ASSERT(each_once(PROCS, EACH, "p"));
    ASSERT_EQ_INT(verify(), 0);
}

/* The recorder killed with -9 while hooks stream in: every hook still
** exits 0 without a word, each event is recorded exactly once (those the
** recorder had, and those written directly after), the chain verifies, and
** nothing but SQLite's files is left beside the database. */
TEST(recorder_killed_mid_stream_every_event_once)
{
    enum { PROCS = 8, EACH = 25 };
    setup();
    rec a;
    pid_t kids[PROCS];
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(start_writers(PROCS, EACH, "k", kids) == 0);
    /* Kill it once a few dozen events went through it. */
    for (int i = 0; i < 3000 && entry_count() < 40; i++) usleep(10000);
    ASSERT_EQ_INT(rec_stop(&a, SIGKILL), -1);
    ASSERT_EQ_INT(writers_failed(PROCS, kids), 0);
    ASSERT(each_once(PROCS, EACH, "k"));
    ASSERT_EQ_INT(verify(), 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -v -E '^(\\.|\\.\\.|audit\\.db(-wal|-shm)?|run|"
                              "recorder-[0-9]+\\.log)$' | grep -q .", tmp);
    ASSERT(system(cmd) != 0); /* no lock file, nothing else */
}

/*
** The recorder committed the event and went before answering: the hook
** writes directly with the id it chose, and the direct writer finds the
** entry and records nothing more.  The recorder here is this test: it
** takes the request, writes the entry with the request's id through the
** direct writer (as a recorder's commit would), and hangs up.
*/
TEST(answer_lost_after_the_commit_is_not_recorded_twice)
{
    setup();
    ASSERT(make_db() == 0);
    const char *path = sock_path();
    ASSERT(mkdir(strcat(strcpy((char[128]){0}, run_dir), "/dss-audit"), 0700) == 0);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    ASSERT(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(chmod(path, 0600) == 0 && listen(lfd, 4) == 0);
    pid_t h = fork();
    ASSERT(h >= 0);
    if (h == 0) _exit(hook_ok("lost") == 0 ? 0 : 1);
    int fd = accept(lfd, NULL, NULL);
    ASSERT(fd >= 0);
    char *body = NULL;
    size_t n = 0;
    ASSERT(hsock_recv(fd, HSOCK_MAX_BODY, &body, &n) == 0);
    hsock_reader r = {.p = body, .len = n};
    uint32_t magic;
    const char *id, *p;
    size_t id_n;
    ASSERT(hsock_get_u32(&r, &magic) == 0 && magic == HSOCK_MAGIC);
    ASSERT(hsock_get_bytes(&r, &id, &id_n) == 0 && id_n == 36);
    char idz[37];
    memcpy(idz, id, 36);
    idz[36] = '\0';
    (void)p;
    /* The commit of a recorder that then dies. */
    char direct[600];
    snprintf(direct, sizeof direct, "%s-direct", getenv("DSS_HOOK_BIN"));
    const char *args[] = {"hook", "--db", db, "--actor", "t", "--event-id", idz, NULL};
    run w;
    ASSERT(run_prog(direct, args, pre("lost"), &w) == 0);
    ASSERT_EQ_INT(w.status, 0);
    run_free(&w);
    close(fd);
    free(body);
    int st;
    waitpid(h, &st, 0);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(lfd);
    unlink(path);
    cJSON *all = entries();
    ASSERT(all);
    ASSERT_EQ_INT(count_op(all, "lost"), 1);
    const cJSON *e = cJSON_GetArrayItem(all, 0);
    ASSERT_EQ_STR(cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring, idz);
    cJSON_Delete(all);
    ASSERT_EQ_INT(verify(), 0);
}

/* A recorder that stops answering (SIGSTOP here) does not hang the agent:
** the hook waits 20 s for its answer, then writes the event directly with
** the id it chose.  When the recorder resumes, it takes the request, finds
** that id in the database and writes nothing: the event is there once. */
TEST(stopped_recorder_does_not_hang_the_hook_nor_record_twice)
{
    setup();
    rec a;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(kill(a.pid, SIGSTOP) == 0);
    ASSERT(hook_ok("while-stopped") == 0);
    ASSERT(kill(a.pid, SIGCONT) == 0);
    /* Served after the stopped hook's request, which came first. */
    ASSERT(hook_ok("after") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 2);
    cJSON *all = entries();
    ASSERT(all);
    ASSERT_EQ_INT(cJSON_GetArraySize(all), 3);
    ASSERT_EQ_INT(count_op(all, "while-stopped"), 1);
    ASSERT_EQ_INT(count_op(all, "after"), 1);
    cJSON_Delete(all);
    ASSERT_EQ_INT(verify(), 0);
}

/* A hook that connected and went quiet (stopped with its agent, say)
** holds up no other: requests are read side by side, so a hook beside it
** is answered while the quiet connection is still open; the recorder used
** to read one connection at a time and made the next hook wait out the
** quiet one's 10 s. */
TEST(quiet_connection_holds_up_no_other_hook)
{
    setup();
    rec a;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path());
    int quiet = socket(AF_UNIX, SOCK_STREAM, 0), half = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT(quiet >= 0 && connect(quiet, (struct sockaddr *)&addr, sizeof addr) == 0);
    /* And one that sent two bytes of its request's length. */
    ASSERT(half >= 0 && connect(half, (struct sockaddr *)&addr, sizeof addr) == 0);
    ASSERT_EQ_INT(write(half, "\x10\x00", 2), 2);
    ASSERT(hook_ok("beside-quiet-ones") == 0);
    /* Neither was closed by the recorder yet: nothing waited for them. */
    struct pollfd pf[2] = {{.fd = quiet, .events = POLLIN}, {.fd = half, .events = POLLIN}};
    ASSERT_EQ_INT(poll(pf, 2, 0), 0);
    close(quiet);
    close(half);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 1);
    cJSON *all = entries();
    ASSERT(all);
    ASSERT_EQ_INT(count_op(all, "beside-quiet-ones"), 1);
    cJSON_Delete(all);
}

/* The recorder's database deleted under it: the next hook finds no file,
** so no socket, and writes directly into a new file at the path; the one
** after it reaches the recorder, which declines it (another file) and,
** since it would decline every hook from then on, stops with status 1
** saying why, so that its service manager starts it again on the new file. */
TEST(recorder_stops_when_its_database_is_deleted)
{
    setup();
    rec a;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(hook_ok("held") == 0);
    test_unlink_db(db);
    ASSERT(hook_ok("after-delete") == 0);
    ASSERT(hook_ok("declined") == 0);
    int st = -1, exited = 0;
    for (int i = 0; i < 3000 && !exited; i++) { /* 30 s: valgrind is slow */
        exited = waitpid(a.pid, &st, WNOHANG) == a.pid;
        if (!exited) usleep(10000);
    }
    if (!exited) rec_stop(&a, SIGKILL);
    ASSERT(exited);
    a.pid = 0;
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *text = read_text(a.log);
    ASSERT(text);
    ASSERT_CONTAINS(text, "was deleted or replaced while the recorder held it open");
    ASSERT_CONTAINS(text, "a hook writes directly: it names another database");
    free(text);
    /* The new file holds the two events written after the deletion. */
    cJSON *all = entries();
    ASSERT(all);
    ASSERT_EQ_INT(cJSON_GetArraySize(all), 2);
    ASSERT_EQ_INT(count_op(all, "after-delete"), 1);
    ASSERT_EQ_INT(count_op(all, "declined"), 1);
    cJSON_Delete(all);
}

/* The same id given twice to the direct writer: one entry, and both runs
** answer as recorded. */
TEST(event_id_given_twice_is_recorded_once)
{
    setup();
    ASSERT(make_db() == 0);
    char direct[600];
    snprintf(direct, sizeof direct, "%s-direct", getenv("DSS_HOOK_BIN"));
    const char *id = "01936f7c-9a4e-7b3d-8c2a-1f0e9d8c7b6a";
    const char *args[] = {"hook", "--db", db, "--actor", "t", "--client", "cursor", "--event-id",
                          id, NULL};
    const char *ev = "{\"conversation_id\":\"c\",\"hook_event_name\":\"beforeShellExecution\","
                     "\"command\":\"make\",\"cwd\":\"/w\"}";
    for (int i = 0; i < 2; i++) {
        run r;
        ASSERT(run_prog(direct, args, ev, &r) == 0);
        ASSERT_EQ_INT(r.status, 0);
        ASSERT_EQ_STR(r.out, "{\"permission\":\"allow\"}\n");
        ASSERT_EQ_STR(r.err, "");
        run_free(&r);
    }
    ASSERT_EQ_INT(entry_count(), 2);
    const char *bad[] = {"hook", "--db", db, "--event-id", "not-a-uuid", NULL};
    run r;
    ASSERT(run_prog(direct, bad, ev, &r) == 0);
    ASSERT_EQ_INT(r.status, 0); /* a hook's usage mistake never stops the agent */
    ASSERT_CONTAINS(r.err, "--event-id must be a lower-case UUID");
    run_free(&r);
    ASSERT_EQ_INT(entry_count(), 2);
}

/* A socket file left by a recorder killed with -9 (nobody listens): hooks
** write directly, and the next recorder replaces the file and serves. */
TEST(stale_socket_means_direct_and_is_replaced)
{
    setup();
    rec a, b;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGKILL), -1);
    ASSERT(access(sock_path(), F_OK) == 0); /* left behind */
    ASSERT(hook_ok("stale") == 0);
    ASSERT_EQ_INT(entry_count(), 2);
    ASSERT_EQ_INT(rec_start(&b, NULL), 0);
    ASSERT(hook_ok("fresh") == 0);
    ASSERT_EQ_INT(rec_stop(&b, SIGTERM), 0);
    ASSERT_EQ_INT(served(&b, "events answered"), 1);
    ASSERT_EQ_INT(entry_count(), 3);
    ASSERT_EQ_INT(verify(), 0);
}

/* A socket bound at .<pid>.tmp in the socket's folder, as a recorder
** killed between bind() and link() leaves it; path gets the name.  With
** live 0 the binding process has exited (a child, reaped); else it is this
** test, still running.  0 or -1. */
static int private_name(int live, char *path, size_t len)
{
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    snprintf(dir, sizeof dir, "%s", sock_path());
    char *slash = strrchr(dir, '/');
    if (!slash) return -1;
    *slash = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
    pid_t pid = live ? getpid() : fork();
    if (pid < 0) return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (snprintf(a.sun_path, sizeof a.sun_path, "%s/.%ld.tmp", dir,
                 (long)(pid == 0 ? getpid() : pid)) >= (int)sizeof a.sun_path ||
        snprintf(path, len, "%s", a.sun_path) >= (int)len) {
        if (pid == 0) _exit(1);
        return -1;
    }
    if (pid == 0 || live) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        int rc = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : -1;
        if (!live) _exit(rc ? 1 : 0);
        if (fd >= 0) close(fd);
        return rc;
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return 0;
}

/* A recorder killed while starting leaves its private name; the next
** recorder to start removes the names whose process is gone, and only
** those. */
TEST(private_names_of_dead_recorders_are_removed)
{
    setup();
    rec a;
    char dead[128], alive[128];
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(private_name(0, dead, sizeof dead), 0);
    ASSERT_EQ_INT(private_name(1, alive, sizeof alive), 0);
    ASSERT(access(dead, F_OK) == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(access(dead, F_OK) != 0);
    ASSERT(access(alive, F_OK) == 0);
    ASSERT(hook_ok("after") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 1);
    unlink(alive);
}

/* A socket others may connect to is not one of ours: the hook does not
** use it (and writes directly). */
TEST(socket_open_to_others_is_not_used)
{
    setup();
    rec a;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT(chmod(sock_path(), 0666) == 0);
    ASSERT(hook_ok("open") == 0);
    ASSERT(chmod(sock_path(), 0600) == 0);
    ASSERT(hook_ok("closed") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 1);
    ASSERT_EQ_INT(entry_count(), 3);
}

/* Another user: a socket file owned by someone else is not used, and the
** recorder refuses a connection from another uid (SO_PEERCRED).  Only root
** can play another user; unprivileged, the case checks the refusal of a
** runtime folder others may enter instead, as every run does. */
TEST(other_users_are_refused)
{
    setup();
    rec a, b;
    ASSERT(make_db() == 0);
    ASSERT(chmod(run_dir, 0755) == 0);
    ASSERT(mkdir(strcat(strcpy((char[128]){0}, run_dir), "/dss-audit"), 0755) == 0);
    ASSERT_EQ_INT(rec_start(&b, NULL), 2);
    char *log = read_text(b.log);
    ASSERT_CONTAINS(log, "mode 0700");
    free(log);
    ASSERT(chmod(strcat(strcpy((char[128]){0}, run_dir), "/dss-audit"), 0700) == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    if (geteuid() == 0) {
        /* A connection from uid 65534, let through the folder and the
        ** socket's mode for the test, is refused by the recorder itself. */
        char sub[128];
        snprintf(sub, sizeof sub, "%s/dss-audit", run_dir);
        ASSERT(chmod(tmp, 0711) == 0 && chmod(run_dir, 0711) == 0 && chmod(sub, 0711) == 0);
        ASSERT(chmod(sock_path(), 0666) == 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path());
        pid_t k = fork();
        ASSERT(k >= 0);
        if (k == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
            int fd = socket(AF_UNIX, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) _exit(4);
            hsock_buf msg = {0};
            hsock_put_u32(&msg, HSOCK_MAGIC);
            hsock_send(fd, &msg);
            char c;
            /* Hung up on without an answer. */
            _exit(read(fd, &c, 1) <= 0 ? 0 : 5); /* EOF, or ECONNRESET */
        }
        int st;
        waitpid(k, &st, 0);
        ASSERT(WIFEXITED(st));
        ASSERT_EQ_INT(WEXITSTATUS(st), 0);
        ASSERT(chmod(tmp, 0700) == 0 && chmod(run_dir, 0700) == 0 && chmod(sub, 0700) == 0);
        ASSERT(chmod(sock_path(), 0600) == 0);
        /* A socket file of another owner is not used. */
        ASSERT(chown(sock_path(), 65534, 65534) == 0);
        ASSERT(hook_ok("foreign") == 0);
        ASSERT(chown(sock_path(), 0, 0) == 0);
    }
    ASSERT(hook_ok("mine") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 1);
    ASSERT_EQ_INT(served(&a, "connections refused"), geteuid() == 0 ? 1 : 0);
    ASSERT_EQ_INT(entry_count(), geteuid() == 0 ? 3 : 2);
}

/* A second recorder for a database that has one is refused. */
TEST(second_recorder_is_refused)
{
    setup();
    rec a, b;
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    ASSERT_EQ_INT(rec_start(&b, NULL), 2);
    char *log = read_text(b.log);
    ASSERT_CONTAINS(log, "another recorder is serving this database");
    free(log);
    ASSERT(hook_ok("still") == 0);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 1);
}

/* A hook whose settings differ from the recorder's (other redaction rules
** here) is declined and writes directly, with the same answer; so is one
** whose command line is wrong, and the direct writer names the mistake. */
TEST(other_settings_are_declined_and_written_directly)
{
    setup();
    rec a;
    char cfg[200];
    snprintf(cfg, sizeof cfg, "%s/rules.json", tmp);
    ASSERT(write_text(cfg, "{\"redact_keys\": [\"make\"]}") == 0);
    ASSERT(chmod(cfg, 0600) == 0);
    ASSERT(make_db() == 0);
    ASSERT_EQ_INT(rec_start(&a, NULL), 0);
    run r;
    ASSERT(hook(pre("ruled"), &r, "--config", cfg, NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_EQ_STR(r.err, "");
    run_free(&r);
    ASSERT(hook(pre("typo"), &r, "--client", "emacs", NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_CONTAINS(r.err, "--client must be");
    run_free(&r);
    ASSERT_EQ_INT(rec_stop(&a, SIGTERM), 0);
    ASSERT_EQ_INT(served(&a, "events answered"), 0);
    ASSERT_EQ_INT(served(&a, "declined"), 2);
    char *log = read_text(a.log);
    ASSERT_CONTAINS(log, "other redaction rules");
    free(log);
    ASSERT_EQ_INT(entry_count(), 2);
}

/* Without XDG_RUNTIME_DIR there is no recorder to find: hooks write
** directly, and `recorder` says what it needs. */
TEST(no_runtime_folder_means_direct)
{
    setup();
    rec a;
    unsetenv("XDG_RUNTIME_DIR");
    ASSERT(make_db() == 0);
    ASSERT(hook_ok("alone") == 0);
    ASSERT_EQ_INT(entry_count(), 2);
    ASSERT_EQ_INT(rec_start(&a, NULL), 2);
    char *log = read_text(a.log);
    ASSERT_CONTAINS(log, "XDG_RUNTIME_DIR");
    free(log);
}

/* PostgreSQL databases keep going to `dss-audit-mcp hook`: no recorder. */
TEST(recorder_refuses_postgresql)
{
    setup();
    rec a;
    ASSERT_EQ_INT(rec_start(&a, "postgres://localhost/audit"), 2);
    char *log = read_text(a.log);
    ASSERT_CONTAINS(log, "the recorder serves SQLite databases");
    free(log);
}

TEST_MAIN(TEST_ENTRY(recorded_and_direct_events_form_one_verified_chain)
          TEST_ENTRY(quiet_connection_holds_up_no_other_hook)
          TEST_ENTRY(recorder_stops_when_its_database_is_deleted)
          TEST_ENTRY(sigterm_stops_cleanly_and_removes_the_socket)
          TEST_ENTRY(concurrent_hooks_through_the_recorder_one_chain)
          TEST_ENTRY(recorder_killed_mid_stream_every_event_once)
          TEST_ENTRY(answer_lost_after_the_commit_is_not_recorded_twice)
          TEST_ENTRY(stopped_recorder_does_not_hang_the_hook_nor_record_twice)
          TEST_ENTRY(event_id_given_twice_is_recorded_once)
          TEST_ENTRY(stale_socket_means_direct_and_is_replaced)
          TEST_ENTRY(private_names_of_dead_recorders_are_removed)
          TEST_ENTRY(socket_open_to_others_is_not_used)
          TEST_ENTRY(other_users_are_refused)
          TEST_ENTRY(second_recorder_is_refused)
          TEST_ENTRY(other_settings_are_declined_and_written_directly)
          TEST_ENTRY(no_runtime_folder_means_direct)
          TEST_ENTRY(recorder_refuses_postgresql))
