/*
** test_ship.c: ship's sinks against real receivers.
**
** Each case fills a fresh trail through the real binary (so entries are
** scrubbed and chained as in use), starts its receivers, ships with
** tests/ship/shipper.c (the ship module behind the same options the
** command will have) and checks what the receivers got against
** `export --format jsonl` of the same trail:
**   - rsyslog from Debian, started as an unprivileged process with a
**     configuration of its own (imrelp, imrelp with TLS, imtcp, imtcp with
**     TLS), writing each input to a file as RFC 5424 lines;
**   - Node receivers (receivers.mjs) for OTLP/HTTP (decoded with the
**     official protobuf definitions), Splunk HEC and webhooks.
** Everything listens on 127.0.0.1 only; certificates are made by each case
** (certs.sh).  Children are killed and folders removed at exit, whatever
** happened.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test.h"
#include "corpus.h"
#include "fault_util.h" /* slurp, fu_rm_rf, fu_now_ms */
#include "harness.h"    /* serve and wrap over pipes */
#include "pgtest.h"     /* a PostgreSQL database of the case's own */

#undef CHECK /* fault_util's speaks of the harness; these helpers set why */
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) TEST_FAIL_("check failed: %s%s%s", #cond, why[0] ? ": " : "", why); \
    } while (0)

/* Why the last helper failed, for CHECK's message. */
static char why[2048];

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
}

/* A string member by its exact name (names with dots, unlike jpath's). */
static const char *jkey(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* s, or "" for NULL. */
static const char *s0(const char *s)
{
    return s ? s : "";
}

/* ---- processes and folders, cleaned up at exit -------------------------- */

static pid_t live[64];
static int nlive;
static char dirs[8][256];
static int ndirs;

static void forget(pid_t pid)
{
    for (int i = 0; i < nlive; i++)
        if (live[i] == pid) live[i] = live[--nlive];
}

static void cleanup(void)
{
    for (int i = 0; i < nlive; i++) {
        kill(live[i], SIGKILL);
        waitpid(live[i], NULL, 0);
    }
    nlive = 0;
    for (int i = 0; i < ndirs; i++) fu_rm_rf(dirs[i]);
    ndirs = 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

typedef struct spawn_opts {
    const char *in, *out, *err; /* files (NULL: /dev/null) */
    const char *const *env;     /* "K=V" sets, "K" unsets; NULL-ended */
    int as_nobody;              /* through setpriv when we are root */
} spawn_opts;

/* Start argv; its pid, or -1.  DSS_AUDIT_* variables of ours are not
** passed on unless env sets them. */
static pid_t spawn(const char *const *argv, const spawn_opts *o)
{
    static int registered;
    if (!registered) {
        atexit(cleanup);
        registered = 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        extern char **environ;
        for (char **e = environ; *e;) {
            if (strncmp(*e, "DSS_AUDIT_", 10) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
            } else {
                e++;
            }
        }
        for (const char *const *e = o && o->env ? o->env : NULL; e && *e; e++) {
            const char *eq = strchr(*e, '=');
            if (eq) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
                setenv(name, eq + 1, 1);
            } else {
                unsetenv(*e);
            }
        }
        const char *files[3] = {o && o->in ? o->in : "/dev/null", o && o->out ? o->out : "/dev/null",
                                o && o->err ? o->err : "/dev/null"};
        for (int fd = 0; fd < 3; fd++) {
            int f = open(files[fd], fd == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (f < 0 || dup2(f, fd) < 0) _exit(126);
            close(f);
        }
        setpgid(0, 0);
        if (o && o->as_nobody && getuid() == 0) {
            const char *pre[] = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
            const char *args[64];
            int n = 0;
            for (int i = 0; i < 5; i++) args[n++] = pre[i];
            for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
            args[n] = NULL;
            execvp(args[0], (char *const *)args);
        } else {
            execvp(argv[0], (char *const *)argv);
        }
        _exit(127);
    }
    live[nlive++] = pid;
    return pid;
}

/* Wait for pid to exit: its exit status, -2 when a signal ended it, or -1
** after timeout_ms (it is then killed). */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int st;
    int64_t end = fu_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) break;
        if (fu_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            forget(pid);
            return -1;
        }
        sleep_ms(10);
    }
    forget(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}

static void stop_proc(pid_t pid, int sig)
{
    if (pid <= 0) return;
    kill(pid, sig);
    wait_exit(pid, 15000);
}

/* A file's text (caller frees), NULL when absent. */
static char *slurp_text(const char *path)
{
    size_t n;
    return slurp(path, &n);
}

static int count_lines(const char *path)
{
    size_t n;
    char *p = slurp(path, &n);
    int lines = 0;
    for (size_t i = 0; p && i < n; i++) lines += p[i] == '\n';
    free(p);
    return lines;
}

static int mem_has(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (!hay || k == 0 || k > n) return 0;
    for (const char *p = hay; (p = memchr(p, needle[0], n - (size_t)(p - hay) - k + 1));) {
        if (memcmp(p, needle, k) == 0) return 1;
        if ((size_t)(++p - hay) > n - k) break;
    }
    return 0;
}

/* ---- a case's folder and trail ------------------------------------------ */

typedef struct tctx {
    char dir[256];
    char db[600];    /* the trail: audit.db in dir, or a PostgreSQL database */
    char certs[300];
    const char *log; /* --log of fill and export; NULL: the default */
} tctx;

static int t_init(tctx *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/dss-ship-XXXXXX");
    if (!mkdtemp(t->dir)) return -1;
    /* rsyslog runs as nobody: it must reach its folder. */
    chmod(t->dir, 0755);
    snprintf(dirs[ndirs++], sizeof dirs[0], "%s", t->dir);
    snprintf(t->db, sizeof t->db, "%s/audit.db", t->dir);
    snprintf(t->certs, sizeof t->certs, "%s/certs", t->dir);
    return 0;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static char *path(const tctx *t, const char *name)
{
    static char bufs[8][400];
    static int next;
    char *p = bufs[next++ % 8];
    snprintf(p, sizeof bufs[0], "%s/%s", t->dir, name);
    return p;
}

/* Make the case's certificates, once. */
static int make_certs(tctx *t)
{
    char cmd[800], ca[400];
    struct stat st;
    snprintf(ca, sizeof ca, "%s/ca.pem", t->certs);
    if (stat(ca, &st) == 0) return 0;
    mkdir(t->certs, 0755);
    snprintf(cmd, sizeof cmd, "'%s/tests/ship/certs.sh' '%s'", env_or("DSS_SOURCE_DIR", "."),
             t->certs);
    if (system(cmd) != 0) {
        say("certs.sh failed");
        return -1;
    }
    return 0;
}

/* The i-th tools/call of a fill: entries of every severity, text that
** syslog must escape, and some UTF-8. */
static void call_line(char *out, size_t cap, int i)
{
    const char *type = i % 7 == 0 ? "error" : i % 5 == 0 ? "security_event" : i % 3 == 0
        ? "state_transition" : "project_update";
    snprintf(out, cap,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"log_operation\",\"arguments\":{\"event_type\":\"%s\",\"operation_name\":\"op_%d\","
             "\"project_id\":\"proj-%d\",\"args\":{\"n\":%d,\"text\":\"a \\\"quote\\\", a ] "
             "and a \\\\ in caf\\u00e9\"}%s}}}",
             i, type, i, i % 4, i, i % 7 == 0 ? ",\"error\":\"upstream failed\"" : "");
}

/* Append `calls` tools/calls (two entries each: the call and the logged
** operation) to the trail through the real binary. */
static int fill(tctx *t, int first, int calls)
{
    char *in = path(t, "fill.jsonl");
    FILE *f = fopen(in, "w");
    if (!f) return -1;
    fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
               "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
               "\"clientInfo\":{\"name\":\"ship-test\",\"version\":\"2.0\"}}}\n");
    for (int i = first; i < first + calls; i++) {
        char line[1024];
        call_line(line, sizeof line, i);
        fprintf(f, "%s\n", line);
    }
    fclose(f);
    const char *argv[] = {env_or("DSS_BIN", "dss-audit-mcp"), "--db", t->db, "--actor", "tester",
                          t->log ? "--log" : NULL, t->log, NULL};
    spawn_opts o = {.in = in, .out = path(t, "fill.out"), .err = path(t, "fill.err")};
    int rc = wait_exit(spawn(argv, &o), 120000);
    if (rc != 0) say("filling the trail exited %d", rc);
    return rc == 0 ? 0 : -1;
}

/* The trail as `export --format jsonl` prints it, by seq. */
typedef struct entry {
    int64_t seq;
    char id[40], hash[70], event_type[64];
    char *line;
    cJSON *j;
} entry;

typedef struct trail {
    entry *e; /* e[seq - 1] */
    int n;
    char log_id[40];
} trail;

static void trail_free(trail *tr)
{
    for (int i = 0; i < tr->n; i++) {
        free(tr->e[i].line);
        cJSON_Delete(tr->e[i].j);
    }
    free(tr->e);
    memset(tr, 0, sizeof *tr);
}

static int load_trail(tctx *t, trail *tr)
{
    trail_free(tr);
    const char *argv[] = {env_or("DSS_BIN", "dss-audit-mcp"), "export", "--db", t->db,
                          "--format", "jsonl", t->log ? "--log" : NULL, t->log, NULL};
    char *out = path(t, "export.jsonl");
    unlink(out);
    spawn_opts o = {.out = out, .err = path(t, "export.err")};
    if (wait_exit(spawn(argv, &o), 60000) != 0) {
        say("export failed");
        return -1;
    }
    char *text = slurp_text(out);
    if (!text) return -1;
    int cap = 1024;
    tr->e = calloc((size_t)cap, sizeof *tr->e);
    for (char *line = text, *nl; tr->e && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
        if (!cJSON_IsNumber(seq) || seq->valuedouble != tr->n + 1) {
            cJSON_Delete(j);
            say("export line %d is not seq %d", tr->n, tr->n + 1);
            free(text);
            return -1;
        }
        if (tr->n == cap) {
            cap *= 2;
            entry *e = realloc(tr->e, (size_t)cap * sizeof *e);
            if (!e) break;
            tr->e = e;
        }
        entry *e = &tr->e[tr->n++];
        memset(e, 0, sizeof *e);
        e->seq = tr->n;
        e->j = j;
        e->line = strdup(line);
        snprintf(e->id, sizeof e->id, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id")));
        snprintf(e->hash, sizeof e->hash, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "hash")));
        snprintf(e->event_type, sizeof e->event_type, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "event_type")));
        snprintf(tr->log_id, sizeof tr->log_id, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "log_id")));
    }
    free(text);
    return tr->e ? 0 : -1;
}

/* ---- the shipper ---------------------------------------------------------- */

typedef struct run {
    pid_t pid;
    char out[400], err[400];
} run;

/* Start the shipper on t's trail with args (NULL-ended) and env. */
static int ship_start(tctx *t, run *r, const char *const *args, const char *const *env)
{
    static int n;
    const char *argv[64];
    static char wrapper[512], supp[400];
    int k = 0;
    /* DSS_E2E_WRAPPER (valgrind in CI) goes in front, with librelp's own
    ** leaks suppressed. */
    snprintf(wrapper, sizeof wrapper, "%s", env_or("DSS_E2E_WRAPPER", ""));
    for (char *w = strtok(wrapper, " "); w && k < 40; w = strtok(NULL, " ")) argv[k++] = w;
    if (k && strstr(argv[0], "valgrind")) {
        snprintf(supp, sizeof supp, "--suppressions=%s/tests/ship/valgrind.supp",
                 env_or("DSS_SOURCE_DIR", "."));
        argv[k++] = supp;
    }
    argv[k++] = env_or("DSS_SHIPPER", "ship_shipper");
    argv[k++] = "--db";
    argv[k++] = t->db;
    for (int i = 0; args && args[i] && k < 63; i++) argv[k++] = args[i];
    argv[k] = NULL;
    snprintf(r->out, sizeof r->out, "%s/ship%d.out", t->dir, n);
    snprintf(r->err, sizeof r->err, "%s/ship%d.err", t->dir, n++);
    spawn_opts o = {.out = r->out, .err = r->err, .env = env};
    r->pid = spawn(argv, &o);
    return r->pid > 0 ? 0 : -1;
}

/* Ship once and wait: the exit status (the summary is in r->out). */
static int ship_once(tctx *t, run *r, const char *const *args, const char *const *env)
{
    if (ship_start(t, r, args, env) != 0) return -1;
    int rc = wait_exit(r->pid, 180000);
    char *err = slurp_text(r->err);
    say("shipper exited %d; stderr: %.1500s", rc, err ? err : "");
    free(err);
    return rc;
}

