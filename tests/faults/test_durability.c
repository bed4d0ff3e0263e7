/*
** test_durability.c: nothing is answered or forwarded before its record
** was fsynced, through every door: serve (lockstep, pipelined, batches),
** wrap (each call reaches the wrapped server only after its record, and
** each answer reaches the client only after its outcome), wrap --url (the
** same, the server being a remote one over HTTP: the shim also logs the
** JSON-RPC ids sent and received on sockets) and hook (the answer the
** client reads, and the process's exit, come after the event).
**
** kill -9 cannot tell synchronous=OFF from FULL (the page cache survives a
** killed process), so these cases watch the system calls instead: the
** program runs with tests/faults/syncshim.c preloaded, which logs in order
** each line read from stdin, each line written to stdout, each line
** written to or read from wrap's pipes to its server, each successful
** fsync/fdatasync with the file's path, and the exit.  Every tools/call
** writes (at least its own tool_call record), so each of its replies must
** come after a sync of the write-ahead log made after its request was
** read.  A reply sent (or a call forwarded) before the commit, or a commit
** that does not sync, fails here.
*/
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fault_util.h"
#include "peer.h"

enum { MAX_EVENTS = 1 << 16, MAX_REQUESTS = 512 };

typedef struct event {
    char kind; /* R, W, F, Q, S or X (see syncshim.c) */
    long n;    /* R, W, F, Q: lines so far */
    int wal;   /* S: the file was the write-ahead log */
} event;

typedef struct run {
    srv *s;
    long lines_sent;                /* request lines written to the server */
    long call_line[MAX_REQUESTS];   /* tools/call id -> its request line */
} run;

/* Start the program (`serve` unless opts says otherwise; opts may be NULL)
** with the shim preloaded, logging to shim.log in its temp dir. */
static srv *start_shimmed_as(const srv_opts *opts)
{
    const char *shim = getenv("DSS_SYNCSHIM");
    if (!shim || access(shim, R_OK) != 0) {
        fprintf(stderr, "DSS_SYNCSHIM (the shim library) is not set or missing: %s\n",
                shim ? shim : "(unset)");
        return NULL;
    }
    static char preload[PATH_MAX + 16], asan[512];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
    /* Under ASan the shim may come before the sanitizer's runtime. */
    const char *a = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", a ? a : "",
             a && *a ? ":" : "");
    const char *env[16] = {preload, "DSS_SYNCSHIM_LOG=@DIR@/shim.log", asan};
    int n = 3;
    for (int i = 0; opts && opts->env && opts->env[i] && n < 15; i++) env[n++] = opts->env[i];
    env[n] = NULL;
    srv_opts o = opts ? *opts : (srv_opts){0};
    o.env = env;
    return srv_start(&o);
}

static srv *start_shimmed(void) { return start_shimmed_as(NULL); }

static int run_send(run *r, const char *line)
{
    r->lines_sent++;
    return srv_send_line(r->s, line);
}

/* A tools/call request line with this id, recorded as a write to check. */
static const char *call_line(run *r, long id)
{
    r->call_line[id] = r->lines_sent + 1;
    if (id % 3 == 2)
        return srv_fmt(r->s, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
                             "\"params\":{\"name\":\"get_operation_history\","
                             "\"arguments\":{\"limit\":2}}}", id);
    return srv_fmt(r->s, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
                         "\"params\":{\"name\":\"log_operation\",\"arguments\":"
                         "{\"event_type\":\"tool_call\",\"operation_name\":\"durable-%ld\"}}}",
                   id, id);
}

static int read_events(const char *path, event *ev, int *n)
{
    FILE *f = fopen(path, "r");
    char line[4200];
    *n = 0;
    if (!f) return -1;
    while (*n < MAX_EVENTS && fgets(line, sizeof line, f)) {
        event *e = &ev[*n];
        e->kind = line[0];
        e->n = 0;
        e->wal = 0;
        if (e->kind == 'S') {
            line[strcspn(line, "\n")] = '\0';
            size_t len = strlen(line);
            e->wal = len > 4 && strcmp(line + len - 4, "-wal") == 0;
        } else {
            e->n = atol(line + 2);
        }
        (*n)++;
    }
    fclose(f);
    return 0;
}

/* The first event of kind k whose line count reaches n (for H and G,
** which carry a JSON-RPC id: whose id is n), or -1. */
static int first_reaching(const event *ev, int n_ev, char k, long n)
{
    int exact = k == 'H' || k == 'G';
    for (int i = 0; i < n_ev; i++)
        if (ev[i].kind == k && (exact ? ev[i].n == n : ev[i].n >= n)) return i;
    return -1;
}

