/*
** hook.c: read, recognize, map and record one agent-client hook event (see
** hook.h).
**
** The event is parsed once; each field the mapping uses is detached from
** the parsed object as it is taken, so what is left at the end is exactly
** what the mapping does not name, and it is stored (scrubbed, like every
** tree, by the recorder) under args.unmapped: nothing the client sent is
** silently dropped.  Tables below say, per client, which member holds the
** session, the tool's name, input, id and output, and per event what kind
** it is; the code that walks them is shared by every client.
*/
#include "hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "hook_sock.h"
#include "../util/jsoncheck.h"
#include "../util/ts.h"
#include "../util/utf8.h"

typedef enum kind { K_PRE, K_POST, K_FAIL, K_PROMPT, K_STATE } kind;

/* Where a client puts the fields every tool event has.  NULL: never sent. */
typedef struct client_fields {
    const char *word;     /* --client word, and the stored client name */
    const char *event;    /* the event-name member */
    const char *session;
    const char *tool;
    const char *input;
    const char *id;       /* the tool-use id */
    const char *output;
    const char *version;  /* the client's own version */
} client_fields;

static const client_fields fields[] = {
    [HOOK_CLIENT_CLAUDE] = {"claude-code", "hook_event_name", "session_id", "tool_name",
                            "tool_input", "tool_use_id", "tool_response", NULL},
    [HOOK_CLIENT_CURSOR] = {"cursor", "hook_event_name", "conversation_id", "tool_name",
                            "tool_input", NULL, "result_json", "cursor_version"},
    [HOOK_CLIENT_GEMINI] = {"gemini", "hook_event_name", "session_id", "tool_name",
                            "tool_input", NULL, "tool_response", NULL},
    [HOOK_CLIENT_COPILOT] = {"copilot", NULL, "sessionId", "toolName", "toolArgs", NULL,
                             "toolResult", NULL},
    [HOOK_CLIENT_VSCODE] = {"vscode", "hookEventName", "sessionId", "tool_name",
                            "tool_input", "tool_use_id", "tool_response", NULL},
};

/* The events mapped.  op: a fixed operation name (NULL: the tool's name);
** inputs: members gathered into the input object instead of the client's
** input member; output: the output member instead of the client's. */
typedef struct event_def {
    hook_client client;
    const char *name;
    kind kind;
    const char *op;
    const char *inputs[2];
    const char *output;
} event_def;

static const event_def events[] = {
    {HOOK_CLIENT_CLAUDE, "PreToolUse", K_PRE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "PostToolUse", K_POST, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "PostToolUseFailure", K_FAIL, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "UserPromptSubmit", K_PROMPT, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "SessionStart", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "SessionEnd", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "Stop", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CLAUDE, "SubagentStop", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CURSOR, "beforeShellExecution", K_PRE, "shell", {"command"}, NULL},
    {HOOK_CLIENT_CURSOR, "afterShellExecution", K_POST, "shell", {"command"}, "output"},
    {HOOK_CLIENT_CURSOR, "beforeMCPExecution", K_PRE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CURSOR, "afterMCPExecution", K_POST, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CURSOR, "afterFileEdit", K_POST, "file_edit", {"file_path", "edits"}, NULL},
    {HOOK_CLIENT_CURSOR, "beforeReadFile", K_PRE, "read_file", {"file_path"}, NULL},
    {HOOK_CLIENT_CURSOR, "beforeSubmitPrompt", K_PROMPT, NULL, {NULL}, NULL},
    {HOOK_CLIENT_CURSOR, "stop", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_GEMINI, "BeforeTool", K_PRE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_GEMINI, "AfterTool", K_POST, NULL, {NULL}, NULL},
    {HOOK_CLIENT_GEMINI, "SessionStart", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_GEMINI, "SessionEnd", K_STATE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_COPILOT, "preToolUse", K_PRE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_COPILOT, "postToolUse", K_POST, NULL, {NULL}, NULL},
    {HOOK_CLIENT_VSCODE, "PreToolUse", K_PRE, NULL, {NULL}, NULL},
    {HOOK_CLIENT_VSCODE, "PostToolUse", K_POST, NULL, {NULL}, NULL},
};
#define N_EVENTS (sizeof events / sizeof *events)

