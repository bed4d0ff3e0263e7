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
#include "integrity/prove.h"
#include "store/store.h"
#include "tlog/c2sp.h"
#include "tlog/ckpt.h"
#include "tlog/note.h"
#include "tlog_fixture.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>

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

/* ---- prove and verify-proof ---- */

/* Write text to dir/name; the path (static buffer per call site). */
static const char *put_file(const char *name, const char *text, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

/* verify-proof FILE --key VKEY (plus more); *out its stdout. */
static int verify_proof(const char *path, const char *vkey, const char *more, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' verify-proof '%s' --key '%s' %s", getenv("DSS_BIN"), path,
             vkey, more ? more : "");
    return tf_run(cmd, NULL, out);
}

/* The reviewer's Go checker on a proof file: its exit status. */
static int go_verifyproof(const char *path, const char *vkey)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' 2>&1", getenv("DSS_VERIFYPROOF"), path, vkey);
    int st = tf_run(cmd, NULL, &out);
    if (st != 0) fprintf(stderr, "verifyproof: %s\n", out ? out : "");
    free(out);
    return st;
}

static char *vkey_of_log(void)
{
    char *v = NULL;
    if (cli(&v, "public-key --note") != 0) {
        free(v);
        return NULL;
    }
    v[strcspn(v, "\n")] = '\0';
    return v;
}

/* prove's proof of each entry is valid for Go's sumdb checker and ours. */
TEST(prove_is_valid_for_gos_checker_and_verify_proof)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(9), 0);
    char *vkey = vkey_of_log(), path[256], *out = NULL, *proof = NULL;
    ASSERT(vkey);
    for (int seq = 1; seq <= 9; seq += 4) {
        ASSERT_EQ_INT(cli(&proof, "prove --seq %d", seq), 0);
        ASSERT(put_file("p.tlog-proof", proof, path, sizeof path));
        ASSERT_EQ_INT(go_verifyproof(path, vkey), 0);
        ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 0);
        ASSERT(strncmp(out, "valid: entry ", 13) == 0);
        ASSERT_CONTAINS(out, "tree size 9");
        free(out);
        free(proof);
    }
    free(vkey);
}

static int count_checkpoints(void)
{
    store_options o = {.path = db, .readonly = 1};
    store *s = NULL;
    char err[STORE_ERRLEN];
    store_stats st;
    int n = -1;
    if (store_open(&o, &s, err) == STORE_OK &&
        store_get_stats(s, NULL, 0, NULL, NULL, &st, err) == STORE_OK) {
        n = (int)st.checkpoints;
        store_stats_free(&st);
    }
    store_close(s);
    return n;
}

/* A proof uses the newest signed checkpoint holding the entry; when none
** does, prove signs one for it. */
TEST(prove_signs_a_checkpoint_only_when_none_holds_the_entry)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(5), 0);
    char *out = NULL, line[64];
    ASSERT_EQ_INT(cli(&out, "checkpoint --note"), 0);
    free(out);
    ASSERT_EQ_INT(append(2), 0);
    ASSERT_EQ_INT(count_checkpoints(), 1);
    ASSERT_EQ_INT(cli(&out, "prove --seq 3"), 0);
    ASSERT_CONTAINS(out, "\n\ndss-audit/");
    line_of(strstr(out, "\n\n") + 2, 1, line, sizeof line);
    ASSERT_EQ_STR(line, "5");
    free(out);
    ASSERT_EQ_INT(count_checkpoints(), 1);
    ASSERT_EQ_INT(cli(&out, "prove --seq 7 2>/dev/null"), 0);
    line_of(strstr(out, "\n\n") + 2, 1, line, sizeof line);
    ASSERT_EQ_STR(line, "7");
    free(out);
    ASSERT_EQ_INT(count_checkpoints(), 2);
    /* --size names a signed size; an unsigned one is refused by name. */
    ASSERT_EQ_INT(cli(&out, "prove --seq 2 --size 5"), 0);
    free(out);
    ASSERT_EQ_INT(cli(&out, "prove --seq 2 --size 6 2>&1"), 2);
    ASSERT_CONTAINS(out, "size 6");
    free(out);
    ASSERT_EQ_INT(cli(&out, "prove --seq 8 2>&1"), 1);
    ASSERT_CONTAINS(out, "no entry 8");
    free(out);
}

