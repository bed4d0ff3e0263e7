/*
** test_entry.c: the entry's one definition (src/store/entry.h) against
** what is made from it, and the one printer.
**
** The chain's field list (chain_fields, chain_string_slots(), the hash
** order) must cover every field of ENTRY_FIELDS exactly once; each
** backend's real columns are checked against the same list by the
** conformance suite (entry_definition_matches_the_table, both backends).
** The printer's two forms, text and cJSON tree, must give the same bytes
** for every kind of row, and its text must be what cJSON would print.
*/
#include "test.h"

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "store/chain.h"
#include "store/entry.h"
#include "util/jbuf.h"

/* ---- the chain's list against the definition ------------------------------ */

TEST(every_field_but_seq_and_the_hashes_is_a_chain_member)
{
    int members = 0;
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *f = &entry_fields[c];
        int expect = f->type != ENTRY_SEQ && f->type != ENTRY_HASH;
        ASSERT_EQ_INT(f->chain_off != ENTRY_NO_MEMBER, expect);
        if (expect) {
            members++;
            ASSERT(f->chain_off >= offsetof(chain_fields, id) && f->chain_off < sizeof(chain_fields));
        }
    }
    ASSERT_EQ_INT(members, CHAIN_STRING_FIELDS);
    ASSERT_EQ_INT(sizeof(chain_fields), offsetof(chain_fields, id) + members * sizeof(const char *));
}

TEST(string_slots_cover_each_member_once)
{
    chain_fields f;
    const char **slot[CHAIN_STRING_FIELDS];
    chain_string_slots(&f, slot);
    int seen[ENTRY_NFIELDS] = {0};
    for (int i = 0; i < CHAIN_STRING_FIELDS; i++) {
        size_t off = (size_t)((char *)slot[i] - (char *)&f);
        int found = -1;
        for (int c = 0; c < ENTRY_NFIELDS; c++)
            if (entry_fields[c].chain_off == off) found = c;
        ASSERT(found >= 0);
        ASSERT_EQ_INT(seen[found], 0);
        seen[found] = 1;
    }
}

TEST(hash_positions_are_a_permutation_with_v1_first)
{
    int at[2 + CHAIN_STRING_FIELDS], v1 = 0;
    for (int i = 0; i < 2 + CHAIN_STRING_FIELDS; i++) at[i] = -1;
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *f = &entry_fields[c];
        if (f->hash_at == ENTRY_UNHASHED) {
            ASSERT_EQ_STR(f->name, "hash");
            continue;
        }
        ASSERT(f->hash_at >= 0 && f->hash_at < 2 + CHAIN_STRING_FIELDS);
        ASSERT_EQ_INT(at[f->hash_at], -1);
        at[f->hash_at] = c;
        if (f->since == 1 && f->hash_at >= 2) v1++;
    }
    ASSERT_EQ_STR(entry_fields[at[0]].name, "prev_hash");
    ASSERT_EQ_STR(entry_fields[at[1]].name, "seq");
    /* Encoding v2 only appends: every v1 field comes first. */
    for (int h = 2; h < 2 + CHAIN_STRING_FIELDS; h++)
        ASSERT_EQ_INT(entry_fields[at[h]].since, h < 2 + v1 ? 1 : 2);
}

/* Each field of chain_fields changes the hash, so no field of the list is
** left out of it; a field of encoding v2 changes the encoding too. */
TEST(every_hashed_field_changes_the_hash)
{
    uint8_t prev[CHAIN_HASH_BYTES] = {0}, base[CHAIN_HASH_BYTES], h[CHAIN_HASH_BYTES];
    chain_fields f;
    memset(&f, 0, sizeof f);
    f.seq = 7;
    chain_entry_hash(&f, prev, base);
    for (int c = 0; c < ENTRY_NFIELDS; c++) {
        const entry_field *d = &entry_fields[c];
        if (d->chain_off == ENTRY_NO_MEMBER) continue;
        chain_fields g = f;
        *(const char **)((char *)&g + d->chain_off) = "1";
        chain_entry_hash(&g, prev, h);
        if (memcmp(h, base, sizeof h) == 0) TEST_FAIL_("%s is not hashed", d->name);
        ASSERT_EQ_INT(chain_encoding(&g), d->since);
    }
}