static cJSON *summary(const run *r)
{
    char *text = slurp_text(r->out);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

static int64_t sink_cursor(const run *r, int i)
{
    cJSON *s = summary(r);
    const cJSON *sink = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "sinks"), i);
    int64_t c = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sink, "cursor"));
    cJSON_Delete(s);
    return c;
}

static int64_t shipped(const run *r)
{
    cJSON *s = summary(r);
    int64_t n = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "shipped"));
    cJSON_Delete(s);
    return n;
}

/* Wait until `sinks` cursors of t's trail are at seq (or past it): what a
** receiver got is acknowledged, and saved, a moment after it got it. */
static int wait_cursors(tctx *t, int sinks, int64_t seq, int timeout_ms)
{
    char file[400];
    long long have = -1;
    snprintf(file, sizeof file, "%s/audit.db.ship/cursors.db", t->dir);
    for (int64_t end = fu_now_ms() + timeout_ms; fu_now_ms() < end; sleep_ms(50)) {
        char q[128];
        snprintf(q, sizeof q, "SELECT count(*) FROM cursors WHERE seq >= %lld", (long long)seq);
        have = db_scalar(file, q, NULL);
        if (have >= sinks) return 0;
    }
    say("%lld of %d cursors at seq %lld", have, sinks, (long long)seq);
    return -1;
}

/* How many times stderr of r says needle. */
static int err_count(const run *r, const char *needle)
{
    char *text = slurp_text(r->err);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    free(text);
    return n;
}

/* ---- rsyslog ---------------------------------------------------------------- */

typedef struct rsys {
    pid_t pid;
    int relp, relp_tls, tcp, tls; /* ports */
    char dir[300];
} rsys;

/* Does process pid hold the socket listening on 127.0.0.1:port?  The
** listening socket's inode from /proc/net/tcp, looked for among pid's
** descriptors. */
static int listens_in(pid_t pid, int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512], want[40], fd_dir[64];
    unsigned long inodes[8];
    int n = 0, found = 0;
    if (!f) return 0;
    snprintf(want, sizeof want, "0100007F:%04X", (unsigned)port);
    while (fgets(line, sizeof line, f) && n < 8) {
        char local[40], st[8];
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, "%*s %39s %*s %7s %*s %*s %*s %*s %*s %lu", local, st, &inode) == 3 &&
            strcmp(local, want) == 0 && strcmp(st, "0A") == 0)
            inodes[n++] = inode;
    }
    fclose(f);
    snprintf(fd_dir, sizeof fd_dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(fd_dir);
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        char link[400], target[64];
        snprintf(link, sizeof link, "%s/%s", fd_dir, e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k <= 0) continue;
        target[k] = '\0';
        for (int i = 0; i < n && !found; i++) {
            char sock[40];
            snprintf(sock, sizeof sock, "socket:[%lu]", inodes[i]);
            found = strcmp(target, sock) == 0;
        }
    }
    if (d) closedir(d);
    return found;
}

/* rsyslog_start on r's ports: 0, -1, or -2 when one of them was taken
** (another process listens there, not rsyslog), its messages shown. */
static int rsyslog_run(tctx *t, rsys *r)
{
    char conf[400];
    snprintf(conf, sizeof conf, "%s/rsyslog.conf", r->dir);
    FILE *f = fopen(conf, "w");
    if (!f) return -1;
    const char *c = t->certs;
    fprintf(f,
            "global(workDirectory=\"%s\" maxMessageSize=\"256k\")\n"
            "module(load=\"imrelp\")\nmodule(load=\"imtcp\")\n"
            "template(name=\"p23\" type=\"string\" string=\"<%%PRI%%>1 %%TIMESTAMP:::date-rfc3339%% "
            "%%HOSTNAME%% %%APP-NAME%% %%PROCID%% %%MSGID%% %%STRUCTURED-DATA%% %%msg%%\\n\")\n",
            r->dir);
    const char *names[] = {"relp", "relp_tls", "tcp", "tls"};
    for (int i = 0; i < 4; i++)
        fprintf(f, "ruleset(name=\"%s\") { action(type=\"omfile\" file=\"%s/%s.log\" template=\"p23\") }\n",
                names[i], r->dir, names[i]);
    fprintf(f,
            "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"relp\")\n"
            "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"relp_tls\" tls=\"on\" "
            "tls.caCert=\"%s/ca.pem\" tls.myCert=\"%s/server.pem\" tls.myPrivKey=\"%s/server.key\" "
            "tls.authMode=\"certvalid\")\n"
            "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"tcp\")\n"
            "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"tls\" "
            "streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\" "
            "streamDriver.CAFile=\"%s/ca.pem\" streamDriver.CertFile=\"%s/server.pem\" "
            "streamDriver.KeyFile=\"%s/server.key\")\n",
            r->relp, r->relp_tls, c, c, c, r->tcp, r->tls, c, c, c);
    fclose(f);
    char pidfile[400], errf[400];
    snprintf(pidfile, sizeof pidfile, "%s/rsyslog.pid", r->dir);
    snprintf(errf, sizeof errf, "%s/rsyslog.err", r->dir);
    const char *argv[] = {env_or("DSS_RSYSLOGD", "rsyslogd"), "-n", "-f", conf, "-i", pidfile, NULL};
    spawn_opts o = {.err = errf, .out = errf, .as_nobody = 1};
    unlink(errf); /* this run's messages alone */
    r->pid = spawn(argv, &o);
    int rc = -1;
    for (int64_t end = fu_now_ms() + 20000; fu_now_ms() < end; sleep_ms(50)) {
        if (h_port_open(r->relp) && h_port_open(r->relp_tls) && h_port_open(r->tcp) &&
            h_port_open(r->tls)) {
            /* A port taken by another process: rsyslog runs on without
            ** that input, and the other process answers. */
            if (listens_in(r->pid, r->relp) && listens_in(r->pid, r->relp_tls) &&
                listens_in(r->pid, r->tcp) && listens_in(r->pid, r->tls))
                return 0;
            rc = -2;
            break;
        }
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
            forget(r->pid);
            r->pid = 0;
            break;
        }
    }
    if (r->pid) stop_proc(r->pid, SIGKILL);
    r->pid = 0;
    char *e = slurp_text(errf);
    say("rsyslog did not start: %.1000s", e ? e : "");
    free(e);
    return rc;
}

/* Start rsyslog with imrelp, imrelp over TLS, imtcp and imtcp over TLS,
** each writing its own file in r->dir (relp.log, relp_tls.log, tcp.log,
** tls.log) as RFC 5424 lines; ports kept from an earlier start of r.
** Ports are picked free a moment before rsyslog binds them; when one is
** taken in between (tests run in parallel), rsyslog is started again on
** fresh ports.  A restart keeps the ports: the shipper under test was
** told them. */
static int rsyslog_start(tctx *t, rsys *r)
{
    if (r->relp) return rsyslog_run(t, r);
    snprintf(r->dir, sizeof r->dir, "%s/rsyslog", t->dir);
    mkdir(r->dir, 0777);
    chmod(r->dir, 0777); /* written by nobody */
    if (make_certs(t) != 0) return -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        int ports[4];
        if (h_free_ports(4, ports) != 0) return -1;
        r->relp = ports[0];
        r->relp_tls = ports[1];
        r->tcp = ports[2];
        r->tls = ports[3];
        int rc = rsyslog_run(t, r);
        if (rc != -2) return rc;
    }
    return -1;
}

/* Stop rsyslog cleanly (it writes what it queued). */
static void rsyslog_stop(rsys *r)
{
    stop_proc(r->pid, SIGTERM);
    r->pid = 0;
}

static char *rs_file(rsys *r, const char *name)
{
    static char p[2][400];
    static int k;
    char *out = p[k++ % 2];
    snprintf(out, sizeof p[0], "%s/%s.log", r->dir, name);
    return out;
}

/* Wait until path has at least n lines (rsyslog writes asynchronously). */
static int wait_lines(const char *file, int n, int timeout_ms)
{
    int have = 0;
    for (int64_t end = fu_now_ms() + timeout_ms; fu_now_ms() < end; sleep_ms(50))
        if ((have = count_lines(file)) >= n) return 0;
    say("%s has %d lines, not %d", file, have, n);
    return -1;
}

/* ---- RFC 5424 ---------------------------------------------------------------- */

typedef struct m5424 {
    int pri;
    char ts[64], host[300], app[64], procid[64], msgid[64];
    char sdid[64], seq[80], id[80], log[80], hash[80];
    const char *msg; /* into the line, after the BOM if any */
} m5424;

static const char *token(const char *p, char *out, size_t cap)
{
    size_t n = strcspn(p, " ");
    if (!p[n] || n >= cap) return NULL;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n + 1;
}

/* Parse one line of "<PRI>1 TS HOST APP PROCID MSGID [SD] MSG": 0 or -1. */
static int parse5424(const char *line, m5424 *m)
{
    memset(m, 0, sizeof *m);
    char ver[8];
    if (sscanf(line, "<%d>", &m->pri) != 1) return -1;
    const char *p = strchr(line, '>') + 1;
    if (!(p = token(p, ver, sizeof ver)) || strcmp(ver, "1") != 0) return -1;
    if (!(p = token(p, m->ts, sizeof m->ts)) || !(p = token(p, m->host, sizeof m->host)) ||
        !(p = token(p, m->app, sizeof m->app)) || !(p = token(p, m->procid, sizeof m->procid)) ||
        !(p = token(p, m->msgid, sizeof m->msgid)))
        return -1;
    if (*p++ != '[') return -1;
    size_t n = strcspn(p, " ]");
    if (n >= sizeof m->sdid) return -1;
    memcpy(m->sdid, p, n);
    p += n;
    while (*p == ' ') {
        char name[32], value[128];
        size_t k = strcspn(++p, "=");
        if (k >= sizeof name || p[k] != '=' || p[k + 1] != '"') return -1;
        memcpy(name, p, k);
        name[k] = '\0';
        p += k + 2;
        size_t w = 0;
        for (; *p && *p != '"'; p++) {
            if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == ']')) p++;
            if (w + 1 < sizeof value) value[w++] = *p;
        }
        if (*p++ != '"') return -1;
        value[w] = '\0';
        char *dst = strcmp(name, "seq") == 0 ? m->seq : strcmp(name, "id") == 0 ? m->id
                  : strcmp(name, "log") == 0 ? m->log : strcmp(name, "hash") == 0 ? m->hash : NULL;
        if (dst) snprintf(dst, sizeof m->hash, "%.79s", value);
    }
    if (*p++ != ']' || *p++ != ' ') return -1;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    m->msg = p;
    return 0;
}

/* Check a syslog receiver's file against the trail: every line RFC 5424
** with our structured data, MSGID, severity and as MSG the entry (jsonl)
** or, with ocsf, its OCSF event; every entry present, exactly once when
** exactly is set, else at least once with at most max_dup repeats in all.
** 0, or -1 with why. */
static int check_syslog(const char *file, const trail *tr, int exactly, int max_dup, int ocsf)
{
    size_t len;
    char *text = slurp(file, &len);
    int *seen = calloc((size_t)tr->n + 1, sizeof *seen), dups = 0, rc = -1;
    if (!text || !seen) {
        say("cannot read %s", file);
        goto done;
    }
    int lineno = 0;
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        lineno++;
        m5424 m;
        if (parse5424(line, &m) != 0) {
            say("%s:%d is not RFC 5424: %.300s", file, lineno, line);
            goto done;
        }
        long seq = atol(m.seq);
        if (strcmp(m.sdid, "dss-audit@32473") != 0 || seq < 1 || seq > tr->n) {
            say("%s:%d: structured data %s seq %s", file, lineno, m.sdid, m.seq);
            goto done;
        }
        const entry *e = &tr->e[seq - 1];
        int sev = m.pri & 7, fac = m.pri >> 3;
        int want_sev = strcmp(e->event_type, "error") == 0 ? 3
                     : strcmp(e->event_type, "security_event") == 0 ? 4 : 6;
        if (fac != 13 || sev != want_sev || strcmp(m.id, e->id) != 0 ||
            strcmp(m.hash, e->hash) != 0 || strcmp(m.log, tr->log_id) != 0 ||
            strcmp(m.msgid, e->event_type) != 0 || strcmp(m.app, "dss-audit-mcp") != 0) {
            say("%s:%d (seq %ld): pri %d msgid %s id %s hash %s log %s", file, lineno, seq, m.pri,
                m.msgid, m.id, m.hash, m.log);
            goto done;
        }
        if (!ocsf && strcmp(m.msg, e->line) != 0) {
            say("%s:%d: MSG is not the entry: %.300s", file, lineno, m.msg);
            goto done;
        }
        if (ocsf) {
            cJSON *j = cJSON_Parse(m.msg);
            const char *uid = jkey(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "uid");
            int same = uid && strcmp(uid, e->id) == 0 &&
                       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "class_uid")) == 6003;
            cJSON_Delete(j);
            if (!same) {
                say("%s:%d: MSG is not the entry's OCSF event: %.300s", file, lineno, m.msg);
                goto done;
            }
        }
        if (seen[seq]++) dups++;
    }
    for (int s = 1; s <= tr->n; s++)
        if (!seen[s]) {
            say("%s: seq %d never arrived (%d lines)", file, s, lineno);
            goto done;
        }
    if ((exactly && dups) || dups > max_dup) {
        say("%s: %d repeated entries", file, dups);
        goto done;
    }
    rc = 0;
