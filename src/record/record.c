/*
** record.c: the recorder (see record.h): scrub, serialize and append each
** event, and decide when the group begins, commits and is checkpointed.
**
** The JSON fields are scrubbed as trees, before serialization, so no secret
** reaches the text the store keeps; the error text goes through the value
** patterns.  Serialization uses jbuf_print(), the same printer as every
** other stored field, so an entry's bytes do not depend on its door.
**
** A ticket is the store's number of the transaction a write went into
** (store_tx()).  A group normally is one transaction; when the database
** rolls one back by itself (a full disk), the next write begins another,
** so the tickets handed out before are simply never the one committed.
*/
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../integrity/checkpoint.h"
#include "../scrub/scrub.h"
#include "../util/diag.h"
#include "../util/jbuf.h"

#define DEFAULT_CHECKPOINT_INTERVAL 1000

struct recorder {
    store *st;
    const signer *sg;
    int64_t interval;
    int64_t checkpointed_seq; /* the head at the newest checkpoint known */
    int in_call;              /* a call's scope is open */
    int failed;               /* a write outside a call failed: group lost */
    int fail_code;
    int64_t fail_ticket;      /* the lost group's ticket */
    char fail_why[STORE_ERRLEN];
    int64_t tried;            /* the ticket the last commit tried, or 0 */
    int64_t committed;        /* ...when that commit succeeded, else 0 */
    int checkpoint_due;       /* a commit since the last recorder_done() */
    int64_t group_seq;        /* the highest seq appended in the open group */
    int64_t own_seq;          /* ...in any group this recorder committed */
    char commit_why[STORE_ERRLEN];
    recorder_watch watch;
};

/* Why an answer held with a ticket of a transaction the database rolled
** back by itself (or that a lost group took with it) cannot go. */
static const char lost_why[] =
    "the database filled up or failed, so this group's writes were rolled back";

/* Scrub (unless done) and serialize an optional tree into *text, which the
** caller frees; *text stays NULL for NULL.  Returns -1 when memory runs out. */
static int field_text(cJSON *tree, int scrubbed, char **text)
{
    *text = NULL;
    if (!tree) return 0;
    if (!scrubbed && scrub_tree(tree) != 0) return -1;
    *text = jbuf_print(tree);
    return *text ? 0 : -1;
}

int record_text(const char *s, const char **out, char **owned)
{
    *out = s;
    *owned = NULL;
    if (!s) return 0;
    if (scrub_text(s, strlen(s), owned, NULL) < 0) return -1;
    if (*owned) *out = *owned;
    return 0;
}

/* Scrub, serialize and append ev inside the open transaction.  Every text
** is scrubbed here, whichever door made the event: a JSON-RPC id, a tool's
** name from a hook payload or a working folder can hold a secret as well
** as the arguments can. */
static int append(store *st, record_event *ev, store_receipt *out, char *err)
{
    enum { ARGS, RESULT, BEFORE, AFTER, N_TREES };
    cJSON *trees[N_TREES] = {ev->args, ev->result, ev->before_state, ev->after_state};
    char *text[N_TREES] = {NULL, NULL, NULL, NULL};
    enum { TYPE, NAME, OP_ID, USER, PROJECT, SESSION, CWD, ERROR, N_TEXTS };
    const char *plain[N_TEXTS] = {ev->event_type, ev->operation_name, ev->operation_id,
                                  ev->user_id,    ev->project_id,     ev->session_id,
                                  ev->cwd,        ev->error};
    char *owned[N_TEXTS] = {NULL};
    int rc = STORE_ENOMEM;
    for (int i = 0; i < N_TREES; i++)
        if (field_text(trees[i], ev->scrubbed, &text[i]) != 0) goto done;
    for (int i = 0; i < N_TEXTS; i++)
        if (record_text(plain[i], &plain[i], &owned[i]) != 0) goto done;
    store_record rec = {
        .event_type = plain[TYPE],
        .operation_name = plain[NAME],
        .operation_id = plain[OP_ID],
        .user_id = plain[USER],
        .project_id = plain[PROJECT],
        .args = text[ARGS] ? text[ARGS] : "{}",
        .result = text[RESULT],
        .error = plain[ERROR],
        .before_state = text[BEFORE],
        .after_state = text[AFTER],
        .client = ev->client,
        .server = ev->server,
        .session_id = plain[SESSION],
        .completes = ev->completes,
        .cwd = plain[CWD],
        .has_duration = ev->has_duration,
        .duration_ms = ev->duration_ms,
    };
    rc = store_append_as(st, &rec, ev->id, out, err);
done:
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    for (int i = 0; i < N_TREES; i++) free(text[i]);
    for (int i = 0; i < N_TEXTS; i++) free(owned[i]);
    return rc;
}

