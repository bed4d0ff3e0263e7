/*
** test_ckpt.c: checkpoint bodies and signed checkpoints (src/tlog/ckpt.h),
** one case per rule of c2sp.org/tlog-checkpoint.
*/
#include "test.h"

#include <sodium.h>

#include "tlog/ckpt.h"
#include "tlog_fixture.h"

#define SPEC_BODY                                                                          \
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

static note parsed_;

static int parse(const char *text, ckpt *c, char *err)
{
    return ckpt_parse(text, strlen(text), c, err, 256);
}

static ckpt_log log_of(const note_signer *s)
{
    ckpt_log l;
    char vkey[NOTE_VKEY_MAX], err[256];
    note_key_format(&s->key, vkey);
    ckpt_log_from_vkey(vkey, &l, err, sizeof err);
    return l;
}

TEST(the_spec_example_parses)
{
    char err[256];
    ckpt c;
    ASSERT_EQ_INT(parse(SPEC_BODY, &c, err), CKPT_OK);
    ASSERT_EQ_STR(c.origin, "example.com/behind-the-sofa");
    ASSERT_EQ_INT(c.size, 20852163);
    ASSERT_EQ_INT(c.root[0], 0x0a);
    ASSERT_EQ_INT(c.root[31], 0x62);
    ASSERT(c.ext == NULL && c.ext_len == 0);
}

TEST(format_and_parse_round_trip_with_extension_lines)
{
    char err[256];
    ckpt c = {.size = 42}, back;
    strcpy(c.origin, "dss-audit/log-1");
    memset(c.root, 0xab, 32);
    c.ext = "head q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ=\nprev 7\n";
    c.ext_len = strlen(c.ext);
    size_t len = 0;
    char *text = ckpt_format(&c, &len, err, sizeof err);
    ASSERT(text);
    ASSERT_EQ_INT(len, strlen(text));
    const char *want = "dss-audit/log-1\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\nhead ";
    ASSERT(strncmp(text, want, strlen(want)) == 0);
    ASSERT_EQ_INT(ckpt_parse(text, len, &back, err, sizeof err), CKPT_OK);
    ASSERT_EQ_STR(back.origin, c.origin);
    ASSERT_EQ_INT(back.size, 42);
    ASSERT(memcmp(back.root, c.root, 32) == 0);
    ASSERT_EQ_INT(back.ext_len, c.ext_len);
    ASSERT(memcmp(back.ext, c.ext, c.ext_len) == 0);
    free(text);
}

TEST(the_default_origin_is_dss_audit_and_the_log_id)
{
    char o[CKPT_ORIGIN_MAX + 1];
    ASSERT_EQ_INT(ckpt_default_origin("0192f0c4-7a1b-7c3d-8e9f-0a1b2c3d4e5f", o, sizeof o), 0);
    ASSERT_EQ_STR(o, "dss-audit/0192f0c4-7a1b-7c3d-8e9f-0a1b2c3d4e5f");
    ASSERT_EQ_INT(ckpt_default_origin("has space", o, sizeof o), -1);
    ASSERT_EQ_INT(ckpt_default_origin("a+b", o, sizeof o), -1);
}

