/*
** test_scrub_patterns.c: value-pattern redaction (src/scrub), its config
** file, and its linear running time.
**
** Secrets are assembled at run time from a prefix and generated characters,
** so this file holds no string that a secret scanner would take for a live
** credential.
*/
#include "test.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

#include "scrub/scrub.h"

#define R SCRUB_REDACTED

#define ALNUM "aB3xY7kQ9mZ2pL5nR8tW4vC6"
#define UPDIG "Q7W3E9R1T5Y2U8I4"
#define B64 "aB3_xY7-kQ9mZ2pL5n"

/* ---- helpers -------------------------------------------------------------- */

/* Small strings live in static rings, so cases need not free them. */
static char *ring_slot(void)
{
    static char ring[32][4096];
    static unsigned next;
    return ring[next++ % 32];
}

/* prefix followed by n characters cycling through alpha. */
static const char *mk(const char *prefix, size_t n, const char *alpha)
{
    char *s = ring_slot();
    size_t p = strlen(prefix), a = strlen(alpha);
    memcpy(s, prefix, p);
    for (size_t i = 0; i < n; i++) s[p + i] = alpha[i % a];
    s[p + n] = '\0';
    return s;
}

static const char *fmt(const char *f, ...)
{
    char *s = ring_slot();
    va_list ap;
    va_start(ap, f);
    vsnprintf(s, 4096, f, ap);
    va_end(ap);
    return s;
}

/* The scrubbed text (the input itself when nothing was redacted). */
static const char *scrub(const char *in)
{
    char *slot = ring_slot(), *out = NULL;
    size_t len;
    int rc = scrub_text(in, strlen(in), &out, &len);
    if (rc < 0) return "(out of memory)";
    snprintf(slot, 4096, "%s", rc ? out : in);
    if (rc && strlen(out) != len) snprintf(slot, 4096, "(bad length)");
    free(out);
    return slot;
}

/* True when scrubbing leaves in as it is. */
static int kept(const char *in)
{
    char *out = NULL;
    int rc = scrub_text(in, strlen(in), &out, NULL);
    if (rc != 0) fprintf(stderr, "changed: %s\n     to: %s\n", in, out ? out : "(null)");
    free(out);
    return rc == 0 && out == NULL;
}

/* Parse in, scrub_tree it, print it unformatted and compare with want. */
static int tree_scrubs_to(const char *in, const char *want)
{
    cJSON *tree = cJSON_Parse(in);
    if (!tree) {
        fprintf(stderr, "test input does not parse: %s\n", in);
        return 0;
    }
    int rc = scrub_tree(tree);
    char *out = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    int ok = rc == 0 && out && strcmp(out, want) == 0;
    if (!ok)
        fprintf(stderr, "scrub_tree(%s)\n  gave %s (rc %d)\n  want %s\n", in,
                out ? out : "(null)", rc, want);
    free(out);
    return ok;
}

/* A fresh temporary file holding text; its path goes to path. */
static int write_tmp(const char *text, char *path, size_t n)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, n, "%s/scrubcfgXXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

/* Load a config given as text; returns scrub_load_config's answer. */
static int load_text(const char *text, char *err, size_t errlen)
{
    char path[512];
    if (write_tmp(text, path, sizeof path) != 0) return -2;
    int rc = scrub_load_config(path, err, errlen);
    unlink(path);
    return rc;
}

/* True when s is well-formed UTF-8. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
              : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0) return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80) return 0;
    }
    return 1;
}

/* ---- AWS ------------------------------------------------------------------ */

/* Every built-in token prefix, split so that this file holds none whole:
** its shortest secret is redacted, one byte shorter is kept. */
TEST(every_token_prefix_is_redacted_from_its_shortest_secret)
{
    static const struct {
        const char *a, *b;
        size_t min;
        const char *alpha;
    } t[] = {
        {"gh", "p_", 36, ALNUM}, {"gh", "o_", 36, ALNUM}, {"gh", "u_", 36, ALNUM},
        {"gh", "s_", 36, ALNUM}, {"gh", "r_", 36, ALNUM}, {"github", "_pat_", 22, ALNUM "_"},
        {"gl", "pat-", 20, B64}, {"gl", "ptt-", 20, B64}, {"gl", "dt-", 20, B64},
        {"gl", "rt-", 20, B64}, {"xo", "xb-", 10, "12-ab"}, {"xo", "xp-", 10, "12-ab"},
        {"xo", "xa-", 10, "12-ab"}, {"xo", "xr-", 10, "12-ab"}, {"xo", "xs-", 10, "12-ab"},
        {"xo", "xe-", 10, "12-ab"}, {"xa", "pp-", 10, "12-ab"}, {"sk", "_live_", 16, ALNUM},
        {"sk", "_test_", 16, ALNUM}, {"rk", "_live_", 16, ALNUM}, {"rk", "_test_", 16, ALNUM},
        {"pk", "_live_", 16, ALNUM}, {"pk", "_test_", 16, ALNUM}, {"wh", "sec_", 24, ALNUM},
        {"s", "k-", 20, B64}, {"np", "m_", 36, ALNUM}, {"AI", "za", 35, B64},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const char *pfx = fmt("%s%s", t[i].a, t[i].b);
        const char *secret = mk(pfx, t[i].min, t[i].alpha);
        if (strcmp(scrub(fmt("v %s.", secret)), "v " R ".") != 0)
            TEST_FAIL_("%s... (%zu bytes after the prefix) was not redacted", pfx, t[i].min);
        if (!kept(mk(pfx, t[i].min - 1, t[i].alpha)))
            TEST_FAIL_("%s... one byte short was redacted", pfx);
    }
}

