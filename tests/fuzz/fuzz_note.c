/*
** fuzz_note.c: a libFuzzer target for C2SP signed notes, checkpoints and
** verifier keys (src/tlog/note.c, ckpt.c, c2sp.c), which proofs and
** witnesses take from whoever sends them.
**
** An input's first byte picks what the rest is (its value modulo 4):
**   0  a signed note: note_parse, note_open against the four fixed keys of
**      tlog_fuzz.h, note_check, ckpt_open against the two fixed logs, and
**      ckpt_parse of its text;
**   1  a checkpoint body: ckpt_parse, and the base64 and decimal parsers
**      of c2sp.c on the same bytes;
**   2  a verifier key: note_key_parse, ckpt_log_from_vkey;
**   3  four bytes of mutation (operation, position, value), four of
**      timestamp, and a text: the target signs the text with the log's
**      key and cosigns it with a witness's, opens the note, then mutates
**      one byte of it and opens it again.
**
** Besides the sanitizers, it aborts when a promise is broken:
**   - a parsed note is its text, a blank line and its signature lines,
**     end to end; what parses as a checkpoint or a key prints back to the
**     same bytes (ckpt_format, note_key_format), as base64 and decimals do;
**   - whatever opens under a fixed key carries exactly the signature line
**     the target itself makes over that text (Ed25519 is deterministic),
**     so no forged or malleated signature is ever accepted, and a
**     checkpoint of fuzz.example/log is one of tree A's or tree B's;
**   - a note the target signs opens, with the cosignature's time; once
**     mutated it opens only when its text is byte for byte the one signed
**     and every line by the two keys is still the genuine one.
**
** Seeds: tests/fuzz/corpus/note/, written by this target when run as
** FUZZ_WRITE_SEEDS=DIR build-fuzz/fuzz_note (from the fixed keys and trees
** of tlog_fuzz.h), plus what the product printed (checkpoint --note,
** public-key --note) and the examples of docs/transparency.md.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=4096
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog/c2sp.h"
#include "tlog/ckpt.h"
#include "tlog/note.h"
#include "tlog_fuzz.h"

#define NAME "fuzz_note"

static note_key all_keys[4];
static note *parsed, *mutated;

static void die(const char *what, const char *why)
{
    tf_die(NAME, what, why);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tf_init();
    all_keys[0] = tf_k.log.key;
    all_keys[1] = tf_k.product.key;
    all_keys[2] = tf_k.wkeys[0];
    all_keys[3] = tf_k.wkeys[1];
    if (!(parsed = malloc(sizeof *parsed)) || !(mutated = malloc(sizeof *mutated)))
        die("init", "out of memory");
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

/* A parsed note is its text, a blank line and its lines, end to end. */
static void check_shape(const note *n, const char *msg, size_t len)
{
    if (n->text != msg || n->text_len == 0 || n->text_len >= len ||
        msg[n->text_len - 1] != '\n' || msg[n->text_len] != '\n')
        die("note_parse", "the text is not followed by a blank line");
    if (n->nsigs == 0 || n->nsigs > NOTE_MAX_SIGS) die("note_parse", "signature count");
    const char *at = msg + n->text_len + 1;
    for (size_t i = 0; i < n->nsigs; i++) {
        const note_sig *s = &n->sigs[i];
        if (s->line != at || s->line_len < 4 + 1 + 1 + 8 + 1 ||
            memcmp(s->line, "\xE2\x80\x94 ", 4) != 0 || s->line[s->line_len - 1] != '\n' ||
            s->name != s->line + 4 || !note_name_ok(s->name, s->name_len) ||
            s->b64 != s->name + s->name_len + 1 || s->b64 + s->b64_len != at + s->line_len - 1)
            die("note_parse", "a signature line is not \"— name base64\\n\" in place");
        at += s->line_len;
    }
    if (at != msg + len) die("note_parse", "the lines do not end the note");
}