/* Whether a sync of the write-ahead log came between the first event of
** kind a reaching line na and the first of kind b reaching line nb (X: the
** exit); 1, or 0 with why. */
static int sync_between(const event *ev, int n_ev, char a, long na, char b, long nb,
                        char *why, size_t cap)
{
    int ea = first_reaching(ev, n_ev, a, na);
    int eb = first_reaching(ev, n_ev, b, nb);
    if (ea < 0 || eb < 0) {
        snprintf(why, cap, "%c %ld or %c %ld is not in the shim's log", a, na, b, nb);
        return 0;
    }
    for (int i = ea + 1; i < eb; i++)
        if (ev[i].kind == 'S' && ev[i].wal) return 1;
    snprintf(why, cap, "no WAL sync between %c %ld and %c %ld", a, na, b, nb);
    return 0;
}

/* Check one reply id written as reply line j; 1 when it followed a sync. */
static int followed_a_sync(const run *r, const event *ev, int n_ev, long id, long j,
                           char *why, size_t cap)
{
    char how[128];
    if (sync_between(ev, n_ev, 'R', r->call_line[id], 'W', j, how, sizeof how)) return 1;
    snprintf(why, cap, "id %ld: reply line %ld was written without a WAL sync since its"
                       " request (line %ld) was read (%s)", id, j, r->call_line[id], how);
    return 0;
}

/* The shim's log of s, once it exited: its events (a static array) and
** their number, or NULL with why. */
static const event *load_log(srv *s, int *n_ev, char *why, size_t cap)
{
    static event ev[MAX_EVENTS];
    if (read_events(srv_fmt(s, "%s/shim.log", srv_dir(s)), ev, n_ev) == 0) return ev;
    snprintf(why, cap, "no shim log %s/shim.log (was the shim loaded?)", srv_dir(s));
    return NULL;
}

/* After the server exited: every tools/call reply followed a sync.  Returns
** the number of replies checked, or -1 with why. */
static int check_log(run *r, char *why, size_t cap)
{
    int n_ev;
    const event *ev = load_log(r->s, &n_ev, why, cap);
    if (!ev) return -1;
    const char *out = srv_stdout(r->s);
    long j = 0;
    int checked = 0;
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");
        j++;
        cJSON *reply = cJSON_ParseWithLength(p, len);
        cJSON *one = cJSON_IsArray(reply) ? reply->child : reply;
        for (; one; one = cJSON_IsArray(reply) ? one->next : NULL) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(one, "id");
            long v = cJSON_IsNumber(id) ? (long)id->valuedouble : -1;
            if (v > 0 && v < MAX_REQUESTS && r->call_line[v]) {
                if (!followed_a_sync(r, ev, n_ev, v, j, why, cap)) {
                    cJSON_Delete(reply);
                    return -1;
                }
                checked++;
            }
        }
        cJSON_Delete(reply);
        p += len + (p[len] == '\n');
    }
    return checked;
}

/* The server exits 0 once stdin closes; its output and temp dir stay until
** srv_free(). */
#define END_SERVER(s)                                                        \
    do {                                                                     \
        int st_ = srv_wait(s);                                               \
        if (st_ != 0)                                                        \
            TEST_FAIL_("server exit status %d (%s); stderr: %.800s", st_,    \
                       h_error(), srv_stderr(s));                            \
    } while (0)

/* check(r, why, cap) found every line in order and checked `expected`. */
#define CHECK_SYNCED_BY(check, r, expected)                                  \
    do {                                                                     \
        char why_[512] = "";                                                 \
        int got_ = check((r), why_, sizeof why_);                            \
        if (got_ < 0) TEST_FAIL_("%s", why_);                                \
        ASSERT_EQ_INT(got_, (expected));                                     \
    } while (0)
#define CHECK_SYNCED(r, expected) CHECK_SYNCED_BY(check_log, r, expected)

static const char *initialize_line(run *r, const char *version)
{
    return srv_fmt(r->s, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
                         "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":"
                         "{\"name\":\"durability\",\"version\":\"1\"}}}", version);
}

/* A fresh run: the shimmed server, initialized in this revision. */
#define BEGIN(r, version)                                                    \
    do {                                                                     \
        memset((r), 0, sizeof *(r));                                         \
        CHECK(((r)->s = start_shimmed()) != NULL);                           \
        CHECK(run_send((r), initialize_line((r), (version))) == 0 &&        \
              srv_recv((r)->s));                                             \
    } while (0)

