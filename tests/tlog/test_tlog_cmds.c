/*
** test_tlog_cmds.c: the transparency log through the real commands of
** dss-audit-mcp (DSS_BIN): checkpoint --note, public-key --note, with what
** they print checked by Go's golang.org/x/mod/sumdb/note and sumdb/tlog
** (the gotlog peer, DSS_GOTLOG), an implementation nobody here wrote.
**
** Each case makes a fresh SQLite log in a temporary folder by appending
** through the store (store.h), then runs the commands on it as a person
** would.
*/
#include "test.h"

#include <stdarg.h>
#include <sys/stat.h>

#include "integrity/checkpoint.h"
#include "store/store.h"
#include "tlog/c2sp.h"
#include "tlog/ckpt.h"
#include "tlog/note.h"
#include "tlog_fixture.h"

/* ---- the fixture ---- */

static char dir[64], db[128], key[128];

static void rm_dir(void)
{
    char cmd[128];
    if (!dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    dir[0] = '\0';
}

/* A fresh folder with the paths of a database and a key in it. */
static int fresh(void)
{
    static int registered;
    rm_dir();
    strcpy(dir, "/tmp/dss-tlogcmd-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(db, sizeof db, "%s/audit.db", dir);
    snprintf(key, sizeof key, "%s/signing.key", dir);
    if (!registered) atexit(rm_dir);
    registered = 1;
    return chain_init();
}

/* Append n entries to the log at db (made when missing), one transaction
** each, as servers do. */
static int append(int n)
{
    store_options o = {.path = db};
    store *s = NULL;
    char err[STORE_ERRLEN];
    int rc = store_open(&o, &s, err);
    for (int i = 0; rc == STORE_OK && i < n; i++) {
        store_record r = {.event_type = "tool_call", .operation_name = "deploy",
                          .user_id = "alice", .args = "{\"env\":\"prod\",\"n\":1}"};
        store_receipt out;
        rc = store_begin(s, err);
        if (rc == STORE_OK) rc = store_append(s, &r, &out, err);
        if (rc == STORE_OK) rc = store_commit(s, err);
    }
    if (rc != STORE_OK) fprintf(stderr, "append: %s\n", err);
    store_close(s);
    return rc == STORE_OK ? 0 : -1;
}

/* Run "dss-audit-mcp ARGS --db DB --key KEY" (args formatted); *out gets
** stdout (caller frees).  Its exit status. */
static int cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cli(char **out, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s --db '%s' --key '%s'", getenv("DSS_BIN"), args, db,
             key);
    return tf_run(cmd, NULL, out);
}

/* Run the Go peer: "gotlog ARGS" with input on stdin. */
static int go(const char *args, const char *input, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", getenv("DSS_GOTLOG"), args);
    return tf_run(cmd, input, out);
}

/* The log's Merkle root at size, base64, from the store. */
static int root_b64(int64_t size, char out[45])
{
    store_options o = {.path = db, .readonly = 1};
    store *s = NULL;
    char err[STORE_ERRLEN];
    merkle_hash root;
    int rc = store_open(&o, &s, err);
    if (rc == STORE_OK) rc = store_tree_root(s, size, root, err);
    store_close(s);
    if (rc != STORE_OK) {
        fprintf(stderr, "root: %s\n", err);
        return -1;
    }
    c2sp_b64_encode(root, MERKLE_HASH, out);
    return 0;
}

/* The line after `n` newlines of text, into out (len bytes). */
static void line_of(const char *text, int n, char *out, size_t len)
{
    while (n-- > 0 && text && (text = strchr(text, '\n'))) text++;
    size_t k = text ? strcspn(text, "\n") : 0;
    snprintf(out, len, "%.*s", (int)(k < len ? k : len - 1), text ? text : "");
}

/* ---- checkpoint --note and public-key --note ---- */

/* The note our command prints opens with Go's note.Open under the vkey our
** command prints, and holds the log's origin, size and Merkle root. */
TEST(checkpoint_note_opens_with_gos_note_package_under_our_vkey)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(5), 0);
    char *text = NULL, *vkey = NULL, *out = NULL, args[1024], root[45], line[128];
    ASSERT_EQ_INT(cli(&text, "checkpoint --note"), 0);
    ASSERT_EQ_INT(cli(&vkey, "public-key --note"), 0);
    vkey[strcspn(vkey, "\n")] = '\0';
    ASSERT(strncmp(vkey, "dss-audit/", 10) == 0);
    snprintf(args, sizeof args, "open '%s'", vkey);
    ASSERT_EQ_INT(go(args, text, &out), 0);
    ASSERT(strncmp(out, "verified 1\n", 11) == 0);
    line_of(text, 0, line, sizeof line);
    ASSERT(strncmp(vkey, line, strlen(line)) == 0 && vkey[strlen(line)] == '+');
    line_of(text, 1, line, sizeof line);
    ASSERT_EQ_STR(line, "5");
    ASSERT_EQ_INT(root_b64(5, root), 0);
    line_of(text, 2, line, sizeof line);
    ASSERT_EQ_STR(line, root);
    line_of(text, 3, line, sizeof line);
    ASSERT(strncmp(line, "chain-head ", 11) == 0 && strlen(line) == 11 + 64);
    line_of(text, 4, line, sizeof line);
    ASSERT(strncmp(line, "prev-checkpoint ", 16) == 0);
    free(out);
    /* Another key's vkey does not open it. */
    note_signer other = tf_signer("dss-audit/other", NOTE_ED25519);
    char okey[NOTE_VKEY_MAX];
    note_key_format(&other.key, okey);
    snprintf(args, sizeof args, "open '%s'", okey);
    ASSERT_EQ_INT(go(args, text, &out), 1);
    free(out);
    free(text);
    free(vkey);
}

