/*
** jsonnum.c: exact number printing for cJSON trees, and the canonical
** text of a number token (see jsonnum.h).
*/
#include "jsonnum.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest "%.*g" text of v that reads back as exactly v. */
static void shortest(double v, char out[32])
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

static int fix_number(cJSON *item)
{
    double v = item->valuedouble;
    if (!isfinite(v)) return 0; /* refused earlier by the protocol layer */
    if (v == (double)item->valueint && fabs(v) < 2147483647.0) return 0;
    char cjson_way[32], exact[32];
    snprintf(cjson_way, sizeof cjson_way, "%1.15g", v);
    if (strtod(cjson_way, NULL) == v) return 0;
    shortest(v, exact);
    char *raw = malloc(strlen(exact) + 1);
    if (!raw) return -1;
    memcpy(raw, exact, strlen(exact) + 1);
    item->type = cJSON_Raw | (item->type & cJSON_StringIsConst);
    item->valuestring = raw;
    return 0;
}

int jsonnum_exact(cJSON *item)
{
    int rc = 0;
    for (; item; item = item->next) {
        if (cJSON_IsNumber(item)) {
            if (fix_number(item) != 0) rc = -1;
        } else if ((cJSON_IsObject(item) || cJSON_IsArray(item)) &&
                   jsonnum_exact(item->child) != 0) {
            rc = -1;
        }
    }
    return rc;
}

/* ---- canonical text ------------------------------------------------------ */

/* A number token taken apart: the digits before the point [ip, ie), after
** it [fp, fe), and of the exponent without its sign [ep, ee). */
typedef struct numtok {
    int neg, eneg;
    const char *ip, *ie, *fp, *fe, *ep, *ee;
} numtok;

static const char *skip_digits(const char *p, const char *end)
{
    while (p < end && *p >= '0' && *p <= '9') p++;
    return p;
}

/* Take [p, end) apart as JSON's number grammar has it (leading zeros are
** let through: they change no value).  0, or -1 when it is no number. */
static int numtok_parse(const char *p, const char *end, numtok *t)
{
    memset(t, 0, sizeof *t);
    if ((t->neg = p < end && *p == '-')) p++;
    t->ip = p;
    t->ie = t->fp = t->fe = p = skip_digits(p, end);
    if (p < end && *p == '.') {
        t->fp = ++p;
        t->fe = p = skip_digits(p, end);
        if (t->fe == t->fp) return -1;
    }
    t->ep = t->ee = p;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) t->eneg = *p++ == '-';
        t->ep = p;
        t->ee = p = skip_digits(p, end);
        if (t->ee == t->ep) return -1;
    }
    return t->ie > t->ip && p == end ? 0 : -1;
}

/* Digit k of the token's digits, those after the point following those
** before it. */
static char digit_at(const numtok *t, size_t k)
{
    size_t ni = (size_t)(t->ie - t->ip);
    return k < ni ? t->ip[k] : t->fp[k - ni];
}

/* The exponent -d or d (n digits, the first not 0, at least 19 of them)
** plus shift, as decimal text into out (n + 3 bytes).  Worked out on the
** digits: |d| >= 10^18 exceeds any shift a token can make, so the sum has
** d's sign, and a magnitude of |d| plus or minus |shift|. */
static void exponent_big(const char *d, size_t n, int neg, int64_t shift, char *out)
{
    int grow = (shift >= 0) != neg;
    uint64_t s = shift < 0 ? 0 - (uint64_t)shift : (uint64_t)shift;
    char *m = out + neg;
    out[0] = '-';
    m[0] = '0'; /* room for a carry */
    memcpy(m + 1, d, n);
    int carry = 0;
    for (size_t i = n + 1; i-- > 0 && (s || carry);) {
        int x = m[i] - '0' + (grow ? 1 : -1) * ((int)(s % 10) + carry);
        s /= 10;
        carry = x < 0 || x > 9;
        m[i] = (char)('0' + (x < 0 ? x + 10 : x > 9 ? x - 10 : x));
    }
    size_t z = 0;
    while (m[z] == '0') z++;
    memmove(m, m + z, n + 1 - z);
    m[n + 1 - z] = '\0';
}

/* The token's exponent plus shift, as decimal text into out (at least
** 24 bytes, and ee - ep + 3). */
static void exponent_text(const numtok *t, int64_t shift, char *out)
{
    const char *d = t->ep;
    while (d < t->ee && *d == '0') d++;
    size_t n = (size_t)(t->ee - d);
    if (n > 18) {
        exponent_big(d, n, t->eneg, shift, out);
        return;
    }
    int64_t e = 0;
    for (; d < t->ee; d++) e = e * 10 + (*d - '0');
    snprintf(out, 24, "%" PRId64, (t->eneg ? -e : e) + shift);
}

char *jsonnum_canonical(const char *text, size_t len)
{
    numtok t;
    /* The bound keeps every shift below 10^17 (exponent_big). */
    if ((uint64_t)len >= UINT64_C(100000000000000000) ||
        numtok_parse(text, text + len, &t) != 0)
        return NULL;
    size_t nf = (size_t)(t.fe - t.fp), nd = (size_t)(t.ie - t.ip) + nf, a = 0, b = nd;
    while (a < nd && digit_at(&t, a) == '0') a++;
    if (a == nd) return strdup("0"); /* -0 and 0e5 too */
    while (digit_at(&t, b - 1) == '0') b--;
    /* The digits [a, b) times ten to the exponent, plus the zeros dropped
    ** after them, minus the digits after the point. */
    int64_t shift = (int64_t)(nd - b) - (int64_t)nf;
    size_t en = (size_t)(t.ee - t.ep);
    char *out = malloc(1 + (b - a) + 1 + (en + 3 > 24 ? en + 3 : 24));
    if (!out) return NULL;
    size_t o = 0;
    if (t.neg) out[o++] = '-';
    for (size_t k = a; k < b; k++) out[o++] = digit_at(&t, k);
    out[o++] = 'e';
    exponent_text(&t, shift, out + o);
    return out;
}
