/*
** test_hook_e2e.c: `dss-audit-mcp hook` as agent clients run it.
**
** Each case runs the real binary ($DSS_BIN) with an event on stdin (a file:
** the fixtures in tests/hook/fixtures/<client>/<event>.json, written from
** each client's documented fields, or bytes made here for bad input), with
** stdout and stderr in files, and checks its exit status, what it answered,
** and what it stored, read back with `dss-audit-mcp query --json`.
** DSS_E2E_WRAPPER (e.g. "valgrind --error-exitcode=99 -q") goes in front of
** the binary as in tests/e2e, except in the 1,600-process case.  The cases
** are registered three times: hook.* run `hook` with dss-audit-mcp,
** hook_only.* with dss-audit-mcp-hook ($DSS_HOOK_BIN) and no recorder (so
** it runs the direct writer, dss-audit-mcp-hook-direct), hook_recorder.*
** with dss-audit-mcp-hook and, when DSS_HOOK_RECORDER is set, a
** `dss-audit-mcp recorder` started for each database a hook names: the
** answers, exit statuses and entries must be the same every way.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "test.h"

#define SECRET "AKIAIOSFODNN7EXAMPLE"

/* ---- running the binary ------------------------------------------------ */

static char tmp_dir[64];

static void remove_tmp(void)
{
    char cmd[128];
    if (!tmp_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
}

/* A fresh temp folder for this case; its path. */
static const char *dir(void)
{
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dss-hook-XXXXXX");
        if (!mkdtemp(tmp_dir)) abort();
        atexit(remove_tmp);
    }
    return tmp_dir;
}

/* A path in the temp folder; one buffer per name, valid until exit. */
static const char *in_dir(const char *name)
{
    static char names[16][32], paths[16][256];
    int i = 0;
    while (i < 16 && names[i][0] && strcmp(names[i], name) != 0) i++;
    if (i == 16) abort(); /* more names than any case uses */
    snprintf(names[i], sizeof names[i], "%s", name);
    snprintf(paths[i], sizeof paths[i], "%s/%s", dir(), name);
    return paths[i];
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    size_t got = b ? fread(b, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!b) return NULL;
    b[got] = '\0';
    if (n) *n = got;
    return b;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

typedef struct run {
    int status;  /* exit status, or -1 when it did not exit normally */
    char *out;   /* stdout and stderr, NUL-terminated (freed by run_free) */
    char *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* HOME for the programs run, when set. */
static const char *child_home;

/* ---- recorders (hook_recorder.*) ----------------------------------------- */

enum { MAX_RECORDERS = 8 };
static struct {
    char db[256];
    pid_t pid; /* 0: it could not start (the hooks write directly) */
} recorders[MAX_RECORDERS];
static int n_recorders;

static void stop_recorders(void)
{
    for (int i = 0; i < n_recorders; i++) {
        if (!recorders[i].pid) continue;
        kill(recorders[i].pid, SIGTERM);
        int st;
        while (waitpid(recorders[i].pid, &st, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "the recorder of %s ended badly (status %d)\n", recorders[i].db, st);
        /* What it served, for whoever reads the test's output. */
        char log[160];
        snprintf(log, sizeof log, "%s/recorder-%d.log", dir(), i);
        char *text = read_file(log, NULL), *stop = text ? strstr(text, "stopped:") : NULL;
        if (stop) fprintf(stderr, "recorder %d %.*s\n", i, (int)strcspn(stop, "\n"), stop);
        free(text);
    }
    n_recorders = 0;
}

/* With DSS_HOOK_RECORDER set, a recorder for the database db (started once;
** the hooks find it through XDG_RUNTIME_DIR, set here for every child). */
static void ensure_recorder(const char *db)
{
    if (!getenv("DSS_HOOK_RECORDER") || !db) return;
    for (int i = 0; i < n_recorders; i++)
        if (!strcmp(recorders[i].db, db)) return;
    if (n_recorders == MAX_RECORDERS) abort();
    char run_dir[128], log[160];
    snprintf(run_dir, sizeof run_dir, "%s/run", dir());
    mkdir(run_dir, 0700);
    setenv("XDG_RUNTIME_DIR", run_dir, 1);
    if (n_recorders == 0) atexit(stop_recorders); /* runs before remove_tmp */
    int i = n_recorders++;
    snprintf(recorders[i].db, sizeof recorders[i].db, "%s", db);
    snprintf(log, sizeof log, "%s/recorder-%d.log", dir(), i);
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), null = open("/dev/null", O_RDONLY);
        if (fd < 0 || null < 0) _exit(126);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (child_home) setenv("HOME", child_home, 1);
        unsetenv("DSS_AUDIT_ACTOR");
        unsetenv("DSS_AUDIT_DB");
        execl(getenv("DSS_BIN"), getenv("DSS_BIN"), "recorder", "--db", db, (char *)NULL);
        _exit(127);
    }
    /* Until it listens, or gives up (an unusable database: hooks write
    ** directly, as they would). */
    for (int k = 0; k < 1000; k++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = 0;
            break;
        }
        char *text = read_file(log, NULL);
        int up = text && strstr(text, "listening on");
        free(text);
        if (up) break;
        usleep(10000);
    }
    recorders[i].pid = pid;
}

