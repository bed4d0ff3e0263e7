/*
** cmd_prove.c: `prove`, which prints an entry's C2SP tlog-proof (or with
** --consistency the proof that the log only grew between two sizes), and
** `verify-proof`, which checks such a proof offline with nothing but the
** log's verifier key and the witnesses' (src/integrity/prove.h,
** src/tlog/proof.h).
*/
#include "cmd.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../integrity/prove.h"
#include "../tlog/c2sp.h"
#include "../tlog/ckpt.h"
#include "../util/diag.h"

/* ---- prove ------------------------------------------------------------- */

typedef struct prove_opts {
    const char *seq, *size, *consistency;
    int entry;
    int64_t seq_n, size_n, old_n, new_n;
} prove_opts;

static const cmd_option prove_option_table[] = {
    {"seq", 0, CMD_STRING, offsetof(prove_opts, seq)},
    {"size", 0, CMD_STRING, offsetof(prove_opts, size)},
    {"entry", 0, CMD_FLAG, offsetof(prove_opts, entry)},
    {"consistency", 0, CMD_STRING, offsetof(prove_opts, consistency)},
    {NULL, 0, 0, 0},
};

static int prove_check(cmd_ctx *cx, char *err, size_t errlen)
{
    prove_opts *o = cx->opts;
    long long v;
    if (o->consistency) {
        if (o->seq || o->size || o->entry || cx->n_operands > 1) {
            snprintf(err, errlen, "prove --consistency OLD [NEW] takes no entry, --seq, "
                                  "--size or --entry");
            return CMD_EUSAGE;
        }
        if (cmd_parse_int(o->consistency, 0, INT64_MAX, &v) != 0) {
            snprintf(err, errlen, "--consistency OLD must be a tree size (0 or more)");
            return CMD_EUSAGE;
        }
        o->old_n = v;
        if (cx->n_operands == 1) {
            if (cmd_parse_int(cx->operands[0], 1, INT64_MAX, &v) != 0) {
                snprintf(err, errlen, "NEW must be a tree size (1 or more)");
                return CMD_EUSAGE;
            }
            o->new_n = v;
        }
        return CMD_OK;
    }
    if ((o->seq != NULL) == (cx->n_operands == 1) || cx->n_operands > 1) {
        snprintf(err, errlen, "prove needs one entry: its id, or --seq N");
        return CMD_EUSAGE;
    }
    if (o->seq) {
        if (cmd_parse_int(o->seq, 1, INT64_MAX, &v) != 0) {
            snprintf(err, errlen, "--seq must be an entry's number (1 or more)");
            return CMD_EUSAGE;
        }
        o->seq_n = v;
    }
    if (o->size) {
        if (cmd_parse_int(o->size, 1, INT64_MAX, &v) != 0) {
            snprintf(err, errlen, "--size must be a tree size (1 or more)");
            return CMD_EUSAGE;
        }
        o->size_n = v;
    }
    return CMD_OK;
}

/* The proof of one entry: made on the read-only store, or, when a
** checkpoint must be signed for it, on the log opened for writing. */
static int prove_one(cmd_ctx *cx, prove_result *res, char *err)
{
    const prove_opts *o = cx->opts;
    int64_t seq = o->seq_n;
    int rc = STORE_OK;
    if (!o->seq) rc = prove_seq_of_id(cx->st, cx->operands[0], &seq, err);
    if (rc != STORE_OK) return rc;
    prove_request rq = {.seq = seq, .size = o->size_n, .with_entry = o->entry};
    rc = prove_entry(cx->st, &rq, res, err);
    if (rc != STORE_EREADONLY && !(rc == STORE_EINVAL && o->size_n)) return rc;
    store *rw = cmd_open_to_sign(cx, err);
    if (!rw) return rc == STORE_EINVAL ? rc : STORE_EIO;
    rq.sg = cx->sg;
    rc = prove_entry(rw, &rq, res, err);
    store_close(rw);
    return rc;
}

/* The consistency proof, signing the head's checkpoint when none is. */
static int prove_grew(cmd_ctx *cx, char **body, char *err)
{
    const prove_opts *o = cx->opts;
    int rc = prove_consistency(cx->st, NULL, o->old_n, o->new_n, body, err);
    if (rc != STORE_EREADONLY) return rc;
    store *rw = cmd_open_to_sign(cx, err);
    if (!rw) return STORE_EIO;
    rc = prove_consistency(rw, cx->sg, o->old_n, o->new_n, body, err);
    store_close(rw);
    return rc;
}

