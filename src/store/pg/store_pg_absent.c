/*
** store_pg_absent.c: the PostgreSQL backend's place in a program built
** without libpq (dss-audit-mcp-hook, the hook's lean start: libpq and the
** libraries it pulls in are most of what the dynamic loader does for a
** process that records one event, see docs/hooks.md).
**
** It claims the paths that may name a PostgreSQL database (a postgres:// or
** postgresql:// URI, or text that starts like libpq's keyword=value pairs:
** without libpq's list of keywords it takes any "word=") and refuses to
** open them.  Such a program hands those paths to dss-audit-mcp before
** it opens anything (main.c, built with DSS_HOOK_ONLY), so the refusal is a
** message only a broken installation shows.
*/
#include "../store_methods.h"

#include <stdio.h>
#include <string.h>

static int maybe_postgres(const char *path)
{
    if (!path) return 0;
    if (!strncmp(path, "postgres://", 11) || !strncmp(path, "postgresql://", 13)) return 1;
    while (*path == ' ' || *path == '\t') path++;
    size_t n = strspn(path, "abcdefghijklmnopqrstuvwxyz_");
    const char *q = path + n;
    while (*q == ' ') q++;
    return n > 0 && *q == '=';
}

static int absent_open(const store_options *opt, store **out, char *err)
{
    (void)opt;
    *out = NULL;
    snprintf(err, STORE_ERRLEN,
             "this program was built without PostgreSQL; run dss-audit-mcp instead");
    return STORE_EINVAL;
}

const store_methods pg_store_methods = {
    .name = "postgresql",
    .remote = 1,
    .claims = maybe_postgres,
    .open = absent_open,
};
