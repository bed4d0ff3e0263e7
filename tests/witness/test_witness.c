/*
** test_witness.c: the witness as a real process over real HTTP on a
** loopback port, and the log's client side of it.
**
** Each case starts the witness program ($DSS_WITNESS_BIN, the `witness`
** command) in a fresh temp folder on a free port, builds small logs in
** memory (src/tlog/merkle.h) signed like ours, and talks to it with
** libcurl: every status code of c2sp.org/tlog-witness, its state across a
** restart and across kill -9 mid-submission, and the rule that one size is
** never cosigned with two roots.  DSS_E2E_WRAPPER (e.g. valgrind) is put
** in front of the witness when set.  The last cases run real logs through
** the real commands: checkpoint --witness, serve --witness in the
** background, two logs with one witness, a log rebuilt and signed again.
*/
#include "test.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "tlog/c2sp.h"
#include "tlog/proof.h"
#include "witness/witness.h"
#include "witness/witness_client.h"
#include "witness/witness_db.h"
#include "tlog_fixture.h"

/* ---- the witness process ------------------------------------------------ */

typedef struct wproc {
    pid_t pid;
    int port;
    char dir[64];
    char vkey[NOTE_VKEY_MAX];
    note_key key;
    char url[64];
} wproc;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Every witness started and every temp folder made, so that a case that
** fails half-way (the ASSERTs return early) leaves no process or folder:
** an atexit() handler kills and removes what is left. */
#define MAX_LIVE 16
static pid_t live_pid[MAX_LIVE];
static char live_dir[MAX_LIVE][64];

static void reap_all(void)
{
    char cmd[128];
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live_pid[i] > 0) {
            kill(live_pid[i], SIGKILL);
            waitpid(live_pid[i], NULL, 0);
        }
        if (live_dir[i][0]) {
            snprintf(cmd, sizeof cmd, "rm -rf '%.63s'", live_dir[i]);
            if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", live_dir[i]);
        }
        live_pid[i] = 0;
        live_dir[i][0] = '\0';
    }
}

static void track(pid_t pid, const char *dir)
{
    static int registered;
    if (!registered) registered = !atexit(reap_all);
    for (int i = 0; i < MAX_LIVE; i++)
        if (dir ? !live_dir[i][0] : live_pid[i] == 0) {
            if (dir) snprintf(live_dir[i], sizeof live_dir[i], "%s", dir);
            else live_pid[i] = pid;
            return;
        }
}

static void untrack(pid_t pid, const char *dir)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        if (pid && live_pid[i] == pid) live_pid[i] = 0;
        if (dir && strcmp(live_dir[i], dir) == 0) live_dir[i][0] = '\0';
    }
}

