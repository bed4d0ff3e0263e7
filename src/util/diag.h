/*
** diag.h: diagnostics for people, never on stdout.
**
** stdout carries only protocol messages, so every warning and error the
** server wants to tell someone goes through here to stderr, prefixed with
** the program's name.  Keeping one funnel lets the MCP layer also forward
** these messages to a client as log notifications.
*/
#ifndef DSS_DIAG_H
#define DSS_DIAG_H

#include <stddef.h>

/* Print "dss-audit-mcp: <message>\n" to stderr. */
void diag(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The error convention of docs/architecture.md in one call: write a
** sentence for the caller into err (errlen bytes, always NUL-terminated,
** cut to fit; nothing when err is NULL) and return code, as in
** `return diag_err(err, errlen, CLI_EUSAGE, "--limit must be ...");`.
** Prints nothing. */
int diag_err(char *err, size_t errlen, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Also hand every message of the calling thread to fn (after printing
** it), or stop with NULL.  The MCP layer forwards them to clients as log
** notifications; other threads' messages go to stderr only. */
void diag_set_sink(void (*fn)(void *ctx, const char *text), void *ctx);

#endif