int hook_client_parse(const char *word, hook_client *out)
{
    if (word && strcmp(word, "auto") == 0) {
        *out = HOOK_CLIENT_AUTO;
        return 0;
    }
    for (int c = HOOK_CLIENT_CLAUDE; c <= HOOK_CLIENT_VSCODE; c++)
        if (word && strcmp(word, fields[c].word) == 0) {
            *out = (hook_client)c;
            return 0;
        }
    return -1;
}

const char *hook_client_name(hook_client c)
{
    return c >= HOOK_CLIENT_CLAUDE && c <= HOOK_CLIENT_VSCODE ? fields[c].word : "auto";
}

/* One event being handled: what is known of it so far, and what it owns. */
typedef struct hook_ctx {
    const hook_options *opt;
    hook_client client;     /* AUTO while unknown */
    const event_def *def;   /* NULL while unknown */
    const char *name;       /* the event's name, for messages */
    cJSON *root;            /* the event; mapped members are detached */
    cJSON *taken;           /* the detached members, and trees made of them
                            ** that ev points into, freed at the end */
    /* The mapping (map_event): ev's strings point into root, taken and
    ** the fields below; its trees are args and result. */
    record_event ev;
    cJSON *args, *result;
    char *client_text;      /* ev.client */
    int sent_duration;      /* the client sent ev.duration_ms itself */
    char errbuf[512];       /* ev.error, when made up here */
    char why[STORE_ERRLEN + 64];
} hook_ctx;

static void ctx_free(hook_ctx *c)
{
    cJSON_Delete(c->root);
    cJSON_Delete(c->taken);
    cJSON_Delete(c->args);
    cJSON_Delete(c->result);
    free(c->client_text);
    c->root = c->taken = c->args = c->result = NULL;
    c->client_text = NULL;
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *v = name ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Detach member name from the event (kept alive in c->taken), or NULL. */
static cJSON *take(hook_ctx *c, const char *name)
{
    if (!name) return NULL;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(c->root, name);
    if (v) cJSON_AddItemToArray(c->taken, v);
    return v;
}

static const char *take_str(hook_ctx *c, const char *name)
{
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c->root, name))) return NULL;
    return take(c, name)->valuestring;
}

/* ---- reading and recognizing ------------------------------------------ */

/* Which client sent ev, from fields only one client sends. */
static hook_client recognize(const cJSON *ev)
{
    const char *name = str_member(ev, "hook_event_name");
    if (cJSON_GetObjectItemCaseSensitive(ev, "hookEventName")) return HOOK_CLIENT_VSCODE;
    if (!name && (cJSON_GetObjectItemCaseSensitive(ev, "toolName") ||
                  cJSON_GetObjectItemCaseSensitive(ev, "toolArgs")))
        return HOOK_CLIENT_COPILOT;
    if (cJSON_GetObjectItemCaseSensitive(ev, "conversation_id") ||
        cJSON_GetObjectItemCaseSensitive(ev, "cursor_version"))
        return HOOK_CLIENT_CURSOR;
    if (!name) return HOOK_CLIENT_AUTO;
    if (!strcmp(name, "BeforeTool") || !strcmp(name, "AfterTool") ||
        cJSON_GetObjectItemCaseSensitive(ev, "timestamp"))
        return HOOK_CLIENT_GEMINI;
    return HOOK_CLIENT_CLAUDE;
}

/* Find the event's definition; fills c->client, c->def and c->name, and
** detaches the event-name member.  0, or -1 with c->why. */
static int identify(hook_ctx *c)
{
    c->client = c->opt->client ? c->opt->client : recognize(c->root);
    if (!c->client) {
        snprintf(c->why, sizeof c->why, "the event names no known client "
                 "(no hook_event_name, hookEventName or toolName)");
        return -1;
    }
    const client_fields *f = &fields[c->client];
    const char *name = f->event ? str_member(c->root, f->event) : NULL;
    if (c->client == HOOK_CLIENT_COPILOT)
        name = cJSON_GetObjectItemCaseSensitive(c->root, "toolResult") ? "postToolUse"
                                                                      : "preToolUse";
    if (!name) {
        snprintf(c->why, sizeof c->why, "the %s event has no string %s", f->word, f->event);
        return -1;
    }
    c->name = name;
    for (size_t i = 0; i < N_EVENTS; i++)
        if (events[i].client == c->client && strcmp(events[i].name, name) == 0)
            c->def = &events[i];
    if (!c->def) {
        snprintf(c->why, sizeof c->why, "'%.*s' is not a %s event this program maps",
                 utf8_cut(name, 64), name, f->word);
        return -1;
    }
    c->name = c->def->name; /* static: the member is detached next */
    take(c, f->event);
    return 0;
}

