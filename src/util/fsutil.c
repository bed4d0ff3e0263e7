/*
** fsutil.c: the helpers declared in fsutil.h.
*/
#include "fsutil.h"
#include "jbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int fs_make_parents(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path);
    if (!dir) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create folder %s: %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
        *p = '/';
    }
    free(dir);
    return 0;
}

int fs_sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void release(fs_newfile *nf)
{
    free(nf->path);
    free(nf->tmp);
    nf->f = NULL;
    nf->path = nf->tmp = NULL;
}

int fs_newfile_open(fs_newfile *nf, const char *path, char *err, size_t errlen)
{
    memset(nf, 0, sizeof *nf);
    char *copy = strdup(path);
    const char *base = copy ? basename(copy) : NULL;
    size_t dirlen = base ? (size_t)(base - copy) : 0;
    int fd = -1;
    /* The temporary name is hidden and says whose it is, should a crash
    ** leave it behind: <folder>/.<name>.tmp.XXXXXX */
    if (base && (nf->path = strdup(path)) &&
        (nf->tmp = malloc(strlen(path) + 16)))
        sprintf(nf->tmp, "%.*s.%s.tmp.XXXXXX", (int)dirlen, path, base);
    free(copy);
    if (!nf->tmp) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    fd = mkstemp(nf->tmp); /* mode 0600 */
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!(nf->f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(nf->tmp);
        goto fail;
    }
    return 0;
fail:
    release(nf);
    return -1;
}

/* Give tmp the name path unless path exists: 0, FS_EXISTS, or -1/errno. */
static int publish_noreplace(const char *tmp, const char *path)
{
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return 0;
    }
    if (errno == EEXIST) return FS_EXISTS;
    /* File systems without hard links (vfat, some FUSE) may still rename
    ** atomically without replacing. */
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) return -1;
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    return errno == EEXIST ? FS_EXISTS : -1;
}

int fs_newfile_publish(fs_newfile *nf, int replace, char *err, size_t errlen)
{
    FILE *f = nf->f;
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) saved = saved ? saved : errno;
    int rc = -1;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", nf->path, strerror(saved));
    } else if (replace) {
        rc = rename(nf->tmp, nf->path) == 0 ? 0 : -1;
    } else {
        rc = publish_noreplace(nf->tmp, nf->path);
    }
    if (ok && rc < 0)
        snprintf(err, errlen, "cannot create %s: %s", nf->path, strerror(errno));
    if (rc != 0) unlink(nf->tmp);
    if (rc == 0 && fs_sync_parent(nf->path) != 0) {
        /* The file is there but not durable under its name: take back a
        ** new name, so that a failure leaves no file the caller must own. */
        snprintf(err, errlen, "cannot sync the folder of %s: %s", nf->path,
                 strerror(errno));
        if (!replace) unlink(nf->path);
        rc = -1;
    }
    release(nf);
    return rc;
}

void fs_newfile_discard(fs_newfile *nf)
{
    if (nf->f) {
        fclose(nf->f);
        unlink(nf->tmp);
    }
    release(nf);
}

int fs_write_new(const char *path, const void *data, size_t len, int replace,
                 char *err, size_t errlen)
{
    fs_newfile nf;
    if (fs_newfile_open(&nf, path, err, errlen) != 0) return -1;
    if (fwrite(data, 1, len, nf.f) != len) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        fs_newfile_discard(&nf);
        return -1;
    }
    return fs_newfile_publish(&nf, replace, err, errlen);
}

int fs_write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_write_line(int fd, const void *p, size_t n)
{
    struct iovec v[2] = {{.iov_base = (void *)p, .iov_len = n}, {.iov_base = "\n", .iov_len = 1}};
    ssize_t w;
    do w = writev(fd, v, 2);
    while (w < 0 && errno == EINTR);
    if (w < 0) return -1;
    if ((size_t)w > n) return 0;
    return fs_write_all(fd, (const char *)p + w, n - (size_t)w) == 0 &&
                   fs_write_all(fd, "\n", 1) == 0
               ? 0
               : -1;
}

char *fs_read_all(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
        errno = e;
        return NULL;
    }
    jbuf b = {0};
    int rc = jbuf_read(&b, f, max), e = errno;
    fclose(f);
    *len = b.len;
    char *text = rc == 0 ? jbuf_take(&b) : NULL;
    if (!text) {
        if (rc == -2)
            snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
        else if (b.failed)
            snprintf(err, errlen, "out of memory reading %s", path);
        else
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
        jbuf_free(&b);
        errno = e == ENOENT ? EIO : e;
    }
    return text;
}