/* Start the witness in w->dir (made when empty) for the given log vkeys.
** Waits for its start lines on stderr (in w->dir/stderr).  0 or -1. */
static int wstart(wproc *w, const char *const *logs, int nlogs, const char *name)
{
    char db[128], key[128], errpath[128];
    const char *bin = getenv("DSS_WITNESS_BIN");
    if (!bin) {
        fprintf(stderr, "DSS_WITNESS_BIN is not set\n");
        return -1;
    }
    if (!w->dir[0]) {
        strcpy(w->dir, "/tmp/dss-witness-XXXXXX");
        if (!mkdtemp(w->dir)) return -1;
        track(0, w->dir);
    }
    snprintf(db, sizeof db, "%s/state.db", w->dir);
    snprintf(key, sizeof key, "%s/keys/witness.key", w->dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", w->dir);
    const char *argv[64];
    int n = 0;
    char wrap[512] = "";
    const char *wr = getenv("DSS_E2E_WRAPPER");
    if (wr && *wr) {
        snprintf(wrap, sizeof wrap, "%s", wr);
        for (char *t = strtok(wrap, " "); t && n < 20; t = strtok(NULL, " ")) argv[n++] = t;
    }
    argv[n++] = bin;
    argv[n++] = "witness";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n++] = "--key";
    argv[n++] = key;
    if (name) {
        argv[n++] = "--name";
        argv[n++] = name;
    }
    argv[n++] = "--log";
    for (int i = 0; i < nlogs; i++) argv[n++] = logs[i];
    argv[n] = NULL;
    if (truncate(errpath, 0) != 0 && errno != ENOENT) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    w->pid = pid;
    track(pid, NULL);
    /* Both start lines, within 60 s (valgrind is slow). */
    for (int waited = 0; waited < 60000; waited += 20) {
        char buf[4096] = "";
        FILE *f = fopen(errpath, "r");
        if (f) {
            size_t got = fread(buf, 1, sizeof buf - 1, f);
            buf[got] = '\0';
            fclose(f);
        }
        const char *k = strstr(buf, "verifier key "), *p = strstr(buf, "http://127.0.0.1:");
        if (k && p && strchr(p, '(')) {
            sscanf(k + strlen("verifier key "), "%299s", w->vkey);
            w->port = atoi(p + strlen("http://127.0.0.1:"));
            snprintf(w->url, sizeof w->url, "http://127.0.0.1:%d", w->port);
            char err[256];
            return note_key_parse(w->vkey, &w->key, err, sizeof err) == NOTE_OK ? 0 : -1;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "the witness exited at start: %s\n", buf);
            untrack(pid, NULL);
            w->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    return -1;
}

/* Stop it with sig and reap it; its exit status (or -signal). */
static int wstop(wproc *w, int sig)
{
    int st = 0;
    if (w->pid <= 0) return 0;
    kill(w->pid, sig);
    waitpid(w->pid, &st, 0);
    untrack(w->pid, NULL);
    w->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void wfree(wproc *w)
{
    char cmd[128];
    wstop(w, SIGKILL);
    if (w->dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", w->dir);
        untrack(0, w->dir);
    }
}

/* Stop it as an operator would (SIGTERM) and remove its folder: its exit
** status, which is 0 unless it failed to stop cleanly or the wrapper
** (valgrind) or a sanitizer found errors; then its stderr is shown. */
static int wfinish(wproc *w)
{
    int st = wstop(w, SIGTERM);
    if (st != 0) {
        char path[128], buf[8192];
        snprintf(path, sizeof path, "%s/stderr", w->dir);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[n] = '\0';
        if (f) fclose(f);
        fprintf(stderr, "the witness exited with %d; its stderr:\n%s\n", st, buf);
    }
    wfree(w);
    return st;
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct answer {
    long status;
    char type[128];
    char body[8192];
    size_t len;
} answer;

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    size_t len = size * n, room = sizeof a->body - 1 - a->len;
    memcpy(a->body + a->len, p, len < room ? len : room);
    a->len += len < room ? len : room;
    a->body[a->len] = '\0';
    return len;
}

/* method "POST" with body[0..len), or "GET"; 0 or -1 (no answer). */
static int http(const wproc *w, const char *method, const char *path, const char *body,
                size_t len, answer *a)
{
    char url[256];
    memset(a, 0, sizeof *a);
    snprintf(url, sizeof url, "%s%s", w->url, path);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(a->type, sizeof a->type, "%s", ct ? ct : "");
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

/* ---- logs --------------------------------------------------------------- */

/* A log: its tree and its key (origin = key name).  fork_at >= 0 makes a
** log whose entries differ from the plain one's from that index on. */
typedef struct tlog {
    merkle_mem tree;
    note_signer key;
    char vkey[NOTE_VKEY_MAX];
    int fork_at;
} tlog;

static void log_init(tlog *l, const char *origin, int fork_at)
{
    memset(l, 0, sizeof *l);
    l->key = tf_signer(origin, NOTE_ED25519);
    note_key_format(&l->key.key, l->vkey);
    l->fork_at = fork_at;
}

/* The same origin and key as l, for a rewritten copy of it. */
static void log_copy_key(tlog *l, const tlog *from, int fork_at)
{
    memset(l, 0, sizeof *l);
    l->key = from->key;
    memcpy(l->vkey, from->vkey, sizeof l->vkey);
    l->fork_at = fork_at;
}

static void log_grow(tlog *l, int64_t size)
{
    while (l->tree.f.size < size) {
        int64_t i = l->tree.f.size;
        uint8_t entry[40];
        merkle_hash leaf;
        memset(entry, 0, sizeof entry);
        memcpy(entry, &i, sizeof i);
        if (l->fork_at >= 0 && i >= l->fork_at) entry[39] = 0xf0;
        crypto_hash_sha256(entry, entry, sizeof entry);
        merkle_leaf_hash(entry, 32, leaf);
        merkle_mem_append(&l->tree, leaf);
    }
}

/* The signed checkpoint of l at size (grown as needed); caller frees. */
static char *log_checkpoint(tlog *l, int64_t size)
{
    log_grow(l, size);
    return tf_checkpoint(&l->tree, size, &l->key);
}

/* The add-checkpoint body from old to size; caller frees. */
static char *log_body(tlog *l, int64_t old, int64_t size)
{
    char err[256], *cp = log_checkpoint(l, size);
    merkle_reader r = merkle_mem_reader(&l->tree);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t plen = 0;
    if (old <= size) merkle_prove_consistency(old, size, &r, path, &plen, err, sizeof err);
    char *b = proof_consistency_format(old, path[0], plen, cp, strlen(cp), NULL, err, sizeof err);
    if (!b) { /* old above size: written by hand, for the 400 case */
        b = malloc(strlen(cp) + 32);
        sprintf(b, "old %lld\n\n%s", (long long)old, cp);
    }
    free(cp);
    return b;
}

/* POST l's body from old to size. */
static long submit(const wproc *w, tlog *l, int64_t old, int64_t size, answer *a)
{
    char *b = log_body(l, old, size);
    int rc = http(w, "POST", "/add-checkpoint", b, strlen(b), a);
    free(b);
    return rc == 0 ? a->status : -1;
}

static void log_free(tlog *l)
{
    merkle_mem_free(&l->tree);
}

/* Whether line is a valid cosignature by w over l's checkpoint at size. */
static int cosig_ok(const wproc *w, tlog *l, int64_t size, const char *line)
{
    char *cp = log_checkpoint(l, size), err[256];
    size_t len = strlen(cp);
    char *all = malloc(len + strlen(line) + 1);
    strcpy(all, cp);
    strcat(all, line);
    static note n;
    note_verdict v;
    int ok = note_parse(all, strlen(all), &n, err, sizeof err) == NOTE_OK &&
             note_check(&n, &w->key, 1, &v, err, sizeof err) == 1 && v.timestamp > 0;
    free(all);
    free(cp);
    return ok;
}

/* The witness's stored latest for origin, read from its state file. */
static int64_t stored_size(const wproc *w, const char *origin, uint8_t root[32])
{
    char path[128], err[256];
    int64_t size = -1;
    snprintf(path, sizeof path, "%s/state.db", w->dir);
    wdb *db = wdb_open(path, err, sizeof err);
    if (!db) return -1;
    if (wdb_latest(db, origin, &size, root, err, sizeof err) < 0) size = -1;
    wdb_close(db);
    return size;
}

/* Log a ("dss-audit/a") and a witness watching it alone, started.  0 or
** -1. */
static int one_log(tlog *a, wproc *w)
{
    log_init(a, "dss-audit/a", -1);
    const char *logs[] = {a->vkey};
    return wstart(w, logs, 1, NULL);
}

/* ---- cases -------------------------------------------------------------- */

TEST(start_prints_a_cosignature_vkey_and_makes_a_private_key_file)
{
    tlog a;
    wproc w = {0};
    log_init(&a, "dss-audit/a", -1);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(w.key.type, NOTE_COSIGNATURE);
    ASSERT(strncmp(w.key.name, "dss-audit-witness/", 18) == 0);
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/keys/witness.key", w.dir);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/keys/witness.key.pub", w.dir);
    ASSERT_EQ_INT(stat(path, &st), 0);
    /* A restart keeps the name and key, so the vkey logs configured stays. */
    char first[NOTE_VKEY_MAX];
    strcpy(first, w.vkey);
    ASSERT_EQ_INT(wstop(&w, SIGTERM), 0);
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_STR(w.vkey, first);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(a_first_checkpoint_from_size_zero_is_cosigned)
{
    tlog a;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, "witness.example/w1"), 0);
    ASSERT_EQ_STR(w.key.name, "witness.example/w1");
    ASSERT_EQ_INT(submit(&w, &a, 0, 5, &ans), 200);
    ASSERT(strncmp(ans.body, "— witness.example/w1 ", strlen("— witness.example/w1 ")) == 0);
    ASSERT_EQ_INT(strchr(ans.body, '\n') - ans.body + 1, (long)ans.len);
    ASSERT(cosig_ok(&w, &a, 5, ans.body));
    uint8_t root[32];
    ASSERT_EQ_INT(stored_size(&w, "dss-audit/a", root), 5);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(extensions_with_consistency_proofs_are_cosigned)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 1, &ans), 200);
    static const int64_t sizes[] = {2, 3, 8, 13, 64, 65, 100};
    int64_t old = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ASSERT_EQ_INT(submit(&w, &a, old, sizes[i], &ans), 200);
        ASSERT(cosig_ok(&w, &a, sizes[i], ans.body));
        old = sizes[i];
    }
    /* The same checkpoint again: same size, same root, cosigned again. */
    ASSERT_EQ_INT(submit(&w, &a, 100, 100, &ans), 200);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(an_unknown_origin_is_404)
{
    tlog a, b;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    log_init(&b, "dss-audit/b", -1);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &b, 0, 3, &ans), 404);
    ASSERT(strstr(ans.body, "dss-audit/b"));
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&b);
}

