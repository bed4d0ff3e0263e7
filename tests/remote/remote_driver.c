/*
** remote_driver.c: a tests-only stdio front for the remote transport: a
** minimal relay without recording, so that src/remote/ and src/auth/ are
** driven end to end on their own (test_remote.c), with knobs `wrap --url`
** does not have (--max-queued, --stall-ms, --config-dir) and the counts of
** OAuth flows and refreshes on exit.
**
**   remote_driver --url URL [--transport auto|streamable-http|sse]
**                 [--header 'Name: value' ...] [--auth auto|none]
**                 [--config-dir DIR] [--open-with CMD] [--auth-timeout S]
**                 [--client-id-url URL] [--max-queued BYTES] [--stall-ms MS]
**                 [--max-message-bytes BYTES]
**
** Lines from stdin go to remote_send(); messages come back on stdout, one
** per line; notices go to stderr prefixed with "remote: "; local answers
** are marked nowhere (the bytes tell).  DSS_AUDIT_HEADERS (a JSON object
** of header names and values) adds headers and DSS_AUDIT_URL stands for a
** missing --url, as in the entries wrap-config writes.  On EOF of
** stdin or SIGTERM the transport is closed (the session DELETEd) and the
** driver prints "remote_driver: flows N refreshes M max-queued B" to
** stderr.  --stall-ms stops taking events for that long once, at the first
** progress notification: a client that does not read, for the outbox's
** limit (--max-queued) to be tested.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "auth/oauth.h"
#include "protocol/frame.h"
#include "remote/remote.h"
#include "util/fsutil.h"

static volatile int stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *config = NULL, *open_with = NULL, *cid = NULL;
    const char *headers[64];
    size_t nh = 0;
    remote_kind kind = REMOTE_AUTO;
    int use_auth = 1;
    long auth_timeout = 60, stall_ms = 0;
    size_t max_queued = 0, max_message = 4u << 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (strcmp(a, "--url") == 0) url = v;
        else if (strcmp(a, "--header") == 0 && nh < 64) headers[nh++] = v;
        else if (strcmp(a, "--config-dir") == 0) config = v;
        else if (strcmp(a, "--open-with") == 0) open_with = v;
        else if (strcmp(a, "--client-id-url") == 0) cid = v;
        else if (strcmp(a, "--auth-timeout") == 0) auth_timeout = atol(v);
        else if (strcmp(a, "--max-queued") == 0) max_queued = (size_t)atol(v);
        else if (strcmp(a, "--max-message-bytes") == 0) max_message = (size_t)atol(v);
        else if (strcmp(a, "--stall-ms") == 0) stall_ms = atol(v);
        else if (strcmp(a, "--auth") == 0) use_auth = strcmp(v, "none") != 0;
        else if (strcmp(a, "--transport") == 0)
            kind = strcmp(v, "sse") == 0 ? REMOTE_SSE
                   : strcmp(v, "streamable-http") == 0 || strcmp(v, "http") == 0
                       ? REMOTE_STREAMABLE : REMOTE_AUTO;
        else goto usage;
        i++;
    }
    if (!url) url = getenv("DSS_AUDIT_URL");
    if (!url) goto usage;
    static char lines[64][1024];
    cJSON *envh = getenv("DSS_AUDIT_HEADERS") ? cJSON_Parse(getenv("DSS_AUDIT_HEADERS")) : NULL;
    const cJSON *h;
    cJSON_ArrayForEach(h, envh) {
        if (nh >= 64 || !cJSON_IsString(h)) continue;
        snprintf(lines[nh], sizeof lines[nh], "%s: %s", h->string, h->valuestring);
        headers[nh] = lines[nh];
        nh++;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    oauth *auth = NULL;
    if (use_auth) {
        oauth_options ao = {.server_url = url, .config_dir = config, .open_with = open_with,
                            .no_browser = 1, .timeout_s = auth_timeout,
                            .client_id_url = cid, .cancel = &stop};
        if (!(auth = oauth_new(&ao, err, sizeof err))) {
            fprintf(stderr, "remote_driver: %s\n", err);
            return 2;
        }
    }
    remote_options ro = {.url = url, .headers = headers, .nheaders = nh, .kind = kind,
                         .auth = auth, .max_message_bytes = max_message,
                         .max_queued_bytes = max_queued};
    remote *r = remote_open(&ro, err, sizeof err);
    if (!r) {
        fprintf(stderr, "remote_driver: %s\n", err);
        oauth_free(auth);
        cJSON_Delete(envh);
        return 2;
    }
    frame *in = frame_new(0, 4u << 20);
    int in_open = 1, status = 0;
    time_t eof_at = 0;
    while (!stop) {
        struct pollfd p[2] = {{.fd = in_open ? 0 : -1, .events = POLLIN},
                              {.fd = remote_fd(r), .events = POLLIN}};
        if (poll(p, 2, 500) < 0 && errno != EINTR) break;
        if (p[0].revents) {
            const char *line;
            size_t len;
            int k;
            while ((k = frame_next(in, 0, NULL, &line, &len)) == FRAME_LINE)
                remote_send(r, line, len);
            if (k == FRAME_EOF || k == FRAME_ERROR) in_open = 0;
        }
        remote_event ev;
        int closed = 0;
        while (remote_next(r, &ev)) {
            if (ev.kind == REMOTE_EV_MESSAGE) {
                fs_write_all(1, ev.bytes, ev.len);
                fs_write_all(1, "\n", 1);
                if (stall_ms && strstr(ev.bytes, "notifications/progress")) {
                    struct timespec ts = {stall_ms / 1000, (stall_ms % 1000) * 1000000L};
                    nanosleep(&ts, NULL);
                    stall_ms = 0;
                }
            } else {
                fprintf(stderr, "remote: %s\n", ev.bytes);
                if (ev.kind == REMOTE_EV_CLOSED) closed = 1;
            }
            free(ev.bytes);
        }
        if (closed) {
            status = 3;
            break;
        }
        /* The client is gone: stop once nothing is under way, or after
        ** 5 s (as wrap's --kill-after). */
        if (!in_open && !eof_at) eof_at = time(NULL);
        if (!in_open && (remote_idle(r) || time(NULL) - eof_at >= 5)) break;
    }
    size_t peak = remote_max_queued(r);
    remote_close(r, 2000);
    int flows = 0, refreshes = 0;
    if (auth) oauth_counts(auth, &flows, &refreshes);
    fprintf(stderr, "remote_driver: flows %d refreshes %d max-queued %zu\n", flows, refreshes,
            peak);
    oauth_free(auth);
    frame_free(in);
    cJSON_Delete(envh);
    return status;
usage:
    fprintf(stderr, "usage: remote_driver --url URL [options]\n");
    return 2;
}
