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

#include "entry.h"

#define CHAIN_HASH_BYTES 32
#define CHAIN_HEX_LEN 65 /* 64 hex digits and a NUL */

/* Every hashed field of an entry, as the exact bytes the database holds:
** seq, then a const char * member per field of ENTRY_FIELDS (entry.h) but
** the two hashes, named as there.  A NULL pointer is an SQL NULL and hashes
** differently from "".  duration_ms is the decimal text an INTEGER column
** gives back.  An entry with every field of encoding 2 (server,
** session_id, duration_ms, completes, cwd) NULL is hashed with encoding
** v1, so every entry written before they existed still verifies. */
#define CHAIN_MEMBER_SEQ(name)
#define CHAIN_MEMBER_TEXT(name) const char *name;
#define CHAIN_MEMBER_JSON(name) const char *name;
#define CHAIN_MEMBER_INT(name) const char *name;
#define CHAIN_MEMBER_HASH(name)
#define CHAIN_X_MEMBER(name, type, nullable, hash_at, since, by) CHAIN_MEMBER_##type(name)
typedef struct chain_fields {
    int64_t seq;
    ENTRY_FIELDS(CHAIN_X_MEMBER)
} chain_fields;

/* The number of string fields of chain_fields (every field but seq). */
#define CHAIN_X_COUNT(name, type, nullable, hash_at, since, by) \
    +(ENTRY_##type != ENTRY_SEQ && ENTRY_##type != ENTRY_HASH)
#define CHAIN_STRING_FIELDS (0 ENTRY_FIELDS(CHAIN_X_COUNT))

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

/* Why an entry cannot be the one at `seq` after an entry whose hash is
** prev: f with the entry's stored prev_hash and hash (hashes_ok: both were
** 32 bytes).  A phrase ("does not match its hash", ...) to put after
** "entry N", or NULL when it can: the rule by which shipped entries join a
** chain. */
const char *chain_link_problem(const chain_fields *f, int hashes_ok,
                               const uint8_t stored_prev[CHAIN_HASH_BYTES],
                               const uint8_t hash[CHAIN_HASH_BYTES], int64_t seq,
                               const uint8_t prev[CHAIN_HASH_BYTES]);

/* Lower-case hex of a hash into a CHAIN_HEX_LEN buffer. */
void chain_hex(const uint8_t h[CHAIN_HASH_BYTES], char out[CHAIN_HEX_LEN]);

/* The hash whose hex (either case) is hex[0..len) into out: 0, or -1 with
** out zeroed when it is not 64 hex digits. */
int chain_unhex(const char *hex, size_t len, uint8_t out[CHAIN_HASH_BYTES]);

#endif
