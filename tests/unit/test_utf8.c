/*
** test_utf8.c: cutting text on character boundaries and mending invalid
** UTF-8 (src/util/utf8.h).
*/
#include "test.h"

#include <stdio.h>

#include "util/jsoncheck.h"
#include "util/utf8.h"

/* U+00E9 (2 bytes), U+20AC (3), U+1F600 (4). */
#define E_ACUTE "\xc3\xa9"
#define EURO "\xe2\x82\xac"
#define GRIN "\xf0\x9f\x98\x80"

TEST(cut_inside_a_character_moves_back_to_its_start)
{
    /* "ab" then each character: every max that falls inside it gives 2. */
    static const char *const chars[] = {E_ACUTE, EURO, GRIN};
    for (int c = 0; c < 3; c++) {
        char s[16];
        snprintf(s, sizeof s, "ab%sz", chars[c]);
        size_t len = strlen(chars[c]);
        for (size_t max = 3; max < 2 + len; max++) ASSERT_EQ_INT(utf8_cut(s, max), 2);
        ASSERT_EQ_INT(utf8_cut(s, 2 + len), (int)(2 + len));
    }
}

TEST(cut_at_or_past_the_end_keeps_the_whole_text)
{
    ASSERT_EQ_INT(utf8_cut("ab" EURO, 5), 5);
    ASSERT_EQ_INT(utf8_cut("ab" EURO, 64), 5);
    ASSERT_EQ_INT(utf8_cut("", 10), 0);
    ASSERT_EQ_INT(utf8_cut("abc", 0), 0);
}

TEST(printed_cut_is_always_valid_utf8)
{
    const char *s = "x" E_ACUTE EURO GRIN "y" GRIN EURO E_ACUTE;
    size_t at;
    for (size_t max = 0; max <= strlen(s) + 1; max++) {
        char out[64];
        snprintf(out, sizeof out, "%.*s", utf8_cut(s, max), s);
        ASSERT(strlen(out) <= max);
        ASSERT(jsoncheck_utf8(out, strlen(out), &at) == NULL);
    }
}

TEST(trim_end_drops_only_an_incomplete_last_character)
{
    char a[] = "ab" "\xe2\x82"; /* a euro sign cut after two bytes */
    utf8_trim_end(a);
    ASSERT_EQ_STR(a, "ab");
    char b[] = "ab" EURO;
    utf8_trim_end(b);
    ASSERT_EQ_STR(b, "ab" EURO);
    char c[] = "\xf0\x9f\x98";
    utf8_trim_end(c);
    ASSERT_EQ_STR(c, "");
    char d[] = "plain";
    utf8_trim_end(d);
    ASSERT_EQ_STR(d, "plain");
}

TEST(mend_replaces_each_invalid_byte_and_keeps_the_rest)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"ok " EURO, "ok " EURO},
        {"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},             /* overlong '/' */
        {"\xed\xa0\x80!", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!"}, /* a surrogate */
        {"\xff" E_ACUTE, "\xef\xbf\xbd" E_ACUTE},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *m = utf8_mend(cases[i].in, strlen(cases[i].in));
        ASSERT(m != NULL);
        ASSERT_EQ_STR(m, cases[i].want);
        free(m);
    }
}

TEST(mend_of_every_byte_value_is_valid_utf8)
{
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)(i ? i : 'z');
    char *m = utf8_mend(all, sizeof all);
    ASSERT(m != NULL);
    size_t at;
    ASSERT(jsoncheck_utf8(m, strlen(m), &at) == NULL);
    ASSERT(memcmp(m, all, 0x80) == 0); /* ASCII as it was */
    free(m);
}

TEST_MAIN(
    TEST_ENTRY(cut_inside_a_character_moves_back_to_its_start)
    TEST_ENTRY(cut_at_or_past_the_end_keeps_the_whole_text)
    TEST_ENTRY(printed_cut_is_always_valid_utf8)
    TEST_ENTRY(trim_end_drops_only_an_incomplete_last_character)
    TEST_ENTRY(mend_replaces_each_invalid_byte_and_keeps_the_rest)
    TEST_ENTRY(mend_of_every_byte_value_is_valid_utf8)
)
