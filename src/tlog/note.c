/*
** note.c: signed notes and cosignatures, as described in note.h.
**
** The parser is strict where the spec says MUST and follows Go's
** golang.org/x/mod/sumdb/note where it leaves room (the text ends at the
** last blank line; a signature must decode to at least 5 bytes; at most
** 100 signature lines), so that notes Go opens open here and the reverse.
** The one difference is deliberate: Go skips a repeated signature by a
** known key unverified, we verify every one and count the key once.
*/
#include "note.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jsoncheck.h"
#include "../util/utf8.h"
#include "c2sp.h"

#define EM_DASH "\xE2\x80\x94" /* U+2014 */
#define SIG_PREFIX EM_DASH " "
#define SIG_PREFIX_LEN 4
#define COSIG_HEADER "cosignature/v1\n"
/* The decoded signatures we verify: key ID + 8-byte time + 64 bytes. */
#define SIG_RAW_MAX (4 + 8 + 64)

/* The code point of the valid UTF-8 sequence of n bytes at p. */
static uint32_t code_point(const unsigned char *p, int n)
{
    if (n == 1) return p[0];
    uint32_t cp = p[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3F);
    return cp;
}

/* Unicode White_Space (Go's unicode.IsSpace, which the spec's Go
** implementation applies to key names). */
static int unicode_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

int note_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > NOTE_NAME_MAX) return 0;
    const unsigned char *p = (const unsigned char *)name, *end = p + len;
    while (p < end) {
        int n = *p < 0x80 ? 1 : jsoncheck_utf8_seq(p, end);
        if (!n) return 0;
        uint32_t c = code_point(p, n);
        if (c < 0x20 || c == '+' || unicode_space(c)) return 0;
        p += n;
    }
    return 1;
}

uint32_t note_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t pk[32])
{
    crypto_hash_sha256_state st;
    uint8_t sum[crypto_hash_sha256_BYTES];
    static const uint8_t nl = '\n';
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
    crypto_hash_sha256_update(&st, &nl, 1);
    crypto_hash_sha256_update(&st, &type, 1);
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, sum);
    return (uint32_t)sum[0] << 24 | (uint32_t)sum[1] << 16 | (uint32_t)sum[2] << 8 | sum[3];
}

int note_key_make(note_key *k, const char *name, uint8_t type, const uint8_t pk[32],
                  char *err, size_t errlen)
{
    size_t len = strlen(name);
    memset(k, 0, sizeof *k);
    if (!note_name_ok(name, len)) {
        snprintf(err, errlen,
                 "\"%.*s\" is not a valid key name (1 to %d bytes of UTF-8, no spaces, "
                 "no '+')",
                 utf8_cut(name, 80), name, NOTE_NAME_MAX);
        return NOTE_EFORMAT;
    }
    if (type != NOTE_ED25519 && type != NOTE_COSIGNATURE) {
        snprintf(err, errlen, "key type 0x%02x is not supported (0x01 or 0x04)", type);
        return NOTE_EFORMAT;
    }
    memcpy(k->name, name, len + 1);
    k->type = type;
    memcpy(k->pk, pk, 32);
    k->id = note_key_id(name, len, type, pk);
    return NOTE_OK;
}

int note_signer_make(note_signer *s, const char *name, uint8_t type, const uint8_t sk[64],
                     char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int rc = note_key_make(&s->key, name, type, sk + 32, err, errlen);
    if (rc != NOTE_OK) return rc;
    memcpy(s->sk, sk, 64);
    return NOTE_OK;
}

void note_signer_wipe(note_signer *s)
{
    sodium_memzero(s, sizeof *s);
}

