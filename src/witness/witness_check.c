/*
** witness_check.c: parsing and judging add-checkpoint submissions
** (witness_check.h), moved out of witness.c so that they can be called
** without libmicrohttpd or a state file.
*/
#include "witness_check.h"

#include <stdio.h>
#include <string.h>

unsigned witness_check_submission(const ckpt_log *logs, size_t nlogs, const char *body,
                                  size_t len, witness_submission *s, char *msg,
                                  size_t msglen)
{
    char err[512];
    if (proof_consistency_parse(body, len, &s->pc, err, sizeof err) != 0) {
        snprintf(msg, msglen, "malformed add-checkpoint body: %s", err);
        return 400;
    }
    switch (ckpt_open(s->pc.checkpoint, s->pc.checkpoint_len, logs, nlogs, &s->n, &s->cp, err,
                      sizeof err)) {
    case CKPT_OK: break;
    case CKPT_EORIGIN: snprintf(msg, msglen, "%s", err); return 404;
    case CKPT_ESIG: snprintf(msg, msglen, "%s", err); return 403;
    case CKPT_EFORMAT: snprintf(msg, msglen, "%s", err); return 400;
    default: snprintf(msg, msglen, "%s", err); return 500;
    }
    if (s->pc.old_size > s->cp.size) {
        snprintf(msg, msglen, "the old size %lld is above the checkpoint's size %lld",
                 (long long)s->pc.old_size, (long long)s->cp.size);
        return 400;
    }
    return 0;
}

unsigned witness_judge(const witness_submission *s, int64_t latest, const uint8_t root[32],
                       char *msg, size_t msglen)
{
    const proof_consistency *pc = &s->pc;
    const ckpt *cp = &s->cp;
    uint8_t empty[32];
    merkle_empty_root(empty);
    if (pc->old_size != latest) {
        snprintf(msg, msglen, "%lld\n", (long long)latest);
        return 409;
    }
    if (cp->size == 0 && memcmp(cp->root, empty, 32) != 0)
        snprintf(msg, msglen, "a checkpoint of size 0 must have the empty tree's root hash");
    else if (pc->old_size == 0 && pc->path_len != 0)
        snprintf(msg, msglen, "a consistency proof from size 0 must be empty");
    else if (pc->old_size == cp->size && (pc->path_len != 0 || memcmp(root, cp->root, 32) != 0))
        snprintf(msg, msglen,
                 "the witness holds another tree of size %lld (or the proof is not empty)",
                 (long long)cp->size);
    else if (pc->old_size > 0 && pc->old_size < cp->size &&
             merkle_verify_consistency(pc->old_size, cp->size, root, cp->root, pc->path[0],
                                       pc->path_len) != MERKLE_OK)
        snprintf(msg, msglen,
                 "the consistency proof from size %lld to size %lld does not verify against "
                 "the tree the witness holds",
                 (long long)pc->old_size, (long long)cp->size);
    else
        return 200;
    return 422;
}
