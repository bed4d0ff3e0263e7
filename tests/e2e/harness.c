/*
** harness.c: the process and pipe plumbing behind harness.h.
*/
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BASE_TIMEOUT_MS 10000
#define WRAPPED_TIMEOUT_MS 60000

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

typedef struct kept {
    void *p;
    int is_json;
} kept;

struct srv {
    pid_t pid;
    int reaped, status;
    int in, out, err; /* our ends of the pipes, -1 once closed */
    int out_eof, err_eof;
    char dir[PATH_MAX];
    char db[PATH_MAX + 16];
    buf o, e;     /* everything read from stdout and stderr */
    size_t o_pos; /* start of the first line not yet returned */
    kept *keep;
    size_t nkeep, ckeep;
    int next_id;
    srv *next; /* the list of live servers */
};

static char last_error[2048];
static char last_line[2048];
static srv *live;
static int cleanup_registered;

const char *h_error(void) { return last_error; }
const char *h_last_line(void) { return last_line; }

static void herr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void herr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

static int wrapped(void)
{
    const char *w = getenv("DSS_E2E_WRAPPER");
    return w && strspn(w, " \t") != strlen(w);
}

static int timeout_ms(void) { return wrapped() ? WRAPPED_TIMEOUT_MS : BASE_TIMEOUT_MS; }

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int buf_reserve(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    b->p[b->len] = '\0';
    return 0;
}

/* ---- ownership ---------------------------------------------------------- */

static void *keep(srv *s, void *p, int is_json)
{
    if (!p) return NULL;
    if (s->nkeep == s->ckeep) {
        size_t cap = s->ckeep ? s->ckeep * 2 : 64;
        kept *k = realloc(s->keep, cap * sizeof *k);
        if (!k) {
            if (is_json) cJSON_Delete(p);
            else free(p);
            herr("out of memory");
            return NULL;
        }
        s->keep = k;
        s->ckeep = cap;
    }
    s->keep[s->nkeep++] = (kept){p, is_json};
    return p;
}

cJSON *srv_keep(srv *s, cJSON *tree) { return keep(s, tree, 1); }

char *srv_fmt(srv *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return keep(s, p, 0);
}

/* ---- temp dirs ---------------------------------------------------------- */

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                char child[PATH_MAX];
                snprintf(child, sizeof child, "%s/%s", path, de->d_name);
                rm_rf(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* ---- reading ------------------------------------------------------------ */

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Read what one fd has; mark EOF. */
static void drain_fd(srv *s, int which)
{
    int *fd = which ? &s->err : &s->out;
    buf *b = which ? &s->e : &s->o;
    int *eof = which ? &s->err_eof : &s->out_eof;
    if (*fd < 0) return;
    if (buf_reserve(b, 65536) != 0) {
        herr("out of memory");
        return;
    }
    ssize_t n = read(*fd, b->p + b->len, 65536);
    if (n > 0) {
        b->len += (size_t)n;
        b->p[b->len] = '\0';
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        *eof = 1;
        close_fd(fd);
    }
}

/*
** Wait up to ms for output (and, when want_write, for room in the stdin
** pipe); read whatever output arrived.  Returns 1 when stdin is writable,
** 0 otherwise, -1 on a poll error.
*/
static int pump(srv *s, int ms, int want_write)
{
    struct pollfd p[3];
    int n = 0, io = -1, ie = -1, iw = -1;
    if (s->out >= 0) { io = n; p[n++] = (struct pollfd){.fd = s->out, .events = POLLIN}; }
    if (s->err >= 0) { ie = n; p[n++] = (struct pollfd){.fd = s->err, .events = POLLIN}; }
    if (want_write && s->in >= 0) {
        iw = n;
        p[n++] = (struct pollfd){.fd = s->in, .events = POLLOUT};
    }
    if (n == 0) {
        if (ms > 0) usleep((useconds_t)(ms < 50 ? ms : 50) * 1000);
        return 0;
    }
    int r = poll(p, (nfds_t)n, ms);
    if (r < 0) return errno == EINTR ? 0 : -1;
    if (io >= 0 && p[io].revents) drain_fd(s, 0);
    if (ie >= 0 && p[ie].revents) drain_fd(s, 1);
    return iw >= 0 && (p[iw].revents & (POLLOUT | POLLERR | POLLHUP)) ? 1 : 0;
}

static int remaining(long long deadline)
{
    long long left = deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

int h_valid_utf8(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + n;
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) { p++; continue; }
        int len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else return 0;
        if (end - p < len || p[1] < lo || p[1] > hi) return 0;
        for (int i = 2; i < len; i++)
            if (p[i] < 0x80 || p[i] > 0xBF) return 0;
        p += len;
    }
    return 1;
}

