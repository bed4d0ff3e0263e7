/*
** mcp.c: MCP lifecycle, eras, method dispatch, logging and batches.
**
** The server is dual-era.  Legacy clients open with initialize and get the
** revision they ask for among 2024-11-05 .. 2025-11-25 (else 2025-11-25);
** requests arriving before initialize are served under 2025-11-25 rather
** than refused.  Modern clients (2026-07-28) send no handshake: every
** request carries its protocol version, capabilities and identity in
** params._meta, and is served statelessly, its result marked with
** resultType (and cache hints where that revision requires them).  Both
** eras may share one stdio stream.
*/
#include "mcp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../record/record.h"
#include "../scrub/scrub.h"
#include "../util/diag.h"
#include "../util/jbuf.h"
#include "../util/ts.h"
#include "../util/utf8.h"

#ifndef DSS_VERSION
#define DSS_VERSION "0.0.0"
#endif

static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                       "2024-11-05"};
#define LATEST_VERSION "2025-11-25"

/* Syslog severities, as MCP logging names them, least severe first. */
static const char *const log_levels[] = {"debug", "info", "notice", "warning",
                                         "error", "critical", "alert", "emergency"};
#define LOG_WARNING 3

static void forward_diag(void *ctx, const char *text);
static cJSON *server_info(void);

static const char instructions[] =
    "dss-audit-mcp keeps a tamper-evident, append-only audit trail of what "
    "agents do. Call log_operation whenever you perform or attempt an "
    "operation someone may later need to account for (credentials, project "
    "changes, syncs, state transitions, errors, security events), with "
    "before/after snapshots for changes; secrets are redacted before storage. "
    "Use get_operation_history, get_audit_trail, search_audit_log and "
    "get_user_activity to answer what happened, when and by whom; every call "
    "to this server is itself recorded.";

/* The recorder over the store just opened: 0, or -1 when memory ran out. */
static int open_recorder(mcp *m)
{
    m->rec = recorder_open(m->st, &m->rec_opt);
    return m->rec ? 0 : -1;
}

mcp *mcp_new(const mcp_options *opt, char *err, size_t errlen)
{
    mcp *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->st = opt->st;
    m->open_later = opt->open_later;
    m->limits = opt->limits;
    m->actor = strdup(opt->actor ? opt->actor : "unknown");
    m->sg = opt->sg;
    m->trusted_public_key = opt->trusted_public_key ? opt->trusted_public_key
                            : opt->sg ? opt->sg->pk_hex : NULL;
    m->rec_opt = (recorder_options){.sg = opt->sg,
                                    .checkpoint_interval = opt->checkpoint_interval,
                                    .watch = opt->watch};
    m->log_level = -1;
    m->io = opt->io;
    snprintf(m->version, sizeof m->version, "%s", LATEST_VERSION);
    if (!m->actor || (m->st && open_recorder(m) != 0)) {
        snprintf(err, errlen, "out of memory");
        mcp_free(m);
        return NULL;
    }
    diag_set_sink(forward_diag, m);
    return m;
}

void mcp_free(mcp *m)
{
    if (!m) return;
    diag_set_sink(NULL, NULL);
    recorder_close(m->rec);
    if (m->owns_st) store_close(m->st);
    free(m->open_error);
    tools_free(m->tools);
    free(m->actor);
    free(m->client);
    free(m);
}

recorder *mcp_recorder(const mcp *m) { return m->rec; }

int mcp_open_failed(const mcp *m) { return !m->rec && !m->open_later; }

int mcp_ready(mcp *m, char *err, size_t errlen)
{
    /* The tool table (schemas parsed and checked) is built here rather than
    ** in mcp_new(), so that initialize does not wait for it either. */
    char why_tools[256];
    if (!m->tools && !(m->tools = tools_new(why_tools, sizeof why_tools))) {
        if (err) snprintf(err, errlen, "cannot start: %s", why_tools);
        return -1;
    }
    if (m->open_later) {
        char why[STORE_ERRLEN], text[STORE_ERRLEN + 1024];
        const store_options *o = m->open_later;
        char shown[512];
        store_redact_path(o->path, shown, sizeof shown);
        m->open_later = NULL;
        if (store_open(o, &m->st, why) == STORE_OK) {
            m->owns_st = 1;
            if (open_recorder(m) == 0 && store_readonly(m->st))
                diag("serving %s read-only: queries work, every write is refused", shown);
        } else {
            snprintf(text, sizeof text, "cannot open the audit database %s: %s", shown,
                     why);
            m->open_error = strdup(text); /* NULL says "out of memory" below */
        }
    }
    if (!m->rec) {
        if (err) snprintf(err, errlen, "%s", m->open_error ? m->open_error : "out of memory");
        return -1;
    }
    return 0;
}