int note_key_parse(const char *vkey, note_key *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p1 = strchr(vkey, '+');
    const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    if (!p1 || !p2) {
        snprintf(err, errlen, "a verifier key is <name>+<key ID>+<key>: \"%.*s\" is not",
                 utf8_cut(vkey, 80), vkey);
        return NOTE_EFORMAT;
    }
    size_t name_len = (size_t)(p1 - vkey), id_len = (size_t)(p2 - p1 - 1);
    if (!note_name_ok(vkey, name_len)) {
        snprintf(err, errlen, "the verifier key's name \"%.*s\" is not a valid key name",
                 (int)(name_len > 80 ? 80 : name_len), vkey);
        return NOTE_EFORMAT;
    }
    uint32_t id = 0;
    for (size_t i = 0; i < id_len; i++) {
        char c = p1[1 + i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) id_len = 0; /* uppercase or not hex: refused below */
        else id = id << 4 | (uint32_t)d;
    }
    if (id_len != 8) {
        snprintf(err, errlen, "the verifier key's ID must be 8 lowercase hex digits");
        return NOTE_EFORMAT;
    }
    uint8_t raw[128];
    size_t raw_len = 0;
    const char *b64 = p2 + 1;
    if (c2sp_b64_decode(b64, strlen(b64), raw, sizeof raw, &raw_len) != 0 || raw_len == 0) {
        snprintf(err, errlen,
                 "the verifier key's last part is not the base64 of a type byte and a key");
        return NOTE_EFORMAT;
    }
    if (raw[0] != NOTE_ED25519 && raw[0] != NOTE_COSIGNATURE) {
        snprintf(err, errlen,
                 "the verifier key is of type 0x%02x; only Ed25519 keys (0x01) and Ed25519 "
                 "cosignature keys (0x04) are supported",
                 raw[0]);
        return NOTE_EFORMAT;
    }
    if (raw_len != 33) {
        snprintf(err, errlen, "the verifier key's Ed25519 key is %zu bytes, not 32",
                 raw_len - 1);
        return NOTE_EFORMAT;
    }
    if (note_key_id(vkey, name_len, raw[0], raw + 1) != id) {
        snprintf(err, errlen, "the verifier key's ID %08x does not match its name and key",
                 id);
        return NOTE_EFORMAT;
    }
    memcpy(out->name, vkey, name_len);
    out->name[name_len] = '\0';
    out->id = id;
    out->type = raw[0];
    memcpy(out->pk, raw + 1, 32);
    return NOTE_OK;
}

size_t note_key_format(const note_key *k, char out[NOTE_VKEY_MAX])
{
    uint8_t raw[33];
    char b64[C2SP_B64_LEN(33) + 1];
    raw[0] = k->type;
    memcpy(raw + 1, k->pk, 32);
    c2sp_b64_encode(raw, sizeof raw, b64);
    int n = snprintf(out, NOTE_VKEY_MAX, "%s+%08x+%s", k->name, k->id, b64);
    return n < 0 ? 0 : (size_t)n;
}

/* Whether text[0..len) may be signed: a note text ends in a newline and is
** UTF-8 without control characters. */
static int text_ok(const char *text, size_t len, char *err, size_t errlen)
{
    if (len == 0 || text[len - 1] != '\n') {
        snprintf(err, errlen, "a note's text must end in a newline");
        return 0;
    }
    if (len > NOTE_MAX_SIZE || !c2sp_text_ok(text, len)) {
        snprintf(err, errlen,
                 "a note's text must be at most %d bytes of UTF-8 without control "
                 "characters other than newline",
                 NOTE_MAX_SIZE);
        return 0;
    }
    return 1;
}

/* The cosignature/v1 message's header for time t: "cosignature/v1\ntime T\n". */
static size_t cosig_header(uint64_t t, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, COSIG_HEADER "time %llu\n", (unsigned long long)t);
    return n < 0 ? 0 : (size_t)n;
}

