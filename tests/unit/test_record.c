/*
** test_record.c: the one recording path that serve, wrap and hook share.
**
** Each case appends through record_append() into a store in memory and
** reads the entry back: what is scrubbed, what encoding v2 adds and how it
** is hashed, and what --record-results keeps of a result.
*/
#include <string.h>

#include "record/record.h"
#include "scrub/scrub.h"
#include "test.h"

static store *open_memory(void)
{
    store *s = NULL;
    char err[STORE_ERRLEN];
    store_options o = {.path = ":memory:"};
    return store_open(&o, &s, err) == STORE_OK ? s : NULL;
}

/* Append ev durably and read its entry back as parsed JSON (caller
** frees), or NULL. */
static cJSON *append_and_get(store *s, record_event *ev, store_receipt *r)
{
    char err[STORE_ERRLEN];
    cJSON *e = NULL;
    if (record_append_durable(s, ev, r, err) != STORE_OK) {
        fprintf(stderr, "append: %s\n", err);
        return NULL;
    }
    if (store_get(s, r->id, &e, err) != STORE_OK) return NULL;
    /* Stored JSON comes back spliced in raw: read it as a client would. */
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    e = text ? cJSON_Parse(text) : NULL;
    cJSON_free(text);
    return e;
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether every stored hash is the recomputed one, chained from zero. */
typedef struct walk {
    uint8_t prev[CHAIN_HASH_BYTES];
    int ok, n, v2;
} walk;

static int walk_one(void *ctx, const store_raw_entry *e)
{
    walk *w = ctx;
    if (!chain_entry_matches(&e->f, e->f.seq, w->prev, e->hash)) w->ok = 0;
    memcpy(w->prev, e->hash, CHAIN_HASH_BYTES);
    w->v2 += chain_encoding(&e->f) == 2;
    w->n++;
    return 0;
}

static walk walk_chain(store *s)
{
    char err[STORE_ERRLEN];
    walk w = {.ok = 1};
    if (store_each_entry(s, 1, walk_one, &w, err) != STORE_OK) w.ok = 0;
    return w;
}

TEST(secret_under_a_sensitive_key_is_redacted_in_every_tree)
{
    store *s = open_memory();
    ASSERT(s);
    cJSON *args = cJSON_Parse("{\"path\":\"/x\",\"password\":\"hunter2-plain\"}");
    cJSON *result = cJSON_Parse("{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],"
                                "\"api_key\":\"opaque-value\"}");
    record_event ev = {.event_type = "tool_call", .operation_name = "read",
                       .args = args, .result = result};
    store_receipt r;
    cJSON *e = append_and_get(s, &ev, &r);
    char *text = e ? cJSON_PrintUnformatted(e) : NULL;
    cJSON_Delete(args);
    cJSON_Delete(result);
    cJSON_Delete(e);
    store_close(s);
    ASSERT(text);
    int leaked = strstr(text, "hunter2-plain") || strstr(text, "opaque-value");
    int redacted = strstr(text, SCRUB_REDACTED) != NULL;
    cJSON_free(text);
    ASSERT(!leaked);
    ASSERT(redacted);
}

TEST(error_text_goes_through_the_value_patterns)
{
    store *s = open_memory();
    ASSERT(s);
    record_event ev = {.event_type = "tool_call", .operation_name = "push",
                       .error = "denied for ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"};
    store_receipt r;
    cJSON *e = append_and_get(s, &ev, &r);
    ASSERT(e);
    const char *err = str_of(e, "error");
    int clean = err && !strstr(err, "ghp_abcdef") && strstr(err, "denied for ");
    cJSON_Delete(e);
    store_close(s);
    ASSERT(clean);
}

TEST(missing_args_are_stored_as_an_empty_object)
{
    store *s = open_memory();
    ASSERT(s);
    record_event ev = {.event_type = "state_transition", .operation_name = "SessionStart"};
    store_receipt r;
    cJSON *e = append_and_get(s, &ev, &r);
    ASSERT(e);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "args");
    int empty = cJSON_IsObject(a) && a->child == NULL;
    cJSON_Delete(e);
    store_close(s);
    ASSERT(empty);
}