/* ---- mapping ----------------------------------------------------------- */

/* A new tree of a value; a string holding JSON text (Cursor's tool_input
** and result_json, Copilot's toolArgs) becomes the value it spells. */
static cJSON *value_of(const cJSON *v, int max_depth)
{
    if (cJSON_IsString(v)) {
        char err[128];
        size_t n = strlen(v->valuestring);
        if (jsoncheck(v->valuestring, n, max_depth, err, sizeof err) == JSONCHECK_OK) {
            cJSON *t = cJSON_ParseWithLength(v->valuestring, n);
            if (t) return t;
        }
    }
    return cJSON_Duplicate(v, 1);
}

/* The error text of a post event's output, or NULL when it succeeded. */
static const char *output_error(hook_ctx *c, const cJSON *out, char *buf, size_t len)
{
    if (c->client == HOOK_CLIENT_GEMINI) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(out, "error");
        if (!e || cJSON_IsNull(e)) return NULL;
        if (cJSON_IsString(e)) return e->valuestring;
        const char *m = str_member(e, "message");
        if (m) return m;
        char *t = cJSON_PrintUnformatted(e);
        snprintf(buf, len, "%s", t ? t : "error");
        cJSON_free(t);
        utf8_trim_end(buf);
        return buf;
    }
    if (c->client == HOOK_CLIENT_COPILOT) {
        const char *rt = str_member(out, "resultType");
        if (!rt || !strcmp(rt, "success")) return NULL;
        const char *text = str_member(out, "textResultForLlm");
        snprintf(buf, len, "%s%s%.*s", rt, text ? ": " : "", text ? utf8_cut(text, 400) : 0,
                 text ? text : "");
        utf8_trim_end(buf);
        return buf;
    }
    return NULL;
}

/* The number of characters (code points) of a UTF-8 string. */
static double utf8_chars(const char *s)
{
    double n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* The input object of a tool event. */
static cJSON *tool_input(hook_ctx *c)
{
    const event_def *d = c->def;
    if (!d->inputs[0]) {
        cJSON *v = take(c, fields[c->client].input);
        return v ? value_of(v, c->opt->max_depth) : NULL;
    }
    cJSON *in = cJSON_CreateObject();
    for (int i = 0; in && i < 2 && d->inputs[i]; i++) {
        cJSON *v = take(c, d->inputs[i]);
        if (v) cJSON_AddItemToObject(in, d->inputs[i], cJSON_Duplicate(v, 1));
    }
    return in;
}

/* The newest pre event of this call not completed yet: same session, tool
** and tool-use id.  Fills pre_id (37 bytes) and *pre_us, or leaves pre_id
** empty.  Looked up through the session index, newest first, no sort, by
** the texts as the pre event was stored: scrubbed (record_text). */
static int find_pre(store *st, const char *session, const char *op, const char *op_id,
                    char *pre_id, int64_t *pre_us, char *err)
{
    cJSON *list = NULL;
    char *own[3] = {NULL, NULL, NULL};
    int rc = STORE_ENOMEM;
    pre_id[0] = '\0';
    if (record_text(session, &session, &own[0]) != 0 || record_text(op, &op, &own[1]) != 0 ||
        record_text(op_id, &op_id, &own[2]) != 0) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        goto done;
    }
    store_query q = {.session_id = session, .operation_name = op,
                     .event_type = "tool_call", .limit = 64};
    if ((rc = store_find(st, &q, &list, NULL, err)) != STORE_OK) goto done;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        /* The store hands JSON columns back as raw text. */
        const cJSON *raw = cJSON_GetObjectItemCaseSensitive(e, "args");
        cJSON *args = cJSON_IsRaw(raw) ? cJSON_Parse(raw->valuestring) : NULL;
        const char *phase = str_member(args, "phase");
        int is_pre = phase && strcmp(phase, "pre") == 0;
        cJSON_Delete(args);
        const char *id = str_member(e, "operation_id");
        if (!is_pre) continue;
        if ((op_id || id) && (!op_id || !id || strcmp(op_id, id) != 0)) continue;
        const char *eid = str_member(e, "id");
        cJSON *completions = NULL;
        store_query dq = {.completes = eid, .limit = 1};
        rc = store_find(st, &dq, &completions, NULL, err);
        int taken = rc == STORE_OK && cJSON_GetArraySize(completions) > 0;
        cJSON_Delete(completions);
        if (rc != STORE_OK) break;
        if (taken) continue;
        snprintf(pre_id, 37, "%s", eid);
        char why[128];
        const char *at = str_member(e, "created_at");
        if (!at || ts_parse(at, 0, pre_us, why, sizeof why) != 0) *pre_us = 0;
        break;
    }
