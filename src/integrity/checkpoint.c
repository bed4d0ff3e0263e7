/*
** checkpoint.c: building, signing and (de)serializing checkpoints.
**
** The signed message is a fixed, line-oriented text with a versioned domain
** tag, so that a signature over a checkpoint can never be mistaken for a
** signature over anything else, and no field can bleed into another (the
** fields are hex, decimal, a UUID and a timestamp: none holds a newline).
*/
#include "checkpoint.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../util/ts.h"

static int message(const store_checkpoint *cp, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "dss-audit/%s/v1\nlog_id:%s\nseq:%lld\nhead_hash:%s\n"
                     "created_at:%s\nprev_checkpoint_hash:%s\n",
                     strcmp(cp->kind, "anchor") == 0 ? "anchor" : "checkpoint",
                     cp->log_id, (long long)cp->seq, cp->head_hash, cp->created_at,
                     cp->prev_checkpoint_hash);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

void checkpoint_digest(const store_checkpoint *cp, char hex[CHAIN_HEX_LEN])
{
    char msg[512];
    uint8_t h[CHAIN_HASH_BYTES];
    int n = message(cp, msg, sizeof msg);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)msg, n > 0 ? (size_t)n : 0);
    crypto_hash_sha256_update(&st, (const uint8_t *)cp->signature, strlen(cp->signature));
    crypto_hash_sha256_final(&st, h);
    chain_hex(h, hex);
}

int checkpoint_check_signature(const store_checkpoint *cp)
{
    char msg[512];
    int n = message(cp, msg, sizeof msg);
    if (n < 0) return -1;
    return signer_verify(cp->public_key, (const uint8_t *)msg, (size_t)n, cp->signature);
}

int checkpoint_append(store *st, const signer *sg, const char *kind, int64_t seq,
                      const char *head_hash, store_checkpoint *out, char *err)
{
    store_checkpoint prev;
    memset(out, 0, sizeof *out);
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    snprintf(out->log_id, sizeof out->log_id, "%s", store_log_id(st));
    out->seq = seq;
    snprintf(out->head_hash, sizeof out->head_hash, "%s", head_hash);
    ts_format(ts_now_us(), out->created_at);
    int rc = store_last_checkpoint(st, &prev, err);
    if (rc == STORE_OK) checkpoint_digest(&prev, out->prev_checkpoint_hash);
    else if (rc == STORE_ENOTFOUND) memset(out->prev_checkpoint_hash, '0', 64);
    else return rc;
    snprintf(out->public_key, sizeof out->public_key, "%s", sg->pk_hex);
    char msg[512];
    int n = message(out, msg, sizeof msg);
    if (n < 0) {
        snprintf(err, STORE_ERRLEN, "checkpoint fields too long");
        return STORE_EINVAL;
    }
    signer_sign(sg, (const uint8_t *)msg, (size_t)n, out->signature);
    return store_add_checkpoint(st, out, err);
}

int checkpoint_now(store *st, const signer *sg, store_checkpoint *out, char *err)
{
    int own = !store_in_transaction(st), rc;
    if (own && (rc = store_begin(st, err)) != STORE_OK) return rc;
    int64_t seq;
    char head[CHAIN_HEX_LEN];
    rc = store_head(st, &seq, head, err);
    if (rc == STORE_OK) rc = checkpoint_append(st, sg, "checkpoint", seq, head, out, err);
    if (own) {
        if (rc == STORE_OK) rc = store_commit(st, err);
        else store_rollback(st);
    }
    return rc;
}

cJSON *checkpoint_to_json(const store_checkpoint *cp)
{
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "log_id", cp->log_id);
    cJSON_AddNumberToObject(j, "seq", (double)cp->seq);
    cJSON_AddStringToObject(j, "head_hash", cp->head_hash);
    cJSON_AddStringToObject(j, "created_at", cp->created_at);
    cJSON_AddStringToObject(j, "prev_checkpoint_hash", cp->prev_checkpoint_hash);
    cJSON_AddStringToObject(j, "kind", cp->kind);
    cJSON_AddStringToObject(j, "signature", cp->signature);
    cJSON_AddStringToObject(j, "public_key", cp->public_key);
    return j;
}

static int field(const cJSON *j, const char *name, char *dst, size_t len,
                 char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len ||
        strpbrk(v->valuestring, "\r\n")) {
        snprintf(err, errlen, "checkpoint field '%s' is missing or malformed", name);
        return -1;
    }
    snprintf(dst, len, "%s", v->valuestring);
    return 0;
}

int checkpoint_from_json(const cJSON *j, store_checkpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "a checkpoint must be a JSON object");
        return -1;
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    if (!cJSON_IsNumber(seq) || seq->valuedouble < 0 || seq->valuedouble > 9e15) {
        snprintf(err, errlen, "checkpoint field 'seq' is missing or malformed");
        return -1;
    }
    out->seq = (int64_t)seq->valuedouble;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    snprintf(out->kind, sizeof out->kind, "%s",
             cJSON_IsString(kind) && strcmp(kind->valuestring, "anchor") == 0
                 ? "anchor" : "checkpoint");
    if (field(j, "log_id", out->log_id, sizeof out->log_id, err, errlen) ||
        field(j, "head_hash", out->head_hash, sizeof out->head_hash, err, errlen) ||
        field(j, "created_at", out->created_at, sizeof out->created_at, err, errlen) ||
        field(j, "prev_checkpoint_hash", out->prev_checkpoint_hash,
              sizeof out->prev_checkpoint_hash, err, errlen) ||
        field(j, "signature", out->signature, sizeof out->signature, err, errlen) ||
        field(j, "public_key", out->public_key, sizeof out->public_key, err, errlen))
        return -1;
    return 0;
}