done:
    free(text);
    free(seen);
    return rc;
}

/* ---- HTTP receivers ------------------------------------------------------------ */

typedef struct recv {
    pid_t pid;
    int port;
    char kind[16];
    const tctx *t;
} recv_t;

/* Start receivers.mjs of kind with env (NULL-ended, may be NULL). */
static int recv_start(tctx *t, recv_t *r, const char *kind, const char *const *env)
{
    char script[400], portf[400], errf[400];
    const char *envs[16];
    int k = 0;
    char cert[400], key[400];
    if (strcmp(kind, "otlp") != 0) {
        if (make_certs(t) != 0) return -1;
        snprintf(cert, sizeof cert, "RECV_CERT=%s/server.pem", t->certs);
        snprintf(key, sizeof key, "RECV_KEY=%s/server.key", t->certs);
        envs[k++] = cert;
        envs[k++] = key;
    }
    for (int i = 0; env && env[i] && k < 15; i++) envs[k++] = env[i];
    envs[k] = NULL;
    r->t = t;
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    snprintf(script, sizeof script, "%s/tests/ship/receivers.mjs", env_or("DSS_SOURCE_DIR", "."));
    snprintf(portf, sizeof portf, "%s/%s.port", t->dir, kind);
    snprintf(errf, sizeof errf, "%s/%s.stderr", t->dir, kind);
    unlink(portf);
    const char *argv[] = {env_or("DSS_NODE", "node"), script, kind, t->dir, NULL};
    spawn_opts o = {.out = errf, .err = errf, .env = envs};
    r->pid = spawn(argv, &o);
    for (int64_t end = fu_now_ms() + 20000; fu_now_ms() < end; sleep_ms(30)) {
        char *p = slurp_text(portf);
        if (p) {
            r->port = atoi(p);
            free(p);
            return 0;
        }
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) break;
    }
    char *e = slurp_text(errf);
    say("the %s receiver did not start: %.1000s", kind, e ? e : "");
    free(e);
    return -1;
}

static void recv_stop(recv_t *r)
{
    stop_proc(r->pid, SIGTERM);
    r->pid = 0;
}

/* The decoded lines (DIR/<kind>.jsonl) as a cJSON array (caller frees). */
static cJSON *recv_items(const recv_t *r)
{
    char file[400];
    snprintf(file, sizeof file, "%s/%s.jsonl", r->t->dir, r->kind);
    char *text = slurp_text(file);
    cJSON *a = cJSON_CreateArray();
    for (char *line = text, *nl; text && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON_AddItemToArray(a, cJSON_Parse(line));
    }
    free(text);
    return a;
}

/* The per-request log (DIR/<kind>.log) as a cJSON array (caller frees). */
static cJSON *recv_log(const recv_t *r)
{
    char file[400];
    snprintf(file, sizeof file, "%s/%s.log", r->t->dir, r->kind);
    char *text = slurp_text(file);
    cJSON *a = cJSON_CreateArray();
    for (char *line = text, *nl; text && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON_AddItemToArray(a, cJSON_Parse(line));
    }
    free(text);
    return a;
}

static int wait_items(const recv_t *r, int n, int timeout_ms)
{
    char file[400];
    snprintf(file, sizeof file, "%s/%s.jsonl", r->t->dir, r->kind);
    return wait_lines(file, n, timeout_ms);
}

/* Each entry of the trail once in items, found by get_seq(item); missing
** = 0 entries allowed to be absent (a partial success's dropped record). */
static int check_once(const cJSON *items, const trail *tr, int64_t (*get_seq)(const cJSON *),
                      int missing)
{
    int *seen = calloc((size_t)tr->n + 1, sizeof *seen), absent = 0, rc = -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        int64_t s = get_seq(it);
        if (s < 1 || s > tr->n) {
            say("an item with no known seq");
            goto done;
        }
        if (seen[s]++) {
            say("seq %lld arrived twice", (long long)s);
            goto done;
        }
    }
    for (int s = 1; s <= tr->n; s++) absent += !seen[s];
    if (absent != missing) {
        say("%d entries missing, %d expected missing", absent, missing);
        goto done;
    }
    rc = 0;
done:
    free(seen);
    return rc;
}

/* ---- RELP and syslog ------------------------------------------------------------- */

enum { BIG = 5000 }; /* tools/calls: 10,000 entries */

/* Ship a trail of 10,000 entries to one of rsyslog's inputs ("relp",
** "relp_tls", "tcp" or "tls") through url_fmt (with %d for its port), in
** format ("jsonl" or "ocsf"), then check what rsyslog wrote: every entry exactly once
** (RELP) or at least once (TCP).  0, or -1 with why. */
static int deliver_10000(const char *input, const char *url_fmt, const char *format,
                         int exactly)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    run sh;
    char url[80], ca[400], cert[400], key[400];
    const char *args[16] = {"--to", url, "--ca", ca, "--client-cert", cert, "--client-key", key};
    int k = 8, rc = -1;
    if (t_init(&t) != 0 || fill(&t, 1, BIG) != 0 || load_trail(&t, &tr) != 0) goto done;
    if (tr.n != 2 * BIG) {
        say("the trail holds %d entries", tr.n);
        goto done;
    }
    if (rsyslog_start(&t, &r) != 0) goto done;
    int port = strcmp(input, "relp") == 0 ? r.relp : strcmp(input, "relp_tls") == 0 ? r.relp_tls
             : strcmp(input, "tcp") == 0 ? r.tcp : r.tls;
    snprintf(url, sizeof url, url_fmt, port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    snprintf(cert, sizeof cert, "%s/client.pem", t.certs);
    snprintf(key, sizeof key, "%s/client.key", t.certs);
    args[k++] = "--format";
    args[k++] = format;
    args[k] = NULL;
    if (ship_once(&t, &sh, args, NULL) != 0) goto done;
    cJSON *sum = summary(&sh);
    double n = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "shipped"));
    cJSON_Delete(sum);
    if (n != tr.n) {
        say("the summary says %.0f shipped, not %d", n, tr.n);
        goto done;
    }
    if (wait_lines(rs_file(&r, input), tr.n, 30000) != 0) goto done;
    rsyslog_stop(&r);
    rc = check_syslog(rs_file(&r, input), &tr, exactly, exactly ? 0 : 1000,
                      strcmp(format, "ocsf") == 0);
done:
    if (r.pid) rsyslog_stop(&r);
    trail_free(&tr);
    return rc;
}

TEST(relp_delivers_10000_entries_exactly_once)
{
    CHECK(deliver_10000("relp", "relp://127.0.0.1:%d", "jsonl", 1) == 0);
}

TEST(relp_tls_delivers_10000_entries_to_a_verified_receiver)
{
    CHECK(deliver_10000("relp_tls", "relp+tls://localhost:%d", "jsonl", 1) == 0);
}

TEST(tls_receivers_that_cannot_prove_their_name_are_refused)
{
    tctx t;
    rsys r = {0};
    run sh;
    char relp[64], tls[64], other[400], cert[400], key[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 10) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    snprintf(relp, sizeof relp, "relp+tls://localhost:%d", r.relp_tls);
    snprintf(tls, sizeof tls, "syslog+tls://localhost:%d", r.tls);
    snprintf(other, sizeof other, "%s/other-ca.pem", t.certs);
    snprintf(cert, sizeof cert, "%s/client.pem", t.certs);
    snprintf(key, sizeof key, "%s/client.key", t.certs);
    /* Under a CA that did not sign the receiver's certificate, and under
    ** the system's store: refused, exit 1, even with --follow (waiting
    ** would not make the certificate valid). */
    const char *a1[] = {"--to", relp, "--ca", other, "--client-cert", cert, "--client-key", key, "--follow", NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, a1, NULL), 1);
    CHECK(err_count(&sh, "certificate") >= 1);
    const char *a2[] = {"--to", tls, "--follow", NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, a2, NULL), 1);
    CHECK(err_count(&sh, "certificate") >= 1);
    /* The message names the host and the problem and says what to do. */
    CHECK(err_count(&sh, "the certificate of localhost comes from an unknown CA") >= 1);
    CHECK(err_count(&sh, "no CA in the system's store signed it: give the CA that did "
                         "with --ca FILE") >= 1);
    const char *a2b[] = {"--to", tls, "--ca", other, NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, a2b, NULL), 1);
    CHECK(err_count(&sh, "the certificate of localhost comes from an unknown CA") >= 1);
    CHECK(err_count(&sh, "did not sign it: give the CA that did with --ca") >= 1);
    /* relp+tls without a client certificate would be anonymous TLS: a
    ** usage error before anything is sent. */
    const char *a3[] = {"--to", relp, NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, a3, NULL), 2);
    CHECK(err_count(&sh, "--client-cert") == 1);
    sleep_ms(300);
    rsyslog_stop(&r);
    ASSERT_EQ_INT(count_lines(rs_file(&r, "relp_tls")), 0);
    ASSERT_EQ_INT(count_lines(rs_file(&r, "tls")), 0);
}

TEST(syslog_tls_delivers_10000_entries_at_least_once)
{
    CHECK(deliver_10000("tls", "syslog+tls://localhost:%d", "jsonl", 0) == 0);
}

TEST(syslog_tcp_delivers_10000_entries_at_least_once_as_ocsf)
{
    CHECK(deliver_10000("tcp", "syslog+tcp://127.0.0.1:%d", "ocsf", 0) == 0);
}

TEST(shipping_again_sends_nothing_new)
{
    tctx t;
    rsys r = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 50) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", r.relp);
    const char *args[] = {"--to", url, NULL};
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 100);
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 0);
    CHECK(wait_lines(rs_file(&r, "relp"), 100, 30000) == 0);
    rsyslog_stop(&r);
    ASSERT_EQ_INT(count_lines(rs_file(&r, "relp")), 100);
}

TEST(relp_shipper_killed_mid_stream_resends_at_most_one_batch)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, BIG) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", r.relp);
    /* Small batches, so that the kill lands in the middle of the stream. */
    const char *args[] = {"--to", url, "--batch", "50", NULL};
    CHECK(ship_start(&t, &sh, args, NULL) == 0);
    int before = 0;
    for (int64_t end = fu_now_ms() + 30000; fu_now_ms() < end && before < 500; sleep_ms(2))
        before = count_lines(rs_file(&r, "relp"));
    kill(sh.pid, SIGKILL);
    ASSERT_EQ_INT(wait_exit(sh.pid, 10000), -2);
    sleep_ms(500); /* rsyslog writes what it acknowledged */
    int at_kill = count_lines(rs_file(&r, "relp"));
    if (at_kill >= tr.n) TEST_FAIL_("the shipper finished before the kill (%d lines)", at_kill);
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    CHECK(wait_lines(rs_file(&r, "relp"), tr.n, 30000) == 0);
    rsyslog_stop(&r);
    /* Every entry; repeats only from the batch in flight at the kill. */
    CHECK(check_syslog(rs_file(&r, "relp"), &tr, 0, 50, 0) == 0);
    trail_free(&tr);
}

TEST(relp_receiver_down_under_follow_then_back_gets_everything)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 200) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", r.relp);
    const char *args[] = {"--to", url, "--follow", "--poll-ms", "100", "--backoff-max-ms", "400",
                          NULL};
    CHECK(ship_start(&t, &sh, args, NULL) == 0);
    CHECK(wait_lines(rs_file(&r, "relp"), 400, 30000) == 0);
    /* The receiver goes away while entries keep coming. */
    rsyslog_stop(&r);
    CHECK(fill(&t, 201, 200) == 0);
    sleep_ms(2500); /* several retries */
    CHECK(fill(&t, 401, 100) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    ASSERT_EQ_INT(tr.n, 1000);
    CHECK(wait_lines(rs_file(&r, "relp"), tr.n, 30000) == 0);
    kill(sh.pid, SIGTERM);
    ASSERT_EQ_INT(wait_exit(sh.pid, 20000), 0);
    rsyslog_stop(&r);
    /* Everything arrived.  Repeats: at most the one batch whose session
    ** rsyslog may have written but not closed when it was stopped. */
    CHECK(check_syslog(rs_file(&r, "relp"), &tr, 0, 400, 0) == 0);
    /* The outage was told once, and its end once. */
    ASSERT_EQ_INT(err_count(&sh, "retrying with backoff"), 1);
    ASSERT_EQ_INT(err_count(&sh, "delivering again"), 1);
    trail_free(&tr);
}

