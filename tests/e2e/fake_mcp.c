/*
** fake_mcp.c: a tiny stdio MCP server for the wrap tests.
**
** Usage: fake_mcp SEEN_LOG [EXIT_CODE] [linger]
** Every line it receives is appended to SEEN_LOG as it arrived (so a test
** can compare bytes and count what reached the server).  Its replies are
** written with unusual spacing so that a relay that re-serializes shows.
** Tools: echo (returns its arguments as text), ask (sends the client a
** sampling/createMessage request and returns the answer), progress (a
** notifications/progress first), chatter (a non-JSON line on stdout
** first), unlinked (two error responses naming no request first: "id":
** null, and no id), die (exits 3 without answering), slow (answers after
** 300 ms), hold (never answers).
** At end of input it exits with EXIT_CODE (default 0), or with "linger"
** ignores the end of input and waits to be killed ("stubborn": and
** ignores SIGTERM too).
*/
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static FILE *seen;

static void out(const char *s)
{
    fputs(s, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static char *next_line(void)
{
    static char *buf;
    static size_t cap;
    ssize_t n = getline(&buf, &cap, stdin);
    if (n <= 0) return NULL;
    if (buf[n - 1] == '\n') buf[n - 1] = '\0';
    fprintf(seen, "%s\n", buf);
    fflush(seen);
    return buf;
}

static void reply_text(const char *id, const char *text)
{
    cJSON *t = cJSON_CreateString(text);
    char *q = cJSON_PrintUnformatted(t);
    char *line = malloc(strlen(q) + strlen(id) + 128);
    sprintf(line, "{ \"jsonrpc\" : \"2.0\", \"id\" : %s, \"result\" : "
                  "{\"content\": [ {\"type\":\"text\", \"text\": %s} ]} }", id, q);
    out(line);
    free(line);
    free(q);
    cJSON_Delete(t);
}

static void call(const char *id, const cJSON *params)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(params, "name"));
    if (!name) name = "";
    if (strcmp(name, "die") == 0) exit(3);
    if (strcmp(name, "hold") == 0) return;
    if (strcmp(name, "slow") == 0) nanosleep(&(struct timespec){0, 300000000}, NULL);
    if (strcmp(name, "chatter") == 0) out("this line is not JSON-RPC");
    if (strcmp(name, "unlinked") == 0) {
        out("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}");
        out("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"no id\"}}");
    }
    if (strcmp(name, "progress") == 0)
        out("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
            "\"params\":{\"progressToken\":\"p1\",\"progress\":1,\"total\":2}}");
    if (strcmp(name, "ask") == 0) {
        out("{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"method\":\"sampling/createMessage\","
            "\"params\":{\"messages\":[],\"maxTokens\":5}}");
        const char *l = next_line();
        reply_text(id, l ? l : "no answer");
        return;
    }
    char *args = cJSON_PrintUnformatted(cJSON_GetObjectItem(params, "arguments"));
    reply_text(id, args ? args : "null");
    free(args);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !(seen = fopen(argv[1], "a"))) return 2;
    int code = argc > 2 ? atoi(argv[2]) : 0;
    int stubborn = argc > 3 && strcmp(argv[3], "stubborn") == 0;
    int linger = stubborn || (argc > 3 && strcmp(argv[3], "linger") == 0);
    if (stubborn) signal(SIGTERM, SIG_IGN);
    const char *l;
    while ((l = next_line())) {
        cJSON *m = cJSON_Parse(l);
        const cJSON *method = cJSON_GetObjectItem(m, "method");
        const cJSON *idj = cJSON_GetObjectItem(m, "id");
        char *id = idj ? cJSON_PrintUnformatted(idj) : NULL;
        if (cJSON_IsString(method) && id) {
            const char *mm = method->valuestring;
            if (strcmp(mm, "initialize") == 0) {
                char line[512];
                snprintf(line, sizeof line,
                         "{\"jsonrpc\":\"2.0\", \"id\":%s, \"result\":{\"protocolVersion\":"
                         "\"2025-06-18\",\"capabilities\":{\"tools\":{}},"
                         "\"serverInfo\":{\"name\":\"fake\",\"version\":\"1.0\"}}}", id);
                out(line);
            } else if (strcmp(mm, "tools/call") == 0) {
                call(id, cJSON_GetObjectItem(m, "params"));
            } else {
                char line[256];
                snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", id);
                out(line);
            }
        }
        free(id);
        cJSON_Delete(m);
    }
    while (linger) pause();
    return code;
}
