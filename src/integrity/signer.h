/*
** signer.h: the Ed25519 key that signs checkpoints.
**
** The key lives outside the database, so that someone who can rewrite the
** database file still cannot produce a valid checkpoint.  It is created on
** first use (mode 0600, public key beside it as PATH.pub) and read on every
** later start.  All cryptography is libsodium's.
*/
#ifndef DSS_SIGNER_H
#define DSS_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#define SIGNER_PK_HEX 65   /* 32-byte public key as hex, with NUL */
#define SIGNER_SIG_HEX 129 /* 64-byte signature as hex, with NUL */

typedef struct signer {
    uint8_t sk[64];
    uint8_t pk[32];
    char pk_hex[SIGNER_PK_HEX];
} signer;

/* Load the key at path, creating it (and its folders, 0700) when missing
** and create is non-zero.  Returns 0, or -1 with a sentence in err. */
int signer_load(const char *path, int create, signer *out, char *err, size_t errlen);

/* Read a public key file (hex, as written beside the key, or a checkpoint's
** public_key) into pk_hex.  Returns 0 or -1 with err. */
int signer_read_public(const char *path, char pk_hex[SIGNER_PK_HEX], char *err,
                       size_t errlen);

/* Sign msg[0..len) into sig_hex. */
void signer_sign(const signer *s, const uint8_t *msg, size_t len,
                 char sig_hex[SIGNER_SIG_HEX]);

/* Check a hex signature of msg by a hex public key: 0 valid, -1 not. */
int signer_verify(const char *pk_hex, const uint8_t *msg, size_t len,
                  const char *sig_hex);

/* Wipe the secret key from memory. */
void signer_wipe(signer *s);

#endif
