/*
** fault_util.h: helpers shared by the hostile-input and fault tests.
**
** Both test files drive the real binary through tests/e2e/harness.h.  These
** helpers add what those tests need beyond it: a private temp dir per test
** (with the signing key inside it, via DSS_AUDIT_KEY), servers started on a
** database path of the test's choosing (so that a database outlives the
** server that wrote it), the `verify` subcommand, raw reads of the database
** with SQLite.
**
** Everything is static: each test file is one translation unit.
*/
#ifndef DSS_FAULT_UTIL_H
#define DSS_FAULT_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "jpath.h"
#include "test.h"

/* ---- assertions that say what the server did ---------------------------- */

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            TEST_FAIL_("check failed: %s\n    harness: %s\n    last line from "  \
                       "the server: %.600s", #cond, h_error(), h_last_line()); \
    } while (0)

#define CHECKF(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n    ", __FILE__,       \
                    __LINE__, #cond);                                        \
            TEST_FAIL_(__VA_ARGS__);                                         \
        }                                                                    \
    } while (0)

/* stdout held only JSON lines, and the server exits 0 once stdin closes. */
#define FINISH(s)                                                            \
    do {                                                                     \
        CHECK(srv_stdout_is_json_lines(s));                                  \
        int st_ = srv_wait(s);                                               \
        if (st_ != 0)                                                        \
            TEST_FAIL_("server exit status %d, expected 0 (%s); stderr: %.800s", \
                       st_, h_error(), srv_stderr(s));                       \
        CHECK(srv_stdout_is_json_lines(s));                                  \
        srv_free(s);                                                         \
    } while (0)

/* ---- monotonic time ----------------------------------------------------- */

static inline long long fu_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- JSON helpers ------------------------------------------------------- */

/* jget, jstr, jnum, jnull and jcode come from tests/e2e/jpath.h. */

/* Does the reply's id member exist and is it null? */
static inline int id_is_null(const cJSON *reply)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    return id && cJSON_IsNull(id);
}

static inline int count_entries(const cJSON *sc)
{
    const cJSON *e = jget(sc, "entries");
    return cJSON_IsArray(e) ? cJSON_GetArraySize(e) : -1;
}

/* ---- cleanup at exit ------------------------------------------------------ */

/* What a test allocated is released at exit even when a failing check
** returns early, so a sanitizer build reports only real leaks. */
typedef struct fu_deferred {
    void (*fn)(void *);
    void *arg;
} fu_deferred;

static fu_deferred fu_defer_list[256];
static int fu_ndefer;

static inline void fu_run_deferred(void)
{
    while (fu_ndefer > 0) {
        fu_deferred d = fu_defer_list[--fu_ndefer];
        if (d.fn) d.fn(d.arg);
    }
}

static inline void fu_defer(void (*fn)(void *), void *arg)
{
    static int registered;
    if (!registered) {
        atexit(fu_run_deferred);
        registered = 1;
    }
    if (fu_ndefer < (int)(sizeof fu_defer_list / sizeof *fu_defer_list))
        fu_defer_list[fu_ndefer++] = (fu_deferred){fn, arg};
}

static inline void fu_undefer(void *arg)
{
    for (int i = 0; i < fu_ndefer; i++)
        if (fu_defer_list[i].arg == arg) fu_defer_list[i].fn = NULL;
}

/* ---- temp dirs ---------------------------------------------------------- */

