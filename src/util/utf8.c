/*
** utf8.c: cutting text on character boundaries and mending invalid UTF-8
** (see utf8.h).  The validity rule is jsoncheck's, so what is mended here
** is exactly what the JSON scan would refuse.
*/
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"

int utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (s[n] != '\0')
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return (int)n;
}

void utf8_trim_end(char *buf)
{
    size_t n = strlen(buf), i = n;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80) i--;
    if (i == 0 || (unsigned char)buf[i - 1] < 0xC0) return;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (n - (i - 1) < want) buf[i - 1] = '\0';
}

char *utf8_mend(const char *s, size_t len)
{
    /* Each bad byte becomes three: at most 3 * len + 1. */
    if (len > (((size_t)-1) - 1) / 3) return NULL;
    char *out = malloc(3 * len + 1);
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t o = 0;
    while (p < end) {
        int n = *p < 0x80 ? 1 : jsoncheck_utf8_seq(p, end);
        if (n) {
            memcpy(out + o, p, (size_t)n);
            o += (size_t)n;
            p += n;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    out[o] = '\0';
    return out;
}

/* A remote party's words end up on a terminal and in logs: an escape
** sequence or a cut character must not come with them. */
void utf8_printable(const char *p, size_t n, size_t max, char *out, size_t len)
{
    size_t w = 0, i = 0;
    if (max > len - 1) max = len - 1;
    while (i < n) {
        const unsigned char *c = (const unsigned char *)p + i;
        size_t k = 1;
        char sub = 0;
        if (*c < 0x20 || *c == 0x7f)
            sub = '?';
        else if (*c >= 0x80 && !(k = (size_t)jsoncheck_utf8_seq(c, (const unsigned char *)p + n)))
            k = 1, sub = '?';
        else if (k == 2 && *c == 0xC2 && c[1] < 0xA0) /* C1 controls: CSI is U+009B */
            sub = '?';
        if (w + k > max) break;
        if (sub) out[w++] = sub;
        else memcpy(out + w, c, k), w += k;
        i += k;
    }
    out[w] = '\0';
}
