/*
** fsutil.h: small file-system helpers shared by the store, the key and
** the files the commands write (archives, exports, reports).
*/
#ifndef DSS_FSUTIL_H
#define DSS_FSUTIL_H

#include <stddef.h>

/* Create every missing folder above path (mode 0700: they hold the audit
** log and its key).  Returns 0, or -1 with a sentence in err; an err of
** "out of memory" when even the path could not be copied. */
int fs_make_parents(const char *path, char *err, size_t errlen);

/* fsync the folder holding path, so that a file just created there keeps
** its name after a crash.  Returns 0, or -1 with errno set. */
int fs_sync_parent(const char *path);

#endif
