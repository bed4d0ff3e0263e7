/*
** fixture.c: the plumbing behind fixture.h.
*/
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SESSION_TIMEOUT_MS 10000

struct fx_session {
    fx *f;
    pid_t pid;
    int in, out;
    char *buf;
    size_t len, cap;
    struct fx_session *next;
};

static fx *live;
static fx_session *sessions;
static int cleanup_registered;

static void set_err(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->last_err, sizeof f->last_err, fmt, ap);
    va_end(ap);
}

static void *own(fx *f, void *p)
{
    if (!p) return NULL;
    if (f->n_owned == f->cap_owned) {
        size_t cap = f->cap_owned ? f->cap_owned * 2 : 64;
        void **n = realloc(f->owned, cap * sizeof *n);
        if (!n) {
            free(p);
            return NULL;
        }
        f->owned = n;
        f->cap_owned = cap;
    }
    f->owned[f->n_owned++] = p;
    return p;
}

static cJSON *own_tree(fx *f, cJSON *t)
{
    if (!t) return NULL;
    if (f->n_trees == f->cap_trees) {
        size_t cap = f->cap_trees ? f->cap_trees * 2 : 16;
        cJSON **n = realloc(f->trees, cap * sizeof *n);
        if (!n) {
            cJSON_Delete(t);
            return NULL;
        }
        f->trees = n;
        f->cap_trees = cap;
    }
    f->trees[f->n_trees++] = t;
    return t;
}

static void kill_session(fx_session *s)
{
    if (s->in >= 0) close(s->in);
    if (s->out >= 0) close(s->out);
    s->in = s->out = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
}

