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
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_help.h"
#include "hook/hook.h"
#include "hook/install.h"
#include "integrity/archive.h"
#include "integrity/checkpoint.h"
#include "integrity/signer.h"
#include "integrity/verify.h"
#include "protocol/mcp.h"
#include "record/record.h"
#include "relay/relay.h"
#include "scrub/scrub.h"
#include "server.h"
#include "ship/ship.h"
#include "store/chain.h"
#include "store/store.h"
#include "util/diag.h"
#include "viewer/viewer_http.h"
#include "viewer/viewer_report.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { EXIT_USAGE = 2 };

typedef enum command {
    CMD_SERVE, CMD_VERIFY, CMD_CHECKPOINT, CMD_PUBLIC_KEY, CMD_PRUNE,
    CMD_TAIL, CMD_QUERY, CMD_STATS, CMD_EXPORT, CMD_UI, CMD_REPORT, CMD_WRAP,
    CMD_WRAP_CONFIG, CMD_HOOK, CMD_HOOKS, CMD_SHIP, CMD_MIGRATE
} command;

/* getopt_long values of options that have no short form. */
enum {
    OPT_MAX_DEPTH = 256, OPT_USER, OPT_PROJECT, OPT_EVENT_TYPE,
    OPT_OPERATION_NAME, OPT_SINCE, OPT_UNTIL, OPT_SEARCH, OPT_LIMIT,
    OPT_FORMAT, OPT_JSON, OPT_LISTEN, OPT_OPEN, OPT_SERVER, OPT_SESSION, OPT_NAME, OPT_RECORD_RESULTS, OPT_FAIL_OPEN,
    OPT_KILL_AFTER, OPT_CLIENT, OPT_FILE, OPT_UNDO, OPT_FAIL_CLOSED,
    OPT_RECORD_PROMPTS, OPT_SCOPE, OPT_LOG, OPT_TO, OPT_TRUSTED_KEYS
};

typedef struct config {
    command cmd;
    const char *cmd_name;        /* as given; NULL when none was */
    char *db;
    char db_shown[512];  /* db as printed: a PostgreSQL password masked */
    const char *log;    /* --log: the log written (serve, wrap, hook), or read */
    char *ship_to;      /* ship --to (its password wiped from argv) */
    char ship_to_shown[512];
    int ship_follow;    /* ship --follow */
    const char *log_arg;/* --log as given on the command line (verify), or NULL */
    const char *trusted_keys_file; /* verify --trusted-keys */
    char *actor;
    char *key;
    char *config;       /* redaction rules file, or NULL */
    int config_given;   /* named by --config: it must exist */
    size_t max_message_bytes;
    int max_depth;
    long long checkpoint_interval;
    long long max_db_size;
    int read_only;
    const char *checkpoint_file; /* verify --checkpoint */
    const char *public_key_file; /* verify, ui, report --public-key */
    const char *archives[16];    /* verify --archive (repeatable), prune --archive */
    int n_archives;
    const char *before;          /* prune --before */
    const char *listen;          /* ui --listen */
    int open_browser;            /* ui --open */
    cli_args cli;                /* tail, query, stats, export */
    /* wrap */
    const char *wrap_name;       /* --name */
    record_results record_results;
    int fail_open;
    int kill_after;
    char **wrap_argv;            /* the server's command, NULL-ended */
    /* wrap-config */
    const char *client, *file;
    int undo;
    int actor_given;             /* by --actor or DSS_AUDIT_ACTOR */
    hook_options hook;           /* hook */
    int hook_option;             /* a hook-only option was given */
    hookinst_options inst;       /* hooks install|uninstall */
    int install;                 /* hooks: 1 install, 0 uninstall */
    int inst_option;             /* --scope or --file was given */
    int client_given;            /* --client (hook and hooks) */
} config;

/* Every help text (the program's, each command's, and the manual page
** built from them) lives in src/cli/cli_help.c. */

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

/* rest under the XDG base folder named by var when it is an absolute
** path (as the XDG spec requires), else under ~/fallback.  Caller frees. */
static char *xdg_path(const char *var, const char *fallback, const char *rest)
{
    const char *xdg = getenv(var);
    if (xdg && *xdg == '/') return join(xdg, rest);
    char *base = join(home_dir(), fallback);
    char *path = base ? join(base, rest) : NULL;
    free(base);
    return path;
}

/* The default database path. Caller frees. */
static char *default_db(void)
{
    return xdg_path("XDG_DATA_HOME", ".local/share", "dss-audit/audit.db");
}

/* The default redaction config path. Caller frees. */
static char *default_config(void)
{
    return xdg_path("XDG_CONFIG_HOME", ".config", "dss-audit/config.json");
}

