/*
** cmd.h: the contract between main.c and the commands of dss-audit-mcp.
**
** main.c holds the table of commands, like git's commands[]: one cmd_def
** per command, with its name, its cmd_spec and the set-up flags below.
** Each command lives in src/cli/cmd_*.c next to its options: a table of
** its own options (cmd_option), the shared options it takes (CMD_OPT_*), a
** check function that turns their values into what run needs, and the run
** function itself.  Its help is src/cli/help/NAME.txt (cli_help.h).
**
** cmd_parse() parses one command's command line with getopt_long: the
** command's options and the shared ones it takes, resolved in the order
** flags, then DSS_AUDIT_* variables, then defaults.  main.c reads the
** environment and hands it down in a cmd_env: nothing below main.c calls
** getenv().  main.c then does the set-up the command's flags ask for (the
** signing key, the store) and calls run, whose return value is the exit
** status.  docs/architecture.md says how to add a command.
**
** Errors follow the convention of docs/architecture.md: CMD_OK (0) or a
** negative code, with one sentence in a caller's buffer of errlen bytes.
*/
#ifndef DSS_CMD_H
#define DSS_CMD_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "../integrity/signer.h"
#include "../record/record.h"
#include "../store/store.h"

enum {
    CMD_OK = 0,
    CMD_EUSAGE = -2, /* a bad option, value or argument: exit status 2 */
    CMD_EXIT = 1     /* cmd_parse printed --help or --version: exit 0 */
};

/* Buffers for a command's error sentences. */
#define CMD_ERRLEN 512

/* The shared options: parsed by cmd_parse() for every command that names
** them in cmd_spec.shared, each with its environment variable. */
enum {
    CMD_OPT_DB = 1 << 0,                  /* --db PATH, DSS_AUDIT_DB */
    CMD_OPT_LOG = 1 << 1,                 /* --log NAME, DSS_AUDIT_LOG */
    CMD_OPT_KEY = 1 << 2,                 /* --key PATH, DSS_AUDIT_KEY */
    CMD_OPT_ACTOR = 1 << 3,               /* --actor NAME, DSS_AUDIT_ACTOR */
    CMD_OPT_CONFIG = 1 << 4,              /* --config PATH, DSS_AUDIT_CONFIG */
    CMD_OPT_MAX_MESSAGE_BYTES = 1 << 5,   /* DSS_AUDIT_MAX_MESSAGE_BYTES */
    CMD_OPT_MAX_DEPTH = 1 << 6,           /* DSS_AUDIT_MAX_DEPTH */
    CMD_OPT_CHECKPOINT_INTERVAL = 1 << 7, /* DSS_AUDIT_CHECKPOINT_INTERVAL */
    CMD_OPT_MAX_DB_SIZE = 1 << 8,         /* DSS_AUDIT_MAX_DB_SIZE */
    CMD_OPT_READ_ONLY = 1 << 9,           /* DSS_AUDIT_READ_ONLY */
    CMD_OPT_ORIGIN = 1 << 10              /* --origin NAME, DSS_AUDIT_ORIGIN */
};

/* Every command takes these, as the program's help has always said
** ("Options (every command)"): scripts pass them to each command they
** run.  One that has no use for them ignores them. */
#define CMD_OPT_EVERY (CMD_OPT_DB | CMD_OPT_KEY)

/* The set-up main.c does before a command runs (cmd_def.flags). */
enum {
    CMD_CRYPTO = 1 << 0,    /* libsodium is initialized (chain_init) */
    CMD_REDACTION = 1 << 1, /* the redaction rules (--config) are loaded */
    CMD_SIGNS = 1 << 2,     /* the signing key is loaded, created on first use: cx->sg */
    CMD_READS = 1 << 3,     /* the store is opened read-only: cx->st */
    CMD_WRITES = 1 << 4,    /* the store is opened for writing: cx->st */
    CMD_SERVES = 1 << 5,    /* answers many requests: freed heap is kept */
    CMD_AGENT = 1 << 6      /* run by an agent client, which it must never
                               stop: a usage or set-up error is reported on
                               stderr, then run gets cx->setup_error (usage:
                               exit 0 without running) */
};

