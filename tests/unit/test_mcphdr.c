/*
** test_mcphdr.c: the 2026-07-28 request metadata headers (src/remote/
** mcphdr.c): value encoding, the standard headers, x-mcp-header
** annotations learnt from tools/list and mirrored on tools/call.
*/
#include <stdlib.h>
#include <string.h>

#include "remote/mcphdr.h"
#include "test.h"

/* The list as one string "A: x|B: y" (caller frees). */
static char *flat(struct curl_slist *l)
{
    size_t n = 1;
    for (struct curl_slist *p = l; p; p = p->next) n += strlen(p->data) + 1;
    char *s = calloc(1, n);
    for (struct curl_slist *p = l; p; p = p->next) {
        if (*s) strcat(s, "|");
        strcat(s, p->data);
    }
    curl_slist_free_all(l);
    return s;
}

TEST(plain_values_pass_unchanged)
{
    char *v = mcphdr_encode("us-west1", 8);
    ASSERT_EQ_STR(v, "us-west1");
    free(v);
}

TEST(unsafe_values_use_the_base64_sentinel)
{
    /* The spec's table of encoding examples. */
    static const struct { const char *in, *out; } cases[] = {
        {"Hello, \xe4\xb8\x96\xe7\x95\x8c", "=?base64?SGVsbG8sIOS4lueVjA==?="},
        {" padded ", "=?base64?IHBhZGRlZCA=?="},
        {"line1\nline2", "=?base64?bGluZTEKbGluZTI=?="},
        {"=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *v = mcphdr_encode(cases[i].in, strlen(cases[i].in));
        ASSERT_EQ_STR(v, cases[i].out);
        free(v);
    }
}

TEST(standard_headers_of_a_tools_call)
{
    cJSON *m = cJSON_Parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"get_weather\",\"_meta\":{\"io.modelcontextprotocol/"
                           "protocolVersion\":\"2026-07-28\"}}}");
    ASSERT_EQ_STR(mcphdr_meta_version(m), "2026-07-28");
    char *s = flat(mcphdr_standard(NULL, m, "2026-07-28"));
    ASSERT_EQ_STR(s, "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/call|Mcp-Name: get_weather");
    free(s);
    cJSON_Delete(m);
}

TEST(resources_read_names_its_uri_and_lists_name_nothing)
{
    cJSON *m = cJSON_Parse("{\"id\":2,\"method\":\"resources/read\",\"params\":"
                           "{\"uri\":\"file:///a b/\xc3\xa9.json\"}}");
    char *s = flat(mcphdr_standard(NULL, m, "2026-07-28"));
    ASSERT_CONTAINS(s, "Mcp-Name: =?base64?");
    free(s);
    cJSON_Delete(m);
    m = cJSON_Parse("{\"id\":3,\"method\":\"tools/list\",\"params\":{}}");
    s = flat(mcphdr_standard(NULL, m, "2026-07-28"));
    ASSERT_EQ_STR(s, "MCP-Protocol-Version: 2026-07-28|Mcp-Method: tools/list");
    free(s);
    cJSON_Delete(m);
}

TEST(x_mcp_header_values_mirrored_on_tools_call)
{
    mcphdr_tools *t = mcphdr_tools_new();
    cJSON *res = cJSON_Parse(
        "{\"tools\":[{\"name\":\"execute_sql\",\"inputSchema\":{\"type\":\"object\","
        "\"properties\":{\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
        "\"o\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
        "\"x-mcp-header\":\"N\"},\"b\":{\"type\":\"boolean\",\"x-mcp-header\":\"B\"}}},"
        "\"query\":{\"type\":\"string\"}}}}]}");
    mcphdr_tools_learn(t, res, NULL, NULL);
    cJSON *p = cJSON_Parse("{\"name\":\"execute_sql\",\"arguments\":{\"region\":\"us-west1\","
                           "\"o\":{\"n\":42,\"b\":false},\"query\":\"SELECT 1\"}}");
    char *s = flat(mcphdr_params(t, NULL, p));
    ASSERT_EQ_STR(s, "Mcp-Param-Region: us-west1|Mcp-Param-N: 42|Mcp-Param-B: false");
    free(s);
    cJSON_Delete(p);
    /* Absent and null values: the header is omitted. */
    p = cJSON_Parse("{\"name\":\"execute_sql\",\"arguments\":{\"region\":null}}");
    struct curl_slist *l = mcphdr_params(t, NULL, p);
    ASSERT(l == NULL);
    cJSON_Delete(p);
    cJSON_Delete(res);
    mcphdr_tools_free(t);
}