/* Run $DSS_BIN with args (NULL-terminated) and stdin from in_path. */
static int run_bin(const char *const *args, const char *in_path, int wrapped, run *r)
{
    /* The hook-only build (dss-audit-mcp-hook) runs the `hook` cases when
    ** DSS_HOOK_BIN names it (the hook_only.* registration of this file). */
    const char *bin = getenv(args[0] && !strcmp(args[0], "hook") && getenv("DSS_HOOK_BIN")
                                 ? "DSS_HOOK_BIN"
                                 : "DSS_BIN");
    const char *wrapper = wrapped ? getenv("DSS_E2E_WRAPPER") : NULL;
    char *argv[64], wcopy[512];
    int argc = 0;
    if (!bin) return -1;
    if (args[0] && !strcmp(args[0], "hook"))
        for (int i = 1; args[i] && args[i + 1]; i++)
            if (!strcmp(args[i], "--db")) ensure_recorder(args[i + 1]);
    if (wrapper && *wrapper) {
        snprintf(wcopy, sizeof wcopy, "%s", wrapper);
        for (char *t = strtok(wcopy, " \t"); t && argc < 16; t = strtok(NULL, " \t"))
            argv[argc++] = t;
    }
    argv[argc++] = (char *)bin;
    for (int i = 0; args[i] && argc < 62; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s.out.%d", in_path, (int)getpid());
    snprintf(err_path, sizeof err_path, "%s.err.%d", in_path, (int)getpid());
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int in = open(in_path, O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (child_home) setenv("HOME", child_home, 1);
        unsetenv("DSS_AUDIT_ACTOR");
        unsetenv("DSS_AUDIT_DB");
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->out = read_file(out_path, NULL);
    r->err = read_file(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    return r->out && r->err ? 0 : -1;
}

/* The path of a fixture. */
static const char *fixture(const char *client, const char *event)
{
    static char path[512];
    const char *src = getenv("DSS_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/hook/fixtures/%s/%s.json", src ? src : ".",
             client, event);
    return path;
}

/* Run `hook --db <dir>/audit.db` with extra args (up to 6, NULL-ended)
** on the event in in_path. */
static int run_hook(const char *in_path, run *r, ...)
{
    const char *args[16] = {"hook", "--db", in_dir("audit.db")};
    int n = 3;
    va_list ap;
    va_start(ap, r);
    for (const char *a; n < 14 && (a = va_arg(ap, const char *));) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return run_bin(args, in_path, 1, r);
}

/* The exit status of `hook` on a fixture, without other options; -1 when
** it could not be run. */
static int hook_status(const char *path)
{
    run r;
    int rc = run_hook(path, &r, NULL);
    int status = rc == 0 ? r.status : -1;
    run_free(&r);
    return status;
}

/* Every entry in the database, oldest first (a new array), via query. */
static cJSON *entries(void)
{
    const char *args[] = {"query", "--db", in_dir("audit.db"), "--json", "--limit", "100000",
                          NULL};
    run r;
    write_file(in_dir("empty"), "", 0);
    if (run_bin(args, in_dir("empty"), 0, &r) != 0 || r.status != 0) {
        fprintf(stderr, "query failed: %s\n", r.err ? r.err : "");
        run_free(&r);
        return NULL;
    }
    cJSON *all = cJSON_CreateArray();
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *e = cJSON_Parse(line);
        if (e) cJSON_InsertItemInArray(all, 0, e);
    }
    run_free(&r);
    return all;
}

/* The number of entries, or 0 when the database does not exist. */
static int entry_count(void)
{
    if (access(in_dir("audit.db"), F_OK) != 0) return 0;
    cJSON *all = entries();
    int n = all ? cJSON_GetArraySize(all) : -1;
    cJSON_Delete(all);
    return n;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *obj_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

/* Lines in s. */
static int lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* ---- every mapped event of every client -------------------------------- */

typedef struct expect {
    const char *client, *event;
    const char *event_type, *operation_name, *operation_id, *session;
    const char *phase;     /* "pre", "post", or NULL (not a tool event) */
    const char *unmapped;  /* a documented field the mapping does not name */
    const char *answer;    /* stdout, "" for nothing */
    int has_error;
} expect;

#define ALLOW "{\"permission\":\"allow\"}\n"

static const expect claude_events[] = {
    {"claude-code", "PreToolUse", "tool_call", "Bash", "toolu_01ABC", "sess-cc-1", "pre",
     "transcript_path", "", 0},
    {"claude-code", "PostToolUse", "tool_call", "Bash", "toolu_01ABC", "sess-cc-1", "post",
     "permission_mode", "", 0},
    {"claude-code", "PostToolUseFailure", "tool_call", "mcp__github__create_issue",
     "toolu_01DEF", "sess-cc-1", "post", "is_interrupt", "", 1},
    {"claude-code", "UserPromptSubmit", "state_transition", "UserPromptSubmit", NULL,
     "sess-cc-1", NULL, "transcript_path", "", 0},
    {"claude-code", "SessionStart", "state_transition", "SessionStart", NULL, "sess-cc-1", NULL,
     "source", "", 0},
    {"claude-code", "SessionEnd", "state_transition", "SessionEnd", NULL, "sess-cc-1", NULL,
     "reason", "", 0},
    {"claude-code", "Stop", "state_transition", "Stop", NULL, "sess-cc-1", NULL,
     "stop_hook_active", "", 0},
    {"claude-code", "SubagentStop", "state_transition", "SubagentStop", NULL, "sess-cc-1", NULL,
     "agent_id", "", 0},
    {NULL},
};

static const expect cursor_events[] = {
    {"cursor", "beforeShellExecution", "tool_call", "shell", NULL, "conv-cu-1", "pre",
     "generation_id", ALLOW, 0},
    {"cursor", "afterShellExecution", "tool_call", "shell", NULL, "conv-cu-1", "post", "model",
     "", 0},
    {"cursor", "beforeMCPExecution", "tool_call", "create_issue", NULL, "conv-cu-1", "pre",
     "url", ALLOW, 0},
    {"cursor", "afterMCPExecution", "tool_call", "create_issue", NULL, "conv-cu-1", "post",
     "workspace_roots", "", 0},
    {"cursor", "afterFileEdit", "tool_call", "file_edit", NULL, "conv-cu-1", "post",
     "generation_id", "", 0},
    {"cursor", "beforeReadFile", "tool_call", "read_file", NULL, "conv-cu-1", "pre", "content",
     ALLOW, 0},
    {"cursor", "beforeSubmitPrompt", "state_transition", "beforeSubmitPrompt", NULL,
     "conv-cu-1", NULL, "attachments", ALLOW, 0},
    {"cursor", "stop", "state_transition", "stop", NULL, "conv-cu-1", NULL, "status", "", 0},
    {NULL},
};

static const expect gemini_events[] = {
    {"gemini", "BeforeTool", "tool_call", "run_shell_command", NULL, "sess-ge-1", "pre",
     "mcp_context", "", 0},
    {"gemini", "AfterTool", "tool_call", "run_shell_command", NULL, "sess-ge-1", "post",
     "timestamp", "", 0},
    {"gemini", "SessionStart", "state_transition", "SessionStart", NULL, "sess-ge-1", NULL,
     "source", "", 0},
    {"gemini", "SessionEnd", "state_transition", "SessionEnd", NULL, "sess-ge-1", NULL,
     "transcript_path", "", 0},
    {NULL},
};

static const expect copilot_events[] = {
    {"copilot", "preToolUse", "tool_call", "bash", NULL, "sess-co-1", "pre", "timestamp", "", 0},
    {"copilot", "postToolUse", "tool_call", "bash", NULL, "sess-co-1", "post", "timestamp", "",
     0},
    {NULL},
};

static const expect vscode_events[] = {
    {"vscode", "PreToolUse", "tool_call", "editFiles", "call_vs_1", "sess-vs-1", "pre",
     "transcript_path", "", 0},
    {"vscode", "PostToolUse", "tool_call", "editFiles", "call_vs_1", "sess-vs-1", "post",
     "timestamp", "", 0},
    {NULL},
};

/* Run every event of a client (recognized with --client auto, the
** default, and named with --client) and check the entry it stored. */
static void check_events(const expect *list, int *test_failed_)
{
    int stored = 0;
    for (int pass = 0; pass < 2; pass++)
        for (const expect *x = list; x->client; x++) {
            run r;
            ASSERT(run_hook(fixture(x->client, x->event), &r, "--actor", "alice", "--client",
                            pass ? x->client : "auto", NULL) == 0);
            if (r.status != 0 || strcmp(r.out, x->answer) != 0 || r.err[0])
                TEST_FAIL_("%s %s: exit %d, stdout '%s', stderr '%s'", x->client, x->event,
                           r.status, r.out, r.err);
            run_free(&r);
            stored++;
            cJSON *all = entries();
            ASSERT(all);
            ASSERT_EQ_INT(cJSON_GetArraySize(all), stored);
            const cJSON *e = cJSON_GetArrayItem(all, stored - 1);
            ASSERT_EQ_STR(str_at(e, "event_type", NULL), x->event_type);
            ASSERT_EQ_STR(str_at(e, "operation_name", NULL), x->operation_name);
            if (x->operation_id) ASSERT_EQ_STR(str_at(e, "operation_id", NULL), x->operation_id);
            ASSERT_EQ_STR(str_at(e, "session_id", NULL), x->session);
            ASSERT_EQ_STR(str_at(e, "cwd", NULL), "/home/u/proj");
            ASSERT_EQ_STR(str_at(e, "client", "name"), x->client);
            ASSERT_EQ_STR(str_at(e, "user_id", NULL), "alice");
            if (x->phase) {
                ASSERT_EQ_STR(str_at(e, "args", "phase"), x->phase);
                ASSERT(cJSON_IsObject(obj_at(e, "args", "input")));
            }
            if (!obj_at(obj_at(e, "args", "unmapped"), x->unmapped, NULL))
                TEST_FAIL_("%s %s: unmapped.%s missing", x->client, x->event, x->unmapped);
            ASSERT_EQ_INT(str_at(e, "error", NULL) != NULL, x->has_error);
            /* A mapped field is not kept twice. */
            ASSERT(!obj_at(obj_at(e, "args", "unmapped"), "cwd", NULL));
            cJSON_Delete(all);
        }
}

TEST(claude_code_events) { check_events(claude_events, test_failed_); }
TEST(cursor_events) { check_events(cursor_events, test_failed_); }
TEST(gemini_events) { check_events(gemini_events, test_failed_); }
TEST(copilot_events) { check_events(copilot_events, test_failed_); }
TEST(vscode_events) { check_events(vscode_events, test_failed_); }

/* The post event completes its pre event, found by the tool-use id. */
TEST(post_completes_pre)
{
    ASSERT_EQ_INT(hook_status(fixture("claude-code", "PreToolUse")), 0);
    ASSERT_EQ_INT(hook_status(fixture("vscode", "PreToolUse")), 0);
    ASSERT_EQ_INT(hook_status(fixture("claude-code", "PostToolUse")), 0);
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 3);
    const cJSON *pre = cJSON_GetArrayItem(all, 0), *post = cJSON_GetArrayItem(all, 2);
    ASSERT_EQ_STR(str_at(post, "completes", NULL), str_at(pre, "id", NULL));
    ASSERT(cJSON_IsNumber(obj_at(post, "duration_ms", NULL)));
    ASSERT(!obj_at(pre, "completes", NULL));
    cJSON_Delete(all);
}

/* The file of the database (audit.db or its WAL) whose bytes hold SECRET,
** or NULL when neither does (a WAL checkpointed away holds nothing). */
static const char *secret_on_disk(void)
{
    static const char *const files[] = {"audit.db", "audit.db-wal"};
    for (int f = 0; f < 2; f++) {
        size_t len = 0, n = strlen(SECRET);
        char *bytes = read_file(in_dir(files[f]), &len);
        int found = 0;
        for (size_t k = 0; bytes && k + n <= len && !found; k++)
            found = memcmp(bytes + k, SECRET, n) == 0;
        free(bytes);
        if (found) return files[f];
    }
    return NULL;
}

/* A fixture with SECRET written into its session, tool name, tool-use id
** and folder, as path. */
static int with_secret_texts(const char *client, const char *event, const char *path)
{
    size_t n;
    char *text = read_file(fixture(client, event), &n);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!o) return -1;
    const char *const keys[] = {"session_id", "tool_name", "tool_use_id", "cwd"};
    const char *const values[] = {"sess-" SECRET, "mcp__vault__" SECRET, SECRET,
                                  "/home/u/" SECRET};
    for (int i = 0; i < 4; i++)
        cJSON_ReplaceItemInObjectCaseSensitive(o, keys[i], cJSON_CreateString(values[i]));
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = out ? write_file(path, out, strlen(out)) : -1;
    free(out);
    return rc;
}

/* Secrets in the texts a hook stores as they come (the session, the tool's
** name and use id, the folder) are redacted like any other, and the post
** event still completes its pre event, looked up by the redacted texts. */
TEST(secrets_in_sessions_tool_names_and_folders_are_redacted_and_still_link)
{
    ASSERT(with_secret_texts("claude-code", "PreToolUse", in_dir("pre.json")) == 0);
    ASSERT(with_secret_texts("claude-code", "PostToolUse", in_dir("post.json")) == 0);
    ASSERT_EQ_INT(hook_status(in_dir("pre.json")), 0);
    ASSERT_EQ_INT(hook_status(in_dir("post.json")), 0);
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 2);
    const cJSON *pre = cJSON_GetArrayItem(all, 0), *post = cJSON_GetArrayItem(all, 1);
    ASSERT_EQ_STR(str_at(post, "completes", NULL), str_at(pre, "id", NULL));
    ASSERT_EQ_STR(str_at(pre, "session_id", NULL), "sess-***REDACTED***");
    ASSERT_EQ_STR(str_at(pre, "operation_name", NULL), "mcp__vault__***REDACTED***");
    ASSERT_EQ_STR(str_at(pre, "operation_id", NULL), "***REDACTED***");
    ASSERT_EQ_STR(str_at(post, "cwd", NULL), "/home/u/***REDACTED***");
    cJSON_Delete(all);
    const char *where = secret_on_disk();
    if (where) TEST_FAIL_("the secret is in %s", where);
}

