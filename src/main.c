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

#include "integrity/archive.h"
#include "integrity/checkpoint.h"
#include "integrity/signer.h"
#include "integrity/verify.h"
#include "protocol/mcp.h"
#include "server.h"
#include "store/chain.h"
#include "store/store.h"
#include "util/diag.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

enum { EXIT_USAGE = 2 };

typedef enum command {
    CMD_SERVE, CMD_VERIFY, CMD_CHECKPOINT, CMD_PUBLIC_KEY, CMD_PRUNE
} command;

typedef struct config {
    command cmd;
    char *db;
    char *actor;
    char *key;
    size_t max_message_bytes;
    int max_depth;
    long long checkpoint_interval;
    long long max_db_size;
    int read_only;
    const char *checkpoint_file; /* verify --checkpoint */
    const char *public_key_file; /* verify --public-key */
    const char *archives[16];    /* verify --archive (repeatable), prune --archive */
    int n_archives;
    const char *before;          /* prune --before */
} config;

static const char usage_text[] =
    "Usage: dss-audit-mcp [COMMAND] [OPTIONS]\n"
    "\n"
    "An MCP server (JSON-RPC over stdio) that keeps a tamper-evident,\n"
    "append-only audit trail of what AI agents do, in SQLite.\n"
    "\n"
    "Commands:\n"
    "  serve                   serve MCP on stdin/stdout (the default)\n"
    "  verify                  check the hash chain and every signed checkpoint;\n"
    "                          exit 0 intact, 1 tampered, 2 usage or I/O error\n"
    "      --checkpoint FILE   also prove the log still contains this exported\n"
    "                          checkpoint (catches truncation and rewriting)\n"
    "      --public-key FILE   trust only checkpoints signed by this key\n"
    "                          (default: the key file's .pub, when present)\n"
    "      --archive FILE      verify pruned entries in FILE and the database\n"
    "                          as one chain (repeatable, oldest first)\n"
    "  checkpoint              sign the current head and print the checkpoint\n"
    "  public-key              print the signing key's public half (hex)\n"
    "  prune --before DATE --archive FILE.jsonl\n"
    "                          move entries created before DATE to a new JSON\n"
    "                          Lines archive, leaving a signed retention anchor\n"
    "\n"
    "Options (every command):\n"
    "  --db PATH               audit database (env DSS_AUDIT_DB; default\n"
    "                          $XDG_DATA_HOME/dss-audit/audit.db)\n"
    "  --key PATH              Ed25519 checkpoint signing key, created on first\n"
    "                          use (env DSS_AUDIT_KEY; default\n"
    "                          $XDG_CONFIG_HOME/dss-audit/signing.key)\n"
    "Options (serve):\n"
    "  --actor NAME            who the session acts for, the default user_id\n"
    "                          (env DSS_AUDIT_ACTOR; default: your login name)\n"
    "  --checkpoint-interval N entries between automatic checkpoints (env\n"
    "                          DSS_AUDIT_CHECKPOINT_INTERVAL; default 1000)\n"
    "  --max-message-bytes N   longest accepted message (env\n"
    "                          DSS_AUDIT_MAX_MESSAGE_BYTES; default 4194304)\n"
    "  --max-depth N           deepest accepted JSON nesting (env\n"
    "                          DSS_AUDIT_MAX_DEPTH; default 64)\n"
    "  --read-only             serve queries only; every write is refused with\n"
    "                          a message saying so (env DSS_AUDIT_READ_ONLY=1;\n"
    "                          also when the database file is not writable)\n"
    "  --max-db-size BYTES     cap the database's size; writes beyond it fail\n"
    "                          cleanly (env DSS_AUDIT_MAX_DB_SIZE)\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "stdout carries only protocol messages (serve) or results; diagnostics go\n"
    "to stderr.\n";

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

/* The default signing key path. Caller frees. */
static char *default_key(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && *xdg == '/') return join(xdg, "dss-audit/signing.key");
    return join(home_dir(), ".config/dss-audit/signing.key");
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
    free(c->key);
}

static const struct {
    const char *name;
    command cmd;
} commands[] = {
    {"serve", CMD_SERVE}, {"verify", CMD_VERIFY}, {"checkpoint", CMD_CHECKPOINT},
    {"public-key", CMD_PUBLIC_KEY}, {"prune", CMD_PRUNE},
};

