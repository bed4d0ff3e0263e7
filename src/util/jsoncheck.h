/*
** jsoncheck.h: a strict RFC 8259 syntax check that runs before cJSON parses.
**
** cJSON is forgiving where an audit trail must not be: it accepts raw control
** characters in strings (and as white space), invalid UTF-8, some malformed
** numbers, a \u escape whose digits are not all hex (read as \u0000: cJSON
** issues 635 and 736) and a leading byte order mark, and its recursion
** depth is limited only by a compile-time constant.  Every message
** passes this single linear scan first, so what reaches cJSON (and so the
** database and stdout) is well-formed JSON in valid UTF-8 with bounded
** nesting.  The scan itself is iterative and uses no memory.
*/
#ifndef DSS_JSONCHECK_H
#define DSS_JSONCHECK_H

#include <stddef.h>

enum {
    JSONCHECK_OK = 0,
    JSONCHECK_SYNTAX = -1,   /* not JSON, or not valid UTF-8 */
    JSONCHECK_DEPTH = -2,    /* nested deeper than the limit */
    JSONCHECK_NUL = -3       /* valid JSON holding a \u0000 escape */
};

/*
** Check that text[0..len) is exactly one JSON value (with optional
** surrounding whitespace), in valid UTF-8, nested at most max_depth arrays
** and objects deep.  Returns JSONCHECK_OK or a negative code and writes a
** sentence naming the problem and its byte offset into err.  Lone UTF-16
** surrogates in \u escapes are rejected as syntax errors, and \u0000 is
** reported separately because C strings cannot carry it.
*/
int jsoncheck(const char *text, size_t len, int max_depth, char *err,
              size_t errlen);

/*
** The length (2 to 4) of the valid UTF-8 sequence starting at the non-ASCII
** lead byte p, before end, or 0 when it is not valid UTF-8 (table 3-7 of
** the Unicode standard: no overlong forms, no surrogates, nothing above
** U+10FFFF).  The one UTF-8 check that the JSON scan and the signed notes
** (src/tlog/c2sp.c) share.
*/
int jsoncheck_utf8_seq(const unsigned char *p, const unsigned char *end);

/*
** What is wrong with the sequence at p, before end, for which
** jsoncheck_utf8_seq() returned 0: "an overlong form", "a UTF-16
** surrogate", "a code point above U+10FFFF", "a truncated sequence", "a
** continuation byte without a lead byte" or "a byte UTF-8 never uses".  A
** static string; nobody frees it.
*/
const char *jsoncheck_utf8_why(const unsigned char *p, const unsigned char *end);

/*
** Whether s[0..len) is valid UTF-8 by the same rule (RFC 3629): NULL when
** it is, else what is wrong (jsoncheck_utf8_why()) with *at set to the
** byte offset of the first bad sequence.  ASCII, NUL included, is valid.
*/
const char *jsoncheck_utf8(const char *s, size_t len, size_t *at);

#endif