/* How an option of a command's own table takes its value. */
typedef enum cmd_kind {
    CMD_FLAG,     /* int, set to 1 */
    CMD_STRING,   /* const char *, borrowed from argv */
    CMD_STRINGS,  /* cmd_strings: repeatable, one more each time */
    CMD_CONNINFO, /* char *, a copy freed by cmd_free(); the password in
                     argv is wiped, so that `ps` never shows it */
    CMD_CONNINFOS, /* cmd_conninfos: CMD_CONNINFO, repeatable */
    CMD_SECRETS   /* cmd_secrets: repeatable "Name: value" lines (wrap
                     --header), copies freed by cmd_free(); what follows
                     the first ':' is wiped in argv, so `ps` never shows it */
} cmd_kind;

enum { CMD_MAX_REPEAT = 16 };

typedef struct cmd_strings {
    const char *v[CMD_MAX_REPEAT];
    int n;
} cmd_strings;

typedef struct cmd_conninfos {
    char *v[CMD_MAX_REPEAT]; /* copies, freed by cmd_free() */
    int n;
} cmd_conninfos;

typedef struct cmd_secrets {
    char *v[CMD_MAX_REPEAT]; /* copies, wiped and freed by cmd_free() */
    int n;
} cmd_secrets;

/* One option of a command: --name, and -short_name when not 0.  Its value
** goes to the field at offset in the command's options struct. */
typedef struct cmd_option {
    const char *name;
    int short_name;
    cmd_kind kind;
    size_t offset;
} cmd_option;

/* What main.c read from the environment (NULL where unset). */
typedef struct cmd_env {
    const char *db, *log, *key, *actor, *config; /* DSS_AUDIT_* */
    const char *max_message_bytes, *max_depth, *checkpoint_interval, *max_db_size;
    const char *read_only, *origin;
    /* DSS_AUDIT_SINK_TOKEN and DSS_AUDIT_SINK_SECRET: main.c's copies (the
    ** variables' text is wiped, as `ps e` would show it). */
    const char *sink_token, *sink_secret;
    /* DSS_AUDIT_SHIP_TO: serve's and wrap's sinks when no --ship-to is
    ** given (main.c's copy, taken out of the environment as the secrets). */
    const char *ship_to;
    /* DSS_AUDIT_URL and DSS_AUDIT_HEADERS (wrap --url, as wrap-config
    ** writes them): main.c's copies, wiped and removed like the above. */
    const char *remote_url, *remote_headers;
    const char *home, *xdg_data_home, *xdg_config_home;
    const char *xdg_runtime_dir; /* XDG_RUNTIME_DIR: where recorders listen */
    const char *display;  /* DISPLAY, else WAYLAND_DISPLAY: a desktop session */
    const char *path;     /* PATH: where wrap looks for its server's command */
    char **environ; /* for the programs a command starts */
} cmd_env;

/* The shared options, resolved.  Only those the command takes are set; the
** strings marked owned are freed by cmd_free(). */
typedef struct cmd_common {
    char *db;                  /* owned; NULL when the command takes no --db */
    int db_given, key_given;   /* by --db, --key themselves (witness: its own) */
    char db_shown[512];        /* db as printed: a PostgreSQL password masked */
    const char *log;           /* --log, else DSS_AUDIT_LOG; NULL when empty */
    int log_given;             /* by --log itself: verify and prune select a
                                  log only when told on the command line */
    char *key;                 /* owned */
    char *actor;               /* owned; the login name by default */
    int actor_given;           /* by --actor or DSS_AUDIT_ACTOR */
    char *config;              /* owned: the redaction rules file */
    int config_given;          /* named by --config or DSS_AUDIT_CONFIG: it must exist */
    size_t max_message_bytes;  /* 4 MiB by default */
    int max_depth;             /* 64 by default */
    long long checkpoint_interval; /* 1000 by default */
    long long max_db_size;     /* 0: no cap */
    int read_only;
    const char *origin;        /* the own log's checkpoint origin; NULL: the one
                                  recorded, else dss-audit/<log_id> */
} cmd_common;