/* ---- the recorder ------------------------------------------------------ */

recorder *recorder_open(store *st, const recorder_options *opt)
{
    recorder *rc = calloc(1, sizeof *rc);
    if (!rc) return NULL;
    rc->st = st;
    rc->sg = opt ? opt->sg : NULL;
    rc->interval = opt && opt->checkpoint_interval > 0 ? opt->checkpoint_interval
                                                       : DEFAULT_CHECKPOINT_INTERVAL;
    if (rc->sg) {
        char err[STORE_ERRLEN];
        store_checkpoint last;
        if (store_last_checkpoint(st, &last, err) == STORE_OK) rc->checkpointed_seq = last.seq;
        /* So that verify can tell a checkpoint signed by another key. */
        if (!store_readonly(st) && store_record_log_key(st, rc->sg->pk_hex, err) != STORE_OK)
            diag("warning: the signing key is not recorded with the log: %s", err);
    }
    if (opt) rc->watch = opt->watch;
    if (rc->watch.opened) rc->watch.opened(rc->watch.ctx, st);
    return rc;
}

store *recorder_store(const recorder *rc) { return rc->st; }

/* Checkpoint the head if it is at least min_new entries past the last. */
static void checkpoint_if(recorder *rc, int64_t min_new)
{
    int64_t head;
    char hash[CHAIN_HEX_LEN], err[STORE_ERRLEN];
    if (!rc->sg || store_head(rc->st, &head, hash, err) != STORE_OK) return;
    if (head - rc->checkpointed_seq < min_new || head == 0) return;
    /* Another writer on the same database may have checkpointed already. */
    store_checkpoint last;
    if (store_last_checkpoint(rc->st, &last, err) == STORE_OK &&
        last.seq > rc->checkpointed_seq) {
        rc->checkpointed_seq = last.seq;
        if (head - rc->checkpointed_seq < min_new) return;
    }
    store_checkpoint cp;
    if (checkpoint_now(rc->st, rc->sg, &cp, err) != STORE_OK) {
        diag("could not write a checkpoint: %s", err);
        return;
    }
    rc->checkpointed_seq = cp.seq;
}

void recorder_close(recorder *rc)
{
    if (!rc) return;
    recorder_abandon(rc);
    checkpoint_if(rc, 1);
    if (rc->watch.closing) rc->watch.closing(rc->watch.ctx);
    free(rc);
}

/* Open the group if it is not: 0, or a STORE_ code with err. */
static int group_open(recorder *rc, char *err)
{
    if (rc->failed) {
        snprintf(err, STORE_ERRLEN, "%s", rc->fail_why);
        return rc->fail_code;
    }
    return store_in_transaction(rc->st) ? STORE_OK : store_begin(rc->st, err);
}

/* A write outside a call failed: the group is lost as a whole. */
static int group_fail(recorder *rc, int code, const char *err)
{
    int64_t ticket = store_tx(rc->st);
    store_rollback(rc->st);
    if (!rc->failed) {
        rc->failed = 1;
        rc->fail_code = code;
        rc->fail_ticket = ticket;
        snprintf(rc->fail_why, sizeof rc->fail_why, "%s", err);
    }
    return code;
}

int recorder_append(recorder *rc, record_event *ev, store_receipt *out, char *err)
{
    store_receipt unused;
    /* A call's scope opened the group; if the database has rolled it back
    ** since, the append fails rather than begin another behind the call. */
    int code = rc->in_call ? STORE_OK : group_open(rc, err);
    if (!out) out = &unused;
    if (code == STORE_OK) code = append(rc->st, ev, out, err);
    if (code == STORE_OK && out->seq > rc->group_seq) rc->group_seq = out->seq;
    if (code != STORE_OK && !rc->in_call) return group_fail(rc, code, err);
    return code;
}

int64_t recorder_ticket(const recorder *rc)
{
    return rc->failed ? 0 : store_tx(rc->st);
}

int recorder_pending(const recorder *rc)
{
    return rc->failed || store_in_transaction(rc->st);
}

int recorder_commit(recorder *rc, char *err)
{
    int code = STORE_OK;
    rc->tried = rc->failed ? rc->fail_ticket : store_tx(rc->st);
    rc->committed = 0;
    rc->commit_why[0] = '\0';
    if (rc->failed) {
        snprintf(err, STORE_ERRLEN, "%s", rc->fail_why);
        code = rc->fail_code;
        rc->failed = 0;
    } else if (store_in_transaction(rc->st)) {
        code = store_commit(rc->st, err);
        if (code == STORE_OK) {
            rc->committed = rc->tried;
            if (rc->group_seq > rc->own_seq) rc->own_seq = rc->group_seq;
            rc->checkpoint_due = 1;
            if (rc->watch.committed) rc->watch.committed(rc->watch.ctx);
        }
    }
    rc->group_seq = 0;
    if (code != STORE_OK) snprintf(rc->commit_why, sizeof rc->commit_why, "%s", err);
    return code;
}