TEST(a_checkpoint_not_signed_by_the_logs_key_is_403)
{
    tlog a, impostor;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    log_init(&impostor, "dss-audit/a", -1); /* same origin, another key */
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &impostor, 0, 3, &ans), 403);
    /* The log's real signature over an edited size. */
    char *b = log_body(&a, 0, 3);
    char *at = strstr(b, "dss-audit/a\n3\n");
    at[12] = '4';
    ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", b, strlen(b), &ans), 0);
    ASSERT_EQ_INT(ans.status, 403);
    ASSERT(strstr(ans.body, "does not verify"));
    free(b);
    /* Nothing was cosigned. */
    uint8_t root[32];
    ASSERT_EQ_INT(stored_size(&w, "dss-audit/a", root), 0);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&impostor);
}

TEST(a_stale_old_size_is_409_with_the_latest_size)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    /* Never cosigned: it holds 0. */
    ASSERT_EQ_INT(submit(&w, &a, 2, 5, &ans), 409);
    ASSERT_EQ_STR(ans.body, "0\n");
    ASSERT(strncmp(ans.type, "text/x.tlog.size", 16) == 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 7, &ans), 200);
    ASSERT_EQ_INT(submit(&w, &a, 0, 9, &ans), 409);
    ASSERT_EQ_STR(ans.body, "7\n");
    ASSERT_EQ_INT(submit(&w, &a, 5, 9, &ans), 409);
    ASSERT_EQ_STR(ans.body, "7\n");
    ASSERT_EQ_INT(submit(&w, &a, 7, 9, &ans), 200);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(an_old_size_above_the_checkpoints_is_400)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    ASSERT_EQ_INT(submit(&w, &a, 6, 5, &ans), 400);
    ASSERT(strstr(ans.body, "above the checkpoint's size"));
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(malformed_bodies_are_400)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    char *cp = log_checkpoint(&a, 3), body[4096];
    const char *bad[] = {"", "old 0", "old 00\n\n%s", "old 0\n%s", "old 0\nnot base64\n\n%s",
                         "old 0\n\nnot a note\n", "old 0\n\nnot a checkpoint\n\n%s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *sig = strstr(cp, "\n\n") + 2;
        snprintf(body, sizeof body, bad[i], i == 6 ? sig : cp);
        ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", body, strlen(body), &ans), 0);
        ASSERT_EQ_INT(ans.status, 400);
    }
    free(cp);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(a_consistency_proof_that_fails_is_422_and_kept_as_evidence)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 5, &ans), 200);
    char *b = log_body(&a, 5, 12);
    b[strlen("old 5\n") + 3] ^= 1; /* a changed proof hash (still base64) */
    ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", b, strlen(b), &ans), 0);
    ASSERT_EQ_INT(ans.status, 422);
    ASSERT(strstr(ans.body, "does not verify"));
    /* A truncated proof as well. */
    free(b);
    b = log_body(&a, 5, 12);
    char *first = strchr(b, '\n') + 1;
    memmove(first, first + 45, strlen(first + 45) + 1);
    ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", b, strlen(b), &ans), 0);
    ASSERT_EQ_INT(ans.status, 422);
    free(b);
    uint8_t root[32];
    ASSERT_EQ_INT(stored_size(&w, "dss-audit/a", root), 5);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/state.db", w.dir);
    wdb *db = wdb_open(path, err, sizeof err);
    ASSERT(db);
    ASSERT_EQ_INT(wdb_refused_count(db, "dss-audit/a", err, sizeof err), 2);
    wdb_close(db);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(another_root_at_the_size_it_holds_is_422)
{
    tlog a, rewritten;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    log_copy_key(&rewritten, &a, 2);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 6, &ans), 200);
    ASSERT_EQ_INT(submit(&w, &rewritten, 6, 6, &ans), 422);
    ASSERT(strstr(ans.body, "another tree of size 6"));
    ASSERT_EQ_INT(submit(&w, &rewritten, 6, 9, &ans), 422);
    ASSERT_EQ_INT(submit(&w, &rewritten, 0, 6, &ans), 409);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&rewritten);
}

