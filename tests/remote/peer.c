/*
** peer.c: the real peers of the remote tests (see peer.h), and what the
** cases share to talk to a relay over its stdio.
*/
#define _GNU_SOURCE
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remote/httpc.h"

/* ---- peers -------------------------------------------------------------- */

static peer *peers[16];
static int cleanup_set;

void peer_stop(peer *p)
{
    if (!p || p->pid <= 0) return;
    kill(-p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

static void cleanup(void)
{
    for (int i = 0; i < 16; i++)
        if (peers[i]) {
            peer_stop(peers[i]);
            char cmd[128];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", peers[i]->dir);
            if (system(cmd) != 0) {}
            free(peers[i]);
            peers[i] = NULL;
        }
}

void nap(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* (Re)start p's process on its ports; 0 or -1. */
int peer_run(peer *p)
{
    const char *src = getenv("DSS_SOURCE_DIR"), *node = getenv("DSS_NODE");
    if (!src || !node) return -1;
    char script[1024], port[16], port2[16];
    snprintf(port, sizeof port, "%d", p->port);
    snprintf(port2, sizeof port2, "%d", p->port2);
    char *argv[12] = {(char *)node, script, NULL};
    int n = 2;
    if (strncmp(p->kind, "everything", 10) == 0) {
        snprintf(script, sizeof script,
                 "%s/tests/client/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
                 src);
        argv[n++] = strcmp(p->kind, "everything-sse") == 0 ? "sse" : "streamableHttp";
    } else if (strcmp(p->kind, "sdk-oauth") == 0) {
        snprintf(script, sizeof script,
                 "%s/tests/client/node_modules/@modelcontextprotocol/sdk/dist/esm/examples/"
                 "server/simpleStreamableHttp.js", src);
        argv[n++] = "--oauth";
    } else {
        snprintf(script, sizeof script, "%s/tests/remote/test_server.mjs", src);
        argv[n++] = strncmp(p->kind, "modern", 6) == 0 ? "modern" : "legacy";
        argv[n++] = port;
        if (strcmp(p->kind, "legacy-oauth") == 0) argv[n++] = "--oauth";
        if (strncmp(p->kind, "legacy-oauth-lie-", 17) == 0) {
            argv[n++] = "--oauth";
            argv[n++] = "--lie";
            argv[n++] = p->kind + 17;
        }
        if (strcmp(p->kind, "legacy-oauth-cimd") == 0) {
            argv[n++] = "--oauth";
            argv[n++] = "--cimd";
        }
        if (strcmp(p->kind, "legacy-oauth-short") == 0) {
            argv[n++] = "--oauth";
            argv[n++] = "--token-ttl";
            argv[n++] = "30";
        }
        if (strcmp(p->kind, "modern-key") == 0) {
            argv[n++] = "--require-header";
            argv[n++] = "X-Api-Key:k3y-s3cr3t-v4lu3";
        }
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        setenv("PORT", port, 1);
        setenv("MCP_PORT", port, 1);
        setenv("MCP_AUTH_PORT", port2, 1);
        char log[128];
        snprintf(log, sizeof log, "%s/peer.log", p->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(node, argv);
        _exit(127);
    }
    p->pid = pid;
    for (int i = 0; i < 300; i++) {
        if (h_port_open(p->port) && (!p->port2 || h_port_open(p->port2))) return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            p->pid = 0;
            return -1;
        }
        nap(50);
    }
    return -1;
}

peer *peer_start(const char *kind)
{
    if (!cleanup_set++) atexit(cleanup);
    peer *p = calloc(1, sizeof *p);
    snprintf(p->kind, sizeof p->kind, "%s", kind);
    snprintf(p->dir, sizeof p->dir, "/tmp/dss-remote-XXXXXX");
    if (!mkdtemp(p->dir)) {
        free(p);
        return NULL;
    }
    for (int i = 0; i < 16; i++)
        if (!peers[i]) {
            peers[i] = p;
            break;
        }
    int ports[2];
    if (h_free_ports(2, ports) != 0) return NULL;
    p->port = ports[0];
    if (strcmp(kind, "sdk-oauth") == 0) p->port2 = ports[1];
    if (peer_run(p) != 0) {
        fprintf(stderr, "cannot start the peer %s\n", kind);
        return NULL;
    }
    return p;
}

/* GET or POST http://127.0.0.1:PORT/path of p: the body (caller frees). */
char *peer_http(peer *p, const char *method, const char *path)
{
    char url[256], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p->port, path);
    httpc_response r;
    if (httpc_request(method, url, NULL, "", 0, 5000, 0, 1 << 20, &r, err, sizeof err) != 0)
        return NULL;
    char *b = r.body;
    r.body = NULL;
    httpc_response_free(&r);
    return b;
}

/* ---- reading --------------------------------------------------------------- */

/* Lines until the response with numeric id; the others are appended to
** *others (a JSON array, may be NULL).  The response, or NULL. */
cJSON *until_id(srv *s, int id, cJSON *others)
{
    for (;;) {
        cJSON *m = srv_recv(s);
        if (!m) return NULL;
        const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "id");
        if (cJSON_IsNumber(mid) && mid->valuedouble == id &&
            !cJSON_GetObjectItemCaseSensitive(m, "method"))
            return m;
        if (others) cJSON_AddItemToArray(others, cJSON_Duplicate(m, 1));
    }
}

const char *result_text(const cJSON *resp)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(resp, "result"), "content");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(c, 0), "text");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