TEST(aws_key_redacted)
{
    const char *k = mk("AK" "IA", 16, UPDIG), *s = mk("AS" "IA", 16, UPDIG);
    ASSERT_EQ_STR(scrub(fmt("aws key %s end", k)), "aws key " R " end");
    ASSERT_EQ_STR(scrub(fmt("(%s)", s)), "(" R ")");
    ASSERT_EQ_STR(scrub(k), R);
}

TEST(aws_key_near_miss)
{
    ASSERT(kept(mk("AK" "IA", 15, UPDIG)));                 /* too short */
    ASSERT(kept(mk("AK" "IA", 17, UPDIG)));                 /* too long */
    ASSERT(kept(fmt("x%s", mk("AK" "IA", 16, UPDIG))));     /* glued on */
    ASSERT(kept(fmt("%sq", mk("AK" "IA", 16, UPDIG))));     /* runs on */
    ASSERT(kept(mk("AK" "IB", 16, UPDIG)));                 /* other prefix */
    ASSERT(kept(mk("AK" "IA", 16, "q7w3e9r1t5y2u8i4")));    /* lower case */
}

/* ---- GitHub --------------------------------------------------------------- */

TEST(github_classic_tokens_redacted)
{
    static const char *const pfx[] = {"gh" "p_", "gh" "o_", "gh" "u_", "gh" "s_", "gh" "r_"};
    for (size_t i = 0; i < 5; i++) {
        const char *t = mk(pfx[i], 36, ALNUM);
        ASSERT_EQ_STR(scrub(fmt("using %s now", t)), "using " R " now");
    }
    ASSERT_EQ_STR(scrub(fmt("https://%s@github.com/o/r.git", mk("gh" "p_", 40, ALNUM))),
                  "https://" R "@github.com/o/r.git");
}

TEST(github_fine_grained_redacted)
{
    const char *t = mk("github" "_pat_", 82, ALNUM "_");
    ASSERT_EQ_STR(scrub(fmt("GH=%s;", t)), "GH=" R ";");
    ASSERT_EQ_STR(scrub(mk("github" "_pat_", 22, ALNUM)), R);
}

TEST(github_near_miss)
{
    ASSERT(kept(mk("gh" "p_", 35, ALNUM)));
    ASSERT(kept(mk("gh" "x_", 36, ALNUM)));
    ASSERT(kept(mk("xgh" "p_", 36, ALNUM)));
    ASSERT(kept(mk("github" "_pat_", 21, ALNUM)));
    ASSERT(kept("see github_pat_docs for details"));
}

/* ---- GitLab --------------------------------------------------------------- */

TEST(gitlab_token_redacted)
{
    ASSERT_EQ_STR(scrub(fmt("PRIVATE-TOKEN %s", mk("gl" "pat-", 20, B64))),
                  "PRIVATE-TOKEN " R);
    ASSERT_EQ_STR(scrub(fmt("[%s]", mk("gl" "pat-", 26, B64))), "[" R "]");
}

TEST(gitlab_near_miss)
{
    ASSERT(kept(mk("gl" "pat-", 19, B64)));
    ASSERT(kept(mk("gl" "pot-", 26, B64)));
}

/* ---- Slack ---------------------------------------------------------------- */

TEST(slack_token_redacted)
{
    const char *b = fmt("xo" "xb-%s-%s-%s", mk("", 12, "1234567890"),
                        mk("", 13, "0987654321"), mk("", 24, ALNUM));
    ASSERT_EQ_STR(scrub(fmt("SLACK %s done", b)), "SLACK " R " done");
    ASSERT_EQ_STR(scrub(mk("xo" "xp-", 40, "12-ab")), R);
    ASSERT_EQ_STR(scrub(mk("xa" "pp-", 40, "1-A2b")), R);
}

TEST(slack_webhook_path_redacted)
{
    const char *url = fmt("https://hooks.slack.com/services/T%s/B%s/%s",
                          mk("", 8, "0123456789"), mk("", 8, "9876543210"),
                          mk("", 24, ALNUM));
    ASSERT_EQ_STR(scrub(fmt("posting to %s.", url)),
                  "posting to https://hooks.slack.com/services/" R ".");
}

TEST(slack_near_miss)
{
    ASSERT(kept(mk("xo" "xb-", 9, "12-ab")));
    ASSERT(kept(mk("xo" "xz-", 40, "12-ab")));
    ASSERT(kept("https://hooks.slack.com/api/chat.postMessage"));
    ASSERT(kept("https://hooks.slack.com/services/T01"));
}

/* ---- Stripe --------------------------------------------------------------- */

TEST(stripe_keys_redacted)
{
    static const char *const pfx[] = {"sk" "_live_", "sk" "_test_", "rk" "_live_", "pk" "_live_"};
    for (size_t i = 0; i < 4; i++)
        ASSERT_EQ_STR(scrub(fmt("stripe %s ok", mk(pfx[i], 24, ALNUM))), "stripe " R " ok");
    ASSERT_EQ_STR(scrub(mk("wh" "sec_", 32, ALNUM)), R);
}

TEST(stripe_near_miss)
{
    ASSERT(kept(mk("sk" "_live_", 15, ALNUM)));
    ASSERT(kept(mk("sk" "_prod_", 24, ALNUM)));
    ASSERT(kept(mk("ask" "_live_", 24, ALNUM)));
}

/* ---- Google --------------------------------------------------------------- */

TEST(google_api_key_redacted)
{
    ASSERT_EQ_STR(scrub(fmt("https://maps.example.com/api?k=%s&z=1", mk("AI" "za", 35, B64))),
                  "https://maps.example.com/api?k=" R "&z=1");
}

