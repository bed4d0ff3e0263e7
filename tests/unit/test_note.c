/*
** test_note.c: signed notes and cosignatures (src/tlog/note.h).
**
** Known answers come from the signed-note spec's example and from the test
** vectors of Go's golang.org/x/mod/sumdb/note (PeterNeumann and EnochRoot):
** Ed25519 is deterministic, so our signature of the same text with the same
** key must be Go's byte for byte.  Then every format rule of the spec, each
** its own case.
*/
#include "test.h"

#include <sodium.h>
#include <stdint.h>

#include "tlog/c2sp.h"
#include "tlog/note.h"
#include "tlog_fixture.h"

#define SPEC_VKEY "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
#define SPEC_NOTE                                                                          \
    "This is an example message.\n\n— example.com/foo "                                    \
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72" \
    "IneyaQM=\n"

#define PETER_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PETER_SEED "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz" /* 0x01 || seed */
#define ENOCH_VKEY "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
#define TEXT                                                                               \
    "If you think cryptography is the answer to your problem,\n"                           \
    "then you don't know what your problem is.\n"
#define PETER_SIG                                                                          \
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn" \
    "gotpRZb6KE6RyyBwJnAM=\n"
#define ENOCH_SIG                                                                          \
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwn" \
    "WLox33WWd1RvMc+QQ=\n"

static note parsed_; /* a note is 7 KB: one, not on every case's stack */

static note_key key(const char *vkey)
{
    note_key k;
    char err[256];
    if (note_key_parse(vkey, &k, err, sizeof err) != NOTE_OK) {
        fprintf(stderr, "%s: %s\n", vkey, err);
        memset(&k, 0, sizeof k);
    }
    return k;
}

static note_signer peter_signer(void)
{
    uint8_t raw[33], pk[32], sk[64];
    size_t n = 0;
    char err[256];
    note_signer s;
    c2sp_b64_decode(PETER_SEED, strlen(PETER_SEED), raw, sizeof raw, &n);
    crypto_sign_seed_keypair(pk, sk, raw + 1);
    note_signer_make(&s, "PeterNeumann", NOTE_ED25519, sk, err, sizeof err);
    return s;
}

static int open_with(const char *msg, const char *vkey1, const char *vkey2, char *err)
{
    note_key k[2];
    size_t nk = 0;
    if (vkey1) k[nk++] = key(vkey1);
    if (vkey2) k[nk++] = key(vkey2);
    return note_open(msg, strlen(msg), k, nk, &parsed_, err, 256);
}

TEST(spec_example_key_parses_and_prints_back)
{
    char err[256], out[NOTE_VKEY_MAX];
    note_key k;
    ASSERT_EQ_INT(note_key_parse(SPEC_VKEY, &k, err, sizeof err), NOTE_OK);
    ASSERT_EQ_STR(k.name, "example.com/foo");
    ASSERT_EQ_INT(k.id, 0x530d903a);
    ASSERT_EQ_INT(k.type, NOTE_ED25519);
    ASSERT_EQ_INT(note_key_id(k.name, strlen(k.name), k.type, k.pk), 0x530d903a);
    note_key_format(&k, out);
    ASSERT_EQ_STR(out, SPEC_VKEY);
}

TEST(spec_example_note_verifies)
{
    char err[256];
    ASSERT_EQ_INT(open_with(SPEC_NOTE, SPEC_VKEY, NULL, err), NOTE_OK);
    ASSERT_EQ_INT(parsed_.text_len, strlen("This is an example message.\n"));
    ASSERT(memcmp(parsed_.text, "This is an example message.\n", parsed_.text_len) == 0);
    ASSERT_EQ_INT(parsed_.nsigs, 1);
}

TEST(our_signature_is_go_notes_byte_for_byte)
{
    char err[256], vkey[NOTE_VKEY_MAX];
    note_signer s = peter_signer();
    note_key_format(&s.key, vkey);
    ASSERT_EQ_STR(vkey, PETER_VKEY);
    size_t len = 0;
    char *msg = note_sign(TEXT, strlen(TEXT), &s, 1, 0, &len, err, sizeof err);
    ASSERT(msg);
    ASSERT_EQ_STR(msg, TEXT "\n" PETER_SIG);
    ASSERT_EQ_INT(len, strlen(TEXT "\n" PETER_SIG));
    free(msg);
    note_signer_wipe(&s);
}