TEST(csv_columns_are_the_entry_fields_in_order)
{
    ASSERT_EQ_INT(cli_csv_ncolumns, ENTRY_NFIELDS);
    for (int c = 0; c < ENTRY_NFIELDS; c++)
        ASSERT_EQ_STR(cli_csv_columns[c], entry_fields[c].name);
}

TEST(field_index_by_name)
{
    ASSERT_EQ_INT(entry_field_index("seq"), ENTRY_F_seq);
    ASSERT_EQ_INT(entry_field_index("cwd"), ENTRY_F_cwd);
    ASSERT_EQ_INT(entry_field_index("nope"), -1);
    ASSERT_EQ_INT(entry_field_index(NULL), -1);
}

/* ---- the printer ---------------------------------------------------------- */

static const uint8_t HASH_BYTES[32] = {0x00, 0x01, 0xab, 0xff, 0x10, 0x20, 0x30, 0x40,
                                       0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0,
                                       0xd0, 0xe0, 0xf0, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b,
                                       0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3};

static void set(entry_row *r, int c, const char *text)
{
    r->v[c].p = text;
    r->v[c].len = text ? strlen(text) : 0;
}

/* A row of every field set, the hashes as bytes. */
static entry_row full_row(void)
{
    entry_row r;
    memset(&r, 0, sizeof r);
    r.seq = 42;
    set(&r, ENTRY_F_id, "0190-id");
    set(&r, ENTRY_F_event_type, "tool_call");
    set(&r, ENTRY_F_operation_name, "op \"quoted\"\n");
    set(&r, ENTRY_F_operation_id, "7");
    set(&r, ENTRY_F_user_id, "alice");
    set(&r, ENTRY_F_project_id, "p");
    set(&r, ENTRY_F_args, "{\"n\":1.50,\"big\":12345678901234567890}");
    set(&r, ENTRY_F_result, "[1,2]");
    set(&r, ENTRY_F_error, "bad\tthing");
    set(&r, ENTRY_F_before_state, "{}");
    set(&r, ENTRY_F_after_state, "not json");
    set(&r, ENTRY_F_created_at, "2026-03-02T00:00:00.000000Z");
    set(&r, ENTRY_F_client, "{\"name\":\"c\",\"version\":\"1\"}");
    r.v[ENTRY_F_prev_hash].p = (const char *)HASH_BYTES;
    r.v[ENTRY_F_prev_hash].len = 32;
    r.v[ENTRY_F_hash].p = (const char *)HASH_BYTES;
    r.v[ENTRY_F_hash].len = 32;
    set(&r, ENTRY_F_server, "{\"name\":\"s\"}");
    set(&r, ENTRY_F_session_id, "sess");
    set(&r, ENTRY_F_duration_ms, "1234");
    set(&r, ENTRY_F_completes, "0190-req");
    set(&r, ENTRY_F_cwd, "/home/a");
    r.log_id.p = "log-1";
    r.log_id.len = 5;
    r.log.p = "laptop";
    r.log.len = 6;
    return r;
}

/* The text printer's output, which must be what cJSON prints for the tree
** printer's object.  Returns it (caller frees) or NULL on a difference. */
static char *printed(const entry_row *r)
{
    jbuf b = {0};
    entry_json(r, &b);
    char *text = jbuf_take(&b);
    cJSON *tree = entry_cjson(r);
    char *want = tree ? cJSON_PrintUnformatted(tree) : NULL;
    cJSON_Delete(tree);
    int same = text && want && strcmp(text, want) == 0;
    if (!same) fprintf(stderr, "text: %s\ntree: %s\n", text ? text : "-", want ? want : "-");
    cJSON_free(want);
    if (!same) {
        free(text);
        return NULL;
    }
    return text;
}

