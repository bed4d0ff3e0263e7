/*
** fixture.h: a temp dir, the real binary, and the sqlite3 command line.
**
** The integrity tests play both roles: the user, who fills an audit log by
** piping JSON-RPC lines into $DSS_BIN and later runs `verify`, and the
** attacker, who has the database file and the sqlite3 command-line tool
** (and drops the append-only triggers before editing).
**
** fx_new() makes a fresh temp dir holding audit.db and signing.key and sets
** DSS_AUDIT_KEY to that key for every child process.  A fixture owns every
** string and JSON tree it hands out; all of it, and the temp dir, goes away
** at fx_free() or, when an ASSERT returned early, at exit.  Set
** DSS_KEEP_TMP=1 to keep the temp dirs for a post-mortem.
**
** Every command runs with stdin from /dev/null unless it redirects it, and
** its stdout and stderr are captured in full.
*/
#ifndef DSS_INTEGRITY_FIXTURE_H
#define DSS_INTEGRITY_FIXTURE_H

#include <stddef.h>
#include <cjson/cJSON.h>

typedef struct fx {
    char dir[256];
    char db[320];
    char key[320];
    const char *bin;         /* $DSS_BIN */
    char last_err[1024];     /* why the last helper failed */
    const char *last_stdout; /* of the last fx_run, owned by the fixture */
    const char *last_stderr;
    void **owned;
    size_t n_owned, cap_owned;
    cJSON **trees;
    size_t n_trees, cap_trees;
    int runs;
    struct fx *next;
} fx;

/* NULL (with a message on stderr) when the temp dir cannot be made or
** DSS_BIN is not set. */
fx *fx_new(void);
void fx_free(fx *f);

/* Strings owned by the fixture. */
char *fx_fmt(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *fx_path(fx *f, const char *name); /* <dir>/<name> */
/* A path quoted for /bin/sh. */
char *fx_q(fx *f, const char *s);

/* Run a shell command line; *out and *err (each may be NULL) receive its
** whole stdout and stderr.  Returns the exit code, 128+signal, or -1. */
int fx_run(fx *f, const char *cmd, const char **out, const char **err);

/* Append `calls` log_operation calls to the database at db (NULL: the
** fixture's) in one server process, every line piped at once, with
** `interval` as --checkpoint-interval (0: the default).  Returns 0 when
** the server exited 0 and acknowledged every call, else -1 (see last_err). */
int fx_fill_db(fx *f, const char *db, long calls, long interval);
int fx_fill(fx *f, long calls, long interval);
/* Write the input fx_fill would pipe (initialize, then `calls` calls) to
** <dir>/<name>; returns its path or NULL. */
const char *fx_calls_file(fx *f, const char *name, long calls);

/* Run SQL through `sqlite3 -bail` on the fixture's database.  Returns the
** sqlite3 exit code; *out and *err receive its output. */
int fx_sql(fx *f, const char *sql, const char **out, const char **err);
/* The first column of the first row as an integer, or -1 on any error. */
long long fx_sql_int(fx *f, const char *sql);
/* The first column of the first row as text, or NULL. */
const char *fx_sql_text(fx *f, const char *sql);

/* `$DSS_BIN verify --db <db> <extra>`: the exit code; *report receives the
** parsed JSON report from stdout (NULL when stdout is not JSON). */
int fx_verify(fx *f, const char *extra, cJSON **report);
int fx_verify_db(fx *f, const char *db, const char *extra, cJSON **report);

/* A JSON file parsed, owned by the fixture; NULL when missing or bad. */
cJSON *fx_load_json(fx *f, const char *path);

/* Report helpers. */
int fx_report_ok(const cJSON *report);          /* ok is true */
long long fx_report_num(const cJSON *report, const char *name);
int fx_n_problems(const cJSON *report);
/* Is there a problem with this seq (-1: any) and kind (NULL: any)? */
int fx_has_problem(const cJSON *report, long long seq, const char *kind);
/* Does every problem have this kind? (true for no problems) */
int fx_all_problems(const cJSON *report, const char *kind);
/* The problems as one line of text, for failure messages. */
const char *fx_problems(fx *f, const cJSON *report);

/* An interactive server on pipes: one request, one reply. */
typedef struct fx_session fx_session;
/* Start `$DSS_BIN --db <db> --actor t <extra args...>` (NULL-terminated). */
fx_session *fx_session_start(fx *f, const char *const *args);
/* Send one line and return the next stdout line parsed (owned by the
** fixture), or NULL after 10 s or on EOF. */
cJSON *fx_session_rpc(fx_session *s, const char *line);
/* Send one line and expect no reply (a notification).  0 or -1. */
int fx_session_send(fx_session *s, const char *line);
/* Send a signal to the server. */
void fx_session_signal(fx_session *s, int sig);
/* Close stdin and wait for the exit code (-1 on timeout: killed). */
int fx_session_end(fx_session *s);

/* One log_operation request line with this id (owned by the fixture). */
const char *fx_call_line(fx *f, long id);
const char *fx_initialize_line(void);

#endif