/* Cursor's after events complete the newest open before event of the same
** tool in the conversation, and carry the duration Cursor measured. */
TEST(cursor_after_completes_before)
{
    ASSERT_EQ_INT(hook_status(fixture("cursor", "beforeShellExecution")), 0);
    ASSERT_EQ_INT(hook_status(fixture("cursor", "afterShellExecution")), 0);
    ASSERT_EQ_INT(hook_status(fixture("cursor", "afterShellExecution")), 0);
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 3);
    const cJSON *pre = cJSON_GetArrayItem(all, 0);
    const cJSON *post = cJSON_GetArrayItem(all, 1), *again = cJSON_GetArrayItem(all, 2);
    ASSERT_EQ_STR(str_at(post, "completes", NULL), str_at(pre, "id", NULL));
    ASSERT_EQ_INT(obj_at(post, "duration_ms", NULL)->valueint, 1234);
    /* The before event is completed once only. */
    ASSERT(!obj_at(again, "completes", NULL));
    cJSON_Delete(all);
}

/* Without --actor, Cursor's user_email is the user (the *_events cases
** check that --actor wins). */
TEST(user_from_cursor_email)
{
    ASSERT_EQ_INT(hook_status(fixture("cursor", "stop")), 0);
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 1);
    ASSERT_EQ_STR(str_at(cJSON_GetArrayItem(all, 0), "user_id", NULL), "dev@example.com");
    ASSERT_EQ_STR(str_at(cJSON_GetArrayItem(all, 0), "client", "version"), "1.7.2");
    cJSON_Delete(all);
}