/* Load the redaction rules: a named file must exist; the default one is
** used when present.  Refuses a file other users may write, since it
** decides what is redacted.  Returns 0, or -1 after printing why. */
static int load_config(const config *c)
{
    struct stat st;
    if (stat(c->config, &st) != 0) {
        if (!c->config_given && errno == ENOENT) return 0;
        diag("cannot read the config file %s: %s", c->config, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        diag("%s is writable by other users; refusing it (run chmod 600 on it)",
             c->config);
        return -1;
    }
    char err[256];
    if (scrub_load_config(c->config, err, sizeof err) != 0) {
        diag("config file %s: %s", c->config, err);
        return -1;
    }
    return 0;
}

/* The default signing key path. Caller frees. */
static char *default_key(void)
{
    return xdg_path("XDG_CONFIG_HOME", ".config", "dss-audit/signing.key");
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
    free(c->ship_to);
    free(c->actor);
    free(c->key);
    free(c->config);
}

static const struct {
    const char *name;
    command cmd;
} commands[] = {
    {"serve", CMD_SERVE}, {"verify", CMD_VERIFY}, {"checkpoint", CMD_CHECKPOINT},
    {"public-key", CMD_PUBLIC_KEY}, {"prune", CMD_PRUNE},
    {"tail", CMD_TAIL}, {"query", CMD_QUERY}, {"stats", CMD_STATS},
    {"export", CMD_EXPORT}, {"ui", CMD_UI}, {"report", CMD_REPORT},
    {"wrap", CMD_WRAP}, {"hook", CMD_HOOK}, {"hooks", CMD_HOOKS},
    {"wrap-config", CMD_WRAP_CONFIG}, {"ship", CMD_SHIP},
    {"migrate", CMD_MIGRATE},
};

/* Point a person who made a usage mistake at the right help. */
static void try_help(const config *c)
{
    fprintf(stderr, "Try 'dss-audit-mcp %s%s--help'.\n", c->cmd_name ? c->cmd_name : "",
            c->cmd_name ? " " : "");
}

/* Fill c from argv and the environment. Returns 0, 1 when the program
** should exit successfully (help, version), or EXIT_USAGE. */
static int parse_args(int argc, char **argv, config *c)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"actor", required_argument, NULL, 'a'},
        {"key", required_argument, NULL, 'k'},
        {"max-message-bytes", required_argument, NULL, 'm'},
        {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
        {"checkpoint-interval", required_argument, NULL, 'i'},
        {"checkpoint", required_argument, NULL, 'c'},
        {"public-key", required_argument, NULL, 'p'},
        {"archive", required_argument, NULL, 'r'},
        {"before", required_argument, NULL, 'b'},
        {"read-only", no_argument, NULL, 'R'},
        {"max-db-size", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"lines", required_argument, NULL, 'n'},
        {"follow", no_argument, NULL, 'f'},
        {"user", required_argument, NULL, OPT_USER},
        {"project", required_argument, NULL, OPT_PROJECT},
        {"event-type", required_argument, NULL, OPT_EVENT_TYPE},
        {"operation-name", required_argument, NULL, OPT_OPERATION_NAME},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"search", required_argument, NULL, OPT_SEARCH},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"server", required_argument, NULL, OPT_SERVER},
        {"session", required_argument, NULL, OPT_SESSION},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"open", no_argument, NULL, OPT_OPEN},
        {"name", required_argument, NULL, OPT_NAME},
        {"record-results", required_argument, NULL, OPT_RECORD_RESULTS},
        {"fail-open", no_argument, NULL, OPT_FAIL_OPEN},
        {"kill-after", required_argument, NULL, OPT_KILL_AFTER},
        {"client", required_argument, NULL, OPT_CLIENT},
        {"file", required_argument, NULL, OPT_FILE},
        {"undo", no_argument, NULL, OPT_UNDO},
        {"fail-closed", no_argument, NULL, OPT_FAIL_CLOSED},
        {"record-prompts", no_argument, NULL, OPT_RECORD_PROMPTS},
        {"scope", required_argument, NULL, OPT_SCOPE},
        {"log", required_argument, NULL, OPT_LOG},
        {"to", required_argument, NULL, OPT_TO},
        {"trusted-keys", required_argument, NULL, OPT_TRUSTED_KEYS},
        {NULL, 0, NULL, 0},
    };
    const char *db = getenv("DSS_AUDIT_DB"), *actor = getenv("DSS_AUDIT_ACTOR");
    const char *key = getenv("DSS_AUDIT_KEY");
    const char *log = getenv("DSS_AUDIT_LOG");
    const char *maxmsg = getenv("DSS_AUDIT_MAX_MESSAGE_BYTES");
    const char *maxdepth = getenv("DSS_AUDIT_MAX_DEPTH");
    const char *interval = getenv("DSS_AUDIT_CHECKPOINT_INTERVAL");
    const char *maxsize = getenv("DSS_AUDIT_MAX_DB_SIZE");
    const char *ro = getenv("DSS_AUDIT_READ_ONLY");
    if (maxsize && !*maxsize) maxsize = NULL;
    c->read_only = ro && *ro && strcmp(ro, "0") != 0;
    if (key && !*key) key = NULL;
    if (interval && !*interval) interval = NULL;
    c->cmd = CMD_SERVE;
    if (argc > 1 && argv[1][0] != '-') {
        size_t i, n = sizeof commands / sizeof *commands;
        for (i = 0; i < n && strcmp(argv[1], commands[i].name) != 0; i++) {}
        if (i == n) {
            diag("unknown command '%s'", argv[1]);
            fputs("Try 'dss-audit-mcp --help'.\n", stderr);
            return EXIT_USAGE;
        }
        c->cmd = commands[i].cmd;
        c->cmd_name = commands[i].name;
        argv++;
        argc--;
    }
    /* An empty variable counts as unset: bundles pass optional settings as
    ** empty strings. */
    if (db && !*db) db = NULL;
    if (actor && !*actor) actor = NULL;
    if (maxmsg && !*maxmsg) maxmsg = NULL;
    if (maxdepth && !*maxdepth) maxdepth = NULL;
    int o;
    const char *results_word = NULL, *kill_after = NULL;
    int wrap_opts = 0, config_opts = 0;
    char *db_arg = NULL; /* --db's text in argv, whose password is wiped */
    opterr = 0;
    /* wrap stops at the first non-option: what follows is the server's. */
    const char *shorts = c->cmd == CMD_WRAP ? "+hVn:fo:" : "hVn:fo:";
    while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        switch (o) {
        case 'd': db = db_arg = optarg; break;
        case OPT_LOG: log = c->log_arg = optarg; break;
        case OPT_TRUSTED_KEYS: c->trusted_keys_file = optarg; break;
        case OPT_TO:
            free(c->ship_to);
            c->ship_to = strdup(optarg);
            store_wipe_password(optarg);
            break;
        case 'a': actor = optarg; break;
        case 'k': key = optarg; break;
        case 'i': interval = optarg; break;
        case 'c': c->checkpoint_file = optarg; break;
        case 'p': c->public_key_file = optarg; break;
        case 'b': c->before = optarg; break;
        case 'R': c->read_only = 1; break;
        case 'C':
            free(c->config);
            c->config = strdup(optarg);
            c->config_given = 1;
            break;
        case 's': maxsize = optarg; break;
        case 'r':
            if (c->n_archives == (int)(sizeof c->archives / sizeof *c->archives)) {
                diag("too many --archive options");
                return EXIT_USAGE;
            }
            c->archives[c->n_archives++] = optarg;
            break;
        case 'm': maxmsg = optarg; break;
        case OPT_MAX_DEPTH: maxdepth = optarg; break;
        case 'n': c->cli.lines = optarg; break;
        case 'f': c->cli.follow = 1; break;
        case OPT_USER: c->cli.user = optarg; break;
        case OPT_PROJECT: c->cli.project = optarg; break;
        case OPT_EVENT_TYPE: c->cli.event_type = optarg; break;
        case OPT_OPERATION_NAME: c->cli.operation_name = optarg; break;
        case OPT_SINCE: c->cli.since = optarg; break;
        case OPT_UNTIL: c->cli.until = optarg; break;
        case OPT_SEARCH: c->cli.search = optarg; break;
        case OPT_LIMIT: c->cli.limit = optarg; break;
        case OPT_FORMAT: c->cli.format = optarg; break;
        case 'o': c->cli.output = optarg; break;
        case OPT_JSON: c->cli.json = 1; break;
        case OPT_SERVER: c->cli.server = optarg; break;
        case OPT_SESSION: c->cli.session = optarg; break;
        case OPT_LISTEN: c->listen = optarg; break;
        case OPT_OPEN: c->open_browser = 1; break;
        case OPT_NAME: c->wrap_name = optarg; wrap_opts = 1; break;
        case OPT_RECORD_RESULTS:
            /* wrap's and hook's: the same words, the same meaning. */
            results_word = optarg;
            if (c->cmd == CMD_HOOK) c->hook_option = 1;
            else wrap_opts = 1;
            break;
        case OPT_FAIL_OPEN: c->fail_open = 1; wrap_opts = 1; break;
        case OPT_KILL_AFTER: kill_after = optarg; wrap_opts = 1; break;
        case OPT_CLIENT:
            if (c->cmd != CMD_HOOK && c->cmd != CMD_HOOKS) {
                c->client = optarg; /* wrap-config's client */
                config_opts = 1;
                break;
            }
            c->client_given = 1;
            if (hook_client_parse(optarg, &c->hook.client) != 0) {
                diag("--client must be auto, claude-code, cursor, gemini, copilot or vscode");
                return EXIT_USAGE;
            }
            break;
        case OPT_FILE:
            if (c->cmd == CMD_HOOKS) {
                c->inst_option = 1;
                c->inst.file = optarg;
            } else {
                c->file = optarg;
                config_opts = 1;
            }
            break;
        case OPT_FAIL_CLOSED: c->hook.fail_closed = c->inst.fail_closed = 1; break;
        case OPT_SCOPE:
            c->inst_option = 1;
            if (strcmp(optarg, "user") && strcmp(optarg, "project")) {
                diag("--scope must be user or project");
                return EXIT_USAGE;
            }
            c->inst.project = !strcmp(optarg, "project");
            break;
        case OPT_RECORD_PROMPTS: c->hook_option = c->hook.record_prompts = 1; break;
        case OPT_UNDO: c->undo = 1; config_opts = 1; break;
        case 'h': cli_help_print(stdout, c->cmd_name); return 1;
        case 'V': printf("dss-audit-mcp %s\n", DSS_VERSION); return 1;
        default:
            if (optopt) diag("option -%c is unknown or needs a value", optopt);
            else diag("option %s is unknown or needs a value", argv[optind - 1]);
            try_help(c);
            return EXIT_USAGE;
        }
    }
    if ((wrap_opts && c->cmd != CMD_WRAP) ||
        (config_opts && c->cmd != CMD_WRAP_CONFIG)) {
        diag("an option given does not apply to this command");
        try_help(c);
        return EXIT_USAGE;
    }
    if (c->cmd == CMD_WRAP) {
        if (optind >= argc) {
            diag("wrap needs the server's command: wrap [OPTIONS] -- COMMAND [ARGS...]");
            try_help(c);
            return EXIT_USAGE;
        }
        c->wrap_argv = argv + optind;
        optind = argc;
    }
    if (results_word && record_results_parse(results_word, &c->record_results) != 0) {
        diag("--record-results must be summary, full or none");
        return EXIT_USAGE;
    }
    c->hook.results = c->record_results;
    if (c->cmd == CMD_HOOKS) {
        if (optind + 1 != argc || (strcmp(argv[optind], "install") &&
                                   strcmp(argv[optind], "uninstall"))) {
            diag("hooks needs one action: install or uninstall");
            try_help(c);
            return EXIT_USAGE;
        }
        c->install = !strcmp(argv[optind++], "install");
        c->inst.client = c->hook.client;
        if (!c->inst.client) {
            diag("hooks %s needs --client claude-code, cursor, gemini, copilot or vscode",
                 c->install ? "install" : "uninstall");
            return EXIT_USAGE;
        }
    }
    c->kill_after = 5;
    if (kill_after) {
        long long ka;
        if (parse_size(kill_after, 0, 3600, &ka) != 0) {
            diag("--kill-after must be a number of seconds from 0 to 3600");
            return EXIT_USAGE;
        }
        c->kill_after = (int)ka;
    }
    if (optind < argc) {
        diag("unexpected argument '%s'", argv[optind]);
        try_help(c);
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
    if (maxsize && parse_size(maxsize, 65536, 1LL << 50, &c->max_db_size) != 0) {
        diag("--max-db-size must be a number of bytes, at least 65536");
        return EXIT_USAGE;
    }
    c->checkpoint_interval = 1000;
    if (interval && parse_size(interval, 1, 1LL << 40, &c->checkpoint_interval) != 0) {
        diag("--checkpoint-interval must be a positive integer");
        return EXIT_USAGE;
    }
    if (c->cmd == CMD_PRUNE && (!c->before || c->n_archives != 1)) {
        diag("prune needs --before DATE and one --archive FILE");
        return EXIT_USAGE;
    }
    if (c->cmd == CMD_SHIP) {
        /* -f, --follow is tail's option too: here it keeps shipping. */
        c->ship_follow = c->cli.follow;
        c->cli.follow = 0;
        if (!c->ship_to) {
            diag("ship needs --to, the central PostgreSQL database");
            try_help(c);
            return EXIT_USAGE;
        }
        store_redact_path(c->ship_to, c->ship_to_shown, sizeof c->ship_to_shown);
        if (!store_is_remote(c->ship_to)) {
            diag("ship --to must name a PostgreSQL database (postgres://... or host=...), "
                 "not '%s'", c->ship_to_shown);
            return EXIT_USAGE;
        }
    }
    if ((c->cmd != CMD_SHIP && c->ship_to) ||
        (c->cmd != CMD_VERIFY && c->cmd != CMD_PRUNE && c->n_archives) ||
        (c->cmd != CMD_VERIFY && c->checkpoint_file) ||
        (c->cmd != CMD_VERIFY && c->trusted_keys_file) ||
        (c->cmd != CMD_VERIFY && c->cmd != CMD_UI && c->cmd != CMD_REPORT &&
         c->public_key_file) ||
        (c->cmd != CMD_PRUNE && c->before) ||
        (c->cmd != CMD_HOOK && c->hook_option) ||
        (c->cmd != CMD_HOOKS && c->inst_option) ||
        (c->cmd != CMD_HOOK && c->cmd != CMD_HOOKS &&
         (c->hook.fail_closed || c->client_given)) ||
        (c->cmd != CMD_UI && (c->listen || c->open_browser)) ||
        (!cli_is_command(c->cmd_name) && cli_any_option(&c->cli))) {
        diag("an option given does not apply to this command");
        try_help(c);
        return EXIT_USAGE;
    }
    if (cli_is_command(c->cmd_name)) {
        char why[CLI_ERRLEN];
        if (cli_check(c->cmd_name, &c->cli, why, sizeof why) != CLI_OK) {
            diag("%s: %s", c->cmd_name, why);
            try_help(c);
            return EXIT_USAGE;
        }
    }
    if (db && !*db) {
        diag("the database path is empty");
        return EXIT_USAGE;
    }
    if (key && !*key) {
        diag("the key path is empty");
        return EXIT_USAGE;
    }
    if (actor && !*actor) {
        diag("the actor name is empty");
        return EXIT_USAGE;
    }
    c->db = db ? strdup(db) : default_db();
    /* A PostgreSQL password must not show in `ps`, ours or a wrapped
    ** server's (which would inherit the variable). */
    if (c->db && db_arg) store_wipe_password(db_arg);
    /* The variable's text is wiped where it lies too: /proc/PID/environ
    ** (`ps e`) shows the process's first environment, whatever unsetenv()
    ** did to the list. */
    char *env_db = getenv("DSS_AUDIT_DB");
    if (env_db) {
        char shown[1024];
        store_redact_path(env_db, shown, sizeof shown);
        if (strcmp(shown, env_db) != 0) {
            store_wipe_password(env_db);
            unsetenv("DSS_AUDIT_DB");
        }
    }
    c->log = log && *log ? log : NULL;
    c->cli.log = c->log;
    if (c->db) store_redact_path(c->db, c->db_shown, sizeof c->db_shown);
    c->actor_given = actor != NULL;
    c->actor = actor ? strdup(actor) : login_name();
    c->key = key ? strdup(key) : default_key();
    if (!c->config) {
        const char *env = getenv("DSS_AUDIT_CONFIG");
        c->config_given = env && *env;
        c->config = c->config_given ? strdup(env) : default_config();
    }
    if (!c->db || !c->actor || !c->key || !c->config) {
        diag("out of memory");
        return EXIT_USAGE;
    }
    return 0;
}

