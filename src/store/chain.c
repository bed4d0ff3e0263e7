/*
** chain.c: entry hashing for the tamper-evident log.
**
** The encoding is versioned by a domain tag so a later format coexists with
** an earlier one, and every field is framed by a presence byte and a 64-bit
** big-endian length: no two different entries can produce the same byte
** stream, whatever their fields contain.  Version 2 appends the fields of
** relayed and hooked calls; it is chosen by the entry's own content (any of
** those fields present), so no stored flag can be flipped to pick the
** weaker form: an entry with a v2 field hashed as v1 would not match.
*/
#include "chain.h"

#include <sodium.h>
#include <stddef.h>
#include <string.h>

static const char domain_v1[] = "dss-audit/entry/v1";
static const char domain_v2[] = "dss-audit/entry/v2";

int chain_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/* SHA-256 with a small staging buffer: an entry's framing is some forty
** writes of one to eight bytes, and passing each to libsodium separately
** costs more than copying it here.  The bytes hashed are the same. */
typedef struct hasher {
    crypto_hash_sha256_state st;
    size_t n;
    uint8_t buf[512];
} hasher;

static void put(hasher *h, const void *p, size_t len)
{
    if (len > sizeof h->buf - h->n) {
        crypto_hash_sha256_update(&h->st, h->buf, h->n);
        h->n = 0;
        if (len > sizeof h->buf) {
            crypto_hash_sha256_update(&h->st, p, len);
            return;
        }
    }
    memcpy(h->buf + h->n, p, len);
    h->n += len;
}

static void put_u64(hasher *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) { b[i] = (uint8_t)(v & 0xff); v >>= 8; }
    put(h, b, sizeof b);
}

static void put_field(hasher *h, const char *s)
{
    uint8_t present = s != NULL;
    put(h, &present, 1);
    if (!s) return;
    size_t n = strlen(s);
    put_u64(h, n);
    put(h, s, n);
}

/*
** The order in which the string fields are hashed, from hash_at in
** ENTRY_FIELDS (entry.h): slot hash_at - 2 holds the field's place in
** chain_fields.  It is the order of encoding v1 (which put error after the
** states) followed by encoding v2's fields: changing it changes every
** hash, and tests/kat's vectors, computed from docs/hash-encoding.md by
** another program, would catch it.
*/
#define HASH_SLOT_SEQ(name, hash_at)
#define HASH_SLOT_HASH(name, hash_at)
#define HASH_SLOT_TEXT(name, hash_at) [(hash_at) - 2] = offsetof(chain_fields, name),
#define HASH_SLOT_JSON HASH_SLOT_TEXT
#define HASH_SLOT_INT HASH_SLOT_TEXT
#define X_HASH_SLOT(name, type, nullable, hash_at, since, by) HASH_SLOT_##type(name, hash_at)
static const size_t hash_order[CHAIN_STRING_FIELDS] = {ENTRY_FIELDS(X_HASH_SLOT)};