static inline void fu_rm_rf(const char *path)
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
                char child[PATH_MAX + 512];
                int n = snprintf(child, sizeof child, "%s/%s", path, de->d_name);
                if (n > 0 && n < PATH_MAX) fu_rm_rf(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh private dir for one test: its database and signing key live here,
** so they outlive any one server process.  Removed by tdir_free(). */
typedef struct tdir {
    char path[PATH_MAX];
    char db[PATH_MAX + 32];
    char key[PATH_MAX + 32];
    char keyenv[PATH_MAX + 64]; /* "DSS_AUDIT_KEY=<key>" */
} tdir;

static inline void tdir_release(void *p)
{
    tdir *t = p;
    fu_rm_rf(t->path);
    free(t);
}

static inline tdir *tdir_new(void)
{
    tdir *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    const char *tmp = getenv("TMPDIR");
    snprintf(t->path, sizeof t->path, "%s/dss-faults-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->path)) {
        free(t);
        return NULL;
    }
    snprintf(t->db, sizeof t->db, "%s/audit.db", t->path);
    snprintf(t->key, sizeof t->key, "%s/signing.key", t->path);
    snprintf(t->keyenv, sizeof t->keyenv, "DSS_AUDIT_KEY=%s", t->key);
    fu_defer(tdir_release, t);
    return t;
}

static inline void tdir_free(tdir *t)
{
    if (!t) return;
    fu_undefer(t);
    tdir_release(t);
}

/* ---- servers on a chosen database --------------------------------------- */

/* Start `dss-audit-mcp --db db --actor e2e-tester [extra...]` with the
** test's signing key.  extra may be NULL. */
static inline srv *start_on(const tdir *t, const char *db, const char *const *extra)
{
    const char *args[32];
    int n = 0;
    args[n++] = "--db";
    args[n++] = db;
    for (int i = 0; extra && extra[i] && n < 30; i++) args[n++] = extra[i];
    args[n] = NULL;
    const char *env[] = {t->keyenv, NULL};
    srv_opts o = {.args = args, .env = env, .no_db = 1};
    return srv_start(&o);
}

/* Run a subcommand to completion (`dss-audit-mcp <cmd> --db db`), with the
** test's key.  Returns its exit status (or an SRV_* value); *out and *err,
** when not NULL, get copies of its stdout and stderr (caller frees). */
static inline int run_cmd(const tdir *t, const char *cmd, const char *db,
                          char **out, char **err)
{
    const char *args[] = {cmd, "--db", db, NULL};
    const char *env[] = {t->keyenv, NULL};
    srv_opts o = {.args = args, .env = env, .no_db = 1, .no_actor = 1};
    srv *s = srv_start(&o);
    if (!s) return SRV_SIGNALED;
    int st = srv_wait(s);
    if (out) *out = strdup(srv_stdout(s));
    if (err) *err = strdup(srv_stderr(s));
    srv_free(s);
    return st;
}

/* `dss-audit-mcp verify --db db`: its exit status; on failure its output
** is printed to stderr for the test log. */
static inline int run_verify(const tdir *t, const char *db)
{
    char *out = NULL, *err = NULL;
    int st = run_cmd(t, "verify", db, &out, &err);
    if (st != 0)
        fprintf(stderr, "verify --db %s exited %d\n  stdout: %.2000s\n  stderr: %.1000s\n",
                db, st, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return st;
}

/* ---- the database, read directly ---------------------------------------- */

/* One integer from the database; -1 when anything fails.  Opened read-only
** so that the check itself never changes the file. */
static inline long long db_scalar(const char *path, const char *sql, const char *param)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) goto done;
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto done;
    if (param) sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* ---- files -------------------------------------------------------------- */

/* A file's bytes (NUL-terminated; caller frees) or NULL; *n gets its size. */
static inline char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 65536, len = 0;
    char *p = malloc(cap + 1);
    while (p) {
        size_t k = fread(p + len, 1, cap - len, f);
        len += k;
        if (len < cap) break;
        char *q = realloc(p, cap * 2 + 1);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    fclose(f);
    if (!p) return NULL;
    p[len] = '\0';
    *n = len;
    return p;
}

static inline int write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    ok &= fclose(f) == 0;
    return ok && chmod(path, mode) == 0 ? 0 : -1;
}

/* Does the file exist? */
static inline int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Does any of path, path-wal, path-journal hold the string needle? */
static inline int db_files_contain(const char *path, const char *needle)
{
    static const char *const suffix[] = {"", "-wal", "-journal"};
    for (int i = 0; i < 3; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        size_t n;
        char *b = slurp(p, &n);
        int hit = b && h_memmem(b, n, needle);
        free(b);
        if (hit) return 1;
    }
    return 0;
}

/* The peak resident set (VmHWM) of a process in KiB, or -1. */
static inline long vm_hwm_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &v) == 1) break;
    fclose(f);
    return v;
}

/* The last n bytes of text (for quoting the end of a server's stderr). */
static inline const char *tail_of(const char *text, size_t n)
{
    size_t k = text ? strlen(text) : 0;
    return !text ? "" : k > n ? text + k - n : text;
}

/* Is the binary run under a wrapper such as valgrind? */
static inline int wrapped_run(void)
{
    const char *w = getenv("DSS_E2E_WRAPPER");
    return w && strspn(w, " \t") != strlen(w);
}

#endif
