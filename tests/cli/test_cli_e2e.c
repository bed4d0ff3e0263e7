/*
** test_cli_e2e.c: the commands for people (tail, query, stats, export),
** their help and the manual page, run as the real binary ($DSS_BIN).
**
** Each case fills a fresh database in a temp folder through the store API
** (so entries carry real ids and a real hash chain), then runs the binary
** with stdout and stderr in files and checks what it printed and its exit
** status.  This program is linked with -Wl,--wrap=ts_now_us: the store's
** clock goes through __wrap_ts_now_us() below, which lets a case give each
** entry the created_at it needs (date filters, end-of-day bounds).  Cases
** that need a terminal run the binary on a pseudo-terminal (forkpty).
**
** DSS_E2E_WRAPPER (e.g. "valgrind --error-exitcode=99 -q"), when set, is
** put in front of the binary as in tests/e2e; the memory bound of the big
** export is then not asserted.  $DSS_MANPAGE names the built manual page.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../e2e/jpath.h"
#include "store/store.h"
#include "test.h"

/* ---- the store's clock ------------------------------------------------- */

int64_t __real_ts_now_us(void);
int64_t __wrap_ts_now_us(void);

static int64_t fake_now_us; /* 0: the real clock */

int64_t __wrap_ts_now_us(void)
{
    return fake_now_us ? fake_now_us : __real_ts_now_us();
}

/* Microseconds since the epoch of an RFC 3339 UTC time. */
static int64_t at(const char *rfc3339)
{
    int64_t us = 0;
    char why[128];
    if (ts_parse(rfc3339, 0, &us, why, sizeof why) != 0) {
        fprintf(stderr, "bad time in a test: %s\n", why);
        abort();
    }
    return us;
}

/* ---- fixture: a temp folder, a database, and what runs leave behind --- */

typedef struct fx {
    char dir[64];
    char db[128];
    store *st;
    char **owned; /* strings freed with the fixture */
    size_t nowned, cowned;
    int runs;
} fx;

static fx *live_fx;

static void rm_dir(const char *dir)
{
    char cmd[160];
    if (!dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void fx_free(fx *f)
{
    if (!f) return;
    store_close(f->st);
    for (size_t i = 0; i < f->nowned; i++) free(f->owned[i]);
    free(f->owned);
    rm_dir(f->dir);
    if (live_fx == f) live_fx = NULL;
    free(f);
}

static void cleanup_live(void)
{
    fx_free(live_fx);
}

static char *own(fx *f, char *s)
{
    if (!s) return NULL;
    if (f->nowned == f->cowned) {
        size_t c = f->cowned ? 2 * f->cowned : 16;
        char **n = realloc(f->owned, c * sizeof *n);
        if (!n) {
            free(s);
            return NULL;
        }
        f->owned = n;
        f->cowned = c;
    }
    return f->owned[f->nowned++] = s;
}

static char *fmt(fx *f, const char *format, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(fx *f, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(NULL, 0, format, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, format);
        vsnprintf(s, (size_t)n + 1, format, ap);
        va_end(ap);
    }
    return own(f, s);
}

/* A fresh folder with an empty audit database open for writing. */
static fx *fx_new(void)
{
    static int registered;
    char err[STORE_ERRLEN];
    fx *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    fx_free(live_fx);
    live_fx = f;
    if (!registered) atexit(cleanup_live);
    registered = 1;
    strcpy(f->dir, "/tmp/dss-test-cli-e2e-XXXXXX");
    if (!mkdtemp(f->dir)) {
        f->dir[0] = '\0';
        return NULL;
    }
    snprintf(f->db, sizeof f->db, "%s/audit.db", f->dir);
    store_options o = {.path = f->db};
    if (store_open(&o, &f->st, err) != STORE_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return NULL;
    }
    return f;
}

typedef struct rec {
    const char *when; /* RFC 3339 UTC, or NULL for the real clock */
    const char *type, *op, *op_id, *user, *project, *args, *result, *error, *client;
} rec;

/* Append entries in one transaction. */
static int fx_add(fx *f, const rec *r, size_t n)
{
    char err[STORE_ERRLEN];
    store_receipt out;
    if (store_begin(f->st, err) != STORE_OK) goto fail;
    for (size_t i = 0; i < n; i++) {
        store_record sr = {
            .event_type = r[i].type, .operation_name = r[i].op,
            .operation_id = r[i].op_id, .user_id = r[i].user,
            .project_id = r[i].project, .args = r[i].args ? r[i].args : "{}",
            .result = r[i].result, .error = r[i].error, .client = r[i].client,
        };
        fake_now_us = r[i].when ? at(r[i].when) : 0;
        int rc = store_append(f->st, &sr, &out, err);
        fake_now_us = 0;
        if (rc != STORE_OK) {
            store_rollback(f->st);
            goto fail;
        }
    }
    if (store_commit(f->st, err) == STORE_OK) return 0;
fail:
    fprintf(stderr, "fx_add: %s\n", err);
    return -1;
}

/* The entries most cases use: three days, every filter has something to
** find and something to miss, and the text fields hold commas, quotes, CR
** and LF. */
static const rec standard[] = {
    {"2026-01-01T10:00:00Z", "project_create", "create_project", "1", "alice", "p1",
     "{\"name\":\"Atlas, Inc.\",\"note\":\"say \\\"hi\\\"\"}", "{\"ok\":true}", NULL,
     "{\"name\":\"claude-code\",\"version\":\"2.1.0\"}"},
    {"2026-01-01T10:00:01Z", "tool_call", "log_operation", "2", "alice", "p1",
     "{\"event_type\":\"project_create\"}", "{\"audit_id\":\"x\"}", NULL,
     "{\"name\":\"claude-code\",\"version\":\"2.1.0\"}"},
    {"2026-01-02T00:00:00Z", "credential_access", "read_secret", NULL, "bob", "p2",
     "{\"lines\":\"one\\ntwo\\r\\nthree\"}", NULL, NULL, NULL},
    {"2026-01-02T12:00:00Z", "project_update", "rename_project", "4", "alice", "p1",
     "{\"name\":\"Apollo\"}", NULL, NULL, NULL},
    {"2026-01-02T23:59:59.999999Z", "error", "sync_50%_done", NULL, "bob", "p2", NULL,
     NULL, "Timeout, retry \"later\"\r\nsecond line", NULL},
    {"2026-01-03T00:00:00Z", "security_event", "probe", NULL, "carol", NULL, NULL, NULL,
     NULL, NULL},
    {"2026-01-03T09:00:00Z", "credential_delete", "delete_key", "7", "alice", "p2", NULL,
     NULL, NULL, NULL},
    {"2026-01-03T09:00:01Z", "tool_call", "get_audit_trail", "8", "carol", NULL,
     "{\"start_date\":\"2026-01-01\"}", "{\"count\":3}", NULL, NULL},
};
enum { N_STANDARD = sizeof standard / sizeof *standard };

static fx *fx_standard(void)
{
    fx *f = fx_new();
    if (f && fx_add(f, standard, N_STANDARD) != 0) return NULL;
    return f;
}

/* ---- running the binary ------------------------------------------------ */

typedef struct result {
    int status;     /* exit code; -1 signal, -2 timeout */
    const char *out, *err;
    size_t out_len;
    long maxrss_kb; /* the child's peak resident set (VmHWM, KiB) */
} result;

static const char *bin(void)
{
    const char *b = getenv("DSS_BIN");
    return b && *b ? b : "./dss-audit-mcp";
}

static int wrapped(void)
{
    const char *w = getenv("DSS_E2E_WRAPPER");
    return w && strspn(w, " \t") != strlen(w);
}

/* argv for the binary: the wrapper's words, the binary, then args. */
static char **build_argv(fx *f, const char *const *args)
{
    static char *argv[96];
    int n = 0;
    const char *w = getenv("DSS_E2E_WRAPPER");
    if (wrapped()) {
        char *copy = fmt(f, "%s", w);
        for (char *tok = strtok(copy, " \t"); tok && n < 32; tok = strtok(NULL, " \t"))
            argv[n++] = tok;
    }
    argv[n++] = (char *)bin();
    for (; args && *args && n < 95; args++) argv[n++] = (char *)*args;
    argv[n] = NULL;
    return argv;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!fp) return NULL;
    for (;;) {
        if (cap - n < 65536) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 131072);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    fclose(fp);
    if (buf) buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static void child_env(const char *const *env)
{
    for (const char *const *e = env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) unsetenv(*e);
        else {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
            setenv(name, eq + 1, 1);
        }
    }
}

/* Start the binary with stdout into out_path, stderr into err_path. */
static pid_t spawn(fx *f, const char *const *args, const char *const *env,
                   const char *out_path, const char *err_path)
{
    char **argv = build_argv(f, args);
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    unsetenv("DSS_AUDIT_DB");
    unsetenv("DSS_AUDIT_KEY");
    unsetenv("DSS_AUDIT_CONFIG");
    setenv("XDG_CONFIG_HOME", "/nonexistent-dss-test", 1);
    child_env(env);
    execvp(argv[0], argv);
    _exit(127);
}

/* The child's VmHWM (peak resident set of its own address space, in KiB)
** from /proc; 0 before it has exec'd (while it is still a copy of this
** process, whose name it then still has) and once it has exited.
** ru_maxrss from wait4() would not do: it also counts that copy of this
** large test process. */
static long vm_hwm_kb(pid_t pid)
{
    static char self[64];
    char path[64], line[256], name[64] = "";
    long kb = 0;
    if (!self[0]) {
        FILE *me = fopen("/proc/self/status", "r");
        while (me && fgets(line, sizeof line, me))
            if (sscanf(line, "Name: %63s", self) == 1) break;
        if (me) fclose(me);
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "Name: %63s", name) == 1 && strcmp(name, self) == 0) break;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    }
    fclose(fp);
    return strcmp(name, self) == 0 ? 0 : kb;
}

