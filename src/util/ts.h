/*
** ts.h: timestamps as the audit trail stores and compares them.
**
** Every entry's created_at is RFC 3339 in UTC with exactly six fractional
** digits and a Z ("2026-11-27T21:58:05.123456Z").  That fixed shape sorts
** lexically in time order, so the store can compare instants as strings once
** the caller has normalized a query bound with ts_parse() and ts_format().
** Arithmetic is done on microseconds since the Unix epoch, computed with the
** proleptic Gregorian calendar directly (no timegm(), no TZ, no locale).
*/
#ifndef DSS_TS_H
#define DSS_TS_H

#include <stddef.h>
#include <stdint.h>

/* Size of the buffer ts_format() writes: 27 characters and a NUL. */
#define TS_BUFLEN 28

/* The current time in microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t ts_now_us(void);

/* Write `us` as "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out. Years outside
** 0000..9999 are clamped to that range. */
void ts_format(int64_t us, char out[TS_BUFLEN]);

/*
** Parse an RFC 3339 date-time ("2026-11-27T10:00:00Z", "...T10:00:00.5+02:00",
** 't', ' ' and 'z' accepted as RFC 3339 allows) or a bare full-date
** ("2026-11-27", a whole UTC day).  A bare date gives its first microsecond,
** or its last when end_of_day is non-zero, so that both ends of a range can be
** inclusive.  Returns 0 and sets *out_us, or -1 and writes a sentence saying
** what is wrong into err.
*/
int ts_parse(const char *s, int end_of_day, int64_t *out_us,
             char *err, size_t errlen);

#endif