/* Close stdin, wait for exit 0, and check that `acks` replies followed. */
#define END_CHECKED(r, acks)                                                 \
    do {                                                                     \
        END_SERVER((r)->s);                                                  \
        CHECK_SYNCED((r), (acks));                                           \
        srv_free((r)->s);                                                    \
    } while (0)

TEST(lockstep_replies_each_follow_a_sync)
{
    static run r;
    BEGIN(&r, "2025-11-25");
    for (long id = 1; id <= 30; id++) {
        CHECK(run_send(&r, call_line(&r, id)) == 0);
        CHECK(srv_recv(r.s));
    }
    END_CHECKED(&r, 30);
}

TEST(pipelined_replies_each_follow_a_sync)
{
    static run r;
    BEGIN(&r, "2025-11-25");
    /* All at once, so the server groups them into shared commits. */
    char *all = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&all, &len);
    CHECK(m);
    for (long id = 1; id <= 200; id++) {
        fprintf(m, "%s\n", call_line(&r, id));
        r.lines_sent++;
    }
    fclose(m);
    int sent = srv_send_raw(r.s, all, len);
    free(all);
    CHECK(sent == 0);
    for (long id = 1; id <= 200; id++) CHECK(srv_recv(r.s));
    END_CHECKED(&r, 200);
}

TEST(batch_replies_follow_a_sync)
{
    static run r;
    BEGIN(&r, "2025-03-26"); /* the revision with JSON-RPC batches */
    long id = 1;
    for (int b = 0; b < 3; b++) {
        char *batch = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&batch, &len);
        CHECK(m);
        fputc('[', m);
        for (int k = 0; k < 10; k++, id++)
            fprintf(m, "%s%s", k ? "," : "", call_line(&r, id));
        fputc(']', m);
        fclose(m);
        int ok = run_send(&r, batch) == 0;
        free(batch);
        CHECK(ok);
        CHECK(srv_recv_json_line(r.s));
    }
    END_CHECKED(&r, 30);
}

/* ---- wrap ----------------------------------------------------------------- */

/* A wrap run: the lines sent, and which of them are recorded requests. */
typedef struct wrun {
    srv *s;
    long lines_sent;
    long recorded[MAX_REQUESTS]; /* their line numbers */
    int n_recorded;
} wrun;

/* `wrap` around fake_mcp (tests/e2e/fake_mcp.c), with the shim preloaded:
** the shim logs wrap's own pipes only, not the server's. */
static srv *start_wrap_shimmed(void)
{
    const char *fake = getenv("DSS_FAKE_MCP");
    if (!fake) {
        fprintf(stderr, "DSS_FAKE_MCP (the fake server) is not set\n");
        return NULL;
    }
    const char *args[] = {"wrap", "--db", "@DIR@/audit.db", "--actor", E2E_ACTOR,
                          "--", fake, "@DIR@/seen.log", NULL};
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1};
    return start_shimmed_as(&o);
}

/* The next line to send, noted as a recorded request when it is one. */
static const char *wrap_line(wrun *w, const char *line, int recorded)
{
    w->lines_sent++;
    if (recorded && w->n_recorded < MAX_REQUESTS) w->recorded[w->n_recorded++] = w->lines_sent;
    return line;
}

static const char *echo_call(wrun *w, long id)
{
    return wrap_line(w, srv_fmt(w->s, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":"
                                      "\"tools/call\",\"params\":{\"name\":\"echo\","
                                      "\"arguments\":{\"n\":%ld}}}", id, id), 1);
}

/*
** After wrap exited: each recorded request (client line k) was written to
** the server (F k) only after a WAL sync made since it was read (R k); and
** each answer (the server's line j, Q j, relayed as the client's reply line
** j, W j: fake_mcp says nothing else) only after a WAL sync made since it
** arrived, the sync of its outcome.  Returns the number of lines checked,
** or -1 with why.
*/
static int check_wrap_log(wrun *w, char *why, size_t cap)
{
    int n_ev, checked = 0;
    char how[128];
    const event *ev = load_log(w->s, &n_ev, why, cap);
    if (!ev) return -1;
    for (int i = 0; i < w->n_recorded; i++, checked++) {
        long k = w->recorded[i];
        if (!sync_between(ev, n_ev, 'R', k, 'F', k, how, sizeof how)) {
            snprintf(why, cap, "request line %ld reached the server before its record "
                               "was synced (%s)", k, how);
            return -1;
        }
    }
    long replies = 0;
    for (const char *p = srv_stdout(w->s); (p = strchr(p, '\n')); p++) replies++;
    for (long j = 1; j <= replies; j++, checked++) {
        if (!sync_between(ev, n_ev, 'Q', j, 'W', j, how, sizeof how)) {
            snprintf(why, cap, "reply line %ld reached the client before its outcome "
                               "was synced (%s)", j, how);
            return -1;
        }
    }
    return checked;
}

