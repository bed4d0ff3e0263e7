/*
** test_auth.c: the pieces of the OAuth client that need no server: PKCE
** (RFC 7636's known answer), the token store (modes, keys without
** credentials, list, delete), the loopback listener (state checked, one
** answer taken), the auth command's list and logout, and the reading of
** WWW-Authenticate challenges.
*/
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/authcmd.h"
#include "auth/loopback.h"
#include "auth/oauth.h"
#include "auth/pkce.h"
#include "auth/tokens.h"
#include "remote/httpc.h"
#include "util/jsoncheck.h"
#include "test.h"

static char *tmpdir_new(void)
{
    char *d = strdup("/tmp/dss-auth-XXXXXX");
    return mkdtemp(d);
}

static void rm_rf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", d);
}

TEST(pkce_s256_known_answer)
{
    char c[PKCE_LEN];
    pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c);
    ASSERT_EQ_STR(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(pkce_verifiers_are_43_urlsafe_characters_and_differ)
{
    char a[PKCE_LEN], b[PKCE_LEN];
    ASSERT_EQ_INT(pkce_random(a), 0);
    ASSERT_EQ_INT(pkce_random(b), 0);
    ASSERT_EQ_INT(strlen(a), 43);
    ASSERT(strcmp(a, b) != 0);
    ASSERT(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
}

TEST(token_record_round_trips_in_a_private_file)
{
    char *dir = tmpdir_new();
    char err[256];
    tok_record t = {0};
    t.server_url = strdup("https://mcp.example.com/mcp?tenant=a");
    t.issuer = strdup("https://auth.example.com/");
    t.client_id = strdup("client-1");
    t.access_token = strdup("at-secret");
    t.refresh_token = strdup("rt-secret");
    t.expires_at = 1900000000;
    ASSERT_EQ_INT(tok_save(dir, &t, err, sizeof err), 0);
    tok_record u;
    ASSERT_EQ_INT(tok_load(dir, "https://mcp.example.com/mcp?tenant=a", &u, err, sizeof err), 1);
    ASSERT_EQ_STR(u.access_token, "at-secret");
    ASSERT_EQ_STR(u.refresh_token, "rt-secret");
    ASSERT_EQ_STR(u.issuer, "https://auth.example.com/");
    ASSERT_EQ_INT(u.expires_at, 1900000000);
    tok_record_free(&u);
    /* Another query is another server. */
    ASSERT_EQ_INT(tok_load(dir, "https://mcp.example.com/mcp?tenant=b", &u, err, sizeof err), 0);
    char folder[512];
    snprintf(folder, sizeof folder, "%s/oauth", dir);
    struct stat st;
    ASSERT_EQ_INT(stat(folder, &st), 0);
    ASSERT_EQ_INT(st.st_mode & 0777, 0700);
    tok_record *list;
    ASSERT_EQ_INT(tok_list(dir, &list, err, sizeof err), 1);
    char path[1024];
    /* The file itself: mode 0600. */
    snprintf(path, sizeof path, "find '%s/oauth' -name '*.json' -perm 0600 | wc -l", dir);
    FILE *p = popen(path, "r");
    int n = 0;
    ASSERT(fscanf(p, "%d", &n) == 1);
    pclose(p);
    ASSERT_EQ_INT(n, 1);
    tok_record_free(&list[0]);
    free(list);
    tok_record_free(&t);
    rm_rf(dir);
    free(dir);
}

TEST(credentials_in_the_url_never_reach_the_record_key)
{
    char *k = tok_key_url("https://user:pa55word@mcp.example.com/mcp?x=1#frag");
    ASSERT_EQ_STR(k, "https://mcp.example.com/mcp?x=1");
    free(k);
    k = tok_display_url("https://user:pa55word@mcp.example.com/mcp?key=secret");
    ASSERT_EQ_STR(k, "https://mcp.example.com/mcp");
    free(k);
    k = httpc_redact_url("http://u:p@127.0.0.1:9/sse?sessionId=1");
    ASSERT_EQ_STR(k, "http://127.0.0.1:9/sse");
    free(k);
}

TEST(auth_list_shows_urls_and_expiry_never_tokens)
{
    char *dir = tmpdir_new();
    char err[256];
    tok_record t = {0};
    t.server_url = strdup("https://mcp.example.com/mcp?key=querysecret");
    t.access_token = strdup("at-9f8e7d");
    t.refresh_token = strdup("rt-1a2b3c");
    t.client_secret = strdup("cs-4d5e6f");
    t.expires_at = 2000000000;
    ASSERT_EQ_INT(tok_save(dir, &t, err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ASSERT_EQ_INT(authcmd_list(dir, out, err, sizeof err), 0);
    fclose(out);
    ASSERT_CONTAINS(buf, "https://mcp.example.com/mcp\t");
    ASSERT_CONTAINS(buf, "2033-05-18T03:33:20Z");
    ASSERT_CONTAINS(buf, "refresh token held");
    ASSERT(!strstr(buf, "at-9f8e7d") && !strstr(buf, "rt-1a2b3c") && !strstr(buf, "cs-4d5e6f"));
    ASSERT(!strstr(buf, "querysecret"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    ASSERT_EQ_INT(authcmd_logout(dir, "https://mcp.example.com/mcp?key=querysecret", out, err,
                                 sizeof err), 0);
    ASSERT_EQ_INT(authcmd_logout(dir, "https://mcp.example.com/mcp?key=querysecret", out, err,
                                 sizeof err), 0);
    fclose(out);
    ASSERT_CONTAINS(buf, "forgot the authorization of https://mcp.example.com/mcp");
    ASSERT_CONTAINS(buf, "nothing stored for");
    tok_record u;
    ASSERT_EQ_INT(tok_load(dir, "https://mcp.example.com/mcp?key=querysecret", &u, err, sizeof err), 0);
    free(buf);
    /* Nothing left (the lock file stays): said so. */
    buf = NULL;
    out = open_memstream(&buf, &len);
    ASSERT_EQ_INT(authcmd_list(dir, out, err, sizeof err), 0);
    fclose(out);
    ASSERT_EQ_STR(buf, "no server has stored authorization\n");
    free(buf);
    tok_record_free(&t);
    rm_rf(dir);
    free(dir);
}

/* The one record file in dir/oauth, rewritten with text (as a hand or a
** bad disk may leave it). */
static void rewrite_record(const char *dir, const char *text)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "for f in '%s'/oauth/*.json; do printf '%%s' '%s' > \"$f\"; done",
             dir, text);
    if (system(cmd) != 0) fprintf(stderr, "could not rewrite the record\n");
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

TEST(hand_edited_token_files_are_refused_not_trusted)
{
    char *dir = tmpdir_new();
    char err[512];
    tok_record t = {0}, u;
    t.server_url = strdup("https://mcp.example.com/mcp");
    t.access_token = strdup("at-1");
    ASSERT_EQ_INT(tok_save(dir, &t, err, sizeof err), 0);
    /* An expiry of 1e18 s: converted to int64_t before (1e300 would have
    ** been undefined), and `auth --list` gave gmtime_r()'s NULL for a year
    ** past INT_MAX to strftime(), a crash. */
    const char *bad[] = {
        "{\"server_url\":\"https://mcp.example.com/mcp\",\"access_token\":\"at-1\",\"expires_at\":1e18}",
        "{\"server_url\":\"https://mcp.example.com/mcp\",\"access_token\":\"at-1\",\"expires_at\":-5}",
        "{\"server_url\":\"https://mcp.example.com/mcp\",\"access_token\":\"at-1\",\"expires_at\":\"soon\"}",
        /* A line break would end the Authorization header and start another. */
        "{\"server_url\":\"https://mcp.example.com/mcp\",\"access_token\":\"at\\r\\nX-Evil: 1\"}",
        "{\"server_url\":\"https://mcp.example.com/mcp\",\"access_token\":\"\"}",
        /* The refresh token would go there in clear. */
        "{\"server_url\":\"https://mcp.example.com/mcp\",\"token_endpoint\":\"http://evil.example/t\"}",
        "[1,2]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rewrite_record(dir, bad[i]);
        if (tok_load(dir, "https://mcp.example.com/mcp", &u, err, sizeof err) != -1)
            TEST_FAIL_("record %zu was taken", i);
        else if (!strstr(err, "is not a token record: ")) TEST_FAIL_("%s", err);
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        ASSERT_EQ_INT(authcmd_list(dir, out, err, sizeof err), 0);
        fclose(out);
        ASSERT_EQ_STR(buf, "no server has stored authorization\n");
        free(buf);
    }
    /* A loopback token endpoint over http is a local server's. */
    rewrite_record(dir, "{\"server_url\":\"https://mcp.example.com/mcp\",\"token_endpoint\":"
                        "\"http://127.0.0.1:9/t\",\"access_token\":\"at-1\",\"expires_at\":2000000000}");
    ASSERT_EQ_INT(tok_load(dir, "https://mcp.example.com/mcp", &u, err, sizeof err), 1);
    ASSERT_EQ_INT(u.expires_at, 2000000000);
    tok_record_free(&u);
    tok_record_free(&t);
    rm_rf(dir);
    free(dir);
}

/* A record as the flow holds it before an answer. */
static void held_record(tok_record *t)
{
    memset(t, 0, sizeof *t);
    t->server_url = strdup("https://mcp.example.com/mcp");
    t->access_token = strdup("old-access");
    t->refresh_token = strdup("old-refresh");
    t->expires_at = 1700000100;
}

/* An authorization server's error and description reach a terminal: C1
** controls (CSI is U+009B) and bytes that are not UTF-8 are shown as '?',
** and a long description is cut between characters, for the token and the
** registration answers alike. */
TEST(server_errors_are_printable_and_cut_between_characters)
{
    tok_record t;
    char err[1024], body[1024], desc[400];
    held_record(&t);
    const char *odd = "{\"error\":\"bad\\u009b2J\",\"error_description\":\"x\xff\xfey\"}";
    ASSERT_EQ_INT(oauth_take_tokens(&t, 400, odd, strlen(odd), 1700000000, err, sizeof err), -1);
    ASSERT_EQ_STR(err, "the token endpoint answered HTTP 400: bad?2J - x??y");
    /* 198 bytes, then "é": the 200-byte buffer holds 199, inside it. */
    memset(desc, 'd', 198);
    snprintf(desc + 198, sizeof desc - 198, "\xc3\xa9tail");
    snprintf(body, sizeof body, "{\"error\":\"invalid_client\",\"error_description\":\"%s\"}", desc);
    ASSERT_EQ_INT(oauth_take_registration(&t, 400, body, strlen(body), "http://127.0.0.1:1/callback",
                                          err, sizeof err), -1);
    size_t at;
    ASSERT(jsoncheck_utf8(err, strlen(err), &at) == NULL);
    ASSERT_CONTAINS(err, "client registration answered HTTP 400: invalid_client - ddd");
    ASSERT(strstr(err, "\xc3") == NULL);
    tok_record_free(&t);
}

TEST(token_answers_with_unsendable_tokens_or_wild_lifetimes_are_handled)
{
    tok_record t;
    char err[512];
    const int64_t now = 1700000000;
    held_record(&t);
    /* It went into "Authorization: Bearer ..." as it came. */
    const char *crlf = "{\"access_token\":\"at\\r\\nX-Evil: 1\",\"token_type\":\"Bearer\"}";
    ASSERT_EQ_INT(oauth_take_tokens(&t, 200, crlf, strlen(crlf), now, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "not one");
    ASSERT_EQ_STR(t.access_token, "old-access");
    ASSERT_EQ_INT(t.expires_at, 1700000100);
    /* 1e400 is infinity to cJSON: converting it to int64_t was undefined,
    ** and a finite 9e18 overflowed the sum with the clock. */
    const char *lives[] = {"1e400", "9e18", "-1e400", "-30", "0", "0.5", "3600"};
    const int64_t want[] = {now + 10LL * 366 * 24 * 3600, now + 10LL * 366 * 24 * 3600, 0, 0, 0,
                            0, now + 3600};
    for (size_t i = 0; i < sizeof lives / sizeof *lives; i++) {
        char body[200];
        snprintf(body, sizeof body, "{\"access_token\":\"at-%zu\",\"token_type\":\"bearer\","
                 "\"expires_in\":%s}", i, lives[i]);
        ASSERT_EQ_INT(oauth_take_tokens(&t, 200, body, strlen(body), now, err, sizeof err), 0);
        if (t.expires_at != want[i])
            TEST_FAIL_("expires_in %s gave %lld", lives[i], (long long)t.expires_at);
    }
    ASSERT_EQ_STR(t.refresh_token, "old-refresh");
    /* The server's words in the sentence, without its escape sequences. */
    const char *e = "{\"error\":\"invalid_grant\\u001b[2J\",\"error_description\":\"gone\\n\"}";
    ASSERT_EQ_INT(oauth_take_tokens(&t, 400, e, strlen(e), now, err, sizeof err), -1);
    ASSERT_EQ_STR(err, "the token endpoint answered HTTP 400: invalid_grant?[2J - gone?");
    tok_record_free(&t);
    /* A registration whose client id holds a control character. */
    held_record(&t);
    const char *reg = "{\"client_id\":\"c1\\u0007x\"}";
    ASSERT_EQ_INT(oauth_take_registration(&t, 201, reg, strlen(reg), "http://127.0.0.1:1/callback",
                                          err, sizeof err), -1);
    ASSERT(!t.client_id);
    reg = "{\"client_id\":\"s6BhdRkqt3\",\"client_secret\":\"cf136dc3\"}";
    ASSERT_EQ_INT(oauth_take_registration(&t, 201, reg, strlen(reg), "http://127.0.0.1:1/callback",
                                          err, sizeof err), 0);
    ASSERT_EQ_STR(t.client_id, "s6BhdRkqt3");
    ASSERT_EQ_STR(t.auth_method, "client_secret_basic");
    tok_record_free(&t);
}

TEST(metadata_urls_with_control_characters_are_refused)
{
    char err[512];
    const char *issuer;
    /* The endpoints are requested, printed, and the authorization URL is
    ** given to the browser's shell: "https://" was all that was checked. */
    cJSON *prm = cJSON_Parse("{\"resource\":\"https://mcp.example.com/mcp\","
                             "\"authorization_servers\":[\"https://as.example/\\r\\nX: 1\"]}");
    ASSERT_EQ_INT(oauth_check_prm(prm, "https://mcp.example.com/mcp", &issuer, err, sizeof err), -1);
    ASSERT(!issuer && !has_control(err));
    cJSON_Delete(prm);
    prm = cJSON_Parse("{\"resource\":\"https://mcp.example.com\","
                      "\"authorization_servers\":[\"https://as.example\"]}");
    ASSERT_EQ_INT(oauth_check_prm(prm, "https://mcp.example.com/mcp", &issuer, err, sizeof err), 0);
    ASSERT_EQ_STR(issuer, "https://as.example");
    cJSON_Delete(prm);
    /* "https://" less its slashes was a path prefix of every https URL. */
    const char *loose[] = {"https://", "https:", "https:/", "https://mcp.example.co",
                           "https://mcp.example.com/mc"};
    for (size_t i = 0; i < sizeof loose / sizeof *loose; i++) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "resource", loose[i]);
        cJSON_AddItemToObject(doc, "authorization_servers",
                              cJSON_CreateStringArray((const char *[]){"https://as.example"}, 1));
        if (oauth_check_prm(doc, "https://mcp.example.com/mcp", &issuer, err, sizeof err) != -1)
            TEST_FAIL_("resource %s was taken for https://mcp.example.com/mcp", loose[i]);
        cJSON_Delete(doc);
    }
    prm = cJSON_Parse("{\"resource\":\"https://other.example/\\u001b[2J\","
                      "\"authorization_servers\":[\"https://as.example\"]}");
    ASSERT_EQ_INT(oauth_check_prm(prm, "https://mcp.example.com/mcp", &issuer, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "another resource (https://other.example/?[2J)");
    cJSON_Delete(prm);
    const char *docs[] = {
        "{\"issuer\":\"https://as.example\",\"code_challenge_methods_supported\":[\"S256\"],"
        "\"authorization_endpoint\":\"https://as.example/a\\nb\",\"token_endpoint\":\"https://as.example/t\"}",
        "{\"issuer\":\"https://as.example\",\"code_challenge_methods_supported\":[\"S256\"],"
        "\"authorization_endpoint\":\"https://as.example/a\",\"token_endpoint\":\"https://as.example/t x\"}",
        "{\"issuer\":\"https://as.example\",\"code_challenge_methods_supported\":[\"S256\"],"
        "\"authorization_endpoint\":\"https://as.example/\\u00e9\",\"token_endpoint\":\"https://as.example/t\"}",
        "{\"issuer\":\"https://as.example\\u001b\",\"code_challenge_methods_supported\":[\"S256\"],"
        "\"authorization_endpoint\":\"https://as.example/a\",\"token_endpoint\":\"https://as.example/t\"}"};
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        cJSON *as = cJSON_Parse(docs[i]);
        if (oauth_check_asm(as, "https://as.example", err, sizeof err) != -1)
            TEST_FAIL_("document %zu was taken", i);
        else if (has_control(err)) TEST_FAIL_("document %zu: a control character in the sentence", i);
        cJSON_Delete(as);
    }
    cJSON *as = cJSON_Parse("{\"issuer\":\"http://localhost:9\",\"code_challenge_methods_supported\":"
                            "[\"S256\"],\"authorization_endpoint\":\"http://localhost:9/a\","
                            "\"token_endpoint\":\"http://127.0.0.1:9/t\"}");
    ASSERT_EQ_INT(oauth_check_asm(as, "http://localhost:9", err, sizeof err), 0);
    cJSON_Delete(as);
}

static long get_status(const char *url)
{
    httpc_response r;
    char err[256];
    if (httpc_request("GET", url, NULL, NULL, 0, 5000, 0, 65536, &r, err, sizeof err) != 0)
        return -1;
    long st = r.status;
    httpc_response_free(&r);
    return st;
}

TEST(loopback_takes_only_the_answer_with_its_state)
{
    char err[256];
    loopback *l = loopback_start(0, "expected-state", err, sizeof err);
    ASSERT(l != NULL);
    int port = loopback_port(l);
    ASSERT(port > 0);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/callback?code=evil&state=other", port);
    ASSERT_EQ_INT(get_status(url), 400);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/elsewhere?code=x&state=expected-state", port);
    ASSERT_EQ_INT(get_status(url), 404);
    loopback_result res;
    ASSERT_EQ_INT(loopback_wait(l, 100, NULL, &res), 0);
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/callback?code=good%%20code&state=expected-state&iss=https%%3A%%2F%%2Fas",
             port);
    ASSERT_EQ_INT(get_status(url), 200);
    ASSERT_EQ_INT(loopback_wait(l, 5000, NULL, &res), 1);
    ASSERT_EQ_STR(res.code, "good code");
    ASSERT_EQ_STR(res.iss, "https://as");
    ASSERT(res.error == NULL);
    loopback_result_free(&res);
    loopback_stop(l);
}

TEST(loopback_wait_ends_on_cancel)
{
    char err[256];
    loopback *l = loopback_start(0, "s", err, sizeof err);
    ASSERT(l != NULL);
    volatile int cancel = 1;
    loopback_result res;
    ASSERT_EQ_INT(loopback_wait(l, 60000, &cancel, &res), 0);
    loopback_stop(l);
}

/* The Bearer challenge's parameters are its own: another scheme's in the
** same WWW-Authenticate (a DPoP error, a scope, a Basic realm that says
** "bearer") were taken for Bearer's, which then asked for scopes or
** metadata the resource never named (found by tests/fuzz/
** fuzz_remotehdr.c). */
TEST(bearer_params_are_read_from_the_bearer_challenge_only)
{
    static const struct {
        const char *h, *rm, *scope, *error;
    } cases[] = {
        /* The TypeScript SDK's form. */
        {"Bearer error=\"insufficient_scope\", error_description=\"Insufficient scope\", "
         "scope=\"mcp:tools files:read\", resource_metadata=\"https://a.example/prm\"",
         "https://a.example/prm", "mcp:tools files:read", "insufficient_scope"},
        {"Bearer scope=\"abcde\", DPoP error=\"use_dpop_nonce\", resource_metadata=\"\"", NULL,
         "abcde", NULL},
        {"Basic realm=\"the bearer scope=admin\", Bearer resource_metadata=\"https://a/prm\"",
         "https://a/prm", NULL, NULL},
        {"DPoP algs=\"ES256\", error=\"x\", bearer Scope=a, SCOPE=b, error=\"q\\\"d\\\\\"", NULL, "a",
         "q\"d\\"},
        {"Bearer resource_metadata=https://a.example/.well-known/oauth-protected-resource",
         "https://a.example/.well-known/oauth-protected-resource", NULL, NULL},
        {"Bearerx scope=a, Negotiate", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        oauth_bearer_params c;
        oauth_parse_www_authenticate(cases[i].h, &c);
        const char *want[] = {cases[i].rm, cases[i].scope, cases[i].error};
        const char *got[] = {c.resource_metadata, c.scope, c.error};
        for (int k = 0; k < 3; k++)
            if ((want[k] == NULL) != (got[k] == NULL) || (want[k] && strcmp(want[k], got[k])))
                TEST_FAIL_("case %zu, parameter %d: want %s, got %s", i, k,
                           want[k] ? want[k] : "none", got[k] ? got[k] : "none");
        oauth_bearer_params_free(&c);
    }
}

/* A response header's value has no white space around it, also when a NUL
** in the line ends it early (it is a C string): "Bearer \\0..." gave
** "Bearer " (found by tests/fuzz/fuzz_remotehdr.c). */
TEST(header_values_are_trimmed_where_they_end)
{
    static const char line[] = "WWW-Authenticate:\tBearer \0Bearer x=\"y\"\r\n";
    char *v = httpc_header_value(line, sizeof line - 1, "www-authenticate");
    ASSERT_EQ_STR(v, "Bearer");
    free(v);
    v = httpc_header_value("mcp-session-id:  a b \r\n", 22, "MCP-Session-Id");
    ASSERT_EQ_STR(v, "a b");
    free(v);
    ASSERT(!httpc_header_value("content-typo: x\r\n", 17, "content-type"));
}

TEST_MAIN(TEST_ENTRY(pkce_s256_known_answer)
          TEST_ENTRY(pkce_verifiers_are_43_urlsafe_characters_and_differ)
          TEST_ENTRY(token_record_round_trips_in_a_private_file)
          TEST_ENTRY(credentials_in_the_url_never_reach_the_record_key)
          TEST_ENTRY(auth_list_shows_urls_and_expiry_never_tokens)
          TEST_ENTRY(hand_edited_token_files_are_refused_not_trusted)
          TEST_ENTRY(token_answers_with_unsendable_tokens_or_wild_lifetimes_are_handled)
    TEST_ENTRY(server_errors_are_printable_and_cut_between_characters)
          TEST_ENTRY(metadata_urls_with_control_characters_are_refused)
          TEST_ENTRY(loopback_takes_only_the_answer_with_its_state)
          TEST_ENTRY(loopback_wait_ends_on_cancel)
          TEST_ENTRY(bearer_params_are_read_from_the_bearer_challenge_only)
          TEST_ENTRY(header_values_are_trimmed_where_they_end))