static void remove_dir(const char *dir)
{
    const char *keep = getenv("DSS_KEEP_TMP");
    if (keep && *keep && strcmp(keep, "0") != 0) {
        fprintf(stderr, "kept %s\n", dir);
        return;
    }
    char cmd[512];
    /* dir comes from mkdtemp("/tmp/dss-integrity-XXXXXX"): no quoting
    ** issues, and never anything but our own temp dir. */
    if (strncmp(dir, "/tmp/dss-integrity-", 19) != 0) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

void fx_free(fx *f)
{
    if (!f) return;
    for (fx_session **p = &sessions; *p;) {
        fx_session *s = *p;
        if (s->f == f) {
            kill_session(s);
            *p = s->next;
            free(s->buf);
            free(s);
        } else {
            p = &s->next;
        }
    }
    for (fx **p = &live; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    remove_dir(f->dir);
    for (size_t i = 0; i < f->n_owned; i++) free(f->owned[i]);
    for (size_t i = 0; i < f->n_trees; i++) cJSON_Delete(f->trees[i]);
    free(f->owned);
    free(f->trees);
    free(f);
}

static void cleanup(void)
{
    while (live) fx_free(live);
}

fx *fx_new(void)
{
    const char *bin = getenv("DSS_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "DSS_BIN must name the dss-audit-mcp binary\n");
        return NULL;
    }
    fx *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/dss-integrity-XXXXXX");
    if (!mkdtemp(f->dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        free(f);
        return NULL;
    }
    snprintf(f->db, sizeof f->db, "%s/audit.db", f->dir);
    snprintf(f->key, sizeof f->key, "%s/signing.key", f->dir);
    f->bin = bin;
    f->next = live;
    live = f;
    if (!cleanup_registered) {
        atexit(cleanup);
        cleanup_registered = 1;
    }
    /* Children inherit these: the key lives in the temp dir, and nothing
    ** from the caller's environment changes what the binary does. */
    setenv("DSS_AUDIT_KEY", f->key, 1);
    unsetenv("DSS_AUDIT_DB");
    unsetenv("DSS_AUDIT_ACTOR");
    unsetenv("DSS_AUDIT_CHECKPOINT_INTERVAL");
    unsetenv("DSS_AUDIT_MAX_MESSAGE_BYTES");
    unsetenv("DSS_AUDIT_MAX_DEPTH");
    return f;
}

char *fx_fmt(fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return own(f, s);
}

char *fx_path(fx *f, const char *name) { return fx_fmt(f, "%s/%s", f->dir, name); }

char *fx_q(fx *f, const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++) n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    if (!q) return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return own(f, q);
}

/* A whole file's bytes, owned by f; "" when it cannot be read. */
static char *slurp(fx *f, const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *s = NULL;
    size_t n = 0;
    if (fp) {
        size_t cap = 4096;
        s = malloc(cap);
        size_t got;
        while (s && (got = fread(s + n, 1, cap - n - 1, fp)) > 0) {
            n += got;
            if (cap - n - 1 == 0) {
                char *t = realloc(s, cap * 2);
                if (!t) {
                    free(s);
                    s = NULL;
                    break;
                }
                s = t;
                cap *= 2;
            }
        }
        fclose(fp);
    }
    if (!s) {
        s = malloc(1);
        n = 0;
    }
    if (s) s[n] = '\0';
    if (len) *len = n;
    return own(f, s);
}

int fx_run(fx *f, const char *cmd, const char **out, const char **err)
{
    int k = f->runs++;
    char *o = fx_fmt(f, "%s/.run%d.out", f->dir, k);
    char *e = fx_fmt(f, "%s/.run%d.err", f->dir, k);
    char *full = fx_fmt(f, "( %s ) </dev/null >%s 2>%s", cmd, fx_q(f, o), fx_q(f, e));
    if (!full) return -1;
    int st = system(full);
    f->last_stdout = slurp(f, o, NULL);
    f->last_stderr = slurp(f, e, NULL);
    unlink(o);
    unlink(e);
    if (out) *out = f->last_stdout;
    if (err) *err = f->last_stderr;
    if (st == -1) {
        set_err(f, "cannot run: %s", cmd);
        return -1;
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

const char *fx_initialize_line(void)
{
    return "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
           "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
           "\"clientInfo\":{\"name\":\"integrity-test\",\"version\":\"1.0\"}}}";
}

static const char initialized_line[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

static int call_line(char *buf, size_t cap, long id)
{
    return snprintf(buf, cap,
                    "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"log_operation\",\"arguments\":{"
                    "\"event_type\":\"tool_call\",\"operation_name\":\"op_%ld\","
                    "\"project_id\":\"proj\",\"args\":{\"n\":%ld,"
                    "\"payload\":\"abcdefgh\"},\"result\":{\"ok\":true}}}}",
                    id, id, id);
}

const char *fx_call_line(fx *f, long id)
{
    char buf[512];
    call_line(buf, sizeof buf, id);
    return fx_fmt(f, "%s", buf);
}

const char *fx_calls_file(fx *f, const char *name, long calls)
{
    char *in = fx_path(f, name);
    FILE *fp = fopen(in, "w");
    if (!fp) {
        set_err(f, "cannot write %s", in);
        return NULL;
    }
    char line[512];
    fprintf(fp, "%s\n%s\n", fx_initialize_line(), initialized_line);
    for (long i = 1; i <= calls; i++) {
        call_line(line, sizeof line, i);
        fputs(line, fp);
        fputc('\n', fp);
    }
    if (fclose(fp) != 0) {
        set_err(f, "cannot write %s", in);
        return NULL;
    }
    return in;
}

int fx_fill_db(fx *f, const char *db, long calls, long interval)
{
    const char *in = fx_calls_file(f, ".fill.jsonl", calls);
    if (!in) return -1;
    char *ivl = interval > 0 ? fx_fmt(f, " --checkpoint-interval %ld", interval) : "";
    char *cmd = fx_fmt(f, "%s --db %s --actor t%s <%s", fx_q(f, f->bin),
                       fx_q(f, db ? db : f->db), ivl, fx_q(f, in));
    const char *out, *err;
    int rc = fx_run(f, cmd, &out, &err);
    unlink(in);
    if (rc != 0) {
        set_err(f, "the server exited %d: %.600s", rc, err);
        return -1;
    }
    /* One reply per request (initialize and every call), none an error. */
    long replies = 0;
    for (const char *p = out; (p = strchr(p, '\n')); p++) replies++;
    if (replies != calls + 1 || strstr(out, "\"isError\":true") ||
        strstr(out, "\"error\":{")) {
        set_err(f, "expected %ld clean replies, got %ld lines: %.400s", calls + 1,
                replies, out);
        return -1;
    }
    return 0;
}

int fx_fill(fx *f, long calls, long interval)
{
    return fx_fill_db(f, NULL, calls, interval);
}

int fx_sql(fx *f, const char *sql, const char **out, const char **err)
{
    char *file = fx_fmt(f, "%s/.sql%d", f->dir, f->runs);
    FILE *fp = fopen(file, "w");
    if (!fp || fputs(sql, fp) == EOF || fclose(fp) != 0) {
        set_err(f, "cannot write %s", file);
        return -1;
    }
    int rc = fx_run(f, fx_fmt(f, "sqlite3 -bail %s <%s", fx_q(f, f->db), fx_q(f, file)),
                    out, err);
    unlink(file);
    if (rc != 0) set_err(f, "sqlite3 exited %d: %s", rc, f->last_stderr);
    return rc;
}

const char *fx_sql_text(fx *f, const char *sql)
{
    const char *out;
    if (fx_sql(f, sql, &out, NULL) != 0) return NULL;
    char *s = fx_fmt(f, "%s", out);
    if (!s) return NULL;
    s[strcspn(s, "\n")] = '\0';
    return s;
}

long long fx_sql_int(fx *f, const char *sql)
{
    const char *t = fx_sql_text(f, sql);
    if (!t || !*t) return -1;
    char *end;
    long long v = strtoll(t, &end, 10);
    return *end ? -1 : v;
}

int fx_verify_db(fx *f, const char *db, const char *extra, cJSON **report)
{
    const char *out;
    char *cmd = fx_fmt(f, "%s verify --db %s %s", fx_q(f, f->bin), fx_q(f, db),
                       extra ? extra : "");
    int rc = fx_run(f, cmd, &out, NULL);
    if (report) *report = own_tree(f, cJSON_Parse(out));
    return rc;
}

int fx_verify(fx *f, const char *extra, cJSON **report)
{
    return fx_verify_db(f, f->db, extra, report);
}

cJSON *fx_load_json(fx *f, const char *path)
{
    size_t n;
    char *s = slurp(f, path, &n);
    return s && n ? own_tree(f, cJSON_Parse(s)) : NULL;
}

int fx_report_ok(const cJSON *r)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
}

long long fx_report_num(const cJSON *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

int fx_n_problems(const cJSON *r)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "problems");
    return cJSON_IsArray(p) ? cJSON_GetArraySize(p) : -1;
}

int fx_has_problem(const cJSON *r, long long seq, const char *kind)
{
    const cJSON *p, *list = cJSON_GetObjectItemCaseSensitive(r, "problems");
    cJSON_ArrayForEach(p, list) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "seq");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "kind");
        if (seq >= 0 && (!cJSON_IsNumber(s) || (long long)s->valuedouble != seq))
            continue;
        if (kind && (!cJSON_IsString(k) || strcmp(k->valuestring, kind) != 0))
            continue;
        return 1;
    }
    return 0;
}