/* What parses as a checkpoint prints back to the same text. */
static void check_ckpt_text(const char *text, size_t len)
{
    ckpt c;
    char err[256];
    if (ckpt_parse(text, len, &c, err, sizeof err) != CKPT_OK) {
        if (!err[0]) die("ckpt_parse", "refused without a sentence");
        return;
    }
    size_t olen = strlen(c.origin);
    if (olen == 0 || olen > CKPT_ORIGIN_MAX || c.size < 0) die("ckpt_parse", "origin or size");
    if ((c.ext == NULL) != (c.ext_len == 0) ||
        (c.ext && (c.ext < text || c.ext + c.ext_len != text + len)))
        die("ckpt_parse", "extension lines not at the end of the text");
    size_t fl;
    char *back = ckpt_format(&c, &fl, err, sizeof err);
    if (!back) {
        /* Any origin parses; ours must be key names. */
        if (note_name_ok(c.origin, olen)) die("ckpt_format refused a parsed checkpoint", err);
        return;
    }
    if (fl != len || memcmp(back, text, len) != 0)
        die("ckpt_format", "a parsed checkpoint prints back otherwise");
    free(back);
}

static void mode_note(const char *p, size_t len)
{
    char err[256];
    int rc = note_parse(p, len, parsed, err, sizeof err);
    if (rc != NOTE_OK) {
        if (rc != NOTE_EFORMAT || !err[0]) die("note_parse", "refused without EFORMAT and a sentence");
        if (parsed->nsigs != 0) die("note_parse", "a refused note keeps signatures");
        return;
    }
    check_shape(parsed, p, len);
    check_ckpt_text(parsed->text, parsed->text_len);

    note_verdict v[4];
    int count = note_check(parsed, all_keys, 4, v, err, sizeof err);
    if (count < 0 || count > 4) die("note_check", "count");
    rc = note_open(p, len, all_keys, 4, mutated, err, sizeof err);
    int any_invalid = 0;
    for (int i = 0; i < 4; i++) any_invalid |= v[i].invalid;
    int want = any_invalid ? NOTE_EBADSIG : count == 0 ? NOTE_ENOSIG : NOTE_OK;
    if (rc != want) die("note_open", "disagrees with note_check");
    for (int i = 0; i < 4; i++)
        if (v[i].valid && !v[i].invalid && !tf_genuine(parsed, &all_keys[i], 1))
            die("note_check", "a signature that is not the genuine one verified");
    if (rc == NOTE_OK && !tf_genuine(parsed, all_keys, 4))
        die("note_open", "opened a note with a line by a known key that is not genuine");
    if (note_open(p, len, NULL, 0, mutated, err, sizeof err) != NOTE_ENOSIG)
        die("note_open", "a note opened with no key");

    ckpt c;
    rc = ckpt_open(p, len, tf_k.logs, 2, mutated, &c, err, sizeof err);
    if (rc == CKPT_OK) {
        const note_key *k = strcmp(c.origin, TF_LOG) == 0       ? &tf_k.log.key
                            : strcmp(c.origin, TF_PRODUCT) == 0 ? &tf_k.product.key
                                                                : NULL;
        if (!k) die("ckpt_open", "opened a checkpoint of an origin not trusted");
        if (!tf_genuine(mutated, k, 1)) die("ckpt_open", "accepted a signature that is not genuine");
        if (k == &tf_k.log.key && !tf_tree_of(&c))
            die("ckpt_open", "a checkpoint of fuzz.example/log that is neither tree A's nor B's");
    } else if (!err[0]) {
        die("ckpt_open", "refused without a sentence");
    }
}

