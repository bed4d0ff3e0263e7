/*
** cli_output.c: the output files of export and report.
**
** Audit data leaves the database only into a new file of mode 0600, never
** over an existing one, and success is reported only once the file and
** its name are on stable storage; a command that fails half-way removes
** what it wrote, so no truncated file can pass for a complete one.
*/
#include "cli.h"

#include "../util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *cli_output_open(const char *path, const char *command, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s%s%s%s", path,
                 e == EEXIST ? "it already exists (" : strerror(e),
                 e == EEXIST ? command : "", e == EEXIST ? " never overwrites" : "",
                 e == EEXIST ? ")" : "");
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    return f;
}

int cli_output_close(FILE *f, const char *path, int ok, char *err, size_t errlen)
{
    if (!f) return ok ? 0 : -1;
    if (ok && (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        ok = 0;
    }
    if (fclose(f) != 0 && ok) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        ok = 0;
    }
    if (ok && fs_sync_parent(path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        ok = 0;
    }
    if (!ok) unlink(path);
    return ok ? 0 : -1;
}
