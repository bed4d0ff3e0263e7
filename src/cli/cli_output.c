/*
** cli_output.c: the output files of export and report.
**
** Audit data leaves the database only into a new file of mode 0600, never
** over an existing one, written through fs_newfile (fsutil.h): published
** under its name only once complete and on stable storage, so a command
** that fails half-way leaves nothing that could pass for a complete file.
*/
#include "cli.h"

#include <string.h>
#include <sys/stat.h>

static void exists(const char *path, const char *command, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot create %s: it already exists (%s never overwrites)", path,
             command);
}

int cli_output_open(fs_newfile *nf, const char *path, const char *command, char *err,
                    size_t errlen)
{
    struct stat sb;
    memset(nf, 0, sizeof *nf);
    /* Refuse at once what publishing would refuse at the end. */
    if (lstat(path, &sb) == 0) {
        exists(path, command, err, errlen);
        return CLI_EUSAGE;
    }
    if (fs_newfile_open(nf, path, err, errlen) != 0) return CLI_EUSAGE;
    setvbuf(nf->f, NULL, _IOFBF, 1 << 16);
    return CLI_OK;
}

int cli_output_publish(fs_newfile *nf, const char *command, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nf->path ? nf->path : "");
    int p = fs_newfile_publish(nf, 0, err, errlen);
    if (p == FS_EXISTS) exists(path, command, err, errlen);
    return p == 0 ? CLI_OK : CLI_EFAIL;
}
