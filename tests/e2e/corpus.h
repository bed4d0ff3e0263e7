/*
** corpus.h: the secret corpus of the tests: one text per value pattern
** the scrubber knows, each carrying one secret that exactly one pattern
** catches.  The secrets are assembled at run time from pieces, so no test
** source holds one verbatim.  test_secrets.c checks that none reaches the
** disk; tests/ship that none reaches any receiver.
*/
#ifndef DSS_TEST_CORPUS_H
#define DSS_TEST_CORPUS_H

#include <stdio.h>
#include <string.h>

/* prefix followed by n characters cycling through set. */
static void mk(char *out, size_t cap, const char *prefix, int n, const char *set)
{
    size_t p = strlen(prefix), k = strlen(set);
    snprintf(out, cap, "%s", prefix);
    for (int i = 0; i < n && p + (size_t)i + 1 < cap; i++) out[p + i] = set[(i * 7 + 3) % k];
    out[p + (size_t)n < cap ? p + (size_t)n : cap - 1] = '\0';
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define UPDIG "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define B64U ALNUM "_-"

enum { NSECRETS = 17 };

/* The secret values (what must never be stored) and the texts that carry
** them (what an agent would send). */
typedef struct corpus {
    char secret[NSECRETS][200];
    char text[NSECRETS][400];
} corpus;

static void build(corpus *c)
{
    int i = 0;
    char t[200];
#define ADD(fmt, ...) \
    do { snprintf(c->text[i], sizeof c->text[i], fmt, __VA_ARGS__); i++; } while (0)
    mk(c->secret[i], 200, "AK" "IA", 16, UPDIG);
    ADD("aws configure set key %s", c->secret[i]);
    mk(c->secret[i], 200, "gh" "p_", 36, ALNUM);
    ADD("git clone https://github.com/x/y.git with %s", c->secret[i]);
    mk(c->secret[i], 200, "github" "_pat_", 40, ALNUM "_");
    ADD("token %s rotated", c->secret[i]);
    mk(c->secret[i], 200, "glp" "at-", 24, ALNUM "-_");
    ADD("gitlab %s", c->secret[i]);
    mk(c->secret[i], 200, "xo" "xb-", 30, "0123456789-");
    ADD("slack bot %s", c->secret[i]);
    mk(t, 200, "T0" "0000000/B00000000/", 24, ALNUM);
    snprintf(c->secret[i], 200, "%s", t + 19);
    ADD("posted to hooks.slack.com/services/%s ok", t);
    mk(c->secret[i], 200, "sk" "_live_", 24, ALNUM);
    ADD("charge with %s", c->secret[i]);
    mk(c->secret[i], 200, "AI" "za", 35, B64U);
    ADD("maps key %s", c->secret[i]);
    mk(c->secret[i], 200, "sk" "-proj-", 40, B64U);
    ADD("openai %s", c->secret[i]);
    mk(c->secret[i], 200, "sk" "-ant-api03-", 40, B64U);
    ADD("anthropic %s", c->secret[i]);
    mk(c->secret[i], 200, "np" "m_", 36, ALNUM);
    ADD("npm publish with %s", c->secret[i]);
    {
        char h[64], p[64], s[64];
        mk(h, 64, "ey" "J", 20, B64U);
        mk(p, 64, "ey" "J", 30, B64U);
        mk(s, 64, "", 43, B64U);
        snprintf(c->secret[i], 200, "%s.%s.%s", h, p, s);
        ADD("session %s", c->secret[i]);
    }
    mk(c->secret[i], 200, "MIIEv", 60, ALNUM "+/");
    ADD("-----BEGIN " "PRIVATE KEY-----\n%s\n-----END " "PRIVATE KEY-----", c->secret[i]);
    mk(c->secret[i], 200, "", 32, ALNUM);
    ADD("sent Bearer %s upstream", c->secret[i]);
    mk(c->secret[i], 200, "pw", 14, ALNUM);
    ADD("connect postgres://admin:%s@db.internal/app failed", c->secret[i]);
    mk(c->secret[i], 200, "hunter", 10, ALNUM);
    ADD("login with password=%s now", c->secret[i]);
    mk(c->secret[i], 200, "sec", 12, ALNUM);
    ADD("config secret: %s", c->secret[i]);
#undef ADD
}

/* A JSON string literal of s (escapes quotes, backslashes, newlines). */
static void quote(char *out, size_t cap, const char *s)
{
    size_t w = 0;
    out[w++] = '"';
    for (; *s && w + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') out[w++] = '\\', out[w++] = *s;
        else if (*s == '\n') out[w++] = '\\', out[w++] = 'n';
        else out[w++] = *s;
    }
    out[w++] = '"';
    out[w] = '\0';
}

#endif