/* No secret of any fixture reaches the database or its WAL, even with
** results kept in full and prompts recorded. */
TEST(secrets_scrubbed_in_raw_bytes)
{
    static const char *const all_events[][2] = {
        {"claude-code", "PreToolUse"}, {"claude-code", "PostToolUse"},
        {"cursor", "beforeShellExecution"}, {"cursor", "afterShellExecution"},
        {"cursor", "beforeMCPExecution"}, {"cursor", "afterMCPExecution"},
        {"cursor", "afterFileEdit"}, {"cursor", "beforeReadFile"},
        {"gemini", "BeforeTool"}, {"gemini", "AfterTool"},
        {"copilot", "preToolUse"}, {"copilot", "postToolUse"},
        {"vscode", "PreToolUse"}, {"vscode", "PostToolUse"},
    };
    int n = (int)(sizeof all_events / sizeof *all_events);
    for (int i = 0; i < n; i++) {
        size_t len;
        char *text = read_file(fixture(all_events[i][0], all_events[i][1]), &len);
        ASSERT(text && strstr(text, SECRET));
        free(text);
        run r;
        ASSERT(run_hook(fixture(all_events[i][0], all_events[i][1]), &r, "--record-results",
                        "full", "--record-prompts", NULL) == 0);
        ASSERT_EQ_INT(r.status, 0);
        run_free(&r);
    }
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == n);
    /* Results were kept in full, scrubbed. */
    char *printed = cJSON_PrintUnformatted(all);
    ASSERT(printed && strstr(printed, "REDACTED") && !strstr(printed, SECRET));
    ASSERT(strstr(printed, "\"returnDisplay\""));
    free(printed);
    cJSON_Delete(all);
    const char *where = secret_on_disk();
    if (where) TEST_FAIL_("the secret is in %s", where);
}

/* A Gemini CLI tool that failed: its error, a string or an object's
** message, is the entry's error.  The text was read after the parsed output
** holding it was freed (a use after free, found while making the mapping
** fuzzable, tests/fuzz/fuzz_hook.c). */
TEST(gemini_tool_error_text_is_kept)
{
    static const char *const ev[] = {
        "{\"session_id\":\"s\",\"hook_event_name\":\"AfterTool\",\"tool_name\":\"run\","
        "\"tool_response\":{\"error\":\"the command failed: permission denied\"}}",
        "{\"session_id\":\"s\",\"hook_event_name\":\"AfterTool\",\"tool_name\":\"run\","
        "\"tool_response\":{\"error\":{\"message\":\"the command failed: permission denied\","
        "\"type\":\"shell\"}}}",
    };
    for (int i = 0; i < 2; i++) {
        ASSERT(write_file(in_dir("event.json"), ev[i], strlen(ev[i])) == 0);
        ASSERT_EQ_INT(hook_status(in_dir("event.json")), 0);
    }
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 2);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ_STR(str_at(cJSON_GetArrayItem(all, i), "error", NULL),
                      "the command failed: permission denied");
    cJSON_Delete(all);
}

/* Texts the hook cuts to a length (an unknown event's name in the warning,
** a failed tool's error) are cut between characters, never inside one: the
** warning goes into Cursor's JSON answer, the error into the entry (found
** by tests/fuzz/fuzz_hook.c). */
TEST(cut_texts_end_on_a_character)
{
    char name[128], ev[2048], text[600];
    memset(name, 'a', 63);
    snprintf(name + 63, sizeof name - 63, "\xC3\xA9\xC3\xA9");
    snprintf(ev, sizeof ev, "{\"hook_event_name\":\"%s\",\"conversation_id\":\"c\"}", name);
    ASSERT(write_file(in_dir("event.json"), ev, strlen(ev)) == 0);
    run r;
    ASSERT(run_hook(in_dir("event.json"), &r, "--fail-closed", "--client", "cursor", NULL) == 0);
    ASSERT_CONTAINS(r.out, "\"permission\":\"deny\"");
    ASSERT_CONTAINS(r.err, "aaa'");
    if (!h_valid_utf8(r.out, strlen(r.out)) || !h_valid_utf8(r.err, strlen(r.err)))
        TEST_FAIL_("not valid UTF-8: stdout '%s', stderr '%s'", r.out, r.err);
    run_free(&r);
    /* Copilot CLI's failure text is cut at 400 bytes, Gemini CLI's error
    ** object at the 511 bytes of its buffer. */
    memset(text, 'a', 399);
    snprintf(text + 399, sizeof text - 399, "\xC3\xA9 and more");
    snprintf(ev, sizeof ev, "{\"sessionId\":\"s\",\"toolName\":\"bash\",\"toolArgs\":\"{}\","
             "\"toolResult\":{\"resultType\":\"failure\",\"textResultForLlm\":\"%s\"}}", text);
    ASSERT(write_file(in_dir("event.json"), ev, strlen(ev)) == 0);
    ASSERT_EQ_INT(hook_status(in_dir("event.json")), 0);
    memset(text, 'a', 499);
    snprintf(text + 499, sizeof text - 499, "\xC3\xA9 and more");
    snprintf(ev, sizeof ev, "{\"session_id\":\"s\",\"hook_event_name\":\"AfterTool\","
             "\"tool_name\":\"run\",\"tool_response\":{\"error\":{\"detail\":\"%s\"}}}", text);
    ASSERT(write_file(in_dir("event.json"), ev, strlen(ev)) == 0);
    ASSERT_EQ_INT(hook_status(in_dir("event.json")), 0);
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 2);
    const char *copilot = str_at(cJSON_GetArrayItem(all, 0), "error", NULL);
    const char *gemini = str_at(cJSON_GetArrayItem(all, 1), "error", NULL);
    ASSERT(copilot && gemini);
    if (!h_valid_utf8(copilot, strlen(copilot)) || !h_valid_utf8(gemini, strlen(gemini)))
        TEST_FAIL_("an error is not valid UTF-8: '%s', '%s'", copilot, gemini);
    ASSERT_EQ_INT(strlen(copilot), strlen("failure: ") + 399);
    ASSERT_EQ_INT(strlen(gemini), strlen("{\"detail\":\"") + 499);
    cJSON_Delete(all);
}

