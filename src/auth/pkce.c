/*
** pkce.c: PKCE verifier, state and S256 challenge (see pkce.h).
*/
#include "pkce.h"

#include <string.h>

#include <sodium.h>

static void b64url(const unsigned char *bin, size_t n, char out[PKCE_LEN])
{
    sodium_bin2base64(out, PKCE_LEN, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int pkce_random(char out[PKCE_LEN])
{
    unsigned char b[32];
    if (sodium_init() < 0) return -1;
    randombytes_buf(b, sizeof b);
    b64url(b, sizeof b, out);
    sodium_memzero(b, sizeof b);
    return 0;
}

void pkce_challenge(const char *verifier, char out[PKCE_LEN])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)verifier, strlen(verifier));
    b64url(h, sizeof h, out);
}
