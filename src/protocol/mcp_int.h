/*
** mcp_int.h: what the files of the MCP layer share (mcp.c, mcp_call.c,
** mcp_resources.c).  Nothing outside src/protocol/ includes it.
*/
#ifndef DSS_MCP_INT_H
#define DSS_MCP_INT_H

#include "../record/record.h"
#include "../tools/tools.h"
#include "mcp.h"

#define MODERN_VERSION "2026-07-28"

/* One request being served: which era it belongs to and what it asked of
** the server beyond its method (progress, a log level). */
typedef struct mcp_req {
    const rpc_message *msg;
    int modern;                  /* carries 2026-07-28 per-request _meta */
    const char *client;          /* serialized client identity for records */
    char *client_owned;          /* ...when it came from this request's _meta */
    const cJSON *progress_token; /* params._meta.progressToken, borrowed */
    int log_level;               /* per-request level (modern), or -1 */
    int cancelled;               /* the client sent notifications/cancelled */
    int64_t next_cancel_check_us;
} mcp_req;

struct mcp {
    store *st;         /* NULL until a background open finishes */
    recorder *rec;     /* over st, once it is open */
    recorder_options rec_opt;
    const store_options *open_later; /* the deferred open, until mcp_ready() */
    int owns_st;       /* st came from open_later: mcp_free() closes it */
    char *open_error;  /* why the background open failed, or NULL */
    tools *tools;
    char *actor;
    rpc_limits limits;
    char version[16];  /* negotiated by initialize (legacy era) */
    char *client;      /* serialized {name, version} from clientInfo, or NULL */
    const signer *sg;
    const char *trusted_public_key;
    int log_level;     /* set by logging/setLevel (legacy era), or -1 */
    mcp_io io;
    mcp_req *current;  /* the request being served, for log forwarding */
};

/* Cache hints for mcp_result(): none (the result is not cacheable), or a
** freshness in milliseconds.  Lists and descriptions only change with a new
** binary, so an hour is safe; entries never change at all. */
#define MCP_NO_CACHE (-1)
#define MCP_TTL_STATIC 3600000
#define MCP_TTL_VOLATILE 0

/* Add what the request's era requires to a result (resultType, serverInfo,
** cache hints unless ttl_ms is MCP_NO_CACHE) and wrap it in a reply line;
** takes result over.  Caller frees the line. */
char *mcp_result(mcp *m, const mcp_req *rq, cJSON *result, int64_t ttl_ms);

/* A tools/call result with its text block (mcp.c); takes structured and
** text over.  text, when not NULL, is the text block's JSON as a raw item
** (mcp_call.c's reply frame puts a marker there); NULL: the text block is
** structured's text, escaped as a string. */
cJSON *mcp_call_result(cJSON *structured, cJSON *text, const char *error_text);

/* Send notifications/progress when the request asked for it. */
void mcp_progress(mcp *m, const mcp_req *rq, double done, double total,
                  const char *message);

/* Whether the client has cancelled the request (checks at most every few
** milliseconds). */
int mcp_check_cancelled(mcp *m, mcp_req *rq);

/* tools/call, with its tool_call record (mcp_call.c). */
void mcp_call_tool(mcp *m, mcp_req *rq, mcp_reply *out);

/* resources/list, resources/templates/list, resources/read
** (mcp_resources.c).  Returns the reply line, or NULL for "not mine". */
char *mcp_resources(mcp *m, mcp_req *rq, const char *method);

/* The capabilities object this server declares. Caller frees. */
cJSON *mcp_capabilities(void);

#endif
