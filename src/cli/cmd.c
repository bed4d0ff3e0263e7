/*
** cmd.c: parsing one command's command line (cmd.h), and the helpers the
** commands share.
**
** getopt_long does the parsing, as it did when main.c had one option list
** for every command: long options may be abbreviated, "--opt=value" and
** "-n5" work, options and operands may be mixed, and "--" ends the
** options.  What is new is that each command accepts only its own options
** and the shared ones it takes, so that an option of another command is a
** usage error naming it rather than something silently ignored.  The
** getopt_long table is built on the stack for the one command that runs:
** no work for the commands that do not.
*/
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store/store.h"
#include "../tlog/note.h"
#include "../util/diag.h"
#include "../util/jsoncheck.h"
#include "../util/utf8.h"
#include "../util/wipe.h"
#include "cli_help.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

/* The shared options in the order of the CMD_OPT_* bits. */
static const struct {
    const char *name;
    int has_arg;
} shared_opts[] = {
    {"db", required_argument},
    {"log", required_argument},
    {"key", required_argument},
    {"actor", required_argument},
    {"config", required_argument},
    {"max-message-bytes", required_argument},
    {"max-depth", required_argument},
    {"checkpoint-interval", required_argument},
    {"max-db-size", required_argument},
    {"read-only", no_argument},
    {"origin", required_argument},
};
enum { N_SHARED = sizeof shared_opts / sizeof *shared_opts };

/* getopt_long values: an own option without a short form is OWN + its
** index; a shared one is SHARED + its bit's index. */
enum { OWN = 1000, SHARED = 2000, MAX_OPTIONS = 48 };

/* Write the sentence into err and return CMD_EUSAGE. */
#define usage(err, errlen, ...) diag_err(err, errlen, CMD_EUSAGE, __VA_ARGS__)

static size_t n_own(const cmd_spec *sp)
{
    size_t n = 0;
    while (sp->options && sp->options[n].name) n++;
    return n;
}

/* Whether sp takes the option spelled `opt` ("--name", or "-c"). */
static int takes(const cmd_spec *sp, const char *opt)
{
    int is_long = opt[1] == '-';
    const char *name = opt + (is_long ? 2 : 1);
    for (size_t i = 0; sp->options && sp->options[i].name; i++) {
        if (is_long ? strcmp(sp->options[i].name, name) == 0
                    : sp->options[i].short_name == *name && !name[1])
            return 1;
    }
    for (size_t i = 0; is_long && i < N_SHARED; i++)
        if (((sp->shared | CMD_OPT_EVERY) & (1u << i)) && strcmp(shared_opts[i].name, name) == 0)
            return 1;
    return 0;
}

/* The message for an option this command does not know: that it belongs
** to another command, that it is an ambiguous abbreviation, or unknown. */
static int unknown_option(const cmd_def *table, size_t n, const char *shown,
                          const struct option *lo, char *opt, char *err, size_t errlen)
{
    const char *cmd = shown;
    char *eq = strchr(opt, '=');
    if (eq && opt[1] == '-') *eq = '\0';
    for (size_t i = 0; i < n; i++)
        if (takes(table[i].spec, opt))
            return usage(err, errlen, "option %s does not apply to '%s'", opt, cmd);
    if (opt[1] == '-') {
        size_t len = strlen(opt + 2), hits = 0;
        for (const struct option *o = lo; o->name; o++)
            if (strncmp(o->name, opt + 2, len) == 0) hits++;
        if (hits > 1) return usage(err, errlen, "option %s is ambiguous for '%s'", opt, cmd);
    }
    return usage(err, errlen, "unknown option %s for '%s'", opt, cmd);
}

/* The option getopt returned `val` for, spelled for a message. */
static void spell(const cmd_spec *sp, int val, char *out, size_t len)
{
    size_t n = n_own(sp);
    if (val >= SHARED && val < SHARED + N_SHARED) {
        snprintf(out, len, "--%s", shared_opts[val - SHARED].name);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const cmd_option *o = &sp->options[i];
        if (val == (int)(OWN + i) || (o->short_name && val == o->short_name)) {
            if (o->short_name) snprintf(out, len, "-%c/--%s", o->short_name, o->name);
            else snprintf(out, len, "--%s", o->name);
            return;
        }
    }
    if (val == 'h' || val == 'V') snprintf(out, len, "-%c/--%s", val, val == 'h' ? "help" : "version");
    else snprintf(out, len, "-%c", val > 32 && val < 127 ? val : '?');
}

