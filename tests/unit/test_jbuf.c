/*
** test_jbuf.c: the JSON text buffer (src/util/jbuf.h): the string escaper,
** integers, and tree printing that must match cJSON_PrintUnformatted().
*/
#include "test.h"

#include <math.h>
#include <errno.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/jbuf.h"
#include "util/jsoncheck.h"

/* s[0..n) escaped by jbuf_string; caller frees. */
static char *escaped(const char *s, size_t n)
{
    jbuf b = {0};
    jbuf_string(&b, s, n);
    return jbuf_take(&b);
}

/* Whether text parses (strictly, then with cJSON) to a string equal to
** want[0..n). */
static int round_trips(const char *text, const char *want, size_t n)
{
    char why[128];
    if (jsoncheck(text, strlen(text), 4, why, sizeof why) != JSONCHECK_OK) return 0;
    cJSON *v = cJSON_Parse(text);
    int ok = cJSON_IsString(v) && strlen(v->valuestring) == n &&
             memcmp(v->valuestring, want, n) == 0;
    cJSON_Delete(v);
    return ok;
}

TEST(every_control_character_escaped)
{
    static const char *const want[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
        "\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r",
        "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
        "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
    for (int c = 0; c < 32; c++) {
        /* Alone, and inside a run long enough for the word-wise scan. */
        char in[20];
        memset(in, 'a', sizeof in);
        in[11] = (char)c;
        char *one = escaped(in + 11, 1), *mid = escaped(in, sizeof in);
        char expect[64];
        snprintf(expect, sizeof expect, "\"aaaaaaaaaaa%saaaaaaaa\"", want[c]);
        int ok_one = one && strlen(one) == strlen(want[c]) + 2 &&
                     memcmp(one + 1, want[c], strlen(want[c])) == 0;
        int ok_mid = mid && strcmp(mid, expect) == 0;
        free(one);
        free(mid);
        if (!ok_one || !ok_mid) TEST_FAIL_("control character 0x%02x", c);
    }
}

TEST(quote_and_backslash_escaped)
{
    char *s = escaped("a\"b\\c", 5);
    ASSERT_EQ_STR(s, "\"a\\\"b\\\\c\"");
    free(s);
}

TEST(other_ascii_unchanged)
{
    /* Everything from space to DEL except the two that need escapes,
    ** including the solidus, which JSON allows but does not require. */
    char in[128], want[140];
    size_t n = 0, w = 0;
    want[w++] = '"';
    for (int c = 0x20; c < 0x80; c++) {
        if (c == '"' || c == '\\') continue;
        in[n++] = (char)c;
        want[w++] = (char)c;
    }
    want[w++] = '"';
    want[w] = '\0';
    char *s = escaped(in, n);
    ASSERT_EQ_STR(s, want);
    free(s);
}

TEST(multibyte_utf8_passes_through)
{
    const char *in = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC";
    char *s = escaped(in, strlen(in));
    ASSERT(s);
    ASSERT_EQ_INT(strlen(s), strlen(in) + 2);
    ASSERT(memcmp(s + 1, in, strlen(in)) == 0);
    ASSERT(round_trips(s, in, strlen(in)));
    free(s);
}

TEST(empty_string)
{
    char *s = escaped("", 0);
    ASSERT_EQ_STR(s, "\"\"");
    free(s);
}

TEST(every_byte_at_every_offset_round_trips)
{
    /* Each special byte at each position of a 40-byte run, so that the
    ** word-wise scan meets it in every lane and in the tail. */
    static const char specials[] = {'"', '\\', '\n', '\t', 0x01, 0x1f, 0x7f, '/'};
    for (size_t k = 0; k < sizeof specials; k++) {
        for (size_t at = 0; at < 40; at++) {
            char in[41];
            for (size_t i = 0; i < 40; i++) in[i] = (char)('A' + i % 26);
            in[at] = specials[k];
            in[40] = '\0';
            char *s = escaped(in, 40);
            cJSON *str = cJSON_CreateString(in);
            char *want = str ? cJSON_PrintUnformatted(str) : NULL;
            int ok = s && want && strcmp(s, want) == 0 && round_trips(s, in, 40);
            free(s);
            cJSON_free(want);
            cJSON_Delete(str);
            if (!ok) TEST_FAIL_("byte 0x%02x at offset %zu", (unsigned)specials[k], at);
        }
    }
}

TEST(nul_byte_escaped)
{
    /* cJSON's strings end at a NUL, but a jbuf string has a length. */
    char *s = escaped("a\0b", 3);
    ASSERT_EQ_STR(s, "\"a\\u0000b\"");
    free(s);
}

/* n bytes drawn from pool into in, then a NUL; *seed advances. */
static void draw(char *in, size_t n, const char *pool, size_t npool, unsigned *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        in[i] = pool[(*seed >> 16) % npool];
    }
    in[n] = '\0';
}

