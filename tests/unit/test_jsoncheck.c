/*
** test_jsoncheck.c: the strict RFC 8259 scan (src/protocol/jsoncheck.h).
*/
#include "test.h"

#include "util/jsoncheck.h"

#define DEPTH 64

static char last_err[256];

/* Check n bytes of text against max_depth; the message lands in last_err. */
static int jcn(const char *text, size_t n, int max_depth)
{
    memset(last_err, 0, sizeof last_err);
    return jsoncheck(text, n, max_depth, last_err, sizeof last_err);
}

static int jc(const char *text)
{
    return jcn(text, strlen(text), DEPTH);
}

/* Report which input broke an expectation before failing the case. */
#define EXPECT(text, code)                                                  \
    do {                                                                    \
        int got_ = jc(text);                                                \
        if (got_ != (code))                                                 \
            TEST_FAIL_("jsoncheck(\"%s\") = %d, want %d (%s)", text, got_,  \
                       (int)(code), last_err);                              \
    } while (0)

#define EXPECT_N(text, n, code)                                             \
    do {                                                                    \
        int got_ = jcn(text, n, DEPTH);                                     \
        if (got_ != (code))                                                 \
            TEST_FAIL_("jsoncheck(%s) = %d, want %d (%s)", #text, got_,     \
                       (int)(code), last_err);                              \
    } while (0)

/* n nested arrays, balanced; a new string the caller frees. */
static char *nested(size_t n, int balanced)
{
    char *s = malloc(2 * n + 1);
    if (!s) return NULL;
    memset(s, '[', n);
    if (balanced) memset(s + n, ']', n);
    s[balanced ? 2 * n : n] = '\0';
    return s;
}

TEST(valid_scalars)
{
    static const char *const ok[] = {
        "0", "-0", "1", "-1", "123", "1.5", "-0.25", "1e10", "1E10",
        "1e+10", "1e-10", "-1.0E-5", "0.0", "12345678901234567890", "1e400",
        "true", "false", "null", "\"\"", "\"abc\"",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\\uFFFF\""};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) EXPECT(ok[i], JSONCHECK_OK);
}

TEST(valid_objects)
{
    EXPECT("{}", JSONCHECK_OK);
    EXPECT("{\"a\":1}", JSONCHECK_OK);
    EXPECT("{\"a\":{\"b\":{}},\"c\":[],\"d\":null}", JSONCHECK_OK);
    EXPECT("{\"\":\"\"}", JSONCHECK_OK);
}

TEST(valid_arrays)
{
    EXPECT("[]", JSONCHECK_OK);
    EXPECT("[1,2,3]", JSONCHECK_OK);
    EXPECT("[[],[[]],{},\"x\",true,null,-1.5e3]", JSONCHECK_OK);
    EXPECT("[{\"a\":[{\"b\":[]}]}]", JSONCHECK_OK);
}

TEST(whitespace_around_and_inside)
{
    EXPECT(" \t\r\n{ \"a\" :\t1 ,\n\"b\" : [ 1 , 2 ] } \r\n", JSONCHECK_OK);
    EXPECT("  7  ", JSONCHECK_OK);
    EXPECT("[ ]", JSONCHECK_OK);
    EXPECT("{ }", JSONCHECK_OK);
}

TEST(non_json_whitespace_rejected)
{
    EXPECT("\f1", JSONCHECK_SYNTAX);
    EXPECT("\v1", JSONCHECK_SYNTAX);
    EXPECT_N("\xC2\xA0" "1", 3, JSONCHECK_SYNTAX); /* NO-BREAK SPACE */
}

TEST(empty_input_rejected)
{
    EXPECT("", JSONCHECK_SYNTAX);
    EXPECT("   ", JSONCHECK_SYNTAX);
    EXPECT("\n", JSONCHECK_SYNTAX);
}

TEST(trailing_comma_rejected)
{
    EXPECT("[1,]", JSONCHECK_SYNTAX);
    EXPECT("{\"a\":1,}", JSONCHECK_SYNTAX);
    EXPECT("[,]", JSONCHECK_SYNTAX);
    EXPECT("[,1]", JSONCHECK_SYNTAX);
    EXPECT("[1,,2]", JSONCHECK_SYNTAX);
}