/* One JSON object on one line, in UTF-8 (RFC 8259, 8.1: JSON text
** exchanged between systems that are not part of a closed ecosystem). */
static int is_json_object_line(const char *p, size_t n)
{
    if (!h_valid_utf8(p, n)) return 0;
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    int ok = v && cJSON_IsObject(v) && end == p + n;
    cJSON_Delete(v);
    return ok && n > 0 && memchr(p, '\n', n) == NULL;
}

static void note_line(const char *p, size_t n)
{
    size_t m = n < sizeof last_line - 1 ? n : sizeof last_line - 1;
    memcpy(last_line, p, m);
    last_line[m] = '\0';
}

/* The next complete line within the deadline: 1 and its span, 0 on
** timeout, -1 at EOF. */
static int next_line(srv *s, long long deadline, const char **line, size_t *len)
{
    for (;;) {
        const char *start = s->o.p ? s->o.p + s->o_pos : NULL;
        const char *nl = start ? memchr(start, '\n', s->o.len - s->o_pos) : NULL;
        if (nl) {
            *line = start;
            *len = (size_t)(nl - start);
            s->o_pos += *len + 1;
            return 1;
        }
        if (s->out < 0) return -1;
        int ms = remaining(deadline);
        if (ms == 0) return 0;
        if (pump(s, ms, 0) < 0) return -1;
    }
}

static const char *recv_line(srv *s, int any_json);

const char *srv_recv_line(srv *s)
{
    return recv_line(s, 0);
}

const char *srv_recv_json_line(srv *s)
{
    return recv_line(s, 1);
}

static const char *recv_line(srv *s, int any_json)
{
    const char *p;
    size_t n;
    int r = next_line(s, now_ms() + timeout_ms(), &p, &n);
    if (r == 0) {
        herr("no reply within %d ms (stderr: %.500s)", timeout_ms(),
             s->e.p ? s->e.p : "");
        return NULL;
    }
    if (r < 0) {
        size_t left = s->o.len - s->o_pos;
        herr("stdout ended%s (stderr: %.800s)",
             left ? " in the middle of a line" : " before a reply",
             s->e.p ? s->e.p : "");
        return NULL;
    }
    note_line(p, n);
    if (!any_json && !is_json_object_line(p, n)) {
        herr("stdout line is not one JSON object: %.300s", last_line);
        return NULL;
    }
    char *copy = malloc(n + 1);
    if (!copy) {
        herr("out of memory");
        return NULL;
    }
    memcpy(copy, p, n);
    copy[n] = '\0';
    return keep(s, copy, 0);
}

cJSON *srv_recv(srv *s)
{
    const char *line = srv_recv_line(s);
    if (!line) return NULL;
    cJSON *v = cJSON_Parse(line);
    if (!v) herr("reply does not parse: %.300s", line);
    return srv_keep(s, v);
}

int srv_silent_for(srv *s, int ms)
{
    const char *p;
    size_t n;
    int r = next_line(s, now_ms() + ms, &p, &n);
    if (r == 1) {
        note_line(p, n);
        herr("unexpected output: %.300s", last_line);
        return 0;
    }
    return 1;
}

/* ---- writing ------------------------------------------------------------ */

