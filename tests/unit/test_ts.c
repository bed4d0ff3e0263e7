/*
** test_ts.c: RFC 3339 formatting and parsing (src/util/ts.h).
*/
#include "test.h"

#include <stdint.h>
#include <time.h>

#include "util/ts.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* 2026-11-27T00:00:00Z and 2026-11-27T10:00:00Z as microseconds. */
#define DAY_2026_11_27 INT64_C(1795737600000000)
#define TEN_AM_2026_11_27 INT64_C(1795773600000000)

/* Parse s (start of day) and return 1 when it is accepted and equals want. */
static int parses_to(const char *s, int64_t want)
{
    char err[256] = "";
    int64_t got = -1;
    if (ts_parse(s, 0, &got, err, sizeof err) != 0) {
        fprintf(stderr, "ts_parse(\"%s\") failed: %s\n", s, err);
        return 0;
    }
    if (got != want) {
        fprintf(stderr, "ts_parse(\"%s\") = %lld, want %lld\n", s,
                (long long)got, (long long)want);
        return 0;
    }
    return 1;
}

/* Return 1 when s is rejected with a non-empty message. */
static int rejected(const char *s)
{
    char err[256] = "";
    int64_t got = 12345;
    int rc = ts_parse(s, 0, &got, err, sizeof err);
    if (rc != -1) {
        fprintf(stderr, "ts_parse(\"%s\") accepted as %lld\n", s, (long long)got);
        return 0;
    }
    if (err[0] == '\0') {
        fprintf(stderr, "ts_parse(\"%s\") gave no message\n", s);
        return 0;
    }
    return 1;
}

/* A random instant of years 0 to 9999, the range ts_format() writes. */
static int64_t random_instant(unsigned long long *state)
{
    const int64_t lo = INT64_C(-62167219200000000); /* 0000-01-01T00:00:00Z */
    const uint64_t span = (uint64_t)(INT64_C(253402300799999999) - lo) + 1;
    return lo + (int64_t)(test_random(state) % span);
}

TEST(format_epoch_zero)
{
    char buf[TS_BUFLEN];
    ts_format(0, buf);
    ASSERT_EQ_STR(buf, "1970-01-01T00:00:00.000000Z");
}

TEST(format_leap_day)
{
    char buf[TS_BUFLEN];
    ts_format(INT64_C(1709210096789012), buf);
    ASSERT_EQ_STR(buf, "2024-02-29T12:34:56.789012Z");
}

TEST(format_shape_is_fixed_width)
{
    char buf[TS_BUFLEN];
    ts_format(INT64_C(1795816685123456), buf);
    ASSERT_EQ_STR(buf, "2026-11-27T21:58:05.123456Z");
    ASSERT_EQ_INT(strlen(buf), TS_BUFLEN - 1);
}

TEST(format_pads_microseconds)
{
    char buf[TS_BUFLEN];
    ts_format(1, buf);
    ASSERT_EQ_STR(buf, "1970-01-01T00:00:00.000001Z");
    ts_format(1000, buf);
    ASSERT_EQ_STR(buf, "1970-01-01T00:00:00.001000Z");
    ts_format(US_PER_SEC + 10, buf);
    ASSERT_EQ_STR(buf, "1970-01-01T00:00:01.000010Z");
}

TEST(format_negative_times)
{
    char buf[TS_BUFLEN];
    ts_format(-1, buf);
    ASSERT_EQ_STR(buf, "1969-12-31T23:59:59.999999Z");
    ts_format(-US_PER_DAY, buf);
    ASSERT_EQ_STR(buf, "1969-12-31T00:00:00.000000Z");
    ts_format(-US_PER_SEC - 1, buf);
    ASSERT_EQ_STR(buf, "1969-12-31T23:59:58.999999Z");
    ts_format(INT64_C(-14182940000000), buf);
    ASSERT_EQ_STR(buf, "1969-07-20T20:17:40.000000Z");
    ts_format(INT64_C(-62135596800000000), buf);
    ASSERT_EQ_STR(buf, "0001-01-01T00:00:00.000000Z");
}

TEST(format_clamps_out_of_range_years)
{
    char buf[TS_BUFLEN];
    ts_format(INT64_MAX, buf);
    ASSERT_EQ_STR(buf, "9999-12-31T23:59:59.999999Z");
    ts_format(INT64_MIN, buf);
    ASSERT_EQ_STR(buf, "0000-01-01T00:00:00.000000Z");
}

