/*
** proof.c: tlog-proof and add-checkpoint texts, and offline verification
** (proof.h).
*/
#include "proof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c2sp.h"

static const char *const part_names[] = {
    [PROOF_VALID] = "valid",
    [PROOF_FORMAT] = "format",
    [PROOF_ENTRY] = "entry hash",
    [PROOF_SIGNATURE] = "signature",
    [PROOF_COSIGNATURE] = "cosignature",
    [PROOF_INDEX] = "index",
    [PROOF_PATH] = "audit path",
};

const char *proof_part_name(proof_part p)
{
    return (unsigned)p < sizeof part_names / sizeof part_names[0] ? part_names[p] : "unknown";
}

/* The shared tail of both texts: after out[0..n), the hash lines of path,
** an empty line and the checkpoint; NUL-ended, its length in *out_len. */
static char *finish(char *out, size_t n, const uint8_t *path, size_t path_len,
                    const char *checkpoint, size_t checkpoint_len, size_t *out_len)
{
    for (size_t i = 0; i < path_len; i++) {
        n += c2sp_b64_encode(path + MERKLE_HASH * i, MERKLE_HASH, out + n);
        out[n++] = '\n';
    }
    out[n++] = '\n';
    memcpy(out + n, checkpoint, checkpoint_len);
    n += checkpoint_len;
    out[n] = '\0';
    if (out_len) *out_len = n;
    return out;
}