done:
    cJSON_Delete(list);
    for (int i = 0; i < 3; i++) free(own[i]);
    return rc;
}

/* A duration the client sent, in milliseconds: Claude Code's duration_ms,
** Cursor's duration. */
static int sent_duration(hook_ctx *c, int64_t *ms)
{
    static const char *const names[] = {"duration_ms", "duration"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, names[i]);
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15) {
            *ms = (int64_t)v->valuedouble;
            take(c, names[i]);
            return 1;
        }
    }
    return 0;
}

/* Map the event onto c->ev, as far as it goes without the store: a post
** event is linked to its pre event (and timed from it) by record().  0, or
** -1 with c->why. */
static int map_event(hook_ctx *c)
{
    const client_fields *f = &fields[c->client];
    const event_def *d = c->def;
    record_event *ev = &c->ev;
    cJSON *input = NULL;
    int oom = 0;
    if (!(c->args = cJSON_CreateObject())) goto oom;
    ev->session_id = take_str(c, f->session);
    ev->cwd = take_str(c, "cwd");
    if (!ev->cwd && c->client == HOOK_CLIENT_CURSOR) {
        const cJSON *roots = cJSON_GetObjectItemCaseSensitive(c->root, "workspace_roots");
        const cJSON *r0 = cJSON_GetArrayItem(roots, 0);
        if (cJSON_IsString(r0)) ev->cwd = r0->valuestring;
    }
    const char *email = c->client == HOOK_CLIENT_CURSOR && !c->opt->actor
                            ? take_str(c, "user_email") : NULL;
    ev->user_id = c->opt->actor ? c->opt->actor : email ? email : c->opt->fallback_user;
    cJSON *ident = cJSON_CreateObject();
    if (!ident) goto oom;
    cJSON_AddStringToObject(ident, "name", f->word);
    const char *version = take_str(c, f->version);
    if (version) cJSON_AddStringToObject(ident, "version", version);
    c->client_text = record_identity(ident);
    cJSON_Delete(ident);
    ev->client = c->client_text;

    if (d->kind == K_PRE || d->kind == K_POST || d->kind == K_FAIL) {
        ev->event_type = "tool_call";
        ev->operation_name = d->op ? d->op : take_str(c, f->tool);
        if (!ev->operation_name) {
            snprintf(c->why, sizeof c->why, "the %s %s event has no string %s", f->word,
                     c->name, f->tool);
            return -1;
        }
        ev->operation_id = take_str(c, f->id);
        if (!cJSON_AddStringToObject(c->args, "phase", d->kind == K_PRE ? "pre" : "post"))
            goto oom;
        if ((input = tool_input(c))) cJSON_AddItemToObject(c->args, "input", input);
    } else if (d->kind == K_PROMPT) {
        ev->event_type = "state_transition";
        ev->operation_name = d->name;
        const char *prompt = take_str(c, "prompt");
        if (!cJSON_AddNumberToObject(c->args, "prompt_length", prompt ? utf8_chars(prompt) : 0))
            goto oom;
        if (prompt && c->opt->record_prompts) cJSON_AddStringToObject(c->args, "prompt", prompt);
    } else {
        ev->event_type = "state_transition";
        ev->operation_name = d->name;
    }
    if (d->kind == K_POST || d->kind == K_FAIL) {
        cJSON *out = take(c, d->output ? d->output : f->output);
        if (out) {
            cJSON *val = value_of(out, c->opt->max_depth);
            if (!val) goto oom;
            ev->error = output_error(c, val, c->errbuf, sizeof c->errbuf);
            c->result = record_result(val, c->opt->results, &oom);
            /* The error may point into val: keep it with the taken members. */
            cJSON_AddItemToArray(c->taken, val);
            if (oom) goto oom;
        }
        if (d->kind == K_FAIL) {
            ev->error = take_str(c, "error");
            if (!ev->error) ev->error = "the tool failed";
        }
        ev->result = c->result;
        int64_t ms;
        if (sent_duration(c, &ms)) {
            c->sent_duration = 1;
            ev->has_duration = 1;
            ev->duration_ms = ms;
        }
    }
    /* Whatever is left is kept: nothing the client sent is dropped. */
    if (cJSON_GetArraySize(c->root) > 0) {
        cJSON *rest = cJSON_Duplicate(c->root, 1);
        if (!rest || !cJSON_AddItemToObject(c->args, "unmapped", rest)) {
            cJSON_Delete(rest);
            goto oom;
        }
    }
    ev->args = c->args;
    ev->id = c->opt->event_id;
    return 0;
oom:
    snprintf(c->why, sizeof c->why, "out of memory");
    return -1;
}