/* The C library's calendar as the reference: 200,000 instants spread over
** years 0 to 9999, each formatted and compared field by field. */
TEST(format_agrees_with_gmtime_over_ten_thousand_years)
{
    unsigned long long r = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 200000; i++) {
        int64_t us = random_instant(&r);
        char got[TS_BUFLEN], want[64];
        ts_format(us, got);
        int64_t whole = us / US_PER_SEC, frac = us % US_PER_SEC;
        if (frac < 0) frac += US_PER_SEC, whole--; /* before 1970: round down */
        time_t secs = (time_t)whole;
        struct tm tm;
        if (!gmtime_r(&secs, &tm)) TEST_FAIL_("gmtime_r refused %lld", (long long)secs);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)frac);
        if (strcmp(got, want) != 0)
            TEST_FAIL_("%lld us: \"%s\", the C library's calendar says \"%s\"",
                       (long long)us, got, want);
    }
}

TEST(now_is_plausible)
{
    int64_t now = ts_now_us();
    ASSERT(now > INT64_C(1700000000000000)); /* after 2023-11 */
    ASSERT(now < INT64_C(4102444800000000)); /* before 2100 */
}

TEST(parse_utc_z)
{
    ASSERT(parses_to("2026-11-27T21:58:05.123456Z", INT64_C(1795816685123456)));
    ASSERT(parses_to("2026-11-27T10:00:00Z", TEN_AM_2026_11_27));
    ASSERT(parses_to("1970-01-01T00:00:00Z", 0));
}

TEST(parse_lowercase_z_and_t)
{
    ASSERT(parses_to("2026-11-27t10:00:00z", TEN_AM_2026_11_27));
    ASSERT(parses_to("2026-11-27t10:00:00Z", TEN_AM_2026_11_27));
    ASSERT(parses_to("2026-11-27T10:00:00z", TEN_AM_2026_11_27));
}

TEST(parse_space_separator)
{
    ASSERT(parses_to("2026-11-27 10:00:00Z", TEN_AM_2026_11_27));
}

TEST(parse_positive_offset)
{
    ASSERT(parses_to("2026-11-27T12:00:00+02:00", TEN_AM_2026_11_27));
}

TEST(parse_negative_offset)
{
    ASSERT(parses_to("2026-11-27T04:30:00-05:30", TEN_AM_2026_11_27));
}

TEST(parse_offsets_same_instant)
{
    char err[256];
    int64_t a, b, c, d;
    ASSERT_EQ_INT(ts_parse("2026-11-27T10:00:00Z", 0, &a, err, sizeof err), 0);
    ASSERT_EQ_INT(ts_parse("2026-11-27T12:00:00+02:00", 0, &b, err, sizeof err), 0);
    ASSERT_EQ_INT(ts_parse("2026-11-27T04:30:00-05:30", 0, &c, err, sizeof err), 0);
    ASSERT_EQ_INT(ts_parse("2026-11-27T10:00:00+00:00", 0, &d, err, sizeof err), 0);
    ASSERT_EQ_INT(a, b);
    ASSERT_EQ_INT(a, c);
    ASSERT_EQ_INT(a, d);
}

TEST(parse_offset_crosses_day)
{
    /* 01:00 at +02:00 is 23:00 the previous day in UTC. */
    ASSERT(parses_to("2026-11-28T01:00:00+02:00", DAY_2026_11_27 + 23 * INT64_C(3600) * US_PER_SEC));
    char buf[TS_BUFLEN];
    ts_format(DAY_2026_11_27 + 23 * INT64_C(3600) * US_PER_SEC, buf);
    ASSERT_EQ_STR(buf, "2026-11-27T23:00:00.000000Z");
}

TEST(parse_fraction_one_to_nine_digits)
{
    static const char *const fracs[] = {
        "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678",
        "123456789"};
    static const int64_t want[] = {100000, 120000, 123000, 123400, 123450,
                                   123456, 123456, 123456, 123456};
    for (int i = 0; i < 9; i++) {
        char s[64];
        snprintf(s, sizeof s, "2026-11-27T10:00:00.%sZ", fracs[i]);
        ASSERT(parses_to(s, TEN_AM_2026_11_27 + want[i]));
    }
}

TEST(parse_fraction_truncates_not_rounds)
{
    ASSERT(parses_to("2026-11-27T10:00:00.9999999Z", TEN_AM_2026_11_27 + 999999));
    ASSERT(parses_to("1970-01-01T00:00:00.000000999Z", 0));
}

TEST(parse_empty_fraction_rejected)
{
    ASSERT(rejected("2026-11-27T10:00:00.Z"));
}

