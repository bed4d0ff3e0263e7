/*
** mcp.c: MCP lifecycle, method dispatch and the recording of tool calls.
**
** Versions: the server speaks every initialize-era revision from 2024-11-05
** to 2025-11-25.  A client asking for one of them gets it; any other request
** gets the newest, and the client decides whether to continue (lifecycle
** rules).  Requests that arrive before initialize are served under the
** newest revision rather than refused, which costs nothing and helps clients
** that skip the handshake.
*/
#include "mcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/checkpoint.h"
#include "../scrub/scrub.h"
#include "../tools/tools.h"
#include "../util/diag.h"
#include "../util/ts.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                       "2024-11-05"};
#define LATEST_VERSION "2025-11-25"

static const char instructions[] =
    "dss-audit-mcp keeps a tamper-evident, append-only audit trail of what "
    "agents do. Call log_operation whenever you perform or attempt an "
    "operation someone may later need to account for (credentials, project "
    "changes, syncs, state transitions, errors, security events), with "
    "before/after snapshots for changes; secrets are redacted before storage. "
    "Use get_operation_history, get_audit_trail, search_audit_log and "
    "get_user_activity to answer what happened, when and by whom; every call "
    "to this server is itself recorded.";

struct mcp {
    store *st;
    tools *tools;
    char *actor;
    rpc_limits limits;
    char version[16];
    char *client; /* serialized {name, version} from clientInfo, or NULL */
    const signer *sg;
    const char *trusted_public_key;
    int64_t checkpoint_interval;
    int64_t checkpointed_seq; /* head of the newest checkpoint we know of */
};

mcp *mcp_new(const mcp_options *opt, char *err, size_t errlen)
{
    mcp *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->st = opt->st;
    m->limits = opt->limits;
    m->actor = strdup(opt->actor ? opt->actor : "unknown");
    m->sg = opt->sg;
    m->trusted_public_key = opt->trusted_public_key ? opt->trusted_public_key
                            : opt->sg ? opt->sg->pk_hex : NULL;
    m->checkpoint_interval = opt->checkpoint_interval > 0 ? opt->checkpoint_interval : 1000;
    store_checkpoint last;
    char cerr[STORE_ERRLEN];
    if (store_last_checkpoint(m->st, &last, cerr) == STORE_OK) m->checkpointed_seq = last.seq;
    snprintf(m->version, sizeof m->version, "%s", LATEST_VERSION);
    if (!m->actor || !(m->tools = tools_new(err, errlen))) {
        mcp_free(m);
        return NULL;
    }
    return m;
}

void mcp_free(mcp *m)
{
    if (!m) return;
    tools_free(m->tools);
    free(m->actor);
    free(m->client);
    free(m);
}

void mcp_reply_free(mcp_reply *r)
{
    if (!r) return;
    free(r->line);
    free(r->id);
    memset(r, 0, sizeof *r);
}

char *mcp_too_long_reply(size_t limit)
{
    char msg[128];
    snprintf(msg, sizeof msg,
             "invalid request: message longer than the limit of %zu bytes", limit);
    return rpc_reply_error(NULL, RPC_INVALID_REQUEST, msg, NULL);
}

/* A tools/call result: the text block always, structuredContent on success. */
static cJSON *call_result(cJSON *structured, const char *error_text)
{
    cJSON *r = cJSON_CreateObject(), *content = cJSON_CreateArray(),
          *block = cJSON_CreateObject();
    char *text = structured ? cJSON_PrintUnformatted(structured) : NULL;
    if (!r || !content || !block || (structured && !text)) {
        cJSON_Delete(r);
        cJSON_Delete(content);
        cJSON_Delete(block);
        cJSON_Delete(structured);
        cJSON_free(text);
        return NULL;
    }
    cJSON_AddStringToObject(block, "type", "text");
    cJSON_AddStringToObject(block, "text", text ? text : error_text);
    cJSON_AddItemToArray(content, block);
    cJSON_AddItemToObject(r, "content", content);
    if (structured) cJSON_AddItemToObject(r, "structuredContent", structured);
    cJSON_AddBoolToObject(r, "isError", structured == NULL);
    cJSON_free(text);
    return r;
}

void mcp_reply_write_failed(mcp_reply *r, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg,
             "the call was not recorded and nothing it wrote was kept: %s", why);
    free(r->line);
    r->line = rpc_reply_result(r->id, call_result(NULL, msg));
    r->acks_write = 0;
}

static const char *negotiate(const char *asked)
{
    for (size_t i = 0; asked && i < sizeof versions / sizeof *versions; i++)
        if (strcmp(asked, versions[i]) == 0) return versions[i];
    return LATEST_VERSION;
}