TEST(printer_text_and_tree_agree_on_every_field)
{
    entry_row r = full_row();
    char *t = printed(&r);
    ASSERT(t);
    ASSERT_EQ_STR(t,
                  "{\"seq\":42,\"id\":\"0190-id\",\"event_type\":\"tool_call\","
                  "\"operation_name\":\"op \\\"quoted\\\"\\n\",\"operation_id\":\"7\","
                  "\"user_id\":\"alice\",\"project_id\":\"p\","
                  "\"args\":{\"n\":1.50,\"big\":12345678901234567890},\"result\":[1,2],"
                  "\"error\":\"bad\\tthing\",\"before_state\":{},\"after_state\":\"not json\","
                  "\"created_at\":\"2026-03-02T00:00:00.000000Z\","
                  "\"client\":{\"name\":\"c\",\"version\":\"1\"},"
                  "\"prev_hash\":\"0001abff102030405060708090a0b0c0d0e0f00f1e2d3c4b5a69788796a5b4c3\","
                  "\"hash\":\"0001abff102030405060708090a0b0c0d0e0f00f1e2d3c4b5a69788796a5b4c3\","
                  "\"server\":{\"name\":\"s\"},\"session_id\":\"sess\",\"duration_ms\":1234,"
                  "\"completes\":\"0190-req\",\"cwd\":\"/home/a\",\"log_id\":\"log-1\","
                  "\"log\":\"laptop\"}");
    free(t);
}

TEST(printer_leaves_out_null_v2_fields_and_prints_v1_nulls)
{
    entry_row r = full_row();
    for (int c = 0; c < ENTRY_NFIELDS; c++)
        if (entry_fields[c].nullable) set(&r, c, NULL);
    r.log.p = NULL;
    char *t = printed(&r);
    ASSERT(t);
    ASSERT(!strstr(t, "server") && !strstr(t, "session_id") && !strstr(t, "duration_ms") &&
           !strstr(t, "completes") && !strstr(t, "cwd"));
    ASSERT_CONTAINS(t, "\"operation_id\":null,\"user_id\":null,\"project_id\":null");
    ASSERT_CONTAINS(t, "\"log\":null}");
    free(t);
}

TEST(printer_hashes_as_hex_text_or_damaged)
{
    entry_row r = full_row();
    char hex[65];
    chain_hex(HASH_BYTES, hex);
    r.v[ENTRY_F_prev_hash].p = hex; /* a backend may hand the hex itself */
    r.v[ENTRY_F_prev_hash].len = 64;
    r.v[ENTRY_F_hash].p = "abc";    /* neither 32 bytes nor 64 digits */
    r.v[ENTRY_F_hash].len = 3;
    char *t = printed(&r);
    ASSERT(t);
    char want[100];
    snprintf(want, sizeof want, "\"prev_hash\":\"%s\",\"hash\":\"\"", hex);
    ASSERT_CONTAINS(t, want);
    free(t);
    chain_fields f;
    uint8_t prev[32], hash[32];
    ASSERT_EQ_INT(entry_row_fields(&r, &f, prev, hash), 0);
    ASSERT(memcmp(prev, HASH_BYTES, 32) == 0);
    r.v[ENTRY_F_hash] = r.v[ENTRY_F_prev_hash];
    ASSERT_EQ_INT(entry_row_fields(&r, &f, prev, hash), 1);
    ASSERT(memcmp(hash, HASH_BYTES, 32) == 0);
}

/* Stored JSON is checked whole: a NUL inside makes it no JSON, printed as
** the string it is up to the NUL (as cJSON strings end there). */
TEST(printer_json_with_a_nul_inside_is_a_string)
{
    entry_row r = full_row();
    static const char with_nul[] = "{}\0{}";
    r.v[ENTRY_F_after_state].p = with_nul;
    r.v[ENTRY_F_after_state].len = 5;
    char *t = printed(&r);
    ASSERT(t);
    ASSERT_CONTAINS(t, "\"after_state\":\"{}\",");
    free(t);
}

/* The unchecked printer: the same text wherever the stored JSON is JSON;
** stored text that is not is spliced as it is (the checked printer quotes
** it). */
TEST(printer_of_stored_text_splices_json_unchecked)
{
    entry_row r = full_row();
    set(&r, ENTRY_F_after_state, "{\"ok\":true}");
    jbuf a = {0}, b = {0};
    entry_json(&r, &a);
    entry_json_stored(&r, &b);
    ASSERT(!a.failed && !b.failed);
    ASSERT_EQ_INT(a.len, b.len);
    ASSERT(memcmp(a.p, b.p, a.len) == 0);
    a.len = b.len = 0;
    set(&r, ENTRY_F_after_state, "not json");
    entry_json(&r, &a);
    entry_json_stored(&r, &b);
    jbuf_putc(&a, '\0');
    jbuf_putc(&b, '\0');
    ASSERT_CONTAINS(a.p, "\"after_state\":\"not json\",");
    ASSERT_CONTAINS(b.p, "\"after_state\":not json,");
    jbuf_free(&a);
    jbuf_free(&b);
}