void mcp_reply_free(mcp_reply *r)
{
    if (!r) return;
    for (int i = 0; i < r->nparts; i++) mcp_reply_free(&r->parts[i]);
    free(r->parts);
    free(r->line);
    free(r->id);
    memset(r, 0, sizeof *r);
}

const char *mcp_reply_line(mcp_reply *r)
{
    if (!r->is_batch || r->line) return r->line;
    size_t total = 2;
    int n = 0;
    for (int i = 0; i < r->nparts; i++)
        if (r->parts[i].line) total += strlen(r->parts[i].line) + 1, n++;
    if (n == 0) return NULL; /* only notifications: JSON-RPC sends nothing */
    char *line = malloc(total + 1), *w = line;
    if (!line) return NULL;
    *w++ = '[';
    for (int i = 0, k = 0; i < r->nparts; i++) {
        if (!r->parts[i].line) continue;
        if (k++) *w++ = ',';
        size_t len = strlen(r->parts[i].line);
        memcpy(w, r->parts[i].line, len);
        w += len;
    }
    *w++ = ']';
    *w = '\0';
    r->line = line;
    return line;
}

char *mcp_too_long_reply(size_t limit)
{
    char msg[128];
    snprintf(msg, sizeof msg,
             "invalid request: message longer than the limit of %zu bytes", limit);
    return rpc_reply_error(NULL, RPC_INVALID_REQUEST, msg, NULL);
}

/* A tools/call result: the text block always, structuredContent on success.
** The structured result (a tree, or a raw item a tool wrote as text) is
** serialized once and held once: structuredContent owns the text and
** splices it in raw, and the text block refers to the same bytes (a reply
** to a read holds hundreds of kilobytes of entries), unless the caller
** gives the text block itself. */
cJSON *mcp_call_result(cJSON *structured, cJSON *text, const char *error_text)
{
    cJSON *r = cJSON_CreateObject(), *content = cJSON_CreateArray(),
          *block = cJSON_CreateObject(), *raw = NULL;
    int ok = structured != NULL;
    if (!ok) {
        cJSON_Delete(text);
        text = NULL;
    }
    if (ok && cJSON_IsRaw(structured)) {
        raw = structured; /* already text */
    } else if (ok) {
        jbuf b = {0};
        jbuf_tree(&b, structured);
        raw = jbuf_take_raw(&b);
        cJSON_Delete(structured);
    }
    if (!text)
        text = raw ? cJSON_CreateStringReference(raw->valuestring)
                   : ok ? NULL : rpc_text(error_text);
    if (!r || !content || !block || !text || (ok && !raw)) {
        cJSON_Delete(r);
        cJSON_Delete(content);
        cJSON_Delete(block);
        cJSON_Delete(text);
        cJSON_Delete(raw);
        return NULL;
    }
    cJSON_AddStringToObject(block, "type", "text");
    cJSON_AddItemToObject(block, "text", text);
    cJSON_AddItemToArray(content, block);
    cJSON_AddItemToObject(r, "content", content);
    if (raw) cJSON_AddItemToObject(r, "structuredContent", raw);
    cJSON_AddBoolToObject(r, "isError", !ok);
    return r;
}

void mcp_reply_write_failed(mcp_reply *r, const char *why)
{
    if (r->is_batch) {
        for (int i = 0; i < r->nparts; i++)
            if (r->parts[i].acks_write) mcp_reply_write_failed(&r->parts[i], why);
        r->acks_write = 0;
        return;
    }
    if (r->unrecorded_ok) {
        diag("the %s call was answered but its tool_call record was lost: %s",
             r->unrecorded_ok, why);
        r->acks_write = 0;
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg,
             "the call was not recorded and nothing it wrote was kept: %s", why);
    free(r->line);
    r->line = rpc_reply_result(r->id, mcp_call_result(NULL, NULL, msg));
    r->acks_write = 0;
}

void mcp_reply_settle(mcp_reply *r, const recorder *rc)
{
    const char *why;
    if (r->is_batch) {
        for (int i = 0; i < r->nparts; i++) mcp_reply_settle(&r->parts[i], rc);
        return;
    }
    if (r->acks_write && !recorder_durable(rc, r->tx, &why)) mcp_reply_write_failed(r, why);
}

static const char *negotiate(const char *asked)
{
    for (size_t i = 0; asked && i < sizeof versions / sizeof *versions; i++)
        if (strcmp(asked, versions[i]) == 0) return versions[i];
    return LATEST_VERSION;
}