typedef struct cmd_ctx cmd_ctx;

/* Where a command's operands (arguments that are not options) may go. */
enum {
    CMD_NO_OPERANDS = 0,  /* any is a usage error */
    CMD_OPERANDS,         /* handed to check */
    CMD_OPERANDS_END_OPTIONS /* the first one ends the options: it and
                                everything after it are operands (wrap) */
};

/* A command: its options, and what to do with them. */
typedef struct cmd_spec {
    const cmd_option *options; /* its own, ending with {NULL}; NULL for none */
    size_t opts_size;          /* the size of the struct they fill */
    unsigned shared;           /* the CMD_OPT_* it uses (CMD_OPT_EVERY besides) */
    int operands;              /* CMD_NO_OPERANDS, ... */
    /* Check the values given and fill what run needs: CMD_OK, or
    ** CMD_EUSAGE with a sentence in err.  NULL: nothing to check. */
    int (*check)(cmd_ctx *cx, char *err, size_t errlen);
    /* Do the work; returns the exit status.  Diagnostics go to stderr. */
    int (*run)(cmd_ctx *cx);
} cmd_spec;

/* A row of main.c's table. */
typedef struct cmd_def {
    const char *name;
    const cmd_spec *spec;
    unsigned flags; /* CMD_CRYPTO, ... */
} cmd_def;

/* Everything a command's check and run functions get. */
struct cmd_ctx {
    const cmd_spec *spec;
    const char *name;       /* the command as given, NULL when none was (serve) */
    unsigned flags;         /* its table row's */
    void *opts;             /* its own options (spec->opts_size bytes, zeroed first) */
    cmd_common common;
    char **operands;        /* NULL-ended, within argv */
    int n_operands;
    const cmd_env *env;
    store *st;              /* CMD_READS or CMD_WRITES: the open store */
    const signer *sg;       /* CMD_SIGNS: the signing key */
    const char *setup_error;/* CMD_AGENT: why the set-up failed, or NULL */
};

/*
** Parse the command line of command cmd, a row of table (n rows): argv[0]
** is the command's name (or the program's, name NULL, for the default
** command) and the options follow.  Fills *cx, which the caller frees with
** cmd_free() whatever the result.  Returns CMD_OK; CMD_EXIT after printing
** --help or --version on stdout; or CMD_EUSAGE with a sentence in err
** naming the problem (an option unknown to the command, or one of another
** command, a missing value, a bad value, an unexpected operand).
*/
int cmd_parse(const cmd_def *table, size_t n, const cmd_def *cmd, const char *name,
              int argc, char **argv, const cmd_env *env, cmd_ctx *cx, char *err,
              size_t errlen);

/* Free what cmd_parse() allocated (not st or sg, which are main.c's). */
void cmd_free(cmd_ctx *cx);

/* ---- helpers for the commands ------------------------------------------ */

/* The store options of cx's shared options: --db, --log, --max-db-size,
** --origin. */
store_options cmd_store_options(const cmd_ctx *cx, int readonly);

/* An integer from lo to hi: 0, or -1 when s is not one. */
int cmd_parse_int(const char *s, long long lo, long long hi, long long *out);

/* The user's home folder: HOME, else the password database's, else "/". */
const char *cmd_home(const cmd_env *env);

/* $XDG_CONFIG_HOME/dss-audit (else ~/.config/dss-audit), where the
** signing key, the redaction rules and the OAuth tokens live.  Caller
** frees; NULL when out of memory. */
char *cmd_config_dir(const cmd_env *env);

/* This program's path (/proc/self/exe) into buf, or "dss-audit-mcp". */
void cmd_self_path(char *buf, size_t len);

/* A whole small file (stdin for "-") as a NUL-ended string the caller
** frees, its length in *len (may be NULL); NULL with err naming path when
** it cannot be read or holds more than max bytes ("larger than what"). */
char *cmd_read_small(const char *path, size_t max, const char *what, size_t *len, char *err,
                     size_t errlen);

/* Print j pretty on stdout.  0, or -1 when printing failed. */
int cmd_print_json(const cJSON *j);