/* prove --entry's bundle carries the entry; verify-proof recomputes its
** hash from its fields, and an edited field makes it invalid. */
TEST(prove_entry_bundle_is_checked_whole_and_an_edit_is_refused)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(4), 0);
    char *vkey = vkey_of_log(), *bundle = NULL, *out = NULL, path[256];
    ASSERT(vkey);
    ASSERT_EQ_INT(cli(&bundle, "prove --seq 2 --entry"), 0);
    cJSON *b = cJSON_Parse(bundle);
    ASSERT(b);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "vkey")), vkey);
    ASSERT(put_file("b.json", bundle, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 0);
    ASSERT_CONTAINS(out, "the entry's fields hash to it");
    free(out);
    /* The entry alone, as --entry: the same verdict on the bare proof. */
    char epath[256], ppath[256];
    cJSON *entry = cJSON_GetObjectItemCaseSensitive(b, "entry");
    char *etext = cJSON_Print(entry);
    ASSERT(put_file("e.json", etext, epath, sizeof epath));
    ASSERT(put_file("p", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "proof")),
                    ppath, sizeof ppath));
    char more[300];
    snprintf(more, sizeof more, "--entry '%s'", epath);
    ASSERT_EQ_INT(verify_proof(ppath, vkey, more, &out), 0);
    free(out);
    /* An edited field: the entry no longer hashes to its hash. */
    cJSON_ReplaceItemInObjectCaseSensitive(entry, "args", cJSON_CreateString("{\"env\":\"dev\"}"));
    free(etext);
    etext = cJSON_Print(entry);
    ASSERT(put_file("e.json", etext, epath, sizeof epath));
    ASSERT_EQ_INT(verify_proof(ppath, vkey, more, &out), 1);
    ASSERT(strncmp(out, "invalid: entry hash:", 20) == 0);
    free(out);
    free(etext);
    cJSON_Delete(b);
    free(bundle);
    free(vkey);
}

/* Found by tests/fuzz/fuzz_proof.c: the seq of an entry given to
** verify-proof was converted to an integer whatever number it was (4e58
** is undefined behaviour), and the proof's index + 1 overflowed at
** INT64_MAX.  An entry's seq is a whole number from 1, or the entry is
** refused; the index is compared without overflow. */
TEST(verify_proof_refuses_an_entry_whose_seq_is_no_entry_number)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(3), 0);
    char *vkey = vkey_of_log(), *bundle = NULL, *out = NULL, path[256], err[256];
    ASSERT(vkey);
    ASSERT_EQ_INT(cli(&bundle, "prove --seq 2 --entry"), 0);
    cJSON *b = cJSON_Parse(bundle);
    ASSERT(b);
    cJSON *entry = cJSON_GetObjectItemCaseSensitive(b, "entry");
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "proof"));
    static tlog_proof p;
    ASSERT_EQ_INT(proof_parse(text, strlen(text), &p, err, sizeof err), 0);
    proof_result res;
    uint8_t hash[32];
    memset(&res, 0, sizeof res);
    ASSERT_EQ_INT(prove_check_entry(entry, &p, hash, &res), 0);
    static const double bad[] = {4e58, -4e58, 1e300, 0, -1, 2.5, 9223372036854775807.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON_ReplaceItemInObjectCaseSensitive(entry, "seq", cJSON_CreateNumber(bad[i]));
        memset(&res, 0, sizeof res);
        ASSERT_EQ_INT(prove_check_entry(entry, &p, hash, &res), -1);
        ASSERT_EQ_INT(res.failed, PROOF_ENTRY);
    }
    /* The real seq against the largest index a proof text can hold. */
    cJSON_ReplaceItemInObjectCaseSensitive(entry, "seq", cJSON_CreateNumber(2));
    p.index = INT64_MAX;
    memset(&res, 0, sizeof res);
    ASSERT_EQ_INT(prove_check_entry(entry, &p, hash, &res), -1);
    ASSERT_EQ_INT(res.failed, PROOF_INDEX);
    ASSERT_CONTAINS(res.why, "(seq 9223372036854775808)");
    /* And through the command. */
    cJSON_ReplaceItemInObjectCaseSensitive(entry, "seq", cJSON_CreateNumber(4e58));
    char *edited = cJSON_Print(b);
    ASSERT(put_file("b.json", edited, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 1);
    ASSERT(strncmp(out, "invalid: entry hash:", 20) == 0);
    free(out);
    free(edited);
    cJSON_Delete(b);
    free(bundle);
    free(vkey);
}