/* The Ed25519 signature of header || text with sk.  0, or -1 when memory
** for the joined message runs out. */
static int sign_parts(const uint8_t sk[64], const char *header, size_t hlen,
                      const char *text, size_t len, uint8_t sig[64])
{
    if (hlen == 0) {
        crypto_sign_detached(sig, NULL, (const uint8_t *)text, len, sk);
        return 0;
    }
    /* Ed25519 hashes its message twice, so it must be contiguous. */
    uint8_t *msg = malloc(hlen + len);
    if (!msg) return -1;
    memcpy(msg, header, hlen);
    memcpy(msg + hlen, text, len);
    crypto_sign_detached(sig, NULL, msg, hlen + len, sk);
    free(msg);
    return 0;
}

/* Whether sig is pk's signature of header || text: 1 yes, 0 no, -1 out of
** memory. */
static int verify_parts(const uint8_t pk[32], const char *header, size_t hlen,
                        const char *text, size_t len, const uint8_t sig[64])
{
    if (hlen == 0)
        return crypto_sign_verify_detached(sig, (const uint8_t *)text, len, pk) == 0;
    uint8_t *msg = malloc(hlen + len);
    if (!msg) return -1;
    memcpy(msg, header, hlen);
    memcpy(msg + hlen, text, len);
    int ok = crypto_sign_verify_detached(sig, msg, hlen + len, pk) == 0;
    free(msg);
    return ok;
}

int note_sign_line(const note_signer *s, const char *text, size_t len, uint64_t timestamp,
                   char line[NOTE_LINE_MAX], char *err, size_t errlen)
{
    if (!text_ok(text, len, err, errlen)) return NOTE_EFORMAT;
    uint8_t raw[SIG_RAW_MAX];
    size_t n = 0;
    const note_key *k = &s->key;
    raw[n++] = (uint8_t)(k->id >> 24);
    raw[n++] = (uint8_t)(k->id >> 16);
    raw[n++] = (uint8_t)(k->id >> 8);
    raw[n++] = (uint8_t)k->id;
    char header[64];
    size_t hlen = 0;
    if (k->type == NOTE_COSIGNATURE) {
        if (timestamp == 0 || timestamp > (uint64_t)INT64_MAX) {
            snprintf(err, errlen, "a cosignature's timestamp must be 1 to 2^63-1, not %llu",
                     (unsigned long long)timestamp);
            return NOTE_EFORMAT;
        }
        for (int i = 7; i >= 0; i--) raw[n++] = (uint8_t)(timestamp >> (8 * i));
        hlen = cosig_header(timestamp, header, sizeof header);
    }
    if (sign_parts(s->sk, header, hlen, text, len, raw + n) != 0) {
        snprintf(err, errlen, "out of memory");
        return NOTE_ENOMEM;
    }
    n += 64;
    char b64[C2SP_B64_LEN(SIG_RAW_MAX) + 1];
    c2sp_b64_encode(raw, n, b64);
    snprintf(line, NOTE_LINE_MAX, SIG_PREFIX "%s %s\n", k->name, b64);
    return NOTE_OK;
}

