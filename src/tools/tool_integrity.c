/*
** tool_integrity.c: the tools that expose the log's tamper evidence:
** get_audit_entry, verify_audit_log, create_checkpoint and
** get_inclusion_proof.
*/
#include <stdio.h>
#include <string.h>

#include "../integrity/checkpoint.h"
#include "../integrity/prove.h"
#include "../integrity/verify.h"
#include "tools.h"

int tool_get_audit_entry(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary)
{
    cJSON *entry;
    char err[STORE_ERRLEN];
    int rc = store_get(ctx->st, tool_str_arg(args, "audit_id"), &entry, err);
    if (rc == STORE_ENOTFOUND) {
        snprintf(ctx->err, sizeof ctx->err, "argument 'audit_id': %s", err);
        return TOOL_EARG;
    }
    if (rc != STORE_OK) return tool_store_failed(ctx, rc, err);
    *out = cJSON_CreateObject();
    *summary = cJSON_CreateObject();
    if (!*out || !*summary) {
        cJSON_Delete(entry);
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        *out = *summary = NULL;
        return TOOL_EFAIL;
    }
    cJSON_AddItemToObject(*out, "entry", entry);
    cJSON_AddNumberToObject(*summary, "count", 1);
    return TOOL_OK;
}

static void verify_progress(void *c, int64_t done)
{
    tool_ctx *ctx = c;
    ctx->progress(ctx->hook_ctx, done, 0);
}

/* Select the log a tool's `log` argument names (its name or id; none: the
** server's own) for one call, keeping the server's own in was (37 bytes)
** for put_log_back().  STORE_OK, or a STORE_ code with err; a log the
** store does not hold is the caller's mistake: STORE_ENOTFOUND with
** ctx->err naming the argument. */
static int use_log_arg(tool_ctx *ctx, const char *log, char *was, char *err)
{
    snprintf(was, 37, "%s", store_log_id(ctx->st));
    int rc = log ? store_use_log(ctx->st, log, err) : STORE_OK;
    if (rc == STORE_ENOTFOUND) snprintf(ctx->err, sizeof ctx->err, "argument 'log': %s", err);
    return rc;
}

static void put_log_back(tool_ctx *ctx, const char *was)
{
    char ignored[STORE_ERRLEN];
    store_use_log(ctx->st, was[0] ? was : NULL, ignored);
}

int tool_verify_audit_log(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary)
{
    store_checkpoint external;
    verify_options opt = {.trusted_public_key = ctx->trusted_public_key};
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(args, "checkpoint");
    if (given) {
        char why[256];
        if (checkpoint_from_json(given, &external, why, sizeof why) != 0) {
            snprintf(ctx->err, sizeof ctx->err, "argument 'checkpoint': %s", why);
            return TOOL_EARG;
        }
        opt.external = &external;
    }
    char err[STORE_ERRLEN];
    /* One log (its name or id), as the query tools take it; every log of
    ** the store when absent.  A log the store does not hold is the
    ** caller's mistake, not a failure of the store. */
    opt.log = tool_str_arg(args, "log");
    if (opt.log) {
        char was[37];
        int rc = use_log_arg(ctx, opt.log, was, err);
        put_log_back(ctx, was);
        if (rc == STORE_ENOTFOUND) return TOOL_EARG;
        if (rc != STORE_OK) return tool_store_failed(ctx, rc, err);
    }
    if (ctx->progress) {
        opt.progress = verify_progress;
        opt.progress_ctx = ctx;
    }
    *out = verify_store(ctx->st, &opt, err, sizeof err);
    if (!*out) return tool_store_failed(ctx, STORE_EIO, err);
    *summary = cJSON_CreateObject();
    if (!*summary) {
        cJSON_Delete(*out);
        *out = NULL;
        return TOOL_EFAIL;
    }
    cJSON_AddBoolToObject(*summary, "ok",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(*out, "ok")));
    cJSON_AddNumberToObject(*summary, "problems",
                            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(*out, "problems")));
    return TOOL_OK;
}

int tool_create_checkpoint(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary)
{
    if (!ctx->sg) {
        snprintf(ctx->err, sizeof ctx->err, "no signing key is configured");
        return TOOL_EFAIL;
    }
    store_checkpoint cp;
    char err[STORE_ERRLEN];
    int rc = recorder_checkpoint(ctx->rec, &cp, err);
    if (rc != STORE_OK) return tool_store_failed(ctx, rc, err);
    *out = checkpoint_to_json(&cp);
    *summary = cJSON_CreateObject();
    if (!*out || !*summary) {
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        *out = *summary = NULL;
        return TOOL_EFAIL;
    }
    cJSON_AddNumberToObject(*summary, "seq", (double)cp.seq);
    cJSON_AddStringToObject(*summary, "head_hash", cp.head_hash);
    return TOOL_OK;
}

/* The proof of one entry, by id or seq, of the server's log (or the one
** `log` names in a shared database). */
int tool_get_inclusion_proof(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary)
{
    const char *id = tool_str_arg(args, "audit_id"), *log = tool_str_arg(args, "log");
    const cJSON *seqv = cJSON_GetObjectItemCaseSensitive(args, "seq");
    char err[STORE_ERRLEN], was[37];
    if ((id != NULL) == (seqv != NULL)) {
        snprintf(ctx->err, sizeof ctx->err, "give the entry's audit_id or its seq (one of them)");
        return TOOL_EARG;
    }
    int rc = use_log_arg(ctx, log, was, err);
    if (rc == STORE_ENOTFOUND) {
        put_log_back(ctx, was);
        return TOOL_EARG;
    }
    prove_request rq = {.seq = seqv ? (int64_t)seqv->valuedouble : 0, .sg = ctx->sg,
                        .with_entry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                            args, "include_entry"))};
    /* Only the server's own log is signed for: another's is its owner's. */
    if (log && strcmp(store_log_id(ctx->st), was) != 0) rq.sg = NULL;
    prove_result res;
    if (rc == STORE_OK && id) rc = prove_seq_of_id(ctx->st, id, &rq.seq, err);
    if (rc == STORE_OK) rc = prove_entry(ctx->st, &rq, &res, err);
    put_log_back(ctx, was);
    if (rc == STORE_ENOTFOUND) {
        snprintf(ctx->err, sizeof ctx->err, "argument '%s': %s", id ? "audit_id" : "seq", err);
        return TOOL_EARG;
    }
    if (rc != STORE_OK) return tool_store_failed(ctx, rc, err);
    *out = cJSON_CreateObject();
    *summary = cJSON_CreateObject();
    if (!*out || !*summary || !cJSON_AddStringToObject(*out, "proof", res.proof) ||
        !cJSON_AddStringToObject(*out, "vkey", res.vkey)) {
        cJSON_Delete(*out);
        cJSON_Delete(*summary);
        *out = *summary = NULL;
        prove_result_free(&res);
        return TOOL_EFAIL;
    }
    cJSON_AddNumberToObject(*out, "seq", (double)rq.seq);
    cJSON_AddNumberToObject(*out, "tree_size", (double)res.size);
    cJSON_AddBoolToObject(*out, "checkpoint_signed", res.signed_now);
    if (res.entry) {
        cJSON_AddItemToObject(*out, "entry", res.entry);
        res.entry = NULL;
    }
    cJSON_AddNumberToObject(*summary, "seq", (double)rq.seq);
    cJSON_AddNumberToObject(*summary, "tree_size", (double)res.size);
    prove_result_free(&res);
    return TOOL_OK;
}
