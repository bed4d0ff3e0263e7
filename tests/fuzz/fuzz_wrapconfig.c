/*
** fuzz_wrapconfig.c: a libFuzzer target for `wrap-config`
** (src/cli/cli_wrapconfig.c), which rewrites a client's MCP configuration
** file so that its servers run through `wrap`, and puts them back.
**
** The first input byte chooses the client (bits 0-1: claude-desktop,
** claude-code, vscode, cursor); the rest is the file, written to a
** private folder under /tmp.  cli_wrap_config() wraps it; then, with its
** backups removed (so that the rewrite itself is undone, not a backup
** copied back), undoes it.
**
** Besides the sanitizers, the target checks and aborts when broken:
**   - a file that is not a JSON object (strict JSON: jsoncheck) is left
**     untouched, with an error;
**   - what is written back is a JSON object, and every member outside the
**     servers objects (mcpServers or servers; Claude Code's projects) is
**     kept as it was, as is every member of a server entry other than the
**     ones wrapping rewrites (command, args, url, type, env, headers);
**   - undo is the exact inverse (docs/wrap.md): unless the file held an
**     entry wrapped already, wrapping then undoing gives back the same
**     members in the same order.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=2048
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "util/fsutil.h"
#include "util/jsoncheck.h"
#include "fuzz_util.h"

static const char *const clients[] = {"claude-desktop", "claude-code", "vscode", "cursor"};
static const char self[] = "/usr/local/bin/dss-audit-mcp";
static char dir[64], file[128];
static FILE *devnull;

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_wrapconfig", what, detail);
}

static void clean_dir(void)
{
    DIR *d = opendir(dir);
    if (!d) die("opendir", dir);
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
}

static void cleanup(void)
{
    if (dir[0]) {
        clean_dir();
        rmdir(dir);
    }
}

static char *slurp(size_t *n)
{
    char err[256];
    char *t = fs_read_all(file, SIZE_MAX - 1, n, err, sizeof err);
    if (!t) die("read back", err);
    return t;
}

static int same(const cJSON *a, const cJSON *b)
{
    char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
    int r = pa && pb && strcmp(pa, pb) == 0;
    cJSON_free(pa);
    cJSON_free(pb);
    return r;
}

static int rewritten(const char *k)
{
    static const char *const keys[] = {"command", "args", "url", "type", "env", "headers"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(k, keys[i]) == 0) return 1;
    return 0;
}

/* The members of an object in order, paired with another's: wrapping
** keeps every member in its place (and keys may repeat, so pairing by
** name would not do). */
static const cJSON *pair(const cJSON *after_parent, const cJSON *before_parent,
                         const cJSON *before, const char *text)
{
    int i = 0;
    for (const cJSON *m = before_parent->child; m != before; m = m->next) i++;
    const cJSON *a = cJSON_GetArrayItem(after_parent, i);
    if (!a || !a->string || !before->string || strcmp(a->string, before->string) != 0)
        die("a member is gone or out of its place", text);
    return a;
}

/* Each entry of a servers object keeps the members wrapping leaves alone. */
static void servers_kept(const cJSON *before, const cJSON *after, const char *text)
{
    if (!cJSON_IsObject(before)) {
        if (!same(before, after)) die("a servers member that is no object changed", text);
        return;
    }
    if (cJSON_GetArraySize(before) != cJSON_GetArraySize(after))
        die("a servers object lost or gained an entry", text);
    const cJSON *e;
    cJSON_ArrayForEach(e, before) {
        const cJSON *a = pair(after, before, e, text);
        if (!cJSON_IsObject(e)) {
            if (!same(e, a)) die("a server entry that is no object changed", text);
            continue;
        }
        /* Those wrapping leaves alone, in their order. */
        const cJSON *m = e->child, *am = a->child;
        for (;;) {
            while (m && m->string && rewritten(m->string)) m = m->next;
            while (am && am->string && rewritten(am->string)) am = am->next;
            if (!m || !am) break;
            if (!m->string || !am->string || strcmp(m->string, am->string) != 0 || !same(m, am))
                die("a member of a server entry was lost or changed", text);
            m = m->next;
            am = am->next;
        }
        if (m || am) die("a member of a server entry was lost or added", text);
    }
}

