/*
** diag.c: the stderr funnel described in diag.h.
*/
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

void diag(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "dss-audit-mcp: %s\n", buf);
}