TEST(row_fields_are_the_rows_strings)
{
    entry_row r = full_row();
    chain_fields f;
    uint8_t prev[32], hash[32];
    ASSERT_EQ_INT(entry_row_fields(&r, &f, prev, hash), 1);
    ASSERT_EQ_INT(f.seq, 42);
    ASSERT(f.id == r.v[ENTRY_F_id].p);
    ASSERT(f.error == r.v[ENTRY_F_error].p);
    ASSERT(f.duration_ms == r.v[ENTRY_F_duration_ms].p);
    ASSERT(f.cwd == r.v[ENTRY_F_cwd].p);
    ASSERT(memcmp(prev, HASH_BYTES, 32) == 0 && memcmp(hash, HASH_BYTES, 32) == 0);
}

TEST(array_of_rows_is_a_json_array)
{
    entry_row r = full_row();
    jbuf b = {0};
    entry_array a = {.out = &b};
    jbuf_putc(&b, '[');
    ASSERT_EQ_INT(entry_array_add(&a, &r), 0);
    r.seq = 43;
    ASSERT_EQ_INT(entry_array_add(&a, &r), 0);
    jbuf_putc(&b, ']');
    char *text = jbuf_take(&b);
    cJSON *arr = cJSON_Parse(text);
    ASSERT(cJSON_GetArraySize(arr) == 2);
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "seq")->valuedouble, 43);
    cJSON_Delete(arr);
    free(text);
}

/* Rows printed with entry_array_add() into a page and its text block:
** whether the text is the page escaped as one JSON string, byte for byte
** as cJSON prints that string (as the reply's text block was made before
** both were written at once), and the page is what entry_json() gives. */
static int text_matches_page(entry_row *rows, int n)
{
    jbuf raw = {0}, text = {0}, one = {0};
    entry_array a = {.out = &raw, .text = &text};
    jbuf_putc(&raw, '[');
    jbuf_putc(&one, '[');
    jbuf_put(&text, "\"[", 2);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        ok &= entry_array_add(&a, &rows[i]) == 0;
        if (i) jbuf_putc(&one, ',');
        entry_json(&rows[i], &one);
    }
    jbuf_putc(&raw, ']');
    jbuf_putc(&one, ']');
    jbuf_put(&text, "]\"", 2);
    char *page = jbuf_take(&raw), *t = jbuf_take(&text), *o = jbuf_take(&one);
    cJSON *str = page ? cJSON_CreateString(page) : NULL;
    char *want = str ? cJSON_PrintUnformatted(str) : NULL;
    cJSON *tree = page ? cJSON_Parse(page) : NULL;
    ok = ok && page && t && o && want && tree && strcmp(t, want) == 0 && strcmp(page, o) == 0;
    if (!ok) fprintf(stderr, "page: %s\ntext: %s\nwant: %s\n", page ? page : "-",
                     t ? t : "-", want ? want : "-");
    cJSON_Delete(tree);
    cJSON_Delete(str);
    cJSON_free(want);
    free(page);
    free(t);
    free(o);
    return ok;
}