/* Whether jbuf_string() gives cJSON's text for strings of every length up
** to 200 drawn from pool (seeded), each at every offset of a buffer. */
static int escapes_match_cjson(const char *pool, size_t npool, unsigned seed)
{
    for (size_t n = 0; n <= 200; n++) {
        for (int round = 0; round < 6; round++) {
            char in[201];
            draw(in, n, pool, npool, &seed);
            jbuf b = {0};
            for (int i = 0; i < round * 3; i++) jbuf_putc(&b, '<');
            jbuf_string(&b, in, n);
            char *got = jbuf_take(&b);
            cJSON *str = cJSON_CreateString(in);
            char *want = str ? cJSON_PrintUnformatted(str) : NULL;
            int same = got && want && strcmp(got + round * 3, want) == 0;
            free(got);
            cJSON_free(want);
            cJSON_Delete(str);
            if (!same) {
                fprintf(stderr, "length %zu, round %d\n", n, round);
                return 0;
            }
        }
    }
    return 1;
}

TEST(dense_escapes_match_cjson)
{
    /* Strings of every length up to 200 drawn from a few plain bytes and
    ** many that need escapes, so that blocks hold several escapes, one
    ** right after another, and at their edges. */
    static const char pool[] = {'a', '"', '\\', '\n', 0x01, 0x1f, 'z', (char)0xC3,
                                (char)0xA9, '/', ' ', 0x7f};
    ASSERT(escapes_match_cjson(pool, sizeof pool, 12345));
}

TEST(long_string_round_trips)
{
    /* Longer than one escaping chunk, with escapes on both sides of it. */
    size_t n = 3 * 4096 + 123;
    char *in = malloc(n);
    ASSERT(in);
    for (size_t i = 0; i < n; i++)
        in[i] = i % 97 == 0 ? '"' : i % 89 == 0 ? '\n' : (char)('a' + i % 26);
    char *s = escaped(in, n);
    int ok = s && round_trips(s, in, n);
    free(s);
    free(in);
    ASSERT(ok);
}

/* cJSON's text of s as a JSON string, less its quotes when bare; caller
** frees with cJSON_free(). */
static char *cjson_string(const char *s, int bare)
{
    cJSON *str = cJSON_CreateString(s);
    char *t = str ? cJSON_PrintUnformatted(str) : NULL;
    cJSON_Delete(str);
    if (t && bare) {
        size_t n = strlen(t);
        memmove(t, t + 1, n - 2);
        t[n - 2] = '\0';
    }
    return t;
}

TEST(string_twice_is_the_string_escaped_again)
{
    /* The two forms of one string, from plain and dense inputs of every
    ** length up to 100: raw is jbuf_string()'s text and esc that text
    ** escaped once more, as cJSON would print it inside a string. */
    static const char pool[] = {'a', '"', '\\', '\n', 0x01, 0x1f, 'z', (char)0xE2,
                                (char)0x80, (char)0xA8, '/', ' ', 0x7f};
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
    unsigned seed = 777;
    for (size_t n = 0; n <= 100; n++) {
        for (int round = 0; round < 12; round++) {
            char in[101];
            /* Rounds 0 and 1 are plain text: the one-scan path. */
            if (round < 2) draw(in, n, letters, sizeof letters - 1, &seed);
            else draw(in, n, pool, sizeof pool, &seed);
            jbuf raw = {0}, esc = {0};
            jbuf_puts(&raw, "[");
            jbuf_puts(&esc, "[");
            jbuf_string_twice(&raw, &esc, in, n);
            char *r = jbuf_take(&raw), *e = jbuf_take(&esc);
            char *want_r = cjson_string(in, 0);
            char *want_e = cjson_string(r ? r + 1 : "", 1);
            int same = r && e && want_r && want_e && strcmp(r + 1, want_r) == 0 &&
                       e[0] == '[' && strcmp(e + 1, want_e) == 0;
            free(r);
            free(e);
            cJSON_free(want_r);
            cJSON_free(want_e);
            if (!same) TEST_FAIL_("length %zu, round %d", n, round);
        }
    }
}