static void verify_progress(void *ctx, int64_t done)
{
    (void)ctx;
    fprintf(stderr, "\rverified %lld entries", (long long)done);
}

/* Read and parse a small JSON file. Returns a new tree or NULL with err. */
static cJSON *read_json_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    if (!j) snprintf(err, errlen, "%s is not a JSON checkpoint", path);
    return j;
}

static int print_json(const cJSON *j)
{
    char *text = cJSON_Print(j);
    if (!text) return -1;
    puts(text);
    cJSON_free(text);
    return fflush(stdout) == 0 ? 0 : -1;
}

/* The public key verification trusts: --public-key FILE, else the key
** file's .pub when present, else none (each checkpoint's own).  Sets
** *trusted to pk or NULL; returns 0, or -1 after printing why. */
static int trusted_key(const config *c, char pk[SIGNER_PK_HEX], const char **trusted)
{
    char err[512], path[4096];
    *trusted = NULL;
    if (c->public_key_file) {
        if (signer_read_public(c->public_key_file, pk, err, sizeof err) != 0) {
            diag("%s", err);
            return -1;
        }
        *trusted = pk;
        return 0;
    }
    snprintf(path, sizeof path, "%s.pub", c->key);
    if (access(path, R_OK) == 0 && signer_read_public(path, pk, err, sizeof err) == 0)
        *trusted = pk;
    return 0;
}

