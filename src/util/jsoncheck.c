/*
** jsoncheck.c: the strict JSON scan described in jsoncheck.h.
**
** The scanner is a small state machine with an explicit stack of container
** kinds, one bit per level, so that no input can make it recurse.  UTF-8 is
** validated as in the Unicode standard's table 3-7 (no overlong forms, no
** surrogates, nothing above U+10FFFF).
*/
#include "jsoncheck.h"
#include "jsonword.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SMALL_LEVELS 32768
#define HARD_MAX_DEPTH 1000

typedef struct scan {
    const unsigned char *p, *end, *start;
    char *err;
    size_t errlen;
    int code;
} scan;

/* How much a problem outweighs another: a syntax error makes the message
** unparsable and so decides its answer; too deep a nesting is next; a
** \u0000 (still valid JSON) least. */
static int rank(int code)
{
    return code == JSONCHECK_SYNTAX ? 3 : code == JSONCHECK_DEPTH ? 2
         : code == JSONCHECK_NUL ? 1 : 0;
}

static int bad(scan *s, int code, const char *what)
{
    if (rank(code) > rank(s->code)) {
        s->code = code;
        snprintf(s->err, s->errlen, "%s at byte %zu", what,
                 (size_t)(s->p - s->start));
    }
    return -1;
}