TEST(google_near_miss)
{
    ASSERT(kept(mk("AI" "za", 34, B64)));
    ASSERT(kept(mk("AI" "zb", 35, B64)));
}

/* ---- OpenAI, Anthropic ------------------------------------------------------ */

TEST(openai_keys_redacted)
{
    ASSERT_EQ_STR(scrub(fmt("OPENAI %s\n", mk("s" "k-", 48, ALNUM))), "OPENAI " R "\n");
    ASSERT_EQ_STR(scrub(fmt("key %s, next", mk("s" "k-proj-", 100, B64))), "key " R ", next");
}

TEST(anthropic_key_redacted)
{
    const char *k = fmt("%sAA", mk("s" "k-ant-api03-", 93, B64));
    ASSERT_EQ_STR(scrub(fmt("x-api %s y", k)), "x-api " R " y");
}

TEST(openai_near_miss)
{
    ASSERT(kept("sk-learn is a library"));
    ASSERT(kept(mk("s" "k-", 19, ALNUM)));
    ASSERT(kept(mk("ta" "sk-", 30, ALNUM))); /* an id like task-... */
}

/* ---- npm ------------------------------------------------------------------ */

TEST(npm_token_redacted)
{
    ASSERT_EQ_STR(scrub(fmt("//registry.npmjs.org/:_authToken %s", mk("np" "m_", 36, ALNUM))),
                  "//registry.npmjs.org/:_authToken " R);
}

TEST(npm_near_miss)
{
    ASSERT(kept(mk("np" "m_", 35, ALNUM)));
    ASSERT(kept("npm_config_cache=/tmp/npm"));
}

/* ---- JWT ------------------------------------------------------------------ */

static const char *jwt(void)
{
    return fmt("%s.%s.%s", "ey" "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
               "ey" "JzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ",
               mk("", 43, B64));
}

TEST(jwt_redacted)
{
    ASSERT_EQ_STR(scrub(fmt("id_token %s, expired", jwt())), "id_token " R ", expired");
    /* Unsigned: the signature is empty. */
    ASSERT_EQ_STR(scrub(fmt("[%s.%s.]", "ey" "JhbGciOiJub25lIn0", "ey" "JzdWIiOiIxIn0")),
                  "[" R "]");
}

TEST(jwt_near_miss)
{
    ASSERT(kept("ey" "JhbGciOiJIUzI1NiJ9"));                     /* no dots */
    ASSERT(kept("ey" "Jabc.def.ghi"));                           /* short header */
    ASSERT(kept("ey" "JhbGciOiJIUzI1NiJ9.x.y"));                 /* short payload */
    ASSERT(kept(fmt("abc%s", jwt())));                           /* glued on */
}

/* ---- PEM ------------------------------------------------------------------ */

TEST(pem_block_redacted_whole)
{
    const char *body = fmt("%s\n%s\n%s==", mk("MII", 61, ALNUM "+/"), mk("", 64, ALNUM),
                           mk("", 20, ALNUM));
    ASSERT_EQ_STR(scrub(fmt("key:\n-----BEGIN RSA PRIVATE KEY-----\n%s\n"
                            "-----END RSA PRIVATE KEY-----\ntrailer", body)),
                  "key:\n" R "\ntrailer");
    ASSERT_EQ_STR(scrub(fmt("-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n"
                            "-----END OPENSSH PRIVATE KEY-----", body)),
                  R);
    ASSERT_EQ_STR(scrub(fmt("a -----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                            "DEK-Info: AES-128-CBC,3F1A\n\n%s\n"
                            "-----END ENCRYPTED PRIVATE KEY----- b", body)),
                  "a " R " b");
}

TEST(pem_without_end_redacted)
{
    ASSERT_EQ_STR(scrub(fmt("-----BEGIN PRIVATE KEY-----\n%s (truncated)",
                            mk("MII", 60, ALNUM))),
                  R);
    /* Inside quoted text, the quote ends the body. */
    ASSERT_EQ_STR(scrub(fmt("{\"k\":\"-----BEGIN EC PRIVATE KEY-----\\n%s\",\"n\":1}",
                            mk("MHc", 40, ALNUM))),
                  "{\"k\":\"" R "\",\"n\":1}");
}

/* A private key as the value of a secret-named key: the key=value rule
** meets it first, and the redaction must take the whole block, not the
** value's first word (found by tests/fuzz/fuzz_scrub.c: the key's body was
** left in the text). */
TEST(pem_as_the_value_of_a_secret_key_redacted_whole)
{
    const char *body = mk("MII", 61, ALNUM "+/");
    ASSERT_EQ_STR(scrub(fmt("private_key: -----BEGIN RSA PRIVATE KEY-----\n%s\n"
                            "-----END RSA PRIVATE KEY-----\nnext: 1", body)),
                  "private_key: " R "\nnext: 1");
    ASSERT_EQ_STR(scrub(fmt("token=-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----",
                            body)),
                  "token=" R);
    /* Quoted across real lines (YAML): the quote's line end no longer ends it. */
    ASSERT_EQ_STR(scrub(fmt("private_key: \"-----BEGIN EC PRIVATE KEY-----\n%s\n"
                            "-----END EC PRIVATE KEY-----\"\nnext: 1", body)),
                  "private_key: \"" R "\"\nnext: 1");
    /* Without an END line, through its body, as m_pem() takes it. */
    ASSERT_EQ_STR(scrub(fmt("secret: -----BEGIN PRIVATE KEY-----\n%s", body)), "secret: " R);
    /* A value that takes the BEGIN line anywhere in it: an unclosed quote
    ** before it on its line, or a value glued to it. */
    ASSERT_EQ_STR(scrub(fmt("token: 'abc -----BEGIN RSA PRIVATE KEY-----\n%s\n"
                            "-----END RSA PRIVATE KEY-----\nnext: 1", body)),
                  "token: '" R "\nnext: 1");
    ASSERT_EQ_STR(scrub(fmt("token=abc-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----",
                            body)),
                  "token=" R);
}