/* How many string fields encoding v1 hashes: those of since 1. */
#define X_V1(name, type, nullable, hash_at, since, by) \
    +(since == 1 && ENTRY_##type != ENTRY_SEQ && ENTRY_##type != ENTRY_HASH)
enum { V1_STRINGS = 0 ENTRY_FIELDS(X_V1), STRINGS = CHAIN_STRING_FIELDS };

/* The list's promises that the code below relies on: prev_hash first and
** seq second, every encoding v1 field hashed before any of encoding v2
** (which only appends), and one place per string field. */
#define X_CHECK(name, type, nullable, hash_at, since, by)                                   \
    _Static_assert(ENTRY_##type != ENTRY_HASH || hash_at == 0 || hash_at == ENTRY_UNHASHED, \
                   #name ": a hash is the chain link or unhashed");                     \
    _Static_assert((ENTRY_##type == ENTRY_SEQ) == (hash_at == 1), #name ": seq is hashed second"); \
    _Static_assert(ENTRY_##type == ENTRY_SEQ || ENTRY_##type == ENTRY_HASH ||           \
                       (hash_at >= 2 && hash_at < 2 + STRINGS),              \
                   #name ": hashed within the string fields");                          \
    _Static_assert(ENTRY_##type == ENTRY_SEQ || ENTRY_##type == ENTRY_HASH ||           \
                       (since == 1) == (hash_at < 2 + V1_STRINGS),                       \
                   #name ": encoding v2's fields come after v1's");
ENTRY_FIELDS(X_CHECK)
#define X_HASH_SUM(name, type, nullable, hash_at, since, by) \
    +(ENTRY_##type == ENTRY_SEQ || ENTRY_##type == ENTRY_HASH ? 0 : (hash_at - 2))
#define X_HASH_SQUARES(name, type, nullable, hash_at, since, by) \
    +(ENTRY_##type == ENTRY_SEQ || ENTRY_##type == ENTRY_HASH ? 0 : (hash_at - 2) * (hash_at - 2))
_Static_assert((0 ENTRY_FIELDS(X_HASH_SUM)) == CHAIN_STRING_FIELDS * (CHAIN_STRING_FIELDS - 1) / 2 &&
                   (0 ENTRY_FIELDS(X_HASH_SQUARES)) ==
                       (CHAIN_STRING_FIELDS - 1) * CHAIN_STRING_FIELDS * (2 * CHAIN_STRING_FIELDS - 1) / 6,
               "every string field has its own place in the hash order");

static const char *field_at(const chain_fields *f, size_t off)
{
    return *(const char *const *)((const char *)f + off);
}

int chain_encoding(const chain_fields *f)
{
    for (int i = V1_STRINGS; i < CHAIN_STRING_FIELDS; i++)
        if (field_at(f, hash_order[i])) return 2;
    return 1;
}

void chain_entry_hash(const chain_fields *f, const uint8_t prev[CHAIN_HASH_BYTES],
                      uint8_t out[CHAIN_HASH_BYTES])
{
    hasher h;
    int v2 = chain_encoding(f) == 2;
    h.n = 0;
    crypto_hash_sha256_init(&h.st);
    /* The tag is hashed with its terminating NUL. */
    if (v2) put(&h, domain_v2, sizeof domain_v2);
    else put(&h, domain_v1, sizeof domain_v1);
    put(&h, prev, CHAIN_HASH_BYTES);
    put_u64(&h, (uint64_t)f->seq);
    int n = v2 ? CHAIN_STRING_FIELDS : V1_STRINGS;
    for (int i = 0; i < n; i++) put_field(&h, field_at(f, hash_order[i]));
    crypto_hash_sha256_update(&h.st, h.buf, h.n);
    crypto_hash_sha256_final(&h.st, out);
}

int chain_entry_matches(const chain_fields *f, int64_t seq,
                        const uint8_t prev[CHAIN_HASH_BYTES],
                        const uint8_t hash[CHAIN_HASH_BYTES])
{
    chain_fields at = *f;
    uint8_t h[CHAIN_HASH_BYTES];
    at.seq = seq;
    chain_entry_hash(&at, prev, h);
    return memcmp(h, hash, CHAIN_HASH_BYTES) == 0;
}

const char *chain_link_problem(const chain_fields *f, int hashes_ok,
                               const uint8_t stored_prev[CHAIN_HASH_BYTES],
                               const uint8_t hash[CHAIN_HASH_BYTES], int64_t seq,
                               const uint8_t prev[CHAIN_HASH_BYTES])
{
    if (f->seq != seq) return "leaves a gap after the head";
    if (!hashes_ok) return "has no valid hashes";
    if (memcmp(stored_prev, prev, CHAIN_HASH_BYTES) != 0)
        return "does not link to the previous entry's hash";
    if (!chain_entry_matches(f, seq, prev, hash)) return "does not match its hash";
    return NULL;
}

void chain_hex(const uint8_t h[CHAIN_HASH_BYTES], char out[CHAIN_HEX_LEN])
{
    /* Hashes are public, so a table lookup is fine here (sodium_bin2hex
    ** takes constant time, and several times as long); every entry of a
    ** reply shows two of them, and a shipped one five: the table holds
    ** both digits of each byte. */
    static const char pairs[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    for (int i = 0; i < CHAIN_HASH_BYTES; i++) memcpy(out + 2 * i, pairs + 2 * h[i], 2);
    out[2 * CHAIN_HASH_BYTES] = '\0';
}

void chain_string_slots(chain_fields *f, const char **slot[CHAIN_STRING_FIELDS])
{
#define SLOT_SEQ(name)
#define SLOT_HASH(name)
#define SLOT_TEXT(name) &f->name,
#define SLOT_JSON SLOT_TEXT
#define SLOT_INT SLOT_TEXT
#define X_SLOT(name, type, nullable, hash_at, since, by) SLOT_##type(name)
    const char **s[CHAIN_STRING_FIELDS] = {ENTRY_FIELDS(X_SLOT)};
    memcpy(slot, s, sizeof s);
}

int chain_unhex(const char *hex, size_t len, uint8_t out[CHAIN_HASH_BYTES])
{
    /* Hashes are public: a table lookup is fine (sodium_hex2bin takes
    ** constant time, several times as long), as in chain_hex(). */
    static const signed char value[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
        ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
        ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
        ['F'] = 16};
    if (!hex || len != 2 * CHAIN_HASH_BYTES) goto bad;
    for (int i = 0; i < CHAIN_HASH_BYTES; i++) {
        int hi = value[(unsigned char)hex[2 * i]], lo = value[(unsigned char)hex[2 * i + 1]];
        if (!hi || !lo) goto bad;
        out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
    }
    return 0;
bad:
    memset(out, 0, CHAIN_HASH_BYTES);
    return -1;
}