/* ---- OTLP ------------------------------------------------------------------------ */

static int64_t otlp_seq(const cJSON *rec)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "attributes");
    return atoll(s0(jkey(cJSON_GetObjectItemCaseSensitive(a, "dss_audit.seq"), "int")));
}

/* Every record against its entry: body, time, severity, attributes. */
static int check_otlp_records(const cJSON *items, const trail *tr)
{
    const cJSON *rec;
    cJSON_ArrayForEach(rec, items) {
        int64_t seq = otlp_seq(rec);
        if (seq < 1 || seq > tr->n) {
            say("a record without dss_audit.seq");
            return -1;
        }
        const entry *e = &tr->e[seq - 1];
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "attributes");
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(rec, "resource");
        const char *body = jkey(rec, "body");
        if (!body || strcmp(body, e->line) != 0) {
            say("seq %lld: the body is not the entry", (long long)seq);
            return -1;
        }
        const char *created = jkey(e->j, "created_at");
        const char *nanos = jkey(rec, "timeUnixNano");
        struct tm tm = {0};
        int us = 0;
        if (!created || !nanos ||
            sscanf(created, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us) != 7) {
            say("seq %lld: no time", (long long)seq);
            return -1;
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        long long want = ((long long)timegm(&tm) * 1000000 + us) * 1000;
        int failed = strcmp(e->event_type, "error") == 0;
        const cJSON *sev = cJSON_GetObjectItemCaseSensitive(rec, "severityNumber");
        if (atoll(nanos) != want || !cJSON_IsNumber(sev) || sev->valueint != (failed ? 17 : 9) ||
            strcmp(s0(jkey(res, "service.name")), "dss-audit-mcp") != 0 ||
            strcmp(s0(jkey(res, "dss_audit.log_id")), tr->log_id) != 0 ||
            strcmp(s0(jkey(a, "dss_audit.id")), e->id) != 0 ||
            strcmp(s0(jkey(a, "dss_audit.hash")), e->hash) != 0 ||
            strcmp(s0(jkey(a, "dss_audit.event_type")), e->event_type) != 0 ||
            strcmp(s0(jkey(a, "user.id")), "tester") != 0) {
            say("seq %lld: time %s (want %lld), severity or attributes differ", (long long)seq,
                nanos, want);
            return -1;
        }
        /* A tool_call entry carries the GenAI and MCP conventions. */
        if (strcmp(e->event_type, "tool_call") == 0 &&
            (strcmp(s0(jkey(a, "gen_ai.tool.name")), s0(jkey(e->j, "operation_name"))) != 0 ||
             !jkey(a, "gen_ai.tool.name") ||
             strcmp(s0(jkey(a, "mcp.method.name")), "tools/call") != 0 ||
             strcmp(s0(jkey(a, "gen_ai.operation.name")), "execute_tool") != 0)) {
            say("seq %lld: a tool_call without gen_ai.tool.name / mcp.method.name", (long long)seq);
            return -1;
        }
        if (failed && strcmp(s0(jkey(a, "error.message")), "upstream failed") != 0) {
            say("seq %lld: error.message", (long long)seq);
            return -1;
        }
    }
    return 0;
}

TEST(otlp_every_entry_decoded_with_its_attributes)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 700) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, NULL};
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv);
    CHECK(check_once(items, &tr, otlp_seq, 0) == 0);
    CHECK(check_otlp_records(items, &tr) == 0);
    cJSON_Delete(items);
    trail_free(&tr);
}

TEST(otlp_503_is_retried_after_retry_after_and_partial_success_reported)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 250) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    const char *env[] = {"RECV_SCRIPT=200,503x3:1,partial,200", NULL};
    CHECK(recv_start(&t, &rv, "otlp", env) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, "--batch", "100", "--follow", "--poll-ms", "100", NULL};
    CHECK(ship_start(&t, &sh, args, NULL) == 0);
    /* 500 entries: 100 + 100 (three 503s, then a partial success dropping
    ** one record) + 300. */
    CHECK(wait_items(&rv, tr.n - 1, 30000) == 0);
    kill(sh.pid, SIGTERM);
    ASSERT_EQ_INT(wait_exit(sh.pid, 20000), 0);
    recv_stop(&rv);
    cJSON *log = recv_log(&rv), *items = recv_items(&rv);
    /* The 503s were retried no sooner than Retry-After (1 s) said. */
    const cJSON *prev = NULL, *req;
    int retries = 0;
    cJSON_ArrayForEach(req, log) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(req, "status");
        if (prev && cJSON_GetObjectItemCaseSensitive(prev, "status")->valueint == 503) {
            double gap = cJSON_GetObjectItemCaseSensitive(req, "t")->valuedouble -
                         cJSON_GetObjectItemCaseSensitive(prev, "t")->valuedouble;
            if (gap < 950) TEST_FAIL_("retried %.0f ms after a Retry-After of 1 s", gap);
            retries++;
        }
        if (st->valueint != 200 && st->valueint != 503) TEST_FAIL_("a request got %d", st->valueint);
        prev = req;
    }
    ASSERT_EQ_INT(retries, 3);
    /* The partially accepted batch was not sent again: one record is
    ** missing, every other arrived once; the drop was told once. */
    CHECK(check_once(items, &tr, otlp_seq, 1) == 0);
    CHECK(check_otlp_records(items, &tr) == 0);
    ASSERT_EQ_INT(err_count(&sh, "partial success: the receiver rejected 1 of 100 records: "
                                 "record 0 dropped by the test"), 1);
    ASSERT_EQ_INT(err_count(&sh, "retrying with backoff"), 1);
    cJSON_Delete(log);
    cJSON_Delete(items);
    trail_free(&tr);
}

TEST(otlp_400_is_a_refusal_not_retried)
{
    tctx t;
    recv_t rv;
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 20) == 0);
    const char *env[] = {"RECV_SCRIPT=400", NULL};
    CHECK(recv_start(&t, &rv, "otlp", env) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, "--follow", NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, args, NULL), 1);
    CHECK(err_count(&sh, "HTTP 400: refused by the test (400)") == 1);
    recv_stop(&rv);
    cJSON *log = recv_log(&rv);
    ASSERT_EQ_INT(cJSON_GetArraySize(log), 1);
    cJSON_Delete(log);
}

/* ---- Splunk HEC ---------------------------------------------------------------------- */

static int64_t hec_seq(const cJSON *ev)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "event");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    return cJSON_IsNumber(seq) ? (int64_t)seq->valuedouble : 0;
}

static int check_hec_events(const cJSON *items, const trail *tr)
{
    const cJSON *ev;
    cJSON_ArrayForEach(ev, items) {
        int64_t seq = hec_seq(ev);
        const entry *e = &tr->e[seq - 1];
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ev, "event"));
        int same = text && strcmp(text, e->line) == 0;
        cJSON_free(text);
        const char *created = jkey(e->j, "created_at");
        struct tm tm = {0};
        int us = 0;
        sscanf(created, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &us);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        double want = (double)timegm(&tm) + (us / 1000) / 1000.0;
        double got = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "time"));
        if (!same || got < want - 0.0005 || got > want + 0.0005 ||
            strcmp(s0(jkey(ev, "host")), "ship-test-host") != 0 ||
            strcmp(s0(jkey(ev, "sourcetype")), "dss-audit:jsonl") != 0) {
            say("seq %lld: event, time %.3f (want %.3f), host or sourcetype", (long long)seq, got,
                want);
            return -1;
        }
    }
    return 0;
}

TEST(hec_delivers_events_with_token_time_host_source_and_sourcetype)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[64], ca[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 600) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    const char *env[] = {"RECV_TOKEN=3f1c0e55-hec-test-token", NULL};
    CHECK(recv_start(&t, &rv, "hec", env) == 0);
    snprintf(url, sizeof url, "splunk-hec+https://localhost:%d", rv.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    const char *args[] = {"--to", url, "--ca", ca, "--hostname", "ship-test-host", NULL};
    const char *senv[] = {"DSS_AUDIT_SINK_TOKEN=3f1c0e55-hec-test-token", NULL};
    CHECK(ship_once(&t, &sh, args, senv) == 0);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv);
    CHECK(check_once(items, &tr, hec_seq, 0) == 0);
    CHECK(check_hec_events(items, &tr) == 0);
    cJSON_Delete(items);
    trail_free(&tr);
}

TEST(hec_waits_for_indexer_acknowledgement)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[64], ca[400], tokf[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 150) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    const char *env[] = {"RECV_TOKEN=ack-token", "RECV_ACK=1", NULL};
    CHECK(recv_start(&t, &rv, "hec", env) == 0);
    snprintf(url, sizeof url, "splunk-hec+https://localhost:%d", rv.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    /* The token from a file this time. */
    snprintf(tokf, sizeof tokf, "%s/token", t.dir);
    FILE *f = fopen(tokf, "w");
    CHECK(f && fputs("ack-token\n", f) >= 0 && fclose(f) == 0);
    const char *args[] = {"--to", url, "--ca", ca, "--batch", "100", "--token-file", tokf,
                          "--hostname", "ship-test-host", NULL};
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    recv_stop(&rv);
    /* Each batch: the events, then polls of its ackId until true (the
    ** receiver says true at the second poll), before the next batch. */
    cJSON *log = recv_log(&rv), *items = recv_items(&rv);
    const cJSON *req;
    int batches = 0, polls = 0, pending = 0;
    cJSON_ArrayForEach(req, log) {
        const cJSON *ack = cJSON_GetObjectItemCaseSensitive(req, "ack");
        if (ack) {
            char key[24];
            polls++;
            snprintf(key, sizeof key, "%d", cJSON_GetArrayItem(ack, 0)->valueint);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(req, "result"), key)))
                pending = 0;
        } else {
            if (pending) TEST_FAIL_("a batch was sent before the previous one was indexed");
            batches++;
            pending = 1;
        }
    }
    ASSERT_EQ_INT(batches, 3);
    ASSERT_EQ_INT(polls, 6);
    CHECK(check_once(items, &tr, hec_seq, 0) == 0);
    cJSON_Delete(log);
    cJSON_Delete(items);
    trail_free(&tr);
}

TEST(hec_wrong_token_is_refused_and_never_shown)
{
    tctx t;
    recv_t rv;
    run sh;
    char url[64], ca[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 5) == 0);
    const char *env[] = {"RECV_TOKEN=the-right-one", NULL};
    CHECK(recv_start(&t, &rv, "hec", env) == 0);
    snprintf(url, sizeof url, "splunk-hec+https://localhost:%d", rv.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    const char *args[] = {"--to", url, "--ca", ca, "--follow", NULL};
    const char *senv[] = {"DSS_AUDIT_SINK_TOKEN=wrong-token-7f3a", NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, args, senv), 1);
    CHECK(err_count(&sh, "HTTP 403: Invalid token") == 1);
    ASSERT_EQ_INT(err_count(&sh, "wrong-token-7f3a"), 0);
    /* Without any token: a usage error naming where it comes from. */
    const char *a2[] = {"--to", url, "--ca", ca, NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, a2, NULL), 2);
    CHECK(err_count(&sh, "DSS_AUDIT_SINK_TOKEN") == 1);
    recv_stop(&rv);
}

/* ---- webhooks ---------------------------------------------------------------------- */

static int64_t webhook_seq(const cJSON *it)
{
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "entry"), "seq");
    return cJSON_IsNumber(seq) ? (int64_t)seq->valuedouble : 0;
}

/* An HTTPS receiver whose certificate no trusted CA signed: refused
** (exit 1, nothing delivered), with the same message as syslog over TLS. */
TEST(https_receiver_under_an_unknown_ca_is_refused_naming_host_and_ca)
{
    tctx t;
    recv_t rv;
    run sh;
    char url[80], other[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 5) == 0);
    const char *env[] = {"RECV_SECRET=hmac-key-for-the-test", NULL};
    CHECK(recv_start(&t, &rv, "webhook", env) == 0);
    snprintf(url, sizeof url, "https://localhost:%d/hooks/audit", rv.port);
    snprintf(other, sizeof other, "%s/other-ca.pem", t.certs);
    const char *args[] = {"--to", url, "--ca", other, "--follow", NULL};
    const char *senv[] = {"DSS_AUDIT_SINK_SECRET=hmac-key-for-the-test", NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, args, senv), 1);
    CHECK(err_count(&sh, "the certificate of localhost comes from an unknown CA") >= 1);
    CHECK(err_count(&sh, "did not sign it: give the CA that did with --ca") >= 1);
    CHECK(err_count(&sh, "other-ca.pem") >= 1);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv);
    CHECK(items);
    ASSERT_EQ_INT(cJSON_GetArraySize(items), 0);
    cJSON_Delete(items);
}

