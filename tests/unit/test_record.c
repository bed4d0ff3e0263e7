/*
** test_record.c: the one recording path that serve, wrap and hook share.
**
** Each case appends through a recorder into a store in memory and reads
** the entry back: what is scrubbed, what encoding v2 adds and how it is
** hashed, and what --record-results keeps of a result.  Then the
** recorder's transaction policy: groups and their tickets, calls and their
** savepoints, a lost group, checkpoints every N entries and at close.
*/
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "integrity/checkpoint.h"
#include "record/record.h"
#include "scrub/scrub.h"
#include "store/store_testing.h"
#include "test.h"

static store *open_memory(void)
{
    store *s = NULL;
    char err[STORE_ERRLEN];
    store_options o = {.path = ":memory:"};
    return store_open(&o, &s, err) == STORE_OK ? s : NULL;
}

/* ev appended durably by a recorder of its own over s. */
static int append_durable(store *s, record_event *ev, store_receipt *r, char *err)
{
    recorder *rc = recorder_open(s, NULL);
    int code = rc ? recorder_append_durable(rc, ev, r, err) : STORE_ENOMEM;
    recorder_close(rc);
    return code;
}

/* Append ev durably and read its entry back as parsed JSON (caller
** frees), or NULL. */
static cJSON *append_and_get(store *s, record_event *ev, store_receipt *r)
{
    char err[STORE_ERRLEN];
    cJSON *e = NULL;
    if (append_durable(s, ev, r, err) != STORE_OK) {
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
    ASSERT_EQ_INT(append_durable(s, &plain, &r, err), STORE_OK);
    ASSERT_EQ_INT(append_durable(s, &relayed, &r, err), STORE_OK);
    ASSERT_EQ_INT(append_durable(s, &plain, &r, err), STORE_OK);
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
    ASSERT_EQ_INT(append_durable(s, &a, &r, err), STORE_OK);
    ASSERT_EQ_INT(append_durable(s, &b, &r, err), STORE_OK);
    ASSERT_EQ_INT(append_durable(s, &c, &r, err), STORE_OK);
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

/* ---- the recorder's transaction policy --------------------------------- */

/* The number of entries in the log (its head seq). */
static int64_t head_of(store *s)
{
    int64_t head = -1;
    char hash[CHAIN_HEX_LEN], err[STORE_ERRLEN];
    if (store_head(s, &head, hash, err) != STORE_OK) return -1;
    return head;
}

/* The seq of the newest checkpoint, 0 when there is none. */
static int64_t last_checkpoint_seq(store *s)
{
    store_checkpoint cp;
    char err[STORE_ERRLEN];
    return store_last_checkpoint(s, &cp, err) == STORE_OK ? cp.seq : 0;
}

/* A fixed signing key, never written to disk. */
static void test_key(signer *sg)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, 0x42, sizeof seed);
    crypto_sign_seed_keypair(sg->pk, sg->sk, seed);
    sodium_bin2hex(sg->pk_hex, sizeof sg->pk_hex, sg->pk, sizeof sg->pk);
}

static int copy_key(void *ctx, const store_log *log)
{
    snprintf(ctx, 65, "%s", log->public_key);
    return 0;
}

/* An event the store refuses: its event_type is required. */
static record_event refused_event(void)
{
    return (record_event){.event_type = NULL, .operation_name = "refused"};
}

/* n entries in one group, committed, and the answers "sent"
** (recorder_done): STORE_OK or the first failure. */
static int write_group(recorder *rc, int n, char *err)
{
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    int code = STORE_OK;
    for (int i = 0; i < n && code == STORE_OK; i++) code = recorder_append(rc, &a, NULL, err);
    if (code == STORE_OK) code = recorder_commit(rc, err);
    if (code == STORE_OK) recorder_done(rc);
    return code;
}

/* A store in memory (*s) and a recorder over it, or NULL. */
static recorder *open_recording(store **s, const recorder_options *o)
{
    *s = open_memory();
    return *s ? recorder_open(*s, o) : NULL;
}

/* One call on empty arguments, as serve makes it: begin, the tool (which
** appends wrote, when not NULL, and fails when that fails or tool_ok is
** 0), then the call's record.  What begin or the record returned. */
static int run_call(recorder *rc, recorder_call *c, int writes, record_event *wrote,
                    int tool_ok, record_event *record, char *err)
{
    cJSON *args = cJSON_CreateObject();
    int code = recorder_call_begin(rc, c, args, writes, err);
    if (code == STORE_OK) {
        if (wrote && recorder_append(rc, wrote, NULL, err) != STORE_OK) tool_ok = 0;
        code = recorder_call_end(rc, c, tool_ok, record, err);
    }
    cJSON_Delete(args);
    return code;
}