TEST(page_text_is_the_page_escaped_byte_for_byte)
{
    /* Every kind of field with every kind of awkward text: quotes,
    ** backslashes, each control character, DEL, two- to four-byte UTF-8,
    ** U+2028/2029 (left as they are), JSON columns holding escapes, text
    ** that is not JSON, NULLs, hashes as bytes, as hex and damaged, at
    ** lengths around the escaper's 16-byte blocks. */
    static char controls[40];
    for (int i = 1; i < 32; i++) controls[i - 1] = (char)i;
    controls[31] = 0x7f;
    static const char *const texts[] = {
        "", "x", "q\"uo\"te\\back", controls, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e",
        "line\xe2\x80\xa8para\xe2\x80\xa9", "fifteen chars!\"", "sixteen chars!!\"",
        "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
        "a long run of plain text that goes past two blocks before its \\ escape\n",
    };
    static const char *const jsons[] = {
        "{\"k\\\"q\":\"v\\\\w\\n\\u0001\\u2028\",\"n\":[1.50,-0,2e-3,true,null]}",
        "\"a string \\\" with \\\\ escapes\"", " [ {} , [] ]\n", "not json \"at all\"",
        "{\"caf\xc3\xa9\":\"\xf0\x9d\x84\x9e\"}", "12345678901234567890",
    };
    size_t nt = sizeof texts / sizeof *texts, nj = sizeof jsons / sizeof *jsons;
    char hex[65];
    chain_hex(HASH_BYTES, hex);
    entry_row rows[12];
    for (int i = 0; i < 12; i++) {
        entry_row r = full_row();
        r.seq = 100 + i;
        for (int c = 1; c < ENTRY_NFIELDS; c++) {
            if (entry_fields[c].type == ENTRY_TEXT) set(&r, c, texts[(size_t)(i + c) % nt]);
            if (entry_fields[c].type == ENTRY_JSON) set(&r, c, jsons[(size_t)(i + c) % nj]);
            if (entry_fields[c].nullable && (i + c) % 5 == 0) set(&r, c, NULL);
        }
        if (i % 3 == 1) set(&r, ENTRY_F_prev_hash, hex);
        if (i % 3 == 2) set(&r, ENTRY_F_hash, "damaged");
        r.log_id.p = texts[(size_t)i % nt];
        r.log_id.len = strlen(r.log_id.p);
        if (i % 4 == 3) r.log.p = NULL;
        rows[i] = r;
    }
    for (int n = 1; n <= 12; n++)
        if (!text_matches_page(rows, n)) TEST_FAIL_("a page of %d rows", n);
}

TEST(printer_hex_hash_that_needs_an_escape_is_damaged)
{
    /* 64 bytes holding a quote, a backslash, a control character or
    ** non-ASCII bytes anywhere, as a hand-edited row might: printed as a
    ** damaged hash, not spliced into the reply's JSON. */
    static const struct {
        int at;
        const char *bytes;
    } bad[] = {{0, "\""}, {63, "\\"}, {40, "\n"}, {17, "\xc3\xa9"}, {31, "\x01"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char hex[65];
        chain_hex(HASH_BYTES, hex);
        memcpy(hex + bad[i].at, bad[i].bytes, strlen(bad[i].bytes));
        entry_row r = full_row();
        set(&r, ENTRY_F_hash, hex);
        ASSERT_EQ_INT(r.v[ENTRY_F_hash].len, 64);
        char *t = printed(&r);
        ASSERT(t);
        if (!strstr(t, ",\"hash\":\"\",")) TEST_FAIL_("case %zu: %s", i, t);
        free(t);
    }
    char hex[65];
    chain_hex(HASH_BYTES, hex);
    for (int i = 0; i < 64; i += 9) hex[i] = (char)(i % 2 ? 'A' : 'F'); /* upper case is hex */
    entry_row r = full_row();
    set(&r, ENTRY_F_hash, hex);
    char *t = printed(&r);
    ASSERT(t);
    char want[80];
    snprintf(want, sizeof want, ",\"hash\":\"%s\",", hex);
    ASSERT_CONTAINS(t, want);
    free(t);
}

TEST_MAIN(
    TEST_ENTRY(every_field_but_seq_and_the_hashes_is_a_chain_member)
    TEST_ENTRY(string_slots_cover_each_member_once)
    TEST_ENTRY(hash_positions_are_a_permutation_with_v1_first)
    TEST_ENTRY(every_hashed_field_changes_the_hash)
    TEST_ENTRY(csv_columns_are_the_entry_fields_in_order)
    TEST_ENTRY(field_index_by_name)
    TEST_ENTRY(printer_text_and_tree_agree_on_every_field)
    TEST_ENTRY(printer_leaves_out_null_v2_fields_and_prints_v1_nulls)
    TEST_ENTRY(printer_hashes_as_hex_text_or_damaged)
    TEST_ENTRY(printer_json_with_a_nul_inside_is_a_string)
    TEST_ENTRY(printer_of_stored_text_splices_json_unchecked)
    TEST_ENTRY(row_fields_are_the_rows_strings)
    TEST_ENTRY(array_of_rows_is_a_json_array)
    TEST_ENTRY(page_text_is_the_page_escaped_byte_for_byte)
    TEST_ENTRY(printer_hex_hash_that_needs_an_escape_is_damaged))
