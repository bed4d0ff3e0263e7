/*
** jbuf.c: the growing JSON text buffer described in jbuf.h.
**
** The string escaper is where the time goes: a reply to a read call holds
** its whole result a second time as one escaped string (MCP's text block),
** so hundreds of kilobytes pass through it per call.  It reserves room for
** the worst case of a chunk up front and then writes without bounds checks,
** finding the bytes that need an escape sixteen at a time (jsonword.h).
** JSON text escaped as a string, the bulk of that, has a quote every few
** bytes; where the CPU has SSSE3 (not part of baseline x86-64, so it is
** asked at run time), a block whose escapes are all quotes and backslashes
** is expanded with a byte shuffle, eight bytes at a time, instead of one
** escape at a time.
*/
#include "jbuf.h"
#include "jsonword.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define JBUF_WIDE 1
#include <pthread.h>
#include <tmmintrin.h>
#else
#define JBUF_WIDE 0
#endif

/* How many input bytes the escaper reserves room for at once (at most six
** output bytes each), so that a huge string does not need six times its
** size in one allocation. */
#define ESCAPE_CHUNK 4096

/* The character after the backslash for each byte JSON requires escaped,
** 0 for bytes copied as they are; 'u' means \u00XX.  The short forms are
** the ones cJSON writes, so the text matches cJSON_PrintUnformatted(). */
static const char escape_of[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    ['"'] = '"',
    ['\\'] = '\\',
};

static const char hex_digits[] = "0123456789abcdef";

void jbuf_fail(jbuf *b)
{
    jbuf_free(b);
    b->failed = 1;
}