TEST(escaped_appends_after_any_prefix_without_touching_it)
{
    /* The escaper writes blocks past the end of what it appends; what the
    ** buffer held before must survive, whatever its length. */
    static const char text[] = "{\"k\":\"v\\\\w\",\"n\":[1,2]}\n\x01 tail of plain text";
    for (size_t prefix = 0; prefix < 70; prefix++) {
        for (size_t n = 0; n < sizeof text; n += 3) {
            char part[sizeof text];
            memcpy(part, text, n);
            part[n] = '\0';
            jbuf b = {0};
            for (size_t i = 0; i < prefix; i++) jbuf_putc(&b, (char)('A' + i % 26));
            jbuf_escaped(&b, part, n);
            char *got = jbuf_take(&b);
            char *want = cjson_string(part, 1);
            int ok = got && want && strlen(got) == prefix + strlen(want) &&
                     strcmp(got + prefix, want) == 0;
            for (size_t i = 0; ok && i < prefix; i++) ok = got[i] == (char)('A' + i % 26);
            free(got);
            cJSON_free(want);
            if (!ok) TEST_FAIL_("prefix %zu, length %zu", prefix, n);
        }
    }
}

TEST(escape_since_mirrors_what_was_appended_and_failure)
{
    jbuf raw = {0}, esc = {0};
    jbuf_puts(&raw, "skip");
    size_t from = raw.len;
    jbuf_puts(&raw, "{\"a\":\"b\\n\"}");
    jbuf_escape_since(&esc, &raw, from);
    char *e = jbuf_take(&esc);
    ASSERT_EQ_STR(e, "{\\\"a\\\":\\\"b\\\\n\\\"}");
    free(e);
    jbuf_fail(&raw);
    jbuf_escape_since(&esc, &raw, 0);
    ASSERT(esc.failed);
    jbuf_string_twice(&raw, &esc, "x", 1);
    ASSERT(raw.failed && esc.failed);
    jbuf_free(&raw);
    jbuf_free(&esc);
}

TEST(both_escapers_match_cjson)
{
    /* The SSSE3 escaper (where the CPU has it) and the portable one, on
    ** JSON-like text (quotes and backslashes every few bytes), on text
    ** with control characters among them (which the wide one hands to the
    ** portable one block by block) and on UTF-8. */
    static const char json_like[] = {'"', '\\', 'a', 'b', ':', ',', '{', '}', '1', ' '};
    static const char with_controls[] = {'"', '\\', 'a', '\n', 0x01, 0x1f, '\t', 'z'};
    static const char utf8[] = {'"', (char)0xC3, (char)0xA9, (char)0xE2, (char)0x80,
                                (char)0xA8, 'x', 0x7f};
    for (int wide = 1; wide >= 0; wide--) {
        jbuf_testing_wide(wide);
        int ok = escapes_match_cjson(json_like, sizeof json_like, 1) &&
                 escapes_match_cjson(with_controls, sizeof with_controls, 2) &&
                 escapes_match_cjson(utf8, sizeof utf8, 3);
        jbuf_testing_wide(1);
        if (!ok) TEST_FAIL_("the %s escaper", wide ? "wide" : "portable");
    }
}

