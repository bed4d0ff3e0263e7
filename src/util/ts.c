/*
** ts.c: RFC 3339 parsing and formatting for the audit trail.
**
** The conversions between civil dates and day numbers follow Howard
** Hinnant's public-domain algorithms, which are exact for every year of the
** proleptic Gregorian calendar and need no table or library call.  Parsing is
** strict: the audit trail compares instants, so an input that could be read
** two ways is rejected rather than guessed at.
*/
#include "ts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "utf8.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int64_t ts_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * US_PER_SEC + t.tv_nsec / 1000;
}

/* v as exactly n decimal digits (the last n of it) at p. */
static void put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void ts_format(int64_t us, char out[TS_BUFLEN])
{
    const int64_t lo = days_from_civil(0, 1, 1) * US_PER_DAY;
    const int64_t hi = days_from_civil(10000, 1, 1) * US_PER_DAY - 1;
    if (us < lo) us = lo;
    if (us > hi) us = hi;
    int64_t days = us / US_PER_DAY, rem = us % US_PER_DAY;
    if (rem < 0) { rem += US_PER_DAY; days--; }
    int64_t y; unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned secs = (unsigned)(rem / US_PER_SEC);
    /* Written digit by digit: every entry's time is formatted as it is
    ** appended, and snprintf() took 3.6 K instructions for it.  Every field
    ** is in range by construction (the year by the clamp above). */
    put_digits(out, (unsigned)y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, secs / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, secs / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, secs % 60, 2);
    out[19] = '.';
    put_digits(out + 20, (unsigned)(rem % US_PER_SEC), 6);
    out[26] = 'Z';
    out[27] = '\0';
}

/* Read exactly n decimal digits at *p, advancing it; -1 if any is missing. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int fail(char *err, size_t errlen, const char *s, const char *why)
{
    snprintf(err, errlen, "'%.*s' is not a valid date: %s", utf8_cut(s, 64), s, why);
    return -1;
}

int ts_parse(const char *s, int end_of_day, int64_t *out_us, char *err,
             size_t errlen)
{
    const char *p = s;
    const char *form = "expected RFC 3339 (2026-11-27T09:30:00Z) or YYYY-MM-DD";
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-') return fail(err, errlen, s, form);
    int mo = digits(&p, 2);
    if (mo < 0 || *p++ != '-') return fail(err, errlen, s, form);
    int d = digits(&p, 2);
    if (d < 0) return fail(err, errlen, s, form);
    if (mo < 1 || mo > 12) return fail(err, errlen, s, "month out of range");
    if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
        return fail(err, errlen, s, "day out of range for its month");
    int64_t day_us = days_from_civil(y, (unsigned)mo, (unsigned)d) * US_PER_DAY;
    if (*p == '\0') {
        *out_us = end_of_day ? day_us + US_PER_DAY - 1 : day_us;
        return 0;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') return fail(err, errlen, s, form);
    p++;
    int h = digits(&p, 2);
    if (h < 0 || *p++ != ':') return fail(err, errlen, s, "expected HH:MM:SS");
    int mi = digits(&p, 2);
    if (mi < 0 || *p++ != ':') return fail(err, errlen, s, "expected HH:MM:SS");
    int sec = digits(&p, 2);
    if (sec < 0) return fail(err, errlen, s, "expected HH:MM:SS");
    if (h > 23 || mi > 59 || sec > 60)
        return fail(err, errlen, s, "time of day out of range");
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 6) frac = frac * 10 + (*p - '0');
        if (n == 0) return fail(err, errlen, s, "empty fraction of a second");
        for (; n < 6; n++) frac *= 10;
    }
    /* A leap second is an instant RFC 3339 allows; hold it at the last
    ** microsecond of its minute so ordering stays monotonic. */
    if (sec == 60) { sec = 59; frac = US_PER_SEC - 1; }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = digits(&p, 2);
        if (oh < 0 || *p++ != ':') return fail(err, errlen, s, "bad UTC offset");
        int om = digits(&p, 2);
        if (om < 0 || oh > 23 || om > 59)
            return fail(err, errlen, s, "bad UTC offset");
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return fail(err, errlen, s, "missing time zone (Z or +HH:MM)");
    }
    if (*p != '\0') return fail(err, errlen, s, "unexpected text after the time");
    *out_us = day_us + ((int64_t)h * 3600 + mi * 60 + sec - offset_s) * US_PER_SEC
              + frac;
    return 0;
}
