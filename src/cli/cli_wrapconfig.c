/*
** cli_wrapconfig.c: `dss-audit-mcp wrap-config`, which rewrites an MCP
** client's configuration so that every stdio server entry runs through
** `wrap` (see docs/wrap.md), and puts the entries back with --undo.
**
** An entry {command: C, args: A, env: E} becomes {command: SELF, args:
** ["wrap", "--name", KEY, "--", C, A...], env: E} (["wrap", "--name=KEY",
** "--", C] when A is [], which would otherwise wrap to what an entry
** without args does, and undo could not tell them apart); an entry whose args
** start with "wrap" under a command named dss-audit-mcp is wrapped already
** and skipped.  A remote entry {type: T, url: U, headers: H} becomes
** {type: "stdio", command: SELF, args: ["wrap", "--name", KEY, "--url", U,
** "--transport", T], env: {DSS_AUDIT_HEADERS: H as JSON text}} (["wrap",
** "--name=KEY", ...] when the entry had an env of its own, which then
** takes those and is kept by undo even if nothing else is in it): the header
** values (often tokens) go to the environment, never to the command line,
** and so does a URL carrying credentials or a query (DSS_AUDIT_URL).  Each
** member keeps its place, so --undo, the exact inverse, gives back the same
** members in the same order.  Better still, --undo first looks for the
** backup this command wrote: when wrapping that backup again gives the
** current file exactly, the backup's bytes are put back as they were.
**
** The file is parsed whole first: a malformed one is not touched and the
** message says where it is malformed.  A timestamped backup is written
** beside it before the new text replaces it (through a temporary file and
** rename()).
*/
#define _GNU_SOURCE
#include "cli.h"
#include "../util/fsutil.h"
#include "../util/jsoncheck.h"

#include <dirent.h>
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

static int is_wrapped(const cJSON *e)
{
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(e, "command");
    const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "args"), 0);
    if (!cJSON_IsString(cmd) || !cJSON_IsString(a0)) return 0;
    const char *base = strrchr(cmd->valuestring, '/');
    base = base ? base + 1 : cmd->valuestring;
    return strcmp(base, self_name) == 0 && strcmp(a0->valuestring, "wrap") == 0;
}

/* The environment variables a remote entry's wrapper reads. */
#define ENV_HEADERS "DSS_AUDIT_HEADERS"
#define ENV_URL "DSS_AUDIT_URL"

/* Why the rewrite of a remote entry would lose or double a member, NULL
** when it would not: its command and args would be second ones, and its
** headers and URL go into env, which must be an object without them.  When
** the entry has an env of its own, its headers must be its last member:
** they go into that env, and undo puts them back last.  A static string. */
static const char *remote_clash(const cJSON *e)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(e, "env");
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(e, "headers");
    if (cJSON_GetObjectItemCaseSensitive(e, "command") || cJSON_GetObjectItemCaseSensitive(e, "args"))
        return "a remote server that also has a command or args";
    if (env && !cJSON_IsObject(env)) return "a remote server whose env is not an object";
    if (cJSON_GetObjectItemCaseSensitive(env, ENV_HEADERS))
        return "a remote server whose env already sets " ENV_HEADERS;
    if (cJSON_GetObjectItemCaseSensitive(env, ENV_URL))
        return "a remote server whose env already sets " ENV_URL;
    if (env && headers && headers->next)
        return "a remote server with an env of its own and members after its headers: "
               "undo could not put them back in place";
    return NULL;
}

/* The transports wrap relays (docs/remote.md). */
static int remote_type(const cJSON *type)
{
    return !type || (cJSON_IsString(type) && (strcmp(type->valuestring, "http") == 0 ||
                                              strcmp(type->valuestring, "sse") == 0 ||
                                              strcmp(type->valuestring, "streamable-http") == 0));
}

static int is_remote(const cJSON *e)
{
    return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "url")) && !remote_clash(e) &&
           remote_type(cJSON_GetObjectItemCaseSensitive(e, "type"));
}

