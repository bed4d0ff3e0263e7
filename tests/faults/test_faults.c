/*
** test_faults.c: what real machines do to the audit trail (issue 5, Faults).
**
** SIGKILL under load, a full database, read-only and unusable database
** files, four writers on one file, and clean shutdown on SIGTERM and EOF.
** Each case runs in a fresh temp dir holding the database and the signing
** key (DSS_AUDIT_KEY), so that the database outlives the servers that write
** it and `dss-audit-mcp verify` can check it afterwards.
**
** Environment (set by ctest): DSS_BIN, the binary.  DSS_FAULTS_SEED fixes
** the random kill delays (the seed used is always printed).
*/
#include "fault_util.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* ---- acknowledged ids ---------------------------------------------------- */

typedef struct idset {
    char (*id)[40];
    long long *seq;
    size_t n, cap;
} idset;

static int idset_add(idset *s, const char *id, long long seq)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char (*p)[40] = realloc(s->id, cap * sizeof *p);
        if (!p) return -1;
        s->id = p;
        long long *q = realloc(s->seq, cap * sizeof *q);
        if (!q) return -1;
        s->seq = q;
        s->cap = cap;
    }
    snprintf(s->id[s->n], sizeof s->id[s->n], "%s", id);
    s->seq[s->n++] = seq;
    return 0;
}

static void idset_clear(idset *s)
{
    free(s->id);
    free(s->seq);
    memset(s, 0, sizeof *s);
}

static void idset_release(void *p)
{
    idset_clear(p);
    free(p);
}

/* A new empty set, freed at exit if a failing check returns early. */
static idset *idset_new(void)
{
    idset *s = calloc(1, sizeof *s);
    if (s) fu_defer(idset_release, s);
    return s;
}

static void idset_free(idset *s)
{
    if (!s) return;
    fu_undefer(s);
    idset_release(s);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

/* How many of the set's ids are not in the database. */
static long long missing_ids(const char *db, const idset *ids, const char **first)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long lost = -1;
    *first = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) goto done;
    sqlite3_busy_timeout(h, 10000);
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM audit_log WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        goto done;
    lost = 0;
    for (size_t i = 0; i < ids->n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, ids->id[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != 1) {
            if (!*first) *first = ids->id[i];
            lost++;
        }
    }
done:
    sqlite3_finalize(st);
    sqlite3_close(h);
    return lost;
}

/* Count duplicates among the set's ids and among its seqs. */
static void duplicates(const idset *ids, size_t *dup_ids, size_t *dup_seqs)
{
    *dup_ids = *dup_seqs = 0;
    if (ids->n < 2) return;
    char (*i2)[40] = malloc(ids->n * sizeof *i2);
    long long *s2 = malloc(ids->n * sizeof *s2);
    if (!i2 || !s2) {
        free(i2);
        free(s2);
        *dup_ids = *dup_seqs = (size_t)-1;
        return;
    }
    memcpy(i2, ids->id, ids->n * sizeof *i2);
    memcpy(s2, ids->seq, ids->n * sizeof *s2);
    qsort(i2, ids->n, sizeof *i2, cmp_id);
    qsort(s2, ids->n, sizeof *s2, cmp_ll);
    for (size_t i = 1; i < ids->n; i++) {
        if (strcmp(i2[i - 1], i2[i]) == 0) (*dup_ids)++;
        if (s2[i - 1] == s2[i]) (*dup_seqs)++;
    }
    free(i2);
    free(s2);
}

/* ---- request streams ----------------------------------------------------- */

/* n log_operation lines with ids "<tag>-<from+k>" and operation names
** "<tag>-<from+k>", concatenated; caller frees. */
static char *log_batch(const char *tag, int from, int n, const char *pad)
{
    size_t cap = (size_t)n * (400 + strlen(pad)) + 1, at = 0;
    char *p = malloc(cap);
    if (!p) return NULL;
    for (int k = 0; k < n; k++) {
        at += (size_t)snprintf(p + at, cap - at,
            "{\"jsonrpc\":\"2.0\",\"id\":\"%s-%d\",\"method\":\"tools/call\",\"params\":"
            "{\"name\":\"log_operation\",\"arguments\":{\"event_type\":\"state_transition\","
            "\"operation_name\":\"%s-%d\",\"project_id\":\"faults\","
            "\"args\":{\"n\":%d,\"pad\":\"%s\"}}}}\n",
            tag, from + k, tag, from + k, from + k, pad);
    }
    return p;
}

/* Classify one reply line to a log_operation: 1 acknowledged (id and seq
** recorded), 0 an isError result (its text in *why), -1 anything else. */
static int log_reply(const char *line, idset *acked, char *why, size_t whylen)
{
    cJSON *r = cJSON_Parse(line);
    int rc = -1;
    const cJSON *res = jget(r, "result");
    if (cJSON_IsFalse(jget(res, "isError"))) {
        const char *id = jstr(res, "structuredContent.audit_id");
        double seq = jnum(res, "structuredContent.seq");
        if (id && !isnan(seq) && idset_add(acked, id, (long long)seq) == 0) rc = 1;
    } else if (cJSON_IsTrue(jget(res, "isError"))) {
        const char *text = jstr(res, "content.0.text");
        snprintf(why, whylen, "%s", text ? text : "(no text)");
        rc = 0;
    } else {
        snprintf(why, whylen, "%.300s", line);
    }
    cJSON_Delete(r);
    return rc;
}

/* A seeded xorshift, so a failing run can be repeated. */
static unsigned long long rng_state;

static unsigned rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state >> 11);
}

static unsigned long long seed_rng(void)
{
    const char *e = getenv("DSS_FAULTS_SEED");
    unsigned long long seed = e && *e ? strtoull(e, NULL, 10)
                                      : (unsigned long long)time(NULL) ^
                                            ((unsigned long long)getpid() << 20);
    if (!seed) seed = 1;
    rng_state = seed;
    return seed;
}

/* Sends a signal to a pid after a delay, from its own thread. */
typedef struct timed_signal {
    pthread_t thread;
    int pid, sig, delay_ms;
} timed_signal;

