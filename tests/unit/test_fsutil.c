/*
** test_fsutil.c: publishing new files whole and never over another
** (src/util/fsutil.h), which the signing key, archives and exports rely on.
*/
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

/* A fresh private temp dir into buf. */
static int make_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/dss-fsutil-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(buf) ? 0 : -1;
}

/* How many names the folder holds besides . and .. */
static int names_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static const char *slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

TEST(write_new_publishes_the_whole_file_private)
{
    char dir[256], path[320], buf[64], err[256];
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/key", dir);
    ASSERT_EQ_INT(fs_write_new(path, "abc", 3, 0, err, sizeof err), 0);
    ASSERT_EQ_STR(slurp(path, buf, sizeof buf), "abc");
    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0600);
    ASSERT_EQ_INT(names_in(dir), 1); /* no temporary file left */
    remove_dir(dir);
}

TEST(write_new_never_replaces_an_existing_file)
{
    char dir[256], path[320], buf[64], err[256];
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/key", dir);
    ASSERT_EQ_INT(fs_write_new(path, "first", 5, 0, err, sizeof err), 0);
    ASSERT_EQ_INT(fs_write_new(path, "second", 6, 0, err, sizeof err), FS_EXISTS);
    ASSERT_EQ_STR(slurp(path, buf, sizeof buf), "first");
    ASSERT_EQ_INT(names_in(dir), 1);
    remove_dir(dir);
}

TEST(write_new_with_replace_takes_the_name_over)
{
    char dir[256], path[320], buf[64], err[256];
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/key.pub", dir);
    ASSERT_EQ_INT(fs_write_new(path, "old", 3, 1, err, sizeof err), 0);
    ASSERT_EQ_INT(fs_write_new(path, "new", 3, 1, err, sizeof err), 0);
    ASSERT_EQ_STR(slurp(path, buf, sizeof buf), "new");
    ASSERT_EQ_INT(names_in(dir), 1);
    remove_dir(dir);
}

TEST(nothing_appears_under_the_name_before_publish)
{
    char dir[256], path[320], buf[64], err[256];
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/archive.jsonl", dir);
    fs_newfile nf;
    ASSERT_EQ_INT(fs_newfile_open(&nf, path, err, sizeof err), 0);
    ASSERT(fputs("line 1\n", nf.f) >= 0 && fflush(nf.f) == 0);
    ASSERT(access(path, F_OK) != 0);
    ASSERT_EQ_INT(fs_newfile_publish(&nf, 0, err, sizeof err), 0);
    ASSERT_EQ_STR(slurp(path, buf, sizeof buf), "line 1\n");
    ASSERT(nf.f == NULL && nf.tmp == NULL);
    remove_dir(dir);
}

TEST(discard_leaves_nothing_behind)
{
    char dir[256], path[320], err[256];
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/export.csv", dir);
    fs_newfile nf;
    ASSERT_EQ_INT(fs_newfile_open(&nf, path, err, sizeof err), 0);
    fputs("half an export", nf.f);
    fs_newfile_discard(&nf);
    ASSERT_EQ_INT(names_in(dir), 0);
    fs_newfile_discard(&nf); /* an empty one is fine */
    remove_dir(dir);
}

TEST(a_missing_folder_is_an_error_naming_the_file)
{
    char dir[256], path[320], err[256] = "";
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/no/such/key", dir);
    ASSERT_EQ_INT(fs_write_new(path, "x", 1, 0, err, sizeof err), -1);
    ASSERT_CONTAINS(err, path);
    ASSERT_CONTAINS(err, "No such file");
    remove_dir(dir);
}

/* fs_read_all(): the whole file, NULs included; a missing file says so
** by errno (callers treat it as "nothing yet"); a file over the limit or a
** folder is an error naming the path. */
TEST(read_all_reads_whole_files_and_names_what_fails)
{
    char dir[256], path[320], err[256] = "";
    size_t len = 0;
    ASSERT_EQ_INT(make_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/f", dir);
    ASSERT_EQ_INT(fs_write_new(path, "a\0b\n", 4, 0, err, sizeof err), 0);
    char *text = fs_read_all(path, 4, &len, err, sizeof err);
    ASSERT(text != NULL);
    ASSERT_EQ_INT(len, 4);
    ASSERT(memcmp(text, "a\0b\n", 5) == 0);
    free(text);
    ASSERT(fs_read_all(path, 3, &len, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, path);
    ASSERT_CONTAINS(err, "larger than 3 bytes");
    ASSERT(errno != ENOENT);
    ASSERT(fs_read_all(dir, 100, &len, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "cannot read");
    ASSERT(errno != ENOENT);
    snprintf(path, sizeof path, "%s/missing", dir);
    ASSERT(fs_read_all(path, 100, &len, err, sizeof err) == NULL);
    ASSERT_EQ_INT(errno, ENOENT);
    ASSERT_CONTAINS(err, path);
    remove_dir(dir);
}

TEST_MAIN(
    TEST_ENTRY(write_new_publishes_the_whole_file_private)
    TEST_ENTRY(write_new_never_replaces_an_existing_file)
    TEST_ENTRY(write_new_with_replace_takes_the_name_over)
    TEST_ENTRY(nothing_appears_under_the_name_before_publish)
    TEST_ENTRY(discard_leaves_nothing_behind)
    TEST_ENTRY(a_missing_folder_is_an_error_naming_the_file)
    TEST_ENTRY(read_all_reads_whole_files_and_names_what_fails)
)
