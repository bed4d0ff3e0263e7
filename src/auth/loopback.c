/*
** loopback.c: the OAuth redirect listener (see loopback.h).
**
** libmicrohttpd runs it on its own thread; the handler stores the first
** matching redirect under a mutex and signals a condition variable that
** loopback_wait() sleeps on in slices, so that a cancel flag is noticed.
*/
#define _GNU_SOURCE
#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

struct loopback {
    struct MHD_Daemon *d;
    int port;
    char *state;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    loopback_result res;
};

void loopback_result_free(loopback_result *r)
{
    free(r->code);
    free(r->iss);
    free(r->error);
    free(r->error_description);
    memset(r, 0, sizeof *r);
}

static enum MHD_Result page(struct MHD_Connection *c, unsigned status, const char *text)
{
    char body[1024];
    snprintf(body, sizeof body,
             "<!doctype html><meta charset=utf-8><title>dss-audit-mcp</title>"
             "<p style=\"font-family:sans-serif\">%s</p>\n", text);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static char *arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    return v ? strdup(v) : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **req)
{
    loopback *l = cls;
    if (strcmp(method, "GET") != 0) return page(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only.");
    if (strcmp(url, "/callback") != 0) return page(c, MHD_HTTP_NOT_FOUND, "Not found.");
    const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    if (!state || strcmp(state, l->state) != 0)
        return page(c, MHD_HTTP_BAD_REQUEST,
                    "This answer does not belong to the authorization that is waiting "
                    "(its state does not match); it was ignored.");
    pthread_mutex_lock(&l->mu);
    int first = !l->done;
    if (first) {
        l->res.code = arg(c, "code");
        l->res.iss = arg(c, "iss");
        l->res.error = arg(c, "error");
        l->res.error_description = arg(c, "error_description");
        l->done = 1;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return page(c, MHD_HTTP_OK,
                first ? "dss-audit-mcp received the authorization. You can close this window."
                      : "The authorization was already received.");
}

static struct MHD_Daemon *listen_on(loopback *l, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, (uint16_t)port,
                            NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&a, MHD_OPTION_CONNECTION_LIMIT, 16u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
}

loopback *loopback_start(int port, const char *state, char *err, size_t errlen)
{
    loopback *l = calloc(1, sizeof *l);
    if (!l || !(l->state = strdup(state))) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->d = port > 0 ? listen_on(l, port) : NULL;
    if (!l->d) l->d = listen_on(l, 0);
    if (!l->d) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1 for the authorization's redirect");
        loopback_stop(l);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info ? info->port : 0;
    return l;
}

int loopback_port(const loopback *l) { return l->port; }

int loopback_wait(loopback *l, long timeout_ms, const volatile int *cancel,
                  loopback_result *res)
{
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->done && !(cancel && *cancel)) {
        struct timespec now, slice;
        clock_gettime(CLOCK_REALTIME, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        slice = now;
        slice.tv_nsec += 200000000L;
        if (slice.tv_nsec >= 1000000000L) {
            slice.tv_sec++;
            slice.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&l->cv, &l->mu, &slice);
    }
    int got = l->done;
    if (got) {
        *res = l->res;
        memset(&l->res, 0, sizeof l->res);
    }
    pthread_mutex_unlock(&l->mu);
    return got;
}

void loopback_stop(loopback *l)
{
    if (!l) return;
    if (l->d) MHD_stop_daemon(l->d);
    loopback_result_free(&l->res);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->state);
    free(l);
}
