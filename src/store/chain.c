/*
** chain.c: entry hashing for the tamper-evident log.
**
** The encoding is versioned by a domain tag so a future format can coexist
** with this one, and every field is framed by a presence byte and a 64-bit
** big-endian length: no two different entries can produce the same byte
** stream, whatever their fields contain.
*/
#include "chain.h"

#include <sodium.h>
#include <string.h>

static const char domain_tag[] = "dss-audit/entry/v1";

int chain_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

static void put_u64(crypto_hash_sha256_state *st, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) { b[i] = (uint8_t)(v & 0xff); v >>= 8; }
    crypto_hash_sha256_update(st, b, sizeof b);
}

static void put_field(crypto_hash_sha256_state *st, const char *s)
{
    uint8_t present = s != NULL;
    crypto_hash_sha256_update(st, &present, 1);
    if (!s) return;
    size_t n = strlen(s);
    put_u64(st, n);
    crypto_hash_sha256_update(st, (const uint8_t *)s, n);
}

void chain_entry_hash(const chain_fields *f, const uint8_t prev[CHAIN_HASH_BYTES],
                      uint8_t out[CHAIN_HASH_BYTES])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)domain_tag, sizeof domain_tag);
    crypto_hash_sha256_update(&st, prev, CHAIN_HASH_BYTES);
    put_u64(&st, (uint64_t)f->seq);
    put_field(&st, f->id);
    put_field(&st, f->event_type);
    put_field(&st, f->operation_name);
    put_field(&st, f->operation_id);
    put_field(&st, f->user_id);
    put_field(&st, f->project_id);
    put_field(&st, f->args);
    put_field(&st, f->result);
    put_field(&st, f->before_state);
    put_field(&st, f->after_state);
    put_field(&st, f->error);
    put_field(&st, f->created_at);
    put_field(&st, f->client);
    crypto_hash_sha256_final(&st, out);
}

void chain_hex(const uint8_t h[CHAIN_HASH_BYTES], char out[CHAIN_HEX_LEN])
{
    sodium_bin2hex(out, CHAIN_HEX_LEN, h, CHAIN_HASH_BYTES);
}