TEST(relayed_call_fields_are_stored_and_read_back)
{
    store *s = open_memory();
    ASSERT(s);
    record_event ev = {.event_type = "tool_call", .operation_name = "create_issue",
                       .server = "{\"name\":\"github\",\"version\":\"1.2.0\"}",
                       .session_id = "sess-1", .completes = "req-entry-id",
                       .cwd = "/home/alice/proj", .has_duration = 1, .duration_ms = 42};
    store_receipt r;
    cJSON *e = append_and_get(s, &ev, &r);
    ASSERT(e);
    const cJSON *server = cJSON_GetObjectItemCaseSensitive(e, "server");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(e, "duration_ms");
    int ok = cJSON_IsObject(server) && !strcmp(str_of(server, "name"), "github") &&
             str_of(e, "session_id") && !strcmp(str_of(e, "session_id"), "sess-1") &&
             str_of(e, "completes") && !strcmp(str_of(e, "completes"), "req-entry-id") &&
             str_of(e, "cwd") && !strcmp(str_of(e, "cwd"), "/home/alice/proj") &&
             cJSON_IsNumber(dur) && dur->valuedouble == 42;
    cJSON_Delete(e);
    store_close(s);
    ASSERT(ok);
}

TEST(entries_without_relayed_fields_omit_them)
{
    store *s = open_memory();
    ASSERT(s);
    record_event ev = {.event_type = "tool_call", .operation_name = "plain"};
    store_receipt r;
    cJSON *e = append_and_get(s, &ev, &r);
    ASSERT(e);
    static const char *const v2[] = {"server", "session_id", "duration_ms", "completes", "cwd"};
    int present = 0;
    for (int i = 0; i < 5; i++) present += cJSON_HasObjectItem(e, v2[i]);
    cJSON_Delete(e);
    store_close(s);
    ASSERT_EQ_INT(present, 0);
}

TEST(v2_entries_chain_with_v1_entries_and_verify)
{
    store *s = open_memory();
    ASSERT(s);
    record_event plain = {.event_type = "tool_call", .operation_name = "a"};
    record_event relayed = {.event_type = "tool_call", .operation_name = "b",
                            .session_id = "s", .has_duration = 1, .duration_ms = 0};
    store_receipt r;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(record_append_durable(s, &plain, &r, err), STORE_OK);
    ASSERT_EQ_INT(record_append_durable(s, &relayed, &r, err), STORE_OK);
    ASSERT_EQ_INT(record_append_durable(s, &plain, &r, err), STORE_OK);
    walk w = walk_chain(s);
    store_close(s);
    ASSERT(w.ok);
    ASSERT_EQ_INT(w.n, 3);
    ASSERT_EQ_INT(w.v2, 1);
}

/* Each v2 field alone changes the hash, so none can be edited unseen; and
** an entry holding one is not hashed as v1 (dropping it changes the hash). */
TEST(every_v2_field_is_covered_by_the_hash)
{
    uint8_t prev[CHAIN_HASH_BYTES] = {0}, base[CHAIN_HASH_BYTES], h[CHAIN_HASH_BYTES];
    chain_fields f = {.seq = 1, .id = "i", .event_type = "tool_call",
                      .operation_name = "o", .args = "{}", .created_at = "t",
                      .server = "{\"name\":\"x\"}", .session_id = "s",
                      .duration_ms = "5", .completes = "c", .cwd = "/"};
    chain_entry_hash(&f, prev, base);
    const char **slots[5] = {&f.server, &f.session_id, &f.duration_ms, &f.completes, &f.cwd};
    for (int i = 0; i < 5; i++) {
        const char *keep = *slots[i];
        *slots[i] = "changed";
        chain_entry_hash(&f, prev, h);
        ASSERT(memcmp(h, base, sizeof h) != 0);
        *slots[i] = NULL;
        chain_entry_hash(&f, prev, h);
        ASSERT(memcmp(h, base, sizeof h) != 0);
        *slots[i] = keep;
    }
    ASSERT_EQ_INT(chain_encoding(&f), 2);
    f.server = f.session_id = f.duration_ms = f.completes = f.cwd = NULL;
    ASSERT_EQ_INT(chain_encoding(&f), 1);
}