/* Fill c from argv and the environment. Returns 0, 1 when the program
** should exit successfully (help, version), or EXIT_USAGE. */
static int parse_args(int argc, char **argv, config *c)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"actor", required_argument, NULL, 'a'},
        {"key", required_argument, NULL, 'k'},
        {"max-message-bytes", required_argument, NULL, 'm'},
        {"max-depth", required_argument, NULL, 'n'},
        {"checkpoint-interval", required_argument, NULL, 'i'},
        {"checkpoint", required_argument, NULL, 'c'},
        {"public-key", required_argument, NULL, 'p'},
        {"archive", required_argument, NULL, 'r'},
        {"before", required_argument, NULL, 'b'},
        {"read-only", no_argument, NULL, 'R'},
        {"max-db-size", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *db = getenv("DSS_AUDIT_DB"), *actor = getenv("DSS_AUDIT_ACTOR");
    const char *key = getenv("DSS_AUDIT_KEY");
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
    opterr = 0;
    while ((o = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (o) {
        case 'd': db = optarg; break;
        case 'a': actor = optarg; break;
        case 'k': key = optarg; break;
        case 'i': interval = optarg; break;
        case 'c': c->checkpoint_file = optarg; break;
        case 'p': c->public_key_file = optarg; break;
        case 'b': c->before = optarg; break;
        case 'R': c->read_only = 1; break;
        case 's': maxsize = optarg; break;
        case 'r':
            if (c->n_archives == (int)(sizeof c->archives / sizeof *c->archives)) {
                diag("too many --archive options");
                return EXIT_USAGE;
            }
            c->archives[c->n_archives++] = optarg;
            break;
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
    if ((c->cmd != CMD_VERIFY && c->cmd != CMD_PRUNE && c->n_archives) ||
        (c->cmd != CMD_VERIFY && (c->checkpoint_file || c->public_key_file)) ||
        (c->cmd != CMD_PRUNE && c->before)) {
        diag("an option given does not apply to this command");
        fputs("Try 'dss-audit-mcp --help'.\n", stderr);
        return EXIT_USAGE;
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
    c->actor = actor ? strdup(actor) : login_name();
    c->key = key ? strdup(key) : default_key();
    if (!c->db || !c->actor || !c->key) {
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

/* verify: 0 intact, 1 tampered, 2 usage or I/O. */
static int run_verify(const config *c, store *st)
{
    char err[512], pk[SIGNER_PK_HEX];
    const char *trusted = NULL;
    store_checkpoint external;
    verify_options opt = {.archives = c->archives, .n_archives = c->n_archives};
    if (c->public_key_file) {
        if (signer_read_public(c->public_key_file, pk, err, sizeof err) != 0) {
            diag("%s", err);
            return EXIT_USAGE;
        }
        trusted = pk;
    } else {
        char path[4096];
        snprintf(path, sizeof path, "%s.pub", c->key);
        if (access(path, R_OK) == 0 && signer_read_public(path, pk, err, sizeof err) == 0)
            trusted = pk;
    }
    opt.trusted_public_key = trusted;
    if (c->checkpoint_file) {
        cJSON *j = read_json_file(c->checkpoint_file, err, sizeof err);
        int bad = !j || checkpoint_from_json(j, &external, err, sizeof err) != 0;
        cJSON_Delete(j);
        if (bad) {
            diag("%s", err);
            return EXIT_USAGE;
        }
        opt.external = &external;
    }
    if (isatty(2)) opt.progress = verify_progress;
    cJSON *report = verify_log(st, &opt, err, sizeof err);
    if (isatty(2) && opt.progress) fputc('\n', stderr);
    if (!report) {
        diag("verify failed: %s", err);
        return EXIT_USAGE;
    }
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "ok"));
    print_json(report);
    diag("%s: %d problem(s)", ok ? "the audit log is intact" : "THE AUDIT LOG WAS TAMPERED WITH",
         cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "problems")));
    cJSON_Delete(report);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    config c = {0};
    store *st = NULL;
    mcp *m = NULL;
    server *sv = NULL;
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
        goto done;
    }
    if (chain_init() != 0) {
        diag("libsodium failed to initialize");
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
    store_options so = {.path = c.db, .readonly = c.cmd == CMD_VERIFY || c.read_only,
                        .max_bytes = c.max_db_size};
    if (store_open(&so, &st, err) != STORE_OK) {
        diag("cannot open the audit database %s: %s", c.db, err);
        status = c.cmd == CMD_SERVE ? EXIT_FAILURE : EXIT_USAGE;
        goto done;
    }
    if (c.cmd == CMD_VERIFY) {
        status = run_verify(&c, st);
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
        int64_t removed;
        if (archive_prune(st, &sg, c.before, c.archives[0], &removed, err) != STORE_OK) {
            diag("prune failed: %s", err);
            status = EXIT_USAGE;
            goto done;
        }
        diag("pruned %lld entries into %s", (long long)removed,
             removed ? c.archives[0] : "nothing (no entry was old enough)");
        status = EXIT_SUCCESS;
        goto done;
    }
    if (store_readonly(st))
        diag("serving %s read-only: queries work, every write is refused", c.db);
    server_options so_io = {.in_fd = 0, .out_fd = 1,
                            .max_message_bytes = c.max_message_bytes};
    if (!(sv = server_new(&so_io))) {
        diag("out of memory");
        goto done;
    }
    mcp_options mo = {.st = st, .actor = c.actor, .io = server_io(sv),
                      .limits = {.max_depth = c.max_depth},
                      .sg = &sg, .checkpoint_interval = c.checkpoint_interval};
    if (!(m = mcp_new(&mo, err, sizeof err))) {
        diag("cannot start: %s", err);
        goto done;
    }
    status = server_run(sv, m, st) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
done:
    mcp_free(m);
    server_free(sv);
    store_close(st);
    if (have_key) signer_wipe(&sg);
    free_config(&c);
    return status;
}
