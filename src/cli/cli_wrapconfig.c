/*
** cli_wrapconfig.c: `dss-audit-mcp wrap-config`, which rewrites an MCP
** client's configuration so that every stdio server entry runs through
** `wrap` (see docs/wrap.md), and puts the entries back with --undo.
**
** An entry {command: C, args: A, env: E} becomes {command: SELF, args:
** ["wrap", "--name", KEY, "--", C, A...], env: E}; an entry whose args
** start with "wrap" under a command named dss-audit-mcp is wrapped already
** and skipped, and remote entries (url, or type http/sse) are left alone.
** --undo is the exact inverse of that rewrite.  The file is parsed whole
** first: a malformed one is not touched and the message says where it is
** malformed.  A timestamped backup is written beside it before the new
** text replaces it (through a temporary file and rename()).
*/
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *self_name = "dss-audit-mcp";

/* The default configuration file of a client (caller frees), or NULL. */
static char *default_file(const char *client, const cli_wrap_where *where)
{
    const char *home = where->home;
    char buf[PATH_MAX];
    if (strcmp(client, "vscode") == 0) return strdup(".vscode/mcp.json");
    if (!home) return NULL;
    if (strcmp(client, "claude-desktop") == 0) {
        const char *xdg = where->xdg_config_home;
        if (xdg && *xdg == '/')
            snprintf(buf, sizeof buf, "%s/Claude/claude_desktop_config.json", xdg);
        else
            snprintf(buf, sizeof buf, "%s/.config/Claude/claude_desktop_config.json", home);
    } else if (strcmp(client, "claude-code") == 0) {
        snprintf(buf, sizeof buf, "%s/.claude.json", home);
    } else if (strcmp(client, "cursor") == 0) {
        snprintf(buf, sizeof buf, "%s/.cursor/mcp.json", home);
    } else {
        return NULL;
    }
    return strdup(buf);
}

static char *read_all(const char *path, size_t *n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    buf[len] = '\0';
    *n = len;
    return buf;
}

static int is_wrapped(const cJSON *e)
{
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(e, "command");
    const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "args"), 0);
    if (!cJSON_IsString(cmd) || !cJSON_IsString(a0)) return 0;
    const char *base = strrchr(cmd->valuestring, '/');
    base = base ? base + 1 : cmd->valuestring;
    return strcmp(base, self_name) == 0 && strcmp(a0->valuestring, "wrap") == 0;
}

static int is_stdio(const cJSON *e)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    if (cJSON_GetObjectItemCaseSensitive(e, "url")) return 0;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "stdio") != 0) return 0;
    return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "command"));
}

/* Wrap entry e named key: 1 changed, 0 skipped, -1 out of memory. */
static int wrap_entry(cJSON *e, const char *key, const char *self)
{
    if (!is_stdio(e) || is_wrapped(e)) return 0;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(e, "command");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(e, "args");
    cJSON *args = cJSON_CreateArray();
    if (!args) return -1;
    cJSON_AddItemToArray(args, cJSON_CreateString("wrap"));
    cJSON_AddItemToArray(args, cJSON_CreateString("--name"));
    cJSON_AddItemToArray(args, cJSON_CreateString(key));
    cJSON_AddItemToArray(args, cJSON_CreateString("--"));
    cJSON_AddItemToArray(args, cJSON_CreateString(cmd->valuestring));
    const cJSON *a;
    cJSON_ArrayForEach(a, old) cJSON_AddItemToArray(args, cJSON_Duplicate(a, 1));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "command", cJSON_CreateString(self));
    if (old) cJSON_ReplaceItemInObjectCaseSensitive(e, "args", args);
    else cJSON_AddItemToObject(e, "args", args);
    return 1;
}

/* Undo wrap_entry(): 1 changed, 0 not wrapped. */
static int unwrap_entry(cJSON *e)
{
    if (!is_wrapped(e)) return 0;
    cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
    int n = cJSON_GetArraySize(args), dash = -1;
    for (int i = 0; i < n && dash < 0; i++) {
        const cJSON *a = cJSON_GetArrayItem(args, i);
        if (cJSON_IsString(a) && strcmp(a->valuestring, "--") == 0) dash = i;
    }
    if (dash < 0 || dash + 1 >= n) return 0;
    const cJSON *cmd = cJSON_GetArrayItem(args, dash + 1);
    if (!cJSON_IsString(cmd)) return 0;
    cJSON *rest = cJSON_CreateArray();
    for (int i = dash + 2; i < n; i++)
        cJSON_AddItemToArray(rest, cJSON_Duplicate(cJSON_GetArrayItem(args, i), 1));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "command", cJSON_CreateString(cmd->valuestring));
    /* wrap_entry() adds args to an entry that had none. */
    if (cJSON_GetArraySize(rest) == 0) {
        cJSON_Delete(rest);
        cJSON_DeleteItemFromObjectCaseSensitive(e, "args");
    } else {
        cJSON_ReplaceItemInObjectCaseSensitive(e, "args", rest);
    }
    return 1;
}

