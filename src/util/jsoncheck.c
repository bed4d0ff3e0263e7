/*
** jsoncheck.c: the strict JSON scan described in jsoncheck.h.
**
** The scanner is a small state machine with an explicit stack of container
** kinds, one bit per level, so that no input can make it recurse.  UTF-8 is
** validated as in the Unicode standard's table 3-7 (no overlong forms, no
** surrogates, nothing above U+10FFFF).  The position is passed and returned
** by value (NULL after an error) rather than kept in the scan state, so that
** it lives in a register: every stored entry shown in a reply passes through
** here.
*/
#include "jsoncheck.h"
#include "jsonword.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SMALL_LEVELS 32768
#define HARD_MAX_DEPTH 1000

typedef struct scan {
    const unsigned char *start, *end;
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

/* Note a problem at `at`; returns NULL, for the scanners' failure. */
static const unsigned char *bad(scan *s, const unsigned char *at, int code,
                                const char *what)
{
    if (rank(code) > rank(s->code)) {
        s->code = code;
        snprintf(s->err, s->errlen, "%s at byte %zu", what, (size_t)(at - s->start));
    }
    return NULL;
}

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
    /* Compact JSON, what is stored, has no whitespace: one test says so
    ** for every byte above the space. */
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

int jsoncheck_utf8_seq(const unsigned char *p, const unsigned char *end)
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

const char *jsoncheck_utf8_why(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c >= 0x80 && c <= 0xBF) return "a continuation byte without a lead byte";
    if (c >= 0xF8) return "a byte UTF-8 never uses";
    int n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (end - p < n) return "a truncated sequence";
    for (int i = 1; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return "a truncated sequence";
    if (c >= 0xF5 || (c == 0xF4 && p[1] > 0x8F)) return "a code point above U+10FFFF";
    if (c == 0xED && p[1] > 0x9F) return "a UTF-16 surrogate";
    return "an overlong form"; /* C0, C1, E0 80-9F, F0 80-8F */
}

const char *jsoncheck_utf8(const char *s, size_t len, size_t *at)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int n = jsoncheck_utf8_seq(p, end);
        if (!n) {
            *at = (size_t)(p - (const unsigned char *)s);
            return jsoncheck_utf8_why(p, end);
        }
        p += n;
    }
    return NULL;
}

/* The four hex digits of a \\u escape at p into *out. */
static const unsigned char *hex4(scan *s, const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    if (s->end - p < 4) return bad(s, p, JSONCHECK_SYNTAX, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return bad(s, p, JSONCHECK_SYNTAX, "bad \\u escape");
    }
    *out = v;
    return p + 4;
}

/* The string whose opening quote is at p; returns the byte after it. */
static const unsigned char *string_slow(scan *s, const unsigned char *p)
{
    const unsigned char *end = s->end;
    p++; /* opening quote */
    while (p < end) {
        /* Printable ASCII, the bulk of most strings, a block at a time;
        ** the byte loop below takes everything else. */
        while (end - p >= JSONWORD_BLOCK) {
            unsigned m = jsonword_mask(p, 1);
            if (m) {
                p += jsonword_first(m);
                break;
            }
            p += JSONWORD_BLOCK;
        }
        if (p >= end) break;
        unsigned char c = *p;
        if (c == '"') return p + 1;
        if (c < 0x20) return bad(s, p, JSONCHECK_SYNTAX, "unescaped control character in string");
        if (c == '\\') {
            p++;
            if (p >= end) break;
            c = *p++;
            if (c == 'u') {
                unsigned u, lo;
                if (!(p = hex4(s, p, &u))) return NULL;
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return bad(s, p, JSONCHECK_SYNTAX, "lone low surrogate escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
                        return bad(s, p, JSONCHECK_SYNTAX, "lone high surrogate escape");
                    if (!(p = hex4(s, p + 2, &lo))) return NULL;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return bad(s, p, JSONCHECK_SYNTAX, "lone high surrogate escape");
                }
                if (u == 0) bad(s, p, JSONCHECK_NUL, "\\u0000 in a string");
            } else if (!(c == '"' || c == '\\' || c == '/' || c == 'b' ||
                         c == 'f' || c == 'n' || c == 'r' || c == 't')) {
                return bad(s, p - 1, JSONCHECK_SYNTAX, "bad escape in string");
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        int n = jsoncheck_utf8_seq(p, end);
        if (!n) return bad(s, p, JSONCHECK_SYNTAX, "invalid UTF-8");
        p += n;
    }
    return bad(s, p, JSONCHECK_SYNTAX, "unterminated string");
}

/* string_slow(), inline where the string is short and plain: most keys
** and values end within the block after their opening quote, and there
** the call would cost more than the test. */
static inline const unsigned char *string(scan *s, const unsigned char *p)
{
    if (s->end - p > JSONWORD_BLOCK) {
        unsigned m = jsonword_mask(p + 1, 1);
        if (m) {
            const unsigned char *q = p + 1 + jsonword_first(m);
            if (*q == '"') return q + 1;
        }
    }
    return string_slow(s, p);
}

static const unsigned char *digits(scan *s, const unsigned char *p)
{
    const unsigned char *from = p;
    while (p < s->end && *p >= '0' && *p <= '9') p++;
    return p > from ? p : bad(s, p, JSONCHECK_SYNTAX, "malformed number");
}

static const unsigned char *number(scan *s, const unsigned char *p)
{
    const unsigned char *end = s->end;
    if (*p == '-') p++;
    if (p < end && *p == '0') p++;
    else if (!(p = digits(s, p))) return NULL;
    if (p < end && *p == '.' && !(p = digits(s, p + 1))) return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!(p = digits(s, p))) return NULL;
    }
    return p;
}

