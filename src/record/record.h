/*
** record.h: the one way an event becomes a durable audit entry.
**
** Entries arrive through three doors: `serve` (the audit tools and the
** tool_call record of every call to them), `wrap` (calls relayed to another
** MCP server) and `hook` (an agent client's built-in tools).  Each door
** describes what happened as a record_event and hands it to its recorder,
** which scrubs every field that may hold a secret, serializes the JSON
** fields once (those bytes are what the store keeps and the chain hashes)
** and appends the entry.  So scrubbing, the entry's shape and its identity
** fields are decided here and nowhere else.
**
** The recorder also owns the transaction policy, the same for every door:
**   - a group begins with its first write (recorder_append, or a call that
**     writes); many requests share it, and one commit makes all of it
**     durable (group commit);
**   - a call (serve's tools/call) is a scope inside the group: what a
**     failing call wrote is undone without undoing the others;
**   - nothing is answered or forwarded before its record is durable: a door
**     keeps a ticket (recorder_ticket) for what it must hold back, commits
**     the group, and asks recorder_durable() of each ticket;
**   - signed checkpoints: every checkpoint_interval entries, once the
**     group's answers are out (recorder_done), and of the final head when
**     the recorder closes.
** `hook` writes one event at a time: recorder_append_durable().
**
** Conventions as in store.h: functions return STORE_OK or a negative
** STORE_E* code with a sentence in `err` (STORE_ERRLEN bytes).
*/
#ifndef DSS_RECORD_H
#define DSS_RECORD_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "../integrity/signer.h"
#include "../store/store.h"

/* What happened, as the door saw it.  Strings are borrowed.  The JSON
** trees are borrowed too and are scrubbed in place when appended (unless
** `scrubbed` says they come from arguments recorder_call_begin() scrubbed
** already), so a secret never outlives the append in them. */
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
    const char *error;          /* plain text; like every text field here,
                                   its secrets are redacted when appended */
    const char *client;         /* serialized identity (record_identity) */
    const char *server;         /* serialized identity of a relayed server */
    const char *session_id;
    const char *completes;      /* id of the request entry this completes */
    const char *cwd;
    int has_duration;
    int64_t duration_ms;
    const char *id;             /* the entry's id, chosen by the door
                                   (store_append_as); NULL: a new one */
    int scrubbed;               /* the trees are parts of a call's
                                   arguments, scrubbed by recorder_call_begin() */
} record_event;

/* ---- The recorder ------------------------------------------------------ */

typedef struct recorder recorder;

/* Someone following what the recorder makes durable: serve's and wrap's
** background shipper (--ship-to).  opened: the store is open and the
** recorder made over it (the door may have opened the store late, as
** serve does after initialize); committed: a commit made entries durable;
** closing: the recorder is closing, after its final checkpoint.  Each may
** be NULL; they are called on the door's thread and must neither block
** for long nor call the recorder. */
typedef struct recorder_watch {
    void (*opened)(void *ctx, store *st);
    void (*committed)(void *ctx);
    void (*closing)(void *ctx);
    void *ctx;
} recorder_watch;

typedef struct recorder_options {
    const signer *sg;            /* signs checkpoints, borrowed; NULL: none */
    int64_t checkpoint_interval; /* entries between checkpoints; 0 = 1000 */
    recorder_watch watch;        /* all NULL: nobody follows */
} recorder_options;

/* A recorder over st (borrowed; it must outlive the recorder).  opt may be
** NULL (no checkpoints).  With a key, the log's checkpoint count starts at
** its newest checkpoint and the key is recorded with the log (a mismatch
** is reported on stderr only: the agent's work comes first, and verify
** shows it).  NULL when memory runs out.  Close with recorder_close(). */
recorder *recorder_open(store *st, const recorder_options *opt);

/* Roll back a group never committed (nothing of it was acknowledged), sign
** a checkpoint of the final head if it moved since the last one, and free.
** NULL is fine. */
void recorder_close(recorder *rc);

/* The store written to, for the door's reads. */
store *recorder_store(const recorder *rc);

/*
** Append ev to the current group, beginning it when none is open; the
** entry is durable once recorder_commit() returns STORE_OK.  Inside a call
** (see below) a failure undoes nothing but the failed statement, and the
** call decides.  Outside a call a failure loses the whole group: it is
** rolled back, every later append fails with the same sentence, and
** recorder_commit() reports it (wrap refuses the group's requests then).
** out may be NULL.
*/
int recorder_append(recorder *rc, record_event *ev, store_receipt *out, char *err);

/* The ticket of the writes made so far in the open group, or 0 when there
** is none (or it failed).  Kept beside an answer to hold back. */
int64_t recorder_ticket(const recorder *rc);

