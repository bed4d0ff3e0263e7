/*
** jsonword.h: scanning the bytes of JSON strings eight at a time.
**
** Both the strict checker (jsoncheck.c) and the escaper (jbuf.c) spend
** their time walking string contents looking for the next byte that is
** not plain: a quote, a backslash or a control character (and, for the
** checker, a byte of a multibyte UTF-8 sequence, which it validates).
** Testing a 64-bit word at once is several times faster than a byte loop.
** The helpers are static inline, and so header-only, because they sit in
** the innermost loops of both callers, where a function call would cost
** more than the test itself.
**
** The word tricks need a little-endian machine and GCC's count-trailing-
** zeros builtin; JSONWORD is defined only then, and callers fall back to
** their byte loops otherwise.
*/
#ifndef DSS_JSONWORD_H
#define DSS_JSONWORD_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSONWORD 1

#define JSONWORD_ONES UINT64_C(0x0101010101010101)
#define JSONWORD_HIGHS UINT64_C(0x8080808080808080)

/* The eight bytes at p as one word (p need not be aligned). */
static inline uint64_t jsonword_load(const void *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* A word whose lowest set bit lies in the first byte of x that JSON
** requires escaped in a string (a quote, a backslash, or below 0x20), or 0
** when there is none.  Higher bits may be set wrongly (borrows run towards
** the high bytes), so use the result only through jsonword_first(). */
static inline uint64_t jsonword_escapes(uint64_t x)
{
    uint64_t quote = x ^ (JSONWORD_ONES * '"'), backslash = x ^ (JSONWORD_ONES * '\\');
    return (((x - JSONWORD_ONES * 0x20) & ~x) | ((quote - JSONWORD_ONES) & ~quote) |
            ((backslash - JSONWORD_ONES) & ~backslash)) & JSONWORD_HIGHS;
}

/* As jsonword_escapes(), also stopping at bytes of 0x80 and above. */
static inline uint64_t jsonword_stops(uint64_t x)
{
    return jsonword_escapes(x) | (x & JSONWORD_HIGHS);
}

/* The index (0..7) of the byte a non-zero mask from above points at. */
static inline unsigned jsonword_first(uint64_t mask)
{
    return (unsigned)__builtin_ctzll(mask) >> 3;
}
#endif

#endif