int error_code(const cJSON *resp)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(resp, "error"), "code");
    return cJSON_IsNumber(c) ? c->valueint : 0;
}

int send_line(srv *s, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return srv_send_line(s, buf);
}

/* initialize (id 1) and notifications/initialized; the init response. */
cJSON *handshake(srv *s, const char *init_line)
{
    if (srv_send_line(s, init_line) != 0) return NULL;
    cJSON *r = until_id(s, 1, NULL);
    if (!cJSON_GetObjectItemCaseSensitive(r, "result")) return NULL;
    if (srv_send_line(s, INITIALIZED) != 0) return NULL;
    return r;
}

cJSON *call(srv *s, int id, const char *tool, const char *args, cJSON *others)
{
    if (send_line(s, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
                     "{\"name\":\"%s\",\"arguments\":%s}}", id, tool, args) != 0)
        return NULL;
    return until_id(s, id, others);
}

/* The peer's log once it contains needle (at most 5 s): caller frees. */
char *wait_log(peer *p, const char *needle)
{
    char *log = NULL;
    for (int i = 0; i < 50 && !(log && strstr(log, needle)); i++) {
        free(log);
        nap(100);
        log = peer_http(p, "GET", "/admin/log");
    }
    return log;
}

/* Lines until a request or notification of method; that message, or NULL. */
cJSON *until_method(srv *s, const char *method)
{
    for (;;) {
        cJSON *m = srv_recv(s);
        if (!m) return NULL;
        const cJSON *mm = cJSON_GetObjectItemCaseSensitive(m, "method");
        if (cJSON_IsString(mm) && strcmp(mm->valuestring, method) == 0) return m;
    }
}

int count_in_log(const char *log, const char *needle)
{
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The --open-with command: a browser stand-in that follows the
** authorization server's redirect to the loopback listener, and keeps
** its command line for the test to check. */
const char *opener(peer *p)
{
    static char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sh -c 'printf \"%%s\\n\" \"$*\" >> %s/opener.argv; curl -s -L -o /dev/null \"$1\"' opener",
             p->dir);
    return cmd;
}

/* The stored access and refresh tokens (from the one record file). */
void stored_tokens(const char *config_dir, char *at, char *rt, size_t n)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat %s/oauth/*.json 2>/dev/null", config_dir);
    FILE *f = popen(cmd, "r");
    char buf[8192] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    pclose(f);
    cJSON *j = cJSON_Parse(buf);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "refresh_token");
    snprintf(at, n, "%s", cJSON_IsString(a) ? a->valuestring : "");
    snprintf(rt, n, "%s", cJSON_IsString(r) ? r->valuestring : "");
    cJSON_Delete(j);
}