/* Wait for pid up to timeout_ms, killing it after; fills status, and the
** peak RSS as last seen (polled every 2 ms while it runs). */
static void reap(pid_t pid, int timeout_ms, result *r)
{
    struct rusage ru;
    int st = 0, waited = 0;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        long hwm = vm_hwm_kb(pid);
        if (hwm > r->maxrss_kb) r->maxrss_kb = hwm;
        pid_t got = wait4(pid, &st, WNOHANG, &ru);
        if (got == pid) break;
        if (got < 0 && errno != EINTR) {
            r->status = -1;
            return;
        }
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            wait4(pid, &st, 0, &ru);
            r->status = -2;
            return;
        }
        struct timespec nap = {0, 2 * 1000000L};
        nanosleep(&nap, NULL);
        waited += 2;
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_timeout_ms(void)
{
    return wrapped() ? 600000 : 120000;
}

/* Run the binary to completion; stdout goes to out_path when given (and is
** then not read back), else into a file of the fixture. */
static result run_env(fx *f, const char *const *args, const char *const *env,
                      const char *out_path)
{
    result r = {0};
    int n = f->runs++;
    const char *o = out_path ? out_path : fmt(f, "%s/run%d.out", f->dir, n);
    const char *e = fmt(f, "%s/run%d.err", f->dir, n);
    pid_t pid = spawn(f, args, env, o, e);
    if (pid < 0) {
        r.status = -1;
        return r;
    }
    reap(pid, run_timeout_ms(), &r);
    r.out = out_path ? "" : own(f, read_all(o, &r.out_len));
    r.err = own(f, read_all(e, NULL));
    if (!r.out) r.out = "";
    if (!r.err) r.err = "";
    return r;
}

static result run(fx *f, const char *const *args)
{
    return run_env(f, args, NULL, NULL);
}

/* The argument list "cmd --db DB" followed by more, NULL-terminated. */
#define ARGS(f, cmd, ...) ((const char *const[]){cmd, "--db", (f)->db, __VA_ARGS__, NULL})
#define ARGS0(f, cmd) ((const char *const[]){cmd, "--db", (f)->db, NULL})

#define RUN_OK(r, f, args)                                                   \
    result r = run(f, args);                                                 \
    if (r.status != 0)                                                       \
        TEST_FAIL_("exit status %d, expected 0; stderr: %s", r.status, r.err)

/* ---- reading what it printed ------------------------------------------- */

/* The seq of each JSON line, as "3,2,1"; "(bad line)" when a line is not
** one JSON object with a seq. */
static const char *seqs_of(fx *f, const char *out)
{
    char *list = fmt(f, "%s", "");
    const char *p = out;
    while (*p) {
        size_t n = strcspn(p, "\n");
        cJSON *o = cJSON_ParseWithLength(p, n);
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
        if (!cJSON_IsObject(o) || !cJSON_IsNumber(seq) || p[n] != '\n') {
            cJSON_Delete(o);
            return "(bad line)";
        }
        list = fmt(f, "%s%s%lld", list, *list ? "," : "", (long long)seq->valuedouble);
        cJSON_Delete(o);
        p += n + 1;
    }
    return list;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The entry with this seq as the store returns it, printed. */
static char *entry_text(fx *f, int64_t seq)
{
    char err[STORE_ERRLEN];
    cJSON *arr = NULL;
    store_query q = {.limit = 1, .after_seq = seq + 1};
    if (store_find(f->st, &q, &arr, NULL, err) != STORE_OK) return NULL;
    char *text = cJSON_GetArraySize(arr) == 1
                     ? cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 0)) : NULL;
    cJSON_Delete(arr);
    return own(f, text);
}

/* One CSV record per RFC 4180 from *p: fields into out (owned by f), their
** count into *n, quoted[] set for enclosed fields.  Returns 0 and advances
** *p past the record's CRLF, or -1 when the text breaks the RFC. */
static int csv_record(fx *f, const char **p, char **out, int *quoted, int max, int *n)
{
    const char *s = *p;
    *n = 0;
    for (;;) {
        char *field = malloc(strlen(s) + 1);
        size_t w = 0;
        int q = 0;
        if (!field || *n == max) {
            free(field);
            return -1;
        }
        if (*s == '"') {
            q = 1;
            s++;
            for (;;) {
                if (!*s) { free(field); return -1; }
                if (*s == '"' && s[1] == '"') { field[w++] = '"'; s += 2; continue; }
                if (*s == '"') { s++; break; }
                field[w++] = *s++;
            }
        } else {
            while (*s && *s != ',' && *s != '\r' && *s != '\n') {
                if (*s == '"') { free(field); return -1; }
                field[w++] = *s++;
            }
        }
        field[w] = '\0';
        quoted[*n] = q;
        out[(*n)++] = own(f, field);
        if (*s == ',') { s++; continue; }
        if (s[0] == '\r' && s[1] == '\n') { *p = s + 2; return 0; }
        return -1; /* a bare LF or CR, or text after a closing quote */
    }
}

/* jget, jstr and jnum come from tests/e2e/jpath.h. */

/* ==== tail ============================================================== */

TEST(tail_prints_the_newest_10_oldest_first)
{
    fx *f = fx_new();
    rec r[15];
    for (int i = 0; i < 15; i++)
        r[i] = (rec){NULL, "tool_call", "log_operation", NULL, "alice", NULL, NULL, NULL, NULL, NULL};
    ASSERT(f && fx_add(f, r, 15) == 0);
    RUN_OK(res, f, ARGS0(f, "tail"));
    ASSERT_EQ_STR(seqs_of(f, res.out), "6,7,8,9,10,11,12,13,14,15");
    ASSERT_EQ_STR(res.err, "");
    fx_free(f);
}

TEST(tail_n_prints_that_many)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(a, f, ARGS(f, "tail", "-n", "3"));
    ASSERT_EQ_STR(seqs_of(f, a.out), "6,7,8");
    RUN_OK(b, f, ARGS(f, "tail", "--lines", "1"));
    ASSERT_EQ_STR(seqs_of(f, b.out), "8");
    RUN_OK(c, f, ARGS(f, "tail", "-n", "100"));
    ASSERT_EQ_STR(seqs_of(f, c.out), "1,2,3,4,5,6,7,8");
    RUN_OK(d, f, ARGS(f, "tail", "-n", "0"));
    ASSERT_EQ_STR(d.out, "");
    fx_free(f);
}

TEST(tail_of_an_empty_log_prints_nothing)
{
    fx *f = fx_new();
    ASSERT(f);
    RUN_OK(r, f, ARGS0(f, "tail"));
    ASSERT_EQ_STR(r.out, "");
    fx_free(f);
}

/* What the file out holds once it has n lines (or after 20 s), owned by
** f; NULL when it could not be read. */
static char *lines_of(fx *f, const char *out, size_t n)
{
    char *text = NULL;
    for (int waited = 0; waited < 20000; waited += 20) {
        free(text);
        text = read_all(out, NULL);
        if (text && count_lines(text) >= n) break;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return own(f, text);
}

/* Start tail -f, wait until it printed `want` lines, append, wait for the
** new line, then end it with sig; it must exit 0. */
static void follow_case(int *test_failed_, int sig)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *out = fmt(f, "%s/follow.out", f->dir), *err = fmt(f, "%s/follow.err", f->dir);
    pid_t pid = spawn(f, ARGS(f, "tail", "-n", "2", "-f"), NULL, out, err);
    ASSERT(pid > 0);
    /* The first two entries arrive at once... */
    char *text = lines_of(f, out, 2);
    ASSERT(text && count_lines(text) == 2);
    /* ...and a new one after it is committed, by another connection. */
    rec more[] = {{NULL, "token_sync", "sync_tokens", NULL, "dave", NULL, NULL, NULL, NULL, NULL},
                  {NULL, "component_sync", "sync_components", NULL, "dave", NULL, NULL, NULL,
                   NULL, NULL}};
    ASSERT(fx_add(f, more, 2) == 0);
    text = lines_of(f, out, 4);
    ASSERT_EQ_STR(seqs_of(f, text ? text : ""), "7,8,9,10");
    kill(pid, sig);
    result r = {0};
    reap(pid, 20000, &r);
    if (r.status != 0)
        TEST_FAIL_("tail -f ended with %d after signal %d; stderr: %s", r.status, sig,
                   own(f, read_all(err, NULL)));
    fx_free(f);
}

TEST(tail_follow_prints_new_entries_and_exits_0_on_sigint)
{
    follow_case(test_failed_, SIGINT);
}

TEST(tail_follow_exits_0_on_sigterm)
{
    follow_case(test_failed_, SIGTERM);
}

/* tail -f of a database file that is then deleted (or replaced by a
** restore) would follow a file nothing writes to any more, silently: it
** stops, exit 1, saying so. */
TEST(tail_follow_stops_when_the_database_is_deleted)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *out = fmt(f, "%s/follow.out", f->dir), *err = fmt(f, "%s/follow.err", f->dir);
    pid_t pid = spawn(f, ARGS(f, "tail", "-n", "1", "-f"), NULL, out, err);
    ASSERT(pid > 0);
    char *text = lines_of(f, out, 1);
    ASSERT(text && count_lines(text) == 1);
    test_unlink_db(f->db);
    result r = {0};
    reap(pid, 20000, &r);
    ASSERT_EQ_INT(r.status, 1);
    ASSERT_CONTAINS(own(f, read_all(err, NULL)), "was deleted or replaced: stopped following");
    fx_free(f);
}