/* Give item the key name and put it at index at of object o (at its end
** when at is past it or negative).  Linked by hand: Debian 12's cJSON
** (1.7.15-1+deb12u4) refuses cJSON_InsertItemInArray() at every index but
** the first and the end, and the member went to the end, out of its place,
** so that undo was no longer the inverse of wrap (tests/fuzz/fuzz_wrapconfig.c). */
static void insert_member(cJSON *o, int at, const char *name, cJSON *item)
{
    item->string = strdup(name);
    if (!item->string) {
        cJSON_Delete(item);
        return;
    }
    cJSON *after = at >= 0 ? o->child : NULL;
    for (int i = 0; after && i < at; i++) after = after->next;
    if (!after) {
        cJSON_AddItemToObject(o, name, item);
        return;
    }
    /* A child's prev is the one before it; the first's is the last. */
    item->next = after;
    item->prev = after->prev;
    if (after == o->child) o->child = item;
    else item->prev->next = item;
    after->prev = item;
}

static int index_of(const cJSON *o, const char *name)
{
    int i = 0;
    for (const cJSON *c = o->child; c; c = c->next, i++)
        if (c->string && strcmp(c->string, name) == 0) return i;
    return -1;
}

/* The start of a wrapped entry's args: ["wrap", "--name", key], or
** ["wrap", "--name=KEY"] when once (the same to wrap: the spelling tells
** undo something the wrapped entry would not show otherwise).  A new
** array (caller frees), NULL when out of memory. */
static cJSON *wrap_args(const char *key, int once)
{
    cJSON *args = cJSON_CreateArray();
    char *named = NULL;
    if (!args || (once && asprintf(&named, "--name=%s", key) < 0)) {
        cJSON_Delete(args);
        return NULL;
    }
    cJSON_AddItemToArray(args, cJSON_CreateString("wrap"));
    if (once) {
        cJSON_AddItemToArray(args, cJSON_CreateString(named));
        free(named);
    } else {
        cJSON_AddItemToArray(args, cJSON_CreateString("--name"));
        cJSON_AddItemToArray(args, cJSON_CreateString(key));
    }
    return args;
}

/* Whether wrapped args spell the name --name=KEY (wrap_args()). */
static int named_once(const cJSON *args)
{
    const cJSON *a1 = cJSON_GetArrayItem(args, 1);
    return cJSON_IsString(a1) && strncmp(a1->valuestring, "--name=", 7) == 0;
}

/* Wrap a remote entry e named key: 1 changed, -1 out of memory. */
static int wrap_remote(cJSON *e, const char *key, const char *self)
{
    const char *url = cJSON_GetObjectItemCaseSensitive(e, "url")->valuestring;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    cJSON *headers = cJSON_GetObjectItemCaseSensitive(e, "headers");
    cJSON *env = cJSON_GetObjectItemCaseSensitive(e, "env");
    /* user:password@ or a query often carries a secret: not for argv. */
    const char *at = strchr(url, '@'), *slash = strstr(url, "://");
    const char *path = slash ? strchr(slash + 3, '/') : NULL;
    int secret_url = strchr(url, '?') || (at && (!path || at < path));
    /* --name=KEY: the env was the entry's own, which undo keeps even when
    ** nothing else is in it. */
    cJSON *args = wrap_args(key, env != NULL);
    if (!args) return -1;
    if (!secret_url) {
        cJSON_AddItemToArray(args, cJSON_CreateString("--url"));
        cJSON_AddItemToArray(args, cJSON_CreateString(url));
    }
    if (cJSON_IsString(type)) {
        cJSON_AddItemToArray(args, cJSON_CreateString("--transport"));
        cJSON_AddItemToArray(args, cJSON_CreateString(type->valuestring));
        cJSON_ReplaceItemInObjectCaseSensitive(e, "type", cJSON_CreateString("stdio"));
    }
    cJSON *newenv = env ? NULL : cJSON_CreateObject();
    cJSON *target = env ? env : newenv;
    if (!target) {
        cJSON_Delete(args);
        return -1;
    }
    if (headers) {
        char *h = cJSON_PrintUnformatted(headers);
        if (!h) {
            cJSON_Delete(args);
            cJSON_Delete(newenv);
            return -1;
        }
        cJSON_AddStringToObject(target, ENV_HEADERS, h);
        free(h);
    }
    if (secret_url) cJSON_AddStringToObject(target, ENV_URL, url);
    /* command takes url's place and args follows it; env takes the place
    ** of headers (or goes last). */
    int ui = index_of(e, "url");
    cJSON_ReplaceItemInObjectCaseSensitive(e, "url", cJSON_CreateString(self));
    cJSON *cmd = cJSON_GetArrayItem(e, ui);
    free(cmd->string);
    cmd->string = strdup("command");
    insert_member(e, ui + 1, "args", args);
    if (newenv) {
        int hi = index_of(e, "headers");
        if (headers) cJSON_DeleteItemFromObjectCaseSensitive(e, "headers");
        if (cJSON_GetArraySize(newenv) == 0) cJSON_Delete(newenv);
        else if (hi >= 0) insert_member(e, hi, "env", newenv);
        else cJSON_AddItemToObject(e, "env", newenv);
    } else if (headers) {
        cJSON_DeleteItemFromObjectCaseSensitive(e, "headers");
    }
    return 1;
}