static char *handle_initialize(mcp *m, const rpc_message *msg)
{
    const cJSON *p = msg->params;
    if (!cJSON_IsObject(p))
        return rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                               "initialize needs params with protocolVersion", NULL);
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(p, "protocolVersion");
    if (!cJSON_IsString(asked))
        return rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                               "params.protocolVersion must be a string", NULL);
    snprintf(m->version, sizeof m->version, "%s", negotiate(asked->valuestring));

    /* Keep only the identity fields of clientInfo: they go into every entry. */
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, "clientInfo");
    const char *name = tool_str_arg(info, "name"), *ver = tool_str_arg(info, "version");
    free(m->client);
    m->client = NULL;
    if (name || ver) {
        cJSON *c = cJSON_CreateObject();
        if (c) {
            if (name) cJSON_AddStringToObject(c, "name", name);
            if (ver) cJSON_AddStringToObject(c, "version", ver);
            scrub_tree(c);
            m->client = cJSON_PrintUnformatted(c);
            cJSON_Delete(c);
        }
    }

    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON_AddStringToObject(r, "protocolVersion", m->version);
    cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
    cJSON *tools_cap = cJSON_AddObjectToObject(caps, "tools");
    cJSON_AddBoolToObject(tools_cap, "listChanged", 0);
    cJSON *si = cJSON_AddObjectToObject(r, "serverInfo");
    cJSON_AddStringToObject(si, "name", "dss-audit-mcp");
    cJSON_AddStringToObject(si, "title", "DSS Audit Trail");
    cJSON_AddStringToObject(si, "version", DSS_VERSION);
    cJSON_AddStringToObject(r, "instructions", instructions);
    return rpc_reply_result(msg->id, r);
}

/* Serialize a tree for the store, or NULL when tree is NULL. */
static char *serialize(const cJSON *tree, int *oom)
{
    if (!tree) return NULL;
    char *s = cJSON_PrintUnformatted(tree);
    if (!s) *oom = 1;
    return s;
}

/* Append the tool_call entry describing this call.  Returns a STORE_ code. */
static int record_call(mcp *m, const rpc_message *msg, const char *name,
                       const cJSON *args, const cJSON *summary,
                       const char *error, char *err)
{
    int oom = 0;
    char *args_text = serialize(args, &oom);
    char *result_text = serialize(summary, &oom);
    int rc = STORE_ENOMEM;
    if (!oom) {
        store_record rec = {
            .event_type = "tool_call",
            .operation_name = name,
            .operation_id = msg->id_text,
            .user_id = m->actor,
            .project_id = tool_str_arg(args, "project_id"),
            .args = args_text ? args_text : "{}",
            .result = result_text,
            .error = error,
            .client = m->client,
        };
        store_receipt r;
        rc = store_append(m->st, &rec, &r, err);
    } else {
        snprintf(err, STORE_ERRLEN, "out of memory");
    }
    cJSON_free(args_text);
    cJSON_free(result_text);
    return rc;
}

/* Open the shared transaction if needed and a savepoint for this request. */
static int begin_request(mcp *m, char *err)
{
    int rc = STORE_OK;
    if (!store_in_transaction(m->st)) rc = store_begin(m->st, err);
    if (rc == STORE_OK) rc = store_savepoint(m->st, err);
    return rc;
}

static void handle_tools_call(mcp *m, const rpc_message *msg, mcp_reply *out)
{
    const cJSON *p = msg->params;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    if (!cJSON_IsObject(p) || !cJSON_IsString(name)) {
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                                    "tools/call needs params.name, a string", NULL);
        return;
    }
    const tool *tl = tools_find(m->tools, name->valuestring);
    if (!tl) {
        char text[320];
        snprintf(text, sizeof text, "unknown tool '%.256s'", name->valuestring);
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS, text, NULL);
        return;
    }
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(p, "arguments");
    int bad_params = given && !cJSON_IsObject(given) && !cJSON_IsNull(given);
    /* Scrub a private copy once: the tool and its tool_call record both see
    ** only the redacted arguments. */
    cJSON *args = cJSON_IsObject(given) ? cJSON_Duplicate(given, 1) : cJSON_CreateObject();
    cJSON *structured = NULL, *summary = NULL;
    char err[STORE_ERRLEN];
    tool_ctx ctx = {.st = m->st, .actor = m->actor, .client = m->client,
                    .sg = m->sg, .trusted_public_key = m->trusted_public_key,
                    .now_us = ts_now_us()};
    int rc = TOOL_EFAIL, recorded = 0;
    if (!args || scrub_tree(args) != 0) {
        snprintf(ctx.err, sizeof ctx.err, "out of memory");
        goto reply;
    }
    /* A read-only log serves reads unrecorded; it said so at start-up. */
    int began = store_readonly(m->st) && !tool_writes(tl)
                    ? STORE_EREADONLY : begin_request(m, err);
    int quiet = began == STORE_EREADONLY && !tool_writes(tl);
    if (bad_params) {
        snprintf(ctx.err, sizeof ctx.err, "params.arguments must be an object");
    } else if (began != STORE_OK && tool_writes(tl)) {
        if (store_readonly(m->st))
            snprintf(ctx.err, sizeof ctx.err,
                     "the audit log is open read-only (--read-only, or the "
                     "database file has no write permission); nothing was written");
        else
            snprintf(ctx.err, sizeof ctx.err, "%s", err);
    } else {
        rc = tools_run(tl, &ctx, args, &structured, &summary);
    }
    if (began == STORE_OK) {
        if (rc != TOOL_OK) {
            /* Keep nothing a failed tool wrote, only the record of it. */
            store_savepoint_rollback(m->st);
            began = store_savepoint(m->st, err);
        }
    }
    if (began == STORE_OK) {
        int src = record_call(m, msg, tool_name(tl), args, summary,
                              rc == TOOL_OK ? NULL : ctx.err, err);
        if (src == STORE_OK) {
            store_savepoint_release(m->st);
            recorded = 1;
        } else {
            store_savepoint_rollback(m->st);
            if (rc == TOOL_OK && tool_writes(tl)) {
                /* An entry whose call cannot be recorded is not kept either. */
                cJSON_Delete(structured);
                structured = NULL;
                rc = TOOL_EFAIL;
                snprintf(ctx.err, sizeof ctx.err,
                         "the call could not be recorded, so nothing was written: %s", err);
            } else {
                diag("could not record the %s call: %s", tool_name(tl), err);
            }
        }
    } else if (!quiet) {
        diag("could not record the %s call: %s", tool_name(tl), err);
    }