/* ==== query ============================================================= */

TEST(query_prints_newest_first)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS0(f, "query"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "8,7,6,5,4,3,2,1");
    fx_free(f);
}

TEST(query_lines_are_the_tools_entries)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--limit", "1"));
    ASSERT_EQ_INT(count_lines(r.out), 1);
    char *want = fmt(f, "%s\n", entry_text(f, 8));
    ASSERT_EQ_STR(r.out, want);
    fx_free(f);
}

TEST(query_user)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--user", "alice"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "7,4,2,1");
    fx_free(f);
}

TEST(query_project)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--project", "p2"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "7,5,3");
    fx_free(f);
}

TEST(query_event_type)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--event-type", "tool_call"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "8,2");
    fx_free(f);
}

TEST(query_operation_name)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--operation-name", "rename_project"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "4");
    RUN_OK(s, f, ARGS(f, "query", "--operation-name", "rename"));
    ASSERT_EQ_STR(s.out, ""); /* exact, not a substring */
    fx_free(f);
}

TEST(query_search_is_literal_and_ignores_case)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(a, f, ARGS(f, "query", "--search", "TIMEOUT"));
    ASSERT_EQ_STR(seqs_of(f, a.out), "5");
    RUN_OK(b, f, ARGS(f, "query", "--search", "50%"));
    ASSERT_EQ_STR(seqs_of(f, b.out), "5");
    RUN_OK(c, f, ARGS(f, "query", "--search", "_"));
    ASSERT_EQ_STR(seqs_of(f, c.out), "8,7,5,4,3,2,1");
    RUN_OK(d, f, ARGS(f, "query", "--search", "%d"));
    ASSERT_EQ_STR(d.out, "");
    fx_free(f);
}

TEST(query_since)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--since", "2026-01-02"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "8,7,6,5,4,3");
    fx_free(f);
}

TEST(query_until_includes_the_whole_day)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--until", "2026-01-02"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "5,4,3,2,1"); /* 5 is 23:59:59.999999 */
    RUN_OK(s, f, ARGS(f, "query", "--since", "2026-01-02", "--until", "2026-01-02"));
    ASSERT_EQ_STR(seqs_of(f, s.out), "5,4,3");
    fx_free(f);
}

TEST(query_dates_with_offsets_are_instants)
{
    fx *f = fx_standard();
    ASSERT(f);
    /* 01:00+01:00 is midnight UTC, when entry 3 was written. */
    RUN_OK(r, f, ARGS(f, "query", "--since", "2026-01-02T01:00:00+01:00", "--until",
                      "2026-01-02T12:00:00Z"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "4,3");
    fx_free(f);
}

TEST(query_limit)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--limit", "3"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "8,7,6");
    fx_free(f);
}

TEST(query_filters_combine)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "query", "--user", "alice", "--project", "p2"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "7");
    RUN_OK(s, f, ARGS(f, "query", "--user", "bob", "--since", "2026-01-02T01:00:00Z",
                      "--event-type", "error"));
    ASSERT_EQ_STR(seqs_of(f, s.out), "5");
    fx_free(f);
}

/* More than one page (500) of results, by seq and by time. */
TEST(query_pages_through_long_results)
{
    enum { N = 1300 };
    fx *f = fx_new();
    ASSERT(f);
    static rec r[N];
    static char when[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(when[i], sizeof when[i], "2026-02-01T00:%02d:%02dZ", i / 60 % 60, i % 60);
        r[i] = (rec){when[i], "tool_call", "op", NULL, "alice", NULL, NULL, NULL, NULL, NULL};
    }
    ASSERT(fx_add(f, r, N) == 0);
    const char *const *variants[] = {
        ARGS(f, "query", "--limit", "1200"),
        ARGS(f, "query", "--limit", "1200", "--since", "2026-02-01"),
    };
    for (int v = 0; v < 2; v++) {
        RUN_OK(res, f, variants[v]);
        const char *list = seqs_of(f, res.out);
        ASSERT_EQ_INT(count_lines(res.out), 1200);
        /* strictly descending from 1300 to 101 */
        long long want = N;
        for (const char *p = list; *p; want--) {
            ASSERT_EQ_INT(strtoll(p, NULL, 10), want);
            p += strcspn(p, ",");
            if (*p) p++;
        }
        ASSERT_EQ_INT(want, 100);
    }
    fx_free(f);
}

/* ==== stats ============================================================= */

TEST(stats_reports_totals)
{
    char err[STORE_ERRLEN], head[CHAIN_HEX_LEN];
    int64_t head_seq;
    fx *f = fx_standard();
    ASSERT(f);
    ASSERT(store_head(f->st, &head_seq, head, err) == STORE_OK);
    RUN_OK(r, f, ARGS0(f, "stats"));
    ASSERT_EQ_INT(count_lines(r.out), 1);
    cJSON *o = cJSON_Parse(r.out);
    ASSERT(o);
    ASSERT_EQ_STR(jstr(o, "database"), f->db);
    ASSERT_EQ_STR(jstr(o, "log_id"), store_log_id(f->st));
    ASSERT_EQ_INT(jnum(o, "entries"), 8);
    ASSERT_EQ_INT(jnum(o, "first_seq"), 1);
    ASSERT_EQ_INT(jnum(o, "last_seq"), 8);
    ASSERT_EQ_STR(jstr(o, "first_created_at"), "2026-01-01T10:00:00.000000Z");
    ASSERT_EQ_STR(jstr(o, "last_created_at"), "2026-01-03T09:00:01.000000Z");
    ASSERT_EQ_INT(jnum(o, "errors"), 1);
    ASSERT_EQ_INT(jnum(o, "head.seq"), 8);
    ASSERT_EQ_STR(jstr(jget(o, "head"), "hash"), head);
    ASSERT_EQ_INT(jnum(o, "checkpoints"), 0);
    ASSERT(cJSON_IsNull(jget(o, "last_checkpoint")));
    ASSERT(jnum(o, "db_bytes") > 0);
    ASSERT_EQ_INT(jnum(o, "by_event_type.tool_call"), 2);
    ASSERT_EQ_INT(jnum(o, "by_event_type.security_event"), 1);
    const cJSON *top = jget(o, "top_users");
    ASSERT_EQ_INT(cJSON_GetArraySize(top), 3);
    ASSERT_EQ_STR(jstr(cJSON_GetArrayItem(top, 0), "user_id"), "alice");
    ASSERT_EQ_INT(jnum(cJSON_GetArrayItem(top, 0), "entries"), 4);
    ASSERT_EQ_INT(jnum(cJSON_GetArrayItem(top, 1), "entries"), 2);
    cJSON_Delete(o);
    fx_free(f);
}

/* ==== export ============================================================ */

TEST(export_jsonl_round_trips_entries_exactly)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "jsonl"));
    ASSERT_EQ_INT(count_lines(r.out), N_STANDARD);
    const char *p = r.out;
    for (int seq = 1; seq <= N_STANDARD; seq++) {
        size_t n = strcspn(p, "\n");
        const char *want = entry_text(f, seq);
        ASSERT(want);
        if (strlen(want) != n || memcmp(p, want, n) != 0)
            TEST_FAIL_("line %d differs from the stored entry:\n%.*s\n%s", seq, (int)n, p, want);
        /* and it parses back to the same value */
        cJSON *a = cJSON_ParseWithLength(p, n), *b = cJSON_Parse(want);
        int same = a && b && cJSON_Compare(a, b, 1);
        cJSON_Delete(a);
        cJSON_Delete(b);
        ASSERT(same);
        p += n + 1;
    }
    ASSERT_EQ_STR(r.err, "");
    fx_free(f);
}

TEST(export_filter_user)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "jsonl", "--user", "alice"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "1,2,4,7");
    fx_free(f);
}

TEST(export_filter_project)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "jsonl", "--project", "p1"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "1,2,4");
    fx_free(f);
}

TEST(export_filter_event_type)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "jsonl", "--event-type", "credential_access"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "3");
    fx_free(f);
}

TEST(export_filter_since_until)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "jsonl", "--since", "2026-01-02", "--until",
                      "2026-01-02"));
    ASSERT_EQ_STR(seqs_of(f, r.out), "3,4,5");
    RUN_OK(s, f, ARGS(f, "export", "--format", "jsonl", "--since", "2026-01-03T09:00:00Z"));
    ASSERT_EQ_STR(seqs_of(f, s.out), "7,8");
    fx_free(f);
}

TEST(export_csv_follows_rfc4180)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "csv"));
    const char *p = r.out;
    char *fields[32];
    int quoted[32], n;
    ASSERT(csv_record(f, &p, fields, quoted, 32, &n) == 0);
    ASSERT_EQ_INT(n, 21);
    ASSERT_EQ_STR(fields[0], "seq");
    ASSERT_EQ_STR(fields[15], "hash");
    ASSERT_EQ_STR(fields[20], "cwd");
    int rows = 0;
    while (*p) {
        if (csv_record(f, &p, fields, quoted, 32, &n) != 0)
            TEST_FAIL_("record %d breaks RFC 4180 near: %.60s", rows + 1, p);
        ASSERT_EQ_INT(n, 21);
        rows++;
    }
    ASSERT_EQ_INT(rows, N_STANDARD);
    fx_free(f);
}