/* A token as a URL's user, before the password the URL rule redacts
** ("https://<token>:x-oauth-basic@github.com", as git takes it): the
** bytes before a match's span are still looked at (found by
** tests/fuzz/fuzz_scrub.c: the token was left). */
TEST(token_as_a_urls_user_redacted_with_its_password)
{
    const char *tok = mk("ghp_", 36, ALNUM);
    ASSERT_EQ_STR(scrub(fmt("git clone https://%s:x-oauth-basic@github.com/o/r", tok)),
                  "git clone https://" R ":" R "@github.com/o/r");
    ASSERT_EQ_STR(scrub(fmt("https://%s@github.com/o/r", tok)), "https://" R "@github.com/o/r");
    /* Scrubbed again, the same. */
    ASSERT_EQ_STR(scrub("https://" R ":" R "@github.com/o/r"), "https://" R ":" R "@github.com/o/r");
}

TEST(pem_public_blocks_kept)
{
    ASSERT(kept(fmt("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----",
                    mk("MFkw", 60, ALNUM))));
    ASSERT(kept(fmt("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----",
                    mk("MIIB", 60, ALNUM))));
    ASSERT(kept("-----BEGIN PRIVATE KEY"));
}

/* ---- Bearer --------------------------------------------------------------- */

TEST(bearer_token_redacted)
{
    ASSERT_EQ_STR(scrub("curl -H 'Bearer abc.def-ghi_jkl~12+/=' x"),
                  "curl -H 'Bearer " R "' x");
    ASSERT_EQ_STR(scrub("header bearer  0123456789abcdef"), "header bearer  " R);
    ASSERT_EQ_STR(scrub("Authorization: Bearer abcdef123456"), "Authorization: Bearer " R);
}

TEST(bearer_near_miss)
{
    ASSERT(kept("Bearer short"));
    ASSERT(kept("Bearerabcdefghijklmnop"));
    ASSERT(kept("the bearer of bad news"));
    ASSERT(kept("cupbearer 0123456789abcdef"));
}

/* ---- URL credentials ------------------------------------------------------ */

TEST(url_password_redacted)
{
    ASSERT_EQ_STR(scrub("postgres://admin:s3cr3t@db.example.com:5432/app?sslmode=require"),
                  "postgres://admin:" R "@db.example.com:5432/app?sslmode=require");
    ASSERT_EQ_STR(scrub("connect failed: redis://:hunter2@cache:6379/0 (timeout)"),
                  "connect failed: redis://:" R "@cache:6379/0 (timeout)");
    ASSERT_EQ_STR(scrub("https://u:p@ss:w@host/x"), "https://u:" R "@host/x");
}

TEST(url_without_password_kept)
{
    ASSERT(kept("https://user@host/x"));
    ASSERT(kept("https://host:8080/x"));
    ASSERT(kept("https://host/a:b@c"));
    ASSERT(kept("https://u:@host/"));
    ASSERT(kept("ssh://git@github.com:22/o/r"));
}

/* ---- key=value pairs in free text ----------------------------------------- */

TEST(kv_equals_redacted)
{
    ASSERT_EQ_STR(scrub("password=hunter2 next"), "password=" R " next");
    ASSERT_EQ_STR(scrub("DB_PASSWORD=hunter2"), "DB_PASSWORD=" R);
    ASSERT_EQ_STR(scrub("pwd=x&user=bob"), "pwd=" R "&user=bob");
    ASSERT_EQ_STR(scrub("secret=abc;other=1,token = t0k"), "secret=" R ";other=1,token = " R);
}

TEST(kv_colon_redacted)
{
    ASSERT_EQ_STR(scrub("secret: abc"), "secret: " R);
    ASSERT_EQ_STR(scrub("client_secret : xyz\nnext: 1"), "client_secret : " R "\nnext: 1");
    ASSERT_EQ_STR(scrub("x-api-key:k123"), "x-api-key:" R);
}

TEST(kv_json_like_redacted)
{
    ASSERT_EQ_STR(scrub("{\"passwd\":\"x y\",\"user\":\"bob\"}"),
                  "{\"passwd\":\"" R "\",\"user\":\"bob\"}");
    ASSERT_EQ_STR(scrub("{\\\"api_key\\\":\\\"k123\\\"}"), "{\\\"api_key\\\":\\\"" R "\\\"}");
    ASSERT_EQ_STR(scrub("{'token': 'a\\'b', 'n': 1}"), "{'token': '" R "', 'n': 1}");
}

TEST(kv_query_string_redacted)
{
    ASSERT_EQ_STR(scrub("GET https://x.io/cb?access_token=abc123&state=xyz"),
                  "GET https://x.io/cb?access_token=" R "&state=xyz");
}

TEST(kv_authorization_keeps_scheme)
{
    ASSERT_EQ_STR(scrub("Authorization: Basic dXNlcjpwYXNz"), "Authorization: Basic " R);
    ASSERT_EQ_STR(scrub("{\"authorization\": \"Bearer abc123xyz\"}"),
                  "{\"authorization\": \"Bearer " R "\"}");
    ASSERT_EQ_STR(scrub("auth=token abc123"), "auth=token " R);
}