/* A prompt's text is kept only with --record-prompts; its length always. */
TEST(prompts_private_by_default)
{
    run r;
    ASSERT_EQ_INT(hook_status(fixture("claude-code", "UserPromptSubmit")), 0);
    ASSERT(run_hook(fixture("claude-code", "UserPromptSubmit"), &r, "--record-prompts", NULL) ==
           0);
    run_free(&r);
    cJSON *all = entries();
    ASSERT(all && cJSON_GetArraySize(all) == 2);
    const cJSON *a = cJSON_GetArrayItem(all, 0), *b = cJSON_GetArrayItem(all, 1);
    ASSERT_EQ_INT(obj_at(a, "args", "prompt_length")->valueint, 41);
    ASSERT(!obj_at(a, "args", "prompt"));
    ASSERT_CONTAINS(str_at(b, "args", "prompt"), "Fix the login bug");
    char *pa = cJSON_PrintUnformatted(a);
    ASSERT(pa && !strstr(pa, "login bug"));
    free(pa);
    cJSON_Delete(all);
}

/* ---- failures: the agent goes on, or is blocked with --fail-closed ---- */

/* A database that cannot be opened: a file that is not a database. */
static void break_db(void)
{
    write_file(in_dir("audit.db"), "this is not a database, just text of some length",
               48);
}

typedef struct policy_case {
    const char *client, *event;
    int open_status, closed_status;
    const char *open_out, *closed_out; /* stdout; closed_out a prefix */
} policy_case;

static const policy_case policy_cases[] = {
    {"claude-code", "PreToolUse", 0, 2, "", ""},
    {"claude-code", "PostToolUse", 0, 0, "", ""},
    {"gemini", "BeforeTool", 0, 2, "", ""},
    {"vscode", "PreToolUse", 0, 2, "", ""},
    {"cursor", "beforeShellExecution", 0, 0, ALLOW, "{\"permission\":\"deny\",\"user_message\":"},
    {"cursor", "afterShellExecution", 0, 0, "", ""},
    {"copilot", "preToolUse", 0, 0, "", "{\"permissionDecision\":\"deny\""},
    {"copilot", "postToolUse", 0, 0, "", ""},
};

/* A locked-out (unusable) database under both policies, per client. */
TEST(unrecordable_event_both_policies)
{
    break_db();
    for (size_t i = 0; i < sizeof policy_cases / sizeof *policy_cases; i++) {
        const policy_case *p = &policy_cases[i];
        run r;
        ASSERT(run_hook(fixture(p->client, p->event), &r, NULL) == 0);
        if (r.status != p->open_status || strcmp(r.out, p->open_out) != 0 ||
            lines(r.err) != 1 || !strstr(r.err, "warning"))
            TEST_FAIL_("%s %s fail-open: exit %d, stdout '%s', stderr '%s'", p->client,
                       p->event, r.status, r.out, r.err);
        run_free(&r);
        ASSERT(run_hook(fixture(p->client, p->event), &r, "--fail-closed", NULL) == 0);
        if (r.status != p->closed_status || strncmp(r.out, p->closed_out, strlen(p->closed_out)) ||
            (!p->closed_out[0] && r.out[0]) || lines(r.err) != 1 ||
            !strstr(r.err, "not an SQLite database"))
            TEST_FAIL_("%s %s fail-closed: exit %d, stdout '%s', stderr '%s'", p->client,
                       p->event, r.status, r.out, r.err);
        run_free(&r);
    }
    /* The file was left as it was. */
    size_t n;
    char *b = read_file(in_dir("audit.db"), &n);
    ASSERT(b && n == 48);
    free(b);
}

/* One kind of bad input: the warning names the problem, exit 0 (2 with
** --fail-closed, since it may have been a pre event), nothing stored. */
static void bad_input(const void *p, size_t n, const char *word, int *test_failed_)
{
    ASSERT(write_file(in_dir("event.json"), p, n) == 0);
    run r;
    ASSERT(run_hook(in_dir("event.json"), &r, NULL) == 0);
    if (r.status != 0 || r.out[0] || lines(r.err) != 1 || !strstr(r.err, word))
        TEST_FAIL_("exit %d, stdout '%s', stderr '%s'", r.status, r.out, r.err);
    run_free(&r);
    ASSERT(run_hook(in_dir("event.json"), &r, "--fail-closed", "--client", "claude-code",
                    NULL) == 0);
    if (r.status != 2 || r.out[0] || lines(r.err) != 1 || !strstr(r.err, word))
        TEST_FAIL_("fail-closed: exit %d, stdout '%s', stderr '%s'", r.status, r.out, r.err);
    run_free(&r);
    ASSERT(run_hook(in_dir("event.json"), &r, "--fail-closed", "--client", "cursor", NULL) == 0);
    ASSERT_CONTAINS(r.out, "\"permission\":\"deny\"");
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
    ASSERT_EQ_INT(entry_count(), 0);
}