/* How many entries of the log have this operation_name; -1 on failure. */
static int count_op(store *s, const char *op)
{
    char err[STORE_ERRLEN];
    cJSON *list = NULL;
    store_query q = {.operation_name = op, .limit = 100};
    int n = store_find(s, &q, &list, NULL, err) == STORE_OK ? cJSON_GetArraySize(list) : -1;
    cJSON_Delete(list);
    return n;
}

TEST(group_begins_with_its_first_write_and_one_commit_makes_it_durable)
{
    store *s;
    recorder *rc = open_recording(&s, NULL);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(recorder_pending(rc), 0);
    ASSERT_EQ_INT(recorder_ticket(rc), 0);
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    record_event b = {.event_type = "tool_call", .operation_name = "b"};
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    int64_t t1 = recorder_ticket(rc);
    ASSERT_EQ_INT(recorder_append(rc, &b, NULL, err), STORE_OK);
    int64_t t2 = recorder_ticket(rc);
    ASSERT(t1 != 0);
    ASSERT_EQ_INT(t1, t2); /* one group */
    ASSERT_EQ_INT(recorder_pending(rc), 1);
    ASSERT(!recorder_durable(rc, t1, NULL)); /* not before the commit */
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK);
    ASSERT(recorder_durable(rc, t1, NULL));
    ASSERT_EQ_INT(recorder_pending(rc), 0);
    ASSERT_EQ_INT(head_of(s), 2);
    /* The next write begins a new group with a new ticket. */
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    ASSERT(recorder_ticket(rc) != t1);
    recorder_close(rc);
    ASSERT_EQ_INT(head_of(s), 2); /* an uncommitted group is rolled back */
    store_close(s);
}

TEST(abandoned_group_keeps_nothing)
{
    store *s;
    recorder *rc = open_recording(&s, NULL);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    int64_t t = recorder_ticket(rc);
    recorder_abandon(rc);
    ASSERT_EQ_INT(recorder_pending(rc), 0);
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK); /* nothing to commit */
    ASSERT(!recorder_durable(rc, t, NULL));
    ASSERT_EQ_INT(head_of(s), 0);
    recorder_close(rc);
    store_close(s);
}

/* wrap's rule: outside a call, one failed record fails the whole group, and
** none of its requests may be forwarded. */
TEST(failed_write_outside_a_call_loses_the_whole_group)
{
    store *s;
    recorder *rc = open_recording(&s, NULL);
    ASSERT(rc);
    char err[STORE_ERRLEN], first[STORE_ERRLEN];
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    record_event bad = refused_event();
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    int64_t t = recorder_ticket(rc);
    ASSERT(recorder_append(rc, &bad, NULL, first) != STORE_OK);
    ASSERT_EQ_INT(recorder_ticket(rc), 0);
    ASSERT_EQ_INT(recorder_pending(rc), 1);
    /* Later appends of the group fail with the same sentence. */
    ASSERT(recorder_append(rc, &a, NULL, err) != STORE_OK);
    ASSERT_EQ_STR(err, first);
    ASSERT(recorder_commit(rc, err) != STORE_OK);
    ASSERT_EQ_STR(err, first);
    const char *why = NULL;
    ASSERT(!recorder_durable(rc, t, &why));
    ASSERT(why);
    ASSERT_EQ_STR(why, first);
    ASSERT_EQ_INT(head_of(s), 0);
    /* The commit settled it: the next group works. */
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    t = recorder_ticket(rc);
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK);
    ASSERT(recorder_durable(rc, t, NULL));
    ASSERT_EQ_INT(head_of(s), 1);
    recorder_close(rc);
    store_close(s);
}

TEST(call_scrubs_its_arguments_before_the_tool_sees_them)
{
    store *s;
    recorder *rc = open_recording(&s, NULL);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    cJSON *args = cJSON_Parse("{\"path\":\"/x\",\"password\":\"hunter2-plain\"}");
    recorder_call c;
    int began = recorder_call_begin(rc, &c, args, 0, err);
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(args, "password");
    int redacted = cJSON_IsString(pw) && strcmp(pw->valuestring, SCRUB_REDACTED) == 0;
    record_event ev = {.event_type = "tool_call", .operation_name = "read", .args = args,
                       .scrubbed = 1};
    int ended = began == STORE_OK ? recorder_call_end(rc, &c, 1, &ev, err) : began;
    cJSON_Delete(args);
    ASSERT_EQ_INT(began, STORE_OK);
    ASSERT(c.scrubbed);
    ASSERT(redacted);
    ASSERT_EQ_INT(ended, STORE_OK);
    ASSERT(c.ticket != 0);
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK);
    ASSERT(recorder_durable(rc, c.ticket, NULL));
    recorder_close(rc);
    store_close(s);
}