TEST(webhook_batches_are_signed_with_hmac_sha256)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[80], ca[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 300) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    const char *env[] = {"RECV_SECRET=hmac-key-for-the-test", NULL};
    CHECK(recv_start(&t, &rv, "webhook", env) == 0);
    snprintf(url, sizeof url, "https://localhost:%d/hooks/audit", rv.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    const char *args[] = {"--to", url, "--ca", ca, "--batch", "250", NULL};
    const char *senv[] = {"DSS_AUDIT_SINK_SECRET=hmac-key-for-the-test", NULL};
    CHECK(ship_once(&t, &sh, args, senv) == 0);
    /* Signed under another key, every batch is refused (401) and retried,
    ** never accepted. */
    const char *bad[] = {"DSS_AUDIT_SINK_SECRET=not-the-key", NULL};
    const char *a2[] = {"--to", url, "--ca", ca, "--from-start", NULL};
    ASSERT_EQ_INT(ship_once(&t, &sh, a2, bad), 1);
    CHECK(err_count(&sh, "HTTP 401") == 1);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv), *log = recv_log(&rv);
    CHECK(check_once(items, &tr, webhook_seq, 0) == 0);
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it, "entry"));
        int same = text && strcmp(text, tr.e[webhook_seq(it) - 1].line) == 0;
        cJSON_free(text);
        if (!same || strcmp(s0(jkey(it, "log_id")), tr.log_id) != 0)
            TEST_FAIL_("seq %lld: not the entry, or no log_id", (long long)webhook_seq(it));
    }
    ASSERT_EQ_INT(cJSON_GetArraySize(log), 4); /* three batches, one refusal */
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, 3), "status")->valueint, 401);
    cJSON_Delete(items);
    cJSON_Delete(log);
    trail_free(&tr);
}

TEST(webhook_non_2xx_is_retried_with_backoff)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[80], ca[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 50) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    const char *env[] = {"RECV_SECRET=k", "RECV_SCRIPT=500x2,404,200", NULL};
    CHECK(recv_start(&t, &rv, "webhook", env) == 0);
    snprintf(url, sizeof url, "https://localhost:%d/", rv.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    const char *args[] = {"--to", url, "--ca", ca, "--follow", "--backoff-max-ms", "1000", NULL};
    const char *senv[] = {"DSS_AUDIT_SINK_SECRET=k", NULL};
    CHECK(ship_start(&t, &sh, args, senv) == 0);
    CHECK(wait_items(&rv, tr.n, 30000) == 0);
    kill(sh.pid, SIGTERM);
    ASSERT_EQ_INT(wait_exit(sh.pid, 20000), 0);
    recv_stop(&rv);
    cJSON *log = recv_log(&rv), *items = recv_items(&rv);
    ASSERT_EQ_INT(cJSON_GetArraySize(log), 4);
    /* Backoff: the waits grow (100 ms doubling, with jitter of half). */
    double t1 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, 1), "t")->valuedouble -
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, 0), "t")->valuedouble;
    double t3 = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, 3), "t")->valuedouble -
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, 2), "t")->valuedouble;
    if (t1 < 50 || t3 < 200) TEST_FAIL_("retried after %.0f and %.0f ms", t1, t3);
    CHECK(check_once(items, &tr, webhook_seq, 0) == 0);
    ASSERT_EQ_INT(err_count(&sh, "retrying with backoff"), 1);
    cJSON_Delete(log);
    cJSON_Delete(items);
    trail_free(&tr);
}

/* ---- delivery ------------------------------------------------------------------------ */

TEST(first_run_starts_at_the_oldest_then_resumes_at_the_cursor)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 30) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, NULL};
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 60);
    CHECK(fill(&t, 31, 20) == 0);
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 40);
    ASSERT_EQ_INT(sink_cursor(&sh, 0), 100);
    CHECK(load_trail(&t, &tr) == 0);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv);
    CHECK(check_once(items, &tr, otlp_seq, 0) == 0);
    cJSON_Delete(items);
    /* The cursor lives beside the database, in a folder of mode 0700. */
    struct stat st;
    CHECK(stat(path(&t, "audit.db.ship"), &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(path(&t, "audit.db.ship/cursors.db"), &st) == 0 && (st.st_mode & 0077) == 0);
    trail_free(&tr);
}

TEST(from_now_skips_what_is_there_and_from_start_sends_it_again)
{
    tctx t;
    recv_t rv;
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 10) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *now[] = {"--to", url, "--from-now", NULL};
    CHECK(ship_once(&t, &sh, now, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 0);
    ASSERT_EQ_INT(sink_cursor(&sh, 0), 20);
    /* The next plain run goes on from there, not from the oldest. */
    CHECK(fill(&t, 11, 5) == 0);
    const char *plain[] = {"--to", url, NULL};
    CHECK(ship_once(&t, &sh, plain, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 10);
    const char *again[] = {"--to", url, "--from-start", NULL};
    CHECK(ship_once(&t, &sh, again, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 30);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv);
    ASSERT_EQ_INT(cJSON_GetArraySize(items), 40);
    ASSERT_EQ_INT(otlp_seq(cJSON_GetArrayItem(items, 0)), 21);
    ASSERT_EQ_INT(otlp_seq(cJSON_GetArrayItem(items, 10)), 1);
    cJSON_Delete(items);
}

TEST(several_sinks_each_with_its_cursor_one_dead_holds_none_back)
{
    tctx t;
    rsys r = {0};
    recv_t rv;
    trail tr = {0};
    run sh;
    char relp[64], otlp[64], port[16];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 300) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    int dead = h_free_port();
    snprintf(relp, sizeof relp, "relp://127.0.0.1:%d", r.relp);
    snprintf(otlp, sizeof otlp, "otlp+http://127.0.0.1:%d", dead);
    const char *args[] = {"--to", otlp, "--to", relp, "--follow", "--poll-ms", "100",
                          "--backoff-max-ms", "500", NULL};
    CHECK(ship_start(&t, &sh, args, NULL) == 0);
    /* RELP gets everything while nothing listens for OTLP. */
    CHECK(wait_lines(rs_file(&r, "relp"), tr.n, 30000) == 0);
    /* Then the OTLP receiver comes up on that port and catches up. */
    snprintf(port, sizeof port, "RECV_PORT=%d", dead);
    const char *env[] = {port, NULL};
    CHECK(recv_start(&t, &rv, "otlp", env) == 0);
    CHECK(wait_items(&rv, tr.n, 30000) == 0);
    CHECK(wait_cursors(&t, 2, tr.n, 30000) == 0);
    kill(sh.pid, SIGTERM);
    ASSERT_EQ_INT(wait_exit(sh.pid, 20000), 0);
    recv_stop(&rv);
    rsyslog_stop(&r);
    CHECK(check_syslog(rs_file(&r, "relp"), &tr, 1, 0, 0) == 0);
    cJSON *items = recv_items(&rv);
    CHECK(check_once(items, &tr, otlp_seq, 0) == 0);
    cJSON_Delete(items);
    ASSERT_EQ_INT(sink_cursor(&sh, 0), tr.n);
    ASSERT_EQ_INT(sink_cursor(&sh, 1), tr.n);
    ASSERT_EQ_INT(err_count(&sh, "retrying with backoff"), 1);
    trail_free(&tr);
}

TEST(a_second_shipper_to_the_same_sink_is_refused)
{
    tctx t;
    recv_t rv;
    run a, b;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 5) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, "--follow", NULL};
    CHECK(ship_start(&t, &a, args, NULL) == 0);
    CHECK(wait_items(&rv, 10, 20000) == 0);
    ASSERT_EQ_INT(ship_once(&t, &b, args, NULL), 1);
    CHECK(err_count(&b, "another ship process is already shipping this log there") == 1);
    kill(a.pid, SIGTERM);
    ASSERT_EQ_INT(wait_exit(a.pid, 20000), 0);
    recv_stop(&rv);
}

TEST(a_replaced_local_file_is_noticed_not_skipped)
{
    tctx t;
    recv_t rv;
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 20) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, NULL};
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    /* The cursor says seq 40; an older copy of the file ends at 20. */
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s/audit.db.ship/cursors.db' \"UPDATE cursors SET seq = 400\"", t.dir);
    CHECK(system(cmd) == 0);
    ASSERT_EQ_INT(ship_once(&t, &sh, args, NULL), 1);
    CHECK(err_count(&sh, "the local log ends at seq 40, but") == 1);
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s/audit.db.ship/cursors.db' \"UPDATE cursors SET seq = 30\"", t.dir);
    CHECK(system(cmd) == 0);
    ASSERT_EQ_INT(ship_once(&t, &sh, args, NULL), 1);
    CHECK(err_count(&sh, "the local entry at seq 30 is not the one") == 1);
    const char *again[] = {"--to", url, "--from-start", NULL};
    CHECK(ship_once(&t, &sh, again, NULL) == 0);
    recv_stop(&rv);
}

/* Following a local file that is then deleted (or restored over): the
** shipper would wait for entries nothing writes there any more, and the
** receiver would hear nothing, silently.  It stops, exit 1, saying so. */
TEST(following_a_local_file_that_is_deleted_stops_saying_so)
{
    tctx t;
    recv_t rv;
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 5) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, "--follow", "--poll-ms", "100", NULL};
    CHECK(ship_start(&t, &sh, args, NULL) == 0);
    CHECK(wait_items(&rv, 10, 20000) == 0);
    test_unlink_db(t.db);
    ASSERT_EQ_INT(wait_exit(sh.pid, 30000), 1);
    CHECK(err_count(&sh, "was deleted or replaced while shipping followed it") == 1);
    recv_stop(&rv);
}

/* Every entry of the trail in items at least once, and no more than
** repeats arrivals beyond that in all.  0, or -1 with why. */
static int check_all_repeats(const cJSON *items, const trail *tr, int repeats)
{
    int *seen = calloc((size_t)tr->n + 1, sizeof *seen), extra = 0, rc = -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        int64_t s = otlp_seq(it);
        if (s < 1 || s > tr->n) {
            say("an item with no known seq");
            goto done;
        }
        extra += seen[s]++ > 0;
    }
    for (int s = 1; s <= tr->n; s++)
        if (!seen[s]) {
            say("seq %d never arrived", s);
            goto done;
        }
    if (extra > repeats) {
        say("%d entries arrived again, at most %d expected", extra, repeats);
        goto done;
    }
    rc = 0;
done:
    free(seen);
    return rc;
}

/* The shipper reads a local file through a memory map (ship.h,
** map_file).  A file cut short under it ends the shipper, never with
** success: SQLite notices the new size when it next reads and says the
** file is malformed (what this test sees); an I/O error on a mapped page
** would be a SIGBUS instead, which ends the process as kill -9 does
** (relp_shipper_killed_mid_stream_resends_at_most_one_batch).  Either
** way the cursor holds only what the receiver acknowledged, so a restart
** on the whole file delivers every entry, re-sending at most the batch
** that was in flight. */
TEST(a_mapped_file_cut_short_ends_the_shipper_and_a_restart_loses_nothing)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    run sh;
    char url[64], cmd[1400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 500) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    /* The second batch is answered 503 twice, each asking for 2 s: the
    ** file is cut while the shipper waits to send it again. */
    const char *env[] = {"RECV_SCRIPT=200,503x2:2,200", NULL};
    CHECK(recv_start(&t, &rv, "otlp", env) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *args[] = {"--to", url, "--batch", "50", NULL};
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/whole.db'", t.db, t.dir);
    CHECK(system(cmd) == 0);
    CHECK(ship_start(&t, &sh, args, NULL) == 0);
    CHECK(wait_items(&rv, 50, 30000) == 0);
    snprintf(cmd, sizeof cmd, "truncate -s 16384 '%s'", t.db);
    CHECK(system(cmd) == 0);
    int rc = wait_exit(sh.pid, 60000);
    char *err = slurp_text(sh.err);
    say("the shipper on the cut file exited %d; stderr: %.600s", rc, err ? err : "");
    free(err);
    if (rc == 0 || rc == -1) TEST_FAIL_("the shipper did not stop on the cut file (%d)", rc);
    cJSON *items = recv_items(&rv);
    int at_end = cJSON_GetArraySize(items);
    cJSON_Delete(items);
    if (at_end >= tr.n) TEST_FAIL_("every entry went out before the cut (%d)", at_end);
    snprintf(cmd, sizeof cmd, "cp '%s/whole.db' '%s'", t.dir, t.db);
    CHECK(system(cmd) == 0);
    CHECK(ship_once(&t, &sh, args, NULL) == 0);
    recv_stop(&rv);
    items = recv_items(&rv);
    CHECK(check_all_repeats(items, &tr, 50) == 0);
    CHECK(check_otlp_records(items, &tr) == 0);
    cJSON_Delete(items);
    trail_free(&tr);
}

