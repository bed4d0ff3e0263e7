/*
** fuzz_viewer.c: a libFuzzer target for what a browser sends the trail
** viewer (`dss-audit-mcp ui`): the request target of a GET under /api/.
**
** The input is the target as it appears on the request line, PATH or
** PATH?QUERY.  It is taken apart as libmicrohttpd does for viewer_http.c
** (the path and each key and value %-decoded, '+' a space in the query; a
** key without '=' has no value; the first of repeated keys is the one
** looked up), and viewer_api_get() answers it, over an in-memory store
** made once with entries of a few users, event types, sessions and
** servers, and signed checkpoints.
**
** Besides the sanitizers, the target checks and aborts when broken:
**   - the status is 200, 400 or 404 (the database never fails here: 500
**     means a parameter reached it unchecked);
**   - the body is one JSON object in valid UTF-8; a status other than 200
**     carries exactly {"error": "sentence"};
**   - /api/entries honours limit (VIEWER_PAGE_DEFAULT without one), gives
**     entries newest first, each matching the user, event_type and
**     session filters it was given, and a cursor exactly when there is
**     more; /api/entry gives the entry asked for.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=4096
** fuzz sources: src/viewer/viewer_api.c src/viewer/viewer_verify.c
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "integrity/signer.h"
#include "record/record.h"
#include "store/chain.h"
#include "store/store.h"
#include "util/jbuf.h"
#include "util/jsoncheck.h"
#include "viewer/viewer_api.h"

#define FUZZ_PARAMS 32

static store *st;
static viewer_api api;

static void die(const char *what, const char *detail, size_t n)
{
    fprintf(stderr, "fuzz_viewer: %s: %.*s\n", what, (int)(n > 400 ? 400 : n),
            detail ? detail : "(null)");
    abort();
}

/* ---- the store ----------------------------------------------------------- */

static void make_store(void)
{
    char err[STORE_ERRLEN];
    static signer sg;
    if (chain_init() != 0) die("chain_init", "libsodium", 9);
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, 0x5a, sizeof seed);
    crypto_sign_seed_keypair(sg.pk, sg.sk, seed);
    sodium_bin2hex(sg.pk_hex, sizeof sg.pk_hex, sg.pk, sizeof sg.pk);
    store_options so = {.path = ":memory:"};
    if (store_open(&so, &st, err) != STORE_OK) die("store_open", err, strlen(err));
    recorder_options ro = {.sg = &sg, .checkpoint_interval = 4};
    recorder *rec = recorder_open(st, &ro);
    if (!rec) die("recorder_open", "out of memory", 13);
    static const char *const users[] = {"alice", "bob", "Bob", "c%20d"};
    static const char *const types[] = {"tool_call", "mcp_outcome", "project_update",
                                        "mcp_request"};
    static const char *const ops[] = {"echo", "get-sum", "read_file", "50%_off", "a_b"};
    for (int i = 0; i < 23; i++) {
        cJSON *args = cJSON_Parse("{\"html\":\"<script>x</script>\",\"n\":1}");
        record_event ev = {
            .event_type = types[i % 4], .operation_name = ops[i % 5],
            .operation_id = i % 3 ? "7" : "\"s-1\"", .user_id = users[i % 4],
            .project_id = i % 2 ? "p1" : NULL, .args = args,
            .error = i % 5 == 1 ? "JSON-RPC error -32603: boom" : NULL,
            .session_id = i < 12 ? "sess-a" : "sess-b",
            .server = i % 2 ? "{\"name\":\"figma\",\"version\":\"1\"}"
                            : "{\"name\":\"git\",\"version\":\"2\"}",
            .client = "{\"name\":\"claude-code\",\"version\":\"1.0\"}",
            .has_duration = i % 2, .duration_ms = i * 7,
        };
        if (recorder_append(rec, &ev, NULL, err) != STORE_OK) die("append", err, strlen(err));
        cJSON_Delete(args);
        if (recorder_commit(rec, err) != STORE_OK) die("commit", err, strlen(err));
        recorder_done(rec);
    }
    recorder_close(rec);
    api.st = st;
}

/* ---- the request, as libmicrohttpd takes it apart ------------------------- */

typedef struct params {
    char *k[FUZZ_PARAMS], *v[FUZZ_PARAMS];
    int n;
} params;

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* %-decode s in place (and '+' as a space in a query); a NUL from %00
** ends the C string, as it does for libmicrohttpd's callers. */
static void unescape(char *s, int plus)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        int h, l;
        if (*r == '%' && (h = hexval(r[1])) >= 0 && (l = hexval(r[2])) >= 0) {
            *w++ = (char)(h * 16 + l);
            r += 2;
        } else {
            *w++ = plus && *r == '+' ? ' ' : *r;
        }
    }
    *w = '\0';
}

static const char *get(void *ctx, const char *name)
{
    params *p = ctx;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->k[i], name) == 0) return p->v[i];
    return NULL;
}