/* Whether the group holds writes (or a failure) that recorder_commit()
** must settle: 1 or 0. */
int recorder_pending(const recorder *rc);

/* Make the group durable.  STORE_OK: every ticket of the group is durable
** (also when nothing was written).  Otherwise none is, and err says why.
** Either way the next write begins a new group. */
int recorder_commit(recorder *rc, char *err);

/* After recorder_commit(): whether the writes of ticket are durable, so the
** answer or request held with it may go.  When not, *why (may be NULL)
** points at a sentence saying what happened, owned by the recorder and
** valid until the next commit. */
int recorder_durable(const recorder *rc, int64_t ticket, const char **why);

/* Roll the group back without committing (nothing of it was acknowledged). */
void recorder_abandon(recorder *rc);

/* The door has sent what the last commit let through: time for what the
** recorder deferred so as not to delay it (a signed checkpoint once
** checkpoint_interval entries were written since the last).  Failures are
** reported on stderr only: the entries are durable already. */
void recorder_done(recorder *rc);

/* The door has had nothing to do for a while: upkeep that would otherwise
** delay a commit (see store_idle()).  A failure loses nothing. */
int recorder_idle(recorder *rc, char *err);

/* Sign a checkpoint of the current head now, inside the group when one is
** open (the create_checkpoint tool), else in a transaction of its own.
** STORE_EINVAL when the recorder has no key. */
int recorder_checkpoint(recorder *rc, store_checkpoint *cp, char *err);

/*
** One call of a tool, recorded as one entry of its own beside whatever the
** tool writes (serve's tools/call):
**
**     recorder_call c;
**     recorder_call_begin(rc, &c, args, writes, err);  scrubs args
**     ... the tool runs on the scrubbed args, appending with recorder_append()
**     recorder_call_end(rc, &c, tool_ok, &ev, err);    the call's record
**
** A call that writes more than its record gets a savepoint: if the tool
** fails, what it wrote is undone and only the record of the attempt is
** appended; if the record cannot be appended, nothing of the call is kept
** (an entry must never exist without the call that made it).  A read
** appends only its record, and a failed append undoes itself, so it needs
** no savepoint (which costs a journal and a call into every virtual table).
*/
typedef struct recorder_call {
    int scrubbed;        /* the arguments were scrubbed: the tool may run */
    int savepoint;       /* the call's writes are in a savepoint of their own */
    int reads_committed; /* the call writes only its record, and nothing
                            uncommitted was in the group when it began: what
                            it read stays true if the commit fails */
    int64_t ticket;      /* after a successful recorder_call_end() */
} recorder_call;

/*
** Scrub args in place (the tool and its record see only the redacted
** arguments), then open the call's scope, beginning the group if needed.
** writes: the tool writes entries of its own.  Returns STORE_OK;
** STORE_ENOMEM when the arguments could not be scrubbed (c->scrubbed is 0:
** the tool must not run); STORE_EREADONLY for a read on a read-only store
** (it may run, unrecorded); or the code and sentence of why the group
** could not begin.
*/
int recorder_call_begin(recorder *rc, recorder_call *c, cJSON *args, int writes,
                        char *err);

/* Only after recorder_call_begin() returned STORE_OK: close the call's
** scope.  When the tool failed (tool_ok 0), what it wrote is undone first;
** then ev, the call's record, is appended.  STORE_OK fills c->ticket;
** otherwise nothing of the call is kept and err says why. */
int recorder_call_end(recorder *rc, recorder_call *c, int tool_ok, record_event *ev,
                      char *err);

/* ev in a group of its own, committed (durable) before it returns: for
** doors that write one event at a time (`hook`).  Checkpoints as after any
** commit.  out may be NULL. */
int recorder_append_durable(recorder *rc, record_event *ev, store_receipt *out,
                            char *err);

/* ---- What a door records ----------------------------------------------- */

/* The serialized, scrubbed {name, version} of an MCP clientInfo or
** serverInfo object (borrowed), or NULL when it names neither.  The
** caller frees the text with free(). */
char *record_identity(const cJSON *info);

/* The serialized, scrubbed {name, version, url} of a relayed server, each
** member present when not NULL (url: a remote server's, already without
** credentials or query), or NULL when all are.  The caller frees it. */
char *record_server_identity(const char *name, const char *version, const char *url);

/* A plain text as the trail keeps it: every secret its value patterns
** find redacted, as append does to each text field of an event (its type,
** names, ids, user, project, session, folder and error).  *out is s itself
** when s is NULL or holds no secret; otherwise a redacted copy, which is
** also put in *owned for the caller to free (*owned is NULL otherwise).
** A door that looks entries up by a text it will store (hook's pre event,
** by session and tool) looks them up by this form.  0, or -1 when memory
** ran out. */
int record_text(const char *s, const char **out, char **owned);

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
