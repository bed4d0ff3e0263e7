/*
** test_proof.c: tlog-proof texts, their offline verification, and the
** add-checkpoint consistency body (src/tlog/proof.h).
**
** A small log is built in memory (entry hashes SHA-256(i)), its checkpoint
** signed, and proofs made from it; then each tampering the issue names is
** applied to a good proof and must be refused naming the part that failed.
*/
#include "test.h"

#include <sodium.h>

#include "tlog/c2sp.h"
#include "tlog/proof.h"
#include "tlog_fixture.h"

#define ORIGIN "dss-audit/test-log"
#define SIZE 21

typedef struct fixture {
    merkle_mem tree;
    uint8_t entries[SIZE][32];
    note_signer log, witness[3];
    ckpt_log trusted;
    note_key wkeys[3];
    char *checkpoint; /* signed, with no cosignature */
} fixture;

static fixture fx;

static void setup(void)
{
    char err[256], vkey[NOTE_VKEY_MAX];
    memset(&fx, 0, sizeof fx);
    for (int64_t i = 0; i < SIZE; i++) {
        merkle_hash leaf;
        crypto_hash_sha256(fx.entries[i], (const uint8_t *)&i, sizeof i);
        merkle_leaf_hash(fx.entries[i], 32, leaf);
        merkle_mem_append(&fx.tree, leaf);
    }
    fx.log = tf_signer(ORIGIN, NOTE_ED25519);
    note_key_format(&fx.log.key, vkey);
    ckpt_log_from_vkey(vkey, &fx.trusted, err, sizeof err);
    static const char *const names[] = {"w1.example", "w2.example", "w3.example"};
    for (int i = 0; i < 3; i++) {
        fx.witness[i] = tf_signer(names[i], NOTE_COSIGNATURE);
        fx.wkeys[i] = fx.witness[i].key;
    }
    fx.checkpoint = tf_checkpoint(&fx.tree, SIZE, &fx.log);
}

static void teardown(void)
{
    merkle_mem_free(&fx.tree);
    free(fx.checkpoint);
}

/* checkpoint plus a cosignature line by each of the first n witnesses. */
static char *cosigned(const char *checkpoint, int n)
{
    char err[256];
    note parsed;
    note_parse(checkpoint, strlen(checkpoint), &parsed, err, sizeof err);
    size_t len = strlen(checkpoint);
    char *out = malloc(len + 3 * NOTE_LINE_MAX + 1);
    memcpy(out, checkpoint, len + 1);
    for (int i = 0; i < n; i++) {
        char line[NOTE_LINE_MAX];
        note_sign_line(&fx.witness[i], parsed.text, parsed.text_len, 1700000000 + i, line, err,
                       sizeof err);
        strcat(out, line);
    }
    return out;
}

/* The proof text of entry index in the fixture's tree under checkpoint. */
static char *make_proof(int64_t index, const char *checkpoint, int with_extra)
{
    char err[256];
    merkle_reader r = merkle_mem_reader(&fx.tree);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t len;
    merkle_prove_inclusion(index, SIZE, &r, path, &len, err, sizeof err);
    char *text = proof_format(with_extra ? fx.entries[index] : NULL, with_extra ? 32 : 0, index,
                              path[0], len, checkpoint, strlen(checkpoint), NULL, err,
                              sizeof err);
    if (!text) fprintf(stderr, "proof_format: %s\n", err);
    return text;
}

/* Parse and verify text: the part that failed (PROOF_VALID when none), or
** -1 when it does not parse. */
static int check(const char *text, const proof_policy *pol, const uint8_t *entry,
                 proof_result *res)
{
    static tlog_proof p;
    char err[256];
    if (proof_parse(text, strlen(text), &p, err, sizeof err) != 0) {
        fprintf(stderr, "proof_parse: %s\n", err);
        return -1;
    }
    proof_verify(&p, pol, entry, res);
    return (int)res->failed;
}

static proof_policy policy(size_t nwitnesses, size_t min)
{
    proof_policy pol = {&fx.trusted, 1, fx.wkeys, nwitnesses, min};
    return pol;
}