/* report: 0 written, 1 failed, 2 usage. */
static int run_report(const config *c, store *st)
{
    char err[CLI_ERRLEN], pk[SIGNER_PK_HEX];
    const cli_args *a = &c->cli;
    store_query q = cli_filter(a);
    viewer_report_options ro = {.filter = &q, .output = a->output, .progress = stderr};
    if (trusted_key(c, pk, &ro.trusted_public_key) != 0) return EXIT_USAGE;
    int rc = viewer_report_write(st, &ro, err, sizeof err);
    if (rc != 0) {
        diag("report: %s", err);
        return rc == -2 ? EXIT_USAGE : EXIT_FAILURE;
    }
    diag("report written to %s", a->output);
    return EXIT_SUCCESS;
}

/* Start the system's opener on url (--open); a failure is only reported. */
static void open_in_browser(const char *url)
{
    extern char **environ;
    pid_t pid;
    char *argv[] = {"xdg-open", (char *)url, NULL};
    posix_spawnattr_t attr;
    sigset_t none;
    /* The opener must not inherit run_ui()'s blocked SIGINT and SIGTERM. */
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (posix_spawnp(&pid, "xdg-open", NULL, &attr, argv, environ) != 0)
        diag("cannot start xdg-open: open the URL above yourself");
    posix_spawnattr_destroy(&attr);
}