static void *signal_later(void *arg)
{
    timed_signal *t = arg;
    struct timespec d = {t->delay_ms / 1000, (long)(t->delay_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {}
    kill(t->pid, t->sig);
    return NULL;
}

/* ==== crash under load ==================================================== */

#define KILL_ROUNDS 20
#define KILL_BATCH 32

TEST(sigkill_under_load_loses_no_acknowledged_entry)
{
    tdir *t = tdir_new();
    CHECK(t);
    unsigned long long seed = seed_rng();
    long long t0 = fu_now_ms();
    idset *acked = idset_new();
    CHECK(acked);
    /* The database and the key exist before the first kill. */
    srv *s = start_on(t, t->db, NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    FINISH(s);
    int kills = 0, rounds_with_acks = 0;
    long long lost_total = 0;
    char why[512];
    for (int round = 0; round < KILL_ROUNDS; round++) {
        s = start_on(t, t->db, NULL);
        CHECK(s);
        /* The random moment is counted from when the server is serving (a
        ** sanitizer or valgrind build can take longer than 200 ms to start). */
        CHECK(srv_alive(s));
        timed_signal ts = {.pid = srv_pid(s), .sig = SIGKILL,
                           .delay_ms = 5 + (int)(rnd() % 196)};
        CHECK(pthread_create(&ts.thread, NULL, signal_later, &ts) == 0);
        char tag[32];
        snprintf(tag, sizeof tag, "kill%02d", round);
        size_t before = acked->n;
        int sent = 0, bad_replies = 0;
        for (;;) {
            char *batch = log_batch(tag, sent, KILL_BATCH, "load");
            CHECK(batch);
            int rc = srv_send_raw(s, batch, strlen(batch));
            free(batch);
            if (rc != 0) break;
            sent += KILL_BATCH;
            int k;
            for (k = 0; k < KILL_BATCH; k++) {
                const char *line = srv_recv_line(s);
                if (!line) break;
                if (log_reply(line, acked, why, sizeof why) != 1) bad_replies++;
            }
            if (k < KILL_BATCH) break;
        }
        pthread_join(ts.thread, NULL);
        srv_kill(s);
        /* Replies completed before the kill count; a torn last line does not. */
        for (const char *line; (line = srv_recv_line(s));)
            if (log_reply(line, acked, why, sizeof why) != 1) bad_replies++;
        srv_free(s);
        kills++;
        size_t this_round = acked->n - before;
        if (this_round) rounds_with_acks++;
        CHECKF(bad_replies == 0, "round %d: %d replies were not acknowledgements (%s)",
               round, bad_replies, why);

        /* Restart: the server serves the log, with this round's entries. */
        s = start_on(t, t->db, NULL);
        CHECK(s);
        CHECK(srv_alive(s));
        size_t probes[3] = {before, before + this_round / 2, acked->n - 1};
        for (int p = 0; p < 3 && this_round; p++) {
            const char *id = acked->id[probes[p]];
            cJSON *e = srv_call_ok(s, "get_audit_entry",
                                   srv_fmt(s, "{\"audit_id\":\"%s\"}", id));
            CHECKF(e, "round %d: acknowledged entry %s not served after restart (%s)",
                   round, id, h_error());
            ASSERT_EQ_STR(jstr(e, "entry.id"), id);
        }
        CHECK(srv_call_ok(s, "log_operation",
                          srv_fmt(s, "{\"event_type\":\"state_transition\","
                                     "\"operation_name\":\"restart-%d\"}", round)));
        FINISH(s);
        /* Every acknowledged id so far is there, and the chain verifies. */
        const char *first = NULL;
        long long lost = missing_ids(t->db, acked, &first);
        CHECKF(lost == 0, "round %d: %lld acknowledged entries lost, e.g. %s", round, lost,
               first ? first : "?");
        lost_total += lost;
        CHECKF(run_verify(t, t->db) == 0, "round %d: verify failed after the kill", round);
    }
    size_t dup_ids, dup_seqs;
    duplicates(acked, &dup_ids, &dup_seqs);
    ASSERT_EQ_INT(dup_ids, 0);
    ASSERT_EQ_INT(dup_seqs, 0);
    fprintf(stderr,
            "crash under load: seed %llu, kills survived %d/%d, rounds with acknowledged "
            "writes %d, acknowledged %zu, lost %lld, %lld ms\n",
            seed, kills, KILL_ROUNDS, rounds_with_acks, acked->n, lost_total,
            fu_now_ms() - t0);
    CHECKF(acked->n > 0, "no write was ever acknowledged: the kill test tested nothing");
    idset_free(acked);
    tdir_free(t);
}

/* ==== disk full =========================================================== */

/*
** One out-of-space scenario, whatever makes the space run out: `start`
** starts a server on db that will run out of room; writes of about 1.5 KB
** go in until five were refused.  Each refusal must be an isError saying
** the disk is full; reads keep working on the full log; the server exits 0;
** exactly the acknowledged entries are stored, each with its tool_call
** record, and the chain verifies.  Then `make_room` makes room (NULL: a
** server started without the limit has it) and writes succeed again.
*/
typedef srv *(*full_start_fn)(tdir *t, const char *db);
typedef int (*make_room_fn)(tdir *t);

static void out_of_space(tdir *t, const char *db, full_start_fn start, make_room_fn make_room,
                         long long max_size, int *test_failed_)
{
    srv *s = start(t, db);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    char pad[1601];
    for (int i = 0; i < 1600; i++) pad[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + i / 36) % 36];
    pad[1600] = '\0';
    idset *acked = idset_new();
    CHECK(acked);
    int fulls = 0;
    char why[512] = "";
    for (int i = 0; i < 20000 && fulls < 5; i++) {
        char *line = log_batch("fill", i, 1, pad);
        CHECK(line);
        line[strlen(line) - 1] = '\0';
        cJSON *r = srv_rpc(s, line);
        free(line);
        CHECKF(r, "write %d: no reply (%s); stderr: %s", i, h_error(), tail_of(srv_stderr(s), 400));
        char *text = cJSON_PrintUnformatted(r);
        int k = log_reply(text, acked, why, sizeof why);
        free(text);
        CHECKF(k >= 0, "write %d: neither a result nor an isError result: %s", i, why);
        if (k == 0) {
            CHECKF(strstr(why, "full") != NULL,
                   "write %d failed without saying the disk is full: %s", i, why);
            fulls++;
        }
    }
    fprintf(stderr, "out of space: %zu writes acknowledged first; last error: %s\n",
            acked->n, why);
    CHECKF(fulls > 0, "20000 writes of 1.5 KB all fitted");
    CHECK(acked->n > 10);
    /* Reads keep working on the full log. */
    cJSON *h = srv_call_ok(s, "get_operation_history",
                           "{\"event_type\":\"state_transition\",\"limit\":5}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 5);
    const char *last = acked->id[acked->n - 1];
    CHECK(srv_call_ok(s, "get_audit_entry", srv_fmt(s, "{\"audit_id\":\"%s\"}", last)));
    CHECK(srv_call_ok(s, "search_audit_log", "{\"search_term\":\"fill-1\"}"));
    CHECK(srv_call_ok(s, "get_user_activity", "{\"user_id\":\"" E2E_ACTOR "\"}"));
    cJSON *v = srv_call_ok(s, "verify_audit_log", "{}");
    CHECKF(v, "verify_audit_log on the full log: %s\n    server stderr ends: %s", h_error(),
           tail_of(srv_stderr(s), 400));
    CHECK(cJSON_IsTrue(jget(v, "ok")));
    FINISH(s);
    /* Nothing partial: exactly the acknowledged entries, each with its
    ** tool_call record, and a chain that verifies. */
    const char *first = NULL;
    ASSERT_EQ_INT(missing_ids(db, acked, &first), 0);
    ASSERT_EQ_INT(db_scalar(db, "SELECT count(*) FROM audit_log WHERE event_type ="
                                " 'state_transition' AND operation_name LIKE 'fill-%'", NULL),
                  (long long)acked->n);
    ASSERT_EQ_INT(db_scalar(db, "SELECT count(*) FROM audit_log WHERE event_type ="
                                " 'tool_call' AND operation_name = 'log_operation'"
                                " AND error IS NULL", NULL),
                  (long long)acked->n);
    ASSERT_EQ_INT(db_scalar(db, "SELECT max(seq) - count(*) FROM audit_log", NULL), 0);
    CHECK(run_verify(t, db) == 0);
    struct stat st;
    CHECK(stat(db, &st) == 0);
    CHECKF(max_size <= 0 || st.st_size <= max_size, "the capped file is %lld bytes",
           (long long)st.st_size);
    /* Space returns: writes succeed again. */
    CHECK(!make_room || make_room(t) == 0);
    s = start_on(t, db, NULL);
    CHECK(s);
    for (int i = 0; i < 3; i++)
        CHECK(srv_call_ok(s, "log_operation",
                          "{\"event_type\":\"state_transition\",\"operation_name\":\"after-full\"}"));
    h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"after-full\"}");
    CHECK(h);
    ASSERT_EQ_INT(count_entries(h), 3);
    FINISH(s);
    CHECK(run_verify(t, db) == 0);
    idset_free(acked);
}

static srv *start_capped(tdir *t, const char *db)
{
    static const char *const cap[] = {"--max-db-size", "300000", NULL};
    return start_on(t, db, cap);
}

TEST(full_database_refuses_writes_cleanly_and_recovers)
{
    tdir *t = tdir_new();
    CHECK(t);
    out_of_space(t, t->db, start_capped, NULL, 300000, test_failed_);
    if (*test_failed_) return;
    tdir_free(t);
}

/* A real write failure: the server's files may grow to 2 MiB at most
** (RLIMIT_FSIZE, which needs no privilege), so a write past it fails with
** EFBIG.  The limit is inherited at fork; the test's own is restored at once. */
static srv *start_fsize_limited(tdir *t, const char *db)
{
    struct rlimit old, lim;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0) return NULL;
    lim = old;
    lim.rlim_cur = 2 * 1024 * 1024;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return NULL;
    srv *s = start_on(t, db, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    return s;
}

TEST(file_size_limit_refuses_writes_cleanly_and_recovers)
{
    tdir *t = tdir_new();
    CHECK(t);
    out_of_space(t, t->db, start_fsize_limited, NULL, 0, test_failed_);
    if (*test_failed_) return;
    tdir_free(t);
}

static srv *start_plain_on(tdir *t, const char *db)
{
    return start_on(t, db, NULL);
}

/* A really full file system: a 1 MiB tmpfs holding the database, mounted in
** a private mount namespace, grown to 64 MiB to make room. */
static char tmpfs_dir[PATH_MAX + 16];

static int make_room_on_tmpfs(tdir *t)
{
    (void)t;
    return mount("tmpfs", tmpfs_dir, "tmpfs", MS_REMOUNT, "size=64m,mode=0700");
}

/* Whether / is a mount point of this process's view (a line of mountinfo
** whose mount point, its fifth field, is "/"): 1, 0, or -1 when unknown. */
static int root_is_mount_point(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f) return -1;
    char line[4096], point[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strcmp(point, "/") == 0;
    fclose(f);
    return found;
}

TEST(full_file_system_refuses_writes_cleanly_and_recovers)
{
    if (!getenv("DSS_IN_MOUNT_NS")) {
        /* unshare --propagation private makes every mount below / private,
        ** which needs / to be a mount point: in a chroot whose root is a
        ** plain folder it cannot, and says only "cannot change root
        ** filesystem propagation". */
        if (root_is_mount_point() == 0)
            TEST_FAIL_("this case needs a mount namespace of its own (a private 1 MiB tmpfs "
                       "to fill), and here / is not a mount point (a chroot into a plain "
                       "folder?), so unshare cannot make mounts private: run the suite where "
                       "/ is a mount point (a machine, a VM or a container), or bind-mount "
                       "the chroot's folder onto itself before entering it");
        /* Run this case again in a mount namespace of its own (as root;
        ** otherwise in a user namespace too), so the tmpfs is private and
        ** goes away with it.  unshare is util-linux's. */
        char self[PATH_MAX], cmd[PATH_MAX + 128];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        CHECK(n > 0);
        self[n] = '\0';
        snprintf(cmd, sizeof cmd, "DSS_IN_MOUNT_NS=1 unshare %s --propagation private '%s'"
                                  " full_file_system_refuses_writes_cleanly_and_recovers",
                 geteuid() == 0 ? "-m" : "-Urm", self);
        int status = system(cmd);
        if (status != 0) TEST_FAIL_("the case in its own mount namespace failed (status %d)", status);
        return;
    }
    tdir *t = tdir_new();
    CHECK(t);
    snprintf(tmpfs_dir, sizeof tmpfs_dir, "%s/small", t->path);
    CHECK(mkdir(tmpfs_dir, 0700) == 0);
    CHECKF(mount("tmpfs", tmpfs_dir, "tmpfs", 0, "size=1m,mode=0700") == 0,
           "cannot mount a tmpfs on %s: %s", tmpfs_dir, strerror(errno));
    char db[PATH_MAX + 32];
    snprintf(db, sizeof db, "%s/audit.db", tmpfs_dir);
    out_of_space(t, db, start_plain_on, make_room_on_tmpfs, 0, test_failed_);
    umount(tmpfs_dir);
    if (*test_failed_) return;
    tdir_free(t);
}

/*
** The cap reached in the middle of a group commit: a burst of pipelined
** writes (every third one large) on a fresh capped database, so that one
** group holds writes that fit and writes that do not.  Every reply must tell
** the truth: acknowledged exactly when the entry is in the database.
*/
TEST(full_database_mid_group_replies_match_what_is_stored)
{
    tdir *t = tdir_new();
    CHECK(t);
    static const char *const cap[] = {"--max-db-size", "300000", NULL};
    srv *s = start_on(t, t->db, cap);
    CHECK(s);
    enum { BURST = 150 };
    char *big = malloc(2501);
    CHECK(big);
    memset(big, 'y', 2500);
    big[2500] = '\0';
    size_t cap_bytes = (size_t)BURST * 3000, at = 0;
    char *burst = malloc(cap_bytes);
    CHECK(burst);
    for (int k = 0; k < BURST; k++) {
        char *one = log_batch("burst", k, 1, k % 3 == 0 ? big : "small");
        CHECK(one);
        size_t n = strlen(one);
        memcpy(burst + at, one, n);
        at += n;
        free(one);
    }
    free(big);
    int sent = srv_send_raw(s, burst, at);
    free(burst);
    CHECK(sent == 0);
    /* Reply k is to request k (one reply per request, in order). */
    int acked_k[BURST] = {0};
    char texts[BURST][160];
    for (int k = 0; k < BURST; k++) {
        cJSON *r = srv_recv(s);
        CHECK(r);
        char want[32];
        snprintf(want, sizeof want, "burst-%d", k);
        ASSERT_EQ_STR(jstr(r, "id"), want);
        acked_k[k] = cJSON_IsFalse(jget(r, "result.isError"));
        const char *text = jstr(r, "result.content.0.text");
        snprintf(texts[k], sizeof texts[k], "%s", text ? text : "?");
    }
    FINISH(s);
    int lies = 0, acked = 0, stored = 0;
    for (int k = 0; k < BURST; k++) {
        char name[32];
        snprintf(name, sizeof name, "burst-%d", k);
        long long in_db = db_scalar(t->db, "SELECT count(*) FROM audit_log WHERE"
                                           " operation_name = ?", name);
        acked += acked_k[k];
        stored += in_db == 1;
        if ((in_db == 1) != acked_k[k]) {
            if (lies++ < 5)
                fprintf(stderr, "%s: %s but %s; reply: %.150s\n", name,
                        acked_k[k] ? "acknowledged" : "refused",
                        in_db == 1 ? "stored" : "not stored", texts[k]);
        }
    }
    fprintf(stderr, "burst over the cap: %d requests, %d acknowledged, %d stored, "
                    "%d replies disagree with the database\n", BURST, acked, stored, lies);
    CHECK(run_verify(t, t->db) == 0);
    CHECKF(lies == 0, "%d replies do not match what was stored (above)", lies);
    tdir_free(t);
}

/* ==== read-only =========================================================== */

/* A database with three entries of its own, written and closed cleanly. */
static int seed_db(const tdir *t, const char *db)
{
    srv *s = start_on(t, db, NULL);
    if (!s) return -1;
    int ok = srv_initialize(s, "2025-11-25") != NULL;
    for (int i = 0; ok && i < 3; i++)
        ok = srv_call_ok(s, "log_operation",
                         "{\"event_type\":\"project_update\",\"operation_name\":\"seeded\"}") != NULL;
    ok = ok && srv_stdout_is_json_lines(s);
    ok = srv_wait(s) == 0 && ok;
    srv_free(s);
    return ok ? 0 : -1;
}

/* Serve a read-only database: every write refused saying so, reads work. */
static void read_only_session(const tdir *t, const char *const *args, int *test_failed_)
{
    srv *s = start_on(t, t->db, args);
    if (!s) TEST_FAIL_("cannot start: %s", h_error());
    if (!srv_initialize(s, "2025-11-25")) TEST_FAIL_("initialize: %s", h_error());
    static const char *const writes[][2] = {
        {"log_operation", "{\"event_type\":\"error\",\"operation_name\":\"ro-write\"}"},
        {"create_checkpoint", "{}"},
    };
    for (int i = 0; i < 2; i++) {
        const char *text = srv_call_err(s, writes[i][0], writes[i][1], "read-only", NULL);
        if (!text) TEST_FAIL_("%s on a read-only log: %s", writes[i][0], h_error());
    }
    cJSON *h = srv_call_ok(s, "get_operation_history", "{\"operation_name\":\"seeded\"}");
    if (!h || count_entries(h) != 3) TEST_FAIL_("reads on a read-only log: %s", h_error());
    const char *id = jstr(h, "entries.0.id");
    if (!id || !srv_call_ok(s, "get_audit_entry", srv_fmt(s, "{\"audit_id\":\"%s\"}", id)))
        TEST_FAIL_("get_audit_entry on a read-only log: %s", h_error());
    if (!srv_call_ok(s, "search_audit_log", "{\"search_term\":\"seeded\"}") ||
        !srv_call_ok(s, "get_user_activity", "{\"user_id\":\"" E2E_ACTOR "\"}") ||
        !srv_call_ok(s, "get_audit_trail", "{\"start_date\":\"2000-01-01\",\"end_date\":\"2999-01-01\"}"))
        TEST_FAIL_("queries on a read-only log: %s", h_error());
    cJSON *v = srv_call_ok(s, "verify_audit_log", "{}");
    if (!v || !cJSON_IsTrue(jget(v, "ok"))) TEST_FAIL_("verify_audit_log read-only: %s", h_error());
    if (!strstr(srv_stderr(s), "read-only"))
        TEST_FAIL_("stderr does not say the log is served read-only: %s", srv_stderr(s));
    FINISH(s);
}

TEST(read_only_file_refuses_writes_serves_reads_changes_nothing)
{
    tdir *t = tdir_new();
    CHECK(t);
    CHECK(seed_db(t, t->db) == 0);
    CHECK(chmod(t->db, 0400) == 0);
    size_t n0, n1;
    char *before = slurp(t->db, &n0);
    CHECK(before);
    read_only_session(t, NULL, test_failed_);
    if (*test_failed_) {
        free(before);
        return;
    }
    char *after = slurp(t->db, &n1);
    int same = after && n0 == n1 && memcmp(before, after, n0) == 0;
    free(before);
    free(after);
    CHECKF(same, "the read-only database file changed (%zu -> %zu bytes)", n0, n1);
    struct stat st;
    CHECK(stat(t->db, &st) == 0 && (st.st_mode & 0777) == 0400);
    CHECK(run_verify(t, t->db) == 0);
    tdir_free(t);
}

TEST(read_only_flag_refuses_writes_serves_reads_changes_nothing)
{
    tdir *t = tdir_new();
    CHECK(t);
    CHECK(seed_db(t, t->db) == 0);
    size_t n0, n1;
    char *before = slurp(t->db, &n0);
    CHECK(before);
    static const char *const ro[] = {"--read-only", NULL};
    read_only_session(t, ro, test_failed_);
    if (*test_failed_) {
        free(before);
        return;
    }
    char *after = slurp(t->db, &n1);
    int same = after && n0 == n1 && memcmp(before, after, n0) == 0;
    free(before);
    free(after);
    CHECKF(same, "--read-only changed the database file (%zu -> %zu bytes)", n0, n1);
    /* The environment variable does the same. */
    const char *env[] = {t->keyenv, "DSS_AUDIT_READ_ONLY=1", NULL};
    const char *args[] = {"--db", t->db, NULL};
    srv_opts o = {.args = args, .env = env, .no_db = 1};
    srv *s = srv_start(&o);
    CHECK(s);
    CHECK(srv_call_err(s, "log_operation",
                       "{\"event_type\":\"error\",\"operation_name\":\"x\"}", "read-only", NULL));
    FINISH(s);
    tdir_free(t);
}

/* ==== unusable databases ================================================== */

/* Starting on db must fail: non-zero exit, a message on stderr mentioning
** `word` (when not NULL), nothing on stdout (the request sent is a ping,
** which waits for the database), and `watch` (when not NULL)
** byte for byte unchanged with no -wal, -shm or -journal beside it. */
static void refused_at_start(const tdir *t, const char *db, const char *word,
                             const char *watch, int *test_failed_)
{
    size_t n0 = 0, n1 = 0;
    char *before = watch ? slurp(watch, &n0) : NULL;
    if (watch && !before) TEST_FAIL_("cannot read %s", watch);
    srv *s = start_on(t, db, NULL);
    if (!s) {
        free(before);
        TEST_FAIL_("cannot start: %s", h_error());
    }
    srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    int st = srv_wait(s);
    char *out = strdup(srv_stdout(s)), *err = strdup(srv_stderr(s));
    srv_free(s);
    char *after = watch ? slurp(watch, &n1) : NULL;
    int same = !watch || (after && n0 == n1 && memcmp(before, after, n0) == 0);
    free(before);
    free(after);
    int extra = 0;
    static const char *const sfx[] = {"-wal", "-shm", "-journal"};
    for (int i = 0; watch && i < 3; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s%s", watch, sfx[i]);
        extra += exists(p);
    }
    fprintf(stderr, "--db %s: exit %d, stderr: %s", db, st, err ? err : "");
    int ok_status = st > 0, ok_out = out && !*out, ok_err = err && *err,
        ok_word = !word || (err && strstr(err, word));
    free(out);
    free(err);
    if (!ok_status) TEST_FAIL_("--db %s: exit status %d, expected non-zero", db, st);
    if (!ok_out) TEST_FAIL_("--db %s: something was written to stdout", db);
    if (!ok_err) TEST_FAIL_("--db %s: no message on stderr", db);
    if (!ok_word) TEST_FAIL_("--db %s: stderr does not mention \"%s\"", db, word);
    if (!same) TEST_FAIL_("--db %s: the file %s was modified", db, watch);
    if (extra) TEST_FAIL_("--db %s: a -wal, -shm or -journal file was created", db);
}

TEST(path_under_a_regular_file_exits_nonzero)
{
    tdir *t = tdir_new();
    CHECK(t);
    char file[PATH_MAX + 16], db[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/plain", t->path);
    CHECK(write_file(file, "just a file\n", 12, 0600) == 0);
    snprintf(db, sizeof db, "%s/x.db", file);
    refused_at_start(t, db, NULL, file, test_failed_);
    if (*test_failed_) return;
    /* The same under a system file. */
    refused_at_start(t, "/etc/passwd/x.db", NULL, "/etc/passwd", test_failed_);
    if (*test_failed_) return;
    tdir_free(t);
}

/* Run this test binary's case `name` again as user and group nobody
** (65534), with the environment kept; its wait status, or -1. */
static int rerun_as_nobody(const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    pid_t pid = fork();
    if (pid == 0) {
        execlp("setpriv", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               self, name, (char *)NULL);
        _exit(127);
    }
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

TEST(folder_without_permission_exits_nonzero)
{
    if (geteuid() == 0) {
        /* Root ignores permission bits, and CI runs as root: run this very
        ** case again as nobody (setpriv, util-linux), never skip it. */
        int status = rerun_as_nobody("folder_without_permission_exits_nonzero");
        if (status != 0) TEST_FAIL_("the case as user nobody failed (status %d)", status);
        return;
    }
    /* The evidence that the case ran, for case_runs_even_as_root. */
    fprintf(stderr, "folder case: running as uid %d\n", (int)geteuid());
    tdir *t = tdir_new();
    CHECK(t);
    char dir[PATH_MAX + 16], db[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/locked", t->path);
    CHECK(mkdir(dir, 0500) == 0);
    snprintf(db, sizeof db, "%s/audit.db", dir);
    refused_at_start(t, db, NULL, NULL, test_failed_);
    if (*test_failed_) return;
    snprintf(db, sizeof db, "%s/sub/audit.db", dir);
    refused_at_start(t, db, NULL, NULL, test_failed_);
    if (*test_failed_) return;
    tdir_free(t);
}

/* A case that needs a user without root's powers runs as one: the folder
** case must really run (as nobody when the suite runs as root, as CI does),
** never return early reported as passed. */
TEST(permission_case_runs_even_as_root)
{
    char self[PATH_MAX], cmd[PATH_MAX + 128], line[256];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = '\0';
    snprintf(cmd, sizeof cmd, "'%s' folder_without_permission_exits_nonzero 2>&1", self);
    FILE *p = popen(cmd, "r");
    CHECK(p);
    int ran_as = -1;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "folder case: running as uid %d", &ran_as) == 1) break;
    while (fgets(line, sizeof line, p)) {}
    int status = pclose(p);
    ASSERT_EQ_INT(status, 0);
    if (ran_as < 0) TEST_FAIL_("the folder case passed without running");
    ASSERT(ran_as != 0);
    if (geteuid() != 0) ASSERT_EQ_INT(ran_as, geteuid());
}

/* The database is opened once initialize has been answered, so
** a client that opens with initialize gets its reply; the server then stops
** with the reason on stderr and a non-zero exit, as without initialize. */
TEST(initialize_is_answered_then_an_unusable_database_stops_the_server)
{
    tdir *t = tdir_new();
    CHECK(t);
    static const char junk[] = "this is not an SQLite database, not at all\n";
    CHECK(write_file(t->db, junk, sizeof junk - 1, 0600) == 0);
    srv *s = start_on(t, t->db, NULL);
    CHECK(s);
    srv_send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                     "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                     "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    int st = srv_wait(s);
    char *out = strdup(srv_stdout(s)), *err = strdup(srv_stderr(s));
    srv_free(s);
    size_t n = 0;
    char *after = slurp(t->db, &n);
    int same = after && n == sizeof junk - 1 && memcmp(after, junk, n) == 0;
    free(after);
    int replied = out && strstr(out, "\"protocolVersion\":\"2025-11-25\"") &&
                  !strstr(out, "\"id\":2"),
        said = err && strstr(err, "cannot open the audit database") &&
               strstr(err, "not an SQLite database");
    fprintf(stderr, "exit %d, stdout: %s, stderr: %s", st, out ? out : "", err ? err : "");
    free(out);
    free(err);
    if (st <= 0) TEST_FAIL_("exit status %d, expected non-zero", st);
    if (!replied) TEST_FAIL_("the initialize reply is missing from stdout");
    if (!said) TEST_FAIL_("stderr does not say the database cannot be opened, and why");
    if (!same) TEST_FAIL_("the file was modified");
    tdir_free(t);
}

TEST(file_that_is_not_a_database_exits_nonzero_unchanged)
{
    tdir *t = tdir_new();
    CHECK(t);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)("junk text \n"[i % 11]);
    CHECK(write_file(t->db, junk, sizeof junk, 0600) == 0);
    refused_at_start(t, t->db, "not an SQLite database", t->db, test_failed_);
    if (*test_failed_) return;
    /* Random bytes, and a file shorter than an SQLite header. */
    unsigned char rnd_bytes[4096];
    for (size_t i = 0; i < sizeof rnd_bytes; i++) rnd_bytes[i] = (unsigned char)(i * 131 + 7);
    CHECK(write_file(t->db, rnd_bytes, sizeof rnd_bytes, 0600) == 0);
    refused_at_start(t, t->db, NULL, t->db, test_failed_);
    if (*test_failed_) return;
    CHECK(write_file(t->db, "SQLite format 3", 15, 0600) == 0);
    refused_at_start(t, t->db, NULL, t->db, test_failed_);
    if (*test_failed_) return;
    /* Another program's SQLite database. */
    char other[PATH_MAX + 16];
    snprintf(other, sizeof other, "%s/other.db", t->path);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(other, &h) == SQLITE_OK);
    CHECK(sqlite3_exec(h, "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(h);
    CHECK(chmod(other, 0600) == 0);
    refused_at_start(t, other, "other program", other, test_failed_);
    if (*test_failed_) return;
    tdir_free(t);
}

TEST(database_from_a_newer_schema_exits_nonzero_unchanged)
{
    tdir *t = tdir_new();
    CHECK(t);
    CHECK(seed_db(t, t->db) == 0);
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(t->db, &h) == SQLITE_OK);
    CHECK(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    refused_at_start(t, t->db, "newer", t->db, test_failed_);
    if (*test_failed_) return;
    /* verify refuses it too, without touching it. */
    size_t n0, n1;
    char *before = slurp(t->db, &n0);
    char *out = NULL, *err = NULL;
    int st = run_cmd(t, "verify", t->db, &out, &err);
    char *after = slurp(t->db, &n1);
    int same = before && after && n0 == n1 && memcmp(before, after, n0) == 0;
    fprintf(stderr, "verify on a newer schema: exit %d, stderr: %s", st, err ? err : "");
    int mentions = err && strstr(err, "newer");
    free(before);
    free(after);
    free(out);
    free(err);
    CHECKF(st > 0, "verify exited %d", st);
    CHECK(mentions);
    CHECK(same);
    tdir_free(t);
}

TEST(database_writable_by_others_is_refused)
{
    tdir *t = tdir_new();
    CHECK(t);
    CHECK(seed_db(t, t->db) == 0);
    static const mode_t modes[] = {0660, 0620, 0606, 0666};
    for (int i = 0; i < 4; i++) {
        CHECK(chmod(t->db, modes[i]) == 0);
        refused_at_start(t, t->db, "writable", t->db, test_failed_);
        if (*test_failed_) {
            fprintf(stderr, "mode %o\n", (unsigned)modes[i]);
            return;
        }
        struct stat st;
        CHECK(stat(t->db, &st) == 0 && (st.st_mode & 0777) == modes[i]);
    }
    /* Group- or world-readable but not writable is fine. */
    CHECK(chmod(t->db, 0644) == 0);
    srv *s = start_on(t, t->db, NULL);
    CHECK(s);
    CHECK(srv_alive(s));
    FINISH(s);
    tdir_free(t);
}

/* ==== many writers ======================================================== */

#define WRITERS 4
#define PER_WRITER 500
#define WRITER_BATCH 25

typedef struct writer {
    pthread_t thread;
    srv *s;
    int index;
    idset acked;
    int errors, busy, other;
    char why[512];
} writer;

/* One thread per server: stream batches, read every reply. */
static void *write_stream(void *arg)
{
    writer *w = arg;
    char tag[16];
    snprintf(tag, sizeof tag, "w%d", w->index);
    for (int from = 0; from < PER_WRITER; from += WRITER_BATCH) {
        char *batch = log_batch(tag, from, WRITER_BATCH, "concurrent");
        if (!batch || srv_send_raw(w->s, batch, strlen(batch)) != 0) {
            free(batch);
            w->other++;
            snprintf(w->why, sizeof w->why, "could not send: %s", h_error());
            return NULL;
        }
        free(batch);
        for (int k = 0; k < WRITER_BATCH; k++) {
            const char *line = srv_recv_line(w->s);
            if (!line) {
                w->other++;
                snprintf(w->why, sizeof w->why, "no reply: %s", h_error());
                return NULL;
            }
            char why[512];
            int r = log_reply(line, &w->acked, why, sizeof why);
            if (r == 1) continue;
            w->errors++;
            if (strstr(why, "busy") || strstr(why, "locked")) w->busy++;
            snprintf(w->why, sizeof w->why, "%s", why);
        }
    }
    return NULL;
}

TEST(four_writers_one_database_lose_nothing)
{
    tdir *t = tdir_new();
    CHECK(t);
    srv *s0 = start_on(t, t->db, NULL);
    CHECK(s0);
    CHECK(srv_alive(s0));
    FINISH(s0);
    writer w[WRITERS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < WRITERS; i++) {
        w[i].index = i;
        w[i].s = start_on(t, t->db, NULL);
        CHECK(w[i].s);
    }
    long long t0 = fu_now_ms();
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&w[i].thread, NULL, write_stream, &w[i]) == 0);
    for (int i = 0; i < WRITERS; i++) pthread_join(w[i].thread, NULL);
    long long ms = fu_now_ms() - t0;
    idset *all = idset_new();
    CHECK(all);
    int errors = 0, busy = 0, other = 0;
    for (int i = 0; i < WRITERS; i++) {
        errors += w[i].errors;
        busy += w[i].busy;
        other += w[i].other;
        if (w[i].errors || w[i].other)
            fprintf(stderr, "writer %d: %d isError, %d busy, %d failures; last: %s\n", i,
                    w[i].errors, w[i].busy, w[i].other, w[i].why);
        for (size_t k = 0; k < w[i].acked.n; k++)
            idset_add(all, w[i].acked.id[k], w[i].acked.seq[k]);
        srv *s = w[i].s;
        FINISH(s);
        idset_clear(&w[i].acked);
    }
    fprintf(stderr, "many writers: %d servers x %d writes in %lld ms: %zu acknowledged, "
                    "%d errors (%d busy)\n", WRITERS, PER_WRITER, ms, all->n, errors, busy);
    ASSERT_EQ_INT(busy, 0);
    ASSERT_EQ_INT(errors, 0);
    ASSERT_EQ_INT(other, 0);
    ASSERT_EQ_INT(all->n, WRITERS * PER_WRITER);
    size_t dup_ids, dup_seqs;
    duplicates(all, &dup_ids, &dup_seqs);
    ASSERT_EQ_INT(dup_ids, 0);
    ASSERT_EQ_INT(dup_seqs, 0);
    const char *first = NULL;
    ASSERT_EQ_INT(missing_ids(t->db, all, &first), 0);
    ASSERT_EQ_INT(db_scalar(t->db, "SELECT count(*) FROM audit_log WHERE event_type ="
                                   " 'state_transition'", NULL), WRITERS * PER_WRITER);
    ASSERT_EQ_INT(db_scalar(t->db, "SELECT count(*) - count(DISTINCT seq) FROM audit_log", NULL), 0);
    ASSERT_EQ_INT(db_scalar(t->db, "SELECT max(seq) - count(*) FROM audit_log", NULL), 0);
    /* One unbroken chain: each entry's prev_hash is its predecessor's hash. */
    ASSERT_EQ_INT(db_scalar(t->db, "SELECT count(*) FROM audit_log a JOIN audit_log b"
                                   " ON b.seq = a.seq + 1 WHERE b.prev_hash <> a.hash", NULL), 0);
    CHECK(run_verify(t, t->db) == 0);
    idset_free(all);
    tdir_free(t);
}

/*
** Servers started together on a database that does not exist yet must
** create and migrate it once between them.  The window is small, so the
** start is repeated on fresh files.
*/
#define RACE_ATTEMPTS 20

TEST(four_servers_creating_one_database_at_once)
{
    tdir *t = tdir_new();
    CHECK(t);
    /* The key exists already (creating it is not what this is about). */
    char *pk = NULL;
    CHECK(run_cmd(t, "public-key", t->db, &pk, NULL) == 0);
    free(pk);
    int failed_attempts = 0, failed_servers = 0;
    for (int a = 0; a < RACE_ATTEMPTS; a++) {
        char db[PATH_MAX + 32];
        snprintf(db, sizeof db, "%s/race%02d.db", t->path, a);
        srv *s[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            s[i] = start_on(t, db, NULL);
            CHECK(s[i]);
        }
        int bad[WRITERS] = {0}, failed = 0;
        for (int i = 0; i < WRITERS; i++)
            if (!srv_call_ok(s[i], "log_operation",
                             "{\"event_type\":\"state_transition\",\"operation_name\":\"race\"}"))
                bad[i] = 1;
        for (int i = 0; i < WRITERS; i++) {
            int st = srv_wait(s[i]);
            if (st != 0) bad[i] = 1;
            if (bad[i] && failed_servers < 3)
                fprintf(stderr, "attempt %d, server %d: exit %d; stderr: %s", a, i, st,
                        srv_stderr(s[i]));
            failed += bad[i];
            srv_free(s[i]);
        }
        failed_servers += failed;
        failed_attempts += failed > 0;
        if (!failed) {
            ASSERT_EQ_INT(db_scalar(db, "SELECT count(*) FROM audit_log WHERE"
                                        " operation_name = 'race'", NULL), WRITERS);
            CHECK(run_verify(t, db) == 0);
        }
    }
    fprintf(stderr, "creation race: %d attempts of %d servers, %d attempts with failures, "
                    "%d servers failed\n", RACE_ATTEMPTS, WRITERS, failed_attempts,
            failed_servers);
    CHECKF(failed_attempts == 0, "%d of %d attempts had servers failing to open a database "
                                 "created at the same moment", failed_attempts, RACE_ATTEMPTS);
    tdir_free(t);
}

/* ==== clean shutdown ====================================================== */

/* Read replies until stdout ends; 1 when it ended (EOF), 0 on a timeout. */
static int read_to_eof(srv *s, idset *acked, int *bad)
{
    char why[512];
    for (;;) {
        const char *line = srv_recv_line(s);
        if (!line) return strstr(h_error(), "stdout ended") != NULL;
        if (log_reply(line, acked, why, sizeof why) != 1) (*bad)++;
    }
}

TEST(sigterm_with_requests_in_flight_finishes_and_exits_zero)
{
    tdir *t = tdir_new();
    CHECK(t);
    srv *s = start_on(t, t->db, NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    idset *acked = idset_new();
    CHECK(acked);
    int bad = 0, sent = 0;
    char why[512];
    /* A burst, then SIGTERM as soon as the first write is answered, while
    ** the rest are still arriving and being handled. */
    char *batch = log_batch("term", 0, 200, "in-flight");
    CHECK(batch);
    CHECK(srv_send_raw(s, batch, strlen(batch)) == 0);
    free(batch);
    sent = 200;
    const char *line = srv_recv_line(s);
    CHECK(line);
    if (log_reply(line, acked, why, sizeof why) != 1) bad++;
    CHECK(kill(srv_pid(s), SIGTERM) == 0);
    for (int from = 200; from < 3000; from += 100) {
        batch = log_batch("term", from, 100, "in-flight");
        CHECK(batch);
        int rc = srv_send_raw(s, batch, strlen(batch));
        free(batch);
        if (rc != 0) break; /* it has exited and closed its stdin */
        sent += 100;
    }
    /* stdin stays open: the server must end on the signal alone. */
    int eof = read_to_eof(s, acked, &bad);
    CHECKF(eof, "the server did not exit after SIGTERM: %s", h_error());
    CHECK(srv_stdout_is_json_lines(s));
    int st = srv_wait(s);
    CHECKF(st == 0, "exit status %d after SIGTERM (%s); stderr: %s", st, h_error(), srv_stderr(s));
    srv_free(s);
    fprintf(stderr, "SIGTERM: %d requests sent, %zu answered before exit\n", sent, acked->n);
    ASSERT_EQ_INT(bad, 0);
    CHECK(acked->n >= 1);
    /* Every answered write is durable, and nothing was written unanswered. */
    const char *first = NULL;
    ASSERT_EQ_INT(missing_ids(t->db, acked, &first), 0);
    ASSERT_EQ_INT(db_scalar(t->db, "SELECT count(*) FROM audit_log WHERE operation_name"
                                   " LIKE 'term-%'", NULL), (long long)acked->n);
    CHECK(run_verify(t, t->db) == 0);
    idset_free(acked);
    tdir_free(t);
}

TEST(sigterm_when_idle_exits_zero)
{
    tdir *t = tdir_new();
    CHECK(t);
    srv *s = start_on(t, t->db, NULL);
    CHECK(s);
    CHECK(srv_initialize(s, "2025-11-25"));
    CHECK(srv_call_ok(s, "log_operation",
                      "{\"event_type\":\"state_transition\",\"operation_name\":\"idle\"}"));
    CHECK(kill(srv_pid(s), SIGTERM) == 0);
    idset *none = idset_new();
    CHECK(none);
    int bad = 0;
    CHECKF(read_to_eof(s, none, &bad), "no exit after SIGTERM: %s", h_error());
    FINISH(s);
    CHECK(run_verify(t, t->db) == 0);
    idset_free(none);
    tdir_free(t);
}

TEST(stdin_eof_with_requests_in_flight_answers_all_and_exits_zero)
{
    tdir *t = tdir_new();
    CHECK(t);
    srv *s = start_on(t, t->db, NULL);
    CHECK(s);
    char *batch = log_batch("eof", 0, 500, "in-flight");
    CHECK(batch);
    /* The last message without its newline still counts. */
    batch[strlen(batch) - 1] = '\0';
    CHECK(srv_send_raw(s, batch, strlen(batch)) == 0);
    free(batch);
    srv_close_stdin(s);
    idset *acked = idset_new();
    CHECK(acked);
    int bad = 0;
    CHECKF(read_to_eof(s, acked, &bad), "%s", h_error());
    FINISH(s);
    ASSERT_EQ_INT(bad, 0);
    ASSERT_EQ_INT(acked->n, 500);
    const char *first = NULL;
    ASSERT_EQ_INT(missing_ids(t->db, acked, &first), 0);
    CHECK(run_verify(t, t->db) == 0);
    idset_free(acked);
    tdir_free(t);
}

TEST_MAIN(TEST_ENTRY(sigkill_under_load_loses_no_acknowledged_entry)
          TEST_ENTRY(full_database_refuses_writes_cleanly_and_recovers)
          TEST_ENTRY(file_size_limit_refuses_writes_cleanly_and_recovers)
          TEST_ENTRY(full_file_system_refuses_writes_cleanly_and_recovers)
          TEST_ENTRY(full_database_mid_group_replies_match_what_is_stored)
          TEST_ENTRY(read_only_file_refuses_writes_serves_reads_changes_nothing)
          TEST_ENTRY(read_only_flag_refuses_writes_serves_reads_changes_nothing)
          TEST_ENTRY(path_under_a_regular_file_exits_nonzero)
          TEST_ENTRY(folder_without_permission_exits_nonzero)
          TEST_ENTRY(permission_case_runs_even_as_root)
          TEST_ENTRY(initialize_is_answered_then_an_unusable_database_stops_the_server)
          TEST_ENTRY(file_that_is_not_a_database_exits_nonzero_unchanged)
          TEST_ENTRY(database_from_a_newer_schema_exits_nonzero_unchanged)
          TEST_ENTRY(database_writable_by_others_is_refused)
          TEST_ENTRY(four_writers_one_database_lose_nothing)
          TEST_ENTRY(four_servers_creating_one_database_at_once)
          TEST_ENTRY(sigterm_with_requests_in_flight_finishes_and_exits_zero)
          TEST_ENTRY(sigterm_when_idle_exits_zero)
          TEST_ENTRY(stdin_eof_with_requests_in_flight_answers_all_and_exits_zero))
