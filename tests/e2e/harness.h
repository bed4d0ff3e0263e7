/*
** harness.h: drive the real dss-audit-mcp binary over pipes.
**
** srv_start() forks and execs $DSS_BIN with `--db <fresh temp dir>/audit.db
** --actor e2e-tester` (plus per-test arguments and environment), with its
** stdin, stdout and stderr on pipes.  Every read waits with poll() and a
** deadline, so a server that hangs fails the test instead of hanging it.
**
** Ownership: a srv owns everything it hands out (reply lines, parsed
** replies, formatted strings), and srv_free() releases it all together with
** the child process and the temp dir.  Tests therefore never free replies,
** and a test that fails half-way through (the ASSERT macros return early)
** still leaks nothing: every live srv is also on a global list that an
** atexit() handler tears down (kills the child, removes the dir, frees).
**
** DSS_E2E_WRAPPER, when set, is split on blanks and put in front of the
** command (e.g. "valgrind --error-exitcode=99 --leak-check=full -q").  Exit
** statuses are then still the server's own, except that the wrapper's error
** code 99 is reported as SRV_WRAPPER_FAILED, which no test expects.
*/
#ifndef DSS_E2E_HARNESS_H
#define DSS_E2E_HARNESS_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define E2E_ACTOR "e2e-tester"

/* srv_wait()'s answers besides an exit code 0..255. */
enum {
    SRV_TIMEOUT = -1,        /* did not exit in time; it was killed */
    SRV_SIGNALED = -2,       /* ended by a signal */
    SRV_WRAPPER_FAILED = -99 /* DSS_E2E_WRAPPER reported errors (code 99) */
};

typedef struct srv srv;

typedef struct srv_opts {
    /* In args and env, "@DIR@" stands for the server's temp dir. */
    const char *const *args; /* extra arguments, NULL-terminated, or NULL */
    const char *const *env;  /* "NAME=value" sets, "NAME" unsets; NULL-ended */
    int no_db;               /* do not pass --db */
    int no_actor;            /* do not pass --actor */
} srv_opts;

/* Why the last harness call failed, and the last line read from any
** server's stdout: for failure messages. */
const char *h_error(void);
const char *h_last_line(void);

/* Start the server; NULL (see h_error) when it cannot be started.  opts may
** be NULL.  The server's environment never carries DSS_AUDIT_* variables
** from ours unless opts->env sets them. */
srv *srv_start(const srv_opts *opts);

/* The temp dir (removed by srv_free) and the --db path inside it. */
const char *srv_dir(const srv *s);
const char *srv_db(const srv *s);
int srv_pid(const srv *s);

/* Send bytes exactly as given (no newline added), draining the server's
** output meanwhile so that large messages cannot deadlock.  0 or -1. */
int srv_send_raw(srv *s, const void *p, size_t n);
/* Send text followed by "\n". */
int srv_send_line(srv *s, const char *text);

/* The next stdout line without its "\n", owned by s; NULL on timeout, EOF
** or a line that is not one JSON object (h_error says which). */
const char *srv_recv_line(srv *s);
/* The same for a line that may be any JSON value (a batch's array). */
const char *srv_recv_json_line(srv *s);
/* The next line, parsed; owned by s.  NULL as above. */
cJSON *srv_recv(srv *s);
/* True when no stdout line arrives within ms milliseconds. */
int srv_silent_for(srv *s, int ms);
/* Send a line and read the next reply. */
cJSON *srv_rpc(srv *s, const char *line);
/* Send a request with a fresh numeric id and return its reply, checking the
** reply's id; params_json may be NULL. */
cJSON *srv_request(srv *s, const char *method, const char *params_json);
/* initialize with this protocol version and clientInfo e2e-client/1.2.3;
** returns the result member, NULL on any error. */
cJSON *srv_initialize(srv *s, const char *version);
/* tools/call: the result member ({content, structuredContent?, isError}),
** or NULL when the reply is a JSON-RPC error or missing. */
cJSON *srv_call(srv *s, const char *tool, const char *args_json);
/* A successful tools/call: checks isError is false, that there is exactly one
** text block and that it parses to JSON equal to structuredContent; returns
** structuredContent or NULL (see h_error). */
cJSON *srv_call_ok(srv *s, const char *tool, const char *args_json);
/* A failed tools/call: checks isError is true and that the text block
** mentions every non-NULL word given; returns the text or NULL. */
const char *srv_call_err(srv *s, const char *tool, const char *args_json,
                         const char *word1, const char *word2);
/* Is the server still answering?  Sends a ping, expects {}.  1 or 0. */
int srv_alive(srv *s);

/* Close the server's stdin. */
void srv_close_stdin(srv *s);
/* Close stdin, drain stdout and stderr until EOF, and reap the child, killing
** it after the timeout.  Returns its exit code or an SRV_* value. */
int srv_wait(srv *s);
/* SIGKILL the child and reap it. */
void srv_kill(srv *s);

/* Everything the server wrote so far to stdout / stderr (NUL-terminated;
** what is waiting in the pipes is read first, without blocking). */
const char *srv_stdout(srv *s);
const char *srv_stderr(srv *s);
/* 1 when all of stdout so far is complete lines, each one JSON object in
** UTF-8 (every line srv_recv_json_line() returns is held to the same). */
int srv_stdout_is_json_lines(srv *s);

/* Stop (as srv_wait when still running), remove the temp dir, free all. */
void srv_free(srv *s);

/* Helpers whose results s owns. */
char *srv_fmt(srv *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
cJSON *srv_keep(srv *s, cJSON *tree);
/* A JSON file parsed, or NULL. */
cJSON *srv_load_json(srv *s, const char *path);
/* A file's bytes (NUL-terminated), or NULL if it does not exist; *n gets
** the size. */
char *srv_read_file(srv *s, const char *path, size_t *n);

/* 1 when text[0..n) is valid UTF-8 (Unicode table 3-7: no overlong forms,
** no surrogates, nothing above U+10FFFF).  The tests' own check, written
** apart from the server's (src/util/jsoncheck.c). */
int h_valid_utf8(const char *text, size_t n);

/* Does the memory [hay, hay+n) contain the string needle? */
int h_memmem(const char *hay, size_t n, const char *needle);

/* n distinct loopback TCP ports free a moment ago, into ports: 0, or -1.
** All n are bound at once before any is let go, so two never coincide (a
** port bound and closed alone may be handed out again at once). */
int h_free_ports(int n, int *ports);
/* One such port, or -1. */
int h_free_port(void);
/* Does something accept connections on 127.0.0.1:port? */
int h_port_open(int port);

#endif