/* serve's rule: a failed tool keeps only the record of its attempt, and a
** call whose record fails keeps nothing, without undoing the other calls
** of the group. */
TEST(failed_call_keeps_only_its_record_and_spares_the_others)
{
    store *s;
    recorder *rc = open_recording(&s, NULL);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    record_event entry = {.event_type = "project_update", .operation_name = "wrote"};
    record_event record = {.event_type = "tool_call", .operation_name = "log_operation"};
    record_event bad = refused_event();
    recorder_call c1, c2, c3;
    /* 1: succeeds, entry and record. */
    ASSERT_EQ_INT(run_call(rc, &c1, 1, &entry, 1, &record, err), STORE_OK);
    /* 2: the tool wrote, then failed: only its record stays. */
    ASSERT_EQ_INT(run_call(rc, &c2, 1, &entry, 0, &record, err), STORE_OK);
    /* 3: the tool wrote, but its record fails: nothing of it stays. */
    ASSERT(run_call(rc, &c3, 1, &entry, 1, &bad, err) != STORE_OK);
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK);
    ASSERT(recorder_durable(rc, c1.ticket, NULL));
    ASSERT(recorder_durable(rc, c2.ticket, NULL));
    ASSERT_EQ_INT(head_of(s), 3);
    cJSON *all = NULL;
    store_query q = {.limit = 10};
    ASSERT_EQ_INT(store_find(s, &q, &all, NULL, err), STORE_OK);
    int updates = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, all) updates += !strcmp(str_of(e, "event_type"), "project_update");
    cJSON_Delete(all);
    ASSERT_EQ_INT(updates, 1);
    recorder_close(rc);
    store_close(s);
}

/* A read answered from committed data stays true if the group's commit
** fails; one made after the group wrote does not. */
TEST(reads_committed_only_until_the_group_has_written)
{
    store *s;
    recorder *rc = open_recording(&s, NULL);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    record_event record = {.event_type = "tool_call", .operation_name = "query"};
    recorder_call c1, c2, w;
    ASSERT_EQ_INT(run_call(rc, &c1, 0, NULL, 1, &record, err), STORE_OK);
    ASSERT(c1.reads_committed);
    ASSERT_EQ_INT(run_call(rc, &c2, 0, NULL, 1, &record, err), STORE_OK);
    ASSERT(!c2.reads_committed); /* the group holds c1's record */
    ASSERT_EQ_INT(run_call(rc, &w, 1, NULL, 1, &record, err), STORE_OK);
    ASSERT(!w.reads_committed); /* a write is never answered unrecorded */
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK);
    recorder_close(rc);
    store_close(s);
}