/* Link a mapped post event to its pre event, and append it durably.  0, or
** -1 with c->why. */
static int record(hook_ctx *c, recorder *rec)
{
    record_event *ev = &c->ev;
    char err[STORE_ERRLEN], pre_id[37] = "";
    if (c->def->kind == K_POST || c->def->kind == K_FAIL) {
        int64_t pre_us = 0;
        if (ev->session_id &&
            find_pre(recorder_store(rec), ev->session_id, ev->operation_name,
                     ev->operation_id, pre_id, &pre_us, err) != STORE_OK) {
            snprintf(c->why, sizeof c->why, "cannot look up the pre event: %s", err);
            return -1;
        }
        if (pre_id[0]) ev->completes = pre_id;
        if (!c->sent_duration && pre_us > 0) {
            int64_t d_us = ts_now_us() - pre_us;
            ev->has_duration = 1;
            ev->duration_ms = d_us > 0 ? d_us / 1000 : 0;
        }
    }
    int rc = recorder_append_durable(rec, ev, NULL, err);
    ev->completes = NULL; /* pre_id goes out of scope */
    if (rc != STORE_OK) {
        snprintf(c->why, sizeof c->why, "%s", err);
        return -1;
    }
    return 0;
}

/* ---- taking turns ----------------------------------------------------- */

/*
** Hook processes take turns on the database file itself (flock on a
** descriptor of their own), held while the event is looked up and written;
** opening and closing the store overlap freely.
** SQLite's own busy handler polls, sleeping up to 100 ms between tries, and
** is not fair: with dozens of hooks fired at once by parallel tool calls, a
** process could keep missing the lock until its busy timeout ran out (seen
** with 32 processes on a loaded machine).  A blocked flock() is woken by
** the kernel as soon as the lock is free, so every hook gets its turn in a
** few milliseconds per hook ahead of it.  The wait is bounded by an alarm;
** servers are not part of the turn-taking, SQLite's timeout covers them.
**
** The lock lives and dies with the descriptor: a hook killed with -9 holds
** nothing and leaves no file behind.  flock() locks are apart from the
** POSIX locks SQLite takes on the same file, but closing any descriptor of
** a file drops every POSIX lock the process holds on it, so the descriptor
** is released with LOCK_UN and closed only after the store is.
*/
#define HOOK_TURN_SECONDS 30

static void on_alarm(int sig)
{
    (void)sig; /* only interrupts flock() */
}

/* Wait for the turn on fd (the database file).  0, or -1 with why when
** it never came. */
static int take_turn(int fd, const char *db, char *why, size_t whylen)
{
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old); /* no SA_RESTART: flock() returns EINTR */
    alarm(HOOK_TURN_SECONDS);
    int rc = flock(fd, LOCK_EX);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    if (rc != 0) {
        snprintf(why, whylen, "other hooks kept %.*s busy for %d s", utf8_cut(db, 200), db,
                 HOOK_TURN_SECONDS);
        return -1;
    }
    return 0;
}

/* ---- answering --------------------------------------------------------- */

/* Print a JSON answer as one line.  0 or -1. */
static int answer_json(FILE *out, cJSON *j)
{
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    int ok = t && fprintf(out, "%s\n", t) >= 0 && fflush(out) == 0;
    cJSON_free(t);
    cJSON_Delete(j);
    return ok ? 0 : -1;
}

