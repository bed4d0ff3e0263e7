/*
** test_uuid7.c: time-ordered entry ids (src/util/uuid7.h).
**
** The generator keeps its last value for the whole process, so every case
** starts from a millisecond later than any id made before it (fresh_ms),
** whichever cases ran earlier in the same process.
*/
#include "test.h"

#include <stdint.h>
#include <time.h>

#include "util/uuid7.h"

/* The 48-bit time field of an id, or -1 when it is not hex. */
static int64_t time_of(const char *id)
{
    char hex[13];
    memcpy(hex, id, 8);
    memcpy(hex + 8, id + 9, 4);
    hex[12] = '\0';
    char *end;
    long long v = strtoll(hex, &end, 16);
    return *end ? -1 : (int64_t)v;
}

/* The 12-bit counter after the version digit. */
static unsigned counter_of(const char *id)
{
    char hex[4] = {id[15], id[16], id[17], '\0'};
    return (unsigned)strtoul(hex, NULL, 16);
}

/* A millisecond well after the time of every id made so far. */
static int64_t fresh_ms(void)
{
    char id[UUID7_BUFLEN];
    uuid7_next(0, id); /* a stale clock: the generator's last value + 1 */
    return time_of(id) + 1000;
}

/* 1 when id is lower-case 8-4-4-4-12 hex with version 7 and variant 10. */
static int well_formed(const char *id)
{
    if (strlen(id) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !strchr("0123456789abcdef", id[i])) return 0;
    }
    return id[14] == '7' && strchr("89ab", id[19]) != NULL;
}

TEST(format_version_and_variant)
{
    char id[UUID7_BUFLEN];
    for (int i = 0; i < 1000; i++) {
        uuid7_next(fresh_ms(), id);
        if (!well_formed(id)) TEST_FAIL_("malformed id %s", id);
    }
}

TEST(starts_with_the_millisecond_given)
{
    char id[UUID7_BUFLEN], want[16];
    int64_t ms = fresh_ms();
    uuid7_next(ms, id);
    snprintf(want, sizeof want, "%08llx-%04llx", (unsigned long long)(ms >> 16),
             (unsigned long long)(ms & 0xffff));
    ASSERT(strncmp(id, want, 13) == 0);
    ASSERT_EQ_INT(time_of(id), ms);
}

TEST(a_new_millisecond_starts_the_counter_below_2048)
{
    char id[UUID7_BUFLEN];
    int64_t ms = fresh_ms();
    for (int i = 0; i < 200; i++) {
        uuid7_next(ms + i, id);
        ASSERT_EQ_INT(time_of(id), ms + i);
        ASSERT(counter_of(id) < 2048);
    }
}

TEST(ten_thousand_in_one_millisecond_strictly_increase)
{
    enum { N = 10000 };
    static char ids[N][UUID7_BUFLEN];
    int64_t ms = fresh_ms();
    for (int i = 0; i < N; i++) uuid7_next(ms, ids[i]);
    for (int i = 0; i < N; i++) {
        if (!well_formed(ids[i])) TEST_FAIL_("malformed id %s", ids[i]);
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
            TEST_FAIL_("id %d (%s) does not sort after %s", i, ids[i], ids[i - 1]);
    }
    /* 10,000 ids overflow a 12-bit counter: it carried into the time field,
    ** by a few milliseconds and no more. */
    ASSERT(time_of(ids[N - 1]) > ms);
    ASSERT(time_of(ids[N - 1]) <= ms + N / 2048 + 1);
}

TEST(ten_thousand_from_the_real_clock_strictly_increase)
{
    enum { N = 10000 };
    static char ids[N][UUID7_BUFLEN];
    struct timespec t;
    for (int i = 0; i < N; i++) {
        clock_gettime(CLOCK_REALTIME, &t);
        uuid7_next((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000, ids[i]);
    }
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) >= 0)
            TEST_FAIL_("id %d (%s) does not sort after %s", i, ids[i], ids[i - 1]);
}

TEST(a_clock_stepping_back_still_increases)
{
    char a[UUID7_BUFLEN], b[UUID7_BUFLEN];
    int64_t ms = fresh_ms();
    uuid7_next(ms, a);
    uuid7_next(ms - 60000, b);
    ASSERT(strcmp(a, b) < 0);
    ASSERT_EQ_INT(time_of(b), ms); /* the time does not go back with the clock */
    ASSERT(well_formed(b));
}

TEST(out_of_range_times_are_clamped)
{
    char id[UUID7_BUFLEN];
    uuid7_next(-5, id);
    ASSERT(well_formed(id));
    ASSERT(time_of(id) >= 0);
}

TEST(the_random_part_differs_between_ids)
{
    char a[UUID7_BUFLEN], b[UUID7_BUFLEN];
    int64_t ms = fresh_ms();
    uuid7_next(ms, a);
    uuid7_next(ms, b);
    /* The last 62 bits (after "-8xxx-" / "-9xxx-" ...) are random: the
    ** chance that two ids agree in all of them is 2^-62. */
    ASSERT(strcmp(a + 19, b + 19) != 0);
}

TEST_MAIN(
    TEST_ENTRY(format_version_and_variant)
    TEST_ENTRY(starts_with_the_millisecond_given)
    TEST_ENTRY(a_new_millisecond_starts_the_counter_below_2048)
    TEST_ENTRY(ten_thousand_in_one_millisecond_strictly_increase)
    TEST_ENTRY(ten_thousand_from_the_real_clock_strictly_increase)
    TEST_ENTRY(a_clock_stepping_back_still_increases)
    TEST_ENTRY(out_of_range_times_are_clamped)
    TEST_ENTRY(the_random_part_differs_between_ids)
)