static void kept(const cJSON *before, const cJSON *after, int client, const char *text)
{
    const char *key = client == 2 ? "servers" : "mcpServers";
    if (cJSON_GetArraySize(before) != cJSON_GetArraySize(after))
        die("the file lost or gained a member", text);
    const cJSON *m;
    cJSON_ArrayForEach(m, before) {
        const cJSON *am = pair(after, before, m, text);
        if (m == cJSON_GetObjectItemCaseSensitive(before, key)) {
            servers_kept(m, am, text);
        } else if (client == 1 && m == cJSON_GetObjectItemCaseSensitive(before, "projects") &&
                   cJSON_IsObject(m)) {
            if (cJSON_GetArraySize(m) != cJSON_GetArraySize(am)) die("projects changed", text);
            const cJSON *p;
            cJSON_ArrayForEach(p, m) {
                const cJSON *ap = pair(am, m, p, text);
                if (!cJSON_IsObject(p)) {
                    if (!same(p, ap)) die("a project that is no object changed", text);
                    continue;
                }
                if (cJSON_GetArraySize(p) != cJSON_GetArraySize(ap)) die("a project changed", text);
                const cJSON *q;
                cJSON_ArrayForEach(q, p) {
                    const cJSON *aq = pair(ap, p, q, text);
                    if (q == cJSON_GetObjectItemCaseSensitive(p, "mcpServers")) servers_kept(q, aq, text);
                    else if (!same(q, aq)) die("a member of a project changed", text);
                }
            }
        } else if (!same(m, am)) {
            die("a top-level member changed", text);
        }
    }
}

static const cJSON *member(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int wrapped_entry(const cJSON *e)
{
    const cJSON *cmd = member(e, "command");
    const cJSON *a0 = cJSON_GetArrayItem(member(e, "args"), 0);
    if (!cJSON_IsString(cmd) || !cJSON_IsString(a0)) return 0;
    const char *base = strrchr(cmd->valuestring, '/');
    base = base ? base + 1 : cmd->valuestring;
    return strcmp(base, "dss-audit-mcp") == 0 && strcmp(a0->valuestring, "wrap") == 0;
}

static int any_wrapped(const cJSON *servers)
{
    const cJSON *e;
    if (!cJSON_IsObject(servers)) return 0;
    cJSON_ArrayForEach(e, servers) if (cJSON_IsObject(e) && wrapped_entry(e)) return 1;
    return 0;
}

static int holds_wrapped(const cJSON *root, int client)
{
    if (any_wrapped(member(root, client == 2 ? "servers" : "mcpServers"))) return 1;
    const cJSON *p;
    if (client == 1 && cJSON_IsObject(member(root, "projects")))
        cJSON_ArrayForEach(p, member(root, "projects")) if (any_wrapped(member(p, "mcpServers"))) return 1;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    snprintf(dir, sizeof dir, "/tmp/fuzz-wrapconfig-XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp", dir);
    atexit(cleanup);
    snprintf(file, sizeof file, "%s/mcp.json", dir);
    if (!(devnull = fopen("/dev/null", "w"))) die("fopen", "/dev/null");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int client = data[0] & 3;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    char err[512];
    clean_dir();
    FILE *f = fopen(file, "w");
    if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0) die("write", file);
    /* NUL-terminated for the messages. */
    char *shown = strndup(text, n);
    if (!shown) die("strndup", "");

    cli_wrap_where where = {.home = dir};
    int rc = cli_wrap_config(clients[client], file, 0, self, &where, devnull, err, sizeof err);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    size_t an;
    char *after = slurp(&an);
    char why[160];
    if (!cJSON_IsObject(root) || jsoncheck(text, n, 256, why, sizeof why) != JSONCHECK_OK) {
        if (rc == CLI_OK) die("a file that is no JSON object was accepted", shown);
        if (an != n || memcmp(after, text, n) != 0) die("a malformed file was touched", shown);
        goto done;
    }
    if (rc != CLI_OK) die("wrap-config failed", err);
    cJSON *got = cJSON_ParseWithLength(after, an);
    if (!cJSON_IsObject(got)) die("what wrap-config wrote is no JSON object", after);
    kept(root, got, client, shown);
    cJSON_Delete(got);
    int changed = an != n || memcmp(after, text, n) != 0;
    if (changed && !holds_wrapped(root, client)) {
        {
            /* The backups go, so that undo undoes the rewrite itself. */
            DIR *d = opendir(dir);
            struct dirent *e;
            char p[512];
            while (d && (e = readdir(d)))
                if (strstr(e->d_name, ".bak")) {
                    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                    unlink(p);
                }
            if (d) closedir(d);
        }
        rc = cli_wrap_config(clients[client], file, 1, self, &where, devnull, err, sizeof err);
        if (rc != CLI_OK) die("undo failed", err);
        size_t un;
        char *undone = slurp(&un);
        cJSON *back = cJSON_ParseWithLength(undone, un);
        if (!cJSON_IsObject(back)) die("what undo wrote is no JSON object", undone);
        if (!same(root, back)) {
            char *a = cJSON_PrintUnformatted(back);
            fprintf(stderr, "fuzz_wrapconfig: undone: %.600s\n", a ? a : "");
            free(a);
            die("undo is not the inverse of wrap", shown);
        }
        cJSON_Delete(back);
        free(undone);
    }
done:
    cJSON_Delete(root);
    free(after);
    free(shown);
    return 0;
}