/* --note signs a new checkpoint only when the head moved; the JSON of a
** checkpoint carries the same note. */
TEST(checkpoint_note_is_the_same_until_the_log_moves)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(3), 0);
    char *a = NULL, *b = NULL, *c = NULL, *j = NULL, line[64];
    ASSERT_EQ_INT(cli(&a, "checkpoint --note"), 0);
    ASSERT_EQ_INT(cli(&b, "checkpoint --note"), 0);
    ASSERT_EQ_STR(a, b);
    ASSERT_EQ_INT(append(2), 0);
    ASSERT_EQ_INT(cli(&c, "checkpoint --note"), 0);
    line_of(c, 1, line, sizeof line);
    ASSERT_EQ_STR(line, "5");
    ASSERT_EQ_INT(cli(&j, "checkpoint"), 0);
    cJSON *cp = cJSON_Parse(j);
    ASSERT(cp);
    const char *jn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cp, "note"));
    ASSERT(jn);
    /* Same size, but a new checkpoint: another prev-checkpoint line. */
    line_of(jn, 1, line, sizeof line);
    ASSERT_EQ_STR(line, "5");
    ASSERT(strcmp(jn, c) != 0);
    cJSON_Delete(cp);
    free(a);
    free(b);
    free(c);
    free(j);
}

/* --origin names the log's notes and key, is recorded with the log at
** first use, and cannot be changed afterwards. */
TEST(origin_is_recorded_with_the_log_and_then_fixed)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(2), 0);
    char *text = NULL, *vkey = NULL, *out = NULL, line[128];
    ASSERT_EQ_INT(cli(&text, "checkpoint --note --origin example.org/audit/team1"), 0);
    line_of(text, 0, line, sizeof line);
    ASSERT_EQ_STR(line, "example.org/audit/team1");
    ASSERT_EQ_INT(cli(&vkey, "public-key --note"), 0);
    ASSERT(strncmp(vkey, "example.org/audit/team1+", 24) == 0);
    ASSERT_EQ_INT(cli(&out, "checkpoint --origin example.org/other 2>&1"), 2);
    ASSERT_CONTAINS(out, "example.org/audit/team1");
    free(out);
    ASSERT_EQ_INT(cli(&out, "checkpoint --origin 'has space' 2>&1"), 2);
    ASSERT_CONTAINS(out, "--origin");
    free(out);
    free(text);
    free(vkey);
}

/* Without a database to read the origin from, public-key --note needs
** --origin, and says so. */
TEST(public_key_note_without_a_database_takes_origin)
{
    ASSERT_EQ_INT(fresh(), 0);
    char *out = NULL;
    ASSERT_EQ_INT(cli(&out, "public-key --note 2>&1"), 2);
    ASSERT_CONTAINS(out, "--origin");
    free(out);
    ASSERT_EQ_INT(cli(&out, "public-key --note --origin example.org/log"), 0);
    ASSERT(strncmp(out, "example.org/log+", 16) == 0);
    note_key k;
    char err[256];
    out[strcspn(out, "\n")] = '\0';
    ASSERT_EQ_INT(note_key_parse(out, &k, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(k.type, NOTE_ED25519);
    free(out);
    struct stat st;
    ASSERT(stat(db, &st) != 0); /* nothing was created */
}

TEST_MAIN(
    TEST_ENTRY(checkpoint_note_opens_with_gos_note_package_under_our_vkey)
    TEST_ENTRY(checkpoint_note_is_the_same_until_the_log_moves)
    TEST_ENTRY(origin_is_recorded_with_the_log_and_then_fixed)
    TEST_ENTRY(public_key_note_without_a_database_takes_origin)
)