TEST(signatures_by_unknown_keys_are_ignored)
{
    char err[256];
    ASSERT_EQ_INT(open_with(TEXT "\n" PETER_SIG ENOCH_SIG, PETER_VKEY, NULL, err), NOTE_OK);
    ASSERT_EQ_INT(parsed_.nsigs, 2);
    ASSERT_EQ_INT(open_with(TEXT "\n" ENOCH_SIG PETER_SIG, PETER_VKEY, NULL, err), NOTE_OK);
}

TEST(every_known_key_is_verified)
{
    char err[256];
    note_key k[2] = {key(PETER_VKEY), key(ENOCH_VKEY)};
    note_verdict v[2];
    const char *msg = TEXT "\n" PETER_SIG ENOCH_SIG;
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_check(&parsed_, k, 2, v, err, sizeof err), 2);
    ASSERT(v[0].valid && v[1].valid && !v[0].invalid && !v[1].invalid);
}

TEST(a_note_without_a_known_signature_is_refused)
{
    char err[256] = "";
    ASSERT_EQ_INT(open_with(TEXT "\n" ENOCH_SIG, PETER_VKEY, NULL, err), NOTE_ENOSIG);
    ASSERT_CONTAINS(err, "no signature by a known key");
    ASSERT_EQ_INT(open_with(TEXT "\n" PETER_SIG, NULL, NULL, err), NOTE_ENOSIG);
}

TEST(a_failing_signature_by_a_known_key_rejects_the_note)
{
    char err[256] = "", msg[1024];
    /* Go's own case: four base64 characters inserted in the signature. */
    const char *sig = PETER_SIG;
    snprintf(msg, sizeof msg, "%s\n%.60sABCD%s", TEXT, sig, sig + 60);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_EBADSIG);
    ASSERT_CONTAINS(err, "PeterNeumann+c74f20a3");
    /* A valid signature by another known key does not save it. */
    snprintf(msg, sizeof msg, "%s\n%s%.60sABCD%s", TEXT, ENOCH_SIG, sig, sig + 60);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, ENOCH_VKEY, err), NOTE_EBADSIG);
    /* Nor does the same text signed over something else. */
    ASSERT_EQ_INT(open_with("Other text.\n\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EBADSIG);
}

TEST(a_key_sharing_only_the_name_or_only_the_id_is_another_key)
{
    char err[256], msg[1024];
    /* Same name, other ID: an unknown key, ignored, so no known signature. */
    note_signer other = tf_signer("PeterNeumann", NOTE_ED25519);
    char *signed_msg = note_sign(TEXT, strlen(TEXT), &other, 1, 0, NULL, err, sizeof err);
    ASSERT(signed_msg);
    ASSERT_EQ_INT(open_with(signed_msg, PETER_VKEY, NULL, err), NOTE_ENOSIG);
    /* Same ID under another name: ignored as well. */
    snprintf(msg, sizeof msg, "%s\n— PeterNeumann2 %s", TEXT, PETER_SIG + strlen("— PeterNeumann "));
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_ENOSIG);
    free(signed_msg);
}

TEST(duplicate_signatures_count_once_and_each_is_checked)
{
    char err[256], msg[1024];
    note_key k = key(PETER_VKEY);
    note_verdict v;
    snprintf(msg, sizeof msg, "%s\n%s%s", TEXT, PETER_SIG, PETER_SIG);
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_check(&parsed_, &k, 1, &v, err, sizeof err), 1);
    /* The same key given twice is one key. */
    note_key twice[2] = {k, k};
    note_verdict v2[2];
    ASSERT_EQ_INT(note_check(&parsed_, twice, 2, v2, err, sizeof err), 1);
    ASSERT(v2[0].valid && v2[1].valid);
    /* A bad duplicate of a good signature rejects the note. */
    const char *sig = PETER_SIG;
    snprintf(msg, sizeof msg, "%s\n%s%.60sABCD%s", TEXT, sig, sig, sig + 60);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_EBADSIG);
}

