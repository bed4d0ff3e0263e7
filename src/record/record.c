/*
** record.c: scrub, serialize and append one event (see record.h).
**
** The JSON fields are scrubbed as trees, before serialization, so no secret
** reaches the text the store keeps; the error text goes through the value
** patterns.  Serialization uses jbuf_print(), the same printer as every
** other stored field, so an entry's bytes do not depend on its door.
*/
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scrub/scrub.h"
#include "../util/jbuf.h"

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

int record_append(store *st, record_event *ev, store_receipt *out, char *err)
{
    enum { ARGS, RESULT, BEFORE, AFTER, N_TREES };
    cJSON *trees[N_TREES] = {ev->args, ev->result, ev->before_state, ev->after_state};
    char *text[N_TREES] = {NULL, NULL, NULL, NULL};
    char *clean_error = NULL;
    int rc = STORE_ENOMEM;
    for (int i = 0; i < N_TREES; i++)
        if (field_text(trees[i], ev->scrubbed, &text[i]) != 0) goto done;
    /* An error message may quote what the caller sent. */
    const char *error = ev->error;
    if (error && scrub_text(error, strlen(error), &clean_error, NULL) < 0) goto done;
    if (clean_error) error = clean_error;
    store_record rec = {
        .event_type = ev->event_type,
        .operation_name = ev->operation_name,
        .operation_id = ev->operation_id,
        .user_id = ev->user_id,
        .project_id = ev->project_id,
        .args = text[ARGS] ? text[ARGS] : "{}",
        .result = text[RESULT],
        .error = error,
        .before_state = text[BEFORE],
        .after_state = text[AFTER],
        .client = ev->client,
        .server = ev->server,
        .session_id = ev->session_id,
        .completes = ev->completes,
        .cwd = ev->cwd,
        .has_duration = ev->has_duration,
        .duration_ms = ev->duration_ms,
    };
    rc = store_append(st, &rec, out, err);
done:
    if (rc == STORE_ENOMEM) snprintf(err, STORE_ERRLEN, "out of memory");
    for (int i = 0; i < N_TREES; i++) free(text[i]);
    free(clean_error);
    return rc;
}

int record_append_durable(store *st, record_event *ev, store_receipt *out,
                          char *err)
{
    int rc = store_begin(st, err);
    if (rc != STORE_OK) return rc;
    rc = record_append(st, ev, out, err);
    if (rc == STORE_OK) return store_commit(st, err);
    store_rollback(st);
    return rc;
}

char *record_identity(const cJSON *info)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(info, "name");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(info, "version");
    if (!cJSON_IsString(name) && !cJSON_IsString(ver)) return NULL;
    cJSON *c = cJSON_CreateObject();
    char *out = NULL;
    if (!c) return NULL;
    if (cJSON_IsString(name)) cJSON_AddStringToObject(c, "name", name->valuestring);
    if (cJSON_IsString(ver)) cJSON_AddStringToObject(c, "version", ver->valuestring);
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