/* A token that already held its scheme, given it again ("Bearer Bearer
** x", a common mistake): x goes, not the second scheme word (found by
** tests/fuzz/fuzz_scrub.c). */
TEST(kv_scheme_given_twice_still_loses_the_token)
{
    ASSERT_EQ_STR(scrub("Authorization: Bearer Bearer abc123xyz"),
                  "Authorization: Bearer Bearer " R);
    ASSERT_EQ_STR(scrub("token: Bearer   Bearer abcdefgh12345678 next"),
                  "token: Bearer   Bearer " R " next");
    ASSERT_EQ_STR(scrub("{\"authorization\": \"Bearer Bearer abc123xyz\"}"),
                  "{\"authorization\": \"Bearer " R "\"}");
    /* A value that ends in the scheme word goes with the token after it,
    ** and what is left scrubs to itself. */
    ASSERT_EQ_STR(scrub("password=x<Bearer abcdefgh12345678> ok"), "password=" R " ok");
    ASSERT_EQ_STR(scrub("Authorization:$Bearer AKIAIOSFODNN3EXAMps://x"), "Authorization:" R);
    ASSERT(kept("Authorization:" R));
    /* A Bearer token that ends in the word Bearer, glued: the token after
    ** it goes too, however long the chain. */
    ASSERT_EQ_STR(scrub("Bearer Bearer=Bearer abcdefgh12345678; next"), "Bearer " R "; next");
    ASSERT_EQ_STR(scrub("Bearer aaaaaaaa=Bearer bbbbbbbb=Bearer cccccccc"), "Bearer " R);
}

TEST(kv_near_miss)
{
    ASSERT(kept("author: Jane Doe"));
    ASSERT(kept("password="));
    ASSERT(kept("password = "));
    ASSERT(kept("the password is hunter2"));
    ASSERT(kept("keyword=value oauth_mode=pkce"));
    ASSERT(kept("token"));
}

/* ---- placement ------------------------------------------------------------ */

TEST(surrounding_text_kept)
{
    const char *t = mk("gh" "p_", 36, ALNUM);
    ASSERT_EQ_STR(scrub(fmt("%s tail", t)), R " tail");
    ASSERT_EQ_STR(scrub(fmt("head %s", t)), "head " R);
    ASSERT_EQ_STR(scrub(fmt("\"%s\"", t)), "\"" R "\"");
    ASSERT_EQ_STR(scrub(fmt("a\n\t%s\n\tb", t)), "a\n\t" R "\n\tb");
}

TEST(multiple_secrets_one_string)
{
    const char *in = fmt("a %s b %s c password=x d https://u:p@h e Bearer 0123456789 f %s",
                         mk("AK" "IA", 16, UPDIG), mk("gh" "p_", 36, ALNUM),
                         mk("np" "m_", 36, ALNUM));
    ASSERT_EQ_STR(scrub(in), "a " R " b " R " c password=" R " d https://u:" R "@h e Bearer "
                             R " f " R);
}

TEST(embedded_nul_scanned)
{
    const char *k = mk("AK" "IA", 16, UPDIG);
    char in[64];
    in[0] = 'a';
    in[1] = '\0';
    memcpy(in + 2, k, 20);
    char *out = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(scrub_text(in, 22, &out, &len), 1);
    int ok = out && len == 2 + strlen(R) && out[0] == 'a' && out[1] == '\0' &&
             memcmp(out + 2, R, strlen(R)) == 0 && out[len] == '\0';
    free(out);
    ASSERT(ok);
}

/* ---- trees ---------------------------------------------------------------- */

TEST(arrays_of_arrays)
{
    const char *k = mk("AK" "IA", 16, UPDIG);
    ASSERT(tree_scrubs_to(fmt("[[\"x %s\"],[[\"Bearer 0123456789ab\",1,null]],[]]", k),
                          "[[\"x " R "\"],[[\"Bearer " R "\",1,null]],[]]"));
}

TEST(object_values_and_keys)
{
    const char *g = mk("gh" "p_", 36, ALNUM), *n = mk("np" "m_", 36, ALNUM);
    ASSERT(tree_scrubs_to(
        fmt("{\"cmd\":\"export GH_PAT=%s && make\",\"nested\":{\"note\":\"see %s\"},"
            "\"%s\":1,\"list\":[{\"url\":\"https://a:b@c\"}]}", g, n, n),
        "{\"cmd\":\"export GH_PAT=" R " && make\",\"nested\":{\"note\":\"see " R "\"},"
        "\"" R "\":1,\"list\":[{\"url\":\"https://a:" R "@c\"}]}"));
}

TEST(key_redaction_unchanged)
{
    ASSERT(tree_scrubs_to("{\"password\":\"plain words\",\"api_token\":{\"a\":[1]},"
                          "\"note\":\"plain text\",\"n\":3}",
                          "{\"password\":\"" R "\",\"api_token\":\"" R "\","
                          "\"note\":\"plain text\",\"n\":3}"));
    ASSERT(scrub_key_is_sensitive("Authorization"));
    ASSERT(!scrub_key_is_sensitive("note"));
}

TEST(root_string_scrubbed)
{
    cJSON *s = cJSON_CreateString(fmt("x %s y", mk("AK" "IA", 16, UPDIG)));
    ASSERT(s);
    int rc = scrub_tree(s);
    int ok = rc == 0 && strcmp(s->valuestring, "x " R " y") == 0;
    cJSON_Delete(s);
    ASSERT(ok);
}

