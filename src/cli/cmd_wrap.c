/*
** cmd_wrap.c: `wrap`, which relays an MCP server and records what passes
** (src/relay): a stdio server it starts, or a remote one it reaches over
** HTTP with --url (src/remote, src/auth); and `wrap-config`, which points
** a client's MCP configuration at it (cli_wrapconfig.c).
*/
#include "cmd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../auth/oauth.h"
#include "../record/record.h"
#include "../relay/relay.h"
#include "../remote/httpc.h"
#include "../util/diag.h"
#include "../util/wipe.h"
#include "cli.h"

/* ---- wrap --------------------------------------------------------------- */

typedef struct wrap_opts {
    const char *name, *results, *kill_after;
    int fail_open;
    /* --url and what only applies with it */
    const char *url, *transport, *auth, *open_with, *client_id_url;
    cmd_secrets header;
    record_results record_results; /* from results */
    int kill_after_s;              /* from kill_after; 5 by default */
    const char *the_url;           /* --url, else DSS_AUDIT_URL */
    remote_kind kind;              /* from transport */
    int no_auth;                   /* --auth none */
    cmd_ship_opts ship;
} wrap_opts;

static const cmd_option wrap_option_table[] = {
    {"name", 0, CMD_STRING, offsetof(wrap_opts, name)},
    {"record-results", 0, CMD_STRING, offsetof(wrap_opts, results)},
    {"fail-open", 0, CMD_FLAG, offsetof(wrap_opts, fail_open)},
    {"kill-after", 0, CMD_STRING, offsetof(wrap_opts, kill_after)},
    CMD_SHIP_OPTIONS(wrap_opts, ship),
    {"url", 0, CMD_STRING, offsetof(wrap_opts, url)},
    {"header", 0, CMD_SECRETS, offsetof(wrap_opts, header)},
    {"transport", 0, CMD_STRING, offsetof(wrap_opts, transport)},
    {"auth", 0, CMD_STRING, offsetof(wrap_opts, auth)},
    {"open-with", 0, CMD_STRING, offsetof(wrap_opts, open_with)},
    {"client-id-url", 0, CMD_STRING, offsetof(wrap_opts, client_id_url)},
    {NULL, 0, 0, 0},
};

/* Headers the transport sets itself (remote.h): a user's would break it. */
static int reserved_header(const char *name, size_t n)
{
    static const char *const own[] = {"accept", "content-type", "content-length", "host",
                                      "last-event-id", "transfer-encoding", "connection"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (strlen(own[i]) == n && strncasecmp(name, own[i], n) == 0) return 1;
    return n >= 4 && strncasecmp(name, "mcp-", 4) == 0;
}

/* Append the line "name: value" to lines (NULL: only check).  A sentence
** naming the header, never its value, when it cannot be sent. */
static int add_header(char **lines, int *n, const char *name, size_t nl, const char *value,
                      const char *from, char *err, size_t errlen)
{
    while (*value == ' ' || *value == '\t') value++;
    size_t vl = strlen(value);
    while (vl && (value[vl - 1] == ' ' || value[vl - 1] == '\t')) vl--;
    if (!httpc_token_ok(name, nl)) {
        snprintf(err, errlen, "%s: a header needs a name of letters, digits and !#$%%&'*+-.^_`|~",
                 from);
        return CMD_EUSAGE;
    }
    if (reserved_header(name, nl)) {
        snprintf(err, errlen, "%s: the header %.*s is the transport's own and cannot be set",
                 from, (int)nl, name);
        return CMD_EUSAGE;
    }
    if (!vl || !httpc_header_safe(value, vl)) {
        snprintf(err, errlen, "%s: the value of the header %.*s must be printable ASCII (not shown)",
                 from, (int)nl, name);
        return CMD_EUSAGE;
    }
    if (*n >= 2 * CMD_MAX_REPEAT) {
        snprintf(err, errlen, "too many headers (at most %d)", 2 * CMD_MAX_REPEAT);
        return CMD_EUSAGE;
    }
    if (lines) {
        size_t len = nl + vl + 3;
        if (!(lines[*n] = malloc(len))) {
            snprintf(err, errlen, "out of memory");
            return CMD_EUSAGE;
        }
        snprintf(lines[*n], len, "%.*s: %.*s", (int)nl, name, (int)vl, value);
    }
    (*n)++;
    return CMD_OK;
}

/* The header lines of --header and DSS_AUDIT_HEADERS (a JSON object of
** names and string values, as wrap-config writes it) into lines (2 *
** CMD_MAX_REPEAT slots, or NULL to check only).  CMD_OK with *n set, or
** CMD_EUSAGE with a sentence that never quotes a value. */
static int header_lines(const cmd_ctx *cx, char **lines, int *n, char *err, size_t errlen)
{
    const wrap_opts *o = cx->opts;
    int rc = CMD_OK;
    *n = 0;
    for (int i = 0; i < o->header.n && rc == CMD_OK; i++) {
        const char *h = o->header.v[i], *colon = strchr(h, ':');
        if (!colon) {
            snprintf(err, errlen, "--header must be 'Name: value'");
            return CMD_EUSAGE;
        }
        rc = add_header(lines, n, h, (size_t)(colon - h), colon + 1, "--header", err, errlen);
    }
    const char *env = cx->env->remote_headers;
    if (rc != CMD_OK || !env || !*env) return rc;
    cJSON *j = cJSON_Parse(env);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(err, errlen, "DSS_AUDIT_HEADERS must be a JSON object of header names and "
                              "values (its text is not shown)");
        return CMD_EUSAGE;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (rc != CMD_OK) break;
        if (!cJSON_IsString(e)) {
            snprintf(err, errlen, "DSS_AUDIT_HEADERS: the value of %s is not a string", e->string);
            rc = CMD_EUSAGE;
            break;
        }
        rc = add_header(lines, n, e->string, strlen(e->string), e->valuestring,
                        "DSS_AUDIT_HEADERS", err, errlen);
    }
    cJSON_Delete(j);
    return rc;
}