/* Check that checkpoint[0..len) is a signed note holding a checkpoint;
** fills *c. */
static int checkpoint_ok(const char *checkpoint, size_t len, ckpt *c, char *err,
                         size_t errlen)
{
    note *n = malloc(sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char why[256];
    int rc = 0;
    if (note_parse(checkpoint, len, n, why, sizeof why) != NOTE_OK) {
        snprintf(err, errlen, "the checkpoint is not a signed note: %s", why);
        rc = -1;
    } else if (ckpt_parse(n->text, n->text_len, c, why, sizeof why) != CKPT_OK) {
        snprintf(err, errlen, "the signed note is not a checkpoint: %s", why);
        rc = -1;
    }
    free(n);
    return rc;
}

char *proof_format(const uint8_t *extra, size_t extra_len, int64_t index,
                   const uint8_t *path, size_t path_len, const char *checkpoint,
                   size_t checkpoint_len, size_t *out_len, char *err, size_t errlen)
{
    ckpt c;
    if (extra && extra_len > PROOF_EXTRA_MAX) {
        snprintf(err, errlen, "the extra data is longer than %d bytes", PROOF_EXTRA_MAX);
        return NULL;
    }
    if (path_len > MERKLE_MAX_PROOF) {
        snprintf(err, errlen, "an audit path has at most %d hashes", MERKLE_MAX_PROOF);
        return NULL;
    }
    if (checkpoint_ok(checkpoint, checkpoint_len, &c, err, errlen) != 0) return NULL;
    if (index < 0 || index >= c.size) {
        snprintf(err, errlen, "index %lld is not in the checkpoint's tree of size %lld",
                 (long long)index, (long long)c.size);
        return NULL;
    }
    size_t cap = sizeof PROOF_HEADER + 6 + C2SP_B64_LEN(extra_len) + 1 + 6 + 20 + 1 +
                 path_len * (C2SP_B64_LEN(MERKLE_HASH) + 1) + 1 + checkpoint_len + 1;
    char *out = malloc(cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    memcpy(out, PROOF_HEADER "\n", sizeof PROOF_HEADER);
    n += sizeof PROOF_HEADER;
    if (extra) {
        memcpy(out + n, "extra ", 6);
        n += 6;
        n += c2sp_b64_encode(extra, extra_len, out + n);
        out[n++] = '\n';
    }
    n += (size_t)snprintf(out + n, cap - n, "index %lld\n", (long long)index);
    return finish(out, n, path, path_len, checkpoint, checkpoint_len, out_len);
}

/* Read hash lines from *pos until the empty line, which is consumed.
** 0, or -1 with err. */
static int parse_hashes(const char *text, size_t len, size_t *pos, merkle_hash *path,
                        size_t *path_len, const char *what, char *err, size_t errlen)
{
    const char *line;
    size_t n;
    *path_len = 0;
    for (;;) {
        if (c2sp_line(text, len, pos, &line, &n) != 0) {
            snprintf(err, errlen, "the %s is not followed by an empty line and a checkpoint",
                     what);
            return -1;
        }
        if (n == 0) return 0;
        if (*path_len == MERKLE_MAX_PROOF) {
            snprintf(err, errlen, "the %s has more than %d hashes", what, MERKLE_MAX_PROOF);
            return -1;
        }
        if (c2sp_b64_hash(line, n, path[*path_len]) != 0) {
            snprintf(err, errlen, "line %zu of the %s is not the base64 of a 32-byte hash",
                     *path_len + 1, what);
            return -1;
        }
        (*path_len)++;
    }
}

int proof_parse(const char *text, size_t len, tlog_proof *out, char *err, size_t errlen)
{
    const char *line;
    size_t n, pos = 0;
    ckpt c;
    memset(out, 0, sizeof *out);
    if (len > PROOF_MAX_SIZE) {
        snprintf(err, errlen, "the proof is larger than %d bytes", PROOF_MAX_SIZE);
        return -1;
    }
    if (c2sp_line(text, len, &pos, &line, &n) != 0 || n != sizeof PROOF_HEADER - 1 ||
        memcmp(line, PROOF_HEADER, n) != 0) {
        snprintf(err, errlen, "the first line is not %s", PROOF_HEADER);
        return -1;
    }
    if (c2sp_line(text, len, &pos, &line, &n) != 0) {
        snprintf(err, errlen, "the proof ends after its first line");
        return -1;
    }
    if (n >= 6 && memcmp(line, "extra ", 6) == 0) {
        if (c2sp_b64_decode(line + 6, n - 6, out->extra, sizeof out->extra, &out->extra_len) !=
            0) {
            snprintf(err, errlen,
                     "the extra line is not \"extra\", a space and base64 (of at most %d "
                     "bytes)",
                     PROOF_EXTRA_MAX);
            return -1;
        }
        out->has_extra = 1;
        if (c2sp_line(text, len, &pos, &line, &n) != 0) {
            snprintf(err, errlen, "the proof has no index line");
            return -1;
        }
    }
    if (n < 6 || memcmp(line, "index ", 6) != 0 ||
        c2sp_decimal(line + 6, n - 6, &out->index) != 0) {
        snprintf(err, errlen,
                 "the %s line is not \"index\", a space and a decimal without leading zeroes",
                 out->has_extra ? "third" : "second");
        return -1;
    }
    if (parse_hashes(text, len, &pos, out->path, &out->path_len, "audit path", err, errlen) !=
        0)
        return -1;
    out->checkpoint = text + pos;
    out->checkpoint_len = len - pos;
    return checkpoint_ok(out->checkpoint, out->checkpoint_len, &c, err, errlen);
}

static int fail(proof_result *res, proof_part part, const char *fmt, const char *detail)
{
    res->failed = part;
    snprintf(res->why, sizeof res->why, fmt, detail);
    return -1;
}

/* Step 3: the witnesses' cosignatures. */
static int check_cosignatures(const note *n, const proof_policy *pol, proof_result *res)
{
    char err[256];
    if (pol->nwitnesses == 0) {
        if (pol->min_witnesses == 0) return 0;
        return fail(res, PROOF_COSIGNATURE, "%s", "cosignatures are required but no witness key was given");
    }
    note_verdict *v = calloc(pol->nwitnesses, sizeof *v);
    if (!v) return fail(res, PROOF_FORMAT, "%s", "out of memory");
    int count = note_check(n, pol->witnesses, pol->nwitnesses, v, err, sizeof err);
    int rc = 0;
    if (count < 0) {
        rc = fail(res, PROOF_FORMAT, "the witness keys are unusable: %s", err);
        goto done;
    }
    for (size_t i = 0; i < pol->nwitnesses; i++) {
        if (pol->witnesses[i].type != NOTE_COSIGNATURE) {
            rc = fail(res, PROOF_FORMAT, "%s is not a cosignature key (type 0x04)",
                      pol->witnesses[i].name);
            goto done;
        }
        if (v[i].invalid) {
            char who[NOTE_NAME_MAX + 10];
            snprintf(who, sizeof who, "%s+%08x", pol->witnesses[i].name, pol->witnesses[i].id);
            rc = fail(res, PROOF_COSIGNATURE, "the cosignature by %s does not verify", who);
            goto done;
        }
    }
    res->cosigned = (size_t)count;
    if (res->cosigned < pol->min_witnesses) {
        snprintf(err, sizeof err, "%zu of the %zu required", res->cosigned, pol->min_witnesses);
        rc = fail(res, PROOF_COSIGNATURE, "the checkpoint has valid cosignatures by %s witnesses",
                  err);
    }
done:
    free(v);
    return rc;
}

int proof_verify(const tlog_proof *p, const proof_policy *pol, const uint8_t *entry_hash,
                 proof_result *res)
{
    char err[256];
    memset(res, 0, sizeof *res);
    /* 1. The leaf. */
    const uint8_t *data = entry_hash;
    if (p->has_extra && entry_hash &&
        (p->extra_len != MERKLE_HASH || memcmp(p->extra, entry_hash, MERKLE_HASH) != 0))
        return fail(res, PROOF_ENTRY, "%s",
                    "the entry's hash is not the one in the proof's extra line");
    if (!data) {
        if (!p->has_extra || p->extra_len != MERKLE_HASH)
            return fail(res, PROOF_ENTRY, "%s",
                        "the proof carries no 32-byte entry hash in an extra line, and no "
                        "entry was given");
        data = p->extra;
    }
    merkle_hash leaf;
    merkle_leaf_hash(data, MERKLE_HASH, leaf);
    /* 2. The log's signature on the checkpoint. */
    note *n = malloc(sizeof *n);
    if (!n) return fail(res, PROOF_FORMAT, "%s", "out of memory");
    int rc = ckpt_open(p->checkpoint, p->checkpoint_len, pol->logs, pol->nlogs, n,
                       &res->checkpoint, err, sizeof err);
    if (rc != CKPT_OK) {
        free(n);
        return fail(res, rc == CKPT_EFORMAT || rc == CKPT_ENOMEM ? PROOF_FORMAT : PROOF_SIGNATURE,
                    "%s", err);
    }
    /* 3. The witnesses. */
    rc = check_cosignatures(n, pol, res);
    free(n);
    if (rc != 0) return rc;
    /* 4. The inclusion proof. */
    if (p->index >= res->checkpoint.size) {
        snprintf(err, sizeof err, "index %lld is not below the checkpoint's tree size %lld",
                 (long long)p->index, (long long)res->checkpoint.size);
        return fail(res, PROOF_INDEX, "%s", err);
    }
    rc = merkle_verify_inclusion(p->index, res->checkpoint.size, leaf, p->path[0], p->path_len,
                                 res->checkpoint.root);
    if (rc != MERKLE_OK) {
        snprintf(err, sizeof err,
                 "the audit path (%zu hashes) does not lead from leaf %lld to the root of "
                 "the tree of size %lld",
                 p->path_len, (long long)p->index, (long long)res->checkpoint.size);
        return fail(res, PROOF_PATH, "%s", err);
    }
    res->failed = PROOF_VALID;
    return 0;
}

char *proof_consistency_format(int64_t old_size, const uint8_t *path, size_t path_len,
                               const char *checkpoint, size_t checkpoint_len, size_t *out_len,
                               char *err, size_t errlen)
{
    ckpt c;
    if (path_len > MERKLE_MAX_PROOF) {
        snprintf(err, errlen, "a consistency proof has at most %d hashes", MERKLE_MAX_PROOF);
        return NULL;
    }
    if (checkpoint_ok(checkpoint, checkpoint_len, &c, err, errlen) != 0) return NULL;
    if (old_size < 0 || old_size > c.size) {
        snprintf(err, errlen, "old size %lld is not within the checkpoint's size %lld",
                 (long long)old_size, (long long)c.size);
        return NULL;
    }
    size_t cap = 4 + 20 + 1 + path_len * (C2SP_B64_LEN(MERKLE_HASH) + 1) + 1 +
                 checkpoint_len + 1;
    char *out = malloc(cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = (size_t)snprintf(out, cap, "old %lld\n", (long long)old_size);
    return finish(out, n, path, path_len, checkpoint, checkpoint_len, out_len);
}

int proof_consistency_parse(const char *body, size_t len, proof_consistency *out, char *err,
                            size_t errlen)
{
    const char *line;
    size_t n, pos = 0;
    ckpt c;
    memset(out, 0, sizeof *out);
    if (c2sp_line(body, len, &pos, &line, &n) != 0 || n < 4 || memcmp(line, "old ", 4) != 0 ||
        c2sp_decimal(line + 4, n - 4, &out->old_size) != 0) {
        snprintf(err, errlen,
                 "the first line is not \"old\", a space and a decimal without leading zeroes");
        return -1;
    }
    if (parse_hashes(body, len, &pos, out->path, &out->path_len, "consistency proof", err,
                     errlen) != 0)
        return -1;
    out->checkpoint = body + pos;
    out->checkpoint_len = len - pos;
    return checkpoint_ok(out->checkpoint, out->checkpoint_len, &c, err, errlen);
}