int srv_send_raw(srv *s, const void *data, size_t n)
{
    const char *p = data;
    long long deadline = now_ms() + timeout_ms();
    while (n > 0) {
        if (s->in < 0) {
            herr("the server's stdin is closed");
            return -1;
        }
        int ms = remaining(deadline);
        if (ms == 0) {
            herr("the server did not read its input within %d ms", timeout_ms());
            return -1;
        }
        int w = pump(s, ms, 1);
        if (w < 0) {
            herr("poll: %s", strerror(errno));
            return -1;
        }
        if (w == 0) continue;
        ssize_t k = write(s->in, p, n);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            herr("writing to the server: %s (stderr: %.500s)", strerror(errno),
                 s->e.p ? s->e.p : "");
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int srv_send_line(srv *s, const char *text)
{
    if (srv_send_raw(s, text, strlen(text)) != 0) return -1;
    return srv_send_raw(s, "\n", 1);
}

cJSON *srv_rpc(srv *s, const char *line)
{
    if (srv_send_line(s, line) != 0) return NULL;
    return srv_recv(s);
}

cJSON *srv_request(srv *s, const char *method, const char *params_json)
{
    int id = ++s->next_id;
    char *line = params_json
        ? srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}",
                  id, method, params_json)
        : srv_fmt(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}", id, method);
    if (!line) return NULL;
    cJSON *r = srv_rpc(s, line);
    if (!r) return NULL;
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(r, "id");
    if (!cJSON_IsNumber(rid) || rid->valuedouble != id) {
        herr("reply to request %d carries another id: %.300s", id, last_line);
        return NULL;
    }
    return r;
}

cJSON *srv_initialize(srv *s, const char *version)
{
    char *params = srv_fmt(s,
        "{\"protocolVersion\":\"%s\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"e2e-client\",\"version\":\"1.2.3\"}}", version);
    cJSON *r = params ? srv_request(s, "initialize", params) : NULL;
    cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
    if (r && !cJSON_IsObject(res)) {
        herr("initialize failed: %.300s", last_line);
        return NULL;
    }
    if (res && srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}") != 0)
        return NULL;
    return res;
}

cJSON *srv_call(srv *s, const char *tool, const char *args_json)
{
    char *params = args_json
        ? srv_fmt(s, "{\"name\":\"%s\",\"arguments\":%s}", tool, args_json)
        : srv_fmt(s, "{\"name\":\"%s\"}", tool);
    cJSON *r = params ? srv_request(s, "tools/call", params) : NULL;
    if (!r) return NULL;
    cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
    if (!cJSON_IsObject(res)) {
        herr("tools/call %s got no result: %.500s", tool, last_line);
        return NULL;
    }
    return res;
}

static const char *text_block(srv *s, const cJSON *res)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(res, "content");
    if (!cJSON_IsArray(content) || cJSON_GetArraySize(content) != 1) {
        herr("result.content is not an array of one block: %.500s", last_line);
        return NULL;
    }
    const cJSON *b = cJSON_GetArrayItem(content, 0);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(b, "type");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(b, "text");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 ||
        !cJSON_IsString(text)) {
        herr("result.content[0] is not a text block: %.500s", last_line);
        return NULL;
    }
    (void)s;
    return text->valuestring;
}

cJSON *srv_call_ok(srv *s, const char *tool, const char *args_json)
{
    cJSON *res = srv_call(s, tool, args_json);
    if (!res) return NULL;
    const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(res, "isError");
    if (is_error && !cJSON_IsFalse(is_error)) {
        herr("tools/call %s failed: %.500s", tool, last_line);
        return NULL;
    }
    const char *text = text_block(s, res);
    if (!text) return NULL;
    cJSON *sc = cJSON_GetObjectItemCaseSensitive(res, "structuredContent");
    if (!cJSON_IsObject(sc)) {
        herr("tools/call %s has no structuredContent object: %.500s", tool, last_line);
        return NULL;
    }
    cJSON *parsed = srv_keep(s, cJSON_Parse(text));
    if (!parsed || !cJSON_Compare(parsed, sc, 1)) {
        herr("tools/call %s: the text block is not the structuredContent JSON: %.500s",
             tool, last_line);
        return NULL;
    }
    return sc;
}