static void free_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++) wipe_free_str(lines[i]);
}

/* --url's own checks; the options that apply only with it refused
** without it. */
static int wrap_check_url(cmd_ctx *cx, char *err, size_t errlen)
{
    wrap_opts *o = cx->opts;
    o->the_url = o->url ? o->url : cx->env->remote_url;
    if (o->the_url && !*o->the_url) o->the_url = NULL;
    if (!o->the_url) {
        const char *only = o->header.n ? "--header" : o->transport ? "--transport"
                           : o->auth ? "--auth" : o->open_with ? "--open-with"
                           : o->client_id_url ? "--client-id-url" : NULL;
        if (only) {
            snprintf(err, errlen, "%s applies only with --url", only);
            return CMD_EUSAGE;
        }
        if (cx->n_operands == 0) {
            snprintf(err, errlen, "wrap needs the server's command (wrap [OPTIONS] -- COMMAND "
                                  "[ARGS...]) or --url URL");
            return CMD_EUSAGE;
        }
        return CMD_OK;
    }
    if (cx->n_operands) {
        snprintf(err, errlen, "wrap takes --url URL or -- COMMAND [ARGS...], not both");
        return CMD_EUSAGE;
    }
    if (strncasecmp(o->the_url, "https://", 8) != 0 && strncasecmp(o->the_url, "http://", 7) != 0) {
        snprintf(err, errlen, "the URL%s must start with https:// or http://",
                 o->url ? "" : " of DSS_AUDIT_URL");
        return CMD_EUSAGE;
    }
    char *shown = httpc_redact_url(o->the_url);
    int parsed = shown != NULL;
    free(shown);
    if (!parsed) {
        snprintf(err, errlen, "the URL%s cannot be parsed", o->url ? "" : " of DSS_AUDIT_URL");
        return CMD_EUSAGE;
    }
    const char *t = o->transport;
    o->kind = REMOTE_AUTO;
    if (t && (strcmp(t, "streamable-http") == 0 || strcmp(t, "http") == 0)) o->kind = REMOTE_STREAMABLE;
    else if (t && strcmp(t, "sse") == 0) o->kind = REMOTE_SSE;
    else if (t && strcmp(t, "auto") != 0) {
        snprintf(err, errlen, "--transport must be streamable-http (or http), sse or auto");
        return CMD_EUSAGE;
    }
    if (o->auth && strcmp(o->auth, "auto") != 0 && strcmp(o->auth, "none") != 0) {
        snprintf(err, errlen, "--auth must be auto or none");
        return CMD_EUSAGE;
    }
    o->no_auth = o->auth && strcmp(o->auth, "none") == 0;
    int n;
    return header_lines(cx, NULL, &n, err, errlen);
}