TEST(every_entry_proves_against_the_signed_checkpoint)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    for (int64_t i = 0; i < SIZE; i++) {
        char *text = make_proof(i, fx.checkpoint, 1);
        ASSERT(text);
        ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_VALID);
        ASSERT_EQ_INT(check(text, &pol, fx.entries[i], &res), PROOF_VALID);
        ASSERT_EQ_INT(res.checkpoint.size, SIZE);
        free(text);
    }
    teardown();
}

TEST(the_text_is_the_spec_format_line_for_line)
{
    setup();
    char *text = make_proof(5, fx.checkpoint, 1);
    char want[512], b64[64];
    c2sp_b64_encode(fx.entries[5], 32, b64);
    snprintf(want, sizeof want, "c2sp.org/tlog-proof@v1\nextra %s\nindex 5\n", b64);
    ASSERT(strncmp(text, want, strlen(want)) == 0);
    /* Then one hash a line (21 leaves: 5 levels), a blank line and the
    ** checkpoint verbatim, ending the text. */
    const char *p = text + strlen(want);
    for (int i = 0; i < 5; i++) {
        const char *nl = strchr(p, '\n');
        ASSERT(nl && nl - p == 44);
        p = nl + 1;
    }
    ASSERT(*p == '\n');
    ASSERT_EQ_STR(p + 1, fx.checkpoint);
    free(text);
    teardown();
}

TEST(without_an_extra_line_the_entry_hash_must_be_given)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    char *text = make_proof(3, fx.checkpoint, 0);
    ASSERT(strncmp(text, "c2sp.org/tlog-proof@v1\nindex 3\n", 31) == 0);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_ENTRY);
    ASSERT_CONTAINS(res.why, "no 32-byte entry hash");
    ASSERT_EQ_INT(check(text, &pol, fx.entries[3], &res), PROOF_VALID);
    ASSERT_EQ_INT(check(text, &pol, fx.entries[4], &res), PROOF_PATH);
    free(text);
    teardown();
}

TEST(an_edited_entry_is_refused_naming_the_entry_hash)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    char *text = make_proof(9, fx.checkpoint, 1);
    uint8_t edited[32];
    memcpy(edited, fx.entries[9], 32);
    edited[0] ^= 1;
    ASSERT_EQ_INT(check(text, &pol, edited, &res), PROOF_ENTRY);
    ASSERT_EQ_STR(proof_part_name(res.failed), "entry hash");
    /* And an extra line edited to match the edited entry: the audit path
    ** no longer leads to the root. */
    char b64[64], *at;
    c2sp_b64_encode(fx.entries[9], 32, b64);
    at = strstr(text, b64);
    c2sp_b64_encode(edited, 32, b64);
    memcpy(at, b64, 44);
    ASSERT_EQ_INT(check(text, &pol, edited, &res), PROOF_PATH);
    ASSERT_EQ_STR(proof_part_name(res.failed), "audit path");
    free(text);
    teardown();
}

TEST(a_changed_proof_hash_is_refused_naming_the_audit_path)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    char *text = make_proof(12, fx.checkpoint, 1);
    /* The first hash line follows the index line; change one character
    ** (keeping the base64 canonical). */
    char *line = strstr(text, "index 12\n") + 9;
    line[0] = line[0] == 'A' ? 'B' : 'A';
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_PATH);
    ASSERT_CONTAINS(res.why, "does not lead from leaf 12");
    free(text);
    teardown();
}

TEST(a_truncated_audit_path_is_refused)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    char *text = make_proof(0, fx.checkpoint, 1);
    /* Drop the last hash line (the one before the blank line). */
    char *blank = strstr(text, "\n\n");
    char *prev = blank - 45;
    ASSERT(prev[0] == '\n');
    memmove(prev + 1, blank + 1, strlen(blank + 1) + 1);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_PATH);
    ASSERT_CONTAINS(res.why, "audit path (4 hashes)");
    free(text);
    teardown();
}