/* Append a copy of arg to the repeatable option o's list v of *n. */
static int add_copy(const cmd_option *o, char **v, int *n, const char *arg, char *err,
                    size_t errlen)
{
    if (*n == CMD_MAX_REPEAT)
        return usage(err, errlen, "too many --%s options (at most %d)", o->name,
                     CMD_MAX_REPEAT);
    if (!(v[*n] = strdup(arg))) return usage(err, errlen, "out of memory");
    (*n)++;
    return CMD_OK;
}

/* Store the value of option o into the command's options. */
static int store_own(const cmd_option *o, void *opts, char *arg, char *err, size_t errlen)
{
    char *field = (char *)opts + o->offset;
    switch (o->kind) {
    case CMD_FLAG: *(int *)(void *)field = 1; return CMD_OK;
    case CMD_STRING: *(const char **)(void *)field = arg; return CMD_OK;
    case CMD_STRINGS: {
        cmd_strings *l = (cmd_strings *)(void *)field;
        if (l->n == CMD_MAX_REPEAT)
            return usage(err, errlen, "too many --%s options (at most %d)", o->name,
                         CMD_MAX_REPEAT);
        l->v[l->n++] = arg;
        return CMD_OK;
    }
    case CMD_CONNINFO: {
        char **s = (char **)(void *)field;
        free(*s);
        if (!(*s = strdup(arg))) return usage(err, errlen, "out of memory");
        store_wipe_password(arg);
        return CMD_OK;
    }
    case CMD_CONNINFOS: {
        cmd_conninfos *l = (cmd_conninfos *)(void *)field;
        int rc = add_copy(o, l->v, &l->n, arg, err, errlen);
        if (rc != CMD_OK) return rc;
        store_wipe_password(arg);
        return CMD_OK;
    }
    case CMD_SECRETS: {
        cmd_secrets *l = (cmd_secrets *)(void *)field;
        int rc = add_copy(o, l->v, &l->n, arg, err, errlen);
        if (rc != CMD_OK) return rc;
        char *colon = strchr(arg, ':');
        char *from = colon ? colon + 1 : arg;
        memset(from, 'x', strlen(from));
        return CMD_OK;
    }
    }
    return CMD_OK;
}

/* ---- the shared options' values ----------------------------------------- */

/* s, or NULL when it is NULL or empty: an empty variable counts as unset
** (bundles pass optional settings as empty strings). */
static const char *set(const char *s)
{
    return s && *s ? s : NULL;
}

/* A new string "<base>/<rest>", or NULL. Caller frees. */
static char *join(const char *base, const char *rest)
{
    size_t n = strlen(base) + strlen(rest) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", base, rest);
    return s;
}

/* rest under the XDG base folder xdg when it is an absolute path (as the
** XDG spec requires), else under ~/fallback.  Caller frees. */
static char *xdg_path(const cmd_env *env, const char *xdg, const char *fallback,
                      const char *rest)
{
    if (xdg && *xdg == '/') return join(xdg, rest);
    char *base = join(cmd_home(env), fallback);
    char *path = base ? join(base, rest) : NULL;
    free(base);
    return path;
}

/* The operating system's name for whoever runs us. Caller frees. */
static char *login_name(void)
{
    char buf[256];
    if (getlogin_r(buf, sizeof buf) == 0 && buf[0]) return strdup(buf);
    struct passwd *pw = getpwuid(geteuid());
    return strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

/* The index in shared_opts of a CMD_OPT_* bit. */
static int index_of(unsigned bit)
{
    int i = 0;
    while (bit > 1) {
        bit >>= 1;
        i++;
    }
    return i;
}

/* The flag's value, else the variable's: an empty variable counts as
** unset (bundles pass optional settings as empty strings), an empty flag
** does not. */
static const char *pick(const char *flag, const char *var)
{
    return flag ? flag : set(var);
}

/* *out: a copy of the path v, else the default, rest under the XDG folder
** xdg (or ~/fallback).  `what` names the path when v is empty. */
static int path_option(const cmd_env *env, const char *v, const char *what, const char *xdg,
                       const char *fallback, const char *rest, char **out, char *err,
                       size_t errlen)
{
    if (v && !*v) return usage(err, errlen, "the %s is empty", what);
    *out = v ? strdup(v) : xdg_path(env, xdg, fallback, rest);
    return *out ? CMD_OK : usage(err, errlen, "out of memory");
}

/* What is wrong with a log's name, NULL when nothing: a log is found by its
** name (shared by every server of a PostgreSQL database), and a longer one
** was cut to fit, so that two names alike in their first 127 bytes named one
** log; a control character would reach every line that shows it. */
static const char *log_name_problem(const char *name)
{
    size_t n = strlen(name), at;
    if (n >= STORE_LOG_NAME_MAX) return "is longer";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) return "holds a control character";
    if (jsoncheck_utf8(name, n, &at)) return "is not valid UTF-8";
    return NULL;
}