/* Undo wrap_remote() on a wrapped entry whose args hold no "--": 1
** changed, 0 not a wrapped remote entry. */
static int unwrap_remote(cJSON *e)
{
    cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
    cJSON *env = cJSON_GetObjectItemCaseSensitive(e, "env");
    const char *url = NULL, *transport = NULL;
    int n = cJSON_GetArraySize(args);
    for (int i = 0; i + 1 < n; i++) {
        const cJSON *a = cJSON_GetArrayItem(args, i), *v = cJSON_GetArrayItem(args, i + 1);
        if (!cJSON_IsString(a) || !cJSON_IsString(v)) continue;
        if (strcmp(a->valuestring, "--url") == 0) url = v->valuestring;
        else if (strcmp(a->valuestring, "--transport") == 0) transport = v->valuestring;
    }
    const cJSON *eu = cJSON_GetObjectItemCaseSensitive(env, ENV_URL);
    if (!url && cJSON_IsString(eu)) url = eu->valuestring;
    if (!url) return 0;
    const cJSON *eh = cJSON_GetObjectItemCaseSensitive(env, ENV_HEADERS);
    cJSON *headers = cJSON_IsString(eh) ? cJSON_Parse(eh->valuestring) : NULL;
    int own_env = named_once(args); /* wrap_remote(): env was the entry's own */
    int ci = index_of(e, "command");
    /* Both point into args (or env): copied before those go. */
    cJSON *u = cJSON_CreateString(url);
    cJSON *type = transport ? cJSON_CreateString(transport) : NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(e, "args");
    cJSON_DeleteItemFromObjectCaseSensitive(e, "command");
    insert_member(e, ci, "url", u);
    if (type) cJSON_ReplaceItemInObjectCaseSensitive(e, "type", type);
    if (env) {
        cJSON_DeleteItemFromObjectCaseSensitive(env, ENV_HEADERS);
        cJSON_DeleteItemFromObjectCaseSensitive(env, ENV_URL);
        if (cJSON_GetArraySize(env) == 0 && !own_env) {
            int ei = index_of(e, "env");
            cJSON_DeleteItemFromObjectCaseSensitive(e, "env");
            if (headers) insert_member(e, ei, "headers", headers);
            headers = NULL;
        }
    }
    if (headers) cJSON_AddItemToObject(e, "headers", headers);
    return 1;
}

static int is_stdio(const cJSON *e)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
    if (cJSON_GetObjectItemCaseSensitive(e, "url")) return 0;
    /* args that are no array would be lost in the wrapper's own. */
    if (args && !cJSON_IsArray(args)) return 0;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "stdio") != 0) return 0;
    return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "command"));
}

