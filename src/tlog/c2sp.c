/*
** c2sp.c: base64, decimals, lines and text checks for the C2SP formats.
**
** Base64 is libsodium's (original alphabet, padded), which already refuses
** non-canonical encodings; what is added here is that the whole input must
** be consumed, since libsodium stops quietly at the first character it
** does not know when asked where it stopped, and that it holds nothing but
** the alphabet (libsodium 1.0.18 takes bytes above 0x7F for '/').
*/
#include "c2sp.h"

#include <sodium.h>
#include <string.h>

#include "../util/jsoncheck.h"

size_t c2sp_b64_encode(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2base64(out, C2SP_B64_LEN(n) + 1, in, n, sodium_base64_VARIANT_ORIGINAL);
    return C2SP_B64_LEN(n);
}

int c2sp_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    const char *end = NULL;
    size_t n = 0;
    /* libsodium wants room for every byte the text could hold. */
    if (len % 4 != 0 || len / 4 * 3 > cap + 2) return -1;
    /* libsodium 1.0.18 (Debian 12's) decodes every byte above 0x7F as '/',
    ** so a hash or a signature would have many texts ("é" for "//"), which
    ** other implementations refuse: only the alphabet and '=' pass. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return -1;
    }
    if (sodium_base642bin(out, cap, s, len, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != s + len)
        return -1;
    *outlen = n;
    return 0;
}

int c2sp_b64_hash(const char *s, size_t len, uint8_t out[32])
{
    size_t n = 0;
    if (len != C2SP_B64_LEN(32)) return -1;
    return c2sp_b64_decode(s, len, out, 32, &n) == 0 && n == 32 ? 0 : -1;
}

int c2sp_decimal(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 19 || (s[0] == '0' && len > 1)) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    /* 19 digits cannot overflow uint64_t; INT64_MAX has 19. */
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = (int64_t)v;
    return 0;
}

int c2sp_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    if (*pos >= len) return -1;
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    if (!nl) return -1;
    *line = buf + *pos;
    *line_len = (size_t)(nl - *line);
    *pos = (size_t)(nl - buf) + 1;
    return 0;
}

int c2sp_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p < 0x80) {
            if (*p < 0x20 && *p != '\n') return 0;
            p++;
            continue;
        }
        int n = jsoncheck_utf8_seq(p, end);
        if (!n) return 0;
        p += n;
    }
    return 1;
}