TEST(server_and_session_filters_select_relayed_calls)
{
    store *s = open_memory();
    ASSERT(s);
    record_event a = {.event_type = "tool_call", .operation_name = "x",
                      .server = "{\"name\":\"github\"}", .session_id = "s1"};
    record_event b = {.event_type = "tool_call", .operation_name = "y",
                      .server = "{\"name\":\"files\"}", .session_id = "s1"};
    record_event c = {.event_type = "tool_call", .operation_name = "z"};
    store_receipt r;
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(record_append_durable(s, &a, &r, err), STORE_OK);
    ASSERT_EQ_INT(record_append_durable(s, &b, &r, err), STORE_OK);
    ASSERT_EQ_INT(record_append_durable(s, &c, &r, err), STORE_OK);
    cJSON *by_server = NULL, *by_session = NULL, *by_completes = NULL;
    store_query qs = {.server = "github", .limit = 10};
    store_query qe = {.session_id = "s1", .limit = 10};
    store_query qc = {.completes = "nothing", .limit = 10};
    int rs = store_find(s, &qs, &by_server, NULL, err);
    int re = store_find(s, &qe, &by_session, NULL, err);
    int rc = store_find(s, &qc, &by_completes, NULL, err);
    int n_server = cJSON_GetArraySize(by_server), n_session = cJSON_GetArraySize(by_session);
    int n_completes = cJSON_GetArraySize(by_completes);
    const char *op = str_of(cJSON_GetArrayItem(by_server, 0), "operation_name");
    int first_is_x = op && !strcmp(op, "x");
    cJSON_Delete(by_server);
    cJSON_Delete(by_session);
    cJSON_Delete(by_completes);
    store_close(s);
    ASSERT_EQ_INT(rs, STORE_OK);
    ASSERT_EQ_INT(re, STORE_OK);
    ASSERT_EQ_INT(rc, STORE_OK);
    ASSERT_EQ_INT(n_server, 1);
    ASSERT(first_is_x);
    ASSERT_EQ_INT(n_session, 2);
    ASSERT_EQ_INT(n_completes, 0);
}

TEST(identity_keeps_name_and_version_only)
{
    cJSON *info = cJSON_Parse("{\"name\":\"srv\",\"version\":\"2\",\"title\":\"T\"}");
    char *id = record_identity(info);
    cJSON *none = cJSON_Parse("{\"title\":\"T\"}");
    char *nothing = record_identity(none);
    cJSON_Delete(info);
    cJSON_Delete(none);
    int ok = id && !strcmp(id, "{\"name\":\"srv\",\"version\":\"2\"}");
    free(id);
    ASSERT(ok);
    ASSERT(nothing == NULL);
}

TEST(results_words_parse)
{
    record_results m;
    ASSERT_EQ_INT(record_results_parse("summary", &m), 0);
    ASSERT_EQ_INT(m, RECORD_RESULTS_SUMMARY);
    ASSERT_EQ_INT(record_results_parse("full", &m), 0);
    ASSERT_EQ_INT(m, RECORD_RESULTS_FULL);
    ASSERT_EQ_INT(record_results_parse("none", &m), 0);
    ASSERT_EQ_INT(m, RECORD_RESULTS_NONE);
    ASSERT_EQ_INT(record_results_parse("all", &m), -1);
    ASSERT_EQ_INT(record_results_parse(NULL, &m), -1);
}

TEST(summary_keeps_types_sizes_keys_and_is_error)
{
    cJSON *res = cJSON_Parse("{\"content\":[{\"type\":\"text\",\"text\":\"hello\"},"
                             "{\"type\":\"image\",\"data\":\"QUJD\",\"mimeType\":\"image/png\"}],"
                             "\"structuredContent\":{\"count\":3,\"items\":[]},"
                             "\"isError\":false}");
    int oom = 0;
    cJSON *s = record_result(res, RECORD_RESULTS_SUMMARY, &oom);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(res);
    cJSON_Delete(s);
    ASSERT(!oom);
    ASSERT_EQ_STR(text, "{\"isError\":false,\"content\":[{\"type\":\"text\",\"bytes\":5},"
                        "{\"type\":\"image\",\"bytes\":4}],"
                        "\"structuredContent_keys\":[\"count\",\"items\"]}");
    cJSON_free(text);
}