/* A --witness that is no key is refused saying why, and a log's key as a
** witness's is told apart (both said "not a witness's key"). */
TEST(verify_proof_says_why_a_witness_key_is_refused)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(2), 0);
    char *vkey = vkey_of_log(), *proof = NULL, *out = NULL, path[256], more[1024];
    ASSERT(vkey);
    ASSERT_EQ_INT(cli(&proof, "prove --seq 1"), 0);
    ASSERT(put_file("p", proof, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, "--witness 'w.example+zz+AAAA' 2>&1", &out), 2);
    ASSERT_CONTAINS(out, "ID must be 8 lowercase hex digits");
    free(out);
    snprintf(more, sizeof more, "--witness '%s' 2>&1", vkey);
    ASSERT_EQ_INT(verify_proof(path, vkey, more, &out), 2);
    ASSERT_CONTAINS(out, "a log's key (type 0x01), not a witness's");
    free(out);
    free(proof);
    free(vkey);
}

/* verify-proof reads a key only from --key, and never quotes a file it
** cannot use: given the signing key by mistake (or, once, by default, when
** --key was left out), its message showed the secret key's hex. */
TEST(verify_proof_never_shows_a_key_file_it_cannot_use)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(2), 0);
    char *proof = NULL, *out = NULL, path[256], cmd[2048], secret[80] = "";
    ASSERT_EQ_INT(cli(&proof, "prove --seq 1"), 0);
    ASSERT(put_file("p", proof, path, sizeof path));
    FILE *f = fopen(key, "r");
    ASSERT(f);
    ASSERT(fgets(secret, sizeof secret, f));
    fclose(f);
    secret[strcspn(secret, "\n")] = '\0';
    ASSERT(strlen(secret) >= 32);
    ASSERT_EQ_INT(verify_proof(path, key, "2>&1", &out), 2);
    ASSERT_CONTAINS(out, "holds no verifier key");
    if (strstr(out, secret) || strstr(out, secret + 16)) TEST_FAIL_("the key file was shown: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "DSS_AUDIT_KEY='%s' '%s' verify-proof '%s' 2>&1", key,
             getenv("DSS_BIN"), path);
    ASSERT_EQ_INT(tf_run(cmd, NULL, &out), 2);
    ASSERT_CONTAINS(out, "verify-proof needs --key VKEY");
    if (strstr(out, secret) || strstr(out, secret + 16)) TEST_FAIL_("the key file was shown: %s", out);
    free(out);
    free(proof);
}

/* Replace the first occurrence of from in *text by to (a new string). */
static void swap_text(char **text, const char *from, const char *to)
{
    char *at = strstr(*text, from);
    if (!at) return;
    size_t n = strlen(*text) - strlen(from) + strlen(to) + 1, pre = (size_t)(at - *text);
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)pre, *text, to, at + strlen(from));
    free(*text);
    *text = out;
}