/* *out: the integer flag (else var, else def) from lo to hi; msg says what
** is wrong, and a value from the environment is named by its variable,
** since no flag was typed. */
static int number_option(const char *flag, const char *var, const char *var_name, long long lo,
                         long long hi, long long def, const char *msg, long long *out, char *err,
                         size_t errlen)
{
    const char *v = pick(flag, var);
    *out = def;
    if (!v || cmd_parse_int(v, lo, hi, out) == 0) return CMD_OK;
    if (flag) return usage(err, errlen, "%s", msg);
    return usage(err, errlen, "%s='%.*s' in the environment: %s", var_name, utf8_cut(v, 64), v,
                 msg);
}

/* Resolve the shared options sp takes: given[i] is the flag's value (or
** NULL), then the environment, then the default. */
static int resolve(const cmd_spec *sp, const cmd_env *env, const char *const *given,
                   char *db_arg, cmd_common *c, char *err, size_t errlen)
{
    unsigned take = sp->shared | CMD_OPT_EVERY;
    long long v;
    int rc = CMD_OK;
#define OPT(bit) ((take & (bit)) ? given[index_of(bit)] : NULL)
#define VAR(bit, name) ((take & (bit)) ? pick(given[index_of(bit)], env->name) : NULL)
/* A number's flag, variable and the variable's name, for number_option(). */
#define NUM(bit, name, var_name) OPT(bit), ((take & (bit)) ? env->name : NULL), var_name
    c->db_given = OPT(CMD_OPT_DB) != NULL;
    c->key_given = OPT(CMD_OPT_KEY) != NULL;
    if (take & CMD_OPT_DB) {
        rc = path_option(env, VAR(CMD_OPT_DB, db), "database path", env->xdg_data_home,
                         ".local/share", "dss-audit/audit.db", &c->db, err, errlen);
        if (rc != CMD_OK) return rc;
        /* A PostgreSQL password must not show in `ps`, ours or a wrapped
        ** server's. */
        if (db_arg) store_wipe_password(db_arg);
        store_redact_path(c->db, c->db_shown, sizeof c->db_shown);
    }
    if (take & CMD_OPT_LOG) {
        c->log_given = OPT(CMD_OPT_LOG) != NULL;
        c->log = set(VAR(CMD_OPT_LOG, log));
        const char *bad = c->log ? log_name_problem(c->log) : NULL;
        if (bad)
            return usage(err, errlen, "%s--log must name a log in 1 to %d bytes of UTF-8 text "
                         "without control characters: this one %s",
                         c->log_given ? "" : "DSS_AUDIT_LOG in the environment: ",
                         STORE_LOG_NAME_MAX - 1, bad);
    }
    if (take & CMD_OPT_KEY)
        rc = path_option(env, VAR(CMD_OPT_KEY, key), "key path", env->xdg_config_home,
                         ".config", "dss-audit/signing.key", &c->key, err, errlen);
    if (rc == CMD_OK && (take & CMD_OPT_CONFIG)) {
        c->config_given = VAR(CMD_OPT_CONFIG, config) != NULL;
        rc = path_option(env, VAR(CMD_OPT_CONFIG, config), "config path",
                         env->xdg_config_home, ".config", "dss-audit/config.json", &c->config,
                         err, errlen);
    }
    if (rc == CMD_OK && (take & CMD_OPT_ACTOR)) {
        const char *actor = VAR(CMD_OPT_ACTOR, actor);
        if (actor && !*actor) return usage(err, errlen, "the actor name is empty");
        c->actor_given = actor != NULL;
        if (!(c->actor = actor ? strdup(actor) : login_name()))
            return usage(err, errlen, "out of memory");
    }
    if (rc != CMD_OK ||
        (rc = number_option(NUM(CMD_OPT_MAX_MESSAGE_BYTES, max_message_bytes,
                                "DSS_AUDIT_MAX_MESSAGE_BYTES"), 64, 1LL << 30, 4 << 20,
                            "--max-message-bytes must be an integer from 64 to 1073741824", &v,
                            err, errlen)) != CMD_OK)
        return rc;
    c->max_message_bytes = (size_t)v;
    if ((rc = number_option(NUM(CMD_OPT_MAX_DEPTH, max_depth, "DSS_AUDIT_MAX_DEPTH"), 2, 1024,
                            64, "--max-depth must be an integer from 2 to 1024", &v, err,
                            errlen)) != CMD_OK)
        return rc;
    c->max_depth = (int)v;
    if ((rc = number_option(NUM(CMD_OPT_CHECKPOINT_INTERVAL, checkpoint_interval,
                                "DSS_AUDIT_CHECKPOINT_INTERVAL"), 1, 1LL << 40, 1000,
                            "--checkpoint-interval must be a positive integer",
                            &c->checkpoint_interval, err, errlen)) != CMD_OK ||
        (rc = number_option(NUM(CMD_OPT_MAX_DB_SIZE, max_db_size, "DSS_AUDIT_MAX_DB_SIZE"),
                            65536, 1LL << 50, 0,
                            "--max-db-size must be a number of bytes, at least 65536",
                            &c->max_db_size, err, errlen)) != CMD_OK)
        return rc;
    if (take & CMD_OPT_READ_ONLY) {
        const char *ro = env->read_only;
        c->read_only = OPT(CMD_OPT_READ_ONLY) || (ro && *ro && strcmp(ro, "0") != 0);
    }
    if (take & CMD_OPT_ORIGIN) {
        /* It names the log's key in every signed note: a key name. */
        c->origin = set(VAR(CMD_OPT_ORIGIN, origin));
        if (c->origin && (strlen(c->origin) > STORE_ORIGIN_MAX ||
                          !note_name_ok(c->origin, strlen(c->origin))))
            return usage(err, errlen, "--origin must be 1 to %d bytes of text without "
                         "spaces or '+' (it names the log's key in signed notes)",
                         STORE_ORIGIN_MAX);
    }
#undef OPT
#undef VAR
#undef NUM
    return CMD_OK;
}