TEST(a_different_checkpoint_signature_is_refused_naming_the_signature)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    /* The same checkpoint re-signed by another key of the same name (a
    ** rewritten machine's new key). */
    note_signer impostor = tf_signer(ORIGIN, NOTE_ED25519);
    char *forged = tf_checkpoint(&fx.tree, SIZE, &impostor);
    char *text = make_proof(4, forged, 1);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_SIGNATURE);
    ASSERT_EQ_STR(proof_part_name(res.failed), "signature");
    free(text);
    /* The real signature over an edited root. */
    text = make_proof(4, fx.checkpoint, 1);
    char *root = strstr(text, ORIGIN "\n21\n") + strlen(ORIGIN "\n21\n");
    root[1] = root[1] == 'A' ? 'B' : 'A';
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_SIGNATURE);
    ASSERT_CONTAINS(res.why, "does not verify");
    free(text);
    free(forged);
    teardown();
}

TEST(a_checkpoint_of_another_origin_is_refused)
{
    setup();
    proof_result res;
    note_signer other = tf_signer("dss-audit/other", NOTE_ED25519);
    char vkey[NOTE_VKEY_MAX], err[256];
    ckpt_log l;
    note_key_format(&other.key, vkey);
    ckpt_log_from_vkey(vkey, &l, err, sizeof err);
    proof_policy pol = {&l, 1, NULL, 0, 0};
    char *text = make_proof(4, fx.checkpoint, 1);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_SIGNATURE);
    ASSERT_CONTAINS(res.why, "no trusted log has the origin");
    free(text);
    teardown();
}

TEST(cosignatures_count_toward_the_minimum)
{
    setup();
    proof_result res;
    char *cp = cosigned(fx.checkpoint, 2);
    char *text = make_proof(7, cp, 1);
    proof_policy pol = policy(3, 2);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_VALID);
    ASSERT_EQ_INT(res.cosigned, 2);
    pol = policy(3, 3);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_COSIGNATURE);
    ASSERT_CONTAINS(res.why, "2 of the 3 required");
    /* The log's own signature is never a cosignature. */
    char *plain = make_proof(7, fx.checkpoint, 1);
    ASSERT_EQ_INT(check(plain, &pol, NULL, &res), PROOF_COSIGNATURE);
    free(plain);
    free(text);
    free(cp);
    teardown();
}

TEST(a_cosignature_from_an_unknown_key_does_not_count)
{
    setup();
    proof_result res;
    /* w3 cosigns, but the reviewer trusts only w1 and w2. */
    char err[256], line[NOTE_LINE_MAX];
    note parsed;
    note_parse(fx.checkpoint, strlen(fx.checkpoint), &parsed, err, sizeof err);
    note_sign_line(&fx.witness[2], parsed.text, parsed.text_len, 1700000000, line, err,
                   sizeof err);
    char *cp = malloc(strlen(fx.checkpoint) + sizeof line);
    strcpy(cp, fx.checkpoint);
    strcat(cp, line);
    char *text = make_proof(7, cp, 1);
    proof_policy pol = policy(2, 1);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_COSIGNATURE);
    ASSERT_EQ_INT(res.cosigned, 0);
    ASSERT_EQ_STR(proof_part_name(res.failed), "cosignature");
    /* Ignored, it does not spoil the proof either. */
    pol = policy(2, 0);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_VALID);
    free(text);
    free(cp);
    teardown();
}

TEST(a_known_witness_with_a_bad_cosignature_fails_the_proof)
{
    setup();
    proof_result res;
    char *cp = cosigned(fx.checkpoint, 2);
    /* Break w2's cosignature: flip a character of its base64. */
    char *w2 = strstr(cp, "— w2.example ") + strlen("— w2.example ");
    w2[20] = w2[20] == 'A' ? 'B' : 'A';
    char *text = make_proof(1, cp, 1);
    proof_policy pol = policy(2, 1);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_COSIGNATURE);
    ASSERT_CONTAINS(res.why, "w2.example");
    free(text);
    free(cp);
    teardown();
}

TEST(an_index_beyond_the_tree_is_refused_naming_the_index)
{
    setup();
    proof_policy pol = policy(0, 0);
    proof_result res;
    char *text = make_proof(20, fx.checkpoint, 1);
    char *idx = strstr(text, "index 20\n");
    idx[7] = '1'; /* index 21 of a tree of 21 */
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_INDEX);
    ASSERT_CONTAINS(res.why, "not below the checkpoint's tree size 21");
    free(text);
    teardown();
}