reply:
    if (rc != TOOL_OK) {
        cJSON_Delete(structured);
        structured = NULL;
    }
    if (bad_params)
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS, ctx.err, NULL);
    else
        out->line = rpc_reply_result(msg->id, call_result(structured, ctx.err));
    out->acks_write = recorded;
    cJSON_Delete(summary);
    cJSON_Delete(args);
}

static void dispatch(mcp *m, const rpc_message *msg, mcp_reply *out)
{
    const char *method = msg->method;
    if (strcmp(method, "initialize") == 0) {
        out->line = handle_initialize(m, msg);
    } else if (strcmp(method, "ping") == 0) {
        out->line = rpc_reply_result(msg->id, cJSON_CreateObject());
    } else if (strcmp(method, "tools/list") == 0) {
        out->line = rpc_reply_result(msg->id,
                                     cJSON_Duplicate(tools_list_result(m->tools), 1));
    } else if (strcmp(method, "tools/call") == 0) {
        handle_tools_call(m, msg, out);
    } else {
        char text[300];
        snprintf(text, sizeof text, "method not found: '%.200s'", method);
        out->line = rpc_reply_error(msg->id, RPC_METHOD_NOT_FOUND, text, NULL);
    }
    if (!out->line)
        out->line = rpc_reply_error(msg->id, RPC_INTERNAL_ERROR,
                                    "internal error: out of memory", NULL);
}

static int blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r", line[i])) return 0;
    return 1;
}

void mcp_handle(mcp *m, const char *line, size_t len, mcp_reply *out)
{
    memset(out, 0, sizeof *out);
    if (blank(line, len)) return;
    rpc_message msg;
    char *error_reply = NULL;
    rpc_kind kind = rpc_parse(line, len, &m->limits, &msg, &error_reply);
    switch (kind) {
    case RPC_KIND_INVALID:
        out->line = error_reply;
        return;
    case RPC_KIND_BATCH:
        out->line = rpc_reply_error(NULL, RPC_INVALID_REQUEST,
                                    "invalid request: JSON-RPC batches are not "
                                    "supported in this protocol version", NULL);
        break;
    case RPC_KIND_REQUEST:
        dispatch(m, &msg, out);
        if (msg.id) out->id = strdup(msg.id);
        break;
    case RPC_KIND_NOTIFICATION:
    case RPC_KIND_RESPONSE:
        break; /* never answered */
    }
    rpc_message_free(&msg);
}

/* Checkpoint the head if it is at least `min_new` entries past the last. */
static void checkpoint_if(mcp *m, int64_t min_new)
{
    int64_t head;
    char hash[CHAIN_HEX_LEN], err[STORE_ERRLEN];
    if (!m->sg || store_head(m->st, &head, hash, err) != STORE_OK) return;
    if (head - m->checkpointed_seq < min_new || head == 0) return;
    store_checkpoint cp;
    if (checkpoint_now(m->st, m->sg, &cp, err) != STORE_OK) {
        diag("could not write a checkpoint: %s", err);
        return;
    }
    m->checkpointed_seq = cp.seq;
}

void mcp_after_commit(mcp *m)
{
    checkpoint_if(m, m->checkpoint_interval);
}

void mcp_shutdown(mcp *m)
{
    checkpoint_if(m, 1);
}