const char *srv_call_err(srv *s, const char *tool, const char *args_json,
                         const char *word1, const char *word2)
{
    cJSON *res = srv_call(s, tool, args_json);
    if (!res) return NULL;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "isError"))) {
        herr("tools/call %s %s: expected isError true, got: %.500s", tool,
             args_json ? args_json : "", last_line);
        return NULL;
    }
    const char *text = text_block(s, res);
    if (!text) return NULL;
    const char *words[2] = {word1, word2};
    for (int i = 0; i < 2; i++) {
        if (words[i] && !strstr(text, words[i])) {
            herr("tools/call %s %s: error text \"%s\" does not mention \"%s\"",
                 tool, args_json ? args_json : "", text, words[i]);
            return NULL;
        }
    }
    return text;
}

int srv_alive(srv *s)
{
    cJSON *r = srv_request(s, "ping", NULL);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(r, "result");
    if (!r) return 0;
    if (!cJSON_IsObject(res) || res->child) {
        herr("ping did not get {}: %.300s", last_line);
        return 0;
    }
    return 1;
}

/* ---- output as a whole -------------------------------------------------- */

static void drain_now(srv *s)
{
    while ((s->out >= 0 || s->err >= 0)) {
        struct pollfd p[2];
        int n = 0;
        if (s->out >= 0) p[n++] = (struct pollfd){.fd = s->out, .events = POLLIN};
        if (s->err >= 0) p[n++] = (struct pollfd){.fd = s->err, .events = POLLIN};
        if (poll(p, (nfds_t)n, 0) <= 0) return;
        int any = 0;
        for (int i = 0; i < n; i++) {
            if (!p[i].revents) continue;
            any = 1;
            drain_fd(s, p[i].fd == s->err);
        }
        if (!any) return;
    }
}

const char *srv_stdout(srv *s)
{
    drain_now(s);
    return s->o.p ? s->o.p : "";
}

const char *srv_stderr(srv *s)
{
    drain_now(s);
    return s->e.p ? s->e.p : "";
}

int srv_stdout_is_json_lines(srv *s)
{
    drain_now(s);
    size_t at = 0;
    while (at < s->o.len) {
        const char *p = s->o.p + at;
        const char *nl = memchr(p, '\n', s->o.len - at);
        if (!nl) {
            herr("stdout ends with an unterminated line: %.300s", p);
            return 0;
        }
        if (!is_json_object_line(p, (size_t)(nl - p))) {
            note_line(p, (size_t)(nl - p));
            herr("stdout holds a line that is not one JSON object: %.300s", last_line);
            return 0;
        }
        at += (size_t)(nl - p) + 1;
    }
    return 1;
}

/* ---- process lifecycle -------------------------------------------------- */

static void unlink_live(srv *s)
{
    for (srv **pp = &live; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            return;
        }
    }
}

static void cleanup_all(void)
{
    while (live) {
        srv *s = live;
        srv_kill(s);
        srv_free(s);
    }
}

static int decode_status(srv *s)
{
    if (WIFEXITED(s->status)) {
        int code = WEXITSTATUS(s->status);
        if (code == 99 && wrapped()) {
            herr("DSS_E2E_WRAPPER reported errors (exit 99); stderr: %.1500s",
                 s->e.p ? s->e.p : "");
            return SRV_WRAPPER_FAILED;
        }
        return code;
    }
    herr("the server was ended by signal %d; stderr: %.800s",
         WIFSIGNALED(s->status) ? WTERMSIG(s->status) : -1, s->e.p ? s->e.p : "");
    return SRV_SIGNALED;
}

void srv_close_stdin(srv *s) { close_fd(&s->in); }