/* ---- checks ---------------------------------------------------------------- */

static const char *param_of(params *p, const char *name)
{
    const char *v = get(p, name);
    return v && *v ? v : NULL;
}

static void check_entries(params *p, const cJSON *body, const char *text, size_t n)
{
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(body, "entries");
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(body, "more");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(body, "next");
    if (!cJSON_IsArray(entries) || !cJSON_IsBool(more)) die("entries: the page's shape", text, n);
    if (cJSON_IsTrue(more) != cJSON_IsObject(next)) die("entries: more without next", text, n);
    if (!cJSON_IsTrue(more) && !cJSON_IsNull(next)) die("entries: next is not null", text, n);
    const char *ls = param_of(p, "limit");
    long long limit = ls ? strtoll(ls, NULL, 10) : VIEWER_PAGE_DEFAULT;
    if (limit < 1 || limit > VIEWER_PAGE_MAX) die("entries: 200 for a bad limit", ls, strlen(ls));
    int count = cJSON_GetArraySize(entries);
    if (count > limit) die("entries: more entries than the limit", text, n);
    if (cJSON_IsTrue(more) && count != limit) die("entries: more, but a short page", text, n);
    static const char *const exact[][2] = {
        {"user", "user_id"}, {"event_type", "event_type"}, {"session", "session_id"}};
    double last = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
        if (!cJSON_IsNumber(seq)) die("entries: an entry without seq", text, n);
        if (last && seq->valuedouble >= last) die("entries: not newest first", text, n);
        last = seq->valuedouble;
        for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
            const char *want = param_of(p, exact[i][0]);
            const cJSON *got = cJSON_GetObjectItemCaseSensitive(e, exact[i][1]);
            if (want && (!cJSON_IsString(got) || strcmp(got->valuestring, want) != 0))
                die("entries: an entry the filter excludes", exact[i][0], strlen(exact[i][0]));
        }
    }
}

static void check_entry(params *p, const cJSON *body, const char *text, size_t n)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "entry");
    if (!cJSON_IsObject(e)) die("entry: no entry object", text, n);
    const char *id = param_of(p, "id"), *seq = param_of(p, "seq");
    const cJSON *gid = cJSON_GetObjectItemCaseSensitive(e, "id");
    const cJSON *gseq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    if (id && (!cJSON_IsString(gid) || strcmp(gid->valuestring, id) != 0))
        die("entry: another id than asked for", text, n);
    if (!id && seq && (!cJSON_IsNumber(gseq) || gseq->valuedouble != (double)strtoll(seq, NULL, 10)))
        die("entry: another seq than asked for", text, n);
}

static void check_reply(const char *path, params *p, int status, jbuf *out)
{
    if (out->failed) die("jbuf", "failed", 6);
    const char *text = out->p ? out->p : "";
    size_t n = out->len, at;
    char why[200];
    if (status == 500) die("500 from a working store", text, n);
    if (status != 200 && status != 400 && status != 404) die("an unexpected status", text, n);
    if (jsoncheck_utf8(text, n, &at)) die("the body is not UTF-8", text, n);
    if (jsoncheck(text, n, 64, why, sizeof why) != JSONCHECK_OK) die("the body is not JSON", why, strlen(why));
    cJSON *body = cJSON_ParseWithLength(text, n);
    if (!cJSON_IsObject(body)) die("the body is not an object", text, n);
    if (status != 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "error");
        if (!cJSON_IsString(e) || !e->valuestring[0] || cJSON_GetArraySize(body) != 1)
            die("an error body is not {\"error\": sentence}", text, n);
    } else if (strcmp(path, "/api/entries") == 0) {
        check_entries(p, body, text, n);
    } else if (strcmp(path, "/api/entry") == 0) {
        check_entry(p, body, text, n);
    }
    cJSON_Delete(body);
}

/* ---- the target ------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    make_store();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A request line ends at its first space, CR, LF or NUL. */
    size_t n = 0;
    while (n < size && data[n] != ' ' && data[n] != '\r' && data[n] != '\n' && data[n])
        n++;
    char *target = malloc(n + 1);
    if (!target) die("malloc", "", 0);
    memcpy(target, data, n);
    target[n] = '\0';
    params p = {.n = 0};
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    unescape(target, 0);
    for (char *s = q; s && *s && p.n < FUZZ_PARAMS;) {
        char *amp = strchr(s, '&');
        if (amp) *amp = '\0';
        char *eq = strchr(s, '=');
        if (eq) *eq = '\0';
        unescape(s, 1);
        if (eq) unescape(eq + 1, 1);
        p.k[p.n] = s;
        p.v[p.n++] = eq ? eq + 1 : NULL;
        s = amp ? amp + 1 : NULL;
    }
    jbuf out = {0};
    int status = viewer_api_get(&api, target, get, &p, &out);
    check_reply(target, &p, status, &out);
    free(out.p);
    free(target);
    return 0;
}