/* ui: serve the viewer until SIGINT or SIGTERM.  0 stopped, 2 usage. */
static int run_ui(const config *c)
{
    char err[512], pk[SIGNER_PK_HEX];
    sigset_t stop;
    int sig;
    viewer_http_options vo = {.db_path = c->db, .listen = c->listen};
    if (trusted_key(c, pk, &vo.trusted_public_key) != 0) return EXIT_USAGE;
    /* Blocked before any thread starts, so that every thread inherits the
    ** mask and the signal reaches sigwait() below. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    viewer_http *h = viewer_http_start(&vo, err, sizeof err);
    if (!h) {
        diag("ui: %s", err);
        return EXIT_USAGE;
    }
    if (viewer_http_remote(h))
        diag("WARNING: listening on %s, beyond this machine: anyone on that network "
             "who learns the URL can read the audit trail", c->listen);
    printf("%s\n", viewer_http_url(h));
    fflush(stdout);
    diag("the trail viewer of %s (read-only) is at the URL above; Ctrl-C stops it",
         c->db_shown);
    if (c->open_browser) open_in_browser(viewer_http_url(h));
    sigwait(&stop, &sig);
    viewer_http_stop(h);
    return EXIT_SUCCESS;
}

/* tail, query, stats, export, report: 0 done, 1 failed, 2 usage. */
static int run_cli(const config *c, store *st)
{
    char err[CLI_ERRLEN];
    int rc;
    switch (c->cmd) {
    case CMD_TAIL: rc = cli_tail(st, &c->cli, stdout, err, sizeof err); break;
    case CMD_QUERY: rc = cli_query(st, &c->cli, stdout, err, sizeof err); break;
    case CMD_STATS: rc = cli_stats(st, c->db_shown, &c->cli, stdout, err, sizeof err); break;
    case CMD_EXPORT: rc = cli_export(st, &c->cli, stdout, err, sizeof err); break;
    case CMD_REPORT: return run_report(c, st);
    default: return EXIT_USAGE;
    }
    if (rc == CLI_OK) return EXIT_SUCCESS;
    diag("%s: %s", c->cmd_name, err);
    return rc == CLI_EUSAGE ? EXIT_USAGE : EXIT_FAILURE;
}

/* Each problem of a verify report as one line on stderr, naming its log. */
static void print_problems(const cJSON *report)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(report, "problems")) {
        const char *log = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "log_id"));
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "kind"));
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(p, "seq");
        diag("log %s (%s) seq %lld: %s: %s", log ? log : "?", id ? id : "?",
             seq ? (long long)seq->valuedouble : 0LL, kind ? kind : "?",
             detail ? detail : "");
    }
}