TEST(summary_holds_no_content_text)
{
    cJSON *res = cJSON_Parse("{\"content\":[{\"type\":\"text\",\"text\":\"private words\"}]}");
    int oom = 0;
    cJSON *s = record_result(res, RECORD_RESULTS_SUMMARY, &oom);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(res);
    cJSON_Delete(s);
    ASSERT(text);
    int leaked = strstr(text, "private words") != NULL;
    cJSON_free(text);
    ASSERT(!leaked);
}

TEST(none_keeps_nothing)
{
    cJSON *res = cJSON_Parse("{\"content\":[]}");
    int oom = 0;
    cJSON *s = record_result(res, RECORD_RESULTS_NONE, &oom);
    cJSON_Delete(res);
    ASSERT(s == NULL);
    ASSERT(!oom);
}

TEST(full_keeps_the_scrubbed_result)
{
    cJSON *res = cJSON_Parse("{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],"
                             "\"structuredContent\":{\"token\":\"abc-opaque\"}}");
    int oom = 0;
    cJSON *s = record_result(res, RECORD_RESULTS_FULL, &oom);
    char *text = s ? cJSON_PrintUnformatted(s) : NULL;
    char *orig = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    cJSON_Delete(s);
    ASSERT(text && orig);
    int leaked = strstr(text, "abc-opaque") != NULL;
    int kept = strstr(text, "\"text\":\"ok\"") != NULL;
    int original_untouched = strstr(orig, "abc-opaque") != NULL;
    cJSON_free(text);
    cJSON_free(orig);
    ASSERT(!leaked);
    ASSERT(kept);
    ASSERT(original_untouched);
}

TEST(full_result_past_the_limit_is_cut_and_marked)
{
    size_t n = RECORD_FULL_MAX_BYTES + 1000;
    char *big = malloc(n + 1);
    ASSERT(big);
    /* Two-byte characters, so a cut in the middle of one would show. */
    for (size_t i = 0; i + 1 < n; i += 2) memcpy(big + i, "\xc3\xa9", 2);
    big[n - (n % 2)] = '\0';
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "text", big);
    free(big);
    int oom = 0;
    cJSON *s = record_result(res, RECORD_RESULTS_FULL, &oom);
    cJSON_Delete(res);
    ASSERT(s);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "text");
    int marked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "truncated"));
    double bytes = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "bytes"));
    size_t kept = cJSON_IsString(t) ? strlen(t->valuestring) : 0;
    /* The kept text is the JSON text {"text":"ééé...: 9 ASCII bytes, then
    ** whole two-byte characters. */
    int whole = kept >= 9 && (kept - 9) % 2 == 0;
    cJSON_Delete(s);
    ASSERT(marked);
    ASSERT(bytes > RECORD_FULL_MAX_BYTES);
    ASSERT(kept <= RECORD_FULL_MAX_BYTES);
    ASSERT(kept > RECORD_FULL_MAX_BYTES - 4);
    ASSERT(whole);
}

TEST_MAIN(
    TEST_ENTRY(secret_under_a_sensitive_key_is_redacted_in_every_tree)
    TEST_ENTRY(error_text_goes_through_the_value_patterns)
    TEST_ENTRY(missing_args_are_stored_as_an_empty_object)
    TEST_ENTRY(relayed_call_fields_are_stored_and_read_back)
    TEST_ENTRY(entries_without_relayed_fields_omit_them)
    TEST_ENTRY(v2_entries_chain_with_v1_entries_and_verify)
    TEST_ENTRY(every_v2_field_is_covered_by_the_hash)
    TEST_ENTRY(server_and_session_filters_select_relayed_calls)
    TEST_ENTRY(identity_keeps_name_and_version_only)
    TEST_ENTRY(results_words_parse)
    TEST_ENTRY(summary_keeps_types_sizes_keys_and_is_error)
    TEST_ENTRY(summary_holds_no_content_text)
    TEST_ENTRY(none_keeps_nothing)
    TEST_ENTRY(full_keeps_the_scrubbed_result)
    TEST_ENTRY(full_result_past_the_limit_is_cut_and_marked)
)