static cJSON *server_info(void)
{
    cJSON *si = cJSON_CreateObject();
    if (!si) return NULL;
    cJSON_AddStringToObject(si, "name", "dss-audit-mcp");
    cJSON_AddStringToObject(si, "title", "DSS Audit Trail");
    cJSON_AddStringToObject(si, "version", DSS_VERSION);
    return si;
}

cJSON *mcp_capabilities(void)
{
    cJSON *caps = cJSON_CreateObject();
    if (!caps) return NULL;
    cJSON *t = cJSON_AddObjectToObject(caps, "tools");
    cJSON_AddBoolToObject(t, "listChanged", 0);
    cJSON *r = cJSON_AddObjectToObject(caps, "resources");
    cJSON_AddBoolToObject(r, "listChanged", 0);
    cJSON_AddBoolToObject(r, "subscribe", 0);
    cJSON_AddObjectToObject(caps, "logging");
    return caps;
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
    free(m->client);
    m->client = record_identity(cJSON_GetObjectItemCaseSensitive(p, "clientInfo"));

    cJSON *r = cJSON_CreateObject();
    if (!r) return NULL;
    cJSON_AddStringToObject(r, "protocolVersion", m->version);
    cJSON_AddItemToObject(r, "capabilities", mcp_capabilities());
    cJSON_AddItemToObject(r, "serverInfo", server_info());
    cJSON_AddStringToObject(r, "instructions", instructions);
    return rpc_reply_result(msg->id, r);
}

/* ---- Results, notifications and cancellation ---- */

char *mcp_result(mcp *m, const mcp_req *rq, cJSON *result, int64_t ttl_ms)
{
    (void)m;
    if (result && rq && rq->modern) {
        cJSON_AddStringToObject(result, "resultType", "complete");
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(result, "_meta");
        if (!meta) meta = cJSON_AddObjectToObject(result, "_meta");
        if (meta) cJSON_AddItemToObject(meta, "io.modelcontextprotocol/serverInfo", server_info());
        if (ttl_ms >= 0) {
            cJSON_AddNumberToObject(result, "ttlMs", (double)ttl_ms);
            cJSON_AddStringToObject(result, "cacheScope", "public");
        }
    }
    return rpc_reply_result(rq ? rq->msg->id : NULL, result);
}

/* Send one notification line through the transport, taking params over. */
static void emit_notification(mcp *m, const char *method, cJSON *params)
{
    if (!m->io.emit || !params) {
        cJSON_Delete(params);
        return;
    }
    cJSON *n = cJSON_CreateObject();
    char *line = NULL;
    if (n) {
        cJSON_AddStringToObject(n, "jsonrpc", "2.0");
        cJSON_AddStringToObject(n, "method", method);
        cJSON_AddItemToObject(n, "params", params);
        params = NULL;
        line = cJSON_PrintUnformatted(n);
    }
    if (line) m->io.emit(m->io.ctx, line);
    cJSON_free(line);
    cJSON_Delete(n);
    cJSON_Delete(params);
}

void mcp_progress(mcp *m, const mcp_req *rq, double done, double total,
                  const char *message)
{
    if (!rq || !rq->progress_token) return;
    cJSON *p = cJSON_CreateObject();
    if (!p) return;
    cJSON_AddItemToObject(p, "progressToken", cJSON_Duplicate(rq->progress_token, 1));
    cJSON_AddNumberToObject(p, "progress", done);
    if (total > 0) cJSON_AddNumberToObject(p, "total", total);
    if (message) cJSON_AddStringToObject(p, "message", message);
    emit_notification(m, "notifications/progress", p);
}

int mcp_check_cancelled(mcp *m, mcp_req *rq)
{
    if (!rq || rq->cancelled) return rq ? rq->cancelled : 0;
    if (!m->io.cancelled || !rq->msg->root) return 0;
    /* Looking ahead costs a poll(); a few times a second is plenty. */
    int64_t now = ts_now_us();
    if (now < rq->next_cancel_check_us) return 0;
    rq->next_cancel_check_us = now + 20000;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rq->msg->root, "id");
    if (id && m->io.cancelled(m->io.ctx, id)) rq->cancelled = 1;
    return rq->cancelled;
}

/* diag() messages also go to the client as notifications/message: to a
** legacy client once it chose a level with logging/setLevel, to a modern
** one for the request that set io.modelcontextprotocol/logLevel. */
static void forward_diag(void *ctx, const char *text)
{
    mcp *m = ctx;
    int level = m->current && m->current->modern ? m->current->log_level
                                                 : m->log_level;
    if (level < 0 || LOG_WARNING < level) return;
    cJSON *p = cJSON_CreateObject();
    if (!p) return;
    cJSON_AddStringToObject(p, "level", log_levels[LOG_WARNING]);
    cJSON_AddStringToObject(p, "logger", "dss-audit-mcp");
    cJSON_AddStringToObject(p, "data", text);
    emit_notification(m, "notifications/message", p);
}