int srv_wait(srv *s)
{
    if (s->reaped) return decode_status(s);
    close_fd(&s->in);
    long long deadline = now_ms() + timeout_ms();
    while ((s->out >= 0 || s->err >= 0) && remaining(deadline) > 0)
        pump(s, remaining(deadline), 0);
    for (;;) {
        pid_t r = waitpid(s->pid, &s->status, WNOHANG);
        if (r == s->pid) break;
        if (r < 0 && errno != EINTR) {
            herr("waitpid: %s", strerror(errno));
            s->reaped = 1;
            return SRV_SIGNALED;
        }
        if (remaining(deadline) == 0) {
            kill(s->pid, SIGKILL);
            while (waitpid(s->pid, &s->status, 0) < 0 && errno == EINTR) {}
            s->reaped = 1;
            drain_now(s);
            herr("the server did not exit within %d ms after stdin closed; "
                 "killed (stderr: %.800s)", timeout_ms(), s->e.p ? s->e.p : "");
            return SRV_TIMEOUT;
        }
        usleep(2000);
    }
    s->reaped = 1;
    drain_now(s);
    return decode_status(s);
}

void srv_kill(srv *s)
{
    if (!s->reaped) {
        kill(s->pid, SIGKILL);
        while (waitpid(s->pid, &s->status, 0) < 0 && errno == EINTR) {}
        s->reaped = 1;
    }
    close_fd(&s->in);
    drain_now(s);
}

void srv_free(srv *s)
{
    if (!s) return;
    if (!s->reaped) srv_wait(s);
    close_fd(&s->in);
    close_fd(&s->out);
    close_fd(&s->err);
    if (s->dir[0]) rm_rf(s->dir);
    for (size_t i = 0; i < s->nkeep; i++) {
        if (s->keep[i].is_json) cJSON_Delete(s->keep[i].p);
        else free(s->keep[i].p);
    }
    free(s->keep);
    free(s->o.p);
    free(s->e.p);
    unlink_live(s);
    free(s);
}

const char *srv_dir(const srv *s) { return s->dir; }
const char *srv_db(const srv *s) { return s->db; }
int srv_pid(const srv *s) { return (int)s->pid; }

/* arg with every "@DIR@" replaced by the temp dir; owned by s. */
static char *with_dir(srv *s, const char *arg)
{
    const char *at = strstr(arg, "@DIR@");
    if (!at) return (char *)arg;
    char *head = srv_fmt(s, "%.*s%s", (int)(at - arg), arg, s->dir);
    char *rest = head ? with_dir(s, at + 5) : NULL;
    char *all = rest ? srv_fmt(s, "%s%s", head, rest) : NULL;
    return all ? all : (char *)arg;
}