static const unsigned char *literal(scan *s, const unsigned char *p, const char *word)
{
    for (; *word; word++, p++)
        if (p >= s->end || *p != (unsigned char)*word)
            return bad(s, p, JSONCHECK_SYNTAX, "unexpected character");
    return p;
}

/* One value at p, after any whitespace: a scalar is scanned and the byte
** after it returned; for a container, its opening bracket is returned and
** *opens set. */
static const unsigned char *scalar_or_open(scan *s, const unsigned char *p, int *opens)
{
    if (p >= s->end) return bad(s, p, JSONCHECK_SYNTAX, "unexpected end of input");
    switch (*p) {
    case ' ': case '\t': case '\n': case '\r':
        /* Not before the switch: compact JSON, the common case, then pays
        ** nothing for whitespace. */
        return scalar_or_open(s, skip_ws(p, s->end), opens);
    case '{': case '[': *opens = 1; return p;
    case '"': return string(s, p);
    case 't': return literal(s, p, "true");
    case 'f': return literal(s, p, "false");
    case 'n': return literal(s, p, "null");
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) return number(s, p);
        return bad(s, p, JSONCHECK_SYNTAX, "unexpected character");
    }
}

/* An object member's key and its colon, from p (whitespace allowed before
** each); returns the byte after the colon.  Here and in scan_body() the
** byte expected is tested before whitespace is skipped: stored JSON is
** compact, and skipping nothing costs as much as the test.  Inline: it
** runs once per member. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline const unsigned char *member_key(scan *s, const unsigned char *p)
{
    const unsigned char *end = s->end;
    if (p >= end || *p != '"') {
        p = skip_ws(p, end);
        if (p >= end || *p != '"') return bad(s, p, JSONCHECK_SYNTAX, "expected a key");
    }
    if (!(p = string(s, p))) return NULL;
    if (p >= end || *p != ':') {
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return bad(s, p, JSONCHECK_SYNTAX, "expected ':'");
    }
    return p + 1;
}

static int scan_body(scan *s, uint8_t *stack, int max_depth);

int jsoncheck(const char *text, size_t len, int max_depth, char *err, size_t errlen)
{
    scan s = {(const unsigned char *)text, (const unsigned char *)text + len, err,
              errlen, JSONCHECK_OK};
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
static int scan_body(scan *s, uint8_t *stack, int max_depth)
{
    const unsigned char *p = s->start, *end = s->end;
    int depth = 0;
    int is_obj = 0; /* the innermost open container is an object (depth > 0) */
    for (;;) {
        /* Expecting a value. */
        int opens = 0;
        if (!(p = scalar_or_open(s, p, &opens))) return s->code;
        if (opens) {
            is_obj = *p == '{';
            if (depth == max_depth) bad(s, p, JSONCHECK_DEPTH, "nesting deeper than the limit");
            if (is_obj) stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
            else stack[depth / 8] &= (uint8_t)~(1u << (depth % 8));
            depth++;
            p++;
            if (p < end && *p <= ' ') p = skip_ws(p, end);
            if (p < end && *p == (is_obj ? '}' : ']')) {
                p++;
                depth--;
                if (depth) is_obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
            } else if (is_obj) {
                if (!(p = member_key(s, p))) return s->code;
                continue;
            } else {
                continue;
            }
        }
        /* A value is complete: close containers or move to the next member. */
        for (;;) {
            if (depth == 0) {
                p = skip_ws(p, end);
                if (p != end) bad(s, p, JSONCHECK_SYNTAX, "unexpected text after the value");
                return s->code;
            }
            if (p >= end || *p <= ' ') {
                p = skip_ws(p, end);
                if (p >= end) {
                    bad(s, p, JSONCHECK_SYNTAX, "unexpected end of input");
                    return s->code;
                }
            }
            if (*p == ',') {
                p++;
                if (is_obj && !(p = member_key(s, p))) return s->code;
                break;
            }
            if (*p != (is_obj ? '}' : ']')) {
                bad(s, p, JSONCHECK_SYNTAX, "expected ',' or a closing bracket");
                return s->code;
            }
            p++;
            depth--;
            if (depth) is_obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        }
    }
}
