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
          TEST_ENTRY(loopback_takes_only_the_answer_with_its_state)
          TEST_ENTRY(loopback_wait_ends_on_cancel)
          TEST_ENTRY(bearer_params_are_read_from_the_bearer_challenge_only)
          TEST_ENTRY(header_values_are_trimmed_where_they_end))
