/*
** diag.c: the stderr funnel described in diag.h.
*/
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

/* The sink belongs to the thread that set it (serve's: the MCP session,
** not thread-safe): a message from another thread, a background
** shipper's, goes to stderr only. */
static _Thread_local void (*sink)(void *ctx, const char *text);
static _Thread_local void *sink_ctx;

void diag_set_sink(void (*fn)(void *ctx, const char *text), void *ctx)
{
    sink = fn;
    sink_ctx = ctx;
}

void diag(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "dss-audit-mcp: %s\n", buf);
    if (sink) sink(sink_ctx, buf);
}

int diag_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen) return code;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}
