/*
** fsutil.h: small file-system helpers shared by the store, the key, the
** archives and the exports.
**
** Every file this program creates for keeps (the signing key and its public
** half, a retention archive, an export) is written the same way, through
** fs_newfile: into a temporary file in the destination's own folder, which
** is fsynced, then published under its name in one atomic step that never
** replaces an existing file (link(), or renameat2(RENAME_NOREPLACE) where
** the file system has no hard links), and the folder is fsynced.  So no
** process ever sees a partial file under the real name, a crash leaves the
** old state or the whole new file, and of two processes creating one file
** at once exactly one wins while the other learns that it lost.
*/
#ifndef DSS_FSUTIL_H
#define DSS_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

/* Create every missing folder above path (mode 0700: they hold the audit
** log and its key).  Returns 0, or -1 with a sentence in err; an err of
** "out of memory" when even the path could not be copied. */
int fs_make_parents(const char *path, char *err, size_t errlen);

/* fsync the folder holding path.  Returns 0, or -1 with errno set. */
int fs_sync_parent(const char *path);

/* A file being written before it is published.  f is the stream to write
** to; the other members are the helper's. */
typedef struct fs_newfile {
    FILE *f;
    char *path; /* the name it will be published under */
    char *tmp;  /* the temporary file beside it */
} fs_newfile;

#define FS_EXISTS 1 /* fs_newfile_publish: path already existed */

/* Start a new file to be published as path: a temporary file of mode 0600
** in path's folder, opened for writing as nf->f.  Returns 0, or -1 with a
** sentence in err (nf is then empty and needs no discard). */
int fs_newfile_open(fs_newfile *nf, const char *path, char *err, size_t errlen);

/* Flush, fsync and close the temporary file, publish it as nf->path and
** fsync the folder.  With replace 0 an existing file is never replaced: the
** return is FS_EXISTS and the temporary file is removed.  With replace
** non-zero the new file takes the name over atomically (rename()).
** Returns 0, FS_EXISTS, or -1 with a sentence in err (without replace, a
** -1 leaves no file at path that was not there before); nf is released in
** every case. */
int fs_newfile_publish(fs_newfile *nf, int replace, char *err, size_t errlen);

/* Close and remove the temporary file without publishing it.  An empty nf
** (all NULL) is fine. */
void fs_newfile_discard(fs_newfile *nf);

/* Write len bytes as a new file at path through fs_newfile (mode 0600).
** Returns 0, FS_EXISTS (without replace), or -1 with a sentence in err. */
int fs_write_new(const char *path, const void *data, size_t len, int replace,
                 char *err, size_t errlen);

/* Write all n bytes of p to fd, retrying short writes and EINTR.  0, or -1
** with errno set. */
int fs_write_all(int fd, const void *p, size_t n);

/* Write the n bytes of p and a line end to fd as one message (one writev
** when the pipe takes it whole), retrying short writes and EINTR: how
** every newline-delimited JSON-RPC message goes out.  0, or -1 with errno
** set. */
int fs_write_line(int fd, const void *p, size_t n);

/* The whole file at path, at most max bytes, as a NUL-terminated string the
** caller frees (its length in *len, NULs inside counted).  NULL with a
** sentence in err when it cannot be opened or read, holds more than max
** bytes, or memory runs out; errno is then ENOENT exactly when the file
** does not exist. */
char *fs_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
