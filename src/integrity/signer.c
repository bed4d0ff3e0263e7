/*
** signer.c: loading, creating and using the checkpoint signing key.
**
** The key file holds the 32-byte Ed25519 seed as hex on one line; the public
** key file beside it holds the public key as hex.  A new key is written to a
** temporary file and published with fs_write_new(), which never replaces an
** existing file: of several servers starting at once on an empty key folder
** exactly one key is published whole, and every loser reads the winner's.
*/
#include "signer.h"

#include "../util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read up to cap-1 bytes of a small text file, trimmed of whitespace. */
static int read_small(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && strchr(" \t\r\n", buf[n - 1])) buf[--n] = '\0';
    return 0;
}

static int from_seed_hex(const char *hex, signer *out)
{
    uint8_t seed[32];
    size_t got = 0;
    if (sodium_hex2bin(seed, sizeof seed, hex, strlen(hex), NULL, &got, NULL) != 0 ||
        got != sizeof seed)
        return -1;
    crypto_sign_seed_keypair(out->pk, out->sk, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_bin2hex(out->pk_hex, sizeof out->pk_hex, out->pk, sizeof out->pk);
    return 0;
}

/* Create a new key at path, and its public key beside it.  Returns 0 with
** *out filled, FS_EXISTS when another process published a key first, or -1
** with err. */
static int create_key(const char *path, signer *out, char *err, size_t errlen)
{
    uint8_t seed[32];
    char seed_hex[65], pub[80], pub_path[4096];
    randombytes_buf(seed, sizeof seed);
    sodium_bin2hex(seed_hex, sizeof seed_hex, seed, sizeof seed);
    sodium_memzero(seed, sizeof seed);
    int rc = -1;
    if (fs_make_parents(path, err, errlen) != 0) goto done;
    rc = fs_write_new(path, seed_hex, strlen(seed_hex), 0, err, errlen);
    if (rc != 0) goto done;
    from_seed_hex(seed_hex, out);
    /* Only the winner writes the public key; it replaces one left by an
    ** earlier key, atomically, so a reader sees the old or the new. */
    snprintf(pub, sizeof pub, "%s\n", out->pk_hex);
    snprintf(pub_path, sizeof pub_path, "%s.pub", path);
    if (fs_write_new(pub_path, pub, strlen(pub), 1, err, errlen) != 0) rc = -1;
done:
    sodium_memzero(seed_hex, sizeof seed_hex);
    return rc;
}

int signer_load(const char *path, int create, signer *out, char *err, size_t errlen)
{
    char hex[130];
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!create) {
            snprintf(err, errlen, "no signing key at %s", path);
            return -1;
        }
        int w = create_key(path, out, err, errlen);
        if (w <= 0) return w;
        /* Another process created it first: use theirs. */
    } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "%s is accessible to other users; run chmod 600 on it",
                 path);
        return -1;
    }
    if (read_small(path, hex, sizeof hex, err, errlen) != 0) return -1;
    int rc = from_seed_hex(hex, out);
    sodium_memzero(hex, sizeof hex);
    if (rc != 0) {
        snprintf(err, errlen, "%s does not hold a signing key", path);
        return -1;
    }
    return 0;
}

int signer_read_public(const char *path, char pk_hex[SIGNER_PK_HEX], char *err,
                       size_t errlen)
{
    char buf[256];
    uint8_t pk[32];
    size_t got = 0;
    if (read_small(path, buf, sizeof buf, err, errlen) != 0) return -1;
    if (sodium_hex2bin(pk, sizeof pk, buf, strlen(buf), NULL, &got, NULL) != 0 ||
        got != sizeof pk) {
        snprintf(err, errlen, "%s does not hold a hex Ed25519 public key", path);
        return -1;
    }
    sodium_bin2hex(pk_hex, SIGNER_PK_HEX, pk, sizeof pk);
    return 0;
}

void signer_sign(const signer *s, const uint8_t *msg, size_t len,
                 char sig_hex[SIGNER_SIG_HEX])
{
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, msg, len, s->sk);
    sodium_bin2hex(sig_hex, SIGNER_SIG_HEX, sig, sizeof sig);
}

int signer_verify(const char *pk_hex, const uint8_t *msg, size_t len,
                  const char *sig_hex)
{
    uint8_t pk[32], sig[crypto_sign_BYTES];
    size_t got_pk = 0, got_sig = 0;
    if (!pk_hex || !sig_hex ||
        sodium_hex2bin(pk, sizeof pk, pk_hex, strlen(pk_hex), NULL, &got_pk, NULL) ||
        sodium_hex2bin(sig, sizeof sig, sig_hex, strlen(sig_hex), NULL, &got_sig, NULL) ||
        got_pk != sizeof pk || got_sig != sizeof sig)
        return -1;
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

void signer_wipe(signer *s)
{
    sodium_memzero(s, sizeof *s);
}