TEST(leading_zeros_rejected)
{
    EXPECT("01", JSONCHECK_SYNTAX);
    EXPECT("-01", JSONCHECK_SYNTAX);
    EXPECT("00", JSONCHECK_SYNTAX);
    EXPECT("[01]", JSONCHECK_SYNTAX);
}

TEST(trailing_dot_rejected)
{
    EXPECT("1.", JSONCHECK_SYNTAX);
    EXPECT("[1.]", JSONCHECK_SYNTAX);
    EXPECT("1.e5", JSONCHECK_SYNTAX);
}

TEST(leading_dot_rejected)
{
    EXPECT(".5", JSONCHECK_SYNTAX);
    EXPECT("-.5", JSONCHECK_SYNTAX);
}

TEST(lone_minus_rejected)
{
    EXPECT("-", JSONCHECK_SYNTAX);
    EXPECT("[-]", JSONCHECK_SYNTAX);
    EXPECT("--1", JSONCHECK_SYNTAX);
}

TEST(plus_sign_rejected)
{
    EXPECT("+1", JSONCHECK_SYNTAX);
    EXPECT("[+1]", JSONCHECK_SYNTAX);
}

TEST(bad_exponent_rejected)
{
    EXPECT("1e", JSONCHECK_SYNTAX);
    EXPECT("1e+", JSONCHECK_SYNTAX);
    EXPECT("1E-", JSONCHECK_SYNTAX);
    EXPECT("1e1.5", JSONCHECK_SYNTAX);
}

TEST(hex_rejected)
{
    EXPECT("0x1F", JSONCHECK_SYNTAX);
    EXPECT("0X10", JSONCHECK_SYNTAX);
    EXPECT("[0x0]", JSONCHECK_SYNTAX);
}

TEST(nan_infinity_rejected)
{
    EXPECT("NaN", JSONCHECK_SYNTAX);
    EXPECT("Infinity", JSONCHECK_SYNTAX);
    EXPECT("-Infinity", JSONCHECK_SYNTAX);
    EXPECT("[nan]", JSONCHECK_SYNTAX);
}

TEST(bad_literals_rejected)
{
    EXPECT("tru", JSONCHECK_SYNTAX);
    EXPECT("True", JSONCHECK_SYNTAX);
    EXPECT("nul", JSONCHECK_SYNTAX);
    EXPECT("nulll", JSONCHECK_SYNTAX);
    EXPECT("[falsey]", JSONCHECK_SYNTAX);
    EXPECT("undefined", JSONCHECK_SYNTAX);
}

TEST(single_quotes_rejected)
{
    EXPECT("'a'", JSONCHECK_SYNTAX);
    EXPECT("{'a':1}", JSONCHECK_SYNTAX);
    EXPECT("{\"a\":'b'}", JSONCHECK_SYNTAX);
}

TEST(unquoted_key_rejected)
{
    EXPECT("{a:1}", JSONCHECK_SYNTAX);
    EXPECT("{1:1}", JSONCHECK_SYNTAX);
    EXPECT("{\"a\" 1}", JSONCHECK_SYNTAX);
    EXPECT("{\"a\"}", JSONCHECK_SYNTAX);
}

TEST(unescaped_control_char_rejected)
{
    EXPECT("\"a\x01" "b\"", JSONCHECK_SYNTAX);
    EXPECT("\"a\nb\"", JSONCHECK_SYNTAX);
    EXPECT("\"a\tb\"", JSONCHECK_SYNTAX);
    EXPECT("\"\x1f\"", JSONCHECK_SYNTAX);
    EXPECT_N("\"a\0b\"", 5, JSONCHECK_SYNTAX); /* a raw NUL byte */
    EXPECT("\"\x7f\"", JSONCHECK_OK);          /* DEL is allowed */
}

