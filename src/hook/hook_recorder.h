/*
** hook_recorder.h: the recorder process's socket: accepts hook events from
** dss-audit-mcp-hook (hook_front.c) over the database's Unix socket
** (hook_sock.h) and answers each once its handler has dealt with it.
**
** This module knows sockets and messages, not options or stores: the
** handler (`dss-audit-mcp recorder`, src/cli/cmd_recorder.c) resolves each
** request's arguments and settings and records the event through the one
** recording path (hook_run_recorded), or declines it.  Only processes of
** the recorder's own user are served (SO_PEERCRED); the socket is made
** mode 0600 in a folder of mode 0700.  A socket file left by a recorder
** that was killed is replaced; one a live recorder answers on is not.
*/
#ifndef DSS_HOOK_RECORDER_H
#define DSS_HOOK_RECORDER_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* One event as a hook handed it over; everything is borrowed for the call. */
typedef struct hookrec_request {
    const char *id;      /* the entry id the hook chose (NUL-terminated) */
    int argc;            /* the hook's arguments, without its program name */
    char **argv;         /* NULL-ended */
    char **env;          /* NAME=value of hsock_env_names that were set, NULL-ended */
    const char *event;   /* the event's bytes, len of them */
    size_t len;
    pid_t pid;           /* the hook process */
    uid_t uid;
} hookrec_request;

/* Handle one request: write the answer to out and errf and return the exit
** status, or return HOOKREC_DECLINE having written nothing to the store. */
#define HOOKREC_DECLINE (-1)
typedef int (*hookrec_handler)(void *ctx, const hookrec_request *rq, FILE *out, FILE *errf);

typedef struct hookrec_options {
    const char *socket_path;  /* hsock_path() of the database */
    hookrec_handler handle;
    void *ctx;
    FILE *log;                /* one line per start, stop and refusal */
    unsigned timeout_ms;      /* how long a hook may take, from its connection, to
                                 send its whole request, and to take the
                                 answer; 0: 10,000 */
    /* Called once no hook has come for quiet_ms (0: 20) after the last
    ** one, for upkeep that would otherwise delay a commit (recorder_idle:
    ** copying the write-ahead log back), as serve does.  May be NULL. */
    void (*idle)(void *ctx);
    unsigned quiet_ms;
    /* Asked after each request handled: non-zero ends the loop as SIGTERM
    ** would (the recorder's own database was replaced).  May be NULL. */
    int (*done)(void *ctx);
} hookrec_options;

/* Counts of what was served, for the log and the tests. */
typedef struct hookrec_stats {
    unsigned long long answered, declined, refused;
} hookrec_stats;

/*
** Listen on o->socket_path and serve requests until SIGTERM or SIGINT
** (blocked by this call outside its waits, so a request under way is
** finished and answered first), then remove the socket.  Requests are read
** side by side, up to 64 connections at once, and handled one at a time as
** each is read whole.  0 after
** such a stop; -1 with why when the socket could not be made (another
** recorder answers on it, the folder is not this user's...).  stats may be
** NULL.
*/
int hookrec_serve(const hookrec_options *o, hookrec_stats *stats, char *why, size_t whylen);

#endif