/* verify: 0 intact, 1 tampered, 2 usage or I/O. */
static int run_verify(const config *c, store *st)
{
    char err[512], pk[SIGNER_PK_HEX];
    store_checkpoint external;
    verify_trusted_key *keys = NULL;
    size_t n_keys = 0;
    verify_options opt = {.archives = c->archives, .n_archives = c->n_archives,
                          .log = c->log_arg};
    if (trusted_key(c, pk, &opt.trusted_public_key) != 0) return EXIT_USAGE;
    if (c->trusted_keys_file) {
        if (verify_read_trusted_keys(c->trusted_keys_file, &keys, &n_keys, err,
                                     sizeof err) != 0) {
            diag("%s", err);
            return EXIT_USAGE;
        }
        opt.trusted_keys = keys;
        opt.n_trusted_keys = n_keys;
        /* The file names every key trusted: the key file's .pub is not
        ** trusted besides them unless given with --public-key. */
        if (!c->public_key_file) opt.trusted_public_key = NULL;
    }
    if (c->checkpoint_file) {
        cJSON *j = read_json_file(c->checkpoint_file, err, sizeof err);
        int bad = !j || checkpoint_from_json(j, &external, err, sizeof err) != 0;
        cJSON_Delete(j);
        if (bad) {
            diag("%s", err);
            verify_free_trusted_keys(keys, n_keys);
            return EXIT_USAGE;
        }
        opt.external = &external;
    }
    if (isatty(2)) opt.progress = verify_progress;
    cJSON *report = verify_store(st, &opt, err, sizeof err);
    verify_free_trusted_keys(keys, n_keys);
    if (isatty(2) && opt.progress) fputc('\n', stderr);
    if (!report) {
        diag("verify failed: %s", err);
        return EXIT_USAGE;
    }
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "ok"));
    print_json(report);
    print_problems(report);
    diag("%s: %d problem(s)", ok ? "the audit log is intact" : "THE AUDIT LOG WAS TAMPERED WITH",
         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "problems")));
    cJSON_Delete(report);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

typedef struct prune_logs {
    store_log *v;
    size_t n;
    int oom;
} prune_logs;

static int add_prune_log(void *ctx, const store_log *log)
{
    prune_logs *l = ctx;
    store_log *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) {
        l->oom = 1;
        return 1;
    }
    l->v = v;
    l->v[l->n++] = *log;
    return 0;
}

/* prune: every log of the store (or the one --log names), one archive
** each: --archive FILE itself for one log, FILE.<log_id> for each of
** several.  On PostgreSQL, the call for the last log drops the partitions
** every log has been pruned past (store_prune in store.h).  0 done, 2 a
** failure (the logs pruned before it stay pruned, each with its anchor). */
static int run_prune(const config *c, store *st, const signer *sg)
{
    char err[STORE_ERRLEN], serr[STORE_ERRLEN];
    prune_logs l = {0};
    int status = EXIT_USAGE;
    if (store_each_log(st, add_prune_log, &l, err) != STORE_OK || l.oom) {
        diag("prune failed: %s", l.oom ? "out of memory" : err);
        goto done;
    }
    size_t todo = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!c->log_arg || strcmp(l.v[i].name, c->log_arg) == 0 ||
            strcmp(l.v[i].log_id, c->log_arg) == 0)
            l.v[todo++] = l.v[i];
    if (todo == 0) {
        diag("prune: the store holds no log named %s", c->log_arg ? c->log_arg : "(any)");
        goto done;
    }
    for (size_t i = 0; i < todo; i++) {
        int64_t removed;
        char *path = todo == 1 ? strdup(c->archives[0]) : NULL;
        if (todo > 1) {
            size_t n = strlen(c->archives[0]) + sizeof l.v[i].log_id + 2;
            if ((path = malloc(n))) snprintf(path, n, "%s.%s", c->archives[0], l.v[i].log_id);
        }
        if (!path) {
            diag("prune failed: out of memory");
            goto done;
        }
        int rc = store_use_log(st, l.v[i].log_id, err);
        if (rc == STORE_OK) rc = archive_prune(st, sg, c->before, path, &removed, err);
        if (rc != STORE_OK) {
            diag("prune of log %s (%s) failed: %s", l.v[i].name, l.v[i].log_id, err);
            free(path);
            goto done;
        }
        if (todo > 1)
            diag("log %s (%s): pruned %lld entries into %s", l.v[i].name, l.v[i].log_id,
                 (long long)removed, removed ? path : "nothing (no entry was old enough)");
        else
            diag("pruned %lld entries into %s", (long long)removed,
                 removed ? path : "nothing (no entry was old enough)");
        free(path);
    }
    status = EXIT_SUCCESS;