TEST(two_different_keys_with_one_name_and_id_are_refused)
{
    char err[256] = "";
    note_key k[2] = {key(PETER_VKEY), key(PETER_VKEY)};
    note_verdict v[2];
    k[1].pk[0] ^= 1; /* a forged key claiming Peter's name and ID */
    const char *msg = TEXT "\n" PETER_SIG;
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_check(&parsed_, k, 2, v, err, sizeof err), NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "two different keys");
}

TEST(at_most_100_signatures)
{
    char err[256] = "";
    size_t sl = strlen(PETER_SIG);
    char *msg = malloc(strlen(TEXT) + 1 + 101 * sl + 1);
    strcpy(msg, TEXT "\n");
    for (int i = 0; i < 100; i++) strcat(msg, PETER_SIG);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_OK);
    ASSERT_EQ_INT(parsed_.nsigs, 100);
    strcat(msg, PETER_SIG);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "more than 100 signatures");
    free(msg);
}

TEST(at_most_256_kib)
{
    char err[256] = "";
    size_t tl = NOTE_MAX_SIZE - strlen("\n" PETER_SIG) + 1;
    char *msg = malloc(tl + strlen("\n" PETER_SIG) + 1);
    memset(msg, 'a', tl - 1);
    msg[tl - 1] = '\n';
    strcpy(msg + tl, "\n" PETER_SIG);
    ASSERT_EQ_INT(strlen(msg), NOTE_MAX_SIZE + 1);
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "larger than");
    /* One byte less is a note (its signature fails, it parses). */
    ASSERT_EQ_INT(note_parse(msg + 1, strlen(msg + 1), &parsed_, err, sizeof err), NOTE_OK);
    free(msg);
}

/* Go's malformed notes, each refused. */
TEST(a_text_without_signatures_is_malformed)
{
    char err[256];
    ASSERT_EQ_INT(open_with(TEXT, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with(TEXT "\n", PETER_VKEY, NULL, err), NOTE_EFORMAT);
}

TEST(a_signature_line_must_end_in_a_newline)
{
    char err[256], msg[1024];
    snprintf(msg, sizeof msg, "%s\n%.*s", TEXT, (int)strlen(PETER_SIG) - 1, PETER_SIG);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_EFORMAT);
}