TEST(integers)
{
    static const int64_t v[] = {0, 7, -7, 1234567890123LL, INT64_MAX, INT64_MIN};
    static const char *const want[] = {"0", "7", "-7", "1234567890123",
                                       "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        jbuf b = {0};
        jbuf_int(&b, v[i]);
        char *s = jbuf_take(&b);
        int ok = s && strcmp(s, want[i]) == 0;
        free(s);
        if (!ok) TEST_FAIL_("integer %s", want[i]);
    }
}

/* jbuf_print(tree) must equal cJSON_PrintUnformatted(tree). */
static int same_as_cjson(const cJSON *tree)
{
    char *a = cJSON_PrintUnformatted(tree), *b = jbuf_print(tree);
    int same = a && b && strcmp(a, b) == 0;
    if (!same) fprintf(stderr, "cJSON: %s\njbuf:  %s\n", a ? a : "(null)", b ? b : "(null)");
    cJSON_free(a);
    free(b);
    return same;
}

TEST(tree_matches_cjson)
{
    cJSON *t = cJSON_Parse(
        "{\"a\":1,\"b\":-2.5,\"c\":1e300,\"d\":0.1,\"e\":12345678901234567,"
        "\"f\":[true,false,null,\"x\\\"y\\u0001\\n\",{},[]],"
        "\"g\":{\"h\":{\"i\":[1,[2,[3]]]}},\"\\u00e9t\\u00e9\":\"\\u20ac\","
        "\"k\":2147483648,\"l\":-2147483649,\"m\":3.0000000000000004,"
        "\"n\":\"\",\"o\":\"line\\r\\nbreak\\ttab\\\\slash/\"}");
    ASSERT(t);
    cJSON_AddItemToObject(t, "raw", cJSON_CreateRaw("{\"spliced\":[1,2]}"));
    cJSON_AddItemToObject(t, "inf", cJSON_CreateNumber(INFINITY));
    int same = same_as_cjson(t);
    cJSON_Delete(t);
    ASSERT(same);
}

TEST(tree_scalars_and_empties_match_cjson)
{
    cJSON *items[] = {cJSON_CreateNull(), cJSON_CreateTrue(), cJSON_CreateFalse(),
                      cJSON_CreateNumber(0), cJSON_CreateString(""),
                      cJSON_CreateObject(), cJSON_CreateArray(),
                      cJSON_CreateRaw("123")};
    int all = 1;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        all &= items[i] && same_as_cjson(items[i]);
        cJSON_Delete(items[i]);
    }
    ASSERT(all);
}

TEST(invalid_tree_gives_null)
{
    /* cJSON refuses to print a raw item without text; so does jbuf. */
    cJSON *o = cJSON_CreateObject();
    cJSON *raw = cJSON_CreateRaw("1");
    ASSERT(o && raw);
    free(raw->valuestring);
    raw->valuestring = NULL;
    cJSON_AddItemToObject(o, "r", raw);
    char *s = jbuf_print(o);
    char *c = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    ASSERT(s == NULL);
    ASSERT(c == NULL);
}

TEST(take_of_empty_buffer_is_empty_string)
{
    jbuf b = {0};
    char *s = jbuf_take(&b);
    ASSERT_EQ_STR(s, "");
    free(s);
    ASSERT(b.p == NULL && b.len == 0);
}

TEST(appends_build_text)
{
    jbuf b = {0};
    jbuf_putc(&b, '{');
    jbuf_string(&b, "k", 1);
    jbuf_puts(&b, ":");
    jbuf_put(&b, "[1,2]xyz", 5);
    jbuf_putc(&b, '}');
    char *s = jbuf_take(&b);
    ASSERT_EQ_STR(s, "{\"k\":[1,2]}");
    free(s);
}

/* The one growable buffer also holds any bytes: room reserved up front
** takes the appends without moving, and a failed buffer stays failed. */
TEST(reserve_holds_what_follows_and_failure_sticks)
{
    jbuf b = {0};
    ASSERT_EQ_INT(jbuf_reserve(&b, 5000), 0);
    char *at = b.p;
    char chunk[1000];
    memset(chunk, '\0', sizeof chunk);
    for (int i = 0; i < 5; i++) jbuf_put(&b, chunk, sizeof chunk);
    ASSERT(b.p == at);
    ASSERT_EQ_INT(b.len, 5000);
    jbuf_fail(&b);
    ASSERT_EQ_INT(jbuf_reserve(&b, 1), -1);
    jbuf_puts(&b, "more");
    ASSERT(b.p == NULL && b.len == 0);
    ASSERT(jbuf_take(&b) == NULL);
}