static void mode_text(const char *p, size_t len)
{
    check_ckpt_text(p, len);
    /* The shared parsers: what they take prints back. */
    uint8_t raw[4096];
    size_t rl = 0;
    if (c2sp_b64_decode(p, len, raw, sizeof raw, &rl) == 0) {
        char *back = malloc(C2SP_B64_LEN(rl) + 1);
        if (!back) die("b64", "out of memory");
        if (c2sp_b64_encode(raw, rl, back) != len || memcmp(back, p, len) != 0)
            die("c2sp_b64_decode", "accepted a non-canonical base64");
        free(back);
    }
    int64_t v;
    if (c2sp_decimal(p, len, &v) == 0) {
        char back[24];
        int n = snprintf(back, sizeof back, "%lld", (long long)v);
        if (v < 0 || (size_t)n != len || memcmp(back, p, len) != 0)
            die("c2sp_decimal", "accepted a non-canonical decimal");
    }
}

static void mode_key(const char *p, size_t len)
{
    char *s = malloc(len + 1), err[256], back[NOTE_VKEY_MAX];
    if (!s) die("key", "out of memory");
    memcpy(s, p, len);
    s[len] = '\0';
    note_key k;
    ckpt_log l;
    int rc = note_key_parse(s, &k, err, sizeof err);
    if (rc == NOTE_OK) {
        size_t n = note_key_format(&k, back);
        if (n != strlen(s) || strcmp(back, s) != 0)
            die("note_key_parse", "a parsed key prints back otherwise");
        if (k.id != note_key_id(k.name, strlen(k.name), k.type, k.pk))
            die("note_key_parse", "the key ID is not the computed one");
    } else if (!err[0]) {
        die("note_key_parse", "refused without a sentence");
    }
    rc = ckpt_log_from_vkey(s, &l, err, sizeof err);
    if ((rc == CKPT_OK) != (note_key_parse(s, &k, err, sizeof err) == NOTE_OK &&
                            k.type == NOTE_ED25519))
        die("ckpt_log_from_vkey", "takes another set of keys than note_key_parse");
    free(s);
}

static void mode_sign(const char *p, size_t len)
{
    char err[256];
    if (len < 8) return;
    uint8_t op = (uint8_t)p[0], val = (uint8_t)p[3];
    size_t pos = (size_t)(uint8_t)p[1] << 8 | (uint8_t)p[2];
    uint64_t ts = (uint64_t)(uint8_t)p[4] << 24 | (uint64_t)(uint8_t)p[5] << 16 |
                  (uint64_t)(uint8_t)p[6] << 8 | (uint8_t)p[7];
    if (ts == 0) ts = 1;
    const char *text = p + 8;
    size_t tl = len - 8;
    note_signer s[2] = {tf_k.log, tf_k.w[0]};
    note_key keys[2] = {tf_k.log.key, tf_k.wkeys[0]};
    size_t nl;
    char *msg = note_sign(text, tl, s, 2, ts, &nl, err, sizeof err);
    if (!msg) {
        if (!err[0]) die("note_sign", "refused without a sentence");
        if (tl > 0 && text[tl - 1] == '\n' && c2sp_text_ok(text, tl))
            die("note_sign", "refused a text it should sign");
        return;
    }
    note_verdict v[2];
    if (note_open(msg, nl, keys, 2, parsed, err, sizeof err) != NOTE_OK ||
        parsed->text_len != tl || parsed->nsigs != 2)
        die("note_open", "a note the target signed does not open");
    if (note_check(parsed, keys, 2, v, err, sizeof err) != 2 || v[1].timestamp != ts)
        die("note_check", "the cosignature's time is not the one signed");

    /* One byte changed, removed or added. */
    char *m = malloc(nl + 1);
    if (!m) die("mutate", "out of memory");
    size_t ml = nl, at = pos % nl;
    memcpy(m, msg, nl);
    switch (op % 3) {
    case 0: m[at] ^= (char)(val ? val : 1); break;
    case 1: memmove(m + at, m + at + 1, nl - at - 1); ml--; break;
    default: memmove(m + at + 1, m + at, nl - at); m[at] = (char)val; ml++; break;
    }
    if (note_open(m, ml, keys, 2, mutated, err, sizeof err) == NOTE_OK) {
        if (mutated->text_len != tl || memcmp(mutated->text, text, tl) != 0)
            die("note_open", "a note whose signed text was changed opened");
        if (!tf_genuine(mutated, keys, 2))
            die("note_open", "a changed signature line still verified");
    }
    free(m);
    free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0: mode_note(p, len); break;
    case 1: mode_text(p, len); break;
    case 2: mode_key(p, len); break;
    default: mode_sign(p, len); break;
    }
    return 0;
}