/* Answer the client and return the exit status; c->why is "" on success. */
static int answer(hook_ctx *c, FILE *out, FILE *errf)
{
    int failed = c->why[0] != '\0';
    /* An event that could not be read may have been a pre event. */
    int pre = !c->def || c->def->kind == K_PRE;
    int block = failed && c->opt->fail_closed && pre;
    int before = c->client == HOOK_CLIENT_CURSOR && (c->def ? !strncmp(c->name, "before", 6)
                                                            : 1);
    char msg[sizeof c->why + 64];
    /* One line, whatever the reason held. */
    for (char *p = c->why; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    snprintf(msg, sizeof msg, "dss-audit-mcp could not record this %s event: %s",
             c->def ? c->name : "hook", c->why);
    if (failed)
        fprintf(errf, "dss-audit-mcp hook: %s%s\n", block ? "blocked: " : "warning: ",
                msg + strlen("dss-audit-mcp "));
    if (c->client == HOOK_CLIENT_CURSOR && before) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "permission", block ? "deny" : "allow");
        if (block) {
            cJSON_AddStringToObject(j, "user_message", msg);
            cJSON_AddStringToObject(j, "agent_message", msg);
        }
        answer_json(out, j);
        return 0;
    }
    if (c->client == HOOK_CLIENT_COPILOT && block) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "permissionDecision", "deny");
        cJSON_AddStringToObject(j, "permissionDecisionReason", msg);
        answer_json(out, j);
        return 0;
    }
    /* Claude Code, Gemini CLI, VS Code (and a client not recognized):
    ** exit 2 blocks, with the reason on stderr. */
    return block ? 2 : 0;
}

/* A descriptor of the database file to take turns on (see above), or -1:
** in memory, and on PostgreSQL, whose head-row lock serializes writers of
** one log without starving any, there are no turns to take. */
static int turn_fd(const store_options *so)
{
    if (!strcmp(so->path, ":memory:") || store_is_remote(so->path)) return -1;
    return open(so->path, O_RDONLY | O_CLOEXEC);
}

/* Whether the entry with id is in the store already (a recorder wrote it
** and died before answering): 1 after making it durable, 0 when it is not
** there, -1 with why.  The turn's descriptor of the database file syncs the
** file, and the write-ahead log is synced through a descriptor of its own
** (SQLite's locks are on the -shm file and the database, not the log). */
static int already_recorded(store *st, const char *db, int turn, const char *id, char *why,
                            size_t whylen)
{
    cJSON *e = NULL;
    char err[STORE_ERRLEN], wal[4200];
    int rc = store_get(st, id, &e, err);
    cJSON_Delete(e);
    if (rc == STORE_ENOTFOUND) return 0;
    if (rc != STORE_OK) {
        snprintf(why, whylen, "cannot look up the event's entry: %s", err);
        return -1;
    }
    if (turn >= 0) fdatasync(turn);
    snprintf(wal, sizeof wal, "%s-wal", db);
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (fdatasync(fd) != 0) {
            snprintf(why, whylen, "cannot sync %.*s: %s", utf8_cut(wal, 200), wal,
                     strerror(errno));
            close(fd);
            return -1;
        }
        close(fd);
    }
    return 1;
}

/* Record the event (rec given: the caller's recorder, and turn its
** descriptor to take turns on; else the store so describes is opened here,
** as a brief process).  text NULL: reading failed, read_why says why. */
/* Defaults for the options left 0. */
static void fill_defaults(hook_options *o)
{
    if (!o->max_bytes) o->max_bytes = HOOK_MAX_EVENT_BYTES;
    if (!o->max_depth) o->max_depth = 64;
}

/* Check and parse the event text and identify its client and event into
** c.  0, or -1 with c->why. */
static int read_event(hook_ctx *c, const char *text, size_t len)
{
    char err[STORE_ERRLEN];
    if (len > c->opt->max_bytes) {
        snprintf(c->why, sizeof c->why, "the event is larger than %zu bytes", c->opt->max_bytes);
        return -1;
    }
    if (jsoncheck(text, len, c->opt->max_depth, err, sizeof err) != JSONCHECK_OK) {
        snprintf(c->why, sizeof c->why, "the event is not valid JSON: %s", err);
        return -1;
    }
    if (!(c->root = cJSON_ParseWithLength(text, len)) || !(c->taken = cJSON_CreateArray())) {
        snprintf(c->why, sizeof c->why, "out of memory");
        return -1;
    }
    if (!cJSON_IsObject(c->root)) {
        snprintf(c->why, sizeof c->why, "the event is not a JSON object");
        return -1;
    }
    return identify(c);
}

