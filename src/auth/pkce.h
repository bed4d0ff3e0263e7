/*
** pkce.h: the random values and the S256 challenge of the OAuth flow
** (RFC 7636), from libsodium.
**
** A code verifier is 32 random bytes in base64url without padding (43
** characters, within RFC 7636's 43..128), and so is a state value; the
** challenge is base64url(SHA-256(verifier)).
*/
#ifndef DSS_PKCE_H
#define DSS_PKCE_H

#include <stddef.h>

enum { PKCE_LEN = 44 }; /* 43 characters and the NUL */

/* 32 random bytes as base64url into out (PKCE_LEN bytes).  0, or -1 when
** libsodium cannot be initialized. */
int pkce_random(char out[PKCE_LEN]);

/* The S256 challenge of verifier into out (PKCE_LEN bytes). */
void pkce_challenge(const char *verifier, char out[PKCE_LEN]);

#endif