TEST(a_proof_from_size_zero_must_be_empty)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    char *cp = log_checkpoint(&a, 4);
    char *b = malloc(strlen(cp) + 128);
    sprintf(b, "old 0\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n%s", cp);
    ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", b, strlen(b), &ans), 0);
    ASSERT_EQ_INT(ans.status, 422);
    ASSERT(strstr(ans.body, "from size 0 must be empty"));
    free(b);
    free(cp);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(a_size_zero_checkpoint_needs_the_empty_trees_root)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    char err[256];
    ckpt c = {.size = 0};
    strcpy(c.origin, "dss-audit/a");
    memset(c.root, 0, 32); /* Go's TreeHash(0), not RFC 6962's */
    for (int good = 0; good < 2; good++) {
        if (good) merkle_empty_root(c.root);
        size_t tl;
        char *text = ckpt_format(&c, &tl, err, sizeof err);
        char *cp = note_sign(text, tl, &a.key, 1, 0, NULL, err, sizeof err);
        char *b = proof_consistency_format(0, NULL, 0, cp, strlen(cp), NULL, err, sizeof err);
        ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", b, strlen(b), &ans), 0);
        ASSERT_EQ_INT(ans.status, good ? 200 : 422);
        free(text);
        free(cp);
        free(b);
    }
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(other_methods_and_paths_are_405_and_404)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    ASSERT_EQ_INT(http(&w, "GET", "/add-checkpoint", NULL, 0, &ans), 0);
    ASSERT_EQ_INT(ans.status, 405);
    ASSERT_EQ_INT(http(&w, "PUT", "/add-checkpoint", NULL, 0, &ans), 0);
    ASSERT_EQ_INT(ans.status, 405);
    ASSERT_EQ_INT(http(&w, "GET", "/", NULL, 0, &ans), 0);
    ASSERT_EQ_INT(ans.status, 404);
    ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint/", "x", 1, &ans), 0);
    ASSERT_EQ_INT(ans.status, 404);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(a_body_over_the_limit_is_413)
{
    tlog a;
    wproc w = {0};
    answer ans;
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    size_t n = WITNESS_MAX_BODY + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    ASSERT_EQ_INT(http(&w, "POST", "/add-checkpoint", big, n, &ans), 0);
    ASSERT_EQ_INT(ans.status, 413);
    free(big);
    /* It still serves. */
    ASSERT_EQ_INT(submit(&w, &a, 0, 2, &ans), 200);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(monitors_get_the_latest_cosigned_checkpoint)
{
    tlog a;
    wproc w = {0};
    answer ans;
    char path[128], hex[65], err[256];
    uint8_t h[32];
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    crypto_hash_sha256(h, (const uint8_t *)"dss-audit/a", 11);
    sodium_bin2hex(hex, sizeof hex, h, 32);
    snprintf(path, sizeof path, "/%s/checkpoint", hex);
    ASSERT_EQ_INT(http(&w, "GET", path, NULL, 0, &ans), 0);
    ASSERT_EQ_INT(ans.status, 404);
    ASSERT_EQ_INT(submit(&w, &a, 0, 4, &ans), 200);
    ASSERT_EQ_INT(submit(&w, &a, 4, 11, &ans), 200);
    ASSERT_EQ_INT(http(&w, "GET", path, NULL, 0, &ans), 0);
    ASSERT_EQ_INT(ans.status, 200);
    /* Size 11, signed by the log and cosigned by the witness. */
    static note n;
    ckpt c;
    ckpt_log l;
    ckpt_log_from_vkey(a.vkey, &l, err, sizeof err);
    ASSERT_EQ_INT(ckpt_open(ans.body, ans.len, &l, 1, &n, &c, err, sizeof err), CKPT_OK);
    ASSERT_EQ_INT(c.size, 11);
    note_verdict v;
    ASSERT_EQ_INT(note_check(&n, &w.key, 1, &v, err, sizeof err), 1);
    ASSERT_EQ_INT(n.nsigs, 2);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(two_logs_one_witness_keep_separate_states)
{
    tlog a, b;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    log_init(&b, "dss-audit/b", -1);
    const char *logs[] = {a.vkey, b.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 2, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 10, &ans), 200);
    ASSERT_EQ_INT(submit(&w, &b, 0, 3, &ans), 200);
    ASSERT_EQ_INT(submit(&w, &b, 10, 12, &ans), 409);
    ASSERT_EQ_STR(ans.body, "3\n");
    ASSERT_EQ_INT(submit(&w, &a, 10, 12, &ans), 200);
    ASSERT_EQ_INT(submit(&w, &b, 3, 12, &ans), 200);
    uint8_t root[32];
    ASSERT_EQ_INT(stored_size(&w, "dss-audit/a", root), 12);
    ASSERT_EQ_INT(stored_size(&w, "dss-audit/b", root), 12);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&b);
}

TEST(a_rewritten_log_is_refused_after_kill_9_and_a_restart)
{
    tlog a, rewritten;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    log_copy_key(&rewritten, &a, 7); /* rebuilt from entry 7 on, re-signed with the key */
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 10, &ans), 200);
    ASSERT_EQ_INT(wstop(&w, SIGKILL), -SIGKILL);
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &rewritten, 0, 10, &ans), 409);
    ASSERT_EQ_STR(ans.body, "10\n");
    ASSERT_EQ_INT(submit(&w, &rewritten, 10, 10, &ans), 422);
    ASSERT_EQ_INT(submit(&w, &rewritten, 10, 15, &ans), 422);
    /* The real log goes on. */
    ASSERT_EQ_INT(submit(&w, &a, 10, 15, &ans), 200);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&rewritten);
}

/* A submitter thread for the kill -9 case: submits growing checkpoints
** until the witness dies, recording the largest size cosigned. */
typedef struct pump {
    const wproc *w;
    tlog *log;
    int64_t start;
    _Atomic int64_t acked;
    int failed_cosig;
} pump;

static void *pump_run(void *arg)
{
    pump *p = arg;
    int64_t old = p->start;
    for (int64_t size = p->start + 1;; size++) {
        answer ans;
        long st = submit(p->w, p->log, old, size, &ans);
        if (st != 200) break;
        if (!cosig_ok(p->w, p->log, size, ans.body)) p->failed_cosig = 1;
        p->acked = old = size;
    }
    return NULL;
}

