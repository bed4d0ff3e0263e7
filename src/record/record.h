/*
** record.h: the one way an event becomes an audit entry.
**
** Entries arrive through three doors: `serve` (the audit tools and the
** tool_call record of every call to them), `wrap` (calls relayed to another
** MCP server) and `hook` (an agent client's built-in tools).  All three
** describe what happened as a record_event and call record_append(), which
** scrubs every field that may hold a secret, serializes the JSON fields
** once (those bytes are what the store keeps and the chain hashes) and
** appends the entry inside the caller's transaction.  So scrubbing, the
** entry's shape and its identity fields are decided here and nowhere else.
**
** Conventions as in store.h: functions return STORE_OK or a negative
** STORE_E* code with a sentence in `err` (STORE_ERRLEN bytes).
*/
#ifndef DSS_RECORD_H
#define DSS_RECORD_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "../store/store.h"

/* What happened, as the door saw it.  Strings are borrowed.  The JSON
** trees are borrowed too and are scrubbed in place (unless `scrubbed` says
** the door already did it), so a secret never outlives this call in them. */
typedef struct record_event {
    const char *event_type;     /* required */
    const char *operation_name; /* required */
    const char *operation_id;
    const char *user_id;
    const char *project_id;
    cJSON *args;                /* NULL is stored as {} */
    cJSON *result;
    cJSON *before_state;
    cJSON *after_state;
    const char *error;          /* plain text; its secrets are redacted */
    const char *client;         /* serialized identity (record_identity) */
    const char *server;         /* serialized identity of a relayed server */
    const char *session_id;
    const char *completes;      /* id of the request entry this completes */
    const char *cwd;
    int has_duration;
    int64_t duration_ms;
    int scrubbed;               /* the trees are scrubbed already */
} record_event;

/* Scrub, serialize and append ev inside the open transaction (see
** store_append()); the entry is durable once the caller commits. */
int record_append(store *st, record_event *ev, store_receipt *out, char *err);

/* record_append() in a transaction of its own, committed (durable) before
** it returns: for doors that write one event at a time (`hook`). */
int record_append_durable(store *st, record_event *ev, store_receipt *out,
                          char *err);

/* The serialized, scrubbed {name, version} of an MCP clientInfo or
** serverInfo object (borrowed), or NULL when it names neither.  The
** caller frees the text with free(). */
char *record_identity(const cJSON *info);

/* What of a successful result is kept (`--record-results`). */
typedef enum record_results {
    RECORD_RESULTS_SUMMARY = 0, /* content types and sizes, structuredContent
                                   keys, isError */
    RECORD_RESULTS_FULL,        /* the scrubbed result, truncated past
                                   RECORD_FULL_MAX_BYTES */
    RECORD_RESULTS_NONE
} record_results;

/* Results kept in full are cut past this many bytes of JSON text. */
#define RECORD_FULL_MAX_BYTES (64 * 1024)

/* Parse a --record-results word ("summary", "full", "none"); 0, or -1 when
** it is none of them. */
int record_results_parse(const char *word, record_results *out);

/*
** What to store of `result` (borrowed; an MCP CallToolResult or any JSON
** value a tool returned) under mode:
**   summary: {"isError": bool, "content": [{"type": T, "bytes": N}, ...],
**             "structuredContent_keys": [...]} (members present when the
**             result has them; a non-object result is {"type": T, "bytes": N})
**   full:    the result itself, scrubbed; when its JSON text exceeds
**            RECORD_FULL_MAX_BYTES, {"truncated": true, "bytes": N,
**            "text": the first bytes of the scrubbed text, cut at a UTF-8
**            character boundary}
**   none:    NULL (nothing is stored).
** Returns a new tree the caller frees with cJSON_Delete(); NULL for none,
** and NULL with *oom set when memory ran out.
*/
cJSON *record_result(const cJSON *result, record_results mode, int *oom);

#endif