/* The file system refusing a write in the middle of a group (the file
** size limit, RLIMIT_FSIZE, reached while a huge entry spills from a small
** cache): SQLite rolls the whole transaction back by itself, so the group's
** earlier call, although its record was appended, is not durable, and says
** so; the next group works once the files may grow again. */
TEST(database_failing_mid_group_takes_back_the_groups_tickets)
{
    char path[] = "/tmp/dss-record-XXXXXX", db[64], wal[80], err[STORE_ERRLEN];
    ASSERT(mkdtemp(path));
    snprintf(db, sizeof db, "%s/audit.db", path);
    snprintf(wal, sizeof wal, "%s-wal", db);
    store *s = NULL;
    store_options o = {.path = db};
    int opened = store_open(&o, &s, err) == STORE_OK &&
                 store_set_cache_size(s, 256, err) == STORE_OK;
    recorder *rc = opened ? recorder_open(s, NULL) : NULL;
    size_t n = 4 * 1024 * 1024;
    char *huge = malloc(n + 1);
    cJSON *big = huge ? cJSON_CreateObject() : NULL;
    if (big) {
        memset(huge, 'x', n);
        huge[n] = '\0';
        cJSON_AddStringToObject(big, "blob", huge);
    }
    record_event small = {.event_type = "project_update", .operation_name = "small"};
    record_event large = {.event_type = "project_update", .operation_name = "huge",
                          .args = big};
    record_event record = {.event_type = "tool_call", .operation_name = "log_operation"};
    recorder_call c1, c2;
    int first = rc ? run_call(rc, &c1, 1, &small, 1, &record, err) : -1;
    /* From here the files may not grow past their size now (and 64 KiB). */
    struct stat a, b;
    struct rlimit old, lim;
    int limited = stat(db, &a) == 0 && stat(wal, &b) == 0 && getrlimit(RLIMIT_FSIZE, &old) == 0;
    lim = old;
    lim.rlim_cur = (rlim_t)(a.st_size > b.st_size ? a.st_size : b.st_size) + 65536;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    limited = limited && setrlimit(RLIMIT_FSIZE, &lim) == 0;
    int second = rc ? run_call(rc, &c2, 1, &large, 1, &record, err) : STORE_OK;
    int pending = rc ? recorder_pending(rc) : -1;
    int committed = rc ? recorder_commit(rc, err) : -1;
    const char *why = NULL;
    int durable = rc ? recorder_durable(rc, c1.ticket, &why) : -1;
    char said[STORE_ERRLEN];
    snprintf(said, sizeof said, "%s", why ? why : "");
    if (limited) setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, was);
    int small_kept = opened ? count_op(s, "small") : -1;
    int next = rc ? write_group(rc, 1, err) : -1;
    recorder_close(rc);
    store_close(s);
    cJSON_Delete(big);
    free(huge);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    ASSERT(system(cmd) == 0);
    ASSERT(opened && rc && big);
    ASSERT(limited);
    ASSERT_EQ_INT(first, STORE_OK);
    ASSERT(second != STORE_OK);      /* not even the failed attempt's record */
    ASSERT_EQ_INT(pending, 0);       /* the database ended the group itself */
    ASSERT_EQ_INT(committed, STORE_OK);
    ASSERT_EQ_INT(small_kept, 0);
    ASSERT_EQ_INT(durable, 0);       /* so call 1 must not be acknowledged */
    ASSERT(strstr(said, "rolled back"));
    ASSERT_EQ_INT(next, STORE_OK);
}

TEST(read_only_store_serves_reads_unrecorded)
{
    char path[] = "/tmp/dss-record-XXXXXX", db[64], err[STORE_ERRLEN];
    ASSERT(mkdtemp(path));
    snprintf(db, sizeof db, "%s/audit.db", path);
    store *s = NULL;
    store_options rw = {.path = db}, ro = {.path = db, .readonly = 1};
    int made = store_open(&rw, &s, err) == STORE_OK;
    store_close(s);
    s = NULL;
    int opened = made && store_open(&ro, &s, err) == STORE_OK;
    recorder *rc = opened ? recorder_open(s, NULL) : NULL;
    recorder_call r, w;
    cJSON *args = cJSON_CreateObject();
    int read = rc ? recorder_call_begin(rc, &r, args, 0, err) : 0;
    int write = rc ? recorder_call_begin(rc, &w, args, 1, err) : 0;
    cJSON_Delete(args);
    recorder_close(rc);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    ASSERT(system(cmd) == 0);
    ASSERT(rc);
    ASSERT_EQ_INT(read, STORE_EREADONLY);
    ASSERT(r.scrubbed); /* the read may run */
    ASSERT_EQ_INT(write, STORE_EREADONLY);
}