static int prove_run(cmd_ctx *cx)
{
    const prove_opts *o = cx->opts;
    char err[STORE_ERRLEN];
    if (o->consistency) {
        char *body = NULL;
        int rc = prove_grew(cx, &body, err);
        if (rc != STORE_OK) {
            diag("cannot prove consistency: %s", err);
            return 2;
        }
        int ok = fputs(body, stdout) >= 0 && fflush(stdout) == 0;
        free(body);
        return ok ? EXIT_SUCCESS : 2;
    }
    prove_result res;
    int rc = prove_one(cx, &res, err);
    if (rc != STORE_OK) {
        diag("cannot prove the entry: %s", err);
        return rc == STORE_ENOTFOUND ? 1 : 2;
    }
    if (res.signed_now) diag("signed a checkpoint of tree size %lld for it", (long long)res.size);
    int ok;
    if (o->entry) {
        /* The proof, the entry it proves (its exact stored fields) and the
        ** key that signed: one file a reviewer checks with verify-proof. */
        cJSON *b = cJSON_CreateObject();
        ok = b && cJSON_AddStringToObject(b, "proof", res.proof) &&
             cJSON_AddStringToObject(b, "vkey", res.vkey);
        if (ok && res.entry) {
            cJSON_AddItemToObject(b, "entry", res.entry);
            res.entry = NULL;
        } else if (ok) {
            diag("entry %s was pruned: its archived copy is the entry (verify-proof --entry)",
                 o->seq ? o->seq : cx->operands[0]);
        }
        ok = ok && cmd_print_json(b) == 0;
        cJSON_Delete(b);
    } else {
        ok = fputs(res.proof, stdout) >= 0 && fflush(stdout) == 0;
    }
    prove_result_free(&res);
    return ok ? EXIT_SUCCESS : 2;
}

const cmd_spec cmd_prove = {
    .options = prove_option_table,
    .opts_size = sizeof(prove_opts),
    .shared = CMD_OPT_DB | CMD_OPT_LOG | CMD_OPT_KEY | CMD_OPT_ORIGIN,
    .operands = CMD_OPERANDS,
    .check = prove_check,
    .run = prove_run,
};

/* ---- verify-proof -------------------------------------------------------- */

typedef struct verify_proof_opts {
    cmd_strings witnesses;
    const char *min_witnesses, *entry;
} verify_proof_opts;

static const cmd_option verify_proof_option_table[] = {
    {"witness", 0, CMD_STRINGS, offsetof(verify_proof_opts, witnesses)},
    {"min-witnesses", 0, CMD_STRING, offsetof(verify_proof_opts, min_witnesses)},
    {"entry", 0, CMD_STRING, offsetof(verify_proof_opts, entry)},
    {NULL, 0, 0, 0},
};

static int verify_proof_check(cmd_ctx *cx, char *err, size_t errlen)
{
    if (cx->n_operands != 1) {
        snprintf(err, errlen, "verify-proof needs one proof FILE (- for stdin)");
        return CMD_EUSAGE;
    }
    /* Only --key itself: DSS_AUDIT_KEY and the default name the signing
    ** key, a secret, which is no verifier key and must not be read here. */
    if (!cx->common.key_given) {
        snprintf(err, errlen, "verify-proof needs --key VKEY: the log's verifier key, as "
                              "'public-key --note' prints it, or a file holding it");
        return CMD_EUSAGE;
    }
    return CMD_OK;
}

/* The log's verifier key: --key as a vkey, or a file holding one (as
** public-key --note prints it).  What a file holds is never quoted: given
** the wrong file, the signing key say, the message must not show it. */
static int log_key(const char *given, ckpt_log *log, char *err, size_t errlen)
{
    char why[256];
    if (ckpt_log_from_vkey(given, log, why, sizeof why) == CKPT_OK) return 0;
    if (access(given, F_OK) != 0) {
        snprintf(err, errlen, "--key must be the log's verifier key (public-key --note prints "
                              "it), or a file holding it: %s", why);
        return -1;
    }
    size_t n = 0;
    char *text = cmd_read_small(given, NOTE_VKEY_MAX + 2, "a verifier key", &n, err, errlen);
    if (!text) return -1;
    text[strcspn(text, "\r\n")] = '\0';
    int rc = ckpt_log_from_vkey(text, log, why, sizeof why);
    sodium_memzero(text, n);
    free(text);
    if (rc == CKPT_OK) return 0;
    snprintf(err, errlen, "--key: %s holds no verifier key (<name>+<key ID>+<key>, as "
                          "public-key --note prints it)", given);
    return -1;
}