int recorder_durable(const recorder *rc, int64_t ticket, const char **why)
{
    if (ticket && ticket == rc->committed) return 1;
    if (why) *why = ticket && ticket == rc->tried && rc->commit_why[0] ? rc->commit_why
                                                                       : lost_why;
    return 0;
}

void recorder_abandon(recorder *rc)
{
    store_rollback(rc->st);
    rc->group_seq = 0;
    rc->failed = 0;
    rc->in_call = 0;
}

/* The head is read only once this recorder's own entries reach the
** interval: on PostgreSQL that read is a round trip after every answer,
** which the next request of a lockstep client waits behind.  Nothing due
** is missed: every append takes the seq after the head, so whichever
** writer appends the entry that completes an interval sees its own seq
** there; and a seq counted too high (a call's rolled-back writes) only
** costs the read, which then decides. */
void recorder_done(recorder *rc)
{
    if (!rc->checkpoint_due) return;
    rc->checkpoint_due = 0;
    if (rc->own_seq - rc->checkpointed_seq < rc->interval) return;
    checkpoint_if(rc, rc->interval);
}

int recorder_idle(recorder *rc, char *err) { return store_idle(rc->st, err); }

int recorder_checkpoint(recorder *rc, store_checkpoint *cp, char *err)
{
    if (!rc->sg) {
        snprintf(err, STORE_ERRLEN, "no signing key is configured");
        return STORE_EINVAL;
    }
    return checkpoint_now(rc->st, rc->sg, cp, err);
}

int recorder_call_begin(recorder *rc, recorder_call *c, cJSON *args, int writes,
                        char *err)
{
    memset(c, 0, sizeof *c);
    if (!args || scrub_tree(args) != 0) {
        snprintf(err, STORE_ERRLEN, "out of memory");
        return STORE_ENOMEM;
    }
    c->scrubbed = 1;
    /* A read-only log serves reads unrecorded. */
    if (!writes && store_readonly(rc->st)) {
        snprintf(err, STORE_ERRLEN, "the audit log is open read-only");
        return STORE_EREADONLY;
    }
    int code = group_open(rc, err);
    if (code != STORE_OK) return code;
    c->reads_committed = !writes && !store_tx_has_writes(rc->st);
    if (writes) {
        if ((code = store_savepoint(rc->st, err)) != STORE_OK) return code;
        c->savepoint = 1;
    }
    rc->in_call = 1;
    return STORE_OK;
}

int recorder_call_end(recorder *rc, recorder_call *c, int tool_ok, record_event *ev,
                      char *err)
{
    int code = STORE_OK;
    if (c->savepoint && !tool_ok) {
        /* Keep nothing a failed tool wrote, only the record of it. */
        store_savepoint_rollback(rc->st);
        c->savepoint = 0;
        code = store_savepoint(rc->st, err);
        c->savepoint = code == STORE_OK;
    }
    if (code == STORE_OK) code = recorder_append(rc, ev, NULL, err);
    if (code == STORE_OK) {
        if (c->savepoint) store_savepoint_release(rc->st);
        c->ticket = store_tx(rc->st);
    } else if (c->savepoint) {
        store_savepoint_rollback(rc->st);
    }
    c->savepoint = 0;
    rc->in_call = 0;
    return code;
}

int recorder_append_durable(recorder *rc, record_event *ev, store_receipt *out,
                            char *err)
{
    char ignored[STORE_ERRLEN];
    int code = recorder_append(rc, ev, out, err);
    if (code != STORE_OK) {
        recorder_commit(rc, ignored); /* settles the lost group */
        return code;
    }
    code = recorder_commit(rc, err);
    if (code == STORE_OK) recorder_done(rc);
    return code;
}

char *record_identity(const cJSON *info)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(info, "name");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(info, "version");
    return record_server_identity(cJSON_IsString(name) ? name->valuestring : NULL,
                                  cJSON_IsString(ver) ? ver->valuestring : NULL, NULL);
}

char *record_server_identity(const char *name, const char *version, const char *url)
{
    if (!name && !version && !url) return NULL;
    cJSON *c = cJSON_CreateObject();
    char *out = NULL;
    if (!c) return NULL;
    if (name) cJSON_AddStringToObject(c, "name", name);
    if (version) cJSON_AddStringToObject(c, "version", version);
    if (url) cJSON_AddStringToObject(c, "url", url);
    if (scrub_tree(c) == 0) out = jbuf_print(c);
    cJSON_Delete(c);
    return out;
}