TEST(checkpoint_every_interval_once_the_answers_are_out)
{
    signer sg;
    test_key(&sg);
    store *s;
    recorder_options o = {.sg = &sg, .checkpoint_interval = 3};
    recorder *rc = open_recording(&s, &o);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(write_group(rc, 2, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 0); /* 2 < 3 */
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    ASSERT_EQ_INT(recorder_commit(rc, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 0); /* not before the answers go */
    recorder_done(rc);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 3);
    ASSERT_EQ_INT(write_group(rc, 2, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 3); /* 2 more < 3 */
    /* The key is recorded with the log. */
    char key[65] = "";
    ASSERT_EQ_INT(store_each_log(s, copy_key, key, err), STORE_OK);
    ASSERT_EQ_STR(key, sg.pk_hex);
    recorder_close(rc);
    store_close(s);
}

/* Below the interval the recorder's own entries tell it no checkpoint is
** due, so an answer is not followed by a read of the head (a round trip
** on PostgreSQL that the next request waits behind). */
TEST(no_head_read_after_an_answer_until_the_interval_is_near)
{
    signer sg;
    test_key(&sg);
    store *s;
    recorder_options o = {.sg = &sg, .checkpoint_interval = 5};
    recorder *rc = open_recording(&s, &o);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    int64_t before = store_testing_heads_read(s);
    for (int i = 0; i < 4; i++) ASSERT_EQ_INT(write_group(rc, 1, err), STORE_OK);
    ASSERT_EQ_INT((int)(store_testing_heads_read(s) - before), 0);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 0);
    ASSERT_EQ_INT(write_group(rc, 1, err), STORE_OK); /* the fifth */
    ASSERT_EQ_INT(last_checkpoint_seq(s), 5);
    recorder_close(rc);
    store_close(s);
}

/* Entries of another writer on the log count towards the interval: the
** signing recorder checkpoints at its first answer past it. */
TEST(checkpoint_counts_the_entries_of_other_writers)
{
    signer sg;
    test_key(&sg);
    store *s;
    recorder_options o = {.sg = &sg, .checkpoint_interval = 4};
    recorder *rc = open_recording(&s, &o);
    ASSERT(rc);
    recorder *other = recorder_open(s, NULL); /* no key: never checkpoints */
    ASSERT(other);
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(write_group(rc, 1, err), STORE_OK);
    ASSERT_EQ_INT(write_group(other, 5, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 0);
    ASSERT_EQ_INT(write_group(rc, 1, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 7);
    /* A checkpoint another writer made is seen, not repeated. */
    ASSERT_EQ_INT(write_group(other, 2, err), STORE_OK);
    store_checkpoint cp;
    ASSERT_EQ_INT(checkpoint_now(s, &sg, &cp, err), STORE_OK);
    ASSERT_EQ_INT(write_group(rc, 1, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 9);
    recorder_close(other);
    recorder_close(rc);
    store_close(s);
}

TEST(close_checkpoints_the_final_head_but_not_an_uncommitted_group)
{
    signer sg;
    test_key(&sg);
    store *s;
    recorder_options o = {.sg = &sg, .checkpoint_interval = 1000};
    recorder *rc = open_recording(&s, &o);
    ASSERT(rc);
    char err[STORE_ERRLEN];
    ASSERT_EQ_INT(write_group(rc, 2, err), STORE_OK);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 0);
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK); /* never committed */
    recorder_close(rc);
    ASSERT_EQ_INT(head_of(s), 2);
    ASSERT_EQ_INT(last_checkpoint_seq(s), 2);
    /* A recorder with nothing new to sign adds no checkpoint. */
    rc = recorder_open(s, &o);
    ASSERT(rc);
    recorder_close(rc);
    store_checkpoint cp;
    ASSERT_EQ_INT(store_last_checkpoint(s, &cp, err), STORE_OK);
    ASSERT_EQ_INT(cp.number, 1);
    store_close(s);
}

TEST(create_checkpoint_needs_a_key_and_signs_inside_the_group)
{
    signer sg;
    test_key(&sg);
    store *s;
    recorder *bare = open_recording(&s, NULL);
    ASSERT(bare);
    char err[STORE_ERRLEN];
    store_checkpoint cp;
    ASSERT_EQ_INT(recorder_checkpoint(bare, &cp, err), STORE_EINVAL);
    recorder_close(bare);
    recorder_options o = {.sg = &sg};
    recorder *rc = recorder_open(s, &o);
    ASSERT(rc);
    record_event a = {.event_type = "tool_call", .operation_name = "a"};
    ASSERT_EQ_INT(recorder_append(rc, &a, NULL, err), STORE_OK);
    ASSERT_EQ_INT(recorder_checkpoint(rc, &cp, err), STORE_OK);
    ASSERT_EQ_INT(cp.seq, 1);
    recorder_abandon(rc); /* the checkpoint was part of the group */
    ASSERT_EQ_INT(last_checkpoint_seq(s), 0);
    recorder_close(rc);
    store_close(s);
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
    TEST_ENTRY(group_begins_with_its_first_write_and_one_commit_makes_it_durable)
    TEST_ENTRY(abandoned_group_keeps_nothing)
    TEST_ENTRY(failed_write_outside_a_call_loses_the_whole_group)
    TEST_ENTRY(call_scrubs_its_arguments_before_the_tool_sees_them)
    TEST_ENTRY(failed_call_keeps_only_its_record_and_spares_the_others)
    TEST_ENTRY(reads_committed_only_until_the_group_has_written)
    TEST_ENTRY(database_failing_mid_group_takes_back_the_groups_tickets)
    TEST_ENTRY(read_only_store_serves_reads_unrecorded)
    TEST_ENTRY(checkpoint_every_interval_once_the_answers_are_out)
    TEST_ENTRY(no_head_read_after_an_answer_until_the_interval_is_near)
    TEST_ENTRY(checkpoint_counts_the_entries_of_other_writers)
    TEST_ENTRY(close_checkpoints_the_final_head_but_not_an_uncommitted_group)
    TEST_ENTRY(create_checkpoint_needs_a_key_and_signs_inside_the_group)
)