TEST(export_csv_lines_end_with_crlf)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "csv"));
    int in_quotes = 0, records = 0;
    for (const char *p = r.out; *p; p++) {
        if (*p == '"') in_quotes = !in_quotes;
        if (*p == '\n' && !in_quotes) {
            ASSERT(p > r.out && p[-1] == '\r');
            records++;
        }
    }
    ASSERT(!in_quotes);
    ASSERT_EQ_INT(records, N_STANDARD + 1);
    ASSERT(r.out_len >= 2 && r.out[r.out_len - 2] == '\r' && r.out[r.out_len - 1] == '\n');
    fx_free(f);
}

TEST(export_csv_quotes_commas_quotes_and_newlines)
{
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "csv"));
    const char *p = r.out;
    char *fields[32];
    int quoted[32], n;
    ASSERT(csv_record(f, &p, fields, quoted, 32, &n) == 0);
    for (int seq = 1; seq <= N_STANDARD; seq++) {
        ASSERT(csv_record(f, &p, fields, quoted, 32, &n) == 0);
        cJSON *e = cJSON_Parse(entry_text(f, seq));
        ASSERT(e);
        /* Each text column comes back exactly; null is an empty, unquoted
        ** field; JSON columns hold the JSON text of the stored value. */
        static const char *const text_cols[] = {"id", "event_type", "operation_name",
                                                "operation_id", "user_id", "project_id",
                                                "error", "created_at", "prev_hash", "hash"};
        static const int text_idx[] = {1, 2, 3, 4, 5, 6, 9, 12, 14, 15};
        for (int i = 0; i < 10; i++) {
            const char *want = jstr(e, text_cols[i]);
            if (!want) {
                ASSERT_EQ_STR(fields[text_idx[i]], "");
                ASSERT(!quoted[text_idx[i]]);
            } else {
                ASSERT_EQ_STR(fields[text_idx[i]], want);
                int must_quote = !*want || strpbrk(want, ",\"\r\n") != NULL;
                ASSERT_EQ_INT(quoted[text_idx[i]], must_quote);
            }
        }
        static const char *const json_cols[] = {"args", "result", "before_state",
                                                "after_state", "client"};
        static const int json_idx[] = {7, 8, 10, 11, 13};
        for (int i = 0; i < 5; i++) {
            const cJSON *want = cJSON_GetObjectItemCaseSensitive(e, json_cols[i]);
            if (cJSON_IsNull(want)) {
                ASSERT_EQ_STR(fields[json_idx[i]], "");
            } else {
                cJSON *got = cJSON_Parse(fields[json_idx[i]]);
                int same = got && cJSON_Compare(got, want, 1);
                cJSON_Delete(got);
                if (!same) TEST_FAIL_("seq %d %s: %s", seq, json_cols[i], fields[json_idx[i]]);
            }
        }
        ASSERT_EQ_INT(strtoll(fields[0], NULL, 10), seq);
        cJSON_Delete(e);
    }
    /* The raw text shows the doubled quotes and an enclosed CR LF. */
    ASSERT_CONTAINS(r.out, "\"Timeout, retry \"\"later\"\"\r\nsecond line\"");
    ASSERT_CONTAINS(r.out, "\"{\"\"name\"\":\"\"Atlas, Inc.\"\"");
    fx_free(f);
}

TEST(export_ocsf_maps_to_api_activity)
{
    static const int activity[N_STANDARD] = {1, 1, 2, 3, 99, 99, 4, 2};
    fx *f = fx_standard();
    ASSERT(f);
    RUN_OK(r, f, ARGS(f, "export", "--format", "ocsf"));
    ASSERT_EQ_INT(count_lines(r.out), N_STANDARD);
    const char *p = r.out;
    for (int i = 0; i < N_STANDARD; i++) {
        size_t n = strcspn(p, "\n");
        cJSON *ev = cJSON_ParseWithLength(p, n);
        cJSON *e = cJSON_Parse(entry_text(f, i + 1));
        ASSERT(ev && e);
        ASSERT_EQ_INT(jnum(ev, "class_uid"), 6003);
        ASSERT_EQ_INT(jnum(ev, "category_uid"), 6);
        ASSERT_EQ_INT(jnum(ev, "activity_id"), activity[i]);
        ASSERT_EQ_INT(jnum(ev, "type_uid"), 600300 + activity[i]);
        ASSERT(jnum(ev, "time") == (double)(at(standard[i].when) / 1000));
        ASSERT_EQ_STR(jstr(jget(ev, "actor.user"), "name"), standard[i].user);
        ASSERT_EQ_STR(jstr(jget(ev, "api"), "operation"), standard[i].op);
        if (standard[i].op_id) ASSERT_EQ_STR(jstr(jget(ev, "api.request"), "uid"), standard[i].op_id);
        else ASSERT(!jget(ev, "api.request"));
        ASSERT_EQ_INT(jnum(ev, "status_id"), standard[i].error ? 2 : 1);
        ASSERT_EQ_STR(jstr(ev, "status"), standard[i].error ? "Failure" : "Success");
        if (standard[i].error) ASSERT_EQ_STR(jstr(ev, "status_detail"), standard[i].error);
        ASSERT_EQ_STR(jstr(jget(ev, "metadata"), "version"), "1.1.0");
        ASSERT_EQ_STR(jstr(jget(ev, "metadata.product"), "name"), "dss-audit-mcp");
        ASSERT_EQ_STR(jstr(jget(ev, "metadata.product"), "vendor_name"), "DSS");
        ASSERT_EQ_STR(jstr(jget(ev, "metadata"), "uid"), jstr(e, "id"));
        ASSERT_EQ_INT(jnum(ev, "unmapped.seq"), i + 1);
        ASSERT(cJSON_Compare(jget(ev, "unmapped.args"), jget(e, "args"), 1));
        ASSERT_EQ_STR(jstr(jget(ev, "unmapped"), "hash"), jstr(e, "hash"));
        if (standard[i].client)
            ASSERT_EQ_STR(jstr(jget(ev, "actor"), "app_name"), "claude-code");
        cJSON_Delete(ev);
        cJSON_Delete(e);
        p += n + 1;
    }
    fx_free(f);
}

TEST(export_output_file_has_mode_0600)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *path = fmt(f, "%s/out.csv", f->dir);
    RUN_OK(a, f, ARGS(f, "export", "--format", "csv", "--output", path));
    ASSERT_EQ_STR(a.out, "");
    struct stat st;
    ASSERT(stat(path, &st) == 0);
    ASSERT_EQ_INT(st.st_mode & 07777, 0600);
    RUN_OK(b, f, ARGS(f, "export", "--format", "csv"));
    char *written = own(f, read_all(path, NULL));
    ASSERT_EQ_STR(written, b.out);
    const char *path2 = fmt(f, "%s/out2.jsonl", f->dir);
    RUN_OK(c, f, ARGS(f, "export", "--format", "jsonl", "-o", path2));
    ASSERT(stat(path2, &st) == 0);
    ASSERT_EQ_INT(st.st_mode & 07777, 0600);
    /* even under a permissive umask */
    const char *path3 = fmt(f, "%s/out3.jsonl", f->dir);
    mode_t old = umask(0);
    result d = run(f, ARGS(f, "export", "--format", "ocsf", "-o", path3));
    umask(old);
    ASSERT_EQ_INT(d.status, 0);
    ASSERT(stat(path3, &st) == 0);
    ASSERT_EQ_INT(st.st_mode & 07777, 0600);
    fx_free(f);
}

TEST(export_output_never_overwrites)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *path = fmt(f, "%s/keep.csv", f->dir);
    FILE *fp = fopen(path, "w");
    ASSERT(fp);
    fputs("keep me\n", fp);
    fclose(fp);
    result r = run(f, ARGS(f, "export", "--format", "csv", "-o", path));
    ASSERT_EQ_INT(r.status, 2);
    ASSERT_CONTAINS(r.err, "already exists");
    ASSERT_EQ_STR(own(f, read_all(path, NULL)), "keep me\n");
    fx_free(f);
}

/* The VmHWM (peak RSS) of a child export, and what it wrote. */
static long export_rss(fx *f, const char *format, const char *until, const char *out_path,
                       int *status, const char **err)
{
    /* Under AddressSanitizer, a small quarantine of freed memory (added to
    ** whatever ASAN_OPTIONS the run has), so that RSS shows what is live. */
    const char *given = getenv("ASAN_OPTIONS");
    const char *const asan_env[] = {
        fmt(f, "ASAN_OPTIONS=%s%squarantine_size_mb=4:thread_local_quarantine_size_kb=64",
            given ? given : "", given && *given ? ":" : ""),
        NULL};
    const char *const *env = NULL;
#if defined(__SANITIZE_ADDRESS__)
    env = asan_env;
#else
    (void)asan_env;
#endif
    const char *const args_all[] = {"export", "--db", f->db, "--format", format, NULL};
    const char *const args_until[] = {"export", "--db", f->db, "--format", format,
                                      "--until", until, NULL};
    result r = run_env(f, until ? args_until : args_all, env, out_path);
    *status = r.status;
    *err = r.err;
    return r.maxrss_kb;
}

