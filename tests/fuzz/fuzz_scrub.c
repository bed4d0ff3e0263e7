/*
** fuzz_scrub.c: a libFuzzer target for value-pattern scrubbing
** (src/scrub/), the step that keeps secrets off the disk.
**
** The first input byte picks a known secret of one of the patterns
** scrub.h lists, and the bytes put on each side of it (a space, a line
** end, quotes, brackets: boundaries every pattern accepts); the second,
** where in the text it goes; the rest is the text.  scrub_text() runs on
** the whole.
**
** Besides the sanitizers, the target checks and aborts when broken:
**   - the secret put in is gone: the output holds fewer copies of its
**     secret part than the input did (the text around may hold copies of
**     its own that are no secret there, glued to a letter, say);
**   - valid UTF-8 stays valid (redactions begin and end at ASCII bytes);
**   - the work is linear: at most 64 bytes examined per input byte;
**   - a redaction leaves the marker in the text.
**
** Build and run with tests/fuzz/run.sh.
** fuzz flags: -max_len=4096
*/
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrub/scrub.h"
#include "fuzz_util.h"

/* A secret as it appears in text (what), and the part of it that must not
** survive (secret): for Bearer, URL credentials, key=value pairs and Slack
** webhooks only that part is redacted. */
static const struct sample {
    const char *what, *secret;
} samples[] = {
    {"AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
    {"ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"},
    {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
     "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv"},
    {"glpat-xxxxxxxxxxxxxxxxxxxx", "glpat-xxxxxxxxxxxxxxxxxxxx"},
    {"xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"},
    {"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
     "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"},
    {"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
    {"whsec_abcdefghijklmnopqrstuvwxyz012345", "whsec_abcdefghijklmnopqrstuvwxyz012345"},
    {"AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"},
    {"sk-proj-abcdefghijklmnopqrstuvwxyz012345", "sk-proj-abcdefghijklmnopqrstuvwxyz012345"},
    {"npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm_abcdefghijklmnopqrstuvwxyz0123456789"},
    {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2J5dGVz",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2J5dGVz"},
    {"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeybody\n-----END RSA PRIVATE KEY-----",
     "MIIEowIBAAKCAQEAsecretkeybody"},
    {"Bearer abcdefgh12345678", "abcdefgh12345678"},
    {"postgres://user:hunter2pass@db.example.com/x", "hunter2pass"},
    {"password=correcthorsebattery", "correcthorsebattery"},
    {"\"api_key\": \"q8Zr4LmN0pXs\"", "q8Zr4LmN0pXs"},
};
enum { NSAMPLES = sizeof samples / sizeof *samples };

/* What goes before and after the secret. */
static const char sides[][2] = {{' ', ' '}, {'\n', '\n'}, {'"', '"'}, {'\'', '\''},
                                {'(', ')'}, {'[', ']'}, {'<', '>'}, {'\t', ','},
                                {'=', ';'}, {'`', '`'}, {' ', '\r'}, {'{', '}'}};
enum { NSIDES = sizeof sides / sizeof *sides };

static void die(const char *what, const char *detail)
{
    fz_die("fuzz_scrub", what, detail);
}

static size_t count(const char *hay, size_t n, const char *needle)
{
    size_t k = 0, m = strlen(needle);
    for (const char *p = hay, *end = hay + n; (p = memmem(p, (size_t)(end - p), needle, m));
         p++)
        k++;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const struct sample *s = &samples[data[0] % NSAMPLES];
    const char *side = sides[(data[0] / NSAMPLES) % NSIDES];
    const char *text = (const char *)data + 2;
    size_t n = size - 2, at = n ? (size_t)data[1] * n / 255 : 0;
    size_t wl = strlen(s->what), len = n + wl + 2;
    char *in = malloc(len + 1);
    if (!in) die("out of memory", NULL);
    memcpy(in, text, at);
    in[at] = side[0];
    memcpy(in + at + 1, s->what, wl);
    in[at + 1 + wl] = side[1];
    memcpy(in + at + 2 + wl, text + at, n - at);
    in[len] = '\0';

    /* A secret was put in: "nothing to redact" (0) is a miss too. */
    char *out = NULL;
    size_t on = 0;
    unsigned long long w0 = scrub_work_units();
    int rc = scrub_text(in, len, &out, &on);
    if (scrub_work_units() - w0 > 64ull * (len + 64))
        die("more than 64 bytes examined per input byte", in);
    if (rc < 0) die("out of memory", NULL);
    if (rc == 0 || count(out, on, s->secret) >= count(in, len, s->secret))
        die("a secret put in survived", in);
    if (!memmem(out, on, SCRUB_REDACTED, sizeof SCRUB_REDACTED - 1))
        die("a redaction left no marker", in);
    if (fz_valid_utf8((const unsigned char *)in, len) &&
        !fz_valid_utf8((const unsigned char *)out, on))
        die("valid UTF-8 came out broken", in);
    free(out);
    free(in);
    return 0;
}