TEST(control_characters_are_malformed)
{
    char err[256];
    ASSERT_EQ_INT(open_with("\x01" TEXT "\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with("a\r\nb\n\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with("a\tb\n\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "control characters");
}

TEST(invalid_utf8_is_malformed)
{
    char err[256];
    ASSERT_EQ_INT(open_with("\xff" TEXT "\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with("\xc0\xaf\n\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with("\xed\xa0\x80\n\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    /* Valid non-ASCII text is fine (the signature then fails). */
    ASSERT_EQ_INT(open_with("caf\xc3\xa9\n\n" PETER_SIG, PETER_VKEY, NULL, err), NOTE_EBADSIG);
}

TEST(a_line_after_the_signatures_is_malformed)
{
    char err[256];
    ASSERT_EQ_INT(open_with(TEXT "\n" PETER_SIG "Unexpected line.\n", PETER_VKEY, NULL, err),
                  NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "signature line 2");
}

TEST(the_text_ends_at_the_last_blank_line)
{
    char err[256];
    const char *msg = "a\n\nb\n\n" PETER_SIG;
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(parsed_.text_len, 5);
    ASSERT(memcmp(parsed_.text, "a\n\nb\n", 5) == 0);
    /* A blank line between signatures makes the first one text. */
    const char *two = TEXT "\n" ENOCH_SIG "\n" PETER_SIG;
    ASSERT_EQ_INT(note_parse(two, strlen(two), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(parsed_.nsigs, 1);
}

TEST(key_names_with_spaces_or_plus_are_malformed)
{
    char err[256];
    ASSERT_EQ_INT(open_with(TEXT "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
                            PETER_VKEY, NULL, err),
                  NOTE_EFORMAT);
    ASSERT(!note_name_ok("a+b", 3));
    ASSERT(!note_name_ok("", 0));
    ASSERT(!note_name_ok("a b", 3));
    ASSERT(!note_name_ok("a\xc2\xa0" "b", 4));     /* U+00A0 no-break space */
    ASSERT(!note_name_ok("a\xe3\x80\x80" "b", 5)); /* U+3000 ideographic space */
    ASSERT(!note_name_ok("a\xe2\x80\xa8" "b", 5)); /* U+2028 line separator */
    ASSERT(!note_name_ok("a\xc2\x85" "b", 4));     /* U+0085 next line */
    ASSERT(!note_name_ok("a\xff", 2));
    ASSERT(note_name_ok("example.com/log42", 17));
    ASSERT(note_name_ok("caf\xc3\xa9", 5));
    char longname[NOTE_NAME_MAX + 2];
    memset(longname, 'n', sizeof longname);
    ASSERT(note_name_ok(longname, NOTE_NAME_MAX));
    ASSERT(!note_name_ok(longname, NOTE_NAME_MAX + 1));
}

TEST(signature_lines_need_the_em_dash_and_canonical_base64)
{
    char err[256];
    /* A hyphen instead of the em dash. */
    ASSERT_EQ_INT(open_with(TEXT "\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
                            PETER_VKEY, NULL, err),
                  NOTE_EFORMAT);
    /* No padding, stray bits, too short, nothing at all. */
    ASSERT_EQ_INT(open_with(TEXT "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
                            PETER_VKEY, NULL, err),
                  NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with(TEXT "\n— PeterNeumann AAF=\n", PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with(TEXT "\n— PeterNeumann AAAAAA==\n", PETER_VKEY, NULL, err),
                  NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with(TEXT "\n— PeterNeumann \n", PETER_VKEY, NULL, err), NOTE_EFORMAT);
    ASSERT_EQ_INT(open_with(TEXT "\n— PeterNeumann\n", PETER_VKEY, NULL, err), NOTE_EFORMAT);
    /* Five bytes parse (an unknown key's short signature is ignored)... */
    ASSERT_EQ_INT(open_with(TEXT "\n— Someone AAAAAAA=\n" PETER_SIG, PETER_VKEY, NULL, err),
                  NOTE_OK);
    /* ...but a known key's must be a whole signature. */
    static const uint8_t shortsig[6] = {0xc7, 0x4f, 0x20, 0xa3, 0x01, 0x02};
    char b64[C2SP_B64_LEN(6) + 1], msg[512];
    c2sp_b64_encode(shortsig, sizeof shortsig, b64);
    snprintf(msg, sizeof msg, "%s\n— PeterNeumann %s\n", TEXT, b64);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_EBADSIG);
}

/* Go's TestNewVerifier: every substring and every single changed byte of
** a verifier key is refused. */
TEST(every_mangled_verifier_key_is_refused)
{
    char err[256], buf[sizeof PETER_VKEY];
    note_key k;
    size_t len = strlen(PETER_VKEY);
    for (size_t i = 0; i <= len; i++)
        for (size_t j = i + 1; j <= len; j++) {
            if (i == 0 && j == len) continue;
            memcpy(buf, PETER_VKEY + i, j - i);
            buf[j - i] = '\0';
            ASSERT(note_key_parse(buf, &k, err, sizeof err) == NOTE_EFORMAT);
        }
    for (size_t i = 0; i < len; i++) {
        strcpy(buf, PETER_VKEY);
        buf[i]++;
        ASSERT(note_key_parse(buf, &k, err, sizeof err) == NOTE_EFORMAT);
    }
}

TEST(verifier_keys_of_other_types_or_lengths_are_refused)
{
    char err[256] = "";
    note_key k;
    /* Go's vectors, their key IDs adjusted to match (the first one's
    ** base64 has stray bits too, which libsodium refuses first). */
    ASSERT_EQ_INT(note_key_parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                 "LDE4izWy10TWBADKEY==",
                                 &k, err, sizeof err),
                  NOTE_EFORMAT);
    /* A 31-byte key with its true ID. */
    uint8_t raw[32] = {NOTE_ED25519, 7, 7, 7};
    char b64[C2SP_B64_LEN(32) + 1], vkey[256];
    crypto_hash_sha256_state st;
    uint8_t sum[32];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)"short\n", 6);
    crypto_hash_sha256_update(&st, raw, sizeof raw);
    crypto_hash_sha256_final(&st, sum);
    c2sp_b64_encode(raw, sizeof raw, b64);
    snprintf(vkey, sizeof vkey, "short+%02x%02x%02x%02x+%s", sum[0], sum[1], sum[2], sum[3], b64);
    ASSERT_EQ_INT(note_key_parse(vkey, &k, err, sizeof err), NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "31 bytes, not 32");
    ASSERT_EQ_INT(note_key_parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                 "LDE4izWy10TW",
                                 &k, err, sizeof err),
                  NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "type 0x65");
    ASSERT_EQ_INT(note_key_parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                 "LDE4izWy10TW",
                                 &k, err, sizeof err),
                  NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "lowercase hex");
}

TEST(signing_needs_a_newline_ended_text_and_valid_names)
{
    char err[256] = "";
    note_signer s = peter_signer();
    ASSERT(!note_sign("abc", 3, &s, 1, 0, NULL, err, sizeof err));
    ASSERT_CONTAINS(err, "end in a newline");
    ASSERT(!note_sign("a\rb\n", 4, &s, 1, 0, NULL, err, sizeof err));
    ASSERT(!note_sign(TEXT, strlen(TEXT), &s, 0, 0, NULL, err, sizeof err));
    note_signer bad;
    uint8_t sk[64] = {0};
    ASSERT_EQ_INT(note_signer_make(&bad, "a b", NOTE_ED25519, sk, err, sizeof err), NOTE_EFORMAT);
    ASSERT_EQ_INT(note_signer_make(&bad, "ok", 0x02, sk, err, sizeof err), NOTE_EFORMAT);
    note_signer_wipe(&s);
}

TEST(a_note_signed_by_several_keys_opens_with_each)
{
    char err[256], v1[NOTE_VKEY_MAX], v2[NOTE_VKEY_MAX];
    note_signer s[2] = {tf_signer("log.example/a", NOTE_ED25519),
                        tf_signer("log.example/b", NOTE_ED25519)};
    note_key_format(&s[0].key, v1);
    note_key_format(&s[1].key, v2);
    char *msg = note_sign("hello\n", 6, s, 2, 0, NULL, err, sizeof err);
    ASSERT(msg);
    ASSERT_EQ_INT(open_with(msg, v1, NULL, err), NOTE_OK);
    ASSERT_EQ_INT(open_with(msg, v2, NULL, err), NOTE_OK);
    ASSERT_EQ_INT(parsed_.nsigs, 2);
    free(msg);
}

/* The cosignature/v1 bytes, checked by hand against the spec. */
TEST(cosignature_is_the_timestamped_signature_the_spec_defines)
{
    char err[256], line[NOTE_LINE_MAX];
    note_signer w = tf_signer("witness.example/w1", NOTE_COSIGNATURE);
    const char *text = "example.com/behind-the-sofa\n20852163\n"
                       "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    ASSERT_EQ_INT(note_sign_line(&w, text, strlen(text), 1679315147, line, err, sizeof err),
                  NOTE_OK);
    ASSERT(strncmp(line, "— witness.example/w1 ", strlen("— witness.example/w1 ")) == 0);
    const char *b64 = line + strlen("— witness.example/w1 ");
    uint8_t raw[80];
    size_t n = 0;
    ASSERT_EQ_INT(c2sp_b64_decode(b64, strlen(b64) - 1, raw, sizeof raw, &n), 0);
    ASSERT_EQ_INT(n, 4 + 8 + 64);
    /* Key ID: SHA-256(name || "\n" || 0x04 || key)[:4]. */
    uint8_t buf[128], sum[32];
    size_t nl = strlen("witness.example/w1");
    memcpy(buf, "witness.example/w1\n\x04", nl + 2);
    memcpy(buf + nl + 2, w.key.pk, 32);
    crypto_hash_sha256(sum, buf, nl + 2 + 32);
    ASSERT(memcmp(raw, sum, 4) == 0);
    /* Then the timestamp, big-endian. */
    static const uint8_t ts[8] = {0, 0, 0, 0, 0x64, 0x18, 0x50, 0xcb};
    ASSERT(memcmp(raw + 4, ts, 8) == 0);
    /* Then Ed25519 over the header lines and the checkpoint. */
    char msg[256];
    snprintf(msg, sizeof msg, "cosignature/v1\ntime 1679315147\n%s", text);
    ASSERT_EQ_INT(crypto_sign_verify_detached(raw + 12, (const uint8_t *)msg, strlen(msg),
                                              w.key.pk),
                  0);
    note_signer_wipe(&w);
}

TEST(cosignatures_verify_with_the_witness_key_and_give_its_time)
{
    char err[256], vkey[NOTE_VKEY_MAX];
    note_signer w = tf_signer("witness.example/w1", NOTE_COSIGNATURE);
    note_key_format(&w.key, vkey);
    ASSERT(strstr(vkey, "+B") != NULL); /* base64 of 0x04 || key starts "B" */
    const char *text = "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    char *msg = note_sign(text, strlen(text), &w, 1, 1700000000, NULL, err, sizeof err);
    ASSERT(msg);
    note_key k = key(vkey);
    ASSERT_EQ_INT(k.type, NOTE_COSIGNATURE);
    note_verdict v;
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_check(&parsed_, &k, 1, &v, err, sizeof err), 1);
    ASSERT_EQ_INT(v.timestamp, 1700000000);
    /* The same public key as a plain Ed25519 key is another key (ID). */
    note_key plain;
    ASSERT_EQ_INT(note_key_make(&plain, "witness.example/w1", NOTE_ED25519, w.key.pk, err,
                                sizeof err),
                  NOTE_OK);
    ASSERT(plain.id != k.id);
    ASSERT_EQ_INT(note_check(&parsed_, &plain, 1, &v, err, sizeof err), 0);
    ASSERT(!v.invalid);
    free(msg);
    note_signer_wipe(&w);
}

TEST(a_cosignature_over_another_time_or_text_fails)
{
    char err[256], line[NOTE_LINE_MAX], msg[1024];
    note_signer w = tf_signer("w", NOTE_COSIGNATURE);
    const char *text = "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    ASSERT_EQ_INT(note_sign_line(&w, text, strlen(text), 1000, line, err, sizeof err), NOTE_OK);
    /* Flip a bit of the timestamp inside the base64: the signature no
    ** longer covers that time. */
    uint8_t raw[80];
    size_t n = 0;
    char b64[C2SP_B64_LEN(80) + 1];
    ASSERT_EQ_INT(c2sp_b64_decode(line + 6, strlen(line + 6) - 1, raw, sizeof raw, &n), 0);
    raw[11] ^= 1;
    c2sp_b64_encode(raw, n, b64);
    snprintf(msg, sizeof msg, "%s\n— w %s\n", text, b64);
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    note_verdict v;
    ASSERT_EQ_INT(note_check(&parsed_, &w.key, 1, &v, err, sizeof err), 0);
    ASSERT(v.invalid);
    /* A timestamp beyond 2^63-1 is invalid even where signed. */
    raw[11] ^= 1;
    raw[4] = 0x80;
    c2sp_b64_encode(raw, n, b64);
    snprintf(msg, sizeof msg, "%s\n— w %s\n", text, b64);
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_check(&parsed_, &w.key, 1, &v, err, sizeof err), 0);
    ASSERT(v.invalid);
    /* Over other text. */
    snprintf(msg, sizeof msg, "origin\n2\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n%s",
             line);
    ASSERT_EQ_INT(note_parse(msg, strlen(msg), &parsed_, err, sizeof err), NOTE_OK);
    ASSERT_EQ_INT(note_check(&parsed_, &w.key, 1, &v, err, sizeof err), 0);
    ASSERT(v.invalid);
    note_signer_wipe(&w);
}