TEST(export_of_50000_entries_runs_in_bounded_memory)
{
    enum { N = 50000, ARG_BYTES = 2000 };
    fx *f = fx_new();
    ASSERT(f);
    /* Entries one second apart from 2026-03-01, each with ~2 KB of args. */
    char *args = malloc(ARG_BYTES + 64);
    ASSERT(args);
    own(f, args);
    int w = snprintf(args, 64, "{\"blob\":\"");
    memset(args + w, 'x', ARG_BYTES);
    strcpy(args + w + ARG_BYTES, "\",\"n\":[1,2,3]}");
    int64_t t0 = at("2026-03-01T00:00:00Z");
    for (int done = 0; done < N;) {
        char err[STORE_ERRLEN];
        store_receipt rc;
        ASSERT(store_begin(f->st, err) == STORE_OK);
        for (int i = 0; i < 5000; i++, done++) {
            store_record sr = {.event_type = "tool_call", .operation_name = "log_operation",
                               .user_id = done % 2 ? "alice" : "bob", .project_id = "p",
                               .args = args, .error = done % 97 ? NULL : "failed, \"x\""};
            fake_now_us = t0 + (int64_t)done * 1000000;
            int rc2 = store_append(f->st, &sr, &rc, err);
            fake_now_us = 0;
            ASSERT(rc2 == STORE_OK);
        }
        ASSERT(store_commit(f->st, err) == STORE_OK);
    }
    store_close(f->st);
    f->st = NULL;

    static const char *const formats[] = {"jsonl", "csv", "ocsf", "otlp"};
    for (int i = 0; i < 4; i++) {
        int status;
        const char *err;
        const char *big = fmt(f, "%s/big.%s", f->dir, formats[i]);
        long small_kb = export_rss(f, formats[i], "2026-03-01T00:16:39Z", "/dev/null",
                                   &status, &err);
        if (status != 0) TEST_FAIL_("small %s export: status %d: %s", formats[i], status, err);
        long big_kb = export_rss(f, formats[i], NULL, big, &status, &err);
        if (status != 0) TEST_FAIL_("big %s export: status %d: %s", formats[i], status, err);
        struct stat st;
        ASSERT(stat(big, &st) == 0);
        /* every entry is there */
        char *text = read_all(big, NULL);
        ASSERT(text);
        size_t lines = count_lines(text);
        free(text);
        /* csv adds a header; otlp holds 512 records a line. */
        size_t want = i == 1 ? N + 1 : i == 3 ? (N + 511) / 512 : N;
        ASSERT_EQ_INT(lines, want);
        long data_kb = (long)(st.st_size / 1024);
        fprintf(stderr, "%s: %ld KiB written; peak RSS %ld KiB (1,000 entries: %ld KiB)\n",
                formats[i], data_kb, big_kb, small_kb);
        unlink(big);
        if (wrapped()) continue; /* valgrind's own memory is not ours */
        /* Well below the data: a quarter of it at most (half under
        ** AddressSanitizer, whose shadow memory and quarantine add a fixed
        ** 25 MiB or so), and no more than 16 MiB above exporting 1,000
        ** entries (constant, not linear). */
        long share = 4;
#if defined(__SANITIZE_ADDRESS__)
        share = 2;
#endif
        if (big_kb * share > data_kb)
            TEST_FAIL_("%s export peaked at %ld KiB for %ld KiB of data", formats[i], big_kb,
                       data_kb);
        if (big_kb - small_kb > 16384)
            TEST_FAIL_("%s export grew from %ld KiB (1,000 entries) to %ld KiB (50,000)",
                       formats[i], small_kb, big_kb);
    }
    fx_free(f);
}

/* ==== output on a terminal ============================================== */

/* Run the binary on a pseudo-terminal 120 columns wide, typing input (or
** nothing) on it; returns what the terminal showed (owned by f) and the
** exit status in *status. */
static const char *run_pty_typing(fx *f, const char *const *args, const char *input,
                                  int *status)
{
    struct winsize ws = {.ws_row = 40, .ws_col = 120};
    int master;
    char **argv = build_argv(f, args);
    fflush(NULL);
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    if (pid < 0) return NULL;
    if (pid == 0) {
        unsetenv("DSS_AUDIT_DB");
        setenv("XDG_CONFIG_HOME", "/nonexistent-dss-test", 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (input && write(master, input, strlen(input)) != (ssize_t)strlen(input)) {
        close(master);
        kill(pid, SIGKILL);
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) break;
            buf = nb;
        }
        ssize_t got = read(master, buf + n, cap - n - 1);
        if (got > 0) n += (size_t)got;
        else if (got < 0 && errno == EINTR) continue;
        else break; /* EIO once the child is gone */
    }
    close(master);
    result r = {0};
    reap(pid, 20000, &r);
    *status = r.status;
    if (buf) buf[n] = '\0';
    return own(f, buf);
}

static const char *run_pty(fx *f, const char *const *args, int *status)
{
    return run_pty_typing(f, args, NULL, status);
}

/* serve on a terminal says, in one line on stderr, what it waits for, which
** database it uses and how to try it or quit; then it serves what is typed
** and exits 0 at Ctrl-D. */
TEST(serve_on_a_terminal_says_it_waits_for_a_client)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *key = fmt(f, "%s/signing.key", f->dir);
    int status;
    /* The terminal delivers the typed line, then Ctrl-D at the start of a
    ** line as end of file. */
    const char *out = run_pty_typing(f, ARGS(f, "serve", "--key", key),
                                     "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}\n\x04",
                                     &status);
    ASSERT(out);
    ASSERT_EQ_INT(status, 0);
    const char *line = strstr(out, "dss-audit-mcp: waiting for an MCP client on stdin");
    ASSERT(line);
    const char *eol = strstr(line, "\r\n");
    ASSERT(eol);
    char *hint = fmt(f, "%.*s", (int)(eol - line), line);
    ASSERT_CONTAINS(hint, fmt(f, "(database %s)", f->db));
    ASSERT_CONTAINS(hint, "type {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    ASSERT_CONTAINS(hint, "Ctrl-D quits");
    /* One line only, and the typed request was still served. */
    ASSERT(!strstr(eol + 2, "dss-audit-mcp:"));
    ASSERT_CONTAINS(out, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}");
    fx_free(f);
}

/* Piped, as a client runs it, serve prints nothing on stderr. */
TEST(serve_piped_prints_no_hint)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *key = fmt(f, "%s/signing.key", f->dir);
    RUN_OK(r, f, ARGS(f, "serve", "--key", key));
    ASSERT_EQ_STR(r.err, "");
    ASSERT_EQ_STR(r.out, "");
    fx_free(f);
}

TEST(tail_prints_a_table_on_a_terminal)
{
    fx *f = fx_standard();
    ASSERT(f);
    rec odd[] = {{"2026-01-04T00:00:00Z", "error", "evil\x1b]0;owned\x07op", NULL, "mallory",
                  NULL, NULL, NULL, "bad\nline \x1b[2J", NULL}};
    ASSERT(fx_add(f, odd, 1) == 0);
    int status;
    const char *out = run_pty(f, ARGS(f, "tail", "-n", "3"), &status);
    ASSERT(out);
    ASSERT_EQ_INT(status, 0);
    /* A header, then one aligned row per entry (the terminal adds CR). */
    ASSERT(strncmp(out, "  SEQ  TIME (UTC)           EVENT", 33) == 0);
    ASSERT_CONTAINS(out, "\r\n    8  2026-01-03 09:00:01  tool_call");
    ASSERT_CONTAINS(out, "error: bad?line ?[2J");
    ASSERT_CONTAINS(out, "evil?]0;owned?op");
    ASSERT(!strchr(out, '\x1b'));
    ASSERT(!strchr(out, '\x07'));
    /* Columns line up: "TIME" and each row's time start in one column. */
    const char *hdr_time = strstr(out, "TIME");
    const char *row = strstr(out, "\r\n    8  ") + 2;
    ASSERT((hdr_time - out) == (strstr(row, "2026-01-03") - row));
    fx_free(f);
}

TEST(json_flag_prints_json_lines_on_a_terminal)
{
    fx *f = fx_standard();
    ASSERT(f);
    int status;
    const char *out = run_pty(f, ARGS(f, "query", "--json", "--limit", "2"), &status);
    ASSERT(out);
    ASSERT_EQ_INT(status, 0);
    ASSERT(strncmp(out, "{\"seq\":8,", 9) == 0);
    fx_free(f);
}

TEST(stats_prints_a_summary_on_a_terminal)
{
    fx *f = fx_standard();
    ASSERT(f);
    int status;
    const char *out = run_pty(f, ARGS0(f, "stats"), &status);
    ASSERT(out);
    ASSERT_EQ_INT(status, 0);
    ASSERT_CONTAINS(out, "Entries            8 (seq 1 to 8)");
    ASSERT_CONTAINS(out, "EVENT TYPE");
    ASSERT_CONTAINS(out, "alice");
    fx_free(f);
}

TEST(piped_output_is_json_lines)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *const cmds[] = {"tail", "query"};
    for (int i = 0; i < 2; i++) {
        RUN_OK(r, f, ARGS0(f, cmds[i]));
        ASSERT(strcmp(seqs_of(f, r.out), "(bad line)") != 0);
        ASSERT_EQ_INT(count_lines(r.out), N_STANDARD);
    }
    fx_free(f);
}

/* ==== help, errors, manual page ========================================= */

static const char *const all_commands[] = {
    "serve", "tail", "query", "stats", "export", "verify", "checkpoint",
    "public-key", "prune", NULL};

