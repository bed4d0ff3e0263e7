/*
** tlog_fixture.h: what the transparency-log tests (tests/unit/test_note.c,
** test_ckpt.c, test_proof.c, tests/tlog/, tests/witness/) make over and
** over: a fresh signing key, a tree's signed checkpoint, and running a
** program (ours, or a Go peer) with a given stdin.
*/
#ifndef DSS_TLOG_FIXTURE_H
#define DSS_TLOG_FIXTURE_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Run the shell command cmd with input (may be NULL) on its stdin; *out
** gets its stdout, NUL-terminated (the caller frees).  Returns its exit
** status, or -1 when it could not run. */
static inline int tf_run(const char *cmd, const char *input, char **out)
{
    char tmp[] = "/tmp/dss-tf-XXXXXX", *line;
    *out = NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) return -1;
    size_t len = input ? strlen(input) : 0;
    if (write(fd, input ? input : "", len) != (ssize_t)len) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    size_t need = strlen(cmd) + sizeof tmp + 8;
    if (!(line = malloc(need))) {
        unlink(tmp);
        return -1;
    }
    snprintf(line, need, "%s < %s", cmd, tmp);
    FILE *p = popen(line, "r");
    free(line);
    if (!p) {
        unlink(tmp);
        return -1;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 4096) {
            char *more = realloc(buf, cap *= 2);
            if (!more) {
                free(buf);
                buf = NULL;
            }
            buf = more;
        }
    }
    int st = pclose(p);
    unlink(tmp);
    if (!buf) return -1;
    buf[n] = '\0';
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