static const char WRAP_INIT[] =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"durability\",\"version\":\"1\"}}}";
static const char WRAP_INITIALIZED[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

TEST(wrap_lockstep_calls_reach_the_server_after_their_sync)
{
    static wrun w;
    memset(&w, 0, sizeof w);
    CHECK((w.s = start_wrap_shimmed()) != NULL);
    CHECK(srv_send_line(w.s, wrap_line(&w, WRAP_INIT, 1)) == 0 && srv_recv(w.s));
    CHECK(srv_send_line(w.s, wrap_line(&w, WRAP_INITIALIZED, 0)) == 0);
    for (long id = 1; id <= 20; id++) {
        CHECK(srv_send_line(w.s, echo_call(&w, id)) == 0);
        CHECK(srv_recv(w.s));
    }
    END_SERVER(w.s);
    /* 21 requests forwarded after their records, 21 answers after theirs. */
    CHECK_SYNCED_BY(check_wrap_log, &w, 42);
    srv_free(w.s);
}

TEST(wrap_pipelined_calls_reach_the_server_after_their_sync)
{
    static wrun w;
    memset(&w, 0, sizeof w);
    CHECK((w.s = start_wrap_shimmed()) != NULL);
    CHECK(srv_send_line(w.s, wrap_line(&w, WRAP_INIT, 1)) == 0 && srv_recv(w.s));
    /* All at once, so that wrap records many in one group. */
    char *all = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&all, &len);
    CHECK(m);
    fprintf(m, "%s\n", wrap_line(&w, WRAP_INITIALIZED, 0));
    for (long id = 1; id <= 150; id++) fprintf(m, "%s\n", echo_call(&w, id));
    fclose(m);
    int sent = srv_send_raw(w.s, all, len);
    free(all);
    CHECK(sent == 0);
    for (long id = 1; id <= 150; id++) CHECK(srv_recv(w.s));
    END_SERVER(w.s);
    CHECK_SYNCED_BY(check_wrap_log, &w, 302);
    srv_free(w.s);
}

/* ---- wrap --url -------------------------------------------------------------- */

/* A wrap --url run: the request line of each recorded request's id. */
typedef struct urun {
    srv *s;
    long lines_sent;
    long line_of[MAX_REQUESTS];
} urun;

/* `wrap --url` to p (the stateful test server: answers over SSE), with
** the shim preloaded. */
static srv *start_wrap_url_shimmed(peer *p)
{
    static char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp", p->port);
    const char *args[] = {"wrap", "--db", "@DIR@/audit.db", "--actor", E2E_ACTOR,
                          "--auth", "none", "--url", url, NULL};
    const char *env[] = {"XDG_CONFIG_HOME=@DIR@/xdg", NULL};
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    return start_shimmed_as(&o);
}

/* The next line to send, noted with its id when it is a recorded request. */
static const char *url_line(urun *u, long id, const char *line)
{
    u->lines_sent++;
    if (id > 0 && id < MAX_REQUESTS) u->line_of[id] = u->lines_sent;
    return line;
}

static const char *url_call(urun *u, long id)
{
    return url_line(u, id, srv_fmt(u->s, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":"
                                         "\"tools/call\",\"params\":{\"name\":\"echo\","
                                         "\"arguments\":{\"text\":\"n%ld\"}}}", id, id));
}