TEST(a_proof_under_an_older_checkpoint_still_proves)
{
    setup();
    char err[256];
    proof_policy pol = policy(0, 0);
    proof_result res;
    char *old = tf_checkpoint(&fx.tree, 10, &fx.log);
    merkle_reader r = merkle_mem_reader(&fx.tree);
    merkle_hash path[MERKLE_MAX_PROOF];
    size_t len;
    ASSERT_EQ_INT(merkle_prove_inclusion(6, 10, &r, path, &len, err, sizeof err), MERKLE_OK);
    char *text = proof_format(fx.entries[6], 32, 6, path[0], len, old, strlen(old), NULL, err,
                              sizeof err);
    ASSERT(text);
    ASSERT_EQ_INT(check(text, &pol, NULL, &res), PROOF_VALID);
    ASSERT_EQ_INT(res.checkpoint.size, 10);
    /* The same path against the newer checkpoint does not. */
    char *wrong = proof_format(fx.entries[6], 32, 6, path[0], len, fx.checkpoint,
                               strlen(fx.checkpoint), NULL, err, sizeof err);
    ASSERT_EQ_INT(check(wrong, &pol, NULL, &res), PROOF_PATH);
    free(text);
    free(wrong);
    free(old);
    teardown();
}

TEST(proof_format_refuses_what_could_not_be_a_proof)
{
    setup();
    char err[256] = "";
    merkle_hash path[1] = {{0}};
    ASSERT(!proof_format(NULL, 0, 21, path[0], 0, fx.checkpoint, strlen(fx.checkpoint), NULL,
                         err, sizeof err));
    ASSERT_CONTAINS(err, "not in the checkpoint's tree of size 21");
    ASSERT(!proof_format(NULL, 0, 0, path[0], 0, "not a note\n", 11, NULL, err, sizeof err));
    ASSERT_CONTAINS(err, "not a signed note");
    uint8_t *big = calloc(1, PROOF_EXTRA_MAX + 1);
    ASSERT(!proof_format(big, PROOF_EXTRA_MAX + 1, 0, path[0], 0, fx.checkpoint,
                         strlen(fx.checkpoint), NULL, err, sizeof err));
    ASSERT_CONTAINS(err, "extra data is longer");
    free(big);
    teardown();
}

/* Parse failures, each with the reason it names. */
static void expect_unparsable(int *test_failed_, const char *text, const char *why)
{
    static tlog_proof p;
    char err[256] = "";
    ASSERT_EQ_INT(proof_parse(text, strlen(text), &p, err, sizeof err), -1);
    ASSERT_CONTAINS(err, why);
}

/* text with the line starting at `from` (through its newline) replaced by
** repl; caller frees. */
static char *replace_line(const char *text, const char *from, const char *repl)
{
    const char *at = strstr(text, from), *nl = strchr(at, '\n');
    char *out = malloc(strlen(text) + strlen(repl) + 1);
    memcpy(out, text, (size_t)(at - text));
    strcpy(out + (at - text), repl);
    strcat(out, nl + 1);
    return out;
}