/* ---- the seed corpus ---- */

static void write_note(const char *dir, const char *name, char *msg)
{
    tf_write_mode(dir, name, 0, msg, strlen(msg));
    free(msg);
}

static void write_seeds(const char *dir)
{
    char vkey[NOTE_VKEY_MAX], err[256];
    write_note(dir, "ckpt_a_10", tf_checkpoint(&tf_a, 10, &tf_k.log, 0, 0, NULL));
    write_note(dir, "ckpt_b_30_cosigned",
               tf_checkpoint(&tf_b, 30, &tf_k.log, 3, 1767225600, NULL));
    write_note(dir, "ckpt_a_0_ext",
               tf_checkpoint(&tf_a, 0, &tf_k.log, 1, 1, "chain-head 00\nmore\n"));
    /* A note by a key that also cosigns, and one by an unknown key only. */
    const char *text = "hello\n\nworld\n";
    note_signer two[2] = {tf_k.product, tf_k.w[1]};
    write_note(dir, "plain_two_signers",
               note_sign(text, strlen(text), two, 2, 42, NULL, err, sizeof err));
    note_signer other = tf_signer_from(0x44, "other.example", NOTE_ED25519);
    write_note(dir, "plain_unknown_key",
               note_sign(text, strlen(text), &other, 1, 0, NULL, err, sizeof err));

    char body[512];
    ckpt c = {.size = 7};
    snprintf(c.origin, sizeof c.origin, "%s", TF_LOG);
    memcpy(c.root, tf_a.root[7], 32);
    char *t = ckpt_format(&c, NULL, err, sizeof err);
    tf_write_mode(dir, "text_ckpt_a_7", 1, t, strlen(t));
    snprintf(body, sizeof body, "%sext one\next two\n", t);
    tf_write_mode(dir, "text_ckpt_ext", 1, body, strlen(body));
    tf_write_mode(dir, "text_b64", 1, "AAECAw==", 8);
    tf_write_mode(dir, "text_decimal", 1, "9223372036854775807", 19);

    note_key_format(&tf_k.log.key, vkey);
    tf_write_mode(dir, "vkey_log", 2, vkey, strlen(vkey));
    note_key_format(&tf_k.wkeys[0], vkey);
    tf_write_mode(dir, "vkey_witness", 2, vkey, strlen(vkey));

    /* The most signature lines a note may have, and one more. */
    for (int lines = 100; lines <= 101; lines++) {
        char many[2048] = "a\n\n";
        for (int i = 0; i < lines; i++) strcat(many, "\xE2\x80\x94 a AAAAAAA=\n");
        tf_write_mode(dir, lines == 100 ? "sigs_100" : "sigs_101", 0, many, strlen(many));
    }

    snprintf(body, sizeof body, "%c%c%c%c%c%c%c%c%s", 0, 0, 30, 0x20, 0x69, 0x55, 0xb9, 0x00, t);
    tf_write_mode(dir, "sign_ckpt_flip", 3, body, 8 + strlen(t));
    snprintf(body, sizeof body, "%c%c%c%c%c%c%c%c%s", 1, 0, 80, 0, 0, 0, 0, 1, "hi\n");
    tf_write_mode(dir, "sign_text_cut_sig", 3, body, 8 + 3);
    free(t);
}