TEST(const_key_scrubbed)
{
    /* A key cJSON must not free (AddItemToObjectCS) that holds a secret. */
    static char key[64];
    snprintf(key, sizeof key, "%s", mk("np" "m_", 36, ALNUM));
    cJSON *o = cJSON_CreateObject();
    ASSERT(o);
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateString("v"));
    int rc = scrub_tree(o);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int ok = rc == 0 && out && strcmp(out, "{\"" R "\":\"v\"}") == 0;
    free(out);
    ASSERT(ok);
}

TEST(utf8_kept_intact)
{
    const char *g = mk("gh" "p_", 36, ALNUM);
    const char *a = scrub("password=пароль123 далее");
    ASSERT_EQ_STR(a, "password=" R " далее");
    const char *b = scrub(fmt("токен %s ✓", g));
    ASSERT_EQ_STR(b, "токен " R " ✓");
    const char *c = scrub("https://ü:päss@höst/ ключ");
    ASSERT_EQ_STR(c, "https://ü:" R "@höst/ ключ");
    const char *d = scrub(fmt("日本%s語", g)); /* multibyte on both sides */
    ASSERT_EQ_STR(d, "日本" R "語");
    ASSERT(utf8_ok(a) && utf8_ok(b) && utf8_ok(c) && utf8_ok(d));
}

TEST(scrub_is_idempotent)
{
    const char *in = fmt("a %s password=x https://u:p@h Bearer 0123456789 -----BEGIN "
                         "PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY----- %s",
                         mk("AK" "IA", 16, UPDIG), jwt());
    const char *once = scrub(in);
    ASSERT(strcmp(once, in) != 0);
    ASSERT(kept(once));
}

TEST(unchanged_text_not_copied)
{
    char *out = (char *)1;
    ASSERT_EQ_INT(scrub_text("nothing to see", 14, &out, NULL), 0);
    ASSERT(out == NULL);
    out = (char *)1;
    ASSERT_EQ_INT(scrub_text(NULL, 0, &out, NULL), 0);
    ASSERT(out == NULL);
    ASSERT_EQ_INT(scrub_text("", 0, &out, NULL), 0);
}

/* ---- config file ---------------------------------------------------------- */

TEST(config_keys)
{
    char err[256];
    ASSERT_EQ_INT(load_text("{\"redact_keys\": [\"ssn\", \"Pin_Code\"]}", err, sizeof err), 0);
    int sens = scrub_key_is_sensitive("customer_SSN") && scrub_key_is_sensitive("pin_code");
    int tree = tree_scrubs_to("{\"ssn\":\"123-45-6789\",\"name\":\"x\"}",
                              "{\"ssn\":\"" R "\",\"name\":\"x\"}");
    const char *text = scrub("record ssn=123-45-6789 ok");
    int text_ok = strcmp(text, "record ssn=" R " ok") == 0;
    int defaults = scrub_key_is_sensitive("password") &&
                   strcmp(scrub("password=x"), "password=" R) == 0;
    scrub_reset_config();
    ASSERT(sens);
    ASSERT(tree);
    ASSERT(text_ok);
    ASSERT(defaults);
}

TEST(config_prefixes)
{
    char err[256];
    ASSERT_EQ_INT(load_text("{\"redact_prefixes\": [\"myco_\", \"ACME-\"]}", err, sizeof err), 0);
    const char *a = scrub("use myco_AbCdEf12 now");
    const char *b = scrub("k=ACME-0123456789-xyz;");
    const char *c = scrub(mk("AK" "IA", 16, UPDIG));
    int ok = strcmp(a, "use " R " now") == 0 && strcmp(b, "k=" R ";") == 0 &&
             strcmp(c, R) == 0;
    scrub_reset_config();
    ASSERT(ok);
}

TEST(config_prefix_near_miss)
{
    char err[256];
    ASSERT_EQ_INT(load_text("{\"redact_prefixes\": [\"myco_\"]}", err, sizeof err), 0);
    int ok = kept("myco_short") && kept("xmyco_AbCdEf1234") && kept("MYCO_AbCdEf1234");
    scrub_reset_config();
    ASSERT(ok);
}

TEST(config_reset_restores_defaults)
{
    char err[256];
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"ssn\"],\"redact_prefixes\":[\"myco_\"]}",
                            err, sizeof err), 0);
    scrub_reset_config();
    ASSERT(!scrub_key_is_sensitive("ssn"));
    ASSERT(kept("ssn=1 myco_AbCdEf1234"));
    ASSERT(scrub_key_is_sensitive("token"));
    ASSERT_EQ_STR(scrub("token=1"), "token=" R);
}

TEST(config_reload_replaces)
{
    char err[256];
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"ssn\"]}", err, sizeof err), 0);
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"iban\"],\"other\":{\"x\":1}}", err, sizeof err), 0);
    int ok = !scrub_key_is_sensitive("ssn") && scrub_key_is_sensitive("IBAN");
    scrub_reset_config();
    ASSERT(ok);
}