TEST(usage_errors_name_the_problem_before_anything_is_sent)
{
    tctx t;
    run sh;
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 2) == 0);
    static const struct { const char *to, *extra, *says; } cases[] = {
        {"ftp://example.org/", NULL, "names no known sink"},
        {"otlp+http://127.0.0.1:4318", "ocsf", "does not take --format ocsf"},
        {"relp://127.0.0.1", NULL, "needs a port"},
        {"https://user:hunter2@127.0.0.1/x", NULL, "credentials do not belong in the URL"},
        {"https://127.0.0.1/x", NULL, "DSS_AUDIT_SINK_SECRET"},
        {"postgres://localhost/db", "jsonl", "--format does not apply"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[] = {"--to", cases[i].to, cases[i].extra ? "--format" : NULL,
                              cases[i].extra, NULL};
        ASSERT_EQ_INT(ship_once(&t, &sh, args, NULL), 2);
        if (err_count(&sh, cases[i].says) != 1)
            TEST_FAIL_("%s: the message does not say \"%s\"", cases[i].to, cases[i].says);
        ASSERT_EQ_INT(err_count(&sh, "hunter2"), 0);
    }
}

/* ---- secrets ---------------------------------------------------------------------------- */

/* Fill t's trail with the secret corpus in every field (through the
** binary, so the scrubber sees it) and a visible marker. */
static int fill_secrets(tctx *t, const corpus *c, const char *marker)
{
    char *in = path(t, "secrets.jsonl");
    FILE *f = fopen(in, "w");
    if (!f) return -1;
    fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
               "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
               "\"clientInfo\":{\"name\":\"ship-test\",\"version\":\"2.0\"}}}\n");
    for (int i = 0; i < NSECRETS; i++) {
        char q[900];
        quote(q, sizeof q, c->text[i]);
        fprintf(f,
                "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                "\"log_operation\",\"arguments\":{\"event_type\":\"security_event\","
                "\"operation_name\":%s,\"args\":{\"command\":%s,\"nested\":[[{\"note\":%s}]],"
                "\"m\":\"%s\"},\"result\":{\"output\":%s},\"before_state\":{\"env\":%s},"
                "\"after_state\":{\"log\":[%s]},\"error\":%s}}}\n",
                i + 1, q, q, q, marker, q, q, q, q);
    }
    fclose(f);
    const char *argv[] = {env_or("DSS_BIN", "dss-audit-mcp"), "--db", t->db, "--actor", "tester",
                          NULL};
    spawn_opts o = {.in = in, .out = path(t, "secrets.out"), .err = path(t, "secrets.err")};
    return wait_exit(spawn(argv, &o), 60000) == 0 ? 0 : -1;
}

/* Whether a file holds any secret of c; the marker must be there (the
** receiver got the entries at all). */
static int clean_bytes(const char *file, const corpus *c, const char *marker, const char *const *more)
{
    size_t n;
    char *bytes = slurp(file, &n);
    int rc = -1;
    if (!bytes) {
        say("%s is missing", file);
        return -1;
    }
    for (int i = 0; i < NSECRETS; i++)
        if (mem_has(bytes, n, c->secret[i])) {
            say("secret %d (%s) reached %s", i, c->secret[i], file);
            goto done;
        }
    for (int i = 0; more && more[i]; i++)
        if (mem_has(bytes, n, more[i])) {
            say("%s reached %s", more[i], file);
            goto done;
        }
    if (marker && !mem_has(bytes, n, marker)) {
        say("%s does not hold the entries (no marker)", file);
        goto done;
    }
    rc = 0;
done:
    free(bytes);
    return rc;
}

TEST(secrets_in_entries_never_reach_any_receiver)
{
    static corpus c;
    tctx t;
    rsys r = {0};
    recv_t otlp, hec, hook;
    run sh;
    char u[5][80], ca[400], cert[400], key[400];
    const char *marker = "visible-marker-5e2a";
    build(&c);
    CHECK(t_init(&t) == 0);
    CHECK(fill_secrets(&t, &c, marker) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    const char *henv[] = {"RECV_TOKEN=tok", NULL}, *wenv[] = {"RECV_SECRET=sec", NULL};
    CHECK(recv_start(&t, &otlp, "otlp", NULL) == 0);
    CHECK(recv_start(&t, &hec, "hec", henv) == 0);
    CHECK(recv_start(&t, &hook, "webhook", wenv) == 0);
    snprintf(u[0], sizeof u[0], "relp+tls://localhost:%d", r.relp_tls);
    snprintf(u[1], sizeof u[1], "syslog+tcp://127.0.0.1:%d", r.tcp);
    snprintf(u[2], sizeof u[2], "otlp+http://127.0.0.1:%d", otlp.port);
    snprintf(u[3], sizeof u[3], "splunk-hec+https://localhost:%d", hec.port);
    snprintf(u[4], sizeof u[4], "https://localhost:%d/in", hook.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    snprintf(cert, sizeof cert, "%s/client.pem", t.certs);
    snprintf(key, sizeof key, "%s/client.key", t.certs);
    const char *args[] = {"--to", u[0], "--to", u[1], "--to", u[2], "--to", u[3], "--to", u[4],
                          "--ca", ca, "--client-cert", cert, "--client-key", key, NULL};
    const char *env[] = {"DSS_AUDIT_SINK_TOKEN=tok", "DSS_AUDIT_SINK_SECRET=sec", NULL};
    CHECK(ship_once(&t, &sh, args, env) == 0);
    CHECK(wait_lines(rs_file(&r, "relp_tls"), 2 * NSECRETS, 20000) == 0);
    CHECK(wait_lines(rs_file(&r, "tcp"), 2 * NSECRETS, 20000) == 0);
    rsyslog_stop(&r);
    recv_stop(&otlp);
    recv_stop(&hec);
    recv_stop(&hook);
    CHECK(clean_bytes(rs_file(&r, "relp_tls"), &c, marker, NULL) == 0);
    CHECK(clean_bytes(rs_file(&r, "tcp"), &c, marker, NULL) == 0);
    CHECK(clean_bytes(path(&t, "otlp.raw"), &c, marker, NULL) == 0);
    CHECK(clean_bytes(path(&t, "hec.raw"), &c, marker, NULL) == 0);
    CHECK(clean_bytes(path(&t, "webhook.raw"), &c, marker, NULL) == 0);
}

TEST(sink_secrets_never_in_ps_messages_or_the_trail)
{
    tctx t;
    recv_t hook, hec;
    run sh;
    char u[2][80], ca[400];
    const char *token = "hec-token-0b9d6e1f", *secret = "webhook-key-77c41a";
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 20) == 0);
    /* The receivers expect other values: every batch fails, so the
    ** shipper has errors to tell, with the secrets at hand. */
    const char *henv[] = {"RECV_TOKEN=another", NULL}, *wenv[] = {"RECV_SECRET=another", NULL};
    CHECK(recv_start(&t, &hec, "hec", henv) == 0);
    CHECK(recv_start(&t, &hook, "webhook", wenv) == 0);
    snprintf(u[0], sizeof u[0], "splunk-hec+https://localhost:%d", hec.port);
    snprintf(u[1], sizeof u[1], "https://localhost:%d/in?key=%s", hook.port, "query-secret-3d1");
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    char tenv[100], senv[100];
    snprintf(tenv, sizeof tenv, "DSS_AUDIT_SINK_TOKEN=%s", token);
    snprintf(senv, sizeof senv, "DSS_AUDIT_SINK_SECRET=%s", secret);
    const char *env[] = {tenv, senv, NULL};
    const char *args[] = {"--to", u[0], "--to", u[1], "--ca", ca, "--follow",
                          "--backoff-max-ms", "300", NULL};
    CHECK(ship_start(&t, &sh, args, env) == 0);
    sleep_ms(1500);
    /* What ps shows: the command line and the first environment. */
    const char *procs[] = {"cmdline", "environ"};
    for (int i = 0; i < 2; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/%s", (int)sh.pid, procs[i]);
        const char *more[] = {token, secret, NULL};
        CHECK(clean_bytes(p, &(corpus){0}, NULL, more) == 0);
    }
    kill(sh.pid, SIGTERM);
    wait_exit(sh.pid, 20000);
    recv_stop(&hec);
    recv_stop(&hook);
    /* Its messages (which did tell of the failures), the trail, and the
    ** cursors. */
    CHECK(err_count(&sh, "HTTP 403") >= 1 && err_count(&sh, "HTTP 401") >= 1);
    const char *more[] = {token, secret, "query-secret-3d1", NULL};
    CHECK(clean_bytes(sh.err, &(corpus){0}, NULL, more) == 0);
    CHECK(clean_bytes(sh.out, &(corpus){0}, NULL, more) == 0);
    const char *files[] = {"audit.db", "audit.db-wal", "audit.db.ship/cursors.db",
                           "audit.db.ship/cursors.db-wal"};
    for (int i = 0; i < 4; i++) {
        struct stat st;
        if (stat(path(&t, files[i]), &st) != 0) continue;
        CHECK(clean_bytes(path(&t, files[i]), &(corpus){0}, NULL, more) == 0);
    }
}

/* ---- the command ----------------------------------------------------------- */

/* Start `dss-audit-mcp CMD --db <t's trail> args...`: 0, or -1. */
static int command_start(tctx *t, const char *cmd, run *r, const char *const *args,
                         const char *const *env)
{
    static int n;
    const char *argv[48];
    int k = 0;
    argv[k++] = env_or("DSS_BIN", "dss-audit-mcp");
    argv[k++] = cmd;
    argv[k++] = "--db";
    argv[k++] = t->db;
    for (int i = 0; args && args[i] && k < 47; i++) argv[k++] = args[i];
    argv[k] = NULL;
    snprintf(r->out, sizeof r->out, "%s/cmd%d.out", t->dir, n);
    snprintf(r->err, sizeof r->err, "%s/cmd%d.err", t->dir, n++);
    spawn_opts o = {.out = r->out, .err = r->err, .env = env};
    r->pid = spawn(argv, &o);
    return r->pid > 0 ? 0 : -1;
}

/* `dss-audit-mcp ship --db <t's trail> args...` and wait: its exit status. */
static int command_ship(tctx *t, run *r, const char *const *args, const char *const *env)
{
    if (command_start(t, "ship", r, args, env) != 0) return -1;
    int rc = wait_exit(r->pid, 120000);
    char *err = slurp_text(r->err);
    say("ship exited %d; stderr: %.1500s", rc, err ? err : "");
    free(err);
    return rc;
}

TEST(the_ship_command_delivers_to_several_sinks)
{
    tctx t;
    rsys r = {0};
    recv_t hook;
    trail tr = {0};
    run sh;
    char relp[64], url[80], ca[400];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 100) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    CHECK(rsyslog_start(&t, &r) == 0);
    const char *wenv[] = {"RECV_SECRET=command-secret", NULL};
    CHECK(recv_start(&t, &hook, "webhook", wenv) == 0);
    snprintf(relp, sizeof relp, "relp://127.0.0.1:%d", r.relp);
    snprintf(url, sizeof url, "https://localhost:%d/in", hook.port);
    snprintf(ca, sizeof ca, "%s/ca.pem", t.certs);
    const char *args[] = {"--to", relp, "--to", url, "--ca", ca, "--batch", "70", NULL};
    const char *env[] = {"DSS_AUDIT_SINK_SECRET=command-secret", NULL};
    CHECK(command_ship(&t, &sh, args, env) == 0);
    cJSON *sum = summary(&sh);
    const cJSON *sinks = cJSON_GetObjectItemCaseSensitive(sum, "sinks");
    ASSERT_EQ_INT(cJSON_GetArraySize(sinks), 2);
    ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "shipped")), 2 * tr.n);
    cJSON_Delete(sum);
    CHECK(wait_lines(rs_file(&r, "relp"), tr.n, 30000) == 0);
    rsyslog_stop(&r);
    recv_stop(&hook);
    CHECK(check_syslog(rs_file(&r, "relp"), &tr, 1, 0, 0) == 0);
    cJSON *items = recv_items(&hook);
    CHECK(check_once(items, &tr, webhook_seq, 0) == 0);
    cJSON_Delete(items);
    ASSERT_EQ_INT(err_count(&sh, "command-secret"), 0);
    trail_free(&tr);
}