TEST(kill_9_mid_submission_keeps_a_consistent_state)
{
    tlog a;
    wproc w = {0};
    log_init(&a, "dss-audit/a", -1);
    log_grow(&a, 5000);
    const char *logs[] = {a.vkey};
    merkle_reader r = merkle_mem_reader(&a.tree);
    int64_t held = 0;
    for (int round = 0; round < 6; round++) {
        ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
        pump p = {&w, &a, held, held, 0};
        pthread_t t;
        pthread_create(&t, NULL, pump_run, &p);
        /* Once it answers (valgrind makes the first answer slow), kill it
        ** at a random moment of the stream of submissions. */
        for (int waited = 0; atomic_load(&p.acked) == held && waited < 60000; waited += 10)
            sleep_ms(10);
        sleep_ms(20 + (int)randombytes_uniform(200));
        wstop(&w, SIGKILL);
        pthread_join(t, NULL);
        ASSERT(!p.failed_cosig);
        /* Whatever it was doing, the state is a tree it cosigned: at least
        ** the last one it answered for (durable before the answer), at most
        ** one more (committed, then killed before answering), with that
        ** tree's root. */
        uint8_t root[32], want[32];
        char err[256];
        held = stored_size(&w, "dss-audit/a", root);
        int64_t acked = atomic_load(&p.acked);
        ASSERT(held >= acked && held <= acked + 1);
        if (held > 0) {
            ASSERT_EQ_INT(merkle_tree_hash(held, &r, want, err, sizeof err), MERKLE_OK);
            ASSERT(memcmp(root, want, 32) == 0);
        }
        fprintf(stderr, "round %d: killed with %lld cosigned (last answered %lld)\n", round,
                (long long)held, (long long)atomic_load(&p.acked));
        if (held >= 4900) break;
    }
    ASSERT(held > 0); /* the pump got cosignatures between the kills */
    /* It goes on from there after a restart. */
    answer ans;
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, held, held + 1, &ans), 200);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(kill_9_with_a_request_half_sent_changes_nothing)
{
    tlog a;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 3, &ans), 200);
    /* Headers and half the body, by hand, then kill -9. */
    char *b = log_body(&a, 3, 9), head[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ_INT(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int hl = snprintf(head, sizeof head,
                      "POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
                      strlen(b));
    ASSERT_EQ_INT(write(fd, head, (size_t)hl), hl);
    ASSERT_EQ_INT(write(fd, b, strlen(b) / 2), (ssize_t)(strlen(b) / 2));
    sleep_ms(100);
    wstop(&w, SIGKILL);
    close(fd);
    uint8_t root[32];
    ASSERT_EQ_INT(stored_size(&w, "dss-audit/a", root), 3);
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, 3, 9, &ans), 200);
    free(b);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(one_size_is_never_cosigned_with_two_roots)
{
    /* Two forks of one log (same key) submitted in a random order with
    ** random old sizes: every cosignature the witness gives, for any size,
    ** is over one root only. */
    enum { MAX = 40 };
    tlog a, b;
    wproc w = {0};
    answer ans;
    log_init(&a, "dss-audit/a", -1);
    log_copy_key(&b, &a, 5);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    uint8_t seen[MAX + 1][32];
    int have[MAX + 1] = {0}, cosigned = 0;
    merkle_reader ra = merkle_mem_reader(&a.tree), rb = merkle_mem_reader(&b.tree);
    log_grow(&a, MAX);
    log_grow(&b, MAX);
    for (int i = 0; i < 300; i++) {
        tlog *l = randombytes_uniform(2) ? &a : &b;
        int64_t size = 1 + randombytes_uniform(MAX);
        int64_t old = randombytes_uniform((uint32_t)size + 1);
        long st = submit(&w, l, old, size, &ans);
        if (st == 409) { /* from the size it holds, as a log would */
            old = atoll(ans.body);
            st = old <= size ? submit(&w, l, old, size, &ans) : st;
        }
        if (st != 200) continue;
        uint8_t root[32];
        char err[256];
        merkle_tree_hash(size, l == &a ? &ra : &rb, root, err, sizeof err);
        if (have[size]) ASSERT(memcmp(seen[size], root, 32) == 0);
        memcpy(seen[size], root, 32);
        have[size] = 1;
        cosigned++;
    }
    ASSERT(cosigned > 0);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&b);
}

/* ---- the client side ---------------------------------------------------- */

/* The log's side: l's checkpoint at size submitted to w with
** witness_submit() from old, for the witness key key. */
static int client(const wproc *w, tlog *l, int64_t old, int64_t size, const note_key *key,
                  witness_reply *rep, char *err, size_t errlen)
{
    char *cp = log_checkpoint(l, size);
    merkle_reader r = merkle_mem_reader(&l->tree);
    int rc = witness_submit(w->url, key, cp, strlen(cp), old, &r, 30000, rep, err, errlen);
    free(cp);
    return rc;
}