/* ---- parsing ------------------------------------------------------------ */

/* The getopt_long table of sp (lo, ending with a zero row) and its short
** options (shorts): -h and -V, the shared options, then its own. */
static void build_options(const cmd_spec *sp, struct option *lo, char *shorts)
{
    size_t nl = 0, ns = 0, own = n_own(sp);
    /* "+": options end at the first operand; ":": a missing value is
    ** told apart from an unknown option. */
    if (sp->operands == CMD_OPERANDS_END_OPTIONS) shorts[ns++] = '+';
    shorts[ns++] = ':';
    shorts[ns++] = 'h';
    shorts[ns++] = 'V';
    lo[nl++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[nl++] = (struct option){"version", no_argument, NULL, 'V'};
    for (size_t i = 0; i < N_SHARED; i++)
        if ((sp->shared | CMD_OPT_EVERY) & (1u << i))
            lo[nl++] = (struct option){shared_opts[i].name, shared_opts[i].has_arg, NULL,
                                       (int)(SHARED + i)};
    for (size_t i = 0; i < own; i++) {
        const cmd_option *op = &sp->options[i];
        int has_arg = op->kind == CMD_FLAG ? no_argument : required_argument;
        lo[nl++] = (struct option){op->name, has_arg, NULL,
                                   op->short_name ? op->short_name : (int)(OWN + i)};
        if (op->short_name) {
            shorts[ns++] = (char)op->short_name;
            if (has_arg) shorts[ns++] = ':';
        }
    }
    lo[nl] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
}

/* getopt_long matched long option lo[li] from argv[optind - 1] (or - 2,
** when its value was the next word).  An abbreviation that is another
** command's option spelled out (verify's --checkpoint, for serve's
** --checkpoint-interval) is that option, which does not apply here. */
static int check_abbreviation(const cmd_def *table, size_t n, const char *shown,
                              const struct option *lo, int li, char **argv, char *err,
                              size_t errlen)
{
    const char *raw = argv[optind - (optarg && optarg == argv[optind - 1] ? 2 : 1)];
    size_t len = strcspn(raw + 2, "=");
    char what[96];
    if (strlen(lo[li].name) == len) return CMD_OK;
    snprintf(what, sizeof what, "--%.*s", (int)len, raw + 2);
    for (size_t i = 0; i < n; i++)
        if (takes(table[i].spec, what))
            return usage(err, errlen, "option %s does not apply to '%s'", what, shown);
    return CMD_OK;
}

/* The usage error for what getopt_long returned as o, ':' or '?'. */
static int misuse(const cmd_def *table, size_t n, const cmd_spec *sp, const char *shown,
                  const struct option *lo, const char *shorts, int o, char **argv, char *err,
                  size_t errlen)
{
    char what[96];
    if (o == ':') {
        /* An abbreviation of ours that is another command's option spelled
        ** out (ui's --listen, auth's --list) is that option. */
        const char *raw = optind > 0 ? argv[optind - 1] : NULL;
        if (raw && raw[0] == '-' && raw[1] == '-') {
            snprintf(what, sizeof what, "--%.*s", (int)strcspn(raw + 2, "="), raw + 2);
            for (size_t i = 0; !takes(sp, what) && i < n; i++)
                if (takes(table[i].spec, what))
                    return usage(err, errlen, "option %s does not apply to '%s'", what, shown);
        }
        spell(sp, optopt, what, sizeof what);
        return usage(err, errlen, "option %s needs a value", what);
    }
    /* A known option given a value it does not take (--json=1). */
    if (optopt >= OWN || (optopt && optopt != ':' && strchr(shorts, optopt))) {
        spell(sp, optopt, what, sizeof what);
        return usage(err, errlen, "option %s takes no value", what);
    }
    if (optopt) snprintf(what, sizeof what, "-%c", optopt);
    else snprintf(what, sizeof what, "%s", argv[optind - 1]);
    return unknown_option(table, n, shown, lo, what, err, errlen);
}

/* --help: the command's page, or the program's listing every command. */
static int print_help(const cmd_def *table, size_t n, const char *name, const char *shown,
                      char *err, size_t errlen)
{
    const char *names[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 63; i++) names[k++] = table[i].name;
    names[k] = NULL;
    if (cli_help_print(stdout, name, names) != 0)
        return usage(err, errlen, "cannot print the help of '%s'", shown);
    return CMD_EXIT;
}

int cmd_parse(const cmd_def *table, size_t n, const cmd_def *cmd, const char *name,
              int argc, char **argv, const cmd_env *env, cmd_ctx *cx, char *err,
              size_t errlen)
{
    const cmd_spec *sp = cmd->spec;
    const char *shown = name ? name : cmd->name;
    struct option lo[MAX_OPTIONS + 1];
    char shorts[3 * MAX_OPTIONS + 8];
    const char *given[N_SHARED] = {0};
    char *db_arg = NULL; /* --db's text in argv, whose password is wiped */
    size_t own = n_own(sp);
    int o, li = -1, rc;

    memset(cx, 0, sizeof *cx);
    cx->spec = sp;
    cx->name = name;
    cx->flags = cmd->flags;
    cx->env = env;
    if (sp->opts_size && !(cx->opts = calloc(1, sp->opts_size)))
        return usage(err, errlen, "out of memory");
    if (own + N_SHARED + 2 > MAX_OPTIONS)
        return usage(err, errlen, "'%s' has more options than cmd.c allows", shown);
    build_options(sp, lo, shorts);
    optind = 0; /* glibc: start afresh, also after an earlier parse */
    opterr = 0;
    while ((o = getopt_long(argc, argv, shorts, lo, &li)) != -1) {
        if (li >= 0 &&
            (rc = check_abbreviation(table, n, shown, lo, li, argv, err, errlen)) != CMD_OK)
            return rc;
        li = -1;
        if (o == 'h') return print_help(table, n, name, shown, err, errlen);
        if (o == 'V') {
            printf("dss-audit-mcp %s\n", DSS_VERSION);
            return CMD_EXIT;
        }
        if (o == ':' || o == '?')
            return misuse(table, n, sp, shown, lo, shorts, o, argv, err, errlen);
        if (o >= SHARED && o < SHARED + N_SHARED) {
            given[o - SHARED] = optarg ? optarg : "";
            if (o == SHARED) db_arg = optarg;
            continue;
        }
        for (size_t i = 0; i < own; i++) {
            const cmd_option *op = &sp->options[i];
            if (o != (op->short_name ? op->short_name : (int)(OWN + i))) continue;
            if ((rc = store_own(op, cx->opts, optarg, err, errlen)) != CMD_OK) return rc;
            break;
        }
    }
    cx->operands = argv + optind;
    cx->n_operands = argc - optind;
    if (cx->n_operands > 0 && sp->operands == CMD_NO_OPERANDS)
        return usage(err, errlen, "unexpected argument '%s'", cx->operands[0]);
    rc = resolve(sp, env, given, db_arg, &cx->common, err, errlen);
    if (rc == CMD_OK && sp->check) rc = sp->check(cx, err, errlen);
    return rc;
}

void cmd_free(cmd_ctx *cx)
{
    for (size_t i = 0; cx->opts && cx->spec && i < n_own(cx->spec); i++) {
        const cmd_option *o = &cx->spec->options[i];
        char *field = (char *)cx->opts + o->offset;
        if (o->kind == CMD_CONNINFO) free(*(char **)(void *)field);
        if (o->kind == CMD_CONNINFOS)
            for (int k = 0; k < ((cmd_conninfos *)(void *)field)->n; k++)
                free(((cmd_conninfos *)(void *)field)->v[k]);
        if (o->kind == CMD_SECRETS)
            for (int k = 0; k < ((cmd_secrets *)(void *)field)->n; k++)
                wipe_free_str(((cmd_secrets *)(void *)field)->v[k]);
    }
    free(cx->opts);
    free(cx->common.db);
    free(cx->common.key);
    free(cx->common.actor);
    free(cx->common.config);
    memset(cx, 0, sizeof *cx);
}

char *cmd_read_small(const char *path, size_t max, const char *what, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 2);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = !buf || ferror(f);
    if (f != stdin) fclose(f);
    if (bad || n > max) {
        if (!buf) snprintf(err, errlen, "%s: out of memory", path);
        else if (n > max) snprintf(err, errlen, "%s: larger than %s", path, what);
        else snprintf(err, errlen, "%s: read error", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* ---- helpers ------------------------------------------------------------ */

store_options cmd_store_options(const cmd_ctx *cx, int readonly)
{
    return (store_options){.path = cx->common.db, .log_name = cx->common.log,
                           .readonly = readonly, .max_bytes = cx->common.max_db_size,
                           .origin = cx->common.origin};
}

int cmd_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

const char *cmd_home(const cmd_env *env)
{
    if (env->home && *env->home) return env->home;
    struct passwd *pw = getpwuid(geteuid());
    return pw ? pw->pw_dir : "/";
}

char *cmd_config_dir(const cmd_env *env)
{
    return xdg_path(env, env->xdg_config_home, ".config", "dss-audit");
}

void cmd_self_path(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n > 0) buf[n] = '\0';
    else snprintf(buf, len, "dss-audit-mcp");
}

int cmd_print_json(const cJSON *j)
{
    char *text = cJSON_Print(j);
    if (!text) return -1;
    puts(text);
    cJSON_free(text);
    return fflush(stdout) == 0 ? 0 : -1;
}

/* The log opened for writing, to sign a checkpoint no reader could: the
** same log as the read-only store's, with its own key only.  NULL with err
** otherwise. */
store *cmd_open_to_sign(const cmd_ctx *cx, char *err)
{
    store_options so = cmd_store_options(cx, 0);
    store *rw = NULL;
    char name[STORE_LOG_NAME_MAX];
    snprintf(name, sizeof name, "%s", store_log_name(cx->st));
    if (name[0]) so.log_name = name;
    if (store_open(&so, &rw, err) != STORE_OK) return NULL;
    if (strcmp(store_log_id(rw), store_log_id(cx->st)) != 0) {
        snprintf(err, STORE_ERRLEN, "the log is not this machine's own: no "
                                    "checkpoint may be signed for it here");
    } else if (store_record_log_key(rw, cx->sg->pk_hex, err) == STORE_OK) {
        return rw;
    }
    store_close(rw);
    return NULL;
}

int cmd_trusted_key(const cmd_ctx *cx, const char *public_key_file, char pk[SIGNER_PK_HEX],
                    const char **trusted, char *err, size_t errlen)
{
    char path[4096];
    *trusted = NULL;
    if (public_key_file) {
        if (signer_read_public(public_key_file, pk, err, errlen) != 0) return CMD_EUSAGE;
        *trusted = pk;
        return CMD_OK;
    }
    snprintf(path, sizeof path, "%s.pub", cx->common.key);
    if (access(path, R_OK) == 0 && signer_read_public(path, pk, err, errlen) == 0)
        *trusted = pk;
    return CMD_OK;
}