TEST(fewer_than_three_lines_is_malformed)
{
    char err[256] = "";
    ckpt c;
    ASSERT_EQ_INT(parse("", &c, err), CKPT_EFORMAT);
    ASSERT_EQ_INT(parse("origin\n", &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "no tree size line");
    ASSERT_EQ_INT(parse("origin\n1\n", &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "no root hash line");
    /* The root line must end in a newline like every line. */
    ASSERT_EQ_INT(parse("origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", &c, err),
                  CKPT_EFORMAT);
}

TEST(empty_lines_are_malformed)
{
    char err[256] = "";
    ckpt c;
    ASSERT_EQ_INT(parse("\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", &c, err),
                  CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "origin line is empty");
    ASSERT_EQ_INT(parse(SPEC_BODY "\n", &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "line 4 is empty");
    ASSERT_EQ_INT(parse(SPEC_BODY "ext\n\nmore\n", &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "line 5 is empty");
}

/* The message for a last line without its newline read the length of a
** line that was never found (an indeterminate value). */
TEST(an_extension_line_without_a_newline_is_named_so)
{
    char err[256] = "";
    ckpt c;
    ASSERT_EQ_INT(parse(SPEC_BODY "ext", &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "line 4 is not ended by a newline");
    ASSERT_EQ_INT(parse(SPEC_BODY "ext\nmore", &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "line 5 is not ended by a newline");
}

TEST(the_tree_size_is_a_decimal_without_leading_zeroes)
{
    char err[256];
    ckpt c;
    static const char *const bad[] = {"01", "-1", "+1", "1.0", " 1", "1 ", "0x10", "1e3",
                                      "9223372036854775808", "99999999999999999999", "١"};
    char text[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "o\n%s\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", bad[i]);
        ASSERT_EQ_INT(parse(text, &c, err), CKPT_EFORMAT);
    }
    ASSERT_EQ_INT(parse("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", &c, err), CKPT_OK);
    ASSERT_EQ_INT(c.size, 0);
    ASSERT_EQ_INT(parse("o\n9223372036854775807\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
                        &c, err),
                  CKPT_OK);
    ASSERT_EQ_INT(c.size, INT64_MAX);
}

TEST(the_root_hash_is_the_base64_of_32_bytes)
{
    char err[256] = "";
    ckpt c;
    /* 31 bytes, 33 bytes, no padding, stray bits, not base64. */
    ASSERT_EQ_INT(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n", &c, err),
                  CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "root hash");
    ASSERT_EQ_INT(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n", &c, err),
                  CKPT_EFORMAT);
    ASSERT_EQ_INT(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", &c, err),
                  CKPT_EFORMAT);
    ASSERT_EQ_INT(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", &c, err),
                  CKPT_EFORMAT);
    ASSERT_EQ_INT(parse("o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n", &c, err),
                  CKPT_EFORMAT);
}

TEST(any_origin_parses_but_ours_must_be_key_names)
{
    char err[256] = "";
    ckpt c;
    /* Clients must not assume the origin's format... */
    ASSERT_EQ_INT(parse("go.sum database tree\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                        &c, err),
                  CKPT_OK);
    ASSERT_EQ_STR(c.origin, "go.sum database tree");
    /* ...but a log of ours signs with its origin as the key name. */
    memset(c.root, 0, 32);
    c.size = 1;
    c.ext = NULL;
    c.ext_len = 0;
    ASSERT(!ckpt_format(&c, NULL, err, sizeof err));
    ASSERT_CONTAINS(err, "not a valid key name");
    char longer[CKPT_ORIGIN_MAX + 8];
    memset(longer, 'o', CKPT_ORIGIN_MAX + 1);
    strcpy(longer + CKPT_ORIGIN_MAX + 1, "\n1\n");
    char text[CKPT_ORIGIN_MAX + 64];
    snprintf(text, sizeof text, "%sCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", longer);
    ASSERT_EQ_INT(parse(text, &c, err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "longer than 255");
}

TEST(extension_lines_we_write_must_each_be_non_empty)
{
    char err[256] = "";
    ckpt c = {.size = 1};
    strcpy(c.origin, "o");
    c.ext = "a\n\nb\n";
    c.ext_len = 5;
    ASSERT(!ckpt_format(&c, NULL, err, sizeof err));
    c.ext = "a";
    c.ext_len = 1;
    ASSERT(!ckpt_format(&c, NULL, err, sizeof err));
    c.ext = "a\rb\n";
    c.ext_len = 4;
    ASSERT(!ckpt_format(&c, NULL, err, sizeof err));
    ASSERT_CONTAINS(err, "extension lines");
}

TEST(a_signed_checkpoint_opens_with_its_logs_key)
{
    char err[256];
    note_signer s = tf_signer("dss-audit/L", NOTE_ED25519);
    ckpt_log l = log_of(&s);
    ASSERT_EQ_STR(l.origin, "dss-audit/L");
    ckpt c = {.size = 3}, got;
    strcpy(c.origin, "dss-audit/L");
    memset(c.root, 7, 32);
    size_t tl;
    char *text = ckpt_format(&c, &tl, err, sizeof err);
    char *msg = note_sign(text, tl, &s, 1, 0, NULL, err, sizeof err);
    ASSERT(msg);
    ASSERT_EQ_INT(ckpt_open(msg, strlen(msg), &l, 1, &parsed_, &got, err, sizeof err), CKPT_OK);
    ASSERT_EQ_INT(got.size, 3);
    ASSERT_EQ_INT(got.root[0], 7);
    free(text);
    free(msg);
    note_signer_wipe(&s);
}

TEST(an_unknown_origin_a_bad_or_a_missing_signature_are_told_apart)
{
    char err[256] = "";
    note_signer s = tf_signer("dss-audit/L", NOTE_ED25519), other = tf_signer("dss-audit/L", NOTE_ED25519),
                mkey = tf_signer("dss-audit/M", NOTE_ED25519);
    ckpt_log l = log_of(&s), m = log_of(&mkey);
    ckpt c = {.size = 3}, got;
    strcpy(c.origin, "dss-audit/L");
    size_t tl;
    char *text = ckpt_format(&c, &tl, err, sizeof err);
    char *msg = note_sign(text, tl, &s, 1, 0, NULL, err, sizeof err);
    char *by_other = note_sign(text, tl, &other, 1, 0, NULL, err, sizeof err);
    ASSERT_EQ_INT(ckpt_open(msg, strlen(msg), &m, 1, &parsed_, &got, err, sizeof err),
                  CKPT_EORIGIN);
    ASSERT_CONTAINS(err, "no trusted log has the origin");
    /* The same name under another key: no signature by a trusted key. */
    ASSERT_EQ_INT(ckpt_open(by_other, strlen(by_other), &l, 1, &parsed_, &got, err, sizeof err),
                  CKPT_ESIG);
    /* A changed size under the real signature fails to verify. */
    char *p = strstr(msg, "\n3\n");
    p[1] = '4';
    ASSERT_EQ_INT(ckpt_open(msg, strlen(msg), &l, 1, &parsed_, &got, err, sizeof err), CKPT_ESIG);
    ASSERT_CONTAINS(err, "does not verify");
    ASSERT_EQ_INT(ckpt_open("x\n\n— a AAAAAAA=\n", 16, &l, 1, &parsed_, &got, err, sizeof err),
                  CKPT_EFORMAT);
    free(text);
    free(msg);
    free(by_other);
}

TEST(a_cosignature_key_is_not_a_logs_key)
{
    char err[256] = "", vkey[NOTE_VKEY_MAX];
    uint8_t pk[32] = {1};
    note_key k;
    note_key_make(&k, "w", NOTE_COSIGNATURE, pk, err, sizeof err);
    note_key_format(&k, vkey);
    ckpt_log l;
    ASSERT_EQ_INT(ckpt_log_from_vkey(vkey, &l, err, sizeof err), CKPT_EFORMAT);
    ASSERT_CONTAINS(err, "cosignature key");
}

TEST_MAIN(TEST_ENTRY(the_spec_example_parses)
          TEST_ENTRY(format_and_parse_round_trip_with_extension_lines)
          TEST_ENTRY(the_default_origin_is_dss_audit_and_the_log_id)
          TEST_ENTRY(fewer_than_three_lines_is_malformed)
          TEST_ENTRY(empty_lines_are_malformed)
          TEST_ENTRY(an_extension_line_without_a_newline_is_named_so)
          TEST_ENTRY(the_tree_size_is_a_decimal_without_leading_zeroes)
          TEST_ENTRY(the_root_hash_is_the_base64_of_32_bytes)
          TEST_ENTRY(any_origin_parses_but_ours_must_be_key_names)
          TEST_ENTRY(extension_lines_we_write_must_each_be_non_empty)
          TEST_ENTRY(a_signed_checkpoint_opens_with_its_logs_key)
          TEST_ENTRY(an_unknown_origin_a_bad_or_a_missing_signature_are_told_apart)
          TEST_ENTRY(a_cosignature_key_is_not_a_logs_key))
