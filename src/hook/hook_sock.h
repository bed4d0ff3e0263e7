/*
** hook_sock.h: what dss-audit-mcp-hook and `dss-audit-mcp recorder` agree
** on: where a database's recorder listens, and the two messages they
** exchange over that Unix socket.
**
** A hook event is a new process each time; when a recorder holds the
** database open, the hook only reads its event, hands it over and prints
** the answer (src/hook/hook_front.c), instead of loading SQLite and
** libsodium and opening the store itself.  This module is libc only, so
** that the hook's front stays lean: it is compiled into both programs.
**
** The socket of a database is $XDG_RUNTIME_DIR/dss-audit/<h>.sock, h the
** 64-bit FNV-1a hash of the database's real path in hex: the per-user
** runtime folder (mode 0700, emptied at logout), a name short enough for
** sun_path whatever the database's path.  Without XDG_RUNTIME_DIR there is
** no recorder and hooks write directly.
**
** A request is [u32 length][body]; the body is u32 HSOCK_MAGIC, then
** length-prefixed byte strings (u32 length, bytes): the entry id the hook
** chose, the argument count and arguments, the count and NAME=value texts
** of the environment variables in hsock_env_names, and the event.  The
** answer is [u32 length][u32 kind][u32 exit status][stdout][stderr].
** Integers are in host order: both ends are on one machine.
**
** Conventions: 0 or -1; functions that allocate say who frees.
*/
#ifndef DSS_HOOK_SOCK_H
#define DSS_HOOK_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HSOCK_MAGIC 0x31485344u /* "DSH1" */

/* The largest request body accepted: an event one byte over the hook's
** limit (8 MiB, so that the recorder refuses it with the hook's own
** sentence) and 1 MiB of arguments and variables. */
#define HSOCK_MAX_BODY ((8u << 20) + 1 + (1u << 20))

/* Answer kinds. */
enum {
    HSOCK_ANSWERED = 0, /* the event was handled: print, exit with status */
    HSOCK_DECLINED = 1  /* not this recorder's to handle (another database,
                           other settings): nothing was written, the hook
                           writes directly */
};

/* The environment variables a hook's settings come from (cmd.c): the
** recorder resolves the hook's options with these, not its own.  NULL-ended. */
extern const char *const hsock_env_names[];

/* The socket path of the database at db (which must exist: its real path
** is hashed) under runtime_dir, into out (out_len bytes, at most
** sizeof sun_path).  0, or -1 with a sentence in why. */
int hsock_path(const char *db, const char *runtime_dir, char *out, size_t out_len,
               char *why, size_t whylen);

/* Read fd to its end into a new buffer (caller frees), keeping at most
** `keep` bytes and draining the rest (so the writer's write does not fail):
** *len is the number kept, so a *len of `keep` means "at least keep".  A
** hook's event is read this way, by dss-audit-mcp-hook and by the direct
** writer alike.  NULL with *err_no (errno, ENOMEM) on failure. */
char *hsock_read_event(int fd, size_t keep, size_t *len, int *err_no);

/* Write or read exactly n bytes, going on after EINTR.  0, or -1 (error,
** end of file). */
int hsock_write_all(int fd, const void *p, size_t n);
int hsock_read_all(int fd, void *p, size_t n);

/* A growing message body. */
typedef struct hsock_buf {
    char *p;
    size_t len, cap;
    int failed; /* out of memory: the message is unusable */
} hsock_buf;

void hsock_put_u32(hsock_buf *b, uint32_t v);
void hsock_put_bytes(hsock_buf *b, const void *p, size_t n);
void hsock_put_str(hsock_buf *b, const char *s);
/* Send [length][body] on fd.  0 or -1. */
int hsock_send(int fd, const hsock_buf *b);
void hsock_buf_free(hsock_buf *b);

/* Read one [length][body] message of at most max bytes from fd into a new
** buffer (caller frees *body).  0, or -1. */
int hsock_recv(int fd, size_t max, char **body, size_t *len);

/* Reading a body in order: each getter returns 0, or -1 once the body is
** too short (and every later call fails too). */
typedef struct hsock_reader {
    const char *p;
    size_t len, at;
    int failed;
} hsock_reader;

int hsock_get_u32(hsock_reader *r, uint32_t *v);
/* *p points into the body (not NUL-terminated), *n its length. */
int hsock_get_bytes(hsock_reader *r, const char **p, size_t *n);

/* The uid and pid of the process at the other end of a connected socket. 0
** or -1. */
int hsock_peer(int fd, uid_t *uid, pid_t *pid);

#endif
