/*
** rpc.h: JSON-RPC 2.0 envelopes for the stdio transport.
**
** This module turns one received line into a checked request (or the error
** reply it deserves), and turns results and errors back into single-line
** replies.  It knows nothing of MCP: methods, params and results pass
** through it untouched.  Request ids are echoed byte for byte as they
** arrived, so a numeric id such as 1.0 or 12345678901234567890 comes back
** exactly as the client wrote it.
*/
#ifndef DSS_RPC_H
#define DSS_RPC_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum {
    RPC_PARSE_ERROR = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_METHOD_NOT_FOUND = -32601,
    RPC_INVALID_PARAMS = -32602,
    RPC_INTERNAL_ERROR = -32603
};

/* What a received line turned out to be. */
typedef enum rpc_kind {
    RPC_KIND_REQUEST,      /* has an id: must be answered */
    RPC_KIND_NOTIFICATION, /* no id: never answered */
    RPC_KIND_RESPONSE,     /* a reply (result or error): never answered; an error
                              may name no request (id null or absent) */
    RPC_KIND_BATCH,        /* a non-empty array: for the caller to decide */
    RPC_KIND_INVALID       /* *error_reply holds the answer to send */
} rpc_kind;

/* A checked message.  Every pointer is owned by the message and freed by
** rpc_message_free(); method and params point into root. */
typedef struct rpc_message {
    cJSON *root;
    const char *method;
    const cJSON *params; /* NULL when absent */
    char *id;            /* the id's exact JSON text; NULL for notifications and
                            for an error response that names no request */
    char *id_text;       /* the id as plain text (a string id unquoted) */
} rpc_message;

/* Limits applied while checking; zero fields take the defaults. */
typedef struct rpc_limits {
    int max_depth; /* nesting of arrays and objects; default 64 */
} rpc_limits;

/*
** Check one line (without its newline).  For RPC_KIND_INVALID, *error_reply
** receives a reply line the caller sends and frees (parse errors get -32700
** and a null id; well-formed JSON that is no valid request gets -32600).
** For every other kind, *msg is filled and must be freed with
** rpc_message_free(); for RPC_KIND_BATCH only msg->root is set.
*/
rpc_kind rpc_parse(const char *line, size_t len, const rpc_limits *limits,
                   rpc_message *msg, char **error_reply);

/* Check one element of a batch, already parsed, taking ownership of it.
** Its numeric id is echoed as cJSON prints it, not byte for byte. */
rpc_kind rpc_check(cJSON *item, rpc_message *msg, char **error_reply);

void rpc_message_free(rpc_message *msg);

/* Whether line (len bytes) is a notifications/cancelled whose requestId
** equals id (string to string, number to number).  Used to look ahead in
** the input while a long request runs; 0 for anything unparsable. */
int rpc_is_cancellation(const char *line, size_t len, const cJSON *id);

/* Whether line (len bytes) holds only spaces, tabs and CRs: no message,
** skipped by every door (serve, wrap) and never answered. */
int rpc_is_blank(const char *line, size_t len);

/* Where a value lies in validated JSON text (a line rpc_parse() took):
** the exact bytes of the first top-level member `name` of the object in
** text (keys compared decoded, as cJSON does), *n long, or NULL when it
** has none.  cJSON keeps a number as a double; these are its digits as
** they were written. */
const char *rpc_raw_member(const char *text, size_t len, const char *name, size_t *n);

/* The elements of the array in validated JSON text, in order: start with
** *at = NULL; each call returns the next element's exact bytes (*n long)
** and moves *at past it, or returns NULL after the last. */
const char *rpc_raw_element(const char *text, size_t len, const char **at, size_t *n);

/* The key a request id is matched by, from its JSON text (len bytes):
** two ids get the same key exactly when they are the same JSON value,
** however each side spelled it.  Strings by their decoded characters
** ("\u0061" is "a"), numbers by exact value (jsonnum_canonical(): 1.0 is
** 1, 1e2 is 100, 9007199254740993 is not 9007199254740992), anything else
** (no valid id) as cJSON prints it.  Caller frees; NULL when memory ran
** out or the text is not JSON. */
char *rpc_id_key(const char *id, size_t len);

/* A success reply for id (NULL means null), taking ownership of result.
** Returns a new single-line string the caller frees, or NULL on OOM. */
char *rpc_reply_result(const char *id, cJSON *result);

/* An error reply; data (may be NULL) is taken over.  message may quote
** input cut inside a character: invalid UTF-8 in it is mended
** (rpc_text()).  Caller frees. */
char *rpc_reply_error(const char *id, int code, const char *message,
                      cJSON *data);

/* A JSON string item holding s, each sequence of it that is not UTF-8
** replaced by U+FFFD (utf8_mend()), so a message quoting cut input still
** prints as valid JSON text.  Caller frees (cJSON_Delete) or adds it to a
** tree; NULL on OOM. */
cJSON *rpc_text(const char *s);

#endif