int fx_all_problems(const cJSON *r, const char *kind)
{
    const cJSON *p, *list = cJSON_GetObjectItemCaseSensitive(r, "problems");
    cJSON_ArrayForEach(p, list) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "kind");
        if (!cJSON_IsString(k) || strcmp(k->valuestring, kind) != 0) return 0;
    }
    return 1;
}

const char *fx_problems(fx *f, const cJSON *r)
{
    if (!r) return fx_fmt(f, "(no JSON report; stderr: %.500s)", f->last_stderr);
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "problems"));
    const char *t = s ? fx_fmt(f, "%.1500s", s) : "(none)";
    cJSON_free(s);
    return t;
}

/* ---- interactive sessions ---- */

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

fx_session *fx_session_start(fx *f, const char *const *args)
{
    int in[2], out[2];
    if (pipe(in) != 0) return NULL;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return NULL;
    }
    /* Close-on-exec, so that a later session's child does not hold this
    ** one's stdin open (which would keep it from ever seeing EOF). */
    for (int i = 0; i < 2; i++) {
        fcntl(in[i], F_SETFD, FD_CLOEXEC);
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
    }
    const char *argv[64];
    int n = 0;
    argv[n++] = f->bin;
    argv[n++] = "--db";
    argv[n++] = f->db;
    argv[n++] = "--actor";
    argv[n++] = "t";
    for (int i = 0; args && args[i] && n < 62; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return NULL;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 2);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    fx_session *s = calloc(1, sizeof *s);
    if (!s) {
        close(in[1]);
        close(out[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return NULL;
    }
    s->f = f;
    s->pid = pid;
    s->in = in[1];
    s->out = out[0];
    s->next = sessions;
    sessions = s;
    return s;
}

int fx_session_send(fx_session *s, const char *line)
{
    size_t n = strlen(line);
    return write(s->in, line, n) == (ssize_t)n && write(s->in, "\n", 1) == 1 ? 0 : -1;
}

void fx_session_signal(fx_session *s, int sig)
{
    if (s->pid > 0) kill(s->pid, sig);
}

cJSON *fx_session_rpc(fx_session *s, const char *line)
{
    if (fx_session_send(s, line) != 0) return NULL;
    long long deadline = now_ms() + SESSION_TIMEOUT_MS;
    for (;;) {
        char *nl = s->len ? memchr(s->buf, '\n', s->len) : NULL;
        if (nl) {
            *nl = '\0';
            cJSON *j = own_tree(s->f, cJSON_Parse(s->buf));
            size_t used = (size_t)(nl - s->buf) + 1;
            memmove(s->buf, s->buf + used, s->len - used);
            s->len -= used;
            return j;
        }
        long long left = deadline - now_ms();
        if (left <= 0) return NULL;
        struct pollfd p = {.fd = s->out, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0) continue;
        if (s->cap - s->len < 4096) {
            size_t cap = s->cap ? s->cap * 2 : 8192;
            char *b = realloc(s->buf, cap);
            if (!b) return NULL;
            s->buf = b;
            s->cap = cap;
        }
        ssize_t got = read(s->out, s->buf + s->len, s->cap - s->len - 1);
        if (got <= 0) return NULL;
        s->len += (size_t)got;
    }
}

int fx_session_end(fx_session *s)
{
    close(s->in);
    s->in = -1;
    long long deadline = now_ms() + SESSION_TIMEOUT_MS;
    int st;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) break;
        if (now_ms() > deadline) {
            kill_session(s);
            return -1;
        }
        /* Drain stdout so the server can never block writing to it. */
        struct pollfd p = {.fd = s->out, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            char junk[4096];
            if (read(s->out, junk, sizeof junk) <= 0) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    s->pid = -1;
    close(s->out);
    s->out = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