done:
    store_use_log(st, NULL, serr);
    free(l.v);
    return status;
}

/* A reply to a query is built in blocks of up to a few hundred kilobytes,
** allocated and freed by every request.  glibc's defaults give blocks that
** large their own mmap() and give the top of the heap back after a free,
** so each request faulted fresh zeroed pages in and made the kernel flush
** the TLB when they went: a third of a search's CPU time (perf).  Keeping
** up to 8 MiB of freed heap costs no peak memory (the peak is the same
** blocks) and makes a search about 30% cheaper (bench_loadgen, lockstep). */
static void keep_heap(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

/* Serve MCP on stdin/stdout.  The database is opened once initialize has
** been answered (mcp_options.open_later); the server stops with the reason
** on stderr if it cannot be opened.  Returns the exit status. */
static int serve(const config *c, const store_options *so, const signer *sg)
{
    server *sv = NULL;
    mcp *m = NULL;
    int status = EXIT_FAILURE;
    char err[512];
    keep_heap();
    /* A person who runs the binary by hand would otherwise see nothing and
    ** might think it hung: one line says what it waits for.  Never on
    ** stdout, which carries only protocol messages. */
    if (isatty(0))
        fprintf(stderr,
                "dss-audit-mcp: waiting for an MCP client on stdin (database %s%s); "
                "to try it, type {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} "
                "and Enter; Ctrl-D quits\n",
                c->db_shown, so->readonly ? ", read-only" : "");
    server_options so_io = {.in_fd = 0, .out_fd = 1,
                            .max_message_bytes = c->max_message_bytes};
    if (!(sv = server_new(&so_io))) {
        diag("out of memory");
        goto done;
    }
    mcp_options mo = {.open_later = so, .actor = c->actor, .io = server_io(sv),
                      .limits = {.max_depth = c->max_depth},
                      .sg = sg, .checkpoint_interval = c->checkpoint_interval};
    if (!(m = mcp_new(&mo, err, sizeof err))) {
        diag("cannot start: %s", err);
        goto done;
    }
    status = server_run(sv, m) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
done:
    mcp_free(m);
    server_free(sv);
    return status;
}

/* wrap-config: entries are pointed at this very binary, by absolute path,
** since clients seldom start servers with the user's PATH. */
static int wrap_config(const config *c)
{
    char self[4096], err[CLI_ERRLEN];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) snprintf(self, sizeof self, "dss-audit-mcp");
    else self[n] = '\0';
    int rc = cli_wrap_config(c->client, c->file, c->undo, self, stdout, err, sizeof err);
    if (rc == CLI_OK) return EXIT_SUCCESS;
    diag("wrap-config: %s", err);
    return rc == CLI_EUSAGE ? EXIT_USAGE : EXIT_FAILURE;
}

/* Relay to the wrapped server; its exit status becomes ours. */
static int wrap(const config *c, const store_options *so)
{
    extern char **environ;
    char err[512];
    relay_options ro = {.argv = c->wrap_argv, .path = getenv("PATH"), .envp = environ,
                        .so = so, .name = c->wrap_name,
                        .actor = c->actor, .results = c->record_results,
                        .fail_open = c->fail_open, .kill_after_s = c->kill_after,
                        .max_message_bytes = c->max_message_bytes,
                        .max_depth = c->max_depth, .in_fd = 0, .out_fd = 1};
    int status = relay_run(&ro, err, sizeof err);
    if (status < 0) {
        diag("wrap: %s", err);
        return 127;
    }
    return status;
}

/* migrate: create or bring forward the database's schema, and nothing
** else (no log is created): for an administrator who wants the schema to
** belong to an owner role that the servers are not. */
static int run_migrate(const config *c)
{
    store_options so = {.path = c->db, .no_own_log = 1};
    store *st = NULL;
    char err[STORE_ERRLEN];
    if (store_open(&so, &st, err) != STORE_OK) {
        diag("cannot migrate %s: %s", c->db_shown, err);
        return EXIT_FAILURE;
    }
    store_close(st);
    diag("the audit schema of %s is current", c->db_shown);
    return EXIT_SUCCESS;
}

static volatile sig_atomic_t ship_stop;

static void on_ship_signal(int sig)
{
    (void)sig;
    ship_stop = 1;
}

/* ship: copy the local log into the central database, once or with
** --follow until SIGTERM or SIGINT; a summary as JSON on stdout. */
static int run_ship(const config *c)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_ship_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    ship_options so = {.from = c->db, .to = c->ship_to, .log_name = c->log,
                       .follow = c->ship_follow, .stop = &ship_stop};
    ship_result r;
    char err[STORE_ERRLEN + 600];
    if (ship_run(&so, &r, err, sizeof err) != 0) {
        diag("ship %s to %s: %s", c->db_shown, c->ship_to_shown, err);
        return EXIT_FAILURE;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "log_id", r.log_id);
    cJSON_AddStringToObject(j, "log", r.log_name);
    cJSON_AddNumberToObject(j, "shipped", (double)r.shipped);
    cJSON_AddNumberToObject(j, "already_there", (double)r.skipped);
    cJSON_AddNumberToObject(j, "checkpoints", (double)r.checkpoints);
    cJSON_AddNumberToObject(j, "head_seq", (double)r.head_seq);
    int ok = j && print_json(j) == 0;
    cJSON_Delete(j);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* hook: record one agent-client event from stdin; never fails the agent
