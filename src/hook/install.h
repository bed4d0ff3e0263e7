/*
** install.h: `dss-audit-mcp hooks install|uninstall`, the hook entries of
** `dss-audit-mcp hook` in an agent client's settings file.
**
** install merges one entry per mapped event (see hook.c) into the client's
** file, leaving the user's own hooks as they are, after copying the file
** to PATH.dss-audit-mcp.bak; uninstall removes exactly the entries install
** added (those whose command runs this program's `hook --client C`), and
** when nothing else changed since, puts the backup's bytes back, so that
** install then uninstall leaves the file byte-identical.  A file that is
** not JSON, or whose hooks are not shaped as the client documents them, is
** left untouched and named in the message.
*/
#ifndef DSS_HOOK_INSTALL_H
#define DSS_HOOK_INSTALL_H

#include <stddef.h>
#include <stdio.h>

#include "hook.h"

typedef struct hookinst_options {
    hook_client client;  /* not AUTO */
    int project;         /* --scope project (default user) */
    int fail_closed;     /* the installed command gets --fail-closed */
    const char *file;    /* --file: this settings file instead */
    const char *program; /* the command the entries run (this binary) */
    const char *home;    /* the user's home folder */
} hookinst_options;

/* The settings file of opt's client and scope, into path (len bytes).
** 0, or -1 with a sentence in err (a scope the client has no file for). */
int hookinst_path(const hookinst_options *opt, char *path, size_t len, char *err,
                  size_t errlen);

/* Install (install 1) or uninstall (0) the entries; what changed is
** printed on out.  0, or -1 with a sentence in err, the file untouched. */
int hookinst_run(const hookinst_options *opt, int install, FILE *out, char *err,
                 size_t errlen);

#endif