/* Why wrap_entry() leaves e as it is: a static string. */
static const char *skip_reason(const cJSON *e)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
    const char *why;
    if (is_wrapped(e)) return "already wrapped";
    if (url) {
        if (!cJSON_IsString(url)) return "its url is not a string";
        if ((why = remote_clash(e))) return why;
        return "a remote server of a type wrap does not relay (http, sse and "
               "streamable-http are relayed)";
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
    if (args && !cJSON_IsArray(args)) return "its args are not an array";
    if (cJSON_IsString(type) && strcmp(type->valuestring, "stdio") != 0)
        return "not a stdio server, and no url to relay";
    return "neither a command nor a url";
}

/* Wrap entry e named key: 1 changed, 0 skipped, -1 out of memory. */
static int wrap_entry(cJSON *e, const char *key, const char *self)
{
    if (is_wrapped(e)) return 0;
    if (is_remote(e)) return wrap_remote(e, key, self);
    if (!is_stdio(e)) return 0;
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(e, "command");
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(e, "args");
    /* "args": [] and no args at all wrap to one command line; --name=KEY
    ** keeps them apart. */
    cJSON *args = wrap_args(key, old && cJSON_GetArraySize(old) == 0);
    if (!args) return -1;
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
    for (int i = 1; i < n && dash < 0; i++) {
        const cJSON *a = cJSON_GetArrayItem(args, i);
        if (!cJSON_IsString(a)) continue;
        if (strcmp(a->valuestring, "--name") == 0) i++; /* a server named "--" */
        else if (strcmp(a->valuestring, "--") == 0) dash = i;
    }
    if (dash < 0) return unwrap_remote(e);
    if (dash + 1 >= n) return 0;
    const cJSON *cmd = cJSON_GetArrayItem(args, dash + 1);
    if (!cJSON_IsString(cmd)) return 0;
    cJSON *rest = cJSON_CreateArray();
    for (int i = dash + 2; i < n; i++)
        cJSON_AddItemToArray(rest, cJSON_Duplicate(cJSON_GetArrayItem(args, i), 1));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "command", cJSON_CreateString(cmd->valuestring));
    /* wrap_entry() adds args to an entry that had none, and spells the
    ** name --name=KEY for one whose args were empty. */
    int had_args = named_once(args);
    if (cJSON_GetArraySize(rest) == 0 && !had_args) {
        cJSON_Delete(rest);
        cJSON_DeleteItemFromObjectCaseSensitive(e, "args");
    } else {
        cJSON_ReplaceItemInObjectCaseSensitive(e, "args", rest);
    }
    return 1;
}

/* Rewrite every entry of a servers object; prints each change (out NULL:
** silently). */
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
            if (out) fprintf(out, "%s %s%s\n", undo ? "unwrapped" : "wrapped", where, e->string);
            changed++;
        } else if (!undo && out) {
            fprintf(out, "skipped %s%s (%s)\n", where, e->string,
                    skip_reason(e));
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

/* Replace path by text[0..n) (and a newline when nl), through a rename. */
static int write_bytes(const char *path, const char *text, size_t n, int nl, mode_t mode,
                       char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.dss-audit-tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n || (nl && write(fd, "\n", 1) != 1) ||
        fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) unlink(tmp);
        return -1;
    }
    return 0;
}

static int write_file(const char *path, const char *text, mode_t mode, char *err,
                      size_t errlen)
{
    return write_bytes(path, text, strlen(text), 1, mode, err, errlen);
}

/* Rewrite every servers object of a client's configuration (Claude Code
** also keeps them per project): the count of entries changed, or -1 when
** memory ran out.  out NULL: no messages. */
static int rewrite_root(cJSON *root, const char *client, int undo, const char *self,
                        FILE *out)
{
    const char *key = strcmp(client, "vscode") == 0 ? "servers" : "mcpServers";
    int changed = 0, r;
    cJSON *servers = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsObject(servers)) {
        if ((r = rewrite(servers, "", undo, self, out)) < 0) return -1;
        changed += r;
    }
    cJSON *projects = cJSON_GetObjectItemCaseSensitive(root, "projects");
    if (strcmp(client, "claude-code") == 0 && cJSON_IsObject(projects)) {
        cJSON *p;
        cJSON_ArrayForEach(p, projects) {
            cJSON *ps = cJSON_GetObjectItemCaseSensitive(p, "mcpServers");
            if (!cJSON_IsObject(ps) || !p->string) continue;
            char where[PATH_MAX];
            snprintf(where, sizeof where, "%s: ", p->string);
            if ((r = rewrite(ps, where, undo, self, out)) < 0) return -1;
            changed += r;
        }
    }
    return changed;
}

