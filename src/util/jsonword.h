/*
** jsonword.h: scanning the bytes of JSON strings sixteen at a time.
**
** Both the strict checker (jsoncheck.c) and the escaper (jbuf.c) spend
** their time walking string contents looking for the next byte that is
** not plain: a quote, a backslash or a control character (and, for the
** checker, a byte of a multibyte UTF-8 sequence, which it validates).
** Testing a block of sixteen bytes at once, with SSE2 on x86-64 (where it
** is always present), is several times faster than a byte loop; elsewhere
** the same functions test the bytes one by one, so callers have one code
** path.  The helpers are static inline, and so header-only, because they
** sit in the innermost loops of both callers, where a function call would
** cost more than the test itself.
*/
#ifndef DSS_JSONWORD_H
#define DSS_JSONWORD_H

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define JSONWORD_BLOCK 16

#if defined(__SSE2__)
/* Bit i set when byte i of the block at p needs an escape in a JSON string
** (a quote, a backslash, or below 0x20), and, when high is non-zero, also
** when it is 0x80 or above. */
static inline unsigned jsonword_mask(const unsigned char *p, int high)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    /* Unsigned v <= 0x1f, as max(v, 0x1f) == 0x1f. */
    __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)),
                                     _mm_set1_epi8(0x1f));
    unsigned m = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(quote, backslash), control));
    return high ? m | (unsigned)_mm_movemask_epi8(v) : m;
}
#else
static inline unsigned jsonword_mask(const unsigned char *p, int high)
{
    unsigned m = 0;
    for (unsigned i = 0; i < JSONWORD_BLOCK; i++)
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\' || (high && p[i] >= 0x80))
            m |= 1u << i;
    return m;
}
#endif

/* The index of the lowest set bit of a non-zero mask. */
static inline unsigned jsonword_first(unsigned mask)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctz(mask);
#else
    unsigned i = 0;
    while (!(mask & 1u)) {
        mask >>= 1;
        i++;
    }
    return i;
#endif
}

/* Copy one block from p to w (any alignment; the areas must not overlap). */
static inline void jsonword_copy(char *w, const unsigned char *p)
{
    memcpy(w, p, JSONWORD_BLOCK);
}

#endif