/* Each tampered part of a proof is refused by verify-proof naming it
** (and by Go's checker), and input that is no proof exits 2. */
TEST(verify_proof_names_each_tampered_part)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(11), 0);
    char *vkey = vkey_of_log(), *good = NULL, *t = NULL, *out = NULL, path[256], line[128];
    ASSERT(vkey);
    ASSERT_EQ_INT(cli(&good, "prove --seq 6"), 0);
    /* A changed proof hash: the first path line's first character. */
    t = strdup(good);
    line_of(t, 3, line, sizeof line);
    char changed[128];
    snprintf(changed, sizeof changed, "%c%s", line[0] == 'A' ? 'B' : 'A', line + 1);
    swap_text(&t, line, changed);
    ASSERT(put_file("t", t, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 1);
    ASSERT(strncmp(out, "invalid: audit path:", 20) == 0);
    ASSERT(go_verifyproof(path, vkey) != 0);
    free(out);
    free(t);
    /* A truncated path: its last hash line removed. */
    t = strdup(good);
    char *blank = strstr(t, "\n\n");
    char *prev = blank - 1;
    while (prev > t && *prev != '\n') prev--;
    memmove(prev, blank, strlen(blank) + 1);
    ASSERT(put_file("t", t, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 1);
    ASSERT(strncmp(out, "invalid: audit path:", 20) == 0);
    ASSERT(go_verifyproof(path, vkey) != 0);
    free(out);
    free(t);
    /* Another checkpoint signature: a key of the same name signed it. */
    t = strdup(good);
    const char *cp = strstr(good, "\n\n") + 2; /* in good: t is replaced below */
    char origin[300];
    snprintf(origin, sizeof origin, "%.*s", (int)strcspn(cp, "\n"), cp);
    note_signer other = tf_signer(origin, NOTE_ED25519);
    const char *sigs = strstr(cp, "\n\n") + 2;
    char resigned[NOTE_LINE_MAX], err[256];
    ASSERT_EQ_INT(note_sign_line(&other, cp, (size_t)(sigs - 1 - cp), 0, resigned, err,
                                 sizeof err), NOTE_OK);
    char old_sig[NOTE_LINE_MAX];
    snprintf(old_sig, sizeof old_sig, "%.*s", (int)strcspn(sigs, "\n") + 1, sigs);
    swap_text(&t, old_sig, resigned);
    ASSERT(put_file("t", t, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 1);
    ASSERT(strncmp(out, "invalid: signature:", 19) == 0);
    ASSERT(go_verifyproof(path, vkey) != 0);
    free(out);
    free(t);
    /* A cosignature by a key nobody trusts does not count: with one
    ** witness required it is refused. */
    note_signer w = tf_signer("witness.example/unknown", NOTE_COSIGNATURE);
    note_signer trusted = tf_signer("witness.example/trusted", NOTE_COSIGNATURE);
    char cos[NOTE_LINE_MAX], tv[NOTE_VKEY_MAX], more[512];
    ASSERT_EQ_INT(note_sign_line(&w, cp, (size_t)(sigs - 1 - cp), 1767225600, cos, err,
                                 sizeof err), NOTE_OK);
    t = strdup(good);
    size_t n = strlen(t) + strlen(cos) + 1;
    char *grown = malloc(n);
    snprintf(grown, n, "%s%s", t, cos);
    free(t);
    t = grown;
    note_key_format(&trusted.key, tv);
    snprintf(more, sizeof more, "--witness '%s' --min-witnesses 1", tv);
    ASSERT(put_file("t", t, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, more, &out), 1);
    ASSERT(strncmp(out, "invalid: cosignature:", 21) == 0);
    free(out);
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 0); /* no witness asked for */
    free(out);
    free(t);
    /* An index beyond the tree. */
    t = strdup(good);
    swap_text(&t, "\nindex 5\n", "\nindex 11\n");
    ASSERT(put_file("t", t, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, NULL, &out), 1);
    ASSERT(strncmp(out, "invalid: index:", 15) == 0);
    free(out);
    free(t);
    /* No proof at all: unusable input; a wrong key: unusable too. */
    ASSERT(put_file("t", "hello\n", path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, vkey, "2>/dev/null", &out), 2);
    free(out);
    ASSERT(put_file("t", good, path, sizeof path));
    ASSERT_EQ_INT(verify_proof(path, "not-a-key", "2>/dev/null", &out), 2);
    free(out);
    free(good);
    free(vkey);
}

/* prove --consistency is Go's tlog.CheckTree's proof from the old size's
** root to the newer checkpoint's. */
TEST(prove_consistency_is_checked_by_gos_check_tree)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(13), 0);
    char *body = NULL, *out = NULL, old_root[45], new_root[45], input[4096];
    ASSERT_EQ_INT(cli(&body, "prove --consistency 6 2>/dev/null"), 0);
    ASSERT(strncmp(body, "old 6\n", 6) == 0);
    ASSERT_EQ_INT(root_b64(6, old_root), 0);
    ASSERT_EQ_INT(root_b64(13, new_root), 0);
    /* "good T TH N H P...": the hash lines between "old" and the blank. */
    size_t n = (size_t)snprintf(input, sizeof input, "good 13 %s 6 %s", new_root, old_root);
    for (const char *l = strchr(body, '\n') + 1; *l != '\n'; l = strchr(l, '\n') + 1)
        n += (size_t)snprintf(input + n, sizeof input - n, " %.*s", (int)strcspn(l, "\n"), l);
    snprintf(input + n, sizeof input - n, "\n");
    ASSERT_EQ_INT(go("checktree", input, &out), 0);
    ASSERT_CONTAINS(out, "checked 1");
    free(out);
    line_of(strstr(body, "\n\n") + 2, 1, new_root, sizeof new_root);
    ASSERT_EQ_STR(new_root, "13");
    free(body);
}