static int wrap_check(cmd_ctx *cx, char *err, size_t errlen)
{
    wrap_opts *o = cx->opts;
    long long ka = 5;
    int rc = wrap_check_url(cx, err, errlen);
    if (rc != CMD_OK) return rc;
    if (o->results && record_results_parse(o->results, &o->record_results) != 0) {
        snprintf(err, errlen, "--record-results must be summary, full or none");
        return CMD_EUSAGE;
    }
    if (o->kill_after && cmd_parse_int(o->kill_after, 0, 3600, &ka) != 0) {
        snprintf(err, errlen, "--kill-after must be a number of seconds from 0 to 3600");
        return CMD_EUSAGE;
    }
    o->kill_after_s = (int)ka;
    return cmd_ship_check(cx, &o->ship, err, errlen);
}

/* Relay to the wrapped server; its exit status becomes ours. */
static int wrap_run(cmd_ctx *cx)
{
    wrap_opts *o = cx->opts;
    const cmd_common *c = &cx->common;
    char err[CMD_ERRLEN];
    char *lines[2 * CMD_MAX_REPEAT], *dir = NULL;
    int nlines = 0, status = 127;
    oauth *auth = NULL;
    store_options so = cmd_store_options(cx, c->read_only);
    relay_options ro = {.argv = cx->operands, .path = cx->env->path,
                        .envp = cx->env->environ, .so = &so, .name = o->name,
                        .actor = c->actor, .results = o->record_results,
                        .fail_open = o->fail_open, .kill_after_s = o->kill_after_s,
                        .max_message_bytes = c->max_message_bytes,
                        .max_depth = c->max_depth, .in_fd = 0, .out_fd = 1,
                        .watch = cmd_ship_watch(&o->ship)};
    if (o->the_url) {
        if (header_lines(cx, lines, &nlines, err, sizeof err) != CMD_OK) goto fail;
        if (!o->no_auth) {
            if (!(dir = cmd_config_dir(cx->env))) {
                snprintf(err, sizeof err, "out of memory");
                goto fail;
            }
            oauth_options ao = {.server_url = o->the_url, .config_dir = dir,
                                .open_with = o->open_with,
                                .no_browser = cx->env->display == NULL,
                                .client_id_url = o->client_id_url};
            if (!(auth = oauth_new(&ao, err, sizeof err))) goto fail;
        }
        ro.argv = NULL;
        ro.url = o->the_url;
        ro.headers = (const char *const *)lines;
        ro.nheaders = (size_t)nlines;
        ro.kind = o->kind;
        ro.auth = auth;
    }
    status = relay_run(&ro, err, sizeof err);
    if (status < 0) {
        status = 127;
        goto fail;
    }
    goto done;
fail:
    diag("wrap: %s", err);
done:
    cmd_ship_free(&o->ship);
    oauth_free(auth);
    free(dir);
    free_lines(lines, nlines);
    return status;
}

const cmd_spec cmd_wrap = {
    .options = wrap_option_table,
    .opts_size = sizeof(wrap_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_ACTOR | CMD_OPT_CONFIG |
              CMD_OPT_MAX_MESSAGE_BYTES | CMD_OPT_MAX_DEPTH | CMD_OPT_MAX_DB_SIZE |
              CMD_OPT_READ_ONLY,
    /* What follows the first operand is the server's command line. */
    .operands = CMD_OPERANDS_END_OPTIONS,
    .check = wrap_check,
    .run = wrap_run,
};

/* ---- wrap-config -------------------------------------------------------- */

typedef struct wrap_config_opts {
    const char *client, *file;
    int undo;
} wrap_config_opts;

static const cmd_option wrap_config_option_table[] = {
    {"client", 0, CMD_STRING, offsetof(wrap_config_opts, client)},
    {"file", 0, CMD_STRING, offsetof(wrap_config_opts, file)},
    {"undo", 0, CMD_FLAG, offsetof(wrap_config_opts, undo)},
    {NULL, 0, 0, 0},
};

/* Entries are pointed at this very binary, by absolute path, since
** clients seldom start servers with the user's PATH. */
static int wrap_config_run(cmd_ctx *cx)
{
    const wrap_config_opts *o = cx->opts;
    char self[4096], err[CLI_ERRLEN];
    cmd_self_path(self, sizeof self);
    cli_wrap_where where = {.home = cx->env->home,
                            .xdg_config_home = cx->env->xdg_config_home};
    int rc = cli_wrap_config(o->client, o->file, o->undo, self, &where, stdout, err,
                             sizeof err);
    if (rc == CLI_OK) return EXIT_SUCCESS;
    diag("wrap-config: %s", err);
    return rc == CLI_EUSAGE ? 2 : EXIT_FAILURE;
}

const cmd_spec cmd_wrap_config = {
    .options = wrap_config_option_table,
    .opts_size = sizeof(wrap_config_opts),
    .run = wrap_config_run,
};