TEST(parse_bare_date_start_of_day)
{
    ASSERT(parses_to("2026-11-27", DAY_2026_11_27));
}

TEST(parse_bare_date_end_of_day)
{
    char err[256], buf[TS_BUFLEN];
    int64_t v = 0;
    ASSERT_EQ_INT(ts_parse("2026-11-27", 1, &v, err, sizeof err), 0);
    ASSERT_EQ_INT(v, DAY_2026_11_27 + US_PER_DAY - 1);
    ts_format(v, buf);
    ASSERT_EQ_STR(buf, "2026-11-27T23:59:59.999999Z");
}

TEST(parse_end_of_day_ignored_for_date_time)
{
    char err[256];
    int64_t v = 0;
    ASSERT_EQ_INT(ts_parse("2026-11-27T10:00:00Z", 1, &v, err, sizeof err), 0);
    ASSERT_EQ_INT(v, TEN_AM_2026_11_27);
}

TEST(parse_leap_year_feb_29_valid)
{
    ASSERT(parses_to("2024-02-29T12:34:56.789012Z", INT64_C(1709210096789012)));
    char err[256];
    int64_t v;
    ASSERT_EQ_INT(ts_parse("2024-02-29", 0, &v, err, sizeof err), 0);
    ASSERT_EQ_INT(ts_parse("2000-02-29", 0, &v, err, sizeof err), 0);
}

TEST(parse_non_leap_feb_29_invalid)
{
    ASSERT(rejected("2025-02-29"));
    ASSERT(rejected("2025-02-29T00:00:00Z"));
    ASSERT(rejected("1900-02-29")); /* divisible by 100, not by 400 */
}

TEST(parse_month_13_rejected)
{
    ASSERT(rejected("2026-13-01T00:00:00Z"));
    ASSERT(rejected("2026-00-01T00:00:00Z"));
}

TEST(parse_day_32_rejected)
{
    ASSERT(rejected("2026-01-32T00:00:00Z"));
    ASSERT(rejected("2026-04-31"));
    ASSERT(rejected("2026-01-00"));
}

TEST(parse_hour_24_rejected)
{
    ASSERT(rejected("2026-11-27T24:00:00Z"));
    ASSERT(rejected("2026-11-27T23:60:00Z"));
    ASSERT(rejected("2026-11-27T23:59:61Z"));
}

TEST(parse_leap_second_held_at_end_of_minute)
{
    ASSERT(parses_to("2026-12-31T23:59:60Z",
                     DAY_2026_11_27 + 35 * US_PER_DAY - 1));
}

TEST(parse_bad_offset_rejected)
{
    ASSERT(rejected("2026-11-27T10:00:00+24:00"));
    ASSERT(rejected("2026-11-27T10:00:00+02:60"));
    ASSERT(rejected("2026-11-27T10:00:00+0200"));
    ASSERT(rejected("2026-11-27T10:00:00+02"));
}