/* ---- verify --since ---- */

/* SQL on the database as its owner (past the append-only triggers). */
static int owner_sql(const char *sql)
{
    sqlite3 *h = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(db, &h);
    if (rc == SQLITE_OK) rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "sqlite3: %s\n", msg ? msg : sqlite3_errmsg(h));
    sqlite3_free(msg);
    sqlite3_close(h);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The log grew since the kept note: --since proves it in a few reads. */
TEST(verify_since_accepts_a_log_that_only_grew)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(4), 0);
    char *note_text = NULL, *out = NULL, path[256];
    ASSERT_EQ_INT(cli(&note_text, "checkpoint --note"), 0);
    ASSERT(put_file("old.note", note_text, path, sizeof path));
    ASSERT_EQ_INT(append(6), 0);
    ASSERT_EQ_INT(cli(&out, "verify --since '%s' 2>/dev/null", path), 0);
    cJSON *r = cJSON_Parse(out);
    ASSERT(r);
    ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(
                      cJSON_GetObjectItemCaseSensitive(r, "tree"), "size")->valuedouble, 10);
    ASSERT(cJSON_GetObjectItemCaseSensitive(r, "proof_hashes")->valuedouble >= 1);
    cJSON_Delete(r);
    free(out);
    free(note_text);
}

/* A log rebuilt after the note was kept (another file, the same log id and
** the same key, its checkpoints signed again) is not an extension of it;
** and one cut short holds fewer leaves than the note. */
TEST(verify_since_catches_a_rebuilt_log_and_a_truncated_one)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(5), 0);
    char *note_text = NULL, *out = NULL, path[256], id[64] = "";
    ASSERT_EQ_INT(cli(&note_text, "checkpoint --note"), 0);
    ASSERT(put_file("old.note", note_text, path, sizeof path));
    line_of(note_text, 0, id, sizeof id); /* dss-audit/<log_id> */
    /* The rebuilt file: the same log id, other entries, re-signed. */
    char sql[512], moved[300];
    snprintf(moved, sizeof moved, "%s.orig", db);
    ASSERT_EQ_INT(rename(db, moved), 0);
    ASSERT_EQ_INT(append(1), 0);
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'log_id';", id + 10);
    ASSERT_EQ_INT(owner_sql(sql), 0);
    ASSERT_EQ_INT(append(8), 0);
    ASSERT_EQ_INT(cli(&out, "checkpoint --note"), 0);
    free(out);
    ASSERT_EQ_INT(cli(&out, "verify --since '%s' 2>&1", path), 1);
    ASSERT_CONTAINS(out, "\"kind\":\t\"modified\"");
    ASSERT_CONTAINS(out, "not an append-only extension");
    free(out);
    /* The original, its newest entries and their leaves removed. */
    ASSERT_EQ_INT(rename(moved, db), 0);
    ASSERT_EQ_INT(owner_sql("DROP TRIGGER audit_log_no_delete; DROP TRIGGER tree_no_delete;"
                            "DELETE FROM audit_log WHERE seq > 3; DELETE FROM tree WHERE idx > 3;"),
                  0);
    ASSERT_EQ_INT(cli(&out, "verify --since '%s' 2>/dev/null", path), 1);
    ASSERT_CONTAINS(out, "\"kind\":\t\"truncated\"");
    free(out);
    free(note_text);
}