TEST(help_for_every_subcommand)
{
    fx *f = fx_new();
    ASSERT(f);
    for (const char *const *c = all_commands; *c; c++) {
        result r = run(f, (const char *const[]){*c, "--help", NULL});
        if (r.status != 0) TEST_FAIL_("%s --help: status %d", *c, r.status);
        char *want = fmt(f, "Usage: dss-audit-mcp %s%s", strcmp(*c, "serve") ? "" : "[", *c);
        if (strncmp(r.out, want, strlen(want)) != 0)
            TEST_FAIL_("%s --help printed: %.80s", *c, r.out);
        ASSERT_CONTAINS(r.out, "--help");
        ASSERT_EQ_STR(r.err, "");
        result s = run(f, (const char *const[]){*c, "-h", NULL});
        ASSERT_EQ_INT(s.status, 0);
        ASSERT_EQ_STR(s.out, r.out);
    }
    fx_free(f);
}

TEST(help_of_the_program_lists_every_command)
{
    fx *f = fx_new();
    ASSERT(f);
    result r = run(f, (const char *const[]){"--help", NULL});
    ASSERT_EQ_INT(r.status, 0);
    for (const char *const *c = all_commands; *c; c++)
        ASSERT_CONTAINS(r.out, fmt(f, "\n  %s ", *c));
    fx_free(f);
}

TEST(bad_option_exits_2_with_a_message)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *const cmds[] = {"tail", "query", "stats", "export"};
    for (int i = 0; i < 4; i++) {
        result r = run(f, ARGS(f, cmds[i], "--no-such-option"));
        if (r.status != 2) TEST_FAIL_("%s: status %d", cmds[i], r.status);
        ASSERT_EQ_STR(r.out, "");
        ASSERT_CONTAINS(r.err, "dss-audit-mcp: ");
        ASSERT_CONTAINS(r.err, "--no-such-option");
        ASSERT_CONTAINS(r.err, fmt(f, "dss-audit-mcp %s --help", cmds[i]));
    }
    fx_free(f);
}

TEST(bad_values_exit_2_with_a_message)
{
    fx *f = fx_standard();
    ASSERT(f);
    const char *const *cases[] = {
        ARGS(f, "tail", "-n", "many"),
        ARGS(f, "query", "--since", "last tuesday"),
        ARGS(f, "query", "--since", "2026-02-01", "--until", "2026-01-01"),
        ARGS(f, "query", "--event-type", "not_a_type"),
        ARGS(f, "query", "--limit", "0"),
        ARGS(f, "export", "--format", "xml"),
        ARGS(f, "export", "--user", "alice"),
        ARGS(f, "tail", "--format", "csv"),
        ARGS(f, "stats", "-f"),
        ARGS(f, "serve", "--since", "2026-01-01"),
        ARGS(f, "query", "unexpected"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        result r = run(f, cases[i]);
        if (r.status != 2) TEST_FAIL_("case %zu (%s): status %d", i, cases[i][0], r.status);
        ASSERT_EQ_STR(r.out, "");
        ASSERT_CONTAINS(r.err, "dss-audit-mcp: ");
    }
    fx_free(f);
}

/* A bad number from the environment is named by its variable, since the
** user typed no flag (the message once named --max-message-bytes alone). */
TEST(bad_number_in_the_environment_is_named_by_its_variable)
{
    fx *f = fx_standard();
    ASSERT(f);
    static const char *const vars[][2] = {
        {"DSS_AUDIT_MAX_MESSAGE_BYTES=abc", "DSS_AUDIT_MAX_MESSAGE_BYTES='abc' in the environment"},
        {"DSS_AUDIT_MAX_DEPTH=1", "DSS_AUDIT_MAX_DEPTH='1' in the environment"},
        {"DSS_AUDIT_MAX_DB_SIZE=12", "DSS_AUDIT_MAX_DB_SIZE='12' in the environment"},
    };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *const env[] = {vars[i][0], NULL};
        result r = run_env(f, ARGS0(f, "serve"), env, NULL);
        if (r.status != 2) TEST_FAIL_("%s: status %d", vars[i][0], r.status);
        ASSERT_CONTAINS(r.err, vars[i][1]);
    }
    /* The flag's own value is named by the flag. */
    const char *const env[] = {"DSS_AUDIT_MAX_DEPTH=1", NULL};
    result r = run_env(f, ARGS(f, "serve", "--max-depth", "0"), env, NULL);
    ASSERT_EQ_INT(r.status, 2);
    ASSERT_CONTAINS(r.err, "dss-audit-mcp: --max-depth must be");
    fx_free(f);
}

/* A log is found by its name, so a name is refused rather than cut (two
** names alike in their first 127 bytes once named one log) or stored with
** a control character that every line showing it would carry. */
TEST(log_name_too_long_or_with_control_characters_is_refused)
{
    fx *f = fx_standard();
    ASSERT(f);
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    static const char *const why[] = {"is longer", "holds a control character",
                                      "is not valid UTF-8"};
    const char *names[] = {longname, "a\nb", "\xff\xfe"};
    for (int i = 0; i < 3; i++) {
        result r = run(f, ARGS(f, "query", "--log", names[i]));
        if (r.status != 2) TEST_FAIL_("name %d: status %d", i, r.status);
        ASSERT_CONTAINS(r.err, "--log must name a log in 1 to 127 bytes");
        ASSERT_CONTAINS(r.err, why[i]);
    }
    const char *const env[] = {"DSS_AUDIT_LOG=a\tb", NULL};
    result r = run_env(f, ARGS0(f, "serve"), env, NULL);
    ASSERT_EQ_INT(r.status, 2);
    ASSERT_CONTAINS(r.err, "DSS_AUDIT_LOG in the environment: --log must");
    /* 127 bytes of text, multibyte included, are a name. */
    char fits[128];
    memset(fits, 'y', 124);
    memcpy(fits + 124, "\xc3\xa9", 3); /* e-acute: 126 bytes and the NUL */
    r = run(f, ARGS(f, "query", "--log", fits));
    ASSERT_EQ_INT(r.status, 0);
    fx_free(f);
}

TEST(missing_database_exits_2_and_is_not_created)
{
    fx *f = fx_new();
    ASSERT(f);
    const char *missing = fmt(f, "%s/none/audit.db", f->dir);
    const char *const cmds[] = {"tail", "query", "stats", "export"};
    for (int i = 0; i < 4; i++) {
        const char *const args[] = {cmds[i], "--db", missing, i == 3 ? "--format" : NULL,
                                    "csv", NULL};
        result r = run(f, args);
        ASSERT_EQ_INT(r.status, 2);
        ASSERT_CONTAINS(r.err, "does not exist");
        struct stat st;
        ASSERT(stat(missing, &st) != 0);
        ASSERT(stat(fmt(f, "%s/none", f->dir), &st) != 0);
    }
    fx_free(f);
}

TEST(commands_never_write_the_database)
{
    fx *f = fx_standard();
    ASSERT(f);
    store_close(f->st);
    f->st = NULL;
    ASSERT(chmod(f->db, 0400) == 0);
    size_t n_before, n_after;
    char *before = own(f, read_all(f->db, &n_before));
    ASSERT(before);
    const char *const cmds[] = {"tail", "query", "stats"};
    for (int i = 0; i < 3; i++) {
        RUN_OK(r, f, ARGS0(f, cmds[i]));
    }
    RUN_OK(e, f, ARGS(f, "export", "--format", "csv"));
    char *after = own(f, read_all(f->db, &n_after));
    ASSERT(after);
    ASSERT_EQ_INT(n_after, n_before);
    ASSERT(memcmp(before, after, n_before) == 0);
    chmod(f->db, 0600);
    fx_free(f);
}

static const char *manpage(void)
{
    const char *m = getenv("DSS_MANPAGE");
    return m && *m ? m : "dss-audit-mcp.1";
}

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

TEST(man_page_is_built)
{
    size_t n;
    char *page = read_all(manpage(), &n);
    ASSERT(page);
    int ok = strncmp(page, ".\\\"", 3) == 0 && strstr(page, "\n.TH DSS\\-AUDIT\\-MCP 1 ");
    for (const char *const *c = all_commands; ok && *c; c++) {
        char ss[64];
        snprintf(ss, sizeof ss, "\n.SS %s\n", *c);
        ok = strstr(page, ss) != NULL;
    }
    free(page);
    ASSERT(ok);
}

TEST(man_page_renders)
{
    /* Both renderers are test dependencies (scripts/deps.sh --test): a
    ** missing one is a failure, never a check quietly left out. */
    if (!have("groff")) TEST_FAIL_("groff is not installed (Debian package groff-base)");
    if (!have("man")) TEST_FAIL_("man is not installed (Debian package man-db)");
    fx *f = fx_new();
    ASSERT(f);
    const char *err = fmt(f, "%s/groff.err", f->dir);
    char *cmd = fmt(f, "groff -man -Tutf8 -ww -z '%s' 2>'%s'", manpage(), err);
    ASSERT_EQ_INT(system(cmd), 0);
    ASSERT_EQ_STR(own(f, read_all(err, NULL)), "");
    const char *out = fmt(f, "%s/man.out", f->dir);
    cmd = fmt(f, "MANWIDTH=80 MANPAGER=cat PAGER=cat man -l '%s' >'%s' 2>/dev/null",
              manpage(), out);
    ASSERT_EQ_INT(system(cmd), 0);
    const char *text = own(f, read_all(out, NULL));
    ASSERT_CONTAINS(text, "NAME");
    ASSERT_CONTAINS(text, "export --format jsonl|csv|ocsf");
    fx_free(f);
}