static int warned;
static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    if (strstr(msg, "bad_tool")) warned++;
}

TEST(invalid_annotations_are_refused_with_a_warning)
{
    static const char *const bad[] = {
        /* inside items */
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"string\",\"x-mcp-header\":\"A\"}}}}",
        /* on a number */
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\",\"x-mcp-header\":\"A\"}}}",
        /* duplicate, case-insensitively */
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A\"},"
        "\"b\":{\"type\":\"string\",\"x-mcp-header\":\"a\"}}}",
        /* not a token */
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A B\"}}}",
        /* under anyOf */
        "{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
        "\"x-mcp-header\":\"A\"}}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mcphdr_tools *t = mcphdr_tools_new();
        char text[1024];
        snprintf(text, sizeof text, "{\"tools\":[{\"name\":\"bad_tool\",\"inputSchema\":%s}]}", bad[i]);
        cJSON *res = cJSON_Parse(text);
        ASSERT(res != NULL);
        warned = 0;
        mcphdr_tools_learn(t, res, on_warn, NULL);
        ASSERT_EQ_INT(warned, 1);
        cJSON *p = cJSON_Parse("{\"name\":\"bad_tool\",\"arguments\":{\"a\":\"x\",\"b\":\"y\"}}");
        ASSERT(mcphdr_params(t, NULL, p) == NULL);
        cJSON_Delete(p);
        cJSON_Delete(res);
        mcphdr_tools_free(t);
    }
}

/* A value a server chose (its session id, protocol version, an event id)
** is sent back by mcphdr_add(): libcurl sends a line as it is given, so a
** CR or LF in it would add headers of the server's choosing.  Such a value
** is left out (test_remote's server_values_sent_back_in_headers_cannot_add_
** headers has the transport's side; tests/fuzz/fuzz_remotehdr.c holds every
** value to it). */
TEST(a_value_with_a_control_character_is_never_sent)
{
    static const char *const bad[] = {"2025-06-18\r\nX-Injected: yes", "s1\rX: y", "a\nb",
                                      "\x01", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *s = flat(mcphdr_add(NULL, "MCP-Protocol-Version", bad[i]));
        ASSERT_EQ_STR(s, "");
        free(s);
    }
    char *s = flat(mcphdr_add(NULL, "Last-Event-ID", "caf\xc3\xa9\t7"));
    ASSERT_EQ_STR(s, "Last-Event-ID: caf\xc3\xa9\t7");
    free(s);
}

/* An annotation names its header whatever its length: names were cut at
** 289 bytes, so two long annotations alike up to there sent one header
** twice (found with tests/fuzz/fuzz_remotehdr.c). */
TEST(long_annotation_names_are_not_cut)
{
    char a[400], b[400], doc[1200];
    memset(a, 'A', 295);
    strcpy(a + 295, "x");
    memcpy(b, a, 295);
    strcpy(b + 295, "y");
    snprintf(doc, sizeof doc, "{\"tools\":[{\"name\":\"t\",\"inputSchema\":{\"type\":\"object\","
             "\"properties\":{\"x\":{\"type\":\"string\",\"x-mcp-header\":\"%s\"},"
             "\"y\":{\"type\":\"string\",\"x-mcp-header\":\"%s\"}}}}]}", a, b);
    cJSON *tl = cJSON_Parse(doc);
    cJSON *params = cJSON_Parse("{\"name\":\"t\",\"arguments\":{\"x\":\"1\",\"y\":\"2\"}}");
    mcphdr_tools *t = mcphdr_tools_new();
    ASSERT(tl && params && t);
    mcphdr_tools_learn(t, tl, NULL, NULL);
    char *s = flat(mcphdr_params(t, NULL, params));
    char want[1000];
    snprintf(want, sizeof want, "Mcp-Param-%s: 1|Mcp-Param-%s: 2", a, b);
    ASSERT_EQ_STR(s, want);
    free(s);
    mcphdr_tools_free(t);
    cJSON_Delete(tl);
    cJSON_Delete(params);
}

TEST_MAIN(TEST_ENTRY(plain_values_pass_unchanged) TEST_ENTRY(unsafe_values_use_the_base64_sentinel)
          TEST_ENTRY(standard_headers_of_a_tools_call)
          TEST_ENTRY(resources_read_names_its_uri_and_lists_name_nothing)
          TEST_ENTRY(x_mcp_header_values_mirrored_on_tools_call)
          TEST_ENTRY(invalid_annotations_are_refused_with_a_warning)
          TEST_ENTRY(a_value_with_a_control_character_is_never_sent)
          TEST_ENTRY(long_annotation_names_are_not_cut))