TEST(config_missing_file)
{
    char err[256] = "";
    ASSERT_EQ_INT(scrub_load_config("/nonexistent/dss-audit/config.json", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "cannot open /nonexistent/dss-audit/config.json");
    ASSERT_EQ_INT(scrub_load_config(NULL, NULL, 0), -1);
}

TEST(config_invalid_json)
{
    char err[256] = "";
    ASSERT_EQ_INT(load_text("{\"redact_keys\": [\"ssn\",", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "invalid JSON");
    ASSERT_EQ_INT(load_text("{} trailing", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "invalid JSON");
    ASSERT_EQ_INT(load_text("", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "invalid JSON");
}

TEST(config_wrong_shapes)
{
    char err[256] = "";
    ASSERT_EQ_INT(load_text("[\"ssn\"]", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "top level must be a JSON object");
    ASSERT_EQ_INT(load_text("{\"redact_keys\":\"ssn\"}", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "redact_keys must be an array of strings");
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"ok\",3]}", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "redact_keys[1] is not a string");
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"two words\"]}", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "redact_keys[0] may hold only");
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"\"]}", err, sizeof err), -1);
    ASSERT_EQ_INT(load_text("{\"redact_prefixes\":[\"ab\"]}", err, sizeof err), -1);
    ASSERT_CONTAINS(err, "redact_prefixes[0] must be 3 to 64 bytes long");
    ASSERT_EQ_INT(load_text("{\"redact_prefixes\":[\"my co\"]}", err, sizeof err), -1);
    char many[2048] = "{\"redact_keys\":[";
    for (int i = 0; i <= SCRUB_CONFIG_MAX_ENTRIES; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\"", i ? "," : "", i);
    strcat(many, "]}");
    ASSERT_EQ_INT(load_text(many, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "more than 64 entries");
}

TEST(config_error_keeps_rules)
{
    char err[256];
    ASSERT_EQ_INT(load_text("{\"redact_keys\":[\"ssn\"]}", err, sizeof err), 0);
    int bad = load_text("{\"redact_keys\":[1]}", err, sizeof err);
    int still = scrub_key_is_sensitive("ssn");
    scrub_reset_config();
    ASSERT_EQ_INT(bad, -1);
    ASSERT(still);
}

/* ---- linear time ------------------------------------------------------------ */

/* head, then unit repeated, cut at exactly n bytes. */
static char *build(const char *head, const char *unit, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    size_t h = strlen(head), u = strlen(unit), i = 0;
    for (; i < n && i < h; i++) s[i] = head[i];
    for (size_t j = 0; i < n; i++, j++) s[i] = unit[j % u];
    s[n] = '\0';
    return s;
}

/* Work units (bytes examined) for scrubbing n bytes, or 0 on failure. */
static unsigned long long cost(const char *head, const char *unit, size_t n)
{
    char *s = build(head, unit, n);
    if (!s) return 0;
    unsigned long long w0 = scrub_work_units();
    char *out = NULL;
    int rc = scrub_text(s, n, &out, NULL);
    unsigned long long work = scrub_work_units() - w0;
    free(out);
    free(s);
    return rc < 0 ? 0 : work;
}

/*
** Scrub 100 KB and 1 MB of the same adversarial text.  Linear: the 1 MB run
** examines about ten times the bytes of the 100 KB run, and a bounded
** number per input byte; a quadratic scan would examine about a hundred
** times as many.  The counts are exact, so this holds on any machine at any
** load: no clock is involved (speed claims belong to bench/).
*/
static int linear(const char *name, const char *head, const char *unit)
{
    const size_t small = 100 * 1024, big = 1024 * 1024;
    unsigned long long ws = cost(head, unit, small), wb = cost(head, unit, big);
    if (!ws || !wb) {
        fprintf(stderr, "%s: scrub failed\n", name);
        return 0;
    }
    double wratio = (double)wb / (double)ws, per_byte = (double)wb / (double)big;
    fprintf(stderr, "%-22s work 100K=%llu 1M=%llu ratio %.2f (%.2f/byte)\n",
            name, ws, wb, wratio, per_byte);
    return wratio < 20 && per_byte < 128;
}

TEST(linear_aws_repeated)
{
    ASSERT(linear("AKIA*", "", "AK" "IA"));
    ASSERT(linear("AKIA+16 glued*", "", mk("AK" "IA", 16, UPDIG)));
}

TEST(linear_jwt_dots)
{
    ASSERT(linear("eyJ+a.*", "ey" "J", "a."));
    ASSERT(linear("eyJ+long header*", "", "ey" "Jaaaaaaaaaaaaaaaaaaaa.b"));
    ASSERT(linear("eyJ no dots", "ey" "J", "a"));
    ASSERT(linear("_eyJ*", "", "_ey" "Jaaaaaaaaaa"));
}

TEST(linear_pem_begin_no_end)
{
    ASSERT(linear("-----BEGIN *", "", "-----BEGIN "));
    ASSERT(linear("BEGIN PRIVATE KEY*", "", "-----BEGIN PRIVATE KEY-----"));
    ASSERT(linear("BEGIN + body no END", "-----BEGIN RSA PRIVATE KEY-----\n", "MIIab/+=\n"));
    ASSERT(linear("dashes*", "", "----x"));
}

TEST(linear_url_colons)
{
    ASSERT(linear("https:// + :*", "https://", ":"));
    ASSERT(linear("://*", "", "://"));
    ASSERT(linear("https:// + a:*", "https://", "a:"));
    ASSERT(linear("://a:b@*", "", "://a:b@"));
}

TEST(linear_other_adversaries)
{
    ASSERT(linear("password=*", "", "password="));
    ASSERT(linear("long keys=", "", "passworpassworpassworpassworpassworpassworpassworpasswor="));
    ASSERT(linear("quote never closed", "\"password\":\"", "a"));
    ASSERT(linear("Bearer *", "", "Bearer "));
    ASSERT(linear("Bearer tokens glued*", "Bearer ", "aaaaaaaa=Bearer "));
    ASSERT(linear("token: Bearer x<*", "token: ", "x<Bearer "));
    ASSERT(linear("token=-----BEGIN *", "token=", "-----BEGIN RSA PRIVATE KEY-----x"));
    ASSERT(linear("://user part*", "https://", "ghp_aaaa=://"));
    ASSERT(linear("gh prefixes*", "", "gh" "p_gho_gh"));
    ASSERT(linear("sk- short*", "", "s" "k-abc "));
    ASSERT(linear("slack hook*", "", "hooks.slack.com/services/"));
    ASSERT(linear("a:*", "", "a:"));
}

TEST(linear_config_prefixes)
{
    char cfg[8192] = "{\"redact_keys\":[", err[256];
    for (int i = 0; i < SCRUB_CONFIG_MAX_ENTRIES; i++)
        snprintf(cfg + strlen(cfg), sizeof cfg - strlen(cfg), "%s\"passwor%d\"", i ? "," : "", i);
    strcat(cfg, "],\"redact_prefixes\":[");
    for (int i = 0; i < SCRUB_CONFIG_MAX_ENTRIES; i++)
        snprintf(cfg + strlen(cfg), sizeof cfg - strlen(cfg), "%s\"myco_%d_\"", i ? "," : "", i);
    strcat(cfg, "]}");
    ASSERT_EQ_INT(load_text(cfg, err, sizeof err), 0);
    int a = linear("config prefixes*", "", "myco_1_ab ");
    int b = linear("config keys*", "", "passworXpassworYpassworZ=");
    scrub_reset_config();
    ASSERT(a);
    ASSERT(b);
}

TEST(linear_tree)
{
    /* The same bound through scrub_tree: one 1 MB string value. */
    char *s = build("", "AK" "IA", 1024 * 1024);
    ASSERT(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cmd", s);
    free(s);
    unsigned long long w0 = scrub_work_units();
    int rc = scrub_tree(o);
    unsigned long long w = scrub_work_units() - w0;
    cJSON_Delete(o);
    ASSERT_EQ_INT(rc, 0);
    ASSERT(w < 64ull * 1024 * 1024);
}

TEST_MAIN(
    TEST_ENTRY(every_token_prefix_is_redacted_from_its_shortest_secret)
    TEST_ENTRY(aws_key_redacted)
    TEST_ENTRY(aws_key_near_miss)
    TEST_ENTRY(github_classic_tokens_redacted)
    TEST_ENTRY(github_fine_grained_redacted)
    TEST_ENTRY(github_near_miss)
    TEST_ENTRY(gitlab_token_redacted)
    TEST_ENTRY(gitlab_near_miss)
    TEST_ENTRY(slack_token_redacted)
    TEST_ENTRY(slack_webhook_path_redacted)
    TEST_ENTRY(slack_near_miss)
    TEST_ENTRY(stripe_keys_redacted)
    TEST_ENTRY(stripe_near_miss)
    TEST_ENTRY(google_api_key_redacted)
    TEST_ENTRY(google_near_miss)
    TEST_ENTRY(openai_keys_redacted)
    TEST_ENTRY(anthropic_key_redacted)
    TEST_ENTRY(openai_near_miss)
    TEST_ENTRY(npm_token_redacted)
    TEST_ENTRY(npm_near_miss)
    TEST_ENTRY(jwt_redacted)
    TEST_ENTRY(jwt_near_miss)
    TEST_ENTRY(pem_block_redacted_whole)
    TEST_ENTRY(pem_without_end_redacted)
    TEST_ENTRY(pem_as_the_value_of_a_secret_key_redacted_whole)
    TEST_ENTRY(token_as_a_urls_user_redacted_with_its_password)
    TEST_ENTRY(pem_public_blocks_kept)
    TEST_ENTRY(bearer_token_redacted)
    TEST_ENTRY(bearer_near_miss)
    TEST_ENTRY(url_password_redacted)
    TEST_ENTRY(url_without_password_kept)
    TEST_ENTRY(kv_equals_redacted)
    TEST_ENTRY(kv_colon_redacted)
    TEST_ENTRY(kv_json_like_redacted)
    TEST_ENTRY(kv_query_string_redacted)
    TEST_ENTRY(kv_authorization_keeps_scheme)
    TEST_ENTRY(kv_scheme_given_twice_still_loses_the_token)
    TEST_ENTRY(kv_near_miss)
    TEST_ENTRY(surrounding_text_kept)
    TEST_ENTRY(multiple_secrets_one_string)
    TEST_ENTRY(embedded_nul_scanned)
    TEST_ENTRY(arrays_of_arrays)
    TEST_ENTRY(object_values_and_keys)
    TEST_ENTRY(key_redaction_unchanged)
    TEST_ENTRY(root_string_scrubbed)
    TEST_ENTRY(const_key_scrubbed)
    TEST_ENTRY(utf8_kept_intact)
    TEST_ENTRY(scrub_is_idempotent)
    TEST_ENTRY(unchanged_text_not_copied)
    TEST_ENTRY(config_keys)
    TEST_ENTRY(config_prefixes)
    TEST_ENTRY(config_prefix_near_miss)
    TEST_ENTRY(config_reset_restores_defaults)
    TEST_ENTRY(config_reload_replaces)
    TEST_ENTRY(config_missing_file)
    TEST_ENTRY(config_invalid_json)
    TEST_ENTRY(config_wrong_shapes)
    TEST_ENTRY(config_error_keeps_rules)
    TEST_ENTRY(linear_aws_repeated)
    TEST_ENTRY(linear_jwt_dots)
    TEST_ENTRY(linear_pem_begin_no_end)
    TEST_ENTRY(linear_url_colons)
    TEST_ENTRY(linear_other_adversaries)
    TEST_ENTRY(linear_config_prefixes)
    TEST_ENTRY(linear_tree)
)
