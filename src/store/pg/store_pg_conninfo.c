/*
** store_pg_conninfo.c: PostgreSQL connection strings as paths: which
** paths name a PostgreSQL database (a postgres:// or postgresql:// URI, or
** libpq's keyword=value pairs, by libpq's own list of keywords), and the
** password they may hold, masked for messages and wiped from a process's
** own argv so that `ps` never shows it.
*/
#include "store_pg_int.h"

#include <stdio.h>
#include <string.h>

static int is_uri(const char *path)
{
    return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
}

/* Whether text starts with "keyword =" for one of libpq's keywords (its
** own list, from PQconndefaults()): a keyword string, even one libpq will
** then refuse for a later mistake, which is better reported as such than
** taken for a file name. */
static int starts_with_keyword(const char *text)
{
    while (*text == ' ' || *text == '\t') text++;
    size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyz_");
    const char *q = text + n;
    while (*q == ' ') q++;
    if (n == 0 || *q != '=') return 0;
    int found = 0;
    PQconninfoOption *opts = PQconndefaults();
    for (PQconninfoOption *o = opts; o && o->keyword && !found; o++)
        found = strlen(o->keyword) == n && strncmp(o->keyword, text, n) == 0;
    PQconninfoFree(opts);
    return found;
}

int pgs_claims(const char *path)
{
    /* ./name=1.db names a file: no keyword is "./name". */
    return path && (is_uri(path) || starts_with_keyword(path));
}

/* The next password's span in text (a URI when uri; its userinfo only when
** userinfo, that is at the start of the whole path): [*from, *to) of
** text, or 0 when there is none. */
static int password_span(const char *text, int uri, int userinfo, size_t *from, size_t *to)
{
    if (uri && userinfo) {
        /* scheme://user:password@host..., the userinfo ending at the last
        ** '@' before the query: a password typed with an unencoded '/'
        ** ("pw/123") is masked and wiped whole, not left from its '/' on
        ** (a path holding '@' masks more than it needs to). */
        const char *auth = strstr(text, "://") + 3;
        const char *end = auth + strcspn(auth, "?#");
        const char *at = NULL;
        for (const char *q = auth; q < end; q++)
            if (*q == '@') at = q;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            *from = (size_t)(colon + 1 - text);
            *to = (size_t)(at - text);
            return 1;
        }
    }
    /* password=... as a keyword (space separated, maybe quoted) or as a
    ** URI parameter (& or ? separated). */
    for (const char *p = text; (p = strstr(p, "password")) != NULL; p += 8) {
        int starts = p == text || p[-1] == ' ' || p[-1] == '?' || p[-1] == '&' || p[-1] == '\t';
        const char *q = p + 8;
        while (*q == ' ') q++;
        if (!starts || *q != '=') continue;
        q++;
        while (*q == ' ') q++;
        const char *v = q;
        if (*q == '\'') {
            for (q++; *q && *q != '\''; q++)
                if (*q == '\\' && q[1]) q++;
            if (*q) q++;
        } else {
            q += strcspn(q, uri ? "&#" : " \t");
        }
        *from = (size_t)(v - text);
        *to = (size_t)(q - text);
        return 1;
    }
    return 0;
}

void pgs_redact_path(const char *path, char *out, size_t len)
{
    /* Every password (libpq takes the last of several) becomes "***". */
    size_t at = 0, o = 0, from, to;
    int uri = is_uri(path);
    out[0] = '\0';
    while (password_span(path + at, uri, at == 0, &from, &to)) {
        int n = snprintf(out + o, len - o, "%.*s***", (int)from, path + at);
        if (n < 0 || (size_t)n >= len - o) return;
        o += (size_t)n;
        at += to;
    }
    snprintf(out + o, len - o, "%s", path + at);
}

void pgs_wipe_password(char *path)
{
    size_t at = 0, from, to;
    int uri = is_uri(path);
    while (password_span(path + at, uri, at == 0, &from, &to)) {
        memset(path + at + from, 'x', to - from);
        at += to;
    }
}

void pgs_scrub_password(const char *conninfo, char *msg, size_t len)
{
    if (!conninfo) return;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    PQfreemem(perr);
    if (!opts) return;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "password") != 0 || !o->val || !o->val[0]) continue;
        size_t pl = strlen(o->val);
        char *at;
        while ((at = strstr(msg, o->val)) != NULL) {
            size_t tail = strlen(at + pl);
            if ((size_t)(at - msg) + 3 + tail + 1 > len) {
                *at = '\0';
                break;
            }
            memmove(at + 3, at + pl, tail + 1);
            memcpy(at, "***", 3);
        }
    }
    PQconninfoFree(opts);
}