TEST(parse_missing_timezone_rejected)
{
    char err[256] = "";
    int64_t v;
    ASSERT_EQ_INT(ts_parse("2026-11-27T10:00:00", 0, &v, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "time zone");
    ASSERT(rejected("2026-11-27T10:00:00.5"));
}

TEST(parse_trailing_garbage_rejected)
{
    ASSERT(rejected("2026-11-27T10:00:00Zx"));
    ASSERT(rejected("2026-11-27T10:00:00Z "));
    ASSERT(rejected("2026-11-27T10:00:00+02:00:00"));
    ASSERT(rejected("2026-11-27x"));
    ASSERT(rejected("2026-11-27 "));
}

TEST(parse_truncated_rejected)
{
    static const char full[] = "2026-11-27T10:00:00.5+02:00";
    char buf[sizeof full];
    /* Every proper prefix except the bare date is incomplete. */
    for (size_t n = 0; n < sizeof full - 1; n++) {
        if (n == 10) continue;
        memcpy(buf, full, n);
        buf[n] = '\0';
        ASSERT(rejected(buf));
    }
}

TEST(parse_empty_string_rejected)
{
    ASSERT(rejected(""));
}

TEST(parse_malformed_shapes_rejected)
{
    ASSERT(rejected("26-11-27"));
    ASSERT(rejected("2026/11/27"));
    ASSERT(rejected("2026-1-27"));
    ASSERT(rejected("2026-11-27T1:00:00Z"));
    ASSERT(rejected("+2026-11-27T10:00:00Z"));
    ASSERT(rejected("yesterday"));
}

TEST(parse_error_mentions_input)
{
    char err[256] = "";
    int64_t v;
    ASSERT_EQ_INT(ts_parse("2026-13-45", 0, &v, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "2026-13-45");
    ASSERT_EQ_INT(ts_parse("not a date", 0, &v, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "not a date");
}

TEST(parse_error_fits_small_buffer)
{
    char err[16];
    memset(err, 'x', sizeof err);
    int64_t v;
    ASSERT_EQ_INT(ts_parse("2026-13-45", 0, &v, err, sizeof err), -1);
    ASSERT(memchr(err, '\0', sizeof err) != NULL);
}

TEST(round_trip_parse_format)
{
    /* Fixed points of interest plus a deterministic pseudo-random sweep
    ** over the whole formattable range (years 0000..9999). */
    static const int64_t fixed[] = {
        0, 1, -1, 999999, -999999, INT64_C(1709210096789012),
        INT64_C(1795816685123456), INT64_C(951782400000000), /* 2000-02-29 */
        INT64_C(-62167219200000000),                      /* 0000-01-01 */
        INT64_C(253402300799999999),                      /* 9999-12-31 end */
    };
    char buf[TS_BUFLEN], err[256];
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        int64_t back = 0;
        ts_format(fixed[i], buf);
        ASSERT_EQ_INT(ts_parse(buf, 0, &back, err, sizeof err), 0);
        ASSERT_EQ_INT(back, fixed[i]);
    }
    unsigned long long x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        int64_t v = random_instant(&x);
        int64_t back = 0;
        ts_format(v, buf);
        if (ts_parse(buf, 0, &back, err, sizeof err) != 0 || back != v)
            TEST_FAIL_("round trip of %lld via %s gave %lld (%s)", (long long)v,
                       buf, (long long)back, err);
    }
}

TEST(format_sorts_lexically_in_time_order)
{
    char a[TS_BUFLEN], b[TS_BUFLEN];
    unsigned long long x = 12345;
    for (int i = 0; i < 5000; i++) {
        int64_t u = random_instant(&x);
        int64_t v = random_instant(&x);
        ts_format(u, a);
        ts_format(v, b);
        int c = strcmp(a, b);
        if ((u < v && c >= 0) || (u > v && c <= 0) || (u == v && c != 0))
            TEST_FAIL_("%s vs %s out of order", a, b);
    }
}

TEST_MAIN(
    TEST_ENTRY(format_agrees_with_gmtime_over_ten_thousand_years)
    TEST_ENTRY(format_epoch_zero)
    TEST_ENTRY(format_leap_day)
    TEST_ENTRY(format_shape_is_fixed_width)
    TEST_ENTRY(format_pads_microseconds)
    TEST_ENTRY(format_negative_times)
    TEST_ENTRY(format_clamps_out_of_range_years)
    TEST_ENTRY(now_is_plausible)
    TEST_ENTRY(parse_utc_z)
    TEST_ENTRY(parse_lowercase_z_and_t)
    TEST_ENTRY(parse_space_separator)
    TEST_ENTRY(parse_positive_offset)
    TEST_ENTRY(parse_negative_offset)
    TEST_ENTRY(parse_offsets_same_instant)
    TEST_ENTRY(parse_offset_crosses_day)
    TEST_ENTRY(parse_fraction_one_to_nine_digits)
    TEST_ENTRY(parse_fraction_truncates_not_rounds)
    TEST_ENTRY(parse_empty_fraction_rejected)
    TEST_ENTRY(parse_bare_date_start_of_day)
    TEST_ENTRY(parse_bare_date_end_of_day)
    TEST_ENTRY(parse_end_of_day_ignored_for_date_time)
    TEST_ENTRY(parse_leap_year_feb_29_valid)
    TEST_ENTRY(parse_non_leap_feb_29_invalid)
    TEST_ENTRY(parse_month_13_rejected)
    TEST_ENTRY(parse_day_32_rejected)
    TEST_ENTRY(parse_hour_24_rejected)
    TEST_ENTRY(parse_leap_second_held_at_end_of_minute)
    TEST_ENTRY(parse_bad_offset_rejected)
    TEST_ENTRY(parse_missing_timezone_rejected)
    TEST_ENTRY(parse_trailing_garbage_rejected)
    TEST_ENTRY(parse_truncated_rejected)
    TEST_ENTRY(parse_empty_string_rejected)
    TEST_ENTRY(parse_malformed_shapes_rejected)
    TEST_ENTRY(parse_error_mentions_input)
    TEST_ENTRY(parse_error_fits_small_buffer)
    TEST_ENTRY(round_trip_parse_format)
    TEST_ENTRY(format_sorts_lexically_in_time_order)
)