static int level_index(const char *name)
{
    for (int i = 0; name && i < (int)(sizeof log_levels / sizeof *log_levels); i++)
        if (strcmp(name, log_levels[i]) == 0) return i;
    return -1;
}

/* ---- Requests ---- */

/*
** Work out the request's era from params._meta.  Returns NULL when the
** request may be served, or the error reply to send instead: -32602 for a
** modern request missing a required field, -32022 for a version this
** server does not speak.
*/
static char *open_request(mcp *m, const rpc_message *msg, mcp_req *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->msg = msg;
    rq->client = m->client;
    rq->log_level = -1;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(msg->params, "_meta");
    if (meta && !cJSON_IsObject(meta))
        return rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                               "params._meta must be an object", NULL);
    rq->progress_token = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    if (rq->progress_token && !cJSON_IsString(rq->progress_token) &&
        !cJSON_IsNumber(rq->progress_token))
        rq->progress_token = NULL;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(meta, "io.modelcontextprotocol/protocolVersion");
    int discover = strcmp(msg->method, "server/discover") == 0;
    if (!ver && !discover) return NULL; /* legacy era */
    if (!cJSON_IsString(ver))
        return rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                               "params._meta[\"io.modelcontextprotocol/protocolVersion\"] "
                               "must be a protocol version string", NULL);
    if (strcmp(ver->valuestring, MODERN_VERSION) != 0) {
        cJSON *data = cJSON_CreateObject(), *sup = cJSON_CreateArray();
        if (data && sup) {
            cJSON_AddItemToArray(sup, cJSON_CreateString(MODERN_VERSION));
            for (size_t i = 0; i < sizeof versions / sizeof *versions; i++)
                cJSON_AddItemToArray(sup, cJSON_CreateString(versions[i]));
            cJSON_AddItemToObject(data, "supported", sup);
            sup = NULL;
            cJSON_AddStringToObject(data, "requested", ver->valuestring);
        }
        cJSON_Delete(sup);
        return rpc_reply_error(msg->id, -32022, "Unsupported protocol version", data);
    }
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(meta, "io.modelcontextprotocol/clientCapabilities");
    if (!cJSON_IsObject(caps))
        return rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                               "params._meta[\"io.modelcontextprotocol/clientCapabilities\"] "
                               "must be an object", NULL);
    rq->modern = 1;
    rq->client = rq->client_owned = record_identity(
        cJSON_GetObjectItemCaseSensitive(meta, "io.modelcontextprotocol/clientInfo"));
    const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(meta, "io.modelcontextprotocol/logLevel");
    if (lvl) {
        rq->log_level = level_index(cJSON_IsString(lvl) ? lvl->valuestring : NULL);
        if (rq->log_level < 0)
            return rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                                   "params._meta[\"io.modelcontextprotocol/logLevel\"] "
                                   "is not a log level", NULL);
    }
    return NULL;
}

static char *handle_discover(mcp *m, mcp_req *rq)
{
    cJSON *r = cJSON_CreateObject(), *sup = cJSON_CreateArray();
    if (!r || !sup) {
        cJSON_Delete(r);
        cJSON_Delete(sup);
        return NULL;
    }
    cJSON_AddItemToArray(sup, cJSON_CreateString(MODERN_VERSION));
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++)
        cJSON_AddItemToArray(sup, cJSON_CreateString(versions[i]));
    cJSON_AddItemToObject(r, "supportedVersions", sup);
    cJSON_AddItemToObject(r, "capabilities", mcp_capabilities());
    cJSON_AddStringToObject(r, "instructions", instructions);
    return mcp_result(m, rq, r, MCP_TTL_STATIC);
}

static char *handle_set_level(mcp *m, mcp_req *rq)
{
    const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(rq->msg->params, "level");
    int i = level_index(cJSON_IsString(lvl) ? lvl->valuestring : NULL);
    if (i < 0)
        return rpc_reply_error(rq->msg->id, RPC_INVALID_PARAMS,
                               "params.level must be one of debug, info, notice, "
                               "warning, error, critical, alert, emergency", NULL);
    m->log_level = i;
    return mcp_result(m, rq, cJSON_CreateObject(), MCP_NO_CACHE);
}