/* ---- retention ---- */

/* The line after `n` newlines of a file, as a new string. */
static char *file_line(const char *path, int n)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = -1;
    for (int i = 0; f && i <= n; i++) got = getline(&line, &cap, f);
    if (f) fclose(f);
    if (got < 0) {
        free(line);
        return NULL;
    }
    return line;
}

/* Prune keeps every leaf: an archived entry is still proved from the tree
** (the archive's line is the entry verify-proof checks it with, an edited
** one refused), the entries written after the prune are proved in the
** same tree, a note kept before the prune still verifies with --since,
** and the whole log verifies with and without the archive. */
TEST(prune_keeps_what_proofs_of_archived_and_remaining_entries_need)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(6), 0);
    char *vkey = vkey_of_log(), *note_text = NULL, *out = NULL, *proof = NULL;
    char npath[256], archive[256], ppath[256], epath[256], more[300];
    ASSERT(vkey);
    ASSERT_EQ_INT(cli(&note_text, "checkpoint --note"), 0);
    ASSERT(put_file("old.note", note_text, npath, sizeof npath));
    snprintf(archive, sizeof archive, "%s/archive.jsonl", dir);
    ASSERT_EQ_INT(cli(&out, "prune --before 2999-01-01 --archive '%s' 2>/dev/null", archive), 0);
    free(out);
    ASSERT_EQ_INT(append(3), 0);

    /* seq 2, archived: proved from the tree, checked with its archive line. */
    ASSERT_EQ_INT(cli(&proof, "prove --seq 2 2>/dev/null"), 0);
    ASSERT(!strstr(proof, "\nextra ")); /* the entry is no longer in the store */
    ASSERT(put_file("p2", proof, ppath, sizeof ppath));
    char *line = file_line(archive, 1);
    ASSERT(line);
    ASSERT_CONTAINS(line, "\"seq\":2");
    ASSERT(put_file("e2.json", line, epath, sizeof epath));
    snprintf(more, sizeof more, "--entry '%s'", epath);
    ASSERT_EQ_INT(verify_proof(ppath, vkey, more, &out), 0);
    ASSERT_CONTAINS(out, "(seq 2)");
    ASSERT_CONTAINS(out, "the entry's fields hash to it");
    free(out);
    char *edited = strstr(line, "deploy");
    ASSERT(edited);
    memcpy(edited, "DEPLOY", 6);
    ASSERT(put_file("e2.json", line, epath, sizeof epath));
    ASSERT_EQ_INT(verify_proof(ppath, vkey, more, &out), 1);
    ASSERT(strncmp(out, "invalid: entry hash:", 20) == 0);
    free(out);
    free(line);
    free(proof);

    /* seq 8, written after the prune: in the same tree, now of 9 leaves. */
    ASSERT_EQ_INT(cli(&proof, "prove --seq 8 2>/dev/null"), 0);
    ASSERT(put_file("p8", proof, ppath, sizeof ppath));
    ASSERT_EQ_INT(go_verifyproof(ppath, vkey), 0);
    ASSERT_EQ_INT(verify_proof(ppath, vkey, NULL, &out), 0);
    ASSERT_CONTAINS(out, "tree size 9");
    free(out);
    free(proof);

    ASSERT_EQ_INT(cli(&out, "verify --since '%s' 2>/dev/null", npath), 0);
    free(out);
    ASSERT_EQ_INT(cli(&out, "verify 2>/dev/null"), 0);
    free(out);
    ASSERT_EQ_INT(cli(&out, "verify --archive '%s' 2>/dev/null", archive), 0);
    free(out);
    free(note_text);
    free(vkey);
}

/* ---- the report ---- */

/* How many entries the report at path embeds with a proof ("proved" in its
** summary), -1 when it says nothing of it. */
static int report_proved(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[4096];
    int n = -1;
    while (n < 0 && fgets(buf, sizeof buf, f)) {
        const char *at = strstr(buf, "\"proved\":");
        if (at) n = atoi(at + 9);
    }
    fclose(f);
    return n;
}

