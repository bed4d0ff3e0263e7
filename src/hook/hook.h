/*
** hook.h: one agent-client hook event into the audit trail.
**
** Agent clients (Claude Code, Cursor, Gemini CLI, GitHub Copilot CLI, VS
** Code) run a command before and after each built-in tool use and write the
** event to its stdin as one JSON object.  `dss-audit-mcp hook` is that
** command: hook_run() reads the event, recognizes the client and the event,
** maps it onto a record_event and appends it durably through the one
** recording path (src/record), then answers on stdout and with its exit
** status as that client expects.  A post event is linked to its pre event
** (`completes`) by the tool-use id within the session.  The field names of
** each client are those of /work/shared/reference/hooks.md; docs/hooks.md
** is the reference for people.
**
** The agent comes first: whatever goes wrong (bad input, a locked or full
** database) hook_run() warns with one line on stderr and lets the tool run,
** unless fail_closed is set and the event is a pre event, which is then
** blocked in the client's own way.
*/
#ifndef DSS_HOOK_H
#define DSS_HOOK_H

#include <stddef.h>
#include <stdio.h>

#include "../record/record.h"
#include "../store/store.h"

typedef enum hook_client {
    HOOK_CLIENT_AUTO = 0,
    HOOK_CLIENT_CLAUDE,
    HOOK_CLIENT_CURSOR,
    HOOK_CLIENT_GEMINI,
    HOOK_CLIENT_COPILOT,
    HOOK_CLIENT_VSCODE
} hook_client;

/* The largest event read from stdin; a longer one is refused whole. */
#define HOOK_MAX_EVENT_BYTES (8u << 20)

typedef struct hook_options {
    hook_client client;     /* AUTO: recognized from the event's fields */
    const char *actor;      /* --actor or DSS_AUDIT_ACTOR, or NULL */
    const char *fallback_user; /* user_id when neither actor nor e-mail */
    int fail_closed;        /* block a pre event that cannot be recorded */
    int record_prompts;     /* keep the (scrubbed) prompt text */
    record_results results; /* what of a tool's output is kept */
    size_t max_bytes;       /* 0: HOOK_MAX_EVENT_BYTES */
    int max_depth;          /* nesting limit of the event; 0: 64 */
    const char *fail_reason; /* set: the event is read and answered as one
                                that could not be recorded, for this reason
                                (a setup error found before hook_run) */
    const char *event_id;   /* the entry's id (a lower-case UUID) chosen by
                               dss-audit-mcp-hook before it handed the event
                               to a recorder; NULL: a new one */
    int event_id_retry;     /* an entry with event_id already present is this
                               event, recorded by a recorder that did not
                               live to answer: it counts as recorded (and is
                               made durable), nothing is appended */
} hook_options;

/* Parse a --client word ("auto", "claude-code", "cursor", "gemini",
** "copilot", "vscode"); 0, or -1 when it is none of them. */
int hook_client_parse(const char *word, hook_client *out);

/* The --client word of a client ("claude-code", ...). */
const char *hook_client_name(hook_client c);

/*
** Read one event from in_fd, record it in the database so describes
** (opened here, closed before returning) and answer on out; warnings go
** to errf.  Returns the exit status the program should end with: 0, or 2
** when a Claude Code, Gemini CLI or VS Code pre event is blocked under
** fail_closed.
*/
int hook_run(const hook_options *opt, const store_options *so, int in_fd,
             FILE *out, FILE *errf);

/*
** hook_run() for an event already read (text, len bytes: longer than
** max_bytes is refused as hook_run() refuses it), recorded through rec, a
** recorder the caller keeps open (`dss-audit-mcp recorder`) on the database
** at db (its path, for messages).  turn is a descriptor of the database
** file to take turns on with hook processes writing directly (see hook.c),
** or -1.  Same answers and exit status as hook_run().
*/
int hook_run_recorded(const hook_options *opt, recorder *rec, const char *db, int turn,
                      const char *text, size_t len, FILE *out, FILE *errf);

/*
** The half of hook_run() that needs no database, for tests and the fuzzer
** (tests/fuzz/fuzz_hook.c): check and parse the event text (len bytes),
** recognize its client and event, and map it onto the record_event that
** would be appended.  A post event is not linked to its pre event
** (completes) nor timed from it: that takes the store.  The event's trees
** are not scrubbed yet; the recorder scrubs what it appends.
** opt->fail_reason is not looked at.  Returns the mapping, or NULL with the
** sentence hook_run() would warn with in why (whylen bytes).
*/
typedef struct hook_mapped hook_mapped;
hook_mapped *hook_map(const hook_options *opt, const char *text, size_t len, char *why,
                      size_t whylen);

/* The event mapped; it and everything it points to live until
** hook_mapped_free(). */
record_event *hook_mapped_event(hook_mapped *m);
void hook_mapped_free(hook_mapped *m);

#endif