TEST(the_ship_command_refuses_bad_usage_with_status_2)
{
    tctx t;
    run sh;
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 2) == 0);
    static const struct { const char *a[6]; const char *says; } cases[] = {
        {{NULL}, "ship needs --to"},
        {{"--to", "ftp://example.org/", NULL}, "names no known sink"},
        {{"--to", "relp://h:2514", "--from-start", "--from-now", NULL}, "contradict"},
        {{"--to", "relp://h:2514", "--format", "csv", NULL}, "--format is jsonl, ocsf or otlp"},
        {{"--to", "relp://h:2514", "--batch", "0", NULL}, "--batch is a number"},
        {{"--to", "https://h/x", "--secret-file", "/nonexistent/secret", NULL},
         "cannot read the secret file"},
        {{"--to", "https://h/x", NULL}, "DSS_AUDIT_SINK_SECRET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (command_ship(&t, &sh, cases[i].a, NULL) != 2)
            TEST_FAIL_("case %zu did not exit 2: %s", i, why);
        if (err_count(&sh, cases[i].says) < 1)
            TEST_FAIL_("case %zu does not say \"%s\": %s", i, cases[i].says, why);
    }
    /* A secret file holds the secret alone, on one line: others are
    ** refused, never cut to their first line, and never quoted; one that
    ** other users can read is taken with a warning. */
    static const struct { const char *text; int mode; const char *says; } files[] = {
        {"SECRET-ONE\nSECRET-TWO\n", 0600, "holds more than one line"},
        {"SECRET-ONE\001\n", 0600, "holds a control character"},
        {"", 0600, "is empty"},
        {"SECRET-ONE\n", 0644, "can be read by other users"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *file = path(&t, "secret-file");
        FILE *f = fopen(file, "w");
        CHECK(f && fputs(files[i].text, f) >= 0 && fclose(f) == 0);
        CHECK(chmod(file, (mode_t)files[i].mode) == 0);
        const char *a[] = {"--to", "https://127.0.0.1:1/x", "--secret-file", file, NULL};
        int st = command_ship(&t, &sh, a, NULL);
        if (files[i].mode == 0600 && st != 2) TEST_FAIL_("file %zu did not exit 2: %s", i, why);
        if (err_count(&sh, files[i].says) < 1)
            TEST_FAIL_("file %zu does not say \"%s\": %s", i, files[i].says, why);
        if (err_count(&sh, "SECRET-") > 0) TEST_FAIL_("file %zu was quoted", i);
    }
}

/* ---- serve and wrap: --ship-to ----------------------------------------------- */

/* serve on t's trail (or, with fake, wrap around that server) with extra
** options (NULL-ended), over pipes; NULL with why. */
static srv *start_server(tctx *t, const char *fake, const char *const *extra)
{
    const char *args[40];
    int n = 0;
    if (fake) args[n++] = "wrap";
    args[n++] = "--db";
    args[n++] = t->db;
    args[n++] = "--actor";
    args[n++] = "tester";
    if (t->log) {
        args[n++] = "--log";
        args[n++] = t->log;
    }
    for (int i = 0; extra && extra[i] && n < 34; i++) args[n++] = extra[i];
    if (fake) {
        args[n++] = "--";
        args[n++] = fake;
        args[n++] = path(t, "seen.log");
    }
    args[n] = NULL;
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1};
    srv *s = srv_start(&o);
    if (!s) say("cannot start the server: %s", h_error());
    return s;
}

/* calls tools/calls answered one after the other (log_operation on serve,
** the fake's echo through wrap): 0, or -1 with why. */
static int answered_calls(srv *s, int wrapped, int first, int calls)
{
    for (int i = first; i < first + calls; i++) {
        const char *args = wrapped ? srv_fmt(s, "{\"n\":%d}", i)
                                   : srv_fmt(s, "{\"event_type\":\"tool_call\","
                                                "\"operation_name\":\"op_%d\"}", i);
        const cJSON *res = wrapped ? srv_call(s, "echo", args) : srv_call_ok(s, "log_operation", args);
        if (!res || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "isError"))) {
            say("call %d was not answered: %s", i, h_error());
            return -1;
        }
    }
    return 0;
}

/* The entries of t's trail so far (export while the server writes). */
static int entries_now(tctx *t)
{
    trail tr = {0};
    int n = load_trail(t, &tr) == 0 ? tr.n : -1;
    trail_free(&tr);
    return n;
}

/* rsyslog, then serve on t's trail shipping to its RELP input (URL into
** url): calls tools/calls answered, and what they made durable written
** by rsyslog while the session goes on (nothing waits for the end).  The
** server, still running; or NULL with why. */
static srv *serve_shipping(tctx *t, rsys *r, char *url, size_t cap, int calls)
{
    if (rsyslog_start(t, r) != 0) return NULL;
    snprintf(url, cap, "relp://127.0.0.1:%d", r->relp);
    const char *extra[] = {"--ship-to", url, NULL};
    srv *s = start_server(t, NULL, extra);
    int so_far = 0;
    if (!s || !srv_initialize(s, "2025-06-18") || answered_calls(s, 0, 1, calls) != 0 ||
        (so_far = entries_now(t)) < calls || wait_lines(rs_file(r, "relp"), so_far, 30000) != 0)
        return NULL;
    if (!srv_alive(s)) {
        say("the server stopped answering: %s", h_error());
        return NULL;
    }
    return s;
}

/* The server s exits 0, and rsyslog then holds every entry of t's trail
** (loaded into tr) exactly once.  0, or -1 with why. */
static int served_all_once(tctx *t, rsys *r, srv *s, trail *tr)
{
    int rc = srv_wait(s);
    if (rc != 0) {
        say("the server exited %d: %s", rc, srv_stderr(s));
        return -1;
    }
    if (load_trail(t, tr) != 0 || wait_lines(rs_file(r, "relp"), tr->n, 30000) != 0) return -1;
    rsyslog_stop(r);
    return check_syslog(rs_file(r, "relp"), tr, 1, 0, 0);
}

TEST(serve_ships_in_the_background_while_calls_are_answered)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    char url[64];
    CHECK(t_init(&t) == 0);
    srv *s = serve_shipping(&t, &r, url, sizeof url, 60);
    CHECK(s);
    CHECK(answered_calls(s, 0, 61, 60) == 0);
    /* At exit the sink takes what is left: every entry exactly once, and
    ** its cursor at the head, so a later `ship` has nothing to send. */
    CHECK(served_all_once(&t, &r, s, &tr) == 0);
    CHECK(wait_cursors(&t, 1, tr.n, 10000) == 0);
    run sh;
    const char *args[] = {"--to", url, NULL};
    CHECK(command_ship(&t, &sh, args, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), 0);
    srv_free(s);
    trail_free(&tr);
}

TEST(two_servers_on_one_file_deliver_each_entry_once)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    char url[64];
    CHECK(t_init(&t) == 0);
    srv *a = serve_shipping(&t, &r, url, sizeof url, 20);
    CHECK(a);
    /* A second server on the same file ships to the same sink: it stands
    ** by while the first holds the sink's lock. */
    const char *extra[] = {"--ship-to", url, NULL};
    srv *b = start_server(&t, NULL, extra);
    CHECK(b);
    CHECK(srv_initialize(b, "2025-06-18"));
    CHECK(answered_calls(b, 0, 100, 20) == 0);
    CHECK(answered_calls(a, 0, 200, 20) == 0);
    ASSERT_EQ_INT(srv_wait(a), 0);
    /* The first is gone: the second takes over and delivers the rest
    ** while it runs. */
    CHECK(answered_calls(b, 0, 300, 10) == 0);
    int so_far = entries_now(&t);
    CHECK(wait_lines(rs_file(&r, "relp"), so_far, 30000) == 0);
    CHECK(srv_alive(b));
    CHECK(served_all_once(&t, &r, b, &tr) == 0);
    const char *err = srv_stderr(b);
    if (!strstr(err, "standing by") || !strstr(err, "taking over"))
        TEST_FAIL_("the second server did not stand by, then take over: %s", err);
    srv_free(a);
    srv_free(b);
    trail_free(&tr);
}

TEST(wrap_ships_in_the_background_while_calls_are_answered)
{
    tctx t;
    recv_t rv;
    trail tr = {0};
    char url[64];
    const char *fake = getenv("DSS_FAKE_MCP");
    CHECK(fake);
    CHECK(t_init(&t) == 0);
    CHECK(recv_start(&t, &rv, "otlp", NULL) == 0);
    snprintf(url, sizeof url, "otlp+http://127.0.0.1:%d", rv.port);
    const char *extra[] = {"--ship-to", url, NULL};
    srv *s = start_server(&t, fake, extra);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-06-18"));
    CHECK(answered_calls(s, 1, 1, 40) == 0);
    int so_far = entries_now(&t);
    CHECK(so_far >= 40);
    CHECK(wait_items(&rv, so_far, 30000) == 0);
    CHECK(srv_alive(s));
    CHECK(answered_calls(s, 1, 41, 40) == 0);
    ASSERT_EQ_INT(srv_wait(s), 0);
    CHECK(load_trail(&t, &tr) == 0);
    CHECK(wait_items(&rv, tr.n, 30000) == 0);
    recv_stop(&rv);
    cJSON *items = recv_items(&rv);
    CHECK(check_once(items, &tr, otlp_seq, 0) == 0);
    CHECK(check_otlp_records(items, &tr) == 0);
    cJSON_Delete(items);
    srv_free(s);
    trail_free(&tr);
}

/* A TCP port that takes connections and never says a word (the kernel
** completes the handshake; nobody accepts): a receiver that hangs.  The
** listening socket, or -1; *port gets its port. */
static int hung_listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        if (s >= 0) close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

TEST(a_server_whose_sinks_are_dead_or_hung_answers_and_exits_promptly)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    char dead[64], hung[64], hung_otlp[64];
    int hport;
    CHECK(t_init(&t) == 0);
    /* rsyslog's ports, with nothing listening on them for now. */
    CHECK(rsyslog_start(&t, &r) == 0);
    rsyslog_stop(&r);
    int hs = hung_listener(&hport);
    CHECK(hs >= 0);
    snprintf(dead, sizeof dead, "relp://127.0.0.1:%d", r.relp);
    snprintf(hung, sizeof hung, "relp://127.0.0.1:%d", hport);
    snprintf(hung_otlp, sizeof hung_otlp, "otlp+http://127.0.0.1:%d", hport);
    const char *extra[] = {"--ship-to", dead, "--ship-to", hung, "--ship-to", hung_otlp, NULL};
    srv *s = start_server(&t, NULL, extra);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-06-18"));
    CHECK(answered_calls(s, 0, 1, 50) == 0);
    int64_t t0 = fu_now_ms();
    int status = srv_wait(s);
    int64_t took = fu_now_ms() - t0;
    close(hs);
    ASSERT_EQ_INT(status, 0);
    /* The exit waits for the sinks a bounded time (2 s), not for a
    ** receiver's timeout (30 s). */
    if (took > 12000) TEST_FAIL_("the server took %lld ms to exit", (long long)took);
    /* The dead sink's outage is told once, not at every retry. */
    const char *err = srv_stderr(s);
    int told = 0;
    for (const char *p = err; (p = strstr(p, "retrying with backoff")); p++) told++;
    if (told < 1 || told > 2) TEST_FAIL_("the outage was told %d times: %s", told, err);
    /* What was not delivered stays for the next run: `ship` to the sink,
    ** once it is back, sends every entry, once. */
    CHECK(rsyslog_start(&t, &r) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    run sh;
    const char *args[] = {"--to", dead, NULL};
    CHECK(command_ship(&t, &sh, args, NULL) == 0);
    ASSERT_EQ_INT(shipped(&sh), tr.n);
    CHECK(wait_lines(rs_file(&r, "relp"), tr.n, 30000) == 0);
    rsyslog_stop(&r);
    CHECK(check_syslog(rs_file(&r, "relp"), &tr, 1, 0, 0) == 0);
    srv_free(s);
    trail_free(&tr);
}