/* Every option row of every command's --help is in the manual page: the
** page and the help come from one text. */
TEST(man_page_has_every_option_of_the_help)
{
    fx *f = fx_new();
    ASSERT(f);
    char *page = own(f, read_all(manpage(), NULL));
    ASSERT(page);
    for (const char *const *c = all_commands; *c; c++) {
        result r = run(f, (const char *const[]){*c, "--help", NULL});
        ASSERT_EQ_INT(r.status, 0);
        for (const char *p = r.out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0)) {
            if (strncmp(p, "  -", 3) != 0) continue;
            size_t n = strcspn(p + 2, "\n");
            const char *end = strstr(p + 2, "  ");
            if (end && (size_t)(end - (p + 2)) < n) n = (size_t)(end - (p + 2));
            char want[128];
            size_t w = 0;
            for (size_t i = 0; i < n && w < sizeof want - 3; i++) {
                if (p[2 + i] == '-') want[w++] = '\\';
                want[w++] = p[2 + i];
            }
            want[w] = '\0';
            if (!strstr(page, want)) TEST_FAIL_("%s --help option '%s' is not in the man page",
                                                *c, want);
        }
    }
    fx_free(f);
}

/* ==== the command table ================================================ */

enum { MAX_CMDS = 40, MAX_OPTS = 48 };

/* The commands `dss-audit-mcp --help` lists, NULL-ended (f owns them). */
static const char **listed_commands(fx *f)
{
    static const char *names[MAX_CMDS + 1];
    int n = 0;
    result r = run(f, (const char *const[]){"--help", NULL});
    const char *p = r.status == 0 ? strstr(r.out, "\nCommands:\n") : NULL;
    if (!p) return NULL;
    /* "  name   summary", the summary maybe going on under it. */
    for (p += strlen("\nCommands:\n"); strncmp(p, "  ", 2) == 0 && n < MAX_CMDS;) {
        size_t len = strcspn(p + 2, " \n");
        if (len) names[n++] = fmt(f, "%.*s", (int)len, p + 2);
        p += strcspn(p, "\n") + 1;
    }
    names[n] = NULL;
    return n ? names : NULL;
}

/* An option row of a help page: its long name ("--lines") and whether it
** takes a value ("-n, --lines N"). */
typedef struct optrow {
    const char *name;
    int value;
} optrow;

/* The option rows of a command's --help (the program's for NULL).  The
** program's "Options (every command)", which every command takes, are
** left out, or with every set are the only ones read.  Returns how many,
** or -1 when --help failed. */
static int help_rows(fx *f, const char *cmd, int every, optrow *rows, int max)
{
    result r = cmd ? run(f, (const char *const[]){cmd, "--help", NULL})
                   : run(f, (const char *const[]){"--help", NULL});
    int n = 0, in_options = 0, in_every = 0;
    if (r.status != 0) return -1;
    for (const char *p = r.out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0)) {
        /* Rows of the sections "Options:", "Options (serve):", ... */
        if (*p != ' ' && *p != '\n') {
            in_options = strncmp(p, "Options", 7) == 0;
            in_every = strncmp(p, "Options (every command):", 24) == 0;
        }
        if (!in_options || in_every != every || strncmp(p, "  -", 3) != 0) continue;
        const char *l = strstr(p, "--");
        if (!l || l > p + strcspn(p, "\n") || n == max) continue;
        size_t len = strcspn(l, " \n");
        const char *name = fmt(f, "%.*s", (int)len, l);
        /* The term ends at two spaces or the end of the line. */
        rows[n].name = name;
        rows[n].value = l[len] == ' ' && l[len + 1] != ' ';
        n++;
    }
    return n;
}

/* The rows of a command's own options: its help's, but -h and -V, which
** every command takes as it takes the program's "every command" rows. */
static int help_options(fx *f, const char *cmd, optrow *rows, int max)
{
    int n = help_rows(f, cmd, 0, rows, max), k = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, "--help") && strcmp(rows[i].name, "--version"))
            rows[k++] = rows[i];
    return n < 0 ? n : k;
}

static int has_option(const optrow *rows, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].name, name)) return 1;
    return 0;
}

/* hook never stops the agent: its usage errors exit 0, after the message. */
static int usage_status(const char *cmd)
{
    return cmd && !strcmp(cmd, "hook") ? 0 : 2;
}

/* Every command --help lists answers --help (and -h) with its own page,
** has a section in the manual page, and the manual page has no section
** for a command the program does not know. */
TEST(every_listed_command_has_help_and_a_man_section)
{
    fx *f = fx_new();
    ASSERT(f);
    const char **cmds = listed_commands(f);
    ASSERT(cmds);
    char *page = own(f, read_all(manpage(), NULL));
    ASSERT(page);
    int n = 0;
    for (const char **c = cmds; *c; c++, n++) {
        result r = run(f, (const char *const[]){*c, "--help", NULL});
        if (r.status != 0) TEST_FAIL_("%s --help: status %d: %s", *c, r.status, r.err);
        const char *want = fmt(f, "Usage: dss-audit-mcp %s%s", strcmp(*c, "serve") ? "" : "[",
                               *c);
        if (strncmp(r.out, want, strlen(want)) != 0)
            TEST_FAIL_("%s --help printed: %.80s", *c, r.out);
        result h = run(f, (const char *const[]){*c, "-h", NULL});
        ASSERT_EQ_STR(h.out, r.out);
        if (!strstr(page, fmt(f, "\n.SS %s\n", *c)))
            TEST_FAIL_("the manual page has no section for %s", *c);
    }
    int sections = 0;
    for (const char *p = page; (p = strstr(p, "\n.SS ")); p++) sections++;
    ASSERT_EQ_INT(sections, n);
    fx_free(f);
}

/* Each option a command's --help lists is one the command takes, and so
** is each of the program's "Options (every command)": given before --help
** (with a value when its row shows one), --help still wins. */
TEST(every_option_a_help_lists_is_taken)
{
    fx *f = fx_new();
    ASSERT(f);
    const char **cmds = listed_commands(f);
    ASSERT(cmds);
    optrow every[8];
    int n_every = help_rows(f, NULL, 1, every, 8);
    ASSERT(n_every >= 4); /* --db, --key, --help, --version */
    for (int k = -1; k < 0 || cmds[k]; k++) {
        const char *cmd = k < 0 ? NULL : cmds[k];
        optrow rows[MAX_OPTS + 8];
        int n = help_options(f, cmd, rows, MAX_OPTS);
        ASSERT(n >= 0);
        for (int i = 0; i < n_every; i++)
            if (strcmp(every[i].name, "--help") && strcmp(every[i].name, "--version"))
                rows[n++] = every[i];
        for (int i = 0; i < n; i++) {
            const char *args[6];
            int a = 0;
            if (cmd) args[a++] = cmd;
            args[a++] = rows[i].name;
            if (rows[i].value) args[a++] = "x";
            args[a++] = "--help";
            args[a] = NULL;
            result r = run(f, args);
            if (r.status != 0 || strncmp(r.out, "Usage: ", 7) != 0)
                TEST_FAIL_("%s %s: status %d: %s", cmd ? cmd : "(no command)", rows[i].name,
                           r.status, r.err);
        }
        result v = cmd ? run(f, (const char *const[]){cmd, "--version", NULL})
                       : run(f, (const char *const[]){"-V", NULL});
        ASSERT_EQ_INT(v.status, 0);
        ASSERT(strncmp(v.out, "dss-audit-mcp ", 14) == 0);
    }
    fx_free(f);
}

/* The docs/ pages that document each command (configuration.md, the
** shared options' page, is read for every one). */
static const struct {
    const char *cmd, *pages[3];
} doc_pages[] = {
    {"serve", {"configuration.md", "ship.md", "transparency.md"}},
    {"wrap", {"wrap.md", "remote.md", "ship.md"}},
    {"wrap-config", {"wrap.md"}},
    {"auth", {"remote.md"}},
    {"hook", {"hooks.md"}},
    {"hooks", {"hooks.md"}},
    {"recorder", {"hooks.md"}},
    {"tail", {"cli.md"}},
    {"query", {"cli.md"}},
    {"stats", {"cli.md"}},
    {"export", {"export.md"}},
    {"report", {"viewer.md"}},
    {"ui", {"viewer.md"}},
    {"verify", {"integrity.md", "transparency.md"}},
    {"prune", {"integrity.md", "transparency.md"}},
    {"checkpoint", {"transparency.md"}},
    {"public-key", {"transparency.md"}},
    {"prove", {"transparency.md"}},
    {"verify-proof", {"transparency.md"}},
    {"witness", {"transparency.md"}},
    {"ship", {"ship.md"}},
    {"migrate", {"postgres.md"}},
};

/* Whether text names word (an option or a variable) as a whole word. */
static int names_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)); p++) {
        char after = p[n];
        int before_ok = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-' ||
                                       p[-1] == '_');
        if (before_ok && !(isalnum((unsigned char)after) || after == '-' || after == '_'))
            return 1;
    }
    return 0;
}

