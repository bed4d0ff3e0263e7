/*
** main.c: the command line of dss-audit-mcp.
**
** Configuration is resolved once here, in the order flags, then DSS_AUDIT_*
** environment variables, then defaults, and handed down as plain values: no
** module below reads the environment or calls exit().  Usage errors and an
** unusable database end the program with a message on stderr and a non-zero
** status before anything is written to stdout.
*/
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/mcp.h"
#include "server.h"
#include "store/chain.h"
#include "store/store.h"
#include "util/diag.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { EXIT_USAGE = 2 };

typedef struct config {
    char *db;
    char *actor;
    size_t max_message_bytes;
    int max_depth;
} config;

static const char usage_text[] =
    "Usage: dss-audit-mcp [serve] [OPTIONS]\n"
    "\n"
    "An MCP server (JSON-RPC over stdio) that keeps a tamper-evident,\n"
    "append-only audit trail of what AI agents do, in SQLite.\n"
    "\n"
    "Options:\n"
    "  --db PATH               audit database (env DSS_AUDIT_DB; default\n"
    "                          $XDG_DATA_HOME/dss-audit/audit.db)\n"
    "  --actor NAME            who the session acts for, the default user_id\n"
    "                          (env DSS_AUDIT_ACTOR; default: your login name)\n"
    "  --max-message-bytes N   longest accepted message (env\n"
    "                          DSS_AUDIT_MAX_MESSAGE_BYTES; default 4194304)\n"
    "  --max-depth N           deepest accepted JSON nesting (env\n"
    "                          DSS_AUDIT_MAX_DEPTH; default 64)\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Messages go to stdout only as protocol replies; diagnostics go to stderr.\n";

/* A new string "<base>/<rest>", or NULL. Caller frees. */
static char *join(const char *base, const char *rest)
{
    size_t n = strlen(base) + strlen(rest) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", base, rest);
    return s;
}

static const char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(geteuid());
    return pw ? pw->pw_dir : "/";
}

/* The default database path. Caller frees. */
static char *default_db(void)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/') return join(xdg, "dss-audit/audit.db");
    return join(home_dir(), ".local/share/dss-audit/audit.db");
}

/* The operating system's name for whoever runs us. Caller frees. */
static char *login_name(void)
{
    char buf[256];
    if (getlogin_r(buf, sizeof buf) == 0 && buf[0]) return strdup(buf);
    struct passwd *pw = getpwuid(geteuid());
    return strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

static int parse_size(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void free_config(config *c)
{
    free(c->db);
    free(c->actor);
}

/* Fill c from argv and the environment. Returns 0, 1 when the program
** should exit successfully (help, version), or EXIT_USAGE. */
static int parse_args(int argc, char **argv, config *c)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"actor", required_argument, NULL, 'a'},
        {"max-message-bytes", required_argument, NULL, 'm'},
        {"max-depth", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *db = getenv("DSS_AUDIT_DB"), *actor = getenv("DSS_AUDIT_ACTOR");
    const char *maxmsg = getenv("DSS_AUDIT_MAX_MESSAGE_BYTES");
    const char *maxdepth = getenv("DSS_AUDIT_MAX_DEPTH");
    /* An empty variable counts as unset: bundles pass optional settings as
    ** empty strings. */
    if (db && !*db) db = NULL;
    if (actor && !*actor) actor = NULL;
    if (maxmsg && !*maxmsg) maxmsg = NULL;
    if (maxdepth && !*maxdepth) maxdepth = NULL;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (o) {
        case 'd': db = optarg; break;
        case 'a': actor = optarg; break;
        case 'm': maxmsg = optarg; break;
        case 'n': maxdepth = optarg; break;
        case 'h': fputs(usage_text, stdout); return 1;
        case 'V': printf("dss-audit-mcp %s\n", DSS_VERSION); return 1;
        default:
            if (optopt) diag("option -%c is unknown or needs a value", optopt);
            else diag("option %s is unknown or needs a value", argv[optind - 1]);
            fputs("Try 'dss-audit-mcp --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc && strcmp(argv[optind], "serve") == 0) optind++;
    if (optind < argc) {
        diag("unexpected argument '%s'", argv[optind]);
        fputs("Try 'dss-audit-mcp --help'.\n", stderr);
        return EXIT_USAGE;
    }
    long long v;
    c->max_message_bytes = 4u << 20;
    c->max_depth = 64;
    if (maxmsg) {
        if (parse_size(maxmsg, 64, 1LL << 30, &v) != 0) {
            diag("--max-message-bytes must be an integer from 64 to 1073741824");
            return EXIT_USAGE;
        }
        c->max_message_bytes = (size_t)v;
    }
    if (maxdepth) {
        if (parse_size(maxdepth, 2, 1024, &v) != 0) {
            diag("--max-depth must be an integer from 2 to 1024");
            return EXIT_USAGE;
        }
        c->max_depth = (int)v;
    }
    if (db && !*db) {
        diag("the database path is empty");
        return EXIT_USAGE;
    }
    if (actor && !*actor) {
        diag("the actor name is empty");
        return EXIT_USAGE;
    }
    c->db = db ? strdup(db) : default_db();
    c->actor = actor ? strdup(actor) : login_name();
    if (!c->db || !c->actor) {
        diag("out of memory");
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    config c = {0};
    store *st = NULL;
    mcp *m = NULL;
    int status = EXIT_FAILURE;
    char err[STORE_ERRLEN];

    /* Everything this program creates (database, WAL, keys) is private. */
    umask(077);
    int rc = parse_args(argc, argv, &c);
    if (rc == 1) status = EXIT_SUCCESS;
    if (rc != 0) {
        if (rc == EXIT_USAGE) status = EXIT_USAGE;
        goto done;
    }
    if (chain_init() != 0) {
        diag("libsodium failed to initialize");
        goto done;
    }
    store_options so = {.path = c.db};
    if (store_open(&so, &st, err) != STORE_OK) {
        diag("cannot open the audit database %s: %s", c.db, err);
        goto done;
    }
    mcp_options mo = {.st = st, .actor = c.actor,
                      .limits = {.max_depth = c.max_depth}};
    if (!(m = mcp_new(&mo, err, sizeof err))) {
        diag("cannot start: %s", err);
        goto done;
    }
    server_options sv = {.in_fd = 0, .out_fd = 1,
                         .max_message_bytes = c.max_message_bytes};
    status = server_run(m, st, &sv) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
done:
    mcp_free(m);
    store_close(st);
    free_config(&c);
    return status;
}