/* A temporary stream holding n bytes of a pattern (NULs included). */
static FILE *stream_of(size_t n)
{
    FILE *f = tmpfile();
    if (!f) return NULL;
    for (size_t i = 0; i < n; i++) fputc((int)(i % 251), f);
    rewind(f);
    return f;
}

TEST(read_appends_a_whole_stream)
{
    FILE *f = stream_of(300000);
    ASSERT(f);
    jbuf b = {0};
    jbuf_puts(&b, "head:");
    ASSERT_EQ_INT(jbuf_read(&b, f, 300000), 0);
    fclose(f);
    ASSERT_EQ_INT(b.len, 5 + 300000);
    ASSERT(memcmp(b.p, "head:", 5) == 0);
    int same = 1;
    for (size_t i = 0; i < 300000; i++) same &= (unsigned char)b.p[5 + i] == i % 251;
    ASSERT(same);
    jbuf_free(&b);
}

TEST(read_stops_past_its_limit)
{
    FILE *f = stream_of(20000);
    ASSERT(f);
    jbuf b = {0};
    ASSERT_EQ_INT(jbuf_read(&b, f, 19999), -2);
    ASSERT(!b.failed);
    jbuf_free(&b);
    rewind(f);
    ASSERT_EQ_INT(jbuf_read(&b, f, 20000), 0); /* exactly the limit is fine */
    ASSERT_EQ_INT(b.len, 20000);
    jbuf_free(&b);
    fclose(f);
}

TEST(read_failure_is_an_error_not_a_crash)
{
    /* A folder opens as a stream, but reading it fails (EISDIR). */
    FILE *d = fopen("/", "r");
    ASSERT(d);
    jbuf b = {0};
    errno = 0;
    ASSERT_EQ_INT(jbuf_read(&b, d, 1000), -1);
    ASSERT_EQ_INT(errno, EISDIR);
    ASSERT(!b.failed);
    jbuf_free(&b);
    fclose(d);
    FILE *f = stream_of(10);
    ASSERT(f);
    /* A buffer that already failed reads nothing and says so. */
    jbuf_fail(&b);
    ASSERT_EQ_INT(jbuf_read(&b, f, 1000), -1);
    ASSERT(b.failed);
    ASSERT(jbuf_take(&b) == NULL);
    fclose(f);
}

TEST_MAIN(
    TEST_ENTRY(every_control_character_escaped)
    TEST_ENTRY(quote_and_backslash_escaped)
    TEST_ENTRY(other_ascii_unchanged)
    TEST_ENTRY(multibyte_utf8_passes_through)
    TEST_ENTRY(empty_string)
    TEST_ENTRY(every_byte_at_every_offset_round_trips)
    TEST_ENTRY(nul_byte_escaped)
    TEST_ENTRY(dense_escapes_match_cjson)
    TEST_ENTRY(long_string_round_trips)
    TEST_ENTRY(string_twice_is_the_string_escaped_again)
    TEST_ENTRY(escaped_appends_after_any_prefix_without_touching_it)
    TEST_ENTRY(escape_since_mirrors_what_was_appended_and_failure)
    TEST_ENTRY(both_escapers_match_cjson)
    TEST_ENTRY(integers)
    TEST_ENTRY(tree_matches_cjson)
    TEST_ENTRY(tree_scalars_and_empties_match_cjson)
    TEST_ENTRY(invalid_tree_gives_null)
    TEST_ENTRY(take_of_empty_buffer_is_empty_string)
    TEST_ENTRY(appends_build_text)
    TEST_ENTRY(reserve_holds_what_follows_and_failure_sticks)
    TEST_ENTRY(read_appends_a_whole_stream)
    TEST_ENTRY(read_stops_past_its_limit)
    TEST_ENTRY(read_failure_is_an_error_not_a_crash)
)