/* Docs true to the code: every option a command's --help lists, and every
** DSS_AUDIT_ variable it names, appears on the docs/ page(s) documenting
** that command; and every command --help lists has such a page here. */
TEST(every_option_a_help_lists_is_on_its_docs_page)
{
    fx *f = fx_new();
    ASSERT(f);
    const char **cmds = listed_commands(f);
    ASSERT(cmds);
    const char *src = getenv("DSS_SOURCE_DIR");
    ASSERT(src);
    size_t len;
    char *config = read_all(fmt(f, "%s/docs/configuration.md", src), &len);
    ASSERT(config);
    int missing = 0;
    for (int k = 0; cmds[k]; k++) {
        size_t d = 0;
        while (d < sizeof doc_pages / sizeof *doc_pages && strcmp(doc_pages[d].cmd, cmds[k])) d++;
        if (d == sizeof doc_pages / sizeof *doc_pages) {
            fprintf(stderr, "%s has no docs page in doc_pages[]\n", cmds[k]);
            missing++;
            continue;
        }
        char *pages[3] = {0};
        for (int i = 0; i < 3 && doc_pages[d].pages[i]; i++) {
            pages[i] = read_all(fmt(f, "%s/docs/%s", src, doc_pages[d].pages[i]), &len);
            if (!pages[i]) {
                fprintf(stderr, "docs/%s cannot be read\n", doc_pages[d].pages[i]);
                missing++;
            }
        }
        optrow rows[MAX_OPTS];
        int n = help_options(f, cmds[k], rows, MAX_OPTS);
        ASSERT(n >= 0);
        const char *words[MAX_OPTS + 16];
        int nw = 0;
        for (int i = 0; i < n; i++) words[nw++] = rows[i].name;
        result h = run(f, (const char *const[]){cmds[k], "--help", NULL});
        for (const char *p = h.out; (p = strstr(p, "DSS_AUDIT_")) && nw < MAX_OPTS + 16;) {
            size_t w = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
            words[nw++] = fmt(f, "%.*s", (int)w, p);
            p += w;
        }
        for (int i = 0; i < nw; i++) {
            int found = names_word(config, words[i]);
            for (int j = 0; j < 3 && pages[j] && !found; j++) found = names_word(pages[j], words[i]);
            if (!found) {
                fprintf(stderr, "%s --help lists %s, which docs/%s does not mention\n",
                        cmds[k], words[i], doc_pages[d].pages[0]);
                missing++;
            }
        }
        for (int j = 0; j < 3; j++) free(pages[j]);
    }
    free(config);
    fx_free(f);
    ASSERT_EQ_INT(missing, 0);
}

/* An option of another command (any option some --help lists but this
** command's does not) is a usage error that names it and the command,
** points at the command's help and writes nothing to stdout. */
TEST(options_of_other_commands_are_refused_by_name)
{
    fx *f = fx_new();
    ASSERT(f);
    const char **cmds = listed_commands(f);
    ASSERT(cmds);
    optrow all[4 * MAX_OPTS], every[8];
    int n_all = 0, n_every = help_rows(f, NULL, 1, every, 8);
    ASSERT(n_every >= 4);
    for (int k = -1; k < 0 || cmds[k]; k++) {
        optrow rows[MAX_OPTS];
        int n = help_options(f, k < 0 ? NULL : cmds[k], rows, MAX_OPTS);
        ASSERT(n >= 0);
        for (int i = 0; i < n; i++)
            if (!has_option(all, n_all, rows[i].name) && n_all < 4 * MAX_OPTS)
                all[n_all++] = rows[i];
    }
    for (int k = -1; k < 0 || cmds[k]; k++) {
        const char *cmd = k < 0 ? NULL : cmds[k];
        optrow own_rows[MAX_OPTS];
        int n = help_options(f, cmd, own_rows, MAX_OPTS);
        for (int i = 0; i < n_all; i++) {
            if (has_option(own_rows, n, all[i].name) || has_option(every, n_every, all[i].name))
                continue;
            const char *args[5];
            int a = 0;
            if (cmd) args[a++] = cmd;
            args[a++] = all[i].name;
            if (all[i].value) args[a++] = "x";
            args[a] = NULL;
            result r = run(f, args);
            const char *want = fmt(f, "option %s does not apply to '%s'", all[i].name,
                                   cmd ? cmd : "serve");
            if (r.status != usage_status(cmd) || !strstr(r.err, want))
                TEST_FAIL_("%s %s: status %d: %s", cmd ? cmd : "(no command)", all[i].name,
                           r.status, r.err);
            ASSERT_EQ_STR(r.out, "");
            ASSERT_CONTAINS(r.err, fmt(f, "Try 'dss-audit-mcp %s%s--help'.", cmd ? cmd : "",
                                       cmd ? " " : ""));
        }
    }
    fx_free(f);
}

/* An option no command has, and an option missing its value, are usage
** errors naming the option, for every command. */
TEST(unknown_options_and_missing_values_are_named_by_every_command)
{
    fx *f = fx_new();
    ASSERT(f);
    const char **cmds = listed_commands(f);
    ASSERT(cmds);
    for (int k = -1; k < 0 || cmds[k]; k++) {
        const char *cmd = k < 0 ? NULL : cmds[k];
        result r = cmd ? run(f, (const char *const[]){cmd, "--no-such-option", NULL})
                       : run(f, (const char *const[]){"--no-such-option", NULL});
        if (r.status != usage_status(cmd) || !strstr(r.err, "unknown option --no-such-option"))
            TEST_FAIL_("%s --no-such-option: status %d: %s", cmd ? cmd : "", r.status, r.err);
        ASSERT_EQ_STR(r.out, "");
        optrow rows[MAX_OPTS];
        int n = help_options(f, cmd, rows, MAX_OPTS);
        for (int i = 0; i < n; i++) {
            if (!rows[i].value) continue;
            r = cmd ? run(f, (const char *const[]){cmd, rows[i].name, NULL})
                    : run(f, (const char *const[]){rows[i].name, NULL});
            if (r.status != usage_status(cmd) || !strstr(r.err, "needs a value") ||
                !strstr(r.err, rows[i].name))
                TEST_FAIL_("%s %s (no value): status %d: %s", cmd ? cmd : "", rows[i].name,
                           r.status, r.err);
            ASSERT_EQ_STR(r.out, "");
        }
    }
    fx_free(f);
}

/* A command name the table does not have: exit 2, pointing at --help. */
TEST(unknown_command_exits_2)
{
    fx *f = fx_new();
    ASSERT(f);
    result r = run(f, (const char *const[]){"frobnicate", "--help", NULL});
    ASSERT_EQ_INT(r.status, 2);
    ASSERT_EQ_STR(r.out, "");
    ASSERT_CONTAINS(r.err, "unknown command 'frobnicate'");
    ASSERT_CONTAINS(r.err, "Try 'dss-audit-mcp --help'.");
    fx_free(f);
}

TEST_MAIN(
    TEST_ENTRY(tail_prints_the_newest_10_oldest_first)
    TEST_ENTRY(tail_n_prints_that_many)
    TEST_ENTRY(tail_of_an_empty_log_prints_nothing)
    TEST_ENTRY(tail_follow_prints_new_entries_and_exits_0_on_sigint)
    TEST_ENTRY(tail_follow_exits_0_on_sigterm)
    TEST_ENTRY(tail_follow_stops_when_the_database_is_deleted)
    TEST_ENTRY(query_prints_newest_first)
    TEST_ENTRY(query_lines_are_the_tools_entries)
    TEST_ENTRY(query_user)
    TEST_ENTRY(query_project)
    TEST_ENTRY(query_event_type)
    TEST_ENTRY(query_operation_name)
    TEST_ENTRY(query_search_is_literal_and_ignores_case)
    TEST_ENTRY(query_since)
    TEST_ENTRY(query_until_includes_the_whole_day)
    TEST_ENTRY(query_dates_with_offsets_are_instants)
    TEST_ENTRY(query_limit)
    TEST_ENTRY(query_filters_combine)
    TEST_ENTRY(query_pages_through_long_results)
    TEST_ENTRY(stats_reports_totals)
    TEST_ENTRY(export_jsonl_round_trips_entries_exactly)
    TEST_ENTRY(export_filter_user)
    TEST_ENTRY(export_filter_project)
    TEST_ENTRY(export_filter_event_type)
    TEST_ENTRY(export_filter_since_until)
    TEST_ENTRY(export_csv_follows_rfc4180)
    TEST_ENTRY(export_csv_lines_end_with_crlf)
    TEST_ENTRY(export_csv_quotes_commas_quotes_and_newlines)
    TEST_ENTRY(export_ocsf_maps_to_api_activity)
    TEST_ENTRY(export_output_file_has_mode_0600)
    TEST_ENTRY(export_output_never_overwrites)
    TEST_ENTRY(export_of_50000_entries_runs_in_bounded_memory)
    TEST_ENTRY(serve_on_a_terminal_says_it_waits_for_a_client)
    TEST_ENTRY(serve_piped_prints_no_hint)
    TEST_ENTRY(tail_prints_a_table_on_a_terminal)
    TEST_ENTRY(json_flag_prints_json_lines_on_a_terminal)
    TEST_ENTRY(stats_prints_a_summary_on_a_terminal)
    TEST_ENTRY(piped_output_is_json_lines)
    TEST_ENTRY(help_for_every_subcommand)
    TEST_ENTRY(help_of_the_program_lists_every_command)
    TEST_ENTRY(bad_option_exits_2_with_a_message)
    TEST_ENTRY(bad_values_exit_2_with_a_message)
    TEST_ENTRY(bad_number_in_the_environment_is_named_by_its_variable)
    TEST_ENTRY(log_name_too_long_or_with_control_characters_is_refused)
    TEST_ENTRY(missing_database_exits_2_and_is_not_created)
    TEST_ENTRY(commands_never_write_the_database)
    TEST_ENTRY(man_page_is_built)
    TEST_ENTRY(man_page_renders)
    TEST_ENTRY(man_page_has_every_option_of_the_help)
    TEST_ENTRY(every_listed_command_has_help_and_a_man_section)
    TEST_ENTRY(every_option_a_help_lists_is_taken)
    TEST_ENTRY(every_option_a_help_lists_is_on_its_docs_page)
    TEST_ENTRY(options_of_other_commands_are_refused_by_name)
    TEST_ENTRY(unknown_options_and_missing_values_are_named_by_every_command)
    TEST_ENTRY(unknown_command_exits_2)
)