static void dispatch(mcp *m, mcp_req *rq, mcp_reply *out)
{
    const rpc_message *msg = rq->msg;
    const char *method = msg->method;
    if (msg->params && !cJSON_IsObject(msg->params)) {
        out->line = rpc_reply_error(msg->id, RPC_INVALID_PARAMS,
                                    "params must be an object", NULL);
    } else if (strcmp(method, "initialize") == 0) {
        out->line = handle_initialize(m, msg);
    } else if (strcmp(method, "server/discover") == 0) {
        out->line = handle_discover(m, rq);
    } else if (strcmp(method, "ping") == 0) {
        out->line = mcp_result(m, rq, cJSON_CreateObject(), MCP_NO_CACHE);
    } else if (strcmp(method, "tools/list") == 0) {
        out->line = mcp_result(m, rq, cJSON_Duplicate(tools_list_result(m->tools), 1),
                               MCP_TTL_STATIC);
    } else if (strcmp(method, "tools/call") == 0) {
        mcp_call_tool(m, rq, out);
    } else if (strcmp(method, "logging/setLevel") == 0) {
        out->line = handle_set_level(m, rq);
    } else if (!(out->line = mcp_resources(m, rq, method))) {
        char text[300];
        snprintf(text, sizeof text, "method not found: '%.*s'", utf8_cut(method, 200), method);
        out->line = rpc_reply_error(msg->id, RPC_METHOD_NOT_FOUND, text, NULL);
    }
    if (!out->line && !rq->cancelled)
        out->line = rpc_reply_error(msg->id, RPC_INTERNAL_ERROR,
                                    "internal error: out of memory", NULL);
}

/* Serve one checked request or notification into out. */
static void serve(mcp *m, rpc_kind kind, const rpc_message *msg, mcp_reply *out)
{
    if (kind != RPC_KIND_REQUEST) return; /* notifications and responses */
    if (strcmp(msg->method, "initialize") != 0 && mcp_ready(m, NULL, 0) != 0)
        return; /* no database: the server stops, answering nothing more */
    mcp_req rq;
    out->line = open_request(m, msg, &rq);
    if (!out->line) {
        m->current = &rq;
        dispatch(m, &rq, out);
        m->current = NULL;
        /* A cancelled request is never answered. */
        if (rq.cancelled) {
            free(out->line);
            out->line = NULL;
            out->acks_write = 0;
        }
    }
    if (msg->id && out->line) out->id = strdup(msg->id);
    free(rq.client_owned);
}

/* A JSON-RPC batch: only for sessions that negotiated 2025-03-26, the one
** revision that allowed them; initialize may not be part of one. */
static void serve_batch(mcp *m, cJSON *root, mcp_reply *out)
{
    int n = cJSON_GetArraySize(root);
    if (strcmp(m->version, "2025-03-26") != 0) {
        out->line = rpc_reply_error(NULL, RPC_INVALID_REQUEST,
                                    "invalid request: JSON-RPC batches are only "
                                    "accepted in protocol version 2025-03-26", NULL);
        return;
    }
    out->is_batch = 1;
    out->parts = calloc((size_t)n, sizeof *out->parts);
    if (!out->parts) {
        out->is_batch = 0;
        out->line = rpc_reply_error(NULL, RPC_INTERNAL_ERROR, "internal error: out of memory", NULL);
        return;
    }
    out->nparts = n;
    for (int i = 0; i < n; i++) {
        cJSON *item = cJSON_DetachItemFromArray(root, 0);
        rpc_message msg;
        char *error_reply = NULL;
        rpc_kind kind = rpc_check(item, &msg, &error_reply);
        mcp_reply *part = &out->parts[i];
        if (kind == RPC_KIND_INVALID) {
            part->line = error_reply;
            continue;
        }
        if (kind == RPC_KIND_REQUEST && strcmp(msg.method, "initialize") == 0)
            part->line = rpc_reply_error(msg.id, RPC_INVALID_REQUEST,
                                         "invalid request: initialize may not be "
                                         "part of a batch", NULL);
        else
            serve(m, kind, &msg, part);
        out->acks_write |= part->acks_write;
        rpc_message_free(&msg);
    }
}

void mcp_handle(mcp *m, const char *line, size_t len, mcp_reply *out)
{
    memset(out, 0, sizeof *out);
    if (rpc_is_blank(line, len)) return;
    rpc_message msg;
    char *error_reply = NULL;
    rpc_kind kind = rpc_parse(line, len, &m->limits, &msg, &error_reply);
    if (kind == RPC_KIND_INVALID) {
        out->line = error_reply;
        return;
    }
    if (kind == RPC_KIND_BATCH) serve_batch(m, msg.root, out);
    else serve(m, kind, &msg, out);
    rpc_message_free(&msg);
}