TEST(bad_escape_rejected)
{
    EXPECT("\"\\x41\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\a\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\'\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\U0041\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\u12\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\u12G4\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\", JSONCHECK_SYNTAX);
    EXPECT("\"\\u00", JSONCHECK_SYNTAX);
}

TEST(unterminated_rejected)
{
    EXPECT("\"abc", JSONCHECK_SYNTAX);
    EXPECT("[1,2", JSONCHECK_SYNTAX);
    EXPECT("{\"a\":", JSONCHECK_SYNTAX);
    EXPECT("{\"a\":1", JSONCHECK_SYNTAX);
    EXPECT("{", JSONCHECK_SYNTAX);
    EXPECT("]", JSONCHECK_SYNTAX);
    EXPECT("}", JSONCHECK_SYNTAX);
    EXPECT("[}", JSONCHECK_SYNTAX);
    EXPECT("{]", JSONCHECK_SYNTAX);
}

TEST(valid_utf8_accepted)
{
    EXPECT("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF\"",
           JSONCHECK_OK);
    EXPECT("{\"\xE2\x82\xAC\":\"\xC2\x80\"}", JSONCHECK_OK);
}

TEST(utf8_overlong_rejected)
{
    EXPECT("\"\xC0\x80\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xC1\xBF\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xE0\x80\x80\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xF0\x80\x80\x80\"", JSONCHECK_SYNTAX);
}

TEST(utf8_surrogate_rejected)
{
    EXPECT("\"\xED\xA0\x80\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xED\xBF\xBF\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xED\x9F\xBF\"", JSONCHECK_OK); /* U+D7FF is fine */
}

TEST(utf8_above_max_rejected)
{
    EXPECT("\"\xF5\x80\x80\x80\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xF4\x90\x80\x80\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xFF\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xFE\"", JSONCHECK_SYNTAX);
}

TEST(utf8_truncated_rejected)
{
    EXPECT("\"\xE2\x82\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xC3\"", JSONCHECK_SYNTAX);
    EXPECT("\"\xF0\x9F\x98\"", JSONCHECK_SYNTAX);
    EXPECT_N("\"\xE2\x82", 3, JSONCHECK_SYNTAX); /* at the end of input */
    EXPECT("\"\x80\"", JSONCHECK_SYNTAX);        /* lone continuation */
}

TEST(utf8_outside_strings_rejected)
{
    EXPECT("\xC3\xA9", JSONCHECK_SYNTAX);
    EXPECT("[1]\xC3\xA9", JSONCHECK_SYNTAX);
}

TEST(lone_high_surrogate_escape_rejected)
{
    EXPECT("\"\\ud800\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\uD800x\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\ud800\\u0041\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\ud800\\ud800\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\udbff\\n\"", JSONCHECK_SYNTAX);
}

TEST(lone_low_surrogate_escape_rejected)
{
    EXPECT("\"\\udc00\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\uDFFF\"", JSONCHECK_SYNTAX);
    EXPECT("\"\\udc00\\ud800\"", JSONCHECK_SYNTAX);
}

TEST(surrogate_pair_accepted)
{
    EXPECT("\"\\ud83d\\ude00\"", JSONCHECK_OK);
    EXPECT("\"\\uD800\\uDC00\"", JSONCHECK_OK);
    EXPECT("\"\\udbff\\udfff\"", JSONCHECK_OK);
    EXPECT("{\"\\ud83d\\ude00\":1}", JSONCHECK_OK);
}

TEST(nul_escape_reported)
{
    EXPECT("\"a\\u0000b\"", JSONCHECK_NUL);
    EXPECT("{\"k\\u0000\":1}", JSONCHECK_NUL);
    EXPECT("[\"\\u0000\",1]", JSONCHECK_NUL);
    ASSERT_CONTAINS(last_err, "byte");
}

TEST(nul_escape_then_syntax_error_is_syntax)
{
    EXPECT("[\"\\u0000\",]", JSONCHECK_SYNTAX);
    EXPECT("[\"\\u0000\"", JSONCHECK_SYNTAX);
}

TEST(depth_at_limit_accepted)
{
    char *s = nested(5, 1);
    ASSERT(s);
    int rc = jcn(s, strlen(s), 5);
    free(s);
    ASSERT_EQ_INT(rc, JSONCHECK_OK);
    ASSERT_EQ_INT(jcn("{\"a\":{\"b\":[{}]}}", 16, 4), JSONCHECK_OK);
}

TEST(depth_one_over_limit_rejected)
{
    char *s = nested(6, 1);
    ASSERT(s);
    int rc = jcn(s, strlen(s), 5);
    free(s);
    ASSERT_EQ_INT(rc, JSONCHECK_DEPTH);
    ASSERT_CONTAINS(last_err, "byte 5");
    ASSERT_EQ_INT(jcn("{\"a\":{\"b\":[{}]}}", 16, 3), JSONCHECK_DEPTH);
}

TEST(depth_counts_nesting_not_siblings)
{
    ASSERT_EQ_INT(jcn("[[],[],[[]],{}]", 15, 3), JSONCHECK_OK);
    ASSERT_EQ_INT(jcn("[[],[],[[]],{}]", 15, 2), JSONCHECK_DEPTH);
}

TEST(depth_zero_allows_scalars_only)
{
    ASSERT_EQ_INT(jcn("1", 1, 0), JSONCHECK_OK);
    ASSERT_EQ_INT(jcn("[]", 2, 0), JSONCHECK_DEPTH);
}

TEST(very_deep_open_rejected)
{
    /* Never closed, so not JSON at all: the syntax error outranks the depth
    ** (JSONTestSuite's n_structure_100000_opening_arrays). */
    char *s = nested(100000, 0);
    ASSERT(s);
    int a = jcn(s, 100000, DEPTH);
    int b = jcn(s, 100000, 1000000); /* even with an enormous limit */
    free(s);
    ASSERT_EQ_INT(a, JSONCHECK_SYNTAX);
    ASSERT_EQ_INT(b, JSONCHECK_SYNTAX);
}

TEST(very_deep_balanced_rejected)
{
    char *s = nested(100000, 1);
    ASSERT(s);
    int a = jcn(s, 200000, 1000000); /* the limit is capped at 1000 */
    free(s);
    ASSERT_EQ_INT(a, JSONCHECK_DEPTH);
}

TEST(two_values_rejected)
{
    EXPECT("1 2", JSONCHECK_SYNTAX);
    EXPECT("{} {}", JSONCHECK_SYNTAX);
    EXPECT("[]x", JSONCHECK_SYNTAX);
    EXPECT("\"a\"\"b\"", JSONCHECK_SYNTAX);
    EXPECT("null,", JSONCHECK_SYNTAX);
}

TEST(length_bounds_the_scan)
{
    /* Bytes after len are not part of the text. */
    EXPECT_N("[1] garbage", 3, JSONCHECK_OK);
    EXPECT_N("[1,2]", 4, JSONCHECK_SYNTAX);
    EXPECT_N("truex", 4, JSONCHECK_OK);
    EXPECT_N("12", 1, JSONCHECK_OK);
}

TEST(error_message_has_byte_offset)
{
    EXPECT("[1,]", JSONCHECK_SYNTAX);
    ASSERT_CONTAINS(last_err, "at byte 3");
    EXPECT("{\"a\":01}", JSONCHECK_SYNTAX);
    ASSERT_CONTAINS(last_err, "at byte 6");
    EXPECT("\"ab\xC0\x80\"", JSONCHECK_SYNTAX);
    ASSERT_CONTAINS(last_err, "at byte 3");
    ASSERT_CONTAINS(last_err, "UTF-8");
}

TEST(long_strings_checked_at_every_offset)
{
    /* Strings are scanned eight bytes at a time where possible: put each
    ** kind of byte at every position of a long string, so that it lands in
    ** every lane of a word and in the tail, and check the verdict and the
    ** offset the message names. */
    static const struct {
        const char *bytes;
        int code;
        const char *what;
    } cases[] = {
        {"\x01", JSONCHECK_SYNTAX, "control character"},
        {"\x1f", JSONCHECK_SYNTAX, "control character"},
        {"\xFF", JSONCHECK_SYNTAX, "UTF-8"},
        {"\xC3", JSONCHECK_SYNTAX, "UTF-8"},      /* truncated sequence */
        {"\xED\xA0\x80", JSONCHECK_SYNTAX, "UTF-8"}, /* a surrogate */
        {"\\q", JSONCHECK_SYNTAX, "escape"},
        {"\\u0000", JSONCHECK_NUL, "\\u0000"},
        {"\\\"", JSONCHECK_OK, NULL},
        {"\\n", JSONCHECK_OK, NULL},
        {"\xC3\xA9", JSONCHECK_OK, NULL},
        {"\xF0\x9F\x98\x80", JSONCHECK_OK, NULL},
        {"\x7f", JSONCHECK_OK, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (size_t at = 0; at < 40; at++) {
            char text[64], want[32];
            size_t n = 0, len = strlen(cases[k].bytes);
            text[n++] = '"';
            for (size_t i = 0; i < at; i++) text[n++] = (char)('a' + i % 26);
            memcpy(text + n, cases[k].bytes, len);
            n += len;
            for (size_t i = at; i < 40; i++) text[n++] = 'z';
            text[n++] = '"';
            int got = jcn(text, n, DEPTH);
            /* The opening quote is byte 0; a bad escape is named at its
            ** backslash's next byte, as the byte loop always did. */
            size_t off = 1 + at + (cases[k].bytes[0] == '\\' ? 1 : 0);
            snprintf(want, sizeof want, "at byte %zu", off);
            if (got != cases[k].code ||
                (cases[k].code == JSONCHECK_SYNTAX &&
                 (!strstr(last_err, want) || !strstr(last_err, cases[k].what))))
                TEST_FAIL_("case %zu at %zu: got %d (%s), want %d %s", k, at, got,
                           last_err, cases[k].code, want);
        }
    }
}

/* jsoncheck_utf8(): the rule the scan applies, on any text, with the
** first bad byte and what is wrong there. */
static const char *why_at(const char *text, size_t *at)
{
    *at = (size_t)-1;
    return jsoncheck_utf8(text, strlen(text), at);
}

TEST(utf8_text_valid_forms_pass)
{
    size_t at;
    ASSERT(why_at("", &at) == NULL);
    ASSERT(why_at("plain \x01\x7F", &at) == NULL);
    ASSERT(why_at("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF \xF4\x8F\xBF\xBF", &at) ==
           NULL);
    ASSERT_EQ_INT(at, (size_t)-1);
}

TEST(utf8_text_names_each_problem_and_where)
{
    static const struct {
        const char *text, *why;
        size_t at;
    } cases[] = {
        {"ab\xC0\x80", "an overlong form", 2},
        {"\xC1\xBF", "an overlong form", 0},
        {"x\xE0\x9F\xBF", "an overlong form", 1},
        {"\xC3\xA9\xF0\x8F\xBF\xBF", "an overlong form", 2},
        {"\xED\xA0\x80", "a UTF-16 surrogate", 0},
        {"a\xED\xBF\xBF", "a UTF-16 surrogate", 1},
        {"\xF4\x90\x80\x80", "a code point above U+10FFFF", 0},
        {"\xF5\x80\x80\x80", "a code point above U+10FFFF", 0},
        {"\xE2\x82", "a truncated sequence", 0},
        {"\xE2\x82z", "a truncated sequence", 0},
        {"ok\x80", "a continuation byte without a lead byte", 2},
        {"\xFF", "a byte UTF-8 never uses", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t at;
        const char *why = why_at(cases[k].text, &at);
        if (!why || strcmp(why, cases[k].why) != 0 || at != cases[k].at)
            TEST_FAIL_("case %zu: got \"%s\" at %zu, want \"%s\" at %zu", k, why ? why : "(valid)",
                       at, cases[k].why, cases[k].at);
    }
}

/* The scan and the text check agree: what one refuses the other does. */
TEST(utf8_text_and_scan_agree)
{
    char text[8];
    for (unsigned a = 0x80; a <= 0xFF; a++)
        for (unsigned b = 0x70; b <= 0xC0; b += 0x08) {
            snprintf(text, sizeof text, "\"%c%c\x80\x80\"", (char)a, (char)b);
            size_t at;
            int scan_ok = jc(text) == JSONCHECK_OK;
            int text_ok = jsoncheck_utf8(text, strlen(text), &at) == NULL;
            if (scan_ok != text_ok)
                TEST_FAIL_("bytes %02X %02X: scan %d, text %d", a, b, scan_ok, text_ok);
        }
}

TEST(error_message_truncated_safely)
{
    char err[8];
    memset(err, 'x', sizeof err);
    ASSERT_EQ_INT(jsoncheck("[1,]", 4, DEPTH, err, sizeof err), JSONCHECK_SYNTAX);
    ASSERT(memchr(err, '\0', sizeof err) != NULL);
}

TEST(edges_keep_their_verdicts_and_messages)
{
    /* Closing mixed containers, whitespace and bytes that look like it,
    ** numbers' grammar, truncated, overlong and surrogate UTF-8, escapes
    ** and nesting: each verdict and message as the checker gave them
    ** before it tracked the innermost container and tested whitespace
    ** with one comparison (the table was made by that checker). */
    static const struct {
        const char *text;
        int depth, code;
        const char *err;
    } edges[] = {
    {"[{\"a\":[1,{\"b\":[]}],\"c\":{}},[]]", 8, 0, ""},
    {"{\"a\":[],\"b\":1}", 8, 0, ""},
    {"[{},1]", 8, 0, ""},
    {"[{},{\"a\":[]}]", 8, 0, ""},
    {"{\"a\":{},\"b\":{}}", 8, 0, ""},
    {"[{]}", 8, -1, "expected a key at byte 2"},
    {"{\"a\":[}]", 8, -1, "unexpected character at byte 6"},
    {"[{}}", 8, -1, "expected ',' or a closing bracket at byte 3"},
    {"{\"a\":{}]", 8, -1, "expected ',' or a closing bracket at byte 7"},
    {"{\"a\":[]}}", 8, -1, "unexpected text after the value at byte 8"},
    {"[[]}", 8, -1, "expected ',' or a closing bracket at byte 3"},
    {"{\"a\":{},\"b\":[{}]]", 8, -1, "expected ',' or a closing bracket at byte 16"},
    {"{\"a\":[],}", 8, -1, "expected a key at byte 8"},
    {"[{},]", 8, -1, "unexpected character at byte 4"},
    {"[{\"a\":[]},{\"b\":{\"c\":[]}}]", 3, -2, "nesting deeper than the limit at byte 20"},
    {"[{\"a\":[]},{\"b\":{\"c\":[]}}]", 2, -2, "nesting deeper than the limit at byte 6"},
    {"{\"a\":[[]],\"b\":[[[]]]}", 3, -2, "nesting deeper than the limit at byte 16"},
    {"\x0b""1", 8, -1, "unexpected character at byte 0"},
    {"\x0c""1", 8, -1, "unexpected character at byte 0"},
    {"1\x1f""", 8, -1, "unexpected text after the value at byte 1"},
    {"[1,\x0b""2]", 8, -1, "unexpected character at byte 3"},
    {" \x09""\x0a""\x0d""[ \x09""\x0a""\x0d""1 \x09""\x0a""\x0d"", \x09""\x0a""\x0d""{ \x09""\x0a""\x0d""\"k\" \x09""\x0a""\x0d"": \x09""\x0a""\x0d""[] \x09""\x0a""\x0d""} \x09""\x0a""\x0d""] \x09""\x0a""\x0d""", 8, 0, ""},
    {"\xc2""\xa0""1", 8, -1, "unexpected character at byte 0"},
    {"[1\x7f""]", 8, -1, "expected ',' or a closing bracket at byte 2"},
    {"{\"a\"\x0c"":1}", 8, -1, "expected ':' at byte 4"},
    {"{\"a\":1", 8, -1, "unexpected end of input at byte 6"},
    {"-", 8, -1, "malformed number at byte 1"},
    {"-01", 8, -1, "unexpected text after the value at byte 2"},
    {"1.e5", 8, -1, "malformed number at byte 2"},
    {"1e", 8, -1, "malformed number at byte 2"},
    {"1E+", 8, -1, "malformed number at byte 3"},
    {"0.0e-0", 8, 0, ""},
    {"-0", 8, 0, ""},
    {"1.5E+10", 8, 0, ""},
    {"01", 8, -1, "unexpected text after the value at byte 1"},
    {".5", 8, -1, "unexpected character at byte 0"},
    {"+1", 8, -1, "unexpected character at byte 0"},
    {"1e5.5", 8, -1, "unexpected text after the value at byte 3"},
    {"[1.]", 8, -1, "malformed number at byte 3"},
    {"2.", 8, -1, "malformed number at byte 2"},
    {"[-]", 8, -1, "malformed number at byte 2"},
    {"[1e+]", 8, -1, "malformed number at byte 4"},
    {"{\"n\":-0.0E-00}", 8, 0, ""},
    {"[0x1]", 8, -1, "expected ',' or a closing bracket at byte 2"},
    {"[1,-]", 8, -1, "malformed number at byte 4"},
    {"\"\xe2""\x82""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xe2""\x82""", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xf0""\x9d""\x84""", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xc0""\xaf""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xe0""\x80""\xaf""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xf0""\x80""\x80""\xaf""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xed""\xa0""\x80""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xf4""\x90""\x80""\x80""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\x80""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\xff""\"", 8, -1, "invalid UTF-8 at byte 1"},
    {"\"\\ud800\"", 8, -1, "lone high surrogate escape at byte 7"},
    {"\"\\udc00\"", 8, -1, "lone low surrogate escape at byte 7"},
    {"\"\\ud800\\u0041\"", 8, -1, "lone high surrogate escape at byte 13"},
    {"\"\\ud834\\udd1e\"", 8, 0, ""},
    {"\"\\u00\"", 8, -1, "truncated \\u escape at byte 3"},
    {"\"\\uZZZZ\"", 8, -1, "bad \\u escape at byte 3"},
    {"\"\\x\"", 8, -1, "bad escape in string at byte 2"},
    {"[\"\\u0000\"]", 8, -3, "\\u0000 in a string at byte 8"},
    {"[[[[[[[[[]]]]]]]]]", 8, -2, "nesting deeper than the limit at byte 8"},
    {"[[[[[[[[[]]]]]]]]]", 9, 0, ""},
    {"[[[[[[[[[]]]]]]]]", 9, -1, "unexpected end of input at byte 17"},
    {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}}", 7, -2, "nesting deeper than the limit at byte 35"},
    {"a sixteen-byte+ plain string that is not quoted", 8, -1, "unexpected character at byte 0"},
    {"\"a string longer than sixteen bytes with a \x01"" inside\"", 8, -1, "unescaped control character in string at byte 43"},
    {"\"a string longer than sixteen bytes, then truncated", 8, -1, "unterminated string at byte 51"},
    };
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        int got = jcn(edges[i].text, strlen(edges[i].text), edges[i].depth);
        if (got != edges[i].code || strcmp(last_err, edges[i].err) != 0)
            TEST_FAIL_("case %zu: %d '%s', want %d '%s'", i, got, last_err, edges[i].code,
                       edges[i].err);
    }
}

TEST_MAIN(
    TEST_ENTRY(edges_keep_their_verdicts_and_messages)
    TEST_ENTRY(valid_scalars)
    TEST_ENTRY(valid_objects)
    TEST_ENTRY(valid_arrays)
    TEST_ENTRY(whitespace_around_and_inside)
    TEST_ENTRY(non_json_whitespace_rejected)
    TEST_ENTRY(empty_input_rejected)
    TEST_ENTRY(trailing_comma_rejected)
    TEST_ENTRY(leading_zeros_rejected)
    TEST_ENTRY(trailing_dot_rejected)
    TEST_ENTRY(leading_dot_rejected)
    TEST_ENTRY(lone_minus_rejected)
    TEST_ENTRY(plus_sign_rejected)
    TEST_ENTRY(bad_exponent_rejected)
    TEST_ENTRY(hex_rejected)
    TEST_ENTRY(nan_infinity_rejected)
    TEST_ENTRY(bad_literals_rejected)
    TEST_ENTRY(single_quotes_rejected)
    TEST_ENTRY(unquoted_key_rejected)
    TEST_ENTRY(unescaped_control_char_rejected)
    TEST_ENTRY(bad_escape_rejected)
    TEST_ENTRY(unterminated_rejected)
    TEST_ENTRY(valid_utf8_accepted)
    TEST_ENTRY(utf8_overlong_rejected)
    TEST_ENTRY(utf8_surrogate_rejected)
    TEST_ENTRY(utf8_above_max_rejected)
    TEST_ENTRY(utf8_truncated_rejected)
    TEST_ENTRY(utf8_outside_strings_rejected)
    TEST_ENTRY(lone_high_surrogate_escape_rejected)
    TEST_ENTRY(lone_low_surrogate_escape_rejected)
    TEST_ENTRY(surrogate_pair_accepted)
    TEST_ENTRY(nul_escape_reported)
    TEST_ENTRY(nul_escape_then_syntax_error_is_syntax)
    TEST_ENTRY(depth_at_limit_accepted)
    TEST_ENTRY(depth_one_over_limit_rejected)
    TEST_ENTRY(depth_counts_nesting_not_siblings)
    TEST_ENTRY(depth_zero_allows_scalars_only)
    TEST_ENTRY(very_deep_open_rejected)
    TEST_ENTRY(very_deep_balanced_rejected)
    TEST_ENTRY(two_values_rejected)
    TEST_ENTRY(length_bounds_the_scan)
    TEST_ENTRY(error_message_has_byte_offset)
    TEST_ENTRY(long_strings_checked_at_every_offset)
    TEST_ENTRY(error_message_truncated_safely)
    TEST_ENTRY(utf8_text_valid_forms_pass)
    TEST_ENTRY(utf8_text_names_each_problem_and_where)
    TEST_ENTRY(utf8_text_and_scan_agree)
)