/* report embeds a proof of every entry it shows: it signs a checkpoint
** when the head moved since the newest signed one and the log's key is
** here, and only then; without the key the newer entries go without
** proofs and stderr says so. */
TEST(report_signs_a_checkpoint_so_every_entry_it_shows_is_proved)
{
    ASSERT_EQ_INT(fresh(), 0);
    ASSERT_EQ_INT(append(5), 0);
    char *out = NULL, path[256];
    ASSERT_EQ_INT(cli(&out, "checkpoint --note"), 0); /* makes the key; tree size 5 */
    free(out);
    ASSERT_EQ_INT(append(4), 0);
    int before = count_checkpoints();
    snprintf(path, sizeof path, "%s/r1.html", dir);
    ASSERT_EQ_INT(cli(&out, "report --since 2000-01-01 --until 2100-01-01 --output '%s' 2>&1",
                      path), 0);
    ASSERT_CONTAINS(out, "signed a checkpoint of tree size 9");
    free(out);
    ASSERT_EQ_INT(report_proved(path), 9);
    ASSERT_EQ_INT(count_checkpoints(), before + 1);
    /* The head did not move: nothing more is signed. */
    snprintf(path, sizeof path, "%s/r2.html", dir);
    ASSERT_EQ_INT(cli(&out, "report --since 2000-01-01 --until 2100-01-01 --output '%s' 2>&1",
                      path), 0);
    free(out);
    ASSERT_EQ_INT(report_proved(path), 9);
    ASSERT_EQ_INT(count_checkpoints(), before + 1);
    /* Without the key: the two newest go without proofs, nothing is made. */
    ASSERT_EQ_INT(append(2), 0);
    char cmd[2048];
    snprintf(path, sizeof path, "%s/r3.html", dir);
    snprintf(cmd, sizeof cmd, "'%s' report --since 2000-01-01 --until 2100-01-01 --output '%s' "
             "--db '%s' --key '%s/absent.key' 2>&1", getenv("DSS_BIN"), path, db, dir);
    ASSERT_EQ_INT(tf_run(cmd, NULL, &out), 0);
    ASSERT_CONTAINS(out, "after seq 9");
    free(out);
    ASSERT_EQ_INT(report_proved(path), 9);
    ASSERT_EQ_INT(count_checkpoints(), before + 1);
    snprintf(path, sizeof path, "%s/absent.key", dir);
    ASSERT(access(path, F_OK) != 0);
}

TEST_MAIN(
    TEST_ENTRY(verify_proof_never_shows_a_key_file_it_cannot_use)
    TEST_ENTRY(checkpoint_note_opens_with_gos_note_package_under_our_vkey)
    TEST_ENTRY(checkpoint_note_is_the_same_until_the_log_moves)
    TEST_ENTRY(origin_is_recorded_with_the_log_and_then_fixed)
    TEST_ENTRY(public_key_note_without_a_database_takes_origin)
    TEST_ENTRY(prove_is_valid_for_gos_checker_and_verify_proof)
    TEST_ENTRY(prove_signs_a_checkpoint_only_when_none_holds_the_entry)
    TEST_ENTRY(prove_entry_bundle_is_checked_whole_and_an_edit_is_refused)
    TEST_ENTRY(verify_proof_refuses_an_entry_whose_seq_is_no_entry_number)
    TEST_ENTRY(verify_proof_says_why_a_witness_key_is_refused)
    TEST_ENTRY(verify_proof_names_each_tampered_part)
    TEST_ENTRY(prove_consistency_is_checked_by_gos_check_tree)
    TEST_ENTRY(verify_since_accepts_a_log_that_only_grew)
    TEST_ENTRY(verify_since_catches_a_rebuilt_log_and_a_truncated_one)
    TEST_ENTRY(prune_keeps_what_proofs_of_archived_and_remaining_entries_need)
    TEST_ENTRY(report_signs_a_checkpoint_so_every_entry_it_shows_is_proved)
)