/* The newest backup of path that this command would turn into text[0..n)
** exactly: its bytes (caller frees, *bn its length), or NULL. */
static char *matching_backup(const char *path, const char *client, const char *self,
                             const char *text, size_t n, size_t *bn, char *name,
                             size_t namelen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    char prefix[PATH_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s.", base);
    if (slash) *slash = '\0';
    DIR *d = opendir(slash ? (*dir ? dir : "/") : ".");
    if (!d) return NULL;
    char best[2 * PATH_MAX] = "";
    char *found = NULL;
    struct dirent *e;
    /* Newest first: the names carry a UTC time that sorts as text. */
    char (*names)[256] = NULL;
    size_t count = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || l < 4 ||
            strcmp(e->d_name + l - 4, ".bak") != 0 || l >= 256)
            continue;
        char (*nn)[256] = realloc(names, (count + 1) * sizeof *names);
        if (!nn) break;
        names = nn;
        snprintf(names[count++], 256, "%s", e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++)
            if (strcmp(names[j], names[i]) > 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
    for (size_t i = 0; i < count && !found; i++) {
        char bp[2 * PATH_MAX];
        snprintf(bp, sizeof bp, "%s/%s", slash ? (*dir ? dir : "") : ".", names[i]);
        char ignore[256];
        size_t len;
        char *b = fs_read_all(bp, SIZE_MAX - 1, &len, ignore, sizeof ignore);
        cJSON *root = b ? cJSON_ParseWithLength(b, len) : NULL;
        char *printed = NULL;
        if (cJSON_IsObject(root) && rewrite_root(root, client, 0, self, NULL) > 0 &&
            (printed = cJSON_Print(root)) && strlen(printed) + 1 == n &&
            memcmp(printed, text, n - 1) == 0 && text[n - 1] == '\n') {
            found = b;
            *bn = len;
            snprintf(best, sizeof best, "%s", bp);
        } else {
            free(b);
        }
        cJSON_free(printed);
        cJSON_Delete(root);
    }
    free(names);
    snprintf(name, namelen, "%s", best);
    return found;
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
    if (!(text = fs_read_all(path, SIZE_MAX - 1, &n, err, errlen))) goto done;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        int line, col;
        line_col(text, end ? (size_t)(end - text) : 0, &line, &col);
        snprintf(err, errlen, "%s is malformed at line %d, column %d%s; left untouched",
                 path, line, col, root ? " (not a JSON object)" : "");
        goto done;
    }
    /* cJSON also takes what JSON is not (text after the object, a raw
    ** control character or NUL in a string, invalid UTF-8), and what it
    ** would write back would have lost it. */
    char why[160];
    if (jsoncheck(text, n, 256, why, sizeof why) != JSONCHECK_OK) {
        snprintf(err, errlen, "%s is malformed (%s); left untouched", path, why);
        goto done;
    }
    int changed = rewrite_root(root, client, undo, self, out);
    if (changed < 0) goto oom;
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
    /* An undo of our own rewrite puts the original bytes back. */
    size_t bn = 0;
    char bname[2 * PATH_MAX];
    char *orig = undo ? matching_backup(path, client, self, text, n, &bn, bname, sizeof bname)
                      : NULL;
    if (orig) {
        int wrc = write_bytes(path, orig, bn, 0, mode, err, errlen);
        free(orig);
        if (wrc != 0) goto done;
        fprintf(out, "%s is back to its bytes before wrap-config (from %s)\n", path, bname);
        rc = CLI_OK;
        goto done;
    }
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
