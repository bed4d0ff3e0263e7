/*
** tools.h: the MCP tools of the audit trail.
**
** A tool is its three schema files (see schemas.h) and a handler.  This
** module owns the table that joins them: it builds the tools/list result
** once at start-up from the embedded schemas, validates every call's
** arguments against the tool's input schema, and runs the handler.  The
** handlers reach storage only through store.h.
*/
#ifndef DSS_TOOLS_H
#define DSS_TOOLS_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "../integrity/signer.h"
#include "../record/record.h"
#include "../store/store.h"

enum {
    TOOL_OK = 0,
    TOOL_EARG = -1, /* the caller's arguments are wrong; ctx->err says how */
    TOOL_EFAIL = -2 /* the tool could not do its work; ctx->err says why */
};

#define TOOL_ERRLEN 512

/* What a handler may use while it runs.  err receives the message that an
** isError result and the tool_call entry's error field carry. */
typedef struct tool_ctx {
    store *st;          /* for reads */
    recorder *rec;      /* for writes: the call's group (record.h) */
    const char *actor;  /* the session's actor, the default user_id */
    const char *client; /* serialized {name, version} of the client, or NULL */
    const signer *sg;   /* the checkpoint signing key, or NULL */
    const char *trusted_public_key; /* hex, for verify; NULL = sg's */
    const cJSON *input_schema;
    int64_t now_us;
    /* Progress of long work, for notifications/progress; may be NULL. */
    void (*progress)(void *hook_ctx, int64_t done, int64_t total);
    void *hook_ctx;
    int store_code;     /* the STORE_E* code behind a TOOL_EFAIL, if any */
    /* For a handler that writes its result as text (pages of entries): the
    ** buffer to write the reply's text block into in the same pass, the
    ** JSON string holding *out's text, quotes included, byte for byte what
    ** printing *out as a string gives, appended to what is there (the
    ** reply's opening, src/protocol/mcp_call.c); NULL when there is none.
    ** The handler sets text_done when it wrote it.  text_block may be NULL:
    ** then the handler writes none, and the caller escapes *out. */
    jbuf *(*text_block)(void *hook_ctx);
    int text_done;
    char err[TOOL_ERRLEN];
} tool_ctx;

/*
** A handler gets the validated (and already scrubbed) arguments, borrowed,
** and on TOOL_OK hands back two new trees the caller frees: *out, the
** structuredContent conforming to the tool's output schema, and *summary,
** the small result recorded in the tool_call entry.  *out may instead be a
** raw item holding the structured result's JSON text, for results written
** as text rather than built as a tree (pages of entries).
*/
typedef int (*tool_handler)(tool_ctx *ctx, const cJSON *args, cJSON **out,
                            cJSON **summary);

typedef struct tools tools;
typedef struct tool tool;

/* Build the tool table from the embedded schemas.  Returns NULL and a
** message in err if a schema file is missing or malformed.  Free with
** tools_free(). */
tools *tools_new(char *err, size_t errlen);
void tools_free(tools *t);

/* The tools/list result, built once; borrowed. */
const cJSON *tools_list_result(const tools *t);

/* The tool with this name, or NULL; borrowed from the table. */
const tool *tools_find(const tools *t, const char *name);
const char *tool_name(const tool *tl);
/* Whether the tool writes to the audit trail beyond its tool_call entry. */
int tool_writes(const tool *tl);

/* Validate args (borrowed) against the tool's input schema, then run it.
** Returns TOOL_OK, TOOL_EARG or TOOL_EFAIL as the handler does. */
int tools_run(const tool *tl, tool_ctx *ctx, const cJSON *args, cJSON **out,
              cJSON **summary);

/* Handler helpers shared by the tool_*.c files. */
/* An integer argument, or the default its input schema declares. */
int64_t tool_int_arg(const tool_ctx *ctx, const cJSON *args, const char *name);
/* A string argument, or NULL when absent. Borrowed from args. */
const char *tool_str_arg(const cJSON *args, const char *name);
/* Record a store failure in ctx and return TOOL_EFAIL. */
int tool_store_failed(tool_ctx *ctx, int code, const char *err);
/* Where a page ended, as a cursor carries it; tool_cursor_arg() points the
** query's after_* fields into it. */
typedef struct tool_cursor {
    char created_at[TS_BUFLEN];
    char log_id[37];
} tool_cursor;
/* The next_cursor that continues after the last entry of page.  Returns a
** new string the caller frees, or NULL. */
char *tool_cursor_encode(const store_page *page);
/* Decode a cursor made by tool_cursor_encode(): its seq into *seq and the
** rest into *buf.  0, or -1 when c is not such a cursor. */
int tool_cursor_decode(const char *c, int64_t *seq, tool_cursor *buf);
/* Decode the optional 'cursor' argument into q (after_seq, and
** after_created_at and after_log_id pointing into *buf, which the caller
** provides).  TOOL_OK, or TOOL_EARG with ctx->err set. */
int tool_cursor_arg(tool_ctx *ctx, const cJSON *args, store_query *q, tool_cursor *buf);

/* The handlers. */
int tool_log_operation(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_get_operation_history(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_get_audit_trail(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_get_user_activity(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_search_audit_log(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_get_audit_entry(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_verify_audit_log(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_create_checkpoint(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);
int tool_get_inclusion_proof(tool_ctx *ctx, const cJSON *args, cJSON **out, cJSON **summary);

#endif