/* Make room for extra more bytes and a terminating NUL; 0 when the buffer
** is (or just became) failed. */
static int reserve(jbuf *b, size_t extra)
{
    if (extra < b->cap - b->len) return 1;
    if (b->failed) return 0;
    size_t need = b->len + extra + 1;
    if (need < b->len) { /* size_t overflow */
        jbuf_fail(b);
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    char *p = realloc(b->p, cap);
    if (!p) {
        jbuf_fail(b);
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void jbuf_put_grow(jbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void jbuf_puts(jbuf *b, const char *s)
{
    jbuf_put(b, s, strlen(s));
}

int jbuf_reserve(jbuf *b, size_t extra)
{
    return reserve(b, extra) ? 0 : -1;
}

int jbuf_read(jbuf *b, FILE *f, size_t max)
{
    size_t start = b->len;
    for (;;) {
        if (b->len - start > max) return -2;
        /* Straight into the buffer, growing it as it fills. */
        if (!reserve(b, 4096)) return -1;
        size_t got = fread(b->p + b->len, 1, b->cap - b->len - 1, f);
        b->len += got;
        if (got == 0) return ferror(f) ? -1 : b->len - start > max ? -2 : 0;
    }
}

/* The escape of c, a byte that needs one, at w; returns the new end. */
static char *escape_special(char *w, unsigned char c)
{
    char e = escape_of[c];
    w[0] = '\\';
    w[1] = e;
    if (e != 'u') return w + 2;
    memcpy(w + 2, "00", 2);
    w[4] = hex_digits[c >> 4];
    w[5] = hex_digits[c & 15];
    return w + 6;
}

/* Escape the len (at most JSONWORD_BLOCK) bytes at p to w, one mask for
** every escape among them; p must be readable for two blocks (a copy after
** an escape reads ahead).  Returns the new end of the output.  The plain
** bytes are copied a block at a time: what a copy puts past them is
** overwritten by what follows, so w needs room for a block more than the
** escaped text. */
static inline char *escape_block(char *w, const unsigned char *p, unsigned len)
{
    unsigned m = jsonword_mask(p, 0), done = 0;
    jsonword_copy(w, p);
    while (m) {
        unsigned k = jsonword_first(m);
        w = escape_special(w + (k - done), p[k]);
        done = k + 1;
        jsonword_copy(w, p + done);
        m &= m - 1;
    }
    return w + (len - done);
}

/* The body of an escaper of p[0..stop) to w, escaping each block with
** BLOCK(w, p, len): one loop, for the portable and the SSSE3 escaper.  w
** has room for six bytes per input byte and two blocks more (what a block
** writes past its end).  Returns the new end of the output.  The last
** bytes (most strings are shorter than two blocks) go through a copy
** padded with spaces, which need no escape, so that the blocks serve them
** too rather than a loop over single bytes. */
#define ESCAPE_INTO_BODY(BLOCK)                                                         \
    {                                                                                   \
        while (stop - p >= 2 * JSONWORD_BLOCK) {                                        \
            w = BLOCK(w, p, JSONWORD_BLOCK);                                            \
            p += JSONWORD_BLOCK;                                                        \
        }                                                                               \
        size_t n = (size_t)(stop - p);                                                  \
        if (n) {                                                                        \
            unsigned char pad[3 * JSONWORD_BLOCK];                                      \
            memset(pad, ' ', sizeof pad);                                               \
            memcpy(pad, p, n);                                                          \
            w = BLOCK(w, pad, n < JSONWORD_BLOCK ? (unsigned)n : JSONWORD_BLOCK);       \
            if (n > JSONWORD_BLOCK)                                                     \
                w = BLOCK(w, pad + JSONWORD_BLOCK, (unsigned)(n - JSONWORD_BLOCK));     \
        }                                                                               \
        return w;                                                                       \
    }

static char *escape_into(char *w, const unsigned char *p, const unsigned char *stop)
ESCAPE_INTO_BODY(escape_block)

#if JBUF_WIDE
/* For each pattern of escapes among eight bytes (bit i: byte i is a quote
** or a backslash), the shuffle that spreads the bytes out with a backslash
** (lane 8) before each escaped one, and the length that makes. */
static unsigned char wide_order[256][16], wide_len[256];
static int wide_ok, wide_off;
static pthread_once_t wide_once = PTHREAD_ONCE_INIT;

static void wide_init(void)
{
    for (unsigned m = 0; m < 256; m++) {
        unsigned j = 0;
        for (unsigned i = 0; i < 8; i++) {
            if (m & (1u << i)) wide_order[m][j++] = 8;
            wide_order[m][j++] = (unsigned char)i;
        }
        wide_len[m] = (unsigned char)j;
        for (; j < 16; j++) wide_order[m][j] = 0x80; /* a zero byte, overwritten later */
    }
    __builtin_cpu_init();
    wide_ok = __builtin_cpu_supports("ssse3");
}

/* escape_block() with SSSE3: a block without control characters (in JSON
** text, all of them but whitespace outside strings) is expanded eight bytes
** at a time; any other goes to escape_block().  Writes at most two blocks
** past where the output starts. */
__attribute__((target("ssse3"))) static inline char *wide_block(char *w, const unsigned char *p,
                                                                 unsigned len)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
    if (_mm_movemask_epi8(control)) return escape_block(w, p, len);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    if (!m) {
        _mm_storeu_si128((__m128i *)(void *)w, v);
        return w + len;
    }
    __m128i backslashes = _mm_set1_epi8('\\');
    __m128i lo = _mm_unpacklo_epi64(v, backslashes), hi = _mm_unpackhi_epi64(v, backslashes);
    _mm_storeu_si128((__m128i *)(void *)w,
                     _mm_shuffle_epi8(lo, _mm_loadu_si128((const __m128i *)(const void *)
                                                              wide_order[m & 255])));
    w += wide_len[m & 255];
    _mm_storeu_si128((__m128i *)(void *)w,
                     _mm_shuffle_epi8(hi, _mm_loadu_si128((const __m128i *)(const void *)
                                                              wide_order[m >> 8])));
    /* Bytes past len are padding (spaces, never escaped): drop them. */
    return w + wide_len[m >> 8] - (JSONWORD_BLOCK - len);
}

__attribute__((target("ssse3"))) static char *escape_into_wide(char *w, const unsigned char *p,
                                                                const unsigned char *stop)
ESCAPE_INTO_BODY(wide_block)

int jbuf_testing_wide(int on)
{
    pthread_once(&wide_once, wide_init);
    wide_off = !on;
    return wide_ok;
}
#else
int jbuf_testing_wide(int on)
{
    (void)on;
    return 0;
}
#endif

void jbuf_escaped(jbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char *(*into)(char *, const unsigned char *, const unsigned char *) = escape_into;
#if JBUF_WIDE
    pthread_once(&wide_once, wide_init);
    if (wide_ok && !wide_off) into = escape_into_wide;
#endif
    while (p < end) {
        size_t chunk = (size_t)(end - p) < ESCAPE_CHUNK ? (size_t)(end - p) : ESCAPE_CHUNK;
        if (!reserve(b, chunk * 6 + 2 * JSONWORD_BLOCK)) return;
        char *w = into(b->p + b->len, p, p + chunk);
        b->len = (size_t)(w - b->p);
        p += chunk;
    }
}

/* Strings up to this long are first tested for needing no escape at all:
** most stored text values (ids, names, times) are short and plain, and
** then a copy does, without the escaper's set-up. */
#define PLAIN_MAX 64

/* Whether p[0..n) needs no escape, read without going past it: blocks, the
** last one overlapping the one before; short text a byte at a time. */
static inline int plain(const unsigned char *p, size_t n)
{
    if (n < JSONWORD_BLOCK) {
        char any = 0;
        for (size_t i = 0; i < n; i++) any |= escape_of[p[i]];
        return !any;
    }
    for (size_t i = 0; i + JSONWORD_BLOCK < n; i += JSONWORD_BLOCK)
        if (jsonword_mask(p + i, 0)) return 0;
    return !jsonword_mask(p + n - JSONWORD_BLOCK, 0);
}

/* s[0..n), known plain, between the quote q (1 or 2 bytes) on each side. */
static void quoted_plain(jbuf *b, const char *q, size_t qn, const char *s, size_t n)
{
    if (!reserve(b, n + 2 * qn)) return;
    char *w = b->p + b->len;
    memcpy(w, q, qn);
    memcpy(w + qn, s, n);
    memcpy(w + qn + n, q, qn);
    b->len += n + 2 * qn;
}

void jbuf_string(jbuf *b, const char *s, size_t n)
{
    if (n <= PLAIN_MAX && plain((const unsigned char *)s, n)) {
        quoted_plain(b, "\"", 1, s, n);
        return;
    }
    jbuf_putc(b, '"');
    jbuf_escaped(b, s, n);
    jbuf_putc(b, '"');
}

void jbuf_escape_since(jbuf *esc, const jbuf *raw, size_t from)
{
    if (raw->failed) jbuf_fail(esc);
    else if (raw->len > from) jbuf_escaped(esc, raw->p + from, raw->len - from);
}

void jbuf_string_twice(jbuf *raw, jbuf *esc, const char *s, size_t n)
{
    if (n <= PLAIN_MAX && plain((const unsigned char *)s, n)) {
        /* Only the quotes need an escape in the second form. */
        quoted_plain(raw, "\"", 1, s, n);
        quoted_plain(esc, "\\\"", 2, s, n);
        if (raw->failed) jbuf_fail(esc);
        return;
    }
    size_t from = raw->len;
    jbuf_string(raw, s, n);
    jbuf_escape_since(esc, raw, from);
}

void jbuf_int(jbuf *b, int64_t v)
{
    char digits[24], *w = digits + sizeof digits;
    /* Work with the magnitude as unsigned, which INT64_MIN also has. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--w = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--w = '-';
    jbuf_put(b, w, (size_t)(digits + sizeof digits - w));
}

/* A number as cJSON prints it.  Integers in int range (the common case:
** counts, seq numbers) are written here; for the rest cJSON itself decides
** the digits, so the text cannot drift from cJSON_PrintUnformatted(). */
static void number(jbuf *b, const cJSON *item)
{
    if (item->valuedouble == (double)item->valueint) {
        jbuf_int(b, item->valueint);
        return;
    }
    char text[64];
    if (!cJSON_PrintPreallocated((cJSON *)item, text, (int)sizeof text, 0)) {
        jbuf_fail(b);
        return;
    }
    jbuf_puts(b, text);
}

void jbuf_tree(jbuf *b, const cJSON *item)
{
    if (!item) {
        jbuf_fail(b);
        return;
    }
    switch (item->type & 0xFF) {
    case cJSON_NULL: jbuf_put(b, "null", 4); break;
    case cJSON_False: jbuf_put(b, "false", 5); break;
    case cJSON_True: jbuf_put(b, "true", 4); break;
    case cJSON_Number: number(b, item); break;
    case cJSON_String:
        if (item->valuestring) jbuf_string(b, item->valuestring, strlen(item->valuestring));
        else jbuf_put(b, "\"\"", 2);
        break;
    case cJSON_Raw:
        if (item->valuestring) jbuf_puts(b, item->valuestring);
        else jbuf_fail(b);
        break;
    case cJSON_Array:
    case cJSON_Object: {
        int obj = (item->type & 0xFF) == cJSON_Object;
        jbuf_putc(b, obj ? '{' : '[');
        for (const cJSON *c = item->child; c; c = c->next) {
            if (c != item->child) jbuf_putc(b, ',');
            if (obj) {
                const char *k = c->string ? c->string : "";
                jbuf_string(b, k, strlen(k));
                jbuf_putc(b, ':');
            }
            jbuf_tree(b, c);
        }
        jbuf_putc(b, obj ? '}' : ']');
        break;
    }
    default: jbuf_fail(b); break;
    }
}

char *jbuf_take(jbuf *b)
{
    char *s = NULL;
    if (reserve(b, 0)) {
        b->p[b->len] = '\0';
        s = b->p;
        b->p = NULL;
    }
    jbuf_free(b);
    return s;
}

cJSON *jbuf_take_raw(jbuf *b)
{
    cJSON *item = cJSON_CreateRaw("");
    char *text = jbuf_take(b);
    if (!item || !text) {
        cJSON_Delete(item);
        free(text);
        return NULL;
    }
    /* cJSON frees values with its deallocator, which is free() as long as
    ** no hooks are installed, and this program installs none. */
    cJSON_free(item->valuestring);
    item->valuestring = text;
    return item;
}

void jbuf_free(jbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* About how long item's text is: its raw texts, which make up nearly all
** of a large reply (pages of entries, written as text), plus a little for
** everything else.  Reserving it once spares the copies that growing by
** doubling makes of hundreds of kilobytes. */
static size_t size_hint(const cJSON *item, int depth)
{
    size_t n = 0;
    for (; item; item = item->next) {
        n += 16;
        if (cJSON_IsRaw(item) && item->valuestring) n += strlen(item->valuestring);
        else if (item->child && depth < 4) n += size_hint(item->child, depth + 1);
    }
    return n;
}

char *jbuf_print(const cJSON *item)
{
    jbuf b = {0};
    if (item) reserve(&b, size_hint(item->child, 0) + 16);
    jbuf_tree(&b, item);
    return jbuf_take(&b);
}