/* verify-proof: 0 valid, 1 invalid (which part, on stdout), 2 unusable. */
static int verify_proof_run(cmd_ctx *cx)
{
    const verify_proof_opts *o = cx->opts;
    char err[512];
    size_t len = 0, nw = (size_t)o->witnesses.n;
    long long min = 0;
    int status = 2;
    ckpt_log log;
    note_key w[CMD_MAX_REPEAT];
    cJSON *bundle = NULL, *entry_doc = NULL;
    const cJSON *entry = NULL;
    tlog_proof *p = malloc(sizeof *p);
    char *text = NULL;
    if (!p) {
        diag("out of memory");
        return 2;
    }
    if (log_key(cx->common.key, &log, err, sizeof err) != 0) goto unusable;
    for (size_t i = 0; i < nw; i++) {
        /* A key that does not parse says why (its type is then 0, which
        ** must not replace the reason with "not a witness's key"). */
        int rc = note_key_parse(o->witnesses.v[i], &w[i], err, sizeof err);
        if (rc == NOTE_OK && w[i].type != NOTE_COSIGNATURE)
            snprintf(err, sizeof err, "a log's key (type 0x01), not a witness's (type 0x04)");
        if (rc != NOTE_OK || w[i].type != NOTE_COSIGNATURE) {
            diag("--witness %s: %s", o->witnesses.v[i], err);
            goto done;
        }
    }
    min = (long long)nw;
    if (o->min_witnesses && cmd_parse_int(o->min_witnesses, 0, (long long)nw, &min) != 0) {
        diag("--min-witnesses must be a number from 0 to the %zu --witness keys given", nw);
        goto done;
    }
    if (!(text = cmd_read_small(cx->operands[0], PROOF_MAX_SIZE + 16384, "a proof", &len, err,
                               sizeof err)))
        goto unusable;
    const char *proof_text = text;
    if (text[strspn(text, " \t\r\n")] == '{') {
        /* A bundle: {"proof", "entry", "vkey"}; its vkey is not trusted. */
        bundle = cJSON_ParseWithLength(text, len);
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(bundle, "proof");
        if (!cJSON_IsString(pt)) {
            snprintf(err, sizeof err, "%s is JSON but no proof bundle (prove --entry)",
                     cx->operands[0]);
            goto unusable;
        }
        proof_text = pt->valuestring;
        len = strlen(proof_text);
        entry = cJSON_GetObjectItemCaseSensitive(bundle, "entry");
    }
    if (o->entry) {
        size_t elen;
        char *etext = cmd_read_small(o->entry, 1 << 24, "an entry", &elen, err, sizeof err);
        if (!etext) goto unusable;
        entry_doc = cJSON_ParseWithLength(etext, elen);
        free(etext);
        if (!entry_doc) {
            snprintf(err, sizeof err, "%s is not JSON", o->entry);
            goto unusable;
        }
        entry = entry_doc;
    }
    if (proof_parse(proof_text, len, p, err, sizeof err) != 0) goto unusable;
    proof_policy pol = {.logs = &log, .nlogs = 1, .witnesses = w, .nwitnesses = nw,
                        .min_witnesses = (size_t)min};
    proof_result res;
    uint8_t hash[32];
    memset(&res, 0, sizeof res);
    if (!entry || prove_check_entry(entry, p, hash, &res) == 0)
        proof_verify(p, &pol, entry ? hash : NULL, &res);
    if (res.failed != PROOF_VALID) {
        printf("invalid: %s: %s\n", proof_part_name(res.failed), res.why);
        status = EXIT_FAILURE;
        goto done;
    }
    char hex[CHAIN_HEX_LEN];
    chain_hex(entry ? hash : p->extra, hex);
    printf("valid: entry %s is leaf %lld (seq %lld) of %s, tree size %lld", hex,
           (long long)p->index, (long long)p->index + 1, res.checkpoint.origin,
           (long long)res.checkpoint.size);
    if (nw) printf(", cosigned by %zu of the %zu witnesses given", res.cosigned, nw);
    printf("%s\n", entry ? "; the entry's fields hash to it" : "");
    status = EXIT_SUCCESS;
    goto done;
unusable:
    diag("%s", err);
done:
    fflush(stdout);
    cJSON_Delete(bundle);
    cJSON_Delete(entry_doc);
    free(text);
    free(p);
    return status;
}

const cmd_spec cmd_verify_proof = {
    .options = verify_proof_option_table,
    .opts_size = sizeof(verify_proof_opts),
    .shared = CMD_OPT_KEY,
    .operands = CMD_OPERANDS,
    .check = verify_proof_check,
    .run = verify_proof_run,
};