TEST(cosigning_needs_a_timestamp_from_1_to_2_pow_63_minus_1)
{
    char err[256] = "", line[NOTE_LINE_MAX];
    note_signer w = tf_signer("w", NOTE_COSIGNATURE);
    ASSERT_EQ_INT(note_sign_line(&w, "a\n", 2, 0, line, err, sizeof err), NOTE_EFORMAT);
    ASSERT_CONTAINS(err, "timestamp");
    ASSERT_EQ_INT(note_sign_line(&w, "a\n", 2, (uint64_t)INT64_MAX + 1, line, err, sizeof err),
                  NOTE_EFORMAT);
    ASSERT_EQ_INT(note_sign_line(&w, "a\n", 2, (uint64_t)INT64_MAX, line, err, sizeof err),
                  NOTE_OK);
    note_signer_wipe(&w);
}

/* Found by tests/fuzz/fuzz_note.c: libsodium 1.0.18 decodes every byte
** above 0x7F as '/', so "é" (C3 A9) read as "//" and a signature line
** written otherwise than its signer wrote it still verified here, where
** Go refuses the note. */
TEST(base64_with_bytes_above_0x7f_is_malformed)
{
    uint8_t raw[8];
    size_t n = 0;
    char err[256], line[NOTE_LINE_MAX], text[32], msg[512];
    ASSERT_EQ_INT(c2sp_b64_decode("\xad\xc9\xc5\xc4", 4, raw, sizeof raw, &n), -1);
    ASSERT_EQ_INT(c2sp_b64_decode("\xc3\xa9" "AA", 4, raw, sizeof raw, &n), -1);
    ASSERT_EQ_INT(c2sp_b64_decode("//AA", 4, raw, sizeof raw, &n), 0);
    /* A real signature whose base64 holds "//", that pair written "é". */
    note_signer s = peter_signer();
    char *slashes = NULL;
    for (int i = 0; i < 10000 && !slashes; i++) {
        snprintf(text, sizeof text, "text %d\n", i);
        ASSERT_EQ_INT(note_sign_line(&s, text, strlen(text), 0, line, err, sizeof err), NOTE_OK);
        slashes = strstr(line, "//");
    }
    ASSERT(slashes);
    memcpy(slashes, "\xc3\xa9", 2);
    snprintf(msg, sizeof msg, "%s\n%s", text, line);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_EFORMAT);
    memcpy(slashes, "//", 2);
    snprintf(msg, sizeof msg, "%s\n%s", text, line);
    ASSERT_EQ_INT(open_with(msg, PETER_VKEY, NULL, err), NOTE_OK);
    note_signer_wipe(&s);
}