TEST(proof_text_rules_are_enforced)
{
    setup();
    char *good = make_proof(2, fx.checkpoint, 1), *t;
    t = replace_line(good, "c2sp.org", "c2sp.org/tlog-proof@v2\n");
    expect_unparsable(test_failed_, t, "first line");
    free(t);
    t = replace_line(good, "index", "index 02\n");
    expect_unparsable(test_failed_, t, "decimal");
    free(t);
    t = replace_line(good, "index", "index  2\n");
    expect_unparsable(test_failed_, t, "decimal");
    free(t);
    t = replace_line(good, "index", "");
    expect_unparsable(test_failed_, t, "third line");
    free(t);
    t = replace_line(good, "extra", "extra not base64!\n");
    expect_unparsable(test_failed_, t, "extra line");
    free(t);
    t = replace_line(good, "extra", "extra: AAAA\n");
    expect_unparsable(test_failed_, t, "second line");
    free(t);
    /* A hash line that is 31 bytes. */
    const char *hl = strstr(good, "index 2\n") + 8;
    t = replace_line(good, hl, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n");
    expect_unparsable(test_failed_, t, "line 1 of the audit path");
    free(t);
    /* The checkpoint must be a signed note, without anything after it. */
    size_t len = strlen(good);
    t = malloc(len + 2);
    memcpy(t, good, len);
    memcpy(t + len, "\n", 2);
    expect_unparsable(test_failed_, t, "not a signed note");
    free(t);
    t = replace_line(good, "\xe2\x80\x94", "");
    expect_unparsable(test_failed_, t, "not a signed note");
    free(t);
    expect_unparsable(test_failed_, "c2sp.org/tlog-proof@v1\nindex 0\n", "empty line");
    expect_unparsable(test_failed_, "c2sp.org/tlog-proof@v1\r\nindex 0\n", "first line");
    free(good);
    teardown();
}

TEST(an_audit_path_has_at_most_63_hashes)
{
    setup();
    char *good = make_proof(2, fx.checkpoint, 1);
    const char *hl = strstr(good, "index 2\n") + 8;
    size_t head = (size_t)(hl - good);
    char *t = malloc(strlen(good) + 64 * 45 + 1);
    memcpy(t, good, head);
    size_t n = head;
    for (int i = 0; i < 64; i++) {
        memcpy(t + n, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", 45);
        n += 45;
    }
    strcpy(t + n, strstr(good, "\n\n") + 1);
    expect_unparsable(test_failed_, t, "more than 63 hashes");
    /* 63 parse (and then do not verify). */
    memmove(t + head, t + head + 45, strlen(t + head + 45) + 1);
    tlog_proof *p = malloc(sizeof *p);
    char err[256];
    ASSERT_EQ_INT(proof_parse(t, strlen(t), p, err, sizeof err), 0);
    ASSERT_EQ_INT(p->path_len, 63);
    free(p);
    free(t);
    free(good);
    teardown();
}

/* The add-checkpoint body of tlog-witness's example, verbatim. */
#define SPEC_BODY                                                                          \
    "old 20852014\n"                                                                       \
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"                                       \
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"                                       \
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"                                       \
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"                                       \
    "\n"                                                                                   \
    "example.com/behind-the-sofa\n"                                                        \
    "20852163\n"                                                                           \
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"                                       \
    "\n"                                                                                   \
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/" \
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"                                                \
    "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+" \
    "49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"

TEST(the_spec_example_add_checkpoint_body_parses)
{
    proof_consistency c;
    char err[256];
    ASSERT_EQ_INT(proof_consistency_parse(SPEC_BODY, strlen(SPEC_BODY), &c, err, sizeof err), 0);
    ASSERT_EQ_INT(c.old_size, 20852014);
    ASSERT_EQ_INT(c.path_len, 4);
    ASSERT(strncmp(c.checkpoint, "example.com/behind-the-sofa\n20852163\n", 37) == 0);
    ASSERT_EQ_INT(c.checkpoint_len, strlen(strstr(SPEC_BODY, "example.com/")));
}

TEST(consistency_bodies_round_trip_and_verify)
{
    setup();
    char err[256];
    merkle_reader r = merkle_mem_reader(&fx.tree);
    merkle_hash path[MERKLE_MAX_PROOF], old_root;
    size_t len;
    ASSERT_EQ_INT(merkle_prove_consistency(13, SIZE, &r, path, &len, err, sizeof err), MERKLE_OK);
    size_t blen;
    char *body = proof_consistency_format(13, path[0], len, fx.checkpoint, strlen(fx.checkpoint),
                                          &blen, err, sizeof err);
    ASSERT(body);
    ASSERT(strncmp(body, "old 13\n", 7) == 0);
    proof_consistency c;
    ASSERT_EQ_INT(proof_consistency_parse(body, blen, &c, err, sizeof err), 0);
    ASSERT_EQ_INT(c.old_size, 13);
    ASSERT_EQ_INT(c.path_len, len);
    ASSERT_EQ_INT(c.checkpoint_len, strlen(fx.checkpoint));
    note parsed;
    ckpt cp;
    ASSERT_EQ_INT(ckpt_open(c.checkpoint, c.checkpoint_len, &fx.trusted, 1, &parsed, &cp, err,
                            sizeof err),
                  CKPT_OK);
    merkle_tree_hash(13, &r, old_root, err, sizeof err);
    ASSERT_EQ_INT(merkle_verify_consistency(c.old_size, cp.size, old_root, cp.root, c.path[0],
                                            c.path_len),
                  MERKLE_OK);
    free(body);
    /* Old size 0: no proof lines at all. */
    body = proof_consistency_format(0, NULL, 0, fx.checkpoint, strlen(fx.checkpoint), &blen, err,
                                    sizeof err);
    ASSERT(strncmp(body, "old 0\n\n", 7) == 0);
    free(body);
    ASSERT(!proof_consistency_format(22, NULL, 0, fx.checkpoint, strlen(fx.checkpoint), &blen,
                                     err, sizeof err));
    ASSERT_CONTAINS(err, "not within");
    teardown();
}

TEST(add_checkpoint_body_rules_are_enforced)
{
    proof_consistency c;
    char err[256] = "";
    static const char *const bad[] = {
        "old 020852014\n", "old  20852014\n", "old -1\n", "Old 20852014\n", "old 20852014 \n",
        "old\n", "20852014\n",
    };
    const char *rest = strchr(SPEC_BODY, '\n') + 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[2048];
        snprintf(body, sizeof body, "%s%s", bad[i], rest);
        ASSERT_EQ_INT(proof_consistency_parse(body, strlen(body), &c, err, sizeof err), -1);
        ASSERT_CONTAINS(err, "first line");
    }
    /* No blank line before the checkpoint: the checkpoint's origin line is
    ** taken for a proof line. */
    const char *nobl = "old 1\nexample.com/behind-the-sofa\n1\n";
    ASSERT_EQ_INT(proof_consistency_parse(nobl, strlen(nobl), &c, err, sizeof err), -1);
    /* The last line of the body must end in a newline. */
    ASSERT_EQ_INT(proof_consistency_parse(SPEC_BODY, strlen(SPEC_BODY) - 1, &c, err, sizeof err),
                  -1);
    /* 64 proof lines are one too many. */
    char *body = malloc(16 + 64 * 45 + strlen(SPEC_BODY));
    strcpy(body, "old 1\n");
    for (int i = 0; i < 64; i++) strcat(body, "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n");
    strcat(body, strstr(SPEC_BODY, "\n\n") + 1);
    ASSERT_EQ_INT(proof_consistency_parse(body, strlen(body), &c, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "more than 63");
    free(body);
}

TEST_MAIN(TEST_ENTRY(every_entry_proves_against_the_signed_checkpoint)
          TEST_ENTRY(the_text_is_the_spec_format_line_for_line)
          TEST_ENTRY(without_an_extra_line_the_entry_hash_must_be_given)
          TEST_ENTRY(an_edited_entry_is_refused_naming_the_entry_hash)
          TEST_ENTRY(a_changed_proof_hash_is_refused_naming_the_audit_path)
          TEST_ENTRY(a_truncated_audit_path_is_refused)
          TEST_ENTRY(a_different_checkpoint_signature_is_refused_naming_the_signature)
          TEST_ENTRY(a_checkpoint_of_another_origin_is_refused)
          TEST_ENTRY(cosignatures_count_toward_the_minimum)
          TEST_ENTRY(a_cosignature_from_an_unknown_key_does_not_count)
          TEST_ENTRY(a_known_witness_with_a_bad_cosignature_fails_the_proof)
          TEST_ENTRY(an_index_beyond_the_tree_is_refused_naming_the_index)
          TEST_ENTRY(a_proof_under_an_older_checkpoint_still_proves)
          TEST_ENTRY(proof_format_refuses_what_could_not_be_a_proof)
          TEST_ENTRY(proof_text_rules_are_enforced)
          TEST_ENTRY(an_audit_path_has_at_most_63_hashes)
          TEST_ENTRY(the_spec_example_add_checkpoint_body_parses)
          TEST_ENTRY(consistency_bodies_round_trip_and_verify)
          TEST_ENTRY(add_checkpoint_body_rules_are_enforced))