static int run_event(const hook_options *opt, const store_options *so, recorder *given,
                     int given_turn, const char *text, size_t len, const char *read_why,
                     FILE *out, FILE *errf)
{
    hook_options o = *opt;
    hook_ctx c = {.opt = &o, .client = opt->client};
    store *st = NULL;
    recorder *rec = given;
    int turn = given ? given_turn : -1, status;
    char err[STORE_ERRLEN];
    fill_defaults(&o);
    if (!text) {
        snprintf(c.why, sizeof c.why, "%s", read_why);
        goto done;
    }
    if (read_event(&c, text, len) != 0) goto done;
    if (o.fail_reason) {
        snprintf(c.why, sizeof c.why, "%s", o.fail_reason);
        goto done;
    }
    if (map_event(&c) != 0) goto done;
    if (!given) {
        /* One event and exit: the store keeps its write-ahead log for the
        ** next hook rather than copying it back now (store_options.brief). */
        store_options brief = *so;
        brief.brief = 1;
        if (store_open(&brief, &st, err) != STORE_OK) {
            char shown[512];
            store_redact_path(so->path, shown, sizeof shown);
            snprintf(c.why, sizeof c.why, "cannot open the audit database %.*s: %.*s",
                     utf8_cut(shown, 120), shown, utf8_cut(err, 150), err);
            goto done;
        }
        if (!(rec = recorder_open(st, NULL))) {
            snprintf(c.why, sizeof c.why, "out of memory");
            goto done;
        }
        /* The store made the file if it was missing: it can be opened now. */
        turn = turn_fd(so);
    }
    if (turn >= 0 && take_turn(turn, so->path, c.why, sizeof c.why) != 0)
        goto done;
    int seen = o.event_id && o.event_id_retry
                   ? already_recorded(recorder_store(rec), so->path, turn, o.event_id,
                                      c.why, sizeof c.why)
                   : 0;
    if (seen == 0) record(&c, rec);
    if (turn >= 0) flock(turn, LOCK_UN); /* the next hook's turn */
done:
    /* The entry is durable (or was not written): answer first, then close,
    ** which may copy the write-ahead log back (store_options.brief). */
    status = answer(&c, out, errf);
    if (!given) {
        recorder_close(rec);
        store_close(st);
        if (turn >= 0) close(turn);
    }
    ctx_free(&c);
    return status;
}

struct hook_mapped {
    hook_options o;
    hook_ctx c;
};

hook_mapped *hook_map(const hook_options *opt, const char *text, size_t len, char *why,
                      size_t whylen)
{
    hook_mapped *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    m->o = *opt;
    fill_defaults(&m->o);
    m->c.opt = &m->o;
    m->c.client = opt->client;
    if (read_event(&m->c, text, len) != 0 || map_event(&m->c) != 0) {
        snprintf(why, whylen, "%s", m->c.why);
        hook_mapped_free(m);
        return NULL;
    }
    return m;
}

record_event *hook_mapped_event(hook_mapped *m) { return &m->c.ev; }

void hook_mapped_free(hook_mapped *m)
{
    if (!m) return;
    ctx_free(&m->c);
    free(m);
}

int hook_run(const hook_options *opt, const store_options *so, int in_fd, FILE *out,
             FILE *errf)
{
    char why[STORE_ERRLEN + 64] = "";
    size_t len = 0;
    int e = 0;
    /* One byte over the limit is enough to refuse it (run_event). */
    char *text = hsock_read_event(in_fd, (opt->max_bytes ? opt->max_bytes : HOOK_MAX_EVENT_BYTES) + 1,
                                &len, &e);
    if (!text && e == ENOMEM) snprintf(why, sizeof why, "out of memory");
    else if (!text) snprintf(why, sizeof why, "cannot read the event from stdin: %s", strerror(e));
    int status = run_event(opt, so, NULL, -1, text, len, why, out, errf);
    free(text);
    return status;
}

int hook_run_recorded(const hook_options *opt, recorder *rec, const char *db, int turn,
                      const char *text, size_t len, FILE *out, FILE *errf)
{
    store_options so = {.path = db};
    return run_event(opt, &so, rec, turn, text, len, NULL, out, errf);
}