/* The log of the read-only cx->st opened for writing, to sign a checkpoint
** no reader could (prove, report): the same log, recording cx->sg's key
** as the log's (refused when another key signs it).  A store the caller
** closes, or NULL with err (STORE_ERRLEN bytes). */
store *cmd_open_to_sign(const cmd_ctx *cx, char *err);

/* The public key a verification trusts: the file public_key_file, else the
** signing key's .pub when present, else none (each checkpoint's own).
** Sets *trusted to pk or NULL.  CMD_OK, or CMD_EUSAGE with err. */
int cmd_trusted_key(const cmd_ctx *cx, const char *public_key_file, char pk[SIGNER_PK_HEX],
                    const char **trusted, char *err, size_t errlen);

/* ---- shipping in the background (serve, wrap: cmd_ship.c) ------------- */

/* The --ship-* options serve and wrap share, as part of each command's own
** options struct (the member named in CMD_SHIP_OPTIONS), and the shipper
** they start once the store is open (ship.h's ship_start), woken after
** every commit and given a moment to finish when the server exits: its
** recorder_watch.  No reply ever waits on a sink. */
struct cmd_shipping;
typedef struct cmd_ship_opts {
    cmd_conninfos to;  /* --ship-to, or DSS_AUDIT_SHIP_TO split at spaces */
    const char *format, *ca, *cert, *key, *token_file, *secret_file;
    struct cmd_shipping *run; /* set by cmd_ship_check() when there are sinks */
} cmd_ship_opts;

#define CMD_SHIP_OPTIONS(type, m)                                                      \
    {"ship-to", 0, CMD_CONNINFOS, offsetof(type, m.to)},                               \
    {"ship-format", 0, CMD_STRING, offsetof(type, m.format)},                          \
    {"ship-ca", 0, CMD_STRING, offsetof(type, m.ca)},                                  \
    {"ship-client-cert", 0, CMD_STRING, offsetof(type, m.cert)},                       \
    {"ship-client-key", 0, CMD_STRING, offsetof(type, m.key)},                         \
    {"ship-token-file", 0, CMD_STRING, offsetof(type, m.token_file)},                  \
    {"ship-secret-file", 0, CMD_STRING, offsetof(type, m.secret_file)}

/* Check the --ship-* values (the sinks' URLs, formats and secrets are
** checked when the shipper starts, after the store opens: a mistake then
** is told on stderr and the server runs without shipping).  CMD_OK, or
** CMD_EUSAGE with err. */
int cmd_ship_check(cmd_ctx *cx, cmd_ship_opts *o, char *err, size_t errlen);

/* The watch to hand the recorder: all NULL when there are no sinks. */
recorder_watch cmd_ship_watch(cmd_ship_opts *o);

/* Free what cmd_ship_check() made, wiping the secrets (after the server
** ended, which finished the shipper). */
void cmd_ship_free(cmd_ship_opts *o);

/* --witness URL=VKEY values (checkpoint, serve), parsed into w: CMD_OK, or
** CMD_EUSAGE with a sentence naming the bad one. */
struct wsync_witness;
int cmd_parse_witnesses(const cmd_strings *specs, struct wsync_witness *w, char *err,
                        size_t errlen);

/* ---- the commands (src/cli/cmd_*.c) ------------------------------------ */

extern const cmd_spec cmd_serve, cmd_wrap, cmd_wrap_config, cmd_hook, cmd_hooks, cmd_recorder;

/* The hook_options of a parsed `hook` command line (cmd_hook.c): for
** `recorder`, which resolves each hook's own arguments and settings. */
struct hook_options;
void cmd_hook_prepare(cmd_ctx *cx, struct hook_options *out);
extern const cmd_spec cmd_tail, cmd_query, cmd_stats, cmd_export, cmd_report, cmd_ui;
extern const cmd_spec cmd_verify, cmd_checkpoint, cmd_public_key, cmd_prune;
extern const cmd_spec cmd_ship, cmd_migrate, cmd_auth;
extern const cmd_spec cmd_prove, cmd_verify_proof, cmd_witness;

#endif