/* A TCP socket bound to a free loopback port, listening when listening is
** set; url gets "http://127.0.0.1:PORT".  The socket, or -1. */
static int loopback_socket(int listening, char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (listening && listen(fd, 4) != 0) || getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    snprintf(url, cap, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

/* A witness key nobody holds, for witnesses that never answer. */
static note_key any_witness_key(void)
{
    note_signer s = tf_signer("w", NOTE_COSIGNATURE);
    return s.key;
}

TEST(submit_follows_a_409_from_the_size_the_witness_reports)
{
    tlog a;
    wproc w = {0};
    answer ans;
    char err[512];
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 5, &ans), 200);
    witness_reply rep;
    ASSERT_EQ_INT(client(&w, &a, 0, 9, &w.key, &rep, err, sizeof err), WITNESS_OK);
    ASSERT_EQ_INT(rep.http_status, 200);
    ASSERT_EQ_INT(rep.witness_size, 9);
    ASSERT(rep.timestamp > 0);
    ASSERT(cosig_ok(&w, &a, 9, rep.cosignatures));
    witness_reply_free(&rep);
    /* A trailing slash on the prefix is fine; the same checkpoint again. */
    wproc slash = w;
    strcat(slash.url, "/");
    ASSERT_EQ_INT(client(&slash, &a, 9, 9, &w.key, &rep, err, sizeof err), WITNESS_OK);
    witness_reply_free(&rep);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

/* A witness may answer with several cosignature lines of its key; the
** line kept (the first, which wsync stores with the reply's time) is the
** one whose time the reply reports, not whichever came first. */
TEST(a_reply_of_several_cosignatures_puts_the_newest_first)
{
    merkle_mem m = {0};
    merkle_hash leaf = {1};
    ASSERT_EQ_INT(merkle_mem_append(&m, leaf), 0);
    note_signer log = tf_signer("example.org/log", NOTE_ED25519);
    note_signer wit = tf_signer("example.org/witness", NOTE_COSIGNATURE);
    char *cp = tf_checkpoint(&m, 1, &log), err[256];
    ASSERT(cp != NULL);
    note n;
    ASSERT_EQ_INT(note_parse(cp, strlen(cp), &n, err, sizeof err), NOTE_OK);
    char older[NOTE_LINE_MAX], newer[NOTE_LINE_MAX], reply[2 * NOTE_LINE_MAX];
    ASSERT_EQ_INT(note_sign_line(&wit, n.text, n.text_len, 1000, older, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_sign_line(&wit, n.text, n.text_len, 2000, newer, err, sizeof err), NOTE_OK);
    snprintf(reply, sizeof reply, "%s%s", older, newer);
    witness_reply rep;
    ASSERT_EQ_INT(witness_reply_parse(&n, &wit.key, reply, strlen(reply), &rep, err, sizeof err),
                  WITNESS_OK);
    ASSERT_EQ_INT(rep.timestamp, 2000);
    ASSERT(strncmp(rep.cosignatures, newer, strlen(newer)) == 0);
    ASSERT(strstr(rep.cosignatures, older) != NULL); /* the other is still there */
    witness_reply_free(&rep);
    free(cp);
    merkle_mem_free(&m);
}

TEST(submit_refuses_a_reply_without_the_witness_keys_cosignature)
{
    tlog a;
    wproc w = {0};
    char err[512] = "";
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    note_key wrong = w.key;
    wrong.pk[0] ^= 1; /* the name and ID the log was told, another key */
    witness_reply rep;
    ASSERT_EQ_INT(client(&w, &a, 0, 4, &wrong, &rep, err, sizeof err), WITNESS_EREPLY);
    ASSERT_CONTAINS(err, "no valid cosignature");
    ASSERT(rep.cosignatures == NULL);
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(submit_says_when_the_witness_holds_a_larger_tree)
{
    tlog a;
    wproc w = {0};
    answer ans;
    char err[512] = "";
    ASSERT_EQ_INT(one_log(&a, &w), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 12, &ans), 200);
    witness_reply rep;
    ASSERT_EQ_INT(client(&w, &a, 0, 9, &w.key, &rep, err, sizeof err), WITNESS_EAHEAD);
    ASSERT_EQ_INT(rep.witness_size, 12);
    ASSERT_CONTAINS(err, "size 12");
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
}

TEST(submit_reports_a_forked_log_refused_by_the_witness)
{
    tlog a, rewritten;
    wproc w = {0};
    answer ans;
    char err[512] = "";
    log_init(&a, "dss-audit/a", -1);
    log_copy_key(&rewritten, &a, 3);
    const char *logs[] = {a.vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    ASSERT_EQ_INT(submit(&w, &a, 0, 8, &ans), 200);
    witness_reply rep;
    ASSERT_EQ_INT(client(&w, &rewritten, 8, 11, &w.key, &rep, err, sizeof err),
                  WITNESS_EREFUSED);
    ASSERT_EQ_INT(rep.http_status, 422);
    ASSERT_CONTAINS(err, "answered 422");
    ASSERT_EQ_INT(wfinish(&w), 0);
    log_free(&a);
    log_free(&rewritten);
}

TEST(submit_to_a_witness_that_is_down_fails_without_waiting)
{
    tlog a;
    char err[512] = "";
    log_init(&a, "dss-audit/a", -1);
    /* A port that was free a moment ago: nothing listens there. */
    char url[64], *cp = log_checkpoint(&a, 3);
    int fd = loopback_socket(0, url, sizeof url);
    ASSERT(fd >= 0);
    close(fd);
    merkle_reader r = merkle_mem_reader(&a.tree);
    note_key k = any_witness_key();
    witness_reply rep;
    ASSERT_EQ_INT(witness_submit(url, &k, cp, strlen(cp), 0, &r, 30000, &rep, err, sizeof err),
                  WITNESS_EUNREACHABLE);
    ASSERT_EQ_INT(rep.http_status, 0);
    ASSERT_CONTAINS(err, "no answer from the witness");
    free(cp);
    log_free(&a);
}

TEST(submit_gives_up_on_a_witness_that_never_answers)
{
    tlog a;
    char err[512] = "";
    log_init(&a, "dss-audit/a", -1);
    /* A socket that listens and never accepts: the connection is made
    ** (the kernel's backlog) and no answer ever comes. */
    char url[64], *cp = log_checkpoint(&a, 3);
    int fd = loopback_socket(1, url, sizeof url);
    ASSERT(fd >= 0);
    merkle_reader r = merkle_mem_reader(&a.tree);
    note_key k = any_witness_key();
    witness_reply rep;
    ASSERT_EQ_INT(witness_submit(url, &k, cp, strlen(cp), 0, &r, 500, &rep, err, sizeof err),
                  WITNESS_EUNREACHABLE);
    ASSERT(strstr(err, "imed out") || strstr(err, "imeout"));
    close(fd);
    free(cp);
    log_free(&a);
}

TEST(submit_refuses_bad_arguments)
{
    tlog a;
    char err[512] = "";
    log_init(&a, "dss-audit/a", -1);
    char *cp = log_checkpoint(&a, 3);
    merkle_reader r = merkle_mem_reader(&a.tree);
    witness_reply rep;
    ASSERT_EQ_INT(witness_submit("ftp://x", &a.key.key, cp, strlen(cp), 0, &r, 1000, &rep, err,
                                 sizeof err),
                  WITNESS_EINVAL);
    ASSERT_CONTAINS(err, "http://");
    ASSERT_EQ_INT(witness_submit("http://127.0.0.1:1", &a.key.key, cp, strlen(cp), 0, &r, 1000,
                                 &rep, err, sizeof err),
                  WITNESS_EINVAL);
    ASSERT_CONTAINS(err, "type 0x04");
    note_key k = any_witness_key();
    ASSERT_EQ_INT(witness_submit("http://127.0.0.1:1", &k, "x\n", 2, 0, &r, 1000, &rep, err,
                                 sizeof err),
                  WITNESS_EINVAL);
    ASSERT_CONTAINS(err, "not a signed checkpoint");
    /* A tree that does not hold the checkpoint's size cannot give a proof. */
    merkle_mem empty = {0};
    merkle_reader re = merkle_mem_reader(&empty);
    ASSERT_EQ_INT(witness_submit("http://127.0.0.1:1", &k, cp, strlen(cp), 1, &re, 1000, &rep,
                                 err, sizeof err),
                  WITNESS_ETREE);
    free(cp);
    log_free(&a);
}

TEST(the_command_refuses_bad_usage_with_status_2)
{
    const char *bin = getenv("DSS_WITNESS_BIN");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s witness --listen 127.0.0.1:0 --db /tmp/x --key /tmp/y "
             "2>/dev/null", bin);
    ASSERT_EQ_INT(WEXITSTATUS(system(cmd)), 2); /* no --log */
    snprintf(cmd, sizeof cmd, "%s witness --listen 127.0.0.1:0 --db /tmp/x --key /tmp/y "
             "--log not+a+vkey 2>/dev/null", bin);
    ASSERT_EQ_INT(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof cmd, "%s witness --bogus 2>/dev/null", bin);
    ASSERT_EQ_INT(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof cmd, "%s witness --help >/dev/null", bin);
    ASSERT_EQ_INT(WEXITSTATUS(system(cmd)), 0);
}

/* ---- real logs through the real commands --------------------------------- */

/* A log of our own: a database and a key in a folder of w's (made by
** wstart), filled through the store. */
typedef struct reallog {
    char db[160], key[160];
} reallog;

static int reallog_make(reallog *r, const char *dir, const char *name, int entries)
{
    snprintf(r->db, sizeof r->db, "%s/%s.db", dir, name);
    snprintf(r->key, sizeof r->key, "%s/%s.key", dir, name);
    store_options o = {.path = r->db};
    store *s = NULL;
    char err[STORE_ERRLEN];
    int rc = store_open(&o, &s, err);
    for (int i = 0; rc == STORE_OK && i < entries; i++) {
        char op[32];
        snprintf(op, sizeof op, "%s-%d", name, i);
        store_record rec = {.event_type = "tool_call", .operation_name = op, .args = "{}"};
        store_receipt out;
        rc = store_begin(s, err);
        if (rc == STORE_OK) rc = store_append(s, &rec, &out, err);
        if (rc == STORE_OK) rc = store_commit(s, err);
    }
    if (rc != STORE_OK) fprintf(stderr, "reallog: %s\n", err);
    store_close(s);
    return rc == STORE_OK ? 0 : -1;
}

/* Run "dss-audit-mcp ARGS --db DB --key KEY" (args formatted) for log r,
** with input (may be NULL) on its stdin; *out its stdout (caller frees);
** its exit status. */
static int run_in(const reallog *r, const char *input, char **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int run_in(const reallog *r, const char *input, char **out, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s --db '%s' --key '%s'", getenv("DSS_WITNESS_BIN"), args,
             r->db, r->key);
    return tf_run(cmd, input, out);
}
#define run_cmd(r, out, ...) run_in(r, NULL, out, __VA_ARGS__)

static char *log_vkey(const reallog *r)
{
    char *v = NULL;
    if (run_cmd(r, &v, "public-key --note") != 0) {
        free(v);
        return NULL;
    }
    v[strcspn(v, "\n")] = '\0';
    return v;
}

/* checkpoint --witness: the witness cosigns the real log's note, the
** cosignature is stored with the checkpoint, and proofs carry it. */
TEST(checkpoint_witness_stores_the_cosignature_that_proofs_carry)
{
    wproc w = {0};
    reallog a;
    strcpy(w.dir, "/tmp/dss-witness-XXXXXX");
    ASSERT(mkdtemp(w.dir));
    track(0, w.dir);
    ASSERT_EQ_INT(reallog_make(&a, w.dir, "a", 6), 0);
    char *vkey = log_vkey(&a), *out = NULL, path[256];
    ASSERT(vkey);
    const char *logs[] = {vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, "witness.example/w1"), 0);
    ASSERT_EQ_INT(run_cmd(&a, &out, "checkpoint --note --witness '%s=%s'", w.url, w.vkey), 0);
    ASSERT_CONTAINS(out, "\n— witness.example/w1 ");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "prove --seq 3"), 0);
    ASSERT_CONTAINS(out, "\n— witness.example/w1 ");
    snprintf(path, sizeof path, "%s/p", w.dir);
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fputs(out, f);
    fclose(f);
    free(out);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' verify-proof '%s' --key '%s' --witness '%s'",
             getenv("DSS_WITNESS_BIN"), path, vkey, w.vkey);
    ASSERT_EQ_INT(tf_run(cmd, NULL, &out), 0);
    ASSERT_CONTAINS(out, "cosigned by 1 of the 1 witnesses given");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "verify --witness '%s' 2>/dev/null", w.vkey), 0);
    ASSERT_CONTAINS(out, "\"witnesses\"");
    free(out);
    /* A second witness that never cosigned: verify wants every witness
    ** named by default, and --min-witnesses K of them. */
    wproc w2 = {0};
    strcpy(w2.dir, "/tmp/dss-witness-XXXXXX");
    ASSERT(mkdtemp(w2.dir));
    track(0, w2.dir);
    ASSERT_EQ_INT(wstart(&w2, logs, 1, "witness.example/w2"), 0);
    ASSERT_EQ_INT(run_cmd(&a, &out, "verify --witness '%s' --witness '%s' 2>/dev/null", w.vkey,
                          w2.vkey), 1);
    ASSERT_CONTAINS(out, "\"kind\":\t\"witness\"");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "verify --witness '%s' --witness '%s' --min-witnesses 1 "
                          "2>/dev/null", w.vkey, w2.vkey), 0);
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "verify --witness '%s' --min-witnesses 2 2>&1", w.vkey), 2);
    free(out);
    ASSERT_EQ_INT(wfinish(&w2), 0);
    /* The log moves: the next submission goes on from the size it holds. */
    ASSERT_EQ_INT(reallog_make(&a, w.dir, "a", 3), 0);
    ASSERT_EQ_INT(run_cmd(&a, &out, "checkpoint --witness '%s=%s' 2>/dev/null", w.url, w.vkey),
                  0);
    free(out);
    uint8_t root[32];
    char origin[300];
    snprintf(origin, sizeof origin, "%.*s", (int)strcspn(vkey, "+"), vkey);
    ASSERT_EQ_INT(stored_size(&w, origin, root), 9);
    ASSERT_EQ_INT(wfinish(&w), 0);
    free(vkey);
}

