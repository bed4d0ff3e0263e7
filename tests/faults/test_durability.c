/*
** test_durability.c: every reply that acknowledges a write is sent after
** that write was fsynced, for lockstep and pipelined clients and batches.
**
** kill -9 cannot tell synchronous=OFF from FULL (the page cache survives a
** killed process), so these cases watch the system calls instead: the
** server runs with tests/faults/syncshim.c preloaded, which logs in order
** each request line read from stdin, each reply line written to stdout,
** and each successful fsync/fdatasync with the file's path.  Every
** tools/call writes (at least its own tool_call record), so each of its
** replies must come after a sync of the write-ahead log made after its
** request was read.  A reply sent before the commit, or a commit that does
** not sync, fails here.
*/
#include "fault_util.h"

enum { MAX_EVENTS = 1 << 16, MAX_REQUESTS = 512 };

typedef struct event {
    char kind; /* R, W or S */
    long n;    /* R, W: lines so far */
    int wal;   /* S: the file was the write-ahead log */
} event;

typedef struct run {
    srv *s;
    long lines_sent;                /* request lines written to the server */
    long call_line[MAX_REQUESTS];   /* tools/call id -> its request line */
} run;

/* Start the server with the shim preloaded. */
static srv *start_shimmed(void)
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
    const char *env[] = {preload, "DSS_SYNCSHIM_LOG=@DIR@/shim.log", asan, NULL};
    srv_opts o = {.env = env};
    return srv_start(&o);
}

static int send_line(run *r, const char *line)
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

/* The first event of kind k whose line count reaches n, or -1. */
static int first_reaching(const event *ev, int n_ev, char k, long n)
{
    for (int i = 0; i < n_ev; i++)
        if (ev[i].kind == k && ev[i].n >= n) return i;
    return -1;
}

/* Check one reply id written as reply line j; 1 when it followed a sync. */
static int followed_a_sync(const run *r, const event *ev, int n_ev, long id, long j,
                           char *why, size_t cap)
{
    int er = first_reaching(ev, n_ev, 'R', r->call_line[id]);
    int ew = first_reaching(ev, n_ev, 'W', j);
    if (er < 0 || ew < 0) {
        snprintf(why, cap, "id %ld: its request or reply is not in the shim's log", id);
        return 0;
    }
    for (int i = er + 1; i < ew; i++)
        if (ev[i].kind == 'S' && ev[i].wal) return 1;
    snprintf(why, cap, "id %ld: reply line %ld was written without a WAL sync since its"
                       " request (line %ld) was read", id, j, r->call_line[id]);
    return 0;
}

/* After the server exited: every tools/call reply followed a sync.  Returns
** the number of replies checked, or -1 with why. */
static int check_log(run *r, char *why, size_t cap)
{
    static event ev[MAX_EVENTS];
    int n_ev;
    if (read_events(srv_fmt(r->s, "%s/shim.log", srv_dir(r->s)), ev, &n_ev) != 0) {
        snprintf(why, cap, "no shim log %s/shim.log (was the shim loaded?)", srv_dir(r->s));
        return -1;
    }
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

#define CHECK_SYNCED(r, expected)                                            \
    do {                                                                     \
        char why_[512] = "";                                                 \
        int got_ = check_log((r), why_, sizeof why_);                        \
        if (got_ < 0) TEST_FAIL_("%s", why_);                                \
        ASSERT_EQ_INT(got_, (expected));                                     \
    } while (0)

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
        CHECK(send_line((r), initialize_line((r), (version))) == 0 &&        \
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
        CHECK(send_line(&r, call_line(&r, id)) == 0);
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
        int ok = send_line(&r, batch) == 0;
        free(batch);
        CHECK(ok);
        CHECK(srv_recv_json_line(r.s));
    }
    END_CHECKED(&r, 30);
}

TEST_MAIN(TEST_ENTRY(lockstep_replies_each_follow_a_sync)
          TEST_ENTRY(pipelined_replies_each_follow_a_sync)
          TEST_ENTRY(batch_replies_follow_a_sync))