TEST(bad_input_not_json) { bad_input("{\"hook_event_name\": ", 20, "not valid JSON", test_failed_); }
TEST(bad_input_not_object)
{
    bad_input("[{\"hook_event_name\":\"PreToolUse\"}]", 34, "not a JSON object", test_failed_);
}
TEST(bad_input_invalid_utf8)
{
    const char ev[] = "{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"s\xff\xfe\","
                      "\"tool_name\":\"Bash\",\"tool_input\":{},\"tool_use_id\":\"t\"}";
    bad_input(ev, sizeof ev - 1, "not valid JSON", test_failed_);
}
TEST(bad_input_unknown_event)
{
    const char ev[] = "{\"hook_event_name\":\"PreCompact\",\"session_id\":\"s\",\"cwd\":\"/w\"}";
    bad_input(ev, sizeof ev - 1, "PreCompact", test_failed_);
}
TEST(bad_input_ten_megabytes)
{
    size_t n = 10u << 20;
    char *ev = malloc(n);
    ASSERT(ev);
    const char head[] = "{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"s\","
                        "\"tool_name\":\"Bash\",\"tool_use_id\":\"t\",\"tool_input\":{\"c\":\"";
    memcpy(ev, head, sizeof head - 1);
    memset(ev + sizeof head - 1, 'a', n - (sizeof head - 1) - 3);
    memcpy(ev + n - 3, "\"}}", 3);
    bad_input(ev, n, "larger than 8388608 bytes", test_failed_);
    free(ev);
}

