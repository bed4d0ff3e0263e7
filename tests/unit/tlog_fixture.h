/*
** tlog_fixture.h: what the transparency-log tests (tests/unit/test_note.c,
** test_ckpt.c, test_proof.c, tests/tlog/, tests/witness/) make over and
** over: a fresh signing key, and a tree's signed checkpoint.
*/
#ifndef DSS_TLOG_FIXTURE_H
#define DSS_TLOG_FIXTURE_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "tlog/ckpt.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

/* A new random Ed25519 key named name, of type NOTE_ED25519 (a log's) or
** NOTE_COSIGNATURE (a witness's). */
static inline note_signer tf_signer(const char *name, uint8_t type)
{
    uint8_t pk[32], sk[64];
    char err[256];
    note_signer s;
    crypto_sign_keypair(pk, sk);
    if (note_signer_make(&s, name, type, sk, err, sizeof err) != NOTE_OK)
        fprintf(stderr, "tf_signer: %s\n", err);
    sodium_memzero(sk, sizeof sk);
    return s;
}

/* The checkpoint of m's first size leaves, its origin s's name, signed by
** s: a string the caller frees with free(), or NULL. */
static inline char *tf_checkpoint(merkle_mem *m, int64_t size, const note_signer *s)
{
    char err[256];
    merkle_reader r = merkle_mem_reader(m);
    ckpt c = {.size = size};
    snprintf(c.origin, sizeof c.origin, "%s", s->key.name);
    if (merkle_tree_hash(size, &r, c.root, err, sizeof err) != MERKLE_OK) {
        fprintf(stderr, "tf_checkpoint: %s\n", err);
        return NULL;
    }
    size_t tl;
    char *text = ckpt_format(&c, &tl, err, sizeof err);
    char *msg = text ? note_sign(text, tl, s, 1, 0, NULL, err, sizeof err) : NULL;
    if (!msg) fprintf(stderr, "tf_checkpoint: %s\n", err);
    free(text);
    return msg;
}

#endif
