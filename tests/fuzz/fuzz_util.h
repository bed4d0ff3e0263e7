/*
** fuzz_util.h: what the libFuzzer targets of tests/fuzz/ share.
**
** run.sh builds each target from its one .c file, so these helpers are
** static inline here rather than in a .c of their own.  A target's
** complaint starts with "fuzz_NAME: ", which run.sh looks for in the log.
*/
#ifndef DSS_FUZZ_UTIL_H
#define DSS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Say what promise target broke (detail cut to 400 bytes) and abort, which
** libFuzzer reports with the input as its reproducer. */
static inline void fz_die(const char *target, const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s: %.400s\n", target, what, detail ? detail : "(null)");
    abort();
}

/* The n bytes at p as a C string (cut at a NUL among them, as a C parser
** reads it); the caller frees it.  Aborts when memory runs out. */
static inline char *fz_cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) fz_die("fuzz", "out of memory", NULL);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
** written apart from the product's own checks so that it can judge them. */
static inline int fz_valid_utf8(const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        int len;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else return 0;
        if (end - p < len || p[1] < lo || p[1] > hi) return 0;
        for (int i = 2; i < len; i++)
            if (p[i] < 0x80 || p[i] > 0xBF) return 0;
        p += len;
    }
    return 1;
}

#endif