static int cloexec_pipe(int fd[2])
{
    if (pipe(fd) != 0) return -1;
    fcntl(fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(fd[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

/* Split the wrapper's words into argv[0..]; returns the count or -1. */
static int split_words(char *text, char **argv, int max)
{
    int n = 0;
    for (char *tok = strtok(text, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (n == max) return -1;
        argv[n++] = tok;
    }
    return n;
}

srv *srv_start(const srv_opts *opts)
{
    static const srv_opts none = {0};
    if (!opts) opts = &none;
    const char *bin = getenv("DSS_BIN");
    if (!bin || !*bin) {
        herr("DSS_BIN is not set (run through ctest)");
        return NULL;
    }
    if (!cleanup_registered) {
        atexit(cleanup_all);
        signal(SIGPIPE, SIG_IGN);
        cleanup_registered = 1;
    }
    srv *s = calloc(1, sizeof *s);
    if (!s) {
        herr("out of memory");
        return NULL;
    }
    s->in = s->out = s->err = -1;
    s->next_id = 1000;
    s->next = live;
    live = s;
    s->reaped = 1; /* until there is a child */

    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/dss-e2e-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        herr("mkdtemp %s: %s", s->dir, strerror(errno));
        s->dir[0] = '\0';
        srv_free(s);
        return NULL;
    }
    snprintf(s->db, sizeof s->db, "%s/audit.db", s->dir);
    char *xdg = srv_fmt(s, "XDG_DATA_HOME=%s/xdg", s->dir);
    char *home = srv_fmt(s, "HOME=%s/home", s->dir);

    /* argv: wrapper words, the binary, --db, --actor, the test's own. */
    enum { MAX_ARGS = 64 };
    char *argv[MAX_ARGS + 8];
    int argc = 0;
    const char *w = getenv("DSS_E2E_WRAPPER");
    char *wcopy = w ? srv_fmt(s, "%s", w) : NULL;
    if (wcopy) {
        argc = split_words(wcopy, argv, MAX_ARGS / 2);
        if (argc < 0) {
            herr("DSS_E2E_WRAPPER has too many words");
            srv_free(s);
            return NULL;
        }
    }
    argv[argc++] = (char *)bin;
    if (!opts->no_db) {
        argv[argc++] = "--db";
        argv[argc++] = s->db;
    }
    if (!opts->no_actor) {
        argv[argc++] = "--actor";
        argv[argc++] = E2E_ACTOR;
    }
    for (int i = 0; opts->args && opts->args[i]; i++) {
        if (argc >= MAX_ARGS + 6) {
            herr("too many arguments");
            srv_free(s);
            return NULL;
        }
        argv[argc++] = with_dir(s, opts->args[i]);
    }
    const char *env[MAX_ARGS + 1];
    int nenv = 0;
    for (int i = 0; opts->env && opts->env[i] && nenv < MAX_ARGS; i++)
        env[nenv++] = with_dir(s, opts->env[i]);
    env[nenv] = NULL;
    argv[argc] = NULL;

    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if (!xdg || !home || cloexec_pipe(pin) || cloexec_pipe(pout) ||
        cloexec_pipe(perr)) {
        herr("pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (pin[i] >= 0) close(pin[i]);
            if (pout[i] >= 0) close(pout[i]);
            if (perr[i] >= 0) close(perr[i]);
        }
        srv_free(s);
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        herr("fork: %s", strerror(errno));
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]);
        close(perr[0]); close(perr[1]);
        srv_free(s);
        return NULL;
    }
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        signal(SIGPIPE, SIG_DFL);
        static const char *const ours[] = {"DSS_AUDIT_DB", "DSS_AUDIT_ACTOR",
                                           "DSS_AUDIT_MAX_MESSAGE_BYTES",
                                           "DSS_AUDIT_MAX_DEPTH"};
        for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) unsetenv(ours[i]);
        putenv(xdg);
        putenv(home);
        for (int i = 0; env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (!eq) {
                unsetenv(env[i]);
            } else {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
                setenv(name, eq + 1, 1);
            }
        }
        execvp(argv[0], argv);
        dprintf(2, "e2e harness: cannot exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    s->pid = pid;
    s->reaped = 0;
    s->in = pin[1];
    s->out = pout[0];
    s->err = perr[0];
    fcntl(s->in, F_SETFL, fcntl(s->in, F_GETFL) | O_NONBLOCK);
    return s;
}

/* ---- files -------------------------------------------------------------- */

char *srv_read_file(srv *s, const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        herr("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf b = {0};
    for (;;) {
        if (buf_reserve(&b, 65536) != 0) {
            fclose(f);
            free(b.p);
            herr("out of memory");
            return NULL;
        }
        size_t k = fread(b.p + b.len, 1, 65536, f);
        b.len += k;
        if (k == 0) break;
    }
    fclose(f);
    b.p[b.len] = '\0';
    *n = b.len;
    return keep(s, b.p, 0);
}

cJSON *srv_load_json(srv *s, const char *path)
{
    size_t n;
    char *text = srv_read_file(s, path, &n);
    if (!text) return NULL;
    cJSON *v = cJSON_ParseWithLength(text, n);
    if (!v) herr("%s is not valid JSON", path);
    return srv_keep(s, v);
}

int h_memmem(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0) return 1;
    for (size_t i = 0; i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return 1;
    return 0;
}

int h_free_ports(int n, int *ports)
{
    int fds[16], rc = 0, k;
    if (n < 1 || n > 16) return -1;
    for (k = 0; k < n && rc == 0; k++) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        fds[k] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[k] < 0 || bind(fds[k], (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fds[k], (struct sockaddr *)&a, &len) != 0)
            rc = -1;
        else
            ports[k] = ntohs(a.sin_port);
    }
    while (k-- > 0)
        if (fds[k] >= 0) close(fds[k]);
    return rc;
}

int h_free_port(void)
{
    int port;
    return h_free_ports(1, &port) == 0 ? port : -1;
}

int h_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}