TEST(serve_refuses_a_bad_ship_to_before_it_starts)
{
    static const struct { const char *a[5]; const char *says; const char *env; } cases[] = {
        {{"--ship-to", "ftp://example.org/", NULL}, "names no known sink", NULL},
        {{NULL}, "names no known sink", "DSS_AUDIT_SHIP_TO=relp://h:2514  ftp://example.org/"},
        {{"--ship-to", "relp://h:2514", "--ship-to", "relp://h:2514", NULL}, "named twice", NULL},
        {{"--ship-to", "relp://h:2514", "--ship-format", "csv", NULL}, "--ship-format", NULL},
        {{"--ship-format", "ocsf", NULL}, "need a sink", NULL},
        {{"--ship-to", "https://h/x", NULL}, "DSS_AUDIT_SINK_SECRET", NULL},
    };
    tctx t;
    CHECK(t_init(&t) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run r;
        const char *env[] = {cases[i].env, NULL};
        CHECK(command_start(&t, "serve", &r, cases[i].a, cases[i].env ? env : NULL) == 0);
        int rc = wait_exit(r.pid, 30000);
        if (rc != 2) TEST_FAIL_("case %zu exited %d, not 2", i, rc);
        if (err_count(&r, cases[i].says) < 1) {
            char *e = slurp_text(r.err);
            TEST_FAIL_("case %zu does not say \"%s\": %s", i, cases[i].says, s0(e));
        }
    }
}

TEST(wrap_refuses_a_bad_ship_to_before_it_starts_its_server)
{
    tctx t;
    run r;
    CHECK(t_init(&t) == 0);
    char touch[600];
    snprintf(touch, sizeof touch, "touch '%s'", path(&t, "started"));
    const char *args[] = {"--ship-to", "ftp://example.org/", "--", "/bin/sh", "-c", touch, NULL};
    CHECK(command_start(&t, "wrap", &r, args, NULL) == 0);
    ASSERT_EQ_INT(wait_exit(r.pid, 30000), 2);
    CHECK(err_count(&r, "names no known sink") >= 1);
    struct stat st;
    ASSERT(stat(path(&t, "started"), &st) != 0); /* the server never ran */
}

/* ---- stats -------------------------------------------------------------------- */

/* `stats --db <t's trail> --json`, parsed (caller frees), or NULL. */
static cJSON *stats_of(tctx *t)
{
    run r;
    const char *args[] = {"--json", NULL};
    if (command_start(t, "stats", &r, args, NULL) != 0 || wait_exit(r.pid, 60000) != 0) {
        say("stats failed");
        return NULL;
    }
    return summary(&r);
}

/* `stats --db <t's trail>` on a terminal: what it printed (caller
** frees), or NULL. */
static char *stats_on_a_terminal(tctx *t)
{
    struct winsize ws = {.ws_row = 40, .ws_col = 160};
    int master, st;
    fflush(NULL);
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    if (pid < 0) return NULL;
    if (pid == 0) {
        unsetenv("DSS_AUDIT_DB");
        execlp(env_or("DSS_BIN", "dss-audit-mcp"), "dss-audit-mcp", "stats", "--db", t->db,
               (char *)NULL);
        _exit(127);
    }
    size_t n = 0, cap = 1 << 16;
    char *out = malloc(cap);
    for (ssize_t k; out && n + 1 < cap && (k = read(master, out + n, cap - n - 1)) > 0;)
        n += (size_t)k;
    close(master);
    waitpid(pid, &st, 0);
    if (out) out[n] = '\0';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        say("stats on a terminal failed: %s", s0(out));
        free(out);
        return NULL;
    }
    return out;
}

TEST(stats_shows_each_sink_with_its_cursor_and_lag_and_nothing_without_sinks)
{
    tctx t;
    rsys r = {0};
    run sh;
    char url[64];
    CHECK(t_init(&t) == 0);
    CHECK(fill(&t, 1, 10) == 0);
    /* No sink yet: not a word about sinks. */
    cJSON *j = stats_of(&t);
    CHECK(j);
    ASSERT(!cJSON_HasObjectItem(j, "sinks"));
    cJSON_Delete(j);
    char *text = stats_on_a_terminal(&t);
    CHECK(text);
    ASSERT(!strstr(text, "SINK") && !strstr(text, "sink"));
    free(text);
    /* Shipped up to 20, then 10 more entries: lag 10. */
    CHECK(rsyslog_start(&t, &r) == 0);
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", r.relp);
    const char *args[] = {"--to", url, NULL};
    CHECK(command_ship(&t, &sh, args, NULL) == 0);
    rsyslog_stop(&r);
    CHECK(fill(&t, 11, 5) == 0);
    j = stats_of(&t);
    CHECK(j);
    const cJSON *sinks = cJSON_GetObjectItemCaseSensitive(j, "sinks");
    ASSERT_EQ_INT(cJSON_GetArraySize(sinks), 1);
    const cJSON *k = cJSON_GetArrayItem(sinks, 0);
    ASSERT_EQ_STR(jkey(k, "sink"), url);
    ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(k, "cursor")), 20);
    ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(k, "lag")), 10);
    ASSERT(jkey(k, "saved_at") && strlen(jkey(k, "saved_at")) >= 20);
    ASSERT(jkey(k, "log") && jkey(k, "log_id"));
    cJSON_Delete(j);
    text = stats_on_a_terminal(&t);
    CHECK(text);
    char *row = strstr(text, url);
    if (!strstr(text, "SINK") || !row) TEST_FAIL_("no sink table: %s", text);
    long long cursor = -1, lag = -1;
    char logname[128];
    if (sscanf(row + strlen(url), " %127s %lld %lld", logname, &cursor, &lag) != 3 ||
        cursor != 20 || lag != 10)
        TEST_FAIL_("the sink's row says cursor %lld lag %lld: %s", cursor, lag, text);
    free(text);
}

/* ---- a shared trail in PostgreSQL: cursors kept in it --------------------------- */

TEST(pg_shared_trail_keeps_its_cursors_in_postgres_one_shipper_at_a_time)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    run a, b, c;
    char url[64];
    CHECK(t_init(&t) == 0);
    pgtest_new_db(t.db, sizeof t.db);
    t.log = "shared-a";
    CHECK(fill(&t, 1, 1500) == 0);
    CHECK(load_trail(&t, &tr) == 0);
    ASSERT_EQ_INT(tr.n, 3000);
    CHECK(rsyslog_start(&t, &r) == 0);
    snprintf(url, sizeof url, "relp://127.0.0.1:%d", r.relp);
    const char *args[] = {"--to", url, "--batch", "50", NULL};
    CHECK(command_start(&t, "ship", &a, args, NULL) == 0);
    int before = 0;
    for (int64_t end = fu_now_ms() + 30000; fu_now_ms() < end && before < 300; sleep_ms(2))
        before = count_lines(rs_file(&r, "relp"));
    /* A second shipper of the same trail to the same sink, from anywhere,
    ** is refused while the first holds the log's lock in PostgreSQL. */
    ASSERT_EQ_INT(command_ship(&t, &b, args, NULL), 1);
    CHECK(err_count(&b, "another ship process is already shipping this log there") >= 1);
    kill(a.pid, SIGKILL);
    ASSERT_EQ_INT(wait_exit(a.pid, 10000), -2);
    sleep_ms(500); /* rsyslog writes what it acknowledged */
    int at_kill = count_lines(rs_file(&r, "relp"));
    if (at_kill >= tr.n) TEST_FAIL_("the shipper finished before the kill (%d lines)", at_kill);
    /* Its cursor is a row of dss_audit.sink_cursors, not a file. */
    long long saved = pgtest_value(t.db, "SELECT seq FROM dss_audit.sink_cursors");
    if (saved < 50 || saved > at_kill)
        TEST_FAIL_("the cursor in PostgreSQL is %lld with %d lines received", saved, at_kill);
    /* The lock went with the killed session: the next shipper resumes. */
    CHECK(command_ship(&t, &c, args, NULL) == 0);
    CHECK(wait_lines(rs_file(&r, "relp"), tr.n, 30000) == 0);
    rsyslog_stop(&r);
    CHECK(check_syslog(rs_file(&r, "relp"), &tr, 0, 50, 0) == 0);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT count(*) FROM dss_audit.sink_cursors"), 1);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT seq FROM dss_audit.sink_cursors"), tr.n);
    /* stats of the shared trail shows the sink where it is. */
    cJSON *j = stats_of(&t);
    CHECK(j);
    const cJSON *k = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "sinks"), 0);
    ASSERT_EQ_STR(jkey(k, "sink"), url);
    ASSERT_EQ_STR(jkey(k, "log"), "shared-a");
    ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(k, "cursor")), tr.n);
    ASSERT_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(k, "lag")), 0);
    cJSON_Delete(j);
    trail_free(&tr);
}

TEST(pg_serve_ships_its_own_log_with_the_cursor_in_postgres)
{
    tctx t;
    rsys r = {0};
    trail tr = {0};
    char url[64];
    CHECK(t_init(&t) == 0);
    pgtest_new_db(t.db, sizeof t.db);
    /* Another log of the same database, which this server does not ship. */
    t.log = "other";
    CHECK(fill(&t, 1, 5) == 0);
    t.log = "server-b";
    srv *s = serve_shipping(&t, &r, url, sizeof url, 30);
    CHECK(s);
    CHECK(served_all_once(&t, &r, s, &tr) == 0);
    ASSERT_EQ_INT(pgtest_value(t.db, "SELECT count(*) FROM dss_audit.sink_cursors"), 1);
    char q[300];
    snprintf(q, sizeof q, "SELECT seq FROM dss_audit.sink_cursors WHERE log_id = '%s'",
             tr.log_id);
    ASSERT_EQ_INT(pgtest_value(t.db, q), tr.n);
    srv_free(s);
    trail_free(&tr);
}

TEST_MAIN(
    TEST_ENTRY(relp_delivers_10000_entries_exactly_once)
    TEST_ENTRY(relp_tls_delivers_10000_entries_to_a_verified_receiver)
    TEST_ENTRY(tls_receivers_that_cannot_prove_their_name_are_refused)
    TEST_ENTRY(syslog_tls_delivers_10000_entries_at_least_once)
    TEST_ENTRY(syslog_tcp_delivers_10000_entries_at_least_once_as_ocsf)
    TEST_ENTRY(shipping_again_sends_nothing_new)
    TEST_ENTRY(relp_shipper_killed_mid_stream_resends_at_most_one_batch)
    TEST_ENTRY(relp_receiver_down_under_follow_then_back_gets_everything)
    TEST_ENTRY(otlp_every_entry_decoded_with_its_attributes)
    TEST_ENTRY(otlp_503_is_retried_after_retry_after_and_partial_success_reported)
    TEST_ENTRY(otlp_400_is_a_refusal_not_retried)
    TEST_ENTRY(hec_delivers_events_with_token_time_host_source_and_sourcetype)
    TEST_ENTRY(hec_waits_for_indexer_acknowledgement)
    TEST_ENTRY(hec_wrong_token_is_refused_and_never_shown)
    TEST_ENTRY(https_receiver_under_an_unknown_ca_is_refused_naming_host_and_ca)
    TEST_ENTRY(webhook_batches_are_signed_with_hmac_sha256)
    TEST_ENTRY(webhook_non_2xx_is_retried_with_backoff)
    TEST_ENTRY(first_run_starts_at_the_oldest_then_resumes_at_the_cursor)
    TEST_ENTRY(from_now_skips_what_is_there_and_from_start_sends_it_again)
    TEST_ENTRY(several_sinks_each_with_its_cursor_one_dead_holds_none_back)
    TEST_ENTRY(a_second_shipper_to_the_same_sink_is_refused)
    TEST_ENTRY(a_replaced_local_file_is_noticed_not_skipped)
    TEST_ENTRY(following_a_local_file_that_is_deleted_stops_saying_so)
    TEST_ENTRY(a_mapped_file_cut_short_ends_the_shipper_and_a_restart_loses_nothing)
    TEST_ENTRY(usage_errors_name_the_problem_before_anything_is_sent)
    TEST_ENTRY(secrets_in_entries_never_reach_any_receiver)
    TEST_ENTRY(sink_secrets_never_in_ps_messages_or_the_trail)
    TEST_ENTRY(the_ship_command_delivers_to_several_sinks)
    TEST_ENTRY(the_ship_command_refuses_bad_usage_with_status_2)
    TEST_ENTRY(serve_ships_in_the_background_while_calls_are_answered)
    TEST_ENTRY(two_servers_on_one_file_deliver_each_entry_once)
    TEST_ENTRY(wrap_ships_in_the_background_while_calls_are_answered)
    TEST_ENTRY(a_server_whose_sinks_are_dead_or_hung_answers_and_exits_promptly)
    TEST_ENTRY(serve_refuses_a_bad_ship_to_before_it_starts)
    TEST_ENTRY(wrap_refuses_a_bad_ship_to_before_it_starts_its_server)
    TEST_ENTRY(stats_shows_each_sink_with_its_cursor_and_lag_and_nothing_without_sinks)
    TEST_ENTRY(pg_shared_trail_keeps_its_cursors_in_postgres_one_shipper_at_a_time)
    TEST_ENTRY(pg_serve_ships_its_own_log_with_the_cursor_in_postgres)
)