TEST_MAIN(TEST_ENTRY(spec_example_key_parses_and_prints_back)
          TEST_ENTRY(spec_example_note_verifies)
          TEST_ENTRY(our_signature_is_go_notes_byte_for_byte)
          TEST_ENTRY(signatures_by_unknown_keys_are_ignored)
          TEST_ENTRY(every_known_key_is_verified)
          TEST_ENTRY(a_note_without_a_known_signature_is_refused)
          TEST_ENTRY(a_failing_signature_by_a_known_key_rejects_the_note)
          TEST_ENTRY(a_key_sharing_only_the_name_or_only_the_id_is_another_key)
          TEST_ENTRY(duplicate_signatures_count_once_and_each_is_checked)
          TEST_ENTRY(two_different_keys_with_one_name_and_id_are_refused)
          TEST_ENTRY(at_most_100_signatures)
          TEST_ENTRY(at_most_256_kib)
          TEST_ENTRY(a_text_without_signatures_is_malformed)
          TEST_ENTRY(a_signature_line_must_end_in_a_newline)
          TEST_ENTRY(control_characters_are_malformed)
          TEST_ENTRY(invalid_utf8_is_malformed)
          TEST_ENTRY(a_line_after_the_signatures_is_malformed)
          TEST_ENTRY(the_text_ends_at_the_last_blank_line)
          TEST_ENTRY(key_names_with_spaces_or_plus_are_malformed)
          TEST_ENTRY(signature_lines_need_the_em_dash_and_canonical_base64)
          TEST_ENTRY(every_mangled_verifier_key_is_refused)
          TEST_ENTRY(verifier_keys_of_other_types_or_lengths_are_refused)
          TEST_ENTRY(signing_needs_a_newline_ended_text_and_valid_names)
          TEST_ENTRY(a_note_signed_by_several_keys_opens_with_each)
          TEST_ENTRY(cosignature_is_the_timestamped_signature_the_spec_defines)
          TEST_ENTRY(cosignatures_verify_with_the_witness_key_and_give_its_time)
          TEST_ENTRY(a_cosignature_over_another_time_or_text_fails)
          TEST_ENTRY(cosigning_needs_a_timestamp_from_1_to_2_pow_63_minus_1)
          TEST_ENTRY(base64_with_bytes_above_0x7f_is_malformed))
