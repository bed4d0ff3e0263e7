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

int chain_encoding(const chain_fields *f)
{
    return f->server || f->session_id || f->duration_ms || f->completes || f->cwd
               ? 2 : 1;
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
    put_field(&h, f->id);
    put_field(&h, f->event_type);
    put_field(&h, f->operation_name);
    put_field(&h, f->operation_id);
    put_field(&h, f->user_id);
    put_field(&h, f->project_id);
    put_field(&h, f->args);
    put_field(&h, f->result);
    put_field(&h, f->before_state);
    put_field(&h, f->after_state);
    put_field(&h, f->error);
    put_field(&h, f->created_at);
    put_field(&h, f->client);
    if (v2) {
        put_field(&h, f->server);
        put_field(&h, f->session_id);
        put_field(&h, f->duration_ms);
        put_field(&h, f->completes);
        put_field(&h, f->cwd);
    }
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

void chain_hex(const uint8_t h[CHAIN_HASH_BYTES], char out[CHAIN_HEX_LEN])
{
    /* Hashes are public, so a table lookup is fine here (sodium_bin2hex
    ** takes constant time, and several times as long); every entry of a
    ** reply shows two of them. */
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < CHAIN_HASH_BYTES; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[2 * CHAIN_HASH_BYTES] = '\0';
}

void chain_string_slots(chain_fields *f, const char **slot[CHAIN_STRING_FIELDS])
{
    const char **s[CHAIN_STRING_FIELDS] = {
        &f->id, &f->event_type, &f->operation_name, &f->operation_id,
        &f->user_id, &f->project_id, &f->args, &f->result, &f->error,
        &f->before_state, &f->after_state, &f->created_at, &f->client,
        &f->server, &f->session_id, &f->duration_ms, &f->completes, &f->cwd};
    memcpy(slot, s, sizeof s);
}
