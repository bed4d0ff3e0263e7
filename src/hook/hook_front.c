/*
** hook_front.c: dss-audit-mcp-hook, the command agent clients run for each
** hook event.
**
** A hook event is a process of its own on the agent's critical path, and
** most of a direct write's time is the start-up of SQLite and libsodium
** and the opening of the store (docs/hooks.md, "Speed").  This program is
** linked against libc only.  When the database's recorder runs
** (`dss-audit-mcp recorder`, src/hook/hook_recorder.c), it reads the event,
** hands it over with its arguments and settings (hook_sock.h), waits until
** the recorder has committed it durably and prints the recorder's answer:
** the same output and exit status as a direct write would give.
**
** Otherwise it becomes the direct writer: it executes
** dss-audit-mcp-hook-direct beside it (the hook-only build of main.c) with
** the same arguments, and the event on its stdin: the original stdin when
** nothing was read yet, else a memory file holding what was read.  That is
** the case when there is no recorder (no XDG_RUNTIME_DIR, no socket, a
** socket file not owned by this user or open to others, a refused
** connection), when the recorder declines the event (another database,
** other settings), and when the connection drops before the answer.  In
** the last case, and when no answer comes within ANSWER_SECONDS, the
** recorder may have committed the event (or may still): the hook chose the
** entry's id before sending and passes it on (--event-id); the direct
** writer and the recorder both count an entry with that id as recorded,
** looked up in their turn on the database, so no event is recorded twice.
**
** The database's path is found as cmd.c resolves it (--db, DSS_AUDIT_DB,
** $XDG_DATA_HOME or ~/.local/share); anything but an absolute path
** (PostgreSQL, relative paths) goes to the direct writer at once, as do
** --help and --version.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook_sock.h"

#define DIRECT_NAME "dss-audit-mcp-hook-direct"
#define MAX_EVENT (8u << 20) /* HOOK_MAX_EVENT_BYTES */
/* How long to wait for the recorder's answer before writing directly: a
** recorder answers in milliseconds; one that takes this long is stopped or
** stuck, and the agent must not hang on it.  The event keeps its id, and
** whichever of the two writes second finds it there (both look it up in
** their turn on the database), so it is recorded once. */
#define ANSWER_SECONDS 20

/* Become the direct writer: argv (argv[0] replaced), with --event-id id
** when id is not NULL, and the event on stdin: payload (len bytes) when
** not NULL, else the stdin this process was given.  Returns only when that
** failed, with the exit status to end with. */
static int direct(int argc, char **argv, const char *id, const char *payload, size_t len)
{
    char self[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "dss-audit-mcp hook: warning: could not record this hook event: "
                        "cannot find " DIRECT_NAME ": %s\n", strerror(errno));
        return 0;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(path, sizeof path, "%s/" DIRECT_NAME, slash ? self : ".");
    if (payload) {
        int fd = memfd_create("dss-hook-event", 0);
        if (fd >= 0 && (hsock_write_all(fd, payload, len) != 0 || lseek(fd, 0, SEEK_SET) != 0)) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            /* No memory file: a pipe fed by a child of ours. */
            int p[2];
            if (pipe(p) != 0) goto failed;
            pid_t kid = fork();
            if (kid < 0) goto failed;
            if (kid == 0) {
                close(p[0]);
                _exit(hsock_write_all(p[1], payload, len) == 0 ? 0 : 1);
            }
            close(p[1]);
            fd = p[0];
        }
        if (dup2(fd, 0) < 0) goto failed;
        if (fd != 0) close(fd);
    }
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) goto failed;
    int k = 0, i = 1;
    args[k++] = path;
    if (argc > 1 && strcmp(argv[1], "hook") == 0) args[k++] = argv[i++];
    if (id) {
        args[k++] = "--event-id";
        args[k++] = (char *)id;
    }
    while (i < argc) args[k++] = argv[i++];
    args[k] = NULL;
    execv(path, args);
failed:
    fprintf(stderr, "dss-audit-mcp hook: warning: could not record this hook event: "
                    "cannot run %s: %s\n", path, strerror(errno));
    return 0;
}

static const char *set(const char *v)
{
    return v && *v ? v : NULL;
}

/* The database's path as cmd.c resolves it, into buf; NULL when it is not
** a local absolute path (or not known without the password database). */
static const char *db_path(int argc, char **argv, char *buf, size_t len)
{
    const char *db = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--db") && i + 1 < argc) db = argv[++i];
        else if (!strncmp(argv[i], "--db=", 5)) db = argv[i] + 5;
    }
    if (!db) db = set(getenv("DSS_AUDIT_DB"));
    if (db) return db[0] == '/' ? db : NULL;
    const char *xdg = getenv("XDG_DATA_HOME"), *home = set(getenv("HOME"));
    if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/dss-audit/audit.db", xdg);
    else if (home && home[0] == '/')
        snprintf(buf, len, "%s/.local/share/dss-audit/audit.db", home);
    else
        return NULL;
    return buf;
}