/* Two real logs, one witness: each cosigned.  Then one is rebuilt (a new
** file with its log id, other entries, signed again with its key): the
** witness refuses it (its 409 is followed, then 422), the command says so,
** and verify --since with the note kept earlier catches the rewrite. */
TEST(two_real_logs_one_witness_and_a_rebuilt_log_refused)
{
    wproc w = {0};
    reallog a, b;
    strcpy(w.dir, "/tmp/dss-witness-XXXXXX");
    ASSERT(mkdtemp(w.dir));
    track(0, w.dir);
    ASSERT_EQ_INT(reallog_make(&a, w.dir, "a", 5), 0);
    ASSERT_EQ_INT(reallog_make(&b, w.dir, "b", 8), 0);
    char *va = log_vkey(&a), *vb = log_vkey(&b), *out = NULL, *kept = NULL;
    ASSERT(va && vb);
    const char *logs[] = {va, vb};
    ASSERT_EQ_INT(wstart(&w, logs, 2, NULL), 0);
    ASSERT_EQ_INT(run_cmd(&a, &kept, "checkpoint --note --witness '%s=%s'", w.url, w.vkey), 0);
    ASSERT_EQ_INT(run_cmd(&b, &out, "checkpoint --note --witness '%s=%s'", w.url, w.vkey), 0);
    free(out);
    char note_path[256], id[64];
    snprintf(note_path, sizeof note_path, "%s/a.note", w.dir);
    FILE *f = fopen(note_path, "w");
    ASSERT(f);
    fputs(kept, f);
    fclose(f);
    snprintf(id, sizeof id, "%.*s", (int)strcspn(kept + 10, "\n"), kept + 10);
    /* The rebuilt file. */
    char moved[300], sql[512];
    snprintf(moved, sizeof moved, "%s.orig", a.db);
    ASSERT_EQ_INT(rename(a.db, moved), 0);
    ASSERT_EQ_INT(reallog_make(&a, w.dir, "a", 1), 0);
    sqlite3 *h = NULL;
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'log_id';", id);
    ASSERT_EQ_INT(sqlite3_open(a.db, &h), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    ASSERT_EQ_INT(reallog_make(&a, w.dir, "a", 6), 0);
    ASSERT_EQ_INT(run_cmd(&a, &out, "checkpoint --witness '%s=%s' 2>&1", w.url, w.vkey), 1);
    ASSERT_CONTAINS(out, "did not cosign");
    ASSERT_CONTAINS(out, "422");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "verify --since '%s' 2>/dev/null", note_path), 1);
    ASSERT_CONTAINS(out, "not an append-only extension");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "verify --witness '%s' 2>/dev/null", w.vkey), 1);
    ASSERT_CONTAINS(out, "\"kind\":\t\"witness\"");
    free(out);
    /* Log b is not affected. */
    ASSERT_EQ_INT(reallog_make(&b, w.dir, "b", 2), 0);
    ASSERT_EQ_INT(run_cmd(&b, &out, "checkpoint --witness '%s=%s' 2>/dev/null", w.url, w.vkey),
                  0);
    free(out);
    ASSERT_EQ_INT(wfinish(&w), 0);
    free(kept);
    free(va);
    free(vb);
}

