/*
** install.c: merge `dss-audit-mcp hook` into a client's settings file and
** take it out again (see install.h).
**
** Each client's file is described by a row of `formats`: its paths, the
** events to hook, and the shape of one entry.  Entries are recognized as
** ours by their command alone (the path of this program, or of the
** hook-only build beside it, followed by " hook --client C"), so uninstall
** never touches a hook the user wrote.
** Files are replaced by writing a sibling and renaming it over, after an
** fsync, so a crash leaves the old file or the new one, never half of one.
*/
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../util/fsutil.h"
#include "../util/jsoncheck.h"

typedef enum shape {
    NESTED,  /* E: [{"matcher": "*"?, "hooks": [{"type": "command", "command": C}]}] */
    FLAT,    /* E: [{"command": C}] (Cursor, "version": 1) */
    TYPED,   /* E: [{"type": "command", "command": C}] (VS Code) */
    BASH     /* E: [{"type": "command", "bash": C, "timeoutSec": 30}] (Copilot, "version": 1) */
} shape;

typedef struct format {
    const char *user, *project; /* relative to home / the current folder */
    shape shape;
    int versioned;              /* the file carries "version": 1 */
    int tool_events;            /* the first this many events take a matcher */
    const char *events[9];
} format;

static const format formats[] = {
    [HOOK_CLIENT_CLAUDE] = {".claude/settings.json", ".claude/settings.json", NESTED, 0, 3,
                            {"PreToolUse", "PostToolUse", "PostToolUseFailure",
                             "UserPromptSubmit", "SessionStart", "SessionEnd", "Stop",
                             "SubagentStop"}},
    [HOOK_CLIENT_CURSOR] = {".cursor/hooks.json", ".cursor/hooks.json", FLAT, 1, 0,
                            {"beforeShellExecution", "afterShellExecution",
                             "beforeMCPExecution", "afterMCPExecution", "afterFileEdit",
                             "beforeReadFile", "beforeSubmitPrompt", "stop"}},
    [HOOK_CLIENT_GEMINI] = {".gemini/settings.json", ".gemini/settings.json", NESTED, 0, 2,
                            {"BeforeTool", "AfterTool", "SessionStart", "SessionEnd"}},
    [HOOK_CLIENT_COPILOT] = {NULL, ".github/hooks/dss-audit-mcp-copilot.json", BASH, 1, 0,
                             {"preToolUse", "postToolUse"}},
    [HOOK_CLIENT_VSCODE] = {NULL, ".github/hooks/dss-audit-mcp-vscode.json", TYPED, 0, 0,
                            {"PreToolUse", "PostToolUse"}},
};

int hookinst_path(const hookinst_options *opt, char *path, size_t len, char *err,
                  size_t errlen)
{
    if (opt->file) {
        snprintf(path, len, "%s", opt->file);
        return 0;
    }
    const format *f = &formats[opt->client];
    if (!opt->project && !f->user) {
        snprintf(err, errlen, "%s has no user settings file for hooks; use --scope project "
                 "(%s) or --file PATH", hook_client_name(opt->client), f->project);
        return -1;
    }
    if (opt->project) snprintf(path, len, "%s", f->project);
    else snprintf(path, len, "%s/%s", opt->home, f->user);
    return 0;
}

/* The command our entries run. */
static void our_command(const hookinst_options *opt, char *cmd, size_t len)
{
    snprintf(cmd, len, "%s hook --client %s%s", opt->program, hook_client_name(opt->client),
             opt->fail_closed ? " --fail-closed" : "");
}

/* Whether an entry's command is one of ours (with or without
** --fail-closed, from any install of this program). */
static int is_ours(const char *cmd, hook_client client)
{
    char tail[64];
    if (!cmd) return 0;
    snprintf(tail, sizeof tail, " hook --client %s", hook_client_name(client));
    const char *at = strstr(cmd, tail);
    if (!at) return 0;
    const char *rest = at + strlen(tail);
    if (*rest && strcmp(rest, " --fail-closed") != 0) return 0;
    /* The program's name, with or without a folder, precedes it: the
    ** hook-only build (dss-audit-mcp-hook) or dss-audit-mcp. */
    static const char *const names[] = {"dss-audit-mcp-hook", "dss-audit-mcp"};
    size_t n = (size_t)(at - cmd);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t base = strlen(names[i]);
        if (n >= base && !strncmp(at - base, names[i], base) &&
            (n == base || at[-(long)base - 1] == '/'))
            return 1;
    }
    return 0;
}