static void skip_ws(scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Length of the valid UTF-8 sequence at p (non-ASCII lead byte), or 0. */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else return 0;
    if (end - p < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

static int hex4(scan *s, unsigned *out)
{
    unsigned v = 0;
    if (s->end - s->p < 4) return bad(s, JSONCHECK_SYNTAX, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        unsigned char c = s->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return bad(s, JSONCHECK_SYNTAX, "bad \\u escape");
    }
    s->p += 4;
    *out = v;
    return 0;
}

static int string(scan *s)
{
    s->p++; /* opening quote */
    while (s->p < s->end) {
        /* Printable ASCII, the bulk of most strings, a block at a time;
        ** the byte loop below takes everything else. */
        while (s->end - s->p >= JSONWORD_BLOCK) {
            unsigned m = jsonword_mask(s->p, 1);
            if (m) {
                s->p += jsonword_first(m);
                break;
            }
            s->p += JSONWORD_BLOCK;
        }
        if (s->p >= s->end) break;
        unsigned char c = *s->p;
        if (c == '"') { s->p++; return 0; }
        if (c < 0x20) return bad(s, JSONCHECK_SYNTAX, "unescaped control character in string");
        if (c == '\\') {
            s->p++;
            if (s->p >= s->end) break;
            c = *s->p++;
            if (c == 'u') {
                unsigned u, lo;
                if (hex4(s, &u)) return -1;
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return bad(s, JSONCHECK_SYNTAX, "lone low surrogate escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                        return bad(s, JSONCHECK_SYNTAX, "lone high surrogate escape");
                    s->p += 2;
                    if (hex4(s, &lo)) return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return bad(s, JSONCHECK_SYNTAX, "lone high surrogate escape");
                }
                if (u == 0) bad(s, JSONCHECK_NUL, "\\u0000 in a string");
            } else if (!(c == '"' || c == '\\' || c == '/' || c == 'b' ||
                         c == 'f' || c == 'n' || c == 'r' || c == 't')) {
                s->p--;
                return bad(s, JSONCHECK_SYNTAX, "bad escape in string");
            }
            continue;
        }
        if (c < 0x80) { s->p++; continue; }
        int n = utf8_seq(s->p, s->end);
        if (!n) return bad(s, JSONCHECK_SYNTAX, "invalid UTF-8");
        s->p += n;
    }
    return bad(s, JSONCHECK_SYNTAX, "unterminated string");
}

static int digits(scan *s)
{
    const unsigned char *from = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    return s->p > from ? 0 : bad(s, JSONCHECK_SYNTAX, "malformed number");
}

static int number(scan *s)
{
    if (*s->p == '-') s->p++;
    if (s->p < s->end && *s->p == '0') s->p++;
    else if (digits(s)) return -1;
    if (s->p < s->end && *s->p == '.') { s->p++; if (digits(s)) return -1; }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        if (digits(s)) return -1;
    }
    return 0;
}

static int literal(scan *s, const char *word)
{
    for (; *word; word++, s->p++)
        if (s->p >= s->end || *s->p != (unsigned char)*word)
            return bad(s, JSONCHECK_SYNTAX, "unexpected character");
    return 0;
}

/* One scalar value, or 1 when the value opens a container. */
static int scalar_or_open(scan *s)
{
    if (s->p >= s->end) return bad(s, JSONCHECK_SYNTAX, "unexpected end of input");
    switch (*s->p) {
    case '{': case '[': return 1;
    case '"': return string(s);
    case 't': return literal(s, "true");
    case 'f': return literal(s, "false");
    case 'n': return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return number(s);
        return bad(s, JSONCHECK_SYNTAX, "unexpected character");
    }
}

static int scan_body(scan *s, uint8_t *stack, int max_depth);

int jsoncheck(const char *text, size_t len, int max_depth, char *err, size_t errlen)
{
    scan s = {(const unsigned char *)text, (const unsigned char *)text + len,
              (const unsigned char *)text, err, errlen, JSONCHECK_OK};
    /* One bit per open container; no text nests deeper than its length.
    ** Small messages use the C stack, large ones a heap bit set, so that
    ** the syntax past an over-deep nesting is still checked (and decides
    ** between "not JSON" and "too deep"). */
    uint8_t small[SMALL_LEVELS / 8];
    uint8_t *stack = len < SMALL_LEVELS ? small : malloc(len / 8 + 1);
    if (!stack) {
        snprintf(err, errlen, "out of memory checking the message");
        return JSONCHECK_DEPTH;
    }
    /* cJSON refuses deeper trees, and the recursive walks after parsing
    ** must stay shallow: no limit above this is honoured. */
    if (max_depth > HARD_MAX_DEPTH) max_depth = HARD_MAX_DEPTH;
    int rc = scan_body(&s, stack, max_depth);
    if (stack != small) free(stack);
    return rc;
}

/* The scan proper.  A nesting past max_depth is noted and the scan goes on,
** so that a syntax error further on still decides the answer. */
static int scan_body(scan *sp, uint8_t *stack, int max_depth)
{
    scan s = *sp;
    int depth = 0;
    skip_ws(&s);
    for (;;) {
        /* Expecting a value. */
        skip_ws(&s);
        int r = scalar_or_open(&s);
        if (r < 0) return s.code;
        if (r == 1) {
            int is_obj = *s.p == '{';
            if (depth == max_depth) bad(&s, JSONCHECK_DEPTH, "nesting deeper than the limit");
            if (is_obj) stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
            else stack[depth / 8] &= (uint8_t)~(1u << (depth % 8));
            depth++;
            s.p++;
            skip_ws(&s);
            if (s.p < s.end && *s.p == (is_obj ? '}' : ']')) {
                s.p++;
                depth--;
            } else if (is_obj) {
                if (s.p >= s.end || *s.p != '"') {
                    bad(&s, JSONCHECK_SYNTAX, "expected a key");
                    return s.code;
                }
                if (string(&s)) return s.code;
                skip_ws(&s);
                if (s.p >= s.end || *s.p != ':') {
                    bad(&s, JSONCHECK_SYNTAX, "expected ':'");
                    return s.code;
                }
                s.p++;
                continue;
            } else {
                continue;
            }
        }
        /* A value is complete: close containers or move to the next member. */
        for (;;) {
            skip_ws(&s);
            if (depth == 0) {
                if (s.p != s.end) {
                    bad(&s, JSONCHECK_SYNTAX, "unexpected text after the value");
                    return s.code;
                }
                return s.code;
            }
            int is_obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
            if (s.p >= s.end) {
                bad(&s, JSONCHECK_SYNTAX, "unexpected end of input");
                return s.code;
            }
            if (*s.p == (is_obj ? '}' : ']')) {
                s.p++;
                depth--;
                continue;
            }
            if (*s.p != ',') {
                bad(&s, JSONCHECK_SYNTAX, "expected ',' or a closing bracket");
                return s.code;
            }
            s.p++;
            if (is_obj) {
                skip_ws(&s);
                if (s.p >= s.end || *s.p != '"') {
                    bad(&s, JSONCHECK_SYNTAX, "expected a key");
                    return s.code;
                }
                if (string(&s)) return s.code;
                skip_ws(&s);
                if (s.p >= s.end || *s.p != ':') {
                    bad(&s, JSONCHECK_SYNTAX, "expected ':'");
                    return s.code;
                }
                s.p++;
            }
            break;
        }
    }
}