/* Whether an argument asks for help or the version, which the direct
** writer prints without reading stdin. */
static int asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
            !strcmp(argv[i], "--version") || !strcmp(argv[i], "help"))
            return 1;
    }
    return 0;
}

/* A new version 7 UUID (RFC 9562) from the clock and getrandom(), as the
** store's ids are (uuid7.h): 48 bits of milliseconds, then random bits. */
static int new_id(char out[37])
{
    unsigned char b[16];
    struct timespec ts;
    if (getrandom(b + 6, 10, 0) != 10 || clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    static const char hex[] = "0123456789abcdef";
    int k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
    return 0;
}

/* Connect to the recorder at path when it is this user's: the socket file
** owned by us and closed to others, the process listening ours.  The
** connected socket, or -1. */
static int connect_recorder(const char *path)
{
    struct stat st;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    uid_t uid;
    pid_t pid;
    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077))
        return -1;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = ANSWER_SECONDS};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || hsock_peer(fd, &uid, &pid) != 0 ||
        uid != geteuid() || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send the event; 0 with the answer's kind, status and texts (pointing
** into *body, which the caller frees), or -1 when no whole answer came. */
static int ask(int fd, int argc, char **argv, const char *id, const char *ev, size_t len,
               char **body, uint32_t *kind, uint32_t *status, const char **out, size_t *out_n,
               const char **err, size_t *err_n)
{
    hsock_buf b = {0};
    uint32_t nenv = 0;
    hsock_put_u32(&b, HSOCK_MAGIC);
    hsock_put_str(&b, id);
    hsock_put_u32(&b, (uint32_t)(argc - 1));
    for (int i = 1; i < argc; i++) hsock_put_str(&b, argv[i]);
    for (int i = 0; hsock_env_names[i]; i++) nenv += getenv(hsock_env_names[i]) != NULL;
    hsock_put_u32(&b, nenv);
    for (int i = 0; hsock_env_names[i]; i++) {
        const char *v = getenv(hsock_env_names[i]);
        if (!v) continue;
        size_t nl = strlen(hsock_env_names[i]), vl = strlen(v);
        char *kv = malloc(nl + vl + 2);
        if (!kv) {
            b.failed = 1;
            break;
        }
        memcpy(kv, hsock_env_names[i], nl);
        kv[nl] = '=';
        memcpy(kv + nl + 1, v, vl + 1);
        hsock_put_str(&b, kv);
        free(kv);
    }
    hsock_put_bytes(&b, ev, len);
    int rc = hsock_send(fd, &b);
    hsock_buf_free(&b);
    size_t n;
    if (rc != 0 || hsock_recv(fd, HSOCK_MAX_BODY, body, &n) != 0) return -1;
    hsock_reader r = {.p = *body, .len = n};
    hsock_get_u32(&r, kind);
    hsock_get_u32(&r, status);
    hsock_get_bytes(&r, out, out_n);
    hsock_get_bytes(&r, err, err_n);
    return r.failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    char dbbuf[4200], sock[sizeof ((struct sockaddr_un *)0)->sun_path], why[512], id[37];
    const char *db = db_path(argc, argv, dbbuf, sizeof dbbuf);
    if (!db || asks_help(argc, argv) ||
        hsock_path(db, getenv("XDG_RUNTIME_DIR"), sock, sizeof sock, why, sizeof why) != 0 ||
        access(sock, F_OK) != 0)
        return direct(argc, argv, NULL, NULL, 0);
    /* One byte over the limit is enough for the writer to refuse it whole. */
    size_t len = 0;
    int e;
    char *ev = hsock_read_event(0, MAX_EVENT + 1, &len, &e);
    if (!ev) return direct(argc, argv, NULL, NULL, 0);
    int fd = connect_recorder(sock);
    if (fd < 0 || new_id(id) != 0) {
        if (fd >= 0) close(fd);
        return direct(argc, argv, NULL, ev, len);
    }
    char *body = NULL;
    uint32_t kind, status;
    const char *out, *err;
    size_t out_n, err_n;
    int rc = ask(fd, argc, argv, id, ev, len, &body, &kind, &status, &out, &out_n, &err, &err_n);
    close(fd);
    if (rc != 0) {
        /* The recorder may have committed the event before it went. */
        free(body);
        return direct(argc, argv, id, ev, len);
    }
    if (kind != HSOCK_ANSWERED) {
        free(body);
        return direct(argc, argv, NULL, ev, len);
    }
    free(ev);
    int ok = hsock_write_all(1, out, out_n) == 0;
    hsock_write_all(2, err, err_n);
    free(body);
    (void)ok; /* a closed stdout is the client's business, as for a direct write */
    return (int)status;
}