char *note_sign(const char *text, size_t len, const note_signer *signers, size_t nsigners,
                uint64_t timestamp, size_t *out_len, char *err, size_t errlen)
{
    if (nsigners == 0 || nsigners > NOTE_MAX_SIGS) {
        snprintf(err, errlen, "a note needs 1 to %d signers", NOTE_MAX_SIGS);
        return NULL;
    }
    if (!text_ok(text, len, err, errlen)) return NULL;
    size_t cap = len + 1 + nsigners * NOTE_LINE_MAX + 1;
    char *out = malloc(cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(out, text, len);
    size_t n = len;
    out[n++] = '\n';
    for (size_t i = 0; i < nsigners; i++) {
        char line[NOTE_LINE_MAX];
        if (note_sign_line(&signers[i], text, len, timestamp, line, err, errlen) != NOTE_OK) {
            free(out);
            return NULL;
        }
        size_t l = strlen(line);
        memcpy(out + n, line, l);
        n += l;
    }
    out[n] = '\0';
    if (out_len) *out_len = n;
    return out;
}

/* Parse one signature line (without its newline) into *sig. */
static int parse_sig(const char *line, size_t len, note_sig *sig, uint8_t *scratch,
                     size_t scratch_cap)
{
    if (len < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0) return -1;
    const char *name = line + SIG_PREFIX_LEN, *end = line + len;
    const char *sp = memchr(name, ' ', (size_t)(end - name));
    if (!sp) return -1;
    size_t name_len = (size_t)(sp - name), b64_len = (size_t)(end - sp - 1);
    size_t raw_len = 0;
    if (!note_name_ok(name, name_len) || b64_len == 0 ||
        c2sp_b64_decode(sp + 1, b64_len, scratch, scratch_cap, &raw_len) != 0 || raw_len < 5)
        return -1;
    sig->name = name;
    sig->name_len = name_len;
    sig->id = (uint32_t)scratch[0] << 24 | (uint32_t)scratch[1] << 16 |
              (uint32_t)scratch[2] << 8 | scratch[3];
    sig->b64 = sp + 1;
    sig->b64_len = b64_len;
    return 0;
}

int note_parse(const char *msg, size_t len, note *out, char *err, size_t errlen)
{
    out->text = NULL;
    out->text_len = 0;
    out->nsigs = 0;
    if (len > NOTE_MAX_SIZE) {
        snprintf(err, errlen, "the note is larger than %d bytes", NOTE_MAX_SIZE);
        return NOTE_EFORMAT;
    }
    if (!c2sp_text_ok(msg, len)) {
        snprintf(err, errlen,
                 "the note is not UTF-8 text without control characters other than newline");
        return NOTE_EFORMAT;
    }
    /* The signatures follow the last blank line. */
    size_t split = len;
    for (size_t i = len; i >= 2; i--)
        if (msg[i - 1] == '\n' && msg[i - 2] == '\n') {
            split = i - 2;
            break;
        }
    if (split == len) {
        snprintf(err, errlen, "the note has no blank line before its signatures");
        return NOTE_EFORMAT;
    }
    size_t pos = split + 2;
    if (pos == len || msg[len - 1] != '\n') {
        snprintf(err, errlen, "the note's signature lines are missing or not ended by a newline");
        return NOTE_EFORMAT;
    }
    /* Decoding checks the base64; the scratch holds the longest line's. */
    uint8_t *scratch = malloc(len - pos);
    if (!scratch) {
        snprintf(err, errlen, "out of memory");
        return NOTE_ENOMEM;
    }
    const char *line;
    size_t line_len;
    int rc = NOTE_OK;
    while (c2sp_line(msg, len, &pos, &line, &line_len) == 0) {
        if (out->nsigs == NOTE_MAX_SIGS) {
            snprintf(err, errlen, "the note has more than %d signatures", NOTE_MAX_SIGS);
            rc = NOTE_EFORMAT;
            break;
        }
        note_sig *s = &out->sigs[out->nsigs];
        if (parse_sig(line, line_len, s, scratch, len) != 0) {
            snprintf(err, errlen,
                     "signature line %zu is not \"— <key name> <base64 of key ID and "
                     "signature>\"",
                     out->nsigs + 1);
            rc = NOTE_EFORMAT;
            break;
        }
        s->line = line;
        s->line_len = line_len + 1;
        out->nsigs++;
    }
    free(scratch);
    if (rc != NOTE_OK) {
        out->nsigs = 0;
        return rc;
    }
    out->text = msg;
    out->text_len = split + 1;
    return NOTE_OK;
}

/* Verify one signature line by key k over n's text: 1 valid, 0 not, -1
** out of memory.  *t gets a cosignature's time. */
static int verify_sig(const note *n, const note_sig *s, const note_key *k, uint64_t *t)
{
    uint8_t raw[SIG_RAW_MAX];
    size_t raw_len = 0;
    size_t want = k->type == NOTE_COSIGNATURE ? 4 + 8 + 64 : 4 + 64;
    if (c2sp_b64_decode(s->b64, s->b64_len, raw, sizeof raw, &raw_len) != 0 || raw_len != want)
        return 0;
    if (k->type != NOTE_COSIGNATURE)
        return verify_parts(k->pk, NULL, 0, n->text, n->text_len, raw + 4);
    uint64_t ts = 0;
    for (int i = 0; i < 8; i++) ts = ts << 8 | raw[4 + i];
    if (ts > (uint64_t)INT64_MAX) return 0;
    char header[64];
    size_t hlen = cosig_header(ts, header, sizeof header);
    int ok = verify_parts(k->pk, header, hlen, n->text, n->text_len, raw + 12);
    if (ok == 1) *t = ts;
    return ok;
}

/* Whether keys a and b are the same key, given twice. */
static int same_key(const note_key *a, const note_key *b)
{
    return a->type == b->type && memcmp(a->pk, b->pk, sizeof a->pk) == 0;
}

int note_sig_by(const note_sig *s, const note_key *k)
{
    return s->id == k->id && s->name_len == strlen(k->name) &&
           memcmp(s->name, k->name, s->name_len) == 0;
}

int note_check(const note *n, const note_key *keys, size_t nkeys, note_verdict *out,
               char *err, size_t errlen)
{
    for (size_t i = 0; i < nkeys; i++) {
        memset(&out[i], 0, sizeof out[i]);
        for (size_t j = 0; j < i; j++)
            if (keys[i].id == keys[j].id && strcmp(keys[i].name, keys[j].name) == 0 &&
                !same_key(&keys[i], &keys[j])) {
                snprintf(err, errlen, "two different keys are named %s with ID %08x",
                         keys[i].name, keys[i].id);
                return NOTE_EFORMAT;
            }
    }
    for (size_t s = 0; s < n->nsigs; s++) {
        const note_sig *sig = &n->sigs[s];
        for (size_t i = 0; i < nkeys; i++) {
            if (!note_sig_by(sig, &keys[i])) continue;
            uint64_t t = 0;
            int ok = verify_sig(n, sig, &keys[i], &t);
            if (ok < 0) {
                snprintf(err, errlen, "out of memory");
                return NOTE_ENOMEM;
            }
            if (ok) {
                if (!out[i].valid || t > out[i].timestamp) out[i].newest = s;
                out[i].valid = 1;
                if (t > out[i].timestamp) out[i].timestamp = t;
            } else {
                out[i].invalid = 1;
            }
            break; /* a key given twice is checked (and counted) once */
        }
    }
    int count = 0;
    for (size_t i = 0; i < nkeys; i++) {
        size_t first = i;
        for (size_t j = 0; j < i && first == i; j++)
            if (keys[i].id == keys[j].id && strcmp(keys[i].name, keys[j].name) == 0) first = j;
        if (first != i) out[i] = out[first];
        else count += out[i].valid && !out[i].invalid;
    }
    return count;
}

int note_open(const char *msg, size_t len, const note_key *keys, size_t nkeys, note *out,
              char *err, size_t errlen)
{
    int rc = note_parse(msg, len, out, err, errlen);
    if (rc != NOTE_OK) return rc;
    note_verdict *v = calloc(nkeys ? nkeys : 1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NOTE_ENOMEM;
    }
    int count = note_check(out, keys, nkeys, v, err, errlen);
    rc = count < 0 ? count : NOTE_OK;
    for (size_t i = 0; rc == NOTE_OK && i < nkeys; i++)
        if (v[i].invalid) {
            snprintf(err, errlen, "the signature by %s+%08x does not verify", keys[i].name,
                     keys[i].id);
            rc = NOTE_EBADSIG;
        }
    if (rc == NOTE_OK && count == 0) {
        snprintf(err, errlen, "the note carries no signature by a known key");
        rc = NOTE_ENOSIG;
    }
    free(v);
    return rc;
}