/*
** After wrap --url exited: each recorded request (id k, client line n)
** went out on a socket (H k) only after a WAL sync made since it was read
** (R n); and each answer (client reply line j, id k) was written (W j)
** only after a WAL sync made since it came in from the network (G k).
** Returns the number checked, or -1 with why.
*/
static int check_wrap_url_log(urun *u, char *why, size_t cap)
{
    int n_ev, checked = 0;
    char how[128];
    const event *ev = load_log(u->s, &n_ev, why, cap);
    if (!ev) return -1;
    for (long id = 1; id < MAX_REQUESTS; id++) {
        if (!u->line_of[id]) continue;
        if (!sync_between(ev, n_ev, 'R', u->line_of[id], 'H', id, how, sizeof how)) {
            snprintf(why, cap, "request %ld reached the network before its record was "
                               "synced (%s)", id, how);
            return -1;
        }
        checked++;
    }
    long j = 0;
    for (const char *p = srv_stdout(u->s); *p;) {
        size_t len = strcspn(p, "\n");
        j++;
        cJSON *reply = cJSON_ParseWithLength(p, len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
        long k = cJSON_IsNumber(id) ? (long)id->valuedouble : -1;
        cJSON_Delete(reply);
        if (k > 0 && k < MAX_REQUESTS && u->line_of[k]) {
            if (!sync_between(ev, n_ev, 'G', k, 'W', j, how, sizeof how)) {
                snprintf(why, cap, "the answer to %ld (reply line %ld) reached the client "
                                   "before its outcome was synced (%s)", k, j, how);
                return -1;
            }
            checked++;
        }
        p += len + (p[len] == '\n');
    }
    return checked;
}

static const char URL_INIT[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
    "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"durability\",\"version\":\"1\"}}}";

TEST(wrap_url_lockstep_calls_reach_the_network_after_their_sync)
{
    static urun u;
    memset(&u, 0, sizeof u);
    peer *p = peer_start("legacy");
    CHECK(p);
    CHECK((u.s = start_wrap_url_shimmed(p)) != NULL);
    CHECK(srv_send_line(u.s, url_line(&u, 1, URL_INIT)) == 0 && srv_recv(u.s));
    CHECK(srv_send_line(u.s, url_line(&u, 0, WRAP_INITIALIZED)) == 0);
    for (long id = 2; id <= 21; id++) {
        CHECK(srv_send_line(u.s, url_call(&u, id)) == 0);
        CHECK(srv_recv(u.s));
    }
    END_SERVER(u.s);
    /* 21 requests sent after their records, 21 answers after theirs. */
    CHECK_SYNCED_BY(check_wrap_url_log, &u, 42);
    srv_free(u.s);
}

TEST(wrap_url_pipelined_calls_reach_the_network_after_their_sync)
{
    static urun u;
    memset(&u, 0, sizeof u);
    peer *p = peer_start("legacy");
    CHECK(p);
    CHECK((u.s = start_wrap_url_shimmed(p)) != NULL);
    CHECK(srv_send_line(u.s, url_line(&u, 1, URL_INIT)) == 0 && srv_recv(u.s));
    char *all = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&all, &len);
    CHECK(m);
    fprintf(m, "%s\n", url_line(&u, 0, WRAP_INITIALIZED));
    for (long id = 2; id <= 151; id++) fprintf(m, "%s\n", url_call(&u, id));
    fclose(m);
    int sent = srv_send_raw(u.s, all, len);
    free(all);
    CHECK(sent == 0);
    for (long id = 2; id <= 151; id++) CHECK(srv_recv(u.s));
    END_SERVER(u.s);
    CHECK_SYNCED_BY(check_wrap_url_log, &u, 302);
    srv_free(u.s);
}

/* ---- hook ----------------------------------------------------------------- */

static const char CURSOR_PRE[] =
    "{\"conversation_id\":\"conv-1\",\"cursor_version\":\"1.7.2\","
    "\"hook_event_name\":\"beforeShellExecution\",\"command\":\"make\","
    "\"cwd\":\"/home/u/proj\"}";
static const char CLAUDE_PRE[] =
    "{\"session_id\":\"sess-1\",\"cwd\":\"/home/u/proj\",\"hook_event_name\":"
    "\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"make\"},"
    "\"tool_use_id\":\"toolu_1\"}";

/* Run `hook --client client --db` on t's database with one event, line
** (the shim preloaded when shimmed), until it exits; *status gets its exit
** status.  The caller frees the srv; NULL when it could not start. */
static srv *hook_once(const tdir *t, const char *client, const char *line, int shimmed,
                      int *status)
{
    const char *args[] = {"hook", "--client", client, "--db", t->db,
                          "--actor", E2E_ACTOR, NULL};
    srv_opts o = {.args = args, .no_db = 1, .no_actor = 1};
    srv *s = shimmed ? start_shimmed_as(&o) : srv_start(&o);
    if (!s) return NULL;
    *status = srv_send_line(s, line) == 0 ? srv_wait(s) : SRV_SIGNALED;
    return s;
}

/* The second event on a database the first created, so that the only
** commit the shimmed run makes is its event's. */
#define HOOK_TWICE(t, s, client, event)                                      \
    do {                                                                     \
        int st_;                                                             \
        CHECK(((t) = tdir_new()) != NULL);                                   \
        srv *first_ = hook_once((t), (client), (event), 0, &st_);            \
        CHECK(first_);                                                       \
        srv_free(first_);                                                    \
        CHECK(st_ == 0);                                                     \
        CHECK(((s) = hook_once((t), (client), (event), 1, &st_)) != NULL);   \
        if (st_ != 0)                                                        \
            TEST_FAIL_("hook exit status %d; stderr: %.800s", st_,           \
                       srv_stderr(s));                                       \
        CHECK(db_scalar((t)->db, "SELECT count(*) FROM audit_log", NULL) == 2); \
    } while (0)

/* After the hook s exited: a WAL sync came between reading its event and
** its answer on stdout (when answered), and before its exit.  Returns 0,
** or -1 with why. */
static int check_hook_log(srv *s, int answered, char *why, size_t cap)
{
    int n_ev;
    char how[128];
    const event *ev = load_log(s, &n_ev, why, cap);
    if (!ev) return -1;
    if (answered && !sync_between(ev, n_ev, 'R', 1, 'W', 1, how, sizeof how)) {
        snprintf(why, cap, "the answer was written before the event was synced (%s)", how);
        return -1;
    }
    if (!sync_between(ev, n_ev, 'R', 1, 'X', 0, how, sizeof how)) {
        snprintf(why, cap, "the hook exited before the event was synced (%s)", how);
        return -1;
    }
    return 0;
}

TEST(hook_answer_and_exit_come_after_the_sync_of_the_event)
{
    tdir *t;
    srv *s;
    char why[256] = "";
    HOOK_TWICE(t, s, "cursor", CURSOR_PRE);
    /* Cursor reads its answer on stdout. */
    CHECK(strstr(srv_stdout(s), "\"permission\":\"allow\""));
    CHECKF(check_hook_log(s, 1, why, sizeof why) == 0, "%s", why);
    srv_free(s);
    tdir_free(t);
}

TEST(hook_exit_comes_after_the_sync_of_the_event)
{
    tdir *t;
    srv *s;
    char why[256] = "";
    HOOK_TWICE(t, s, "claude-code", CLAUDE_PRE);
    /* Claude Code reads the exit status; nothing is written on stdout. */
    CHECK(srv_stdout(s)[0] == '\0');
    CHECKF(check_hook_log(s, 0, why, sizeof why) == 0, "%s", why);
    srv_free(s);
    tdir_free(t);
}

/* A hook is a new process per event, on the agent's critical path: on a
** database whose write-ahead log is there already (the first event made it),
** the event costs one sync, of the WAL, and nothing more (no folder sync
** for the WAL, no checkpoint and no deletion of the WAL at close). */
TEST(hook_event_costs_one_sync_of_the_wal)
{
    tdir *t;
    srv *s;
    char why[256] = "";
    HOOK_TWICE(t, s, "claude-code", CLAUDE_PRE);
    int n_ev, syncs = 0, wal_syncs = 0;
    const event *ev = load_log(s, &n_ev, why, sizeof why);
    CHECKF(ev != NULL, "%s", why);
    for (int i = 0; i < n_ev; i++) {
        if (ev[i].kind != 'S') continue;
        syncs++;
        wal_syncs += ev[i].wal;
    }
    CHECKF(syncs == 1 && wal_syncs == 1, "%d syncs (%d of the WAL) for one event", syncs,
           wal_syncs);
    srv_free(s);
    tdir_free(t);
}

/* The same two guarantees from the hook-only build, dss-audit-mcp-hook
** (beside dss-audit-mcp): the answer and the exit follow the event's sync,
** and the event costs that one sync. */
TEST(hook_only_build_answers_after_its_one_sync)
{
    tdir *t;
    srv *s;
    char why[256] = "", full[600], lean[640];
    snprintf(full, sizeof full, "%s", getenv("DSS_BIN"));
    char *slash = strrchr(full, '/');
    CHECK(slash != NULL);
    snprintf(lean, sizeof lean, "%.*s/dss-audit-mcp-hook", (int)(slash - full), full);
    setenv("DSS_BIN", lean, 1);
    HOOK_TWICE(t, s, "cursor", CURSOR_PRE);
    setenv("DSS_BIN", full, 1);
    CHECK(strstr(srv_stdout(s), "\"permission\":\"allow\""));
    CHECKF(check_hook_log(s, 1, why, sizeof why) == 0, "%s", why);
    int n_ev, syncs = 0;
    const event *ev = load_log(s, &n_ev, why, sizeof why);
    CHECKF(ev != NULL, "%s", why);
    for (int i = 0; i < n_ev; i++) syncs += ev[i].kind == 'S';
    CHECKF(syncs == 1, "%d syncs for one event", syncs);
    srv_free(s);
    tdir_free(t);
}

/* The path of the recorder's socket in sock_dir (a name ending in .sock)
** into out, looked for every millisecond for up to ms: 0, or -1 when none
** appeared. */
static int recorder_socket(const char *sock_dir, int ms, char *out, size_t outlen)
{
    for (int i = 0; i < ms; i++) {
        DIR *d = opendir(sock_dir);
        int found = 0;
        for (struct dirent *e; d && !found && (e = readdir(d));) {
            size_t n = strlen(e->d_name);
            if (n > 5 && strcmp(e->d_name + n - 5, ".sock") == 0) {
                snprintf(out, outlen, "%s/%s", sock_dir, e->d_name);
                found = 1;
            }
        }
        if (d) closedir(d);
        if (found) return 0;
        usleep(1000);
    }
    return -1;
}

/* dss-audit-mcp-hook handing the event to `dss-audit-mcp recorder`: the
** recorder makes the event durable, and the hook answers and exits only
** after that sync.  Both processes log to one shim log (appends, in the
** order they happen), and the recorder says it answered the event. */
TEST(hook_through_recorder_answers_after_the_recorders_sync)
{
    tdir *t;
    int st;
    char why[256] = "", full[600], lean[640], run_dir[PATH_MAX + 8], sock_dir[PATH_MAX + 24];
    char log[PATH_MAX + 16], logenv[PATH_MAX + 40], xdgenv[PATH_MAX + 40];
    char homeenv[PATH_MAX + 16], cfgenv[PATH_MAX + 32], preload[PATH_MAX + 16];
    CHECK((t = tdir_new()) != NULL);
    srv *first = hook_once(t, "cursor", CURSOR_PRE, 0, &st);
    CHECK(first);
    srv_free(first);
    CHECK(st == 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", t->path);
    snprintf(sock_dir, sizeof sock_dir, "%s/dss-audit", run_dir);
    CHECK(mkdir(run_dir, 0700) == 0);
    snprintf(log, sizeof log, "%s/shim.log", t->path);
    snprintf(logenv, sizeof logenv, "DSS_SYNCSHIM_LOG=%s", log);
    snprintf(xdgenv, sizeof xdgenv, "XDG_RUNTIME_DIR=%s", run_dir);
    /* One HOME for both: the redaction rules' default path must agree. */
    snprintf(homeenv, sizeof homeenv, "HOME=%s", t->path);
    snprintf(cfgenv, sizeof cfgenv, "XDG_CONFIG_HOME=%s/.config", t->path);
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", getenv("DSS_SYNCSHIM"));
    const char *rec_args[] = {"recorder", "--db", t->db, NULL};
    const char *rec_env[] = {preload, logenv, xdgenv, homeenv, cfgenv,
                             "ASAN_OPTIONS=verify_asan_link_order=0", NULL};
    srv_opts ro = {.args = rec_args, .env = rec_env, .no_db = 1, .no_actor = 1};
    srv *rec = srv_start(&ro);
    CHECK(rec);
    char sock[PATH_MAX + 64];
    CHECKF(recorder_socket(sock_dir, 10000, sock, sizeof sock) == 0,
           "the recorder made no socket: %s", srv_stderr(rec));
    snprintf(full, sizeof full, "%s", getenv("DSS_BIN"));
    char *slash = strrchr(full, '/');
    CHECK(slash != NULL);
    snprintf(lean, sizeof lean, "%.*s/dss-audit-mcp-hook", (int)(slash - full), full);
    setenv("DSS_BIN", lean, 1);
    const char *args[] = {"hook", "--client", "cursor", "--db", t->db, "--actor", E2E_ACTOR,
                          NULL};
    const char *env[] = {logenv, xdgenv, homeenv, cfgenv, NULL};
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    srv *s = start_shimmed_as(&o);
    setenv("DSS_BIN", full, 1);
    CHECK(s);
    st = srv_send_line(s, CURSOR_PRE) == 0 ? srv_wait(s) : SRV_SIGNALED;
    CHECKF(st == 0, "hook exit status %d; stderr: %.800s", st, srv_stderr(s));
    CHECK(strstr(srv_stdout(s), "\"permission\":\"allow\""));
    kill(srv_pid(rec), SIGTERM);
    CHECK(srv_wait(rec) == 0);
    CHECKF(strstr(srv_stderr(rec), "1 events answered"), "the recorder did not answer the "
           "event: %s", srv_stderr(rec));
    CHECK(db_scalar(t->db, "SELECT count(*) FROM audit_log", NULL) == 2);
    static event ev[MAX_EVENTS];
    int n_ev;
    CHECK(read_events(log, ev, &n_ev) == 0);
    char how[128];
    CHECKF(sync_between(ev, n_ev, 'R', 1, 'W', 1, how, sizeof how),
           "the answer was written before the recorder synced the event (%s)", how);
    CHECKF(sync_between(ev, n_ev, 'R', 1, 'X', 0, how, sizeof how),
           "the hook exited before the recorder synced the event (%s)", how);
    (void)why;
    srv_free(s);
    srv_free(rec);
    tdir_free(t);
}

/* The recorder names its socket only once it listens: a hook that finds
** the name connects to it, and is not refused (which would send it to
** write directly) because the recorder has bound but not yet listened.
** listen() is slowed by the shim so that moment cannot go unseen. */
TEST(recorder_socket_is_named_only_once_it_listens)
{
    tdir *t;
    char run_dir[PATH_MAX + 8], sock_dir[PATH_MAX + 24], sock[PATH_MAX + 64];
    char logenv[PATH_MAX + 40], xdgenv[PATH_MAX + 40], homeenv[PATH_MAX + 16];
    char preload[PATH_MAX + 16];
    CHECK((t = tdir_new()) != NULL);
    snprintf(run_dir, sizeof run_dir, "%s/run", t->path);
    snprintf(sock_dir, sizeof sock_dir, "%s/dss-audit", run_dir);
    CHECK(mkdir(run_dir, 0700) == 0);
    snprintf(logenv, sizeof logenv, "DSS_SYNCSHIM_LOG=%s/shim.log", t->path);
    snprintf(xdgenv, sizeof xdgenv, "XDG_RUNTIME_DIR=%s", run_dir);
    snprintf(homeenv, sizeof homeenv, "HOME=%s", t->path);
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", getenv("DSS_SYNCSHIM"));
    const char *rec_args[] = {"recorder", "--db", t->db, NULL};
    const char *rec_env[] = {preload, logenv, xdgenv, homeenv,
                             "DSS_SYNCSHIM_LISTEN_DELAY_MS=400",
                             "ASAN_OPTIONS=verify_asan_link_order=0", NULL};
    srv_opts ro = {.args = rec_args, .env = rec_env, .no_db = 1, .no_actor = 1};
    srv *rec = srv_start(&ro);
    CHECK(rec);
    /* 30 s: valgrind starts slowly */
    CHECKF(recorder_socket(sock_dir, 30000, sock, sizeof sock) == 0,
           "the recorder made no socket: %s", srv_stderr(rec));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    CHECK(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    CHECKF(rc == 0, "the socket was named before it listened: connect: %s", strerror(e));
    kill(srv_pid(rec), SIGTERM);
    CHECK(srv_wait(rec) == 0);
    srv_free(rec);
    tdir_free(t);
}

TEST_MAIN(TEST_ENTRY(lockstep_replies_each_follow_a_sync)
          TEST_ENTRY(pipelined_replies_each_follow_a_sync)
          TEST_ENTRY(batch_replies_follow_a_sync)
          TEST_ENTRY(wrap_lockstep_calls_reach_the_server_after_their_sync)
          TEST_ENTRY(wrap_pipelined_calls_reach_the_server_after_their_sync)
          TEST_ENTRY(wrap_url_lockstep_calls_reach_the_network_after_their_sync)
          TEST_ENTRY(wrap_url_pipelined_calls_reach_the_network_after_their_sync)
          TEST_ENTRY(hook_answer_and_exit_come_after_the_sync_of_the_event)
          TEST_ENTRY(hook_exit_comes_after_the_sync_of_the_event)
          TEST_ENTRY(hook_event_costs_one_sync_of_the_wal)
          TEST_ENTRY(hook_only_build_answers_after_its_one_sync)
          TEST_ENTRY(hook_through_recorder_answers_after_the_recorders_sync)
          TEST_ENTRY(recorder_socket_is_named_only_once_it_listens))