/* Rewrite every entry of a servers object; prints each change. */
static int rewrite(cJSON *servers, const char *where, int undo, const char *self,
                   FILE *out)
{
    int changed = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, servers) {
        if (!cJSON_IsObject(e) || !e->string) continue;
        int rc = undo ? unwrap_entry(e) : wrap_entry(e, e->string, self);
        if (rc < 0) return -1;
        if (rc > 0) {
            fprintf(out, "%s %s%s\n", undo ? "unwrapped" : "wrapped", where, e->string);
            changed++;
        } else if (!undo) {
            fprintf(out, "skipped %s%s (%s)\n", where, e->string,
                    is_wrapped(e) ? "already wrapped" : "not a stdio server");
        }
    }
    return changed;
}

/* Line and column (1-based) of byte offset at in text. */
static void line_col(const char *text, size_t at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* A new backup file beside path, never overwriting an older one. */
static int write_backup(const char *path, const char *text, size_t n, mode_t mode,
                        char *out, size_t outlen, char *err, size_t errlen)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    for (int i = 0; i < 100; i++) {
        if (i) snprintf(out, outlen, "%s.%s.%d.bak", path, stamp, i);
        else snprintf(out, outlen, "%s.%s.bak", path, stamp);
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) != 0 || close(fd) != 0) {
            snprintf(err, errlen, "cannot write the backup %s: %s", out, strerror(errno));
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "too many backups of %s this second", path);
    return -1;
}

static int write_file(const char *path, const char *text, mode_t mode, char *err,
                      size_t errlen)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.dss-audit-tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    size_t n = strlen(text);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) unlink(tmp);
        return -1;
    }
    return 0;
}

int cli_wrap_config(const char *client, const char *file, int undo, const char *self,
                    const cli_wrap_where *dirs, FILE *out, char *err, size_t errlen)
{
    int rc = CLI_EFAIL;
    char *path = file ? strdup(file) : default_file(client ? client : "", dirs);
    char *text = NULL, *printed = NULL;
    cJSON *root = NULL;
    size_t n = 0;
    if (!client || (strcmp(client, "claude-desktop") && strcmp(client, "claude-code") &&
                    strcmp(client, "vscode") && strcmp(client, "cursor"))) {
        snprintf(err, errlen, "--client must be claude-desktop, claude-code, vscode or cursor");
        rc = CLI_EUSAGE;
        goto done;
    }
    if (!path) {
        snprintf(err, errlen, "no configuration file: give --file PATH");
        rc = CLI_EUSAGE;
        goto done;
    }
    if (!(text = read_all(path, &n, err, errlen))) goto done;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        int line, col;
        line_col(text, end ? (size_t)(end - text) : 0, &line, &col);
        snprintf(err, errlen, "%s is malformed at line %d, column %d%s; left untouched",
                 path, line, col, root ? " (not a JSON object)" : "");
        goto done;
    }
    const char *key = strcmp(client, "vscode") == 0 ? "servers" : "mcpServers";
    int changed = 0, r;
    cJSON *servers = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsObject(servers)) {
        if ((r = rewrite(servers, "", undo, self, out)) < 0) goto oom;
        changed += r;
    }
    /* Claude Code also keeps servers per project. */
    cJSON *projects = cJSON_GetObjectItemCaseSensitive(root, "projects");
    if (strcmp(client, "claude-code") == 0 && cJSON_IsObject(projects)) {
        cJSON *p;
        cJSON_ArrayForEach(p, projects) {
            cJSON *ps = cJSON_GetObjectItemCaseSensitive(p, "mcpServers");
            if (!cJSON_IsObject(ps) || !p->string) continue;
            char where[PATH_MAX];
            snprintf(where, sizeof where, "%s: ", p->string);
            if ((r = rewrite(ps, where, undo, self, out)) < 0) goto oom;
            changed += r;
        }
    }
    if (!changed) {
        fprintf(out, "nothing to change in %s\n", path);
        rc = CLI_OK;
        goto done;
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0600;
    char backup[PATH_MAX + 64];
    if (write_backup(path, text, n, mode, backup, sizeof backup, err, errlen) != 0)
        goto done;
    if (!(printed = cJSON_Print(root))) goto oom;
    if (write_file(path, printed, mode, err, errlen) != 0) goto done;
    fprintf(out, "%d entr%s changed in %s; the original is in %s\n", changed,
            changed == 1 ? "y" : "ies", path, backup);
    rc = CLI_OK;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    cJSON_free(printed);
    cJSON_Delete(root);
    free(text);
    free(path);
    return rc;
}
