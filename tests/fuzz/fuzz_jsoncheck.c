/*
** fuzz_jsoncheck.c: a libFuzzer target holding the strict JSON check
** (src/util/jsoncheck.c) to its contract, with cJSON as the reference.
**
** jsoncheck() guards every message and every stored JSON column a reply
** splices in (a hand-edited database can hold anything), so its verdict
** must match what jsoncheck.h promises exactly.  The first input byte
** chooses max_depth (0 to 63, or 992 to 1055 to cross the hard limit of
** 1000); the rest is the text.  cJSON_ParseWithLengthOpts() parses it
** (without requiring a NUL after it; only JSON white space may follow the
** value), and a small lexer here finds what cJSON is documented to forgive
** and jsoncheck must not: a control character (in a string or as white
** space), invalid UTF-8, a malformed number, a \u escape with a digit that
** is not hex (cJSON reads it as \u0000), a leading byte order mark.
** The nesting depth and any \u0000 escape come from the same lexer.  Then:
**   OK      cJSON parses it, nothing forgiven, no \u0000, depth in limit;
**   NUL     the same, with a \u0000;
**   DEPTH   deeper than the limit, nothing forgiven, and cJSON parses it
**           unless it is deeper than cJSON's own limit (1000);
**   SYNTAX  cJSON refuses it, or something forgiven is there.
** The message names a byte offset within the text, a short err buffer is
** never overrun and gets the same verdict, and jsoncheck_utf8() agrees
** with an independent UTF-8 check of the whole input.
**
** Build and run with tests/fuzz/run.sh.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/jsoncheck.h"
#include "fuzz_util.h"

#define CJSON_DEPTH 1000 /* CJSON_NESTING_LIMIT, and jsoncheck's hard limit */

static void die(const char *what, const char *text, size_t n, int rc, const char *err)
{
    fprintf(stderr, "fuzz_jsoncheck: %s (jsoncheck %d: %s) on %zu bytes: %.*s\n", what, rc,
            err, n, (int)(n < 200 ? n : 200), text);
    abort();
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Whether s[0..n) is a number by RFC 8259's grammar. */
static int rfc_number(const unsigned char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && is_digit(s[i])) while (i < n && is_digit(s[i])) i++;
    else return 0;
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    return i == n;
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int word_char(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '+' || c == '-';
}

typedef struct facts {
    int depth;       /* deepest nesting of brackets outside strings */
    int nul_escape;  /* a \u0000 in a string */
    int forgiven;    /* something cJSON forgives and jsoncheck must not */
} facts;

static facts lex(const unsigned char *s, size_t n)
{
    facts f = {0, 0, !fz_valid_utf8(s, n)};
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) f.forgiven = 1;
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x20 && !(!in_string && (c == ' ' || c == '\t' || c == '\n' || c == '\r')))
            f.forgiven = 1;
        if (in_string) {
            if (c == '"') {
                in_string = 0;
            } else if (c == '\\' && i + 1 < n) {
                if (s[i + 1] == 'u' && n - i >= 6) {
                    if (!memcmp(s + i + 2, "0000", 4)) f.nul_escape = 1;
                    /* cJSON reads a \u escape with a digit that is not hex
                    ** as \u0000 (its issues 635 and 736). */
                    for (size_t k = i + 2; k < i + 6; k++)
                        if (!is_hex(s[k])) f.forgiven = 1;
                }
                i++;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > f.depth) f.depth = depth;
        } else if (c == ']' || c == '}') {
            if (depth) depth--;
        } else if (c == '-' || is_digit(c)) {
            size_t j = i;
            while (j < n && word_char(s[j])) j++;
            if (!rfc_number(s + i, j - i)) f.forgiven = 1;
            i = j - 1;
        } else if (word_char(c)) {
            while (i + 1 < n && word_char(s[i + 1])) i++;
        }
    }
    return f;
}

/* Whether cJSON parses the whole text (only JSON white space after it). */
static int cjson_parses(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!j) return 0;
    cJSON_Delete(j);
    if (end < s || end > s + n) die("cJSON's end is outside the text", s, n, 0, "");
    for (; end < s + n; end++)
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int max_depth = data[0] < 192 ? data[0] % 64 : 992 + (data[0] - 192);
    int limit = max_depth > CJSON_DEPTH ? CJSON_DEPTH : max_depth;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    char err[256] = "";
    int rc = jsoncheck(s, n, max_depth, err, sizeof err);
    facts f = lex((const unsigned char *)s, n);
    int parses = cjson_parses(s, n);

    switch (rc) {
    case JSONCHECK_OK:
    case JSONCHECK_NUL:
        if (!parses) die("accepted, but cJSON cannot parse it", s, n, rc, err);
        if (f.forgiven) die("accepted what only cJSON forgives", s, n, rc, err);
        if (f.depth > limit) die("accepted deeper than the limit", s, n, rc, err);
        if (f.nul_escape != (rc == JSONCHECK_NUL))
            die("\\u0000 reported wrongly", s, n, rc, err);
        break;
    case JSONCHECK_DEPTH:
        if (f.depth <= limit) die("too deep, but within the limit", s, n, rc, err);
        if (f.forgiven) die("too deep, but not valid JSON", s, n, rc, err);
        if (f.depth <= CJSON_DEPTH && !parses) die("too deep, but cJSON refuses it", s, n, rc, err);
        break;
    case JSONCHECK_SYNTAX:
        if (parses && !f.forgiven) die("refused valid JSON that cJSON parses", s, n, rc, err);
        break;
    default:
        die("an unknown return code", s, n, rc, err);
    }
    if (rc != JSONCHECK_OK) {
        /* "... at byte N", N within the text. */
        const char *at = strstr(err, " at byte ");
        char *after = NULL;
        unsigned long long off = at ? strtoull(at + 9, &after, 10) : 0;
        if (!at || after == at + 9 || off > n) die("the message names no offset in the text", s, n, rc, err);
    } else if (err[0]) {
        die("a message for a text accepted", s, n, rc, err);
    }
    /* A short buffer: the same verdict, and no overrun (ASan sees one). */
    size_t small = 1 + (n % 24);
    char *e2 = malloc(small);
    if (!e2) return 0;
    e2[0] = '\0';
    if (jsoncheck(s, n, max_depth, e2, small) != rc) die("the verdict depends on errlen", s, n, rc, err);
    if (strnlen(e2, small) == small) die("the message is not terminated", s, n, rc, err);
    free(e2);
    /* The UTF-8 check alone. */
    size_t bad_at = 0;
    const char *why = jsoncheck_utf8(s, n, &bad_at);
    if ((why == NULL) != fz_valid_utf8((const unsigned char *)s, n))
        die("jsoncheck_utf8 disagrees with the UTF-8 rule", s, n, rc, why ? why : "valid");
    if (why && (bad_at >= n || fz_valid_utf8((const unsigned char *)s, bad_at) == 0))
        die("jsoncheck_utf8 names the wrong offset", s, n, rc, why);
    return 0;
}