int record_results_parse(const char *word, record_results *out)
{
    static const char *const words[] = {"summary", "full", "none"};
    for (int i = 0; i < 3; i++)
        if (word && !strcmp(word, words[i])) {
            *out = (record_results)i;
            return 0;
        }
    return -1;
}

/* The JSON type name of an item, as a schema would say it. */
static const char *type_name(const cJSON *v)
{
    if (cJSON_IsObject(v)) return "object";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsBool(v)) return "boolean";
    return "null";
}

/* The size of a value's JSON text, or -1 when memory runs out. */
static double json_bytes(const cJSON *v)
{
    char *t = jbuf_print(v);
    double n = t ? (double)strlen(t) : -1;
    free(t);
    return n;
}

/* The payload size of one content block: its text, its base64 data, its
** embedded resource's text or blob; for other kinds its JSON text. */
static double content_bytes(const cJSON *c)
{
    static const char *const members[] = {"text", "data"};
    for (int i = 0; i < 2; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, members[i]);
        if (cJSON_IsString(s)) return (double)strlen(s->valuestring);
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "resource");
    for (int i = 0; i < 2; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, i ? "blob" : "text");
        if (cJSON_IsString(s)) return (double)strlen(s->valuestring);
    }
    return json_bytes(c);
}

static cJSON *summary_of(const cJSON *result, int *oom)
{
    cJSON *s = cJSON_CreateObject();
    if (!s) goto fail;
    if (!cJSON_IsObject(result)) {
        double n = json_bytes(result);
        if (n < 0 || !cJSON_AddStringToObject(s, "type", type_name(result)) ||
            !cJSON_AddNumberToObject(s, "bytes", n))
            goto fail;
        return s;
    }
    const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(result, "isError");
    if (!cJSON_AddBoolToObject(s, "isError", cJSON_IsTrue(is_error))) goto fail;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content");
    if (cJSON_IsArray(content)) {
        cJSON *list = cJSON_AddArrayToObject(s, "content");
        if (!list) goto fail;
        const cJSON *c;
        cJSON_ArrayForEach(c, content) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "type");
            cJSON *one = cJSON_CreateObject();
            double n = content_bytes(c);
            if (!one || !cJSON_AddItemToArray(list, one) || n < 0 ||
                !cJSON_AddStringToObject(one, "type",
                                         cJSON_IsString(t) ? t->valuestring : type_name(c)) ||
                !cJSON_AddNumberToObject(one, "bytes", n))
                goto fail;
        }
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
    if (cJSON_IsObject(sc)) {
        cJSON *keys = cJSON_AddArrayToObject(s, "structuredContent_keys");
        if (!keys) goto fail;
        const cJSON *k;
        cJSON_ArrayForEach(k, sc) {
            cJSON *name = cJSON_CreateString(k->string);
            if (!name || !cJSON_AddItemToArray(keys, name)) goto fail;
        }
        /* Key names can carry data too. */
        if (scrub_tree(keys) != 0) goto fail;
    }
    return s;
fail:
    cJSON_Delete(s);
    *oom = 1;
    return NULL;
}

/* The scrubbed result, or its cut text when too long. */
static cJSON *full_of(const cJSON *result, int *oom)
{
    cJSON *copy = cJSON_Duplicate(result, 1);
    char *text = NULL;
    if (!copy || scrub_tree(copy) != 0 || !(text = jbuf_print(copy))) goto fail;
    size_t n = strlen(text);
    if (n <= RECORD_FULL_MAX_BYTES) {
        free(text);
        return copy;
    }
    cJSON_Delete(copy);
    copy = NULL;
    size_t cut = RECORD_FULL_MAX_BYTES;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--;
    text[cut] = '\0';
    cJSON *t = cJSON_CreateObject();
    if (!t || !cJSON_AddTrueToObject(t, "truncated") ||
        !cJSON_AddNumberToObject(t, "bytes", (double)n) ||
        !cJSON_AddStringToObject(t, "text", text)) {
        cJSON_Delete(t);
        goto fail;
    }
    free(text);
    return t;
fail:
    cJSON_Delete(copy);
    free(text);
    *oom = 1;
    return NULL;
}

cJSON *record_result(const cJSON *result, record_results mode, int *oom)
{
    if (mode == RECORD_RESULTS_NONE || !result) return NULL;
    return mode == RECORD_RESULTS_FULL ? full_of(result, oom) : summary_of(result, oom);
}
