/*
** fsutil.h: small file-system helpers shared by the store, the key, serve and wrap.
*/
#ifndef DSS_FSUTIL_H
#define DSS_FSUTIL_H

#include <stddef.h>

/* Create every missing folder above path (mode 0700: they hold the audit
** log and its key).  Returns 0, or -1 with a sentence in err; an err of
** "out of memory" when even the path could not be copied. */
int fs_make_parents(const char *path, char *err, size_t errlen);

/* Write all n bytes of p to fd, retrying short writes and EINTR.  0, or -1
** with errno set. */
int fs_write_all(int fd, const void *p, size_t n);

#endif