/* The command of an entry of the given shape, or NULL. */
static const char *entry_command(const cJSON *e, shape sh)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, sh == BASH ? "bash" : "command");
    if (sh == NESTED) {
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(e, "hooks");
        if (cJSON_GetArraySize(inner) != 1) return NULL;
        c = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(inner, 0), "command");
    }
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static cJSON *new_entry(const format *f, int i, const char *cmd)
{
    cJSON *e = cJSON_CreateObject();
    if (!e) return NULL;
    switch (f->shape) {
    case NESTED: {
        if (i < f->tool_events) cJSON_AddStringToObject(e, "matcher", "*");
        cJSON *inner = cJSON_AddArrayToObject(e, "hooks");
        cJSON *h = cJSON_CreateObject();
        cJSON_AddItemToArray(inner, h);
        cJSON_AddStringToObject(h, "type", "command");
        cJSON_AddStringToObject(h, "command", cmd);
        break;
    }
    case FLAT: cJSON_AddStringToObject(e, "command", cmd); break;
    case TYPED:
        cJSON_AddStringToObject(e, "type", "command");
        cJSON_AddStringToObject(e, "command", cmd);
        break;
    case BASH:
        cJSON_AddStringToObject(e, "type", "command");
        cJSON_AddStringToObject(e, "bash", cmd);
        cJSON_AddNumberToObject(e, "timeoutSec", 30);
        break;
    }
    return e;
}

/* Read path: *text gets its bytes (NULL when it does not exist), *doc the
** parsed object.  0, or -1 with err naming the file and the problem. */
static int load(const char *path, char **text, size_t *len, cJSON **doc, char *err,
                size_t errlen)
{
    *text = NULL;
    *doc = NULL;
    size_t n;
    char *b = fs_read_all(path, 64u << 20, &n, err, errlen);
    if (!b) return errno == ENOENT ? 0 : -1;
    char why[200];
    if (n == 0) {
        snprintf(err, errlen, "%s is empty, not a JSON object; it was left untouched", path);
        free(b);
        return -1;
    }
    if (jsoncheck(b, n, 256, why, sizeof why) != JSONCHECK_OK ||
        !(*doc = cJSON_ParseWithLength(b, n)) || !cJSON_IsObject(*doc)) {
        snprintf(err, errlen, "%s is not a JSON object (%s); it was left untouched", path,
                 *doc ? "another JSON value" : why);
        cJSON_Delete(*doc);
        *doc = NULL;
        free(b);
        return -1;
    }
    *text = b;
    *len = n;
    return 0;
}

/* Write bytes to path through a sibling renamed over it.  0 or -1. */
static int replace(const char *path, const char *bytes, size_t n, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.dss-audit-mcp.tmp", path);
    if (fs_make_parents(path, err, errlen) != 0) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct stat old;
    /* The file keeps its mode (this program's umask would narrow it). */
    int ok = fd >= 0 && (stat(path, &old) != 0 || fchmod(fd, old.st_mode & 07777) == 0) &&
             write(fd, bytes, n) == (ssize_t)n && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The hooks object of doc, checked against the client's shape; created
** when create is set.  NULL with err when the file holds something else. */
static cJSON *hooks_of(cJSON *doc, const format *f, int create, const char *path, char *err,
                       size_t errlen)
{
    cJSON *hooks = cJSON_GetObjectItemCaseSensitive(doc, "hooks");
    if (!hooks && create) {
        if (f->versioned && !cJSON_GetObjectItemCaseSensitive(doc, "version"))
            cJSON_AddNumberToObject(doc, "version", 1);
        hooks = cJSON_AddObjectToObject(doc, "hooks");
    }
    if (hooks && !cJSON_IsObject(hooks)) {
        snprintf(err, errlen, "%s: \"hooks\" is not an object; the file was left untouched",
                 path);
        return NULL;
    }
    for (int i = 0; hooks && f->events[i]; i++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(hooks, f->events[i]);
        if (list && !cJSON_IsArray(list)) {
            snprintf(err, errlen, "%s: \"hooks.%s\" is not an array; the file was left "
                     "untouched", path, f->events[i]);
            return NULL;
        }
    }
    if (!hooks && !create) snprintf(err, errlen, "%s holds no hooks", path);
    return hooks;
}

/* Write doc to path, printed with a final newline.  0 or -1. */
static int write_doc(const char *path, const cJSON *doc, char *err, size_t errlen)
{
    char *json = cJSON_Print(doc);
    size_t n = json ? strlen(json) : 0;
    char *with_nl = json ? malloc(n + 2) : NULL;
    int rc = -1;
    if (!with_nl) snprintf(err, errlen, "out of memory");
    else {
        memcpy(with_nl, json, n);
        with_nl[n] = '\n';
        rc = replace(path, with_nl, n + 1, err, errlen);
    }
    free(with_nl);
    cJSON_free(json);
    return rc;
}

static int do_install(const hookinst_options *opt, const char *path, cJSON *doc,
                      const char *text, size_t len, FILE *out, char *err, size_t errlen)
{
    const format *f = &formats[opt->client];
    char cmd[4200], bak[4200];
    our_command(opt, cmd, sizeof cmd);
    cJSON *hooks = hooks_of(doc, f, 1, path, err, errlen);
    if (!hooks) return -1;
    int added = 0;
    for (int i = 0; f->events[i]; i++) {
        cJSON *list = cJSON_GetObjectItemCaseSensitive(hooks, f->events[i]);
        const cJSON *e;
        int have = 0;
        cJSON_ArrayForEach(e, list) have |= is_ours(entry_command(e, f->shape), opt->client);
        if (have) continue;
        if (!list) list = cJSON_AddArrayToObject(hooks, f->events[i]);
        cJSON_AddItemToArray(list, new_entry(f, i, cmd));
        fprintf(out, "%s: added hooks.%s: %s\n", path, f->events[i], cmd);
        added++;
    }
    if (!added) {
        fprintf(out, "%s: already installed; nothing changed\n", path);
        return 0;
    }
    snprintf(bak, sizeof bak, "%s.dss-audit-mcp.bak", path);
    if (text) {
        if (replace(bak, text, len, err, errlen) != 0) return -1;
        fprintf(out, "%s: backup of the previous file\n", bak);
    }
    return write_doc(path, doc, err, errlen);
}

/* Whether doc, our entries removed, is what the backup holds: equal, or
** equal but for the empty "hooks" (and "version": 1) install added. */
static int same_as_before(const cJSON *old_doc, const cJSON *doc, const format *f)
{
    if (cJSON_Compare(old_doc, doc, 1)) return 1;
    const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(doc, "hooks");
    if (!cJSON_IsObject(hooks) || hooks->child) return 0;
    cJSON *copy = cJSON_Duplicate(doc, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "hooks");
    int same = cJSON_Compare(old_doc, copy, 1);
    if (!same && f->versioned) {
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "version");
        same = cJSON_Compare(old_doc, copy, 1);
    }
    cJSON_Delete(copy);
    return same;
}