/* A usage mistake in the client's settings does not stop the agent. */
TEST(usage_error_exits_zero)
{
    run r;
    ASSERT(run_hook(fixture("claude-code", "PreToolUse"), &r, "--client", "emacs", NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_CONTAINS(r.err, "--client must be");
    ASSERT(!r.out[0]);
    run_free(&r);
    ASSERT_EQ_INT(entry_count(), 0);
}

/* Files beside the database other than SQLite's own (audit.db, its -wal
** and -shm): how many, with the first one's name in odd. */
static int stray_files(char *odd, size_t cap)
{
    DIR *d = opendir(dir());
    int n = 0;
    odd[0] = '\0';
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "audit.db", 8) != 0) continue;
        const char *rest = e->d_name + 8;
        if (!*rest || !strcmp(rest, "-wal") || !strcmp(rest, "-shm")) continue;
        if (!n++) snprintf(odd, cap, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* ---- many hooks at once ------------------------------------------------ */

/* 32 processes, each running 50 hook invocations back to back (as parallel
** tool calls fire them), on one database: one chain of 1,600 entries. */
TEST(concurrent_hooks_one_chain)
{
    enum { PROCS = 32, EACH = 50 };
    const char *db = in_dir("audit.db");
    /* Through a recorder, the parent starts it: a child's own would
    ** outlive the test, since the children end with _exit(), which skips
    ** the atexit() that stops recorders. */
    ensure_recorder(db);
    for (int p = 0; p < PROCS; p++) {
        char path[300];
        snprintf(path, sizeof path, "%s/ev%d.json", dir(), p);
        FILE *f = fopen(path, "w");
        ASSERT(f);
        fprintf(f, "{\"session_id\":\"par-%d\",\"cwd\":\"/w\",\"hook_event_name\":\"PreToolUse\","
                   "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"true\"},"
                   "\"tool_use_id\":\"t%d\",\"transcript_path\":\"/t\"}", p, p);
        fclose(f);
    }
    pid_t kids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        kids[p] = fork();
        ASSERT(kids[p] >= 0);
        if (kids[p] == 0) {
            char path[300];
            snprintf(path, sizeof path, "%s/ev%d.json", dir(), p);
            const char *args[] = {"hook", "--db", db, "--actor", "par", NULL};
            int bad = 0;
            for (int i = 0; i < EACH; i++) {
                run r;
                if (run_bin(args, path, 0, &r) != 0 || r.status != 0 || r.err[0]) {
                    fprintf(stderr, "hook %d.%d: exit %d: %s\n", p, i, r.status,
                            r.err ? r.err : "");
                    bad = 1;
                }
                run_free(&r);
            }
            _exit(bad);
        }
    }
    int failed = 0;
    for (int p = 0; p < PROCS; p++) {
        int st;
        waitpid(kids[p], &st, 0);
        failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    ASSERT_EQ_INT(failed, 0);
    cJSON *all = entries();
    ASSERT(all);
    ASSERT_EQ_INT(cJSON_GetArraySize(all), PROCS * EACH);
    char *seen = calloc(PROCS * EACH + 1, 1);
    const cJSON *e;
    cJSON_ArrayForEach(e, all) {
        int seq = obj_at(e, "seq", NULL)->valueint;
        ASSERT(seq >= 1 && seq <= PROCS * EACH && !seen[seq]);
        seen[seq] = 1;
    }
    free(seen);
    cJSON_Delete(all);
    const char *vargs[] = {"verify", "--db", db, NULL};
    run r;
    ASSERT(run_bin(vargs, in_dir("empty"), 0, &r) == 0);
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
    char odd[256];
    ASSERT(stray_files(odd, sizeof odd) >= 0);
    ASSERT_EQ_STR(odd, ""); /* no lock file */
}


/* Hooks take turns on the database file itself (flock), so a hook killed
** with -9 while holding its turn leaves nothing behind, and the next hook
** gets the turn at once and records its event.  The holder here is a
** process doing exactly what a hook does for its turn. */
TEST(turn_dies_with_a_hook_killed_mid_turn)
{
    const char *ev = fixture("claude-code", "PreToolUse");
    ASSERT_EQ_INT(hook_status(ev), 0);
    int ready[2];
    ASSERT(pipe(ready) == 0);
    pid_t holder = fork();
    ASSERT(holder >= 0);
    if (holder == 0) {
        int fd = open(in_dir("audit.db"), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX) != 0) _exit(1);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        for (;;) pause();
    }
    close(ready[1]);
    char c;
    ASSERT(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    kill(holder, SIGKILL);
    int st;
    waitpid(holder, &st, 0);
    ASSERT(WIFSIGNALED(st));
    run r;
    ASSERT(run_hook(ev, &r, NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_EQ_STR(r.err, "");
    run_free(&r);
    ASSERT_EQ_INT(entry_count(), 2);
    char odd[256];
    ASSERT(stray_files(odd, sizeof odd) >= 0);
    ASSERT_EQ_STR(odd, "");
}

/* Each hook keeps the write-ahead log for the next one (so an event costs
** one sync: tests/faults durability.hook_event_costs_one_sync_of_the_wal),
** and the hook whose commit makes it long copies it back: over 120 events
** (some 7 MB of pages written) it stays under 4 MiB, every event is there
** and the chain verifies. */
TEST(wal_kept_between_hooks_and_bounded)
{
    enum { EVENTS = 120 };
    const char *ev = fixture("claude-code", "PreToolUse");
    const char *args[] = {"hook", "--db", in_dir("audit.db"), "--actor", "seq", NULL};
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", in_dir("audit.db"));
    off_t largest = 0;
    for (int i = 0; i < EVENTS; i++) {
        run r;
        ASSERT(run_bin(args, ev, 0, &r) == 0);
        ASSERT_EQ_INT(r.status, 0);
        run_free(&r);
        struct stat sb;
        ASSERT(stat(wal, &sb) == 0); /* kept at the hook's exit */
        if (sb.st_size > largest) largest = sb.st_size;
    }
    /* Through a recorder the log is the recorder's, a server's: copied back
    ** when hooks pause, else at 10,000 pages (store_sqlite.c). */
    off_t bound = getenv("DSS_HOOK_RECORDER") ? (off_t)10000 * 4096 + (1 << 20) : 4 << 20;
    ASSERT(largest > 0 && largest < bound);
    ASSERT_EQ_INT(entry_count(), EVENTS);
    const char *vargs[] = {"verify", "--db", in_dir("audit.db"), NULL};
    run r;
    ASSERT(run_bin(vargs, in_dir("empty"), 0, &r) == 0);
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
}

/* ---- hooks install / uninstall ----------------------------------------- */

/* A settings file that already holds the user's own hooks, in each
** client's documented shape, formatted by hand (not as cJSON prints). */
static const struct {
    const char *client, *text;
} user_files[] = {
    {"claude-code",
     "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"PreToolUse\": [\n      { \"matcher\": "
     "\"Bash\", \"hooks\": [ { \"type\": \"command\", \"command\": \"~/guard.sh\" } ] }\n    "
     "]\n  }\n}\n"},
    {"cursor",
     "{\n    \"version\": 1,\n    \"hooks\": {\n        \"afterFileEdit\": [ { \"command\": "
     "\"./fmt.sh\" } ]\n    }\n}\n"},
    {"gemini",
     "{\"theme\":\"dark\",\"hooks\":{\"BeforeTool\":[{\"matcher\":\"write_file\",\"hooks\":"
     "[{\"type\":\"command\",\"command\":\"lint.sh\"}]}]}}"},
    {"copilot",
     "{ \"version\": 1, \"hooks\": { \"preToolUse\": [ { \"type\": \"command\", \"bash\": "
     "\"./check.sh\", \"timeoutSec\": 5 } ] } }\n"},
    {"vscode",
     "{\n\t\"hooks\": {\n\t\t\"PostToolUse\": [{\"type\": \"command\", \"command\": "
     "\"npx prettier --write .\"}]\n\t}\n}\n"},
    /* Files without any hooks yet. */
    {"gemini", "{\"theme\": \"dark\"}\n"},
    {"cursor", "{}"},
};

static int run_hooks(const char *action, const char *client, const char *file, run *r,
                     const char *extra)
{
    const char *args[] = {"hooks", action, "--client", client, "--file", file, extra, NULL};
    write_file(in_dir("empty"), "", 0);
    return run_bin(args, in_dir("empty"), 1, r);
}

/* install then uninstall leaves a file with other hooks byte-identical;
** while installed, both the user's hooks and ours are there. */
TEST(install_uninstall_round_trip)
{
    for (size_t i = 0; i < sizeof user_files / sizeof *user_files; i++) {
        const char *path = in_dir("settings.json");
        const char *text = user_files[i].text;
        ASSERT(write_file(path, text, strlen(text)) == 0);
        run r;
        ASSERT(run_hooks("install", user_files[i].client, path, &r, NULL) == 0);
        if (r.status != 0 || !strstr(r.out, "added hooks.") || !strstr(r.out, ".bak"))
            TEST_FAIL_("%s install: exit %d, '%s' '%s'", user_files[i].client, r.status, r.out,
                       r.err);
        run_free(&r);
        size_t n;
        char *now = read_file(path, &n);
        ASSERT(now);
        cJSON *doc = cJSON_Parse(now);
        ASSERT(doc);
        char needle[64];
        snprintf(needle, sizeof needle, " hook --client %s", user_files[i].client);
        ASSERT(strstr(now, needle));
        cJSON *orig = cJSON_Parse(text);
        const cJSON *ev;
        /* Every hook of the user's is still there, first in its list. */
        cJSON_ArrayForEach(ev, obj_at(orig, "hooks", NULL)) {
            const cJSON *mine = cJSON_GetArrayItem(ev, 0);
            const cJSON *kept = cJSON_GetArrayItem(obj_at(doc, "hooks", ev->string), 0);
            ASSERT(cJSON_Compare(mine, kept, 1));
        }
        cJSON_Delete(orig);
        cJSON_Delete(doc);
        free(now);
        char bak[300];
        snprintf(bak, sizeof bak, "%s.dss-audit-mcp.bak", path);
        char *b = read_file(bak, &n);
        ASSERT(b && strcmp(b, text) == 0);
        free(b);
        ASSERT(run_hooks("uninstall", user_files[i].client, path, &r, NULL) == 0);
        ASSERT_EQ_INT(r.status, 0);
        ASSERT_CONTAINS(r.out, "removed hooks.");
        run_free(&r);
        char *after = read_file(path, &n);
        if (!after || n != strlen(text) || memcmp(after, text, n) != 0)
            TEST_FAIL_("%s: not byte-identical after uninstall:\n%s", user_files[i].client,
                       after ? after : "(missing)");
        free(after);
        ASSERT(access(bak, F_OK) != 0);
    }
}

/* The entries run the hook-only build when it is installed beside the
** program (it starts without libpq, libcurl, libmicrohttpd or librelp), and
** uninstall also removes entries that run dss-audit-mcp itself. */
TEST(install_runs_the_hook_only_build)
{
    const char *path = in_dir("settings.json");
    char want[600];
    snprintf(want, sizeof want, "%s", getenv("DSS_BIN"));
    char *slash = strrchr(want, '/');
    ASSERT(slash);
    snprintf(slash, sizeof want - (size_t)(slash - want),
             "/dss-audit-mcp-hook hook --client claude-code");
    ASSERT(access(getenv("DSS_BIN"), X_OK) == 0);
    run r;
    write_file(path, "{}", 2);
    ASSERT(run_hooks("install", "claude-code", path, &r, NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
    char *now = read_file(path, NULL);
    ASSERT(now);
    cJSON *doc = cJSON_Parse(now);
    free(now);
    const cJSON *pre = cJSON_GetArrayItem(obj_at(doc, "hooks", "PreToolUse"), 0);
    const cJSON *cmd = obj_at(cJSON_GetArrayItem(obj_at(pre, "hooks", NULL), 0), "command", NULL);
    ASSERT(cJSON_IsString(cmd));
    ASSERT_EQ_STR(cmd->valuestring, want);
    cJSON_Delete(doc);
    /* An entry written by an install of dss-audit-mcp alone. */
    static const char older[] =
        "{\"hooks\":{\"PreToolUse\":[{\"matcher\":\"*\",\"hooks\":[{\"type\":\"command\","
        "\"command\":\"/opt/dss/bin/dss-audit-mcp hook --client claude-code\"}]}]}}";
    write_file(path, older, strlen(older));
    ASSERT(run_hooks("uninstall", "claude-code", path, &r, NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_CONTAINS(r.out, "removed hooks.");
    run_free(&r);
    char *after = read_file(path, NULL);
    ASSERT(after && !strstr(after, "dss-audit-mcp"));
    free(after);
}

/* Installing twice adds nothing; uninstall after the user changed the file
** keeps the change and removes only our entries. */
TEST(install_twice_then_user_edit)
{
    const char *path = in_dir("settings.json");
    const char *text = user_files[0].text;
    ASSERT(write_file(path, text, strlen(text)) == 0);
    run r;
    ASSERT(run_hooks("install", "claude-code", path, &r, NULL) == 0);
    run_free(&r);
    size_t n1, n2;
    char *once = read_file(path, &n1);
    ASSERT(run_hooks("install", "claude-code", path, &r, "--fail-closed") == 0);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_CONTAINS(r.out, "already installed");
    run_free(&r);
    char *twice = read_file(path, &n2);
    ASSERT(once && twice && n1 == n2 && !memcmp(once, twice, n1));
    free(twice);
    /* The user adds a setting of their own meanwhile. */
    cJSON *doc = cJSON_Parse(once);
    free(once);
    cJSON_AddStringToObject(doc, "theme", "light");
    char *edited = cJSON_Print(doc);
    cJSON_Delete(doc);
    ASSERT(write_file(path, edited, strlen(edited)) == 0);
    free(edited);
    ASSERT(run_hooks("uninstall", "claude-code", path, &r, NULL) == 0);
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
    char *after = read_file(path, NULL);
    ASSERT(after && strstr(after, "light") && strstr(after, "guard.sh") &&
           !strstr(after, "dss-audit-mcp"));
    free(after);
}

/* A file install created is removed by uninstall; user scope is under HOME. */
TEST(install_creates_user_file_uninstall_removes_it)
{
    char home[300], path[400];
    snprintf(home, sizeof home, "%s/home", dir());
    mkdir(home, 0700);
    child_home = home;
    const char *args[] = {"hooks", "install", "--client", "cursor", NULL};
    write_file(in_dir("empty"), "", 0);
    run r;
    ASSERT(run_bin(args, in_dir("empty"), 1, &r) == 0);
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
    snprintf(path, sizeof path, "%s/.cursor/hooks.json", home);
    char *ftext = read_file(path, NULL);
    cJSON *doc = ftext ? cJSON_Parse(ftext) : NULL;
    free(ftext);
    ASSERT(doc);
    ASSERT_EQ_INT(obj_at(doc, "version", NULL)->valueint, 1);
    ASSERT_EQ_INT(cJSON_GetArraySize(obj_at(doc, "hooks", NULL)), 8);
    cJSON_Delete(doc);
    const char *uargs[] = {"hooks", "uninstall", "--client", "cursor", NULL};
    ASSERT(run_bin(uargs, in_dir("empty"), 1, &r) == 0);
    ASSERT_EQ_INT(r.status, 0);
    run_free(&r);
    ASSERT(access(path, F_OK) != 0);
    child_home = NULL;
}

/* A malformed settings file is left untouched, and the message says where. */
TEST(install_malformed_file_untouched)
{
    const char *path = in_dir("settings.json");
    const char *bad[] = {"{\"hooks\": {\"PreToolUse\": [}", "[1,2]",
                         "{\"hooks\": {\"PreToolUse\": {\"not\": \"an array\"}}}"};
    const char *words[] = {"byte", "not a JSON object", "hooks.PreToolUse"};
    for (int i = 0; i < 3; i++) {
        ASSERT(write_file(path, bad[i], strlen(bad[i])) == 0);
        for (int act = 0; act < 2; act++) {
            run r;
            ASSERT(run_hooks(act ? "uninstall" : "install", "claude-code", path, &r, NULL) ==
                   0);
            ASSERT_EQ_INT(r.status, 1);
            ASSERT_CONTAINS(r.err, path);
            ASSERT_CONTAINS(r.err, words[i]);
            run_free(&r);
            size_t n;
            char *now = read_file(path, &n);
            ASSERT(now && n == strlen(bad[i]) && !memcmp(now, bad[i], n));
            free(now);
            char bak[300];
            snprintf(bak, sizeof bak, "%s.dss-audit-mcp.bak", path);
            ASSERT(access(bak, F_OK) != 0);
        }
    }
}

TEST_MAIN(TEST_ENTRY(claude_code_events) TEST_ENTRY(cursor_events) TEST_ENTRY(gemini_events)
              TEST_ENTRY(copilot_events) TEST_ENTRY(vscode_events)
                  TEST_ENTRY(post_completes_pre) TEST_ENTRY(cursor_after_completes_before)
                      TEST_ENTRY(user_from_cursor_email) TEST_ENTRY(secrets_scrubbed_in_raw_bytes)
                      TEST_ENTRY(secrets_in_sessions_tool_names_and_folders_are_redacted_and_still_link)
                          TEST_ENTRY(gemini_tool_error_text_is_kept) TEST_ENTRY(cut_texts_end_on_a_character) TEST_ENTRY(prompts_private_by_default)
                              TEST_ENTRY(unrecordable_event_both_policies)
                                  TEST_ENTRY(bad_input_not_json) TEST_ENTRY(bad_input_not_object)
                                      TEST_ENTRY(bad_input_invalid_utf8)
                                          TEST_ENTRY(bad_input_unknown_event)
                                              TEST_ENTRY(bad_input_ten_megabytes)
                                                  TEST_ENTRY(usage_error_exits_zero)
                                                      TEST_ENTRY(concurrent_hooks_one_chain) TEST_ENTRY(turn_dies_with_a_hook_killed_mid_turn) TEST_ENTRY(wal_kept_between_hooks_and_bounded) TEST_ENTRY(install_uninstall_round_trip) TEST_ENTRY(install_runs_the_hook_only_build) TEST_ENTRY(install_twice_then_user_edit) TEST_ENTRY(install_creates_user_file_uninstall_removes_it) TEST_ENTRY(install_malformed_file_untouched))