** unless --fail-closed (see hook.h). */
static int run_hook(config *c)
{
    char why[300] = "";
    if (chain_init() != 0) snprintf(why, sizeof why, "libsodium failed to initialize");
    else if (load_config(c) != 0)
        snprintf(why, sizeof why, "the redaction config %s is unusable", c->config);
    c->hook.actor = c->actor_given ? c->actor : NULL;
    c->hook.fallback_user = c->actor;
    c->hook.max_depth = c->max_depth;
    c->hook.fail_reason = why[0] ? why : NULL;
    store_options so = {.path = c->db, .log_name = c->log, .max_bytes = c->max_db_size};
    return hook_run(&c->hook, &so, 0, stdout, stderr);
}

/* hooks install|uninstall: 0 done, 1 failed (the file untouched). */
static int run_hooks(config *c)
{
    char exe[4096], err[4600];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) exe[n] = '\0';
    else snprintf(exe, sizeof exe, "dss-audit-mcp");
    c->inst.program = exe;
    c->inst.home = home_dir();
    if (hookinst_run(&c->inst, c->install, stdout, err, sizeof err) != 0) {
        diag("hooks %s: %s", c->install ? "install" : "uninstall", err);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    config c = {0};
    store *st = NULL;
    signer sg;
    int have_key = 0;
    int status = EXIT_FAILURE;
    char err[512];

    /* Everything this program creates (database, WAL, keys) is private. */
    umask(077);
    int rc = parse_args(argc, argv, &c);
    if (rc == 1) status = EXIT_SUCCESS;
    if (rc != 0) {
        if (rc == EXIT_USAGE) status = EXIT_USAGE;
        /* A hook must not stop the agent over its own settings. */
        if (rc == EXIT_USAGE && c.cmd == CMD_HOOK) {
            diag("hook: the event was not recorded (see above)");
            status = EXIT_SUCCESS;
        }
        goto done;
    }
    if (c.cmd == CMD_HOOK) {
        status = run_hook(&c);
        goto done;
    }
    if (c.cmd == CMD_HOOKS) {
        status = run_hooks(&c);
        goto done;
    }
    if (chain_init() != 0) {
        diag("libsodium failed to initialize");
        goto done;
    }
    if (load_config(&c) != 0) {
        status = EXIT_USAGE;
        goto done;
    }
    if (c.cmd == CMD_WRAP_CONFIG) {
        status = wrap_config(&c);
        goto done;
    }
    if (c.cmd == CMD_SHIP) {
        status = run_ship(&c);
        goto done;
    }
    if (c.cmd == CMD_MIGRATE) {
        status = run_migrate(&c);
        goto done;
    }
    if (c.cmd == CMD_PUBLIC_KEY || c.cmd == CMD_CHECKPOINT || c.cmd == CMD_PRUNE ||
        c.cmd == CMD_SERVE) {
        if (signer_load(c.key, 1, &sg, err, sizeof err) != 0) {
            diag("cannot load the signing key: %s", err);
            status = EXIT_USAGE;
            goto done;
        }
        have_key = 1;
    }
    if (c.cmd == CMD_PUBLIC_KEY) {
        printf("%s\n", sg.pk_hex);
        status = EXIT_SUCCESS;
        goto done;
    }
    store_options so = {.path = c.db,
                        .log_name = c.log,
                        .readonly = c.cmd == CMD_VERIFY || c.read_only ||
                                    cli_is_command(c.cmd_name),
                        .max_bytes = c.max_db_size};
    if (c.cmd == CMD_SERVE) {
        status = serve(&c, &so, &sg);
        goto done;
    }
    if (c.cmd == CMD_UI) {
        status = run_ui(&c);
        goto done;
    }
    if (c.cmd == CMD_WRAP) {
        status = wrap(&c, &so);
        goto done;
    }
    if (store_open(&so, &st, err) != STORE_OK) {
        diag("cannot open the audit database %s: %s", c.db_shown, err);
        status = EXIT_USAGE;
        goto done;
    }
    if (c.cmd == CMD_VERIFY) {
        status = run_verify(&c, st);
        goto done;
    }
    if (cli_is_command(c.cmd_name)) {
        status = run_cli(&c, st);
        goto done;
    }
    if (c.cmd == CMD_CHECKPOINT) {
        store_checkpoint cp;
        if (checkpoint_now(st, &sg, &cp, err) != STORE_OK) {
            diag("cannot write a checkpoint: %s", err);
            status = EXIT_USAGE;
            goto done;
        }
        cJSON *j = checkpoint_to_json(&cp);
        status = j && print_json(j) == 0 ? EXIT_SUCCESS : EXIT_USAGE;
        cJSON_Delete(j);
        goto done;
    }
    if (c.cmd == CMD_PRUNE) {
        status = run_prune(&c, st, &sg);
        goto done;
    }
    diag("unknown command"); /* parse_args() knows no other */
done:
    store_close(st);
    if (have_key) signer_wipe(&sg);
    free_config(&c);
    return status;
}