/* serve --witness: the server's checkpoints are cosigned in the
** background, its last one when it stops; a witness that is down never
** holds a call up, and stats says it failed. */
TEST(serve_witnesses_its_checkpoints_in_the_background)
{
    wproc w = {0};
    reallog a;
    strcpy(w.dir, "/tmp/dss-witness-XXXXXX");
    ASSERT(mkdtemp(w.dir));
    track(0, w.dir);
    ASSERT_EQ_INT(reallog_make(&a, w.dir, "a", 2), 0);
    char *vkey = log_vkey(&a), *out = NULL, in[2048];
    ASSERT(vkey);
    const char *logs[] = {vkey};
    ASSERT_EQ_INT(wstart(&w, logs, 1, NULL), 0);
    size_t n = (size_t)snprintf(in, sizeof in,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(in + n, sizeof in - n,
                              "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
                              "\"params\":{\"name\":\"log_operation\",\"arguments\":{"
                              "\"event_type\":\"tool_call\",\"operation_name\":\"op%d\","
                              "\"args\":{}}}}\n", i + 2, i);
    /* Checkpoints every 2 entries; the last at the stop. */
    ASSERT_EQ_INT(run_in(&a, in, &out, "serve --checkpoint-interval 2 --witness '%s=%s'"
                                       " 2>/dev/null", w.url, w.vkey), 0);
    ASSERT_CONTAINS(out, "\"id\":5");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "checkpoint --note"), 0);
    ASSERT_CONTAINS(out, "\n— dss-audit-witness/"); /* the newest, cosigned */
    free(out);
    /* Every checkpoint the server signed while it ran was submitted: the
    ** witness holds the newest tree (2 + 4 entries and 4 tool_call records). */
    uint8_t root[32];
    char origin[300];
    snprintf(origin, sizeof origin, "%.*s", (int)strcspn(vkey, "+"), vkey);
    ASSERT_EQ_INT(stored_size(&w, origin, root), 10);
    ASSERT_EQ_INT(wstop(&w, SIGTERM), 0);
    /* The witness is gone: the server answers all the same, stats says so. */
    ASSERT_EQ_INT(run_in(&a, in, &out, "serve --witness '%s=%s' 2>/dev/null", w.url, w.vkey),
                  0);
    ASSERT_CONTAINS(out, "\"id\":5");
    free(out);
    ASSERT_EQ_INT(run_cmd(&a, &out, "stats --json"), 0);
    ASSERT_CONTAINS(out, "\"witnesses\"");
    ASSERT_CONTAINS(out, "\"last_error\":\"");
    ASSERT(!strstr(out, "\"last_error\":\"\""));
    free(out);
    wfree(&w);
    free(vkey);
}

TEST_MAIN(TEST_ENTRY(start_prints_a_cosignature_vkey_and_makes_a_private_key_file)
          TEST_ENTRY(a_first_checkpoint_from_size_zero_is_cosigned)
          TEST_ENTRY(extensions_with_consistency_proofs_are_cosigned)
          TEST_ENTRY(an_unknown_origin_is_404)
          TEST_ENTRY(a_checkpoint_not_signed_by_the_logs_key_is_403)
          TEST_ENTRY(a_stale_old_size_is_409_with_the_latest_size)
          TEST_ENTRY(an_old_size_above_the_checkpoints_is_400)
          TEST_ENTRY(malformed_bodies_are_400)
          TEST_ENTRY(a_consistency_proof_that_fails_is_422_and_kept_as_evidence)
          TEST_ENTRY(another_root_at_the_size_it_holds_is_422)
          TEST_ENTRY(a_proof_from_size_zero_must_be_empty)
          TEST_ENTRY(a_size_zero_checkpoint_needs_the_empty_trees_root)
          TEST_ENTRY(other_methods_and_paths_are_405_and_404)
          TEST_ENTRY(a_body_over_the_limit_is_413)
          TEST_ENTRY(monitors_get_the_latest_cosigned_checkpoint)
          TEST_ENTRY(two_logs_one_witness_keep_separate_states)
          TEST_ENTRY(a_rewritten_log_is_refused_after_kill_9_and_a_restart)
          TEST_ENTRY(kill_9_mid_submission_keeps_a_consistent_state)
          TEST_ENTRY(kill_9_with_a_request_half_sent_changes_nothing)
          TEST_ENTRY(one_size_is_never_cosigned_with_two_roots)
          TEST_ENTRY(submit_follows_a_409_from_the_size_the_witness_reports)
          TEST_ENTRY(a_reply_of_several_cosignatures_puts_the_newest_first)
          TEST_ENTRY(submit_refuses_a_reply_without_the_witness_keys_cosignature)
          TEST_ENTRY(submit_says_when_the_witness_holds_a_larger_tree)
          TEST_ENTRY(submit_reports_a_forked_log_refused_by_the_witness)
          TEST_ENTRY(submit_to_a_witness_that_is_down_fails_without_waiting)
          TEST_ENTRY(submit_gives_up_on_a_witness_that_never_answers)
          TEST_ENTRY(submit_refuses_bad_arguments)
          TEST_ENTRY(the_command_refuses_bad_usage_with_status_2)
          TEST_ENTRY(checkpoint_witness_stores_the_cosignature_that_proofs_carry)
          TEST_ENTRY(two_real_logs_one_witness_and_a_rebuilt_log_refused)
          TEST_ENTRY(serve_witnesses_its_checkpoints_in_the_background))
