/*
** chain.h: the hash chain that makes the audit log tamper-evident.
**
** Each entry's hash covers the previous entry's hash and every field the
** entry stores, in an unambiguous length-prefixed encoding, so changing,
** removing, inserting or reordering any stored byte changes every hash after
** it.  The store computes hashes on append; the verifier recomputes them.
** Hashing is SHA-256 from libsodium: no cryptography is written here.
*/
#ifndef DSS_CHAIN_H
#define DSS_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_BYTES 32
#define CHAIN_HEX_LEN 65 /* 64 hex digits and a NUL */

/* Every stored field of an entry, as the exact bytes the database holds.
** A NULL pointer is an SQL NULL and hashes differently from "". */
typedef struct chain_fields {
    int64_t seq;
    const char *id;
    const char *event_type;
    const char *operation_name;
    const char *operation_id;
    const char *user_id;
    const char *project_id;
    const char *args;
    const char *result;
    const char *error;
    const char *before_state;
    const char *after_state;
    const char *created_at;
    const char *client;
    /* Added by encoding v2 (entries of `wrap` and `hook`): who served the
    ** call, the session it belongs to, how long it took (decimal text, as
    ** SQLite returns an INTEGER column), the id of the request entry an
    ** outcome completes, and the working directory.  An entry with all of
    ** them NULL is hashed with encoding v1, so every entry written before
    ** they existed still verifies. */
    const char *server;
    const char *session_id;
    const char *duration_ms;
    const char *completes;
    const char *cwd;
} chain_fields;

/* The number of string fields of chain_fields (every field but seq). */
#define CHAIN_STRING_FIELDS 18

/* Point slot[i] at each string field of f, in declaration order: for code
** that copies an entry's strings (the verifier's batches, the shipper). */
void chain_string_slots(chain_fields *f, const char **slot[CHAIN_STRING_FIELDS]);

/* Initialize libsodium once; returns 0, or -1 if it cannot start. */
int chain_init(void);

/* Which encoding an entry's hash uses: 2 when any v2 field is set, else 1. */
int chain_encoding(const chain_fields *f);

/* Compute the hash of an entry whose predecessor has hash `prev` (all zero
** bytes for the first entry) into out. */
void chain_entry_hash(const chain_fields *f,
                      const uint8_t prev[CHAIN_HASH_BYTES],
                      uint8_t out[CHAIN_HASH_BYTES]);

/* Whether `hash` is the hash of the entry f, placed at `seq` (whatever
** f->seq says), after an entry whose hash is `prev`: 1 or 0. */
int chain_entry_matches(const chain_fields *f, int64_t seq,
                        const uint8_t prev[CHAIN_HASH_BYTES],
                        const uint8_t hash[CHAIN_HASH_BYTES]);

/* Lower-case hex of a hash into a CHAIN_HEX_LEN buffer. */
void chain_hex(const uint8_t h[CHAIN_HASH_BYTES], char out[CHAIN_HEX_LEN]);

#endif