static int do_uninstall(const hookinst_options *opt, const char *path, cJSON *doc,
                        FILE *out, char *err, size_t errlen)
{
    const format *f = &formats[opt->client];
    char bak[4200];
    cJSON *hooks = hooks_of(doc, f, 0, path, err, errlen);
    if (!hooks) {
        if (strstr(err, "holds no hooks")) {
            fprintf(out, "%s: no hooks of dss-audit-mcp; nothing changed\n", path);
            return 0;
        }
        return -1;
    }
    int removed = 0;
    for (int i = 0; f->events[i]; i++) {
        cJSON *list = cJSON_GetObjectItemCaseSensitive(hooks, f->events[i]);
        for (int k = cJSON_GetArraySize(list) - 1; k >= 0; k--) {
            const char *cmd = entry_command(cJSON_GetArrayItem(list, k), f->shape);
            if (!is_ours(cmd, opt->client)) continue;
            fprintf(out, "%s: removed hooks.%s: %s\n", path, f->events[i], cmd);
            cJSON_DeleteItemFromArray(list, k);
            removed++;
        }
        /* install created the list when it added the first entry */
        if (list && cJSON_GetArraySize(list) == 0) cJSON_DeleteItemFromObject(hooks, f->events[i]);
    }
    if (!removed) {
        fprintf(out, "%s: no hooks of dss-audit-mcp; nothing changed\n", path);
        return 0;
    }
    snprintf(bak, sizeof bak, "%s.dss-audit-mcp.bak", path);
    char *old = NULL;
    size_t old_len = 0;
    cJSON *old_doc = NULL;
    char why[512];
    if (load(bak, &old, &old_len, &old_doc, why, sizeof why) == 0 && old &&
        same_as_before(old_doc, doc, f)) {
        /* Nothing else changed since install: the user's own bytes back. */
        int rc = replace(path, old, old_len, err, errlen);
        if (rc == 0) {
            unlink(bak);
            fprintf(out, "%s: restored from %s\n", path, bak);
        }
        free(old);
        cJSON_Delete(old_doc);
        return rc;
    }
    free(old);
    cJSON_Delete(old_doc);
    /* install created the file: what is left is its empty skeleton. */
    cJSON *skeleton = cJSON_CreateObject();
    if (f->versioned) cJSON_AddNumberToObject(skeleton, "version", 1);
    cJSON_AddObjectToObject(skeleton, "hooks");
    int empty = access(bak, F_OK) != 0 && cJSON_Compare(skeleton, doc, 1);
    cJSON_Delete(skeleton);
    if (empty) {
        if (unlink(path) != 0) {
            snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
            return -1;
        }
        fprintf(out, "%s: removed (install had created it)\n", path);
        return 0;
    }
    return write_doc(path, doc, err, errlen);
}

int hookinst_run(const hookinst_options *opt, int install, FILE *out, char *err,
                 size_t errlen)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    cJSON *doc = NULL;
    if (hookinst_path(opt, path, sizeof path, err, errlen) != 0) return -1;
    if (load(path, &text, &len, &doc, err, errlen) != 0) return -1;
    int rc;
    if (!doc && !install) {
        fprintf(out, "%s does not exist; nothing changed\n", path);
        return 0;
    }
    if (!doc) doc = cJSON_CreateObject();
    rc = install ? do_install(opt, path, doc, text, len, out, err, errlen)
                 : do_uninstall(opt, path, doc, out, err, errlen);
    cJSON_Delete(doc);
    free(text);
    return rc;
}
